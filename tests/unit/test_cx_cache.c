/*
 * test_cx_cache.c - the registration states the engine caches with its
 * subscribers (server/aka/cx.c "Coherence"): answers from the cache equal
 * those read from the store, provisioning changes and another engine's
 * writes are seen, and a re-registration reads nothing from LMDB.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <lmdb.h>

#include "aka/cx.h"
#include "aka/subcache.h"
#include "eng_fixture.h"

#define NOW 1000000u

/* ==== Helpers ==== */

/* A Cx request: impi NULL = none (IMPU only), impu NULL = none. */
static void
cx_mk(struct akv_eng_req *r, struct akv_cx_req *cx, enum akv_op op, const char *impi,
      const char *impu, uint8_t type, const char *name)
{
	fx_req(r, op, impi ? impi : "", 1, NULL);
	if (impu) {
		r->impu_len = (uint16_t)strlen(impu);
		memcpy(r->impu, impu, r->impu_len + 1);
	}
	memset(cx, 0, sizeof(*cx));
	r->cx = cx;
	if (op == AKV_OP_SAR)
		cx->sat = type;
	else
		cx->uat = type;
	cx->server_name_len = (uint16_t)strlen(name);
	memcpy(cx->server_name, name, cx->server_name_len + 1);
}

static void
run1(struct akv_eng *e, struct akv_eng_req *r, uint64_t now)
{
	struct akv_eng_req *list[1] = { r };

	akv_eng_run(e, list, 1, now);
}

/* A SAR of impi (with IMPU "sip:" + impi) and its answer. */
static void
sar(struct akv_eng *e, struct akv_eng_req *r, struct akv_cx_req *cx, const char *impi,
    uint8_t sat, const char *name, uint64_t now)
{
	char impu[300];

	snprintf(impu, sizeof(impu), "sip:%s", impi);
	cx_mk(r, cx, AKV_OP_SAR, impi, impu, sat, name);
	run1(e, r, now);
}

static uint64_t
reads(struct akv_eng *e)
{
	return akv_store_reader_txns(akv_eng_reader(e));
}

/* Every record of the registration database, as (key length, key, value
 * length, value) runs, into buf; returns the bytes used. */
static size_t
reg_dump(struct akv_store *st, MDB_dbi dbi, uint8_t *buf, size_t cap)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t used = 0;
	int rc;

	ck_assert_int_eq(akv_store_txn_begin(st, MDB_RDONLY, &txn), 0);
	ck_assert_int_eq(mdb_cursor_open(txn, dbi, &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		ck_assert_uint_le(used + 4 + k.mv_size + v.mv_size, cap);
		buf[used++] = (uint8_t)k.mv_size;
		memcpy(buf + used, k.mv_data, k.mv_size);
		used += k.mv_size;
		buf[used++] = (uint8_t)v.mv_size;
		memcpy(buf + used, v.mv_data, v.mv_size);
		used += v.mv_size;
	}
	ck_assert_int_eq(rc, MDB_NOTFOUND);
	mdb_cursor_close(cur);
	akv_store_txn_abort(st, txn);
	return used;
}

/* ==== Differential: cache on against cache off ==== */

enum { NSUB = 7, NSLOT = 70, NBATCH = 160 };

static const char *const impis[NSUB + 1] = {
	"a0@ims.test", "a1@ims.test", "a2@ims.test", "a3@ims.test",
	"b4@ims.test", "c5@ims.test", "d6@ims.test",
	"ghost@ims.test",	/* never provisioned */
};

/* IMPU list variant v of subscriber i: 0 "sip:" + IMPI (User-Data from the
 * cache), 1 that and a tel URI, 2 another SIP URI only, 3 none. */
static void
sub_variant(struct akv_sub *s, unsigned i, unsigned v)
{
	fx_sub_make(s, impis[i], NULL, 100 + i, 0);
	s->nimpu = 0;
	if (v == 0 || v == 1) {
		snprintf(s->impu[s->nimpu], sizeof(s->impu[0]), "sip:%s", impis[i]);
		s->impu_len[s->nimpu] = (uint8_t)strlen(s->impu[s->nimpu]);
		s->nimpu++;
	}
	if (v == 1) {
		snprintf(s->impu[s->nimpu], sizeof(s->impu[0]), "tel:+1555000%u", i);
		s->impu_len[s->nimpu] = (uint8_t)strlen(s->impu[s->nimpu]);
		s->nimpu++;
	}
	if (v == 2) {
		snprintf(s->impu[s->nimpu], sizeof(s->impu[0]), "sip:alt%u@other.test", i);
		s->impu_len[s->nimpu] = (uint8_t)strlen(s->impu[s->nimpu]);
		s->nimpu++;
	}
}

/* Initial variants: four "sip:" + IMPI, one with a tel URI too, one with
 * another URI, one without IMPU. */
static const unsigned variant0[NSUB] = { 0, 0, 0, 0, 1, 2, 3 };

/* A random IMPU: one of subscriber i's (any variant), another's, or one
 * nobody has. */
static void
rand_impu(uint64_t *rs, char *out, size_t cap)
{
	unsigned i = (unsigned)(akv_test_rand64(rs) % NSUB);
	unsigned k = (unsigned)(akv_test_rand64(rs) % 4);

	if (k == 0)
		snprintf(out, cap, "sip:%s", impis[i]);
	else if (k == 1)
		snprintf(out, cap, "tel:+1555000%u", i);
	else if (k == 2)
		snprintf(out, cap, "sip:alt%u@other.test", i);
	else
		snprintf(out, cap, "sip:nobody%u@ims.test", i);
}

struct side {
	struct akv_store *st;
	MDB_dbi reg;	/* the registration database */
	struct akv_eng *e;
	struct akv_eng_req req[NSLOT];
	struct akv_cx_req cx[NSLOT];
	struct akv_eng_vec vec[NSLOT];
	struct akv_eng_req *list[NSLOT];
};

static struct side sides[2];	/* 0: cache on, 1: cache off */

static void
side_open(struct side *d, const char *tag, int cache_off)
{
	struct akv_eng_cfg cfg;

	akv_eng_cfg_default(&cfg);
	cfg.cx_cache_off = cache_off;
	d->st = fx_store_new(tag);
	for (unsigned i = 0; i < NSUB; i++) {
		struct akv_sub s;

		sub_variant(&s, i, variant0[i]);
		fx_sub_add(d->st, &s);
	}
	ck_assert_int_eq(akv_store_dbi_open(d->st, "cx_reg", 0, &d->reg), 0);
	d->e = fx_eng_new(&cfg, d->st);
}

static void
side_close(struct side *d)
{
	akv_eng_free(d->e);
	akv_store_close(d->st);
}

/* Fills request j of both sides with the same random request. */
static void
rand_req(uint64_t *rs, unsigned j, unsigned nnames)
{
	unsigned kind = (unsigned)(akv_test_rand64(rs) % 16);
	unsigned who = (unsigned)(akv_test_rand64(rs) % (NSUB + 1));
	unsigned impu_kind = (unsigned)(akv_test_rand64(rs) % 6);
	unsigned type = (unsigned)(akv_test_rand64(rs) % 17);
	char name[64], impu[300];
	const char *impi = impis[who], *pu = NULL;
	enum akv_op op;

	snprintf(name, sizeof(name), "sip:scscf%u.ims.test:6060",
		 (unsigned)(akv_test_rand64(rs) % nnames));
	if (akv_test_rand64(rs) % 16 == 0)
		name[0] = '\0';	/* a SAR without Server-Name */
	if (impu_kind <= 2) {
		snprintf(impu, sizeof(impu), "sip:%s", impis[who]);	/* the usual one */
		pu = impu;
	} else if (impu_kind <= 4) {
		rand_impu(rs, impu, sizeof(impu));
		pu = impu;
	}
	if (kind < 9) {
		op = AKV_OP_SAR;
		/* mostly registrations, every type (and bad ones) sometimes */
		if (type < 8)
			type = type % 2 ? AKV_CX_SAT_RE_REGISTRATION : AKV_CX_SAT_REGISTRATION;
		else
			type = (unsigned)(akv_test_rand64(rs) % 16);
	} else if (kind < 12) {
		op = AKV_OP_UAR;
		type %= 4;
	} else if (kind < 14) {
		op = AKV_OP_LIR;
		impi = NULL;
		if (!pu) {
			rand_impu(rs, impu, sizeof(impu));
			pu = impu;
		}
	} else {
		op = AKV_OP_CHALLENGE;	/* a MAR: loads the subscriber */
	}
	if (op != AKV_OP_LIR && op != AKV_OP_CHALLENGE && pu && akv_test_rand64(rs) % 5 == 0)
		impi = NULL;	/* by IMPU only (worker 0's kind) */
	for (int k = 0; k < 2; k++) {
		struct side *d = &sides[k];

		if (op == AKV_OP_CHALLENGE) {
			fx_req(&d->req[j], op, impi, 1, &d->vec[j]);
			if (pu) {
				d->req[j].impu_len = (uint16_t)strlen(pu);
				memcpy(d->req[j].impu, pu, d->req[j].impu_len + 1);
			}
		} else {
			cx_mk(&d->req[j], &d->cx[j], op, impi, pu, (uint8_t)type, name);
		}
		d->list[j] = &d->req[j];
	}
}

/* The same provisioning change in both stores, then both engines read
 * their change logs. */
static void
rand_change(uint64_t *rs, unsigned *variant, int *present, uint64_t now)
{
	unsigned i = (unsigned)(akv_test_rand64(rs) % NSUB);
	struct akv_sub s;

	if (present[i] && akv_test_rand64(rs) % 4 == 0) {
		for (int k = 0; k < 2; k++)
			ck_assert_int_eq(akv_store_del(sides[k].st, impis[i], strlen(impis[i])), 0);
		present[i] = 0;
	} else {
		variant[i] = (unsigned)(akv_test_rand64(rs) % 4);
		sub_variant(&s, i, variant[i]);
		for (int k = 0; k < 2; k++)
			ck_assert_int_eq(akv_store_put(sides[k].st, &s,
						       present[i] ? AKV_STORE_SET : AKV_STORE_ADD),
					 0);
		present[i] = 1;
	}
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(akv_eng_tick(sides[k].e, now), 0);
}

static void
compare(unsigned b, unsigned j)
{
	const struct akv_eng_req *x = &sides[0].req[j], *y = &sides[1].req[j];
	const struct akv_cx_req *p = x->cx, *q = y->cx;

	ck_assert_msg(x->err == y->err, "batch %u req %u op %u: err %d vs %d", b, j, x->op,
		      x->err, y->err);
	ck_assert_uint_eq(x->impi_len, y->impi_len);
	ck_assert_mem_eq(x->impi, y->impi, x->impi_len);
	if (x->op == AKV_OP_CHALLENGE || x->err)
		return;
	ck_assert_msg(p->result_code == q->result_code && p->exp_code == q->exp_code,
		      "batch %u req %u op %u type %u/%u: %u/%u vs %u/%u", b, j, x->op, p->sat,
		      p->uat, p->result_code, p->exp_code, q->result_code, q->exp_code);
	ck_assert_uint_eq(p->state, q->state);
	ck_assert_uint_eq(p->want_user_data, q->want_user_data);
	ck_assert_uint_eq(p->assigned_len, q->assigned_len);
	ck_assert_str_eq(p->assigned, q->assigned);
	ck_assert_uint_eq(p->nimpus, q->nimpus);
	ck_assert_uint_eq(p->impus_len, q->impus_len);
	ck_assert_mem_eq(p->impus, q->impus, p->impus_len);
}

static void
differential(uint64_t seed, unsigned nnames)
{
	static uint8_t dump[2][1 << 16];
	unsigned variant[NSUB];
	int present[NSUB];
	uint64_t rs = seed, now = NOW;
	char tag[32];

	for (int k = 0; k < 2; k++) {
		snprintf(tag, sizeof(tag), "cxdiff%d", k);
		side_open(&sides[k], tag, k);
	}
	for (unsigned i = 0; i < NSUB; i++) {
		variant[i] = variant0[i];
		present[i] = 1;
	}
	for (unsigned b = 0; b < NBATCH; b++) {
		/* mostly small batches, sometimes one past AKV_CX_BATCH_MAX */
		unsigned n = 1 + (unsigned)(akv_test_rand64(&rs) % (b % 7 == 6 ? NSLOT : 12));
		size_t l0, l1;

		if (akv_test_rand64(&rs) % 10 == 0) {
			now += 1000;	/* past the change-log poll interval */
			rand_change(&rs, variant, present, now);
		}
		for (unsigned j = 0; j < n; j++)
			rand_req(&rs, j, nnames);
		now++;
		for (int k = 0; k < 2; k++)
			akv_eng_run(sides[k].e, sides[k].list, n, now);
		for (unsigned j = 0; j < n; j++)
			compare(b, j);
		l0 = reg_dump(sides[0].st, sides[0].reg, dump[0], sizeof(dump[0]));
		l1 = reg_dump(sides[1].st, sides[1].reg, dump[1], sizeof(dump[1]));
		ck_assert_msg(l0 == l1 && !memcmp(dump[0], dump[1], l0),
			      "batch %u: stored registration records differ", b);
	}
	for (int k = 0; k < 2; k++)
		side_close(&sides[k]);
}

START_TEST(t_cx_cache_differential)
{
	differential(0x5eed0001u, 3);
	differential(0x5eed0002u, 2);
}
END_TEST

/* More S-CSCF names than the cache's table holds: the states it cannot
 * intern are not cached, answers stay the same. */
START_TEST(t_cx_cache_differential_many_names)
{
	differential(0x5eed0003u, 90);
}
END_TEST

/* ==== Provisioning changes between batches ==== */

START_TEST(t_cx_cache_provisioning_seen)
{
	static struct akv_eng_req r;
	static struct akv_cx_req cx;
	struct akv_store *st = fx_store_new("cxprov");
	struct akv_eng_cfg cfg;
	struct akv_sub s;
	struct akv_eng *e;
	uint64_t r0;

	akv_eng_cfg_default(&cfg);
	fx_sub_make(&s, "carol@ims.test", "sip:carol@ims.test", 7, 0);
	fx_sub_add(st, &s);
	e = fx_eng_new(&cfg, st);
	ck_assert_int_eq(akv_eng_tick(e, NOW), 0);
	sar(e, &r, &cx, "carol@ims.test", AKV_CX_SAT_REGISTRATION, "sip:s1", NOW);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	r0 = reads(e);
	sar(e, &r, &cx, "carol@ims.test", AKV_CX_SAT_RE_REGISTRATION, "sip:s1", NOW);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	ck_assert_uint_eq(reads(e), r0);	/* from the cache */

	/* the IMPU list changes: the old IMPU no longer matches, the new list
	 * is what User-Data carries */
	s.nimpu = 2;
	strcpy(s.impu[0], "sip:carol.new@ims.test");
	s.impu_len[0] = (uint8_t)strlen(s.impu[0]);
	strcpy(s.impu[1], "tel:+15550177");
	s.impu_len[1] = (uint8_t)strlen(s.impu[1]);
	ck_assert_int_eq(akv_store_put(st, &s, AKV_STORE_SET), 0);
	ck_assert_int_eq(akv_eng_tick(e, NOW + 1000), 0);
	sar(e, &r, &cx, "carol@ims.test", AKV_CX_SAT_RE_REGISTRATION, "sip:s1", NOW + 1000);
	ck_assert_uint_eq(cx.exp_code, AKV_CX_EXP_IDENTITIES_DONT_MATCH);
	cx_mk(&r, &cx, AKV_OP_SAR, "carol@ims.test", "tel:+15550177",
	      AKV_CX_SAT_RE_REGISTRATION, "sip:s1");
	run1(e, &r, NOW + 1000);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	ck_assert_uint_eq(cx.state, AKV_CX_REGISTERED);	/* the state survived */
	ck_assert_uint_eq(cx.nimpus, 2);
	ck_assert_str_eq(cx.impus, "sip:carol.new@ims.test");
	ck_assert_str_eq(cx.impus + strlen(cx.impus) + 1, "tel:+15550177");
	/* a UAR (no User-Data) still comes from the cache */
	r0 = reads(e);
	cx_mk(&r, &cx, AKV_OP_UAR, "carol@ims.test", "tel:+15550177", AKV_CX_UAT_REGISTRATION,
	      "");
	run1(e, &r, NOW + 1000);
	ck_assert_uint_eq(cx.exp_code, AKV_CX_EXP_SUBSEQUENT_REGISTRATION);
	ck_assert_str_eq(cx.assigned, "sip:s1");
	ck_assert_uint_eq(reads(e), r0);

	/* deleted: unknown after the change log is read */
	ck_assert_int_eq(akv_store_del(st, "carol@ims.test", 14), 0);
	ck_assert_int_eq(akv_eng_tick(e, NOW + 2000), 0);
	run1(e, &r, NOW + 2000);
	ck_assert_uint_eq(cx.exp_code, AKV_CX_EXP_USER_UNKNOWN);
	/* re-added: its registration record (kept by IMPI) is read again */
	fx_sub_make(&s, "carol@ims.test", "sip:carol@ims.test", 7, 0);
	fx_sub_add(st, &s);
	ck_assert_int_eq(akv_eng_tick(e, NOW + 3000), 0);
	cx_mk(&r, &cx, AKV_OP_UAR, "carol@ims.test", "sip:carol@ims.test",
	      AKV_CX_UAT_REGISTRATION, "");
	run1(e, &r, NOW + 3000);
	ck_assert_uint_eq(cx.exp_code, AKV_CX_EXP_SUBSEQUENT_REGISTRATION);
	ck_assert_str_eq(cx.assigned, "sip:s1");
	akv_eng_free(e);
	akv_store_close(st);
}
END_TEST

/* ==== Two engines on one store ==== */

/* An IMPI of shard `want` of 2. */
static void
impi_of_shard(unsigned want, char *out, size_t cap)
{
	for (unsigned i = 0;; i++) {
		snprintf(out, cap, "user%u@ims.test", i);
		if (akv_eng_shard_of(out, strlen(out), 2) == want)
			return;
	}
}

START_TEST(t_cx_cache_other_engine_write_seen)
{
	static struct akv_eng_req r;
	static struct akv_cx_req cx;
	struct akv_store *st = fx_store_new("cxshards");
	struct akv_eng_cfg cfg;
	struct akv_eng *e0, *e1;
	char x[64], impu[80];
	struct akv_sub s;
	uint64_t r0;
	int err;

	akv_eng_cfg_default(&cfg);
	impi_of_shard(1, x, sizeof(x));
	snprintf(impu, sizeof(impu), "sip:%s", x);
	fx_sub_make(&s, x, impu, 11, 0);
	fx_sub_add(st, &s);
	e0 = akv_eng_new(&cfg, st, 0, 2, &err);
	ck_assert_ptr_nonnull(e0);
	e1 = akv_eng_new(&cfg, st, 1, 2, &err);
	ck_assert_ptr_nonnull(e1);

	/* shard 1 registers x and answers its re-registration from the cache */
	sar(e1, &r, &cx, x, AKV_CX_SAT_REGISTRATION, "sip:s1", NOW);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	r0 = reads(e1);
	sar(e1, &r, &cx, x, AKV_CX_SAT_RE_REGISTRATION, "sip:s1", NOW + 1);
	ck_assert_uint_eq(reads(e1), r0);

	/* worker 0 gets a SAR by IMPU only and deregisters x */
	cx_mk(&r, &cx, AKV_OP_SAR, NULL, impu, AKV_CX_SAT_USER_DEREGISTRATION, "sip:s1");
	run1(e0, &r, NOW + 2);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	ck_assert_str_eq(r.impi, x);

	/* shard 1's next request sees it */
	cx_mk(&r, &cx, AKV_OP_UAR, x, impu, AKV_CX_UAT_REGISTRATION, "");
	run1(e1, &r, NOW + 3);
	ck_assert_uint_eq(cx.exp_code, AKV_CX_EXP_FIRST_REGISTRATION);
	ck_assert_uint_eq(cx.state, AKV_CX_NOT_REGISTERED);

	/* and again with a change of S-CSCF by IMPU only */
	sar(e1, &r, &cx, x, AKV_CX_SAT_REGISTRATION, "sip:s1", NOW + 4);
	cx_mk(&r, &cx, AKV_OP_SAR, NULL, impu, AKV_CX_SAT_RE_REGISTRATION, "sip:s2");
	run1(e0, &r, NOW + 5);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	cx_mk(&r, &cx, AKV_OP_UAR, x, impu, AKV_CX_UAT_REGISTRATION, "");
	run1(e1, &r, NOW + 6);
	ck_assert_uint_eq(cx.exp_code, AKV_CX_EXP_SUBSEQUENT_REGISTRATION);
	ck_assert_str_eq(cx.assigned, "sip:s2");
	/* worker 0's own LIR reads the store: the same */
	cx_mk(&r, &cx, AKV_OP_LIR, NULL, impu, 0, "");
	run1(e0, &r, NOW + 7);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	ck_assert_str_eq(cx.assigned, "sip:s2");

	/* a re-registration by IMPU only changes nothing: nobody forgets */
	sar(e1, &r, &cx, x, AKV_CX_SAT_RE_REGISTRATION, "sip:s2", NOW + 8);	/* fills */
	ck_assert_uint_eq(cx.state, AKV_CX_REGISTERED);
	cx_mk(&r, &cx, AKV_OP_SAR, NULL, impu, AKV_CX_SAT_RE_REGISTRATION, "sip:s2");
	run1(e0, &r, NOW + 9);
	r0 = reads(e1);
	sar(e1, &r, &cx, x, AKV_CX_SAT_RE_REGISTRATION, "sip:s2", NOW + 10);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	ck_assert_uint_eq(reads(e1), r0);
	akv_eng_free(e0);
	akv_eng_free(e1);
	akv_store_close(st);
}
END_TEST

/* ==== No LMDB read for a re-registration ==== */

/* A subscriber with sip: and tel: IMPUs: a re-registration takes the state
 * from the cache and only the IMPU list (User-Data) from its record. Shown
 * by changing both records behind the engine's back: the answer carries the
 * record's new IMPU list and the cached state, not the stored one. */
START_TEST(t_cx_cache_multi_impu_reads_record_only)
{
	static struct akv_eng_req r;
	static struct akv_cx_req cx;
	struct akv_store *st = fx_store_new("cxmulti");
	struct akv_eng_cfg cfg;
	struct akv_sub s;
	struct akv_eng *e;
	MDB_dbi reg;
	MDB_txn *txn;
	uint64_t c0;
	/* version 1, REGISTERED, name "sip:other" (9 bytes), time 0: cx.c's
	 * record layout */
	uint8_t rec[12 + 9] = {1, AKV_CX_REGISTERED, 9, 0};
	MDB_val k = {sizeof("dave@ims.test") - 1, (void *)"dave@ims.test"};
	MDB_val v = {sizeof(rec), rec};

	memcpy(rec + 12, "sip:other", 9);
	akv_eng_cfg_default(&cfg);
	fx_sub_make(&s, "dave@ims.test", "sip:dave@ims.test", 9, 0);
	s.nimpu = 2;
	strcpy(s.impu[1], "tel:+15550199");
	s.impu_len[1] = (uint8_t)strlen(s.impu[1]);
	fx_sub_add(st, &s);
	e = fx_eng_new(&cfg, st);
	ck_assert_int_eq(akv_eng_tick(e, NOW), 0);
	sar(e, &r, &cx, "dave@ims.test", AKV_CX_SAT_REGISTRATION, "sip:s1", NOW);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	ck_assert_uint_eq(cx.nimpus, 2);

	/* behind the engine: another second IMPU, another stored S-CSCF */
	strcpy(s.impu[1], "tel:+15550200");
	ck_assert_int_eq(akv_store_put(st, &s, AKV_STORE_SET), 0);
	ck_assert_int_eq(akv_store_dbi_open(st, "cx_reg", 0, &reg), 0);
	ck_assert_int_eq(akv_store_txn_begin(st, 0, &txn), 0);
	ck_assert_int_eq(mdb_put(txn, reg, &k, &v, 0), 0);
	ck_assert_int_eq(akv_store_txn_commit(st, txn, 1), 0);

	c0 = akv_store_commit_count(st);
	sar(e, &r, &cx, "dave@ims.test", AKV_CX_SAT_RE_REGISTRATION, "sip:s1", NOW + 1);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	ck_assert_str_eq(cx.assigned, "sip:s1");	/* the cached state ... */
	ck_assert_uint_eq(akv_store_commit_count(st), c0); /* ... unchanged: no write */
	ck_assert_uint_eq(cx.nimpus, 2);		/* the record's IMPU list */
	ck_assert_str_eq(cx.impus, "sip:dave@ims.test");
	ck_assert_str_eq(cx.impus + strlen(cx.impus) + 1, "tel:+15550200");

	/* an IMPU the record no longer holds (its fingerprint still cached):
	 * the store path answers, from the record */
	cx_mk(&r, &cx, AKV_OP_SAR, "dave@ims.test", "tel:+15550199",
	      AKV_CX_SAT_RE_REGISTRATION, "sip:s1");
	run1(e, &r, NOW + 2);
	ck_assert_uint_eq(cx.exp_code, AKV_CX_EXP_IDENTITIES_DONT_MATCH);
	akv_eng_free(e);
	akv_store_close(st);
}
END_TEST

START_TEST(t_cx_cache_reregistration_reads_nothing)
{
	enum { N = 40 };
	static struct akv_eng_req req[N];
	static struct akv_cx_req cx[N];
	static struct akv_eng_vec vec[N];
	struct akv_eng_req *list[N];
	struct akv_store *st = fx_store_new("cxnoread");
	struct akv_eng_cfg cfg;
	char impi[N][32], impu[N][40];
	struct akv_eng *e;
	uint64_t r0, c0;

	akv_eng_cfg_default(&cfg);
	for (int i = 0; i < N; i++) {
		struct akv_sub s;

		snprintf(impi[i], sizeof(impi[i]), "r%d@ims.test", i);
		snprintf(impu[i], sizeof(impu[i]), "sip:r%d@ims.test", i);
		fx_sub_make(&s, impi[i], impu[i], 50 + (uint64_t)i, 0);
		fx_sub_add(st, &s);
	}
	for (int off = 0; off < 2; off++) {
		cfg.cx_cache_off = off;
		e = fx_eng_new(&cfg, st);
		for (int i = 0; i < N; i++)
			list[i] = &req[i];
		/* the MAR, then the first SAR of a registration: store reads */
		for (int i = 0; i < N; i++) {
			fx_req(&req[i], AKV_OP_CHALLENGE, impi[i], 1, &vec[i]);
			memcpy(req[i].impu, impu[i], strlen(impu[i]) + 1);
			req[i].impu_len = (uint16_t)strlen(impu[i]);
		}
		akv_eng_run(e, list, N, NOW);
		for (int i = 0; i < N; i++) {
			ck_assert_int_eq(req[i].err, 0);
			cx_mk(&req[i], &cx[i], AKV_OP_SAR, impi[i], impu[i],
			      AKV_CX_SAT_REGISTRATION, "sip:scscf.ims.test");
		}
		akv_eng_run(e, list, N, NOW + 1);
		/* re-registrations (MAR, SAR), three rounds */
		r0 = reads(e);
		c0 = akv_store_commit_count(st);
		for (int round = 0; round < 3; round++) {
			for (int i = 0; i < N; i++) {
				fx_req(&req[i], AKV_OP_CHALLENGE, impi[i], 1, &vec[i]);
				memcpy(req[i].impu, impu[i], strlen(impu[i]) + 1);
				req[i].impu_len = (uint16_t)strlen(impu[i]);
			}
			akv_eng_run(e, list, N, NOW + 2 + (uint64_t)round);
			for (int i = 0; i < N; i++) {
				ck_assert_int_eq(req[i].err, 0);
				cx_mk(&req[i], &cx[i], AKV_OP_SAR, impi[i], impu[i],
				      AKV_CX_SAT_RE_REGISTRATION, "sip:scscf.ims.test");
			}
			akv_eng_run(e, list, N, NOW + 2 + (uint64_t)round);
			for (int i = 0; i < N; i++) {
				ck_assert_int_eq(req[i].err, 0);
				ck_assert_uint_eq(cx[i].result_code, AKV_CX_RC_SUCCESS);
				ck_assert_uint_eq(cx[i].state, AKV_CX_REGISTERED);
				ck_assert_str_eq(cx[i].assigned, "sip:scscf.ims.test");
				ck_assert_uint_eq(cx[i].nimpus, 1);
				ck_assert_str_eq(cx[i].impus, impu[i]);
			}
		}
		ck_assert_uint_eq(akv_store_commit_count(st), c0);
		if (!off)
			ck_assert_uint_eq(reads(e), r0);	/* not one read snapshot */
		else
			ck_assert_uint_ge(reads(e), r0 + 3);	/* the reference path reads */
		akv_eng_free(e);
	}
	akv_store_close(st);
}
END_TEST

/* ==== The registrar engine (eng.h akv_eng_new_registrar) ==== */

static void
assert_no_keys(struct akv_eng *e, const char *impi)
{
	struct akv_subent *s = akv_eng_sub_find(e, impi, strlen(impi));

	ck_assert_ptr_nonnull(s);
	/* its entries end at the IMPI: no room for K, OPc or round keys */
	ck_assert_msg(akv_subcache_entry_bytes(akv_eng_subcache(e), s) ==
			      AKV_SUBENT_SIZE(s->impi_len),
		      "the registrar holds key material of %s", impi);
}

START_TEST(t_cx_registrar_state_without_keys)
{
	enum { N = 6 };
	static const unsigned ops[] = { AKV_OP_CHALLENGE, AKV_OP_VECTORS, AKV_OP_RESYNC,
					AKV_OP_VERIFY };
	struct akv_store *st = fx_store_new("cxregistrar");
	struct akv_eng_req r, w_req;
	struct akv_eng_vec vec[2];
	struct akv_cx_req cx;
	struct akv_eng_cfg cfg;
	struct akv_eng *reg, *wrk, *reg2;
	char impi[N][32], impu[N][40];
	struct akv_sub s;
	uint64_t c0, r0;
	int err = -1;

	akv_eng_cfg_default(&cfg);
	for (int i = 0; i < N; i++) {
		snprintf(impi[i], sizeof(impi[i]), "g%d@ims.test", i);
		snprintf(impu[i], sizeof(impu[i]), "sip:g%d@ims.test", i);
		fx_sub_make(&s, impi[i], impu[i], 700 + (uint64_t)i, 0);
		fx_sub_add(st, &s);
	}
	reg = akv_eng_new_registrar(&cfg, st, &err);
	ck_assert_ptr_nonnull(reg);
	ck_assert_int_eq(err, 0);
	wrk = fx_eng_new(&cfg, st);

	/* first registrations: state written, subscribers cached without keys */
	for (int i = 0; i < N; i++) {
		sar(reg, &r, &cx, impi[i], AKV_CX_SAT_REGISTRATION, "sip:scscf.ims.test", NOW);
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
		ck_assert_uint_eq(cx.state, AKV_CX_REGISTERED);
		ck_assert_str_eq(cx.impus, impu[i]);
		assert_no_keys(reg, impi[i]);
	}
	/* it computes no vector: every AKA op is refused, nothing filled */
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		memset(vec, 0, sizeof(vec));
		fx_req(&r, (enum akv_op)ops[k], impi[0], 1, vec);
		r.verify_kind = AKV_VERIFY_RES;
		r.res_len = 8;
		run1(reg, &r, NOW);
		ck_assert_msg(r.err == AKV_EINVAL, "op %u: err %d", ops[k], r.err);
		ck_assert_uint_eq(r.nvec, 0);
		ck_assert(akv_test_all_zero(vec, sizeof(vec)));
	}
	/* a worker serves the MAR of the same subscriber meanwhile */
	fx_req(&w_req, AKV_OP_CHALLENGE, impi[0], 1, vec);
	run1(wrk, &w_req, NOW);
	ck_assert_int_eq(w_req.err, 0);
	ck_assert_uint_eq(w_req.nvec, 1);

	/* re-registration from the registrar's cache: no read, no commit; UAR
	 * and an IMPU-only LIR see the state it wrote */
	c0 = akv_store_commit_count(st);
	r0 = reads(reg);
	sar(reg, &r, &cx, impi[1], AKV_CX_SAT_RE_REGISTRATION, "sip:scscf.ims.test", NOW + 1);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	ck_assert_uint_eq(reads(reg), r0);
	ck_assert_uint_eq(akv_store_commit_count(st), c0);
	cx_mk(&r, &cx, AKV_OP_LIR, NULL, impu[2], 0, "");
	run1(reg, &r, NOW + 1);
	ck_assert_int_eq(r.err, 0);
	ck_assert_str_eq(cx.assigned, "sip:scscf.ims.test");

	/* new keys provisioned: the refreshed entry drops them again */
	fx_sub_make(&s, impi[3], impu[3], 9999, 0);
	ck_assert_int_eq(akv_store_put(st, &s, AKV_STORE_SET), 0);
	ck_assert_int_eq(akv_eng_tick(reg, NOW + 5000), 0);
	sar(reg, &r, &cx, impi[3], AKV_CX_SAT_RE_REGISTRATION, "sip:scscf.ims.test", NOW + 5001);
	ck_assert_uint_eq(cx.result_code, AKV_CX_RC_SUCCESS);
	assert_no_keys(reg, impi[3]);

	/* durable: a new registrar (a restart) reads the states back */
	reg2 = akv_eng_new_registrar(&cfg, st, &err);
	ck_assert_ptr_nonnull(reg2);
	cx_mk(&r, &cx, AKV_OP_UAR, impi[4], impu[4], 0, "");
	run1(reg2, &r, NOW + 6000);
	ck_assert_int_eq(r.err, 0);
	ck_assert_str_eq(cx.assigned, "sip:scscf.ims.test");
	assert_no_keys(reg2, impi[4]);

	akv_eng_free(reg2);
	akv_eng_free(reg);
	akv_eng_free(wrk);
	akv_store_close(st);
}
END_TEST

static Suite *
cx_cache_suite(void)
{
	Suite *s = suite_create("cx_cache");
	TCase *tc = tcase_create("cx_cache");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_cx_cache_differential);
	tcase_add_test(tc, t_cx_cache_differential_many_names);
	tcase_add_test(tc, t_cx_cache_provisioning_seen);
	tcase_add_test(tc, t_cx_cache_other_engine_write_seen);
	tcase_add_test(tc, t_cx_cache_reregistration_reads_nothing);
	tcase_add_test(tc, t_cx_cache_multi_impu_reads_record_only);
	tcase_add_test(tc, t_cx_registrar_state_without_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	akv_crypto_init();
	return akv_test_run_tmpdir(cx_cache_suite(), "test-cx-cache");
}

/* The AKA engine over a real temporary store: vectors against the reference
 * Milenage, SQN rules, durability across restarts, resync, errors, live
 * provisioning, batching. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aka/cx.h"
#include "eng_fixture.h"

#define NOW 1000000u

static struct akv_store *st;
static struct akv_eng *eng;
static struct akv_eng_cfg cfg;
static struct akv_sub sub_a, sub_b;

static void
setup(void)
{
	akv_crypto_init();
	st = fx_store_new("eng");
	fx_sub_make(&sub_a, "alice@ims.test", "sip:alice@ims.test", 1, 0);
	fx_sub_make(&sub_b, "bob@ims.test", "sip:bob@ims.test", 2, 0x20);
	fx_sub_add(st, &sub_a);
	fx_sub_add(st, &sub_b);
	akv_eng_cfg_default(&cfg);
	eng = fx_eng_new(&cfg, st);
}

static void
teardown(void)
{
	akv_eng_free(eng);
	akv_store_close(st);
	eng = NULL;
	st = NULL;
}

START_TEST(t_eng_vectors_match_reference_milenage)
{
	struct akv_eng_vec v[8];
	struct akv_eng_req r;

	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 4, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.nvec, 4);
	ck_assert_uint_eq(r.scheme_used, AKV_SCHEME_AKAV1_MD5);
	for (int i = 0; i < 4; i++) {
		fx_check_vec(&sub_a, &v[i], 0, NULL);
		/* one SEQ per vector, consecutive, same IND */
		if (i) {
			ck_assert_uint_eq(akv_sqn_seq(v[i].sqn, 5), akv_sqn_seq(v[i - 1].sqn, 5) + 1);
			ck_assert_uint_eq(akv_sqn_ind(v[i].sqn, 5), akv_sqn_ind(v[0].sqn, 5));
			ck_assert(memcmp(v[i].rand, v[i - 1].rand, 16) != 0);
		}
	}
	/* the first SEQ follows the provisioned SQN 0 */
	ck_assert_uint_eq(akv_sqn_seq(v[0].sqn, 5), 1);

	fx_req(&r, AKV_OP_VECTORS, "bob@ims.test", 3, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.nvec, 3);
	for (int i = 0; i < 3; i++)
		fx_check_vec(&sub_b, &v[i], 1, NULL);
	/* bob was provisioned with SQN 0x20 = SEQ 1: issuing continues above */
	ck_assert_uint_eq(akv_sqn_seq(v[0].sqn, 5), 2);
}
END_TEST

START_TEST(t_eng_ind_from_peer_and_cyclic)
{
	struct akv_eng_vec v[2];
	struct akv_eng_req r;
	uint64_t last = 0;

	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	r.ind = 7;
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(akv_sqn_ind(v[0].sqn, 5), 7);
	last = v[0].sqn;
	/* no peer slot: cyclic 0, 1, 2, ... 31, 0 */
	for (unsigned i = 0; i < 34; i++) {
		fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
		fx_run1(eng, &r, NOW);
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(akv_sqn_ind(v[0].sqn, 5), i % 32);
		ck_assert_uint_gt(v[0].sqn, last);
		ck_assert_uint_eq(akv_sqn_seq(v[0].sqn, 5), akv_sqn_seq(last, 5) + 1);
		last = v[0].sqn;
	}
	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	r.ind = 32;	/* outside 5 bits */
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EINVAL);
}
END_TEST

START_TEST(t_eng_bad_n)
{
	struct akv_eng_vec v[AKV_VEC_MAX];
	struct akv_eng_req r;

	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 0, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EBAD_N);
	fx_req(&r, AKV_OP_VECTORS, "alice@ims.test", cfg.max_vectors + 1, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EBAD_N);
	ck_assert_uint_eq(r.nvec, 0);
	fx_req(&r, AKV_OP_VECTORS, "alice@ims.test", cfg.max_vectors, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.nvec, cfg.max_vectors);
}
END_TEST

START_TEST(t_eng_errors_user_impu_scheme_op)
{
	struct akv_eng_vec v[1];
	struct akv_eng_req r;
	struct akv_sub only_v2;

	fx_req(&r, AKV_OP_CHALLENGE, "nobody@ims.test", 1, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EUNKNOWN_USER);

	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	strcpy(r.impu, "sip:bob@ims.test");
	r.impu_len = (uint16_t)strlen(r.impu);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EIMPU_MISMATCH);
	strcpy(r.impu, "sip:alice@ims.test");
	r.impu_len = (uint16_t)strlen(r.impu);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);

	fx_sub_make(&only_v2, "carol@ims.test", NULL, 3, 0);
	only_v2.schemes = AKV_SCHEME_BIT(AKV_SCHEME_AKAV2_MD5);
	fx_sub_add(st, &only_v2);
	/* ANY ("Unknown"): AKAv1-MD5 where allowed, else AKAv2-MD5 */
	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.scheme_used, AKV_SCHEME_AKAV1_MD5);
	fx_req(&r, AKV_OP_CHALLENGE, "carol@ims.test", 1, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.scheme_used, AKV_SCHEME_AKAV2_MD5);
	r.scheme = AKV_SCHEME_AKAV1_MD5; /* asked for explicitly: refused */
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_ESCHEME);
	r.scheme = AKV_SCHEME_AKAV2_MD5;
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.scheme_used, AKV_SCHEME_AKAV2_MD5);
	r.scheme = 9;
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_ESCHEME);

	fx_req(&r, 99, "alice@ims.test", 1, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EUNKNOWN_OP);
	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	r.impi_len = 0;
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EINVAL);
	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, NULL);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EINVAL);
}
END_TEST

START_TEST(t_eng_reservation_durable_before_release)
{
	struct akv_eng_vec v[8];
	struct akv_eng_req r;
	struct akv_sub rec;
	uint64_t max_before = 0;

	for (int i = 0; i < 50; i++) {
		fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1 + i % 8, v);
		fx_run1(eng, &r, NOW);
		ck_assert_int_eq(r.err, 0);
		for (unsigned j = 0; j < r.nvec; j++) {
			ck_assert_uint_gt(v[j].sqn, max_before);
			max_before = v[j].sqn;
		}
		/* what the store holds now would survive kill -9 */
		ck_assert_int_eq(akv_store_get(st, "alice@ims.test", 14, &rec), 0);
		ck_assert_uint_ge(rec.seq_reserved, max_before);
	}
	/* a restart continues above the reservation, never below */
	akv_eng_free(eng);
	eng = fx_eng_new(&cfg, st);
	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_gt(v[0].sqn, rec.seq_reserved);
	/* ... and the jump stays far within Δ */
	ck_assert_uint_le(akv_sqn_seq(v[0].sqn, 5) - akv_sqn_seq(max_before, 5),
			  cfg.seq_reserve + 1);
}
END_TEST

START_TEST(t_eng_ind_bits_change_keeps_monotonic)
{
	struct akv_eng_vec v[4];
	struct akv_eng_req r;
	uint64_t max_before = 0;

	fx_req(&r, AKV_OP_VECTORS, "alice@ims.test", 4, v);
	r.ind = 31;
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	max_before = v[3].sqn;
	akv_eng_free(eng);
	cfg.ind_bits = 4;	/* operator shortens IND between runs */
	eng = fx_eng_new(&cfg, st);
	fx_req(&r, AKV_OP_VECTORS, "alice@ims.test", 1, v);
	r.ind = 0;
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_gt(v[0].sqn, max_before);
}
END_TEST

START_TEST(t_eng_resync)
{
	struct akv_eng_vec v[2];
	struct akv_eng_req r;
	uint64_t sqn_ms = akv_sqn_make(5000, 3, 5), before;
	uint8_t auts[14];

	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	before = v[0].sqn;

	/* bad MAC-S: distinct error, SQN untouched */
	fx_auts(&sub_a, v[0].rand, sqn_ms, auts);
	auts[13] ^= 1;
	fx_req(&r, AKV_OP_RESYNC, "alice@ims.test", 1, v);
	memcpy(r.rand, v[0].rand, 16);
	memcpy(r.auts, auts, 14);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EAUTS_MAC);
	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	fx_run1(eng, &r, NOW);
	ck_assert_uint_eq(akv_sqn_seq(v[0].sqn, 5), akv_sqn_seq(before, 5) + 1);

	/* good AUTS with SQN_MS ahead: SQN_HE jumps to SEQ_MS, new vectors follow */
	fx_auts(&sub_a, v[0].rand, sqn_ms, auts);
	fx_req(&r, AKV_OP_RESYNC, "alice@ims.test", 2, v);
	memcpy(r.rand, v[0].rand, 16);
	memcpy(r.auts, auts, 14);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.nvec, 2);
	ck_assert_uint_eq(akv_sqn_seq(v[0].sqn, 5), 5001);
	ck_assert_uint_eq(akv_sqn_seq(v[1].sqn, 5), 5002);
	fx_check_vec(&sub_a, &v[0], 0, NULL);

	/* SQN_MS below SQN_HE (within Δ): SQN_HE is never lowered */
	fx_auts(&sub_a, v[1].rand, akv_sqn_make(10, 0, 5), auts);
	fx_req(&r, AKV_OP_RESYNC, "alice@ims.test", 1, v);
	memcpy(r.rand, v[1].rand, 16);
	memcpy(r.auts, auts, 14);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(akv_sqn_seq(v[0].sqn, 5), 5003);
}
END_TEST

START_TEST(t_eng_resync_beyond_delta)
{
	static const uint8_t rnd[16] = {1, 2, 3};
	struct akv_eng_vec v[8];
	struct akv_eng_req r;

	akv_eng_free(eng);
	cfg.delta = 100;
	cfg.seq_reserve = 10;
	eng = fx_eng_new(&cfg, st);
	for (int i = 0; i < 30; i++) {	/* SEQ_HE = 240 */
		fx_req(&r, AKV_OP_VECTORS, "alice@ims.test", 8, v);
		fx_run1(eng, &r, NOW);
		ck_assert_int_eq(r.err, 0);
	}
	/* the USIM is at SEQ 20: SEQ_HE + 1 - 20 > Δ, and going back is forbidden */
	fx_req(&r, AKV_OP_RESYNC, "alice@ims.test", 1, v);
	memcpy(r.rand, rnd, 16);
	fx_auts(&sub_a, rnd, akv_sqn_make(20, 0, 5), r.auts);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_ESQN_RANGE);
	/* SEQ_MS 200: SEQ_HE is within Δ, kept */
	fx_auts(&sub_a, rnd, akv_sqn_make(200, 0, 5), r.auts);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(akv_sqn_seq(v[0].sqn, 5), 241);
}
END_TEST

START_TEST(t_eng_sqn_exhausted)
{
	struct akv_eng_vec v[2];
	struct akv_eng_req r;
	struct akv_sub near;

	/* last SQN used: SEQ max - 1 */
	fx_sub_make(&near, "old@ims.test", NULL, 4, akv_sqn_make(akv_sqn_seq_max(5) - 1, 0, 5));
	fx_sub_add(st, &near);
	fx_req(&r, AKV_OP_VECTORS, "old@ims.test", 2, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_ESQN_EXHAUSTED);
	r.n = 1;
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(akv_sqn_seq(v[0].sqn, 5), akv_sqn_seq_max(5));
	fx_check_vec(&near, &v[0], 1, NULL);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_ESQN_EXHAUSTED);
}
END_TEST

START_TEST(t_eng_live_provisioning)
{
	struct akv_eng_vec v[1];
	struct akv_eng_req r;
	struct akv_sub upd = sub_a;

	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	ck_assert_int_eq(akv_eng_tick(eng, NOW), 0);

	/* operator raises SQN and changes the IMPU and K while the engine runs */
	upd.sqn = akv_sqn_make(90000, 0, 5);
	strcpy(upd.impu[0], "sip:alice2@ims.test");
	upd.impu_len[0] = (uint8_t)strlen(upd.impu[0]);
	upd.k[0] ^= 0x55;
	ck_assert_int_eq(akv_store_put(st, &upd, AKV_STORE_SET), 0);
	ck_assert_int_eq(akv_eng_tick(eng, NOW + 300), 0);
	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	strcpy(r.impu, "sip:alice2@ims.test");
	r.impu_len = (uint16_t)strlen(r.impu);
	fx_run1(eng, &r, NOW + 300);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(akv_sqn_seq(v[0].sqn, 5), 90001);
	fx_check_vec(&upd, &v[0], 0, NULL);
	strcpy(r.impu, "sip:alice@ims.test");
	r.impu_len = (uint16_t)strlen(r.impu);
	fx_run1(eng, &r, NOW + 300);
	ck_assert_int_eq(r.err, AKV_EIMPU_MISMATCH);

	/* an admin SQN below what was issued is a floor only: never lowered */
	upd.sqn = 0;
	ck_assert_int_eq(akv_store_put(st, &upd, AKV_STORE_SET), 0);
	ck_assert_int_eq(akv_eng_tick(eng, NOW + 600), 0);
	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	fx_run1(eng, &r, NOW + 600);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(akv_sqn_seq(v[0].sqn, 5), 90002);

	/* deleted: unknown after the next tick */
	ck_assert_int_eq(akv_store_del(st, "alice@ims.test", 14), 0);
	ck_assert_int_eq(akv_eng_tick(eng, NOW + 900), 0);
	fx_run1(eng, &r, NOW + 900);
	ck_assert_int_eq(r.err, AKV_EUNKNOWN_USER);
	/* re-added with SQN 0: the kept reservation still keeps SQN fresh */
	ck_assert_int_eq(akv_store_put(st, &sub_a, AKV_STORE_ADD), 0);
	ck_assert_int_eq(akv_eng_tick(eng, NOW + 1200), 0);
	fx_run1(eng, &r, NOW + 1200);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_gt(akv_sqn_seq(v[0].sqn, 5), 90002);
}
END_TEST

/* Many subscribers per batch: one commit, every vector correct, mixed ops. */
START_TEST(t_eng_batch_one_commit)
{
	enum { NSUB = 40, NREQ = 64 };
	static struct akv_sub subs[NSUB];
	static struct akv_eng_req reqs[NREQ];
	static struct akv_eng_vec vec[NREQ][2];
	struct akv_eng_req *list[NREQ];
	struct akv_eng_stats s0, s1;
	char impi[64];

	for (int i = 0; i < NSUB; i++) {
		snprintf(impi, sizeof(impi), "user%02d@ims.test", i);
		fx_sub_make(&subs[i], impi, NULL, 100 + i, 0);
		fx_sub_add(st, &subs[i]);
	}
	akv_eng_stats(eng, &s0);
	for (int i = 0; i < NREQ; i++) {
		fx_req(&reqs[i], i % 3 ? AKV_OP_CHALLENGE : AKV_OP_VECTORS, subs[i % NSUB].impi,
		       1 + i % 2, vec[i]);
		list[i] = &reqs[i];
	}
	fx_req(&reqs[NREQ - 1], AKV_OP_CHALLENGE, "ghost@ims.test", 1, vec[NREQ - 1]);
	akv_eng_run(eng, list, NREQ, NOW);
	akv_eng_stats(eng, &s1);
	ck_assert_uint_eq(s1.fsyncs - s0.fsyncs, 1);
	for (int i = 0; i < NREQ - 1; i++) {
		ck_assert_int_eq(reqs[i].err, 0);
		for (unsigned j = 0; j < reqs[i].nvec; j++)
			fx_check_vec(&subs[i % NSUB], &vec[i][j], reqs[i].op == AKV_OP_VECTORS,
				     NULL);
	}
	/* the same subscriber twice in one batch: later request, higher SQN */
	for (int i = 0; i + NSUB < NREQ - 1; i++)
		ck_assert_uint_gt(vec[i + NSUB][0].sqn, vec[i][reqs[i].nvec - 1].sqn);
	ck_assert_int_eq(reqs[NREQ - 1].err, AKV_EUNKNOWN_USER);

	/* the next batch is inside the reservations: no commit at all */
	for (int i = 0; i < NREQ - 1; i++)
		reqs[i].op = AKV_OP_CHALLENGE;
	akv_eng_run(eng, list, NREQ - 1, NOW);
	akv_eng_stats(eng, &s0);
	ck_assert_uint_eq(s0.fsyncs, s1.fsyncs);
	ck_assert_uint_eq(s0.cached_subs, NSUB);
}
END_TEST

START_TEST(t_eng_low_headroom_renewed_by_tick)
{
	struct akv_eng_vec v[8];
	struct akv_eng_req r;
	struct akv_eng_stats s0, s1;
	struct akv_sub rec;

	akv_eng_free(eng);
	cfg.seq_reserve = 20;
	eng = fx_eng_new(&cfg, st);
	fx_req(&r, AKV_OP_VECTORS, "alice@ims.test", 8, v);
	fx_run1(eng, &r, NOW);	/* forced: reserve to 8 + 20 */
	fx_run1(eng, &r, NOW);	/* SEQ 16: headroom 12 >= 10, nothing queued */
	akv_eng_stats(eng, &s0);
	fx_run1(eng, &r, NOW);	/* SEQ 24: headroom 4 < 10: queued, not forced */
	akv_eng_stats(eng, &s1);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(s1.fsyncs, s0.fsyncs);
	ck_assert_int_eq(akv_eng_tick(eng, NOW), 0);
	akv_eng_stats(eng, &s1);
	ck_assert_uint_eq(s1.fsyncs, s0.fsyncs + 1);
	ck_assert_int_eq(akv_store_get(st, "alice@ims.test", 14, &rec), 0);
	ck_assert_uint_eq(akv_sqn_seq(rec.seq_reserved, 5), 24 + 20);
	fx_run1(eng, &r, NOW);	/* SEQ 32, inside: no commit */
	akv_eng_stats(eng, &s0);
	ck_assert_uint_eq(s0.fsyncs, s1.fsyncs);
}
END_TEST

/* cfg.async_renewals (the server's renewer thread, server/wrk/renew.h): the
 * tick leaves the low-headroom renewal to the caller; vectors go on from the
 * headroom while it is being written; one beyond the durable reservation
 * still commits first; a renewal landing after that lowers nothing; a failed
 * one is queued again. */
START_TEST(t_eng_async_renewals)
{
	struct akv_eng_vec v[8];
	struct akv_eng_req r;
	struct akv_eng_stats s0, s1;
	struct akv_eng_renewal *job;
	struct akv_sub rec;

	akv_eng_free(eng);
	cfg.seq_reserve = 20;
	cfg.async_renewals = 1;
	eng = fx_eng_new(&cfg, st);
	fx_req(&r, AKV_OP_VECTORS, "alice@ims.test", 8, v);
	fx_run1(eng, &r, NOW);	/* forced: reserve to 8 + 20 */
	fx_run1(eng, &r, NOW);	/* SEQ 16 */
	fx_run1(eng, &r, NOW);	/* SEQ 24: headroom 4 < 10: queued */
	akv_eng_stats(eng, &s0);
	ck_assert_int_eq(akv_eng_tick(eng, NOW), 0);
	akv_eng_stats(eng, &s1);
	ck_assert_uint_eq(s1.fsyncs, s0.fsyncs);	/* the tick wrote nothing */
	job = akv_eng_renewal_take(eng);
	ck_assert_ptr_nonnull(job);
	ck_assert_uint_eq(job->n, 1);
	ck_assert_uint_eq(job->u[0].impi_len, 14);
	ck_assert_mem_eq(job->u[0].impi, "alice@ims.test", 14);
	ck_assert_uint_eq(akv_sqn_seq(job->u[0].seq_reserved, 5), 24 + 20);
	ck_assert_ptr_null(akv_eng_renewal_take(eng));

	/* while it is "being written": SEQ 32 passes the durable 28, so that
	 * batch commits by itself first (to 32 + 20) */
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	akv_eng_stats(eng, &s0);
	ck_assert_uint_eq(s0.fsyncs, s1.fsyncs + 1);
	ck_assert_int_eq(akv_store_get(st, "alice@ims.test", 14, &rec), 0);
	ck_assert_uint_eq(akv_sqn_seq(rec.seq_reserved, 5), 32 + 20);
	/* the renewal (to 44) lands late: the store keeps 52, and so does the
	 * engine: SEQ 40 and 48 release with no commit (48 only queues) */
	ck_assert_int_eq(akv_store_seq_reserve(st, job->u, job->n), 0);
	akv_eng_renewal_done(eng, job, 0);
	ck_assert_int_eq(akv_store_get(st, "alice@ims.test", 14, &rec), 0);
	ck_assert_uint_eq(akv_sqn_seq(rec.seq_reserved, 5), 32 + 20);
	fx_run1(eng, &r, NOW);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	akv_eng_stats(eng, &s1);
	ck_assert_uint_eq(s1.fsyncs, s0.fsyncs + 1);	/* done() counted its commit */

	/* a failed write is counted and queued again */
	job = akv_eng_renewal_take(eng);
	ck_assert_ptr_nonnull(job);
	ck_assert_uint_eq(akv_sqn_seq(job->u[0].seq_reserved, 5), 48 + 20);
	akv_eng_renewal_done(eng, job, -EIO);
	akv_eng_stats(eng, &s0);
	ck_assert_uint_eq(s0.store_errors, s1.store_errors + 1);
	job = akv_eng_renewal_take(eng);
	ck_assert_ptr_nonnull(job);
	ck_assert_int_eq(akv_store_seq_reserve(st, job->u, job->n), 0);
	akv_eng_renewal_done(eng, job, 0);
	ck_assert_int_eq(akv_store_get(st, "alice@ims.test", 14, &rec), 0);
	ck_assert_uint_eq(akv_sqn_seq(rec.seq_reserved, 5), 48 + 20);
	fx_run1(eng, &r, NOW);	/* SEQ 56: inside 68, no commit */
	akv_eng_stats(eng, &s1);
	ck_assert_uint_eq(s1.fsyncs, s0.fsyncs + 1);
	ck_assert_ptr_null(akv_eng_renewal_take(eng));
}
END_TEST

START_TEST(t_eng_cfg_and_shards)
{
	struct akv_eng_cfg c;
	struct akv_eng *e2;
	struct akv_eng_vec v[1];
	struct akv_eng_req r;
	unsigned sh;
	int err = 0;

	akv_eng_cfg_default(&c);
	c.seq_reserve = (unsigned)c.delta;	/* a restart could jump beyond Δ */
	ck_assert_ptr_null(akv_eng_new(&c, st, 0, 1, &err));
	ck_assert_int_eq(err, AKV_EINVAL);
	akv_eng_cfg_default(&c);
	c.max_vectors = AKV_VEC_MAX + 1;
	ck_assert_ptr_null(akv_eng_new(&c, st, 0, 1, &err));
	akv_eng_cfg_default(&c);
	c.fail_limit = 0;
	ck_assert_ptr_null(akv_eng_new(&c, st, 0, 1, &err));
	akv_eng_cfg_default(&c);
	ck_assert_ptr_null(akv_eng_new(&c, st, 2, 2, &err));

	sh = akv_eng_shard_of("alice@ims.test", 14, 4);
	ck_assert_uint_lt(sh, 4);
	e2 = akv_eng_new(&c, st, (sh + 1) % 4, 4, &err);
	ck_assert_ptr_nonnull(e2);
	fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
	fx_run1(e2, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EINVAL);	/* not this worker's subscriber */
	akv_eng_free(e2);
	e2 = akv_eng_new(&c, st, sh, 4, &err);
	fx_run1(e2, &r, NOW);
	ck_assert_int_eq(r.err, 0);
	akv_eng_free(e2);
}
END_TEST

START_TEST(t_eng_cx_ops_reach_cx)
{
	static struct akv_cx_req cx;
	struct akv_eng_req r;

	fx_req(&r, AKV_OP_SAR, "alice@ims.test", 0, NULL);
	cx.sat = AKV_CX_SAT_REGISTRATION;
	r.cx = &cx;
	fx_run1(eng, &r, NOW);
	/* answered by akv_cx_run_batch (server/aka/cx.c), not refused as unknown */
	ck_assert_int_ne(r.err, AKV_EUNKNOWN_OP);
}
END_TEST

/* The ceiling benchmark's engine (eng_pass.c): zeroed vectors for a batch
 * of CHALLENGE/VECTORS, the batch untouched when it holds anything else. */
START_TEST(t_eng_pass_through)
{
	static struct akv_eng_vec vec[3][AKV_VEC_MAX];
	struct akv_eng_req r[3], *list[3] = {&r[0], &r[1], &r[2]};

	fx_req(&r[0], AKV_OP_CHALLENGE, "alice@ims.test", 1, vec[0]);
	fx_req(&r[1], AKV_OP_VECTORS, "nobody@ims.test", 3, vec[1]);
	r[1].scheme = AKV_SCHEME_AKAV2_MD5;
	r[0].err = r[1].err = -1;
	memset(vec, 0xa5, sizeof(vec));
	ck_assert_int_eq(akv_eng_pass_through(list, 2), 1);
	ck_assert_int_eq(r[0].err, 0);
	ck_assert_int_eq(r[0].nvec, 1);
	ck_assert_int_eq(r[0].scheme_used, AKV_SCHEME_AKAV1_MD5);
	ck_assert_int_eq(vec[0][0].xres_len, 0);
	ck_assert_int_eq(vec[0][0].rand[0] | vec[0][0].ck[15], 0);
	ck_assert_int_eq(vec[0][1].rand[0], 0xa5);	/* only nvec written */
	ck_assert_int_eq(r[1].err, 0);
	ck_assert_int_eq(r[1].nvec, 3);
	ck_assert_int_eq(r[1].scheme_used, AKV_SCHEME_AKAV2_MD5);
	ck_assert_int_eq(vec[1][2].xres_len, 8);
	ck_assert_int_eq(vec[1][2].autn[7], 0);

	fx_req(&r[2], AKV_OP_VERIFY, "alice@ims.test", 0, vec[2]);
	r[0].err = -1;
	ck_assert_int_eq(akv_eng_pass_through(list, 3), 0);
	ck_assert_int_eq(r[0].err, -1);
}
END_TEST

/* Garbage in every field: every request gets an error or a well-formed
 * answer, never a crash or an out-of-bounds access (run under ASan in CI). */
START_TEST(t_eng_hostile_requests)
{
	static struct akv_eng_req reqs[16];
	static struct akv_eng_vec vec[16][AKV_VEC_MAX];
	static struct akv_eng_digest dig[16];
	struct akv_eng_req *list[16];
	uint64_t prng = 0xbadc0ffee0ddf00dull;
	unsigned ok = 0, refused = 0;

	for (int round = 0; round < 300; round++) {
		for (int i = 0; i < 16; i++) {
			struct akv_eng_req *r = &reqs[i];
			uint64_t x = akv_test_rand64(&prng);

			akv_test_fill(&prng, (uint8_t *)r, sizeof(*r));
			akv_test_fill(&prng, (uint8_t *)&dig[i], sizeof(dig[i]));
			/* a third of them name a real subscriber, so deep paths run */
			if (x % 3 == 0) {
				memcpy(r->impi, x & 8 ? "alice@ims.test" : "bob@ims.test\0\0", 14);
				r->impi_len = x & 8 ? 14 : 12;
				r->op = (uint8_t)(1 + (x >> 8) % 4);
				r->n = (uint16_t)((x >> 16) % 12);
				r->impu_len = 0;
				r->res_len = (uint8_t)((x >> 24) % 20);
				r->scheme = (uint8_t)((x >> 40) % 4);
				r->ind = (int16_t)((x >> 44) % 40) - 4;
				r->verify_kind = (uint8_t)((x >> 52) % 3);
			}
			r->vec = vec[i];
			r->digest = (x >> 32) & 1 ? &dig[i] : NULL;
			r->cx = NULL;
			if (r->op >= AKV_OP_SAR && r->op <= AKV_OP_LIR)
				r->op = AKV_OP_VERIFY;	/* cx.c's own tests cover Cx */
			list[i] = r;
		}
		akv_eng_run(eng, list, 16, NOW + (uint64_t)round);
		for (int i = 0; i < 16; i++) {
			struct akv_eng_req *r = &reqs[i];

			ck_assert_int_le(r->err, 0);
			if (r->err) {
				refused++;
				continue;
			}
			ok++;
			if (r->op == AKV_OP_VERIFY) {
				ck_assert_uint_le(r->verdict, AKV_VERDICT_DEREGISTER);
				ck_assert_uint_le(r->nvec, 1);
			} else {
				ck_assert_uint_ge(r->n, 1);
				ck_assert_uint_le(r->n, cfg.max_vectors);
				ck_assert_uint_eq(r->nvec, r->n);
			}
		}
		if (round % 50 == 0)
			ck_assert_int_eq(akv_eng_tick(eng, NOW + (uint64_t)round), 0);
	}
	/* both sides were exercised: answers and refusals */
	ck_assert_uint_gt(ok, 100);
	ck_assert_uint_gt(refused, 1000);
	/* the engine still serves correctly afterwards */
	{
		struct akv_eng_vec v[1];
		struct akv_eng_req r;

		fx_req(&r, AKV_OP_CHALLENGE, "alice@ims.test", 1, v);
		fx_run1(eng, &r, NOW + 1000);
		ck_assert_int_eq(r.err, 0);
		fx_check_vec(&sub_a, &v[0], 0, NULL);
	}
}
END_TEST

/* store.h "Boot windows": after a restart the first vectors commit nothing
 * and continue above everything earlier runs may have issued; a subscriber
 * deleted and added again within a run, and an engine without a run, never
 * go back into a window. */
enum { BW_N = 6 };

static const char *
bw_impi(unsigned i)
{
	static char buf[BW_N][24];

	snprintf(buf[i], sizeof(buf[i]), "bw%u@ims.test", i);
	return buf[i];
}

/* One CHALLENGE per subscriber (n vectors each) in one batch; the highest
 * SQN per subscriber into top[], and checks each is above floor[]. */
static void
bw_round(struct akv_eng *e, unsigned n, const uint64_t *floor, uint64_t *top, uint64_t now)
{
	static struct akv_eng_vec vec[BW_N][4];
	struct akv_eng_req req[BW_N], *list[BW_N];

	for (unsigned i = 0; i < BW_N; i++) {
		fx_req(&req[i], AKV_OP_CHALLENGE, bw_impi(i), n, vec[i]);
		list[i] = &req[i];
	}
	akv_eng_run(e, list, BW_N, now);
	for (unsigned i = 0; i < BW_N; i++) {
		ck_assert_msg(req[i].err == 0, "%s: %s", bw_impi(i), akv_strerror(req[i].err));
		ck_assert_uint_eq(req[i].nvec, n);
		for (unsigned v = 0; v < n; v++) {
			ck_assert_msg(vec[i][v].sqn > floor[i], "%s: SQN %llx not above %llx",
				      bw_impi(i), (unsigned long long)vec[i][v].sqn,
				      (unsigned long long)floor[i]);
			if (vec[i][v].sqn > top[i])
				top[i] = vec[i][v].sqn;
		}
	}
}

START_TEST(t_eng_boot_windows)
{
	struct akv_store *bst = fx_store_new("bootwin");
	struct akv_eng_cfg bcfg;
	struct akv_eng *e1, *e2, *e3, *e0;
	uint64_t top1[BW_N] = {0}, top2[BW_N] = {0}, top3[BW_N] = {0}, top0[BW_N] = {0};
	uint64_t zero[BW_N] = {0}, c0, now = 1000;
	struct akv_sub s;

	akv_eng_cfg_default(&bcfg);
	bcfg.seq_reserve = 40;
	for (unsigned i = 0; i < BW_N; i++) {
		fx_sub_make(&s, bw_impi(i), NULL, 300 + i, 0);
		fx_sub_add(bst, &s);
	}
	/* run 1: no reservation yet, so the first batch commits one */
	ck_assert_int_eq(akv_store_boot_begin(bst, &bcfg.boot), 0);
	e1 = fx_eng_new(&bcfg, bst);
	c0 = akv_store_commit_count(bst);
	bw_round(e1, 3, zero, top1, now++);
	ck_assert_uint_eq(akv_store_commit_count(bst), c0 + 1);
	bw_round(e1, 4, top1, top1, now++);
	akv_eng_free(e1);

	/* run 2: the first vectors of every subscriber commit nothing */
	ck_assert_int_eq(akv_store_boot_begin(bst, &bcfg.boot), 0);
	ck_assert_uint_eq(bcfg.boot, 2);
	e2 = fx_eng_new(&bcfg, bst);
	c0 = akv_store_commit_count(bst);
	bw_round(e2, 2, top1, top2, now++);
	ck_assert_uint_eq(akv_store_commit_count(bst), c0);

	/* run 3 begins while run 2's engine still holds its state (kill -9:
	 * it never flushes): run 3 starts above run 2's whole window */
	ck_assert_int_eq(akv_store_boot_begin(bst, &bcfg.boot), 0);
	e3 = fx_eng_new(&bcfg, bst);
	c0 = akv_store_commit_count(bst);
	bw_round(e3, 1, top2, top3, now++);
	ck_assert_uint_eq(akv_store_commit_count(bst), c0);
	for (unsigned i = 0; i < BW_N; i++)
		ck_assert_uint_gt(top3[i], top2[i]);

	/* deleted and added again within run 3: never back into run 3's window */
	ck_assert_int_eq(akv_store_del(bst, bw_impi(0), strlen(bw_impi(0))), 0);
	now += 1000;
	ck_assert_int_eq(akv_eng_tick(e3, now), 0);
	fx_sub_make(&s, bw_impi(0), NULL, 300, 0);
	fx_sub_add(bst, &s);
	now += 1000;
	ck_assert_int_eq(akv_eng_tick(e3, now), 0);
	bw_round(e3, 2, top3, top3, now++);

	/* an engine without a run (boot 0) starts above every window */
	bcfg.boot = 0;
	e0 = fx_eng_new(&bcfg, bst);
	bw_round(e0, 1, top3, top0, now++);
	akv_eng_free(e0);
	akv_eng_free(e2);
	akv_eng_free(e3);
	akv_store_close(bst);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("eng");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_eng_vectors_match_reference_milenage);
	tcase_add_test(tc, t_eng_ind_from_peer_and_cyclic);
	tcase_add_test(tc, t_eng_bad_n);
	tcase_add_test(tc, t_eng_errors_user_impu_scheme_op);
	tcase_add_test(tc, t_eng_reservation_durable_before_release);
	tcase_add_test(tc, t_eng_async_renewals);
	tcase_add_test(tc, t_eng_ind_bits_change_keeps_monotonic);
	tcase_add_test(tc, t_eng_resync);
	tcase_add_test(tc, t_eng_resync_beyond_delta);
	tcase_add_test(tc, t_eng_sqn_exhausted);
	tcase_add_test(tc, t_eng_live_provisioning);
	tcase_add_test(tc, t_eng_batch_one_commit);
	tcase_add_test(tc, t_eng_low_headroom_renewed_by_tick);
	tcase_add_test(tc, t_eng_cfg_and_shards);
	tcase_add_test(tc, t_eng_cx_ops_reach_cx);
	tcase_add_test(tc, t_eng_hostile_requests);
	tcase_add_test(tc, t_eng_pass_through);
	tcase_add_test(tc, t_eng_boot_windows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run_tmpdir(suite(), "test-eng");
}

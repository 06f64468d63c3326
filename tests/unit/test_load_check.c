/*
 * test_load_check.c - the vector check of `akavs-bench load`
 * (bench/tool/load_check.c): vectors made by the reference Milenage must
 * pass, and a vector with any one wrong field (MAC-A, AMF, SQN ^ AK, RES,
 * CK, IK) or an SQN below the bound must count as exactly one error, on
 * every backend this CPU runs, with and without the subscriber table's key
 * schedules, across several check batches. The file under test is compiled
 * in (it is part of akavs-bench).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../bench/tool/load_check.c"
#include "../../bench/tool/load_subs.c"
#include "akv_test.h"

/* load_subs.c's Zipf sampler needs it (akavs-bench's bench_util.c) */
uint64_t
akv_bench_rand64(uint64_t *state)
{
	return akv_test_rand64(state);
}

#define NSUBS 37

static const char *const impl_names[] = {"ref", "aesni", "vaes"};
#define N_IMPLS 3

/* What one test case needs: a subscriber table, a thread, a slot (static:
 * the records want 64-byte alignment). */
static struct fixture {
	struct load_sub v[NSUBS];
	struct load_subs subs;
	struct load_cfg cfg;
	struct load_thread t;
	struct load_slot slot;
	uint64_t seed;
} fx;

static void
fixture_init(struct fixture *f, const struct akv_mil_impl *m, int with_ks)
{
	memset(f, 0, sizeof(*f));
	f->seed = 0xc4ec + (uint64_t)with_ks;
	for (size_t i = 0; i < NSUBS; i++) {
		akv_test_fill(&f->seed, f->v[i].k, 16);
		akv_test_fill(&f->seed, f->v[i].opc, 16);
	}
	f->subs.v = f->v;
	f->subs.n = NSUBS;
	if (with_ks)
		load_subs_expand(&f->subs); /* schedules and OPc as `load` sets them */
	f->cfg.check = 1;
	f->cfg.subs = &f->subs;
	f->t.cfg = &f->cfg;
	f->t.mil = m;
	load_check_init(&f->t);
}

static void
fixture_fini(struct fixture *f)
{
	load_check_fini(&f->t);
	if (f->subs.ks) {
		akv_wipe(f->subs.ks, NSUBS * sizeof(*f->subs.ks));
		table_free(f->subs.ks_mem, f->subs.ks_mem_len);
	}
	akv_wipe(f, sizeof(*f));
}

/* What the server would send for subscriber `sub` at `sqn`: RAND, AUTN
 * (TS 33.102 §6.3.2), XRES, CK, IK, from the reference. */
struct vec {
	uint8_t rand[16], autn[16], xres[8], ck[16], ik[16];
};

static void
make_vec(struct fixture *f, uint32_t sub, uint64_t sqn, struct vec *v)
{
	struct akv_mil_in in;
	struct akv_mil_out out;

	memset(&in, 0, sizeof(in));
	memcpy(in.k, f->v[sub].k, 16);
	memcpy(in.opc, f->v[sub].opc, 16);
	akv_test_fill(&f->seed, in.rand, 16);
	sqn_put(sqn, in.sqn);
	in.amf[0] = 0x80;
	akv_mil_ref_get()->gen(&in, &out, 1, AKV_MIL_VECTOR);
	memcpy(v->rand, in.rand, 16);
	akv_mil_autn(in.sqn, out.ak, in.amf, out.mac_a, v->autn);
	memcpy(v->xres, out.res, 8);
	memcpy(v->ck, out.ck, 16);
	memcpy(v->ik, out.ik, 16);
}

/* The slot of a transaction on `sub`, as load_pick() leaves it. */
static struct load_slot *
pick(struct fixture *f, uint32_t sub)
{
	f->slot.sub = sub;
	return &f->slot;
}

enum corrupt {
	C_NONE, C_MAC, C_AMF, C_SQN, C_RES, C_CK, C_IK, C_SQN_MIN, C_NUM
};

/* Queues one vector with the given corruption; `shape` picks which fields
 * the answer carries (0: CK/IK, as an AVS/1 CHALLENGE; 1: XRES, CK, IK, as
 * VECTORS or a MAA). Returns whether it must count as an error. */
static int
queue_one(struct fixture *f, enum corrupt c, int shape)
{
	uint32_t sub = (uint32_t)(akv_test_rand64(&f->seed) % NSUBS);
	uint64_t sqn = 1000 + akv_test_rand64(&f->seed) % 100000;
	struct vec v;
	uint8_t bit = (uint8_t)(1u << (akv_test_rand64(&f->seed) % 8));
	int has_xres = shape == 1;

	make_vec(f, sub, sqn, &v);
	switch (c) {
	case C_MAC: v.autn[8 + akv_test_rand64(&f->seed) % 8] ^= bit; break;
	case C_AMF: v.autn[6 + akv_test_rand64(&f->seed) % 2] ^= bit; break;
	case C_SQN: v.autn[akv_test_rand64(&f->seed) % 6] ^= bit; break;
	case C_RES: v.xres[akv_test_rand64(&f->seed) % 8] ^= bit; break;
	case C_CK: v.ck[akv_test_rand64(&f->seed) % 16] ^= bit; break;
	case C_IK: v.ik[akv_test_rand64(&f->seed) % 16] ^= bit; break;
	default: break;
	}
	ck_assert_int_eq(load_check_vec(&f->t, pick(f, sub), v.rand, v.autn, v.ck, v.ik,
					has_xres ? v.xres : NULL, has_xres ? 8 : 0,
					c == C_SQN_MIN ? sqn + 1 : sqn),
			 0);
	/* a RES the answer does not carry cannot be wrong */
	return c != C_NONE && !(c == C_RES && !has_xres);
}

START_TEST(t_load_check_counts_each_bad_vector)
{
	const char *why = "?";
	const struct akv_mil_impl *m = akv_mil_by_name(impl_names[_i / 2], &why);
	struct fixture *f = &fx;
	unsigned want = 0, total = 0;

	if (!m) {
		printf("SKIP %s: %s\n", impl_names[_i / 2], why);
		return;
	}
	fixture_init(f, m, _i & 1);
	/* > 2 * LOAD_CHECK_BATCH vectors: the queue also flushes when full */
	for (unsigned i = 0; i < 2 * LOAD_CHECK_BATCH + 77; i++) {
		/* mostly good vectors, every corruption many times */
		enum corrupt c = i % 3 ? C_NONE : (enum corrupt)(1 + (i / 3) % (C_NUM - 1));

		want += (unsigned)queue_one(f, c, (int)(i / 5) % 2);
		total++;
	}
	load_check_flush(&f->t);
	ck_assert_uint_eq(f->t.npend, 0);
	ck_assert_uint_eq(f->t.c.err_check, want);
	ck_assert_uint_gt(want, 150);
	printf("%s (%s schedules): %u vectors, %u bad ones counted\n", m->name,
	       _i & 1 ? "table" : "no", total, want);
	fixture_fini(f);
}
END_TEST

/* Each corruption alone in its own batch, for both answer shapes. */
START_TEST(t_load_check_each_corruption_alone)
{
	const char *why = "?";
	const struct akv_mil_impl *m = akv_mil_by_name(impl_names[_i], &why);
	struct fixture *f = &fx;

	if (!m) {
		printf("SKIP %s: %s\n", impl_names[_i], why);
		return;
	}
	fixture_init(f, m, 1);
	for (int shape = 0; shape < 2; shape++) {
		for (int c = C_NONE; c < C_NUM; c++) {
			uint64_t before = f->t.c.err_check;
			int bad = queue_one(f, (enum corrupt)c, shape);

			load_check_flush(&f->t);
			ck_assert_msg(f->t.c.err_check - before == (uint64_t)bad,
				      "%s: corruption %d shape %d: %llu errors, want %d", m->name, c,
				      shape, (unsigned long long)(f->t.c.err_check - before), bad);
		}
	}
	fixture_fini(f);
}
END_TEST

/* An XRES that is not 8 bytes is refused at once; --no-check queues nothing. */
START_TEST(t_load_check_refuses_and_skips)
{
	struct fixture *f = &fx;
	struct vec v;

	fixture_init(f, akv_mil_ref_get(), 0);
	make_vec(f, 3, 5000, &v);
	ck_assert_int_eq(load_check_vec(&f->t, pick(f, 3), v.rand, v.autn, v.ck, v.ik, v.xres, 4, 0),
			 -1);
	ck_assert_uint_eq(f->t.npend, 0);
	/* the slot still records what the second step of a transaction needs */
	for (uint8_t op = LOAD_OP_VERIFY; op <= LOAD_OP_RESYNC; op++) {
		memset(&f->slot, 0, sizeof(f->slot));
		f->slot.op = op;
		ck_assert_int_eq(load_check_vec(&f->t, pick(f, 3), v.rand, v.autn, v.ck, v.ik,
						v.xres, 4, 0),
				 -1);
		ck_assert_mem_eq(f->slot.rand, v.rand, 16);
		ck_assert_mem_eq(f->slot.autn, v.autn, 16);
		ck_assert_mem_eq(f->slot.ck, v.ck, 16);
		ck_assert_mem_eq(f->slot.ik, v.ik, 16);
	}
	f->cfg.check = 0;
	v.autn[15] ^= 1;
	ck_assert_int_eq(load_check_vec(&f->t, pick(f, 3), v.rand, v.autn, v.ck, v.ik, NULL, 0, 0),
			 0);
	ck_assert_uint_eq(f->t.npend, 0);
	load_check_flush(&f->t);
	ck_assert_uint_eq(f->t.c.err_check, 0);
	fixture_fini(f);
}
END_TEST

/* What VERIFY and RESYNC go on with, from the slot's subscriber on every
 * backend, with and without the table's schedules (K is then not handed to
 * the kernel): load_derive's RES and SQN equal the reference's, and the AUTS
 * of load_make_auts passes the reference's resynchronisation check with
 * SQN_MS = SQN + 64. */
START_TEST(t_load_check_derive_and_auts)
{
	const char *why = "?";
	const struct akv_mil_impl *m = akv_mil_by_name(impl_names[_i / 2], &why);
	struct fixture *f = &fx;

	if (!m) {
		printf("SKIP %s: %s\n", impl_names[_i / 2], why);
		return;
	}
	fixture_init(f, m, _i & 1);
	for (uint32_t sub = 0; sub < NSUBS; sub++) {
		uint64_t sqn = 5000 + 97 * sub;
		struct akv_mil_auts_in ai;
		struct akv_mil_auts_out ao;
		struct load_slot *s;
		struct vec v;

		make_vec(f, sub, sqn, &v);
		s = pick(f, sub);
		memcpy(s->rand, v.rand, 16);
		memcpy(s->autn, v.autn, 16);
		load_derive(&f->t, s);
		ck_assert_mem_eq(s->res, v.xres, 8);
		ck_assert_uint_eq(s->sqn, sqn);
		memset(&ai, 0, sizeof(ai));
		memcpy(ai.k, f->v[sub].k, 16);
		memcpy(ai.opc, f->v[sub].opc, 16);
		memcpy(ai.rand, v.rand, 16);
		load_make_auts(&f->t, s, ai.auts);
		akv_mil_ref_get()->auts(&ai, &ao, 1);
		ck_assert_uint_eq(ao.mac_ok, 1);
		ck_assert_uint_eq(sqn_get(ao.sqn_ms), sqn + RESYNC_AHEAD);
		ck_assert_uint_eq(s->sqn, sqn + RESYNC_AHEAD);
	}
	fixture_fini(f);
}
END_TEST

/* Writes a subscriber CSV of n rows whose identities are `len` bytes long
 * (IMPI and IMPU alike, row i's starting with a digit of i), reads it with
 * load_subs_read() and expands it; checks every record: identities, where
 * they live (inline, and in the first line, exactly when they fit),
 * load_sub_impu(), K, OPc, and the schedule and OPc of struct load_sched.
 * The table is left in *subs for the caller to check its flags and free. */
static void
read_table(struct load_subs *subs, size_t n, size_t len)
{
	char path[512], impi[300], impu[300];
	uint64_t seed = 0x5b5 + len;
	uint8_t k[16], opc[16];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/subs.csv", akv_test_tmpdir("load_subs"));
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "impi,impus,k,op,opc,amf,sqn\n");
	for (size_t i = 0; i < n; i++) {
		char kh[33], oh[33];

		akv_test_fill(&seed, k, 16);
		akv_test_fill(&seed, opc, 16);
		akv_hex_encode(k, 16, kh);
		akv_hex_encode(opc, 16, oh);
		memset(impi, 'a' + (int)(i % 26), len);
		impi[len] = 0;
		impi[0] = (char)('0' + i % 10);
		memcpy(impu, impi, len + 1);
		impu[len - 1] = 'u';
		fprintf(fp, "%s,%s;sip:other@x,%s,,%s,8000,\n", impi, impu, kh, oh);
	}
	fclose(fp);
	ck_assert_int_eq(load_subs_read(path, subs), 0);
	unlink(path);
	ck_assert_uint_eq(subs->n, n);
	load_subs_expand(subs);
	seed = 0x5b5 + len;
	for (size_t i = 0; i < n; i++) {
		const struct load_sub *sub = &subs->v[i];
		size_t need = 2 * (len + 1);
		struct akv_aes_sched ks;

		akv_test_fill(&seed, k, 16);
		akv_test_fill(&seed, opc, 16);
		ck_assert_uint_eq((uintptr_t)sub % 64, 0);
		ck_assert_uint_eq(sub->impi_len, len);
		ck_assert_uint_eq(sub->impu_len, len);
		ck_assert_uint_eq((size_t)sub->impi[0], (size_t)('0' + i % 10));
		ck_assert_uint_eq(strlen(sub->impi), len);
		ck_assert_ptr_eq(load_sub_impu(sub), sub->impu);
		ck_assert_uint_eq(strlen(sub->impu), len);
		ck_assert_int_eq(memcmp(sub->impi, sub->impu, len - 1), 0);
		ck_assert_uint_eq((size_t)sub->impu[len - 1], 'u');
		ck_assert_int_eq(sub->impi == sub->inl, need <= LOAD_SUB_INLINE);
		/* inline identities end within the first line when they fit it */
		if (need <= LOAD_SUB_LINE0)
			ck_assert_uint_le((size_t)(sub->impu + len + 1 - (const char *)sub), 64);
		ck_assert_mem_eq(sub->k, k, 16);
		ck_assert_mem_eq(sub->opc, opc, 16);
		akv_aes_expand(k, &ks);
		ck_assert_mem_eq(&subs->ks[i].ks, &ks, sizeof(ks));
		ck_assert_mem_eq(subs->ks[i].opc, opc, 16);
		akv_wipe(&ks, sizeof(ks));
	}
}

/* Identities that fit the first line, only the record, or neither: the
 * table's flags say so (they decide what load_pick prefetches). */
START_TEST(t_load_subs_layout)
{
	static const struct {
		size_t len;
		uint8_t inl, line0;
	} cases[] = {
	    {1, 1, 1},
	    {LOAD_SUB_LINE0 / 2 - 1, 1, 1},
	    {LOAD_SUB_LINE0 / 2, 1, 0},
	    {LOAD_SUB_INLINE / 2 - 1, 1, 0},
	    {LOAD_SUB_INLINE / 2, 0, 0},
	    {255, 0, 0},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct load_subs subs;

		read_table(&subs, 40, cases[c].len);
		ck_assert_msg(subs.ids_inline == cases[c].inl && subs.ids_line0 == cases[c].line0,
			      "len %zu: inline %u line0 %u", cases[c].len, subs.ids_inline,
			      subs.ids_line0);
		load_subs_free(&subs);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("load_check");
	TCase *tc = tcase_create("core");

	akv_crypto_init();
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, t_load_check_counts_each_bad_vector, 0, 2 * N_IMPLS);
	tcase_add_loop_test(tc, t_load_check_each_corruption_alone, 0, N_IMPLS);
	tcase_add_test(tc, t_load_check_refuses_and_skips);
	tcase_add_loop_test(tc, t_load_check_derive_and_auts, 0, 2 * N_IMPLS);
	tcase_add_test(tc, t_load_subs_layout);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return akv_test_run(suite());
}

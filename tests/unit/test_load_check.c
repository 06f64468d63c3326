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

#include "../../bench/tool/load_check.c"
#include "akv_test.h"

#define NSUBS 37

static const char *const impl_names[] = {"ref", "aesni", "vaes"};
#define N_IMPLS 3

/* What one test case needs: a subscriber table, a thread, a slot (static:
 * the schedules want 64-byte alignment). */
static struct fixture {
	struct load_sub v[NSUBS];
	struct load_sched ks[NSUBS];
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
		akv_aes_expand(f->v[i].k, &f->ks[i].ks);
	}
	f->subs.v = f->v;
	f->subs.n = NSUBS;
	f->subs.ks = with_ks ? f->ks : NULL;
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
	memcpy(f->slot.k, f->v[sub].k, 16);
	memcpy(f->slot.opc, f->v[sub].opc, 16);
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
	/* the slot still records what a later VERIFY needs */
	ck_assert_mem_eq(f->slot.rand, v.rand, 16);
	ck_assert_mem_eq(f->slot.ck, v.ck, 16);
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
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return akv_test_run(suite());
}

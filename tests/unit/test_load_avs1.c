/*
 * test_load_avs1.c - the AVS/1 side of `akavs-bench load`
 * (bench/tool/load_avs1.c): the in-place reader of plain CHALLENGE answers
 * must accept exactly the frames akv_avs1_ans_decode() decodes as a
 * CHALLENGE answer without WWW values, and the vector it then checks must be
 * the one the codec decodes. Encoded answers, and thousands of mutations of
 * them, go through both. The file under test is compiled in (it is part of
 * akavs-bench); the load machinery it calls is stubbed here.
 */
#include <check.h>
#include <string.h>

#include "../../bench/tool/load_avs1.c"
#include "akv_test.h"

/* ==== Stubs of the load machinery (load.c, load_check.c) ==== */

/* load_pick: the subscriber a test set in stub_sub (-1: none free) */
static long stub_sub = -1;

int
load_pick(struct load_thread *t, struct load_slot *s)
{
	if (stub_sub < 0)
		return -1;
	s->sub = (uint32_t)stub_sub;
	s->op = (uint8_t)t->cfg->op;
	s->step = 0;
	return 0;
}

int
load_check_vec(struct load_thread *t, struct load_slot *s, const uint8_t rand[16],
	       const uint8_t autn[16], const uint8_t *ck, const uint8_t *ik, const uint8_t *xres,
	       unsigned xres_len, uint64_t sqn_min)
{
	(void)t, (void)xres, (void)xres_len, (void)sqn_min;
	memcpy(s->rand, rand, 16);
	memcpy(s->autn, autn, 16);
	memcpy(s->ck, ck, 16);
	memcpy(s->ik, ik, 16);
	return 0;
}

void
load_derive(struct load_thread *t, struct load_slot *s)
{
	(void)t;
	(void)s;
}

void
load_make_auts(struct load_thread *t, struct load_slot *s, uint8_t auts[14])
{
	(void)t;
	(void)s;
	memset(auts, 0, 14);
}

/* ==== Tests ==== */

static size_t
mk_answer(uint8_t *buf, size_t cap, uint8_t op, uint8_t flags, unsigned nvec, uint8_t scheme,
	  uint64_t *rng)
{
	static struct akv_eng_vec vec[AKV_VEC_MAX];
	struct akv_avs1_ans a;
	int len;

	memset(&a, 0, sizeof(a));
	for (unsigned i = 0; i < nvec; i++) {
		akv_test_fill(rng, (uint8_t *)&vec[i], sizeof(vec[i]));
		vec[i].xres_len = 8;
	}
	a.op = op;
	a.flags = flags;
	a.id = akv_test_rand64(rng);
	a.scheme = scheme;
	a.nvec = (uint8_t)nvec;
	a.vec = vec;
	a.realm = "bench.akavs";
	a.realm_len = 11;
	len = akv_avs1_ans_encode(&a, buf, cap);
	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

/* plain_challenge() against the codec; 1 when the reader took the frame. */
static int
same_as_codec(const uint8_t *f, size_t len)
{
	static struct akv_avs1_ans a;
	int plain = plain_challenge(f, len);
	int rc = akv_avs1_ans_decode(f, len, &a, NULL);
	int codec_plain = rc == 0 && a.op == AKV_AVS1_CHALLENGE && !(a.flags & AKV_AVS1_F_ERROR) &&
			  !(a.flags & AKV_AVS1_F_WWW);

	/* the codec accepts no CHALLENGE answer with only NOKEYS set */
	ck_assert_int_eq(plain, codec_plain);
	if (!plain)
		return 0;
	for (unsigned i = 0; i < a.nvec; i++) {
		const uint8_t *v = f + AKV_AVS1_HDR_LEN + 2 + 64 * i;

		ck_assert_mem_eq(v, a.vec[i].rand, 16);
		ck_assert_mem_eq(v + 16, a.vec[i].autn, 16);
		ck_assert_mem_eq(v + 32, a.vec[i].ck, 16);
		ck_assert_mem_eq(v + 48, a.vec[i].ik, 16);
	}
	return 1;
}

START_TEST(t_plain_challenge_equals_codec)
{
	static uint8_t base[AKV_AVS1_FRAME_MAX], buf[AKV_AVS1_FRAME_MAX];
	static const uint8_t ops[] = {AKV_AVS1_CHALLENGE, AKV_AVS1_RESYNC, AKV_AVS1_VECTORS};
	uint64_t rng = 0x61767331;
	unsigned taken = 0, total = 0;

	for (unsigned round = 0; round < 240; round++) {
		uint8_t op = ops[round % 3];
		uint8_t flags = round % 5 == 4 && op != AKV_AVS1_VECTORS ? AKV_AVS1_F_WWW : 0;
		unsigned nvec = 1 + round % 4;
		size_t len = mk_answer(base, sizeof(base), op, flags, nvec, (uint8_t)(round % 3), &rng);

		/* unmodified: taken exactly when a plain CHALLENGE answer */
		ck_assert_int_eq(same_as_codec(base, len), op == AKV_AVS1_CHALLENGE && !flags);
		for (unsigned k = 0; k < 50; k++) {
			size_t l = len;

			memcpy(buf, base, len);
			/* mostly the header and counts, where the checks are */
			for (unsigned j = 0, nm = 1 + k % 2; j < nm; j++) {
				size_t at = k % 3 ? akv_test_rand64(&rng) % 20 : akv_test_rand64(&rng) % len;

				buf[at] = k % 4 ? (uint8_t)akv_test_rand64(&rng) : (uint8_t)(buf[at] ^ 1);
			}
			if (k % 9 == 0)
				l = len - 1 - akv_test_rand64(&rng) % (len > 20 ? 20 : len);
			taken += (unsigned)same_as_codec(buf, l);
			total++;
		}
	}
	ck_assert_uint_gt(taken, 0);
	ck_assert_uint_lt(taken, total);
}
END_TEST

/* Identity bytes of the wire's alphabet and of any length 1..255. */
static void
rand_id(uint64_t *rng, char *out, size_t n)
{
	static const char cs[] = "abcdefghijklmnopqrstuvwxyz0123456789@.:-_+";

	for (size_t i = 0; i < n; i++)
		out[i] = cs[akv_test_rand64(rng) % (sizeof(cs) - 1)];
	out[n] = 0;
}

/* avs1_start() writes what the codec writes for the same request, byte for
 * byte and with the same length or error: CHALLENGE and VECTORS, with and
 * without --www (the codec's path), identities of every length, no IMPU,
 * and a buffer too small. */
START_TEST(t_start_equals_codec)
{
	static char impi[256], impu[256];
	static uint8_t got[AKV_AVS1_FRAME_MAX], want[AKV_AVS1_FRAME_MAX];
	uint64_t rng = 0x73746172;
	unsigned direct = 0;

	for (unsigned round = 0; round < 2000; round++) {
		struct load_cfg cfg;
		struct load_subs subs;
		struct load_sub sub;
		struct load_thread t;
		struct load_slot slot;
		struct akv_avs1_req r;
		uint64_t id = akv_test_rand64(&rng);
		size_t il = 1 + akv_test_rand64(&rng) % 255, ul = akv_test_rand64(&rng) % 256;
		size_t cap = round % 11 == 10 ? akv_test_rand64(&rng) % 80 : sizeof(got);
		int gl, wl;

		memset(&cfg, 0, sizeof(cfg));
		memset(&sub, 0, sizeof(sub));
		memset(&t, 0, sizeof(t));
		memset(&slot, 0, sizeof(slot));
		rand_id(&rng, impi, il);
		rand_id(&rng, impu, ul);
		sub.impi = impi;
		sub.impi_len = (uint8_t)il;
		sub.impu = ul ? impu : NULL;
		sub.impu_len = (uint8_t)ul;
		if (round % 3 == 1 && il + 1 + (ul ? ul + 1 : 0) <= sizeof(sub.inl)) {
			/* inline, as load_subs.c packs them: the writer then
			 * finds the IMPU from the first line (load_sub_impu) */
			memcpy(sub.inl, impi, il + 1);
			sub.impi = sub.inl;
			if (ul) {
				memcpy(sub.inl + il + 1, impu, ul + 1);
				sub.impu = sub.inl + il + 1;
			}
		}
		subs.v = &sub;
		subs.n = 1;
		cfg.subs = &subs;
		cfg.op = round % 2 ? LOAD_OP_VECTORS : LOAD_OP_CHALLENGE;
		cfg.nvec = 1 + round % AKV_VEC_MAX;
		cfg.www = round % 7 == 3;
		cfg.dia_realm = round % 14 == 3 ? "realm.test" : NULL;
		t.cfg = &cfg;
		ck_assert_int_eq(avs1_thread_init(&t), 0);
		stub_sub = 0;
		memset(got, 0xee, 64);
		gl = avs1_start(&t, &slot, id, got, cap);
		req_ids(&r, &sub, cfg.op == LOAD_OP_VECTORS ? AKV_AVS1_VECTORS : AKV_AVS1_CHALLENGE,
			id);
		r.impu = sub.impu; /* the record's own pointer, not load_sub_impu's */
		if (cfg.op == LOAD_OP_VECTORS)
			r.n = (uint8_t)cfg.nvec;
		else
			req_www(&r, &cfg);
		wl = akv_avs1_req_encode(&r, want, cap);
		ck_assert_int_eq(gl, wl);
		if (wl > 0)
			ck_assert_mem_eq(got, want, (size_t)wl);
		/* the writer beside the codec must really have been used */
		direct += (cfg.op == LOAD_OP_VECTORS
				   ? ((struct avs1_thread *)t.proto_state)->vecs_direct
				   : ((struct avs1_thread *)t.proto_state)->chal_direct) &&
			  wl > 0;
		avs1_thread_fini(&t);
	}
	stub_sub = -1;
	ck_assert_uint_gt(direct, 1000);
}
END_TEST

static Suite *
load_avs1_suite(void)
{
	Suite *s = suite_create("load_avs1");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_plain_challenge_equals_codec);
	tcase_add_test(tc, t_start_equals_codec);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(load_avs1_suite());
}

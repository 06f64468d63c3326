/*
 * test_load_dia.c - the Diameter messages of `akavs-bench load --diameter`
 * (bench/tool/load_dia_msg.c) against the codec they stand in for:
 *  - every MAR written from the template equals, byte for byte, the one
 *    akv_dia_build_mar() writes with the same Session-Id (RFC 6733 §8.8,
 *    counted across digit-count changes and the 32-bit wrap), identities of
 *    every padding residue, item counts, with and without RAND||AUTS;
 *  - the one-pass MAA reader takes the codec's path for server-shaped MAAs
 *    and, on those and on thousands of mutated ones, never accepts what
 *    akv_dia_parse_maa() refuses nor reads anything different from it.
 * The file under test is compiled in (it is part of akavs-bench, not of a
 * library).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../../bench/tool/load_dia_msg.c"
#include "akv_test.h"

#define HOST "load3.bench.akavs"
#define REALM "bench.akavs"
#define DREALM "dest.realm.example"
#define SCHEME "Digest-AKAv1-MD5"
#define SERVER "sip:scscf.bench.akavs:6060"

/* The MAR the codec's builder writes for the template's current counter. */
static int
ref_mar(const struct load_mar_tpl *t, const char *impi, const char *impu, uint32_t n,
	const uint8_t *rand_auts, uint32_t hbh, uint8_t *out, size_t cap)
{
	struct akv_dia_node node = {.origin_host = HOST, .origin_realm = REALM};
	struct akv_dia_mar m = {.dest_realm = DREALM,
				.impi = impi,
				.impu = impu,
				.scheme = SCHEME,
				.server_name = SERVER,
				.n = n,
				.rand_auts = rand_auts};
	char sid[128];

	snprintf(sid, sizeof(sid), "%s;%u;%u", HOST, (unsigned)(t->session >> 32),
		 (unsigned)t->session);
	m.session_id = sid;
	return akv_dia_build_mar(out, cap, &node, &m, hbh, hbh ^ (uint32_t)t->session);
}

START_TEST(t_mar_template_equals_builder)
{
	static const uint64_t starts[] = {0,		 7,	   95,		 998,
					  99999,	 4294967290ull, (7ull << 32) | 999999995u,
					  0xfffffffffffffff0ull};
	struct load_mar_tpl t;
	uint8_t got[2048], want[2048], auts[30];
	char impi[256], impu[256], sid[LOAD_MAR_SID_MAX + 1], wsid[128];
	uint64_t rng = 0x6d6172;
	unsigned built = 0;

	ck_assert_int_eq(load_mar_init(&t, HOST, REALM, DREALM, SCHEME, SERVER), 0);
	for (size_t si = 0; si < sizeof(starts) / sizeof(starts[0]); si++) {
		/* from this value on, counted in place */
		t.session = starts[si];
		t.sid_len = 0;
		for (unsigned k = 0; k < 40; k++) {
			size_t il = 1 + akv_test_rand64(&rng) % 255, ul = 1 + akv_test_rand64(&rng) % 255;
			uint32_t n = 1 + (uint32_t)(akv_test_rand64(&rng) % 32);
			uint32_t hbh = (uint32_t)akv_test_rand64(&rng);
			int with_auts = k & 1, gl, wl;

			if (k < 8) /* every padding residue of both identities */
				il = 1 + k, ul = 8 - k;
			for (size_t i = 0; i < il; i++)
				impi[i] = (char)('a' + akv_test_rand64(&rng) % 26);
			for (size_t i = 0; i < ul; i++)
				impu[i] = (char)('a' + akv_test_rand64(&rng) % 26);
			impi[il] = impu[ul] = 0;
			akv_test_fill(&rng, auts, sizeof(auts));
			gl = load_mar_build(&t, impi, il, impu, ul, n, with_auts ? auts : NULL, hbh, got,
					    sizeof(got));
			wl = ref_mar(&t, impi, impu, n, with_auts ? auts : NULL, hbh, want,
				     sizeof(want));
			load_mar_sid(&t, sid, sizeof(sid));
			snprintf(wsid, sizeof(wsid), "%s;%u;%u", HOST, (unsigned)(t.session >> 32),
				 (unsigned)t.session);
			ck_assert_str_eq(sid, wsid);
			ck_assert_int_gt(wl, 0);
			ck_assert_int_eq(gl, wl);
			ck_assert_mem_eq(got, want, (size_t)wl);
			built++;
		}
	}
	ck_assert_uint_eq(built, 8 * 40);
	/* no room: refused, nothing claimed */
	ck_assert_int_eq(load_mar_build(&t, "a", 1, "b", 1, 1, NULL, 1, got, 40), AKV_ETOOBIG);
}
END_TEST

/* A MAA as akavs writes it (TS 29.229 §6.1.8), n items, with knobs for the
 * variants the reader must hand to the codec. */
struct maa_opt {
	unsigned n;
	unsigned xres_len;
	uint32_t result;	/* 0: no Result-Code */
	int exp_result;		/* Experimental-Result too */
	int unknown_m;		/* an unknown AVP: 1 without M, 2 with M */
	const char *user;	/* User-Name */
	int dup_members;	/* each item carries its members twice (first ones count) */
	int no_ck;		/* items without Confidentiality-Key */
	uint8_t flags;		/* header flags */
};

static size_t
mk_maa(uint8_t *buf, size_t cap, const struct maa_opt *o, uint64_t *rng)
{
	const uint32_t v = AKV_DIA_VENDOR_3GPP;
	struct akv_dia_wr w;
	uint8_t val[32];
	int len;

	akv_dia_wr_init(&w, buf, cap);
	akv_dia_wr_hdr(&w, o->flags, AKV_DIA_CMD_MA, AKV_DIA_APP_CX, 0x1234, 0x5678);
	akv_dia_put_str(&w, AKV_DIA_AVP_SESSION_ID, 0, HOST ";0;42");
	akv_dia_put_vsai(&w, v, AKV_DIA_APP_CX);
	if (o->result)
		akv_dia_put_u32(&w, AKV_DIA_AVP_RESULT_CODE, 0, o->result);
	if (o->exp_result)
		akv_dia_put_exp_result(&w, v, 5001);
	akv_dia_put_u32(&w, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, "hss.bench.akavs");
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, REALM);
	if (o->unknown_m)
		akv_dia_put_flags(&w, 999, o->unknown_m == 2 ? AKV_DIA_AVP_F_M : 0, 0, "x", 1);
	akv_dia_put_str(&w, AKV_DIA_AVP_USER_NAME, 0, o->user ? o->user : "bench7@bench.akavs");
	akv_dia_put_str(&w, AKV_DIA_AVP_PUBLIC_IDENTITY, v, "sip:bench7@bench.akavs");
	akv_dia_put_u32(&w, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, v, o->n);
	for (unsigned i = 0; i < o->n; i++) {
		akv_dia_group_begin(&w, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, v);
		for (int d = 0; d <= o->dup_members; d++) {
			akv_dia_put_u32(&w, AKV_DIA_AVP_SIP_ITEM_NUMBER, v, i + 1);
			akv_dia_put_str(&w, AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME, v, SCHEME);
			akv_test_fill(rng, val, 32);
			akv_dia_put(&w, AKV_DIA_AVP_SIP_AUTHENTICATE, v, val, 32);
			akv_test_fill(rng, val, 16);
			akv_dia_put(&w, AKV_DIA_AVP_SIP_AUTHORIZATION, v, val, o->xres_len);
			akv_test_fill(rng, val, 16);
			if (!o->no_ck)
				akv_dia_put(&w, AKV_DIA_AVP_CONFIDENTIALITY_KEY, v, val, 16);
			akv_test_fill(rng, val, 16);
			akv_dia_put(&w, AKV_DIA_AVP_INTEGRITY_KEY, v, val, 16);
		}
		akv_dia_group_end(&w);
	}
	len = akv_dia_wr_finish(&w);
	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

/* The reader's verdict against the codec's. Returns 1 when the reader
 * accepted the message itself. */
static struct load_maa_memo memo; /* kept across calls, as a load thread does */
static unsigned memo_hits;

static int
same_as_codec(const uint8_t *msg, size_t len)
{
	static struct akv_dia_maa_item items[AKV_VEC_MAX];
	struct load_maa m, mm;
	struct akv_dia_hdr h;
	struct akv_dia_result r;
	unsigned n = 0;
	uint32_t hits0 = memo.hits;
	int fast = load_maa_read(msg, len, &m, NULL), codec;
	int memo_fast = load_maa_read(msg, len, &mm, &memo);

	/* the memo changes no verdict and no value */
	ck_assert_int_eq(fast, memo_fast);
	memo_hits += memo.hits - hits0;
	if (!fast) {
		ck_assert_uint_eq(m.result_code, mm.result_code);
		ck_assert_uint_eq(m.n, mm.n);
		for (unsigned i = 0; i < m.n; i++) {
			ck_assert_ptr_eq(m.item[i].rand, mm.item[i].rand);
			ck_assert_ptr_eq(m.item[i].autn, mm.item[i].autn);
			ck_assert_ptr_eq(m.item[i].xres, mm.item[i].xres);
			ck_assert_uint_eq(m.item[i].xres_len, mm.item[i].xres_len);
			ck_assert_ptr_eq(m.item[i].ck, mm.item[i].ck);
			ck_assert_ptr_eq(m.item[i].ik, mm.item[i].ik);
		}
	}
	ck_assert(fast == 0 || fast == LOAD_MAA_ASK_CODEC);
	if (fast)
		return 0;
	codec = akv_dia_parse_maa(msg, len, &h, &r, items, AKV_VEC_MAX, &n);
	ck_assert_int_eq(codec, 0);
	ck_assert_uint_eq(h.cmd, AKV_DIA_CMD_MA);
	ck_assert_uint_eq(m.result_code, r.result_code);
	ck_assert_uint_eq(m.n, n);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_mem_eq(m.item[i].rand, items[i].rand, 16);
		ck_assert_mem_eq(m.item[i].autn, items[i].autn, 16);
		ck_assert_uint_eq(m.item[i].xres_len, items[i].xres_len);
		ck_assert_mem_eq(m.item[i].xres, items[i].xres, items[i].xres_len);
		ck_assert_mem_eq(m.item[i].ck, items[i].ck, 16);
		ck_assert_mem_eq(m.item[i].ik, items[i].ik, 16);
	}
	return 1;
}

START_TEST(t_maa_reader_takes_server_shape)
{
	uint8_t buf[8192];
	uint64_t rng = 0x6d6161;

	for (unsigned n = 1; n <= AKV_VEC_MAX + 2; n++)
		for (unsigned xl = 4; xl <= 16; xl += 4) {
			struct maa_opt o = {.n = n, .xres_len = xl, .result = AKV_DIA_SUCCESS};
			size_t len = mk_maa(buf, sizeof(buf), &o, &rng);

			/* past AKV_VEC_MAX items the codec stops reading: so does the reader */
			ck_assert_int_eq(same_as_codec(buf, len), 1);
		}
	{
		/* duplicated members: the first of each counts, as akv_dia_find() */
		struct maa_opt o = {.n = 2, .xres_len = 8, .result = AKV_DIA_SUCCESS, .dup_members = 1};

		ck_assert_int_eq(same_as_codec(buf, mk_maa(buf, sizeof(buf), &o, &rng)), 1);
	}
	{
		/* an unknown AVP without M is skipped (RFC 6733 §4.1) */
		struct maa_opt o = {.n = 1, .xres_len = 8, .result = AKV_DIA_SUCCESS, .unknown_m = 1};

		ck_assert_int_eq(same_as_codec(buf, mk_maa(buf, sizeof(buf), &o, &rng)), 1);
	}
	{
		/* a failure Result-Code is read (the caller counts it) */
		struct maa_opt o = {.n = 0, .xres_len = 8, .result = 5012};

		ck_assert_int_eq(same_as_codec(buf, mk_maa(buf, sizeof(buf), &o, &rng)), 1);
	}
}
END_TEST

START_TEST(t_maa_reader_defers_the_rest)
{
	static const struct maa_opt cases[] = {
	    {.n = 1, .xres_len = 8, .result = 0, .exp_result = 1},	     /* no Result-Code */
	    {.n = 1, .xres_len = 8, .result = 2001, .exp_result = 1},	     /* both */
	    {.n = 1, .xres_len = 8, .result = 2001, .unknown_m = 2},	     /* 5001: refused */
	    {.n = 1, .xres_len = 8, .result = 2001, .user = "b\xc3\xa9@x.org"}, /* UTF-8 */
	    {.n = 1, .xres_len = 8, .result = 2001, .user = "b\xc3@x.org"},    /* bad UTF-8 */
	    {.n = 1, .xres_len = 3, .result = 2001},			     /* XRES too short */
	    {.n = 1, .xres_len = 8, .result = 2001, .no_ck = 1},	     /* no CK */
	    {.n = 1, .xres_len = 8, .result = 2001, .flags = AKV_DIA_F_REQ}, /* a request */
	    {.n = 1, .xres_len = 8, .result = 2001, .flags = 0x01},	     /* reserved bit */
	};
	uint8_t buf[4096];
	uint64_t rng = 0x646566;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = mk_maa(buf, sizeof(buf), &cases[i], &rng);

		ck_assert_msg(same_as_codec(buf, len) == 0, "case %zu taken by the reader", i);
	}
}
END_TEST

START_TEST(t_maa_reader_mutations)
{
	uint8_t base[4096], buf[4096];
	uint64_t rng = 0x6d7574;
	unsigned taken = 0, total = 0;

	for (unsigned round = 0; round < 300; round++) {
		struct maa_opt o = {.n = 1 + round % 4, .xres_len = 4 + round % 13,
				    .result = AKV_DIA_SUCCESS};
		size_t len = mk_maa(base, sizeof(base), &o, &rng);

		for (unsigned k = 0; k < 40; k++) {
			size_t l = len;

			memcpy(buf, base, len);
			/* 1..3 random bytes changed, sometimes a length cut */
			for (unsigned j = 0, nm = 1 + k % 3; j < nm; j++)
				buf[akv_test_rand64(&rng) % len] = (uint8_t)akv_test_rand64(&rng);
			if (k % 7 == 0)
				l = AKV_DIA_HDR_LEN + akv_test_rand64(&rng) % (len - AKV_DIA_HDR_LEN);
			taken += (unsigned)same_as_codec(buf, l);
			total++;
		}
	}
	/* some mutations keep a valid MAA (e.g. key bytes): both paths ran */
	ck_assert_uint_gt(taken, 0);
	ck_assert_uint_lt(taken, total);
	/* and the memo matched on many of them */
	ck_assert_uint_gt(memo_hits, 100);
}
END_TEST

static Suite *
load_dia_suite(void)
{
	Suite *s = suite_create("load_dia");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_mar_template_equals_builder);
	tcase_add_test(tc, t_maa_reader_takes_server_shape);
	tcase_add_test(tc, t_maa_reader_defers_the_rest);
	tcase_add_test(tc, t_maa_reader_mutations);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(load_dia_suite());
}

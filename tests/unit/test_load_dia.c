/*
 * test_load_dia.c - the Diameter messages of `akavs-bench load --diameter`
 * (bench/tool/load_dia_msg.c) against the codec they stand in for:
 *  - every MAR written from the template equals, byte for byte, the one
 *    akv_dia_build_mar() writes with the same Session-Id (RFC 6733 §8.8,
 *    counted across digit-count changes and the 32-bit wrap), identities of
 *    every padding residue, item counts, with and without RAND||AUTS;
 *  - the one-pass MAA reader takes the codec's path for server-shaped MAAs
 *    and, on those and on thousands of mutated ones, never accepts what
 *    akv_dia_parse_maa() refuses nor reads anything different from it, with
 *    and without the learned run and rest (vectors the only holes);
 *  - Public-Identity is read from a record's first line when it is inline;
 *  - every SAR equals the one the codec's general writer produces from the
 *    same fields, and the codec's checker takes it as a clean SAR;
 *  - the SAA judge: 2001 with the user's profile, refusals, answers without
 *    the profile or for another user, and malformed, cut and mutated SAAs
 *    (AKV_EPROTO, never a crash);
 *  - --op register through load_dia.c's answer handler: MAR, SAR
 *    REGISTRATION, then RE_REGISTRATION for the same subscriber, and every
 *    bad SAA counted as an error (or refused as a protocol error).
 * The files under test are compiled in (they are part of akavs-bench, not of
 * a library); the load machinery load_dia.c calls is stubbed here.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../../bench/tool/hist.c"
#include "../../bench/tool/load_dia.c"
#include "../../bench/tool/load_dia_msg.c"

/* load.c's blocking I/O, which this test does not link: dia_handshake()
 * needs it, and no test here runs a handshake (integ/tls.sh runs one over
 * TLS, the bench smoke test a plain one) */
ssize_t
load_conn_send_blocking(struct load_conn *c, const void *p, size_t n)
{
	return send(c->fd, p, n, MSG_NOSIGNAL);
}

ssize_t
load_conn_recv_blocking(struct load_conn *c, void *p, size_t n)
{
	return recv(c->fd, p, n, 0);
}
#include "akv_test.h"

/* ==== Stubs of the load machinery (load.c, load_check.c) ==== */

/* load_pick: subscriber stub_sub, the configured op */
static uint32_t stub_sub;
static unsigned stub_checked; /* vectors handed to load_check_vec */

int
load_pick(struct load_thread *t, struct load_slot *s)
{
	s->sub = stub_sub;
	s->rank = stub_sub / t->cfg->threads;	/* as load_pick keeps it */
	s->op = (uint8_t)t->cfg->op;
	s->step = 0;
	return 0;
}

int
load_check_vec(struct load_thread *t, struct load_slot *s, const uint8_t rand[16],
	       const uint8_t autn[16], const uint8_t *ck, const uint8_t *ik, const uint8_t *xres,
	       unsigned xres_len, uint64_t sqn_min)
{
	(void)t, (void)s, (void)rand, (void)autn, (void)ck, (void)ik, (void)xres;
	(void)sqn_min;
	stub_checked++;
	return xres_len == 8 ? 0 : -1;
}

/* load_derive: the UE's RES is stub_res (a test sets it to the MAA's XRES
 * for a UE that answers right) */
static uint8_t stub_res[8], stub_rand[16]; /* stub_rand: the RAND it derived from */

void
load_derive(struct load_thread *t, struct load_slot *s)
{
	(void)t;
	memcpy(stub_rand, s->rand, 16);
	memcpy(s->res, stub_res, 8);
}

void
load_make_auts(struct load_thread *t, struct load_slot *s, uint8_t auts[14])
{
	(void)t, (void)s;
	memset(auts, 0, 14);
}

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
	/* the codec's MAR has the shape load_mar_build writes unrolled */
	ck_assert_msg(t.in_order, "akv_dia_build_mar's AVP order changed: update mar_order");
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
			/* the images and the general loop, alternately */
			t.in_order = !(k & 2);
			/* a SAR's Session-Id in between (the images follow it) */
			if (k % 5 == 4)
				load_mar_next_session(&t);
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

/* The server's shape is read by maa_read_exact() once the memo knows the
 * run after the Session-Id, with the values the general loop reads; any
 * other shape is left to that loop. */
START_TEST(t_maa_exact_shape)
{
	static struct load_maa_memo mm;
	uint8_t buf[8192];
	uint64_t rng = 0x657861;

	for (unsigned n = 1; n <= AKV_VEC_MAX + 1; n++) {
		struct maa_opt o = {.n = n, .xres_len = 8, .result = AKV_DIA_SUCCESS};
		size_t len = mk_maa(buf, sizeof(buf), &o, &rng);
		struct load_maa gen, ex;
		uint32_t hits;

		memset(&mm, 0, sizeof(mm));
		ck_assert_int_eq(load_maa_read(buf, len, &gen, &mm), 0); /* learns */
		ck_assert_uint_eq(mm.at, 1);
		ck_assert_int_eq(load_maa_read(buf, len, &gen, NULL), 0);
		hits = mm.hits;
		ck_assert_int_eq(maa_read_exact(buf + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN, &ex,
						&mm),
				 n <= AKV_VEC_MAX); /* past AKV_VEC_MAX: the loop's */
		if (n > AKV_VEC_MAX)
			continue;
		ck_assert_uint_eq(mm.hits, hits + 1);
		ck_assert_uint_eq(ex.result_code, gen.result_code);
		ck_assert_uint_eq(ex.n, gen.n);
		for (unsigned i = 0; i < n; i++) {
			ck_assert_ptr_eq(ex.item[i].rand, gen.item[i].rand);
			ck_assert_ptr_eq(ex.item[i].xres, gen.item[i].xres);
			ck_assert_uint_eq(ex.item[i].xres_len, gen.item[i].xres_len);
			ck_assert_ptr_eq(ex.item[i].ck, gen.item[i].ck);
			ck_assert_ptr_eq(ex.item[i].ik, gen.item[i].ik);
		}
	}
	{
		/* an unknown AVP without M: the loop skips it, the exact path
		 * does not take the message */
		struct maa_opt o = {.n = 1, .xres_len = 8, .result = AKV_DIA_SUCCESS};
		struct maa_opt u = {.n = 1, .xres_len = 8, .result = AKV_DIA_SUCCESS, .unknown_m = 1};
		struct load_maa ex;
		size_t len;

		memset(&mm, 0, sizeof(mm));
		len = mk_maa(buf, sizeof(buf), &o, &rng);
		ck_assert_int_eq(load_maa_read(buf, len, &ex, &mm), 0);
		len = mk_maa(buf, sizeof(buf), &u, &rng);
		ck_assert_int_eq(maa_read_exact(buf + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN, &ex,
						&mm),
				 0);
		ck_assert_int_eq(load_maa_read(buf, len, &ex, &mm), 0);
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

/* The learned rest of an MAA (SIP-Number-Auth-Items and the items):
 * mutations of the vector values keep the fast read, any other changed byte
 * sends the MAA through the item readers; both give the verdicts and views
 * the memo-less reader and the codec give (same_as_codec). The shape changes
 * every 100 rounds, so the rest is learned again too. */
START_TEST(t_maa_tail_mutations)
{
	uint8_t base[4096], buf[4096];
	uint64_t rng = 0x7461696c;
	unsigned taken = 0, total = 0;
	uint32_t tail_hits0 = memo.tail_hits;

	for (unsigned round = 0; round < 400; round++) {
		struct maa_opt o = {.n = 1 + round / 100 * 2, .xres_len = round < 200 ? 8 : 6,
				    .result = AKV_DIA_SUCCESS};
		size_t len = mk_maa(base, sizeof(base), &o, &rng);
		/* the rest: 16 bytes of SIP-Number-Auth-Items, then the items */
		size_t tail = len - 16 - o.n * (12 + 16 + 28 + 44 + pad4(12 + o.xres_len) + 56);

		for (unsigned k = 0; k < 30; k++) {
			memcpy(buf, base, len);
			/* k 0: as sent; else 1..2 bytes changed, mostly in the rest */
			for (unsigned j = 0, nm = k ? 1 + k % 2 : 0; j < nm; j++) {
				size_t at = k % 4 ? tail + akv_test_rand64(&rng) % (len - tail)
						  : akv_test_rand64(&rng) % len;

				buf[at] ^= (uint8_t)(1 + akv_test_rand64(&rng) % 255);
			}
			if (k % 10 >= 8) {
				/* 4..16 bytes after the last item, in the length;
				 * or an unknown AVP without M and without its
				 * padding: a length no multiple of 4 (RFC 6733 §3) */
				size_t more = k % 10 == 9 ? 4 + akv_test_rand64(&rng) % 4 * 4
							  : 9 + akv_test_rand64(&rng) % 3;

				akv_test_fill(&rng, buf + len, more);
				if (k % 10 == 8) {
					akv_put_be32(buf + len, 999);
					akv_put_be32(buf + len + 4, (uint32_t)more);
				}
				akv_put_be24(buf + 1, (uint32_t)(len + more));
				taken += (unsigned)same_as_codec(buf, len + more);
				total++;
				continue;
			}
			taken += (unsigned)same_as_codec(buf, len);
			total++;
		}
	}
	ck_assert_uint_eq(total, 12000);
	ck_assert_uint_gt(taken, 1000);
	ck_assert_uint_lt(taken, total - 1000);
	/* the learned rest was used, for every shape */
	ck_assert_uint_gt(memo.tail_hits - tail_hits0, 1000);
}
END_TEST

/* ==== SAR / SAA ==== */

/* The SAR the codec's general writer produces from the same fields. */
static int
ref_sar(const char *sid, const char *impi, const char *impu, uint32_t sat, uint32_t hbh,
	uint32_t e2e, uint8_t *out, size_t cap)
{
	const uint32_t v = AKV_DIA_VENDOR_3GPP;
	struct akv_dia_wr w;

	akv_dia_wr_init(&w, out, cap);
	akv_dia_wr_hdr(&w, AKV_DIA_F_REQ | AKV_DIA_F_PROXY, AKV_DIA_CMD_SA, AKV_DIA_APP_CX, hbh,
		       e2e);
	akv_dia_put_str(&w, AKV_DIA_AVP_SESSION_ID, 0, sid);
	akv_dia_put_vsai(&w, v, AKV_DIA_APP_CX);
	akv_dia_put_u32(&w, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, HOST);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, REALM);
	akv_dia_put_str(&w, AKV_DIA_AVP_DESTINATION_REALM, 0, DREALM);
	akv_dia_put_str(&w, AKV_DIA_AVP_USER_NAME, 0, impi);
	akv_dia_put_str(&w, AKV_DIA_AVP_PUBLIC_IDENTITY, v, impu);
	akv_dia_put_str(&w, AKV_DIA_AVP_SERVER_NAME, v, SERVER);
	akv_dia_put_u32(&w, AKV_DIA_AVP_SERVER_ASSIGNMENT_TYPE, v, sat);
	akv_dia_put_u32(&w, AKV_DIA_AVP_USER_DATA_ALREADY_AVAILABLE, v, sat == 1 ? 0 : 1);
	return akv_dia_wr_finish(&w);
}

/* The value of the first top-level (code, vendor) Unsigned32/Enumerated. */
static uint32_t
sar_u32(const uint8_t *msg, size_t len, uint32_t code)
{
	uint32_t v = 0xdeadbeef;

	ck_assert_int_eq(akv_dia_find_u32(msg + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN, code,
					  AKV_DIA_VENDOR_3GPP, &v),
			 1);
	return v;
}

START_TEST(t_sar_builder_equals_writer)
{
	struct load_sar_tpl t;
	uint8_t got[2048], want[2048];
	char impi[256], impu[256], sid[64];
	uint64_t rng = 0x736172;
	unsigned built = 0;

	ck_assert_int_eq(load_sar_init(&t, HOST, REALM, DREALM, SERVER), 0);
	for (unsigned k = 0; k < 200; k++) {
		size_t il = 1 + akv_test_rand64(&rng) % 255, ul = 1 + akv_test_rand64(&rng) % 255;
		uint32_t sat = k & 1 ? LOAD_SAT_RE_REGISTRATION : LOAD_SAT_REGISTRATION;
		uint32_t hbh = (uint32_t)akv_test_rand64(&rng), e2e = (uint32_t)akv_test_rand64(&rng);
		struct akv_dia_hdr h;
		struct akv_dia_error err;
		int gl, wl, sl;

		if (k < 16) /* every padding residue of the three strings */
			il = 1 + k % 4, ul = 1 + k / 4;
		for (size_t i = 0; i < il; i++)
			impi[i] = (char)('a' + akv_test_rand64(&rng) % 26);
		for (size_t i = 0; i < ul; i++)
			impu[i] = (char)('a' + akv_test_rand64(&rng) % 26);
		impi[il] = impu[ul] = 0;
		sl = snprintf(sid, sizeof(sid), "%s;%u;%u", HOST, k % 3, k * 77);
		gl = load_sar_build(&t, sid, (size_t)sl, impi, il, impu, ul, sat, hbh, e2e, got,
				    sizeof(got));
		wl = ref_sar(sid, impi, impu, sat, hbh, e2e, want, sizeof(want));
		ck_assert_int_gt(wl, 0);
		ck_assert_int_eq(gl, wl);
		ck_assert_mem_eq(got, want, (size_t)wl);
		/* a clean Cx request for the codec: no error to answer */
		ck_assert_int_eq(akv_dia_check(got, (size_t)gl, &h, &err), 0);
		ck_assert_uint_eq(err.result_code, 0);
		ck_assert_uint_eq(h.cmd, AKV_DIA_CMD_SA);
		ck_assert_uint_eq(h.flags, AKV_DIA_F_REQ | AKV_DIA_F_PROXY);
		ck_assert_uint_eq(h.app, AKV_DIA_APP_CX);
		ck_assert_uint_eq(sar_u32(got, (size_t)gl, AKV_DIA_AVP_SERVER_ASSIGNMENT_TYPE), sat);
		built++;
	}
	ck_assert_uint_eq(built, 200);
	/* no room, nothing written past cap; empty identities refused */
	memset(got, 0xa5, sizeof(got));
	ck_assert_int_eq(load_sar_build(&t, "s", 1, "a", 1, "b", 1, 1, 1, 1, got, 100),
			 AKV_ETOOBIG);
	ck_assert_uint_eq(got[0], 0xa5);
	ck_assert_int_eq(load_sar_build(&t, "s", 1, "", 0, "b", 1, 1, 1, 1, got, sizeof(got)),
			 AKV_EINVAL);
	ck_assert_int_eq(load_sar_build(&t, "", 0, "a", 1, "b", 1, 1, 1, 1, got, sizeof(got)),
			 AKV_EINVAL);
	/* names that do not fit the template */
	{
		char big[LOAD_SAR_FIXED_MAX + 8];

		memset(big, 'r', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		ck_assert_int_eq(load_sar_init(&t, HOST, REALM, big, SERVER), AKV_ETOOBIG);
		ck_assert_int_eq(load_sar_init(&t, HOST, REALM, DREALM, big), AKV_ETOOBIG);
	}
}
END_TEST

#define SAA_IMPI "bench7@bench.akavs"

/* A SAA (TS 29.229 §6.1.4) as akavs writes it, with knobs. */
struct saa_opt {
	uint32_t cmd;	   /* 0: 301 */
	uint8_t flags;	   /* header flags */
	uint32_t result;   /* 0: no Result-Code */
	uint32_t exp;	   /* Experimental-Result-Code, 0: none */
	const char *user;  /* User-Name; NULL: SAA_IMPI, "": none */
	const char *data;  /* User-Data; NULL: a profile, "": empty, "-": none */
};

static size_t
mk_saa(uint8_t *buf, size_t cap, const struct saa_opt *o)
{
	const uint32_t v = AKV_DIA_VENDOR_3GPP;
	const char *user = o->user ? o->user : SAA_IMPI;
	const char *data = o->data ? o->data
				   : "<IMSSubscription><PrivateID>" SAA_IMPI
				     "</PrivateID></IMSSubscription>";
	struct akv_dia_wr w;
	int len;

	akv_dia_wr_init(&w, buf, cap);
	akv_dia_wr_hdr(&w, o->flags, o->cmd ? o->cmd : AKV_DIA_CMD_SA, AKV_DIA_APP_CX, 0x1234,
		       0x5678);
	akv_dia_put_str(&w, AKV_DIA_AVP_SESSION_ID, 0, HOST ";0;43");
	akv_dia_put_vsai(&w, v, AKV_DIA_APP_CX);
	if (o->result)
		akv_dia_put_u32(&w, AKV_DIA_AVP_RESULT_CODE, 0, o->result);
	if (o->exp)
		akv_dia_put_exp_result(&w, v, o->exp);
	akv_dia_put_u32(&w, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_HOST, 0, "hss.bench.akavs");
	akv_dia_put_str(&w, AKV_DIA_AVP_ORIGIN_REALM, 0, REALM);
	if (*user)
		akv_dia_put_str(&w, AKV_DIA_AVP_USER_NAME, 0, user);
	if (strcmp(data, "-"))
		akv_dia_put(&w, AKV_DIA_AVP_USER_DATA, v, data, strlen(data));
	len = akv_dia_wr_finish(&w);
	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

/* The judge spelled with the codec's parser and finds, as a reference. */
static int
ref_judge(const uint8_t *msg, size_t len)
{
	const uint8_t *body = msg + AKV_DIA_HDR_LEN;
	struct akv_dia_hdr h;
	struct akv_dia_result r;
	struct akv_dia_avp ud, un;

	if (akv_dia_parse_result(msg, len, &h, &r) || h.cmd != AKV_DIA_CMD_SA ||
	    h.app != AKV_DIA_APP_CX)
		return AKV_EPROTO;
	if (r.result_code != AKV_DIA_SUCCESS || r.exp_code)
		return LOAD_SAA_REFUSED;
	if (akv_dia_find(body, len - AKV_DIA_HDR_LEN, AKV_DIA_AVP_USER_NAME, 0, &un) == 1 &&
	    (un.len != strlen(SAA_IMPI) || memcmp(un.data, SAA_IMPI, un.len)))
		return LOAD_SAA_OTHER_USER;
	if (akv_dia_find(body, len - AKV_DIA_HDR_LEN, AKV_DIA_AVP_USER_DATA, AKV_DIA_VENDOR_3GPP,
			 &ud) != 1 ||
	    !ud.len)
		return LOAD_SAA_NO_PROFILE;
	return LOAD_SAA_OK;
}

static int
judge(const uint8_t *msg, size_t len)
{
	int v = load_saa_judge(msg, len, SAA_IMPI, strlen(SAA_IMPI));

	/* the index-based judge says what the parser and finds say */
	ck_assert_int_eq(v, ref_judge(msg, len));
	return v;
}

START_TEST(t_saa_judge_verdicts)
{
	static const struct {
		struct saa_opt o;
		int want;
	} cases[] = {
	    {{.result = 2001}, LOAD_SAA_OK},
	    {{.result = 2001, .user = ""}, LOAD_SAA_OK}, /* [User-Name] is optional */
	    {{.result = 5012}, LOAD_SAA_REFUSED},
	    {{.exp = 5001}, LOAD_SAA_REFUSED}, /* DIAMETER_ERROR_USER_UNKNOWN */
	    {{.result = 2001, .exp = 5007}, LOAD_SAA_REFUSED},
	    {{.result = 2001, .data = "-"}, LOAD_SAA_NO_PROFILE},
	    {{.result = 2001, .data = ""}, LOAD_SAA_NO_PROFILE},
	    {{.result = 2001, .user = "bench8@bench.akavs"}, LOAD_SAA_OTHER_USER},
	    {{.result = 2001, .user = "bench7@bench.akav"}, LOAD_SAA_OTHER_USER},
	    {{.result = 2001, .user = "bench8@bench.akavs", .data = "-"}, LOAD_SAA_OTHER_USER},
	    {{.result = 2001, .flags = AKV_DIA_F_REQ}, AKV_EPROTO}, /* a request */
	    {{.result = 2001, .flags = 0x01}, AKV_EPROTO},	      /* reserved bit */
	    {{.result = 2001, .cmd = AKV_DIA_CMD_MA}, AKV_EPROTO},    /* a MAA */
	    {{.data = "x"}, AKV_EPROTO},			      /* no result at all */
	};
	uint8_t buf[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = mk_saa(buf, sizeof(buf), &cases[i].o);

		ck_assert_msg(judge(buf, len) == cases[i].want, "case %zu: %d, want %d", i,
			      judge(buf, len), cases[i].want);
	}
}
END_TEST

/* Cut and mutated SAAs: AKV_EPROTO whenever the codec refuses the message,
 * never a read outside it (run under ASan by tests/integ/sanitize.sh). */
START_TEST(t_saa_judge_malformed)
{
	struct saa_opt o = {.result = 2001};
	uint8_t base[2048], buf[2048];
	struct akv_dia_hdr h;
	struct akv_dia_result r;
	uint64_t rng = 0x736161;
	size_t len = mk_saa(base, sizeof(base), &o);
	unsigned refused = 0, total = 0;

	/* every cut, with the header's length left (framing mismatch) or made
	 * to agree (the last AVP truncated) */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *c = akv_malloc(cut ? cut : 1);

		memcpy(c, base, cut);
		ck_assert_int_eq(judge(c, cut), AKV_EPROTO);
		if (cut >= 4) {
			akv_put_be24(c + 1, (uint32_t)cut);
			if (akv_dia_parse_result(c, cut, &h, &r))
				ck_assert_int_eq(judge(c, cut), AKV_EPROTO);
			else /* cut at an AVP boundary: a shorter answer, judged */
				ck_assert_int_ge(judge(c, cut), 0);
		}
		akv_free(c);
	}
	for (unsigned k = 0; k < 20000; k++) {
		size_t l = len;
		int v;

		memcpy(buf, base, len);
		for (unsigned j = 0, nm = 1 + k % 3; j < nm; j++)
			buf[akv_test_rand64(&rng) % len] = (uint8_t)akv_test_rand64(&rng);
		if (k % 5 == 0)
			l = AKV_DIA_HDR_LEN + akv_test_rand64(&rng) % (len - AKV_DIA_HDR_LEN);
		v = judge(buf, l);
		if (akv_dia_parse_result(buf, l, &h, &r) || h.cmd != AKV_DIA_CMD_SA ||
		    h.app != AKV_DIA_APP_CX) {
			ck_assert_int_eq(v, AKV_EPROTO);
			refused++;
		} else {
			ck_assert(v >= LOAD_SAA_OK && v <= LOAD_SAA_OTHER_USER);
		}
		total++;
	}
	/* both kinds occurred */
	ck_assert_uint_gt(refused, 0);
	ck_assert_uint_lt(refused, total);
}
END_TEST

/* --op register through load_dia.c: a thread of one connection, subscriber
 * 0 of one, the server's answers made here. */
struct reg_fixture {
	struct load_sub sub[1];
	struct load_subs subs;
	struct load_cfg cfg;
	struct load_thread t;
	struct load_slot s;
	uint8_t out[4096], ans[4096];
	uint64_t rng;
};

static void
reg_setup(struct reg_fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->sub[0].impi = (char *)SAA_IMPI;
	f->sub[0].impi_len = (uint8_t)strlen(SAA_IMPI);
	f->sub[0].impu = (char *)"sip:" SAA_IMPI;
	f->sub[0].impu_len = (uint8_t)strlen(f->sub[0].impu);
	f->subs.v = f->sub;
	f->subs.n = 1;
	f->cfg.subs = &f->subs;
	f->cfg.threads = 1;
	f->cfg.conns = 1;
	f->cfg.depth = 1;
	f->cfg.op = LOAD_OP_REGISTER;
	f->t.cfg = &f->cfg;
	f->t.now = 1000;
	akv_hist_init(&f->t.txn_hist);
	f->rng = 0x726567;
	stub_sub = 0;
	ck_assert_int_eq(dia_thread_init(&f->t), 0);
}

/* Starts a registration and answers its MAR with a 2001 MAA whose XRES is
 * the UE's RES: returns the SAR the handler wrote. */
static size_t
reg_to_sar(struct reg_fixture *f)
{
	struct maa_opt o = {.n = 1, .xres_len = 8, .result = AKV_DIA_SUCCESS};
	struct akv_dia_hdr h;
	struct load_maa m;
	size_t al;
	int ml, sl;

	ml = dia_start(&f->t, &f->s, 7, f->out, sizeof(f->out));
	ck_assert_int_gt(ml, 0);
	ck_assert_uint_eq(akv_get_be24(f->out + 5), AKV_DIA_CMD_MA);
	ck_assert_uint_eq(f->s.t_begin, f->t.now);
	al = mk_maa(f->ans, sizeof(f->ans), &o, &f->rng);
	ck_assert_int_eq(load_maa_read(f->ans, al, &m, NULL), 0);
	memcpy(stub_res, m.item[0].xres, 8);
	f->t.now += 5000;
	sl = dia_answer(&f->t, &f->s, 8, f->ans, al, f->out, sizeof(f->out));
	ck_assert_int_gt(sl, 0);
	ck_assert_mem_eq(stub_rand, m.item[0].rand, 16); /* the UE answered this challenge */
	ck_assert_int_eq(akv_dia_hdr_decode(f->out, (size_t)sl, &h), 0);
	ck_assert_uint_eq(h.cmd, AKV_DIA_CMD_SA);
	ck_assert_uint_eq(h.hbh, 8); /* the slot's id */
	ck_assert_uint_eq(f->s.step, 1);
	f->t.now += 5000;
	return (size_t)sl;
}

/* Public-Identity comes from the record's first line when load_subs.c
 * packed the identities there (load_proto_dia.impu_line0: load_pick then
 * prefetches that line only): a record whose sub->impu, in the second line,
 * names another string still gets its inline IMPU, in the MAR and the SAR;
 * a record without IMPU gets its IMPI; one not packed gets sub->impu. */
static void
check_pi(const uint8_t *msg, size_t len, const char *want)
{
	struct akv_dia_avp pi;

	ck_assert_int_eq(akv_dia_find(msg + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN,
				      AKV_DIA_AVP_PUBLIC_IDENTITY, AKV_DIA_VENDOR_3GPP, &pi),
			 1);
	ck_assert_uint_eq(pi.len, strlen(want));
	ck_assert_mem_eq(pi.data, want, pi.len);
}

/* kind 0: packed as load_subs.c packs (impi\0impu\0 in inl) with a
 * sub->impu that names another string; 1: packed, no IMPU; 2: not packed */
static const char *
pi_setup(struct reg_fixture *f, int kind)
{
	static const char inl_impu[] = "sip:bench7@bench.akavs", other[] = "sip:other@x";

	reg_setup(f);
	if (kind == 2) {
		f->sub[0].impu = (char *)other;
		f->sub[0].impu_len = (uint8_t)strlen(other);
		return other;
	}
	memcpy(f->sub[0].inl, SAA_IMPI, sizeof(SAA_IMPI));
	f->sub[0].impi = f->sub[0].inl;
	f->sub[0].impu = (char *)"sip:poison@second.line";
	f->sub[0].impu_len = 0;
	if (kind == 1)
		return SAA_IMPI;
	memcpy(f->sub[0].inl + sizeof(SAA_IMPI), inl_impu, sizeof(inl_impu));
	f->sub[0].impu_len = (uint8_t)strlen(inl_impu);
	return inl_impu;
}

START_TEST(t_mar_impu_from_line0)
{
	static struct reg_fixture f;

	ck_assert_int_eq(load_proto_dia.impu_line0, 1);
	for (int kind = 0; kind < 3; kind++) {
		const char *want = pi_setup(&f, kind);
		int ml = dia_start(&f.t, &f.s, 7, f.out, sizeof(f.out));

		ck_assert_int_gt(ml, 0);
		check_pi(f.out, (size_t)ml, want);
		dia_thread_fini(&f.t);
		/* and the SAR that follows an accepted MAA */
		want = pi_setup(&f, kind);
		check_pi(f.out, reg_to_sar(&f), want);
		dia_thread_fini(&f.t);
	}
}
END_TEST

/* --deregister: after the registration's SAA the UE de-registers (SAR
 * USER_DEREGISTRATION, profile available); a 2001 without profile counts a
 * de-registration and makes the next registration a first one again; a
 * refusal or an answer for another user is an error, not a de-registration. */
START_TEST(t_register_deregister_cycle)
{
	static struct reg_fixture f;
	struct saa_opt reg = {.result = 2001}, dereg = {.result = 2001, .data = "-"};
	uint8_t saa[2048];
	size_t sl, al;
	int dl;

	reg_setup(&f);
	f.cfg.deregister = 1;
	for (int round = 0; round < 2; round++) {
		sl = reg_to_sar(&f);
		ck_assert_uint_eq(sar_u32(f.out, sl, AKV_DIA_AVP_SERVER_ASSIGNMENT_TYPE),
				  LOAD_SAT_REGISTRATION);
		al = mk_saa(saa, sizeof(saa), &reg);
		dl = dia_answer(&f.t, &f.s, 9, saa, al, f.out, sizeof(f.out));
		ck_assert_int_gt(dl, 0); /* the de-registration follows */
		ck_assert_uint_eq(f.s.step, 2);
		ck_assert_uint_eq(sar_u32(f.out, (size_t)dl, AKV_DIA_AVP_SERVER_ASSIGNMENT_TYPE),
				  LOAD_SAT_USER_DEREGISTRATION);
		ck_assert_uint_eq(
		    sar_u32(f.out, (size_t)dl, AKV_DIA_AVP_USER_DATA_ALREADY_AVAILABLE), 1);
		al = mk_saa(saa, sizeof(saa), &dereg);
		ck_assert_int_eq(dia_answer(&f.t, &f.s, 10, saa, al, f.out, sizeof(f.out)), 0);
		ck_assert_uint_eq(f.t.c.deregistered, (uint64_t)round + 1);
		ck_assert_uint_eq(f.t.c.registered_first, (uint64_t)round + 1);
		ck_assert_uint_eq(f.t.c.sars, 2 * ((uint64_t)round + 1));
		/* one latency sample per registration, not per SAA */
		ck_assert_uint_eq(f.t.txn_hist.count, (uint64_t)round + 1);
	}
	ck_assert_uint_eq(f.t.c.err_answers + f.t.c.err_check, 0);
	/* a refused de-registration is an error and leaves the UE registered */
	reg_to_sar(&f);
	al = mk_saa(saa, sizeof(saa), &reg);
	ck_assert_int_gt(dia_answer(&f.t, &f.s, 9, saa, al, f.out, sizeof(f.out)), 0);
	{
		struct saa_opt no = {.result = 5012};

		al = mk_saa(saa, sizeof(saa), &no);
	}
	ck_assert_int_eq(dia_answer(&f.t, &f.s, 10, saa, al, f.out, sizeof(f.out)), 0);
	ck_assert_uint_eq(f.t.c.err_answers, 1);
	ck_assert_uint_eq(f.t.c.deregistered, 2);
	sl = reg_to_sar(&f);
	ck_assert_uint_eq(sar_u32(f.out, sl, AKV_DIA_AVP_SERVER_ASSIGNMENT_TYPE),
			  LOAD_SAT_RE_REGISTRATION);
	/* a de-registration answered for another user is a check error */
	al = mk_saa(saa, sizeof(saa), &reg);
	ck_assert_int_gt(dia_answer(&f.t, &f.s, 9, saa, al, f.out, sizeof(f.out)), 0);
	{
		struct saa_opt other = {.result = 2001, .user = "mallory@bench.akavs"};

		al = mk_saa(saa, sizeof(saa), &other);
	}
	ck_assert_int_eq(dia_answer(&f.t, &f.s, 10, saa, al, f.out, sizeof(f.out)), 0);
	ck_assert_uint_eq(f.t.c.err_check, 1);
	ck_assert_uint_eq(f.t.c.deregistered, 2);
	/* ... also without a profile */
	reg_to_sar(&f);
	al = mk_saa(saa, sizeof(saa), &reg);
	ck_assert_int_gt(dia_answer(&f.t, &f.s, 9, saa, al, f.out, sizeof(f.out)), 0);
	{
		struct saa_opt other = {.result = 2001, .user = "mallory@bench.akavs", .data = "-"};

		al = mk_saa(saa, sizeof(saa), &other);
	}
	ck_assert_int_eq(dia_answer(&f.t, &f.s, 10, saa, al, f.out, sizeof(f.out)), 0);
	ck_assert_uint_eq(f.t.c.err_check, 2);
	ck_assert_uint_eq(f.t.c.deregistered, 2);
	/* a malformed SAA is a protocol error */
	ck_assert_int_lt(dia_answer(&f.t, &f.s, 10, saa, 10, f.out, sizeof(f.out)), 0);
	dia_thread_fini(&f.t);
}
END_TEST

START_TEST(t_register_transactions)
{
	static struct reg_fixture f;
	struct load_counters c0;
	struct akv_dia_avp un;
	uint8_t saa[2048];
	size_t sl, al;

	reg_setup(&f);
	/* first registration: REGISTRATION, profile not yet available */
	sl = reg_to_sar(&f);
	ck_assert_uint_eq(sar_u32(f.out, sl, AKV_DIA_AVP_SERVER_ASSIGNMENT_TYPE),
			  LOAD_SAT_REGISTRATION);
	ck_assert_uint_eq(sar_u32(f.out, sl, AKV_DIA_AVP_USER_DATA_ALREADY_AVAILABLE), 0);
	ck_assert_int_eq(akv_dia_find(f.out + AKV_DIA_HDR_LEN, sl - AKV_DIA_HDR_LEN,
				      AKV_DIA_AVP_USER_NAME, 0, &un),
			 1);
	ck_assert_mem_eq(un.data, SAA_IMPI, strlen(SAA_IMPI));
	{
		struct saa_opt o = {.result = 2001};

		al = mk_saa(saa, sizeof(saa), &o);
	}
	ck_assert_int_eq(dia_answer(&f.t, &f.s, 9, saa, al, f.out, sizeof(f.out)), 0);
	ck_assert_uint_eq(f.t.c.sars, 1);
	ck_assert_uint_eq(f.t.c.registered, 1);
	ck_assert_uint_eq(f.t.c.registered_first, 1);
	ck_assert_uint_eq(f.t.txn_hist.count, 1);
	ck_assert_uint_eq(f.t.txn_hist.max, 10000); /* MAR queued to SAA read */
	/* the same subscriber again: RE_REGISTRATION, profile available */
	sl = reg_to_sar(&f);
	ck_assert_uint_eq(sar_u32(f.out, sl, AKV_DIA_AVP_SERVER_ASSIGNMENT_TYPE),
			  LOAD_SAT_RE_REGISTRATION);
	ck_assert_uint_eq(sar_u32(f.out, sl, AKV_DIA_AVP_USER_DATA_ALREADY_AVAILABLE), 1);
	ck_assert_int_eq(dia_answer(&f.t, &f.s, 9, saa, al, f.out, sizeof(f.out)), 0);
	ck_assert_uint_eq(f.t.c.registered, 2);
	ck_assert_uint_eq(f.t.c.registered_first, 1);
	/* a UE whose RES is not the XRES: no SAR, one error (vectors are not
	 * checked here: with the check on, the batch counts it) */
	{
		struct maa_opt o = {.n = 1, .xres_len = 8, .result = AKV_DIA_SUCCESS};
		struct load_maa m;

		ck_assert_int_gt(dia_start(&f.t, &f.s, 7, f.out, sizeof(f.out)), 0);
		al = mk_maa(f.ans, sizeof(f.ans), &o, &f.rng);
		ck_assert_int_eq(load_maa_read(f.ans, al, &m, NULL), 0);
		memcpy(stub_res, m.item[0].xres, 8);
		stub_res[7] ^= 1;
		c0 = f.t.c;
		ck_assert_int_eq(dia_answer(&f.t, &f.s, 8, f.ans, al, f.out, sizeof(f.out)), 0);
		ck_assert_uint_eq(f.t.c.err_check, c0.err_check + 1);
		ck_assert_uint_eq(f.t.c.sars, c0.sars);
	}
	/* a refused MAA ends the registration: no SAR */
	{
		struct maa_opt o = {.n = 0, .xres_len = 8, .result = 5012};

		ck_assert_int_gt(dia_start(&f.t, &f.s, 7, f.out, sizeof(f.out)), 0);
		al = mk_maa(f.ans, sizeof(f.ans), &o, &f.rng);
		c0 = f.t.c;
		ck_assert_int_eq(dia_answer(&f.t, &f.s, 8, f.ans, al, f.out, sizeof(f.out)), 0);
		ck_assert_uint_eq(f.t.c.err_answers, c0.err_answers + 1);
		ck_assert_uint_eq(f.t.c.sars, c0.sars);
	}
	dia_thread_fini(&f.t);
}
END_TEST

/* Every bad SAA is an error: a counted one (the transaction ends) or a
 * protocol error (< 0: load.c counts it and closes the connection). */
START_TEST(t_register_bad_saa_counted)
{
	static const struct {
		struct saa_opt o;
		int counter; /* 0 err_answers, 1 err_check, -1 protocol error */
	} cases[] = {
	    {{.result = 5012}, 0},
	    {{.exp = 5001}, 0},
	    {{.result = 2001, .data = "-"}, 1},
	    {{.result = 2001, .user = "other@bench.akavs"}, 1},
	    {{.result = 2001, .flags = AKV_DIA_F_REQ}, -1},
	    {{.result = 2001, .cmd = AKV_DIA_CMD_MA}, -1},
	};
	static struct reg_fixture f;
	uint8_t saa[2048];
	uint64_t rng = 0x626164;

	reg_setup(&f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct load_counters c0;
		size_t al = mk_saa(saa, sizeof(saa), &cases[i].o);
		int rc;

		reg_to_sar(&f);
		c0 = f.t.c;
		rc = dia_answer(&f.t, &f.s, 9, saa, al, f.out, sizeof(f.out));
		ck_assert_uint_eq(f.t.c.registered, c0.registered);
		if (cases[i].counter < 0) {
			ck_assert_msg(rc < 0, "case %zu accepted", i);
			continue;
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_eq(f.t.c.sars, c0.sars + 1);
		ck_assert_uint_eq(f.t.c.err_answers, c0.err_answers + (cases[i].counter == 0));
		ck_assert_uint_eq(f.t.c.err_check, c0.err_check + (cases[i].counter == 1));
	}
	/* cut or mutated SAAs: never a registration unless the codec takes the
	 * message as a SAA, never a crash */
	{
		struct saa_opt o = {.result = 2001};
		uint8_t bad[2048];
		size_t len = mk_saa(saa, sizeof(saa), &o);

		for (unsigned k = 0; k < 3000; k++) {
			struct load_counters c0;
			struct akv_dia_hdr h;
			struct akv_dia_result r;
			size_t l = k < len ? k : len;
			int rc;

			memcpy(bad, saa, len);
			if (k >= len)
				for (unsigned j = 0; j < 1 + k % 3; j++)
					bad[akv_test_rand64(&rng) % len] =
					    (uint8_t)akv_test_rand64(&rng);
			reg_to_sar(&f);
			c0 = f.t.c;
			rc = dia_answer(&f.t, &f.s, 9, bad, l, f.out, sizeof(f.out));
			if (akv_dia_parse_result(bad, l, &h, &r) || h.cmd != AKV_DIA_CMD_SA ||
			    h.app != AKV_DIA_APP_CX) {
				ck_assert_int_lt(rc, 0);
				ck_assert_uint_eq(f.t.c.registered, c0.registered);
			} else {
				ck_assert_int_eq(rc, 0);
				ck_assert_uint_eq(f.t.c.sars, c0.sars + 1);
			}
		}
	}
	dia_thread_fini(&f.t);
}
END_TEST

static Suite *
load_dia_suite(void)
{
	Suite *s = suite_create("load_dia");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_mar_template_equals_builder);
	tcase_add_test(tc, t_maa_reader_takes_server_shape);
	tcase_add_test(tc, t_maa_exact_shape);
	tcase_add_test(tc, t_maa_reader_defers_the_rest);
	tcase_add_test(tc, t_maa_reader_mutations);
	tcase_add_test(tc, t_maa_tail_mutations);
	tcase_add_test(tc, t_mar_impu_from_line0);
	tcase_add_test(tc, t_sar_builder_equals_writer);
	tcase_add_test(tc, t_saa_judge_verdicts);
	tcase_add_test(tc, t_saa_judge_malformed);
	tcase_add_test(tc, t_register_transactions);
	tcase_add_test(tc, t_register_deregister_cycle);
	tcase_add_test(tc, t_register_bad_saa_counted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(load_dia_suite());
}

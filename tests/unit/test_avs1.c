/*
 * AVS/1 codec (server/proto/avs1.c) and client library (server/client/client.c):
 * golden frames from docs/PROTOCOL.md (tests/vectors/avs1/NAME.hex, written by an
 * independent generator), round trips, and every kind of malformed input
 * against a PROT_NONE guard page.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "akv_test.h"
#include "client/client.h"
#include "err.h"
#include "guard.h"
#include "proto/avs1.h"
#include "slot.h"

/* ==== Helpers ==== */

#define FRAME_CAP 4096

/* Reads tests/vectors/avs1/<name>. Returns its length. */
static size_t
load_hex(const char *name, uint8_t *out, size_t cap)
{
	char path[512];

	snprintf(path, sizeof(path), "avs1/%s", name);
	return akv_test_load_hex(path, out, cap);
}

static const char *const req_goldens[] = {
    "challenge.req.hex", "challenge_www.req.hex", "verify_res.req.hex", "verify_digest.req.hex",
    "resync.req.hex",	 "vectors.req.hex",	  "ping.req.hex",	"stats.req.hex",
};
static const char *const ans_goldens[] = {
    "challenge.ans.hex",    "challenge_www.ans.hex",
    "verify_ok.ans.hex",    "verify_fail.ans.hex",
    "verify_dereg.ans.hex", "resync.ans.hex",
    "vectors.ans.hex",	    "ping.ans.hex",
    "stats.ans.hex",	    "error_unknown_user.ans.hex",
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* TS 35.208 set 1, as in the goldens */
static const uint8_t g_rand[16] = {0x23, 0x55, 0x3c, 0xbe, 0x96, 0x37, 0xa8, 0x9d,
				   0x21, 0x8a, 0xe6, 0x4d, 0xae, 0x47, 0xbf, 0x35};
static const uint8_t g_autn[16] = {0x55, 0xf3, 0x28, 0xb4, 0x35, 0x77, 0xb9, 0xb9,
				   0x4a, 0x9f, 0xfa, 0xc3, 0x54, 0xdf, 0xaf, 0xb3};
static const uint8_t g_res[8] = {0xa5, 0x42, 0x11, 0xd5, 0xe3, 0xba, 0x50, 0xbf};
static const uint8_t g_ck[16] = {0xb4, 0x0b, 0xa9, 0xa3, 0xc5, 0x8b, 0x2a, 0x05,
				 0xbb, 0xf0, 0xd9, 0x87, 0xb2, 0x1b, 0xf8, 0xcb};
static const uint8_t g_ik[16] = {0xf7, 0x69, 0xbc, 0xd7, 0x51, 0x04, 0x46, 0x04,
				 0x12, 0x76, 0x72, 0x71, 0x1c, 0x6d, 0x34, 0x41};

/* What a worker would answer, with the golden values: every vector is set 1;
 * IMPI "nobody@..." is unknown; VERIFY is OK for RES a5.., FAIL otherwise. */
static void
fake_engine(struct akv_eng_req *q)
{
	if (!strncmp(q->impi, "nobody@", 7)) {
		q->err = AKV_EUNKNOWN_USER;
		return;
	}
	q->err = 0;
	if (q->op == AKV_OP_VERIFY) {
		int ok = q->verify_kind == AKV_VERIFY_RES ? !memcmp(q->res, g_res, 8)
							  : q->digest != NULL;

		q->verdict = ok ? AKV_VERDICT_OK : AKV_VERDICT_FAIL;
		q->attempts_left = ok ? 3 : 2;
		memcpy(q->vec[0].ck, g_ck, 16);
		memcpy(q->vec[0].ik, g_ik, 16);
		q->nvec = ok;
		return;
	}
	q->scheme_used = q->scheme ? q->scheme : AKV_SCHEME_AKAV1_MD5;
	q->nvec = q->n;
	for (unsigned i = 0; i < q->n; i++) {
		memcpy(q->vec[i].rand, g_rand, 16);
		memcpy(q->vec[i].autn, g_autn, 16);
		memcpy(q->vec[i].ck, g_ck, 16);
		memcpy(q->vec[i].ik, g_ik, 16);
		memcpy(q->vec[i].xres, g_res, 8);
		q->vec[i].xres_len = 8;
	}
}

static void *
conn_new(void)
{
	void *st = calloc(1, akv_avs1_ops.conn_state_size ? akv_avs1_ops.conn_state_size : 1);
	struct akv_proto_conn_info info = {.ind = -1};
	size_t ol = 1;

	ck_assert_int_eq(akv_avs1_ops.conn_init(st, &info, NULL, 0, &ol), 0);
	ck_assert_uint_eq(ol, 0);
	return st;
}

/* Runs one whole frame through the server side (guard page behind it) and
 * returns the answer length in out: on_msg, and for DISPATCH the fake engine
 * and encode(). *action gets on_msg's result. */
static size_t
serve_frame(void *st, const uint8_t *frame, size_t len, uint8_t *out, size_t cap, int *action)
{
	static struct akv_test_slot m;
	struct akv_guard g = {0};
	const uint8_t *msg = akv_guard_put(&g, frame, len);
	size_t ol = 0;
	int rc;

	akv_test_slot_init(&m);
	rc = akv_avs1_ops.on_msg(st, msg, len, &m.slot, out, cap, &ol);
	akv_guard_free(&g);
	*action = rc;
	if (rc == AKV_PROTO_DISPATCH) {
		ck_assert_uint_eq(ol, 0);
		fake_engine(&m.req);
		rc = akv_avs1_ops.encode(st, &m.slot, out, cap);
		ck_assert_int_gt(rc, 0);
		return (size_t)rc;
	}
	ck_assert_int_eq(rc, AKV_PROTO_REPLY);
	return ol;
}

/* Decodes an error answer and checks its code, id echo and text. */
static void
check_error_answer(const uint8_t *out, size_t len, int want_err, uint64_t id)
{
	static struct akv_avs1_ans a;
	const char *why;

	ck_assert_int_eq(akv_avs1_ans_decode(out, len, &a, &why), 0);
	ck_assert_uint_eq(a.flags, AKV_AVS1_F_ERROR);
	ck_assert_int_eq(a.err, want_err);
	ck_assert_uint_eq(a.id, id);
	ck_assert_uint_gt(a.text_len, 0);
	ck_assert_msg(!strncmp(a.text, akv_strerror(want_err), strlen(akv_strerror(want_err))),
		      "text '%.*s' does not start with akv_strerror", a.text_len, a.text);
}

/* ==== Goldens ==== */

START_TEST(t_avs1_golden_requests_roundtrip)
{
	uint8_t f[FRAME_CAP], re[FRAME_CAP];
	struct akv_avs1_req r;

	for (size_t i = 0; i < NELEM(req_goldens); i++) {
		size_t len = load_hex(req_goldens[i], f, sizeof(f));
		struct akv_guard g = {0};
		const uint8_t *m = akv_guard_put(&g, f, len);
		const char *why;
		int n;

		ck_assert_int_eq(akv_avs1_frame_len(m, len), (int)len);
		ck_assert_msg(akv_avs1_req_decode(m, len, &r, &why) == 0, "%s: %s", req_goldens[i],
			      why);
		n = akv_avs1_req_encode(&r, re, sizeof(re));
		ck_assert_int_eq(n, (int)len);
		ck_assert_msg(!memcmp(re, f, len), "%s re-encodes differently", req_goldens[i]);
		akv_guard_free(&g);
	}
	/* spot-check the decoded fields of two goldens */
	ck_assert_int_eq(
	    akv_avs1_req_decode(f, load_hex("challenge_www.req.hex", f, sizeof(f)), &r, NULL), 0);
	ck_assert_uint_eq(r.op, AKV_AVS1_CHALLENGE);
	ck_assert_uint_eq(r.flags, AKV_AVS1_F_WWW);
	ck_assert_uint_eq(r.id, 2);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.scheme, AKV_SCHEME_AKAV1_MD5);
	ck_assert_uint_eq(r.ind, 3);
	ck_assert_uint_eq(r.impi_len, 21);
	ck_assert(!memcmp(r.impi, "alice@ims.example.org", 21));
	ck_assert(!memcmp(r.impu, "sip:alice@ims.example.org", 25));
	ck_assert(!memcmp(r.realm, "ims.example.org", 15));
	ck_assert_int_eq(
	    akv_avs1_req_decode(f, load_hex("verify_res.req.hex", f, sizeof(f)), &r, NULL), 0);
	ck_assert_uint_eq(r.kind, AKV_AVS1_VERIFY_RES);
	ck_assert_uint_eq(r.res_len, 8);
	ck_assert_mem_eq(r.res, g_res, 8);
	ck_assert_mem_eq(r.rand, g_rand, 16);
}
END_TEST

START_TEST(t_avs1_golden_answers_roundtrip)
{
	static struct akv_avs1_ans a;
	uint8_t f[FRAME_CAP], re[FRAME_CAP];

	for (size_t i = 0; i < NELEM(ans_goldens); i++) {
		size_t len = load_hex(ans_goldens[i], f, sizeof(f));
		struct akv_guard g = {0};
		const uint8_t *m = akv_guard_put(&g, f, len);
		const char *why;
		int n;

		ck_assert_msg(akv_avs1_ans_decode(m, len, &a, &why) == 0, "%s: %s", ans_goldens[i],
			      why);
		n = akv_avs1_ans_encode(&a, re, sizeof(re));
		ck_assert_int_eq(n, (int)len);
		ck_assert_msg(!memcmp(re, f, len), "%s re-encodes differently", ans_goldens[i]);
		akv_guard_free(&g);
	}
	ck_assert_int_eq(
	    akv_avs1_ans_decode(f, load_hex("vectors.ans.hex", f, sizeof(f)), &a, NULL), 0);
	ck_assert_uint_eq(a.op, AKV_AVS1_VECTORS);
	ck_assert_uint_eq(a.nvec, 2);
	ck_assert_uint_eq(a.vec[1].xres_len, 8);
	ck_assert_mem_eq(a.vec[1].xres, g_res, 8);
	ck_assert_mem_eq(a.vec[1].autn, g_autn, 16);
	ck_assert_mem_eq(a.vec[0].ik, g_ik, 16);
	ck_assert_int_eq(
	    akv_avs1_ans_decode(f, load_hex("verify_fail.ans.hex", f, sizeof(f)), &a, NULL), 0);
	ck_assert_uint_eq(a.verdict, AKV_VERDICT_FAIL);
	ck_assert_uint_eq(a.attempts_left, 2);
	ck_assert_int_eq(
	    akv_avs1_ans_decode(f, load_hex("error_unknown_user.ans.hex", f, sizeof(f)), &a, NULL),
	    0);
	ck_assert_int_eq(a.err, AKV_EUNKNOWN_USER);
	ck_assert_uint_eq(a.op, AKV_AVS1_CHALLENGE);
}
END_TEST

START_TEST(t_avs1_stats_golden_walk)
{
	static struct akv_avs1_ans a;
	uint8_t f[FRAME_CAP];
	size_t pos = 0, kl;
	const char *k;
	uint64_t v;

	ck_assert_int_eq(akv_avs1_ans_decode(f, load_hex("stats.ans.hex", f, sizeof(f)), &a, NULL),
			 0);
	ck_assert_uint_eq(a.nstats, 2);
	ck_assert_int_eq(akv_avs1_stats_next(&a, &pos, &k, &kl, &v), 1);
	ck_assert(kl == 8 && !memcmp(k, "requests", 8) && v == 1234);
	ck_assert_int_eq(akv_avs1_stats_next(&a, &pos, &k, &kl, &v), 1);
	ck_assert(kl == 14 && !memcmp(k, "avs1.malformed", 14) && v == 5);
	ck_assert_int_eq(akv_avs1_stats_next(&a, &pos, &k, &kl, &v), 0);
}
END_TEST

/* The server side (on_msg + engine + encode) produces the golden answers. */
START_TEST(t_avs1_server_answers_match_goldens)
{
	static const struct {
		const char *req, *ans;
	} pairs[] = {
	    {"challenge.req.hex", "challenge.ans.hex"},
	    {"challenge_www.req.hex", "challenge_www.ans.hex"},
	    {"verify_res.req.hex", "verify_ok.ans.hex"},
	    {"resync.req.hex", "resync.ans.hex"},
	    {"vectors.req.hex", "vectors.ans.hex"},
	    {"ping.req.hex", "ping.ans.hex"},
	};
	uint8_t f[FRAME_CAP], want[FRAME_CAP], out[AKV_PROTO_OUT_MAX];
	void *st = conn_new();
	int action;

	for (size_t i = 0; i < NELEM(pairs); i++) {
		size_t len = load_hex(pairs[i].req, f, sizeof(f));
		size_t wl = load_hex(pairs[i].ans, want, sizeof(want));
		size_t ol = serve_frame(st, f, len, out, sizeof(out), &action);

		ck_assert_msg(ol == wl && !memcmp(out, want, wl), "%s -> answer differs from %s",
			      pairs[i].req, pairs[i].ans);
	}
	/* an unknown user: the engine's error becomes the golden error answer */
	{
		struct akv_avs1_req r = {.op = AKV_AVS1_CHALLENGE,
					 .id = 9,
					 .n = 1,
					 .ind = AKV_AVS1_IND_NONE,
					 .impi = "nobody@x",
					 .impi_len = 8};
		size_t len = (size_t)akv_avs1_req_encode(&r, f, sizeof(f));
		size_t wl = load_hex("error_unknown_user.ans.hex", want, sizeof(want));
		size_t ol = serve_frame(st, f, len, out, sizeof(out), &action);

		ck_assert_int_eq(action, AKV_PROTO_DISPATCH);
		ck_assert(ol == wl && !memcmp(out, want, wl));
	}
	free(st);
}
END_TEST

/* The WWW-Authenticate realm defaults to the IMPI's domain; NOKEYS drops ck/ik. */
START_TEST(t_avs1_www_realm_default_and_nokeys)
{
	static struct akv_avs1_ans a;
	uint8_t f[FRAME_CAP], out[AKV_PROTO_OUT_MAX];
	struct akv_avs1_req r = {.op = AKV_AVS1_CHALLENGE,
				 .flags = AKV_AVS1_F_WWW,
				 .id = 77,
				 .n = 3,
				 .scheme = AKV_SCHEME_AKAV2_MD5,
				 .ind = AKV_AVS1_IND_NONE,
				 .impi = "bob@ims.test",
				 .impi_len = 12};
	void *st = conn_new();
	int action, len;
	size_t ol;

	len = akv_avs1_req_encode(&r, f, sizeof(f));
	ol = serve_frame(st, f, (size_t)len, out, sizeof(out), &action);
	ck_assert_int_eq(action, AKV_PROTO_DISPATCH);
	ck_assert_int_eq(akv_avs1_ans_decode(out, ol, &a, NULL), 0);
	ck_assert_uint_eq(a.nvec, 3);
	ck_assert_uint_eq(a.scheme, AKV_SCHEME_AKAV2_MD5);
	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(memmem(a.www[i], a.www_len[i], "realm=\"ims.test\"", 16));
		ck_assert_ptr_nonnull(memmem(a.www[i], a.www_len[i], "algorithm=AKAv2-MD5", 19));
		ck_assert_ptr_nonnull(memmem(a.www[i], a.www_len[i], "ck=\"b40ba9a3", 12));
	}
	r.flags = AKV_AVS1_F_WWW | AKV_AVS1_F_WWW_NOKEYS;
	len = akv_avs1_req_encode(&r, f, sizeof(f));
	ol = serve_frame(st, f, (size_t)len, out, sizeof(out), &action);
	ck_assert_int_eq(akv_avs1_ans_decode(out, ol, &a, NULL), 0);
	ck_assert_uint_eq(a.flags, AKV_AVS1_F_WWW | AKV_AVS1_F_WWW_NOKEYS);
	ck_assert_ptr_null(memmem(a.www[0], a.www_len[0], "ck=", 3));
	/* no realm and no '@' in the IMPI: an error answer, conn kept */
	r.flags = AKV_AVS1_F_WWW;
	r.impi = "bob";
	r.impi_len = 3;
	len = akv_avs1_req_encode(&r, f, sizeof(f));
	ol = serve_frame(st, f, (size_t)len, out, sizeof(out), &action);
	ck_assert_int_eq(action, AKV_PROTO_REPLY);
	check_error_answer(out, ol, AKV_EPROTO, 77);
	free(st);
}
END_TEST

/* ==== Malformed input ==== */

/* Every prefix of every golden, behind a guard page: frame_len says partial
 * or the full length, and decoding a frame whose length field claims the
 * prefix fails cleanly (never reads past it). */
START_TEST(t_avs1_truncated_every_offset)
{
	static struct akv_avs1_ans a;
	uint8_t f[FRAME_CAP], t[FRAME_CAP], out[AKV_PROTO_OUT_MAX];
	void *st = conn_new();

	for (int kind = 0; kind < 2; kind++) {
		const char *const *names = kind ? ans_goldens : req_goldens;
		size_t count = kind ? NELEM(ans_goldens) : NELEM(req_goldens);

		for (size_t i = 0; i < count; i++) {
			size_t len = load_hex(names[i], f, sizeof(f));

			for (size_t k = 0; k < len; k++) {
				struct akv_guard g = {0};
				const uint8_t *m = akv_guard_put(&g, f, k);
				struct akv_avs1_req r;
				int fl = akv_avs1_frame_len(m, k);

				ck_assert_int_eq(fl, k < 4 ? AKV_EPARTIAL : (int)len);
				akv_guard_free(&g);
				if (k < AKV_AVS1_HDR_LEN)
					continue;
				/* same bytes, length field shortened to k */
				memcpy(t, f, k);
				t[0] = (uint8_t)(k >> 24);
				t[1] = (uint8_t)(k >> 16);
				t[2] = (uint8_t)(k >> 8);
				t[3] = (uint8_t)k;
				m = akv_guard_put(&g, t, k);
				if (kind == 0) {
					int err = akv_avs1_req_decode(m, k, &r, NULL);
					int action;
					size_t ol;

					/* PING payload prefixes and empty bodies are valid */
					if (!err)
						ck_assert(r.op == AKV_AVS1_PING ||
							  (r.op == AKV_AVS1_STATS && k == 16));
					else
						ck_assert(err == AKV_EPROTO);
					ol = serve_frame(st, t, k, out, sizeof(out), &action);
					if (err)
						check_error_answer(out, ol, err, r.id);
				} else {
					int err = akv_avs1_ans_decode(m, k, &a, NULL);

					ck_assert_msg(
					    err == AKV_EPROTO || (!err && a.op == AKV_AVS1_PING),
					    "%s cut at %zu decoded (%d)", names[i], k, err);
				}
				akv_guard_free(&g);
			}
		}
	}
	free(st);
}
END_TEST

START_TEST(t_avs1_frame_len_limits)
{
	uint8_t b[4];
	static const struct {
		uint32_t v;
		int want;
	} cases[] = {
	    {0, AKV_EPROTO},
	    {15, AKV_EPROTO},
	    {16, 16},
	    {65536, 65536},
	    {65537, AKV_ETOOBIG},
	    {0x7fffffff, AKV_ETOOBIG},
	    {0xffffffff, AKV_ETOOBIG},
	};
	struct akv_avs1_counters c0, c1;

	for (size_t i = 0; i < NELEM(cases); i++) {
		b[0] = (uint8_t)(cases[i].v >> 24);
		b[1] = (uint8_t)(cases[i].v >> 16);
		b[2] = (uint8_t)(cases[i].v >> 8);
		b[3] = (uint8_t)cases[i].v;
		ck_assert_int_eq(akv_avs1_frame_len(b, 4), cases[i].want);
	}
	/* the ops' frame_len counts lost framing */
	akv_avs1_counters(&c0);
	b[0] = 0xff;
	ck_assert_int_eq(akv_avs1_ops.frame_len(b, 4), AKV_ETOOBIG);
	ck_assert_int_eq(akv_avs1_ops.frame_len(b, 3), AKV_EPARTIAL);
	akv_avs1_counters(&c1);
	ck_assert_uint_eq(c1.framing, c0.framing + 1);
}
END_TEST

/* Header-level faults get an error answer with the right code, the
 * connection is kept, and the right counter moves. */
START_TEST(t_avs1_header_faults)
{
	uint8_t f[FRAME_CAP], t[FRAME_CAP], out[AKV_PROTO_OUT_MAX];
	size_t len = load_hex("challenge.req.hex", f, sizeof(f)), ol;
	struct akv_avs1_counters c0, c1;
	static struct akv_avs1_ans a;
	void *st = conn_new();
	int action;

	akv_avs1_counters(&c0);
	memcpy(t, f, len);
	t[4] = 2; /* version */
	ol = serve_frame(st, t, len, out, sizeof(out), &action);
	ck_assert_int_eq(action, AKV_PROTO_REPLY);
	check_error_answer(out, ol, AKV_EPROTO, 1);
	ck_assert_uint_eq(out[4], 1); /* answered in version 1 */

	memcpy(t, f, len);
	t[5] = 0x42; /* unknown op */
	ol = serve_frame(st, t, len, out, sizeof(out), &action);
	check_error_answer(out, ol, AKV_EUNKNOWN_OP, 1);
	ck_assert_uint_eq(out[5], 0xc2);
	ck_assert_int_eq(akv_avs1_ans_decode(out, ol, &a, NULL), 0);
	ck_assert_uint_eq(a.op, 0x42);

	t[5] = 0x81; /* an answer sent as a request */
	ol = serve_frame(st, t, len, out, sizeof(out), &action);
	check_error_answer(out, ol, AKV_EUNKNOWN_OP, 1);

	memcpy(t, f, len);
	t[7] = 1; /* reserved */
	ol = serve_frame(st, t, len, out, sizeof(out), &action);
	check_error_answer(out, ol, AKV_EPROTO, 1);

	memcpy(t, f, len);
	t[6] = AKV_AVS1_F_WWW_NOKEYS; /* NOKEYS without WWW */
	ol = serve_frame(st, t, len, out, sizeof(out), &action);
	check_error_answer(out, ol, AKV_EPROTO, 1);
	t[6] = 0x40; /* undefined flag */
	ol = serve_frame(st, t, len, out, sizeof(out), &action);
	check_error_answer(out, ol, AKV_EPROTO, 1);

	akv_avs1_counters(&c1);
	ck_assert_uint_eq(c1.bad_version, c0.bad_version + 1);
	ck_assert_uint_eq(c1.unknown_op, c0.unknown_op + 2);
	ck_assert_uint_eq(c1.malformed, c0.malformed + 3);
	ck_assert_uint_ge(c1.error_answers, c0.error_answers + 6);
	free(st);
}
END_TEST

/* Body-level faults: length overruns, n limits, scheme, RES length, IMPI. */
START_TEST(t_avs1_body_faults)
{
	uint8_t f[FRAME_CAP], t[FRAME_CAP], out[AKV_PROTO_OUT_MAX];
	size_t len = load_hex("challenge.req.hex", f, sizeof(f)), ol;
	void *st = conn_new();
	int action;
	static const struct {
		size_t off;
		uint8_t val;
		int err;
	} cases[] = {
	    {16, 0, AKV_EBAD_N},			 /* n = 0 */
	    {16, 33, AKV_EBAD_N},			 /* n over AKV_VEC_MAX */
	    {16, 255, AKV_EBAD_N}, {17, 3, AKV_ESCHEME}, /* scheme */
	    {19, 22, AKV_EPROTO},			 /* IMPI length overruns the frame */
	    {19, 255, AKV_EPROTO}, {19, 20, AKV_EPROTO}, /* ... or leaves a trailing byte */
	    {19, 0, AKV_EPROTO},			 /* empty IMPI */
	    {20, 1, AKV_EPROTO},			 /* IMPU length overruns */
	    {21, 200, AKV_EPROTO},			 /* realm length overruns */
	    {22, ' ', AKV_EPROTO},			 /* space in IMPI */
	    {22, '"', AKV_EPROTO},			 /* quote in IMPI */
	    {22, 0, AKV_EPROTO},			 /* NUL in IMPI */
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		memcpy(t, f, len);
		t[cases[i].off] = cases[i].val;
		ol = serve_frame(st, t, len, out, sizeof(out), &action);
		ck_assert_int_eq(action, AKV_PROTO_REPLY);
		check_error_answer(out, ol, cases[i].err, 1);
	}
	/* n = 32 is the top of the range */
	memcpy(t, f, len);
	t[16] = 32;
	ol = serve_frame(st, t, len, out, sizeof(out), &action);
	ck_assert_int_eq(action, AKV_PROTO_DISPATCH);

	/* VERIFY by RES: RES length 3 and 17, kind 2 */
	len = load_hex("verify_res.req.hex", f, sizeof(f));
	for (int v = 0; v < 3; v++) {
		memcpy(t, f, len);
		if (v == 2)
			t[16] = 2;
		else
			t[18] = v ? 17 : 3;
		ol = serve_frame(st, t, len, out, sizeof(out), &action);
		check_error_answer(out, ol, AKV_EPROTO, 3);
	}
	/* VERIFY by Digest: algorithm 3, username length overrun, empty response */
	len = load_hex("verify_digest.req.hex", f, sizeof(f));
	memcpy(t, f, len);
	t[18] = 3;
	ol = serve_frame(st, t, len, out, sizeof(out), &action);
	check_error_answer(out, ol, AKV_ESCHEME, 4);
	memcpy(t, f, len);
	t[20] = 0x10;
	ol = serve_frame(st, t, len, out, sizeof(out), &action);
	check_error_answer(out, ol, AKV_EPROTO, 4);
	/* STATS with a body */
	len = load_hex("stats.req.hex", f, sizeof(f));
	memcpy(t, f, len);
	t[len] = 0;
	t[3] = (uint8_t)(len + 1);
	ol = serve_frame(st, t, len + 1, out, sizeof(out), &action);
	check_error_answer(out, ol, AKV_EPROTO, 8);
	free(st);
}
END_TEST

/* Identity bytes: every byte value at every position of IMPIs, IMPUs and
 * realms of many lengths (both sides of the 16-byte blocks the decoder
 * checks at once) gets the verdict of the rule written out byte by byte,
 * from the decoder and from on_msg (whose common case checks them itself):
 * a dispatched request carries the identities byte for byte, a refused one
 * gets an EPROTO answer. */
static int
id_byte_ok(unsigned b)
{
	return b > 0x20 && b != '"' && b != '\\' && b != 0x7f;
}

START_TEST(t_avs1_identity_bytes_every_position)
{
	static const size_t lens[] = {1,  2,  7,  15, 16, 17, 20, 31, 32, 33,
				      41, 47, 48, 63, 64, 65, 79, 100, 200, 255};
	static char id[AKV_ID_MAX], other[40];
	static struct akv_test_slot m;
	static uint8_t out[AKV_PROTO_OUT_MAX];
	uint8_t f[FRAME_CAP];
	void *st = conn_new();

	memset(other, 'b', sizeof(other));
	for (size_t li = 0; li < NELEM(lens); li++) {
		size_t n = lens[li];

		for (int field = 0; field < 3; field++) { /* byte in IMPI, IMPU, realm */
			struct akv_avs1_req r = {.op = AKV_AVS1_CHALLENGE, .id = 9, .n = 1,
						 .ind = AKV_AVS1_IND_NONE};
			size_t at;
			int len;

			memset(id, 'a', n);
			r.impi = field == 0 ? id : other;
			r.impi_len = field == 0 ? n : 21;
			r.impu = field == 1 ? id : other;
			r.impu_len = field == 1 ? n : 26;
			if (field == 2) {
				r.flags = AKV_AVS1_F_WWW;
				r.realm = id;
				r.realm_len = n;
			}
			len = akv_avs1_req_encode(&r, f, sizeof(f));
			ck_assert_int_gt(len, 0);
			at = AKV_AVS1_HDR_LEN + 6 + (field > 0 ? r.impi_len : 0) +
			     (field > 1 ? r.impu_len : 0);
			for (size_t pos = 0; pos < n; pos++) {
				for (unsigned b = 0; b < 256; b++) {
					struct akv_avs1_req d;
					const char *why = NULL;
					size_t ol = 0;
					int rc;

					f[at + pos] = (uint8_t)b;
					rc = akv_avs1_req_decode(f, (size_t)len, &d, &why);
					if (id_byte_ok(b))
						ck_assert_msg(rc == 0, "len %zu field %d pos %zu byte %u: %s",
							      n, field, pos, b, why ? why : "");
					else
						ck_assert_msg(rc == AKV_EPROTO,
							      "len %zu field %d pos %zu byte %u accepted",
							      n, field, pos, b);
					akv_test_slot_init(&m);
					rc = akv_avs1_ops.on_msg(st, f, (size_t)len, &m.slot, out,
								 sizeof(out), &ol);
					if (!id_byte_ok(b)) {
						ck_assert_msg(rc == AKV_PROTO_REPLY,
							      "on_msg: len %zu field %d pos %zu byte "
							      "%u accepted", n, field, pos, b);
						check_error_answer(out, ol, AKV_EPROTO, 9);
						continue;
					}
					ck_assert_int_eq(rc, AKV_PROTO_DISPATCH);
					ck_assert_uint_eq(m.req.impi_len, r.impi_len);
					ck_assert(!memcmp(m.req.impi, f + AKV_AVS1_HDR_LEN + 6,
							  r.impi_len));
					ck_assert_uint_eq(m.req.impu_len, r.impu_len);
					ck_assert(!memcmp(m.req.impu,
							  f + AKV_AVS1_HDR_LEN + 6 + r.impi_len,
							  r.impu_len));
				}
				f[at + pos] = 'a';
			}
		}
	}
	free(st);
}
END_TEST

/* The in-place CHALLENGE/RESYNC answer writer (server side) gives the
 * bytes akv_avs1_ans_encode gives for the same answer: every vector count,
 * both schemes, random vector bytes and ids, and small output buffers. */
START_TEST(t_avs1_answer_writer_equals_codec)
{
	static uint8_t f[FRAME_CAP], got[AKV_PROTO_OUT_MAX], want[AKV_PROTO_OUT_MAX];
	static struct akv_test_slot m;
	static struct akv_avs1_ans a;
	uint64_t rng = 0x616e73;
	void *st = conn_new();

	for (unsigned round = 0; round < 4000; round++) {
		uint8_t op = round % 2 ? AKV_AVS1_RESYNC : AKV_AVS1_CHALLENGE;
		struct akv_avs1_req r = {.op = op, .id = akv_test_rand64(&rng),
					 .n = (uint8_t)(1 + round % AKV_VEC_MAX),
					 .scheme = (uint8_t)(1 + round / 2 % 2),
					 .ind = AKV_AVS1_IND_NONE, .impi = "alice@ims.test",
					 .impi_len = 14};
		size_t cap = round % 9 == 8 ? akv_test_rand64(&rng) % 200 : sizeof(got);
		int len, gl, wl;
		size_t ol = 0;

		len = akv_avs1_req_encode(&r, f, sizeof(f));
		ck_assert_int_gt(len, 0);
		akv_test_slot_init(&m);
		ck_assert_int_eq(akv_avs1_ops.on_msg(st, f, (size_t)len, &m.slot, got, sizeof(got),
						     &ol),
				 AKV_PROTO_DISPATCH);
		m.req.err = 0;
		m.req.scheme_used = r.scheme;
		m.req.nvec = r.n;
		akv_test_fill(&rng, (uint8_t *)m.vec, sizeof(m.vec[0]) * r.n);
		memset(got, 0xee, sizeof(got));
		gl = akv_avs1_ops.encode(st, &m.slot, got, cap);
		memset(&a, 0, sizeof(a));
		a.op = op;
		a.id = r.id;
		a.scheme = r.scheme;
		a.nvec = r.n;
		a.vec = m.vec;
		wl = akv_avs1_ans_encode(&a, want, cap);
		if (wl > 0) {
			ck_assert_int_eq(gl, wl);
			ck_assert_mem_eq(got, want, (size_t)wl);
		} else {
			ck_assert_int_le(gl, 0); /* no room: an error either way */
		}
	}
	free(st);
}
END_TEST

/* Oversized Digest fields, PING payloads and identities: the encoder refuses,
 * and the server answers AKV_ETOOBIG when a peer sends them anyway. */
START_TEST(t_avs1_too_big)
{
	static char big[2048];
	static uint8_t f[8192], out[AKV_PROTO_OUT_MAX];
	struct akv_avs1_req r = {.op = AKV_AVS1_VERIFY,
				 .id = 5,
				 .kind = AKV_AVS1_VERIFY_DIGEST,
				 .alg = 1,
				 .impi = "a@b",
				 .impi_len = 3};
	uint8_t body[8192];
	void *st = conn_new();
	size_t ol, len;
	int action;

	memset(big, 'x', sizeof(big));
	for (int i = 0; i < AKV_DIG_NFIELDS; i++) {
		r.dig[i].p = big;
		r.dig[i].n = 100;
	}
	ck_assert_int_gt(akv_avs1_req_encode(&r, f, sizeof(f)), 0); /* 900 bytes */
	r.dig[AKV_DIG_RESPONSE].n = 225;			    /* 1025 */
	ck_assert_int_eq(akv_avs1_req_encode(&r, f, sizeof(f)), AKV_ETOOBIG);
	/* on the wire: craft the 1025-byte frame by hand */
	r.dig[AKV_DIG_RESPONSE].n = 100;
	len = (size_t)akv_avs1_req_encode(&r, f, sizeof(f));
	memcpy(body, f, len);
	memset(body + len, 'x', 125);
	body[16 + 4 + 2 * AKV_DIG_RESPONSE] = 0;
	body[16 + 4 + 2 * AKV_DIG_RESPONSE + 1] = 225;
	len += 125;
	body[2] = (uint8_t)(len >> 8);
	body[3] = (uint8_t)len;
	ol = serve_frame(st, body, len, out, sizeof(out), &action);
	ck_assert_int_eq(action, AKV_PROTO_REPLY);
	check_error_answer(out, ol, AKV_ETOOBIG, 5);

	/* identities over 255 bytes cannot be encoded */
	r = (struct akv_avs1_req){.op = AKV_AVS1_CHALLENGE, .n = 1, .impi = big, .impi_len = 256};
	ck_assert_int_eq(akv_avs1_req_encode(&r, f, sizeof(f)), AKV_ETOOBIG);
	r.impi_len = 255;
	ck_assert_int_gt(akv_avs1_req_encode(&r, f, sizeof(f)), 0);
	r.impu = big;
	r.impu_len = 300;
	ck_assert_int_eq(akv_avs1_req_encode(&r, f, sizeof(f)), AKV_ETOOBIG);
	r.impu_len = 0;
	r.impi_len = 0;
	ck_assert_int_eq(akv_avs1_req_encode(&r, f, sizeof(f)), AKV_EINVAL);
	r.impi_len = 1;
	r.n = 0;
	ck_assert_int_eq(akv_avs1_req_encode(&r, f, sizeof(f)), AKV_EINVAL);
	r.n = 33;
	ck_assert_int_eq(akv_avs1_req_encode(&r, f, sizeof(f)), AKV_EINVAL);

	/* PING over 4096 bytes */
	r = (struct akv_avs1_req){.op = AKV_AVS1_PING, .id = 6, .data = body, .data_len = 4097};
	ck_assert_int_eq(akv_avs1_req_encode(&r, f, sizeof(f)), AKV_ETOOBIG);
	r.data_len = 4096;
	len = (size_t)akv_avs1_req_encode(&r, f, sizeof(f));
	memcpy(body, f, len);
	body[len] = 'y';
	len++;
	body[2] = (uint8_t)(len >> 8);
	body[3] = (uint8_t)len;
	ol = serve_frame(st, body, len, out, sizeof(out), &action);
	check_error_answer(out, ol, AKV_ETOOBIG, 6);
	free(st);
}
END_TEST

/* Every single-byte mutation of every golden: no crash; whatever decodes
 * re-encodes to the same bytes; the server always has a decodable answer. */
START_TEST(t_avs1_mutations)
{
	static struct akv_avs1_ans a;
	uint8_t f[FRAME_CAP], t[FRAME_CAP], re[FRAME_CAP], out[AKV_PROTO_OUT_MAX];
	void *st = conn_new();

	for (int kind = 0; kind < 2; kind++) {
		const char *const *names = kind ? ans_goldens : req_goldens;
		size_t count = kind ? NELEM(ans_goldens) : NELEM(req_goldens);

		for (size_t i = 0; i < count; i++) {
			size_t len = load_hex(names[i], f, sizeof(f));
			size_t lim = len < 64 ? len : 64; /* headers and fixed parts */

			for (size_t off = 4; off < lim; off++) {
				for (int v = 0; v < 256; v += (off < 40 ? 1 : 17)) {
					struct akv_avs1_req r;
					int n;

					memcpy(t, f, len);
					t[off] = (uint8_t)v;
					if (kind == 0 && !akv_avs1_req_decode(t, len, &r, NULL)) {
						n = akv_avs1_req_encode(&r, re, sizeof(re));
						ck_assert_int_eq(n, (int)len);
						ck_assert(!memcmp(re, t, len));
					}
					if (kind == 1 && !akv_avs1_ans_decode(t, len, &a, NULL)) {
						n = akv_avs1_ans_encode(&a, re, sizeof(re));
						ck_assert_int_eq(n, (int)len);
						ck_assert(!memcmp(re, t, len));
					}
					if (kind == 0) {
						int action;
						size_t ol = serve_frame(st, t, len, out,
									sizeof(out), &action);

						ck_assert_int_eq(
						    akv_avs1_ans_decode(out, ol, &a, NULL), 0);
					}
				}
			}
		}
	}
	free(st);
}
END_TEST

/* An encoder never writes past cap: too-small buffers end at a guard page. */
START_TEST(t_avs1_encode_small_cap)
{
	static struct akv_avs1_ans a;
	uint8_t f[FRAME_CAP], re[FRAME_CAP];

	for (size_t i = 0; i < NELEM(ans_goldens); i++) {
		size_t len = load_hex(ans_goldens[i], f, sizeof(f));

		ck_assert_int_eq(akv_avs1_ans_decode(f, len, &a, NULL), 0);
		for (size_t cap = 0; cap < len; cap++) {
			struct akv_guard g = {0};
			uint8_t *buf = (uint8_t *)akv_guard_put(&g, re, cap);

			ck_assert_int_lt(akv_avs1_ans_encode(&a, buf, cap), 0);
			akv_guard_free(&g);
		}
	}
	for (size_t i = 0; i < NELEM(req_goldens); i++) {
		size_t len = load_hex(req_goldens[i], f, sizeof(f));
		struct akv_avs1_req r;

		ck_assert_int_eq(akv_avs1_req_decode(f, len, &r, NULL), 0);
		for (size_t cap = 0; cap < len; cap++) {
			struct akv_guard g = {0};
			uint8_t *buf = (uint8_t *)akv_guard_put(&g, re, cap);

			ck_assert_int_eq(akv_avs1_req_encode(&r, buf, cap), AKV_CRYPTO_ENOSPC);
			akv_guard_free(&g);
		}
	}
}
END_TEST

/* ==== Round trips ==== */

/* Random valid requests of every op: encode, decode, same fields, same bytes. */
START_TEST(t_avs1_random_roundtrip)
{
	static char pool[1400];
	static uint8_t f[8192], re[8192];
	uint64_t seed = 0xa5a51;

	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (char)('!' + akv_test_rand64(&seed) % 90);
	for (size_t i = 0; i < sizeof(pool); i++)
		if (pool[i] == '"' || pool[i] == '\\')
			pool[i] = 'q';
	for (int it = 0; it < 20000; it++) {
		struct akv_avs1_req r = {0}, d;
		uint64_t x = akv_test_rand64(&seed);
		int n;

		r.op = (uint8_t)(1 + x % 6);
		r.id = akv_test_rand64(&seed);
		r.ind = (uint8_t)(x >> 8);
		r.impi = pool + (x >> 16) % 700;
		r.impi_len = 1 + (x >> 24) % 255;
		switch (r.op) {
		case AKV_AVS1_CHALLENGE:
		case AKV_AVS1_RESYNC:
			r.flags = (uint8_t)((x >> 32) % 4 == 2 ? 0 : (x >> 32) % 4);
			if (r.flags)
				r.realm_len = (x >> 34) % 256;
			r.realm = pool + 3;
			/* fall through */
		case AKV_AVS1_VECTORS:
			r.n = (uint8_t)(1 + (x >> 40) % 32);
			r.scheme = (uint8_t)((x >> 45) % 3);
			r.impu = pool + 11;
			r.impu_len = (x >> 48) % 256;
			akv_test_fill(&seed, r.rand, 16);
			if (r.op == AKV_AVS1_RESYNC)
				akv_test_fill(&seed, r.auts, 14);
			else
				memset(r.rand, 0, 16);
			break;
		case AKV_AVS1_VERIFY:
			r.kind = (uint8_t)((x >> 32) & 1);
			if (r.kind == AKV_AVS1_VERIFY_RES) {
				r.res_len = (uint8_t)(4 + (x >> 33) % 13);
				akv_test_fill(&seed, r.rand, 16);
				akv_test_fill(&seed, r.res, r.res_len);
			} else {
				r.alg = (uint8_t)(1 + ((x >> 33) & 1));
				for (int k = 0; k < AKV_DIG_NFIELDS; k++) {
					r.dig[k].p = pool + k * 10;
					r.dig[k].n = akv_test_rand64(&seed) % 114;
				}
				r.dig[AKV_DIG_NONCE].n |= 1;
				r.dig[AKV_DIG_RESPONSE].n |= 1;
			}
			break;
		case AKV_AVS1_PING:
			r.impi_len = 0;
			r.data = (const uint8_t *)pool;
			r.data_len = (x >> 20) % 1300;
			break;
		default:
			r.impi_len = 0;
			break;
		}
		if (r.op == AKV_AVS1_PING || r.op == AKV_AVS1_STATS)
			r.ind = AKV_AVS1_IND_NONE;
		n = akv_avs1_req_encode(&r, f, sizeof(f));
		ck_assert_msg(n > 0, "op %d encode %d", r.op, n);
		ck_assert_int_eq(akv_avs1_frame_len(f, (size_t)n), n);
		ck_assert_int_eq(akv_avs1_req_decode(f, (size_t)n, &d, NULL), 0);
		ck_assert_uint_eq(d.op, r.op);
		ck_assert_uint_eq(d.id, r.id);
		ck_assert_uint_eq(d.flags, r.flags);
		if (r.op <= AKV_AVS1_VECTORS) {
			ck_assert_uint_eq(d.impi_len, r.impi_len);
			ck_assert(!memcmp(d.impi, r.impi, r.impi_len));
		}
		if (r.op != AKV_AVS1_VERIFY && r.op <= AKV_AVS1_VECTORS) {
			ck_assert_uint_eq(d.n, r.n);
			ck_assert_uint_eq(d.ind, r.ind);
			ck_assert_uint_eq(d.impu_len, r.impu_len);
			ck_assert_uint_eq(d.realm_len, r.realm_len);
		}
		if (r.op == AKV_AVS1_RESYNC)
			ck_assert(!memcmp(d.auts, r.auts, 14) && !memcmp(d.rand, r.rand, 16));
		if (r.op == AKV_AVS1_VERIFY && r.kind == AKV_AVS1_VERIFY_DIGEST)
			for (int k = 0; k < AKV_DIG_NFIELDS; k++)
				ck_assert(d.dig[k].n == r.dig[k].n &&
					  !memcmp(d.dig[k].p, r.dig[k].p, r.dig[k].n));
		if (r.op == AKV_AVS1_PING)
			ck_assert(d.data_len == r.data_len && !memcmp(d.data, r.data, r.data_len));
		ck_assert_int_eq(akv_avs1_req_encode(&d, re, sizeof(re)), n);
		ck_assert(!memcmp(re, f, (size_t)n));
	}
}
END_TEST

/* Every op through the server side with the fake engine, and the answer
 * decoded back with the client decoder. */
START_TEST(t_avs1_every_op_through_server)
{
	static struct akv_avs1_ans a;
	uint8_t f[FRAME_CAP], out[AKV_PROTO_OUT_MAX];
	struct akv_avs1_req r;
	void *st = conn_new();
	int action, len;
	size_t ol;

	/* VECTORS n=32: XRES travels only here */
	r = (struct akv_avs1_req){.op = AKV_AVS1_VECTORS,
				  .id = 1,
				  .n = 32,
				  .ind = AKV_AVS1_IND_NONE,
				  .impi = "v@x",
				  .impi_len = 3};
	len = akv_avs1_req_encode(&r, f, sizeof(f));
	ol = serve_frame(st, f, (size_t)len, out, sizeof(out), &action);
	ck_assert_int_eq(akv_avs1_ans_decode(out, ol, &a, NULL), 0);
	ck_assert_uint_eq(a.nvec, 32);
	ck_assert_uint_eq(ol, 16 + 2 + 32 * (64 + 1 + 8));
	ck_assert_mem_eq(a.vec[31].xres, g_res, 8);
	/* CHALLENGE never carries XRES: its answer is 64 bytes per vector */
	r.op = AKV_AVS1_CHALLENGE;
	len = akv_avs1_req_encode(&r, f, sizeof(f));
	ol = serve_frame(st, f, (size_t)len, out, sizeof(out), &action);
	ck_assert_uint_eq(ol, 16 + 2 + 32 * 64);
	ck_assert_ptr_null(memmem(out, ol, g_res, 8));
	/* CHALLENGE with WWW for 32 vectors and a 255-byte realm fits one answer */
	{
		static char realm[255];

		memset(realm, 'r', sizeof(realm));
		r.flags = AKV_AVS1_F_WWW;
		r.realm = realm;
		r.realm_len = 255;
		len = akv_avs1_req_encode(&r, f, sizeof(f));
		ol = serve_frame(st, f, (size_t)len, out, sizeof(out), &action);
		ck_assert_int_eq(akv_avs1_ans_decode(out, ol, &a, NULL), 0);
		ck_assert_uint_eq(a.nvec, 32);
		ck_assert_uint_le(ol, AKV_PROTO_OUT_MAX);
	}
	/* VERIFY wrong RES -> FAIL with attempts left */
	r = (struct akv_avs1_req){.op = AKV_AVS1_VERIFY,
				  .id = 2,
				  .kind = AKV_AVS1_VERIFY_RES,
				  .res_len = 8,
				  .impi = "v@x",
				  .impi_len = 3};
	len = akv_avs1_req_encode(&r, f, sizeof(f));
	ol = serve_frame(st, f, (size_t)len, out, sizeof(out), &action);
	ck_assert_int_eq(akv_avs1_ans_decode(out, ol, &a, NULL), 0);
	ck_assert_uint_eq(a.verdict, AKV_VERDICT_FAIL);
	ck_assert_uint_eq(a.attempts_left, 2);
	ck_assert_uint_eq(a.id, 2);
	/* VERIFY by Digest reaches the engine with the fields copied */
	len = (int)load_hex("verify_digest.req.hex", f, sizeof(f));
	ol = serve_frame(st, f, (size_t)len, out, sizeof(out), &action);
	ck_assert_int_eq(akv_avs1_ans_decode(out, ol, &a, NULL), 0);
	ck_assert_uint_eq(a.verdict, AKV_VERDICT_OK);
	ck_assert_mem_eq(a.ck, g_ck, 16);
	/* STATS: the codec's counters and the installed source */
	len = (int)load_hex("stats.req.hex", f, sizeof(f));
	ol = serve_frame(st, f, (size_t)len, out, sizeof(out), &action);
	ck_assert_int_eq(action, AKV_PROTO_REPLY);
	ck_assert_int_eq(akv_avs1_ans_decode(out, ol, &a, NULL), 0);
	ck_assert_uint_ge(a.nstats, 5);
	free(st);
}
END_TEST

/* IND: the per-peer slot configured on the server wins over the request's
 * hint (TS 33.102 C.3.4); without either the engine cycles (-1). And an
 * engine answer the wire cannot carry becomes an error answer, not a close. */
START_TEST(t_avs1_ind_and_engine_breach)
{
	static struct akv_test_slot m;
	struct akv_avs1_req r = {
	    .op = AKV_AVS1_CHALLENGE, .id = 42, .n = 2, .ind = 7, .impi = "a@b", .impi_len = 3};
	struct akv_proto_conn_info peer = {.ind = 3}, none = {.ind = -1};
	uint64_t st[4];
	uint8_t f[FRAME_CAP], out[AKV_PROTO_OUT_MAX];
	size_t ol;
	int len = akv_avs1_req_encode(&r, f, sizeof(f)), rc;

	ck_assert_uint_le(akv_avs1_ops.conn_state_size, sizeof(st));
	akv_avs1_ops.conn_init(st, &none, NULL, 0, &ol);
	akv_test_slot_init(&m);
	ck_assert_int_eq(akv_avs1_ops.on_msg(st, f, (size_t)len, &m.slot, out, sizeof(out), &ol),
			 AKV_PROTO_DISPATCH);
	ck_assert_int_eq(m.req.ind, 7);
	ck_assert_uint_eq(m.req.n, 2);
	ck_assert_uint_eq(m.req.op, AKV_OP_CHALLENGE);
	ck_assert_str_eq(m.req.impi, "a@b");

	/* the engine claims success but returns no vector */
	m.req.nvec = 0;
	rc = akv_avs1_ops.encode(st, &m.slot, out, sizeof(out));
	ck_assert_int_gt(rc, 0);
	check_error_answer(out, (size_t)rc, AKV_EINVAL, 42);

	akv_avs1_ops.conn_init(st, &peer, NULL, 0, &ol);
	akv_test_slot_init(&m);
	akv_avs1_ops.on_msg(st, f, (size_t)len, &m.slot, out, sizeof(out), &ol);
	ck_assert_int_eq(m.req.ind, 3);

	r.ind = AKV_AVS1_IND_NONE;
	len = akv_avs1_req_encode(&r, f, sizeof(f));
	akv_avs1_ops.conn_init(st, &none, NULL, 0, &ol);
	akv_test_slot_init(&m);
	akv_avs1_ops.on_msg(st, f, (size_t)len, &m.slot, out, sizeof(out), &ol);
	ck_assert_int_eq(m.req.ind, -1);
}
END_TEST

static void
stats_src(void *arg, struct akv_avs1_stats_writer *w)
{
	akv_avs1_stats_put(w, "requests", *(uint64_t *)arg);
	akv_avs1_stats_put(w, "Bad Key", 1); /* dropped: not [a-z0-9_.] */
	akv_avs1_stats_put(w, "conns", 3);
}

START_TEST(t_avs1_stats_source)
{
	static struct akv_avs1_ans a;
	uint8_t f[FRAME_CAP], out[AKV_PROTO_OUT_MAX];
	uint64_t req = 987654321, v;
	size_t len = load_hex("stats.req.hex", f, sizeof(f)), ol, pos = 0, kl;
	void *st = conn_new();
	const char *k;
	int action, seen = 0;

	akv_avs1_set_stats_source(stats_src, &req);
	ol = serve_frame(st, f, len, out, sizeof(out), &action);
	akv_avs1_set_stats_source(NULL, NULL);
	ck_assert_int_eq(akv_avs1_ans_decode(out, ol, &a, NULL), 0);
	ck_assert_uint_eq(a.id, 8);
	while (akv_avs1_stats_next(&a, &pos, &k, &kl, &v)) {
		if (kl == 8 && !memcmp(k, "requests", 8))
			seen |= (v == req) << 0;
		if (kl == 5 && !memcmp(k, "conns", 5))
			seen |= (v == 3) << 1;
		if (kl == 14 && !memcmp(k, "avs1.malformed", 14))
			seen |= 1 << 2;
		ck_assert(memchr(k, ' ', kl) == NULL);
	}
	ck_assert_int_eq(seen, 7);
	free(st);
}
END_TEST

/* 300 counters with keys of key_len bytes: more than one answer holds */
static void
stats_src_many(void *arg, struct akv_avs1_stats_writer *w)
{
	size_t key_len = *(size_t *)arg;
	char key[64];

	for (int i = 0; i < 300; i++) {
		memset(key, 'k', key_len);
		key[0] = (char)('a' + i % 26);
		key[1] = (char)('a' + i / 26);
		key[key_len] = 0;
		akv_avs1_stats_put(w, key, (uint64_t)i);
	}
}

/* Nothing is dropped silently: the answer ends with stats.dropped, and what
 * is in it plus what was dropped is everything that was put. */
START_TEST(t_avs1_stats_dropped_counted)
{
	static struct akv_avs1_ans a;
	static const size_t key_lens[] = {4, 63};
	uint8_t f[FRAME_CAP], out[AKV_PROTO_OUT_MAX];
	size_t len = load_hex("stats.req.hex", f, sizeof(f)), ol, pos = 0, kl;
	size_t key_len = key_lens[_i];
	void *st = conn_new();
	uint64_t v, dropped = 0;
	const char *k;
	unsigned n = 0;
	int action;

	akv_avs1_set_stats_source(stats_src_many, &key_len);
	ol = serve_frame(st, f, len, out, sizeof(out), &action);
	akv_avs1_set_stats_source(NULL, NULL);
	ck_assert_uint_le(ol, sizeof(out));
	ck_assert_int_eq(akv_avs1_ans_decode(out, ol, &a, NULL), 0);
	ck_assert_uint_le(a.nstats, AKV_AVS1_STATS_MAX);
	while (akv_avs1_stats_next(&a, &pos, &k, &kl, &v)) {
		n++;
		if (kl == 13 && !memcmp(k, "stats.dropped", 13)) {
			ck_assert_uint_eq(n, a.nstats); /* the last entry */
			dropped = v;
		}
	}
	ck_assert_uint_eq(n, a.nstats);
	ck_assert_uint_gt(dropped, 0);
	/* 300 from the source + the codec's 5 = kept (without stats.dropped) + dropped */
	ck_assert_uint_eq((n - 1) + dropped, 305);
	free(st);
}
END_TEST

/* ==== Client library over loopback ==== */

/* A one-connection AVS/1 server on 127.0.0.1 for the client tests: answers
 * what each read brings in REVERSE order (so answers come out of order), or
 * with mode 1 answers nothing, or with mode 2 sends garbage. */
struct mini_srv {
	int lfd;
	uint16_t port;
	int mode;
	pthread_t th;
};

static void
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void *
mini_srv_main(void *arg)
{
	struct mini_srv *s = arg;
	static uint8_t in[1 << 20], outs[64][AKV_PROTO_OUT_MAX];
	static size_t out_len[64];
	static struct akv_test_slot slots[64];
	size_t have = 0;
	void *st = conn_new();
	int fd = accept(s->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	/* answers go out one write each: Nagle would hold them for delayed ACKs */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	for (;;) {
		ssize_t r = read(fd, in + have, sizeof(in) - have);
		size_t off = 0, nout = 0;

		if (r <= 0)
			break;
		have += (size_t)r;
		if (s->mode == 1)
			continue;
		if (s->mode == 2) {
			write_all(fd, (const uint8_t *)"\x00\x00\x00\x03garbage", 11);
			continue;
		}
		for (;;) {
			int fl = akv_avs1_ops.frame_len(in + off, have - off);
			int rc;

			if (nout == 64) {
				/* a batch is full: answer it (reversed) and go on */
				while (nout--)
					write_all(fd, outs[nout], out_len[nout]);
				nout = 0;
			}
			if (fl < 0 || (size_t)fl > have - off)
				break;
			akv_test_slot_init(&slots[nout]);
			rc = akv_avs1_ops.on_msg(st, in + off, (size_t)fl, &slots[nout].slot,
						 outs[nout], AKV_PROTO_OUT_MAX, &out_len[nout]);
			if (rc == AKV_PROTO_DISPATCH) {
				fake_engine(&slots[nout].req);
				rc = akv_avs1_ops.encode(st, &slots[nout].slot, outs[nout],
							 AKV_PROTO_OUT_MAX);
				out_len[nout] = rc > 0 ? (size_t)rc : 0;
			}
			nout++;
			off += (size_t)fl;
		}
		while (nout--)
			write_all(fd, outs[nout], out_len[nout]);
		memmove(in, in + off, have - off);
		have -= off;
	}
	close(fd);
	free(st);
	return NULL;
}

static void
mini_srv_start(struct mini_srv *s, int mode)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);

	s->mode = mode;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->lfd, 0);
	ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s->lfd, 4), 0);
	ck_assert_int_eq(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(&s->th, NULL, mini_srv_main, s), 0);
}

static struct akv_client *
mini_connect(const struct mini_srv *s)
{
	struct akv_client *c;
	char hp[64];

	snprintf(hp, sizeof(hp), "127.0.0.1:%u", s->port);
	ck_assert_int_eq(akv_client_connect(&c, hp, 2000), 0);
	return c;
}

START_TEST(t_avs1_client_pipelined_out_of_order)
{
	static struct akv_avs1_ans a;
	struct akv_avs1_req r[40];
	struct mini_srv s;
	struct akv_client *c;

	mini_srv_start(&s, 0);
	c = mini_connect(&s);
	for (int i = 0; i < 40; i++) {
		r[i] = (struct akv_avs1_req){.ind = AKV_AVS1_IND_NONE,
					     .n = 1,
					     .impi = i % 5 == 4 ? "nobody@x" : "alice@x",
					     .impi_len = i % 5 == 4 ? 8 : 7};
		r[i].op = (uint8_t)(i % 5 == 1	 ? AKV_AVS1_VECTORS
				    : i % 5 == 2 ? AKV_AVS1_PING
						 : AKV_AVS1_CHALLENGE);
		if (r[i].op == AKV_AVS1_PING) {
			r[i].data = (const uint8_t *)"ping!";
			r[i].data_len = 5;
		}
		if (r[i].op == AKV_AVS1_VECTORS)
			r[i].n = (uint8_t)(1 + i % 4);
		ck_assert_int_eq(akv_client_send(c, &r[i]), 0);
		ck_assert_uint_eq(r[i].id, (uint64_t)i + 1);
	}
	ck_assert_int_eq(akv_client_flush(c), 0);
	/* ask in request order: the server answered in reverse */
	for (int i = 0; i < 40; i++) {
		ck_assert_int_eq(akv_client_recv(c, r[i].id, &a), 0);
		ck_assert_uint_eq(a.id, r[i].id);
		ck_assert_uint_eq(a.op, r[i].op);
		if (i % 5 == 4) {
			ck_assert_int_eq(a.err, AKV_EUNKNOWN_USER);
			continue;
		}
		ck_assert_uint_eq(a.flags & AKV_AVS1_F_ERROR, 0);
		if (r[i].op == AKV_AVS1_PING)
			ck_assert(a.data_len == 5 && !memcmp(a.data, "ping!", 5));
		else
			ck_assert_uint_eq(a.nvec, r[i].n);
	}
	ck_assert_uint_eq(akv_client_pending(c), 0);
	/* and a plain call */
	r[0] = (struct akv_avs1_req){.op = AKV_AVS1_STATS};
	ck_assert_int_eq(akv_client_call(c, &r[0], &a), 0);
	ck_assert_uint_gt(a.nstats, 0);
	akv_client_free(c);
	pthread_join(s.th, NULL);
	close(s.lfd);
}
END_TEST

/* A pipeline far larger than the socket buffers both ways: flush must read
 * answers while it writes, or client and server block on each other. */
START_TEST(t_avs1_client_big_pipeline)
{
	static struct akv_avs1_ans a;
	static uint8_t payload[300];
	struct akv_avs1_req r = {.op = AKV_AVS1_PING, .data = payload, .data_len = sizeof(payload)};
	struct mini_srv s;
	struct akv_client *c;
	enum { N = 20000 };

	mini_srv_start(&s, 0);
	c = mini_connect(&s);
	for (int i = 0; i < N; i++) {
		payload[0] = (uint8_t)i;
		ck_assert_int_eq(akv_client_send(c, &r), 0);
	}
	ck_assert_int_eq(akv_client_flush(c), 0); /* ~6 MB each way */
	for (uint64_t id = N; id >= 1; id--) {
		ck_assert_int_eq(akv_client_recv(c, id, &a), 0);
		ck_assert_uint_eq(a.id, id);
		ck_assert_uint_eq(a.data_len, sizeof(payload));
		ck_assert_uint_eq(a.data[0], (uint8_t)(id - 1));
	}
	ck_assert_uint_eq(akv_client_pending(c), 0);
	akv_client_free(c);
	pthread_join(s.th, NULL);
	close(s.lfd);
}
END_TEST

START_TEST(t_avs1_client_errors)
{
	static struct akv_avs1_ans a;
	struct akv_avs1_req r = {.op = AKV_AVS1_PING};
	struct akv_client *c = (struct akv_client *)1;
	struct mini_srv s;
	char hp[64];
	int fd;

	/* bad addresses */
	ck_assert_int_eq(akv_client_connect(&c, "::1:7430", 100), AKV_EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(akv_client_connect(&c, "127.0.0.1:", 100), AKV_EINVAL);
	ck_assert_int_eq(akv_client_connect(&c, "127.0.0.1:x", 100), AKV_EINVAL);
	/* nobody listening: take a free port, close it, connect */
	mini_srv_start(&s, 1);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t sl = sizeof(sa);

		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		getsockname(fd, (struct sockaddr *)&sa, &sl);
		snprintf(hp, sizeof(hp), "127.0.0.1:%u", ntohs(sa.sin_port));
		close(fd);
	}
	ck_assert_int_eq(akv_client_connect(&c, hp, 1000), -ECONNREFUSED);
	/* a server that never answers: timeout */
	c = mini_connect(&s);
	akv_client_set_timeout(c, 200);
	ck_assert_int_eq(akv_client_call(c, &r, &a), -ETIMEDOUT);
	/* the encoder's refusal is returned as is */
	r.op = 99;
	ck_assert_int_eq(akv_client_send(c, &r), AKV_EINVAL);
	akv_client_free(c);
	pthread_join(s.th, NULL);
	close(s.lfd);
	/* a server that sends garbage: AKV_EPROTO, sticky */
	mini_srv_start(&s, 2);
	c = mini_connect(&s);
	r.op = AKV_AVS1_PING;
	ck_assert_int_eq(akv_client_call(c, &r, &a), AKV_EPROTO);
	ck_assert_int_eq(akv_client_call(c, &r, &a), AKV_EPROTO);
	akv_client_free(c);
	pthread_join(s.th, NULL);
	close(s.lfd);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("avs1");
	TCase *tc = tcase_create("codec");
	TCase *tn = tcase_create("client");

	tcase_add_test(tc, t_avs1_golden_requests_roundtrip);
	tcase_add_test(tc, t_avs1_golden_answers_roundtrip);
	tcase_add_test(tc, t_avs1_stats_golden_walk);
	tcase_add_test(tc, t_avs1_server_answers_match_goldens);
	tcase_add_test(tc, t_avs1_www_realm_default_and_nokeys);
	tcase_add_test(tc, t_avs1_truncated_every_offset);
	tcase_add_test(tc, t_avs1_frame_len_limits);
	tcase_add_test(tc, t_avs1_header_faults);
	tcase_add_test(tc, t_avs1_body_faults);
	tcase_add_test(tc, t_avs1_identity_bytes_every_position);
	tcase_add_test(tc, t_avs1_answer_writer_equals_codec);
	tcase_add_test(tc, t_avs1_too_big);
	tcase_add_test(tc, t_avs1_mutations);
	tcase_add_test(tc, t_avs1_encode_small_cap);
	tcase_add_test(tc, t_avs1_random_roundtrip);
	tcase_add_test(tc, t_avs1_every_op_through_server);
	tcase_add_test(tc, t_avs1_stats_source);
	tcase_add_loop_test(tc, t_avs1_stats_dropped_counted, 0, 2);
	tcase_add_test(tc, t_avs1_ind_and_engine_breach);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	tcase_add_test(tn, t_avs1_client_pipelined_out_of_order);
	tcase_add_test(tn, t_avs1_client_big_pipeline);
	tcase_add_test(tn, t_avs1_client_errors);
	tcase_set_timeout(tn, 60);
	suite_add_tcase(s, tn);
	return s;
}

int
main(void)
{
	return akv_test_run(suite());
}

/*
 * dia_cx.c - Cx application (TS 29.229, app 16777216, vendor 10415) on top
 * of the Diameter codec: MAR/SAR/UAR/LIR decoded into struct akv_eng_req
 * (+ struct akv_cx_req), and their answers encoded from the engine's
 * results. Procedures per TS 29.228 §6.1-6.3; errors per TS 29.229 §6.2.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "aka/cx.h"
#include "core/err.h"
#include "proto/bytes.h"
#include "proto/dia_peer.h"

#define V3GPP AKV_DIA_VENDOR_3GPP

/* What the encoder needs later, kept in the slot's ctx (proto.h). */
struct cx_ctx {
	uint32_t hbh, e2e, cmd;
	uint8_t flags;
	uint8_t scheme_req;		/* enum akv_scheme asked for */
	uint16_t sid_len;
	uint16_t proxy_len;		/* raw Proxy-Info AVPs to echo */
	char sid[AKV_DIA_SID_MAX];
	uint8_t proxy[AKV_DIA_PROXY_MAX];
};
_Static_assert(sizeof(struct cx_ctx) <= AKV_PROTO_CTX_MAX, "cx ctx exceeds AKV_PROTO_CTX_MAX");

/* TS 29.229 §6.3.9 SIP-Authentication-Scheme values akavs serves. */
static int
scheme_parse(const struct akv_dia_avp *a)
{
	static const struct {
		const char *s;
		int v;
	} tab[] = {
		{ "Digest-AKAv1-MD5", AKV_SCHEME_AKAV1_MD5 },
		{ "Digest-AKAv2-MD5", AKV_SCHEME_AKAV2_MD5 },
		{ "Unknown", AKV_SCHEME_ANY },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strlen(tab[i].s) == a->len && !strncasecmp(tab[i].s, (const char *)a->data, a->len))
			return tab[i].v;
	return -1;
}

static const char *
scheme_name(int s)
{
	return s == AKV_SCHEME_AKAV2_MD5 ? "Digest-AKAv2-MD5" : "Digest-AKAv1-MD5";
}

/* ==== Answers ==== */

static void
ans_begin(struct akv_dia_wr *w, const struct akv_dia_conn *c, const struct cx_ctx *x,
	  uint32_t rc, uint32_t exp, uint8_t *out, size_t cap)
{
	akv_dia_wr_init(w, out, cap);
	akv_dia_wr_hdr(w, x->flags & AKV_DIA_F_PROXY, x->cmd, AKV_DIA_APP_CX, x->hbh, x->e2e);
	akv_dia_put(w, AKV_DIA_AVP_SESSION_ID, 0, x->sid, x->sid_len);
	akv_dia_put_vsai(w, V3GPP, AKV_DIA_APP_CX);
	/* A Cx answer carries exactly one of Result-Code / Experimental-Result. */
	if (exp)
		akv_dia_put_exp_result(w, V3GPP, exp);
	else
		akv_dia_put_u32(w, AKV_DIA_AVP_RESULT_CODE, 0, rc);
	akv_dia_put_u32(w, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);	/* NO_STATE_MAINTAINED */
	akv_dia_put_origin(w, c);
}

static int
ans_end(struct akv_dia_wr *w, const struct cx_ctx *x)
{
	/* RFC 6733 §6.7.2: Proxy-Info AVPs come back unchanged, in order. */
	if (x->proxy_len)
		akv_dia_put_raw(w, x->proxy, x->proxy_len);
	return akv_dia_wr_finish(w);
}

/* Immediate error answer in the command's own format (not the E-bit one). */
static int
reply_now(struct akv_dia_conn *c, const struct cx_ctx *x, uint32_t rc, uint32_t exp,
	  const struct akv_dia_error *err, uint8_t *out, size_t cap, size_t *out_len)
{
	struct akv_dia_wr w;
	int n;

	c->stats.tx_err++;
	ans_begin(&w, c, x, rc, exp, out, cap);
	if (err && err->text)
		akv_dia_put_str(&w, AKV_DIA_AVP_ERROR_MESSAGE, 0, err->text);
	if (err && err->failed_len) {
		akv_dia_group_begin(&w, AKV_DIA_AVP_FAILED_AVP, 0);
		akv_dia_put_raw(&w, err->failed, err->failed_len);
		akv_dia_group_end(&w);
	}
	n = ans_end(&w, x);
	if (n < 0)
		return n;
	*out_len = (size_t)n;
	return AKV_PROTO_REPLY;
}

/* ==== Request decoding ==== */

#define CX_IDX_MAX 32	/* distinct top-level AVP kinds indexed; beyond: walk */

/* The top-level AVPs of a request, indexed in one walk: each (code, vendor)
 * with its first instance and its count. A request asks ~20 presence and
 * lookup questions; re-walking the message for each was most of a MAR's
 * cost on the front end. A walk that stops at a malformed AVP stops the
 * index there too, exactly as akv_dia_find/akv_dia_count would. */
struct cx_idx {
	unsigned n;
	int full;	/* more kinds than CX_IDX_MAX: answer by walking */
	const uint8_t *end;	/* of the area indexed */
	struct {
		uint32_t code, vendor;
		unsigned count;
		const uint8_t *first;	/* header of the first instance */
	} e[CX_IDX_MAX];
};

struct cx_in {
	const uint8_t *body;
	size_t blen;
	struct akv_dia_error err;
	struct cx_idx *idx;
};

static void
idx_build(struct cx_idx *x, const uint8_t *body, size_t blen)
{
	struct akv_dia_it it;
	struct akv_dia_avp a;

	x->n = 0;
	x->full = 0;
	x->end = body + blen;
	akv_dia_it_init(&it, body, blen);
	while (akv_dia_it_next(&it, &a) > 0) {
		/* code and vendor from the header bytes it_next validated, not
		 * from `a` just stored (a load spanning two fresh stores stalls) */
		uint32_t code = akv_get_be32(a.raw);
		uint32_t vendor = (a.raw[4] & AKV_DIA_AVP_F_V) ? akv_get_be32(a.raw + 8) : 0;
		unsigned i = 0;

		while (i < x->n && (x->e[i].code != code || x->e[i].vendor != vendor))
			i++;
		if (i < x->n) {
			x->e[i].count++;
			continue;
		}
		if (x->n == CX_IDX_MAX) {
			x->full = 1;
			return;
		}
		x->e[i].code = code;
		x->e[i].vendor = vendor;
		x->e[i].count = 1;
		x->e[i].first = a.raw;
		x->n++;
	}
}

/* akv_dia_find() over the request's top level, from the index. Not inlined:
 * GCC cannot see that need() made every later lookup succeed. */
static __attribute__((noinline)) int
cx_find(const struct cx_in *in, uint32_t code, uint32_t vendor, struct akv_dia_avp *out)
{
	const struct cx_idx *x = in->idx;

	if (x->full)
		return cx_find(in, code, vendor, out);
	for (unsigned i = 0; i < x->n; i++) {
		if (x->e[i].code == code && x->e[i].vendor == vendor) {
			struct akv_dia_it it;

			/* the same bytes parse to the same AVP the walk saw */
			akv_dia_it_init(&it, x->e[i].first, (size_t)(x->end - x->e[i].first));
			return akv_dia_it_next(&it, out) > 0;
		}
	}
	return 0;
}

/* akv_dia_count() over the request's top level, from the index. */
static unsigned
cx_count(const struct cx_in *in, uint32_t code, uint32_t vendor)
{
	const struct cx_idx *x = in->idx;

	if (x->full)
		return akv_dia_count(in->body, in->blen, code, vendor);
	for (unsigned i = 0; i < x->n; i++)
		if (x->e[i].code == code && x->e[i].vendor == vendor)
			return x->e[i].count;
	return 0;
}

/* akv_dia_find_u32() over the request's top level, from the index. */
static int
cx_find_u32(const struct cx_in *in, uint32_t code, uint32_t vendor, uint32_t *v)
{
	struct akv_dia_avp a;

	if (!cx_find(in, code, vendor, &a))
		return 0;
	return akv_dia_get_u32(&a, v) < 0 ? AKV_EPROTO : 1;
}

/* Checks {required} AVPs (top level, vendor) are present exactly once where
 * the ABNF says so. Returns 0 or -1 with in->err set. */
static int
need(struct cx_in *in, uint32_t code, uint32_t vendor, int once)
{
	unsigned n = cx_count(in, code, vendor);

	if (n == 0) {
		akv_dia_err_missing(&in->err, code, vendor);
		return -1;
	}
	if (once && n > 1) {
		struct akv_dia_avp a;
		struct akv_dia_it it;
		unsigned seen = 0;

		/* §7.5: Failed-AVP holds the first instance beyond the allowed. */
		akv_dia_it_init(&it, in->body, in->blen);
		while (akv_dia_it_next(&it, &a) > 0)
			if (a.code == code && a.vendor == vendor && ++seen == 2)
				break;
		akv_dia_err_avp(&in->err, AKV_DIA_AVP_OCCURS_TOO_MANY, &a, "AVP occurs too many times");
		return -1;
	}
	return 0;
}

static int
bad_value(struct cx_in *in, const struct akv_dia_avp *a, const char *text)
{
	akv_dia_err_avp(&in->err, AKV_DIA_INVALID_AVP_VALUE, a, text);
	return -1;
}

/* Copies an identity into a NUL-terminated buffer. Returns 0, or -1 when it
 * is longer than AKV_ID_MAX (no subscriber can have it). */
static int
copy_id(const struct akv_dia_avp *a, char *dst, uint16_t *dlen)
{
	if (a->len > AKV_ID_MAX)
		return -1;
	memcpy(dst, a->data, a->len);
	dst[a->len] = '\0';
	*dlen = (uint16_t)a->len;
	return 0;
}

/* The header part of every Cx request: Session-Id first, then the
 * {Vendor-Specific-Application-Id}{Auth-Session-State}{Origin-Host}
 * {Origin-Realm}{Destination-Realm} of TS 29.229 §6.1. */
static int
common(struct akv_dia_conn *c, struct cx_in *in, struct cx_ctx *x)
{
	static const uint32_t req[] = {
		AKV_DIA_AVP_VENDOR_SPECIFIC_APPLICATION_ID, AKV_DIA_AVP_AUTH_SESSION_STATE,
		AKV_DIA_AVP_ORIGIN_HOST, AKV_DIA_AVP_ORIGIN_REALM, AKV_DIA_AVP_DESTINATION_REALM,
	};
	struct akv_dia_avp a;
	struct akv_dia_it it;

	if (need(in, AKV_DIA_AVP_SESSION_ID, 0, 1) < 0)
		return -1;
	cx_find(in, AKV_DIA_AVP_SESSION_ID, 0, &a);
	if (a.len == 0 || a.len > AKV_DIA_SID_MAX)
		return bad_value(in, &a, "Session-Id empty or too long");
	memcpy(x->sid, a.data, a.len);
	x->sid_len = (uint16_t)a.len;
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if (need(in, req[i], 0, 1) < 0)
			return -1;
	/* most requests carry no Proxy-Info: skip the walk */
	akv_dia_it_init(&it, in->body, cx_count(in, AKV_DIA_AVP_PROXY_INFO, 0) ? in->blen : 0);
	while (akv_dia_it_next(&it, &a) > 0) {
		if (a.code != AKV_DIA_AVP_PROXY_INFO || a.vendor)
			continue;
		if (x->proxy_len + ((a.raw_len + 3) & ~3u) > sizeof(x->proxy)) {
			in->err.result_code = AKV_DIA_UNABLE_TO_COMPLY;
			in->err.text = "too much Proxy-Info";
			in->err.failed_len = 0;
			return -1;
		}
		memcpy(x->proxy + x->proxy_len, a.raw, a.raw_len);
		memset(x->proxy + x->proxy_len + a.raw_len, 0, ((a.raw_len + 3) & ~3u) - a.raw_len);
		x->proxy_len = (uint16_t)(x->proxy_len + ((a.raw_len + 3) & ~3u));
	}
	(void)c;
	return 0;
}

/* MAR (TS 29.229 §6.1.7; TS 29.228 §6.3.1). */
static int
parse_mar(struct akv_dia_conn *c, struct cx_in *in, struct akv_proto_slot *slot,
	  struct cx_ctx *x, uint32_t *exp)
{
	struct akv_eng_req *r = slot->req;
	struct akv_dia_avp un, pi, item, num, a;
	uint32_t n;
	int s;

	if (need(in, AKV_DIA_AVP_USER_NAME, 0, 1) < 0 ||
	    need(in, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, 1) < 0 ||
	    need(in, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP, 1) < 0 ||
	    need(in, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP, 1) < 0 ||
	    need(in, AKV_DIA_AVP_SERVER_NAME, V3GPP, 1) < 0)
		return -1;
	cx_find(in, AKV_DIA_AVP_USER_NAME, 0, &un);
	cx_find(in, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, &pi);
	cx_find(in, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP, &item);
	cx_find(in, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP, &num);
	akv_dia_get_u32(&num, &n);
	if (un.len == 0)
		return bad_value(in, &un, "empty User-Name");
	if (pi.len == 0)
		return bad_value(in, &pi, "empty Public-Identity");
	if (n == 0)
		return bad_value(in, &num, "SIP-Number-Auth-Items is 0");
	/* Scheme: absent or "Unknown" lets the HSS choose (TS 29.228 §6.3.1). */
	s = AKV_SCHEME_ANY;
	if (akv_dia_find(item.data, item.len, AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME, V3GPP, &a)) {
		s = scheme_parse(&a);
		if (s < 0) {
			*exp = AKV_CX_EXP_AUTH_SCHEME_NOT_SUPPORTED;
			return 1;
		}
	}
	x->scheme_req = (uint8_t)s;
	if (copy_id(&un, r->impi, &r->impi_len) < 0 || copy_id(&pi, r->impu, &r->impu_len) < 0) {
		*exp = AKV_CX_EXP_USER_UNKNOWN;
		return 1;
	}
	r->scheme = (uint8_t)s;
	r->ind = (int16_t)c->ind;
	r->n = (uint16_t)(n > c->max_vectors ? c->max_vectors : n);
	r->op = AKV_OP_VECTORS;
	/* Resync: SIP-Authorization = RAND || AUTS (TS 29.229 §6.3.12). */
	if (akv_dia_find(item.data, item.len, AKV_DIA_AVP_SIP_AUTHORIZATION, V3GPP, &a)) {
		if (a.len != 30)
			return bad_value(in, &a, "SIP-Authorization must be RAND||AUTS (30 bytes)");
		memcpy(r->rand, a.data, 16);
		memcpy(r->auts, a.data + 16, 14);
		r->op = AKV_OP_RESYNC;
		r->resync_vectors = 1;
	}
	return 0;
}

static int
get_enum(struct cx_in *in, uint32_t code, uint32_t dflt, int required, uint32_t *v)
{
	int got = cx_find_u32(in, code, V3GPP, v);

	if (got == 1)
		return 0;
	if (required) {
		akv_dia_err_missing(&in->err, code, V3GPP);
		return -1;
	}
	*v = dflt;
	return 0;
}

/* SAR (TS 29.229 §6.1.3; TS 29.228 §6.1.2). */
static int
parse_sar(struct cx_in *in, struct akv_proto_slot *slot, uint32_t *exp)
{
	struct akv_eng_req *r = slot->req;
	struct akv_cx_req *cx = slot->cx;
	struct akv_dia_avp un, pi, sn;
	uint32_t sat, udaa;
	int has_un, has_pi;

	if (need(in, AKV_DIA_AVP_SERVER_NAME, V3GPP, 1) < 0 ||
	    get_enum(in, AKV_DIA_AVP_SERVER_ASSIGNMENT_TYPE, 0, 1, &sat) < 0 ||
	    get_enum(in, AKV_DIA_AVP_USER_DATA_ALREADY_AVAILABLE, 0, 1, &udaa) < 0)
		return -1;
	has_un = cx_find(in, AKV_DIA_AVP_USER_NAME, 0, &un);
	has_pi = cx_find(in, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, &pi);
	if (!has_un && !has_pi) {
		akv_dia_err_missing(&in->err, AKV_DIA_AVP_USER_NAME, 0);
		return -1;
	}
	cx_find(in, AKV_DIA_AVP_SERVER_NAME, V3GPP, &sn);
	if (sn.len > AKV_CX_NAME_MAX)
		return bad_value(in, &sn, "Server-Name too long");
	if (udaa > 1) {
		cx_find(in, AKV_DIA_AVP_USER_DATA_ALREADY_AVAILABLE, V3GPP, &un);
		return bad_value(in, &un, "User-Data-Already-Available out of range");
	}
	if ((has_un && copy_id(&un, r->impi, &r->impi_len) < 0) ||
	    (has_pi && copy_id(&pi, r->impu, &r->impu_len) < 0)) {
		*exp = AKV_CX_EXP_USER_UNKNOWN;
		return 1;
	}
	memcpy(cx->server_name, sn.data, sn.len);
	cx->server_name[sn.len] = '\0';
	cx->server_name_len = (uint16_t)sn.len;
	cx->sat = sat > 255 ? 255 : (uint8_t)sat;
	cx->user_data_available = (uint8_t)udaa;
	r->op = AKV_OP_SAR;
	return 0;
}

/* UAR (TS 29.229 §6.1.1) and LIR (§6.1.5). */
static int
parse_uar_lir(struct cx_in *in, struct akv_proto_slot *slot, int lir, uint32_t *exp)
{
	struct akv_eng_req *r = slot->req;
	struct akv_dia_avp un, pi;
	uint32_t uat = 0;

	if ((!lir && need(in, AKV_DIA_AVP_USER_NAME, 0, 1) < 0) ||
	    need(in, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, 1) < 0)
		return -1;
	if (!lir && get_enum(in, AKV_DIA_AVP_USER_AUTHORIZATION_TYPE, 0, 0, &uat) < 0)
		return -1;
	cx_find(in, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, &pi);
	if (copy_id(&pi, r->impu, &r->impu_len) < 0) {
		*exp = AKV_CX_EXP_USER_UNKNOWN;
		return 1;
	}
	if (!lir) {
		cx_find(in, AKV_DIA_AVP_USER_NAME, 0, &un);
		if (copy_id(&un, r->impi, &r->impi_len) < 0) {
			*exp = AKV_CX_EXP_USER_UNKNOWN;
			return 1;
		}
	}
	slot->cx->uat = uat > 255 ? 255 : (uint8_t)uat;
	r->op = lir ? AKV_OP_LIR : AKV_OP_UAR;
	return 0;
}

/* see dia_peer.h */
int
akv_dia_cx_request(struct akv_dia_conn *c, const struct akv_dia_hdr *h, const uint8_t *msg,
		   size_t len, struct akv_proto_slot *slot, uint8_t *out, size_t cap,
		   size_t *out_len)
{
	struct cx_ctx *x = (struct cx_ctx *)slot->ctx;
	struct cx_idx idx;
	struct cx_in in;
	struct akv_dia_avp dh;
	uint32_t exp = 0;
	int rc;

	/* no error yet; err.failed is written before failed_len says so */
	in.body = msg + AKV_DIA_HDR_LEN;
	in.blen = len - AKV_DIA_HDR_LEN;
	in.idx = &idx;
	in.err.result_code = 0;
	in.err.text = NULL;
	in.err.failed_len = 0;
	/* the fixed part; sid and proxy are read only up to their lengths */
	memset(x, 0, offsetof(struct cx_ctx, sid));
	x->hbh = h->hbh;
	x->e2e = h->e2e;
	x->cmd = h->cmd;
	x->flags = h->flags;
	if (h->cmd < AKV_DIA_CMD_UA || h->cmd > AKV_DIA_CMD_MA) {
		in.err.result_code = AKV_DIA_COMMAND_UNSUPPORTED;
		in.err.text = "Cx command not served by an HSS";
		goto proto_error;
	}
	/* RFC 6733 §6.1: a Destination-Host that is not us cannot be served. */
	idx_build(&idx, in.body, in.blen);
	if (cx_find(&in, AKV_DIA_AVP_DESTINATION_HOST, 0, &dh) &&
	    (dh.len != strlen(c->origin_host) ||
	     strncasecmp((const char *)dh.data, c->origin_host, dh.len))) {
		in.err.result_code = AKV_DIA_UNABLE_TO_DELIVER;
		in.err.text = "Destination-Host is not this server";
		goto proto_error;
	}
	if (common(c, &in, x) < 0)
		goto cmd_error;
	if (h->cmd != AKV_DIA_CMD_MA) {
		/* SAR/UAR/LIR state; a MAR runs as VECTORS/RESYNC without it, and
		 * zeroing its 2.5 KiB for every MAR was a visible cost */
		slot->req->cx = slot->cx;
		memset(slot->cx, 0, sizeof(*slot->cx));
	}
	switch (h->cmd) {
	case AKV_DIA_CMD_MA:
		rc = parse_mar(c, &in, slot, x, &exp);
		break;
	case AKV_DIA_CMD_SA:
		rc = parse_sar(&in, slot, &exp);
		break;
	case AKV_DIA_CMD_UA:
		rc = parse_uar_lir(&in, slot, 0, &exp);
		break;
	default:
		rc = parse_uar_lir(&in, slot, 1, &exp);
		break;
	}
	if (h->cmd != AKV_DIA_CMD_MA && h->cmd != AKV_DIA_CMD_SA)
		slot->req->ind = (int16_t)c->ind;
	if (rc < 0)
		goto cmd_error;
	if (rc > 0)
		return reply_now(c, x, 0, exp, NULL, out, cap, out_len);
	return AKV_PROTO_DISPATCH;
cmd_error:
	/* 3xxx codes set by common() (none today) would need the E bit. */
	if (in.err.result_code >= 3000 && in.err.result_code < 4000)
		goto proto_error;
	return reply_now(c, x, in.err.result_code, 0, &in.err, out, cap, out_len);
proto_error: {
	int n = akv_dia_answer_error(c, h, msg, len, &in.err, out, cap);

	if (n < 0)
		return n;
	*out_len = (size_t)n;
	return AKV_PROTO_REPLY;
}
}

/* ==== Answer encoding ==== */

/* Engine error -> Cx answer (TS 29.229 §6.2, REFERENCE §4.4). */
static void
map_err(int err, uint32_t *rc, uint32_t *exp)
{
	*rc = 0;
	*exp = 0;
	switch (err) {
	case AKV_EUNKNOWN_USER:
		*exp = AKV_CX_EXP_USER_UNKNOWN;
		break;
	case AKV_EIMPU_MISMATCH:
		*exp = AKV_CX_EXP_IDENTITIES_DONT_MATCH;
		break;
	case AKV_ESCHEME:
		*exp = AKV_CX_EXP_AUTH_SCHEME_NOT_SUPPORTED;
		break;
	default:
		/* Bad MAC-S (AKV_EAUTS_MAC), SQN exhausted, store trouble:
		 * the HSS cannot serve the request. */
		*rc = AKV_DIA_UNABLE_TO_COMPLY;
		break;
	}
}

static void
put_identities(struct akv_dia_wr *w, const struct akv_eng_req *r)
{
	if (r->impi_len)
		akv_dia_put(w, AKV_DIA_AVP_USER_NAME, 0, r->impi, r->impi_len);
	if (r->impu_len)
		akv_dia_put(w, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, r->impu, r->impu_len);
}

static int
encode_maa(struct akv_dia_conn *c, const struct cx_ctx *x, const struct akv_eng_req *r,
	   uint8_t *out, size_t cap)
{
	struct akv_dia_wr w;
	uint32_t rc = AKV_DIA_SUCCESS, exp = 0;
	int scheme = r->scheme_used ? r->scheme_used : x->scheme_req;

	if (r->err)
		map_err(r->err, &rc, &exp);
	ans_begin(&w, c, x, rc, exp, out, cap);
	put_identities(&w, r);
	if (!r->err) {
		/* TS 29.229 §6.1.8: the count of items actually returned. */
		akv_dia_put_u32(&w, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP, r->nvec);
		for (unsigned i = 0; i < r->nvec; i++) {
			const struct akv_eng_vec *v = &r->vec[i];
			uint8_t ra[32];

			memcpy(ra, v->rand, 16);
			memcpy(ra + 16, v->autn, 16);
			akv_dia_group_begin(&w, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP);
			akv_dia_put_u32(&w, AKV_DIA_AVP_SIP_ITEM_NUMBER, V3GPP, i + 1);
			akv_dia_put_str(&w, AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME, V3GPP,
					scheme_name(scheme));
			akv_dia_put(&w, AKV_DIA_AVP_SIP_AUTHENTICATE, V3GPP, ra, 32);
			/* HSS-style: the S-CSCF verifies, so XRES travels. */
			akv_dia_put(&w, AKV_DIA_AVP_SIP_AUTHORIZATION, V3GPP, v->xres, v->xres_len);
			akv_dia_put(&w, AKV_DIA_AVP_CONFIDENTIALITY_KEY, V3GPP, v->ck, 16);
			akv_dia_put(&w, AKV_DIA_AVP_INTEGRITY_KEY, V3GPP, v->ik, 16);
			akv_dia_group_end(&w);
		}
	}
	return ans_end(&w, x);
}

static int
encode_saa(struct akv_dia_conn *c, const struct cx_ctx *x, const struct akv_eng_req *r,
	   const struct akv_cx_req *cx, uint8_t *out, size_t cap)
{
	struct akv_dia_wr w;
	uint32_t rc = cx->result_code, exp = cx->exp_code;
	char xml[AKV_PROTO_OUT_MAX / 2];
	int n = 0;

	if (r->err)
		map_err(r->err, &rc, &exp);
	if (!r->err && !exp && cx->want_user_data) {
		n = akv_cx_user_data(c->tmpl_len ? c->tmpl : NULL, r->impi, r->impi_len,
				     cx->impus, cx->nimpus, xml, sizeof(xml));
		if (n < 0) {
			/* TS 29.229 §6.2.2.7 DIAMETER_ERROR_TOO_MUCH_DATA. */
			rc = 0;
			exp = AKV_CX_EXP_TOO_MUCH_DATA;
		}
	}
	ans_begin(&w, c, x, rc, exp, out, cap);
	if (r->impi_len)
		akv_dia_put(&w, AKV_DIA_AVP_USER_NAME, 0, r->impi, r->impi_len);
	if (n > 0 && !exp)
		akv_dia_put(&w, AKV_DIA_AVP_USER_DATA, V3GPP, xml, (size_t)n);
	return ans_end(&w, x);
}

static int
encode_uaa_lia(struct akv_dia_conn *c, const struct cx_ctx *x, const struct akv_eng_req *r,
	       const struct akv_cx_req *cx, uint8_t *out, size_t cap)
{
	struct akv_dia_wr w;
	uint32_t rc = cx->result_code, exp = cx->exp_code;

	if (r->err)
		map_err(r->err, &rc, &exp);
	ans_begin(&w, c, x, rc, exp, out, cap);
	if (!r->err && cx->assigned_len) {
		akv_dia_put(&w, AKV_DIA_AVP_SERVER_NAME, V3GPP, cx->assigned, cx->assigned_len);
	} else if (!r->err && (exp == AKV_CX_EXP_FIRST_REGISTRATION ||
			       exp == AKV_CX_EXP_UNREGISTERED_SERVICE)) {
		/* No S-CSCF yet: empty Server-Capabilities, the I-CSCF picks
		 * from its own list (TS 29.228 §6.2.1.1). */
		akv_dia_group_begin(&w, AKV_DIA_AVP_SERVER_CAPABILITIES, V3GPP);
		akv_dia_group_end(&w);
	}
	return ans_end(&w, x);
}

/* see dia_peer.h */
int
akv_dia_cx_encode(struct akv_dia_conn *c, const struct akv_proto_slot *slot, uint8_t *out,
		  size_t cap)
{
	const struct cx_ctx *x = (const struct cx_ctx *)slot->ctx;
	const struct akv_eng_req *r = slot->req;

	switch (x->cmd) {
	case AKV_DIA_CMD_MA:
		return encode_maa(c, x, r, out, cap);
	case AKV_DIA_CMD_SA:
		return encode_saa(c, x, r, slot->cx, out, cap);
	case AKV_DIA_CMD_UA:
	case AKV_DIA_CMD_LI:
		return encode_uaa_lia(c, x, r, slot->cx, out, cap);
	default:
		return AKV_EINVAL;
	}
}

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
#include "aka/cx_pending.h"
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

/* 16 bytes at p equal the 16 characters of lit. */
static inline int
eq16(const uint8_t *p, const char *lit)
{
	uint64_t a, b, c, d;

	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	memcpy(&c, lit, 8);
	memcpy(&d, lit + 8, 8);
	return !((a ^ c) | (b ^ d));
}

/* TS 29.229 §6.3.9 SIP-Authentication-Scheme values akavs serves. */
static int
scheme_parse(const struct akv_dia_avp *a)
{
	static const struct {
		const char *s;
		uint32_t n;
		int v;
	} tab[] = {
		{ "Digest-AKAv1-MD5", 16, AKV_SCHEME_AKAV1_MD5 },
		{ "Digest-AKAv2-MD5", 16, AKV_SCHEME_AKAV2_MD5 },
		{ "Unknown", 7, AKV_SCHEME_ANY },
	};

	/* peers send the canonical spelling: two word compares each (GCC
	 * calls memcmp even for 16 bytes) */
	if (a->len == 16 && eq16(a->data, "Digest-AKAv1-MD5"))
		return AKV_SCHEME_AKAV1_MD5;
	if (a->len == 16 && eq16(a->data, "Digest-AKAv2-MD5"))
		return AKV_SCHEME_AKAV2_MD5;
	/* case-insensitive; the canonical spelling tried first */
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].n == a->len && (!memcmp(tab[i].s, a->data, a->len) ||
					   !strncasecmp(tab[i].s, (const char *)a->data, a->len)))
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

	akv_dia_totals.tx_err++;
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

/* The request, checked and indexed in one pass by akv_dia_check_idx(): the
 * ~20 presence and lookup questions a request asks are loads from the index
 * (first instance and count per dictionary row) instead of walks. */
struct cx_in {
	const uint8_t *body;
	size_t blen;
	const struct akv_dia_idx *idx;
	struct akv_dia_error err;
};

/* akv_dia_find() over the request's top level. */
static inline int
cx_find(const struct cx_in *in, enum akv_dia_row r, struct akv_dia_avp *out)
{
	return akv_dia_idx_find(in->idx, r, out);
}

/* The first instance of an AVP need() has found. */
static inline void
cx_get(const struct cx_in *in, enum akv_dia_row r, struct akv_dia_avp *out)
{
	akv_dia_idx_get(in->idx, r, out);
}

/* akv_dia_count() over the request's top level (saturating at 255). */
static inline unsigned
cx_count(const struct cx_in *in, enum akv_dia_row r)
{
	return akv_dia_idx_count(in->idx, r);
}

/* 5005 naming the AVP of row r (RFC 6733 §7.5). */
static __attribute__((cold, noinline)) int
missing(struct cx_in *in, enum akv_dia_row r)
{
	const struct akv_dia_avp_def *d = akv_dia_avp_at(r);

	akv_dia_err_missing(&in->err, d->code, d->vendor);
	return -1;
}

/* 5009 with the first instance beyond the allowed one as Failed-AVP (§7.5):
 * the next one after the first, which the index locates. */
static __attribute__((cold, noinline)) int
too_many(struct cx_in *in, enum akv_dia_row r)
{
	const struct akv_dia_avp_def *d = akv_dia_avp_at(r);
	const uint8_t *first = in->idx->msg + in->idx->first[r], *after;
	struct akv_dia_avp second;

	/* past the first one, with its padding */
	after = first + akv_dia_avp_read(first, (size_t)(in->body + in->blen - first), &second);
	akv_dia_find(after, (size_t)(in->body + in->blen - after), d->code, d->vendor, &second);
	akv_dia_err_avp(&in->err, AKV_DIA_AVP_OCCURS_TOO_MANY, &second,
			"AVP occurs too many times");
	return -1;
}

/* Checks a {required} AVP (top level) is present, and exactly once where
 * the ABNF says so. Returns 0 or -1 with in->err set. */
static inline int
need(struct cx_in *in, enum akv_dia_row r, int once)
{
	unsigned n = cx_count(in, r);

	if (n == 0)
		return missing(in, r);
	if (once && n > 1)
		return too_many(in, r);
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
static inline int
copy_id(const uint8_t *data, uint32_t len, char *dst, uint16_t *dlen)
{
	if (len > AKV_ID_MAX)
		return -1;
	akv_copy_short(dst, data, len);
	dst[len] = '\0';
	*dlen = (uint16_t)len;
	return 0;
}

/* RFC 6733 §6.7.2: Proxy-Info AVPs come back unchanged, in order. */
static __attribute__((noinline)) int
keep_proxy_info(struct cx_in *in, struct cx_ctx *x)
{
	struct akv_dia_avp a;
	struct akv_dia_it it;
	const uint8_t *first = in->idx->msg + in->idx->first[AKV_DIA_ROW_PROXY_INFO];

	/* from the first one on: nothing before it is a Proxy-Info */
	akv_dia_it_init(&it, first, (size_t)(in->body + in->blen - first));
	while (akv_dia_it_next(&it, &a) > 0) {
		size_t padded = ((size_t)a.raw_len + 3) & ~(size_t)3;

		if (a.code != AKV_DIA_AVP_PROXY_INFO || a.vendor)
			continue;
		if (x->proxy_len + padded > sizeof(x->proxy)) {
			in->err.result_code = AKV_DIA_UNABLE_TO_COMPLY;
			in->err.text = "too much Proxy-Info";
			in->err.failed_len = 0;
			return -1;
		}
		memcpy(x->proxy + x->proxy_len, a.raw, a.raw_len);
		memset(x->proxy + x->proxy_len + a.raw_len, 0, padded - a.raw_len);
		x->proxy_len = (uint16_t)(x->proxy_len + padded);
	}
	return 0;
}

/* The header part of every Cx request: Session-Id first, then the
 * {Vendor-Specific-Application-Id}{Auth-Session-State}{Origin-Host}
 * {Origin-Realm}{Destination-Realm} of TS 29.229 §6.1. */
static int
common(struct cx_in *in, struct cx_ctx *x)
{
	struct akv_dia_avp a;

	if (need(in, AKV_DIA_ROW_SESSION_ID, 1) < 0)
		return -1;
	cx_get(in, AKV_DIA_ROW_SESSION_ID, &a);
	if (a.len == 0 || a.len > AKV_DIA_SID_MAX)
		return bad_value(in, &a, "Session-Id empty or too long");
	akv_copy_short(x->sid, a.data, a.len);
	x->sid_len = (uint16_t)a.len;
	if (need(in, AKV_DIA_ROW_VENDOR_SPECIFIC_APPLICATION_ID, 1) < 0 ||
	    need(in, AKV_DIA_ROW_AUTH_SESSION_STATE, 1) < 0 ||
	    need(in, AKV_DIA_ROW_ORIGIN_HOST, 1) < 0 || need(in, AKV_DIA_ROW_ORIGIN_REALM, 1) < 0 ||
	    need(in, AKV_DIA_ROW_DESTINATION_REALM, 1) < 0)
		return -1;
	/* most requests carry no Proxy-Info */
	if (cx_count(in, AKV_DIA_ROW_PROXY_INFO))
		return keep_proxy_info(in, x);
	return 0;
}

/* MAR (TS 29.229 §6.1.7; TS 29.228 §6.3.1). */
static int
parse_mar(struct akv_dia_conn *c, struct cx_in *in, struct akv_proto_slot *slot,
	  struct cx_ctx *x, uint32_t *exp)
{
	struct akv_eng_req *r = slot->req;
	/* zeroed: GCC cannot see that has_scheme/has_auth guard their use */
	struct akv_dia_avp un, pi, item, num, sn, a, scheme = { 0 }, auth = { 0 };
	int has_scheme = 0, has_auth = 0;
	uint32_t n;
	int s;

	if (need(in, AKV_DIA_ROW_USER_NAME, 1) < 0 ||
	    need(in, AKV_DIA_ROW_PUBLIC_IDENTITY, 1) < 0 ||
	    need(in, AKV_DIA_ROW_SIP_AUTH_DATA_ITEM, 1) < 0 ||
	    need(in, AKV_DIA_ROW_SIP_NUMBER_AUTH_ITEMS, 1) < 0 ||
	    need(in, AKV_DIA_ROW_SERVER_NAME, 1) < 0)
		return -1;
	cx_get(in, AKV_DIA_ROW_USER_NAME, &un);
	cx_get(in, AKV_DIA_ROW_PUBLIC_IDENTITY, &pi);
	cx_get(in, AKV_DIA_ROW_SIP_AUTH_DATA_ITEM, &item);
	cx_get(in, AKV_DIA_ROW_SIP_NUMBER_AUTH_ITEMS, &num);
	n = akv_get_be32(num.data);	/* Unsigned32: the check held it to 4 bytes */
	if (un.len == 0)
		return bad_value(in, &un, "empty User-Name");
	if (pi.len == 0)
		return bad_value(in, &pi, "empty Public-Identity");
	if (n == 0)
		return bad_value(in, &num, "SIP-Number-Auth-Items is 0");
	/* The item's members in one walk (validated with the message), the
	 * first instance of each as akv_dia_find() would give. */
	{
		const uint8_t *p = item.data;
		size_t left = item.len, used;

		/* akv_dia_it_next's walk, inlined */
		for (; left && (used = akv_dia_avp_read(p, left, &a)) > 0; p += used, left -= used) {
			if (a.vendor != V3GPP)
				continue;
			if (a.code == AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME && !has_scheme) {
				scheme = a;
				has_scheme = 1;
			} else if (a.code == AKV_DIA_AVP_SIP_AUTHORIZATION && !has_auth) {
				auth = a;
				has_auth = 1;
			}
		}
	}
	/* Scheme: absent or "Unknown" lets the HSS choose (TS 29.228 §6.3.1). */
	s = AKV_SCHEME_ANY;
	if (has_scheme) {
		s = scheme_parse(&scheme);
		if (s < 0) {
			*exp = AKV_CX_EXP_AUTH_SCHEME_NOT_SUPPORTED;
			return 1;
		}
	}
	x->scheme_req = (uint8_t)s;
	if (copy_id(un.data, un.len, r->impi, &r->impi_len) < 0 ||
	    copy_id(pi.data, pi.len, r->impu, &r->impu_len) < 0) {
		*exp = AKV_CX_EXP_USER_UNKNOWN;
		return 1;
	}
	r->scheme = (uint8_t)s;
	r->ind = (int16_t)c->ind;
	r->n = (uint16_t)(n > c->max_vectors ? c->max_vectors : n);
	r->op = AKV_OP_VECTORS;
	/* Resync: SIP-Authorization = RAND || AUTS (TS 29.229 §6.3.12). */
	if (has_auth) {
		if (auth.len != 30)
			return bad_value(in, &auth,
					 "SIP-Authorization must be RAND||AUTS (30 bytes)");
		memcpy(r->rand, auth.data, 16);
		memcpy(r->auts, auth.data + 16, 14);
		r->op = AKV_OP_RESYNC;
		r->resync_vectors = 1;
	}
	/* The S-CSCF asking (TS 29.228 §6.3.1), for the I-CSCF's next UAR
	 * (cx_pending.h); a name no SAR could store is not noted. A resync
	 * does not move the user (§8.1): the S-CSCF that sent the challenge
	 * noted itself then. */
	if (c->pending && !has_auth) {
		cx_get(in, AKV_DIA_ROW_SERVER_NAME, &sn);
		r->cx_mar = (uint8_t)akv_cx_pending_intern(c->pending, (const char *)sn.data,
							   sn.len);
	}
	return 0;
}

static int
get_enum(struct cx_in *in, enum akv_dia_row r, uint32_t dflt, int required, uint32_t *v)
{
	int got = akv_dia_idx_find_u32(in->idx, r, v);

	if (got == 1)
		return 0;
	if (required)
		return missing(in, r);
	*v = dflt;
	return 0;
}

/* SAR (TS 29.229 §6.1.3; TS 29.228 §6.1.2). */
static int
parse_sar(struct cx_in *in, struct akv_proto_slot *slot, uint32_t *exp)
{
	struct akv_eng_req *r = slot->req;
	struct akv_cx_req *cx = slot->cx;
	/* zeroed: GCC cannot see that has_un/has_pi guard their use */
	struct akv_dia_avp un = { 0 }, pi = { 0 }, sn;
	uint32_t sat, udaa;
	int has_un, has_pi;

	if (need(in, AKV_DIA_ROW_SERVER_NAME, 1) < 0 ||
	    get_enum(in, AKV_DIA_ROW_SERVER_ASSIGNMENT_TYPE, 0, 1, &sat) < 0 ||
	    get_enum(in, AKV_DIA_ROW_USER_DATA_ALREADY_AVAILABLE, 0, 1, &udaa) < 0)
		return -1;
	has_un = cx_find(in, AKV_DIA_ROW_USER_NAME, &un);
	has_pi = cx_find(in, AKV_DIA_ROW_PUBLIC_IDENTITY, &pi);
	if (!has_un && !has_pi) {
		akv_dia_err_missing(&in->err, AKV_DIA_AVP_USER_NAME, 0);
		return -1;
	}
	cx_get(in, AKV_DIA_ROW_SERVER_NAME, &sn);
	if (sn.len > AKV_CX_NAME_MAX)
		return bad_value(in, &sn, "Server-Name too long");
	if (udaa > 1) {
		cx_get(in, AKV_DIA_ROW_USER_DATA_ALREADY_AVAILABLE, &un);
		return bad_value(in, &un, "User-Data-Already-Available out of range");
	}
	if ((has_un && copy_id(un.data, un.len, r->impi, &r->impi_len) < 0) ||
	    (has_pi && copy_id(pi.data, pi.len, r->impu, &r->impu_len) < 0)) {
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

	if ((!lir && need(in, AKV_DIA_ROW_USER_NAME, 1) < 0) ||
	    need(in, AKV_DIA_ROW_PUBLIC_IDENTITY, 1) < 0)
		return -1;
	if (!lir && get_enum(in, AKV_DIA_ROW_USER_AUTHORIZATION_TYPE, 0, 0, &uat) < 0)
		return -1;
	cx_get(in, AKV_DIA_ROW_PUBLIC_IDENTITY, &pi);
	if (copy_id(pi.data, pi.len, r->impu, &r->impu_len) < 0) {
		*exp = AKV_CX_EXP_USER_UNKNOWN;
		return 1;
	}
	if (!lir) {
		cx_get(in, AKV_DIA_ROW_USER_NAME, &un);
		if (copy_id(un.data, un.len, r->impi, &r->impi_len) < 0) {
			*exp = AKV_CX_EXP_USER_UNKNOWN;
			return 1;
		}
	}
	slot->cx->uat = uat > 255 ? 255 : (uint8_t)uat;
	r->op = lir ? AKV_OP_LIR : AKV_OP_UAR;
	return 0;
}

/* ==== A peer's repeated MARs ==== */

/* What varies from one MAR of a peer to the next; the Cx decoder only
 * copies these values (and bounds their lengths), so every other verdict it
 * reached on a MAR holds for each MAR of the same shape. */
static const uint8_t mar_holes[AKV_DIA_IDX_SLOTS] = {
	[AKV_DIA_ROW_SESSION_ID] = 1,
	[AKV_DIA_ROW_USER_NAME] = 1,
	[AKV_DIA_ROW_PUBLIC_IDENTITY] = 1,
};

/* Learns c's MAR plan from a MAR parse_mar() has just dispatched (checked
 * clean, one instance of each hole's AVP, op VECTORS, no Proxy-Info). */
static __attribute__((noinline)) void
mar_learn(struct akv_dia_conn *c, const uint8_t *msg, size_t len, uint8_t scheme, uint16_t n,
	  uint8_t server_name)
{
	struct akv_dia_mar_plan *m = &c->mar;
	unsigned seen = 0;

	/* a peer whose MARs do not fit a plan: a walk per MAR to find that
	 * out again would cost more than the plan saves */
	if (m->wait) {
		m->wait--;
		return;
	}
	if (akv_dia_tpl_learn(&m->tpl, msg, len, mar_holes) < 0) {
		m->wait = 64;
		return;
	}
	for (unsigned i = 0; i < m->tpl.nhole; i++) {
		switch (m->tpl.hole_row[i]) {
		case AKV_DIA_ROW_SESSION_ID:
			m->sid = (uint8_t)i;
			seen |= 1;
			break;
		case AKV_DIA_ROW_USER_NAME:
			m->impi = (uint8_t)i;
			seen |= 2;
			break;
		default:
			m->impu = (uint8_t)i;
			seen |= 4;
			break;
		}
	}
	if (m->tpl.nhole != 3 || seen != 7) {
		m->tpl.nseg = 0;
		m->wait = 64;
		return;
	}
	m->scheme = scheme;
	m->n = n;
	/* Server-Name is no hole: every MAR of the plan carries this one */
	m->server_name = server_name;
	m->misses = 0;
}

/* see dia_peer.h */
int
akv_dia_cx_mar_fast(struct akv_dia_conn *c, const uint8_t *msg, size_t len,
		    struct akv_proto_slot *slot)
{
	struct akv_dia_mar_plan *m = &c->mar;
	struct akv_dia_tpl_val v[AKV_DIA_TPL_HOLES];
	const struct akv_dia_tpl_val *sid, *un, *pi;
	struct cx_ctx *x = (struct cx_ctx *)slot->ctx;
	struct akv_eng_req *r = slot->req;

	if (!akv_dia_tpl_match(&m->tpl, msg, len, v)) {
		uint64_t hdr;

		/* MARs (same flags, command, application) of another shape:
		 * after a while, learn the peer's new shape */
		if (len >= AKV_DIA_HDR_LEN && (memcpy(&hdr, msg + 4, 8), hdr == m->tpl.hdr) &&
		    ++m->misses >= 32)
			m->tpl.nseg = 0;
		return 0;
	}
	sid = &v[m->sid];
	un = &v[m->impi];
	pi = &v[m->impu];
	/* the verdicts on the holes' lengths: common()'s and parse_mar()'s
	 * errors are the general path's to write */
	if (sid->len == 0 || sid->len > AKV_DIA_SID_MAX || un->len == 0 || un->len > AKV_ID_MAX ||
	    pi->len == 0 || pi->len > AKV_ID_MAX)
		return 0;
	/* what akv_dia_cx_request() and parse_mar() write for such a MAR:
	 * every field before sid (no padding), proxy_len 0 */
	_Static_assert(offsetof(struct cx_ctx, sid) == 18, "cx_ctx fields before sid changed");
	x->proxy_len = 0;
	x->hbh = akv_get_be32(msg + 12);
	x->e2e = akv_get_be32(msg + 16);
	x->cmd = akv_get_be24(msg + 5);
	x->flags = msg[4];
	x->scheme_req = m->scheme;
	akv_copy_short(x->sid, sid->data, sid->len);
	x->sid_len = (uint16_t)sid->len;
	copy_id(un->data, un->len, r->impi, &r->impi_len);
	copy_id(pi->data, pi->len, r->impu, &r->impu_len);
	r->scheme = m->scheme;
	r->ind = (int16_t)c->ind;
	r->n = m->n;
	r->op = AKV_OP_VECTORS;
	r->cx_mar = m->server_name;
	m->misses = 0;
	m->hits++;
	return 1;
}

/* see dia_peer.h */
int
akv_dia_cx_request(struct akv_dia_conn *c, const struct akv_dia_hdr *h, const uint8_t *msg,
		   size_t len, const struct akv_dia_idx *idx, struct akv_proto_slot *slot,
		   uint8_t *out, size_t cap, size_t *out_len)
{
	struct cx_ctx *x = (struct cx_ctx *)slot->ctx;
	struct cx_in in;
	struct akv_dia_avp dh;
	uint32_t exp = 0;
	int rc;

	/* no error yet; err.failed is written before failed_len says so */
	in.body = msg + AKV_DIA_HDR_LEN;
	in.blen = len - AKV_DIA_HDR_LEN;
	in.idx = idx;
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
	if (cx_find(&in, AKV_DIA_ROW_DESTINATION_HOST, &dh) &&
	    (dh.len != c->origin_host_len ||
	     strncasecmp((const char *)dh.data, c->origin_host, dh.len))) {
		in.err.result_code = AKV_DIA_UNABLE_TO_DELIVER;
		in.err.text = "Destination-Host is not this server";
		goto proto_error;
	}
	if (common(&in, x) < 0)
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
		/* the shape of this peer's MARs, from one without Proxy-Info
		 * (echoed, so not fixed) or resync data (a RESYNC) */
		if (rc == 0 && !c->mar.tpl.nseg && slot->req->op == AKV_OP_VECTORS &&
		    !cx_count(&in, AKV_DIA_ROW_PROXY_INFO))
			mar_learn(c, msg, len, x->scheme_req, slot->req->n, slot->req->cx_mar);
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

/* ---- MAA by direct stores ----
 * A MAA is ~1.1 KB of AVPs whose layout is fixed once the Session-Id,
 * identities and vector count are known: its length is computed first
 * (one capacity check), then every AVP is stored in place. Every AVP of a
 * MAA has the M bit set (dictionary, dia_avp.h); t_dia_cx_maa_bytes checks
 * the result byte for byte against the generic writer. */

/* Bytes of one SIP-Auth-Data-Item with an XRES of xl bytes: Grouped header,
 * Item-Number, Authentication-Scheme (16 characters), Authenticate (32),
 * Authorization (XRES), Confidentiality-Key, Integrity-Key. */
static inline size_t
item_size(size_t xl)
{
	return 12 + 16 + 28 + 44 + akv_dia_avp_size(V3GPP, xl) + 28 + 28;
}

/* Offsets in a SIP-Auth-Data-Item (item_size()) of the data of its
 * SIP-Authenticate (RAND, then AUTN) and SIP-Authorization (XRES); the
 * Confidentiality-Key's data follows the XRES's padding by 12 bytes, the
 * Integrity-Key's by 40. */
#define ITEM_RAND 68
#define ITEM_AUTN 84
#define ITEM_XRES 112

/* SIP-Auth-Data-Item number i + 1 for vector v (TS 29.229 §6.3.13). */
static inline uint8_t *
put_item(uint8_t *p, unsigned i, const char *sname, const struct akv_eng_vec *v)
{
	p = akv_dia_st_hdr(p, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP, item_size(v->xres_len));
	p = akv_dia_st_u32(p, AKV_DIA_AVP_SIP_ITEM_NUMBER, V3GPP, i + 1);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME, V3GPP, sname, 16);
	/* SIP-Authenticate = RAND || AUTN (TS 29.229 §6.3.10) */
	p = akv_dia_st_hdr(p, AKV_DIA_AVP_SIP_AUTHENTICATE, V3GPP, 12 + 32);
	memcpy(p, v->rand, 16);
	memcpy(p + 16, v->autn, 16);
	p += 32;
	/* HSS-style: the S-CSCF verifies, so XRES travels. */
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_SIP_AUTHORIZATION, V3GPP, v->xres, v->xres_len);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_CONFIDENTIALITY_KEY, V3GPP, v->ck, 16);
	return akv_dia_st_bytes(p, AKV_DIA_AVP_INTEGRITY_KEY, V3GPP, v->ik, 16);
}

/* A MAA from its VSAI to its Origin-Realm (TS 29.229 §6.1.8): Result-Code
 * rc, or Experimental-Result exp (3GPP) when exp is not 0. */
static inline uint8_t *
put_maa_status(uint8_t *p, const struct akv_dia_conn *c, uint32_t rc, uint32_t exp)
{
	p = akv_dia_st_hdr(p, AKV_DIA_AVP_VENDOR_SPECIFIC_APPLICATION_ID, 0, 32);
	p = akv_dia_st_u32(p, AKV_DIA_AVP_VENDOR_ID, 0, V3GPP);
	p = akv_dia_st_u32(p, AKV_DIA_AVP_AUTH_APPLICATION_ID, 0, AKV_DIA_APP_CX);
	/* A Cx answer carries exactly one of Result-Code / Experimental-Result. */
	if (exp) {
		p = akv_dia_st_hdr(p, AKV_DIA_AVP_EXPERIMENTAL_RESULT, 0, 32);
		p = akv_dia_st_u32(p, AKV_DIA_AVP_VENDOR_ID, 0, V3GPP);
		p = akv_dia_st_u32(p, AKV_DIA_AVP_EXPERIMENTAL_RESULT_CODE, 0, exp);
	} else {
		p = akv_dia_st_u32(p, AKV_DIA_AVP_RESULT_CODE, 0, rc);
	}
	p = akv_dia_st_u32(p, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);	/* NO_STATE_MAINTAINED */
	akv_copy_short(p, c->origin_avps, c->origin_avps_len);
	return p + c->origin_avps_len;
}

/* Bytes of the identities a MAA echoes: User-Name and Public-Identity,
 * each only when the request named it. */
static inline size_t
maa_ids_size(const struct akv_eng_req *r)
{
	return (r->impi_len ? akv_dia_avp_size(0, r->impi_len) : 0) +
	       (r->impu_len ? akv_dia_avp_size(V3GPP, r->impu_len) : 0);
}

/* Those identities, stored at p. */
static inline uint8_t *
put_maa_ids(uint8_t *p, const struct akv_eng_req *r)
{
	if (r->impi_len)
		p = akv_dia_st_bytes(p, AKV_DIA_AVP_USER_NAME, 0, r->impi, r->impi_len);
	if (r->impu_len)
		p = akv_dia_st_bytes(p, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, r->impu, r->impu_len);
	return p;
}

/* Builds c's MAA template for nvec items with XRES of xl bytes naming
 * sname (scheme_name()): what encode_maa() writes around the holes, zeros
 * in them. */
static __attribute__((noinline)) void
maa_tpl_build(struct akv_dia_conn *c, unsigned nvec, uint8_t xl, const char *sname)
{
	struct akv_dia_maa_tpl *t = &c->maa;
	struct akv_eng_vec zero;
	uint8_t *p;

	memset(&zero, 0, sizeof(zero));
	zero.xres_len = xl;
	p = put_maa_status(t->head, c, AKV_DIA_SUCCESS, 0);
	t->head_len = (uint16_t)(p - t->head);
	p = akv_dia_st_u32(t->items, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP, nvec);
	for (unsigned i = 0; i < nvec; i++)
		p = put_item(p, i, sname, &zero);
	t->items_len = (uint16_t)(p - t->items);
	t->nvec = (uint8_t)nvec;
	t->xres_len = xl;
	t->sname = sname;
}

/* A successful MAA of 1..AKV_DIA_MAA_TPL_VEC vectors with one XRES length
 * (what an engine gives): the conn's template copied, the identities and
 * vectors written into it. The same bytes as the general path below
 * (t_dia_cx_maa_template_bytes); 0 when the answer is not of that kind. */
static int
encode_maa_tpl(struct akv_dia_conn *c, const struct cx_ctx *x, const struct akv_eng_req *r,
	       const char *sname, uint8_t *out, size_t cap)
{
	struct akv_dia_maa_tpl *t = &c->maa;
	unsigned nvec = r->nvec;
	uint8_t xl = r->vec[0].xres_len;
	size_t total, isz = item_size(xl), xpad = (size_t)(xl + 3) & ~(size_t)3;
	uint8_t *p = out, *q;

	if (xl > 16)
		return 0;
	for (unsigned i = 1; i < nvec; i++)
		if (r->vec[i].xres_len != xl)
			return 0;
	/* the template keys on the scheme name written (scheme_name() returns
	 * one of its literals, so the pointer identifies the name) */
	if (t->nvec != nvec || t->xres_len != xl || t->sname != sname)
		maa_tpl_build(c, nvec, xl, sname);
	total = AKV_DIA_HDR_LEN + akv_dia_avp_size(0, x->sid_len) + t->head_len + maa_ids_size(r) +
		t->items_len + x->proxy_len;
	if (total > cap)
		return AKV_ETOOBIG;
	p = akv_dia_st_msg_hdr(p, total, x->flags & AKV_DIA_F_PROXY, x->cmd, AKV_DIA_APP_CX, x->hbh,
			       x->e2e);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_SESSION_ID, 0, x->sid, x->sid_len);
	memcpy(p, t->head, t->head_len);
	p = put_maa_ids(p + t->head_len, r);
	memcpy(p, t->items, t->items_len);
	/* the first item after SIP-Number-Auth-Items (16 bytes) */
	q = p + 16;
	for (unsigned i = 0; i < nvec; i++, q += isz) {
		const struct akv_eng_vec *v = &r->vec[i];

		memcpy(q + ITEM_RAND, v->rand, 16);
		memcpy(q + ITEM_AUTN, v->autn, 16);
		akv_copy_short(q + ITEM_XRES, v->xres, xl);
		memcpy(q + ITEM_XRES + xpad + 12, v->ck, 16);
		memcpy(q + ITEM_XRES + xpad + 40, v->ik, 16);
	}
	/* RFC 6733 §6.7.2: Proxy-Info AVPs come back unchanged, in order. */
	if (x->proxy_len)
		akv_copy_short(p + t->items_len, x->proxy, x->proxy_len);
	t->uses++;
	return (int)total;
}

static int
encode_maa(struct akv_dia_conn *c, const struct cx_ctx *x, const struct akv_eng_req *r,
	   uint8_t *out, size_t cap)
{
	uint32_t rc = AKV_DIA_SUCCESS, exp = 0;
	int scheme = r->scheme_used ? r->scheme_used : x->scheme_req;
	const char *sname = scheme_name(scheme);
	unsigned nvec = r->err ? 0 : r->nvec;
	size_t total;
	uint8_t *p = out;

	if (!r->err && nvec && nvec <= AKV_DIA_MAA_TPL_VEC) {
		int n = encode_maa_tpl(c, x, r, sname, out, cap);

		if (n)
			return n;
	}
	if (r->err)
		map_err(r->err, &rc, &exp);
	/* §6.1.8 layout: header, Session-Id, VSAI, Result-Code or
	 * Experimental-Result, Auth-Session-State, Origin-Host/Realm,
	 * User-Name, Public-Identity, SIP-Number-Auth-Items, items, Proxy-Info */
	total = AKV_DIA_HDR_LEN + akv_dia_avp_size(0, x->sid_len) + 32 + (exp ? 32 : 12) + 12 +
		c->origin_avps_len + maa_ids_size(r) + x->proxy_len;
	if (!r->err) {
		total += 16;
		for (unsigned i = 0; i < nvec; i++) {
			/* the engine gives 4..16 bytes (TS 33.102 §6.3.2) */
			if (r->vec[i].xres_len > 16)
				return AKV_EINVAL;
			total += item_size(r->vec[i].xres_len);
		}
	}
	if (total > cap)
		return AKV_ETOOBIG;

	p = akv_dia_st_msg_hdr(p, total, x->flags & AKV_DIA_F_PROXY, x->cmd, AKV_DIA_APP_CX, x->hbh,
			       x->e2e);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_SESSION_ID, 0, x->sid, x->sid_len);
	p = put_maa_ids(put_maa_status(p, c, rc, exp), r);
	if (!r->err) {
		/* TS 29.229 §6.1.8: the count of items actually returned. */
		p = akv_dia_st_u32(p, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, V3GPP, nvec);
		for (unsigned i = 0; i < nvec; i++)
			p = put_item(p, i, sname, &r->vec[i]);
	}
	/* RFC 6733 §6.7.2: Proxy-Info AVPs come back unchanged, in order. */
	akv_copy_short(p, x->proxy, x->proxy_len);
	return (int)total;
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
	/* TS 29.229 §6.1.4: the S-CSCF that holds the user, with 5005 */
	if (!r->err && exp == AKV_CX_EXP_IDENTITY_ALREADY_REGISTERED && cx->assigned_len)
		akv_dia_put(&w, AKV_DIA_AVP_SERVER_NAME, V3GPP, cx->assigned, cx->assigned_len);
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
	/* No S-CSCF stored (FIRST_REGISTRATION, UNREGISTERED_SERVICE): no
	 * Server-Name, and no Server-Capabilities either, as akavs requires no
	 * capability of the S-CSCF; both are optional (TS 29.228 tables 6.1.1.2,
	 * 6.1.4.2) and the I-CSCF picks from its own list. An empty grouped
	 * Server-Capabilities makes Kamailio's cdp drop the whole answer
	 * (docs/CX.md). */
	if (!r->err && cx->assigned_len)
		akv_dia_put(&w, AKV_DIA_AVP_SERVER_NAME, V3GPP, cx->assigned, cx->assigned_len);
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

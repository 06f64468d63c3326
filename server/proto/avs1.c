/*
 * avs1.c - AVS/1 codec (docs/PROTOCOL.md) and its akv_proto_ops for the front end.
 *
 * Decoding is strict and exact: every length is checked against the frame
 * before a byte is read, trailing bytes and non-zero reserved bytes are
 * malformed. Nothing here allocates or does I/O.
 */
#include "proto/avs1.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "err.h"
#include "proto/bytes.h"

static void
put_hdr(uint8_t *out, size_t len, uint8_t op, uint8_t flags, uint64_t id)
{
	akv_put_be32(out, (uint32_t)len);
	out[4] = AKV_AVS1_VERSION;
	out[5] = op;
	out[6] = flags;
	out[7] = 0;
	akv_put_be64(out + 8, id);
}

/* ==== Counters ==== */

static _Atomic uint64_t cnt_framing, cnt_bad_version, cnt_unknown_op, cnt_malformed, cnt_err_ans;

static inline void
count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* see avs1.h */
void
akv_avs1_counters(struct akv_avs1_counters *out)
{
	out->framing = atomic_load_explicit(&cnt_framing, memory_order_relaxed);
	out->bad_version = atomic_load_explicit(&cnt_bad_version, memory_order_relaxed);
	out->unknown_op = atomic_load_explicit(&cnt_unknown_op, memory_order_relaxed);
	out->malformed = atomic_load_explicit(&cnt_malformed, memory_order_relaxed);
	out->error_answers = atomic_load_explicit(&cnt_err_ans, memory_order_relaxed);
}

/* ==== Names ==== */

/* see avs1.h */
const char *
akv_avs1_op_name(unsigned op)
{
	switch (op) {
	case AKV_AVS1_CHALLENGE:
		return "CHALLENGE";
	case AKV_AVS1_VERIFY:
		return "VERIFY";
	case AKV_AVS1_RESYNC:
		return "RESYNC";
	case AKV_AVS1_VECTORS:
		return "VECTORS";
	case AKV_AVS1_PING:
		return "PING";
	case AKV_AVS1_STATS:
		return "STATS";
	default:
		return "?";
	}
}

/* ==== Framing ==== */

/* see avs1.h */
int
akv_avs1_frame_len(const uint8_t *buf, size_t len)
{
	uint32_t n;

	if (len < 4)
		return AKV_EPARTIAL;
	n = akv_get_be32(buf);
	if (n < AKV_AVS1_HDR_LEN)
		return AKV_EPROTO;
	if (n > AKV_AVS1_FRAME_MAX)
		return AKV_ETOOBIG;
	return (int)n;
}

/* Identities and realms travel into SIP headers and store keys: printable
 * ASCII or UTF-8, no space, quote or backslash (a realm goes inside a
 * quoted-string, RFC 3261 §25.1). A table, not four compares per byte. */
static const uint8_t id_bad[256] = {
    [0 ... 0x20] = 1,
    ['"'] = 1,
    ['\\'] = 1,
    [0x7f] = 1,
};

#ifdef __SSE2__
/* The same rule on 16 bytes at once (SSE2 is part of x86-64): a byte is
 * bad when it is <= 0x20 (unsigned) or one of '"', '\\', 0x7f. Returns
 * 0xff in each bad byte's lane. */
static inline __m128i
id_bad16(const char *p)
{
	const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i bad = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x20)), x);

	bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
	bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
	return _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
}
#endif

static int
id_ok(const char *s, size_t n)
{
	unsigned bad = 0;

#ifdef __SSE2__
	if (n >= 16) {
		/* lanes OR-ed across the blocks, one mask at the end; the last
		 * block may overlap the one before: it only validates */
		__m128i acc = id_bad16(s + n - 16);

		for (size_t i = 0; i + 16 < n; i += 16)
			acc = _mm_or_si128(acc, id_bad16(s + i));
		return !_mm_movemask_epi8(acc);
	}
#endif
	for (size_t i = 0; i < n; i++)
		bad |= id_bad[(unsigned char)s[i]];
	return !bad;
}

/* ==== Requests ==== */

/* Fixed body part of CHALLENGE / VECTORS (6) and RESYNC (6 + RAND + AUTS). */
#define IDENT_FIXED 6
#define RESYNC_FIXED (IDENT_FIXED + 16 + 14)
#define VERIFY_RES_FIXED 20
#define VERIFY_DIG_FIXED (4 + 2 * AKV_DIG_NFIELDS)

static uint8_t
allowed_flags(uint8_t op)
{
	return op == AKV_AVS1_CHALLENGE || op == AKV_AVS1_RESYNC
		   ? AKV_AVS1_F_WWW | AKV_AVS1_F_WWW_NOKEYS
		   : 0;
}

static int
flags_ok(uint8_t op, uint8_t flags)
{
	if (flags & ~allowed_flags(op))
		return 0;
	/* NOKEYS qualifies WWW and means nothing alone */
	return !(flags & AKV_AVS1_F_WWW_NOKEYS) || (flags & AKV_AVS1_F_WWW);
}

/* The body of a CHALLENGE, RESYNC or VECTORS request (docs/PROTOCOL.md):
 * the fixed part, then IMPI, IMPU and realm back to back. */
struct ident {
	uint8_t n, scheme, ind;
	uint8_t impi_len, impu_len, realm_len;
	const uint8_t *rand, *auts; /* RESYNC: into the frame */
	const char *impi, *impu, *realm;
};

/* Reads and validates an identity body; on_msg takes it straight into the
 * engine request, akv_avs1_req_decode into struct akv_avs1_req. The fields
 * are set in the order they are checked, so on an error x holds what was
 * read before it: n..realm_len once the fixed part is there, the pointers
 * once the lengths match the frame (x is zeroed by the caller, ind 0xff). */
static inline int
ident_parse(const uint8_t *b, size_t blen, uint8_t op, uint8_t flags, struct ident *x,
	    const char **why)
{
	size_t fixed = op == AKV_AVS1_RESYNC ? RESYNC_FIXED : IDENT_FIXED;

	if (blen < fixed) {
		*why = "body shorter than its fixed part";
		return AKV_EPROTO;
	}
	x->n = b[0];
	x->scheme = b[1];
	x->ind = b[2];
	x->impi_len = b[3];
	x->impu_len = b[4];
	x->realm_len = b[5];
	if (blen != fixed + x->impi_len + x->impu_len + x->realm_len) {
		*why = "field lengths do not match the frame length";
		return AKV_EPROTO;
	}
	x->rand = b + 6;
	x->auts = b + 22;
	x->impi = (const char *)b + fixed;
	x->impu = x->impi + x->impi_len;
	x->realm = x->impu + x->impu_len;
	if (x->impi_len == 0) {
		*why = "empty IMPI";
		return AKV_EPROTO;
	}
	/* IMPI, IMPU and realm lie back to back in the frame: one pass */
	if (!id_ok(x->impi, (size_t)x->impi_len + x->impu_len + x->realm_len)) {
		*why = "identity or realm holds a control, space, quote or backslash";
		return AKV_EPROTO;
	}
	if (x->realm_len && !(flags & AKV_AVS1_F_WWW)) {
		*why = "realm given without the WWW flag";
		return AKV_EPROTO;
	}
	if (x->n == 0 || x->n > AKV_VEC_MAX) {
		*why = "n must be 1..32";
		return AKV_EBAD_N;
	}
	if (x->scheme > AKV_SCHEME_AKAV2_MD5) {
		*why = "scheme must be 0..2";
		return AKV_ESCHEME;
	}
	return 0;
}

static int
decode_ident(const uint8_t *b, size_t blen, uint8_t op, struct akv_avs1_req *r, const char **why)
{
	struct ident x = { .ind = AKV_AVS1_IND_NONE };
	int err = ident_parse(b, blen, op, r->flags, &x, why);

	r->n = x.n;
	r->scheme = x.scheme;
	r->ind = x.ind;
	r->impi_len = x.impi_len;
	r->impu_len = x.impu_len;
	r->realm_len = x.realm_len;
	if (!x.impi) /* the lengths did not match the frame */
		return err;
	if (op == AKV_AVS1_RESYNC) {
		memcpy(r->rand, x.rand, 16);
		memcpy(r->auts, x.auts, 14);
	}
	r->impi = x.impi;
	r->impu = x.impu;
	r->realm = x.realm;
	return err;
}

static int
decode_verify(const uint8_t *b, size_t blen, struct akv_avs1_req *r, const char **why)
{
	size_t need, total = 0;
	const uint8_t *s;

	if (blen < 4) {
		*why = "body shorter than its fixed part";
		return AKV_EPROTO;
	}
	r->kind = b[0];
	r->impi_len = b[1];
	if (b[3] != 0) {
		*why = "reserved byte not zero";
		return AKV_EPROTO;
	}
	if (r->kind == AKV_AVS1_VERIFY_RES) {
		r->res_len = b[2];
		if (blen < VERIFY_RES_FIXED) {
			*why = "body shorter than its fixed part";
			return AKV_EPROTO;
		}
		if (blen != (size_t)VERIFY_RES_FIXED + r->res_len + r->impi_len) {
			*why = "field lengths do not match the frame length";
			return AKV_EPROTO;
		}
		if (r->res_len < 4 || r->res_len > 16) {
			*why = "RES length must be 4..16";
			return AKV_EPROTO;
		}
		memcpy(r->rand, b + 4, 16);
		memcpy(r->res, b + VERIFY_RES_FIXED, r->res_len);
		r->impi = (const char *)b + VERIFY_RES_FIXED + r->res_len;
	} else if (r->kind == AKV_AVS1_VERIFY_DIGEST) {
		r->alg = b[2];
		if (blen < VERIFY_DIG_FIXED) {
			*why = "body shorter than its fixed part";
			return AKV_EPROTO;
		}
		for (int i = 0; i < AKV_DIG_NFIELDS; i++) {
			r->dig[i].n = akv_get_be16(b + 4 + 2 * i);
			total += r->dig[i].n;
		}
		need = (size_t)VERIFY_DIG_FIXED + r->impi_len + total;
		if (blen != need) {
			*why = "field lengths do not match the frame length";
			return AKV_EPROTO;
		}
		if (total > AKV_DIGEST_BUF) {
			*why = "Digest fields over 1024 bytes";
			return AKV_ETOOBIG;
		}
		r->impi = (const char *)b + VERIFY_DIG_FIXED;
		s = b + VERIFY_DIG_FIXED + r->impi_len;
		for (int i = 0; i < AKV_DIG_NFIELDS; i++) {
			r->dig[i].p = (const char *)s;
			s += r->dig[i].n;
		}
		if (!r->dig[AKV_DIG_NONCE].n || !r->dig[AKV_DIG_RESPONSE].n) {
			*why = "Digest nonce or response empty";
			return AKV_EPROTO;
		}
		if (r->alg != AKV_DIGEST_AKAV1_MD5 && r->alg != AKV_DIGEST_AKAV2_MD5) {
			*why = "Digest algorithm must be 1 (AKAv1-MD5) or 2 (AKAv2-MD5)";
			return AKV_ESCHEME;
		}
	} else {
		*why = "VERIFY kind must be 0 (RES) or 1 (Digest)";
		return AKV_EPROTO;
	}
	if (r->impi_len == 0 || !id_ok(r->impi, r->impi_len)) {
		*why = "empty or invalid IMPI";
		return AKV_EPROTO;
	}
	return 0;
}

_Static_assert(offsetof(struct akv_avs1_req, flags) == offsetof(struct akv_avs1_req, op) + 1,
	       "op and flags are one 16-bit word on the wire (bytes 5, 6) and in the struct");

/* The header rules past the length field (PROTOCOL.md §2), in the order
 * their errors are reported: version, opcode, reserved byte, flags for the
 * opcode. 0, or the error with *why. on_msg's fast path and the decoder
 * both apply them. */
static int
hdr_check(const uint8_t *msg, const char **why)
{
	if (msg[4] != AKV_AVS1_VERSION) {
		*why = "unsupported version";
		return AKV_EPROTO;
	}
	if (msg[5] < AKV_AVS1_CHALLENGE || msg[5] > AKV_AVS1_STATS) {
		*why = "";
		return AKV_EUNKNOWN_OP;
	}
	if (msg[7] != 0) {
		*why = "reserved byte not zero";
		return AKV_EPROTO;
	}
	if (!flags_ok(msg[5], msg[6])) {
		*why = "flags not valid for this operation";
		return AKV_EPROTO;
	}
	return 0;
}

/* see avs1.h */
int
akv_avs1_req_decode(const uint8_t *msg, size_t len, struct akv_avs1_req *r, const char **why)
{
	const char *dummy;
	const uint8_t *b = msg + AKV_AVS1_HDR_LEN;
	size_t blen;
	int err;

	if (!why)
		why = &dummy;
	*why = "";
	/* no memset of the whole struct (a rep stos was a third of the decode
	 * time): the scalars and pointers are cleared, and the byte arrays
	 * (rand, auts, res, dig) are written only for the ops that carry them */
	r->op = r->flags = 0;
	r->id = 0;
	r->n = r->scheme = 0;
	r->ind = AKV_AVS1_IND_NONE;
	r->impi = r->impu = r->realm = NULL;
	r->impi_len = r->impu_len = r->realm_len = 0;
	r->kind = r->res_len = r->alg = 0;
	r->data = NULL;
	r->data_len = 0;
	if (len < AKV_AVS1_HDR_LEN || akv_get_be32(msg) != len) {
		*why = "frame length field does not match";
		return AKV_EPROTO;
	}
	blen = len - AKV_AVS1_HDR_LEN;
	r->op = msg[5];
	r->flags = msg[6];
	r->id = akv_get_be64(msg + 8);
	if ((err = hdr_check(msg, why)))
		return err;
	switch (r->op) {
	case AKV_AVS1_CHALLENGE:
	case AKV_AVS1_RESYNC:
	case AKV_AVS1_VECTORS:
		return decode_ident(b, blen, r->op, r, why);
	case AKV_AVS1_VERIFY:
		return decode_verify(b, blen, r, why);
	case AKV_AVS1_PING:
		if (blen > AKV_AVS1_PING_MAX) {
			*why = "PING payload over 4096 bytes";
			return AKV_ETOOBIG;
		}
		r->data = b;
		r->data_len = blen;
		return 0;
	default: /* STATS */
		if (blen) {
			*why = "STATS takes no body";
			return AKV_EPROTO;
		}
		return 0;
	}
}

static size_t
req_body_len(const struct akv_avs1_req *r)
{
	size_t n = 0;

	switch (r->op) {
	case AKV_AVS1_CHALLENGE:
	case AKV_AVS1_VECTORS:
		return IDENT_FIXED + r->impi_len + r->impu_len + r->realm_len;
	case AKV_AVS1_RESYNC:
		return RESYNC_FIXED + r->impi_len + r->impu_len + r->realm_len;
	case AKV_AVS1_VERIFY:
		if (r->kind == AKV_AVS1_VERIFY_RES)
			return VERIFY_RES_FIXED + r->res_len + r->impi_len;
		for (int i = 0; i < AKV_DIG_NFIELDS; i++)
			n += r->dig[i].n;
		return VERIFY_DIG_FIXED + r->impi_len + n;
	case AKV_AVS1_PING:
		return r->data_len;
	default:
		return 0;
	}
}

static int
req_check(const struct akv_avs1_req *r)
{
	size_t total = 0;

	if (r->op < AKV_AVS1_CHALLENGE || r->op > AKV_AVS1_STATS || !flags_ok(r->op, r->flags))
		return AKV_EINVAL;
	switch (r->op) {
	case AKV_AVS1_CHALLENGE:
	case AKV_AVS1_RESYNC:
	case AKV_AVS1_VECTORS:
		if (r->impi_len > AKV_ID_MAX || r->impu_len > AKV_ID_MAX ||
		    r->realm_len > AKV_ID_MAX)
			return AKV_ETOOBIG;
		if (r->n == 0 || r->n > AKV_VEC_MAX || r->scheme > AKV_SCHEME_AKAV2_MD5 ||
		    !r->impi_len || (r->realm_len && !(r->flags & AKV_AVS1_F_WWW)))
			return AKV_EINVAL;
		return 0;
	case AKV_AVS1_VERIFY:
		if (r->impi_len > AKV_ID_MAX)
			return AKV_ETOOBIG;
		if (!r->impi_len)
			return AKV_EINVAL;
		if (r->kind == AKV_AVS1_VERIFY_RES)
			return r->res_len >= 4 && r->res_len <= 16 ? 0 : AKV_EINVAL;
		if (r->kind != AKV_AVS1_VERIFY_DIGEST ||
		    (r->alg != AKV_DIGEST_AKAV1_MD5 && r->alg != AKV_DIGEST_AKAV2_MD5))
			return AKV_EINVAL;
		for (int i = 0; i < AKV_DIG_NFIELDS; i++) {
			if (r->dig[i].n > UINT16_MAX)
				return AKV_ETOOBIG;
			total += r->dig[i].n;
		}
		if (total > AKV_DIGEST_BUF)
			return AKV_ETOOBIG;
		if (!r->dig[AKV_DIG_NONCE].n || !r->dig[AKV_DIG_RESPONSE].n)
			return AKV_EINVAL;
		return 0;
	case AKV_AVS1_PING:
		return r->data_len > AKV_AVS1_PING_MAX ? AKV_ETOOBIG : 0;
	default:
		return 0;
	}
}

static uint8_t *
put_str(uint8_t *p, const void *s, size_t n)
{
	if (n)
		memcpy(p, s, n);
	return p + n;
}

/* see avs1.h */
int
akv_avs1_req_encode(const struct akv_avs1_req *r, uint8_t *out, size_t cap)
{
	size_t len;
	uint8_t *p;
	int err = req_check(r);

	if (err)
		return err;
	len = AKV_AVS1_HDR_LEN + req_body_len(r);
	if (len > cap)
		return AKV_CRYPTO_ENOSPC;
	put_hdr(out, len, r->op, r->flags, r->id);
	p = out + AKV_AVS1_HDR_LEN;
	switch (r->op) {
	case AKV_AVS1_CHALLENGE:
	case AKV_AVS1_RESYNC:
	case AKV_AVS1_VECTORS:
		*p++ = r->n;
		*p++ = r->scheme;
		*p++ = r->ind;
		*p++ = (uint8_t)r->impi_len;
		*p++ = (uint8_t)r->impu_len;
		*p++ = (uint8_t)r->realm_len;
		if (r->op == AKV_AVS1_RESYNC) {
			p = put_str(p, r->rand, 16);
			p = put_str(p, r->auts, 14);
		}
		p = put_str(p, r->impi, r->impi_len);
		p = put_str(p, r->impu, r->impu_len);
		put_str(p, r->realm, r->realm_len);
		break;
	case AKV_AVS1_VERIFY:
		*p++ = r->kind;
		*p++ = (uint8_t)r->impi_len;
		if (r->kind == AKV_AVS1_VERIFY_RES) {
			*p++ = r->res_len;
			*p++ = 0;
			p = put_str(p, r->rand, 16);
			p = put_str(p, r->res, r->res_len);
			put_str(p, r->impi, r->impi_len);
			break;
		}
		*p++ = r->alg;
		*p++ = 0;
		for (int i = 0; i < AKV_DIG_NFIELDS; i++, p += 2)
			akv_put_be16(p, (uint16_t)r->dig[i].n);
		p = put_str(p, r->impi, r->impi_len);
		for (int i = 0; i < AKV_DIG_NFIELDS; i++)
			p = put_str(p, r->dig[i].p, r->dig[i].n);
		break;
	case AKV_AVS1_PING:
		put_str(p, r->data, r->data_len);
		break;
	default:
		break;
	}
	return (int)len;
}

/* ==== Answers ==== */

#define VEC_CHAL_LEN 64 /* RAND AUTN CK IK */

static int
www_alg(uint8_t scheme)
{
	return scheme == AKV_SCHEME_AKAV2_MD5 ? AKV_DIGEST_AKAV2_MD5 : AKV_DIGEST_AKAV1_MD5;
}

static int
encode_error(const struct akv_avs1_ans *a, uint8_t *out, size_t cap)
{
	const char *text = a->text;
	size_t tl = a->text_len;
	size_t len;

	if (a->err >= 0 || a->err == INT32_MIN)
		return AKV_EINVAL;
	if (!text) {
		text = akv_strerror(a->err);
		tl = strlen(text);
		if (tl > AKV_AVS1_TEXT_MAX)
			tl = AKV_AVS1_TEXT_MAX;
	}
	len = AKV_AVS1_HDR_LEN + 5 + tl;
	if (len > cap)
		return AKV_CRYPTO_ENOSPC;
	put_hdr(out, len, a->op < AKV_AVS1_ANS_BIT ? a->op | AKV_AVS1_ANS_BIT : a->op,
		AKV_AVS1_F_ERROR, a->id);
	akv_put_be32(out + AKV_AVS1_HDR_LEN, (uint32_t)-a->err);
	out[AKV_AVS1_HDR_LEN + 4] = (uint8_t)tl;
	put_str(out + AKV_AVS1_HDR_LEN + 5, text, tl);
	return (int)len;
}

/* CHALLENGE / RESYNC / VECTORS answers. */
static int
encode_vectors(const struct akv_avs1_ans *a, uint8_t *out, size_t cap)
{
	int www = a->op != AKV_AVS1_VECTORS && (a->flags & AKV_AVS1_F_WWW);
	char realm[AKV_ID_MAX + 1];
	size_t pos = AKV_AVS1_HDR_LEN + 2;
	int n;

	if (a->nvec == 0 || a->nvec > AKV_VEC_MAX || a->scheme > AKV_SCHEME_AKAV2_MD5)
		return AKV_EINVAL;
	if (www && !a->www[0]) {
		if (!a->realm_len)
			return AKV_EINVAL;
		memcpy(realm, a->realm, a->realm_len);
		realm[a->realm_len] = 0;
	}
	if (pos > cap)
		return AKV_CRYPTO_ENOSPC;
	for (unsigned i = 0; i < a->nvec; i++) {
		const struct akv_eng_vec *v = &a->vec[i];
		size_t vl =
		    VEC_CHAL_LEN + (a->op == AKV_AVS1_VECTORS ? 1 + (size_t)v->xres_len : 0);

		if (a->op == AKV_AVS1_VECTORS && (v->xres_len < 4 || v->xres_len > 16))
			return AKV_EINVAL;
		if (pos + vl + (www ? 2 : 0) > cap)
			return AKV_CRYPTO_ENOSPC;
		memcpy(out + pos, v->rand, 16);
		memcpy(out + pos + 16, v->autn, 16);
		memcpy(out + pos + 32, v->ck, 16);
		memcpy(out + pos + 48, v->ik, 16);
		pos += VEC_CHAL_LEN;
		if (a->op == AKV_AVS1_VECTORS) {
			out[pos++] = v->xres_len;
			memcpy(out + pos, v->xres, v->xres_len);
			pos += v->xres_len;
			continue;
		}
		if (!www)
			continue;
		if (a->www[0]) {
			if (!a->www[i] || a->www_len[i] > AKV_AVS1_WWW_MAX)
				return AKV_EINVAL;
			n = a->www_len[i];
			if (pos + 2 + (size_t)n > cap)
				return AKV_CRYPTO_ENOSPC;
			memcpy(out + pos + 2, a->www[i], (size_t)n);
		} else {
			/* snprintf needs room for its NUL too; it lands inside the
			 * frame's spare room or is overwritten by the next vector */
			size_t room = cap - pos - 2;

			if (room > AKV_AVS1_WWW_MAX + 1)
				room = AKV_AVS1_WWW_MAX + 1;
			n = akv_digest_www_authenticate(
			    www_alg(a->scheme), realm, v->rand, v->autn, v->ck, v->ik,
			    !(a->flags & AKV_AVS1_F_WWW_NOKEYS), (char *)out + pos + 2, room);
			if (n < 0)
				return n == AKV_CRYPTO_ENOSPC ? n : AKV_EINVAL;
		}
		akv_put_be16(out + pos, (uint16_t)n);
		pos += 2 + (size_t)n;
	}
	put_hdr(out, pos, a->op | AKV_AVS1_ANS_BIT, www ? a->flags & allowed_flags(a->op) : 0,
		a->id);
	out[AKV_AVS1_HDR_LEN] = a->nvec;
	out[AKV_AVS1_HDR_LEN + 1] = a->scheme;
	return (int)pos;
}

/* see avs1.h */
int
akv_avs1_ans_encode(const struct akv_avs1_ans *a, uint8_t *out, size_t cap)
{
	size_t len;

	if (a->flags & AKV_AVS1_F_ERROR)
		return encode_error(a, out, cap);
	switch (a->op) {
	case AKV_AVS1_CHALLENGE:
	case AKV_AVS1_RESYNC:
	case AKV_AVS1_VECTORS:
		if (!flags_ok(a->op, a->flags))
			return AKV_EINVAL;
		return encode_vectors(a, out, cap);
	case AKV_AVS1_VERIFY:
		if (a->verdict > AKV_VERDICT_DEREGISTER || a->flags)
			return AKV_EINVAL;
		len = AKV_AVS1_HDR_LEN + 2 + (a->verdict == AKV_VERDICT_OK ? 32 : 0);
		if (len > cap)
			return AKV_CRYPTO_ENOSPC;
		put_hdr(out, len, AKV_AVS1_VERIFY | AKV_AVS1_ANS_BIT, 0, a->id);
		out[AKV_AVS1_HDR_LEN] = a->verdict;
		out[AKV_AVS1_HDR_LEN + 1] = a->attempts_left;
		if (a->verdict == AKV_VERDICT_OK) {
			memcpy(out + AKV_AVS1_HDR_LEN + 2, a->ck, 16);
			memcpy(out + AKV_AVS1_HDR_LEN + 18, a->ik, 16);
		}
		return (int)len;
	case AKV_AVS1_PING:
		if (a->data_len > AKV_AVS1_PING_MAX || a->flags)
			return AKV_EINVAL;
		len = AKV_AVS1_HDR_LEN + a->data_len;
		if (len > cap)
			return AKV_CRYPTO_ENOSPC;
		put_hdr(out, len, AKV_AVS1_PING | AKV_AVS1_ANS_BIT, 0, a->id);
		put_str(out + AKV_AVS1_HDR_LEN, a->data, a->data_len);
		return (int)len;
	case AKV_AVS1_STATS:
		if (a->flags || a->nstats > AKV_AVS1_STATS_MAX)
			return AKV_EINVAL;
		len = AKV_AVS1_HDR_LEN + 2 + a->stats_len;
		if (len > cap)
			return AKV_CRYPTO_ENOSPC;
		put_hdr(out, len, AKV_AVS1_STATS | AKV_AVS1_ANS_BIT, 0, a->id);
		akv_put_be16(out + AKV_AVS1_HDR_LEN, a->nstats);
		put_str(out + AKV_AVS1_HDR_LEN + 2, a->stats, a->stats_len);
		return (int)len;
	default:
		return AKV_EINVAL;
	}
}

static int
decode_vectors(const uint8_t *b, size_t blen, struct akv_avs1_ans *a, const char **why)
{
	int www = a->op != AKV_AVS1_VECTORS && (a->flags & AKV_AVS1_F_WWW);
	size_t pos = 2;

	if (blen < 2) {
		*why = "body shorter than its fixed part";
		return AKV_EPROTO;
	}
	a->nvec = b[0];
	a->scheme = b[1];
	if (a->nvec == 0 || a->nvec > AKV_VEC_MAX || a->scheme > AKV_SCHEME_AKAV2_MD5) {
		*why = "vector count or scheme out of range";
		return AKV_EPROTO;
	}
	a->vec = a->vbuf;
	for (unsigned i = 0; i < a->nvec; i++) {
		struct akv_eng_vec *v = &a->vbuf[i];

		if (blen - pos < VEC_CHAL_LEN) {
			*why = "vector truncated";
			return AKV_EPROTO;
		}
		memcpy(v->rand, b + pos, 16);
		memcpy(v->autn, b + pos + 16, 16);
		memcpy(v->ck, b + pos + 32, 16);
		memcpy(v->ik, b + pos + 48, 16);
		v->xres_len = 0;
		v->sqn = 0;
		pos += VEC_CHAL_LEN;
		if (a->op == AKV_AVS1_VECTORS) {
			if (pos == blen) {
				*why = "vector truncated";
				return AKV_EPROTO;
			}
			v->xres_len = b[pos++];
			if (v->xres_len < 4 || v->xres_len > 16 || blen - pos < v->xres_len) {
				*why = "XRES length out of range or truncated";
				return AKV_EPROTO;
			}
			memcpy(v->xres, b + pos, v->xres_len);
			pos += v->xres_len;
		} else if (www) {
			if (blen - pos < 2) {
				*why = "vector truncated";
				return AKV_EPROTO;
			}
			a->www_len[i] = akv_get_be16(b + pos);
			pos += 2;
			if (a->www_len[i] > AKV_AVS1_WWW_MAX || blen - pos < a->www_len[i]) {
				*why = "WWW-Authenticate length out of range or truncated";
				return AKV_EPROTO;
			}
			a->www[i] = (const char *)b + pos;
			pos += a->www_len[i];
		}
	}
	if (pos != blen) {
		*why = "trailing bytes after the last vector";
		return AKV_EPROTO;
	}
	return 0;
}

static int
decode_stats(const uint8_t *b, size_t blen, struct akv_avs1_ans *a, const char **why)
{
	size_t pos = 2;

	if (blen < 2) {
		*why = "body shorter than its fixed part";
		return AKV_EPROTO;
	}
	a->nstats = akv_get_be16(b);
	if (a->nstats > AKV_AVS1_STATS_MAX) {
		*why = "too many counters";
		return AKV_EPROTO;
	}
	for (unsigned i = 0; i < a->nstats; i++) {
		if (pos >= blen || b[pos] == 0 || blen - pos - 1 < (size_t)b[pos] + 8) {
			*why = "counter truncated or empty key";
			return AKV_EPROTO;
		}
		pos += 1 + b[pos] + 8;
	}
	if (pos != blen) {
		*why = "trailing bytes after the last counter";
		return AKV_EPROTO;
	}
	a->stats = b + 2;
	a->stats_len = blen - 2;
	return 0;
}

/* see avs1.h */
int
akv_avs1_ans_decode(const uint8_t *msg, size_t len, struct akv_avs1_ans *a, const char **why)
{
	const char *dummy;
	const uint8_t *b = msg + AKV_AVS1_HDR_LEN;
	size_t blen;
	uint32_t code;

	if (!why)
		why = &dummy;
	*why = "";
	a->op = a->flags = 0;
	a->id = 0;
	a->err = 0;
	a->text = NULL;
	a->text_len = 0;
	a->nvec = 0;
	a->vec = a->vbuf;
	a->www[0] = NULL;
	a->realm = NULL;
	a->realm_len = 0;
	a->data = NULL;
	a->data_len = 0;
	a->nstats = 0;
	a->stats = NULL;
	a->stats_len = 0;
	if (len < AKV_AVS1_HDR_LEN || akv_get_be32(msg) != len) {
		*why = "frame length field does not match";
		return AKV_EPROTO;
	}
	blen = len - AKV_AVS1_HDR_LEN;
	a->flags = msg[6];
	a->id = akv_get_be64(msg + 8);
	if (msg[4] != AKV_AVS1_VERSION || msg[7] != 0 || !(msg[5] & AKV_AVS1_ANS_BIT)) {
		*why = "bad version, reserved byte or not an answer";
		return AKV_EPROTO;
	}
	a->op = msg[5] & ~AKV_AVS1_ANS_BIT;
	if (a->flags & AKV_AVS1_F_ERROR) {
		if (a->flags != AKV_AVS1_F_ERROR || blen < 5 || blen != 5u + b[4]) {
			*why = "malformed error answer";
			return AKV_EPROTO;
		}
		code = akv_get_be32(b);
		if (code == 0 || code > INT32_MAX) {
			*why = "error code out of range";
			return AKV_EPROTO;
		}
		a->err = -(int)code;
		a->text_len = b[4];
		a->text = (const char *)b + 5;
		return 0;
	}
	if (a->op < AKV_AVS1_CHALLENGE || a->op > AKV_AVS1_STATS) {
		*why = "unknown opcode";
		return AKV_EUNKNOWN_OP;
	}
	if (!flags_ok(a->op, a->flags)) {
		*why = "flags not valid for this operation";
		return AKV_EPROTO;
	}
	switch (a->op) {
	case AKV_AVS1_CHALLENGE:
	case AKV_AVS1_RESYNC:
	case AKV_AVS1_VECTORS:
		return decode_vectors(b, blen, a, why);
	case AKV_AVS1_VERIFY:
		if (blen < 2 || b[0] > AKV_VERDICT_DEREGISTER ||
		    blen != (b[0] == AKV_VERDICT_OK ? 34u : 2u)) {
			*why = "malformed verdict";
			return AKV_EPROTO;
		}
		a->verdict = b[0];
		a->attempts_left = b[1];
		if (a->verdict == AKV_VERDICT_OK) {
			memcpy(a->ck, b + 2, 16);
			memcpy(a->ik, b + 18, 16);
		}
		return 0;
	case AKV_AVS1_PING:
		if (blen > AKV_AVS1_PING_MAX) {
			*why = "PING payload over 4096 bytes";
			return AKV_EPROTO;
		}
		a->data = b;
		a->data_len = blen;
		return 0;
	default:
		return decode_stats(b, blen, a, why);
	}
}

/* see avs1.h */
int
akv_avs1_stats_next(const struct akv_avs1_ans *a, size_t *pos, const char **key, size_t *key_len,
		    uint64_t *value)
{
	const uint8_t *p;

	/* entries were validated by akv_avs1_ans_decode */
	if (!a->stats || *pos >= a->stats_len)
		return 0;
	p = a->stats + *pos;
	*key_len = p[0];
	*key = (const char *)p + 1;
	*value = akv_get_be64(p + 1 + p[0]);
	*pos += 1 + (size_t)p[0] + 8;
	return 1;
}

#define STATS_DROPPED "stats.dropped"
#define STATS_DROPPED_ROOM (1 + sizeof(STATS_DROPPED) - 1 + 8)

static void
stats_entry(struct akv_avs1_stats_writer *w, const char *key, size_t kl, uint64_t value)
{
	*w->p = (uint8_t)kl;
	memcpy(w->p + 1, key, kl);
	akv_put_be64(w->p + 1 + kl, value);
	w->p += 1 + kl + 8;
	w->n++;
}

/* see avs1.h */
void
akv_avs1_stats_put(struct akv_avs1_stats_writer *w, const char *key, uint64_t value)
{
	size_t kl = strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_.");

	/* the last entry and its bytes stay free for stats.dropped */
	if (key[kl] != 0 || kl == 0 || kl > 63 || w->n >= AKV_AVS1_STATS_MAX - 1 ||
	    (size_t)(w->end - w->p) < 1 + kl + 8 + STATS_DROPPED_ROOM) {
		w->dropped++;
		return;
	}
	stats_entry(w, key, kl, value);
}

/* ==== Server side: akv_proto_ops ==== */

static akv_avs1_stats_fn stats_fn;
static void *stats_arg;

/* see avs1.h */
void
akv_avs1_set_stats_source(akv_avs1_stats_fn fn, void *arg)
{
	stats_fn = fn;
	stats_arg = arg;
}

struct avs1_conn {
	int ind; /* IND configured for the peer, -1 none */
};

/* What encode() needs of a dispatched request, kept in slot->ctx: the
 * request id (8 bytes), op, flags and realm length packed in one 32-bit word,
 * then the realm. proto.h promises no alignment for ctx, so the two words go
 * in and out with memcpy, each as one whole store and one whole load (byte
 * fields gathered through a wider load defeat store forwarding, a stall that
 * showed up as most of on_msg's time). */
struct avs1_ctx {
	uint64_t id;
	uint8_t op;
	uint8_t flags;
	uint8_t realm_len;
	const char *realm; /* into slot->ctx, valid while the slot is */
};

#define CTX_ID 0
#define CTX_WORD 8
#define CTX_REALM 12
_Static_assert(CTX_REALM + AKV_ID_MAX <= AKV_PROTO_CTX_MAX, "ctx room");

static void
ctx_put(uint8_t *ctx, uint64_t id, uint8_t op, uint8_t flags, uint8_t realm_len)
{
	uint32_t w = (uint32_t)op | (uint32_t)flags << 8 | (uint32_t)realm_len << 16;

	memcpy(ctx + CTX_ID, &id, 8);
	memcpy(ctx + CTX_WORD, &w, 4);
}

static void
ctx_get(const uint8_t *ctx, struct avs1_ctx *x)
{
	uint32_t w;

	memcpy(&x->id, ctx + CTX_ID, 8);
	memcpy(&w, ctx + CTX_WORD, 4);
	x->op = (uint8_t)w;
	x->flags = (uint8_t)(w >> 8);
	x->realm_len = (uint8_t)(w >> 16);
	x->realm = (const char *)ctx + CTX_REALM;
}

static int
conn_init(void *st, const struct akv_proto_conn_info *info, uint8_t *out, size_t cap,
	  size_t *out_len)
{
	struct avs1_conn *c = st;

	(void)out;
	(void)cap;
	c->ind = info ? info->ind : -1;
	*out_len = 0;
	return 0;
}

static int
frame_len_counted(const uint8_t *buf, size_t len)
{
	int n = akv_avs1_frame_len(buf, len);

	if (n < 0 && n != AKV_EPARTIAL)
		count(&cnt_framing);
	return n;
}

/* Writes an error answer "text[: why]"; counts it. */
static int
reply_error(uint8_t op, uint64_t id, int err, const char *why, uint8_t *out, size_t cap,
	    size_t *out_len)
{
	struct akv_avs1_ans a;
	char text[AKV_AVS1_TEXT_MAX + 1];
	int n;

	n = snprintf(text, sizeof(text), "%s%s%s", akv_strerror(err), why && *why ? ": " : "",
		     why ? why : "");
	if (n < 0)
		n = 0;
	if (n > AKV_AVS1_TEXT_MAX)
		n = AKV_AVS1_TEXT_MAX;
	a.op = op;
	a.flags = AKV_AVS1_F_ERROR;
	a.id = id;
	a.err = err;
	a.text = text;
	a.text_len = (uint8_t)n;
	count(&cnt_err_ans);
	n = akv_avs1_ans_encode(&a, out, cap);
	if (n < 0)
		return n;
	*out_len = (size_t)n;
	return AKV_PROTO_REPLY;
}

static int
reply_stats(const struct akv_avs1_req *r, uint8_t *out, size_t cap, size_t *out_len)
{
	struct akv_avs1_stats_writer w;
	struct akv_avs1_counters c;
	int n;

	if (cap < AKV_AVS1_HDR_LEN + 2 + STATS_DROPPED_ROOM)
		return AKV_CRYPTO_ENOSPC;
	w.p = out + AKV_AVS1_HDR_LEN + 2;
	w.end = out + cap;
	w.n = 0;
	w.dropped = 0;
	if (stats_fn)
		stats_fn(stats_arg, &w);
	akv_avs1_counters(&c);
	akv_avs1_stats_put(&w, "avs1.framing_errors", c.framing);
	akv_avs1_stats_put(&w, "avs1.bad_version", c.bad_version);
	akv_avs1_stats_put(&w, "avs1.unknown_op", c.unknown_op);
	akv_avs1_stats_put(&w, "avs1.malformed", c.malformed);
	akv_avs1_stats_put(&w, "avs1.error_answers", c.error_answers);
	if (w.dropped) /* stats_put kept its room */
		stats_entry(&w, STATS_DROPPED, sizeof(STATS_DROPPED) - 1, w.dropped);
	/* the entries are already in place: write the header around them */
	n = (int)(w.p - out);
	put_hdr(out, (size_t)n, AKV_AVS1_STATS | AKV_AVS1_ANS_BIT, 0, r->id);
	akv_put_be16(out + AKV_AVS1_HDR_LEN, w.n);
	*out_len = (size_t)n;
	return AKV_PROTO_REPLY;
}

/* Counts a decode failure under its cause. */
static void
count_bad(const uint8_t *msg, int err)
{
	if (msg[4] != AKV_AVS1_VERSION)
		count(&cnt_bad_version);
	else if (err == AKV_EUNKNOWN_OP)
		count(&cnt_unknown_op);
	else
		count(&cnt_malformed);
}

static void
fill_digest(const struct akv_avs1_req *r, struct akv_eng_digest *d)
{
	uint16_t off = 0;

	/* total <= AKV_DIGEST_BUF was checked by the decoder */
	for (int i = 0; i < AKV_DIG_NFIELDS; i++) {
		d->off[i] = off;
		d->len[i] = (uint16_t)r->dig[i].n;
		if (r->dig[i].n)
			memcpy(d->buf + off, r->dig[i].p, r->dig[i].n);
		off = (uint16_t)(off + r->dig[i].n);
	}
	d->alg = r->alg;
}

/* The realm for WWW-Authenticate: given, else the IMPI's domain (after the
 * last '@', RFC 4282 NAI). Returns 0 or AKV_EPROTO when there is none. */
static int
pick_realm(const char *impi, size_t impi_len, const char *realm, size_t realm_len, uint8_t *ctx,
	   uint8_t *ctx_realm_len)
{
	const char *s = realm;
	size_t n = realm_len;

	if (!n) {
		const char *at = memrchr(impi, '@', impi_len);

		if (!at || at + 1 == impi + impi_len)
			return AKV_EPROTO;
		s = at + 1;
		n = (size_t)(impi + impi_len - s);
	}
	memcpy(ctx + CTX_REALM, s, n);
	*ctx_realm_len = (uint8_t)n;
	return 0;
}

/* The engine request's header and identities (all ops; VERIFY has n,
 * scheme and IMPU length 0 and no IND hint). */
static void
fill_ids(const struct avs1_conn *c, uint8_t op, const struct ident *x, struct akv_eng_req *q)
{
	q->op = op; /* AVS/1 opcodes 1..4 are enum akv_op */
	q->scheme = x->scheme;
	q->n = x->n;
	/* The operator's per-peer IND slot wins over the peer's own hint
	 * (TS 33.102 C.3.4: IND values partition the SQN space among issuers). */
	q->ind = (int16_t)(c->ind >= 0 ? c->ind : x->ind == AKV_AVS1_IND_NONE ? -1 : x->ind);
	q->impi_len = x->impi_len;
	akv_copy_short(q->impi, x->impi, x->impi_len);
	q->impi[x->impi_len] = 0;
	q->impu_len = x->impu_len;
	if (x->impu_len) { /* untouched otherwise: its line stays off this request */
		akv_copy_short(q->impu, x->impu, x->impu_len);
		q->impu[x->impu_len] = 0;
	}
}

/* With the WWW flag: the realm into ctx and AKV_PROTO_DISPATCH, or when
 * there is none the error answer (reply_error's result). Out of line: most
 * requests do not ask for WWW-Authenticate. */
static __attribute__((noinline)) int
www_realm(const char *impi, size_t impi_len, const char *realm, size_t realm_len, uint8_t op,
	  uint64_t id, uint8_t *ctx, uint8_t *ctx_realm_len, uint8_t *out, size_t cap,
	  size_t *out_len)
{
	if (!pick_realm(impi, impi_len, realm, realm_len, ctx, ctx_realm_len))
		return AKV_PROTO_DISPATCH;
	count(&cnt_malformed);
	return reply_error(op, id, AKV_EPROTO, "WWW flag without a realm, and no '@' in IMPI", out,
			   cap, out_len);
}

/* A valid CHALLENGE, RESYNC or VECTORS request into the slot: the engine
 * request and what encode() needs in ctx. */
static inline int
ident_dispatch(const struct avs1_conn *c, uint8_t op, uint8_t flags, uint64_t id,
	       const struct ident *x, struct akv_proto_slot *slot, uint8_t *out, size_t cap,
	       size_t *out_len)
{
	struct akv_eng_req *q = slot->req;
	uint8_t realm_len = 0;

	if (flags & AKV_AVS1_F_WWW) {
		int rc = www_realm(x->impi, x->impi_len, x->realm, x->realm_len, op, id, slot->ctx,
				   &realm_len, out, cap, out_len);

		if (rc != AKV_PROTO_DISPATCH)
			return rc;
	}
	fill_ids(c, op, x, q);
	if (op == AKV_AVS1_RESYNC) {
		memcpy(q->rand, x->rand, 16);
		memcpy(q->auts, x->auts, 14);
	}
	ctx_put(slot->ctx, id, op, flags, realm_len);
	return AKV_PROTO_DISPATCH;
}

/* The common request, CHALLENGE or VECTORS with flags 0 (so no realm), a
 * valid header already checked: validated and taken into the slot with its
 * fields in registers, as ident_parse() + ident_dispatch() would (the same
 * rules, here for flags 0: IMPI not empty, lengths matching the frame, no
 * realm, identity bytes per id_ok(), n 1..32, scheme 0..2). Returns 1 when
 * it is ready to dispatch; 0 for any fault, leaving the slot's request
 * unfinished: then ident_parse() decides and words the error answer.
 * (Through ident_parse, struct ident and the error text's pointer went
 * through the stack for every request.) */
static inline int
ident_plain(const struct avs1_conn *c, const uint8_t *msg, size_t len, uint8_t op,
	    struct akv_proto_slot *slot)
{
	const uint8_t *b = msg + AKV_AVS1_HDR_LEN;
	size_t blen = len - AKV_AVS1_HDR_LEN;
	unsigned n, scheme, impi_len, impu_len;
	struct ident x;

	if (blen < IDENT_FIXED)
		return 0;
	n = b[0];
	scheme = b[1];
	impi_len = b[3];
	impu_len = b[4];
	if (b[5] || blen != IDENT_FIXED + impi_len + impu_len || !impi_len || n - 1 >= AKV_VEC_MAX ||
	    scheme > AKV_SCHEME_AKAV2_MD5 ||
	    !id_ok((const char *)b + IDENT_FIXED, (size_t)impi_len + impu_len))
		return 0;
	x.n = (uint8_t)n;
	x.scheme = (uint8_t)scheme;
	x.ind = b[2];
	x.impi_len = (uint8_t)impi_len;
	x.impu_len = (uint8_t)impu_len;
	x.impi = (const char *)b + IDENT_FIXED;
	x.impu = x.impi + impi_len;
	fill_ids(c, op, &x, slot->req);
	ctx_put(slot->ctx, akv_get_be64(msg + 8), op, 0, 0);
	return 1;
}

/* A request decoded by akv_avs1_req_decode (every op but the identity ops
 * with a valid header, which on_msg takes straight from the frame). */
static int
on_decoded(const struct avs1_conn *c, const struct akv_avs1_req *r, struct akv_proto_slot *slot,
	   uint8_t *out, size_t cap, size_t *out_len)
{
	struct akv_eng_req *q = slot->req;
	struct ident x = {
		.n = r->n, .scheme = r->scheme, .ind = r->ind, .impi_len = (uint8_t)r->impi_len,
		.impu_len = (uint8_t)r->impu_len, .realm_len = (uint8_t)r->realm_len,
		.rand = r->rand, .auts = r->auts, .impi = r->impi, .impu = r->impu,
		.realm = r->realm,
	};

	switch (r->op) {
	case AKV_AVS1_PING: {
		struct akv_avs1_ans a;
		int n;

		a.op = AKV_AVS1_PING;
		a.flags = 0;
		a.id = r->id;
		a.data = r->data;
		a.data_len = r->data_len;
		n = akv_avs1_ans_encode(&a, out, cap);
		if (n < 0)
			return n;
		*out_len = (size_t)n;
		return AKV_PROTO_REPLY;
	}
	case AKV_AVS1_STATS:
		return reply_stats(r, out, cap, out_len);
	case AKV_AVS1_VERIFY:
		break;
	default:
		return ident_dispatch(c, r->op, r->flags, r->id, &x, slot, out, cap, out_len);
	}
	fill_ids(c, r->op, &x, q);
	q->verify_kind = r->kind;
	if (r->kind == AKV_AVS1_VERIFY_RES) {
		memcpy(q->rand, r->rand, 16);
		memcpy(q->res, r->res, r->res_len);
		q->res_len = r->res_len;
	} else {
		fill_digest(r, slot->digest);
		q->digest = slot->digest;
	}
	ctx_put(slot->ctx, r->id, r->op, r->flags, 0);
	return AKV_PROTO_DISPATCH;
}

/* Every request but a well-formed identity op: through akv_avs1_req_decode
 * (out of line: struct akv_avs1_req is a large frame). */
static __attribute__((noinline)) int
on_msg_general(const struct avs1_conn *c, const uint8_t *msg, size_t len,
	       struct akv_proto_slot *slot, uint8_t *out, size_t cap, size_t *out_len)
{
	struct akv_avs1_req r;
	const char *why;
	int err = akv_avs1_req_decode(msg, len, &r, &why);

	if (err) {
		count_bad(msg, err);
		return reply_error(msg[5], r.id, err, why, out, cap, out_len);
	}
	return on_decoded(c, &r, slot, out, cap, out_len);
}

/* CHALLENGE, RESYNC, VECTORS with a valid header that ident_plain() did
 * not take (RESYNC, WWW, or a fault): through ident_parse(), which words
 * the error answer. Out of line: its struct ident and error text need a
 * stack frame the common case does without. */
static __attribute__((noinline)) int
on_msg_ident(const struct avs1_conn *c, const uint8_t *msg, size_t len, uint8_t op, uint8_t flags,
	     struct akv_proto_slot *slot, uint8_t *out, size_t cap, size_t *out_len)
{
	struct ident x = { .ind = AKV_AVS1_IND_NONE };
	uint64_t id = akv_get_be64(msg + 8);
	const char *why;
	int err = ident_parse(msg + AKV_AVS1_HDR_LEN, len - AKV_AVS1_HDR_LEN, op, flags, &x, &why);

	if (!err)
		return ident_dispatch(c, op, flags, id, &x, slot, out, cap, out_len);
	count_bad(msg, err);
	return reply_error(op, id, err, why, out, cap, out_len);
}

static int
on_msg(void *st, const uint8_t *msg, size_t len, struct akv_proto_slot *slot, uint8_t *out,
       size_t cap, size_t *out_len)
{
	const struct avs1_conn *c = st;
	uint8_t op, flags;
	const char *why;

	*out_len = 0;
	if (len < AKV_AVS1_HDR_LEN)
		return AKV_EPROTO; /* frame_len never lets this through */
	op = msg[5];
	flags = msg[6];
	/* CHALLENGE, RESYNC, VECTORS with a valid header (the checks of
	 * akv_avs1_req_decode, which answers the rest): straight from the frame
	 * into the engine request, without struct akv_avs1_req in between */
	if ((op != AKV_AVS1_CHALLENGE && op != AKV_AVS1_RESYNC && op != AKV_AVS1_VECTORS) ||
	    akv_get_be32(msg) != len || hdr_check(msg, &why))
		return on_msg_general(c, msg, len, slot, out, cap, out_len);
	if (!flags && op != AKV_AVS1_RESYNC && ident_plain(c, msg, len, op, slot))
		return AKV_PROTO_DISPATCH;
	return on_msg_ident(c, msg, len, op, flags, slot, out, cap, out_len);
}

_Static_assert(offsetof(struct akv_eng_vec, rand) == 0 &&
		   offsetof(struct akv_eng_vec, autn) == 16 &&
		   offsetof(struct akv_eng_vec, ck) == 32 &&
		   offsetof(struct akv_eng_vec, ik) == 48,
	       "a vector's RAND AUTN CK IK are the 64 bytes a challenge answer carries");

/* The common answer, CHALLENGE or RESYNC without WWW-Authenticate values
 * (docs/PROTOCOL.md: header, n, scheme, then RAND AUTN CK IK per vector),
 * written in place: the bytes akv_avs1_ans_encode writes for it, without
 * its per-op and per-vector branches. Returns the length, or 0 when the answer is another kind, an engine
 * error, out of range or larger than cap: then the general encoder decides. */
static inline size_t
encode_challenge(const struct akv_eng_req *q, const uint8_t *ctx, uint8_t *out, size_t cap)
{
	/* the request's fields in locals, read once: stores into out may
	 * alias them as far as the compiler knows */
	unsigned nvec = q->nvec;
	const struct akv_eng_vec *v = q->vec;
	size_t len = AKV_AVS1_HDR_LEN + 2 + (size_t)nvec * VEC_CHAL_LEN;
	uint8_t *p = out + AKV_AVS1_HDR_LEN + 2;
	uint64_t id;
	uint32_t w;
	uint8_t op;

	/* ctx_get's fields without struct avs1_ctx: only encode_general,
	 * which the rest goes to, needs one in memory */
	memcpy(&id, ctx + CTX_ID, 8);
	memcpy(&w, ctx + CTX_WORD, 4);
	op = (uint8_t)w;
	/* flags (w's second byte) were checked at decode: without WWW they are 0 */
	if (q->err || (op != AKV_AVS1_CHALLENGE && op != AKV_AVS1_RESYNC) || (w & 0xff00) ||
	    nvec == 0 || nvec > AKV_VEC_MAX || q->scheme_used > AKV_SCHEME_AKAV2_MD5 || len > cap)
		return 0;
	put_hdr(out, len, op | AKV_AVS1_ANS_BIT, 0, id);
	out[AKV_AVS1_HDR_LEN] = (uint8_t)nvec;
	out[AKV_AVS1_HDR_LEN + 1] = q->scheme_used;
	for (unsigned i = 0; i < nvec; i++, p += VEC_CHAL_LEN)
		memcpy(p, &v[i], VEC_CHAL_LEN); /* RAND AUTN CK IK: the layout asserted above */
	return len;
}

/* Every other answer, through akv_avs1_ans_encode (out of line: its
 * struct akv_avs1_ans is a large frame the common answer does without). */
static __attribute__((noinline)) int
encode_general(const struct akv_eng_req *q, const uint8_t *ctx, uint8_t *out, size_t cap)
{
	struct avs1_ctx fields, *x = &fields;
	struct akv_avs1_ans a;
	size_t n;
	int rc;

	ctx_get(ctx, x);
	a.op = x->op;
	a.id = x->id;
	/* never an error answer here (the request's flags passed flags_ok(),
	 * F_ERROR is not among them): its fields set anyway, so that no path
	 * reads them unset */
	a.err = 0;
	a.text = NULL;
	a.text_len = 0;
	if (q->err) {
		rc = reply_error(x->op, x->id, q->err, NULL, out, cap, &n);
		return rc < 0 ? rc : (int)n;
	}
	a.flags = 0;
	rc = 0;
	switch (x->op) {
	case AKV_AVS1_VERIFY:
		a.verdict = q->verdict;
		a.attempts_left = q->attempts_left;
		if (q->verdict == AKV_VERDICT_OK) {
			memcpy(a.ck, q->vec[0].ck, 16);
			memcpy(a.ik, q->vec[0].ik, 16);
		}
		break;
	case AKV_AVS1_CHALLENGE:
	case AKV_AVS1_RESYNC:
	case AKV_AVS1_VECTORS:
		a.flags = x->flags;
		a.scheme = q->scheme_used;
		a.nvec = (uint8_t)(q->nvec > AKV_VEC_MAX ? 0 : q->nvec);
		a.vec = q->vec;
		a.www[0] = NULL;
		a.realm = x->realm;
		a.realm_len = x->realm_len;
		break;
	default:
		rc = AKV_EINVAL; /* PING and STATS are answered where they arrive */
		break;
	}
	if (!rc)
		rc = akv_avs1_ans_encode(&a, out, cap);
	if (a.op == AKV_AVS1_VERIFY)
		akv_wipe(&a.ck, sizeof(a.ck) + sizeof(a.ik));
	if (rc == AKV_EINVAL) {
		/* the engine answered something the wire cannot carry (no vector,
		 * bad scheme, an op no worker answers): tell the peer instead of
		 * closing */
		rc = reply_error(x->op, x->id, AKV_EINVAL, "engine answer out of range", out, cap,
				 &n);
		return rc < 0 ? rc : (int)n;
	}
	return rc;
}

static int
encode(void *st, const struct akv_proto_slot *slot, uint8_t *out, size_t cap)
{
	size_t n;

	(void)st;
	n = encode_challenge(slot->req, slot->ctx, out, cap);
	return n ? (int)n : encode_general(slot->req, slot->ctx, out, cap);
}

const struct akv_proto_ops akv_avs1_ops = {
    .name = "avs1",
    .conn_state_size = sizeof(struct avs1_conn),
    .allow_list = 1,
    /* 12 bytes, then the realm if the request named one: one line for
     * realms of up to 52 bytes */
    .ctx_lines = 1,
    .conn_init = conn_init,
    .frame_len = frame_len_counted,
    .on_msg = on_msg,
    .encode = encode,
    .on_idle = NULL,
    .conn_fini = NULL,
};

/*
 * dia.c - Diameter base protocol codec (RFC 6733 §3, §4): framing, strict
 * validation with the Result-Code each fault earns (§7.1, §7.5), AVP
 * iteration and lookup, the writer, and client-side builders/parsers.
 */
#include "proto/dia.h"

#include <string.h>

#include "core/err.h"
#include "proto/bytes.h"

/* ==== Byte helpers ==== */

static size_t
pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* ==== Decoding ==== */

/* see dia.h */
int
akv_dia_frame_len(const uint8_t *buf, size_t len, size_t max)
{
	uint32_t mlen;

	if (len < 4)
		return AKV_EPARTIAL;
	/* §3: Version MUST be 1; Message Length covers header and padded AVPs,
	 * so it is at least 20 and a multiple of 4. Anything else means we no
	 * longer know where the next message starts. */
	if (buf[0] != AKV_DIA_VERSION)
		return AKV_EPROTO;
	mlen = akv_get_be24(buf + 1);
	if (mlen < AKV_DIA_HDR_LEN || (mlen & 3))
		return AKV_EPROTO;
	if (mlen > max)
		return AKV_ETOOBIG;
	return (int)mlen;
}

/* see dia.h */
int
akv_dia_hdr_decode(const uint8_t *buf, size_t len, struct akv_dia_hdr *h)
{
	if (len < AKV_DIA_HDR_LEN)
		return AKV_EPROTO;
	h->version = buf[0];
	h->len = akv_get_be24(buf + 1);
	h->flags = buf[4];
	h->cmd = akv_get_be24(buf + 5);
	h->app = akv_get_be32(buf + 8);
	h->hbh = akv_get_be32(buf + 12);
	h->e2e = akv_get_be32(buf + 16);
	return 0;
}

/* RFC 3629 §4: well-formed UTF-8 (no overlongs, surrogates, > U+10FFFF). */
static __attribute__((noinline)) int
utf8_valid_mb(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp;
		uint64_t w;

		/* ASCII runs eight bytes at a time */
		if (n - i >= 8 && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080u))) {
			i += 8;
			continue;
		}
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += k + 1;
	}
	return 1;
}

#define ONES  0x0101010101010101u
#define HIGHS 0x8080808080808080u

/* The bytes of s[0..n) folded into one word by f, eight at a time; the last
 * word overlaps the one before it instead of a byte loop (f is applied to
 * some bytes twice, which tests of "does any byte ..." do not mind).
 * Below 8 bytes: two overlapping 4-byte loads, or the bytes one by one. */
#define FOLD_WORDS(s, n, acc, f)                                                         \
	do {                                                                             \
		uint64_t w_;                                                             \
		uint32_t h_;                                                             \
		size_t i_;                                                               \
		if ((n) >= 8) {                                                          \
			for (i_ = 0; i_ + 8 < (n); i_ += 8) {                            \
				memcpy(&w_, (s) + i_, 8);                                \
				acc |= f(w_);                                            \
			}                                                                \
			memcpy(&w_, (s) + (n) - 8, 8);                                   \
			acc |= f(w_);                                                    \
		} else if ((n) >= 4) {                                                   \
			memcpy(&h_, (s), 4);                                             \
			w_ = h_;                                                         \
			memcpy(&h_, (s) + (n) - 4, 4);                                   \
			w_ |= (uint64_t)h_ << 32;                                        \
			acc |= f(w_);                                                    \
		} else {                                                                 \
			for (i_ = 0, w_ = 0; i_ < (n); i_++)                             \
				w_ |= (uint64_t)(s)[i_] << (8 * i_);                     \
			/* the missing bytes must pass: copies of the first */           \
			for (; i_ < 8 && (n); i_++)                                      \
				w_ |= (uint64_t)(s)[0] << (8 * i_);                      \
			acc |= f(w_);                                                    \
		}                                                                        \
	} while (0)

#define ASCII_BITS(w) ((w) & HIGHS)
/* a byte below 0x21 borrows into its clear high bit when 0x21 is subtracted;
 * a byte above 0x7e has its high bit set before or after adding 1 (the exact
 * "has less" / "has more" word tests: only whether any byte fails is used) */
#define NONIDENT_BITS(w) ((((w) - ONES * 0x21) & ~(w)) | ((w) + ONES) | (w))

/* 16-byte lanes (GNU C vector extensions: SSE2 on x86-64) for strings of
 * 16 bytes and more: Session-Ids, identities, Server-Names. */
typedef uint8_t v16u __attribute__((vector_size(16)));
typedef int8_t v16s __attribute__((vector_size(16)));

/* The OR of a vector's two 8-byte halves. */
static inline uint64_t
v16_fold(v16u v)
{
	uint64_t h[2];

	memcpy(h, &v, 16);
	return h[0] | h[1];
}

/* Identities, Session-Ids and scheme names are ASCII: one OR over the
 * string settles them, the byte-wise decoder runs only when a byte has its
 * high bit set. */
static inline int
utf8_valid(const uint8_t *s, size_t n)
{
	uint64_t acc = 0;

	if (n >= 16) {
		/* sixteen bytes a step, the last step overlapping */
		v16u a = { 0 }, v;

		for (size_t i = 0; i + 16 < n; i += 16) {
			memcpy(&v, s + i, 16);
			a |= v;
		}
		memcpy(&v, s + n - 16, 16);
		a |= v;
		acc = v16_fold(a);
	} else {
		FOLD_WORDS(s, n, acc, ASCII_BITS);
	}
	return !(acc & HIGHS) || utf8_valid_mb(s, n);
}

/* DiameterIdentity (§4.3.1): an FQDN/realm, printable ASCII, no spaces:
 * every byte in 0x21..0x7e. */
static inline int
ident_valid(const uint8_t *s, size_t n)
{
	uint64_t bad = 0;

	if (n == 0)
		return 0;
	if (n >= 16) {
		/* as signed bytes, 0x80..0xff are negative: a byte is bad
		 * when below 0x21 or 0x7f itself */
		v16s b = { 0 }, v;

		for (size_t i = 0; i + 16 < n; i += 16) {
			memcpy(&v, s + i, 16);
			b |= (v < 0x21) | (v == 0x7f);
		}
		memcpy(&v, s + n - 16, 16);
		b |= (v < 0x21) | (v == 0x7f);
		return !v16_fold((v16u)b);
	}
	FOLD_WORDS(s, n, bad, NONIDENT_BITS);
	return !(bad & HIGHS);
}

/* see dia.h */
void
akv_dia_err_avp(struct akv_dia_error *err, uint32_t rc, const struct akv_dia_avp *avp,
		const char *text)
{
	err->result_code = rc;
	err->text = text;
	err->failed_len = 0;
	if (!avp)
		return;
	if (avp->raw_len <= AKV_DIA_FAILED_MAX) {
		memcpy(err->failed, avp->raw, avp->raw_len);
		err->failed_len = (uint16_t)avp->raw_len;
	} else {
		/* Too big to echo: its header with an empty payload. */
		size_t hl = avp->vendor || (avp->flags & AKV_DIA_AVP_F_V) ? 12 : 8;

		memcpy(err->failed, avp->raw, hl);
		akv_put_be24(err->failed + 5, (uint32_t)hl);
		err->failed_len = (uint16_t)hl;
	}
}

/* §7.5: for a missing AVP or a length that cannot be trusted, the Failed-AVP
 * carries the AVP header and a zero-filled payload of the type's minimum. */
static void
err_synth(struct akv_dia_error *err, uint32_t rc, uint32_t code, uint8_t flags, uint32_t vendor,
	  const char *text)
{
	const struct akv_dia_avp_def *d = akv_dia_avp_lookup(code, vendor);
	size_t hl = vendor ? 12 : 8, dl = 0;

	if (d) {
		dl = akv_dia_type_fixed_len(d->type);
		if (d->type == AKV_DIA_T_ADDR)
			dl = 6;
	}
	memset(err->failed, 0, hl + dl);
	akv_put_be32(err->failed, code);
	err->failed[4] = vendor ? (flags | AKV_DIA_AVP_F_V) : (flags & ~AKV_DIA_AVP_F_V);
	akv_put_be24(err->failed + 5, (uint32_t)(hl + dl));
	if (vendor)
		akv_put_be32(err->failed + 8, vendor);
	if (d && d->type == AKV_DIA_T_ADDR)
		err->failed[hl + 1] = 1;	/* family IPv4 */
	err->failed_len = (uint16_t)(hl + dl);
	err->result_code = rc;
	err->text = text;
}

/* see dia.h */
void
akv_dia_err_missing(struct akv_dia_error *err, uint32_t code, uint32_t vendor)
{
	const struct akv_dia_avp_def *d = akv_dia_avp_lookup(code, vendor);
	uint8_t flags = (!d || d->mandatory) ? AKV_DIA_AVP_F_M : 0;

	err_synth(err, AKV_DIA_MISSING_AVP, code, flags, vendor, "missing AVP");
}

/* AVP Length of the header at p (8 readable bytes): the flags byte and the
 * 24-bit length in one 32-bit load. */
static inline uint32_t
avp_len(const uint8_t *p)
{
	return akv_get_be32(p + 4) & 0xffffff;
}


/* Bytes an AVP of Length rl occupies in an area with n bytes left (rl <= n). */
static inline size_t
avp_used(uint32_t rl, size_t n)
{
	return pad4(rl) <= n ? pad4(rl) : rl;
}

/* What can be wrong with a value of a non-Grouped type (0: nothing). */
enum value_fault {
	VF_NONE = 0,
	VF_LENGTH,	/* fixed-size type with another length */
	VF_UTF8,
	VF_IDENT,
	VF_ADDR_SHORT,	/* Address without its family */
	VF_ADDR,	/* Address length not that of its family */
};

/* Judges the data of a known, non-Grouped AVP against its type (dictionary
 * info word); inlined into the walk, which reads each header once. */
static inline enum value_fault
value_fault(const uint8_t *d, uint32_t len, uint32_t info)
{
	uint32_t fixed = AKV_DIA_INFO_FIXED(info);

	/* Unsigned32, Integer32, Enumerated, Time, Unsigned64: any value of
	 * the right length is valid. */
	if (fixed)
		return len == fixed ? VF_NONE : VF_LENGTH;
	switch (AKV_DIA_INFO_TYPE(info)) {
	case AKV_DIA_T_UTF8:
		return utf8_valid(d, len) ? VF_NONE : VF_UTF8;
	case AKV_DIA_T_IDENT:
		return ident_valid(d, len) ? VF_NONE : VF_IDENT;
	case AKV_DIA_T_ADDR: {
		/* §4.3.1 Address: 2-octet family (RFC IANA numbers) + address. */
		uint16_t fam;

		if (len < 2)
			return VF_ADDR_SHORT;
		fam = akv_get_be16(d);
		return (fam == 1 && len != 6) || (fam == 2 && len != 18) ? VF_ADDR : VF_NONE;
	}
	default:
		return VF_NONE;
	}
}

/* The Result-Code and Failed-AVP of a value fault (RFC 6733 §7.1.5). */
static __attribute__((cold, noinline)) int
fault_value(const struct akv_dia_avp *a, enum value_fault f, struct akv_dia_error *err)
{
	switch (f) {
	case VF_LENGTH:
		akv_dia_err_avp(err, AKV_DIA_INVALID_AVP_LENGTH, a,
				"AVP length does not fit its type");
		break;
	case VF_UTF8:
		akv_dia_err_avp(err, AKV_DIA_INVALID_AVP_VALUE, a, "invalid UTF-8");
		break;
	case VF_IDENT:
		akv_dia_err_avp(err, AKV_DIA_INVALID_AVP_VALUE, a, "invalid DiameterIdentity");
		break;
	case VF_ADDR_SHORT:
		akv_dia_err_avp(err, AKV_DIA_INVALID_AVP_LENGTH, a, "invalid Address");
		break;
	default:
		akv_dia_err_avp(err, AKV_DIA_INVALID_AVP_VALUE, a, "invalid Address");
		break;
	}
	return -1;
}

static int check_members(const uint8_t *p, size_t n, unsigned depth, struct akv_dia_error *err);
static int check_quoted(const uint8_t *p, size_t n, struct akv_dia_error *err);

/* Checks a Grouped AVP's members (recursively); quoted: it is a Failed-AVP,
 * whose members were wrong by definition, so only their layout is checked,
 * not their types or M bits. 0 ok, or -1 with err set. */
static int
check_grouped(const struct akv_dia_avp *a, int quoted, unsigned depth, struct akv_dia_error *err)
{
	if (depth + 1 >= AKV_DIA_DEPTH_MAX) {
		akv_dia_err_avp(err, AKV_DIA_INVALID_AVP_VALUE, a, "Grouped AVPs nested too deep");
		return -1;
	}
	if ((quoted ? check_quoted(a->data, a->len, err)
		    : check_members(a->data, a->len, depth + 1, err)) < 0) {
		/* A broken member layout makes the Grouped's length wrong. */
		if (err->result_code == AKV_DIA_INVALID_MESSAGE_LENGTH)
			akv_dia_err_avp(err, AKV_DIA_INVALID_AVP_LENGTH, a,
					"Grouped AVP length does not match its members");
		return -1;
	}
	return 0;
}

/* see dia.h */
int
akv_dia_avp_valid(const struct akv_dia_avp *a)
{
	uint32_t info = akv_dia_avp_info(a->code, a->vendor);
	struct akv_dia_error err;

	if (!info)
		return 1;
	if (AKV_DIA_INFO_TYPE(info) == AKV_DIA_T_GROUPED)
		return check_grouped(a, a->code == AKV_DIA_AVP_FAILED_AVP && !a->vendor, 0,
				     &err) == 0;
	return value_fault(a->data, a->len, info) == VF_NONE;
}

/* ---- check_area's faults, out of the hot loop ---- */

/* Bytes left over that cannot hold an AVP header. */
static __attribute__((cold, noinline)) int
fault_msg_length(struct akv_dia_error *err)
{
	err->result_code = AKV_DIA_INVALID_MESSAGE_LENGTH;
	err->text = "message length does not match its AVPs";
	err->failed_len = 0;
	return -1;
}

static __attribute__((cold, noinline)) int
fault_reserved_bits(const uint8_t *p, size_t n, struct akv_dia_error *err)
{
	struct akv_dia_avp a;
	struct akv_dia_avp h = { .code = akv_get_be32(p), .flags = p[4], .raw = p };

	if (akv_dia_avp_read(p, n, &a)) {
		akv_dia_err_avp(err, AKV_DIA_INVALID_AVP_BITS, &a, "reserved AVP flag bits set");
	} else {
		h.raw_len = 8;
		akv_dia_err_avp(err, AKV_DIA_INVALID_AVP_BITS, &h, "reserved AVP flag bits set");
		akv_put_be24(err->failed + 5, 8);
		err->failed[4] &= ~AKV_DIA_AVP_F_V;
	}
	return -1;
}

/* Shorter than its header or past the end of the message: §7.1.5
 * DIAMETER_INVALID_AVP_LENGTH, header + minimum. */
static __attribute__((cold, noinline)) int
fault_avp_length(const uint8_t *p, size_t n, struct akv_dia_error *err)
{
	uint32_t vendor = (p[4] & AKV_DIA_AVP_F_V) && n >= 12 ? akv_get_be32(p + 8) : 0;

	err_synth(err, AKV_DIA_INVALID_AVP_LENGTH, akv_get_be32(p), p[4], vendor,
		  "AVP length invalid");
	return -1;
}

/* §4.1: an unrecognised AVP with M set fails the message. */
static __attribute__((cold, noinline)) int
fault_unsupported(const uint8_t *p, size_t n, struct akv_dia_error *err)
{
	struct akv_dia_avp a;

	/* the header was validated: the read cannot fail, but never quote
	 * a view it did not fill */
	akv_dia_err_avp(err, AKV_DIA_AVP_UNSUPPORTED, akv_dia_avp_read(p, n, &a) ? &a : NULL,
			"unsupported AVP with M bit");
	return -1;
}

static __attribute__((cold, noinline)) int
fault_value_at(const uint8_t *p, size_t n, enum value_fault f, struct akv_dia_error *err)
{
	struct akv_dia_avp a;

	/* as in fault_unsupported */
	return fault_value(akv_dia_avp_read(p, n, &a) ? &a : NULL, f, err);
}

/* One more top-level instance of row r, its header at offset off. */
static inline void
idx_add(struct akv_dia_idx *x, unsigned r, uint32_t off)
{
	unsigned c = x->count[r];

	if (!c)
		x->first[r] = off;
	x->count[r] = (uint8_t)(c + (c != 255));
}

/* When a run of the memo starts at p (an AVP boundary, n >= 8 bytes left):
 * indexes its AVPs at their offsets, sets *used to its length, returns 1. */
static inline int
memo_match(const struct akv_dia_memo *m, const uint8_t *p, size_t n, struct akv_dia_idx *x,
	   size_t *used)
{
	uint64_t head;

	memcpy(&head, p, 8);
	for (unsigned k = 0; k < m->nrun; k++) {
		const struct akv_dia_memo_run *r = &m->run[k];
		uint32_t base;

		if (head != r->head || r->len > n || !akv_bytes_eq(p, m->bytes + r->off, r->len))
			continue;
		base = (uint32_t)(p - x->msg);
		for (unsigned i = 0; i < r->navp; i++)
			idx_add(x, r->row[i], base + r->at[i]);
		*used = r->len;
		return 1;
	}
	return 0;
}

/* How check_area() walks an area: the message's top level (checked and
 * indexed; WALK_MEMO: runs a peer's memo knows are indexed from it), a
 * Grouped AVP's members (checked), or the members of a quoted Failed-AVP
 * (layout only). A constant argument of the inlined walk, so each
 * walker carries only its own tests. */
enum walk_mode { WALK_TOP, WALK_MEMO, WALK_MEMBERS, WALK_QUOTED };

/* Checks every AVP in [p, p+n), each header read once; WALK_TOP indexes the
 * known AVPs into x as it goes. Returns 0, or -1 with err set at the first
 * fault in message order. */
static inline __attribute__((always_inline)) int
check_area(const uint8_t *p, size_t n, unsigned depth, enum walk_mode mode,
	   struct akv_dia_error *err, struct akv_dia_idx *x, struct akv_dia_memo *memo,
	   int *hit)
{
	while (n > 0) {
		uint32_t w, rl, hl, code, vendor, info;
		size_t used;

		if (n < AKV_DIA_AVP_HDR_LEN)
			return fault_msg_length(err);
		if (mode == WALK_MEMO && memo_match(memo, p, n, x, &used)) {
			*hit = 1;
			goto next;
		}
		/* flags and the 24-bit AVP Length in one load */
		w = akv_get_be32(p + 4);
		if (mode != WALK_QUOTED && (w & (uint32_t)AKV_DIA_AVP_F_RESERVED << 24))
			return fault_reserved_bits(p, n, err);
		rl = w & 0xffffff;
		/* 12 with the V bit (bit 31 of w), else 8 */
		hl = AKV_DIA_AVP_HDR_LEN + (w >> 29 & 4);
		/* hl <= rl <= n (so n >= hl too) */
		if (rl < hl || rl > n)
			return fault_avp_length(p, n, err);
		used = avp_used(rl, n);
		if (mode == WALK_QUOTED)
			goto next;
		code = akv_get_be32(p);
		vendor = hl == 12 ? akv_get_be32(p + 8) : 0;
		info = akv_dia_avp_info(code, vendor);
		if (!info) {
			/* §4.1: without M an unknown AVP is ignored. */
			if (w & (uint32_t)AKV_DIA_AVP_F_M << 24)
				return fault_unsupported(p, n, err);
			goto next;
		}
		if (AKV_DIA_INFO_TYPE(info) != AKV_DIA_T_GROUPED) {
			enum value_fault f = value_fault(p + hl, rl - hl, info);

			if (f != VF_NONE)
				return fault_value_at(p, n, f, err);
		} else {
			/* the view akv_dia_avp_read() would give, from the
			 * registers; "quoted" too: the view's code and vendor
			 * stored as two words and compared as one 8-byte load
			 * would wait for them (no store forwarding across two
			 * stores) */
			struct akv_dia_avp a = {
				.code = code, .vendor = vendor, .flags = (uint8_t)(w >> 24),
				.len = rl - hl, .data = p + hl, .raw = p, .raw_len = rl,
			};

			if (check_grouped(&a, code == AKV_DIA_AVP_FAILED_AVP && !vendor, depth,
					  err) < 0)
				return -1;
		}
		if (mode == WALK_TOP || mode == WALK_MEMO)
			idx_add(x, AKV_DIA_INFO_ROW(info), (uint32_t)(p - x->msg));
next:
		p += used;
		n -= used;
	}
	return 0;
}

/* A Grouped AVP's members (recursion through check_grouped). */
static __attribute__((noinline)) int
check_members(const uint8_t *p, size_t n, unsigned depth, struct akv_dia_error *err)
{
	return check_area(p, n, depth, WALK_MEMBERS, err, NULL, NULL, NULL);
}

/* A quoted Failed-AVP's members: layout only. */
static __attribute__((noinline)) int
check_quoted(const uint8_t *p, size_t n, struct akv_dia_error *err)
{
	return check_area(p, n, 0, WALK_QUOTED, err, NULL, NULL, NULL);
}

_Static_assert(AKV_DIA_NROWS <= AKV_DIA_IDX_SLOTS, "dictionary outgrew the message index");

static inline __attribute__((always_inline)) int
check_msg(const uint8_t *msg, size_t len, struct akv_dia_hdr *h, struct akv_dia_error *err,
	  struct akv_dia_idx *x, struct akv_dia_memo *memo, int *hit)
{
	err->result_code = 0;
	err->text = NULL;
	err->failed_len = 0;
	if (akv_dia_hdr_decode(msg, len, h) < 0 || h->version != AKV_DIA_VERSION ||
	    h->len != len || (len & 3))
		return AKV_EPROTO;
	/* §3: reserved bits MUST be 0; E is never set in a request. */
	if ((h->flags & AKV_DIA_F_RESERVED) ||
	    ((h->flags & AKV_DIA_F_REQ) && (h->flags & AKV_DIA_F_ERR))) {
		err->result_code = AKV_DIA_INVALID_HDR_BITS;
		err->text = "invalid command flag bits";
		return 0;
	}
	if (memo)
		check_area(msg + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN, 0, WALK_MEMO, err, x, memo,
			   hit);
	else if (x)
		check_area(msg + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN, 0, WALK_TOP, err, x, NULL,
			   NULL);
	else
		check_members(msg + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN, 0, err);
	return 0;
}

/* see dia.h */
int
akv_dia_check(const uint8_t *msg, size_t len, struct akv_dia_hdr *h, struct akv_dia_error *err)
{
	return check_msg(msg, len, h, err, NULL, NULL, NULL);
}

/* An empty index of msg, before the walk fills it. */
static inline __attribute__((always_inline)) void
idx_reset(struct akv_dia_idx *idx, const uint8_t *msg)
{
	/* 16-byte vector stores, not memset: GCC turns a 128-byte memset
	 * into `rep stosq`, and the walk's loads of count[] then wait for those
	 * stores to retire (no store forwarding from string stores) - a quarter
	 * of check_area's time under load. */
	typedef uint8_t v16 __attribute__((vector_size(16), may_alias, aligned(1)));
	v16 *c = (v16 *)idx->count, z = { 0 };

	_Static_assert(sizeof(idx->count) == 8 * sizeof(v16), "count[] is eight vectors");
	idx->msg = msg;
#ifndef __clang_analyzer__
	c[0] = z, c[1] = z, c[2] = z, c[3] = z, c[4] = z, c[5] = z, c[6] = z, c[7] = z;
#else
	/* the same in terms scan-build follows; it still takes count[] for
	 * unknown after the walk, so first[] (read only where count > 0) is
	 * zeroed too */
	(void)c, (void)z;
	memset(idx->count, 0, sizeof(idx->count));
	memset(idx->first, 0, sizeof(idx->first));
#endif
}

/* see dia.h */
int
akv_dia_check_idx(const uint8_t *msg, size_t len, struct akv_dia_hdr *h,
		  struct akv_dia_error *err, struct akv_dia_idx *idx)
{
	idx_reset(idx, msg);
	return check_msg(msg, len, h, err, idx, NULL, NULL);
}

/* Rows a peer tends to repeat byte for byte from one request to the next
 * (its identity, the application, fixed parameters): the memo's runs are
 * made of these. Only a matter of cost: any known AVP would do. */
static const uint8_t memo_row_ok[AKV_DIA_IDX_SLOTS] = {
	[AKV_DIA_ROW_ORIGIN_HOST] = 1,
	[AKV_DIA_ROW_ORIGIN_REALM] = 1,
	[AKV_DIA_ROW_DESTINATION_HOST] = 1,
	[AKV_DIA_ROW_DESTINATION_REALM] = 1,
	[AKV_DIA_ROW_ROUTE_RECORD] = 1,
	[AKV_DIA_ROW_VENDOR_SPECIFIC_APPLICATION_ID] = 1,
	[AKV_DIA_ROW_AUTH_APPLICATION_ID] = 1,
	[AKV_DIA_ROW_AUTH_SESSION_STATE] = 1,
	[AKV_DIA_ROW_SUPPORTED_FEATURES] = 1,
	[AKV_DIA_ROW_SERVER_NAME] = 1,
	[AKV_DIA_ROW_SIP_NUMBER_AUTH_ITEMS] = 1,
	[AKV_DIA_ROW_SIP_AUTH_DATA_ITEM] = 1,
	[AKV_DIA_ROW_SERVER_ASSIGNMENT_TYPE] = 1,
	[AKV_DIA_ROW_USER_DATA_ALREADY_AVAILABLE] = 1,
	[AKV_DIA_ROW_USER_AUTHORIZATION_TYPE] = 1,
};

/* Learns the memo's runs from a clean message's top level: the longest runs
 * of consecutive memo_row_ok AVPs, each with its padding inside the message
 * (so it fits wherever it recurs), that fit the memo. */
static __attribute__((noinline)) void
memo_learn(struct akv_dia_memo *m, const uint8_t *body, size_t n)
{
	struct akv_dia_memo_run cand[8], *cur = NULL;
	unsigned ncand = 0, used_bytes = 0;
	const uint8_t *p = body;

	m->nrun = 0;
	m->misses = 0;
	while (n >= AKV_DIA_AVP_HDR_LEN) {
		struct akv_dia_avp a;
		size_t used = akv_dia_avp_read(p, n, &a);
		uint32_t info = used ? akv_dia_avp_info(a.code, a.vendor) : 0;
		int ok = info && memo_row_ok[AKV_DIA_INFO_ROW(info)] && used == pad4(a.raw_len);

		if (!used)
			break;
		if (!ok || (cur && (cur->navp == AKV_DIA_MEMO_AVPS ||
				    cur->len + used > AKV_DIA_MEMO_BYTES))) {
			cur = NULL;
		}
		if (ok) {
			if (!cur) {
				if (ncand == sizeof(cand) / sizeof(cand[0]))
					break;
				cur = &cand[ncand++];
				memset(cur, 0, sizeof(*cur));
				cur->off = (uint16_t)(p - body);	/* in body, for now */
				memcpy(&cur->head, p, 8);
			}
			cur->row[cur->navp] = (uint8_t)AKV_DIA_INFO_ROW(info);
			cur->at[cur->navp++] = (uint16_t)(p - body - cur->off);
			cur->len = (uint16_t)(cur->len + used);
		}
		p += used;
		n -= used;
	}
	/* the longest first, while they fit; a lone short AVP is not worth it */
	while (m->nrun < AKV_DIA_MEMO_RUNS) {
		struct akv_dia_memo_run *best = NULL;

		for (unsigned i = 0; i < ncand; i++)
			if (cand[i].len && (!best || cand[i].len > best->len))
				best = &cand[i];
		if (!best || (best->navp < 2 && best->len < 32))
			break;
		if (used_bytes + best->len <= AKV_DIA_MEMO_BYTES) {
			struct akv_dia_memo_run *r = &m->run[m->nrun++];

			*r = *best;
			memcpy(m->bytes + used_bytes, body + best->off, best->len);
			r->off = (uint16_t)used_bytes;
			used_bytes += best->len;
		}
		best->len = 0;
	}
}

/* see dia.h */
int
akv_dia_check_memo(const uint8_t *msg, size_t len, struct akv_dia_hdr *h,
		   struct akv_dia_error *err, struct akv_dia_idx *idx, struct akv_dia_memo *memo)
{
	int hit = 0, rc;

	idx_reset(idx, msg);
	rc = check_msg(msg, len, h, err, idx, memo, &hit);
	if (hit) {
		memo->misses = 0;
		return rc;
	}
	/* a peer whose requests changed: learn again */
	if (memo->nrun && ++memo->misses >= 32)
		memo->nrun = 0;
	if (!memo->nrun && rc == 0 && !err->result_code && (h->flags & AKV_DIA_F_REQ) &&
	    h->app == AKV_DIA_APP_CX) {
		if (memo->wait) {
			memo->wait--;
		} else {
			memo_learn(memo, msg + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN);
			/* nothing worth keeping: look again a while later */
			if (!memo->nrun)
				memo->wait = 64;
		}
	}
	return rc;
}

/* ---- A peer's request shape ---- */

/* An AVP header's first 8 bytes without its AVP Length (bytes 5..7): code,
 * flags, nothing else, in one word (byte order is the machine's, the same
 * when learning and matching). */
static inline uint64_t
tpl_head(const uint8_t *p)
{
	static const uint8_t keep[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0 };
	uint64_t h, m;

	memcpy(&h, p, 8);
	memcpy(&m, keep, 8);
	return h & m;
}

/* see dia.h */
int
akv_dia_tpl_learn(struct akv_dia_tpl *t, const uint8_t *msg, size_t len,
		  const uint8_t is_hole[AKV_DIA_IDX_SLOTS])
{
	const uint8_t *p = msg + AKV_DIA_HDR_LEN;
	struct akv_dia_tpl_seg *fixed = NULL;
	size_t n, nb = 0;

	t->nseg = t->nhole = 0;
	if (len < AKV_DIA_HDR_LEN || (len & 3))
		return AKV_EINVAL;
	memcpy(&t->hdr, msg + 4, 8);
	for (n = len - AKV_DIA_HDR_LEN; n > 0;) {
		struct akv_dia_avp a;
		size_t used = akv_dia_avp_read(p, n, &a);
		uint32_t info = used ? akv_dia_avp_info(a.code, a.vendor) : 0;

		if (!used)
			goto unfit;	/* not after a clean check */
		if (info && is_hole[AKV_DIA_INFO_ROW(info)] &&
		    AKV_DIA_INFO_TYPE(info) != AKV_DIA_T_GROUPED) {
			struct akv_dia_tpl_seg *s = &t->seg[t->nseg];

			if (t->nseg == AKV_DIA_TPL_SEGS || t->nhole == AKV_DIA_TPL_HOLES)
				goto unfit;
			memset(s, 0, sizeof(*s));
			s->hole = 1;
			s->hl = (a.flags & AKV_DIA_AVP_F_V) ? 12 : 8;
			s->info = info;
			s->head = tpl_head(p);
			s->vendor = a.vendor;
			t->hole_row[t->nhole++] = (uint8_t)AKV_DIA_INFO_ROW(info);
			t->nseg++;
			fixed = NULL;
		} else {
			/* with its padding: at the top level of a clean message
			 * every AVP's padding is inside the message */
			if (nb + used > AKV_DIA_TPL_BYTES)
				goto unfit;
			if (!fixed) {
				if (t->nseg == AKV_DIA_TPL_SEGS)
					goto unfit;
				fixed = &t->seg[t->nseg++];
				memset(fixed, 0, sizeof(*fixed));
				fixed->off = (uint16_t)nb;
			}
			memcpy(t->bytes + nb, p, used);
			nb += used;
			fixed->len = (uint16_t)(fixed->len + used);
		}
		p += used;
		n -= used;
	}
	return 0;
unfit:
	t->nseg = t->nhole = 0;
	return AKV_ETOOBIG;
}

/* see dia.h */
int
akv_dia_tpl_match(const struct akv_dia_tpl *t, const uint8_t *msg, size_t len,
		  struct akv_dia_tpl_val *val)
{
	const uint8_t *p = msg + AKV_DIA_HDR_LEN;
	uint64_t hdr;
	size_t n;

	/* akv_dia_check()'s header tests, against a header that passed them */
	if (!t->nseg || len < AKV_DIA_HDR_LEN || (len & 3) || msg[0] != AKV_DIA_VERSION ||
	    akv_get_be24(msg + 1) != len)
		return 0;
	memcpy(&hdr, msg + 4, 8);
	if (hdr != t->hdr)
		return 0;
	n = len - AKV_DIA_HDR_LEN;
	for (unsigned i = 0; i < t->nseg; i++) {
		const struct akv_dia_tpl_seg *s = &t->seg[i];
		uint32_t rl;
		size_t used;

		if (!s->hole) {
			if (s->len > n || !akv_bytes_eq(p, t->bytes + s->off, s->len))
				return 0;
			p += s->len;
			n -= s->len;
			continue;
		}
		/* check_area()'s tests of one AVP: the same code, flags (so
		 * no reserved bit) and Vendor-Id, a length inside the message,
		 * a value its type accepts */
		if (n < s->hl || tpl_head(p) != s->head)
			return 0;
		rl = avp_len(p);
		if (rl < s->hl || rl > n || (s->hl == 12 && akv_get_be32(p + 8) != s->vendor))
			return 0;
		/* UTF8String, what the holes of a Cx request are, without the
		 * type switch */
		if (AKV_DIA_INFO_TYPE(s->info) == AKV_DIA_T_UTF8 ? !utf8_valid(p + s->hl, rl - s->hl)
		    : value_fault(p + s->hl, rl - s->hl, s->info) != VF_NONE)
			return 0;
		val->data = p + s->hl;
		val->len = rl - s->hl;
		val++;
		used = avp_used(rl, n);
		p += used;
		n -= used;
	}
	return n == 0;
}

/* see dia.h */
int
akv_dia_idx_find_u32(const struct akv_dia_idx *x, enum akv_dia_row r, uint32_t *v)
{
	struct akv_dia_avp a;

	if (!akv_dia_idx_find(x, r, &a))
		return 0;
	return akv_dia_get_u32(&a, v) < 0 ? AKV_EPROTO : 1;
}

/* see dia.h */
void
akv_dia_it_init(struct akv_dia_it *it, const uint8_t *area, size_t len)
{
	it->p = area;
	it->end = area + len;
}

/* see dia.h */
int
akv_dia_it_next(struct akv_dia_it *it, struct akv_dia_avp *a)
{
	size_t n = (size_t)(it->end - it->p), used;

	if (n == 0)
		return 0;
	used = akv_dia_avp_read(it->p, n, a);
	if (!used) {
		it->p = it->end;
		return AKV_EPROTO;
	}
	it->p += used;
	return 1;
}

/* see dia.h */
int
akv_dia_find(const uint8_t *area, size_t len, uint32_t code, uint32_t vendor,
	     struct akv_dia_avp *out)
{
	const uint8_t *p = area;
	size_t n = len;

	/* akv_dia_it_next's walk, stopping where it would stop (a header that
	 * does not fit), with the code compared before anything else is read */
	while (n >= AKV_DIA_AVP_HDR_LEN) {
		uint32_t rl = avp_len(p), hl = (p[4] & AKV_DIA_AVP_F_V) ? 12 : 8;
		size_t used;

		if (n < hl || rl < hl || rl > n)
			return 0;
		if (akv_get_be32(p) == code && (hl == 12 ? akv_get_be32(p + 8) : 0) == vendor)
			return akv_dia_avp_read(p, n, out) > 0;
		used = avp_used(rl, n);
		p += used;
		n -= used;
	}
	return 0;
}

/* see dia.h */
unsigned
akv_dia_count(const uint8_t *area, size_t len, uint32_t code, uint32_t vendor)
{
	const uint8_t *p = area;
	size_t n = len;
	unsigned c = 0;

	while (n >= AKV_DIA_AVP_HDR_LEN) {
		uint32_t rl = avp_len(p), hl = (p[4] & AKV_DIA_AVP_F_V) ? 12 : 8;
		size_t used;

		if (n < hl || rl < hl || rl > n)
			break;
		c += akv_get_be32(p) == code && (hl == 12 ? akv_get_be32(p + 8) : 0) == vendor;
		used = avp_used(rl, n);
		p += used;
		n -= used;
	}
	return c;
}

/* see dia.h */
int
akv_dia_get_u32(const struct akv_dia_avp *a, uint32_t *v)
{
	if (a->len != 4)
		return AKV_EPROTO;
	*v = akv_get_be32(a->data);
	return 0;
}

/* see dia.h */
int
akv_dia_get_u64(const struct akv_dia_avp *a, uint64_t *v)
{
	if (a->len != 8)
		return AKV_EPROTO;
	*v = (uint64_t)akv_get_be32(a->data) << 32 | akv_get_be32(a->data + 4);
	return 0;
}

/* see dia.h */
int
akv_dia_find_u32(const uint8_t *area, size_t len, uint32_t code, uint32_t vendor, uint32_t *v)
{
	struct akv_dia_avp a;

	if (!akv_dia_find(area, len, code, vendor, &a))
		return 0;
	return akv_dia_get_u32(&a, v) < 0 ? AKV_EPROTO : 1;
}

/* ==== Encoding ==== */

/* see dia.h */
void
akv_dia_wr_init(struct akv_dia_wr *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->over = 0;
	w->depth = 0;
}

static uint8_t *
wr_room(struct akv_dia_wr *w, size_t n)
{
	uint8_t *p;

	if (w->over || n > w->cap - w->len) {
		w->over = 1;
		return NULL;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

/* see dia.h */
void
akv_dia_wr_hdr(struct akv_dia_wr *w, uint8_t flags, uint32_t cmd, uint32_t app, uint32_t hbh,
	       uint32_t e2e)
{
	uint8_t *p = wr_room(w, AKV_DIA_HDR_LEN);

	/* the length grows with each AVP (akv_dia_wr_finish writes it) */
	if (p)
		akv_dia_st_msg_hdr(p, AKV_DIA_HDR_LEN, flags, cmd, app, hbh, e2e);
}

/* see dia.h */
void
akv_dia_put_flags(struct akv_dia_wr *w, uint32_t code, uint8_t flags, uint32_t vendor,
		  const void *data, size_t len)
{
	size_t hl = vendor ? 12 : 8;
	uint8_t *p;

	if (len > 0xffffff - hl) {
		w->over = 1;
		return;
	}
	p = wr_room(w, pad4(hl + len));
	if (!p)
		return;
	akv_put_be32(p, code);
	p[4] = vendor ? (flags | AKV_DIA_AVP_F_V) : (flags & ~AKV_DIA_AVP_F_V);
	akv_put_be24(p + 5, (uint32_t)(hl + len));
	if (vendor)
		akv_put_be32(p + 8, vendor);
	if (len)
		memcpy(p + hl, data, len);
	memset(p + hl + len, 0, pad4(hl + len) - (hl + len));
}

static uint8_t
dict_flags(uint32_t code, uint32_t vendor)
{
	uint32_t info = akv_dia_avp_info(code, vendor);

	return (!info || (info & AKV_DIA_INFO_M)) ? AKV_DIA_AVP_F_M : 0;
}

/* see dia.h */
void
akv_dia_put(struct akv_dia_wr *w, uint32_t code, uint32_t vendor, const void *data, size_t len)
{
	akv_dia_put_flags(w, code, dict_flags(code, vendor), vendor, data, len);
}

/* see dia.h */
void
akv_dia_put_u32(struct akv_dia_wr *w, uint32_t code, uint32_t vendor, uint32_t v)
{
	uint8_t b[4];

	akv_put_be32(b, v);
	akv_dia_put(w, code, vendor, b, 4);
}

/* see dia.h */
void
akv_dia_put_u64(struct akv_dia_wr *w, uint32_t code, uint32_t vendor, uint64_t v)
{
	uint8_t b[8];

	akv_put_be32(b, (uint32_t)(v >> 32));
	akv_put_be32(b + 4, (uint32_t)v);
	akv_dia_put(w, code, vendor, b, 8);
}

/* see dia.h */
void
akv_dia_put_str(struct akv_dia_wr *w, uint32_t code, uint32_t vendor, const char *s)
{
	akv_dia_put(w, code, vendor, s, strlen(s));
}

/* see dia.h */
void
akv_dia_put_addr(struct akv_dia_wr *w, uint32_t code, uint16_t family, const uint8_t *a,
		 size_t alen)
{
	uint8_t b[2 + 16];

	if (alen > 16) {
		w->over = 1;
		return;
	}
	b[0] = (uint8_t)(family >> 8);
	b[1] = (uint8_t)family;
	memcpy(b + 2, a, alen);
	akv_dia_put(w, code, 0, b, 2 + alen);
}

/* see dia.h */
void
akv_dia_put_raw(struct akv_dia_wr *w, const uint8_t *raw, size_t raw_len)
{
	uint8_t *p = wr_room(w, pad4(raw_len));

	if (!p)
		return;
	memcpy(p, raw, raw_len);
	memset(p + raw_len, 0, pad4(raw_len) - raw_len);
}

/* see dia.h */
void
akv_dia_group_begin(struct akv_dia_wr *w, uint32_t code, uint32_t vendor)
{
	size_t at = w->len;

	if (w->depth >= AKV_DIA_DEPTH_MAX) {
		w->over = 1;
		return;
	}
	akv_dia_put(w, code, vendor, NULL, 0);
	w->grp[w->depth++] = at;
}

/* see dia.h */
void
akv_dia_group_end(struct akv_dia_wr *w)
{
	size_t at;

	if (w->depth == 0) {
		w->over = 1;
		return;
	}
	at = w->grp[--w->depth];
	if (w->over)
		return;
	/* Grouped length = header + members with their padding (§4.4). */
	akv_put_be24(w->buf + at + 5, (uint32_t)(w->len - at));
}

/* see dia.h */
void
akv_dia_put_vsai(struct akv_dia_wr *w, uint32_t vendor, uint32_t auth_app)
{
	akv_dia_group_begin(w, AKV_DIA_AVP_VENDOR_SPECIFIC_APPLICATION_ID, 0);
	akv_dia_put_u32(w, AKV_DIA_AVP_VENDOR_ID, 0, vendor);
	akv_dia_put_u32(w, AKV_DIA_AVP_AUTH_APPLICATION_ID, 0, auth_app);
	akv_dia_group_end(w);
}

/* see dia.h */
void
akv_dia_put_exp_result(struct akv_dia_wr *w, uint32_t vendor, uint32_t code)
{
	akv_dia_group_begin(w, AKV_DIA_AVP_EXPERIMENTAL_RESULT, 0);
	akv_dia_put_u32(w, AKV_DIA_AVP_VENDOR_ID, 0, vendor);
	akv_dia_put_u32(w, AKV_DIA_AVP_EXPERIMENTAL_RESULT_CODE, 0, code);
	akv_dia_group_end(w);
}

/* see dia.h */
int
akv_dia_wr_finish(struct akv_dia_wr *w)
{
	if (w->depth)
		return AKV_EINVAL;
	if (w->over || w->len < AKV_DIA_HDR_LEN || w->len > 0xffffff)
		return AKV_ETOOBIG;
	akv_put_be24(w->buf + 1, (uint32_t)w->len);
	return (int)w->len;
}

/* ==== Client helpers ==== */

static void
put_node(struct akv_dia_wr *w, const struct akv_dia_node *n)
{
	akv_dia_put_str(w, AKV_DIA_AVP_ORIGIN_HOST, 0, n->origin_host);
	akv_dia_put_str(w, AKV_DIA_AVP_ORIGIN_REALM, 0, n->origin_realm);
}

/* see dia.h */
int
akv_dia_build_cer(uint8_t *out, size_t cap, const struct akv_dia_node *n, uint32_t hbh,
		  uint32_t e2e)
{
	struct akv_dia_wr w;

	akv_dia_wr_init(&w, out, cap);
	akv_dia_wr_hdr(&w, AKV_DIA_F_REQ, AKV_DIA_CMD_CE, AKV_DIA_APP_COMMON, hbh, e2e);
	put_node(&w, n);
	akv_dia_put_addr(&w, AKV_DIA_AVP_HOST_IP_ADDRESS, 1, n->ipv4, 4);
	akv_dia_put_u32(&w, AKV_DIA_AVP_VENDOR_ID, 0, AKV_DIA_VENDOR_3GPP);
	akv_dia_put_str(&w, AKV_DIA_AVP_PRODUCT_NAME, 0, n->product_name ? n->product_name : "akavs");
	akv_dia_put_u32(&w, AKV_DIA_AVP_ORIGIN_STATE_ID, 0, n->origin_state_id);
	akv_dia_put_u32(&w, AKV_DIA_AVP_SUPPORTED_VENDOR_ID, 0, AKV_DIA_VENDOR_3GPP);
	akv_dia_put_vsai(&w, AKV_DIA_VENDOR_3GPP, AKV_DIA_APP_CX);
	return akv_dia_wr_finish(&w);
}

/* see dia.h */
int
akv_dia_build_dwr(uint8_t *out, size_t cap, const struct akv_dia_node *n, uint32_t hbh,
		  uint32_t e2e)
{
	struct akv_dia_wr w;

	akv_dia_wr_init(&w, out, cap);
	akv_dia_wr_hdr(&w, AKV_DIA_F_REQ, AKV_DIA_CMD_DW, AKV_DIA_APP_COMMON, hbh, e2e);
	put_node(&w, n);
	akv_dia_put_u32(&w, AKV_DIA_AVP_ORIGIN_STATE_ID, 0, n->origin_state_id);
	return akv_dia_wr_finish(&w);
}

/* see dia.h */
int
akv_dia_build_dpr(uint8_t *out, size_t cap, const struct akv_dia_node *n, uint32_t hbh,
		  uint32_t e2e, uint32_t cause)
{
	struct akv_dia_wr w;

	akv_dia_wr_init(&w, out, cap);
	akv_dia_wr_hdr(&w, AKV_DIA_F_REQ, AKV_DIA_CMD_DP, AKV_DIA_APP_COMMON, hbh, e2e);
	put_node(&w, n);
	akv_dia_put_u32(&w, AKV_DIA_AVP_DISCONNECT_CAUSE, 0, cause);
	return akv_dia_wr_finish(&w);
}

/* see dia.h */
int
akv_dia_build_mar(uint8_t *out, size_t cap, const struct akv_dia_node *node,
		  const struct akv_dia_mar *m, uint32_t hbh, uint32_t e2e)
{
	/* Sized first, then stored in place: the load generator builds one
	 * per request. Every AVP of a MAR has its dictionary M bit set. */
	const uint32_t v = AKV_DIA_VENDOR_3GPP;
	size_t sid = strlen(m->session_id), oh = strlen(node->origin_host);
	size_t orr = strlen(node->origin_realm), dr = strlen(m->dest_realm);
	size_t impu = strlen(m->impu), impi = strlen(m->impi), sch = strlen(m->scheme);
	size_t sn = strlen(m->server_name), item, total;
	uint8_t *p = out;

	if ((sid | oh | orr | dr | impu | impi | sch | sn) > 0xffffff)
		return AKV_ETOOBIG;	/* no AVP can hold it (24-bit length) */
	item = akv_dia_avp_size(v, sch) + (m->rand_auts ? akv_dia_avp_size(v, 30) : 0);
	total = AKV_DIA_HDR_LEN + akv_dia_avp_size(0, sid) + akv_dia_avp_size(0, oh) +
		akv_dia_avp_size(0, orr) + akv_dia_avp_size(0, dr) + 32 + 12 +
		akv_dia_avp_size(v, impu) + akv_dia_avp_size(0, impi) + 16 + 12 + item +
		akv_dia_avp_size(v, sn);
	if (total > cap || total > 0xffffff)
		return AKV_ETOOBIG;
	p = akv_dia_st_msg_hdr(p, total, AKV_DIA_F_REQ | AKV_DIA_F_PROXY, AKV_DIA_CMD_MA,
			       AKV_DIA_APP_CX, hbh, e2e);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_SESSION_ID, 0, m->session_id, sid);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_ORIGIN_HOST, 0, node->origin_host, oh);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_ORIGIN_REALM, 0, node->origin_realm, orr);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_DESTINATION_REALM, 0, m->dest_realm, dr);
	p = akv_dia_st_hdr(p, AKV_DIA_AVP_VENDOR_SPECIFIC_APPLICATION_ID, 0, 32);
	p = akv_dia_st_u32(p, AKV_DIA_AVP_VENDOR_ID, 0, v);
	p = akv_dia_st_u32(p, AKV_DIA_AVP_AUTH_APPLICATION_ID, 0, AKV_DIA_APP_CX);
	p = akv_dia_st_u32(p, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_PUBLIC_IDENTITY, v, m->impu, impu);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_USER_NAME, 0, m->impi, impi);
	p = akv_dia_st_u32(p, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, v, m->n);
	p = akv_dia_st_hdr(p, AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, v, 12 + item);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME, v, m->scheme, sch);
	if (m->rand_auts)
		p = akv_dia_st_bytes(p, AKV_DIA_AVP_SIP_AUTHORIZATION, v, m->rand_auts, 30);
	akv_dia_st_bytes(p, AKV_DIA_AVP_SERVER_NAME, v, m->server_name, sn);
	return (int)total;
}

/* Result-Code / Experimental-Result of a checked answer, from its index. */
static int
result_of(const struct akv_dia_idx *x, struct akv_dia_result *r)
{
	struct akv_dia_avp er;

	if (akv_dia_idx_find_u32(x, AKV_DIA_ROW_RESULT_CODE, &r->result_code) < 0)
		return AKV_EPROTO;
	if (akv_dia_idx_find(x, AKV_DIA_ROW_EXPERIMENTAL_RESULT, &er)) {
		if (akv_dia_find_u32(er.data, er.len, AKV_DIA_AVP_VENDOR_ID, 0, &r->exp_vendor) != 1 ||
		    akv_dia_find_u32(er.data, er.len, AKV_DIA_AVP_EXPERIMENTAL_RESULT_CODE, 0,
				     &r->exp_code) != 1)
			return AKV_EPROTO;
	}
	return r->result_code || r->exp_code ? 0 : AKV_EPROTO;
}

/* akv_dia_check_idx() of an answer that must be clean. */
static int
check_answer(const uint8_t *msg, size_t len, struct akv_dia_hdr *h, struct akv_dia_idx *x)
{
	struct akv_dia_error err;

	if (akv_dia_check_idx(msg, len, h, &err, x) < 0 || err.result_code ||
	    (h->flags & AKV_DIA_F_REQ))
		return AKV_EPROTO;
	return 0;
}

/* see dia.h */
int
akv_dia_parse_result_idx(const uint8_t *msg, size_t len, struct akv_dia_hdr *h,
			 struct akv_dia_result *r, struct akv_dia_idx *x)
{
	memset(r, 0, sizeof(*r));
	if (check_answer(msg, len, h, x) < 0)
		return AKV_EPROTO;
	return result_of(x, r);
}

/* see dia.h */
int
akv_dia_parse_result(const uint8_t *msg, size_t len, struct akv_dia_hdr *h,
		     struct akv_dia_result *r)
{
	struct akv_dia_idx x;

	return akv_dia_parse_result_idx(msg, len, h, r, &x);
}

/* One SIP-Auth-Data-Item (checked Grouped) in one walk over its members,
 * keeping the first instance of each as akv_dia_find() would. */
static int
maa_item(const struct akv_dia_avp *item, struct akv_dia_maa_item *o)
{
	enum { NUM, SCHEME, AUTHENTICATE, AUTHORIZATION, CK, IK, NMEMB };
	const uint8_t *m[NMEMB] = { NULL };	/* data of the first instance */
	uint32_t ml[NMEMB] = { 0 };		/* its length */
	const uint8_t *p = item->data;
	size_t n = item->len, used;
	struct akv_dia_avp a;

	memset(o, 0, sizeof(*o));
	while ((used = akv_dia_avp_read(p, n, &a)) > 0) {
		int k;

		p += used;
		n -= used;
		if (a.vendor != AKV_DIA_VENDOR_3GPP)
			continue;
		switch (a.code) {
		case AKV_DIA_AVP_SIP_ITEM_NUMBER: k = NUM; break;
		case AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME: k = SCHEME; break;
		case AKV_DIA_AVP_SIP_AUTHENTICATE: k = AUTHENTICATE; break;
		case AKV_DIA_AVP_SIP_AUTHORIZATION: k = AUTHORIZATION; break;
		case AKV_DIA_AVP_CONFIDENTIALITY_KEY: k = CK; break;
		case AKV_DIA_AVP_INTEGRITY_KEY: k = IK; break;
		default: continue;
		}
		if (!m[k]) {
			m[k] = a.data;
			ml[k] = a.len;
		}
	}
	if (m[NUM]) {
		if (ml[NUM] != 4)
			return AKV_EPROTO;
		o->item_number = akv_get_be32(m[NUM]);
	}
	if (m[SCHEME]) {
		if (ml[SCHEME] >= sizeof(o->scheme))
			return AKV_EPROTO;
		akv_copy_short(o->scheme, m[SCHEME], ml[SCHEME]);
	}
	if (!m[AUTHENTICATE] || ml[AUTHENTICATE] != 32)
		return AKV_EPROTO;
	memcpy(o->rand, m[AUTHENTICATE], 16);
	memcpy(o->autn, m[AUTHENTICATE] + 16, 16);
	if (!m[AUTHORIZATION] || ml[AUTHORIZATION] < 4 || ml[AUTHORIZATION] > 16)
		return AKV_EPROTO;
	akv_copy_short(o->xres, m[AUTHORIZATION], ml[AUTHORIZATION]);
	o->xres_len = (uint8_t)ml[AUTHORIZATION];
	if (!m[CK] || ml[CK] != 16)
		return AKV_EPROTO;
	memcpy(o->ck, m[CK], 16);
	if (!m[IK] || ml[IK] != 16)
		return AKV_EPROTO;
	memcpy(o->ik, m[IK], 16);
	return 0;
}

/* see dia.h */
int
akv_dia_parse_maa(const uint8_t *msg, size_t len, struct akv_dia_hdr *h,
		  struct akv_dia_result *r, struct akv_dia_maa_item *items, unsigned max,
		  unsigned *nitems)
{
	struct akv_dia_idx x;
	struct akv_dia_avp a;
	const uint8_t *p, *end = msg + len;
	size_t used;
	int rc;

	memset(r, 0, sizeof(*r));
	*nitems = 0;
	if (check_answer(msg, len, h, &x) < 0)
		return AKV_EPROTO;
	rc = result_of(&x, r);
	if (rc < 0)
		return rc;
	if (h->cmd != AKV_DIA_CMD_MA)
		return AKV_EPROTO;
	if (!akv_dia_idx_count(&x, AKV_DIA_ROW_SIP_AUTH_DATA_ITEM))
		return 0;
	/* every item, in order, from the first one on */
	for (p = msg + x.first[AKV_DIA_ROW_SIP_AUTH_DATA_ITEM];
	     (used = akv_dia_avp_read(p, (size_t)(end - p), &a)) > 0; p += used) {
		if (a.code != AKV_DIA_AVP_SIP_AUTH_DATA_ITEM || a.vendor != AKV_DIA_VENDOR_3GPP)
			continue;
		if (*nitems >= max)
			break;
		if (maa_item(&a, &items[*nitems]) < 0)
			return AKV_EPROTO;
		(*nitems)++;
	}
	return 0;
}

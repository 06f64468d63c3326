/*
 * load_dia_msg.c - MARs from a template and MAAs in one pass for
 * `load --diameter` (see load_dia_msg.h). The codec (server/proto/dia.c)
 * stays the authority: the template is cut out of its builder's output, and
 * the MAA reader accepts only what its checker and parser would accept,
 * handing anything else back to them. SARs are written from stored AVPs with
 * the codec's direct stores; SAAs are judged by the codec's checker.
 */
#include "load_dia_msg.h"

#include <string.h>

#include "err.h"
#include "proto/bytes.h"
#include "proto/dia.h"

#define V3GPP AKV_DIA_VENDOR_3GPP

static size_t
pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* ==== MAR template ==== */

enum { SEG_CONST, SEG_SID, SEG_IMPU, SEG_IMPI, SEG_NITEMS, SEG_ITEM };

static unsigned
utoa32(uint32_t v, char *out)
{
	char tmp[10];
	unsigned n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (unsigned i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* "<host>;<high 32>;<low 32>" for the current counter (RFC 6733 §8.8). */
static __attribute__((noinline)) void
sid_render(struct load_mar_tpl *t)
{
	char *p = t->sid + t->host_len;

	*p++ = ';';
	p += utoa32((uint32_t)(t->session >> 32), p);
	*p++ = ';';
	t->sid_lo = (uint16_t)(p - t->sid);
	p += utoa32((uint32_t)t->session, p);
	t->sid_len = (uint16_t)(p - t->sid);
}

/* Counter + 1: the low 32 bits' decimal digits are counted up in place;
 * a wrap of the low half (or the first use) renders the whole value. */
static inline __attribute__((always_inline)) void
sid_next(struct load_mar_tpl *t)
{
	int i;

	t->session++;
	if (!t->sid_len || !(uint32_t)t->session) {
		sid_render(t);
		return;
	}
	for (i = t->sid_len - 1; i >= t->sid_lo && t->sid[i] == '9'; i--)
		t->sid[i] = '0';
	if (i >= t->sid_lo) {
		t->sid[i]++;
		return;
	}
	/* 9...9 + 1: one more digit */
	t->sid[t->sid_lo] = '1';
	t->sid[t->sid_len++] = '0';
}

/* see load_dia_msg.h */
void
load_mar_sid(const struct load_mar_tpl *t, char *out, size_t cap)
{
	size_t n = t->sid_len < cap ? t->sid_len : cap - 1;

	memcpy(out, t->sid, n);
	out[n] = 0;
}

/* see load_dia_msg.h */
void
load_mar_next_session(struct load_mar_tpl *t)
{
	sid_next(t);
}

/* The segments of akv_dia_build_mar()'s MAR (Session-Id first, RFC 6733
 * §8.8; then Origin-Host, Origin-Realm, Destination-Realm, VSAI,
 * Auth-Session-State; Public-Identity, User-Name, SIP-Number-Auth-Items,
 * SIP-Auth-Data-Item; Server-Name): a template of this shape is written
 * without a dispatch per segment. */
static const uint8_t mar_order[] = {SEG_SID,    SEG_CONST, SEG_IMPU, SEG_IMPI,
				    SEG_NITEMS, SEG_ITEM,  SEG_CONST};
#define SEG_AT_NITEMS 4

static int
tpl_put(struct load_mar_tpl *t, uint8_t kind, const uint8_t *p, size_t len, size_t *at)
{
	struct load_mar_seg *last = t->nseg ? &t->seg[t->nseg - 1] : NULL;

	if (*at + len > sizeof(t->bytes))
		return -1;
	memcpy(t->bytes + *at, p, len);
	if (kind == SEG_CONST && last && last->kind == SEG_CONST && last->off + last->len == *at) {
		last->len = (uint16_t)(last->len + len);
	} else {
		if (t->nseg == LOAD_MAR_SEGS)
			return -1;
		t->seg[t->nseg++] = (struct load_mar_seg){kind, (uint16_t)*at, (uint16_t)len};
	}
	*at += len;
	return 0;
}

static int mar_post_render(struct load_mar_tpl *t);
static inline uint8_t *put_var(uint8_t *p, const uint8_t *hdr, size_t hl, const void *s,
			       size_t sl);

/* see load_dia_msg.h */
int
load_mar_init(struct load_mar_tpl *t, const char *host, const char *origin_realm,
	      const char *dest_realm, const char *scheme, const char *server_name)
{
	static const uint8_t auts0[30];
	uint8_t ref[2][LOAD_MAR_TPL_BYTES];
	struct akv_dia_node node = {.origin_host = host, .origin_realm = origin_realm};
	/* one-byte placeholders: each variable AVP is found by its code */
	struct akv_dia_mar m = {.session_id = "s",
				.dest_realm = dest_realm,
				.impi = "i",
				.impu = "u",
				.scheme = scheme,
				.server_name = server_name,
				.n = 1};
	struct akv_dia_it it[2];
	struct akv_dia_avp a[2];
	unsigned seen = 0, need;
	size_t at = 0, hl = strlen(host);
	int len[2], r0;

	memset(t, 0, sizeof(*t));
	if (hl + 1 >= LOAD_MAR_HOST_MAX)
		return -1;
	memcpy(t->sid, host, hl);
	t->host_len = (uint16_t)hl;
	len[0] = akv_dia_build_mar(ref[0], sizeof(ref[0]), &node, &m, 0, 0);
	m.rand_auts = auts0;
	len[1] = akv_dia_build_mar(ref[1], sizeof(ref[1]), &node, &m, 0, 0);
	if (len[0] < AKV_DIA_HDR_LEN || len[1] < AKV_DIA_HDR_LEN)
		return -1;
	/* header: length and ids are written per request */
	memcpy(t->bytes, ref[0], AKV_DIA_HDR_LEN);
	at = AKV_DIA_HDR_LEN;
	t->fixed_len = AKV_DIA_HDR_LEN;
	for (int i = 0; i < 2; i++)
		akv_dia_it_init(&it[i], ref[i] + AKV_DIA_HDR_LEN, (size_t)len[i] - AKV_DIA_HDR_LEN);
	while ((r0 = akv_dia_it_next(&it[0], &a[0])) > 0) {
		uint32_t c = a[0].code, v = a[0].vendor;
		size_t head = (size_t)(a[0].data - a[0].raw), whole = pad4(a[0].raw_len);
		uint8_t kind = SEG_CONST;

		if (akv_dia_it_next(&it[1], &a[1]) <= 0 || a[1].code != c || a[1].vendor != v)
			return -1;
		if (c == AKV_DIA_AVP_SESSION_ID && !v)
			kind = SEG_SID;
		else if (c == AKV_DIA_AVP_PUBLIC_IDENTITY && v == V3GPP)
			kind = SEG_IMPU;
		else if (c == AKV_DIA_AVP_USER_NAME && !v)
			kind = SEG_IMPI;
		else if (c == AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS && v == V3GPP)
			kind = SEG_NITEMS;
		else if (c == AKV_DIA_AVP_SIP_AUTH_DATA_ITEM && v == V3GPP)
			kind = SEG_ITEM;
		if (kind != SEG_CONST && (seen & 1u << kind))
			return -1;
		seen |= 1u << kind;
		switch (kind) {
		case SEG_CONST:
			/* the same in both references, else it is not constant */
			if (a[0].raw_len != a[1].raw_len || memcmp(a[0].raw, a[1].raw, whole))
				return -1;
			if (tpl_put(t, kind, a[0].raw, whole, &at))
				return -1;
			t->fixed_len = (uint16_t)(t->fixed_len + whole);
			break;
		case SEG_SID:
		case SEG_IMPU:
		case SEG_IMPI:
			/* put_var() reads 12 bytes of the header whatever its size */
			if (a[0].len != 1 || (head != 8 && head != 12) ||
			    tpl_put(t, kind, a[0].raw, head, &at) || at + 12 - head > sizeof(t->bytes))
				return -1;
			t->fixed_len = (uint16_t)(t->fixed_len + head);
			break;
		case SEG_NITEMS:
			if (a[0].len != 4 || whole != a[0].raw_len ||
			    tpl_put(t, kind, a[0].raw, whole, &at))
				return -1;
			t->fixed_len = (uint16_t)(t->fixed_len + whole);
			break;
		default: { /* SEG_ITEM: both variants, RAND||AUTS patched in */
			struct akv_dia_avp auth;
			size_t whole1 = pad4(a[1].raw_len);

			if (!akv_dia_find(a[1].data, a[1].len, AKV_DIA_AVP_SIP_AUTHORIZATION, V3GPP,
					  &auth) ||
			    auth.len != 30 || tpl_put(t, kind, a[0].raw, 0, &at))
				return -1;
			if (at + whole + whole1 > sizeof(t->bytes))
				return -1;
			t->item_off[0] = (uint16_t)at;
			t->item_len[0] = (uint16_t)whole;
			memcpy(t->bytes + at, a[0].raw, whole);
			at += whole;
			t->item_off[1] = (uint16_t)at;
			t->item_len[1] = (uint16_t)whole1;
			memcpy(t->bytes + at, a[1].raw, whole1);
			at += whole1;
			t->auts_at = (uint16_t)(auth.data - a[1].raw);
			break;
		}
		}
	}
	need = 1u << SEG_SID | 1u << SEG_IMPU | 1u << SEG_IMPI | 1u << SEG_NITEMS | 1u << SEG_ITEM;
	if (r0 < 0 || akv_dia_it_next(&it[1], &a[1]) != 0 || (seen & need) != need)
		return -1;
	t->in_order = t->nseg == sizeof(mar_order) && t->seg[SEG_AT_NITEMS].len == 16;
	for (unsigned i = 0; t->in_order && i < t->nseg; i++)
		t->in_order = t->seg[i].kind == mar_order[i];
	if (t->in_order)
		t->in_order = !mar_post_render(t);
	return 0;
}

/* The images of struct load_mar_tpl, from the segments of an in_order
 * template. post[v] once; pre for the current Session-Id length (again
 * whenever that length changes). 0, or -1 when an image does not fit. */
static int
mar_post_render(struct load_mar_tpl *t)
{
	const struct load_mar_seg *s = t->seg;

	for (unsigned v = 0; v < 2; v++) {
		size_t l = 16 + (size_t)t->item_len[v] + s[6].len;

		if (l > sizeof(t->post[v]) || s[1].len + s[2].len + 12 + 4 > LOAD_MAR_TPL_BYTES)
			return -1;
		memcpy(t->post[v], t->bytes + s[4].off, 16);
		memcpy(t->post[v] + 16, t->bytes + t->item_off[v], t->item_len[v]);
		memcpy(t->post[v] + 16 + t->item_len[v], t->bytes + s[6].off, s[6].len);
		t->post_len[v] = (uint16_t)l;
	}
	t->pre_sid_len = 0; /* pre: rendered by the first MAR */
	return 0;
}

static void
mar_pre_render(struct load_mar_tpl *t)
{
	const struct load_mar_seg *s = t->seg;
	uint8_t *p = put_var(t->pre, t->bytes + s[0].off, s[0].len, t->sid, t->sid_len);

	t->pre_sid_at = s[0].len;
	memcpy(p, t->bytes + s[1].off, s[1].len);
	p += s[1].len;
	/* 12 bytes whatever its size, as put_var() */
	memcpy(p, t->bytes + s[2].off, 12);
	p += s[2].len;
	t->pre_len = (uint16_t)(p - t->pre);
	t->pre_sid_len = t->sid_len;
}

/* A variable AVP: the template's header with its length, the string, zero
 * padding (RFC 6733 §4.4). */
static inline __attribute__((always_inline)) uint8_t *
put_var(uint8_t *p, const uint8_t *hdr, size_t hl, const void *s, size_t sl)
{
	const uint32_t zero = 0;

	/* 12 bytes whatever hl is (8 or 12; the template has them): the 4
	 * past an 8-byte header are overwritten just below */
	memcpy(p, hdr, 12);
	akv_put_be24(p + 5, (uint32_t)(hl + sl));
	p += hl;
	memcpy(p + pad4(sl) - 4, &zero, 4); /* sl >= 1: the padding word first */
	akv_copy_short(p, s, sl);
	return p + pad4(sl);
}

/* see load_dia_msg.h */
int
load_mar_build(struct load_mar_tpl *t, const char *impi, size_t impi_len, const char *impu,
	       size_t impu_len, uint32_t n, const uint8_t *rand_auts, uint32_t hbh, uint8_t *out,
	       size_t cap)
{
	const unsigned v = rand_auts != NULL;
	uint8_t *p = out;
	size_t total;

	sid_next(t);
	if (!impi_len || !impu_len)
		return AKV_EINVAL;
	total = (size_t)t->fixed_len + pad4(t->sid_len) + pad4(impu_len) + pad4(impi_len) +
		t->item_len[v];
	if (total > cap || total > 0xffffff)
		return AKV_ETOOBIG;
	memcpy(p, t->bytes, AKV_DIA_HDR_LEN);
	akv_put_be24(p + 1, (uint32_t)total);
	akv_put_be32(p + 12, hbh);
	akv_put_be32(p + 16, hbh ^ (uint32_t)t->session);
	p += AKV_DIA_HDR_LEN;
	if (t->in_order) {
		/* mar_order: the loop below, as two images with holes */
		const struct load_mar_seg *s = t->seg;
		const uint32_t zero = 0;

		if (t->pre_sid_len != t->sid_len)
			mar_pre_render(t); /* one digit more: what follows moves */
		/* libc's memcpy: the images are 100-200 bytes, a few wide
		 * moves there against a 16-byte loop here */
		memcpy(p, t->pre, t->pre_len);
		akv_copy_short(p + t->pre_sid_at, t->sid, t->sid_len);
		p += t->pre_len;
		/* Public-Identity: the header ends pre; length, string, padding */
		akv_put_be24(p - s[2].len + 5, (uint32_t)(s[2].len + impu_len));
		memcpy(p + pad4(impu_len) - 4, &zero, 4);
		akv_copy_short(p, impu, impu_len);
		p += pad4(impu_len);
		p = put_var(p, t->bytes + s[3].off, s[3].len, impi, impi_len);
		memcpy(p, t->post[v], t->post_len[v]);
		akv_put_be32(p + 12, n);
		if (v)
			memcpy(p + 16 + t->auts_at, rand_auts, 30);
		return (int)total;
	}
	for (unsigned i = 0; i < t->nseg; i++) {
		const struct load_mar_seg *s = &t->seg[i];
		const uint8_t *b = t->bytes + s->off;

		switch (s->kind) {
		case SEG_CONST:
			akv_copy_short(p, b, s->len);
			p += s->len;
			break;
		case SEG_SID:
			p = put_var(p, b, s->len, t->sid, t->sid_len);
			break;
		case SEG_IMPU:
			p = put_var(p, b, s->len, impu, impu_len);
			break;
		case SEG_IMPI:
			p = put_var(p, b, s->len, impi, impi_len);
			break;
		case SEG_NITEMS:
			memcpy(p, b, s->len);
			akv_put_be32(p + s->len - 4, n);
			p += s->len;
			break;
		default:
			akv_copy_short(p, t->bytes + t->item_off[v], t->item_len[v]);
			if (v)
				memcpy(p + t->auts_at, rand_auts, 30);
			p += t->item_len[v];
			break;
		}
	}
	return (int)total;
}

/* ==== MAA reader ==== */

/* One AVP header at p (n bytes left) as the codec reads it
 * (akv_dia_avp_read), refusing what akv_dia_check() would refuse at this
 * point (reserved flag bits). Returns the bytes used (padding included when
 * present), 0 when unsure. The fields come back as scalars, not in a struct
 * akv_dia_avp: GCC merged that struct's `code == X && vendor == Y` into one
 * 8-byte load from two 4-byte stores, whose failed store forwarding was half
 * of this reader's time under load. */
static inline __attribute__((always_inline)) size_t
avp_hdr(const uint8_t *p, size_t n, uint32_t *code, uint32_t *vendor, uint32_t *fl,
	const uint8_t **data, uint32_t *dlen)
{
	uint32_t w, rl, hl;
	size_t padded;

	if (n < AKV_DIA_AVP_HDR_LEN)
		return 0;
	w = akv_get_be32(p + 4);
	*fl = w >> 24;
	rl = w & 0xffffff;
	if (*fl & AKV_DIA_AVP_F_RESERVED)
		return 0;
	hl = (*fl & AKV_DIA_AVP_F_V) ? 12 : 8;
	/* hl <= rl <= n, so the Vendor-Id is readable */
	if (rl < hl || rl > n)
		return 0;
	*code = akv_get_be32(p);
	*vendor = hl == 12 ? akv_get_be32(p + 8) : 0;
	*data = p + hl;
	*dlen = rl - hl;
	padded = ((size_t)rl + 3) & ~(size_t)3;
	return padded <= n ? padded : rl;
}

#define HI8 0x8080808080808080u
#define LO8 0x0101010101010101u

static inline uint64_t
ld64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

/* The OR of s[0..n), spread over a word: any byte >= 0x80 sets a bit of
 * HI8. Sixteen bytes at a time (identities are 20..40 bytes: one or two
 * steps), the last 16 or 8 overlapping the bytes before them. */
static inline __attribute__((always_inline)) uint64_t
or_bytes(const uint8_t *s, size_t n)
{
	uint64_t acc = 0;

	if (n >= 16 && n <= 32)
		return ld64(s) | ld64(s + 8) | ld64(s + n - 16) | ld64(s + n - 8);
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			acc |= s[i];
		return acc;
	}
	if (n < 16)
		return ld64(s) | ld64(s + n - 8);
	for (size_t i = 0; i + 16 < n; i += 16)
		acc |= ld64(s + i) | ld64(s + i + 8);
	return acc | ld64(s + n - 16) | ld64(s + n - 8);
}

/* Every byte is ASCII: valid UTF-8 (RFC 3629). */
static inline int
ascii(const uint8_t *s, size_t n)
{
	return !(or_bytes(s, n) & HI8);
}

/* Bytes of w outside 0x21..0x7e, as high bits: any byte >= 0x80 shows
 * itself; below that, b + 0x5f reaches 0x80 only from 0x21 and b + 1 only
 * from 0x7f, neither carrying into the next byte. */
static inline uint64_t
ident_bad8(uint64_t w)
{
	return (w & HI8) | (~(w + 0x5f * LO8) & HI8) | ((w + LO8) & HI8);
}

/* DiameterIdentity as the codec checks it: printable ASCII, no space. */
static inline int
ident(const uint8_t *s, size_t n)
{
	uint64_t bad = 0;

	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			bad |= (uint64_t)(s[i] <= 0x20) | (uint64_t)(s[i] >= 0x7f);
		return n && !bad;
	}
	for (size_t i = 0; i + 8 < n; i += 8)
		bad |= ident_bad8(ld64(s + i));
	bad |= ident_bad8(ld64(s + n - 8));
	return !bad;
}

static int area_ok(const uint8_t *p, size_t n, unsigned depth);

/* 1 when akv_dia_check() would accept an AVP whose dictionary info word
 * (akv_dia_avp_info, the table the codec decides with) is `info` (0 when
 * unsure). */
static inline __attribute__((always_inline)) int
value_ok(uint32_t info, uint32_t fl, uint32_t code, uint32_t vendor, const uint8_t *d,
	 uint32_t dl, unsigned depth)
{
	uint32_t fixed;

	if (!info)
		return !(fl & AKV_DIA_AVP_F_M); /* §4.1: unknown without M is skipped */
	fixed = AKV_DIA_INFO_FIXED(info);
	if (fixed)
		return dl == fixed;
	switch (AKV_DIA_INFO_TYPE(info)) {
	case AKV_DIA_T_UTF8:
		return ascii(d, dl);
	case AKV_DIA_T_IDENT:
		return ident(d, dl);
	case AKV_DIA_T_ADDR:
		return 0;
	case AKV_DIA_T_GROUPED:
		if (depth + 1 >= AKV_DIA_DEPTH_MAX || (code == AKV_DIA_AVP_FAILED_AVP && !vendor))
			return 0;
		return area_ok(d, dl, depth + 1);
	default:
		return 1;
	}
}

static int
area_ok(const uint8_t *p, size_t n, unsigned depth)
{
	while (n) {
		uint32_t code, vendor, fl, dl;
		const uint8_t *d;
		size_t used = avp_hdr(p, n, &code, &vendor, &fl, &d, &dl);

		if (!used ||
		    !value_ok(akv_dia_avp_info(code, vendor), fl, code, vendor, d, dl, depth))
			return 0;
		p += used;
		n -= used;
	}
	return 1;
}

/* Dictionary row + 1 of an info word (0: unknown AVP); a row names one
 * (code, vendor). */
#define IS(info, name) (AKV_DIA_INFO_ROW(info) == (unsigned)AKV_DIA_ROW_##name)

/* The header of a 3GPP member (V and M set, nothing else) of AVP Length
 * rl at p: 12 bytes compared as three words. */
static inline int
member_is(const uint8_t *p, uint32_t code, uint32_t rl)
{
	return akv_get_be32(p) == code &&
	       akv_get_be32(p + 4) == ((uint32_t)(AKV_DIA_AVP_F_V | AKV_DIA_AVP_F_M) << 24 | rl) &&
	       akv_get_be32(p + 8) == V3GPP;
}

/* The same member with a length to read: its data length (rl - 12), or
 * -1 when the code, flags or vendor differ or it overruns n. */
static inline long
member_len(const uint8_t *p, size_t n, uint32_t code)
{
	uint32_t w = akv_get_be32(p + 4), rl = w & 0xffffff;

	if (n < 12 || akv_get_be32(p) != code ||
	    (w >> 24) != (AKV_DIA_AVP_F_V | AKV_DIA_AVP_F_M) || akv_get_be32(p + 8) != V3GPP ||
	    rl < 12 || pad4(rl) > n)
		return -1;
	return (long)(rl - 12);
}

/* An item exactly as akavs writes it (TS 29.229 §6.3.13; dia_cx.c
 * encode_maa): Item-Number, Authentication-Scheme (< 32 ASCII bytes),
 * Authenticate (32), Authorization (XRES, 4..16), Confidentiality-Key and
 * Integrity-Key (16 each), once each, in that order, each padded inside the
 * item, nothing after. item_read() would take such an item and read the
 * same views from it; anything else is left to item_read(). 1 ok, 0 not
 * this shape. */
static inline int
item_read_exact(const uint8_t *p, size_t n, struct load_maa_item *it)
{
	const uint8_t *e = p + n;
	long sl, xl;

	if (n < 16 + 12 || !member_is(p, AKV_DIA_AVP_SIP_ITEM_NUMBER, 16))
		return 0;
	p += 16;
	sl = member_len(p, (size_t)(e - p), AKV_DIA_AVP_SIP_AUTHENTICATION_SCHEME);
	if (sl < 0 || sl >= 32 || !ascii(p + 12, (size_t)sl))
		return 0;
	p += pad4(12 + (size_t)sl);
	if ((size_t)(e - p) < 44 + 12 || !member_is(p, AKV_DIA_AVP_SIP_AUTHENTICATE, 44))
		return 0;
	it->rand = p + 12;
	it->autn = p + 28;
	p += 44;
	xl = member_len(p, (size_t)(e - p), AKV_DIA_AVP_SIP_AUTHORIZATION);
	if (xl < 4 || xl > 16)
		return 0;
	it->xres = p + 12;
	it->xres_len = (uint8_t)xl;
	p += pad4(12 + (size_t)xl);
	if ((size_t)(e - p) != 28 + 28 || !member_is(p, AKV_DIA_AVP_CONFIDENTIALITY_KEY, 28) ||
	    !member_is(p + 28, AKV_DIA_AVP_INTEGRITY_KEY, 28))
		return 0;
	it->ck = p + 12;
	it->ik = p + 28 + 12;
	return 1;
}

/* A SIP-Auth-Data-Item (TS 29.229 §6.3.13): checks its members like the
 * codec and picks the first of each it needs (as akv_dia_find() does);
 * requires what akv_dia_parse_maa() requires of them. 1 ok, 0 unsure. */
static int
item_read(const uint8_t *p, size_t n, struct load_maa_item *it)
{
	uint32_t xres_len = 0;
	int scheme = 0;

	memset(it, 0, sizeof(*it));
	while (n) {
		uint32_t code, vendor, fl, dl, info;
		const uint8_t *d;
		size_t used = avp_hdr(p, n, &code, &vendor, &fl, &d, &dl);

		if (!used)
			return 0;
		info = akv_dia_avp_info(code, vendor);
		if (!value_ok(info, fl, code, vendor, d, dl, 1))
			return 0;
		switch (AKV_DIA_INFO_ROW(info)) {
		case AKV_DIA_ROW_SIP_AUTHENTICATION_SCHEME:
			if (!scheme && dl >= 32)
				return 0;
			scheme = 1;
			break;
		case AKV_DIA_ROW_SIP_AUTHENTICATE:
			if (!it->rand) {
				if (dl != 32)
					return 0;
				it->rand = d;
				it->autn = d + 16;
			}
			break;
		case AKV_DIA_ROW_SIP_AUTHORIZATION:
			if (!it->xres) {
				it->xres = d;
				xres_len = dl;
			}
			break;
		case AKV_DIA_ROW_CONFIDENTIALITY_KEY:
			if (!it->ck) {
				if (dl != 16)
					return 0;
				it->ck = d;
			}
			break;
		case AKV_DIA_ROW_INTEGRITY_KEY:
			if (!it->ik) {
				if (dl != 16)
					return 0;
				it->ik = d;
			}
			break;
		default:
			break;
		}
		p += used;
		n -= used;
	}
	if (!it->rand || !it->xres || xres_len < 4 || xres_len > 16 || !it->ck || !it->ik)
		return 0;
	it->xres_len = (uint8_t)xres_len;
	return 1;
}

/* Rows a server repeats byte for byte in every MAA: the memo's run is
 * made of these (items and Experimental-Result never: the reader treats
 * them apart). */
static int
memo_row(uint32_t info)
{
	return IS(info, VENDOR_SPECIFIC_APPLICATION_ID) || IS(info, RESULT_CODE) ||
	       IS(info, AUTH_SESSION_STATE) || IS(info, ORIGIN_HOST) || IS(info, ORIGIN_REALM);
}

/* Learns the longest run of consecutive memo_row() AVPs (each with its
 * padding inside the message) of an MAA load_maa_read() accepted. */
static __attribute__((noinline)) void
memo_learn(struct load_maa_memo *mm, const uint8_t *body, size_t n)
{
	const uint8_t *p = body, *best = NULL, *run = NULL;
	size_t best_len = 0, run_len = 0;
	unsigned navp = 0, ord = 0, run_at = 0, best_at = 0;

	mm->head = 0;
	while (n) {
		uint32_t code, vendor, fl, dl, info;
		const uint8_t *d;
		size_t used = avp_hdr(p, n, &code, &vendor, &fl, &d, &dl);

		if (!used)
			break;
		info = akv_dia_avp_info(code, vendor);
		if (memo_row(info) && used == pad4(dl + (size_t)(d - p)) &&
		    run_len + used <= LOAD_MAA_MEMO_BYTES && navp < LOAD_MAA_MEMO_AVPS) {
			if (!run) {
				run = p;
				run_at = ord;
			}
			run_len += used;
			navp++;
		} else {
			run = NULL;
			run_len = 0;
			navp = 0;
			if (memo_row(info) && used == pad4(dl + (size_t)(d - p)) &&
			    used <= LOAD_MAA_MEMO_BYTES) {
				run = p;
				run_at = ord;
				run_len = used;
				navp = 1;
			}
		}
		if (run_len > best_len) {
			best = run;
			best_at = run_at;
			best_len = run_len;
		}
		p += used;
		n -= used;
		ord++;
	}
	/* nothing worth keeping: try again after 31 more MAAs */
	mm->misses = 1;
	if (best_len < 32)
		return;
	mm->misses = 0;
	/* the Result-Code the reader keeps from the run: its first one */
	mm->has_rc = 0;
	for (const uint8_t *q = best; q < best + best_len;) {
		uint32_t code, vendor, fl, dl;
		const uint8_t *d;
		size_t used = avp_hdr(q, (size_t)(best + best_len - q), &code, &vendor, &fl, &d, &dl);

		if (!used)
			return; /* read once already: cannot happen */
		if (IS(akv_dia_avp_info(code, vendor), RESULT_CODE)) {
			mm->rc = akv_get_be32(d);
			mm->has_rc = 1;
			break;
		}
		q += used;
	}
	memcpy(mm->bytes, best, best_len);
	mm->len = (uint16_t)best_len;
	mm->at = (uint8_t)(best_at < 255 ? best_at : 255);
	memcpy(&mm->head, best, 8);
}

/* A top-level base AVP (no Vendor-Id) with only the M flag: its data
 * length, or -1 when code or flags differ or it overruns n with its
 * padding. */
static inline long
base_len(const uint8_t *p, size_t n, uint32_t code)
{
	uint32_t w, rl;

	if (n < 8)
		return -1;
	w = akv_get_be32(p + 4);
	rl = w & 0xffffff;
	if (akv_get_be32(p) != code || (w >> 24) != AKV_DIA_AVP_F_M || rl < 8 || pad4(rl) > n)
		return -1;
	return (long)(rl - 8);
}

/* 16 bytes as one vector (GCC/Clang vector extension: SSE2 on x86-64) */
typedef uint64_t v16 __attribute__((vector_size(16)));

static inline v16
ld16(const uint8_t *p)
{
	v16 v;

	memcpy(&v, p, 16);
	return v;
}

static inline int
v16_zero(v16 v)
{
	return !(v[0] | v[1]);
}

/* The same, read in place from a 16-byte aligned array of bytes (may_alias:
 * the arrays are uint8_t) */
typedef uint64_t v16a __attribute__((vector_size(16), may_alias));

/* a[0..n) and b[0..n) differ nowhere mask[0..n) has a bit set; b and
 * mask 16-byte aligned, n >= 16, the last 16 bytes overlapping the ones
 * before them. */
static inline int
same_masked(const uint8_t *a, const uint8_t *b, const uint8_t *mask, size_t n)
{
	const v16a *bv = (const v16a *)b, *mv = (const v16a *)mask;
	v16 d0 = {0, 0}, d1 = {0, 0};
	size_t i = 0;

	for (; i + 32 < n; i += 32, bv += 2, mv += 2) {
		d0 |= (ld16(a + i) ^ bv[0]) & mv[0];
		d1 |= (ld16(a + i + 16) ^ bv[1]) & mv[1];
	}
	if (i + 16 < n)
		d0 |= (ld16(a + i) ^ bv[0]) & mv[0];
	d1 |= (ld16(a + n - 16) ^ ld16(b + n - 16)) & ld16(mask + n - 16);
	return v16_zero(d0 | d1);
}

/* Learns the rest of an MAA after Public-Identity, p[0..n), that
 * maa_read_exact() has just read into m (its items' views point into it):
 * its bytes, and a mask that is 0 over the vector values only. Those are
 * the bytes item_read_exact() takes as they come; every other byte (AVP
 * headers, Item-Number, the scheme, the XRES padding, SIP-Number-Auth-
 * Items) must be the same for a later MAA to be read from this one's
 * offsets. */
static __attribute__((noinline)) void
tail_learn(struct load_maa_memo *mm, const uint8_t *p, size_t n, const struct load_maa *m)
{
	mm->tail_len = 0;
	mm->tail_misses = 0;
	if (n < 16 || n > LOAD_MAA_TAIL_BYTES || !m->n || m->n > LOAD_MAA_TAIL_ITEMS)
		return;
	memcpy(mm->tail, p, n);
	memset(mm->tail_mask, 0xff, n);
	for (unsigned i = 0; i < m->n; i++) {
		const struct load_maa_item *it = &m->item[i];

		mm->tail_item[i].rand = (uint16_t)(it->rand - p);
		mm->tail_item[i].xres = (uint16_t)(it->xres - p);
		mm->tail_item[i].ck = (uint16_t)(it->ck - p);
		mm->tail_item[i].ik = (uint16_t)(it->ik - p);
		mm->tail_item[i].xres_len = it->xres_len;
		/* RAND || AUTN are one 32-byte value (SIP-Authenticate) */
		memset(mm->tail_mask + (it->rand - p), 0, 32);
		memset(mm->tail_mask + (it->xres - p), 0, it->xres_len);
		memset(mm->tail_mask + (it->ck - p), 0, 16);
		memset(mm->tail_mask + (it->ik - p), 0, 16);
	}
	mm->tail_n = (uint8_t)m->n;
	mm->tail_len = (uint16_t)n;
}

/* A MAA exactly as akavs answers load's MARs (dia_cx.c encode_maa):
 * Session-Id, the memo's run (learned right after it, holding the
 * Result-Code), User-Name, Public-Identity, SIP-Number-Auth-Items, then
 * only items of item_read_exact()'s shape, at most AKV_VEC_MAX, each AVP
 * padded, nothing after. The loop of load_maa_read() would take such a
 * message (a memo hit, then these rows) and read the same from it; this
 * reads it without the dictionary lookup and dispatch per AVP. 1 done (*m
 * filled, the hit counted), 0 not this shape (the loop decides). */
static int
maa_read_exact(const uint8_t *p, size_t n, struct load_maa *m, struct load_maa_memo *memo)
{
	const uint8_t *e = p + n, *tail;
	unsigned k = 0;
	uint64_t hi;
	long l;

	if (!memo || !memo->head || memo->at != 1 || !memo->has_rc || !memo->rc)
		return 0;
	l = base_len(p, n, AKV_DIA_AVP_SESSION_ID);
	if (l < 0)
		return 0;
	/* the three strings must be ASCII (UTF8String, else the codec
	 * decides): their bytes ORed together, tested once */
	hi = or_bytes(p + 8, (size_t)l);
	p += pad4(8 + (size_t)l);
	/* memo_learn() keeps runs of 32 bytes or more */
	if ((size_t)(e - p) < memo->len || ld64(p) != memo->head ||
	    !akv_bytes_eq(p, memo->bytes, memo->len))
		return 0;
	p += memo->len;
	l = base_len(p, (size_t)(e - p), AKV_DIA_AVP_USER_NAME);
	if (l < 0)
		return 0;
	hi |= or_bytes(p + 8, (size_t)l);
	p += pad4(8 + (size_t)l);
	l = member_len(p, (size_t)(e - p), AKV_DIA_AVP_PUBLIC_IDENTITY);
	if (l < 0 || ((hi | or_bytes(p + 12, (size_t)l)) & HI8))
		return 0;
	p += pad4(12 + (size_t)l);
	tail = p;
	if (memo->tail_len && (size_t)(e - p) == memo->tail_len &&
	    same_masked(p, memo->tail, memo->tail_mask, memo->tail_len)) {
		/* the learned rest, vectors aside: its offsets hold */
		for (k = 0; k < memo->tail_n; k++) {
			struct load_maa_item *it = &m->item[k];

			it->rand = p + memo->tail_item[k].rand;
			it->autn = it->rand + 16;
			it->xres = p + memo->tail_item[k].xres;
			it->xres_len = memo->tail_item[k].xres_len;
			it->ck = p + memo->tail_item[k].ck;
			it->ik = p + memo->tail_item[k].ik;
		}
		memo->tail_hits++;
		memo->tail_misses = 0;
		goto done;
	}
	if ((size_t)(e - p) < 16 || !member_is(p, AKV_DIA_AVP_SIP_NUMBER_AUTH_ITEMS, 16))
		return 0;
	for (p += 16; p < e; p += pad4(12 + (size_t)l)) {
		l = member_len(p, (size_t)(e - p), AKV_DIA_AVP_SIP_AUTH_DATA_ITEM);
		if (l < 0 || k == AKV_VEC_MAX || !item_read_exact(p + 12, (size_t)l, &m->item[k]))
			return 0;
		k++;
	}
	m->n = k;
	/* the first rest seen, or the server's answers changed shape */
	if (!memo->tail_len || ++memo->tail_misses >= 16)
		tail_learn(memo, tail, (size_t)(e - tail), m);
done:
	m->n = k;
	m->result_code = memo->rc;
	memo->misses = 0;
	memo->hits++;
	return 1;
}

/* The general loop of load_maa_read(), after the header: every top-level
 * AVP checked as the codec checks it, the memo's run taken as read where it
 * was learned. Out of line: the exact read, far more frequent, then pays no
 * frame for this loop's registers. */
static __attribute__((noinline)) int
maa_read_loop(const uint8_t *msg, size_t len, struct load_maa *m, struct load_maa_memo *memo)
{
	const uint8_t *p = msg + AKV_DIA_HDR_LEN;
	uint64_t head = memo ? memo->head : 0;
	/* top-level AVPs read one by one so far: the run is looked for only
	 * where it was learned (after memo->at of them), not at every AVP */
	unsigned ord = 0, memo_at = memo ? memo->at : 0;
	size_t n = len - AKV_DIA_HDR_LEN;
	int have_rc = 0, hit = 0;

	m->n = 0;
	while (n) {
		uint32_t code, vendor, fl, dl, info;
		const uint8_t *d;
		size_t used;

		if (ord++ == memo_at && head && n >= memo->len && ld64(p) == head &&
		    !memcmp(p, memo->bytes, memo->len)) {
			/* AVPs this reader accepted before, byte for byte */
			if (memo->has_rc && !have_rc) {
				m->result_code = memo->rc;
				have_rc = 1;
			}
			hit = 1;
			p += memo->len;
			n -= memo->len;
			continue;
		}
		used = avp_hdr(p, n, &code, &vendor, &fl, &d, &dl);
		if (!used)
			return LOAD_MAA_ASK_CODEC;
		info = akv_dia_avp_info(code, vendor);
		if (IS(info, SIP_AUTH_DATA_ITEM) && m->n < AKV_VEC_MAX) {
			if (!item_read_exact(d, dl, &m->item[m->n]) && !item_read(d, dl, &m->item[m->n]))
				return LOAD_MAA_ASK_CODEC;
			m->n++;
		} else if (!value_ok(info, fl, code, vendor, d, dl, 0)) {
			return LOAD_MAA_ASK_CODEC;
		} else if (IS(info, RESULT_CODE)) {
			/* Unsigned32: the check above held it to 4 bytes */
			if (!have_rc) {
				m->result_code = akv_get_be32(d);
				have_rc = 1;
			}
		} else if (IS(info, EXPERIMENTAL_RESULT)) {
			return LOAD_MAA_ASK_CODEC; /* error answers: the codec reads them */
		}
		p += used;
		n -= used;
	}
	/* parse_result() wants a Result-Code or Experimental-Result-Code */
	if (!m->result_code)
		return LOAD_MAA_ASK_CODEC;
	if (!memo)
		return 0;
	if (hit) {
		memo->misses = 0;
		memo->hits++;
	} else if ((!memo->head && !memo->misses) || ++memo->misses >= 32)
		/* the first accepted MAA, or the server's answers changed */
		memo_learn(memo, msg + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN);
	return 0;
}

/* see load_dia_msg.h */
int
load_maa_read(const uint8_t *msg, size_t len, struct load_maa *m, struct load_maa_memo *memo)
{
	/* the codec's parser reads items as Grouped: so does this reader */
	const int item_grouped =
	    AKV_DIA_INFO_TYPE(akv_dia_avp_info(AKV_DIA_AVP_SIP_AUTH_DATA_ITEM, V3GPP)) ==
	    AKV_DIA_T_GROUPED;

	m->n = 0;
	m->result_code = 0;
	/* §3 header as akv_dia_check() and akv_dia_parse_result() want it:
	 * version 1, exact length, no reserved bits, an answer; and a MAA */
	if (len < AKV_DIA_HDR_LEN || (len & 3) || len > 0xffffff ||
	    /* Version and Message Length as one word */
	    akv_get_be32(msg) != ((uint32_t)AKV_DIA_VERSION << 24 | (uint32_t)len) ||
	    /* Command Flags (R and the reserved bits clear) and Command-Code */
	    (akv_get_be32(msg + 4) & ((uint32_t)(AKV_DIA_F_RESERVED | AKV_DIA_F_REQ) << 24 |
				      0xffffff)) != AKV_DIA_CMD_MA ||
	    !item_grouped)
		return LOAD_MAA_ASK_CODEC;
	if (maa_read_exact(msg + AKV_DIA_HDR_LEN, len - AKV_DIA_HDR_LEN, m, memo))
		return 0;
	return maa_read_loop(msg, len, m, memo);
}

/* ==== SAR / SAA ==== */

/* see load_dia_msg.h */
int
load_sar_init(struct load_sar_tpl *t, const char *host, const char *origin_realm,
	      const char *dest_realm, const char *server_name)
{
	size_t oh = strlen(host), orr = strlen(origin_realm), dr = strlen(dest_realm);
	size_t sn = strlen(server_name);
	uint8_t *p;

	memset(t, 0, sizeof(*t));
	/* VSAI 32 + Auth-Session-State 12 + three names */
	if (32 + 12 + akv_dia_avp_size(0, oh) + akv_dia_avp_size(0, orr) +
		    akv_dia_avp_size(0, dr) >
		sizeof(t->head) ||
	    akv_dia_avp_size(AKV_DIA_VENDOR_3GPP, sn) > sizeof(t->tail))
		return AKV_ETOOBIG;
	/* TS 29.229 §6.1.3 order: <Session-Id> {VSAI} {Auth-Session-State}
	 * {Origin-Host} {Origin-Realm} {Destination-Realm} ... */
	p = akv_dia_st_hdr(t->head, AKV_DIA_AVP_VENDOR_SPECIFIC_APPLICATION_ID, 0, 32);
	p = akv_dia_st_u32(p, AKV_DIA_AVP_VENDOR_ID, 0, V3GPP);
	p = akv_dia_st_u32(p, AKV_DIA_AVP_AUTH_APPLICATION_ID, 0, AKV_DIA_APP_CX);
	/* NO_STATE_MAINTAINED, as every Cx request */
	p = akv_dia_st_u32(p, AKV_DIA_AVP_AUTH_SESSION_STATE, 0, 1);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_ORIGIN_HOST, 0, host, oh);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_ORIGIN_REALM, 0, origin_realm, orr);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_DESTINATION_REALM, 0, dest_realm, dr);
	t->head_len = (uint16_t)(p - t->head);
	p = akv_dia_st_bytes(t->tail, AKV_DIA_AVP_SERVER_NAME, V3GPP, server_name, sn);
	t->tail_len = (uint16_t)(p - t->tail);
	return 0;
}

/* see load_dia_msg.h */
int
load_sar_build(const struct load_sar_tpl *t, const char *sid, size_t sid_len, const char *impi,
	       size_t impi_len, const char *impu, size_t impu_len, uint32_t sat, uint32_t hbh,
	       uint32_t e2e, uint8_t *out, size_t cap)
{
	size_t total;
	uint8_t *p = out;

	if (!sid_len || !impi_len || !impu_len)
		return AKV_EINVAL;
	if ((sid_len | impi_len | impu_len) > 0xffff)
		return AKV_ETOOBIG;
	total = AKV_DIA_HDR_LEN + akv_dia_avp_size(0, sid_len) + t->head_len +
		akv_dia_avp_size(0, impi_len) + akv_dia_avp_size(V3GPP, impu_len) + t->tail_len +
		2 * 16;
	if (total > cap)
		return AKV_ETOOBIG;
	p = akv_dia_st_msg_hdr(p, total, AKV_DIA_F_REQ | AKV_DIA_F_PROXY, AKV_DIA_CMD_SA,
			       AKV_DIA_APP_CX, hbh, e2e);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_SESSION_ID, 0, sid, sid_len);
	memcpy(p, t->head, t->head_len);
	p += t->head_len;
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_USER_NAME, 0, impi, impi_len);
	p = akv_dia_st_bytes(p, AKV_DIA_AVP_PUBLIC_IDENTITY, V3GPP, impu, impu_len);
	memcpy(p, t->tail, t->tail_len);
	p += t->tail_len;
	p = akv_dia_st_u32(p, AKV_DIA_AVP_SERVER_ASSIGNMENT_TYPE, V3GPP, sat);
	/* USER_DATA_NOT_AVAILABLE (0) on the first SAR, ALREADY_AVAILABLE (1)
	 * after: what Kamailio sends (REFERENCE §7.1) */
	akv_dia_st_u32(p, AKV_DIA_AVP_USER_DATA_ALREADY_AVAILABLE, V3GPP,
		       sat == LOAD_SAT_REGISTRATION ? 0 : 1);
	return (int)total;
}

/* see load_dia_msg.h */
int
load_saa_judge(const uint8_t *msg, size_t len, const char *impi, size_t impi_len)
{
	struct akv_dia_hdr h;
	struct akv_dia_result res;
	struct akv_dia_idx x;
	struct akv_dia_avp ud, un;

	/* the codec's own reading of an answer (every AVP checked, Result-Code
	 * and/or Experimental-Result); its index then answers the lookups
	 * below without a walk each */
	if (akv_dia_parse_result_idx(msg, len, &h, &res, &x) < 0 || h.cmd != AKV_DIA_CMD_SA ||
	    h.app != AKV_DIA_APP_CX)
		return AKV_EPROTO;
	/* a Cx answer carries exactly one of the two (TS 29.229 §6.2) */
	if (res.result_code != AKV_DIA_SUCCESS || res.exp_code)
		return LOAD_SAA_REFUSED;
	/* [User-Name] is optional; when present it must be the IMPI asked for
	 * (checked first: a de-registration's answer has no profile) */
	if (akv_dia_idx_find(&x, AKV_DIA_ROW_USER_NAME, &un) &&
	    (un.len != impi_len || memcmp(un.data, impi, impi_len)))
		return LOAD_SAA_OTHER_USER;
	/* TS 29.228 §6.1.2: a REGISTRATION / RE_REGISTRATION answer downloads
	 * the profile (User-Data, TS 29.229 §6.3.7); Kamailio refuses an SAA
	 * without it (REFERENCE §7.1) */
	if (!akv_dia_idx_find(&x, AKV_DIA_ROW_USER_DATA, &ud) || !ud.len)
		return LOAD_SAA_NO_PROFILE;
	return LOAD_SAA_OK;
}

/*
 * bytes.h - big-endian (network order) field access shared by the wire
 * codecs: AVS/1 (docs/PROTOCOL.md §1) and Diameter (RFC 6733 §3, §4: 24-bit
 * lengths and command codes, 32-bit ids and values).
 */
#ifndef AKV_SERVER_PROTO_BYTES_H
#define AKV_SERVER_PROTO_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t
akv_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
akv_get_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t
akv_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
akv_get_be64(const uint8_t *p)
{
	return (uint64_t)akv_get_be32(p) << 32 | akv_get_be32(p + 4);
}

static inline void
akv_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
akv_put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void
akv_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
akv_put_be64(uint8_t *p, uint64_t v)
{
	akv_put_be32(p, (uint32_t)(v >> 32));
	akv_put_be32(p + 4, (uint32_t)v);
}

/* memcpy for the short, variable lengths of identities, Session-Ids and
 * XRES in the codecs (and the load generator's requests): overlapping
 * 16/8/4-byte moves. Left to itself the compiler expands such a bounded copy
 * into `rep movsq`, whose start-up cost was a fifth of the Cx decoder's and
 * encoder's time. Touches no byte outside [dst, dst+n) and [src, src+n);
 * the two must not overlap. */
static inline void
akv_copy_short(void *dst, const void *src, size_t n)
{
	uint8_t *d = (uint8_t *)dst;
	const uint8_t *s = (const uint8_t *)src;

	if (n >= 16) {
		for (size_t i = 0; i + 16 < n; i += 16)
			memcpy(d + i, s + i, 16);
		memcpy(d + n - 16, s + n - 16, 16);
	} else if (n >= 8) {
		uint64_t a, b;

		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else if (n) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	}
}

/* memcmp(a, b, n) == 0 for the short runs the codecs compare against what
 * they learned (a Diameter memo's runs, a request shape's fixed bytes, the
 * load client's MAA runs: 8 to a few hundred bytes): sixteen bytes a step,
 * the last step overlapping, one test at the end. Not constant time: for
 * public bytes only. A memcmp call per run was a visible share of the front
 * end's time. */
static inline int
akv_bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	typedef uint64_t v16w __attribute__((vector_size(16)));
	uint64_t x, y, z, w;

	if (n >= 16) {
		v16w d = { 0, 0 }, u, v, u2, v2;
		size_t i = 0;

		/* two steps a round: half the loop's own instructions */
		for (; i + 32 < n; i += 32) {
			memcpy(&u, a + i, 16);
			memcpy(&v, b + i, 16);
			memcpy(&u2, a + i + 16, 16);
			memcpy(&v2, b + i + 16, 16);
			d |= (u ^ v) | (u2 ^ v2);
		}
		if (i + 16 < n) {
			memcpy(&u, a + i, 16);
			memcpy(&v, b + i, 16);
			d |= u ^ v;
		}
		memcpy(&u, a + n - 16, 16);
		memcpy(&v, b + n - 16, 16);
		d |= u ^ v;
		return !(d[0] | d[1]);
	}
	if (n >= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&z, a + n - 8, 8);
		memcpy(&w, b + n - 8, 8);
		return !((x ^ y) | (z ^ w));
	}
	return !memcmp(a, b, n);
}

#endif

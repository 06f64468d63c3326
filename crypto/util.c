/* Constant-time compare, wiping and hex helpers shared by crypto and server. */
#include "akv_crypto.h"

#include <string.h>

#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#endif

/* Branch-free building blocks of akv_ct_eq: every byte is read, loop bounds
 * and branches depend only on the public length n. Where n is not a
 * multiple of the block, the last block overlaps the one before it, so no
 * byte loop is needed. The empty asm makes each accumulator opaque so the
 * compiler cannot turn the OR chain into an early exit. */

/* 0 -> 0, anything else -> -1, without a data-dependent branch */
static inline int
ct_word_result(uint64_t d)
{
	__asm__("" : "+r"(d));
	d |= d >> 32;
	d &= 0xffffffffu;
	return -(int)((d + 0xffffffffu) >> 32);
}

static inline uint64_t
ct_diff_word(const uint8_t *x, const uint8_t *y)
{
	uint64_t u, v;

	memcpy(&u, x, 8);
	memcpy(&v, y, 8);
	return u ^ v;
}

/* n >= 16 bytes: 0 equal, -1 not. 16-byte SSE2 blocks on x86-64 (a 48-byte
 * compare, the load generator's MAC || RES || CK || IK, is three), 8-byte
 * words elsewhere. */
static inline int
ct_eq_blocks(const uint8_t *x, const uint8_t *y, size_t n)
{
#if defined(__SSE2__) && defined(__x86_64__)
	__m128i acc = _mm_setzero_si128();
	unsigned zero_bytes;

	for (size_t i = 0; i + 16 < n; i += 16) {
		acc = _mm_or_si128(acc, _mm_xor_si128(_mm_loadu_si128((const void *)(x + i)),
						      _mm_loadu_si128((const void *)(y + i))));
		__asm__("" : "+x"(acc));
	}
	acc = _mm_or_si128(acc, _mm_xor_si128(_mm_loadu_si128((const void *)(x + n - 16)),
					      _mm_loadu_si128((const void *)(y + n - 16))));
	__asm__("" : "+x"(acc));
	/* one bit per zero byte of acc: all 16 set exactly when equal, and
	 * then (zero_bytes - 0xffff) has no borrow into bit 31 */
	zero_bytes = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(acc, _mm_setzero_si128()));
	return -(int)((zero_bytes - 0xffffu) >> 31);
#else
	uint64_t d = 0;

	for (size_t i = 0; i + 8 < n; i += 8) {
		d |= ct_diff_word(x + i, y + i);
		__asm__("" : "+r"(d));
	}
	return ct_word_result(d | ct_diff_word(x + n - 8, y + n - 8));
#endif
}

/* see akv_crypto.h */
int
akv_ct_eq(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	uint64_t d = 0;

	/* the 8-byte loop this replaced took ~61 instructions for 48 bytes */
	if (n >= 16)
		return ct_eq_blocks(x, y, n);
	if (n >= 8) {
		/* two words, overlapping when n < 16 */
		d = ct_diff_word(x, y) | ct_diff_word(x + n - 8, y + n - 8);
	} else {
		for (size_t i = 0; i < n; i++) {
			d |= (uint64_t)(x[i] ^ y[i]);
			__asm__("" : "+r"(d));
		}
	}
	return ct_word_result(d);
}

/* see akv_crypto.h */
void
akv_wipe(void *p, size_t n)
{
	/* glibc's explicit_bzero is a word-wide memset the compiler may not
	 * drop as a dead store; a volatile byte loop was ~1 byte per cycle on
	 * the hot paths that wipe vectors (the load generator's profile). */
	explicit_bzero(p, n);
}

/*
 * Hex digits by arithmetic, not by a table: akv_hex_encode renders CK and IK
 * (the WWW-Authenticate ck=/ik= parameters, TS 33.203 §7.4) and HA1/response
 * digests, and a lookup indexed by a secret nibble leaks it through the
 * cache. A nibble v becomes '0' + v, plus ('a' - '0' - 10) when v > 9; the
 * mask for "v > 9" comes from a borrow (scalar) or a compare (SSE2), never
 * from a branch.
 */
static inline char
hex_digit(unsigned v)
{
	/* 9 - v borrows (bits 8.. set) exactly when v > 9 */
	return (char)('0' + v + (((9u - v) >> 8) & ('a' - '0' - 10)));
}

#if defined(__SSE2__) && defined(__x86_64__)
/* 16 bytes -> 32 lowercase hex chars at out (no NUL). */
static inline void
hex_encode16_sse2(const uint8_t *in, char *out)
{
	const __m128i low4 = _mm_set1_epi8(0x0f);
	__m128i x = _mm_loadu_si128((const void *)in);
	/* the 16-bit shift drags the upper byte's low bits in; the mask drops them */
	__m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), low4);
	__m128i lo = _mm_and_si128(x, low4);
	/* interleaved high, low nibble: the text order of each byte's two digits */
	__m128i a = _mm_unpacklo_epi8(hi, lo), b = _mm_unpackhi_epi8(hi, lo);
	const __m128i nine = _mm_set1_epi8(9), zero = _mm_set1_epi8('0');
	const __m128i gap = _mm_set1_epi8('a' - '0' - 10);

	a = _mm_add_epi8(_mm_add_epi8(a, zero), _mm_and_si128(_mm_cmpgt_epi8(a, nine), gap));
	b = _mm_add_epi8(_mm_add_epi8(b, zero), _mm_and_si128(_mm_cmpgt_epi8(b, nine), gap));
	_mm_storeu_si128((void *)out, a);
	_mm_storeu_si128((void *)(out + 16), b);
}
#endif

/* see akv_crypto.h */
void
akv_hex_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0;

#if defined(__SSE2__) && defined(__x86_64__)
	/* the byte loop took ~12 instructions a byte; CK, IK and MD5 are 16 */
	for (; i + 16 <= n; i += 16)
		hex_encode16_sse2(in + i, out + 2 * i);
#endif
	for (; i < n; i++) {
		out[2 * i] = hex_digit(in[i] >> 4);
		out[2 * i + 1] = hex_digit(in[i] & 15u);
	}
	out[2 * n] = 0;
}

static int
hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* see akv_crypto.h */
int
akv_hex_decode(const char *s, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return AKV_CRYPTO_EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return AKV_CRYPTO_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

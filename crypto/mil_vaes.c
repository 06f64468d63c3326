/*
 * mil_vaes.c - multi-buffer Milenage on VAES-256 + AVX2 (ymm, 16 lanes).
 *
 * A ymm register holds two AES blocks. In the generic TEMP pass they belong
 * to two lanes (round keys joined with vinserti128); in the OUT pass both
 * belong to the same lane, so a round key is one vbroadcasti128 load. No AVX-512 and
 * no EVEX encoding: only 16 ymm registers are assumed.
 */
#include "akv_crypto.h"

#include <stdint.h>
#include <string.h>

#include <immintrin.h>

#include "internal.h"

/* GCC: target pragma; clang (fuzz builds) has no GCC target pragma, and
 * applies the same target attribute to every function instead */
#if defined(__clang__)
#define VAES_TARGET "sse4.1,aes,avx,avx2,vaes"
#pragma clang attribute push(__attribute__((target(VAES_TARGET))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("sse4.1,aes,avx,avx2,vaes")
#endif

static inline __attribute__((always_inline)) __m256i
vaes_bcast8(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return _mm256_set1_epi64x((long long)v);
}

static inline __attribute__((always_inline)) __m256i
vaes_bcast16(const void *p)
{
	return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
}

#define MIL_W 2
#define MIL_LANES 16
#define MIL_FN(x) mil_vaes_##x
#define BLK_T __m256i
#define BLK_XOR(a, b) _mm256_xor_si256(a, b)
#define BLK_AND(a, b) _mm256_and_si256(a, b)
#define BLK_ENC(x, k) _mm256_aesenc_epi128(x, k)
#define BLK_ENCLAST(x, k) _mm256_aesenclast_epi128(x, k)
#define BLK_LOADU(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define BLK_LOAD_LANES(p, q) \
	_mm256_loadu2_m128i((const __m128i *)(const void *)(q), (const __m128i *)(const void *)(p))
#define BLK_BCAST16(p) vaes_bcast16(p)
#define BLK_BCAST8(p) vaes_bcast8(p)
#define BLK_SHUF(x, c) _mm256_shuffle_epi8(x, c)
#define BLK_SWAP64(x) _mm256_shuffle_epi32(x, 0x4e)
#define BLK_BSLL4(x) _mm256_bslli_epi128(x, 4)
#define BLK_BSLL8(x) _mm256_bslli_epi128(x, 8)
#define BLK_STORE_LANES(p, q, x) \
	_mm256_storeu2_m128i((__m128i *)(void *)(q), (__m128i *)(void *)(p), x)
#define BLK_PART(x, h) ((h) ? _mm256_extracti128_si256(x, 1) : _mm256_castsi256_si128(x))

#include "mil_body.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

static const struct akv_mil_impl vaes_impl = {
	.name = "vaes", .lanes = MIL_LANES, .gen = mil_vaes_gen, .auts = mil_vaes_auts,
	.usim = mil_vaes_usim,
};

/* see akv_crypto.h */
const struct akv_mil_impl *
akv_mil_vaes_get(void)
{
	const struct akv_cpu_features *f = akv_cpu_features();

	return f->vaes && f->avx2 && f->os_ymm ? &vaes_impl : NULL;
}

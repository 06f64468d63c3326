/*
 * mil_ni.c - multi-buffer Milenage on AES-NI (xmm, 8 lanes) and the
 * AESKEYGENASSIST key schedule behind akv_aes_expand().
 *
 * Only the code between the target push/pop may use AES-NI/SSE4.1; the
 * probe below it runs on any x86-64 and returns NULL where the CPU lacks them.
 */
#include "akv_crypto.h"

#include <stdint.h>
#include <string.h>

#include <immintrin.h>

#include "internal.h"

/* GCC: target pragma; clang (fuzz builds) has no GCC target pragma, and
 * applies the same target attribute to every function instead */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("sse4.1,aes"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("sse4.1,aes")
#endif

static inline __attribute__((always_inline)) __m128i
ni_bcast8(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return _mm_set1_epi64x((long long)v);
}

#define MIL_W 1
#define MIL_LANES 8
#define MIL_FN(x) mil_ni_##x
#define BLK_T __m128i
#define BLK_XOR(a, b) _mm_xor_si128(a, b)
#define BLK_AND(a, b) _mm_and_si128(a, b)
#define BLK_ENC(x, k) _mm_aesenc_si128(x, k)
#define BLK_ENCLAST(x, k) _mm_aesenclast_si128(x, k)
#define BLK_LOADU(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define BLK_LOAD_LANES(p, q) ((void)(q), BLK_LOADU(p))
#define BLK_BCAST16(p) BLK_LOADU(p)
#define BLK_BCAST8(p) ni_bcast8(p)
#define BLK_SHUF(x, c) _mm_shuffle_epi8(x, c)
#define BLK_SWAP64(x) _mm_shuffle_epi32(x, 0x4e)
#define BLK_BSLL4(x) _mm_slli_si128(x, 4)
#define BLK_BSLL8(x) _mm_slli_si128(x, 8)
#define BLK_STORE_LANES(p, q, x) ((void)(q), _mm_storeu_si128((__m128i *)(void *)(p), x))
#define BLK_PART(x, h) (x)

#include "mil_body.h"

/* FIPS-197 §5.2 step: w0' = w0 ^ SubWord(RotWord(w3)) ^ Rcon, wi' = wi ^ w(i-1)'.
 * AESKEYGENASSIST leaves SubWord(RotWord(w3)) ^ Rcon in word 3. */
static inline __attribute__((always_inline)) __m128i
ni_kexp_step(__m128i k, __m128i assist)
{
	assist = _mm_shuffle_epi32(assist, 0xff);
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 8));
	return _mm_xor_si128(k, assist);
}

static void
ni_expand(const uint8_t k[16], struct akv_aes_sched *ks)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)k);

	/* the round constant is an immediate operand, hence the unrolled steps */
#define NI_STEP(i, rc)                                                       \
	do {                                                                 \
		x = ni_kexp_step(x, _mm_aeskeygenassist_si128(x, rc));       \
		_mm_store_si128((__m128i *)(void *)ks->rk[i], x);            \
	} while (0)
	_mm_store_si128((__m128i *)(void *)ks->rk[0], x);
	NI_STEP(1, 0x01);
	NI_STEP(2, 0x02);
	NI_STEP(3, 0x04);
	NI_STEP(4, 0x08);
	NI_STEP(5, 0x10);
	NI_STEP(6, 0x20);
	NI_STEP(7, 0x40);
	NI_STEP(8, 0x80);
	NI_STEP(9, 0x1b);
	NI_STEP(10, 0x36);
#undef NI_STEP
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

static const struct akv_mil_impl ni_impl = {
	.name = "aesni", .lanes = MIL_LANES, .gen = mil_ni_gen, .auts = mil_ni_auts,
	.usim = mil_ni_usim,
};

/* see akv_crypto.h */
const struct akv_mil_impl *
akv_mil_ni_get(void)
{
	const struct akv_cpu_features *f = akv_cpu_features();

	return f->aesni && f->sse41 ? &ni_impl : NULL;
}

/* see akv_crypto.h */
void
akv_aes_expand(const uint8_t k[16], struct akv_aes_sched *ks)
{
	if (akv_mil_ni_get())
		ni_expand(k, ks);
	else
		akv_wipe(ks, sizeof(*ks));
}

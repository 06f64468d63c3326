/*
 * roofline.c - the AES roofline of `akavs-bench crypto`: how many AES-128
 * blocks per second one core encrypts when every block has its own key, as
 * in a multi-buffer Milenage kernel (one subscriber, one K, per lane), with
 * the round keys already expanded. A Milenage vector costs 5 blocks (TEMP,
 * OUT1..OUT4; TS 35.206 §4.1), so blocks/s / 5 bounds vectors/s from above.
 *
 * The loop chains each block's output into its next input, so the work
 * cannot be hoisted or skipped, and keeps AKV_ROOF_KEYS chains in flight to
 * cover the AESENC latency. Key expansion is done here with AESKEYGENASSIST
 * (not with akv_aes_expand) so the roofline does not depend on the kernels
 * it is a yardstick for; akv_roof_selfcheck() compares it with OpenSSL.
 */
#include "bench_crypto.h"

#include <string.h>

#include <immintrin.h>
#include <openssl/evp.h>

#include "bench.h"

/* see bench_crypto.h */
enum akv_roof_isa
akv_roof_best_isa(void)
{
	/* the kernels' own CPU probes (CPUID and the OS's YMM state), which
	 * clang's __builtin_cpu_supports cannot name "vaes" for */
	if (akv_mil_vaes_get())
		return AKV_ROOF_VAES256;
	if (akv_mil_ni_get())
		return AKV_ROOF_AESNI;
	return AKV_ROOF_NONE;
}

/* see bench_crypto.h */
const char *
akv_roof_isa_name(enum akv_roof_isa isa)
{
	return isa == AKV_ROOF_VAES256 ? "vaes256" : isa == AKV_ROOF_AESNI ? "aesni" : "none";
}

#pragma GCC push_options
#pragma GCC target("aes,sse4.1,avx2,vaes")

/* FIPS-197 §5.2 key expansion, one round: w[i] = w[i-4] ^ SubWord(RotWord(w[i-1])) ^ Rcon
 * for the first word, then the running XOR for the other three. */
static __m128i
expand_round(__m128i k, __m128i assist)
{
	assist = _mm_shuffle_epi32(assist, 0xff);
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, assist);
}

/* AESKEYGENASSIST takes Rcon as an immediate, hence the macro. */
#define EXPAND(i, rcon) rk[i] = expand_round(rk[(i)-1], _mm_aeskeygenassist_si128(rk[(i)-1], rcon))

static void
expand_key(const uint8_t key[16], __m128i rk[11])
{
	rk[0] = _mm_loadu_si128((const __m128i *)key);
	EXPAND(1, 0x01);
	EXPAND(2, 0x02);
	EXPAND(3, 0x04);
	EXPAND(4, 0x08);
	EXPAND(5, 0x10);
	EXPAND(6, 0x20);
	EXPAND(7, 0x40);
	EXPAND(8, 0x80);
	EXPAND(9, 0x1b);
	EXPAND(10, 0x36);
}
#undef EXPAND

/* `iters` rounds of: every one of the 16 blocks encrypted once under its key. */
static void
loop_aesni(__m128i s[AKV_ROOF_KEYS], const __m128i rk[AKV_ROOF_KEYS][11], uint64_t iters)
{
	__m128i x[AKV_ROOF_KEYS];

#pragma GCC unroll 16
	for (unsigned j = 0; j < AKV_ROOF_KEYS; j++)
		x[j] = s[j];
	while (iters--) {
#pragma GCC unroll 16
		for (unsigned j = 0; j < AKV_ROOF_KEYS; j++)
			x[j] = _mm_xor_si128(x[j], rk[j][0]);
#pragma GCC unroll 9
		for (unsigned r = 1; r < 10; r++) {
#pragma GCC unroll 16
			for (unsigned j = 0; j < AKV_ROOF_KEYS; j++)
				x[j] = _mm_aesenc_si128(x[j], rk[j][r]);
		}
#pragma GCC unroll 16
		for (unsigned j = 0; j < AKV_ROOF_KEYS; j++)
			x[j] = _mm_aesenclast_si128(x[j], rk[j][10]);
	}
#pragma GCC unroll 16
	for (unsigned j = 0; j < AKV_ROOF_KEYS; j++)
		s[j] = x[j];
}

/* Same with VAES: ymm j holds blocks 2j and 2j+1, each with its own key, so
 * the round keys are pairs (rk[2j][r] | rk[2j+1][r]) made once up front. */
#define YMMS (AKV_ROOF_KEYS / 2)
static void
loop_vaes(__m128i s[AKV_ROOF_KEYS], const __m128i rk[AKV_ROOF_KEYS][11], uint64_t iters)
{
	__m256i k2[YMMS][11], x[YMMS];

	for (unsigned j = 0; j < YMMS; j++) {
		for (unsigned r = 0; r < 11; r++)
			k2[j][r] = _mm256_set_m128i(rk[2 * j + 1][r], rk[2 * j][r]);
		x[j] = _mm256_set_m128i(s[2 * j + 1], s[2 * j]);
	}
	while (iters--) {
#pragma GCC unroll 8
		for (unsigned j = 0; j < YMMS; j++)
			x[j] = _mm256_xor_si256(x[j], k2[j][0]);
#pragma GCC unroll 9
		for (unsigned r = 1; r < 10; r++) {
#pragma GCC unroll 8
			for (unsigned j = 0; j < YMMS; j++)
				x[j] = _mm256_aesenc_epi128(x[j], k2[j][r]);
		}
#pragma GCC unroll 8
		for (unsigned j = 0; j < YMMS; j++)
			x[j] = _mm256_aesenclast_epi128(x[j], k2[j][10]);
	}
	for (unsigned j = 0; j < YMMS; j++) {
		s[2 * j] = _mm256_castsi256_si128(x[j]);
		s[2 * j + 1] = _mm256_extracti128_si256(x[j], 1);
	}
	_mm256_zeroupper();
}
#undef YMMS

static void
run_loop(enum akv_roof_isa isa, __m128i s[AKV_ROOF_KEYS], const __m128i rk[AKV_ROOF_KEYS][11],
	 uint64_t iters)
{
	if (isa == AKV_ROOF_VAES256)
		loop_vaes(s, rk, iters);
	else
		loop_aesni(s, rk, iters);
}

/* Benchmark keys: fixed, distinct per lane (timing does not depend on them). */
static void
make_keys(__m128i rk[AKV_ROOF_KEYS][11], uint8_t keys[AKV_ROOF_KEYS][16])
{
	uint64_t st = 0x726f6f666c696e65ull;

	for (unsigned j = 0; j < AKV_ROOF_KEYS; j++) {
		for (unsigned b = 0; b < 16; b += 8) {
			uint64_t v = akv_bench_rand64(&st);

			memcpy(keys[j] + b, &v, 8);
		}
		expand_key(keys[j], rk[j]);
	}
}

/* see bench_crypto.h */
int
akv_roof_selfcheck(enum akv_roof_isa isa)
{
	__m128i rk[AKV_ROOF_KEYS][11], s[AKV_ROOF_KEYS];
	uint8_t keys[AKV_ROOF_KEYS][16], pt[16], got[16], want[16];
	EVP_CIPHER_CTX *ctx;
	int ok = 0, len;

	if (isa == AKV_ROOF_NONE)
		return -1;
	make_keys(rk, keys);
	for (unsigned j = 0; j < AKV_ROOF_KEYS; j++) {
		for (unsigned b = 0; b < 16; b++)
			pt[b] = (uint8_t)(j * 16 + b);
		s[j] = _mm_loadu_si128((const __m128i *)pt);
	}
	run_loop(isa, s, (const __m128i(*)[11])rk, 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -1;
	for (unsigned j = 0; j < AKV_ROOF_KEYS && !ok; j++) {
		for (unsigned b = 0; b < 16; b++)
			pt[b] = (uint8_t)(j * 16 + b);
		_mm_storeu_si128((__m128i *)got, s[j]);
		if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, keys[j], NULL) != 1 ||
		    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
		    EVP_EncryptUpdate(ctx, want, &len, pt, 16) != 1 || len != 16 ||
		    memcmp(got, want, 16))
			ok = -1;
	}
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* see bench_crypto.h */
double
akv_roof_blocks_per_s(enum akv_roof_isa isa, double seconds, volatile uint64_t *sink)
{
	__m128i rk[AKV_ROOF_KEYS][11], s[AKV_ROOF_KEYS];
	uint8_t keys[AKV_ROOF_KEYS][16];
	uint64_t c0, deadline, iters = 0, chunk = 1024, fold = 0;

	if (isa == AKV_ROOF_NONE)
		return 0;
	make_keys(rk, keys);
	for (unsigned j = 0; j < AKV_ROOF_KEYS; j++)
		s[j] = _mm_set1_epi32((int)j);
	run_loop(isa, s, (const __m128i(*)[11])rk, chunk); /* warm up caches and clocks */
	deadline = akv_bench_now_ns() + (uint64_t)(seconds * 1e9);
	c0 = akv_bench_cpu_ns();
	do {
		run_loop(isa, s, (const __m128i(*)[11])rk, chunk);
		iters += chunk;
	} while (akv_bench_now_ns() < deadline);
	for (unsigned j = 0; j < AKV_ROOF_KEYS; j++)
		fold ^= (uint64_t)_mm_cvtsi128_si64(s[j]);
	*sink ^= fold;
	return (double)iters * AKV_ROOF_KEYS / ((double)(akv_bench_cpu_ns() - c0) / 1e9);
}

#pragma GCC pop_options

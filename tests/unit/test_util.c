/* crypto/util.c: constant-time compare, wipe, hex helpers. */
#include <check.h>
#include <string.h>

#include "akv_crypto.h"
#include "akv_test.h"

/* Equal buffers of every length 0..64 compare equal; one flipped bit at any
 * position makes them differ. */
START_TEST(t_util_ct_eq_every_position)
{
	uint8_t a[64], b[64];

	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(a); n++) {
		memcpy(b, a, sizeof(a));
		ck_assert_int_eq(akv_ct_eq(a, b, n), 0);
		for (size_t pos = 0; pos < n; pos++) {
			for (int bit = 0; bit < 8; bit++) {
				b[pos] ^= (uint8_t)(1u << bit);
				ck_assert_int_eq(akv_ct_eq(a, b, n), -1);
				b[pos] ^= (uint8_t)(1u << bit);
			}
		}
	}
}
END_TEST

/* The plain byte loop akv_ct_eq must agree with (0 equal, -1 not). */
static int
byte_loop_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return -1;
	return 0;
}

/* akv_ct_eq's word and 16-byte block paths (overlapping tails included)
 * against the byte loop: every length 0..100, buffers at every offset 0..15
 * from alignment, equal, one byte differing at each position (every bit in
 * turn), two differing bytes, and random pairs that differ in many bytes. */
START_TEST(t_util_ct_eq_matches_byte_loop)
{
	uint8_t abuf[128 + 16], bbuf[128 + 16];
	uint64_t rng = 0x75746c31;

	for (size_t off = 0; off < 16; off++) {
		uint8_t *a = abuf + off, *b = bbuf + (off * 7 + 3) % 16;

		for (size_t n = 0; n <= 100; n++) {
			for (size_t i = 0; i < n; i++)
				a[i] = (uint8_t)akv_test_rand64(&rng);
			memcpy(b, a, n);
			/* bytes just past the end differ: they must not be read */
			a[n] = 0x00;
			b[n] = 0xff;
			ck_assert_int_eq(akv_ct_eq(a, b, n), 0);
			for (size_t pos = 0; pos < n; pos++) {
				uint8_t bit = (uint8_t)(1u << (pos % 8));

				b[pos] ^= bit;
				ck_assert_int_eq(akv_ct_eq(a, b, n), byte_loop_eq(a, b, n));
				ck_assert_int_eq(akv_ct_eq(a, b, n), -1);
				b[n - 1 - pos] ^= 0x80;
				ck_assert_int_eq(akv_ct_eq(a, b, n), byte_loop_eq(a, b, n));
				b[n - 1 - pos] ^= 0x80;
				b[pos] ^= bit;
			}
			for (size_t i = 0; i < n; i++)
				b[i] = (uint8_t)akv_test_rand64(&rng) & 0x3;
			for (size_t i = 0; i < n; i++)
				a[i] = (uint8_t)akv_test_rand64(&rng) & 0x3;
			ck_assert_int_eq(akv_ct_eq(a, b, n), byte_loop_eq(a, b, n));
		}
	}
}
END_TEST

/* akv_wipe zeroes exactly [p, p + n): odd lengths and misaligned starts,
 * guard bytes on both sides untouched. */
START_TEST(t_util_wipe_exact_range)
{
	uint8_t buf[96];

	for (size_t off = 0; off < 9; off++) {
		for (size_t n = 0; n + off + 8 <= sizeof(buf); n += 7) {
			memset(buf, 0xa5, sizeof(buf));
			akv_wipe(buf + off, n);
			for (size_t i = 0; i < sizeof(buf); i++)
				ck_assert_uint_eq(buf[i], i >= off && i < off + n ? 0 : 0xa5);
		}
	}
}
END_TEST

START_TEST(t_util_hex_round_trip_and_rejects)
{
	uint8_t in[32], out[32];
	char hex[65];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 29 + 3);
	akv_hex_encode(in, sizeof(in), hex);
	ck_assert_uint_eq(strlen(hex), 64);
	for (size_t i = 0; i < 64; i++)
		ck_assert(strchr("0123456789abcdef", hex[i]) != NULL);
	ck_assert_int_eq(akv_hex_decode(hex, 64, out, sizeof(out)), 0);
	ck_assert_mem_eq(in, out, sizeof(in));
	/* either case decodes the same */
	ck_assert_int_eq(akv_hex_decode("0aFf", 4, out, 2), 0);
	ck_assert_uint_eq(out[0], 0x0a);
	ck_assert_uint_eq(out[1], 0xff);
	/* wrong length, non-hex characters */
	ck_assert_int_eq(akv_hex_decode("0aF", 3, out, 2), AKV_CRYPTO_EINVAL);
	ck_assert_int_eq(akv_hex_decode("0aFf00", 6, out, 2), AKV_CRYPTO_EINVAL);
	ck_assert_int_eq(akv_hex_decode("0g", 2, out, 1), AKV_CRYPTO_EINVAL);
	ck_assert_int_eq(akv_hex_decode(" 0", 2, out, 1), AKV_CRYPTO_EINVAL);
}
END_TEST

/* The byte-at-a-time encoder akv_hex_encode() must match: the oracle. */
static void
ref_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

static int
untouched(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0x5a)
			return 0;
	return 1;
}

/* Every length 0..64 (whole 16-byte SIMD steps, the byte tail, both), every
 * alignment of input and output: the same 2n chars + NUL as the reference,
 * and nothing written past the NUL. */
START_TEST(t_util_hex_encode_matches_byte_loop)
{
	uint64_t seed = 0x6865786c6f6f7031ull;
	uint8_t in[64 + 16];
	char got[2 * 64 + 1 + 16 + 16], want[2 * 64 + 1];

	for (int round = 0; round < 8; round++) {
		for (size_t n = 0; n <= 64; n++) {
			for (size_t ia = 0; ia < 16; ia += 5) {
				for (size_t oa = 0; oa < 16; oa += 3) {
					akv_test_fill(&seed, in, sizeof(in));
					ref_hex(in + ia, n, want);
					memset(got, 0x5a, sizeof(got));
					akv_hex_encode(in + ia, n, got + oa);
					ck_assert_mem_eq(got + oa, want, 2 * n + 1);
					/* one assertion, not one per byte (each is a
					 * pipe write to the Check parent) */
					ck_assert(untouched(got, oa) &&
						  untouched(got + oa + 2 * n + 1,
							    sizeof(got) - oa - 2 * n - 1));
				}
			}
		}
	}
}
END_TEST

/* Every byte value, so every nibble in both halves and in both the SIMD
 * steps (first 256 - 256 % 16 bytes) and, shifted by one, the byte tail. */
START_TEST(t_util_hex_encode_every_byte)
{
	uint8_t in[257];
	char got[2 * 257 + 1], want[2 * 257 + 1];

	for (int i = 0; i < 257; i++)
		in[i] = (uint8_t)(i + 255); /* 255, 0, 1, ..., 255 */
	for (size_t off = 0; off < 2; off++) {
		ref_hex(in + off, 256, want);
		akv_hex_encode(in + off, 256, got);
		ck_assert_str_eq(got, want);
	}
	/* the tail alone: fewer than 16 bytes, all values */
	for (int i = 0; i < 256; i++) {
		uint8_t b = (uint8_t)i;

		ref_hex(&b, 1, want);
		akv_hex_encode(&b, 1, got);
		ck_assert_str_eq(got, want);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");

	tcase_add_test(tc, t_util_ct_eq_every_position);
	tcase_add_test(tc, t_util_ct_eq_matches_byte_loop);
	tcase_add_test(tc, t_util_wipe_exact_range);
	tcase_add_test(tc, t_util_hex_round_trip_and_rejects);
	tcase_add_test(tc, t_util_hex_encode_matches_byte_loop);
	tcase_add_test(tc, t_util_hex_encode_every_byte);
	suite_add_tcase(s, tc);
	return akv_test_run(s);
}

/* SQN arithmetic of TS 33.102 Annex C and the resync rule of §6.3.5. */
#include <check.h>
#include <string.h>

#include "akv_crypto.h"
#include "akv_test.h"
#include "aka/sqn.h"
#include "err.h"

START_TEST(t_sqn_make_split_put_get)
{
	uint8_t b[6];

	ck_assert_uint_eq(akv_sqn_make(1, 10, 5), 42);
	ck_assert_uint_eq(akv_sqn_seq(42, 5), 1);
	ck_assert_uint_eq(akv_sqn_ind(42, 5), 10);
	akv_sqn_put(0xff9bb4d0b607ull, b);
	ck_assert_mem_eq(b, "\xff\x9b\xb4\xd0\xb6\x07", 6);
	ck_assert_uint_eq(akv_sqn_get(b), 0xff9bb4d0b607ull);
	ck_assert_uint_eq(akv_sqn_seq_max(5), (1ull << 43) - 1);
	ck_assert_uint_eq(akv_sqn_make(akv_sqn_seq_max(5), 31, 5), AKV_SQN_MAX);
}
END_TEST

/* put writes exactly 6 bytes, the low 48 bits, whatever lies above them */
START_TEST(t_sqn_put_writes_six_bytes)
{
	uint8_t b[8];

	memset(b, 0xee, sizeof(b));
	akv_sqn_put(0xabcd000000000102ull, b);
	ck_assert_mem_eq(b, "\x00\x00\x00\x00\x01\x02\xee\xee", 8);
	akv_sqn_put(AKV_SQN_MAX, b);
	ck_assert_mem_eq(b, "\xff\xff\xff\xff\xff\xff\xee\xee", 8);
}
END_TEST

/* The libosmocore example (REFERENCE §2.2): INDbits 5, IND 10, after SQN 31
 * come 42, 74, 106. */
START_TEST(t_sqn_next_sequence_osmo_example)
{
	uint64_t seq = akv_sqn_seq(31, 5), first;
	static const uint64_t want[] = {42, 74, 106};

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(akv_sqn_take(&seq, 1, 5, &first), 0);
		ck_assert_uint_eq(akv_sqn_make(first, 10, 5), want[i]);
	}
}
END_TEST

START_TEST(t_sqn_seq_carry)
{
	/* SEQ 0x7ffffff + 1 carries across bytes of the 48-bit value */
	uint64_t seq = 0x7ffffff, first;
	uint8_t b[6];

	ck_assert_int_eq(akv_sqn_take(&seq, 1, 5, &first), 0);
	ck_assert_uint_eq(first, 0x8000000);
	akv_sqn_put(akv_sqn_make(first, 3, 5), b);
	ck_assert_mem_eq(b, "\x00\x01\x00\x00\x00\x03", 6);
	/* n vectors take n consecutive SEQ values */
	ck_assert_int_eq(akv_sqn_take(&seq, 8, 5, &first), 0);
	ck_assert_uint_eq(first, 0x8000001);
	ck_assert_uint_eq(seq, 0x8000008);
	ck_assert_int_eq(akv_sqn_take(&seq, 0, 5, &first), AKV_ESQN_EXHAUSTED);
}
END_TEST

START_TEST(t_sqn_ind_wrap)
{
	uint16_t cur = 0;

	for (unsigned i = 0; i < 70; i++)
		ck_assert_int_eq(akv_sqn_ind_pick(-1, &cur, 5), (int)(i % 32));
	cur = 31;
	ck_assert_int_eq(akv_sqn_ind_pick(-1, &cur, 5), 31);
	ck_assert_uint_eq(cur, 0);
	/* a peer's slot is used as is and does not move the cursor */
	ck_assert_int_eq(akv_sqn_ind_pick(17, &cur, 5), 17);
	ck_assert_uint_eq(cur, 0);
	ck_assert_int_eq(akv_sqn_ind_pick(32, &cur, 5), AKV_EINVAL);
	ck_assert_int_eq(akv_sqn_ind_pick(1023, &cur, 10), 1023);
	/* IND of 0 bits: a single slot */
	ck_assert_int_eq(akv_sqn_ind_pick(-1, &cur, 0), 0);
	ck_assert_int_eq(akv_sqn_ind_pick(1, &cur, 0), AKV_EINVAL);
}
END_TEST

START_TEST(t_sqn_48bit_limit)
{
	uint64_t max = akv_sqn_seq_max(5), seq = max - 2, first;

	ck_assert_int_eq(akv_sqn_take(&seq, 3, 5, &first), AKV_ESQN_EXHAUSTED);
	ck_assert_uint_eq(seq, max - 2);	/* unchanged on refusal */
	ck_assert_int_eq(akv_sqn_take(&seq, 2, 5, &first), 0);
	ck_assert_uint_eq(seq, max);
	ck_assert_uint_eq(akv_sqn_make(seq, 31, 5), AKV_SQN_MAX);
	ck_assert_int_eq(akv_sqn_take(&seq, 1, 5, &first), AKV_ESQN_EXHAUSTED);
	/* never wraps even from absurd states */
	seq = UINT64_MAX;
	ck_assert_int_eq(akv_sqn_take(&seq, 1, 5, &first), AKV_ESQN_EXHAUSTED);
	/* reservations are capped at the limit */
	ck_assert_uint_eq(akv_sqn_reserve_to(max - 10, 1000, 5), max);
	ck_assert_uint_eq(akv_sqn_reserve_to(max, 1000, 5), max);
	ck_assert_uint_eq(akv_sqn_reserve_to(5, 1000, 5), 1005);
}
END_TEST

START_TEST(t_sqn_start_above_reservation_and_admin)
{
	ck_assert_uint_eq(akv_sqn_start(0, 0, 5), 0);
	ck_assert_uint_eq(akv_sqn_start(akv_sqn_make(500, 31, 5), akv_sqn_make(7, 2, 5), 5), 500);
	ck_assert_uint_eq(akv_sqn_start(akv_sqn_make(5, 31, 5), akv_sqn_make(700, 2, 5), 5), 700);
	/* reservation written with 5 IND bits, read with 4: every SQN issued
	 * before (<= reserved) stays below the next one */
	{
		uint64_t reserved = akv_sqn_make(500, 31, 5);
		uint64_t seq4 = akv_sqn_start(reserved, 0, 4);

		ck_assert_uint_gt(akv_sqn_make(seq4 + 1, 0, 4), reserved);
	}
}
END_TEST

START_TEST(t_sqn_resync_higher_lower_delta)
{
	uint64_t delta = 1ull << 28, he;

	/* SQN_MS ahead of SQN_HE: move forward to SEQ_MS */
	he = 100;
	ck_assert_int_eq(akv_sqn_resync(&he, akv_sqn_make(5000, 3, 5), 5, delta), 1);
	ck_assert_uint_eq(he, 5000);
	/* SQN_MS behind, within Δ: never backwards, kept */
	ck_assert_int_eq(akv_sqn_resync(&he, akv_sqn_make(4000, 3, 5), 5, delta), 0);
	ck_assert_uint_eq(he, 5000);
	/* equal: the next SEQ_HE + 1 is fresh for the USIM */
	ck_assert_int_eq(akv_sqn_resync(&he, akv_sqn_make(5000, 0, 5), 5, delta), 0);
	ck_assert_uint_eq(he, 5000);
	/* boundary of Δ: SEQ_HE + 1 - SEQ_MS == Δ is accepted, Δ + 1 is not */
	he = 1000;
	ck_assert_int_eq(akv_sqn_resync(&he, akv_sqn_make(1000 - 99, 0, 5), 5, 100), 0);
	ck_assert_int_eq(akv_sqn_resync(&he, akv_sqn_make(1000 - 100, 0, 5), 5, 100),
			 AKV_ESQN_RANGE);
	ck_assert_uint_eq(he, 1000);
}
END_TEST

/* REFERENCE.md §1.4: AUTS ba853f3c123c cf44e93596e355c6 for TS 35.208 set 1
 * carries SQN_MS ff9bb4d0b607 with a valid MAC-S (AMF 0000). */
START_TEST(t_sqn_reference_auts_example)
{
	struct akv_mil_auts_in in = {0};
	struct akv_mil_auts_out out;
	uint64_t he, sqn_ms;

	akv_hex_decode("465b5ce8b199b49faa5f0a2ee238a6bc", 32, in.k, 16);
	akv_hex_decode("cd63cb71954a9f4e48a5994e37a02baf", 32, in.opc, 16);
	akv_hex_decode("23553cbe9637a89d218ae64dae47bf35", 32, in.rand, 16);
	akv_hex_decode("ba853f3c123ccf44e93596e355c6", 28, in.auts, 14);
	akv_mil_ref_get()->auts(&in, &out, 1);
	ck_assert_uint_eq(out.mac_ok, 1);
	sqn_ms = akv_sqn_get(out.sqn_ms);
	ck_assert_uint_eq(sqn_ms, 0xff9bb4d0b607ull);
	he = 12;
	ck_assert_int_eq(akv_sqn_resync(&he, sqn_ms, 5, 1ull << 28), 1);
	ck_assert_uint_eq(he, 0xff9bb4d0b607ull >> 5);
	/* one flipped MAC-S bit: invalid */
	in.auts[13] ^= 0x01;
	akv_mil_ref_get()->auts(&in, &out, 1);
	ck_assert_uint_eq(out.mac_ok, 0);
	/* the best backend agrees */
	akv_crypto_init();
	in.auts[13] ^= 0x01;
	akv_mil_best()->auts(&in, &out, 1);
	ck_assert_uint_eq(out.mac_ok, 1);
	ck_assert_uint_eq(akv_sqn_get(out.sqn_ms), 0xff9bb4d0b607ull);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("sqn");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_sqn_make_split_put_get);
	tcase_add_test(tc, t_sqn_put_writes_six_bytes);
	tcase_add_test(tc, t_sqn_next_sequence_osmo_example);
	tcase_add_test(tc, t_sqn_seq_carry);
	tcase_add_test(tc, t_sqn_ind_wrap);
	tcase_add_test(tc, t_sqn_48bit_limit);
	tcase_add_test(tc, t_sqn_start_above_reservation_and_admin);
	tcase_add_test(tc, t_sqn_resync_higher_lower_delta);
	tcase_add_test(tc, t_sqn_reference_auts_example);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(suite());
}

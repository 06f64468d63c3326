/* The reference Milenage against TS 35.207/35.208 rows (the oracle's own check). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "akv_crypto.h"
#include "akv_test.h"

START_TEST(t_mil_ref_ts35208_set1)
{
	static const uint8_t k[16] = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
				      0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc};
	uint8_t op[16], opc[16], want[16];
	struct akv_mil_in in = {0};
	struct akv_mil_out out;

	ck_assert_int_eq(akv_hex_decode("cdc202d5123e20f62b6d676ac72cb318", 32, op, 16), 0);
	akv_mil_opc(k, op, opc);
	ck_assert_int_eq(akv_hex_decode("cd63cb71954a9f4e48a5994e37a02baf", 32, want, 16), 0);
	ck_assert_mem_eq(opc, want, 16);
	memcpy(in.k, k, 16);
	memcpy(in.opc, opc, 16);
	akv_hex_decode("23553cbe9637a89d218ae64dae47bf35", 32, in.rand, 16);
	akv_hex_decode("ff9bb4d0b607", 12, in.sqn, 6);
	akv_hex_decode("b9b9", 4, in.amf, 2);
	akv_mil_ref_get()->gen(&in, &out, 1, AKV_MIL_ALL);
	akv_hex_decode("a54211d5e3ba50bf", 16, want, 8);
	ck_assert_mem_eq(out.res, want, 8);
	akv_hex_decode("4a9ffac354dfafb3", 16, want, 8);
	ck_assert_mem_eq(out.mac_a, want, 8);
	akv_hex_decode("451e8beca43b", 12, want, 6);
	ck_assert_mem_eq(out.ak_s, want, 6);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("mil_ref");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_mil_ref_ts35208_set1);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(suite());
}

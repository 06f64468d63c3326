/* The failed-attempt policy: limit, override, reset, DEREGISTER. */
#include <check.h>

#include "akv_test.h"
#include "aka/eng.h"
#include "aka/policy.h"

START_TEST(t_policy_limit_choice)
{
	ck_assert_uint_eq(akv_policy_limit(3, 0), 3);
	ck_assert_uint_eq(akv_policy_limit(3, 5), 5);	/* subscriber override wins */
	ck_assert_uint_eq(akv_policy_limit(3, 1), 1);
	ck_assert_uint_eq(akv_policy_limit(0, 0), 1);	/* never "unlimited" by accident */
	ck_assert_uint_eq(akv_policy_limit(3, 1000), AKV_POLICY_LIMIT_MAX);
}
END_TEST

START_TEST(t_policy_counts_to_deregister_then_fresh)
{
	uint8_t fails = 0;
	struct akv_policy_result r;

	r = akv_policy_on_fail(&fails, 3);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
	ck_assert_uint_eq(r.attempts_left, 2);
	r = akv_policy_on_fail(&fails, 3);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
	ck_assert_uint_eq(r.attempts_left, 1);
	r = akv_policy_on_fail(&fails, 3);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_DEREGISTER);
	ck_assert_uint_eq(r.attempts_left, 0);
	ck_assert_uint_eq(fails, 0);	/* the next request starts fresh */
	r = akv_policy_on_fail(&fails, 3);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
	ck_assert_uint_eq(r.attempts_left, 2);
}
END_TEST

START_TEST(t_policy_success_resets)
{
	uint8_t fails = 0;
	struct akv_policy_result r;

	akv_policy_on_fail(&fails, 3);
	akv_policy_on_fail(&fails, 3);
	r = akv_policy_on_success(&fails);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
	ck_assert_uint_eq(fails, 0);
	r = akv_policy_on_fail(&fails, 3);
	ck_assert_uint_eq(r.attempts_left, 2);
}
END_TEST

START_TEST(t_policy_limit_one_and_max)
{
	uint8_t fails = 0;
	struct akv_policy_result r = akv_policy_on_fail(&fails, 1);

	ck_assert_uint_eq(r.verdict, AKV_VERDICT_DEREGISTER);
	for (unsigned i = 1; i < 255; i++) {
		r = akv_policy_on_fail(&fails, 255);
		ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
		ck_assert_uint_eq(r.attempts_left, 255 - i);
	}
	r = akv_policy_on_fail(&fails, 255);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_DEREGISTER);
	ck_assert(akv_policy_stale_counts(1));
	ck_assert(!akv_policy_stale_counts(0));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_policy_limit_choice);
	tcase_add_test(tc, t_policy_counts_to_deregister_then_fresh);
	tcase_add_test(tc, t_policy_success_resets);
	tcase_add_test(tc, t_policy_limit_one_and_max);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(suite());
}

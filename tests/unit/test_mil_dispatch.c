/*
 * Runtime choice of the Milenage backend (STYLE 2.6): the default pick,
 * AKV_CRYPTO_IMPL forcing, unknown names, and the reasons akv_mil_by_name
 * gives for a backend this CPU cannot run. Each test runs in its own forked
 * process (CK_FORK), so akv_crypto_init() starts fresh every time.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akv_crypto.h"
#include "akv_test.h"

/* The pick akv_crypto_init() must make without forcing: vaes > aesni > ref. */
static const struct akv_mil_impl *
expected_default(void)
{
	if (akv_mil_vaes_get())
		return akv_mil_vaes_get();
	if (akv_mil_ni_get())
		return akv_mil_ni_get();
	return akv_mil_ref_get();
}

START_TEST(t_mil_dispatch_default)
{
	unsetenv("AKV_CRYPTO_IMPL");
	ck_assert_int_eq(akv_crypto_init(), 0);
	ck_assert_ptr_eq(akv_mil_best(), expected_default());
	printf("default backend: %s\n", akv_mil_best()->name);
	/* idempotent */
	ck_assert_int_eq(akv_crypto_init(), 0);
	ck_assert_ptr_eq(akv_mil_best(), expected_default());
}
END_TEST

static const char *const names[] = {"ref", "aesni", "vaes"};

START_TEST(t_mil_dispatch_force)
{
	const char *why = NULL;
	const struct akv_mil_impl *want = akv_mil_by_name(names[_i], &why);

	ck_assert_int_eq(setenv("AKV_CRYPTO_IMPL", names[_i], 1), 0);
	if (want) {
		ck_assert_int_eq(akv_crypto_init(), 0);
		ck_assert_ptr_eq(akv_mil_best(), want);
		ck_assert_str_eq(akv_mil_best()->name, names[_i]);
	} else {
		/* a backend the CPU cannot run is never selected, and says so */
		printf("SKIP forcing %s: %s\n", names[_i], why);
		ck_assert_int_eq(akv_crypto_init(), AKV_CRYPTO_EUNAVAIL);
		ck_assert_ptr_eq(akv_mil_best(), expected_default());
		ck_assert_str_ne(akv_mil_best()->name, names[_i]);
	}
}
END_TEST

START_TEST(t_mil_dispatch_unknown_name)
{
	const char *why = NULL;

	ck_assert_int_eq(setenv("AKV_CRYPTO_IMPL", "evp-turbo", 1), 0);
	ck_assert_int_eq(akv_crypto_init(), AKV_CRYPTO_EUNAVAIL);
	/* the default is kept */
	ck_assert_ptr_eq(akv_mil_best(), expected_default());
	ck_assert_ptr_null(akv_mil_by_name("evp-turbo", &why));
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, "unknown"));
	ck_assert_ptr_null(akv_mil_by_name("", NULL));
	ck_assert_ptr_null(akv_mil_by_name("AESNI", NULL));
	ck_assert_int_eq(akv_mil_select("nope"), AKV_CRYPTO_EUNAVAIL);
	ck_assert_ptr_eq(akv_mil_best(), expected_default());
}
END_TEST

START_TEST(t_mil_dispatch_by_name_reasons)
{
	const struct akv_mil_impl *getters[3] = {
		akv_mil_ref_get(), akv_mil_ni_get(), akv_mil_vaes_get(),
	};
	const unsigned min_lanes[3] = {1, 8, 16};

	for (int i = 0; i < 3; i++) {
		const char *why = NULL;
		const struct akv_mil_impl *m = akv_mil_by_name(names[i], &why);

		/* by_name agrees with the probe of the backend */
		ck_assert_ptr_eq(m, getters[i]);
		if (m) {
			ck_assert_ptr_null(why);	/* untouched on success */
			ck_assert_str_eq(m->name, names[i]);
			ck_assert_uint_ge(m->lanes, min_lanes[i]);
			ck_assert_uint_le(m->lanes, AKV_MIL_MAX_LANES);
			ck_assert_ptr_nonnull(m->gen);
			ck_assert_ptr_nonnull(m->auts);
			ck_assert_int_eq(akv_mil_select(names[i]), 0);
			ck_assert_ptr_eq(akv_mil_best(), m);
			printf("%s: available, %u lanes\n", names[i], m->lanes);
		} else {
			ck_assert_ptr_nonnull(why);
			/* the reason names the missing CPU feature (or a build without it) */
			ck_assert_msg(strstr(why, "CPU lacks") || strstr(why, "OS does not") ||
					      strstr(why, "not built"),
				      "%s: unexpected reason '%s'", names[i], why);
			ck_assert_int_eq(akv_mil_select(names[i]), AKV_CRYPTO_EUNAVAIL);
			printf("SKIP %s: %s\n", names[i], why);
		}
	}
	/* the reference always runs */
	ck_assert_ptr_nonnull(akv_mil_ref_get());
}
END_TEST

/* What the best backend computes is what the reference computes. */
START_TEST(t_mil_dispatch_best_matches_ref)
{
	struct akv_mil_in in[40];
	struct akv_mil_out want[40], got[40];
	uint64_t seed = 42;

	unsetenv("AKV_CRYPTO_IMPL");
	ck_assert_int_eq(akv_crypto_init(), 0);
	for (int i = 0; i < 40; i++) {
		akv_test_fill(&seed, (uint8_t *)&in[i], offsetof(struct akv_mil_in, ks));
		in[i].ks = NULL;
	}
	memset(want, 0, sizeof(want));
	memset(got, 0, sizeof(got));
	akv_mil_ref_get()->gen(in, want, 40, AKV_MIL_ALL);
	akv_mil_best()->gen(in, got, 40, AKV_MIL_ALL);
	ck_assert_mem_eq(want, got, sizeof(want));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("mil_dispatch");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_mil_dispatch_default);
	tcase_add_loop_test(tc, t_mil_dispatch_force, 0, 3);
	tcase_add_test(tc, t_mil_dispatch_unknown_name);
	tcase_add_test(tc, t_mil_dispatch_by_name_reasons);
	tcase_add_test(tc, t_mil_dispatch_best_matches_ref);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return akv_test_run(suite());
}

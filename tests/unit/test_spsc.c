/* The SPSC rings and eventfd wake-ups of server/disp/spsc.c. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "akv_test.h"
#include "disp/spsc.h"
#include "err.h"

#define ITEM(v) ((void *)(uintptr_t)(v))

START_TEST(t_spsc_init_rejects_bad_cap)
{
	struct akv_spsc q;

	ck_assert_int_eq(akv_spsc_init(&q, 0), AKV_EINVAL);
	ck_assert_int_eq(akv_spsc_init(&q, 1), AKV_EINVAL);
	ck_assert_int_eq(akv_spsc_init(&q, 12), AKV_EINVAL);
	ck_assert_int_eq(akv_spsc_init(&q, 16), 0);
	ck_assert_uint_eq(akv_spsc_cap(&q), 16);
	akv_spsc_fini(&q);
}
END_TEST

START_TEST(t_spsc_full_and_empty)
{
	struct akv_spsc q;
	void *in[8], *out[8];

	ck_assert_int_eq(akv_spsc_init(&q, 4), 0);
	for (int i = 0; i < 8; i++)
		in[i] = ITEM(i + 1);
	ck_assert_uint_eq(akv_spsc_pop(&q, out, 8), 0);
	/* only 4 fit; the rest is refused, never overwritten */
	ck_assert_uint_eq(akv_spsc_push(&q, in, 6), 4);
	ck_assert_uint_eq(akv_spsc_push(&q, in + 4, 1), 0);
	ck_assert_uint_eq(akv_spsc_count(&q), 4);
	ck_assert_uint_eq(akv_spsc_pop(&q, out, 3), 3);
	ck_assert_ptr_eq(out[0], ITEM(1));
	ck_assert_ptr_eq(out[2], ITEM(3));
	/* wraparound: slots 0..2 are reused */
	ck_assert_uint_eq(akv_spsc_push(&q, in + 4, 4), 3);
	ck_assert_uint_eq(akv_spsc_pop(&q, out, 8), 4);
	ck_assert_ptr_eq(out[0], ITEM(4));
	ck_assert_ptr_eq(out[1], ITEM(5));
	ck_assert_ptr_eq(out[3], ITEM(7));
	ck_assert_uint_eq(akv_spsc_count(&q), 0);
	akv_spsc_fini(&q);
}
END_TEST

/* Two threads, a ring of 8 and batches of 1..13: every value arrives exactly
 * once and in order across ~250k wraparounds; the consumer sleeps on the
 * eventfd whenever the ring is empty, so lost wake-ups would hang (CTest
 * timeout) rather than pass. */
#define NITEMS 2000000u

struct pc {
	struct akv_spsc q;
	struct akv_spsc_wake wake;  /* consumer's */
	struct akv_spsc_wake space; /* producer's: ring had no room */
	uint64_t bad, got, sleeps;
};

static void *
producer(void *arg)
{
	struct pc *pc = arg;
	uint64_t seed = 7, next = 1;
	void *batch[13];

	while (next <= NITEMS) {
		size_t n = 1 + akv_test_rand64(&seed) % 13, done = 0;

		for (size_t i = 0; i < n; i++)
			batch[i] = ITEM(next + i);
		if (next + n - 1 > NITEMS)
			n = NITEMS - next + 1;
		while (done < n) {
			size_t k = akv_spsc_push(&pc->q, batch + done, n - done);

			done += k;
			akv_spsc_wake_notify(&pc->wake);
			if (k == 0) {
				akv_spsc_wake_prepare(&pc->space);
				if (akv_spsc_count(&pc->q) == akv_spsc_cap(&pc->q))
					akv_spsc_wake_wait(&pc->space, 1000);
				akv_spsc_wake_done(&pc->space);
			}
		}
		next += n;
	}
	return NULL;
}

static void *
consumer(void *arg)
{
	struct pc *pc = arg;
	uint64_t expect = 1;
	void *out[5];

	while (expect <= NITEMS) {
		size_t n = akv_spsc_pop(&pc->q, out, 5);

		if (n == 0) {
			akv_spsc_wake_prepare(&pc->wake);
			if (akv_spsc_count(&pc->q) == 0) {
				pc->sleeps++;
				akv_spsc_wake_wait(&pc->wake, -1);
			}
			akv_spsc_wake_done(&pc->wake);
			continue;
		}
		akv_spsc_wake_notify(&pc->space);
		for (size_t i = 0; i < n; i++, expect++)
			pc->bad += out[i] != ITEM(expect);
		pc->got += n;
	}
	return NULL;
}

START_TEST(t_spsc_two_threads_wraparound)
{
	struct pc pc = {0};
	pthread_t p, c;

	ck_assert_int_eq(akv_spsc_init(&pc.q, 8), 0);
	ck_assert_int_eq(akv_spsc_wake_init(&pc.wake), 0);
	ck_assert_int_eq(akv_spsc_wake_init(&pc.space), 0);
	ck_assert_int_eq(pthread_create(&c, NULL, consumer, &pc), 0);
	ck_assert_int_eq(pthread_create(&p, NULL, producer, &pc), 0);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	ck_assert_uint_eq(pc.got, NITEMS);
	ck_assert_uint_eq(pc.bad, 0);
	ck_assert_uint_eq(akv_spsc_count(&pc.q), 0);
	akv_spsc_wake_fini(&pc.wake);
	akv_spsc_wake_fini(&pc.space);
	akv_spsc_fini(&pc.q);
}
END_TEST

START_TEST(t_spsc_wake_notify_only_when_sleeping)
{
	struct akv_spsc_wake w;

	ck_assert_int_eq(akv_spsc_wake_init(&w), 0);
	/* consumer awake: a notify writes nothing, so a wait times out */
	akv_spsc_wake_notify(&w);
	ck_assert_int_eq(akv_spsc_wake_wait(&w, 0), 0);
	/* announced sleeper: the notify is delivered even before it blocks */
	akv_spsc_wake_prepare(&w);
	akv_spsc_wake_notify(&w);
	ck_assert_int_eq(akv_spsc_wake_wait(&w, 1000), 1);
	/* and consumed: the next wait times out */
	ck_assert_int_eq(akv_spsc_wake_wait(&w, 0), 0);
	akv_spsc_wake_fini(&w);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("spsc");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_spsc_init_rejects_bad_cap);
	tcase_add_test(tc, t_spsc_full_and_empty);
	tcase_add_test(tc, t_spsc_two_threads_wraparound);
	tcase_add_test(tc, t_spsc_wake_notify_only_when_sleeping);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(suite());
}

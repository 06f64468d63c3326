/* The "authentication pending" memo of server/aka/cx_pending.c. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "akv_test.h"
#include "aka/cx_pending.h"
#include "err.h"

#define S1 "sip:scscf1.ims.test:6060"
#define S2 "sip:scscf2.ims.test:6060"

static size_t
find(struct akv_cx_pending *p, const char *impi, uint64_t now, char *out)
{
	return akv_cx_pending_find(p, impi, strlen(impi), now, out);
}

/* A MAR's note as the decoder and the worker make it: 0, or -1 when the
 * name could not be interned */
static int
note(struct akv_cx_pending *p, const char *impi, const char *name, uint64_t now)
{
	uint16_t ix = akv_cx_pending_intern(p, name, strlen(name));

	if (!ix)
		return -1;
	akv_cx_pending_note(p, impi, strlen(impi), ix, now);
	return 0;
}

START_TEST(t_cx_pending_note_find_clear)
{
	struct akv_cx_pending *p = akv_cx_pending_new(1000, 60000);
	struct akv_cx_pending_stats st;
	char out[256];

	ck_assert_uint_eq(find(p, "alice@ims.test", 0, out), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(note(p, "alice@ims.test", S1, 1000), 0);
	ck_assert_uint_eq(find(p, "alice@ims.test", 1000, out), strlen(S1));
	ck_assert_str_eq(out, S1);
	/* another identity, one byte longer or shorter: not the same entry */
	ck_assert_uint_eq(find(p, "alice@ims.tes", 1000, out), 0);
	ck_assert_uint_eq(find(p, "alice@ims.test.", 1000, out), 0);
	/* the newest MAR's S-CSCF wins */
	ck_assert_int_eq(note(p, "alice@ims.test", S2, 2000), 0);
	ck_assert_uint_eq(find(p, "alice@ims.test", 2000, out), strlen(S2));
	ck_assert_str_eq(out, S2);
	ck_assert_int_eq(note(p, "bob@ims.test", S1, 2000), 0);
	akv_cx_pending_clear(p, "alice@ims.test", strlen("alice@ims.test"), 0);
	ck_assert_uint_eq(find(p, "alice@ims.test", 2000, out), 0);
	ck_assert_uint_eq(find(p, "bob@ims.test", 2000, out), strlen(S1));
	/* a SAR from the S-CSCF the entry names keeps it; from another, not */
	akv_cx_pending_clear(p, "bob@ims.test", strlen("bob@ims.test"),
			     akv_cx_pending_intern(p, S1, strlen(S1)));
	ck_assert_uint_eq(find(p, "bob@ims.test", 2000, out), strlen(S1));
	ck_assert_uint_eq(akv_cx_pending_gen(p), 1);
	akv_cx_pending_clear(p, "bob@ims.test", strlen("bob@ims.test"),
			     akv_cx_pending_intern(p, S2, strlen(S2)));
	ck_assert_uint_eq(find(p, "bob@ims.test", 2000, out), 0);
	ck_assert_int_eq(note(p, "bob@ims.test", S1, 2000), 0);
	/* clearing what is not there is harmless */
	akv_cx_pending_clear(p, "carol@ims.test", strlen("carol@ims.test"), 0);
	akv_cx_pending_stats(p, &st);
	ck_assert_uint_eq(st.noted, 4);	/* alice S1, alice S2, bob S1 twice */
	ck_assert_uint_eq(st.found, 4);
	ck_assert_uint_eq(st.evicted, 0);
	ck_assert_uint_eq(st.names_full, 0);
	/* two entries went before their time: the generation moved twice */
	ck_assert_uint_eq(akv_cx_pending_gen(p), 2);
	ck_assert_uint_eq(akv_cx_pending_ttl_ms(p), 60000);
	akv_cx_pending_free(p);
	akv_cx_pending_free(NULL);
}
END_TEST

/* An entry stands for the TTL after its last MAR (rounded up to the second),
 * not a moment longer. */
START_TEST(t_cx_pending_expires)
{
	struct akv_cx_pending *p = akv_cx_pending_new(1000, AKV_CX_PENDING_TTL_MS);
	char out[256];

	ck_assert_int_eq(note(p, "alice@ims.test", S1, 10000), 0);
	ck_assert_uint_gt(find(p, "alice@ims.test", 10000 + AKV_CX_PENDING_TTL_MS, out), 0);
	ck_assert_uint_eq(find(p, "alice@ims.test", 10000 + AKV_CX_PENDING_TTL_MS + 2000, out), 0);
	/* a new MAR renews it, and takes the expired slot again */
	ck_assert_int_eq(note(p, "alice@ims.test", S1, 10000 + AKV_CX_PENDING_TTL_MS + 2000), 0);
	ck_assert_uint_gt(find(p, "alice@ims.test", 10000 + 2 * AKV_CX_PENDING_TTL_MS, out), 0);
	akv_cx_pending_free(p);
}
END_TEST

/* Names nobody could store are not noted; the name table is bounded. */
START_TEST(t_cx_pending_names)
{
	struct akv_cx_pending *p = akv_cx_pending_new(1000, 60000);
	struct akv_cx_pending_stats st;
	char name[300], out[256];

	ck_assert_uint_eq(akv_cx_pending_intern(p, "", 0), 0);
	memset(name, 's', sizeof(name));
	ck_assert_uint_eq(akv_cx_pending_intern(p, name, 256), 0);
	ck_assert_uint_eq(akv_cx_pending_intern(p, name, 255), 1);
	ck_assert_uint_eq(akv_cx_pending_intern(p, name, 255), 1);	/* the same */
	akv_cx_pending_note(p, "a@x", 3, 1, 0);
	/* an index never interned is ignored */
	akv_cx_pending_note(p, "b@x", 3, 0, 0);
	akv_cx_pending_note(p, "b@x", 3, AKV_CX_PENDING_NAMES + 1, 0);
	ck_assert_uint_eq(find(p, "b@x", 0, out), 0);
	ck_assert_uint_eq(find(p, "a@x", 0, out), 255);
	ck_assert_mem_eq(out, name, 255);
	ck_assert_int_eq(out[255], '\0');
	/* 63 more distinct names fit, the 65th does not */
	for (int i = 1; i < AKV_CX_PENDING_NAMES; i++) {
		char impi[32], sn[32];

		snprintf(impi, sizeof(impi), "u%d@x", i);
		snprintf(sn, sizeof(sn), "sip:s%d.x", i);
		ck_assert_int_eq(note(p, impi, sn, 0), 0);
	}
	ck_assert_int_eq(note(p, "late@x", "sip:one-too-many.x", 0), -1);
	ck_assert_uint_eq(find(p, "late@x", 0, out), 0);
	/* a known name still goes in */
	ck_assert_int_eq(note(p, "late@x", "sip:s7.x", 0), 0);
	ck_assert_uint_eq(find(p, "late@x", 0, out), strlen("sip:s7.x"));
	ck_assert_str_eq(out, "sip:s7.x");
	akv_cx_pending_stats(p, &st);
	ck_assert_uint_eq(st.names_full, 1);
	akv_cx_pending_free(p);
}
END_TEST

/* Full: the smallest table (512 slots) takes 20 000 identities; nearly
 * every slot ends up used, the last one noted is there, older ones gave way
 * (each counted once), and every answer is the name its own identity was
 * noted with (never another's). */
START_TEST(t_cx_pending_evicts)
{
	struct akv_cx_pending *p = akv_cx_pending_new(1, 60000);
	struct akv_cx_pending_stats st;
	char impi[32], out[256];
	unsigned found = 0;

	for (unsigned i = 0; i < 20000; i++) {
		snprintf(impi, sizeof(impi), "user%u@ims.test", i);
		ck_assert_int_eq(note(p, impi, i % 2 ? S1 : S2, 1000 + i), 0);
	}
	for (unsigned i = 0; i < 20000; i++) {
		size_t n;

		snprintf(impi, sizeof(impi), "user%u@ims.test", i);
		n = find(p, impi, 21000, out);
		if (!n)
			continue;
		found++;
		ck_assert_str_eq(out, i % 2 ? S1 : S2);
	}
	/* at most the slots, and nearly all of them used */
	ck_assert_uint_le(found, 512);
	ck_assert_uint_gt(found, 400);
	/* the last one noted is always there (it took the oldest in its window) */
	snprintf(impi, sizeof(impi), "user%u@ims.test", 19999u);
	ck_assert_uint_gt(find(p, impi, 21000, out), 0);
	akv_cx_pending_stats(p, &st);
	ck_assert_uint_eq(st.evicted, 20000 - found);
	ck_assert_uint_eq(akv_cx_pending_gen(p), st.evicted);
	akv_cx_pending_free(p);
}
END_TEST

/* Shard workers note while the registrar reads and clears: 4 threads, each
 * on identities of its own, every read of an own identity right. */
struct worker_arg {
	struct akv_cx_pending *p;
	unsigned id;
	unsigned bad;
};

static void *
worker(void *arg)
{
	struct worker_arg *a = arg;
	char impi[32], sn[32], out[256];

	snprintf(sn, sizeof(sn), "sip:s%u.x", a->id);
	for (unsigned i = 0; i < 20000; i++) {
		snprintf(impi, sizeof(impi), "t%u-%u@x", a->id, i % 500);
		if (i % 3 == 2) {
			akv_cx_pending_clear(a->p, impi, strlen(impi), 0);
			continue;
		}
		if (note(a->p, impi, sn, 1000))
			a->bad++;
		if (find(a->p, impi, 1000, out) && strcmp(out, sn))
			a->bad++;
	}
	return NULL;
}

START_TEST(t_cx_pending_threads)
{
	struct akv_cx_pending *p = akv_cx_pending_new(1 << 14, 60000);
	struct worker_arg a[4];
	pthread_t th[4];

	for (unsigned i = 0; i < 4; i++) {
		a[i] = (struct worker_arg){ p, i, 0 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &a[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_uint_eq(a[i].bad, 0);
	}
	akv_cx_pending_free(p);
}
END_TEST

static Suite *
cx_pending_suite(void)
{
	Suite *s = suite_create("cx_pending");
	TCase *tc = tcase_create("memo");

	tcase_add_test(tc, t_cx_pending_note_find_clear);
	tcase_add_test(tc, t_cx_pending_expires);
	tcase_add_test(tc, t_cx_pending_names);
	tcase_add_test(tc, t_cx_pending_evicts);
	tcase_add_test(tc, t_cx_pending_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(cx_pending_suite());
}

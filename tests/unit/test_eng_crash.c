/*
 * Crash safety of SQN issuing: a child issues vectors from a temporary store
 * in a loop and writes every SQN it released to a pipe; the parent SIGKILLs
 * it at a random point, starts a new child on the same store, and checks that
 * every SQN issued after the restart is above every SQN issued before it, per
 * subscriber (the "never the same SQN twice, even after kill -9" rule of
 * DESIGN.md). Small reservations make the kill land around commits often.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eng_fixture.h"

#define NSUBS	   4
#define ITERATIONS 30
#define MAX_RECS   1500	/* records read before the kill, at most */

struct rec {
	uint32_t sub;
	uint32_t gen;
	uint64_t sqn;
};

static char dbpath[4200];
/* 1: most children begin a serving run (store.h "Boot windows"), the others
 * issue without one, so both kinds follow each other on one store */
static int boot_mixed;

static void
sub_impi(unsigned i, char *out, size_t cap)
{
	snprintf(out, cap, "crash%u@ims.test", i);
}

/* The child: issue forever (until killed), reporting each released SQN. */
static void
child_run(int wfd, uint32_t gen, uint64_t seed)
{
	struct akv_eng_vec vec[4][4];
	struct akv_eng_req reqs[4];
	struct akv_eng_req *list[4];
	struct akv_eng_cfg cfg;
	struct akv_store *st;
	struct akv_eng *e;
	uint64_t now = 1000, prng = seed;
	char impi[64];
	int err = 0;

	akv_crypto_init();
	st = akv_store_open(dbpath, NULL, &err);
	if (!st)
		_exit(3);
	akv_eng_cfg_default(&cfg);
	cfg.seq_reserve = 9;	/* commits every few requests */
	if (boot_mixed && (seed & 3) && akv_store_boot_begin(st, &cfg.boot))
		_exit(7);
	e = akv_eng_new(&cfg, st, 0, 1, &err);
	if (!e)
		_exit(4);
	for (;;) {
		unsigned nreq = 1 + (unsigned)(akv_test_rand64(&prng) % 4);
		struct rec out[16];
		unsigned nout = 0;

		for (unsigned i = 0; i < nreq; i++) {
			unsigned sub = (unsigned)(akv_test_rand64(&prng) % NSUBS);

			sub_impi(sub, impi, sizeof(impi));
			fx_req(&reqs[i], i & 1 ? AKV_OP_VECTORS : AKV_OP_CHALLENGE, impi,
			       1 + (unsigned)(akv_test_rand64(&prng) % 4), vec[i]);
			list[i] = &reqs[i];
		}
		akv_eng_run(e, list, nreq, now);
		for (unsigned i = 0; i < nreq; i++) {
			unsigned sub = (unsigned)(reqs[i].impi[5] - '0');	/* "crashN@" */

			if (reqs[i].err)
				_exit(5);
			for (unsigned j = 0; j < reqs[i].nvec; j++)
				out[nout++] = (struct rec){sub, gen, vec[i][j].sqn};
		}
		/* one write (< PIPE_BUF): a record is either whole or absent */
		if (write(wfd, out, nout * sizeof(out[0])) != (ssize_t)(nout * sizeof(out[0])))
			_exit(6);
		now += 7;
		if (akv_test_rand64(&prng) % 8 == 0)
			(void)akv_eng_tick(e, now);	/* low-headroom renewals */
	}
}

static void
crash_loop(void)
{
	uint64_t max_before[NSUBS] = {0}, prng = (uint64_t)time(NULL) | 1;
	uint64_t total = 0, restarts_checked = 0;
	struct akv_store *st;
	struct akv_sub s;
	char impi[64];

	snprintf(dbpath, sizeof(dbpath), "%s/db", akv_test_tmpdir("crash"));
	{
		int err = 0;

		st = akv_store_open(dbpath, NULL, &err);
		ck_assert_ptr_nonnull(st);
	}
	for (unsigned i = 0; i < NSUBS; i++) {
		sub_impi(i, impi, sizeof(impi));
		fx_sub_make(&s, impi, NULL, 500 + i, 0);
		fx_sub_add(st, &s);
	}
	akv_store_close(st);	/* children open their own: no LMDB env across fork */
	fprintf(stderr, "crash test seed %llu\n", (unsigned long long)prng);

	for (uint32_t gen = 0; gen < ITERATIONS; gen++) {
		uint64_t max_now[NSUBS] = {0};
		/* half the lives are short: a few vectors, often none written
		 * (with boot windows: issued from the run's window alone) */
		uint64_t want = 1 + akv_test_rand64(&prng) % (gen & 1 ? 12 : MAX_RECS), got = 0;
		int fds[2], status = 0;
		pid_t pid;
		struct rec r;
		ssize_t k;

		ck_assert_int_eq(pipe(fds), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			child_run(fds[1], gen, akv_test_rand64(&prng));
			_exit(0);
		}
		close(fds[1]);
		for (;;) {
			k = read(fds[0], &r, sizeof(r));
			if (k == 0)
				break;	/* EOF: the child is gone and the pipe drained */
			if (k < 0 && errno == EINTR)
				continue;
			ck_assert_int_eq(k, sizeof(r));
			ck_assert_uint_lt(r.sub, NSUBS);
			/* above everything issued before the restart(s) ... */
			ck_assert_msg(r.sqn > max_before[r.sub],
				      "gen %u sub %u: SQN %llx not above %llx issued before kill",
				      gen, r.sub, (unsigned long long)r.sqn,
				      (unsigned long long)max_before[r.sub]);
			/* ... and strictly increasing within this life */
			ck_assert_uint_gt(r.sqn, max_now[r.sub]);
			max_now[r.sub] = r.sqn;
			if (++got == want) {
				/* a random point: right now, or a little later */
				if (akv_test_rand64(&prng) & 1)
					usleep((useconds_t)(akv_test_rand64(&prng) % 3000));
				kill(pid, SIGKILL);
			}
		}
		close(fds[0]);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			      "child ended by itself (status %d) after %llu records", status,
			      (unsigned long long)got);
		for (unsigned i = 0; i < NSUBS; i++) {
			if (max_now[i] > max_before[i])
				max_before[i] = max_now[i];
		}
		if (gen)
			restarts_checked++;
		total += got;
	}
	fprintf(stderr, "crash test: %u kills, %llu SQNs checked\n", ITERATIONS,
		(unsigned long long)total);
	ck_assert_uint_eq(restarts_checked, ITERATIONS - 1);
}

START_TEST(t_eng_crash_no_sqn_reissued_after_kill9)
{
	boot_mixed = 0;
	crash_loop();
}
END_TEST

START_TEST(t_eng_crash_boot_windows_no_sqn_reissued)
{
	boot_mixed = 1;
	crash_loop();
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("eng_crash");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 400);
	tcase_add_test(tc, t_eng_crash_no_sqn_reissued_after_kill9);
	tcase_add_test(tc, t_eng_crash_boot_windows_no_sqn_reissued);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run_tmpdir(suite(), "test-eng-crash");
}

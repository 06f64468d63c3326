/* The buffered DRBG front (crypto/rand.c): fake seam, uniqueness, buffer edges, threads, fork. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "akv_crypto.h"
#include "akv_test.h"

static size_t fake_calls, fake_bytes;

static void
fake_fill(uint8_t *out, size_t len)
{
	fake_calls++;
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(fake_bytes + i);
	fake_bytes += len;
}

START_TEST(t_rand_fake_seam)
{
	uint8_t buf[40];

	akv_rand_set_fake(fake_fill);
	ck_assert_int_eq(akv_rand_bytes(buf, 16), 0);
	ck_assert_int_eq(akv_rand_bytes(buf + 16, 24), 0);
	akv_rand_set_fake(NULL);
	ck_assert_uint_eq(fake_calls, 2);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], (uint8_t)i);
	/* restored: the DRBG again, not the counter pattern */
	ck_assert_int_eq(akv_rand_bytes(buf, 16), 0);
	ck_assert_uint_eq(fake_calls, 2);
	{
		int pattern = 1;

		for (size_t i = 0; i < 16; i++)
			pattern &= buf[i] == (uint8_t)(40 + i);
		ck_assert_int_eq(pattern, 0);
	}
}
END_TEST

static int
cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* No 16-byte block repeats: a buffer position handed out twice (a missed
 * advance, a refill that keeps old bytes) shows up as a duplicate. */
static void
assert_blocks_unique(uint8_t *data, size_t nblocks)
{
	qsort(data, nblocks, 16, cmp16);
	for (size_t i = 1; i < nblocks; i++)
		ck_assert_msg(memcmp(data + 16 * (i - 1), data + 16 * i, 16) != 0,
			      "duplicate 16-byte block at sorted index %zu", i);
}

START_TEST(t_rand_distinct_rands)
{
	enum { N = 20000 };
	uint8_t *r = calloc(N, 16);

	ck_assert_ptr_nonnull(r);
	for (size_t i = 0; i < N; i++)
		ck_assert_int_eq(akv_rand_bytes(r + 16 * i, 16), 0);
	assert_blocks_unique(r, N);
	free(r);
}
END_TEST

START_TEST(t_rand_sizes_cross_buffer)
{
	/* sizes around and across the 4 KiB refill boundary, and bulk requests */
	static const size_t sizes[] = {1,    3,	   16,	 17,	 255, 4095,  4096,  4097,
				       1,    8191, 8192, 8193,	 16,  12345, 65536, 2,
				       4080, 16,   32,	 100000, 7,   4096,  5,	    300000};
	size_t total = 0, off = 0;
	uint8_t *buf;
	size_t counts[256] = {0};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		total += sizes[i];
	total = (total + 15) & ~(size_t)15;
	buf = calloc(1, total);
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ck_assert_int_eq(akv_rand_bytes(buf + off, sizes[i]), 0);
		off += sizes[i];
	}
	/* zero-length request is a no-op */
	ck_assert_int_eq(akv_rand_bytes(buf, 0), 0);
	/* byte histogram: every value near total/256 (bounds ~10 sigma, never flaky) */
	for (size_t i = 0; i < off; i++)
		counts[buf[i]]++;
	for (int v = 0; v < 256; v++) {
		double expect = off / 256.0;

		ck_assert_msg(counts[v] > expect * 0.85 && counts[v] < expect * 1.15,
			      "byte %d seen %zu times of %zu", v, counts[v], off);
	}
	/* the 16-byte tail padding stays zero only if never written: fill it */
	if (total > off)
		ck_assert_int_eq(akv_rand_bytes(buf + off, total - off), 0);
	assert_blocks_unique(buf, total / 16);
	free(buf);
}
END_TEST

enum { THREAD_RANDS = 2000 };

static void *
draw_rands(void *arg)
{
	uint8_t *out = arg;

	for (size_t i = 0; i < THREAD_RANDS; i++)
		if (akv_rand_bytes(out + 16 * i, 16) != 0)
			return (void *)1;
	return NULL;
}

START_TEST(t_rand_threads_distinct)
{
	enum { T = 4 };
	uint8_t *r = calloc((size_t)T * THREAD_RANDS, 16);
	pthread_t th[T];

	ck_assert_ptr_nonnull(r);
	for (int i = 0; i < T; i++)
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, draw_rands, r + (size_t)16 * THREAD_RANDS * i), 0);
	for (int i = 0; i < T; i++) {
		void *ret;

		ck_assert_int_eq(pthread_join(th[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	assert_blocks_unique(r, (size_t)T * THREAD_RANDS);
	free(r);
}
END_TEST

START_TEST(t_rand_fork_no_shared_buffer)
{
	uint8_t first[16], parent[16], child[16];
	int fds[2];
	pid_t pid;
	int status;

	/* fill this thread's buffer, then fork: the child must not replay it */
	ck_assert_int_eq(akv_rand_bytes(first, 16), 0);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uint8_t c[16];

		close(fds[0]);
		if (akv_rand_bytes(c, 16) != 0 || write(fds[1], c, 16) != 16)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(akv_rand_bytes(parent, 16), 0);
	ck_assert_int_eq(read(fds[0], child, 16), 16);
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(memcmp(parent, child, 16) != 0);
	ck_assert(memcmp(first, child, 16) != 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rand");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_rand_fake_seam);
	tcase_add_test(tc, t_rand_distinct_rands);
	tcase_add_test(tc, t_rand_sizes_cross_buffer);
	tcase_add_test(tc, t_rand_threads_distinct);
	tcase_add_test(tc, t_rand_fork_no_shared_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(suite());
}

/*
 * rand.c - RAND values for AKA challenges (TS 33.102 §6.3.2: RAND must be
 * unpredictable), drawn from OpenSSL's DRBG through a per-thread buffer.
 *
 * One RAND_bytes() call per 16-byte RAND would spend most of its time in the
 * DRBG's per-call overhead (locking, reseed checks), so each thread keeps a
 * 4 KiB buffer (256 RANDs) and refills it in one call. Bytes are wiped from
 * the buffer as they are handed out, so a later memory disclosure cannot
 * reveal RANDs already issued.
 */
#include "akv_crypto.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#define RAND_BUF_SIZE 4096

/* Per thread: no lock on the hot path. `avail` bytes remain at the END of
 * buf (the next byte handed out is buf[RAND_BUF_SIZE - avail]). Zero-initialised,
 * i.e. empty, in every new thread. */
static _Thread_local struct {
	uint8_t buf[RAND_BUF_SIZE];
	size_t avail;
} tls_rand;

static void (*_Atomic fake_fn)(uint8_t *out, size_t len);
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/*
 * After fork() the child holds a copy of the parent's unused bytes: both
 * would hand out the same RANDs. The child (which only has the forking
 * thread) drops its copy; OpenSSL 3 reseeds its own DRBG in the child.
 */
static void
drop_after_fork(void)
{
	akv_wipe(tls_rand.buf, sizeof(tls_rand.buf));
	tls_rand.avail = 0;
}

static void
register_atfork(void)
{
	/* Failure (ENOMEM) leaves the fork hazard, not a correctness bug here. */
	(void)pthread_atfork(NULL, NULL, drop_after_fork);
}

/* see akv_crypto.h */
void
akv_rand_set_fake(void (*fn)(uint8_t *out, size_t len))
{
	fake_fn = fn;
}

/* see akv_crypto.h */
int
akv_rand_bytes(uint8_t *out, size_t len)
{
	void (*fake)(uint8_t *, size_t) = fake_fn;
	size_t done = 0;

	if (fake) {
		fake(out, len);
		return 0;
	}
	pthread_once(&atfork_once, register_atfork);
	while (done < len) {
		size_t take;

		if (tls_rand.avail == 0) {
			if (len - done >= RAND_BUF_SIZE) {
				/* A big request bypasses the buffer: one call, no extra copy. */
				size_t big = (len - done) & ~(size_t)(RAND_BUF_SIZE - 1);

				if (big > (size_t)1 << 30)
					big = (size_t)1 << 30; /* RAND_bytes takes an int */
				if (RAND_bytes(out + done, (int)big) != 1)
					goto fail;
				done += big;
				continue;
			}
			if (RAND_bytes(tls_rand.buf, RAND_BUF_SIZE) != 1)
				goto fail;
			tls_rand.avail = RAND_BUF_SIZE;
		}
		take = len - done < tls_rand.avail ? len - done : tls_rand.avail;
		memcpy(out + done, tls_rand.buf + RAND_BUF_SIZE - tls_rand.avail, take);
		akv_wipe(tls_rand.buf + RAND_BUF_SIZE - tls_rand.avail, take);
		tls_rand.avail -= take;
		done += take;
	}
	return 0;
fail:
	/* A half-filled RAND must never be used as a challenge. */
	akv_wipe(out, len);
	tls_rand.avail = 0;
	return AKV_CRYPTO_ERAND;
}

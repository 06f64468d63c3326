/*
 * fsync_gate.c - an LD_PRELOAD shim for tests: while the file named by
 * AKV_FSYNC_GATE exists, every fsync/fdatasync/msync(MS_SYNC) of the
 * process waits (up to AKV_FSYNC_GATE_MAX_S seconds, default 30, so a
 * forgotten gate cannot hang a test run). It turns "the disk is slow" into
 * something a test controls: tests/integ/cx_registrar.sh holds a store
 * commit of the server at the disk and checks what still gets answered.
 * With AKV_FSYNC_FAIL, syncs fail instead (tests/integ/disk_errors.sh).
 * Test code only; never built into akavs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* AKV_FSYNC_FAIL names a file: while it exists, every sync fails with EIO
 * (a disk that stopped accepting writes). */
static int
sync_fails(void)
{
	const char *fail = getenv("AKV_FSYNC_FAIL");
	struct stat sb;

	return fail && stat(fail, &sb) == 0;
}

static void
wait_at_gate(void)
{
	const char *gate = getenv("AKV_FSYNC_GATE");
	const char *max = getenv("AKV_FSYNC_GATE_MAX_S");
	struct timespec tick = {0, 10 * 1000 * 1000};
	struct stat sb;
	long polls = (max ? atol(max) : 30) * 100;

	if (!gate)
		return;
	while (polls-- > 0 && stat(gate, &sb) == 0)
		nanosleep(&tick, NULL);
}

/* Waits at the gate, then says whether this sync fails (errno EIO set). */
static int
sync_refused(void)
{
	wait_at_gate();
	if (!sync_fails())
		return 0;
	errno = EIO;
	return 1;
}

int
fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

	return sync_refused() ? -1 : real(fd);
}

int
fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

	return sync_refused() ? -1 : real(fd);
}

int
msync(void *addr, size_t len, int flags)
{
	int (*real)(void *, size_t, int) =
	    (int (*)(void *, size_t, int))dlsym(RTLD_NEXT, "msync");

	if ((flags & MS_SYNC) && sync_refused())
		return -1;
	return real(addr, len, flags);
}

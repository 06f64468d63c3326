/*
 * prefetch.h - asking for a cache line that this thread is about to write
 * while another core holds it (request slots cross between the front end
 * and a worker once per request).
 *
 * Without -march, GCC emits __builtin_prefetch(p, 1) as a read prefetch
 * (prefetcht0): the line then arrives shared, and the first store waits for
 * a second cross-core round trip to invalidate the other copy. PREFETCHW
 * (CPUID PRFCHW) asks for ownership at once. Only for lines another core
 * wrote last: a thread's own data arrives exclusive from a read anyway.
 */
#ifndef AKV_SERVER_CORE_PREFETCH_H
#define AKV_SERVER_CORE_PREFETCH_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the CPU has PREFETCHW; probed once when the program starts. */
extern int akv_cpu_prefetchw;

static inline void
akv_prefetch_own(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	if (akv_cpu_prefetchw) {
		__asm__ __volatile__("prefetchw %0" : : "m"(*(const char *)p));
		return;
	}
#endif
	__builtin_prefetch(p, 1);
}

#ifdef __cplusplus
}
#endif
#endif

/*
 * prefetch.c - the CPU probe behind akv_prefetch_own (prefetch.h).
 */
#include "prefetch.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

int akv_cpu_prefetchw;

/* At load time, before any thread: CPUID 0x80000001, ECX bit 8 = PRFCHW. */
static void __attribute__((constructor))
probe_prefetchw(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;

	if (__get_cpuid(0x80000001u, &a, &b, &c, &d))
		akv_cpu_prefetchw = (c >> 8) & 1;
#endif
}

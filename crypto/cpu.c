/*
 * cpu.c - CPU feature probe (once) and the choice of Milenage backend.
 * The pick happens in akv_crypto_init(), never per call.
 */
#include "akv_crypto.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct akv_cpu_features cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static const struct akv_mil_impl *mil_best;

static void
probe(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d)) {
		cpu.aesni = !!(c & bit_AES);
		cpu.sse41 = !!(c & bit_SSE4_1);
		cpu.avx = !!(c & bit_AVX);
		if ((c & bit_OSXSAVE) && cpu.avx) {
			unsigned lo, hi;
			/* XGETBV(0): the OS saves XMM (bit 1) and YMM (bit 2) state */
			__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
			cpu.os_ymm = (lo & 6) == 6;
		}
	}
	if (__get_cpuid_max(0, NULL) >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		cpu.avx2 = !!(b & bit_AVX2);
		cpu.vaes = !!(c & bit_VAES);
	}
}

/* see internal.h */
const struct akv_cpu_features *
akv_cpu_features(void)
{
	pthread_once(&cpu_once, probe);
	return &cpu;
}

/* see akv_crypto.h */
const struct akv_mil_impl *
akv_mil_by_name(const char *name, const char **why)
{
	const struct akv_cpu_features *f = akv_cpu_features();
	const struct akv_mil_impl *impl = NULL;
	const char *miss = "unknown backend (ref, aesni, vaes)";

	if (!strcmp(name, "ref")) {
		impl = akv_mil_ref_get();
	} else if (!strcmp(name, "aesni")) {
		impl = akv_mil_ni_get();
		miss = !f->aesni ? "CPU lacks AES-NI" : !f->sse41 ? "CPU lacks SSE4.1" : "not built";
	} else if (!strcmp(name, "vaes")) {
		impl = akv_mil_vaes_get();
		miss = !f->vaes ? "CPU lacks VAES" : !f->avx2 ? "CPU lacks AVX2"
			: !f->os_ymm ? "OS does not save YMM state" : "not built";
	}
	if (!impl && why)
		*why = miss;
	return impl;
}

/* see akv_crypto.h */
const struct akv_mil_impl *
akv_mil_best(void)
{
	return mil_best ? mil_best : akv_mil_ref_get();
}

/* see akv_crypto.h */
int
akv_mil_select(const char *name)
{
	const struct akv_mil_impl *impl = akv_mil_by_name(name, NULL);

	if (!impl)
		return AKV_CRYPTO_EUNAVAIL;
	mil_best = impl;
	return 0;
}

/* see akv_crypto.h */
int
akv_crypto_init(void)
{
	const char *force = getenv("AKV_CRYPTO_IMPL");

	if (!mil_best) {
		mil_best = akv_mil_vaes_get();
		if (!mil_best)
			mil_best = akv_mil_ni_get();
		if (!mil_best)
			mil_best = akv_mil_ref_get();
	}
	if (force && *force)
		return akv_mil_select(force);
	return 0;
}

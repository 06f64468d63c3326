/* internal.h - shared by crypto/ sources only. */
#ifndef AKV_CRYPTO_INTERNAL_H
#define AKV_CRYPTO_INTERNAL_H

#include <stdio.h>
#include <stdlib.h>

/* Stays on in release builds (STYLE 2.4). */
#define AKV_ASSERT(x)                                                                      \
	do {                                                                               \
		if (!(x)) {                                                                \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #x); \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* CPU feature probe, cpu.c (cpuid + XGETBV, done once). */
struct akv_cpu_features {
	unsigned aesni : 1, sse41 : 1, avx : 1, avx2 : 1, vaes : 1, os_ymm : 1;
};
const struct akv_cpu_features *akv_cpu_features(void);

#endif

/*
 * bench_crypto.h - pieces of `akavs-bench crypto` that live in their own
 * files: the raw-AES roofline (roofline.c) and the libosmocore baseline
 * (osmo_baseline.c). Shared with nothing outside bench/tool.
 */
#ifndef AKV_BENCH_TOOL_BENCH_CRYPTO_H
#define AKV_BENCH_TOOL_BENCH_CRYPTO_H

#include <stdint.h>

#include "akv_crypto.h"

/* Instruction sets the roofline can use. */
enum akv_roof_isa {
	AKV_ROOF_NONE = 0,
	AKV_ROOF_AESNI,	  /* 16 independent xmm blocks, AESENC */
	AKV_ROOF_VAES256, /* 8 ymm registers = 16 blocks, VAESENC */
};

/* Number of independent keys (and blocks in flight) of the roofline loop:
 * the lane count of the widest Milenage kernel. */
#define AKV_ROOF_KEYS 16

/* The best ISA this CPU (and OS) can run, AKV_ROOF_NONE without AES-NI. */
enum akv_roof_isa akv_roof_best_isa(void);
/* Name of an ISA ("vaes256", "aesni", "none"). */
const char *akv_roof_isa_name(enum akv_roof_isa isa);
/* Encrypts one block under AKV_ROOF_KEYS different keys with `isa` and
 * compares every result with OpenSSL's AES-128: proves the loop being timed
 * is real AES. Returns 0 when all match, -1 otherwise (or when isa is NONE). */
int akv_roof_selfcheck(enum akv_roof_isa isa);
/* Runs the raw-AES loop (AKV_ROOF_KEYS keys, pre-expanded, blocks chained so
 * nothing can be skipped) for about `seconds`; returns AES blocks per second.
 * The last state is folded into *sink. */
double akv_roof_blocks_per_s(enum akv_roof_isa isa, double seconds, volatile uint64_t *sink);

/* libosmocore's osmo_auth_gen_vec (Milenage with OPc) over `nsubs`
 * subscribers taken from `subs` (K, OPc, AMF are read), one vector per call,
 * for about `seconds`. Returns vectors per second, or a negative value when
 * akavs-bench was built without libosmocore (AKV_HAVE_OSMO) or a call fails. */
double akv_osmo_vectors_per_s(const struct akv_mil_in *subs, unsigned nsubs, double seconds,
			      volatile uint64_t *sink);

#endif

/*
 * bench_mil.h - the plain-C kernels of akavs-microbench. Each kernel is
 * `void bench_<x>(struct bench_ctx *, uint64_t iters)`: it does `iters`
 * batches of work and folds its results into a volatile sink, so the
 * compiler cannot drop it. gbench_main.cc (the only C++ file) registers them
 * with Google Benchmark and reports items (vectors, RANDs, schedules) per
 * second with the backend's name.
 */
#ifndef AKV_BENCH_MICRO_BENCH_MIL_H
#define AKV_BENCH_MICRO_BENCH_MIL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bench_ctx;

/* A context for backend `impl` ("ref", "aesni", "vaes") with `nsubs` random
 * subscribers and `batch` inputs per call; precomputed != 0 hands the kernel
 * AES schedules made up front. NULL when the backend cannot run here (*why
 * then says why). Free with bench_ctx_free (wipes the keys). */
struct bench_ctx *bench_ctx_new(const char *impl, int precomputed, unsigned nsubs, unsigned batch,
				const char **why);
void bench_ctx_free(struct bench_ctx *c);
/* Items one iteration of a kernel produces (the batch size). */
unsigned bench_ctx_batch(const struct bench_ctx *c);
/* The backend's own name and lane count. */
const char *bench_ctx_impl(const struct bench_ctx *c);
unsigned bench_ctx_lanes(const struct bench_ctx *c);
/* CPU flags relevant to the kernels, e.g. "aes sse4.1 avx2 vaes". */
const char *bench_cpu_flags(void);
/* Pins the calling thread to the CPU it runs on. Returns it, or -1. */
int bench_pin(void);

/* Full vectors (MAC-A, RES, CK, IK, AK: 5 AES per vector). */
void bench_mil_vector(struct bench_ctx *c, uint64_t iters);
/* Resynchronisation: SQN_MS recovery and MAC-S check per AUTS. */
void bench_mil_auts(struct bench_ctx *c, uint64_t iters);
/* AES-128 key schedules (akv_aes_expand), one per subscriber. */
void bench_aes_expand(struct bench_ctx *c, uint64_t iters);
/* 16-byte RANDs drawn in bulk with akv_rand_bytes (a batch per call). */
void bench_rand_bulk(struct bench_ctx *c, uint64_t iters);

#ifdef __cplusplus
}
#endif
#endif

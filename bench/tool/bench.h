/*
 * bench.h - akavs-bench: subcommands and the helpers they share.
 *
 * Adding a subcommand: write bench/tool/<name>.c defining
 * `int akv_bench_<name>(int argc, char **argv)`, declare it below, and add
 * one line to the table in bench/tool/main.c. argv[0] is the subcommand name;
 * the function returns the process exit status and prints its own --help.
 */
#ifndef AKV_BENCH_TOOL_BENCH_H
#define AKV_BENCH_TOOL_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Subcommands (one line each) ==== */

int akv_bench_crypto(int argc, char **argv); /* bench_crypto.c */
int akv_bench_echo(int argc, char **argv);   /* echo.c */
int akv_bench_load(int argc, char **argv);   /* load.c */
int akv_bench_plan(int argc, char **argv);   /* plan.c */
int akv_bench_engine(int argc, char **argv); /* bench_engine.c */
int akv_bench_import(int argc, char **argv); /* bench_import.c */
int akv_bench_dia(int argc, char **argv);    /* bench_dia.c */
int akv_bench_avs1(int argc, char **argv);   /* bench_avs1.c */

/* ==== Shared helpers (bench_util.c) ==== */

/* Monotonic clock in nanoseconds. */
uint64_t akv_bench_now_ns(void);
/* CPU time of the calling thread in nanoseconds: compute benchmarks divide
 * by it so that time the shared machine gives to other processes is not
 * counted against the kernel being measured. */
uint64_t akv_bench_cpu_ns(void);
/* Pins the calling thread to `cpu`, or to the CPU it runs on when cpu < 0.
 * Returns the CPU pinned to, or -errno. */
int akv_bench_pin(int cpu);
/* "model name" of /proc/cpuinfo (static buffer; "unknown" if absent). */
const char *akv_bench_cpu_model(void);
/* Parses "HOST:PORT" (IPv4 dotted quad or "localhost"). Returns 0 or AKV_EINVAL. */
int akv_bench_parse_hostport(const char *s, struct sockaddr_in *sa);
/* Parses a positive number with an optional k/M/G suffix (x1e3/1e6/1e9).
 * Returns 0 or AKV_EINVAL. */
int akv_bench_parse_num(const char *s, double *out);
/* Writes `s` as a JSON string (quotes and escapes included). */
void akv_bench_json_str(FILE *f, const char *s);
/* Returns a pseudo-random 64-bit value from a caller-held xorshift64* state
 * (for choosing subscribers and padding; not for secrets). */
uint64_t akv_bench_rand64(uint64_t *state);
/* Sets *stop when SIGINT or SIGTERM arrives (handler installed without
 * SA_RESTART). */
void akv_bench_catch_signals(volatile int *stop);

#ifdef __cplusplus
}
#endif
#endif

/*
 * bench_codec.h - what the one-thread codec benchmarks (`akavs-bench dia`,
 * `akavs-bench avs1`) share: a request slot laid out as the front end's
 * (server/net/fe.c struct akv_fe_slot), the reset the front end does before
 * on_msg, a synthetic engine answer, the command line, the memcpy baseline
 * and the report. Each benchmark keeps only its protocol's messages.
 */
#ifndef AKV_BENCH_TOOL_BENCH_CODEC_H
#define AKV_BENCH_TOOL_BENCH_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "aka/cx.h"
#include "aka/eng.h"
#include "proto/proto.h"

/* A front-end request slot: the engine request, its vectors (line-aligned
 * as in fe.c), Digest and Cx parts, encoder context and the view of them
 * that on_msg / encode take. */
struct akv_bench_slot {
	struct akv_eng_req req;
	struct akv_eng_vec vec[AKV_VEC_MAX] __attribute__((aligned(64)));
	struct akv_eng_digest digest;
	struct akv_cx_req cx;
	uint8_t ctx[AKV_PROTO_CTX_MAX];
	struct akv_proto_slot ps;
};

/* Zeroes the slot and points req / ps at its parts (once per slot). */
void akv_bench_slot_init(struct akv_bench_slot *s);
/* What the front end clears before each on_msg: akv_eng_req_reset (eng.h),
 * as fe.c's slot_take does. */
void akv_bench_slot_reset(struct akv_bench_slot *s);
/* A synthetic engine answer to r: r->n vectors of recognisable bytes made
 * from seq, XRES 8 bytes, scheme AKAv1-MD5, no error. */
void akv_bench_fake_engine(struct akv_eng_req *r, unsigned seq);

/* One front-end round: slot reset, ops->on_msg(msg), which must dispatch,
 * the synthetic engine answer, ops->encode into out (AKV_PROTO_OUT_MAX
 * bytes). Returns the answer length or -1. */
int akv_bench_server_round(const struct akv_proto_ops *ops, void *conn, struct akv_bench_slot *s,
			   const uint8_t *msg, size_t len, uint8_t *out, unsigned seq);
/* The timed server phase: n rounds over message k % nmsg (msgs + i * stride,
 * lens[i] bytes). Returns 0 with the CPU ns in *ns and a checksum of the
 * answers added to *check, or -1 when a round failed. */
int akv_bench_server_phase(const struct akv_proto_ops *ops, void *conn, struct akv_bench_slot *s,
			   const uint8_t *msgs, size_t stride, const size_t *lens, unsigned nmsg,
			   unsigned long n, uint64_t *ns, uint64_t *check);

/* The command line both take: --n N, --vectors V (1..AKV_VEC_MAX), --json,
 * --help. usage(f) prints the command's help. Returns 0 to run, 1 after
 * --help (exit 0), 2 on a bad argument (usage printed to stderr). */
struct akv_bench_codec_args {
	unsigned long n;
	unsigned nvec;
	int json;
};
int akv_bench_codec_parse(int argc, char **argv, void (*usage)(FILE *f),
			  struct akv_bench_codec_args *a);

/* One benchmark's result, printed by akv_bench_codec_finish(). */
struct akv_bench_codec_result {
	const char *title;	/* "dia codec" */
	const char *unit;	/* what one round is: "MAR" */
	const char *req_name;	/* "MAR": JSON key <lowercase>_bytes */
	const char *ans_name;	/* "MAA" */
	const char *server_what; /* "on_msg+encode" */
	const char *client_what; /* "build+parse" */
	unsigned long n;
	unsigned nvec;
	double req_bytes, ans_bytes; /* mean sizes */
	uint64_t server_ns, client_ns, memcpy_ns; /* totals over n */
	uint64_t check;
};
/* Runs the baseline, a->n rounds of copying request k % nmsg and answer
 * k % nmsg once each (req + i * req_stride, req_len[i] bytes; the same for
 * ans), then prints r with a's n and vectors, as text or (a->json) one JSON
 * object: n, vectors, <req>_bytes, <ans>_bytes, server_ns, client_ns,
 * memcpy_ns (per round), server_over_memcpy, client_over_memcpy, check
 * (r->check plus the bytes copied). */
void akv_bench_codec_finish(struct akv_bench_codec_result *r, const struct akv_bench_codec_args *a,
			    const uint8_t *req, size_t req_stride, const size_t *req_len,
			    const uint8_t *ans, size_t ans_stride, const size_t *ans_len,
			    unsigned nmsg);

#endif

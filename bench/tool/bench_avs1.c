/*
 * bench_avs1.c - `akavs-bench avs1`: CPU cost of the AVS/1 front-end path
 * per CHALLENGE on one thread, without sockets, worker or store, so that
 * noise from the shared machine does not move it (times are this thread's
 * CPU time; run it under `valgrind --tool=callgrind` for instruction counts).
 *
 *   server   what the front end does per request: akv_avs1_ops.on_msg
 *            (decoding and validation into a request slot reset as fe.c's
 *            slot_take does) and, once a synthetic engine result is in the
 *            slot, akv_avs1_ops.encode (the CHALLENGE answer)
 *   client   akv_avs1_req_encode of the request and akv_avs1_ans_decode of
 *            its answer (the codec calls of the client library)
 *   memcpy   the baseline: copying the same request and answer bytes once
 *
 * The requests are shaped as `load`'s (docs/PROTOCOL.md CHALLENGE: flags 0,
 * scheme 0, no IND hint, IMPI benchN@bench.akavs, IMPU sip:IMPI, no realm);
 * every answer is checked to decode with n vectors and the request's id.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench_codec.h"
#include "proto/avs1.h"

#define NMSG	64 /* distinct requests cycled through */
#define REQ_CAP 1024

struct bench_set {
	uint8_t req[NMSG][REQ_CAP];
	size_t req_len[NMSG];
	char impi[NMSG][48], impu[NMSG][56];
	uint8_t ans[NMSG][AKV_PROTO_OUT_MAX];
	size_t ans_len[NMSG];
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: akavs-bench avs1 [--n N] [--vectors V] [--json]\n"
		   "  AVS/1 front-end cost per CHALLENGE on one thread (CPU time):\n"
		   "  server = on_msg(request) + encode(answer), client = req_encode +\n"
		   "  ans_decode, memcpy of the same bytes as the baseline.\n"
		   "  --n N        requests per phase (default 1000000)\n"
		   "  --vectors V  vectors per CHALLENGE (default 1: load's CHALLENGE)\n"
		   "  --json       one JSON object instead of text\n");
}

static int
build_one(struct bench_set *b, unsigned i, unsigned nvec, uint64_t id, uint8_t *out)
{
	struct akv_avs1_req r = {
		.op = AKV_AVS1_CHALLENGE, .id = id, .n = (uint8_t)nvec,
		.scheme = AKV_SCHEME_ANY, .ind = AKV_AVS1_IND_NONE,
		.impi = b->impi[i], .impi_len = strlen(b->impi[i]),
		.impu = b->impu[i], .impu_len = strlen(b->impu[i]),
	};

	return akv_avs1_req_encode(&r, out, REQ_CAP);
}

static int
ans_ok(const uint8_t *ans, size_t len, unsigned nvec, uint64_t id)
{
	static struct akv_avs1_ans a;

	return !akv_avs1_ans_decode(ans, len, &a, NULL) && a.op == AKV_AVS1_CHALLENGE &&
	       !a.flags && a.id == id && a.nvec == nvec && a.scheme == AKV_SCHEME_AKAV1_MD5;
}

static int
broken(void)
{
	fprintf(stderr, "bench avs1: the codec did not answer a CHALLENGE as expected\n");
	return 1;
}

/* The client phase: encode each request, decode its answer. Returns 0 with
 * the CPU ns in *ns, or -1 when an answer did not decode as expected. */
static int
client_phase(struct bench_set *b, const struct akv_bench_codec_args *args, uint64_t *ns,
	     uint64_t *check)
{
	static struct akv_avs1_ans a;
	static uint8_t reqbuf[REQ_CAP];
	uint64_t t0 = akv_bench_cpu_ns();

	for (unsigned long k = 0; k < args->n; k++) {
		unsigned i = (unsigned)(k % NMSG);
		int len = build_one(b, i, args->nvec, 5000 + k, reqbuf);

		if (len < 0 || akv_avs1_ans_decode(b->ans[i], b->ans_len[i], &a, NULL) ||
		    a.nvec != args->nvec)
			return -1;
		*check += (uint64_t)len + a.vec[a.nvec - 1].ck[0];
	}
	*ns = akv_bench_cpu_ns() - t0;
	return 0;
}

/* The report's labels; the figures are filled in per run. */
static const struct akv_bench_codec_result labels = {
	.title = "avs1 front end", .unit = "req", .req_name = "REQ", .ans_name = "ANS",
	.server_what = "on_msg+encode", .client_what = "encode+decode",
};

int
akv_bench_avs1(int argc, char **argv)
{
	static struct bench_set b;
	static struct akv_bench_slot s;
	static uint8_t out[AKV_PROTO_OUT_MAX];
	static uint64_t conn[8]; /* the protocol's per-connection state */
	struct akv_proto_conn_info info = { .ind = -1 };
	struct akv_bench_codec_args args = { .n = 1000000, .nvec = 1 };
	struct akv_bench_codec_result res = labels;
	uint64_t check = 0;
	size_t olen;
	int rc = akv_bench_codec_parse(argc, argv, usage, &args);

	if (rc)
		return rc == 1 ? 0 : 2;
	if (akv_avs1_ops.conn_state_size > sizeof(conn) ||
	    akv_avs1_ops.conn_init(conn, &info, out, sizeof(out), &olen) < 0)
		return broken();
	akv_bench_slot_init(&s);
	for (unsigned i = 0; i < NMSG; i++) {
		int len;

		snprintf(b.impi[i], sizeof(b.impi[i]), "bench%u@bench.akavs", i * 151);
		snprintf(b.impu[i], sizeof(b.impu[i]), "sip:bench%u@bench.akavs", i * 151);
		len = build_one(&b, i, args.nvec, 1000 + i, b.req[i]);
		if (len < 0)
			return broken();
		b.req_len[i] = (size_t)len;
		len = akv_bench_server_round(&akv_avs1_ops, conn, &s, b.req[i], b.req_len[i], b.ans[i],
					     i);
		if (len < 0 || !ans_ok(b.ans[i], (size_t)len, args.nvec, 1000 + i))
			return broken();
		b.ans_len[i] = (size_t)len;
		res.req_bytes += (double)b.req_len[i] / NMSG;
		res.ans_bytes += (double)b.ans_len[i] / NMSG;
	}

	/* server: on_msg + encode */
	if (akv_bench_server_phase(&akv_avs1_ops, conn, &s, b.req[0], REQ_CAP, b.req_len, NMSG,
				   args.n, &res.server_ns, &check))
		return broken();

	if (client_phase(&b, &args, &res.client_ns, &check))
		return broken();
	res.check = check;
	akv_bench_codec_finish(&res, &args, b.req[0], REQ_CAP, b.req_len, b.ans[0],
			       AKV_PROTO_OUT_MAX, b.ans_len, NMSG);
	return 0;
}

/*
 * bench_dia.c - `akavs-bench dia`: CPU cost of the Diameter Cx codec per
 * MAR/MAA on one thread, without sockets, engine or store, so that noise
 * from the shared machine does not move it (times are this thread's CPU
 * time; run it under `perf stat -e cycles,instructions` for counts).
 *
 *   server   what the front end does per MAR: akv_dia_ops.on_msg (RFC 6733
 *            validation, TS 29.229 MAR decoding into the request slot) and,
 *            once a synthetic engine result is in the slot, akv_dia_ops.encode
 *            (the MAA with n SIP-Auth-Data-Items)
 *   client   what `load --diameter` does per MAR: akv_dia_build_mar and
 *            akv_dia_parse_maa of the answer
 *   memcpy   the baseline: copying the same MAR and MAA bytes once
 *
 * The MARs are built as load_dia.c builds them (one Session-Id per request,
 * subscribers benchN@bench.akavs), the connection is opened with a CER as a
 * peer would, and every MAA is checked to carry n items and 2001.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aka/cx.h"
#include "aka/eng.h"
#include "bench.h"
#include "bench_codec.h"
#include "core/cfg.h"
#include "err.h"
#include "proto/dia.h"
#include "proto/dia_peer.h"
#include "proto/proto.h"

#define NMSG	  64	/* distinct MARs cycled through */
#define MAR_CAP	  1024
#define REALM	  "bench.akavs"

struct bench_set {
	uint8_t mar[NMSG][MAR_CAP];
	size_t mar_len[NMSG];
	char impi[NMSG][48], impu[NMSG][56], sid[NMSG][64];
	uint8_t maa[NMSG][AKV_PROTO_OUT_MAX];
	size_t maa_len[NMSG];
};

static const struct akv_dia_node client_node = {
	.origin_host = "load0.bench.akavs",
	.origin_realm = REALM,
	.ipv4 = { 127, 0, 0, 1 },
	.origin_state_id = 1,
	.product_name = "akavs-bench",
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: akavs-bench dia [--n N] [--vectors V] [--json]\n"
		   "  Diameter Cx codec cost per MAR/MAA on one thread (CPU time):\n"
		   "  server = on_msg(MAR) + encode(MAA), client = build_mar + parse_maa,\n"
		   "  memcpy of the same bytes as the baseline.\n"
		   "  --n N        MARs per phase (default 1000000)\n"
		   "  --vectors V  SIP-Number-Auth-Items per MAR (default 1: load's CHALLENGE)\n"
		   "  --json       one JSON object instead of text\n");
}

static int
open_conn(struct akv_dia_conn *c, const struct akv_cfg *cfg, struct akv_bench_slot *s)
{
	struct akv_proto_conn_info info = { .cfg = cfg, .ind = -1 };
	static uint8_t out[AKV_PROTO_OUT_MAX];
	uint8_t cer[1024];
	size_t olen = 0;
	int n;

	snprintf(info.peer_addr, sizeof(info.peer_addr), "127.0.0.1:40000");
	if (akv_dia_ops.conn_init(c, &info, out, sizeof(out), &olen) < 0)
		return -1;
	n = akv_dia_build_cer(cer, sizeof(cer), &client_node, 1, 1);
	if (n < 0)
		return -1;
	akv_bench_slot_reset(s);
	if (akv_dia_ops.on_msg(c, cer, (size_t)n, &s->ps, out, sizeof(out), &olen) !=
	    AKV_PROTO_REPLY)
		return -1;
	return c->state == AKV_DIA_OPEN ? 0 : -1;
}

static int
build_one(struct bench_set *b, unsigned i, unsigned nvec, uint64_t session)
{
	struct akv_dia_mar m = {
		.session_id = b->sid[i], .dest_realm = REALM, .impi = b->impi[i],
		.impu = b->impu[i], .scheme = "Digest-AKAv1-MD5",
		.server_name = "sip:scscf.bench.akavs:6060", .n = nvec,
	};

	snprintf(b->sid[i], sizeof(b->sid[i]), "load0.bench.akavs;%u;%u",
		 (unsigned)(session >> 32), (unsigned)session);
	return akv_dia_build_mar(b->mar[i], MAR_CAP, &client_node, &m, (uint32_t)session,
				 (uint32_t)(session ^ 0x5a5a));
}

static int
maa_ok(const uint8_t *maa, size_t len, unsigned nvec)
{
	struct akv_dia_maa_item items[AKV_VEC_MAX];
	struct akv_dia_hdr h;
	struct akv_dia_result r;
	unsigned ni = 0;

	return !akv_dia_parse_maa(maa, len, &h, &r, items, AKV_VEC_MAX, &ni) &&
	       r.result_code == AKV_DIA_SUCCESS && ni == nvec && items[0].xres_len == 8;
}

int
akv_bench_dia(int argc, char **argv)
{
	struct akv_bench_codec_args args = { .n = 1000000, .nvec = 1 };
	struct akv_bench_codec_result res = {
		.title = "dia codec", .unit = "MAR", .req_name = "MAR", .ans_name = "MAA",
		.server_what = "on_msg+encode", .client_what = "build+parse",
	};
	static struct bench_set b;
	static struct akv_cfg cfg;
	static struct akv_dia_conn c;
	static struct akv_bench_slot s;
	unsigned long n;
	unsigned nvec;
	uint64_t t0, check = 0;
	int rc = akv_bench_codec_parse(argc, argv, usage, &args);

	if (rc)
		return rc == 1 ? 0 : 2;
	n = args.n;
	nvec = args.nvec;
	snprintf(cfg.dia.origin_host, sizeof(cfg.dia.origin_host), "hss.bench.akavs");
	snprintf(cfg.dia.origin_realm, sizeof(cfg.dia.origin_realm), REALM);
	cfg.dia.max_vectors = AKV_VEC_MAX;
	akv_bench_slot_init(&s);
	if (open_conn(&c, &cfg, &s) < 0) {
		fprintf(stderr, "bench dia: CER not accepted\n");
		return 1;
	}
	for (unsigned i = 0; i < NMSG; i++) {
		int len;

		snprintf(b.impi[i], sizeof(b.impi[i]), "bench%u@bench.akavs", i * 151);
		snprintf(b.impu[i], sizeof(b.impu[i]), "sip:bench%u@bench.akavs", i * 151);
		len = build_one(&b, i, nvec, 1000 + i);
		if (len < 0)
			goto broken;
		b.mar_len[i] = (size_t)len;
		len = akv_bench_server_round(&akv_dia_ops, &c, &s, b.mar[i], b.mar_len[i], b.maa[i], i);
		if (len < 0 || !maa_ok(b.maa[i], (size_t)len, nvec))
			goto broken;
		b.maa_len[i] = (size_t)len;
		res.req_bytes += (double)b.mar_len[i] / NMSG;
		res.ans_bytes += (double)b.maa_len[i] / NMSG;
	}

	/* server: on_msg + encode */
	if (akv_bench_server_phase(&akv_dia_ops, &c, &s, b.mar[0], MAR_CAP, b.mar_len, NMSG, n,
				   &res.server_ns, &check))
		goto broken;

	/* client: build the MAR, parse its MAA */
	t0 = akv_bench_cpu_ns();
	for (unsigned long k = 0; k < n; k++) {
		unsigned i = (unsigned)(k % NMSG);
		struct akv_dia_maa_item items[AKV_VEC_MAX];
		struct akv_dia_hdr h;
		struct akv_dia_result r;
		unsigned ni = 0;
		int len = build_one(&b, i, nvec, 5000 + k);

		if (len < 0 || akv_dia_parse_maa(b.maa[i], b.maa_len[i], &h, &r, items, AKV_VEC_MAX,
						 &ni) || ni != nvec)
			goto broken;
		check += (uint64_t)len + items[ni - 1].ck[0];
	}
	res.client_ns = akv_bench_cpu_ns() - t0;

	res.check = check;
	akv_bench_codec_finish(&res, &args, b.mar[0], MAR_CAP, b.mar_len, b.maa[0],
			       AKV_PROTO_OUT_MAX, b.maa_len, NMSG);
	return 0;
broken:
	fprintf(stderr, "bench dia: the codec did not answer a MAR as expected\n");
	return 1;
}

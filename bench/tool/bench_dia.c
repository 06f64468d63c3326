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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aka/cx.h"
#include "aka/eng.h"
#include "bench.h"
#include "core/cfg.h"
#include "err.h"
#include "proto/dia.h"
#include "proto/dia_peer.h"
#include "proto/proto.h"

#define NMSG	  64	/* distinct MARs cycled through */
#define MAR_CAP	  1024
#define REALM	  "bench.akavs"

struct dia_slot {
	struct akv_eng_req req;
	struct akv_eng_vec vec[AKV_VEC_MAX];
	struct akv_eng_digest digest;
	struct akv_cx_req cx;
	uint8_t ctx[AKV_PROTO_CTX_MAX];
	struct akv_proto_slot ps;
};

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

static void
slot_init(struct dia_slot *s)
{
	memset(s, 0, sizeof(*s));
	s->req.vec = s->vec;
	s->req.digest = &s->digest;
	s->req.cx = &s->cx;
	s->ps.req = &s->req;
	s->ps.vec = s->vec;
	s->ps.digest = &s->digest;
	s->ps.cx = &s->cx;
	s->ps.ctx = s->ctx;
}

/* What the front end clears before on_msg (server/net/fe.c slot_take):
 * what precedes impi (eng.h, "Layout"). */
static void
slot_reset(struct dia_slot *s)
{
	memset(&s->req, 0, offsetof(struct akv_eng_req, impi));
	s->req.impi[0] = '\0';
}

/* A synthetic engine answer: nvec vectors of recognisable bytes. */
static void
fake_engine(struct akv_eng_req *r, unsigned seq)
{
	r->err = 0;
	r->nvec = r->n;
	r->scheme_used = AKV_SCHEME_AKAV1_MD5;
	for (unsigned i = 0; i < r->nvec; i++) {
		memset(r->vec[i].rand, (int)(seq + i), 16);
		memset(r->vec[i].autn, (int)(seq + i + 1), 16);
		memset(r->vec[i].xres, (int)(seq + i + 2), 16);
		memset(r->vec[i].ck, (int)(seq + i + 3), 16);
		memset(r->vec[i].ik, (int)(seq + i + 4), 16);
		r->vec[i].xres_len = 8;
	}
}

static int
open_conn(struct akv_dia_conn *c, const struct akv_cfg *cfg, struct dia_slot *s)
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
	slot_reset(s);
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

/* One front-end round: MAR in, MAA out. Returns the MAA length or -1. */
static int
server_one(struct akv_dia_conn *c, struct dia_slot *s, const uint8_t *mar, size_t len,
	   uint8_t *out, unsigned seq)
{
	size_t olen = 0;

	slot_reset(s);
	if (akv_dia_ops.on_msg(c, mar, len, &s->ps, out, AKV_PROTO_OUT_MAX, &olen) !=
	    AKV_PROTO_DISPATCH)
		return -1;
	fake_engine(&s->req, seq);
	return akv_dia_ops.encode(c, &s->ps, out, AKV_PROTO_OUT_MAX);
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
	static const struct option lo[] = {
		{ "n", required_argument, NULL, 'n' },
		{ "vectors", required_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct bench_set b;
	static struct akv_cfg cfg;
	static struct akv_dia_conn c;
	static struct dia_slot s;
	static uint8_t out[AKV_PROTO_OUT_MAX], sink[2][AKV_PROTO_OUT_MAX];
	unsigned long n = 1000000, nvec = 1;
	int json = 0, o;
	uint64_t t0, t_srv, t_cli, t_cpy, bytes = 0, check = 0;
	size_t mar_bytes = 0, maa_bytes = 0;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		double v;

		switch (o) {
		case 'n':
			if (akv_bench_parse_num(optarg, &v) || v < 1 || v > 1e10)
				goto bad;
			n = (unsigned long)v;
			break;
		case 'v':
			if (akv_bench_parse_num(optarg, &v) || v < 1 || v > AKV_VEC_MAX ||
			    v != (unsigned)v)
				goto bad;
			nvec = (unsigned)v;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;

	snprintf(cfg.dia.origin_host, sizeof(cfg.dia.origin_host), "hss.bench.akavs");
	snprintf(cfg.dia.origin_realm, sizeof(cfg.dia.origin_realm), REALM);
	cfg.dia.max_vectors = AKV_VEC_MAX;
	slot_init(&s);
	if (open_conn(&c, &cfg, &s) < 0) {
		fprintf(stderr, "bench dia: CER not accepted\n");
		return 1;
	}
	for (unsigned i = 0; i < NMSG; i++) {
		int len;

		snprintf(b.impi[i], sizeof(b.impi[i]), "bench%u@bench.akavs", i * 151);
		snprintf(b.impu[i], sizeof(b.impu[i]), "sip:bench%u@bench.akavs", i * 151);
		len = build_one(&b, i, (unsigned)nvec, 1000 + i);
		if (len < 0)
			goto broken;
		b.mar_len[i] = (size_t)len;
		len = server_one(&c, &s, b.mar[i], b.mar_len[i], b.maa[i], i);
		if (len < 0 || !maa_ok(b.maa[i], (size_t)len, (unsigned)nvec))
			goto broken;
		b.maa_len[i] = (size_t)len;
		mar_bytes += b.mar_len[i];
		maa_bytes += b.maa_len[i];
	}

	/* server: on_msg + encode */
	t0 = akv_bench_cpu_ns();
	for (unsigned long k = 0; k < n; k++) {
		unsigned i = (unsigned)(k % NMSG);
		int len = server_one(&c, &s, b.mar[i], b.mar_len[i], out, (unsigned)k);

		if (len < 0)
			goto broken;
		check += (uint64_t)len + out[len - 1];
	}
	t_srv = akv_bench_cpu_ns() - t0;

	/* client: build the MAR, parse its MAA */
	t0 = akv_bench_cpu_ns();
	for (unsigned long k = 0; k < n; k++) {
		unsigned i = (unsigned)(k % NMSG);
		struct akv_dia_maa_item items[AKV_VEC_MAX];
		struct akv_dia_hdr h;
		struct akv_dia_result r;
		unsigned ni = 0;
		int len = build_one(&b, i, (unsigned)nvec, 5000 + k);

		if (len < 0 || akv_dia_parse_maa(b.maa[i], b.maa_len[i], &h, &r, items, AKV_VEC_MAX,
						 &ni) || ni != nvec)
			goto broken;
		check += (uint64_t)len + items[ni - 1].ck[0];
	}
	t_cli = akv_bench_cpu_ns() - t0;

	/* baseline: the same bytes copied once each way */
	t0 = akv_bench_cpu_ns();
	for (unsigned long k = 0; k < n; k++) {
		unsigned i = (unsigned)(k % NMSG);

		memcpy(sink[0], b.mar[i], b.mar_len[i]);
		memcpy(sink[1], b.maa[i], b.maa_len[i]);
		__asm__ volatile("" : : "r"(sink) : "memory");
		bytes += b.mar_len[i] + b.maa_len[i];
	}
	t_cpy = akv_bench_cpu_ns() - t0;

	{
		double srv = (double)t_srv / (double)n, cli = (double)t_cli / (double)n;
		double cpy = (double)t_cpy / (double)n;

		if (json) {
			printf("{\"n\":%lu,\"vectors\":%lu,\"mar_bytes\":%.0f,\"maa_bytes\":%.0f,"
			       "\"server_ns\":%.1f,\"client_ns\":%.1f,\"memcpy_ns\":%.1f,"
			       "\"server_over_memcpy\":%.2f,\"client_over_memcpy\":%.2f,"
			       "\"check\":%llu}\n",
			       n, nvec, (double)mar_bytes / NMSG, (double)maa_bytes / NMSG, srv,
			       cli, cpy, srv / cpy, cli / cpy, (unsigned long long)(check + bytes));
		} else {
			printf("dia codec, one thread, %lu MARs x %lu vectors "
			       "(MAR %.0f B, MAA %.0f B)\n",
			       n, nvec, (double)mar_bytes / NMSG, (double)maa_bytes / NMSG);
			printf("  server on_msg+encode  %8.1f ns/MAR  = %6.1f x memcpy\n", srv,
			       srv / cpy);
			printf("  client build+parse    %8.1f ns/MAR  = %6.1f x memcpy\n", cli,
			       cli / cpy);
			printf("  memcpy MAR+MAA        %8.1f ns/MAR  (check %llu)\n", cpy,
			       (unsigned long long)((check + bytes) & 0xffff));
		}
	}
	return 0;
broken:
	fprintf(stderr, "bench dia: the codec did not answer a MAR as expected\n");
	return 1;
bad:
	usage(stderr);
	return 2;
}

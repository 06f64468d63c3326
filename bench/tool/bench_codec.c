/*
 * bench_codec.c - shared parts of the one-thread codec benchmarks
 * (bench_codec.h).
 */
#include "bench_codec.h"

#include <ctype.h>
#include <getopt.h>
#include <string.h>

#include "bench.h"

/* see bench_codec.h */
void
akv_bench_slot_init(struct akv_bench_slot *s)
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

/* see bench_codec.h */
void
akv_bench_slot_reset(struct akv_bench_slot *s)
{
	akv_eng_req_reset(&s->req);
}

/* see bench_codec.h */
void
akv_bench_fake_engine(struct akv_eng_req *r, unsigned seq)
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

/* see bench_codec.h */
int
akv_bench_server_round(const struct akv_proto_ops *ops, void *conn, struct akv_bench_slot *s,
		       const uint8_t *msg, size_t len, uint8_t *out, unsigned seq)
{
	size_t olen = 0;

	akv_bench_slot_reset(s);
	if (ops->on_msg(conn, msg, len, &s->ps, out, AKV_PROTO_OUT_MAX, &olen) !=
	    AKV_PROTO_DISPATCH)
		return -1;
	akv_bench_fake_engine(&s->req, seq);
	return ops->encode(conn, &s->ps, out, AKV_PROTO_OUT_MAX);
}

/* see bench_codec.h */
int
akv_bench_server_phase(const struct akv_proto_ops *ops, void *conn, struct akv_bench_slot *s,
		       const uint8_t *msgs, size_t stride, const size_t *lens, unsigned nmsg,
		       unsigned long n, uint64_t *ns, uint64_t *check)
{
	static uint8_t out[AKV_PROTO_OUT_MAX];
	uint64_t t0 = akv_bench_cpu_ns();

	for (unsigned long k = 0; k < n; k++) {
		unsigned i = (unsigned)(k % nmsg);
		int len = akv_bench_server_round(ops, conn, s, msgs + i * stride, lens[i], out,
						 (unsigned)k);

		if (len <= 0)
			return -1;
		*check += (uint64_t)len + out[len - 1];
	}
	*ns = akv_bench_cpu_ns() - t0;
	return 0;
}

/* see bench_codec.h */
int
akv_bench_codec_parse(int argc, char **argv, void (*usage)(FILE *f),
		      struct akv_bench_codec_args *a)
{
	static const struct option lo[] = {
		{ "n", required_argument, NULL, 'n' },
		{ "vectors", required_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		double v;

		switch (o) {
		case 'n':
			if (akv_bench_parse_num(optarg, &v) || v < 1 || v > 1e10)
				goto bad;
			a->n = (unsigned long)v;
			break;
		case 'v':
			if (akv_bench_parse_num(optarg, &v) || v < 1 || v > AKV_VEC_MAX ||
			    v != (unsigned)v)
				goto bad;
			a->nvec = (unsigned)v;
			break;
		case 'j':
			a->json = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			goto bad;
		}
	}
	if (optind == argc)
		return 0;
bad:
	usage(stderr);
	return 2;
}

/* The baseline: CPU ns to copy each request and answer once. */
static uint64_t
copy_ns(const uint8_t *req, size_t req_stride, const size_t *req_len,
		  const uint8_t *ans, size_t ans_stride, const size_t *ans_len, unsigned nmsg,
		  unsigned long n, uint64_t *bytes)
{
	static uint8_t sink[2][AKV_PROTO_OUT_MAX];
	uint64_t t0 = akv_bench_cpu_ns();

	*bytes = 0;
	for (unsigned long k = 0; k < n; k++) {
		unsigned i = (unsigned)(k % nmsg);

		memcpy(sink[0], req + i * req_stride, req_len[i]);
		memcpy(sink[1], ans + i * ans_stride, ans_len[i]);
		__asm__ volatile("" : : "r"(sink) : "memory");
		*bytes += req_len[i] + ans_len[i];
	}
	return akv_bench_cpu_ns() - t0;
}

static void
lower(char *dst, size_t cap, const char *s)
{
	size_t i = 0;

	for (; s[i] && i + 1 < cap; i++)
		dst[i] = (char)tolower((unsigned char)s[i]);
	dst[i] = 0;
}

static void
report(const struct akv_bench_codec_result *r, int json)
{
	double srv = (double)r->server_ns / (double)r->n, cli = (double)r->client_ns / (double)r->n;
	double cpy = (double)r->memcpy_ns / (double)r->n;
	char rq[16], an[16];

	if (json) {
		lower(rq, sizeof(rq), r->req_name);
		lower(an, sizeof(an), r->ans_name);
		printf("{\"n\":%lu,\"vectors\":%u,\"%s_bytes\":%.0f,\"%s_bytes\":%.0f,"
		       "\"server_ns\":%.1f,\"client_ns\":%.1f,\"memcpy_ns\":%.1f,"
		       "\"server_over_memcpy\":%.2f,\"client_over_memcpy\":%.2f,"
		       "\"check\":%llu}\n",
		       r->n, r->nvec, rq, r->req_bytes, an, r->ans_bytes, srv, cli, cpy, srv / cpy,
		       cli / cpy, (unsigned long long)r->check);
		return;
	}
	printf("%s, one thread, %lu %ss x %u vectors (%s %.0f B, %s %.0f B)\n", r->title, r->n,
	       r->unit, r->nvec, r->req_name, r->req_bytes, r->ans_name, r->ans_bytes);
	printf("  server %-14s %8.1f ns/%s  = %6.1f x memcpy\n", r->server_what, srv, r->unit,
	       srv / cpy);
	printf("  client %-14s %8.1f ns/%s  = %6.1f x memcpy\n", r->client_what, cli, r->unit,
	       cli / cpy);
	printf("  memcpy %-14s %8.1f ns/%s  (check %llu)\n", "req+answer", cpy, r->unit,
	       (unsigned long long)(r->check & 0xffff));
}

/* see bench_codec.h */
void
akv_bench_codec_finish(struct akv_bench_codec_result *r, const struct akv_bench_codec_args *a,
		       const uint8_t *req, size_t req_stride, const size_t *req_len,
		       const uint8_t *ans, size_t ans_stride, const size_t *ans_len, unsigned nmsg)
{
	uint64_t bytes;

	r->memcpy_ns =
	    copy_ns(req, req_stride, req_len, ans, ans_stride, ans_len, nmsg, a->n, &bytes);
	r->n = a->n;
	r->nvec = a->nvec;
	r->check += bytes;
	report(r, a->json);
}

/*
 * bench_engine.c - `akavs-bench engine`: the AKA engine on one core over N
 * random subscribers in a temporary LMDB store (bulk-loaded through the
 * store API). Measures, through akv_eng_run() with batches as a worker
 * would run them:
 *   cold     first request per subscriber (store read, key expansion, and
 *            the durable SQN reservation commit every batch then needs)
 *   challenge CHALLENGE n=1 on random subscribers (lookup, SEQ/IND, RAND,
 *            Milenage, pending challenge, reservation bookkeeping)
 *   verify   VERIFY by RES of those challenges (lookup, pending find,
 *            constant-time compare, policy)
 * With --vectors the timed requests are VECTORS n=1 instead (what a Cx MAR
 * runs: XRES out, no pending challenge) and nothing is verified.
 * With --at-cap, every subscriber first gets pending_per_impi challenges
 * (untimed), so that each timed CHALLENGE finds its subscriber's list full
 * and replaces the oldest one: the steady state of a server under constant
 * load, which the default mode (32 pending allowed, ~1 per subscriber) never
 * reaches. Its verify phase then checks the challenges still pending.
 * plus commits (= fsyncs) per second, RAM per subscriber (engine
 * accounting and RSS delta) and disk per subscriber. Baseline in the same
 * run: the bare Milenage backend on the same number of vectors with
 * precomputed round keys, so "engine / kernel" shows what the bookkeeping
 * costs. Times are CPU time of this thread (the box is shared) with wall
 * time alongside.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aka/eng.h"
#include "akv_crypto.h"
#include "bench.h"
#include "err.h"
#include "mem.h"
#include "store/store.h"

#define IMPI_FMT "0010100%09zu@ims.mnc001.mcc001.3gppnetwork.org"

struct opts {
	size_t subs;
	size_t requests;
	unsigned batch;
	unsigned seq_reserve;
	unsigned pending;	/* pending_per_impi, 0: mode default */
	int at_cap;
	int impu;
	int newest_first;
	int vectors;		/* time VECTORS instead of CHALLENGE */
	int json;
	const char *dir;
};

struct result {
	double load_s, cold_cpu_s, chal_cpu_s, chal_wall_s, ver_cpu_s, ver_wall_s, kern_cpu_s;
	uint64_t cold_commits, chal_commits, chal_resv, ver_ok, ver_n, chal_n;
	double ram_engine_per_sub, ram_rss_per_sub, disk_per_sub, disk_used_per_sub;
	double pend_per_chal, first_chal_cpu_s, first_ver_cpu_s;
	size_t first_ver_n;
	const char *impl;
	unsigned seq_reserve, pending;
};

/* Synthetic keys of subscriber i (never real): splitmix64 of a fixed seed. */
static void
sub_keys(size_t i, uint8_t k[16], uint8_t opc[16])
{
	uint64_t z = 0x5eedf00dull + i * 4;

	for (int w = 0; w < 4; w++) {
		uint64_t x = (z += 0x9e3779b97f4a7c15ull);

		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
		x ^= x >> 31;
		memcpy(w < 2 ? k + 8 * w : opc + 8 * (w - 2), &x, 8);
	}
}

static int
next_sub(void *arg, size_t i, struct akv_sub *s)
{
	(void)arg;
	memset(s, 0, offsetof(struct akv_sub, impi));
	s->impi_len = (uint16_t)snprintf(s->impi, sizeof(s->impi), IMPI_FMT, i);
	s->nimpu = 1;
	s->impu_len[0] = (uint8_t)snprintf(s->impu[0], sizeof(s->impu[0]), "sip:" IMPI_FMT, i);
	s->schemes = AKV_STORE_SCHEMES_DEFAULT;
	s->amf[0] = 0x80;
	sub_keys(i, s->k, s->opc);
	return 0;
}

/* Anonymous resident memory (heap): excludes the LMDB map's file pages. */
static uint64_t
rss_anon_bytes(void)
{
	char line[256];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

/* IMPI_FMT without snprintf: the request set-up is not what is measured. */
static uint16_t
fmt_impi(char *out, size_t i)
{
	static const char pre[] = "0010100", post[] = "@ims.mnc001.mcc001.3gppnetwork.org";
	char *p = out;

	memcpy(p, pre, sizeof(pre) - 1);
	p += sizeof(pre) - 1;
	for (int d = 8; d >= 0; d--) {
		p[d] = (char)('0' + i % 10);
		i /= 10;
	}
	p += 9;
	memcpy(p, post, sizeof(post));
	return (uint16_t)(p - out + sizeof(post) - 1);
}

static uint64_t
now_ms(void)
{
	return akv_bench_now_ns() / 1000000u;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: akavs-bench engine [--json] [--subs N] [--requests N] [--batch B] [--db DIR]\n"
		"                          [--seq-reserve N] [--pending N] [--at-cap] [--impu]\n"
		"                          [--verify-newest] [--vectors]\n"
		"  One core: the AKA engine over N subscribers (default 1M) in a fresh LMDB\n"
		"  store (a temporary directory unless --db): cold first requests,\n"
		"  CHALLENGE and VERIFY rates incl. lookup and SQN bookkeeping, durable\n"
		"  commits (fsyncs)/s, RAM and disk bytes per subscriber. N accepts k/M.\n"
		"  --requests  challenges (and verifies) timed, default 1M\n"
		"  --batch     requests per akv_eng_run call, default 64\n"
		"  --seq-reserve  SEQ values reserved ahead (engine default 1000); small\n"
		"              values show the commit grouping under frequent renewals\n"
		"  --pending   pending challenges kept per IMPI (default 32; with --at-cap\n"
		"              the engine default, 8)\n"
		"  --at-cap    fill every subscriber's pending list to its cap first (untimed),\n"
		"              so each timed CHALLENGE replaces the oldest: the steady state\n"
		"              under constant load; the verify phase checks those still pending\n"
		"  --impu      timed CHALLENGEs name the subscriber's IMPU too (association\n"
		"              check, as the load generator's do)\n"
		"  --verify-newest  verify newest challenge first (each VERIFY finds its\n"
		"              subscriber's latest, as a UE answering at once does)\n"
		"              instead of in a shuffled order\n"
		"  --vectors   time VECTORS n=1 (a Cx MAR's op: XRES out, no pending\n"
		"              challenge) instead of CHALLENGE; no verify phase\n");
}

static int
parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"json", no_argument, NULL, 'j'},	   {"subs", required_argument, NULL, 's'},
		{"requests", required_argument, NULL, 'r'}, {"batch", required_argument, NULL, 'b'},
		{"db", required_argument, NULL, 'd'},	   {"help", no_argument, NULL, 'h'},
		{"seq-reserve", required_argument, NULL, 'q'},
		{"pending", required_argument, NULL, 'p'},  {"at-cap", no_argument, NULL, 'a'},
		{"impu", no_argument, NULL, 'i'},
		{"verify-newest", no_argument, NULL, 'n'},
		{"vectors", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	double v;
	int c;

	o->subs = 1000000;
	o->requests = 1000000;
	o->batch = 64;
	o->seq_reserve = 0;
	o->pending = 0;
	o->at_cap = 0;
	o->impu = 0;
	o->newest_first = 0;
	o->vectors = 0;
	o->json = 0;
	o->dir = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = 1;
			break;
		case 'a':
			o->at_cap = 1;
			break;
		case 'i':
			o->impu = 1;
			break;
		case 'n':
			o->newest_first = 1;
			break;
		case 'v':
			o->vectors = 1;
			break;
		case 's':
		case 'r':
		case 'b':
		case 'q':
		case 'p':
			if (akv_bench_parse_num(optarg, &v) || v < 1 || v > 1e9 ||
			    (c == 'p' && v > 255)) {
				fprintf(stderr, "akavs-bench engine: bad number '%s'\n", optarg);
				return 2;
			}
			if (c == 's')
				o->subs = (size_t)v;
			else if (c == 'r')
				o->requests = (size_t)v;
			else if (c == 'q')
				o->seq_reserve = (unsigned)v;
			else if (c == 'p')
				o->pending = (unsigned)v;
			else
				o->batch = v > 4096 ? 4096 : (unsigned)v;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	return 0;
}

/* Runs `total` requests of one op over subscribers chosen by pick(), in
 * batches, ticking every 100 ms as a worker does. */
struct phase {
	struct akv_eng *e;
	unsigned batch;
	struct akv_eng_req *reqs;
	struct akv_eng_req **list;
	struct akv_eng_vec *vec;
	uint64_t last_tick;
	int impu;		/* CHALLENGEs carry the IMPU */
	uint8_t op;		/* the timed op: CHALLENGE or VECTORS */
};

static void
phase_tick(struct phase *p)
{
	uint64_t t = now_ms();

	if (t - p->last_tick >= 100) {
		p->last_tick = t;
		(void)akv_eng_tick(p->e, t);
	}
}

/* ==== The runs ==== */

struct chal {
	uint32_t sub;
	uint8_t rand[16];
	uint64_t sqn;
	uint8_t res[8];
};

/* CHALLENGE (or VECTORS) n=1 on random subscribers, recording sub, RAND and
 * SQN in ch.
 * Out of line so that a profiler can select it (callgrind --toggle-collect). */
static __attribute__((noinline)) int
timed_challenges(struct phase *p, struct chal *ch, size_t nreq, size_t subs, uint64_t *prng)
{
	for (size_t i = 0; i < nreq;) {
		size_t first = i;
		unsigned nb = 0;

		for (; nb < p->batch && i < nreq; nb++, i++) {
			struct akv_eng_req *r = &p->reqs[nb];
			size_t sub = (size_t)(akv_bench_rand64(prng) % subs);

			ch[i].sub = (uint32_t)sub;
			r->op = p->op;
			r->n = 1;
			r->impi_len = fmt_impi(r->impi, sub);
			r->impu_len = 0;
			if (p->impu) {
				/* the subscriber's IMPU is "sip:" IMPI */
				memcpy(r->impu, "sip:", 4);
				memcpy(r->impu + 4, r->impi, r->impi_len);
				r->impu_len = (uint16_t)(r->impi_len + 4);
			}
		}
		akv_eng_run(p->e, p->list, nb, now_ms());
		for (unsigned j = 0; j < nb; j++) {
			if (p->reqs[j].err) {
				fprintf(stderr, "akavs-bench engine: %s: %s\n",
					p->op == AKV_OP_VECTORS ? "vectors" : "challenge",
					akv_strerror(p->reqs[j].err));
				return 1;
			}
			memcpy(ch[first + j].rand, p->vec[j].rand, 16);
			ch[first + j].sqn = p->vec[j].sqn;
		}
		phase_tick(p);
	}
	return 0;
}

/* VERIFY by RES of ch[0..n) in that order; counts the OK verdicts. Out of
 * line for the same reason. */
static __attribute__((noinline)) void
timed_verifies(struct phase *p, const struct chal *ch, size_t n, uint64_t *ok)
{
	for (size_t i = 0; i < n;) {
		unsigned nb = 0;

		for (; nb < p->batch && i < n; nb++, i++) {
			struct akv_eng_req *r = &p->reqs[nb];

			r->op = AKV_OP_VERIFY;
			r->verify_kind = AKV_VERIFY_RES;
			r->impi_len = fmt_impi(r->impi, ch[i].sub);
			r->impu_len = 0;
			memcpy(r->rand, ch[i].rand, 16);
			memcpy(r->res, ch[i].res, 8);
			r->res_len = 8;
		}
		akv_eng_run(p->e, p->list, nb, now_ms());
		for (unsigned j = 0; j < nb; j++)
			*ok += !p->reqs[j].err && p->reqs[j].verdict == AKV_VERDICT_OK;
		phase_tick(p);
	}
}

/* Untimed: `total` requests `op` (n=1, cyclic IND, no IMPU) on subscribers
 * 0, 1, ... subs-1, 0, ... in order; `what` names the pass in errors. */
static int
untimed_pass(struct phase *p, enum akv_op op, size_t total, size_t subs, const char *what)
{
	for (size_t i = 0; i < total;) {
		unsigned nb = 0;

		for (; nb < p->batch && i < total; nb++, i++) {
			struct akv_eng_req *r = &p->reqs[nb];

			r->op = (uint8_t)op;
			r->n = 1;
			r->ind = -1;
			r->impu_len = 0;
			r->impi_len = fmt_impi(r->impi, i % subs);
		}
		akv_eng_run(p->e, p->list, nb, now_ms());
		for (unsigned j = 0; j < nb; j++)
			if (p->reqs[j].err) {
				fprintf(stderr, "akavs-bench engine: %s: %s\n", what,
					akv_strerror(p->reqs[j].err));
				return 1;
			}
		phase_tick(p);
	}
	return 0;
}

/* --at-cap: keeps, in order, only the challenges of ch[0..n) still pending
 * (the newest `cap` of each subscriber; older ones were replaced). Returns
 * how many. */
static size_t
keep_pending(struct chal *ch, size_t n, size_t subs, unsigned cap)
{
	uint8_t *seen = akv_calloc(subs, 1);
	size_t k = n;

	for (size_t i = n; i-- > 0;) {
		if (seen[ch[i].sub] < cap) {
			seen[ch[i].sub]++;
			ch[--k] = ch[i];	/* k - 1 >= i: only done entries are overwritten */
		}
	}
	akv_free(seen);
	memmove(ch, ch + k, (n - k) * sizeof(*ch));
	return n - k;
}

static int
run(const struct opts *o, struct result *res)
{
	char tmpl[4096], path[4200];
	const char *tdir = getenv("TMPDIR");
	struct akv_store *st = NULL;
	struct akv_eng *e = NULL;
	struct akv_eng_cfg cfg;
	struct akv_eng_stats s0, s1;
	struct akv_eng_durability d0, d1;
	struct akv_eng_mem mem;
	struct akv_store_stats sst;
	struct phase p = {0};
	struct chal *ch = NULL;
	struct stat sb;
	uint64_t prng = 0x1234567ull, t0, w0, rss0;
	size_t bad = 0;
	unsigned cap;
	int rc = 0, err = 0;

	memset(res, 0, sizeof(*res));
	if (o->dir) {
		snprintf(path, sizeof(path), "%s", o->dir);
	} else {
		snprintf(tmpl, sizeof(tmpl), "%s/akv-bench-engine-XXXXXX", tdir ? tdir : "/tmp");
		if (!mkdtemp(tmpl)) {
			fprintf(stderr, "akavs-bench engine: mkdtemp: %s\n", strerror(errno));
			return 1;
		}
		snprintf(path, sizeof(path), "%s/db", tmpl);
	}
	akv_crypto_init();
	res->impl = akv_mil_best()->name;
	st = akv_store_open(path, NULL, &err);
	if (!st) {
		fprintf(stderr, "akavs-bench engine: store %s: %s (%s)\n", path, akv_strerror(err),
			akv_store_errdetail());
		return 1;
	}
	fprintf(stderr, "engine: loading %zu subscribers into %s ...\n", o->subs, path);
	w0 = akv_bench_now_ns();
	rc = akv_store_add_batch(st, o->subs, next_sub, NULL, &bad);
	res->load_s = (double)(akv_bench_now_ns() - w0) * 1e-9;
	if (rc) {
		fprintf(stderr, "akavs-bench engine: bulk load failed at %zu: %s (%s)\n", bad,
			akv_strerror(rc), akv_store_errdetail());
		goto out;
	}
	akv_bench_pin(-1);
	akv_eng_cfg_default(&cfg);
	/* default mode: keep every timed challenge for the verify phase */
	cfg.pending_per_impi = o->pending ? o->pending : o->at_cap ? cfg.pending_per_impi : 32;
	cap = cfg.pending_per_impi;
	res->pending = cap;
	if (o->at_cap)	/* long rounds (1M subs x cap) must not outlive a challenge */
		cfg.challenge_ttl_ms = 3600u * 1000u;
	if (o->seq_reserve)
		cfg.seq_reserve = o->seq_reserve;
	res->seq_reserve = cfg.seq_reserve;
	rss0 = rss_anon_bytes();
	e = akv_eng_new(&cfg, st, 0, 1, &err);
	if (!e) {
		fprintf(stderr, "akavs-bench engine: %s\n", akv_strerror(err));
		rc = 1;
		goto out;
	}
	p.e = e;
	p.batch = o->batch;
	p.impu = o->impu;
	p.op = o->vectors ? AKV_OP_VECTORS : AKV_OP_CHALLENGE;
	p.reqs = akv_calloc(o->batch, sizeof(*p.reqs));
	p.list = akv_calloc(o->batch, sizeof(*p.list));
	p.vec = akv_calloc(o->batch, sizeof(*p.vec));
	for (unsigned i = 0; i < o->batch; i++) {
		p.list[i] = &p.reqs[i];
		p.reqs[i].vec = &p.vec[i];
	}

	/* cold: every subscriber once, VECTORS (no pending state), in order */
	fprintf(stderr, "engine: cold pass ...\n");
	akv_eng_stats(e, &s0);
	t0 = akv_bench_cpu_ns();
	rc = untimed_pass(&p, AKV_OP_VECTORS, o->subs, o->subs, "cold");
	if (rc)
		goto out;
	res->cold_cpu_s = (double)(akv_bench_cpu_ns() - t0) * 1e-9;
	akv_eng_stats(e, &s1);
	res->cold_commits = s1.fsyncs - s0.fsyncs;
	akv_eng_mem(e, &mem);
	res->ram_engine_per_sub = (double)mem.cache_bytes / (double)o->subs;
	res->ram_rss_per_sub = (double)(rss_anon_bytes() - rss0) / (double)o->subs;

	/*
	 * Challenges on random subscribers, the UE's RES for each (untimed),
	 * then VERIFY of all in shuffled order. Round 0 grows the pending pool
	 * (page faults, copies); round 1 is the steady state reported.
	 */
	ch = akv_calloc(o->requests, sizeof(*ch));
	for (int round = 0; round < 2; round++) {
		size_t nver = o->requests;

		if (o->at_cap) {
			fprintf(stderr, "engine: round %d: filling %zu pending lists to %u ...\n",
				round, o->subs, cap);
			/* `cap` CHALLENGEs for every subscriber, round robin, so that
			 * every pending list is full whatever the verifies before took */
			rc = untimed_pass(&p, AKV_OP_CHALLENGE, o->subs * cap, o->subs, "fill");
			if (rc)
				goto out;
		}
		fprintf(stderr, "engine: round %d: %zu %s ...\n", round, o->requests,
			o->vectors ? "VECTORS n=1" : "challenges, then verifies");
		akv_eng_stats(e, &s0);
		akv_eng_durability(e, &d0);
		w0 = akv_bench_now_ns();
		t0 = akv_bench_cpu_ns();
		rc = timed_challenges(&p, ch, o->requests, o->subs, &prng);
		if (rc)
			goto out;
		res->chal_cpu_s = (double)(akv_bench_cpu_ns() - t0) * 1e-9;
		res->chal_wall_s = (double)(akv_bench_now_ns() - w0) * 1e-9;
		akv_eng_stats(e, &s1);
		res->chal_commits = s1.fsyncs - s0.fsyncs;
		akv_eng_durability(e, &d1);
		res->chal_resv = d1.reservations - d0.reservations;
		res->chal_n = o->requests;
		akv_eng_mem(e, &mem);
		res->pend_per_chal = (double)mem.pending_bytes / (double)(mem.pending ? mem.pending : 1);

		/* the UE's RES for each challenge (untimed), and the kernel baseline */
		{
			const struct akv_mil_impl *mil = akv_mil_best();
			enum { CHUNK = 4096 };
			struct akv_mil_in *in = akv_calloc(CHUNK, sizeof(*in));
			struct akv_mil_out *out = akv_calloc(CHUNK, sizeof(*out));
			struct akv_aes_sched *ks = akv_calloc(CHUNK, sizeof(*ks));
			double kern = 0;

			for (size_t i = 0; i < o->requests; i += CHUNK) {
				size_t n = o->requests - i < CHUNK ? o->requests - i : CHUNK;

				for (size_t j = 0; j < n; j++) {
					struct chal *c = &ch[i + j];
					uint64_t sqn = c->sqn;

					sub_keys(c->sub, in[j].k, in[j].opc);
					akv_aes_expand(in[j].k, &ks[j]);
					in[j].ks = strcmp(mil->name, "ref") ? &ks[j] : NULL;
					memcpy(in[j].rand, c->rand, 16);
					for (int b = 5; b >= 0; b--, sqn >>= 8)
						in[j].sqn[b] = (uint8_t)sqn;
					in[j].amf[0] = 0x80;
					in[j].amf[1] = 0;
				}
				/* baseline: the same vectors, kernel only, keys pre-expanded */
				t0 = akv_bench_cpu_ns();
				mil->gen(in, out, n, AKV_MIL_VECTOR);
				kern += (double)(akv_bench_cpu_ns() - t0) * 1e-9;
				for (size_t j = 0; j < n; j++)
					memcpy(ch[i + j].res, out[j].res, 8);
			}
			res->kern_cpu_s = kern;
			akv_wipe(in, CHUNK * sizeof(*in));
			akv_wipe(out, CHUNK * sizeof(*out));
			akv_wipe(ks, CHUNK * sizeof(*ks));
			akv_free(in);
			akv_free(out);
			akv_free(ks);
		}

		/* verifies of those challenges (with --at-cap, of those still pending),
		 * in a shuffled order; VECTORS left none pending */
		if (o->vectors)
			nver = 0;
		else if (o->at_cap)
			nver = keep_pending(ch, o->requests, o->subs, cap);
		for (size_t i = nver; i > 1; i--) {
			size_t j = o->newest_first ? nver - i : (size_t)(akv_bench_rand64(&prng) % i);
			struct chal t = ch[i - 1];

			if (o->newest_first && j >= i - 1)
				break;	/* reversed: issue order, newest first */
			ch[i - 1] = ch[j];
			ch[j] = t;
		}
		w0 = akv_bench_now_ns();
		t0 = akv_bench_cpu_ns();
		timed_verifies(&p, ch, nver, &res->ver_ok);
		res->ver_cpu_s = (double)(akv_bench_cpu_ns() - t0) * 1e-9;
		res->ver_wall_s = (double)(akv_bench_now_ns() - w0) * 1e-9;
		res->ver_n = nver;
		if (round == 0) {
			res->first_chal_cpu_s = res->chal_cpu_s;
			res->first_ver_cpu_s = res->ver_cpu_s;
			res->first_ver_n = nver;
			res->ver_ok = 0;
		}
	}

	if (akv_store_stats(st, &sst) == 0)
		res->disk_used_per_sub = (double)sst.map_used / (double)o->subs;
	{
		char data[4300];

		snprintf(data, sizeof(data), "%s/data.mdb", path);
		if (stat(data, &sb) == 0)
			res->disk_per_sub = (double)sb.st_blocks * 512.0 / (double)o->subs;
	}
out:
	if (ch) {
		akv_wipe(ch, o->requests * sizeof(*ch));
		akv_free(ch);
	}
	akv_eng_free(e);
	akv_free(p.reqs);
	akv_free(p.list);
	akv_free(p.vec);
	akv_store_close(st);
	if (!o->dir) {
		char cmd[4400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
		if (system(cmd) != 0)
			fprintf(stderr, "akavs-bench engine: could not remove %s\n", tmpl);
	}
	return rc;
}

static double
rate(double n, double s)
{
	return s > 0 ? n / s : 0;
}

/* see bench.h */
int
akv_bench_engine(int argc, char **argv)
{
	struct opts o;
	struct result r;
	double chal, ver, kern;
	int rc = parse(argc, argv, &o);

	if (rc)
		return rc == 1 ? 0 : rc;
	rc = run(&o, &r);
	if (rc)
		return rc;
	chal = rate((double)r.chal_n, r.chal_cpu_s);
	ver = rate((double)r.ver_n, r.ver_cpu_s);
	kern = rate((double)r.chal_n, r.kern_cpu_s);
	if (o.json) {
		printf("{\"bench\":\"engine\",\"cpu\":");
		akv_bench_json_str(stdout, akv_bench_cpu_model());
		printf(",\"impl\":");
		akv_bench_json_str(stdout, r.impl);
		printf(",\"subs\":%zu,\"batch\":%u,\"requests\":%zu,"
		       "\"at_cap\":%d,\"impu\":%d,\"verify_newest\":%d,\"vectors\":%d,"
		       "\"pending_per_impi\":%u,"
		       "\"ns_per_challenge_cpu\":%.1f,\"ns_per_verify_cpu\":%.1f,"
		       "\"load_subs_per_s\":%.0f,"
		       "\"cold_req_per_s\":%.0f,\"cold_commits\":%llu,"
		       "\"challenges_per_s_cpu\":%.0f,\"challenges_per_s_wall\":%.0f,"
		       "\"first_round_challenges_per_s_cpu\":%.0f,"
		       "\"first_round_verifies_per_s_cpu\":%.0f,"
		       "\"verifies_per_s_cpu\":%.0f,\"verifies_per_s_wall\":%.0f,"
		       "\"verified_ok\":%llu,"
		       "\"commits_during_challenges\":%llu,\"fsyncs_per_s\":%.1f,"
		       "\"reservations_per_s\":%.0f,\"seq_reserve\":%u,"
		       "\"kernel_vectors_per_s\":%.0f,\"ratio_engine_to_kernel\":%.3f,"
		       "\"ram_bytes_per_sub_engine\":%.1f,\"ram_bytes_per_sub_rss\":%.1f,"
		       "\"pending_bytes_per_challenge\":%.1f,\"disk_bytes_per_sub\":%.1f,"
		       "\"disk_used_bytes_per_sub\":%.1f}\n",
		       o.subs, o.batch, o.requests, o.at_cap, o.impu, o.newest_first, o.vectors,
		       r.pending,
		       chal > 0 ? 1e9 / chal : 0, ver > 0 ? 1e9 / ver : 0,
		       rate((double)o.subs, r.load_s),
		       rate((double)o.subs, r.cold_cpu_s), (unsigned long long)r.cold_commits,
		       chal, rate((double)r.chal_n, r.chal_wall_s),
		       rate((double)r.chal_n, r.first_chal_cpu_s),
		       rate((double)r.first_ver_n, r.first_ver_cpu_s), ver,
		       rate((double)r.ver_n, r.ver_wall_s), (unsigned long long)r.ver_ok,
		       (unsigned long long)r.chal_commits,
		       rate((double)r.chal_commits, r.chal_wall_s),
		       rate((double)r.chal_resv, r.chal_wall_s), r.seq_reserve, kern,
		       kern > 0 ? chal / kern : 0, r.ram_engine_per_sub, r.ram_rss_per_sub,
		       r.pend_per_chal, r.disk_per_sub, r.disk_used_per_sub);
		return r.ver_ok == r.ver_n ? 0 : 1;
	}
	printf("akavs-bench engine  (%s, Milenage backend %s, one core)\n", akv_bench_cpu_model(),
	       r.impl);
	printf("  subscribers           %zu (bulk load %.0f subs/s)\n", o.subs,
	       rate((double)o.subs, r.load_s));
	printf("  cold first requests   %.0f req/s CPU (%llu commits: store read + reservation)\n",
	       rate((double)o.subs, r.cold_cpu_s), (unsigned long long)r.cold_commits);
	printf("  pending per IMPI      %u%s%s\n", r.pending,
	       o.at_cap ? " (--at-cap: every list full, each challenge replaces the oldest)" : "",
	       o.impu ? ", challenges name the IMPU" : "");
	printf("  %-21s %.2f M/s CPU = %.0f ns each, %.2f M/s wall  (batch %u, n=1)\n",
	       o.vectors ? "VECTORS (Cx MAR op)" : "challenges", chal / 1e6,
	       chal > 0 ? 1e9 / chal : 0, rate((double)r.chal_n, r.chal_wall_s) / 1e6, o.batch);
	printf("  first round           %.2f M challenges/s, %.2f M verifies/s CPU (pool growth)\n",
	       rate((double)r.chal_n, r.first_chal_cpu_s) / 1e6,
	       rate((double)r.first_ver_n, r.first_ver_cpu_s) / 1e6);
	printf("  verifies (RES)        %.2f M/s CPU = %.0f ns each, %.2f M/s wall  (%llu/%llu OK)\n",
	       ver / 1e6, ver > 0 ? 1e9 / ver : 0, rate((double)r.ver_n, r.ver_wall_s) / 1e6,
	       (unsigned long long)r.ver_ok, (unsigned long long)r.ver_n);
	printf("  durable commits       %llu during challenges = %.1f fsyncs/s wall, carrying "
	       "%.0f SEQ reservations/s (seq_reserve %u)\n",
	       (unsigned long long)r.chal_commits, rate((double)r.chal_commits, r.chal_wall_s),
	       rate((double)r.chal_resv, r.chal_wall_s), r.seq_reserve);
	printf("  baseline: kernel only %.2f M vectors/s CPU -> engine/kernel %.2f\n", kern / 1e6,
	       kern > 0 ? chal / kern : 0);
	printf("  RAM per subscriber    %.0f B (engine accounting), %.0f B (anon RSS delta)\n",
	       r.ram_engine_per_sub, r.ram_rss_per_sub);
	printf("  pending challenge     %.0f B each\n", r.pend_per_chal);
	printf("  disk per subscriber   %.0f B (data.mdb blocks), %.0f B (LMDB pages in use)\n",
	       r.disk_per_sub, r.disk_used_per_sub);
	return r.ver_ok == r.ver_n ? 0 : 1;
}

/*
 * bench_crypto.c - `akavs-bench crypto`: Milenage vectors per second on one
 * pinned core, for every backend this CPU runs (ref, aesni, vaes), with round
 * keys expanded in the kernel and with precomputed schedules; the cost of
 * RAND generation; libosmocore's osmo_auth_gen_vec as the baseline; and the
 * raw-AES roofline. Everything is measured in the same run, so only the
 * ratios (x libosmocore, % of roofline) carry across machines.
 *
 * Each figure is the best of several short trials, and rates divide by the
 * thread's CPU time (the deadline is wall time): the box is shared, so time
 * the scheduler gives to other processes must not count against a kernel.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "akv_crypto.h"
#include "bench.h"
#include "bench_crypto.h"
#include "mem.h"

#define TRIALS 3
#define MAX_RESULTS 8

struct opts {
	double seconds; /* per measurement, split into TRIALS */
	unsigned nsubs;
	unsigned batch;
	int cpu;
	int json;
};

struct impl_result {
	const char *name;
	const char *keys; /* "expanded" | "precomputed" */
	double vps;
};

struct crypto_run {
	struct opts o;
	struct akv_mil_in *in;	  /* nsubs subscribers, RAND rewritten per batch */
	struct akv_aes_sched *ks; /* their precomputed schedules (secrets) */
	struct akv_mil_out *out;  /* one batch */
	struct impl_result res[MAX_RESULTS];
	unsigned nres;
	const char *skipped[4], *skip_why[4];
	unsigned nskip;
	double osmo_vps, roof_bps;
	enum akv_roof_isa roof_isa;
	int roof_ok;
	double rng_bulk, rng_call, rng_openssl16;
	int cpu;
};

static volatile uint64_t sink;

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: akavs-bench crypto [--json] [--seconds S] [--subs N] [--batch B] [--cpu N]\n"
	    "  --seconds S  time per measurement (default 1.0; best of %d trials)\n"
	    "  --subs N     distinct random subscribers, >= 1024 (default 4096)\n"
	    "  --batch B    vectors per kernel call (default 256)\n"
	    "  --cpu N      core to pin to (default: the current one)\n",
	    TRIALS);
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	o->seconds = 1.0;
	o->nsubs = 4096;
	o->batch = 256;
	o->cpu = -1;
	o->json = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		double v;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (i + 1 < argc && (!strcmp(a, "--seconds") || !strcmp(a, "--subs") ||
					    !strcmp(a, "--batch") || !strcmp(a, "--cpu"))) {
			if (akv_bench_parse_num(argv[++i], &v)) {
				fprintf(stderr, "crypto: bad value '%s' for %s\n", argv[i], a);
				return -1;
			}
			if (!strcmp(a, "--seconds") && v >= 0.01 && v <= 600)
				o->seconds = v;
			else if (!strcmp(a, "--subs") && v >= 1024 && v <= 1 << 24)
				o->nsubs = (unsigned)v;
			else if (!strcmp(a, "--batch") && v >= 1 && v <= 65536)
				o->batch = (unsigned)v;
			else if (!strcmp(a, "--cpu") && v < 4096)
				o->cpu = (int)v;
			else {
				fprintf(stderr, "crypto: %s %s out of range\n", a, argv[i]);
				return -1;
			}
		} else {
			fprintf(stderr, "crypto: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

/* Random subscribers: K, OPc, AMF and SQN from the DRBG (distinct keys, so
 * every lane of a batch really expands its own schedule). */
static int
make_subs(struct crypto_run *r)
{
	unsigned n = r->o.nsubs;

	r->in = akv_calloc(n, sizeof(*r->in));
	r->ks = akv_calloc(n, sizeof(*r->ks));
	r->out = akv_calloc(r->o.batch, sizeof(*r->out));
	for (unsigned i = 0; i < n; i++) {
		struct akv_mil_in *s = &r->in[i];

		if (RAND_bytes(s->k, 16) != 1 || RAND_bytes(s->opc, 16) != 1 ||
		    RAND_bytes(s->rand, 16) != 1 || RAND_bytes(s->sqn, 6) != 1)
			return -1;
		s->amf[0] = 0x80; /* TS 33.102 Annex H: separation bit set */
		s->amf[1] = 0x00;
		akv_aes_expand(s->k, &r->ks[i]);
	}
	return 0;
}

/* Vectors per second of `impl` for one trial of `secs`. Batches walk the
 * subscriber table round-robin; each batch gets fresh RAND bytes (a counter,
 * the RNG is measured apart) the way a worker writes RANDs before a call. */
static double
trial_impl(struct crypto_run *r, const struct akv_mil_impl *impl, int precomputed, double secs)
{
	unsigned n = r->o.nsubs, b = r->o.batch, pos = 0;
	uint64_t c0, deadline, done = 0, ctr = 0, fold = 0;

	for (unsigned i = 0; i < n; i++)
		r->in[i].ks = precomputed ? &r->ks[i] : NULL;
	deadline = akv_bench_now_ns() + (uint64_t)(secs * 1e9);
	c0 = akv_bench_cpu_ns();
	do {
		unsigned m = b <= n - pos ? b : n - pos;

		for (unsigned i = 0; i < m; i++, ctr++)
			memcpy(r->in[pos + i].rand, &ctr, sizeof(ctr));
		impl->gen(&r->in[pos], r->out, m, AKV_MIL_VECTOR);
		fold ^= r->out[m - 1].mac_a[0] ^ r->out[0].res[0] ^ r->out[m / 2].ck[0];
		done += m;
		pos += m;
		if (pos == n)
			pos = 0;
	} while (akv_bench_now_ns() < deadline);
	sink ^= fold;
	return (double)done / ((double)(akv_bench_cpu_ns() - c0) / 1e9);
}

static double
best_impl(struct crypto_run *r, const struct akv_mil_impl *impl, int precomputed)
{
	double best = 0;

	for (int t = 0; t < TRIALS; t++) {
		double v = trial_impl(r, impl, precomputed, r->o.seconds / TRIALS);

		if (v > best)
			best = v;
	}
	return best;
}

/* RANDs per second: `mode` 0 = akv_rand_bytes for a whole batch at once,
 * 1 = akv_rand_bytes(16) per vector (its per-thread buffer), 2 = one OpenSSL
 * RAND_bytes(16) per vector (what the server must never do). */
static double
trial_rng(struct crypto_run *r, int mode, double secs)
{
	unsigned b = r->o.batch;
	uint8_t *buf = akv_malloc((size_t)b * 16);
	uint64_t c0, deadline, done = 0;
	double rate = -1;

	deadline = akv_bench_now_ns() + (uint64_t)(secs * 1e9);
	c0 = akv_bench_cpu_ns();
	do {
		if (mode == 0) {
			if (akv_rand_bytes(buf, (size_t)b * 16))
				goto out;
		} else {
			for (unsigned i = 0; i < b; i++)
				if (mode == 1 ? akv_rand_bytes(buf + 16 * i, 16) != 0
					      : RAND_bytes(buf + 16 * i, 16) != 1)
					goto out;
		}
		sink ^= buf[(size_t)b * 16 - 1];
		done += b;
	} while (akv_bench_now_ns() < deadline);
	rate = (double)done / ((double)(akv_bench_cpu_ns() - c0) / 1e9);
out:
	akv_free(buf);
	return rate;
}

static double
best_rng(struct crypto_run *r, int mode)
{
	double best = -1;

	for (int t = 0; t < TRIALS; t++) {
		double v = trial_rng(r, mode, r->o.seconds / TRIALS / 2);

		if (v > best)
			best = v;
	}
	return best;
}

static void
measure(struct crypto_run *r)
{
	static const char *const names[] = {"ref", "aesni", "vaes"};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *why = NULL;
		const struct akv_mil_impl *impl = akv_mil_by_name(names[i], &why);

		if (!impl) {
			r->skipped[r->nskip] = names[i];
			r->skip_why[r->nskip++] = why ? why : "unavailable";
			continue;
		}
		r->res[r->nres++] =
		    (struct impl_result){impl->name, "expanded", best_impl(r, impl, 0)};
		/* ref takes no schedule (TS 35.206 transcribed on EVP): one row only */
		if (strcmp(impl->name, "ref"))
			r->res[r->nres++] =
			    (struct impl_result){impl->name, "precomputed", best_impl(r, impl, 1)};
	}
	r->osmo_vps = -1;
	for (int t = 0; t < TRIALS; t++) {
		double v = akv_osmo_vectors_per_s(r->in, r->o.nsubs, r->o.seconds / TRIALS, &sink);

		if (v > r->osmo_vps)
			r->osmo_vps = v;
	}
	r->roof_isa = akv_roof_best_isa();
	r->roof_ok = akv_roof_selfcheck(r->roof_isa) == 0;
	r->roof_bps = 0;
	if (r->roof_ok)
		for (int t = 0; t < TRIALS; t++) {
			double v = akv_roof_blocks_per_s(r->roof_isa, r->o.seconds / TRIALS, &sink);

			if (v > r->roof_bps)
				r->roof_bps = v;
		}
	r->rng_bulk = best_rng(r, 0);
	r->rng_call = best_rng(r, 1);
	r->rng_openssl16 = best_rng(r, 2);
}

static const struct impl_result *
best_result(const struct crypto_run *r)
{
	const struct impl_result *best = NULL;

	for (unsigned i = 0; i < r->nres; i++)
		if (!best || r->res[i].vps > best->vps)
			best = &r->res[i];
	return best;
}

/* A positive figure, or JSON null when it could not be measured. */
static void
json_num(FILE *f, double v)
{
	if (v > 0)
		fprintf(f, "%.0f", v);
	else
		fputs("null", f);
}

static void
json_ratio(FILE *f, double v)
{
	if (v > 0)
		fprintf(f, "%.4g", v);
	else
		fputs("null", f);
}

static void
print_json(const struct crypto_run *r)
{
	const struct impl_result *best = best_result(r);
	double roof_vps = r->roof_bps / 5;
	/* a vector needs one RAND: kernel and bulk RNG time add up */
	double with_rng = best && r->rng_bulk > 0 ? 1 / (1 / best->vps + 1 / r->rng_bulk) : -1;

	printf("{\"cpu\":");
	akv_bench_json_str(stdout, akv_bench_cpu_model());
	printf(",\"pinned_cpu\":%d,\"subscribers\":%u,\"batch\":%u,\"seconds\":%g,\"impls\":[",
	       r->cpu, r->o.nsubs, r->o.batch, r->o.seconds);
	for (unsigned i = 0; i < r->nres; i++)
		printf("%s{\"name\":\"%s\",\"keys\":\"%s\",\"vectors_per_s\":%.0f}", i ? "," : "",
		       r->res[i].name, r->res[i].keys, r->res[i].vps);
	printf("],\"skipped\":[");
	for (unsigned i = 0; i < r->nskip; i++) {
		printf("%s{\"name\":\"%s\",\"why\":", i ? "," : "", r->skipped[i]);
		akv_bench_json_str(stdout, r->skip_why[i]);
		printf("}");
	}
	printf("],\"libosmocore_vectors_per_s\":");
	json_num(stdout, r->osmo_vps);
	printf(",\"roofline_isa\":\"%s\",\"roofline_keys\":%d,\"roofline_blocks_per_s\":",
	       akv_roof_isa_name(r->roof_isa), AKV_ROOF_KEYS);
	json_num(stdout, r->roof_bps);
	printf(",\"roofline_vectors_per_s\":");
	json_num(stdout, roof_vps);
	printf(",\"rng\":{\"akv_bulk_rands_per_s\":");
	json_num(stdout, r->rng_bulk);
	printf(",\"akv_per_vector_rands_per_s\":");
	json_num(stdout, r->rng_call);
	printf(",\"openssl_rand16_per_vector_rands_per_s\":");
	json_num(stdout, r->rng_openssl16);
	printf(",\"x_bulk_vs_rand16\":");
	json_ratio(stdout, r->rng_openssl16 > 0 ? r->rng_bulk / r->rng_openssl16 : -1);
	printf("},\"best\":");
	if (!best) {
		printf("null");
	} else {
		printf("{\"name\":\"%s\",\"keys\":\"%s\",\"vectors_per_s\":%.0f,\"x_libosmocore\":",
		       best->name, best->keys, best->vps);
		json_ratio(stdout, r->osmo_vps > 0 ? best->vps / r->osmo_vps : -1);
		printf(",\"pct_roofline\":");
		json_ratio(stdout, roof_vps > 0 ? 100 * best->vps / roof_vps : -1);
		printf(",\"with_rng_vectors_per_s\":");
		json_num(stdout, with_rng);
		printf("}");
	}
	printf("}\n");
}

static void
print_table(const struct crypto_run *r)
{
	const struct impl_result *best = best_result(r);
	double roof_vps = r->roof_bps / 5;

	printf("akavs-bench crypto: %s, pinned to CPU %d, %u subscribers, batch %u, "
	       "best of %d x %.2fs\n\n",
	       akv_bench_cpu_model(), r->cpu, r->o.nsubs, r->o.batch, TRIALS,
	       r->o.seconds / TRIALS);
	printf("%-28s %14s %12s %12s\n", "Milenage (5 AES/vector)", "vectors/s", "x libosmo",
	       "% roofline");
	for (unsigned i = 0; i < r->nres; i++) {
		char name[40];

		snprintf(name, sizeof(name), "%s, %s keys", r->res[i].name, r->res[i].keys);
		printf("%-28s %14.0f", name, r->res[i].vps);
		if (r->osmo_vps > 0)
			printf(" %11.1fx", r->res[i].vps / r->osmo_vps);
		else
			printf(" %12s", "-");
		if (roof_vps > 0)
			printf(" %11.1f%%\n", 100 * r->res[i].vps / roof_vps);
		else
			printf(" %12s\n", "-");
	}
	for (unsigned i = 0; i < r->nskip; i++)
		printf("%-28s %14s   (%s)\n", r->skipped[i], "skipped", r->skip_why[i]);
	if (r->osmo_vps > 0)
		printf("%-28s %14.0f %11.1fx\n", "libosmocore gen_vec", r->osmo_vps, 1.0);
	else
		printf("%-28s %14s   (built without libosmocore)\n", "libosmocore gen_vec", "n/a");
	if (r->roof_ok)
		printf("%-28s %14.0f   (%s, %d keys: %.0f AES blocks/s / 5)\n", "AES roofline",
		       roof_vps, akv_roof_isa_name(r->roof_isa), AKV_ROOF_KEYS, r->roof_bps);
	else
		printf("%-28s %14s   (no AES-NI, or self-check against OpenSSL failed)\n",
		       "AES roofline", "n/a");
	printf("\nRAND (16 bytes per vector)   %14s\n", "RANDs/s");
	printf("%-28s %14.0f\n", "akv_rand_bytes, bulk", r->rng_bulk);
	printf("%-28s %14.0f\n", "akv_rand_bytes(16) each", r->rng_call);
	printf("%-28s %14.0f   (never do this)\n", "RAND_bytes(16) each", r->rng_openssl16);
	if (best) {
		printf("\nbest: %s, %s keys: %.0f vectors/s", best->name, best->keys, best->vps);
		if (r->osmo_vps > 0)
			printf(" = %.1fx libosmocore", best->vps / r->osmo_vps);
		if (roof_vps > 0)
			printf(", %.1f%% of the roofline", 100 * best->vps / roof_vps);
		if (r->rng_bulk > 0)
			printf("; with bulk RAND %.0f vectors/s",
			       1 / (1 / best->vps + 1 / r->rng_bulk));
		printf("\n");
	}
}

/* see bench.h */
int
akv_bench_crypto(int argc, char **argv)
{
	struct crypto_run *r = akv_calloc(1, sizeof(*r));
	int rc = 1;

	if (parse_opts(argc, argv, &r->o))
		goto out;
	akv_crypto_init();
	r->cpu = akv_bench_pin(r->o.cpu);
	if (r->cpu < 0) {
		fprintf(stderr, "crypto: cannot pin to a CPU: %s\n", strerror(-r->cpu));
		goto out;
	}
	if (make_subs(r)) {
		fprintf(stderr, "crypto: the OpenSSL DRBG failed\n");
		goto out;
	}
	measure(r);
	if (r->o.json)
		print_json(r);
	else
		print_table(r);
	rc = 0;
out:
	if (r->in) {
		akv_wipe(r->in, (size_t)r->o.nsubs * sizeof(*r->in));
		akv_wipe(r->ks, (size_t)r->o.nsubs * sizeof(*r->ks));
		akv_wipe(r->out, (size_t)r->o.batch * sizeof(*r->out));
	}
	akv_free(r->in);
	akv_free(r->ks);
	akv_free(r->out);
	akv_free(r);
	return rc;
}

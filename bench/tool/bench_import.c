/*
 * bench_import.c - `akavs-bench import`: bulk CSV import rate into a fresh
 * LMDB store (subscribers/s), with a baseline measured in the same run: the
 * same records written through akv_store_add_batch without CSV (the store's
 * own cost), so the ratio shows what parsing and checking add.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#include "admin/csv.h"
#include "admin/import.h"
#include "akv_crypto.h"
#include "err.h"
#include "mem.h"
#include "store/store.h"

static double
now_s(void)
{
	return (double)akv_bench_now_ns() * 1e-9;
}

/* CPU time of this process: on the shared machine, wall time includes
 * whatever else runs; CPU time shows the work done (I/O waits excluded). */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Synthetic (never real) keys from a seeded PRNG. */
static void
fill_keys(uint64_t *seed, uint8_t k[16], uint8_t opc[16])
{
	uint64_t a = akv_bench_rand64(seed), b = akv_bench_rand64(seed);
	uint64_t c = akv_bench_rand64(seed), d = akv_bench_rand64(seed);

	memcpy(k, &a, 8);
	memcpy(k + 8, &b, 8);
	memcpy(opc, &c, 8);
	memcpy(opc + 8, &d, 8);
}

/* IMSI-style IMPI of an IMS network (TS 23.003 §13.3), and two IMPUs. */
#define IMPI_FMT "0010100%08zu@ims.mnc001.mcc001.3gppnetwork.org"
#define IMPU_FMT "sip:0010100%08zu@ims.mnc001.mcc001.3gppnetwork.org"

/* The CSV of n subscribers, in shuffled order (as a real export from
 * another system would be: the import must sort). */
static char *
gen_csv(size_t n, size_t *len)
{
	size_t cap = 64 + n * 240, o = 0;
	char *buf = akv_malloc(cap), k[33], opc[33];
	uint64_t seed = 0x5eed;
	size_t *perm = akv_malloc((n ? n : 1) * sizeof(*perm));

	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = akv_bench_rand64(&seed) % i, t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	o += (size_t)sprintf(buf, "%s\n", AKV_CSV_HEADER);
	for (size_t i = 0; i < n; i++) {
		uint8_t kb[16], ob[16];

		fill_keys(&seed, kb, ob);
		akv_hex_encode(kb, 16, k);
		akv_hex_encode(ob, 16, opc);
		o += (size_t)snprintf(buf + o, cap - o,
				      IMPI_FMT "," IMPU_FMT ";tel:+1555%08zu,%s,,%s,8000,%zx\n",
				      perm[i], perm[i], perm[i], k, opc, perm[i] * 32);
	}
	akv_free(perm);
	*len = o;
	return buf;
}

static int
gen_sub(void *arg, size_t i, struct akv_sub *s)
{
	uint64_t *seed = arg;
	int n;

	n = snprintf(s->impi, sizeof(s->impi), IMPI_FMT, i);
	s->impi_len = (uint16_t)n;
	n = snprintf(s->impu[0], sizeof(s->impu[0]), IMPU_FMT, i);
	s->impu_len[0] = (uint8_t)n;
	n = snprintf(s->impu[1], sizeof(s->impu[1]), "tel:+1555%08zu", i);
	s->impu_len[1] = (uint8_t)n;
	s->nimpu = 2;
	fill_keys(seed, s->k, s->opc);
	s->amf[0] = 0x80;
	s->amf[1] = 0;
	s->sqn = i * 32;
	s->schemes = AKV_STORE_SCHEMES_DEFAULT;
	s->fail_limit = 0;
	return 0;
}

/* Random lookups through one reader: per-get renew/reset (what a worker
 * does on a cache miss) or in snapshots of 256 gets (begin/end). Returns
 * gets per CPU-second, or 0 on error. */
static double
read_rate(struct akv_store *st, size_t n, size_t gets, int pinned, double *wall)
{
	struct akv_sub *s = akv_malloc(sizeof(*s));
	struct akv_store_reader *r;
	uint64_t seed = 0xbeef;
	double t0, c0, rate = 0;
	char impi[AKV_ID_MAX + 1];
	int e;

	r = akv_store_reader_new(st, &e);
	if (!r)
		goto out;
	t0 = now_s();
	c0 = cpu_s();
	for (size_t i = 0; i < gets; i++) {
		int len = snprintf(impi, sizeof(impi), IMPI_FMT, (size_t)(akv_bench_rand64(&seed) % n));

		if (pinned && i % 256 == 0) {
			akv_store_reader_end(r);
			if (akv_store_reader_begin(r))
				goto out;
		}
		if (akv_store_reader_get(r, impi, (size_t)len, s))
			goto out;
	}
	akv_store_reader_end(r);
	rate = (double)gets / (cpu_s() - c0);
	*wall = now_s() - t0;
out:
	akv_store_reader_free(r);
	akv_store_sub_wipe(s);
	akv_free(s);
	return rate;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: akavs-bench import [--n N] [--dir DIR] [--keep] [--json]\n"
		   "  Generates a CSV of N synthetic subscribers (default 1000000), imports it\n"
		   "  into a fresh store (one transaction, one fsync), and as the baseline\n"
		   "  writes the same records without CSV through akv_store_add_batch into\n"
		   "  another fresh store. Prints subscribers/s, phases and bytes/subscriber,\n"
		   "  then random reads through a reusable reader on the imported store.\n"
		   "  --dir DIR  where the temporary stores go (default $TMPDIR or /tmp)\n"
		   "  --keep     keep the stores (paths printed)\n");
}

static void
rm_store(const char *dir)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", dir);
	unlink(p);
	rmdir(dir);
}

static int
open_fresh(const char *base, const char *tag, char *dir, size_t cap, struct akv_store **st)
{
	int err;

	snprintf(dir, cap, "%s/akv-bench-%s-XXXXXX", base, tag);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "akavs-bench import: mkdtemp %s: %s\n", dir, strerror(errno));
		return -1;
	}
	*st = akv_store_open(dir, NULL, &err);
	if (!*st) {
		fprintf(stderr, "akavs-bench import: open %s: %s: %s\n", dir, akv_strerror(err),
			akv_store_errdetail());
		return -1;
	}
	return 0;
}

/* see bench.h */
int
akv_bench_import(int argc, char **argv)
{
	static const struct option lo[] = {
		{"n", required_argument, 0, 'n'}, {"dir", required_argument, 0, 'd'},
		{"keep", no_argument, 0, 'k'},    {"json", no_argument, 0, 'j'},
		{"help", no_argument, 0, 'h'},    {0, 0, 0, 0},
	};
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct akv_import_opts io = {0};
	struct akv_import_result res;
	struct akv_store_stats ss;
	struct akv_store *st = NULL, *st2 = NULL;
	char dir1[4096], dir2[4096];
	size_t n = 1000000, len = 0, bad = 0;
	double t0, c0, t_gen, t_imp, t_base, c_imp, c_base, rd1, rd2, w1 = 0, w2 = 0;
	int c, json = 0, keep = 0, rc = 1, e;
	uint64_t seed = 0x5eed;
	char *csv = NULL;
	struct stat sb;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);

			if (*end || v == 0 || v > 100000000ull) {
				fprintf(stderr, "akavs-bench import: --n must be 1..1e8\n");
				return 2;
			}
			n = (size_t)v;
			break;
		}
		case 'd': base = optarg; break;
		case 'k': keep = 1; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	dir1[0] = dir2[0] = 0;

	t0 = now_s();
	csv = gen_csv(n, &len);
	t_gen = now_s() - t0;

	/* The import under test: parse, duplicate checks, sorted write, commit. */
	if (open_fresh(base, "import", dir1, sizeof(dir1), &st))
		goto out;
	t0 = now_s();
	c0 = cpu_s();
	e = akv_import_buf(st, csv, len, &io, &res);
	t_imp = now_s() - t0;
	c_imp = cpu_s() - c0;
	if (e || res.imported != n) {
		fprintf(stderr, "akavs-bench import: import failed: %s: %s\n", akv_strerror(e),
			akv_store_errdetail());
		goto out;
	}
	if ((e = akv_store_stats(st, &ss))) {
		fprintf(stderr, "akavs-bench import: stats: %s\n", akv_strerror(e));
		goto out;
	}
	{
		char p[4200];

		snprintf(p, sizeof(p), "%s/data.mdb", dir1);
		if (stat(p, &sb))
			memset(&sb, 0, sizeof(sb));
	}
	rd1 = read_rate(st, n, n < 1000000 ? n : 1000000, 0, &w1);
	rd2 = read_rate(st, n, n < 1000000 ? n : 1000000, 1, &w2);
	akv_store_close(st);
	st = NULL;

	/* Baseline: the same write path without CSV (records made in memory,
	 * already in IMPI order), one transaction, one fsync. */
	if (open_fresh(base, "baseline", dir2, sizeof(dir2), &st2))
		goto out;
	t0 = now_s();
	c0 = cpu_s();
	e = akv_store_add_batch(st2, n, gen_sub, &seed, &bad);
	t_base = now_s() - t0;
	c_base = cpu_s() - c0;
	if (e) {
		fprintf(stderr, "akavs-bench import: baseline failed: %s: %s\n", akv_strerror(e),
			akv_store_errdetail());
		goto out;
	}
	rc = 0;
	if (json) {
		printf("{\"bench\":\"import\",\"subscribers\":%zu,\"csv_bytes\":%zu,"
		       "\"import_s\":%.3f,\"import_subs_per_s\":%.0f,\"parse_s\":%.3f,"
		       "\"check_s\":%.3f,\"write_s\":%.3f,\"baseline_s\":%.3f,"
		       "\"baseline_subs_per_s\":%.0f,\"ratio_import_vs_baseline\":%.3f,"
		       "\"store_bytes_per_sub\":%.0f,\"disk_bytes_per_sub\":%.0f,"
		       "\"generate_s\":%.3f,\"import_cpu_s\":%.3f,\"baseline_cpu_s\":%.3f,"
		       "\"import_subs_per_cpu_s\":%.0f,\"reader_gets_per_cpu_s\":%.0f,"
		       "\"reader_gets_per_cpu_s_snapshot256\":%.0f}\n",
		       n, len, t_imp, (double)n / t_imp, res.parse_s, res.check_s, res.write_s,
		       t_base, (double)n / t_base, t_base / t_imp,
		       (double)ss.data_bytes / (double)n,
		       (double)sb.st_blocks * 512.0 / (double)n, t_gen, c_imp, c_base,
		       (double)n / c_imp, rd1, rd2);
	} else {
		printf("import of %zu subscribers (%.1f MB CSV, shuffled, 2 IMPUs each)\n", n,
		       (double)len / 1e6);
		printf("  csv import:   %7.3f s  %10.0f subscribers/s  (parse+dups %.3f s, "
		       "store checks %.3f s, write+commit %.3f s)\n",
		       t_imp, (double)n / t_imp, res.parse_s, res.check_s, res.write_s);
		printf("  baseline:     %7.3f s  %10.0f subscribers/s  (add_batch, no CSV)\n",
		       t_base, (double)n / t_base);
		printf("  cpu time:     import %.3f s (%.0f subscribers per CPU-second), baseline "
		       "%.3f s\n", c_imp, (double)n / c_imp, c_base);
		printf("  ratio:        import at %.2f of the baseline rate (wall), %.2f (CPU)\n",
		       t_base / t_imp, c_base / c_imp);
		printf("  store:        %.0f bytes/subscriber in B-tree pages, %.0f on disk\n",
		       (double)ss.data_bytes / (double)n, (double)sb.st_blocks * 512.0 / (double)n);
		printf("  reader:       %.0f random gets per CPU-second (renew/reset each, %.2f s "
		       "wall), %.0f in snapshots of 256 (%.2f s wall)\n", rd1, w1, rd2, w2);
		printf("  (CSV generation %.3f s, not counted)\n", t_gen);
	}
out:
	akv_store_close(st);
	akv_store_close(st2);
	if (csv) {
		akv_wipe(csv, len);
		akv_free(csv);
	}
	if (keep) {
		fprintf(stderr, "kept %s %s\n", dir1, dir2);
	} else {
		if (dir1[0])
			rm_store(dir1);
		if (dir2[0])
			rm_store(dir2);
	}
	return rc;
}

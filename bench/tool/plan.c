/*
 * plan.c - `akavs-bench plan`: turns a measured rate into capacity.
 *
 * Every registered UE re-authenticates at each re-registration, so the
 * average load is subscribers / interval authentications per second; after
 * an outage the whole population re-registers at once, which the storm
 * factor models (DESIGN.md: hundreds of thousands per second). Each
 * authentication costs `requests per auth` server requests (1 challenge, +1
 * when the S-CSCF also verifies through akavs) or, when the rate is Milenage
 * vectors/s, `vectors per auth` vectors. A rate of whole registrations (`load
 * --diameter --op register`: MAR + SAR each, as an S-CSCF runs them, so the
 * server's SAR path and its store commits are in the rate) is planned in
 * registrations: one per re-registration. Cores = storm load / (rate per
 * core x (1 - headroom)); boxes = cores / cores per box, plus one spare (N+1).
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "mem.h"

struct plan {
	double subs, interval, storm, vpa, rpa, headroom, cores_per_box, measured_cores;
	double rate;	    /* per core, in `unit` */
	const char *unit;   /* "requests", "vectors" or "registrations" */
	const char *source; /* where the rate came from */
	const char *sweep, *plot;
	int json;
};

static void
usage(FILE *f)
{
	fprintf(
	    f, "usage: akavs-bench plan (--rate R | --from FILE.json) --subs N --interval SECONDS\n"
	       "                        --storm FACTOR [options]\n"
	       "  --rate R               requests/s one core sustains (e.g. from `load`)\n"
	       "  --unit U               what --rate counts: requests (default), vectors or\n"
	       "                         registrations (MAR + SAR each)\n"
	       "  --from FILE.json       a saved --json of `load` (registrations_per_s of\n"
	       "                         --op register, else requests_per_s), `engine`\n"
	       "                         (challenges_per_s_cpu) or `crypto` (best.vectors_per_s)\n"
	       "  --measured-cores C     server cores behind that measurement (default 1)\n"
	       "  --subs N               registered subscribers (k/M/G suffixes ok)\n"
	       "  --interval SECONDS     re-registration interval (e.g. 3600)\n"
	       "  --storm FACTOR         peak / average authentication rate (e.g. 100)\n"
	       "  --vectors-per-auth V   vectors fetched per authentication (default 1)\n"
	       "  --requests-per-auth Q  server requests per authentication (default 1;\n"
	       "                         2 when the S-CSCF verifies through akavs; not with\n"
	       "                         a rate of registrations, which counts whole ones)\n"
	       "  --headroom PCT         capacity kept unused (default 30)\n"
	       "  --cores-per-box C      worker cores per box (default 16)\n"
	       "  --sweep FILE --plot FILE.png   plot throughput vs p99 from `load --sweep-out`\n"
	       "  --json                 one JSON object on stdout\n");
}

/* Reads the number after "key": in the JSON text (after `from` if non-NULL). */
static int
json_number(const char *text, const char *from, const char *key, double *out)
{
	char pat[64];
	const char *p = text;

	if (from) {
		p = strstr(text, from);
		if (!p)
			return -1;
	}
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(p, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	errno = 0;
	*out = strtod(p, NULL);
	return errno || !(*out > 0) ? -1 : 0;
}

static int
load_from(struct plan *pl, const char *path)
{
	FILE *f = fopen(path, "r");
	char *text;
	size_t n;
	double v;
	int rc = 0;

	if (!f) {
		fprintf(stderr, "plan: %s: %s\n", path, strerror(errno));
		return -1;
	}
	text = akv_malloc(1 << 20);
	n = fread(text, 1, (1 << 20) - 1, f);
	text[n] = 0;
	fclose(f);
	if (strstr(text, "\"registrations_per_s\":")) {
		/* `load --op register`: the rate to plan with is whole registrations */
		if (json_number(text, NULL, "registrations_per_s", &v)) {
			fprintf(stderr, "plan: %s: registrations_per_s is not above 0\n", path);
			rc = -1;
		}
		pl->unit = "registrations";
		pl->source = "load --op register registrations_per_s";
	} else if (!json_number(text, NULL, "challenges_per_s_cpu", &v) ||
	    !json_number(text, NULL, "challenges_per_s", &v)) {
		pl->unit = "requests";
		pl->source = "engine challenges_per_s";
	} else if (!json_number(text, NULL, "requests_per_s", &v)) {
		pl->unit = "requests";
		pl->source = "load requests_per_s";
	} else if (!json_number(text, "\"best\":", "vectors_per_s", &v)) {
		pl->unit = "vectors";
		pl->source = "crypto best.vectors_per_s";
	} else {
		fprintf(stderr,
			"plan: %s has no challenges_per_s, requests_per_s or "
			"best.vectors_per_s\n",
			path);
		rc = -1;
	}
	if (!rc)
		pl->rate = v;
	akv_free(text);
	return rc;
}

static int
parse_opts(int argc, char **argv, struct plan *pl)
{
	static const struct {
		const char *name;
		size_t off;
		double min, max;
	} nums[] = {
	    {"--rate", offsetof(struct plan, rate), 1e-3, 1e12},
	    {"--measured-cores", offsetof(struct plan, measured_cores), 1, 1e6},
	    {"--subs", offsetof(struct plan, subs), 1, 1e12},
	    {"--interval", offsetof(struct plan, interval), 1, 1e9},
	    {"--storm", offsetof(struct plan, storm), 1, 1e9},
	    {"--vectors-per-auth", offsetof(struct plan, vpa), 1, 32},
	    {"--requests-per-auth", offsetof(struct plan, rpa), 1, 100},
	    {"--headroom", offsetof(struct plan, headroom), 0, 95},
	    {"--cores-per-box", offsetof(struct plan, cores_per_box), 1, 1e5},
	};
	const char *from = NULL, *unit = NULL;

	memset(pl, 0, sizeof(*pl));
	pl->vpa = 1;
	pl->rpa = 1;
	pl->headroom = 30;
	pl->cores_per_box = 16;
	pl->measured_cores = 1;
	pl->unit = "requests";
	pl->source = "--rate";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t k;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(a, "--json")) {
			pl->json = 1;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "plan: unknown or incomplete option '%s'\n", a);
			return -1;
		}
		if (!strcmp(a, "--from")) {
			from = argv[++i];
			continue;
		} else if (!strcmp(a, "--unit")) {
			unit = argv[++i];
			if (strcmp(unit, "requests") && strcmp(unit, "vectors") &&
			    strcmp(unit, "registrations")) {
				fprintf(stderr, "plan: --unit is requests, vectors or registrations\n");
				return -1;
			}
			continue;
		} else if (!strcmp(a, "--sweep")) {
			pl->sweep = argv[++i];
			continue;
		} else if (!strcmp(a, "--plot")) {
			pl->plot = argv[++i];
			continue;
		}
		for (k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
			if (!strcmp(a, nums[k].name))
				break;
		if (k == sizeof(nums) / sizeof(nums[0])) {
			fprintf(stderr, "plan: unknown option '%s'\n", a);
			usage(stderr);
			return -1;
		}
		{
			double v;

			if (akv_bench_parse_num(argv[++i], &v) || v < nums[k].min ||
			    v > nums[k].max) {
				fprintf(stderr, "plan: bad value '%s' for %s (%g..%g)\n", argv[i],
					a, nums[k].min, nums[k].max);
				return -1;
			}
			*(double *)((char *)pl + nums[k].off) = v;
		}
	}
	if (from && unit) {
		fprintf(stderr, "plan: --unit goes with --rate (--from reads the unit)\n");
		return -1;
	}
	if (unit)
		pl->unit = unit;
	if (from && load_from(pl, from))
		return -1;
	if (!strcmp(pl->unit, "registrations") && pl->rpa != 1) {
		fprintf(stderr, "plan: a rate of registrations counts whole ones (MAR + SAR): "
				"--requests-per-auth does not apply\n");
		return -1;
	}
	if (!(pl->rate > 0) || !(pl->subs > 0) || !(pl->interval > 0) || !(pl->storm > 0)) {
		fprintf(stderr, "plan: --rate (or --from), --subs, --interval and --storm are "
				"required\n");
		usage(stderr);
		return -1;
	}
	if (!!pl->sweep != !!pl->plot) {
		fprintf(stderr, "plan: --sweep and --plot go together\n");
		return -1;
	}
	return 0;
}

/* Draws requests/s vs p99 from a sweep file with gnuplot. Returns 0, 1 when
 * gnuplot is not installed (a note, not an error), or -1. */
static int
plot(const struct plan *pl)
{
	FILE *g;
	int st;

	if (access(pl->sweep, R_OK)) {
		fprintf(stderr, "plan: %s: %s\n", pl->sweep, strerror(errno));
		return -1;
	}
	if (system("command -v gnuplot >/dev/null 2>&1")) {
		fprintf(stderr,
			"plan: gnuplot not installed: no plot (apt-get install gnuplot-nox)\n");
		return 1;
	}
	g = popen("gnuplot", "w");
	if (!g)
		return -1;
	/* file names are passed as gnuplot strings: refuse quotes in them */
	if (strchr(pl->sweep, '"') || strchr(pl->plot, '"')) {
		pclose(g);
		fprintf(stderr, "plan: file names with '\"' are not supported\n");
		return -1;
	}
	fprintf(g,
		"set terminal pngcairo size 900,600 noenhanced\n"
		"set output \"%s\"\n"
		"set title \"akavs: throughput vs p99 latency (load --sweep over depth)\"\n"
		"set xlabel \"requests/s\"\nset ylabel \"latency (us)\"\n"
		"set logscale y\nset grid\nset key left top\n"
		"plot \"%s\" using 3:5 with linespoints title \"p99\", "
		"\"%s\" using 3:4 with linespoints title \"p50\", "
		"\"%s\" using 3:5:1 with labels offset 0,1 notitle\n",
		pl->plot, pl->sweep, pl->sweep, pl->sweep);
	st = pclose(g);
	if (st) {
		fprintf(stderr, "plan: gnuplot failed (status %d)\n", st);
		return -1;
	}
	return 0;
}

/* see bench.h */
int
akv_bench_plan(int argc, char **argv)
{
	struct plan pl;
	double avg, peak, cost, per_core, cores, boxes, util;
	int prc = 0, regs;

	if (parse_opts(argc, argv, &pl))
		return 2;
	regs = !strcmp(pl.unit, "registrations");
	/* each re-registration is one authentication (and, in a rate of
	 * registrations, one MAR + one SAR) */
	avg = pl.subs / pl.interval;
	peak = avg * pl.storm;
	cost = regs ? 1 : strcmp(pl.unit, "vectors") ? pl.rpa : pl.vpa; /* units of rate per auth */
	per_core = pl.rate / pl.measured_cores / cost;			 /* auths/s per core */
	cores = ceil(peak / (per_core * (1 - pl.headroom / 100)));
	if (cores < 1)
		cores = 1;
	boxes = ceil(cores / pl.cores_per_box);
	util = 100 * peak / (cores * per_core);
	if (pl.plot)
		prc = plot(&pl);
	if (pl.json) {
		printf("{\"subscribers\":%.0f,\"interval_s\":%g,\"storm_factor\":%g,"
		       "\"vectors_per_auth\":%g,\"requests_per_auth\":%g,\"headroom_pct\":%g,"
		       "\"rate_source\":\"%s\",\"rate_unit\":\"%s\",\"planned_in\":\"%s\","
		       "\"rate_per_core\":%.0f,"
		       "\"auths_per_s_per_core\":%.0f,\"auths_per_s_avg\":%.1f,"
		       "\"auths_per_s_storm\":%.1f,\"vectors_per_s_storm\":%.1f,",
		       pl.subs, pl.interval, pl.storm, pl.vpa, regs ? 2 : pl.rpa, pl.headroom,
		       pl.source, pl.unit, regs ? "registrations" : "authentications",
		       pl.rate / pl.measured_cores, per_core, avg, peak, peak * pl.vpa);
		if (regs)
			printf("\"registrations_per_s_avg\":%.1f,\"registrations_per_s_storm\":%.1f,"
			       "\"mars_per_s_storm\":%.1f,\"sars_per_s_storm\":%.1f,",
			       avg, peak, peak, peak);
		printf("\"cores\":%.0f,\"cores_per_box\":%g,\"boxes\":%.0f,\"boxes_n_plus_1\":%.0f,"
		       "\"storm_utilisation_pct\":%.1f,\"plot\":",
		       cores, pl.cores_per_box, boxes, boxes + 1, util);
		if (pl.plot && !prc)
			akv_bench_json_str(stdout, pl.plot);
		else
			printf("null");
		printf("}\n");
	} else {
		const char *what = regs ? "registrations" : "authentications";
		char label[40];

		printf("capacity plan in %s/s (rate: %.0f %s/s per core, from %s)\n", what,
		       pl.rate / pl.measured_cores, pl.unit, pl.source);
		printf("  %-34s %.0f\n", "subscribers", pl.subs);
		printf("  %-34s %g s\n", "re-registration interval", pl.interval);
		snprintf(label, sizeof(label), "%s, average", what);
		printf("  %-34s %.1f /s\n", label, avg);
		snprintf(label, sizeof(label), "%s, storm", what);
		printf("  %-34s %.1f /s (x%g)\n", label, peak, pl.storm);
		if (regs)
			printf("  %-34s %.1f MAR/s + %.1f SAR/s\n", "Diameter requests, storm", peak,
			       peak);
		printf("  %-34s %.1f /s (%g per auth)\n", "vectors, storm", peak * pl.vpa, pl.vpa);
		snprintf(label, sizeof(label), "%s per core", what);
		printf("  %-34s %.0f /s\n", label, per_core);
		printf("  %-34s %.0f (%g%% headroom; storm uses %.1f%%)\n", "cores needed", cores,
		       pl.headroom, util);
		printf("  %-34s %.0f, %.0f with a spare (N+1), %g cores each\n", "boxes", boxes,
		       boxes + 1, pl.cores_per_box);
		if (pl.plot && !prc)
			printf("  plot: %s\n", pl.plot);
	}
	return prc < 0 ? 1 : 0;
}

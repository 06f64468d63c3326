/*
 * cmd_milenage.c - `akavs milenage`: Milenage outputs (TS 35.206) for
 * operators and test labs, like osmo-auc-gen plus f1* and f5*.
 *
 * Single shot: keys on the command line, one set of outputs (human table or
 * JSON). It runs the reference implementation (the oracle) unless --impl
 * names another. Batch: lines `K OPc RAND SQN AMF` on stdin, one tab-separated
 * output line each, computed by the fastest kernel 1024 lines at a time.
 *
 * Error texts name the flag or field and what is wrong with it, never the
 * value (it may be a K). Buffers that held K, OPc or outputs are wiped.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akv_crypto.h"
#include "cmds.h"
#include "mem.h"

#define EXIT_USAGE 2
#define BATCH_LINES 1024 /* lines per kernel call in --batch */
#define LINE_CAP 1024	 /* longest accepted --batch line, in bytes */

static const char prog[] = "akavs milenage";

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: akavs milenage --k HEX (--op HEX | --opc HEX) --rand HEX --sqn HEX --amf HEX\n"
	    "                      [--json] [--impl NAME]\n"
	    "       akavs milenage --batch [--impl NAME] < lines\n"
	    "\n"
	    "Computes the TS 35.206 Milenage outputs for one subscriber and RAND: OPc, MAC-A "
	    "(f1),\n"
	    "MAC-S (f1*), RES (f2), CK (f3), IK (f4), AK (f5), AK* (f5*) and\n"
	    "AUTN = (SQN ^ AK) || AMF || MAC-A (TS 33.102 6.3.2).\n"
	    "\n"
	    "  --k HEX      subscriber key K, 32 hex digits\n"
	    "  --op HEX     operator variant OP, 32 hex digits (OPc is derived)\n"
	    "  --opc HEX    OPc, 32 hex digits (instead of --op)\n"
	    "  --rand HEX   RAND, 32 hex digits\n"
	    "  --sqn HEX    SQN, 12 hex digits\n"
	    "  --amf HEX    AMF, 4 hex digits (use 0000 for the MAC-S of an AUTS)\n"
	    "  --json       print one JSON object: opc mac_a mac_s res ck ik ak ak_s autn\n"
	    "  --impl NAME  Milenage backend: ref, aesni or vaes (single shot default: ref;\n"
	    "               --batch default: the fastest this CPU runs, or $AKV_CRYPTO_IMPL)\n"
	    "  --batch      read lines 'K OPc RAND SQN AMF' (hex, whitespace-separated; blank\n"
	    "               lines and lines starting with # are skipped) from stdin and write\n"
	    "               'MAC-A MAC-S RES CK IK AK AK*' per line, tab-separated. A malformed\n"
	    "               line is reported on stderr as 'line N: ...', produces no output\n"
	    "               line, and makes the exit status 1; other lines are still answered.\n"
	    "  --help       this text\n"
	    "\n"
	    "Keys given as arguments are visible to other local users (ps); --batch keeps them\n"
	    "off the command line.\n"
	    "Exit status: 0 success, 1 bad input line or backend unavailable, 2 usage error.\n");
}

/* ==== Command line ==== */

struct opts {
	const char *k, *op, *opc, *rand, *sqn, *amf, *impl;
	int json, batch;
};

struct value_flag {
	const char *name;
	size_t off; /* offset of the `const char *` slot in struct opts */
};

static const struct value_flag value_flags[] = {
    {"--k", offsetof(struct opts, k)},	     {"--op", offsetof(struct opts, op)},
    {"--opc", offsetof(struct opts, opc)},   {"--rand", offsetof(struct opts, rand)},
    {"--sqn", offsetof(struct opts, sqn)},   {"--amf", offsetof(struct opts, amf)},
    {"--impl", offsetof(struct opts, impl)},
};

/* Returns 1 when parsing should stop with exit 0 (--help), 0 on success,
 * -1 on a usage error (already reported). */
static int
parse_args(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		size_t name_len;
		const struct value_flag *vf = NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 1;
		}
		if (!strcmp(a, "--json") || !strcmp(a, "--batch")) {
			int *flag = a[2] == 'j' ? &o->json : &o->batch;

			if (*flag) {
				fprintf(stderr, "%s: %s given twice\n", prog, a);
				return -1;
			}
			*flag = 1;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			/* do not echo it: a stray positional argument may well be a key */
			fprintf(stderr, "%s: unexpected argument #%d (options start with --)\n",
				prog, i);
			return -1;
		}
		eq = strchr(a, '=');
		name_len = eq ? (size_t)(eq - a) : strlen(a);
		for (size_t j = 0; j < sizeof(value_flags) / sizeof(value_flags[0]); j++)
			if (strlen(value_flags[j].name) == name_len &&
			    !strncmp(a, value_flags[j].name, name_len))
				vf = &value_flags[j];
		if (!vf) {
			fprintf(stderr, "%s: unknown option '%.*s' (see --help)\n", prog,
				(int)(name_len > 40 ? 40 : name_len), a);
			return -1;
		}
		{
			const char **slot = (const char **)((char *)o + vf->off);
			const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);

			if (*slot) {
				fprintf(stderr, "%s: %s given twice\n", prog, vf->name);
				return -1;
			}
			if (!val || !strncmp(val, "--", 2)) {
				fprintf(stderr, "%s: %s needs a value\n", prog, vf->name);
				return -1;
			}
			*slot = val;
		}
	}
	return 0;
}

static int
hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Describes what is wrong with hex field s (len chars) that must hold n bytes,
 * into why; returns 0 and fills out when it is fine. Never quotes the value. */
static int
parse_hex(const char *s, size_t len, uint8_t *out, size_t n, char *why, size_t why_cap)
{
	if (len != 2 * n) {
		snprintf(why, why_cap, "expected %zu hex digits (%zu bytes), got %zu characters",
			 2 * n, n, len);
		return -1;
	}
	if (akv_hex_decode(s, len, out, n) == 0)
		return 0;
	/* only on failure: find which character to name */
	akv_wipe(out, n);
	for (size_t i = 0; i < len; i++) {
		if (!hex_digit(s[i])) {
			snprintf(why, why_cap, "character %zu is not a hex digit", i + 1);
			return -1;
		}
	}
	snprintf(why, why_cap, "not hexadecimal");
	return -1;
}

/* Picks the backend: --impl, else `dflt` (NULL = the fastest after init, which
 * honours AKV_CRYPTO_IMPL). Returns NULL after reporting; *status is the exit code. */
static const struct akv_mil_impl *
pick_impl(const char *name, const struct akv_mil_impl *dflt, int *status)
{
	const struct akv_mil_impl *impl;
	const char *why = "unknown";
	int rc = akv_crypto_init();

	if (name) {
		impl = akv_mil_by_name(name, &why);
		if (!impl) {
			int known =
			    !strcmp(name, "ref") || !strcmp(name, "aesni") || !strcmp(name, "vaes");

			fprintf(stderr, "%s: --impl %.16s: %s\n", prog, name, why);
			*status = known ? 1 : EXIT_USAGE;
		}
		return impl;
	}
	if (dflt)
		return dflt;
	if (rc != 0) {
		/* AKV_CRYPTO_IMPL forced a backend this CPU cannot run: say so, do
		 * not silently measure or answer with another one */
		const char *env = getenv("AKV_CRYPTO_IMPL");

		akv_mil_by_name(env ? env : "", &why);
		fprintf(stderr, "%s: AKV_CRYPTO_IMPL=%.16s: %s\n", prog, env ? env : "", why);
		*status = 1;
		return NULL;
	}
	return akv_mil_best();
}

/* ==== Single shot ==== */

struct single {
	struct akv_mil_in in;
	struct akv_mil_out out;
	uint8_t op[16], autn[16];
};

static void
print_single(const struct single *s, int json)
{
	/* label, JSON name, bytes */
	const struct {
		const char *label, *key;
		const uint8_t *p;
		size_t n;
	} rows[] = {
	    {"OPc", "opc", s->in.opc, 16},	 {"MAC-A", "mac_a", s->out.mac_a, 8},
	    {"MAC-S", "mac_s", s->out.mac_s, 8}, {"RES", "res", s->out.res, 8},
	    {"CK", "ck", s->out.ck, 16},	 {"IK", "ik", s->out.ik, 16},
	    {"AK", "ak", s->out.ak, 6},		 {"AK*", "ak_s", s->out.ak_s, 6},
	    {"AUTN", "autn", s->autn, 16},
	};
	char hex[33];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		akv_hex_encode(rows[i].p, rows[i].n, hex);
		if (json)
			printf("%s\"%s\": \"%s\"", i ? ", " : "{", rows[i].key, hex);
		else
			printf("%-6s %s\n", rows[i].label, hex);
	}
	if (json)
		printf("}\n");
	akv_wipe(hex, sizeof(hex));
}

static int
run_single(const struct opts *o)
{
	struct single s;
	const struct akv_mil_impl *impl;
	char why[96];
	int status = 0;
	const struct {
		const char *flag, *val;
		uint8_t *dst;
		size_t n;
	} fields[] = {
	    {"--k", o->k, s.in.k, 16},	     {"--op", o->op, s.op, 16},
	    {"--opc", o->opc, s.in.opc, 16}, {"--rand", o->rand, s.in.rand, 16},
	    {"--sqn", o->sqn, s.in.sqn, 6},  {"--amf", o->amf, s.in.amf, 2},
	};

	memset(&s, 0, sizeof(s));
	if (o->op && o->opc) {
		fprintf(stderr, "%s: --op and --opc are exclusive (give one)\n", prog);
		return EXIT_USAGE;
	}
	{
		const char *const required[][2] = {
		    {"--k", o->k},	 {"--op or --opc", o->op ? o->op : o->opc},
		    {"--rand", o->rand}, {"--sqn", o->sqn},
		    {"--amf", o->amf},
		};

		for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
			if (!required[i][1]) {
				fprintf(stderr, "%s: missing %s (see --help)\n", prog,
					required[i][0]);
				return EXIT_USAGE;
			}
		}
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (fields[i].val && parse_hex(fields[i].val, strlen(fields[i].val), fields[i].dst,
					       fields[i].n, why, sizeof(why))) {
			fprintf(stderr, "%s: %s: %s\n", prog, fields[i].flag, why);
			status = EXIT_USAGE;
			goto out;
		}
	}
	impl = pick_impl(o->impl, akv_mil_ref_get(), &status);
	if (!impl)
		goto out;
	/* TS 35.206 §4.1: OPc = OP ^ E_K(OP) */
	if (o->op)
		akv_mil_opc(s.in.k, s.op, s.in.opc);
	impl->gen(&s.in, &s.out, 1, AKV_MIL_ALL);
	akv_mil_autn(s.in.sqn, s.out.ak, s.in.amf, s.out.mac_a, s.autn);
	print_single(&s, o->json);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write error: %s\n", prog, strerror(errno));
		status = 1;
	}
out:
	akv_wipe(&s, sizeof(s));
	return status;
}

/* ==== Batch ==== */

struct batch {
	struct akv_mil_in in[BATCH_LINES];
	struct akv_mil_out out[BATCH_LINES];
	size_t n;
};

static const struct {
	const char *name;
	size_t n;
	size_t off; /* offset of the destination in struct akv_mil_in */
} batch_fields[] = {
    {"K", 16, offsetof(struct akv_mil_in, k)},	     {"OPc", 16, offsetof(struct akv_mil_in, opc)},
    {"RAND", 16, offsetof(struct akv_mil_in, rand)}, {"SQN", 6, offsetof(struct akv_mil_in, sqn)},
    {"AMF", 2, offsetof(struct akv_mil_in, amf)},
};

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Parses one line (no newline) into *in. Returns 1 for a line to answer, 0 for
 * a blank or comment line, -1 after reporting what is wrong. */
static int
parse_line(const char *line, size_t len, size_t lineno, struct akv_mil_in *in)
{
	const char *tok[6];
	size_t tok_len[6], ntok = 0, i = 0;
	char why[96];

	while (i < len && is_space(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	while (i < len) {
		size_t start = i;

		while (i < len && !is_space(line[i]))
			i++;
		if (ntok < 6) {
			tok[ntok] = line + start;
			tok_len[ntok] = i - start;
		}
		ntok++;
		while (i < len && is_space(line[i]))
			i++;
	}
	if (ntok != 5) {
		fprintf(stderr, "line %zu: expected 5 fields (K OPc RAND SQN AMF), got %zu\n",
			lineno, ntok);
		return -1;
	}
	memset(in, 0, sizeof(*in));
	for (size_t f = 0; f < 5; f++) {
		if (parse_hex(tok[f], tok_len[f], (uint8_t *)in + batch_fields[f].off,
			      batch_fields[f].n, why, sizeof(why))) {
			fprintf(stderr, "line %zu: field %zu (%s): %s\n", lineno, f + 1,
				batch_fields[f].name, why);
			akv_wipe(in, sizeof(*in));
			return -1;
		}
	}
	return 1;
}

/* Writes n bytes as hex at *p followed by sep, advancing *p. */
static void
put_hex(char **p, const uint8_t *bytes, size_t n, char sep)
{
	akv_hex_encode(bytes, n, *p);
	*p += 2 * n;
	*(*p)++ = sep;
}

/* Computes and prints the pending lines, in input order. */
static void
flush_batch(const struct akv_mil_impl *impl, struct batch *b)
{
	/* MAC-A MAC-S RES CK IK AK AK*: 3 * 16 + 2 * 32 + 2 * 12 hex digits, 7 separators */
	char line[3 * 16 + 2 * 32 + 2 * 12 + 7 + 1];

	if (!b->n)
		return;
	impl->gen(b->in, b->out, b->n, AKV_MIL_ALL);
	for (size_t i = 0; i < b->n; i++) {
		const struct akv_mil_out *o = &b->out[i];
		char *p = line;

		put_hex(&p, o->mac_a, 8, '\t');
		put_hex(&p, o->mac_s, 8, '\t');
		put_hex(&p, o->res, 8, '\t');
		put_hex(&p, o->ck, 16, '\t');
		put_hex(&p, o->ik, 16, '\t');
		put_hex(&p, o->ak, 6, '\t');
		put_hex(&p, o->ak_s, 6, '\n');
		fwrite(line, 1, (size_t)(p - line), stdout);
	}
	akv_wipe(line, sizeof(line));
	akv_wipe(b, sizeof(*b));
}

static int
run_batch(const struct opts *o)
{
	const struct akv_mil_impl *impl;
	struct batch *b;
	char *line;
	size_t lineno = 0;
	int status = 0, bad = 0, eof = 0;

	if (o->k || o->op || o->opc || o->rand || o->sqn || o->amf || o->json) {
		fprintf(stderr,
			"%s: --batch reads K OPc RAND SQN AMF from stdin; only --impl may "
			"go with it\n",
			prog);
		return EXIT_USAGE;
	}
	impl = pick_impl(o->impl, NULL, &status);
	if (!impl)
		return status;
	b = akv_calloc(1, sizeof(*b));
	line = akv_malloc(LINE_CAP + 1);
	while (!eof) {
		size_t len = 0;
		int c, too_long = 0, nul = 0, r;

		/* one line, of any length, read in bounded memory; NUL bytes are errors */
		while ((c = getc_unlocked(stdin)) != EOF && c != '\n') {
			if (c == 0)
				nul = 1;
			if (len < LINE_CAP)
				line[len++] = (char)c;
			else
				too_long = 1;
		}
		if (c == EOF) {
			eof = 1;
			if (len == 0 && !too_long)
				break;
		}
		lineno++;
		if (too_long) {
			fprintf(stderr, "line %zu: longer than %d bytes\n", lineno, LINE_CAP);
			r = -1;
		} else if (nul) {
			fprintf(stderr, "line %zu: contains a NUL byte\n", lineno);
			r = -1;
		} else {
			r = parse_line(line, len, lineno, &b->in[b->n]);
		}
		akv_wipe(line, len);
		if (r < 0)
			bad = 1;
		else if (r > 0 && ++b->n == BATCH_LINES)
			flush_batch(impl, b);
	}
	flush_batch(impl, b);
	if (ferror(stdin)) {
		fprintf(stderr, "%s: read error on stdin\n", prog);
		bad = 1;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write error: %s\n", prog, strerror(errno));
		bad = 1;
	}
	akv_wipe(b, sizeof(*b));
	akv_free(b);
	akv_free(line);
	return bad ? 1 : 0;
}

/* ==== Entry ==== */

int
akv_cmd_milenage(int argc, char **argv)
{
	struct opts o;
	int rc = parse_args(argc, argv, &o);

	if (rc > 0)
		return 0;
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (rc < 0)
		return EXIT_USAGE;
	return o.batch ? run_batch(&o) : run_single(&o);
}

/* cmd_sub.c - `akavs sub add|set|del|show|list|import|export`. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/csv.h"
#include "admin/import.h"
#include "akv_crypto.h"
#include "cmds.h"
#include "err.h"
#include "mem.h"

struct subopts {
	const char *db;
	uint64_t map_size;
	const char *key_file;	/* --master-key-file: the store is sealed */
	const char *impi, *impu, *k, *op, *opc, *amf, *sqn, *fail_limit, *schemes;
	int reveal, json, skip_bad, extended, dry_run;
	int nargs;
	char **args;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: akavs sub add --impi X --impu Y[,Z...] --k HEX (--op HEX | --opc HEX)\n"
		"                    [--amf HEX] [--sqn HEX] [--fail-limit N] [--schemes LIST]\n"
		"       akavs sub set --impi X [any add option: changes only those given]\n"
		"       akavs sub del --impi X\n"
		"       akavs sub show (--impi X | --impu Y) [--reveal-keys] [--json]\n"
		"       akavs sub list [--json]\n"
		"       akavs sub import FILE|- [--skip-bad] [--dry-run]\n"
		"       akavs sub export [FILE] [--extended]\n"
		"common: --db DIR (default %s), --map-size SIZE (grow the map), --help,\n"
		"        --master-key-file FILE (the store's K/OPc are encrypted at rest under\n"
		"        this key; a new store is created sealed; see `akavs db --help`)\n"
		"\n"
		"  --impu     public identities, comma-separated (set: replaces the list)\n"
		"  --k        K, 32 hex digits; --op is converted to OPc (TS 35.206 4.1); set\n"
		"             --k needs --op or --opc too (OPc depends on K)\n"
		"  --amf      4 hex digits (default %04x); --sqn initial SQN, 1..12 hex digits\n"
		"  --schemes  akav1,akav2 (default both); --fail-limit: consecutive failures\n"
		"             before DEREGISTER (0 = server configuration)\n"
		"  show prints K/OPc only with --reveal-keys. Keys given on the command line are\n"
		"  visible to other local users (ps): prefer import from a 0600 file.\n"
		"\n"
		"CSV (import/export): header '%s', impus separated by ';',\n"
		"  exactly one of op/opc, amf/sqn optional hex. Extended header adds\n"
		"  ',schemes,fail_limit' (export --extended). Import is all-or-nothing and\n"
		"  reports every bad line as 'line N: reason'; --skip-bad imports the good lines.\n"
		"  Export is a backup with keys (file created 0600; sqn = max(operator SQN,\n"
		"  reserved SQN)).\n"
		"exit: 0 ok, 1 failure (nothing changed), 2 usage, 3 --skip-bad skipped lines\n",
		AKV_STORE_DEFAULT_DIR, AKV_CSV_AMF_DEFAULT, AKV_CSV_HEADER);
}

static int
parse(int argc, char **argv, struct subopts *o)
{
	static const struct option lo[] = {
		{"db", required_argument, 0, 'd'},
		{"map-size", required_argument, 0, 'M'},
		{"master-key-file", required_argument, 0, 'K'},
		{"impi", required_argument, 0, 'i'},
		{"impu", required_argument, 0, 'u'},
		{"k", required_argument, 0, 'k'},
		{"op", required_argument, 0, 'o'},
		{"opc", required_argument, 0, 'c'},
		{"amf", required_argument, 0, 'a'},
		{"sqn", required_argument, 0, 's'},
		{"fail-limit", required_argument, 0, 'f'},
		{"schemes", required_argument, 0, 'S'},
		{"reveal-keys", no_argument, 0, 'r'},
		{"json", no_argument, 0, 'j'},
		{"skip-bad", no_argument, 0, 'b'},
		{"extended", no_argument, 0, 'x'},
		{"dry-run", no_argument, 0, 'n'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;

	o->db = AKV_STORE_DEFAULT_DIR;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o->db = optarg; break;
		case 'M':
			if (akv_admin_map_size_arg("sub", optarg, &o->map_size))
				return AKV_EXIT_USAGE;
			break;
		case 'K': o->key_file = optarg; break;
		case 'i': o->impi = optarg; break;
		case 'u': o->impu = optarg; break;
		case 'k': o->k = optarg; break;
		case 'o': o->op = optarg; break;
		case 'c': o->opc = optarg; break;
		case 'a': o->amf = optarg; break;
		case 's': o->sqn = optarg; break;
		case 'f': o->fail_limit = optarg; break;
		case 'S': o->schemes = optarg; break;
		case 'r': o->reveal = 1; break;
		case 'j': o->json = 1; break;
		case 'b': o->skip_bad = 1; break;
		case 'x': o->extended = 1; break;
		case 'n': o->dry_run = 1; break;
		case 'h': usage(stdout); return -1;
		default:
			fprintf(stderr, "akavs sub: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			return AKV_EXIT_USAGE;
		}
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

/* ==== Field setters shared by add and set (messages never echo keys) ==== */

static int
set_key(const char *who, const char *name, const char *hex, uint8_t out[16])
{
	if (strlen(hex) != 32 || akv_hex_decode(hex, 32, out, 16)) {
		fprintf(stderr, "akavs %s: --%s must be 32 hex digits\n", who, name);
		return -1;
	}
	return 0;
}

static int
set_impus(const char *who, const char *list, struct akv_sub *s)
{
	const char *p = list;

	s->nimpu = 0;
	for (;;) {
		size_t n = strcspn(p, ",;");

		if (n == 0 || n > AKV_ID_MAX) {
			fprintf(stderr, "akavs %s: --impu: each IMPU must be 1..%d bytes\n", who,
				AKV_ID_MAX);
			return -1;
		}
		if (s->nimpu == AKV_STORE_MAX_IMPUS) {
			fprintf(stderr, "akavs %s: --impu: more than %u IMPUs\n", who,
				AKV_STORE_MAX_IMPUS);
			return -1;
		}
		memcpy(s->impu[s->nimpu], p, n);
		s->impu[s->nimpu][n] = 0;
		s->impu_len[s->nimpu++] = (uint8_t)n;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/* Applies the options given to *s (add: onto defaults; set: onto the
 * stored record). Returns 0 or -1 after a message. */
static int
apply(const char *who, const struct subopts *o, struct akv_sub *s)
{
	uint8_t op[16];

	if (o->impu && set_impus(who, o->impu, s))
		return -1;
	if (o->k && set_key(who, "k", o->k, s->k))
		return -1;
	if (o->op) {
		if (set_key(who, "op", o->op, op))
			return -1;
		akv_mil_opc(s->k, op, s->opc);	/* TS 35.206 §4.1: OPc = OP ^ E_K(OP) */
		akv_wipe(op, sizeof(op));
	}
	if (o->opc && set_key(who, "opc", o->opc, s->opc))
		return -1;
	if (o->amf && (strlen(o->amf) != 4 || akv_hex_decode(o->amf, 4, s->amf, 2))) {
		fprintf(stderr, "akavs %s: --amf must be 4 hex digits\n", who);
		return -1;
	}
	if (o->sqn && akv_csv_sqn_parse(o->sqn, strlen(o->sqn), &s->sqn)) {
		fprintf(stderr, "akavs %s: --sqn must be 1..12 hex digits (48 bits)\n", who);
		return -1;
	}
	if (o->fail_limit) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(o->fail_limit, &end, 10);
		if (errno || *end || !*o->fail_limit || o->fail_limit[0] == '-' || v > 65535) {
			fprintf(stderr, "akavs %s: --fail-limit must be 0..65535\n", who);
			return -1;
		}
		s->fail_limit = (uint16_t)v;
	}
	if (o->schemes && akv_csv_schemes_parse(o->schemes, strlen(o->schemes), &s->schemes)) {
		fprintf(stderr, "akavs %s: --schemes must list akav1 and/or akav2\n", who);
		return -1;
	}
	return 0;
}

/* Overwrites key arguments in argv once decoded, so that `ps` and
 * /proc/PID/cmdline show them for as short a time as possible. */
static void
wipe_key_args(const struct subopts *o)
{
	const char *keys[] = {o->k, o->op, o->opc};

	for (size_t i = 0; i < 3; i++)
		if (keys[i])
			memset((char *)keys[i], 'x', strlen(keys[i]));
}

static int
need_impi(const char *who, const struct subopts *o)
{
	if (!o->impi) {
		fprintf(stderr, "akavs %s: --impi is required\n", who);
		return -1;
	}
	if (!*o->impi || strlen(o->impi) > AKV_ID_MAX) {
		fprintf(stderr, "akavs %s: --impi must be 1..%d bytes\n", who, AKV_ID_MAX);
		return -1;
	}
	return 0;
}

static int
sub_add(const struct subopts *o)
{
	struct akv_sub *s = akv_calloc(1, sizeof(*s));
	struct akv_store *st = NULL;
	int rc = AKV_EXIT_USAGE, e;

	if (need_impi("sub add", o))
		goto out;
	if (!o->impu || !o->k || !o->op == !o->opc) {
		fprintf(stderr, "akavs sub add: --impu, --k and exactly one of --op/--opc are "
				"required\n");
		goto out;
	}
	s->impi_len = (uint16_t)strlen(o->impi);
	memcpy(s->impi, o->impi, s->impi_len);
	s->amf[0] = AKV_CSV_AMF_DEFAULT >> 8;
	s->amf[1] = AKV_CSV_AMF_DEFAULT & 0xff;
	s->schemes = AKV_STORE_SCHEMES_DEFAULT;
	e = apply("sub add", o, s);
	wipe_key_args(o);
	if (e)
		goto out;
	rc = AKV_EXIT_FAIL;
	if (!(st = akv_admin_open("sub add", o->db, o->map_size, 0, o->key_file)))
		goto out;
	if ((e = akv_store_put(st, s, AKV_STORE_ADD))) {
		akv_admin_err("sub add", o->impi, e);
		goto out;
	}
	printf("added %s (%u IMPU%s)\n", o->impi, s->nimpu, s->nimpu == 1 ? "" : "s");
	rc = AKV_EXIT_OK;
out:
	akv_store_close(st);
	akv_store_sub_wipe(s);
	akv_free(s);
	return rc;
}

static int
sub_set(const struct subopts *o)
{
	struct akv_sub *s = akv_calloc(1, sizeof(*s));
	struct akv_store *st = NULL;
	int rc = AKV_EXIT_USAGE, e;

	if (need_impi("sub set", o))
		goto out;
	if (!o->impu && !o->k && !o->op && !o->opc && !o->amf && !o->sqn && !o->fail_limit &&
	    !o->schemes) {
		fprintf(stderr, "akavs sub set: nothing to change (give --impu, --k, --op, --opc, "
				"--amf, --sqn, --fail-limit or --schemes)\n");
		goto out;
	}
	if (o->k && !o->op && !o->opc) {
		fprintf(stderr, "akavs sub set: --k needs --op or --opc (OPc depends on K)\n");
		goto out;
	}
	if (o->op && o->opc) {
		fprintf(stderr, "akavs sub set: give --op or --opc, not both\n");
		goto out;
	}
	rc = AKV_EXIT_FAIL;
	if (!(st = akv_admin_open("sub set", o->db, o->map_size, AKV_STORE_NOCREATE, o->key_file)))
		goto out;
	/* Read-modify-write: a concurrent `sub set` of the same IMPI may win. */
	if ((e = akv_store_get(st, o->impi, strlen(o->impi), s))) {
		akv_admin_err("sub set", o->impi, e);
		goto out;
	}
	e = apply("sub set", o, s);
	wipe_key_args(o);
	if (e) {
		rc = AKV_EXIT_USAGE;
		goto out;
	}
	if ((e = akv_store_put(st, s, AKV_STORE_SET))) {
		akv_admin_err("sub set", o->impi, e);
		goto out;
	}
	printf("updated %s\n", o->impi);
	rc = AKV_EXIT_OK;
out:
	akv_store_close(st);
	akv_store_sub_wipe(s);
	akv_free(s);
	return rc;
}

static int
sub_del(const struct subopts *o)
{
	struct akv_store *st;
	int e;

	if (need_impi("sub del", o))
		return AKV_EXIT_USAGE;
	if (!(st = akv_admin_open("sub del", o->db, o->map_size, AKV_STORE_NOCREATE, o->key_file)))
		return AKV_EXIT_FAIL;
	e = akv_store_del(st, o->impi, strlen(o->impi));
	akv_store_close(st);
	if (e) {
		akv_admin_err("sub del", o->impi, e);
		return AKV_EXIT_FAIL;
	}
	printf("deleted %s\n", o->impi);
	return AKV_EXIT_OK;
}

static void
print_json(FILE *f, const struct akv_sub *s, int reveal)
{
	char sch[32], hex[33];

	fputs("{\"impi\":", f);
	akv_admin_json_str(f, s->impi, s->impi_len);
	fputs(",\"impus\":[", f);
	for (unsigned i = 0; i < s->nimpu; i++) {
		if (i)
			fputc(',', f);
		akv_admin_json_str(f, s->impu[i], s->impu_len[i]);
	}
	akv_csv_schemes_format(s->schemes, ',', sch, sizeof(sch));
	fprintf(f, "],\"amf\":\"%02x%02x\",\"sqn\":\"%012llx\",\"sqn_reserved\":\"%012llx\","
		"\"schemes\":\"%s\",\"fail_limit\":%u",
		s->amf[0], s->amf[1], (unsigned long long)s->sqn,
		(unsigned long long)s->seq_reserved, sch, s->fail_limit);
	if (reveal) {
		akv_hex_encode(s->k, 16, hex);
		fprintf(f, ",\"k\":\"%s\"", hex);
		akv_hex_encode(s->opc, 16, hex);
		fprintf(f, ",\"opc\":\"%s\"", hex);
		akv_wipe(hex, sizeof(hex));
	}
	fputs("}\n", f);
}

static int
sub_show(const struct subopts *o)
{
	struct akv_sub *s = akv_calloc(1, sizeof(*s));
	struct akv_store *st = NULL;
	char sch[32], hex[33], owner[AKV_ID_MAX + 1];
	const char *impi = o->impi;
	size_t olen;
	int rc = AKV_EXIT_FAIL, e;

	if (!o->impi && o->impu && !strpbrk(o->impu, ",;")) {
		/* Look the subscriber up by one of its public identities. */
		if (!(st = akv_admin_open("sub show", o->db, o->map_size, AKV_STORE_NOCREATE,
					  o->key_file)))
			goto out;
		if ((e = akv_store_impu_owner(st, o->impu, strlen(o->impu), owner, &olen))) {
			akv_admin_err("sub show", o->impu, e);
			goto out;
		}
		impi = owner;
	} else if (need_impi("sub show", o)) {
		rc = AKV_EXIT_USAGE;
		goto out;
	}
	if (!st && !(st = akv_admin_open("sub show", o->db, o->map_size, AKV_STORE_NOCREATE,
					 o->key_file)))
		goto out;
	if ((e = akv_store_get(st, impi, strlen(impi), s))) {
		akv_admin_err("sub show", impi, e);
		goto out;
	}
	rc = AKV_EXIT_OK;
	if (o->json) {
		print_json(stdout, s, o->reveal);
		goto out;
	}
	printf("impi:         %s\n", s->impi);
	for (unsigned i = 0; i < s->nimpu; i++)
		printf("impu:         %s\n", s->impu[i]);
	if (o->reveal) {
		akv_hex_encode(s->k, 16, hex);
		printf("k:            %s\n", hex);
		akv_hex_encode(s->opc, 16, hex);
		printf("opc:          %s\n", hex);
		akv_wipe(hex, sizeof(hex));
	} else {
		printf("k:            (hidden; --reveal-keys shows it)\n");
		printf("opc:          (hidden; --reveal-keys shows it)\n");
	}
	akv_csv_schemes_format(s->schemes, ',', sch, sizeof(sch));
	printf("amf:          %02x%02x\n", s->amf[0], s->amf[1]);
	printf("sqn:          %012llx\n", (unsigned long long)s->sqn);
	printf("sqn reserved: %012llx\n", (unsigned long long)s->seq_reserved);
	printf("schemes:      %s\n", sch);
	if (s->fail_limit)
		printf("fail limit:   %u\n", s->fail_limit);
	else
		printf("fail limit:   (server configuration)\n");
out:
	akv_store_close(st);
	akv_store_sub_wipe(s);
	akv_free(s);
	return rc;
}

struct list_ctx {
	int json;
	uint64_t n;
};

static int
list_one(void *arg, const struct akv_sub *s)
{
	struct list_ctx *c = arg;

	if (c->json) {
		fputs(c->n ? "," : "[", stdout);
		print_json(stdout, s, 0);
	} else {
		printf("%s\t", s->impi);
		for (unsigned i = 0; i < s->nimpu; i++)
			printf("%s%s", i ? ";" : "", s->impu[i]);
		putchar('\n');
	}
	c->n++;
	return ferror(stdout) ? -EIO : 0;
}

static int
sub_list(const struct subopts *o)
{
	struct list_ctx c = {o->json, 0};
	struct akv_store *st;
	int e;

	if (!(st = akv_admin_open("sub list", o->db, o->map_size, AKV_STORE_NOCREATE, o->key_file)))
		return AKV_EXIT_FAIL;
	e = akv_store_iterate(st, list_one, &c);
	akv_store_close(st);
	if (o->json)
		puts(c.n ? "]" : "[]");
	if (e) {
		akv_admin_err("sub list", "list", e);
		return AKV_EXIT_FAIL;
	}
	return AKV_EXIT_OK;
}

static void
report_line(void *arg, size_t line, const char *why)
{
	(void)arg;
	fprintf(stderr, "line %zu: %s\n", line, why);
}

static int
sub_import(const struct subopts *o)
{
	struct akv_import_opts io = {o->skip_bad, o->dry_run, report_line, NULL};
	struct akv_import_result res;
	struct akv_store *st;
	int e;

	if (o->nargs != 1) {
		fprintf(stderr, "akavs sub import: give exactly one FILE (or - for stdin)\n");
		return AKV_EXIT_USAGE;
	}
	if (!(st = akv_admin_open("sub import", o->db, o->map_size, 0, o->key_file)))
		return AKV_EXIT_FAIL;
	e = akv_import_file(st, o->args[0], &io, &res);
	akv_store_close(st);
	if (e == AKV_EINVAL) {
		fprintf(stderr, "akavs sub import: %s: %zu bad line%s: nothing imported%s\n",
			o->args[0], res.bad, res.bad == 1 ? "" : "s",
			res.records ? " (--skip-bad imports the good ones)" : "");
		return AKV_EXIT_FAIL;
	}
	if (e > -4096 && e < 0) {
		fprintf(stderr, "akavs sub import: cannot read %s: %s\n", o->args[0],
			akv_strerror(e));
		return AKV_EXIT_FAIL;
	}
	if (e) {
		akv_admin_err("sub import", "nothing imported", e);
		return AKV_EXIT_FAIL;
	}
	printf("%s %zu subscriber%s from %s", o->dry_run ? "would import" : "imported",
	       o->dry_run ? res.records - res.bad : res.imported,
	       res.imported == 1 ? "" : "s", o->args[0]);
	if (res.bad)
		printf(" (%zu bad line%s skipped)", res.bad, res.bad == 1 ? "" : "s");
	printf(" in %.2f s\n", res.parse_s + res.check_s + res.write_s);
	return res.bad ? AKV_EXIT_PARTIAL : AKV_EXIT_OK;
}

struct export_ctx {
	FILE *f;
	int ext;
	char line[AKV_CSV_LINE_MAX];
	uint64_t n;
};

static int
export_one(void *arg, const struct akv_sub *s)
{
	struct export_ctx *c = arg;
	/* A restored backup must never re-issue an SQN: export the higher of
	 * the operator SQN and the engine's durable reservation. */
	uint64_t sqn = s->seq_reserved > s->sqn ? s->seq_reserved : s->sqn;
	int n = akv_csv_format(s, sqn, c->ext, c->line, sizeof(c->line));

	if (n < 0)
		return n;
	if (fwrite(c->line, 1, (size_t)n, c->f) != (size_t)n)
		return -EIO;
	c->n++;
	return 0;
}

static int
sub_export(const struct subopts *o)
{
	struct export_ctx *c = akv_calloc(1, sizeof(*c));
	struct akv_store *st = NULL;
	const char *path = o->nargs ? o->args[0] : "-";
	int rc = AKV_EXIT_FAIL, e, fd = -1;

	if (o->nargs > 1) {
		fprintf(stderr, "akavs sub export: at most one FILE\n");
		rc = AKV_EXIT_USAGE;
		goto out;
	}
	if (!(st = akv_admin_open("sub export", o->db, o->map_size, AKV_STORE_NOCREATE,
				  o->key_file)))
		goto out;
	if (strcmp(path, "-")) {
		/* The file holds keys: owner-only. */
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || !(c->f = fdopen(fd, "w"))) {
			fprintf(stderr, "akavs sub export: cannot create %s: %s\n", path,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
	} else {
		c->f = stdout;
	}
	c->ext = o->extended;
	fprintf(c->f, "%s\n", o->extended ? AKV_CSV_HEADER_EXT : AKV_CSV_HEADER);
	e = akv_store_iterate(st, export_one, c);
	if (fflush(c->f) || ferror(c->f))
		e = e ? e : -EIO;
	if (c->f != stdout && fclose(c->f))
		e = e ? e : -errno;
	if (e) {
		akv_admin_err("sub export", path, e);
		goto out;
	}
	if (c->f != stdout)
		fprintf(stderr, "exported %llu subscribers to %s\n", (unsigned long long)c->n,
			path);
	rc = AKV_EXIT_OK;
out:
	akv_store_close(st);
	akv_wipe(c->line, sizeof(c->line));
	akv_free(c);
	return rc;
}

/* see cmds.h */
int
akv_cmd_sub(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(const struct subopts *o);
		int takes_args;
	} subs[] = {
		{"add", sub_add, 0},       {"set", sub_set, 0},       {"del", sub_del, 0},
		{"show", sub_show, 0},     {"list", sub_list, 0},     {"import", sub_import, 1},
		{"export", sub_export, 1},
	};
	struct subopts o = {0};
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? AKV_EXIT_USAGE : AKV_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name))
			continue;
		rc = parse(argc - 1, argv + 1, &o);
		if (rc)
			return rc < 0 ? AKV_EXIT_OK : rc;
		if (o.nargs && !subs[i].takes_args) {
			fprintf(stderr, "akavs sub %s: unexpected argument '%s'\n", argv[1],
				o.args[0]);
			return AKV_EXIT_USAGE;
		}
		return subs[i].run(&o);
	}
	fprintf(stderr, "akavs sub: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return AKV_EXIT_USAGE;
}

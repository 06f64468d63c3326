/* cmd_db.c - `akavs db init|stats|check|keygen|seal|unseal|rekey` and the
 * helpers of admin.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin/admin.h"
#include "akv_crypto.h"
#include "cmds.h"
#include "err.h"
#include "store/seal.h"

/* ==== Helpers (admin.h) ==== */

/* see admin.h */
void
akv_admin_err(const char *who, const char *what, int err)
{
	const char *d = akv_store_errdetail();

	/* The store's detail says more than the generic code text. */
	fprintf(stderr, "akavs %s: %s: %s\n", who, what, d[0] ? d : akv_strerror(err));
}

/* see admin.h */
int
akv_admin_master_key(const char *who, const char *path, uint8_t *key)
{
	char why[AKV_SEAL_WHY_MAX];

	if (!akv_master_key_load(path, key, why, sizeof(why)))
		return 0;
	fprintf(stderr, "akavs %s: %s\n", who, why);
	return -1;
}

/* see admin.h */
struct akv_store *
akv_admin_open(const char *who, const char *dir, uint64_t map_size, unsigned flags,
	       const char *key_file)
{
	uint8_t key[AKV_MASTER_KEY_LEN];
	struct akv_store_opts o = {.map_size = map_size, .flags = flags};
	struct akv_store *st;
	char what[4200];
	int err;

	if (key_file) {
		if (akv_admin_master_key(who, key_file, key))
			return NULL;
		o.master_key = key;
	}
	st = akv_store_open(dir, &o, &err);
	akv_wipe(key, sizeof(key));
	if (!st) {
		snprintf(what, sizeof(what), "cannot open store %s", dir);
		akv_admin_err(who, what, err);
	}
	return st;
}

/* see admin.h */
int
akv_admin_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: return -1;
	}
	if (*end && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
		return -1;
	if (v == 0 || v > (~0ull >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* see admin.h */
int
akv_admin_map_size_arg(const char *who, const char *arg, uint64_t *out)
{
	if (!akv_admin_size(arg, out))
		return 0;
	fprintf(stderr, "akavs %s: bad --map-size '%s' (e.g. 4G)\n", who, arg);
	return -1;
}

/* see admin.h */
void
akv_admin_json_str(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* ==== db ==== */

struct dbopts {
	const char *db;
	uint64_t map_size;
	const char *key_file;		/* --master-key-file */
	const char *new_key_file;	/* --new-master-key-file (rekey) */
	const char *out;		/* --out (keygen) */
	int json;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: akavs db init  [--db DIR] [--map-size SIZE] [--master-key-file FILE]\n"
		"       akavs db stats [--db DIR] [--json] [--master-key-file FILE]\n"
		"       akavs db check [--db DIR] [--master-key-file FILE]\n"
		"       akavs db keygen --out FILE\n"
		"       akavs db seal   [--db DIR] --master-key-file FILE\n"
		"       akavs db unseal [--db DIR] --master-key-file FILE\n"
		"       akavs db rekey  [--db DIR] --master-key-file OLD\n"
		"                       --new-master-key-file NEW\n"
		"\n"
		"  init   create the store (or verify an existing one: schema version) and,\n"
		"         with --map-size, grow its map (e.g. 8G; default %llu MiB for a new\n"
		"         store). The map is the store's maximum size; the file is sparse.\n"
		"  stats  subscribers, IMPUs, map size and use, bytes per subscriber, schema,\n"
		"         provisioning generation\n"
		"  check  decode every record and verify the IMPU index both ways; exit 1 and\n"
		"         one line per problem on corruption (also: sealed records that do\n"
		"         not open)\n"
		"  keygen write a new random master key (64 hex digits) to FILE, mode 0600;\n"
		"         never overwrites. Keep it outside the store and its backups.\n"
		"  seal   encrypt every record's K/OPc at rest under the master key (AES-256-\n"
		"         GCM, key derived by HKDF), in one transaction, then rewrite the file\n"
		"         without the old plaintext pages. A store created with\n"
		"         --master-key-file (init, sub add/import) is sealed from the start.\n"
		"  unseal the reverse: K/OPc back in plaintext\n"
		"  rekey  reseal every record under NEW (the store then needs NEW)\n"
		"         seal/unseal/rekey refuse while `akavs serve` has the store open.\n"
		"\n"
		"  --db DIR        store directory (default %s)\n"
		"  --map-size SIZE map size, bytes or with K/M/G/T suffix (any command)\n"
		"  --master-key-file FILE  master key of a sealed store (any command that\n"
		"                  opens one; mode 0600, exactly 64 hex digits)\n"
		"  --json          machine-readable output (stats)\n"
		"exit: 0 ok, 1 failure or problems found, 2 usage\n",
		(unsigned long long)(AKV_STORE_DEFAULT_MAP >> 20), AKV_STORE_DEFAULT_DIR);
}

static int
parse(int argc, char **argv, struct dbopts *o)
{
	static const struct option lo[] = {
		{"db", required_argument, 0, 'd'},
		{"map-size", required_argument, 0, 'm'},
		{"json", no_argument, 0, 'j'},
		{"master-key-file", required_argument, 0, 'K'},
		{"new-master-key-file", required_argument, 0, 'N'},
		{"out", required_argument, 0, 'o'},
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
		case 'j': o->json = 1; break;
		case 'K': o->key_file = optarg; break;
		case 'N': o->new_key_file = optarg; break;
		case 'o': o->out = optarg; break;
		case 'm':
			if (akv_admin_map_size_arg("db", optarg, &o->map_size))
				return AKV_EXIT_USAGE;
			break;
		case 'h': usage(stdout); return -1;
		default:
			fprintf(stderr, "akavs db: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return AKV_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "akavs db: unexpected argument '%s'\n", argv[optind]);
		return AKV_EXIT_USAGE;
	}
	return 0;
}

/* Opens the store for `who` (AKV_STORE_* flags), reads its statistics and
 * closes it. Returns 0, or AKV_EXIT_FAIL after printing why. */
static int
read_stats(const char *who, const struct dbopts *o, unsigned flags, struct akv_store_stats *s)
{
	struct akv_store *st = akv_admin_open(who, o->db, o->map_size, flags, o->key_file);
	int e;

	if (!st)
		return AKV_EXIT_FAIL;
	e = akv_store_stats(st, s);
	akv_store_close(st);
	if (e) {
		akv_admin_err(who, "stats", e);
		return AKV_EXIT_FAIL;
	}
	return 0;
}

static int
db_init(const struct dbopts *o)
{
	struct akv_store_stats s;

	if (read_stats("db init", o, 0, &s))
		return AKV_EXIT_FAIL;
	printf("store %s ready: schema v%u, %llu subscribers, map %llu MiB%s\n", o->db, s.schema,
	       (unsigned long long)s.subscribers, (unsigned long long)(s.map_size >> 20),
	       s.sealed ? ", sealed (K/OPc encrypted at rest)" : "");
	return AKV_EXIT_OK;
}

static int
db_stats(const struct dbopts *o)
{
	struct akv_store_stats s;
	char path[4200];
	struct stat sb;
	uint64_t disk = 0, per_sub = 0, per_sub_disk = 0;

	if (read_stats("db stats", o, o->map_size ? 0 : AKV_STORE_NOCREATE, &s))
		return AKV_EXIT_FAIL;
	snprintf(path, sizeof(path), "%s/data.mdb", o->db);
	if (!stat(path, &sb))
		disk = (uint64_t)sb.st_blocks * 512u;	/* allocated, not the sparse size */
	if (s.subscribers) {
		per_sub = s.data_bytes / s.subscribers;
		per_sub_disk = disk / s.subscribers;
	}
	if (o->json) {
		printf("{\"db\":");
		akv_admin_json_str(stdout, o->db, strlen(o->db));
		printf(",\"schema\":%u,\"subscribers\":%llu,\"impus\":%llu,\"sqn_records\":%llu,"
		       "\"changes\":%llu,\"generation\":%llu,\"map_size\":%llu,\"map_used\":%llu,"
		       "\"data_bytes\":%llu,\"disk_bytes\":%llu,\"bytes_per_subscriber\":%llu,"
		       "\"disk_bytes_per_subscriber\":%llu,\"page_size\":%u,"
		       "\"readers_used\":%u,\"max_readers\":%u,\"sealed\":%s}\n",
		       s.schema, (unsigned long long)s.subscribers, (unsigned long long)s.impus,
		       (unsigned long long)s.sqn_records, (unsigned long long)s.changes,
		       (unsigned long long)s.generation, (unsigned long long)s.map_size,
		       (unsigned long long)s.map_used, (unsigned long long)s.data_bytes,
		       (unsigned long long)disk, (unsigned long long)per_sub,
		       (unsigned long long)per_sub_disk, s.page_size, s.readers_used,
		       s.max_readers, s.sealed ? "true" : "false");
		return AKV_EXIT_OK;
	}
	printf("store:            %s (schema v%u)\n", o->db, s.schema);
	printf("K/OPc at rest:    %s\n", s.sealed ? "sealed (AES-256-GCM)" : "plaintext");
	printf("subscribers:      %llu\n", (unsigned long long)s.subscribers);
	printf("impus:            %llu\n", (unsigned long long)s.impus);
	printf("sqn reservations: %llu\n", (unsigned long long)s.sqn_records);
	printf("generation:       %llu (%llu change entries kept)\n",
	       (unsigned long long)s.generation, (unsigned long long)s.changes);
	printf("map:              %.1f MiB used of %.1f MiB (%.1f%%)\n",
	       (double)s.map_used / 1048576.0, (double)s.map_size / 1048576.0,
	       s.map_size ? 100.0 * (double)s.map_used / (double)s.map_size : 0.0);
	printf("data:             %.1f MiB in B-tree pages, %.1f MiB on disk\n",
	       (double)s.data_bytes / 1048576.0, (double)disk / 1048576.0);
	printf("per subscriber:   %llu bytes (pages), %llu bytes (disk)\n",
	       (unsigned long long)per_sub, (unsigned long long)per_sub_disk);
	printf("readers:          %u of %u slots in use\n", s.readers_used, s.max_readers);
	return AKV_EXIT_OK;
}

static void
print_problem(void *arg, const char *text)
{
	(void)arg;
	fprintf(stderr, "akavs db check: %s\n", text);
}

static int
db_check(const struct dbopts *o)
{
	struct akv_store_stats s;
	struct akv_store *st;
	uint64_t np = 0;
	int e;

	st = akv_admin_open("db check", o->db, o->map_size, o->map_size ? 0 : AKV_STORE_NOCREATE,
			    o->key_file);
	if (!st)
		return AKV_EXIT_FAIL;
	e = akv_store_check(st, print_problem, NULL, &np);
	if (!e)
		e = akv_store_stats(st, &s);
	akv_store_close(st);
	if (e == AKV_ESTORE && np) {
		fprintf(stderr, "akavs db check: %s: %llu problem(s) found\n", o->db,
			(unsigned long long)np);
		return AKV_EXIT_FAIL;
	}
	if (e) {
		akv_admin_err("db check", "check", e);
		return AKV_EXIT_FAIL;
	}
	printf("store %s ok: %llu subscribers, %llu IMPUs, schema v%u%s\n", o->db,
	       (unsigned long long)s.subscribers, (unsigned long long)s.impus, s.schema,
	       s.sealed ? ", sealed" : "");
	return AKV_EXIT_OK;
}

/* ==== Master key and sealing ==== */

static int
db_keygen(const struct dbopts *o)
{
	char why[AKV_SEAL_WHY_MAX];

	if (!o->out) {
		fprintf(stderr, "akavs db keygen: --out FILE required\n");
		return AKV_EXIT_USAGE;
	}
	if (akv_master_key_generate(o->out, why, sizeof(why))) {
		fprintf(stderr, "akavs db keygen: %s\n", why);
		return AKV_EXIT_FAIL;
	}
	printf("master key written to %s (mode 0600): keep it apart from the store and its "
	       "backups; without it a sealed store cannot be read\n", o->out);
	return AKV_EXIT_OK;
}

enum reseal_op { OP_SEAL, OP_UNSEAL, OP_REKEY };

/* seal: opens the plaintext store without a key; unseal/rekey: with the
 * current one. Then converts, compacts (so no replaced page keeps old
 * plaintext or old ciphertext) and closes. */
static int
db_reseal(const struct dbopts *o, enum reseal_op op)
{
	static const char *const who[] = {"db seal", "db unseal", "db rekey"};
	uint8_t key[AKV_MASTER_KEY_LEN];
	struct akv_store_stats s = {0};
	struct akv_store *st;
	int e;

	if (!o->key_file || (op == OP_REKEY) != (o->new_key_file != NULL)) {
		fprintf(stderr, "akavs %s: %s required\n", who[op],
			op == OP_REKEY ? "--master-key-file OLD and --new-master-key-file NEW"
				       : "--master-key-file FILE (and no --new-master-key-file)");
		return AKV_EXIT_USAGE;
	}
	if (op != OP_UNSEAL &&
	    akv_admin_master_key(who[op], op == OP_SEAL ? o->key_file : o->new_key_file, key))
		return AKV_EXIT_FAIL;
	st = akv_admin_open(who[op], o->db, o->map_size, AKV_STORE_NOCREATE,
			    op == OP_SEAL ? NULL : o->key_file);
	if (!st) {
		akv_wipe(key, sizeof(key));
		return AKV_EXIT_FAIL;
	}
	if (op == OP_SEAL)
		e = akv_store_seal(st, key);
	else if (op == OP_UNSEAL)
		e = akv_store_unseal(st);
	else
		e = akv_store_rekey(st, key);
	akv_wipe(key, sizeof(key));
	if (!e)
		e = akv_store_stats(st, &s);
	if (e) {
		akv_admin_err(who[op], "nothing changed", e);
		akv_store_close(st);
		return AKV_EXIT_FAIL;
	}
	e = akv_store_compact(st);
	akv_store_close(st);
	if (e) {
		/* The conversion committed; only the free pages are left. */
		akv_admin_err(who[op], "converted, but compacting the file failed (replaced "
			      "pages stay in its free space until LMDB reuses them)", e);
		return AKV_EXIT_FAIL;
	}
	printf("store %s %s: %llu subscribers%s\n", o->db,
	       op == OP_SEAL ? "sealed" : op == OP_UNSEAL ? "unsealed" : "rekeyed",
	       (unsigned long long)s.subscribers,
	       op == OP_UNSEAL ? ", K/OPc now in plaintext" : ", K/OPc encrypted at rest");
	return AKV_EXIT_OK;
}

/* see cmds.h */
int
akv_cmd_db(int argc, char **argv)
{
	struct dbopts o = {0};
	const char *sub;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? AKV_EXIT_USAGE : AKV_EXIT_OK;
	}
	sub = argv[1];
	rc = parse(argc - 1, argv + 1, &o);
	if (rc)
		return rc < 0 ? AKV_EXIT_OK : rc;
	if (!strcmp(sub, "init"))
		return db_init(&o);
	if (!strcmp(sub, "stats"))
		return db_stats(&o);
	if (!strcmp(sub, "check"))
		return db_check(&o);
	if (!strcmp(sub, "keygen"))
		return db_keygen(&o);
	if (!strcmp(sub, "seal"))
		return db_reseal(&o, OP_SEAL);
	if (!strcmp(sub, "unseal"))
		return db_reseal(&o, OP_UNSEAL);
	if (!strcmp(sub, "rekey"))
		return db_reseal(&o, OP_REKEY);
	fprintf(stderr, "akavs db: unknown command '%s'\n", sub);
	usage(stderr);
	return AKV_EXIT_USAGE;
}

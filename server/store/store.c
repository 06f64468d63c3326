/*
 * store.c - LMDB subscriber store: environment, schema, records, readers.
 * Writes, changes and maintenance are in store_wr.c. Layout in store.h.
 */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "err.h"
#include "mem.h"
#include "store/store_int.h"

/* ==== Error detail ==== */

static _Thread_local char detail[320];

void
akv_store_detail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
}

/* see store.h */
const char *
akv_store_errdetail(void)
{
	return detail;
}

/* see store.h */
int
akv_store_mdb_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return AKV_ENOTFOUND;
	case MDB_KEYEXIST:
		return AKV_EEXISTS;
	case MDB_MAP_FULL:
		akv_store_detail("store map full: nothing was written; delete records or grow "
				 "the map (--map-size)");
		return AKV_EMAP_FULL;
	case MDB_VERSION_MISMATCH:
	case MDB_INVALID:
		akv_store_detail("LMDB: %s", mdb_strerror(rc));
		return AKV_ESCHEMA;
	default:
		if (rc > 0 && rc < 4096) {
			akv_store_detail("%s", strerror(rc));
			return -rc;
		}
		akv_store_detail("LMDB: %s", mdb_strerror(rc));
		return AKV_ESTORE;
	}
}

/* ==== Record encoding (schema 1) ====
 *
 * Plaintext record (flags 0):
 *   0      version = 1
 *   1      flags: bit 0 = K/OPc sealed (store_seal.c, seal.h)
 *   2..17  K          18..33 OPc
 *   34..   the tail:
 *   +0..1  AMF        +2..7 SQN (48-bit, big-endian)   +8 schemes
 *   +9..10 fail_limit (big-endian)   +11 nimpu   +12.. nimpu x (u8 length, bytes)
 * Sealed record (flags 1): K || OPc replaced by nonce (12), AES-256-GCM
 * ciphertext (32) and tag (16); the tail follows at 62. The AAD is the first
 * two bytes, the IMPI (u16 length, bytes) and the tail, so a sealed K/OPc
 * opens only in the record it was written for.
 */
#define REC_VERSION	1
#define REC_F_SEALED	0x01
#define REC_TAIL_PLAIN	34
#define REC_TAIL_SEALED (2 + AKV_SEAL_NONCE_LEN + AKV_SEAL_PT_LEN + AKV_SEAL_TAG_LEN)
#define REC_TAIL_HDR	12	/* tail bytes before the IMPUs */
#define REC_HDR		(REC_TAIL_PLAIN + REC_TAIL_HDR)
#define REC_AAD_MAX	(2 + 2 + AKV_ID_MAX + AKV_STORE_REC_MAX)

static int
id_ok(const char *s, size_t len)
{
	if (len == 0 || len > AKV_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* No control characters: identities end up in logs and CSV. */
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

/* see store.h */
int
akv_store_sub_validate(const struct akv_sub *s)
{
	if (!id_ok(s->impi, s->impi_len)) {
		akv_store_detail("IMPI must be 1..%d bytes without control characters",
				 AKV_ID_MAX);
		return AKV_EINVAL;
	}
	if (s->nimpu > AKV_STORE_MAX_IMPUS) {
		akv_store_detail("%s: more than %u IMPUs", s->impi, AKV_STORE_MAX_IMPUS);
		return AKV_EINVAL;
	}
	for (unsigned i = 0; i < s->nimpu; i++) {
		if (!id_ok(s->impu[i], s->impu_len[i])) {
			akv_store_detail("%.*s: IMPU %u must be 1..%d bytes without control "
					 "characters",
					 (int)s->impi_len, s->impi, i + 1, AKV_ID_MAX);
			return AKV_EINVAL;
		}
		for (unsigned j = 0; j < i; j++)
			if (s->impu_len[i] == s->impu_len[j] &&
			    !memcmp(s->impu[i], s->impu[j], s->impu_len[i])) {
				akv_store_detail("%.*s: IMPU %.*s listed twice", (int)s->impi_len,
						 s->impi, (int)s->impu_len[i], s->impu[i]);
				return AKV_EINVAL;
			}
	}
	if (s->sqn > AKV_STORE_SQN_MAX) {
		akv_store_detail("%.*s: SQN over 48 bits", (int)s->impi_len, s->impi);
		return AKV_EINVAL;
	}
	if (!s->schemes || (s->schemes & ~AKV_STORE_SCHEMES_VALID)) {
		akv_store_detail("%.*s: schemes mask 0x%x invalid", (int)s->impi_len, s->impi,
				 s->schemes);
		return AKV_EINVAL;
	}
	return 0;
}

/* The AAD of a sealed record: flags header, IMPI, tail. */
static size_t
rec_aad(const uint8_t *rec, size_t len, const struct akv_sub *s, uint8_t *aad)
{
	size_t n = 0;

	aad[n++] = rec[0];
	aad[n++] = rec[1];
	aad[n++] = (uint8_t)(s->impi_len >> 8);
	aad[n++] = (uint8_t)s->impi_len;
	memcpy(aad + n, s->impi, s->impi_len);
	n += s->impi_len;
	memcpy(aad + n, rec + REC_TAIL_SEALED, len - REC_TAIL_SEALED);
	return n + len - REC_TAIL_SEALED;
}

size_t
akv_store_rec_encode(const struct akv_sub *s, struct akv_seal_ctx *sx, uint8_t *buf)
{
	size_t t = sx ? REC_TAIL_SEALED : REC_TAIL_PLAIN, o = t + REC_TAIL_HDR;

	buf[0] = REC_VERSION;
	buf[1] = sx ? REC_F_SEALED : 0;
	memcpy(buf + t, s->amf, 2);
	for (int i = 0; i < 6; i++)
		buf[t + 2 + i] = (uint8_t)(s->sqn >> (40 - 8 * i));
	buf[t + 8] = s->schemes;
	buf[t + 9] = (uint8_t)(s->fail_limit >> 8);
	buf[t + 10] = (uint8_t)s->fail_limit;
	buf[t + 11] = s->nimpu;
	for (unsigned i = 0; i < s->nimpu; i++) {
		buf[o++] = s->impu_len[i];
		memcpy(buf + o, s->impu[i], s->impu_len[i]);
		o += s->impu_len[i];
	}
	if (!sx) {
		memcpy(buf + 2, s->k, 16);
		memcpy(buf + 18, s->opc, 16);
	} else {
		uint8_t aad[REC_AAD_MAX], pt[AKV_SEAL_PT_LEN];
		size_t alen = rec_aad(buf, o, s, aad);
		int e;

		memcpy(pt, s->k, 16);
		memcpy(pt + 16, s->opc, 16);
		e = akv_seal_encrypt(sx, aad, alen, pt, buf + 2, buf + 2 + AKV_SEAL_NONCE_LEN,
				     buf + 2 + AKV_SEAL_NONCE_LEN + AKV_SEAL_PT_LEN);
		akv_wipe(pt, sizeof(pt));
		if (e) {
			akv_store_detail("%.*s: sealing K/OPc failed (OpenSSL or RNG)",
					 (int)s->impi_len, s->impi);
			return 0;
		}
	}
	return o;
}

int
akv_store_rec_decode(const uint8_t *buf, size_t len, struct akv_seal_ctx *sx, struct akv_sub *s)
{
	size_t t = sx ? REC_TAIL_SEALED : REC_TAIL_PLAIN, o = t + REC_TAIL_HDR;

	if (len >= 2 && buf[0] == REC_VERSION && buf[1] == (sx ? 0 : REC_F_SEALED)) {
		akv_store_detail(sx ? "%.*s: record holds plaintext K/OPc in a sealed store "
				      "(written by an older akavs? `akavs db check` lists them)"
				    : "%.*s: record is sealed but the store is not (restored "
				      "from another store?)",
				 (int)s->impi_len, s->impi);
		goto fail;
	}
	if (len < o || buf[0] != REC_VERSION || buf[1] != (sx ? REC_F_SEALED : 0) ||
	    buf[t + 11] > AKV_STORE_MAX_IMPUS)
		goto bad;
	memcpy(s->amf, buf + t, 2);
	s->sqn = 0;
	for (int i = 0; i < 6; i++)
		s->sqn = s->sqn << 8 | buf[t + 2 + i];
	s->schemes = buf[t + 8];
	s->fail_limit = (uint16_t)(buf[t + 9] << 8 | buf[t + 10]);
	s->nimpu = buf[t + 11];
	for (unsigned i = 0; i < s->nimpu; i++) {
		size_t n;

		if (o >= len)
			goto bad;
		n = buf[o++];
		if (n == 0 || n > len - o)
			goto bad;
		memcpy(s->impu[i], buf + o, n);
		s->impu[i][n] = 0;
		s->impu_len[i] = (uint8_t)n;
		o += n;
	}
	if (o != len || !s->schemes || (s->schemes & ~AKV_STORE_SCHEMES_VALID))
		goto bad;
	if (!sx) {
		memcpy(s->k, buf + 2, 16);
		memcpy(s->opc, buf + 18, 16);
	} else {
		uint8_t aad[REC_AAD_MAX], pt[AKV_SEAL_PT_LEN];
		size_t alen = rec_aad(buf, len, s, aad);
		int e = akv_seal_decrypt(sx, aad, alen, buf + 2, buf + 2 + AKV_SEAL_NONCE_LEN,
					 buf + 2 + AKV_SEAL_NONCE_LEN + AKV_SEAL_PT_LEN, pt);

		memcpy(s->k, pt, 16);
		memcpy(s->opc, pt + 16, 16);
		akv_wipe(pt, sizeof(pt));
		if (e) {
			akv_store_detail("%.*s: sealed K/OPc do not open (record tampered with, "
					 "copied from another subscriber, or sealed under another "
					 "master key)",
					 (int)s->impi_len, s->impi);
			goto fail;
		}
	}
	return 0;
bad:
	akv_store_detail("%.*s: subscriber record does not decode (corrupt store?)",
			 (int)s->impi_len, s->impi);
fail:
	akv_wipe(s->k, 16);
	akv_wipe(s->opc, 16);
	return AKV_ESTORE;
}

/* see store_int.h */
int
akv_store_seal_ctx(struct akv_store *st, struct akv_seal_ctx **sx)
{
	*sx = NULL;
	if (!st->sealed)
		return 0;
	*sx = akv_seal_ctx_new(st->rec_key);
	if (*sx)
		return 0;
	akv_store_detail("cannot set up AES-256-GCM (OpenSSL)");
	return AKV_ESTORE;
}

/* see store.h */
void
akv_store_sub_wipe(struct akv_sub *s)
{
	akv_wipe(s->k, sizeof(s->k));
	akv_wipe(s->opc, sizeof(s->opc));
}

uint64_t
akv_store_le64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

void
akv_store_put_le64(void *p, uint64_t v)
{
	uint8_t *b = p;

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

uint64_t
akv_store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ==== Transactions and map growth ====
 *
 * Another process (`akavs db init --map-size`, or an import that grew the
 * map) may enlarge the map. LMDB then answers MDB_MAP_RESIZED at txn start,
 * and mdb_env_set_mapsize(env, 0) adopts the new size, which is only legal
 * while no transaction of this process is live. Every transaction therefore
 * holds st->resize shared; adopting the new size takes it exclusively. */

static int
adopt_resize(struct akv_store *st)
{
	struct timespec until;
	int rc;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_rwlock_timedwrlock(&st->resize, &until)) {
		akv_store_detail("store map was grown by another process and could not be "
				 "adopted while this process holds a read snapshot");
		return AKV_ESTORE;
	}
	rc = mdb_env_set_mapsize(st->env, 0);
	pthread_rwlock_unlock(&st->resize);
	return akv_store_mdb_err(rc);
}

int
akv_store_txn_begin(struct akv_store *st, unsigned flags, MDB_txn **txn)
{
	int rc;

	if (!(flags & MDB_RDONLY) && (st->flags & AKV_STORE_RDONLY)) {
		akv_store_detail("store opened read-only");
		return -EACCES;
	}
	for (int tries = 0;; tries++) {
		pthread_rwlock_rdlock(&st->resize);
		rc = mdb_txn_begin(st->env, NULL, flags, txn);
		if (!rc)
			return 0;
		pthread_rwlock_unlock(&st->resize);
		if (rc != MDB_MAP_RESIZED || tries)
			return akv_store_mdb_err(rc);
		rc = adopt_resize(st);
		if (rc)
			return rc;
	}
}

void
akv_store_txn_abort(struct akv_store *st, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&st->resize);
}

int
akv_store_txn_commit(struct akv_store *st, MDB_txn *txn, int is_write)
{
	int rc = mdb_txn_commit(txn);

	pthread_rwlock_unlock(&st->resize);
	if (rc)
		return akv_store_mdb_err(rc);
	if (is_write)
		atomic_fetch_add_explicit(&st->commits, 1, memory_order_relaxed);
	return 0;
}

/* see store.h */
uint64_t
akv_store_commit_count(struct akv_store *st)
{
	return atomic_load_explicit(&st->commits, memory_order_relaxed);
}

/* ==== Open, schema ==== */

static const char *const dbi_names[] = {"meta", "sub", "impu", "sqn", "changes"};

/* Migrations from schema v to v + 1, run inside the opening write txn.
 * Schema 1 is the first: nothing to migrate yet. A future schema 2 adds
 * migrate_1_to_2 here and bumps AKV_STORE_SCHEMA. */
typedef int (*migrate_fn)(struct akv_store *st, MDB_txn *txn);
static const migrate_fn migrations[AKV_STORE_SCHEMA + 1] = {0};

static int
get_u32(MDB_txn *txn, MDB_dbi dbi, const char *key, uint32_t *v)
{
	MDB_val k = {strlen(key), (void *)key}, d;
	int rc = mdb_get(txn, dbi, &k, &d);

	if (rc)
		return rc;
	if (d.mv_size != 4)
		return MDB_CORRUPTED;
	{
		const uint8_t *b = d.mv_data;

		*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		     (uint32_t)b[3] << 24;
	}
	return 0;
}

int
akv_store_meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v)
{
	MDB_val k = {strlen(key), (void *)key}, d;
	int rc = mdb_get(txn, dbi, &k, &d);

	*v = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return akv_store_mdb_err(rc);
	if (d.mv_size != 8) {
		akv_store_detail("meta %s: bad length (corrupt store?)", key);
		return AKV_ESTORE;
	}
	*v = akv_store_le64(d.mv_data);
	return 0;
}

/* Opens the five databases in one txn: a read txn when the store is ready,
 * else (create = 1) a write txn that creates, stamps or migrates. Returns 0,
 * 1 ("needs a write txn") when create == 0, or an error. */
static int
open_dbis(struct akv_store *st, int create)
{
	MDB_dbi *h[] = {&st->meta, &st->sub, &st->impu, &st->sqn, &st->changes};
	MDB_txn *txn;
	uint32_t ver = 0;
	int rc, err;

	err = akv_store_txn_begin(st, create ? 0 : MDB_RDONLY, &txn);
	if (err)
		return err;
	rc = mdb_dbi_open(txn, "meta", create ? MDB_CREATE : 0, h[0]);
	if (rc == MDB_NOTFOUND && !create) {
		akv_store_txn_abort(st, txn);
		return 1;
	}
	if (rc)
		goto lmdb_fail;
	rc = get_u32(txn, st->meta, "schema", &ver);
	if (rc == MDB_NOTFOUND) {
		MDB_stat ms;
		MDB_dbi main_db;
		uint8_t v[4] = {AKV_STORE_SCHEMA, 0, 0, 0};
		MDB_val k = {6, "schema"}, d = {4, v};

		if (!create) {
			akv_store_txn_abort(st, txn);
			return 1;
		}
		/* A fresh store has exactly one named DB (the meta we just made). */
		if ((rc = mdb_dbi_open(txn, NULL, 0, &main_db)) ||
		    (rc = mdb_stat(txn, main_db, &ms)))
			goto lmdb_fail;
		if (ms.ms_entries != 1) {
			akv_store_detail("%s is an LMDB environment of something else (no akavs "
					 "schema)", st->dir);
			err = AKV_ESCHEMA;
			goto fail;
		}
		if ((rc = mdb_put(txn, st->meta, &k, &d, 0)))
			goto lmdb_fail;
		/* A store created with a master key is sealed from its first
		 * record on: no plaintext K/OPc ever reaches its file. */
		if (st->open_key && (err = akv_store_seal_meta_put(st, txn, st->open_key, NULL)))
			goto fail;
		ver = AKV_STORE_SCHEMA;
	} else if (rc == MDB_CORRUPTED) {
		akv_store_detail("meta schema: bad length (corrupt store?)");
		err = AKV_ESCHEMA;
		goto fail;
	} else if (rc) {
		goto lmdb_fail;
	}
	if (ver > AKV_STORE_SCHEMA) {
		akv_store_detail("store schema v%u is newer than this akavs (v%u): use a newer "
				 "akavs", ver, AKV_STORE_SCHEMA);
		err = AKV_ESCHEMA;
		goto fail;
	}
	if (ver < AKV_STORE_SCHEMA) {
		if (!create) {
			akv_store_txn_abort(st, txn);
			return 1;
		}
		for (; ver < AKV_STORE_SCHEMA; ver++) {
			if (!migrations[ver]) {
				akv_store_detail("store schema v%u is older than this akavs (v%u) "
						 "and has no migration: export it with the akavs "
						 "that made it, then import",
						 ver, AKV_STORE_SCHEMA);
				err = AKV_ESCHEMA;
				goto fail;
			}
			if ((err = migrations[ver](st, txn)))
				goto fail;
		}
	}
	for (int i = 1; i < 5; i++) {
		rc = mdb_dbi_open(txn, dbi_names[i], create ? MDB_CREATE : 0, h[i]);
		if (rc == MDB_NOTFOUND && !create) {
			akv_store_txn_abort(st, txn);
			return 1;
		}
		if (rc)
			goto lmdb_fail;
	}
	if (create && ver != AKV_STORE_SCHEMA) {
		uint8_t v[4] = {AKV_STORE_SCHEMA, 0, 0, 0};
		MDB_val k = {6, "schema"}, d = {4, v};

		if ((rc = mdb_put(txn, st->meta, &k, &d, 0)))
			goto lmdb_fail;
	}
	return akv_store_txn_commit(st, txn, create);
lmdb_fail:
	err = akv_store_mdb_err(rc);
fail:
	akv_store_txn_abort(st, txn);
	return err;
}

/* LMDB records a new map size in the store only when a write commits: make
 * one (meta "map" = the size asked for), so a grown map persists. */
static int
record_map_size(struct akv_store *st)
{
	MDB_envinfo ei;
	MDB_txn *txn;
	uint8_t b[8];
	MDB_val k = {3, "map"}, d = {8, b};
	int rc, e;

	if ((rc = mdb_env_info(st->env, &ei)))
		return akv_store_mdb_err(rc);
	if ((e = akv_store_txn_begin(st, 0, &txn)))
		return e;
	akv_store_put_le64(b, ei.me_mapsize);
	if ((rc = mdb_put(txn, st->meta, &k, &d, 0))) {
		akv_store_txn_abort(st, txn);
		return akv_store_mdb_err(rc);
	}
	if ((e = akv_store_txn_commit(st, txn, 1)))
		return e;
	/* The map never shrinks (LMDB keeps the larger recorded size): adopt
	 * what the store now records, so stats tell the truth. */
	return akv_store_mdb_err(mdb_env_set_mapsize(st->env, 0));
}

/* see store.h */
struct akv_store *
akv_store_open(const char *dir, const struct akv_store_opts *opts, int *err)
{
	static const struct akv_store_opts defaults = {0};
	struct akv_store *st;
	char data[PATH_MAX + 16];
	struct stat sb;
	unsigned envflags = MDB_NOTLS | MDB_NORDAHEAD;
	int rc, exists, e;

	detail[0] = 0;
	if (!opts)
		opts = &defaults;
	if (!dir)
		dir = AKV_STORE_DEFAULT_DIR;
	if (strlen(dir) >= PATH_MAX) {
		akv_store_detail("store path too long");
		*err = AKV_EINVAL;
		return NULL;
	}
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	exists = stat(data, &sb) == 0;
	if (!exists && (opts->flags & (AKV_STORE_NOCREATE | AKV_STORE_RDONLY))) {
		akv_store_detail("no store in %s (create one with `akavs db init --db %s`)", dir,
				 dir);
		*err = -ENOENT;
		return NULL;
	}
	if (!exists && mkdir(dir, 0700) && errno != EEXIST) {
		e = errno;
		akv_store_detail("cannot create store directory %s: %s", dir, strerror(e));
		*err = -e;
		return NULL;
	}

	st = akv_calloc(1, sizeof(*st));
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	st->flags = opts->flags;
	pthread_rwlock_init(&st->resize, NULL);
	pthread_mutex_init(&st->dbi_lock, NULL);
	if ((rc = mdb_env_create(&st->env)))
		goto lmdb_fail;
	if ((rc = mdb_env_set_maxdbs(st->env, AKV_STORE_MAX_DBS)))
		goto lmdb_fail;
	if ((rc = mdb_env_set_maxreaders(st->env, opts->max_readers ? opts->max_readers
							: AKV_STORE_DEFAULT_READERS)))
		goto lmdb_fail;
	if (opts->map_size || !exists) {
		/* 0 for an existing store: LMDB keeps the size recorded in it. */
		rc = mdb_env_set_mapsize(st->env, opts->map_size ? opts->map_size
								 : AKV_STORE_DEFAULT_MAP);
		if (rc)
			goto lmdb_fail;
	}
	if (opts->flags & AKV_STORE_RDONLY)
		envflags |= MDB_RDONLY;
	if (opts->flags & AKV_STORE_NOSYNC)
		envflags |= MDB_NOSYNC;
	rc = mdb_env_open(st->env, dir, envflags, 0600);
	if (rc) {
		e = akv_store_mdb_err(rc);
		akv_store_detail("cannot open store %s: %s", dir,
				 rc > 0 ? strerror(rc) : mdb_strerror(rc));
		goto fail_env;
	}
	st->open_key = opts->master_key;
	e = open_dbis(st, 0);
	if (e == 1) {
		if (opts->flags & AKV_STORE_RDONLY) {
			akv_store_detail("store %s lacks akavs schema v%u (`akavs db init` "
					 "creates or migrates it)", dir, AKV_STORE_SCHEMA);
			e = AKV_ESCHEMA;
		} else {
			e = open_dbis(st, 1);
		}
	}
	st->open_key = NULL;
	if (!e)
		e = akv_store_seal_open(st, opts->master_key);
	if (!e && opts->map_size && !(opts->flags & AKV_STORE_RDONLY))
		e = record_map_size(st);
	if (e)
		goto fail_env;
	*err = 0;
	return st;
lmdb_fail:
	e = akv_store_mdb_err(rc);
fail_env:
	if (st->env)
		mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->resize);
	pthread_mutex_destroy(&st->dbi_lock);
	akv_wipe(st->rec_key, sizeof(st->rec_key));
	akv_free(st);
	*err = e;
	return NULL;
}

/* see store.h */
void
akv_store_close(struct akv_store *st)
{
	if (!st)
		return;
	mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->resize);
	pthread_mutex_destroy(&st->dbi_lock);
	akv_wipe(st->rec_key, sizeof(st->rec_key));
	akv_free(st);
}

/* see store.h */
int
akv_store_sync(struct akv_store *st)
{
	return akv_store_mdb_err(mdb_env_sync(st->env, 1));
}

/* see store.h */
MDB_env *
akv_store_env(struct akv_store *st)
{
	return st->env;
}

/* see store.h */
int
akv_store_dbi_open(struct akv_store *st, const char *name, unsigned mdb_flags, MDB_dbi *dbi)
{
	MDB_txn *txn;
	int rc, err;

	for (size_t i = 0; i < sizeof(dbi_names) / sizeof(dbi_names[0]); i++)
		if (!name || !strcmp(name, dbi_names[i])) {
			akv_store_detail("database name %s is reserved by the store",
					 name ? name : "(main)");
			return AKV_EINVAL;
		}
	pthread_mutex_lock(&st->dbi_lock);
	err = akv_store_txn_begin(st, (st->flags & AKV_STORE_RDONLY) ? MDB_RDONLY : 0, &txn);
	if (err)
		goto out;
	rc = mdb_dbi_open(txn, name,
			  mdb_flags | ((st->flags & AKV_STORE_RDONLY) ? 0 : MDB_CREATE), dbi);
	if (rc) {
		err = akv_store_mdb_err(rc);
		akv_store_txn_abort(st, txn);
		goto out;
	}
	err = akv_store_txn_commit(st, txn, !(st->flags & AKV_STORE_RDONLY));
out:
	pthread_mutex_unlock(&st->dbi_lock);
	return err;
}

/* ==== Reads ==== */

struct akv_store_reader {
	struct akv_store *st;
	MDB_txn *txn;		/* reset when not active */
	int active;		/* renewed, holds st->resize shared */
	int pinned;		/* explicit akv_store_reader_begin() */
	uint64_t txns;		/* renews, for akv_store_reader_txns() */
	/* Sealed store: this reader's AES-GCM context, built at its first read
	 * (and again after seal/rekey, seal_epoch), so a cache fill costs no
	 * allocation or key schedule per record. */
	struct akv_seal_ctx *sx;
	unsigned sx_epoch;
	struct akv_store_boot_memo bm;	/* of the current txn */
};

/* see store.h */
struct akv_store_reader *
akv_store_reader_new(struct akv_store *st, int *err)
{
	struct akv_store_reader *r = akv_calloc(1, sizeof(*r));
	int e;

	r->st = st;
	e = akv_store_txn_begin(st, MDB_RDONLY, &r->txn);
	if (e) {
		akv_free(r);
		*err = e;
		return NULL;
	}
	mdb_txn_reset(r->txn);
	pthread_rwlock_unlock(&st->resize);
	*err = 0;
	return r;
}

/* see store.h */
void
akv_store_reader_free(struct akv_store_reader *r)
{
	if (!r)
		return;
	if (r->active) {
		mdb_txn_reset(r->txn);
		pthread_rwlock_unlock(&r->st->resize);
	}
	mdb_txn_abort(r->txn);
	akv_seal_ctx_free(r->sx);
	akv_free(r);
}

static int
reader_renew(struct akv_store_reader *r)
{
	struct akv_store *st = r->st;
	int rc, e;

	pthread_rwlock_rdlock(&st->resize);
	r->bm.known = 0;	/* a new snapshot */
	rc = mdb_txn_renew(r->txn);
	if (!rc) {
		r->active = 1;
		r->txns++;
		return 0;
	}
	pthread_rwlock_unlock(&st->resize);
	if (rc != MDB_MAP_RESIZED)
		return akv_store_mdb_err(rc);
	/* Replace the txn: a failed renew leaves it unusable. */
	mdb_txn_abort(r->txn);
	r->txn = NULL;
	if ((e = adopt_resize(st)) || (e = akv_store_txn_begin(st, MDB_RDONLY, &r->txn))) {
		/* Keep the reader freeable: a fresh reset txn if we can. */
		if (!r->txn && !mdb_txn_begin(st->env, NULL, MDB_RDONLY, &r->txn))
			mdb_txn_reset(r->txn);
		return e;
	}
	r->active = 1;
	r->txns++;
	return 0;
}

static void
reader_release(struct akv_store_reader *r)
{
	mdb_txn_reset(r->txn);
	r->active = 0;
	pthread_rwlock_unlock(&r->st->resize);
}

/* see store.h */
uint64_t
akv_store_reader_txns(const struct akv_store_reader *r)
{
	return r->txns;
}

/* see store.h */
uint64_t
akv_store_reg_gen(struct akv_store *st)
{
	/* acquire: pairs with the bump after the writer's commit, so a reader
	 * that sees the new value also sees the committed records */
	return atomic_load_explicit(&st->reg_gen, memory_order_acquire);
}

/* see store.h */
void
akv_store_reg_gen_bump(struct akv_store *st)
{
	atomic_fetch_add_explicit(&st->reg_gen, 1, memory_order_release);
}

/* see store.h */
int
akv_store_reader_begin(struct akv_store_reader *r)
{
	int e;

	if (r->active)
		return 0;
	e = reader_renew(r);
	if (!e)
		r->pinned = 1;
	return e;
}

/* see store.h */
void
akv_store_reader_end(struct akv_store_reader *r)
{
	if (r->active)
		reader_release(r);
	r->pinned = 0;
}

/* see store.h */
MDB_txn *
akv_store_reader_txn(struct akv_store_reader *r)
{
	return r->pinned && r->active ? r->txn : NULL;
}

/* Reads subscriber `impi` in `txn` into *out (record + seq_reserved). */
int
akv_store_get_txn(struct akv_store *st, MDB_txn *txn, struct akv_seal_ctx *sx,
		  struct akv_store_boot_memo *bm, const char *impi, size_t len, struct akv_sub *out)
{
	MDB_val k = {len, (void *)impi}, d;
	int rc, e;

	if (len == 0 || len > AKV_ID_MAX) {
		akv_store_detail("IMPI length %zu out of range 1..%d", len, AKV_ID_MAX);
		return AKV_EINVAL;
	}
	rc = mdb_get(txn, st->sub, &k, &d);
	if (rc == MDB_NOTFOUND) {
		akv_store_detail("no subscriber %.*s", (int)len, impi);
		return AKV_ENOTFOUND;
	}
	if (rc)
		return akv_store_mdb_err(rc);
	memcpy(out->impi, impi, len);
	out->impi[len] = 0;
	out->impi_len = (uint16_t)len;
	if ((e = akv_store_rec_decode(d.mv_data, d.mv_size, sx, out)))
		return e;
	out->seq_reserved = out->seq_rec = out->seq_boot = out->seq_window = 0;
	rc = mdb_get(txn, st->sqn, &k, &d);
	if (!rc && (d.mv_size == 8 || d.mv_size == 24)) {
		out->seq_rec = akv_store_le64(d.mv_data);
		if (d.mv_size == 24) {
			out->seq_boot = akv_store_le64((const uint8_t *)d.mv_data + 8);
			out->seq_window = akv_store_le64((const uint8_t *)d.mv_data + 16);
		}
		/* what any run so far may have issued: the latest run's window */
		if (out->seq_window && !bm->known) {
			if ((e = akv_store_meta_u64(txn, st->meta, "boot", &bm->boot))) {
				akv_store_sub_wipe(out);
				return e;
			}
			bm->known = 1;
		}
		out->seq_reserved = akv_store_seq_in_boot(out->seq_rec, out->seq_boot,
							  out->seq_window, bm->boot);
	} else if (rc != MDB_NOTFOUND) {
		akv_store_sub_wipe(out);
		if (!rc) {
			akv_store_detail("%.*s: SQN reservation record has a bad length",
					 (int)len, impi);
			return AKV_ESTORE;
		}
		return akv_store_mdb_err(rc);
	}
	return 0;
}

static int
impu_txn(struct akv_store *st, MDB_txn *txn, const char *impu, size_t len,
	 char impi_out[AKV_ID_MAX + 1], size_t *impi_len)
{
	MDB_val k = {len, (void *)impu}, d;
	int rc;

	if (len == 0 || len > AKV_ID_MAX) {
		akv_store_detail("IMPU length %zu out of range 1..%d", len, AKV_ID_MAX);
		return AKV_EINVAL;
	}
	rc = mdb_get(txn, st->impu, &k, &d);
	if (rc == MDB_NOTFOUND) {
		akv_store_detail("no subscriber has IMPU %.*s", (int)len, impu);
		return AKV_ENOTFOUND;
	}
	if (rc)
		return akv_store_mdb_err(rc);
	if (d.mv_size == 0 || d.mv_size > AKV_ID_MAX) {
		akv_store_detail("IMPU %.*s: index entry has a bad length", (int)len, impu);
		return AKV_ESTORE;
	}
	memcpy(impi_out, d.mv_data, d.mv_size);
	impi_out[d.mv_size] = 0;
	*impi_len = d.mv_size;
	return 0;
}

/* see store.h */
int
akv_store_reader_get(struct akv_store_reader *r, const char *impi, size_t len,
		     struct akv_sub *out)
{
	int e;

	if (r->st->sealed && (!r->sx || r->sx_epoch != r->st->seal_epoch)) {
		akv_seal_ctx_free(r->sx);
		r->sx = NULL;
		if ((e = akv_store_seal_ctx(r->st, &r->sx)))
			return e;
		r->sx_epoch = r->st->seal_epoch;
	}
	if (!r->active && (e = reader_renew(r)))
		return e;
	e = akv_store_get_txn(r->st, r->txn, r->st->sealed ? r->sx : NULL, &r->bm, impi, len,
			      out);
	if (!r->pinned)
		reader_release(r);
	return e;
}

/* see store.h */
int
akv_store_reader_impu(struct akv_store_reader *r, const char *impu, size_t len,
		      char impi_out[AKV_ID_MAX + 1], size_t *impi_len)
{
	int e;

	if (!r->active && (e = reader_renew(r)))
		return e;
	e = impu_txn(r->st, r->txn, impu, len, impi_out, impi_len);
	if (!r->pinned)
		reader_release(r);
	return e;
}

/* see store.h */
int
akv_store_get(struct akv_store *st, const char *impi, size_t len, struct akv_sub *out)
{
	struct akv_store_boot_memo bm = {0, 0};
	struct akv_seal_ctx *sx;
	MDB_txn *txn;
	int e = akv_store_seal_ctx(st, &sx);

	if (e)
		return e;
	if (!(e = akv_store_txn_begin(st, MDB_RDONLY, &txn))) {
		e = akv_store_get_txn(st, txn, sx, &bm, impi, len, out);
		akv_store_txn_abort(st, txn);
	}
	akv_seal_ctx_free(sx);
	return e;
}

/* see store.h */
int
akv_store_impu_owner(struct akv_store *st, const char *impu, size_t len,
		     char impi_out[AKV_ID_MAX + 1], size_t *impi_len)
{
	MDB_txn *txn;
	int e = akv_store_txn_begin(st, MDB_RDONLY, &txn);

	if (e)
		return e;
	e = impu_txn(st, txn, impu, len, impi_out, impi_len);
	akv_store_txn_abort(st, txn);
	return e;
}

/* see store.h */
int
akv_store_iterate(struct akv_store *st, akv_store_iter_fn fn, void *arg)
{
	struct akv_sub *s = akv_malloc(sizeof(*s));
	struct akv_store_boot_memo bm = {0, 0};
	struct akv_seal_ctx *sx = NULL;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	MDB_val k, d;
	int rc, e;

	if ((e = akv_store_seal_ctx(st, &sx)))
		goto out_free;
	e = akv_store_txn_begin(st, MDB_RDONLY, &txn);
	if (e)
		goto out_free;
	if ((rc = mdb_cursor_open(txn, st->sub, &cur))) {
		e = akv_store_mdb_err(rc);
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size > AKV_ID_MAX) {
			akv_store_detail("subscriber key of bad length %zu (corrupt store?)",
					 k.mv_size);
			e = AKV_ESTORE;
			goto out;
		}
		if ((e = akv_store_get_txn(st, txn, sx, &bm, k.mv_data, k.mv_size, s)))
			goto out;
		e = fn(arg, s);
		akv_store_sub_wipe(s);
		if (e)
			goto out;
	}
	if (rc != MDB_NOTFOUND)
		e = akv_store_mdb_err(rc);
out:
	if (cur)
		mdb_cursor_close(cur);
	akv_store_txn_abort(st, txn);
out_free:
	akv_seal_ctx_free(sx);
	akv_store_sub_wipe(s);
	akv_free(s);
	return e;
}

/* see store.h */
int
akv_store_count(struct akv_store *st, uint64_t *n)
{
	MDB_txn *txn;
	MDB_stat ms;
	int rc, e = akv_store_txn_begin(st, MDB_RDONLY, &txn);

	if (e)
		return e;
	rc = mdb_stat(txn, st->sub, &ms);
	akv_store_txn_abort(st, txn);
	if (rc)
		return akv_store_mdb_err(rc);
	*n = ms.ms_entries;
	return 0;
}

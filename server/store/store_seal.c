/*
 * store_seal.c - the store side of K/OPc encryption at rest: meta "seal",
 * the key check at open, seal/unseal/rekey of every record in one write
 * transaction, and the compacting rewrite that drops replaced pages.
 * Record layout in store.c, primitives in seal.c, contract in store.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"
#include "store/seal.h"
#include "store/store.h"
#include "store/store_int.h"

/* meta "seal": format byte, HKDF salt, key check bytes. */
#define SEAL_META_FORMAT 1
#define SEAL_META_LEN	 (1 + AKV_SEAL_SALT_LEN + AKV_SEAL_CHECK_LEN)

static const MDB_val seal_key = {4, "seal"};

/* see store_int.h */
int
akv_store_seal_meta_put(struct akv_store *st, MDB_txn *txn,
			const uint8_t master[AKV_MASTER_KEY_LEN], uint8_t rec_key[AKV_SEAL_KEY_LEN])
{
	uint8_t v[SEAL_META_LEN], key[AKV_SEAL_KEY_LEN];
	MDB_val k = seal_key, d = {sizeof(v), v};
	int rc;

	v[0] = SEAL_META_FORMAT;
	/* A fresh salt per seal/rekey: a new record key even when the same
	 * master key seals another store or this one again (RFC 5869 3.1). */
	if (akv_rand_bytes(v + 1, AKV_SEAL_SALT_LEN) ||
	    akv_seal_derive(master, v + 1, key, v + 1 + AKV_SEAL_SALT_LEN)) {
		akv_store_detail("deriving the store keys failed (RNG or OpenSSL)");
		return AKV_ESTORE;
	}
	rc = mdb_put(txn, st->meta, &k, &d, 0);
	if (!rc && rec_key)
		memcpy(rec_key, key, sizeof(key));
	akv_wipe(key, sizeof(key));
	return akv_store_mdb_err(rc);
}

/* see store_int.h */
int
akv_store_seal_open(struct akv_store *st, const uint8_t *master)
{
	uint8_t key[AKV_SEAL_KEY_LEN], check[AKV_SEAL_CHECK_LEN], v[SEAL_META_LEN];
	MDB_val k = seal_key, d;
	MDB_txn *txn;
	int rc, e;

	if ((e = akv_store_txn_begin(st, MDB_RDONLY, &txn)))
		return e;
	rc = mdb_get(txn, st->meta, &k, &d);
	if (!rc && d.mv_size == sizeof(v))
		memcpy(v, d.mv_data, sizeof(v));
	akv_store_txn_abort(st, txn);
	if (rc == MDB_NOTFOUND) {
		if (!master)
			return 0;
		akv_store_detail("store %s is not sealed (its K/OPc are plaintext): open it "
				 "without a master key, or seal it first with `akavs db seal "
				 "--db %s --master-key-file FILE`", st->dir, st->dir);
		return AKV_EKEY;
	}
	if (rc)
		return akv_store_mdb_err(rc);
	if (d.mv_size != sizeof(v) || v[0] != SEAL_META_FORMAT) {
		akv_store_detail("store %s: meta seal has an unknown format (corrupt, or made by "
				 "a newer akavs)", st->dir);
		return AKV_ESCHEMA;
	}
	if (!master) {
		akv_store_detail("store %s is sealed: --master-key-file required", st->dir);
		return AKV_EKEY;
	}
	if (akv_seal_derive(master, v + 1, key, check)) {
		akv_store_detail("deriving the store keys failed (OpenSSL)");
		return AKV_ESTORE;
	}
	/* Constant time: the check bytes are derived from the master key. */
	e = akv_ct_eq(check, v + 1 + AKV_SEAL_SALT_LEN, sizeof(check));
	akv_wipe(check, sizeof(check));
	if (e) {
		akv_wipe(key, sizeof(key));
		akv_store_detail("master key does not match store %s", st->dir);
		return AKV_EKEY;
	}
	memcpy(st->rec_key, key, sizeof(key));
	akv_wipe(key, sizeof(key));
	st->sealed = 1;
	return 0;
}

/* see store.h */
int
akv_store_sealed(const struct akv_store *st)
{
	return st->sealed;
}

/* ==== Exclusive use ==== */

struct other {
	pid_t self, found;
};

/* mdb_reader_list line: "%10d %zx %s" (pid, thread, txnid), or a header. */
static int
on_reader(const char *msg, void *arg)
{
	struct other *o = arg;
	int pid;

	if (sscanf(msg, "%d", &pid) == 1 && pid > 0 && pid != o->self && !o->found)
		o->found = pid;
	return 0;
}

/* AKV_EBUSY when another live process holds a reader slot of the store (a
 * server's workers keep theirs while running). */
static int
exclusive(struct akv_store *st, const char *what)
{
	struct other o = {getpid(), 0};
	int dead;

	if (st->flags & AKV_STORE_RDONLY) {
		akv_store_detail("store opened read-only");
		return -EACCES;
	}
	mdb_reader_check(st->env, &dead);	/* drop slots of dead processes */
	mdb_reader_list(st->env, on_reader, &o);
	if (!o.found)
		return 0;
	akv_store_detail("process %d has store %s open: stop `akavs serve` and other akavs "
			 "commands on it before %s", (int)o.found, st->dir, what);
	return AKV_EBUSY;
}

/* ==== Conversion ==== */

/* Rewrites every record of `sub` in txn from `from` to `to` (NULL:
 * plaintext). A record that does not open stops it (detail names it). */
static int
convert_all(struct akv_store *st, MDB_txn *txn, struct akv_seal_ctx *from, struct akv_seal_ctx *to)
{
	uint8_t rec[AKV_STORE_REC_MAX];
	struct akv_sub *s = akv_malloc(sizeof(*s));
	MDB_cursor *cur;
	MDB_val k, d;
	int rc, e = 0;

	if ((rc = mdb_cursor_open(txn, st->sub, &cur))) {
		akv_free(s);
		return akv_store_mdb_err(rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		size_t n;

		if (k.mv_size == 0 || k.mv_size > AKV_ID_MAX) {
			akv_store_detail("subscriber key of bad length %zu (corrupt store?)",
					 k.mv_size);
			e = AKV_ESTORE;
			break;
		}
		memcpy(s->impi, k.mv_data, k.mv_size);
		s->impi[k.mv_size] = 0;
		s->impi_len = (uint16_t)k.mv_size;
		if ((e = akv_store_rec_decode(d.mv_data, d.mv_size, from, s)))
			break;
		n = akv_store_rec_encode(s, to, rec);
		akv_store_sub_wipe(s);
		if (!n) {
			e = AKV_ESTORE;
			break;
		}
		/* Same key, new size: LMDB replaces the item (delete + insert)
		 * and leaves the cursor on it. The key is passed from our copy:
		 * k.mv_data points into the page the delete rewrites. */
		k = (MDB_val){s->impi_len, s->impi};
		d = (MDB_val){n, rec};
		if ((rc = mdb_cursor_put(cur, &k, &d, MDB_CURRENT))) {
			e = akv_store_mdb_err(rc);
			break;
		}
	}
	if (!e && rc != MDB_NOTFOUND)
		e = akv_store_mdb_err(rc);
	mdb_cursor_close(cur);
	akv_wipe(rec, sizeof(rec));
	akv_store_sub_wipe(s);
	akv_free(s);
	return e;
}

/* The three conversions: records from the store's current state to sealed
 * under new_master (NULL: plaintext), meta "seal" rewritten or deleted, one
 * transaction. */
static int
reseal(struct akv_store *st, const uint8_t *new_master, const char *what)
{
	uint8_t key[AKV_SEAL_KEY_LEN];
	struct akv_seal_ctx *from = NULL, *to = NULL;
	MDB_txn *txn;
	int rc, e;

	if ((e = exclusive(st, what)) || (e = akv_store_seal_ctx(st, &from)))
		return e;
	if ((e = akv_store_txn_begin(st, 0, &txn)))
		goto out;
	if (new_master) {
		if ((e = akv_store_seal_meta_put(st, txn, new_master, key)))
			goto abort;
		if (!(to = akv_seal_ctx_new(key))) {
			akv_store_detail("cannot set up AES-256-GCM (OpenSSL)");
			e = AKV_ESTORE;
			goto abort;
		}
	} else {
		MDB_val k = seal_key;

		rc = mdb_del(txn, st->meta, &k, NULL);
		if (rc && rc != MDB_NOTFOUND) {
			e = akv_store_mdb_err(rc);
			goto abort;
		}
	}
	if ((e = convert_all(st, txn, from, to)))
		goto abort;
	if ((e = akv_store_txn_commit(st, txn, 1)))
		goto out;
	/* Committed: this handle now reads and writes the new way; readers
	 * rebuild their contexts at their next read (seal_epoch). */
	st->sealed = new_master != NULL;
	if (new_master)
		memcpy(st->rec_key, key, sizeof(key));
	else
		akv_wipe(st->rec_key, sizeof(st->rec_key));
	st->seal_epoch++;
	goto out;
abort:
	akv_store_txn_abort(st, txn);
out:
	akv_wipe(key, sizeof(key));
	akv_seal_ctx_free(from);
	akv_seal_ctx_free(to);
	return e;
}

/* see store.h */
int
akv_store_seal(struct akv_store *st, const uint8_t *master_key)
{
	if (st->sealed) {
		akv_store_detail("store %s is already sealed (`akavs db rekey` changes its "
				 "master key)", st->dir);
		return AKV_EINVAL;
	}
	return reseal(st, master_key, "sealing it");
}

/* see store.h */
int
akv_store_unseal(struct akv_store *st)
{
	if (!st->sealed) {
		akv_store_detail("store %s is not sealed", st->dir);
		return AKV_EINVAL;
	}
	return reseal(st, NULL, "unsealing it");
}

/* see store.h */
int
akv_store_rekey(struct akv_store *st, const uint8_t *new_master_key)
{
	if (!st->sealed) {
		akv_store_detail("store %s is not sealed (`akavs db seal` seals it)", st->dir);
		return AKV_EINVAL;
	}
	return reseal(st, new_master_key, "changing its master key");
}

/* ==== Compaction ==== */

/* see store.h */
int
akv_store_compact(struct akv_store *st)
{
	char tmp[PATH_MAX + 32], dst[PATH_MAX + 16];
	int fd, dfd, rc, e;

	if ((e = exclusive(st, "compacting it")))
		return e;
	snprintf(tmp, sizeof(tmp), "%s/data.mdb.compact", st->dir);
	snprintf(dst, sizeof(dst), "%s/data.mdb", st->dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		e = -errno;
		akv_store_detail("cannot create %s: %s", tmp, strerror(-e));
		return e;
	}
	/* Only the pages in use are copied: freed pages (replaced records)
	 * are left behind with the old file. */
	rc = mdb_env_copyfd2(st->env, fd, MDB_CP_COMPACT);
	if (rc) {
		e = akv_store_mdb_err(rc);
		close(fd);
		unlink(tmp);
		return e;
	}
	if (fsync(fd) || close(fd)) {
		e = -errno;
		akv_store_detail("writing %s: %s", tmp, strerror(-e));
		unlink(tmp);
		return e;
	}
	if (rename(tmp, dst)) {
		e = -errno;
		akv_store_detail("renaming %s to %s: %s", tmp, dst, strerror(-e));
		unlink(tmp);
		return e;
	}
	/* The rename itself must survive a crash. */
	dfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

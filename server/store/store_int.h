/*
 * store_int.h - internals shared by store.c and store_wr.c (not a public
 * header: use store.h).
 */
#ifndef AKV_SERVER_STORE_STORE_INT_H
#define AKV_SERVER_STORE_STORE_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <lmdb.h>

#include "store/seal.h"
#include "store/store.h"

#define AKV_STORE_MAX_DBS 32	/* named DBs in one env, ours + siblings' */
/* Largest encoded subscriber record (a sealed one: nonce and tag more). */
#define AKV_STORE_REC_MAX \
	(46 + AKV_SEAL_NONCE_LEN + AKV_SEAL_TAG_LEN + AKV_STORE_MAX_IMPUS * (1 + AKV_ID_MAX))

struct akv_store {
	MDB_env *env;
	MDB_dbi meta, sub, impu, sqn, changes;
	unsigned flags;			/* AKV_STORE_RDONLY, ... */
	pthread_rwlock_t resize;	/* shared by every live txn, see store.c */
	pthread_mutex_t dbi_lock;	/* mdb_dbi_open is not concurrent-safe */
	_Atomic uint64_t commits, seq_commits;
	_Atomic uint64_t reg_gen;	/* see akv_store_reg_gen(); in memory only */
	/* K/OPc at rest (store_seal.c): set at open and by seal/unseal/rekey,
	 * which bump seal_epoch so readers rebuild their sealing context. */
	int sealed;
	unsigned seal_epoch;
	uint8_t rec_key[AKV_SEAL_KEY_LEN];	/* derived record-sealing key */
	const uint8_t *open_key;		/* master key, during akv_store_open only */
	char dir[PATH_MAX];
};

/* printf-style text for akv_store_errdetail(). */
void akv_store_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* akv_store_txn_begin/abort/commit are public (store.h). */

/* Record codec (schema 1). sx: the sealing context of a sealed store (K and
 * OPc sealed with the IMPI and the rest of the record as AAD), NULL for a
 * plaintext store. encode needs AKV_STORE_REC_MAX bytes and returns the
 * length, or 0 when sealing failed (detail set). decode fills all of *s but
 * the IMPI (which must be set first: messages, and the AAD); a record of the
 * other kind than the store's, or one whose seal does not open, is
 * AKV_ESTORE with the IMPI in the detail. */
size_t akv_store_rec_encode(const struct akv_sub *s, struct akv_seal_ctx *sx, uint8_t *buf);
int akv_store_rec_decode(const uint8_t *buf, size_t len, struct akv_seal_ctx *sx,
			 struct akv_sub *s);

/* A sealing context for one operation on st: NULL in *sx for a plaintext
 * store. Returns 0 or AKV_ESTORE. Free with akv_seal_ctx_free(). */
int akv_store_seal_ctx(struct akv_store *st, struct akv_seal_ctx **sx);

/* The run counter (meta "boot", store.h "Boot windows") as one transaction
 * sees it: read at the first record that needs it, then reused. Zero it
 * for each new transaction. */
struct akv_store_boot_memo {
	uint64_t boot;
	int known;
};

/* Reads subscriber impi in txn (record and reservation; bm: txn's memo). */
int akv_store_get_txn(struct akv_store *st, MDB_txn *txn, struct akv_seal_ctx *sx,
		      struct akv_store_boot_memo *bm, const char *impi, size_t len,
		      struct akv_sub *out);

/* store_seal.c: writes meta "seal" (fresh salt, check bytes of `master`)
 * in txn; the derived record key goes to rec_key when non-NULL. */
int akv_store_seal_meta_put(struct akv_store *st, MDB_txn *txn,
			    const uint8_t master[AKV_MASTER_KEY_LEN],
			    uint8_t rec_key[AKV_SEAL_KEY_LEN]);
/* store_seal.c: at open, after the databases: compares meta "seal" with
 * master (may be NULL) and sets st->sealed / st->rec_key, or refuses. */
int akv_store_seal_open(struct akv_store *st, const uint8_t *master);
/* meta u64 (absent -> 0). */
int akv_store_meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v);

uint64_t akv_store_le64(const void *p);
void akv_store_put_le64(void *p, uint64_t v);
uint64_t akv_store_now_ms(void);

#endif

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

#include "store/store.h"

#define AKV_STORE_MAX_DBS 32	/* named DBs in one env, ours + siblings' */
/* Largest encoded subscriber record. */
#define AKV_STORE_REC_MAX (46 + AKV_STORE_MAX_IMPUS * (1 + AKV_ID_MAX))

struct akv_store {
	MDB_env *env;
	MDB_dbi meta, sub, impu, sqn, changes;
	unsigned flags;			/* AKV_STORE_RDONLY, ... */
	pthread_rwlock_t resize;	/* shared by every live txn, see store.c */
	pthread_mutex_t dbi_lock;	/* mdb_dbi_open is not concurrent-safe */
	_Atomic uint64_t commits, seq_commits;
	_Atomic uint64_t reg_gen;	/* see akv_store_reg_gen(); in memory only */
	char dir[PATH_MAX];
};

/* printf-style text for akv_store_errdetail(). */
void akv_store_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* akv_store_txn_begin/abort/commit are public (store.h). */

/* Record codec (schema 1). encode needs AKV_STORE_REC_MAX bytes; decode
 * fills all of *s but the IMPI (which must be set first, for messages). */
size_t akv_store_rec_encode(const struct akv_sub *s, uint8_t *buf);
int akv_store_rec_decode(const uint8_t *buf, size_t len, struct akv_sub *s);

int akv_store_get_txn(struct akv_store *st, MDB_txn *txn, const char *impi, size_t len,
		      struct akv_sub *out);
/* meta u64 (absent -> 0). */
int akv_store_meta_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v);

uint64_t akv_store_le64(const void *p);
void akv_store_put_le64(void *p, uint64_t v);
uint64_t akv_store_now_ms(void);

#endif

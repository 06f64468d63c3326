/*
 * store_wr.c - store writes (put, del, batch add, SQN reservations), the
 * change log for live provisioning, stats and the consistency check.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "store/store.h"
#include "store/store_int.h"

/* ==== Write transaction with change logging ==== */

struct wtx {
	MDB_txn *txn;
	uint64_t gen0, gen;	/* generation at begin, and after the changes logged */
	uint64_t now_ms;
};

static int
wtx_begin(struct akv_store *st, struct wtx *w)
{
	int e = akv_store_txn_begin(st, 0, &w->txn);

	if (e)
		return e;
	e = akv_store_meta_u64(w->txn, st->meta, "gen", &w->gen0);
	if (e) {
		akv_store_txn_abort(st, w->txn);
		return e;
	}
	w->gen = w->gen0;
	w->now_ms = akv_store_now_ms();
	return 0;
}

/* Appends (gen -> now || impi) to `changes`; impi NULL = everything. */
static int
log_change(struct akv_store *st, struct wtx *w, const char *impi, size_t len)
{
	uint8_t kb[8], vb[8 + AKV_ID_MAX];
	MDB_val k = {8, kb}, d = {8 + len, vb};

	w->gen++;
	for (int i = 0; i < 8; i++)
		kb[i] = (uint8_t)(w->gen >> (56 - 8 * i));	/* big-endian: sorted by gen */
	akv_store_put_le64(vb, w->now_ms);
	if (len)
		memcpy(vb + 8, impi, len);
	return akv_store_mdb_err(mdb_put(w->txn, st->changes, &k, &d, MDB_APPEND));
}

static int
put_meta_u64(struct akv_store *st, MDB_txn *txn, const char *key, uint64_t v)
{
	uint8_t b[8];
	MDB_val k = {strlen(key), (void *)key}, d = {8, b};

	akv_store_put_le64(b, v);
	return akv_store_mdb_err(mdb_put(txn, st->meta, &k, &d, 0));
}

/* Drops change entries older than AKV_STORE_CHANGES_KEEP_MS, a bounded
 * number per transaction so no write pays for a long backlog at once. */
static int
trim_changes(struct akv_store *st, struct wtx *w)
{
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t trimmed = 0;
	int rc, n = 0;

	if ((rc = mdb_cursor_open(w->txn, st->changes, &cur)))
		return akv_store_mdb_err(rc);
	while (n < 1024 && !(rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST))) {
		const uint8_t *kb = k.mv_data;

		if (k.mv_size != 8 || d.mv_size < 8 ||
		    akv_store_le64(d.mv_data) + AKV_STORE_CHANGES_KEEP_MS > w->now_ms)
			break;
		trimmed = 0;
		for (int i = 0; i < 8; i++)
			trimmed = trimmed << 8 | kb[i];
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
		n++;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return akv_store_mdb_err(rc);
	return trimmed ? put_meta_u64(st, w->txn, "trim", trimmed) : 0;
}

static int
wtx_commit(struct akv_store *st, struct wtx *w)
{
	int e = 0;

	if (w->gen != w->gen0) {
		if ((e = put_meta_u64(st, w->txn, "gen", w->gen)) || (e = trim_changes(st, w))) {
			akv_store_txn_abort(st, w->txn);
			return e;
		}
	}
	return akv_store_txn_commit(st, w->txn, 1);
}

/* ==== Room for deletes ====
 *
 * LMDB is copy-on-write: even a delete needs free pages, so a map filled to
 * the last page cannot shrink either. Provisioning writes that add data are
 * therefore refused once less than a headroom (1/64 of the map, at least 48
 * pages) is left; deletes and the engine's SQN reservations may use it. */
static int
check_room(struct akv_store *st)
{
	MDB_txn *txn;
	MDB_envinfo ei;
	MDB_stat ms;
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t pages, used, freed = 0, headroom;
	int rc;

	if ((rc = mdb_env_info(st->env, &ei)) || (rc = mdb_env_stat(st->env, &ms)))
		return akv_store_mdb_err(rc);
	/* Pages on the free list (FREE_DBI = 0): each value is an IDL whose
	 * first word is its page count (as mdb_stat -f reads it). LMDB opens no
	 * cursor on it in a write txn: read the last commit's (the caller's
	 * write txn holds st->resize, and MDB_NOTLS allows a read txn beside). */
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)))
		return akv_store_mdb_err(rc);
	if ((rc = mdb_cursor_open(txn, 0, &cur))) {
		mdb_txn_abort(txn);
		return akv_store_mdb_err(rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		if (d.mv_size >= sizeof(size_t))
			freed += *(const size_t *)d.mv_data;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	pages = ei.me_mapsize / ms.ms_psize;
	used = ei.me_last_pgno + 1 > freed ? ei.me_last_pgno + 1 - freed : 0;
	headroom = pages / 64 > 48 ? pages / 64 : 48;
	if (used + headroom <= pages)
		return 0;
	akv_store_detail("store map full (%llu of %llu KiB in use): nothing was written; deletes "
			 "still work; grow the map with --map-size",
			 (unsigned long long)(used * ms.ms_psize / 1024),
			 (unsigned long long)(ei.me_mapsize / 1024));
	return AKV_EMAP_FULL;
}

/* ==== put / del ==== */

static int
same_id(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && !memcmp(a, b, alen);
}

static int
lists_impu(const struct akv_sub *s, const void *impu, size_t len)
{
	for (unsigned i = 0; i < s->nimpu; i++)
		if (same_id(s->impu[i], s->impu_len[i], impu, len))
			return 1;
	return 0;
}

/* Claims IMPU i of s in the index. Taken by another IMPI -> AKV_EEXISTS. */
static int
claim_impu(struct akv_store *st, MDB_txn *txn, const struct akv_sub *s, unsigned i)
{
	MDB_val k = {s->impu_len[i], (void *)s->impu[i]}, d = {s->impi_len, (void *)s->impi};
	int rc = mdb_put(txn, st->impu, &k, &d, MDB_NOOVERWRITE);

	if (rc == MDB_KEYEXIST) {
		/* d now holds the current owner. */
		if (same_id(d.mv_data, d.mv_size, s->impi, s->impi_len))
			return 0;
		akv_store_detail("IMPU %.*s already belongs to IMPI %.*s", (int)s->impu_len[i],
				 s->impu[i], (int)(d.mv_size > AKV_ID_MAX ? 0 : d.mv_size),
				 (const char *)d.mv_data);
		return AKV_EEXISTS;
	}
	return akv_store_mdb_err(rc);
}

/* Removes index entry impu -> s->impi (only if it points to s). */
static int
release_impu(struct akv_store *st, MDB_txn *txn, const struct akv_sub *s, const char *impu,
	     size_t len)
{
	MDB_val k = {len, (void *)impu}, d;
	int rc = mdb_get(txn, st->impu, &k, &d);

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return akv_store_mdb_err(rc);
	if (!same_id(d.mv_data, d.mv_size, s->impi, s->impi_len))
		return 0;
	rc = mdb_del(txn, st->impu, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : akv_store_mdb_err(rc);
}

/* see store.h */
int
akv_store_put(struct akv_store *st, const struct akv_sub *sub, enum akv_store_put_mode mode)
{
	uint8_t rec[AKV_STORE_REC_MAX];
	struct akv_sub *old = NULL;
	struct akv_seal_ctx *sx = NULL;
	MDB_val k = {sub->impi_len, (void *)sub->impi}, d;
	struct wtx w;
	int rc, e;

	if (mode != AKV_STORE_ADD && mode != AKV_STORE_SET) {
		akv_store_detail("bad put mode %d", (int)mode);
		return AKV_EINVAL;
	}
	if ((e = akv_store_sub_validate(sub)))
		return e;
	if ((e = akv_store_seal_ctx(st, &sx)))
		return e;
	if ((e = wtx_begin(st, &w))) {
		akv_seal_ctx_free(sx);
		return e;
	}
	if ((e = check_room(st)))
		goto fail;
	rc = mdb_get(w.txn, st->sub, &k, &d);
	if (rc && rc != MDB_NOTFOUND) {
		e = akv_store_mdb_err(rc);
		goto fail;
	}
	if (mode == AKV_STORE_ADD && !rc) {
		akv_store_detail("subscriber %.*s already exists", (int)sub->impi_len, sub->impi);
		e = AKV_EEXISTS;
		goto fail;
	}
	if (mode == AKV_STORE_SET && rc) {
		akv_store_detail("no subscriber %.*s", (int)sub->impi_len, sub->impi);
		e = AKV_ENOTFOUND;
		goto fail;
	}
	if (mode == AKV_STORE_SET) {
		/* Release the IMPUs the new record no longer lists. */
		old = akv_malloc(sizeof(*old));
		memcpy(old->impi, sub->impi, sub->impi_len);
		old->impi[sub->impi_len] = 0;
		old->impi_len = sub->impi_len;
		if ((e = akv_store_rec_decode(d.mv_data, d.mv_size, sx, old)))
			goto fail;
		for (unsigned i = 0; i < old->nimpu; i++)
			if (!lists_impu(sub, old->impu[i], old->impu_len[i]) &&
			    (e = release_impu(st, w.txn, old, old->impu[i], old->impu_len[i])))
				goto fail;
	}
	for (unsigned i = 0; i < sub->nimpu; i++)
		if ((e = claim_impu(st, w.txn, sub, i)))
			goto fail;
	d.mv_size = akv_store_rec_encode(sub, sx, rec);
	d.mv_data = rec;
	if (!d.mv_size) {
		e = AKV_ESTORE;
		goto fail;
	}
	rc = mdb_put(w.txn, st->sub, &k, &d, 0);
	akv_wipe(rec, sizeof(rec));
	if (rc) {
		e = akv_store_mdb_err(rc);
		goto fail;
	}
	if ((e = log_change(st, &w, sub->impi, sub->impi_len)))
		goto fail;
	e = wtx_commit(st, &w);
	goto out;
fail:
	akv_store_txn_abort(st, w.txn);
out:
	akv_wipe(rec, sizeof(rec));
	akv_seal_ctx_free(sx);
	if (old) {
		akv_store_sub_wipe(old);
		akv_free(old);
	}
	return e;
}

/* see store.h */
int
akv_store_del(struct akv_store *st, const char *impi, size_t len)
{
	struct akv_store_boot_memo bm = {0, 0};
	struct akv_seal_ctx *sx = NULL;
	struct akv_sub *old;
	struct wtx w;
	int rc, e;

	if (len == 0 || len > AKV_ID_MAX) {
		akv_store_detail("IMPI length %zu out of range 1..%d", len, AKV_ID_MAX);
		return AKV_EINVAL;
	}
	if ((e = akv_store_seal_ctx(st, &sx)))
		return e;
	if ((e = wtx_begin(st, &w))) {
		akv_seal_ctx_free(sx);
		return e;
	}
	old = akv_malloc(sizeof(*old));
	if ((e = akv_store_get_txn(st, w.txn, sx, &bm, impi, len, old)))
		goto fail;
	for (unsigned i = 0; i < old->nimpu; i++)
		if ((e = release_impu(st, w.txn, old, old->impu[i], old->impu_len[i])))
			goto fail;
	rc = mdb_del(w.txn, st->sub, &(MDB_val){len, (void *)impi}, NULL);
	if (rc) {
		e = akv_store_mdb_err(rc);
		goto fail;
	}
	/* The `sqn` reservation stays: a re-added IMPI continues above it. */
	if ((e = log_change(st, &w, impi, len)))
		goto fail;
	e = wtx_commit(st, &w);
	goto out;
fail:
	akv_store_txn_abort(st, w.txn);
out:
	akv_seal_ctx_free(sx);
	akv_store_sub_wipe(old);
	akv_free(old);
	return e;
}

/* ==== Batch add (import) ==== */

/* Puts with MDB_APPEND while keys arrive in increasing order (sorted input:
 * no page splits, pages filled completely), else an ordinary insert. */
static int
put_maybe_append(MDB_cursor *cur, MDB_val *k, MDB_val *d)
{
	int rc = mdb_cursor_put(cur, k, d, MDB_APPEND);

	if (rc != MDB_KEYEXIST)
		return rc;
	return mdb_cursor_put(cur, k, d, MDB_NOOVERWRITE);
}

/* IMPU index entries of a batch, inserted after the records in IMPU order
 * (append path: full pages, no splits; IMPUs rarely sort like IMPIs). */
struct ipair {
	uint64_t off;		/* key (IMPU) then value (IMPI) bytes in the arena */
	uint32_t rec;		/* record index in the batch */
	uint8_t klen, vlen;
};

struct ipairs {
	struct ipair *v;
	size_t n, cap;
	uint8_t *arena;
	size_t used, acap;
};

static void
ipairs_add(struct ipairs *p, const struct akv_sub *s, unsigned j, size_t rec)
{
	size_t need = (size_t)s->impu_len[j] + s->impi_len;

	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 1024;
		p->v = akv_realloc(p->v, p->cap * sizeof(*p->v));
	}
	if (p->used + need > p->acap || !p->arena) {	/* acap is 0 until the arena is */
		p->acap = p->acap ? 2 * p->acap : 65536;
		while (p->used + need > p->acap)
			p->acap *= 2;
		p->arena = akv_realloc(p->arena, p->acap);
	}
	p->v[p->n++] = (struct ipair){p->used, (uint32_t)rec, s->impu_len[j],
				      (uint8_t)s->impi_len};
	memcpy(p->arena + p->used, s->impu[j], s->impu_len[j]);
	memcpy(p->arena + p->used + s->impu_len[j], s->impi, s->impi_len);
	p->used += need;
}

static int
cmp_ipair(const void *a, const void *b, void *arg)
{
	const struct ipair *x = a, *y = b;
	const uint8_t *ar = arg;
	int c = memcmp(ar + x->off, ar + y->off, x->klen < y->klen ? x->klen : y->klen);

	if (c)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->rec < y->rec ? -1 : x->rec > y->rec;
}

/* Inserts the sorted IMPU entries. On a conflict sets *badrec. */
static int
put_impus(struct akv_store *st, MDB_txn *txn, struct ipairs *p, size_t *badrec)
{
	MDB_cursor *cur;
	int rc, e = 0;

	if (p->n > 1)	/* qsort of a NULL, empty array is undefined */
		qsort_r(p->v, p->n, sizeof(*p->v), cmp_ipair, p->arena);
	if ((rc = mdb_cursor_open(txn, st->impu, &cur)))
		return akv_store_mdb_err(rc);
	for (size_t i = 0; i < p->n; i++) {
		const struct ipair *x = &p->v[i];
		const char *key = (const char *)p->arena + x->off;
		MDB_val k = {x->klen, (void *)key}, d = {x->vlen, (void *)(key + x->klen)};

		/* Sorted: the same IMPU twice in the batch is adjacent. */
		if (i && p->v[i - 1].klen == x->klen &&
		    !memcmp(p->arena + p->v[i - 1].off, key, x->klen)) {
			const struct ipair *w = &p->v[i - 1];

			const char *wv = (const char *)p->arena + w->off + w->klen;

			akv_store_detail("IMPU %.*s listed by IMPI %.*s and IMPI %.*s",
					 (int)x->klen, key, (int)w->vlen, wv, (int)x->vlen,
					 key + x->klen);
			*badrec = x->rec;
			e = AKV_EEXISTS;
			break;
		}
		rc = put_maybe_append(cur, &k, &d);
		if (rc == MDB_KEYEXIST) {
			/* In the store already: name the owner. */
			if (!mdb_get(txn, st->impu, &k, &d)) {
				int olen = d.mv_size > AKV_ID_MAX ? 0 : (int)d.mv_size;

				akv_store_detail("IMPU %.*s already belongs to IMPI %.*s",
						 (int)x->klen, key, olen, (const char *)d.mv_data);
			}
			*badrec = x->rec;
			e = AKV_EEXISTS;
			break;
		}
		if (rc) {
			e = akv_store_mdb_err(rc);
			break;
		}
	}
	mdb_cursor_close(cur);
	return e;
}

/* see store.h */
int
akv_store_add_batch(struct akv_store *st, size_t n, akv_store_next_fn next, void *arg,
		    size_t *bad)
{
	uint8_t rec[AKV_STORE_REC_MAX];
	struct akv_sub *s = akv_malloc(sizeof(*s));
	struct akv_seal_ctx *sx = NULL;
	struct ipairs ip = {0};
	MDB_cursor *csub = NULL;
	struct wtx w;
	size_t i = n;
	int rc, e;

	if (bad)
		*bad = n;
	if (n > UINT32_MAX) {
		akv_store_detail("batch of %zu records is too big", n);
		e = AKV_EINVAL;
		goto out_free;
	}
	if ((e = akv_store_seal_ctx(st, &sx)))
		goto out_free;
	if ((e = wtx_begin(st, &w)))
		goto out_free;
	if (n && (e = check_room(st)))
		goto fail;
	if ((rc = mdb_cursor_open(w.txn, st->sub, &csub))) {
		e = akv_store_mdb_err(rc);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		MDB_val k, d;

		memset(s, 0, offsetof(struct akv_sub, impu_len));
		if ((e = next(arg, i, s)) || (e = akv_store_sub_validate(s)))
			goto fail;
		k = (MDB_val){s->impi_len, s->impi};
		d = (MDB_val){akv_store_rec_encode(s, sx, rec), rec};
		if (!d.mv_size) {
			e = AKV_ESTORE;
			i = n;
			goto fail;
		}
		rc = put_maybe_append(csub, &k, &d);
		if (rc == MDB_KEYEXIST) {
			akv_store_detail("subscriber %.*s already exists", (int)s->impi_len,
					 s->impi);
			e = AKV_EEXISTS;
			goto fail;
		}
		if (rc) {
			e = akv_store_mdb_err(rc);
			i = n;	/* not this record's fault */
			goto fail;
		}
		for (unsigned j = 0; j < s->nimpu; j++)
			ipairs_add(&ip, s, j, i);
		if (n <= AKV_STORE_CHANGES_BULK && (e = log_change(st, &w, s->impi, s->impi_len))) {
			i = n;
			goto fail;
		}
		akv_store_sub_wipe(s);
	}
	mdb_cursor_close(csub);
	csub = NULL;
	i = n;
	if ((e = put_impus(st, w.txn, &ip, &i)))
		goto fail;
	if (n > AKV_STORE_CHANGES_BULK && (e = log_change(st, &w, NULL, 0)))
		goto fail;
	if (n == 0) {
		akv_store_txn_abort(st, w.txn);
		e = 0;
		goto out_free;
	}
	e = wtx_commit(st, &w);
	goto out_free;
fail:
	if (bad)
		*bad = i;
	if (csub)
		mdb_cursor_close(csub);
	akv_store_txn_abort(st, w.txn);
out_free:
	akv_seal_ctx_free(sx);
	akv_wipe(rec, sizeof(rec));
	akv_store_sub_wipe(s);
	akv_free(s);
	akv_free(ip.v);
	akv_free(ip.arena);
	return e;
}

/* ==== SQN reservations (engine) ==== */

/* see store.h */
int
akv_store_seq_reserve(struct akv_store *st, const struct akv_store_seq *u, size_t n)
{
	MDB_txn *txn;
	int rc = 0, e;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (u[i].impi_len == 0 || u[i].impi_len > AKV_ID_MAX ||
		    u[i].seq_reserved > AKV_STORE_SQN_MAX || u[i].window > AKV_STORE_SQN_MAX ||
		    (u[i].window && !u[i].boot)) {
			akv_store_detail("SQN reservation %zu: bad IMPI length, SQN or window over "
					 "48 bits, or a window without a run", i);
			return AKV_EINVAL;
		}
	if ((e = akv_store_txn_begin(st, 0, &txn)))
		return e;
	for (size_t i = 0; i < n && !rc; i++) {
		uint8_t b[24];
		MDB_val k = {u[i].impi_len, (void *)u[i].impi}, d;

		/* Reservations only move up: a lower value (an engine bug, or two
		 * engines racing) must never reopen SQNs already handed out. The
		 * stored one counts with the windows of the runs since it was
		 * written (store.h "Boot windows"). */
		rc = mdb_get(txn, st->sqn, &k, &d);
		if (!rc && (d.mv_size == 8 || d.mv_size == 24)) {
			const uint8_t *v = d.mv_data;
			uint64_t old = akv_store_le64(v);

			if (d.mv_size == 24)
				old = akv_store_seq_in_boot(old, akv_store_le64(v + 8),
							    akv_store_le64(v + 16), u[i].boot);
			if (old >= u[i].seq_reserved)
				continue;
		}
		if (rc && rc != MDB_NOTFOUND)
			break;
		akv_store_put_le64(b, u[i].seq_reserved);
		akv_store_put_le64(b + 8, u[i].boot);
		akv_store_put_le64(b + 16, u[i].window);
		d = (MDB_val){24, b};
		rc = mdb_put(txn, st->sqn, &k, &d, 0);
	}
	if (rc) {
		e = akv_store_mdb_err(rc);
		akv_store_txn_abort(st, txn);
		return e;
	}
	e = akv_store_txn_commit(st, txn, 1);
	if (!e)
		atomic_fetch_add_explicit(&st->seq_commits, 1, memory_order_relaxed);
	return e;
}

/* see store.h */
int
akv_store_boot_begin(struct akv_store *st, uint64_t *boot)
{
	uint64_t b = 0;
	uint8_t v[8];
	MDB_val k = {4, (void *)"boot"}, d = {8, v};
	MDB_txn *txn;
	int e, rc;

	if ((e = akv_store_txn_begin(st, 0, &txn)))
		return e;
	if ((e = akv_store_meta_u64(txn, st->meta, "boot", &b))) {
		akv_store_txn_abort(st, txn);
		return e;
	}
	akv_store_put_le64(v, b + 1);
	if ((rc = mdb_put(txn, st->meta, &k, &d, 0))) {
		akv_store_txn_abort(st, txn);
		return akv_store_mdb_err(rc);
	}
	/* durable before the run issues anything: its window rests on it */
	if ((e = akv_store_txn_commit(st, txn, 1)))
		return e;
	*boot = b + 1;
	return 0;
}

/* ==== Changes ==== */

/* see store.h */
int
akv_store_generation(struct akv_store *st, uint64_t *gen)
{
	MDB_txn *txn;
	int e = akv_store_txn_begin(st, MDB_RDONLY, &txn);

	if (e)
		return e;
	e = akv_store_meta_u64(txn, st->meta, "gen", gen);
	akv_store_txn_abort(st, txn);
	return e;
}

/* see store.h */
int
akv_store_changes_since(struct akv_store *st, uint64_t since, akv_store_change_fn fn,
			void *arg, uint64_t *last)
{
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	uint64_t gen, trim;
	uint8_t kb[8];
	MDB_val k = {8, kb}, d;
	int rc, e;

	*last = since;
	if ((e = akv_store_txn_begin(st, MDB_RDONLY, &txn)))
		return e;
	if ((e = akv_store_meta_u64(txn, st->meta, "gen", &gen)) ||
	    (e = akv_store_meta_u64(txn, st->meta, "trim", &trim)))
		goto out;
	if (gen == since)
		goto out;
	if (gen < since || since < trim) {
		/* A different store, or history already trimmed: start over. */
		*last = gen;
		if ((e = fn(arg, NULL, 0)) || gen < since)
			goto out;
	}
	if ((rc = mdb_cursor_open(txn, st->changes, &cur))) {
		e = akv_store_mdb_err(rc);
		goto out;
	}
	for (int i = 0; i < 8; i++)
		kb[i] = (uint8_t)((since + 1) >> (56 - 8 * i));
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const uint8_t *p = k.mv_data;
		uint64_t g = 0;

		if (k.mv_size != 8 || d.mv_size < 8 || d.mv_size > 8 + AKV_ID_MAX) {
			akv_store_detail("change log entry of bad size (corrupt store?)");
			e = AKV_ESTORE;
			goto out;
		}
		for (int i = 0; i < 8; i++)
			g = g << 8 | p[i];
		if (g > gen)
			break;
		*last = g;
		e = fn(arg, d.mv_size > 8 ? (const char *)d.mv_data + 8 : NULL, d.mv_size - 8);
		if (e)
			goto out;
	}
	if (rc && rc != MDB_NOTFOUND) {
		e = akv_store_mdb_err(rc);
		goto out;
	}
	*last = gen;
out:
	if (cur)
		mdb_cursor_close(cur);
	akv_store_txn_abort(st, txn);
	return e;
}

/* ==== Stats ==== */

/* see store.h */
int
akv_store_stats(struct akv_store *st, struct akv_store_stats *out)
{
	MDB_dbi dbis[] = {st->meta, st->sub, st->impu, st->sqn, st->changes};
	MDB_envinfo ei;
	MDB_stat ms;
	MDB_txn *txn;
	uint32_t ver = 0;
	int rc, e;

	memset(out, 0, sizeof(*out));
	if ((e = akv_store_txn_begin(st, MDB_RDONLY, &txn)))
		return e;
	for (int i = 0; i < 5; i++) {
		if ((rc = mdb_stat(txn, dbis[i], &ms)))
			goto lmdb_fail;
		out->data_bytes += (uint64_t)ms.ms_psize *
				   (ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages);
		out->page_size = ms.ms_psize;
		if (i == 1)
			out->subscribers = ms.ms_entries;
		else if (i == 2)
			out->impus = ms.ms_entries;
		else if (i == 3)
			out->sqn_records = ms.ms_entries;
		else if (i == 4)
			out->changes = ms.ms_entries;
	}
	{
		MDB_val k = {6, "schema"}, d;

		if (!mdb_get(txn, st->meta, &k, &d) && d.mv_size == 4)
			ver = ((const uint8_t *)d.mv_data)[0] |
			      (uint32_t)((const uint8_t *)d.mv_data)[1] << 8;
		out->schema = ver;
	}
	if ((e = akv_store_meta_u64(txn, st->meta, "gen", &out->generation)))
		goto fail;
	if ((rc = mdb_env_info(st->env, &ei)))
		goto lmdb_fail;
	out->map_size = ei.me_mapsize;
	out->map_used = (uint64_t)(ei.me_last_pgno + 1) * out->page_size;
	out->max_readers = ei.me_maxreaders;
	out->readers_used = ei.me_numreaders;
	out->commits = atomic_load_explicit(&st->commits, memory_order_relaxed);
	out->seq_commits = atomic_load_explicit(&st->seq_commits, memory_order_relaxed);
	out->sealed = (uint32_t)st->sealed;
	akv_store_txn_abort(st, txn);
	return 0;
lmdb_fail:
	e = akv_store_mdb_err(rc);
fail:
	akv_store_txn_abort(st, txn);
	return e;
}

/* ==== Check ==== */

struct check {
	void (*report)(void *arg, const char *text);
	void *arg;
	uint64_t problems;
};

static void __attribute__((format(printf, 2, 3)))
problem(struct check *c, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	c->problems++;
	if (c->report)
		c->report(c->arg, text);
}

/* Identities printed in check reports: printable or replaced. */
static const char *
shown(const void *p, size_t len, char out[AKV_ID_MAX + 1])
{
	const unsigned char *s = p;
	size_t n = len > AKV_ID_MAX ? AKV_ID_MAX : len;

	for (size_t i = 0; i < n; i++)
		out[i] = (s[i] < 0x20 || s[i] >= 0x7f) ? '?' : (char)s[i];
	out[n] = 0;
	return out;
}

static int
check_subs(struct akv_store *st, MDB_txn *txn, struct check *c, struct akv_seal_ctx *sx,
	   struct akv_sub *s)
{
	char a[AKV_ID_MAX + 1];
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(txn, st->sub, &cur)))
		return akv_store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size > AKV_ID_MAX) {
			problem(c, "subscriber key of length %zu", k.mv_size);
			continue;
		}
		memcpy(s->impi, k.mv_data, k.mv_size);
		s->impi[k.mv_size] = 0;
		s->impi_len = (uint16_t)k.mv_size;
		if (akv_store_rec_decode(d.mv_data, d.mv_size, sx, s)) {
			/* The detail ("IMPI: why") tells an undecodable record
			 * from a seal that does not open or plaintext K/OPc in
			 * a sealed store. */
			const char *why = akv_store_errdetail();

			if (!strncmp(why, k.mv_data, k.mv_size) &&
			    !strncmp(why + k.mv_size, ": ", 2))
				why += k.mv_size + 2;
			if (strstr(why, "does not decode"))
				why = "record does not decode";
			problem(c, "subscriber %s: %s", shown(k.mv_data, k.mv_size, a), why);
			continue;
		}
		if (akv_store_sub_validate(s))
			problem(c, "subscriber %s: %s", shown(k.mv_data, k.mv_size, a),
				akv_store_errdetail());
		for (unsigned i = 0; i < s->nimpu; i++) {
			MDB_val ik = {s->impu_len[i], s->impu[i]}, iv;
			char b[AKV_ID_MAX + 1];

			rc = mdb_get(txn, st->impu, &ik, &iv);
			if (rc == MDB_NOTFOUND)
				problem(c, "subscriber %s: IMPU %s missing from the IMPU index",
					shown(k.mv_data, k.mv_size, a),
					shown(s->impu[i], s->impu_len[i], b));
			else if (rc)
				break;
			else if (!same_id(iv.mv_data, iv.mv_size, k.mv_data, k.mv_size))
				problem(c, "subscriber %s: IMPU %s is indexed to another IMPI",
					shown(k.mv_data, k.mv_size, a),
					shown(s->impu[i], s->impu_len[i], b));
		}
		akv_store_sub_wipe(s);
		if (rc && rc != MDB_NOTFOUND)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : akv_store_mdb_err(rc);
}

static int
check_impus(struct akv_store *st, MDB_txn *txn, struct check *c, struct akv_seal_ctx *sx,
	    struct akv_sub *s)
{
	struct akv_store_boot_memo bm = {0, 0};
	char a[AKV_ID_MAX + 1], b[AKV_ID_MAX + 1];
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(txn, st->impu, &cur)))
		return akv_store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		int e;

		if (d.mv_size == 0 || d.mv_size > AKV_ID_MAX) {
			problem(c, "IMPU %s: index value of length %zu",
				shown(k.mv_data, k.mv_size, a), d.mv_size);
			continue;
		}
		e = akv_store_get_txn(st, txn, sx, &bm, d.mv_data, d.mv_size, s);
		if (e == AKV_ENOTFOUND)
			problem(c, "IMPU %s: indexed to missing IMPI %s",
				shown(k.mv_data, k.mv_size, a), shown(d.mv_data, d.mv_size, b));
		else if (!e && !lists_impu(s, k.mv_data, k.mv_size))
			problem(c, "IMPU %s: indexed to IMPI %s, which does not list it",
				shown(k.mv_data, k.mv_size, a), shown(d.mv_data, d.mv_size, b));
		/* A record that does not decode was reported by check_subs. */
		akv_store_sub_wipe(s);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : akv_store_mdb_err(rc);
}

static int
check_misc(struct akv_store *st, MDB_txn *txn, struct check *c)
{
	char a[AKV_ID_MAX + 1];
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t gen = 0, last = 0;
	int rc;

	if (akv_store_meta_u64(txn, st->meta, "gen", &gen))
		problem(c, "meta gen: %s", akv_store_errdetail());
	if ((rc = mdb_cursor_open(txn, st->sqn, &cur)))
		return akv_store_mdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		if ((d.mv_size != 8 && d.mv_size != 24) ||
		    akv_store_le64(d.mv_data) > AKV_STORE_SQN_MAX ||
		    (d.mv_size == 24 &&
		     akv_store_le64((const uint8_t *)d.mv_data + 16) > AKV_STORE_SQN_MAX))
			problem(c, "SQN reservation of %s: bad value",
				shown(k.mv_data, k.mv_size, a));
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return akv_store_mdb_err(rc);
	if ((rc = mdb_cursor_open(txn, st->changes, &cur)))
		return akv_store_mdb_err(rc);
	if (!mdb_cursor_get(cur, &k, &d, MDB_LAST) && k.mv_size == 8) {
		for (int i = 0; i < 8; i++)
			last = last << 8 | ((const uint8_t *)k.mv_data)[i];
		if (last > gen)
			problem(c, "change log is ahead of the generation (%llu > %llu)",
				(unsigned long long)last, (unsigned long long)gen);
	}
	mdb_cursor_close(cur);
	return 0;
}

/* see store.h */
int
akv_store_check(struct akv_store *st, void (*report)(void *arg, const char *text), void *arg,
		uint64_t *nproblems)
{
	struct check c = {report, arg, 0};
	struct akv_sub *s = akv_malloc(sizeof(*s));
	struct akv_seal_ctx *sx = NULL;
	MDB_txn *txn;
	int e;

	if (nproblems)
		*nproblems = 0;
	if ((e = akv_store_seal_ctx(st, &sx)) || (e = akv_store_txn_begin(st, MDB_RDONLY, &txn)))
		goto out;
	if (!(e = check_subs(st, txn, &c, sx, s)) && !(e = check_impus(st, txn, &c, sx, s)))
		e = check_misc(st, txn, &c);
	akv_store_txn_abort(st, txn);
	if (nproblems)
		*nproblems = c.problems;
	if (!e && c.problems) {
		akv_store_detail("%llu problem(s) found", (unsigned long long)c.problems);
		e = AKV_ESTORE;
	}
out:
	akv_seal_ctx_free(sx);
	akv_store_sub_wipe(s);
	akv_free(s);
	return e;
}

/*
 * eng.c - the AKA engine of one shard: lookup, SQN bookkeeping, Milenage for
 * a whole batch in one call, pending challenges, verification and policy.
 *
 * Durability of SQN (DESIGN.md "State and durability"): every SQN released
 * is <= the subscriber's reservation in the store (akv_store_seq_reserve),
 * and a reservation is made durable BEFORE any vector above the previous one
 * leaves akv_eng_run(). Reservations run seq_reserve SEQ values ahead; a
 * subscriber whose headroom falls below half of that is queued and written
 * with the next commit (tick, or a batch that must commit anyway), so in the
 * steady state vectors never wait for a commit and all subscribers queued
 * meanwhile share one. With cfg.async_renewals the tick's commit runs on
 * another thread (akv_eng_renewal_take; the server's renewer, wrk/renew.h)
 * and the engine raises seq_res only once it is durable. After a crash the
 * engine restarts above the reservation: a jump of at most seq_reserve + 1
 * < Δ (TS 33.102 C.2.2).
 * With a serving run (cfg.boot, store.h "Boot windows") the restart jumps
 * above the window of the previous runs instead, and the new run's window
 * is a durable reservation already: the first vectors after a restart
 * commit nothing (each idle run adds seq_reserve to the jump).
 */
#include "aka/eng.h"

#include <string.h>

#include "aka/cx.h"
#include "aka/cx_pending.h"
#include "aka/policy.h"
#include "aka/sqn.h"
#include "aka/subcache.h"
#include "aka/verify.h"
#include "err.h"
#include "mem.h"
#include "prefetch.h"
#include "store/store.h"

/* How often the change log is read at most (changes apply within a second). */
#define POLL_INTERVAL_MS 250
/* A batch commits the reservation queue anyway once it is this long. */
#define QUEUE_COMMIT_LEN 4096
#define PENDING_DEFAULT	 8

/* Per-request state of one batch. */
struct rq {
	struct akv_subent *sub;
	uint32_t hash;
	uint32_t vin;		/* first vector in e->in / e->out */
	uint32_t ain;		/* RESYNC: index in e->ain / e->aout */
	uint64_t seq_first;	/* SEQ of the first vector */
	uint8_t ind;
	uint8_t need_commit;	/* its vectors lie above the durable reservation */
	/* what pass 1 found out about the request, so that no later step
	 * decodes its op again */
	uint8_t lookup;		/* checked: its IMPI is looked up */
	uint8_t vecop;		/* CHALLENGE, RESYNC or VECTORS */
	uint8_t pending;	/* ... whose vectors become pending challenges */
};

struct akv_eng {
	struct akv_eng_cfg cfg;
	struct akv_store *st;
	struct akv_store_reader *rd;
	unsigned shard, nshards;
	const struct akv_mil_impl *mil;
	int use_ks;			/* the backend reads akv_mil_in.ks */
	int registrar;			/* Cx registration state only (eng.h) */
	/* Bucket hashes (+1; 0 = free) of subscribers dropped in this run: one
	 * loaded again may have used this run's window already (see
	 * released_before). Open addressing, grows; deletions are rare. */
	uint64_t *gone;
	size_t gone_n, gone_cap;
	unsigned pend_cap;
	uint64_t ind_mask;
	struct akv_subcache *cache;
	struct akv_cx_cache *cx;	/* Cx registration states (cx.c) */
	/* "authentication pending" notes this engine trusts (note_pending) */
	uint64_t pend_gen, pend_epoch_ms;
	uint16_t pend_epoch;
	struct akv_pend_pool pend;
	uint32_t epoch;			/* bumped when "everything changed" */
	uint64_t gen;			/* change-log generation applied */
	uint64_t last_poll_ms;
	int polled;

	/* subscribers whose reservation the next commit writes */
	struct akv_subent **q;
	size_t qn, qcap;
	struct akv_store_seq *seqbuf;

	/* batch scratch, grown on demand, wiped after use */
	struct rq *rq;
	size_t rq_cap;
	struct akv_mil_in *in;
	struct akv_mil_out *out;
	uint8_t *randbuf;
	size_t v_cap;
	struct akv_mil_auts_in *ain;
	struct akv_mil_auts_out *aout;
	size_t a_cap;
	struct akv_sub *rec;		/* one store record (4.4 KB), wiped after use */

	struct akv_eng_stats stats;
	struct akv_eng_durability dur;
};

/* memset plus a compiler barrier: as un-elidable as akv_wipe() but word-wide;
 * the batch scratch holding K, OPc, RES, CK, IK is wiped after every batch. */
static inline void
scrub(void *p, size_t n)
{
	memset(p, 0, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

/* ==== Configuration ==== */

/* see eng.h */
void
akv_eng_cfg_default(struct akv_eng_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ind_bits = 5;		/* TS 33.102 C.3.2: a = 32 */
	cfg->delta = UINT64_C(1) << 28;	/* C.3.2 suggested Δ */
	cfg->seq_reserve = 1000;
	cfg->max_vectors = 8;
	cfg->challenge_ttl_ms = 60000;
	cfg->fail_limit = 3;
	cfg->count_stale_as_fail = 0;
	cfg->pending_per_impi = PENDING_DEFAULT;
	cfg->cx_unreg_services = 1;
}

static int
cfg_check(const struct akv_eng_cfg *c)
{
	if (c->ind_bits > AKV_SQN_IND_BITS_MAX || c->delta < 2 || c->delta > AKV_SQN_MAX)
		return AKV_EINVAL;
	/* a restart jumps at most seq_reserve + 1 SEQ values: must stay within Δ */
	if (c->seq_reserve < 1 || c->seq_reserve >= c->delta)
		return AKV_EINVAL;
	if (c->max_vectors < 1 || c->max_vectors > AKV_VEC_MAX)
		return AKV_EINVAL;
	if (c->challenge_ttl_ms < 1 || c->fail_limit < 1 ||
	    c->fail_limit > AKV_POLICY_LIMIT_MAX || c->pending_per_impi > 255)
		return AKV_EINVAL;
	return 0;
}

/* ==== Lifecycle ==== */

/* A worker's engine, or with `registrar` the registrar's (its cache holds
 * no keys). */
static struct akv_eng *
eng_new(const struct akv_eng_cfg *cfg, struct akv_store *st, unsigned shard, unsigned nshards,
	int registrar, int *err)
{
	struct akv_eng *e;
	int rc;

	rc = cfg_check(cfg);
	if (!rc && (!st || nshards < 1 || shard >= nshards))
		rc = AKV_EINVAL;
	if (rc) {
		*err = rc;
		return NULL;
	}
	e = akv_calloc(1, sizeof(*e));
	e->cfg = *cfg;
	e->registrar = registrar;
	e->pend_epoch = 1;	/* zeroed entries hold epoch 0: never current */
	e->st = st;
	e->shard = shard;
	e->nshards = nshards;
	e->pend_cap = cfg->pending_per_impi ? cfg->pending_per_impi : PENDING_DEFAULT;
	e->ind_mask = (UINT64_C(1) << cfg->ind_bits) - 1;
	e->mil = akv_mil_best();
	/* ref ignores schedules; the others skip key expansion with them */
	e->use_ks = strcmp(e->mil->name, "ref") != 0;
	/* record the generation before caching: no change can fall in between */
	rc = akv_store_generation(st, &e->gen);
	if (!rc)
		e->rd = akv_store_reader_new(st, &rc);
	if (rc) {
		akv_free(e);
		*err = rc;
		return NULL;
	}
	e->cache = akv_subcache_new(!registrar);
	e->cx = akv_cx_cache_new(cfg->cx_cache_off);
	akv_pend_pool_init(&e->pend);
	e->rec = akv_malloc(sizeof(*e->rec));
	*err = 0;
	return e;
}

/* see eng.h */
struct akv_eng *
akv_eng_new(const struct akv_eng_cfg *cfg, struct akv_store *st, unsigned shard,
	    unsigned nshards, int *err)
{
	return eng_new(cfg, st, shard, nshards, 0, err);
}

/* see eng.h */
struct akv_eng *
akv_eng_new_registrar(const struct akv_eng_cfg *cfg, struct akv_store *st, int *err)
{
	return eng_new(cfg, st, 0, 1, 1, err);
}

static void
clear_pending_cb(void *arg, struct akv_subent *s)
{
	struct akv_eng *e = arg;

	akv_pend_clear(&e->pend, &s->pend);
}

/* see eng.h */
void
akv_eng_free(struct akv_eng *e)
{
	if (!e)
		return;
	(void)akv_eng_flush(e);
	akv_subcache_foreach(e->cache, clear_pending_cb, e);
	akv_subcache_free(e->cache);
	akv_cx_cache_free(e->cx);
	akv_pend_pool_fini(&e->pend);
	akv_store_reader_free(e->rd);
	if (e->in) {
		akv_wipe(e->in, e->v_cap * sizeof(*e->in));
		akv_wipe(e->out, e->v_cap * sizeof(*e->out));
	}
	if (e->ain) {
		akv_wipe(e->ain, e->a_cap * sizeof(*e->ain));
		akv_wipe(e->aout, e->a_cap * sizeof(*e->aout));
	}
	akv_free(e->in);
	akv_free(e->out);
	akv_free(e->randbuf);
	akv_free(e->ain);
	akv_free(e->aout);
	akv_free(e->rq);
	akv_free(e->q);
	akv_free(e->seqbuf);
	akv_free(e->gone);
	akv_wipe(e->rec, sizeof(*e->rec));
	akv_free(e->rec);
	akv_free(e);
}

/* see eng.h */
unsigned
akv_eng_shard_of(const char *impi, size_t len, unsigned nshards)
{
	uint32_t h = 2166136261u;	/* FNV-1a, 32 bits */

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)impi[i];
		h *= 16777619u;
	}
	return nshards ? h % nshards : 0;
}

/* see eng.h */
struct akv_store *
akv_eng_store(struct akv_eng *e)
{
	return e->st;
}

/* see eng.h */
struct akv_store_reader *
akv_eng_reader(struct akv_eng *e)
{
	return e->rd;
}

/* see eng.h */
struct akv_subcache *
akv_eng_subcache(struct akv_eng *e)
{
	return e->cache;
}

/* see eng.h */
struct akv_cx_cache *
akv_eng_cx_cache(struct akv_eng *e)
{
	return e->cx;
}

/* see eng.h */
const struct akv_eng_cfg *
akv_eng_config(const struct akv_eng *e)
{
	return &e->cfg;
}

/* see eng.h */
int
akv_eng_owns(const struct akv_eng *e, const char *impi, size_t len)
{
	return e->nshards <= 1 || akv_eng_shard_of(impi, len, e->nshards) == e->shard;
}

/* see eng.h */
struct akv_subent *
akv_eng_sub_find(struct akv_eng *e, const char *impi, size_t len)
{
	if (!len || len > 255)
		return NULL;
	return akv_subcache_find(e->cache, impi, len, akv_subcache_hash(e->cache, impi, len));
}

/* see eng.h */
int
akv_eng_sub_current(const struct akv_eng *e, const struct akv_subent *s)
{
	return s->epoch == e->epoch;
}

/* see eng.h */
void
akv_eng_stats(const struct akv_eng *e, struct akv_eng_stats *out)
{
	*out = e->stats;
	out->cached_subs = akv_subcache_count(e->cache);
	out->cache_bytes = akv_subcache_bytes(e->cache);
}

/* see eng.h */
void
akv_eng_durability(const struct akv_eng *e, struct akv_eng_durability *out)
{
	*out = e->dur;
	out->commits = e->stats.fsyncs;
}

/* see eng.h */
void
akv_eng_mem(const struct akv_eng *e, struct akv_eng_mem *out)
{
	out->cached_subs = akv_subcache_count(e->cache);
	out->cache_bytes = akv_subcache_bytes(e->cache);
	out->pending = e->pend.live;
	out->pending_bytes = akv_pend_pool_bytes(&e->pend);
}

/* ==== Reservations ==== */

static void
queue_add(struct akv_eng *e, struct akv_subent *s)
{
	/* a renewal being written covers it, unless a vector needs more now */
	if ((s->flags & AKV_SUBENT_QUEUED) ||
	    ((s->flags & AKV_SUBENT_RENEWING) && !(s->flags & AKV_SUBENT_FORCED)))
		return;
	if (e->qn == e->qcap) {
		e->qcap = e->qcap ? e->qcap * 2 : 256;
		e->q = akv_realloc(e->q, e->qcap * sizeof(*e->q));
		e->seqbuf = akv_realloc(e->seqbuf, e->qcap * sizeof(*e->seqbuf));
	}
	e->q[e->qn++] = s;
	s->flags |= AKV_SUBENT_QUEUED;
}

static void
queue_del(struct akv_eng *e, struct akv_subent *s)
{
	if (!(s->flags & AKV_SUBENT_QUEUED))
		return;
	for (size_t i = 0; i < e->qn; i++) {
		if (e->q[i] == s) {
			e->q[i] = e->q[--e->qn];
			break;
		}
	}
	s->flags &= (uint8_t)~(AKV_SUBENT_QUEUED | AKV_SUBENT_FORCED);
}

/* s's new reservation, SEQ_HE + seq_reserve, as the store writes it */
static void
reservation_of(const struct akv_eng *e, const struct akv_subent *s, struct akv_store_seq *u)
{
	unsigned b = e->cfg.ind_bits;
	uint64_t to = akv_sqn_reserve_to(s->seq, e->cfg.seq_reserve, b);

	u->impi = s->impi;
	u->impi_len = s->impi_len;
	/* the highest SQN of SEQ `to`, whatever IND: see akv_sqn_start */
	u->seq_reserved = akv_sqn_make(to, (unsigned)e->ind_mask, b);
	/* each later run may issue seq_reserve more SEQ values on top */
	u->boot = e->cfg.boot;
	u->window = e->cfg.boot ? (uint64_t)e->cfg.seq_reserve << b : 0;
}

static void
count_commit(struct akv_eng *e, int rc, size_t n)
{
	if (!rc) {
		e->stats.fsyncs++;
		e->dur.reservations += n;
	} else {
		e->dur.commit_errors++;
		e->stats.store_errors++;
	}
}

/* Writes every queued subscriber's new reservation in ONE store transaction
 * (one fsync). On failure nothing is written and seq_res keeps the durable
 * value. Returns 0 or the store's error. */
static int
commit_queue(struct akv_eng *e)
{
	unsigned b = e->cfg.ind_bits;
	int rc;

	if (!e->qn)
		return 0;
	for (size_t i = 0; i < e->qn; i++)
		reservation_of(e, e->q[i], &e->seqbuf[i]);
	rc = akv_store_seq_reserve(e->st, e->seqbuf, e->qn);
	count_commit(e, rc, e->qn);
	for (size_t i = 0; i < e->qn; i++) {
		struct akv_subent *s = e->q[i];

		if (!rc)
			s->seq_res = akv_sqn_seq(e->seqbuf[i].seq_reserved, b);
		s->flags &= (uint8_t)~(AKV_SUBENT_QUEUED | AKV_SUBENT_FORCED);
	}
	e->qn = 0;
	return rc;
}

/* see eng.h */
int
akv_eng_flush(struct akv_eng *e)
{
	return commit_queue(e);
}

static void
renewal_free(struct akv_eng_renewal *job)
{
	akv_free(job->impis);
	akv_free(job->u);
	akv_free(job);
}

/* see eng.h */
struct akv_eng_renewal *
akv_eng_renewal_take(struct akv_eng *e)
{
	struct akv_eng_renewal *job;
	size_t names = 0, off = 0, n = 0, kept = 0;

	if (!e->qn)
		return NULL;
	for (size_t i = 0; i < e->qn; i++)
		names += e->q[i]->impi_len;
	job = akv_calloc(1, sizeof(*job));
	job->u = akv_calloc(e->qn, sizeof(*job->u));
	job->impis = akv_malloc(names);
	for (size_t i = 0; i < e->qn; i++) {
		struct akv_subent *s = e->q[i];

		/* a forced one commits with its own batch; one is left over
		 * only by a batch that failed before its commit (no RAND):
		 * kept queued for the next commit */
		if (s->flags & AKV_SUBENT_FORCED) {
			e->q[kept++] = s;
			continue;
		}
		reservation_of(e, s, &job->u[n]);
		memcpy(job->impis + off, s->impi, s->impi_len);
		job->u[n++].impi = job->impis + off;
		off += s->impi_len;
		s->flags = (uint8_t)((s->flags & ~AKV_SUBENT_QUEUED) | AKV_SUBENT_RENEWING);
	}
	e->qn = kept;
	job->n = n;
	if (!n) {
		renewal_free(job);
		return NULL;
	}
	return job;
}

/* see eng.h */
void
akv_eng_renewal_done(struct akv_eng *e, struct akv_eng_renewal *job, int rc)
{
	unsigned b = e->cfg.ind_bits;

	count_commit(e, rc, job->n);
	for (size_t i = 0; i < job->n; i++) {
		/* found again by name: a provisioning change may have dropped or
		 * replaced the entry meanwhile */
		struct akv_subent *s = akv_eng_sub_find(e, job->u[i].impi, job->u[i].impi_len);
		uint64_t seq = akv_sqn_seq(job->u[i].seq_reserved, b);

		if (!s)
			continue;
		s->flags &= (uint8_t)~AKV_SUBENT_RENEWING;
		if (rc)
			queue_add(e, s);	/* again with the next one */
		else if (seq > s->seq_res)
			s->seq_res = seq;	/* durable: the store holds it or more */
	}
	renewal_free(job);
}

/* ==== Subscribers ==== */

/* The slot of v in the gone table t (cap a power of two, never full): where
 * it is, or the free slot where it would go. */
static size_t
gone_slot(const uint64_t *t, size_t cap, uint64_t v)
{
	size_t i = (size_t)v & (cap - 1);

	while (t[i] && t[i] != v)
		i = (i + 1) & (cap - 1);
	return i;
}

static void
gone_put(struct akv_eng *e, uint32_t hash)
{
	uint64_t v = (uint64_t)hash + 1;
	size_t i;

	if (2 * (e->gone_n + 1) > e->gone_cap) {
		size_t cap = e->gone_cap ? 2 * e->gone_cap : 64;
		uint64_t *t = akv_calloc(cap, sizeof(*t));

		for (size_t j = 0; j < e->gone_cap; j++)
			if (e->gone[j])
				t[gone_slot(t, cap, e->gone[j])] = e->gone[j];
		akv_free(e->gone);
		e->gone = t;
		e->gone_cap = cap;
	}
	i = gone_slot(e->gone, e->gone_cap, v);
	if (!e->gone[i]) {
		e->gone[i] = v;
		e->gone_n++;
	}
}

static int
gone_has(const struct akv_eng *e, uint32_t hash)
{
	uint64_t v = (uint64_t)hash + 1;

	return e->gone_n && e->gone[gone_slot(e->gone, e->gone_cap, v)] == v;
}

/* Drops a cached subscriber (deleted from the store). */
static void
drop_sub(struct akv_eng *e, struct akv_subent *s)
{
	if (e->cfg.boot)
		gone_put(e, s->hash);
	akv_pend_clear(&e->pend, &s->pend);
	queue_del(e, s);
	akv_subcache_remove(e->cache, s);
}

/* The highest SQN this run may issue to rec's subscriber without another
 * commit: its reservation, counted with the windows up to this run. An
 * engine without a run has only what any run may already have used. */
static uint64_t
allowance(const struct akv_eng *e, const struct akv_sub *rec)
{
	if (!e->cfg.boot)
		return rec->seq_reserved;
	return akv_store_seq_in_boot(rec->seq_rec, rec->seq_boot, rec->seq_window, e->cfg.boot);
}

/* The highest SQN that may have been issued before this engine loads the
 * entry (bucket hash `hash`): up to the window of the run before this one;
 * the reservation itself when it was written in this run; this run's whole
 * window when this engine dropped the subscriber earlier in the run (it may
 * have issued in it then). For an engine without a run, everything any run
 * may have used (the store's seq_reserved). */
static uint64_t
released_before(const struct akv_eng *e, const struct akv_sub *rec, uint32_t hash)
{
	if (!e->cfg.boot)
		return rec->seq_reserved;
	if (rec->seq_boot >= e->cfg.boot)
		return rec->seq_rec;
	if (gone_has(e, hash))
		return allowance(e, rec);
	return akv_store_seq_in_boot(rec->seq_rec, rec->seq_boot, rec->seq_window,
				     e->cfg.boot - 1);
}

/* Applies record rec (s's IMPI, just read) to s: see refresh_sub. The Cx
 * registration state cached in s (keyed by IMPI) stays. */
static void
refresh_from(struct akv_eng *e, struct akv_subent *s, const struct akv_sub *rec)
{
	unsigned b = e->cfg.ind_bits;
	uint64_t start, res;

	if (akv_subcache_update(e->cache, s, rec)) {
		akv_pend_clear(&e->pend, &s->pend);
		s->fails = 0;
	}
	/* The cached SEQ_HE is the truth for what this engine issued; the
	 * operator's SQN is a floor (raising it skips ahead, lowering it is
	 * ignored). The stored reservation is ours: never below seq_res. */
	start = akv_sqn_seq(rec->sqn, b);
	res = akv_sqn_seq(allowance(e, rec), b);
	if (start > s->seq)
		s->seq = start;
	if (res > s->seq_res)
		s->seq_res = res;
	s->epoch = e->epoch;
}

/* Re-reads s from the store after a provisioning change. SEQ_HE and the
 * reservation only go up (the record's values are floors). New keys drop
 * the pending challenges and the failure count. Returns 0,
 * AKV_EUNKNOWN_USER (deleted: s is freed) or a store error (s kept). */
static int
refresh_sub(struct akv_eng *e, struct akv_subent *s)
{
	int rc;

	rc = akv_store_reader_get(e->rd, s->impi, s->impi_len, e->rec);
	if (rc == AKV_ENOTFOUND) {
		drop_sub(e, s);
		rc = AKV_EUNKNOWN_USER;
		goto out;
	}
	if (rc) {
		s->epoch = e->epoch - 1;	/* retry at the next lookup */
		e->stats.store_errors++;
		goto out;
	}
	refresh_from(e, s, e->rec);
out:
	akv_store_sub_wipe(e->rec);
	return rc;
}

/* Inserts the entry of record rec (IMPI not cached). */
static struct akv_subent *
insert_from(struct akv_eng *e, const struct akv_sub *rec, uint32_t hash)
{
	struct akv_subent *s = akv_subcache_insert(e->cache, rec, hash);
	unsigned b = e->cfg.ind_bits;

	/* continue above everything that may have been released before */
	s->seq = akv_sqn_start(released_before(e, rec, hash), rec->sqn, b);
	s->seq_res = akv_sqn_seq(allowance(e, rec), b);
	s->epoch = e->epoch;
	return s;
}

/* The cached entry of impi, loading it from the store on a miss. */
static int
lookup(struct akv_eng *e, const char *impi, size_t len, uint32_t hash, struct akv_subent **out)
{
	struct akv_subent *s = akv_subcache_find(e->cache, impi, len, hash);
	int rc;

	if (s) {
		if (s->epoch != e->epoch) {
			rc = refresh_sub(e, s);
			if (rc)
				return rc;
		}
		*out = s;
		return 0;
	}
	rc = akv_store_reader_get(e->rd, impi, len, e->rec);
	if (rc) {
		akv_store_sub_wipe(e->rec);
		if (rc != AKV_ENOTFOUND)
			e->stats.store_errors++;	/* e.g. a sealed record that does not open */
		return rc == AKV_ENOTFOUND ? AKV_EUNKNOWN_USER : rc;
	}
	s = insert_from(e, e->rec, hash);
	akv_store_sub_wipe(e->rec);
	*out = s;
	return 0;
}

/* see eng.h */
struct akv_subent *
akv_eng_sub_load(struct akv_eng *e, const struct akv_sub *rec)
{
	size_t len = rec->impi_len > 255 ? 255 : rec->impi_len;
	uint32_t hash = akv_subcache_hash(e->cache, rec->impi, len);
	struct akv_subent *s = akv_subcache_find(e->cache, rec->impi, len, hash);

	if (!s)
		return insert_from(e, rec, hash);
	if (s->epoch != e->epoch)
		refresh_from(e, s, rec);
	return s;
}

/* ==== Live provisioning ==== */

static int
on_change(void *arg, const char *impi, size_t len)
{
	struct akv_eng *e = arg;
	struct akv_subent *s;

	if (!impi || !len) {
		/* bulk change or trimmed history: re-read every entry lazily */
		e->epoch++;
		return 0;
	}
	if (len > AKV_ID_MAX)
		return 0;
	s = akv_subcache_find(e->cache, impi, len, akv_subcache_hash(e->cache, impi, len));
	if (s)
		(void)refresh_sub(e, s);
	return 0;
}

/* see eng.h */
int
akv_eng_tick(struct akv_eng *e, uint64_t now_ms)
{
	int rc, rc2 = 0;

	/* sweep 1/256 of the pool per tick (~every 100 ms): expired, unanswered
	 * challenges are released within ~half a minute of their expiry */
	akv_pend_expire(&e->pend, now_ms, 1024 + e->pend.cap / 256);
	/* reservations queued because of low headroom: one commit for all
	 * (with async_renewals the caller writes them, akv_eng_renewal_take) */
	rc = e->cfg.async_renewals ? 0 : commit_queue(e);
	if (!e->polled || now_ms - e->last_poll_ms >= POLL_INTERVAL_MS) {
		e->polled = 1;
		e->last_poll_ms = now_ms;
		rc2 = akv_store_changes_since(e->st, e->gen, on_change, e, &e->gen);
	}
	return rc ? rc : rc2;
}

/* ==== Batch ==== */

static void
scratch_reserve(struct akv_eng *e, size_t nreq)
{
	size_t nv = nreq * AKV_VEC_MAX;

	if (nreq > e->rq_cap) {
		e->rq = akv_realloc(e->rq, nreq * sizeof(*e->rq));
		e->rq_cap = nreq;
	}
	if (nv > e->v_cap) {
		if (e->in) {
			akv_wipe(e->in, e->v_cap * sizeof(*e->in));
			akv_wipe(e->out, e->v_cap * sizeof(*e->out));
		}
		akv_free(e->in);
		akv_free(e->out);
		akv_free(e->randbuf);
		e->in = akv_malloc(nv * sizeof(*e->in));
		e->out = akv_malloc(nv * sizeof(*e->out));
		e->randbuf = akv_malloc(nv * 16);
		e->v_cap = nv;
	}
	if (nreq > e->a_cap) {
		if (e->ain) {
			akv_wipe(e->ain, e->a_cap * sizeof(*e->ain));
			akv_wipe(e->aout, e->a_cap * sizeof(*e->aout));
		}
		akv_free(e->ain);
		akv_free(e->aout);
		e->ain = akv_malloc(nreq * sizeof(*e->ain));
		e->aout = akv_malloc(nreq * sizeof(*e->aout));
		e->a_cap = nreq;
	}
}

static int
is_vector_op(unsigned op)
{
	return op == AKV_OP_CHALLENGE || op == AKV_OP_RESYNC || op == AKV_OP_VECTORS;
}

/* Cx registration state (server/aka/cx.c): the batch's SAR/UAR/LIR in
 * order, their registration writes grouped in one commit per
 * AKV_CX_BATCH_MAX, which is done before any answer of the batch leaves. */
static void
run_cx(struct akv_eng *e, struct akv_eng_req *const *reqs, size_t n, uint64_t now)
{
	struct akv_eng_req *cx[AKV_CX_BATCH_MAX];
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (!akv_eng_is_cx_state_op(reqs[i]->op))
			continue;
		cx[m++] = reqs[i];
		if (m == AKV_CX_BATCH_MAX) {
			if (akv_cx_run_batch(e, cx, m, now))
				e->stats.store_errors++;
			m = 0;
		}
	}
	if (akv_cx_run_batch(e, cx, m, now))
		e->stats.store_errors++;
}

/* Checks what can be checked before the subscriber is known (vecop: r is a
 * CHALLENGE, RESYNC or VECTORS, else a VERIFY). */
static int
check_req(const struct akv_eng *e, const struct akv_eng_req *r, int vecop)
{
	if (r->impi_len < 1 || r->impi_len > AKV_ID_MAX || r->impu_len > AKV_ID_MAX)
		return AKV_EINVAL;
	if (e->nshards > 1 && akv_eng_shard_of(r->impi, r->impi_len, e->nshards) != e->shard)
		return AKV_EINVAL;	/* dispatcher bug: another worker owns it */
	if (vecop) {
		if (r->n < 1 || r->n > e->cfg.max_vectors)
			return AKV_EBAD_N;
		if (!r->vec)
			return AKV_EINVAL;
	} else if (r->op == AKV_OP_VERIFY) {
		if (r->verify_kind == AKV_VERIFY_RES) {
			if (r->res_len < 4 || r->res_len > 16)
				return AKV_EINVAL;
		} else if (r->verify_kind != AKV_VERIFY_DIGEST || !r->digest) {
			return AKV_EINVAL;
		}
	}
	return 0;
}

/* The scheme of a CHALLENGE/RESYNC/VECTORS, or AKV_ESCHEME. "Any" (Cx
 * "Unknown": the HSS chooses, TS 29.228 §6.3.1) is AKAv1-MD5 when the
 * subscriber allows it, the most widely deployed, else AKAv2-MD5: a
 * subscriber provisioned for AKAv2 only must not be refused. */
static int
pick_scheme(const struct akv_subent *s, unsigned want)
{
	unsigned scheme = want;

	if (want == AKV_SCHEME_ANY)
		scheme = (s->schemes & AKV_SCHEME_BIT(AKV_SCHEME_AKAV1_MD5)) ? AKV_SCHEME_AKAV1_MD5
									      : AKV_SCHEME_AKAV2_MD5;

	if (scheme > AKV_SCHEME_AKAV2_MD5 || !(s->schemes & AKV_SCHEME_BIT(scheme)))
		return AKV_ESCHEME;
	return (int)scheme;
}

/* A wrong (or, if so configured, stale) answer: FAIL or DEREGISTER. */
static void
verify_fail(struct akv_eng *e, struct akv_subent *s, struct akv_eng_req *r)
{
	unsigned limit = akv_policy_limit(e->cfg.fail_limit, s->fail_limit);
	struct akv_policy_result pr = akv_policy_on_fail(&s->fails, limit);

	r->verdict = pr.verdict;
	r->attempts_left = pr.attempts_left;
	e->stats.verifies_fail++;
	if (pr.verdict == AKV_VERDICT_DEREGISTER) {
		/* the next request for this IMPI starts fresh */
		akv_pend_clear(&e->pend, &s->pend);
		e->stats.deregisters++;
	}
}

static void
run_verify(struct akv_eng *e, struct akv_subent *s, struct akv_eng_req *r, uint64_t now)
{
	struct akv_digest_fields f;
	struct akv_pend *c;
	uint8_t rand[16];
	int rc, bad;

	if (r->verify_kind == AKV_VERIFY_DIGEST) {
		rc = akv_verify_digest_parse(r->digest, &f, rand);
		if (rc) {
			r->err = rc;
			return;
		}
		if (!(s->schemes & AKV_SCHEME_BIT(r->digest->alg))) {
			r->err = AKV_ESCHEME;
			return;
		}
		/* TS 33.203 §6.1 / RFC 3310 §3.3: the Digest username is the IMPI
		 * being authenticated; an answer computed for another identity is a
		 * wrong answer for this one, whatever RES it was made with. */
		if (f.username.n != r->impi_len || memcmp(f.username.p, r->impi, r->impi_len)) {
			verify_fail(e, s, r);
			return;
		}
		c = akv_pend_find(&e->pend, &s->pend, rand, now);
	} else if (akv_verify_rand_is_zero(r->rand)) {
		c = akv_pend_latest(&e->pend, &s->pend, now);
	} else {
		c = akv_pend_find(&e->pend, &s->pend, r->rand, now);
	}
	if (!c) {
		/* unknown, expired or already used (a replay) */
		if (akv_policy_stale_counts(e->cfg.count_stale_as_fail))
			verify_fail(e, s, r);
		else
			r->err = AKV_ENO_CHALLENGE;
		return;
	}
	if (r->verify_kind == AKV_VERIFY_DIGEST)
		bad = akv_verify_digest(r->digest, &f, c);
	else
		bad = akv_verify_res(c->xres, c->xres_len, r->res, r->res_len);
	if (bad) {
		/* the challenge stays: the failure counter bounds guessing */
		verify_fail(e, s, r);
		return;
	}
	(void)akv_policy_on_success(&s->fails);
	r->verdict = AKV_VERDICT_OK;
	if (r->vec) {
		memset(&r->vec[0], 0, sizeof(r->vec[0]));
		memcpy(r->vec[0].rand, c->rand, 16);
		memcpy(r->vec[0].ck, c->ck, 16);
		memcpy(r->vec[0].ik, c->ik, 16);
		r->nvec = 1;
	}
	/* one successful use only: a replayed nonce finds nothing */
	akv_pend_del(&e->pend, c);
	e->stats.verifies_ok++;
}

/* 1 when the vectors of r become pending challenges (XRES kept inside). */
static inline int
keeps_pending(const struct akv_eng_req *r)
{
	return r->op != AKV_OP_VECTORS && !r->resync_vectors;
}

/* Assigns SEQ/IND to a vector request and queues its Milenage inputs. Adds
 * to *nalloc the free pending slots its challenges may take. */
static void
plan_vectors(struct akv_eng *e, struct akv_subent *s, struct akv_eng_req *r, struct rq *q,
	     uint32_t *nv, uint32_t *nalloc)
{
	unsigned b = e->cfg.ind_bits;
	struct akv_subkeys *kk;
	uint64_t first;
	int ind, rc;

	ind = akv_sqn_ind_pick(r->ind, &s->ind_next, b);
	if (ind < 0) {
		r->err = ind;
		return;
	}
	rc = akv_sqn_take(&s->seq, r->n, b, &first);
	if (rc) {
		r->err = rc;
		return;
	}
	q->seq_first = first;
	q->ind = (uint8_t)ind;
	q->vin = *nv;
	kk = akv_subent_keys(s);
	for (unsigned i = 0; i < r->n; i++) {
		struct akv_mil_in *in = &e->in[*nv + i];

		if (!e->use_ks)	/* a backend with the schedule never reads K */
			memcpy(in->k, kk->k, 16);
		memcpy(in->opc, kk->opc, 16);
		akv_sqn_put(akv_sqn_make(first + i, (unsigned)ind, b), in->sqn);
		memcpy(in->amf, s->amf, 2);
		in->ks = e->use_ks ? &kk->ks : NULL;
	}
	*nv += r->n;
	if (s->seq > s->seq_res) {
		/* above the durable reservation: this batch must commit first */
		q->need_commit = 1;
		s->flags |= AKV_SUBENT_FORCED;
		queue_add(e, s);
	} else if (s->seq_res - s->seq < e->cfg.seq_reserve / 2) {
		queue_add(e, s);	/* low headroom: renew with the next commit */
	}
	/* challenges that will take free pending slots (pass 1 already asked
	 * for the list's entries; akv_pend_prefetch asks for the free ones) */
	if (q->pending && akv_pend_add_allocates(&s->pend, e->pend_cap))
		*nalloc += r->n;
}

/* Fills the response of a vector request from the batch's Milenage output. */
static void
emit_vectors(struct akv_eng *e, struct akv_subent *s, struct akv_eng_req *r,
	     const struct rq *q, uint64_t now)
{
	unsigned b = e->cfg.ind_bits;
	int challenge = q->pending;

	for (unsigned i = 0; i < r->n; i++) {
		const struct akv_mil_in *in = &e->in[q->vin + i];
		const struct akv_mil_out *o = &e->out[q->vin + i];
		struct akv_eng_vec *v = &r->vec[i];

		memcpy(v->rand, in->rand, 16);
		akv_mil_autn(in->sqn, o->ak, in->amf, o->mac_a, v->autn);
		memcpy(v->ck, o->ck, 16);
		memcpy(v->ik, o->ik, 16);
		v->sqn = akv_sqn_make(q->seq_first + i, q->ind, b);
		memset(v->xres, 0, sizeof(v->xres));
		if (challenge) {
			/* XRES stays inside: kept with the pending challenge */
			akv_pend_add_challenge(&e->pend, &s->pend, e->pend_cap,
					       now + e->cfg.challenge_ttl_ms, in->rand, o->res,
					       o->ck, o->ik);
			v->xres_len = 0;
		} else {
			memcpy(v->xres, o->res, 8);	/* f2: 64 bits (TS 35.206) */
			v->xres_len = 8;
		}
	}
	r->nvec = r->n;
	e->stats.vectors += r->n;
	if (r->op == AKV_OP_CHALLENGE)
		e->stats.challenges++;
	else if (r->op == AKV_OP_RESYNC)
		e->stats.resyncs++;
}

/* "Authentication pending" (cx_pending.h). The epoch of the notes this
 * engine trusts ends when half the memo's lifetime has passed since it
 * began, or when an entry of the memo disappeared early (a SAR cleared it,
 * another gave way): a subscriber noted within the current epoch still has
 * its entry, for at least half its lifetime. Epoch 0 is never current (new
 * entries are zeroed). */
static void
pend_epoch_check(struct akv_eng *e, uint64_t now)
{
	uint64_t g = akv_cx_pending_gen(e->cfg.cx_pending);

	if (g == e->pend_gen &&
	    now - e->pend_epoch_ms < akv_cx_pending_ttl_ms(e->cfg.cx_pending) / 2)
		return;
	e->pend_gen = g;
	e->pend_epoch_ms = now;
	if (++e->pend_epoch == 0)
		e->pend_epoch = 1;
}

/* TS 29.228 §6.3.1: the S-CSCF asking for vectors is the one the I-CSCF
 * must send the UE's answer to. Noted once per epoch and S-CSCF: the memo
 * is shared (a lock, a keyed hash, a line of a large table), and an S-CSCF
 * re-authenticating its users at each re-registration asks often. */
static void
note_pending(struct akv_eng *e, struct akv_subent *s, const struct akv_eng_req *r, uint64_t now)
{
	if (s->pend_name == r->cx_mar && s->pend_epoch == e->pend_epoch)
		return;
	akv_cx_pending_note(e->cfg.cx_pending, r->impi, r->impi_len, r->cx_mar, now);
	s->pend_name = r->cx_mar;
	s->pend_epoch = e->pend_epoch;
}

/* Requests whose lines are asked for ahead of the one being decoded in pass
 * 1 (and entries behind it): a request's lines were written on the front
 * end's core, and asking for a whole batch's at once filled the line fill
 * buffers, so the prefetch loop itself waited for nearly every transfer
 * (perf: a third of akv_eng_run's samples on its prefetch instructions).
 * A window lets the transfers overlap the IMPI hashing of earlier requests. */
#define REQ_AHEAD 4
/* an IMPI of up to this many bytes lies in a request's first line */
#define IMPI_LINE0 (64 - offsetof(struct akv_eng_req, impi))

/* The lines of request r the first pass reads first: the first one (header,
 * response, start of the IMPI), written back, so asked for with ownership,
 * and the start of the IMPU. */
static inline void
prefetch_req(const struct akv_eng_req *r)
{
	akv_prefetch_own(r);
	__builtin_prefetch(r->impu);
}

/* The rest of r's IMPI past its first line, once that line is in (an IMPI
 * of 42..255 bytes: 1..4 more lines). */
static inline void
prefetch_req_impi(const struct akv_eng_req *r)
{
	size_t len = r->impi_len;

	if (len > AKV_ID_MAX)
		len = AKV_ID_MAX;
	for (size_t off = 64; off < offsetof(struct akv_eng_req, impi) + len; off += 64)
		__builtin_prefetch((const char *)r + off);
}

/* Pass 1: validation, lookup (requests, buckets and entries prefetched in a
 * window ahead), IMPU and scheme checks, RESYNC inputs. Returns the number
 * of RESYNC requests; *ncx: the number of Cx requests (run_cx's). */
static uint32_t
pass_lookup(struct akv_eng *e, struct akv_eng_req *const *reqs, size_t n, uint32_t *ncx)
{
	uint32_t na = 0, nc = 0;
	int snap = 0;

	/* request i + 2 * REQ_AHEAD: first lines asked for; i + REQ_AHEAD: the
	 * rest of a long IMPI; i: checked, hashed, its bucket asked for;
	 * i - REQ_AHEAD: its entry asked for (its bucket had time to land) */
	for (size_t i = 0; i < n && i < 2 * REQ_AHEAD; i++)
		prefetch_req(reqs[i]);
	for (size_t i = 0; i < n; i++) {
		struct akv_eng_req *r = reqs[i];
		struct rq *q = &e->rq[i];
		int vecop;

		if (i + 2 * REQ_AHEAD < n)
			prefetch_req(reqs[i + 2 * REQ_AHEAD]);
		if (i + REQ_AHEAD < n && reqs[i + REQ_AHEAD]->impi_len > IMPI_LINE0)
			prefetch_req_impi(reqs[i + REQ_AHEAD]);
		if (i >= REQ_AHEAD && e->rq[i - REQ_AHEAD].lookup)
			akv_subcache_prefetch_entry(e->cache, e->rq[i - REQ_AHEAD].hash,
						    reqs[i - REQ_AHEAD]->impi_len,
						    e->rq[i - REQ_AHEAD].vecop);
		memset(q, 0, sizeof(*q));
		r->err = 0;
		r->verdict = 0;
		r->attempts_left = 0;
		r->nvec = 0;
		r->scheme_used = 0;
		if (akv_eng_is_cx_state_op(r->op)) {
			nc++;
			continue; /* run_cx() answers it; q->sub stays NULL */
		}
		vecop = is_vector_op(r->op);
		if (!vecop && r->op != AKV_OP_VERIFY) {
			r->err = AKV_EUNKNOWN_OP;
			continue;
		}
		if (e->registrar) {
			r->err = AKV_EINVAL;	/* dispatcher bug: it holds no keys */
			continue;
		}
		r->err = check_req(e, r, vecop);
		if (r->err)
			continue;
		q->lookup = 1;
		q->vecop = (uint8_t)vecop;
		q->pending = vecop && keeps_pending(r);
		if (!vecop || r->op == AKV_OP_RESYNC) {
			__builtin_prefetch(r->rand);
		} else {
			/* the caller's vectors, written after Milenage: the first
			 * line (RAND, AUTN, CK, IK), and, for vectors that carry
			 * XRES out (VECTORS: Cx MAA), the second, which the
			 * encoder reads back on its core */
			akv_prefetch_own(r->vec);
			if (!q->pending)
				akv_prefetch_own((const char *)r->vec + 64);
		}
		q->hash = akv_subcache_hash(e->cache, r->impi, r->impi_len);
		akv_subcache_prefetch(e->cache, q->hash);
	}
	/* the entries of the last REQ_AHEAD requests */
	for (size_t i = n > REQ_AHEAD ? n - REQ_AHEAD : 0; i < n; i++)
		if (e->rq[i].lookup)
			akv_subcache_prefetch_entry(e->cache, e->rq[i].hash, reqs[i]->impi_len,
						    e->rq[i].vecop);
	/* one pass per request from here: its entry's lines are in */
	for (size_t i = 0; i < n; i++) {
		struct akv_eng_req *r = reqs[i];
		struct rq *q = &e->rq[i];
		struct akv_subent *s;
		int rc, sc;

		if (!q->lookup)
			continue;
		s = akv_subcache_find(e->cache, r->impi, r->impi_len, q->hash);
		if (!s || s->epoch != e->epoch) {
			/* one read snapshot for all misses of the batch */
			if (!snap && akv_store_reader_begin(e->rd) == 0)
				snap = 1;
			rc = lookup(e, r->impi, r->impi_len, q->hash, &s);
			if (rc) {
				r->err = rc;
				if (rc == AKV_EUNKNOWN_USER)
					e->stats.unknown_user++;
				continue;
			}
		}
		/* the pending entries this request will read or write, in flight
		 * while the checks below and the next requests' lookups run (a
		 * hint: an earlier request of the batch for the same IMPI may
		 * still move the list) */
		if (!q->vecop) {	/* VERIFY */
			if (s->pend.n)
				__builtin_prefetch(&e->pend.v[s->pend.head]);
		} else if (q->pending) {
			(void)akv_pend_prefetch_add(&e->pend, &s->pend, e->pend_cap);
		}
		q->sub = s;
		if (r->impu_len && !akv_subcache_impu_ok(e->cache, s, r->impu, r->impu_len)) {
			r->err = AKV_EIMPU_MISMATCH;
			continue;
		}
		if (!q->vecop)
			continue;
		sc = pick_scheme(s, r->scheme);
		if (sc < 0) {
			r->err = sc;
			continue;
		}
		r->scheme_used = (uint8_t)sc;
		if (r->op == AKV_OP_RESYNC) {
			struct akv_mil_auts_in *a = &e->ain[na];
			struct akv_subkeys *kk = akv_subent_keys(s);

			memcpy(a->k, kk->k, 16);
			memcpy(a->opc, kk->opc, 16);
			memcpy(a->rand, r->rand, 16);
			memcpy(a->auts, r->auts, 14);
			a->ks = e->use_ks ? &kk->ks : NULL;
			q->ain = na++;
		}
	}
	if (snap)
		akv_store_reader_end(e->rd);
	*ncx = nc;
	return na;
}

/* Pass 2 for a RESYNC (TS 33.102 §6.3.5): MAC-S, then SQN_HE forward. */
static int
apply_resync(struct akv_eng *e, struct akv_subent *s, struct akv_eng_req *r, const struct rq *q,
	     uint64_t now)
{
	const struct akv_mil_auts_out *a = &e->aout[q->ain];
	struct akv_pend *c;
	int rc;

	if (!a->mac_ok) {
		e->stats.resync_bad_mac++;
		return AKV_EAUTS_MAC;	/* SQN untouched */
	}
	rc = akv_sqn_resync(&s->seq, akv_sqn_get(a->sqn_ms), e->cfg.ind_bits, e->cfg.delta);
	if (rc < 0)
		return rc;
	/* the UE refused that challenge: it can never verify */
	c = akv_pend_find(&e->pend, &s->pend, r->rand, now);
	if (c)
		akv_pend_del(&e->pend, c);
	return 0;
}

/* see eng.h */
void
akv_eng_run(struct akv_eng *e, struct akv_eng_req *const *reqs, size_t n, uint64_t now_ms)
{
	uint32_t na, ncx, nv = 0, nalloc = 0;
	int any_forced = 0, rc;

	if (!n)
		return;
#ifdef AKV_PASS_THROUGH_ENGINE
	if (akv_eng_pass_through(reqs, n))
		return;
#endif
	scratch_reserve(e, n);
	na = pass_lookup(e, reqs, n, &ncx);
	if (ncx)
		run_cx(e, reqs, n, now_ms);
	if (na)
		e->mil->auts(e->ain, e->aout, na);

	/* Pass 2, in request order: the same IMPI may appear more than once */
	for (size_t i = 0; i < n; i++) {
		struct akv_eng_req *r = reqs[i];
		struct rq *q = &e->rq[i];
		struct akv_subent *s = q->sub;

		if (r->err || !s)
			continue;
		if (r->op == AKV_OP_VERIFY) {
			run_verify(e, s, r, now_ms);
			continue;
		}
		if (r->op == AKV_OP_RESYNC) {
			r->err = apply_resync(e, s, r, q, now_ms);
			if (r->err)
				continue;
		}
		plan_vectors(e, s, r, q, &nv, &nalloc);
		any_forced |= q->need_commit;
	}
	if (na) {
		scrub(e->ain, na * sizeof(*e->ain));
		scrub(e->aout, na * sizeof(*e->aout));
	}
	if (!nv)
		goto out;
	/* the free pending slots this batch's challenges may fill: in flight
	 * while RAND and Milenage run */
	akv_pend_prefetch(&e->pend, nalloc);

	/* fresh RANDs for every vector, drawn in one call */
	rc = akv_rand_bytes(e->randbuf, (size_t)nv * 16);
	for (uint32_t j = 0; j < nv; j++)
		memcpy(e->in[j].rand, e->randbuf + 16 * (size_t)j, 16);
	scrub(e->randbuf, (size_t)nv * 16);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			if (!reqs[i]->err && e->rq[i].vecop)
				reqs[i]->err = rc;
		goto wipe;
	}

	/* durable before release: one commit for every reservation of the batch */
	if (any_forced || e->qn >= QUEUE_COMMIT_LEN) {
		rc = commit_queue(e);
		if (rc) {
			/* Those vectors are never released; their SEQ values are
			 * burnt (SEQ_HE never goes back), nothing else changes. */
			for (size_t i = 0; i < n; i++)
				if (e->rq[i].need_commit && !reqs[i]->err)
					reqs[i]->err = rc;
		}
	}

	/* Milenage for all vectors of all requests in one call */
	e->mil->gen(e->in, e->out, nv, AKV_MIL_VECTOR);
	if (e->cfg.cx_pending)
		pend_epoch_check(e, now_ms);
	for (size_t i = 0; i < n; i++) {
		struct akv_eng_req *r = reqs[i];
		struct rq *q = &e->rq[i];

		if (r->err || !q->vecop)
			continue;
		emit_vectors(e, q->sub, r, q, now_ms);
		if (r->cx_mar && e->cfg.cx_pending)
			note_pending(e, q->sub, r, now_ms);
	}
wipe:
	scrub(e->in, (size_t)nv * sizeof(*e->in));
	scrub(e->out, (size_t)nv * sizeof(*e->out));
out:
	return;
}

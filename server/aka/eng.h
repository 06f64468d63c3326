/*
 * eng.h - the AKA engine: one shard of subscribers, pure logic, no sockets.
 *
 * A worker thread owns one engine. The front end decodes AVS/1 or Diameter
 * into struct akv_eng_req, a worker runs a batch of them through
 * akv_eng_run() (Milenage for the whole batch in SIMD lanes), and the front
 * end encodes the filled responses. Requests and responses are plain data
 * (no borrowed pointers except `vec`), so a batch can cross threads.
 *
 * Rules implemented here (REFERENCE.md §2, §5; DESIGN.md "State and durability"):
 *  - SQN = SEQ || IND (TS 33.102 Annex C), SEQ strictly increasing per
 *    subscriber, never issued twice even across kill -9 (SEQ ranges are
 *    reserved durably in the store ahead of use, many subscribers per commit).
 *    Call akv_crypto_init() before akv_eng_new(): the engine binds
 *    akv_mil_best() at creation.
 *  - Pending challenges (XRES, CK, IK) and consecutive-failure counters live
 *    in the engine, per IMPI, with an expiry.
 *  - Errors: AKV_EUNKNOWN_USER, AKV_EIMPU_MISMATCH, AKV_ESCHEME, ... (err.h).
 *  - CHALLENGE/RESYNC answers carry RAND, AUTN, CK, IK with xres zeroed and
 *    xres_len 0 (XRES stays in the engine); VECTORS answers carry XRES (8
 *    bytes, f2). A pending challenge verifies successfully once (no replay);
 *    a wrong answer leaves it in place until success, expiry or DEREGISTER.
 *    VERIFY of an unknown, expired or used challenge: AKV_ENO_CHALLENGE, or a
 *    counted FAIL/DEREGISTER when cfg.count_stale_as_fail.
 */
#ifndef AKV_SERVER_AKA_ENG_H
#define AKV_SERVER_AKA_ENG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "akv_crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

#define AKV_ID_MAX	   255	/* longest IMPI / IMPU in bytes */
#define AKV_VEC_MAX	   32	/* hard cap on vectors per request */
#define AKV_DIGEST_BUF	   1024	/* room for the Digest fields of one VERIFY */

enum akv_op {
	AKV_OP_CHALLENGE = 1,	/* IMPI[,IMPU,scheme,IND] -> RAND, AUTN, CK, IK; XRES kept */
	AKV_OP_VERIFY = 2,	/* IMPI + RES or Digest fields -> verdict (+CK/IK) */
	AKV_OP_RESYNC = 3,	/* IMPI, RAND, AUTS -> fresh challenge */
	AKV_OP_VECTORS = 4,	/* IMPI, n -> n quintets incl. XRES (HSS-style; no pending state) */
	/* Cx registration-state ops (TS 29.228 §6.1): run by akv_cx_run_batch()
	 * in server/aka/cx.c, which the engine calls for a batch's Cx requests
	 * (their writes in one commit); details in req->cx. */
	AKV_OP_SAR = 5,		/* Server-Assignment: record S-CSCF name / state, return profile */
	AKV_OP_UAR = 6,		/* User-Authorization (I-CSCF) */
	AKV_OP_LIR = 7,		/* Location-Info (I-CSCF), keyed by IMPU only */
};

/* Values 1 and 2 equal enum akv_digest_alg. */
enum akv_scheme {
	AKV_SCHEME_ANY = 0,		/* "Unknown": AKAv1-MD5 if allowed, else AKAv2-MD5 */
	AKV_SCHEME_AKAV1_MD5 = 1,
	AKV_SCHEME_AKAV2_MD5 = 2,
};
#define AKV_SCHEME_BIT(s) (1u << (s))

enum akv_verdict {
	AKV_VERDICT_OK = 0,		/* RES matched: CK/IK in vec[0] */
	AKV_VERDICT_FAIL = 1,		/* wrong: attempts_left more allowed */
	AKV_VERDICT_DEREGISTER = 2,	/* limit reached: S-CSCF deregisters the IMPI */
};

enum akv_verify_kind {
	AKV_VERIFY_RES = 0,		/* raw RES (res, res_len), challenge found by rand */
	AKV_VERIFY_DIGEST = 1,		/* Digest Authorization fields, challenge found by nonce */
};

/* ==== Types ==== */

/* One authentication vector. */
/* RAND, AUTN, CK, IK first: what a challenge answer carries fills exactly
 * one 64-byte line of a line-aligned vector (the front end reads it from
 * the worker's core); XRES and the rest, for VECTORS and tests, follow. */
struct akv_eng_vec {
	uint8_t rand[16];
	uint8_t autn[16];
	uint8_t ck[16];
	uint8_t ik[16];
	uint8_t xres[16];	/* only the first xres_len bytes are meaningful */
	uint8_t xres_len;
	uint64_t sqn;		/* the SQN in the AUTN (48 bits), for tests and tracing */
};

/* Digest fields of a VERIFY, stored as (offset, length) pairs into buf. */
enum akv_dig_field {
	AKV_DIG_USERNAME, AKV_DIG_REALM, AKV_DIG_NONCE, AKV_DIG_URI, AKV_DIG_METHOD,
	AKV_DIG_QOP, AKV_DIG_NC, AKV_DIG_CNONCE, AKV_DIG_RESPONSE, AKV_DIG_NFIELDS
};
struct akv_eng_digest {
	uint16_t off[AKV_DIG_NFIELDS];
	uint16_t len[AKV_DIG_NFIELDS];
	uint8_t alg;		/* enum akv_digest_alg */
	char buf[AKV_DIGEST_BUF];
};

/* One request and, after akv_eng_run(), its response. The caller fills the
 * request part and points `vec` at room for max(n, 1) vectors that it owns.
 *
 * Layout: a front end fills requests on its core and a worker answers them
 * on another, so every cache line touched per request crosses cores twice.
 * The header, the whole response and the start of impi share the first
 * line: a CHALLENGE for an IMPI of up to 40 bytes is one line there and
 * the same line back (plus the vector). The rest is read only by the ops
 * that need it, so a caller reusing a request need not clear it:
 *  - impu: only its first impu_len bytes (none when impu_len is 0);
 *  - rand, res (res_len bytes): VERIFY by RES only; rand, auts: RESYNC only;
 *  - digest: VERIFY with verify_kind AKV_VERIFY_DIGEST only;
 *  - cx: AKV_OP_SAR/UAR/LIR only. */
struct akv_eng_req {
	/* request header */
	uint8_t op;		/* enum akv_op */
	uint8_t scheme;		/* enum akv_scheme */
	uint8_t verify_kind;	/* enum akv_verify_kind, for VERIFY */
	uint8_t res_len;	/* VERIFY by RES: 4..16 */
	int16_t ind;		/* IND to use (peer's slot), or -1: cyclic per subscriber */
	uint16_t n;		/* vectors wanted (CHALLENGE/RESYNC/VECTORS), >= 1 */
	uint16_t impi_len;
	uint16_t impu_len;	/* 0: no IMPU given, no association check */

	/* response */
	int err;		/* 0 or AKV_E* / -errno: then nothing else is valid */
	uint8_t verdict;	/* VERIFY: enum akv_verdict */
	uint8_t attempts_left;	/* VERIFY FAIL: how many more wrong answers are allowed */
	uint16_t nvec;		/* vectors written to vec */
	uint8_t scheme_used;	/* CHALLENGE/RESYNC/VECTORS: the scheme chosen */

	/* request, continued */
	uint8_t resync_vectors;	/* RESYNC: answer like VECTORS (XRES out, no pending
				 * challenge): Cx MAA resync, the S-CSCF verifies */
	uint8_t cx_mar;		/* VECTORS from a Cx MAR: the index of its
				 * Server-Name in cfg.cx_pending (interned by the
				 * decoder), noted there once the vectors are out
				 * (TS 29.228 §6.3.1); 0: nothing to note */
	char impi[AKV_ID_MAX + 1];
	char impu[AKV_ID_MAX + 1];
	uint8_t rand[16];	/* RESYNC: RAND sent to the UE; VERIFY by RES: challenge id */
	uint8_t auts[14];	/* RESYNC */
	uint8_t res[16];	/* VERIFY by RES */
	struct akv_eng_digest *digest;	/* VERIFY by Digest; caller-owned */
	struct akv_cx_req *cx;		/* SAR/UAR/LIR in and out (server/aka/cx.h); caller-owned */
	struct akv_eng_vec *vec;	/* response vectors; caller-owned */
};

/* Makes r ready for its next request (see "Layout" above): clears what lies
 * before impi (the header, the response, resync_vectors) and empties impi.
 * The rest is written by the decoder of an op that reads it; vec, digest and
 * cx keep pointing where the caller set them. */
static inline void
akv_eng_req_reset(struct akv_eng_req *r)
{
	memset(r, 0, offsetof(struct akv_eng_req, impi));
	r->impi[0] = '\0';
}

struct akv_cx_pending;

/* Engine configuration (from `akavs serve` config; defaults in akv_eng_cfg_default). */
struct akv_eng_cfg {
	unsigned ind_bits;		/* IND length, default 5 (TS 33.102 C.3.2) */
	uint64_t delta;			/* Δ: max SEQ jump the USIM accepts, default 2^28 */
	unsigned seq_reserve;		/* SEQ values reserved durably per commit, default 1000 */
	unsigned max_vectors;		/* cap on n, default 8, at most AKV_VEC_MAX */
	unsigned challenge_ttl_ms;	/* pending challenge lifetime, default 60000 */
	unsigned fail_limit;		/* consecutive failures before DEREGISTER, default 3 */
	int count_stale_as_fail;	/* 1: verify of an unknown/expired challenge counts */
	unsigned pending_per_impi;	/* pending challenges kept per IMPI (the newest),
					 * default 8; 0 = default; at most 255 */
	int cx_unreg_services;		/* 1 (default): a provisioned public identity
					 * with no S-CSCF has services for the
					 * unregistered state (an LIR answers 2003,
					 * DIAMETER_UNREGISTERED_SERVICE); 0: it has
					 * none (5003, IDENTITY_NOT_REGISTERED, and the
					 * I-CSCF answers the call itself) */
	int cx_cache_off;		/* 1: Cx requests never use the registration
					 * states cached with the subscribers and read
					 * the store each time (tests compare both) */
	int async_renewals;		/* 1: akv_eng_tick() leaves low-headroom renewals
					 * to the caller, who writes them on another
					 * thread (akv_eng_renewal_take); 0: the tick
					 * commits them itself */
	struct akv_cx_pending *cx_pending; /* shared "authentication pending" memo
					 * (cx_pending.h): a MAR notes its S-CSCF,
					 * a UAR finds it, a SAR clears it; NULL: off */
	uint64_t boot;			/* the serving run (akv_store_boot_begin), whose
					 * window each reservation stands for too (store.h
					 * "Boot windows"); 0: none, every subscriber's first
					 * vector after a (re)start commits a reservation */
};

struct akv_store;
struct akv_store_reader;
struct akv_eng;
struct akv_cx_req;

/* ==== Lifecycle ==== */

void akv_eng_cfg_default(struct akv_eng_cfg *cfg);

/* Creates the engine for shard `shard` of `nshards` over an open store (which
 * must outlive it). The engine serves only IMPIs with
 * akv_eng_shard_of(impi) == shard. Returns NULL and sets *err on failure. */
struct akv_eng *akv_eng_new(const struct akv_eng_cfg *cfg, struct akv_store *st,
			    unsigned shard, unsigned nshards, int *err);
/* Creates the registrar engine: it answers only SAR, UAR and LIR (Cx
 * registration state, cx.h), for every IMPI (one shard of one), and refuses
 * any other op with AKV_EINVAL. Its subscriber cache keeps identities and
 * registration states but no K or OPc: it never computes a vector. The server
 * runs it on its own thread so that the commits (fsync) of registration
 * changes never hold up challenges (server/wrk/wrk.h). */
struct akv_eng *akv_eng_new_registrar(const struct akv_eng_cfg *cfg, struct akv_store *st,
				      int *err);
/* Makes SQN state durable (akv_eng_flush) and frees everything, wiping keys. */
void akv_eng_free(struct akv_eng *e);

/* ==== Operations ==== */

/* Which shard serves an IMPI (FNV-1a of the bytes, mod nshards). */
unsigned akv_eng_shard_of(const char *impi, size_t len, unsigned nshards);

/* 1 for the ops that read or write Cx registration state (cx.h) */
static inline int
akv_eng_is_cx_state_op(unsigned op)
{
	return op == AKV_OP_SAR || op == AKV_OP_UAR || op == AKV_OP_LIR;
}

/* Runs n requests (any mix of ops) and fills their responses. Milenage for
 * all of them runs in one batched call of the selected backend. Any SQN
 * reservation the batch needs is committed (one LMDB commit) before the
 * vectors are released. `now_ms` is a monotonic clock for expiries. */
void akv_eng_run(struct akv_eng *e, struct akv_eng_req *const *reqs, size_t n, uint64_t now_ms);

/* The architecture-ceiling benchmark's engine (eng_pass.c): when every
 * request of the batch is a CHALLENGE or VECTORS, answers each with zeroed
 * vectors and returns 1; otherwise changes nothing and returns 0. Called by
 * akv_eng_run() only in a -DAKV_PASS_THROUGH_ENGINE=ON build. */
int akv_eng_pass_through(struct akv_eng_req *const *reqs, size_t n);

/* Housekeeping, call about every 100 ms: drops expired challenges, and picks
 * up provisioning changes made in the store (by `akavs sub ...` in another
 * process) so they take effect within a second. It also commits, in one
 * transaction, the SEQ reservations of subscribers whose headroom fell below
 * seq_reserve / 2 (a batch commits only when a vector would pass its
 * subscriber's durable reservation). Returns 0 or an error. */
int akv_eng_tick(struct akv_eng *e, uint64_t now_ms);

/* Makes all SQN state durable now (shutdown path). Returns 0 or an error.
 * With cfg.async_renewals, apply any job in flight first. */
int akv_eng_flush(struct akv_eng *e);

/* ---- Renewals written by another thread (cfg.async_renewals) ----
 * A low-headroom renewal only extends a reservation that still has room, so
 * nothing waits for it: its commit (an fsync) can run off the worker thread
 * while the engine goes on issuing SQNs from the headroom left. A vector
 * above the durable reservation still commits in akv_eng_run() first, as
 * always (the store keeps the higher of two racing writes, store.h). */
struct akv_store_seq;
struct akv_eng_renewal {
	size_t n;
	struct akv_store_seq *u;	/* n reservations for akv_store_seq_reserve() */
	char *impis;			/* u[i].impi point here: the job owns its IMPIs */
};
/* Takes the queued renewals into a new job (NULL when there are none) and
 * marks their subscribers as renewing. The caller writes it with
 * akv_store_seq_reserve(store, job->u, job->n), on any thread, and hands the
 * result to akv_eng_renewal_done() on the engine's thread. */
struct akv_eng_renewal *akv_eng_renewal_take(struct akv_eng *e);
/* Applies a job's outcome: rc 0 raises each subscriber's durable
 * reservation (if still cached); an error is counted and the subscribers are
 * queued again. Frees the job. Engine thread only. */
void akv_eng_renewal_done(struct akv_eng *e, struct akv_eng_renewal *job, int rc);

/* The store the engine reads (for akv_cx_run_batch). */
struct akv_store *akv_eng_store(struct akv_eng *e);
/* The engine's reusable store reader (for akv_cx_run_batch's snapshot);
 * the engine holds no snapshot on it between akv_eng_run() passes. */
struct akv_store_reader *akv_eng_reader(struct akv_eng *e);

/* ---- For server/aka/cx.c: the subscriber cache and the Cx one ---- */

struct akv_sub;
struct akv_subent;
struct akv_subcache;
struct akv_cx_cache;

/* The engine's subscriber cache (for akv_subcache_impu_ok). */
struct akv_subcache *akv_eng_subcache(struct akv_eng *e);
/* The engine's Cx registration cache state (server/aka/cx.c owns it). */
struct akv_cx_cache *akv_eng_cx_cache(struct akv_eng *e);
/* The configuration the engine was created with. */
const struct akv_eng_cfg *akv_eng_config(const struct akv_eng *e);
/* 1 when this engine's shard serves impi (always with one shard). */
int akv_eng_owns(const struct akv_eng *e, const char *impi, size_t len);
/* The cached entry of impi whatever its epoch, or NULL. */
struct akv_subent *akv_eng_sub_find(struct akv_eng *e, const char *impi, size_t len);
/* 1 when entry s needs no reload (no provisioning change seen since its
 * last load), as akv_eng_run() requires before it uses an entry. */
int akv_eng_sub_current(const struct akv_eng *e, const struct akv_subent *s);
/* Caches the subscriber of record `rec` (read by the caller in a snapshot
 * not older than the engine's change-log position; rec->impi owned by this
 * shard), as a lookup of akv_eng_run() would: inserts it, or refreshes an
 * entry that is not current. Returns the entry, now current. */
struct akv_subent *akv_eng_sub_load(struct akv_eng *e, const struct akv_sub *rec);

/* Counters for STATS and metrics. */
struct akv_eng_stats {
	uint64_t challenges, verifies_ok, verifies_fail, deregisters, resyncs, resync_bad_mac,
		vectors, unknown_user, fsyncs, cached_subs;
	uint64_t store_errors;	/* store commits that failed (SQN reservations, registration
				 * states) and subscriber records that could not be read
				 * (I/O, a sealed record that does not open): their
				 * requests were answered with the error */
	uint64_t cache_bytes;	/* the subscriber cache's memory: entries, IMPU arrays,
				 * buckets (akv_subcache_bytes) */
};
void akv_eng_stats(const struct akv_eng *e, struct akv_eng_stats *out);

/* Durable SQN bookkeeping (kept apart from akv_eng_stats, whose layout the
 * workers mirror). */
struct akv_eng_durability {
	uint64_t commits;	/* reservation commits (one fsync each) = stats.fsyncs */
	uint64_t reservations;	/* subscriber reservations those commits wrote */
	uint64_t commit_errors;	/* commits that failed: their vectors were withheld */
};
void akv_eng_durability(const struct akv_eng *e, struct akv_eng_durability *out);

/* Memory held by the engine (for `db stats`, metrics and the benchmark). */
struct akv_eng_mem {
	uint64_t cached_subs;	/* subscribers in the cache */
	uint64_t cache_bytes;	/* heap bytes requested by cache entries and buckets */
	uint64_t pending;	/* live pending challenges */
	uint64_t pending_bytes;	/* heap bytes of the pending-challenge pool */
};
void akv_eng_mem(const struct akv_eng *e, struct akv_eng_mem *out);

#ifdef __cplusplus
}
#endif
#endif

/*
 * verify.h - pending challenges and the judging of a UE's answer, pure.
 *
 * A CHALLENGE leaves one struct akv_pend per vector (RAND, XRES, CK, IK,
 * expiry) in a pool owned by the engine; each IMPI links at most `cap` of
 * them (newest first). A new challenge on a full list takes the place of the
 * oldest: that entry is wiped and reused in place as the newest (the list is
 * a ring, so this moves two indices in the list head and touches no other
 * entry).
 * A pending challenge is found by its RAND (the challenge id of VERIFY by
 * RES, or the RAND inside a Digest nonce, RFC 3310 §3.2). It is removed by a
 * successful verification (one use only: no replay), by its expiry, by
 * DEREGISTER, or when the IMPI's keys change. A wrong answer leaves it in
 * place (until success, expiry or DEREGISTER): the failure counter, not the
 * challenge, bounds guessing.
 *
 * Every comparison of RES, XRES or a digest response is constant-time
 * (akv_ct_eq, akv_digest_verify). Entries are wiped when freed.
 */
#ifndef AKV_SERVER_AKA_VERIFY_H
#define AKV_SERVER_AKA_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "akv_crypto.h"
#include "aka/eng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

#define AKV_PEND_NIL UINT32_MAX	/* "no entry" index */
/* initializer of an empty struct akv_pend_list */
#define AKV_PEND_LIST_INIT {AKV_PEND_NIL, 0, 0}

/* ==== Types ==== */

/* The pending challenges of one IMPI (embedded in its cache entry, which is
 * hot when a request is served: the indices of both ends live here, so
 * replacing the oldest reads no other entry). Empty: AKV_PEND_LIST_INIT
 * (head NIL, n 0); tail is meaningful only while n > 0. */
struct akv_pend_list {
	uint32_t head;		/* newest entry, or AKV_PEND_NIL */
	uint32_t tail;		/* oldest entry (n > 0) */
	uint8_t n;		/* entries linked */
};

/* One pending challenge. Secret: xres, ck, ik. The entries of one IMPI form
 * a ring: following `older` from the head visits them newest to oldest, and
 * the tail's `older` is the head again (and `newer` runs the other way), so
 * the ring turns by moving head and tail alone. Walks are bounded by n. */
struct akv_pend {
	/* what a lookup walk reads first, together (one cache line for half
	 * of the 96-byte slots, two for the rest) */
	uint8_t rand[16];
	uint64_t expires_ms;
	struct akv_pend_list *owner;	/* NULL when free */
	uint32_t older;		/* next older entry of the same IMPI (tail: the head) */
	uint32_t newer;		/* next newer entry (head: the tail) */
	uint8_t xres_len;
	uint8_t xres[16];
	uint8_t ck[16];
	uint8_t ik[16];
};

/* The pool of all pending challenges of one engine. Indices are stable. Free
 * slots are a stack of indices (an allocation reads no cold memory), and
 * expiry is a sweep over the slots (no per-entry time links to update). */
struct akv_pend_pool {
	struct akv_pend *v;
	uint32_t *free_stk;
	uint32_t cap, live, nfree;
	uint32_t sweep;		/* next slot akv_pend_expire looks at */
};

/* ==== Lifecycle ==== */

void akv_pend_pool_init(struct akv_pend_pool *p);
/* Wipes and frees every entry. */
void akv_pend_pool_fini(struct akv_pend_pool *p);

/* ==== Pending challenges ==== */

/* Makes a new entry, expiring at expires_ms, the newest of list `l` (which
 * must stay at a fixed address while it has entries), keeping the newest
 * `cap` (1..255) of `l`: on a full list the oldest entry is wiped and reused
 * in place; a list above cap (cap lowered) first frees its oldest. Returns
 * the entry with rand, xres, xres_len, ck, ik zero, for the caller to fill.
 * Never fails (OOM aborts). */
struct akv_pend *akv_pend_add(struct akv_pend_pool *p, struct akv_pend_list *l, unsigned cap,
			      uint64_t expires_ms);

/* A list's cap as the pool applies it: 1..255 (akv_pend_list.n is 8 bits). */
static inline unsigned
akv_pend_cap(unsigned cap)
{
	return cap < 1 ? 1 : cap > UINT8_MAX ? UINT8_MAX : cap;
}

/* The new-entry step of akv_pend_add() on a list holding exactly its cap:
 * the oldest entry becomes the newest, in place, and is returned with the
 * replaced challenge's payload and expiry. In the ring the tail's older
 * neighbour is the head already, so only the list's two indices move: no
 * free, no alloc, no neighbour touched (this was a third of the worker's
 * time with every list full). */
static inline struct akv_pend *
akv_pend_rotate(struct akv_pend_pool *p, struct akv_pend_list *l)
{
	uint32_t i = l->tail;
	struct akv_pend *e = &p->v[i];

	l->head = i;
	l->tail = e->newer;
	return e;
}

/* akv_pend_add() without its wipe: the entry's payload is zero when *reused
 * is 0 (a free slot; freed slots are wiped) and the replaced challenge's
 * when 1; the caller overwrites all of it. */
struct akv_pend *akv_pend_link_newest(struct akv_pend_pool *p, struct akv_pend_list *l,
				      unsigned cap, uint64_t expires_ms, int *reused);

/* akv_pend_add() with the payload given, each byte written once (a CHALLENGE
 * stores its vector's RAND, XRES, CK, IK; zeroing a replaced entry first
 * would write it twice): rand, XRES = f2 (64 bits, TS 35.206 §4.1; the
 * rest of xres zero, xres_len 8), ck, ik. Inline, and the full list (the
 * steady state under load) without a call. */
static inline void
akv_pend_add_challenge(struct akv_pend_pool *p, struct akv_pend_list *l, unsigned cap,
		       uint64_t expires_ms, const uint8_t rand[16], const uint8_t xres[8],
		       const uint8_t ck[16], const uint8_t ik[16])
{
	struct akv_pend *e;
	int reused;

	if (l->n == akv_pend_cap(cap)) {
		e = akv_pend_rotate(p, l);
		e->expires_ms = expires_ms;
	} else {
		e = akv_pend_link_newest(p, l, cap, expires_ms, &reused);
	}
	/* a replaced challenge's secrets are overwritten here as
	 * akv_pend_add's wipe would have zeroed them */
	memcpy(e->rand, rand, 16);
	memcpy(e->xres, xres, 8);
	memset(e->xres + 8, 0, sizeof(e->xres) - 8);
	e->xres_len = 8;
	memcpy(e->ck, ck, 16);
	memcpy(e->ik, ik, 16);
}

/* Prefetches, for writing, what the next akv_pend_add(p, l, cap, ...) will
 * write: the oldest entry when l is full, else the two ends it links to.
 * Returns 1 when that add takes a free slot (see akv_pend_prefetch), else 0. */
int akv_pend_prefetch_add(const struct akv_pend_pool *p, const struct akv_pend_list *l,
			  unsigned cap);

/* 1 when the next akv_pend_add(p, l, cap, ...) takes a free slot (l is
 * below its cap), 0 when it reuses l's oldest entry. */
static inline int
akv_pend_add_allocates(const struct akv_pend_list *l, unsigned cap)
{
	return l->n < akv_pend_cap(cap);
}

/* Prefetches, for writing, the free slots the next n allocating
 * akv_pend_add() calls will use (free slots are scattered once the pool has
 * churned). */
void akv_pend_prefetch(const struct akv_pend_pool *p, size_t n);

/* The entry after index i in l, newest to oldest: AKV_PEND_NIL after the
 * oldest (i must be linked in l). */
static inline uint32_t
akv_pend_next_older(const struct akv_pend_pool *p, const struct akv_pend_list *l, uint32_t i)
{
	return i == l->tail ? AKV_PEND_NIL : p->v[i].older;
}

/* The live entry of `l` whose RAND equals rand, or NULL. A match that has
 * expired at now_ms (akv_pend_expire not run yet) is freed, and NULL returned. */
struct akv_pend *akv_pend_find(struct akv_pend_pool *p, struct akv_pend_list *l,
			       const uint8_t rand[16], uint64_t now_ms);
/* The newest live entry of `l`, or NULL (if the newest expired, all did: freed). */
struct akv_pend *akv_pend_latest(struct akv_pend_pool *p, struct akv_pend_list *l,
				 uint64_t now_ms);

/* Unlinks and wipes entry e (found in list e->owner). */
void akv_pend_del(struct akv_pend_pool *p, struct akv_pend *e);
/* Frees every entry of `l`. */
void akv_pend_clear(struct akv_pend_pool *p, struct akv_pend_list *l);
/* Frees the entries, of any IMPI, expired at now_ms among the next `budget`
 * slots of a circular sweep (SIZE_MAX: all). Returns how many were freed.
 * Lookups never return an expired entry; the sweep only bounds the memory
 * that expired, never-answered challenges hold. */
size_t akv_pend_expire(struct akv_pend_pool *p, uint64_t now_ms, size_t budget);

/* Heap bytes held by the pool. */
size_t akv_pend_pool_bytes(const struct akv_pend_pool *p);

/* ==== Judging ==== */

/* RES against XRES (TS 33.102 §6.3.3): 0 when equal, -1 otherwise, in time
 * independent of the contents. Lengths differ -> -1 (lengths are public). */
int akv_verify_res(const uint8_t *xres, size_t xres_len, const uint8_t *res, size_t res_len);

/* Checks the (offset, length) pairs of a Digest VERIFY against the buffer,
 * fills *f (borrowing d->buf) and the nonce's RAND. Returns 0, AKV_EPROTO
 * (a field outside buf, or no nonce/response), or AKV_EINVAL (alg is not
 * AKAv1-MD5/AKAv2-MD5, or the nonce is not base64 of RAND||AUTN...). */
int akv_verify_digest_parse(const struct akv_eng_digest *d, struct akv_digest_fields *f,
			    uint8_t rand[16]);

/* The Digest response of d against pending challenge c (RFC 3310 password =
 * XRES; RFC 4169 password from XRES, IK, CK): 0 match, -1 mismatch. */
int akv_verify_digest(const struct akv_eng_digest *d, const struct akv_digest_fields *f,
		      const struct akv_pend *c);

/* 1 when all 16 bytes are zero (VERIFY by RES without a challenge id). */
int akv_verify_rand_is_zero(const uint8_t rand[16]);

#ifdef __cplusplus
}
#endif
#endif

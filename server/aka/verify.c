/*
 * verify.c - the pending-challenge pool and the RES / Digest checks.
 */
#include "aka/verify.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"

/* see verify.h */
void
akv_pend_pool_init(struct akv_pend_pool *p)
{
	memset(p, 0, sizeof(*p));
}

/* see verify.h */
void
akv_pend_pool_fini(struct akv_pend_pool *p)
{
	if (p->v) {
		akv_wipe(p->v, (size_t)p->cap * sizeof(*p->v));
		akv_free(p->v);
		akv_free(p->free_stk);
	}
	akv_pend_pool_init(p);
}

/* memset plus a compiler barrier: as un-elidable as akv_wipe() but word-wide
 * (entries are wiped on every free, on the hot path). */
static inline void
scrub(void *p, size_t n)
{
	memset(p, 0, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

/* RAND is public (it travels in clear to the UE), but it is compared without
 * a data-dependent branch anyway: two words, XOR, OR. */
static inline int
rand_eq(const uint8_t a[16], const uint8_t b[16])
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* Wipes what a reused entry held: RAND and the secrets, before the new
 * challenge is written over them (the caller may write fewer XRES bytes). */
static inline void
wipe_payload(struct akv_pend *e)
{
	memset(e->rand, 0, sizeof(e->rand));
	memset(e->xres, 0, sizeof(e->xres));
	memset(e->ck, 0, sizeof(e->ck));
	memset(e->ik, 0, sizeof(e->ik));
	e->xres_len = 0;
	__asm__ __volatile__("" : : "r"(e) : "memory");
}

static uint32_t
pend_alloc(struct akv_pend_pool *p)
{
	uint32_t i;

	if (p->nfree == 0) {
		uint32_t ncap = p->cap ? p->cap * 2 : 1024;
		size_t nbytes = (size_t)ncap * sizeof(*p->v);
		struct akv_pend *nv;

		/* indices are 32-bit with NIL reserved: past 2^31 entries is a bug */
		if (ncap > (UINT32_C(1) << 31))
			abort();
		/* a fresh array, advised before anything touches it, then the
		 * live entries moved over and the old copy wiped */
		nv = akv_malloc(nbytes);
		akv_huge_pages_hint(nv, nbytes);
		if (p->v) {
			memcpy(nv, p->v, (size_t)p->cap * sizeof(*p->v));
			akv_wipe(p->v, (size_t)p->cap * sizeof(*p->v));
			akv_free(p->v);
		}
		p->v = nv;
		p->free_stk = akv_realloc(p->free_stk, (size_t)ncap * sizeof(*p->free_stk));
		memset(&p->v[p->cap], 0, (size_t)(ncap - p->cap) * sizeof(*p->v));
		/* pushed high to low: fresh slots are handed out in address order */
		for (i = ncap; i-- > p->cap;)
			p->free_stk[p->nfree++] = i;
		p->cap = ncap;
	}
	i = p->free_stk[--p->nfree];
	p->live++;
	return i;
}

static void
pend_free(struct akv_pend_pool *p, uint32_t i)
{
	scrub(&p->v[i], sizeof(p->v[i]));	/* owner = NULL: free */
	p->free_stk[p->nfree++] = i;
	p->live--;
}

/* Takes index i out of its owner's ring and frees it. */
static void
ring_unlink(struct akv_pend_pool *p, uint32_t i)
{
	struct akv_pend *e = &p->v[i];
	struct akv_pend_list *l = e->owner;

	if (l->n == 1) {
		l->head = AKV_PEND_NIL;
	} else {
		p->v[e->newer].older = e->older;
		p->v[e->older].newer = e->newer;
		if (i == l->head)
			l->head = e->older;
		if (i == l->tail)
			l->tail = e->newer;
	}
	l->n--;
	pend_free(p, i);
}

/* see verify.h */
struct akv_pend *
akv_pend_link_newest(struct akv_pend_pool *p, struct akv_pend_list *l, unsigned cap,
		     uint64_t expires_ms, int *reused)
{
	struct akv_pend *e;
	uint32_t i;

	cap = akv_pend_cap(cap);
	while (l->n > cap)	/* the cap was lowered: the oldest go */
		ring_unlink(p, l->tail);
	if (l->n == cap) {
		e = akv_pend_rotate(p, l);
		e->expires_ms = expires_ms;
		*reused = 1;
		return e;
	}
	i = pend_alloc(p);
	e = &p->v[i];
	e->expires_ms = expires_ms;
	e->owner = l;
	if (l->n == 0) {
		e->older = i;
		e->newer = i;
		l->tail = i;
	} else {
		/* between the tail (older side, wrapping) and the head */
		e->older = l->head;
		e->newer = l->tail;
		p->v[l->head].newer = i;
		p->v[l->tail].older = i;
	}
	l->head = i;
	l->n++;
	*reused = 0;
	return e;
}

/* see verify.h */
struct akv_pend *
akv_pend_add(struct akv_pend_pool *p, struct akv_pend_list *l, unsigned cap, uint64_t expires_ms)
{
	int reused;
	struct akv_pend *e = akv_pend_link_newest(p, l, cap, expires_ms, &reused);

	if (reused)
		wipe_payload(e);
	return e;
}

/* see verify.h */
int
akv_pend_prefetch_add(const struct akv_pend_pool *p, const struct akv_pend_list *l, unsigned cap)
{
	if (!akv_pend_add_allocates(l, cap)) {
		const char *e = (const char *)&p->v[l->tail];

		__builtin_prefetch(e, 1);
		__builtin_prefetch(e + sizeof(struct akv_pend) - 1, 1);
		return 0;
	}
	if (l->n) {
		__builtin_prefetch(&p->v[l->head].newer, 1);
		__builtin_prefetch(&p->v[l->tail].older, 1);
	}
	return 1;
}

/* see verify.h */
void
akv_pend_prefetch(const struct akv_pend_pool *p, size_t n)
{
	for (size_t k = 0; k < n && k < p->nfree; k++) {
		const char *e = (const char *)&p->v[p->free_stk[p->nfree - 1 - k]];

		__builtin_prefetch(e, 1);
		__builtin_prefetch(e + sizeof(struct akv_pend) - 1, 1);
	}
}

/* see verify.h */
struct akv_pend *
akv_pend_find(struct akv_pend_pool *p, struct akv_pend_list *l, const uint8_t rand[16],
	      uint64_t now_ms)
{
	uint32_t i = l->head;

	for (unsigned k = l->n; k; k--, i = p->v[i].older) {
		struct akv_pend *e = &p->v[i];

		if (rand_eq(e->rand, rand)) {
			if (e->expires_ms > now_ms)
				return e;
			akv_pend_del(p, e);	/* expired: tick had not got to it yet */
			return NULL;
		}
	}
	return NULL;
}

/* see verify.h */
struct akv_pend *
akv_pend_latest(struct akv_pend_pool *p, struct akv_pend_list *l, uint64_t now_ms)
{
	if (l->n == 0)
		return NULL;
	if (p->v[l->head].expires_ms > now_ms)
		return &p->v[l->head];
	/* one TTL for all: the newest expired, so did every older one */
	akv_pend_clear(p, l);
	return NULL;
}

/* see verify.h */
void
akv_pend_del(struct akv_pend_pool *p, struct akv_pend *e)
{
	uint32_t idx = (uint32_t)(e - p->v);
	struct akv_pend_list *l = e->owner;

	/* e must be linked where its links say: anything else is memory corruption */
	if (!l || l->n == 0 || e->older >= p->cap || e->newer >= p->cap ||
	    p->v[e->older].newer != idx || p->v[e->newer].older != idx)
		abort();
	ring_unlink(p, idx);
}

/* see verify.h */
void
akv_pend_clear(struct akv_pend_pool *p, struct akv_pend_list *l)
{
	while (l->n)
		ring_unlink(p, l->head);
}

/* see verify.h */
size_t
akv_pend_expire(struct akv_pend_pool *p, uint64_t now_ms, size_t budget)
{
	size_t n = 0;

	if (budget > p->cap)
		budget = p->cap;
	for (; budget; budget--) {
		struct akv_pend *e;

		if (p->sweep >= p->cap)
			p->sweep = 0;
		e = &p->v[p->sweep++];
		if (e->owner && e->expires_ms <= now_ms) {
			akv_pend_del(p, e);
			n++;
		}
	}
	return n;
}

/* see verify.h */
size_t
akv_pend_pool_bytes(const struct akv_pend_pool *p)
{
	return (size_t)p->cap * (sizeof(*p->v) + sizeof(*p->free_stk));
}

/* see verify.h */
int
akv_verify_res(const uint8_t *xres, size_t xres_len, const uint8_t *res, size_t res_len)
{
	if (xres_len == 0 || xres_len != res_len)
		return -1;
	return akv_ct_eq(xres, res, xres_len);
}

/* Borrows field `i` of d into *s; 0, or -1 when it lies outside buf. */
static int
dig_field(const struct akv_eng_digest *d, enum akv_dig_field i, struct akv_str *s)
{
	size_t off = d->off[i], len = d->len[i];

	if (off > sizeof(d->buf) || len > sizeof(d->buf) - off)
		return -1;
	s->p = d->buf + off;
	s->n = len;
	return 0;
}

/* see verify.h */
int
akv_verify_digest_parse(const struct akv_eng_digest *d, struct akv_digest_fields *f,
			uint8_t rand[16])
{
	struct akv_str resp;
	uint8_t autn[16];
	int bad = 0;

	memset(f, 0, sizeof(*f));
	bad |= dig_field(d, AKV_DIG_USERNAME, &f->username);
	bad |= dig_field(d, AKV_DIG_REALM, &f->realm);
	bad |= dig_field(d, AKV_DIG_NONCE, &f->nonce);
	bad |= dig_field(d, AKV_DIG_URI, &f->uri);
	bad |= dig_field(d, AKV_DIG_METHOD, &f->method);
	bad |= dig_field(d, AKV_DIG_QOP, &f->qop);
	bad |= dig_field(d, AKV_DIG_NC, &f->nc);
	bad |= dig_field(d, AKV_DIG_CNONCE, &f->cnonce);
	bad |= dig_field(d, AKV_DIG_RESPONSE, &resp);
	if (bad || f->nonce.n == 0 || resp.n == 0)
		return AKV_EPROTO;
	if (d->alg != AKV_DIGEST_AKAV1_MD5 && d->alg != AKV_DIGEST_AKAV2_MD5)
		return AKV_EINVAL;
	/* RFC 3310 §3.2: nonce = base64(RAND || AUTN || server data) */
	if (akv_digest_nonce_parse(f->nonce.p, f->nonce.n, rand, autn))
		return AKV_EINVAL;
	return 0;
}

/* see verify.h */
int
akv_verify_digest(const struct akv_eng_digest *d, const struct akv_digest_fields *f,
		  const struct akv_pend *c)
{
	const char *resp = d->buf + d->off[AKV_DIG_RESPONSE];

	/* akv_verify_digest_parse() checked the field against buf */
	return akv_digest_verify((enum akv_digest_alg)d->alg, f, c->xres, c->xres_len, c->ck,
				 c->ik, resp, d->len[AKV_DIG_RESPONSE]);
}

/* see verify.h */
int
akv_verify_rand_is_zero(const uint8_t rand[16])
{
	uint64_t a, b;

	/* two word loads (RAND is public: no constant-time need, none lost) */
	memcpy(&a, rand, 8);
	memcpy(&b, rand + 8, 8);
	return (a | b) == 0;
}

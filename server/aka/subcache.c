/*
 * subcache.c - chained hash map of cached subscribers (one engine, one thread).
 */
#include "aka/subcache.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "store/store.h"

struct akv_subcache {
	struct akv_subent **b;	/* buckets */
	size_t mask;		/* nbuckets - 1 (power of two) */
	size_t count;
	size_t bytes;		/* entries + IMPU arrays */
	int keys;		/* entries hold K, OPc and round keys (akv_subcache_new) */
	uint64_t bkt_k0, bkt_k1;	/* bucket hash key (SipHash-1-3 of the IMPI) */
	uint64_t sip_k0, sip_k1;	/* IMPU SipHash-1-3 key */
};

/* ==== Hashes ==== */

static inline uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t
load64_le(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);	/* one load */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);	/* SipHash reads words little-endian */
#endif
	return v;
}

#define SIPROUND                                                                                 \
	do {                                                                                     \
		v0 += v1;                                                                        \
		v1 = rotl64(v1, 13);                                                             \
		v1 ^= v0;                                                                        \
		v0 = rotl64(v0, 32);                                                             \
		v2 += v3;                                                                        \
		v3 = rotl64(v3, 16);                                                             \
		v3 ^= v2;                                                                        \
		v0 += v3;                                                                        \
		v3 = rotl64(v3, 21);                                                             \
		v3 ^= v0;                                                                        \
		v2 += v1;                                                                        \
		v1 = rotl64(v1, 17);                                                             \
		v1 ^= v2;                                                                        \
		v2 = rotl64(v2, 32);                                                             \
	} while (0)

/*
 * SipHash-1-3 (Aumasson, Bernstein 2012, with one compression and three
 * finalization rounds, as Rust's HashMap and CPython's str hash use): a
 * keyed 64-bit PRF under a random per-cache key. It indexes the buckets by
 * IMPI and fingerprints the IMPUs. Without the key an outsider can neither
 * make identities share a bucket (hash flooding: unlike a seeded
 * multiply-rotate hash, no seed-independent differentials) nor aim an IMPU
 * at another one's fingerprint; answers show at most whether two values
 * met. SipHash-2-4 cost twice the rounds for a margin that such a
 * no-output use does not need (~4 % of the worker's CPU before).
 */
static inline uint64_t
siphash13(uint64_t k0, uint64_t k1, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575), v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261), v3 = k1 ^ UINT64_C(0x7465646279746573);
	uint64_t b = (uint64_t)len << 56, m;
	size_t left = len & 7;

	for (const uint8_t *end = p + (len - left); p < end; p += 8) {
		m = load64_le(p);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	if (left && len >= 8) {
		/* the last 8 bytes in one load, the ones already taken shifted out */
		b |= load64_le(p + left - 8) >> (64 - 8 * left);
	} else {
		for (size_t i = 0; i < left; i++)
			b |= (uint64_t)p[i] << (8 * i);
	}
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* see subcache.h */
uint64_t
akv_siphash13(uint64_t k0, uint64_t k1, const char *s, size_t len)
{
	return siphash13(k0, k1, s, len);
}

/* ==== Lifecycle ==== */

/* see subcache.h */
struct akv_subcache *
akv_subcache_new(int keys)
{
	struct akv_subcache *c = akv_calloc(1, sizeof(*c));
	uint64_t key[4];

	c->keys = keys != 0;
	if (akv_rand_bytes((uint8_t *)key, sizeof(key)))
		abort(); /* no DRBG: nothing secure can run, as for OOM */
	c->bkt_k0 = key[0];
	c->bkt_k1 = key[1];
	c->sip_k0 = key[2];
	c->sip_k1 = key[3];
	akv_wipe(key, sizeof(key));
	c->mask = 1023;
	c->b = akv_calloc(c->mask + 1, sizeof(*c->b));
	return c;
}

static size_t
ent_size(const struct akv_subcache *c, size_t len)
{
	return c->keys ? AKV_SUBENT_SIZE_KEYS(len) : AKV_SUBENT_SIZE(len);
}

static void
ent_free(struct akv_subcache *c, struct akv_subent *e)
{
	size_t sz = ent_size(c, e->impi_len);

	if (e->nimpu > 1) {
		c->bytes -= e->nimpu * sizeof(uint64_t);
		akv_free(e->impu_h.many);
	}
	c->bytes -= sz;
	akv_wipe(e, sz);
	akv_free(e);
}

/* see subcache.h */
void
akv_subcache_free(struct akv_subcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i <= c->mask; i++) {
		struct akv_subent *e = c->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			ent_free(c, e);
		}
	}
	akv_free(c->b);
	akv_wipe(c, sizeof(*c));
	akv_free(c);
}

/* ==== Operations ==== */

/* see subcache.h */
uint32_t
akv_subcache_hash(const struct akv_subcache *c, const char *impi, size_t len)
{
	return (uint32_t)siphash13(c->bkt_k0, c->bkt_k1, impi, len);
}

/* see subcache.h */
void
akv_subcache_prefetch(const struct akv_subcache *c, uint32_t hash)
{
	__builtin_prefetch(&c->b[hash & c->mask]);
}

/* see subcache.h */
void
akv_subcache_prefetch_entry(const struct akv_subcache *c, uint32_t hash, size_t len, int keys)
{
	const char *e = (const char *)c->b[hash & c->mask];
	size_t end;

	if (!e)
		return;
	/* The header with the SQN state and the IMPI, and, for a request that
	 * runs Milenage, the keys after it, up to the entry's last line and
	 * not the line after it (another entry's; entries of these sizes are
	 * line-aligned jemalloc regions). A request that runs none skips the
	 * keys' lines: fewer prefetches in the lookup window, whose loop waits
	 * when the line fill buffers are full. */
	if (len > 255)
		len = 255;
	end = keys && c->keys ? AKV_SUBENT_SIZE_KEYS(len) : AKV_SUBENT_SIZE(len);
	for (size_t off = 0; off < end; off += 64)
		__builtin_prefetch(e + off);
}

/* see subcache.h */
struct akv_subent *
akv_subcache_find(const struct akv_subcache *c, const char *impi, size_t len, uint32_t hash)
{
	struct akv_subent *e = c->b[hash & c->mask];

	for (; e; e = e->next)
		if (e->hash == hash && e->impi_len == len && !memcmp(e->impi, impi, len))
			return e;
	return NULL;
}

/* A zeroed bucket array; past 4 MiB with transparent huge pages asked for
 * (THP "madvise" mode) before it is touched: every lookup reads one random
 * bucket, and with 1M+ subscribers it would otherwise miss the TLB too. */
static struct akv_subent **
buckets_new(size_t n)
{
	size_t bytes = n * sizeof(struct akv_subent *);
	struct akv_subent **b = akv_malloc(bytes);

	akv_huge_pages_hint(b, bytes);
	memset(b, 0, bytes);
	return b;
}

static void
grow(struct akv_subcache *c)
{
	size_t nmask = c->mask * 2 + 1;
	struct akv_subent **nb = buckets_new(nmask + 1);

	for (size_t i = 0; i <= c->mask; i++) {
		struct akv_subent *e = c->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = nb[e->hash & nmask];
			nb[e->hash & nmask] = e;
		}
	}
	akv_free(c->b);
	c->b = nb;
	c->mask = nmask;
}

/* Copies the record's fields that a provisioning change may alter. */
static int
ent_fill(struct akv_subcache *c, struct akv_subent *e, const struct akv_sub *rec, int fresh)
{
	struct akv_subkeys *kk = c->keys ? akv_subent_keys(e) : NULL;
	int keys_changed = fresh || memcmp(e->amf, rec->amf, 2) ||
			   (kk && (memcmp(kk->k, rec->k, 16) || memcmp(kk->opc, rec->opc, 16)));
	unsigned n = rec->nimpu;

	if (keys_changed) {
		memcpy(e->amf, rec->amf, 2);
		if (kk) {
			memcpy(kk->k, rec->k, 16);
			memcpy(kk->opc, rec->opc, 16);
			akv_aes_expand(kk->k, &kk->ks);
		}
	}
	e->schemes = rec->schemes;
	e->fail_limit = (uint8_t)(rec->fail_limit > 255 ? 255 : rec->fail_limit);
	if (e->nimpu > 1) {
		c->bytes -= e->nimpu * sizeof(uint64_t);
		akv_free(e->impu_h.many);
	}
	e->impu_h.one = 0;
	if (n > AKV_STORE_MAX_IMPUS)
		n = AKV_STORE_MAX_IMPUS;
	if (n == 1) {
		e->impu_h.one = akv_siphash13(c->sip_k0, c->sip_k1, rec->impu[0], rec->impu_len[0]);
	} else if (n > 1) {
		e->impu_h.many = akv_malloc(n * sizeof(uint64_t));
		c->bytes += n * sizeof(uint64_t);
		for (unsigned i = 0; i < n; i++)
			e->impu_h.many[i] =
				akv_siphash13(c->sip_k0, c->sip_k1, rec->impu[i], rec->impu_len[i]);
	}
	e->nimpu = (uint8_t)n;
	e->impu_sip_impi = 0;
	for (unsigned i = 0; i < n; i++)
		if (akv_subcache_is_sip_impi(rec->impu[i], rec->impu_len[i], rec->impi,
					     rec->impi_len))
			e->impu_sip_impi = 1;
	return keys_changed;
}

/* see subcache.h */
struct akv_subent *
akv_subcache_insert(struct akv_subcache *c, const struct akv_sub *rec, uint32_t hash)
{
	size_t len = rec->impi_len > 255 ? 255 : rec->impi_len;
	size_t sz = ent_size(c, len);
	struct akv_subent *e = akv_calloc(1, sz);

	c->bytes += sz;
	/* the IMPI's length first: it places the keys ent_fill writes */
	e->impi_len = (uint8_t)len;
	memcpy(e->impi, rec->impi, len);
	ent_fill(c, e, rec, 1);
	e->pend = (struct akv_pend_list)AKV_PEND_LIST_INIT;
	e->hash = hash;
	/* At most half full: the entry a lookup wants is then its bucket's
	 * first (the one akv_subcache_prefetch_entry fetches ahead) with
	 * probability (1 - e^-a) / a >= 79 % at load a <= 1/2, against 63 %
	 * at load 1; any other costs a chain of cold entry lines. 8 to 16
	 * bytes more per subscriber for ~10 % of a challenge's time. */
	if (2 * c->count >= c->mask + 1)
		grow(c);
	e->next = c->b[hash & c->mask];
	c->b[hash & c->mask] = e;
	c->count++;
	return e;
}

/* see subcache.h */
int
akv_subcache_update(struct akv_subcache *c, struct akv_subent *e, const struct akv_sub *rec)
{
	return ent_fill(c, e, rec, 0);
}

/* see subcache.h */
size_t
akv_subcache_entry_bytes(const struct akv_subcache *c, const struct akv_subent *e)
{
	return ent_size(c, e->impi_len);
}

/* see subcache.h */
void
akv_subcache_remove(struct akv_subcache *c, struct akv_subent *e)
{
	struct akv_subent **pp = &c->b[e->hash & c->mask];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (!*pp)
		abort(); /* not in its bucket: memory corruption */
	*pp = e->next;
	c->count--;
	ent_free(c, e);
}

/* see subcache.h */
int
akv_subcache_impu_hashed(const struct akv_subcache *c, const struct akv_subent *e,
			 const char *impu, size_t len)
{
	uint64_t h;

	h = siphash13(c->sip_k0, c->sip_k1, impu, len);
	if (e->nimpu == 1)
		return e->impu_h.one == h;
	for (unsigned i = 0; i < e->nimpu; i++)
		if (e->impu_h.many[i] == h)
			return 1;
	return 0;
}

/* see subcache.h */
void
akv_subcache_foreach(struct akv_subcache *c, void (*fn)(void *arg, struct akv_subent *e),
		     void *arg)
{
	for (size_t i = 0; i <= c->mask; i++) {
		struct akv_subent *e = c->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			fn(arg, e);
		}
	}
}

/* ==== Accessors ==== */

/* see subcache.h */
size_t
akv_subcache_count(const struct akv_subcache *c)
{
	return c->count;
}

/* see subcache.h */
size_t
akv_subcache_bytes(const struct akv_subcache *c)
{
	return c->bytes + (c->mask + 1) * sizeof(*c->b);
}

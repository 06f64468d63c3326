/*
 * subcache.h - the engine's in-memory subscriber cache: IMPI -> entry.
 *
 * One cache per engine (one worker thread, no locking). An entry holds what
 * the hot path needs and nothing more: K, OPc, K's AES round keys (expanded
 * once per load, so no batch ever expands a key), AMF, SQN state, failure
 * counter, the allowed schemes, the failure-limit override, the pending
 * challenges' list head, and the IMPUs as 64-bit SipHash-1-3 values under a
 * per-cache random key (8 bytes per IMPU instead of the string; a foreign
 * IMPU is accepted by mistake with probability nimpu / 2^64). Entries never
 * move while cached (pending challenges point at their list head). Entries
 * are wiped when freed.
 *
 * Buckets are chained and indexed by SipHash-1-3 of the IMPI under another
 * per-cache random key (keyed: attacker-chosen identities cannot be made to
 * share a bucket; independent of the FNV-1a shard hash, whose low bits are
 * constant within a shard). Each request hashes its IMPI once and its IMPU,
 * if any, at most once: an IMPU of the form "sip:" + IMPI (TS 23.003
 * §13.4B's derived public identity, and a common provisioning) is checked
 * by comparing the bytes, when the entry has one such IMPU, without hashing.
 *
 * Layout: the fields below, the IMPI, then (16-aligned) the key material,
 * struct akv_subkeys, reached through akv_subent_keys(). A cache made
 * without keys (the registrar's, which never computes vectors) allocates
 * its entries up to the IMPI only: ~100 bytes instead of ~300, and no copy
 * of any secret.
 *
 * The entry also caches the IMPI's Cx registration state for server/aka/cx.c
 * (cx_reg, cx_stamp: 3 bytes); this file only zeroes them on insert (unknown)
 * and keeps them across a refresh (the state is keyed by IMPI, not by what
 * provisioning changes).
 */
#ifndef AKV_SERVER_AKA_SUBCACHE_H
#define AKV_SERVER_AKA_SUBCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "akv_crypto.h"
#include "aka/verify.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

/* akv_subent.flags: the engine's bookkeeping bits */
#define AKV_SUBENT_QUEUED 0x1u	/* in the engine's reservation queue */
#define AKV_SUBENT_FORCED 0x2u	/* a vector of the current batch needs that commit */
#define AKV_SUBENT_RENEWING 0x4u /* in a renewal job being written (akv_eng_renewal_take) */

/* ==== Types ==== */

struct akv_sub;			/* store/store.h */

/* An entry's key material, after its IMPI (see "Layout"). Secret. */
struct akv_subkeys {
	struct akv_aes_sched ks;	/* schedule of k */
	uint8_t k[16];
	uint8_t opc[16];
};

struct akv_subent {
	uint64_t seq;			/* SEQ_HE: highest SEQ issued or known (never lowered) */
	uint64_t seq_res;		/* highest SEQ durably reserved in the store */
	struct akv_subent *next;	/* bucket chain */
	union {
		uint64_t one;		/* nimpu == 1 */
		uint64_t *many;		/* nimpu > 1: heap array */
	} impu_h;
	struct akv_pend_list pend;	/* pending challenges */
	uint32_t hash;			/* bucket hash of impi */
	uint32_t epoch;			/* engine epoch of the last (re)load */
	uint16_t ind_next;		/* cyclic IND cursor (TS 33.102 C.1.2) */
	uint8_t amf[2];
	uint16_t cx_stamp;		/* Cx cache stamp cx_reg was valid at, 0 = unknown */
	uint8_t schemes;		/* AKV_SCHEME_BIT() mask */
	uint8_t fail_limit;		/* override, 0 = configured default */
	uint8_t fails;			/* consecutive failed verifications */
	uint8_t flags;			/* AKV_SUBENT_* */
	uint8_t nimpu;
	uint8_t impu_sip_impi;		/* 1: one IMPU is "sip:" + the IMPI */
	uint8_t impi_len;
	uint8_t cx_reg;			/* Cx registration state (server/aka/cx.c):
					 * enum akv_cx_state | S-CSCF name index << 2 */
	uint8_t pend_name;		/* S-CSCF index a MAR last noted in the
					 * "authentication pending" memo (eng.c) */
	uint16_t pend_epoch;		/* the engine's memo epoch of that note */
	char impi[];			/* impi_len bytes, no NUL */
};

/* Bytes an entry of an IMPI of `len` bytes takes without keys: the IMPI
 * starts inside the struct's tail padding, so sizeof + len would ask for up
 * to 7 bytes that are never used. */
#define AKV_SUBENT_SIZE(len) (offsetof(struct akv_subent, impi) + (len))
/* Where the keys of such an entry start (aligned for the round keys), and
 * the bytes of the entry with them. */
#define AKV_SUBENT_KEYS_OFF(len) ((AKV_SUBENT_SIZE(len) + 15) & ~(size_t)15)
#define AKV_SUBENT_SIZE_KEYS(len) (AKV_SUBENT_KEYS_OFF(len) + sizeof(struct akv_subkeys))

/* The key material of e, an entry of a cache that keeps keys (an entry of
 * any other has no such bytes: akv_subcache_entry_bytes). */
static inline struct akv_subkeys *
akv_subent_keys(struct akv_subent *e)
{
	return (struct akv_subkeys *)(void *)((char *)e + AKV_SUBENT_KEYS_OFF(e->impi_len));
}

struct akv_subcache;

/* ==== Hashes ==== */

/* SipHash-1-3 of s[0..len) under key (k0, k1) (the key's two little-endian
 * halves): the cache's keyed hash, for the bucket index and the IMPU
 * fingerprints. Exposed for tests against reference values. */
uint64_t akv_siphash13(uint64_t k0, uint64_t k1, const char *s, size_t len);

/* ==== Lifecycle ==== */

/* An empty cache with fresh random hash keys (akv_rand_bytes). `keys`: its
 * entries hold K, OPc and K's round keys (a worker's); 0: they hold none
 * and have no room for them (the registrar's). */
struct akv_subcache *akv_subcache_new(int keys);
/* Wipes and frees every entry and the cache. The caller has cleared the
 * entries' pending challenges. NULL is a no-op. */
void akv_subcache_free(struct akv_subcache *c);

/* ==== Operations ==== */

/* The bucket hash of an IMPI for find/insert. */
uint32_t akv_subcache_hash(const struct akv_subcache *c, const char *impi, size_t len);
/* Prefetches the bucket of `hash` (batch lookups hide memory latency). */
void akv_subcache_prefetch(const struct akv_subcache *c, uint32_t hash);
/* Prefetches the cache lines of the first entry in the bucket of `hash`, as
 * long as an entry of an IMPI of `len` (<= 255) bytes (call after
 * akv_subcache_prefetch had time to land): those a lookup and the request's
 * bookkeeping read (from OPc on: OPc, SQN state, pending list head, the
 * header, the IMPI) and, when `keys`, K and its AES schedule, which only
 * Milenage reads (a VERIFY never does). */
void akv_subcache_prefetch_entry(const struct akv_subcache *c, uint32_t hash, size_t len,
				 int keys);
/* The entry of impi, or NULL. */
struct akv_subent *akv_subcache_find(const struct akv_subcache *c, const char *impi, size_t len,
				     uint32_t hash);
/* Adds an entry for record `rec` (IMPI not cached yet; impi_len <= 255):
 * copies AMF, schemes, policy and IMPU hashes, and in a cache that keeps
 * keys K and OPc, and expands K. seq,
 * seq_res, epoch are zero: the caller sets them. Never fails (OOM aborts). */
struct akv_subent *akv_subcache_insert(struct akv_subcache *c, const struct akv_sub *rec,
				       uint32_t hash);
/* Refreshes e in place from `rec` (same IMPI) after a provisioning change.
 * SQN fields are left to the caller. Returns 1 when K, OPc (in a cache that
 * keeps keys) or AMF changed, else 0. */
int akv_subcache_update(struct akv_subcache *c, struct akv_subent *e, const struct akv_sub *rec);
/* The bytes e takes: AKV_SUBENT_SIZE_KEYS of its IMPI's length in a cache
 * that keeps keys, AKV_SUBENT_SIZE in one that does not. */
size_t akv_subcache_entry_bytes(const struct akv_subcache *c, const struct akv_subent *e);
/* Unlinks, wipes and frees e. Its pending list must be empty. */
void akv_subcache_remove(struct akv_subcache *c, struct akv_subent *e);
/* 1 when impu is "sip:" followed by exactly the IMPI's bytes. */
static inline int
akv_subcache_is_sip_impi(const char *impu, size_t len, const char *impi, size_t impi_len)
{
	return len == impi_len + 4 && !memcmp(impu, "sip:", 4) &&
	       !memcmp(impu + 4, impi, impi_len);
}

/* akv_subcache_impu_ok() past its first test: by SipHash fingerprint. */
int akv_subcache_impu_hashed(const struct akv_subcache *c, const struct akv_subent *e,
			     const char *impu, size_t len);

/* 1 when impu is one of e's IMPUs, else 0. An IMPU equal to "sip:" + e's
 * IMPI is compared byte for byte when e has that IMPU (exact, no hash);
 * that test inline, as every request naming such an IMPU passes it. */
static inline int
akv_subcache_impu_ok(const struct akv_subcache *c, const struct akv_subent *e,
		     const char *impu, size_t len)
{
	if (e->impu_sip_impi && akv_subcache_is_sip_impi(impu, len, e->impi, e->impi_len))
		return 1;
	return akv_subcache_impu_hashed(c, e, impu, len);
}
/* Calls fn for each entry; fn may remove the entry it is given. */
void akv_subcache_foreach(struct akv_subcache *c, void (*fn)(void *arg, struct akv_subent *e),
			  void *arg);

/* ==== Accessors ==== */

size_t akv_subcache_count(const struct akv_subcache *c);
/* Heap bytes requested for entries, IMPU arrays and buckets. */
size_t akv_subcache_bytes(const struct akv_subcache *c);

#ifdef __cplusplus
}
#endif
#endif

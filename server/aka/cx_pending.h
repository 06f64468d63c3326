/*
 * cx_pending.h - S-CSCF names of authentications in progress (TS 29.228
 * §6.3.1 and §6.1.1.1): which S-CSCF asked for vectors for a private
 * identity that is not registered yet.
 *
 * Between a UE's first REGISTER and its answer to the challenge, the I-CSCF
 * asks the HSS again (UAR) where to send the second REGISTER. The user is
 * still not registered (the SAR comes after), so the registration state
 * names no S-CSCF; the one that sent the MAR must get the REGISTER, because
 * only it holds the vectors. An HSS therefore keeps the MAR's Server-Name
 * ("authentication pending") and returns it in the UAA with
 * DIAMETER_FIRST_REGISTRATION. Kamailio's I-CSCF routes to a Server-Name it
 * finds in a UAA before anything it would select from capabilities.
 *
 * The memo is shared by the workers: a MAR runs on its IMPI's shard worker
 * and notes the name, the registrar's UAR reads it and its SAR clears it.
 * It is memory only, bounded, and each entry lives for the S-CSCF's
 * reg-await-auth time (TS 24.229 table 7.8.1: 4 minutes); a restart, an
 * evicted entry or a full name table give the UAA without a name, which is
 * what akavs answered before (the I-CSCF then selects by capabilities).
 *
 * Entries are keyed by a 64-bit keyed hash of the IMPI (SipHash-1-3, random
 * key per table): identities an attacker chooses cannot be made to collide,
 * and two identities of one memo share a key with probability about
 * n^2 / 2^65. Thread-safe: striped mutexes, held for a few slot compares.
 */
#ifndef AKV_SERVER_AKA_CX_PENDING_H
#define AKV_SERVER_AKA_CX_PENDING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How long a noted name stands: the S-CSCF's reg-await-auth timer (TS 24.229
 * §5.4.1.2.1, table 7.8.1: 4 minutes), after which the S-CSCF has given up
 * on the challenge and a new REGISTER starts over. */
#define AKV_CX_PENDING_TTL_MS (4u * 60u * 1000u)
/* Distinct S-CSCF names one table interns; an HSS sees a handful. */
#define AKV_CX_PENDING_NAMES 64

struct akv_cx_pending;

/* Counters, summed over the stripes. */
struct akv_cx_pending_stats {
	uint64_t noted;		/* MARs whose name was written (new or changed) */
	uint64_t found;		/* UARs answered with a noted name */
	uint64_t evicted;	/* live entries overwritten for lack of room */
	uint64_t names_full;	/* MARs not noted: the name table was full */
};

/* A memo of about `max` entries (rounded up; at least 512) whose entries
 * live ttl_ms. Never fails (OOM aborts). */
struct akv_cx_pending *akv_cx_pending_new(size_t max, uint32_t ttl_ms);
/* NULL is a no-op. */
void akv_cx_pending_free(struct akv_cx_pending *p);

/* The index (1..AKV_CX_PENDING_NAMES) of S-CSCF name `name` (1..255
 * bytes), interned on first use; 0 when it is empty, too long, or new while
 * the table holds AKV_CX_PENDING_NAMES names (counted in names_full). A
 * decoder interns a MAR's Server-Name and passes the index on, so the worker
 * that notes it never reads the name. */
uint16_t akv_cx_pending_intern(struct akv_cx_pending *p, const char *name, size_t len);

/* A MAR from the S-CSCF of interned index `name` for `impi` at now_ms: the
 * IMPI's entry names it from now on, for ttl_ms. When the stripe has no
 * free or expired slot near the key, the entry closest to expiry gives way
 * (counted, and akv_cx_pending_gen() moves). */
void akv_cx_pending_note(struct akv_cx_pending *p, const char *impi, size_t impi_len,
			 uint16_t name, uint64_t now_ms);

/* A number that moves whenever an entry disappears before its time (a
 * clear, an eviction). A caller that skips re-noting an IMPI it noted
 * lately must stop skipping when this moved since. */
uint64_t akv_cx_pending_gen(const struct akv_cx_pending *p);

/* The name noted for impi and not expired at now_ms, copied into out
 * (room for 256 bytes, NUL-terminated); returns its length, 0 when none. */
size_t akv_cx_pending_find(struct akv_cx_pending *p, const char *impi, size_t impi_len,
			   uint64_t now_ms, char *out);

/* Forgets impi's entry (a SAR settled the registration), unless it names
 * the S-CSCF of interned index `keep` (0: whichever it names). */
void akv_cx_pending_clear(struct akv_cx_pending *p, const char *impi, size_t impi_len,
			  uint16_t keep);

void akv_cx_pending_stats(struct akv_cx_pending *p, struct akv_cx_pending_stats *out);

/* The lifetime the table was made with. */
uint32_t akv_cx_pending_ttl_ms(const struct akv_cx_pending *p);

#ifdef __cplusplus
}
#endif
#endif

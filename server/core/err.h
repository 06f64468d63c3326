/*
 * err.h - akavs domain error codes and their texts.
 *
 * Functions return 0 on success, -errno for system failures and AKV_E* (all
 * <= -10000, beyond the kernel's MAX_ERRNO) for domain errors. akv_strerror()
 * gives the short text that AVS/1 error answers and CLI messages carry; it
 * never contains subscriber secrets.
 */
#ifndef AKV_SERVER_CORE_ERR_H
#define AKV_SERVER_CORE_ERR_H

#include "akv_crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* -10001 .. -10004 are the crypto library's AKV_CRYPTO_E* codes. */
#define AKV_EPARTIAL        (-10010)	/* codec: need more bytes */
#define AKV_EPROTO          (-10011)	/* codec: malformed input */
#define AKV_ETOOBIG         (-10012)	/* frame or field over its limit */
#define AKV_EUNKNOWN_OP     (-10013)	/* unknown opcode / command */
#define AKV_EUNKNOWN_USER   (-10020)	/* IMPI not provisioned (Cx 5001) */
#define AKV_EIMPU_MISMATCH  (-10021)	/* IMPU not associated with the IMPI (Cx 5002) */
#define AKV_ESCHEME         (-10022)	/* auth scheme not allowed (Cx 5006) */
#define AKV_ENO_CHALLENGE   (-10023)	/* verify: no pending challenge (unknown, expired or used) */
#define AKV_EAUTS_MAC       (-10024)	/* resync: MAC-S invalid, SQN untouched (Cx 5012) */
#define AKV_ESQN_EXHAUSTED  (-10025)	/* SQN would pass 2^48 - 1: refused, never wrapped */
#define AKV_ESQN_RANGE      (-10026)	/* SQN outside the Δ window (TS 33.102 C.2.2) */
#define AKV_EBAD_N          (-10027)	/* vector count 0 or over the configured cap */
#define AKV_EEXISTS         (-10030)	/* store: subscriber already exists */
#define AKV_ENOTFOUND       (-10031)	/* store: no such record */
#define AKV_EMAP_FULL       (-10032)	/* store: LMDB map full, nothing written */
#define AKV_ESCHEMA         (-10033)	/* store: schema version not supported */
#define AKV_ESTORE          (-10034)	/* store: other LMDB failure */
#define AKV_EKEY            (-10035)	/* store: master key missing, wrong or not applicable */
#define AKV_EINVAL          (-10040)	/* bad argument or configuration value */
#define AKV_EBUSY           (-10041)	/* server overloaded / queue full */
#define AKV_ELIMIT          (-10042)	/* a configured limit was reached */

/* Text for any code returned by akavs (system, crypto or domain). Static. */
const char *akv_strerror(int err);

/* The oldest error on this thread's OpenSSL error queue as "lib: reason" (a
 * system error's reason is its strerror: a file that cannot be opened), or
 * fallback when the queue is empty; empties the queue. The root cause comes
 * first; later entries say what failed because of it. */
void akv_ossl_reason(char *buf, size_t cap, const char *fallback);

#ifdef __cplusplus
}
#endif
#endif

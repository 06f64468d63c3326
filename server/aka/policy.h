/*
 * policy.h - the failed-attempt policy of VERIFY, pure.
 *
 * 3GPP SA3 leaves the number of consecutive wrong answers before the network
 * gives up to operator policy (an early TS 24.229 draft hard-coded three; see
 * DESIGN.md). The engine counts consecutive failures per IMPI; the limit is
 * the subscriber's override when it has one, else the configured default.
 * Reaching it yields DEREGISTER and the counter starts again from zero, so
 * the next request for that IMPI starts fresh. A success resets the counter.
 */
#ifndef AKV_SERVER_AKA_POLICY_H
#define AKV_SERVER_AKA_POLICY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

#define AKV_POLICY_LIMIT_MAX 255	/* the counter is 8 bits */

/* ==== Types ==== */

/* The outcome of one judged answer. */
struct akv_policy_result {
	uint8_t verdict;	/* enum akv_verdict (aka/eng.h) */
	uint8_t attempts_left;	/* FAIL: wrong answers still allowed before DEREGISTER */
};

/* ==== Operations ==== */

/* The limit in force: `sub_override` (1..255) when non-zero, else `cfg_limit`
 * (validated 1..255 by the engine), and never below 1. */
unsigned akv_policy_limit(unsigned cfg_limit, unsigned sub_override);

/* Records a wrong answer in *fails (the IMPI's consecutive-failure counter).
 * FAIL with attempts_left = limit - *fails while below the limit; at the
 * limit DEREGISTER, and *fails is cleared (the caller also drops the IMPI's
 * pending challenges). */
struct akv_policy_result akv_policy_on_fail(uint8_t *fails, unsigned limit);

/* Records a right answer: OK, counter cleared. */
struct akv_policy_result akv_policy_on_success(uint8_t *fails);

/* Whether a VERIFY that names no live challenge (unknown, expired or already
 * used nonce) counts as a wrong answer: only when configured so. */
static inline int
akv_policy_stale_counts(int count_stale_as_fail)
{
	return count_stale_as_fail != 0;
}

#ifdef __cplusplus
}
#endif
#endif

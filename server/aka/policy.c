/*
 * policy.c - consecutive-failure counting (operator policy, see DESIGN.md).
 */
#include "aka/policy.h"

#include "aka/eng.h"

/* see policy.h */
unsigned
akv_policy_limit(unsigned cfg_limit, unsigned sub_override)
{
	unsigned limit = sub_override ? sub_override : cfg_limit;

	if (limit < 1)
		limit = 1;
	if (limit > AKV_POLICY_LIMIT_MAX)
		limit = AKV_POLICY_LIMIT_MAX;
	return limit;
}

/* see policy.h */
struct akv_policy_result
akv_policy_on_fail(uint8_t *fails, unsigned limit)
{
	struct akv_policy_result r;
	unsigned n = (unsigned)*fails + 1;

	if (n >= limit) {
		/* limit reached: the S-CSCF deregisters; the IMPI starts fresh */
		*fails = 0;
		r.verdict = AKV_VERDICT_DEREGISTER;
		r.attempts_left = 0;
		return r;
	}
	*fails = (uint8_t)n;
	r.verdict = AKV_VERDICT_FAIL;
	r.attempts_left = (uint8_t)(limit - n);
	return r;
}

/* see policy.h */
struct akv_policy_result
akv_policy_on_success(uint8_t *fails)
{
	struct akv_policy_result r = {AKV_VERDICT_OK, 0};

	*fails = 0;
	return r;
}

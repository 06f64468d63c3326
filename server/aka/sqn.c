/*
 * sqn.c - SQN arithmetic (TS 33.102 Annex C). Pure integer code, no state.
 */
#include "aka/sqn.h"

#include "err.h"

/* see sqn.h */
uint64_t
akv_sqn_reserve_to(uint64_t seq_end, unsigned reserve, unsigned ind_bits)
{
	uint64_t max = akv_sqn_seq_max(ind_bits);

	if (seq_end >= max || max - seq_end < reserve)
		return max;
	return seq_end + reserve;
}

/* see sqn.h */
uint64_t
akv_sqn_start(uint64_t sqn_reserved, uint64_t sqn_admin, unsigned ind_bits)
{
	uint64_t a = akv_sqn_seq(sqn_reserved, ind_bits);
	uint64_t b = akv_sqn_seq(sqn_admin, ind_bits);

	return a > b ? a : b;
}

/* see sqn.h */
int
akv_sqn_resync(uint64_t *seq_he, uint64_t sqn_ms, unsigned ind_bits, uint64_t delta)
{
	uint64_t seq_ms = akv_sqn_seq(sqn_ms, ind_bits);

	if (*seq_he < seq_ms) {
		/* step 5: SQN_HE := SQN_MS; the next vector carries SEQ_MS + 1 */
		*seq_he = seq_ms;
		return 1;
	}
	/* step 3: already in range when SEQ_HE + 1 - SEQ_MS <= Δ (never lowered) */
	if (*seq_he - seq_ms < delta)
		return 0;
	return AKV_ESQN_RANGE;
}

/*
 * sqn.h - SQN arithmetic of the home environment (TS 33.102 Annex C), pure.
 *
 * SQN (48 bits) = SEQ || IND, IND the ind_bits least significant bits. The
 * engine keeps per subscriber SEQ_HE = the highest SEQ issued or known (never
 * lowered), hands out SEQ_HE + 1 .. SEQ_HE + n for a request of n vectors
 * (all with the same IND), and keeps a durable reservation RES >= every SEQ it
 * released, so that after a crash it restarts at RES + 1 (C.3.2: "SEQ_HE is
 * never decreased"). No function here wraps: at the 48-bit limit they refuse.
 */
#ifndef AKV_SERVER_AKA_SQN_H
#define AKV_SERVER_AKA_SQN_H

#include <stdint.h>
#include <string.h>

#include "err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

#define AKV_SQN_BITS	   48
#define AKV_SQN_MAX	   ((UINT64_C(1) << AKV_SQN_BITS) - 1)
#define AKV_SQN_IND_BITS_MAX 16	/* IND longer than this leaves too few SEQ bits */

/* ==== Operations ==== */

/* Largest SEQ representable with ind_bits of IND. */
static inline uint64_t
akv_sqn_seq_max(unsigned ind_bits)
{
	return AKV_SQN_MAX >> ind_bits;
}

/* SQN = SEQ || IND. seq <= akv_sqn_seq_max(ind_bits), ind < 2^ind_bits. */
static inline uint64_t
akv_sqn_make(uint64_t seq, unsigned ind, unsigned ind_bits)
{
	return (seq << ind_bits) | ind;
}

static inline uint64_t
akv_sqn_seq(uint64_t sqn, unsigned ind_bits)
{
	return (sqn & AKV_SQN_MAX) >> ind_bits;
}

static inline unsigned
akv_sqn_ind(uint64_t sqn, unsigned ind_bits)
{
	return (unsigned)(sqn & ((UINT64_C(1) << ind_bits) - 1));
}

/* 48-bit big-endian encoding (TS 33.102 §6.3.2: SQN travels in AUTN bytes
 * 0..5). Inline: once per vector on the engine's hot path. */
static inline void
akv_sqn_put(uint64_t sqn, uint8_t out[6])
{
	/* the 48 bits at the top of a big-endian word: one swap, two stores */
	uint64_t be = sqn << 16;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	be = __builtin_bswap64(be);
#endif
	memcpy(out, &be, 6);
}

static inline uint64_t
akv_sqn_get(const uint8_t in[6])
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | in[i];
	return v;
}

/* Takes n (>= 1) consecutive SEQ values after *seq_he for one request:
 * *first = *seq_he + 1 and *seq_he += n. Returns 0, or AKV_ESQN_EXHAUSTED
 * (nothing changed) when the last one would pass akv_sqn_seq_max(ind_bits):
 * SQN is never wrapped (Annex C: SEQ must not reach its maximum). Inline:
 * once per vector request on the engine's hot path. */
static inline int
akv_sqn_take(uint64_t *seq_he, unsigned n, unsigned ind_bits, uint64_t *first)
{
	uint64_t max = akv_sqn_seq_max(ind_bits);

	/* written as a subtraction so that it cannot overflow */
	if (n == 0 || *seq_he > max || max - *seq_he < n)
		return AKV_ESQN_EXHAUSTED;
	*first = *seq_he + 1;
	*seq_he += n;
	return 0;
}

/* Picks the IND of the next request: `ind_req` >= 0 is the requesting node's
 * slot (C.3.4: a node keeps its IND); -1 takes *cyclic (then advances it mod
 * 2^ind_bits, C.1.2 general rule). Returns the IND, or AKV_EINVAL when
 * ind_req is outside 0 .. 2^ind_bits - 1. Inline, as akv_sqn_take. */
static inline int
akv_sqn_ind_pick(int ind_req, uint16_t *cyclic, unsigned ind_bits)
{
	unsigned slots = 1u << ind_bits;
	unsigned ind;

	if (ind_req >= 0) {
		if ((unsigned)ind_req >= slots)
			return AKV_EINVAL;
		return ind_req;
	}
	/* C.1.2: without a known requesting node, allocate IND cyclically */
	ind = *cyclic & (slots - 1);
	*cyclic = (uint16_t)(ind + 1 == slots ? 0 : ind + 1);
	return (int)ind;
}

/* The durable reservation to write when a request ends at SEQ `seq_end`:
 * seq_end + reserve, capped at akv_sqn_seq_max(ind_bits). */
uint64_t akv_sqn_reserve_to(uint64_t seq_end, unsigned reserve, unsigned ind_bits);

/* SEQ_HE on (re)load: every SQN at or below max(sqn_reserved, sqn_admin) may
 * have been released, so issuing continues above both. Both are full 48-bit
 * SQN values, so a change of ind_bits between runs never goes backwards. */
uint64_t akv_sqn_start(uint64_t sqn_reserved, uint64_t sqn_admin, unsigned ind_bits);

/* Re-synchronisation at the HE (TS 33.102 §6.3.5 steps 3 and 5), after MAC-S
 * was verified. SEQ_MS = SEQ of sqn_ms. If SEQ_HE < SEQ_MS, SEQ_HE := SEQ_MS
 * (moved forward: returns 1). If SEQ_HE >= SEQ_MS and the next SEQ_HE + 1 is
 * within Δ of SEQ_MS (C.2.2: the USIM accepts SEQ - SEQ_MS <= Δ), SEQ_HE is
 * kept (returns 0). Otherwise the USIM can accept nothing we may still issue
 * without going backwards: returns AKV_ESQN_RANGE and leaves *seq_he as is. */
int akv_sqn_resync(uint64_t *seq_he, uint64_t sqn_ms, unsigned ind_bits, uint64_t delta);

#ifdef __cplusplus
}
#endif
#endif

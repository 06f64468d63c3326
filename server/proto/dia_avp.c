/*
 * dia_avp.c - the AVP dictionary table, expanded from AKV_DIA_AVP_LIST.
 */
#include "proto/dia_avp.h"

/* Sorted by (vendor, code): the list is written in that order, and
 * t_dia_avp_table_sorted checks it (and that every row is found). */
static const struct akv_dia_avp_def avp_table[] = {
#define AKV_DIA_AVP_ROW_(n, c, v, t, m) { #n, c, v, AKV_DIA_T_##t, m },
	AKV_DIA_AVP_LIST(AKV_DIA_AVP_ROW_)
#undef AKV_DIA_AVP_ROW_
};

#define NDEFS (sizeof(avp_table) / sizeof(avp_table[0]))

/* Lookups come ~45 times per MAR/MAA (checking every AVP received, the
 * M bit of every AVP sent): an open-addressed hash of (code, vendor) to the
 * row, filled before main() runs and read-only afterwards (so any thread
 * may look up), replaces a binary search with its unpredictable branches. */
#define HASH_BITS 8
_Static_assert(NDEFS < (1u << HASH_BITS) / 2, "AVP hash more than half full");

static uint8_t avp_hash[1u << HASH_BITS]; /* row + 1; 0 = empty */

static inline unsigned
avp_hash_of(uint32_t code, uint32_t vendor)
{
	return (code * 0x9E3779B1u ^ vendor * 0x85EBCA77u) >> (32 - HASH_BITS);
}

__attribute__((constructor)) static void
avp_hash_init(void)
{
	for (size_t i = 0; i < NDEFS; i++) {
		unsigned h = avp_hash_of(avp_table[i].code, avp_table[i].vendor);

		while (avp_hash[h])
			h = (h + 1) & ((1u << HASH_BITS) - 1);
		avp_hash[h] = (uint8_t)(i + 1);
	}
}

/* see dia_avp.h */
const struct akv_dia_avp_def *
akv_dia_avp_lookup(uint32_t code, uint32_t vendor)
{
	unsigned h = avp_hash_of(code, vendor);

	for (; avp_hash[h]; h = (h + 1) & ((1u << HASH_BITS) - 1)) {
		const struct akv_dia_avp_def *d = &avp_table[avp_hash[h] - 1];

		if (d->code == code && d->vendor == vendor)
			return d;
	}
	return NULL;
}

/* see dia_avp.h */
size_t
akv_dia_type_fixed_len(enum akv_dia_type t)
{
	switch (t) {
	case AKV_DIA_T_U32:
	case AKV_DIA_T_I32:
	case AKV_DIA_T_ENUM:
	case AKV_DIA_T_TIME:
		return 4;
	case AKV_DIA_T_U64:
		return 8;
	default:
		return 0;
	}
}

/* see dia_avp.h */
size_t
akv_dia_avp_count(void)
{
	return NDEFS;
}

/* see dia_avp.h */
const struct akv_dia_avp_def *
akv_dia_avp_at(size_t i)
{
	return i < NDEFS ? &avp_table[i] : NULL;
}

/*
 * dia_avp.c - the AVP dictionary table, expanded from AKV_DIA_AVP_LIST.
 */
#include "proto/dia_avp.h"

/* Sorted by (vendor, code): the list is written in that order, and
 * t_dia_avp_table_sorted checks it so the binary search stays right. */
static const struct akv_dia_avp_def avp_table[] = {
#define AKV_DIA_AVP_ROW_(n, c, v, t, m) { #n, c, v, AKV_DIA_T_##t, m },
	AKV_DIA_AVP_LIST(AKV_DIA_AVP_ROW_)
#undef AKV_DIA_AVP_ROW_
};

#define NDEFS (sizeof(avp_table) / sizeof(avp_table[0]))

/* see dia_avp.h */
const struct akv_dia_avp_def *
akv_dia_avp_lookup(uint32_t code, uint32_t vendor)
{
	size_t lo = 0, hi = NDEFS;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct akv_dia_avp_def *d = &avp_table[mid];

		if (d->vendor == vendor && d->code == code)
			return d;
		if (d->vendor < vendor || (d->vendor == vendor && d->code < code))
			lo = mid + 1;
		else
			hi = mid;
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

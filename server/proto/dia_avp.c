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

/* Every row must map onto the key space of akv_dia_avp_info(). */
#define AKV_DIA_AVP_KEYCHECK_(n, c, v, t, m)                                            \
	_Static_assert((v) == 0 ? (c) < AKV_DIA_KEY_3GPP_BASE                             \
				: (v) == AKV_DIA_VENDOR_3GPP && (c) >= AKV_DIA_KEY_3GPP_FIRST && \
					  (c) - AKV_DIA_KEY_3GPP_FIRST < 64,                      \
		       #n " has no key in akv_dia_avp_info_tab");
AKV_DIA_AVP_LIST(AKV_DIA_AVP_KEYCHECK_)
#undef AKV_DIA_AVP_KEYCHECK_
_Static_assert(AKV_DIA_NROWS == NDEFS, "row enum and table disagree");
_Static_assert(AKV_DIA_NROWS < 255, "row + 1 must fit the info word's low byte");

#define KEY_(c, v) ((v) ? AKV_DIA_KEY_3GPP_BASE + (c) - AKV_DIA_KEY_3GPP_FIRST : (c))
#define FIXED_(t)                                                                        \
	(AKV_DIA_T_##t == AKV_DIA_T_U64 ? 8u                                             \
	 : AKV_DIA_T_##t == AKV_DIA_T_U32 || AKV_DIA_T_##t == AKV_DIA_T_I32 ||           \
			 AKV_DIA_T_##t == AKV_DIA_T_ENUM || AKV_DIA_T_##t == AKV_DIA_T_TIME \
		 ? 4u                                                                    \
		 : 0u)

/* Lookups come once per AVP received (validation) and sent (its M bit): a
 * constant table indexed by the key replaces hashing and probing. Two rows
 * on one key would be a duplicate designated initializer, which -Wextra
 * (-Woverride-init) turns into a build error. */
const uint32_t akv_dia_avp_info_tab[AKV_DIA_KEYS] = {
#define AKV_DIA_AVP_INFO_(n, c, v, t, m)                                                 \
	[KEY_(c, v)] = (AKV_DIA_ROW_##n + 1u) | (uint32_t)AKV_DIA_T_##t << 8 |            \
		       ((m) ? AKV_DIA_INFO_M : 0u) | FIXED_(t) << 16,
	AKV_DIA_AVP_LIST(AKV_DIA_AVP_INFO_)
#undef AKV_DIA_AVP_INFO_
};

#undef KEY_
#undef FIXED_

/* see dia_avp.h */
const struct akv_dia_avp_def *
akv_dia_avp_lookup(uint32_t code, uint32_t vendor)
{
	uint32_t info = akv_dia_avp_info(code, vendor);

	return info ? &avp_table[AKV_DIA_INFO_ROW(info)] : NULL;
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

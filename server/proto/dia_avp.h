/*
 * dia_avp.h - the Diameter AVP dictionary akavs knows: RFC 6733 base AVPs,
 * the RFC 7683/7944/8583 ones an S-CSCF may add, and the 3GPP Cx/Dx AVPs of
 * TS 29.229 §6.3 (vendor 10415). One data table (AKV_DIA_AVP_LIST) produces
 * both the code constants below and the lookup table in dia_avp.c.
 *
 * The dictionary decides (RFC 6733 §4.1, §4.2):
 *  - which AVPs are "known": an unknown AVP with the M bit is answered with
 *    DIAMETER_AVP_UNSUPPORTED (5001), one without M is skipped;
 *  - the data length a fixed-size type must have (else 5014);
 *  - which AVPs are Grouped (their contents are checked recursively);
 *  - the M bit akavs sets when it builds the AVP.
 */
#ifndef AKV_SERVER_PROTO_DIA_AVP_H
#define AKV_SERVER_PROTO_DIA_AVP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AKV_DIA_VENDOR_3GPP 10415u

/* Basic types (RFC 6733 §4.2, §4.3). */
enum akv_dia_type {
	AKV_DIA_T_OCTETS = 0,	/* OctetString */
	AKV_DIA_T_UTF8,		/* UTF8String: must be valid UTF-8 */
	AKV_DIA_T_IDENT,	/* DiameterIdentity: printable ASCII FQDN */
	AKV_DIA_T_URI,		/* DiameterURI */
	AKV_DIA_T_U32,		/* Unsigned32 */
	AKV_DIA_T_I32,		/* Integer32 */
	AKV_DIA_T_ENUM,		/* Enumerated (Integer32) */
	AKV_DIA_T_U64,		/* Unsigned64 */
	AKV_DIA_T_TIME,		/* Time (4 octets, NTP seconds) */
	AKV_DIA_T_ADDR,		/* Address: 2-octet family + address */
	AKV_DIA_T_GROUPED,	/* Grouped */
};

/* X(NAME, code, vendor, type, M)  - M: 1 when akavs sets the M bit on send. */
#define AKV_DIA_AVP_LIST(X)                                                    \
	/* RFC 6733 base protocol */                                           \
	X(USER_NAME, 1, 0, UTF8, 1)                                            \
	X(CLASS, 25, 0, OCTETS, 1)                                             \
	X(SESSION_TIMEOUT, 27, 0, U32, 1)                                      \
	X(PROXY_STATE, 33, 0, OCTETS, 1)                                       \
	X(ACCT_SESSION_ID, 44, 0, OCTETS, 1)                                   \
	X(ACCT_MULTI_SESSION_ID, 50, 0, UTF8, 1)                               \
	X(EVENT_TIMESTAMP, 55, 0, TIME, 1)                                     \
	X(ACCT_INTERIM_INTERVAL, 85, 0, U32, 1)                                \
	X(HOST_IP_ADDRESS, 257, 0, ADDR, 1)                                    \
	X(AUTH_APPLICATION_ID, 258, 0, U32, 1)                                 \
	X(ACCT_APPLICATION_ID, 259, 0, U32, 1)                                 \
	X(VENDOR_SPECIFIC_APPLICATION_ID, 260, 0, GROUPED, 1)                  \
	X(REDIRECT_HOST_USAGE, 261, 0, ENUM, 1)                                \
	X(REDIRECT_MAX_CACHE_TIME, 262, 0, U32, 1)                             \
	X(SESSION_ID, 263, 0, UTF8, 1)                                         \
	X(ORIGIN_HOST, 264, 0, IDENT, 1)                                       \
	X(SUPPORTED_VENDOR_ID, 265, 0, U32, 1)                                 \
	X(VENDOR_ID, 266, 0, U32, 1)                                           \
	X(FIRMWARE_REVISION, 267, 0, U32, 0)                                   \
	X(RESULT_CODE, 268, 0, U32, 1)                                         \
	X(PRODUCT_NAME, 269, 0, UTF8, 0)                                       \
	X(SESSION_BINDING, 270, 0, U32, 1)                                     \
	X(SESSION_SERVER_FAILOVER, 271, 0, ENUM, 1)                            \
	X(MULTI_ROUND_TIME_OUT, 272, 0, U32, 1)                                \
	X(DISCONNECT_CAUSE, 273, 0, ENUM, 1)                                   \
	X(AUTH_REQUEST_TYPE, 274, 0, ENUM, 1)                                  \
	X(AUTH_GRACE_PERIOD, 276, 0, U32, 1)                                   \
	X(AUTH_SESSION_STATE, 277, 0, ENUM, 1)                                 \
	X(ORIGIN_STATE_ID, 278, 0, U32, 1)                                     \
	X(FAILED_AVP, 279, 0, GROUPED, 1)                                      \
	X(PROXY_HOST, 280, 0, IDENT, 1)                                        \
	X(ERROR_MESSAGE, 281, 0, UTF8, 0)                                      \
	X(ROUTE_RECORD, 282, 0, IDENT, 1)                                      \
	X(DESTINATION_REALM, 283, 0, IDENT, 1)                                 \
	X(PROXY_INFO, 284, 0, GROUPED, 1)                                      \
	X(RE_AUTH_REQUEST_TYPE, 285, 0, ENUM, 1)                               \
	X(ACCOUNTING_SUB_SESSION_ID, 287, 0, U64, 1)                           \
	X(AUTHORIZATION_LIFETIME, 291, 0, U32, 1)                              \
	X(REDIRECT_HOST, 292, 0, URI, 1)                                       \
	X(DESTINATION_HOST, 293, 0, IDENT, 1)                                  \
	X(ERROR_REPORTING_HOST, 294, 0, IDENT, 0)                              \
	X(TERMINATION_CAUSE, 295, 0, ENUM, 1)                                  \
	X(ORIGIN_REALM, 296, 0, IDENT, 1)                                      \
	X(EXPERIMENTAL_RESULT, 297, 0, GROUPED, 1)                             \
	X(EXPERIMENTAL_RESULT_CODE, 298, 0, U32, 1)                            \
	X(INBAND_SECURITY_ID, 299, 0, U32, 1)                                  \
	X(DRMP, 301, 0, ENUM, 0)               /* RFC 7944 */                  \
	X(ACCOUNTING_RECORD_TYPE, 480, 0, ENUM, 1)                             \
	X(ACCOUNTING_REALTIME_REQUIRED, 483, 0, ENUM, 1)                       \
	X(ACCOUNTING_RECORD_NUMBER, 485, 0, U32, 1)                            \
	X(OC_SUPPORTED_FEATURES, 621, 0, GROUPED, 0) /* RFC 7683 */            \
	X(OC_FEATURE_VECTOR, 622, 0, U64, 0)                                   \
	X(OC_OLR, 623, 0, GROUPED, 0)                                          \
	X(OC_SEQUENCE_NUMBER, 624, 0, U64, 0)                                  \
	X(OC_VALIDITY_DURATION, 625, 0, U32, 0)                                \
	X(OC_REPORT_TYPE, 626, 0, ENUM, 0)                                     \
	X(OC_REDUCTION_PERCENTAGE, 627, 0, U32, 0)                             \
	X(SOURCE_ID, 649, 0, IDENT, 0)         /* RFC 8583 */                  \
	X(LOAD, 650, 0, GROUPED, 0)                                            \
	X(LOAD_TYPE, 651, 0, ENUM, 0)                                          \
	X(LOAD_VALUE, 652, 0, U64, 0)                                          \
	/* TS 29.229 §6.3, vendor 10415 */                                     \
	X(VISITED_NETWORK_IDENTIFIER, 600, 10415, OCTETS, 1)                   \
	X(PUBLIC_IDENTITY, 601, 10415, UTF8, 1)                                \
	X(SERVER_NAME, 602, 10415, UTF8, 1)                                    \
	X(SERVER_CAPABILITIES, 603, 10415, GROUPED, 1)                         \
	X(MANDATORY_CAPABILITY, 604, 10415, U32, 1)                            \
	X(OPTIONAL_CAPABILITY, 605, 10415, U32, 1)                             \
	X(USER_DATA, 606, 10415, OCTETS, 1)                                    \
	X(SIP_NUMBER_AUTH_ITEMS, 607, 10415, U32, 1)                           \
	X(SIP_AUTHENTICATION_SCHEME, 608, 10415, UTF8, 1)                      \
	X(SIP_AUTHENTICATE, 609, 10415, OCTETS, 1)                             \
	X(SIP_AUTHORIZATION, 610, 10415, OCTETS, 1)                            \
	X(SIP_AUTHENTICATION_CONTEXT, 611, 10415, OCTETS, 1)                   \
	X(SIP_AUTH_DATA_ITEM, 612, 10415, GROUPED, 1)                          \
	X(SIP_ITEM_NUMBER, 613, 10415, U32, 1)                                 \
	X(SERVER_ASSIGNMENT_TYPE, 614, 10415, ENUM, 1)                         \
	X(DEREGISTRATION_REASON, 615, 10415, GROUPED, 1)                       \
	X(REASON_CODE, 616, 10415, ENUM, 1)                                    \
	X(REASON_INFO, 617, 10415, UTF8, 1)                                    \
	X(CHARGING_INFORMATION, 618, 10415, GROUPED, 1)                        \
	X(PRIMARY_EVENT_CHARGING_FUNCTION_NAME, 619, 10415, URI, 1)            \
	X(SECONDARY_EVENT_CHARGING_FUNCTION_NAME, 620, 10415, URI, 1)          \
	X(PRIMARY_CHARGING_COLLECTION_FUNCTION_NAME, 621, 10415, URI, 1)       \
	X(SECONDARY_CHARGING_COLLECTION_FUNCTION_NAME, 622, 10415, URI, 1)     \
	X(USER_AUTHORIZATION_TYPE, 623, 10415, ENUM, 1)                        \
	X(USER_DATA_ALREADY_AVAILABLE, 624, 10415, ENUM, 1)                    \
	X(CONFIDENTIALITY_KEY, 625, 10415, OCTETS, 1)                          \
	X(INTEGRITY_KEY, 626, 10415, OCTETS, 1)                                \
	X(SUPPORTED_FEATURES, 628, 10415, GROUPED, 0) /* TS 29.229 §6.3.29 */  \
	X(FEATURE_LIST_ID, 629, 10415, U32, 0)                                 \
	X(FEATURE_LIST, 630, 10415, U32, 0)                                    \
	X(SUPPORTED_APPLICATIONS, 631, 10415, GROUPED, 0)                      \
	X(ASSOCIATED_IDENTITIES, 632, 10415, GROUPED, 0)                       \
	X(ORIGINATING_REQUEST, 633, 10415, ENUM, 1)                            \
	X(WILDCARDED_PUBLIC_IDENTITY, 634, 10415, UTF8, 0)                     \
	X(SIP_DIGEST_AUTHENTICATE, 635, 10415, GROUPED, 0)                     \
	X(WILDCARDED_IMPU, 636, 10415, UTF8, 0)                                \
	X(UAR_FLAGS, 637, 10415, U32, 0)                                       \
	X(LOOSE_ROUTE_INDICATION, 638, 10415, ENUM, 0)                         \
	X(SCSCF_RESTORATION_INFO, 639, 10415, GROUPED, 0)                      \
	X(PATH, 640, 10415, OCTETS, 0)                                         \
	X(CONTACT, 641, 10415, OCTETS, 0)                                      \
	X(SUBSCRIPTION_INFO, 642, 10415, GROUPED, 0)                           \
	X(CALL_ID_SIP_HEADER, 643, 10415, OCTETS, 0)                           \
	X(FROM_SIP_HEADER, 644, 10415, OCTETS, 0)                              \
	X(TO_SIP_HEADER, 645, 10415, OCTETS, 0)                                \
	X(RECORD_ROUTE, 646, 10415, OCTETS, 0)                                 \
	X(ASSOCIATED_REGISTERED_IDENTITIES, 647, 10415, GROUPED, 0)            \
	X(MULTIPLE_REGISTRATION_INDICATION, 648, 10415, ENUM, 0)               \
	X(RESTORATION_INFO, 649, 10415, GROUPED, 0)                            \
	X(SESSION_PRIORITY, 650, 10415, ENUM, 0)                               \
	X(IDENTITY_WITH_EMERGENCY_REGISTRATION, 651, 10415, GROUPED, 0)        \
	X(PRIVILEDGED_SENDER_INDICATION, 652, 10415, ENUM, 0)                  \
	X(LIA_FLAGS, 653, 10415, U32, 0)                                       \
	X(INITIAL_CSEQ_SEQUENCE_NUMBER, 654, 10415, U32, 0)                    \
	X(SAR_FLAGS, 655, 10415, U32, 0)                                       \
	X(ALLOWED_WAF_WWSF_IDENTITIES, 656, 10415, GROUPED, 0)                 \
	X(WEBRTC_AUTHENTICATION_FUNCTION_NAME, 657, 10415, UTF8, 0)            \
	X(WEBRTC_WEB_SERVER_FUNCTION_NAME, 658, 10415, UTF8, 0)

/* AKV_DIA_AVP_<NAME> = code (several vendors may share a code). */
enum akv_dia_avp_code {
#define AKV_DIA_AVP_ENUM_(name, code, vendor, type, m) AKV_DIA_AVP_##name = code,
	AKV_DIA_AVP_LIST(AKV_DIA_AVP_ENUM_)
#undef AKV_DIA_AVP_ENUM_
};

/* AKV_DIA_ROW_<NAME> = the AVP's row in the dictionary (akv_dia_avp_at),
 * also its slot in a message index (struct akv_dia_idx, dia.h). */
enum akv_dia_row {
#define AKV_DIA_AVP_ROWNUM_(name, code, vendor, type, m) AKV_DIA_ROW_##name,
	AKV_DIA_AVP_LIST(AKV_DIA_AVP_ROWNUM_)
#undef AKV_DIA_AVP_ROWNUM_
	AKV_DIA_NROWS
};

struct akv_dia_avp_def {
	const char *name;
	uint32_t code;
	uint32_t vendor;	/* 0 = no Vendor-Id (V bit clear) */
	uint8_t type;		/* enum akv_dia_type */
	uint8_t mandatory;	/* M bit set when akavs sends it */
};

/* The definition of (code, vendor), or NULL when akavs does not know it.
 * O(1) (akv_dia_avp_info), no allocation, thread-safe. */
const struct akv_dia_avp_def *akv_dia_avp_lookup(uint32_t code, uint32_t vendor);

/* ---- Packed per-AVP facts for the decoder's hot loop ----
 * Every AVP akavs knows has vendor 0 and a code below 1024, or vendor 10415
 * and a code in 600..663 (checked at compile time in dia_avp.c), so
 * (code, vendor) maps onto 1088 keys and one load from a constant table says
 * all the validator needs: row + 1 (0: unknown AVP), type, M bit on send,
 * and the data length a fixed-size type must have. */
#define AKV_DIA_KEY_3GPP_FIRST 600u	/* lowest 10415 code in the dictionary */
#define AKV_DIA_KEY_3GPP_BASE  1024u	/* key of (600, 10415) */
#define AKV_DIA_KEYS	       (AKV_DIA_KEY_3GPP_BASE + 64u)

#define AKV_DIA_INFO_ROW(i)   ((unsigned)((i) & 0xff) - 1)	/* enum akv_dia_row */
#define AKV_DIA_INFO_TYPE(i)  ((enum akv_dia_type)(((i) >> 8) & 0xf))
#define AKV_DIA_INFO_M	      0x1000u
#define AKV_DIA_INFO_FIXED(i) ((uint32_t)(i) >> 16)	/* 4, 8, or 0: variable */

extern const uint32_t akv_dia_avp_info_tab[AKV_DIA_KEYS];

/* Info word of (code, vendor) as above, or 0 when akavs does not know it. */
static inline uint32_t
akv_dia_avp_info(uint32_t code, uint32_t vendor)
{
	if (vendor == 0)
		return code < AKV_DIA_KEY_3GPP_BASE ? akv_dia_avp_info_tab[code] : 0;
	if (vendor == AKV_DIA_VENDOR_3GPP && code - AKV_DIA_KEY_3GPP_FIRST < 64u)
		return akv_dia_avp_info_tab[AKV_DIA_KEY_3GPP_BASE + code - AKV_DIA_KEY_3GPP_FIRST];
	return 0;
}

/* Data length a type must have: 4 (U32/I32/ENUM/TIME), 8 (U64), or 0 for
 * variable-length types. */
size_t akv_dia_type_fixed_len(enum akv_dia_type t);

/* Number of entries and entry i (for tests and tools). */
size_t akv_dia_avp_count(void);
const struct akv_dia_avp_def *akv_dia_avp_at(size_t i);

#ifdef __cplusplus
}
#endif
#endif

/*
 * csv.h - the subscriber CSV format of `akavs sub import|export`: a pure
 * line parser and formatter (no I/O).
 *
 * Header line, then one subscriber per line:
 *
 *   impi,impus,k,op,opc,amf,sqn
 *   alice@ims.example,sip:alice@ims.example;tel:+15550001,<32 hex>,,<32 hex>,8000,000000000020
 *
 *  - impus: 1..AKV_STORE_MAX_IMPUS public identities separated by ';'.
 *  - k: 32 hex digits. Exactly one of op / opc (32 hex digits); OP is turned
 *    into OPc = OP ^ E_K(OP) (TS 35.206 §4.1) while parsing.
 *  - amf: 4 hex digits, empty = AKV_CSV_AMF_DEFAULT. sqn: 1..12 hex digits
 *    (optional 0x), empty = 0.
 *  - Extended form (what `export --extended` writes): two more columns,
 *    `schemes` (akav1;akav2) and `fail_limit` (0 = configured default).
 *  - Spaces and tabs around fields and a trailing CR are ignored. Quoting is
 *    not supported (no identity contains a comma). Lines longer than
 *    AKV_CSV_LINE_MAX are refused.
 *
 * Error texts name the column and the fault, never a K/OP/OPc value.
 */
#ifndef AKV_SERVER_ADMIN_CSV_H
#define AKV_SERVER_ADMIN_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AKV_CSV_HEADER	   "impi,impus,k,op,opc,amf,sqn"
#define AKV_CSV_HEADER_EXT "impi,impus,k,op,opc,amf,sqn,schemes,fail_limit"
#define AKV_CSV_COLS	   7
#define AKV_CSV_COLS_EXT   9
#define AKV_CSV_LINE_MAX   8192	/* > the longest valid line (~4.6 KB) */
#define AKV_CSV_WHY	   192	/* room for an error text */
#define AKV_CSV_AMF_DEFAULT 0x0000u	/* IMS AKA: separation bit 0 (TS 33.102 Annex H) */

/* Checks a header line (without newline). Returns the column count
 * (AKV_CSV_COLS or AKV_CSV_COLS_EXT), or AKV_EINVAL with the reason in why. */
int akv_csv_header(const char *line, size_t len, char why[AKV_CSV_WHY]);

/* Parses one data line (without newline) of a file with `ncols` columns into
 * *out (fully overwritten; seq_reserved = 0, schemes default unless given).
 * Returns 0, or AKV_EINVAL with the reason in why (out is then wiped). The
 * record is checked as akv_store_sub_validate() would. */
int akv_csv_parse(const char *line, size_t len, int ncols, struct akv_sub *out,
		  char why[AKV_CSV_WHY]);

/* Writes s as one line ending in '\n' (opc filled, op empty), with `sqn` in
 * the sqn column and, if ext, the two extended columns. Returns the length,
 * or AKV_ETOOBIG if cap is too small (AKV_CSV_LINE_MAX always suffices). */
int akv_csv_format(const struct akv_sub *s, uint64_t sqn, int ext, char *out, size_t cap);

/* "akav1", "akav2", "akav1-md5", "akav2-md5" separated by ',', ';' or '+'
 * (case-insensitive) -> AKV_SCHEME_BIT mask. Returns 0 or AKV_EINVAL. */
int akv_csv_schemes_parse(const char *s, size_t len, uint8_t *mask);
/* Mask -> "akav1;akav2" with `sep` between names. Returns the length. */
int akv_csv_schemes_format(uint8_t mask, char sep, char *out, size_t cap);

/* Parses 1..12 hex digits (optional 0x) into a 48-bit SQN. Returns 0 or
 * AKV_EINVAL. */
int akv_csv_sqn_parse(const char *s, size_t len, uint64_t *sqn);

#ifdef __cplusplus
}
#endif
#endif

/*
 * fuzz_csv.c - libFuzzer target for the subscriber CSV parser
 * (server/admin/csv.h), what `akavs sub import` feeds every line of an
 * operator's file through.
 *
 * The input is a file: its first line goes to the header check, each later
 * line (cut at '\n', as import does) to the line parser in 7- and 9-column
 * form. For every line it checks:
 *  - a refusal has a NUL-terminated reason that names no K/OP/OPc value
 *    (csv.h: "Error texts name the column and the fault, never a K/OP/OPc
 *    value") and leaves the record wiped;
 *  - an accepted record passes akv_store_sub_validate(), and formatting it
 *    and parsing the result gives the same record (what `sub export` then
 *    `sub import` does);
 *  - the scheme and SQN field parsers never read past their field.
 * Each line is copied into its own exact-size heap block so ASan sees any
 * read past its end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/csv.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static int
is_hex32(const char *p, size_t n)
{
	if (n != 32)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

/* The reason must not hold any 32-hex-digit run of the line (a K, OP or
 * OPc value, wherever the fuzzer put it). */
static void
check_reason_hides_keys(const char *line, size_t len, const char *why)
{
	size_t wl = strnlen(why, AKV_CSV_WHY);

	check(wl > 0 && wl < AKV_CSV_WHY);
	for (size_t i = 0; i + 32 <= len; i++) {
		if (!is_hex32(line + i, 32))
			continue;
		for (size_t j = 0; j + 32 <= wl; j++)
			check(strncasecmp(why + j, line + i, 32) != 0);
	}
}

static int
is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

static void
check_round_trip(const struct akv_sub *s, int ncols)
{
	static char text[AKV_CSV_LINE_MAX];
	struct akv_sub again;
	char why[AKV_CSV_WHY];
	int n = akv_csv_format(s, s->sqn, ncols == AKV_CSV_COLS_EXT, text, sizeof(text));

	check(n > 0 && (size_t)n < sizeof(text) && text[n - 1] == '\n');
	check(akv_csv_parse(text, (size_t)n - 1, ncols, &again, why) == 0);
	check(again.impi_len == s->impi_len && !memcmp(again.impi, s->impi, s->impi_len));
	check(again.nimpu == s->nimpu);
	for (unsigned i = 0; i < s->nimpu; i++)
		check(again.impu_len[i] == s->impu_len[i] &&
		      !memcmp(again.impu[i], s->impu[i], s->impu_len[i]));
	check(!memcmp(again.k, s->k, 16) && !memcmp(again.opc, s->opc, 16));
	check(!memcmp(again.amf, s->amf, 2) && again.sqn == s->sqn);
	if (ncols == AKV_CSV_COLS_EXT)
		check(again.schemes == s->schemes && again.fail_limit == s->fail_limit);
	akv_store_sub_wipe(&again);
}

static void
one_line(const char *line, size_t len, int ncols)
{
	struct akv_sub s;
	char why[AKV_CSV_WHY];

	memset(why, 0x55, sizeof(why));
	if (akv_csv_parse(line, len, ncols, &s, why) == 0) {
		check(akv_store_sub_validate(&s) == 0);
		check_round_trip(&s, ncols);
		akv_store_sub_wipe(&s);
	} else {
		check_reason_hides_keys(line, len, why);
		check(is_zero(s.k, sizeof(s.k)) && is_zero(s.opc, sizeof(s.opc)));
	}
}

static void
fields(const char *line, size_t len)
{
	uint64_t sqn;
	uint8_t mask;
	int r;

	r = akv_csv_sqn_parse(line, len, &sqn);
	check(r == 0 || r == AKV_EINVAL);
	if (!r)
		check(sqn < (1ull << 48));
	r = akv_csv_schemes_parse(line, len, &mask);
	check(r == 0 || r == AKV_EINVAL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	int first = 1, ncols = AKV_CSV_COLS;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = malloc(len ? len : 1);
		char why[AKV_CSV_WHY];

		if (!line)
			abort();
		memcpy(line, p, len);
		if (first) {
			int r = akv_csv_header(line, len, why);

			check(r == AKV_CSV_COLS || r == AKV_CSV_COLS_EXT || r == AKV_EINVAL);
			if (r > 0)
				ncols = r;
			else
				check(strnlen(why, AKV_CSV_WHY) > 0);
			first = 0;
		} else {
			one_line(line, len, ncols);
			one_line(line, len, ncols == AKV_CSV_COLS ? AKV_CSV_COLS_EXT : AKV_CSV_COLS);
			fields(line, len < 64 ? len : 64);
		}
		free(line);
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

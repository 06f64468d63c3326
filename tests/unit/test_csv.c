/* Subscriber CSV: the line parser/formatter (csv.c) and the import on top of
 * it (import.c): good files, every kind of bad line, duplicates, huge fields,
 * empty files, OP -> OPc with TS 35.208 set 1. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/csv.h"
#include "admin/import.h"
#include "akv_test.h"
#include "err.h"
#include "guard.h"
#include "mem.h"
#include "store/store.h"

/* TS 35.208 test set 1. */
#define K1   "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OP1  "cdc202d5123e20f62b6d676ac72cb318"
#define OPC1 "cd63cb71954a9f4e48a5994e37a02baf"

static struct akv_sub sub;
static char why[AKV_CSV_WHY];

static int
parse(const char *line)
{
	return akv_csv_parse(line, strlen(line), AKV_CSV_COLS, &sub, why);
}

static int
parse_ext(const char *line)
{
	return akv_csv_parse(line, strlen(line), AKV_CSV_COLS_EXT, &sub, why);
}

START_TEST(t_csv_header)
{
	ck_assert_int_eq(akv_csv_header(AKV_CSV_HEADER, strlen(AKV_CSV_HEADER), why), 7);
	ck_assert_int_eq(akv_csv_header("impi,impus,k,op,opc,amf,sqn\r\n", 29, why), 7);
	ck_assert_int_eq(akv_csv_header("\xef\xbb\xbfIMPI, impus,k,op,opc,amf,sqn", 31, why), 7);
	ck_assert_int_eq(akv_csv_header(AKV_CSV_HEADER_EXT, strlen(AKV_CSV_HEADER_EXT), why), 9);
	ck_assert_int_eq(akv_csv_header("impi,impus,k,opc,amf,sqn", 24, why), AKV_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "header must be"));
	ck_assert_int_eq(akv_csv_header("impi,impus,k,op,opc,amf,sqn,x", 29, why), AKV_EINVAL);
	ck_assert_int_eq(akv_csv_header("", 0, why), AKV_EINVAL);
}
END_TEST

START_TEST(t_csv_good_line)
{
	uint8_t want[16];

	ck_assert_int_eq(parse("alice@ims.test,sip:alice@ims.test;tel:+1555," K1 ",," OPC1
			       ",8000,000000000020"), 0);
	ck_assert_str_eq(sub.impi, "alice@ims.test");
	ck_assert_int_eq(sub.impi_len, 14);
	ck_assert_int_eq(sub.nimpu, 2);
	ck_assert_str_eq(sub.impu[0], "sip:alice@ims.test");
	ck_assert_str_eq(sub.impu[1], "tel:+1555");
	akv_hex_decode(K1, 32, want, 16);
	ck_assert_mem_eq(sub.k, want, 16);
	akv_hex_decode(OPC1, 32, want, 16);
	ck_assert_mem_eq(sub.opc, want, 16);
	ck_assert_int_eq(sub.amf[0], 0x80);
	ck_assert_int_eq(sub.amf[1], 0x00);
	ck_assert_uint_eq(sub.sqn, 0x20);
	ck_assert_uint_eq(sub.schemes, AKV_STORE_SCHEMES_DEFAULT);
	ck_assert_uint_eq(sub.fail_limit, 0);

	/* Blanks around fields, CRLF, optional amf/sqn, 0x prefix, upper case hex. */
	ck_assert_int_eq(parse(" bob , sip:bob ; sip:bob2 , " K1 " , , " OPC1 " , , \r"), 0);
	ck_assert_str_eq(sub.impi, "bob");
	ck_assert_str_eq(sub.impu[1], "sip:bob2");
	ck_assert_int_eq(sub.amf[0] << 8 | sub.amf[1], AKV_CSV_AMF_DEFAULT);
	ck_assert_uint_eq(sub.sqn, 0);
	ck_assert_int_eq(
		parse("c,sip:c,465B5CE8B199B49FAA5F0A2EE238A6BC,," OPC1 ",ABCD,0xFFFFFFFFFFFF"), 0);
	ck_assert_uint_eq(sub.sqn, 0xffffffffffffull);
}
END_TEST

START_TEST(t_csv_op_to_opc)
{
	uint8_t want[16];

	/* TS 35.208 set 1: OP cdc2... under K 465b... gives OPc cd63... */
	ck_assert_int_eq(parse("a,sip:a," K1 "," OP1 ",,,"), 0);
	akv_hex_decode(OPC1, 32, want, 16);
	ck_assert_mem_eq(sub.opc, want, 16);
}
END_TEST

START_TEST(t_csv_ext_columns)
{
	ck_assert_int_eq(parse_ext("a,sip:a," K1 ",," OPC1 ",,,akav2,7"), 0);
	ck_assert_uint_eq(sub.schemes, AKV_SCHEME_BIT(AKV_SCHEME_AKAV2_MD5));
	ck_assert_uint_eq(sub.fail_limit, 7);
	ck_assert_int_eq(parse_ext("a,sip:a," K1 ",," OPC1 ",,,akav3,7"), AKV_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "schemes"));
	ck_assert_int_eq(parse_ext("a,sip:a," K1 ",," OPC1 ",,,,70000"), AKV_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "fail_limit"));
	ck_assert_int_eq(parse_ext("a,sip:a," K1 ",," OPC1 ",,,,-1"), AKV_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "fail_limit"));
}
END_TEST

/* Each kind of bad line, with the reason it must give. */
START_TEST(t_csv_bad_lines)
{
	static const struct {
		const char *line, *reason;
	} bad[] = {
		{"a,sip:a," K1 ",," OPC1 ",8000", "expected 7 columns, got 6"},
		{"a,sip:a," K1 ",," OPC1 ",8000,0,extra", "expected 7 columns, got 8"},
		{"", "expected 7 columns, got 1"},
		{",sip:a," K1 ",," OPC1 ",,", "impi: empty"},
		{"a,," K1 ",," OPC1 ",,", "impus: empty"},
		{"a,sip:a;;sip:b," K1 ",," OPC1 ",,", "IMPU 2 is empty"},
		{"a,sip:a;sip:a," K1 ",," OPC1 ",,", "listed twice"},
		{"a,sip:a,,," OPC1 ",,", "k: expected 32 hex digits, got 0"},
		{"a,sip:a," K1 "0,," OPC1 ",,", "k: expected 32 hex digits, got 33"},
		{"a,sip:a,465b5ce8b199b49faa5f0a2ee238a6bz,," OPC1 ",,", "k: not hexadecimal"},
		{"a,sip:a," K1 "," OP1 "," OPC1 ",,", "both are"},
		{"a,sip:a," K1 ",,,,", "neither is"},
		{"a,sip:a," K1 ",deadbeef,,,", "op: expected 32 hex digits"},
		{"a,sip:a," K1 ",," OPC1 ",80,", "amf: expected 4 hex digits"},
		{"a,sip:a," K1 ",," OPC1 ",80g0,", "amf"},
		{"a,sip:a," K1 ",," OPC1 ",,1000000000000", "sqn: expected 1..12 hex digits"},
		{"a,sip:a," K1 ",," OPC1 ",,12x", "sqn"},
		{"a\x01,sip:a," K1 ",," OPC1 ",,", "impi: has a control character"},
		{"\"a\",sip:a," K1 ",," OPC1 ",,", "quote"},
		{"a,sip:\x7f," K1 ",," OPC1 ",,", "IMPU 1 has a control character"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i].line) == AKV_EINVAL, "line %zu accepted", i);
		ck_assert_msg(strstr(why, bad[i].reason), "line %zu: '%s' lacks '%s'", i, why,
			      bad[i].reason);
		/* The reason never carries key material. */
		ck_assert_ptr_null(strstr(why, "465b5ce8"));
		ck_assert_ptr_null(strstr(why, "cd63cb71"));
		ck_assert_ptr_null(strstr(why, "cdc202d5"));
	}
}
END_TEST

/* csv.h: a refused line leaves the record wiped, whichever check refused
 * it; the early checks (column count, length, NUL) returned it untouched
 * until fuzz_csv caught one. */
START_TEST(t_csv_refusal_wipes_record)
{
	static char longline[AKV_CSV_LINE_MAX + 2];
	const struct {
		const char *line;
		size_t len;
		int ncols;
	} bad[] = {
		{"a@b,sip:a@b," K1 ",," OPC1 ",8000,1", 0, 5},
		{longline, sizeof(longline) - 1, AKV_CSV_COLS},
		{"a@b,sip:a@b," K1 ",," OPC1 ",8000\0,1", 0, AKV_CSV_COLS},
		{"a@b,sip:a@b," K1 ",," OPC1 ",8000,1", 0, AKV_CSV_COLS_EXT},
		{"a@b,sip:a@b," K1 ",," OPC1 ",8000", 0, AKV_CSV_COLS},
		{"a@b,sip:a@b," K1 ",," OPC1 ",zz,1", 0, AKV_CSV_COLS},
	};
	static const uint8_t zero[16];

	memset(longline, 'a', sizeof(longline) - 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].line);

		if (i == 2)
			len = strlen(bad[i].line) + 2; /* through the NUL and on */
		memset(&sub, 0xaa, sizeof(sub));
		ck_assert_int_eq(akv_csv_parse(bad[i].line, len, bad[i].ncols, &sub, why),
				 AKV_EINVAL);
		ck_assert_msg(why[0], "case %zu: no reason", i);
		ck_assert_msg(!memcmp(sub.k, zero, 16) && !memcmp(sub.opc, zero, 16),
			      "case %zu (%s): K/OPc left in the refused record", i, why);
	}
}
END_TEST

START_TEST(t_csv_huge_fields)
{
	char *line = akv_malloc(3 * AKV_CSV_LINE_MAX);
	char *p;

	/* IMPI of 256 bytes. */
	memset(line, 'x', 256);
	snprintf(line + 256, 200, ",sip:a,%s,,%s,,", K1, OPC1);
	ck_assert_int_eq(parse(line), AKV_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "impi: longer than 255"));
	/* 255 is fine. */
	memmove(line, line + 1, strlen(line));
	ck_assert_int_eq(parse(line), 0);
	/* IMPU of 256 bytes. */
	p = line + sprintf(line, "a,sip:");
	memset(p, 'y', 252);
	snprintf(p + 252, 200, ",%s,,%s,,", K1, OPC1);
	ck_assert_int_eq(parse(line), AKV_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "longer than 255"));
	/* 17 IMPUs. */
	p = line + sprintf(line, "a,");
	for (int i = 0; i < 17; i++)
		p += sprintf(p, "%ssip:u%d", i ? ";" : "", i);
	sprintf(p, ",%s,,%s,,", K1, OPC1);
	ck_assert_int_eq(parse(line), AKV_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "more than 16"));
	/* A line over the limit. */
	memset(line, 'z', 2 * AKV_CSV_LINE_MAX);
	line[2 * AKV_CSV_LINE_MAX] = 0;
	ck_assert_int_eq(parse(line), AKV_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "line too long"));
	/* A NUL byte inside a line. */
	ck_assert_int_eq(akv_csv_parse("a\0b,sip:a", 9, AKV_CSV_COLS, &sub, why), AKV_EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "NUL"));
	akv_free(line);
}
END_TEST

START_TEST(t_csv_format_roundtrip)
{
	char line[AKV_CSV_LINE_MAX];
	struct akv_sub a;
	int n;

	ck_assert_int_eq(parse("alice,sip:a;tel:1," K1 "," OP1 ",,b9b9,ff9bb4d0b607"), 0);
	a = sub;
	n = akv_csv_format(&a, a.sqn, 0, line, sizeof(line));
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(line, "alice,sip:a;tel:1," K1 ",," OPC1 ",b9b9,ff9bb4d0b607\n");
	ck_assert_int_eq(akv_csv_parse(line, (size_t)n, AKV_CSV_COLS, &sub, why), 0);
	ck_assert_mem_eq(&sub, &a, offsetof(struct akv_sub, impi) + a.impi_len);
	a.fail_limit = 4;
	a.schemes = AKV_SCHEME_BIT(AKV_SCHEME_AKAV1_MD5);
	n = akv_csv_format(&a, 0x42, 1, line, sizeof(line));
	ck_assert_str_eq(line, "alice,sip:a;tel:1," K1 ",," OPC1 ",b9b9,000000000042,akav1,4\n");
	ck_assert_int_eq(akv_csv_parse(line, (size_t)n, AKV_CSV_COLS_EXT, &sub, why), 0);
	ck_assert_uint_eq(sub.fail_limit, 4);
	ck_assert_uint_eq(sub.sqn, 0x42);
	ck_assert_int_eq(akv_csv_format(&a, 0, 0, line, 16), AKV_ETOOBIG);
}
END_TEST

/* Lines placed right before a PROT_NONE page: the parser must never read
 * past the length it is given. Random and mutated lines must give 0 or
 * AKV_EINVAL, never a crash. */
START_TEST(t_csv_guard_page_and_random)
{
	static const char good[] = "alice,sip:a;tel:1," K1 ",," OPC1 ",b9b9,ff9bb4d0b607";
	static const char room[256];
	struct akv_guard g = {0};
	/* end: the first byte of the guard page, reused by every iteration */
	char *end = (char *)akv_guard_put(&g, room, sizeof(room)) + sizeof(room);
	uint64_t seed = 12345;
	char line[sizeof(room)];

	for (int iter = 0; iter < 200000; iter++) {
		size_t n;
		char *at;
		int e;

		if (iter % 2) {
			/* Mutations of a good line: flips, cuts, inserted separators. */
			n = sizeof(good) - 1;
			memcpy(line, good, n);
			for (int m = (int)(akv_test_rand64(&seed) % 4); m >= 0; m--) {
				size_t i = akv_test_rand64(&seed) % n;
				static const char sep[] = ",;\r\n\" \t\x01\xff" "0aZ";

				line[i] = sep[akv_test_rand64(&seed) % (sizeof(sep) - 1)];
			}
			n -= akv_test_rand64(&seed) % 8 == 0 ? akv_test_rand64(&seed) % n : 0;
		} else {
			n = akv_test_rand64(&seed) % sizeof(line);
			akv_test_fill(&seed, (uint8_t *)line, n);
		}
		at = end - n;
		memcpy(at, line, n);
		e = akv_csv_parse(at, n, AKV_CSV_COLS, &sub, why);
		ck_assert(e == 0 || e == AKV_EINVAL);
		e = akv_csv_parse(at, n, AKV_CSV_COLS_EXT, &sub, why);
		ck_assert(e == 0 || e == AKV_EINVAL);
		e = akv_csv_header(at, n, why);
		ck_assert(e == AKV_CSV_COLS || e == AKV_CSV_COLS_EXT || e == AKV_EINVAL);
	}
	/* The unmutated line, flush against the guard page, parses. */
	memcpy(end - (sizeof(good) - 1), good, sizeof(good) - 1);
	ck_assert_int_eq(akv_csv_parse(end - (sizeof(good) - 1), sizeof(good) - 1, AKV_CSV_COLS,
				       &sub, why), 0);
	akv_guard_free(&g);
}
END_TEST

/* ==== Import ==== */

struct reports {
	int n;
	size_t line[64];
	char why[64][AKV_CSV_WHY + 600];
};

static void
on_bad(void *arg, size_t line, const char *w)
{
	struct reports *r = arg;

	if (r->n < 64) {
		r->line[r->n] = line;
		snprintf(r->why[r->n], sizeof(r->why[0]), "%s", w);
	}
	r->n++;
}

/* Report i of r names line `line` and its reason contains `reason`. */
static void
expect_report(const struct reports *r, int i, size_t line, const char *reason)
{
	ck_assert_msg(i < r->n && i < 64, "report %d missing (%d reports)", i, r->n);
	ck_assert_msg(r->line[i] == line, "report %d: line %zu, want %zu", i, r->line[i], line);
	ck_assert_msg(strstr(r->why[i], reason), "report %d: '%s' lacks '%s'", i, r->why[i],
		      reason);
}

static struct akv_store *
tmp_store(const char *tag)
{
	int err;
	struct akv_store *st = akv_store_open(akv_test_tmpdir(tag), &(struct akv_store_opts){
						      .flags = AKV_STORE_NOSYNC}, &err);

	ck_assert_ptr_nonnull(st);
	return st;
}

static int
import(struct akv_store *st, const char *text, int skip_bad, struct reports *r,
       struct akv_import_result *res)
{
	struct akv_import_opts o = {.skip_bad = skip_bad, .report = on_bad, .arg = r};

	memset(r, 0, sizeof(*r));
	return akv_import_buf(st, text, strlen(text), &o, res);
}

static uint64_t
count(struct akv_store *st)
{
	uint64_t n = 0;

	ck_assert_int_eq(akv_store_count(st, &n), 0);
	return n;
}

START_TEST(t_csv_import_good)
{
	struct akv_store *st = tmp_store("imp-good");
	struct akv_import_result res;
	struct reports r;
	struct akv_sub got;
	uint8_t want[16];

	ck_assert_int_eq(import(st, AKV_CSV_HEADER "\n"
				"u1,sip:u1;tel:1," K1 ",," OPC1 ",8000,20\n"
				"\n"
				"# a comment\n"
				"u2,sip:u2," K1 "," OP1 ",,,\r\n"
				"u0,sip:u0," K1 ",," OPC1 ",,", 0, &r, &res), 0);
	ck_assert_int_eq(r.n, 0);
	ck_assert_uint_eq(res.records, 3);
	ck_assert_uint_eq(res.imported, 3);
	ck_assert_uint_eq(count(st), 3);
	ck_assert_int_eq(akv_store_get(st, "u2", 2, &got), 0);
	akv_hex_decode(OPC1, 32, want, 16);
	ck_assert_mem_eq(got.opc, want, 16);
	ck_assert_int_eq(akv_store_get(st, "u1", 2, &got), 0);
	ck_assert_uint_eq(got.sqn, 0x20);
	ck_assert_int_eq(got.nimpu, 2);
	ck_assert_int_eq(akv_store_check(st, NULL, NULL, NULL), 0);
	akv_store_close(st);
}
END_TEST

START_TEST(t_csv_import_empty)
{
	struct akv_store *st = tmp_store("imp-empty");
	struct akv_import_result res;
	struct reports r;

	ck_assert_int_eq(import(st, "", 0, &r, &res), 0);
	ck_assert_uint_eq(res.imported, 0);
	ck_assert_int_eq(import(st, AKV_CSV_HEADER "\n", 0, &r, &res), 0);
	ck_assert_uint_eq(res.imported, 0);
	ck_assert_int_eq(r.n, 0);
	/* A file whose first line is not the header. */
	ck_assert_int_eq(import(st, "u1,sip:u1," K1 ",," OPC1 ",,\n", 0, &r, &res), AKV_EINVAL);
	ck_assert_int_eq(r.n, 1);
	expect_report(&r, 0, 1, "header");
	ck_assert_uint_eq(count(st), 0);
	akv_store_close(st);
}
END_TEST

/* Every bad line is reported with its number; nothing is written. */
START_TEST(t_csv_import_all_or_nothing)
{
	struct akv_store *st = tmp_store("imp-aon");
	struct akv_import_result res;
	struct reports r;
	const char *text = AKV_CSV_HEADER "\n"
		"u1,sip:u1," K1 ",," OPC1 ",,\n"		/* 2 good */
		"u2,sip:u2," K1 ",," OPC1 ",\n"			/* 3 columns */
		"u3,sip:u3," K1 ",,,,\n"			/* 4 no op/opc */
		"u4,sip:u4," K1 ",," OPC1 ",,\n"		/* 5 good */
		"u1,sip:u9," K1 ",," OPC1 ",,\n"		/* 6 dup IMPI of 2 */
		"u6,sip:u4," K1 ",," OPC1 ",,\n"		/* 7 dup IMPU of 5 */
		"u7,sip:u7," K1 ",," OPC1 ",,zz\n";		/* 8 sqn */

	ck_assert_int_eq(import(st, text, 0, &r, &res), AKV_EINVAL);
	ck_assert_int_eq(r.n, 5);
	ck_assert_uint_eq(res.bad, 5);
	ck_assert_uint_eq(res.imported, 0);
	expect_report(&r, 0, 3, "columns");
	expect_report(&r, 1, 4, "op and opc");
	expect_report(&r, 2, 6, "duplicate IMPI u1 (first on line 2)");
	expect_report(&r, 3, 7, "duplicate IMPU sip:u4 (first on line 5)");
	expect_report(&r, 4, 8, "sqn");
	ck_assert_uint_eq(count(st), 0);

	/* --skip-bad: the good lines go in, the same lines are reported. */
	ck_assert_int_eq(import(st, text, 1, &r, &res), 0);
	ck_assert_int_eq(r.n, 5);
	ck_assert_uint_eq(res.imported, 2);
	ck_assert_uint_eq(count(st), 2);
	akv_store_close(st);
}
END_TEST

START_TEST(t_csv_import_dup_in_store)
{
	struct akv_store *st = tmp_store("imp-store");
	struct akv_import_result res;
	struct reports r;

	ck_assert_int_eq(import(st, AKV_CSV_HEADER "\nu1,sip:u1," K1 ",," OPC1 ",,\n", 0, &r, &res),
			 0);
	ck_assert_int_eq(import(st, AKV_CSV_HEADER "\n"
				"u2,sip:u2," K1 ",," OPC1 ",,\n"
				"u1,sip:x," K1 ",," OPC1 ",,\n"
				"u3,sip:u1," K1 ",," OPC1 ",,\n", 0, &r, &res), AKV_EINVAL);
	ck_assert_int_eq(r.n, 2);
	expect_report(&r, 0, 3, "IMPI u1 already in the store");
	expect_report(&r, 1, 4, "IMPU sip:u1 already belongs to IMPI u1");
	ck_assert_uint_eq(count(st), 1);
	akv_store_close(st);
}
END_TEST

START_TEST(t_csv_import_huge_line)
{
	struct akv_store *st = tmp_store("imp-huge");
	struct akv_import_result res;
	struct reports r;
	size_t n = 3 * AKV_CSV_LINE_MAX;
	char *text = akv_malloc(n + 512);
	char *p = text + sprintf(text, "%s\nu1,sip:u1,%s,,%s,,\n", AKV_CSV_HEADER, K1, OPC1);

	memset(p, 'a', n);
	p[n] = 0;
	strcat(p, "\nu2,sip:u2," K1 ",," OPC1 ",,\n");
	ck_assert_int_eq(import(st, text, 1, &r, &res), 0);
	ck_assert_int_eq(r.n, 1);
	expect_report(&r, 0, 3, "line too long");
	ck_assert_uint_eq(res.imported, 2);
	akv_free(text);
	akv_store_close(st);
}
END_TEST

START_TEST(t_csv_import_bulk_sorted)
{
	struct akv_store *st = tmp_store("imp-bulk");
	struct akv_import_result res;
	struct reports r;
	size_t n = 5000, cap = n * 120 + 64;
	char *text = akv_malloc(cap), *p = text;
	uint64_t gen = 0;
	struct akv_sub got;

	p += sprintf(p, "%s\n", AKV_CSV_HEADER);
	/* Reverse order: the import sorts before inserting. */
	for (size_t i = n; i-- > 0;)
		p += sprintf(p, "user%05zu@x,sip:user%05zu@x,%s,,%s,,%zx\n", i, i, K1, OPC1, i);
	ck_assert_int_eq(import(st, text, 0, &r, &res), 0);
	ck_assert_uint_eq(res.imported, n);
	ck_assert_uint_eq(count(st), n);
	ck_assert_int_eq(akv_store_get(st, "user04321@x", 11, &got), 0);
	ck_assert_uint_eq(got.sqn, 4321);
	/* A bulk import logs one "everything changed" entry. */
	ck_assert_int_eq(akv_store_generation(st, &gen), 0);
	ck_assert_uint_eq(gen, 1);
	ck_assert_int_eq(akv_store_check(st, NULL, NULL, NULL), 0);
	akv_free(text);
	akv_store_close(st);
}
END_TEST

/* Big enough for the parallel parse: bad lines in every thread's range are
 * all reported, in line order, with their numbers. */
START_TEST(t_csv_import_parallel_bad_lines)
{
	struct akv_store *st = tmp_store("imp-par");
	struct akv_import_result res;
	struct reports r;
	size_t n = 6000, cap = n * 120 + 64;
	char *text = akv_malloc(cap), *p = text;

	p += sprintf(p, "%s\n", AKV_CSV_HEADER);
	for (size_t i = 0; i < n; i++) {
		if (i % 1000 == 999)	/* line number i + 2 */
			p += sprintf(p, "bad%zu,sip:bad%zu,%s,,,,\n", i, i, K1);
		else
			p += sprintf(p, "p%05zu,sip:p%05zu,%s,,%s,,\n", i, i, K1, OPC1);
	}
	ck_assert_int_eq(import(st, text, 0, &r, &res), AKV_EINVAL);
	ck_assert_int_eq(r.n, 6);
	for (int i = 0; i < 6; i++)
		expect_report(&r, i, (size_t)(1000 * i + 999 + 2), "op and opc");
	ck_assert_uint_eq(count(st), 0);
	ck_assert_int_eq(import(st, text, 1, &r, &res), 0);
	ck_assert_uint_eq(res.imported, n - 6);
	ck_assert_uint_eq(count(st), n - 6);
	ck_assert_int_eq(akv_store_check(st, NULL, NULL, NULL), 0);
	akv_free(text);
	akv_store_close(st);
}
END_TEST

/* A hostile file repeating one line: each repeat is reported once, against
 * the first occurrence (the duplicate scan is one linear pass). */
START_TEST(t_csv_import_repeated_line)
{
	struct akv_store *st = tmp_store("imp-rep");
	struct akv_import_result res;
	struct reports r;
	size_t n = 50000, cap = n * 100 + 64;
	char *text = akv_malloc(cap), *p = text;

	p += sprintf(p, "%s\n", AKV_CSV_HEADER);
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "same,sip:same,%s,,%s,,\n", K1, OPC1);
	ck_assert_int_eq(import(st, text, 1, &r, &res), 0);
	ck_assert_int_eq(r.n, (int)n - 1);
	expect_report(&r, 0, 3, "duplicate IMPI same (first on line 2)");
	ck_assert_uint_eq(res.imported, 1);
	akv_free(text);
	akv_store_close(st);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_csv_header);
	tcase_add_test(tc, t_csv_good_line);
	tcase_add_test(tc, t_csv_op_to_opc);
	tcase_add_test(tc, t_csv_ext_columns);
	tcase_add_test(tc, t_csv_bad_lines);
	tcase_add_test(tc, t_csv_refusal_wipes_record);
	tcase_add_test(tc, t_csv_huge_fields);
	tcase_add_test(tc, t_csv_format_roundtrip);
	tcase_add_test(tc, t_csv_guard_page_and_random);
	tcase_add_test(tc, t_csv_import_good);
	tcase_add_test(tc, t_csv_import_empty);
	tcase_add_test(tc, t_csv_import_all_or_nothing);
	tcase_add_test(tc, t_csv_import_dup_in_store);
	tcase_add_test(tc, t_csv_import_huge_line);
	tcase_add_test(tc, t_csv_import_bulk_sorted);
	tcase_add_test(tc, t_csv_import_parallel_bad_lines);
	tcase_add_test(tc, t_csv_import_repeated_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	/* Every store of this run lives under one directory, removed at the end. */
	return akv_test_run_tmpdir(suite(), "test-csv");
}

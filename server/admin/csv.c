/* csv.c - subscriber CSV lines: parse and format (see csv.h). */
#include "admin/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "akv_crypto.h"
#include "err.h"

static const char *const col_names[AKV_CSV_COLS_EXT] = {
	"impi", "impus", "k", "op", "opc", "amf", "sqn", "schemes", "fail_limit"};

struct field {
	const char *p;
	size_t n;
};

static struct field
trim(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return (struct field){p, n};
}

/* Splits on ',' into at most max fields; returns the count found (which
 * may exceed max: then only max are stored). */
static int
split(const char *line, size_t len, struct field *f, int max)
{
	int n = 0;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ',')
			continue;
		if (n < max)
			f[n] = trim(line + start, i - start);
		n++;
		start = i + 1;
	}
	return n;
}

static size_t
strip_eol(const char *line, size_t len)
{
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	return len;
}

/* see csv.h */
int
akv_csv_header(const char *line, size_t len, char why[AKV_CSV_WHY])
{
	struct field f[AKV_CSV_COLS_EXT + 1];
	int n;

	len = strip_eol(line, len);
	/* A UTF-8 byte-order mark from spreadsheet exports. */
	if (len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
		line += 3;
		len -= 3;
	}
	n = split(line, len, f, AKV_CSV_COLS_EXT + 1);
	if (n != AKV_CSV_COLS && n != AKV_CSV_COLS_EXT)
		goto bad;
	for (int i = 0; i < n; i++)
		if (f[i].n != strlen(col_names[i]) ||
		    strncasecmp(f[i].p, col_names[i], f[i].n))
			goto bad;
	return n;
bad:
	snprintf(why, AKV_CSV_WHY, "header must be '%s' (or '%s')", AKV_CSV_HEADER,
		 AKV_CSV_HEADER_EXT);
	return AKV_EINVAL;
}

static int
has_ctl(struct field f)
{
	for (size_t i = 0; i < f.n; i++)
		if ((unsigned char)f.p[i] < 0x20 || f.p[i] == 0x7f || f.p[i] == '"')
			return 1;
	return 0;
}

/* Hex key column: exactly 32 digits. The value never goes into `why`. */
static int
hex16(struct field f, const char *col, uint8_t out[16], char why[AKV_CSV_WHY])
{
	if (f.n != 32) {
		snprintf(why, AKV_CSV_WHY, "%s: expected 32 hex digits, got %zu characters", col,
			 f.n);
		return AKV_EINVAL;
	}
	if (akv_hex_decode(f.p, f.n, out, 16)) {
		snprintf(why, AKV_CSV_WHY, "%s: not hexadecimal", col);
		return AKV_EINVAL;
	}
	return 0;
}

/* see csv.h */
int
akv_csv_sqn_parse(const char *s, size_t len, uint64_t *sqn)
{
	uint64_t v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		len -= 2;
	}
	if (len == 0 || len > 12)
		return AKV_EINVAL;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return AKV_EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	*sqn = v;
	return 0;
}

/* see csv.h */
int
akv_csv_schemes_parse(const char *s, size_t len, uint8_t *mask)
{
	static const struct {
		const char *name;
		uint8_t bit;
	} names[] = {
		{"akav1", AKV_SCHEME_BIT(AKV_SCHEME_AKAV1_MD5)},
		{"akav1-md5", AKV_SCHEME_BIT(AKV_SCHEME_AKAV1_MD5)},
		{"akav2", AKV_SCHEME_BIT(AKV_SCHEME_AKAV2_MD5)},
		{"akav2-md5", AKV_SCHEME_BIT(AKV_SCHEME_AKAV2_MD5)},
	};
	size_t start = 0;
	uint8_t m = 0;

	for (size_t i = 0; i <= len; i++) {
		struct field f;
		size_t j;

		if (i < len && s[i] != ',' && s[i] != ';' && s[i] != '+')
			continue;
		f = trim(s + start, i - start);
		start = i + 1;
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			if (f.n == strlen(names[j].name) && !strncasecmp(f.p, names[j].name, f.n))
				break;
		if (j == sizeof(names) / sizeof(names[0]))
			return AKV_EINVAL;
		m |= names[j].bit;
	}
	*mask = m;
	return m ? 0 : AKV_EINVAL;
}

/* see csv.h */
int
akv_csv_schemes_format(uint8_t mask, char sep, char *out, size_t cap)
{
	int n = 0;

	out[0] = 0;
	if (mask & AKV_SCHEME_BIT(AKV_SCHEME_AKAV1_MD5))
		n += snprintf(out + n, cap - (size_t)n, "akav1");
	if (mask & AKV_SCHEME_BIT(AKV_SCHEME_AKAV2_MD5))
		n += snprintf(out + n, cap - (size_t)n, "%sakav2", n ? (char[2]){sep, 0} : "");
	return n;
}

static int
parse_impus(struct field f, struct akv_sub *out, char why[AKV_CSV_WHY])
{
	size_t start = 0;

	out->nimpu = 0;
	if (f.n == 0) {
		snprintf(why, AKV_CSV_WHY, "impus: empty (at least one IMPU is needed)");
		return AKV_EINVAL;
	}
	for (size_t i = 0; i <= f.n; i++) {
		struct field u;

		if (i < f.n && f.p[i] != ';')
			continue;
		u = trim(f.p + start, i - start);
		start = i + 1;
		if (out->nimpu == AKV_STORE_MAX_IMPUS) {
			snprintf(why, AKV_CSV_WHY, "impus: more than %u IMPUs",
				 AKV_STORE_MAX_IMPUS);
			return AKV_EINVAL;
		}
		if (u.n == 0 || u.n > AKV_ID_MAX) {
			snprintf(why, AKV_CSV_WHY, "impus: IMPU %u is %s", (unsigned)out->nimpu + 1,
				 u.n ? "longer than 255 bytes" : "empty");
			return AKV_EINVAL;
		}
		if (has_ctl(u)) {
			snprintf(why, AKV_CSV_WHY,
				 "impus: IMPU %u has a control character or quote",
				 (unsigned)out->nimpu + 1);
			return AKV_EINVAL;
		}
		for (unsigned j = 0; j < out->nimpu; j++)
			if (out->impu_len[j] == u.n && !memcmp(out->impu[j], u.p, u.n)) {
				snprintf(why, AKV_CSV_WHY, "impus: %.*s listed twice", (int)u.n,
					 u.p);
				return AKV_EINVAL;
			}
		memcpy(out->impu[out->nimpu], u.p, u.n);
		out->impu[out->nimpu][u.n] = 0;
		out->impu_len[out->nimpu++] = (uint8_t)u.n;
	}
	return 0;
}

static int
parse_fields(struct field *f, int ncols, struct akv_sub *out, char why[AKV_CSV_WHY])
{
	uint8_t op[16];
	int e;

	if (f[0].n == 0 || f[0].n > AKV_ID_MAX) {
		snprintf(why, AKV_CSV_WHY, "impi: %s", f[0].n ? "longer than 255 bytes" : "empty");
		return AKV_EINVAL;
	}
	if (has_ctl(f[0])) {
		snprintf(why, AKV_CSV_WHY, "impi: has a control character or quote");
		return AKV_EINVAL;
	}
	memcpy(out->impi, f[0].p, f[0].n);
	out->impi[f[0].n] = 0;
	out->impi_len = (uint16_t)f[0].n;
	if ((e = parse_impus(f[1], out, why)) || (e = hex16(f[2], "k", out->k, why)))
		return e;
	if ((f[3].n == 0) == (f[4].n == 0)) {
		snprintf(why, AKV_CSV_WHY, "exactly one of op and opc must be given (%s)",
			 f[3].n ? "both are" : "neither is");
		return AKV_EINVAL;
	}
	if (f[3].n) {
		if ((e = hex16(f[3], "op", op, why)))
			return e;
		akv_mil_opc(out->k, op, out->opc);	/* TS 35.206 §4.1 */
		akv_wipe(op, sizeof(op));
	} else if ((e = hex16(f[4], "opc", out->opc, why))) {
		return e;
	}
	if (f[5].n == 0) {
		out->amf[0] = AKV_CSV_AMF_DEFAULT >> 8;
		out->amf[1] = AKV_CSV_AMF_DEFAULT & 0xff;
	} else if (f[5].n != 4 || akv_hex_decode(f[5].p, 4, out->amf, 2)) {
		snprintf(why, AKV_CSV_WHY, "amf: expected 4 hex digits");
		return AKV_EINVAL;
	}
	out->sqn = 0;
	if (f[6].n && akv_csv_sqn_parse(f[6].p, f[6].n, &out->sqn)) {
		snprintf(why, AKV_CSV_WHY, "sqn: expected 1..12 hex digits (48 bits)");
		return AKV_EINVAL;
	}
	out->schemes = AKV_STORE_SCHEMES_DEFAULT;
	out->fail_limit = 0;
	if (ncols == AKV_CSV_COLS_EXT) {
		char *end;
		unsigned long v;
		char num[8];

		if (f[7].n && akv_csv_schemes_parse(f[7].p, f[7].n, &out->schemes)) {
			snprintf(why, AKV_CSV_WHY, "schemes: expected akav1 and/or akav2");
			return AKV_EINVAL;
		}
		if (f[8].n) {
			if (f[8].n >= sizeof(num) || f[8].p[0] < '0' || f[8].p[0] > '9')
				goto bad_limit;
			memcpy(num, f[8].p, f[8].n);
			num[f[8].n] = 0;
			v = strtoul(num, &end, 10);
			if (*end || v > 65535)
				goto bad_limit;
			out->fail_limit = (uint16_t)v;
		}
	}
	return 0;
bad_limit:
	snprintf(why, AKV_CSV_WHY, "fail_limit: expected 0..65535");
	return AKV_EINVAL;
}

/* see csv.h */
int
akv_csv_parse(const char *line, size_t len, int ncols, struct akv_sub *out,
	      char why[AKV_CSV_WHY])
{
	struct field f[AKV_CSV_COLS_EXT + 1];
	int n, e = AKV_EINVAL;

	why[0] = 0;
	/* csv.h: a refused line leaves *out wiped, whichever check refused it
	 * (fuzz_csv found the early refusals returning it untouched) */
	akv_store_sub_wipe(out);
	out->impi_len = 0;
	out->nimpu = 0;
	out->seq_reserved = 0;
	if (ncols != AKV_CSV_COLS && ncols != AKV_CSV_COLS_EXT) {
		snprintf(why, AKV_CSV_WHY, "bad column count %d", ncols);
		return e;
	}
	if (len > AKV_CSV_LINE_MAX) {
		snprintf(why, AKV_CSV_WHY, "line too long (%zu bytes, max %d)", len,
			 AKV_CSV_LINE_MAX);
		return e;
	}
	len = strip_eol(line, len);
	if (memchr(line, 0, len)) {
		snprintf(why, AKV_CSV_WHY, "NUL byte in line");
		return e;
	}
	n = split(line, len, f, AKV_CSV_COLS_EXT + 1);
	if (n != ncols) {
		snprintf(why, AKV_CSV_WHY, "expected %d columns, got %d", ncols, n);
		return e;
	}
	e = parse_fields(f, ncols, out, why);
	if (!e && akv_store_sub_validate(out)) {
		snprintf(why, AKV_CSV_WHY, "%s", akv_store_errdetail());
		e = AKV_EINVAL;
	}
	if (e)
		akv_store_sub_wipe(out);
	return e;
}

/* see csv.h */
int
akv_csv_format(const struct akv_sub *s, uint64_t sqn, int ext, char *out, size_t cap)
{
	char k[33], opc[33], amf[5], sch[32];
	size_t n;
	int w;

	if (cap < 2 * AKV_ID_MAX)
		return AKV_ETOOBIG;
	w = snprintf(out, cap, "%.*s,", (int)s->impi_len, s->impi);
	n = (size_t)w;
	for (unsigned i = 0; i < s->nimpu; i++) {
		if (n + s->impu_len[i] + 2 >= cap)
			return AKV_ETOOBIG;
		if (i)
			out[n++] = ';';
		memcpy(out + n, s->impu[i], s->impu_len[i]);
		n += s->impu_len[i];
	}
	akv_hex_encode(s->k, 16, k);
	akv_hex_encode(s->opc, 16, opc);
	akv_hex_encode(s->amf, 2, amf);
	if (ext) {
		akv_csv_schemes_format(s->schemes, ';', sch, sizeof(sch));
		w = snprintf(out + n, cap - n, ",%s,,%s,%s,%012llx,%s,%u\n", k, opc, amf,
			     (unsigned long long)sqn, sch, s->fail_limit);
	} else {
		w = snprintf(out + n, cap - n, ",%s,,%s,%s,%012llx\n", k, opc, amf,
			     (unsigned long long)sqn);
	}
	akv_wipe(k, sizeof(k));
	akv_wipe(opc, sizeof(opc));
	if (w < 0 || (size_t)w >= cap - n)
		return AKV_ETOOBIG;
	return (int)(n + (size_t)w);
}

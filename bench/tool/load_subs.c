/*
 * load_subs.c - the subscribers `load` talks about: the CSV that `akavs sub
 * import` reads (header impi,impus,k,op,opc,amf,sqn, columns found by name),
 * so the load generator knows every K and OPc and can check what the server
 * computes. Also the Zipf sampler for skewed subscriber choice.
 */
#include "load.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"
#include "mem.h"

enum { COL_IMPI, COL_IMPUS, COL_K, COL_OP, COL_OPC, COL_AMF, COL_SQN, NCOL };
static const char *const col_names[NCOL] = {"impi", "impus", "k", "op", "opc", "amf", "sqn"};

#define MAX_FIELDS 16

/* Splits line in place at commas; returns the field count (or -1 if > MAX_FIELDS). */
static int
split(char *line, char *f[MAX_FIELDS])
{
	int n = 0;
	char *p = line;

	line[strcspn(line, "\r\n")] = 0;
	for (;;) {
		char *c = strchr(p, ',');

		if (n == MAX_FIELDS)
			return -1;
		f[n++] = p;
		if (!c)
			break;
		*c = 0;
		p = c + 1;
	}
	return n;
}

static int
hex_field(const char *s, uint8_t *out, size_t n)
{
	return akv_hex_decode(s, strlen(s), out, n) ? -1 : 0;
}

/* Fills sub from the fields; returns NULL or the reason it is refused. */
static const char *
parse_sub(char *f[MAX_FIELDS], int nf, const int col[NCOL], struct load_sub *sub)
{
	const char *impi = col[COL_IMPI] < nf ? f[col[COL_IMPI]] : "";
	const char *impus = col[COL_IMPUS] >= 0 && col[COL_IMPUS] < nf ? f[col[COL_IMPUS]] : "";
	const char *op = col[COL_OP] >= 0 && col[COL_OP] < nf ? f[col[COL_OP]] : "";
	const char *opc = col[COL_OPC] >= 0 && col[COL_OPC] < nf ? f[col[COL_OPC]] : "";
	const char *amf = col[COL_AMF] >= 0 && col[COL_AMF] < nf ? f[col[COL_AMF]] : "";
	uint8_t opb[16], amfb[2];
	size_t il = strlen(impi), ul = strcspn(impus, ";");

	if (!il || il > LOAD_IMPI_MAX)
		return "impi empty or longer than 255 bytes";
	if (ul > LOAD_IMPI_MAX)
		return "first impu longer than 255 bytes";
	if (col[COL_K] >= nf || hex_field(f[col[COL_K]], sub->k, 16))
		return "k is not 32 hex digits";
	if (!!*op == !!*opc)
		return "exactly one of op and opc must be given";
	if (*opc && hex_field(opc, sub->opc, 16))
		return "opc is not 32 hex digits";
	if (*op) {
		if (hex_field(op, opb, 16))
			return "op is not 32 hex digits";
		akv_mil_opc(sub->k, opb, sub->opc);
		akv_wipe(opb, sizeof(opb));
	}
	if (!*amf)
		amf = "8000";
	/* checked as `akavs sub import` checks it; the AMF a vector carries is
	 * the server's, read from its AUTN */
	if (hex_field(amf, amfb, 2))
		return "amf is not 4 hex digits";
	sub->impi = akv_strndup(impi, il);
	sub->impi_len = (uint8_t)il;
	sub->impu = ul ? akv_strndup(impus, ul) : NULL;
	sub->impu_len = (uint8_t)ul;
	return NULL;
}

static int
parse_header(char *line, const char *path, int col[NCOL])
{
	char *f[MAX_FIELDS];
	int nf = split(line, f);

	for (int c = 0; c < NCOL; c++)
		col[c] = -1;
	for (int i = 0; i < nf; i++)
		for (int c = 0; c < NCOL; c++)
			if (!strcmp(f[i], col_names[c]))
				col[c] = i;
	if (nf < 0 || col[COL_IMPI] < 0 || col[COL_K] < 0 ||
	    (col[COL_OP] < 0 && col[COL_OPC] < 0)) {
		fprintf(stderr, "%s:1: header must name impi,impus,k,op,opc,amf,sqn\n", path);
		return -1;
	}
	return 0;
}

#define SUBS_HUGE ((size_t)2 << 20)

static int
inline_id(const struct load_sub *sub, const char *id)
{
	return id >= sub->inl && id < sub->inl + sizeof(sub->inl);
}

/* A table of `bytes` for records picked at random, 2 MiB aligned and on
 * 2 MiB pages when the kernel gives them: with 4 KiB pages nearly every
 * pick also missed the TLB (the receive buffers alone span thousands of
 * pages). Returns the table; *mem and *map_len say what to release (map_len
 * 0: *mem is a heap block and the table is only 64-byte aligned in it). */
static void *
table_alloc(size_t bytes, void **mem, size_t *map_len)
{
	size_t map = (bytes + SUBS_HUGE - 1) / SUBS_HUGE * SUBS_HUGE + SUBS_HUGE;
	uint8_t *m = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *v;

	if (m == MAP_FAILED) {
		m = akv_malloc(bytes + 63);
		map = 0;
		v = (void *)(((uintptr_t)m + 63) & ~(uintptr_t)63);
	} else {
		v = (void *)(((uintptr_t)m + SUBS_HUGE - 1) & ~(uintptr_t)(SUBS_HUGE - 1));
		madvise(v, map - SUBS_HUGE, MADV_HUGEPAGE); /* a hint: 4 KiB pages work too */
	}
	*mem = m;
	*map_len = map;
	return v;
}

static void
table_free(void *mem, size_t map_len)
{
	if (map_len)
		munmap(mem, map_len);
	else
		akv_free(mem);
}

/* The final table: records on a 64-byte boundary, identities moved into
 * them when they fit (see struct load_sub). */
static void
subs_pack(struct load_subs *s)
{
	size_t bytes = s->n * sizeof(*s->v);
	struct load_sub *v = table_alloc(bytes, &s->mem, &s->mem_len);

	memcpy(v, s->v, bytes);
	akv_wipe(s->v, bytes);
	akv_free(s->v);
	s->ids_inline = s->ids_line0 = 1;
	for (size_t i = 0; i < s->n; i++) {
		struct load_sub *sub = &v[i];
		size_t il = sub->impi_len, ul = sub->impu ? sub->impu_len : 0;
		size_t need = il + 1 + (sub->impu ? ul + 1 : 0);

		if (need > LOAD_SUB_LINE0)
			s->ids_line0 = 0;
		if (need > sizeof(sub->inl)) {
			s->ids_inline = s->ids_line0 = 0;
			continue;
		}
		memcpy(sub->inl, sub->impi, il + 1);
		akv_free(sub->impi);
		sub->impi = sub->inl;
		if (sub->impu) {
			memcpy(sub->inl + il + 1, sub->impu, ul + 1);
			akv_free(sub->impu);
			sub->impu = sub->inl + il + 1;
		}
	}
	s->v = v;
}

/* see load.h */
void
load_subs_expand(struct load_subs *s)
{
	s->ks = table_alloc(s->n * sizeof(*s->ks), &s->ks_mem, &s->ks_mem_len);
	for (size_t i = 0; i < s->n; i++) {
		akv_aes_expand(s->v[i].k, &s->ks[i].ks);
		memcpy(s->ks[i].opc, s->v[i].opc, 16);
	}
}

/* see load.h */
int
load_subs_read(const char *path, struct load_subs *s)
{
	FILE *fp = fopen(path, "r");
	char line[2048];
	int col[NCOL];
	size_t cap = 0, lineno = 1;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (!fp) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof(line), fp) || parse_header(line, path, col))
		goto out;
	while (fgets(line, sizeof(line), fp)) {
		char *f[MAX_FIELDS];
		const char *why;
		int nf;

		lineno++;
		if (!strchr(line, '\n') && !feof(fp)) {
			fprintf(stderr, "%s:%zu: line longer than %zu bytes\n", path, lineno,
				sizeof(line) - 1);
			goto out;
		}
		if (line[strspn(line, " \t\r\n")] == 0)
			continue;
		nf = split(line, f);
		if (s->n == cap) {
			cap = cap ? 2 * cap : 1024;
			s->v = akv_realloc(s->v, cap * sizeof(*s->v));
		}
		memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
		why = nf < 0 ? "too many fields" : parse_sub(f, nf, col, &s->v[s->n]);
		if (why) {
			fprintf(stderr, "%s:%zu: %s\n", path, lineno, why);
			goto out;
		}
		s->n++;
	}
	if (!s->n) {
		fprintf(stderr, "%s: no subscribers\n", path);
		goto out;
	}
	subs_pack(s);
	rc = 0;
out:
	akv_wipe(line, sizeof(line));
	fclose(fp);
	if (rc)
		load_subs_free(s);
	return rc;
}

/* see load.h */
void
load_subs_free(struct load_subs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!inline_id(&s->v[i], s->v[i].impi))
			akv_free(s->v[i].impi);
		if (!inline_id(&s->v[i], s->v[i].impu))
			akv_free(s->v[i].impu);
	}
	if (s->v)
		akv_wipe(s->v, s->n * sizeof(*s->v));
	if (s->mem)
		table_free(s->mem, s->mem_len);
	else
		akv_free(s->v);
	if (s->ks) {
		akv_wipe(s->ks, s->n * sizeof(*s->ks));
		table_free(s->ks_mem, s->ks_mem_len);
	}
	memset(s, 0, sizeof(*s));
}

/* see load.h */
void
load_zipf_init(struct load_zipf *z, size_t n, double s)
{
	double sum = 0;

	z->n = n;
	z->cdf = akv_malloc(n * sizeof(*z->cdf));
	for (size_t i = 0; i < n; i++) {
		sum += 1.0 / pow((double)(i + 1), s);
		z->cdf[i] = sum;
	}
	for (size_t i = 0; i < n; i++)
		z->cdf[i] /= sum;
}

/* see load.h */
size_t
load_zipf_pick(const struct load_zipf *z, uint64_t *rng)
{
	double u = (double)(akv_bench_rand64(rng) >> 11) * 0x1.0p-53;
	size_t lo = 0, hi = z->n - 1;

	/* first rank whose CDF reaches u */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* see load.h */
void
load_zipf_free(struct load_zipf *z)
{
	akv_free(z->cdf);
	memset(z, 0, sizeof(*z));
}

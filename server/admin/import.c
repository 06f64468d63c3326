/* import.c - bulk CSV import (see import.h). */
#include "admin/import.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/csv.h"
#include "clock.h"
#include "err.h"
#include "mem.h"

struct rec {
	uint64_t off;		/* line start in buf */
	uint64_t aoff;		/* parsed record in the arena (good lines) */
	uint32_t len;		/* line length without newline */
	uint32_t line;		/* 1-based line number */
	uint32_t bad;		/* index+1 into the problem list, 0 = good */
};

/* A parsed record kept between the passes, so the write pass does not parse
 * again: this fixed part, then impi_len, IMPI, and per IMPU (len, bytes).
 * Holds keys: the arena is wiped before it is freed. */
struct crec {
	uint8_t k[16], opc[16], amf[2], schemes, nimpu;
	uint16_t fail_limit;
	uint64_t sqn;
};

/* An identity (IMPI or IMPU) of a good record, for duplicate detection. */
struct ident {
	uint64_t off;
	uint32_t rec;
	uint16_t len;
};

struct problem {
	uint32_t line;
	char *why;
};

struct imp {
	const char *buf;
	struct rec *recs;
	size_t nrec, caprec;
	struct ident *impi, *impu;
	size_t nimpi, nimpu, capimpu;
	struct problem *probs;
	size_t nprob, capprob;
	uint32_t *order;	/* good records in IMPI order */
	size_t norder;
	int ncols;
	struct akv_sub *scratch;
	uint8_t *arena;
	size_t acap;
};

#define BAD_PENDING UINT32_MAX	/* parse failed in a worker; reason made later */

/* Each good record is encoded at slot recs[ri].off + ARENA_PAD * ri of one
 * arena of len + ARENA_PAD * nrec bytes: an encoding (struct crec + 1 +
 * IMPI + per IMPU 1 + bytes) is shorter than its line plus ARENA_PAD (the
 * line also holds K, 32 chars, and the separators), so slots never overlap
 * and parsing threads need no coordination. */
#define ARENA_PAD 64u

static void
encode_at(uint8_t *p, const struct akv_sub *s)
{
	struct crec c;

	memcpy(c.k, s->k, 16);
	memcpy(c.opc, s->opc, 16);
	memcpy(c.amf, s->amf, 2);
	c.schemes = s->schemes;
	c.nimpu = s->nimpu;
	c.fail_limit = s->fail_limit;
	c.sqn = s->sqn;
	memcpy(p, &c, sizeof(c));
	akv_wipe(&c, sizeof(c));
	p += sizeof(c);
	*p++ = (uint8_t)s->impi_len;
	memcpy(p, s->impi, s->impi_len);
	p += s->impi_len;
	for (unsigned i = 0; i < s->nimpu; i++) {
		*p++ = s->impu_len[i];
		memcpy(p, s->impu[i], s->impu_len[i]);
		p += s->impu_len[i];
	}
}

static void
arena_get(const struct imp *m, uint64_t at, struct akv_sub *s)
{
	const uint8_t *p = m->arena + at;
	struct crec c;

	memcpy(&c, p, sizeof(c));
	p += sizeof(c);
	memcpy(s->k, c.k, 16);
	memcpy(s->opc, c.opc, 16);
	memcpy(s->amf, c.amf, 2);
	s->schemes = c.schemes;
	s->nimpu = c.nimpu;
	s->fail_limit = c.fail_limit;
	s->sqn = c.sqn;
	s->seq_reserved = 0;
	akv_wipe(&c, sizeof(c));
	s->impi_len = *p++;
	memcpy(s->impi, p, s->impi_len);
	s->impi[s->impi_len] = 0;
	p += s->impi_len;
	for (unsigned i = 0; i < s->nimpu; i++) {
		s->impu_len[i] = *p++;
		memcpy(s->impu[i], p, s->impu_len[i]);
		s->impu[i][s->impu_len[i]] = 0;
		p += s->impu_len[i];
	}
}

static double
now_s(void)
{
	return (double)akv_mono_ns() * 1e-9;
}

static void
add_problem(struct imp *m, size_t ri, uint32_t line, const char *why)
{
	if (ri != SIZE_MAX && m->recs[ri].bad)
		return;		/* one reason per line is enough */
	if (m->nprob == m->capprob) {
		m->capprob = m->capprob ? 2 * m->capprob : 64;
		m->probs = akv_realloc(m->probs, m->capprob * sizeof(*m->probs));
	}
	m->probs[m->nprob].line = line;
	m->probs[m->nprob].why = akv_strndup(why, strlen(why));
	m->nprob++;
	if (ri != SIZE_MAX)
		m->recs[ri].bad = (uint32_t)m->nprob;
}

/* Spans of the impi field and of each IMPU in a line that parsed, found by
 * the same rules as csv.c (split on ',' then ';', trim blanks). */
static void
trimspan(const char *b, uint64_t *s, uint64_t *e)
{
	while (*s < *e && (b[*s] == ' ' || b[*s] == '\t'))
		(*s)++;
	while (*e > *s && (b[*e - 1] == ' ' || b[*e - 1] == '\t'))
		(*e)--;
}

static void
collect_ids(struct imp *m, size_t ri)
{
	const struct rec *r = &m->recs[ri];
	const char *b = m->buf;
	uint64_t s = r->off, e, end = r->off + r->len, c1, c2;

	c1 = s;
	while (b[c1] != ',')
		c1++;
	e = c1;
	trimspan(b, &s, &e);
	m->impi[m->nimpi++] = (struct ident){s, (uint32_t)ri, (uint16_t)(e - s)};
	c2 = c1 + 1;
	while (c2 < end && b[c2] != ',')
		c2++;
	for (uint64_t p = c1 + 1; p <= c2;) {
		uint64_t q = p, us, ue;

		while (q < c2 && b[q] != ';')
			q++;
		us = p;
		ue = q;
		trimspan(b, &us, &ue);
		if (m->nimpu == m->capimpu) {
			m->capimpu = m->capimpu ? 2 * m->capimpu : 1024;
			m->impu = akv_realloc(m->impu, m->capimpu * sizeof(*m->impu));
		}
		m->impu[m->nimpu++] = (struct ident){us, (uint32_t)ri, (uint16_t)(ue - us)};
		p = q + 1;
	}
}

static int
cmp_ident(const void *a, const void *b, void *arg)
{
	const struct ident *x = a, *y = b;
	const char *buf = arg;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(buf + x->off, buf + y->off, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->rec < y->rec ? -1 : x->rec > y->rec;	/* first occurrence first */
}

static int
cmp_problem(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;

	return x->line < y->line ? -1 : x->line > y->line;
}

struct sort_job {
	struct ident *v;
	size_t n;
	const char *buf;
};

static void *
sort_ids(void *arg)
{
	struct sort_job *j = arg;

	if (j->n > 1)	/* qsort of a NULL, empty array is undefined */
		qsort_r(j->v, j->n, sizeof(*j->v), cmp_ident, (void *)j->buf);
	return NULL;
}

/* Sorts the IMPIs (on a second thread for big files) and the IMPUs. */
static void
sort_all(struct imp *m)
{
	struct sort_job ji = {m->impi, m->nimpi, m->buf}, ju = {m->impu, m->nimpu, m->buf};
	pthread_t tid;
	int threaded = m->nimpi >= 4096 && !pthread_create(&tid, NULL, sort_ids, &ji);

	sort_ids(&ju);
	if (threaded)
		pthread_join(tid, NULL);
	else
		sort_ids(&ji);
}

/* In a sorted array, every occurrence after the first of an identity is a
 * bad line (one pass: hostile files of one repeated line stay linear). */
static void
mark_dups(struct imp *m, const struct ident *v, size_t n, const char *what)
{
	char why[AKV_CSV_WHY + AKV_ID_MAX];
	size_t first = 0;

	for (size_t i = 1; i < n; i++) {
		if (v[i].len != v[i - 1].len ||
		    memcmp(m->buf + v[i].off, m->buf + v[i - 1].off, v[i].len)) {
			first = i;
			continue;
		}
		snprintf(why, sizeof(why), "duplicate %s %.*s (first on line %u)", what,
			 (int)v[i].len, m->buf + v[i].off, m->recs[v[first].rec].line);
		add_problem(m, v[i].rec, m->recs[v[i].rec].line, why);
	}
}

/* Pass 1a: split lines and check the header. */
static int
split_lines(struct imp *m, size_t len)
{
	char why[AKV_CSV_WHY];
	size_t pos = 0;
	uint32_t line = 0;
	int have_header = 0;

	while (pos < len) {
		const char *nl = memchr(m->buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - m->buf) : len, l = end - pos;
		const char *p = m->buf + pos;

		line++;
		pos = end + 1;
		if (l && p[l - 1] == '\r')
			l--;
		if (!have_header) {
			m->ncols = akv_csv_header(p, l, why);
			if (m->ncols < 0) {
				add_problem(m, SIZE_MAX, line, why);
				return AKV_EINVAL;
			}
			have_header = 1;
			continue;
		}
		if (l == 0 || p[0] == '#')
			continue;	/* blank or comment */
		if (m->nrec == m->caprec) {
			m->caprec = m->caprec ? 2 * m->caprec : 1024;
			m->recs = akv_realloc(m->recs, m->caprec * sizeof(*m->recs));
		}
		m->recs[m->nrec++] = (struct rec){(uint64_t)(p - m->buf), 0,
						  (uint32_t)(l > UINT32_MAX ? UINT32_MAX : l),
						  line, 0};
	}
	return 0;
}

struct parse_job {
	struct imp *m;
	size_t from, to;
};

/* Pass 1b (one or more threads, disjoint record ranges): parse, encode the
 * good records into their arena slots, mark the bad ones. */
static void *
parse_range(void *arg)
{
	struct parse_job *j = arg;
	struct imp *m = j->m;
	struct akv_sub *s = akv_malloc(sizeof(*s));
	char why[AKV_CSV_WHY];

	for (size_t ri = j->from; ri < j->to; ri++) {
		struct rec *r = &m->recs[ri];

		if (r->len > AKV_CSV_LINE_MAX ||
		    akv_csv_parse(m->buf + r->off, r->len, m->ncols, s, why)) {
			r->bad = BAD_PENDING;
			continue;
		}
		r->aoff = r->off + (uint64_t)ARENA_PAD * ri;
		encode_at(m->arena + r->aoff, s);
		akv_store_sub_wipe(s);
	}
	akv_store_sub_wipe(s);
	akv_free(s);
	return NULL;
}

/* Pass 1: split, parse (in parallel for big files: parsing is most of an
 * import's CPU time), report bad lines in order, collect identities. */
static int
parse_all(struct imp *m, size_t len)
{
	struct parse_job jobs[4];
	pthread_t tid[4];
	char why[AKV_CSV_WHY];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthr = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (size_t)ncpu, started = 0;
	int e;

	if ((e = split_lines(m, len)))
		return e;
	m->acap = len + (size_t)ARENA_PAD * m->nrec;
	m->arena = akv_malloc(m->acap ? m->acap : 1);
	if (m->nrec < 4096)
		nthr = 1;
	for (size_t t = 0; t < nthr; t++)
		jobs[t] = (struct parse_job){m, m->nrec * t / nthr, m->nrec * (t + 1) / nthr};
	for (size_t t = 1; t < nthr; t++)
		if (!pthread_create(&tid[t], NULL, parse_range, &jobs[t]))
			started = t;
		else
			break;
	/* This thread parses the first range, and any a thread could not take. */
	parse_range(&jobs[0]);
	for (size_t t = 1; t <= started; t++)
		pthread_join(tid[t], NULL);
	for (size_t t = started + 1; t < nthr; t++)
		parse_range(&jobs[t]);
	/* Reasons, in line order, made here (bad lines are few; parsing is
	 * deterministic): the workers only marked them. */
	for (size_t ri = 0; ri < m->nrec; ri++) {
		struct rec *r = &m->recs[ri];

		if (r->bad != BAD_PENDING)
			continue;
		r->bad = 0;
		if (r->len > AKV_CSV_LINE_MAX)
			snprintf(why, sizeof(why), "line too long (%u bytes, max %d)", r->len,
				 AKV_CSV_LINE_MAX);
		else if (!akv_csv_parse(m->buf + r->off, r->len, m->ncols, m->scratch, why))
			snprintf(why, sizeof(why), "internal: line parsed on a second try");
		akv_store_sub_wipe(m->scratch);
		add_problem(m, ri, r->line, why);
	}
	m->impi = akv_malloc((m->nrec ? m->nrec : 1) * sizeof(*m->impi));
	for (size_t i = 0; i < m->nrec; i++)
		if (!m->recs[i].bad)
			collect_ids(m, i);
	return 0;
}

/* Identities already in the store (skipped for an empty store). */
static int
check_store(struct imp *m, struct akv_store *st)
{
	char why[AKV_CSV_WHY + 2 * AKV_ID_MAX], owner[AKV_ID_MAX + 1];
	struct akv_store_reader *r;
	uint64_t count;
	size_t olen;
	int e;

	if ((e = akv_store_count(st, &count)) || count == 0)
		return e;
	if (!(r = akv_store_reader_new(st, &e)))
		return e;
	if ((e = akv_store_reader_begin(r)))
		goto out;
	for (size_t i = 0; i < m->nimpi; i++) {
		const struct ident *id = &m->impi[i];

		e = akv_store_reader_get(r, m->buf + id->off, id->len, m->scratch);
		akv_store_sub_wipe(m->scratch);
		if (e == AKV_ENOTFOUND)
			continue;
		if (e)
			goto out;
		snprintf(why, sizeof(why), "IMPI %.*s already in the store", (int)id->len,
			 m->buf + id->off);
		add_problem(m, id->rec, m->recs[id->rec].line, why);
	}
	for (size_t i = 0; i < m->nimpu; i++) {
		const struct ident *id = &m->impu[i];

		e = akv_store_reader_impu(r, m->buf + id->off, id->len, owner, &olen);
		if (e == AKV_ENOTFOUND)
			continue;
		if (e)
			goto out;
		snprintf(why, sizeof(why), "IMPU %.*s already belongs to IMPI %s in the store",
			 (int)id->len, m->buf + id->off, owner);
		add_problem(m, id->rec, m->recs[id->rec].line, why);
	}
	e = 0;
out:
	akv_store_reader_end(r);
	akv_store_reader_free(r);
	return e;
}

static int
next_rec(void *arg, size_t i, struct akv_sub *out)
{
	struct imp *m = arg;

	arena_get(m, m->recs[m->order[i]].aoff, out);
	return 0;
}

static void
report_all(struct imp *m, const struct akv_import_opts *o)
{
	if (m->nprob > 1)	/* qsort of a NULL, empty array is undefined */
		qsort(m->probs, m->nprob, sizeof(*m->probs), cmp_problem);
	for (size_t i = 0; i < m->nprob; i++)
		if (o->report)
			o->report(o->arg, m->probs[i].line, m->probs[i].why);
}

/* see import.h */
int
akv_import_buf(struct akv_store *st, const char *buf, size_t len,
	       const struct akv_import_opts *o, struct akv_import_result *res)
{
	struct imp m = {.buf = buf};
	double t0 = now_s(), t1, t2;
	size_t bad = 0;
	int e;

	memset(res, 0, sizeof(*res));
	m.scratch = akv_malloc(sizeof(*m.scratch));
	e = parse_all(&m, len);
	res->records = m.nrec;
	if (e)
		goto out;
	sort_all(&m);
	mark_dups(&m, m.impi, m.nimpi, "IMPI");
	mark_dups(&m, m.impu, m.nimpu, "IMPU");
	t1 = now_s();
	res->parse_s = t1 - t0;
	if ((e = check_store(&m, st)))
		goto out;
	t2 = now_s();
	res->check_s = t2 - t1;
	if (m.nprob && !o->skip_bad) {
		e = AKV_EINVAL;
		goto out;
	}
	/* m.impi is sorted by IMPI: insert in that order (append path). */
	m.order = akv_malloc((m.nimpi ? m.nimpi : 1) * sizeof(*m.order));
	for (size_t i = 0; i < m.nimpi; i++)
		if (!m.recs[m.impi[i].rec].bad)
			m.order[m.norder++] = m.impi[i].rec;
	if (o->dry_run || m.norder == 0)
		goto out;
	e = akv_store_add_batch(st, m.norder, next_rec, &m, &bad);
	res->write_s = now_s() - t2;
	if (e) {
		if (bad < m.norder) {
			char why[AKV_CSV_WHY + 64];

			snprintf(why, sizeof(why), "%s", akv_store_errdetail());
			add_problem(&m, m.order[bad], m.recs[m.order[bad]].line, why);
		}
		goto out;
	}
	res->imported = m.norder;
out:
	res->bad = m.nprob;
	report_all(&m, o);
	for (size_t i = 0; i < m.nprob; i++)
		akv_free(m.probs[i].why);
	akv_store_sub_wipe(m.scratch);
	akv_free(m.scratch);
	akv_free(m.probs);
	akv_free(m.recs);
	akv_free(m.impi);
	akv_free(m.impu);
	akv_free(m.order);
	if (m.arena) {
		akv_wipe(m.arena, m.acap);
		akv_free(m.arena);
	}
	return e;
}

/* Reads a pipe or other non-mappable input whole. Growing copies wipe the
 * block they leave (it holds keys). */
static int
read_all(int fd, char **out, size_t *outlen)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = akv_malloc(cap);

	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb = akv_malloc(2 * cap);

			memcpy(nb, buf, len);
			akv_wipe(buf, cap);
			akv_free(buf);
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			int e = -errno;

			if (e == -EINTR)
				continue;
			akv_wipe(buf, len);
			akv_free(buf);
			return e;
		}
		len += (size_t)n;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* see import.h */
int
akv_import_file(struct akv_store *st, const char *path, const struct akv_import_opts *o,
		struct akv_import_result *res)
{
	struct stat sb;
	size_t len = 0;
	char *buf = NULL;
	int fd, e;

	memset(res, 0, sizeof(*res));
	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb)) {
		e = -errno;
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		e = -EISDIR;
		goto out;
	}
	if (S_ISREG(sb.st_mode) && sb.st_size > 0) {
		/* A regular file is mapped, not copied: no private copy of the
		 * keys to wipe, and half the memory for big imports. */
		void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (p == MAP_FAILED) {
			e = -errno;
			goto out;
		}
		madvise(p, (size_t)sb.st_size, MADV_SEQUENTIAL);
		e = akv_import_buf(st, p, (size_t)sb.st_size, o, res);
		munmap(p, (size_t)sb.st_size);
		goto out;
	}
	if ((e = read_all(fd, &buf, &len)))
		goto out;
	e = akv_import_buf(st, buf, len, o, res);
	akv_wipe(buf, len);
	akv_free(buf);
out:
	if (fd > 0)
		close(fd);
	return e;
}

#include "mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <jemalloc/jemalloc.h>

static __attribute__((noreturn)) void
oom(size_t n)
{
	fprintf(stderr, "akavs: out of memory allocating %zu bytes\n", n);
	abort();
}

/* see mem.h */
void *
akv_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

/* see mem.h */
void *
akv_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom(nmemb * size);
	return p;
}

/* see mem.h */
void *
akv_calloc_aligned(size_t align, size_t nmemb, size_t size)
{
	size_t n;
	void *p;

	if (__builtin_mul_overflow(nmemb ? nmemb : 1, size ? size : 1, &n))
		oom(SIZE_MAX);
	n = (n + align - 1) & ~(align - 1); /* aligned_alloc wants a multiple */
	p = aligned_alloc(align, n);
	if (!p)
		oom(n);
	memset(p, 0, n);
	return p;
}

/* see mem.h */
void *
akv_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

/* see mem.h */
void *
akv_malloc_huge(size_t n)
{
	const size_t huge = (size_t)2 << 20;
	size_t r;
	void *p;

	/* aligned_alloc wants a multiple of the alignment */
	if (__builtin_add_overflow(n ? n : 1, huge - 1, &r))
		oom(SIZE_MAX);
	r &= ~(huge - 1);
	p = aligned_alloc(huge, r);
	if (!p)
		oom(r);
	akv_huge_pages_hint(p, r);
	return p;
}

/* see mem.h */
void
akv_huge_pages_hint(void *p, size_t n)
{
	const uintptr_t huge = (uintptr_t)2 << 20;
	uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	uintptr_t end = ((uintptr_t)p + n) & ~(huge - 1);

#ifdef MADV_HUGEPAGE
	if (n >= 2 * huge && end > a)
		(void)madvise((void *)a, end - a, MADV_HUGEPAGE);
#else
	(void)a;
	(void)end;
#endif
}

/* see mem.h */
void
akv_free(void *p)
{
	free(p);
}

/* see mem.h */
char *
akv_strndup(const char *s, size_t n)
{
	char *d = akv_malloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

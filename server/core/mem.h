/*
 * mem.h - all heap use of the server goes through these (jemalloc). They
 * abort on out-of-memory (an OOM is not a recoverable per-request error
 * here), so callers never check for NULL. An object is freed by the thread
 * that allocated it.
 */
#ifndef AKV_SERVER_CORE_MEM_H
#define AKV_SERVER_CORE_MEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* never NULL: said to the compiler (and to static analysers, which would
 * otherwise follow a NULL through every caller) */
#define AKV_ALLOC_ATTR __attribute__((returns_nonnull, warn_unused_result))

void *akv_malloc(size_t n) AKV_ALLOC_ATTR;
void *akv_calloc(size_t nmemb, size_t size) AKV_ALLOC_ATTR;
void *akv_realloc(void *p, size_t n) AKV_ALLOC_ATTR;
/* Zeroed nmemb * size bytes at an address that is a multiple of align (a
 * power of two, e.g. 64 so that hot structures start on a cache line);
 * freed with akv_free. Aborts on overflow or OOM like the others. */
void *akv_calloc_aligned(size_t align, size_t nmemb, size_t size) AKV_ALLOC_ATTR;
void akv_free(void *p);
/* Asks for transparent huge pages (THP "madvise" mode) over the 2 MiB-aligned
 * part of [p, p + n) when it spans at least two of them: for large arrays
 * read at random (the subscriber cache's buckets, the pending pool), where
 * every access would otherwise also miss the TLB. Advice only: failure or a
 * kernel without THP changes nothing. */
void akv_huge_pages_hint(void *p, size_t n);
/* n bytes (not zeroed) from a 2 MiB boundary, with transparent huge pages
 * asked for before anything touches them (akv_huge_pages_hint): for large
 * arrays that several threads or the kernel touch for every request (the
 * front end's request slots and receive buffers). Freed with akv_free. */
void *akv_malloc_huge(size_t n) AKV_ALLOC_ATTR;
char *akv_strndup(const char *s, size_t n) AKV_ALLOC_ATTR;

#ifdef __cplusplus
}
#endif
#endif

/*
 * guard.h - put a parser's input flush against a PROT_NONE page (the
 * picohttpparser test trick): any read past the end faults at once, under
 * every build, not only under ASan.
 */
#ifndef AKV_TESTS_SUPPORT_GUARD_H
#define AKV_TESTS_SUPPORT_GUARD_H

#include <stddef.h>
#include <stdint.h>

struct akv_guard {
	uint8_t *map;	/* private */
	size_t map_len; /* private */
};

/* Maps enough read-write pages for n bytes plus one PROT_NONE page, copies
 * data so that its last byte sits just before the guard page, and returns
 * that copy (n = 0: the returned pointer is the guard page itself). Aborts
 * when mmap fails. Free with akv_guard_free(); one buffer per struct. */
const uint8_t *akv_guard_put(struct akv_guard *g, const void *data, size_t n);
/* Unmaps the buffer (a zeroed struct is a no-op). */
void akv_guard_free(struct akv_guard *g);

#endif

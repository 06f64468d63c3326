#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* see guard.h */
const uint8_t *
akv_guard_put(struct akv_guard *g, const void *data, size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data_pages = (n + page - 1) / page;
	uint8_t *guard;

	g->map_len = (data_pages + 1) * page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED) {
		perror("akv_guard_put: mmap");
		abort();
	}
	guard = g->map + data_pages * page;
	if (mprotect(guard, page, PROT_NONE)) {
		perror("akv_guard_put: mprotect");
		abort();
	}
	if (n)
		memcpy(guard - n, data, n);
	return guard - n;
}

/* see guard.h */
void
akv_guard_free(struct akv_guard *g)
{
	if (g->map && g->map != MAP_FAILED)
		munmap(g->map, g->map_len);
	g->map = NULL;
	g->map_len = 0;
}

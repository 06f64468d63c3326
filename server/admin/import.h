/*
 * import.h - bulk subscriber import from CSV (csv.h format) into the store,
 * shared by `akavs sub import` and `akavs-bench import`.
 *
 * Steps: parse every line (on up to 4 threads for files of 4096 records or
 * more; reports stay in line order), report each bad one, find duplicate
 * IMPIs and IMPUs inside the file (every occurrence after the first is bad)
 * and ones already in the store, then insert the good records sorted by
 * IMPI in ONE store transaction (akv_store_add_batch): all or nothing, one
 * fsync, also across a crash. By default any bad line means nothing is
 * imported; with skip_bad the good lines are imported and the bad ones
 * reported.
 */
#ifndef AKV_SERVER_ADMIN_IMPORT_H
#define AKV_SERVER_ADMIN_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#ifdef __cplusplus
extern "C" {
#endif

struct akv_import_opts {
	int skip_bad;	/* import the good lines even if some are bad */
	int dry_run;	/* parse and check only, write nothing */
	/* Called once per bad line, in line order (line numbers count from 1,
	 * the header being line 1). `why` never contains key material. */
	void (*report)(void *arg, size_t line, const char *why);
	void *arg;
};

struct akv_import_result {
	size_t records;		/* data lines (blank and '#' lines excluded) */
	size_t imported;	/* subscribers written (0 on failure / dry run) */
	size_t bad;		/* lines reported */
	double parse_s, check_s, write_s;	/* wall time of each phase */
};

/* Imports the CSV text buf[0..len). Returns 0 when nothing was bad (or
 * skip_bad was set and the good lines were written), AKV_EINVAL when bad
 * lines made an all-or-nothing import write nothing, or a store error
 * (AKV_EMAP_FULL, ...: nothing written, detail in akv_store_errdetail()). */
int akv_import_buf(struct akv_store *st, const char *buf, size_t len,
		   const struct akv_import_opts *o, struct akv_import_result *res);

/* Reads `path` ("-" = stdin) and imports it. -errno if it cannot be read. */
int akv_import_file(struct akv_store *st, const char *path, const struct akv_import_opts *o,
		    struct akv_import_result *res);

#ifdef __cplusplus
}
#endif
#endif

/*
 * admin.h - helpers shared by the provisioning commands (`akavs sub ...`,
 * `akavs db ...`): store opening with operator-facing errors, sizes, JSON.
 */
#ifndef AKV_SERVER_ADMIN_ADMIN_H
#define AKV_SERVER_ADMIN_ADMIN_H

#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit statuses of the provisioning commands. */
#define AKV_EXIT_OK	 0
#define AKV_EXIT_FAIL	 1	/* the operation failed (message on stderr) */
#define AKV_EXIT_USAGE	 2	/* bad command line */
#define AKV_EXIT_PARTIAL 3	/* import --skip-bad: some lines were skipped */

/* Opens the store for command `who` ("sub add"), printing a full message on
 * failure ("akavs sub add: cannot open store DIR: <text>: <detail>").
 * flags: AKV_STORE_* open flags. key_file: the master key file of a sealed
 * store (--master-key-file), or NULL; the key is wiped once the store is
 * open. Returns NULL on failure. */
struct akv_store *akv_admin_open(const char *who, const char *dir, uint64_t map_size,
				 unsigned flags, const char *key_file);

/* Reads master key file `path` for command `who`, printing "akavs <who>:
 * master key file PATH: <reason>" on failure. Returns 0 or -1 (key zeroed). */
int akv_admin_master_key(const char *who, const char *path, uint8_t *key);

/* Prints "akavs <who>: <what>: <store detail, or akv_strerror(err)>". */
void akv_admin_err(const char *who, const char *what, int err);

/* Parses "4096", "512M", "4G", "1T" (binary units). Returns 0 or -1. */
int akv_admin_size(const char *s, uint64_t *out);

/* Parses the --map-size argument of command `who` ("sub") with
 * akv_admin_size(), printing "akavs <who>: bad --map-size ..." when it is
 * not a size. Returns 0 or -1. */
int akv_admin_map_size_arg(const char *who, const char *arg, uint64_t *out);

/* Writes s as a JSON string literal (quotes included) to f. */
void akv_admin_json_str(FILE *f, const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif

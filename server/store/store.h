/*
 * store.h - the LMDB subscriber store: the durable truth of akavs.
 *
 * One LMDB environment in a directory (default AKV_STORE_DEFAULT_DIR) holds
 * these named databases (schema AKV_STORE_SCHEMA):
 *
 *   meta     "schema" -> u32 LE   schema version of the store
 *            "gen"    -> u64 LE   provisioning generation (see "Changes")
 *            "trim"   -> u64 LE   highest generation trimmed from `changes`
 *            "map"    -> u64 LE   map size last asked for (written to persist it)
 *            "seal"   -> u8 1 || salt[16] || check[16]: present only in a
 *                        sealed store (K/OPc encrypted at rest, see "Sealing")
 *   sub      IMPI -> subscriber record (compact binary, version byte first)
 *   impu     IMPU -> IMPI (each IMPU belongs to at most one IMPI)
 *            "boot"   -> u64 LE   serving runs begun (akv_store_boot_begin)
 *   sqn      IMPI -> u64 LE seq_reserved (engine-owned SQN reservation), then,
 *            since boot windows, u64 LE boot || u64 LE window (24 bytes; an
 *            8-byte record is boot 0, window 0). See "Boot windows".
 *   changes  u64 BE generation -> u64 LE wall-clock ms || IMPI
 *            (an empty IMPI means "everything may have changed")
 *
 * Several processes may use one store at once (LMDB's lock file): a running
 * `akavs serve` and the `akavs sub ...` / `akavs db ...` commands. Every write
 * is one LMDB transaction: it is applied whole or not at all, also across a
 * crash. Write transactions are serialised by LMDB (one writer at a time,
 * across processes); readers never block and see a consistent snapshot.
 *
 * Errors: 0 on success; AKV_E* from server/core/err.h (AKV_EEXISTS,
 * AKV_ENOTFOUND, AKV_EMAP_FULL, AKV_ESCHEMA, AKV_ESTORE, AKV_EINVAL) or
 * -errno. After a failure, akv_store_errdetail() gives a one-line explanation
 * naming the identity or LMDB cause (never a key). On AKV_EMAP_FULL the
 * transaction was aborted and nothing was written; the store stays usable
 * (delete records, or reopen with a larger akv_store_opts.map_size, e.g.
 * `akavs db init --map-size 8G`).
 *
 * Secrets: struct akv_sub carries K and OPc. Callers wipe their copies with
 * akv_store_sub_wipe(); the store wipes the encoding buffers it uses. No
 * function here logs, and no error detail contains K or OPc.
 *
 * Sealing (DESIGN.md "Security", store/seal.h): a store opened with
 * akv_store_opts.master_key keeps every record's K || OPc encrypted
 * (AES-256-GCM, key derived from the master key by HKDF; the IMPI and the
 * rest of the record are authenticated with it). The master key is never
 * stored; meta "seal" holds a salt and check bytes, so opening a sealed store
 * without a key or with the wrong one is refused at open (AKV_EKEY, detail
 * says which), and so is opening a plaintext store with a key (the detail
 * says how to convert: akv_store_seal). A record whose seal does not open
 * is an AKV_ESTORE for that IMPI only. Plaintext stores keep the schema-1
 * layout unchanged. Only the file is sealed: akv_sub and the engine's cache
 * hold K/OPc in clear, as Milenage needs them.
 *
 * Thread safety: a struct akv_store may be shared by all threads of the
 * process (it is opened with MDB_NOTLS). A struct akv_store_reader belongs to
 * one thread at a time (it may move between threads between calls).
 */
#ifndef AKV_SERVER_STORE_STORE_H
#define AKV_SERVER_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "aka/eng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

#define AKV_STORE_DEFAULT_DIR	  "./akavs-db"	/* relative: works in a fresh checkout */
#define AKV_STORE_SCHEMA	  1u		/* schema version this code writes */
#define AKV_STORE_DEFAULT_MAP	  (4ull << 30)	/* 4 GiB map for a new store (sparse) */
#define AKV_STORE_DEFAULT_READERS 512u		/* LMDB reader slots (threads x readers) */
#define AKV_STORE_MAX_IMPUS	  16u		/* IMPUs per subscriber */
#define AKV_STORE_SQN_MAX	  ((1ull << 48) - 1)	/* SQN is 48 bits (TS 33.102 C.1) */
/* Allowed schemes when the operator gives none: AKAv1-MD5 and AKAv2-MD5. */
#define AKV_STORE_SCHEMES_DEFAULT \
	(AKV_SCHEME_BIT(AKV_SCHEME_AKAV1_MD5) | AKV_SCHEME_BIT(AKV_SCHEME_AKAV2_MD5))
#define AKV_STORE_SCHEMES_VALID AKV_STORE_SCHEMES_DEFAULT
/* Change entries older than this are trimmed (a running server polls every
 * ~100 ms; one that fell further behind is told to drop its whole cache). */
#define AKV_STORE_CHANGES_KEEP_MS (10u * 60u * 1000u)
/* An add_batch of more than this many records logs one "everything changed"
 * entry instead of one entry per IMPI. */
#define AKV_STORE_CHANGES_BULK	  1000u

/* akv_store_opts.flags */
#define AKV_STORE_RDONLY   0x1u	/* open read-only (MDB_RDONLY); writes fail with -EACCES */
#define AKV_STORE_NOCREATE 0x2u	/* fail with -ENOENT when DIR holds no store yet */
/* No fsync at commit (MDB_NOSYNC): for tests and bulk tools that call
 * akv_store_sync() at the end. A crash may lose (never corrupt) the last
 * commits, so the engine's SQN guarantee does NOT hold: never for serving. */
#define AKV_STORE_NOSYNC   0x4u

/* akv_store_put() modes */
enum akv_store_put_mode {
	AKV_STORE_ADD = 1,	/* create; AKV_EEXISTS if the IMPI exists */
	AKV_STORE_SET = 2,	/* replace; AKV_ENOTFOUND if the IMPI does not exist */
};

/* ==== Types ==== */

struct akv_store;		/* opaque: one open environment */
struct akv_store_reader;	/* opaque: a reusable read transaction */

struct akv_store_opts {
	/* Map size in bytes. 0: AKV_STORE_DEFAULT_MAP for a new store, the
	 * size recorded in the store otherwise. A larger value grows the map
	 * (persistently, unless RDONLY); the map never shrinks. */
	uint64_t map_size;
	unsigned max_readers;	/* 0: AKV_STORE_DEFAULT_READERS */
	unsigned flags;		/* AKV_STORE_RDONLY | AKV_STORE_NOCREATE */
	/* AKV_MASTER_KEY_LEN bytes (store/seal.h), or NULL: the store must be
	 * sealed under it (a new store is created sealed), or plaintext when
	 * NULL. Borrowed for the call: the caller wipes it afterwards. */
	const uint8_t *master_key;
};

/* A subscriber. Strings are length-counted, not NUL-terminated by contract
 * (akv_store_get() does NUL-terminate them for convenience). ~4.4 KB: keep it
 * off hot loops' stacks where possible; only the used bytes are copied. */
struct akv_sub {
	uint16_t impi_len;	/* 1..AKV_ID_MAX */
	uint8_t nimpu;		/* 0..AKV_STORE_MAX_IMPUS */
	uint8_t schemes;	/* AKV_SCHEME_BIT() mask, non-zero subset of SCHEMES_VALID */
	uint8_t amf[2];
	uint16_t fail_limit;	/* consecutive-failure limit override; 0 = use config */
	uint64_t sqn;		/* operator SQN (48 bits): the initial SQN, or one an
				 * operator sets; the engine issues above
				 * max(sqn, seq_reserved) */
	/* Engine-owned durable reservation (the `sqn` DB), 48-bit SQN space:
	 * every SQN the engine has issued, or may issue before its next
	 * reservation, is <= seq_reserved. 0 = none. Filled by get/iterate;
	 * IGNORED by put (admin writes never change it; only
	 * akv_store_seq_reserve() does). Kept when a subscriber is deleted, so a
	 * re-added IMPI never gets an SQN again. */
	uint64_t seq_reserved;
	/* ... as the `sqn` record holds it (see "Boot windows"): seq_reserved is
	 * akv_store_seq_in_boot() of these at the latest run begun */
	uint64_t seq_rec;	/* the reservation written */
	uint64_t seq_boot;	/* the serving run that wrote it (0: none) */
	uint64_t seq_window;	/* SQN values each later run may use on top of it */
	uint8_t k[16];		/* secret */
	uint8_t opc[16];	/* secret (OP is converted with akv_mil_opc on entry) */
	uint8_t impu_len[AKV_STORE_MAX_IMPUS];	/* 1..AKV_ID_MAX each */
	char impi[AKV_ID_MAX + 1];
	char impu[AKV_STORE_MAX_IMPUS][AKV_ID_MAX + 1];
};

/* One durable reservation for akv_store_seq_reserve(). `impi` is borrowed
 * for the call. */
struct akv_store_seq {
	const char *impi;
	size_t impi_len;
	uint64_t seq_reserved;	/* new value (48-bit SQN space, see akv_sub) */
	uint64_t boot;		/* the current serving run (akv_store_boot_begin), 0: none */
	uint64_t window;	/* SQN values each later run may use above it, 0: none */
};

/*
 * Boot windows. A subscriber's first vector after a restart used to need a
 * new durable reservation, one commit (fsync) per batch until every active
 * subscriber had one: a slow start after every restart, and every request
 * of such a batch waited for the disk. Instead, `akavs serve` durably counts
 * its runs (meta "boot", one commit at start, before any vector), and a
 * reservation written in run w with window W stands, in each later run b,
 * for every SQN up to seq_reserved + (b - w) * W (akv_store_seq_in_boot).
 * Run b may thus issue above seq_reserved + (b - 1 - w) * W (all earlier
 * runs stayed at or below it) up to seq_reserved + (b - w) * W without
 * writing: no run reaches into another's window, and a crash in run b moves
 * the next run above all of b's. A subscriber idle over k runs starts k * W
 * higher (TS 33.102 C.2.2: within Δ for any plausible number of restarts;
 * the engine's seq_reserve is W in SEQ steps). Run 0 means "no windows":
 * every value is seq_reserved itself, as before.
 */
static inline uint64_t
akv_store_seq_in_boot(uint64_t seq_reserved, uint64_t seq_boot, uint64_t window, uint64_t boot)
{
	uint64_t runs, room;

	if (!boot || !window || boot <= seq_boot)
		return seq_reserved;
	runs = boot - seq_boot;
	room = AKV_STORE_SQN_MAX - seq_reserved;
	/* saturate at the top of the 48-bit space: issuing then stops there */
	return runs > room / window ? AKV_STORE_SQN_MAX : seq_reserved + runs * window;
}

struct akv_store_stats {
	uint32_t schema;	/* schema version in the store */
	uint64_t subscribers;	/* records in `sub` */
	uint64_t impus;		/* records in `impu` */
	uint64_t sqn_records;	/* records in `sqn` (may exceed subscribers: kept on delete) */
	uint64_t changes;	/* records in `changes` (not yet trimmed) */
	uint64_t generation;	/* current provisioning generation */
	uint64_t map_size;	/* bytes mapped (the store's maximum size) */
	uint64_t map_used;	/* bytes of pages in use (last page + 1) x page size */
	uint64_t data_bytes;	/* pages of sub+impu+sqn+changes+meta x page size */
	uint32_t page_size;
	uint32_t max_readers, readers_used;
	uint64_t commits;	/* write commits (= fsyncs) by THIS process since open */
	uint64_t seq_commits;	/* of which akv_store_seq_reserve() commits */
	uint32_t sealed;	/* 1: K/OPc encrypted at rest */
};

/* Called by akv_store_iterate() for each subscriber in IMPI byte order. `sub`
 * is valid only during the call (wiped after). Return 0 to go on, anything
 * else stops the iteration and is returned by akv_store_iterate(). */
typedef int (*akv_store_iter_fn)(void *arg, const struct akv_sub *sub);

/* Called by akv_store_changes_since() for each IMPI added, changed or
 * deleted after the given generation, oldest first (an IMPI may repeat).
 * impi == NULL (len 0) means "any subscriber may have changed" (bulk import,
 * or the history the caller needs was trimmed): drop every cached subscriber.
 * Return 0 to go on; non-zero stops and is returned. */
typedef int (*akv_store_change_fn)(void *arg, const char *impi, size_t len);

/* Produces record i (0..n-1) of akv_store_add_batch() into *out (the store
 * wipes *out after use). Return 0, or non-zero to abort the batch (returned). */
typedef int (*akv_store_next_fn)(void *arg, size_t i, struct akv_sub *out);

/* ==== Lifecycle ==== */

/* Opens (and, unless AKV_STORE_NOCREATE/RDONLY, creates: directory mode 0700,
 * files 0600) the store in `dir` (NULL: AKV_STORE_DEFAULT_DIR). `opts` may be
 * NULL (defaults). A new store gets schema AKV_STORE_SCHEMA. A store of an
 * older schema is migrated if a migration exists, else refused; a newer one
 * is refused: AKV_ESCHEMA with the versions in akv_store_errdetail(). Returns
 * the handle, or NULL with *err set (AKV_ESCHEMA, AKV_ESTORE, -ENOENT, -EACCES,
 * ...). Not thread-safe against other calls on the same handle. */
struct akv_store *akv_store_open(const char *dir, const struct akv_store_opts *opts, int *err);

/* Closes the store. All readers must have been freed. NULL is a no-op. */
void akv_store_close(struct akv_store *st);

/* A reusable read transaction (mdb_txn_reset/renew), for a thread that reads
 * often: no reader-slot allocation per read. Returns NULL with *err set. */
struct akv_store_reader *akv_store_reader_new(struct akv_store *st, int *err);
/* Frees a reader (ends its transaction if begun). NULL is a no-op. */
void akv_store_reader_free(struct akv_store_reader *r);

/* Read transactions `r` has begun (renewed) since it was created: lets tests
 * check that a path reads nothing from LMDB. */
uint64_t akv_store_reader_txns(const struct akv_store_reader *r);

/* Registration-state generation of this open store (in memory only, starts
 * at 0). The Cx code (server/aka/cx.c) of a worker that commits registration
 * records of IMPIs another worker's engine caches bumps it after the commit;
 * every engine reads it at the start of each Cx batch and stops trusting its
 * cached registration states when it moved. Thread-safe (atomic). */
uint64_t akv_store_reg_gen(struct akv_store *st);
void akv_store_reg_gen_bump(struct akv_store *st);

/* ==== Reads ==== */

/* Optional explicit snapshot: between begin and end, every read through `r`
 * sees the same snapshot and costs no renew. Without begin, each read renews
 * and resets by itself. Do not hold a snapshot long (it pins old pages:
 * the file grows while writers run). begin returns 0 or an error. */
int akv_store_reader_begin(struct akv_store_reader *r);
void akv_store_reader_end(struct akv_store_reader *r);
/* The snapshot's transaction between akv_store_reader_begin() and _end(),
 * for reads of the caller's own databases in the same snapshot (cx.c's
 * registration state); NULL when no snapshot is held. */
MDB_txn *akv_store_reader_txn(struct akv_store_reader *r);

/* Copies subscriber `impi` (len bytes) into *out, including seq_reserved.
 * Returns 0, AKV_ENOTFOUND, AKV_EINVAL (bad length), or AKV_ESTORE (record
 * does not decode: corruption). The fast path for workers. */
int akv_store_reader_get(struct akv_store_reader *r, const char *impi, size_t len,
			 struct akv_sub *out);

/* Which IMPI owns `impu`: copies it into impi_out (NUL-terminated) and its
 * length into *impi_len. Returns 0, AKV_ENOTFOUND or AKV_EINVAL. */
int akv_store_reader_impu(struct akv_store_reader *r, const char *impu, size_t len,
			  char impi_out[AKV_ID_MAX + 1], size_t *impi_len);

/* Same as the reader functions, with a one-shot read transaction. */
int akv_store_get(struct akv_store *st, const char *impi, size_t len, struct akv_sub *out);
int akv_store_impu_owner(struct akv_store *st, const char *impu, size_t len,
			 char impi_out[AKV_ID_MAX + 1], size_t *impi_len);

/* Calls fn for every subscriber in IMPI order, in one snapshot. Returns 0,
 * fn's non-zero value, or an error (AKV_ESTORE on a record that does not
 * decode). */
int akv_store_iterate(struct akv_store *st, akv_store_iter_fn fn, void *arg);

/* Number of subscribers. Returns 0 or an error. */
int akv_store_count(struct akv_store *st, uint64_t *n);

/* ==== Writes (each one LMDB transaction: all or nothing, one fsync) ==== */

/* Adds or replaces a subscriber (mode), keeping the IMPU index exact: on SET,
 * IMPUs no longer listed are released and new ones claimed. An IMPU owned by
 * another IMPI -> AKV_EEXISTS (detail names both). Validates the record:
 * lengths, no control characters in identities, no repeated IMPU, sqn <= 2^48
 * - 1, schemes a non-zero valid mask -> AKV_EINVAL. sub->seq_reserved is
 * ignored. Bumps the generation and logs a change. */
int akv_store_put(struct akv_store *st, const struct akv_sub *sub, enum akv_store_put_mode mode);

/* Deletes subscriber `impi` and its IMPU index entries (the SQN reservation
 * is kept, see akv_sub). AKV_ENOTFOUND if absent. Logs a change. */
int akv_store_del(struct akv_store *st, const char *impi, size_t len);

/* Adds n new subscribers produced by next() in ONE transaction: all or
 * nothing. Any IMPI or IMPU that already exists (in the store or earlier in
 * the batch) fails the batch with AKV_EEXISTS; a record that does not
 * validate fails it with AKV_EINVAL. On failure *bad (if non-NULL) is the
 * index of the offending record, or n when the failure is not a record's
 * (AKV_EMAP_FULL, I/O). Records are inserted in the order given: sorting them
 * by IMPI first makes big imports much faster. Bumps the generation; more
 * than AKV_STORE_CHANGES_BULK records log one "everything changed" entry. */
int akv_store_add_batch(struct akv_store *st, size_t n, akv_store_next_fn next, void *arg,
			size_t *bad);

/* Engine: durably records seq_reserved for n subscribers in ONE write
 * transaction (one commit, one fsync). A reservation only moves up: a value
 * at or below the stored one leaves it unchanged (no error). Entries for an
 * IMPI that is not (or no longer) provisioned are written too (harmless,
 * kept like on delete).
 * Does not bump the generation. Returns 0 or an error (then none is written).
 * Safe to call from any thread (LMDB serialises writers). */
int akv_store_seq_reserve(struct akv_store *st, const struct akv_store_seq *u, size_t n);

/* Serving: starts a new run, durably (one commit), before any vector of it
 * is issued: *boot = the new run's number (1, 2, ...). Returns 0 or an
 * error (then no vector may be issued with boot windows). */
int akv_store_boot_begin(struct akv_store *st, uint64_t *boot);

/* ==== Changes (live provisioning) ==== */

/* The current generation (0 for a store never written). A server records it
 * before it starts caching, then polls akv_store_changes_since(). */
int akv_store_generation(struct akv_store *st, uint64_t *gen);

/* Calls fn for each change with generation > since (see akv_store_change_fn)
 * and sets *last to the newest generation seen (pass it as `since` next
 * time; unchanged store -> *last = since, fn not called). If entries after
 * `since` were already trimmed, fn(arg, NULL, 0) is called first. Cheap when
 * nothing changed (one read of meta). Returns 0, fn's non-zero value, or an
 * error. */
int akv_store_changes_since(struct akv_store *st, uint64_t since, akv_store_change_fn fn,
			    void *arg, uint64_t *last);

/* ==== Maintenance ==== */

/* Flushes all commits to disk (mdb_env_sync, forced). Returns 0 or an error. */
int akv_store_sync(struct akv_store *st);

/* Fills *out. `commits` counts successful write commits of this process. */
int akv_store_stats(struct akv_store *st, struct akv_store_stats *out);

/* Verifies every record decodes and validates, every IMPU index entry points
 * to a subscriber that lists it, every subscriber's IMPUs are indexed to it,
 * and meta is sane. Calls report(arg, text) once per problem found (text
 * names the identity and the fault, never a key). Returns 0 when consistent,
 * AKV_ESTORE when problems were found (*nproblems set if non-NULL), or
 * another error if the check could not run. */
int akv_store_check(struct akv_store *st, void (*report)(void *arg, const char *text), void *arg,
		    uint64_t *nproblems);

/* ==== Sealing (store_seal.c) ====
 *
 * Each converts every record in ONE write transaction (all or nothing), then
 * the caller should run akv_store_compact(): LMDB keeps the replaced pages
 * (old plaintext, or ciphertext under the old key) in the file's free space
 * until reused. All refuse (AKV_EBUSY, detail names a PID) while another
 * process has the store open for reading (a running `akavs serve` would keep
 * reading records with its old key): stop it first. Not thread-safe against
 * other calls on the same handle. */

/* 1 when the store is sealed (K/OPc encrypted at rest), else 0. */
int akv_store_sealed(const struct akv_store *st);

/* Plaintext store (opened without a key) -> sealed under master_key. */
int akv_store_seal(struct akv_store *st, const uint8_t *master_key);

/* Sealed store (opened with its key) -> plaintext. */
int akv_store_unseal(struct akv_store *st);

/* Sealed store (opened with its key) -> sealed under new_master_key (a new
 * salt too, hence a new record key even for the same master key). */
int akv_store_rekey(struct akv_store *st, const uint8_t *new_master_key);

/* Rewrites data.mdb without its free pages (LMDB compacting copy to a
 * temporary file in the store directory, fsync, rename over data.mdb), so
 * nothing of replaced records stays in the file. Same exclusivity as above.
 * The handle must be closed right after (it still maps the old file).
 * Returns 0 or an error (data.mdb is then unchanged). */
int akv_store_compact(struct akv_store *st);

/* ==== Sibling modules' databases ==== */

/* The LMDB environment, for modules that keep their own named databases in
 * the same store (e.g. Cx registration state). Borrowed: valid until
 * akv_store_close(). The caller runs its own transactions on it through
 * akv_store_txn_begin() (below), with MDB_NOTLS semantics, and must not
 * open the names "meta", "sub",
 * "impu", "sqn", "changes". Map-full and other LMDB codes can be turned into
 * AKV_E* with akv_store_mdb_err(). */
MDB_env *akv_store_env(struct akv_store *st);

/* Transactions on akv_store_env() for sibling modules. Use these instead of
 * mdb_txn_begin/commit/abort: another process may grow the map, and adopting
 * the new size (on MDB_MAP_RESIZED, done here) is only safe while no
 * transaction of this process is live, so every transaction is registered.
 * begin: flags 0 (write) or MDB_RDONLY; returns 0 or an AKV_E* / -errno.
 * commit: is_write = 1 counts one commit (fsync) in akv_store_stats; returns
 * 0 or an error (the txn is gone either way). abort: always succeeds. */
int akv_store_txn_begin(struct akv_store *st, unsigned flags, MDB_txn **txn);
int akv_store_txn_commit(struct akv_store *st, MDB_txn *txn, int is_write);
void akv_store_txn_abort(struct akv_store *st, MDB_txn *txn);

/* Opens (creating if needed, with mdb_flags | MDB_CREATE, e.g. MDB_DUPSORT)
 * the named database `name` and returns its handle in *dbi, usable in any
 * later transaction on akv_store_env(). Serialised internally (LMDB forbids
 * concurrent mdb_dbi_open). Reserved names -> AKV_EINVAL. Returns 0 or an
 * error. At most 32 named databases exist in a store in total. */
int akv_store_dbi_open(struct akv_store *st, const char *name, unsigned mdb_flags, MDB_dbi *dbi);

/* Maps an LMDB return code to akv's: 0 -> 0, MDB_NOTFOUND -> AKV_ENOTFOUND,
 * MDB_KEYEXIST -> AKV_EEXISTS, MDB_MAP_FULL -> AKV_EMAP_FULL, errno values
 * -> -errno, other MDB_* -> AKV_ESTORE (also sets the detail text). */
int akv_store_mdb_err(int rc);

/* Write commits (= fsyncs) of this process since open: one atomic load, for
 * STATS (akv_store_stats reads the databases too). */
uint64_t akv_store_commit_count(struct akv_store *st);

/* ==== Helpers ==== */

/* The detail of the last failure on this thread ("" if none): e.g. "IMPU
 * sip:a@x belongs to IMPI b@x", "store schema v2 is newer than this akavs
 * (v1)". Static thread-local buffer, overwritten by the next failure. */
const char *akv_store_errdetail(void);

/* Wipes K and OPc of *s (akv_wipe). */
void akv_store_sub_wipe(struct akv_sub *s);

/* Checks a record the way akv_store_put() does. Returns 0 or AKV_EINVAL
 * (with the reason in akv_store_errdetail()). */
int akv_store_sub_validate(const struct akv_sub *s);

#ifdef __cplusplus
}
#endif
#endif

/*
 * wrk.h - a worker: one pinned thread owning one AKA engine shard
 * (DESIGN.md "Data flow"). The front end pushes request pointers
 * (struct akv_eng_req *) into the worker's input ring and calls
 * akv_wrk_notify(); the worker runs whatever is queued as one batch
 * (never waiting for more to fill SIMD lanes), pushes the same pointers,
 * filled, into its output ring and wakes the front end through the wake
 * it was given. Idle workers block on their eventfd (no busy spin) and
 * wake every ~100 ms for akv_eng_tick().
 *
 * The registrar (akv_wrk_start_registrar) is the same loop around the
 * registrar engine (eng.h): it takes the Cx requests that read or write
 * registration state (SAR, UAR, LIR) of every IMPI. Their commits wait for
 * the disk (fsync, milliseconds; a storm of first registrations commits
 * hundreds of times a second); on a thread of its own that wait holds up
 * no challenge, MAR or VERIFY queued behind it at a worker.
 *
 * Ownership: request objects stay owned by the front end (it allocated
 * them); the worker only fills them between pop and push. The engine is
 * created, used and freed (with its final akv_eng_flush) on the worker
 * thread.
 */
#ifndef AKV_SERVER_WRK_WRK_H
#define AKV_SERVER_WRK_WRK_H

#include "aka/eng.h"
#include "disp/spsc.h"

#ifdef __cplusplus
extern "C" {
#endif

struct akv_cfg;
struct akv_store;
struct akv_wrk; /* opaque */

/* ==== Lifecycle ==== */

/* Starts worker `shard` of cfg->workers, pinned to `cpu` (-1: not pinned),
 * serving from `st`; answers are announced on `fe_wake`. `ring_cap` (a power
 * of two) must be at least the most requests the front end ever has in
 * flight, so neither ring can fill up. Waits until the engine is created.
 * Returns NULL with *err set (the engine's error, -errno) on failure.
 * cfg, st and fe_wake must outlive the worker. */
struct akv_wrk *akv_wrk_start(const struct akv_cfg *cfg, struct akv_store *st, unsigned shard,
			      int cpu, size_t ring_cap, struct akv_spsc_wake *fe_wake, int *err);
/* Starts the registrar (see above), pinned to `cpu` (-1: not pinned); the
 * rest as akv_wrk_start(). */
struct akv_wrk *akv_wrk_start_registrar(const struct akv_cfg *cfg, struct akv_store *st, int cpu,
					size_t ring_cap, struct akv_spsc_wake *fe_wake, int *err);

/* Asks the worker to finish: it runs what is queued, flushes SQN state
 * (akv_eng_flush via akv_eng_free) and exits; then joins and frees it.
 * Returns the flush result (0 or an error). */
int akv_wrk_stop(struct akv_wrk *w);

/* ==== Operations (front-end thread) ==== */

struct akv_spsc *akv_wrk_inq(struct akv_wrk *w);  /* front end pushes */
struct akv_spsc *akv_wrk_outq(struct akv_wrk *w); /* front end pops */
/* Wakes the worker if it sleeps; call after pushing a batch. */
void akv_wrk_notify(struct akv_wrk *w);

/* ==== Accessors (any thread) ==== */

/* The engine counters as of the worker's last batch (relaxed snapshot). */
void akv_wrk_stats(const struct akv_wrk *w, struct akv_eng_stats *out);
/* Requests run and batches run since start. */
void akv_wrk_counts(const struct akv_wrk *w, uint64_t *reqs, uint64_t *batches);
int akv_wrk_cpu(const struct akv_wrk *w);

#ifdef __cplusplus
}
#endif
#endif

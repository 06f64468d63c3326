/*
 * spsc.h - single-producer/single-consumer rings of pointers, and the
 * eventfd wake-up that lets their consumer sleep (DESIGN.md "Data flow").
 *
 * The front end pushes batches of request pointers into one ring per worker
 * and the worker pushes the same pointers back, filled, through a second
 * ring. Exactly one thread may push and one (other) thread may pop a given
 * ring; neither takes a lock. Push publishes the items with a release store
 * of the head, pop acquires it, so the consumer sees everything the producer
 * wrote to the pointed-to objects before pushing them.
 *
 * Sleeping without lost wake-ups (struct akv_spsc_wake): the consumer calls
 * akv_spsc_wake_prepare(), re-checks its rings, and only then blocks on the
 * eventfd (or keeps a read armed on it); the producer calls
 * akv_spsc_wake_notify() after pushing, which writes the eventfd only when
 * the consumer announced it may sleep. Both sides use seq_cst fences, so at
 * least one of them sees the other's store (Dekker).
 */
#ifndef AKV_SERVER_DISP_SPSC_H
#define AKV_SERVER_DISP_SPSC_H

#include <stdatomic.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AKV_SPSC_CACHELINE 64

/* Embed it (caller-owned); fields are private. */
struct akv_spsc {
	_Alignas(AKV_SPSC_CACHELINE) _Atomic size_t head; /* written by producer */
	size_t tail_seen;				  /* producer's copy of tail */
	_Alignas(AKV_SPSC_CACHELINE) _Atomic size_t tail; /* written by consumer */
	size_t head_seen;				  /* consumer's copy of head */
	_Alignas(AKV_SPSC_CACHELINE) size_t mask;
	void **slot;
};

struct akv_spsc_wake {
	_Atomic int sleeping; /* consumer may be blocked / waiting on efd */
	int efd;	      /* eventfd, non-blocking, close-on-exec */
};

/* ==== Lifecycle ==== */

/* cap: a power of two >= 2. Returns 0 or AKV_EINVAL. Not thread-safe. */
int akv_spsc_init(struct akv_spsc *q, size_t cap);
void akv_spsc_fini(struct akv_spsc *q);

/* Creates the eventfd. Returns 0 or -errno. */
int akv_spsc_wake_init(struct akv_spsc_wake *w);
void akv_spsc_wake_fini(struct akv_spsc_wake *w);

/* ==== Operations ==== */

/* Producer: pushes up to n items in order; returns how many fit (0..n). */
size_t akv_spsc_push(struct akv_spsc *q, void *const *items, size_t n);
/* Consumer: pops up to max items in order; returns how many (0 if empty). */
size_t akv_spsc_pop(struct akv_spsc *q, void **items, size_t max);
/* Items queued; exact for the consumer, a lower bound for the producer's view. */
size_t akv_spsc_count(struct akv_spsc *q);
size_t akv_spsc_cap(const struct akv_spsc *q);

/* Consumer: announce "about to sleep"; re-check the rings afterwards. */
void akv_spsc_wake_prepare(struct akv_spsc_wake *w);
/* Consumer: awake again (after the wait, or when the re-check found work). */
void akv_spsc_wake_done(struct akv_spsc_wake *w);
/* Consumer: drains the eventfd counter (non-blocking). */
void akv_spsc_wake_clear(struct akv_spsc_wake *w);
/* Producer, after a push: wakes the consumer if it may be sleeping. */
void akv_spsc_wake_notify(struct akv_spsc_wake *w);
/* Blocks until notified or timeout_ms passes (-1: no timeout); clears the
 * counter. Returns 1 if notified, 0 on timeout, -errno on failure. */
int akv_spsc_wake_wait(struct akv_spsc_wake *w, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif

/*
 * spsc.c - lock-free SPSC pointer rings and eventfd wake-ups (see spsc.h).
 * Indices run freely (size_t wraps after 2^64 pushes); slot = index & mask.
 * Each side caches the other side's index and reloads it only when the
 * cached value says full/empty, so the cache lines bounce once per batch.
 */
#include "spsc.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "err.h"
#include "mem.h"

/* see spsc.h */
int
akv_spsc_init(struct akv_spsc *q, size_t cap)
{
	if (cap < 2 || (cap & (cap - 1)))
		return AKV_EINVAL;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	q->tail_seen = 0;
	q->head_seen = 0;
	q->mask = cap - 1;
	q->slot = akv_calloc(cap, sizeof(void *));
	return 0;
}

/* see spsc.h */
void
akv_spsc_fini(struct akv_spsc *q)
{
	akv_free(q->slot);
	q->slot = NULL;
}

/* see spsc.h */
size_t
akv_spsc_cap(const struct akv_spsc *q)
{
	return q->mask + 1;
}

/* see spsc.h */
size_t
akv_spsc_push(struct akv_spsc *q, void *const *items, size_t n)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t room = q->mask + 1 - (head - q->tail_seen);

	if (room < n) {
		/* acquire: the consumer is done reading the slots it released */
		q->tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire);
		room = q->mask + 1 - (head - q->tail_seen);
	}
	if (n > room)
		n = room;
	for (size_t i = 0; i < n; i++)
		q->slot[(head + i) & q->mask] = items[i];
	/* release: slots (and what they point to) are visible before the head */
	atomic_store_explicit(&q->head, head + n, memory_order_release);
	return n;
}

/* see spsc.h */
size_t
akv_spsc_pop(struct akv_spsc *q, void **items, size_t max)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t avail = q->head_seen - tail;

	if (avail < max) {
		q->head_seen = atomic_load_explicit(&q->head, memory_order_acquire);
		avail = q->head_seen - tail;
	}
	if (max > avail)
		max = avail;
	for (size_t i = 0; i < max; i++)
		items[i] = q->slot[(tail + i) & q->mask];
	atomic_store_explicit(&q->tail, tail + max, memory_order_release);
	return max;
}

/* see spsc.h */
size_t
akv_spsc_count(struct akv_spsc *q)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);

	return head - tail;
}

/* see spsc.h */
int
akv_spsc_wake_init(struct akv_spsc_wake *w)
{
	atomic_init(&w->sleeping, 0);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return w->efd < 0 ? -errno : 0;
}

/* see spsc.h */
void
akv_spsc_wake_fini(struct akv_spsc_wake *w)
{
	if (w->efd >= 0)
		close(w->efd);
	w->efd = -1;
}

/* see spsc.h */
void
akv_spsc_wake_prepare(struct akv_spsc_wake *w)
{
	atomic_store_explicit(&w->sleeping, 1, memory_order_relaxed);
	/* order the flag before the caller's re-check of the rings */
	atomic_thread_fence(memory_order_seq_cst);
}

/* see spsc.h */
void
akv_spsc_wake_done(struct akv_spsc_wake *w)
{
	atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
}

/* see spsc.h */
void
akv_spsc_wake_clear(struct akv_spsc_wake *w)
{
	uint64_t v;

	while (read(w->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

/* see spsc.h */
void
akv_spsc_wake_notify(struct akv_spsc_wake *w)
{
	/* order the caller's push (head store) before reading the flag */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&w->sleeping, memory_order_relaxed)) {
		uint64_t one = 1;
		ssize_t r;

		atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
		do
			r = write(w->efd, &one, sizeof(one));
		while (r < 0 && errno == EINTR);
		/* EAGAIN: counter saturated, the consumer is being woken anyway */
	}
}

/* see spsc.h */
int
akv_spsc_wake_wait(struct akv_spsc_wake *w, int timeout_ms)
{
	struct pollfd p = {.fd = w->efd, .events = POLLIN};
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r > 0)
		akv_spsc_wake_clear(w);
	return r > 0;
}

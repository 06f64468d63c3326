/*
 * bring.h - the io_uring plumbing shared by the echo baseline and the load
 * generator, set up like the akavs front end (REFERENCE.md §7.4) so the two
 * measure the same physics: SINGLE_ISSUER | DEFER_TASKRUN, a provided-buffer
 * ring mapped by hand (liburing 2.3 has no io_uring_setup_buf_ring),
 * multishot recv on it, and one send in flight per connection with replies
 * batched behind it.
 *
 * user_data packs `slot:32 | gen:16 | op:8` so a completion for a slot that
 * was since reused is recognised by its generation and dropped.
 */
#ifndef AKV_BENCH_TOOL_BRING_H
#define AKV_BENCH_TOOL_BRING_H

#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AKV_BRING_BGID 7 /* buffer group id of the provided-buffer ring */

struct akv_bring {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	uint8_t *bufs; /* nbufs x buf_size bytes */
	size_t br_bytes;
	unsigned nbufs, buf_size;
	int flags_ok; /* 1: SINGLE_ISSUER|DEFER_TASKRUN accepted by the kernel */
};

/* An output buffer pair: replies are appended to `fill` while `flight` is
 * being sent; at most one send per connection is in flight. */
struct akv_bring_tx {
	uint8_t *buf[2];
	size_t cap[2], len[2];
	size_t off;    /* bytes of the in-flight buffer already sent */
	unsigned fill; /* index of the buffer being filled */
	int inflight;
};

/* Sets up a ring with `entries` SQEs (SINGLE_ISSUER|DEFER_TASKRUN, falling
 * back to none with a note on stderr) and a provided-buffer ring of `nbufs`
 * (power of two) buffers of `buf_size` bytes. Call from the thread that will
 * use the ring. Returns 0 or -errno. */
int akv_bring_init(struct akv_bring *b, unsigned entries, unsigned nbufs, unsigned buf_size);
void akv_bring_fini(struct akv_bring *b);
/* An SQE; submits once to make room when the SQ is full. NULL if still none. */
struct io_uring_sqe *akv_bring_sqe(struct akv_bring *b);
/* Data of provided buffer `bid`, and its return to the ring once consumed. */
uint8_t *akv_bring_buf(struct akv_bring *b, unsigned bid);
void akv_bring_recycle(struct akv_bring *b, unsigned bid);
/* Queues a multishot recv on fd selecting from the buffer ring. */
int akv_bring_recv(struct akv_bring *b, int fd, uint64_t user_data);

static inline uint64_t
akv_bring_ud(uint32_t slot, uint16_t gen, uint8_t op)
{
	return (uint64_t)slot << 32 | (uint64_t)gen << 16 | op;
}
static inline uint32_t
akv_bring_ud_slot(uint64_t ud)
{
	return (uint32_t)(ud >> 32);
}
static inline uint16_t
akv_bring_ud_gen(uint64_t ud)
{
	return (uint16_t)(ud >> 16);
}
static inline uint8_t
akv_bring_ud_op(uint64_t ud)
{
	return (uint8_t)ud;
}

/* Room for `n` more bytes in the fill buffer; returns where to write them
 * (the caller then adds n to tx->len[tx->fill]), or NULL past `max` bytes. */
uint8_t *akv_bring_tx_room(struct akv_bring_tx *tx, size_t n, size_t max);
/* Starts a send of the fill buffer if none is in flight and there is data.
 * Returns 1 if a send was queued, 0 if nothing to do, -errno on no SQE. */
int akv_bring_tx_flush(struct akv_bring *b, struct akv_bring_tx *tx, int fd, uint64_t user_data);
/* Handles the send completion `res`. Returns 1 when the rest of a short
 * send was re-queued, 0 when the in-flight buffer is done, -errno on error. */
int akv_bring_tx_done(struct akv_bring *b, struct akv_bring_tx *tx, int fd, uint64_t user_data,
		      int res);
void akv_bring_tx_free(struct akv_bring_tx *tx);

/* A growable receive buffer for frames split across recv completions. */
struct akv_bring_rx {
	uint8_t *buf;
	size_t cap, len;
};
/* Appends n bytes; returns 0, or -1 past `max` bytes (caller closes). */
int akv_bring_rx_append(struct akv_bring_rx *rx, const uint8_t *p, size_t n, size_t max);
void akv_bring_rx_free(struct akv_bring_rx *rx);

/* Frame length at buf (>0), AKV_EPARTIAL when more bytes are needed, or
 * another negative code for a frame that cannot be delimited. */
typedef int (*akv_bring_len_fn)(const uint8_t *buf, size_t len);
/* Handles one whole frame; a negative return stops the feed (and is returned). */
typedef int (*akv_bring_frame_fn)(void *arg, const uint8_t *frame, size_t len);
/* Splits received bytes into frames: whole frames in p are handled in place,
 * a partial tail is kept in rx (joined with the next bytes). Frames longer
 * than `max` are refused. Returns 0, or the first negative code of len_fn
 * (other than AKV_EPARTIAL) or on_frame; the caller then closes the conn. */
int akv_bring_feed(struct akv_bring_rx *rx, const uint8_t *p, size_t n, akv_bring_len_fn len_fn,
		   akv_bring_frame_fn on_frame, void *arg, size_t max);

#ifdef __cplusplus
}
#endif
#endif

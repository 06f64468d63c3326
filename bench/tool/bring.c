/* bring.c - io_uring plumbing of the echo baseline and load generator (see bring.h). */
#include "bring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "err.h"
#include "mem.h"

/* see bring.h */
int
akv_bring_init(struct akv_bring *b, unsigned entries, unsigned nbufs, unsigned buf_size)
{
	struct io_uring_params p;
	struct io_uring_buf_reg reg;
	int rc;

	memset(b, 0, sizeof(*b));
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	rc = io_uring_queue_init_params(entries, &b->ring, &p);
	b->flags_ok = rc == 0;
	if (rc == -EINVAL) {
		fprintf(stderr, "bench: kernel refuses SINGLE_ISSUER|DEFER_TASKRUN; plain ring\n");
		memset(&p, 0, sizeof(p));
		rc = io_uring_queue_init_params(entries, &b->ring, &p);
	}
	if (rc)
		return rc;
	b->nbufs = nbufs;
	b->buf_size = buf_size;
	b->br_bytes = (size_t)nbufs * sizeof(struct io_uring_buf);
	/* the kernel wants the buffer ring page-aligned: mmap gives that */
	b->br = mmap(NULL, b->br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->br == MAP_FAILED) {
		rc = -errno;
		b->br = NULL;
		goto fail;
	}
	b->bufs = akv_malloc((size_t)nbufs * buf_size);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)b->br;
	reg.ring_entries = nbufs;
	reg.bgid = AKV_BRING_BGID;
	rc = io_uring_register_buf_ring(&b->ring, &reg, 0);
	if (rc)
		goto fail;
	io_uring_buf_ring_init(b->br);
	for (unsigned i = 0; i < nbufs; i++)
		io_uring_buf_ring_add(b->br, b->bufs + (size_t)i * buf_size, buf_size, (uint16_t)i,
				      io_uring_buf_ring_mask(nbufs), (int)i);
	io_uring_buf_ring_advance(b->br, (int)nbufs);
	return 0;
fail:
	akv_bring_fini(b);
	return rc;
}

/* see bring.h */
void
akv_bring_fini(struct akv_bring *b)
{
	if (b->ring.ring_fd > 0)
		io_uring_queue_exit(&b->ring);
	if (b->br)
		munmap(b->br, b->br_bytes);
	akv_free(b->bufs);
	memset(b, 0, sizeof(*b));
}

/* see bring.h */
struct io_uring_sqe *
akv_bring_sqe(struct akv_bring *b)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (!sqe) {
		io_uring_submit(&b->ring);
		sqe = io_uring_get_sqe(&b->ring);
	}
	return sqe;
}

/* see bring.h */
uint8_t *
akv_bring_buf(struct akv_bring *b, unsigned bid)
{
	return b->bufs + (size_t)bid * b->buf_size;
}

/* see bring.h */
void
akv_bring_recycle(struct akv_bring *b, unsigned bid)
{
	io_uring_buf_ring_add(b->br, akv_bring_buf(b, bid), b->buf_size, (uint16_t)bid,
			      io_uring_buf_ring_mask(b->nbufs), 0);
	io_uring_buf_ring_advance(b->br, 1);
}

/* see bring.h */
int
akv_bring_recv(struct akv_bring *b, int fd, uint64_t user_data)
{
	struct io_uring_sqe *sqe = akv_bring_sqe(b);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = AKV_BRING_BGID;
	io_uring_sqe_set_data64(sqe, user_data);
	return 0;
}

/* see bring.h */
uint8_t *
akv_bring_tx_room(struct akv_bring_tx *tx, size_t n, size_t max)
{
	unsigned f = tx->fill;
	size_t need = tx->len[f] + n;

	if (need > max)
		return NULL;
	if (need > tx->cap[f]) {
		size_t cap = tx->cap[f] ? tx->cap[f] : 16384;

		while (cap < need)
			cap *= 2;
		tx->buf[f] = akv_realloc(tx->buf[f], cap);
		tx->cap[f] = cap;
	}
	return tx->buf[f] + tx->len[f];
}

static int
queue_send(struct akv_bring *b, struct akv_bring_tx *tx, int fd, uint64_t user_data)
{
	unsigned fl = tx->fill ^ 1u;
	struct io_uring_sqe *sqe = akv_bring_sqe(b);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_send(sqe, fd, tx->buf[fl] + tx->off, tx->len[fl] - tx->off, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, user_data);
	tx->inflight = 1;
	return 1;
}

/* see bring.h */
int
akv_bring_tx_flush(struct akv_bring *b, struct akv_bring_tx *tx, int fd, uint64_t user_data)
{
	if (tx->inflight || !tx->len[tx->fill])
		return 0;
	/* the filled buffer goes on the wire; the other (sent) one is refilled */
	tx->fill ^= 1u;
	tx->len[tx->fill] = 0;
	tx->off = 0;
	return queue_send(b, tx, fd, user_data);
}

/* see bring.h */
int
akv_bring_tx_done(struct akv_bring *b, struct akv_bring_tx *tx, int fd, uint64_t user_data, int res)
{
	unsigned fl = tx->fill ^ 1u;

	tx->inflight = 0;
	if (res < 0)
		return res;
	if (res == 0)
		return -EPIPE;
	tx->off += (size_t)res;
	if (tx->off < tx->len[fl])
		return queue_send(b, tx, fd, user_data);
	tx->len[fl] = 0;
	tx->off = 0;
	return 0;
}

/* see bring.h */
void
akv_bring_tx_free(struct akv_bring_tx *tx)
{
	akv_free(tx->buf[0]);
	akv_free(tx->buf[1]);
	memset(tx, 0, sizeof(*tx));
}

/* see bring.h */
int
akv_bring_rx_append(struct akv_bring_rx *rx, const uint8_t *p, size_t n, size_t max)
{
	if (rx->len + n > max)
		return -1;
	if (rx->len + n > rx->cap) {
		size_t cap = rx->cap ? rx->cap : 4096;

		while (cap < rx->len + n)
			cap *= 2;
		rx->buf = akv_realloc(rx->buf, cap);
		rx->cap = cap;
	}
	memcpy(rx->buf + rx->len, p, n);
	rx->len += n;
	return 0;
}

/* see bring.h */
void
akv_bring_rx_free(struct akv_bring_rx *rx)
{
	akv_free(rx->buf);
	memset(rx, 0, sizeof(*rx));
}

/* Handles the whole frames at the start of p[0..n); *used = bytes consumed. */
static int
feed_frames(const uint8_t *p, size_t n, akv_bring_len_fn len_fn, akv_bring_frame_fn on_frame,
	    void *arg, size_t max, size_t *used)
{
	size_t off = 0;
	int rc = 0;

	while (off < n) {
		int fl = len_fn(p + off, n - off);

		if (fl == AKV_EPARTIAL)
			break;
		if (fl < 0) {
			rc = fl;
			break;
		}
		if ((size_t)fl > max) {
			rc = AKV_ETOOBIG;
			break;
		}
		if ((size_t)fl > n - off)
			break;
		rc = on_frame(arg, p + off, (size_t)fl);
		if (rc < 0)
			break;
		rc = 0;
		off += (size_t)fl;
	}
	*used = off;
	return rc;
}

/* Bytes taken from a new buffer while a pending frame's length is unknown. */
#define FEED_PROBE 32

/* see bring.h */
int
akv_bring_feed(struct akv_bring_rx *rx, const uint8_t *p, size_t n, akv_bring_len_fn len_fn,
	       akv_bring_frame_fn on_frame, void *arg, size_t max)
{
	size_t used = 0;
	int rc;

	/* A frame split across buffers: only its missing bytes are copied
	 * behind it (or a few, until its length is known), then the rest of
	 * this buffer is read in place. (Appending the whole buffer to the
	 * pending bytes copied nearly every received byte once more.) */
	while (rx->len && n) {
		int fl = len_fn(rx->buf, rx->len);
		size_t take = FEED_PROBE;

		if (fl < 0 && fl != AKV_EPARTIAL)
			return fl;
		if (fl > 0 && (size_t)fl > max)
			return AKV_ETOOBIG;
		if (fl > 0)
			take = (size_t)fl > rx->len ? (size_t)fl - rx->len : 0;
		if (take > n)
			take = n;
		if (akv_bring_rx_append(rx, p, take, max + FEED_PROBE))
			return AKV_ETOOBIG;
		p += take;
		n -= take;
		rc = feed_frames(rx->buf, rx->len, len_fn, on_frame, arg, max, &used);
		if (rc)
			return rc;
		memmove(rx->buf, rx->buf + used, rx->len - used);
		rx->len -= used;
		if (!take && !used)
			return AKV_EPROTO; /* a length that claims fewer bytes than held */
	}
	if (!n)
		return 0;
	/* nothing pending: parse straight from the recv buffer */
	rc = feed_frames(p, n, len_fn, on_frame, arg, max, &used);
	if (rc)
		return rc;
	if (used < n && akv_bring_rx_append(rx, p + used, n - used, max))
		return AKV_ETOOBIG;
	return 0;
}

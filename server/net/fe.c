/*
 * fe.c - the io_uring front end (see fe.h).
 *
 * One loop (STYLE 2.7, after liburing's examples): push staged request
 * batches to workers, queue sends, then submit-and-wait; reap every CQE with
 * io_uring_for_each_cqe into handle_cqe() (one switch over the op packed in
 * user_data), advance the CQ once; collect worker answers; return consumed
 * receive buffers to the buffer ring with one advance.
 *
 * user_data = slot:32 | gen:16 | op:8 (slot = conn index, or listener index
 * for accepts); a CQE whose generation does not match its conn is stale.
 * Conns are freed only once they have no recv, no send and no request
 * outstanding, so the generation check is a second line of defence.
 */
#include "fe.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <liburing.h>

#include "aka/cx.h"
#include "aka/eng.h"
#include "cfg.h"
#include "clock.h"
#include "conn.h"
#include "fe_int.h"
#include "disp/spsc.h"
#include "err.h"
#include "listen.h"
#include "log.h"
#include "mem.h"
#include "prefetch.h"
#include "tls.h"
#include "wrk/wrk.h"

#define TIMER_MS 200
#define IDLE_SCAN_MS 1000
#define CONN_DRAIN_MS 5000 /* DRAINING conns that cannot flush are then closed */
#define LOG_EVERY_MS 5000  /* rate limit of repeated warnings */
/* Bounded poll for answers (fe_poll_answers): only while requests are at
 * workers, so an idle front end never spins. Measured on the 2-vCPU test
 * box: blocking and being woken by the worker's eventfd costs ~40-50 us at
 * 1 conn x 1 in flight when the woken vCPU had halted; a batch is answered
 * well within this bound. */
#define POLL_NS 50000
/* ... and with at least POLL_LOADED_MIN requests at workers (under load),
 * up to POLL_NS_LOADED: answers then come in waves with longer gaps, and
 * sleeping between them left the CPUs idle while work was queued (see
 * SPIN_NS_LOADED in server/wrk/wrk.c for the measurements). */
#define POLL_NS_LOADED 200000
#define POLL_LOADED_MIN 8
#define SLOT_PREFETCH_AHEAD 3 /* see slot_take() */
/* TLS: ciphertext handed to OpenSSL and not yet decrypted is kept below
 * this (the rest waits in the provided buffers, which stops the recv like
 * a plain conn's unread bytes); above one record (16 KiB + 256, RFC 8446
 * §5.2), so OpenSSL always has a whole one to work on */
#define TLS_IN_MAX (2 * AKV_FE_BUF_SIZE)

enum fe_op {
	OP_ACCEPT = 1,
	OP_RECV,
	OP_SEND,
	OP_CANCEL,
	OP_WAKE,
	OP_SIGNAL,
	OP_TIMER,
};


static void conn_update(struct akv_fe *fe, struct akv_conn *c);
static void conn_pump(struct akv_fe *fe, struct akv_conn *c);
static void tls_pump(struct akv_fe *fe, struct akv_conn *c);
static int tls_fill_send(struct akv_fe *fe, struct akv_conn *c);

/* ==== Helpers ==== */

static inline uint64_t
ud_pack(uint32_t slot, uint16_t gen, enum fe_op op)
{
	return (uint64_t)slot << 32 | (uint64_t)gen << 16 | (uint64_t)op;
}

/* STYLE 2.7: submit and retry once when the SQ is full; NULL means -EBUSY
 * for the caller, which retries from the next idle scan. */
static struct io_uring_sqe *
fe_get_sqe(struct akv_fe *fe, uint64_t ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&fe->ring);

	if (!sqe) {
		io_uring_submit(&fe->ring);
		sqe = io_uring_get_sqe(&fe->ring);
	}
	if (sqe)
		io_uring_sqe_set_data64(sqe, ud);
	return sqe;
}

/* ==== Provided buffers ==== */

/* Gives a buffer back to the kernel (visible after the loop's advance). */
static void
buf_recycle(struct akv_fe *fe, unsigned bid)
{
	io_uring_buf_ring_add(fe->br, fe->bufs + (size_t)bid * AKV_FE_BUF_SIZE, AKV_FE_BUF_SIZE,
			      (unsigned short)bid, io_uring_buf_ring_mask(fe->nbufs),
			      (int)fe->recycle_pending++);
	fe->bufs_out--;
}

static void
held_push(struct akv_fe *fe, struct akv_conn *c, unsigned bid, uint32_t len)
{
	fe->held_len[bid] = len;
	fe->held_next[bid] = -1;
	if (c->held_tail >= 0)
		fe->held_next[c->held_tail] = (int32_t)bid;
	else
		c->held_head = (int32_t)bid, c->held_off = 0;
	c->held_tail = (int32_t)bid;
	c->nheld++;
}

/* held_advance() once the head buffer is used up: on to the next one. */
static void
held_pop_head(struct akv_fe *fe, struct akv_conn *c)
{
	int32_t bid = c->held_head;

	c->held_head = fe->held_next[bid];
	c->held_off = 0;
	if (c->held_head < 0)
		c->held_tail = -1;
	c->nheld--;
	buf_recycle(fe, (unsigned)bid);
}

/* Consumes n bytes of the head buffer (inline: once per message). */
static inline void
held_advance(struct akv_fe *fe, struct akv_conn *c, uint32_t n)
{
	c->held_off += n;
	if (c->held_off >= fe->held_len[c->held_head])
		held_pop_head(fe, c);
}

static void
held_drop(struct akv_fe *fe, struct akv_conn *c)
{
	while (c->held_head >= 0)
		held_advance(fe, c, fe->held_len[c->held_head] - c->held_off);
	c->rx_off = c->rx_len = 0;
}

/* ==== Request slots and dispatch ==== */

/* ctx_lines: how many of ctx's lines the conn's protocol uses
 * (akv_proto_ops.ctx_lines). */
static struct akv_fe_slot *
slot_take(struct akv_fe *fe, unsigned ctx_lines)
{
	struct akv_fe_slot *s = fe->free_stk[--fe->nfree];

	/* The slot SLOT_PREFETCH_AHEAD below this one serves a request a few
	 * requests from now: the worker's core wrote its lines last, so ask
	 * for them (for writing) now; a cross-core fetch takes longer than
	 * decoding one request, so the next slot would be asked for too late. */
	if (fe->nfree >= SLOT_PREFETCH_AHEAD) {
		const char *n = (const char *)fe->free_stk[fe->nfree - SLOT_PREFETCH_AHEAD];

		akv_prefetch_own(n); /* the worker's core wrote it last */
		/* the IMPU's first line: the worker read it, so both cores hold
		 * it, and a store waits for the worker's copy to be dropped
		 * (an IMPU up to 41 bytes long is in this one line) */
		akv_prefetch_own(n + offsetof(struct akv_fe_slot, req.impu));
		__builtin_prefetch(n + offsetof(struct akv_fe_slot, ctx), 1);
		if (ctx_lines > 1)
			__builtin_prefetch(n + offsetof(struct akv_fe_slot, ctx) + 64, 1);
	}
	/* 22 bytes: plain stores (a large memset became a `rep stos`, which
	 * stalled on lines the worker wrote last) */
	akv_eng_req_reset(&s->req);
	return s;
}


static void
stage_flush(struct akv_fe *fe, unsigned w)
{
	size_t n = fe->nstage[w];
	size_t pushed =
	    akv_spsc_push(akv_wrk_inq(fe->wrk[w]), fe->stage + (size_t)w * STAGE_MAX, n);

	/* rings hold max_inflight entries, slots are max_inflight: never full */
	AKV_ASSERT(pushed == n);
	fe->nstage[w] = 0;
	akv_wrk_notify(fe->wrk[w]);
}

static void
dispatch(struct akv_fe *fe, struct akv_conn *c, struct akv_fe_slot *s)
{
	struct akv_eng_req *r = &s->req;
	unsigned w;

	if (fe->nwrk > fe->nshard && akv_eng_is_cx_state_op(r->op))
		w = fe->nshard;	/* the registrar */
	else if (r->impi_len && fe->nshard > 1)
		w = akv_eng_shard_of(r->impi, r->impi_len, fe->nshard);
	else
		w = 0;	/* one shard: no hash to compute; no IMPI: worker 0 refuses it */

	AKV_ASSERT(w < fe->nwrk);
	s->conn = c->idx;
	s->gen = c->gen;
	s->op = r->op;
	c->inflight++;
	fe->st.inflight++;
	fe->st.requests[r->op < 8 ? r->op : 0]++;
#ifdef AKV_PASS_THROUGH_ENGINE
	/* bench/ceiling.sh: answered here, onto the answer ring this worker
	 * never fills (it gets no request), as if it came back from it */
	if (fe->pass_fe) {
		struct akv_eng_req *one[1] = {r};

		if (akv_eng_pass_through(one, 1)) {
			size_t k = akv_spsc_push(akv_wrk_outq(fe->wrk[w]), (void **)one, 1);

			AKV_ASSERT(k == 1);
			(void)k;
			return;
		}
	}
#endif
	fe->stage[(size_t)w * STAGE_MAX + fe->nstage[w]++] = r;
	if (fe->nstage[w] == STAGE_MAX)
		stage_flush(fe, w);
}

/* ==== Connections ==== */

static struct akv_conn *
conn_at(struct akv_fe *fe, uint64_t ud)
{
	uint32_t idx = (uint32_t)(ud >> 32);
	struct akv_conn *c;

	if (idx >= fe->cfg->max_conns)
		return NULL;
	c = &fe->conns[idx];
	return c->gen == (uint16_t)(ud >> 16) && c->state != AKV_CONN_DEAD ? c : NULL;
}

static void
mark_dirty(struct akv_fe *fe, struct akv_conn *c)
{
	if (c->dirty)
		return;
	c->dirty = 1;
	c->next_dirty = fe->dirty_head;
	fe->dirty_head = c->idx;
}

static void
mark_starved(struct akv_fe *fe, struct akv_conn *c)
{
	if (c->starved)
		return;
	c->starved = 1;
	c->next_starved = AKV_CONN_NONE;
	if (fe->starved_tail != AKV_CONN_NONE)
		fe->conns[fe->starved_tail].next_starved = c->idx;
	else
		fe->starved_head = c->idx;
	fe->starved_tail = c->idx;
}

static void
arm_recv(struct akv_fe *fe, struct akv_conn *c)
{
	struct io_uring_sqe *sqe;

	if (fe->bufs_out >= fe->nbufs ||
	    !(sqe = fe_get_sqe(fe, ud_pack(c->idx, c->gen, OP_RECV)))) {
		if (!c->recv_nobufs)
			fe->nobufs_waiting++;
		c->recv_nobufs = 1;
		return;
	}
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	c->recv_armed = 1;
	c->recv_cancel = 0;
}

static void
cancel_recv(struct akv_fe *fe, struct akv_conn *c)
{
	struct io_uring_sqe *sqe = fe_get_sqe(fe, ud_pack(c->idx, c->gen, OP_CANCEL));

	if (!sqe)
		return; /* retried by the idle scan */
	io_uring_prep_cancel64(sqe, ud_pack(c->idx, c->gen, OP_RECV), 0);
	c->recv_cancel = 1;
}

/* Closes now: no more reading or answering; waits for outstanding CQEs and
 * worker answers in CLOSING, then conn_update() releases it. */
static void
conn_close(struct akv_fe *fe, struct akv_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->state == AKV_CONN_CLOSING || c->state == AKV_CONN_DEAD)
		return;
	akv_conn_set_state(c, AKV_CONN_CLOSING);
	/* wakes a send blocked on a client that does not read, and the recv */
	shutdown(c->fd, SHUT_RDWR);
	sqe = fe_get_sqe(fe, ud_pack(c->idx, c->gen, OP_CANCEL));
	if (sqe) {
		io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
		c->recv_cancel = 1;
	}
	held_drop(fe, c);
	while (c->done_head) {
		struct akv_fe_slot *s = c->done_head;

		c->done_head = s->next;
		c->inflight--;
		slot_put(fe, s);
	}
	c->done_tail = NULL;
	c->tx_len = 0;
	conn_update(fe, c);
}

/* Stops reading; answers what is in flight (and, unless discard, complete
 * requests already received), sends, then closes. */
static void
conn_drain(struct akv_fe *fe, struct akv_conn *c, int discard)
{
	if (c->state != AKV_CONN_OPEN && c->state != AKV_CONN_ACCEPTED) {
		c->discard_rx |= (uint8_t)discard;
		return;
	}
	akv_conn_set_state(c, AKV_CONN_DRAINING);
	c->discard_rx = (uint8_t)discard;
	c->drain_since_ms = fe->now;
	if (discard)
		held_drop(fe, c);
	conn_update(fe, c);
}

static void
conn_release(struct akv_fe *fe, struct akv_conn *c)
{
	close(c->fd);
	if (c->proto_ready && c->ops->conn_fini)
		c->ops->conn_fini(c->pst);
	c->proto_ready = 0;
	akv_conn_bufs_free(c);	/* and the TLS session */
	if (c->recv_nobufs)
		fe->nobufs_waiting--;
	c->recv_nobufs = 0;
	akv_conn_set_state(c, AKV_CONN_DEAD);
	c->gen++;
	c->fd = -1;
	c->next = fe->free_conn;
	fe->free_conn = c->idx;
	fe->nlive--;
	fe->st.conns_closed++;
}

static int
drained(const struct akv_conn *c)
{
	return c->inflight == 0 && !c->done_head && c->tx_len == 0 && c->send_len == 0 &&
	       !c->send_armed && (c->discard_rx || (c->held_head < 0));
}

/* Re-evaluates what a conn needs after any event: (re)arm or stop its
 * recv, finish a drain, release a closed conn. */
static void
conn_update(struct akv_fe *fe, struct akv_conn *c)
{
	int want_read;

	switch (c->state) {
	case AKV_CONN_OPEN:
		want_read = c->held_head < 0 && !c->recv_nobufs;
		if (want_read && !c->recv_armed)
			arm_recv(fe, c);
		else if (!want_read && c->recv_armed && !c->recv_cancel) {
			cancel_recv(fe, c);
			fe->st.recv_stops++;
		}
		break;
	case AKV_CONN_DRAINING:
		if (c->recv_armed && !c->recv_cancel)
			cancel_recv(fe, c);
		if (drained(c))
			conn_close(fe, c);
		break;
	case AKV_CONN_CLOSING:
		if (!c->recv_armed && !c->send_armed && c->inflight == 0)
			conn_release(fe, c);
		break;
	default:
		break;
	}
	if (c->tx_len && !c->send_armed &&
	    (c->state == AKV_CONN_OPEN || c->state == AKV_CONN_DRAINING))
		mark_dirty(fe, c);
}

/* ==== Receive path ==== */

/* Can the conn take one more request now? */
static int
conn_can_take(struct akv_fe *fe, struct akv_conn *c)
{
	if (c->done_head || akv_conn_tx_room(c) < AKV_PROTO_OUT_MAX ||
	    c->inflight >= fe->cfg->max_inflight_conn)
		return 0;
	if (!fe->nfree) {
		mark_starved(fe, c);
		return 0;
	}
	return 1;
}

/* One complete message: returns 1 to go on, 0 when the conn stops reading. */
static int
conn_msg(struct akv_fe *fe, struct akv_conn *c, const uint8_t *msg, size_t len)
{
	struct akv_fe_slot *s = slot_take(fe, c->ctx_lines);
	size_t cap = akv_conn_tx_room(c), out_len = 0;
	int r = c->ops->on_msg(c->pst, msg, len, &s->ps, akv_conn_tx_tail(c), cap, &out_len);

	AKV_ASSERT(out_len <= cap);
	c->tx_len += (uint32_t)out_len;
	if (r == AKV_PROTO_DISPATCH) {
		s->ctx_lines = c->ctx_lines;
		dispatch(fe, c, s);
		return 1;
	}
	slot_put(fe, s);
	if (r == AKV_PROTO_REPLY) {
		fe->st.replies_direct++;
		return 1;
	}
	if (r < 0)
		fe->st.malformed++;
	conn_drain(fe, c, 1);
	return 0;
}

static void
framing_error(struct akv_fe *fe, struct akv_conn *c, int r)
{
	fe->st.framing++;
	akv_log(AKV_LOG_DEBUG, "conn %s: framing lost (%s), closing", c->info.peer_addr,
		akv_strerror(r));
	conn_drain(fe, c, 1);
}

#define RX_PARTIAL 2 /* rx_frame(): the frame in c->rx is not complete yet */

/* Dispatches the frame at the front of c->rx (plain reassembly, or a TLS
 * conn's plaintext). Returns conn_msg()'s 1 (go on) or 0 (stop), 0 when
 * framing is lost (the conn drains), or RX_PARTIAL with *len the frame's
 * length when known (else 0). */
static int
rx_frame(struct akv_fe *fe, struct akv_conn *c, int *len)
{
	const uint8_t *p = c->rx + c->rx_off;
	int n = c->ops->frame_len(p, c->rx_len);

	if (n > 0 && (uint32_t)n <= c->rx_len) {
		int go = conn_msg(fe, c, p, (size_t)n);

		if (c->rx_len) /* conn_msg may have dropped rx (drain) */
			akv_conn_rx_consume(c, (size_t)n);
		return go;
	}
	if ((n < 0 && n != AKV_EPARTIAL) || n > AKV_CONN_RX_MAX) {
		framing_error(fe, c, n < 0 ? n : AKV_ETOOBIG);
		return 0;
	}
	*len = n > 0 ? n : 0;
	return RX_PARTIAL;
}

/* Completes the frame being reassembled in c->rx. 1 progress, 0 stop. */
static int
pump_rx(struct akv_fe *fe, struct akv_conn *c)
{
	int n, r = rx_frame(fe, c, &n);
	uint32_t avail, take;

	if (r != RX_PARTIAL)
		return r;
	if (c->held_head < 0)
		return 0;
	avail = fe->held_len[c->held_head] - c->held_off;
	/* known length: take what completes it; unknown: enough to read a header */
	take = n > 0 ? (uint32_t)n - c->rx_len : 64;
	take = take < avail ? take : avail;
	if (akv_conn_rx_append(c, fe->bufs + (size_t)c->held_head * AKV_FE_BUF_SIZE + c->held_off,
			       take)) {
		framing_error(fe, c, AKV_ETOOBIG);
		return 0;
	}
	held_advance(fe, c, take);
	return 1;
}

/* Frames straight from the head provided buffer (no copy). 1 progress, 0 stop. */
static int
pump_held(struct akv_fe *fe, struct akv_conn *c)
{
	const uint8_t *p = fe->bufs + (size_t)c->held_head * AKV_FE_BUF_SIZE + c->held_off;
	uint32_t avail = fe->held_len[c->held_head] - c->held_off;
	int n = c->ops->frame_len(p, avail);

	if (n > 0 && (uint32_t)n <= avail) {
		int go = conn_msg(fe, c, p, (size_t)n);

		if (c->held_head >= 0) /* conn_msg may have dropped the chain */
			held_advance(fe, c, (uint32_t)n);
		return go;
	}
	if ((n < 0 && n != AKV_EPARTIAL) || n > AKV_CONN_RX_MAX) {
		framing_error(fe, c, n < 0 ? n : AKV_ETOOBIG);
		return 0;
	}
	/* a frame split over buffers: reassemble it */
	akv_conn_bufs_alloc(c);
	if (akv_conn_rx_append(c, p, avail)) {
		framing_error(fe, c, AKV_ETOOBIG);
		return 0;
	}
	held_advance(fe, c, avail);
	return 1;
}

/* Decodes and dispatches as much of the received data as the limits allow. */
static void
conn_pump(struct akv_fe *fe, struct akv_conn *c)
{
	if (c->tls) {
		tls_pump(fe, c);
		return;
	}
	for (;;) {
		if (c->state != AKV_CONN_OPEN && (c->state != AKV_CONN_DRAINING || c->discard_rx))
			break;
		if (!c->rx_len && c->held_head < 0)
			break;
		if (!c->rx) /* once per conn: no call per message */
			akv_conn_bufs_alloc(c);
		if (!conn_can_take(fe, c))
			break;
		if (!(c->rx_len ? pump_rx(fe, c) : pump_held(fe, c)))
			break;
	}
	conn_update(fe, c);
}

static void
on_recv(struct akv_fe *fe, struct akv_conn *c, int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		c->recv_armed = 0;
	if (res > 0) {
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;

		/* kernel contract: a buffer-select recv names one of our buffers */
		AKV_ASSERT((flags & IORING_CQE_F_BUFFER) && bid < fe->nbufs &&
			   (uint32_t)res <= AKV_FE_BUF_SIZE);
		fe->bufs_out++;
		fe->st.rx_bytes += (uint64_t)res;
		c->last_rx_ms = fe->now;
		if (c->state == AKV_CONN_OPEN) {
			held_push(fe, c, bid, (uint32_t)res);
			conn_pump(fe, c); /* ends in conn_update() */
			return;
		}
		buf_recycle(fe, bid); /* no longer reading: late bytes are dropped */
	} else if (res == 0) {
		conn_drain(fe, c, 0); /* peer EOF: still answer what it sent */
	} else if (res == -ENOBUFS) {
		fe->st.nobufs++;
		if (!c->recv_nobufs)
			fe->nobufs_waiting++;
		c->recv_nobufs = 1;
	} else if (res != -ECANCELED) {
		conn_close(fe, c); /* ECONNRESET and friends */
	}
	conn_update(fe, c);
}

/* ==== Transmit path ==== */

/* Sends the rest of the buffer in flight (send_len > 0). Without an SQE
 * the conn goes back on the send list and flush_dirty() retries it. */
static void
submit_send(struct akv_fe *fe, struct akv_conn *c)
{
	struct io_uring_sqe *sqe = fe_get_sqe(fe, ud_pack(c->idx, c->gen, OP_SEND));
	uint8_t *buf = c->tx[c->tx_cur ^ 1];

	if (!sqe) {
		mark_dirty(fe, c);
		return;
	}
	io_uring_prep_send(sqe, c->fd, buf + c->send_off, c->send_len - c->send_off, MSG_NOSIGNAL);
	c->send_armed = 1;
}

/* Swaps the filled buffer out and sends it: answers coalesce in tx[cur]
 * while one send is in flight. Stops (the rest stays listed) when the SQ
 * has no room even after a submit. */
static void
flush_dirty(struct akv_fe *fe)
{
	while (fe->dirty_head != AKV_CONN_NONE) {
		struct akv_conn *c = &fe->conns[fe->dirty_head];

		if ((c->state == AKV_CONN_OPEN || c->state == AKV_CONN_DRAINING) &&
		    !c->send_armed && (c->send_len || c->tx_len) &&
		    io_uring_sq_space_left(&fe->ring) == 0 && io_uring_submit(&fe->ring) <= 0)
			break;
		fe->dirty_head = c->next_dirty;
		c->dirty = 0;
		if (c->send_armed || (!c->send_len && !c->tx_len) ||
		    (c->state != AKV_CONN_OPEN && c->state != AKV_CONN_DRAINING))
			continue;
		if (!c->send_len) {
			if (c->tls) {
				if (!tls_fill_send(fe, c))
					continue;
			} else {
				c->send_len = c->tx_len;
				c->send_off = 0;
				c->tx_cur ^= 1;
				c->tx_len = 0;
			}
		}
		submit_send(fe, c);
	}
}

/* Encodes one answer into the transmit buffer (the caller checked the
 * room) and frees its slot. Returns 0, or -1 when the answer could not be
 * encoded and the conn was closed. */
static int
answer_encode(struct akv_fe *fe, struct akv_conn *c, struct akv_fe_slot *s)
{
	uint32_t room = akv_conn_tx_room(c);
	int r = c->ops->encode(c->pst, &s->ps, akv_conn_tx_tail(c), room);

	c->inflight--;
	slot_put(fe, s);
	if (r > 0) {
		AKV_ASSERT((uint32_t)r <= room);
		c->tx_len += (uint32_t)r;
		return 0;
	}
	fe->st.encode_errors++;
	akv_log(AKV_LOG_WARN, "conn %s: cannot encode an answer (%s), closing", c->info.peer_addr,
		akv_strerror(r));
	conn_close(fe, c);
	return -1;
}

/* Encodes worker answers while there is transmit room. */
static void
conn_encode_done(struct akv_fe *fe, struct akv_conn *c)
{
	while (c->done_head && akv_conn_tx_room(c) >= AKV_PROTO_OUT_MAX) {
		struct akv_fe_slot *s = c->done_head;

		c->done_head = s->next;
		if (!c->done_head)
			c->done_tail = NULL;
		if (answer_encode(fe, c, s))
			return;
	}
}

static void
on_send(struct akv_fe *fe, struct akv_conn *c, int res)
{
	c->send_armed = 0;
	if ((res == -EINTR || res == -EAGAIN) && c->state != AKV_CONN_CLOSING) {
		submit_send(fe, c);
		return;
	}
	if (res <= 0 || c->state == AKV_CONN_CLOSING) {
		c->send_len = c->send_off = 0;
		conn_close(fe, c); /* EPIPE, ECONNRESET: the peer is gone */
		conn_update(fe, c);
		return;
	}
	fe->st.tx_bytes += (uint64_t)res;
	c->last_tx_ms = fe->now;
	c->send_off += (uint32_t)res;
	if (c->send_off < c->send_len) {
		submit_send(fe, c); /* short send: the rest of the same buffer */
		return;
	}
	c->send_len = c->send_off = 0;
	conn_encode_done(fe, c);
	conn_pump(fe, c);
}

/* A worker finished a request: encoded at once if there is room. Returns 1
 * when the conn may read on (collect_answers() pumps each conn once per
 * batch, not once per answer), 0 when it was closing or is closed now
 * (an answer it could not encode). */
static int
on_answer(struct akv_fe *fe, struct akv_fe_slot *s)
{
	struct akv_conn *c = &fe->conns[s->conn];

	AKV_ASSERT(c->gen == s->gen && c->state != AKV_CONN_DEAD && c->inflight > 0);
	fe->st.inflight--;
	fe->st.answers++;
	fe->st.answer_errors += s->req.err != 0;
	if (c->state == AKV_CONN_CLOSING) {
		c->inflight--;
		slot_put(fe, s);
		conn_update(fe, c);
		return 0;
	}
	/* nothing waiting before it and room: straight into the buffer, in the
	 * same order the done list would have given */
	if (!c->done_head && akv_conn_tx_room(c) >= AKV_PROTO_OUT_MAX)
		return answer_encode(fe, c, s) == 0;
	s->next = NULL;
	if (c->done_tail)
		c->done_tail->next = s;
	else
		c->done_head = s;
	c->done_tail = s;
	return 1;
}

/* The worker wrote an answer's lines last: collect_answers() asks for them
 * this many answers ahead of the one it encodes, so that the fetches from
 * the worker's core overlap the encoding of the answers before (asked for
 * all at once, the first 16 or so filled the line fill buffers and each
 * further prefetch stalled the loop until one came back, with nothing to
 * encode in the meantime; perf put most of collect_answers' time on those
 * prefetches). 8 answers keep 16-32 lines on the way. */
#define ANSWER_PREFETCH_AHEAD 8

static inline void
answer_prefetch(const struct akv_fe_slot *s)
{
	/* header and response: read now, and written again when slot_take()
	 * hands the slot (the free stack's top) to the next request. Asked for
	 * with ownership, the line crosses once; read shared, the later store
	 * waited on a second round trip to drop the worker's copy, which the
	 * worker never reads again before then. */
	akv_prefetch_own(&s->req);
	__builtin_prefetch(&s->vec[0]); /* RAND AUTN CK IK */
	/* XRES is on the next line: only answers that carry it read it
	 * (s->op is on a line the front end owns) */
	if (s->op != AKV_OP_CHALLENGE)
		__builtin_prefetch(s->vec[0].xres);
	__builtin_prefetch(s->ctx);
	/* a Cx answer echoes the Session-Id, which a long one reads from
	 * ctx's second line (slot_take()) */
	if (s->ctx_lines > 1)
		__builtin_prefetch(s->ctx + 64);
}

static void
collect_answers(struct akv_fe *fe)
{
	void *batch[64];
	uint32_t conns[64]; /* to read on, each once (pump_due) */

	for (unsigned w = 0; w < fe->nwrk; w++) {
		size_t n;

		while ((n = akv_spsc_pop(akv_wrk_outq(fe->wrk[w]), batch, 64)) > 0) {
			unsigned nc = 0;

			for (size_t i = 0; i < n && i < ANSWER_PREFETCH_AHEAD; i++)
				answer_prefetch(batch[i]);
			for (size_t i = 0; i < n; i++) {
				uint32_t ci = ((struct akv_fe_slot *)batch[i])->conn;
				struct akv_conn *c = &fe->conns[ci];

				if (i + ANSWER_PREFETCH_AHEAD < n)
					answer_prefetch(batch[i + ANSWER_PREFETCH_AHEAD]);
				if (!on_answer(fe, (struct akv_fe_slot *)batch[i]) || c->pump_due)
					continue;
				c->pump_due = 1;
				conns[nc++] = ci;
			}
			/* read on once per conn: its answers freed slots */
			for (unsigned k = 0; k < nc; k++) {
				struct akv_conn *c = &fe->conns[conns[k]];

				c->pump_due = 0;
				conn_pump(fe, c);
			}
		}
	}
}

static int
answers_pending(struct akv_fe *fe)
{
	for (unsigned w = 0; w < fe->nwrk; w++)
		if (akv_spsc_count(akv_wrk_outq(fe->wrk[w])))
			return 1;
	return 0;
}

/* Completions to reap, or deferred task work (DEFER_TASKRUN: network
 * completions wait for our next io_uring_enter; TASKRUN_FLAG announces
 * them in the SQ flags). */
static int
events_pending(struct akv_fe *fe)
{
	return io_uring_cq_ready(&fe->ring) ||
	       (IO_URING_READ_ONCE(*fe->ring.sq.kflags) & IORING_SQ_TASKRUN);
}

/* Requests are at workers and nothing else is ready: their answers are at
 * most a batch away. Submit what is queued (the sends must leave now), then
 * poll for up to POLL_NS instead of sleeping and making the worker pay an
 * eventfd write and a wake-up. sched_yield() hands the CPU to a runnable
 * thread (the client, a worker on a shared core) and returns at once when
 * there is none, so the poll costs CPU only when the CPU is otherwise
 * idle; it is never entered without requests in flight (no idle spin). */
static void
poll_answers(struct akv_fe *fe)
{
	uint64_t end;

	if (!fe->st.inflight || answers_pending(fe) || events_pending(fe))
		return;
	io_uring_submit(&fe->ring);
	end = akv_mono_ns() + (fe->st.inflight >= POLL_LOADED_MIN ? POLL_NS_LOADED : POLL_NS);
	do {
		sched_yield();
		if (answers_pending(fe) || events_pending(fe))
			return;
	} while (akv_mono_ns() < end);
}

/* ==== TLS (tls.h) ==== */

/* A TLS failure, rate limited at warn level: the peer, what failed and
 * OpenSSL's reason (never key material). */
static void
tls_log(struct akv_fe *fe, struct akv_conn *c, const char *what, const char *why)
{
	int lvl = AKV_LOG_DEBUG;

	if (fe->now - fe->last_tls_log >= LOG_EVERY_MS) {
		fe->last_tls_log = fe->now;
		lvl = AKV_LOG_WARN;
	}
	if (akv_log_on(lvl))
		akv_log(lvl, "conn %s: TLS %s: %s, closing (failures: %llu handshake, %llu "
			     "timeout, %llu record)",
			c->info.peer_addr, what, why,
			(unsigned long long)fe->st.tls_handshake_failures,
			(unsigned long long)fe->st.tls_handshake_timeouts,
			(unsigned long long)fe->st.tls_errors);
}

/* Plaintext answers in tx[cur] become records when OpenSSL's output is
 * short of a buffer, then as much output as fits goes to the idle transmit
 * buffer tx[cur ^ 1] (no send in flight: the caller checked). Returns 1
 * when there is something to send. The output stays bounded: at most one
 * buffer of plaintext is encrypted ahead of what was sent. */
static int
tls_fill_send(struct akv_fe *fe, struct akv_conn *c)
{
	char why[AKV_TLS_WHY_MAX];
	int failed = 0;
	size_t n;

	if (c->tx_len && akv_tls_conn_ready(c->tls) &&
	    akv_tls_conn_out_pending(c->tls) < AKV_CONN_TX_CAP) {
		failed = akv_tls_conn_write(c->tls, c->tx[c->tx_cur], c->tx_len, why, sizeof(why));
		c->tx_len = 0;
	}
	n = akv_tls_conn_out_take(c->tls, c->tx[c->tx_cur ^ 1], AKV_CONN_TX_CAP);
	c->send_len = (uint32_t)n;
	c->send_off = 0;
	if (failed) {
		/* last: the drain may close and release c when nothing is left to send */
		fe->st.tls_errors++;
		tls_log(fe, c, "write failed", why);
		conn_drain(fe, c, 1);
		if (!n)
			return 0;
	}
	return n > 0;
}

/* After any TLS step: queue what OpenSSL wrote (handshake flights, alerts,
 * answers) unless a send is in flight (its completion comes back here). */
static void
tls_move_out(struct akv_fe *fe, struct akv_conn *c)
{
	if (c->send_armed || c->send_len || !c->tx[0] ||
	    (c->state != AKV_CONN_OPEN && c->state != AKV_CONN_DRAINING))
		return;
	if (tls_fill_send(fe, c))
		mark_dirty(fe, c);
}

/* A failed handshake or a bad record: the alert OpenSSL wrote is sent, the
 * conn drains (answers to requests already at workers still go out if the
 * session can carry them) and closes. Other conns are not touched. */
static void
tls_fail(struct akv_fe *fe, struct akv_conn *c, const char *what, const char *why)
{
	tls_log(fe, c, what, why);
	tls_move_out(fe, c);
	conn_drain(fe, c, 1);
}

/* Hands held ciphertext to OpenSSL (recycling each buffer at once), drives
 * the handshake, and decrypts into c->rx. Returns 1 when plaintext was
 * added, 0 when more must be received (or the conn is failing). */
static int
tls_decrypt(struct akv_fe *fe, struct akv_conn *c)
{
	char why[AKV_TLS_WHY_MAX] = "";
	size_t n, room;
	int r;

	for (;;) {
		while (c->held_head >= 0 && akv_tls_conn_in_pending(c->tls) < TLS_IN_MAX) {
			uint32_t off = c->held_off, len = fe->held_len[c->held_head];

			akv_tls_conn_feed(c->tls,
					  fe->bufs + (size_t)c->held_head * AKV_FE_BUF_SIZE + off,
					  len - off);
			held_pop_head(fe, c);
		}
		if (!akv_tls_conn_ready(c->tls)) {
			r = akv_tls_conn_handshake(c->tls, why, sizeof(why));
			if (r < 0) {
				fe->st.tls_handshake_failures++;
				tls_fail(fe, c, "handshake failed", why);
				return 0;
			}
			if (r == AKV_TLS_WANT) {
				if (c->held_head < 0)
					return 0;
				continue;
			}
			fe->st.tls_handshakes++;
			if (akv_log_on(AKV_LOG_DEBUG))
				akv_log(AKV_LOG_DEBUG, "conn %s: TLS up, %s", c->info.peer_addr,
					akv_tls_conn_version(c->tls));
		}
		/* the partial frame, if any, to the front: room for a record */
		if (c->rx_off) {
			memmove(c->rx, c->rx + c->rx_off, c->rx_len);
			c->rx_off = 0;
		}
		room = AKV_CONN_RX_MAX - c->rx_len;
		if (!room)
			return 0; /* frame_len() refuses frames this long first */
		r = akv_tls_conn_read(c->tls, c->rx + c->rx_len, room, &n, why, sizeof(why));
		if (r == AKV_TLS_DONE) {
			c->rx_len += (uint32_t)n;
			return 1;
		}
		if (r == AKV_TLS_WANT) {
			if (c->held_head < 0)
				return 0;
			continue;
		}
		if (r == AKV_TLS_CLOSED) {
			conn_drain(fe, c, 0); /* close_notify: answer what was sent */
			return 0;
		}
		fe->st.tls_errors++;
		tls_fail(fe, c, "record error", why);
		return 0;
	}
}

/* TLS conns' conn_pump(): frames are cut from the decrypted bytes in c->rx
 * by rx_frame(), as for a plain conn's reassembly, with the same limits
 * (conn_can_take, AKV_CONN_RX_MAX); a conn that may not take a request stops
 * decrypting as a plain one stops reading, and more ciphertext is decrypted
 * only when no complete frame is waiting. */
static void
tls_pump(struct akv_fe *fe, struct akv_conn *c)
{
	for (;;) {
		int n, r;

		if (c->state != AKV_CONN_OPEN && (c->state != AKV_CONN_DRAINING || c->discard_rx))
			break;
		if (!conn_can_take(fe, c))
			break;
		r = c->rx_len ? rx_frame(fe, c, &n) : RX_PARTIAL;
		if (r == 1)
			continue;
		if (!r || !tls_decrypt(fe, c))
			break;
	}
	tls_move_out(fe, c);
	conn_update(fe, c);
}

/* ==== Accept ==== */

static void
arm_accept(struct akv_fe *fe, unsigned li)
{
	struct io_uring_sqe *sqe = fe_get_sqe(fe, ud_pack(li, 0, OP_ACCEPT));

	if (!sqe)
		return;
	io_uring_prep_multishot_accept(sqe, fe->lis[li].fd, NULL, NULL, SOCK_CLOEXEC);
	fe->lis[li].armed = 1;
}

static void
refuse(struct akv_fe *fe, int fd)
{
	close(fd);
	fe->st.conns_refused++;
	if (fe->now - fe->last_refuse_log >= LOG_EVERY_MS) {
		fe->last_refuse_log = fe->now;
		akv_log(AKV_LOG_WARN, "refusing connections: %s (%llu refused so far)",
			fe->stopping ? "shutting down" : "connection limit reached",
			(unsigned long long)fe->st.conns_refused);
	}
}

static void
conn_open(struct akv_fe *fe, unsigned li, int fd)
{
	struct akv_conn *c = &fe->conns[fe->free_conn];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64];
	size_t out_len = 0;
	int one = 1, r;

	fe->free_conn = c->next;
	fe->nlive++;
	fe->st.conns_accepted++;
	akv_conn_set_state(c, AKV_CONN_ACCEPTED);
	c->fd = fd;
	c->listener = (uint8_t)li;
	c->ops = fe->lis[li].ops;
	c->ctx_lines = c->ops->ctx_lines > 1 ? 2 : 1; /* see slot_take() */
	c->recv_armed = c->recv_cancel = c->recv_nobufs = c->discard_rx = 0;
	c->send_armed = c->send_len = c->send_off = c->tx_cur = 0;
	c->held_head = c->held_tail = -1;
	c->nheld = c->inflight = 0;
	c->done_head = c->done_tail = NULL;
	c->last_rx_ms = c->last_tx_ms = c->opened_ms = fe->now;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&c->info, 0, sizeof(c->info));
	c->info.cfg = fe->cfg;
	strcpy(c->info.peer_addr, "?");
	if (!getpeername(fd, (struct sockaddr *)&ss, &sl)) {
		akv_listen_fmt_addr((struct sockaddr *)&ss, 1, c->info.peer_addr,
				    sizeof(c->info.peer_addr));
		akv_listen_fmt_addr((struct sockaddr *)&ss, 0, host, sizeof(host));
		c->info.ind = akv_cfg_peer_ind(fe->cfg, NULL, host);
	} else {
		c->info.ind = -1;
	}
	if (fe->pst_size)
		memset(c->pst, 0, fe->pst_size);
	r = c->ops->conn_init(c->pst, &c->info, fe->scratch, sizeof(fe->scratch), &out_len);
	if (r < 0) {
		akv_log(AKV_LOG_WARN, "conn %s: %s init failed: %s", c->info.peer_addr,
			c->ops->name, akv_strerror(r));
		conn_close(fe, c);
		return;
	}
	c->proto_ready = 1;
	if (fe->lis[li].tls) {
		/* the client speaks first (ClientHello): nothing to send yet */
		c->tls = akv_tls_conn_new(fe->lis[li].tls);
		if (!c->tls) {
			akv_log(AKV_LOG_WARN, "conn %s: cannot create a TLS session",
				c->info.peer_addr);
			conn_close(fe, c);
			return;
		}
		akv_conn_bufs_alloc(c);
	}
	akv_conn_set_state(c, AKV_CONN_OPEN);
	if (out_len) {
		akv_conn_bufs_alloc(c);
		memcpy(akv_conn_tx_tail(c), fe->scratch, out_len);
		c->tx_len = (uint32_t)out_len;
	}
	conn_update(fe, c);
}

/* The [server] allow list (cfg.h). A refused client sees its connection
 * closed without a byte: AVS/1 has no greeting in which to say why. */
static int
peer_allowed(struct akv_fe *fe, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[64] = "?";
	int known;

	if (!fe->cfg->nallow)
		return 1;
	known = !getpeername(fd, (struct sockaddr *)&ss, &sl);
	if (known && akv_cfg_allowed(fe->cfg, (struct sockaddr *)&ss))
		return 1;
	fe->st.conns_not_allowed++;
	if (fe->now - fe->last_refuse_log >= LOG_EVERY_MS) {
		fe->last_refuse_log = fe->now;
		if (known)
			akv_listen_fmt_addr((struct sockaddr *)&ss, 1, addr, sizeof(addr));
		akv_log(AKV_LOG_WARN, "refusing %s: not in the allow list (%llu refused so far)",
			addr, (unsigned long long)fe->st.conns_not_allowed);
	}
	return 0;
}

static void
on_accept(struct akv_fe *fe, unsigned li, int res, unsigned flags)
{
	struct fe_listener *l = &fe->lis[li];

	if (!(flags & IORING_CQE_F_MORE)) {
		l->armed = 0;
		if (fe->stopping && l->fd >= 0) {
			close(l->fd);
			l->fd = -1;
		}
	}
	if (res < 0) {
		if (res != -ECANCELED && fe->now - fe->last_refuse_log >= LOG_EVERY_MS) {
			fe->last_refuse_log = fe->now;
			akv_log(AKV_LOG_WARN, "accept on %s: %s", l->addr, strerror(-res));
		}
		/* EMFILE and friends: wait a tick instead of spinning */
		l->rearm_at = fe->now + TIMER_MS;
		return;
	}
	if (l->ops->allow_list && !peer_allowed(fe, res)) {
		close(res);
		return;
	}
	if (fe->stopping || fe->free_conn == AKV_CONN_NONE) {
		refuse(fe, res);
		return;
	}
	conn_open(fe, li, res);
}

static void
arm_accepts(struct akv_fe *fe)
{
	for (unsigned i = 0; i < fe->nlis; i++)
		if (!fe->lis[i].armed && fe->lis[i].fd >= 0 && !fe->stopping &&
		    fe->now >= fe->lis[i].rearm_at)
			arm_accept(fe, i);
}

/* ==== Timer, signals, wake-ups ==== */

/* Arms one of the front end's own reads (OP_WAKE, OP_SIGNAL) or its timer
 * (OP_TIMER). With no SQE (SQ full and the submit refused, e.g. CQ overflow
 * backlog) the op is remembered and retried before the next wait. */
static void
arm_own(struct akv_fe *fe, enum fe_op op)
{
	struct io_uring_sqe *sqe = fe_get_sqe(fe, ud_pack(0, 0, op));

	if (!sqe) {
		fe->unarmed |= 1u << op;
		return;
	}
	fe->unarmed &= ~(1u << op);
	switch (op) {
	case OP_TIMER:
		fe->tick.tv_sec = 0;
		fe->tick.tv_nsec = TIMER_MS * 1000000LL;
		io_uring_prep_timeout(sqe, &fe->tick, 0, 0);
		break;
	case OP_WAKE:
		io_uring_prep_read(sqe, fe->wake.efd, &fe->wake_buf, sizeof(fe->wake_buf), 0);
		break;
	case OP_SIGNAL:
		io_uring_prep_read(sqe, fe->sigfd, &fe->sig, sizeof(fe->sig), 0);
		break;
	default:
		AKV_ASSERT(0);
	}
}

/* Calls the protocol's on_idle (Diameter DWR/DWA timers) for one conn. */
static void
conn_idle(struct akv_fe *fe, struct akv_conn *c)
{
	size_t out_len = 0;
	int r;

	if (!c->ops->on_idle)
		return;
	akv_conn_bufs_alloc(c);
	if (akv_conn_tx_room(c) < AKV_PROTO_OUT_MAX)
		return;
	r = c->ops->on_idle(c->pst, fe->now - c->last_rx_ms, fe->now - c->last_tx_ms,
			    akv_conn_tx_tail(c), akv_conn_tx_room(c), &out_len);
	c->tx_len += (uint32_t)out_len;
	if (r == AKV_PROTO_CLOSE || r < 0)
		conn_drain(fe, c, 1);
}

static void
idle_scan(struct akv_fe *fe)
{
	for (unsigned i = 0; i < fe->cfg->max_conns; i++) {
		struct akv_conn *c = &fe->conns[i];

		if (c->state == AKV_CONN_DEAD)
			continue;
		if (c->state == AKV_CONN_OPEN && c->tls && !akv_tls_conn_ready(c->tls) &&
		    fe->now - c->opened_ms >= fe->cfg->tls.handshake_ms) {
			/* a client that opened TCP and stalls in (or never starts)
			 * the handshake holds a conn and its buffers: bounded */
			fe->st.tls_handshake_timeouts++;
			tls_log(fe, c, "handshake not done in time", "timeout");
			conn_close(fe, c);
		} else if (c->state == AKV_CONN_OPEN) {
			conn_idle(fe, c);
		} else if (c->state == AKV_CONN_DRAINING &&
			   fe->now - c->drain_since_ms > CONN_DRAIN_MS) {
			conn_close(fe, c); /* a client that never reads its answers */
		}
		if (c->state != AKV_CONN_DEAD)
			conn_update(fe, c); /* retries a cancel/arm that found the SQ full */
	}
}

static void
on_timer(struct akv_fe *fe)
{
	arm_own(fe, OP_TIMER);
	if (fe->stopping && fe->now >= fe->stop_deadline) {
		for (unsigned i = 0; i < fe->cfg->max_conns; i++)
			if (fe->conns[i].state != AKV_CONN_DEAD)
				conn_close(fe, &fe->conns[i]);
	}
	if (fe->now - fe->last_idle_scan >= IDLE_SCAN_MS) {
		fe->last_idle_scan = fe->now;
		idle_scan(fe);
	}
}

static void
start_stop(struct akv_fe *fe, int signo)
{
	if (fe->stopping) {
		akv_log(AKV_LOG_WARN, "signal %d again: closing all connections now", signo);
		fe->stop_deadline = fe->now;
		return;
	}
	akv_log(AKV_LOG_INFO, "signal %d: stop accepting, answering %llu in-flight requests", signo,
		(unsigned long long)fe->st.inflight);
	fe->stopping = 1;
	fe->stop_deadline = fe->now + AKV_FE_DRAIN_MS;
	for (unsigned i = 0; i < fe->nlis; i++) {
		struct fe_listener *l = &fe->lis[i];
		struct io_uring_sqe *sqe;

		if (l->fd < 0)
			continue;
		if (!l->armed) {
			close(l->fd);
			l->fd = -1;
		} else if ((sqe = fe_get_sqe(fe, ud_pack(i, 0, OP_CANCEL)))) {
			io_uring_prep_cancel_fd(sqe, l->fd, 0);
		}
	}
	for (unsigned i = 0; i < fe->cfg->max_conns; i++)
		if (fe->conns[i].state == AKV_CONN_OPEN)
			conn_drain(fe, &fe->conns[i], 0);
}

static void
handle_cqe(struct akv_fe *fe, const struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	struct akv_conn *c;

	switch ((enum fe_op)(ud & 0xff)) {
	case OP_ACCEPT:
		on_accept(fe, (unsigned)(ud >> 32), cqe->res, cqe->flags);
		break;
	case OP_RECV:
		c = conn_at(fe, ud);
		if (c)
			on_recv(fe, c, cqe->res, cqe->flags);
		else if (cqe->flags & IORING_CQE_F_BUFFER)
			fe->bufs_out++, buf_recycle(fe, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		break;
	case OP_SEND:
		c = conn_at(fe, ud);
		if (c)
			on_send(fe, c, cqe->res);
		break;
	case OP_CANCEL:
		break;
	case OP_WAKE:
		arm_own(fe, OP_WAKE);
		break;
	case OP_SIGNAL:
		if (cqe->res == (int)sizeof(fe->sig))
			start_stop(fe, (int)fe->sig.ssi_signo);
		arm_own(fe, OP_SIGNAL);
		break;
	case OP_TIMER:
		on_timer(fe);
		break;
	}
}

/* ==== Loop ==== */

static void
pump_starved(struct akv_fe *fe)
{
	while (fe->nfree && fe->starved_head != AKV_CONN_NONE) {
		struct akv_conn *c = &fe->conns[fe->starved_head];

		fe->starved_head = c->next_starved;
		if (fe->starved_head == AKV_CONN_NONE)
			fe->starved_tail = AKV_CONN_NONE;
		c->starved = 0;
		if (c->state != AKV_CONN_DEAD)
			conn_pump(fe, c);
	}
}

static void
rearm_nobufs(struct akv_fe *fe)
{
	if (!fe->nobufs_waiting || fe->bufs_out >= fe->nbufs)
		return;
	for (unsigned i = 0; i < fe->cfg->max_conns && fe->nobufs_waiting; i++) {
		struct akv_conn *c = &fe->conns[i];

		if (!c->recv_nobufs)
			continue;
		c->recv_nobufs = 0;
		fe->nobufs_waiting--;
		if (c->state != AKV_CONN_DEAD)
			conn_update(fe, c);
	}
}

static void
before_wait(struct akv_fe *fe)
{
	for (unsigned w = 0; w < fe->nwrk; w++)
		if (fe->nstage[w])
			stage_flush(fe, w);
	flush_dirty(fe);
	if (fe->recycle_pending) {
		io_uring_buf_ring_advance(fe->br, (int)fe->recycle_pending);
		fe->recycle_pending = 0;
	}
	rearm_nobufs(fe);
	arm_accepts(fe);
	for (unsigned op = OP_WAKE; fe->unarmed && op <= OP_TIMER; op++)
		if (fe->unarmed & (1u << op))
			arm_own(fe, (enum fe_op)op);
}

/* see fe.h */
int
akv_fe_run(struct akv_fe *fe, int sigfd)
{
	AKV_ASSERT(fe->nwrk > 0);
	fe->sigfd = sigfd;
	fe->now = akv_mono_ms();
	fe->last_idle_scan = fe->now;
	arm_own(fe, OP_WAKE);
	arm_own(fe, OP_SIGNAL);
	arm_own(fe, OP_TIMER);
	while (!fe->stopping || fe->nlive || fe->st.inflight) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int r;

		before_wait(fe);
		poll_answers(fe);
		if (answers_pending(fe) || io_uring_cq_ready(&fe->ring)) {
			r = io_uring_submit_and_wait(&fe->ring, 0);
		} else {
			/* announce sleep, then re-check the answer rings (spsc.h) */
			akv_spsc_wake_prepare(&fe->wake);
			r = io_uring_submit_and_wait(&fe->ring, answers_pending(fe) ? 0 : 1);
			akv_spsc_wake_done(&fe->wake);
		}
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			akv_log(AKV_LOG_ERR, "io_uring_submit_and_wait: %s", strerror(-r));
			return r;
		}
		fe->now = akv_mono_ms();
		io_uring_for_each_cqe(&fe->ring, head, cqe)
		{
			handle_cqe(fe, cqe);
			n++;
		}
		io_uring_cq_advance(&fe->ring, n);
		collect_answers(fe);
		pump_starved(fe);
	}
	before_wait(fe);
	io_uring_submit(&fe->ring);
	akv_log(AKV_LOG_INFO, "front end stopped: %llu connections served, %llu refused",
		(unsigned long long)fe->st.conns_accepted,
		(unsigned long long)fe->st.conns_refused);
	return 0;
}

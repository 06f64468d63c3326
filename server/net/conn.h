/*
 * conn.h - one client connection of the io_uring front end (fe.c): its
 * state machine, its receive reassembly and its double-buffered transmit
 * queue. Owned and touched only by the front-end thread.
 *
 * States (STYLE 2.7; a static table in conn.c lists the legal moves and
 * every change goes through akv_conn_set_state(), which asserts it):
 *   DEAD      in the pool, free
 *   ACCEPTED  fd taken from accept, protocol state being prepared
 *   OPEN      reading, decoding, dispatching, answering
 *   DRAINING  no longer reading: answer what is in flight, send, then close
 *             (peer EOF, protocol asked to close, server shutdown)
 *   CLOSING   fd shut down; waiting for the outstanding recv/send CQEs and
 *             worker answers, then the fd is closed and the conn returns
 *             to the pool with its generation bumped
 * The Diameter peer states (CER/DWR/DPR) live in the protocol's own per-conn
 * state, behind proto.h, so both protocols share this table.
 *
 * Memory: struct akv_conn comes from a pool sized at start. The receive
 * reassembly buffer (AKV_CONN_RX_MAX) and the two transmit buffers
 * (AKV_CONN_TX_CAP each) are allocated once per connection on its first
 * received bytes and freed when it returns to the pool: connections that
 * never send (port scans, the 1000-connection test) cost no buffers.
 */
#ifndef AKV_SERVER_NET_CONN_H
#define AKV_SERVER_NET_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

#define AKV_CONN_RX_MAX (64 * 1024 + 64)	/* longest frame reassembled */
#define AKV_CONN_TX_CAP (2 * AKV_PROTO_OUT_MAX) /* per transmit buffer */
#define AKV_CONN_NONE UINT32_MAX

enum akv_conn_state {
	AKV_CONN_DEAD = 0,
	AKV_CONN_ACCEPTED,
	AKV_CONN_OPEN,
	AKV_CONN_DRAINING,
	AKV_CONN_CLOSING,
	AKV_CONN_NST
};

/* ==== Types ==== */

struct akv_fe_slot;
struct akv_tls_conn;

/* Fields are managed by conn.c and fe.c. */
struct akv_conn {
	uint32_t idx;	  /* position in the pool: user_data slot */
	uint16_t gen;	  /* bumped on every reuse: stale CQEs are dropped */
	uint8_t state;	  /* enum akv_conn_state */
	uint8_t listener; /* index of the listener that accepted it */
	int fd;
	const struct akv_proto_ops *ops;
	void *pst;	     /* protocol state, ops->conn_state_size bytes */
	struct akv_tls_conn *tls; /* NULL: plain TCP; else TLS on memory BIOs (fe.c, tls.h) */
	uint8_t proto_ready; /* conn_init succeeded: conn_fini is due */
	uint8_t ctx_lines;   /* of a slot's ctx, the protocol's encoder may read (fe.c) */

	/* receive */
	uint8_t recv_armed;	      /* multishot recv outstanding */
	uint8_t recv_cancel;	      /* a cancel for it was submitted */
	uint8_t recv_nobufs;	      /* ended by -ENOBUFS: re-arm once buffers return */
	uint8_t discard_rx;	      /* DRAINING: drop unread bytes instead of answering */
	int32_t held_head, held_tail; /* provided buffers received, not yet consumed */
	uint32_t held_off;	      /* bytes of held_head already consumed */
	uint32_t nheld;
	uint8_t *rx;		 /* reassembly of a frame split over buffers */
	uint32_t rx_off, rx_len; /* unconsumed bytes: rx[rx_off .. rx_off+rx_len) */

	/* transmit: tx[cur] fills while tx[cur ^ 1] is being sent */
	uint8_t *tx[2];
	uint8_t tx_cur;
	uint8_t send_armed;	     /* one send in flight at most */
	uint8_t dirty;		     /* on the front end's flush list */
	uint8_t starved;	     /* on the front end's wait-for-a-slot list */
	uint8_t pump_due;	     /* collect_answers: to read on after this batch */
	uint32_t tx_len;	     /* bytes queued in tx[cur] */
	uint32_t send_len, send_off; /* the buffer in flight */

	/* requests */
	uint32_t inflight;			   /* at workers, answers not yet encoded */
	struct akv_fe_slot *done_head, *done_tail; /* answered, waiting for tx room */

	uint64_t last_rx_ms, last_tx_ms, drain_since_ms;
	uint64_t opened_ms; /* accepted at: bounds a TLS handshake */
	uint32_t next;	       /* pool free list link */
	uint32_t next_dirty;   /* flush list link (may outlive a release: see dirty) */
	uint32_t next_starved; /* wait-for-a-slot list link */
	struct akv_proto_conn_info info;
};

/* ==== Lifecycle ==== */

/* Allocates the per-connection buffers if this conn has none yet. */
void akv_conn_bufs_alloc(struct akv_conn *c);
/* Frees them, and a TLS conn's session after wiping its plaintext buffers
 * (conn going back to the pool). */
void akv_conn_bufs_free(struct akv_conn *c);

/* ==== Operations ==== */

/* The only way to change c->state: asserts the move is in the table and
 * traces it at debug level. */
void akv_conn_set_state(struct akv_conn *c, enum akv_conn_state to);
const char *akv_conn_state_name(unsigned state);

/* Room left in the filling transmit buffer (0 before buffers exist). */
static inline uint32_t
akv_conn_tx_room(const struct akv_conn *c)
{
	return c->tx[0] ? AKV_CONN_TX_CAP - c->tx_len : 0;
}

/* Where the next answer bytes go (akv_conn_tx_room() bytes available). */
static inline uint8_t *
akv_conn_tx_tail(struct akv_conn *c)
{
	return c->tx[c->tx_cur] + c->tx_len;
}

/* Appends to the reassembly buffer (compacting it first if needed).
 * Returns 0, or AKV_ETOOBIG when the bytes do not fit in AKV_CONN_RX_MAX. */
int akv_conn_rx_append(struct akv_conn *c, const uint8_t *p, size_t n);
/* Consumes n bytes from the front of the reassembly buffer. */
void akv_conn_rx_consume(struct akv_conn *c, size_t n);

#ifdef __cplusplus
}
#endif
#endif

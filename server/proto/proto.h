/*
 * proto.h - what the io_uring front end needs from a wire protocol (AVS/1 in
 * avs1.c, Diameter in dia*.c). Everything here is I/O-free: the front end
 * moves bytes, the protocol turns them into engine requests and answers.
 *
 * Per connection the front end keeps `conn_state_size` bytes of protocol
 * state (zeroed, then conn_init). Per dispatched request it keeps a
 * struct akv_eng_req, room for AKV_VEC_MAX vectors, an akv_eng_digest and an
 * akv_cx_req as the protocol asks, and AKV_PROTO_CTX_MAX bytes of ctx the
 * encoder needs later (request id, Diameter ids and Session-Id to echo, ...).
 * A request may be answered after later ones (out of order).
 */
#ifndef AKV_SERVER_PROTO_PROTO_H
#define AKV_SERVER_PROTO_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "aka/eng.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AKV_PROTO_CTX_MAX 1024	/* per-request encoder context */
#define AKV_PROTO_OUT_MAX 16384	/* largest single answer a protocol may write */

/* on_msg results (>= 0). Errors are negative: the front end closes the conn
 * after sending any bytes written to out. */
enum akv_proto_action {
	AKV_PROTO_REPLY = 0,	/* *out_len bytes of answer in out; nothing dispatched */
	AKV_PROTO_DISPATCH = 1,	/* req filled: run it on the worker for req->impi's shard */
	AKV_PROTO_CLOSE = 2,	/* send *out_len bytes (may be 0), then close gracefully */
};

/* Where a request slot's optional parts live; the front end provides them. */
struct akv_proto_slot {
	struct akv_eng_req *req;		/* zeroed before on_msg, except the bytes
						 * of impi/impu past [0] */
	struct akv_eng_vec *vec;		/* AKV_VEC_MAX entries; req->vec already points here */
	struct akv_eng_digest *digest;		/* set req->digest = digest to use it */
	struct akv_cx_req *cx;			/* set req->cx = cx to use it */
	uint8_t *ctx;				/* AKV_PROTO_CTX_MAX bytes, not zeroed:
						 * write what encode reads */
};

struct akv_cfg;

struct akv_proto_conn_info {
	const struct akv_cfg *cfg;		/* server configuration (core/cfg.h) */
	char peer_addr[64];			/* "a.b.c.d:port" or "[v6]:port" */
	int ind;				/* IND slot configured for this peer, -1 none */
};

struct akv_proto_ops {
	const char *name;			/* "avs1", "diameter" */
	size_t conn_state_size;
	/* 1: the front end closes connections from addresses outside the
	 * [server] allow list at accept (AVS/1 has no handshake of its own;
	 * Diameter checks its peers at CER instead) */
	int allow_list;
	/* Cache lines of a slot's ctx (AKV_PROTO_CTX_MAX bytes) on_msg writes
	 * and encode reads for a usual request: the front end prefetches that
	 * many when it takes a slot and when the answer comes back. 0 = 1. */
	uint8_t ctx_lines;
	/* Prepares a conn's state. May write a greeting to out (*out_len). */
	int (*conn_init)(void *st, const struct akv_proto_conn_info *info, uint8_t *out,
			 size_t cap, size_t *out_len);
	/* Length of the next complete message at buf: >0 when known (the caller
	 * waits until that many bytes are buffered), AKV_EPARTIAL when more bytes
	 * are needed to tell, AKV_EPROTO / AKV_ETOOBIG when framing is lost. */
	int (*frame_len)(const uint8_t *buf, size_t len);
	/* Handles one complete message (len from frame_len). Returns an enum
	 * akv_proto_action or a negative error (then close). Must not keep
	 * pointers into msg after returning. */
	int (*on_msg)(void *st, const uint8_t *msg, size_t len, struct akv_proto_slot *slot,
		      uint8_t *out, size_t cap, size_t *out_len);
	/* Encodes the answer to a dispatched request once the worker filled it.
	 * Returns the answer length (> 0) or a negative error. */
	int (*encode)(void *st, const struct akv_proto_slot *slot, uint8_t *out, size_t cap);
	/* Called about once a second with the ms since the last byte received
	 * and sent; may write a message (Diameter DWR) or ask to close. Returns
	 * an enum akv_proto_action. NULL: nothing to do. */
	int (*on_idle)(void *st, uint64_t idle_rx_ms, uint64_t idle_tx_ms, uint8_t *out,
		       size_t cap, size_t *out_len);
	/* Counters for STATS / metrics (malformed frames etc.), may be NULL. */
	void (*conn_fini)(void *st);
};

extern const struct akv_proto_ops akv_avs1_ops;	/* avs1.c */
extern const struct akv_proto_ops akv_dia_ops;	/* dia_peer.c */

#ifdef __cplusplus
}
#endif
#endif

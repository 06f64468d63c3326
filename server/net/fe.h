/*
 * fe.h - the io_uring front end: one thread, one ring, all connections
 * (REFERENCE.md §7.4, STYLE 2.7). It accepts on its listeners (each an
 * address with a protocol's ops, proto.h), receives into a provided-buffer
 * ring with multishot recv, cuts frames with ops->frame_len, turns them
 * into requests with ops->on_msg, dispatches requests in batches to the
 * worker owning the IMPI's shard (akv_eng_shard_of; no IMPI: shard 0),
 * encodes the answers when they come back (in any order) and sends them
 * coalesced, one send in flight per connection. It never computes crypto.
 *
 * Bounds (memory stays bounded under any load): request slots are a pool
 * of cfg->max_inflight, per connection at most cfg->max_inflight_conn are
 * at workers; when a connection cannot take another request (no slot, its
 * quota used, or its answers not yet sent) its recv is cancelled and its
 * unread bytes stay in the provided buffers they arrived in, so the kernel
 * socket buffer and then TCP flow control push back on the client.
 *
 * Shutdown: a signal read from the signalfd given to akv_fe_run() stops
 * accepting, lets every connection finish the requests it already sent
 * (answers are sent), closes them, and returns; forced after 3 s.
 */
#ifndef AKV_SERVER_NET_FE_H
#define AKV_SERVER_NET_FE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AKV_FE_LISTENERS_MAX 8
#define AKV_FE_BUF_SIZE 16384 /* bytes per provided receive buffer */
#define AKV_FE_DRAIN_MS 3000  /* shutdown: longest wait for in-flight answers */

struct akv_cfg;
struct akv_fe;
struct akv_tls;
struct akv_wrk;
struct akv_spsc_wake;

/* Counters of the front end (read on its thread, e.g. by the STATS hook). */
struct akv_fe_stats {
	uint64_t conns_open, conns_accepted, conns_refused, conns_closed;
	uint64_t conns_not_allowed; /* closed at accept: address outside [server] allow */
	uint64_t inflight;		 /* requests at workers now */
	uint64_t requests[8];		 /* dispatched, by enum akv_op (index 0: other) */
	uint64_t replies_direct;	 /* answered by the protocol alone (PING, STATS, errors) */
	uint64_t answers, answer_errors; /* engine answers; those with err != 0 */
	uint64_t malformed;		 /* frames the protocol refused (on_msg < 0) */
	uint64_t framing;		 /* frame_len refused or frame over the reassembly limit */
	uint64_t encode_errors;
	uint64_t recv_stops; /* reads paused for backpressure */
	uint64_t nobufs;     /* receives that found no provided buffer */
	uint64_t rx_bytes, tx_bytes;
	/* TLS listeners (tls.h): handshakes completed; failed (bad records, a
	 * plain-text client, a missing or untrusted client certificate); not
	 * done within [tls] handshake-timeout-ms; record errors after it */
	uint64_t tls_handshakes, tls_handshake_failures, tls_handshake_timeouts, tls_errors;
};

/* ==== Lifecycle ==== */

/* Creates the ring (SINGLE_ISSUER | DEFER_TASKRUN), the provided-buffer
 * ring, the connection pool (cfg->max_conns) and request slots
 * (cfg->max_inflight). Must be called on the thread that will call
 * akv_fe_run(). Returns NULL with *err (-errno) and a message in errbuf. */
struct akv_fe *akv_fe_new(const struct akv_cfg *cfg, int *err, char *errbuf, size_t errcap);
void akv_fe_free(struct akv_fe *fe);

/* Adds a listener: `addr` HOST:PORT served by `ops`. The bound address
 * (the real port when 0 was asked) is written to bound. 0 or -errno /
 * AKV_EINVAL with a message in errbuf. Call before akv_fe_run(). */
int akv_fe_listen(struct akv_fe *fe, const char *addr, const struct akv_proto_ops *ops, char *bound,
		  size_t boundcap, char *errbuf, size_t errcap);

/* The same for a TLS listener: every connection it accepts runs TLS with
 * tls's certificate and client policy (tls.h), which must outlive the
 * front end (akv_fe_free() does not free it). */
int akv_fe_listen_tls(struct akv_fe *fe, const char *addr, const struct akv_proto_ops *ops,
		      struct akv_tls *tls, char *bound, size_t boundcap, char *errbuf,
		      size_t errcap);

/* The wake-up workers signal after pushing answers (wrk.h). */
struct akv_spsc_wake *akv_fe_wake(struct akv_fe *fe);
/* The workers, shard i = wrk[i] for i < nshards, then, when with_registrar,
 * the registrar (wrk.h) at wrk[nshards]: it gets every SAR, UAR and LIR,
 * the shards everything else. The array must outlive akv_fe_run(). */
void akv_fe_set_workers(struct akv_fe *fe, struct akv_wrk *const *wrk, unsigned nshards,
			int with_registrar);
/* Slots needed in each worker ring (a power of two >= max_inflight). */
size_t akv_fe_ring_cap(const struct akv_cfg *cfg);

/* Runs until a signal arrives on sigfd (a signalfd for SIGTERM/SIGINT) and
 * the drain is over. Returns 0, or -errno if the ring failed. */
int akv_fe_run(struct akv_fe *fe, int sigfd);

/* ==== Accessors ==== */

/* Front-end thread only (the STATS hook runs there). */
void akv_fe_stats(const struct akv_fe *fe, struct akv_fe_stats *out);

#ifdef __cplusplus
}
#endif
#endif

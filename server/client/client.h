/*
 * client.h - a small blocking AVS/1 client (docs/PROTOCOL.md), for tools,
 * tests and S-CSCF integrators.
 *
 * One struct akv_client is one TCP connection. Requests may be pipelined:
 * akv_client_send() queues (and assigns the id), akv_client_flush() writes,
 * akv_client_recv() returns the answer for an id (answers to other ids that
 * arrive first are kept for later calls). akv_client_call() does all three.
 *
 * Errors: 0 on success; -errno for system failures (-ECONNREFUSED,
 * -ETIMEDOUT when a call's timeout passes, -ECONNRESET when the server
 * closed); AKV_EPROTO when the server sent a malformed frame (the connection
 * is then unusable: every later call returns the same error); AKV_EINVAL /
 * AKV_ETOOBIG for a request the encoder refuses. An error *answer* from the
 * server is not a call failure: the call returns 0 and the answer has
 * AKV_AVS1_F_ERROR set with ans->err / ans->text.
 *
 * TLS (docs/TLS.md): akv_client_connect_tls() runs the same protocol over
 * TLS 1.2+ (OpenSSL), verifying the server's certificate against a CA file
 * and its name or IP address; a client certificate is presented when given.
 * A refused handshake or a bad record is AKV_EPROTO, and
 * akv_client_tls_error() says why (OpenSSL's reason, never key material).
 *
 * Thread-safety: a client is used by one thread at a time.
 */
#ifndef AKV_SERVER_CLIENT_CLIENT_H
#define AKV_SERVER_CLIENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/avs1.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AKV_CLIENT_TIMEOUT_MS 5000 /* default per-call timeout */
#define AKV_CLIENT_WHY_MAX 256	   /* size of a TLS reason */

struct akv_client;

/* TLS settings of akv_client_connect_tls(). */
struct akv_client_tls {
	const char *ca;		 /* PEM CA file the server's certificate must chain to */
	const char *cert, *key;	 /* PEM client certificate and key, or both NULL */
	const char *server_name; /* DNS name or IP the certificate must hold;
				  * NULL: the host part of hostport */
};

/* ==== TLS pieces (also for the load generator, bench/tool/load_tls.c) ==== */

struct ssl_ctx_st;
struct ssl_st;
/* The client context tls describes (TLS 1.2+, the server's certificate
 * verified against tls->ca, our certificate and key when given). Returns 0
 * with *out set, AKV_EINVAL when a file does not load, AKV_EPROTO when
 * OpenSSL fails; the reason is then in why (whylen bytes). */
int akv_client_tls_ctx_new(const struct akv_client_tls *tls, struct ssl_ctx_st **out, char *why,
			   size_t whylen);
/* Makes ssl accept only a certificate for name: a DNS name, or an IP
 * address as an iPAddress subjectAltName (RFC 6125). 0 or AKV_EINVAL. */
int akv_client_tls_expect_name(struct ssl_st *ssl, const char *name);

/* ==== Lifecycle ==== */

/* Connects to "HOST:PORT", "[V6ADDR]:PORT" or "HOST" (port 7430) within
 * timeout_ms (<= 0: AKV_CLIENT_TIMEOUT_MS). On success *out is the new client
 * and 0 is returned; else *out is NULL and the error is returned (-errno, or
 * AKV_EINVAL for an unparsable address, -EHOSTUNREACH when the name does not
 * resolve). */
int akv_client_connect(struct akv_client **out, const char *hostport, int timeout_ms);
/* The same over TLS. Besides akv_client_connect()'s errors: AKV_EINVAL when
 * a file of tls does not load, AKV_EPROTO when the handshake fails (the
 * server's certificate is not trusted or not for that name, or the server
 * refused ours); the reason is then in why (whylen bytes, may be NULL). */
int akv_client_connect_tls(struct akv_client **out, const char *hostport, int timeout_ms,
			   const struct akv_client_tls *tls, char *why, size_t whylen);
/* Closes the connection and frees everything (NULL is a no-op). Answers not
 * yet received are dropped. */
void akv_client_free(struct akv_client *c);

/* ==== Operations ==== */

/* Sets the timeout of later flush / recv / call (ms, > 0). */
void akv_client_set_timeout(struct akv_client *c, int timeout_ms);

/* Encodes r into the send buffer and sets r->id to a fresh id (ids start at 1
 * and increase). Nothing is written to the socket until a flush. Returns 0 or
 * the encoder's error (AKV_EINVAL, AKV_ETOOBIG). */
int akv_client_send(struct akv_client *c, struct akv_avs1_req *r);
/* Writes everything queued (reading incoming answers meanwhile so a full
 * pipeline cannot deadlock). Returns 0 or an error. */
int akv_client_flush(struct akv_client *c);
/* Waits for the answer to `id` (0: whichever answer comes first) and decodes
 * it into *a. Strings and payloads in *a point into the client's buffers and
 * stay valid until the next call of any akv_client_* function on c.
 * Returns 0 or an error. */
int akv_client_recv(struct akv_client *c, uint64_t id, struct akv_avs1_ans *a);
/* send + flush + recv of that id. */
int akv_client_call(struct akv_client *c, struct akv_avs1_req *r, struct akv_avs1_ans *a);

/* ==== Accessors ==== */

/* Number of answers received but not yet returned (out of order). */
size_t akv_client_pending(const struct akv_client *c);
/* The socket (for poll() by integrators; do not read or write it). */
int akv_client_fd(const struct akv_client *c);
/* Over TLS: why the session failed ("" if it did not, or plain TCP). */
const char *akv_client_tls_error(const struct akv_client *c);

#ifdef __cplusplus
}
#endif
#endif

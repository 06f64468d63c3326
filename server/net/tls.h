/*
 * tls.h - TLS for the front end's listeners, in user space (OpenSSL 3).
 *
 * This host's kernel has no kTLS, so the front end keeps its io_uring
 * path and runs TLS on memory BIOs (docs/TLS.md): received ciphertext is
 * written into the connection's read BIO, SSL_read() plaintext goes to the
 * reassembly buffer the protocol parses, and what OpenSSL writes (handshake
 * records, alerts, encrypted answers) is taken from the write BIO into the
 * send buffer. OpenSSL never sees the socket.
 *
 * Policy (RFC 8446, RFC 5246; DESIGN.md "Security"): TLS 1.2 at least (1.3
 * preferred by OpenSSL's negotiation), OpenSSL's default cipher suites, no
 * renegotiation, no session tickets or cache (a connection is long-lived:
 * resumption buys nothing), plaintext buffers cleansed by OpenSSL on
 * release. With a CA file, clients must present a certificate that chains
 * to it (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT).
 *
 * Messages carry OpenSSL's reason strings and file names only: never key
 * material or session secrets.
 */
#ifndef AKV_SERVER_NET_TLS_H
#define AKV_SERVER_NET_TLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AKV_TLS_WHY_MAX 256 /* size of a reason buffer */

struct akv_cfg_tls;
struct akv_tls;	     /* a server context (certificate, key, CA) */
struct akv_tls_conn; /* one connection's TLS state */

/* Results of akv_tls_conn_handshake() and akv_tls_conn_read(). */
enum {
	AKV_TLS_WANT = 0,   /* needs more received bytes */
	AKV_TLS_DONE = 1,   /* handshake complete / plaintext returned */
	AKV_TLS_CLOSED = 2, /* the peer sent close_notify */
};

/* ==== Lifecycle ==== */

/* Loads cfg->cert (chain), cfg->key and, if set, cfg->ca. NULL on failure
 * with "tls cert FILE: REASON" (or key, ca) in why. A key protected by a
 * passphrase fails (no prompt). */
struct akv_tls *akv_tls_server_new(const struct akv_cfg_tls *cfg, char *why, size_t whylen);
void akv_tls_free(struct akv_tls *t);

/* A connection in the server role, with empty memory BIOs. NULL when
 * OpenSSL cannot allocate (the caller refuses the connection). */
struct akv_tls_conn *akv_tls_conn_new(struct akv_tls *t);
/* A session whose handshake ran elsewhere (a client's, on its socket:
 * bench/tool/load_tls.c) moved onto memory BIOs and ready for read/write.
 * OpenSSL reads a record at a time from a socket, so nothing it took is
 * left undecrypted. NULL when OpenSSL cannot allocate (ssl is then still
 * the caller's); otherwise the connection owns ssl. */
struct ssl_st;
struct akv_tls_conn *akv_tls_conn_adopt(struct ssl_st *ssl);
/* Frees the SSL object and its BIOs (NULL is a no-op). */
void akv_tls_conn_free(struct akv_tls_conn *tc);

/* ==== Operations ==== */

/* Hands n received ciphertext bytes to OpenSSL (copied). */
void akv_tls_conn_feed(struct akv_tls_conn *tc, const uint8_t *p, size_t n);
/* Ciphertext received and not yet processed by OpenSSL. */
size_t akv_tls_conn_in_pending(const struct akv_tls_conn *tc);

/* Drives the handshake. AKV_TLS_DONE, AKV_TLS_WANT, or AKV_EPROTO with the
 * reason in why (an alert may be waiting in the output: send it). */
int akv_tls_conn_handshake(struct akv_tls_conn *tc, char *why, size_t whylen);
int akv_tls_conn_ready(const struct akv_tls_conn *tc);

/* Decrypts up to cap bytes into buf: AKV_TLS_DONE with *n > 0,
 * AKV_TLS_WANT, AKV_TLS_CLOSED, or AKV_EPROTO with the reason in why. */
int akv_tls_conn_read(struct akv_tls_conn *tc, uint8_t *buf, size_t cap, size_t *n, char *why,
		      size_t whylen);
/* Encrypts n plaintext bytes (all of them, into the output). 0 or
 * AKV_EPROTO with the reason in why. Only once the handshake is done. */
int akv_tls_conn_write(struct akv_tls_conn *tc, const uint8_t *p, size_t n, char *why,
		       size_t whylen);

/* Ciphertext OpenSSL produced and not yet taken. */
size_t akv_tls_conn_out_pending(const struct akv_tls_conn *tc);
/* Moves up to cap bytes of it into buf; returns the count. */
size_t akv_tls_conn_out_take(struct akv_tls_conn *tc, uint8_t *buf, size_t cap);

/* ==== Accessors ==== */

/* 1 when clients must present a certificate (a CA was configured). */
int akv_tls_verifies_clients(const struct akv_tls *t);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" of an established connection. */
const char *akv_tls_conn_version(const struct akv_tls_conn *tc);

#ifdef __cplusplus
}
#endif
#endif

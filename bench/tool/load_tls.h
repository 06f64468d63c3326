/*
 * load_tls.h - TLS for `akavs-bench load --tls` (docs/TLS.md): the handshake
 * (and the Diameter CER) run blocking on the connected socket, then the
 * session moves to memory BIOs and the io_uring loop carries its records:
 * received ciphertext goes in through load_tls_recv(), plaintext requests
 * out through load_tls_flush(), one send in flight as for plain conns.
 */
#ifndef AKV_BENCH_TOOL_LOAD_TLS_H
#define AKV_BENCH_TOOL_LOAD_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "bring.h"

struct akv_tls_conn;

struct load_tls_conn {
	SSL *ssl;		 /* the blocking session, until load_tls_go_async() */
	struct akv_tls_conn *tc; /* then: the server's memory-BIO session (net/tls.h) */
	struct akv_bring_tx ctx; /* records to send: one send in flight */
};

/* Handshake on the blocking socket fd with the server named `host` (an IP
 * address or a DNS name its certificate must hold), in ctx (the AVS/1
 * client's, akv_client_tls_ctx_new); returns 0, or -EPROTO after printing
 * OpenSSL's reason. */
int load_tls_connect(SSL_CTX *ctx, int fd, const char *host, struct load_tls_conn *lt);
/* Blocking I/O over the session before load_tls_go_async() (a CER): like
 * send(2) / recv(2), -1 on failure or timeout (SO_RCVTIMEO). */
ssize_t load_tls_send_blocking(struct load_tls_conn *lt, const void *p, size_t n);
ssize_t load_tls_recv_blocking(struct load_tls_conn *lt, void *p, size_t n);
/* From now on the ring carries the records. Returns 0 or -ENOMEM. */
int load_tls_go_async(struct load_tls_conn *lt);
/* Received ciphertext: decrypts it and hands the plaintext to deliver
 * (which returns 0 or a negative code that stops). Returns 0, deliver's
 * code, or -EPROTO for a bad record or a closed session. */
int load_tls_recv(struct load_tls_conn *lt, const uint8_t *p, size_t n,
		  int (*deliver)(void *arg, const uint8_t *p, size_t n), void *arg);
/* Encrypts the plaintext in pt's fill buffer (then empty) and whatever the
 * session has to say, and sends it unless a send is in flight. Returns
 * akv_bring_tx_flush()'s codes, or -EPROTO. */
int load_tls_flush(struct akv_bring *b, struct load_tls_conn *lt, struct akv_bring_tx *pt, int fd,
		   uint64_t user_data);
/* 1 when records wait to be sent (after load_tls_recv: call flush). */
int load_tls_want_send(const struct load_tls_conn *lt);
void load_tls_conn_free(struct load_tls_conn *lt);

#endif

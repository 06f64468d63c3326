/*
 * load_tls.c - see load_tls.h. The context and the name check are the AVS/1
 * client's (server/client/client.h), the memory-BIO session after the
 * handshake the server front end's (server/net/tls.h): no TLS code of its
 * own beyond the blocking handshake.
 */
#include "load_tls.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>

#include "client/client.h"
#include "err.h"
#include "mem.h"
#include "net/tls.h"

/* OpenSSL's reason for the last failure (akv_ossl_reason, core/err.h) */
static void
say(const char *what)
{
	char why[256];

	akv_ossl_reason(why, sizeof(why), "no reason given");
	fprintf(stderr, "load: TLS: %s: %s\n", what, why);
}

/* see load_tls.h */
int
load_tls_connect(SSL_CTX *ctx, int fd, const char *host, struct load_tls_conn *lt)
{
	struct timeval tv = {.tv_sec = 5};
	int r;

	ERR_clear_error();
	lt->ssl = SSL_new(ctx);
	if (!lt->ssl || SSL_set_fd(lt->ssl, fd) != 1) {
		say("cannot create a session");
		return -EPROTO;
	}
	if (akv_client_tls_expect_name(lt->ssl, host)) {
		say("bad server name");
		return -EPROTO;
	}
	/* a server that never answers must not hang the run: 5 s, then the
	 * ring takes the socket without a timeout */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	r = SSL_connect(lt->ssl);
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (r != 1) {
		say("handshake");
		return -EPROTO;
	}
	return 0;
}

/* see load_tls.h */
ssize_t
load_tls_send_blocking(struct load_tls_conn *lt, const void *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		int r = SSL_write(lt->ssl, (const uint8_t *)p + done, (int)(n - done));

		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return (ssize_t)n;
}

/* see load_tls.h */
ssize_t
load_tls_recv_blocking(struct load_tls_conn *lt, void *p, size_t n)
{
	int r = SSL_read(lt->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);

	return r > 0 ? r : -1;
}

/* see load_tls.h */
int
load_tls_go_async(struct load_tls_conn *lt)
{
	lt->tc = akv_tls_conn_adopt(lt->ssl);
	if (!lt->tc)
		return -ENOMEM;
	lt->ssl = NULL; /* the connection owns it now */
	return 0;
}

/* see load_tls.h */
int
load_tls_recv(struct load_tls_conn *lt, const uint8_t *p, size_t n,
	      int (*deliver)(void *arg, const uint8_t *p, size_t n), void *arg)
{
	static _Thread_local uint8_t pt[16384];
	char why[256] = "closed by the server (close_notify)";

	akv_tls_conn_feed(lt->tc, p, n);
	for (;;) {
		size_t got;
		int r = akv_tls_conn_read(lt->tc, pt, sizeof(pt), &got, why, sizeof(why));

		if (r == AKV_TLS_WANT)
			return 0;
		if (r != AKV_TLS_DONE) {
			fprintf(stderr, "load: TLS: receive: %s\n", why);
			return -EPROTO;
		}
		r = deliver(arg, pt, got);
		if (r < 0)
			return r;
	}
}

/* see load_tls.h */
int
load_tls_want_send(const struct load_tls_conn *lt)
{
	return akv_tls_conn_out_pending(lt->tc) > 0;
}

/* see load_tls.h */
int
load_tls_flush(struct akv_bring *b, struct load_tls_conn *lt, struct akv_bring_tx *pt, int fd,
	       uint64_t user_data)
{
	size_t plen = pt->len[pt->fill], pending;
	char why[256];

	if (lt->ctx.inflight)
		return 0; /* the plaintext waits in pt for this send's completion */
	if (plen) {
		if (akv_tls_conn_write(lt->tc, pt->buf[pt->fill], plen, why, sizeof(why))) {
			fprintf(stderr, "load: TLS: send: %s\n", why);
			return -EPROTO;
		}
		pt->len[pt->fill] = 0;
	}
	pending = akv_tls_conn_out_pending(lt->tc);
	if (pending) {
		uint8_t *dst = akv_bring_tx_room(&lt->ctx, pending, SIZE_MAX);

		lt->ctx.len[lt->ctx.fill] += akv_tls_conn_out_take(lt->tc, dst, pending);
	}
	return akv_bring_tx_flush(b, &lt->ctx, fd, user_data);
}

/* see load_tls.h */
void
load_tls_conn_free(struct load_tls_conn *lt)
{
	if (!lt)
		return;
	if (lt->tc)
		akv_tls_conn_free(lt->tc); /* and its SSL */
	else
		SSL_free(lt->ssl);
	akv_bring_tx_free(&lt->ctx);
	akv_free(lt);
}

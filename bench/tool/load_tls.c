/*
 * load_tls.c - see load_tls.h. The context and the name check are the AVS/1
 * client's (server/client/client.h), so both speak TLS alike.
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
	/* OpenSSL reads a record at a time from the socket (no read-ahead), so
	 * nothing it has taken from the socket is left undecrypted here: later
	 * records (a TLS 1.3 NewSessionTicket) come through the ring */
	lt->rbio = BIO_new(BIO_s_mem());
	lt->wbio = BIO_new(BIO_s_mem());
	if (!lt->rbio || !lt->wbio) {
		BIO_free(lt->rbio);
		BIO_free(lt->wbio);
		lt->rbio = lt->wbio = NULL;
		return -ENOMEM;
	}
	BIO_set_mem_eof_return(lt->rbio, -1); /* empty: "want read", not EOF */
	SSL_set_bio(lt->ssl, lt->rbio, lt->wbio);
	return 0;
}

/* see load_tls.h */
int
load_tls_recv(struct load_tls_conn *lt, const uint8_t *p, size_t n,
	      int (*deliver)(void *arg, const uint8_t *p, size_t n), void *arg)
{
	static _Thread_local uint8_t pt[16384];

	if (BIO_write(lt->rbio, p, (int)n) != (int)n)
		return -ENOMEM;
	for (;;) {
		int r = SSL_read(lt->ssl, pt, sizeof(pt));

		if (r > 0) {
			int rc = deliver(arg, pt, (size_t)r);

			if (rc < 0)
				return rc;
			continue;
		}
		if (SSL_get_error(lt->ssl, r) == SSL_ERROR_WANT_READ)
			return 0;
		say("receive");
		return -EPROTO;
	}
}

/* see load_tls.h */
int
load_tls_want_send(const struct load_tls_conn *lt)
{
	return BIO_ctrl_pending(lt->wbio) > 0;
}

/* see load_tls.h */
int
load_tls_flush(struct akv_bring *b, struct load_tls_conn *lt, struct akv_bring_tx *pt, int fd,
	       uint64_t user_data)
{
	size_t plen = pt->len[pt->fill], pending;

	if (lt->ctx.inflight)
		return 0; /* the plaintext waits in pt for this send's completion */
	if (plen) {
		/* into the memory BIO: all of it, in records of up to 16 KiB */
		if (SSL_write(lt->ssl, pt->buf[pt->fill], (int)plen) != (int)plen) {
			say("send");
			return -EPROTO;
		}
		pt->len[pt->fill] = 0;
	}
	pending = BIO_ctrl_pending(lt->wbio);
	if (pending) {
		uint8_t *dst = akv_bring_tx_room(&lt->ctx, pending, SIZE_MAX);

		if (BIO_read(lt->wbio, dst, (int)pending) != (int)pending)
			return -EPROTO;
		lt->ctx.len[lt->ctx.fill] += pending;
	}
	return akv_bring_tx_flush(b, &lt->ctx, fd, user_data);
}

/* see load_tls.h */
void
load_tls_conn_free(struct load_tls_conn *lt)
{
	if (!lt)
		return;
	SSL_free(lt->ssl); /* and its BIOs */
	akv_bring_tx_free(&lt->ctx);
	akv_free(lt);
}

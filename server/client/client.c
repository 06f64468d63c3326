/*
 * client.c - blocking AVS/1 client over a non-blocking socket and poll(),
 * so every wait has a deadline; optionally over TLS (OpenSSL on the same
 * non-blocking socket: WANT_READ/WANT_WRITE are waited for like EAGAIN).
 */
#include "client/client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "err.h"
#include "mem.h"

#define RX_MIN (2 * AKV_AVS1_FRAME_MAX)
#define RX_LIMIT (64u << 20) /* received-but-unclaimed bytes before giving up */
#define STASH_LIMIT 65536    /* out-of-order answers kept */

/* An answer that arrived before anyone asked for it. */
struct stashed {
	uint64_t id;
	uint8_t *frame;
	size_t len;
};

struct akv_client {
	int fd;
	int timeout_ms;
	int broken; /* sticky error once the stream is unusable */
	uint64_t next_id;
	uint8_t *tx; /* queued requests */
	size_t tx_len, tx_cap;
	uint8_t *rx; /* bytes received, [rx_off, rx_len) not yet consumed */
	size_t rx_off, rx_len, rx_cap;
	struct stashed *stash;
	size_t nstash, stash_cap;
	uint8_t *cur; /* stashed frame last returned, freed on next call */
	SSL_CTX *ctx; /* TLS, or NULL for plain TCP */
	SSL *ssl;
	char tls_why[AKV_CLIENT_WHY_MAX];
};

static int64_t
now_ms(void)
{
	return (int64_t)akv_mono_ms();
}

/* Splits "host:port", "[v6]:port" or "host" into host and port strings. */
static int
split_hostport(const char *hp, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *colon, *h = hp;
	size_t hl;

	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');

		if (!end || (end[1] && end[1] != ':'))
			return AKV_EINVAL;
		h = hp + 1;
		hl = (size_t)(end - h);
		colon = end[1] ? end + 1 : NULL;
	} else {
		colon = strrchr(hp, ':');
		if (colon && strchr(hp, ':') != colon)
			return AKV_EINVAL; /* bare IPv6 needs brackets */
		hl = colon ? (size_t)(colon - hp) : strlen(hp);
	}
	if (hl == 0 || hl >= hcap)
		return AKV_EINVAL;
	memcpy(host, h, hl);
	host[hl] = 0;
	if (!colon) {
		snprintf(port, pcap, "%d", AKV_AVS1_PORT);
		return 0;
	}
	if (!colon[1] || strlen(colon + 1) >= pcap ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return AKV_EINVAL;
	strcpy(port, colon + 1);
	return 0;
}

static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left = deadline - now_ms();
	int rc;

	if (left <= 0)
		return -ETIMEDOUT;
	rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	if (rc == 0)
		return now_ms() >= deadline ? -ETIMEDOUT : 0;
	return p.revents;
}

static int
connect_one(const struct addrinfo *ai, int64_t deadline)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	int one = 1, soerr = 0, rc;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return -errno;
	/* small request/answer frames: never wait for Nagle */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		rc = -errno;
		goto fail;
	}
	do {
		rc = wait_fd(fd, POLLOUT, deadline);
	} while (rc == 0);
	if (rc < 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
		rc = -errno;
		goto fail;
	}
	if (soerr) {
		rc = -soerr;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}

/* TCP connect; host receives the host part of hostport (256 bytes).
 * Returns the client, or NULL with *err set (never 0 then). */
static struct akv_client *
tcp_connect(const char *hostport, int timeout_ms, char *host, int64_t *deadline_out, int *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
	struct addrinfo *res = NULL, *ai;
	char port[16];
	struct akv_client *c;
	int64_t deadline;
	int fd = -EHOSTUNREACH, rc;

	if (timeout_ms <= 0)
		timeout_ms = AKV_CLIENT_TIMEOUT_MS;
	if (!hostport || split_hostport(hostport, host, 256, port, sizeof(port))) {
		*err = AKV_EINVAL;
		return NULL;
	}
	deadline = now_ms() + timeout_ms;
	*deadline_out = deadline;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		*err = rc == EAI_SYSTEM && errno > 0 ? -errno : -EHOSTUNREACH;
		return NULL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = connect_one(ai, deadline);
		if (fd >= 0 || fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	c = akv_calloc(1, sizeof(*c));
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	c->next_id = 1;
	c->rx_cap = RX_MIN;
	c->rx = akv_malloc(c->rx_cap);
	*err = 0;
	return c;
}

/* see client.h */
int
akv_client_connect(struct akv_client **out, const char *hostport, int timeout_ms)
{
	char host[256];
	int64_t deadline;
	int rc;

	*out = tcp_connect(hostport, timeout_ms, host, &deadline, &rc);
	return rc;
}

/* OpenSSL writes to the socket with write(2), not send(MSG_NOSIGNAL): a
 * server that closed would raise SIGPIPE and kill the caller. Around each
 * SSL call SIGPIPE is blocked for this thread, and one it raised is taken
 * off the pending set before the old mask comes back. */
struct pipe_guard {
	sigset_t old;
	int was_pending;
};

static void
pipe_block(struct pipe_guard *g)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	g->was_pending = !sigpending(&pend) && sigismember(&pend, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void
pipe_unblock(struct pipe_guard *g)
{
	static const struct timespec now = {0, 0};
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	if (!g->was_pending && !sigpending(&pend) && sigismember(&pend, SIGPIPE))
		sigtimedwait(&set, NULL, &now);
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

enum ssl_op { IO_CONNECT, IO_READ, IO_WRITE, IO_SHUTDOWN };

/* One SSL call with SIGPIPE held off (a read may write too: alerts). */
static int
ssl_io(struct akv_client *c, enum ssl_op op, uint8_t *buf, size_t len, size_t *done)
{
	struct pipe_guard g;
	int r;

	ERR_clear_error();
	pipe_block(&g);
	switch (op) {
	case IO_CONNECT:
		r = SSL_connect(c->ssl);
		break;
	case IO_READ:
		r = SSL_read_ex(c->ssl, buf, len, done);
		break;
	case IO_WRITE:
		r = SSL_write_ex(c->ssl, buf, len, done);
		break;
	default:
		r = SSL_shutdown(c->ssl);
		break;
	}
	pipe_unblock(&g);
	return r;
}

/* The oldest OpenSSL error (akv_ossl_reason), and the verification result
 * when it failed (an untrusted or misnamed server certificate). */
static void
tls_reason(struct akv_client *c, const char *fallback)
{
	long v = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
	size_t l;

	akv_ossl_reason(c->tls_why, sizeof(c->tls_why), fallback);
	l = strlen(c->tls_why);
	if (v != X509_V_OK)
		snprintf(c->tls_why + l, sizeof(c->tls_why) - l, " (%s)",
			 X509_verify_cert_error_string(v));
}

/* OpenSSL's reason for a file that did not load: "WHAT FILE: reason". */
static void
file_reason(char *why, size_t whylen, const char *what, const char *file, const char *fallback)
{
	char r[AKV_CLIENT_WHY_MAX];

	akv_ossl_reason(r, sizeof(r), fallback);
	snprintf(why, whylen, "%s %.100s: %.120s", what, file ? file : "(none)", r);
}

/* see client.h */
int
akv_client_tls_ctx_new(const struct akv_client_tls *t, struct ssl_ctx_st **out, char *why,
		       size_t whylen)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	*out = NULL;
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		akv_ossl_reason(why, whylen, "cannot create a context");
		return AKV_EPROTO;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CLEANSE_PLAINTEXT);
	if (!t->ca || SSL_CTX_load_verify_locations(ctx, t->ca, NULL) != 1) {
		file_reason(why, whylen, "CA file", t->ca, "no CA certificate in it");
		goto bad_file;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (t->cert && SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
		file_reason(why, whylen, "certificate", t->cert, "cannot load");
		goto bad_file;
	}
	if (t->cert &&
	    (!t->key || SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(ctx) != 1)) {
		file_reason(why, whylen, "key", t->key, "missing or not the certificate's");
		goto bad_file;
	}
	*out = ctx;
	return 0;
bad_file:
	SSL_CTX_free(ctx);
	return AKV_EINVAL;
}

/* see client.h */
int
akv_client_tls_expect_name(struct ssl_st *ssl, const char *name)
{
	uint8_t ip[16];
	int is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;

	/* RFC 6125: the name (or RFC 5280 iPAddress) the certificate must hold */
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) != 1
		  : SSL_set1_host(ssl, name) != 1 || SSL_set_tlsext_host_name(ssl, name) != 1)
		return AKV_EINVAL;
	return 0;
}

/* Maps an SSL call's failure: 0 to wait (WANT_*), else an error. */
static int
tls_status(struct akv_client *c, int r)
{
	int e = SSL_get_error(c->ssl, r);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return 0;
	}
	if (e == SSL_ERROR_ZERO_RETURN) {
		snprintf(c->tls_why, sizeof(c->tls_why), "closed by the server (close_notify)");
		return -ECONNRESET;
	}
	if (e == SSL_ERROR_SYSCALL && !ERR_peek_error()) {
		snprintf(c->tls_why, sizeof(c->tls_why), "connection closed by the server");
		return -ECONNRESET;
	}
	tls_reason(c, "protocol error");
	return AKV_EPROTO;
}

static int
tls_setup(struct akv_client *c, const struct akv_client_tls *t, const char *host)
{
	const char *name = t->server_name && t->server_name[0] ? t->server_name : host;
	int rc = akv_client_tls_ctx_new(t, &c->ctx, c->tls_why, sizeof(c->tls_why));

	if (rc)
		return rc;
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
		return tls_reason(c, "cannot create a session"), AKV_EPROTO;
	SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (akv_client_tls_expect_name(c->ssl, name)) {
		tls_reason(c, "bad server name");
		return AKV_EINVAL;
	}
	return 0;
}

/* see client.h */
int
akv_client_connect_tls(struct akv_client **out, const char *hostport, int timeout_ms,
		       const struct akv_client_tls *tls, char *why, size_t whylen)
{
	struct akv_client *c;
	char host[256];
	int64_t deadline;
	int rc;

	if (why && whylen)
		why[0] = '\0';
	*out = c = tcp_connect(hostport, timeout_ms, host, &deadline, &rc);
	if (!c)
		return rc;
	rc = tls_setup(c, tls, host);
	while (!rc) {
		int r;

		r = ssl_io(c, IO_CONNECT, NULL, 0, NULL);
		if (r == 1)
			break;
		rc = tls_status(c, r);
		if (rc)
			break;
		rc = wait_fd(c->fd, SSL_want_write(c->ssl) ? POLLOUT : POLLIN, deadline);
		if (rc > 0)
			rc = 0;
	}
	if (rc) {
		if (why && whylen)
			snprintf(why, whylen, "%s", c->tls_why[0] ? c->tls_why : akv_strerror(rc));
		akv_client_free(c);
		*out = NULL;
	}
	return rc;
}

/* see client.h */
void
akv_client_free(struct akv_client *c)
{
	if (!c)
		return;
	if (c->ssl) {
		/* close_notify, best effort (non-blocking): the server then
		 * answers what it already received and closes */
		if (!c->broken && SSL_is_init_finished(c->ssl))
			ssl_io(c, IO_SHUTDOWN, NULL, 0, NULL);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	ERR_clear_error();
	close(c->fd);
	for (size_t i = 0; i < c->nstash; i++)
		akv_free(c->stash[i].frame);
	akv_free(c->stash);
	akv_free(c->cur);
	/* answers may hold CK/IK */
	akv_wipe(c->rx, c->rx_cap);
	akv_free(c->rx);
	akv_free(c->tx);
	akv_free(c);
}

/* see client.h */
void
akv_client_set_timeout(struct akv_client *c, int timeout_ms)
{
	if (timeout_ms > 0)
		c->timeout_ms = timeout_ms;
}

/* see client.h */
size_t
akv_client_pending(const struct akv_client *c)
{
	return c->nstash;
}

/* see client.h */
int
akv_client_fd(const struct akv_client *c)
{
	return c->fd;
}

/* see client.h */
const char *
akv_client_tls_error(const struct akv_client *c)
{
	return c->tls_why;
}

/* see client.h */
int
akv_client_send(struct akv_client *c, struct akv_avs1_req *r)
{
	uint64_t saved = r->id;
	size_t need;
	int n;

	if (c->broken)
		return c->broken;
	/* the largest request is a few KiB; reserve one frame's room */
	need = c->tx_len + AKV_AVS1_FRAME_MAX;
	if (need > c->tx_cap) {
		c->tx_cap = need * 2;
		c->tx = akv_realloc(c->tx, c->tx_cap);
	}
	r->id = c->next_id;
	n = akv_avs1_req_encode(r, c->tx + c->tx_len, c->tx_cap - c->tx_len);
	if (n < 0) {
		r->id = saved;
		return n;
	}
	c->next_id++;
	c->tx_len += (size_t)n;
	return 0;
}

/* Reads what the socket has into rx. Returns >0 bytes, 0 nothing now, <0 error. */
static int
read_some(struct akv_client *c)
{
	ssize_t n;

	if (c->rx_off == c->rx_len) {
		c->rx_off = c->rx_len = 0;
	} else if (c->rx_len == c->rx_cap) {
		if (c->rx_off) {
			memmove(c->rx, c->rx + c->rx_off, c->rx_len - c->rx_off);
			c->rx_len -= c->rx_off;
			c->rx_off = 0;
		} else {
			if (c->rx_cap >= RX_LIMIT)
				return AKV_ELIMIT;
			c->rx_cap *= 2;
			c->rx = akv_realloc(c->rx, c->rx_cap);
		}
	}
	if (c->ssl) {
		size_t got = 0;
		int r;

		r = ssl_io(c, IO_READ, c->rx + c->rx_len, c->rx_cap - c->rx_len, &got);
		if (r != 1)
			return tls_status(c, r);
		c->rx_len += got;
		return (int)got;
	}
	n = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, 0);
	if (n > 0) {
		c->rx_len += (size_t)n;
		return (int)n;
	}
	if (n == 0)
		return -ECONNRESET;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -errno;
}

/* see client.h */
int
akv_client_flush(struct akv_client *c)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	size_t off = 0;
	int rc = 0;

	if (c->broken)
		return c->broken;
	while (off < c->tx_len) {
		ssize_t n;

		if (c->ssl) {
			size_t put = 0;
			int r;

			r = ssl_io(c, IO_WRITE, c->tx + off, c->tx_len - off, &put);
			if (r == 1) {
				off += put;
				continue;
			}
			rc = tls_status(c, r);
			if (rc)
				break;
		} else {
			n = send(c->fd, c->tx + off, c->tx_len - off, MSG_NOSIGNAL);
			if (n > 0) {
				off += (size_t)n;
				continue;
			}
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				rc = -errno;
				break;
			}
		}
		/* the server may be waiting for us to read its answers */
		rc = wait_fd(c->fd, POLLOUT | POLLIN, deadline);
		if (rc < 0)
			break;
		if (rc & (POLLIN | POLLHUP | POLLERR)) {
			rc = read_some(c);
			if (rc < 0)
				break;
		}
		rc = 0;
	}
	memmove(c->tx, c->tx + off, c->tx_len - off);
	c->tx_len -= off;
	if (rc < 0 && rc != -ETIMEDOUT)
		c->broken = rc;
	return rc;
}

static int
stash_frame(struct akv_client *c, uint64_t id, const uint8_t *f, size_t len)
{
	if (c->nstash >= STASH_LIMIT)
		return AKV_ELIMIT;
	if (c->nstash == c->stash_cap) {
		c->stash_cap = c->stash_cap ? c->stash_cap * 2 : 16;
		c->stash = akv_realloc(c->stash, c->stash_cap * sizeof(*c->stash));
	}
	c->stash[c->nstash].id = id;
	c->stash[c->nstash].frame = akv_malloc(len);
	memcpy(c->stash[c->nstash].frame, f, len);
	c->stash[c->nstash].len = len;
	c->nstash++;
	return 0;
}

static int
decode_into(struct akv_client *c, const uint8_t *f, size_t len, struct akv_avs1_ans *a)
{
	int rc = akv_avs1_ans_decode(f, len, a, NULL);

	if (rc)
		c->broken = AKV_EPROTO;
	return rc ? AKV_EPROTO : 0;
}

/* Looks for a stashed answer to id (0: any). */
static int
from_stash(struct akv_client *c, uint64_t id, struct akv_avs1_ans *a)
{
	for (size_t i = 0; i < c->nstash; i++) {
		if (id && c->stash[i].id != id)
			continue;
		size_t len = c->stash[i].len;
		int rc;

		c->cur = c->stash[i].frame;
		c->stash[i] = c->stash[--c->nstash];
		rc = decode_into(c, c->cur, len, a);
		return rc ? rc : 1;
	}
	return 0;
}

/* see client.h */
int
akv_client_recv(struct akv_client *c, uint64_t id, struct akv_avs1_ans *a)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	int rc;

	if (c->cur) {
		akv_free(c->cur);
		c->cur = NULL;
	}
	if (c->broken)
		return c->broken;
	rc = from_stash(c, id, a);
	if (rc)
		return rc < 0 ? rc : 0;
	for (;;) {
		const uint8_t *f = c->rx + c->rx_off;
		size_t have = c->rx_len - c->rx_off;
		int flen = akv_avs1_frame_len(f, have);

		if (flen > 0 && (size_t)flen <= have) {
			uint64_t fid;

			if (flen < AKV_AVS1_HDR_LEN) {
				c->broken = AKV_EPROTO;
				return c->broken;
			}
			fid = (uint64_t)f[8] << 56 | (uint64_t)f[9] << 48 | (uint64_t)f[10] << 40 |
			      (uint64_t)f[11] << 32 | (uint64_t)f[12] << 24 |
			      (uint64_t)f[13] << 16 | (uint64_t)f[14] << 8 | f[15];
			c->rx_off += (size_t)flen;
			if (!id || fid == id) {
				/* the frame stays in rx until the next call */
				return decode_into(c, f, (size_t)flen, a);
			}
			rc = stash_frame(c, fid, f, (size_t)flen);
			if (rc) {
				c->broken = rc;
				return rc;
			}
			continue;
		}
		if (flen < 0 && flen != AKV_EPARTIAL) {
			c->broken = AKV_EPROTO;
			return c->broken;
		}
		rc = read_some(c);
		if (rc > 0)
			continue;
		if (rc < 0) {
			c->broken = rc;
			return rc;
		}
		rc = wait_fd(c->fd, POLLIN, deadline);
		if (rc < 0)
			return rc;
	}
}

/* see client.h */
int
akv_client_call(struct akv_client *c, struct akv_avs1_req *r, struct akv_avs1_ans *a)
{
	int rc = akv_client_send(c, r);

	if (!rc)
		rc = akv_client_flush(c);
	if (!rc)
		rc = akv_client_recv(c, r->id, a);
	return rc;
}

/*
 * tls.c - server-side TLS on memory BIOs for the front end (see tls.h).
 */
#include "tls.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cfg.h"
#include "err.h"
#include "log.h"
#include "mem.h"

struct akv_tls {
	SSL_CTX *ctx;
	int verify_clients;
};

struct akv_tls_conn {
	SSL *ssl;
	BIO *rbio; /* ciphertext in: owned by ssl */
	BIO *wbio; /* ciphertext out: owned by ssl */
	int ready; /* handshake complete */
	char version[64];
};

/* No passphrase prompt on the server's terminal: an encrypted key fails. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return 0;
}

/* see tls.h */
struct akv_tls *
akv_tls_server_new(const struct akv_cfg_tls *cfg, char *why, size_t whylen)
{
	char reason[AKV_TLS_WHY_MAX];
	struct akv_tls *t;
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		akv_ossl_reason(reason, sizeof(reason), "cannot create a context");
		snprintf(why, whylen, "tls: %s", reason);
		return NULL;
	}
	/* RFC 8996 deprecates TLS 1.0/1.1 */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* SSL_OP_CLEANSE_PLAINTEXT: answers carry CK/IK; OpenSSL wipes its
	 * plaintext copies when it frees them */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
				     SSL_OP_CLEANSE_PLAINTEXT | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* idle connections keep no 2 x 17 KiB record buffers */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1) {
		akv_ossl_reason(reason, sizeof(reason), "cannot load");
		snprintf(why, whylen, "tls cert %s: %s", cfg->cert, reason);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1) {
		akv_ossl_reason(reason, sizeof(reason), "cannot load");
		snprintf(why, whylen, "tls key %s: %s", cfg->key, reason);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		akv_ossl_reason(reason, sizeof(reason), "does not match the certificate");
		snprintf(why, whylen, "tls key %s does not match cert %s: %s", cfg->key, cfg->cert,
			 reason);
		goto fail;
	}
	t = akv_calloc(1, sizeof(*t));
	if (cfg->ca[0]) {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(ctx, cfg->ca, NULL) != 1 ||
		    !(names = SSL_load_client_CA_file(cfg->ca))) {
			akv_ossl_reason(reason, sizeof(reason), "no CA certificate in it");
			snprintf(why, whylen, "tls ca %s: %s", cfg->ca, reason);
			akv_free(t);
			goto fail;
		}
		/* the CA names in CertificateRequest tell the client which cert to send */
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		t->verify_clients = 1;
	}
	t->ctx = ctx;
	return t;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* see tls.h */
void
akv_tls_free(struct akv_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	akv_free(t);
}

/* see tls.h */
int
akv_tls_verifies_clients(const struct akv_tls *t)
{
	return t->verify_clients;
}

/* ssl on two new memory BIOs, or NULL (ssl is then still the caller's) */
static struct akv_tls_conn *
conn_on_bios(SSL *ssl)
{
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	struct akv_tls_conn *tc;

	if (!ssl || !rb || !wb) {
		BIO_free(rb);
		BIO_free(wb);
		ERR_clear_error();
		return NULL;
	}
	tc = akv_calloc(1, sizeof(*tc));
	tc->ssl = ssl;
	tc->rbio = rb;
	tc->wbio = wb;
	/* an empty read BIO means "wait for more", not end of stream */
	BIO_set_mem_eof_return(rb, -1);
	SSL_set_bio(ssl, rb, wb);
	return tc;
}

/* see tls.h */
struct akv_tls_conn *
akv_tls_conn_new(struct akv_tls *t)
{
	SSL *ssl = SSL_new(t->ctx);
	struct akv_tls_conn *tc = conn_on_bios(ssl);

	if (!tc) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(tc->ssl);
	return tc;
}

/* see tls.h */
struct akv_tls_conn *
akv_tls_conn_adopt(struct ssl_st *ssl)
{
	struct akv_tls_conn *tc = conn_on_bios(ssl);

	if (!tc)
		return NULL;
	tc->ready = 1;
	snprintf(tc->version, sizeof(tc->version), "%s %s", SSL_get_version(ssl),
		 SSL_get_cipher_name(ssl));
	return tc;
}

/* see tls.h */
void
akv_tls_conn_free(struct akv_tls_conn *tc)
{
	if (!tc)
		return;
	SSL_free(tc->ssl); /* frees the BIOs; session keys are cleansed by OpenSSL */
	akv_free(tc);
}

/* see tls.h */
void
akv_tls_conn_feed(struct akv_tls_conn *tc, const uint8_t *p, size_t n)
{
	size_t done = 0;

	/* a memory BIO grows as needed: the caller bounds what it holds */
	if (n && BIO_write_ex(tc->rbio, p, n, &done) != 1)
		AKV_ASSERT(0 && "memory BIO write failed");
	AKV_ASSERT(done == n);
}

/* see tls.h */
size_t
akv_tls_conn_in_pending(const struct akv_tls_conn *tc)
{
	return BIO_ctrl_pending(tc->rbio);
}

/* The verdict on an SSL call that returned r <= 0. */
static int
ssl_fail(struct akv_tls_conn *tc, int r, char *why, size_t whylen)
{
	int e = SSL_get_error(tc->ssl, r);
	long v;

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return AKV_TLS_WANT;
	}
	if (e == SSL_ERROR_ZERO_RETURN) {
		ERR_clear_error();
		return AKV_TLS_CLOSED;
	}
	akv_ossl_reason(why, whylen, "protocol error");
	v = SSL_get_verify_result(tc->ssl);
	if (v != X509_V_OK && why) {
		size_t l = strlen(why);

		snprintf(why + l, whylen - l, " (%s)", X509_verify_cert_error_string(v));
	}
	return AKV_EPROTO;
}

/* see tls.h */
int
akv_tls_conn_handshake(struct akv_tls_conn *tc, char *why, size_t whylen)
{
	int r;

	if (tc->ready)
		return AKV_TLS_DONE;
	ERR_clear_error();
	r = SSL_do_handshake(tc->ssl);
	if (r == 1) {
		tc->ready = 1;
		snprintf(tc->version, sizeof(tc->version), "%s %s", SSL_get_version(tc->ssl),
			 SSL_get_cipher_name(tc->ssl));
		return AKV_TLS_DONE;
	}
	r = ssl_fail(tc, r, why, whylen);
	/* close_notify before the handshake ends is a failed handshake */
	if (r == AKV_TLS_CLOSED) {
		snprintf(why, whylen, "closed by the peer during the handshake");
		return AKV_EPROTO;
	}
	return r;
}

/* see tls.h */
int
akv_tls_conn_ready(const struct akv_tls_conn *tc)
{
	return tc->ready;
}

/* see tls.h */
int
akv_tls_conn_read(struct akv_tls_conn *tc, uint8_t *buf, size_t cap, size_t *n, char *why,
		  size_t whylen)
{
	int r;

	*n = 0;
	ERR_clear_error();
	r = SSL_read_ex(tc->ssl, buf, cap, n);
	if (r == 1)
		return AKV_TLS_DONE;
	return ssl_fail(tc, r, why, whylen);
}

/* see tls.h */
int
akv_tls_conn_write(struct akv_tls_conn *tc, const uint8_t *p, size_t n, char *why, size_t whylen)
{
	size_t done = 0;
	int r;

	AKV_ASSERT(tc->ready);
	ERR_clear_error();
	/* memory BIOs never refuse: the whole buffer goes out as records */
	r = SSL_write_ex(tc->ssl, p, n, &done);
	if (r == 1 && done == n)
		return 0;
	r = ssl_fail(tc, r, why, whylen);
	if (r >= 0)
		snprintf(why, whylen, "write interrupted (%zu of %zu bytes)", done, n);
	return AKV_EPROTO;
}

/* see tls.h */
size_t
akv_tls_conn_out_pending(const struct akv_tls_conn *tc)
{
	return BIO_ctrl_pending(tc->wbio);
}

/* see tls.h */
size_t
akv_tls_conn_out_take(struct akv_tls_conn *tc, uint8_t *buf, size_t cap)
{
	size_t n = 0;

	if (cap && BIO_ctrl_pending(tc->wbio) && BIO_read_ex(tc->wbio, buf, cap, &n) != 1)
		n = 0;
	return n;
}

/* see tls.h */
const char *
akv_tls_conn_version(const struct akv_tls_conn *tc)
{
	return tc->ready ? tc->version : "handshake";
}

/*
 * digest.c - HTTP Digest AKA for the S-CSCF side of IMS registration.
 *
 * RFC 3310 (AKAv1-MD5): an ordinary RFC 2617 MD5 digest whose password is
 * the raw RES octets. RFC 4169 (AKAv2-MD5): the password is
 * base64(HMAC-MD5(RES || IK || CK, "http-digest-akav2-password")).
 * The nonce carries base64(RAND || AUTN) (RFC 3310 §3.2), and the challenge
 * towards the P-CSCF carries ck/ik (TS 24.229 §5.4.1.2.1, TS 33.203).
 *
 * MD5 and HMAC come from OpenSSL EVP (fetched once). HA1 and the password are
 * as good as RES for an attacker, so every intermediate is wiped.
 */
#include "akv_crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* RFC 4169 §3: the PRF label for the AKAv2 password. */
static const char akav2_label[] = "http-digest-akav2-password";

static EVP_MD *md5;
static EVP_MAC *hmac;
static pthread_once_t evp_once = PTHREAD_ONCE_INIT;

static void
fetch_evp(void)
{
	md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* ==== MD5 over a list of pieces joined by ':' ==== */

struct piece {
	const void *p;
	size_t n;
};

/* hex(MD5(pieces[0] ":" pieces[1] ":" ...)) into hex[33]. */
static void
md5_hex_joined(EVP_MD_CTX *ctx, const struct piece *pieces, size_t count, char hex[33])
{
	uint8_t h[16];
	unsigned hlen = 0;
	int ok = EVP_DigestInit_ex2(ctx, md5, NULL);

	for (size_t i = 0; ok && i < count; i++) {
		if (i)
			ok = EVP_DigestUpdate(ctx, ":", 1);
		if (ok && pieces[i].n)
			ok = EVP_DigestUpdate(ctx, pieces[i].p, pieces[i].n);
	}
	ok = ok && EVP_DigestFinal_ex(ctx, h, &hlen);
	/* MD5 missing (e.g. a FIPS-only provider) is a deployment bug, not input */
	AKV_ASSERT(ok && hlen == 16);
	akv_hex_encode(h, 16, hex);
	akv_wipe(h, sizeof(h));
}

/* ==== base64 (RFC 4648 §4, padded) ==== */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes 4 * ceil(n / 3) chars + NUL. */
static void
b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
	}
	out[o] = 0;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* ==== Password and response ==== */

/* The Digest password for `alg`, into pw (at most 24 bytes); returns its length. */
static size_t
make_password(enum akv_digest_alg alg, const uint8_t *xres, size_t res_len, const uint8_t ck[16],
	      const uint8_t ik[16], uint8_t pw[24])
{
	uint8_t key[16 + 16 + 16], mac[16];
	size_t maclen = 0;
	EVP_MAC_CTX *mctx;
	OSSL_PARAM params[2];
	int ok;

	if (alg == AKV_DIGEST_AKAV1_MD5) {
		/* RFC 3310 §3.4: the password is RES itself, as binary octets */
		memcpy(pw, xres, res_len);
		return res_len;
	}
	AKV_ASSERT(alg == AKV_DIGEST_AKAV2_MD5);
	/* RFC 4169 §3: PRF = HMAC-MD5, key = RES || IK || CK */
	memcpy(key, xres, res_len);
	memcpy(key + res_len, ik, 16);
	memcpy(key + res_len + 16, ck, 16);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"MD5", 0);
	params[1] = OSSL_PARAM_construct_end();
	mctx = EVP_MAC_CTX_new(hmac);
	ok = mctx && EVP_MAC_init(mctx, key, res_len + 32, params) &&
	     EVP_MAC_update(mctx, (const unsigned char *)akav2_label, sizeof(akav2_label) - 1) &&
	     EVP_MAC_final(mctx, mac, &maclen, sizeof(mac));
	EVP_MAC_CTX_free(mctx);
	akv_wipe(key, sizeof(key));
	AKV_ASSERT(ok && maclen == 16);
	/* password = base64 of the 16-byte PRF output: 24 chars (22 + "==") */
	{
		char b64[25];

		b64_encode(mac, 16, b64);
		memcpy(pw, b64, 24);
		akv_wipe(b64, sizeof(b64));
	}
	akv_wipe(mac, sizeof(mac));
	return 24;
}

static int
str_ieq(struct akv_str s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.n != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s.p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (c != lit[i])
			return 0;
	}
	return 1;
}

/* see akv_crypto.h */
void
akv_digest_response(enum akv_digest_alg alg, const struct akv_digest_fields *f, const uint8_t *xres,
		    size_t res_len, const uint8_t ck[16], const uint8_t ik[16], char out[33])
{
	uint8_t pw[24];
	size_t pw_len;
	char ha1[33], ha2[33];
	/* MD5 of an empty entity body, for qop=auth-int without a body hash */
	static const char empty_body_md5[] = "d41d8cd98f00b204e9800998ecf8427e";
	EVP_MD_CTX *ctx;

	AKV_ASSERT(res_len >= 4 && res_len <= 16);
	pthread_once(&evp_once, fetch_evp);
	AKV_ASSERT(md5 && hmac);
	ctx = EVP_MD_CTX_new();
	AKV_ASSERT(ctx);
	pw_len = make_password(alg, xres, res_len, ck, ik, pw);

	/* RFC 2617 §3.2.2.2: A1 = username ":" realm ":" passwd */
	{
		struct piece a1[] = {
		    {f->username.p, f->username.n}, {f->realm.p, f->realm.n}, {pw, pw_len}};
		md5_hex_joined(ctx, a1, 3, ha1);
	}
	akv_wipe(pw, sizeof(pw));

	/* RFC 2617 §3.2.2.3: A2 = Method ":" digest-uri [":" H(entity-body)] */
	if (str_ieq(f->qop, "auth-int")) {
		struct piece body = f->body_md5.n ? (struct piece){f->body_md5.p, f->body_md5.n}
						  : (struct piece){empty_body_md5, 32};
		struct piece a2[] = {{f->method.p, f->method.n}, {f->uri.p, f->uri.n}, body};
		md5_hex_joined(ctx, a2, 3, ha2);
	} else {
		struct piece a2[] = {{f->method.p, f->method.n}, {f->uri.p, f->uri.n}};
		md5_hex_joined(ctx, a2, 2, ha2);
	}

	if (f->qop.n) {
		/* RFC 2617 §3.2.2.1: KD(H(A1), nonce:nc:cnonce:qop:H(A2)) */
		struct piece r[] = {{ha1, 32},
				    {f->nonce.p, f->nonce.n},
				    {f->nc.p, f->nc.n},
				    {f->cnonce.p, f->cnonce.n},
				    {f->qop.p, f->qop.n},
				    {ha2, 32}};
		md5_hex_joined(ctx, r, 6, out);
	} else {
		/* RFC 2069 compatibility: KD(H(A1), nonce:H(A2)) */
		struct piece r[] = {{ha1, 32}, {f->nonce.p, f->nonce.n}, {ha2, 32}};
		md5_hex_joined(ctx, r, 3, out);
	}
	akv_wipe(ha1, sizeof(ha1));
	EVP_MD_CTX_free(ctx);
}

/* see akv_crypto.h */
int
akv_digest_verify(enum akv_digest_alg alg, const struct akv_digest_fields *f, const uint8_t *xres,
		  size_t res_len, const uint8_t ck[16], const uint8_t ik[16], const char *response,
		  size_t response_len)
{
	char want[33], got[32];
	int rc;

	/* The length is public (always 32 hex digits); only the value is secret. */
	if (!response || response_len != 32)
		return -1;
	akv_digest_response(alg, f, xres, res_len, ck, ik, want);
	/* Fold the received (public) hex to lowercase; any non-hex byte stays a mismatch. */
	for (size_t i = 0; i < 32; i++) {
		char c = response[i];

		got[i] = c >= 'A' && c <= 'F' ? (char)(c + 32) : c;
	}
	rc = akv_ct_eq(want, got, 32);
	akv_wipe(want, sizeof(want));
	return rc;
}

/* ==== Nonce and challenge ==== */

/* see akv_crypto.h */
void
akv_digest_nonce(const uint8_t rand[16], const uint8_t autn[16], char out[45])
{
	uint8_t buf[32];

	memcpy(buf, rand, 16);
	memcpy(buf + 16, autn, 16);
	b64_encode(buf, 32, out);
}

/* see akv_crypto.h */
int
akv_digest_nonce_parse(const char *nonce, size_t len, uint8_t rand[16], uint8_t autn[16])
{
	uint8_t buf[32];
	size_t nout = 0;

	/*
	 * Strict RFC 4648 §4: padded, canonical (zero pad bits), '=' only in
	 * the last quantum. A nonce is echoed verbatim by the UE, so anything
	 * else was not issued by us. Bytes past the first 32 (server data,
	 * RFC 3310 §3.2) are validated but ignored.
	 */
	if (!nonce || len == 0 || len % 4)
		return AKV_CRYPTO_EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		uint32_t w;

		for (int j = 0; j < 4; j++) {
			v[j] = b64_value(nonce[i + j]);
			if (v[j] < 0) {
				if (nonce[i + j] != '=' || i + 4 != len || j < 2)
					return AKV_CRYPTO_EINVAL;
				pad++;
				v[j] = 0;
			} else if (pad) {
				return AKV_CRYPTO_EINVAL; /* data after '=' */
			}
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		    (uint32_t)v[3];
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return AKV_CRYPTO_EINVAL; /* non-canonical pad bits */
		for (int j = 0; j < 3 - pad; j++, nout++)
			if (nout < sizeof(buf))
				buf[nout] = (uint8_t)(w >> (16 - 8 * j));
	}
	if (nout < sizeof(buf))
		return AKV_CRYPTO_EINVAL;
	memcpy(rand, buf, 16);
	memcpy(autn, buf + 16, 16);
	return 0;
}

/* A realm goes inside a quoted-string (RFC 3261 §25.1); reject what would
 * need escaping or could split the header. */
static int
realm_ok(const char *realm)
{
	for (const unsigned char *p = (const unsigned char *)realm; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return 0;
	return 1;
}

/* see akv_crypto.h */
int
akv_digest_www_authenticate(enum akv_digest_alg alg, const char *realm, const uint8_t rand[16],
			    const uint8_t autn[16], const uint8_t ck[16], const uint8_t ik[16],
			    int with_keys, char *out, size_t cap)
{
	const char *alg_name = alg == AKV_DIGEST_AKAV2_MD5 ? "AKAv2-MD5" : "AKAv1-MD5";
	char nonce[45], ck_hex[33], ik_hex[33];
	int n;

	AKV_ASSERT(alg == AKV_DIGEST_AKAV1_MD5 || alg == AKV_DIGEST_AKAV2_MD5);
	if (!realm || !realm_ok(realm))
		return AKV_CRYPTO_EINVAL;
	akv_digest_nonce(rand, autn, nonce);
	if (with_keys) {
		/* TS 24.229 §5.4.1.2.1 / TS 33.203: ck and ik for the P-CSCF's IPsec SAs */
		akv_hex_encode(ck, 16, ck_hex);
		akv_hex_encode(ik, 16, ik_hex);
		n = snprintf(out, cap,
			     "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\", "
			     "ck=\"%s\", ik=\"%s\"",
			     realm, nonce, alg_name, ck_hex, ik_hex);
		akv_wipe(ck_hex, sizeof(ck_hex));
		akv_wipe(ik_hex, sizeof(ik_hex));
	} else {
		n = snprintf(out, cap,
			     "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"", realm,
			     nonce, alg_name);
	}
	if (n < 0 || (size_t)n >= cap) {
		/* a truncated value may hold part of CK/IK */
		if (cap)
			akv_wipe(out, cap);
		return AKV_CRYPTO_ENOSPC;
	}
	return n;
}

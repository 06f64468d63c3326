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
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"

#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#endif

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

/*
 * Eight 6-bit values, one per byte of x (each 0..63), to their RFC 4648
 * Table 1 characters, all eight at once and without a table: the base64
 * input is also the RFC 4169 password (HMAC output, secret), and a table
 * indexed by it would leak through the cache. Each range of the alphabet is
 * a fixed offset from the value: 'A' + v (0..25), 'a' - 26 + v (26..51),
 * '0' - 52 + v (52..61), '+' (62), '/' (63). Adding 128 - k to a byte sets
 * its top bit exactly when v >= k; the values stay below 256, so no carry
 * crosses into the next byte, and every byte's final value is positive, so
 * subtracting the summed downward steps borrows from no neighbour either.
 */
static inline uint64_t
b64_chars8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t ge26 = (x + ones * (128 - 26)) >> 7 & ones;
	uint64_t ge52 = (x + ones * (128 - 52)) >> 7 & ones;
	uint64_t ge62 = (x + ones * (128 - 62)) >> 7 & ones;
	uint64_t ge63 = (x + ones * (128 - 63)) >> 7 & ones;
	/* 'A' + v, then +6 to reach 'a' - 26, -75 to '0' - 52, -15 to '+' - 62, +3 to '/' - 63 */
	uint64_t up = x + ones * 'A' + ge26 * 6 + ge63 * 3;
	uint64_t down = ge52 * 75 + ge62 * 15;

	return up - down;
}

/*
 * Six bytes (the top 48 bits of w, first byte most significant) as their
 * eight 6-bit values, one per byte, first value in the low byte (text order,
 * RFC 4648 §4): the 12-bit halves of each 3-byte group into 16-bit lanes,
 * then each lane's two 6-bit values into its two bytes.
 */
static inline uint64_t
b64_spread6(uint64_t w)
{
	uint64_t t = (w >> 52 & 0xfff) | (w >> 40 & 0xfff) << 16 | (w >> 28 & 0xfff) << 32 |
		     (w >> 16 & 0xfff) << 48;
	const uint64_t low6 = 0x003f003f003f003full;

	return (t >> 6 & low6) | (t & low6) << 8;
}

static inline uint64_t
load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* Stores the low n (4 or 8) bytes of v, low byte first. */
static inline void
store_le(char *out, uint64_t v, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v) >> (64 - 8 * n);
#endif
	if (n == 8) {
		memcpy(out, &v, 8);
	} else {
		uint32_t h = (uint32_t)v;

		memcpy(out, &h, 4);
	}
}

/* Writes 4 * ceil(n / 3) chars + NUL. Loop bounds and branches depend on n
 * only, never on the data. */
static void
b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0, rest;

	/* two groups (6 bytes -> 8 chars) per step, with one 8-byte load while
	 * it stays inside the input */
	for (; i + 8 <= n; i += 6, out += 8)
		store_le(out, b64_chars8(b64_spread6(load_be64(in + i))), 8);
	/* the last 0..7 bytes: whole groups, then the padded one */
	for (; i + 3 <= n; i += 3, out += 4) {
		uint64_t w = (uint64_t)in[i] << 56 | (uint64_t)in[i + 1] << 48 |
			     (uint64_t)in[i + 2] << 40;

		store_le(out, b64_chars8(b64_spread6(w)), 4);
	}
	rest = n - i;
	if (rest) {
		/* RFC 4648 §4: the last group is zero-filled and padded with '=' */
		uint64_t w = (uint64_t)in[i] << 56 | (rest == 2 ? (uint64_t)in[i + 1] << 48 : 0);

		store_le(out, b64_chars8(b64_spread6(w)), 4);
		out[3] = '=';
		if (rest == 1)
			out[2] = '=';
		out += 4;
	}
	*out = 0;
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
static inline int
realm_byte_bad(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '"' || c == '\\';
}

#if defined(__SSE2__) && defined(__x86_64__)
/* Nonzero when any of the 16 bytes is one realm_byte_bad() refuses. */
static inline int
realm_block_bad(__m128i x)
{
	/* unsigned x <= 0x1f: saturating x - 0x1f is 0 */
	__m128i bad = _mm_cmpeq_epi8(_mm_subs_epu8(x, _mm_set1_epi8(0x1f)), _mm_setzero_si128());

	bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
	bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
	bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
	return _mm_movemask_epi8(bad);
}
#endif

/*
 * The realm's length, or -1 when it holds a byte realm_byte_bad() refuses.
 * The byte loop this replaced was ~15 instructions a byte; SSE2 checks 16
 * bytes at once, reading only the string's own bytes (overlapping loads
 * cover a length that is not a multiple of the block).
 */
static ptrdiff_t
realm_measure(const char *realm)
{
	size_t n = strlen(realm), i = 0;

#if defined(__SSE2__) && defined(__x86_64__)
	if (n >= 16) {
		int bad = 0;

		for (; i + 16 < n; i += 16)
			bad |= realm_block_bad(_mm_loadu_si128((const void *)(realm + i)));
		bad |= realm_block_bad(_mm_loadu_si128((const void *)(realm + n - 16)));
		return bad ? -1 : (ptrdiff_t)n;
	}
	if (n >= 4) {
		/* two 8-byte (4..7: two 4-byte) halves, overlapping when short */
		size_t h = n >= 8 ? 8 : 4;
		uint64_t lo = 0, hi = 0;

		memcpy(&lo, realm, h);
		memcpy(&hi, realm + n - h, h);
		/* a zero byte of a 4-byte half would count as bad: fill with 'a' */
		if (h == 4) {
			lo |= 0x6161616100000000ull;
			hi |= 0x6161616100000000ull;
		}
		return realm_block_bad(_mm_set_epi64x((long long)hi, (long long)lo)) ? -1
										     : (ptrdiff_t)n;
	}
#endif
	for (; i < n; i++)
		if (realm_byte_bad((unsigned char)realm[i]))
			return -1;
	return (ptrdiff_t)n;
}

/* Appends the literal `lit` at *p. */
#define PUT_LIT(p, lit)                                                                            \
	do {                                                                                       \
		memcpy(p, lit, sizeof(lit) - 1);                                                   \
		p += sizeof(lit) - 1;                                                              \
	} while (0)

/*
 * The value's fixed text around the realm, nonce and keys (TS 24.229
 * §5.4.1.2.1 with the RFC 3310 §3.1 / RFC 2617 §3.2.1 challenge syntax).
 * Both algorithm names are 9 chars, so the length depends only on the realm
 * and with_keys.
 */
static const char www_head[] = "Digest realm=\"";
static const char www_nonce[] = "\", nonce=\"";
static const char www_alg[] = "\", algorithm=";
static const char www_qop[] = ", qop=\"auth\"";
static const char www_ck[] = ", ck=\"";
static const char www_ik[] = "\", ik=\"";
static const char www_close[] = "\"";
#define WWW_ALG_LEN 9 /* "AKAv1-MD5", "AKAv2-MD5" */
#define WWW_NONCE_LEN 44
#define WWW_LEN_NO_KEYS                                                                            \
	(sizeof(www_head) - 1 + sizeof(www_nonce) - 1 + WWW_NONCE_LEN + sizeof(www_alg) - 1 +      \
	 WWW_ALG_LEN + sizeof(www_qop) - 1)
#define WWW_LEN_KEYS (sizeof(www_ck) - 1 + 32 + sizeof(www_ik) - 1 + 32 + sizeof(www_close) - 1)

/* see akv_crypto.h */
int
akv_digest_www_authenticate(enum akv_digest_alg alg, const char *realm, const uint8_t rand[16],
			    const uint8_t autn[16], const uint8_t ck[16], const uint8_t ik[16],
			    int with_keys, char *out, size_t cap)
{
	const char *alg_name = alg == AKV_DIGEST_AKAV2_MD5 ? "AKAv2-MD5" : "AKAv1-MD5";
	size_t realm_len, len;
	ptrdiff_t rl;
	char *p = out;

	AKV_ASSERT(alg == AKV_DIGEST_AKAV1_MD5 || alg == AKV_DIGEST_AKAV2_MD5);
	if (!realm || (rl = realm_measure(realm)) < 0)
		return AKV_CRYPTO_EINVAL;
	realm_len = (size_t)rl;
	/* The whole length first, so nothing is written when it does not fit. */
	len = WWW_LEN_NO_KEYS + realm_len + (with_keys ? WWW_LEN_KEYS : 0);
	if (len >= cap || len > INT_MAX) {
		/* as when the value was cut short: nothing of an earlier use of out
		 * (perhaps a value with keys) survives in it */
		if (cap)
			akv_wipe(out, cap);
		return AKV_CRYPTO_ENOSPC;
	}
	/* Every piece straight into out: no stack copy of the keys' hex. Each
	 * writer's NUL is overwritten by the next piece; the last one ends the
	 * value. */
	PUT_LIT(p, www_head);
	memcpy(p, realm, realm_len);
	p += realm_len;
	PUT_LIT(p, www_nonce);
	akv_digest_nonce(rand, autn, p);
	p += WWW_NONCE_LEN;
	PUT_LIT(p, www_alg);
	memcpy(p, alg_name, WWW_ALG_LEN);
	p += WWW_ALG_LEN;
	PUT_LIT(p, www_qop);
	if (with_keys) {
		/* TS 24.229 §5.4.1.2.1 / TS 33.203: ck and ik for the P-CSCF's IPsec SAs */
		PUT_LIT(p, www_ck);
		akv_hex_encode(ck, 16, p);
		p += 32;
		PUT_LIT(p, www_ik);
		akv_hex_encode(ik, 16, p);
		p += 32;
		PUT_LIT(p, www_close);
	}
	*p = 0;
	AKV_ASSERT((size_t)(p - out) == len);
	return (int)len;
}

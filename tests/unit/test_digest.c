/*
 * Digest-AKA (crypto/digest.c). Expected responses are computed outside
 * akavs: MD5 by coreutils `md5sum`, the RFC 4169 HMAC-MD5 password by the
 * `openssl dgst` command piped into coreutils `base64`; the test only
 * concatenates the RFC 2617 strings itself.
 */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "akv_crypto.h"
#include "akv_test.h"

/* TS 35.208 test set 1 (REFERENCE.md §1.4). */
static const char set1_rand[] = "23553cbe9637a89d218ae64dae47bf35";
static const char set1_autn[] = "55f328b43577b9b94a9ffac354dfafb3";
static const char set1_res[] = "a54211d5e3ba50bf";
static const char set1_ck[] = "b40ba9a3c58b2a05bbf0d987b21bf8cb";
static const char set1_ik[] = "f769bcd751044604127672711c6d3441";
static const char set1_nonce[] = "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=";

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	ck_assert_int_eq(akv_hex_decode(s, strlen(s), out, n), 0);
}

static struct akv_str
S(const char *s) {
	return (struct akv_str){s, strlen(s)};
}

/* ==== independent computations (external programs) ==== */

/* Runs cmd, reads exactly n chars of its first output line into out (NUL-terminated). */
static void
run_read(const char *cmd, char *out, size_t n)
{
	FILE *p = popen(cmd, "r");
	char line[256] = {0};

	ck_assert_msg(p != NULL, "popen(%s)", cmd);
	ck_assert_msg(fgets(line, sizeof(line), p) != NULL, "no output from: %s", cmd);
	ck_assert_msg(pclose(p) == 0, "failed: %s", cmd);
	ck_assert_msg(strlen(line) >= n, "short output from %s: %s", cmd, line);
	memcpy(out, line, n);
	out[n] = 0;
}

/* Writes (data, len) to a temporary file, runs the command made from `fmt`
 * with the file's path for its one %s, reads n chars of output, removes the file. */
static void
run_on_data(const char *fmt, const void *data, size_t len, char *out, size_t n)
{
	const char *t = getenv("TMPDIR");
	char path[4096], cmd[4400];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/akv-digest-XXXXXX", t ? t : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), fmt, path);
	run_read(cmd, out, n);
	unlink(path);
}

/* hex MD5 of (data, len) by coreutils md5sum */
static void
ext_md5(const void *data, size_t len, char out[33])
{
	run_on_data("md5sum '%s'", data, len, out, 32);
}

/* standard padded base64 by coreutils base64 */
static void
ext_base64(const void *data, size_t len, char *out, size_t n)
{
	run_on_data("base64 -w0 '%s'", data, len, out, n);
}

/* RFC 4169 password: base64(HMAC-MD5(RES||IK||CK, label)) by openssl + base64 */
static void
ext_akav2_password(const uint8_t *res, size_t res_len, const uint8_t ik[16], const uint8_t ck[16],
		   char out[25])
{
	static const char label[] = "http-digest-akav2-password";
	uint8_t key[48];
	char keyhex[97], fmt[300];

	memcpy(key, res, res_len);
	memcpy(key + res_len, ik, 16);
	memcpy(key + res_len + 16, ck, 16);
	akv_hex_encode(key, res_len + 32, keyhex);
	snprintf(fmt, sizeof(fmt),
		 "openssl dgst -md5 -mac HMAC -macopt hexkey:%s -binary '%%s' | base64", keyhex);
	run_on_data(fmt, label, sizeof(label) - 1, out, 24);
}

/* Appends to a growing byte string. */
struct buf {
	uint8_t b[1024];
	size_t n;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	ck_assert_uint_le(b->n + n, sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* The expected RFC 2617 response, assembled by hand and hashed by md5sum. */
static void
ext_response(const struct akv_digest_fields *f, const uint8_t *pw, size_t pw_len, int auth_int,
	     char out[33])
{
	struct buf a1 = {0}, a2 = {0}, r = {0};
	char ha1[33], ha2[33];

	put(&a1, f->username.p, f->username.n);
	puts_(&a1, ":");
	put(&a1, f->realm.p, f->realm.n);
	puts_(&a1, ":");
	put(&a1, pw, pw_len);
	ext_md5(a1.b, a1.n, ha1);

	put(&a2, f->method.p, f->method.n);
	puts_(&a2, ":");
	put(&a2, f->uri.p, f->uri.n);
	if (auth_int) {
		puts_(&a2, ":");
		put(&a2, f->body_md5.p, f->body_md5.n);
	}
	ext_md5(a2.b, a2.n, ha2);

	puts_(&r, ha1);
	puts_(&r, ":");
	put(&r, f->nonce.p, f->nonce.n);
	puts_(&r, ":");
	if (f->qop.n) {
		put(&r, f->nc.p, f->nc.n);
		puts_(&r, ":");
		put(&r, f->cnonce.p, f->cnonce.n);
		puts_(&r, ":");
		put(&r, f->qop.p, f->qop.n);
		puts_(&r, ":");
	}
	puts_(&r, ha2);
	ext_md5(r.b, r.n, out);
}

static struct akv_digest_fields
register_fields(void)
{
	struct akv_digest_fields f = {0};

	f.username = S("user1@ims.example.org");
	f.realm = S("ims.example.org");
	f.nonce = S(set1_nonce);
	f.uri = S("sip:ims.example.org");
	f.method = S("REGISTER");
	f.qop = S("auth");
	f.nc = S("00000001");
	f.cnonce = S("0a4f113b");
	return f;
}

struct set1 {
	uint8_t res[8], ck[16], ik[16];
};

static struct set1
set1_keys(void)
{
	struct set1 s;

	unhex(set1_res, s.res, 8);
	unhex(set1_ck, s.ck, 16);
	unhex(set1_ik, s.ik, 16);
	return s;
}

static void
upper(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'f')
			*s = (char)(*s - 32);
}

/* ==== AKAv1-MD5 (RFC 3310) ==== */

START_TEST(t_digest_akav1_qop_auth_known_answer)
{
	struct akv_digest_fields f = register_fields();
	struct set1 k = set1_keys();
	char want[33], got[33];

	ext_response(&f, k.res, 8, 0, want);
	akv_digest_response(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, got);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(
	    akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, want, 32), 0);
	/* hex is case-insensitive on the wire */
	upper(want);
	ck_assert_int_eq(
	    akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, want, 32), 0);
}
END_TEST

START_TEST(t_digest_akav1_no_qop_rfc2069)
{
	struct akv_digest_fields f = register_fields();
	struct set1 k = set1_keys();
	char want[33], got[33];

	f.qop = S("");
	f.nc = S("");
	f.cnonce = S("");
	ext_response(&f, k.res, 8, 0, want);
	akv_digest_response(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, got);
	ck_assert_str_eq(got, want);
	/* and it differs from the qop=auth answer */
	{
		struct akv_digest_fields g = register_fields();
		char with_qop[33];

		akv_digest_response(AKV_DIGEST_AKAV1_MD5, &g, k.res, 8, NULL, NULL, with_qop);
		ck_assert_str_ne(got, with_qop);
	}
}
END_TEST

START_TEST(t_digest_akav1_auth_int)
{
	static const char body[] = "<?xml version=\"1.0\"?><x/>";
	struct akv_digest_fields f = register_fields();
	struct set1 k = set1_keys();
	char body_md5[33], want[33], got[33];

	ext_md5(body, strlen(body), body_md5);
	f.qop = S("auth-int");
	f.body_md5 = S(body_md5);
	ext_response(&f, k.res, 8, 1, want);
	akv_digest_response(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, got);
	ck_assert_str_eq(got, want);
	/* no body hash given: the empty body's MD5 is used */
	ext_md5("", 0, body_md5);
	ext_response(&f, k.res, 8, 1, want);
	f.body_md5 = S("");
	akv_digest_response(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, got);
	ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(t_digest_akav1_binary_res_lengths)
{
	/* RES is raw octets: NUL, ':' and newline bytes must go into A1 unchanged */
	static const uint8_t res16[16] = {0x00, 0x3a, 0x0a, 0xff, 0x00, 0x01, 0x02, 0x03,
					  0x80, 0x3a, 0x3a, 0x0d, 0x00, 0x00, 0x7f, 0x20};
	struct akv_digest_fields f = register_fields();

	for (size_t len = 4; len <= 16; len += 4) {
		char want[33], got[33];

		ext_response(&f, res16, len, 0, want);
		akv_digest_response(AKV_DIGEST_AKAV1_MD5, &f, res16, len, NULL, NULL, got);
		ck_assert_msg(strcmp(got, want) == 0, "RES length %zu: %s != %s", len, got, want);
	}
}
END_TEST

/* ==== AKAv2-MD5 (RFC 4169) ==== */

START_TEST(t_digest_akav2_known_answer)
{
	struct akv_digest_fields f = register_fields();
	struct set1 k = set1_keys();
	char pw[25], want[33], got[33];

	ext_akav2_password(k.res, 8, k.ik, k.ck, pw);
	ext_response(&f, (const uint8_t *)pw, 24, 0, want);
	akv_digest_response(AKV_DIGEST_AKAV2_MD5, &f, k.res, 8, k.ck, k.ik, got);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(
	    akv_digest_verify(AKV_DIGEST_AKAV2_MD5, &f, k.res, 8, k.ck, k.ik, want, 32), 0);
	/* the AKAv1 answer for the same fields must not pass as AKAv2 */
	akv_digest_response(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, got);
	ck_assert_int_eq(akv_digest_verify(AKV_DIGEST_AKAV2_MD5, &f, k.res, 8, k.ck, k.ik, got, 32),
			 -1);
	/* swapping CK and IK (RES||CK||IK) gives another password */
	ck_assert_int_eq(
	    akv_digest_verify(AKV_DIGEST_AKAV2_MD5, &f, k.res, 8, k.ik, k.ck, want, 32), -1);
}
END_TEST

START_TEST(t_digest_akav2_res16_known_answer)
{
	struct akv_digest_fields f = register_fields();
	uint8_t res[16], ck[16], ik[16];
	uint64_t seed = 4169;
	char pw[25], want[33], got[33];

	akv_test_fill(&seed, res, 16);
	akv_test_fill(&seed, ck, 16);
	akv_test_fill(&seed, ik, 16);
	ext_akav2_password(res, 16, ik, ck, pw);
	ext_response(&f, (const uint8_t *)pw, 24, 0, want);
	akv_digest_response(AKV_DIGEST_AKAV2_MD5, &f, res, 16, ck, ik, got);
	ck_assert_str_eq(got, want);
}
END_TEST

/* ==== verify: rejections ==== */

START_TEST(t_digest_verify_rejects)
{
	struct akv_digest_fields f = register_fields();
	struct set1 k = set1_keys();
	char good[33], bad[40];
	uint8_t res2[8];

	akv_digest_response(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, good);
	/* one hex digit changed, at each position */
	for (int i = 0; i < 32; i++) {
		memcpy(bad, good, 33);
		bad[i] = bad[i] == '0' ? '1' : '0';
		ck_assert_int_eq(
		    akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, bad, 32), -1);
	}
	/* truncated, extended, empty, NULL */
	ck_assert_int_eq(
	    akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, good, 31), -1);
	memcpy(bad, good, 32);
	bad[32] = '0';
	ck_assert_int_eq(akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, bad, 33),
			 -1);
	ck_assert_int_eq(akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, "", 0),
			 -1);
	ck_assert_int_eq(
	    akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, NULL, 32), -1);
	/* a non-hex character never matches */
	memcpy(bad, good, 33);
	bad[5] = 'g';
	ck_assert_int_eq(akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, bad, 32),
			 -1);
	/* wrong XRES (last bit) */
	memcpy(res2, k.res, 8);
	res2[7] ^= 1;
	ck_assert_int_eq(akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &f, res2, 8, NULL, NULL, good, 32),
			 -1);
	/* RES truncated to 4 bytes is another password */
	ck_assert_int_eq(
	    akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &f, k.res, 4, NULL, NULL, good, 32), -1);
}
END_TEST

START_TEST(t_digest_verify_wrong_fields)
{
	struct set1 k = set1_keys();
	struct akv_digest_fields f = register_fields(), g;
	char good[33];

	akv_digest_response(AKV_DIGEST_AKAV1_MD5, &f, k.res, 8, NULL, NULL, good);
	/* any single field changed -> mismatch */
	static const struct {
		const char *name;
		size_t off;
		const char *value;
	} changes[] = {
	    {"nonce", offsetof(struct akv_digest_fields, nonce),
	     "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7N="},
	    {"username", offsetof(struct akv_digest_fields, username), "user2@ims.example.org"},
	    {"realm", offsetof(struct akv_digest_fields, realm), "other.example.org"},
	    {"uri", offsetof(struct akv_digest_fields, uri), "sip:other.example.org"},
	    {"method", offsetof(struct akv_digest_fields, method), "INVITE"},
	    {"nc", offsetof(struct akv_digest_fields, nc), "00000002"},
	    {"cnonce", offsetof(struct akv_digest_fields, cnonce), "0a4f113c"},
	};
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		g = f;
		*(struct akv_str *)((char *)&g + changes[i].off) = S(changes[i].value);
		ck_assert_msg(akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &g, k.res, 8, NULL, NULL,
						good, 32) == -1,
			      "response still matches with another %s", changes[i].name);
	}
	/* the fields are (p, n) and need no NUL: a longer buffer cut by n matches */
	g = f;
	g.username = (struct akv_str){"user1@ims.example.orgXYZ", 21};
	ck_assert_int_eq(
	    akv_digest_verify(AKV_DIGEST_AKAV1_MD5, &g, k.res, 8, NULL, NULL, good, 32), 0);
}
END_TEST

/* ==== nonce ==== */

START_TEST(t_digest_nonce_set1)
{
	uint8_t rand[16], autn[16], r2[16], a2[16];
	char nonce[45];

	unhex(set1_rand, rand, 16);
	unhex(set1_autn, autn, 16);
	akv_digest_nonce(rand, autn, nonce);
	ck_assert_str_eq(nonce, set1_nonce);
	ck_assert_int_eq(akv_digest_nonce_parse(nonce, 44, r2, a2), 0);
	ck_assert_mem_eq(r2, rand, 16);
	ck_assert_mem_eq(a2, autn, 16);
}
END_TEST

START_TEST(t_digest_nonce_round_trip_random)
{
	uint64_t seed = 3310;

	for (int i = 0; i < 2000; i++) {
		uint8_t rand[16], autn[16], r2[16], a2[16];
		char nonce[45], ext[45];

		akv_test_fill(&seed, rand, 16);
		akv_test_fill(&seed, autn, 16);
		akv_digest_nonce(rand, autn, nonce);
		ck_assert_uint_eq(strlen(nonce), 44);
		ck_assert_int_eq(akv_digest_nonce_parse(nonce, 44, r2, a2), 0);
		ck_assert_mem_eq(r2, rand, 16);
		ck_assert_mem_eq(a2, autn, 16);
		if (i < 5) {
			/* independent encoder for a few */
			uint8_t both[32];

			memcpy(both, rand, 16);
			memcpy(both + 16, autn, 16);
			ext_base64(both, 32, ext, 44);
			ck_assert_str_eq(nonce, ext);
		}
	}
}
END_TEST

START_TEST(t_digest_nonce_parse_server_data)
{
	/* base64 of RAND||AUTN||8 bytes of server data (40 bytes, no padding) and of 33 bytes */
	uint8_t raw[40], r[16], a[16];
	char b64[61];
	uint64_t seed = 7;

	akv_test_fill(&seed, raw, sizeof(raw));
	ext_base64(raw, 40, b64, 56);
	ck_assert_int_eq(akv_digest_nonce_parse(b64, 56, r, a), 0);
	ck_assert_mem_eq(r, raw, 16);
	ck_assert_mem_eq(a, raw + 16, 16);
	ext_base64(raw, 33, b64, 44);
	ck_assert_int_eq(akv_digest_nonce_parse(b64, 44, r, a), 0);
	ck_assert_mem_eq(a, raw + 16, 16);
}
END_TEST

START_TEST(t_digest_nonce_parse_rejects)
{
	static const char *bad[] = {
	    "",
	    "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M",	/* no padding */
	    "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M==",	/* bad length */
	    "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M*",	/* not base64 */
	    "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1T r7M=",	/* space */
	    "I1U8vpY3qJ0hiuZNrke/NVXz=LQ1d7m5Sp/6w1Tfr7M=",	/* '=' in the middle */
	    "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7N=",	/* non-zero pad bits */
	    "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tf",		/* 30 bytes: too short */
	    "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=AAAA", /* data after padding */
	    "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7=M",	/* '=' then data */
	    "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr===",	/* three '=' */
	    "I1U8vpY3qJ0hiuZNrke-NVXzKLQ1d7m5Sp_6w1Tfr7M=",	/* base64url alphabet */
	};
	uint8_t r[16], a[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(akv_digest_nonce_parse(bad[i], strlen(bad[i]), r, a) ==
				  AKV_CRYPTO_EINVAL,
			      "accepted bad nonce #%zu: %s", i, bad[i]);
	/* length bounds the read: the valid prefix of a longer buffer is not read past */
	ck_assert_int_eq(akv_digest_nonce_parse(set1_nonce, 40, r, a), AKV_CRYPTO_EINVAL);
	ck_assert_int_eq(akv_digest_nonce_parse(NULL, 44, r, a), AKV_CRYPTO_EINVAL);
}
END_TEST

/* ==== WWW-Authenticate ==== */

START_TEST(t_digest_www_authenticate_exact)
{
	uint8_t rand[16], autn[16], ck[16], ik[16];
	char out[512];
	static const char want_keys[] =
	    "Digest realm=\"ims.example.org\", nonce=\"I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/"
	    "6w1Tfr7M=\", algorithm=AKAv1-MD5, qop=\"auth\", "
	    "ck=\"b40ba9a3c58b2a05bbf0d987b21bf8cb\", ik=\"f769bcd751044604127672711c6d3441\"";
	static const char want_v2_nokeys[] =
	    "Digest realm=\"ims.example.org\", nonce=\"I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/"
	    "6w1Tfr7M=\", algorithm=AKAv2-MD5, qop=\"auth\"";
	int n;

	unhex(set1_rand, rand, 16);
	unhex(set1_autn, autn, 16);
	unhex(set1_ck, ck, 16);
	unhex(set1_ik, ik, 16);
	n = akv_digest_www_authenticate(AKV_DIGEST_AKAV1_MD5, "ims.example.org", rand, autn, ck, ik,
					1, out, sizeof(out));
	ck_assert_int_eq(n, (int)strlen(want_keys));
	ck_assert_str_eq(out, want_keys);
	n = akv_digest_www_authenticate(AKV_DIGEST_AKAV2_MD5, "ims.example.org", rand, autn, ck, ik,
					0, out, sizeof(out));
	ck_assert_int_eq(n, (int)strlen(want_v2_nokeys));
	ck_assert_str_eq(out, want_v2_nokeys);
	ck_assert_ptr_null(strstr(out, "ck="));
}
END_TEST

START_TEST(t_digest_www_authenticate_enospc)
{
	uint8_t rand[16] = {1}, autn[16] = {2}, ck[16] = {3}, ik[16] = {4};
	char out[512];
	int n = akv_digest_www_authenticate(AKV_DIGEST_AKAV1_MD5, "r", rand, autn, ck, ik, 1, out,
					    sizeof(out));

	ck_assert_int_gt(n, 0);
	/* exactly enough (n + NUL) fits; one less does not, and leaves no key behind */
	ck_assert_int_eq(akv_digest_www_authenticate(AKV_DIGEST_AKAV1_MD5, "r", rand, autn, ck, ik,
						     1, out, (size_t)n + 1),
			 n);
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(akv_digest_www_authenticate(AKV_DIGEST_AKAV1_MD5, "r", rand, autn, ck, ik,
						     1, out, (size_t)n),
			 AKV_CRYPTO_ENOSPC);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(out[i], 0);
	ck_assert_int_eq(out[n], 'x'); /* nothing written past cap */
	ck_assert_int_eq(
	    akv_digest_www_authenticate(AKV_DIGEST_AKAV1_MD5, "r", rand, autn, ck, ik, 1, NULL, 0),
	    AKV_CRYPTO_ENOSPC);
	/* a realm that would break out of the quoted-string is refused */
	ck_assert_int_eq(akv_digest_www_authenticate(AKV_DIGEST_AKAV1_MD5, "a\", ck=\"00", rand,
						     autn, ck, ik, 0, out, sizeof(out)),
			 AKV_CRYPTO_EINVAL);
	ck_assert_int_eq(akv_digest_www_authenticate(AKV_DIGEST_AKAV1_MD5, "a\r\nX: y", rand, autn,
						     ck, ik, 0, out, sizeof(out)),
			 AKV_CRYPTO_EINVAL);
}
END_TEST

/* ==== WWW-Authenticate against an independent renderer ==== */

/* The oracle: the challenge rendered with snprintf from a table base64
 * (RFC 4648 §4) and %02x hex, as akv_digest_www_authenticate() did before it
 * wrote the value directly; none of it calls into crypto/. */
static void
ref_b64(const uint8_t *in, size_t n, char *out)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? abc[v & 63] : '=';
	}
	out[o] = 0;
}

static void
ref_hex16(const uint8_t in[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static int
ref_realm_ok(const char *realm)
{
	for (const unsigned char *p = (const unsigned char *)realm; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return 0;
	return 1;
}

/* Returns the length, or -1 for a refused realm; out must hold 1024. */
static int
ref_www(enum akv_digest_alg alg, const char *realm, const uint8_t rand[16], const uint8_t autn[16],
	const uint8_t ck[16], const uint8_t ik[16], int with_keys, char *out)
{
	const char *alg_name = alg == AKV_DIGEST_AKAV2_MD5 ? "AKAv2-MD5" : "AKAv1-MD5";
	uint8_t ra[32];
	char nonce[45], ck_hex[33], ik_hex[33];

	if (!ref_realm_ok(realm))
		return -1;
	memcpy(ra, rand, 16);
	memcpy(ra + 16, autn, 16);
	ref_b64(ra, 32, nonce);
	ref_hex16(ck, ck_hex);
	ref_hex16(ik, ik_hex);
	if (with_keys)
		return snprintf(out, 1024,
				"Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\", "
				"ck=\"%s\", ik=\"%s\"",
				realm, nonce, alg_name, ck_hex, ik_hex);
	return snprintf(out, 1024, "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"",
			realm, nonce, alg_name);
}

/* A realm of length n of bytes realm_ok accepts: 0x20..0xff but DEL, '"'
 * and '\' (UTF-8 lead and continuation bytes included). */
static void
random_realm(uint64_t *seed, size_t n, char *realm)
{
	for (size_t i = 0; i < n; i++) {
		unsigned c;

		do
			c = 0x20 + (unsigned)(akv_test_rand64(seed) % (0x100 - 0x20));
		while (c == 0x7f || c == '"' || c == '\\');
		realm[i] = (char)c;
	}
	realm[n] = 0;
}

#define WWW_GUARD 16

/* Whether n bytes at p all equal c (plain loop: a Check assertion per byte
 * would cost a pipe write each). */
static int
all_bytes(const char *p, size_t n, char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

/* out = a fresh buffer of exactly cap bytes plus a guard; checks what the
 * call left in it against the oracle `want` of length wn. */
static void
check_www_at_cap(enum akv_digest_alg alg, const char *realm, const uint8_t *rand,
		 const uint8_t *autn, const uint8_t *ck, const uint8_t *ik, int with_keys,
		 const char *want, int wn, size_t cap)
{
	char *out = malloc(cap + WWW_GUARD);
	int n, ok;

	ck_assert_ptr_nonnull(out);
	memset(out, 0x5a, cap + WWW_GUARD);
	n = akv_digest_www_authenticate(alg, realm, rand, autn, ck, ik, with_keys, out, cap);
	if (cap > (size_t)wn) {
		/* the value and its NUL, nothing written after them */
		ok = n == wn && !memcmp(out, want, (size_t)wn + 1) &&
		     all_bytes(out + wn + 1, cap + WWW_GUARD - (size_t)wn - 1, 0x5a);
	} else {
		/* no room for value + NUL: refused, and out wiped over cap */
		ok = n == AKV_CRYPTO_ENOSPC && all_bytes(out, cap, 0) &&
		     all_bytes(out + cap, WWW_GUARD, 0x5a);
	}
	free(out);
	ck_assert_msg(ok, "realm length %zu, alg %d, keys %d, cap %zu: got %d, want %d",
		      strlen(realm), (int)alg, with_keys, cap, n, cap > (size_t)wn ? wn : -1);
}

/* Random RAND/AUTN/CK/IK, realms of every length 0..255, both algorithms,
 * with and without keys (4 x 256 x 4 inputs), each at every cap from 0 to
 * the length + 2: byte for byte what the snprintf oracle writes, the same
 * return, and on ENOSPC a zeroed buffer. */
START_TEST(t_digest_www_authenticate_matches_snprintf)
{
	uint64_t seed = 0x7777772d61757468ull;
	uint8_t rand[16], autn[16], ck[16], ik[16];
	char realm[256], want[1024];
	unsigned inputs = 0;

	for (int round = 0; round < 4; round++) {
		for (size_t rl = 0; rl <= 255; rl++) {
			for (int combo = 0; combo < 4; combo++) {
				enum akv_digest_alg alg =
				    combo & 1 ? AKV_DIGEST_AKAV2_MD5 : AKV_DIGEST_AKAV1_MD5;
				int with_keys = combo >> 1, wn;

				random_realm(&seed, rl, realm);
				akv_test_fill(&seed, rand, 16);
				akv_test_fill(&seed, autn, 16);
				akv_test_fill(&seed, ck, 16);
				akv_test_fill(&seed, ik, 16);
				wn = ref_www(alg, realm, rand, autn, ck, ik, with_keys, want);
				ck_assert_int_gt(wn, 0);
				for (size_t cap = 0; cap <= (size_t)wn + 2; cap++)
					check_www_at_cap(alg, realm, rand, autn, ck, ik, with_keys,
							 want, wn, cap);
				inputs++;
			}
		}
	}
	ck_assert_uint_eq(inputs, 4 * 256 * 4);
}
END_TEST

/* Every byte realm_ok refuses, at the first, a middle and the last place of
 * realms of length 1..40 (each way the realm is scanned: short byte loop,
 * 4- and 8-byte halves, 16-byte blocks with an overlapping last one):
 * AKV_CRYPTO_EINVAL and out untouched. Bytes 0x80..0xff are accepted. */
START_TEST(t_digest_www_authenticate_realm_bytes)
{
	static const unsigned char bad[] = {0x7f, '"', '\\'};
	uint64_t seed = 0x7265616c6d626164ull;
	uint8_t rand[16] = {9}, autn[16] = {8}, ck[16] = {7}, ik[16] = {6};
	char realm[64], out[1024], want[1024];

	for (size_t rl = 1; rl <= 40; rl++) {
		for (unsigned c = 1; c < 0x20 + sizeof(bad); c++) {
			unsigned char b = c < 0x20 ? (unsigned char)c : bad[c - 0x20];
			size_t at[3] = {0, rl / 2, rl - 1};

			for (int k = 0; k < 3; k++) {
				random_realm(&seed, rl, realm);
				realm[at[k]] = (char)b;
				memset(out, 0x5a, sizeof(out));
				ck_assert_int_eq(akv_digest_www_authenticate(AKV_DIGEST_AKAV1_MD5,
									     realm, rand, autn, ck,
									     ik, 1, out, sizeof(out)),
						 AKV_CRYPTO_EINVAL);
				ck_assert(all_bytes(out, sizeof(out), 0x5a));
			}
		}
		/* the same length, all high bytes: accepted as the oracle is */
		memset(realm, 0xc3, rl);
		realm[rl] = 0;
		ck_assert_int_eq(akv_digest_www_authenticate(AKV_DIGEST_AKAV1_MD5, realm, rand,
							     autn, ck, ik, 1, out, sizeof(out)),
				 ref_www(AKV_DIGEST_AKAV1_MD5, realm, rand, autn, ck, ik, 1, want));
		ck_assert_str_eq(out, want);
	}
	ck_assert_int_eq(akv_digest_www_authenticate(AKV_DIGEST_AKAV1_MD5, NULL, rand, autn, ck,
						     ik, 1, out, sizeof(out)),
			 AKV_CRYPTO_EINVAL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("digest");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_digest_akav1_qop_auth_known_answer);
	tcase_add_test(tc, t_digest_akav1_no_qop_rfc2069);
	tcase_add_test(tc, t_digest_akav1_auth_int);
	tcase_add_test(tc, t_digest_akav1_binary_res_lengths);
	tcase_add_test(tc, t_digest_akav2_known_answer);
	tcase_add_test(tc, t_digest_akav2_res16_known_answer);
	tcase_add_test(tc, t_digest_verify_rejects);
	tcase_add_test(tc, t_digest_verify_wrong_fields);
	tcase_add_test(tc, t_digest_nonce_set1);
	tcase_add_test(tc, t_digest_nonce_round_trip_random);
	tcase_add_test(tc, t_digest_nonce_parse_server_data);
	tcase_add_test(tc, t_digest_nonce_parse_rejects);
	tcase_add_test(tc, t_digest_www_authenticate_exact);
	tcase_add_test(tc, t_digest_www_authenticate_enospc);
	tcase_add_test(tc, t_digest_www_authenticate_matches_snprintf);
	tcase_add_test(tc, t_digest_www_authenticate_realm_bytes);
	/* the oracle sweeps run ~1.5 s here: room for sanitizers and a busy CI box */
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(suite());
}

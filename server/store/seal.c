/*
 * seal.c - master key file, HKDF key derivation and AES-256-GCM sealing of
 * K || OPc through OpenSSL EVP (constant-time AES-NI/PCLMULQDQ code where the
 * CPU has them; never a table-based AES of ours). See seal.h.
 */
#include "store/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "akv_crypto.h"
#include "err.h"
#include "mem.h"

/* HKDF "info" labels (RFC 5869 2.3): one per purpose, never reused. A new
 * purpose for the master key gets a new label here. */
static const char label_record[] = "akavs/store/record-seal/v1";
static const char label_check[] = "akavs/store/key-check/v1";

/* ==== Master key file ==== */

/* see seal.h */
int
akv_master_key_load(const char *path, uint8_t key[AKV_MASTER_KEY_LEN], char *why,
		    size_t whylen)
{
	char buf[2 * AKV_MASTER_KEY_LEN + 2];	/* 64 hex digits, '\n', one byte too many */
	size_t len = 0, hexlen;
	struct stat sb;
	int fd, e = 0;

	memset(key, 0, AKV_MASTER_KEY_LEN);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		snprintf(why, whylen, "master key file %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &sb)) {
		e = errno;
		snprintf(why, whylen, "master key file %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "master key file %s: not a regular file", path);
		close(fd);
		return AKV_EINVAL;
	}
	/* A key others can read is a key others have: refuse rather than warn. */
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(why, whylen,
			 "master key file %s: mode %04o gives access to group or others "
			 "(chmod 600 %s)", path, (unsigned)(sb.st_mode & 07777), path);
		close(fd);
		return AKV_EINVAL;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (e) {
		snprintf(why, whylen, "master key file %s: %s", path, strerror(e));
		akv_wipe(buf, sizeof(buf));
		return -e;
	}
	hexlen = len;
	if (hexlen == 2 * AKV_MASTER_KEY_LEN + 1 && buf[hexlen - 1] == '\n')
		hexlen--;
	if (hexlen != 2 * AKV_MASTER_KEY_LEN ||
	    akv_hex_decode(buf, hexlen, key, AKV_MASTER_KEY_LEN)) {
		memset(key, 0, AKV_MASTER_KEY_LEN);
		akv_wipe(buf, sizeof(buf));
		snprintf(why, whylen,
			 "master key file %s: must hold exactly %u hex digits and an optional "
			 "newline (`akavs db keygen --out FILE` writes one)",
			 path, 2 * AKV_MASTER_KEY_LEN);
		return AKV_EINVAL;
	}
	akv_wipe(buf, sizeof(buf));
	return 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* see seal.h */
int
akv_master_key_generate(const char *path, char *why, size_t whylen)
{
	uint8_t key[AKV_MASTER_KEY_LEN];
	char hex[2 * AKV_MASTER_KEY_LEN + 2];
	int fd, e = 0;

	if (akv_rand_bytes(key, sizeof(key))) {
		snprintf(why, whylen, "random number generator failed: no key written");
		return AKV_ESTORE;
	}
	akv_hex_encode(key, sizeof(key), hex);
	akv_wipe(key, sizeof(key));
	hex[2 * AKV_MASTER_KEY_LEN] = '\n';
	hex[2 * AKV_MASTER_KEY_LEN + 1] = 0;
	/* O_EXCL: overwriting a master key would make its stores unreadable. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		e = -errno;
		snprintf(why, whylen, "%s: %s%s", path, strerror(-e),
			 e == -EEXIST ? " (refusing to overwrite a master key)" : "");
		akv_wipe(hex, sizeof(hex));
		return e;
	}
	/* The umask can only narrow 0600; make sure nothing wider was inherited. */
	if (fchmod(fd, 0600) || (e = write_all(fd, hex, 2 * AKV_MASTER_KEY_LEN + 1)) ||
	    fsync(fd)) {
		e = e ? e : -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(-e));
		akv_wipe(hex, sizeof(hex));
		close(fd);
		unlink(path);
		return e;
	}
	akv_wipe(hex, sizeof(hex));
	if (close(fd)) {
		e = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(-e));
		unlink(path);
		return e;
	}
	return 0;
}

/* ==== Derived keys ==== */

static int
hkdf(const uint8_t master[AKV_MASTER_KEY_LEN], const uint8_t salt[AKV_SEAL_SALT_LEN],
     const char *label, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[5];
	int ok = 0;

	if (kc) {
		p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
		p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)master,
							 AKV_MASTER_KEY_LEN);
		p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
							 AKV_SEAL_SALT_LEN);
		p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)label,
							 strlen(label));
		p[4] = OSSL_PARAM_construct_end();
		ok = EVP_KDF_derive(kc, out, outlen, p) > 0;
	}
	EVP_KDF_CTX_free(kc);	/* clears its copy of the key */
	EVP_KDF_free(kdf);
	if (!ok)
		akv_wipe(out, outlen);
	return ok ? 0 : AKV_ESTORE;
}

/* see seal.h */
int
akv_seal_derive(const uint8_t master[AKV_MASTER_KEY_LEN], const uint8_t salt[AKV_SEAL_SALT_LEN],
		uint8_t rec_key[AKV_SEAL_KEY_LEN], uint8_t check[AKV_SEAL_CHECK_LEN])
{
	if (hkdf(master, salt, label_record, rec_key, AKV_SEAL_KEY_LEN) ||
	    hkdf(master, salt, label_check, check, AKV_SEAL_CHECK_LEN)) {
		akv_wipe(rec_key, AKV_SEAL_KEY_LEN);
		akv_wipe(check, AKV_SEAL_CHECK_LEN);
		return AKV_ESTORE;
	}
	return 0;
}

/* ==== Record sealing ==== */

struct akv_seal_ctx {
	EVP_CIPHER_CTX *evp;	/* AES-256-GCM, key set once; each call sets the IV */
};

/* see seal.h */
struct akv_seal_ctx *
akv_seal_ctx_new(const uint8_t rec_key[AKV_SEAL_KEY_LEN])
{
	struct akv_seal_ctx *c = akv_calloc(1, sizeof(*c));

	c->evp = EVP_CIPHER_CTX_new();
	/* Key now, IV per record: the AES key schedule and GHASH key are
	 * computed once here, not per record. */
	if (!c->evp || EVP_CipherInit_ex(c->evp, EVP_aes_256_gcm(), NULL, rec_key, NULL, 1) != 1) {
		akv_seal_ctx_free(c);
		return NULL;
	}
	return c;
}

/* see seal.h */
void
akv_seal_ctx_free(struct akv_seal_ctx *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->evp);	/* cleanses the key schedule */
	akv_free(c);
}

/* see seal.h */
int
akv_seal_encrypt(struct akv_seal_ctx *c, const uint8_t *aad, size_t aad_len,
		 const uint8_t pt[AKV_SEAL_PT_LEN], uint8_t nonce[AKV_SEAL_NONCE_LEN],
		 uint8_t ct[AKV_SEAL_PT_LEN], uint8_t tag[AKV_SEAL_TAG_LEN])
{
	int n, fin;

	if (aad_len > (size_t)INT32_MAX || akv_rand_bytes(nonce, AKV_SEAL_NONCE_LEN))
		goto fail;
	if (EVP_CipherInit_ex(c->evp, NULL, NULL, NULL, nonce, 1) != 1 ||
	    EVP_CipherUpdate(c->evp, NULL, &n, aad, (int)aad_len) != 1 ||
	    EVP_CipherUpdate(c->evp, ct, &n, pt, AKV_SEAL_PT_LEN) != 1 ||
	    n != (int)AKV_SEAL_PT_LEN ||
	    EVP_CipherFinal_ex(c->evp, ct + n, &fin) != 1 || fin != 0 ||
	    EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_GET_TAG, AKV_SEAL_TAG_LEN, tag) != 1)
		goto fail;
	return 0;
fail:
	memset(nonce, 0, AKV_SEAL_NONCE_LEN);
	akv_wipe(ct, AKV_SEAL_PT_LEN);
	memset(tag, 0, AKV_SEAL_TAG_LEN);
	return AKV_ESTORE;
}

/* see seal.h */
int
akv_seal_decrypt(struct akv_seal_ctx *c, const uint8_t *aad, size_t aad_len,
		 const uint8_t nonce[AKV_SEAL_NONCE_LEN], const uint8_t ct[AKV_SEAL_PT_LEN],
		 const uint8_t tag[AKV_SEAL_TAG_LEN], uint8_t pt[AKV_SEAL_PT_LEN])
{
	int n, fin;

	/* SP 800-38D 7.2: the plaintext is released only when the tag verifies
	 * (EVP_CipherFinal_ex compares it in constant time). */
	if (aad_len <= (size_t)INT32_MAX &&
	    EVP_CipherInit_ex(c->evp, NULL, NULL, NULL, nonce, 0) == 1 &&
	    EVP_CipherUpdate(c->evp, NULL, &n, aad, (int)aad_len) == 1 &&
	    EVP_CipherUpdate(c->evp, pt, &n, ct, AKV_SEAL_PT_LEN) == 1 &&
	    n == (int)AKV_SEAL_PT_LEN &&
	    EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_SET_TAG, AKV_SEAL_TAG_LEN, (void *)tag) == 1 &&
	    EVP_CipherFinal_ex(c->evp, pt + n, &fin) == 1)
		return 0;
	akv_wipe(pt, AKV_SEAL_PT_LEN);
	return AKV_ESTORE;
}

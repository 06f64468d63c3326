/*
 * seal.h - K/OPc encrypted at rest (DESIGN.md "Security"): the master key
 * file, the keys derived from it, and the AES-256-GCM sealing of one
 * subscriber's K || OPc.
 *
 * Master key: 32 random bytes kept OUTSIDE the store, in a file of exactly 64
 * hex digits and an optional newline, mode 0600 or stricter
 * (`akavs db keygen --out FILE` writes one). From it, HKDF-SHA256 (RFC 5869)
 * with the store's random salt (meta "seal") derives, under distinct fixed
 * labels (the HKDF "info"):
 *   - the record-sealing key (AES-256-GCM, NIST SP 800-38D), and
 *   - 16 check bytes stored in meta, which tell "wrong master key" apart
 *     from "tampered record" without decrypting anything.
 * Other labels can later derive keys for other purposes from the same
 * master key without any relation between them.
 *
 * Sealing: a fresh 96-bit random nonce per record write (SP 800-38D 8.2.2:
 * random IVs, far below 2^32 writes per derived key: every seal/rekey draws a
 * new salt, hence a new key). The caller's AAD binds the ciphertext to its
 * IMPI and the rest of the record, so a ciphertext moved to another record
 * does not open.
 *
 * No function here logs, and no message contains key material. Every buffer
 * that held key material is wiped.
 */
#ifndef AKV_SERVER_STORE_SEAL_H
#define AKV_SERVER_STORE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AKV_MASTER_KEY_LEN  32u	/* bytes; 64 hex digits in the key file */
#define AKV_SEAL_KEY_LEN    32u	/* AES-256 record-sealing key */
#define AKV_SEAL_SALT_LEN   16u	/* per-store HKDF salt (meta "seal") */
#define AKV_SEAL_CHECK_LEN  16u	/* key check value (meta "seal") */
#define AKV_SEAL_NONCE_LEN  12u	/* GCM 96-bit IV */
#define AKV_SEAL_TAG_LEN    16u	/* GCM tag */
#define AKV_SEAL_PT_LEN     32u	/* K || OPc */
/* Why-buffers of the key-file functions: room for a path and a reason. */
#define AKV_SEAL_WHY_MAX    (4096 + 160)

/* ==== Master key file ==== */

/* Reads the master key from `path` into key. Refuses (AKV_EINVAL, or -errno
 * when it cannot be read) a file that is not a regular file, grants any
 * permission to group or others, or does not hold exactly 64 hex digits and
 * an optional newline; `why` then names the file and the reason, never the
 * contents. key is zeroed on failure. */
int akv_master_key_load(const char *path, uint8_t key[AKV_MASTER_KEY_LEN], char *why,
			size_t whylen);

/* Writes a new random master key (akv_rand_bytes) to `path`, created with
 * mode 0600, never over an existing file (-EEXIST), flushed to disk. Returns
 * 0 or an error with `why` set. */
int akv_master_key_generate(const char *path, char *why, size_t whylen);

/* ==== Derived keys ==== */

/* HKDF-SHA256(master, salt) with the fixed labels of this file: the record
 * sealing key and the check bytes. Returns 0 or AKV_ESTORE (OpenSSL failure;
 * outputs zeroed). */
int akv_seal_derive(const uint8_t master[AKV_MASTER_KEY_LEN],
		    const uint8_t salt[AKV_SEAL_SALT_LEN], uint8_t rec_key[AKV_SEAL_KEY_LEN],
		    uint8_t check[AKV_SEAL_CHECK_LEN]);

/* ==== Record sealing ==== */

/* One AES-256-GCM context with the key schedule expanded once: each record
 * then only sets its nonce (no allocation per record). One thread at a time. */
struct akv_seal_ctx;

/* A context for rec_key, or NULL on failure (OpenSSL). */
struct akv_seal_ctx *akv_seal_ctx_new(const uint8_t rec_key[AKV_SEAL_KEY_LEN]);
/* Frees it (wiping the key schedule, EVP_CIPHER_CTX_free). NULL is a no-op. */
void akv_seal_ctx_free(struct akv_seal_ctx *c);

/* Encrypts pt (K || OPc) with a fresh random nonce: writes nonce, ct and
 * tag. Returns 0 or AKV_ESTORE (RNG or OpenSSL failure; outputs zeroed). */
int akv_seal_encrypt(struct akv_seal_ctx *c, const uint8_t *aad, size_t aad_len,
		     const uint8_t pt[AKV_SEAL_PT_LEN], uint8_t nonce[AKV_SEAL_NONCE_LEN],
		     uint8_t ct[AKV_SEAL_PT_LEN], uint8_t tag[AKV_SEAL_TAG_LEN]);

/* Decrypts and authenticates. Returns 0, or AKV_ESTORE when the tag does not
 * verify (tampered, moved, or another key) or OpenSSL fails; pt is zeroed
 * then. */
int akv_seal_decrypt(struct akv_seal_ctx *c, const uint8_t *aad, size_t aad_len,
		     const uint8_t nonce[AKV_SEAL_NONCE_LEN], const uint8_t ct[AKV_SEAL_PT_LEN],
		     const uint8_t tag[AKV_SEAL_TAG_LEN], uint8_t pt[AKV_SEAL_PT_LEN]);

#ifdef __cplusplus
}
#endif
#endif

/*
 * akv_crypto.h - the only public header of akavs' crypto core.
 *
 * Milenage (TS 35.206) on several backends chosen at run time, AKA vector
 * helpers (TS 33.102 §6.3), buffered RAND generation and Digest-AKA
 * (RFC 3310 AKAv1-MD5, RFC 4169 AKAv2-MD5).
 *
 * Dependency rule: this library includes no server, liburing or LMDB header.
 * Secrets (K, OPc, CK, IK, XRES, round keys) never leave through a log or an
 * error text; buffers that held them are wiped with akv_wipe().
 */
#ifndef AKV_CRYPTO_H
#define AKV_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Constants ==== */

#define AKV_MIL_MAX_LANES 32	/* upper bound on any backend's lane count */

/* Bits of the `funcs` mask of akv_mil_impl.gen: which Milenage outputs to compute.
 * Each bit costs one AES block per lane, plus one for TEMP. */
#define AKV_MIL_F1   0x01u	/* OUT1: MAC-A (f1) and MAC-S (f1*) */
#define AKV_MIL_F2F5 0x02u	/* OUT2: RES (f2) and AK (f5) */
#define AKV_MIL_F3   0x04u	/* OUT3: CK (f3) */
#define AKV_MIL_F4   0x08u	/* OUT4: IK (f4) */
#define AKV_MIL_F5S  0x10u	/* OUT5: AK* (f5*) */
#define AKV_MIL_VECTOR (AKV_MIL_F1 | AKV_MIL_F2F5 | AKV_MIL_F3 | AKV_MIL_F4) /* 5 AES/lane */
#define AKV_MIL_ALL    (AKV_MIL_VECTOR | AKV_MIL_F5S)			      /* 6 AES/lane */

/* ==== Types ==== */

/* An expanded AES-128 encryption key schedule (11 round keys). A secret: wipe
 * it with akv_wipe() when done. Fields are private by contract. */
struct akv_aes_sched {
	uint8_t rk[11][16] __attribute__((aligned(16))); /* C and C++ */
};

/* One Milenage computation (one subscriber, one RAND). 64 bytes, so an array
 * of them gathers well. `ks` is optional: when non-NULL it must be the
 * schedule of `k` made by akv_aes_expand(); the kernel then skips key
 * expansion. The caller owns `ks` and keeps it alive for the call. The
 * aesni and vaes kernels then never use `k`, so a caller that gives them
 * `ks` may leave `k` unset (the engine does); the ref backend ignores `ks`
 * and always reads `k`. */
struct akv_mil_in {
	uint8_t k[16];
	uint8_t opc[16];
	uint8_t rand[16];
	uint8_t sqn[6];
	uint8_t amf[2];
	const struct akv_aes_sched *ks;
};

/* Outputs. Only the fields selected by `funcs` are written. */
struct akv_mil_out {
	uint8_t mac_a[8];	/* f1  */
	uint8_t mac_s[8];	/* f1* */
	uint8_t res[8];		/* f2  */
	uint8_t ck[16];		/* f3  */
	uint8_t ik[16];		/* f4  */
	uint8_t ak[6];		/* f5  */
	uint8_t ak_s[6];	/* f5* */
};

/* Resynchronisation input (TS 33.102 §6.3.5): the RAND sent to the UE and
 * the AUTS the UE returned. `ks` as in akv_mil_in. */
struct akv_mil_auts_in {
	uint8_t k[16];
	uint8_t opc[16];
	uint8_t rand[16];
	uint8_t auts[14];
	const struct akv_aes_sched *ks;
};

/* Resynchronisation output: SQN_MS = AUTS[0..5] ^ f5*(RAND), and whether
 * AUTS[6..13] equals f1*(K, SQN_MS, RAND, AMF = 0000) (checked in constant time). */
struct akv_mil_auts_out {
	uint8_t sqn_ms[6];
	uint8_t mac_ok;		/* 1: MAC-S valid, 0: invalid */
};

/* What a USIM computes from RAND and AUTN (TS 33.102 §6.3.3), the output of
 * akv_mil_impl.usim. xmac..ik are contiguous (48 bytes), so a checker can
 * compare them with its expected values in one constant-time call. */
struct akv_mil_usim_out {
	uint8_t xmac[8];	/* XMAC-A = f1 over the unmasked SQN and AUTN's AMF */
	uint8_t res[8];		/* f2  */
	uint8_t ck[16];		/* f3  */
	uint8_t ik[16];		/* f4  */
	uint8_t ak[6];		/* f5  */
	uint8_t sqn[6];		/* SQN = (SQN ^ AK) ^ AK */
};

/* A Milenage backend. `lanes` is how many subscribers one kernel pass computes;
 * any n works (n > lanes loops, n % lanes is handled as a partial batch).
 * All functions are reentrant and allocate nothing. */
struct akv_mil_impl {
	const char *name;	/* "ref", "aesni", "vaes" */
	unsigned lanes;
	void (*gen)(const struct akv_mil_in *in, struct akv_mil_out *out, size_t n,
		    unsigned funcs);
	void (*auts)(const struct akv_mil_auts_in *in, struct akv_mil_auts_out *out, size_t n);
	/* The USIM side of AKA (TS 33.102 §6.3.3) in one pass: here in->sqn is
	 * AUTN[0..5] = SQN ^ AK and in->amf is AUTN[6..7]. TEMP = E_K(RAND ^ OPc)
	 * is computed once; OUT2 gives AK and RES, AK unmasks SQN, then OUT1 over
	 * that SQN gives XMAC-A and OUT3/OUT4 give CK/IK (5 AES per lane, as
	 * AKV_MIL_VECTOR). The caller compares XMAC-A with AUTN[8..15]. */
	void (*usim)(const struct akv_mil_in *in, struct akv_mil_usim_out *out, size_t n);
};

/* ==== Lifecycle ==== */

/* Probes the CPU once and picks the best Milenage backend (vaes > aesni > ref),
 * honouring AKV_CRYPTO_IMPL=ref|aesni|vaes from the environment. Returns 0, or
 * AKV_CRYPTO_EUNAVAIL when the forced backend cannot run here (the default is
 * then kept). Idempotent; call before starting threads. */
int akv_crypto_init(void);

/* ==== Milenage backends ==== */

/* The reference: TS 35.206 transcribed one subscriber at a time, AES from
 * OpenSSL EVP (one context per key). The oracle for every other backend. */
const struct akv_mil_impl *akv_mil_ref_get(void);
/* Multi-buffer AES-NI. NULL when the CPU lacks AES-NI or SSE4.1. */
const struct akv_mil_impl *akv_mil_ni_get(void);
/* Multi-buffer VAES-256. NULL when the CPU lacks VAES or AVX2 (or the OS
 * does not save YMM state). */
const struct akv_mil_impl *akv_mil_vaes_get(void);
/* The backend chosen by akv_crypto_init() (ref before init). */
const struct akv_mil_impl *akv_mil_best(void);
/* A backend by name, or NULL if unknown or not runnable here; when NULL,
 * *why (if non-NULL) is set to a static text naming the missing CPU flag. */
const struct akv_mil_impl *akv_mil_by_name(const char *name, const char **why);
/* Forces the backend akv_mil_best() returns. Returns 0 or AKV_CRYPTO_EUNAVAIL. */
int akv_mil_select(const char *name);

/* ==== Milenage helpers ==== */

/* OPc = OP ^ E_K(OP) (TS 35.206 §4.1). */
void akv_mil_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16]);
/* Expands K into an AES-128 schedule (AES-NI AESKEYGENASSIST). Only the aesni
 * and vaes backends read schedules (ref ignores `ks`); on a CPU without AES-NI
 * the schedule is zeroed and must not be used. */
void akv_aes_expand(const uint8_t k[16], struct akv_aes_sched *ks);
/* AUTN = (SQN ^ AK) || AMF || MAC-A (TS 33.102 §6.3.2). */
void akv_mil_autn(const uint8_t sqn[6], const uint8_t ak[6], const uint8_t amf[2],
		  const uint8_t mac_a[8], uint8_t autn[16]);

/* ==== Random numbers ==== */

/* Fills `out` with `len` bytes from OpenSSL's DRBG, drawn through a per-thread
 * buffer refilled 4 KiB at a time (never one RAND_bytes call per RAND).
 * Returns 0, or AKV_CRYPTO_ERAND if the DRBG fails (out is then zeroed). */
int akv_rand_bytes(uint8_t *out, size_t len);
/* Test seam: when set, akv_rand_bytes() calls fn instead of the DRBG, on every
 * thread. Pass NULL to restore the DRBG. Not for production. */
void akv_rand_set_fake(void (*fn)(uint8_t *out, size_t len));

/* ==== Digest-AKA (RFC 3310 / RFC 4169) ==== */

enum akv_digest_alg {
	AKV_DIGEST_AKAV1_MD5 = 1,	/* RFC 3310: password = RES */
	AKV_DIGEST_AKAV2_MD5 = 2,	/* RFC 4169: password = base64(HMAC-MD5(RES||IK||CK, label)) */
};

/* The Authorization header fields the response digest is computed over.
 * Strings are borrowed, need not be NUL-terminated; qop empty = RFC 2069 form. */
struct akv_str {
	const char *p;
	size_t n;
};
struct akv_digest_fields {
	struct akv_str username, realm, nonce, uri, method, qop, nc, cnonce;
	struct akv_str body_md5;	/* hex MD5 of the body, only for qop=auth-int */
};

/* Computes the expected `response` (32 lowercase hex chars + NUL) for `f`
 * with password from XRES (and IK, CK for AKAv2). res_len is 4..16. */
void akv_digest_response(enum akv_digest_alg alg, const struct akv_digest_fields *f,
			 const uint8_t *xres, size_t res_len, const uint8_t ck[16],
			 const uint8_t ik[16], char out[33]);
/* Verifies a received response (hex, case-insensitive) in constant time.
 * Returns 0 when it matches, -1 otherwise (also for a wrong length). */
int akv_digest_verify(enum akv_digest_alg alg, const struct akv_digest_fields *f,
		      const uint8_t *xres, size_t res_len, const uint8_t ck[16],
		      const uint8_t ik[16], const char *response, size_t response_len);
/* nonce = base64(RAND || AUTN) (RFC 3310 §3.2): 44 chars + NUL. */
void akv_digest_nonce(const uint8_t rand[16], const uint8_t autn[16], char out[45]);
/* Decodes a nonce back into RAND and AUTN. Returns 0, or AKV_CRYPTO_EINVAL if
 * it is not base64 of at least 32 bytes (extra server data is ignored). */
int akv_digest_nonce_parse(const char *nonce, size_t len, uint8_t rand[16], uint8_t autn[16]);
/* Writes the WWW-Authenticate value of a challenge (TS 24.229 §5.4.1.2.1):
 *   Digest realm="R", nonce="N", algorithm=AKAv1-MD5, qop="auth", ck="hex", ik="hex"
 * `with_keys` = 0 omits ck/ik (what the P-CSCF forwards to the UE). Returns the
 * length written (excluding NUL), or AKV_CRYPTO_ENOSPC if `cap` is too small. */
int akv_digest_www_authenticate(enum akv_digest_alg alg, const char *realm,
				const uint8_t rand[16], const uint8_t autn[16],
				const uint8_t ck[16], const uint8_t ik[16], int with_keys,
				char *out, size_t cap);

/* ==== Utilities ==== */

/* Constant-time equality of two buffers of length n: 0 equal, -1 different. */
int akv_ct_eq(const void *a, const void *b, size_t n);
/* Overwrites n bytes at p with zeros in a way the compiler cannot elide. */
void akv_wipe(void *p, size_t n);
/* Hex helpers: akv_hex_encode writes 2n lowercase chars + NUL. akv_hex_decode
 * parses exactly 2n hex chars (either case) from s of length len; returns 0 or
 * AKV_CRYPTO_EINVAL (wrong length or a non-hex char). */
void akv_hex_encode(const uint8_t *in, size_t n, char *out);
int akv_hex_decode(const char *s, size_t len, uint8_t *out, size_t n);

/* Error codes (domain errors are <= -10000, see akv_strerror in the server). */
#define AKV_CRYPTO_EUNAVAIL (-10001)	/* backend not built or CPU lacks a feature */
#define AKV_CRYPTO_ERAND    (-10002)	/* DRBG failure */
#define AKV_CRYPTO_EINVAL   (-10003)	/* malformed input */
#define AKV_CRYPTO_ENOSPC   (-10004)	/* output buffer too small */

#ifdef __cplusplus
}
#endif
#endif /* AKV_CRYPTO_H */

/*
 * mil_ref.c - Milenage (TS 35.206 §4.1) transcribed literally, one
 * subscriber at a time, AES-128 from OpenSSL EVP with one context per key.
 * The oracle for every other backend: never optimise it.
 */
#include "akv_crypto.h"

#include <string.h>

#include <openssl/evp.h>

#include "internal.h"

/* TS 35.206 §4.1 default constants: r1..r5 in bits and c1..c5 (last byte). */
static const unsigned mil_r[5] = {64, 0, 32, 64, 96};
static const uint8_t mil_c[5] = {0x00, 0x01, 0x02, 0x04, 0x08};

struct ref_aes {
	EVP_CIPHER_CTX *ctx;
};

static void
ref_aes_init(struct ref_aes *a, const uint8_t k[16])
{
	a->ctx = EVP_CIPHER_CTX_new();
	AKV_ASSERT(a->ctx);
	AKV_ASSERT(EVP_EncryptInit_ex(a->ctx, EVP_aes_128_ecb(), NULL, k, NULL) == 1);
	EVP_CIPHER_CTX_set_padding(a->ctx, 0);
}

static void
ref_aes_enc(struct ref_aes *a, const uint8_t in[16], uint8_t out[16])
{
	int len = 0;

	AKV_ASSERT(EVP_EncryptUpdate(a->ctx, out, &len, in, 16) == 1 && len == 16);
}

static void
ref_aes_fini(struct ref_aes *a)
{
	EVP_CIPHER_CTX_free(a->ctx); /* OpenSSL cleanses the key schedule */
}

/* rot(x, r): cyclic rotation of the 128-bit x by r bits towards the MSB. */
static void
rot128(const uint8_t in[16], unsigned r, uint8_t out[16])
{
	for (unsigned i = 0; i < 16; i++)
		out[i] = in[(i + r / 8) % 16];
}

static void
xor16(uint8_t *d, const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < 16; i++)
		d[i] = a[i] ^ b[i];
}

/*
 * OUTk for k = 1..5, with TEMP = E_K(RAND ^ OPc):
 *   OUT1 = E_K(TEMP ^ rot(IN1 ^ OPc, r1) ^ c1) ^ OPc, IN1 = SQN||AMF||SQN||AMF
 *   OUTk = E_K(rot(TEMP ^ OPc, rk) ^ ck) ^ OPc              k = 2..5
 */
static void
ref_out(struct ref_aes *a, const uint8_t opc[16], const uint8_t temp[16], const uint8_t sqn[6],
	const uint8_t amf[2], unsigned k, uint8_t out[16])
{
	uint8_t x[16], y[16];

	if (k == 1) {
		uint8_t in1[16];
		memcpy(in1, sqn, 6);
		memcpy(in1 + 6, amf, 2);
		memcpy(in1 + 8, sqn, 6);
		memcpy(in1 + 14, amf, 2);
		xor16(x, in1, opc);
		rot128(x, mil_r[0], y);
		xor16(y, y, temp);
	} else {
		xor16(x, temp, opc);
		rot128(x, mil_r[k - 1], y);
	}
	y[15] ^= mil_c[k - 1];
	ref_aes_enc(a, y, x);
	xor16(out, x, opc);
	akv_wipe(x, sizeof(x));
	akv_wipe(y, sizeof(y));
}

static void
ref_one(const struct akv_mil_in *in, struct akv_mil_out *out, unsigned funcs)
{
	struct ref_aes a;
	uint8_t temp[16], o[16];

	ref_aes_init(&a, in->k);
	xor16(o, in->rand, in->opc);
	ref_aes_enc(&a, o, temp);
	if (funcs & AKV_MIL_F1) {
		ref_out(&a, in->opc, temp, in->sqn, in->amf, 1, o);
		memcpy(out->mac_a, o, 8);	/* f1  = OUT1[0..63]   */
		memcpy(out->mac_s, o + 8, 8);	/* f1* = OUT1[64..127] */
	}
	if (funcs & AKV_MIL_F2F5) {
		ref_out(&a, in->opc, temp, in->sqn, in->amf, 2, o);
		memcpy(out->ak, o, 6);		/* f5 = OUT2[0..47]   */
		memcpy(out->res, o + 8, 8);	/* f2 = OUT2[64..127] */
	}
	if (funcs & AKV_MIL_F3) {
		ref_out(&a, in->opc, temp, in->sqn, in->amf, 3, o);
		memcpy(out->ck, o, 16);		/* f3 = OUT3 */
	}
	if (funcs & AKV_MIL_F4) {
		ref_out(&a, in->opc, temp, in->sqn, in->amf, 4, o);
		memcpy(out->ik, o, 16);		/* f4 = OUT4 */
	}
	if (funcs & AKV_MIL_F5S) {
		ref_out(&a, in->opc, temp, in->sqn, in->amf, 5, o);
		memcpy(out->ak_s, o, 6);	/* f5* = OUT5[0..47] */
	}
	akv_wipe(temp, sizeof(temp));
	akv_wipe(o, sizeof(o));
	ref_aes_fini(&a);
}

static void
ref_gen(const struct akv_mil_in *in, struct akv_mil_out *out, size_t n, unsigned funcs)
{
	for (size_t i = 0; i < n; i++)
		ref_one(&in[i], &out[i], funcs);
}

/*
 * TS 33.102 §6.3.5: SQN_MS = Conc(SQN_MS) ^ f5*_K(RAND); MAC-S must equal
 * f1*_K(SQN_MS || RAND || AMF) with the dummy AMF = 0x0000 (§6.3.3).
 */
static void
ref_auts(const struct akv_mil_auts_in *in, struct akv_mil_auts_out *out, size_t n)
{
	static const uint8_t amf0[2] = {0, 0};

	for (size_t i = 0; i < n; i++) {
		struct akv_mil_in mi;
		struct akv_mil_out mo;

		memcpy(mi.k, in[i].k, 16);
		memcpy(mi.opc, in[i].opc, 16);
		memcpy(mi.rand, in[i].rand, 16);
		memset(mi.sqn, 0, 6);
		memcpy(mi.amf, amf0, 2);
		mi.ks = NULL;
		ref_one(&mi, &mo, AKV_MIL_F5S);
		for (int j = 0; j < 6; j++)
			out[i].sqn_ms[j] = in[i].auts[j] ^ mo.ak_s[j];
		memcpy(mi.sqn, out[i].sqn_ms, 6);
		ref_one(&mi, &mo, AKV_MIL_F1);
		out[i].mac_ok = akv_ct_eq(mo.mac_s, in[i].auts + 6, 8) == 0;
		akv_wipe(&mi, sizeof(mi));
		akv_wipe(&mo, sizeof(mo));
	}
}

/*
 * TS 33.102 §6.3.3, what the USIM does with RAND and AUTN: AK = f5(RAND)
 * unmasks SQN = (SQN ^ AK) ^ AK, then XMAC-A = f1(SQN, RAND, AMF); RES, CK,
 * IK as f2, f3, f4. One TEMP = E_K(RAND ^ OPc) serves all four OUTk.
 */
static void
ref_usim(const struct akv_mil_in *in, struct akv_mil_usim_out *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct akv_mil_in *x = &in[i];
		struct akv_mil_usim_out *u = &out[i];
		struct ref_aes a;
		uint8_t temp[16], o[16];

		ref_aes_init(&a, x->k);
		xor16(o, x->rand, x->opc);
		ref_aes_enc(&a, o, temp);
		ref_out(&a, x->opc, temp, x->sqn, x->amf, 2, o);
		memcpy(u->ak, o, 6);		/* f5 = OUT2[0..47]   */
		memcpy(u->res, o + 8, 8);	/* f2 = OUT2[64..127] */
		for (int j = 0; j < 6; j++)
			u->sqn[j] = x->sqn[j] ^ u->ak[j];
		ref_out(&a, x->opc, temp, u->sqn, x->amf, 1, o);
		memcpy(u->xmac, o, 8);		/* f1 = OUT1[0..63] */
		ref_out(&a, x->opc, temp, u->sqn, x->amf, 3, o);
		memcpy(u->ck, o, 16);		/* f3 = OUT3 */
		ref_out(&a, x->opc, temp, u->sqn, x->amf, 4, o);
		memcpy(u->ik, o, 16);		/* f4 = OUT4 */
		akv_wipe(temp, sizeof(temp));
		akv_wipe(o, sizeof(o));
		ref_aes_fini(&a);
	}
}

static const struct akv_mil_impl ref_impl = {
	.name = "ref", .lanes = 1, .gen = ref_gen, .auts = ref_auts, .usim = ref_usim,
};

/* see akv_crypto.h */
const struct akv_mil_impl *
akv_mil_ref_get(void)
{
	return &ref_impl;
}

/* see akv_crypto.h */
void
akv_mil_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16])
{
	struct ref_aes a;
	uint8_t e[16];

	/* TS 35.206 §4.1: OPc = OP ^ E_K(OP) */
	ref_aes_init(&a, k);
	ref_aes_enc(&a, op, e);
	xor16(opc, e, op);
	akv_wipe(e, sizeof(e));
	ref_aes_fini(&a);
}

/* see akv_crypto.h */
void
akv_mil_autn(const uint8_t sqn[6], const uint8_t ak[6], const uint8_t amf[2],
	     const uint8_t mac_a[8], uint8_t autn[16])
{
	/* TS 33.102 §6.3.2: AUTN = SQN ^ AK || AMF || MAC */
	for (int i = 0; i < 6; i++)
		autn[i] = sqn[i] ^ ak[i];
	memcpy(autn + 6, amf, 2);
	memcpy(autn + 8, mac_a, 8);
}

/*
 * mil_body.h - the lane-parallel Milenage algorithm (TS 35.206 §4.1), written
 * once over the primitives of a SIMD backend (the libsodium pattern). A
 * backend file (mil_ni.c, mil_vaes.c) defines the primitives below, inside its
 * `#pragma GCC target` region, and then includes this file.
 *
 *   MIL_W                 AES blocks per BLK_T (1: xmm, 2: ymm)
 *   MIL_LANES             subscribers per batch, 8 * MIL_W (8 vectors in flight)
 *   MIL_FN(x)             prefixes the backend's private names
 *   BLK_T                 a vector of MIL_W AES blocks
 *   BLK_XOR(a, b), BLK_AND(a, b)
 *   BLK_ENC(x, k), BLK_ENCLAST(x, k)   one AES round on every block
 *   BLK_LOADU(p)          MIL_W * 16 contiguous bytes
 *   BLK_LOAD_LANES(p, q)  block 0 from p, block 1 (if any) from q
 *   BLK_BCAST16(p)        the 16 bytes at p in every block
 *   BLK_BCAST8(p)         the 8 bytes at p in every 64-bit half
 *   BLK_SHUF(x, c)        byte shuffle inside each block (pshufb)
 *   BLK_SWAP64(x)         swap the 64-bit halves of each block
 *   BLK_BSLL4(x), BLK_BSLL8(x)  byte shift left inside each block
 *   BLK_STORE_LANES(p, q, x)    block 0 to p, block 1 (if any) to q
 *   BLK_PART(x, h)        block h as an __m128i
 * Both backends also have AES-NI and SSE4.1, so per-block steps use the
 * _mm_* (xmm) intrinsics directly.
 *
 * Shape of one batch of up to MIL_LANES subscribers:
 *  1. round keys: the caller's precomputed schedules, or expanded here once
 *     per lane for the whole batch (never per block), see mil_keys;
 *  2. TEMP pass: independent-key AES over the lanes; the last round key is
 *     folded with OPc so the pass yields t = TEMP ^ OPc;
 *  3. OUT pass: each lane's selected OUTk blocks are packed into "slots"
 *     (MIL_W blocks of the same lane, hence one broadcast round key) and
 *     slots are run 8 vectors at a time. A slot's input is t rotated and
 *     XORed with c_k by one pshufb and one XOR per vector; OPc is folded
 *     into the last round key again, so no output XOR remains.
 * Three instances of that shape: mil_batch_vec for the full vector mask
 * (OUT1..OUT4, the AV hot path) with the packing fixed at compile time,
 * mil_batch for any other mask (slots described at run time by mil_slots),
 * and mil_batch_usim for the USIM side (OUT2 first: its AK unmasks the SQN
 * that OUT1 needs, so the OUT pass runs in two halves).
 * No tables indexed by secret data, no branches on secret data, no allocation.
 */
#include <stddef.h>
#include <string.h>

#define MIL_JOBS 8	/* vectors in flight in the OUT pass */
#define MIL_MAXSLOT 5	/* OUT1..OUT5 with MIL_W = 1 */

_Static_assert(offsetof(struct akv_mil_out, mac_s) == offsetof(struct akv_mil_out, mac_a) + 8,
	       "f1 and f1* are stored as one 16-byte OUT1");
_Static_assert(offsetof(struct akv_mil_in, amf) == offsetof(struct akv_mil_in, sqn) + 6,
	       "SQN || AMF is loaded as one 8-byte half of IN1");

/* TS 35.206 §4.1: rot(x, r) as a pshufb control, out[i] = in[(i + r/8) % 16],
 * indexed by k (OUT1 is built from t unrotated, see q in mil_batch). */
static const uint8_t MIL_FN(rot_ctl)[6][16] = {
	{0},
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},	/* OUT1: see q  */
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},	/* r2 = 0       */
	{4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3},	/* r3 = 32      */
	{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7},	/* r4 = 64      */
	{12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},	/* r5 = 96      */
};
/* TS 35.206 §4.1: c1..c5, the value in the last byte */
static const uint8_t MIL_FN(c_blk)[6][16] = {
	{0}, {[15] = 0x00}, {[15] = 0x01}, {[15] = 0x02}, {[15] = 0x04}, {[15] = 0x08},
};
static const uint8_t MIL_FN(ones)[16] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};
/* FIPS-197 §5.2 key expansion: RotWord(w3) broadcast to the 4 words, and
 * Rcon[i] in the first byte of every word (see mil_kexp). */
static const uint8_t MIL_FN(rotw_ctl)[16] = {13, 14, 15, 12, 13, 14, 15, 12,
					     13, 14, 15, 12, 13, 14, 15, 12};
#define MIL_RC(x) {x, 0, 0, 0, x, 0, 0, 0, x, 0, 0, 0, x, 0, 0, 0}
static const uint8_t MIL_FN(rcon)[11][16] = {
	{0}, MIL_RC(0x01), MIL_RC(0x02), MIL_RC(0x04), MIL_RC(0x08), MIL_RC(0x10),
	MIL_RC(0x20), MIL_RC(0x40), MIL_RC(0x80), MIL_RC(0x1b), MIL_RC(0x36),
};
#undef MIL_RC

/* Which OUTk blocks a batch computes, packed MIL_W to a slot. Derived from
 * the public `funcs` mask only. */
struct MIL_FN(slots) {
	BLK_T ctl[MIL_MAXSLOT];		/* rotation of t per block */
	BLK_T cst[MIL_MAXSLOT];		/* c_k per block */
	BLK_T qm[MIL_MAXSLOT];		/* all-ones in the OUT1 block */
	unsigned n;			/* slots per lane */
	uint8_t k[MIL_MAXSLOT][MIL_W];	/* k of OUTk in each block */
	uint8_t shuf[MIL_MAXSLOT];	/* some block needs a rotation */
	uint8_t q[MIL_MAXSLOT];		/* some block is OUT1 */
};

/* Per-call scratch holding secrets; wiped before the call returns. */
struct MIL_FN(scratch) {
	_Alignas(32) uint8_t t[MIL_LANES][16];		/* TEMP ^ OPc */
	/* full-vector path: what slot 0 XORs into t, c2 || q (MIL_W = 2) or q */
	_Alignas(32) uint8_t u[MIL_LANES][MIL_W * 16];
	int u_init;
	struct akv_aes_sched sched[MIL_LANES];		/* schedules expanded here */
	int expanded;
};

/* akv_wipe() semantics with word-sized stores: the barrier tells the compiler
 * the zeroed memory may be read, so the memset cannot be elided. */
static inline void
MIL_FN(wipe)(void *p, size_t n)
{
	memset(p, 0, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

static void
MIL_FN(slots_init)(struct MIL_FN(slots) *sl, unsigned funcs)
{
	static const uint8_t order[5] = {2, 1, 3, 4, 5};
	unsigned sel[5], m = 0;

	/* AKV_MIL_F1 .. AKV_MIL_F5S are bits 0..4 and select OUT1 .. OUT5. OUT2
	 * comes first so that it shares a slot with OUT1: both use t unrotated,
	 * so that slot needs no shuffle (as in mil_batch_vec). */
	for (unsigned i = 0; i < 5; i++)
		if (funcs & (1u << (order[i] - 1)))
			sel[m++] = order[i];
	memset(sl, 0, sizeof(*sl));
	sl->n = (m + MIL_W - 1) / MIL_W;
	for (unsigned s = 0; s < sl->n; s++) {
		_Alignas(32) uint8_t ctl[MIL_W * 16], cst[MIL_W * 16], qm[MIL_W * 16];

		for (unsigned h = 0; h < MIL_W; h++) {
			/* an odd last slot repeats its block; the copy is not stored */
			unsigned i = s * MIL_W + h < m ? s * MIL_W + h : m - 1, k = sel[i];

			sl->k[s][h] = (uint8_t)k;
			memcpy(ctl + 16 * h, MIL_FN(rot_ctl)[k], 16);
			memcpy(cst + 16 * h, MIL_FN(c_blk)[k], 16);
			memcpy(qm + 16 * h, k == 1 ? MIL_FN(ones) : MIL_FN(c_blk)[0], 16);
			sl->shuf[s] |= k >= 3;
			sl->q[s] |= k == 1;
		}
		sl->ctl[s] = BLK_LOADU(ctl);
		sl->cst[s] = BLK_LOADU(cst);
		sl->qm[s] = BLK_LOADU(qm);
	}
}

/* FIPS-197 §5.2, one step of AES-128 key expansion on every block: with all
 * four words equal to RotWord(w3), ShiftRows is the identity and AESENCLAST
 * reduces to SubWord(RotWord(w3)) ^ Rcon (the AESKEYGENASSIST-free form that
 * also runs on VAES ymm registers). */
static inline __attribute__((always_inline)) BLK_T
MIL_FN(kexp)(BLK_T k, BLK_T rotw, BLK_T rc)
{
	BLK_T t = BLK_ENCLAST(BLK_SHUF(k, rotw), rc);

	k = BLK_XOR(k, BLK_BSLL4(k));
	k = BLK_XOR(k, BLK_BSLL8(k));
	return BLK_XOR(k, t);
}

#define MIL_LOAD128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))

/* 8 bytes at p in both halves of an xmm */
static inline __attribute__((always_inline)) __m128i
MIL_FN(dup8)(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return _mm_set1_epi64x((long long)v);
}

static inline __attribute__((always_inline)) void
MIL_FN(store6)(uint8_t *p, __m128i b)
{
	uint16_t w = (uint16_t)_mm_extract_epi16(b, 2);

	_mm_storeu_si32(p, b);
	memcpy(p + 4, &w, 2);
}

/* Scatters OUTk of one lane into the fields TS 35.206 §4.1 assigns to it. */
static inline __attribute__((always_inline)) void
MIL_FN(store)(struct akv_mil_out *o, unsigned k, __m128i b)
{
	switch (k) {
	case 1:	/* f1 = OUT1[0..63] (MAC-A), f1* = OUT1[64..127] (MAC-S) */
		_mm_storeu_si128((__m128i *)(void *)o->mac_a, b);
		break;
	case 2:	/* f5 = OUT2[0..47] (AK), f2 = OUT2[64..127] (RES) */
		_mm_storeu_si64(o->res, _mm_unpackhi_epi64(b, b));
		MIL_FN(store6)(o->ak, b);
		break;
	case 3:	/* f3 = OUT3 (CK) */
		_mm_storeu_si128((__m128i *)(void *)o->ck, b);
		break;
	case 4:	/* f4 = OUT4 (IK) */
		_mm_storeu_si128((__m128i *)(void *)o->ik, b);
		break;
	default: /* f5* = OUT5[0..47] (AK*) */
		MIL_FN(store6)(o->ak_s, b);
		break;
	}
}

/*
 * Round keys of a batch: the caller's schedules, or, when any lane came
 * without one, every occupied lane's schedule expanded here from K (a lane
 * with a schedule gets the same one again), once per batch.
 */
static inline __attribute__((always_inline)) void
MIL_FN(keys)(const struct akv_mil_in *const *li, size_t nb, const uint8_t **rk,
	     struct MIL_FN(scratch) *sc)
{
	int expand = 0;

	for (unsigned l = 0; l < MIL_LANES; l++) {
		rk[l] = li[l]->ks ? li[l]->ks->rk[0] : NULL;
		expand |= !li[l]->ks;
	}
	if (!expand)
		return;
	/* only the lanes holding subscribers, 4 vectors in lockstep per chunk;
	 * lanes past nb repeat the last subscriber, hence its schedule */
	const BLK_T rotw = BLK_BCAST16(MIL_FN(rotw_ctl));

	for (unsigned l0 = 0; l0 < nb; l0 += 4 * MIL_W) {
		BLK_T x[4];

#pragma GCC unroll 4
		for (unsigned g = 0; g < 4; g++) {
			unsigned a = l0 + g * MIL_W, b = a + MIL_W - 1;

			x[g] = BLK_LOAD_LANES(li[a]->k, li[b]->k);
			BLK_STORE_LANES(sc->sched[a].rk[0], sc->sched[b].rk[0], x[g]);
		}
#pragma GCC unroll 10
		for (unsigned r = 1; r <= 10; r++) {
			const BLK_T rc = BLK_BCAST16(MIL_FN(rcon)[r]);

#pragma GCC unroll 4
			for (unsigned g = 0; g < 4; g++) {
				unsigned a = l0 + g * MIL_W, b = a + MIL_W - 1;

				x[g] = MIL_FN(kexp)(x[g], rotw, rc);
				BLK_STORE_LANES(sc->sched[a].rk[r], sc->sched[b].rk[r], x[g]);
			}
		}
	}
	for (unsigned l = 0; l < MIL_LANES; l++)
		rk[l] = sc->sched[l < nb ? l : nb - 1].rk[0];
	sc->expanded = 1;
}

/*
 * One batch of nb (1..MIL_LANES) subscribers, any mask. Lanes past nb repeat
 * the last subscriber in the TEMP pass and are never stored.
 */
static inline __attribute__((always_inline)) void
MIL_FN(batch)(const struct akv_mil_in *in, struct akv_mil_out *out, size_t nb,
	      const struct MIL_FN(slots) *sl, struct MIL_FN(scratch) *sc)
{
	const unsigned nslots = sl->n;
	const struct akv_mil_in *li[MIL_LANES];
	const uint8_t *rk[MIL_LANES];
	BLK_T x[MIL_JOBS];

	for (unsigned l = 0; l < MIL_LANES; l++)
		li[l] = &in[l < nb ? l : nb - 1];

	/* 1. Round keys */
	MIL_FN(keys)(li, nb, rk, sc);

	/* 2. TS 35.206 §4.1: TEMP = E_K(RAND ^ OPc); we keep t = TEMP ^ OPc,
	 * OPc folded into the last round key. */
#pragma GCC unroll 8
	for (unsigned g = 0; g < 8; g++) {
		unsigned a = g * MIL_W, b = a + MIL_W - 1;

		x[g] = BLK_XOR(BLK_LOAD_LANES(li[a]->rand, li[b]->rand),
			       BLK_LOAD_LANES(li[a]->opc, li[b]->opc));
		x[g] = BLK_XOR(x[g], BLK_LOAD_LANES(rk[a], rk[b]));
	}
	for (unsigned r = 1; r < 10; r++) {
#pragma GCC unroll 8
		for (unsigned g = 0; g < 8; g++) {
			unsigned a = g * MIL_W, b = a + MIL_W - 1;

			x[g] = BLK_ENC(x[g], BLK_LOAD_LANES(rk[a] + 16 * r, rk[b] + 16 * r));
		}
	}
#pragma GCC unroll 8
	for (unsigned g = 0; g < 8; g++) {
		unsigned a = g * MIL_W, b = a + MIL_W - 1;
		BLK_T last = BLK_XOR(BLK_LOAD_LANES(rk[a] + 160, rk[b] + 160),
				     BLK_LOAD_LANES(li[a]->opc, li[b]->opc));

		x[g] = BLK_ENCLAST(x[g], last);
		BLK_STORE_LANES(sc->t[a], sc->t[b], x[g]);
	}

	/*
	 * 3. OUTk = E_K(rot(TEMP ^ OPc, rk) ^ ck) ^ OPc for k = 2..5, and
	 * OUT1 = E_K(TEMP ^ rot(IN1 ^ OPc, r1) ^ c1) ^ OPc = E_K(t ^ q) ^ OPc with
	 * q = OPc ^ rot(OPc, 64) ^ IN1, because IN1 = SQN||AMF||SQN||AMF is
	 * invariant under rot(., 64) and c1 = 0.
	 */
	size_t njobs = nb * nslots;

	for (size_t c = 0; c < njobs; c += MIL_JOBS) {
		unsigned jl[MIL_JOBS], js[MIL_JOBS];

#pragma GCC unroll 8
		for (unsigned j = 0; j < MIL_JOBS; j++) {
			/* a short last chunk recomputes its last job: same bytes stored twice */
			size_t job = c + j < njobs ? c + j : njobs - 1;
			unsigned l = (unsigned)(job / nslots), s = (unsigned)(job % nslots);
			BLK_T v = BLK_BCAST16(sc->t[l]);

			jl[j] = l;
			js[j] = s;
			if (sl->shuf[s])
				v = BLK_SHUF(v, sl->ctl[s]);
			v = BLK_XOR(v, sl->cst[s]);
			if (sl->q[s]) {
				BLK_T o = BLK_BCAST16(li[l]->opc);
				BLK_T q = BLK_XOR(BLK_XOR(o, BLK_SWAP64(o)),
						  BLK_BCAST8(li[l]->sqn));

				v = BLK_XOR(v, BLK_AND(q, sl->qm[s]));
			}
			x[j] = BLK_XOR(v, BLK_BCAST16(rk[l]));
		}
		for (unsigned r = 1; r < 10; r++) {
#pragma GCC unroll 8
			for (unsigned j = 0; j < MIL_JOBS; j++)
				x[j] = BLK_ENC(x[j], BLK_BCAST16(rk[jl[j]] + 16 * r));
		}
#pragma GCC unroll 8
		for (unsigned j = 0; j < MIL_JOBS; j++) {
			unsigned l = jl[j], s = js[j];

			x[j] = BLK_ENCLAST(x[j], BLK_XOR(BLK_BCAST16(rk[l] + 160),
							 BLK_BCAST16(li[l]->opc)));
			for (unsigned h = 0; h < MIL_W; h++) {
				if (h && sl->k[s][h] == sl->k[s][0])
					continue;
				MIL_FN(store)(&out[l], sl->k[s][h], BLK_PART(x[j], h));
			}
		}
	}
}

/*
 * The full vector mask (OUT1..OUT4, 5 AES per lane), full or partial batch,
 * with the packing fixed at compile time: block p of a lane's slots
 * (p = s*MIL_W + h) holds OUT(MIL_VEC_K(p)), i.e. OUT2, OUT1, OUT3, OUT4. The
 * slot holding OUT1 takes its whole additive term from sc->u (q, and c2
 * beside it when MIL_W = 2), written per lane in the TEMP pass.
 */
#define MIL_VEC_K(p) ((p) == 0 ? 2u : (p) == 1 ? 1u : (unsigned)(p) + 1u)
#define MIL_VEC_NS (4 / MIL_W)			/* slots per lane */
#define MIL_VEC_LG (MIL_JOBS / MIL_VEC_NS)	/* lanes per OUT chunk */
#define MIL_TQ 4				/* lanes per TEMP chunk */
#define MIL_VEC_HAS1(s) ((s) * MIL_W <= 1 && 1 <= (s) * MIL_W + MIL_W - 1)
#define MIL_VEC_ROT(s) ((s) * MIL_W >= 2)	/* OUT3, OUT4: r = 32, 64 */

/* rot_ctl and c_blk rows in MIL_VEC_K order, so a slot's MIL_W blocks are
 * contiguous (no per-call slot setup on the hot path) */
static const uint8_t MIL_FN(vec_ctl)[4][16] = {
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},	/* OUT2, r2 = 0  */
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},	/* OUT1 (via q)  */
	{4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3},	/* OUT3, r3 = 32 */
	{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7},	/* OUT4, r4 = 64 */
};
static const uint8_t MIL_FN(vec_cst)[4][16] = {
	{[15] = 0x01}, {[15] = 0x00}, {[15] = 0x02}, {[15] = 0x04},	/* c2, c1, c3, c4 */
};

/* As mil_store, for the full vector mask only: AK goes out as one 8-byte
 * store ending at ak[5], which clobbers ik[14..15]; the OUT4 store of the
 * same lane comes later in program order and rewrites them. */
static inline __attribute__((always_inline)) void
MIL_FN(store_vec)(struct akv_mil_out *o, unsigned k, __m128i b)
{
	switch (k) {
	case 1:	/* f1 || f1* = OUT1 */
		_mm_storeu_si128((__m128i *)(void *)o->mac_a, b);
		break;
	case 2:	/* f2 = OUT2[64..127]; f5 = OUT2[0..47] */
		_mm_storeh_pi((__m64 *)(void *)o->res, _mm_castsi128_ps(b));
		/* addressed within the whole struct: ak - 2 is ik[14] */
		_mm_storeu_si64((uint8_t *)o + offsetof(struct akv_mil_out, ak) - 2,
				_mm_slli_si128(b, 2));
		break;
	case 3:	/* f3 = OUT3 */
		_mm_storeu_si128((__m128i *)(void *)o->ck, b);
		break;
	default: /* f4 = OUT4 */
		_mm_storeu_si128((__m128i *)(void *)o->ik, b);
		break;
	}
}

/*
 * TEMP pass of the fixed-mask instances (TS 35.206 §4.1, TEMP = E_K(RAND ^
 * OPc), kept as t = TEMP ^ OPc), one xmm block per lane with the round keys
 * as plain 16-byte memory operands: measured ~9 % faster on VAES than
 * joining two lanes' keys per ymm, whose inserts compete with the OUT pass
 * for the shuffle port. Chunks of MIL_TQ lanes, only those holding
 * subscribers; the chunks are independent and overlap in out-of-order
 * execution. With want_q (a compile-time constant), also q = OPc ^ rot(OPc,
 * 64) ^ IN1 for OUT1 (see mil_batch) into the last block of sc->u.
 */
static inline __attribute__((always_inline)) void
MIL_FN(temp_xmm)(const struct akv_mil_in *in, size_t nb, const uint8_t *const *rk,
		 struct MIL_FN(scratch) *sc, int want_q)
{
#define LI(l) (&in[(l) < nb ? (l) : nb - 1])
	for (unsigned l0 = 0; l0 < nb; l0 += MIL_TQ) {
		__m128i y[MIL_TQ];

#pragma GCC unroll 8
		for (unsigned i = 0; i < MIL_TQ; i++) {
			unsigned l = l0 + i;
			__m128i o = MIL_LOAD128(LI(l)->opc);

			if (want_q) {
				__m128i q = _mm_xor_si128(_mm_xor_si128(o, _mm_shuffle_epi32(o, 0x4e)),
							  MIL_FN(dup8)(LI(l)->sqn));

				_mm_storeu_si128((__m128i *)(void *)(sc->u[l] + 16 * (MIL_W - 1)), q);
			}
			y[i] = _mm_xor_si128(_mm_xor_si128(MIL_LOAD128(LI(l)->rand), o),
					     MIL_LOAD128(rk[l]));
		}
#pragma GCC unroll 9
		for (unsigned r = 1; r < 10; r++) {
#pragma GCC unroll 8
			for (unsigned i = 0; i < MIL_TQ; i++)
				y[i] = _mm_aesenc_si128(y[i], MIL_LOAD128(rk[l0 + i] + 16 * r));
		}
#pragma GCC unroll 8
		for (unsigned i = 0; i < MIL_TQ; i++) {
			unsigned l = l0 + i;

			y[i] = _mm_aesenclast_si128(y[i], _mm_xor_si128(MIL_LOAD128(rk[l] + 160),
									MIL_LOAD128(LI(l)->opc)));
			_mm_storeu_si128((__m128i *)(void *)sc->t[l], y[i]);
		}
	}
#undef LI
}

static inline __attribute__((always_inline)) void
MIL_FN(batch_vec)(const struct akv_mil_in *in, struct akv_mil_out *out, size_t nb,
		  struct MIL_FN(scratch) *sc)
{
	const struct akv_mil_in *li[MIL_LANES];
	const uint8_t *rk[MIL_LANES];
	BLK_T x[MIL_JOBS];

	_Static_assert(offsetof(struct akv_mil_out, ak) == offsetof(struct akv_mil_out, ik) + 16,
		       "the 8-byte AK store overlaps only the tail of IK");
	/* a partial batch repeats its last subscriber in the TEMP pass and runs
	 * only the OUT chunks it needs; lanes past nb are never stored. LI(l) is
	 * an expression, not an array, so a full batch gets constant offsets. */
#define LI(l) (&in[(l) < nb ? (l) : nb - 1])
	for (unsigned l = 0; l < MIL_LANES; l++)
		li[l] = LI(l);
	MIL_FN(keys)(li, nb, rk, sc);
	if (!sc->u_init) {
		for (unsigned l = 0; l < MIL_LANES; l++)
			for (unsigned h = 0; h + 1 < MIL_W; h++)
				memcpy(sc->u[l] + 16 * h, MIL_FN(c_blk)[2], 16);
		sc->u_init = 1;
	}

	MIL_FN(temp_xmm)(in, nb, rk, sc, 1);

	/* OUT pass: MIL_VEC_LG lanes, 8 vectors, per chunk */
	for (unsigned l0 = 0; l0 < nb; l0 += MIL_VEC_LG) {
#pragma GCC unroll 8
		for (unsigned j = 0; j < MIL_JOBS; j++) {
			unsigned l = l0 + j / MIL_VEC_NS, s = j % MIL_VEC_NS;
			BLK_T v = BLK_BCAST16(sc->t[l]);

			if (MIL_VEC_ROT(s))
				v = BLK_SHUF(v, BLK_LOADU(MIL_FN(vec_ctl)[s * MIL_W]));
			if (MIL_VEC_HAS1(s))
				v = BLK_XOR(v, BLK_LOADU(sc->u[l]));
			else
				v = BLK_XOR(v, BLK_LOADU(MIL_FN(vec_cst)[s * MIL_W]));
			x[j] = BLK_XOR(v, BLK_BCAST16(rk[l]));
		}
#pragma GCC unroll 9
		for (unsigned r = 1; r < 10; r++) {
#pragma GCC unroll 8
			for (unsigned j = 0; j < MIL_JOBS; j++)
				x[j] = BLK_ENC(x[j], BLK_BCAST16(rk[l0 + j / MIL_VEC_NS] + 16 * r));
		}
		BLK_T last[MIL_VEC_LG];

		/* OPc folded into the last round key, once per lane (before the
		 * stores, which the compiler must assume may alias the keys) */
#pragma GCC unroll 8
		for (unsigned l = 0; l < MIL_VEC_LG; l++)
			last[l] = BLK_XOR(BLK_BCAST16(rk[l0 + l] + 160),
					  BLK_BCAST16(LI(l0 + l)->opc));
#pragma GCC unroll 8
		for (unsigned j = 0; j < MIL_JOBS; j++)
			x[j] = BLK_ENCLAST(x[j], last[j / MIL_VEC_NS]);
#pragma GCC unroll 8
		for (unsigned j = 0; j < MIL_JOBS; j++) {
			unsigned l = l0 + j / MIL_VEC_NS, s = j % MIL_VEC_NS;

			if (l >= nb)
				continue;
#pragma GCC unroll 2
			for (unsigned h = 0; h < MIL_W; h++)
				MIL_FN(store_vec)(&out[l], MIL_VEC_K(s * MIL_W + h),
						  BLK_PART(x[j], h));
		}
	}
#undef LI
}

/*
 * The USIM side (akv_mil_impl.usim, TS 33.102 §6.3.3), full or partial
 * batch, 5 AES per lane as the full vector mask. OUT1 needs the SQN that
 * OUT2's AK unmasks, so a lane's four OUT blocks run in two passes of two:
 * A = OUT2, OUT3 (neither depends on SQN), then B = OUT1, OUT4. Block p of a
 * pass's slots (p = s*MIL_W + h) is OUT2, OUT3 in A and OUT1, OUT4 in B, so
 * each pass fills whole vectors. A's OUT2 stores give q = OPc ^ rot(OPc, 64)
 * ^ IN1 (see mil_batch) with IN1 from the unmasked SQN, in sc->u[l] block 0;
 * block 1 (MIL_W = 2) holds c4, the term of OUT4 beside it.
 */
#define MIL_US_NS (2 / MIL_W)			/* slots per lane and pass */
#define MIL_US_LG (MIL_JOBS / MIL_US_NS)	/* lanes per chunk */
#define MIL_US_HAS0(s) ((s) == 0)		/* the slot holds block 0 */
#define MIL_US_HAS1(s) ((s) * MIL_W + MIL_W - 1 >= 1) /* ... and block 1 */

/* pass A: OUT2 (r2 = 0, c2), OUT3 (r3 = 32, c3); pass B: OUT1 (via q), OUT4
 * (r4 = 64, c4); rows in block order so a slot's MIL_W blocks are contiguous */
static const uint8_t MIL_FN(usa_ctl)[2][16] = {
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3},
};
static const uint8_t MIL_FN(usa_cst)[2][16] = {{[15] = 0x01}, {[15] = 0x02}};
static const uint8_t MIL_FN(usb_ctl)[2][16] = {
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7},
};
static const uint8_t MIL_FN(usb_cst)[2][16] = {{0}, {[15] = 0x04}};
/* AK = OUT2[0..47]: the low 6 bytes */
static const uint8_t MIL_FN(mask48)[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* One chunk of MIL_US_LG lanes from l0, pass A (pass_b = 0) or B. */
static inline __attribute__((always_inline)) void
MIL_FN(usim_chunk)(const struct akv_mil_in *in, struct akv_mil_usim_out *out, size_t nb,
		   unsigned l0, const uint8_t *const *rk, struct MIL_FN(scratch) *sc, int pass_b)
{
#define LI(l) (&in[(l) < nb ? (l) : nb - 1])
	const uint8_t(*ctl)[16] = pass_b ? MIL_FN(usb_ctl) : MIL_FN(usa_ctl);
	const uint8_t(*cst)[16] = pass_b ? MIL_FN(usb_cst) : MIL_FN(usa_cst);
	BLK_T x[MIL_JOBS], last[MIL_US_LG];

#pragma GCC unroll 8
	for (unsigned j = 0; j < MIL_JOBS; j++) {
		unsigned l = l0 + j / MIL_US_NS, s = j % MIL_US_NS;
		BLK_T v = BLK_BCAST16(sc->t[l]);

		if (MIL_US_HAS1(s))
			v = BLK_SHUF(v, BLK_LOADU(ctl[s * MIL_W]));
		if (pass_b && MIL_US_HAS0(s))
			v = BLK_XOR(v, BLK_LOADU(sc->u[l]));
		else
			v = BLK_XOR(v, BLK_LOADU(cst[s * MIL_W]));
		x[j] = BLK_XOR(v, BLK_BCAST16(rk[l]));
	}
#pragma GCC unroll 9
	for (unsigned r = 1; r < 10; r++) {
#pragma GCC unroll 8
		for (unsigned j = 0; j < MIL_JOBS; j++)
			x[j] = BLK_ENC(x[j], BLK_BCAST16(rk[l0 + j / MIL_US_NS] + 16 * r));
	}
	/* OPc folded into the last round key, once per lane */
#pragma GCC unroll 8
	for (unsigned l = 0; l < MIL_US_LG; l++)
		last[l] = BLK_XOR(BLK_BCAST16(rk[l0 + l] + 160), BLK_BCAST16(LI(l0 + l)->opc));
#pragma GCC unroll 8
	for (unsigned j = 0; j < MIL_JOBS; j++)
		x[j] = BLK_ENCLAST(x[j], last[j / MIL_US_NS]);
#pragma GCC unroll 8
	for (unsigned j = 0; j < MIL_JOBS; j++) {
		unsigned l = l0 + j / MIL_US_NS, s = j % MIL_US_NS;
		struct akv_mil_usim_out *o = &out[l];

#pragma GCC unroll 2
		for (unsigned h = 0; h < MIL_W; h++) {
			__m128i b = BLK_PART(x[j], h);
			unsigned p = s * MIL_W + h;

			if (!pass_b && p == 0) {
				/* TS 33.102 §6.3.3: SQN = (SQN ^ AK) ^ AK, in the
				 * 8 bytes SQN || AMF that IN1 repeats */
				__m128i ak = _mm_and_si128(b, MIL_LOAD128(MIL_FN(mask48)));
				__m128i sa = _mm_xor_si128(
				    _mm_loadl_epi64((const __m128i *)(const void *)LI(l)->sqn), ak);
				__m128i op = MIL_LOAD128(LI(l)->opc);
				__m128i q = _mm_xor_si128(_mm_xor_si128(op, _mm_shuffle_epi32(op, 0x4e)),
							  _mm_unpacklo_epi64(sa, sa));

				_mm_storeu_si128((__m128i *)(void *)sc->u[l], q);
				if (l >= nb)
					continue;
				/* f2 = OUT2[64..127], f5 = OUT2[0..47] */
				_mm_storeh_pi((__m64 *)(void *)o->res, _mm_castsi128_ps(b));
				MIL_FN(store6)(o->ak, b);
				MIL_FN(store6)(o->sqn, sa);
			} else if (l >= nb) {
				continue;
			} else if (!pass_b) {
				_mm_storeu_si128((__m128i *)(void *)o->ck, b);	/* f3 = OUT3 */
			} else if (p == 0) {
				_mm_storeu_si64(o->xmac, b);		/* f1 = OUT1[0..63] */
			} else {
				_mm_storeu_si128((__m128i *)(void *)o->ik, b);	/* f4 = OUT4 */
			}
		}
	}
#undef LI
}

static inline __attribute__((always_inline)) void
MIL_FN(batch_usim)(const struct akv_mil_in *in, struct akv_mil_usim_out *out, size_t nb,
		   struct MIL_FN(scratch) *sc)
{
	const struct akv_mil_in *li[MIL_LANES];
	const uint8_t *rk[MIL_LANES];

	for (unsigned l = 0; l < MIL_LANES; l++)
		li[l] = &in[l < nb ? l : nb - 1];
	MIL_FN(keys)(li, nb, rk, sc);
	MIL_FN(temp_xmm)(in, nb, rk, sc, 0);
	/* all A chunks, then all B chunks: a B chunk depends only on the A
	 * chunk of its lanes, long done by then */
	for (unsigned l0 = 0; l0 < nb; l0 += MIL_US_LG)
		MIL_FN(usim_chunk)(in, out, nb, l0, rk, sc, 0);
	for (unsigned l0 = 0; l0 < nb; l0 += MIL_US_LG)
		MIL_FN(usim_chunk)(in, out, nb, l0, rk, sc, 1);
}

static void
MIL_FN(scratch_wipe)(struct MIL_FN(scratch) *sc)
{
	MIL_FN(wipe)(sc->t, sizeof(sc->t));
	MIL_FN(wipe)(sc->u, sizeof(sc->u));
	sc->u_init = 0;
	if (sc->expanded)
		MIL_FN(wipe)(sc->sched, sizeof(sc->sched));
	sc->expanded = 0;
}

/* akv_mil_impl.gen: full batches, then one partial batch. The full vector
 * mask (5 AES per lane) gets its own instance with constant slot count. */
static void
MIL_FN(gen)(const struct akv_mil_in *in, struct akv_mil_out *out, size_t n, unsigned funcs)
{
	struct MIL_FN(scratch) sc;
	struct MIL_FN(slots) sl;
	size_t i = 0;

	funcs &= AKV_MIL_ALL;
	if (!n || !funcs)
		return;
	sc.expanded = 0;
	sc.u_init = 0;
	if (funcs == AKV_MIL_VECTOR) {
		for (; i + MIL_LANES <= n; i += MIL_LANES)
			MIL_FN(batch_vec)(in + i, out + i, MIL_LANES, &sc);
		if (i < n)
			MIL_FN(batch_vec)(in + i, out + i, n - i, &sc);
	} else {
		MIL_FN(slots_init)(&sl, funcs);
		for (; i + MIL_LANES <= n; i += MIL_LANES)
			MIL_FN(batch)(in + i, out + i, MIL_LANES, &sl, &sc);
		if (i < n)
			MIL_FN(batch)(in + i, out + i, n - i, &sl, &sc);
	}
	MIL_FN(scratch_wipe)(&sc);
}

/*
 * akv_mil_impl.auts, TS 33.102 §6.3.5: SQN_MS = Conc(SQN_MS) ^ f5*_K(RAND),
 * then MAC-S must equal f1*_K(SQN_MS || RAND || AMF) with AMF = 0000 (§6.3.3),
 * compared in constant time. Two passes per batch since f1* needs SQN_MS.
 */
static void
MIL_FN(auts)(const struct akv_mil_auts_in *in, struct akv_mil_auts_out *out, size_t n)
{
	struct akv_mil_in mi[MIL_LANES];
	struct akv_mil_out mo[MIL_LANES];
	struct MIL_FN(scratch) sc;
	struct MIL_FN(slots) s5, s1;

	sc.expanded = 0;
	sc.u_init = 0;
	MIL_FN(slots_init)(&s5, AKV_MIL_F5S);
	MIL_FN(slots_init)(&s1, AKV_MIL_F1);
	for (size_t i = 0; i < n; i += MIL_LANES) {
		size_t nb = n - i < MIL_LANES ? n - i : MIL_LANES;

		for (size_t l = 0; l < nb; l++) {
			memcpy(mi[l].k, in[i + l].k, 16);
			memcpy(mi[l].opc, in[i + l].opc, 16);
			memcpy(mi[l].rand, in[i + l].rand, 16);
			memset(mi[l].sqn, 0, 6);
			memset(mi[l].amf, 0, 2);	/* the dummy AMF of §6.3.3 */
			mi[l].ks = in[i + l].ks;
		}
		MIL_FN(batch)(mi, mo, nb, &s5, &sc);
		for (size_t l = 0; l < nb; l++) {
			for (int j = 0; j < 6; j++)
				mi[l].sqn[j] = in[i + l].auts[j] ^ mo[l].ak_s[j];
			memcpy(out[i + l].sqn_ms, mi[l].sqn, 6);
		}
		MIL_FN(batch)(mi, mo, nb, &s1, &sc);
		for (size_t l = 0; l < nb; l++)
			out[i + l].mac_ok = akv_ct_eq(mo[l].mac_s, in[i + l].auts + 6, 8) == 0;
	}
	MIL_FN(wipe)(mi, sizeof(mi));
	MIL_FN(wipe)(mo, sizeof(mo));
	MIL_FN(scratch_wipe)(&sc);
}

/* akv_mil_impl.usim: full batches, then one partial batch (see batch_usim). */
static void
MIL_FN(usim)(const struct akv_mil_in *in, struct akv_mil_usim_out *out, size_t n)
{
	struct MIL_FN(scratch) sc;
	size_t i = 0;

	if (!n)
		return;
	sc.expanded = 0;
	/* block 1 of every lane's pass-B term: c4 beside OUT1's q */
	for (unsigned l = 0; l < MIL_LANES; l++)
		for (unsigned h = 1; h < MIL_W; h++)
			memcpy(sc.u[l] + 16 * h, MIL_FN(usb_cst)[1], 16);
	for (; i + MIL_LANES <= n; i += MIL_LANES)
		MIL_FN(batch_usim)(in + i, out + i, MIL_LANES, &sc);
	if (i < n)
		MIL_FN(batch_usim)(in + i, out + i, n - i, &sc);
	MIL_FN(scratch_wipe)(&sc);
}

/*
 * load_check.c - what lets `load` judge the server: it knows K and OPc of
 * every subscriber, so from a vector's RAND and AUTN it recomputes Milenage
 * (TS 35.206) and compares. AK = f5(RAND) unmasks SQN = (SQN ^ AK) ^ AK
 * (TS 33.102 §6.3.2); MAC-A = f1(SQN, RAND, AMF) must equal AUTN's last 8
 * bytes; RES, CK, IK must equal what the server returned. It also builds the
 * AUTS a USIM would send to resynchronise (TS 33.102 §6.3.3). Compares are
 * constant-time, as everywhere in akavs.
 *
 * Checks are queued and run in batches (one pass per completion batch of
 * the ring, through the best multi-buffer kernel), because one kernel call
 * per vector costs ~0.5 us here, more than the client's whole per-request
 * budget at echo-baseline rates. Only what a transaction needs to go on
 * (RES for VERIFY, SQN for RESYNC) is computed at once.
 */
#include "load.h"

#include <string.h>

#include "mem.h"

#define SQN_MAX ((1ull << 48) - 1)
/* RESYNC: the "USIM" claims an SQN two SEQ steps (IND is 5 bits by default,
 * TS 33.102 C.3.2) past the one just received. */
#define RESYNC_AHEAD 64

/* A vector waiting for its check. Holds server outputs (CK, IK, XRES):
 * wiped with the queue at the end of the run like any key material. */
struct load_pending {
	uint32_t sub;
	uint8_t has_keys, has_xres;
	uint8_t autn[16], ck[16], ik[16], xres[8];
	uint64_t sqn_min; /* the vector's SQN must be >= this (0: any) */
};

static uint64_t
sqn_get(const uint8_t b[6])
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | b[i];
	return v;
}

static void
sqn_put(uint64_t v, uint8_t b[6])
{
	for (int i = 5; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

/* K and OPc come from the slot: load_pick() copied them there from the
 * subscriber table when the transaction started, while the record was in
 * cache for the identities anyway (by the time an answer arrives it is
 * not: fetching it again cost more than the check's own arithmetic). */
static void
slot_in(const struct load_slot *s, struct akv_mil_in *in)
{
	memset(in, 0, sizeof(*in));
	memcpy(in->k, s->k, 16);
	memcpy(in->opc, s->opc, 16);
}

/* see load.h */
void
load_check_init(struct load_thread *t)
{
	t->pend = akv_calloc(LOAD_CHECK_BATCH, sizeof(*t->pend));
	t->pin = akv_calloc(LOAD_CHECK_BATCH, sizeof(*t->pin));
	t->pout = akv_calloc(LOAD_CHECK_BATCH, sizeof(*t->pout));
	t->npend = 0;
}

/* see load.h */
void
load_check_fini(struct load_thread *t)
{
	if (t->pend) {
		akv_wipe(t->pend, LOAD_CHECK_BATCH * sizeof(*t->pend));
		akv_wipe(t->pin, LOAD_CHECK_BATCH * sizeof(*t->pin));
		akv_wipe(t->pout, LOAD_CHECK_BATCH * sizeof(*t->pout));
	}
	akv_free(t->pend);
	akv_free(t->pin);
	akv_free(t->pout);
	t->pend = NULL;
	t->pin = NULL;
	t->pout = NULL;
}

/* see load.h */
void
load_check_flush(struct load_thread *t)
{
	unsigned n = t->npend;

	if (!n)
		return;
	/* pass 1: OUT2 gives RES and AK (TS 35.206 f2/f5), AK unmasks SQN */
	t->mil->gen(t->pin, t->pout, n, AKV_MIL_F2F5);
	for (unsigned i = 0; i < n; i++) {
		struct akv_mil_in *in = &t->pin[i];
		const struct load_pending *p = &t->pend[i];

		for (int b = 0; b < 6; b++)
			in->sqn[b] = p->autn[b] ^ t->pout[i].ak[b];
		memcpy(in->amf, p->autn + 6, 2);
		/* RES is compared now: pass 2 overwrites the outputs */
		if (p->has_xres && akv_ct_eq(t->pout[i].res, p->xres, 8))
			t->pend[i].has_xres = 2; /* mismatch, counted below */
	}
	/* pass 2: MAC-A over that SQN and the AUTN's AMF; CK, IK */
	t->mil->gen(t->pin, t->pout, n, AKV_MIL_F1 | AKV_MIL_F3 | AKV_MIL_F4);
	for (unsigned i = 0; i < n; i++) {
		const struct load_pending *p = &t->pend[i];
		const struct akv_mil_out *o = &t->pout[i];
		int bad = akv_ct_eq(o->mac_a, p->autn + 8, 8) != 0 || p->has_xres == 2 ||
			  (p->sqn_min && sqn_get(t->pin[i].sqn) < p->sqn_min);

		if (p->has_keys)
			bad |= (akv_ct_eq(o->ck, p->ck, 16) | akv_ct_eq(o->ik, p->ik, 16)) != 0;
		if (bad)
			t->c.err_check++;
	}
	/* the queue is reused batch after batch and wiped once in
	 * load_check_fini: a byte-wise wipe of every batch cost more than the
	 * check itself, and the keys stay in the subscriber table anyway */
	t->npend = 0;
}

/* see load.h */
int
load_check_vec(struct load_thread *t, struct load_slot *s, const uint8_t rand[16],
	       const uint8_t autn[16], const uint8_t *ck, const uint8_t *ik, const uint8_t *xres,
	       unsigned xres_len, uint64_t sqn_min)
{
	struct load_pending *p;
	struct akv_mil_in *in;

	memcpy(s->rand, rand, 16);
	memcpy(s->autn, autn, 16);
	if (ck)
		memcpy(s->ck, ck, 16);
	if (ik)
		memcpy(s->ik, ik, 16);
	if (!t->cfg->check || t->stopping)
		return 0;
	if (xres && xres_len != 8)
		return -1; /* akavs' RES is 64 bits (f2, TS 35.206) */
	if (t->npend == LOAD_CHECK_BATCH)
		load_check_flush(t);
	p = &t->pend[t->npend];
	in = &t->pin[t->npend];
	slot_in(s, in);
	memcpy(in->rand, rand, 16);
	p->sub = s->sub;
	memcpy(p->autn, autn, 16);
	p->has_keys = ck && ik;
	if (p->has_keys) {
		memcpy(p->ck, ck, 16);
		memcpy(p->ik, ik, 16);
	}
	p->has_xres = xres != NULL;
	if (xres)
		memcpy(p->xres, xres, 8);
	p->sqn_min = sqn_min;
	t->npend++;
	return 0;
}

/* see load.h */
void
load_derive(struct load_thread *t, struct load_slot *s)
{
	struct akv_mil_in in;
	struct akv_mil_out out;
	uint8_t sqn[6];

	/* OUT2 (TS 35.206 f2/f5): RES for VERIFY, AK to unmask SQN for RESYNC */
	slot_in(s, &in);
	memcpy(in.rand, s->rand, 16);
	t->mil->gen(&in, &out, 1, AKV_MIL_F2F5);
	for (int i = 0; i < 6; i++)
		sqn[i] = s->autn[i] ^ out.ak[i];
	memcpy(s->res, out.res, 8);
	s->sqn = sqn_get(sqn);
	akv_wipe(&in, sizeof(in));
	akv_wipe(&out, sizeof(out));
}

/* see load.h */
void
load_make_auts(struct load_thread *t, struct load_slot *s, uint8_t auts[14])
{
	struct akv_mil_in in;
	struct akv_mil_out mo;
	uint64_t ms = s->sqn + RESYNC_AHEAD > SQN_MAX ? s->sqn : s->sqn + RESYNC_AHEAD;

	/* AUTS = (SQN_MS ^ f5*(RAND)) || f1*(SQN_MS, RAND, AMF = 0000) */
	slot_in(s, &in);
	memcpy(in.rand, s->rand, 16);
	sqn_put(ms, in.sqn);
	t->mil->gen(&in, &mo, 1, AKV_MIL_F1 | AKV_MIL_F5S);
	for (int i = 0; i < 6; i++)
		auts[i] = in.sqn[i] ^ mo.ak_s[i];
	memcpy(auts + 6, mo.mac_s, 8);
	s->sqn = ms;
	akv_wipe(&in, sizeof(in));
	akv_wipe(&mo, sizeof(mo));
}

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
 * budget at echo-baseline rates. The pass is the USIM side of Milenage
 * (akv_mil_impl.usim: TEMP once, AK, SQN, XMAC-A, RES, CK, IK) over the
 * subscriber table's precomputed key schedules, so no key is expanded per
 * vector. Only what a transaction needs to go on (RES for VERIFY, SQN for
 * RESYNC) is computed at once.
 */
#include "load.h"

#include <stddef.h>
#include <string.h>

#include "mem.h"

#define SQN_MAX ((1ull << 48) - 1)
/* RESYNC: the "USIM" claims an SQN two SEQ steps (IND is 5 bits by default,
 * TS 33.102 C.3.2) past the one just received. */
#define RESYNC_AHEAD 64

/* A vector waiting for its check: what the USIM side must reproduce, in
 * the order of struct akv_mil_usim_out from xmac (MAC-A from AUTN, XRES, CK,
 * IK), so that one constant-time compare covers them all. Holds server
 * outputs: wiped with the queue at the end of the run like any key material. */
struct load_pending {
	uint8_t want[48];
	uint8_t has_keys, has_xres;
	uint64_t sqn_min; /* the vector's SQN must be >= this (0: any) */
};
#define WANT_MAC 0
#define WANT_RES 8
#define WANT_CK 16
#define WANT_IK 32
_Static_assert(offsetof(struct akv_mil_usim_out, res) - offsetof(struct akv_mil_usim_out, xmac) ==
		       WANT_RES &&
		   offsetof(struct akv_mil_usim_out, ck) - offsetof(struct akv_mil_usim_out, xmac) ==
		       WANT_CK &&
		   offsetof(struct akv_mil_usim_out, ik) - offsetof(struct akv_mil_usim_out, xmac) ==
		       WANT_IK,
	       "want[] mirrors xmac || res || ck || ik");

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

/* The Milenage input of slot s's subscriber: K's schedule and OPc from
 * struct load_sched when the kernel reads schedules, else K and OPc from
 * the record; RAND, SQN and AMF zero. */
static void
slot_in(const struct load_thread *t, const struct load_slot *s, struct akv_mil_in *in)
{
	const struct load_sub *sub = &t->cfg->subs->v[s->sub];

	memset(in, 0, sizeof(*in));
	if (t->check_ks) {
		in->ks = &t->check_ks[s->sub].ks;
		memcpy(in->opc, t->check_ks[s->sub].opc, 16);
	} else {
		memcpy(in->k, sub->k, 16);
		memcpy(in->opc, sub->opc, 16);
	}
}

/* see load.h */
void
load_check_init(struct load_thread *t)
{
	const struct load_subs *subs = t->cfg->subs;

	/* only the reference ignores schedules (akv_crypto.h) */
	t->check_ks = subs && subs->ks && t->mil != akv_mil_ref_get() ? subs->ks : NULL;
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
	/* OPc beside each schedule: load_check_vec() asked for those lines
	 * (reading them there would have waited for them) */
	if (t->check_ks)
		for (unsigned i = 0; i < n; i++)
			memcpy(t->pin[i].opc, ((const struct load_sched *)t->pin[i].ks)->opc, 16);
	/* TS 33.102 §6.3.3 as a USIM: AK unmasks SQN, XMAC-A over it and the
	 * AUTN's AMF; RES, CK, IK, all from one TEMP per vector */
	t->mil->usim(t->pin, t->pout, n);
	/* what the answer did not carry is not compared: it is taken as
	 * computed (a branch on public flags only). A pass of its own: the
	 * compare's 16-byte loads would wait for an 8-byte store just made
	 * inside their range (no store forwarding), not for one made a batch
	 * earlier */
	for (unsigned i = 0; i < n; i++) {
		struct load_pending *p = &t->pend[i];
		const struct akv_mil_usim_out *o = &t->pout[i];

		if (!p->has_xres)
			memcpy(p->want + WANT_RES, o->res, 8);
		if (!p->has_keys)
			memcpy(p->want + WANT_CK, o->ck, 32);
	}
	for (unsigned i = 0; i < n; i++) {
		const struct load_pending *p = &t->pend[i];
		const struct akv_mil_usim_out *o = &t->pout[i];
		int bad;

		bad = akv_ct_eq(o->xmac, p->want, sizeof(p->want)) != 0 ||
		      (p->sqn_min && sqn_get(o->sqn) < p->sqn_min);
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

	/* CHALLENGE and VECTORS end with the answer: nothing reads these
	 * again, and the slot's lines need not be written; REGISTER's SAR
	 * takes RAND/AUTN from the MAA itself (load_dia.c maa_judge) */
	if (s->op != LOAD_OP_CHALLENGE && s->op != LOAD_OP_VECTORS &&
	    s->op != LOAD_OP_REGISTER) {
		memcpy(s->rand, rand, 16);
		memcpy(s->autn, autn, 16);
		if (ck)
			memcpy(s->ck, ck, 16);
		if (ik)
			memcpy(s->ik, ik, 16);
	}
	if (!t->cfg->check || t->stopping)
		return 0;
	if (xres && xres_len != 8)
		return -1; /* akavs' RES is 64 bits (f2, TS 35.206) */
	p = &t->pend[t->npend];
	in = &t->pin[t->npend];
	/* every field the kernel reads is written, no memset first */
	memcpy(in->rand, rand, 16);
	memcpy(in->sqn, autn, 8); /* AUTN[0..7] = SQN ^ AK || AMF, as usim takes them */
	if (t->check_ks) {
		/* K's schedule and OPc, read at the flush (OPc copied then):
		 * three lines of a record picked at random, likely not cached.
		 * The kernel takes no K beside a schedule. */
		const struct load_sched *ks = &t->check_ks[s->sub];

		in->ks = &ks->ks;
		__builtin_prefetch(ks);
		__builtin_prefetch((const uint8_t *)ks + 64);
		__builtin_prefetch((const uint8_t *)ks + 128);
	} else {
		const struct load_sub *sub = &t->cfg->subs->v[s->sub];

		in->ks = NULL;
		memcpy(in->k, sub->k, 16);
		memcpy(in->opc, sub->opc, 16);
	}
	memcpy(p->want + WANT_MAC, autn + 8, 8);
	p->has_keys = ck && ik;
	if (p->has_keys) {
		memcpy(p->want + WANT_CK, ck, 16);
		memcpy(p->want + WANT_IK, ik, 16);
	}
	p->has_xres = xres != NULL;
	if (xres)
		memcpy(p->want + WANT_RES, xres, 8);
	p->sqn_min = sqn_min;
	/* a full queue is checked now, as the last thing done here: nothing
	 * is then live across the call (checked when the next vector came,
	 * every call saved and restored the registers holding the vector) */
	if (++t->npend == LOAD_CHECK_BATCH)
		load_check_flush(t);
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
	slot_in(t, s, &in);
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
	slot_in(t, s, &in);
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

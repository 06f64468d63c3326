/*
 * load_check.c - what lets `load` judge the server: it knows K and OPc of
 * every subscriber, so from a vector's RAND and AUTN it recomputes Milenage
 * (TS 35.206) and compares. AK = f5(RAND) unmasks SQN = (SQN ^ AK) ^ AK
 * (TS 33.102 §6.3.2); MAC-A = f1(SQN, RAND, AMF) must equal AUTN's last 8
 * bytes; RES, CK, IK must equal what the server returned. It also builds the
 * AUTS a USIM would send to resynchronise (TS 33.102 §6.3.3). Compares are
 * constant-time, as everywhere in akavs.
 */
#include "load.h"

#include <string.h>

#define SQN_MAX ((1ull << 48) - 1)
/* RESYNC: the "USIM" claims an SQN two SEQ steps (IND is 5 bits by default,
 * TS 33.102 C.3.2) past the one just received. */
#define RESYNC_AHEAD 64

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

static void
sub_in(const struct load_thread *t, const struct load_slot *s, struct akv_mil_in *in)
{
	const struct load_sub *sub = &t->cfg->subs->v[s->sub];

	memset(in, 0, sizeof(*in));
	memcpy(in->k, sub->k, 16);
	memcpy(in->opc, sub->opc, 16);
}

/* see load.h */
int
load_check_vec(struct load_thread *t, struct load_slot *s, const uint8_t rand[16],
	       const uint8_t autn[16], const uint8_t *ck, const uint8_t *ik, const uint8_t *xres,
	       unsigned xres_len)
{
	struct akv_mil_in in;
	struct akv_mil_out out;
	uint8_t sqn[6];
	int bad = 0;

	sub_in(t, s, &in);
	memcpy(in.rand, rand, 16);
	/* pass 1: OUT2 gives RES and AK (TS 35.206 f2/f5), which unmasks SQN */
	t->mil->gen(&in, &out, 1, AKV_MIL_F2F5);
	for (int i = 0; i < 6; i++)
		sqn[i] = autn[i] ^ out.ak[i];
	memcpy(s->rand, rand, 16);
	memcpy(s->res, out.res, 8);
	s->sqn = sqn_get(sqn);
	if (t->cfg->check) {
		/* pass 2: MAC-A over that SQN and the AUTN's AMF; CK, IK */
		memcpy(in.sqn, sqn, 6);
		memcpy(in.amf, autn + 6, 2);
		t->mil->gen(&in, &out, 1, AKV_MIL_F1 | AKV_MIL_F3 | AKV_MIL_F4);
		bad |= akv_ct_eq(out.mac_a, autn + 8, 8);
		if (ck)
			bad |= akv_ct_eq(out.ck, ck, 16);
		if (ik)
			bad |= akv_ct_eq(out.ik, ik, 16);
		if (xres)
			bad |= xres_len != 8 || akv_ct_eq(s->res, xres, 8);
		memcpy(s->ck, out.ck, 16);
		memcpy(s->ik, out.ik, 16);
	}
	akv_wipe(&in, sizeof(in));
	akv_wipe(&out, sizeof(out));
	return bad ? -1 : 0;
}

/* see load.h */
void
load_make_auts(struct load_thread *t, struct load_slot *s, uint8_t auts[14])
{
	struct akv_mil_in in;
	struct akv_mil_out mo;
	uint64_t ms = s->sqn + RESYNC_AHEAD > SQN_MAX ? s->sqn : s->sqn + RESYNC_AHEAD;

	/* AUTS = (SQN_MS ^ f5*(RAND)) || f1*(SQN_MS, RAND, AMF = 0000) */
	sub_in(t, s, &in);
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

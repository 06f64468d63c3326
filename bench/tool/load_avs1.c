/*
 * load_avs1.c - AVS/1 for `load` (docs/PROTOCOL.md; codec in
 * server/proto/avs1.h). The generator knows every subscriber's K and OPc,
 * so for each vector it recomputes Milenage (TS 35.206) from RAND alone:
 * AK = f5(RAND), SQN = (SQN ^ AK) ^ AK from AUTN (TS 33.102 §6.3.2), then
 * MAC-A = f1(SQN, RAND, AMF), RES, CK, IK, and compares them with what the
 * server sent (constant-time compares, as anywhere in akavs). The RES it
 * computes answers VERIFY; the AUTS it builds answers RESYNC.
 */
#include "load.h"

#include <string.h>

#include "proto/avs1.h"
#include "echo.h"
#include "err.h"

#define SQN_MAX ((1ull << 48) - 1)
/* RESYNC: the "USIM" claims an SQN two SEQ steps (IND is 5 bits by default,
 * TS 33.102 C.3.2) past the one just received. */
#define RESYNC_AHEAD 64

static const struct load_sub *
sub_of(const struct load_thread *t, const struct load_slot *s)
{
	return &t->cfg->subs->v[s->sub];
}

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

/* Recomputes the vector from RAND and AUTN: fills s->rand/res/ck/ik/sqn and
 * returns 0 when MAC-A (and, if given, CK, IK, XRES) match, -1 otherwise. */
static int
check_vec(struct load_thread *t, struct load_slot *s, const struct akv_eng_vec *v, int has_keys,
	  int has_xres)
{
	const struct load_sub *sub = sub_of(t, s);
	struct akv_mil_in in;
	struct akv_mil_out out;
	uint8_t sqn[6];
	int bad = 0;

	memset(&in, 0, sizeof(in));
	memcpy(in.k, sub->k, 16);
	memcpy(in.opc, sub->opc, 16);
	memcpy(in.rand, v->rand, 16);
	/* pass 1: OUT2 gives RES and AK (TS 35.206 f2/f5), which unmasks SQN */
	t->mil->gen(&in, &out, 1, AKV_MIL_F2F5);
	for (int i = 0; i < 6; i++)
		sqn[i] = v->autn[i] ^ out.ak[i];
	memcpy(s->rand, v->rand, 16);
	memcpy(s->res, out.res, 8);
	s->sqn = sqn_get(sqn);
	if (t->cfg->check) {
		/* pass 2: MAC-A over that SQN and the AUTN's AMF; CK, IK */
		memcpy(in.sqn, sqn, 6);
		memcpy(in.amf, v->autn + 6, 2);
		t->mil->gen(&in, &out, 1, AKV_MIL_F1 | AKV_MIL_F3 | AKV_MIL_F4);
		bad |= akv_ct_eq(out.mac_a, v->autn + 8, 8);
		if (has_keys)
			bad |= akv_ct_eq(out.ck, v->ck, 16) | akv_ct_eq(out.ik, v->ik, 16);
		if (has_xres)
			bad |= v->xres_len != 8 || akv_ct_eq(s->res, v->xres, 8);
		memcpy(s->ck, out.ck, 16);
		memcpy(s->ik, out.ik, 16);
	}
	akv_wipe(&in, sizeof(in));
	akv_wipe(&out, sizeof(out));
	return bad ? -1 : 0;
}

static void
req_ids(struct akv_avs1_req *r, const struct load_sub *sub, uint8_t op, uint64_t id)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->id = id;
	r->n = 1;
	r->scheme = AKV_SCHEME_ANY;
	r->ind = AKV_AVS1_IND_NONE;
	r->impi = sub->impi;
	r->impi_len = sub->impi_len;
	if (op != AKV_AVS1_VERIFY) {
		r->impu = sub->impu;
		r->impu_len = sub->impu ? sub->impu_len : 0;
	}
}

static int
avs1_start(struct load_thread *t, struct load_slot *s, uint64_t id, uint8_t *out, size_t cap)
{
	struct akv_avs1_req r;

	if (load_pick(t, s))
		return -1;
	if (s->op == LOAD_OP_VECTORS) {
		req_ids(&r, sub_of(t, s), AKV_AVS1_VECTORS, id);
		r.n = (uint8_t)t->cfg->nvec;
	} else {
		req_ids(&r, sub_of(t, s), AKV_AVS1_CHALLENGE, id);
	}
	return akv_avs1_req_encode(&r, out, cap);
}

static int
avs1_answer_id(const uint8_t *f, size_t len, uint64_t *id)
{
	uint64_t v = 0;

	if (len < AKV_AVS1_HDR_LEN)
		return AKV_EPROTO;
	for (int i = 8; i < 16; i++)
		v = v << 8 | f[i];
	*id = v;
	return 0;
}

/* Step 1 of verify/wrong/resync: the request that follows the challenge. */
static int
second_request(struct load_thread *t, struct load_slot *s, uint64_t id, uint8_t *out, size_t cap)
{
	const struct load_sub *sub = sub_of(t, s);
	struct akv_avs1_req r;
	int len;

	if (s->op == LOAD_OP_RESYNC) {
		struct akv_mil_in in;
		struct akv_mil_out mo;
		uint64_t ms = s->sqn + RESYNC_AHEAD > SQN_MAX ? s->sqn : s->sqn + RESYNC_AHEAD;

		/* TS 33.102 §6.3.3: AUTS = (SQN_MS ^ f5*(RAND)) || f1*(SQN_MS, RAND, AMF=0) */
		memset(&in, 0, sizeof(in));
		memcpy(in.k, sub->k, 16);
		memcpy(in.opc, sub->opc, 16);
		memcpy(in.rand, s->rand, 16);
		sqn_put(ms, in.sqn);
		t->mil->gen(&in, &mo, 1, AKV_MIL_F1 | AKV_MIL_F5S);
		req_ids(&r, sub, AKV_AVS1_RESYNC, id);
		memcpy(r.rand, s->rand, 16);
		for (int i = 0; i < 6; i++)
			r.auts[i] = in.sqn[i] ^ mo.ak_s[i];
		memcpy(r.auts + 6, mo.mac_s, 8);
		s->sqn = ms;
		akv_wipe(&in, sizeof(in));
		akv_wipe(&mo, sizeof(mo));
	} else {
		req_ids(&r, sub, AKV_AVS1_VERIFY, id);
		r.kind = AKV_AVS1_VERIFY_RES;
		memcpy(r.rand, s->rand, 16);
		r.res_len = 8;
		memcpy(r.res, s->res, 8);
		if (s->op == LOAD_OP_WRONG)
			r.res[7] ^= 0x01;
	}
	s->step = 1;
	len = akv_avs1_req_encode(&r, out, cap);
	akv_wipe(r.res, sizeof(r.res));
	return len;
}

static int
avs1_answer(struct load_thread *t, struct load_slot *s, uint64_t id, const uint8_t *f, size_t len,
	    uint8_t *out, size_t cap)
{
	struct akv_avs1_ans a;
	uint8_t want_op;
	int bad = 0;

	if (akv_avs1_ans_decode(f, len, &a, NULL))
		return AKV_EPROTO;
	want_op = s->op == LOAD_OP_VECTORS  ? AKV_AVS1_VECTORS
		  : s->step == 0	    ? AKV_AVS1_CHALLENGE
		  : s->op == LOAD_OP_RESYNC ? AKV_AVS1_RESYNC
					    : AKV_AVS1_VERIFY;
	if (a.op != want_op)
		return AKV_EPROTO;
	if (a.flags & AKV_AVS1_F_ERROR) {
		t->c.err_answers++;
		return 0;
	}
	if (want_op == AKV_AVS1_VERIFY) {
		/* the right RES must be accepted with the CK/IK of the challenge,
		 * a wrong one refused (FAIL, or DEREGISTER at the policy's limit) */
		if (s->op == LOAD_OP_VERIFY)
			bad = a.verdict != AKV_VERDICT_OK ||
			      (t->cfg->check &&
			       (akv_ct_eq(a.ck, s->ck, 16) | akv_ct_eq(a.ik, s->ik, 16)));
		else
			bad = a.verdict != AKV_VERDICT_FAIL && a.verdict != AKV_VERDICT_DEREGISTER;
		if (bad)
			t->c.err_verdict++;
		return 0;
	}
	if (!a.nvec || a.nvec != (want_op == AKV_AVS1_VECTORS ? t->cfg->nvec : 1)) {
		t->c.err_check++;
		return 0;
	}
	if (want_op == AKV_AVS1_RESYNC) {
		uint64_t ms = s->sqn;

		/* the fresh vector must be valid and above the SQN_MS we sent */
		bad = check_vec(t, s, &a.vec[0], 1, 0) || s->sqn <= ms;
		t->c.vectors++;
		if (bad)
			t->c.err_check++;
		return 0;
	}
	for (unsigned i = 0; i < a.nvec; i++) {
		if (check_vec(t, s, &a.vec[i], 1, want_op == AKV_AVS1_VECTORS))
			bad = 1;
		t->c.vectors++;
	}
	if (bad) {
		t->c.err_check++;
		return 0;
	}
	if (s->op == LOAD_OP_VERIFY || s->op == LOAD_OP_WRONG || s->op == LOAD_OP_RESYNC)
		return second_request(t, s, id, out, cap);
	return 0;
}

/* see load.h */
int
load_avs1_sizes(const struct load_cfg *cfg, unsigned *req, unsigned *ans)
{
	static uint8_t buf[AKV_AVS1_FRAME_MAX];
	struct akv_eng_vec vec[AKV_VEC_MAX];
	struct akv_avs1_req r;
	struct akv_avs1_ans a;
	int rl, al;

	if (!cfg->subs || !cfg->subs->n)
		return -1;
	memset(vec, 0, sizeof(vec));
	for (unsigned i = 0; i < AKV_VEC_MAX; i++)
		vec[i].xres_len = 8;
	req_ids(&r, &cfg->subs->v[0],
		cfg->op == LOAD_OP_VECTORS ? AKV_AVS1_VECTORS : AKV_AVS1_CHALLENGE, 1);
	memset(&a, 0, sizeof(a));
	a.op = r.op;
	a.id = 1;
	a.scheme = AKV_SCHEME_AKAV1_MD5;
	a.nvec = r.op == AKV_AVS1_VECTORS ? (uint8_t)cfg->nvec : 1;
	r.n = a.nvec;
	a.vec = vec;
	rl = akv_avs1_req_encode(&r, buf, sizeof(buf));
	al = akv_avs1_ans_encode(&a, buf, sizeof(buf));
	if (rl < AKV_AVS1_HDR_LEN || al < AKV_AVS1_HDR_LEN)
		return -1;
	/* an echo request carries at least its reply size */
	*req = rl < AKV_ECHO_REQ_MIN ? AKV_ECHO_REQ_MIN : (unsigned)rl;
	*ans = (unsigned)al;
	return 0;
}

const struct load_proto load_proto_avs1 = {
    .name = "avs1",
    .frame_len = akv_avs1_frame_len,
    .start = avs1_start,
    .answer_id = avs1_answer_id,
    .answer = avs1_answer,
};

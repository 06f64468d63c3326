/*
 * load_avs1.c - AVS/1 for `load` (docs/PROTOCOL.md; codec in
 * server/proto/avs1.h). The generator knows every subscriber's K and OPc,
 * so it checks every vector (load_check.c). The RES it computes answers
 * VERIFY; the AUTS it builds answers RESYNC.
 */
#include "load.h"

#include <string.h>

#include "proto/avs1.h"
#include "proto/bytes.h"
#include "echo.h"
#include "err.h"
#include "mem.h"

static const struct load_sub *
sub_of(const struct load_thread *t, const struct load_slot *s)
{
	return &t->cfg->subs->v[s->sub];
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
		r->impu = load_sub_impu(sub);
		r->impu_len = sub->impu_len;
	}
}

/* CHALLENGE and RESYNC with --www: the answer carries the ready
 * WWW-Authenticate value per vector (TS 24.229 §5.4.1.2.1). */
static void
req_www(struct akv_avs1_req *r, const struct load_cfg *cfg)
{
	if (!cfg->www)
		return;
	r->flags = AKV_AVS1_F_WWW;
	if (cfg->dia_realm) {
		r->realm = cfg->dia_realm;
		r->realm_len = (uint8_t)strnlen(cfg->dia_realm, 255);
	}
}

/* The WWW-Authenticate value the server must have written for vector i:
 * realm given, else the IMPI's domain; CK/IK as returned (they are checked
 * against the keys with the vector). 0 if equal. */
static int
check_www(const struct load_thread *t, const struct load_slot *s, const struct akv_avs1_ans *a,
	  unsigned i)
{
	const struct load_sub *sub = sub_of(t, s);
	const char *realm = t->cfg->dia_realm;
	char want[AKV_AVS1_WWW_MAX + 1];
	int n, bad;

	if (!realm) {
		const char *at = strrchr(sub->impi, '@');

		realm = at ? at + 1 : "";
	}
	n = akv_digest_www_authenticate(
	    a->scheme == AKV_SCHEME_AKAV2_MD5 ? AKV_DIGEST_AKAV2_MD5 : AKV_DIGEST_AKAV1_MD5, realm,
	    a->vec[i].rand, a->vec[i].autn, a->vec[i].ck, a->vec[i].ik, 1, want, sizeof(want));
	/* the value holds ck= and ik=: compared in constant time like any key,
	 * and their hex does not stay on the stack */
	bad = n < 0 || !a->www[i] || a->www_len[i] != (unsigned)n ||
	      akv_ct_eq(a->www[i], want, (size_t)n);
	if (n > 0)
		akv_wipe(want, (size_t)n);
	return bad;
}

/* Per client thread: the first request of each kind of transaction, its
 * constant fields set once (zeroing the whole request per frame was most of
 * the cost of starting a transaction); only id and identities change.
 * *_direct: the request has no realm and flags, and the codec accepts its
 * fixed fields, so ident_req_write() may write it. */
struct avs1_thread {
	struct akv_avs1_req chal, vecs;
	int chal_direct, vecs_direct;
};

/* Whether ident_req_write() may write requests like r: no flags or realm
 * (without --www), and the codec accepts r's fixed fields (op, n, scheme,
 * ind) with a valid identity. */
static int
direct_ok(const struct akv_avs1_req *r)
{
	static const char impi[] = "a@b";
	uint8_t buf[AKV_AVS1_HDR_LEN + 16];
	struct akv_avs1_req x = *r;

	x.impi = impi;
	x.impi_len = sizeof(impi) - 1;
	return !r->flags && !r->realm_len && akv_avs1_req_encode(&x, buf, sizeof(buf)) > 0;
}

/*
 * A CHALLENGE or VECTORS request for `sub`, written in place field by field
 * as akv_avs1_req_encode() writes it (docs/PROTOCOL.md: header, then n,
 * scheme, ind, the three identity lengths, IMPI, IMPU; no realm), without
 * the codec's per-call checks and calls: r passed direct_ok() once per
 * thread, and the identities' lengths are checked here. Returns the length,
 * or 0 when the codec must decide (a length it refuses, or no room).
 */
static int
ident_req_write(const struct akv_avs1_req *r, const struct load_sub *sub, uint64_t id,
		uint8_t *out, size_t cap)
{
	/* the lengths and inline identities share the record's first line:
	 * sub->impu, in the second, is not read for them (load_sub_impu) */
	size_t il = sub->impi_len, ul = sub->impu_len;
	size_t len = AKV_AVS1_HDR_LEN + 6 + il + ul;
	uint8_t *p = out + AKV_AVS1_HDR_LEN;

	if (!il || il > AKV_ID_MAX || ul > AKV_ID_MAX || len > cap)
		return 0;
	akv_put_be32(out, (uint32_t)len);
	out[4] = AKV_AVS1_VERSION;
	out[5] = r->op;
	out[6] = 0; /* flags */
	out[7] = 0;
	akv_put_be64(out + 8, id);
	p[0] = r->n;
	p[1] = r->scheme;
	p[2] = r->ind;
	p[3] = (uint8_t)il;
	p[4] = (uint8_t)ul;
	p[5] = 0; /* realm length */
	akv_copy_short(p + 6, sub->impi, il);
	if (ul)
		akv_copy_short(p + 6 + il, load_sub_impu(sub), ul);
	return (int)len;
}

static int
avs1_thread_init(struct load_thread *t)
{
	static const struct load_sub none; /* identities are set per request */
	struct avs1_thread *a = akv_calloc(1, sizeof(*a));

	req_ids(&a->chal, &none, AKV_AVS1_CHALLENGE, 0);
	req_www(&a->chal, t->cfg);
	req_ids(&a->vecs, &none, AKV_AVS1_VECTORS, 0);
	a->vecs.n = (uint8_t)t->cfg->nvec;
	a->chal_direct = direct_ok(&a->chal);
	a->vecs_direct = direct_ok(&a->vecs);
	t->proto_state = a;
	return 0;
}

static void
avs1_thread_fini(struct load_thread *t)
{
	akv_free(t->proto_state);
	t->proto_state = NULL;
}

static int
avs1_start(struct load_thread *t, struct load_slot *s, uint64_t id, uint8_t *out, size_t cap)
{
	struct avs1_thread *a = t->proto_state;
	const struct load_sub *sub;
	struct akv_avs1_req *r;

	if (load_pick(t, s))
		return -1;
	sub = sub_of(t, s);
	r = s->op == LOAD_OP_VECTORS ? &a->vecs : &a->chal;
	if (s->op == LOAD_OP_VECTORS ? a->vecs_direct : a->chal_direct) {
		int len = ident_req_write(r, sub, id, out, cap);

		if (len > 0)
			return len;
	}
	/* as req_ids() */
	r->id = id;
	r->impi = sub->impi;
	r->impi_len = sub->impi_len;
	r->impu = load_sub_impu(sub);
	r->impu_len = sub->impu_len;
	return akv_avs1_req_encode(r, out, cap);
}

static int
avs1_answer_id(const uint8_t *f, size_t len, uint64_t *id)
{
	if (len < AKV_AVS1_HDR_LEN)
		return AKV_EPROTO;
	*id = akv_get_be64(f + 8); /* one byte-swapped load, not a byte loop */
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
		req_ids(&r, sub, AKV_AVS1_RESYNC, id);
		req_www(&r, t->cfg);
		memcpy(r.rand, s->rand, 16);
		load_make_auts(t, s, r.auts);
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

/* The common answer, a CHALLENGE answer without WWW-Authenticate values,
 * read in place: 1 when it is one that akv_avs1_ans_decode() accepts (the
 * same header, flags, count, scheme and length checks, docs/PROTOCOL.md),
 * 0 for anything else (the codec then decodes it). */
static int
plain_challenge(const uint8_t *f, size_t len)
{
	/* version, op, and flags 0 (no error, no WWW values): one word */
	const uint32_t ver_op_flags = (uint32_t)AKV_AVS1_VERSION << 24 |
				      (uint32_t)(AKV_AVS1_CHALLENGE | AKV_AVS1_ANS_BIT) << 16;
	unsigned nvec;

	if (len < AKV_AVS1_HDR_LEN + 2 || akv_get_be32(f) != len ||
	    akv_get_be32(f + 4) != ver_op_flags)
		return 0;
	nvec = f[AKV_AVS1_HDR_LEN];
	return nvec >= 1 && nvec <= AKV_VEC_MAX && f[AKV_AVS1_HDR_LEN + 1] <= AKV_SCHEME_AKAV2_MD5 &&
	       len == AKV_AVS1_HDR_LEN + 2 + 64 * (size_t)nvec;
}

/* avs1_answer() for a plain_challenge() frame answering the first step of
 * a CHALLENGE, VERIFY, WRONG or RESYNC transaction: the vector
 * (RAND AUTN CK IK) is checked from the frame, without a decoded copy. */
static int
challenge_answer(struct load_thread *t, struct load_slot *s, uint64_t id, const uint8_t *f,
		 uint8_t *out, size_t cap)
{
	const uint8_t *v = f + AKV_AVS1_HDR_LEN + 2;

	if (f[AKV_AVS1_HDR_LEN] != 1) {
		t->c.err_check++;
		return 0;
	}
	/* without XRES load_check_vec() cannot refuse the vector at once */
	load_check_vec(t, s, v, v + 16, v + 32, v + 48, NULL, 0, 0);
	t->c.vectors++;
	if (s->op == LOAD_OP_VERIFY || s->op == LOAD_OP_WRONG || s->op == LOAD_OP_RESYNC) {
		load_derive(t, s);
		return second_request(t, s, id, out, cap);
	}
	return 0;
}

/* avs1_answer() for every answer but the plain CHALLENGE ones: through the
 * codec. Not inlined: its decoded answer takes a 4 KiB frame and every
 * callee-saved register, which the common path then paid for too. */
static __attribute__((noinline)) int
decoded_answer(struct load_thread *t, struct load_slot *s, uint64_t id, const uint8_t *f,
	       size_t len, uint8_t *out, size_t cap)
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
	for (unsigned i = 0; i < a.nvec; i++) {
		const struct akv_eng_vec *v = &a.vec[i];
		int full = want_op == AKV_AVS1_VECTORS;
		/* after RESYNC the fresh vector must be above the SQN_MS we sent */
		uint64_t sqn_min = want_op == AKV_AVS1_RESYNC ? s->sqn + 1 : 0;

		if (load_check_vec(t, s, v->rand, v->autn, v->ck, v->ik, full ? v->xres : NULL,
				   v->xres_len, sqn_min))
			bad = 1;
		else if (!full && t->cfg->www && t->cfg->check && check_www(t, s, &a, i))
			bad = 1;
		t->c.vectors++;
	}
	if (bad) {
		t->c.err_check++;
		return 0;
	}
	if (want_op == AKV_AVS1_RESYNC)
		return 0;
	if (s->op == LOAD_OP_VERIFY || s->op == LOAD_OP_WRONG || s->op == LOAD_OP_RESYNC) {
		/* RES (VERIFY) or SQN (RESYNC) are needed now, not after the batch */
		load_derive(t, s);
		return second_request(t, s, id, out, cap);
	}
	return 0;
}

static int
avs1_answer(struct load_thread *t, struct load_slot *s, uint64_t id, const uint8_t *f, size_t len,
	    uint8_t *out, size_t cap)
{
	if (s->op != LOAD_OP_VECTORS && s->step == 0 && !t->cfg->www && plain_challenge(f, len))
		return challenge_answer(t, s, id, f, out, cap);
	return decoded_answer(t, s, id, f, len, out, cap);
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
	if (r.op == AKV_AVS1_CHALLENGE && cfg->www) {
		static const char dom[] = "bench.akavs";

		req_www(&r, cfg);
		a.flags = r.flags;
		/* encode builds the value from the realm: the IMPI's domain by default */
		a.realm = r.realm_len ? r.realm : dom;
		a.realm_len = r.realm_len ? r.realm_len : (uint8_t)(sizeof(dom) - 1);
	}
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
    .impu_line0 = 1, /* ident_req_write */
    .frame_len = akv_avs1_frame_len,
    .thread_init = avs1_thread_init,
    .thread_fini = avs1_thread_fini,
    .start = avs1_start,
    .answer_id = avs1_answer_id,
    .answer = avs1_answer,
};

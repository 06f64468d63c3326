/* CHALLENGE then VERIFY through the engine: RES and Digest (AKAv1/AKAv2),
 * replay, expiry, the failed-attempt policy; and the pending-challenge pool. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "aka/verify.h"
#include "eng_fixture.h"

#define NOW 5000000u

static struct akv_store *st;
static struct akv_eng *eng;
static struct akv_eng_cfg cfg;
static struct akv_sub alice, patient;

static void
setup(void)
{
	akv_crypto_init();
	st = fx_store_new("verify");
	fx_sub_make(&alice, "alice@ims.test", "sip:alice@ims.test", 11, 0);
	fx_sub_make(&patient, "patient@ims.test", NULL, 12, 0);
	patient.fail_limit = 5;	/* per-subscriber override of the default 3 */
	fx_sub_add(st, &alice);
	fx_sub_add(st, &patient);
	akv_eng_cfg_default(&cfg);
	eng = fx_eng_new(&cfg, st);
}

static void
teardown(void)
{
	akv_eng_free(eng);
	akv_store_close(st);
}

/* A CHALLENGE of one vector; returns it and the RES a genuine UE computes. */
static void
challenge(const struct akv_sub *s, uint64_t now, struct akv_eng_vec *v, uint8_t res[8])
{
	struct akv_eng_req r;

	fx_req(&r, AKV_OP_CHALLENGE, s->impi, 1, v);
	fx_run1(eng, &r, now);
	ck_assert_int_eq(r.err, 0);
	fx_check_vec(s, v, 0, res);
}

/* VERIFY by RES; returns the request for inspection. */
static struct akv_eng_req
verify_res(const struct akv_sub *s, const uint8_t rand[16], const uint8_t *res, size_t len,
	   uint64_t now, struct akv_eng_vec *out)
{
	struct akv_eng_req r;

	fx_req(&r, AKV_OP_VERIFY, s->impi, 0, out);
	r.verify_kind = AKV_VERIFY_RES;
	memcpy(r.rand, rand, 16);
	memcpy(r.res, res, len);
	r.res_len = (uint8_t)len;
	fx_run1(eng, &r, now);
	return r;
}

START_TEST(t_verify_right_res_then_replay)
{
	struct akv_eng_vec v, out;
	struct akv_eng_req r;
	uint8_t res[8];

	challenge(&alice, NOW, &v, res);
	r = verify_res(&alice, v.rand, res, 8, NOW + 10, &out);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
	ck_assert_uint_eq(r.nvec, 1);
	ck_assert_mem_eq(out.ck, v.ck, 16);
	ck_assert_mem_eq(out.ik, v.ik, 16);
	/* the same answer again: the challenge was used up */
	r = verify_res(&alice, v.rand, res, 8, NOW + 20, &out);
	ck_assert_int_eq(r.err, AKV_ENO_CHALLENGE);
}
END_TEST

START_TEST(t_verify_wrong_res_keeps_challenge)
{
	struct akv_eng_vec v, out;
	struct akv_eng_req r;
	uint8_t res[8], bad[8];

	challenge(&alice, NOW, &v, res);
	memcpy(bad, res, 8);
	bad[7] ^= 0x80;
	r = verify_res(&alice, v.rand, bad, 8, NOW, &out);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
	ck_assert_uint_eq(r.attempts_left, 2);
	ck_assert_uint_eq(r.nvec, 0);
	/* a shorter RES is wrong too, never a prefix match */
	r = verify_res(&alice, v.rand, res, 4, NOW, &out);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
	ck_assert_uint_eq(r.attempts_left, 1);
	/* the challenge stayed: the right answer still succeeds and resets */
	r = verify_res(&alice, v.rand, res, 8, NOW, &out);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
	challenge(&alice, NOW, &v, res);
	r = verify_res(&alice, v.rand, bad, 8, NOW, &out);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
	ck_assert_uint_eq(r.attempts_left, 2);	/* counter was reset by the success */
}
END_TEST

START_TEST(t_verify_limit_deregisters_then_fresh)
{
	struct akv_eng_vec v, v2, out;
	struct akv_eng_req r;
	uint8_t res[8], res2[8], bad[8] = {0};
	struct akv_eng_stats s;

	challenge(&alice, NOW, &v, res);
	challenge(&alice, NOW, &v2, res2);
	for (int i = 0; i < 2; i++) {
		r = verify_res(&alice, v.rand, bad, 8, NOW, &out);
		ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
	}
	r = verify_res(&alice, v.rand, bad, 8, NOW, &out);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_DEREGISTER);
	/* every pending challenge of the IMPI went with it */
	r = verify_res(&alice, v2.rand, res2, 8, NOW, &out);
	ck_assert_int_eq(r.err, AKV_ENO_CHALLENGE);
	/* the next request starts fresh: full allowance again */
	challenge(&alice, NOW, &v, res);
	r = verify_res(&alice, v.rand, bad, 8, NOW, &out);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
	ck_assert_uint_eq(r.attempts_left, 2);
	akv_eng_stats(eng, &s);
	ck_assert_uint_eq(s.deregisters, 1);
}
END_TEST

START_TEST(t_verify_per_subscriber_override)
{
	struct akv_eng_vec v, out;
	struct akv_eng_req r;
	uint8_t res[8], bad[8] = {1};

	challenge(&patient, NOW, &v, res);
	for (unsigned left = 4; left >= 1; left--) {
		r = verify_res(&patient, v.rand, bad, 8, NOW, &out);
		ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
		ck_assert_uint_eq(r.attempts_left, left);
	}
	r = verify_res(&patient, v.rand, bad, 8, NOW, &out);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_DEREGISTER);
}
END_TEST

START_TEST(t_verify_expired_challenge)
{
	struct akv_eng_vec v, out;
	struct akv_eng_req r;
	uint8_t res[8];

	challenge(&alice, NOW, &v, res);
	r = verify_res(&alice, v.rand, res, 8, NOW + cfg.challenge_ttl_ms, &out);
	ck_assert_int_eq(r.err, AKV_ENO_CHALLENGE);
	/* tick drops expired challenges of every IMPI */
	challenge(&alice, NOW, &v, res);
	ck_assert_int_eq(akv_eng_tick(eng, NOW + cfg.challenge_ttl_ms + 1), 0);
	{
		struct akv_eng_mem m;

		akv_eng_mem(eng, &m);
		ck_assert_uint_eq(m.pending, 0);
	}
	/* configured to count stale answers as failures */
	akv_eng_free(eng);
	cfg.count_stale_as_fail = 1;
	eng = fx_eng_new(&cfg, st);
	challenge(&alice, NOW, &v, res);
	r = verify_res(&alice, v.rand, res, 8, NOW + cfg.challenge_ttl_ms + 5, &out);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
	ck_assert_uint_eq(r.attempts_left, 2);
}
END_TEST

START_TEST(t_verify_latest_when_rand_zero_and_many_pending)
{
	struct akv_eng_vec v[3], out;
	struct akv_eng_req r;
	uint8_t res[3][8];
	static const uint8_t zero[16];

	for (int i = 0; i < 3; i++)
		challenge(&alice, NOW + (uint64_t)i, &v[i], res[i]);
	/* no challenge id: the newest */
	r = verify_res(&alice, zero, res[2], 8, NOW + 5, &out);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
	/* by RAND: older ones are still pending */
	r = verify_res(&alice, v[0].rand, res[0], 8, NOW + 5, &out);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
	r = verify_res(&alice, v[1].rand, res[1], 8, NOW + 5, &out);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
}
END_TEST

/* pending_per_impi at its cap: each new challenge replaces the oldest (the
 * pool neither grows nor shrinks); exactly the newest `cap` verify, once. */
START_TEST(t_verify_full_list_keeps_newest_once_each)
{
	enum { CAP = 4, N = 11 };
	struct akv_eng_vec v[N], out;
	struct akv_eng_req r;
	struct akv_eng_mem m0, m;
	struct akv_eng_stats s;
	uint8_t res[N][8];

	akv_eng_free(eng);
	cfg.pending_per_impi = CAP;
	eng = fx_eng_new(&cfg, st);
	for (int i = 0; i < N; i++) {
		challenge(&alice, NOW + (uint64_t)i, &v[i], res[i]);
		challenge(&patient, NOW + (uint64_t)i, &out, NULL);	/* shares the pool */
		akv_eng_mem(eng, &m);
		ck_assert_uint_eq(m.pending, 2 * (uint64_t)(i + 1 < CAP ? i + 1 : CAP));
		if (i == CAP - 1)
			m0 = m;
	}
	ck_assert_uint_eq(m.pending_bytes, m0.pending_bytes);
	/* replaced challenges are gone; the newest CAP verify, newest last */
	for (int i = 0; i < N - CAP; i++) {
		r = verify_res(&alice, v[i].rand, res[i], 8, NOW + 20, &out);
		ck_assert_int_eq(r.err, AKV_ENO_CHALLENGE);
	}
	for (int i = N - CAP; i < N; i++) {
		r = verify_res(&alice, v[i].rand, res[i], 8, NOW + 20, &out);
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
		ck_assert_mem_eq(out.rand, v[i].rand, 16);
		ck_assert_mem_eq(out.ck, v[i].ck, 16);
		ck_assert_mem_eq(out.ik, v[i].ik, 16);
		r = verify_res(&alice, v[i].rand, res[i], 8, NOW + 20, &out);
		ck_assert_int_eq(r.err, AKV_ENO_CHALLENGE);	/* no replay */
	}
	akv_eng_mem(eng, &m);
	ck_assert_uint_eq(m.pending, CAP);	/* patient's */
	akv_eng_stats(eng, &s);
	ck_assert_uint_eq(s.verifies_ok, CAP);
	ck_assert_uint_eq(s.challenges, 2 * N);
	/* refilled past the cap after the verifies: again the newest CAP */
	for (int i = 0; i < N; i++)
		challenge(&alice, NOW + 30 + (uint64_t)i, &v[i], res[i]);
	r = verify_res(&alice, v[N - CAP - 1].rand, res[N - CAP - 1], 8, NOW + 50, &out);
	ck_assert_int_eq(r.err, AKV_ENO_CHALLENGE);
	r = verify_res(&alice, v[N - CAP].rand, res[N - CAP], 8, NOW + 50, &out);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
	/* entries replaced in place expire with their new challenge: v[i] was
	 * issued at NOW + 30 + i */
	r = verify_res(&alice, v[N - 3].rand, res[N - 3], 8,
		       NOW + 30 + N - 4 + cfg.challenge_ttl_ms, &out);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
	r = verify_res(&alice, v[N - 2].rand, res[N - 2], 8,
		       NOW + 30 + N - 2 + cfg.challenge_ttl_ms, &out);
	ck_assert_int_eq(r.err, AKV_ENO_CHALLENGE);
	r = verify_res(&alice, v[N - 1].rand, res[N - 1], 8,
		       NOW + 30 + N - 2 + cfg.challenge_ttl_ms, &out);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
	akv_eng_mem(eng, &m);
	ck_assert_uint_eq(m.pending, CAP);	/* patient's: alice's all used or expired */
}
END_TEST

START_TEST(t_verify_unknown_user_impu_and_bad_input)
{
	struct akv_eng_vec v, out;
	struct akv_eng_req r;
	uint8_t res[8];

	challenge(&alice, NOW, &v, res);
	r = verify_res(&(struct akv_sub){.impi = "ghost@ims.test"}, v.rand, res, 8, NOW, &out);
	ck_assert_int_eq(r.err, AKV_EUNKNOWN_USER);
	fx_req(&r, AKV_OP_VERIFY, alice.impi, 0, &out);
	memcpy(r.rand, v.rand, 16);
	memcpy(r.res, res, 8);
	r.res_len = 8;
	strcpy(r.impu, "sip:mallory@ims.test");
	r.impu_len = (uint16_t)strlen(r.impu);
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EIMPU_MISMATCH);
	r.impu_len = 0;
	r.res_len = 3;	/* RES is 4..16 bytes */
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EINVAL);
	r.res_len = 8;
	r.verify_kind = AKV_VERIFY_DIGEST;	/* but no digest fields */
	fx_run1(eng, &r, NOW);
	ck_assert_int_eq(r.err, AKV_EINVAL);
	/* nothing above consumed the challenge */
	r = verify_res(&alice, v.rand, res, 8, NOW, &out);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
}
END_TEST

/* ==== Digest ==== */

static void
dig_put(struct akv_eng_digest *d, size_t *pos, enum akv_dig_field f, const char *s, size_t n)
{
	d->off[f] = (uint16_t)*pos;
	d->len[f] = (uint16_t)n;
	memcpy(d->buf + *pos, s, n);
	*pos += n;
}

/* Builds the Authorization fields a UE would send for challenge v with RES
 * res (and CK/IK of v), computing `response` with akv_digest_response. */
static void
dig_build(struct akv_eng_digest *d, enum akv_digest_alg alg, const struct akv_sub *s,
	  const struct akv_eng_vec *v, const uint8_t res[8])
{
	struct akv_digest_fields f;
	char nonce[45], resp[33];
	size_t pos = 0;

	memset(d, 0, sizeof(*d));
	d->alg = (uint8_t)alg;
	akv_digest_nonce(v->rand, v->autn, nonce);
	dig_put(d, &pos, AKV_DIG_USERNAME, s->impi, s->impi_len);
	dig_put(d, &pos, AKV_DIG_REALM, "ims.test", 8);
	dig_put(d, &pos, AKV_DIG_NONCE, nonce, 44);
	dig_put(d, &pos, AKV_DIG_URI, "sip:ims.test", 12);
	dig_put(d, &pos, AKV_DIG_METHOD, "REGISTER", 8);
	dig_put(d, &pos, AKV_DIG_QOP, "auth", 4);
	dig_put(d, &pos, AKV_DIG_NC, "00000001", 8);
	dig_put(d, &pos, AKV_DIG_CNONCE, "0a4f113b", 8);
	memset(&f, 0, sizeof(f));
	f.username = (struct akv_str){d->buf + d->off[AKV_DIG_USERNAME], s->impi_len};
	f.realm = (struct akv_str){"ims.test", 8};
	f.nonce = (struct akv_str){nonce, 44};
	f.uri = (struct akv_str){"sip:ims.test", 12};
	f.method = (struct akv_str){"REGISTER", 8};
	f.qop = (struct akv_str){"auth", 4};
	f.nc = (struct akv_str){"00000001", 8};
	f.cnonce = (struct akv_str){"0a4f113b", 8};
	akv_digest_response(alg, &f, res, 8, v->ck, v->ik, resp);
	dig_put(d, &pos, AKV_DIG_RESPONSE, resp, 32);
}

static struct akv_eng_req
verify_digest(const struct akv_sub *s, struct akv_eng_digest *d, struct akv_eng_vec *out)
{
	struct akv_eng_req r;

	fx_req(&r, AKV_OP_VERIFY, s->impi, 0, out);
	r.verify_kind = AKV_VERIFY_DIGEST;
	r.digest = d;
	fx_run1(eng, &r, NOW);
	return r;
}

static void
digest_round(enum akv_digest_alg alg)
{
	static struct akv_eng_digest d;
	struct akv_eng_vec v, out;
	struct akv_eng_req r;
	uint8_t res[8], bad[8];

	challenge(&alice, NOW, &v, res);
	/* a UE with the wrong RES */
	memcpy(bad, res, 8);
	bad[0] ^= 1;
	dig_build(&d, alg, &alice, &v, bad);
	r = verify_digest(&alice, &d, &out);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
	/* the genuine UE */
	dig_build(&d, alg, &alice, &v, res);
	r = verify_digest(&alice, &d, &out);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
	ck_assert_mem_eq(out.ck, v.ck, 16);
	ck_assert_mem_eq(out.ik, v.ik, 16);
	/* the same Authorization again: replayed nonce */
	r = verify_digest(&alice, &d, &out);
	ck_assert_int_eq(r.err, AKV_ENO_CHALLENGE);
}

START_TEST(t_verify_digest_akav1)
{
	digest_round(AKV_DIGEST_AKAV1_MD5);
}
END_TEST

START_TEST(t_verify_digest_akav2)
{
	digest_round(AKV_DIGEST_AKAV2_MD5);
}
END_TEST

START_TEST(t_verify_digest_hostile_fields_and_scheme)
{
	static struct akv_eng_digest d;
	struct akv_eng_vec v, out;
	struct akv_eng_req r;
	struct akv_sub v1only;
	uint8_t res[8];

	challenge(&alice, NOW, &v, res);
	dig_build(&d, AKV_DIGEST_AKAV1_MD5, &alice, &v, res);
	d.off[AKV_DIG_URI] = AKV_DIGEST_BUF - 2;	/* runs past the buffer */
	r = verify_digest(&alice, &d, &out);
	ck_assert_int_eq(r.err, AKV_EPROTO);
	dig_build(&d, AKV_DIGEST_AKAV1_MD5, &alice, &v, res);
	d.buf[d.off[AKV_DIG_NONCE] + 3] = '*';	/* not base64 */
	r = verify_digest(&alice, &d, &out);
	ck_assert_int_eq(r.err, AKV_EINVAL);
	dig_build(&d, AKV_DIGEST_AKAV1_MD5, &alice, &v, res);
	d.alg = 7;
	r = verify_digest(&alice, &d, &out);
	ck_assert_int_eq(r.err, AKV_EINVAL);
	dig_build(&d, AKV_DIGEST_AKAV1_MD5, &alice, &v, res);
	d.len[AKV_DIG_RESPONSE] = 0;
	r = verify_digest(&alice, &d, &out);
	ck_assert_int_eq(r.err, AKV_EPROTO);
	/* none of that consumed the challenge or counted */
	dig_build(&d, AKV_DIGEST_AKAV1_MD5, &alice, &v, res);
	r = verify_digest(&alice, &d, &out);
	ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);

	/* a response made with the right RES but for another username is a FAIL
	 * that counts, and leaves the challenge for the genuine answer */
	{
		struct akv_sub other = alice;

		memcpy(other.impi, "bob@ims.test", 12);
		other.impi_len = 12;
		challenge(&alice, NOW, &v, res);
		dig_build(&d, AKV_DIGEST_AKAV1_MD5, &other, &v, res);
		r = verify_digest(&alice, &d, &out);
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(r.verdict, AKV_VERDICT_FAIL);
		dig_build(&d, AKV_DIGEST_AKAV1_MD5, &alice, &v, res);
		r = verify_digest(&alice, &d, &out);
		ck_assert_uint_eq(r.verdict, AKV_VERDICT_OK);
	}

	/* AKAv2 answer for a subscriber allowed only AKAv1 */
	fx_sub_make(&v1only, "v1@ims.test", NULL, 13, 0);
	v1only.schemes = AKV_SCHEME_BIT(AKV_SCHEME_AKAV1_MD5);
	fx_sub_add(st, &v1only);
	challenge(&v1only, NOW, &v, res);
	dig_build(&d, AKV_DIGEST_AKAV2_MD5, &v1only, &v, res);
	r = verify_digest(&v1only, &d, &out);
	ck_assert_int_eq(r.err, AKV_ESCHEME);
}
END_TEST

/* ==== The pool on its own ==== */

/* "No challenge id" is exactly sixteen zero bytes: any one non-zero byte,
 * at any position and any alignment, names a challenge. */
START_TEST(t_verify_rand_is_zero_every_byte)
{
	uint8_t buf[16 + 8];

	for (size_t a = 0; a < 8; a++) {
		uint8_t *r = buf + a;

		memset(buf, 0xff, sizeof(buf));
		memset(r, 0, 16);
		ck_assert_int_eq(akv_verify_rand_is_zero(r), 1);
		for (size_t i = 0; i < 16; i++)
			for (unsigned bit = 0; bit < 8; bit++) {
				r[i] = (uint8_t)(1u << bit);
				ck_assert_msg(!akv_verify_rand_is_zero(r), "byte %zu bit %u", i, bit);
				r[i] = 0;
			}
	}
}
END_TEST

START_TEST(t_verify_pool_cap_and_expiry_order)
{
	struct akv_pend_pool p;
	struct akv_pend_list a = AKV_PEND_LIST_INIT, b[10];
	struct akv_pend *e;
	uint8_t r[16] = {0};

	akv_pend_pool_init(&p);
	for (int i = 0; i < 5; i++) {
		e = akv_pend_add(&p, &a, 3, 100 + (uint64_t)i);
		r[0] = (uint8_t)i;
		memcpy(e->rand, r, 16);
	}
	ck_assert_uint_eq(a.n, 3);	/* the two oldest were dropped */
	r[0] = 0;
	ck_assert_ptr_null(akv_pend_find(&p, &a, r, 0));
	r[0] = 4;
	ck_assert_ptr_nonnull(akv_pend_find(&p, &a, r, 0));
	for (int j = 0; j < 10; j++)
		b[j] = (struct akv_pend_list)AKV_PEND_LIST_INIT;
	for (int i = 0; i < 2000; i++)	/* grows past the first block */
		akv_pend_add(&p, &b[i % 10], 255, 200 + (uint64_t)i);
	ck_assert_uint_eq(p.live, 2003);
	/* a full list reuses its oldest slot in place: a holds slots 0, 1, 2 =
	 * challenges 3 (expires 103), 4 (104), 2 (102); b starts at slot 3 */
	ck_assert_uint_eq(akv_pend_expire(&p, 103, 2), 1);	/* slot 0 (103); slot 1 lives */
	ck_assert_uint_eq(akv_pend_expire(&p, 103, SIZE_MAX), 1);	/* slot 2 (102) */
	ck_assert_uint_eq(a.n, 1);
	ck_assert_uint_eq(akv_pend_expire(&p, 1000, SIZE_MAX), 802);	/* a's last + b's 200..1000 */
	ck_assert_uint_eq(p.live, 1199);
	ck_assert_uint_eq(b[0].n, 119);	/* 81 of its 200 expired by 1000 */
	for (int j = 0; j < 10; j++)
		akv_pend_clear(&p, &b[j]);
	ck_assert_uint_eq(b[0].n, 0);
	ck_assert_uint_eq(p.live, 0);
	akv_pend_pool_fini(&p);
	/* constant-time RES compare: equal, different, length mismatch */
	ck_assert_int_eq(akv_verify_res((const uint8_t *)"12345678", 8,
					(const uint8_t *)"12345678", 8), 0);
	ck_assert_int_eq(akv_verify_res((const uint8_t *)"12345678", 8,
					(const uint8_t *)"12345679", 8), -1);
	ck_assert_int_eq(akv_verify_res((const uint8_t *)"12345678", 8,
					(const uint8_t *)"1234", 4), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_verify_right_res_then_replay);
	tcase_add_test(tc, t_verify_wrong_res_keeps_challenge);
	tcase_add_test(tc, t_verify_limit_deregisters_then_fresh);
	tcase_add_test(tc, t_verify_per_subscriber_override);
	tcase_add_test(tc, t_verify_expired_challenge);
	tcase_add_test(tc, t_verify_latest_when_rand_zero_and_many_pending);
	tcase_add_test(tc, t_verify_full_list_keeps_newest_once_each);
	tcase_add_test(tc, t_verify_unknown_user_impu_and_bad_input);
	tcase_add_test(tc, t_verify_digest_akav1);
	tcase_add_test(tc, t_verify_digest_akav2);
	tcase_add_test(tc, t_verify_digest_hostile_fields_and_scheme);
	tcase_add_test(tc, t_verify_pool_cap_and_expiry_order);
	tcase_add_test(tc, t_verify_rand_is_zero_every_byte);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run_tmpdir(suite(), "test-verify");
}

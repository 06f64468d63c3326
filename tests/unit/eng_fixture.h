/*
 * eng_fixture.h - shared helpers of the AKA engine tests (test_eng*.c,
 * test_verify.c): a temporary store with test subscribers, request set-up,
 * and the reference-Milenage checks that every engine vector must pass.
 * Static functions only: each test executable includes it once.
 */
#ifndef AKV_TESTS_UNIT_ENG_FIXTURE_H
#define AKV_TESTS_UNIT_ENG_FIXTURE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akv_crypto.h"
#include "akv_test.h"
#include "aka/eng.h"
#include "aka/sqn.h"
#include "err.h"
#include "store/store.h"

/* A store in a fresh temporary directory (under the TMPDIR that
 * akv_test_run_tmpdir removes at the end of the run). */
static inline struct akv_store *
fx_store_new(const char *tag)
{
	char path[4200];
	struct akv_store *st;
	int err = 0;

	snprintf(path, sizeof(path), "%s/db", akv_test_tmpdir(tag));
	st = akv_store_open(path, NULL, &err);
	ck_assert_msg(st, "store open: %s (%s)", akv_strerror(err), akv_store_errdetail());
	return st;
}

/* An engine serving shard 0 of 1 over st; fails the test if it cannot start. */
static inline struct akv_eng *
fx_eng_new(const struct akv_eng_cfg *cfg, struct akv_store *st)
{
	struct akv_eng *e;
	int err = 0;

	e = akv_eng_new(cfg, st, 0, 1, &err);
	ck_assert_msg(e, "akv_eng_new: %s", akv_strerror(err));
	return e;
}

/* Deterministic test keys from a seed (never a real subscriber's). */
static inline void
fx_sub_make(struct akv_sub *s, const char *impi, const char *impu, uint64_t seed, uint64_t sqn)
{
	uint64_t st = seed * 0x9e3779b97f4a7c15ull + 1;

	memset(s, 0, sizeof(*s));
	s->impi_len = (uint16_t)strlen(impi);
	memcpy(s->impi, impi, s->impi_len);
	if (impu) {
		s->nimpu = 1;
		s->impu_len[0] = (uint8_t)strlen(impu);
		memcpy(s->impu[0], impu, s->impu_len[0]);
	}
	s->schemes = AKV_STORE_SCHEMES_DEFAULT;
	akv_test_fill(&st, s->k, 16);
	akv_test_fill(&st, s->opc, 16);
	s->amf[0] = 0x80;
	s->amf[1] = 0x00;
	s->sqn = sqn;
}

static inline void
fx_sub_add(struct akv_store *st, const struct akv_sub *s)
{
	int rc = akv_store_put(st, s, AKV_STORE_ADD);

	ck_assert_msg(rc == 0, "put %s: %s (%s)", s->impi, akv_strerror(rc),
		      akv_store_errdetail());
}

static inline void
fx_req(struct akv_eng_req *r, enum akv_op op, const char *impi, unsigned n,
       struct akv_eng_vec *vec)
{
	memset(r, 0, sizeof(*r));
	r->op = (uint8_t)op;
	r->ind = -1;
	r->n = (uint16_t)n;
	r->impi_len = (uint16_t)strlen(impi);
	memcpy(r->impi, impi, r->impi_len);
	r->vec = vec;
}

static inline void
fx_run1(struct akv_eng *e, struct akv_eng_req *r, uint64_t now)
{
	struct akv_eng_req *list[1] = {r};

	akv_eng_run(e, list, 1, now);
}

/* Recomputes everything of engine vector v with the reference Milenage:
 * AK from RAND, SQN from AUTN, MAC-A, CK, IK (and XRES when want_xres) must
 * match. Fills *res_out (8 bytes) with f2 for the caller. */
static inline void
fx_check_vec(const struct akv_sub *s, const struct akv_eng_vec *v, int want_xres,
	     uint8_t res_out[8])
{
	const struct akv_mil_impl *ref = akv_mil_ref_get();
	struct akv_mil_in in = {0};
	struct akv_mil_out out;
	uint8_t sqn[6];

	memcpy(in.k, s->k, 16);
	memcpy(in.opc, s->opc, 16);
	memcpy(in.rand, v->rand, 16);
	ref->gen(&in, &out, 1, AKV_MIL_F2F5);	/* f5 does not depend on SQN */
	for (int i = 0; i < 6; i++)
		sqn[i] = v->autn[i] ^ out.ak[i];	/* TS 33.102 §6.3.3 */
	ck_assert_uint_eq(akv_sqn_get(sqn), v->sqn);
	ck_assert_mem_eq(v->autn + 6, s->amf, 2);
	memcpy(in.sqn, sqn, 6);
	memcpy(in.amf, v->autn + 6, 2);
	ref->gen(&in, &out, 1, AKV_MIL_ALL);
	ck_assert_mem_eq(v->autn + 8, out.mac_a, 8);
	ck_assert_mem_eq(v->ck, out.ck, 16);
	ck_assert_mem_eq(v->ik, out.ik, 16);
	if (want_xres) {
		ck_assert_uint_eq(v->xres_len, 8);
		ck_assert_mem_eq(v->xres, out.res, 8);
	} else {
		static const uint8_t zero[16];

		ck_assert_uint_eq(v->xres_len, 0);
		ck_assert_mem_eq(v->xres, zero, 16);
	}
	if (res_out)
		memcpy(res_out, out.res, 8);
}

/* AUTS = (SQN_MS ^ f5*(RAND)) || f1*(SQN_MS, RAND, AMF = 0000) (TS 33.102 §6.3.3). */
static inline void
fx_auts(const struct akv_sub *s, const uint8_t rand[16], uint64_t sqn_ms, uint8_t auts[14])
{
	struct akv_mil_in in = {0};
	struct akv_mil_out out;

	memcpy(in.k, s->k, 16);
	memcpy(in.opc, s->opc, 16);
	memcpy(in.rand, rand, 16);
	akv_sqn_put(sqn_ms, in.sqn);
	akv_mil_ref_get()->gen(&in, &out, 1, AKV_MIL_ALL);
	for (int i = 0; i < 6; i++)
		auts[i] = in.sqn[i] ^ out.ak_s[i];
	memcpy(auts + 6, out.mac_s, 8);
}

#endif

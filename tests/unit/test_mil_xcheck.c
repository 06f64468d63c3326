/*
 * Cross-check of every Milenage backend (STYLE 2.6): the TS 35.207/35.208
 * test sets, the AUTN/AUTS worked values of REFERENCE §1.4, and >= 100 000
 * seeded random inputs byte-equal to the reference for batch sizes
 * 1 .. 2*lanes+1, with and without precomputed key schedules; the same for
 * the USIM side (akv_mil_impl.usim) from AUTNs built out of the test sets.
 * A backend this CPU cannot run prints `SKIP <name>: <reason>` and is not
 * claimed tested.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akv_crypto.h"
#include "akv_test.h"

static const char *const impl_names[] = {"ref", "aesni", "vaes"};
#define N_IMPLS 3

/* Returns the backend, or NULL after printing why it is skipped. */
static const struct akv_mil_impl *
impl_or_skip(int i)
{
	const char *why = "?";
	const struct akv_mil_impl *m = akv_mil_by_name(impl_names[i], &why);

	if (!m)
		printf("SKIP %s: %s\n", impl_names[i], why);
	else
		ck_assert_str_eq(m->name, impl_names[i]);
	return m;
}

static void
unhex(const char *s, uint8_t *out, size_t n)
{
	ck_assert_msg(akv_hex_decode(s, strlen(s), out, n) == 0, "bad hex %s", s);
}

/* ==== TS 35.207 / 35.208 test sets ==== */

struct tsv_row {
	uint8_t k[16], rand[16], sqn[6], amf[2], op[16], opc[16];
	uint8_t f1[8], f1s[8], f2[8], f3[16], f4[16], f5[6], f5s[6];
};

static int
tsv_parse(char *line, struct tsv_row *r)
{
	char *f[14];
	int n = 0;

	for (char *p = strtok(line, "\t\r\n"); p && n < 14; p = strtok(NULL, "\t\r\n"))
		f[n++] = p;
	if (n != 14)
		return -1;
	unhex(f[1], r->k, 16);
	unhex(f[2], r->rand, 16);
	unhex(f[3], r->sqn, 6);
	unhex(f[4], r->amf, 2);
	unhex(f[5], r->op, 16);
	unhex(f[6], r->opc, 16);
	unhex(f[7], r->f1, 8);
	unhex(f[8], r->f1s, 8);
	unhex(f[9], r->f2, 8);
	unhex(f[10], r->f3, 16);
	unhex(f[11], r->f4, 16);
	unhex(f[12], r->f5, 6);
	unhex(f[13], r->f5s, 6);
	return 0;
}

#define MAXB (2 * AKV_MIL_MAX_LANES + 1)

/* Calls check(m, row) for every row of a TS 35.207/35.208 file. */
static void
each_set(const struct akv_mil_impl *m, const char *file, const char *what,
	 void (*check)(const struct akv_mil_impl *m, const struct tsv_row *r))
{
	FILE *fp = fopen(akv_test_vector_path(file), "r");
	char line[1024];
	int rows = 0;

	ck_assert_msg(fp != NULL, "cannot open %s", akv_test_vector_path(file));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp)); /* header */
	while (fgets(line, sizeof(line), fp)) {
		struct tsv_row r;

		if (line[0] == '\n' || line[0] == '#')
			continue;
		ck_assert_int_eq(tsv_parse(line, &r), 0);
		check(m, &r);
		rows++;
	}
	fclose(fp);
	ck_assert_int_ge(rows, 4);
	printf("%s: %s%d rows of %s match (in %u lanes)\n", m->name, what, rows, file,
	       2 * m->lanes + 1);
}

/* nl lanes of row r's K, OPc, RAND with the given SQN and AMF, every other
 * lane with the precomputed schedule ks. */
static void
fill_lanes(struct akv_mil_in *in, size_t nl, const struct tsv_row *r, const uint8_t opc[16],
	   const uint8_t sqn[6], const uint8_t amf[2], const struct akv_aes_sched *ks)
{
	for (size_t i = 0; i < nl; i++) {
		memset(&in[i], 0, sizeof(in[i]));
		memcpy(in[i].k, r->k, 16);
		memcpy(in[i].opc, opc, 16);
		memcpy(in[i].rand, r->rand, 16);
		memcpy(in[i].sqn, sqn, 6);
		memcpy(in[i].amf, amf, 2);
		in[i].ks = i & 1 ? ks : NULL;
	}
}

/* Each row runs in 2*lanes+1 lanes at once (a full batch and a partial
 * one), every other lane with a precomputed schedule, once with all
 * outputs and once with the full vector mask (the kernels' fast path). */
static void
check_set_row(const struct akv_mil_impl *m, const struct tsv_row *r)
{
	static struct akv_mil_in in[MAXB];
	static struct akv_mil_out out[MAXB];
	size_t nl = 2 * m->lanes + 1;
	struct akv_aes_sched ks;
	uint8_t opc[16];

	/* TS 35.206 §4.1: OPc = OP ^ E_K(OP) */
	akv_mil_opc(r->k, r->op, opc);
	ck_assert_mem_eq(opc, r->opc, 16);
	akv_aes_expand(r->k, &ks);
	fill_lanes(in, nl, r, opc, r->sqn, r->amf, &ks);
	for (int pass = 0; pass < 2; pass++) {
		memset(out, 0, sizeof(out));
		m->gen(in, out, nl, pass ? AKV_MIL_VECTOR : AKV_MIL_ALL);
		for (size_t i = 0; i < nl; i++) {
			ck_assert_mem_eq(out[i].mac_a, r->f1, 8);
			ck_assert_mem_eq(out[i].mac_s, r->f1s, 8);
			ck_assert_mem_eq(out[i].res, r->f2, 8);
			ck_assert_mem_eq(out[i].ck, r->f3, 16);
			ck_assert_mem_eq(out[i].ik, r->f4, 16);
			ck_assert_mem_eq(out[i].ak, r->f5, 6);
			if (!pass)
				ck_assert_mem_eq(out[i].ak_s, r->f5s, 6);
		}
	}
	akv_wipe(&ks, sizeof(ks));
}

START_TEST(t_mil_xcheck_ts35207)
{
	const struct akv_mil_impl *m = impl_or_skip(_i);

	if (m)
		each_set(m, "ts35207_sets.tsv", "", check_set_row);
}
END_TEST

START_TEST(t_mil_xcheck_ts35208)
{
	const struct akv_mil_impl *m = impl_or_skip(_i);

	if (m)
		each_set(m, "ts35208_sets.tsv", "", check_set_row);
}
END_TEST

/* ==== REFERENCE §1.4: AUTN and AUTS of test set 1 ==== */

static void
set1_in(struct akv_mil_in *in)
{
	memset(in, 0, sizeof(*in));
	unhex("465b5ce8b199b49faa5f0a2ee238a6bc", in->k, 16);
	unhex("cd63cb71954a9f4e48a5994e37a02baf", in->opc, 16);
	unhex("23553cbe9637a89d218ae64dae47bf35", in->rand, 16);
	unhex("ff9bb4d0b607", in->sqn, 6);
	unhex("b9b9", in->amf, 2);
}

START_TEST(t_mil_xcheck_autn_set1)
{
	const struct akv_mil_impl *m = impl_or_skip(_i);
	struct akv_mil_in in;
	struct akv_mil_out out;
	uint8_t autn[16], want[16];

	if (!m)
		return;
	set1_in(&in);
	m->gen(&in, &out, 1, AKV_MIL_VECTOR);
	/* TS 33.102 §6.3.2: AUTN = SQN ^ AK || AMF || MAC-A */
	akv_mil_autn(in.sqn, out.ak, in.amf, out.mac_a, autn);
	unhex("55f328b43577b9b94a9ffac354dfafb3", want, 16);
	ck_assert_mem_eq(autn, want, 16);
}
END_TEST

START_TEST(t_mil_xcheck_auts_set1)
{
	const struct akv_mil_impl *m = impl_or_skip(_i);
	struct akv_mil_auts_in ai[3];
	struct akv_mil_auts_out ao[3];
	struct akv_mil_in in;
	struct akv_aes_sched ks;
	uint8_t sqn_ms[6];

	if (!m)
		return;
	set1_in(&in);
	memset(ai, 0, sizeof(ai));
	memcpy(ai[0].k, in.k, 16);
	memcpy(ai[0].opc, in.opc, 16);
	memcpy(ai[0].rand, in.rand, 16);
	unhex("ba853f3c123ccf44e93596e355c6", ai[0].auts, 14);
	ai[1] = ai[0];			/* same, precomputed schedule */
	akv_aes_expand(in.k, &ks);
	ai[1].ks = &ks;
	ai[2] = ai[0];			/* MAC-S with one bit flipped */
	ai[2].auts[13] ^= 0x01;
	memset(ao, 0xee, sizeof(ao));
	m->auts(ai, ao, 3);
	unhex("ff9bb4d0b607", sqn_ms, 6);
	for (int i = 0; i < 3; i++)
		ck_assert_mem_eq(ao[i].sqn_ms, sqn_ms, 6);
	ck_assert_int_eq(ao[0].mac_ok, 1);
	ck_assert_int_eq(ao[1].mac_ok, 1);
	ck_assert_int_eq(ao[2].mac_ok, 0);
}
END_TEST

/* ==== Seeded random inputs against the reference ==== */

#define RAND_TOTAL 100000	/* inputs per backend */

static const unsigned masks[] = {
	AKV_MIL_VECTOR, AKV_MIL_ALL, AKV_MIL_F1, AKV_MIL_F5S, AKV_MIL_F2F5,
	AKV_MIL_F3 | AKV_MIL_F4, AKV_MIL_F1 | AKV_MIL_F5S, AKV_MIL_F3 | AKV_MIL_F5S,
};

START_TEST(t_mil_xcheck_random)
{
	const struct akv_mil_impl *m = impl_or_skip(_i);
	const struct akv_mil_impl *ref = akv_mil_ref_get();
	static struct akv_mil_in in[MAXB];
	static struct akv_mil_out want[MAXB], got[MAXB];
	static struct akv_aes_sched ks[MAXB];
	uint64_t seed = 0x5eed0001 + (uint64_t)_i;
	unsigned maxb, total = 0, iter = 0, checked = 0;

	if (!m)
		return;
	maxb = 2 * m->lanes + 1;
	ck_assert_uint_le(maxb, MAXB);
	while (total < RAND_TOTAL) {
		/* every batch size 1..2*lanes+1 in turn, so every partial-lane
		 * count and the full+partial loop are covered many times */
		size_t n = 1 + iter % maxb;
		unsigned funcs = masks[(iter / maxb) % (sizeof(masks) / sizeof(masks[0]))];
		/* schedules: 0 none, 1 all precomputed, 2 mixed per lane */
		unsigned kmode = (iter / (maxb * 8)) % 3;

		for (size_t j = 0; j < n; j++) {
			akv_test_fill(&seed, (uint8_t *)&in[j], offsetof(struct akv_mil_in, ks));
			in[j].ks = NULL;
			if (kmode == 1 || (kmode == 2 && (akv_test_rand64(&seed) & 1))) {
				akv_aes_expand(in[j].k, &ks[j]);
				in[j].ks = &ks[j];
			}
		}
		/* same sentinel in both: fields outside `funcs` must stay untouched */
		memset(want, 0xa5, sizeof(want));
		memset(got, 0xa5, sizeof(got));
		ref->gen(in, want, n, funcs);
		m->gen(in, got, n, funcs);
		for (size_t j = 0; j < MAXB; j++)
			ck_assert_msg(memcmp(&want[j], &got[j], sizeof(want[j])) == 0,
				      "%s: iter %u n %zu funcs 0x%x kmode %u lane %zu differs",
				      m->name, iter, n, funcs, kmode, j);
		total += (unsigned)n;
		checked++;
		iter++;
	}
	printf("%s: %u random inputs in %u batches byte-equal to ref\n", m->name, total, checked);
}
END_TEST

START_TEST(t_mil_xcheck_auts_random)
{
	const struct akv_mil_impl *m = impl_or_skip(_i);
	const struct akv_mil_impl *ref = akv_mil_ref_get();
	static struct akv_mil_auts_in ai[MAXB];
	static struct akv_mil_auts_out want[MAXB], got[MAXB];
	static struct akv_aes_sched ks[MAXB];
	uint64_t seed = 0xa075 + (uint64_t)_i;
	unsigned maxb, total = 0, ok = 0, bad = 0;

	if (!m)
		return;
	maxb = 2 * m->lanes + 1;
	for (unsigned iter = 0; total < 20000; iter++) {
		size_t n = 1 + iter % maxb;

		for (size_t j = 0; j < n; j++) {
			struct akv_mil_in mi;
			struct akv_mil_out mo;

			akv_test_fill(&seed, (uint8_t *)&mi, offsetof(struct akv_mil_in, ks));
			memset(mi.amf, 0, 2);
			mi.ks = NULL;
			/* a valid AUTS (TS 33.102 §6.3.3): SQN_MS ^ AK* || f1*(AMF 0000) */
			ref->gen(&mi, &mo, 1, AKV_MIL_F1 | AKV_MIL_F5S);
			memset(&ai[j], 0, sizeof(ai[j]));
			memcpy(ai[j].k, mi.k, 16);
			memcpy(ai[j].opc, mi.opc, 16);
			memcpy(ai[j].rand, mi.rand, 16);
			for (int b = 0; b < 6; b++)
				ai[j].auts[b] = mi.sqn[b] ^ mo.ak_s[b];
			memcpy(ai[j].auts + 6, mo.mac_s, 8);
			if (akv_test_rand64(&seed) & 1) {
				/* corrupt one bit of MAC-S, or of the concealed SQN_MS */
				unsigned bit = (unsigned)(akv_test_rand64(&seed) % 112);
				ai[j].auts[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			if (iter & 1) {
				akv_aes_expand(ai[j].k, &ks[j]);
				ai[j].ks = &ks[j];
			}
		}
		memset(want, 0x5a, sizeof(want));
		memset(got, 0x5a, sizeof(got));
		ref->auts(ai, want, n);
		m->auts(ai, got, n);
		for (size_t j = 0; j < MAXB; j++) {
			ck_assert_msg(memcmp(&want[j], &got[j], sizeof(want[j])) == 0,
				      "%s: auts iter %u lane %zu differs", m->name, iter, j);
			if (j < n && want[j].mac_ok)
				ok++;
			else if (j < n)
				bad++;
		}
		total += (unsigned)n;
	}
	/* both outcomes must actually have been exercised */
	ck_assert_uint_gt(ok, 1000);
	ck_assert_uint_gt(bad, 1000);
	printf("%s: %u AUTS (%u valid, %u corrupted) equal to ref\n", m->name, total, ok, bad);
}
END_TEST

/* ==== USIM side (akv_mil_impl.usim, TS 33.102 §6.3.3) ==== */

/* in->sqn / in->amf of a usim call: AUTN[0..7] = (SQN ^ AK) || AMF. */
static void
usim_in_from(struct akv_mil_in *in, const uint8_t sqn[6], const uint8_t ak[6],
	     const uint8_t amf[2])
{
	for (int b = 0; b < 6; b++)
		in->sqn[b] = sqn[b] ^ ak[b];
	memcpy(in->amf, amf, 2);
}

/* For set i, the AUTN the network sends is built from the set's SQN, AMF,
 * f5 and f1 (TS 33.102 §6.3.2); the USIM side must give back that SQN and
 * the set's f1..f5. Each row runs in 2*lanes+1 lanes, every other lane with
 * a precomputed schedule. */
static void
check_usim_row(const struct akv_mil_impl *m, const struct tsv_row *r)
{
	static struct akv_mil_in in[MAXB];
	static struct akv_mil_usim_out out[MAXB];
	size_t nl = 2 * m->lanes + 1;
	struct akv_aes_sched ks;
	uint8_t autn[16];

	akv_mil_autn(r->sqn, r->f5, r->amf, r->f1, autn);
	akv_aes_expand(r->k, &ks);
	fill_lanes(in, nl, r, r->opc, autn, autn + 6, &ks);
	memset(out, 0xa5, sizeof(out));
	m->usim(in, out, nl);
	for (size_t i = 0; i < nl; i++) {
		ck_assert_mem_eq(out[i].sqn, r->sqn, 6);
		ck_assert_mem_eq(out[i].ak, r->f5, 6);
		ck_assert_mem_eq(out[i].xmac, r->f1, 8);
		ck_assert_mem_eq(out[i].xmac, autn + 8, 8);
		ck_assert_mem_eq(out[i].res, r->f2, 8);
		ck_assert_mem_eq(out[i].ck, r->f3, 16);
		ck_assert_mem_eq(out[i].ik, r->f4, 16);
	}
	/* the lane after the last must be untouched */
	for (size_t b = 0; b < sizeof(out[nl]); b++)
		ck_assert_uint_eq(((const uint8_t *)&out[nl])[b], 0xa5);
	akv_wipe(&ks, sizeof(ks));
}

START_TEST(t_mil_xcheck_usim_ts35207)
{
	const struct akv_mil_impl *m = impl_or_skip(_i);

	if (m)
		each_set(m, "ts35207_sets.tsv", "usim: ", check_usim_row);
}
END_TEST

START_TEST(t_mil_xcheck_usim_ts35208)
{
	const struct akv_mil_impl *m = impl_or_skip(_i);

	if (m)
		each_set(m, "ts35208_sets.tsv", "usim: ", check_usim_row);
}
END_TEST

/* Batch sizes of the random usim test: odd ones around every lane count
 * (8 for aesni, 16 for vaes) and their multiples, then 1..2*lanes+1. */
static const size_t usim_sizes[] = {1, 3, 15, 16, 17, 33, 7, 8, 9, 31, 32, 47, 48, 49, 63, 65};
#define N_USIM_SIZES (sizeof(usim_sizes) / sizeof(usim_sizes[0]))

/* Seeded random inputs: the backend's usim byte-equal to the reference's,
 * and both equal to what gen computes forwards (AUTN from gen's AK and
 * MAC-A for a random SQN, then usim must recover that SQN, MAC-A, RES, CK,
 * IK, AK). */
START_TEST(t_mil_xcheck_usim_random)
{
	const struct akv_mil_impl *m = impl_or_skip(_i);
	const struct akv_mil_impl *ref = akv_mil_ref_get();
	static struct akv_mil_in fwd[MAXB], in[MAXB];
	static struct akv_mil_out g[MAXB];
	static struct akv_mil_usim_out want[MAXB], got[MAXB];
	static struct akv_aes_sched ks[MAXB];
	uint64_t seed = 0x0515 + (uint64_t)_i;
	unsigned total = 0, iter = 0;

	if (!m)
		return;
	while (total < 30000) {
		size_t n = iter < 3 * N_USIM_SIZES ? usim_sizes[iter % N_USIM_SIZES]
						   : 1 + iter % (2 * m->lanes + 1);
		/* schedules: 0 none, 1 all precomputed, 2 mixed per lane */
		unsigned kmode = iter % 3;

		for (size_t j = 0; j < n; j++) {
			akv_test_fill(&seed, (uint8_t *)&fwd[j], offsetof(struct akv_mil_in, ks));
			fwd[j].ks = NULL;
		}
		ref->gen(fwd, g, n, AKV_MIL_VECTOR);
		for (size_t j = 0; j < n; j++) {
			in[j] = fwd[j];
			usim_in_from(&in[j], fwd[j].sqn, g[j].ak, fwd[j].amf);
			if (kmode == 1 || (kmode == 2 && (akv_test_rand64(&seed) & 1))) {
				akv_aes_expand(in[j].k, &ks[j]);
				in[j].ks = &ks[j];
			}
		}
		/* same sentinel in both: lanes past n must stay untouched */
		memset(want, 0xa5, sizeof(want));
		memset(got, 0xa5, sizeof(got));
		ref->usim(in, want, n);
		m->usim(in, got, n);
		for (size_t j = 0; j < MAXB; j++)
			ck_assert_msg(memcmp(&want[j], &got[j], sizeof(want[j])) == 0,
				      "%s: usim iter %u n %zu kmode %u lane %zu differs", m->name,
				      iter, n, kmode, j);
		for (size_t j = 0; j < n; j++) {
			ck_assert_mem_eq(got[j].sqn, fwd[j].sqn, 6);
			ck_assert_mem_eq(got[j].ak, g[j].ak, 6);
			ck_assert_mem_eq(got[j].xmac, g[j].mac_a, 8);
			ck_assert_mem_eq(got[j].res, g[j].res, 8);
			ck_assert_mem_eq(got[j].ck, g[j].ck, 16);
			ck_assert_mem_eq(got[j].ik, g[j].ik, 16);
		}
		total += (unsigned)n;
		iter++;
	}
	printf("%s: usim: %u random inputs in %u batches equal to ref and to gen\n", m->name,
	       total, iter);
}
END_TEST

/* A corrupted AUTN: a flipped bit of SQN ^ AK changes the unmasked SQN by
 * exactly that bit and, through IN1, XMAC-A; a flipped AMF bit changes
 * XMAC-A only. RES, CK, IK do not depend on either. */
START_TEST(t_mil_xcheck_usim_corrupt)
{
	const struct akv_mil_impl *m = impl_or_skip(_i);
	struct akv_mil_in in[3];
	struct akv_mil_usim_out out[3];

	if (!m)
		return;
	set1_in(&in[0]);
	{
		struct akv_mil_out g;
		uint8_t sqn[6];

		m->gen(&in[0], &g, 1, AKV_MIL_VECTOR);
		memcpy(sqn, in[0].sqn, 6);
		usim_in_from(&in[0], sqn, g.ak, in[0].amf);
	}
	in[1] = in[0];
	in[1].sqn[5] ^= 0x01;
	in[2] = in[0];
	in[2].amf[0] ^= 0x80;
	m->usim(in, out, 3);
	ck_assert_uint_eq(out[1].sqn[5] ^ out[0].sqn[5], 0x01);
	ck_assert_mem_eq(out[1].sqn, out[0].sqn, 5);
	ck_assert_mem_eq(out[2].sqn, out[0].sqn, 6);
	for (int i = 1; i < 3; i++) {
		ck_assert_int_ne(memcmp(out[i].xmac, out[0].xmac, 8), 0);
		ck_assert_mem_eq(out[i].res, out[0].res, 8);
		ck_assert_mem_eq(out[i].ck, out[0].ck, 16);
		ck_assert_mem_eq(out[i].ik, out[0].ik, 16);
	}
}
END_TEST

/* The key schedule of akv_aes_expand against FIPS-197 Appendix A.1. */
START_TEST(t_mil_xcheck_aes_expand_fips197)
{
	struct akv_aes_sched ks;
	uint8_t k[16], want[16];

	if (!akv_mil_ni_get()) {
		printf("SKIP akv_aes_expand: CPU lacks AES-NI\n");
		return;
	}
	unhex("2b7e151628aed2a6abf7158809cf4f3c", k, 16);
	akv_aes_expand(k, &ks);
	ck_assert_mem_eq(ks.rk[0], k, 16);
	unhex("a0fafe1788542cb123a339392a6c7605", want, 16);
	ck_assert_mem_eq(ks.rk[1], want, 16);
	unhex("d014f9a8c9ee2589e13f0cc8b6630ca6", want, 16);
	ck_assert_mem_eq(ks.rk[10], want, 16);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("mil_xcheck");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, t_mil_xcheck_ts35207, 0, N_IMPLS);
	tcase_add_loop_test(tc, t_mil_xcheck_ts35208, 0, N_IMPLS);
	tcase_add_loop_test(tc, t_mil_xcheck_autn_set1, 0, N_IMPLS);
	tcase_add_loop_test(tc, t_mil_xcheck_auts_set1, 0, N_IMPLS);
	tcase_add_loop_test(tc, t_mil_xcheck_random, 0, N_IMPLS);
	tcase_add_loop_test(tc, t_mil_xcheck_auts_random, 0, N_IMPLS);
	tcase_add_loop_test(tc, t_mil_xcheck_usim_ts35207, 0, N_IMPLS);
	tcase_add_loop_test(tc, t_mil_xcheck_usim_ts35208, 0, N_IMPLS);
	tcase_add_loop_test(tc, t_mil_xcheck_usim_random, 0, N_IMPLS);
	tcase_add_loop_test(tc, t_mil_xcheck_usim_corrupt, 0, N_IMPLS);
	tcase_add_test(tc, t_mil_xcheck_aes_expand_fips197);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return akv_test_run(suite());
}

/*
 * osmo_baseline.c - the baseline of `akavs-bench crypto`: libosmocore's
 * osmo_auth_gen_vec (Debian libosmocore-dev), the Milenage used by osmo-hlr,
 * run the way an AuC runs it: one subscriber, one vector per call, with OPc.
 * libosmocore draws no RAND itself (the caller passes it), so the comparison
 * with our kernels is Milenage for Milenage; RNG cost is measured apart.
 */
#include "bench_crypto.h"

#include <string.h>

#include "bench.h"

#if AKV_HAVE_OSMO
#include <osmocom/crypt/auth.h>

#include "mem.h"

/* see bench_crypto.h */
double
akv_osmo_vectors_per_s(const struct akv_mil_in *subs, unsigned nsubs, double seconds,
		       volatile uint64_t *sink)
{
	struct osmo_sub_auth_data *aud = akv_calloc(nsubs, sizeof(*aud));
	struct osmo_auth_vector vec;
	uint8_t rand[16] = {0};
	uint64_t c0, deadline, n = 0, fold = 0;
	unsigned i = 0;
	double rate = -1;

	if (!nsubs)
		goto out;
	for (unsigned s = 0; s < nsubs; s++) {
		aud[s].type = OSMO_AUTH_TYPE_UMTS;
		aud[s].algo = OSMO_AUTH_ALG_MILENAGE;
		memcpy(aud[s].u.umts.k, subs[s].k, 16);
		memcpy(aud[s].u.umts.opc, subs[s].opc, 16);
		memcpy(aud[s].u.umts.amf, subs[s].amf, 2);
		aud[s].u.umts.opc_is_op = 0;
		aud[s].u.umts.ind_bitlen = 5; /* TS 33.102 C.3.2 default */
		aud[s].u.umts.sqn = 32;
	}
	deadline = akv_bench_now_ns() + (uint64_t)(seconds * 1e9);
	c0 = akv_bench_cpu_ns();
	do {
		/* 256 calls between clock reads; RAND varies per call like a real one */
		for (unsigned b = 0; b < 256; b++) {
			memcpy(rand, &n, sizeof(n));
			if (osmo_auth_gen_vec(&vec, &aud[i], rand) < 0)
				goto out;
			fold ^= vec.autn[15] ^ vec.res[0] ^ vec.ck[0] ^ vec.ik[0];
			n++;
			if (++i == nsubs)
				i = 0;
		}
	} while (akv_bench_now_ns() < deadline);
	*sink ^= fold;
	rate = (double)n / ((double)(akv_bench_cpu_ns() - c0) / 1e9);
out:
	/* the copies of K and OPc are secrets like the originals */
	akv_wipe(aud, (size_t)nsubs * sizeof(*aud));
	akv_wipe(&vec, sizeof(vec));
	akv_free(aud);
	return rate;
}

#else

/* see bench_crypto.h */
double
akv_osmo_vectors_per_s(const struct akv_mil_in *subs, unsigned nsubs, double seconds,
		       volatile uint64_t *sink)
{
	(void)subs, (void)nsubs, (void)seconds, (void)sink;
	return -1;
}

#endif

/*
 * eng_pass.c - the pass-through engine of the architecture-ceiling
 * benchmark (bench/ceiling.sh). A batch of CHALLENGE and VECTORS requests
 * (AVS/1, and Cx MARs) is answered with zeroed vectors: no lookup, SQN,
 * RAND or Milenage. A load run against it measures what the front end,
 * the codecs, the rings and the worker's wait cost by themselves, which
 * bounds the ratio to echo that any engine can reach on the machine.
 *
 * Only a build configured with -DAKV_PASS_THROUGH_ENGINE=ON calls it (from
 * akv_eng_run), and that build's `akavs serve` refuses to start unless
 * AKAVS_PASS_THROUGH_OK=1 says its answers are known to be worthless.
 */
#include <string.h>

#include "eng.h"

/* see eng.h */
int
akv_eng_pass_through(struct akv_eng_req *const *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (reqs[i]->op != AKV_OP_CHALLENGE && reqs[i]->op != AKV_OP_VECTORS)
			return 0;	/* the real engine answers the whole batch */
	for (size_t i = 0; i < n; i++) {
		struct akv_eng_req *r = reqs[i];
		unsigned nvec = r->n < 1 ? 1u : r->n > AKV_VEC_MAX ? AKV_VEC_MAX : r->n;

		r->err = 0;
		r->verdict = 0;
		r->attempts_left = 0;
		r->nvec = (uint16_t)nvec;
		r->scheme_used = r->scheme == AKV_SCHEME_AKAV2_MD5 ? AKV_SCHEME_AKAV2_MD5
								   : AKV_SCHEME_AKAV1_MD5;
		memset(r->vec, 0, nvec * sizeof(*r->vec));
		/* VECTORS carry XRES out (a Cx MAA's SIP-Authorization) */
		for (unsigned j = 0; j < nvec; j++)
			r->vec[j].xres_len = r->op == AKV_OP_VECTORS ? 8 : 0;
	}
	return 1;
}

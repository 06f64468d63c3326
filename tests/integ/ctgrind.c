/*
 * ctgrind.c - built and run by ctgrind.sh under valgrind memcheck (the
 * Monocypher/ctgrind method, STYLE 2.6). K, OPc and the key schedules are
 * marked undefined; memcheck then reports every branch and every memory
 * address that depends on them ("Conditional jump or move depends on
 * uninitialised value", "Use of uninitialised value" in an address), i.e.
 * any secret-dependent control flow or table lookup in the Milenage kernels,
 * the AUTS check or akv_ct_eq. Outputs are marked defined again before use.
 * Usage: ctgrind IMPL   (exit 0 ok, 77 impl not runnable here, 1 usage)
 *        ctgrind selftest  branches on a secret on purpose: memcheck must
 *                          report it, or the whole check proves nothing.
 */
#include <stdio.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include "akv_crypto.h"

#define N 37	/* > 2 full batches for every backend, plus a partial one */

static struct akv_mil_in in[N];
static struct akv_mil_out out[N];
static struct akv_mil_auts_in ain[N];
static struct akv_mil_auts_out aout[N];
static struct akv_aes_sched ks[N];

static void
fill(void *p, size_t n, unsigned seed)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 131 + i * 29 + (i >> 3));
}

static void
secret(void *p, size_t n)
{
	VALGRIND_MAKE_MEM_UNDEFINED(p, n);
}

static void
public(void *p, size_t n)
{
	VALGRIND_MAKE_MEM_DEFINED(p, n);
}

int
main(int argc, char **argv)
{
	static const unsigned masks[] = {AKV_MIL_VECTOR, AKV_MIL_ALL, AKV_MIL_F1 | AKV_MIL_F5S};
	const struct akv_mil_impl *m;
	const char *why = "";
	uint8_t a[16], b[16];
	int eq;

	if (argc != 2) {
		fprintf(stderr, "usage: %s ref|aesni|vaes|selftest\n", argv[0]);
		return 1;
	}
	if (!strcmp(argv[1], "selftest")) {
		volatile int sink = 0;

		fill(a, 16, 3);
		secret(a, 16);
		if (a[5] & 1)	/* the deliberate secret-dependent branch */
			sink = 1;
		printf("ctgrind selftest: done %d\n", sink);
		return 0;
	}
	m = akv_mil_by_name(argv[1], &why);
	if (!m) {
		printf("SKIP %s: %s\n", argv[1], why);
		return 77;
	}
	for (int i = 0; i < N; i++) {
		fill(&in[i], offsetof(struct akv_mil_in, ks), (unsigned)i);
		akv_aes_expand(in[i].k, &ks[i]);
	}
	for (int pre = 0; pre < 2; pre++) {
		for (size_t mi = 0; mi < sizeof(masks) / sizeof(masks[0]); mi++) {
			for (int i = 0; i < N; i++) {
				in[i].ks = pre ? &ks[i] : NULL;
				secret(in[i].k, 16);
				secret(in[i].opc, 16);
				secret(&ks[i], sizeof(ks[i]));
			}
			m->gen(in, out, N, masks[mi]);	/* full batches + partial */
			m->gen(in, out, 3, masks[mi]);	/* a partial batch only */
			public(out, sizeof(out));
		}
	}
	/* key expansion itself (AESKEYGENASSIST) */
	public(in[0].k, 16);
	secret(in[0].k, 16);
	akv_aes_expand(in[0].k, &ks[0]);
	public(&ks[0], sizeof(ks[0]));

	/* AUTS: K, OPc and the MAC-S received are secret-ish; the verdict must
	 * come out of a constant-time compare (TS 33.102 §6.3.5) */
	for (int i = 0; i < N; i++) {
		public(&in[i], sizeof(in[i]));
		memcpy(ain[i].k, in[i].k, 16);
		memcpy(ain[i].opc, in[i].opc, 16);
		memcpy(ain[i].rand, in[i].rand, 16);
		fill(ain[i].auts, 14, (unsigned)i + 7);
		ain[i].ks = (i & 1) ? &ks[i] : NULL;
		akv_aes_expand(ain[i].k, &ks[i]);
		secret(ain[i].k, 16);
		secret(ain[i].opc, 16);
		secret(ain[i].auts, 14);
		secret(&ks[i], sizeof(ks[i]));
	}
	m->auts(ain, aout, N);
	public(aout, sizeof(aout));

	/* akv_ct_eq on secret buffers */
	fill(a, 16, 1);
	fill(b, 16, 1);
	secret(a, 16);
	secret(b, 16);
	eq = akv_ct_eq(a, b, 16);
	/* and a length with a byte tail after the 8-byte words */
	eq |= akv_ct_eq(a, b, 13);
	public(&eq, sizeof(eq));
	printf("ctgrind %s: done (ct_eq %d)\n", m->name, eq);
	return 0;
}

/* bench_mil.c - plain-C kernels of akavs-microbench (see bench_mil.h). */
#include "bench_mil.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "akv_crypto.h"
#include "mem.h"

struct bench_ctx {
	const struct akv_mil_impl *impl;
	unsigned nsubs, batch, pos;
	struct akv_mil_in *in;
	struct akv_mil_auts_in *ain;
	struct akv_aes_sched *ks;
	struct akv_mil_out *out;
	struct akv_mil_auts_out *aout;
	uint8_t *rnd;
	uint64_t ctr;
};

static volatile uint64_t sink;

/* see bench_mil.h */
struct bench_ctx *
bench_ctx_new(const char *impl, int precomputed, unsigned nsubs, unsigned batch, const char **why)
{
	struct bench_ctx *c;
	const struct akv_mil_impl *mi;

	akv_crypto_init();
	mi = akv_mil_by_name(impl, why);
	if (!mi)
		return NULL;
	if (nsubs < batch)
		nsubs = batch;
	c = akv_calloc(1, sizeof(*c));
	c->impl = mi;
	c->nsubs = nsubs;
	c->batch = batch;
	c->in = akv_calloc(nsubs, sizeof(*c->in));
	c->ain = akv_calloc(nsubs, sizeof(*c->ain));
	c->ks = akv_calloc(nsubs, sizeof(*c->ks));
	c->out = akv_calloc(batch, sizeof(*c->out));
	c->aout = akv_calloc(batch, sizeof(*c->aout));
	c->rnd = akv_malloc((size_t)batch * 16);
	for (unsigned i = 0; i < nsubs; i++) {
		struct akv_mil_in *s = &c->in[i];

		/* distinct random subscribers; a DRBG failure leaves zeros, still valid input */
		(void)RAND_bytes(s->k, 16);
		(void)RAND_bytes(s->opc, 16);
		(void)RAND_bytes(s->rand, 16);
		(void)RAND_bytes(s->sqn, 6);
		s->amf[0] = 0x80;
		akv_aes_expand(s->k, &c->ks[i]);
		s->ks = precomputed ? &c->ks[i] : NULL;
		memcpy(c->ain[i].k, s->k, 16);
		memcpy(c->ain[i].opc, s->opc, 16);
		memcpy(c->ain[i].rand, s->rand, 16);
		(void)RAND_bytes(c->ain[i].auts, 14);
		c->ain[i].ks = s->ks;
	}
	return c;
}

/* see bench_mil.h */
void
bench_ctx_free(struct bench_ctx *c)
{
	if (!c)
		return;
	akv_wipe(c->in, c->nsubs * sizeof(*c->in));
	akv_wipe(c->ain, c->nsubs * sizeof(*c->ain));
	akv_wipe(c->ks, c->nsubs * sizeof(*c->ks));
	akv_wipe(c->out, c->batch * sizeof(*c->out));
	akv_free(c->in);
	akv_free(c->ain);
	akv_free(c->ks);
	akv_free(c->out);
	akv_free(c->aout);
	akv_free(c->rnd);
	akv_free(c);
}

/* see bench_mil.h */
unsigned
bench_ctx_batch(const struct bench_ctx *c)
{
	return c->batch;
}

/* see bench_mil.h */
const char *
bench_ctx_impl(const struct bench_ctx *c)
{
	return c->impl->name;
}

/* see bench_mil.h */
unsigned
bench_ctx_lanes(const struct bench_ctx *c)
{
	return c->impl->lanes;
}

/* see bench_mil.h */
const char *
bench_cpu_flags(void)
{
	static char flags[64];
	static const char *const names[] = {"aes", "sse4.1", "avx2", "vaes", "avx512f"};

	if (!flags[0]) {
		__builtin_cpu_init();
		/* __builtin_cpu_supports wants literals: test each by name */
		int have[5] = {__builtin_cpu_supports("aes"), __builtin_cpu_supports("sse4.1"),
			       __builtin_cpu_supports("avx2"), __builtin_cpu_supports("vaes"),
			       __builtin_cpu_supports("avx512f")};
		size_t n = 0;

		for (int i = 0; i < 5; i++)
			if (have[i])
				n += (size_t)snprintf(flags + n, sizeof(flags) - n, "%s%s",
						      n ? " " : "", names[i]);
		if (!n)
			snprintf(flags, sizeof(flags), "none");
	}
	return flags;
}

/* see bench_mil.h */
int
bench_pin(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -1 : cpu;
}

/* The next batch of subscribers, round-robin over the table. */
static unsigned
next_batch(struct bench_ctx *c)
{
	unsigned p = c->pos;

	c->pos += c->batch;
	if (c->pos + c->batch > c->nsubs)
		c->pos = 0;
	return p;
}

/* see bench_mil.h */
void
bench_mil_vector(struct bench_ctx *c, uint64_t iters)
{
	while (iters--) {
		unsigned p = next_batch(c);

		/* a fresh RAND per vector, as a worker writes before each call */
		for (unsigned i = 0; i < c->batch; i++, c->ctr++)
			memcpy(c->in[p + i].rand, &c->ctr, sizeof(c->ctr));
		c->impl->gen(&c->in[p], c->out, c->batch, AKV_MIL_VECTOR);
		sink ^= c->out[c->batch - 1].mac_a[0] ^ c->out[0].res[1];
	}
}

/* see bench_mil.h */
void
bench_mil_auts(struct bench_ctx *c, uint64_t iters)
{
	while (iters--) {
		unsigned p = next_batch(c);

		for (unsigned i = 0; i < c->batch; i++, c->ctr++)
			memcpy(c->ain[p + i].auts, &c->ctr, sizeof(c->ctr));
		c->impl->auts(&c->ain[p], c->aout, c->batch);
		sink ^= c->aout[c->batch - 1].sqn_ms[0] ^ c->aout[0].mac_ok;
	}
}

/* see bench_mil.h */
void
bench_aes_expand(struct bench_ctx *c, uint64_t iters)
{
	while (iters--) {
		unsigned p = next_batch(c);

		for (unsigned i = 0; i < c->batch; i++)
			akv_aes_expand(c->in[p + i].k, &c->ks[p + i]);
		sink ^= c->ks[p].rk[10][0];
	}
}

/* see bench_mil.h */
void
bench_rand_bulk(struct bench_ctx *c, uint64_t iters)
{
	while (iters--) {
		if (akv_rand_bytes(c->rnd, (size_t)c->batch * 16))
			return;
		sink ^= c->rnd[0];
	}
}

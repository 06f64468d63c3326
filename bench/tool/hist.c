/* hist.c - log-linear latency histogram (see hist.h). */
#include "hist.h"

#include <string.h>

/* Bucket of v: exact below 64; above, shift so that v >> shift lands in
 * [32, 64) and use those 5 bits as the sub-bucket of the power of two. */
static unsigned
bucket_of(uint64_t v)
{
	unsigned msb, shift;

	if (v < AKV_HIST_LINEAR)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - 5u;
	return AKV_HIST_LINEAR + (shift - 1u) * AKV_HIST_SUB +
	       (unsigned)((v >> shift) - AKV_HIST_SUB);
}

/* Largest value that falls in bucket i (inverse of bucket_of). */
static uint64_t
bucket_top(unsigned i)
{
	unsigned shift, sub;

	if (i < AKV_HIST_LINEAR)
		return i;
	shift = (i - AKV_HIST_LINEAR) / AKV_HIST_SUB + 1u;
	sub = (i - AKV_HIST_LINEAR) % AKV_HIST_SUB + AKV_HIST_SUB;
	return (((uint64_t)sub + 1u) << shift) - 1u;
}

/* see hist.h */
void
akv_hist_init(struct akv_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/* see hist.h */
void
akv_hist_add(struct akv_hist *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* see hist.h */
void
akv_hist_merge(struct akv_hist *dst, const struct akv_hist *src)
{
	for (unsigned i = 0; i < AKV_HIST_NB; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* see hist.h */
uint64_t
akv_hist_quantile(const struct akv_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	/* rank of the q-th value, 1-based: ceil(q * count), at least 1 */
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (!rank)
		rank = 1;
	for (unsigned i = 0; i < AKV_HIST_NB; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t v = bucket_top(i);

			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* see hist.h */
double
akv_hist_mean(const struct akv_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}

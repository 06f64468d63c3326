/*
 * hist.h - log-linear latency histogram (HdrHistogram's layout, simplified).
 *
 * Values below 64 get a bucket each; above, every power of two is split into
 * 32 equal sub-buckets, so a reported quantile is within 1/32 (3.1 %) of the
 * true value over the whole uint64 range, in a fixed 15 KiB with no
 * allocation. Recording is a few instructions (a clz and an add), cheap enough
 * to do per request in the load generator. Not thread-safe: one per thread,
 * merged at the end.
 */
#ifndef AKV_BENCH_TOOL_HIST_H
#define AKV_BENCH_TOOL_HIST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AKV_HIST_LINEAR 64u /* values 0..63 are exact */
#define AKV_HIST_SUB 32u    /* sub-buckets per power of two above that */
#define AKV_HIST_NB (AKV_HIST_LINEAR + 58u * AKV_HIST_SUB)

struct akv_hist {
	uint64_t count, sum, min, max;
	uint64_t b[AKV_HIST_NB];
};

/* Empties h. */
void akv_hist_init(struct akv_hist *h);
/* Records one value. */
void akv_hist_add(struct akv_hist *h, uint64_t v);
/* Adds every value of src into dst. */
void akv_hist_merge(struct akv_hist *dst, const struct akv_hist *src);
/* The value at quantile q (0..1): the upper edge of the bucket holding it,
 * clamped to [min, max]. 0 when empty. */
uint64_t akv_hist_quantile(const struct akv_hist *h, double q);
/* Mean of the recorded values (exact; 0 when empty). */
double akv_hist_mean(const struct akv_hist *h);

#ifdef __cplusplus
}
#endif
#endif

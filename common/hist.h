/*
 * Latency histogram, log-linear (HDR style): values 0..2^40 with 64
 * sub-buckets per power of two, so any reported percentile is within
 * 1/64 (1.6 %) of the true value.  Fixed size, no allocation: safe to
 * record on a hot path.  Not thread-safe: one per thread, merge after.
 */
#ifndef TK_COMMON_HIST_H
#define TK_COMMON_HIST_H

#include <stdint.h>

#define TK_HIST_SUB_BITS 7
#define TK_HIST_HALF (1u << (TK_HIST_SUB_BITS - 1)) /* sub-buckets per power of two */
#define TK_HIST_MAX_BITS 40
#define TK_HIST_BUCKETS (2 * TK_HIST_HALF + (TK_HIST_MAX_BITS - TK_HIST_SUB_BITS) * TK_HIST_HALF)

struct tk_hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	double sum;
	uint64_t buckets[TK_HIST_BUCKETS];
};

void tk_hist_init(struct tk_hist *h);

static inline uint32_t tk_hist_index(uint64_t v)
{
	uint32_t msb, shift;

	/* Exact below 2 * HALF; above, HALF buckets per power of two. */
	if (v < 2 * TK_HIST_HALF)
		return (uint32_t)v;
	if (v >= (1ull << TK_HIST_MAX_BITS))
		v = (1ull << TK_HIST_MAX_BITS) - 1;
	msb = 63u - (uint32_t)__builtin_clzll(v);
	shift = msb - (TK_HIST_SUB_BITS - 1);
	return 2 * TK_HIST_HALF + (shift - 1) * TK_HIST_HALF +
	       (uint32_t)((v >> shift) - TK_HIST_HALF);
}

static inline void tk_hist_record(struct tk_hist *h, uint64_t v)
{
	h->buckets[tk_hist_index(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* Lowest value that falls in bucket i. */
uint64_t tk_hist_bucket_low(uint32_t i);

/* Value at percentile p (0..100): the upper edge of the bucket holding it,
 * clamped to the recorded max.  0 when empty. */
uint64_t tk_hist_percentile(const struct tk_hist *h, double p);

void tk_hist_merge(struct tk_hist *into, const struct tk_hist *from);

#endif

#include "common/hist.h"

#include <string.h>

void tk_hist_init(struct tk_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint64_t tk_hist_bucket_low(uint32_t i)
{
	uint32_t j;

	if (i < 2 * TK_HIST_HALF)
		return i;
	j = i - 2 * TK_HIST_HALF;
	return (uint64_t)(TK_HIST_HALF + j % TK_HIST_HALF) << (j / TK_HIST_HALF + 1);
}

uint64_t tk_hist_percentile(const struct tk_hist *h, double p)
{
	uint64_t rank, seen = 0;
	uint32_t i;

	if (h->count == 0)
		return 0;
	if (p >= 100.0)
		return h->max;
	rank = (uint64_t)((p / 100.0) * (double)h->count);
	if (rank >= h->count)
		rank = h->count - 1;
	for (i = 0; i < TK_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen > rank) {
			uint64_t high = i + 1 < TK_HIST_BUCKETS ? tk_hist_bucket_low(i + 1) - 1 : h->max;

			if (high > h->max)
				high = h->max;
			if (high < h->min)
				high = h->min;
			return high;
		}
	}
	return h->max;
}

void tk_hist_merge(struct tk_hist *into, const struct tk_hist *from)
{
	uint32_t i;

	for (i = 0; i < TK_HIST_BUCKETS; i++)
		into->buckets[i] += from->buckets[i];
	into->count += from->count;
	into->sum += from->sum;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}

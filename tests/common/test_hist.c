#include <criterion/criterion.h>

#include "common/hist.h"

Test(hist, small_values_are_exact)
{
	struct tk_hist h;
	uint64_t v;

	tk_hist_init(&h);
	for (v = 1; v <= 100; v++)
		tk_hist_record(&h, v);
	cr_assert_eq(h.count, 100);
	cr_assert_eq(tk_hist_percentile(&h, 50), 51); /* rank 50 of 0..99 holds 51 */
	cr_assert_eq(tk_hist_percentile(&h, 99), 100);
	cr_assert_eq(tk_hist_percentile(&h, 100), 100);
	cr_assert_eq(h.min, 1);
	cr_assert_eq(h.max, 100);
}

Test(hist, large_values_are_within_1_6_percent)
{
	struct tk_hist h;
	uint64_t vals[] = { 1000, 12345, 999999, 123456789, 50000000000ull };
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t p;

		tk_hist_init(&h);
		tk_hist_record(&h, vals[i]);
		tk_hist_record(&h, vals[i] * 2);
		p = tk_hist_percentile(&h, 10);
		cr_assert_geq(p, vals[i], "upper edge is not below the value");
		cr_assert_leq((double)p, (double)vals[i] * 1.016, "%llu vs %llu", (unsigned long long)p,
			      (unsigned long long)vals[i]);
	}
}

Test(hist, bucket_edges_are_consistent)
{
	uint32_t i;

	for (i = 0; i + 1 < TK_HIST_BUCKETS; i++) {
		uint64_t lo = tk_hist_bucket_low(i), next = tk_hist_bucket_low(i + 1);

		cr_assert_lt(lo, next);
		cr_assert_eq(tk_hist_index(lo), i);
		cr_assert_eq(tk_hist_index(next - 1), i);
	}
}

Test(hist, merge_adds_counts)
{
	struct tk_hist a, b;

	tk_hist_init(&a);
	tk_hist_init(&b);
	tk_hist_record(&a, 10);
	tk_hist_record(&b, 20);
	tk_hist_record(&b, 30);
	tk_hist_merge(&a, &b);
	cr_assert_eq(a.count, 3);
	cr_assert_eq(a.min, 10);
	cr_assert_eq(a.max, 30);
	cr_assert_eq(tk_hist_percentile(&a, 50), 20);
}

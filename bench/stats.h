/*
 * Per-round figures of the benchmarks: the median of a few ratios and
 * their range (the host's speed wanders; a median of paired rounds is the
 * figure, its min-max the spread).
 */
#ifndef TK_BENCH_STATS_H
#define TK_BENCH_STATS_H

#include <stdlib.h>
#include <string.h>

#define TK_BENCH_ROUNDS_MAX 64

static inline int tk_bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of v[0..n), 0 < n <= TK_BENCH_ROUNDS_MAX. */
static inline double tk_bench_median(const double *v, int n)
{
	double s[TK_BENCH_ROUNDS_MAX];

	if (n > TK_BENCH_ROUNDS_MAX)
		n = TK_BENCH_ROUNDS_MAX;
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), tk_bench_cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static inline double tk_bench_min(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static inline double tk_bench_max(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

#endif

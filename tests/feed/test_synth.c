#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "feed/synth.h"

static struct tk_synth a, b;

/* Field by field: the struct has padding that memcmp would read. */
static int same(const struct tk_synth_trade *x, const struct tk_synth_trade *y)
{
	return x->symbol == y->symbol && x->ts_ns == y->ts_ns && x->price == y->price &&
	       x->size == y->size;
}

static struct tk_synth_cfg cfg_seed(uint64_t seed)
{
	struct tk_synth_cfg c;

	tk_synth_cfg_default(&c);
	c.seed = seed;
	return c;
}

Test(synth, the_same_seed_gives_the_same_trades)
{
	struct tk_synth_cfg c = cfg_seed(7);
	struct tk_synth_trade x, y;
	int i, differ = 0;

	cr_assert_eq(tk_synth_init(&a, &c), 0);
	cr_assert_eq(tk_synth_init(&b, &c), 0);
	for (i = 0; i < 10000; i++) {
		tk_synth_next(&a, &x);
		tk_synth_next(&b, &y);
		cr_assert(same(&x, &y), "trade %d differs", i);
	}
	c.seed = 8;
	tk_synth_init(&b, &c);
	tk_synth_init(&a, &(struct tk_synth_cfg){ .seed = 7, .nsymbols = 8, .rate = 1000,
						  .start_ns = c.start_ns, .volatility = 0.3,
						  .drift = 0.05 });
	for (i = 0; i < 100; i++) {
		tk_synth_next(&a, &x);
		tk_synth_next(&b, &y);
		differ += !same(&x, &y);
	}
	cr_assert_gt(differ, 90, "another seed, another market");
}

Test(synth, arrivals_are_poisson_at_the_rate_and_strictly_ordered)
{
	struct tk_synth_cfg c = cfg_seed(3);
	struct tk_synth_trade t;
	int64_t prev;
	double sum = 0, sum2 = 0;
	int i, n = 200000;

	c.rate = 5000;
	tk_synth_init(&a, &c);
	prev = c.start_ns;
	for (i = 0; i < n; i++) {
		double gap;

		tk_synth_next(&a, &t);
		cr_assert_gt(t.ts_ns, prev, "event times strictly increase");
		gap = (double)(t.ts_ns - prev) / 1e9;
		sum += gap;
		sum2 += gap * gap;
		prev = t.ts_ns;
	}
	/* Exponential gaps: mean 1/rate and standard deviation 1/rate. */
	cr_assert_float_eq(sum / n, 1.0 / 5000, 0.01 / 5000);
	cr_assert_float_eq(sqrt(sum2 / n - (sum / n) * (sum / n)), 1.0 / 5000, 0.02 / 5000);
}

Test(synth, symbols_follow_a_zipf_law_and_prices_and_sizes_are_realistic)
{
	struct tk_synth_cfg c = cfg_seed(5);
	struct tk_synth_trade t;
	int counts[8] = { 0 }, lots = 0, i, n = 200000;

	tk_synth_init(&a, &c);
	cr_assert_str_eq(tk_synth_symbol(&a, 0), "AAPL");
	cr_assert_str_eq(tk_synth_symbol(&a, 7), "BINANCE:BTCUSDT");
	for (i = 0; i < n; i++) {
		tk_synth_next(&a, &t);
		cr_assert_lt(t.symbol, 8);
		counts[t.symbol]++;
		cr_assert_gt(t.price, 0);
		cr_assert_float_eq(t.price * 100, round(t.price * 100), 1e-6, "prices are in cents");
		cr_assert_geq(t.size, 1);
		cr_assert_eq(t.size, floor(t.size), "whole shares");
		lots += fmod(t.size, 100) == 0;
	}
	/* Zipf weights 1, 1/2, ..., 1/8: the first trades twice the second. */
	cr_assert_float_eq((double)counts[0] / counts[1], 2.0, 0.1);
	cr_assert_float_eq((double)counts[0] / counts[7], 8.0, 0.5);
	cr_assert_float_eq((double)lots / n, 0.6, 0.02, "about 60 %% round lots");
}

Test(synth, prices_move_by_geometric_brownian_motion)
{
	struct tk_synth_cfg c = cfg_seed(11);
	struct tk_synth_trade t;
	double sigma, mu, prev, sum = 0, sum2 = 0;
	int64_t prev_ts;
	int i, n = 0;

	c.nsymbols = 1;
	c.rate = 10;
	c.volatility = 0.4;
	tk_synth_init(&a, &c);
	sigma = a.sigma_per_sqrt_s;
	mu = a.mu_per_s;
	prev = a.price[0];
	prev_ts = c.start_ns;
	for (i = 0; i < 100000; i++) {
		double dt, z;

		tk_synth_next(&a, &t);
		dt = (double)(t.ts_ns - prev_ts) / 1e9;
		/* Standardised log return of the unrounded price: N(0, 1). */
		z = (log(a.price[0] / prev) - (mu - sigma * sigma / 2) * dt) / (sigma * sqrt(dt));
		sum += z;
		sum2 += z * z;
		n++;
		prev = a.price[0];
		prev_ts = t.ts_ns;
	}
	cr_assert_float_eq(sum / n, 0.0, 0.02);
	cr_assert_float_eq(sum2 / n - (sum / n) * (sum / n), 1.0, 0.03);
}

Test(synth, bad_settings_are_refused)
{
	struct tk_synth_cfg c = cfg_seed(1);

	c.nsymbols = TK_SYNTH_MAX_SYMBOLS + 1;
	cr_assert_lt(tk_synth_init(&a, &c), 0);
	c.nsymbols = 0;
	cr_assert_lt(tk_synth_init(&a, &c), 0);
	c.nsymbols = TK_SYNTH_MAX_SYMBOLS;
	cr_assert_eq(tk_synth_init(&a, &c), 0);
	c.nsymbols = 8;
	c.rate = 0;
	cr_assert_lt(tk_synth_init(&a, &c), 0);
}

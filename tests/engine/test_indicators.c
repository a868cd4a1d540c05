#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/indicators.h"

#define DAY (86400 * TK_NS_PER_S)
#define MIN (60 * TK_NS_PER_S)

static struct tk_ind_cfg small_cfg(void)
{
	struct tk_ind_cfg c;

	tk_ind_cfg_default(&c);
	c.sma_fast = 2;
	c.sma_slow = 3;
	c.ema_fast = 3;
	c.ema_slow = 4;
	c.rsi = 3;
	c.volatility = 2;
	c.volume_sma = 3;
	return c;
}

static struct tk_bar bar_at(int64_t start, double open, double close, double volume)
{
	struct tk_bar b = { .window_start = start, .open = open, .close = close,
			    .high = open > close ? open : close, .low = open < close ? open : close,
			    .volume = volume, .pv = close * volume, .trade_count = 1 };
	return b;
}

/* Feed closes (open = close, volume 1) and return the values of the last. */
static uint32_t feed(struct tk_ind_state *s, const struct tk_ind_cfg *c, const double *closes,
		     int n, struct tk_ind_values *v)
{
	uint32_t sig = 0;
	int i;

	for (i = 0; i < n; i++) {
		struct tk_bar b = bar_at(i * MIN, closes[i], closes[i], 1);

		sig = tk_ind_update(s, c, &b, 0, v);
	}
	return sig;
}

Test(indicators, sma_and_ema_follow_talib_seeding)
{
	struct tk_ind_cfg c = small_cfg();
	struct tk_ind_state s;
	struct tk_ind_values v;
	double closes[] = { 1, 2, 3, 4, 10 };

	tk_ind_init(&s);
	feed(&s, &c, closes, 2, &v);
	cr_assert(isnan(v.ind.ema_fast), "EMA(3) is undefined before 3 bars");
	cr_assert_eq(v.ind.sma_fast, 1.5);
	cr_assert(isnan(v.ind.sma_slow));
	tk_ind_init(&s);
	feed(&s, &c, closes, 3, &v);
	cr_assert_eq(v.ind.ema_fast, 2, "seeded with SMA(3) = 2");
	cr_assert_eq(v.ind.sma_slow, 2);
	tk_ind_init(&s);
	feed(&s, &c, closes, 4, &v);
	cr_assert_eq(v.ind.ema_fast, 3, "2 + 0.5 * (4 - 2)");
	cr_assert_eq(v.ind.ema_slow, 2.5, "seeded with SMA(4) = 2.5");
	tk_ind_init(&s);
	feed(&s, &c, closes, 5, &v);
	cr_assert_eq(v.ind.ema_fast, 6.5, "3 + 0.5 * (10 - 3)");
	cr_assert_eq(v.ind.ema_slow, 5.5, "2.5 + 0.4 * (10 - 2.5)");
	cr_assert_eq(v.ind.sma_fast, 7);
	cr_assert_eq(v.ind.sma_slow, 17.0 / 3);
}

Test(indicators, rsi_uses_wilder_smoothing)
{
	struct tk_ind_cfg c = small_cfg();
	struct tk_ind_state s;
	struct tk_ind_values v;
	double closes[] = { 10, 11, 10, 12, 11 };

	tk_ind_init(&s);
	feed(&s, &c, closes, 3, &v);
	cr_assert(isnan(v.ind.rsi), "RSI(3) needs 4 closes");
	tk_ind_init(&s);
	feed(&s, &c, closes, 4, &v);
	/* gains 1,0,2 -> 1; losses 0,1,0 -> 1/3; 100 * 1 / (4/3) */
	cr_assert_float_eq(v.ind.rsi, 75.0, 1e-12);
	tk_ind_init(&s);
	feed(&s, &c, closes, 5, &v);
	/* gain (1*2 + 0)/3 = 2/3, loss (1/3*2 + 1)/3 = 5/9: 100 * 6/11 */
	cr_assert_float_eq(v.ind.rsi, 600.0 / 11, 1e-12);
	{
		double flat[] = { 5, 5, 5, 5 };

		tk_ind_init(&s);
		feed(&s, &c, flat, 4, &v);
		cr_assert_eq(v.ind.rsi, 0, "no gain and no loss: 0, as TA-Lib");
	}
}

Test(indicators, volatility_is_the_sample_stdev_of_log_returns)
{
	struct tk_ind_cfg c = small_cfg();
	struct tk_ind_state s;
	struct tk_ind_values v;
	double closes[] = { 100, 110, 99 };

	tk_ind_init(&s);
	feed(&s, &c, closes, 2, &v);
	cr_assert(isnan(v.ind.volatility));
	feed(&s, &c, closes + 2, 1, &v);
	cr_assert_float_eq(v.ind.volatility, fabs(log(1.1) - log(0.9)) / sqrt(2.0), 1e-15);
}

Test(indicators, session_vwap_resets_at_the_utc_day)
{
	struct tk_ind_cfg c = small_cfg();
	struct tk_ind_state s;
	struct tk_ind_values v;
	struct tk_bar a = bar_at(DAY - 2 * MIN, 100, 100, 2), b = bar_at(DAY - MIN, 110, 110, 2),
		      d = bar_at(DAY, 90, 90, 5);

	tk_ind_init(&s);
	tk_ind_update(&s, &c, &a, 0, &v);
	cr_assert_eq(v.ind.session_vwap, 100);
	tk_ind_update(&s, &c, &b, 0, &v);
	cr_assert_eq(v.ind.session_vwap, 105);
	cr_assert_eq(v.vwap, 110);
	tk_ind_update(&s, &c, &d, 0, &v);
	cr_assert_eq(v.ind.session_vwap, 90, "a new UTC day starts a new session");
}

Test(indicators, pct_change_fires_at_the_threshold_on_chosen_timeframes)
{
	struct tk_ind_cfg c = small_cfg();
	struct tk_ind_state s;
	struct tk_ind_values v;
	struct tk_bar up = bar_at(0, 100, 101, 1), small = bar_at(MIN, 100, 100.99, 1),
		      down = bar_at(2 * MIN, 100, 98.9, 1);

	tk_ind_init(&s);
	cr_assert(tk_ind_update(&s, &c, &up, 1, &v) & TK_SIG_PCT_CHANGE);
	cr_assert(!(tk_ind_update(&s, &c, &small, 1, &v) & TK_SIG_PCT_CHANGE));
	cr_assert(tk_ind_update(&s, &c, &down, 1, &v) & TK_SIG_PCT_CHANGE);
	tk_ind_init(&s);
	cr_assert(!(tk_ind_update(&s, &c, &up, 0, &v) & TK_SIG_PCT_CHANGE), "timeframe not chosen");
}

Test(indicators, volume_spike_compares_with_the_previous_bars)
{
	struct tk_ind_cfg c = small_cfg();
	struct tk_ind_state s;
	struct tk_ind_values v;
	struct tk_bar b;
	int i;

	tk_ind_init(&s);
	for (i = 0; i < 3; i++) {
		b = bar_at(i * MIN, 10, 10, 10);
		cr_assert(!(tk_ind_update(&s, &c, &b, 0, &v) & TK_SIG_VOLUME_SPIKE));
	}
	b = bar_at(3 * MIN, 10, 10, 29);
	cr_assert(!(tk_ind_update(&s, &c, &b, 0, &v) & TK_SIG_VOLUME_SPIKE));
	cr_assert_eq(v.volume_sma, 10);
	b = bar_at(4 * MIN, 10, 10, 49.0001); /* previous three: 10, 10, 29 -> 16.33 */
	cr_assert(tk_ind_update(&s, &c, &b, 0, &v) & TK_SIG_VOLUME_SPIKE);
	cr_assert_float_eq(v.volume_sma, 49.0 / 3, 1e-12);
}

Test(indicators, crosses_fire_once_per_change_of_side)
{
	struct tk_ind_cfg c = small_cfg();
	struct tk_ind_state s;
	struct tk_ind_values v;
	double closes[] = { 3, 2, 1, 5, 6, 0 };
	uint32_t sig[6];
	int i;

	tk_ind_init(&s);
	for (i = 0; i < 6; i++) {
		struct tk_bar b = bar_at(i * MIN, closes[i], closes[i], 1);

		sig[i] = tk_ind_update(&s, &c, &b, 0, &v);
	}
	/* SMA(2) - SMA(3): bar 2: 1.5 - 2 < 0; bar 3: 3 - 2.67 > 0 (up);
	 * bar 4: 5.5 - 4 > 0; bar 5: 3 - 3.67 < 0 (down). */
	cr_assert(!(sig[2] & (TK_SIG_SMA_CROSS_UP | TK_SIG_SMA_CROSS_DOWN)));
	cr_assert(sig[3] & TK_SIG_SMA_CROSS_UP);
	cr_assert(!(sig[4] & (TK_SIG_SMA_CROSS_UP | TK_SIG_SMA_CROSS_DOWN)));
	cr_assert(sig[5] & TK_SIG_SMA_CROSS_DOWN);
	/* close - session VWAP (volume 1 each): bar 1: 2 - 2.5 < 0 after bar 0's 0;
	 * bar 3: 5 - 2.75 > 0: up; bar 5: 0 - 2.83 < 0: down. */
	cr_assert(sig[3] & TK_SIG_VWAP_CROSS_UP);
	cr_assert(sig[5] & TK_SIG_VWAP_CROSS_DOWN);
	cr_assert(!(sig[4] & (TK_SIG_VWAP_CROSS_UP | TK_SIG_VWAP_CROSS_DOWN)));
}

Test(indicators, bad_periods_are_named)
{
	struct tk_ind_cfg c;

	tk_ind_cfg_default(&c);
	cr_assert_eq(tk_ind_cfg_validate(&c), 0);
	c.rsi = 1;
	cr_assert_lt(tk_ind_cfg_validate(&c), 0);
	tk_ind_cfg_default(&c);
	c.sma_fast = 60;
	cr_assert_lt(tk_ind_cfg_validate(&c), 0);
}

/* ---- property test: the defaults against from-scratch references ---- */

static double ref_ema(const double *x, int n, int p)
{
	double e = 0;
	int i;

	if (n < p)
		return NAN;
	for (i = 0; i < p; i++)
		e += x[i];
	e /= p;
	for (i = p; i < n; i++)
		e = e + 2.0 / (p + 1) * (x[i] - e);
	return e;
}

static double ref_rsi(const double *x, int n, int p)
{
	double g = 0, l = 0;
	int i;

	if (n < p + 1)
		return NAN;
	for (i = 1; i <= p; i++) {
		double d = x[i] - x[i - 1];

		g += d > 0 ? d : 0;
		l += d < 0 ? -d : 0;
	}
	g /= p;
	l /= p;
	for (i = p + 1; i < n; i++) {
		double d = x[i] - x[i - 1];

		g = (g * (p - 1) + (d > 0 ? d : 0)) / p;
		l = (l * (p - 1) + (d < 0 ? -d : 0)) / p;
	}
	return g + l > 0 ? 100 * g / (g + l) : 0;
}

Test(indicators, long_random_series_match_from_scratch_references)
{
	static double x[3000];
	struct tk_ind_cfg c;
	struct tk_ind_state s;
	struct tk_ind_values v;
	int i, k;

	tk_ind_cfg_default(&c);
	tk_ind_init(&s);
	srand(99);
	x[0] = 100;
	for (i = 1; i < 3000; i++)
		x[i] = x[i - 1] * (1 + ((rand() % 2001) - 1000) / 50000.0);
	for (i = 0; i < 3000; i++) {
		struct tk_bar b = bar_at(i * MIN, x[i], x[i], 1);
		double sma = 0;

		tk_ind_update(&s, &c, &b, 0, &v);
		if (i + 1 >= 20) {
			for (k = i - 19; k <= i; k++)
				sma += x[k];
			cr_assert_eq(v.ind.sma_fast, sma / 20, "SMA(20) at %d", i);
		}
		if (i + 1 >= 50 || i % 97 == 0) {
			double e = ref_ema(x, i + 1, 50), r = ref_rsi(x, i + 1, 14);

			cr_assert(isnan(e) ? isnan(v.ind.ema_slow) : fabs(v.ind.ema_slow - e) <= 1e-9 * e,
				  "EMA(50) at %d: %.15g vs %.15g", i, v.ind.ema_slow, e);
			cr_assert(isnan(r) ? isnan(v.ind.rsi) : fabs(v.ind.rsi - r) <= 1e-9,
				  "RSI(14) at %d: %.15g vs %.15g", i, v.ind.rsi, r);
		}
	}
}

/* What an update reads back of each ring: the longest SMA/EMA period less
 * one closes, volume_sma volumes, volatility - 1 returns.  Changing any
 * slot older than that changes nothing the next bar computes. */
Test(indicators, an_update_reads_back_only_its_reach)
{
	struct tk_ind_cfg c;
	struct tk_ind_reach r;
	struct tk_ind_state a, b;
	struct tk_ind_values va, vb;
	uint64_t n;
	int i;

	tk_ind_cfg_default(&c);
	r = tk_ind_reach_of(&c);
	cr_assert_eq(r.closes, 49);
	cr_assert_eq(r.volumes, 20);
	cr_assert_eq(r.returns, 19);
	c.sma_fast = 7;
	c.sma_slow = 31;
	c.ema_fast = 11;
	c.ema_slow = 43;
	c.volatility = 13;
	c.volume_sma = 17;
	r = tk_ind_reach_of(&c);
	cr_assert_eq(r.closes, 42, "the EMA's 43 is the longest");
	cr_assert_eq(r.volumes, 17);
	cr_assert_eq(r.returns, 12);
	tk_ind_init(&a);
	for (i = 0; i < 42; i++) { /* the next bar seeds EMA(43) */
		struct tk_bar bar = bar_at(i * MIN, 100 + i % 9, 100 + i % 7, 1 + i % 4);

		tk_ind_update(&a, &c, &bar, 1, &va);
	}
	b = a;
	n = a.nbars;
	for (i = 0; i < TK_IND_HISTORY; i++) {
		if ((uint64_t)i < r.closes && (uint64_t)i < n)
			continue; /* within the reach: kept */
		b.closes[(n - 1 - i) % TK_IND_HISTORY] = -1;
	}
	for (i = 0; i < TK_IND_HISTORY; i++) {
		if ((uint64_t)i < r.volumes && (uint64_t)i < n)
			continue;
		b.volumes[(n - 1 - i) % TK_IND_HISTORY] = -1;
	}
	for (i = 0; i < TK_IND_HISTORY; i++) {
		if ((uint64_t)i < r.returns && (uint64_t)i < n)
			continue;
		b.returns[(n - 1 - i) % TK_IND_HISTORY] = -1;
	}
	{
		struct tk_bar bar = bar_at(42 * MIN, 104, 101, 3);

		cr_assert_eq(tk_ind_update(&a, &c, &bar, 1, &va), tk_ind_update(&b, &c, &bar, 1, &vb));
		cr_assert_eq(memcmp(&va, &vb, sizeof(va)), 0, "the same indicators, bit for bit");
		cr_assert(!isnan(va.ind.ema_slow), "EMA(43) seeded from the 42 kept closes and this one");
	}
}

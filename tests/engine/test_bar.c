#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "common/err.h"
#include "engine/bar.h"

#define S(x) ((int64_t)((x) * 1e9 + 0.5))
#define MIN (60 * TK_NS_PER_S)

#define TEST_OPEN 8 /* open windows the tests give an aggregator room for */

/* One symbol's windows of one timeframe, as the worker keeps them. */
struct agg {
	struct tk_bar cur;
	struct tk_agg_older older;
	struct tk_agg_rule rule;
	struct tk_bar room[TEST_OPEN - 1];
};

/* Point the older windows at the aggregator's own room (call after any
 * struct assignment that copies an aggregator). */
static struct agg *ready(struct agg *a)
{
	a->older.bar = a->room;
	a->older.cap = TEST_OPEN - 1;
	return a;
}

static int add(struct agg *a, int64_t stream_time, int64_t ts, double price, double size)
{
	ready(a);
	return tk_agg_add(&a->cur, &a->older, &a->rule, stream_time, ts, price, size);
}

static uint32_t close_due(struct agg *a, int64_t stream_time, struct tk_bar *out, uint32_t max)
{
	return tk_agg_close(&a->cur, &a->older, &a->rule, stream_time, out, max);
}

static uint32_t close_all(struct agg *a, struct tk_bar *out, uint32_t max)
{
	return tk_agg_close(&a->cur, &a->older, &a->rule, INT64_MAX, out, max);
}

static int64_t next_close(const struct agg *a)
{
	return tk_agg_next_close(&a->cur, &a->older, &a->rule);
}

static uint32_t nopen(const struct agg *a)
{
	return a->older.n + (a->cur.trade_count > 0);
}

Test(bar, windows_align_to_utc_epoch_multiples)
{
	cr_assert_eq(tk_window_start(1700000000123456789LL, MIN), 1699999980000000000LL);
	cr_assert_eq(tk_window_start(1700000040000000000LL, MIN), 1700000040000000000LL,
		     "a boundary starts its own window");
	cr_assert_eq(tk_window_start(1700000039999999999LL, MIN), 1699999980000000000LL);
	cr_assert_eq(tk_window_start(S(10.999999999), TK_NS_PER_S), S(10));
	cr_assert_eq(tk_window_start(-1, TK_NS_PER_S), -TK_NS_PER_S, "floor before 1970");
	cr_assert_eq(tk_window_start(1700000000123456789LL, 3600 * TK_NS_PER_S), 1699999200000000000LL);
}

Test(bar, open_is_earliest_event_close_is_latest_ties_by_arrival)
{
	struct tk_bar b;

	tk_bar_init(&b, S(10), S(10.5), 100, 1);
	tk_bar_add(&b, S(10.2), 101, 2); /* earlier event time: new open */
	tk_bar_add(&b, S(10.9), 99, 1);  /* later: new close */
	tk_bar_add(&b, S(10.9), 98, 3);  /* same time, later arrival: new close */
	tk_bar_add(&b, S(10.2), 102, 1); /* same time as open, later arrival: not open */
	cr_assert_eq(b.open, 101);
	cr_assert_eq(b.close, 98);
	cr_assert_eq(b.high, 102);
	cr_assert_eq(b.low, 98);
	cr_assert_eq(b.volume, 8);
	cr_assert_eq(b.pv, 797);
	cr_assert_eq(tk_bar_vwap(&b), 99.625);
	cr_assert_eq(b.trade_count, 5);
}

Test(bar, vwap_of_a_zero_volume_bar_is_its_close)
{
	struct tk_bar b;

	tk_bar_init(&b, 0, 1, 1.25, 0); /* FX: trades of size 0 */
	tk_bar_add(&b, 2, 1.5, 0);
	cr_assert_eq(tk_bar_vwap(&b), 1.5);
}

Test(bar, windows_close_after_the_lateness_and_late_trades_are_dropped)
{
	struct agg a = { .rule = { .tf = TK_NS_PER_S, .lateness = S(2) } };
	struct tk_bar out[4];

	cr_assert_eq(add(&a, INT64_MIN, S(10.5), 100, 1), TK_AGG_OPENED);
	cr_assert_eq(close_due(&a, S(10.5), out, 4), 0);
	cr_assert_eq(add(&a, S(10.5), S(12.1), 101, 1), TK_AGG_OPENED);
	/* Window [9, 10) closed when stream time reached 12: late. */
	cr_assert_eq(add(&a, S(12.1), S(9.9), 50, 1), TK_AGG_LATE);
	/* Window [10, 11) is open until 13. */
	cr_assert_eq(add(&a, S(12.1), S(10.8), 102, 1), TK_AGG_APPLIED);
	cr_assert_eq(next_close(&a), S(13));
	cr_assert_eq(close_due(&a, S(12.999999999), out, 4), 0);
	cr_assert_eq(close_due(&a, S(13), out, 4), 1);
	cr_assert_eq(out[0].window_start, S(10));
	cr_assert_eq(out[0].open, 100);
	cr_assert_eq(out[0].close, 102);
	cr_assert_eq(out[0].trade_count, 2);
	cr_assert_eq(out[0].open_ts, S(10.5));
	cr_assert_eq(out[0].close_ts, S(10.8));
	cr_assert_eq(next_close(&a), S(15), "window 12 is left, in cur");
	/* A trade exactly at the deadline of its window is late. */
	cr_assert_eq(add(&a, S(13), S(10.9), 1, 1), TK_AGG_LATE);
	/* A heartbeat far ahead closes the rest; window 11 had no trade: no bar. */
	cr_assert_eq(add(&a, S(13), S(13.5), 103, 2), TK_AGG_OPENED);
	cr_assert_eq(close_due(&a, S(20), out, 4), 2);
	cr_assert_eq(out[0].window_start, S(12));
	cr_assert_eq(out[1].window_start, S(13));
	cr_assert_eq(out[1].volume, 2);
	cr_assert_eq(nopen(&a), 0);
	cr_assert_eq(a.cur.trade_count, 0, "the live record shows no open bar");
	cr_assert_eq(next_close(&a), INT64_MAX);
}

Test(bar, out_of_order_windows_stay_sorted_and_close_all_empties)
{
	struct agg a = { .rule = { .tf = TK_NS_PER_S, .lateness = S(5) } };
	struct tk_bar out[4];

	cr_assert_eq(add(&a, INT64_MIN, S(12.5), 1, 1), TK_AGG_OPENED);
	cr_assert_eq(add(&a, S(12.5), S(10.5), 2, 1), TK_AGG_OPENED);
	cr_assert_eq(add(&a, S(12.5), S(11.5), 3, 1), TK_AGG_OPENED, "between two open windows");
	cr_assert_eq(add(&a, S(12.5), S(11.6), 4, 1), TK_AGG_APPLIED);
	cr_assert_eq(nopen(&a), 3);
	cr_assert_eq(a.cur.window_start, S(12), "the newest stays in cur");
	cr_assert_eq(a.older.bar[0].window_start, S(10));
	cr_assert_eq(a.older.bar[1].window_start, S(11));
	cr_assert_eq(next_close(&a), S(16));
	cr_assert_eq(close_due(&a, S(17), out, 1), 1, "at most max");
	cr_assert_eq(out[0].window_start, S(10));
	cr_assert_eq(close_all(&a, out, 4), 2);
	cr_assert_eq(out[0].window_start, S(11));
	cr_assert_eq(out[0].close, 4);
	cr_assert_eq(out[1].window_start, S(12));
	cr_assert_eq(nopen(&a), 0);
}

/* The worker folds only the deadline of the window a trade opened into its
 * earliest deadline: the newest window's, or a late trade's older one. */
Test(bar, the_deadline_of_an_opened_window_is_its_own)
{
	struct agg a = { .rule = { .tf = TK_NS_PER_S, .lateness = S(2) } };

	cr_assert_eq(add(&a, INT64_MIN, S(12.5), 1, 1), TK_AGG_OPENED);
	cr_assert_eq(tk_agg_opened_close(&a.cur, &a.rule, S(12.5)), S(15));
	cr_assert_eq(add(&a, S(12.5), S(13.25), 2, 1), TK_AGG_OPENED, "a newer window: cur");
	cr_assert_eq(tk_agg_opened_close(&a.cur, &a.rule, S(13.25)), S(16));
	cr_assert_eq(next_close(&a), S(15), "the oldest open window is still 12's");
	cr_assert_eq(add(&a, S(13.25), S(11.75), 3, 1), TK_AGG_OPENED, "a late trade, older");
	cr_assert_eq(tk_agg_opened_close(&a.cur, &a.rule, S(11.75)), S(14),
		     "its own window's deadline, not cur's");
	cr_assert_eq(next_close(&a), S(14));
	cr_assert_eq(tk_agg_opened_close(&a.cur, &a.rule, -S(4.5)), -S(2),
		     "before 1970 the window is floored too: [-5 s, -4 s), + 1 s + 2 s");
}

Test(bar, more_open_windows_than_room_are_refused_not_lost_silently)
{
	struct agg a = { .rule = { .tf = TK_NS_PER_S, .lateness = S(60) } };
	int i;

	for (i = 0; i < TEST_OPEN; i++)
		cr_assert_eq(add(&a, S(10), S(10 + i), 1, 1), TK_AGG_OPENED);
	cr_assert_eq(add(&a, S(10), S(30), 1, 1), TK_AGG_TOO_MANY, "newer");
	cr_assert_eq(add(&a, S(10), S(9.5), 1, 1), TK_AGG_TOO_MANY, "older");
	cr_assert_eq(add(&a, S(10), S(12.5), 1, 1), TK_AGG_APPLIED, "an open one still takes trades");
	cr_assert_eq(nopen(&a), TEST_OPEN);
}

Test(bar, timeframes_parse_and_name)
{
	int64_t tf[8];
	char name[16];

	cr_assert_eq(tk_timeframes_parse("1s,1m,5m,1h", tf, 8), 4);
	cr_assert_eq(tf[0], TK_NS_PER_S);
	cr_assert_eq(tf[1], 60 * TK_NS_PER_S);
	cr_assert_eq(tf[2], 300 * TK_NS_PER_S);
	cr_assert_eq(tf[3], 3600 * TK_NS_PER_S);
	tk_timeframe_name(tf[2], name, sizeof(name));
	cr_assert_str_eq(name, "5m");
	tk_timeframe_name(86400 * TK_NS_PER_S, name, sizeof(name));
	cr_assert_str_eq(name, "1d");
	tk_timeframe_name(15 * TK_NS_PER_S, name, sizeof(name));
	cr_assert_str_eq(name, "15s");
	cr_assert_eq(tk_timeframes_parse("7s", tf, 8), -EINVAL);
	cr_assert(strstr(tk_err_msg(), "divide a day") != NULL);
	cr_assert_eq(tk_timeframes_parse("1x", tf, 8), -EINVAL);
	cr_assert_eq(tk_timeframes_parse("1m,60s", tf, 8), -EINVAL);
	cr_assert(strstr(tk_err_msg(), "twice") != NULL);
	cr_assert_eq(tk_timeframes_parse("", tf, 8), -EINVAL);
}

/* ---- property test against a naive reference ---- */

struct ref_trade {
	int64_t ts;
	double price, size;
	uint64_t seq;
};

#define NT 20000

/* The reference keeps every accepted trade and builds each bar from its
 * definition when the window closes. */
static int ref_bar(const struct ref_trade *t, int n, int64_t start, int64_t tf, struct tk_bar *b)
{
	int i, first = -1, last = -1, count = 0;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < n; i++) {
		if (tk_window_start(t[i].ts, tf) != start)
			continue;
		if (count == 0) {
			b->high = b->low = t[i].price;
		}
		if (first < 0 || t[i].ts < t[first].ts)
			first = i;
		if (last < 0 || t[i].ts >= t[last].ts)
			last = i;
		if (t[i].price > b->high)
			b->high = t[i].price;
		if (t[i].price < b->low)
			b->low = t[i].price;
		b->volume += t[i].size;
		b->pv += t[i].price * t[i].size;
		count++;
	}
	if (count == 0)
		return 0;
	b->window_start = start;
	b->open = t[first].price;
	b->close = t[last].price;
	b->trade_count = (uint64_t)count;
	return 1;
}

Test(bar, random_streams_with_disorder_and_late_trades_match_the_reference)
{
	static struct ref_trade acc[NT];
	static struct tk_bar got[NT], want;
	int64_t tfs[3] = { TK_NS_PER_S, 5 * TK_NS_PER_S, 60 * TK_NS_PER_S }, L = S(2);
	int k;

	srand(12345);
	for (k = 0; k < 3; k++) {
		struct agg a = { .rule = { .tf = tfs[k], .lateness = L } };
		int64_t tf = tfs[k], st = INT64_MIN, clock = S(1700000000);
		int nacc = 0, ngot = 0, late = 0, i, ref_late = 0;
		int64_t ref_st = INT64_MIN, w, lo, hi;

		for (i = 0; i < NT; i++) {
			int64_t ts;
			double price = 100 + (rand() % 1000) / 100.0, size = rand() % 4;
			int r;

			clock += rand() % 300000000; /* up to 0.3 s between trades */
			/* 1 in 8 trades is late by up to a window and 4 s: some within
			 * the lateness, some past it. */
			ts = rand() % 8 == 0
				     ? clock - (int64_t)((((uint64_t)rand() << 31) | (uint64_t)rand()) %
							 (uint64_t)(tf + 4000000000LL))
				     : clock;
			/* Reference decision, from the rule itself. */
			if (ref_st != INT64_MIN && tk_window_start(ts, tf) + tf + L <= ref_st)
				ref_late++;
			else
				acc[nacc++] = (struct ref_trade){ ts, price, size, (uint64_t)i + 1 };
			if (ts > ref_st)
				ref_st = ts;

			r = add(&a, st, ts, price, size);
			late += r == TK_AGG_LATE;
			cr_assert_neq(r, TK_AGG_TOO_MANY);
			if (ts > st)
				st = ts;
			ngot += (int)close_due(&a, st, &got[ngot], (uint32_t)(NT - ngot));
		}
		ngot += (int)close_all(&a, &got[ngot], (uint32_t)(NT - ngot));
		cr_assert_eq(late, ref_late, "late trades: %d, reference %d", late, ref_late);
		cr_assert_gt(late, 0, "the stream must exercise late trades");
		/* Every window holding an accepted trade, in window order. */
		lo = hi = tk_window_start(acc[0].ts, tf);
		for (i = 0; i < nacc; i++) {
			w = tk_window_start(acc[i].ts, tf);
			lo = w < lo ? w : lo;
			hi = w > hi ? w : hi;
		}
		i = 0;
		for (w = lo; w <= hi; w += tf) {
			if (!ref_bar(acc, nacc, w, tf, &want))
				continue;
			cr_assert_lt(i, ngot, "missing bar for window %lld", (long long)w);
			cr_assert_eq(got[i].window_start, want.window_start, "bar %d window", i);
			cr_assert_eq(got[i].open, want.open, "bar %d open", i);
			cr_assert_eq(got[i].high, want.high);
			cr_assert_eq(got[i].low, want.low);
			cr_assert_eq(got[i].close, want.close, "bar %d close", i);
			cr_assert_eq(got[i].volume, want.volume);
			cr_assert_eq(got[i].pv, want.pv);
			cr_assert_eq(got[i].trade_count, want.trade_count);
			i++;
		}
		cr_assert_eq(i, ngot, "extra bars");
	}
}

/*
 * OHLCV bars by event time: pure functions, no shared memory, no clock.
 *
 * DESIGN (the bar semantics of DESIGN.md).  Windows are aligned to UTC
 * epoch multiples of the timeframe and chosen by the trade's own
 * timestamp.  open is the trade with the earliest event time in the window
 * and close the latest, equal event times ordered by arrival (the log
 * sequence).  Stream time is the largest event time seen, also advanced by
 * heartbeats; a window closes when stream time >= window end + lateness,
 * and a trade for a window that is already closed by that rule is late:
 * dropped and counted.  Windows without a trade emit no bar.
 *
 * Several windows of one timeframe can be open at once (a 1 s window stays
 * open for the 2 s of lateness while the next ones fill): an aggregator
 * keeps them in a small array ordered by window start, and closes them in
 * that order.
 */
#ifndef TK_ENGINE_BAR_H
#define TK_ENGINE_BAR_H

#include <stdbool.h>
#include <stdint.h>

#define TK_NS_PER_S 1000000000LL
#define TK_AGG_MAX_OPEN 8 /* open windows per symbol and timeframe: lateness <= 6 windows */

struct tk_bar {
	int64_t window_start; /* epoch ns, a multiple of tf_ns */
	int64_t tf_ns;
	double open;
	double high;
	double low;
	double close;
	double volume;
	double pv; /* sum of price * size */
	uint64_t trade_count;
	int64_t open_ts;  /* event time of the trade that set open */
	int64_t close_ts; /* event time of the trade that set close */
	uint64_t open_seq;
	uint64_t close_seq;
};

/* Start of the window of `ts` for timeframe tf (floor, also before 1970). */
static inline int64_t tk_window_start(int64_t ts, int64_t tf)
{
	int64_t r = ts % tf;

	return r < 0 ? ts - r - tf : ts - r;
}

/* A new bar in window `start` holding one trade. */
void tk_bar_init(struct tk_bar *b, int64_t start, int64_t tf, int64_t ts, double price,
		 double size, uint64_t seq);

/* Add a trade (seq increases with arrival). */
void tk_bar_add(struct tk_bar *b, int64_t ts, double price, double size, uint64_t seq);

/* Bar VWAP: sum(price * size) / sum(size), the close when the volume is 0. */
static inline double tk_bar_vwap(const struct tk_bar *b)
{
	return b->volume > 0 ? b->pv / b->volume : b->close;
}

/* One symbol's bars of one timeframe. */
struct tk_agg {
	uint32_t nopen;
	uint32_t reserved;
	struct tk_bar open[TK_AGG_MAX_OPEN]; /* by window start, ascending */
};

enum tk_agg_result {
	TK_AGG_APPLIED = 0,
	TK_AGG_LATE = 1,     /* its window is closed: dropped */
	TK_AGG_TOO_MANY = 2, /* more open windows than TK_AGG_MAX_OPEN: dropped (config prevents it) */
};

/*
 * Apply a trade, given the stream time *before* it (the caller advances
 * stream time afterwards, then closes).  Returns TK_AGG_APPLIED or why not.
 */
int tk_agg_add(struct tk_agg *a, int64_t tf, int64_t lateness, int64_t stream_time, int64_t ts,
	       double price, double size, uint64_t seq);

/*
 * Close every window with end + lateness <= stream_time, oldest first:
 * copies them to out (at most max) and returns how many.  Call again while
 * it returns max.
 */
uint32_t tk_agg_close(struct tk_agg *a, int64_t lateness, int64_t stream_time, struct tk_bar *out,
		      uint32_t max);

/* Close every open window regardless of time (end of stream). */
uint32_t tk_agg_close_all(struct tk_agg *a, struct tk_bar *out, uint32_t max);

/* The window end + lateness of the oldest open window (INT64_MAX if none):
 * when stream time reaches it, tk_agg_close has work. */
static inline int64_t tk_agg_next_close(const struct tk_agg *a, int64_t lateness)
{
	return a->nopen == 0 ? INT64_MAX : a->open[0].window_start + a->open[0].tf_ns + lateness;
}

/* Timeframes: "1s,1m,5m,1h" -> ns.  Returns the count, or -EINVAL with a
 * message (unknown unit, not a divisor of a day, duplicates, > max). */
int tk_timeframes_parse(const char *text, int64_t *out, int max);

/* "1s", "1m", "5m", "1h", "1d", or "<n>s" for others; out >= 16 bytes. */
void tk_timeframe_name(int64_t tf, char *out, unsigned cap);

/* Open windows one timeframe needs at most for a lateness: a config check. */
static inline int64_t tk_agg_windows_needed(int64_t tf, int64_t lateness)
{
	return (lateness + tf - 1) / tf + 2;
}

#endif

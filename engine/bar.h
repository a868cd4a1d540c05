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

#include "shm/live.h" /* struct tk_bar: the open bar is part of the live record */

#define TK_NS_PER_S 1000000000LL
#define TK_AGG_CLOSE_BATCH 8 /* windows closed per call of tk_agg_close by the worker */

/* Start of the window of `ts` for timeframe tf (floor, also before 1970). */
static inline int64_t tk_window_start(int64_t ts, int64_t tf)
{
	int64_t r = ts % tf;

	return r < 0 ? ts - r - tf : ts - r;
}

/* A new bar in window `start` holding one trade. */
void tk_bar_init(struct tk_bar *b, int64_t start, int64_t ts, double price, double size);

/* Add a trade; trades are added in arrival order, which breaks ties of
 * equal event times. */
static inline void tk_bar_add(struct tk_bar *b, int64_t ts, double price, double size)
{
	/* Strictly earlier replaces open: an equal time arrived later. */
	if (ts < b->open_ts) {
		b->open = price;
		b->open_ts = ts;
	}
	/* Equal or later replaces close: an equal time arrived later. */
	if (ts >= b->close_ts) {
		b->close = price;
		b->close_ts = ts;
	}
	b->high = price > b->high ? price : b->high;
	b->low = price < b->low ? price : b->low;
	b->volume += size;
	b->pv += price * size;
	b->trade_count++;
}

/* Bar VWAP: sum(price * size) / sum(size), the close when the volume is 0. */
static inline double tk_bar_vwap(const struct tk_bar *b)
{
	return b->volume > 0 ? b->pv / b->volume : b->close;
}

/*
 * One symbol's open windows of one timeframe live in two places: the
 * newest, where nearly every trade lands, in `cur`, and the older ones
 * still inside the lateness in `older`, ascending by window start.  The
 * worker keeps `cur` in the symbol's live record in the segment, so a tick
 * updates the bar readers see in place, and touches the older ones only
 * when a trade arrives out of order or a window opens or closes.
 */
struct tk_agg_older {
	uint32_t n;
	uint32_t cap;        /* tk_agg_windows_needed(rule) - 1: sized from the lateness */
	struct tk_bar *bar;  /* [cap], owned by whoever set it up (the worker's arena) */
};

/* The rule of one timeframe. */
struct tk_agg_rule {
	int64_t tf;       /* window length, ns */
	int64_t lateness; /* how long after its end a window stays open, ns */
};

enum tk_agg_result {
	TK_AGG_APPLIED = 0,  /* added to an open window */
	TK_AGG_OPENED = 1,   /* opened a new window */
	TK_AGG_LATE = 2,     /* its window is closed: dropped */
	TK_AGG_TOO_MANY = 3, /* more open windows than older->cap + 1: dropped (sizing prevents it) */
};

/* The rest of tk_agg_add: a trade outside `cur`'s window. */
int tk_agg_add_slow(struct tk_bar *cur, struct tk_agg_older *older, const struct tk_agg_rule *rule,
		    int64_t stream_time, int64_t ts, double price, double size);

/*
 * Apply a trade, given the stream time *before* it (the caller advances
 * stream time afterwards, then closes).  Returns a tk_agg_result.  The
 * caller closes every due window before stream time moves on, so a trade
 * inside `cur`'s window is never late: that test needs no division.
 */
static inline int tk_agg_add(struct tk_bar *cur, struct tk_agg_older *older,
			     const struct tk_agg_rule *rule, int64_t stream_time, int64_t ts,
			     double price, double size)
{
	if (cur->trade_count > 0 && ts >= cur->window_start &&
	    ts - cur->window_start < rule->tf) {
		tk_bar_add(cur, ts, price, size);
		return TK_AGG_APPLIED;
	}
	return tk_agg_add_slow(cur, older, rule, stream_time, ts, price, size);
}

/*
 * Close every window with end + lateness <= stream_time, oldest first:
 * copies them to out (at most max) and returns how many.  Call again while
 * it returns max.  INT64_MAX closes them all.
 */
uint32_t tk_agg_close(struct tk_bar *cur, struct tk_agg_older *older,
		      const struct tk_agg_rule *rule, int64_t stream_time, struct tk_bar *out,
		      uint32_t max);

/* The window end + lateness of the oldest open window (INT64_MAX if none):
 * when stream time reaches it, tk_agg_close has work. */
static inline int64_t tk_agg_next_close(const struct tk_bar *cur, const struct tk_agg_older *older,
					const struct tk_agg_rule *rule)
{
	if (older->n > 0)
		return older->bar[0].window_start + rule->tf + rule->lateness;
	return cur->trade_count > 0 ? cur->window_start + rule->tf + rule->lateness : INT64_MAX;
}

/*
 * The close deadline of the window a trade at ts has just opened
 * (tk_agg_add returned TK_AGG_OPENED): cur's, unless the trade is older
 * than cur and opened a window among the older ones.  Only cur's line is
 * read: the older windows are cold by the time the next one opens.
 */
static inline int64_t tk_agg_opened_close(const struct tk_bar *cur, const struct tk_agg_rule *rule,
					  int64_t ts)
{
	int64_t start = ts >= cur->window_start ? cur->window_start : tk_window_start(ts, rule->tf);

	return start + rule->tf + rule->lateness;
}

/* Timeframes: "1s,1m,5m,1h" -> ns.  Returns the count, or -EINVAL with a
 * message (unknown unit, not a divisor of a day, duplicates, > max). */
int tk_timeframes_parse(const char *text, int64_t *out, int max);

/* "1s", "1m", "5m", "1h", "1d", or "<n>s" for others; out >= 16 bytes. */
void tk_timeframe_name(int64_t tf, char *out, unsigned cap);

/* Open windows one timeframe needs at most for a lateness: the window of
 * stream time, those ending within the lateness before it, and one more a
 * trade ahead of stream time can open. */
static inline int64_t tk_agg_windows_needed(int64_t tf, int64_t lateness)
{
	return (lateness + tf - 1) / tf + 2;
}

#endif

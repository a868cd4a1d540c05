/*
 * libtickd as a third-party program sees it, after a finite `tickd run`:
 * attach read-only, find symbols, follow a bar log from the start, read a
 * symbol's live state and its bar history, and be refused what it may not do.
 * usage: public_api SEGMENT
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/live.h"
#include "shm/records.h"
#include "shm/tickd.h"
#include "tests/helpers.h"

static int failures;


int main(int argc, char **argv)
{
	struct tickd_follow_opts from_start = { .from_start = 1 };
	struct tickd_follow_opts gating = { .gating = 1 };
	struct tickd_bar hist[64];
	struct tickd_record rec;
	struct tk_live live;
	tickd_segment *seg;
	tickd_follower *f;
	int32_t aapl;
	int n, bars_1m = 0, aapl_bars = 0, i;

	if (argc != 2 || tickd_attach(argv[1], &seg) < 0) {
		fprintf(stderr, "public_api: %s\n", argc == 2 ? tickd_last_error() : "usage");
		return 2;
	}
	CHECK(tickd_log_count(seg) >= 6, "logs: %d", tickd_log_count(seg));
	CHECK(strcmp(tickd_log_name(seg, 0), "ticks.0") == 0, "first log");
	aapl = tickd_symbol_find(seg, "AAPL");
	CHECK(aapl >= 0 && strcmp(tickd_symbol_name(seg, aapl), "AAPL") == 0, "AAPL id %d", aapl);
	CHECK(tickd_symbol_find(seg, "NOPE") == -ENOENT, "an unknown symbol");
	CHECK(tickd_symbol_count(seg) == 8, "8 symbols, got %u", tickd_symbol_count(seg));

	/* Every 1m bar from the start. */
	CHECK(tickd_follow(seg, "bars.1m", &from_start, &f) == 0, "follow: %s", tickd_last_error());
	while (tickd_next(f, &rec, 0) == TICKD_NEXT_RECORD) {
		struct tk_bar_rec b;

		memcpy(&b, rec.data, sizeof(b));
		CHECK(rec.type == TK_REC_BAR && b.tf_ns == 60000000000LL, "a 1m bar");
		bars_1m++;
		aapl_bars += (int32_t)rec.aux == aapl;
	}
	tickd_unfollow(f);
	CHECK(bars_1m == 32, "32 1m bars, got %d", bars_1m);

	/* The live state: the last trade and the last closed 1m bar's indicators. */
	CHECK(tickd_state_read(seg, aapl, &live, sizeof(live)) == 0, "state read");
	CHECK(live.trades > 0 && live.last_price > 0 && live.day_high >= live.day_low, "live state");
	CHECK(live.last[1].window_start == 1704205800LL * 1000000000LL + 3 * 60000000000LL,
	      "the last closed 1m bar: %lld", (long long)live.last[1].window_start);

	/* History: the same bars as the log, newest last. */
	n = tickd_history_read(seg, aapl, 60000000000LL, hist, 64);
	CHECK(n == aapl_bars, "history has %d 1m bars of AAPL, the log %d", n, aapl_bars);
	for (i = 1; i < n; i++)
		CHECK(hist[i].window_start == hist[i - 1].window_start + 60000000000LL, "in order");
	CHECK(n > 0 && hist[n - 1].close > 0 && !isnan(hist[n - 1].vwap), "a real bar");
	CHECK(tickd_history_read(seg, aapl, 7, hist, 64) == 0, "no history for a 7 ns timeframe");

	/* A gating follower needs a name. */
	CHECK(tickd_follow(seg, "ticks.0", &gating, &f) == -EINVAL, "gating without a name");
	CHECK(tickd_follow(seg, "nope", &from_start, &f) == -ENOENT, "unknown log");
	tickd_detach(seg);
	printf("%s\n", failures ? "FAILED" : "1 passed, 0 failed");
	return failures ? 1 : 0;
}

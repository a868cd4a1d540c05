/*
 * libtickd as a third-party program sees it, after a finite `tickd run`
 * whose trades cross a UTC midnight: attach read-only, find symbols, follow
 * a bar log from the start, read a symbol's quote, live state and bar
 * history, list the timeframes, render records, and be refused what it may
 * not do, each refusal with its errno and a message.  Internal headers are
 * used only to cross-check what the library returns.
 *
 * usage: public_api SEGMENT SCRATCH_PATH
 *   SCRATCH_PATH: where to write a copy of the header with another ABI version.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shm/live.h"
#include "shm/records.h"
#include "shm/segment.h"
#include "shm/tickd.h"
#include "tests/helpers.h"

static int failures;

/* A program built against TICKD_0 calls this, with the shorter options. */
struct old_follow_opts {
	const char *name;
	int gating;
	int from_start;
	uint64_t from_seq;
};
int old_follow(tickd_segment *seg, const char *log, const struct old_follow_opts *opts,
	       tickd_follower **out);
__asm__(".symver old_follow, tickd_follow@TICKD_0");

#define T0 1704239900LL /* the run's --start: 100 s before 2024-01-03T00:00:00Z */
#define MIDNIGHT 1704240000LL
#define NS 1000000000LL

static void check_errors(tickd_segment *seg, const char *scratch, const char *path)
{
	struct tickd_follow_opts gating = { .gating = 1 };
	struct tickd_follow_opts release = { .release_after_ms = 100 };
	struct tickd_quote q = TICKD_QUOTE_INIT;
	struct tickd_record rec = { .seq = 1, .type = TICKD_REC_BAR, .len = 8 };
	char page[4096], buf[16];
	tickd_segment *other;
	tickd_follower *f;
	uint32_t abi;
	int fd;

	CHECK(tickd_follow(seg, "nope", NULL, &f) == -ENOENT, "unknown log");
	CHECK(strstr(tickd_last_error(), "no log named 'nope'") != NULL &&
		      strstr(tickd_last_error(), "bars.1m") != NULL,
	      "the message names the log and lists the others: %s", tickd_last_error());
	CHECK(tickd_follow(seg, "ticks.0", &gating, &f) == -EINVAL, "gating without a name");
	CHECK(strstr(tickd_last_error(), "needs a name") != NULL, "message: %s", tickd_last_error());
	CHECK(tickd_follow(seg, "ticks.0", &release, &f) == -EINVAL, "release without gating");
	CHECK(strstr(tickd_last_error(), "release_after_ms") != NULL, "message: %s",
	      tickd_last_error());

	CHECK(tickd_symbol_find(seg, "NOPE") == -ENOENT, "an unknown symbol");
	CHECK(strstr(tickd_last_error(), "no symbol 'NOPE'") != NULL, "message: %s",
	      tickd_last_error());
	CHECK(tickd_symbol_find(seg, "") == -EINVAL, "an empty symbol");
	CHECK(tickd_symbol_find(seg, "A\nB") == -EINVAL, "a symbol with a control character");
	CHECK(strstr(tickd_last_error(), "not a valid symbol") != NULL, "message: %s",
	      tickd_last_error());
	CHECK(tickd_quote(seg, "NOPE", &q) == -ENOENT, "quote of an unknown symbol");
	CHECK(strstr(tickd_last_error(), "no symbol 'NOPE'") != NULL, "message: %s",
	      tickd_last_error());
	CHECK(tickd_quote_id(seg, 12345, &q) == -ENOENT, "quote of an unknown id");
	CHECK(strstr(tickd_last_error(), "id 12345") != NULL, "message: %s", tickd_last_error());
	q.size = 8;
	CHECK(tickd_quote(seg, "AAPL", &q) == -EINVAL, "a quote struct too small");
	CHECK(strstr(tickd_last_error(), "q->size") != NULL, "message: %s", tickd_last_error());

	CHECK(tickd_record_json(seg, &rec, page, sizeof(page)) == -EINVAL, "a bar record of 8 bytes");
	CHECK(strstr(tickd_last_error(), "rec->len is 8") != NULL, "message: %s", tickd_last_error());
	CHECK(tickd_state_read(seg, -1, page, 8) == -ENOENT, "state of id -1");
	CHECK(tickd_state_read(seg, 0, page, 1 << 20) == -EINVAL, "state read too long");
	CHECK(strstr(tickd_last_error(), "bytes asked") != NULL, "message: %s", tickd_last_error());

	/* A buffer too small for the JSON: -ENOSPC, cut and terminated. */
	{
		struct tickd_follow_opts fs = { .from_start = 1 };

		CHECK(tickd_follow(seg, "bars.1m", &fs, &f) == 0, "follow bars.1m");
		CHECK(tickd_next(f, &rec, 0) == TICKD_NEXT_RECORD, "a bar");
		CHECK(tickd_record_json(seg, &rec, buf, sizeof(buf)) == -ENOSPC, "16 bytes for a bar");
		CHECK(strlen(buf) == sizeof(buf) - 1, "cut text terminated: %zu", strlen(buf));
		tickd_unfollow(f);
	}

	/* A segment of another ABI version: the first page of this one, its
	 * version changed, refused before anything else is trusted. */
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && read(fd, page, sizeof(page)) == (ssize_t)sizeof(page), "read the header");
	close(fd);
	memcpy(&abi, page + offsetof(struct tk_seg_header, abi_version), sizeof(abi));
	abi++;
	memcpy(page + offsetof(struct tk_seg_header, abi_version), &abi, sizeof(abi));
	fd = open(scratch, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, page, sizeof(page)) == (ssize_t)sizeof(page), "write the copy");
	close(fd);
	CHECK(tickd_attach(scratch, &other) == -EPROTO, "another ABI version is refused");
	snprintf(page, sizeof(page), "ABI version %u, this build reads version %u", abi,
		 TICKD_ABI_VERSION);
	CHECK(strstr(tickd_last_error(), page) != NULL, "the message says which versions: %s",
	      tickd_last_error());
	unlink(scratch);
	CHECK(tickd_attach(scratch, &other) == -ENOENT, "no segment there");
	CHECK(strlen(tickd_last_error()) > 0, "a message for ENOENT");
}

int main(int argc, char **argv)
{
	struct tickd_follow_opts from_start = { .from_start = 1 };
	struct old_follow_opts old = { .from_start = 1 };
	struct tickd_quote q = TICKD_QUOTE_INIT;
	struct tickd_timeframe tfs[8];
	struct tickd_bar hist[64];
	struct tickd_record rec;
	struct tk_live live;
	tickd_segment *seg;
	tickd_follower *f;
	int32_t aapl;
	int n, bars_1m = 0, aapl_bars = 0, i, signals = 0;
	char line[1024], buf[64];

	if (argc != 3 || tickd_attach(argv[1], &seg) < 0) {
		fprintf(stderr, "public_api: %s\n", argc == 3 ? tickd_last_error() : "usage");
		return 2;
	}
	CHECK(strcmp(tickd_version(), TICKD_VERSION) == 0, "version %s", tickd_version());
	CHECK(tickd_log_count(seg) >= 6, "logs: %d", tickd_log_count(seg));
	CHECK(strcmp(tickd_log_name(seg, 0), "ticks.0") == 0, "first log");
	CHECK(tickd_log_name(seg, 99) == NULL, "no log 99");
	aapl = tickd_symbol_find(seg, "AAPL");
	CHECK(aapl >= 0 && strcmp(tickd_symbol_name(seg, aapl), "AAPL") == 0, "AAPL id %d", aapl);
	CHECK(tickd_symbol_count(seg) == 8, "8 symbols, got %u", tickd_symbol_count(seg));

	/* The timeframes tickd run made, with their history depths (tickd init's
	 * defaults: 3600, 1440, 288, 168, one slot kept free). */
	n = tickd_timeframes(seg, tfs, 8);
	CHECK(n == 4, "4 timeframes, got %d", n);
	CHECK(n == 4 && tfs[0].tf_ns == NS && strcmp(tfs[0].name, "1s") == 0 &&
		      tfs[1].tf_ns == 60 * NS && strcmp(tfs[1].name, "1m") == 0 &&
		      tfs[2].tf_ns == 300 * NS && strcmp(tfs[2].name, "5m") == 0 &&
		      tfs[3].tf_ns == 3600 * NS && strcmp(tfs[3].name, "1h") == 0,
	      "1s 1m 5m 1h");
	CHECK(n == 4 && tfs[0].history_depth == 3599 && tfs[1].history_depth == 1439 &&
		      tfs[2].history_depth == 287 && tfs[3].history_depth == 167 &&
		      tfs[1].history_symbols == 1024,
	      "history depths %u %u %u %u", tfs[0].history_depth, tfs[1].history_depth,
	      tfs[2].history_depth, tfs[3].history_depth);
	CHECK(tickd_timeframes(seg, NULL, 0) == 4, "count only");

	/* Every 1m bar from the start, through the public record struct. */
	CHECK(tickd_follow(seg, "bars.1m", &from_start, &f) == 0, "follow: %s", tickd_last_error());
	while (tickd_next(f, &rec, 0) == TICKD_NEXT_RECORD) {
		const struct tickd_bar_record *b = rec.data;

		CHECK(rec.type == TICKD_REC_BAR && b->tf_ns == 60 * NS, "a 1m bar");
		CHECK(b->window_start % (60 * NS) == 0 && b->low <= b->open && b->open <= b->high &&
			      b->trade_count > 0 && b->sma_fast_n == 20 && b->rsi_n == 14,
		      "a sane bar at seq %llu", (unsigned long long)rec.seq);
		bars_1m++;
		aapl_bars += (int32_t)rec.aux == aapl;
	}
	tickd_unfollow(f);
	/* 23:58:20 to 00:01:40: windows 23:58, 23:59, 00:00, 00:01, 8 symbols each. */
	CHECK(bars_1m == 32, "32 1m bars, got %d", bars_1m);

	/* Signals through the public struct; the rendered line names the kind. */
	CHECK(tickd_follow(seg, "signals", &from_start, &f) == 0, "follow signals");
	while (tickd_next(f, &rec, 0) == TICKD_NEXT_RECORD) {
		const struct tickd_signal *s = rec.data;

		CHECK(rec.type == TICKD_REC_SIGNAL && s->kind >= TICKD_SIGNAL_PCT_CHANGE &&
			      s->kind <= TICKD_SIGNAL_VWAP_CROSS && (s->direction == 1 || s->direction == -1),
		      "a signal");
		n = tickd_record_json(seg, &rec, line, sizeof(line));
		CHECK(n > 0 && (size_t)n == strlen(line) && strstr(line, "\"type\":\"") != NULL,
		      "signal json %d", n);
		signals++;
	}
	tickd_unfollow(f);
	CHECK(signals > 0, "some signals");

	/* A program built against TICKD_0 still follows, with its short struct. */
	CHECK(old_follow(seg, "ticks.0", &old, &f) == 0, "tickd_follow@TICKD_0: %s",
	      tickd_last_error());
	CHECK(tickd_next(f, &rec, 0) == TICKD_NEXT_RECORD && rec.seq == 1,
	      "the old follow starts at the oldest record");
	while (rec.type != TICKD_REC_TICK && tickd_next(f, &rec, 0) == TICKD_NEXT_RECORD)
		;
	n = tickd_record_json(seg, &rec, line, sizeof(line));
	snprintf(buf, sizeof(buf), "\"seq\":%llu}", (unsigned long long)rec.seq);
	CHECK(rec.type == TICKD_REC_TICK && n > 0 && strncmp(line, "{\"symbol\":\"", 11) == 0 &&
		      strstr(line, buf) != NULL && ((const struct tickd_tick *)rec.data)->ts_ns >= T0 * NS,
	      "a tick line: %s", line);
	tickd_unfollow(f);

	/* The quote against the engine's own record, read the internal way. */
	CHECK(tickd_quote(seg, "AAPL", &q) == 0, "quote: %s", tickd_last_error());
	CHECK(tickd_state_read(seg, aapl, &live, sizeof(live)) == 0, "state read");
	CHECK(q.size == sizeof(q) && q.version == TICKD_QUOTE_VERSION && q.symbol_id == aapl &&
		      strcmp(q.symbol, "AAPL") == 0,
	      "quote header: size %u version %u", q.size, q.version);
	CHECK(q.last_price == live.last_price && q.last_ts_ns == live.last_ts &&
		      q.seq == live.last_seq && q.trade_count == live.trades &&
		      q.day_open == live.day_open && q.day_high == live.day_high &&
		      q.day_low == live.day_low && q.day_volume == live.day_volume &&
		      q.prev_close == live.prev_close && q.change == live.change &&
		      q.change_pct == live.change_pct,
	      "quote = live state");
	/* The last trade is after midnight, so the day is 2024-01-03 and the
	 * previous close is the last price before midnight: defined. */
	CHECK(q.day_ns == MIDNIGHT * NS, "day %lld", (long long)q.day_ns);
	CHECK(q.last_ts_ns >= MIDNIGHT * NS && !isnan(q.prev_close) &&
		      q.change == q.last_price - q.prev_close &&
		      q.change_pct == q.change * (100.0 / q.prev_close),
	      "prev close %g change %g %g", q.prev_close, q.change, q.change_pct);
	/* The struct may grow: a caller that knows more than this library gets
	 * the fields the library has, told how many bytes, the rest untouched;
	 * one below version 1's fields is refused. */
	{
		struct {
			struct tickd_quote q;
			unsigned char extra[16];
		} big;

		memset(&big, 0x55, sizeof(big));
		big.q.size = sizeof(big);
		CHECK(tickd_quote(seg, "AAPL", &big.q) == 0 && big.q.size == sizeof(struct tickd_quote) &&
			      big.q.last_price == q.last_price && big.extra[0] == 0x55 &&
			      big.extra[15] == 0x55,
		      "a bigger struct: size %u", big.q.size);
		big.q.size = (uint32_t)offsetof(struct tickd_quote, late);
		CHECK(tickd_quote(seg, "AAPL", &big.q) == -EINVAL, "below version 1");
	}
	CHECK(live.last[1].window_start == (T0 - T0 % 60) * NS + 3 * 60 * NS,
	      "the last closed 1m bar: %lld", (long long)live.last[1].window_start);

	/* History: the same bars as the log, newest last. */
	n = tickd_history_read(seg, aapl, 60 * NS, hist, 64);
	CHECK(n == aapl_bars, "history has %d 1m bars of AAPL, the log %d", n, aapl_bars);
	for (i = 1; i < n; i++)
		CHECK(hist[i].window_start == hist[i - 1].window_start + 60 * NS, "in order");
	CHECK(n > 0 && hist[n - 1].close > 0 && !isnan(hist[n - 1].vwap), "a real bar");
	CHECK(tickd_history_read(seg, aapl, 7, hist, 64) == 0, "no history for a 7 ns timeframe");

	check_errors(seg, argv[2], argv[1]);
	tickd_detach(seg);
	printf("%s\n", failures ? "FAILED" : "1 passed, 0 failed");
	return failures ? 1 : 0;
}

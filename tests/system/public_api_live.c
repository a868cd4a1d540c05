/*
 * libtickd against a live writer: the gating policies a third-party
 * follower can choose, and the quote read while the engine updates it.
 *
 * usage: public_api_live SEGMENT NSLOTS   a live `tickd run` whose ticks.0 has NSLOTS slots
 *        public_api_live --bare SEGMENT   a segment without history or engine, symbols only
 *
 * Live: (1) hold: a stalled gating follower stops the writer exactly one
 * ring ahead of its cursor, and then reads on without a gap; (2) release
 * after 300 ms: the writer goes on past it, and its next read reports
 * exactly the sequences it missed, from its cursor to the first record it
 * is then given.  Prints "released FROM TO" for the script to check against
 * tickd stats; from that record on it is held again, before it commits.
 * (3) Quotes read while the engine writes are consistent.
 * Failures are reported on stdout: stderr must stay empty (the library
 * never prints, also when it rejoins a released follower to the gate,
 * which the internal code logs).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shm/tickd.h"

static int failures;

#define CHECK(cond, ...)                              \
	do {                                          \
		if (!(cond)) {                        \
			printf("FAIL: " __VA_ARGS__); \
			putchar('\n');                \
			failures++;                   \
		}                                     \
	} while (0)

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Read every record up to `until` (at least), checking they are contiguous
 * from *last + 1, committing as it goes.  Returns the number of gaps seen. */
static int read_to(tickd_follower *f, uint64_t *last, uint64_t until)
{
	struct tickd_record rec;
	int gaps = 0;

	while (*last < until) {
		int rc = tickd_next(f, &rec, 2000);

		if (rc == TICKD_NEXT_NONE) {
			CHECK(0, "nothing for 2 s at %llu", (unsigned long long)*last);
			return gaps;
		}
		if (rc == TICKD_NEXT_GAP) {
			gaps++;
			continue;
		}
		CHECK(rec.seq == *last + 1, "contiguous: %llu after %llu", (unsigned long long)rec.seq,
		      (unsigned long long)*last);
		*last = rec.seq;
		/* A gating follower frees the writer only by committing. */
		if ((rec.seq & 63) == 0)
			tickd_commit(f);
	}
	return gaps;
}

/* The sequence of the first record f gives (it starts at the log's end). */
static uint64_t first_seq(tickd_follower *f)
{
	struct tickd_record rec;
	int rc = tickd_next(f, &rec, 5000);

	CHECK(rc == TICKD_NEXT_RECORD, "a first record within 5 s, got %d", rc);
	return rc == TICKD_NEXT_RECORD ? rec.seq : 0;
}

static int live(const char *path, uint64_t nslots)
{
	struct tickd_follow_opts hold = { .name = "api-hold", .gating = 1 };
	struct tickd_follow_opts rel = { .name = "api-release", .gating = 1, .release_after_ms = 300 };
	struct tickd_quote q = TICKD_QUOTE_INIT, prev = TICKD_QUOTE_INIT;
	struct tickd_record rec;
	tickd_segment *seg;
	tickd_follower *f;
	uint64_t last, w1, w2;
	int i, rc;

	if (tickd_attach(path, &seg) < 0) {
		printf("FAIL: attach: %s\n", tickd_last_error());
		return 1;
	}

	/* (1) Hold.  Start at the end, read a little, commit, then stall. */
	CHECK(tickd_follow(seg, "ticks.0", &hold, &f) == 0, "follow hold: %s", tickd_last_error());
	last = first_seq(f);
	read_to(f, &last, last + 100);
	tickd_commit(f);
	sleep_ms(1500); /* the ring (NSLOTS at 5000/s) fills well within this */
	w1 = tickd_write_seq(f);
	sleep_ms(500);
	w2 = tickd_write_seq(f);
	/* The writer may write s only while s < cursor + nslots, cursor = last + 1. */
	CHECK(w1 == w2 && w2 == last + nslots, "held exactly one ring ahead: %llu %llu, cursor %llu",
	      (unsigned long long)w1, (unsigned long long)w2, (unsigned long long)last + 1);
	CHECK(read_to(f, &last, w2 + 1000) == 0, "a held follower misses nothing");
	tickd_unfollow(f);

	/* (2) Release after 300 ms. */
	CHECK(tickd_follow(seg, "ticks.0", &rel, &f) == 0, "follow release: %s", tickd_last_error());
	last = first_seq(f);
	read_to(f, &last, last + 100);
	tickd_commit(f);
	sleep_ms(2000);
	w1 = tickd_write_seq(f);
	CHECK(w1 > last + nslots, "released: the writer went on to %llu past the ring at %llu",
	      (unsigned long long)w1, (unsigned long long)(last + nslots));
	rc = tickd_next(f, &rec, 1000);
	CHECK(rc == TICKD_NEXT_GAP, "a gap after the release, got %d", rc);
	if (rc == TICKD_NEXT_GAP) {
		uint64_t from = rec.gap_from, to = rec.gap_to;

		CHECK(from == last + 1, "the gap starts at the cursor: %llu, cursor %llu",
		      (unsigned long long)from, (unsigned long long)last + 1);
		CHECK(to > from && to <= tickd_write_seq(f), "the gap ends in the ring: %llu",
		      (unsigned long long)to);
		rc = tickd_next(f, &rec, 1000);
		CHECK(rc == TICKD_NEXT_RECORD && rec.seq == to,
		      "the next record is the gap's end: %llu vs %llu", (unsigned long long)rec.seq,
		      (unsigned long long)to);
		printf("released %llu %llu\n", (unsigned long long)from, (unsigned long long)to);
		last = rec.seq;
	}
	/* The follower rejoined the gate when it was told of the gap (the
	 * internal code logs this: the library must not): dawdling here, at
	 * the ring's tail, loses nothing more. */
	sleep_ms(50);
	tickd_commit(f);
	CHECK(read_to(f, &last, last + 200) == 0, "reads on after rejoining");
	tickd_commit(f);
	tickd_unfollow(f);

	/* (3) Quotes while the engine applies trades: each a consistent snapshot. */
	CHECK(tickd_quote(seg, "AAPL", &prev) == 0, "quote: %s", tickd_last_error());
	for (i = 0; i < 20000; i++) {
		rc = tickd_quote(seg, "AAPL", &q);
		if (rc == -EAGAIN)
			continue;
		CHECK(rc == 0, "quote %d: %s", i, tickd_last_error());
		CHECK(q.day_low <= q.last_price && q.last_price <= q.day_high && q.day_low <= q.day_open &&
			      q.day_open <= q.day_high && q.day_volume >= q.last_size,
		      "a consistent quote: %g in [%g, %g]", q.last_price, q.day_low, q.day_high);
		CHECK(q.trade_count >= prev.trade_count && q.seq >= prev.seq, "quotes move forward");
		prev = q;
		if (failures > 5)
			break;
	}
	sleep_ms(300);
	CHECK(tickd_quote(seg, "AAPL", &q) == 0 && q.trade_count > prev.trade_count,
	      "live: more trades 300 ms later (%llu, then %llu)",
	      (unsigned long long)prev.trade_count, (unsigned long long)q.trade_count);
	tickd_detach(seg);
	printf("%s\n", failures ? "FAILED" : "live: passed");
	return failures ? 1 : 0;
}

/* A segment the engine never ran on, made without history. */
static int bare(const char *path)
{
	struct tickd_quote q = TICKD_QUOTE_INIT;
	struct tickd_timeframe tfs[8];
	tickd_segment *seg;
	int n;

	if (tickd_attach(path, &seg) < 0) {
		printf("FAIL: attach: %s\n", tickd_last_error());
		return 1;
	}
	CHECK(tickd_symbol_find(seg, "AAPL") >= 0, "the writer interned AAPL");
	CHECK(tickd_quote(seg, "AAPL", &q) == -ENODATA, "no trade applied yet");
	CHECK(strstr(tickd_last_error(), "no trade applied yet") != NULL, "message: %s",
	      tickd_last_error());
	/* No history: the timeframes come from the bar logs (bars.1m,1s here:
	 * tickd init --timeframes 1m,1s), shortest first. */
	n = tickd_timeframes(seg, tfs, 8);
	CHECK(n == 2 && tfs[0].tf_ns == 1000000000LL && strcmp(tfs[0].name, "1s") == 0 &&
		      tfs[1].tf_ns == 60000000000LL && strcmp(tfs[1].name, "1m") == 0 &&
		      tfs[0].history_depth == 0 && tfs[1].history_symbols == 0,
	      "timeframes from the bar logs: %d", n);
	n = tickd_timeframes(seg, tfs, 1);
	CHECK(n == 2 && tfs[0].tf_ns == 1000000000LL, "max 1 still counts 2");
	tickd_detach(seg);
	printf("%s\n", failures ? "FAILED" : "bare: passed");
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--bare") == 0)
		return bare(argv[2]);
	if (argc == 3)
		return live(argv[1], strtoull(argv[2], NULL, 10));
	printf("usage: public_api_live SEGMENT NSLOTS | --bare SEGMENT\n");
	return 2;
}

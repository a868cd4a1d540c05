/*
 * quote: the live quote of a symbol, as the engine keeps it in the segment,
 * built outside the tree:
 *
 *     cc quote.c -o quote $(pkg-config --cflags --libs tickd)
 *     ./quote AAPL
 *
 * One consistent snapshot (read under the symbol's seqlock, without asking
 * the engine), one field a line: name, then the value.  Numbers print with
 * 17 significant digits, so they read back exactly.
 */
#include <errno.h>
#include <stdio.h>
#include <tickd.h>

int main(int argc, char **argv)
{
	struct tickd_quote q = TICKD_QUOTE_INIT;
	tickd_segment *seg;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: quote SYMBOL\n");
		return 2;
	}
	if (tickd_attach(NULL, &seg) < 0) {
		fprintf(stderr, "quote: %s\n", tickd_last_error());
		return 1;
	}
	rc = tickd_quote(seg, argv[1], &q);
	if (rc == -EAGAIN) /* the engine was mid-update for a long while: once more */
		rc = tickd_quote(seg, argv[1], &q);
	if (rc < 0) {
		fprintf(stderr, "quote: %s\n", tickd_last_error());
		tickd_detach(seg);
		return 1;
	}
	printf("symbol %s\n", q.symbol);
	printf("seq %llu\n", (unsigned long long)q.seq);
	printf("last_ts_ns %lld\n", (long long)q.last_ts_ns);
	printf("last_price %.17g\n", q.last_price);
	printf("last_size %.17g\n", q.last_size);
	printf("day_ns %lld\n", (long long)q.day_ns);
	printf("day_open %.17g\n", q.day_open);
	printf("day_high %.17g\n", q.day_high);
	printf("day_low %.17g\n", q.day_low);
	printf("day_volume %.17g\n", q.day_volume);
	printf("prev_close %.17g\n", q.prev_close);
	printf("change %.17g\n", q.change);
	printf("change_pct %.17g\n", q.change_pct);
	printf("trade_count %llu\n", (unsigned long long)q.trade_count);
	printf("late %llu\n", (unsigned long long)q.late);
	tickd_detach(seg);
	return 0;
}

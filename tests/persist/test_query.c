/*
 * History queries (persist/query.c) over a journal the writer wrote: two
 * UTC days (the records cross midnight, so the writer rolls the file),
 * several symbols, a few late records filed under the later day.  The
 * expected answer of every query is the input list filtered by hand.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>

#include "persist/query.h"
#include "tests/persist/persist_helpers.h"

#define N 3000
#define MIDNIGHT (PT_DAY0_NS + PT_NS_PER_DAY) /* 2023-12-02T00:00Z */
#define T_FIRST (MIDNIGHT - 120LL * 1000000000LL) /* 2023-12-01T23:58Z */
#define STEP 73000000LL /* 73 ms */

static char dir[128];
static struct pt_rec in[N];
static uint32_t nsym_used; /* symbols 0..5 before midnight, 6 (TSLA) only after */

/* Record i: symbol from an LCG over 0..5 (6 = TSLA after midnight, now and
 * then); every 97th record after midnight is late: stamped 1.5 s before
 * midnight. */
static void make_input(void)
{
	uint32_t x = 12345;
	size_t i;

	for (i = 0; i < N; i++) {
		int64_t ts = T_FIRST + (int64_t)i * STEP;

		x = x * 1103515245u + 12345u;
		in[i].seq = 1 + i;
		in[i].sym = (x >> 16) % 6;
		if (ts >= MIDNIGHT && i % 11 == 0)
			in[i].sym = 6;
		if (ts >= MIDNIGHT + 10 * STEP && i % 97 == 0)
			ts = MIDNIGHT - 1500000000LL + (int64_t)i;
		in[i].ts = ts;
	}
	nsym_used = 7;
}

static void setup(void)
{
	struct tkj_file_ref *files;
	int n;

	pt_tmpdir(dir, sizeof(dir), "query");
	make_input();
	pt_write(dir, 0, in, N, 0, NULL);
	n = pt_files(dir, &files);
	cr_assert_eq(n, 2, "a file per day: %d", n);
	cr_assert_eq(files[0].day, PT_DAY0);
	cr_assert_eq(files[1].day, PT_DAY0 + 1);
	cr_assert_eq(files[0].first_seq, 1);
	/* the first record at or past midnight opened the second file */
	cr_assert_eq(files[1].first_seq, 1 + (uint64_t)((MIDNIGHT - T_FIRST + STEP - 1) / STEP));
	free(files);
}

static void teardown(void)
{
	pt_rmrf(dir);
}

TestSuite(query, .init = setup, .fini = teardown);

/* What a query gave. */
struct got {
	uint64_t seq[N];
	size_t n;
	int stop_at; /* stop after this many (0: never) */
};

static int collect(void *ctx, const void *slot, uint32_t rs, const char *symbol, const char *log)
{
	struct got *g = ctx;
	const struct pt_slot *s = slot;
	uint8_t want[64];
	size_t i;

	cr_assert_eq(rs, 64);
	cr_assert_str_eq(log, "ticks.0");
	cr_assert_geq(s->seq, 1);
	cr_assert_leq(s->seq, N);
	i = s->seq - 1;
	pt_tick(want, 64, in[i].seq, in[i].sym, in[i].ts);
	cr_assert_eq(memcmp(slot, want, 64), 0, "record %" PRIu64 " as written", s->seq);
	cr_assert_not_null(symbol, "record %" PRIu64 " without its symbol's name", s->seq);
	cr_assert_str_eq(symbol, pt_symbol_names[in[i].sym]);
	cr_assert_lt(g->n, N);
	g->seq[g->n++] = s->seq;
	if (g->stop_at != 0 && (int)g->n == g->stop_at)
		return 42;
	return 0;
}

static struct got got, want;

/* The input filtered: symbol (NULL any), [from, to), limit. */
static void expected(const char *symbol, int64_t from, int64_t to, uint64_t limit)
{
	size_t i;

	want.n = 0;
	for (i = 0; i < N; i++) {
		if (symbol != NULL && strcmp(pt_symbol_names[in[i].sym], symbol) != 0)
			continue;
		if (in[i].ts < from || in[i].ts >= to)
			continue;
		want.seq[want.n++] = in[i].seq;
		if (limit != 0 && want.n == limit)
			break;
	}
}

static int run(const char *symbol, int64_t from, int64_t to, uint64_t limit, int32_t late,
	       struct tkj_query_stats *st)
{
	struct tkj_query q = { .dir = dir,
			       .stream = "ticks",
			       .symbol = symbol,
			       .from_ns = from,
			       .to_ns = to,
			       .limit = limit,
			       .late_days = late };

	memset(&got, 0, sizeof(got));
	return tkj_query_run(&q, collect, &got, st);
}

static void same(const char *what)
{
	size_t i;

	cr_assert_eq(got.n, want.n, "%s: %zu records, want %zu", what, got.n, want.n);
	for (i = 0; i < got.n; i++)
		cr_assert_eq(got.seq[i], want.seq[i], "%s: record %zu is %" PRIu64 ", want %" PRIu64,
			     what, i, got.seq[i], want.seq[i]);
}

/* Blocks in the data files, by an independent walk. */
static uint64_t total_blocks(void)
{
	struct tkj_file_ref *files;
	struct pt_block *b = malloc(512 * sizeof(*b));
	uint64_t total = 0;
	int n = pt_files(dir, &files), i;

	for (i = 0; i < n; i++) {
		size_t size;
		uint8_t *f = pt_slurp(files[i].path, &size);

		total += pt_walk(f, size, b, 512);
		free(f);
	}
	free(files);
	free(b);
	return total;
}

Test(query, everything)
{
	struct tkj_query_stats st;

	cr_assert_eq(run(NULL, INT64_MIN, INT64_MAX, 0, 1, &st), 0, "%s", tk_err_msg());
	expected(NULL, INT64_MIN, INT64_MAX, 0);
	cr_assert_eq(want.n, N);
	same("all");
	cr_assert_eq(st.records, N);
	cr_assert_eq(st.files, 2);
	cr_assert_eq(st.blocks, total_blocks());
	cr_assert_eq(st.blocks_skipped, 0);
	cr_assert_eq(st.bad_blocks, 0);
}

Test(query, one_symbol)
{
	struct tkj_query_stats st;
	static const char *syms[] = { "AAPL", "MSFT", "BINANCE:BTCUSDT", "IC MARKETS:1", "TSLA" };
	size_t i;

	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		cr_assert_eq(run(syms[i], INT64_MIN, INT64_MAX, 0, 1, &st), 0, "%s", tk_err_msg());
		expected(syms[i], INT64_MIN, INT64_MAX, 0);
		cr_assert_gt(want.n, 10, "%s is in the input", syms[i]);
		same(syms[i]);
		cr_assert_eq(st.records, want.n);
	}
	/* TSLA trades only after midnight: the first day's file is skipped whole */
	cr_assert_eq(run("TSLA", INT64_MIN, INT64_MAX, 0, 1, &st), 0);
	cr_assert_eq(st.files, 2);
	cr_assert_eq(st.files_skipped, 1, "the first day's dictionary has no TSLA");
	cr_assert_gt(st.blocks_skipped, 0);
}

Test(query, an_unknown_symbol_reads_no_block)
{
	struct tkj_query_stats st;

	cr_assert_eq(run("ZZZ", INT64_MIN, INT64_MAX, 0, 1, &st), 0);
	cr_assert_eq(got.n, 0);
	cr_assert_eq(st.records, 0);
	cr_assert_eq(st.blocks, 0);
	cr_assert_eq(st.blocks_skipped, total_blocks());
	cr_assert_eq(st.files_skipped, 2);
}

Test(query, symbol_and_time_range_across_midnight)
{
	struct tkj_query_stats st;
	int64_t from = MIDNIGHT - 30LL * 1000000000LL, to = MIDNIGHT + 30LL * 1000000000LL;

	cr_assert_eq(run("BINANCE:BTCUSDT", from, to, 0, 1, &st), 0, "%s", tk_err_msg());
	expected("BINANCE:BTCUSDT", from, to, 0);
	cr_assert_gt(want.n, 10);
	same("BTCUSDT around midnight");
	cr_assert_gt(st.blocks_skipped, 0);
	cr_assert_eq(run(NULL, from, to, 0, 1, &st), 0);
	expected(NULL, from, to, 0);
	same("all around midnight");
}

Test(query, bounds_are_from_inclusive_to_exclusive)
{
	struct tkj_query_stats st;
	int64_t from = in[100].ts, to = in[200].ts;

	cr_assert_eq(run(NULL, from, to, 0, 1, &st), 0);
	expected(NULL, from, to, 0);
	cr_assert_eq(want.n, 100);
	cr_assert_eq(want.seq[0], 101);
	cr_assert_eq(want.seq[99], 200);
	same("[ts 100, ts 200)");
	cr_assert_eq(run(NULL, from, from, 0, 1, &st), 0);
	cr_assert_eq(got.n, 0, "an empty range");
	cr_assert_eq(run(NULL, from, from + 1, 0, 1, &st), 0);
	cr_assert_eq(got.n, 1);
	cr_assert_eq(got.seq[0], 101);
}

/* The late records (stamped before midnight, written after it) sit in the
 * second day's file: late_days 1 finds them for a range of the first day,
 * late_days 0 does not look there. */
Test(query, late_records_and_late_days)
{
	struct tkj_query_stats st;
	int64_t from = MIDNIGHT - 2LL * 1000000000LL, to = MIDNIGHT;
	size_t i, late = 0;

	expected(NULL, from, to, 0);
	for (i = 0; i < want.n; i++)
		late += in[want.seq[i] - 1].seq > 1 + (uint64_t)((MIDNIGHT - T_FIRST) / STEP);
	cr_assert_gt(late, 5, "the range holds late records (%zu)", late);
	cr_assert_eq(run(NULL, from, to, 0, 1, &st), 0);
	same("late_days 1");
	cr_assert_eq(st.files, 2);
	cr_assert_eq(run(NULL, from, to, 0, 0, &st), 0);
	cr_assert_eq(st.files, 1);
	cr_assert_eq(got.n, want.n - late, "late_days 0: only the first day's file");
}

Test(query, limit)
{
	struct tkj_query_stats st;

	cr_assert_eq(run(NULL, INT64_MIN, INT64_MAX, 10, 1, &st), 0);
	expected(NULL, INT64_MIN, INT64_MAX, 10);
	same("limit 10");
	cr_assert_eq(st.records, 10);
	cr_assert_eq(st.blocks, 1, "the first block had them");
	cr_assert_eq(run("AAPL", MIDNIGHT, INT64_MAX, 5, 1, &st), 0);
	expected("AAPL", MIDNIGHT, INT64_MAX, 5);
	same("AAPL after midnight, limit 5");
	cr_assert_eq(run("MSFT", INT64_MIN, INT64_MAX, 100000, 1, &st), 0);
	expected("MSFT", INT64_MIN, INT64_MAX, 0);
	same("a limit above the count");
	/* the callback stops it: its value comes back */
	memset(&got, 0, sizeof(got));
	got.stop_at = 7;
	{
		struct tkj_query q = { .dir = dir, .stream = "ticks", .from_ns = INT64_MIN,
				       .to_ns = INT64_MAX, .late_days = 1 };

		cr_assert_eq(tkj_query_run(&q, collect, &got, &st), 42);
	}
	cr_assert_eq(got.n, 7);
	cr_assert_eq(got.seq[6], 7);
}

Test(query, a_narrow_range_reads_few_blocks)
{
	struct tkj_query_stats st;
	int64_t from = T_FIRST + 30LL * 1000000000LL, to = from + 500000000LL; /* 23:58:30, 0.5 s */
	uint64_t total = total_blocks();

	cr_assert_geq(total, 20);
	cr_assert_eq(run(NULL, from, to, 0, 1, &st), 0);
	expected(NULL, from, to, 0);
	cr_assert_eq(want.n, 7, "0.5 s of records 73 ms apart");
	same("0.5 s");
	cr_assert_leq(st.blocks, 2, "%" PRIu64 " blocks read", st.blocks);
	cr_assert_geq(st.blocks, 1);
	cr_assert_eq(st.blocks + st.blocks_skipped, total, "every block read or skipped");
	cr_assert_gt(st.blocks_skipped, 0);
}

/* Without indexes (a reader without write permission cannot rebuild them)
 * the answers are the same, from the data. */
Test(query, without_the_indexes)
{
	struct tkj_query_stats st;
	struct tkj_file_ref *files;
	char ipath[1100];
	int n = pt_files(dir, &files), i;
	int64_t from = T_FIRST + 30LL * 1000000000LL, to = from + 500000000LL;

	for (i = 0; i < n; i++) {
		tkj_index_path(files[i].path, ipath, sizeof(ipath));
		cr_assert_eq(unlink(ipath), 0);
	}
	free(files);
	cr_assert_eq(run(NULL, INT64_MIN, INT64_MAX, 0, 1, &st), 0);
	expected(NULL, INT64_MIN, INT64_MAX, 0);
	same("all, no index");
	cr_assert_eq(run("MSFT", from - 20LL * 1000000000LL, MIDNIGHT + 60LL * 1000000000LL, 0, 1,
			 &st),
		     0);
	expected("MSFT", from - 20LL * 1000000000LL, MIDNIGHT + 60LL * 1000000000LL, 0);
	same("MSFT, no index");
	cr_assert_eq(run(NULL, from, to, 0, 1, &st), 0);
	expected(NULL, from, to, 0);
	same("0.5 s, no index");
	cr_assert_gt(st.blocks_skipped, 0);
	cr_assert_eq(st.blocks + st.blocks_skipped, total_blocks(), "every block read or skipped");
	cr_assert_eq(run("TSLA", INT64_MIN, INT64_MAX, 0, 1, &st), 0);
	expected("TSLA", INT64_MIN, INT64_MAX, 0);
	same("TSLA, no index");
	cr_assert_eq(st.files_skipped, 1);
	cr_assert_eq(st.blocks + st.blocks_skipped, total_blocks(), "every block read or skipped");
}

/* A block that fails its check: the records before it are given, the rest
 * of its file skipped, the next file read, and -EBADMSG at the end. */
Test(query, a_bad_block_is_reported)
{
	struct tkj_query_stats st;
	struct tkj_file_ref *files;
	struct pt_block b[64];
	size_t size, nb, i, k = 0;
	uint8_t *f;
	int n = pt_files(dir, &files);

	cr_assert_eq(n, 2);
	f = pt_slurp(files[0].path, &size);
	nb = pt_walk(f, size, b, 64);
	cr_assert_geq(nb, 4);
	f[b[3].off + 200] ^= 0x40;
	pt_spit(files[0].path, f, size);
	free(f);
	cr_assert_eq(run(NULL, INT64_MIN, INT64_MAX, 0, 1, &st), -EBADMSG);
	cr_assert_eq(st.bad_blocks, 1);
	want.n = 0;
	for (i = 0; i < N; i++)
		if (in[i].seq < b[3].first || in[i].seq >= files[1].first_seq)
			want.seq[want.n++] = in[i].seq;
	same("all but the bad block and the rest of its file");
	for (i = 0; i < got.n; i++)
		k += got.seq[i] >= files[1].first_seq;
	cr_assert_gt(k, 0, "the second file was read");
	free(files);
}

Test(query, parse_and_streams)
{
	char list[256];

	cr_assert_eq(tkj_query_streams(dir, list, sizeof(list)), 0);
	cr_assert_str_eq(list, "ticks");
	{
		struct tkj_query_stats st;
		struct tkj_query q = { .dir = dir, .stream = "bars.1m", .from_ns = INT64_MIN,
				       .to_ns = INT64_MAX, .late_days = 1 };

		memset(&got, 0, sizeof(got));
		cr_assert_eq(tkj_query_run(&q, collect, &got, &st), 0, "a stream with no files");
		cr_assert_eq(got.n, 0);
		cr_assert_eq(st.files, 0);
	}
}

/*
 * The same bad block, but the file has no index: the query reads the data
 * block by block (the tail loop of tkj__query_file).  files[0] is not its
 * log's newest (the day rolled), so a block that fails there is damage,
 * not a block in flight: -EBADMSG, counted (it once stopped the file
 * without a word).
 */
Test(query, a_bad_block_without_an_index_is_reported)
{
	struct tkj_query_stats st;
	struct tkj_file_ref *files;
	struct pt_block b[64];
	char ipath[1100];
	size_t size, nb;
	uint8_t *f;
	int n = pt_files(dir, &files), i;

	f = pt_slurp(files[0].path, &size);
	nb = pt_walk(f, size, b, 64);
	cr_assert_geq(nb, 4);
	f[b[3].off + 200] ^= 0x40;
	pt_spit(files[0].path, f, size);
	free(f);
	for (i = 0; i < n; i++) {
		tkj_index_path(files[i].path, ipath, sizeof(ipath));
		cr_assert_eq(unlink(ipath), 0);
	}
	free(files);
	cr_assert_eq(run(NULL, INT64_MIN, INT64_MAX, 0, 1, &st), -EBADMSG);
	cr_assert_eq(st.bad_blocks, 1);
}

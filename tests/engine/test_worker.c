#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/err.h"
#include "engine/checkpoint.h"
#include "engine/worker.h"
#include "shm/records.h"
#include "tests/helpers.h"

#define S(x) ((int64_t)((x) * 1e9 + 0.5))
#define T0 S(1704205800) /* a UTC minute boundary */

static struct tk_segment seg;
static char path[128];
static struct tk_worker w;
static struct tk_worker_cfg cfg;
static int32_t aapl, msft;
static uint64_t seq;

static void setup(void)
{
	struct tk_seg_config c;

	tk_seg_config_default(&c);
	c.symbol_capacity = 256;
	c.state_record_size = (uint32_t)((sizeof(struct tk_live) + TK_STATE_HEADER + 63) & ~63ul);
	c.history.symbols = 8;
	c.history.ntf = 1;
	c.history.tf_ns[0] = TK_NS_PER_S;
	c.history.depth[0] = 16;
	tk_seg_config_add_log(&c, "ticks.0", 1024, 64, 4);
	tk_seg_config_add_log(&c, "bars.1s", 1024, 256, 4);
	tk_seg_config_add_log(&c, "bars.1m", 1024, 256, 4);
	tk_seg_config_add_log(&c, "signals", 1024, 128, 4);
	cr_assert_eq(tk_segment_create(&seg, tk_test_path(path, sizeof(path), "wk"), &c, true), 0,
		     "%s", tk_err_msg());
	tk_worker_cfg_default(&cfg);
	cfg.ntf = (uint32_t)tk_timeframes_parse("1s,1m", cfg.tf_ns, TK_MAX_TF);
	cfg.pct_tf_mask = 2;
	cr_assert_eq(tk_worker_open(&w, &seg, &cfg), 0, "%s", tk_err_msg());
	aapl = tk_symtab_intern(tk_symtab_of(&seg), "AAPL", 4);
	msft = tk_symtab_intern(tk_symtab_of(&seg), "MSFT", 4);
	seq = 0;
}

/* The worker's checkpoint file. */
static const char *checkpoint_path(void)
{
	static char ck[sizeof(path) + 16];

	snprintf(ck, sizeof(ck), "%s.engine.0", path);
	return ck;
}

static void teardown(void)
{
	tk_worker_close(&w);
	tk_segment_detach(&seg);
	unlink(path);
	unlink(checkpoint_path());
}

TestSuite(worker, .init = setup, .fini = teardown);

static void tick(int32_t id, int64_t ts, double price, double size)
{
	struct tk_slot s = { .seq = ++seq, .type = TK_REC_TICK, .aux = (uint32_t)id };
	struct tk_tick t = { .ts_ns = ts, .price = price, .size = size };

	memcpy(s.data, &t, sizeof(t));
	tk_worker_apply(&w, &s);
}

static void heartbeat(int64_t clock, uint32_t flags)
{
	struct tk_slot s = { .seq = ++seq, .type = TK_REC_HEARTBEAT };
	struct tk_heartbeat h = { .clock_ns = clock, .flags = flags };

	memcpy(s.data, &h, sizeof(h));
	tk_worker_apply(&w, &s);
}

/* Read every bar record of a log from the start. */
static int bars(const char *log, struct tk_bar_rec *out, int32_t *ids, int max)
{
	struct tk_reader_opts o = { .start = TK_START_OLDEST };
	struct tk_log_reader r;
	uint8_t buf[256];
	int n = 0;

	cr_assert_eq(tk_log_reader_open(&r, &seg, log, &o), 0);
	while (n < max && tk_log_read(&r, (struct tk_slot *)buf) == TK_LOG_OK) {
		memcpy(&out[n], buf + 16, sizeof(out[n]));
		ids[n++] = (int32_t)((struct tk_slot *)buf)->aux;
	}
	return n;
}

static struct tk_live live_of(int32_t id)
{
	struct tk_live l;

	cr_assert_eq(tk_state_read(tk_state_of(&seg), (uint32_t)id, &l, sizeof(l)), 0);
	return l;
}

Test(worker, an_idle_symbol_closes_its_bars_on_heartbeats)
{
	struct tk_bar_rec b[8];
	int32_t ids[8];

	tick(aapl, T0 + S(10.5), 100, 1);
	tick(aapl, T0 + S(10.7), 101, 3);
	heartbeat(T0 + S(12.999), 0);
	cr_assert_eq(bars("bars.1s", b, ids, 8), 0, "window 10 closes at 13 s");
	heartbeat(T0 + S(13), 0);
	cr_assert_eq(bars("bars.1s", b, ids, 8), 1);
	cr_assert_eq(ids[0], aapl);
	cr_assert_eq(b[0].window_start, T0 + S(10));
	cr_assert_eq(b[0].open, 100);
	cr_assert_eq(b[0].close, 101);
	cr_assert_eq(b[0].volume, 4);
	cr_assert_eq(b[0].vwap, 100.75);
	cr_assert_eq(b[0].trade_count, 2);
	cr_assert(isnan(b[0].ind.sma_fast));
	cr_assert_eq(bars("bars.1m", b, ids, 8), 0);
	heartbeat(T0 + S(62), 0);
	cr_assert_eq(bars("bars.1m", b, ids, 8), 1, "the 1m window closes at 62 s");
	cr_assert_eq(b[0].window_start, T0);
	{
		struct tk_hist_bar hb[4];

		cr_assert_eq(tk_history_read(tk_history_of(&seg), 0, (uint32_t)aapl, hb, 4), 1,
			     "the closed 1s bar is in the history");
		cr_assert_eq(hb[0].window_start, T0 + S(10));
		cr_assert_eq(hb[0].vwap, 100.75);
	}
}

Test(worker, late_trades_are_dropped_and_counted)
{
	struct tk_bar_rec b[8];
	int32_t ids[8];
	struct tk_live l;

	tick(aapl, T0 + S(10.5), 100, 1);
	heartbeat(T0 + S(13), 0);
	tick(aapl, T0 + S(10.9), 50, 7); /* its 1s window closed at 13: late there */
	l = live_of(aapl);
	cr_assert_eq(l.late, 1, "late in 1s, on time in 1m");
	cr_assert_eq(l.trades, 2);
	cr_assert_eq(w.stats.late, 1);
	cr_assert_eq(bars("bars.1s", b, ids, 8), 1);
	cr_assert_eq(b[0].volume, 1, "the late trade never reaches the closed bar");
	heartbeat(T0 + S(62), 0);
	cr_assert_eq(bars("bars.1m", b, ids, 8), 1);
	cr_assert_eq(b[0].volume, 8);
	cr_assert_eq(b[0].low, 50);
}

Test(worker, live_state_holds_the_last_trade_the_day_and_the_open_bars)
{
	struct tk_live l;

	tick(aapl, T0 + S(1), 100, 10);
	tick(aapl, T0 + S(2), 104, 5);
	tick(aapl, T0 + S(1.5), 99, 1); /* earlier event time: not the last trade */
	l = live_of(aapl);
	cr_assert_eq(l.last_price, 104);
	cr_assert_eq(l.last_size, 5);
	cr_assert_eq(l.last_seq, 3);
	cr_assert_eq(l.day_open, 100);
	cr_assert_eq(l.day_high, 104);
	cr_assert_eq(l.day_low, 99);
	cr_assert_eq(l.day_volume, 16);
	cr_assert(isnan(l.prev_close), "no previous day");
	cr_assert_eq(l.open_bar[1].window_start, T0);
	cr_assert_eq(l.open_bar[1].open, 100);
	cr_assert_eq(l.open_bar[1].close, 104);
	cr_assert_eq(l.open_bar[1].trade_count, 3);
	cr_assert_eq(l.open_bar[1].pv, 100.0 * 10 + 104 * 5 + 99 * 1, "pv of the open 1m bar");
	/* The next UTC day: the previous close and the change. */
	tick(aapl, T0 + S(86400), 102, 1);
	l = live_of(aapl);
	cr_assert_eq(l.prev_close, 104);
	cr_assert_eq(l.change, -2);
	cr_assert_float_eq(l.change_pct, -200.0 / 104, 1e-12);
	cr_assert_eq(l.day_open, 102);
}

Test(worker, indicators_and_pct_change_signals_on_closed_bars)
{
	struct tk_bar_rec b[64];
	int32_t ids[64];
	int i, n;

	/* A 1m bar from 100 to 102: +2 %, beyond the 1 % threshold. */
	tick(msft, T0 + S(5), 100, 1);
	tick(msft, T0 + S(50), 102, 1);
	heartbeat(T0 + S(62), 0);
	n = bars("signals", b, ids, 64);
	for (i = 0; i < n; i++) {
		struct tk_signal_rec s;

		memcpy(&s, &b[i], sizeof(s));
		if (s.kind == TK_SIGNAL_PCT_CHANGE) {
			cr_assert_eq(ids[i], msft);
			cr_assert_eq(s.tf_ns, 60 * TK_NS_PER_S);
			cr_assert_float_eq(s.pct_change, 0.02, 1e-12);
			cr_assert_eq(s.ts_ns, T0 + S(60));
			return;
		}
	}
	cr_assert_fail("no pct_change signal among %d", n);
}

Test(worker, open_bars_leave_the_live_record_when_they_close)
{
	struct tk_live l;

	tick(aapl, T0 + S(1.2), 100, 10);
	l = live_of(aapl);
	cr_assert_eq(l.open_bar[0].window_start, T0 + S(1));
	cr_assert_eq(l.open_bar[0].open_ts, T0 + S(1.2));
	heartbeat(T0 + S(4), 0);
	l = live_of(aapl);
	cr_assert_eq(l.open_bar[0].trade_count, 0, "the 1 s bar closed: no open bar");
	cr_assert_eq(l.last[0].window_start, T0 + S(1), "it is the last closed one");
	cr_assert_eq(l.last[0].close, 100);
	cr_assert_eq(l.open_bar[1].trade_count, 1, "the 1 m bar is still open");
}

Test(worker, a_restart_applies_again_what_no_checkpoint_held_without_counting_it_twice)
{
	struct tk_live l;

	tick(aapl, T0 + S(1), 100, 10);
	tick(aapl, T0 + S(1.5), 101, 5);
	/* Killed before its first checkpoint: the next worker applies the same
	 * ticks to a live record that already holds them. */
	tk_worker_close(&w);
	cr_assert_eq(tk_worker_open(&w, &seg, &cfg), 0, "%s", tk_err_msg());
	seq = 0;
	tick(aapl, T0 + S(1), 100, 10);
	tick(aapl, T0 + S(1.5), 101, 5);
	l = live_of(aapl);
	cr_assert_eq(l.trades, 2);
	cr_assert_eq(l.day_volume, 15);
	cr_assert_eq(l.open_bar[0].trade_count, 2);
	cr_assert_eq(l.open_bar[0].volume, 15);
	cr_assert_eq(l.open_bar[1].pv, 100.0 * 10 + 101 * 5);
}

Test(worker, end_of_stream_closes_every_open_bar)
{
	struct tk_bar_rec b[8];
	int32_t ids[8];

	tick(aapl, T0 + S(1), 100, 1);
	tick(msft, T0 + S(1.2), 200, 1);
	heartbeat(T0 + S(1.3), TK_HEARTBEAT_F_END);
	cr_assert_eq(bars("bars.1s", b, ids, 8), 2);
	cr_assert_eq(ids[0], aapl, "symbols close in id order");
	cr_assert_eq(ids[1], msft);
	cr_assert_eq(bars("bars.1m", b, ids, 8), 2);
}

Test(worker, a_worker_names_the_log_its_shard_lacks_and_shards_are_stable)
{
	struct tk_worker w2;
	struct tk_worker_cfg c2 = cfg;
	uint32_t mine = tk_shard_of("AAPL", 2);

	tk_worker_close(&w);
	c2.shards = 2;
	c2.shard = 1 - mine;
	/* The segment has no bars.1s.1: the worker says what is missing. */
	cr_assert_lt(tk_worker_open(&w2, &seg, &c2), 0);
	cr_assert(strstr(tk_err_msg(), "bars.1s") != NULL, "%s", tk_err_msg());
	cr_assert_eq(tk_shard_of("AAPL", 2), mine, "stable");
	cr_assert_eq(tk_worker_open(&w, &seg, &cfg), 0);
}

/* The active set is a bitmap walked a word (64 ids) at a time beside the
 * arrival order: ids in three words, first traded in a scrambled order,
 * still close in id order, each with its own values; and the same after a
 * checkpoint and a restart, which rebuilds the set from the file. */
static int32_t many[200];

static void trade_scrambled(int64_t at)
{
	int i;

	/* 37 is prime to 200: every index once, far from id order. */
	for (i = 0; i < 200; i++) {
		int k = (i * 37 + 11) % 200;

		tick(many[k], at + S(0.001) * i, 100 + k, 1 + k % 5);
	}
}

static void check_closed_in_id_order(const struct tk_bar_rec *b, const int32_t *ids, int n,
				     int from, int64_t window)
{
	int i;

	for (i = 0; i < 200; i++) {
		int32_t want = many[i];
		int k = from + i;

		cr_assert_lt(k, n);
		cr_assert_eq(ids[k], want, "bar %d: id %d, expected %d", k, ids[k], want);
		cr_assert_eq(b[k].window_start, window);
		cr_assert_eq(b[k].open, 100 + i);
		cr_assert_eq(b[k].volume, 1 + i % 5);
		cr_assert_eq(b[k].trade_count, 1);
	}
}

Test(worker, symbols_past_one_bitmap_word_first_traded_out_of_order_close_in_id_order)
{
	static struct tk_bar_rec b[600];
	static int32_t ids[600];
	char name[8];
	int i, n;

	/* AAPL and MSFT hold ids 0 and 1: many[0..1] are them. */
	many[0] = aapl;
	many[1] = msft;
	for (i = 2; i < 200; i++) {
		snprintf(name, sizeof(name), "S%03d", i);
		many[i] = tk_symtab_intern(tk_symtab_of(&seg), name, strlen(name));
		cr_assert_eq(many[i], i, "ids are given in order");
	}
	trade_scrambled(T0 + S(1));
	heartbeat(T0 + S(4), 0); /* window 1 s closes 2 s (the lateness) after its end */
	n = bars("bars.1s", b, ids, 600);
	cr_assert_eq(n, 200, "one 1s bar a symbol, %d", n);
	check_closed_in_id_order(b, ids, n, 0, T0 + S(1));

	/* A checkpoint, then a restart that loads it: the set comes back. */
	cr_assert_eq(tk_ckpt_save(&w), 0, "%s", tk_err_msg());
	tk_worker_close(&w);
	cr_assert_eq(tk_worker_open(&w, &seg, &cfg), 0, "%s", tk_err_msg());
	cr_assert(w.restored, "the checkpoint was loaded");
	cr_assert_eq(w.nactive, 200);
	trade_scrambled(T0 + S(4));
	heartbeat(T0 + S(7), 0);
	n = bars("bars.1s", b, ids, 600);
	cr_assert_eq(n, 400, "%d", n);
	check_closed_in_id_order(b, ids, n, 200, T0 + S(4));
}

/* A delta holds a changed symbol's indicator state only for the timeframes
 * a bar close changed (1.6 KB each: most of the entry). */
static off_t checkpoint_bytes(void)
{
	struct stat st;

	cr_assert_eq(stat(checkpoint_path(), &st), 0);
	return st.st_size;
}

/* A whole snapshot now (a worker's next checkpoint is one when it knows no
 * file: tk_ckpt_save). */
static void snapshot(void)
{
	w.ckpt_size = 0;
	cr_assert_eq(tk_ckpt_save(&w), 0, "%s", tk_err_msg());
	cr_assert_eq((uint64_t)checkpoint_bytes(), w.ckpt_base_size, "a snapshot");
}

/* What a saved indicator state of n <= 19 bars takes with the default
 * periods (every ring keeps at least 19 values): its count, n values of
 * each of the three rings, its scalars. */
static off_t saved_ind_bytes(uint64_t n)
{
	return (off_t)(sizeof(uint64_t) + 3 * n * sizeof(double) +
		       (sizeof(struct tk_ind_state) - offsetof(struct tk_ind_state, ema_fast)));
}

Test(worker, a_delta_carries_only_the_indicator_states_a_close_changed)
{
	off_t base, d0, d1, d2;

	/* Deltas on a snapshot that holds AAPL. */
	tick(aapl, T0 + S(1), 100, 1);
	tick(aapl, T0 + S(1.2), 100, 1);
	snapshot();
	base = checkpoint_bytes();
	cr_assert_eq((uint64_t)base, w.ckpt_base_size, "a snapshot");

	cr_assert_eq(tk_ckpt_save(&w), 0, "%s", tk_err_msg());
	d0 = checkpoint_bytes() - base; /* a delta of no symbol: its headers */
	tick(aapl, T0 + S(1.5), 101, 1); /* the same windows: no close */
	cr_assert_eq(tk_ckpt_save(&w), 0, "%s", tk_err_msg());
	d1 = checkpoint_bytes() - base - d0;
	cr_assert_gt(d1, d0, "a delta with AAPL");
	cr_assert_lt(d1 - d0, (off_t)sizeof(struct tk_ind_state),
		     "AAPL's entry without closes: %lld bytes", (long long)(d1 - d0));
	heartbeat(T0 + S(4), 0); /* the 1 s window closes, the 1 m one does not */
	cr_assert_eq(tk_ckpt_save(&w), 0, "%s", tk_err_msg());
	d2 = checkpoint_bytes() - base - d0 - d1;
	cr_assert_eq((uint64_t)base, w.ckpt_base_size, "still deltas on that snapshot");
	cr_assert_eq(d2 - d1, saved_ind_bytes(1),
		     "one indicator state of one bar more than the delta without a close: %lld, %lld",
		     (long long)d2, (long long)d1);
	/* A restart from those deltas has the 1 s bar's indicator state. */
	tk_worker_close(&w);
	cr_assert_eq(tk_worker_open(&w, &seg, &cfg), 0, "%s", tk_err_msg());
	cr_assert(w.restored);
	cr_assert_eq(w.ind[0][aapl].nbars, 1);
	cr_assert_eq(w.ind[1][aapl].nbars, 0);
	cr_assert_eq(w.ind[0][aapl].closes[0], 101);
}

/* A checkpoint file removed from outside: the delta that finds it gone
 * fails (the cursors stay), the next checkpoint is a whole snapshot, and a
 * restart loads it. */
Test(worker, a_checkpoint_removed_from_outside_is_made_anew_as_a_snapshot)
{
	char ck[sizeof(path) + 16];

	snprintf(ck, sizeof(ck), "%s.engine.0", path);
	tick(aapl, T0 + S(1), 100, 1);
	cr_assert_eq(tk_ckpt_save(&w), 0, "%s", tk_err_msg());
	tick(aapl, T0 + S(1.1), 100, 1);
	cr_assert_eq(tk_ckpt_save(&w), 0, "%s", tk_err_msg()); /* a snapshot (see above) */
	cr_assert_eq(unlink(ck), 0);
	tick(aapl, T0 + S(1.2), 102, 2);
	cr_assert_lt(tk_ckpt_save(&w), 0, "a delta to a file that is gone");
	cr_assert(strstr(tk_err_msg(), "whole snapshot") != NULL, "%s", tk_err_msg());
	cr_assert_eq(tk_ckpt_save(&w), 0, "%s", tk_err_msg());
	cr_assert_eq(access(ck, F_OK), 0, "made anew");
	cr_assert_eq((uint64_t)checkpoint_bytes(), w.ckpt_base_size, "as a snapshot");
	tk_worker_close(&w);
	cr_assert_eq(tk_worker_open(&w, &seg, &cfg), 0, "%s", tk_err_msg());
	cr_assert(w.restored);
	cr_assert_eq(live_of(aapl).open_bar[0].volume, 4);
	cr_assert_eq(live_of(aapl).open_bar[0].close, 102);
}

/* FNV-1a 64, as the TKDELTA1 deltas of earlier versions are summed. */
static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	while (n-- > 0)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

/* The checkpoint file's bytes. */
static uint8_t *checkpoint_file(size_t *size)
{
	uint8_t *buf;
	FILE *f;

	*size = (size_t)checkpoint_bytes();
	buf = malloc(*size);
	f = fopen(checkpoint_path(), "rb");
	cr_assert(buf != NULL && f != NULL);
	cr_assert_eq(fread(buf, 1, *size, f), *size);
	fclose(f);
	return buf;
}

static void checkpoint_file_put(const uint8_t *buf, size_t size)
{
	FILE *f = fopen(checkpoint_path(), "wb");

	cr_assert(f != NULL);
	cr_assert_eq(fwrite(buf, 1, size, f), size);
	fclose(f);
}

/* The worker restarted on a checkpoint file of these bytes. */
static void restart_on(const uint8_t *buf, size_t size)
{
	tk_worker_close(&w);
	checkpoint_file_put(buf, size);
	cr_assert_eq(tk_worker_open(&w, &seg, &cfg), 0, "%s", tk_err_msg());
	cr_assert(w.restored);
}

/* A delta is summed with CRC-32C (TKDELTA2); one written by an earlier
 * version (TKDELTA1, FNV-1a 64) still loads; one whose bytes do not match
 * its sum is where the file ends (a torn append). */
Test(worker, deltas_of_either_sum_load_and_a_damaged_one_is_the_end)
{
	uint8_t *buf;
	size_t size, at;
	uint64_t dsize, sum;

	tick(aapl, T0 + S(1), 100, 1);
	tick(aapl, T0 + S(1.2), 100, 1);
	snapshot();
	at = (size_t)w.ckpt_base_size;
	tick(aapl, T0 + S(1.5), 103, 2);
	cr_assert_eq(tk_ckpt_save(&w), 0, "%s", tk_err_msg()); /* a delta */
	buf = checkpoint_file(&size);
	cr_assert_eq(memcmp(buf + at, "TKDELTA2", 8), 0);
	memcpy(&dsize, buf + at + 8, 8);
	memcpy(&sum, buf + at + 16, 8);
	cr_assert_eq(at + 24 + dsize, size, "one delta after the snapshot");
	cr_assert_eq(sum, tk_crc32c(0, buf + at + 24, dsize), "its CRC-32C");

	/* A byte of it changed: its CRC says so, the snapshot alone loads. */
	buf[at + 24 + dsize / 3] ^= 0x08;
	restart_on(buf, size);
	cr_assert_eq(w.ckpt_deltas, 0, "the damaged TKDELTA2 delta is not loaded");
	cr_assert_eq((uint64_t)checkpoint_bytes(), (uint64_t)at, "and trimmed away");
	cr_assert_eq(live_of(aapl).open_bar[0].volume, 2, "the snapshot's state");
	buf[at + 24 + dsize / 3] ^= 0x08;

	/* As an earlier version wrote it. */
	memcpy(buf + at, "TKDELTA1", 8);
	sum = fnv1a64(buf + at + 24, dsize);
	memcpy(buf + at + 16, &sum, 8);
	restart_on(buf, size);
	cr_assert_eq(w.ckpt_deltas, 1, "the FNV-summed delta was loaded");
	cr_assert_eq(live_of(aapl).open_bar[0].volume, 4);
	cr_assert_eq(live_of(aapl).open_bar[0].close, 103);

	/* A byte of it changed: the snapshot alone is loaded, the rest trimmed. */
	buf[at + 24 + dsize / 2] ^= 0x40;
	restart_on(buf, size);
	cr_assert_eq(w.ckpt_deltas, 0, "the damaged delta is not loaded");
	cr_assert_eq((uint64_t)checkpoint_bytes(), (uint64_t)at, "and trimmed away");
	cr_assert_eq(live_of(aapl).open_bar[0].volume, 2, "the snapshot's state");
	free(buf);
}

/* A saved indicator state keeps what the next bars read: after 150 bars
 * (the 64-value rings wrapped twice) a restart has the same count, the
 * same scalars and the same newest 49 closes, 20 volumes and 19 returns,
 * and computes the next bar's indicators bit for bit as the worker that
 * was not restarted. */
Test(worker, a_restart_keeps_the_ring_values_the_next_bars_read)
{
	struct tk_ind_state before;
	struct tk_bar_rec b[1024];
	int32_t ids[1024];
	int i, k, n;

	for (i = 0; i < 150; i++)
		tick(aapl, T0 + S(1 + i), 100 + (i * 37 % 11) * 0.25, 1 + i % 7);
	heartbeat(T0 + S(1 + 150 + 3), 0);
	before = w.ind[0][aapl];
	cr_assert_eq(before.nbars, 150);
	snapshot();
	tk_worker_close(&w);
	cr_assert_eq(tk_worker_open(&w, &seg, &cfg), 0, "%s", tk_err_msg());
	cr_assert(w.restored);
	cr_assert_eq(w.ind[0][aapl].nbars, 150);
	for (k = 0; k < 49; k++)
		cr_assert_eq(w.ind[0][aapl].closes[(149 - k) % TK_IND_HISTORY],
			     before.closes[(149 - k) % TK_IND_HISTORY], "close %d back", k);
	for (k = 0; k < 20; k++)
		cr_assert_eq(w.ind[0][aapl].volumes[(149 - k) % TK_IND_HISTORY],
			     before.volumes[(149 - k) % TK_IND_HISTORY], "volume %d back", k);
	for (k = 0; k < 19; k++)
		cr_assert_eq(w.ind[0][aapl].returns[(149 - k) % TK_IND_HISTORY],
			     before.returns[(149 - k) % TK_IND_HISTORY], "return %d back", k);
	cr_assert_eq(memcmp(&w.ind[0][aapl].ema_fast, &before.ema_fast,
			    sizeof(before) - offsetof(struct tk_ind_state, ema_fast)), 0,
		     "the scalars");
	/* The next bar from the restored state, against the same bar from the
	 * state before (an indicator update is a pure function of both). */
	{
		struct tk_bar bar = { .window_start = T0 + S(200), .open = 101, .high = 102,
				      .low = 100, .close = 101.5, .volume = 9, .pv = 9 * 101.2,
				      .trade_count = 3 };
		struct tk_ind_values va, vb;
		uint32_t sa = tk_ind_update(&w.ind[0][aapl], &cfg.ind, &bar, 0, &va);
		uint32_t sb = tk_ind_update(&before, &cfg.ind, &bar, 0, &vb);

		cr_assert_eq(sa, sb);
		cr_assert_eq(memcmp(&va, &vb, sizeof(va)), 0, "the same indicators, bit for bit");
		cr_assert(!isnan(va.ind.sma_slow) && !isnan(va.ind.volatility) &&
			  !isnan(va.volume_sma), "all of them defined");
	}
	n = bars("bars.1s", b, ids, 1024);
	cr_assert_eq(n, 150);
}

/* A snapshot as versions before the rings' tails wrote it (every indicator
 * state whole, no TK_CKPT_IND_TAILS bit) still loads.  The file of one
 * symbol and two timeframes is rewritten here: its one entry is the end
 * of the file (id, per timeframe a word, the older windows and the state,
 * then the live record's fields, open bars and last bars). */
Test(worker, a_snapshot_with_whole_indicator_states_still_loads)
{
	const size_t live_bytes = offsetof(struct tk_live, open_bar) +
				  2 * sizeof(struct tk_bar) + 2 * sizeof(struct tk_live_ind);
	struct tk_ind_state st[2];
	uint8_t *buf, *old, *q;
	const uint8_t *p;
	size_t size, entry = 8, at, osize;
	uint64_t word[2];
	int i, t;

	for (i = 0; i < 30; i++)
		tick(aapl, T0 + S(1 + i), 100 + i % 5, 1 + i % 3);
	heartbeat(T0 + S(1 + 30 + 3), 0);
	st[0] = w.ind[0][aapl];
	st[1] = w.ind[1][aapl];
	cr_assert_eq(st[0].nbars, 30);
	snapshot();
	buf = checkpoint_file(&size);
	for (t = 0; t < 2; t++) {
		uint64_t n = st[t].nbars;

		entry += 8 + w.older[t][aapl].n * sizeof(struct tk_bar) +
			 (8 + 8 * ((n < 49 ? n : 49) + (n < 20 ? n : 20) + (n < 19 ? n : 19)) +
			  (sizeof(struct tk_ind_state) - offsetof(struct tk_ind_state, ema_fast)));
	}
	entry += live_bytes;
	at = size - entry;
	cr_assert_eq(memcmp(buf + at, &(uint64_t){ (uint64_t)aapl }, 8), 0, "the entry's id");
	osize = size + 2 * sizeof(struct tk_ind_state);
	old = calloc(1, osize);
	memcpy(old, buf, at + 8);
	cr_assert_eq(memcmp(old, "TKCKPT06", 8), 0);
	memcpy(old, "TKCKPT05", 8); /* the version that wrote whole states */
	p = buf + at + 8;
	q = old + at + 8;
	for (t = 0; t < 2; t++) {
		size_t bars = w.older[t][aapl].n * sizeof(struct tk_bar), tails;

		memcpy(&word[t], p, 8);
		cr_assert(word[t] & (1ull << 33), "written with the tails bit");
		word[t] &= ~(1ull << 33);
		memcpy(q, &word[t], 8);
		memcpy(q + 8, p + 8, bars);
		memcpy(q + 8 + bars, &st[t], sizeof(st[t]));
		tails = 8 + 8 * ((st[t].nbars < 49 ? st[t].nbars : 49) +
				 (st[t].nbars < 20 ? st[t].nbars : 20) +
				 (st[t].nbars < 19 ? st[t].nbars : 19)) +
			(sizeof(struct tk_ind_state) - offsetof(struct tk_ind_state, ema_fast));
		p += 8 + bars + tails;
		q += 8 + bars + sizeof(st[t]);
	}
	memcpy(q, p, live_bytes);
	cr_assert_eq(p + live_bytes, buf + size, "the whole entry was read");
	restart_on(old, (size_t)(q + live_bytes - old));
	cr_assert_eq(memcmp(&w.ind[0][aapl], &st[0], sizeof(st[0])), 0, "the 1 s state, whole");
	cr_assert_eq(memcmp(&w.ind[1][aapl], &st[1], sizeof(st[1])), 0, "the 1 m state, whole");
	free(buf);
	free(old);
	/* The next checkpoint rewrites it whole, as TKCKPT06. */
	tick(aapl, T0 + S(40), 100, 1);
	cr_assert_eq(tk_ckpt_save(&w), 0, "%s", tk_err_msg());
	cr_assert_eq((uint64_t)checkpoint_bytes(), w.ckpt_base_size, "a snapshot, not a delta");
	buf = checkpoint_file(&size);
	cr_assert_eq(memcmp(buf, "TKCKPT06", 8), 0);
	free(buf);
}

/* With periods that all differ, a restart after 0, 1, p - 1, p, p + 1 (for
 * each period), 63, 64, 65 and 150 bars keeps what the next 70 bars read:
 * each of them, from the restored state and from the state before, gives
 * the same indicators and signals bit for bit. */
Test(worker, a_restart_at_any_bar_count_computes_the_next_bars_bit_for_bit)
{
	static const int counts[] = { 0, 1, 2, 6, 7, 8, 8, 9, 10, 10, 11, 12, 12, 13, 14, 16, 17,
				      18, 30, 31, 32, 42, 43, 44, 63, 64, 65, 150 };
	enum { NC = sizeof(counts) / sizeof(counts[0]) };
	static struct tk_ind_state before[NC];
	int32_t id[NC];
	int i, j, k, most = 0;

	tk_worker_close(&w);
	unlink(checkpoint_path()); /* the default settings' checkpoint, made at open */
	cfg.ind.sma_fast = 7;
	cfg.ind.sma_slow = 31;
	cfg.ind.ema_fast = 11;
	cfg.ind.ema_slow = 43;
	cfg.ind.rsi = 9;
	cfg.ind.volatility = 13;
	cfg.ind.volume_sma = 17;
	cr_assert_eq(tk_ind_cfg_validate(&cfg.ind), 0, "%s", tk_err_msg());
	cr_assert_eq(tk_worker_open(&w, &seg, &cfg), 0, "%s", tk_err_msg());
	for (j = 0; j < NC; j++) {
		char name[8];

		snprintf(name, sizeof(name), "R%d", j);
		id[j] = tk_symtab_intern(tk_symtab_of(&seg), name, (uint32_t)strlen(name));
		cr_assert_geq(id[j], 0);
		most = counts[j] > most ? counts[j] : most;
	}
	/* Symbol j trades once in each of its first counts[j] seconds (and once
	 * more, late in its last window's successor, so that it has state at 0). */
	for (i = 0; i <= most; i++)
		for (j = 0; j < NC; j++)
			if (i < counts[j] || (counts[j] == 0 && i == 0))
				tick(id[j], T0 + S(1 + i) + (int64_t)j * 1000,
				     100 + ((i * 31 + j * 7) % 23) * 0.125, 1 + (i + j) % 5);
	heartbeat(T0 + S(1 + most + 3), 0);
	for (j = 0; j < NC; j++) {
		/* (The count-0 symbol's one trade closed a bar too: its count is 1;
		 * a symbol whose trade is still open has 0 closed bars.) */
		before[j] = w.ind[0][id[j]];
	}
	snapshot();
	tk_worker_close(&w);
	cr_assert_eq(tk_worker_open(&w, &seg, &cfg), 0, "%s", tk_err_msg());
	cr_assert(w.restored);
	for (j = 0; j < NC; j++) {
		struct tk_ind_state *after = &w.ind[0][id[j]];

		cr_assert_eq(after->nbars, before[j].nbars, "symbol %d", j);
		for (k = 0; k < 70; k++) {
			double c = 100 + ((k * 13 + j) % 17) * 0.25;
			struct tk_bar bar = { .window_start = T0 + S(500 + k), .open = c - 0.5,
					      .high = c + 1, .low = c - 1, .close = c,
					      .volume = 1 + (k * 5 + j) % 9, .trade_count = 2 };
			struct tk_ind_values va, vb;
			uint32_t sa, sb;

			bar.pv = bar.volume * (c - 0.1);
			sa = tk_ind_update(after, &cfg.ind, &bar, 1, &va);
			sb = tk_ind_update(&before[j], &cfg.ind, &bar, 1, &vb);
			cr_assert_eq(sa, sb, "signals, symbol %d (%llu bars), bar %d", j,
				     (unsigned long long)before[j].nbars, k);
			cr_assert_eq(memcmp(&va, &vb, sizeof(va)), 0,
				     "indicators, symbol %d (%llu bars before), bar %d after", j,
				     (unsigned long long)before[j].nbars - k - 1, k);
		}
	}
}

/* A late trade that opens a window older than every open one lowers the
 * earliest deadline to its own: its bar closes on time, not with the
 * windows after it. */
Test(worker, a_late_trade_opening_an_older_window_closes_on_its_own_deadline)
{
	struct tk_bar_rec b[8];
	int32_t ids[8];
	int n;

	tick(aapl, T0 + S(12.5), 100, 1);
	tick(aapl, T0 + S(13.25), 101, 1);
	tick(aapl, T0 + S(11.75), 99, 2); /* window 11 s: end 12 s, + 2 s of lateness */
	heartbeat(T0 + S(13.9), 0);
	cr_assert_eq(bars("bars.1s", b, ids, 8), 0, "nothing is due before 14 s");
	heartbeat(T0 + S(14), 0);
	n = bars("bars.1s", b, ids, 8);
	cr_assert_eq(n, 1, "the 11 s bar at 14 s, the 12 s one not yet: %d bars", n);
	cr_assert_eq(b[0].window_start, T0 + S(11));
	cr_assert_eq(b[0].close, 99);
	cr_assert_eq(b[0].volume, 2);
	heartbeat(T0 + S(15), 0);
	cr_assert_eq(bars("bars.1s", b, ids, 8), 2, "then the 12 s bar at 15 s");
	cr_assert_eq(b[1].window_start, T0 + S(12));
}

/* A checkpoint of a version this one does not know (a later one, or one
 * before TKCKPT05) is refused with a message naming the file; the worker
 * does not start on it. */
Test(worker, a_checkpoint_of_an_unknown_version_is_refused_by_name)
{
	uint8_t *buf;
	size_t size;

	tick(aapl, T0 + S(1), 100, 1);
	snapshot();
	buf = checkpoint_file(&size);
	memcpy(buf, "TKCKPT07", 8);
	tk_worker_close(&w);
	checkpoint_file_put(buf, size);
	cr_assert_lt(tk_worker_open(&w, &seg, &cfg), 0, "a worker on an unknown checkpoint");
	cr_assert(strstr(tk_err_msg(), "is not an engine checkpoint of this version") != NULL &&
		  strstr(tk_err_msg(), ".engine.0") != NULL, "%s", tk_err_msg());
	free(buf);
	tk_worker_close(&w); /* what it had opened before it read the file */
	/* (teardown closes a worker: open one without a checkpoint.) */
	unlink(checkpoint_path());
	cr_assert_eq(tk_worker_open(&w, &seg, &cfg), 0, "%s", tk_err_msg());
}

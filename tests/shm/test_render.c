/* shm/render.c: records as the data contract's JSON, byte for byte, and the
 * timeframe names of the bar logs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "shm/records.h"
#include "shm/render.h"
#include "shm/symtab.h"
#include "tests/helpers.h"

static struct tk_segment seg;
static char path[128];
static struct tk_symtab_region *syms;
static char out[1024];

static void setup(void)
{
	cr_assert_eq(tk_test_segment(&seg, path, sizeof(path), 64, 4), 0);
	syms = tk_symtab_of(&seg);
	cr_assert_eq(tk_symtab_intern(syms, "AAPL", 4), 0);
	cr_assert_eq(tk_symtab_intern(syms, "BINANCE:BTCUSDT", 15), 1);
}

static void teardown(void)
{
	tk_segment_detach(&seg);
	tk_segment_unlink(path);
}

static const char *render(uint64_t seq, uint32_t type, uint32_t aux, const void *data, size_t len)
{
	struct tk_buf b;

	tk_buf_init(&b, out, sizeof(out));
	tk_render_json(&b, seq, type, aux, data, len, syms);
	cr_assert_eq(b.overflow, 0);
	return out;
}

TestSuite(render, .init = setup, .fini = teardown);

Test(render, tick_with_conditions_and_ms_floor)
{
	struct tk_tick t = { .ts_ns = 1704205800123999999LL, .price = 189.53, .size = 100,
			     .conditions = (1u << 1) | (1u << 12) };

	cr_assert_str_eq(render(42, TK_REC_TICK, 0, &t, sizeof(t)),
			 "{\"symbol\":\"AAPL\",\"price\":189.53,\"size\":100,\"ts\":1704205800123,"
			 "\"conditions\":[1,12],\"seq\":42}");
	/* Before 1970 the millisecond is the floor, not a truncation toward 0. */
	t.ts_ns = -1;
	t.conditions = 0;
	t.size = 0.5;
	cr_assert_str_eq(render(7, TK_REC_TICK, 1, &t, sizeof(t)),
			 "{\"symbol\":\"BINANCE:BTCUSDT\",\"price\":189.53,\"size\":0.5,\"ts\":-1,"
			 "\"seq\":7}");
}

Test(render, unknown_symbol_is_named_by_its_id)
{
	struct tk_tick t = { .ts_ns = 1000000, .price = 1, .size = 2 };

	cr_assert_str_eq(render(1, TK_REC_TICK, 77, &t, sizeof(t)),
			 "{\"symbol\":\"#77\",\"price\":1,\"size\":2,\"ts\":1,\"seq\":1}");
}

Test(render, heartbeat_and_gap)
{
	struct tk_heartbeat h = { .clock_ns = 1704205801000000000LL, .flags = TK_HEARTBEAT_F_END,
				  .feed = 3 };
	struct tk_gap g = { .from_ns = 5000000, .to_ns = 9999999, .nsymbols = 8, .feed = 1 };

	cr_assert_str_eq(render(9, TK_REC_HEARTBEAT, 0, &h, sizeof(h)),
			 "{\"type\":\"heartbeat\",\"ts\":1704205801000,\"feed\":3,\"end\":true,"
			 "\"seq\":9}");
	h.flags = 0;
	cr_assert_str_eq(render(10, TK_REC_HEARTBEAT, 0, &h, sizeof(h)),
			 "{\"type\":\"heartbeat\",\"ts\":1704205801000,\"feed\":3,\"seq\":10}");
	cr_assert_str_eq(render(11, TK_REC_GAP, 0, &g, sizeof(g)),
			 "{\"type\":\"gap\",\"from\":5,\"to\":9,\"symbols\":8,\"feed\":1,\"seq\":11}");
}

Test(render, bar_with_indicators_named_by_period_null_until_defined)
{
	struct tk_bar_rec r = {
		.window_start = 1704205800000000000LL, .tf_ns = 60000000000LL, .open = 189.5,
		.high = 189.65, .low = 189.39, .close = 189.45, .volume = 4341143, .vwap = 189.546,
		.trade_count = 21948,
		.ind = { .session_vwap = 189.546, .sma_fast = NAN, .sma_slow = NAN, .ema_fast = 189.25,
			 .ema_slow = NAN, .rsi = 55.5, .volatility = INFINITY },
		.sma_fast_n = 20, .sma_slow_n = 50, .ema_fast_n = 20, .ema_slow_n = 50, .rsi_n = 14,
		.volatility_n = 20,
	};

	cr_assert_str_eq(render(1, TK_REC_BAR, 0, &r, sizeof(r)),
			 "{\"symbol\":\"AAPL\",\"tf\":\"1m\",\"window_start\":1704205800000,"
			 "\"open\":189.5,\"high\":189.65,\"low\":189.39,\"close\":189.45,"
			 "\"volume\":4341143,\"vwap\":189.546,\"trade_count\":21948,"
			 "\"session_vwap\":189.546,\"sma_20\":null,\"sma_50\":null,\"ema_20\":189.25,"
			 "\"ema_50\":null,\"rsi_14\":55.5,\"volatility_20\":null,\"seq\":1}");
}

Test(render, signal)
{
	struct tk_signal_rec s = { .ts_ns = 1704205860000000000LL, .tf_ns = 300000000000LL,
				   .kind = TK_SIGNAL_PCT_CHANGE, .direction = -1, .pct_change = -0.02,
				   .close = 102, .vwap = 101, .volume = 2, .value = -0.02 };

	cr_assert_str_eq(render(7, TK_REC_SIGNAL, 1, &s, sizeof(s)),
			 "{\"symbol\":\"BINANCE:BTCUSDT\",\"ts\":1704205860000,\"type\":\"pct_change\","
			 "\"tf\":\"5m\",\"pct_change\":-0.02,\"close\":102,\"vwap\":101,\"volume\":2,"
			 "\"direction\":\"down\",\"value\":-0.02,\"seq\":7}");
	s.kind = 9;
	s.direction = 1;
	cr_assert(strstr(render(8, TK_REC_SIGNAL, 1, &s, sizeof(s)), "\"type\":\"?\"") != NULL);
	cr_assert(strstr(out, "\"direction\":\"up\"") != NULL);
}

Test(render, other_types_and_short_payloads)
{
	struct tk_tick t = { .ts_ns = 5000000, .price = 3, .size = 4, .conditions = 1 };

	cr_assert_str_eq(render(5, 100, 6, NULL, 0),
			 "{\"type\":\"record\",\"record_type\":100,\"aux\":6,\"seq\":5}");
	/* Only the first 24 bytes: the rest reads as zero, nothing past len. */
	cr_assert_str_eq(render(5, TK_REC_TICK, 0, &t, 24),
			 "{\"symbol\":\"AAPL\",\"price\":3,\"size\":4,\"ts\":5,\"seq\":5}");
}

Test(render, no_symbol_table_and_overflow)
{
	struct tk_tick t = { .ts_ns = 0, .price = 1, .size = 1 };
	char small[10];
	struct tk_buf b;

	tk_buf_init(&b, out, sizeof(out));
	tk_render_json(&b, 1, TK_REC_TICK, 0, &t, sizeof(t), NULL);
	cr_assert_str_eq(out, "{\"symbol\":\"#0\",\"price\":1,\"size\":1,\"ts\":0,\"seq\":1}");
	tk_buf_init(&b, small, sizeof(small));
	tk_render_json(&b, 1, TK_REC_TICK, 0, &t, sizeof(t), syms);
	cr_assert_eq(b.overflow, 1);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
}

Test(timeframes, names)
{
	char n[16];

	tk_tf_name(1000000000LL, n, sizeof(n));
	cr_assert_str_eq(n, "1s");
	tk_tf_name(15000000000LL, n, sizeof(n));
	cr_assert_str_eq(n, "15s");
	tk_tf_name(60000000000LL, n, sizeof(n));
	cr_assert_str_eq(n, "1m");
	tk_tf_name(90000000000LL, n, sizeof(n));
	cr_assert_str_eq(n, "90s");
	tk_tf_name(300000000000LL, n, sizeof(n));
	cr_assert_str_eq(n, "5m");
	tk_tf_name(7200000000000LL, n, sizeof(n));
	cr_assert_str_eq(n, "2h");
	tk_tf_name(86400000000000LL, n, sizeof(n));
	cr_assert_str_eq(n, "1d");
	tk_tf_name(0, n, sizeof(n));
	cr_assert_str_eq(n, "0s");
}

Test(timeframes, parse)
{
	int64_t tf = 0;

	cr_assert_eq(tk_tf_parse("1s", 2, &tf), 0);
	cr_assert_eq(tf, 1000000000LL);
	cr_assert_eq(tk_tf_parse("15s", 3, &tf), 0);
	cr_assert_eq(tf, 15000000000LL);
	cr_assert_eq(tk_tf_parse("5m", 2, &tf), 0);
	cr_assert_eq(tf, 300000000000LL);
	cr_assert_eq(tk_tf_parse("1h.0", 2, &tf), 0); /* a shard's bar log: bars.1h.0 */
	cr_assert_eq(tf, 3600000000000LL);
	cr_assert_eq(tk_tf_parse("2d", 2, &tf), 0);
	cr_assert_eq(tf, 172800000000000LL);
	tf = 42;
	cr_assert_eq(tk_tf_parse("", 0, &tf), -EINVAL);
	cr_assert_eq(tk_tf_parse("m", 1, &tf), -EINVAL);
	cr_assert_eq(tk_tf_parse("0s", 2, &tf), -EINVAL);
	cr_assert_eq(tk_tf_parse("01m", 3, &tf), -EINVAL);
	cr_assert_eq(tk_tf_parse("1w", 2, &tf), -EINVAL);
	cr_assert_eq(tk_tf_parse("-1s", 3, &tf), -EINVAL);
	cr_assert_eq(tk_tf_parse("99999999999d", 12, &tf), -EINVAL);
	cr_assert_eq(tk_tf_parse("106751d", 7, &tf), 0); /* just below 2^63 ns */
	cr_assert_eq(tk_tf_parse("106752d", 7, &tf), -EINVAL);
	cr_assert_eq(tf, 106751LL * 86400 * 1000000000LL);
	/* Every name parses back to its timeframe. */
	{
		static const int64_t all[] = { 1, 2, 15, 60, 90, 300, 3600, 7200, 86400 };
		unsigned i;
		char n[16];

		for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
			tk_tf_name(all[i] * 1000000000LL, n, sizeof(n));
			cr_assert_eq(tk_tf_parse(n, strlen(n), &tf), 0, "%s", n);
			cr_assert_eq(tf, all[i] * 1000000000LL, "%s", n);
		}
	}
}

/* The trade as Finnhub sends it (/ws/finnhub, the Kafka finnhub format):
 * codes as strings in order, TK_COND_OTHER (a code of 31 or more) not
 * repeated, no codes at all null; t floored to the millisecond. */
Test(render, a_trade_in_finnhubs_format, .init = setup, .fini = teardown)
{
	struct tk_tick t = { .ts_ns = 1700000000123999999, .price = 189.25, .size = 100,
			     .conditions = (1u << 1) | (1u << 12) | (1u << 30) | TK_COND_OTHER };
	struct tk_buf b;

	tk_buf_init(&b, out, sizeof(out));
	tk_render_finnhub_trade(&b, "BINANCE:BTCUSDT", &t);
	out[b.len] = '\0';
	cr_assert_str_eq(out, "{\"s\":\"BINANCE:BTCUSDT\",\"p\":189.25,\"t\":1700000000123,\"v\":100,"
			      "\"c\":[\"1\",\"12\",\"30\"]}");
	t.conditions = TK_COND_OTHER;
	t.ts_ns = -1;
	t.size = 0.0001;
	tk_buf_init(&b, out, sizeof(out));
	tk_render_finnhub_trade(&b, "A", &t);
	out[b.len] = '\0';
	cr_assert_str_eq(out, "{\"s\":\"A\",\"p\":189.25,\"t\":-1,\"v\":0.0001,\"c\":null}");
}

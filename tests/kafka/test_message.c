/* What a record becomes on Kafka (kafka/message.c) and the in-flight window
 * (kafka/window.c).  The murmur2 values are the Java client's own test
 * vectors (org.apache.kafka.common.utils.UtilsTest.testMurmur2), so a key
 * lands on the partition a Java producer would put it on. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "kafka/message.h"
#include "kafka/window.h"
#include "shm/records.h"

Test(message, murmur2_is_javas)
{
	static const struct {
		const char *key;
		int32_t want;
	} v[] = {
		{ "21", -973932308 },
		{ "foobar", -790332482 },
		{ "a-little-bit-long-string", -985981536 },
		{ "a-little-bit-longer-string", -1486304829 },
		{ "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971 },
		{ "abc", 479470107 },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		cr_assert_eq(tkk_murmur2(v[i].key, strlen(v[i].key)), v[i].want, "%s: %d", v[i].key,
			     tkk_murmur2(v[i].key, strlen(v[i].key)));
	/* toPositive(murmur2) % n: "21" -> (-973932308 & 0x7fffffff) = 1173551340 */
	cr_assert_eq(tkk_partition_of("21", 2, 12), 1173551340 % 12);
	cr_assert_eq(tkk_partition_of("abc", 3, 7), 479470107 % 7);
	cr_assert_eq(tkk_partition_of("x", 1, 1), 0);
}

Test(message, log_kinds_and_timeframes)
{
	char tf[16];

	cr_assert_eq(tkk_log_kind("ticks.0"), TKK_TRADES);
	cr_assert_eq(tkk_log_kind("ticks.12"), TKK_TRADES);
	cr_assert_eq(tkk_log_kind("ticks."), -1);
	cr_assert_eq(tkk_log_kind("ticks.a"), -1);
	cr_assert_eq(tkk_log_kind("bars.1m"), TKK_BARS);
	cr_assert_eq(tkk_log_kind("bars.1m.3"), TKK_BARS);
	cr_assert_eq(tkk_log_kind("bars.xx"), -1);
	cr_assert_eq(tkk_log_kind("bars.1m.x"), -1);
	cr_assert_eq(tkk_log_kind("signals"), TKK_SIGNALS);
	cr_assert_eq(tkk_log_kind("signals.1"), TKK_SIGNALS);
	cr_assert_eq(tkk_log_kind("signalsx"), -1);
	cr_assert_eq(tkk_log_kind("test"), -1);
	cr_assert_eq(tkk_bars_tf("bars.5m.1", tf, sizeof(tf)), 0);
	cr_assert_str_eq(tf, "5m");
	cr_assert_eq(tkk_bars_tf("bars.1h", tf, sizeof(tf)), 0);
	cr_assert_str_eq(tf, "1h");
	cr_assert_eq(tkk_bars_tf("bars.", tf, sizeof(tf)), -EINVAL);
	cr_assert_eq(tkk_bars_tf("bars.1m", tf, 2), -EINVAL, "no room for 1m and its NUL");
}

Test(message, routes)
{
	struct tkk_route r;

	r = tkk_route_of(TKK_TRADES, TK_REC_TICK);
	cr_assert(!r.skip && r.topic == TKK_TRADES && !r.all_partitions);
	r = tkk_route_of(TKK_TRADES, TK_REC_HEARTBEAT);
	cr_assert(!r.skip && r.topic == TKK_TRADES && r.all_partitions);
	r = tkk_route_of(TKK_TRADES, TK_REC_GAP);
	cr_assert(!r.skip && r.topic == TKK_GAPS && !r.all_partitions);
	cr_assert(tkk_route_of(TKK_TRADES, TK_REC_TEST).skip);
	r = tkk_route_of(TKK_BARS, TK_REC_BAR);
	cr_assert(!r.skip && r.topic == TKK_BARS);
	cr_assert(tkk_route_of(TKK_BARS, TK_REC_TICK).skip);
	r = tkk_route_of(TKK_SIGNALS, TK_REC_SIGNAL);
	cr_assert(!r.skip && r.topic == TKK_SIGNALS);
	cr_assert(tkk_route_of(-1, TK_REC_TICK).skip);
}

static struct tk_tick tick(int64_t ts, double p, double v, uint32_t cond)
{
	struct tk_tick t;

	memset(&t, 0, sizeof(t));
	t.ts_ns = ts;
	t.price = p;
	t.size = v;
	t.conditions = cond;
	return t;
}

Test(message, values)
{
	char mem[512];
	struct tk_buf b;
	struct tk_tick t = tick(1700000000123456789LL, 189.25, 100, 0);
	struct tk_heartbeat h = { .clock_ns = 1700000000500000000LL, .flags = TK_HEARTBEAT_F_END };

	tk_buf_init(&b, mem, sizeof(mem));
	tkk_value(&b, TKK_FMT_TICKD, 42, TK_REC_TICK, 3, &t, sizeof(t), "AAPL");
	cr_assert_str_eq(mem, "{\"symbol\":\"AAPL\",\"price\":189.25,\"size\":100,"
			      "\"ts\":1700000000123,\"seq\":42}");
	tk_buf_init(&b, mem, sizeof(mem));
	tkk_value(&b, TKK_FMT_FINNHUB, 42, TK_REC_TICK, 3, &t, sizeof(t), "AAPL");
	cr_assert_str_eq(mem, "{\"data\":[{\"s\":\"AAPL\",\"p\":189.25,\"t\":1700000000123,"
			      "\"v\":100,\"c\":null}],\"type\":\"trade\"}");
	/* codes 1 and 12, and one of 31 or more (kept only as a flag: not repeated) */
	t = tick(1000000, 0.5, 0.25, 1u << 1 | 1u << 12 | 1u << 31);
	tk_buf_init(&b, mem, sizeof(mem));
	tkk_value(&b, TKK_FMT_FINNHUB, 1, TK_REC_TICK, 9, &t, sizeof(t), NULL);
	cr_assert_str_eq(mem, "{\"data\":[{\"s\":\"#9\",\"p\":0.5,\"t\":1,\"v\":0.25,"
			      "\"c\":[\"1\",\"12\"]}],\"type\":\"trade\"}");
	/* a heartbeat is the data contract's in either format */
	tk_buf_init(&b, mem, sizeof(mem));
	tkk_value(&b, TKK_FMT_FINNHUB, 7, TK_REC_HEARTBEAT, 0, &h, sizeof(h), NULL);
	cr_assert_str_eq(mem, "{\"type\":\"heartbeat\",\"ts\":1700000000500,\"feed\":0,"
			      "\"end\":true,\"seq\":7}");
	cr_assert_eq(tkk_event_ns(TK_REC_HEARTBEAT, &h, sizeof(h)), 1700000000500000000LL);
	cr_assert_eq(tkk_timestamp_ms(tkk_event_ns(TK_REC_HEARTBEAT, &h, sizeof(h))),
		     1700000000500LL);
	t = tick(1700000000123456789LL, 1, 1, 0);
	cr_assert_eq(tkk_event_ns(TK_REC_TICK, &t, sizeof(t)), 1700000000123456789LL);
	cr_assert_eq(tkk_timestamp_ms(tkk_event_ns(TK_REC_TICK, &t, sizeof(t))), 1700000000123LL);
	t.ts_ns = -5;
	cr_assert_eq(tkk_timestamp_ms(tkk_event_ns(TK_REC_TICK, &t, sizeof(t))), 0,
		     "no negative CreateTime");
	cr_assert_eq(tkk_event_ns(TK_REC_TEST, &t, sizeof(t)), INT64_MIN);
	/* a short payload reads as zero-filled, never past len */
	cr_assert_eq(tkk_event_ns(TK_REC_TICK, &t, 4), 0xfffffffbLL);
}

Test(message, header_numbers)
{
	uint64_t u;
	int64_t s;

	cr_assert_eq(tkk_parse_u64("0", 1, &u), 0);
	cr_assert_eq(u, 0);
	cr_assert_eq(tkk_parse_u64("18446744073709551615", 20, &u), 0);
	cr_assert_eq(u, UINT64_MAX);
	cr_assert_eq(tkk_parse_u64("18446744073709551616", 20, &u), -EINVAL, "overflow");
	cr_assert_eq(tkk_parse_u64("", 0, &u), -EINVAL);
	cr_assert_eq(tkk_parse_u64("12a", 3, &u), -EINVAL);
	cr_assert_eq(tkk_parse_u64("-1", 2, &u), -EINVAL);
	cr_assert_eq(tkk_parse_u64("123456", 3, &u), 0, "n bytes only");
	cr_assert_eq(u, 123);
	cr_assert_eq(tkk_parse_i64("-9223372036854775808", 20, &s), 0);
	cr_assert_eq(s, INT64_MIN);
	cr_assert_eq(tkk_parse_i64("9223372036854775808", 19, &s), -EINVAL);
	cr_assert_eq(tkk_parse_i64("-", 1, &s), -EINVAL);
	cr_assert_eq(tkk_parse_i64("1700000000123456789", 19, &s), 0);
	cr_assert_eq(s, 1700000000123456789LL);
}

Test(message, src_names)
{
	char out[16];

	cr_assert_eq(tkk_src_name(out, sizeof(out), "host", "ticks.0", 0xab), 0);
	cr_assert_str_eq(out, "host/ticks.0@ab");
	cr_assert_eq(tkk_src_name(out, sizeof(out), "a-long-host", "ticks.0", 1), -ENAMETOOLONG);
}

Test(window, cursor_moves_over_complete_records_only)
{
	struct tkk_window w;

	cr_assert_eq(tkk_window_init(&w, 5, 100), 0);
	cr_assert_eq(w.cap, 8, "rounded up to a power of two");
	cr_assert_eq(tkk_window_add(&w, 1), 0);  /* 100: one message */
	cr_assert_eq(tkk_window_add(&w, 3), 0);  /* 101: a heartbeat on 3 partitions */
	cr_assert_eq(tkk_window_add(&w, 0), 0);  /* 102: nothing to send */
	cr_assert_eq(tkk_window_add(&w, 1), 0);  /* 103 */
	cr_assert_eq(tkk_window_advance(&w), 100);
	/* reports across partitions come in any order */
	cr_assert_eq(tkk_window_ack(&w, 103), 0);
	cr_assert_eq(tkk_window_ack(&w, 101), 0);
	cr_assert_eq(tkk_window_advance(&w), 100, "100 not delivered yet");
	cr_assert_eq(tkk_window_ack(&w, 100), 0);
	cr_assert_eq(tkk_window_advance(&w), 101, "101 has two copies to go");
	cr_assert_eq(tkk_window_ack(&w, 101), 0);
	cr_assert_eq(tkk_window_ack(&w, 101), 0);
	cr_assert_eq(tkk_window_advance(&w), 104, "101, the empty 102 and 103 done");
	cr_assert_eq(tkk_window_ack(&w, 101), -ERANGE, "behind the cursor");
	cr_assert_eq(tkk_window_ack(&w, 104), -ERANGE, "not sent");
	while (!tkk_window_full(&w))
		cr_assert_eq(tkk_window_add(&w, 1), 0);
	cr_assert_eq(w.next, 112);
	cr_assert_eq(tkk_window_add(&w, 1), -ENOSPC);
	cr_assert_eq(tkk_window_ack(&w, 104), 0);
	cr_assert_eq(tkk_window_ack(&w, 104), -ERANGE, "twice");
	tkk_window_reset(&w, 104);
	cr_assert_eq(w.base, 104);
	cr_assert_eq(w.next, 104);
	cr_assert_eq(tkk_window_ack(&w, 104), -ERANGE, "a report of before the reset");
	tkk_window_free(&w);
}

/* ------------------------------------------------- the consumer's parts */

#include "kafka/source.h"

Test(source, a_position_keeps_partition_offset_and_trade)
{
	uint64_t pos = tkk_pos(11, 123456789012LL, 7);

	/* 11 << 56 | 123456789012 << 10 | 7, by hand. */
	cr_assert_eq(pos, (11ull << 56) | (123456789012ull << 10) | 7u);
	cr_assert_eq(tkk_pos_partition(pos), 11);
	cr_assert_eq(tkk_pos_offset(pos), 123456789012LL);
	cr_assert_eq(tkk_pos_index(pos), 7u);
	pos = tkk_pos(254, (1LL << 46) - 1, 5000); /* an index past 1023 keeps 1023 */
	cr_assert_eq(tkk_pos_partition(pos), 254);
	cr_assert_eq(tkk_pos_offset(pos), (1LL << 46) - 1);
	cr_assert_eq(tkk_pos_index(pos), 1023u);
	/* The largest position is not the "no position" mark. */
	cr_assert_neq(tkk_pos(TKK_POS_MAX_PARTITIONS - 1, (1LL << 46) - 1, 1023), TKK_POS_NONE);
}

Test(source, the_source_header_names_and_generation)
{
	char name[64];
	uint64_t gen = 0;

	cr_assert_eq(tkk_src_parse("vm/ticks.0@18a2b3c4d5e6f708", 27, name, sizeof(name), &gen), 0);
	cr_assert_str_eq(name, "vm/ticks.0");
	cr_assert_eq(gen, 0x18a2b3c4d5e6f708ull);
	/* The last '@' splits: a source id may hold one. */
	cr_assert_eq(tkk_src_parse("a@b/ticks.1@ff", 14, name, sizeof(name), &gen), 0);
	cr_assert_str_eq(name, "a@b/ticks.1");
	cr_assert_eq(gen, 0xffull);
	cr_assert_eq(tkk_src_parse("vm/ticks.0", 10, name, sizeof(name), &gen), -EINVAL);
	cr_assert_eq(tkk_src_parse("vm/ticks.0@", 11, name, sizeof(name), &gen), -EINVAL);
	cr_assert_eq(tkk_src_parse("@12", 3, name, sizeof(name), &gen), -EINVAL);
	cr_assert_eq(tkk_src_parse("vm/ticks.0@12G", 14, name, sizeof(name), &gen), -EINVAL);
	cr_assert_eq(tkk_src_parse("vm/ticks.0@12345678901234567", 28, name, sizeof(name), &gen),
		     -EINVAL);
	cr_assert_eq(tkk_src_parse("vm/ticks.0@1", 12, name, 5, &gen), -EINVAL);
	/* Printable ASCII only: a NUL would end the name early for --follow. */
	cr_assert_eq(tkk_src_parse("vm\0x/ticks.0@1", 14, name, sizeof(name), &gen), -EINVAL);
	cr_assert_eq(tkk_src_parse("vm x/ticks.0@1", 14, name, sizeof(name), &gen), -EINVAL);
}

Test(source, a_partition_list)
{
	int32_t want[16];

	cr_assert_eq(tkk_partitions_parse("all", 4, want, 16), 4);
	cr_assert(want[0] == 0 && want[3] == 3);
	cr_assert_eq(tkk_partitions_parse("0,2,5-7", 12, want, 16), 5);
	cr_assert(want[0] == 0 && want[1] == 2 && want[2] == 5 && want[3] == 6 && want[4] == 7);
	cr_assert_eq(tkk_partitions_parse("3", 12, want, 16), 1);
	cr_assert_eq(tkk_partitions_parse("12", 12, want, 16), -EINVAL);
	cr_assert_eq(tkk_partitions_parse("1,1", 12, want, 16), -EINVAL);
	cr_assert_eq(tkk_partitions_parse("5-3", 12, want, 16), -EINVAL);
	cr_assert_eq(tkk_partitions_parse("a", 12, want, 16), -EINVAL);
	cr_assert_eq(tkk_partitions_parse("1,", 12, want, 16), 1);
	cr_assert_eq(tkk_partitions_parse("-1", 12, want, 16), -EINVAL);
	cr_assert_eq(tkk_partitions_parse("", 12, want, 16), -EINVAL);
	cr_assert_eq(tkk_partitions_parse("all", 20, want, 16), -EINVAL);
}

/* The stream's client messages (api/ws.h, tka_ws_apply): subscriptions
 * as a cross product, their acknowledgements byte for byte, the 1,000
 * symbol limit, removals keeping the order, every refusal's message, and
 * Finnhub's protocol.  The stream's logs are made by hand: two tick logs
 * (two feeds), one bar log, the signal log. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/ws.h"

static struct tka_ws w;
static struct tka_ws_sub sub;
static char mem[64 * 1024];
static struct tk_buf ack;

static void setup(void)
{
	static const struct {
		enum tka_ws_kind kind;
		const char *channel;
	} logs[] = { { TKA_WS_TICKS, "trades" }, { TKA_WS_BARS, "bars.1m" },
		     { TKA_WS_SIGNALS, "signals" }, { TKA_WS_TICKS, "trades" } };

	memset(&w, 0, sizeof(w));
	memset(&sub, 0, sizeof(sub));
	for (unsigned i = 0; i < 4; i++) {
		w.log[i].kind = logs[i].kind;
		snprintf(w.log[i].channel, sizeof(w.log[i].channel), "%s", logs[i].channel);
	}
	w.nlogs = 4;
}

/* Apply msg; the acknowledgement (or error) is left in ack as a C string. */
static int apply(bool finnhub, const char *msg)
{
	int rc;

	tk_buf_init(&ack, mem, sizeof(mem) - 1);
	rc = tka_ws_apply(&w, finnhub, msg, strlen(msg), &sub, &ack);
	mem[ack.len] = '\0';
	return rc;
}

TestSuite(ws, .init = setup);

Test(ws, subscribe_is_acknowledged_with_the_whole_subscription)
{
	cr_assert_eq(apply(false, "{\"action\":\"subscribe\",\"channels\":[\"trades\",\"quotes\"],"
				  "\"symbols\":[\"AAPL\",\"MSFT\"]}"), 0);
	cr_assert_str_eq(mem, "{\"type\":\"subscribed\",\"channels\":[\"quotes\",\"trades\"],"
			      "\"symbols\":[\"AAPL\",\"MSFT\"]}");
	/* "trades" is every tick log; quotes its own bit. */
	cr_assert_eq(sub.channels, (1ull << TKA_WS_QUOTES) | 1ull | (1ull << 3));
	/* Again with a bar channel and a known symbol: added once. */
	cr_assert_eq(apply(false, "{\"action\":\"subscribe\",\"channels\":[\"bars.1m\"],"
				  "\"symbols\":[\"MSFT\",\"BINANCE:BTCUSDT\"]}"), 0);
	cr_assert_str_eq(mem, "{\"type\":\"subscribed\",\"channels\":[\"quotes\",\"trades\",\"bars.1m\"],"
			      "\"symbols\":[\"AAPL\",\"MSFT\",\"BINANCE:BTCUSDT\"]}");
	cr_assert_eq(apply(false, "{\"action\":\"subscribe\",\"channels\":[\"signals\"],\"symbols\":[\"*\"]}"), 0);
	cr_assert_str_eq(mem, "{\"type\":\"subscribed\",\"channels\":[\"quotes\",\"trades\",\"bars.1m\","
			      "\"signals\"],\"symbols\":[\"*\",\"AAPL\",\"MSFT\",\"BINANCE:BTCUSDT\"]}");
	cr_assert(sub.all_symbols);
}

Test(ws, unsubscribe_removes_what_it_names_and_keeps_the_order)
{
	cr_assert_eq(apply(false, "{\"action\":\"subscribe\",\"channels\":[\"trades\",\"signals\"],"
				  "\"symbols\":[\"A\",\"B\",\"C\",\"D\"]}"), 0);
	cr_assert_eq(apply(false, "{\"action\":\"unsubscribe\",\"symbols\":[\"B\",\"D\",\"NOTHERE\"]}"), 0);
	cr_assert_str_eq(mem, "{\"type\":\"subscribed\",\"channels\":[\"trades\",\"signals\"],"
			      "\"symbols\":[\"A\",\"C\"]}");
	/* Re-added after the others; a removed name is found again. */
	cr_assert_eq(apply(false, "{\"action\":\"subscribe\",\"channels\":[\"trades\"],\"symbols\":[\"B\",\"A\"]}"), 0);
	cr_assert_str_eq(mem, "{\"type\":\"subscribed\",\"channels\":[\"trades\",\"signals\"],"
			      "\"symbols\":[\"A\",\"C\",\"B\"]}");
	/* Channels alone keep the symbols. */
	cr_assert_eq(apply(false, "{\"action\":\"unsubscribe\",\"channels\":[\"signals\"]}"), 0);
	cr_assert_str_eq(mem, "{\"type\":\"subscribed\",\"channels\":[\"trades\"],\"symbols\":[\"A\",\"C\",\"B\"]}");
	/* Both: both go. */
	cr_assert_eq(apply(false, "{\"action\":\"unsubscribe\",\"channels\":[\"trades\"],\"symbols\":[\"A\",\"C\",\"B\"]}"), 0);
	cr_assert_str_eq(mem, "{\"type\":\"subscribed\",\"channels\":[],\"symbols\":[]}");
	cr_assert_eq(sub.nsym, 0);
	cr_assert_eq(sub.channels, 0);
}

/* {"action":"subscribe","channels":["trades"],"symbols":["S0000",...]} of
 * names from..to-1, step. */
static const char *many(char *buf, size_t cap, const char *action, int from, int to, int step)
{
	size_t n = (size_t)snprintf(buf, cap, "{\"action\":\"%s\",\"channels\":[\"trades\"],\"symbols\":[", action);

	for (int i = from; i < to; i += step)
		n += (size_t)snprintf(buf + n, cap - n, "%s\"S%04d\"", i > from ? "," : "", i);
	snprintf(buf + n, cap - n, "]}");
	return buf;
}

Test(ws, a_thousand_symbols_in_one_message_then_half_removed)
{
	static char msg[TKA_WS_RX_MAX];
	char name[8];

	cr_assert_eq(apply(false, many(msg, sizeof(msg), "subscribe", 0, 1000, 1)), 0);
	cr_assert_eq(sub.nsym, 1000);
	/* One more is refused, and the subscription stays as it was. */
	cr_assert_eq(apply(false, "{\"action\":\"subscribe\",\"channels\":[\"trades\"],\"symbols\":[\"X\"]}"),
		     -EINVAL);
	cr_assert_str_eq(mem, "{\"type\":\"error\",\"error\":\"more than 1000 symbols on one connection\"}");
	cr_assert_eq(sub.nsym, 1000);
	/* The same thousand again: nothing added. */
	cr_assert_eq(apply(false, many(msg, sizeof(msg), "subscribe", 0, 1000, 1)), 0);
	cr_assert_eq(sub.nsym, 1000);
	/* Every even one removed: the odd ones left, in order. */
	cr_assert_eq(apply(false, many(msg, sizeof(msg), "unsubscribe", 0, 1000, 2)), 0);
	cr_assert_eq(sub.nsym, 500);
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "S%04d", 2 * i + 1);
		cr_assert_str_eq(sub.sym[i], name);
	}
	/* The even ones come back after them, and none twice. */
	cr_assert_eq(apply(false, many(msg, sizeof(msg), "subscribe", 0, 1000, 1)), 0);
	cr_assert_eq(sub.nsym, 1000);
	cr_assert_str_eq(sub.sym[499], "S0999");
	cr_assert_str_eq(sub.sym[500], "S0000");
	cr_assert_str_eq(sub.sym[999], "S0998");
}

Test(ws, every_refusal_names_what_is_wrong_and_changes_nothing)
{
	/* Each message, and its answer byte for byte. */
	static const struct {
		const char *msg, *answer;
	} bad[] = {
		{ "[]", "{\"type\":\"error\",\"error\":\"not a JSON object: the body is not the JSON object this takes: "
			"byte 1: expected '{'\"}" },
		{ "{\"action\":\"dance\"}",
		  "{\"type\":\"error\",\"error\":\"\\\"action\\\" must be \\\"subscribe\\\" or \\\"unsubscribe\\\"\"}" },
		{ "{\"action\":\"subscribe\\u0000\",\"channels\":[\"trades\"],\"symbols\":[\"A\"]}",
		  "{\"type\":\"error\",\"error\":\"\\\"action\\\" must be \\\"subscribe\\\" or \\\"unsubscribe\\\"\"}" },
		{ "{\"action\":\"subscribe\",\"channels\":[\"nope\"],\"symbols\":[\"A\"]}",
		  "{\"type\":\"error\",\"error\":\"unknown channel 'nope' (trades, quotes, signals, bars.<timeframe>)\"}" },
		{ "{\"action\":\"subscribe\",\"channels\":[\"trades\\u0000x\"],\"symbols\":[\"A\"]}",
		  "{\"type\":\"error\",\"error\":\"unknown channel 'trades' (trades, quotes, signals, bars.<timeframe>)\"}" },
		{ "{\"action\":\"subscribe\",\"channels\":[\"bars.5m\"],\"symbols\":[\"A\"]}",
		  "{\"type\":\"error\",\"error\":\"unknown channel 'bars.5m' (trades, quotes, signals, bars.<timeframe>)\"}" },
		{ "{\"action\":\"subscribe\",\"channels\":[\"trades\"],\"symbols\":[\"A\\u0001B\"]}",
		  "{\"type\":\"error\",\"error\":\"'A\\u0001B' is not a symbol: holds control character 0x01 at byte 2\"}" },
		{ "{\"action\":\"subscribe\",\"channels\":[\"trades\"],\"symbols\":[\"ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJ\"]}",
		  "{\"type\":\"error\",\"error\":\"'ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJ' is not a symbol: is 40 bytes long (1 to 31)\"}" },
		{ "{\"action\":\"subscribe\",\"channels\":[\"trades\"],\"symbols\":[\"A\"],\"x\":1}",
		  "{\"type\":\"error\",\"error\":\"unknown key \\\"x\\\" (a message takes action, channels, symbols)\"}" },
		{ "{\"action\":\"subscribe\",\"channels\":\"trades\",\"symbols\":[\"A\"]}",
		  "{\"type\":\"error\",\"error\":\"subscribe takes \\\"channels\\\" and \\\"symbols\\\", arrays of strings\"}" },
		{ "{\"action\":\"unsubscribe\"}",
		  "{\"type\":\"error\",\"error\":\"unsubscribe: at least one of takes \\\"channels\\\" and \\\"symbols\\\", "
		  "arrays of strings\"}" },
	};

	cr_assert_eq(apply(false, "{\"action\":\"subscribe\",\"channels\":[\"trades\"],\"symbols\":[\"AAPL\"]}"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(apply(false, bad[i].msg), -EINVAL, "%s", bad[i].msg);
		cr_assert_str_eq(mem, bad[i].answer, "%s: %s", bad[i].msg, mem);
		cr_assert_eq(sub.nsym, 1);
		cr_assert_str_eq(sub.sym[0], "AAPL");
		cr_assert_eq(sub.channels, 1ull | (1ull << 3));
	}
	/* A valid symbol then an invalid one in one message: neither is taken. */
	cr_assert_eq(apply(false, "{\"action\":\"subscribe\",\"channels\":[\"signals\"],\"symbols\":[\"MSFT\",\"\"]}"),
		     -EINVAL);
	cr_assert_eq(sub.nsym, 1);
	cr_assert_eq(sub.channels, 1ull | (1ull << 3));
}

Test(ws, finnhubs_protocol_acknowledges_nothing_and_answers_errors_as_finnhub)
{
	cr_assert_eq(apply(true, "{\"type\":\"subscribe\",\"symbol\":\"AAPL\"}"), 0);
	cr_assert_eq(ack.len, 0);
	cr_assert_eq(apply(true, "{\"type\":\"subscribe\",\"symbol\":\"BINANCE:BTCUSDT\"}"), 0);
	cr_assert_eq(sub.nsym, 2);
	cr_assert_eq(sub.channels, 1ull | (1ull << 3)); /* trades of every tick log */
	cr_assert_eq(apply(true, "{\"type\":\"unsubscribe\",\"symbol\":\"AAPL\"}"), 0);
	cr_assert_eq(sub.nsym, 1);
	cr_assert_str_eq(sub.sym[0], "BINANCE:BTCUSDT");
	cr_assert_eq(apply(true, "{\"type\":\"subscribe\",\"symbol\":\"AAPL\",\"x\":1}"), -EINVAL);
	cr_assert_str_eq(mem, "{\"type\":\"error\",\"msg\":\"a message is {\\\"type\\\":\\\"subscribe\\\","
			      "\\\"symbol\\\":\\\"AAPL\\\"}\"}");
	cr_assert_eq(apply(true, "{\"action\":\"subscribe\"}"), -EINVAL);
	cr_assert_str_eq(mem, "{\"type\":\"error\",\"msg\":\"\\\"type\\\" must be \\\"subscribe\\\" or "
			      "\\\"unsubscribe\\\"\"}");
}

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed/fh_parse.h"

/* What the callback saw. */
#define MAXT 64
static struct got {
	char sym[MAXT][40];
	struct tk_fh_trade t[MAXT];
	int n;
	long total; /* for the big message */
} got;

static void on_trade(void *ctx, const struct tk_fh_trade *t)
{
	(void)ctx;
	got.total++;
	if (got.n == MAXT)
		return;
	memcpy(got.sym[got.n], t->symbol, t->symbol_len);
	got.sym[got.n][t->symbol_len] = '\0';
	got.t[got.n++] = *t;
}

static struct tk_fh_parser *p;
static struct tk_fh_msg m;
/* Every test runs on the chosen parser and on the DOM one, its reference. */
static enum tk_fh_kind (*impl)(struct tk_fh_parser *, const char *, size_t, tk_fh_trade_fn,
			       void *, struct tk_fh_msg *) = tk_fh_parse;

#define BOTH(name)                                      \
	static void name##_body(void);                  \
	Test(fh_parse, name)                            \
	{                                               \
		impl = tk_fh_parse;                     \
		name##_body();                          \
		memset(&got, 0, sizeof(got));           \
		impl = tk_fh_parse_dom;                 \
		name##_body();                          \
	}                                               \
	static void name##_body(void)

static void setup(void)
{
	struct tk_fh_limits lim;

	tk_fh_limits_default(&lim);
	p = tk_fh_parser_new(&lim);
	cr_assert_not_null(p);
	memset(&got, 0, sizeof(got));
}

static void teardown(void)
{
	tk_fh_parser_free(p);
}

TestSuite(fh_parse, .init = setup, .fini = teardown);

static enum tk_fh_kind parse(const char *s)
{
	return impl(p, s, strlen(s), on_trade, NULL, &m);
}

BOTH(a_trade_message_of_several_symbols_gives_each_trade_in_order)
{
	const char *s = "{\"data\":[{\"c\":[\"1\",\"12\"],\"p\":189.5,\"s\":\"AAPL\",\"t\":1704205800123,"
			"\"v\":100},{\"c\":null,\"p\":7296.89,\"s\":\"BINANCE:BTCUSDT\",\"t\":1575526691134,"
			"\"v\":0.011467},{\"p\":1.0842,\"s\":\"OANDA:EUR_USD\",\"t\":1704205800999,\"v\":0}],"
			"\"type\":\"trade\"}";

	cr_assert_eq(parse(s), TK_FH_TRADES);
	cr_assert_eq(m.trades, 3);
	cr_assert_eq(m.rejected, 0);
	cr_assert_eq(got.n, 3);
	cr_assert_str_eq(got.sym[0], "AAPL");
	cr_assert_eq(got.t[0].price, 189.5);
	cr_assert_eq(got.t[0].size, 100);
	cr_assert_eq(got.t[0].ts_ns, 1704205800123000000LL);
	cr_assert_eq(got.t[0].conditions, (1u << 1) | (1u << 12));
	cr_assert_str_eq(got.sym[1], "BINANCE:BTCUSDT");
	cr_assert_eq(got.t[1].price, 7296.89);
	cr_assert_eq(got.t[1].size, 0.011467);
	cr_assert_eq(got.t[1].conditions, 0, "null conditions");
	cr_assert_str_eq(got.sym[2], "OANDA:EUR_USD");
	cr_assert_eq(got.t[2].size, 0, "an FX price update: a trade of size 0");
	cr_assert_eq(got.t[2].conditions, 0, "no conditions");
}

BOTH(ping_error_and_unknown_types)
{
	cr_assert_eq(parse("{\"type\":\"ping\"}"), TK_FH_PING);
	cr_assert_eq(parse("{\"type\":\"error\",\"msg\":\"Subscribing to too many symbols\"}"),
		     TK_FH_ERROR);
	cr_assert_str_eq(m.text, "Subscribing to too many symbols");
	cr_assert_eq(parse("{\"type\":\"error\"}"), TK_FH_ERROR);
	cr_assert_str_eq(m.text, "(no msg string)");
	cr_assert_eq(parse("{\"type\":\"news\",\"data\":[]}"), TK_FH_UNKNOWN);
	cr_assert_str_eq(m.text, "news");
	cr_assert_eq(parse("{\"type\":\"trade\",\"data\":[]}"), TK_FH_TRADES, "no trades is fine");
	cr_assert_eq(m.trades, 0);
}

BOTH(condition_codes_as_strings_or_integers_and_large_ones)
{
	cr_assert_eq(parse("{\"type\":\"trade\",\"data\":[{\"s\":\"X\",\"p\":1,\"t\":1704205800000,"
			   "\"v\":1,\"c\":[0,\"30\",31,\"37\"]}]}"), TK_FH_TRADES);
	cr_assert_eq(m.trades, 1);
	cr_assert_eq(got.t[0].conditions, 1u | (1u << 30) | TK_COND_OTHER);
}

/* A message with one bad trade between two good ones: the good ones pass,
 * the bad one is counted by reason and described. */
static void one_bad(const char *bad, enum tk_fh_reason want, const char *text)
{
	char s[512];

	memset(&got, 0, sizeof(got));
	snprintf(s, sizeof(s),
		 "{\"type\":\"trade\",\"data\":[{\"s\":\"A\",\"p\":1,\"t\":1704205800000,\"v\":1},%s,"
		 "{\"s\":\"B\",\"p\":2,\"t\":1704205800001,\"v\":2}]}", bad);
	cr_assert_eq(parse(s), TK_FH_TRADES, "%s", bad);
	cr_assert_eq(m.trades, 2, "%s", bad);
	cr_assert_eq(m.rejected, 1, "%s", bad);
	cr_assert_eq(m.rejected_by[want], 1, "%s: want %s, text '%s'", bad, tk_fh_reason_name(want),
		     m.text);
	cr_assert_str_eq(got.sym[1], "B");
	cr_assert(strstr(m.text, text) != NULL, "%s: text '%s' lacks '%s'", bad, m.text, text);
}

BOTH(bad_trades_are_rejected_by_reason_and_the_rest_delivered)
{
	one_bad("[1]", TK_FH_BAD_TRADE, "trade 2 is not an object");
	one_bad("{\"p\":1,\"t\":1704205800000,\"v\":1}", TK_FH_BAD_SYMBOL, "no symbol");
	one_bad("{\"s\":7,\"p\":1,\"t\":1704205800000,\"v\":1}", TK_FH_BAD_SYMBOL, "no symbol");
	one_bad("{\"s\":\"\",\"p\":1,\"t\":1704205800000,\"v\":1}", TK_FH_BAD_SYMBOL, "0 bytes");
	one_bad("{\"s\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"p\":1,\"t\":1704205800000,\"v\":1}",
		TK_FH_BAD_SYMBOL, "32 bytes");
	one_bad("{\"s\":\"A\\u0001B\",\"p\":1,\"t\":1704205800000,\"v\":1}", TK_FH_BAD_SYMBOL,
		"control character 0x01");
	one_bad("{\"s\":\"C\",\"p\":\"189.5\",\"t\":1704205800000,\"v\":1}", TK_FH_BAD_PRICE,
		"C: no price number");
	one_bad("{\"s\":\"C\",\"t\":1704205800000,\"v\":1}", TK_FH_BAD_PRICE, "no price");
	one_bad("{\"s\":\"C\",\"p\":0,\"t\":1704205800000,\"v\":1}", TK_FH_BAD_PRICE,
		"price 0 is not in (0, 1e+09]");
	one_bad("{\"s\":\"C\",\"p\":-1.5,\"t\":1704205800000,\"v\":1}", TK_FH_BAD_PRICE, "-1.5");
	one_bad("{\"s\":\"C\",\"p\":1e10,\"t\":1704205800000,\"v\":1}", TK_FH_BAD_PRICE, "1e+10");
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":1704205800000,\"v\":-1}", TK_FH_BAD_SIZE,
		"size -1 is not in [0, 1e+12]");
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":1704205800000,\"v\":2e12}", TK_FH_BAD_SIZE, "2e+12");
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":1704205800000,\"v\":null}", TK_FH_BAD_SIZE, "no size");
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":1.7042058e12,\"v\":1}", TK_FH_BAD_TIME,
		"no integer timestamp");
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":\"1704205800000\",\"v\":1}", TK_FH_BAD_TIME, "integer");
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":631152000000,\"v\":1}", TK_FH_BAD_TIME,
		"timestamp 631152000000 ms is outside");
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":1704205800,\"v\":1}", TK_FH_BAD_TIME, "seconds, not ms");
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":18446744073709551615,\"v\":1}", TK_FH_BAD_TIME, "integer");
	/* Found by the fuzzer: the seconds-or-ms hint overflowed on this one. */
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":-170024205800080125,\"v\":1}", TK_FH_BAD_TIME,
		"-170024205800080125 ms is outside");
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":1704205800000,\"v\":1,\"c\":\"1\"}",
		TK_FH_BAD_CONDITIONS, "not a list of codes");
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":1704205800000,\"v\":1,\"c\":[\"x\"]}",
		TK_FH_BAD_CONDITIONS, "codes");
	one_bad("{\"s\":\"C\",\"p\":1,\"t\":1704205800000,\"v\":1,\"c\":[-1]}",
		TK_FH_BAD_CONDITIONS, "codes");
}

static void invalid(const char *s, size_t len, enum tk_fh_reason want)
{
	memset(&got, 0, sizeof(got));
	cr_assert_eq(impl(p, s, len, on_trade, NULL, &m), TK_FH_INVALID, "%.60s", s);
	cr_assert_eq(m.reason, want, "%.60s: want %s, got %s (%s)", s, tk_fh_reason_name(want),
		     tk_fh_reason_name(m.reason), m.text);
	cr_assert_eq(got.total, 0, "%.60s: no trade of an invalid message is delivered", s);
	cr_assert_neq(m.text[0], '\0');
}

#define INVALID(lit, want) invalid(lit, sizeof(lit) - 1, want)

BOTH(hostile_messages_are_rejected_whole_with_a_reason)
{
	INVALID("{\"type\":\"trade\",\"data\":[{\"s\":\"AAPL\",\"p\":1", TK_FH_NOT_JSON); /* truncated */
	INVALID("", TK_FH_NOT_JSON);
	INVALID("{\"type\":\"ping\"} x", TK_FH_NOT_JSON);
	INVALID("{\"type\":\"ping\",}", TK_FH_NOT_JSON);
	INVALID("{'type':'ping'}", TK_FH_NOT_JSON);
	INVALID("{\"type\":\"trade\",\"data\":[{\"s\":\"A\",\"p\":NaN,\"t\":1704205800000,\"v\":1}]}",
		TK_FH_NOT_JSON);
	INVALID("{\"type\":\"trade\",\"data\":[{\"s\":\"A\",\"p\":Infinity,\"t\":1,\"v\":1}]}",
		TK_FH_NOT_JSON);
	INVALID("{\"type\":\"trade\",\"data\":[{\"s\":\"A\",\"p\":1e400,\"t\":1704205800000,\"v\":1}]}",
		TK_FH_BAD_NUMBER);
	INVALID("{\"type\":\"trade\",\"data\":[{\"s\":\"A\",\"p\":1,\"t\":123456789012345678901234567890,"
		"\"v\":1}]}", TK_FH_BAD_NUMBER);
	INVALID("{\"type\":\"trade\",\"data\":[{\"s\":\"\xff\xfe\",\"p\":1,\"t\":1704205800000,\"v\":1}]}",
		TK_FH_BAD_UTF8);
	INVALID("{\"type\":\"ping\",\"x\":\"\xc3\x28\"}", TK_FH_BAD_UTF8); /* bad continuation */
	INVALID("{\"type\":\"ping\",\"x\":\"\xed\xa0\x80\"}", TK_FH_BAD_UTF8); /* a surrogate */
	INVALID("{\"type\":\"ping\",\"x\":\"a\x01b\"}", TK_FH_NOT_JSON); /* raw control char */
	INVALID("[1,2]", TK_FH_NOT_OBJECT);
	INVALID("\"trade\"", TK_FH_NOT_OBJECT);
	INVALID("{\"data\":[]}", TK_FH_NO_TYPE);
	INVALID("{\"type\":7}", TK_FH_NO_TYPE);
	INVALID("{\"type\":\"trade\"}", TK_FH_BAD_DATA);
	INVALID("{\"type\":\"trade\",\"data\":{\"s\":\"A\"}}", TK_FH_BAD_DATA);
	INVALID("{\"type\":\"trade\",\"data\":[1,2,}", TK_FH_NOT_JSON);
}

BOTH(deep_nesting_and_a_one_megabyte_line_do_not_hurt)
{
	size_t n = 1u << 20, i;
	char *s = malloc(n + 1);

	/* 1 MiB of '[': far deeper than the parser goes. */
	memset(s, '[', n);
	invalid(s, 100000, TK_FH_NOT_JSON);
	/* One byte over the limit: too large, not even looked at. */
	memset(s, ' ', n + 1);
	invalid(s, n + 1, TK_FH_TOO_LARGE);
	cr_assert(strstr(m.text, "1048577 bytes") != NULL, "%s", m.text);
	/* Within the limit: a real message of 15,000 trades. */
	{
		const char *t = "{\"s\":\"BINANCE:BTCUSDT\",\"p\":42000.5,\"t\":1704205800000,\"v\":0.5},";
		size_t tl = strlen(t), at;

		at = (size_t)sprintf(s, "{\"type\":\"trade\",\"data\":[");
		for (i = 0; i < 15000; i++, at += tl)
			memcpy(s + at, t, tl);
		memcpy(s + at - 1, "]}", 2);
		at += 1;
		cr_assert_lt(at, n);
		got.total = 0;
		cr_assert_eq(impl(p, s, at, on_trade, NULL, &m), TK_FH_TRADES, "%s", m.text);
		cr_assert_eq(m.trades, 15000);
		cr_assert_eq(got.total, 15000);
	}
	free(s);
}

BOTH(escapes_numbers_and_whitespace_by_the_letter_of_rfc_8259)
{
	cr_assert_eq(parse(" {\"t\\u0079pe\" : \"ping\" }\r\n\t "), TK_FH_PING, "escaped key, whitespace");
	cr_assert_eq(parse("{\"type\":\"trade\",\"data\":[{\"s\":\"\\ud83d\\ude00X\",\"p\":1.5e2,"
			   "\"t\":1704205800000,\"v\":-0.0e0}]}"), TK_FH_TRADES, "%s", m.text);
	cr_assert_eq(m.trades, 1);
	cr_assert_eq(got.t[0].symbol_len, 5, "a surrogate pair is 4 UTF-8 bytes");
	cr_assert_eq(memcmp(got.sym[0], "\xf0\x9f\x98\x80X", 5), 0);
	cr_assert_eq(got.t[0].price, 150);
	cr_assert_eq(got.t[0].size, 0, "-0 is a size of 0");
	cr_assert_eq(parse("{\"type\":\"trade\",\"data\":[{\"s\":\"A\",\"p\":0.1,\"t\":1704205800000,"
			   "\"v\":123456789012345678901234567890.5e-20}]}"), TK_FH_TRADES, "%s", m.text);
	cr_assert_eq(got.t[1].price, 0.1);
	cr_assert_eq(got.t[1].size, 1234567890.123456789012345678905, "the long path rounds as strtod");
	INVALID("{\"type\":\"ping\",\"x\":01}", TK_FH_BAD_NUMBER);
	INVALID("{\"type\":\"ping\",\"x\":1.}", TK_FH_BAD_NUMBER);
	INVALID("{\"type\":\"ping\",\"x\":-}", TK_FH_BAD_NUMBER);
	INVALID("{\"type\":\"ping\",\"x\":1e}", TK_FH_BAD_NUMBER);
	INVALID("{\"type\":\"ping\",\"x\":\"\\x41\"}", TK_FH_NOT_JSON);
	INVALID("{\"type\":\"ping\",\"x\":\"\\udc00\"}", TK_FH_NOT_JSON);
	INVALID("{\"type\":\"ping\",\"x\":\"\\ud800x\"}", TK_FH_NOT_JSON);
	INVALID("{\"type\":\"ping\",\"a\x01\":1}", TK_FH_NOT_JSON);
	INVALID("{\"type\":\"ping\",\"x\":tru}", TK_FH_NOT_JSON);
	INVALID("{\"type\":\"ping\"}{}", TK_FH_NOT_JSON);
	INVALID("{\"type\":\"ping\",\"x\":\"\xc0\xaf\"}", TK_FH_BAD_UTF8); /* overlong */
	INVALID("{\"type\":\"ping\",\"x\":\"\xf4\x90\x80\x80\"}", TK_FH_BAD_UTF8); /* > U+10FFFF */
}

Test(fh_parse, reason_names_are_metric_labels)
{
	cr_assert_str_eq(tk_fh_reason_name(TK_FH_BAD_UTF8), "bad_utf8");
	cr_assert_str_eq(tk_fh_reason_name(TK_FH_BAD_CONDITIONS), "bad_conditions");
	cr_assert_str_eq(tk_fh_reason_name(TK_FH_NREASONS), "unknown");
}

/* ---- Regression: symbol validation in one place (issue 8).  The trade rule
 * took '"' and '\' in a symbol (once unescaped) and C1 controls, which the
 * feed's own start-up check refused, while that check refused the spaces of
 * Finnhub's "IC MARKETS:1".  Both parsers now apply shm/symbol.h. */
BOTH(regression_symbol_validation_trade_rule_is_the_symbol_rule)
{
	one_bad("{\"s\":\"AAPL\\\",\\\"x\",\"p\":1,\"t\":1704205800000,\"v\":1}", TK_FH_BAD_SYMBOL,
		"symbol holds '\"' at byte 5");
	one_bad("{\"s\":\"A\\\\B\",\"p\":1,\"t\":1704205800000,\"v\":1}", TK_FH_BAD_SYMBOL,
		"symbol holds '\\' at byte 2");
	one_bad("{\"s\":\"A\\u0085\",\"p\":1,\"t\":1704205800000,\"v\":1}", TK_FH_BAD_SYMBOL,
		"control character U+0085 at byte 2");
	one_bad("{\"s\":\"A\\u0001B\",\"p\":1,\"t\":1704205800000,\"v\":1}", TK_FH_BAD_SYMBOL,
		"control character 0x01 at byte 2");
	memset(&got, 0, sizeof(got));
	cr_assert_eq(parse("{\"type\":\"trade\",\"data\":[{\"s\":\"IC MARKETS:1\",\"p\":1.1,"
			   "\"t\":1704205800000,\"v\":0},{\"s\":\"\\u00c4PFEL\",\"p\":2,"
			   "\"t\":1704205800000,\"v\":1}]}"),
		     TK_FH_TRADES);
	cr_assert_eq(m.trades, 2, "%s", m.text);
	cr_assert_str_eq(got.sym[0], "IC MARKETS:1");
	cr_assert_str_eq(got.sym[1], "\xc3\x84PFEL");
}

/* ------------------------------------------------- the data contract */

static struct tk_contract ct;

static enum tk_contract_kind contract(const char *s)
{
	return tk_fh_parse_contract(p, s, strlen(s), &ct);
}

Test(fh_parse, a_contract_trade_as_tail_prints_it)
{
	cr_assert_eq(contract("{\"symbol\":\"AAPL\",\"price\":189.65,\"size\":100,\"ts\":1704205819000,"
			      "\"conditions\":[1,12],\"seq\":153}"), TK_CONTRACT_TRADE);
	cr_assert_eq(ct.trade.symbol_len, 4);
	cr_assert_eq(memcmp(ct.trade.symbol, "AAPL", 4), 0);
	cr_assert_eq(ct.trade.price, 189.65);
	cr_assert_eq(ct.trade.size, 100.0);
	cr_assert_eq(ct.trade.ts_ns, 1704205819000LL * 1000000);
	cr_assert_eq(ct.trade.conditions, (1u << 1) | (1u << 12));
	/* No conditions, an escaped symbol, the fields in another order. */
	cr_assert_eq(contract("{\"seq\":1,\"ts\":1704205819001,\"size\":0.5,\"price\":1.0842,"
			      "\"symbol\":\"OANDA:EUR\\u005fUSD\"}"), TK_CONTRACT_TRADE);
	cr_assert_eq(ct.trade.symbol_len, 13);
	cr_assert_eq(memcmp(ct.trade.symbol, "OANDA:EUR_USD", 13), 0);
	cr_assert_eq(ct.trade.conditions, 0u);
}

Test(fh_parse, a_contract_heartbeat_and_its_end)
{
	cr_assert_eq(contract("{\"type\":\"heartbeat\",\"ts\":1704205803988,\"feed\":0,\"seq\":9}"),
		     TK_CONTRACT_HEARTBEAT);
	cr_assert_eq(ct.ts_ms, 1704205803988LL);
	cr_assert_eq(ct.end, 0);
	cr_assert_eq(contract("{\"type\":\"heartbeat\",\"ts\":1704205803988,\"feed\":0,\"end\":true,"
			      "\"seq\":9}"), TK_CONTRACT_HEARTBEAT);
	cr_assert_eq(ct.end, 1);
	/* A clock the data contract's times refuse (1970): it would close nothing
	 * true, or one in 2100 every bar. */
	cr_assert_eq(contract("{\"type\":\"heartbeat\",\"ts\":5}"), TK_CONTRACT_INVALID);
	cr_assert_eq(ct.reason, TK_FH_BAD_TIME);
	cr_assert_eq(contract("{\"type\":\"heartbeat\",\"ts\":4102444800000}"), TK_CONTRACT_INVALID);
	cr_assert_eq(contract("{\"type\":\"heartbeat\",\"ts\":1704205803988,\"end\":\"yes\"}"),
		     TK_CONTRACT_INVALID);
	cr_assert_eq(ct.reason, TK_FH_BAD_DATA);
	cr_assert_eq(contract("{\"type\":\"heartbeat\",\"ts\":1704205803988.5}"), TK_CONTRACT_INVALID);
	cr_assert_eq(ct.reason, TK_FH_BAD_TIME);
}

Test(fh_parse, a_bad_contract_record_says_why)
{
	static const struct {
		const char *msg;
		enum tk_fh_reason why;
	} v[] = {
		{ "not json", TK_FH_NOT_JSON },
		{ "", TK_FH_NOT_JSON },
		{ "[1,2]", TK_FH_NOT_OBJECT },
		{ "{\"symbol\":\"AAPL\",\"price\":1,\"size\":1,\"ts\":1704205819000", TK_FH_NOT_JSON },
		{ "{\"symbol\":\"AAPL\",\"price\":\"1\",\"size\":1,\"ts\":1704205819000}", TK_FH_BAD_PRICE },
		{ "{\"symbol\":\"AAPL\",\"price\":-1,\"size\":1,\"ts\":1704205819000}", TK_FH_BAD_PRICE },
		{ "{\"symbol\":\"AAPL\",\"price\":1,\"ts\":1704205819000}", TK_FH_BAD_SIZE },
		{ "{\"symbol\":\"AAPL\",\"price\":1,\"size\":1,\"ts\":1704205819}", TK_FH_BAD_TIME },
		{ "{\"symbol\":\"\",\"price\":1,\"size\":1,\"ts\":1704205819000}", TK_FH_BAD_SYMBOL },
		{ "{\"price\":1,\"size\":1,\"ts\":1704205819000}", TK_FH_BAD_SYMBOL },
		{ "{\"symbol\":\"AAPL\",\"price\":1,\"size\":1,\"ts\":1704205819000,\"conditions\":7}",
		  TK_FH_BAD_CONDITIONS },
		{ "{\"type\":7,\"symbol\":\"AAPL\"}", TK_FH_NO_TYPE },
		/* Finnhub's letters are not the contract's names. */
		{ "{\"s\":\"AAPL\",\"p\":1,\"v\":1,\"t\":1704205819000}", TK_FH_BAD_SYMBOL },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cr_assert_eq(contract(v[i].msg), TK_CONTRACT_INVALID, "%s", v[i].msg);
		cr_assert_eq(ct.reason, v[i].why, "%s: %s, not %s (%s)", v[i].msg,
			     tk_fh_reason_name(ct.reason), tk_fh_reason_name(v[i].why), ct.text);
		cr_assert_neq(ct.text[0], '\0', "%s", v[i].msg);
	}
	cr_assert_eq(contract("{\"type\":\"gap\",\"from\":1,\"to\":2}"), TK_CONTRACT_OTHER);
	cr_assert_str_eq(ct.text, "gap");
}

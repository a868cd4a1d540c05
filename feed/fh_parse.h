/*
 * The Finnhub message parser: one WebSocket message in, its trades out.
 *
 * Finnhub sends
 *   {"type":"trade","data":[{"s":"AAPL","p":189.5,"t":1704205800123,"v":100,"c":["1","12"]},...]}
 *   {"type":"ping"}
 *   {"type":"error","msg":"Subscribing to too many symbols"}
 * and one trade message may carry many trades, of several symbols.
 *
 * DESIGN (the validation of DESIGN.md's data contract).  A message is
 * first validated whole (strict RFC 8259 JSON in valid UTF-8, at most
 * max_bytes long); one that fails is rejected whole with the reason, and
 * none of its trades is delivered.  Then each trade is checked on its own:
 * symbol a valid symbol (shm/symbol.h: 1..31 bytes of UTF-8 without control
 * characters, quotes or backslashes, once unescaped); price a
 * finite number in (0, max_price]; size a finite number in [0, max_size]
 * (FX and crypto venues send price updates with v: 0: trades of size 0);
 * t an integer count of epoch milliseconds in [min_ts_ms, max_ts_ms);
 * c absent, null, or an array of condition codes (strings of digits or
 * integers), each code k < 31 setting bit k of the flags and any other
 * setting TK_COND_OTHER.  A bad trade is rejected and counted by reason;
 * the message's other trades are delivered.  Unknown fields are ignored;
 * an unknown message type is counted, not an error.
 *
 * Pure: no I/O, no clock.  Not thread-safe: one parser per thread.  The
 * parser owns its buffers; parsing allocates nothing once it is made.
 */
#ifndef TK_FEED_FH_PARSE_H
#define TK_FEED_FH_PARSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* As shm/records.h has it (that header is C only; this one is C++ too). */
#define TK_COND_OTHER (1u << 31)

struct tk_fh_limits {
	size_t max_bytes;  /* longest message accepted (default 1 MiB) */
	double max_price;  /* default 1e9 */
	double max_size;   /* default 1e12 */
	int64_t min_ts_ms; /* default 2000-01-01T00:00:00Z */
	int64_t max_ts_ms; /* default 2100-01-01T00:00:00Z (exclusive) */
};

void tk_fh_limits_default(struct tk_fh_limits *lim);

enum tk_fh_kind {
	TK_FH_TRADES = 0,  /* a trade message: its trades went to the callback */
	TK_FH_PING = 1,
	TK_FH_ERROR = 2,   /* an error message from Finnhub: text in msg.text */
	TK_FH_UNKNOWN = 3, /* valid, of a type we do not use (counted) */
	TK_FH_INVALID = 4, /* rejected whole: reason and text say why */
};

/* Why a message (the first group) or a trade (the second) was rejected.
 * The names (tk_fh_reason_name) are metric labels. */
enum tk_fh_reason {
	TK_FH_OK = 0,
	TK_FH_TOO_LARGE,    /* longer than max_bytes */
	TK_FH_NOT_JSON,     /* not strict JSON */
	TK_FH_BAD_UTF8,     /* not valid UTF-8 */
	TK_FH_BAD_NUMBER,   /* a malformed number, or one a double (an integer: 64 bits) cannot hold */
	TK_FH_NOT_OBJECT,   /* the message is not a JSON object */
	TK_FH_NO_TYPE,      /* no "type" string */
	TK_FH_BAD_DATA,     /* a trade message whose "data" is not an array */
	TK_FH_BAD_TRADE,    /* a trade that is not an object */
	TK_FH_BAD_SYMBOL,
	TK_FH_BAD_PRICE,
	TK_FH_BAD_SIZE,
	TK_FH_BAD_TIME,
	TK_FH_BAD_CONDITIONS,
	/* Set by the Kafka source (kafka/source.h), not by a parser: */
	TK_FH_BAD_HEADER,   /* a tickd.* header missing or malformed */
	TK_FH_OTHER_SOURCE, /* a message of another tickd source than the one followed */
	TK_FH_NREASONS
};

const char *tk_fh_reason_name(enum tk_fh_reason r);

struct tk_fh_trade {
	const char *symbol; /* not NUL-terminated; valid during the callback */
	uint32_t symbol_len;
	uint32_t conditions; /* bit k: condition code k; TK_COND_OTHER */
	double price;
	double size;
	int64_t ts_ns; /* t, converted */
};

/* Called for each valid trade of a message, in message order. */
typedef void (*tk_fh_trade_fn)(void *ctx, const struct tk_fh_trade *t);

struct tk_fh_msg {
	enum tk_fh_kind kind;
	enum tk_fh_reason reason; /* TK_FH_INVALID: why */
	uint32_t trades;          /* delivered */
	uint32_t rejected;        /* trades rejected */
	uint32_t rejected_by[TK_FH_NREASONS];
	char text[160]; /* the error's msg, the unknown type, or what was wrong (first bad trade) */
};

struct tk_fh_parser;

/* NULL on out of memory. */
struct tk_fh_parser *tk_fh_parser_new(const struct tk_fh_limits *lim);
void tk_fh_parser_free(struct tk_fh_parser *p);

/* Parse one message.  Returns msg->kind. */
enum tk_fh_kind tk_fh_parse(struct tk_fh_parser *p, const char *buf, size_t len,
			    tk_fh_trade_fn fn, void *ctx, struct tk_fh_msg *msg);

/*
 * A record of the data contract, as `tickd kafka` publishes it (the line
 * `tickd tail` prints): a trade {"symbol","price","size","ts"[,"conditions"],
 * "seq"} or a heartbeat {"type":"heartbeat","ts","feed"[,"end":true],"seq"}.
 * The message is validated as tk_fh_parse validates one (strict JSON, valid
 * UTF-8, max_bytes), then a trade by the same rules as a Finnhub trade
 * (symbol, price, size, ts in ms, conditions as integers or digit strings).
 * Unknown fields are ignored; another "type" is TK_CONTRACT_OTHER.
 */
enum tk_contract_kind {
	TK_CONTRACT_TRADE = 0,
	TK_CONTRACT_HEARTBEAT,
	TK_CONTRACT_OTHER,   /* valid, of a type not used (type in text) */
	TK_CONTRACT_INVALID, /* reason and text say why */
};
struct tk_contract {
	enum tk_contract_kind kind;
	enum tk_fh_reason reason;
	struct tk_fh_trade trade; /* TK_CONTRACT_TRADE; symbol valid until the next parse */
	int64_t ts_ms;            /* a heartbeat's ts */
	int end;                  /* a heartbeat with "end":true */
	char text[160];
};
enum tk_contract_kind tk_fh_parse_contract(struct tk_fh_parser *p, const char *buf, size_t len,
					   struct tk_contract *out);

/*
 * A client's request, as the mock server reads it:
 * {"type":"subscribe"|"unsubscribe","symbol":"AAPL"}.  Returns 1 subscribe,
 * 2 unsubscribe, or -1 with why in `why`.  The symbol is copied to sym
 * (NUL-terminated, at most 31 bytes).
 */
int tk_fh_parse_request(struct tk_fh_parser *p, const char *buf, size_t len, char sym[32],
			char *why, size_t whycap);

/* The same parse on simdjson's DOM API: validate and build the whole tree,
 * then read it.  Same results; a candidate bench/feed measures, and the
 * reference the fuzz target compares the chosen parser with. */
enum tk_fh_kind tk_fh_parse_dom(struct tk_fh_parser *p, const char *buf, size_t len,
				tk_fh_trade_fn fn, void *ctx, struct tk_fh_msg *msg);

/* The same message through simdjson alone (validate and build its DOM, read
 * nothing): the baseline of bench/feed. */
int tk_fh_bare_simdjson(struct tk_fh_parser *p, const char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif

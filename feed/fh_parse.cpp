// The Finnhub message parser on simdjson's DOM API: simdjson validates the
// whole message (strict JSON, UTF-8) while it builds the tape, then the
// fields are read off the tape.  C++ only inside this file; the interface
// is fh_parse.h.
#include "feed/fh_parse.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <simdjson.h>

using namespace simdjson;

struct tk_fh_parser {
	dom::parser dom;
	struct tk_fh_limits lim;
	char *buf; // a copy of the message, followed by simdjson's padding
	// For the scanner (fh_scan.c): a message's valid trades, delivered once
	// the message has proved whole, and the unescaped strings they point to.
	struct tk_fh_trade *trades;
	size_t max_trades;
	char *strings;
};

extern "C" void tk_fh_limits_default(struct tk_fh_limits *lim)
{
	lim->max_bytes = 1u << 20;
	lim->max_price = 1e9;
	lim->max_size = 1e12;
	lim->min_ts_ms = 946684800000LL;  // 2000-01-01
	lim->max_ts_ms = 4102444800000LL; // 2100-01-01
}

extern "C" const char *tk_fh_reason_name(enum tk_fh_reason r)
{
	static const char *const names[TK_FH_NREASONS] = {
		"ok",          "too_large",  "not_json",  "bad_utf8",  "bad_number",
		"not_object",  "no_type",    "bad_data",  "bad_trade", "bad_symbol",
		"bad_price",   "bad_size",   "bad_time",  "bad_conditions",
	};

	return (unsigned)r < TK_FH_NREASONS ? names[r] : "unknown";
}

extern "C" struct tk_fh_parser *tk_fh_parser_new(const struct tk_fh_limits *lim)
{
	struct tk_fh_parser *p = new (std::nothrow) tk_fh_parser;

	if (p == nullptr)
		return nullptr;
	p->lim = *lim;
	p->buf = static_cast<char *>(calloc(1, lim->max_bytes + SIMDJSON_PADDING));
	// The shortest valid trade, {"s":"A","p":1,"v":0,"t":946684800000}, is 38 bytes.
	p->max_trades = lim->max_bytes / 32 + 1;
	p->trades = static_cast<struct tk_fh_trade *>(calloc(p->max_trades, sizeof(*p->trades)));
	p->strings = static_cast<char *>(malloc(lim->max_bytes + 1)); // unescaping never grows
	if (p->strings == nullptr) {
		free(p->buf);
		free(p->trades);
		delete p;
		return nullptr;
	}
	// All the parser will ever need, now: parsing allocates nothing.
	if (p->buf == nullptr || p->trades == nullptr || p->dom.allocate(lim->max_bytes) != SUCCESS) {
		free(p->buf);
		free(p->trades);
		delete p;
		return nullptr;
	}
	return p;
}

extern "C" void tk_fh_parser_free(struct tk_fh_parser *p)
{
	if (p == nullptr)
		return;
	free(p->buf);
	free(p->trades);
	free(p->strings);
	delete p;
}

extern "C" void tk__fh_scratch(struct tk_fh_parser *p, const struct tk_fh_limits **lim,
			       struct tk_fh_trade **trades, size_t *max_trades, char **strings)
{
	*lim = &p->lim;
	*trades = p->trades;
	*max_trades = p->max_trades;
	*strings = p->strings;
}

static enum tk_fh_kind tk__invalid(struct tk_fh_msg *m, enum tk_fh_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum tk_fh_kind tk__invalid(struct tk_fh_msg *m, enum tk_fh_reason r, const char *fmt, ...)
{
	va_list ap;

	m->kind = TK_FH_INVALID;
	m->reason = r;
	va_start(ap, fmt);
	vsnprintf(m->text, sizeof(m->text), fmt, ap);
	va_end(ap);
	return TK_FH_INVALID;
}

static enum tk_fh_reason tk__classify(error_code e)
{
	switch (e) {
	case UTF8_ERROR:
		return TK_FH_BAD_UTF8;
	case NUMBER_ERROR:
	case NUMBER_OUT_OF_RANGE:
		return TK_FH_BAD_NUMBER;
	default:
		return TK_FH_NOT_JSON;
	}
}

// A finite double out of a JSON number (integers too).
static bool tk__number(dom::element e, double *out)
{
	return e.get_double().get(*out) == SUCCESS && std::isfinite(*out);
}

// Condition codes: an array of digit strings or non-negative integers.
static bool tk__conditions(dom::element e, uint32_t *flags)
{
	dom::array codes;

	*flags = 0;
	if (e.is_null())
		return true;
	if (e.get_array().get(codes) != SUCCESS)
		return false;
	for (dom::element c : codes) {
		std::string_view s;
		uint64_t k = 0;

		if (c.get_string().get(s) == SUCCESS) {
			if (s.empty() || s.size() > 9)
				return false;
			for (char ch : s) {
				if (ch < '0' || ch > '9')
					return false;
				k = k * 10 + (uint64_t)(ch - '0');
			}
		} else if (c.get_uint64().get(k) != SUCCESS) {
			return false;
		}
		*flags |= k < 31 ? 1u << k : TK_COND_OTHER;
	}
	return true;
}

// One trade object: 0 and *t filled, or the reason it is rejected and why in
// `why`.  One pass over its fields (a trade has five, keyed by one letter);
// a key given twice counts once, the first time, as a lookup would.
static enum tk_fh_reason tk__trade(const struct tk_fh_limits *lim, dom::element e,
				   struct tk_fh_trade *t, char *why, size_t cap)
{
	dom::object o;
	dom::element fs, fp, fv, ft, fc;
	bool has_s = false, has_p = false, has_v = false, has_t = false, has_c = false;
	std::string_view sym;
	int64_t ms;

	if (e.get_object().get(o) != SUCCESS) {
		snprintf(why, cap, "is not an object");
		return TK_FH_BAD_TRADE;
	}
	for (dom::key_value_pair kv : o) {
		if (kv.key.size() != 1)
			continue;
		switch (kv.key[0]) {
		case 's': if (!has_s) { fs = kv.value; has_s = true; } break;
		case 'p': if (!has_p) { fp = kv.value; has_p = true; } break;
		case 'v': if (!has_v) { fv = kv.value; has_v = true; } break;
		case 't': if (!has_t) { ft = kv.value; has_t = true; } break;
		case 'c': if (!has_c) { fc = kv.value; has_c = true; } break;
		default: break;
		}
	}
	if (!has_s || fs.get_string().get(sym) != SUCCESS) {
		snprintf(why, cap, "has no symbol string \"s\"");
		return TK_FH_BAD_SYMBOL;
	}
	if (sym.empty() || sym.size() > 31) {
		snprintf(why, cap, "symbol is %zu bytes long (1 to 31)", sym.size());
		return TK_FH_BAD_SYMBOL;
	}
	for (unsigned char ch : sym) {
		if (ch < 0x20 || ch == 0x7f) {
			snprintf(why, cap, "symbol holds control character 0x%02x", ch);
			return TK_FH_BAD_SYMBOL;
		}
	}
	t->symbol = sym.data();
	t->symbol_len = (uint32_t)sym.size();
	if (!has_p || !tk__number(fp, &t->price)) {
		snprintf(why, cap, "%.*s: no price number \"p\"", (int)t->symbol_len, t->symbol);
		return TK_FH_BAD_PRICE;
	}
	if (!(t->price > 0) || t->price > lim->max_price) {
		snprintf(why, cap, "%.*s: price %g is not in (0, %g]", (int)t->symbol_len, t->symbol,
			 t->price, lim->max_price);
		return TK_FH_BAD_PRICE;
	}
	if (!has_v || !tk__number(fv, &t->size)) {
		snprintf(why, cap, "%.*s: no size number \"v\"", (int)t->symbol_len, t->symbol);
		return TK_FH_BAD_SIZE;
	}
	if (!(t->size >= 0) || t->size > lim->max_size) {
		snprintf(why, cap, "%.*s: size %g is not in [0, %g]", (int)t->symbol_len, t->symbol,
			 t->size, lim->max_size);
		return TK_FH_BAD_SIZE;
	}
	if (!has_t || ft.get_int64().get(ms) != SUCCESS) {
		snprintf(why, cap, "%.*s: no integer timestamp \"t\" (epoch ms)", (int)t->symbol_len,
			 t->symbol);
		return TK_FH_BAD_TIME;
	}
	if (ms < lim->min_ts_ms || ms >= lim->max_ts_ms) {
		bool seconds = ms >= 0 && ms <= INT64_MAX / 1000 && ms * 1000 >= lim->min_ts_ms &&
			       ms * 1000 < lim->max_ts_ms;

		snprintf(why, cap, "%.*s: timestamp %lld ms is outside [%lld, %lld)%s",
			 (int)t->symbol_len, t->symbol, (long long)ms, (long long)lim->min_ts_ms,
			 (long long)lim->max_ts_ms, seconds ? " (seconds, not ms?)" : "");
		return TK_FH_BAD_TIME;
	}
	t->ts_ns = ms * 1000000;
	t->conditions = 0;
	if (has_c && !tk__conditions(fc, &t->conditions)) {
		snprintf(why, cap, "%.*s: conditions \"c\" are not a list of codes", (int)t->symbol_len,
			 t->symbol);
		return TK_FH_BAD_CONDITIONS;
	}
	return TK_FH_OK;
}

static void tk__msg_reset(struct tk_fh_msg *m)
{
	m->kind = TK_FH_INVALID;
	m->reason = TK_FH_OK;
	m->trades = 0;
	m->rejected = 0;
	memset(m->rejected_by, 0, sizeof(m->rejected_by));
	m->text[0] = '\0';
}

extern "C" enum tk_fh_kind tk_fh_parse_dom(struct tk_fh_parser *p, const char *buf, size_t len,
					   tk_fh_trade_fn fn, void *ctx, struct tk_fh_msg *m)
{
	dom::element doc, data;
	dom::object obj;
	dom::array trades;
	std::string_view type;
	error_code e;
	uint32_t i = 0;

	tk__msg_reset(m);
	if (len > p->lim.max_bytes)
		return tk__invalid(m, TK_FH_TOO_LARGE, "message of %zu bytes (at most %zu)", len,
				   p->lim.max_bytes);
	memcpy(p->buf, buf, len);
	e = p->dom.parse(reinterpret_cast<const uint8_t *>(p->buf), len, false).get(doc);
	if (e != SUCCESS)
		return tk__invalid(m, tk__classify(e), "%s", error_message(e));
	if (doc.get_object().get(obj) != SUCCESS)
		return tk__invalid(m, TK_FH_NOT_OBJECT, "the message is not a JSON object");
	if (obj.at_key("type").get(data) != SUCCESS || data.get_string().get(type) != SUCCESS)
		return tk__invalid(m, TK_FH_NO_TYPE, "the message has no \"type\" string");
	if (type == "trade") {
		if (obj.at_key("data").get(data) != SUCCESS || data.get_array().get(trades) != SUCCESS)
			return tk__invalid(m, TK_FH_BAD_DATA, "a trade message without a \"data\" array");
		m->kind = TK_FH_TRADES;
		for (dom::element te : trades) {
			struct tk_fh_trade t;
			char why[128];
			enum tk_fh_reason r = tk__trade(&p->lim, te, &t, why, sizeof(why));

			i++;
			if (r == TK_FH_OK) {
				fn(ctx, &t);
				m->trades++;
				continue;
			}
			if (m->rejected++ == 0)
				snprintf(m->text, sizeof(m->text), "trade %u %s", i, why);
			m->rejected_by[r]++;
		}
		return TK_FH_TRADES;
	}
	if (type == "ping") {
		m->kind = TK_FH_PING;
		return TK_FH_PING;
	}
	if (type == "error") {
		std::string_view text = "(no msg)";

		if (obj.at_key("msg").get(data) != SUCCESS || data.get_string().get(text) != SUCCESS)
			text = "(no msg string)";
		m->kind = TK_FH_ERROR;
		snprintf(m->text, sizeof(m->text), "%.*s", (int)text.size(), text.data());
		return TK_FH_ERROR;
	}
	m->kind = TK_FH_UNKNOWN;
	snprintf(m->text, sizeof(m->text), "%.*s", (int)type.size(), type.data());
	return TK_FH_UNKNOWN;
}

extern "C" int tk_fh_parse_request(struct tk_fh_parser *p, const char *buf, size_t len,
				   char sym[32], char *why, size_t whycap)
{
	dom::element doc, f;
	dom::object obj;
	std::string_view type, s;
	error_code e;

	if (len > p->lim.max_bytes) {
		snprintf(why, whycap, "request of %zu bytes", len);
		return -1;
	}
	memcpy(p->buf, buf, len);
	e = p->dom.parse(reinterpret_cast<const uint8_t *>(p->buf), len, false).get(doc);
	if (e != SUCCESS) {
		snprintf(why, whycap, "not JSON: %s", error_message(e));
		return -1;
	}
	if (doc.get_object().get(obj) != SUCCESS || obj.at_key("type").get(f) != SUCCESS ||
	    f.get_string().get(type) != SUCCESS || (type != "subscribe" && type != "unsubscribe")) {
		snprintf(why, whycap, "not a subscribe or unsubscribe request");
		return -1;
	}
	if (obj.at_key("symbol").get(f) != SUCCESS || f.get_string().get(s) != SUCCESS ||
	    s.empty() || s.size() > 31) {
		snprintf(why, whycap, "no symbol string of 1 to 31 bytes");
		return -1;
	}
	memcpy(sym, s.data(), s.size());
	sym[s.size()] = '\0';
	return type == "subscribe" ? 1 : 2;
}

extern "C" int tk_fh_bare_simdjson(struct tk_fh_parser *p, const char *buf, size_t len)
{
	dom::element doc;

	if (len > p->lim.max_bytes)
		return -1;
	memcpy(p->buf, buf, len);
	return p->dom.parse(reinterpret_cast<const uint8_t *>(p->buf), len, false).get(doc) ==
			       SUCCESS
		       ? 0
		       : -1;
}

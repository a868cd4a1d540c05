// The Finnhub message parser on simdjson's DOM API: simdjson validates the
// whole message (strict JSON, UTF-8) while it builds the tape, then the
// fields are read off the tape.  C++ only inside this file; the interface
// is fh_parse.h.
#include "feed/fh_internal.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <simdjson.h>

using namespace simdjson;

// This file's state, hung off the parser object (fh_parser.c) on first use:
// the parser object is C so that the production binary, which parses with
// fh_scan.c alone, links neither simdjson nor libstdc++.
struct tk__fh_dom {
	dom::parser dom;
	const struct tk_fh_limits *lim;
	char *buf; // a copy of the message, followed by simdjson's padding
};

static void tk__dom_free(void *state)
{
	struct tk__fh_dom *d = static_cast<struct tk__fh_dom *>(state);

	free(d->buf);
	delete d;
}

// The DOM state of p, made the first time (the one allocation: parsing
// allocates nothing after it).  Tests, bench/feed and the fuzz target are
// its only users: out of memory there is fatal.
static struct tk__fh_dom *tk__dom(struct tk_fh_parser *p)
{
	struct tk__fh_ext *x = tk__fh_ext_of(p);
	struct tk__fh_dom *d;
	const struct tk_fh_limits *lim;
	struct tk_fh_trade *trades;
	size_t max_trades;
	char *strings;

	if (x->state != nullptr)
		return static_cast<struct tk__fh_dom *>(x->state);
	tk__fh_scratch(p, &lim, &trades, &max_trades, &strings);
	d = new (std::nothrow) tk__fh_dom;
	if (d == nullptr || (d->buf = static_cast<char *>(calloc(1, lim->max_bytes +
								 SIMDJSON_PADDING))) == nullptr ||
	    d->dom.allocate(lim->max_bytes) != SUCCESS) {
		fprintf(stderr, "tk_fh_parse_dom: out of memory for simdjson's parser\n");
		abort();
	}
	d->lim = lim;
	x->state = d;
	x->free = tk__dom_free;
	return d;
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

// One trade object: its fields into f (one pass: a trade has five, keyed by
// one letter; a key given twice counts once, the first time, as a lookup
// would), then the shared rules.
static enum tk_fh_reason tk__trade(const struct tk_fh_limits *lim, dom::element e,
				   struct tk_fh_trade *t, char *why, size_t cap)
{
	struct tk_fh_fields f = {};
	dom::object o;

	if (e.get_object().get(o) != SUCCESS) {
		snprintf(why, cap, "is not an object");
		return TK_FH_BAD_TRADE;
	}
	for (dom::key_value_pair kv : o) {
		std::string_view sym;

		if (kv.key.size() != 1)
			continue;
		switch (kv.key[0]) {
		case 's':
			if (f.st_s == 0) {
				f.st_s = kv.value.get_string().get(sym) == SUCCESS ? 1 : 2;
				f.sym = sym.data();
				f.symlen = sym.size();
			}
			break;
		case 'p':
			if (f.st_p == 0)
				f.st_p = tk__number(kv.value, &f.price) ? 1 : 2;
			break;
		case 'v':
			if (f.st_v == 0)
				f.st_v = tk__number(kv.value, &f.size) ? 1 : 2;
			break;
		case 't':
			if (f.st_t == 0)
				f.st_t = kv.value.get_int64().get(f.ms) == SUCCESS ? 1 : 2;
			break;
		case 'c':
			if (f.st_c == 0)
				f.st_c = tk__conditions(kv.value, &f.conditions) ? 1 : 2;
			break;
		default:
			break;
		}
	}
	return tk__fh_check(lim, &f, t, why, cap);
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

	struct tk__fh_dom *d = tk__dom(p);

	tk__fh_msg_reset(m);
	if (len > d->lim->max_bytes)
		return tk__invalid(m, TK_FH_TOO_LARGE, "message of %zu bytes (at most %zu)", len,
				   d->lim->max_bytes);
	memcpy(d->buf, buf, len);
	e = d->dom.parse(reinterpret_cast<const uint8_t *>(d->buf), len, false).get(doc);
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
			enum tk_fh_reason r = tk__trade(d->lim, te, &t, why, sizeof(why));

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

extern "C" int tk_fh_bare_simdjson(struct tk_fh_parser *p, const char *buf, size_t len)
{
	struct tk__fh_dom *d = tk__dom(p);
	dom::element doc;

	if (len > d->lim->max_bytes)
		return -1;
	memcpy(d->buf, buf, len);
	return d->dom.parse(reinterpret_cast<const uint8_t *>(d->buf), len, false).get(doc) ==
			       SUCCESS
		       ? 0
		       : -1;
}

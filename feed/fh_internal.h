/*
 * Shared by the two Finnhub parsers, fh_scan.c (the chosen one) and
 * fh_parse.cpp (on simdjson's DOM, its reference): not an interface.
 */
#ifndef TK_FEED_FH_INTERNAL_H
#define TK_FEED_FH_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "feed/fh_parse.h"
#include "shm/symbol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One trade's fields as a parser found them; each state is 0 (absent), 1
 * (of the right type: a string, a finite number, an int64, a list of codes)
 * or 2 (present but not that). */
struct tk_fh_fields {
	const char *sym;
	size_t symlen;
	int st_s;
	double price;
	int st_p;
	double size;
	int st_v;
	int64_t ms;
	int st_t;
	uint32_t conditions;
	int st_c;
};

/* The trade rules of fh_parse.h, in one order, with one text each:
 * TK_FH_OK and *t filled, or the reason and why.  Inline: it runs for
 * every trade of both parsers. */
static inline enum tk_fh_reason tk__fh_check(const struct tk_fh_limits *lim,
					      const struct tk_fh_fields *f, struct tk_fh_trade *t,
					      char *why, size_t cap)
{
	int n = (int)f->symlen;

	if (f->st_s != 1) {
		snprintf(why, cap, "has no symbol string \"s\"");
		return TK_FH_BAD_SYMBOL;
	}
	/* The symbol rule (shm/symbol.h), inline for plain ASCII names: one
	 * rule with a fast path, shared with the symbol table and the feed. */
	if (!tk_symbol_plain(f->sym, f->symlen)) {
		char sw[96];

		if (tk_symbol_check(f->sym, f->symlen, sw, sizeof(sw)) < 0) {
			snprintf(why, cap, "symbol %s", sw);
			return TK_FH_BAD_SYMBOL;
		}
	}
	if (f->st_p != 1) {
		snprintf(why, cap, "%.*s: no price number \"p\"", n, f->sym);
		return TK_FH_BAD_PRICE;
	}
	if (!(f->price > 0) || f->price > lim->max_price) {
		snprintf(why, cap, "%.*s: price %g is not in (0, %g]", n, f->sym, f->price,
			 lim->max_price);
		return TK_FH_BAD_PRICE;
	}
	if (f->st_v != 1) {
		snprintf(why, cap, "%.*s: no size number \"v\"", n, f->sym);
		return TK_FH_BAD_SIZE;
	}
	if (!(f->size >= 0) || f->size > lim->max_size) {
		snprintf(why, cap, "%.*s: size %g is not in [0, %g]", n, f->sym, f->size,
			 lim->max_size);
		return TK_FH_BAD_SIZE;
	}
	if (f->st_t != 1) {
		snprintf(why, cap, "%.*s: no integer timestamp \"t\" (epoch ms)", n, f->sym);
		return TK_FH_BAD_TIME;
	}
	if (f->ms < lim->min_ts_ms || f->ms >= lim->max_ts_ms) {
		int64_t ms = f->ms;
		bool seconds = ms >= 0 && ms <= INT64_MAX / 1000 && ms * 1000 >= lim->min_ts_ms &&
			       ms * 1000 < lim->max_ts_ms;

		snprintf(why, cap, "%.*s: timestamp %lld ms is outside [%lld, %lld)%s", n, f->sym,
			 (long long)ms, (long long)lim->min_ts_ms, (long long)lim->max_ts_ms,
			 seconds ? " (seconds, not ms?)" : "");
		return TK_FH_BAD_TIME;
	}
	if (f->st_c == 2) {
		snprintf(why, cap, "%.*s: conditions \"c\" are not a list of codes", n, f->sym);
		return TK_FH_BAD_CONDITIONS;
	}
	t->symbol = f->sym;
	t->symbol_len = (uint32_t)f->symlen;
	t->price = f->price;
	t->size = f->size;
	t->ts_ns = f->ms * 1000000;
	t->conditions = f->st_c == 1 ? f->conditions : 0;
	return TK_FH_OK;
}


void tk__fh_msg_reset(struct tk_fh_msg *m);

/* fh_parser.c: the parser's buffers, for fh_scan.c. */
void tk__fh_scratch(struct tk_fh_parser *p, const struct tk_fh_limits **lim,
		    struct tk_fh_trade **trades, size_t *max_trades, char **strings);

/* fh_parser.c: a slot for fh_parse.cpp's state (simdjson's DOM parser),
 * made on its first use and freed by tk_fh_parser_free through `free`; the
 * scanner alone never fills it, so the production binary links no C++. */
struct tk__fh_ext {
	void *state;
	void (*free)(void *state);
};
struct tk__fh_ext *tk__fh_ext_of(struct tk_fh_parser *p);

#ifdef __cplusplus
}
#endif

#endif

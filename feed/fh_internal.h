/*
 * Shared by the two Finnhub parsers, fh_scan.c (the chosen one) and
 * fh_parse.cpp (on simdjson's DOM, its reference): not an interface.
 */
#ifndef TK_FEED_FH_INTERNAL_H
#define TK_FEED_FH_INTERNAL_H

#include "feed/fh_parse.h"

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
 * TK_FH_OK and *t filled, or the reason and why. */
enum tk_fh_reason tk__fh_check(const struct tk_fh_limits *lim, const struct tk_fh_fields *f,
			       struct tk_fh_trade *t, char *why, size_t cap);

void tk__fh_msg_reset(struct tk_fh_msg *m);

/* fh_parse.cpp: the parser's buffers, for fh_scan.c. */
void tk__fh_scratch(struct tk_fh_parser *p, const struct tk_fh_limits **lim,
		    struct tk_fh_trade **trades, size_t *max_trades, char **strings);

#ifdef __cplusplus
}
#endif

#endif

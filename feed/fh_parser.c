/*
 * The Finnhub parser object and what both parsers share: the limits, the
 * reason names, the buffers.  In C, apart from fh_parse.cpp, so that the
 * production binary (fh_scan.c only) carries neither simdjson nor
 * libstdc++: the DOM parser of fh_parse.cpp, the scanner's reference for
 * tests, bench/feed and the fuzz target, hangs its own state off the
 * object (tk__fh_ext) the first time it is used.
 */
#include <stdlib.h>

#include "feed/fh_internal.h"

struct tk_fh_parser {
	struct tk_fh_limits lim;
	/* A message's valid trades, delivered once the message has proved
	 * whole, and the unescaped strings they point to (fh_scan.c). */
	struct tk_fh_trade *trades;
	size_t max_trades;
	char *strings;
	struct tk__fh_ext ext; /* fh_parse.cpp's, if it ran */
};

void tk_fh_limits_default(struct tk_fh_limits *lim)
{
	lim->max_bytes = 1u << 20;
	lim->max_price = 1e9;
	lim->max_size = 1e12;
	lim->min_ts_ms = 946684800000LL;  /* 2000-01-01 */
	lim->max_ts_ms = 4102444800000LL; /* 2100-01-01 */
}

const char *tk_fh_reason_name(enum tk_fh_reason r)
{
	static const char *const names[TK_FH_NREASONS] = {
		"ok",          "too_large",  "not_json",  "bad_utf8",  "bad_number",
		"not_object",  "no_type",    "bad_data",  "bad_trade", "bad_symbol",
		"bad_price",   "bad_size",   "bad_time",  "bad_conditions",
		"bad_header",  "other_source",
	};

	return (unsigned)r < TK_FH_NREASONS ? names[r] : "unknown";
}

struct tk_fh_parser *tk_fh_parser_new(const struct tk_fh_limits *lim)
{
	struct tk_fh_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->lim = *lim;
	/* The shortest valid trade, {"s":"A","p":1,"v":0,"t":946684800000}, is 38 bytes. */
	p->max_trades = lim->max_bytes / 32 + 1;
	p->trades = calloc(p->max_trades, sizeof(*p->trades));
	p->strings = malloc(lim->max_bytes + 1); /* unescaping never grows */
	/* All the scanner will ever need, now: parsing allocates nothing. */
	if (p->trades == NULL || p->strings == NULL) {
		tk_fh_parser_free(p);
		return NULL;
	}
	return p;
}

void tk_fh_parser_free(struct tk_fh_parser *p)
{
	if (p == NULL)
		return;
	if (p->ext.free != NULL)
		p->ext.free(p->ext.state);
	free(p->trades);
	free(p->strings);
	free(p);
}

void tk__fh_scratch(struct tk_fh_parser *p, const struct tk_fh_limits **lim,
		    struct tk_fh_trade **trades, size_t *max_trades, char **strings)
{
	*lim = &p->lim;
	*trades = p->trades;
	*max_trades = p->max_trades;
	*strings = p->strings;
}

struct tk__fh_ext *tk__fh_ext_of(struct tk_fh_parser *p)
{
	return &p->ext;
}

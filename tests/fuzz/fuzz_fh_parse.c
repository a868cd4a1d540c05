/*
 * libFuzzer target for the Finnhub parser.  Beyond "does not crash" (ASan,
 * UBSan), it checks what the parser promises: every trade it delivers
 * passes the validation rules, an invalid message delivers nothing, the
 * counts add up; and it is differential: the chosen parser (fh_scan.c) and
 * the one on simdjson's DOM must agree on every input -- valid or not, of
 * which kind, the same trades bit for bit, the same rejections.
 *
 * The same input also goes through the data contract's parser
 * (tk_fh_parse_contract, the Kafka source's): a trade it gives passes the
 * same rules, a rejection has its reason and text, and it finds the same
 * JSON errors as the Finnhub parser (one scanner, one set of rules).
 *
 *   build-fuzz/fuzz_fh_parse -max_total_time=600 CORPUS_DIR tests/feed/corpus
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed/fh_parse.h"

static struct tk_fh_limits lim;
static uint32_t delivered;

#define MAXT 4096
struct seen {
	uint32_t n;
	struct tk_fh_trade t[MAXT];
	char sym[MAXT][32];
};
static struct seen a, b;

static void on_trade(void *ctx, const struct tk_fh_trade *t)
{
	struct seen *sn = ctx;
	uint32_t i;

	delivered++;
	if (sn->n < MAXT) {
		memcpy(sn->sym[sn->n], t->symbol, t->symbol_len);
		sn->t[sn->n++] = *t;
	}
	if (t->symbol_len < 1 || t->symbol_len > 31)
		abort();
	for (i = 0; i < t->symbol_len; i++)
		if ((unsigned char)t->symbol[i] < 0x20 || t->symbol[i] == 0x7f)
			abort();
	if (!isfinite(t->price) || !(t->price > 0) || t->price > lim.max_price)
		abort();
	if (!isfinite(t->size) || !(t->size >= 0) || t->size > lim.max_size)
		abort();
	if (t->ts_ns < lim.min_ts_ms * 1000000 || t->ts_ns >= lim.max_ts_ms * 1000000 ||
	    t->ts_ns % 1000000 != 0)
		abort();
}

/* A JSON error (not a rule of the fields): both parsers must find it. */
static int tk__json_error(enum tk_fh_reason r)
{
	return r == TK_FH_NOT_JSON || r == TK_FH_BAD_UTF8 || r == TK_FH_BAD_NUMBER ||
	       r == TK_FH_TOO_LARGE;
}

static void tk__fuzz_contract(struct tk_fh_parser *p, const uint8_t *data, size_t size,
			      const struct tk_fh_msg *m)
{
	struct tk_contract c;
	size_t i, depth = 0, deepest = 0;

	switch (tk_fh_parse_contract(p, (const char *)data, size, &c)) {
	case TK_CONTRACT_TRADE:
		a.n = 0;
		on_trade(&a, &c.trade);
		break;
	case TK_CONTRACT_INVALID:
		if (c.reason == TK_FH_OK || c.text[0] == '\0')
			abort();
		break;
	case TK_CONTRACT_HEARTBEAT:
	case TK_CONTRACT_OTHER:
		break;
	default:
		abort();
	}
	if (c.kind != TK_CONTRACT_INVALID && c.reason != TK_FH_OK)
		abort();
	if (memchr(c.text, '\0', sizeof(c.text)) == NULL)
		abort();
	/* The depth limit is counted from different places in the two
	 * message shapes: compare only below it. */
	for (i = 0; i < size; i++) {
		depth += data[i] == '[' || data[i] == '{';
		deepest = depth > deepest ? depth : deepest;
	}
	if (deepest > 1000)
		return;
	if ((c.kind == TK_CONTRACT_INVALID && tk__json_error(c.reason)) !=
	    (m->kind == TK_FH_INVALID && tk__json_error(m->reason)))
		abort();
	if (c.kind == TK_CONTRACT_INVALID && tk__json_error(c.reason) && c.reason != m->reason)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tk_fh_parser *p;
	struct tk_fh_msg m, d;
	uint32_t i, sum = 0;

	if (p == NULL) {
		tk_fh_limits_default(&lim);
		lim.max_bytes = 1u << 16;
		p = tk_fh_parser_new(&lim);
		if (p == NULL)
			abort();
	}
	delivered = 0;
	a.n = b.n = 0;
	tk_fh_parse(p, (const char *)data, size, on_trade, &a, &m);
	if (delivered != m.trades)
		abort();
	delivered = 0;
	tk_fh_parse_dom(p, (const char *)data, size, on_trade, &b, &d);
	if (delivered != d.trades)
		abort();
	/* The two parsers agree. */
	if (m.kind != d.kind || m.trades != d.trades || m.rejected != d.rejected ||
	    memcmp(m.rejected_by, d.rejected_by, sizeof(m.rejected_by)) != 0)
		abort();
	if ((m.kind == TK_FH_ERROR || m.kind == TK_FH_UNKNOWN || m.rejected > 0) &&
	    strcmp(m.text, d.text) != 0)
		abort();
	for (i = 0; i < a.n; i++)
		if (a.t[i].symbol_len != b.t[i].symbol_len ||
		    memcmp(a.sym[i], b.sym[i], a.t[i].symbol_len) != 0 ||
		    memcmp(&a.t[i].price, &b.t[i].price, sizeof(double)) != 0 ||
		    memcmp(&a.t[i].size, &b.t[i].size, sizeof(double)) != 0 ||
		    a.t[i].ts_ns != b.t[i].ts_ns || a.t[i].conditions != b.t[i].conditions)
			abort();
	if (m.kind != TK_FH_TRADES && (m.trades != 0 || m.rejected != 0))
		abort();
	if (m.kind == TK_FH_INVALID && (m.reason == TK_FH_OK || m.text[0] == '\0'))
		abort();
	for (i = 0; i < TK_FH_NREASONS; i++)
		sum += m.rejected_by[i];
	if (sum != m.rejected || memchr(m.text, '\0', sizeof(m.text)) == NULL)
		abort();
	tk__fuzz_contract(p, data, size, &m);
	return 0;
}

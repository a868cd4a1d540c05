/*
 * libFuzzer target for the Finnhub parser.  Beyond "does not crash" (ASan,
 * UBSan), it checks what the parser promises: every trade it delivers
 * passes the validation rules, an invalid message delivers nothing, and
 * the counts add up.
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

static void on_trade(void *ctx, const struct tk_fh_trade *t)
{
	uint32_t i;

	(void)ctx;
	delivered++;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tk_fh_parser *p;
	struct tk_fh_msg m;
	uint32_t i, sum = 0;

	if (p == NULL) {
		tk_fh_limits_default(&lim);
		lim.max_bytes = 1u << 16;
		p = tk_fh_parser_new(&lim);
		if (p == NULL)
			abort();
	}
	delivered = 0;
	tk_fh_parse(p, (const char *)data, size, on_trade, NULL, &m);
	if (delivered != m.trades)
		abort();
	if (m.kind != TK_FH_TRADES && (m.trades != 0 || m.rejected != 0))
		abort();
	if (m.kind == TK_FH_INVALID && (m.reason == TK_FH_OK || m.text[0] == '\0'))
		abort();
	for (i = 0; i < TK_FH_NREASONS; i++)
		sum += m.rejected_by[i];
	if (sum != m.rejected || memchr(m.text, '\0', sizeof(m.text)) == NULL)
		abort();
	return 0;
}

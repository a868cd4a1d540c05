#include "engine/bar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

void tk_bar_init(struct tk_bar *b, int64_t start, int64_t tf, int64_t ts, double price,
		 double size, uint64_t seq)
{
	b->window_start = start;
	b->tf_ns = tf;
	b->open = b->high = b->low = b->close = price;
	b->volume = size;
	b->pv = price * size;
	b->trade_count = 1;
	b->open_ts = b->close_ts = ts;
	b->open_seq = b->close_seq = seq;
}

void tk_bar_add(struct tk_bar *b, int64_t ts, double price, double size, uint64_t seq)
{
	/* Strictly earlier replaces open: an equal time arrived later. */
	if (ts < b->open_ts) {
		b->open = price;
		b->open_ts = ts;
		b->open_seq = seq;
	}
	/* Equal or later replaces close: an equal time arrived later. */
	if (ts >= b->close_ts) {
		b->close = price;
		b->close_ts = ts;
		b->close_seq = seq;
	}
	if (price > b->high)
		b->high = price;
	if (price < b->low)
		b->low = price;
	b->volume += size;
	b->pv += price * size;
	b->trade_count++;
}

int tk_agg_add(struct tk_agg *a, int64_t tf, int64_t lateness, int64_t stream_time, int64_t ts,
	       double price, double size, uint64_t seq)
{
	int64_t start = tk_window_start(ts, tf);
	uint32_t i;

	if (start + tf + lateness <= stream_time)
		return TK_AGG_LATE;
	/* Few windows are open (lateness / tf + 2): a linear search from the
	 * newest, where nearly every trade lands. */
	for (i = a->nopen; i > 0; i--) {
		struct tk_bar *b = &a->open[i - 1];

		if (b->window_start == start) {
			tk_bar_add(b, ts, price, size, seq);
			return TK_AGG_APPLIED;
		}
		if (b->window_start < start)
			break;
	}
	if (a->nopen == TK_AGG_MAX_OPEN)
		return TK_AGG_TOO_MANY;
	/* Insert at i, keeping the array ordered by window start. */
	memmove(&a->open[i + 1], &a->open[i], (a->nopen - i) * sizeof(a->open[0]));
	tk_bar_init(&a->open[i], start, tf, ts, price, size, seq);
	a->nopen++;
	return TK_AGG_APPLIED;
}

static uint32_t tk__agg_pop(struct tk_agg *a, uint32_t n, struct tk_bar *out)
{
	memcpy(out, a->open, n * sizeof(a->open[0]));
	memmove(a->open, &a->open[n], (a->nopen - n) * sizeof(a->open[0]));
	a->nopen -= n;
	return n;
}

uint32_t tk_agg_close(struct tk_agg *a, int64_t lateness, int64_t stream_time, struct tk_bar *out,
		      uint32_t max)
{
	uint32_t n = 0;

	while (n < a->nopen && n < max &&
	       a->open[n].window_start + a->open[n].tf_ns + lateness <= stream_time)
		n++;
	return n ? tk__agg_pop(a, n, out) : 0;
}

uint32_t tk_agg_close_all(struct tk_agg *a, struct tk_bar *out, uint32_t max)
{
	uint32_t n = a->nopen < max ? a->nopen : max;

	return n ? tk__agg_pop(a, n, out) : 0;
}

int tk_timeframes_parse(const char *text, int64_t *out, int max)
{
	char buf[256], *tok, *save;
	int n = 0, i;

	if (strlen(text) >= sizeof(buf))
		return tk_err_set(EINVAL, "timeframe list too long");
	snprintf(buf, sizeof(buf), "%s", text);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
		char *end;
		long long v = strtoll(tok, &end, 10);
		int64_t unit;

		if (end == tok || v <= 0)
			return tk_err_set(EINVAL, "timeframe '%s' is not like 1s, 1m, 5m, 1h", tok);
		if (strcmp(end, "s") == 0)
			unit = TK_NS_PER_S;
		else if (strcmp(end, "m") == 0)
			unit = 60 * TK_NS_PER_S;
		else if (strcmp(end, "h") == 0)
			unit = 3600 * TK_NS_PER_S;
		else if (strcmp(end, "d") == 0)
			unit = 86400 * TK_NS_PER_S;
		else
			return tk_err_set(EINVAL, "timeframe '%s' has an unknown unit (s, m, h or d)", tok);
		if (n == max)
			return tk_err_set(EINVAL, "more than %d timeframes", max);
		if (v > 86400 || (86400 * TK_NS_PER_S) % (v * unit) != 0)
			return tk_err_set(EINVAL, "timeframe '%s' does not divide a day evenly, so its "
					  "windows would not align with UTC days", tok);
		for (i = 0; i < n; i++)
			if (out[i] == v * unit)
				return tk_err_set(EINVAL, "timeframe '%s' is given twice", tok);
		out[n++] = v * unit;
	}
	if (n == 0)
		return tk_err_set(EINVAL, "no timeframe given");
	return n;
}

void tk_timeframe_name(int64_t tf, char *out, unsigned cap)
{
	int64_t s = tf / TK_NS_PER_S;

	if (s % 86400 == 0)
		snprintf(out, cap, "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0)
		snprintf(out, cap, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(out, cap, "%lldm", (long long)(s / 60));
	else
		snprintf(out, cap, "%llds", (long long)s);
}

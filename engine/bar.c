#include "engine/bar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

void tk_bar_init(struct tk_bar *b, int64_t start, int64_t ts, double price, double size)
{
	b->window_start = start;
	b->open = b->high = b->low = b->close = price;
	b->volume = size;
	b->pv = price * size;
	b->trade_count = 1;
	b->open_ts = b->close_ts = ts;
}

int tk_agg_add_slow(struct tk_bar *cur, struct tk_agg_older *older, const struct tk_agg_rule *rule,
		    int64_t stream_time, int64_t ts, double price, double size)
{
	int64_t start = tk_window_start(ts, rule->tf);
	uint32_t i;

	if (start + rule->tf + rule->lateness <= stream_time)
		return TK_AGG_LATE;
	if (cur->trade_count == 0 || start > cur->window_start) {
		/* A newer window: cur joins the older ones (it is the newest of them). */
		if (cur->trade_count > 0) {
			if (older->n == older->cap)
				return TK_AGG_TOO_MANY;
			older->bar[older->n++] = *cur;
		}
		tk_bar_init(cur, start, ts, price, size);
		return TK_AGG_OPENED;
	}
	/* An older window (start < cur's): few are open (lateness / tf + 1),
	 * a linear search from the newest. */
	for (i = older->n; i > 0; i--) {
		struct tk_bar *b = &older->bar[i - 1];

		if (b->window_start == start) {
			tk_bar_add(b, ts, price, size);
			return TK_AGG_APPLIED;
		}
		if (b->window_start < start)
			break;
	}
	if (older->n == older->cap)
		return TK_AGG_TOO_MANY;
	/* Insert at i, keeping the older windows ordered by start. */
	memmove(&older->bar[i + 1], &older->bar[i], (older->n - i) * sizeof(older->bar[0]));
	tk_bar_init(&older->bar[i], start, ts, price, size);
	older->n++;
	return TK_AGG_OPENED;
}

/* Move the n oldest open windows to out (n <= older->n + 1). */
static uint32_t tk__agg_pop(struct tk_bar *cur, struct tk_agg_older *older, uint32_t n,
			    struct tk_bar *out)
{
	uint32_t from_older = n < older->n ? n : older->n;

	memcpy(out, older->bar, from_older * sizeof(older->bar[0]));
	memmove(older->bar, &older->bar[from_older], (older->n - from_older) * sizeof(older->bar[0]));
	older->n -= from_older;
	if (n > from_older) {
		out[from_older] = *cur;
		memset(cur, 0, sizeof(*cur));
	}
	return n;
}

uint32_t tk_agg_close(struct tk_bar *cur, struct tk_agg_older *older,
		      const struct tk_agg_rule *rule, int64_t stream_time, struct tk_bar *out,
		      uint32_t max)
{
	int64_t span = rule->tf + rule->lateness;
	uint32_t n = 0;

	while (n < older->n && n < max && older->bar[n].window_start + span <= stream_time)
		n++;
	if (n == older->n && n < max && cur->trade_count > 0 &&
	    cur->window_start + span <= stream_time)
		n++;
	return n ? tk__agg_pop(cur, older, n, out) : 0;
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

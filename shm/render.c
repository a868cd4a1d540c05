/* Records as JSON, per the data contract in DESIGN.md (see render.h). */
#include "shm/render.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shm/records.h"

#define TK_NS_PER_S_ 1000000000LL

/* Epoch ns to the contract's integer epoch ms (floor, also before 1970). */
static long long tk__ms(int64_t ns)
{
	return (long long)(ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000));
}

static void tk__symbol(struct tk_buf *b, uint32_t id, const char *sym)
{
	if (sym != NULL)
		tk_json_str(b, sym, strlen(sym));
	else
		tk_buf_printf(b, "\"#%u\"", id);
}

/* ,"name":number (null when not defined) */
static void tk__num(struct tk_buf *b, const char *name, double v)
{
	tk_buf_puts(b, ",\"");
	tk_buf_puts(b, name);
	tk_buf_puts(b, "\":");
	tk_json_double(b, v);
}

/* ,"name_n":number: an indicator named after its period (sma_20) */
static void tk__num_n(struct tk_buf *b, const char *name, unsigned n, double v)
{
	tk_buf_puts(b, ",\"");
	tk_buf_puts(b, name);
	tk_buf_puts(b, "_");
	tk_buf_u64(b, n);
	tk_buf_puts(b, "\":");
	tk_json_double(b, v);
}

/* The record of `size` bytes from a payload of len: zero past len. */
static void tk__payload(void *out, size_t size, const void *data, size_t len)
{
	memset(out, 0, size);
	memcpy(out, data, len < size ? len : size);
}

void tk_render_json(struct tk_buf *b, uint64_t seq, uint32_t type, uint32_t aux, const void *data,
		    size_t len, const struct tk_symtab_region *symbols)
{
	const char *name = NULL;

	if (symbols != NULL && (type == TK_REC_TICK || type == TK_REC_BAR || type == TK_REC_SIGNAL))
		name = tk_symtab_name(symbols, (int32_t)aux);
	tk_render_json_named(b, seq, type, aux, data, len, name);
}

void tk_render_json_named(struct tk_buf *b, uint64_t seq, uint32_t type, uint32_t aux,
			  const void *data, size_t len, const char *symbol)
{
	switch (type) {
	case TK_REC_TICK: {
		struct tk_tick t;

		tk__payload(&t, sizeof(t), data, len);
		tk_buf_puts(b, "{\"symbol\":");
		tk__symbol(b, aux, symbol);
		tk_buf_puts(b, ",\"price\":");
		tk_json_double(b, t.price);
		tk_buf_puts(b, ",\"size\":");
		tk_json_double(b, t.size);
		tk_buf_puts(b, ",\"ts\":");
		tk_buf_i64(b, tk__ms(t.ts_ns));
		if (t.conditions != 0) {
			int bit, first = 1;

			tk_buf_puts(b, ",\"conditions\":[");
			for (bit = 0; bit < 32; bit++)
				if (t.conditions & (1u << bit)) {
					tk_buf_printf(b, "%s%d", first ? "" : ",", bit);
					first = 0;
				}
			tk_buf_puts(b, "]");
		}
		tk_buf_puts(b, ",\"seq\":");
		tk_buf_u64(b, seq);
		tk_buf_puts(b, "}");
		return;
	}
	case TK_REC_HEARTBEAT: {
		struct tk_heartbeat h;

		tk__payload(&h, sizeof(h), data, len);
		tk_buf_printf(b, "{\"type\":\"heartbeat\",\"ts\":%lld,\"feed\":%u%s,\"seq\":%llu}",
			      tk__ms(h.clock_ns), h.feed,
			      (h.flags & TK_HEARTBEAT_F_END) ? ",\"end\":true" : "",
			      (unsigned long long)seq);
		return;
	}
	case TK_REC_GAP: {
		struct tk_gap g;

		tk__payload(&g, sizeof(g), data, len);
		tk_buf_printf(b, "{\"type\":\"gap\",\"from\":%lld,\"to\":%lld,\"symbols\":%u,"
			      "\"feed\":%u,\"seq\":%llu}",
			      tk__ms(g.from_ns), tk__ms(g.to_ns), g.nsymbols, g.feed,
			      (unsigned long long)seq);
		return;
	}
	case TK_REC_BAR: {
		struct tk_bar_rec r;
		char tf[24];

		tk__payload(&r, sizeof(r), data, len);
		tk_tf_name(r.tf_ns, tf, sizeof(tf));
		tk_buf_puts(b, "{\"symbol\":");
		tk__symbol(b, aux, symbol);
		tk_buf_puts(b, ",\"tf\":\"");
		tk_buf_puts(b, tf);
		tk_buf_puts(b, "\",\"window_start\":");
		tk_buf_i64(b, tk__ms(r.window_start));
		tk__num(b, "open", r.open);
		tk__num(b, "high", r.high);
		tk__num(b, "low", r.low);
		tk__num(b, "close", r.close);
		tk__num(b, "volume", r.volume);
		tk__num(b, "vwap", r.vwap);
		tk_buf_puts(b, ",\"trade_count\":");
		tk_buf_u64(b, r.trade_count);
		tk__num(b, "session_vwap", r.ind.session_vwap);
		tk__num_n(b, "sma", r.sma_fast_n, r.ind.sma_fast);
		tk__num_n(b, "sma", r.sma_slow_n, r.ind.sma_slow);
		tk__num_n(b, "ema", r.ema_fast_n, r.ind.ema_fast);
		tk__num_n(b, "ema", r.ema_slow_n, r.ind.ema_slow);
		tk__num_n(b, "rsi", r.rsi_n, r.ind.rsi);
		tk__num_n(b, "volatility", r.volatility_n, r.ind.volatility);
		tk_buf_puts(b, ",\"seq\":");
		tk_buf_u64(b, seq);
		tk_buf_puts(b, "}");
		return;
	}
	case TK_REC_SIGNAL: {
		static const char *kinds[] = { "?", "pct_change", "volume_spike", "sma_cross",
					       "vwap_cross" };
		struct tk_signal_rec r;
		char tf[24];

		tk__payload(&r, sizeof(r), data, len);
		tk_tf_name(r.tf_ns, tf, sizeof(tf));
		tk_buf_puts(b, "{\"symbol\":");
		tk__symbol(b, aux, symbol);
		tk_buf_printf(b, ",\"ts\":%lld,\"type\":\"%s\",\"tf\":\"%s\"", tk__ms(r.ts_ns),
			      r.kind < 5 ? kinds[r.kind] : "?", tf);
		tk__num(b, "pct_change", r.pct_change);
		tk__num(b, "close", r.close);
		tk__num(b, "vwap", r.vwap);
		tk__num(b, "volume", r.volume);
		tk_buf_printf(b, ",\"direction\":\"%s\"", r.direction > 0 ? "up" : "down");
		tk__num(b, "value", r.value);
		tk_buf_puts(b, ",\"seq\":");
		tk_buf_u64(b, seq);
		tk_buf_puts(b, "}");
		return;
	}
	default:
		tk_buf_printf(b, "{\"type\":\"record\",\"record_type\":%u,\"aux\":%u,\"seq\":%llu}",
			      type, aux, (unsigned long long)seq);
		return;
	}
}

void tk_tf_name(int64_t tf_ns, char *out, size_t cap)
{
	int64_t s = tf_ns / TK_NS_PER_S_;

	/* Whole seconds only: a sub-second or zero timeframe keeps its seconds
	 * count rather than reading as a day ("0d"). */
	if (s != 0 && s % 86400 == 0)
		snprintf(out, cap, "%lldd", (long long)(s / 86400));
	else if (s != 0 && s % 3600 == 0)
		snprintf(out, cap, "%lldh", (long long)(s / 3600));
	else if (s != 0 && s % 60 == 0)
		snprintf(out, cap, "%lldm", (long long)(s / 60));
	else
		snprintf(out, cap, "%llds", (long long)s);
}

int tk_tf_parse(const char *text, size_t len, int64_t *tf_ns)
{
	int64_t n = 0, unit;
	size_t i;

	if (len < 2)
		return -EINVAL;
	for (i = 0; i + 1 < len; i++) {
		if (text[i] < '0' || text[i] > '9' || (i == 0 && text[i] == '0'))
			return -EINVAL;
		if (n > 1000000000)
			return -EINVAL;
		n = n * 10 + (text[i] - '0');
	}
	switch (text[len - 1]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return -EINVAL;
	}
	if (n > INT64_MAX / TK_NS_PER_S_ / unit)
		return -EINVAL;
	*tf_ns = n * unit * TK_NS_PER_S_;
	return 0;
}

void tk_render_finnhub_trade(struct tk_buf *b, const char *symbol, const struct tk_tick *t)
{
	int first = 1;

	tk_buf_puts(b, "{\"s\":");
	tk_json_str(b, symbol, strlen(symbol));
	tk_buf_puts(b, ",\"p\":");
	tk_json_double(b, t->price);
	tk_buf_puts(b, ",\"t\":");
	/* floor to the millisecond, as the contract's times */
	tk_buf_i64(b, t->ts_ns >= 0 ? t->ts_ns / 1000000 : -((-t->ts_ns + 999999) / 1000000));
	tk_buf_puts(b, ",\"v\":");
	tk_json_double(b, t->size);
	tk_buf_puts(b, ",\"c\":");
	if ((t->conditions & ~TK_COND_OTHER) == 0) {
		tk_buf_puts(b, "null}");
		return;
	}
	tk_buf_puts(b, "[");
	for (int bit = 0; bit < 31; bit++)
		if (t->conditions & (1u << bit)) {
			tk_buf_printf(b, "%s\"%d\"", first ? "" : ",", bit);
			first = 0;
		}
	tk_buf_puts(b, "]}");
}

/* What a record becomes on Kafka (message.h). */
#include "kafka/message.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shm/records.h"
#include "shm/render.h"

static bool tkk__prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool tkk__digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int tkk_log_kind(const char *log)
{
	char tf[32];

	if (tkk__prefix(log, "ticks.") && tkk__digits(log + 6))
		return TKK_TRADES;
	if (tkk_bars_tf(log, tf, sizeof(tf)) == 0)
		return TKK_BARS;
	if (strcmp(log, "signals") == 0 ||
	    (tkk__prefix(log, "signals.") && tkk__digits(log + 8)))
		return TKK_SIGNALS;
	return -1;
}

int tkk_bars_tf(const char *log, char *out, size_t cap)
{
	const char *tf, *dot;
	size_t n;
	int64_t ns;

	if (!tkk__prefix(log, "bars."))
		return -EINVAL;
	tf = log + 5;
	dot = strchr(tf, '.');
	n = dot != NULL ? (size_t)(dot - tf) : strlen(tf);
	if (dot != NULL && !tkk__digits(dot + 1))
		return -EINVAL;
	if (n == 0 || n >= cap || tk_tf_parse(tf, n, &ns) < 0)
		return -EINVAL;
	memcpy(out, tf, n);
	out[n] = '\0';
	return 0;
}

struct tkk_route tkk_route_of(int log_kind, uint32_t type)
{
	struct tkk_route r = { .topic = TKK_TRADES, .all_partitions = false, .skip = true };

	switch (log_kind) {
	case TKK_TRADES:
		if (type == TK_REC_TICK) {
			r.skip = false;
		} else if (type == TK_REC_HEARTBEAT) {
			r.skip = false;
			r.all_partitions = true;
		} else if (type == TK_REC_GAP) {
			r.topic = TKK_GAPS;
			r.skip = false;
		}
		break;
	case TKK_BARS:
		r.topic = TKK_BARS;
		r.skip = type != TK_REC_BAR;
		break;
	case TKK_SIGNALS:
		r.topic = TKK_SIGNALS;
		r.skip = type != TK_REC_SIGNAL;
		break;
	default:
		break;
	}
	return r;
}

static void tkk__payload(void *dst, size_t want, const void *data, size_t len)
{
	memset(dst, 0, want);
	memcpy(dst, data, len < want ? len : want);
}

void tkk_value(struct tk_buf *b, enum tkk_format fmt, uint64_t seq, uint32_t type, uint32_t aux,
	       const void *data, size_t len, const char *symbol)
{
	if (fmt == TKK_FMT_FINNHUB && type == TK_REC_TICK) {
		struct tk_tick t;
		char name[16];

		tkk__payload(&t, sizeof(t), data, len);
		if (symbol == NULL) {
			snprintf(name, sizeof(name), "#%u", aux);
			symbol = name;
		}
		tk_buf_puts(b, "{\"data\":[");
		tk_render_finnhub_trade(b, symbol, &t);
		tk_buf_puts(b, "],\"type\":\"trade\"}");
		return;
	}
	tk_render_json_named(b, seq, type, aux, data, len, symbol);
}

int64_t tkk_event_ns(uint32_t type, const void *data, size_t len)
{
	switch (type) {
	case TK_REC_TICK: {
		struct tk_tick t;

		tkk__payload(&t, sizeof(t), data, len);
		return t.ts_ns;
	}
	case TK_REC_HEARTBEAT: {
		struct tk_heartbeat h;

		tkk__payload(&h, sizeof(h), data, len);
		return h.clock_ns;
	}
	case TK_REC_GAP: {
		struct tk_gap g;

		tkk__payload(&g, sizeof(g), data, len);
		return g.from_ns;
	}
	case TK_REC_BAR: {
		struct tk_bar_rec r;

		tkk__payload(&r, sizeof(r), data, len);
		return r.window_start;
	}
	case TK_REC_SIGNAL: {
		struct tk_signal_rec r;

		tkk__payload(&r, sizeof(r), data, len);
		return r.ts_ns;
	}
	default:
		return INT64_MIN;
	}
}

int64_t tkk_timestamp_ms(int64_t event_ns)
{
	/* Kafka's CreateTime: ms since the epoch, >= 0. */
	return event_ns == INT64_MIN || event_ns <= 0 ? 0 : event_ns / 1000000;
}

int32_t tkk_murmur2(const void *key, size_t len)
{
	const uint32_t m = 0x5bd1e995u, seed = 0x9747b28cu;
	const int r = 24;
	const uint8_t *d = key;
	uint32_t h = seed ^ (uint32_t)len;
	size_t i, n4 = len / 4;

	for (i = 0; i < n4; i++) {
		uint32_t k = (uint32_t)d[4 * i] | (uint32_t)d[4 * i + 1] << 8 |
			     (uint32_t)d[4 * i + 2] << 16 | (uint32_t)d[4 * i + 3] << 24;

		k *= m;
		k ^= k >> r;
		k *= m;
		h *= m;
		h ^= k;
	}
	switch (len % 4) {
	case 3: h ^= (uint32_t)d[(len & ~(size_t)3) + 2] << 16; /* fall through */
	case 2: h ^= (uint32_t)d[(len & ~(size_t)3) + 1] << 8;  /* fall through */
	case 1:
		h ^= (uint32_t)d[len & ~(size_t)3];
		h *= m;
		break;
	default: break;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return (int32_t)h;
}

int32_t tkk_partition_of(const void *key, size_t len, int32_t partitions)
{
	return (int32_t)(((uint32_t)tkk_murmur2(key, len) & 0x7fffffffu) % (uint32_t)partitions);
}

int tkk_src_name(char *out, size_t cap, const char *source, const char *log, uint64_t generation)
{
	int n = snprintf(out, cap, "%s/%s@%llx", source, log, (unsigned long long)generation);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int tkk_parse_u64(const void *v, size_t n, uint64_t *out)
{
	const char *s = v;
	uint64_t x = 0;
	size_t i;

	if (v == NULL || n == 0 || n > 20)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

int tkk_parse_i64(const void *v, size_t n, int64_t *out)
{
	const char *s = v;
	uint64_t x;
	bool neg = n > 0 && s[0] == '-';

	if (tkk_parse_u64(s + neg, n - neg, &x) < 0 || x > (uint64_t)INT64_MAX + neg)
		return -EINVAL;
	*out = neg ? (int64_t)(0 - x) : (int64_t)x;
	return 0;
}

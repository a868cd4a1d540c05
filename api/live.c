/*
 * The live endpoints: health, ping, status, quotes, latest prices, the
 * cache view and the symbols, all read from the segment as it is now (the
 * engine's seqlocked live state, the feeds' metrics slots, the logs'
 * reader cursors).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "common/clock.h"
#include "common/config.h"
#include "shm/feeds.h"
#include "shm/live.h"
#include "shm/records.h"
#include "shm/render.h"
#include "shm/state.h"
#include "shm/stats.h"
#include "shm/symtab.h"

int tka_symbol_id(struct tka_ctx *c, const char *symbol, struct tka_resp *o)
{
	int32_t id = tk_symtab_find(tk_symtab_of(&c->seg), symbol, (uint32_t)strlen(symbol));

	if (id < 0) {
		tka_problem(o, 404, "symbol", "unknown symbol '%s' (GET /symbols lists them)", symbol);
		return -ENOENT;
	}
	return id;
}

/* The live state of id, the quote fields only; -ENODATA: no trade yet. */
static int tka__live_tries(struct tka_ctx *c, int32_t id, struct tk_live *live, size_t len, int retries)
{
	const struct tk_state_region *st = tk_state_of(&c->seg);
	int rc;

	if (st == NULL || tk_state_payload_size(st) < sizeof(struct tk_live))
		return -EPROTO;
	/* A writer descheduled mid-update (this host's cores shared with the
	 * API and everything else) gets up to 20 ms before the client is told
	 * to retry: each read yields to it once it has spun 1 ms. */
	for (int tries = 0; (rc = tk_state_read(st, (uint32_t)id, live, len)) == -EAGAIN && tries < retries;
	     tries++)
		;
	if (rc < 0)
		return rc;
	return live->trades == 0 ? -ENODATA : 0;
}

static int tka__live(struct tka_ctx *c, int32_t id, struct tk_live *live, size_t len)
{
	return tka__live_tries(c, id, live, len, 20);
}

#define TKA_QUOTE_BYTES __builtin_offsetof(struct tk_live, open_bar)

int tka_live_price(struct tka_ctx *c, const char *symbol, double *price, int64_t *ts_ns)
{
	int32_t id = tk_symtab_find(tk_symtab_of(&c->seg), symbol, (uint32_t)strlen(symbol));
	struct tk_live l;
	int rc;

	if (id < 0)
		return -ENOENT;
	if ((rc = tka__live(c, id, &l, TKA_QUOTE_BYTES)) < 0)
		return rc;
	*price = l.last_price;
	if (ts_ns != NULL)
		*ts_ns = l.last_ts;
	return 0;
}

/* A live state the handler cannot give: the problem for it. */
static void tka__live_problem(struct tka_resp *o, const char *symbol, int rc)
{
	if (rc == -ENODATA)
		tka_problem(o, 404, "symbol", "symbol '%s' has no trade yet", symbol);
	else if (rc == -EAGAIN)
		tka_problem(o, 503, NULL, "the live state of '%s' stayed mid-update (the engine is "
			    "busy or died writing it): retry", symbol);
	else
		tka_problem(o, 503, NULL, "the segment's state records do not hold the engine's "
			    "live state");
	if (rc == -EAGAIN)
		tka_resp_header(o, "Retry-After: 1");
}

/* The quote fields of a symbol the segment knows and has a trade of: 0,
 * or -1 with the problem (404, 503) in o. */
static int tka__quote_of(struct tka_ctx *c, const char *symbol, struct tk_live *l,
			 struct tka_resp *o)
{
	int32_t id = tka_symbol_id(c, symbol, o);
	int rc;

	if (id < 0)
		return -1;
	if ((rc = tka__live(c, id, l, TKA_QUOTE_BYTES)) < 0) {
		tka__live_problem(o, symbol, rc);
		return -1;
	}
	return 0;
}

static int64_t tka__ms(int64_t ns)
{
	return ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000);
}

/* "2023-11-14T14:30:05.250Z" */
static void tka__iso(struct tk_buf *b, int64_t ns)
{
	time_t s = (time_t)(tka__ms(ns) / 1000 - (tka__ms(ns) % 1000 < 0));
	int ms = (int)(((tka__ms(ns) % 1000) + 1000) % 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	tk_buf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
		      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

static void tka__num(struct tk_buf *b, const char *name, double v)
{
	tk_buf_puts(b, ",\"");
	tk_buf_puts(b, name);
	tk_buf_puts(b, "\":");
	tk_json_double(b, v);
}

/* Finnhub's quote fields: c, d, dp, h, l, o, pc, t (seconds). */
static void tka__finnhub_fields(struct tk_buf *b, const struct tk_live *l)
{
	tk_buf_puts(b, "\"c\":");
	tk_json_double(b, l->last_price);
	tka__num(b, "d", l->change);
	tka__num(b, "dp", l->change_pct);
	tka__num(b, "h", l->day_high);
	tka__num(b, "l", l->day_low);
	tka__num(b, "o", l->day_open);
	tka__num(b, "pc", l->prev_close);
	tk_buf_puts(b, ",\"t\":");
	tk_buf_i64(b, tka__ms(l->last_ts) / 1000);
}

/* /quote's answer: Finnhub's fields and tickd's. */
static void tka__quote_body(struct tk_buf *b, const char *symbol, const struct tk_live *l)
{
	tk_buf_puts(b, "{\"symbol\":");
	tk_json_str(b, symbol, strlen(symbol));
	tk_buf_puts(b, ",");
	tka__finnhub_fields(b, l);
	tka__num(b, "price", l->last_price);
	tka__num(b, "size", l->last_size);
	tk_buf_puts(b, ",\"ts\":");
	tk_buf_i64(b, tka__ms(l->last_ts));
	tka__num(b, "volume", l->day_volume);
	tk_buf_puts(b, ",\"day\":");
	tk_buf_i64(b, tka__ms(l->day));
	tk_buf_puts(b, ",\"trade_count\":");
	tk_buf_u64(b, l->trades);
	tk_buf_puts(b, ",\"late\":");
	tk_buf_u64(b, l->late);
	tk_buf_puts(b, ",\"seq\":");
	tk_buf_u64(b, l->last_seq);
	tk_buf_puts(b, "}");
}

void tka_get_quote(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	const char *symbol;
	struct tk_live l;

	if (r->nseg == 2) {
		if (tka_params_allow(r, "", o) < 0 || tka_seg_symbol(r, 1, &symbol, o) < 0)
			return;
	} else if (tka_params_allow(r, "symbol", o) < 0 ||
		   tka_param_symbol(r, "symbol", true, &symbol, o) < 0) {
		return;
	}
	if (tka__quote_of(c, symbol, &l, o) < 0)
		return;
	tka_json(o, 200);
	tka__quote_body(&o->body, symbol, &l);
}

int tka_quote_json(struct tka_ctx *c, int32_t id, const char *symbol, struct tk_buf *b,
		   uint64_t *seq)
{
	struct tk_live l;
	/* One try (about 1 ms at worst): the stream's loop serves everyone,
	 * and the quote stays owed for its next frame. */
	int rc = tka__live_tries(c, id, &l, TKA_QUOTE_BYTES, 0);

	if (rc < 0)
		return rc;
	if (seq != NULL)
		*seq = l.last_seq;
	tka__quote_body(b, symbol, &l);
	return 0;
}

/* GET /ohlcv/{tf}/open?symbol=S: the bar of the newest window, still open,
 * as the engine holds it now, with the sequence of the last trade it holds:
 * a page that streams trades from /ws applies those after it. */
void tka_get_open_bar(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	const struct tk_bar *bar;
	const char *symbol;
	struct tk_live l;
	int64_t tf_ns;
	char tf[16];
	int32_t id;
	int rc, t, place;

	if (tka_params_allow(r, "symbol", o) < 0 || tka_path_tf(c, r, o, &tf_ns) < 0 ||
	    tka_param_symbol(r, "symbol", true, &symbol, o) < 0 || (id = tka_symbol_id(c, symbol, o)) < 0)
		return;
	if ((rc = tka__live(c, id, &l, sizeof(l))) < 0) {
		tka__live_problem(o, symbol, rc);
		return;
	}
	tk_tf_name(tf_ns, tf, sizeof(tf));
	/* The engine says which open bar is which timeframe (tf_map); one that
	 * does not (older) kept them in the segment's order. */
	place = tk_seg_tf_index(&c->seg.hdr->config, tf_ns);
	t = -1;
	for (uint32_t i = 0; place >= 0 && i < l.ntf && i < TK_MAX_TF; i++)
		if (l.tf_map != 0 ? ((l.tf_map >> (4 * i)) & 15) == (uint32_t)place + 1 : (int)i == place)
			t = (int)i;
	bar = t >= 0 ? &l.open_bar[t] : NULL;
	if (bar != NULL && (bar->window_start % tf_ns != 0 ||
			    (l.last[t].window_start != 0 && bar->window_start <= l.last[t].window_start)))
		bar = NULL;
	if (bar == NULL || bar->trade_count == 0) {
		tka_problem(o, 404, "symbol", "'%s' has no open %s bar now", symbol, tf);
		return;
	}
	tka_json(o, 200);
	tk_buf_puts(&o->body, "{\"symbol\":");
	tk_json_str(&o->body, symbol, strlen(symbol));
	tk_buf_printf(&o->body, ",\"tf\":\"%s\",\"window_start\":", tf);
	tk_buf_i64(&o->body, tka__ms(bar->window_start));
	tka__num(&o->body, "open", bar->open);
	tka__num(&o->body, "high", bar->high);
	tka__num(&o->body, "low", bar->low);
	tka__num(&o->body, "close", bar->close);
	tka__num(&o->body, "volume", bar->volume);
	tka__num(&o->body, "vwap", bar->volume > 0 ? bar->pv / bar->volume : bar->close); /* as the engine closes it */
	tk_buf_puts(&o->body, ",\"trade_count\":");
	tk_buf_u64(&o->body, bar->trade_count);
	tk_buf_puts(&o->body, ",\"partial\":true,\"last_seq\":");
	tk_buf_u64(&o->body, l.last_seq);
	tk_buf_puts(&o->body, ",\"last_ts\":");
	tk_buf_i64(&o->body, tka__ms(l.last_ts));
	tk_buf_puts(&o->body, "}");
}

/* Finnhub's own quote: for a symbol it has no trade of, Finnhub answers
 * 200 with zeros (and null changes), and so does this endpoint, so that a
 * program written for Finnhub meets the answer it knows. */
void tka_get_finnhub_quote(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	const char *symbol;
	struct tk_live l;
	int32_t id;
	int rc;

	if (tka_params_allow(r, "symbol", o) < 0 || tka_param_symbol(r, "symbol", true, &symbol, o) < 0)
		return;
	id = tk_symtab_find(tk_symtab_of(&c->seg), symbol, (uint32_t)strlen(symbol));
	rc = id >= 0 ? tka__live(c, id, &l, TKA_QUOTE_BYTES) : -ENODATA;
	if (rc == -ENODATA) {
		tka_json(o, 200);
		tk_buf_puts(&o->body, "{\"c\":0,\"d\":null,\"dp\":null,\"h\":0,\"l\":0,\"o\":0,"
			    "\"pc\":0,\"t\":0}");
		return;
	}
	if (rc < 0) {
		tka__live_problem(o, symbol, rc);
		return;
	}
	tka_json(o, 200);
	tk_buf_puts(&o->body, "{");
	tka__finnhub_fields(&o->body, &l);
	tk_buf_puts(&o->body, "}");
}

/* The provider a trade came from: the source of the feed that wrote its
 * tick log (one feed per log). */
static const char *tka__provider(struct tka_ctx *c, char *out, size_t cap)
{
	const struct tk_feeds_region *fr = tk_feeds_of(&c->seg);
	unsigned i;

	snprintf(out, cap, "tickd");
	for (i = 0; fr != NULL && i < TK_FEEDS_MAX; i++)
		if (fr->slot[i].pid != 0) {
			snprintf(out, cap, "%.*s", (int)strnlen(fr->slot[i].source, 31), fr->slot[i].source);
			break;
		}
	return out;
}

static void tka__price(struct tk_buf *b, const char *symbol, const struct tk_live *l,
		       const char *provider)
{
	tk_buf_puts(b, "{\"symbol\":");
	tk_json_str(b, symbol, strlen(symbol));
	tka__num(b, "price", l->last_price);
	tka__num(b, "size", l->last_size);
	tk_buf_puts(b, ",\"ts\":");
	tk_buf_i64(b, tka__ms(l->last_ts));
	tk_buf_puts(b, ",\"timestamp\":");
	tka__iso(b, l->last_ts);
	tk_buf_puts(b, ",\"provider\":");
	tk_json_str(b, provider, strlen(provider));
	tk_buf_puts(b, "}");
}

void tka_get_prices_latest(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	const struct tka_param *list;
	const char *symbol, *want_provider = NULL, *p;
	char provider[32];
	struct tk_live l;
	unsigned n = 0, missing = 0;
	int32_t id;

	if (tka_params_allow(r, "symbol,symbols,provider", o) < 0)
		return;
	tka__provider(c, provider, sizeof(provider));
	{
		const struct tka_param *pp = tka_param(r, "provider");

		if (pp != NULL) {
			want_provider = pp->value;
			if (strcmp(want_provider, provider) != 0) {
				tka_problem(o, 404, "provider", "no feed of provider '%.32s' runs here "
					    "(this one's is '%s')", want_provider, provider);
				return;
			}
		}
	}
	list = tka_param(r, "symbols");
	if (list == NULL) {
		if (tka_param_symbol(r, "symbol", true, &symbol, o) < 0)
			return;
		if (tka__quote_of(c, symbol, &l, o) < 0)
			return;
		tka_json(o, 200);
		tka__price(&o->body, symbol, &l, provider);
		return;
	}
	if (tka_param(r, "symbol") != NULL) {
		tka_problem(o, 400, "symbols", "give 'symbol' or 'symbols', not both");
		return;
	}
	/* Check the whole list first: a bad name is the client's mistake. */
	for (p = list->value;; p += strcspn(p, ",") + 1) {
		size_t len = strcspn(p, ",");
		char why[160];

		if (tk_symbol_check(p, len, why, sizeof(why)) < 0) {
			tka_problem(o, 400, "symbols", "'symbols' item %u is not a symbol: %s", n + 1, why);
			return;
		}
		if (++n > 1000) {
			tka_problem(o, 400, "symbols", "'symbols' lists more than 1000 symbols");
			return;
		}
		if (p[len] == '\0')
			break;
	}
	/* One read per symbol: what was found goes to prices, the rest to
	 * missing, so each name is in exactly one of the two. */
	tka_json(o, 200);
	tk_buf_puts(&o->body, "{\"prices\":[");
	n = 0;
	{
		char found[1001] = { 0 };
		unsigned k = 0;

		for (p = list->value;; p += strcspn(p, ",") + 1, k++) {
			size_t len = strcspn(p, ",");
			char name[TK_NAME_MAX];

			snprintf(name, sizeof(name), "%.*s", (int)len, p);
			id = tk_symtab_find(tk_symtab_of(&c->seg), name, (uint32_t)len);
			if (id >= 0 && tka__live(c, id, &l, TKA_QUOTE_BYTES) == 0) {
				found[k] = 1;
				if (n++ > 0)
					tk_buf_puts(&o->body, ",");
				tka__price(&o->body, name, &l, provider);
			}
			if (p[len] == '\0')
				break;
		}
		tk_buf_puts(&o->body, "],\"missing\":[");
		for (p = list->value, k = 0;; p += strcspn(p, ",") + 1, k++) {
			size_t len = strcspn(p, ",");

			if (!found[k]) {
				if (missing++ > 0)
					tk_buf_puts(&o->body, ",");
				tk_json_str(&o->body, p, len);
			}
			if (p[len] == '\0')
				break;
		}
	}
	tk_buf_puts(&o->body, "]}");
}

void tka_get_cache(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	const struct tk_symtab_region *t = tk_symtab_of(&c->seg);
	uint32_t n = tk_symtab_count(t), id, shown = 0;
	char provider[32];

	if (tka_params_allow(r, "", o) < 0)
		return;
	tka__provider(c, provider, sizeof(provider));
	tka_json(o, 200);
	tk_buf_puts(&o->body, "{\"prices\":{");
	for (id = 0; id < n; id++) {
		const char *name = tk_symtab_name(t, (int32_t)id);
		struct tk_live l;

		if (name == NULL || tka__live(c, (int32_t)id, &l, TKA_QUOTE_BYTES) != 0)
			continue;
		if (shown++ > 0)
			tk_buf_puts(&o->body, ",");
		tk_json_str(&o->body, name, strlen(name));
		tk_buf_puts(&o->body, ":");
		tka__price(&o->body, name, &l, provider);
	}
	tk_buf_puts(&o->body, "},\"count\":");
	tk_buf_u64(&o->body, shown);
	tk_buf_puts(&o->body, "}");
}

void tka_get_symbols(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	const struct tk_symtab_region *t = tk_symtab_of(&c->seg);
	uint32_t n = tk_symtab_count(t), id, shown = 0;

	if (tka_params_allow(r, "", o) < 0)
		return;
	tka_json(o, 200);
	tk_buf_puts(&o->body, "{\"symbols\":[");
	for (id = 0; id < n; id++) {
		const char *name = tk_symtab_name(t, (int32_t)id);
		struct tk_live l;
		bool traded;

		if (name == NULL)
			continue;
		traded = tka__live(c, (int32_t)id, &l, TKA_QUOTE_BYTES) == 0;
		if (shown++ > 0)
			tk_buf_puts(&o->body, ",");
		tk_buf_puts(&o->body, "{\"symbol\":");
		tk_json_str(&o->body, name, strlen(name));
		tk_buf_puts(&o->body, ",\"id\":");
		tk_buf_u64(&o->body, id);
		tk_buf_puts(&o->body, ",\"last_ts\":");
		if (traded)
			tk_buf_i64(&o->body, tka__ms(l.last_ts));
		else
			tk_buf_puts(&o->body, "null");
		tka__num(&o->body, "price", traded ? l.last_price : __builtin_nan(""));
		tk_buf_puts(&o->body, ",\"trade_count\":");
		tk_buf_u64(&o->body, traded ? l.trades : 0);
		tk_buf_puts(&o->body, "}");
	}
	tk_buf_puts(&o->body, "],\"count\":");
	tk_buf_u64(&o->body, shown);
	tk_buf_puts(&o->body, ",\"timeframes\":[");
	{
		/* Each timeframe once, whatever the shards (bars.1m, bars.1m.0, ...). */
		struct tka_index *ix = &c->index;
		unsigned i, k, ntf = 0;

		for (i = 0; i < ix->n; i++) {
			char tf[16];
			bool seen = false;

			if (ix->log[i].type != TK_REC_BAR)
				continue;
			for (k = 0; k < i && !seen; k++)
				seen = ix->log[k].type == TK_REC_BAR && ix->log[k].tf_ns == ix->log[i].tf_ns;
			if (seen)
				continue;
			tk_tf_name(ix->log[i].tf_ns, tf, sizeof(tf));
			tk_buf_puts(&o->body, ntf++ ? ",\"" : "\"");
			tk_buf_puts(&o->body, tf);
			tk_buf_puts(&o->body, "\"");
		}
	}
	tk_buf_puts(&o->body, "]}");
}

void tka_get_ping(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	(void)c;
	if (tka_params_allow(r, "", o) < 0)
		return;
	tka_json(o, 200);
	tk_buf_puts(&o->body, "{\"status\":\"ok\",\"ping\":\"pong\",\"ts\":");
	tk_buf_i64(&o->body, tka__ms(tk_wall_ns()));
	tk_buf_puts(&o->body, "}");
}

/* ------------------------------------------------------------- health */

static bool tka__pid_alive(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

void tka_get_health(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	const struct tk_feeds_region *fr = tk_feeds_of(&c->seg);
	static _Thread_local struct tk_log_stats ls;
	char reasons[1024] = "";
	struct tk_buf rb;
	int64_t now = tk_wall_ns();
	unsigned i, nfeeds = 0, engines = 0;
	uint32_t j;
	bool journal = false;
	struct tk_buf *b = &o->body;

	if (tka_params_allow(r, "", o) < 0)
		return;
	tk_buf_init(&rb, reasons, sizeof(reasons));
	tka_json(o, 200);
	tk_buf_puts(b, "{\"feeds\":[");
	for (i = 0; fr != NULL && i < TK_FEEDS_MAX; i++) {
		const struct tk_feed_stats *f = &fr->slot[i];
		int64_t age = f->last_msg_ns > 0 ? now - f->last_msg_ns : -1;
		bool alive = tka__pid_alive(f->pid);

		if (f->pid == 0)
			continue;
		if (nfeeds++ > 0)
			tk_buf_puts(b, ",");
		tk_buf_printf(b, "{\"feed\":%u,\"source\":", f->feed);
		tk_json_str(b, f->source, strnlen(f->source, sizeof(f->source)));
		tk_buf_printf(b, ",\"running\":%s,\"connected\":%s,\"last_message_age_ms\":",
			      alive ? "true" : "false", alive && f->connected ? "true" : "false");
		if (age >= 0)
			tk_buf_i64(b, age / 1000000);
		else
			tk_buf_puts(b, "null");
		tk_buf_printf(b, ",\"trades\":%llu,\"reconnects\":%llu,\"gaps\":%llu}",
			      (unsigned long long)f->trades, (unsigned long long)f->reconnects,
			      (unsigned long long)f->gaps);
		if (!alive)
			tk_buf_printf(&rb, "%sfeed %u is not running", rb.len ? "; " : "", f->feed);
		else if (!f->connected)
			tk_buf_printf(&rb, "%sfeed %u is not connected", rb.len ? "; " : "", f->feed);
		else if (age < 0 || age > c->health_max_age_ns)
			tk_buf_printf(&rb, "%sfeed %u: no message for %.1f s", rb.len ? "; " : "",
				      f->feed, age < 0 ? -1.0 : (double)age / 1e9);
	}
	if (nfeeds == 0)
		tk_buf_printf(&rb, "%sno feed has run on this segment", rb.len ? "; " : "");
	tk_buf_puts(b, "],\"engine\":[");
	for (i = 0; i < c->seg.hdr->config.nlogs; i++) {
		const char *name = c->seg.hdr->config.logs[i].name;
		struct tk_log_region *log;

		if (strncmp(name, "ticks.", 6) != 0 || (log = tk_log_find(&c->seg, name)) == NULL)
			continue;
		tk_log_stats_read(log, &ls);
		for (j = 0; j < ls.nreaders; j++) {
			const struct tk_reader_stats *rs = &ls.readers[j];

			if (strncmp(rs->name, "engine.", 7) != 0)
				continue;
			if (engines++ > 0)
				tk_buf_puts(b, ",");
			tk_buf_puts(b, "{\"worker\":");
			tk_json_str(b, rs->name, strnlen(rs->name, sizeof(rs->name)));
			tk_buf_puts(b, ",\"log\":");
			tk_json_str(b, name, strlen(name));
			/* seq: the last record it applied and checkpointed (its
			 * committed cursor is the next; the engine commits at its
			 * checkpoint, every 250 ms while input flows); 0: none yet.
			 * seq + lag was the log's head as this was read. */
			tk_buf_printf(b, ",\"running\":%s,\"seq\":%llu,\"lag\":%llu}",
				      rs->alive ? "true" : "false",
				      (unsigned long long)(rs->cursor > 0 ? rs->cursor - 1 : 0),
				      (unsigned long long)rs->lag);
			if (!rs->alive)
				tk_buf_printf(&rb, "%s%s is not running", rb.len ? "; " : "", rs->name);
			else if (rs->lag > c->health_max_lag)
				tk_buf_printf(&rb, "%s%s is %llu records behind %s", rb.len ? "; " : "",
					      rs->name, (unsigned long long)rs->lag, name);
		}
	}
	if (engines == 0)
		tk_buf_printf(&rb, "%sno engine worker reads the tick logs", rb.len ? "; " : "");
	tk_buf_puts(b, "],\"journal\":{");
	for (i = 0; i < c->seg.hdr->config.nlogs; i++) {
		const char *name = c->seg.hdr->config.logs[i].name;
		struct tk_log_region *log = tk_log_find(&c->seg, name);

		if (log == NULL)
			continue;
		tk_log_stats_read(log, &ls);
		for (j = 0; j < ls.nreaders; j++) {
			const struct tk_reader_stats *rs = &ls.readers[j];

			if (strcmp(rs->name, "persist") != 0)
				continue;
			if (!journal)
				tk_buf_puts(b, "\"durable\":{");
			else
				tk_buf_puts(b, ",");
			journal = true;
			/* The committed cursor is the first sequence not yet durable. */
			tk_json_str(b, name, strlen(name));
			tk_buf_printf(b, ":{\"seq\":%llu,\"lag\":%llu}",
				      (unsigned long long)(rs->cursor > 0 ? rs->cursor - 1 : 0),
				      (unsigned long long)rs->lag);
			if (!rs->alive)
				tk_buf_printf(&rb, "%sthe journal is not running (its cursor on %s)",
					      rb.len ? "; " : "", name);
		}
	}
	if (journal)
		tk_buf_puts(b, "},\"enabled\":true}");
	else
		tk_buf_puts(b, "\"enabled\":false}");
	tk_buf_puts(b, ",\"segment\":");
	tk_json_str(b, c->seg.path, strlen(c->seg.path));
	tk_buf_puts(b, ",\"uptime_s\":");
	tk_buf_i64(b, (now - c->started_ns) / 1000000000);
	tk_buf_puts(b, ",\"status\":");
	if (rb.len == 0) {
		tk_buf_puts(b, "\"ok\"}");
		return;
	}
	tk_buf_puts(b, "\"degraded\",\"reason\":");
	tk_json_str(b, reasons, rb.len);
	tk_buf_puts(b, "}");
	o->status = 503;
	tka_resp_header(o, "Retry-After: 5");
}

/* ------------------------------------------------------------- status */

void tka_get_status(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	const struct tk_seg_config *cfg = &c->seg.hdr->config;
	struct tk_buf *b = &o->body;
	size_t i;
	unsigned shown = 0;

	if (tka_params_allow(r, "", o) < 0)
		return;
	tka_json(o, 200);
	tk_buf_puts(b, "{\"version\":\"" TK_TICKD_VERSION "\",\"segment\":{\"path\":");
	tk_json_str(b, c->seg.path, strlen(c->seg.path));
	tk_buf_printf(b, ",\"abi\":%u,\"symbol_capacity\":%u,\"symbols\":%u,\"logs\":[",
		      c->seg.hdr->abi_version, cfg->symbol_capacity,
		      tk_symtab_count(tk_symtab_of(&c->seg)));
	for (i = 0; i < cfg->nlogs; i++) {
		if (i > 0)
			tk_buf_puts(b, ",");
		tk_buf_puts(b, "{\"name\":");
		tk_json_str(b, cfg->logs[i].name, strnlen(cfg->logs[i].name, TK_NAME_MAX));
		tk_buf_printf(b, ",\"slots\":%u,\"slot_size\":%u}", cfg->logs[i].nslots,
			      cfg->logs[i].slot_size);
	}
	tk_buf_puts(b, "]},\"api\":{\"listen\":");
	tk_json_str(b, c->listen != NULL ? c->listen : "", c->listen != NULL ? strlen(c->listen) : 0);
	tk_buf_puts(b, ",\"data_dir\":");
	tk_json_str(b, c->data_dir != NULL ? c->data_dir : "",
		    c->data_dir != NULL ? strlen(c->data_dir) : 0);
	tk_buf_puts(b, "},\"settings\":{");
	/* Every setting the environment or the file gives, with where it came
	 * from (the values tickd run hands its children on their command lines
	 * are in their own --help): secrets redacted. */
	for (i = 0; i < tk_nsettings; i++) {
		const struct tk_setting *s = &tk_settings[i];
		char origin[256], key[96];
		const char *v = tk_config_lookup(s, origin, sizeof(origin));

		if (v == NULL)
			continue;
		if (shown++ > 0)
			tk_buf_puts(b, ",");
		snprintf(key, sizeof(key), "%s.%s", s->section, s->name);
		tk_json_str(b, key, strlen(key));
		tk_buf_puts(b, ":{\"value\":");
		if (s->flags & TK_SET_SECRET)
			tk_buf_puts(b, "\"<redacted>\"");
		else
			tk_json_str(b, v, strlen(v));
		tk_buf_puts(b, ",\"from\":");
		tk_json_str(b, origin, strlen(origin));
		tk_buf_puts(b, "}");
	}
	tk_buf_puts(b, "}}");
}

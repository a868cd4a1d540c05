/*
 * GET /metrics: Prometheus text format (0.0.4) for every role, read from
 * the segment: the feeds' slots, the logs' counters and reader cursors, and
 * the roles' metrics slots (engine workers, journal, Kafka publisher, this
 * API).  Nothing is asked of any process.  The Finnhub producer the
 * pipelines ran named its metrics finnhub_messages_received_total and
 * websocket_connected: those names are kept; the rest are tickd_*.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "common/clock.h"
#include "feed/fh_parse.h"
#include "shm/feeds.h"
#include "shm/metrics.h"
#include "shm/stats.h"
#include "shm/symtab.h"

/* A label value, escaped as the format says (\\, \", \n). */
static void tka__lv(struct tk_buf *b, const char *v, size_t n)
{
	size_t i;

	tk_buf_puts(b, "\"");
	for (i = 0; i < n && v[i] != '\0'; i++) {
		if (v[i] == '\\' || v[i] == '"')
			tk_buf_put(b, "\\", 1);
		if (v[i] == '\n')
			tk_buf_puts(b, "\\n");
		else
			tk_buf_put(b, v + i, 1);
	}
	tk_buf_puts(b, "\"");
}

static void tka__family(struct tk_buf *b, const char *name, const char *type, const char *help)
{
	tk_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void tka__value(struct tk_buf *b, double v)
{
	if (v != v)
		tk_buf_puts(b, "NaN");
	else
		tk_json_double(b, v);
	tk_buf_puts(b, "\n");
}

/* Bucket bounds of every histogram, seconds. */
static const double tka__le[] = { 1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
				  1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5,
				  5, 10 };

/* One histogram's samples (its family printed by the caller); labels is
 * the text inside the braces, without them ("" for none). */
static void tka__hist(struct tk_buf *b, const char *name, const char *labels,
		      const struct tk_hist *h)
{
	static const size_t nle = sizeof(tka__le) / sizeof(tka__le[0]);
	uint64_t cum = 0, count = 0;
	uint32_t i = 0;
	size_t k;

	for (k = 0; k < nle; k++) {
		uint64_t bound = (uint64_t)(tka__le[k] * 1e9);

		/* Whole buckets whose values all lie at or below the bound. */
		while (i < TK_HIST_BUCKETS &&
		       (i + 1 < TK_HIST_BUCKETS ? tk_hist_bucket_low(i + 1) - 1 : UINT64_MAX) <= bound) {
			cum += __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
			i++;
		}
		tk_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, labels[0] ? "," : "",
			      tka__le[k], (unsigned long long)cum);
	}
	for (; i < TK_HIST_BUCKETS; i++)
		cum += __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
	count = cum; /* +Inf: every bucket, read once, so the series stays monotone */
	tk_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, labels[0] ? "," : "",
		      (unsigned long long)count);
	tk_buf_printf(b, "%s_sum%s%s%s ", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "");
	tka__value(b, h->sum / 1e9);
	tk_buf_printf(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
		      labels[0] ? "}" : "", (unsigned long long)count);
}

/* ------------------------------------------------------------- feeds */

struct tka_feed_field {
	const char *name, *type, *help;
	size_t off; /* of a uint64_t in struct tk_feed_stats */
};

#define TKA_FF(n, t, h, f) { n, t, h, __builtin_offsetof(struct tk_feed_stats, f) }
static const struct tka_feed_field tka__feed_fields[] = {
	TKA_FF("finnhub_messages_received_total", "counter", "messages received from the source",
	       messages),
	TKA_FF("tickd_feed_received_bytes_total", "counter", "bytes of messages received", bytes),
	TKA_FF("tickd_feed_trades_total", "counter", "trades written as ticks", trades),
	TKA_FF("tickd_feed_trades_rejected_total", "counter", "trades rejected (bad fields)",
	       trades_rejected),
	TKA_FF("tickd_feed_invalid_messages_total", "counter", "messages rejected whole", invalid),
	TKA_FF("tickd_feed_pings_total", "counter", "pings from the server", pings),
	TKA_FF("tickd_feed_server_errors_total", "counter", "error messages from the server", errors),
	TKA_FF("tickd_feed_unknown_messages_total", "counter", "messages of a type not used",
	       unknown),
	TKA_FF("tickd_feed_duplicates_total", "counter", "messages dropped by the dedupe window",
	       duplicates),
	TKA_FF("tickd_feed_heartbeats_total", "counter", "heartbeats written", heartbeats),
	TKA_FF("tickd_feed_gaps_total", "counter", "gap events written (reconnects that lost time)",
	       gaps),
	TKA_FF("tickd_feed_connects_total", "counter", "connections made", connects),
	TKA_FF("tickd_feed_reconnects_total", "counter", "reconnections", reconnects),
	TKA_FF("tickd_feed_subscribe_rejected_total", "counter", "symbols the server refused",
	       subscribe_rejected),
	TKA_FF("tickd_feed_control_rejected_total", "counter", "control requests refused",
	       ctl_rejected),
};

static void tka__feed_labels(char *out, size_t cap, const struct tk_feed_stats *f)
{
	char src[40];
	struct tk_buf lb;

	tk_buf_init(&lb, src, sizeof(src));
	tka__lv(&lb, f->source, sizeof(f->source));
	snprintf(out, cap, "feed=\"%u\",source=%s", f->feed, src);
}

static void tka__feeds(struct tk_buf *b, const struct tk_segment *seg)
{
	const struct tk_feeds_region *fr = tk_feeds_of(seg);
	int64_t now = tk_wall_ns();
	char labels[96];
	size_t k;
	unsigned i, r;

	if (fr == NULL)
		return;
	for (k = 0; k < sizeof(tka__feed_fields) / sizeof(tka__feed_fields[0]); k++) {
		tka__family(b, tka__feed_fields[k].name, tka__feed_fields[k].type, tka__feed_fields[k].help);
		for (i = 0; i < TK_FEEDS_MAX; i++) {
			const struct tk_feed_stats *f = &fr->slot[i];

			if (f->pid == 0)
				continue;
			tka__feed_labels(labels, sizeof(labels), f);
			tk_buf_printf(b, "%s{%s} %llu\n", tka__feed_fields[k].name, labels,
				      (unsigned long long)__atomic_load_n(
					      (const uint64_t *)((const char *)f + tka__feed_fields[k].off),
					      __ATOMIC_RELAXED));
		}
	}
	tka__family(b, "tickd_feed_rejected_total", "counter",
		    "trades and messages rejected, by the parser's reason");
	for (i = 0; i < TK_FEEDS_MAX; i++) {
		const struct tk_feed_stats *f = &fr->slot[i];

		if (f->pid == 0)
			continue;
		tka__feed_labels(labels, sizeof(labels), f);
		for (r = 1; r < TK_FH_NREASONS && r < TK_FEED_REASONS; r++)
			tk_buf_printf(b, "tickd_feed_rejected_total{%s,reason=\"%s\"} %llu\n", labels,
				      tk_fh_reason_name((enum tk_fh_reason)r),
				      (unsigned long long)f->rejected_by[r]);
	}
	tka__family(b, "websocket_connected", "gauge", "1 while the feed's connection is up");
	for (i = 0; i < TK_FEEDS_MAX; i++) {
		const struct tk_feed_stats *f = &fr->slot[i];
		bool alive = f->pid > 0 && (kill(f->pid, 0) == 0 || errno == EPERM);

		if (f->pid == 0)
			continue;
		tka__feed_labels(labels, sizeof(labels), f);
		tk_buf_printf(b, "websocket_connected{%s} %d\n", labels, alive && f->connected ? 1 : 0);
	}
	tka__family(b, "tickd_feed_subscribed_symbols", "gauge", "symbols subscribed now");
	for (i = 0; i < TK_FEEDS_MAX; i++)
		if (fr->slot[i].pid != 0) {
			tka__feed_labels(labels, sizeof(labels), &fr->slot[i]);
			tk_buf_printf(b, "tickd_feed_subscribed_symbols{%s} %u\n", labels,
				      fr->slot[i].subscribed);
		}
	tka__family(b, "tickd_feed_last_message_age_seconds", "gauge",
		    "seconds since the feed's last message (NaN: none yet)");
	for (i = 0; i < TK_FEEDS_MAX; i++) {
		const struct tk_feed_stats *f = &fr->slot[i];

		if (f->pid == 0)
			continue;
		tka__feed_labels(labels, sizeof(labels), f);
		tk_buf_printf(b, "tickd_feed_last_message_age_seconds{%s} ", labels);
		tka__value(b, f->last_msg_ns > 0 ? (double)(now - f->last_msg_ns) / 1e9 : (double)NAN);
	}
	tka__family(b, "tickd_feed_parse_seconds", "histogram",
		    "time to parse and write one message");
	for (i = 0; i < TK_FEEDS_MAX; i++)
		if (fr->slot[i].pid != 0) {
			tka__feed_labels(labels, sizeof(labels), &fr->slot[i]);
			tka__hist(b, "tickd_feed_parse_seconds", labels, &fr->slot[i].parse_ns);
		}
}

/* ------------------------------------------------------------- logs */

static void tka__logs(struct tk_buf *b, const struct tk_segment *seg)
{
	static _Thread_local struct tk_log_stats *ls; /* [TK_SEG_MAX_LOGS], 10 KB each */
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "tickd_log_write_seq", "gauge", "sequence of the last record written" },
		{ "tickd_log_writer_waits_total", "counter", "times the writer waited for a reader" },
		{ "tickd_log_writer_wait_seconds_total", "counter", "time the writer spent waiting" },
		{ "tickd_log_releases_dead_total", "counter", "gating readers released as dead" },
		{ "tickd_log_releases_stalled_total", "counter", "gating readers released as stalled" },
		{ "tickd_reader_lag", "gauge", "records written and not yet consumed by the reader" },
		{ "tickd_reader_skipped_total", "counter", "records the reader missed (lapped, released)" },
		{ "tickd_reader_releases_total", "counter", "times the reader was released" },
		{ "tickd_reader_up", "gauge", "1 while the reader's process lives" },
	};
	uint32_t n = seg->hdr->config.nlogs, i, j;
	size_t f;

	if (ls == NULL && (ls = calloc(TK_SEG_MAX_LOGS, sizeof(*ls))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		struct tk_log_region *log = tk_log_find(seg, seg->hdr->config.logs[i].name);

		if (log != NULL)
			tk_log_stats_read(log, &ls[i]);
		else
			memset(&ls[i], 0, sizeof(ls[i]));
	}
	for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		tka__family(b, fam[f].name, fam[f].type, fam[f].help);
		for (i = 0; i < n; i++) {
			const struct tk_log_stats *s = &ls[i];

			if (s->name[0] == '\0')
				continue;
			if (f < 5) {
				double v = f == 0 ? (double)s->write_seq : f == 1 ? (double)s->writer_waits
					 : f == 2 ? (double)s->writer_wait_ns / 1e9
					 : f == 3 ? (double)s->releases_dead : (double)s->releases_stall;

				tk_buf_printf(b, "%s{log=\"%s\"} ", fam[f].name, s->name);
				tka__value(b, v);
				continue;
			}
			for (j = 0; j < s->nreaders; j++) {
				const struct tk_reader_stats *r = &s->readers[j];
				double v = f == 5 ? (double)r->lag : f == 6 ? (double)r->skipped
					 : f == 7 ? (double)r->releases : r->alive ? 1 : 0;

				tk_buf_printf(b, "%s{log=\"%s\",reader=", fam[f].name, s->name);
				tka__lv(b, r->name, sizeof(r->name));
				tk_buf_puts(b, "} ");
				tka__value(b, v);
			}
		}
	}
}

/* ------------------------------------------------------------- roles */

static void tka__label_pair(struct tk_buf *b, const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (eq == NULL)
		return;
	tk_buf_puts(b, ",");
	tk_buf_put(b, kv, (size_t)(eq - kv));
	tk_buf_puts(b, "=");
	tka__lv(b, eq + 1, strlen(eq + 1));
}

static void tka__roles(struct tk_buf *b, const struct tk_segment *seg)
{
	const struct tk_metrics_region *mr = tk_metrics_of(seg);
	unsigned i, k, i2, k2;

	if (mr == NULL)
		return;
	tka__family(b, "tickd_role_up", "gauge", "1 while the role's process lives");
	for (i = 0; i < TK_METRICS_SLOTS; i++) {
		const struct tk_role_slot *s = &mr->slot[i];
		int32_t pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);

		if (pid == 0)
			continue;
		tk_buf_puts(b, "tickd_role_up{role=");
		tka__lv(b, s->role, sizeof(s->role));
		tk_buf_printf(b, "} %d\n", kill(pid, 0) == 0 || errno == EPERM ? 1 : 0);
	}
	tka__family(b, "tickd_role_start_time_seconds", "gauge", "when the role's process started");
	for (i = 0; i < TK_METRICS_SLOTS; i++) {
		const struct tk_role_slot *s = &mr->slot[i];

		if (__atomic_load_n(&s->pid, __ATOMIC_ACQUIRE) == 0)
			continue;
		tk_buf_puts(b, "tickd_role_start_time_seconds{role=");
		tka__lv(b, s->role, sizeof(s->role));
		tk_buf_puts(b, "} ");
		tka__value(b, (double)s->started_ns / 1e9);
	}
	/* Each metric name once, with the samples of every slot that has it:
	 * a family's samples must be together. */
	for (i = 0; i < TK_METRICS_SLOTS; i++) {
		const struct tk_role_slot *s = &mr->slot[i];
		uint32_t nm = __atomic_load_n(&s->nmetrics, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&s->pid, __ATOMIC_ACQUIRE) == 0)
			continue;
		for (k = 0; k < nm && k < TK_METRICS_PER_SLOT; k++) {
			const struct tk_metric *m = &s->m[k];
			bool seen = false;
			char name[80];

			if (m->name[0] == '\0')
				continue;
			/* Printed already with an earlier slot or metric? */
			for (i2 = 0; i2 <= i && !seen; i2++) {
				const struct tk_role_slot *s2 = &mr->slot[i2];
				uint32_t n2 = i2 == i ? k : __atomic_load_n(&s2->nmetrics, __ATOMIC_ACQUIRE);

				if (__atomic_load_n(&s2->pid, __ATOMIC_ACQUIRE) == 0)
					continue;
				for (k2 = 0; k2 < n2 && k2 < TK_METRICS_PER_SLOT && !seen; k2++)
					seen = strcmp(s2->m[k2].name, m->name) == 0;
			}
			if (seen)
				continue;
			snprintf(name, sizeof(name), "tickd_%.56s", m->name);
			tka__family(b, name, m->kind == TK_METRIC_COUNTER ? "counter" : "gauge", m->help);
			for (i2 = i; i2 < TK_METRICS_SLOTS; i2++) {
				const struct tk_role_slot *s2 = &mr->slot[i2];
				uint32_t n2 = __atomic_load_n(&s2->nmetrics, __ATOMIC_ACQUIRE);

				if (__atomic_load_n(&s2->pid, __ATOMIC_ACQUIRE) == 0)
					continue;
				for (k2 = i2 == i ? k : 0; k2 < n2 && k2 < TK_METRICS_PER_SLOT; k2++) {
					const struct tk_metric *m2 = &s2->m[k2];
					double v;

					if (strcmp(m2->name, m->name) != 0)
						continue;
					tk_buf_printf(b, "%s{role=", name);
					tka__lv(b, s2->role, sizeof(s2->role));
					if (m2->label > 0 && m2->label <= 8)
						tka__label_pair(b, s2->labels[m2->label - 1]);
					__atomic_load(&m2->value, &v, __ATOMIC_RELAXED);
					tk_buf_puts(b, "} ");
					tka__value(b, v);
				}
			}
		}
	}
	/* Histograms, grouped by name the same way. */
	for (i = 0; i < TK_METRICS_SLOTS; i++) {
		const struct tk_role_slot *s = &mr->slot[i];

		if (__atomic_load_n(&s->pid, __ATOMIC_ACQUIRE) == 0)
			continue;
		for (k = 0; k < TK_METRICS_HISTS; k++) {
			bool seen = false;
			char name[80];

			if (!__atomic_load_n(&s->hist[k].used, __ATOMIC_ACQUIRE))
				continue;
			for (i2 = 0; i2 <= i && !seen; i2++)
				for (k2 = 0; k2 < (i2 == i ? k : TK_METRICS_HISTS) && !seen; k2++)
					seen = __atomic_load_n(&mr->slot[i2].pid, __ATOMIC_ACQUIRE) != 0 &&
					       mr->slot[i2].hist[k2].used &&
					       strcmp(mr->slot[i2].hist[k2].name, s->hist[k].name) == 0;
			if (seen)
				continue;
			snprintf(name, sizeof(name), "tickd_%.56s", s->hist[k].name);
			tka__family(b, name, "histogram", "latency, seconds");
			for (i2 = i; i2 < TK_METRICS_SLOTS; i2++)
				for (k2 = i2 == i ? k : 0; k2 < TK_METRICS_HISTS; k2++) {
					const struct tk_role_slot *s2 = &mr->slot[i2];
					char labels[64];
					struct tk_buf lb;

					if (__atomic_load_n(&s2->pid, __ATOMIC_ACQUIRE) == 0 ||
					    !s2->hist[k2].used || strcmp(s2->hist[k2].name, s->hist[k].name) != 0)
						continue;
					tk_buf_init(&lb, labels, sizeof(labels));
					tk_buf_puts(&lb, "role=");
					tka__lv(&lb, s2->role, sizeof(s2->role));
					tka__hist(b, name, labels, &s2->hist[k2].h);
				}
		}
	}
}

void tka_get_metrics(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	struct tk_buf *b = &o->body;

	if (tka_params_allow(r, "", o) < 0)
		return;
	tka_json(o, 200);
	o->content_type = "text/plain; version=0.0.4; charset=utf-8";
	tka__family(b, "tickd_symbols", "gauge", "symbols the segment knows");
	tk_buf_printf(b, "tickd_symbols %u\n", tk_symtab_count(tk_symtab_of(&c->seg)));
	tka__feeds(b, &c->seg);
	tka__logs(b, &c->seg);
	tka__roles(b, &c->seg);
}

/* ------------------------------------------------------------- the API's own */

enum { TKA_M_REQ_2XX, TKA_M_REQ_4XX, TKA_M_REQ_5XX, TKA_M_REQ_429, TKA_M_INDEXED,
       TKA_M_PORTFOLIO_CHANGES, TKA_M_WS, TKA_M_N = TKA_M_WS + TKA_WS_COUNTS };

/* The stream's, in the order of TKA_WS_*. */
static const struct {
	const char *name;
	enum tk_metric_kind kind;
	const char *help;
} tka__ws_metrics[TKA_WS_COUNTS] = {
	{ "api_ws_clients", TK_METRIC_GAUGE, "WebSocket clients connected (/ws, /ws/finnhub)" },
	{ "api_ws_messages_total", TK_METRIC_COUNTER, "stream messages sent: trades, bars, signals, quotes" },
	{ "api_ws_frames_total", TK_METRIC_COUNTER, "stream frames of data messages sent" },
	{ "api_ws_gaps_total", TK_METRIC_COUNTER, "stream clients conflated, each told its gap" },
	{ "api_ws_closed_slow_total", TK_METRIC_COUNTER, "stream clients closed: 3 gaps in 30 s, or not reading" },
	{ "api_ws_bad_messages_total", TK_METRIC_COUNTER, "stream client messages answered with an error" },
	{ "api_ws_refused_total", TK_METRIC_COUNTER, "WebSocket upgrades refused: path, limits" },
	{ "api_ws_bad_records_total", TK_METRIC_COUNTER, "log records too big for a stream message" },
};

void tka_metrics_open(struct tka_ctx *c)
{
	/* A segment this user may only read: serve without a slot of its own.
	 * A second API on the segment (another port) is api@<listen>: two
	 * live slots of one name would be one series twice. */
	struct tk_metrics_region *mr = tk_metrics_of(&c->seg);
	char role[32] = "api";
	struct tk_role_slot *s;

	for (unsigned i = 0; mr != NULL && i < TK_METRICS_SLOTS; i++) {
		int32_t pid = __atomic_load_n(&mr->slot[i].pid, __ATOMIC_ACQUIRE);

		if (pid != 0 && pid != (int32_t)getpid() && strcmp(mr->slot[i].role, "api") == 0 &&
		    (kill(pid, 0) == 0 || errno == EPERM))
			snprintf(role, sizeof(role), "api@%s", c->listen != NULL ? c->listen : "?");
	}
	s = c->seg.readers_writable ? tk_metrics_claim(mr, role) : NULL;

	c->metrics = s;
	if (s == NULL)
		return;
	tk_metric_label(s, 0, "code=2xx");
	tk_metric_label(s, 1, "code=4xx");
	tk_metric_label(s, 2, "code=5xx");
	tk_metric_label(s, 3, "code=429");
	tk_metric_define(s, TKA_M_REQ_2XX, "api_requests_total", TK_METRIC_COUNTER, 1,
			 "requests answered, by status class");
	tk_metric_define(s, TKA_M_REQ_4XX, "api_requests_total", TK_METRIC_COUNTER, 2,
			 "requests answered, by status class");
	tk_metric_define(s, TKA_M_REQ_5XX, "api_requests_total", TK_METRIC_COUNTER, 3,
			 "requests answered, by status class");
	tk_metric_define(s, TKA_M_REQ_429, "api_requests_total", TK_METRIC_COUNTER, 4,
			 "requests answered, by status class");
	tk_metric_define(s, TKA_M_INDEXED, "api_index_records_total", TK_METRIC_COUNTER, 0,
			 "bar and signal records the API indexed");
	tk_metric_define(s, TKA_M_PORTFOLIO_CHANGES, "api_portfolio_changes_total", TK_METRIC_COUNTER,
			 0, "portfolio changes written (fsynced)");
	for (unsigned i = 0; i < TKA_WS_COUNTS; i++)
		tk_metric_define(s, TKA_M_WS + i, tka__ws_metrics[i].name, tka__ws_metrics[i].kind, 0,
				 tka__ws_metrics[i].help);
	tk_metric_hist_define(s, 0, "api_request_seconds");
}

void tka_count_request(struct tka_ctx *c, int status, int64_t ns)
{
	unsigned cls = status == 429 ? 0 : status >= 100 && status < 600 ? (unsigned)status / 100 : 5;

	__atomic_add_fetch(&c->requests[cls], 1, __ATOMIC_RELAXED);
	if (c->metrics != NULL && ns >= 0) {
		struct tk_hist *h = &c->metrics->hist[0].h;

		/* Many threads record: one atomic add per bucket and count. */
		__atomic_add_fetch(&h->buckets[tk_hist_index((uint64_t)ns)], 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&c->latency_sum_ns, (uint64_t)ns, __ATOMIC_RELAXED);
	}
}

void tka_publish(struct tka_ctx *c)
{
	struct tk_role_slot *s = c->metrics;
	uint64_t idx = 0;
	unsigned i;

	if (s == NULL)
		return;
	tk_metric_set(s, TKA_M_REQ_2XX, (double)(__atomic_load_n(&c->requests[1], __ATOMIC_RELAXED) +
						 __atomic_load_n(&c->requests[2], __ATOMIC_RELAXED) +
						 __atomic_load_n(&c->requests[3], __ATOMIC_RELAXED)));
	tk_metric_set(s, TKA_M_REQ_4XX, (double)__atomic_load_n(&c->requests[4], __ATOMIC_RELAXED));
	tk_metric_set(s, TKA_M_REQ_5XX, (double)__atomic_load_n(&c->requests[5], __ATOMIC_RELAXED));
	tk_metric_set(s, TKA_M_REQ_429, (double)__atomic_load_n(&c->requests[0], __ATOMIC_RELAXED));
	for (i = 0; i < c->index.n; i++)
		idx += __atomic_load_n(&c->index.log[i].indexed, __ATOMIC_RELAXED);
	tk_metric_set(s, TKA_M_INDEXED, (double)idx);
	struct tka_portfolio *p = __atomic_load_n(&c->portfolio, __ATOMIC_ACQUIRE);

	if (p != NULL)
		tk_metric_set(s, TKA_M_PORTFOLIO_CHANGES, (double)__atomic_load_n(&p->changes, __ATOMIC_RELAXED));
	for (i = 0; i < TKA_WS_COUNTS; i++)
		tk_metric_set(s, TKA_M_WS + i, (double)__atomic_load_n(&c->ws[i], __ATOMIC_RELAXED));
	s->hist[0].h.sum = (double)__atomic_load_n(&c->latency_sum_ns, __ATOMIC_RELAXED);
}

/*
 * The history endpoints: /ohlcv/{tf}, /indicators/{tf}, /signals/recent
 * and Finnhub's /api/v1/stock/candle.
 *
 * Each answer is one time range of one stream, newest rows last.  The
 * newest part comes from shared memory (the bar history rings for OHLCV,
 * the API's index of the bar and signal logs for indicators and signals),
 * the older part from the journal, with the boundary at the oldest record
 * shared memory still holds: a bar is in exactly one of the two parts.
 * The journal is read only when shared memory does not fill the answer.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/opts.h"
#include "persist/query.h"
#include "shm/history.h"
#include "shm/records.h"
#include "shm/render.h"
#include "shm/symtab.h"

#define TKA_NS_PER_MS 1000000LL
#define TKA_NS_PER_DAY (86400LL * 1000000000LL)
#define TKA_SHM_ROWS_MAX 10000 /* rows a walk of the index gathers at most */
#define TKA_CANDLES_MAX 50000  /* base bars a candle answer may aggregate */

struct tka_row {
	uint64_t seq;  /* 0 for a bar from the history ring (it keeps none) */
	uint32_t type; /* TK_REC_BAR or TK_REC_SIGNAL */
	uint32_t aux;
	union {
		struct tk_bar_rec bar;
		struct tk_signal_rec sig;
	} u;
	char symbol[TK_NAME_MAX];
};

static int64_t tka__time_of(const struct tka_row *w)
{
	return w->type == TK_REC_BAR ? w->u.bar.window_start : w->u.sig.ts_ns;
}

/* What a scan gives each row to, oldest first. */
typedef int (*tka_row_fn)(void *ctx, const struct tka_row *w);

/* The newest `cap` rows pushed, oldest first (a ring). */
struct tka_rows {
	struct tka_row *v;
	uint64_t cap, n, start;
};

static int tka__rows_init(struct tka_rows *s, uint64_t cap)
{
	s->cap = cap > 0 ? cap : 1;
	s->n = s->start = 0;
	s->v = malloc(s->cap * sizeof(*s->v));
	return s->v != NULL ? 0 : -ENOMEM;
}

static int tka__rows_push(void *ctx, const struct tka_row *w)
{
	struct tka_rows *s = ctx;

	if (s->n < s->cap) {
		s->v[(s->start + s->n) % s->cap] = *w;
		s->n++;
	} else {
		s->v[s->start] = *w;
		s->start = (s->start + 1) % s->cap;
	}
	return 0;
}

static const struct tka_row *tka__rows_at(const struct tka_rows *s, uint64_t i)
{
	return &s->v[(s->start + i) % s->cap];
}

/* ------------------------------------------------------------- query */

struct tka_query {
	uint32_t type;       /* TK_REC_BAR or TK_REC_SIGNAL */
	int64_t tf_ns;       /* bars: the timeframe; signals: 0 (all) or the bar timeframe */
	const char *symbol;  /* NULL: every symbol (signals only) */
	int32_t id;          /* its id in the segment, -1 if none */
	int64_t from, to;    /* [from, to) by event time */
	uint32_t kind;       /* signals: 0 any, else TK_SIGNAL_* */
	bool ohlcv_only;     /* the history rings will do (no indicators needed) */
	/* How far out of time order a log may hold its records: 0 for a bar
	 * log (one symbol's bars close in window order); for the signal log
	 * the longest timeframe, whose bars close beside shorter ones that
	 * ended later. */
	int64_t slack;
	bool has_before;     /* the page before (before_t, before_seq) */
	int64_t before_t;
	uint64_t before_seq;
};

static bool tka__wanted(const struct tka_query *q, const struct tka_row *w)
{
	int64_t t = tka__time_of(w);

	if (t < q->from || t >= q->to)
		return false;
	if (q->has_before && (t > q->before_t || (t == q->before_t && w->seq >= q->before_seq)))
		return false;
	if (q->type == TK_REC_SIGNAL && q->kind != 0 && w->u.sig.kind != q->kind)
		return false;
	if (q->type == TK_REC_SIGNAL && q->tf_ns != 0 && w->u.sig.tf_ns != q->tf_ns)
		return false;
	return true;
}

/* The logs that carry the query's records: bars.<tf>[.<shard>] or signals[.<shard>]. */
static unsigned tka__logs(const struct tka_ctx *c, const struct tka_query *q, unsigned *out)
{
	unsigned i, n = 0;

	for (i = 0; i < c->index.n; i++)
		if (c->index.log[i].type == q->type &&
		    (q->type != TK_REC_BAR || c->index.log[i].tf_ns == q->tf_ns))
			out[n++] = i;
	return n;
}

/* A walk of the index into a descending array. */
struct tka_walk {
	const struct tka_query *q;
	const struct tka_ctx *c;
	struct tka_row *v;
	uint64_t n, cap;
	int64_t oldest; /* time of the oldest record seen (any symbol or kind) */
};

static int tka__walk_one(void *ctx, const struct tk_slot *slot)
{
	struct tka_walk *w = ctx;
	struct tka_row row;
	size_t len = w->q->type == TK_REC_BAR ? sizeof(row.u.bar) : sizeof(row.u.sig);
	const char *name;

	memset(&row, 0, sizeof(row));
	row.seq = slot->seq;
	row.type = slot->type;
	row.aux = slot->aux;
	memcpy(&row.u, slot->data, len);
	w->oldest = tka__time_of(&row);
	if (w->oldest < w->q->from && w->q->from - w->oldest > w->q->slack)
		return 1; /* older than the range (and its slack): the walk is done */
	if (!tka__wanted(w->q, &row))
		return 0;
	name = tk_symtab_name(tk_symtab_of(&w->c->seg), (int32_t)row.aux);
	snprintf(row.symbol, sizeof(row.symbol), "%s", name != NULL ? name : "");
	if (w->n == w->cap)
		return 1; /* enough: the journal gives what is older */
	w->v[w->n++] = row;
	return 0;
}

/*
 * The query's rows still in shared memory, oldest first, to fn (at most
 * want of the newest); *boundary = the time of the oldest record shared
 * memory still holds, below which (plus the query's slack) the journal
 * must answer (INT64_MAX: shared memory holds nothing of it).
 */
static int tka__shm_rows(struct tka_ctx *c, const struct tka_query *q, uint64_t want,
			 tka_row_fn fn, void *fctx, int64_t *boundary)
{
	struct tk_history_region *h = tk_history_of(&c->seg);
	int t = h != NULL ? tk_history_tf(h, q->tf_ns) : -1;
	unsigned logs[TKA_INDEX_MAX_LOGS], nlogs, i;
	struct tka_walk w;
	uint64_t k;

	*boundary = INT64_MAX;
	if (q->type == TK_REC_BAR && q->ohlcv_only && t >= 0 && q->id >= 0 &&
	    (uint32_t)q->id < h->nsym) {
		uint32_t depth = h->depth[t], n;
		struct tk_hist_bar *bars = malloc((size_t)depth * sizeof(*bars));

		if (bars == NULL)
			return -ENOMEM;
		n = tk_history_read(h, t, (uint32_t)q->id, bars, depth);
		if (n > 0)
			*boundary = bars[0].window_start;
		for (k = 0; k < n; k++) {
			struct tka_row row;

			if (bars[k].window_start < q->from || bars[k].window_start >= q->to)
				continue;
			memset(&row, 0, sizeof(row));
			row.type = TK_REC_BAR;
			row.aux = (uint32_t)q->id;
			row.u.bar.window_start = bars[k].window_start;
			row.u.bar.tf_ns = q->tf_ns;
			row.u.bar.open = bars[k].open;
			row.u.bar.high = bars[k].high;
			row.u.bar.low = bars[k].low;
			row.u.bar.close = bars[k].close;
			row.u.bar.volume = bars[k].volume;
			row.u.bar.vwap = bars[k].vwap;
			row.u.bar.trade_count = bars[k].trade_count;
			snprintf(row.symbol, sizeof(row.symbol), "%s", q->symbol);
			fn(fctx, &row);
		}
		free(bars);
		return 0;
	}
	if (q->symbol != NULL && q->id < 0)
		return 0; /* the segment does not know it: all from the journal */
	memset(&w, 0, sizeof(w));
	w.q = q;
	w.c = c;
	w.cap = want < TKA_SHM_ROWS_MAX ? want : TKA_SHM_ROWS_MAX;
	w.v = malloc((w.cap > 0 ? w.cap : 1) * sizeof(*w.v));
	if (w.v == NULL)
		return -ENOMEM;
	nlogs = tka__logs(c, q, logs);
	for (i = 0; i < nlogs; i++) {
		uint64_t before = w.n;

		w.oldest = INT64_MAX;
		if (tka_index_walk(&c->index, logs[i], q->symbol != NULL ? q->id : -1, tka__walk_one,
				   &w) == 0 && w.n == before)
			continue; /* nothing of it in this log (another shard's symbol) */
		if (w.oldest < *boundary || *boundary == INT64_MAX)
			*boundary = w.oldest;
		if (q->symbol != NULL && w.n > before)
			break; /* a symbol lives in one shard */
	}
	/* Several shards' signals: newest first within each; merge by time. */
	if (nlogs > 1 && q->symbol == NULL) {
		uint64_t a, b;

		for (a = 1; a < w.n; a++)
			for (b = a; b > 0 && tka__time_of(&w.v[b - 1]) < tka__time_of(&w.v[b]); b--) {
				struct tka_row tmp = w.v[b];

				w.v[b] = w.v[b - 1];
				w.v[b - 1] = tmp;
			}
	}
	/* A walk that gathered all it may stops there: what is older is the
	 * journal's (the boundary is the oldest row kept). */
	if (w.n == w.cap && w.n > 0 && tka__time_of(&w.v[w.n - 1]) > *boundary)
		*boundary = tka__time_of(&w.v[w.n - 1]);
	for (k = w.n; k-- > 0;)
		fn(fctx, &w.v[k]);
	free(w.v);
	return 0;
}

/* The journal part: records of [q->from, to) of every log of the query. */
struct tka_jctx {
	const struct tka_query *q;
	tka_row_fn fn;
	void *fctx;
};

static int tka__journal_one(void *ctx, const void *slot, uint32_t record_size, const char *symbol,
			    const char *log)
{
	struct tka_jctx *j = ctx;
	const struct tk_slot *s = slot;
	struct tka_row row;
	size_t len = j->q->type == TK_REC_BAR ? sizeof(row.u.bar) : sizeof(row.u.sig);

	(void)log;
	if (s->type != j->q->type || record_size < TK_SLOT_HEADER + len)
		return 0;
	memset(&row, 0, sizeof(row));
	row.seq = s->seq;
	row.type = s->type;
	row.aux = s->aux;
	memcpy(&row.u, (const uint8_t *)slot + TK_SLOT_HEADER, len);
	snprintf(row.symbol, sizeof(row.symbol), "%s", symbol != NULL ? symbol : "");
	if (!tka__wanted(j->q, &row))
		return 0;
	return j->fn(j->fctx, &row);
}

static int tka__journal_rows(struct tka_ctx *c, const struct tka_query *q, int64_t to,
			     tka_row_fn fn, void *fctx)
{
	unsigned logs[TKA_INDEX_MAX_LOGS], nlogs = tka__logs(c, q, logs), i;
	struct tka_jctx j = { .q = q, .fn = fn, .fctx = fctx };
	int rc = 0;

	if (c->data_dir == NULL || c->data_dir[0] == '\0' || to <= q->from)
		return 0;
	for (i = 0; i < nlogs; i++) {
		struct tkj_query jq = {
			.dir = c->data_dir, .stream = c->index.log[logs[i]].name, .symbol = q->symbol,
			.from_ns = q->from, .to_ns = to, .late_days = 1,
		};
		struct tkj_query_stats st;
		int r = tkj_query_run(&jq, tka__journal_one, &j, &st);

		/* A stream the journal never wrote is not an error. */
		if (r < 0 && r != -ENOENT && rc == 0)
			rc = r;
	}
	return rc;
}

/* ------------------------------------------------------------- params */

/* date=, from=, to= (and the default: today, UTC). */
static int tka__range(struct tka_req *r, struct tka_resp *o, int64_t *from, int64_t *to)
{
	int64_t d = 0, f = 0, t = 0;
	bool has_d, has_f, has_t;

	if (tka_param_time(r, "date", &d, &has_d, o) < 0 || tka_param_time(r, "from", &f, &has_f, o) < 0 ||
	    tka_param_time(r, "to", &t, &has_t, o) < 0)
		return -EINVAL;
	if (has_d && (has_f || has_t)) {
		tka_problem(o, 400, "date", "give 'date' or 'from'/'to', not both");
		return -EINVAL;
	}
	if (has_d) {
		*from = d - (d % TKA_NS_PER_DAY + TKA_NS_PER_DAY) % TKA_NS_PER_DAY;
		if (__builtin_add_overflow(*from, TKA_NS_PER_DAY, to))
			*to = INT64_MAX; /* the last day int64 nanoseconds reach */
	} else if (has_f || has_t) {
		*to = has_t ? t : INT64_MAX;
		if (has_f) {
			*from = f;
		} else {
			/* to= alone: from the start of its UTC day */
			int64_t e = t - 1;

			*from = e - ((e % TKA_NS_PER_DAY) + TKA_NS_PER_DAY) % TKA_NS_PER_DAY;
		}
	} else {
		int64_t now = tk_wall_ns();

		*from = now - now % TKA_NS_PER_DAY;
		*to = *from + TKA_NS_PER_DAY;
	}
	if (*to <= *from) {
		tka_problem(o, 400, "to", "'to' must be after 'from'");
		return -EINVAL;
	}
	return 0;
}

/* The tf path segment: one of the segment's bar timeframes. */
int tka_path_tf(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o, int64_t *tf_ns)
{
	char have[160] = "";
	unsigned i;
	size_t n = 0;

	if (tk_tf_parse(r->seg[1], r->seg_len[1], tf_ns) == 0)
		for (i = 0; i < c->index.n; i++)
			if (c->index.log[i].type == TK_REC_BAR && c->index.log[i].tf_ns == *tf_ns)
				return 0;
	for (i = 0; i < c->index.n; i++) {
		char tf[16];
		unsigned k;
		bool seen = false;

		/* Each timeframe once, whatever the shards. */
		for (k = 0; k < i && !seen; k++)
			seen = c->index.log[k].type == TK_REC_BAR && c->index.log[k].tf_ns == c->index.log[i].tf_ns;
		if (c->index.log[i].type != TK_REC_BAR || seen)
			continue;
		tk_tf_name(c->index.log[i].tf_ns, tf, sizeof(tf));
		n += (size_t)snprintf(have + n, sizeof(have) - n, "%s%s", n ? ", " : "", tf);
		if (n >= sizeof(have))
			break;
	}
	tka_problem(o, 404, "tf", "no timeframe '%.16s' here (the engine makes %s)", r->seg[1], have);
	return -ENOENT;
}

static void tka__ms_or_null(struct tk_buf *b, int64_t ns)
{
	if (ns == INT64_MAX || ns == INT64_MIN)
		tk_buf_puts(b, "null");
	else
		tk_buf_i64(b, ns / TKA_NS_PER_MS - (ns % TKA_NS_PER_MS < 0));
}

/* ------------------------------------------------------------- answers */

enum tka_render { TKA_OHLCV, TKA_INDICATORS, TKA_SIGNALS };

static void tka__render_row(struct tk_buf *b, const struct tka_row *w, enum tka_render how)
{
	/* One timeframe per answer: its name made once, not per row. */
	static _Thread_local int64_t tf_ns;
	static _Thread_local char tf[16];

	if (how != TKA_OHLCV) {
		tk_render_json_named(b, w->seq, w->type, w->aux, &w->u,
				     w->type == TK_REC_BAR ? sizeof(w->u.bar) : sizeof(w->u.sig),
				     w->symbol[0] != '\0' ? w->symbol : NULL);
		return;
	}
	if (tf_ns != w->u.bar.tf_ns || tf[0] == '\0') {
		tk_tf_name(w->u.bar.tf_ns, tf, sizeof(tf));
		tf_ns = w->u.bar.tf_ns;
	}
	tk_buf_puts(b, "{\"symbol\":");
	tk_json_str(b, w->symbol, strlen(w->symbol));
	tk_buf_puts(b, ",\"tf\":\"");
	tk_buf_puts(b, tf);
	tk_buf_puts(b, "\",\"window_start\":");
	tka__ms_or_null(b, w->u.bar.window_start);
	tk_buf_puts(b, ",\"open\":");
	tk_json_double(b, w->u.bar.open);
	tk_buf_puts(b, ",\"high\":");
	tk_json_double(b, w->u.bar.high);
	tk_buf_puts(b, ",\"low\":");
	tk_json_double(b, w->u.bar.low);
	tk_buf_puts(b, ",\"close\":");
	tk_json_double(b, w->u.bar.close);
	tk_buf_puts(b, ",\"volume\":");
	tk_json_double(b, w->u.bar.volume);
	tk_buf_puts(b, ",\"vwap\":");
	tk_json_double(b, w->u.bar.vwap);
	tk_buf_puts(b, ",\"trade_count\":");
	tk_buf_u64(b, w->u.bar.trade_count);
	tk_buf_puts(b, "}");
}

/* The newest `cap` rows by (time, seq), as a min-heap: the journal part,
 * whose files need not hold one stream in time order. */
struct tka_top {
	struct tka_row *v;
	uint64_t n, cap;
};

static bool tka__older(const struct tka_row *a, const struct tka_row *b)
{
	int64_t ta = tka__time_of(a), tb = tka__time_of(b);

	return ta < tb || (ta == tb && a->seq < b->seq);
}

static void tka__top_sift(struct tka_top *h, uint64_t i)
{
	for (;;) {
		uint64_t l = 2 * i + 1, r = l + 1, m = i;
		struct tka_row tmp;

		if (l < h->n && tka__older(&h->v[l], &h->v[m]))
			m = l;
		if (r < h->n && tka__older(&h->v[r], &h->v[m]))
			m = r;
		if (m == i)
			return;
		tmp = h->v[i];
		h->v[i] = h->v[m];
		h->v[m] = tmp;
		i = m;
	}
}

static int tka__top_push(void *ctx, const struct tka_row *w)
{
	struct tka_top *h = ctx;
	uint64_t i;

	if (h->n < h->cap) {
		i = h->n++;
		h->v[i] = *w;
		while (i > 0 && tka__older(&h->v[i], &h->v[(i - 1) / 2])) {
			struct tka_row tmp = h->v[i];

			h->v[i] = h->v[(i - 1) / 2];
			h->v[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
	} else if (h->cap > 0 && tka__older(&h->v[0], w)) {
		h->v[0] = *w;
		tka__top_sift(h, 0);
	}
	return 0;
}

static int tka__row_cmp(const void *a, const void *b)
{
	const struct tka_row *x = a, *y = b;

	if (tka__older(x, y))
		return -1;
	if (tka__older(y, x))
		return 1;
	return strcmp(x->symbol, y->symbol);
}

static bool tka__same(const struct tka_row *a, const struct tka_row *b)
{
	return a->seq == b->seq && a->type == b->type && strcmp(a->symbol, b->symbol) == 0 &&
	       memcmp(&a->u, &b->u, a->type == TK_REC_BAR ? sizeof(a->u.bar) : sizeof(a->u.sig)) == 0;
}

/*
 * Rows of q, the newest `limit` by (time, seq), oldest first, into *out
 * (malloc'd) and *n: shared memory, then the journal below shared memory's
 * boundary (plus the slack) when shared memory does not fill the answer.
 * A record in both parts (the slack's overlap) is given once.
 */
static int tka__collect(struct tka_ctx *c, const struct tka_query *q, uint64_t limit,
			struct tka_row **out, uint64_t *n)
{
	struct tka_rows shm;
	struct tka_top top = { .cap = limit };
	uint64_t want = limit, i, k, m;
	int64_t tmin = INT64_MAX;
	int64_t boundary, jend;
	struct tka_row *all;
	int rc;

	*out = NULL;
	*n = 0;
	if (tka__rows_init(&shm, want) < 0)
		return -ENOMEM;
	rc = tka__shm_rows(c, q, want, tka__rows_push, &shm, &boundary);
	jend = boundary == INT64_MAX || boundary > q->to - q->slack ? q->to : boundary + q->slack;
	/* Shared memory fills the answer when it holds `limit` rows all newer
	 * than anything the journal part could add. */
	for (i = 0; i < shm.n; i++)
		if (tka__time_of(tka__rows_at(&shm, i)) < tmin)
			tmin = tka__time_of(tka__rows_at(&shm, i));
	if (rc == 0 && (shm.n < limit || tmin < jend) && jend > q->from) {
		top.v = malloc(limit * sizeof(*top.v));
		if (top.v == NULL)
			rc = -ENOMEM;
		else
			rc = tka__journal_rows(c, q, jend, tka__top_push, &top);
	}
	all = malloc((shm.n + top.n + 1) * sizeof(*all));
	if (all == NULL) {
		free(shm.v);
		free(top.v);
		return -ENOMEM;
	}
	for (i = 0; i < shm.n; i++)
		all[i] = *tka__rows_at(&shm, i);
	if (top.n > 0)
		memcpy(all + shm.n, top.v, top.n * sizeof(*all));
	m = shm.n + top.n;
	free(shm.v);
	free(top.v);
	qsort(all, m, sizeof(*all), tka__row_cmp);
	for (i = k = 0; i < m; i++)
		if (k == 0 || !tka__same(&all[k - 1], &all[i]))
			all[k++] = all[i];
	if (k > limit) {
		memmove(all, all + (k - limit), limit * sizeof(*all));
		k = limit;
	}
	*out = all;
	*n = k;
	return rc;
}

static void tka__answer(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o,
			const struct tka_query *q, uint64_t limit, enum tka_render how)
{
	struct tk_buf *b = &o->body;
	struct tka_row *rows;
	uint64_t i, n;
	int rc = tka__collect(c, q, limit, &rows, &n);
	char tf[16];

	if (rc < 0 && rc != -EBADMSG) {
		tka_problem(o, 503, NULL, "the journal could not be read: %s", tk_err_msg());
		free(rows);
		return;
	}
	if (n == 0 && q->symbol != NULL && q->id < 0) {
		/* Neither the segment nor the journal (in this range) knows it. */
		tka_symbol_id(c, q->symbol, o);
		free(rows);
		return;
	}
	tka_json(o, 200);
	tk_buf_puts(b, "{");
	if (q->symbol != NULL) {
		tk_buf_puts(b, "\"symbol\":");
		tk_json_str(b, q->symbol, strlen(q->symbol));
		tk_buf_puts(b, ",");
	}
	if (q->tf_ns != 0) {
		tk_tf_name(q->tf_ns, tf, sizeof(tf));
		tk_buf_printf(b, "\"tf\":\"%s\",", tf);
	}
	tk_buf_puts(b, "\"from\":");
	tka__ms_or_null(b, q->from);
	tk_buf_puts(b, ",\"to\":");
	tka__ms_or_null(b, q->to);
	tk_buf_puts(b, ",\"count\":");
	tk_buf_u64(b, n);
	tk_buf_puts(b, ",\"rows\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			tk_buf_puts(b, ",");
		tka__render_row(b, &rows[i], how);
	}
	tk_buf_puts(b, "],\"next\":");
	if (n == limit && n > 0) {
		/* The page before this one: the same range up to this page's
		 * oldest row (a bar's window is unique; signals share times, so
		 * their cursor holds the sequence too). */
		char url[256];
		size_t k = 0;
		unsigned s;

		for (s = 0; s < r->nseg && k < sizeof(url); s++)
			k += (size_t)snprintf(url + k, sizeof(url) - k, "/%s", r->seg[s]);
		tk_buf_puts(b, "\"");
		tk_buf_put(b, url, k < sizeof(url) ? k : sizeof(url) - 1);
		tk_buf_puts(b, "?");
		if (q->symbol != NULL) {
			tk_buf_puts(b, "symbol=");
			/* A symbol's bytes are printable; escape what a query needs. */
			for (k = 0; q->symbol[k] != '\0'; k++) {
				unsigned char ch = (unsigned char)q->symbol[k];

				if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
				    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_')
					tk_buf_put(b, (const char *)&ch, 1);
				else
					tk_buf_printf(b, "%%%02X", ch);
			}
			tk_buf_puts(b, "&");
		}
		if (q->type == TK_REC_SIGNAL) {
			static const char *kinds[] = { "", "pct_change", "volume_spike", "sma_cross",
						       "vwap_cross" };

			if (q->kind != 0)
				tk_buf_printf(b, "type=%s&", q->kind < 5 ? kinds[q->kind] : "");
			if (q->tf_ns != 0) {
				tk_tf_name(q->tf_ns, tf, sizeof(tf));
				tk_buf_printf(b, "tf=%s&", tf);
			}
		}
		tk_buf_puts(b, "from=");
		tka__ms_or_null(b, q->from);
		if (q->type == TK_REC_SIGNAL) {
			if (q->to != INT64_MAX) {
				tk_buf_puts(b, "&to=");
				tka__ms_or_null(b, q->to);
			}
			tk_buf_puts(b, "&before=");
			tka__ms_or_null(b, tka__time_of(&rows[0]));
			tk_buf_printf(b, ":%" PRIu64, rows[0].seq);
		} else {
			tk_buf_puts(b, "&to=");
			tka__ms_or_null(b, tka__time_of(&rows[0]));
		}
		tk_buf_printf(b, "&limit=%" PRIu64 "\"", limit);
	} else {
		tk_buf_puts(b, "null");
	}
	tk_buf_puts(b, "}");
	free(rows);
}

static void tka__bars(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o, enum tka_render how)
{
	struct tka_query q = { .type = TK_REC_BAR, .ohlcv_only = how == TKA_OHLCV };
	uint64_t limit;

	if (tka_params_allow(r, "symbol,date,from,to,limit", o) < 0 || tka_path_tf(c, r, o, &q.tf_ns) < 0 ||
	    tka_param_symbol(r, "symbol", true, &q.symbol, o) < 0 ||
	    tka__range(r, o, &q.from, &q.to) < 0 ||
	    tka_param_u64(r, "limit", 1, TKA_LIMIT_MAX, c->default_limit, &limit, o) < 0)
		return;
	q.id = tk_symtab_find(tk_symtab_of(&c->seg), q.symbol, (uint32_t)strlen(q.symbol));
	/* A symbol the segment never saw may still be in the journal (an
	 * earlier run): 404 only when neither knows it. */
	if (q.id < 0 && (c->data_dir == NULL || c->data_dir[0] == '\0')) {
		tka_symbol_id(c, q.symbol, o);
		return;
	}
	tka__answer(c, r, o, &q, limit, how);
}

void tka_get_ohlcv(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	tka__bars(c, r, o, TKA_OHLCV);
}

void tka_get_indicators(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	tka__bars(c, r, o, TKA_INDICATORS);
}

void tka_get_signals(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	static const char *kinds[] = { "pct_change", "volume_spike", "sma_cross", "vwap_cross" };
	struct tka_query q = { .type = TK_REC_SIGNAL, .id = -1 };
	const struct tka_param *type, *tfp, *bp;
	uint64_t limit;
	unsigned i;

	if (tka_params_allow(r, "symbol,type,tf,date,from,to,before,limit", o) < 0 ||
	    tka_param_symbol(r, "symbol", false, &q.symbol, o) < 0 ||
	    tka__range(r, o, &q.from, &q.to) < 0 ||
	    tka_param_u64(r, "limit", 1, TKA_LIMIT_MAX, 50, &limit, o) < 0)
		return;
	if ((type = tka_param(r, "type")) != NULL) {
		for (i = 0; i < 4; i++)
			if (strcmp(type->value, kinds[i]) == 0)
				q.kind = i + 1;
		if (q.kind == 0) {
			tka_problem(o, 400, "type", "'type' is one of pct_change, volume_spike, "
				    "sma_cross, vwap_cross, not \"%.32s\"", type->value);
			return;
		}
	}
	if ((tfp = tka_param(r, "tf")) != NULL && tk_tf_parse(tfp->value, tfp->len, &q.tf_ns) < 0) {
		tka_problem(o, 400, "tf", "'tf' is a timeframe like 1m, not \"%.16s\"", tfp->value);
		return;
	}
	if ((bp = tka_param(r, "before")) != NULL) {
		const char *colon = strchr(bp->value, ':');
		char ms[24];
		uint64_t t;

		if (colon == NULL || (size_t)(colon - bp->value) >= sizeof(ms) ||
		    (snprintf(ms, sizeof(ms), "%.*s", (int)(colon - bp->value), bp->value),
		     tk_parse_u64(ms, 0, INT64_MAX / 1000000, &t) < 0) ||
		    tk_parse_u64(colon + 1, 0, UINT64_MAX, &q.before_seq) < 0) {
			tka_problem(o, 400, "before", "'before' is a page cursor TS:SEQ as a 'next' "
				    "link gives it, not \"%.40s\"", bp->value);
			return;
		}
		q.has_before = true;
		q.before_t = (int64_t)t * 1000000;
	}
	/* Signals of several timeframes share the log: a bar closes beside
	 * shorter ones that ended up to its length later. */
	for (i = 0; i < c->index.n; i++)
		if (c->index.log[i].type == TK_REC_BAR && 2 * c->index.log[i].tf_ns > q.slack)
			q.slack = 2 * c->index.log[i].tf_ns;
	if (q.symbol != NULL) {
		q.id = tk_symtab_find(tk_symtab_of(&c->seg), q.symbol, (uint32_t)strlen(q.symbol));
		if (q.id < 0 && (c->data_dir == NULL || c->data_dir[0] == '\0')) {
			tka_symbol_id(c, q.symbol, o);
			return;
		}
	}
	tka__answer(c, r, o, &q, limit, TKA_SIGNALS);
}

/* ------------------------------------------------------------- candles */

/* Finnhub's resolutions, and the candles made from bars of a timeframe
 * that divides them when the engine makes no bars of that length. */
struct tka_candles {
	int64_t res_ns;
	int64_t window; /* of the candle being built, INT64_MIN: none */
	double o, h, l, cl, v;
	uint64_t n, rows, max;
	struct tk_buf *t, *bo, *bh, *bl, *bc, *bv;
};

static void tka__candle_flush(struct tka_candles *k)
{
	if (k->window == INT64_MIN)
		return;
	if (k->n++ > 0) {
		tk_buf_puts(k->t, ",");
		tk_buf_puts(k->bo, ",");
		tk_buf_puts(k->bh, ",");
		tk_buf_puts(k->bl, ",");
		tk_buf_puts(k->bc, ",");
		tk_buf_puts(k->bv, ",");
	}
	tk_buf_i64(k->t, k->window / 1000000000LL);
	tk_json_double(k->bo, k->o);
	tk_json_double(k->bh, k->h);
	tk_json_double(k->bl, k->l);
	tk_json_double(k->bc, k->cl);
	tk_json_double(k->bv, k->v);
	k->window = INT64_MIN;
}

static int tka__candle_add(void *ctx, const struct tka_row *w)
{
	struct tka_candles *k = ctx;
	const struct tk_bar_rec *b = &w->u.bar;
	int64_t win = b->window_start - ((b->window_start % k->res_ns) + k->res_ns) % k->res_ns;

	if (++k->rows > k->max)
		return 1;
	if (win != k->window) {
		tka__candle_flush(k);
		k->window = win;
		k->o = b->open;
		k->h = b->high;
		k->l = b->low;
		k->cl = b->close;
		k->v = b->volume;
		return 0;
	}
	if (b->high > k->h)
		k->h = b->high;
	if (b->low < k->l)
		k->l = b->low;
	k->cl = b->close;
	k->v += b->volume;
	return 0;
}

void tka_get_candle(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	static const struct {
		const char *name;
		int64_t s;
	} res[] = { { "1", 60 }, { "5", 300 }, { "15", 900 }, { "30", 1800 }, { "60", 3600 },
		    { "D", 86400 } };
	struct tka_query q = { .type = TK_REC_BAR, .ohlcv_only = true };
	const struct tka_param *rp;
	uint64_t from_s, to_s;
	int64_t res_ns = 0, boundary;
	unsigned i;
	char *mem = NULL;
	size_t cap;
	struct tk_buf bt, bo, bh, bl, bc, bv;
	struct tka_candles k;
	int rc;

	if (tka_params_allow(r, "symbol,resolution,from,to", o) < 0 ||
	    tka_param_symbol(r, "symbol", true, &q.symbol, o) < 0 ||
	    tka_param_u64(r, "from", 0, 4102444800ull, 0, &from_s, o) < 0 ||
	    tka_param_u64(r, "to", 0, 4102444800ull, 0, &to_s, o) < 0)
		return;
	if ((rp = tka_param(r, "resolution")) == NULL) {
		tka_problem(o, 400, "resolution", "'resolution' is required: 1, 5, 15, 30, 60 or D");
		return;
	}
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++)
		if (strcmp(rp->value, res[i].name) == 0)
			res_ns = res[i].s * 1000000000LL;
	if (res_ns == 0) {
		tka_problem(o, 400, "resolution", "'resolution' is one of 1, 5, 15, 30, 60 and D "
			    "(W and M are not made here), not \"%.16s\"", rp->value);
		return;
	}
	if (tka_param(r, "from") == NULL || tka_param(r, "to") == NULL) {
		tka_problem(o, 400, tka_param(r, "from") == NULL ? "from" : "to",
			    "'from' and 'to' are required (UNIX seconds)");
		return;
	}
	if (to_s < from_s) {
		tka_problem(o, 400, "to", "'to' must not be before 'from'");
		return;
	}
	/* The longest bar timeframe that divides the resolution. */
	for (i = 0; i < c->index.n; i++) {
		int64_t tf = c->index.log[i].tf_ns;

		if (c->index.log[i].type == TK_REC_BAR && tf <= res_ns && res_ns % tf == 0 && tf > q.tf_ns)
			q.tf_ns = tf;
	}
	if (q.tf_ns == 0) {
		tka_problem(o, 404, "resolution", "the engine makes no bars that resolution %s can "
			    "be built from", rp->value);
		return;
	}
	/* A symbol nobody knows is Finnhub's no_data, as for Finnhub. */
	q.id = tk_symtab_find(tk_symtab_of(&c->seg), q.symbol, (uint32_t)strlen(q.symbol));
	/* Finnhub's to is inclusive: a candle starting at `to` is in. */
	q.from = (int64_t)from_s * 1000000000LL;
	q.from -= q.from % res_ns;
	q.to = (int64_t)to_s * 1000000000LL + 1;
	if ((q.to - q.from) / q.tf_ns > TKA_CANDLES_MAX) {
		tka_problem(o, 400, "from", "the range holds more than %d bars of %lld s; ask for a "
			    "shorter one or a longer resolution", TKA_CANDLES_MAX,
			    (long long)(q.tf_ns / 1000000000LL));
		return;
	}
	cap = (size_t)((q.to - q.from) / res_ns + 1) * 32 + 64;
	mem = malloc(cap * 6);
	if (mem == NULL) {
		tka_problem(o, 503, NULL, "out of memory");
		return;
	}
	tk_buf_init(&bt, mem, cap);
	tk_buf_init(&bo, mem + cap, cap);
	tk_buf_init(&bh, mem + 2 * cap, cap);
	tk_buf_init(&bl, mem + 3 * cap, cap);
	tk_buf_init(&bc, mem + 4 * cap, cap);
	tk_buf_init(&bv, mem + 5 * cap, cap);
	memset(&k, 0, sizeof(k));
	k.res_ns = res_ns;
	k.window = INT64_MIN;
	k.max = TKA_CANDLES_MAX;
	k.t = &bt;
	k.bo = &bo;
	k.bh = &bh;
	k.bl = &bl;
	k.bc = &bc;
	k.bv = &bv;
	/* Oldest first: the journal below shared memory's boundary, then
	 * shared memory.  Shared memory is read first only to learn the
	 * boundary, into a buffer the candles are then made from. */
	{
		struct tka_rows shm;

		uint64_t bars = (uint64_t)((q.to - q.from) / q.tf_ns) + 1;

		if (tka__rows_init(&shm, bars < TKA_CANDLES_MAX ? bars : TKA_CANDLES_MAX) < 0) {
			free(mem);
			tka_problem(o, 503, NULL, "out of memory");
			return;
		}
		rc = tka__shm_rows(c, &q, TKA_CANDLES_MAX, tka__rows_push, &shm, &boundary);
		if (rc == 0 && boundary > q.from)
			rc = tka__journal_rows(c, &q, boundary < q.to ? boundary : q.to, tka__candle_add,
					       &k);
		for (i = 0; i < shm.n; i++)
			tka__candle_add(&k, tka__rows_at(&shm, i));
		free(shm.v);
	}
	tka__candle_flush(&k);
	if (rc < 0 && rc != -EBADMSG) {
		free(mem);
		tka_problem(o, 503, NULL, "the journal could not be read: %s", tk_err_msg());
		return;
	}
	tka_json(o, 200);
	if (k.n == 0) {
		tk_buf_puts(&o->body, "{\"s\":\"no_data\"}");
	} else {
		tk_buf_puts(&o->body, "{\"c\":[");
		tk_buf_put(&o->body, bc.p, bc.len);
		tk_buf_puts(&o->body, "],\"h\":[");
		tk_buf_put(&o->body, bh.p, bh.len);
		tk_buf_puts(&o->body, "],\"l\":[");
		tk_buf_put(&o->body, bl.p, bl.len);
		tk_buf_puts(&o->body, "],\"o\":[");
		tk_buf_put(&o->body, bo.p, bo.len);
		tk_buf_puts(&o->body, "],\"s\":\"ok\",\"t\":[");
		tk_buf_put(&o->body, bt.p, bt.len);
		tk_buf_puts(&o->body, "],\"v\":[");
		tk_buf_put(&o->body, bv.p, bv.len);
		tk_buf_puts(&o->body, "]}");
	}
	if (bt.overflow || bo.overflow || bh.overflow || bl.overflow || bc.overflow || bv.overflow)
		o->body.overflow = 1;
	free(mem);
}

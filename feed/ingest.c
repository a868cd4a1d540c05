#include "feed/ingest.h"

#include <errno.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"
#include "feed/recording.h"
#include "shm/records.h"

static void tk__put(struct tk_ingest *g, uint32_t type, uint32_t aux, const void *data,
		    uint32_t len);

int tk_ingest_open(struct tk_ingest *g, struct tk_segment *seg, const char *logname,
		   const struct tk_ingest_cfg *cfg, struct tk_feed_stats *stats,
		   const volatile sig_atomic_t *stop)
{
	struct tk_log_region *log = tk_log_find(seg, logname);
	int rc;

	memset(g, 0, sizeof(*g));
	g->cfg = *cfg;
	g->stats = stats;
	g->stop = stop;
	g->next_hb = INT64_MIN;
	g->clock = INT64_MIN;
	g->trade_clock = INT64_MIN;
	g->symtab = tk_symtab_of(seg);
	if (log == NULL)
		return tk_err_set(ENOENT, "segment %s has no log named '%s'", seg->path, logname);
	rc = tk_log_writer_open(&g->out, log);
	if (rc < 0)
		return rc;
	rc = tk_resume_scan(&g->out, cfg->stream, &g->resume);
	if (rc < 0) {
		tk_log_writer_close(&g->out);
		return rc;
	}
	g->parser = tk_fh_parser_new(&cfg->lim);
	if (g->parser == NULL) {
		tk_log_writer_close(&g->out);
		return tk_err_set(ENOMEM, "out of memory for the parser (%zu-byte messages)",
				  cfg->lim.max_bytes);
	}
	tk_idle_init(&g->idle, TK_IDLE_BACKOFF);
	if (cfg->stream != 0 && !g->resume.active) {
		struct tk_heartbeat hb = { .flags = TK_HEARTBEAT_F_BEGIN, .feed = cfg->feed,
					   .src = 1ull << TK_SRC_MSG_SHIFT, .stream = cfg->stream };

		tk__put(g, TK_REC_HEARTBEAT, 0, &hb, sizeof(hb));
	}
	return 0;
}

void tk_ingest_close(struct tk_ingest *g)
{
	tk_fh_parser_free(g->parser);
	g->parser = NULL;
	tk_log_writer_close(&g->out);
}

/* Write one record, waiting (backoff) while gating readers hold the log. */
static void tk__put(struct tk_ingest *g, uint32_t type, uint32_t aux, const void *data,
		    uint32_t len)
{
	while (tk_log_write(&g->out, type, aux, data, len) == TK_LOG_FULL && !*g->stop) {
		tk_log_wake(&g->out); /* the readers it waits for may be asleep */
		tk_idle_wait(&g->idle, NULL, 0);
	}
	tk_idle_reset(&g->idle);
}

static void tk__heartbeat(struct tk_ingest *g, int64_t clock, uint32_t flags)
{
	/* src: the next message's first trade (the current one's, inside
	 * tk_ingest_message, where the clock goes first). */
	struct tk_heartbeat hb = { .clock_ns = clock, .flags = flags, .feed = g->cfg.feed,
				   .src = (g->msgs + 1) << TK_SRC_MSG_SHIFT,
				   .stream = g->cfg.stream };

	if ((flags & TK_HEARTBEAT_F_END) == 0 && tk_resume_skip_heartbeat(&g->resume, clock))
		return;
	tk__put(g, TK_REC_HEARTBEAT, 0, &hb, sizeof(hb));
	if (g->stats != NULL)
		g->stats->heartbeats++;
}

void tk_ingest_clock(struct tk_ingest *g, int64_t now_ns)
{
	if (now_ns == INT64_MIN)
		return;
	if (g->next_hb == INT64_MIN) /* the grid starts with the first known time */
		g->next_hb = (now_ns / g->cfg.hb_ns + 1) * g->cfg.hb_ns;
	while (g->next_hb <= now_ns && !*g->stop) {
		tk__heartbeat(g, g->next_hb, 0);
		g->clock = g->next_hb;
		g->next_hb += g->cfg.hb_ns;
	}
	if (now_ns > g->clock)
		g->clock = now_ns;
}

static void tk__on_trade(void *ctx, const struct tk_fh_trade *t)
{
	struct tk_ingest *g = ctx;
	struct tk_tick k = { 0 };
	int32_t id;

	/* Numbered before anything can refuse it: the numbering is the
	 * message's, the same in every run whatever the symbol table holds. */
	k.src = ((g->msgs + 1) << TK_SRC_MSG_SHIFT) | g->trade_in_msg++;
	if (t->ts_ns > g->trade_clock) /* the clock of a raw replay: every trade moves it */
		g->trade_clock = t->ts_ns;
	if (tk_resume_skip_tick(&g->resume, k.src))
		return; /* already in the log: written before a restart */
	id = tk_symtab_intern(g->symtab, t->symbol, t->symbol_len);
	if (id < 0) {
		if (g->symtab_full++ == 0)
			tk_error("symbol %.*s cannot be added: the symbol table is full (raise --symbols "
				 "at tickd init); its trades are dropped and counted",
				 (int)t->symbol_len, t->symbol);
		if (g->stats != NULL)
			g->stats->trades_rejected++;
		return;
	}
	k.ts_ns = t->ts_ns;
	k.price = t->price;
	k.size = t->size;
	k.recv_ns = g->recv_ns;
	k.conditions = t->conditions;
	k.feed = g->cfg.feed;
	tk__put(g, TK_REC_TICK, (uint32_t)id, &k, sizeof(k));
	if (g->stats != NULL)
		g->stats->trades++;
}

static uint64_t tk__fnv64(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	while (n-- > 0)
		h = (h ^ (uint8_t)*p++) * 1099511628211ull;
	return h;
}

/* Whether a byte-identical message (same 64-bit hash and length) came
 * within the window; remembers this one. */
static bool tk__duplicate(struct tk_ingest *g, int64_t now, const char *buf, size_t len)
{
	uint64_t h = tk__fnv64(buf, len);
	uint32_t i;

	for (i = 0; i < TK_DEDUPE_SLOTS; i++) {
		const struct tk_dedupe *d = &g->recent[i];

		if (d->len == len && d->hash == h && d->recv_ns != 0 &&
		    now - d->recv_ns <= g->cfg.dedupe_ns)
			return true;
	}
	g->recent[g->recent_next] = (struct tk_dedupe){ .hash = h, .len = len, .recv_ns = now };
	g->recent_next = (g->recent_next + 1) % TK_DEDUPE_SLOTS;
	return false;
}

static void tk__message(struct tk_ingest *g, int64_t recv_ns, const char *buf, size_t len,
			struct tk_fh_msg *m);

void tk_ingest_message(struct tk_ingest *g, int64_t recv_ns, const char *buf, size_t len,
		       struct tk_fh_msg *m)
{
	struct tk_feed_stats *st = g->stats;

	g->trade_in_msg = 0;
	/* While resuming, the counters of what is already in the log are not
	 * counted again. */
	if (g->resume.active)
		g->stats = NULL;
	tk__message(g, recv_ns, buf, len, m);
	g->stats = st;
	g->msgs++;
}

static void tk__message(struct tk_ingest *g, int64_t recv_ns, const char *buf, size_t len,
			struct tk_fh_msg *m)
{
	struct tk_feed_stats *st = g->stats;
	int64_t t0 = tk_mono_ns();
	uint32_t i;

	/* The clock first: the grid points before this message go out before it. */
	tk_ingest_clock(g, recv_ns != INT64_MIN ? recv_ns : g->trade_clock);
	g->recv_ns = recv_ns != INT64_MIN ? recv_ns : 0;
	if (st != NULL) {
		st->messages++;
		st->bytes += len;
		/* The receive time when there is one: no second clock read. */
		st->last_msg_ns = recv_ns != INT64_MIN ? recv_ns : tk_wall_ns();
	}
	if (g->cfg.dedupe_ns > 0 && recv_ns != INT64_MIN && tk__duplicate(g, recv_ns, buf, len)) {
		memset(m, 0, sizeof(*m));
		m->kind = TK_FH_UNKNOWN;
		snprintf(m->text, sizeof(m->text), "duplicate");
		if (g->cfg.record != NULL && !g->resume.active)
			tk_rec_write(g->cfg.record, recv_ns, buf, len, false);
		if (st != NULL)
			st->duplicates++;
		return;
	}
	tk_fh_parse(g->parser, buf, len, tk__on_trade, g, m);
	/* A resumed replay does not record again what its predecessor did. */
	if (g->cfg.record != NULL && !g->resume.active) {
		bool json = m->kind != TK_FH_INVALID ||
			    (m->reason != TK_FH_NOT_JSON && m->reason != TK_FH_BAD_UTF8 &&
			     m->reason != TK_FH_TOO_LARGE);

		if (tk_rec_write(g->cfg.record, recv_ns, buf, len, json) < 0 && st != NULL)
			st->errors++;
	}
	if (st == NULL)
		return;
	switch (m->kind) {
	case TK_FH_TRADES:
		st->trades_rejected += m->rejected;
		for (i = 0; i < TK_FH_NREASONS && i < TK_FEED_REASONS; i++)
			st->rejected_by[i] += m->rejected_by[i];
		break;
	case TK_FH_PING:
		st->pings++;
		break;
	case TK_FH_ERROR:
		st->errors++;
		break;
	case TK_FH_UNKNOWN:
		st->unknown++;
		break;
	case TK_FH_INVALID:
		st->invalid++;
		if ((unsigned)m->reason < TK_FEED_REASONS)
			st->rejected_by[m->reason]++;
		break;
	}
	tk_hist_record(&st->parse_ns, (uint64_t)(tk_mono_ns() - t0));
}

void tk_ingest_too_large(struct tk_ingest *g, int64_t recv_ns, size_t len)
{
	tk_ingest_clock(g, recv_ns);
	g->msgs++;
	if (g->stats == NULL)
		return;
	g->stats->messages++;
	g->stats->bytes += len;
	g->stats->invalid++;
	g->stats->rejected_by[TK_FH_TOO_LARGE]++;
	g->stats->last_msg_ns = recv_ns != INT64_MIN ? recv_ns : tk_wall_ns();
}

void tk_ingest_gap(struct tk_ingest *g, int64_t from_ns, int64_t to_ns, uint32_t nsymbols)
{
	struct tk_gap gap = { .from_ns = from_ns, .to_ns = to_ns, .nsymbols = nsymbols,
			      .feed = g->cfg.feed };

	tk__put(g, TK_REC_GAP, 0, &gap, sizeof(gap));
	if (g->stats != NULL)
		g->stats->gaps++;
}

void tk_ingest_end(struct tk_ingest *g)
{
	tk__heartbeat(g, g->clock != INT64_MIN ? g->clock : 0, TK_HEARTBEAT_F_END);
}

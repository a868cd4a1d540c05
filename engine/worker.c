#include "engine/worker.h"

#include "engine/checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bigalloc.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"
#include "common/prefetch.h"
#include "shm/records.h"

#define TK_DAY_NS (86400 * TK_NS_PER_S)

void tk_worker_cfg_default(struct tk_worker_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->shards = 1;
	cfg->ntf = (uint32_t)tk_timeframes_parse("1s,1m,5m,1h", cfg->tf_ns, TK_MAX_TF);
	cfg->pct_tf_mask = 1u << 1; /* 1m */
	cfg->lateness_ns = 2 * TK_NS_PER_S;
	tk_ind_cfg_default(&cfg->ind);
	cfg->idle = TK_IDLE_BACKOFF;
	cfg->input_silence_ns = 10 * TK_NS_PER_S;
	cfg->huge_pages = true;
}

void tk_bar_log_name(int64_t tf, uint32_t shard, uint32_t shards, char *out, unsigned cap)
{
	char name[16];

	tk_timeframe_name(tf, name, sizeof(name));
	if (shards > 1)
		snprintf(out, cap, "bars.%s.%u", name, shard);
	else
		snprintf(out, cap, "bars.%s", name);
}

void tk_signal_log_name(uint32_t shard, uint32_t shards, char *out, unsigned cap)
{
	if (shards > 1)
		snprintf(out, cap, "signals.%u", shard);
	else
		snprintf(out, cap, "signals");
}

uint32_t tk_shard_of(const char *name, uint32_t shards)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % shards;
}

static int tk__open_writer(struct tk_log_writer *w, struct tk_segment *seg, const char *name,
			   uint32_t min_slot)
{
	struct tk_log_region *log = tk_log_find(seg, name);

	if (log == NULL)
		return tk_err_set(ENOENT, "segment %s has no log '%s': was it made for this engine "
				  "configuration (timeframes, shards)?", seg->path, name);
	if (log->slot_size < min_slot)
		return tk_err_set(EINVAL, "log '%s' has %u-byte slots, the engine needs %u", name,
				  log->slot_size, min_slot);
	return tk_log_writer_open(w, log);
}

static struct tk_log_writer *tk__out(struct tk_worker *w, uint32_t idx)
{
	return idx == TK_OUT_SIGNALS ? &w->signals : &w->bars[idx];
}

static size_t tk__older_bytes(const struct tk_worker *w)
{
	return (size_t)w->capacity * sizeof(struct tk_agg_older);
}

static size_t tk__ind_bytes(const struct tk_worker *w)
{
	return (size_t)w->capacity * sizeof(struct tk_ind_state);
}

static size_t tk__arena_bytes(const struct tk_worker *w, uint32_t t)
{
	return (size_t)w->capacity * w->older_cap[t] * sizeof(struct tk_bar);
}

int tk_worker_open(struct tk_worker *w, struct tk_segment *seg, const struct tk_worker_cfg *cfg)
{
	char name[TK_NAME_MAX], reader[TK_NAME_MAX];
	uint32_t i;
	int rc;

	memset(w, 0, sizeof(*w));
	w->cfg = *cfg;
	w->seg = seg;
	w->symtab = tk_symtab_of(seg);
	w->state = tk_state_of(seg);
	w->history = tk_history_of(seg);
	w->capacity = w->symtab->capacity;
	w->stream_time = INT64_MIN;
	if (tk_state_payload_size(w->state) < sizeof(struct tk_live))
		return tk_err_set(EINVAL, "state records hold %u bytes, the engine's live state needs "
				  "%zu (tickd init --state-size %zu or more)",
				  tk_state_payload_size(w->state), sizeof(struct tk_live),
				  sizeof(struct tk_live) + TK_STATE_HEADER);
	w->tf_map = 0;
	for (i = 0; i < cfg->ntf; i++) {
		int place = tk_seg_tf_index(&seg->hdr->config, cfg->tf_ns[i]);

		/* Readers of the live record learn which open bar is which. */
		if (place >= 0 && place < 15)
			w->tf_map |= (uint32_t)(place + 1) << (4 * i);
		w->older_cap[i] = (uint32_t)tk_agg_windows_needed(cfg->tf_ns[i], cfg->lateness_ns) - 1;
		w->rule[i] = (struct tk_agg_rule){ .tf = cfg->tf_ns[i], .lateness = cfg->lateness_ns };
		w->next_close[i] = INT64_MAX;
		w->hist_t[i] = tk_history_tf(w->history, cfg->tf_ns[i]);
		tk_bar_log_name(cfg->tf_ns[i], cfg->shard, cfg->shards, name, sizeof(name));
		rc = tk__open_writer(&w->bars[i], seg, name, 256);
		if (rc < 0)
			return rc;
	}
	tk_signal_log_name(cfg->shard, cfg->shards, name, sizeof(name));
	rc = tk__open_writer(&w->signals, seg, name, 128);
	if (rc < 0)
		return rc;
	snprintf(reader, sizeof(reader), "engine.%u", cfg->shard);
	for (i = 0; i < seg->hdr->config.nlogs; i++) {
		const char *lname = seg->hdr->config.logs[i].name;
		struct tk_reader_opts o = { .name = reader, .gating = true,
					    .start = TK_START_RESUME_OLDEST };

		if (strncmp(lname, "ticks.", 6) != 0)
			continue;
		if (w->nin == TK_MAX_INPUTS)
			return tk_err_set(EINVAL, "segment %s has more than %d tick logs: a worker "
					  "reads at most %d (one per feed id)", seg->path,
					  TK_MAX_INPUTS, TK_MAX_INPUTS);
		rc = tk_log_reader_open(&w->in[w->nin], seg, lname, &o);
		if (rc < 0)
			return rc;
		w->nin++;
	}
	if (w->nin == 0)
		return tk_err_set(ENOENT, "segment %s has no tick log (ticks.*)", seg->path);
	/* The older windows of every symbol, sized from the lateness: one
	 * arena per timeframe, zero pages until a symbol's first windows
	 * land in it (a fresh mapping). */
	for (i = 0; i < cfg->ntf; i++) {
		uint32_t id;

		w->older[i] = tk_big_alloc(tk__older_bytes(w), cfg->huge_pages);
		w->ind[i] = tk_big_alloc(tk__ind_bytes(w), cfg->huge_pages);
		w->older_arena[i] = tk_big_alloc(tk__arena_bytes(w, i), cfg->huge_pages);
		if (w->older[i] == NULL || w->ind[i] == NULL || w->older_arena[i] == NULL)
			return tk_err_set(ENOMEM, "out of memory for the open windows of %u symbols "
					  "(%u per symbol for a lateness of %.1f s)", w->capacity,
					  w->older_cap[i] + 1, (double)cfg->lateness_ns / 1e9);
		for (id = 0; id < w->capacity; id++) {
			w->older[i][id].cap = w->older_cap[i];
			w->older[i][id].bar = w->older_arena[i] + (size_t)id * w->older_cap[i];
		}
	}
	w->active = malloc(w->capacity * sizeof(*w->active));
	w->active_bits = calloc((w->capacity + 63) / 64, sizeof(*w->active_bits));
	w->is_active = calloc(w->capacity, 1);
	w->changed = malloc(w->capacity * sizeof(*w->changed));
	w->ind_dirty = calloc(w->capacity, 1);
	w->shard_of = malloc(w->capacity);
	w->buf = aligned_alloc(64, TK_WORKER_BUF);
	if (w->nin > 1)
		for (i = 0; i < w->nin; i++) {
			w->in_buf[i] = aligned_alloc(64, TK_WORKER_BUF);
			if (w->in_buf[i] == NULL)
				return tk_err_set(ENOMEM, "out of memory for the input buffers");
			w->in_clock[i] = INT64_MIN;
		}
	if (w->active == NULL || w->active_bits == NULL || w->is_active == NULL || w->changed == NULL ||
	    w->ind_dirty == NULL || w->shard_of == NULL ||
	    w->buf == NULL)
		return tk_err_set(ENOMEM, "out of memory for %u symbols", w->capacity);
	memset(w->shard_of, 0xff, w->capacity);
	tk_idle_init(&w->idle, cfg->idle);

	w->ckpt_every = UINT64_MAX;
	for (i = 0; i < w->nin; i++)
		if (w->in[i].log->nslots / 4 < w->ckpt_every)
			w->ckpt_every = w->in[i].log->nslots / 4;
	for (i = 0; i < TK_OUTPUTS; i++)
		if (i < cfg->ntf || i == TK_OUT_SIGNALS)
			w->out_pos[i] = tk__out(w, i)->next - 1;
	tk_ckpt_path_init(w);
	rc = tk_ckpt_load(w);
	if (rc < 0)
		return rc;
	w->restored = rc == 1;
	for (i = 0; i < TK_OUTPUTS; i++) {
		uint64_t written;

		if (i >= cfg->ntf && i != TK_OUT_SIGNALS)
			continue;
		written = tk__out(w, i)->next - 1;
		w->skip[i] = written > w->out_pos[i] ? written - w->out_pos[i] : 0;
	}
	if (!w->restored && w->in[0].resumed)
		tk_warn("no checkpoint: state starts empty at the committed cursor %llu",
			(unsigned long long)w->in[0].next);
	if (!w->restored) {
		/* A first checkpoint before anything is applied: where the inputs
		 * start and how much every output already holds.  A worker killed
		 * before its next one (checkpoints come at most four a second)
		 * then restarts from here and skips what it had written, instead
		 * of writing it again. */
		rc = tk_ckpt_save(w);
		if (rc < 0)
			return rc;
	}
	w->last_ckpt_ns = tk_mono_coarse_ns();
	return 0;
}

void tk_worker_close(struct tk_worker *w)
{
	uint32_t i;

	for (i = 0; i < w->nin; i++)
		tk_log_reader_close(&w->in[i]);
	for (i = 0; i < w->cfg.ntf; i++)
		tk_log_writer_close(&w->bars[i]);
	tk_log_writer_close(&w->signals);
	for (i = 0; i < TK_MAX_TF; i++) {
		tk_big_free(w->older[i], tk__older_bytes(w), w->cfg.huge_pages);
		tk_big_free(w->ind[i], tk__ind_bytes(w), w->cfg.huge_pages);
		tk_big_free(w->older_arena[i], tk__arena_bytes(w, i), w->cfg.huge_pages);
		w->older[i] = NULL;
		w->ind[i] = NULL;
		w->older_arena[i] = NULL;
	}
	free(w->active);
	free(w->active_bits);
	free(w->is_active);
	free(w->changed);
	free(w->ind_dirty);
	free(w->shard_of);
	free(w->buf);
	for (i = 0; i < TK_MAX_INPUTS; i++) {
		free(w->in_buf[i]);
		w->in_buf[i] = NULL;
	}
	free(w->ckpt_buf);
	/* Closing twice is harmless; the stats stay readable. */
	w->active = NULL;
	w->active_bits = NULL;
	w->is_active = NULL;
	w->changed = NULL;
	w->ind_dirty = NULL;
	w->shard_of = NULL;
	w->buf = NULL;
	w->ckpt_buf = NULL;
	w->nin = 0;
}

/*
 * Write to output idx, waiting while its gating readers hold it.  After a
 * restart, the records the killed worker already wrote are not written
 * again: each is compared with the one in the log (if still there) and
 * skipped.
 */
static void tk__emit(struct tk_worker *w, uint32_t idx, uint32_t type, uint32_t aux,
		     const void *data, uint32_t len)
{
	struct tk_log_writer *out = tk__out(w, idx);
	struct tk_idle idle;

	if (w->skip[idx] > 0) {
		uint64_t s = ++w->out_pos[idx];
		const struct tk_slot *had = tk__log_slot(out->slots, s, out->mask, out->shift);

		w->skip[idx]--;
		/* Acquire: pairs with the release that published the slot. */
		if (tk_load_acquire_64(&had->seq) == s) {
			if (had->type != type || had->aux != aux || memcmp(had->data, data, len) != 0) {
				if (w->replay_mismatch++ == 0)
					tk_error("%s: record %llu computed again differs from the one "
						 "written before the restart: the computation is not "
						 "deterministic", out->log->name, (unsigned long long)s);
			} else {
				w->replay_verified++;
			}
		}
		return;
	}
	if (out->next + 4 < out->limit) {
		/* Bars go out in bursts (every symbol's 1 s bar at each second):
		 * the slot a few writes ahead is asked for before it is written
		 * (only when no reader can still be reading it: below the limit
		 * the writer knows it free). */
		const uint8_t *ahead = (const uint8_t *)tk__log_slot(out->slots, out->next + 4,
								     out->mask, out->shift);
		uint32_t off;

		for (off = 0; off < (1u << out->shift); off += 64)
			tk_prefetch_write(ahead + off);
	}
	tk_idle_init(&idle, TK_IDLE_BACKOFF);
	while (tk_log_write(out, type, aux, data, len) == TK_LOG_FULL)
		tk_idle_wait(&idle, NULL, 0);
	w->out_pos[idx] = out->next - 1;
}

static bool tk__mine(struct tk_worker *w, uint32_t id)
{
	if (w->shard_of[id] == 0xff) {
		const char *name = tk_symtab_name(w->symtab, (int32_t)id);

		if (name == NULL)
			return false;
		w->shard_of[id] = (uint8_t)tk_shard_of(name, w->cfg.shards);
	}
	return w->shard_of[id] == w->cfg.shard;
}

static void tk__signal(struct tk_worker *w, uint32_t id, uint32_t t, const struct tk_bar *b,
		       const struct tk_ind_values *v, uint32_t kind, int32_t dir, double value)
{
	struct tk_signal_rec s = {
		.ts_ns = b->window_start + w->rule[t].tf,
		.tf_ns = w->rule[t].tf,
		.kind = kind,
		.direction = dir,
		.pct_change = b->open > 0 ? (b->close - b->open) / b->open : 0,
		.close = b->close,
		.vwap = v->vwap,
		.volume = b->volume,
		.value = value,
	};

	tk__emit(w, TK_OUT_SIGNALS, TK_REC_SIGNAL, id, &s, sizeof(s));
	w->stats.signals++;
}

/* A bar closed and its indicators computed: the bar record, its history
 * entry, its signals. */
static void tk__emit_closed(struct tk_worker *w, uint32_t id, uint32_t t, const struct tk_bar *b,
			    const struct tk_ind_values *v, uint32_t sig)
{
	const struct tk_ind_cfg *ic = &w->cfg.ind;
	struct tk_bar_rec r;

	r = (struct tk_bar_rec){
		.window_start = b->window_start, .tf_ns = w->rule[t].tf, .open = b->open,
		.high = b->high, .low = b->low, .close = b->close, .volume = b->volume,
		.vwap = v->vwap, .trade_count = b->trade_count, .ind = v->ind,
		.sma_fast_n = (uint16_t)ic->sma_fast, .sma_slow_n = (uint16_t)ic->sma_slow,
		.ema_fast_n = (uint16_t)ic->ema_fast, .ema_slow_n = (uint16_t)ic->ema_slow,
		.rsi_n = (uint16_t)ic->rsi, .volatility_n = (uint16_t)ic->volatility, .signals = sig,
	};
	tk__emit(w, t, TK_REC_BAR, id, &r, sizeof(r));
	w->stats.bars++;
	if (w->hist_t[t] >= 0) {
		struct tk_hist_bar hb = {
			.window_start = b->window_start, .open = b->open, .high = b->high,
			.low = b->low, .close = b->close, .volume = b->volume, .vwap = v->vwap,
			.trade_count = b->trade_count,
		};

		/* Idempotent: a replay after a restart appends nothing twice. */
		tk_history_append(w->history, w->hist_t[t], id, &hb);
	}
	if (sig & TK_SIG_PCT_CHANGE)
		tk__signal(w, id, t, b, v, TK_SIGNAL_PCT_CHANGE, b->close >= b->open ? 1 : -1,
			   b->open > 0 ? (b->close - b->open) / b->open : 0);
	if (sig & TK_SIG_VOLUME_SPIKE)
		tk__signal(w, id, t, b, v, TK_SIGNAL_VOLUME_SPIKE, 1,
			   v->volume_sma > 0 ? b->volume / v->volume_sma : INFINITY);
	if (sig & (TK_SIG_SMA_CROSS_UP | TK_SIG_SMA_CROSS_DOWN))
		tk__signal(w, id, t, b, v, TK_SIGNAL_SMA_CROSS, sig & TK_SIG_SMA_CROSS_UP ? 1 : -1,
			   v->ind.sma_fast - v->ind.sma_slow);
	if (sig & (TK_SIG_VWAP_CROSS_UP | TK_SIG_VWAP_CROSS_DOWN))
		tk__signal(w, id, t, b, v, TK_SIGNAL_VWAP_CROSS, sig & TK_SIG_VWAP_CROSS_UP ? 1 : -1,
			   b->close - v->ind.session_vwap);
}

static struct tk_live *tk__live(const struct tk_worker *w, uint32_t id)
{
	/* Unbracketed: reads by the record's only writer. */
	return (struct tk_live *)((uint8_t *)tk_state_record(w->state, id) + TK_STATE_HEADER);
}

/*
 * Close symbol id's windows of timeframe t that are due: the windows leave the live record and the indicators land in it
 * in one seqlocked update, so a reader never sees a bar in neither place;
 * the records are written after it, since a log write may wait on readers.
 */
static void tk__touch(struct tk_worker *w, uint32_t id);

static void tk__close_symbol(struct tk_worker *w, uint32_t id, uint32_t t)
{
	struct tk_bar out[TK_AGG_CLOSE_BATCH];
	struct tk_ind_values v[TK_AGG_CLOSE_BATCH];
	uint32_t sig[TK_AGG_CLOSE_BATCH], n, k;

	if (w->is_active[id] != TK_SYM_CHANGED)
		tk__touch(w, id);
	do {
		struct tk_live *live = tk_state_write_begin(w->state, id);

		n = tk_agg_close(&live->open_bar[t], &w->older[t][id], &w->rule[t], w->stream_time,
				 out, TK_AGG_CLOSE_BATCH);
		for (k = 0; k < n; k++) {
			sig[k] = tk_ind_update(&w->ind[t][id], &w->cfg.ind, &out[k],
					       (w->cfg.pct_tf_mask >> t) & 1, &v[k]);
			live->last[t] = (struct tk_live_ind){
				.window_start = out[k].window_start, .close = out[k].close,
				.vwap = v[k].vwap, .ind = v[k].ind,
			};
		}
		tk_state_write_end(w->state, id);
		if (n > 0)
			w->ind_dirty[id] |= (uint8_t)(1u << t);
		for (k = 0; k < n; k++)
			tk__emit_closed(w, id, t, &out[k], &v[k], sig[k]);
	} while (n == TK_AGG_CLOSE_BATCH);
}

void tk_worker_activate(struct tk_worker *w, uint32_t id)
{
	if (w->is_active[id])
		return;
	w->is_active[id] = TK_SYM_ACTIVE;
	/* A set, not a sorted list: at 100,000 symbols an insertion that kept
	 * the list in order moved 200 KB for every new symbol. */
	w->active_bits[id / 64] |= 1ull << (id % 64);
	w->active[w->nactive++] = id;
}

/* The close pass asks for a symbol's lines in two steps: eight symbols
 * ahead, the lines that say whether it is due and where its rings stand;
 * four ahead, if it is due, every line its close will touch. */
#define TK_CLOSE_PREFETCH_FAR 8
#define TK_CLOSE_PREFETCH_NEAR 4

/* Read prefetches: most symbols a later timeframe's pass looks at are not
 * due, and taking their lines exclusive would take them from the readers
 * polling them. */
static void tk__prefetch_close_far(const struct tk_worker *w, uint32_t id, uint32_t t)
{
	const struct tk_live *live = tk__live(w, id);

	tk_prefetch((const uint8_t *)live - TK_STATE_HEADER);
	tk_prefetch(&live->open_bar[t]);
	tk_prefetch((const uint8_t *)&live->open_bar[t] + sizeof(struct tk_bar) - 1);
	tk_prefetch(&w->older[t][id]);
	/* The oldest older window: whether it is due is read four ahead. */
	tk_prefetch(w->older_arena[t] + (size_t)id * w->older_cap[t]);
	tk_prefetch(&w->ind[t][id].nbars);
}

/* Every line of ring[a..b] (indices, a <= b < TK_IND_HISTORY). */
static void tk__prefetch_span(const double *ring, uint64_t a, uint64_t b)
{
	uintptr_t p = (uintptr_t)&ring[a] & ~(uintptr_t)63, last = (uintptr_t)&ring[b];

	for (; p <= last; p += 64)
		tk_prefetch((const void *)p);
}

/* The lines of a ring of TK_IND_HISTORY values from the len-th newest
 * (what tk_ind_update reads back) to the one the next close writes (index
 * n): one span, or two where the
 * ring wraps (a state is 1,608 bytes: its rings are seldom line-aligned). */
static void tk__prefetch_ring(const double *ring, uint64_t n, uint32_t len)
{
	uint64_t from = n >= len ? n - len : 0, a, b;

	if (n - from >= TK_IND_HISTORY)
		from = n - (TK_IND_HISTORY - 1);
	a = from % TK_IND_HISTORY;
	b = n % TK_IND_HISTORY;
	if (a <= b) {
		tk__prefetch_span(ring, a, b);
	} else {
		tk__prefetch_span(ring, a, TK_IND_HISTORY - 1);
		tk__prefetch_span(ring, 0, b);
	}
}

static void tk__prefetch_close_near(const struct tk_worker *w, uint32_t id, uint32_t t)
{
	const struct tk_live *live = tk__live(w, id);
	const struct tk_bar *older = w->older_arena[t] + (size_t)id * w->older_cap[t];
	const struct tk_ind_state *ind = &w->ind[t][id];
	struct tk_ind_reach r = tk_ind_reach_of(&w->cfg.ind);
	uint64_t n;

	if (tk_agg_next_close(&live->open_bar[t], &w->older[t][id], &w->rule[t]) > w->stream_time)
		return;
	n = ind->nbars;
	tk_prefetch(&live->last[t]);
	tk_prefetch((const uint8_t *)&live->last[t] + sizeof(struct tk_live_ind) - 1);
	tk_prefetch(older);
	tk_prefetch((const uint8_t *)older + sizeof(*older) - 1);
	tk__prefetch_ring(ind->closes, n, r.closes);
	tk__prefetch_ring(ind->volumes, n, r.volumes);
	tk__prefetch_ring(ind->returns, n, r.returns);
	tk_prefetch(&ind->ema_fast);
	tk_prefetch((const uint8_t *)(ind + 1) - 1);
}

/*
 * Close, for timeframe t, every window whose end + lateness stream time
 * has passed: symbols in id order, each symbol's windows oldest first.
 * Then recompute the earliest next deadline.
 */
static void tk__close_tf(struct tk_worker *w, uint32_t t)
{
	int64_t next = INT64_MAX, due;
	uint32_t word, nwords = (w->capacity + 63) / 64;

	/* Only the symbols with state, found 64 at a time in id order: a pass
	 * costs what is open (and a word per 64 slots), and the reads of the
	 * symbols a few ahead are in flight while one is closed. */
	for (word = 0; word < nwords; word++) {
		uint32_t ids[64], n = 0, k;
		uint64_t bits = w->active_bits[word];

		while (bits != 0) {
			ids[n++] = word * 64 + (uint32_t)__builtin_ctzll(bits);
			bits &= bits - 1;
		}
		for (k = 0; k < n && k < TK_CLOSE_PREFETCH_FAR; k++)
			tk__prefetch_close_far(w, ids[k], t);
		for (k = 0; k < n && k < TK_CLOSE_PREFETCH_NEAR; k++)
			tk__prefetch_close_near(w, ids[k], t);
		for (k = 0; k < n; k++) {
			uint32_t id = ids[k];

			if (k + TK_CLOSE_PREFETCH_FAR < n)
				tk__prefetch_close_far(w, ids[k + TK_CLOSE_PREFETCH_FAR], t);
			if (k + TK_CLOSE_PREFETCH_NEAR < n)
				tk__prefetch_close_near(w, ids[k + TK_CLOSE_PREFETCH_NEAR], t);
			due = tk_agg_next_close(&tk__live(w, id)->open_bar[t], &w->older[t][id],
						&w->rule[t]);
			if (due == INT64_MAX)
				continue;
			if (due <= w->stream_time) {
				tk__close_symbol(w, id, t);
				due = tk_agg_next_close(&tk__live(w, id)->open_bar[t],
							&w->older[t][id], &w->rule[t]);
			}
			next = due < next ? due : next;
		}
	}
	w->next_close[t] = next;
}

/* Close what stream time has made due, in every timeframe. */
static void tk__close_due(struct tk_worker *w)
{
	uint32_t t;

	for (t = 0; t < w->cfg.ntf; t++)
		if (w->stream_time >= w->next_close[t])
			tk__close_tf(w, t);
}

static void tk__advance(struct tk_worker *w, int64_t ts)
{
	if (ts <= w->stream_time)
		return;
	w->stream_time = ts;
	tk__close_due(w);
}

/* The trade and day fields of the live record (inside the tick's bracket). */
static void tk__live_trade(struct tk_live *live, uint64_t seq, const struct tk_tick *k,
			   uint32_t late)
{
	int64_t day = live->day;

	/* The day of the last trade usually holds this one too: no division. */
	if (live->trades == 0 || k->ts_ns < day || k->ts_ns - day >= TK_DAY_NS)
		day = tk_window_start(k->ts_ns, TK_DAY_NS);
	if (live->trades == 0) {
		live->prev_close = NAN;
		live->inv_prev_close = NAN;
		live->day = INT64_MIN;
	}
	if (day > live->day) {
		if (live->trades > 0) {
			live->prev_close = live->last_price;
			live->inv_prev_close = 100.0 / live->prev_close;
		}
		live->day = day;
		live->day_open = live->day_high = live->day_low = k->price;
		live->day_volume = 0;
	}
	if (day == live->day) {
		live->day_high = k->price > live->day_high ? k->price : live->day_high;
		live->day_low = k->price < live->day_low ? k->price : live->day_low;
		live->day_volume += k->size;
	}
	if (live->trades == 0 || k->ts_ns >= live->last_ts) {
		live->last_ts = k->ts_ns;
		live->last_price = k->price;
		live->last_size = k->size;
	}
	live->change = live->last_price - live->prev_close;
	live->change_pct = live->change * live->inv_prev_close;
	live->last_seq = seq;
	live->trades++;
	live->late += late;
}

/*
 * The first tick of a symbol this worker has no state for: whatever its
 * live record holds was written past the last checkpoint by a killed
 * predecessor (or by a run whose checkpoint is gone), and the ticks that
 * made it are about to be applied again.
 */
static void tk__first_tick(struct tk_worker *w, uint32_t id)
{
	struct tk_live *live;
	uint32_t t;

	tk_worker_activate(w, id);
	for (t = 0; t < w->cfg.ntf; t++) {
		tk_ind_init(&w->ind[t][id]);
		w->older[t][id].n = 0;
	}
	w->ind_dirty[id] = 0xff; /* its first checkpoint entry carries every indicator state */
	live = tk_state_write_begin(w->state, id);
	memset(live, 0, sizeof(*live));
	live->ntf = w->cfg.ntf;
	live->tf_map = w->tf_map;
	tk_state_write_end(w->state, id);
}

/* A symbol's state is about to change: activate it on its first tick, and
 * list it for the next checkpoint (which saves only what changed). */
static void tk__touch(struct tk_worker *w, uint32_t id)
{
	if (!w->is_active[id])
		tk__first_tick(w, id);
	w->is_active[id] = TK_SYM_CHANGED;
	w->changed[w->nchanged++] = id;
}

/* (A tick log no feed writes: a spare one, or one left by an earlier run
 * with more feeds.) */
bool tk_worker_input_done(const struct tk_worker *w, uint32_t i)
{
	return w->in_ended[i] || (w->in_silent[i] && w->in_clock[i] == INT64_MIN &&
				  w->in_n[i] == 0 && w->in[i].next <= 1);
}

static void tk__tick(struct tk_worker *w, const struct tk_slot *rec)
{
	struct tk_tick k;
	struct tk_live *live;
	uint32_t id = rec->aux, t;
	uint32_t late = 0;

	memcpy(&k, rec->data, sizeof(k));
	if (id >= w->capacity || !tk__mine(w, id)) {
		w->stats.other_shard++;
		tk__advance(w, k.ts_ns);
		return;
	}
	if (__builtin_expect(w->is_active[id] != TK_SYM_CHANGED, 0))
		tk__touch(w, id);
	/* One seqlocked update of one record: the open bars are updated where
	 * readers see them. */
	live = tk_state_write_begin(w->state, id);
	for (t = 0; t < w->cfg.ntf; t++) {
		int r = tk_agg_add(&live->open_bar[t], &w->older[t][id], &w->rule[t],
				   w->stream_time, k.ts_ns, k.price, k.size);

		if (__builtin_expect(r == TK_AGG_APPLIED, 1))
			continue;
		if (r == TK_AGG_OPENED) {
			/* next_close[t] is already at or before the deadline of
			 * every window open before this one: only the new one's
			 * can be earlier (a late trade's, opened older than every
			 * other; any other new window's is not). */
			int64_t due = tk_agg_opened_close(&live->open_bar[t], &w->rule[t], k.ts_ns);

			w->next_close[t] = due < w->next_close[t] ? due : w->next_close[t];
		} else {
			late++;
		}
	}
	tk__live_trade(live, rec->seq, &k, late);
	tk_state_write_end(w->state, id);
	w->stats.ticks++;
	w->stats.late += late;
	/* One trade in 64: feed receive -> applied, in the metrics slot (a
	 * replay's receive times are a recording's: nothing sane is kept). */
	if (__builtin_expect((w->stats.ticks & 63) == 0 && w->metrics != NULL, 0)) {
		int64_t lat = tk_wall_ns() - k.recv_ns;

		if (lat >= 0 && lat < 10 * 1000000000LL)
			tk_hist_record(&w->metrics->hist[0].h, (uint64_t)lat);
	}
	tk__advance(w, k.ts_ns);
}

void tk_worker_apply(struct tk_worker *w, const struct tk_slot *rec)
{
	switch (rec->type) {
	case TK_REC_TICK:
		tk__tick(w, rec);
		return;
	case TK_REC_HEARTBEAT: {
		struct tk_heartbeat hb;
		uint32_t t;

		memcpy(&hb, rec->data, sizeof(hb));
		w->stats.heartbeats++;
		tk__advance(w, hb.clock_ns);
		if (hb.flags & TK_HEARTBEAT_F_END) {
			uint32_t i, ended = 0;

			/* A finite source has ended.  Once every input has (another
			 * feed may still be writing), every open bar closes, in the
			 * order advancing time would close them (deadline by
			 * deadline), so a replay that ends where a live run went on
			 * writes the same logs. */
			w->stats.ends++;
			w->in_ended[w->cur_input] = true;
			for (i = 0; i < w->nin; i++)
				ended += tk_worker_input_done(w, i);
			if (ended < w->nin && w->nin > 0)
				return;
			for (;;) {
				int64_t due = INT64_MAX;

				for (t = 0; t < w->cfg.ntf; t++)
					due = w->next_close[t] < due ? w->next_close[t] : due;
				if (due == INT64_MAX)
					break;
				w->stream_time = due > w->stream_time ? due : w->stream_time;
				tk__close_due(w);
			}
		}
		return;
	}
	default:
		return; /* gap events and others: nothing to compute */
	}
}

/* How far ahead the lines of a tick's record are asked for: two ticks
 * ahead into the L1, eight ahead into the L2 (at 10,000 symbols the hot
 * lines of the records, 5 MB, are four times the L2: most ticks wait for
 * the L3 otherwise; eight ahead into the L1 alone was slower, its fill
 * buffers overflow). */
#define TK_PREFETCH_NEAR 2
#define TK_PREFETCH_FAR 8

/* The lines a tick of symbol id will touch: its seqlock line, the trade
 * and day fields and the open bars, contiguous in its live record; NULL
 * if the record is not this worker's to touch. */
static const uint8_t *tk__tick_lines(const struct tk_worker *w, const struct tk_slot *rec,
				     const uint8_t **end)
{
	const uint8_t *p;

	if (rec->type != TK_REC_TICK || rec->aux >= w->capacity)
		return NULL;
	/* Another shard's symbol: its record is being written on another core,
	 * and a read of it here would take the line from that core. */
	if (w->cfg.shards > 1 && w->shard_of[rec->aux] != w->cfg.shard)
		return NULL;
	p = (const uint8_t *)tk_state_record(w->state, rec->aux);
	*end = p + TK_STATE_HEADER + offsetof(struct tk_live, open_bar) +
	       w->cfg.ntf * sizeof(struct tk_bar);
	return p;
}

/* A read prefetch: an unshared line arrives exclusive anyway. */
static void tk__prefetch_near(const struct tk_worker *w, const struct tk_slot *rec)
{
	const uint8_t *end, *p = tk__tick_lines(w, rec, &end);

	for (; p != NULL && p < end; p += 64)
		tk_prefetch(p);
}

static void tk__prefetch_far(const struct tk_worker *w, const struct tk_slot *rec)
{
	const uint8_t *end, *p = tk__tick_lines(w, rec, &end);

	for (; p != NULL && p < end; p += 64)
		tk_prefetch_l2(p);
}

void tk_worker_apply_batch(struct tk_worker *w, const void *recs, uint32_t n, uint32_t stride)
{
	const uint8_t *p = recs;
	bool far = w->nactive >= TK_PREFETCH_FAR_MIN;
	uint32_t i;

#define TK__REC(i) ((const struct tk_slot *)(p + (size_t)(i) * stride))
	for (i = 0; i < n && i < (far ? TK_PREFETCH_FAR : TK_PREFETCH_NEAR); i++)
		(i < TK_PREFETCH_NEAR ? tk__prefetch_near : tk__prefetch_far)(w, TK__REC(i));
	for (i = 0; i < n; i++) {
		if (far && i + TK_PREFETCH_FAR < n)
			tk__prefetch_far(w, TK__REC(i + TK_PREFETCH_FAR));
		if (i + TK_PREFETCH_NEAR < n)
			tk__prefetch_near(w, TK__REC(i + TK_PREFETCH_NEAR));
		tk_worker_apply(w, TK__REC(i));
	}
#undef TK__REC
}

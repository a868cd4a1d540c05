/*
 * The public reader library: tickd.h over the internal shm modules.
 *
 * DESIGN.  tickd.h stands alone, so it repeats every record the logs carry;
 * the _Static_asserts below hold each public field to the offset and size
 * of the internal one, so a reader's view of a slot is the writer's.
 *
 * The library never prints.  It carries its own private copy of the shm/
 * and common/ code (linked statically, every internal symbol local by the
 * version script), and the constructor below silences that copy's
 * common/msg at load time: an internal tk_info()/tk_warn() on a reader path
 * (a released gating reader rejoining, say) goes nowhere, while the host
 * program's own tickd code, if any, is untouched.  What a caller must know
 * travels as return codes and tickd_last_error().
 *
 * ABI.  Symbols are versioned (libtickd.map).  TICKD_1 grew struct
 * tickd_follow_opts (release_after_ms); programs built against TICKD_0
 * still call tickd_follow@TICKD_0, which reads the old, shorter struct.
 */
#include "shm/tickd.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/json.h"
#include "common/msg.h"
#include "shm/live.h"
#include "shm/history.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/records.h"
#include "shm/render.h"
#include "shm/state.h"
#include "shm/symtab.h"

#define TICKD_API __attribute__((visibility("default")))

/* ------------------------------------------------ the public ABI, checked */

_Static_assert(TICKD_ABI_VERSION == TK_SEG_ABI_VERSION, "public and segment ABI agree");
_Static_assert(TICKD_VERSION_MAJOR == TK_PROJECT_VERSION_MAJOR &&
		       TICKD_VERSION_MINOR == TK_PROJECT_VERSION_MINOR &&
		       TICKD_VERSION_PATCH == TK_PROJECT_VERSION_PATCH,
	       "tickd.h's version is the project's (CMakeLists.txt project())");
_Static_assert(TICKD_REC_TICK == TK_REC_TICK && TICKD_REC_HEARTBEAT == TK_REC_HEARTBEAT &&
		       TICKD_REC_GAP == TK_REC_GAP && TICKD_REC_BAR == TK_REC_BAR &&
		       TICKD_REC_SIGNAL == TK_REC_SIGNAL,
	       "record types");
_Static_assert(TICKD_HEARTBEAT_END == TK_HEARTBEAT_F_END &&
		       TICKD_HEARTBEAT_BEGIN == TK_HEARTBEAT_F_BEGIN,
	       "heartbeat flags");
_Static_assert(TICKD_SIGNAL_PCT_CHANGE == TK_SIGNAL_PCT_CHANGE &&
		       TICKD_SIGNAL_VOLUME_SPIKE == TK_SIGNAL_VOLUME_SPIKE &&
		       TICKD_SIGNAL_SMA_CROSS == TK_SIGNAL_SMA_CROSS &&
		       TICKD_SIGNAL_VWAP_CROSS == TK_SIGNAL_VWAP_CROSS,
	       "signal kinds");

#define TK_SAME(pub, in) _Static_assert(sizeof(struct pub) == sizeof(struct in), #pub " size")
/* Same offset and same size: a field moved or retyped fails the build. */
#define TK_FIELD(pub, in, f)                                                               \
	_Static_assert(offsetof(struct pub, f) == offsetof(struct in, f) &&                \
			       sizeof(((struct pub *)0)->f) == sizeof(((struct in *)0)->f), \
		       #pub "." #f)

TK_SAME(tickd_tick, tk_tick);
TK_FIELD(tickd_tick, tk_tick, ts_ns);
TK_FIELD(tickd_tick, tk_tick, price);
TK_FIELD(tickd_tick, tk_tick, size);
TK_FIELD(tickd_tick, tk_tick, recv_ns);
TK_FIELD(tickd_tick, tk_tick, conditions);
TK_FIELD(tickd_tick, tk_tick, feed);
TK_FIELD(tickd_tick, tk_tick, src);

TK_SAME(tickd_heartbeat, tk_heartbeat);
TK_FIELD(tickd_heartbeat, tk_heartbeat, clock_ns);
TK_FIELD(tickd_heartbeat, tk_heartbeat, flags);
TK_FIELD(tickd_heartbeat, tk_heartbeat, feed);
TK_FIELD(tickd_heartbeat, tk_heartbeat, src);
TK_FIELD(tickd_heartbeat, tk_heartbeat, stream);

TK_SAME(tickd_feed_gap, tk_gap);
TK_FIELD(tickd_feed_gap, tk_gap, from_ns);
TK_FIELD(tickd_feed_gap, tk_gap, to_ns);
TK_FIELD(tickd_feed_gap, tk_gap, nsymbols);
TK_FIELD(tickd_feed_gap, tk_gap, feed);

TK_SAME(tickd_indicators, tk_indicators);
TK_FIELD(tickd_indicators, tk_indicators, session_vwap);
TK_FIELD(tickd_indicators, tk_indicators, sma_fast);
TK_FIELD(tickd_indicators, tk_indicators, sma_slow);
TK_FIELD(tickd_indicators, tk_indicators, ema_fast);
TK_FIELD(tickd_indicators, tk_indicators, ema_slow);
TK_FIELD(tickd_indicators, tk_indicators, rsi);
TK_FIELD(tickd_indicators, tk_indicators, volatility);

TK_SAME(tickd_bar_record, tk_bar_rec);
TK_FIELD(tickd_bar_record, tk_bar_rec, window_start);
TK_FIELD(tickd_bar_record, tk_bar_rec, tf_ns);
TK_FIELD(tickd_bar_record, tk_bar_rec, open);
TK_FIELD(tickd_bar_record, tk_bar_rec, high);
TK_FIELD(tickd_bar_record, tk_bar_rec, low);
TK_FIELD(tickd_bar_record, tk_bar_rec, close);
TK_FIELD(tickd_bar_record, tk_bar_rec, volume);
TK_FIELD(tickd_bar_record, tk_bar_rec, vwap);
TK_FIELD(tickd_bar_record, tk_bar_rec, trade_count);
TK_FIELD(tickd_bar_record, tk_bar_rec, ind);
TK_FIELD(tickd_bar_record, tk_bar_rec, sma_fast_n);
TK_FIELD(tickd_bar_record, tk_bar_rec, sma_slow_n);
TK_FIELD(tickd_bar_record, tk_bar_rec, ema_fast_n);
TK_FIELD(tickd_bar_record, tk_bar_rec, ema_slow_n);
TK_FIELD(tickd_bar_record, tk_bar_rec, rsi_n);
TK_FIELD(tickd_bar_record, tk_bar_rec, volatility_n);
TK_FIELD(tickd_bar_record, tk_bar_rec, signals);

TK_SAME(tickd_signal, tk_signal_rec);
TK_FIELD(tickd_signal, tk_signal_rec, ts_ns);
TK_FIELD(tickd_signal, tk_signal_rec, tf_ns);
TK_FIELD(tickd_signal, tk_signal_rec, kind);
TK_FIELD(tickd_signal, tk_signal_rec, direction);
TK_FIELD(tickd_signal, tk_signal_rec, pct_change);
TK_FIELD(tickd_signal, tk_signal_rec, close);
TK_FIELD(tickd_signal, tk_signal_rec, vwap);
TK_FIELD(tickd_signal, tk_signal_rec, volume);
TK_FIELD(tickd_signal, tk_signal_rec, value);

TK_SAME(tickd_bar, tk_hist_bar);
TK_FIELD(tickd_bar, tk_hist_bar, window_start);
TK_FIELD(tickd_bar, tk_hist_bar, open);
TK_FIELD(tickd_bar, tk_hist_bar, high);
TK_FIELD(tickd_bar, tk_hist_bar, low);
TK_FIELD(tickd_bar, tk_hist_bar, close);
TK_FIELD(tickd_bar, tk_hist_bar, volume);
TK_FIELD(tickd_bar, tk_hist_bar, vwap);
TK_FIELD(tickd_bar, tk_hist_bar, trade_count);

/* The quote is a public struct of its own (a copy, not a view), but its
 * version 1 fields must all be there for q->size to mean something. */
#define TK_QUOTE_V1_SIZE (offsetof(struct tickd_quote, late) + sizeof(uint64_t))
_Static_assert(sizeof(struct tickd_quote) == TK_QUOTE_V1_SIZE, "version 1 of the quote");
/* The trade and day fields the quote reads sit before the open bars: one
 * seqlocked copy of those two lines serves it. */
#define TK_LIVE_QUOTE_BYTES offsetof(struct tk_live, open_bar)
_Static_assert(offsetof(struct tk_live, late) + sizeof(uint64_t) <= TK_LIVE_QUOTE_BYTES &&
		       offsetof(struct tk_live, change_pct) + sizeof(double) <= TK_LIVE_QUOTE_BYTES,
	       "the quote's fields are in the first lines of the live record");

/* ------------------------------------------------------------ the library */

struct tickd_segment {
	struct tk_segment seg;
};

struct tickd_follower {
	struct tk_log_reader r;
	struct tk_idle idle;
	struct tk_slot *buf; /* one slot_size copy */
};

/* The library never prints: silence its private common/msg at load.  (Set
 * once before any caller can run, so a plain store is enough.) */
__attribute__((constructor)) static void tk__reader_quiet(void)
{
	tk_msg_set_quiet(1);
}

TICKD_API const char *tickd_version(void)
{
	return TICKD_VERSION;
}

TICKD_API int tickd_attach(const char *path, tickd_segment **out)
{
	tickd_segment *s;
	int rc;

	if (out == NULL)
		return tk_err_set(EINVAL, "tickd_attach: out is NULL");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return tk_err_set(ENOMEM, "tickd_attach: out of memory");
	rc = tk_segment_attach(&s->seg, path != NULL ? path : tk_segment_default_path(),
			       TK_ATTACH_READER);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

TICKD_API void tickd_detach(tickd_segment *seg)
{
	if (seg == NULL)
		return;
	tk_segment_detach(&seg->seg);
	free(seg);
}

TICKD_API const char *tickd_last_error(void)
{
	return tk_err_msg();
}

TICKD_API int tickd_log_count(const tickd_segment *seg)
{
	return (int)seg->seg.hdr->config.nlogs;
}

TICKD_API const char *tickd_log_name(const tickd_segment *seg, int index)
{
	if (index < 0 || (uint32_t)index >= seg->seg.hdr->config.nlogs)
		return NULL;
	return seg->seg.hdr->config.logs[index].name;
}

TICKD_API int32_t tickd_symbol_find(const tickd_segment *seg, const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;
	int32_t id;

	if (name == NULL || len == 0 || len >= TK_NAME_MAX ||
	    !tk_symbol_name_valid(name, (uint32_t)len))
		return tk_err_set(EINVAL, "%s is not a valid symbol name (1 to %d bytes of UTF-8 "
				  "without control characters or quotes)",
				  name == NULL ? "NULL" : len == 0 ? "an empty name" : "that",
				  TK_NAME_MAX - 1);
	id = tk_symtab_find(tk_symtab_of(&seg->seg), name, (uint32_t)len);
	if (id == -ENOENT)
		return tk_err_set(ENOENT, "no symbol '%s' in segment %s", name, seg->seg.path);
	if (id < 0)
		return tk_err_set(id, "symbol '%s': lookup failed", name);
	return id;
}

TICKD_API const char *tickd_symbol_name(const tickd_segment *seg, int32_t id)
{
	return tk_symtab_name(tk_symtab_of(&seg->seg), id);
}

TICKD_API uint32_t tickd_symbol_count(const tickd_segment *seg)
{
	uint32_t n = tk_symtab_count(tk_symtab_of(&seg->seg));
	uint32_t cap = seg->seg.hdr->config.symbol_capacity;

	/* A full table's failed adds may count past the capacity. */
	return n < cap ? n : cap;
}

/* Insert tf into tfs[0..n), kept ascending and without repeats; returns
 * the new count. */
static unsigned tk__tf_insert(int64_t *tfs, unsigned n, int64_t tf)
{
	unsigned i, j;

	for (i = 0; i < n && tfs[i] < tf; i++)
		;
	if (i < n && tfs[i] == tf)
		return n;
	for (j = n; j > i; j--)
		tfs[j] = tfs[j - 1];
	tfs[i] = tf;
	return n + 1;
}

TICKD_API int tickd_timeframes(const tickd_segment *seg, struct tickd_timeframe *out, unsigned max)
{
	const struct tk_seg_config *cfg = &seg->seg.hdr->config;
	struct tk_history_region *h = tk_history_of(&seg->seg);
	int64_t tfs[TK_SEG_MAX_LOGS + TK_SEG_HISTORY_TF];
	unsigned n = 0, i;
	bool from_logs;

	for (i = 0; h != NULL && i < h->ntf && i < TK_SEG_HISTORY_TF; i++)
		n = tk__tf_insert(tfs, n, h->tf_ns[i]);
	from_logs = n == 0;
	/* Without history, the bar logs say which timeframes the engine has:
	 * bars.<tf> or bars.<tf>.<shard>. */
	for (i = 0; from_logs && i < cfg->nlogs && i < TK_SEG_MAX_LOGS; i++) {
		const char *name = cfg->logs[i].name;
		int64_t tf;

		if (strncmp(name, "bars.", 5) == 0 &&
		    tk_tf_parse(name + 5, strcspn(name + 5, "."), &tf) == 0)
			n = tk__tf_insert(tfs, n, tf);
	}
	for (i = 0; i < n && i < max; i++) {
		int t = tk_history_tf(h, tfs[i]);

		memset(&out[i], 0, sizeof(out[i]));
		out[i].tf_ns = tfs[i];
		tk_tf_name(tfs[i], out[i].name, sizeof(out[i].name));
		if (t >= 0 && h->nsym > 0) {
			/* tk_history_read keeps one slot free for the writer. */
			out[i].history_depth = h->depth[t] - 1;
			out[i].history_symbols = h->nsym;
		}
	}
	return (int)n;
}

/* The common part of both versions of tickd_follow. */
static int tk__follow(tickd_segment *seg, const char *log, const struct tickd_follow_opts *opts,
		      tickd_follower **out)
{
	struct tk_reader_opts ro = { 0 };
	tickd_follower *f;
	int rc;

	if (seg == NULL || log == NULL || out == NULL)
		return tk_err_set(EINVAL, "tickd_follow: seg, log and out must not be NULL");
	if (tk_log_find(&seg->seg, log) == NULL) {
		char have[TK_SEG_MAX_LOGS * (TK_NAME_MAX + 1)] = "";
		struct tk_buf b;
		uint32_t i;

		tk_buf_init(&b, have, sizeof(have));
		for (i = 0; i < seg->seg.hdr->config.nlogs && i < TK_SEG_MAX_LOGS; i++)
			tk_buf_printf(&b, "%s%s", i ? ", " : "", seg->seg.hdr->config.logs[i].name);
		return tk_err_set(ENOENT, "no log named '%.40s' in segment %s; it has: %s", log,
				  seg->seg.path, have);
	}
	if (opts != NULL) {
		if (opts->reserved != 0)
			return tk_err_set(EINVAL, "tickd_follow: opts.reserved must be 0");
		if (opts->release_after_ms != 0 && !opts->gating)
			return tk_err_set(EINVAL, "tickd_follow: release_after_ms is a gating policy "
					  "(set gating and a name)");
		ro.name = opts->name;
		ro.gating = opts->gating != 0;
		ro.release_on_stall = opts->release_after_ms != 0;
		ro.stall_ns = (int64_t)opts->release_after_ms * 1000000;
		if (opts->from_seq != 0) {
			ro.start = opts->name != NULL ? TK_START_RESUME : TK_START_SEQ;
			ro.start_seq = opts->from_seq;
		} else {
			ro.start = opts->from_start ? TK_START_OLDEST : TK_START_RESUME;
		}
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return tk_err_set(ENOMEM, "tickd_follow: out of memory");
	rc = tk_log_reader_open(&f->r, &seg->seg, log, &ro);
	if (rc < 0) {
		free(f);
		return rc;
	}
	if (!f->r.resumed && opts != NULL && opts->from_seq != 0)
		f->r.next = opts->from_seq;
	f->buf = aligned_alloc(64, f->r.slot_size);
	if (f->buf == NULL) {
		tk_log_reader_close(&f->r);
		free(f);
		return tk_err_set(ENOMEM, "tickd_follow: out of memory");
	}
	tk_idle_init(&f->idle, TK_IDLE_BLOCK);
	*out = f;
	return 0;
}

/* tickd_follow@@TICKD_1: the opts of tickd.h now. */
__attribute__((symver("tickd_follow@@TICKD_1"))) TICKD_API int
tk__follow_v1(tickd_segment *seg, const char *log, const struct tickd_follow_opts *opts,
	      tickd_follower **out)
{
	return tk__follow(seg, log, opts, out);
}

/* The opts of TICKD_0, before release_after_ms. */
struct tk__follow_opts_v0 {
	const char *name;
	int gating;
	int from_start;
	uint64_t from_seq;
};
_Static_assert(offsetof(struct tickd_follow_opts, release_after_ms) ==
		       sizeof(struct tk__follow_opts_v0),
	       "TICKD_1 only appends to the follow options");

/* tickd_follow@TICKD_0: programs built before release_after_ms pass the
 * shorter struct; read only that much, the rest is the old default (hold). */
__attribute__((symver("tickd_follow@TICKD_0"))) TICKD_API int
tk__follow_v0(tickd_segment *seg, const char *log, const struct tk__follow_opts_v0 *old,
	      tickd_follower **out)
{
	struct tickd_follow_opts o = { 0 };

	if (old == NULL)
		return tk__follow(seg, log, NULL, out);
	memcpy(&o, old, sizeof(*old));
	return tk__follow(seg, log, &o, out);
}

TICKD_API int tickd_next(tickd_follower *f, struct tickd_record *rec, int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? tk_mono_ns() + (int64_t)timeout_ms * 1000000 : 0;

	tk_idle_reset(&f->idle);
	for (;;) {
		int rc = tk_log_read(&f->r, f->buf);

		if (rc == TK_LOG_OK) {
			rec->seq = f->buf->seq;
			rec->type = f->buf->type;
			rec->aux = f->buf->aux;
			rec->data = f->buf->data;
			rec->len = f->r.slot_size - TK_SLOT_HEADER;
			rec->gap_from = rec->gap_to = 0;
			return TICKD_NEXT_RECORD;
		}
		if (rc == TK_LOG_LAPPED) {
			memset(rec, 0, sizeof(*rec));
			rec->gap_from = f->r.gap_from;
			rec->gap_to = f->r.gap_to;
			return TICKD_NEXT_GAP;
		}
		if (timeout_ms == 0)
			return TICKD_NEXT_NONE;
		if (timeout_ms > 0) {
			int64_t left = deadline - tk_mono_ns();

			if (left <= 0)
				return TICKD_NEXT_NONE;
			tk_log_reader_heartbeat(&f->r);
			tk_idle_wait(&f->idle, &f->r, left);
		} else {
			tk_log_reader_heartbeat(&f->r);
			tk_idle_wait(&f->idle, &f->r, 100 * 1000 * 1000);
		}
	}
}

TICKD_API void tickd_commit(tickd_follower *f)
{
	tk_log_reader_commit(&f->r);
	tk_log_reader_heartbeat(&f->r);
}

TICKD_API void tickd_unfollow(tickd_follower *f)
{
	if (f == NULL)
		return;
	tk_log_reader_close(&f->r);
	free(f->buf);
	free(f);
}

TICKD_API uint64_t tickd_write_seq(const tickd_follower *f)
{
	return tk_log_write_seq(f->r.log);
}

/* The payload a record type needs (0: a type without a fixed record). */
static size_t tk__record_size(uint32_t type)
{
	switch (type) {
	case TK_REC_TICK: return sizeof(struct tk_tick);
	case TK_REC_HEARTBEAT: return sizeof(struct tk_heartbeat);
	case TK_REC_GAP: return sizeof(struct tk_gap);
	case TK_REC_BAR: return sizeof(struct tk_bar_rec);
	case TK_REC_SIGNAL: return sizeof(struct tk_signal_rec);
	default: return 0;
	}
}

TICKD_API int tickd_record_json(const tickd_segment *seg, const struct tickd_record *rec, char *buf,
				size_t cap)
{
	struct tk_buf b;

	if (rec == NULL || buf == NULL || cap == 0)
		return tk_err_set(EINVAL, "tickd_record_json: rec and buf must not be NULL, cap not 0");
	if (rec->len < tk__record_size(rec->type) || (rec->data == NULL && rec->len > 0))
		return tk_err_set(EINVAL, "tickd_record_json: a type %u record needs %zu bytes, "
				  "rec->len is %u", rec->type, tk__record_size(rec->type), rec->len);
	tk_buf_init(&b, buf, cap);
	tk_render_json(&b, rec->seq, rec->type, rec->aux, rec->data, rec->len,
		       seg != NULL ? tk_symtab_of(&seg->seg) : NULL);
	if (b.overflow || b.len >= cap)
		return tk_err_set(ENOSPC, "tickd_record_json: the JSON needs more than %zu bytes", cap);
	return (int)b.len;
}

TICKD_API int tickd_quote_id(const tickd_segment *seg, int32_t id, struct tickd_quote *q)
{
	const struct tk_state_region *st = tk_state_of(&seg->seg);
	struct tickd_quote out;
	struct tk_live live;
	const char *name;
	size_t n;
	int rc;

	if (q == NULL || q->size < TK_QUOTE_V1_SIZE)
		return tk_err_set(EINVAL, "tickd_quote: set q->size to sizeof(struct tickd_quote) "
				  "(TICKD_QUOTE_INIT); %u is below version 1's %zu bytes",
				  q != NULL ? q->size : 0, TK_QUOTE_V1_SIZE);
	name = tk_symtab_name(tk_symtab_of(&seg->seg), id);
	if (name == NULL)
		return tk_err_set(ENOENT, "no symbol with id %d in segment %s", id, seg->seg.path);
	if (st == NULL || tk_state_payload_size(st) < sizeof(struct tk_live))
		return tk_err_set(EPROTO, "segment %s: its state records (%u bytes) do not hold the "
				  "engine's live state (%zu bytes)", seg->seg.path,
				  st != NULL ? tk_state_payload_size(st) : 0, sizeof(struct tk_live));
	rc = tk_state_read(st, (uint32_t)id, &live, TK_LIVE_QUOTE_BYTES);
	if (rc == -EAGAIN)
		return tk_err_set(EAGAIN, "symbol %s: its live state stayed mid-update (the engine "
				  "is busy or died writing it): retry", name);
	if (rc < 0)
		return tk_err_set(rc, "symbol %s: cannot read its live state", name);
	if (live.trades == 0)
		return tk_err_set(ENODATA, "symbol %s has no trade applied yet", name);
	memset(&out, 0, sizeof(out));
	out.version = TICKD_QUOTE_VERSION;
	out.symbol_id = id;
	snprintf(out.symbol, sizeof(out.symbol), "%s", name);
	out.seq = live.last_seq;
	out.last_ts_ns = live.last_ts;
	out.last_price = live.last_price;
	out.last_size = live.last_size;
	out.day_ns = live.day;
	out.day_open = live.day_open;
	out.day_high = live.day_high;
	out.day_low = live.day_low;
	out.day_volume = live.day_volume;
	out.prev_close = live.prev_close;
	out.change = live.change;
	out.change_pct = live.change_pct;
	out.trade_count = live.trades;
	out.late = live.late;
	/* As much as both sides know: a newer caller's extra fields stay as
	 * they were, an older caller gets its prefix. */
	n = q->size < sizeof(out) ? q->size : sizeof(out);
	out.size = (uint32_t)n;
	memcpy(q, &out, n);
	return 0;
}

TICKD_API int tickd_quote(const tickd_segment *seg, const char *symbol, struct tickd_quote *q)
{
	int32_t id = tickd_symbol_find(seg, symbol);

	if (id < 0)
		return id;
	return tickd_quote_id(seg, id, q);
}

TICKD_API int tickd_history_read(const tickd_segment *seg, int32_t id, int64_t tf_ns,
				 struct tickd_bar *out, unsigned max)
{
	struct tk_history_region *h = tk_history_of(&seg->seg);

	if (h == NULL || id < 0)
		return 0;
	return (int)tk_history_read(h, tk_history_tf(h, tf_ns), (uint32_t)id,
				    (struct tk_hist_bar *)out, max);
}

TICKD_API int tickd_state_read(const tickd_segment *seg, int32_t id, void *buf, size_t len)
{
	const struct tk_state_region *st = tk_state_of(&seg->seg);
	int rc;

	if (id < 0 || st == NULL || (uint32_t)id >= st->capacity)
		return tk_err_set(ENOENT, "no state record for symbol id %d in segment %s", id,
				  seg->seg.path);
	rc = tk_state_read(st, (uint32_t)id, buf, len);
	if (rc == -EINVAL)
		return tk_err_set(EINVAL, "tickd_state_read: %zu bytes asked, a record holds %u", len,
				  tk_state_payload_size(st));
	if (rc == -EAGAIN)
		return tk_err_set(EAGAIN, "symbol id %d: its live state stayed mid-update: retry", id);
	return rc;
}

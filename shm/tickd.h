/*
 * tickd.h: attach your own reader to a running tickd.
 *
 * Build against it with
 *     cc my_reader.c $(pkg-config --cflags --libs tickd)
 *
 * This header stands alone: a reader needs no other tickd header.  Every
 * record a log carries has its struct here, byte for byte the layout the
 * engine writes (the library checks it at build time).
 *
 * A reader maps the segment read-only (DESIGN.md invariant 10): the only
 * memory it may write is its own cursor slot, and only if it registers
 * under a name.  Anonymous followers never slow the writer; when they
 * fall a whole ring behind, tickd_next() reports exactly which sequences
 * they missed.  A named *gating* follower is never overwritten while it
 * lives: it either holds the writer back while it is stalled (policy
 * hold, the default) or is released after a stall of its choosing and then
 * told exactly what it missed (tickd_follow_opts.release_after_ms).
 *
 * Errors.  Functions that can fail return 0 (or a count, or an id) on
 * success and a negative errno on failure; tickd_last_error() then holds a
 * one-line message saying what failed and why.  Each function lists every
 * errno it returns.
 *
 * Threads.  tickd_last_error() is per thread.  A tickd_segment may be used
 * by any number of threads at once (every function taking a const segment
 * is lock-free and reads only).  A tickd_follower belongs to one thread at
 * a time.
 *
 * Output.  The library never prints: not to stdout, not to stderr.  What
 * it has to say comes back as return codes and tickd_last_error().
 */
#ifndef TICKD_H
#define TICKD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; tickd_version() is the library's. */
#define TICKD_VERSION_MAJOR 0
#define TICKD_VERSION_MINOR 1
#define TICKD_VERSION_PATCH 0
#define TICKD_VERSION "0.1.0"

/* The segment layout this header reads; a segment of another ABI version
 * is refused by tickd_attach() with -EPROTO. */
#define TICKD_ABI_VERSION 3

typedef struct tickd_segment tickd_segment;
typedef struct tickd_follower tickd_follower;

/* The library's version, "MAJOR.MINOR.PATCH" (static storage).  May differ
 * from TICKD_VERSION when a program runs against a newer libtickd.so.
 * Cannot fail; any thread. */
const char *tickd_version(void);

/* ------------------------------------------------------------- records */

/* Record types (tickd_record.type). */
#define TICKD_REC_TICK 1      /* data: struct tickd_tick; aux: the symbol id */
#define TICKD_REC_HEARTBEAT 2 /* data: struct tickd_heartbeat (the feed's clock) */
#define TICKD_REC_GAP 3       /* data: struct tickd_feed_gap: the feed reconnected */
#define TICKD_REC_BAR 4       /* data: struct tickd_bar_record; aux: the symbol id (bars.*) */
#define TICKD_REC_SIGNAL 5    /* data: struct tickd_signal; aux: the symbol id (signals) */

/* A trade (ticks.* logs).  Times are epoch ns UTC. */
struct tickd_tick {
	int64_t ts_ns;       /* event time: the trade's own timestamp */
	double price;
	double size;
	int64_t recv_ns;     /* when the feed received it */
	uint32_t conditions; /* trade-condition flags (bit n: condition n) */
	uint32_t feed;       /* the feed that wrote it */
	uint64_t src;        /* its place in its source: the n-th trade of the generator, or
				(message number << 20 | trade in the message) of a replay */
};

#define TICKD_HEARTBEAT_END 0x1u   /* end of stream: a finite source has finished */
#define TICKD_HEARTBEAT_BEGIN 0x2u /* a stream starts: `stream` names its source */

/* The feed's clock (wall clock live, replay clock on a replay): advances
 * stream time, so idle symbols still close their bars. */
struct tickd_heartbeat {
	int64_t clock_ns;
	uint32_t flags;  /* TICKD_HEARTBEAT_* */
	uint32_t feed;
	uint64_t src;    /* the src of the next trade the source will give */
	uint64_t stream; /* identity of the source (0: a live source, never resumed) */
};

/* The feed lost its connection: trades in [from_ns, to_ns) may be missing. */
struct tickd_feed_gap {
	int64_t from_ns;
	int64_t to_ns;
	uint32_t nsymbols; /* symbols subscribed at the time */
	uint32_t feed;
};

/* The indicators as of a closed bar; NaN while not defined yet (fewer bars
 * than the period).  TA-Lib conventions (DESIGN.md). */
struct tickd_indicators {
	double session_vwap; /* VWAP of the UTC day so far */
	double sma_fast;     /* SMA(sma_fast_n) of the closes */
	double sma_slow;
	double ema_fast;     /* EMA(ema_fast_n), seeded with the SMA */
	double ema_slow;
	double rsi;          /* RSI(rsi_n), Wilder smoothing */
	double volatility;   /* stddev of log returns over volatility_n bars */
};

/* A closed bar and its indicators (bars.<tf> logs). */
struct tickd_bar_record {
	int64_t window_start; /* epoch ns, a multiple of tf_ns */
	int64_t tf_ns;        /* the timeframe */
	double open;
	double high;
	double low;
	double close;
	double volume;
	double vwap;          /* sum(price * size) / volume; close when volume is 0 */
	uint64_t trade_count;
	struct tickd_indicators ind;
	uint16_t sma_fast_n; /* the periods, so readers can name the fields (sma_20) */
	uint16_t sma_slow_n;
	uint16_t ema_fast_n;
	uint16_t ema_slow_n;
	uint16_t rsi_n;
	uint16_t volatility_n;
	uint32_t signals; /* bit k: this bar raised a signal of kind k */
};

/* Signal kinds (tickd_signal.kind). */
#define TICKD_SIGNAL_PCT_CHANGE 1   /* |close - open| / open beyond SIGNAL_PCT_CHANGE */
#define TICKD_SIGNAL_VOLUME_SPIKE 2 /* value: volume / average volume */
#define TICKD_SIGNAL_SMA_CROSS 3    /* value: fast - slow SMA */
#define TICKD_SIGNAL_VWAP_CROSS 4   /* value: close - session VWAP */

/* A signal raised by a closed bar (the signals log). */
struct tickd_signal {
	int64_t ts_ns;     /* the end of the bar that raised it */
	int64_t tf_ns;
	uint32_t kind;     /* TICKD_SIGNAL_* */
	int32_t direction; /* +1 up, -1 down */
	double pct_change; /* (close - open) / open of the bar */
	double close;
	double vwap;
	double volume;
	double value;      /* kind-specific, see TICKD_SIGNAL_* */
};

/* One record as tickd_next() returns it. */
struct tickd_record {
	uint64_t seq;     /* the record's sequence in its log (from 1) */
	uint32_t type;    /* TICKD_REC_*; other values may appear: skip them */
	uint32_t aux;     /* symbol id for ticks, bars and signals */
	const void *data; /* payload: owned by the follower, valid until its next tickd_next()
			     or tickd_unfollow(); suitably aligned for the record structs */
	uint32_t len;     /* payload bytes (the log's slot payload: >= the record's size) */
	uint64_t gap_from; /* for TICKD_NEXT_GAP: sequences [gap_from, gap_to) were missed */
	uint64_t gap_to;
};

/* ------------------------------------------------------------ segment */

/*
 * Attach to a segment, read-only.  path NULL means $TICKD_SHM_PATH or
 * /dev/shm/tickd.  On success *out is yours until tickd_detach().
 * Errors: -ENOENT (no such file), -EACCES (no read permission), -EPROTO
 * (not a tickd segment, or one of another ABI version: the message says
 * which versions), -EBADF (truncated or corrupt), -EAGAIN (its creator has
 * not finished making it: retry), -ENOMEM.  Any thread.
 */
int tickd_attach(const char *path, tickd_segment **out);

/* Detach and free seg (NULL: nothing).  Every follower of seg must be
 * unfollowed first.  Cannot fail. */
void tickd_detach(tickd_segment *seg);

/* The message of this thread's last failed call ("" if none yet).  Valid
 * until the next failing call on this thread.  Cannot fail. */
const char *tickd_last_error(void);

/* Logs in the segment, by index 0..count-1 ("ticks.0", "bars.1m",
 * "signals", ...).  Names live as long as seg; NULL for an index out of
 * range.  Cannot fail otherwise. */
int tickd_log_count(const tickd_segment *seg);
const char *tickd_log_name(const tickd_segment *seg, int index);

/*
 * Symbols.  tickd_symbol_find: the id of name (>= 0); -ENOENT if the
 * segment does not know it, -EINVAL if name is not a valid symbol name
 * (NULL, empty, longer than 31 bytes, not UTF-8, or holding control
 * characters or quotes).
 * tickd_symbol_name: the name of id, NULL if none (the name lives as long
 * as seg).  tickd_symbol_count: ids in use, 0..count-1.  Lock-free: a
 * symbol added meanwhile by the feed may or may not be seen.
 */
int32_t tickd_symbol_find(const tickd_segment *seg, const char *name);
const char *tickd_symbol_name(const tickd_segment *seg, int32_t id);
uint32_t tickd_symbol_count(const tickd_segment *seg);

/* One timeframe of the segment's engine. */
struct tickd_timeframe {
	int64_t tf_ns;
	char name[16];            /* "1s", "1m", ...: the bar log is bars.<name> (bars.<name>.<shard>) */
	uint32_t history_depth;   /* closed bars tickd_history_read() can return at most (0: none) */
	uint32_t history_symbols; /* symbols (ids below this) that keep a history */
};

/*
 * The segment's timeframes, shortest first: fills out[0..min(count,max)-1]
 * and returns count (call with max 0 to ask how many).  From the history
 * configuration, or, on a segment made without history, from its bar
 * logs.  Cannot fail.
 */
int tickd_timeframes(const tickd_segment *seg, struct tickd_timeframe *out, unsigned max);

/* ------------------------------------------------------------ follow */

/*
 * How to follow a log.  Zero-initialise it and set what you need; a NULL
 * opts is all zeros: an anonymous follower starting at the end.
 */
struct tickd_follow_opts {
	const char *name;   /* register under this name (1..31 bytes, shown in `tickd stats`,
			       resumed by the next follower of that name); NULL: anonymous */
	int gating;         /* with a name: the writer never overwrites what you have not
			       committed (tickd_commit) */
	int from_start;     /* start at the oldest record still in the ring, not at the end */
	uint64_t from_seq;  /* if non-zero: start here (or at the committed cursor of `name`) */
	/* Added in 0.1 (symbol version TICKD_1): */
	uint32_t release_after_ms; /* gating policy: 0 = hold (a stalled follower holds the
				      writer back, visibly in the stats); N = release after the
				      writer has waited N ms for it; the follower's next
				      tickd_next() then returns TICKD_NEXT_GAP with what it missed */
	uint32_t reserved;  /* 0 */
};

/*
 * Follow a log by name.  *out is yours until tickd_unfollow().
 * Errors: -ENOENT (no log of that name; the message lists the logs),
 * -EINVAL (gating without a name, a name of 0 or more than 31 bytes,
 * release_after_ms without gating, reserved not 0), -EBUSY (a live process
 * holds that name), -ENOSPC (every cursor slot of the log is taken),
 * -EROFS (a name on a segment this process may not write: follow
 * anonymously), -ENOMEM.  Any thread; the follower then belongs to one
 * thread at a time.
 */
int tickd_follow(tickd_segment *seg, const char *log, const struct tickd_follow_opts *opts,
		 tickd_follower **out);

#define TICKD_NEXT_RECORD 1
#define TICKD_NEXT_NONE 0
#define TICKD_NEXT_GAP 2

/*
 * The next record.  Waits up to timeout_ms (0: do not wait, -1: forever)
 * sleeping until the writer writes.  Returns TICKD_NEXT_RECORD (rec
 * filled, its data valid until the next call on f), TICKD_NEXT_NONE
 * (nothing came in time), or TICKD_NEXT_GAP (you were lapped, or released
 * as a stalled gating follower: rec->gap_from / gap_to say exactly which
 * sequences you missed; the next call continues at gap_to, and a released
 * follower is back in the gate from gap_to on).  Cannot fail.
 */
int tickd_next(tickd_follower *f, struct tickd_record *rec, int timeout_ms);

/* Commit the cursor of a named follower: everything tickd_next() returned
 * so far is done (a gating follower's records may then be overwritten; a
 * released one not yet told of its gap rejoins the gate).  No-op for an anonymous follower.
 * Cannot fail. */
void tickd_commit(tickd_follower *f);

/* Commit and stop following; frees f (NULL: nothing).  A named follower's
 * cursor stays for the next follower of that name.  Cannot fail. */
void tickd_unfollow(tickd_follower *f);

/* Sequence of the last record written to the follower's log. */
uint64_t tickd_write_seq(const tickd_follower *f);

/*
 * A record as one JSON line of the data contract (DESIGN.md), without the
 * newline and NUL-terminated: exactly what `tickd tail` prints for it.
 * Returns its length (< cap), or -ENOSPC when cap is too small (buf then
 * holds a cut text; 1024 bytes always suffice), -EINVAL (rec or buf NULL,
 * or rec->len shorter than its type's record).  Any thread.
 */
int tickd_record_json(const tickd_segment *seg, const struct tickd_record *rec, char *buf,
		      size_t cap);

/* ------------------------------------------------------------ live state */

#define TICKD_QUOTE_VERSION 1

/*
 * The live state of a symbol, as the engine keeps it in place.  Versioned:
 * set `size` to sizeof(struct tickd_quote) before the call (TICKD_QUOTE_INIT);
 * the library fills as much as both sides know, and says how much in size
 * and which version in version, so the struct can grow at its end.
 * Prices are the trades'; the day is the UTC day of the last trade.
 */
struct tickd_quote {
	uint32_t size;        /* in: your sizeof; out: bytes filled */
	uint32_t version;     /* out: TICKD_QUOTE_VERSION of the library */
	int32_t symbol_id;
	uint32_t reserved;
	char symbol[32];
	uint64_t seq;         /* tick log sequence of the last trade applied */
	int64_t last_ts_ns;   /* event time of the last trade (the latest by event time) */
	double last_price;
	double last_size;
	int64_t day_ns;       /* epoch ns of the UTC midnight of the day fields */
	double day_open;      /* the day's first trade */
	double day_high;
	double day_low;
	double day_volume;    /* sum of the day's sizes */
	double prev_close;    /* last price of the previous day that traded; NaN if none */
	double change;        /* last_price - prev_close (NaN without one) */
	double change_pct;    /* 100 * change / prev_close (NaN without one) */
	uint64_t trade_count; /* trades applied */
	uint64_t late;        /* trades dropped as late (all timeframes) */
};

#define TICKD_QUOTE_INIT { .size = sizeof(struct tickd_quote) }

/*
 * A consistent snapshot of the live state of symbol (by name) or id,
 * read under the symbol's seqlock: never half of one trade and half of
 * another, and never blocking the engine.  Lock-free, any thread.
 * Errors: -ENOENT (no such symbol), -ENODATA (the symbol has no trade
 * applied yet), -EAGAIN (the engine was mid-update for over 1 ms, or died
 * mid-update: retry), -EINVAL (q NULL, or q->size below the version 1
 * fields), -EPROTO (the segment's state records are not the engine's
 * live state: a segment made for other records).
 */
int tickd_quote(const tickd_segment *seg, const char *symbol, struct tickd_quote *q);
int tickd_quote_id(const tickd_segment *seg, int32_t id, struct tickd_quote *q);

/* A closed bar from the history rings. */
struct tickd_bar {
	int64_t window_start; /* epoch ns */
	double open;
	double high;
	double low;
	double close;
	double volume;
	double vwap;
	uint64_t trade_count;
};

/*
 * The newest closed bars of a symbol for timeframe tf_ns (e.g. 60e9 for
 * 1m), oldest first, at most max (and at most the timeframe's
 * history_depth).  Returns how many: 0 if the segment keeps no history for
 * that symbol or timeframe, or none closed yet.  Lock-free, any thread.
 */
int tickd_history_read(const tickd_segment *seg, int32_t id, int64_t tf_ns, struct tickd_bar *out,
		       unsigned max);

/*
 * The raw payload of a symbol's live-state record (the engine's own
 * layout, which tickd_quote() reads for you), len bytes of it, as a
 * consistent snapshot.  Errors: -ENOENT (id out of range), -EINVAL (len
 * bigger than the record), -EAGAIN (mid-update for over 1 ms: retry).
 */
int tickd_state_read(const tickd_segment *seg, int32_t id, void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif

/*
 * tickd.h: attach your own reader to a running tickd.
 *
 * Build against it with
 *     cc my_reader.c $(pkg-config --cflags --libs tickd)
 *
 * A reader maps the segment read-only (DESIGN.md invariant 10): the only
 * memory it may write is its own cursor slot, and only if it registers
 * under a name.  Anonymous followers never slow the writer; when they
 * fall a whole ring behind, tickd_next() reports exactly which sequences
 * they missed.  A named *gating* follower is never overwritten while it
 * lives (use it only if you drain fast: it holds the feed back).
 *
 * Errors: functions return 0 (or a count) on success and a negative errno
 * on failure; tickd_last_error() then holds a one-line message for this
 * thread.  Threads: a tickd_segment may be shared by threads; a
 * tickd_follower belongs to one thread at a time.
 */
#ifndef TICKD_H
#define TICKD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TICKD_ABI_VERSION 2

typedef struct tickd_segment tickd_segment;
typedef struct tickd_follower tickd_follower;

/* Record types (tickd_record.type). */
#define TICKD_REC_TICK 1      /* data is struct tickd_tick, aux the symbol id */
#define TICKD_REC_HEARTBEAT 2 /* data is struct tickd_heartbeat */
#define TICKD_REC_GAP 3       /* data is struct tickd_feed_gap: the feed reconnected */

struct tickd_tick {
	int64_t ts_ns;       /* event time, epoch ns UTC */
	double price;
	double size;
	int64_t recv_ns;     /* when the feed received it, epoch ns */
	uint32_t conditions; /* trade-condition flags */
	uint32_t feed;
};

struct tickd_heartbeat {
	int64_t clock_ns; /* the feed's clock */
	uint32_t flags;   /* 1: end of stream */
	uint32_t feed;
};

struct tickd_feed_gap {
	int64_t from_ns;
	int64_t to_ns;
	uint32_t nsymbols;
	uint32_t feed;
};

struct tickd_record {
	uint64_t seq;     /* the record's sequence in its log */
	uint32_t type;    /* TICKD_REC_* */
	uint32_t aux;     /* symbol id for ticks */
	const void *data; /* payload: owned by the follower, valid until the next call on it */
	uint32_t len;     /* payload bytes */
	uint64_t gap_from; /* for TICKD_NEXT_GAP: sequences [gap_from, gap_to) were missed */
	uint64_t gap_to;
};

/*
 * Attach to a segment, read-only.  path NULL means $TICKD_SHM_PATH or
 * /dev/shm/tickd.  Refuses, with a message, a file that is not a tickd
 * segment, one of another ABI version, or a truncated one.
 * On success *out is yours until tickd_detach().
 */
int tickd_attach(const char *path, tickd_segment **out);
void tickd_detach(tickd_segment *seg);

/* The message of this thread's last failed call ("" if none). */
const char *tickd_last_error(void);

/* Logs in the segment, by index 0..count-1.  Names live as long as seg. */
int tickd_log_count(const tickd_segment *seg);
const char *tickd_log_name(const tickd_segment *seg, int index);

/* Symbols: id by name (>= 0, or -ENOENT), name by id (NULL if none). */
int32_t tickd_symbol_find(const tickd_segment *seg, const char *name);
const char *tickd_symbol_name(const tickd_segment *seg, int32_t id);
uint32_t tickd_symbol_count(const tickd_segment *seg);

struct tickd_follow_opts {
	const char *name;   /* register under this name (shown in `tickd stats`); NULL: anonymous */
	int gating;         /* with a name: never be overwritten (holds the writer back) */
	int from_start;     /* start at the oldest record still in the ring, not at the end */
	uint64_t from_seq;  /* if non-zero: start here (or at the committed cursor of `name`) */
};

/* Follow a log by name ("ticks.0", ...). *out is yours until tickd_unfollow(). */
int tickd_follow(tickd_segment *seg, const char *log, const struct tickd_follow_opts *opts,
		 tickd_follower **out);

#define TICKD_NEXT_RECORD 1
#define TICKD_NEXT_NONE 0
#define TICKD_NEXT_GAP 2

/*
 * The next record.  Waits up to timeout_ms (0: do not wait, -1: forever)
 * sleeping on the log's futex.  Returns TICKD_NEXT_RECORD (rec filled),
 * TICKD_NEXT_NONE (nothing came), or TICKD_NEXT_GAP (you were lapped:
 * rec->gap_from / gap_to say what you missed; the next call continues at
 * gap_to).
 */
int tickd_next(tickd_follower *f, struct tickd_record *rec, int timeout_ms);

/* Commit the cursor of a named follower (everything returned so far is done). */
void tickd_commit(tickd_follower *f);

void tickd_unfollow(tickd_follower *f);

/* Sequence of the last record written to the follower's log. */
uint64_t tickd_write_seq(const tickd_follower *f);

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
 * 1m), oldest first, at most max.  Returns how many (0 if the segment keeps
 * no history for that symbol or timeframe).  Lock-free, any process.
 */
int tickd_history_read(const tickd_segment *seg, int32_t id, int64_t tf_ns, struct tickd_bar *out,
		       unsigned max);

/*
 * A consistent snapshot of a symbol's live state (the engine's per-symbol
 * record), len bytes of it.  0, -ENOENT, -EINVAL (len too big), -EAGAIN.
 */
int tickd_state_read(const tickd_segment *seg, int32_t id, void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif

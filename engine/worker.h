/*
 * The engine worker: consumes every tick log as a gating reader, applies
 * the ticks of its shard to bars, indicators and signals, keeps each
 * symbol's live state in place (seqlocked), and writes closed bars and
 * signals to its output logs.
 *
 * DESIGN.  Everything the worker computes is a function of the sequence of
 * records it consumes, never of the clock or of batching: stream time is
 * the largest event time seen (trades and the feed's heartbeats), windows
 * close when it passes their end plus the lateness, and closed bars go out
 * in a fixed order (timeframe, then symbol id, then window).  Symbols are
 * assigned to shards by a hash of their name, so the assignment survives
 * restarts and does not depend on which process added a symbol first.
 */
#ifndef TK_ENGINE_WORKER_H
#define TK_ENGINE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/bar.h"
#include "engine/indicators.h"
#include "shm/live.h"
#include "shm/history.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/metrics.h"
#include "shm/segment.h"
#include "shm/state.h"
#include "shm/symtab.h"

#define TK_READ_BATCH 64   /* records a read takes at most */
#define TK_WORKER_BUF 4096 /* bytes: a batch of input slots */
#define TK_MAX_INPUTS 16 /* every feed id (TK_FEEDS_MAX) has its tick log read */
#define TK_OUTPUTS (TK_MAX_TF + 1) /* bars of each timeframe, then signals (TK_MAX_TF) */
#define TK_OUT_SIGNALS TK_MAX_TF

struct tk_worker_cfg {
	uint32_t shard;
	uint32_t shards;
	int64_t tf_ns[TK_MAX_TF];
	uint32_t ntf;
	uint32_t pct_tf_mask; /* timeframes where pct_change is evaluated */
	int64_t lateness_ns;
	struct tk_ind_cfg ind;
	enum tk_idle_kind idle;
	bool exit_at_end; /* return once every input has ended and been applied */
	int64_t input_silence_ns; /* several inputs: wall time after which one that shows
				     nothing while another waits is no longer waited for */
	bool huge_pages; /* the per-symbol arrays on transparent huge pages (madvise) */
};

/* Symbols with state past which the worker's far (L2) prefetch pays: their
 * hot lines (512 bytes each) outgrow an L2 of 1 MB or so; below, it is only
 * instructions (measured: 100 symbols ran ~10 % slower with it).  Public
 * so that bench/engine's memory-alone loop prefetches as the worker does. */
#define TK_PREFETCH_FAR_MIN 2048

enum { TK_SYM_IDLE = 0, TK_SYM_ACTIVE = 1, TK_SYM_CHANGED = 2 }; /* tk_worker.is_active */

struct tk_worker_stats {
	uint64_t ticks;
	uint64_t other_shard;
	uint64_t late;
	uint64_t bars;
	uint64_t signals;
	uint64_t heartbeats;
	uint64_t ends;
	uint64_t inputs_dropped; /* times an input went silent and was no longer waited for */
};

struct tk_worker;
/* Claim the worker's metrics slot in the segment (role "engine.<shard>")
 * and name its metrics; they are published at every checkpoint. */
void tk_worker_metrics(struct tk_worker *w, const char *role);

struct tk_worker {
	struct tk_worker_cfg cfg;
	struct tk_agg_rule rule[TK_MAX_TF];
	struct tk_segment *seg;
	struct tk_symtab_region *symtab;
	struct tk_state_region *state;
	struct tk_history_region *history; /* NULL: the segment keeps no history */
	int hist_t[TK_MAX_TF];             /* history index of each timeframe, -1 if none */
	uint32_t tf_map;                   /* tk_live.tf_map: which open bar is which timeframe */
	struct tk_log_reader in[TK_MAX_INPUTS];
	bool in_ended[TK_MAX_INPUTS]; /* its end-of-stream heartbeat has been applied */
	uint32_t nin;
	uint32_t cur_input; /* the input the records being applied come from */
	/* Several inputs are merged in the order of their clocks (see
	 * tk_worker_run): each input's clock is the largest event time it has
	 * carried, its records are read ahead into its own buffer. */
	int64_t in_clock[TK_MAX_INPUTS];
	bool in_silent[TK_MAX_INPUTS];   /* not waited for: showed nothing past input_silence_ns */
	int64_t in_wait_since[TK_MAX_INPUTS]; /* since when the merge waits for it (coarse), 0: not */
	struct tk_slot *in_buf[TK_MAX_INPUTS];
	uint32_t in_pos[TK_MAX_INPUTS], in_n[TK_MAX_INPUTS];
	uint64_t bypass_left; /* records still to apply without waiting for silent inputs */
	bool decision_pending; /* a timing-dependent decision not checkpointed yet */
	double input_rate;     /* records a second between the last two checkpoints */
	struct tk_log_writer bars[TK_MAX_TF];
	struct tk_log_writer signals;
	uint32_t capacity;
	/* Engine-private state, one array per timeframe indexed by symbol id
	 * (the newest open window of each is in the live record, in the
	 * segment): a tick that opens a window touches one 16-byte descriptor,
	 * a bar close one indicator state, and the close pass of a timeframe,
	 * which goes through the symbols in id order, reads each array in
	 * address order. */
	struct tk_agg_older *older[TK_MAX_TF]; /* [capacity]: the older windows still open */
	struct tk_ind_state *ind[TK_MAX_TF];   /* [capacity]: touched when a bar closes */
	struct tk_bar *older_arena[TK_MAX_TF]; /* [capacity * older_cap[t]] */
	uint32_t older_cap[TK_MAX_TF];          /* older windows a symbol may have open */
	uint32_t *active;          /* ids of the symbols with state, in the order they came */
	uint32_t nactive;
	uint64_t *active_bits;     /* [capacity / 64]: the same set, for passes in id order */
	uint8_t *is_active;        /* [capacity] TK_SYM_*: a byte per symbol, not a line of its state */
	uint32_t *changed;         /* ids changed since the last checkpoint */
	uint8_t *ind_dirty;        /* [capacity] bit t: ind[t][id] changed since the last checkpoint */
	bool ckpt_failed;          /* the last checkpoint failed: the next after an interval */
	uint32_t nchanged;
	uint32_t ckpt_deltas;      /* deltas appended to the checkpoint since its full snapshot */
	uint64_t ckpt_size;        /* bytes of the checkpoint file */
	uint64_t ckpt_base_size;   /* bytes of its full snapshot */
	uint8_t *shard_of;         /* [capacity], 0xff: not computed yet */
	int64_t stream_time;
	int64_t next_close[TK_MAX_TF];
	struct tk_idle idle;
	struct tk_worker_stats stats;
	struct tk_slot *buf; /* one input slot */
	/* Restart: position of each output as the computation sees it, and how
	 * many records the killed predecessor wrote past the checkpoint. */
	uint64_t out_pos[TK_OUTPUTS];
	uint64_t skip[TK_OUTPUTS];
	uint64_t replay_verified;
	uint64_t replay_mismatch;
	uint64_t checkpoints;
	uint64_t ckpt_every;          /* input records between checkpoints */
	uint64_t since_ckpt;          /* input records since the last one */
	struct tk_role_slot *metrics; /* its metrics slot in the segment, NULL: none */
	int64_t last_ckpt_ns;
	bool restored;
	uint8_t *ckpt_buf; /* reused: a checkpoint allocates only when symbols were added */
	char ckpt_path[512]; /* its checkpoint file (tk_ckpt_path_init) */
	size_t ckpt_cap;
};

/* Defaults: 1s,1m,5m,1h, lateness 2 s, pct_change on 1m, shard 0 of 1. */
void tk_worker_cfg_default(struct tk_worker_cfg *cfg);

/* Name of the bar log of a timeframe for a shard ("bars.1m", or "bars.1m.2"
 * when there are several shards), and of the signal log. */
void tk_bar_log_name(int64_t tf, uint32_t shard, uint32_t shards, char *out, unsigned cap);
void tk_signal_log_name(uint32_t shard, uint32_t shards, char *out, unsigned cap);

/* Shard of a symbol: FNV-1a of its name modulo shards. */
uint32_t tk_shard_of(const char *name, uint32_t shards);

/*
 * Attach the worker to a segment made for this configuration: opens its
 * output logs as their writer and every "ticks.*" log as gating reader
 * "engine.<shard>".  0, or a negative errno with a message.
 */
int tk_worker_open(struct tk_worker *w, struct tk_segment *seg, const struct tk_worker_cfg *cfg);
void tk_worker_close(struct tk_worker *w);

/* Mark symbol id active (it has state): O(1). */
void tk_worker_activate(struct tk_worker *w, uint32_t id);

/* Apply one input record (a tick, a heartbeat, a gap event). */
void tk_worker_apply(struct tk_worker *w, const struct tk_slot *rec);

/*
 * Apply n records laid out at `stride` bytes, in order: the same result as
 * n calls of tk_worker_apply, but the state of the symbol a few records
 * ahead is prefetched while the current one is applied, so thousands of
 * symbols cost cache misses in parallel rather than one after another.
 */
void tk_worker_apply_batch(struct tk_worker *w, const void *recs, uint32_t n, uint32_t stride);

/* Input i is finished for the end of stream and --exit-at-end: its END
 * was applied, or it never carried a record and is no longer waited for
 * (a tick log no feed writes). */
bool tk_worker_input_done(const struct tk_worker *w, uint32_t i);

/* The next sequence of input i this worker has not applied (its read-ahead
 * excluded): what a checkpoint records and the cursor commits. */
uint64_t tk_worker_applied_next(const struct tk_worker *w, uint32_t i);

/*
 * Run until *stop becomes non-zero, or (exit_at_end) every input has sent
 * its end of stream and everything before it is applied.  Returns 0.
 */
int tk_worker_run(struct tk_worker *w, volatile int *stop);

#endif

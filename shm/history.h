/*
 * Bar history: per symbol and timeframe, a ring of the last K closed bars,
 * for readers that want "the last 100 1m bars of AAPL" without scanning a
 * bar log.
 *
 * DESIGN.  Each ring has one writer (the engine worker owning the symbol)
 * and any number of readers.  The writer fills the slot for bar number
 * `count`, then publishes count + 1 with a release store.  A reader loads
 * count (acquire), copies the newest n bars, loads count again, and keeps
 * the copy only if the writer cannot have reached any copied slot in the
 * meantime (fewer than K - n bars written since); otherwise it retries.
 * Appends are idempotent: a bar whose window is not newer than the ring's
 * newest is ignored, so a worker replaying after a restart never doubles
 * one.
 */
#ifndef TK_SHM_HISTORY_H
#define TK_SHM_HISTORY_H

#include <stdint.h>

#include "shm/segment.h"

#define TK_HISTORY_MAGIC 0x54534948544bull /* "TKHIST" */
#define TK_HISTORY_VERSION 1u

struct tk_hist_bar {
	int64_t window_start;
	double open;
	double high;
	double low;
	double close;
	double volume;
	double vwap;
	uint64_t trade_count;
};
_Static_assert(sizeof(struct tk_hist_bar) == 64, "a history bar is one cache line");

struct tk_hist_ring {
	uint64_t count;       /* bars ever appended; store-release by the writer */
	int64_t last_window;  /* window start of the newest; writer only */
	uint8_t pad[48];
	/* struct tk_hist_bar bars[depth]; */
};

struct tk_history_region {
	uint64_t magic;
	uint32_t version;
	uint32_t nsym;
	uint32_t ntf;
	uint32_t reserved;
	int64_t tf_ns[TK_SEG_HISTORY_TF];
	uint32_t depth[TK_SEG_HISTORY_TF];
	uint64_t tf_offset[TK_SEG_HISTORY_TF]; /* from the region start */
} __attribute__((aligned(64)));

uint64_t tk_history_region_size(const struct tk_seg_history *cfg);
void tk_history_init(struct tk_history_region *h, const struct tk_seg_history *cfg);
int tk_history_validate(const struct tk_history_region *h, uint64_t region_size);

/* The segment's history, or NULL if it was made without one. */
struct tk_history_region *tk_history_of(const struct tk_segment *seg);

/* Index of timeframe tf in the history, or -1. */
int tk_history_tf(const struct tk_history_region *h, int64_t tf_ns);

/* Append a closed bar (the ring's writer only).  1 appended, 0 ignored (not
 * newer than the newest, or id beyond the history's symbols). */
int tk_history_append(struct tk_history_region *h, int t, uint32_t id, const struct tk_hist_bar *b);

/*
 * Copy the newest bars of (tf index t, symbol id), oldest first, at most max
 * (and at most depth - 1).  Any process.  Returns how many (0 if none or id
 * out of range).
 */
uint32_t tk_history_read(const struct tk_history_region *h, int t, uint32_t id,
			 struct tk_hist_bar *out, uint32_t max);

#endif

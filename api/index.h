/*
 * A per-symbol index over the bar and signal logs, kept by the API process
 * for itself: "the last 100 1m bars of AAPL with their indicators" costs
 * the 100 slots it returns, not a scan of the ring.
 *
 * DESIGN.  One thread follows each bar log and the signal log as an
 * anonymous reader (it never slows the engine).  For every record of
 * sequence s and symbol id k it stores prev[s % nslots] = the previous
 * sequence of k, then newest[k] = s: a chain through the ring, newest
 * first.  A walk follows the chain and checks every slot it copies
 * (tk_log_read_at): once the writer has lapped a slot its chain is gone
 * and the walk ends there, and the caller reads older records from the
 * journal.  The chain word of s is rewritten only for s + nslots, which
 * the index stores after the writer wrote that slot; a walker loads the
 * word (acquire) and then checks the slot still holds s, so a word that
 * belongs to a newer record is never followed.
 */
#ifndef TK_API_INDEX_H
#define TK_API_INDEX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "shm/log.h"
#include "shm/segment.h"

#define TKA_INDEX_MAX_LOGS TK_SEG_MAX_LOGS

struct tka_logidx {
	struct tk_log_reader r;
	char name[TK_NAME_MAX];
	uint32_t type;      /* TK_REC_BAR or TK_REC_SIGNAL */
	int64_t tf_ns;      /* bar logs: the timeframe (from the log's name), else 0 */
	uint64_t *prev;     /* [nslots] */
	uint64_t *newest;   /* [nsymbols] */
	uint32_t nsymbols;
	uint64_t indexed;   /* records indexed (stats) */
};

struct tka_index {
	struct tka_logidx log[TKA_INDEX_MAX_LOGS];
	unsigned n;
	pthread_t thread;
	bool running;
	volatile int stop;
};

/* Open a follower on every bars.* and signals* log of seg, from the oldest
 * record still in each ring.  0 or -errno with a message. */
int tka_index_open(struct tka_index *ix, const struct tk_segment *seg);
/* Follow the logs on a thread of its own until tka_index_close. */
int tka_index_start(struct tka_index *ix);
/* Index what is there now (the thread's step; tests call it directly).
 * Returns the records indexed. */
uint64_t tka_index_poll(struct tka_index *ix);
void tka_index_close(struct tka_index *ix);

/* Called newest first with each record of the walk; return non-zero to
 * stop.  slot is a consistent copy, slot_size bytes. */
typedef int (*tka_walk_fn)(void *ctx, const struct tk_slot *slot);

/*
 * Walk log li's records of symbol id `sym` (sym < 0: every record) newest
 * first, as far as the ring still holds them.  Returns the sequence of the
 * oldest record given (0: none): older records of the symbol are gone from
 * the ring, or were written before this index started, and are the
 * journal's to give.  Any thread.
 */
uint64_t tka_index_walk(const struct tka_index *ix, unsigned li, int32_t sym, tka_walk_fn fn,
			void *ctx);

/* Index of log `name`, or -1. */
int tka_index_find(const struct tka_index *ix, const char *name);

#endif

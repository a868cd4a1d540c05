/*
 * Idle strategies: what a loop does when it found no work.
 *
 *   spin     pause and retry: lowest latency, burns a core.  For pinned
 *            processes on isolated cores (bare metal, benchmarks).
 *   backoff  spin a little, yield a few times, then sleep 50 us doubling to
 *            1 ms (yields are syscalls that return at once on an idle core:
 *            50 of them per idle moment cost 26 syscalls a tick at 5,000/s).
 *            The default: on a 2-core machine nothing may burn a core idle.
 *   block    spin a little, then sleep on the log's event count (futex)
 *            until the writer publishes: ~zero CPU idle, a few microseconds
 *            to wake.  For readers of one log.
 */
#ifndef TK_SHM_IDLE_H
#define TK_SHM_IDLE_H

#include <stdint.h>

#include "shm/log.h"

enum tk_idle_kind { TK_IDLE_SPIN = 0, TK_IDLE_BACKOFF = 1, TK_IDLE_BLOCK = 2 };

struct tk_idle {
	enum tk_idle_kind kind;
	uint32_t iter;
};

static inline void tk_idle_init(struct tk_idle *idle, enum tk_idle_kind kind)
{
	idle->kind = kind;
	idle->iter = 0;
}

/* Work was found: the next idle period starts from the beginning. */
static inline void tk_idle_reset(struct tk_idle *idle)
{
	idle->iter = 0;
}

/*
 * Nothing to do: wait according to the strategy.  `r` is the reader whose
 * log the BLOCK strategy sleeps on (NULL: BLOCK behaves as BACKOFF).
 * Returns at the latest after `max_ns` for BLOCK (so callers can run
 * timers), after one step for the others.
 */
void tk_idle_wait(struct tk_idle *idle, struct tk_log_reader *r, int64_t max_ns);

/* Parse "spin", "backoff", "block".  0 or -EINVAL. */
int tk_idle_parse(const char *s, enum tk_idle_kind *out);
const char *tk_idle_name(enum tk_idle_kind kind);

/* Is there something for r to read (data or a lap) right now? */
static inline int tk_log_readable(const struct tk_log_reader *r)
{
	const struct tk_slot *slot = tk__log_slot(r->slots, r->next, r->mask, r->shift);
	/* Relaxed: a peek to decide whether to sleep; tk_log_read acquires. */
	uint64_t v = tk_load_relaxed_64(&slot->seq);

	return v == r->next || (v & ~TK_SLOT_WRITING) > r->next;
}

#endif

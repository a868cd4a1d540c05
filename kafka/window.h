/*
 * The records of one log handed to the producer and not yet all delivered:
 * sequences [base, next) with, for each, the messages still waiting for a
 * delivery report (a heartbeat has one per partition).  Delivery reports
 * come back in order within a partition but not across partitions, so the
 * gating cursor may move only to `base`, the first record not complete.
 * Pure bookkeeping over a fixed ring: no allocation after init.
 */
#ifndef TK_KAFKA_WINDOW_H
#define TK_KAFKA_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

struct tkk_window {
	uint32_t *left; /* messages still unacknowledged, per sequence (ring) */
	uint32_t cap;   /* a power of two */
	uint64_t base;  /* first sequence not complete */
	uint64_t next;  /* next sequence to add */
};

/* cap rounded up to a power of two; 0 or -ENOMEM. */
int tkk_window_init(struct tkk_window *w, uint32_t cap, uint64_t start);
void tkk_window_free(struct tkk_window *w);

/* Forget everything in flight: start again at seq (a producer restart). */
void tkk_window_reset(struct tkk_window *w, uint64_t seq);

static inline bool tkk_window_full(const struct tkk_window *w)
{
	return w->next - w->base >= w->cap;
}

/* Record `next` goes out as `messages` messages (0: nothing to wait for).
 * -ENOSPC when full. */
int tkk_window_add(struct tkk_window *w, uint32_t messages);

/* One message of seq delivered.  -ERANGE if seq is not in flight or has
 * nothing left (a report twice, or of a reset window: ignored by callers
 * that expect stale reports). */
int tkk_window_ack(struct tkk_window *w, uint64_t seq);

/* Move base over complete records; returns the new base. */
uint64_t tkk_window_advance(struct tkk_window *w);

#endif

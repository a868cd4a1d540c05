/*
 * Reconnection delays: exponential, capped, with jitter, so that many
 * clients dropped at once do not come back at once.  Pure.
 *
 * Attempt a (0 for the first retry) waits d/2 + u*d/2 where
 * d = min(cap, base * 2^a) and u is uniform in [0, 1): "equal jitter",
 * never less than half the exponential delay, never more than it.
 */
#ifndef TK_FEED_BACKOFF_H
#define TK_FEED_BACKOFF_H

#include <stdint.h>

static inline int64_t tk_backoff_delay(uint32_t attempt, int64_t base, int64_t cap, double u)
{
	int64_t d = base;

	while (attempt-- > 0 && d < cap)
		d *= 2;
	if (d > cap)
		d = cap;
	return d / 2 + (int64_t)(u * (double)(d / 2));
}

#endif

/*
 * Clocks.  All engine times are int64 nanoseconds.  clock_gettime goes
 * through the vDSO (no syscall); the TSC helpers are for benchmarks, where
 * even the vDSO's ~20 ns would blur a 50 ns measurement.
 */
#ifndef TK_COMMON_CLOCK_H
#define TK_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>
#include <x86intrin.h>

static inline int64_t tk_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Monotonic nanoseconds, for intervals and timeouts. */
static inline int64_t tk_mono_ns(void)
{
	return tk_clock_ns(CLOCK_MONOTONIC);
}

/* Coarse monotonic nanoseconds (jiffy resolution, a few ns to read), for heartbeats. */
static inline int64_t tk_mono_coarse_ns(void)
{
	return tk_clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* Wall clock, epoch nanoseconds UTC. */
static inline int64_t tk_wall_ns(void)
{
	return tk_clock_ns(CLOCK_REALTIME);
}

static inline uint64_t tk_tsc(void)
{
	return __rdtsc();
}

/* TSC ticks per nanosecond, measured once against CLOCK_MONOTONIC over ~50 ms. */
double tk_tsc_per_ns(void);

void tk_sleep_ns(int64_t ns);

#endif

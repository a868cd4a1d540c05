/*
 * Prefetch a cache line for a coming read or write.
 *
 * Not __builtin_prefetch on x86-64: GCC 12's IPA mod/ref analysis drops it
 * from code like the worker's batch loop (the call has no visible effect,
 * so the function holding it is found to do nothing; -fno-ipa-modref keeps
 * it).  A volatile asm statement cannot be dropped.
 */
#ifndef TK_COMMON_PREFETCH_H
#define TK_COMMON_PREFETCH_H

static inline void tk_prefetch(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 0, 3);
#endif
}

/* Into the L2 (and L3) only: for a line wanted several steps ahead,
 * without taking an L1 line (or evicting one) long before it is used. */
static inline void tk_prefetch_l2(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetcht2 %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 0, 1);
#endif
}

/* For a coming write: the line arrives exclusive, so the store does not
 * wait for the ownership request (prefetchw: a no-op where the CPU lacks it). */
static inline void tk_prefetch_write(const void *p)
{
#if defined(__x86_64__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

#endif

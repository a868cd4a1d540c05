/*
 * Named memory-ordering helpers for everything that crosses processes.
 *
 * Every cross-process access in shm/ goes through these, so each call site
 * names the ordering it needs and the reader can find its pair.  In normal
 * builds they map onto Concurrency Kit's ck_pr.  Under ThreadSanitizer they
 * map onto the compiler's __atomic builtins instead, because TSan does not
 * see ck_pr's inline assembly and would report every handoff as a race.
 *
 * PORTABILITY.  An acquire load must keep every later load *and store* after
 * it, and a release store every earlier load *and store* before it: a reader
 * that releases its cursor after copying a slot must have finished reading
 * the slot before the writer, seeing the cursor, overwrites it.  A load fence
 * orders only loads and a store fence only stores, which is enough on x86-64
 * (TSO: the hardware never moves a store above an earlier load) and nowhere
 * else (on arm64 `dmb ishst` lets the slot loads drift past the cursor store).
 * So acquire and release use ck_pr_fence_acquire/ck_pr_fence_release, which
 * CK emits per memory model: a compiler barrier on TSO, the real barriers on
 * RMO/PSO machines (arm64: `dmb ish`; POWER: lwsync/sync).  The seqlock
 * fences (tk_fence_store/tk_fence_load) order only stores or only loads, and
 * that is what a seqlock needs on every model.
 *
 * Targets: 64-bit with 64-bit atomics (ck_pr_*_64).  The TSan build is
 * x86-64 only (its fences below are compiler barriers, right only on TSO).
 */
#ifndef TK_SHM_ATOMIC_H
#define TK_SHM_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__SANITIZE_THREAD__)
#define TK_ATOMIC_BUILTINS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TK_ATOMIC_BUILTINS 1
#endif
#endif

#ifndef TK_ATOMIC_BUILTINS
#include <ck_pr.h>
#if !defined(CK_F_PR_LOAD_64) || !defined(CK_F_PR_STORE_64) || !defined(CK_F_PR_CAS_64) || \
	!defined(CK_F_PR_FAA_64)
#error "tickd needs 64-bit atomics (ck_pr_*_64): the segment's counters and cursors are 64-bit words shared between processes"
#endif
/* ck_md.h is generated per architecture; one that claims TSO on a machine
 * that is not would turn every acquire and release into a compiler barrier.
 * (ck_pr.h takes RMO, then PSO, then TSO: the first one defined rules.) */
#if defined(CK_MD_TSO) && !defined(CK_MD_RMO) && !defined(CK_MD_PSO) && !defined(__x86_64__) && \
	!defined(__i386__) && !defined(__sparc__)
#error "ck_md.h declares a TSO memory model but this target is not x86 or SPARC: acquire/release would compile to no fence at all; build against the ck of this architecture"
#endif
#elif !defined(__x86_64__)
#error "the TSan build of tickd is x86-64 only: its seqlock fences are compiler barriers, correct only on a TSO machine"
#endif

#define TK_CACHE_LINE 64

#ifdef TK_ATOMIC_BUILTINS

#define tk_load_relaxed_64(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define tk_load_acquire_64(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define tk_store_relaxed_64(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define tk_store_release_64(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define tk_load_relaxed_32(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define tk_load_acquire_32(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define tk_store_relaxed_32(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define tk_store_release_32(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* TSan does not model fences (GCC warns that it ignores them).  The fences
 * left in shm/ order the seqlock side of the log (mark before payload, copy
 * before re-check), whose races the suppressions name; every handoff TSan
 * checks goes through the acquire/release operations above.  On x86-64,
 * the only target of the TSan build, store-store and load-load order is
 * the hardware's, so a compiler barrier is what ck_pr emits there too. */
#define tk_fence_store() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define tk_fence_load() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define tk_fence_full() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define tk_faa_64(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define tk_faa_32(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
static inline bool tk_cas_32(uint32_t *p, uint32_t expect, uint32_t desired)
{
	return __atomic_compare_exchange_n(p, &expect, desired, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline bool tk_cas_64(uint64_t *p, uint64_t expect, uint64_t desired)
{
	return __atomic_compare_exchange_n(p, &expect, desired, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
#define tk_cpu_relax() __builtin_ia32_pause()

#else

#define tk_load_relaxed_64(p) ck_pr_load_64(p)
#define tk_load_relaxed_32(p) ck_pr_load_32(p)
#define tk_store_relaxed_64(p, v) ck_pr_store_64((p), (v))
#define tk_store_relaxed_32(p, v) ck_pr_store_32((p), (v))
/* Acquire load: the load, then an acquire fence, so later loads and stores
 * cannot move above it (see PORTABILITY). */
static inline uint64_t tk_load_acquire_64(const uint64_t *p)
{
	uint64_t v = ck_pr_load_64(p);
	ck_pr_fence_acquire();
	return v;
}
static inline uint32_t tk_load_acquire_32(const uint32_t *p)
{
	uint32_t v = ck_pr_load_32(p);
	ck_pr_fence_acquire();
	return v;
}
/* Release store: a release fence, then the store, so earlier loads and
 * stores are done before it is visible (see PORTABILITY). */
#define tk_store_release_64(p, v) \
	do { ck_pr_fence_release(); ck_pr_store_64((p), (v)); } while (0)
#define tk_store_release_32(p, v) \
	do { ck_pr_fence_release(); ck_pr_store_32((p), (v)); } while (0)
#define tk_fence_store() ck_pr_fence_store()
#define tk_fence_load() ck_pr_fence_load()
#define tk_fence_full() ck_pr_fence_memory()
#define tk_faa_64(p, v) ck_pr_faa_64((p), (v))
#define tk_faa_32(p, v) ck_pr_faa_32((p), (v))
#define tk_cas_32(p, e, d) ck_pr_cas_32((p), (e), (d))
#define tk_cas_64(p, e, d) ck_pr_cas_64((p), (e), (d))
#define tk_cpu_relax() ck_pr_stall()

#endif

#endif

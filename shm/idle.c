#include "shm/idle.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"

#define TK_IDLE_SPINS 200
#define TK_IDLE_YIELDS 4
#define TK_IDLE_SLEEP_MIN_NS 50000
#define TK_IDLE_SLEEP_MAX_NS 1000000

static void tk__backoff(struct tk_idle *idle)
{
	uint32_t i = idle->iter++;
	int64_t ns;

	if (i < TK_IDLE_SPINS) {
		tk_cpu_relax();
		return;
	}
	if (i < TK_IDLE_SPINS + TK_IDLE_YIELDS) {
		sched_yield();
		return;
	}
	i -= TK_IDLE_SPINS + TK_IDLE_YIELDS;
	ns = i >= 5 ? TK_IDLE_SLEEP_MAX_NS : TK_IDLE_SLEEP_MIN_NS << i;
	if (ns > TK_IDLE_SLEEP_MAX_NS)
		ns = TK_IDLE_SLEEP_MAX_NS;
	tk_sleep_ns(ns);
}

struct tk__block {
	const struct tk_log_reader *r;
	struct timespec deadline;
};

static bool tk__ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* ck_ec's own backoff lets an iteration run past the caller's deadline (to
 * "forever" after a second), so each iteration is clamped here; and data
 * that arrived without a wake-up (a lost flag, see ck_ec.h) ends the wait. */
static int tk__block_pred(const struct ck_ec_wait_state *st, struct timespec *iteration_deadline)
{
	const struct tk__block *b = st->data;

	if (tk_log_readable(b->r))
		return 1;
	if (!tk__ts_before(&st->now, &b->deadline))
		return 2;
	if (tk__ts_before(&b->deadline, iteration_deadline))
		*iteration_deadline = b->deadline;
	return 0;
}

/*
 * BLOCK for a reader that may not write the segment (an anonymous follower,
 * or one without write permission on the file): ck_ec's wait sets a flag in
 * the event count, a store into a page such a reader must not (or cannot)
 * touch.  It sleeps on the count's futex without the flag instead: the
 * writer then issues no wake for it, so the sleep is bounded (50 us doubling
 * to 1 ms), and it ends early whenever a flagged sleeper of the same log is
 * woken (FUTEX_WAKE wakes every sleeper on the word) or the count has
 * already moved (the kernel compares the word before sleeping).
 */
static void tk__block_readonly(struct tk_idle *idle, const struct tk_log_reader *r,
			       int64_t max_ns)
{
	const struct ck_ec32 *ec = &tk_log_reader_table(r->log)->ec;
	uint32_t i = idle->iter++ - TK_IDLE_SPINS;
	int64_t ns = i >= 5 ? TK_IDLE_SLEEP_MAX_NS : TK_IDLE_SLEEP_MIN_NS << i;
	struct timespec ts;
	uint32_t word;

	if (ns > TK_IDLE_SLEEP_MAX_NS)
		ns = TK_IDLE_SLEEP_MAX_NS;
	if (ns > max_ns)
		ns = max_ns > 0 ? max_ns : 1;
	/* Relaxed: the futex compares the word again in the kernel; the
	 * readable check after it decides with the slot's own acquire. */
	word = tk_load_relaxed_32(&ec->counter);
	if (tk_log_readable(r))
		return;
	ts.tv_sec = ns / 1000000000LL;
	ts.tv_nsec = ns % 1000000000LL;
	/* Relative timeout (FUTEX_WAIT); shared futex: the writer is another process. */
	syscall(SYS_futex, &ec->counter, FUTEX_WAIT, word, &ts, NULL, 0);
}

void tk_idle_wait(struct tk_idle *idle, struct tk_log_reader *r, int64_t max_ns)
{
	switch (idle->kind) {
	case TK_IDLE_SPIN:
		tk_cpu_relax();
		return;
	case TK_IDLE_BLOCK:
		if (r != NULL) {
			struct tk__block b = { .r = r };
			uint32_t snap;
			int64_t at;

			if (idle->iter < TK_IDLE_SPINS) {
				idle->iter++;
				tk_cpu_relax();
				return;
			}
			if (r->slot == NULL) {
				tk__block_readonly(idle, r, max_ns);
				return;
			}
			idle->iter++;
			/* Snapshot, re-check, then sleep only if the count is unchanged:
			 * the writer bumps it after publishing, so no wake-up is lost. */
			snap = ck_ec32_value(&tk_log_reader_table(r->log)->ec);
			if (tk_log_readable(r))
				return;
			at = tk_mono_ns() + max_ns;
			b.deadline.tv_sec = at / 1000000000LL;
			b.deadline.tv_nsec = at % 1000000000LL;
			ck_ec32_wait_pred(&tk_log_reader_table(r->log)->ec, &tk_ec_sp, snap,
					  tk__block_pred, &b, &b.deadline);
			return;
		}
		/* fall through */
	case TK_IDLE_BACKOFF:
	default:
		tk__backoff(idle);
		return;
	}
}

int tk_idle_parse(const char *s, enum tk_idle_kind *out)
{
	if (strcmp(s, "spin") == 0)
		*out = TK_IDLE_SPIN;
	else if (strcmp(s, "backoff") == 0)
		*out = TK_IDLE_BACKOFF;
	else if (strcmp(s, "block") == 0)
		*out = TK_IDLE_BLOCK;
	else
		return -EINVAL;
	return 0;
}

const char *tk_idle_name(enum tk_idle_kind kind)
{
	static const char *names[] = { "spin", "backoff", "block" };

	return kind <= TK_IDLE_BLOCK ? names[kind] : "?";
}

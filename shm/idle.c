#include "shm/idle.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "common/clock.h"

#define TK_IDLE_SPINS 200
#define TK_IDLE_YIELDS 50
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

void tk_idle_wait(struct tk_idle *idle, struct tk_log_reader *r, int64_t max_ns)
{
	switch (idle->kind) {
	case TK_IDLE_SPIN:
		tk_cpu_relax();
		return;
	case TK_IDLE_BLOCK:
		if (r != NULL) {
			struct timespec deadline;
			uint32_t snap;
			int64_t at;

			if (idle->iter++ < TK_IDLE_SPINS) {
				tk_cpu_relax();
				return;
			}
			/* Snapshot, re-check, then sleep only if the count is unchanged:
			 * the writer bumps it after publishing, so no wake-up is lost. */
			snap = ck_ec32_value(&r->log->ec);
			if (tk_log_readable(r))
				return;
			at = tk_mono_ns() + max_ns;
			deadline.tv_sec = at / 1000000000LL;
			deadline.tv_nsec = at % 1000000000LL;
			ck_ec32_wait(&r->log->ec, &tk_ec_sp, snap, &deadline);
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

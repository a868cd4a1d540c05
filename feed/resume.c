#include "feed/resume.h"

#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "shm/records.h"

uint64_t tk_stream_hash(uint64_t h, const void *p, uint64_t len)
{
	const uint8_t *b = p;

	while (len-- > 0)
		h = (h ^ *b++) * 1099511628211ull;
	return h ? h : 1; /* 0 means "live, never resumed" */
}

int tk_resume_scan(const struct tk_log_writer *w, uint64_t stream, struct tk_resume *r)
{
	uint64_t s = w->next - 1, oldest = tk_log_oldest(w->log);
	bool have_tick = false;
	uint64_t last_tick_src = 0;

	memset(r, 0, sizeof(*r));
	if (stream == 0)
		return 0;
	/* Only this process writes the log now: the slots before w->next are
	 * complete and stay where they are while we read them. */
	for (; s >= oldest && s >= 1; s--) {
		const struct tk_slot *slot = tk__log_slot(w->slots, s, w->mask, w->shift);
		struct tk_heartbeat hb;

		/* Acquire: pairs with the dead writer's release of the word. */
		if (tk_load_acquire_64(&slot->seq) != s)
			break;
		if (slot->type == TK_REC_TICK && !have_tick) {
			struct tk_tick k;

			memcpy(&k, slot->data, sizeof(k));
			last_tick_src = k.src;
			have_tick = true;
			continue;
		}
		if (slot->type != TK_REC_HEARTBEAT)
			continue;
		memcpy(&hb, slot->data, sizeof(hb));
		if (hb.stream != stream)
			return 0; /* another stream wrote last: this one is new */
		r->active = true;
		r->complete = (hb.flags & TK_HEARTBEAT_F_END) != 0 && !have_tick;
		r->src_next = have_tick ? last_tick_src + 1 : hb.src;
		r->hb_clock = hb.clock_ns;
		return 0;
	}
	if (!have_tick)
		return 0; /* an empty log */
	return tk_err_set(EOVERFLOW, "log '%.31s' has wrapped past the last heartbeat of the "
			  "stream: cannot tell where to resume it (start afresh with --fresh)",
			  w->log->name);
}

bool tk_resume_skip_tick(struct tk_resume *r, uint64_t src)
{
	if (!r->active)
		return false;
	if (src < r->src_next) {
		r->skipped_ticks++;
		return true;
	}
	r->active = false;
	return false;
}

bool tk_resume_skip_heartbeat(struct tk_resume *r, int64_t clock_ns)
{
	if (!r->active)
		return false;
	if (clock_ns <= r->hb_clock) {
		r->skipped_heartbeats++;
		return true;
	}
	/* Past the last heartbeat written: the ticks before it in the source's
	 * order came before it, so from here everything is new. */
	r->active = false;
	return false;
}

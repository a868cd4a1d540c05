#include "shm/stats.h"

#include <string.h>

#include "common/clock.h"

const char *tk_reader_state_name(uint32_t state)
{
	switch (state) {
	case TK_READER_FREE:
		return "free";
	case TK_READER_ACTIVE:
		return "active";
	case TK_READER_RELEASED:
		return "released";
	case TK_READER_CLOSED:
		return "closed";
	default:
		return "opening";
	}
}

void tk_log_stats_read(const struct tk_log_region *log, struct tk_log_stats *s)
{
	struct tk_reader_slot *readers = tk_log_readers((struct tk_log_region *)log);
	int64_t now = tk_mono_coarse_ns();
	uint32_t i;

	/* Counters are read relaxed: for display, a value one update old is
	 * fine.  State and cursor are acquired, as the writer does. */
	memset(s, 0, sizeof(*s));
	memcpy(s->name, log->name, TK_NAME_MAX);
	s->name[TK_NAME_MAX - 1] = '\0';
	s->nslots = log->nslots;
	s->slot_size = log->slot_size;
	s->write_seq = tk_log_write_seq(log);
	s->writer_pid = (int32_t)tk_load_relaxed_32((uint32_t *)&log->writer_pid);
	s->writer_alive = s->writer_pid != 0 && tk_log_writer_alive(log);
	s->writer_waits = tk_load_relaxed_64(&log->writer_waits);
	s->writer_wait_ns = tk_load_relaxed_64(&log->writer_wait_ns);
	s->releases_dead = tk_load_relaxed_64(&log->releases_dead);
	s->releases_stall = tk_load_relaxed_64(&log->releases_stall);
	s->writer_restarts = tk_load_relaxed_64(&log->writer_restarts);
	s->blocked_by = (int32_t)tk_load_relaxed_32((uint32_t *)&log->blocked_by) - 1;
	for (i = 0; i < log->nreaders && s->nreaders < TK_STATS_MAX_READERS; i++) {
		const struct tk_reader_slot *rs = &readers[i];
		struct tk_reader_stats *o;
		uint32_t st = tk_load_acquire_32((uint32_t *)&rs->state);
		int64_t hb;

		if (st == TK_READER_FREE)
			continue;
		o = &s->readers[s->nreaders++];
		memcpy(o->name, rs->name, TK_NAME_MAX);
		o->name[TK_NAME_MAX - 1] = '\0';
		o->pid = rs->pid;
		o->alive = st != TK_READER_CLOSED && tk_reader_alive(rs);
		o->gating = (rs->flags & TK_READER_F_GATING) != 0;
		o->release_on_stall = (rs->flags & TK_READER_F_RELEASE_ON_STALL) != 0;
		o->state = st;
		o->cursor = tk_load_acquire_64(&rs->cursor);
		o->lag = s->write_seq + 1 > o->cursor ? s->write_seq + 1 - o->cursor : 0;
		o->skipped = tk_load_relaxed_64(&rs->skipped);
		o->gaps = tk_load_relaxed_64(&rs->gaps);
		o->consumed = tk_load_relaxed_64(&rs->consumed);
		o->releases = tk_load_relaxed_64((uint64_t *)&rs->releases);
		o->release_reason = rs->release_reason;
		hb = (int64_t)tk_load_relaxed_64((uint64_t *)&rs->heartbeat_ns);
		o->heartbeat_age_ns = hb > 0 ? now - hb : -1;
		o->stall_ns = rs->stall_ns;
	}
}

/* The public reader library: tickd.h over the internal shm modules. */
#include "shm/tickd.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "shm/history.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/records.h"
#include "shm/state.h"
#include "shm/symtab.h"

#define TICKD_API __attribute__((visibility("default")))

_Static_assert(sizeof(struct tickd_tick) == sizeof(struct tk_tick), "tick ABI");
_Static_assert(sizeof(struct tickd_heartbeat) == sizeof(struct tk_heartbeat), "heartbeat ABI");
_Static_assert(sizeof(struct tickd_feed_gap) == sizeof(struct tk_gap), "gap ABI");
_Static_assert(TICKD_ABI_VERSION == TK_SEG_ABI_VERSION, "public and segment ABI agree");
_Static_assert(sizeof(struct tickd_bar) == sizeof(struct tk_hist_bar), "history bar ABI");
/* tickd.h stands alone, so it repeats the history bar: every field must sit
 * where the segment has it, not only the size agree. */
#define TK_SAME_FIELD(f)                                                                   \
	_Static_assert(offsetof(struct tickd_bar, f) == offsetof(struct tk_hist_bar, f), \
		       "history bar ABI: " #f)
TK_SAME_FIELD(window_start);
TK_SAME_FIELD(open);
TK_SAME_FIELD(high);
TK_SAME_FIELD(low);
TK_SAME_FIELD(close);
TK_SAME_FIELD(volume);
TK_SAME_FIELD(vwap);
TK_SAME_FIELD(trade_count);

struct tickd_segment {
	struct tk_segment seg;
};

struct tickd_follower {
	struct tk_log_reader r;
	struct tk_idle idle;
	struct tk_slot *buf; /* one slot_size copy */
};

TICKD_API int tickd_attach(const char *path, tickd_segment **out)
{
	tickd_segment *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return tk_err_set(ENOMEM, "out of memory");
	rc = tk_segment_attach(&s->seg, path != NULL ? path : tk_segment_default_path(),
			       TK_ATTACH_READER);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

TICKD_API void tickd_detach(tickd_segment *seg)
{
	if (seg == NULL)
		return;
	tk_segment_detach(&seg->seg);
	free(seg);
}

TICKD_API const char *tickd_last_error(void)
{
	return tk_err_msg();
}

TICKD_API int tickd_log_count(const tickd_segment *seg)
{
	return (int)seg->seg.hdr->config.nlogs;
}

TICKD_API const char *tickd_log_name(const tickd_segment *seg, int index)
{
	if (index < 0 || (uint32_t)index >= seg->seg.hdr->config.nlogs)
		return NULL;
	return seg->seg.hdr->config.logs[index].name;
}

TICKD_API int32_t tickd_symbol_find(const tickd_segment *seg, const char *name)
{
	return tk_symtab_find(tk_symtab_of(&seg->seg), name, (uint32_t)strlen(name));
}

TICKD_API const char *tickd_symbol_name(const tickd_segment *seg, int32_t id)
{
	return tk_symtab_name(tk_symtab_of(&seg->seg), id);
}

TICKD_API uint32_t tickd_symbol_count(const tickd_segment *seg)
{
	return tk_symtab_count(tk_symtab_of(&seg->seg));
}

TICKD_API int tickd_follow(tickd_segment *seg, const char *log, const struct tickd_follow_opts *opts,
			   tickd_follower **out)
{
	struct tk_reader_opts ro = { 0 };
	tickd_follower *f;
	int rc;

	if (opts != NULL) {
		ro.name = opts->name;
		ro.gating = opts->gating != 0;
		if (opts->from_seq != 0) {
			ro.start = opts->name != NULL ? TK_START_RESUME : TK_START_SEQ;
			ro.start_seq = opts->from_seq;
		} else {
			ro.start = opts->from_start ? TK_START_OLDEST : TK_START_RESUME;
		}
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return tk_err_set(ENOMEM, "out of memory");
	rc = tk_log_reader_open(&f->r, &seg->seg, log, &ro);
	if (rc < 0) {
		free(f);
		return rc;
	}
	if (!f->r.resumed && opts != NULL && opts->from_seq != 0)
		f->r.next = opts->from_seq;
	f->buf = aligned_alloc(64, f->r.slot_size);
	if (f->buf == NULL) {
		tk_log_reader_close(&f->r);
		free(f);
		return tk_err_set(ENOMEM, "out of memory");
	}
	tk_idle_init(&f->idle, TK_IDLE_BLOCK);
	*out = f;
	return 0;
}

TICKD_API int tickd_next(tickd_follower *f, struct tickd_record *rec, int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? tk_mono_ns() + (int64_t)timeout_ms * 1000000 : 0;

	tk_idle_reset(&f->idle);
	for (;;) {
		int rc = tk_log_read(&f->r, f->buf);

		if (rc == TK_LOG_OK) {
			rec->seq = f->buf->seq;
			rec->type = f->buf->type;
			rec->aux = f->buf->aux;
			rec->data = f->buf->data;
			rec->len = f->r.slot_size - TK_SLOT_HEADER;
			rec->gap_from = rec->gap_to = 0;
			return TICKD_NEXT_RECORD;
		}
		if (rc == TK_LOG_LAPPED) {
			memset(rec, 0, sizeof(*rec));
			rec->gap_from = f->r.gap_from;
			rec->gap_to = f->r.gap_to;
			return TICKD_NEXT_GAP;
		}
		if (timeout_ms == 0)
			return TICKD_NEXT_NONE;
		if (timeout_ms > 0) {
			int64_t left = deadline - tk_mono_ns();

			if (left <= 0)
				return TICKD_NEXT_NONE;
			tk_idle_wait(&f->idle, &f->r, left);
		} else {
			tk_log_reader_heartbeat(&f->r);
			tk_idle_wait(&f->idle, &f->r, 100 * 1000 * 1000);
		}
	}
}

TICKD_API void tickd_commit(tickd_follower *f)
{
	tk_log_reader_commit(&f->r);
	tk_log_reader_heartbeat(&f->r);
}

TICKD_API void tickd_unfollow(tickd_follower *f)
{
	if (f == NULL)
		return;
	tk_log_reader_close(&f->r);
	free(f->buf);
	free(f);
}

TICKD_API uint64_t tickd_write_seq(const tickd_follower *f)
{
	return tk_log_write_seq(f->r.log);
}

TICKD_API int tickd_history_read(const tickd_segment *seg, int32_t id, int64_t tf_ns,
				 struct tickd_bar *out, unsigned max)
{
	struct tk_history_region *h = tk_history_of(&seg->seg);

	if (h == NULL || id < 0)
		return 0;
	return (int)tk_history_read(h, tk_history_tf(h, tf_ns), (uint32_t)id,
				    (struct tk_hist_bar *)out, max);
}

TICKD_API int tickd_state_read(const tickd_segment *seg, int32_t id, void *buf, size_t len)
{
	if (id < 0)
		return -ENOENT;
	return tk_state_read(tk_state_of(&seg->seg), (uint32_t)id, buf, len);
}

#include "shm/state.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"

#define TK_STATE_READ_SPINS 4096

uint64_t tk_state_region_size(uint32_t capacity, uint32_t record_size)
{
	return sizeof(struct tk_state_region) + (uint64_t)capacity * record_size;
}

void tk_state_init(struct tk_state_region *st, uint32_t capacity, uint32_t record_size)
{
	st->magic = TK_STATE_MAGIC;
	st->version = TK_STATE_VERSION;
	st->capacity = capacity;
	st->record_size = record_size;
}

int tk_state_validate(const struct tk_state_region *st, uint64_t region_size)
{
	if (st->magic != TK_STATE_MAGIC || st->version != TK_STATE_VERSION)
		return tk_err_set(EBADF, "state region has a bad magic or version (corrupt segment)");
	if (st->record_size < 128 || st->record_size % 64 != 0 ||
	    tk_state_region_size(st->capacity, st->record_size) > region_size)
		return tk_err_set(EBADF, "state region geometry is inconsistent (corrupt segment)");
	return 0;
}

struct tk_state_region *tk_state_of(const struct tk_segment *seg)
{
	return tk_segment_region(seg, TK_REGION_STATE, NULL, NULL);
}

int tk_state_read(const struct tk_state_region *st, uint32_t id, void *out, size_t len)
{
	const struct tk_state_record *r;
	int64_t deadline = 0;
	unsigned int version;
	int spins = 0;

	if (id >= st->capacity)
		return -ENOENT;
	if (len > tk_state_payload_size(st))
		return -EINVAL;
	r = tk_state_record(st, id);
	for (;;) {
		/* ck_sequence_read_begin, but bounded: the load, then a load fence
		 * pairing with the store fence in ck_sequence_write_begin/end. */
		version = ck_pr_load_uint(&r->seq.sequence);
		if ((version & 1u) == 0) {
			/* Load fence: the payload loads come after the sequence load. */
			ck_pr_fence_load();
			memcpy(out, (const uint8_t *)r + TK_STATE_HEADER, len);
			/* ck_sequence_read_retry: load fence, then compare the sequence. */
			if (!ck_sequence_read_retry(&r->seq, version))
				return 0;
		}
		if (++spins < TK_STATE_READ_SPINS) {
			ck_pr_stall();
			continue;
		}
		/* Rare: a long update, a writer descheduled mid-update (more
		 * readers than cores: give it the core back), or a dead writer;
		 * bound the wait by time. */
		if (deadline == 0)
			deadline = tk_mono_ns() + 1000 * 1000;
		else if (tk_mono_ns() > deadline)
			return -EAGAIN;
		sched_yield();
		spins = 0;
	}
}

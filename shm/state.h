/*
 * Per-symbol live state: one fixed-size record per symbol id, each guarded
 * by a seqlock (ck_sequence).
 *
 * DESIGN.  Each record has exactly one writer (the engine worker that owns
 * the symbol's shard) and any number of readers in any process.  The
 * writer brackets an update with write_begin/write_end (sequence odd while
 * it writes); a reader copies the record and retries if the sequence was
 * odd or changed, so it always gets a consistent snapshot without asking
 * the writer and without ever blocking it.  A writer killed mid-update
 * leaves the sequence odd: readers then give up after a bounded number of
 * retries with -EAGAIN, and the next writer sees tk_state_torn() and
 * rebuilds the record before writing it.
 */
#ifndef TK_SHM_STATE_H
#define TK_SHM_STATE_H

#include <ck_sequence.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/segment.h"

#define TK_STATE_MAGIC 0x45544154534b54ull /* "TKSTATE" */
#define TK_STATE_VERSION 1u
#define TK_STATE_HEADER 64u /* the seqlock line at the start of every record */

struct tk_state_region {
	uint64_t magic;
	uint32_t version;
	uint32_t capacity;
	uint32_t record_size;
	uint8_t pad[44];
} __attribute__((aligned(64)));

struct tk_state_record {
	ck_sequence_t seq;
	uint32_t reserved;
	uint64_t updates; /* completed updates */
	uint8_t pad[48];
	/* payload: record_size - 64 bytes */
};
_Static_assert(sizeof(struct tk_state_record) == TK_STATE_HEADER, "seqlock line");

uint64_t tk_state_region_size(uint32_t capacity, uint32_t record_size);
void tk_state_init(struct tk_state_region *st, uint32_t capacity, uint32_t record_size);
int tk_state_validate(const struct tk_state_region *st, uint64_t region_size);
struct tk_state_region *tk_state_of(const struct tk_segment *seg);

/* Bytes of payload in each record. */
static inline uint32_t tk_state_payload_size(const struct tk_state_region *st)
{
	return st->record_size - TK_STATE_HEADER;
}

static inline struct tk_state_record *tk_state_record(const struct tk_state_region *st,
						      uint32_t id)
{
	return (struct tk_state_record *)((uint8_t *)st + sizeof(*st) + (uint64_t)id * st->record_size);
}

/* Did a writer die in the middle of updating this record? */
static inline int tk_state_torn(const struct tk_state_region *st, uint32_t id)
{
	/* Relaxed: the record's own writer asks, or a reader that then retries. */
	return (ck_pr_load_uint(&tk_state_record(st, id)->seq.sequence) & 1u) != 0;
}

/*
 * Begin an update of record id (id < capacity; the caller owns it).
 * Returns the payload to write in place.  Single writer per record.
 */
static inline void *tk_state_write_begin(struct tk_state_region *st, uint32_t id)
{
	struct tk_state_record *r = tk_state_record(st, id);

	/* A previous writer died mid-update: close its bracket first so the
	 * sequence stays odd exactly while someone is writing. */
	if (__builtin_expect(ck_pr_load_uint(&r->seq.sequence) & 1u, 0))
		ck_pr_store_uint(&r->seq.sequence, ck_pr_load_uint(&r->seq.sequence) + 1);
	/* (Plain ck_pr load/store: we are the only writer of this word.) */
	/* ck_sequence_write_begin: sequence odd, then a store fence, so a reader
	 * that sees any payload store also sees the odd sequence. */
	ck_sequence_write_begin(&r->seq);
	return (uint8_t *)r + TK_STATE_HEADER;
}

static inline void tk_state_write_end(struct tk_state_region *st, uint32_t id)
{
	struct tk_state_record *r = tk_state_record(st, id);

	ck_pr_store_64(&r->updates, r->updates + 1); /* inside the bracket: ordered by it */
	/* ck_sequence_write_end: store fence, then the sequence even again;
	 * pairs with the load fence in ck_sequence_read_retry. */
	ck_sequence_write_end(&r->seq);
}

/*
 * Copy a consistent snapshot of the first len bytes of record id's payload.
 * Any process.  Returns 0, -ENOENT (id out of range), -EINVAL (len too
 * big), or -EAGAIN if the record stayed mid-update for ~1 ms (its writer
 * died, or was descheduled mid-write): try again later.
 */
int tk_state_read(const struct tk_state_region *st, uint32_t id, void *out, size_t len);

#endif

/*
 * The journal writer: streams of slot-form records appended as checksummed
 * blocks through io_uring, made durable by group commit.  No knowledge of
 * the segment: `tickd persist` feeds it from the logs, bench/persist and the
 * unit tests feed it directly.
 *
 * Per stream, records go straight into the current block buffer (the
 * caller copies log slots there), a block is sealed when full or when a
 * commit is due, and written at the file's end with O_DIRECT where the file
 * system takes it (buffered elsewhere: tmpfs).  Writes may complete out of
 * order; an fdatasync covers the writes completed before it was submitted,
 * and the durable point of a stream moves only over a prefix of blocks that
 * are all covered.  Nothing is allocated and no syscall is made per record.
 */
#ifndef TK_PERSIST_JOURNAL_H
#define TK_PERSIST_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/hist.h"

#define TKJ_MAX_STREAMS 40

struct tkj_opts {
	const char *dir;        /* the data directory (created if missing) */
	uint32_t block_bytes;   /* largest block, a multiple of 4096 */
	uint32_t nbufs;         /* block buffers per stream: the write window */
	int64_t commit_ns;      /* at most one commit (fdatasync per file) this often */
	uint64_t commit_bytes;  /* ... or as soon as this much is written since the last */
	uint64_t file_bytes;    /* a file is closed and the next opened past this size */
	uint64_t prealloc_bytes; /* fallocate ahead by this much */
	int direct;             /* 1 O_DIRECT (fail if impossible), 0 buffered, -1 where possible */
	bool dsync;             /* RWF_DSYNC writes instead of fdatasync */
};

void tkj_opts_default(struct tkj_opts *o);

/* Names the symbol ids a stream's records carry (NULL if unknown). */
typedef const char *(*tkj_symbol_name_fn)(void *ctx, uint32_t id);

/* Counters of a journal (all streams), for stats. */
struct tkj_counters {
	uint64_t records;     /* source records made durable */
	uint64_t bytes;       /* bytes written (blocks with padding) */
	uint64_t payload;     /* of which records */
	uint64_t blocks;
	uint64_t fsyncs;
	uint64_t files;
	uint64_t write_errors;
	uint64_t lost;        /* source sequences declared lost (loss records) */
	uint64_t torn_bytes;  /* recovery: bytes of torn tails moved aside */
	uint64_t recovered_blocks;
	int64_t last_error_ns;
	int last_errno;
	uint32_t direct;      /* 1 if the files are written with O_DIRECT */
	uint32_t align;       /* blocks' padding: the device's direct-I/O alignment */
	uint32_t granule;     /* full blocks end on these (the file system's block) */
	struct tk_hist commit_ns; /* record ready -> durable */
	struct tk_hist fsync_ns;  /* one fdatasync */
};

/* What recovery found for a stream, and where the caller resumes. */
struct tkj_resume {
	uint64_t next_seq;    /* the first sequence not in the journal (1: nothing yet) */
	bool found;           /* a file of this generation exists */
	uint64_t torn_bytes;  /* moved aside from the newest file's tail */
	uint64_t scanned_bytes;
	uint64_t blocks_read; /* blocks recovery read past the newest file's index */
	int64_t recover_ns;   /* how long recovery took */
	char torn_path[1024]; /* where they went ("" none) */
	char message[3072];   /* what recovery did, for the log ("" nothing to say) */
};

struct tkj_journal;

/*
 * Open a journal in o->dir: take its lock (one writer per directory), set
 * up io_uring.  0, or -errno with a message (tk_err_msg) naming the path:
 * -EBUSY (another process has it), -EACCES, -ENOSPC ...
 */
int tkj_open(struct tkj_journal **out, const struct tkj_opts *o);

/*
 * Add a stream for log `log` (record_size bytes each) of the segment
 * `generation`, recovering its newest file: the torn tail, if any, is moved
 * aside and zeroed.  Returns the stream id (>= 0) and fills *res, or -errno.
 */
int tkj_stream_add(struct tkj_journal *j, const char *log, uint32_t record_size,
		   uint64_t generation, tkj_symbol_name_fn names, void *names_ctx,
		   struct tkj_resume *res);

/*
 * Room for records in stream sid's current block: returns where the next
 * record goes and sets *room (0 and NULL when every buffer is busy: the
 * caller reads again later).  The caller copies whole records there, then
 * tells tkj_append_done how many.
 */
void *tkj_append_room(struct tkj_journal *j, int sid, uint32_t *room);

/*
 * n records were copied at the room: check their sequences continue the
 * stream (0 or -EPROTO with a message if not: the caller's bug), add the
 * dictionary records for symbols new to the file, roll the file at a new
 * UTC day, seal the block when full.  ready_ns: when they were read (for
 * the commit latency).
 */
int tkj_append_done(struct tkj_journal *j, int sid, uint32_t n, int64_t ready_ns);

/* The stream misses source sequences [from, to): recorded as a loss. */
int tkj_append_loss(struct tkj_journal *j, int sid, uint64_t from, uint64_t to, uint32_t reason);

/*
 * Drive the I/O: seal and write what is due, reap completions, submit the
 * fdatasyncs, advance the durable points.  Waits up to wait_ns for a
 * completion when something is in flight (0: never waits).  Returns the
 * number of blocks that became durable, or -errno on a write error (the
 * data stays in its buffers and is retried: a full disk holds the stream).
 */
int tkj_poll(struct tkj_journal *j, int64_t wait_ns);

/* Seal every partial block now and commit (at the next poll). */
void tkj_commit_now(struct tkj_journal *j);

/* The first sequence of stream sid not yet durable: commit the input up to it. */
uint64_t tkj_durable_next(const struct tkj_journal *j, int sid);

/* -EIO once an fdatasync failed (nothing more is committed: the role must
 * stop and start again, recovery reads what is really on disk), else 0. */
int tkj_failed(const struct tkj_journal *j);

/* I/O requests in flight (writes, fdatasyncs). */
uint32_t tkj_inflight(const struct tkj_journal *j);

/* True while stream sid has records not yet durable. */
bool tkj_pending(const struct tkj_journal *j, int sid);

const struct tkj_counters *tkj_counters(const struct tkj_journal *j);

/* Make everything appended durable, waiting up to timeout_ns.  0, or
 * -ETIMEDOUT / -errno (what is not durable is still in the input log). */
int tkj_flush(struct tkj_journal *j, int64_t timeout_ns);

/* tkj_flush(timeout_ns), then close the files and free j (NULL: nothing). */
int tkj_close(struct tkj_journal *j, int64_t timeout_ns);

#endif

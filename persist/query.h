/*
 * History queries over the journal: the records of a stream in a time
 * range, optionally of one symbol, in the order they were written.  Used by
 * `tickd export` (and the API).
 *
 * Cost: the days the range touches are listed, each file's index is read
 * (128 bytes a block), and only the blocks whose time range meets the
 * query and whose symbol set may hold the symbol are read and checked
 * (CRC) before their records are given.  A file without the symbol in its
 * dictionary is skipped whole.  Reading needs no write permission: a
 * missing or short index is made up for by reading the data after it.
 */
#ifndef TK_PERSIST_QUERY_H
#define TK_PERSIST_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tkj_query {
	const char *dir;    /* the data directory */
	const char *stream; /* "ticks", "bars.1m", "signals", ... or "gaps" */
	const char *symbol; /* NULL: every symbol */
	int64_t from_ns;    /* event time >= from_ns (INT64_MIN: no bound) */
	int64_t to_ns;      /* event time < to_ns (INT64_MAX: no bound) */
	uint64_t limit;     /* stop after this many records (0: no limit) */
	bool heartbeats;    /* also the feed's heartbeats (ticks) */
	/* How late a record may sit in the files of a later day than its own
	 * (the journal files a record under the latest day its stream has
	 * reached): the days after to_ns that are also searched. */
	int32_t late_days;  /* default 1 */
};

struct tkj_query_stats {
	uint64_t files, files_skipped;
	uint64_t blocks, blocks_skipped;
	uint64_t records; /* given to the callback */
	uint64_t bad_blocks;
};

/*
 * The callback gets each record in slot form ({seq, type, aux, data}),
 * record_size bytes, the symbol's name (NULL for records without one or an
 * id the file does not name) and the log it came from.  A journal loss
 * record (type TKJ_REC_LOSS, seq 0) is given only to a "gaps" query.
 * Returns 0 to go on, anything else to stop (returned by tkj_query_run).
 */
typedef int (*tkj_record_fn)(void *ctx, const void *slot, uint32_t record_size,
			     const char *symbol, const char *log);

/* Run q.  0, the callback's stop value, or -errno with a message (a block
 * that fails its check is reported and the rest of its file skipped: -EBADMSG
 * after everything else was given). */
int tkj_query_run(const struct tkj_query *q, tkj_record_fn fn, void *ctx,
		  struct tkj_query_stats *st);

/* The streams present in dir ("ticks", "bars.1m", ...), comma-separated. */
int tkj_query_streams(const char *dir, char *out, size_t cap);

/*
 * A time as a user writes it: epoch milliseconds ("1701388800000"), a UTC
 * date ("2023-12-01"), or ISO 8601 date-time ("2023-12-01T14:30",
 * "2023-12-01T14:30:05.250Z", "2023-12-01T09:30:00-05:00"; no zone: UTC).
 * 0 and *ns, or -EINVAL.
 */
int tkj_parse_time(const char *text, int64_t *ns);

#endif

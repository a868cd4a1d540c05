/*
 * Retention and snapshots of the journal.
 *
 * Retention deletes whole days: the day directory of a stream goes once
 * the last write to it (the newest modification time of its files) is
 * older than the stream's retention, unless it holds a log's newest file
 * (the active day).  Write time, as the TTLs of the pipelines tickd
 * replaces (Cassandra's): a replay of last year's trades is kept as long as
 * live data written today.
 *
 * A snapshot is a consistent copy of the journal as of one moment, taken
 * while tickd persist runs: files that are done (not their log's newest:
 * never written again) are hard-linked (copied across file systems), the
 * newest file of each log is copied up to its last complete block and its
 * index rebuilt in the copy.
 */
#ifndef TK_PERSIST_RETAIN_H
#define TK_PERSIST_RETAIN_H

#include <stdbool.h>
#include <stdint.h>

#define TKJ_MAX_RULES 16

struct tkj_rule {
	char stream[32]; /* "ticks", "bars" (every bars.*), "bars.1m", "signals", ... */
	int64_t keep_ns; /* 0: keep forever */
};

/* The defaults: ticks 30 days, bars and signals 90 days. */
#define TKJ_RETAIN_DEFAULT "ticks=30d,bars=90d,signals=90d"

/*
 * Parse "STREAM=AGE,..." (AGE: a number and d or h, or 0/forever), over
 * the defaults.  Returns the rule count, or -EINVAL with a message.
 */
int tkj_retain_parse(const char *text, struct tkj_rule *rules, int max);

/* The retention of a stream: the rule of its exact name, else of its
 * prefix before the dot ("bars" for bars.1m), else forever (0). */
int64_t tkj_retain_of(const struct tkj_rule *rules, int n, const char *stream);

struct tkj_retain_result {
	uint32_t days_deleted;
	uint32_t files_deleted;
	uint64_t bytes_deleted;
	uint32_t days_kept;
	uint32_t errors;  /* days that could not be removed (said through say) */
};

/* Apply the rules to dir as of now_ns (wall clock; a test passes another).
 * Each deletion is reported through say (may be NULL).  0 or -errno. */
int tkj_retain_run(const char *dir, const struct tkj_rule *rules, int n, int64_t now_ns,
		   bool dry_run, void (*say)(void *ctx, const char *line), void *ctx,
		   struct tkj_retain_result *res);

struct tkj_snapshot_result {
	uint32_t files_linked;
	uint32_t files_copied;
	uint64_t bytes_copied;
};

/* Snapshot dir into out (which must not exist yet, or be empty). 0 or -errno. */
int tkj_snapshot(const char *dir, const char *out, struct tkj_snapshot_result *res);

#endif

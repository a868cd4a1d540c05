/*
 * A snapshot of every log's counters and readers, for `tickd stats`, `top`
 * and the API's metrics.  Reading it costs a few cache-line loads per
 * reader and never disturbs the writer.
 */
#ifndef TK_SHM_STATS_H
#define TK_SHM_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/log.h"

#define TK_STATS_MAX_READERS 64

struct tk_reader_stats {
	char name[TK_NAME_MAX];
	int32_t pid;
	bool alive;
	bool gating;
	bool release_on_stall;
	uint32_t state;
	uint64_t cursor;
	uint64_t lag; /* write_seq + 1 - cursor */
	uint64_t skipped;
	uint64_t gaps;
	uint64_t consumed;
	uint64_t releases;
	uint32_t release_reason;
	int64_t heartbeat_age_ns; /* -1 if never */
	int64_t stall_ns;
};

struct tk_log_stats {
	char name[TK_NAME_MAX];
	uint32_t nslots;
	uint32_t slot_size;
	uint64_t write_seq;
	int32_t writer_pid;
	bool writer_alive;
	uint64_t writer_waits;
	uint64_t writer_wait_ns;
	uint64_t releases_dead;
	uint64_t releases_stall;
	uint64_t writer_restarts;
	int32_t blocked_by; /* reader index, -1 if none */
	uint32_t nreaders;  /* entries filled in readers[] (non-free slots) */
	struct tk_reader_stats readers[TK_STATS_MAX_READERS];
};

/* Fill s from log.  Checks liveness of pids (reads /proc): cold path. */
void tk_log_stats_read(const struct tk_log_region *log, struct tk_log_stats *s);

const char *tk_reader_state_name(uint32_t state);

#endif

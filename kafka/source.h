/*
 * `tickd feed --source kafka`: the raw trades topic into a tick log.
 *
 * DESIGN.  A host that consumes what another tickd published must close
 * exactly the bars the producing host closes.  The producer's records carry
 * their place in its log (headers tickd.src = "<source>/<log>@<generation>",
 * tickd.seq) and its stream clock before each record (tickd.clock); its
 * heartbeats go to every partition.  So the consumer
 *
 *   - merges its partitions by (generation, seq): a record is written once
 *     every assigned partition shows a record of its own (a trade or a
 *     heartbeat's copy) at or after it, so the log is the producer's log
 *     restricted to these partitions, in the producer's order.  A sparse
 *     partition delays the others by at most one of the producer's
 *     heartbeat periods;
 *   - writes a heartbeat of clock tickd.clock before a trade when its own
 *     clock is behind, so its engine judges every trade against the stream
 *     time the producer's engine had (lateness, bar closes), and writes each
 *     of the producer's heartbeats once (an END included: the finite stream
 *     ends here too);
 *   - keeps its Kafka position in the log: every tick's src is
 *     partition << 56 | offset << 10 | trade-in-message (tkk_pos), every
 *     heartbeat it copies names the copy it came from (one partition in
 *     turn), so a restarted feed scans back its log for where each
 *     partition resumes, reads the last message it wrote again to learn its
 *     (generation, seq), and skips what is at or before it: no loss, no
 *     duplicate, whatever the group committed.  Offsets are committed to the
 *     group too, for another member that takes a partition over;
 *   - writes a gap event when a partition's offsets jump (retention took
 *     what it had not read).
 *
 * Messages without tickd headers (another producer's Finnhub messages) are
 * written as they arrive, their positions kept the same way; their clock is
 * their trades' times.  Messages of another tickd source than the followed
 * one, and bad messages, are counted by reason and skipped.
 */
#ifndef TK_KAFKA_SOURCE_H
#define TK_KAFKA_SOURCE_H

#include <signal.h>
#include <stdint.h>

#include "shm/feeds.h"
#include "shm/segment.h"

/* A tick's src: where in Kafka it came from. */
/* 255: partition 255 could make the all-ones position, TKK_POS_NONE. */
#define TKK_POS_MAX_PARTITIONS 255
#define TKK_POS_OFFSET_BITS 46
#define TKK_POS_INDEX_BITS 10
#define TKK_POS_NONE UINT64_MAX /* a heartbeat the consumer made (no message) */

uint64_t tkk_pos(int32_t partition, int64_t offset, uint32_t index);
int32_t tkk_pos_partition(uint64_t pos);
int64_t tkk_pos_offset(uint64_t pos);
uint32_t tkk_pos_index(uint64_t pos);

struct tkk_source_cfg {
	const char *servers;
	const char *topic;
	const char *group;
	const char *partitions;  /* "all", "0,2,5-7": assigned; NULL: the group's share */
	const char *follow;      /* "<source>/<log>"; NULL: the first tickd source seen */
	const char *const *props; /* extra consumer properties, name=value */
	uint32_t nprops;
	uint32_t feed;           /* feed id, in every record */
	int exit_at_end;         /* return after writing an END heartbeat */
};

/* Run until *stop (or the end, with exit_at_end).  0, or 1 with a message. */
int tkk_source_run(struct tk_segment *seg, const char *logname, const struct tkk_source_cfg *cfg,
		   struct tk_feed_stats *stats, const volatile sig_atomic_t *stop);

/* "<source>/<log>@<hex>" -> its name (up to the '@') and generation; -EINVAL. */
int tkk_src_parse(const void *v, size_t n, char *name, size_t cap, uint64_t *gen);

/* "all" or a list "0,2,5-7" of partitions below nparts into want[];
 * the count, or -EINVAL with a message. */
int tkk_partitions_parse(const char *list, int32_t nparts, int32_t *want, int32_t cap);

#endif

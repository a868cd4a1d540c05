/*
 * Resuming a deterministic source (the synthetic market, a replay) after
 * its feed process died: the tick log already holds a prefix of what the
 * source gives, so a restarted feed regenerates the source from its start
 * and writes only what comes after that prefix.  Nothing twice, nothing
 * lost, and the log reads as if the feed had never stopped.
 *
 * DESIGN.  Every tick carries its place in its source (`src`), every
 * heartbeat the place of the next trade and the identity of the source (a
 * hash of what makes it deterministic: seed, start, rate and symbols; the
 * recording's path, size and modification time).  A stream starts with a
 * BEGIN heartbeat, so the identity is in the log before its first trade.
 * The restarted feed scans back from the end of its log to the last
 * heartbeat: another identity (or none) means a new stream, appended after
 * the old one; the same identity means skip every trade before the last
 * tick written (or before the heartbeat's src) and every heartbeat up to
 * the last one's clock; an END heartbeat means the stream is complete.
 */
#ifndef TK_FEED_RESUME_H
#define TK_FEED_RESUME_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/log.h"

struct tk_resume {
	bool active;        /* skipping what the log holds */
	bool complete;      /* the log holds the whole stream, its END included */
	uint64_t src_next;  /* skip ticks with src below this */
	int64_t hb_clock;   /* skip heartbeats with a clock at or below this */
	uint64_t skipped_ticks;
	uint64_t skipped_heartbeats;
};

/* Decide where a source of identity `stream` resumes in the log w writes
 * (just opened: w->next - 1 is the last complete record).  Fills *r;
 * r->active false: a new stream (write its BEGIN heartbeat).  0, or
 * -EOVERFLOW when the log has wrapped past every heartbeat of the stream. */
int tk_resume_scan(const struct tk_log_writer *w, uint64_t stream, struct tk_resume *r);

/* While resuming: whether a tick of this src / a heartbeat of this clock is
 * already in the log (and so must not be written again).  The first record
 * that is not ends the resumption. */
bool tk_resume_skip_tick(struct tk_resume *r, uint64_t src);
bool tk_resume_skip_heartbeat(struct tk_resume *r, int64_t clock_ns);

/* FNV-1a 64, to build a stream identity from its parts. */
uint64_t tk_stream_hash(uint64_t h, const void *p, uint64_t len);
#define TK_STREAM_HASH_INIT 14695981039346656037ull

#endif

/*
 * The feed's message path, shared by the live Finnhub source and the
 * replay of a recording: a received message is recorded, deduplicated,
 * parsed, and its trades written as ticks; the feed clock advances with it.
 *
 * DESIGN.  The feed clock is what heartbeats carry, and heartbeats move the
 * engine's stream time, so a replay gives the bars of the live run only if
 * it puts the same heartbeats between the same messages.  The clock is
 * therefore a function of the messages' receive times alone: it starts at
 * the first message, heartbeats fall on a fixed grid (multiples of the
 * period), and before a message received at time r every grid point <= r
 * goes out first.  Live, a timer also emits the grid points that wall time
 * passes between messages; a message received later has a later receive
 * time, so the order is the one the replay rebuilds from the recording.
 */
#ifndef TK_FEED_INGEST_H
#define TK_FEED_INGEST_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "feed/fh_parse.h"
#include "feed/resume.h"
#include "shm/feeds.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/symtab.h"

#define TK_DEDUPE_SLOTS 4096 /* messages remembered for --dedupe-window */

struct tk_ingest_cfg {
	uint32_t feed;      /* feed id, in every record */
	int64_t hb_ns;      /* heartbeat period (100 ms) */
	int64_t dedupe_ns;  /* 0: off */
	FILE *record;       /* NULL: no recording */
	struct tk_fh_limits lim;
	uint64_t stream;    /* a deterministic source's identity (a replay): resumed after a
			       restart, see feed/resume.h; 0: live, never resumed */
};

struct tk_ingest {
	struct tk_ingest_cfg cfg;
	struct tk_fh_parser *parser;
	struct tk_log_writer out;
	struct tk_symtab_region *symtab;
	struct tk_feed_stats *stats;
	struct tk_idle idle;
	const volatile sig_atomic_t *stop;
	int64_t next_hb;  /* next grid point; INT64_MIN until the first message */
	int64_t clock;    /* the feed clock: the last heartbeat or message time */
	int64_t recv_ns;  /* of the message being parsed */
	int64_t trade_clock; /* largest trade time seen: the clock of a raw replay */
	uint64_t symtab_full;
	uint64_t msgs;          /* messages handled: the next one is number msgs + 1 */
	uint32_t trade_in_msg;  /* trades of the current message written so far */
	struct tk_resume resume;
	/* --dedupe-window: hashes of recent messages, oldest overwritten */
	struct tk_dedupe {
		uint64_t hash;
		uint64_t len;
		int64_t recv_ns;
	} recent[TK_DEDUPE_SLOTS];
	uint32_t recent_next;
};

/* Open log `logname` of seg as its writer, make the parser; stats may be
 * NULL.  With cfg->stream, find where the stream resumes in the log (or
 * write its BEGIN heartbeat); g->resume.complete then says there is
 * nothing left to write.  0, or -errno with a message. */
int tk_ingest_open(struct tk_ingest *g, struct tk_segment *seg, const char *logname,
		   const struct tk_ingest_cfg *cfg, struct tk_feed_stats *stats,
		   const volatile sig_atomic_t *stop);
void tk_ingest_close(struct tk_ingest *g);

/* Wall time (or the replay clock) has reached now: the grid points up to it. */
void tk_ingest_clock(struct tk_ingest *g, int64_t now_ns);

/* One message received at recv_ns (INT64_MIN: unknown, a raw replay: the
 * clock then follows the trades' own times).  Fills *m with what it was. */
void tk_ingest_message(struct tk_ingest *g, int64_t recv_ns, const char *buf, size_t len,
		       struct tk_fh_msg *m);

/* A message too large to keep (its bytes were not kept): counted only. */
void tk_ingest_too_large(struct tk_ingest *g, int64_t recv_ns, size_t len);

/* The connection was down in [from, to): trades there may be missing. */
void tk_ingest_gap(struct tk_ingest *g, int64_t from_ns, int64_t to_ns, uint32_t nsymbols);

/* A finite source has ended: the end-of-stream heartbeat. */
void tk_ingest_end(struct tk_ingest *g);

#endif

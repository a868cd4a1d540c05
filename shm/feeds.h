/*
 * Feed metrics in the segment: one slot per feed (by --feed-id), written by
 * that feed alone (plain stores of counters it owns), read by anyone
 * (`tickd stats`, `top`, the API's metrics) without disturbing it.  A
 * reader may see one counter a moment older than another; each counter is
 * an aligned 64-bit word, never torn.
 */
#ifndef TK_SHM_FEEDS_H
#define TK_SHM_FEEDS_H

#include <stdint.h>

#include "common/hist.h"
#include "shm/segment.h"

#define TK_FEEDS_MAGIC 0x5344454546544bull /* "TKFEEDS" */
#define TK_FEEDS_VERSION 1u
#define TK_FEEDS_MAX 16
#define TK_FEED_REASONS 16 /* room for the parser's rejection reasons */

struct tk_feed_stats {
	int32_t pid;         /* 0: slot never used */
	uint32_t feed;
	int64_t started_ns;  /* wall clock */
	char source[32];     /* "synth", "finnhub", "replay" */
	char log[32];        /* the tick log it writes */
	uint64_t messages;   /* received (Finnhub or replay) */
	uint64_t bytes;
	uint64_t trades;     /* written as ticks */
	uint64_t trades_rejected;
	uint64_t invalid;    /* messages rejected whole */
	uint64_t pings;
	uint64_t errors;     /* error messages from the server */
	uint64_t unknown;    /* messages of a type not used */
	uint64_t duplicates; /* dropped by --dedupe-window */
	uint64_t heartbeats;
	uint64_t gaps;
	uint64_t connects;
	uint64_t reconnects;
	uint64_t subscribe_rejected; /* symbols refused (too many for the key) */
	uint64_t rejected_by[TK_FEED_REASONS]; /* trades and messages, by parser reason */
	int64_t last_msg_ns; /* wall clock of the last message, 0 none */
	uint32_t connected;  /* 1 while the connection is up (synth, replay: running) */
	uint32_t subscribed; /* symbols subscribed now */
	struct tk_hist parse_ns; /* time to parse and write one message */
	/* Control requests refused (bad symbol, unknown type, bad checksum).  In
	 * what was the struct's tail padding: no offset moved, a slot of an
	 * older segment reads 0 here. */
	uint64_t ctl_rejected;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct tk_feed_stats) == 18304, "feed slot size is part of the segment ABI");

struct tk_feeds_region {
	uint64_t magic;
	uint32_t version;
	uint32_t nslots;
	uint8_t pad[48];
	struct tk_feed_stats slot[TK_FEEDS_MAX];
};

uint64_t tk_feeds_region_size(void);
void tk_feeds_init(struct tk_feeds_region *r);
int tk_feeds_validate(const struct tk_feeds_region *r, uint64_t region_size);
struct tk_feeds_region *tk_feeds_of(const struct tk_segment *seg);

/* The slot of feed id `feed`, claimed for this process (counters reset). */
struct tk_feed_stats *tk_feeds_claim(struct tk_feeds_region *r, uint32_t feed, const char *source,
				     const char *log);

#endif

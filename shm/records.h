/*
 * Record types carried in log slots: the data contract between writers and
 * readers inside the segment.  Part of the public reader ABI (tickd.h
 * mirrors these layouts); change them only with TK_SEG_ABI_VERSION.
 *
 * A slot is { seq, type, aux, data[slot_size - 16] }.  Times are int64
 * epoch nanoseconds UTC.
 */
#ifndef TK_SHM_RECORDS_H
#define TK_SHM_RECORDS_H

#include <stdint.h>

enum tk_rec_type {
	TK_REC_TICK = 1,      /* aux = symbol id */
	TK_REC_HEARTBEAT = 2, /* the feed's clock: advances stream time */
	TK_REC_GAP = 3,       /* the feed lost its connection: trades in [from, to) may be missing */
	TK_REC_TEST = 100,    /* test and benchmark payloads */
};

/* A trade. */
struct tk_tick {
	int64_t ts_ns;       /* event time (the trade's own timestamp) */
	double price;
	double size;
	int64_t recv_ns;     /* when the feed received it */
	uint32_t conditions; /* trade-condition flags, TK_COND_* */
	uint32_t feed;       /* which feed wrote it */
};
_Static_assert(sizeof(struct tk_tick) <= 48, "a tick fits one 64-byte slot");

#define TK_HEARTBEAT_F_END 0x1u /* end of stream: a finite source has finished */

struct tk_heartbeat {
	int64_t clock_ns; /* the feed's clock: wall clock live, replay clock on replay */
	uint32_t flags;
	uint32_t feed;
};

struct tk_gap {
	int64_t from_ns;
	int64_t to_ns;
	uint32_t nsymbols; /* symbols subscribed at the time */
	uint32_t feed;
};

#endif

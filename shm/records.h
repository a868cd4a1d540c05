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
	TK_REC_BAR = 4,       /* aux = symbol id; a closed bar with its indicators (256-byte slots) */
	TK_REC_SIGNAL = 5,    /* aux = symbol id (128-byte slots) */
	TK_REC_TEST = 100,    /* test and benchmark payloads */
};

/* A condition code of 31 or more: kept as this flag, its number gone. */
#define TK_COND_OTHER (1u << 31)

/* A trade. */
struct tk_tick {
	int64_t ts_ns;       /* event time (the trade's own timestamp) */
	double price;
	double size;
	int64_t recv_ns;     /* when the feed received it */
	uint32_t conditions; /* bit k: Finnhub's condition code k (k < 31); TK_COND_OTHER */
	uint32_t feed;       /* which feed wrote it */
	uint64_t src;        /* its place in its source: the n-th trade of the generator,
				or (message number << 20 | trade in the message) of a replay */
};
_Static_assert(sizeof(struct tk_tick) <= 48, "a tick fits one 64-byte slot");

#define TK_HEARTBEAT_F_END 0x1u   /* end of stream: a finite source has finished */
#define TK_HEARTBEAT_F_BEGIN 0x2u /* a stream starts: `stream` names its source */

#define TK_SRC_MSG_SHIFT 20 /* a replayed message holds fewer than 2^20 trades */

struct tk_heartbeat {
	int64_t clock_ns; /* the feed's clock: wall clock live, replay clock on replay */
	uint32_t flags;
	uint32_t feed;
	uint64_t src;    /* the src of the next trade the source will give */
	uint64_t stream; /* identity of the source (a hash of what makes it deterministic;
			    0: a live source, never resumed) */
};

struct tk_gap {
	int64_t from_ns;
	int64_t to_ns;
	uint32_t nsymbols; /* symbols subscribed at the time */
	uint32_t feed;
};

/* The indicators as of a closed bar (NaN: not defined yet): one layout for
 * the bar record, the live state and the engine's computation. */
struct tk_indicators {
	double session_vwap;
	double sma_fast;
	double sma_slow;
	double ema_fast;
	double ema_slow;
	double rsi;
	double volatility;
};

/* A closed bar and the indicators as of it. */
struct tk_bar_rec {
	int64_t window_start; /* epoch ns */
	int64_t tf_ns;
	double open;
	double high;
	double low;
	double close;
	double volume;
	double vwap;
	uint64_t trade_count;
	struct tk_indicators ind;
	uint16_t sma_fast_n; /* the periods, so readers can name the fields */
	uint16_t sma_slow_n;
	uint16_t ema_fast_n;
	uint16_t ema_slow_n;
	uint16_t rsi_n;
	uint16_t volatility_n;
	uint32_t signals; /* signal bits this bar raised */
};
_Static_assert(sizeof(struct tk_bar_rec) <= 256 - 16, "a bar fits a 256-byte slot");

enum tk_signal_kind {
	TK_SIGNAL_PCT_CHANGE = 1,
	TK_SIGNAL_VOLUME_SPIKE = 2,
	TK_SIGNAL_SMA_CROSS = 3,
	TK_SIGNAL_VWAP_CROSS = 4,
};

struct tk_signal_rec {
	int64_t ts_ns; /* the end of the bar that raised it */
	int64_t tf_ns;
	uint32_t kind;     /* enum tk_signal_kind */
	int32_t direction; /* +1 up, -1 down */
	double pct_change; /* (close - open) / open of the bar */
	double close;
	double vwap;
	double volume;
	double value; /* kind-specific: volume / average volume, fast - slow SMA, close - session VWAP */
};
_Static_assert(sizeof(struct tk_signal_rec) <= 128 - 16, "a signal fits a 128-byte slot");

#endif

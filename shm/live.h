/*
 * The per-symbol live state the engine keeps in place in the segment (the
 * payload of the symbol's seqlocked state record): what a `/quote` or a
 * dashboard needs, readable at any time by any process without asking the
 * worker.  Part of the reader ABI: change with TK_SEG_ABI_VERSION.  It lives
 * in shm/ because libtickd reads it; the engine (engine/) writes it.
 */
#ifndef TK_SHM_LIVE_H
#define TK_SHM_LIVE_H

#include <stdint.h>

#include "shm/records.h"

#define TK_MAX_TF 8 /* timeframes per engine */

/* A window's bar.  Also the open bar of the live record (below),
 * so its layout is part of the reader ABI. */
struct tk_bar {
	int64_t window_start; /* epoch ns, a multiple of the timeframe */
	double open;
	double high;
	double low;
	double close;
	double volume;
	double pv;            /* sum of price * size */
	uint64_t trade_count; /* 0: no bar (an empty slot) */
	int64_t open_ts;      /* event time of the trade that set open */
	int64_t close_ts;     /* event time of the trade that set close */
};


struct tk_live_ind {
	int64_t window_start; /* of the last closed bar; 0: none yet */
	double close;
	double vwap;
	struct tk_indicators ind;
};

struct tk_live {
	uint64_t last_seq; /* log sequence of the last tick applied */
	int64_t last_ts;   /* its event time */
	double last_price;
	double last_size;
	uint64_t trades; /* applied */
	uint64_t late;   /* dropped as late, all timeframes */
	int64_t day;     /* UTC day (epoch ns of its midnight) of the day fields */
	double day_open;
	double day_high;
	double day_low;
	double day_volume;
	double prev_close; /* last price of the previous day that traded; NaN if none */
	double change;     /* last_price - prev_close */
	double change_pct; /* 100 * change / prev_close */
	double inv_prev_close; /* 100 / prev_close: the percentage without a division per tick */
	uint32_t ntf;
	/* Which timeframe each open_bar[t] is: bits 4t..4t+3 hold 1 + its
	 * place among the segment's bar-log timeframes (tk_seg_tf_index); 0:
	 * not said (an engine before this field, or a place past 14). */
	uint32_t tf_map;
	/* The newest open window of each timeframe (trade_count 0: none): the
	 * aggregator's own, updated in place by every tick. */
	struct tk_bar open_bar[TK_MAX_TF];
	struct tk_live_ind last[TK_MAX_TF];     /* the last closed bar of each, with its indicators */
};

_Static_assert(sizeof(struct tk_bar) == 80, "the open bar is part of the reader ABI");
_Static_assert(__builtin_offsetof(struct tk_live, open_bar) == 128,
	       "what a tick updates: two lines of trade and day fields, then the open bars");

#endif

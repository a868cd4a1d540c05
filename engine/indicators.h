/*
 * Indicators and signals on each closed bar: pure functions over a small
 * per-(symbol, timeframe) state.  Conventions follow TA-Lib so anyone can
 * check them:
 *
 *   SMA(n)      mean of the last n closes; undefined before n bars
 *   EMA(n)      seeded with the SMA of the first n closes at bar n, then
 *               ema += (2 / (n + 1)) * (close - ema)
 *   RSI(n)      Wilder: the first average gain/loss is the mean of the first
 *               n changes (n + 1 closes), then avg = (avg * (n - 1) + x) / n;
 *               RSI = 100 * gain / (gain + loss), 0 when both are 0
 *   VWAP        the bar's sum(price * size) / sum(size)
 *   session     sum of the day's bars' price * size over their volume, the
 *   VWAP        day being the UTC day of the bar's window start
 *   volatility  sample standard deviation of the last n log returns of the
 *               close (n + 1 closes)
 *
 * Signals on a closed bar:
 *   pct_change    |close - open| / open >= threshold (timeframes chosen)
 *   volume_spike  volume >= k * mean volume of the previous n bars (n known)
 *   sma_cross     SMA(fast) - SMA(slow) changed sign (a touch of zero that
 *                 goes back is not a cross: the last non-zero sign counts)
 *   vwap_cross    close - session VWAP changed sign, likewise
 *
 * Every value that is not defined yet is NaN (rendered as null).
 */
#ifndef TK_ENGINE_INDICATORS_H
#define TK_ENGINE_INDICATORS_H

#include <stdint.h>

#include "engine/bar.h"
#include "shm/records.h"

#define TK_IND_HISTORY 64 /* closes and volumes kept: periods up to 62 */

struct tk_ind_cfg {
	uint32_t sma_fast;    /* 20 */
	uint32_t sma_slow;    /* 50 */
	uint32_t ema_fast;    /* 20 */
	uint32_t ema_slow;    /* 50 */
	uint32_t rsi;         /* 14 */
	uint32_t volatility;  /* 20 returns */
	uint32_t volume_sma;  /* 20 bars, for volume_spike */
	double spike_factor;  /* 3 */
	double pct_threshold; /* 0.01 */
};

void tk_ind_cfg_default(struct tk_ind_cfg *cfg);

/* 0, or -EINVAL with a message naming the period that is out of range. */
int tk_ind_cfg_validate(const struct tk_ind_cfg *cfg);

struct tk_ind_state {
	uint64_t nbars;
	double closes[TK_IND_HISTORY];  /* ring, by nbars */
	double volumes[TK_IND_HISTORY]; /* ring, by nbars */
	double returns[TK_IND_HISTORY]; /* ring, by nbars: log(close / previous close) */
	double ema_fast;
	double ema_slow;
	double rsi_gain;
	double rsi_loss;
	double session_pv;
	double session_volume;
	int64_t session_day;
	int32_t sma_sign;  /* sign of SMA(fast) - SMA(slow) when last non-zero, 0 if never */
	int32_t vwap_sign; /* sign of close - session VWAP when last non-zero, 0 if never */
};

struct tk_ind_values {
	double close;
	double vwap;
	struct tk_indicators ind;
	double volume_sma; /* mean volume of the previous volume_sma bars */
};

enum tk_signal_type {
	TK_SIG_PCT_CHANGE = 1u << 0,
	TK_SIG_VOLUME_SPIKE = 1u << 1,
	TK_SIG_SMA_CROSS_UP = 1u << 2,
	TK_SIG_SMA_CROSS_DOWN = 1u << 3,
	TK_SIG_VWAP_CROSS_UP = 1u << 4,
	TK_SIG_VWAP_CROSS_DOWN = 1u << 5,
};

void tk_ind_init(struct tk_ind_state *s);

/* How many of each ring's values before the next bar tk_ind_update reads:
 * all a saved state must keep (engine/checkpoint.c) and all the close pass
 * asks for ahead (engine/worker.c). */
struct tk_ind_reach {
	uint32_t closes;  /* the longest SMA/EMA period - 1 (the previous close among them) */
	uint32_t volumes; /* volume_sma: the mean of the previous bars */
	uint32_t returns; /* volatility - 1 */
};

struct tk_ind_reach tk_ind_reach_of(const struct tk_ind_cfg *cfg);

/*
 * Feed a closed bar: update the state, fill *out with the indicators as of
 * this bar, and return the signals it raises (TK_SIG_* bits;
 * `pct_change_on` says whether pct_change is evaluated on this timeframe).
 */
uint32_t tk_ind_update(struct tk_ind_state *s, const struct tk_ind_cfg *cfg,
		       const struct tk_bar *bar, int pct_change_on, struct tk_ind_values *out);

/* Name of one signal bit: "pct_change", "volume_spike", "sma_cross", "vwap_cross". */
const char *tk_signal_name(uint32_t bit);

#endif

/*
 * The synthetic market: a pure, seeded generator of trades.
 *
 * DESIGN.  Arrivals are a Poisson process of `rate` trades per second of
 * the generator's own clock (which starts at `start_ns` and never looks at
 * the wall clock), so the same seed and count give the same trades at any
 * speed.  Each trade picks a symbol by a Zipf law (a few symbols trade
 * much more than the rest, as in a real market), moves that symbol's price
 * by geometric Brownian motion over the time since its previous trade, and
 * draws a size: round lots of 100 most of the time, odd lots otherwise,
 * with a heavy tail.  Prices are rounded to a cent (to 1e-5 under 1.0).
 */
#ifndef TK_FEED_SYNTH_H
#define TK_FEED_SYNTH_H

#include <stdint.h>

#include "shm/segment.h"

#define TK_SYNTH_MAX_SYMBOLS 100000

struct tk_synth_cfg {
	uint64_t seed;
	uint32_t nsymbols;  /* 1..100000 */
	double rate;        /* trades per second of generator time, > 0 */
	int64_t start_ns;   /* the generator clock's origin, epoch ns */
	double volatility;  /* annualised, e.g. 0.3 */
	double drift;       /* annualised, e.g. 0.05 */
};

struct tk_synth_trade {
	uint32_t symbol; /* index 0..nsymbols-1 */
	int64_t ts_ns;
	double price;
	double size;
};

struct tk_synth {
	struct tk_synth_cfg cfg;
	uint64_t rng[4];
	int64_t clock_ns;
	double sigma_per_sqrt_s; /* volatility scaled to seconds of trading */
	double mu_per_s;
	double price[TK_SYNTH_MAX_SYMBOLS];
	int64_t last_ns[TK_SYNTH_MAX_SYMBOLS];
	double cum_weight[TK_SYNTH_MAX_SYMBOLS]; /* Zipf, cumulative, last = 1 */
	char names[TK_SYNTH_MAX_SYMBOLS][TK_NAME_MAX];
};

void tk_synth_cfg_default(struct tk_synth_cfg *cfg);

/* Set up a generator (caller-owned memory, ~7 MB: keep it static).  0 or -EINVAL with a message. */
int tk_synth_init(struct tk_synth *g, const struct tk_synth_cfg *cfg);

/* The next trade.  Deterministic in (cfg, number of calls). */
void tk_synth_next(struct tk_synth *g, struct tk_synth_trade *t);

/* Symbol names: a list of well-known tickers, then SYM00009.. */
static inline const char *tk_synth_symbol(const struct tk_synth *g, uint32_t i)
{
	return g->names[i];
}

/* Uniform double in [0, 1) from the generator's stream (xoshiro256**). */
double tk_synth_uniform(struct tk_synth *g);

#endif

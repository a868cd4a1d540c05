#include "feed/synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

/* 252 sessions of 6.5 hours: the seconds in a trading year. */
#define TK_TRADING_SECONDS_PER_YEAR (252.0 * 6.5 * 3600.0)

static const struct {
	const char *name;
	double price;
} tk__known[] = {
	{ "AAPL", 189.5 },   { "MSFT", 415.2 },   { "AMZN", 178.3 },
	{ "NVDA", 875.4 },   { "GOOGL", 152.1 },  { "META", 502.7 },
	{ "TSLA", 171.9 },   { "BINANCE:BTCUSDT", 67250.0 },
};

void tk_synth_cfg_default(struct tk_synth_cfg *cfg)
{
	cfg->seed = 1;
	cfg->nsymbols = 8;
	cfg->rate = 1000;
	cfg->start_ns = 1704205800LL * 1000000000LL; /* 2024-01-02T14:30:00Z */
	cfg->volatility = 0.3;
	cfg->drift = 0.05;
}

static uint64_t tk__rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna): fast, and the same on every machine. */
static uint64_t tk__next64(struct tk_synth *g)
{
	uint64_t *s = g->rng;
	uint64_t result = tk__rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = tk__rotl(s[3], 45);
	return result;
}

double tk_synth_uniform(struct tk_synth *g)
{
	return (double)(tk__next64(g) >> 11) * 0x1.0p-53;
}

/* splitmix64, to spread a small seed over the generator's 256 bits. */
static uint64_t tk__splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double tk__normal(struct tk_synth *g)
{
	/* Box-Muller; the second value is dropped to keep one draw per call. */
	double u1 = tk_synth_uniform(g), u2 = tk_synth_uniform(g);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

int tk_synth_init(struct tk_synth *g, const struct tk_synth_cfg *cfg)
{
	uint64_t x = cfg->seed;
	double total = 0;
	uint32_t i;

	if (cfg->nsymbols == 0 || cfg->nsymbols > TK_SYNTH_MAX_SYMBOLS)
		return tk_err_set(EINVAL, "--symbols must be in [1, %d], got %u",
				  TK_SYNTH_MAX_SYMBOLS, cfg->nsymbols);
	if (!(cfg->rate > 0) || !isfinite(cfg->rate))
		return tk_err_set(EINVAL, "--rate must be a positive number of trades per second");
	if (!(cfg->volatility >= 0) || !isfinite(cfg->drift))
		return tk_err_set(EINVAL, "volatility and drift must be finite, volatility >= 0");
	memset(g, 0, sizeof(*g));
	g->cfg = *cfg;
	for (i = 0; i < 4; i++)
		g->rng[i] = tk__splitmix(&x);
	g->clock_ns = cfg->start_ns;
	g->sigma_per_sqrt_s = cfg->volatility / sqrt(TK_TRADING_SECONDS_PER_YEAR);
	g->mu_per_s = cfg->drift / TK_TRADING_SECONDS_PER_YEAR;
	for (i = 0; i < cfg->nsymbols; i++) {
		if (i < sizeof(tk__known) / sizeof(tk__known[0])) {
			snprintf(g->names[i], TK_NAME_MAX, "%s", tk__known[i].name);
			g->price[i] = tk__known[i].price;
		} else {
			snprintf(g->names[i], TK_NAME_MAX, "SYM%05u", i + 1);
			g->price[i] = 10.0 + 490.0 * tk_synth_uniform(g);
		}
		g->last_ns[i] = cfg->start_ns;
		total += 1.0 / (i + 1);
		g->cum_weight[i] = total;
	}
	for (i = 0; i < cfg->nsymbols; i++)
		g->cum_weight[i] /= total;
	g->cum_weight[cfg->nsymbols - 1] = 1.0;
	return 0;
}

static uint32_t tk__pick(const struct tk_synth *g, double u)
{
	uint32_t lo = 0, hi = g->cfg.nsymbols - 1;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (g->cum_weight[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static double tk__size(struct tk_synth *g)
{
	double u = tk_synth_uniform(g);

	if (u < 0.6) {
		/* Round lots: 100 x a geometric number of lots (mean 2). */
		double lots = 1 + floor(log(1 - tk_synth_uniform(g)) / log(0.5));

		return 100 * lots;
	}
	/* Odd lots, and once in a while a block: a Pareto tail. */
	if (u < 0.98)
		return 1 + floor(99 * tk_synth_uniform(g));
	return floor(1000 / pow(1 - tk_synth_uniform(g), 1 / 1.5));
}

void tk_synth_next(struct tk_synth *g, struct tk_synth_trade *t)
{
	double gap_s = -log(1 - tk_synth_uniform(g)) / g->cfg.rate;
	int64_t gap_ns = (int64_t)(gap_s * 1e9);
	uint32_t k;
	double dt, p;

	/* Two trades never share a nanosecond: event order is arrival order. */
	g->clock_ns += gap_ns > 0 ? gap_ns : 1;
	k = tk__pick(g, tk_synth_uniform(g));
	dt = (double)(g->clock_ns - g->last_ns[k]) / 1e9;
	g->last_ns[k] = g->clock_ns;
	g->price[k] *= exp((g->mu_per_s - 0.5 * g->sigma_per_sqrt_s * g->sigma_per_sqrt_s) * dt +
			   g->sigma_per_sqrt_s * sqrt(dt) * tk__normal(g));
	p = g->price[k] >= 1.0 ? round(g->price[k] * 100) / 100 : round(g->price[k] * 1e5) / 1e5;
	t->symbol = k;
	t->ts_ns = g->clock_ns;
	t->price = p > 0 ? p : 0.00001;
	t->size = tk__size(g);
}

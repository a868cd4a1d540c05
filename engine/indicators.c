#include "engine/indicators.h"

#include <errno.h>
#include <math.h>

#include "common/err.h"

void tk_ind_cfg_default(struct tk_ind_cfg *cfg)
{
	cfg->sma_fast = 20;
	cfg->sma_slow = 50;
	cfg->ema_fast = 20;
	cfg->ema_slow = 50;
	cfg->rsi = 14;
	cfg->volatility = 20;
	cfg->volume_sma = 20;
	cfg->spike_factor = 3.0;
	cfg->pct_threshold = 0.01;
}

int tk_ind_cfg_validate(const struct tk_ind_cfg *cfg)
{
	const struct { const char *name; uint32_t v; } periods[] = {
		{ "SMA_FAST", cfg->sma_fast }, { "SMA_SLOW", cfg->sma_slow },
		{ "EMA_FAST", cfg->ema_fast }, { "EMA_SLOW", cfg->ema_slow },
		{ "RSI_PERIOD", cfg->rsi },    { "VOLATILITY_BARS", cfg->volatility },
		{ "VOLUME_SMA_BARS", cfg->volume_sma },
	};
	unsigned i;

	for (i = 0; i < sizeof(periods) / sizeof(periods[0]); i++)
		if (periods[i].v < 2 || periods[i].v >= TK_IND_HISTORY - 1)
			return tk_err_set(EINVAL, "%s must be in [2, %d], got %u", periods[i].name,
					  TK_IND_HISTORY - 2, periods[i].v);
	if (cfg->sma_fast >= cfg->sma_slow)
		return tk_err_set(EINVAL, "SMA_FAST (%u) must be shorter than SMA_SLOW (%u)",
				  cfg->sma_fast, cfg->sma_slow);
	if (!(cfg->spike_factor > 0) || !isfinite(cfg->spike_factor))
		return tk_err_set(EINVAL, "VOLUME_SPIKE_FACTOR must be a positive number");
	if (!(cfg->pct_threshold > 0) || !isfinite(cfg->pct_threshold))
		return tk_err_set(EINVAL, "SIGNAL_PCT_CHANGE must be a positive number");
	return 0;
}

void tk_ind_init(struct tk_ind_state *s)
{
	*s = (struct tk_ind_state){ .ema_fast = NAN, .ema_slow = NAN, .session_day = INT64_MIN };
}

struct tk_ind_reach tk_ind_reach_of(const struct tk_ind_cfg *c)
{
	uint32_t p = c->sma_fast;

	p = c->sma_slow > p ? c->sma_slow : p;
	p = c->ema_fast > p ? c->ema_fast : p;
	p = c->ema_slow > p ? c->ema_slow : p;
	/* (Periods are at least 2: the previous close, which the RSI and the
	 * next return read, is always among them.) */
	return (struct tk_ind_reach){ .closes = p - 1, .volumes = c->volume_sma,
				      .returns = c->volatility - 1 };
}

/* The k-th most recent value of a ring (k = 0: newest), given n pushed. */
static double tk__back(const double *ring, uint64_t n, uint32_t k)
{
	return ring[(n - 1 - k) % TK_IND_HISTORY];
}

/* Mean of the last `len` values, oldest first (the order a reference sums in). */
static double tk__mean(const double *ring, uint64_t n, uint32_t len)
{
	double sum = 0;
	uint32_t k;

	for (k = len; k > 0; k--)
		sum += tk__back(ring, n, k - 1);
	return sum / len;
}

static double tk__ema(double prev, const double *closes, uint64_t n, uint32_t period, double close)
{
	if (n < period)
		return NAN;
	if (n == period)
		return tk__mean(closes, n, period);
	return prev + (2.0 / (period + 1.0)) * (close - prev);
}

/* Each bar's log return is computed once, when the bar closes, and kept:
 * a log per bar rather than `len` of them. */
static double tk__volatility(const double *returns, uint64_t n, uint32_t len)
{
	double r[TK_IND_HISTORY], mean = 0, ss = 0;
	uint32_t k;

	if (n < (uint64_t)len + 1)
		return NAN;
	for (k = 0; k < len; k++) {
		r[k] = tk__back(returns, n, len - 1 - k); /* oldest first */
		mean += r[k];
	}
	mean /= len;
	for (k = 0; k < len; k++)
		ss += (r[k] - mean) * (r[k] - mean);
	return sqrt(ss / (len - 1));
}

static int32_t tk__sign(double x)
{
	return x > 0 ? 1 : x < 0 ? -1 : 0;
}

/* A cross: the sign of x differs from the last non-zero one.  Updates it. */
static uint32_t tk__cross(int32_t *last, double x, uint32_t up, uint32_t down)
{
	int32_t sg = isnan(x) ? 0 : tk__sign(x);
	uint32_t sig = 0;

	if (sg == 0)
		return 0;
	if (*last < 0 && sg > 0)
		sig = up;
	else if (*last > 0 && sg < 0)
		sig = down;
	*last = sg;
	return sig;
}

uint32_t tk_ind_update(struct tk_ind_state *s, const struct tk_ind_cfg *cfg,
		       const struct tk_bar *bar, int pct_change_on, struct tk_ind_values *out)
{
	int64_t day = tk_window_start(bar->window_start, 86400 * TK_NS_PER_S);
	uint32_t sig = 0;
	uint64_t n;

	/* The volume average is of the bars before this one. */
	out->volume_sma = s->nbars >= cfg->volume_sma
				  ? tk__mean(s->volumes, s->nbars, cfg->volume_sma) : NAN;

	s->closes[s->nbars % TK_IND_HISTORY] = bar->close;
	s->volumes[s->nbars % TK_IND_HISTORY] = bar->volume;
	s->returns[s->nbars % TK_IND_HISTORY] =
		s->nbars > 0 ? log(bar->close / tk__back(s->closes, s->nbars, 0)) : NAN;
	n = ++s->nbars;

	out->close = bar->close;
	out->vwap = tk_bar_vwap(bar);
	if (day != s->session_day) {
		s->session_day = day;
		s->session_pv = 0;
		s->session_volume = 0;
	}
	s->session_pv += bar->pv;
	s->session_volume += bar->volume;
	out->ind.session_vwap = s->session_volume > 0 ? s->session_pv / s->session_volume : bar->close;

	out->ind.sma_fast = n >= cfg->sma_fast ? tk__mean(s->closes, n, cfg->sma_fast) : NAN;
	out->ind.sma_slow = n >= cfg->sma_slow ? tk__mean(s->closes, n, cfg->sma_slow) : NAN;
	s->ema_fast = tk__ema(s->ema_fast, s->closes, n, cfg->ema_fast, bar->close);
	s->ema_slow = tk__ema(s->ema_slow, s->closes, n, cfg->ema_slow, bar->close);
	out->ind.ema_fast = s->ema_fast;
	out->ind.ema_slow = s->ema_slow;

	/* RSI: sums of gains and losses over the first `rsi` changes, then
	 * Wilder's smoothing of their averages. */
	if (n >= 2) {
		double d = bar->close - tk__back(s->closes, n, 1);
		double g = d > 0 ? d : 0, l = d < 0 ? -d : 0;

		if (n <= (uint64_t)cfg->rsi + 1) {
			s->rsi_gain += g;
			s->rsi_loss += l;
			if (n == (uint64_t)cfg->rsi + 1) {
				s->rsi_gain /= cfg->rsi;
				s->rsi_loss /= cfg->rsi;
			}
		} else {
			s->rsi_gain = (s->rsi_gain * (cfg->rsi - 1) + g) / cfg->rsi;
			s->rsi_loss = (s->rsi_loss * (cfg->rsi - 1) + l) / cfg->rsi;
		}
	}
	if (n >= (uint64_t)cfg->rsi + 1)
		out->ind.rsi = s->rsi_gain + s->rsi_loss > 0
				   ? 100.0 * s->rsi_gain / (s->rsi_gain + s->rsi_loss) : 0.0;
	else
		out->ind.rsi = NAN;
	out->ind.volatility = tk__volatility(s->returns, n, cfg->volatility);

	if (pct_change_on && bar->open > 0 &&
	    fabs((bar->close - bar->open) / bar->open) >= cfg->pct_threshold)
		sig |= TK_SIG_PCT_CHANGE;
	if (!isnan(out->volume_sma) && bar->volume > 0 &&
	    bar->volume >= cfg->spike_factor * out->volume_sma)
		sig |= TK_SIG_VOLUME_SPIKE;
	sig |= tk__cross(&s->sma_sign, out->ind.sma_fast - out->ind.sma_slow, TK_SIG_SMA_CROSS_UP,
			 TK_SIG_SMA_CROSS_DOWN);
	sig |= tk__cross(&s->vwap_sign, bar->close - out->ind.session_vwap, TK_SIG_VWAP_CROSS_UP,
			 TK_SIG_VWAP_CROSS_DOWN);
	return sig;
}

const char *tk_signal_name(uint32_t bit)
{
	switch (bit) {
	case TK_SIG_PCT_CHANGE:
		return "pct_change";
	case TK_SIG_VOLUME_SPIKE:
		return "volume_spike";
	case TK_SIG_SMA_CROSS_UP:
	case TK_SIG_SMA_CROSS_DOWN:
		return "sma_cross";
	case TK_SIG_VWAP_CROSS_UP:
	case TK_SIG_VWAP_CROSS_DOWN:
		return "vwap_cross";
	default:
		return "unknown";
	}
}

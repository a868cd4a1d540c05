/*
 * tickd api: the routes and what they read.  A handler gets the request
 * (http.h) and fills a response from the segment (live state, bar history,
 * the API's index of the bar and signal logs) and the journal; it never
 * writes the segment but for the control ring.  Handlers run on the
 * server's threads at once: everything here is read-only after
 * tka_ctx_open, or atomic.
 */
#ifndef TK_API_API_H
#define TK_API_API_H

#include <stdbool.h>
#include <stdint.h>

#include "api/http.h"
#include "api/index.h"
#include "api/portfolio.h"
#include "api/ratelimit.h"
#include "shm/segment.h"

#define TKA_LIMIT_MAX 5000 /* rows an answer holds at most */

/* The stream's counters in tka_ctx.ws. */
enum { TKA_WS_CLIENTS, TKA_WS_MESSAGES, TKA_WS_FRAMES, TKA_WS_GAPS, TKA_WS_CLOSED_SLOW,
       TKA_WS_BAD_MESSAGES, TKA_WS_REFUSED, TKA_WS_BAD_RECORDS, TKA_WS_COUNTS };

struct tka_ctx {
	struct tk_segment seg;
	const char *data_dir;     /* the journal ("" or NULL: none) */
	const char *listen;
	struct tka_index index;
	int64_t started_ns;       /* wall clock */
	int64_t health_max_age_ns; /* a feed silent longer is not ok */
	uint64_t health_max_lag;  /* an engine further behind is not ok */
	uint64_t default_limit;
	struct tka_portfolio *portfolio; /* published (release) once held; NULL: none yet */
	const char *portfolio_path;       /* the one waited for, if any */
	const char *token;        /* TICKD_API_TOKEN: writes need "Authorization: Bearer <it>" */
	struct tka_limiter limiter;
	/* This API's own counters (relaxed atomics), published to its metrics
	 * slot (role "api") by tka_publish. */
	struct tk_role_slot *metrics;
	uint64_t requests[6]; /* by status class: 1xx .. 5xx, and [0] 429s */
	uint64_t latency_sum_ns;
	uint64_t ws[TKA_WS_COUNTS]; /* the stream's (api/ws.c): clients now, then totals */
};

/* Claim the API's metrics slot and name its metrics; publish the counters
 * (the main loop, every 50 ms). */
void tka_metrics_open(struct tka_ctx *c);
void tka_publish(struct tka_ctx *c);
/* One answered request: its status and how long it took. */
void tka_count_request(struct tka_ctx *c, int status, int64_t ns);

/* Answer one request.  Pure of the server: the tests and the fuzz target
 * call it directly. */
void tka_dispatch(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);

/* Route i of the table: its pattern ("*" for a path parameter) and
 * methods; NULL past the end (the tests hold it to openapi.json). */
const char *tka_route(unsigned i, unsigned *methods);

/* The handlers (live.c, history.c). */
void tka_get_health(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_ping(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_status(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_quote(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_finnhub_quote(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_prices_latest(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_cache(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_symbols(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_ohlcv(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_open_bar(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
/* The timeframe of a bar route's second path segment (/ohlcv/{tf}...): 0, or
 * -ENOENT with a 404 naming the timeframes the engine makes. */
int tka_path_tf(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o, int64_t *tf_ns);
void tka_get_indicators(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_signals(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_candle(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);

void tka_get_portfolio(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_balance(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_post_trade(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_put_trade(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_delete_trade(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_get_metrics(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_post_subscriptions(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);
void tka_delete_subscription(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);

/* The static files (assets.c): read from dir (the web folder) at start;
 * returns how many are missing.  tka_asset answers r if it names one. */
int tka_assets_load(const char *dir);
bool tka_asset(struct tka_req *r, struct tka_resp *o);

/* A symbol the segment knows, or a 404 problem (-ENOENT). */
int tka_symbol_id(struct tka_ctx *c, const char *symbol, struct tka_resp *o);

/* The live price of symbol (and its event time): 0, or -ENOENT (unknown),
 * -ENODATA (no trade yet), -EAGAIN (mid-update). */
int tka_live_price(struct tka_ctx *c, const char *symbol, double *price, int64_t *ts_ns);
/* /quote/{symbol}'s JSON object of symbol id into b, and the sequence of
 * the trade it is of into *seq (NULL: not wanted): 0, or -ENODATA (no
 * trade yet), -EAGAIN (the engine is mid-update), -EPROTO. */
int tka_quote_json(struct tka_ctx *c, int32_t id, const char *symbol, struct tk_buf *b,
		   uint64_t *seq);

#endif

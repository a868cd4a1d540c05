/*
 * The route table: every path the API answers, its methods and its
 * handler.  A path that matches no route is 404; one that matches with
 * another method is 405 with the Allow header; OPTIONS answers the Allow
 * header alone; HEAD is GET without the body (the server drops it).
 */
#include <string.h>
#include <strings.h>

#include "api/api.h"

typedef void (*tka_handler)(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o);

struct tka_route {
	const char *pattern; /* segments; "*" matches any one segment */
	unsigned methods;
	tka_handler fn;
};

static const struct tka_route tka_routes[] = {
	{ "/health", TKA_GET, tka_get_health },
	{ "/healthz", TKA_GET, tka_get_health },
	{ "/api/v1/ping", TKA_GET, tka_get_ping },
	{ "/api/v1/status", TKA_GET, tka_get_status },
	{ "/quote/*", TKA_GET, tka_get_quote },
	{ "/quote", TKA_GET, tka_get_quote },
	{ "/api/v1/quote", TKA_GET, tka_get_finnhub_quote },
	{ "/prices/latest", TKA_GET, tka_get_prices_latest },
	{ "/cache", TKA_GET, tka_get_cache },
	{ "/symbols", TKA_GET, tka_get_symbols },
	{ "/ohlcv/*", TKA_GET, tka_get_ohlcv },
	{ "/ohlcv/*/open", TKA_GET, tka_get_open_bar },
	{ "/indicators/*", TKA_GET, tka_get_indicators },
	{ "/signals/recent", TKA_GET, tka_get_signals },
	{ "/api/v1/stock/candle", TKA_GET, tka_get_candle },
	{ "/metrics", TKA_GET, tka_get_metrics },
	{ "/portfolio", TKA_GET, tka_get_portfolio },
	{ "/balance", TKA_GET, tka_get_balance },
	{ "/trades", TKA_POST, tka_post_trade },
	{ "/trades/*", TKA_PUT, tka_put_trade },
	{ "/trades/*", TKA_DELETE, tka_delete_trade },
	{ "/subscriptions", TKA_POST, tka_post_subscriptions },
	{ "/prices/poll", TKA_POST, tka_post_subscriptions },
	{ "/subscriptions/*", TKA_DELETE, tka_delete_subscription },
};

/* Writes need the token when one is set: compared in constant time. */
static bool tka__authorized(const struct tka_ctx *c, const struct tka_req *r)
{
	const char *h = r->authorization;
	size_t n, i;
	unsigned char d = 0;

	if (c->token == NULL || c->token[0] == '\0')
		return true;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	n = strlen(c->token);
	if (strlen(h) != n)
		return false;
	for (i = 0; i < n; i++)
		d |= (unsigned char)(h[i] ^ c->token[i]);
	return d == 0;
}

const char *tka_route(unsigned i, unsigned *methods)
{
	if (i >= sizeof(tka_routes) / sizeof(tka_routes[0]))
		return NULL;
	*methods = tka_routes[i].methods;
	return tka_routes[i].pattern;
}

static bool tka__match(const char *pattern, const struct tka_req *r)
{
	const char *p = pattern + 1;
	unsigned i = 0;

	while (*p != '\0' || i < r->nseg) {
		size_t n = strcspn(p, "/");

		if (i == r->nseg || *p == '\0')
			return false;
		if (!(n == 1 && p[0] == '*') && (n != r->seg_len[i] || memcmp(p, r->seg[i], n) != 0))
			return false;
		i++;
		p += n + (p[n] == '/');
	}
	return true;
}

static void tka__allow(struct tka_resp *o, unsigned methods)
{
	char allow[96] = "";

	if (methods & TKA_GET)
		strcat(allow, "GET, HEAD, ");
	if (methods & TKA_POST)
		strcat(allow, "POST, ");
	if (methods & TKA_PUT)
		strcat(allow, "PUT, ");
	if (methods & TKA_DELETE)
		strcat(allow, "DELETE, ");
	strcat(allow, "OPTIONS");
	tka_resp_header(o, "Allow: %s", allow);
}

void tka_dispatch(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	unsigned methods = 0, method = r->method == TKA_HEAD ? TKA_GET : r->method;
	size_t i;

	if (tka_asset(r, o))
		return;
	for (i = 0; i < sizeof(tka_routes) / sizeof(tka_routes[0]); i++) {
		if (!tka__match(tka_routes[i].pattern, r))
			continue;
		methods |= tka_routes[i].methods;
		if (tka_routes[i].methods & method) {
			if (method != TKA_GET && !tka__authorized(c, r)) {
				tka_resp_header(o, "WWW-Authenticate: Bearer realm=\"tickd\"");
				tka_problem(o, 401, NULL, "%s %s needs Authorization: Bearer <TICKD_API_TOKEN>",
					    r->method_name, r->path);
				return;
			}
			tka_routes[i].fn(c, r, o);
			return;
		}
	}
	if (methods == 0) {
		tka_problem(o, 404, NULL, "no resource at this path (GET /openapi.json lists them)");
		return;
	}
	tka__allow(o, methods);
	if (r->method == TKA_OPTIONS) {
		tka_json(o, 204);
		return;
	}
	tka_problem(o, 405, NULL, "%s is not a method this resource takes", r->method_name);
}

/* The API's request model (api/http.h): query decoding, parameters,
 * problems, and the route table's 404/405/OPTIONS answers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/http.h"

static char mem[8192];

static int req(struct tka_req *r, struct tka_resp *o, const char *method, const char *path,
	       const char *query)
{
	tka_resp_init(o, mem, sizeof(mem));
	return tka_req_init(r, method, path, query, o);
}

Test(http, query_decodes_escapes_plus_and_empty_values)
{
	static struct tka_req r;
	struct tka_resp o;

	cr_assert_eq(req(&r, &o, "GET", "/x", "symbol=BINANCE%3ABTCUSDT&q=a+b%20c&flag&e=&&"), 0);
	cr_assert_eq(r.nparams, 4);
	cr_assert_str_eq(r.params[0].name, "symbol");
	cr_assert_str_eq(r.params[0].value, "BINANCE:BTCUSDT");
	cr_assert_str_eq(r.params[1].value, "a b c");
	cr_assert_str_eq(r.params[2].name, "flag");
	cr_assert_str_eq(r.params[2].value, "");
	cr_assert_eq(r.params[3].len, 0);
}

Test(http, query_refuses_what_breaks_the_rules)
{
	static const struct {
		const char *q, *why;
	} bad[] = {
		{ "a=%zz", "query parameter 'a' has a bad percent escape (%XX with two hex digits)" },
		{ "a=%4", "query parameter 'a' has a bad percent escape (%XX with two hex digits)" },
		{ "a=%", "query parameter 'a' has a bad percent escape (%XX with two hex digits)" },
		{ "a=%00", "query parameter 'a' is not UTF-8 text without control characters" },
		{ "a=%0a", "query parameter 'a' is not UTF-8 text without control characters" },
		{ "a=%c3%28", "query parameter 'a' is not UTF-8 text without control characters" },
		{ "a=%ed%a0%80", "query parameter 'a' is not UTF-8 text without control characters" },
		{ "a=%c0%af", "query parameter 'a' is not UTF-8 text without control characters" },
		{ "a=%c2%85", "query parameter 'a' is not UTF-8 text without control characters" },
		{ "=1", "a query parameter has no name" },
		{ "a%20b=1", "query parameter names are letters, digits, '_', '-' and '.'; one has byte 0x25" },
		{ "a=1&a=2", "query parameter 'a' is given twice (give a list as one comma-separated value)" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static struct tka_req r;
		char why[256];

		r.nparams = 0;
		r.scratch_used = 0;
		cr_assert_eq(tka_query_parse(&r, bad[i].q, strlen(bad[i].q), why, sizeof(why)), -EINVAL,
			     "%s", bad[i].q);
		cr_assert_str_eq(why, bad[i].why, "%s", bad[i].q);
	}
}

Test(http, query_takes_valid_utf8)
{
	static struct tka_req r;
	struct tka_resp o;

	cr_assert_eq(req(&r, &o, "GET", "/x", "s=%E2%82%AC%F0%9F%98%80"), 0);
	cr_assert_str_eq(r.params[0].value, "\xe2\x82\xac\xf0\x9f\x98\x80");
}

Test(http, path_segments)
{
	static struct tka_req r;
	struct tka_resp o;

	cr_assert_eq(req(&r, &o, "GET", "/ohlcv/1m", NULL), 0);
	cr_assert_eq(r.nseg, 2);
	cr_assert_str_eq(r.seg[0], "ohlcv");
	cr_assert_str_eq(r.seg[1], "1m");
	cr_assert_eq(req(&r, &o, "GET", "/", NULL), 0);
	cr_assert_eq(r.nseg, 0);
	cr_assert_eq(req(&r, &o, "GET", "/quote/", NULL), 0);
	cr_assert_eq(r.nseg, 2, "a trailing slash is an empty segment");
	cr_assert_eq(r.seg_len[1], 0);
	cr_assert_eq(req(&r, &o, "GET", "quote", NULL), -EINVAL);
	cr_assert_eq(o.status, 400);
	cr_assert_eq(req(&r, &o, "GET", "/a/b/c/d/e/f/g/h/i", NULL), -EINVAL);
	cr_assert_eq(o.status, 404);
}

Test(http, problem_is_rfc9457)
{
	struct tka_resp o;

	tka_resp_init(&o, mem, sizeof(mem));
	tka_problem(&o, 400, "limit", "'limit' must be %s", "small");
	cr_assert_eq(o.status, 400);
	cr_assert_str_eq(o.content_type, "application/problem+json");
	cr_assert_str_eq(mem, "{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400,"
			      "\"detail\":\"'limit' must be small\",\"parameter\":\"limit\"}");
}

Test(http, params_allow_and_typed_getters)
{
	static struct tka_req r;
	struct tka_resp o;
	uint64_t v;
	int64_t t;
	bool present;
	const char *s;

	cr_assert_eq(req(&r, &o, "GET", "/ohlcv/1m", "limit=50&token=abc&date=2023-11-14&symbol=AAPL"), 0);
	cr_assert_eq(tka_params_allow(&r, "symbol,date,limit", &o), 0, "token is always taken");
	cr_assert_eq(tka_param_u64(&r, "limit", 1, 5000, 7, &v, &o), 0);
	cr_assert_eq(v, 50);
	cr_assert_eq(tka_param_u64(&r, "absent", 1, 5000, 7, &v, &o), 0);
	cr_assert_eq(v, 7);
	cr_assert_eq(tka_param_time(&r, "date", &t, &present, &o), 0);
	cr_assert(present);
	cr_assert_eq(t, 1699920000000000000LL);
	cr_assert_eq(tka_param_symbol(&r, "symbol", true, &s, &o), 0);
	cr_assert_str_eq(s, "AAPL");
	cr_assert_eq(tka_params_allow(&r, "symbol,limit", &o), -EINVAL);
	cr_assert_eq(o.status, 400);
	cr_assert(strstr(mem, "unknown query parameter 'date': /ohlcv/1m takes symbol,limit") != NULL, "%s", mem);

	cr_assert_eq(req(&r, &o, "GET", "/x", "limit=-1&n=18446744073709551616&t=yesterday&s=A%22B"), 0);
	cr_assert_eq(tka_param_u64(&r, "limit", 1, 5000, 7, &v, &o), -EINVAL);
	cr_assert(strstr(mem, "'limit' must be an integer from 1 to 5000, not \\\"-1\\\"") != NULL, "%s", mem);
	cr_assert_eq(tka_param_u64(&r, "n", 0, UINT64_MAX, 0, &v, &o), -EINVAL);
	cr_assert_eq(tka_param_time(&r, "t", &t, &present, &o), -EINVAL);
	cr_assert_eq(tka_param_symbol(&r, "s", true, &s, &o), -EINVAL);
	cr_assert(strstr(mem, "holds '\\\"' at byte 2") != NULL, "%s", mem);
	cr_assert_eq(tka_param_symbol(&r, "missing", true, &s, &o), -EINVAL);
	cr_assert(strstr(mem, "'missing' is required") != NULL, "%s", mem);
}

Test(routes, unknown_path_method_and_options)
{
	static struct tka_req r;
	static struct tka_ctx c; /* no handler runs for these */
	struct tka_resp o;

	cr_assert_eq(req(&r, &o, "GET", "/nothing/here", NULL), 0);
	tka_dispatch(&c, &r, &o);
	cr_assert_eq(o.status, 404);
	cr_assert_eq(req(&r, &o, "DELETE", "/quote/AAPL", NULL), 0);
	tka_dispatch(&c, &r, &o);
	cr_assert_eq(o.status, 405);
	cr_assert_str_eq(o.headers, "Allow: GET, HEAD, OPTIONS\r\n");
	cr_assert_eq(req(&r, &o, "PATCH", "/quote/AAPL", NULL), 0);
	tka_dispatch(&c, &r, &o);
	cr_assert_eq(o.status, 405, "a method the API does not know");
	cr_assert_eq(req(&r, &o, "OPTIONS", "/ohlcv/1m", NULL), 0);
	tka_dispatch(&c, &r, &o);
	cr_assert_eq(o.status, 204);
	cr_assert_eq(o.body.len, 0);
	cr_assert_eq(req(&r, &o, "GET", "/quote/AAPL/extra", NULL), 0);
	tka_dispatch(&c, &r, &o);
	cr_assert_eq(o.status, 404);
}

#include "api/ratelimit.h"

Test(ratelimit, bucket_refills_at_its_rate_up_to_its_burst)
{
	struct tka_bucket b = { 0 };
	uint64_t rem, reset, retry;
	int i;

	/* rate 2/s, burst 3: three at once, then one every half second. */
	for (i = 0; i < 3; i++)
		cr_assert(tka_bucket_take(&b, 2, 3, 1000000000LL, &rem, &reset, &retry));
	cr_assert_eq(rem, 0);
	cr_assert_eq(reset, 2, "3 tokens at 2/s: full in 1.5 s, said as 2");
	cr_assert_not(tka_bucket_take(&b, 2, 3, 1000000000LL, &rem, &reset, &retry));
	cr_assert_eq(retry, 1, "one token in 0.5 s, said as 1");
	cr_assert_not(tka_bucket_take(&b, 2, 3, 1400000000LL, &rem, &reset, &retry));
	cr_assert(tka_bucket_take(&b, 2, 3, 1600000000LL, &rem, &reset, &retry));
	cr_assert(tka_bucket_take(&b, 2, 3, 100000000000LL, &rem, &reset, &retry));
	cr_assert_eq(rem, 2, "refilled to the burst, not beyond: 3 - 1");
}

Test(ratelimit, addresses_and_loopback)
{
	uint8_t a[16], b[16];
	bool loop;

	cr_assert_eq(tka_addr_key("10.1.2.3", a, &loop), 0);
	cr_assert_not(loop);
	cr_assert_eq(tka_addr_key("::ffff:10.1.2.3", b, &loop), 0);
	cr_assert_eq(memcmp(a, b, 16), 0, "IPv4 and its mapped IPv6 are one client");
	cr_assert_eq(tka_addr_key("127.0.0.1", a, &loop), 0);
	cr_assert(loop);
	cr_assert_eq(tka_addr_key("::1", a, &loop), 0);
	cr_assert(loop);
	cr_assert_eq(tka_addr_key("not an address", a, &loop), -EINVAL);
}

Test(ratelimit, limiter_keeps_clients_apart)
{
	struct tka_limiter l;
	uint64_t rem, reset, retry;
	int i;

	cr_assert_eq(tka_limiter_init(&l, 1, 2, false), 0);
	cr_assert_eq(tka_limiter_take(&l, "127.0.0.1", 1, &rem, &reset, &retry), -1, "loopback exempt");
	for (i = 0; i < 2; i++)
		cr_assert_eq(tka_limiter_take(&l, "10.0.0.1", 5, &rem, &reset, &retry), 1);
	cr_assert_eq(tka_limiter_take(&l, "10.0.0.1", 5, &rem, &reset, &retry), 0);
	cr_assert_eq(tka_limiter_take(&l, "10.0.0.2", 5, &rem, &reset, &retry), 1, "another client");
	cr_assert_eq(l.limited, 1);
	/* A flood of addresses stays in the table's fixed memory. */
	for (i = 0; i < 100000; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		tka_limiter_take(&l, a, 10 + i, &rem, &reset, &retry);
	}
	tka_limiter_free(&l);
}

/* Every route is in the OpenAPI document, with its methods. */
Test(routes, every_route_is_in_openapi_json)
{
	FILE *f = fopen(TK_SOURCE_DIR "/api/web/openapi.json", "r");
	static char doc[1 << 20];
	size_t n;
	unsigned i, methods;
	const char *pat;

	cr_assert_not_null(f);
	n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = '\0';
	for (i = 0; (pat = tka_route(i, &methods)) != NULL; i++) {
		char key[128], *at;
		size_t k = 0;
		const char *p;

		/* A pattern's "*" is "{symbol}" there (any name). */
		key[k++] = '"';
		for (p = pat; *p != '\0' && *p != '*'; p++)
			key[k++] = *p;
		key[k] = '\0';
		at = strstr(doc, key);
		while (at != NULL && *pat != '\0' && strchr(pat, '*') == NULL && at[k] != '"')
			at = strstr(at + 1, key);
		if (strchr(pat, '*') != NULL)
			while (at != NULL && at[k] != '{')
				at = strstr(at + 1, key);
		cr_assert_not_null(at, "route %s is not in openapi.json", pat);
		/* Its methods, within its path item (up to the next path). */
		{
			char *end = strstr(at + 1, "\n  \"/");
			static const struct {
				unsigned bit;
				const char *name;
			} m[] = { { TKA_GET, "\"get\"" }, { TKA_POST, "\"post\"" },
				  { TKA_PUT, "\"put\"" }, { TKA_DELETE, "\"delete\"" } };
			unsigned k2;

			if (end == NULL)
				end = strstr(at, "\"components\"");
			cr_assert_not_null(end);
			for (k2 = 0; k2 < 4; k2++) {
				char *hit = strstr(at, m[k2].name);

				if (methods & m[k2].bit)
					cr_assert(hit != NULL && hit < end, "%s %s is not in openapi.json", pat,
						  m[k2].name);
			}
		}
	}
}

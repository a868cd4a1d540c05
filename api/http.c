/* The API's request model: query decoding, parameters and problems (http.h). */
#include "api/http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/body.h"
#include "common/opts.h"
#include "persist/query.h"
#include "shm/symbol.h"

unsigned tka_method_bit(const char *name)
{
	static const struct {
		const char *name;
		unsigned bit;
	} m[] = { { "GET", TKA_GET },	    { "HEAD", TKA_HEAD },	{ "POST", TKA_POST },
		  { "PUT", TKA_PUT },	    { "DELETE", TKA_DELETE },	{ "OPTIONS", TKA_OPTIONS } };
	size_t i;

	for (i = 0; name != NULL && i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(name, m[i].name) == 0)
			return m[i].bit;
	return 0;
}

const char *tka_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

void tka_resp_init(struct tka_resp *o, char *mem, size_t cap)
{
	o->status = 200;
	o->content_type = "application/json";
	o->headers[0] = '\0';
	o->headers_len = 0;
	o->file = NULL;
	o->file_len = 0;
	tk_buf_init(&o->body, mem, cap);
}

void tka_resp_header(struct tka_resp *o, const char *fmt, ...)
{
	size_t room = sizeof(o->headers) - o->headers_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->headers + o->headers_len, room, fmt, ap);
	va_end(ap);
	/* A header that does not fit is dropped whole, never cut. */
	if (n < 0 || (size_t)n + 2 >= room) {
		o->headers[o->headers_len] = '\0';
		return;
	}
	o->headers_len += (size_t)n;
	memcpy(o->headers + o->headers_len, "\r\n", 3);
	o->headers_len += 2;
}

void tka_json(struct tka_resp *o, int status)
{
	o->status = status;
	o->content_type = "application/json";
	o->file = NULL;
	o->file_len = 0;
	o->body.len = 0;
	o->body.overflow = 0;
	if (o->body.cap > 0)
		o->body.p[0] = '\0';
}

void tka_problem(struct tka_resp *o, int status, const char *param, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	tka_json(o, status);
	o->content_type = "application/problem+json";
	tk_buf_puts(&o->body, "{\"type\":\"about:blank\",\"title\":");
	tk_json_str(&o->body, tka_status_text(status), strlen(tka_status_text(status)));
	tk_buf_puts(&o->body, ",\"status\":");
	tk_buf_i64(&o->body, status);
	tk_buf_puts(&o->body, ",\"detail\":");
	tk_json_str(&o->body, detail, strlen(detail));
	if (param != NULL) {
		tk_buf_puts(&o->body, ",\"parameter\":");
		tk_json_str(&o->body, param, strlen(param));
	}
	tk_buf_puts(&o->body, "}");
}

/* ------------------------------------------------------------- decode */

static char *tka__scratch(struct tka_req *r, size_t n)
{
	char *p;

	if (r->scratch_used + n > sizeof(r->scratch))
		return NULL;
	p = r->scratch + r->scratch_used;
	r->scratch_used += n;
	return p;
}

static int tka__hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool tka__name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* Valid UTF-8 (no overlongs, no surrogates; shm/symbol.h's decoder) without
 * control characters, C0 or C1. */
static bool tka__text_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		if (s[i] < 0x80) {
			if (s[i] < 0x20 || s[i] == 0x7f)
				return false;
			i++;
			continue;
		}
		k = tk__symbol_utf8(s + i, n - i, &cp);
		if (k == 0 || cp < 0xa0)
			return false;
		i += k;
	}
	return true;
}

/* Percent-decode src[0..n) into out (>= n + 1 bytes); in a query '+' is
 * a space.  Returns the decoded length or -1 for a bad escape. */
static long tka__unescape(const char *src, size_t n, char *out, bool query)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (src[i] == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = tka__hex((unsigned char)src[i + 1]);
			lo = tka__hex((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = query && src[i] == '+' ? ' ' : src[i];
		}
	}
	out[o] = '\0';
	return (long)o;
}

int tka_query_parse(struct tka_req *r, const char *q, size_t len, char *why, size_t cap)
{
	size_t pos = 0;

	if (len > TKA_QUERY_MAX)
		return snprintf(why, cap, "the query string is %zu bytes, at most %d are taken", len,
				TKA_QUERY_MAX), -EINVAL;
	while (pos < len) {
		const char *part = q + pos, *eq, *amp = memchr(part, '&', len - pos);
		size_t plen = amp != NULL ? (size_t)(amp - part) : len - pos;
		size_t nlen, vlen_raw, i;
		char *name, *value;
		long vlen;

		pos += plen + (amp != NULL);
		if (plen == 0)
			continue; /* "a=1&&b=2", a trailing '&' */
		eq = memchr(part, '=', plen);
		nlen = eq != NULL ? (size_t)(eq - part) : plen;
		vlen_raw = eq != NULL ? plen - nlen - 1 : 0;
		if (nlen == 0)
			return snprintf(why, cap, "a query parameter has no name"), -EINVAL;
		if (nlen > 32)
			return snprintf(why, cap, "a query parameter name is %zu bytes long (at most 32)",
					nlen), -EINVAL;
		for (i = 0; i < nlen; i++)
			if (!tka__name_byte((unsigned char)part[i]))
				return snprintf(why, cap, "query parameter names are letters, digits, "
						"'_', '-' and '.'; one has byte 0x%02x",
						(unsigned char)part[i]), -EINVAL;
		if (r->nparams == TKA_MAX_PARAMS)
			return snprintf(why, cap, "more than %d query parameters", TKA_MAX_PARAMS),
			       -EINVAL;
		name = tka__scratch(r, nlen + 1);
		value = tka__scratch(r, vlen_raw + 1);
		if (name == NULL || value == NULL)
			return snprintf(why, cap, "the query string is too long"), -EINVAL;
		memcpy(name, part, nlen);
		name[nlen] = '\0';
		for (i = 0; i < r->nparams; i++)
			if (strcmp(r->params[i].name, name) == 0)
				return snprintf(why, cap, "query parameter '%s' is given twice (give a "
						"list as one comma-separated value)", name), -EINVAL;
		vlen = tka__unescape(eq != NULL ? eq + 1 : "", vlen_raw, value, true);
		if (vlen < 0)
			return snprintf(why, cap, "query parameter '%s' has a bad percent escape "
					"(%%XX with two hex digits)", name), -EINVAL;
		if (!tka__text_ok((const unsigned char *)value, (size_t)vlen))
			return snprintf(why, cap, "query parameter '%s' is not UTF-8 text without "
					"control characters", name), -EINVAL;
		r->params[r->nparams].name = name;
		r->params[r->nparams].value = value;
		r->params[r->nparams].len = (size_t)vlen;
		r->params[r->nparams].used = false;
		r->nparams++;
	}
	return 0;
}

int tka_req_init(struct tka_req *r, const char *method, const char *path, const char *query,
		 struct tka_resp *resp)
{
	char why[256];
	size_t plen, i, start;

	r->method = tka_method_bit(method);
	r->method_name = method != NULL ? method : "";
	r->nseg = 0;
	r->nparams = 0;
	r->scratch_used = 0;
	r->content_type = r->authorization = NULL;
	r->body = NULL;
	r->body_len = 0;
	r->path = path != NULL ? path : "";
	plen = strlen(r->path);
	if (plen == 0 || r->path[0] != '/') {
		tka_problem(resp, 400, NULL, "the path must start with '/'");
		return -EINVAL;
	}
	if (plen > TKA_PATH_MAX) {
		tka_problem(resp, 414, NULL, "the path is %zu bytes, at most %d are taken", plen,
			    TKA_PATH_MAX);
		return -EINVAL;
	}
	/* Segments, each percent-decoded on its own (the server passes the
	 * path as it came): "/quote/BRK%2EB" -> "quote", "BRK.B".  An encoded
	 * '/' stays inside its segment; a NUL or control character anywhere is
	 * refused.  An empty segment (a doubled or trailing slash) or a dot
	 * segment names no resource here: they are kept and match nothing. */
	start = 1;
	for (i = 1; i <= plen; i++) {
		if (i < plen && r->path[i] != '/')
			continue;
		if (!(plen == 1 && r->nseg == 0)) {
			long dlen;
			char *s;

			if (r->nseg == TKA_MAX_SEGMENTS) {
				tka_problem(resp, 404, NULL, "no resource has a path that deep");
				return -EINVAL;
			}
			s = tka__scratch(r, i - start + 1);
			if (s == NULL) {
				tka_problem(resp, 414, NULL, "the path is too long");
				return -EINVAL;
			}
			dlen = tka__unescape(r->path + start, i - start, s, false);
			if (dlen < 0) {
				tka_problem(resp, 400, NULL, "the path has a bad percent escape (%%XX "
					    "with two hex digits)");
				return -EINVAL;
			}
			if (!tka__text_ok((const unsigned char *)s, (size_t)dlen)) {
				tka_problem(resp, 400, NULL, "the path is not UTF-8 text without "
					    "control characters");
				return -EINVAL;
			}
			r->seg[r->nseg] = s;
			r->seg_len[r->nseg] = (size_t)dlen;
			r->nseg++;
		}
		start = i + 1;
	}
	if (query != NULL) {
		size_t qlen = strlen(query);

		if (qlen > TKA_QUERY_MAX) {
			tka_problem(resp, 414, NULL, "the query string is %zu bytes, at most %d are taken",
				    qlen, TKA_QUERY_MAX);
			return -EINVAL;
		}
		if (tka_query_parse(r, query, qlen, why, sizeof(why)) < 0) {
			tka_problem(resp, 400, NULL, "%s", why);
			return -EINVAL;
		}
	}
	return 0;
}

/* ------------------------------------------------------------- params */

const struct tka_param *tka_param(struct tka_req *r, const char *name)
{
	unsigned i;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, name) == 0) {
			r->params[i].used = true;
			return &r->params[i];
		}
	return NULL;
}

static bool tka__listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p = p[len] == ',' ? p + len + 1 : NULL;
	}
	return false;
}

int tka_params_allow(struct tka_req *r, const char *allowed, struct tka_resp *resp)
{
	unsigned i;

	for (i = 0; i < r->nparams; i++) {
		if (strcmp(r->params[i].name, "token") == 0 || tka__listed(allowed, r->params[i].name))
			continue;
		if (allowed[0] == '\0')
			tka_problem(resp, 400, r->params[i].name,
				    "unknown query parameter '%s': %s takes none", r->params[i].name,
				    r->path);
		else
			tka_problem(resp, 400, r->params[i].name,
				    "unknown query parameter '%s': %s takes %s", r->params[i].name,
				    r->path, allowed);
		return -EINVAL;
	}
	return 0;
}

int tka_param_u64(struct tka_req *r, const char *name, uint64_t min, uint64_t max, uint64_t def,
		  uint64_t *out, struct tka_resp *resp)
{
	const struct tka_param *p = tka_param(r, name);

	*out = def;
	if (p == NULL)
		return 0;
	if (tk_parse_u64(p->value, min, max, out) < 0 || p->len == 0) {
		tka_problem(resp, 400, name, "'%s' must be an integer from %" PRIu64 " to %" PRIu64
			    ", not \"%.40s\"", name, min, max, p->value);
		return -EINVAL;
	}
	return 0;
}

int tka_param_time(struct tka_req *r, const char *name, int64_t *ns, bool *present,
		   struct tka_resp *resp)
{
	const struct tka_param *p = tka_param(r, name);

	*present = p != NULL;
	if (p == NULL)
		return 0;
	if (p->len == 0 || tkj_parse_time(p->value, ns) < 0) {
		tka_problem(resp, 400, name, "'%s' must be a time: epoch milliseconds, a date "
			    "(2023-11-14) or an ISO 8601 date-time (2023-11-14T14:30:00Z), not "
			    "\"%.40s\"", name, p->value);
		return -EINVAL;
	}
	return 0;
}

static int tka__symbol_check(const char *what, const char *v, size_t len, struct tka_resp *resp)
{
	char why[160];

	if (tk_symbol_check(v, len, why, sizeof(why)) < 0) {
		tka_problem(resp, 400, what, "'%s' is not a symbol: %s", what, why);
		return -EINVAL;
	}
	return 0;
}

int tka_param_symbol(struct tka_req *r, const char *name, bool required, const char **out,
		     struct tka_resp *resp)
{
	const struct tka_param *p = tka_param(r, name);

	*out = NULL;
	if (p == NULL) {
		if (!required)
			return 0;
		tka_problem(resp, 400, name, "'%s' is required (a symbol such as AAPL)", name);
		return -EINVAL;
	}
	if (tka__symbol_check(name, p->value, p->len, resp) < 0)
		return -EINVAL;
	*out = p->value;
	return 0;
}

int tka_seg_symbol(struct tka_req *r, unsigned i, const char **out, struct tka_resp *resp)
{
	*out = NULL;
	if (i >= r->nseg || tka__symbol_check("symbol", r->seg[i], r->seg_len[i], resp) < 0)
		return -EINVAL;
	*out = r->seg[i];
	return 0;
}

/* ------------------------------------------------------------- bodies */

int tka_body(struct tka_req *r, bool required, struct tka_jobj *o, char *scratch, size_t cap,
	     struct tka_resp *resp)
{
	char why[256];
	size_t n;

	o->n = 0;
	o->nitems = 0;
	if (r->body == NULL || r->body_len == 0) {
		if (!required)
			return 0;
		tka_problem(resp, 400, NULL, "%s %s needs a JSON body", r->method_name, r->path);
		return -EINVAL;
	}
	n = r->content_type != NULL ? strcspn(r->content_type, "; \t") : 0;
	if (r->content_type == NULL || n != 16 || strncasecmp(r->content_type, "application/json", 16) != 0) {
		tka_problem(resp, 415, NULL, "the body must be application/json (Content-Type: %.60s)",
			    r->content_type != NULL ? r->content_type : "none");
		return -EINVAL;
	}
	if (cap < r->body_len + 16) {
		tka_problem(resp, 413, NULL, "the body is too large");
		return -EINVAL;
	}
	if (tka_json_object(r->body, r->body_len, o, scratch, cap, why, sizeof(why)) < 0) {
		tka_problem(resp, 400, NULL, "%s", why);
		return -EINVAL;
	}
	return 0;
}

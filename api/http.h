/*
 * The API's requests and responses, apart from the HTTP server: pure
 * functions over caller-owned memory, so the handlers, the tests and the
 * fuzz target see one request model whatever server carries it
 * (libwebsockets' event loop, api/server.c).
 *
 * A request arrives as method, path and query string percent-encoded (as
 * they came, or escaped again by the server where it has decoded them), a
 * few headers and a bounded body.  tka_query_parse decodes
 * the query strictly: every name a plain word, every value valid UTF-8
 * without control characters, percent escapes well formed, no name twice.
 * A handler then names the parameters it takes (tka_params_allow) and
 * reads each through one typed getter; every refusal is one problem
 * (RFC 9457) naming the parameter and what was wrong with it.
 */
#ifndef TK_API_HTTP_H
#define TK_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/json.h"

#define TKA_MAX_PARAMS 32
#define TKA_QUERY_MAX 4096 /* bytes of query string */
#define TKA_PATH_MAX 512
#define TKA_MAX_SEGMENTS 8
#define TKA_BODY_MAX (64 * 1024)
#define TKA_FILE_ROOM 2048 /* bytes kept before a static file's data (struct tka_resp) */

struct tka_param {
	const char *name;  /* NUL-terminated, in the request's scratch */
	const char *value; /* decoded, NUL-terminated */
	size_t len;        /* of value */
	bool used;         /* read by the handler */
};

enum tka_method {
	TKA_GET = 1u << 0,
	TKA_HEAD = 1u << 1,
	TKA_POST = 1u << 2,
	TKA_PUT = 1u << 3,
	TKA_DELETE = 1u << 4,
	TKA_OPTIONS = 1u << 5,
};

struct tka_req {
	unsigned method;       /* one TKA_* bit; 0 for a method this API does not know */
	const char *method_name;
	const char *path;      /* the path as it came (percent-encoded), starts with '/' */
	const char *seg[TKA_MAX_SEGMENTS]; /* its segments, decoded (in scratch) */
	size_t seg_len[TKA_MAX_SEGMENTS];
	unsigned nseg;
	const char *content_type; /* NULL when absent */
	const char *authorization;
	const char *body;
	size_t body_len;
	struct tka_param params[TKA_MAX_PARAMS];
	unsigned nparams;
	char scratch[TKA_QUERY_MAX + TKA_PATH_MAX + 2 * TKA_MAX_PARAMS + TKA_MAX_SEGMENTS + 16];
	size_t scratch_used;
};

/* A response under construction: status, content type, extra header lines
 * and the body in a caller's buffer. */
struct tka_resp {
	int status;
	const char *content_type;
	char headers[512]; /* "Name: value\r\n" lines */
	size_t headers_len;
	struct tk_buf body;
	/* A static file: the body is these bytes (not copied), cacheable.
	 * TKA_FILE_ROOM bytes before them are the server's, to write the
	 * status line and headers in front so the answer leaves in one write. */
	char *file;
	size_t file_len;
};

/* The method's bit (TKA_*), 0 for anything else. */
unsigned tka_method_bit(const char *name);

/*
 * Start a request: method, path and query string as they came (query
 * NULL: none).  Splits the path into segments, decodes each, and decodes
 * the query.
 * Returns 0, or -EINVAL with a problem already in resp (400: a path or
 * query that breaks the rules above, or is too long: 414).
 */
int tka_req_init(struct tka_req *r, const char *method, const char *path, const char *query,
		 struct tka_resp *resp);

/*
 * Decode a query string of len bytes into r->params (strict, see above).
 * Returns 0, or -EINVAL with a one-line reason in why (cap bytes).  Pure.
 */
int tka_query_parse(struct tka_req *r, const char *q, size_t len, char *why, size_t cap);

/* The parameter `name`, or NULL; marks it used. */
const struct tka_param *tka_param(struct tka_req *r, const char *name);

/*
 * Refuse parameters the handler does not take: `allowed` is a
 * comma-separated list of names ("symbol,limit").  The Finnhub `token`
 * (sent by its client libraries on every call) is always allowed.  0, or
 * -EINVAL with a 400 problem in resp naming the first unknown parameter
 * and the ones that are taken.
 */
int tka_params_allow(struct tka_req *r, const char *allowed, struct tka_resp *resp);

/*
 * Typed getters.  Each returns 0 and *out (the default def when the
 * parameter is absent), or -EINVAL with a 400 problem in resp naming the
 * parameter, what it got and what it takes.
 */
int tka_param_u64(struct tka_req *r, const char *name, uint64_t min, uint64_t max, uint64_t def,
		  uint64_t *out, struct tka_resp *resp);
/* A time: epoch milliseconds, or an ISO 8601 date or date-time (UTC unless
 * it says otherwise); *present tells whether it was given. */
int tka_param_time(struct tka_req *r, const char *name, int64_t *ns, bool *present,
		   struct tka_resp *resp);
/* A symbol by the segment's rule (shm/symbol.h); NULL *out when absent and
 * not required. */
int tka_param_symbol(struct tka_req *r, const char *name, bool required, const char **out,
		     struct tka_resp *resp);
/* A path segment that must be a symbol. */
int tka_seg_symbol(struct tka_req *r, unsigned i, const char **out, struct tka_resp *resp);

struct tka_jobj;
/*
 * The request's JSON body into o (strings decoded into scratch, cap bytes
 * >= body_len + 16).  A body must say Content-Type: application/json (415
 * otherwise).  Without a body: 0 and o->n == 0 when !required, else 400.
 * 0, or -EINVAL with the problem in resp.
 */
int tka_body(struct tka_req *r, bool required, struct tka_jobj *o, char *scratch, size_t cap,
	     struct tka_resp *resp);

/* Responses. */
void tka_resp_init(struct tka_resp *o, char *mem, size_t cap);
void tka_resp_header(struct tka_resp *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Start a JSON answer of this status (body is then written by the caller). */
void tka_json(struct tka_resp *o, int status);
/*
 * An RFC 9457 problem (application/problem+json): status, its title, the
 * detail sentence, and the parameter it is about (NULL: none).  Replaces
 * whatever the body held.
 */
void tka_problem(struct tka_resp *o, int status, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The reason phrase of an HTTP status ("Not Found"). */
const char *tka_status_text(int status);

#endif

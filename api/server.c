/* civetweb carries the API's requests to tka_dispatch (server.h). */
#include "api/server.h"

#include <civetweb.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"

#define TKA_HEAD_ROOM 1024 /* bytes before the body for the status line and headers */
#define TKA_BUF_START (256 * 1024)
#define TKA_BUF_MAX (64u << 20)

struct tka_server {
	struct mg_context *mg;
	struct tka_ctx *c;
};

/* Each server thread's response buffer: headers are written into the room
 * before the body, so the whole response is one contiguous write. */
static _Thread_local char *tka__mem;
static _Thread_local size_t tka__cap;

static char *tka__buffer(size_t cap)
{
	if (tka__cap < cap) {
		char *m = realloc(tka__mem, cap);

		if (m == NULL)
			return NULL;
		tka__mem = m;
		tka__cap = cap;
	}
	return tka__mem;
}

/* Read the body: at most TKA_BODY_MAX bytes.  0, or the status refusing it. */
static _Thread_local char *tka__body;

static int tka__read_body(struct mg_connection *conn, const struct mg_request_info *ri,
			  struct tka_req *r, struct tka_resp *o)
{
	size_t got = 0;
	char *body;
	int n;

	if (ri->content_length > (long long)TKA_BODY_MAX) {
		tka_problem(o, 413, NULL, "the body is %lld bytes, at most %d are taken",
			    ri->content_length, TKA_BODY_MAX);
		return 413;
	}
	if (ri->content_length == 0)
		return 0;
	if (tka__body == NULL && (tka__body = malloc(TKA_BODY_MAX + 2)) == NULL) {
		tka_problem(o, 503, NULL, "out of memory");
		return 503;
	}
	body = tka__body;
	/* Content-Length, or chunked (civetweb decodes it): read to the end
	 * or one byte past the limit. */
	while (got <= TKA_BODY_MAX && (n = mg_read(conn, body + got, TKA_BODY_MAX + 1 - got)) > 0)
		got += (size_t)n;
	if (got > TKA_BODY_MAX) {
		tka_problem(o, 413, NULL, "the body is more than %d bytes", TKA_BODY_MAX);
		return 413;
	}
	body[got] = '\0';
	r->body = body;
	r->body_len = got;
	return 0;
}

static int tka__begin_request(struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct tka_server *s = mg_get_user_data(mg_get_context(conn));
	struct tka_req req;
	const char *conn_hdr = mg_get_header(conn, "Connection");
	bool http10 = ri->http_version != NULL && strcmp(ri->http_version, "1.0") == 0;
	bool close_after = false;
	size_t cap = tka__cap > 0 ? tka__cap : TKA_BUF_START;
	uint64_t remaining = 0, reset_s = 0, retry_s = 0;
	struct tka_resp o;
	char *mem;
	int status, hn, limited;

	int64_t t0 = tk_mono_ns();

	/* The client's bucket first: a refused request costs nothing more. */
	limited = tka_limiter_take(&s->c->limiter, ri->remote_addr, tk_mono_coarse_ns(), &remaining,
				   &reset_s, &retry_s);
	if (limited == 0)
		close_after = ri->content_length != 0; /* its body is not read */
	for (;;) {
		mem = tka__buffer(cap);
		if (mem == NULL) {
			mg_send_http_error(conn, 503, "out of memory");
			return 503;
		}
		tka_resp_init(&o, mem + TKA_HEAD_ROOM, tka__cap - TKA_HEAD_ROOM);
		if (limited == 0) {
			tka_problem(&o, 429, NULL, "more than %g requests a second from %s: retry in %llu s",
				    s->c->limiter.rate, ri->remote_addr, (unsigned long long)retry_s);
			tka_resp_header(&o, "Retry-After: %llu", (unsigned long long)retry_s);
			req.method = tka_method_bit(ri->request_method); /* a HEAD gets no body */
		} else if (tka_req_init(&req, ri->request_method, ri->local_uri_raw, ri->query_string, &o) == 0) {
			req.content_type = mg_get_header(conn, "Content-Type");
			req.authorization = mg_get_header(conn, "Authorization");
			if (tka__read_body(conn, ri, &req, &o) != 0)
				close_after = true; /* the rest of the body is still on the wire */
			else
				tka_dispatch(s->c, &req, &o);
		}
		/* Too big for the buffer: a read-only answer is made again in a
		 * bigger one; anything else is answered as it is. */
		if (!o.body.overflow || (req.method != TKA_GET && req.method != TKA_HEAD) ||
		    tka__cap >= TKA_BUF_MAX)
			break;
		cap = tka__cap * 4 < TKA_BUF_MAX ? tka__cap * 4 : TKA_BUF_MAX;
		if (cap <= tka__cap)
			break;
	}
	if (o.body.overflow) {
		tka_problem(&o, 507, NULL, "the answer is larger than %u bytes: ask for fewer rows",
			    TKA_BUF_MAX);
	}
	if (limited >= 0)
		tka_resp_header(&o, "RateLimit-Limit: %.0f\r\nRateLimit-Remaining: %llu\r\n"
				"RateLimit-Reset: %llu", s->c->limiter.burst, (unsigned long long)remaining,
				(unsigned long long)reset_s);
	if (conn_hdr != NULL && strcasecmp(conn_hdr, "close") == 0)
		close_after = true;
	if (http10 && (conn_hdr == NULL || strcasecmp(conn_hdr, "keep-alive") != 0))
		close_after = true;
	if (close_after)
		mg_disable_connection_keep_alive(conn);
	status = o.status;
	if (limited == 0)
		status = 429;
	{
		char head[TKA_HEAD_ROOM];
		bool no_body = status == 204 || status == 304;
		size_t body_len = o.file != NULL ? o.file_len : o.body.len;

		hn = snprintf(head, sizeof(head),
			      "HTTP/1.1 %d %s\r\n"
			      "Content-Type: %s\r\n"
			      "Content-Length: %zu\r\n"
			      "Cache-Control: %s\r\n"
			      "%s%s"
			      "\r\n",
			      status, tka_status_text(status), o.content_type,
			      no_body ? (size_t)0 : body_len,
			      o.file != NULL ? "public, max-age=3600" : "no-store", o.headers,
			      close_after ? "Connection: close\r\n"
			      : http10 ? "Connection: keep-alive\r\n" : "");
		if (hn < 0 || hn >= (int)sizeof(head)) {
			mg_send_http_error(conn, 500, "response headers too long");
			return 500;
		}
		memcpy(o.body.p - hn, head, (size_t)hn);
		if (o.file != NULL) {
			/* A static file leaves from where it is kept: two writes. */
			mg_write(conn, o.body.p - hn, (size_t)hn);
			if (!no_body && req.method != TKA_HEAD)
				mg_write(conn, o.file, o.file_len);
		} else {
			mg_write(conn, o.body.p - hn,
				 (size_t)hn + (no_body || req.method == TKA_HEAD ? 0 : o.body.len));
		}
	}
	tka_count_request(s->c, status, tk_mono_ns() - t0);
	/* A thread keeps a large buffer only for the answer that needed it:
	 * a thousand threads must not each hold 64 MiB. */
	if (tka__cap > TKA_BUF_START) {
		free(tka__mem);
		tka__mem = NULL;
		tka__cap = 0;
	}
	return status;
}

static int tka__log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	tk_warn("http: %s", message);
	return 1;
}

struct tka_server *tka_server_start(struct tka_ctx *c, const struct tka_server_opts *o)
{
	struct tka_server *s = calloc(1, sizeof(*s));
	char threads[16], keep[24], queue[16];
	const char *opts[32];
	struct mg_callbacks cb;
	pthread_attr_t attr;
	unsigned n = 0;

	if (s == NULL) {
		tk_err_set(-ENOMEM, "api: out of memory");
		return NULL;
	}
	s->c = c;
	snprintf(threads, sizeof(threads), "%u", o->threads);
	snprintf(keep, sizeof(keep), "%lld", (long long)(o->keep_alive_ns / 1000000));
	snprintf(queue, sizeof(queue), "%u", o->threads);
	opts[n++] = "listening_ports";
	opts[n++] = o->listen;
	opts[n++] = "num_threads";
	opts[n++] = threads;
	opts[n++] = "connection_queue";
	opts[n++] = queue;
	opts[n++] = "listen_backlog";
	opts[n++] = "1024";
	opts[n++] = "enable_keep_alive";
	opts[n++] = "yes";
	opts[n++] = "keep_alive_timeout_ms";
	opts[n++] = keep;
	opts[n++] = "request_timeout_ms";
	opts[n++] = "10000";
	opts[n++] = "tcp_nodelay";
	opts[n++] = "1";
	opts[n++] = "max_request_size";
	opts[n++] = "16384";
	opts[n++] = "decode_url";
	opts[n++] = "no"; /* the path's escapes are decoded per segment, strictly (http.c) */
	opts[n] = NULL;
	memset(&cb, 0, sizeof(cb));
	cb.begin_request = tka__begin_request;
	cb.log_message = tka__log_message;
	/* A thread per connection: small stacks, so a thousand cost little.
	 * civetweb creates its threads with default attributes. */
	if (pthread_attr_init(&attr) == 0) {
		pthread_attr_setstacksize(&attr, 256 * 1024);
		pthread_setattr_default_np(&attr);
		pthread_attr_destroy(&attr);
	}
	mg_init_library(0);
	s->mg = mg_start(&cb, s, opts);
	if (s->mg == NULL) {
		tk_err_set(-EADDRINUSE, "api: cannot serve on %s (in use, not an address of this "
			   "host, or not HOST:PORT)", o->listen);
		free(s);
		return NULL;
	}
	return s;
}

void tka_server_stop(struct tka_server *s)
{
	if (s == NULL)
		return;
	mg_stop(s->mg);
	mg_exit_library();
	free(s);
}

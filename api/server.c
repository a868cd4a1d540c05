/* libwebsockets carries the API's requests to tka_dispatch (server.h). */
#include "api/server.h"
#include "api/ws.h"

#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"
#include "shm/idle.h"

#define TKA_HEAD_ROOM 1024 /* bytes before the body for the status line and headers */
#define TKA_BUF_START (256 * 1024)
#define TKA_BUF_MAX (64u << 20)
#define TKA_HEADER_DATA 8192 /* request line and headers */
/* The request target with every '%' escaped again: at most three times its bytes. */
#define TKA_TARGET_MAX (3 * (TKA_PATH_MAX + TKA_QUERY_MAX) + 8)

struct tka_server {
	struct lws_context *lws;
	struct tka_ctx *c;
	pthread_t thread;
	atomic_bool stop;
	char iface[64];
	/* The one response buffer: the loop answers one request at a time. */
	char *mem;
	size_t cap;
	struct tka_ws ws; /* /ws and /ws/finnhub */
	/* The stream's waker: a thread that sleeps on the first tick log's
	 * event count (TKA_WS_TICK_NS at most, TKA_WS_WAKE_MIN_NS after news)
	 * while there are clients and interrupts the loop's poll when a log
	 * moved (an lws timer under 1 ms made its poll return at once, a spin). */
	pthread_t waker;
	bool waker_running;
	atomic_uint clients;   /* the stream's, mirrored for the waker */
	atomic_bool wake_news; /* set by the waker, taken by the loop: new records */
	atomic_bool wake_all;  /* the same, every second: every client called */
	atomic_bool wake_pending; /* an interruption the loop has not taken yet */
};

/*
 * A request the loop has started: kept while its body arrives (the
 * headers are copied out, since lws may reuse them), NULL otherwise.
 */
struct tka_pending {
	unsigned method_idx;
	bool close_after;
	int refuse;        /* a status refusing the framing (400, 411, 413); then close */
	char why[96];
	char addr[64];
	char content_type[128];
	char authorization[512];
	bool has_content_type, has_authorization;
	char path[TKA_TARGET_MAX];
	char query[TKA_TARGET_MAX];
	bool has_query;
	size_t body_len;
	char body[TKA_BODY_MAX + 2];
};

/* Per connection, but lws frees and zeroes it at the end of every
 * transaction (lws_http_transaction_completed): nothing outlives a request. */
struct tka_conn {
	struct tka_pending *p;
	void *ws; /* a WebSocket connection: the stream's client */
};

static const char *const tka__methods[] = { "GET",    "POST",    "OPTIONS", "PUT",
					    "PATCH",  "DELETE",  "CONNECT", "HEAD" };

/*
 * lws hands the target decoded ('+' already a space); the request model
 * (http.h) takes it percent-encoded and decodes it by its own rules.  So
 * escape again what decoding gave a meaning: '%' everywhere, '&', '+' and
 * '=' in the query (`also`), and the control bytes, so that an encoded NUL
 * cannot end the string early: the model refuses them with a 400.
 */
static size_t tka__escape(char *out, size_t at, size_t cap, const char *s, size_t n,
			  const char *also)
{
	size_t i;

	for (i = 0; i < n && at + 4 < cap; i++) {
		char ch = s[i];

		if (ch == '%' || (unsigned char)ch < 0x20 || ch == 0x7f ||
		    (ch != '\0' && strchr(also, ch) != NULL)) {
			static const char hex[] = "0123456789ABCDEF";

			out[at++] = '%';
			out[at++] = hex[(unsigned char)ch >> 4];
			out[at++] = hex[(unsigned char)ch & 15];
		} else {
			out[at++] = ch;
		}
	}
	out[at] = '\0';
	return at;
}

/*
 * The query: lws keeps it as "name=value" fragments, each decoded.
 * Returns 1 (a query), 0 (none), or -1 when a fragment is longer than
 * TKA_QUERY_MAX (lws gives no part of it).
 */
static int tka__query(struct lws *wsi, char *out, size_t cap)
{
	char frag[TKA_QUERY_MAX + 1];
	size_t at = 0;
	int n, i;

	out[0] = '\0';
	for (i = 0;; i++) {
		const char *eq;
		size_t nlen;

		n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0) {
			if (lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) > 0)
				return -1;
			break;
		}
		eq = memchr(frag, '=', (size_t)n);
		nlen = eq != NULL ? (size_t)(eq - frag) : (size_t)n;
		if (i > 0 && at + 1 < cap)
			out[at++] = '&';
		at = tka__escape(out, at, cap, frag, nlen, "&+=");
		if (eq != NULL) {
			if (at + 1 < cap)
				out[at++] = '=';
			at = tka__escape(out, at, cap, eq + 1, (size_t)n - nlen - 1, "&+");
		}
	}
	return i > 0;
}

/* A header's value into out (cap bytes): 1, 0 when absent, -1 when it is
 * longer than cap - 1 bytes. */
static int tka__header(struct lws *wsi, enum lws_token_indexes h, char *out, int cap)
{
	out[0] = '\0';
	if (lws_hdr_total_length(wsi, h) <= 0)
		return 0;
	return lws_hdr_copy(wsi, out, cap, h) >= 0 ? 1 : -1;
}

/* Close after this answer as lws decides it (lws_http_action): HTTP/1.1
 * keeps the connection, any other version closes it, and a Connection
 * header of keep-alive or close overrides either. */
static bool tka__close_after(struct lws *wsi)
{
	char conn[64], version[16];
	bool close = !(tka__header(wsi, WSI_TOKEN_HTTP, version, sizeof(version)) == 1 &&
		       strlen(version) > 7 && version[5] == '1' && version[7] == '1');

	if (tka__header(wsi, WSI_TOKEN_CONNECTION, conn, sizeof(conn)) == 1) {
		if (strcasecmp(conn, "keep-alive") == 0)
			close = false;
		else if (strcasecmp(conn, "close") == 0)
			close = true;
	}
	return close;
}

static char *tka__buffer(struct tka_server *s, size_t cap)
{
	if (s->cap < cap) {
		char *m = realloc(s->mem, cap);

		if (m == NULL)
			return NULL;
		s->mem = m;
		s->cap = cap;
	}
	return s->mem;
}

/*
 * Answer the request p describes: rate limit, dispatch, write.  Returns
 * what the callback returns: -1 closes the connection (after what was
 * written has left).
 */
static int tka__answer(struct lws *wsi, struct tka_server *s, struct tka_pending *p)
{
	struct tka_ctx *c = s->c;
	const char *method = tka__methods[p->method_idx];
	uint64_t remaining = 0, reset_s = 0, retry_s = 0;
	size_t cap = s->cap > 0 ? s->cap : TKA_BUF_START;
	int64_t t0 = tk_mono_ns();
	struct tka_req req;
	struct tka_resp o;
	char head[TKA_HEAD_ROOM];
	size_t body_len;
	bool no_body;
	char *mem;
	int status, hn, limited;

	limited = tka_limiter_take(&c->limiter, p->addr, tk_mono_coarse_ns(), &remaining, &reset_s,
				   &retry_s);
	for (;;) {
		mem = tka__buffer(s, cap);
		if (mem == NULL)
			return -1; /* out of memory: the client sees the connection close */
		tka_resp_init(&o, mem + LWS_PRE + TKA_HEAD_ROOM, s->cap - LWS_PRE - TKA_HEAD_ROOM);
		req.method = tka_method_bit(method); /* a HEAD gets no body, even refused */
		if (limited == 0) {
			tka_problem(&o, 429, NULL, "more than %g requests a second from %s: retry in %llu s",
				    c->limiter.rate, p->addr, (unsigned long long)retry_s);
			tka_resp_header(&o, "Retry-After: %llu", (unsigned long long)retry_s);
		} else if (p->refuse != 0) {
			tka_problem(&o, p->refuse, NULL, "%s", p->why);
		} else if (tka_req_init(&req, method, p->path, p->has_query ? p->query : NULL, &o) == 0) {
			req.content_type = p->has_content_type ? p->content_type : NULL;
			req.authorization = p->has_authorization ? p->authorization : NULL;
			if (p->body_len > 0) {
				p->body[p->body_len] = '\0';
				req.body = p->body;
				req.body_len = p->body_len;
			}
			tka_dispatch(c, &req, &o);
		}
		/* Too big for the buffer: a read-only answer is made again in a
		 * bigger one; anything else is answered as it is. */
		if (!o.body.overflow || (req.method != TKA_GET && req.method != TKA_HEAD) ||
		    s->cap >= TKA_BUF_MAX)
			break;
		cap = s->cap * 4 < TKA_BUF_MAX ? s->cap * 4 : TKA_BUF_MAX;
	}
	if (o.body.overflow)
		tka_problem(&o, 507, NULL, "the answer is larger than %u bytes: ask for fewer rows",
			    TKA_BUF_MAX);
	if (limited >= 0)
		tka_resp_header(&o, "RateLimit-Limit: %.0f\r\nRateLimit-Remaining: %llu\r\n"
				"RateLimit-Reset: %llu", c->limiter.burst, (unsigned long long)remaining,
				(unsigned long long)reset_s);
	status = o.status;
	no_body = status == 204 || status == 304;
	body_len = o.file != NULL ? o.file_len : o.body.len;
	if (no_body) /* RFC 9110: a 204 has no content, so no length or type of it */
		hn = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nCache-Control: no-store\r\n%s%s\r\n",
			      status, tka_status_text(status), o.headers,
			      p->close_after || p->refuse != 0 ? "Connection: close\r\n" : "");
	else
		hn = snprintf(head, sizeof(head),
			      "HTTP/1.1 %d %s\r\n"
			      "Content-Type: %s\r\n"
			      "Content-Length: %zu\r\n"
			      "Cache-Control: %s\r\n"
			      "%s%s"
			      "\r\n",
			      status, tka_status_text(status), o.content_type, body_len,
			      o.file != NULL ? "public, max-age=3600" : "no-store", o.headers,
			      p->close_after || p->refuse != 0 ? "Connection: close\r\n" : "");
	if (hn < 0 || hn >= (int)sizeof(head))
		return -1;
	{
		/* The headers go in front of the body (a static file keeps
		 * TKA_FILE_ROOM bytes before its data for them): one write.
		 * lws_write takes the whole buffer; what the socket does not take
		 * now, lws copies and sends as the client reads. */
		char *body = o.file != NULL ? o.file : o.body.p;
		unsigned char *out = (unsigned char *)body - hn;
		size_t n = (size_t)hn + (no_body || req.method == TKA_HEAD ? 0 : body_len);

		memcpy(out, head, (size_t)hn);
		if (lws_write(wsi, out, n, LWS_WRITE_HTTP) < 0)
			return -1;
	}
	tka_count_request(c, status, tk_mono_ns() - t0);
	/* The loop keeps a large buffer only for the answer that needed it. */
	if (s->cap > TKA_BUF_START) {
		free(s->mem);
		s->mem = NULL;
		s->cap = 0;
	}
	if (p->close_after || p->refuse != 0)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* The request's line and headers into p; true when a body follows. */
static bool tka__start(struct lws *wsi, const char *uri, size_t uri_len, struct tka_pending *p,
		       unsigned method_idx)
{
	char len[32], te[32];
	unsigned long long n = 0;
	size_t i;
	int q;

	p->method_idx = method_idx;
	p->close_after = tka__close_after(wsi);
	p->refuse = 0;
	p->body_len = 0;
	if (lws_get_peer_simple(wsi, p->addr, sizeof(p->addr)) == NULL)
		snprintf(p->addr, sizeof(p->addr), "unknown");
	tka__escape(p->path, 0, sizeof(p->path), uri, uri_len, "");
	q = tka__query(wsi, p->query, sizeof(p->query));
	p->has_query = q > 0;
	if (q < 0) {
		p->refuse = 414;
		snprintf(p->why, sizeof(p->why), "a query parameter is more than %d bytes",
			 TKA_QUERY_MAX);
		return false;
	}
	/* A header too long to copy is refused, never read as absent. */
	p->has_content_type = tka__header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, p->content_type,
					  sizeof(p->content_type)) == 1;
	p->has_authorization = tka__header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, p->authorization,
					   sizeof(p->authorization)) == 1;
	if ((lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE) > 0 && !p->has_content_type) ||
	    (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 && !p->has_authorization)) {
		p->refuse = 400;
		snprintf(p->why, sizeof(p->why), "a Content-Type over %zu or an Authorization over "
			 "%zu bytes", sizeof(p->content_type) - 1, sizeof(p->authorization) - 1);
		return false;
	}
	/* A body the API cannot frame is refused and the connection closed,
	 * whatever follows being unread: lws does not decode a chunked request
	 * body, and a Content-Length must be one number (lws joins repeated
	 * headers with a space). */
	if (tka__header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, te, sizeof(te)) != 0) {
		p->refuse = 411;
		snprintf(p->why, sizeof(p->why), "a body needs a Content-Length (a chunked body "
			 "is not taken)");
		return false;
	}
	switch (tka__header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, len, sizeof(len))) {
	case 0:
		return false;
	case -1:
		len[0] = 'x'; /* too long to be a length: refused below */
		len[1] = '\0';
		break;
	}
	for (i = 0; len[i] != '\0'; i++) {
		if (len[i] < '0' || len[i] > '9' || i >= 18) {
			p->refuse = 400;
			snprintf(p->why, sizeof(p->why), "Content-Length must be one number of bytes");
			return false;
		}
		n = n * 10 + (unsigned)(len[i] - '0');
	}
	if (i == 0) {
		p->refuse = 400;
		snprintf(p->why, sizeof(p->why), "Content-Length must be one number of bytes");
		return false;
	}
	if (n > TKA_BODY_MAX) {
		p->refuse = 413;
		snprintf(p->why, sizeof(p->why), "the body is %llu bytes, at most %d are taken", n,
			 TKA_BODY_MAX);
		return false;
	}
	return n > 0;
}

/* A client that sent "Expect: 100-continue" waits for this before its body. */
static void tka__continue(struct lws *wsi)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	unsigned char out[LWS_PRE + sizeof(cont)];
	char expect[32];

	if (tka__header(wsi, WSI_TOKEN_HTTP_EXPECT, expect, sizeof(expect)) != 1 ||
	    strcasecmp(expect, "100-continue") != 0)
		return;
	memcpy(out + LWS_PRE, cont, sizeof(cont) - 1);
	lws_write(wsi, out + LWS_PRE, sizeof(cont) - 1, LWS_WRITE_HTTP);
}

static const struct lws_protocols tka__protocols[];

static int tka__callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			 size_t len)
{
	struct tka_server *s = lws_context_user(lws_get_context(wsi));
	struct tka_conn *pc = user;
	static struct tka_pending now; /* a request without a body: answered at once */

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* An upgrade naming this protocol ("Sec-WebSocket-Protocol: http")
		 * would be a WebSocket outside the stream's paths and limits. */
		return 1;
	case LWS_CALLBACK_HTTP: {
		/* The path with its length: a decoded NUL must not end it. */
		char *uri = NULL;
		int uri_len = 0;
		int m = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
		struct tka_pending *p;

		(void)in;
		if (m < 0 || m >= (int)(sizeof(tka__methods) / sizeof(tka__methods[0])) || uri == NULL)
			return -1; /* lws has refused it already */
		if (!tka__start(wsi, uri, (size_t)uri_len, &now, (unsigned)m))
			return tka__answer(wsi, s, &now);
		/* A body follows: keep the request while it arrives. */
		p = pc->p != NULL ? pc->p : malloc(sizeof(*p));
		if (p == NULL)
			return -1;
		memcpy(p, &now, offsetof(struct tka_pending, body));
		pc->p = p;
		tka__continue(wsi);
		return 0;
	}
	case LWS_CALLBACK_HTTP_BODY:
		/* lws delivers at most the Content-Length, which tka__start
		 * bounded: more would be lws's fault, and closes. */
		if (pc->p == NULL || pc->p->body_len + len > TKA_BODY_MAX)
			return -1;
		memcpy(pc->p->body + pc->p->body_len, in, len);
		pc->p->body_len += len;
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
		/* Taken out of pc first: completing the transaction frees pc. */
		struct tka_pending *p = pc->p;
		int rc;

		if (p == NULL)
			return -1;
		pc->p = NULL;
		rc = tka__answer(wsi, s, p);
		free(p);
		return rc;
	}
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (pc != NULL) {
			free(pc->p);
			pc->p = NULL;
		}
		return 0;
	case LWS_CALLBACK_RAW_RX: {
		/* lws turns a CONNECT into a raw socket (its proxy fallback):
		 * answer it as any method this API does not take, and close. */
		static const char refuse[] =
			"{\"type\":\"about:blank\",\"title\":\"Method Not Allowed\",\"status\":405,"
			"\"detail\":\"CONNECT is not a method this API takes\"}";
		char out[LWS_PRE + 512];
		int n = snprintf(out + LWS_PRE, sizeof(out) - LWS_PRE,
				 "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/problem+json\r\n"
				 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				 sizeof(refuse) - 1, refuse);

		lws_write(wsi, (unsigned char *)out + LWS_PRE, (size_t)n, LWS_WRITE_RAW);
		tka_count_request(s->c, 405, 0);
		return -1;
	}
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
	{
		/* The waker saw new records (or a second passed): the clients
		 * they are for (or all) are asked for their next frame.  The
		 * interruption is taken before the news, so that news set after
		 * this point interrupts the loop again. */
		atomic_store(&s->wake_pending, false);
		bool all = atomic_exchange(&s->wake_all, false);

		if (atomic_exchange(&s->wake_news, false) || all)
			tka_ws_wake(&s->ws, all);
		return 0;
	}
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* The stream's connections: their own protocol, so that waking them all
 * wakes no HTTP connection. */
static int tka__ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			    size_t len)
{
	struct tka_server *s = lws_context_user(lws_get_context(wsi));
	int rc = tka_ws_callback(&s->ws, wsi, reason, user, in, len);

	atomic_store(&s->clients, s->ws.clients);
	return rc;
}

/* tx_packet_size: lws sends at most this much of a buffered answer per
 * wakeup; its default (4 KiB) sent a 17 KB answer in five sends with a
 * poll between each. */
static const struct lws_protocols tka__protocols[] = {
	{ "http", tka__callback, sizeof(struct tka_conn), 0, 0, NULL, 4u << 20 },
	{ "tickd-stream", tka__ws_callback, sizeof(void *), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void tka__lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		tk_warn("http: %.*s", (int)n, line);
	else
		tk_info("http: %.*s", (int)n, line);
}

/* The waker's reader: named (non-gating), so that the writer of the first
 * tick log wakes its futex; NULL when it cannot be (no tick log, a segment
 * this process may not write, the name held): the waker then looks every
 * TKA_WS_TICK_NS. */
static struct tk_log_reader *tka__waker_reader(struct tka_server *s, struct tk_log_reader *r)
{
	struct tk_reader_opts o = { .start = TK_START_END };
	char name[TK_NAME_MAX];

	for (unsigned i = 0; i < s->ws.nlogs; i++) {
		if (s->ws.log[i].kind != TKA_WS_TICKS)
			continue;
		snprintf(name, sizeof(name), "api.ws@%s", s->c->listen != NULL ? s->c->listen : "");
		o.name = name;
		if (tk_log_reader_open(r, &s->c->seg, s->ws.log[i].r.log->name, &o) == 0)
			return r;
		tk_info("api: the stream looks at the logs every %lld us, every %lld us while news comes "
			"(no reader of its own: %s)",
			(long long)(TKA_WS_TICK_NS / 1000), (long long)(TKA_WS_WAKE_MIN_NS / 1000), tk_err_msg());
		return NULL;
	}
	return NULL;
}

static void *tka__waker(void *arg)
{
	struct tka_server *s = arg;
	struct tk_log_reader rmem, *r = tka__waker_reader(s, &rmem);
	uint64_t seen[TKA_WS_LOGS] = { 0 };
	int64_t last_all = 0;
	struct tk_idle idle;

	tk_idle_init(&idle, TK_IDLE_BLOCK);
	/* This thread's sleeps are short and on the stream's path (the
	 * TKA_WS_WAKE_MIN_NS pause, BLOCK's futex timeout): the default 50 us
	 * of timer slack made the 100 us pause 150 us and more. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	while (!atomic_load_explicit(&s->stop, memory_order_acquire)) {
		int64_t now = tk_mono_ns();
		bool news = false, busy = false;

		if (r != NULL) {
			/* At the newest record, unread (the loop reads what it
			 * needs): what the futex's check compares against. */
			uint64_t head = tk_log_write_seq(r->log) + 1;

			if (head != r->next) {
				r->next = head;
				tk_log_reader_commit(r);
			}
		}
		if (atomic_load(&s->clients) == 0) {
			if (r != NULL)
				tk_log_reader_heartbeat(r); /* alive, and idle */
			tk_sleep_ns(50 * 1000000LL); /* no stream client: nothing to look at */
			continue;
		}
		for (unsigned i = 0; i < s->ws.nlogs; i++) {
			uint64_t w = tk_log_write_seq(s->ws.log[i].r.log);

			news |= w != seen[i];
			seen[i] = w;
		}
		/* A second gone by: every client is called (its pings). */
		if (now - last_all > 1000000000LL) {
			last_all = now;
			atomic_store(&s->wake_all, true);
			news = true;
		}
		if (news) {
			/* At most one interruption the loop has not taken: what
			 * comes to an idle loop goes at once (a fixed pause after
			 * each interruption held a trade that came within it back
			 * by the rest of the pause), what comes before the loop
			 * takes it goes in the same frames. */
			atomic_store(&s->wake_news, true);
			busy = atomic_exchange(&s->wake_pending, true);
			if (!busy)
				lws_cancel_service(s->lws);
		}
		if (r == NULL || busy) {
			/* No futex to sleep on, or a loop still busy with the
			 * last interruption: look again after a pause, without
			 * asking the feed's publishes to wake this thread. */
			tk_sleep_ns(news ? TKA_WS_WAKE_MIN_NS : TKA_WS_TICK_NS);
		} else {
			/* Woken by the first tick log's next publish; the other
			 * logs are looked at again after the pause while news
			 * comes (a second's bars come in a burst), else after
			 * TKA_WS_TICK_NS. */
			tk_idle_wait(&idle, r, news ? TKA_WS_WAKE_MIN_NS : TKA_WS_TICK_NS);
		}
	}
	if (r != NULL)
		tk_log_reader_close(r);
	return NULL;
}

static void *tka__loop(void *arg)
{
	struct tka_server *s = arg;

	while (!atomic_load_explicit(&s->stop, memory_order_acquire))
		if (lws_service(s->lws, 0) < 0)
			break;
	return NULL;
}

/* HOST:PORT into iface and port; "[v6]:port" for IPv6. */
static int tka__split_listen(const char *listen, char *host, size_t cap, int *port, bool *v6)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t hlen;
	char *end;
	long p;

	if (colon == NULL)
		return -EINVAL;
	hlen = (size_t)(colon - listen);
	*v6 = false;
	if (hlen >= 2 && listen[0] == '[' && listen[hlen - 1] == ']') {
		h++;
		hlen -= 2;
		*v6 = true;
	}
	if (hlen == 0 || hlen >= cap)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || p < 1 || p > 65535)
		return -EINVAL;
	*port = (int)p;
	return 0;
}

int tka_tls_check(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *what = NULL;
	char why[256] = "";

	if (ctx == NULL) {
		tk_err_set(-ENOMEM, "api: OpenSSL cannot make a TLS context");
		return -ENOMEM;
	}
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		what = "--tls-cert: cannot load the certificate";
	else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		what = "--tls-key: cannot load the private key";
	else if (SSL_CTX_check_private_key(ctx) != 1)
		what = "--tls-key: the key is not the certificate's";
	if (what != NULL)
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
	SSL_CTX_free(ctx);
	if (what == NULL)
		return 0;
	tk_err_set(-EINVAL, "%s (%s, %s): %s", what, cert, key, why[0] != '\0' ? why : "no reason given");
	return -EINVAL;
}

struct tka_server *tka_server_start(struct tka_ctx *c, const struct tka_server_opts *o)
{
	struct tka_server *s = calloc(1, sizeof(*s));
	struct lws_context_creation_info info;
	struct rlimit rl;
	int port;
	bool v6;

	if (s == NULL) {
		tk_err_set(-ENOMEM, "api: out of memory");
		return NULL;
	}
	s->c = c;
	if (tka__split_listen(o->listen, s->iface, sizeof(s->iface), &port, &v6) < 0) {
		tk_err_set(-EINVAL, "api: '%s' is not HOST:PORT", o->listen);
		free(s);
		return NULL;
	}
	/* Every connection is a descriptor: the file limit is --max-connections
	 * (and a few for the process), and lws sizes its table by it.  A table
	 * of another size than the limit (fd_limit_per_thread) makes lws 4.1
	 * look every ready socket up by a scan of the whole table. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max < o->max_connections + 64u ? rl.rlim_max : o->max_connections + 64u;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	lws_set_log_level(LLL_ERR, tka__lws_log);
	memset(&info, 0, sizeof(info));
	info.port = port;
	/* 0.0.0.0 and :: are every address: lws binds all when iface is NULL. */
	info.iface = strcmp(s->iface, "0.0.0.0") == 0 || strcmp(s->iface, "::") == 0 ? NULL : s->iface;
	info.protocols = tka__protocols;
	info.user = s;
	info.options = v6 ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6;
	info.keepalive_timeout = (int)((o->keep_alive_ns + 999999999LL) / 1000000000LL);
	info.timeout_secs = 10; /* a request's headers or body must arrive within it */
	info.fd_limit_per_thread = 0; /* the file limit, above */
	info.max_http_header_data = TKA_HEADER_DATA;
	/* A header table per connection that is sending its headers, so
	 * slow senders cannot hold the others' (the tables are made on demand). */
	info.max_http_header_pool = (unsigned short)(o->max_connections < 65535 ? o->max_connections : 65535);
	info.count_threads = 1;
	if (o->tls_cert != NULL) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = o->tls_cert;
		info.ssl_private_key_filepath = o->tls_key;
		info.alpn = "http/1.1";
		/* TLS 1.2 and 1.3 only, whatever openssl.cnf allows. */
		info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
	}
	/* A WebSocket upgrade that names no subprotocol is the stream's. */
	static const struct lws_protocol_vhost_options pvo_default = { NULL, NULL, "default", "1" };
	static const struct lws_protocol_vhost_options pvo = { NULL, &pvo_default, "tickd-stream", "" };
	info.pvo = &pvo;
	s->lws = lws_create_context(&info);
	if (s->lws == NULL) {
		tk_err_set(-EADDRINUSE, "api: cannot serve on %s (in use, not an address of this host%s)",
			   o->listen, o->tls_cert != NULL ? ", or the certificate or key cannot be loaded" : "");
		free(s);
		return NULL;
	}
	if (tka_ws_open(&s->ws, c, o->ws_max_clients, o->ws_max_per_address, o->ws_max_lag) < 0) {
		lws_context_destroy(s->lws);
		tka_ws_close(&s->ws);
		free(s);
		return NULL;
	}
	if (pthread_create(&s->waker, NULL, tka__waker, s) == 0)
		s->waker_running = true;
	else
		tk_warn("api: no thread to wake the stream's clients: /ws answers only what they ask");
	if (pthread_create(&s->thread, NULL, tka__loop, s) != 0) {
		atomic_store_explicit(&s->stop, true, memory_order_release);
		if (s->waker_running)
			pthread_join(s->waker, NULL); /* it reads s */
		lws_context_destroy(s->lws);
		tka_ws_close(&s->ws);
		tk_err_set(-EAGAIN, "api: cannot start the server thread");
		free(s);
		return NULL;
	}
	return s;
}

void tka_server_stop(struct tka_server *s)
{
	if (s == NULL)
		return;
	atomic_store_explicit(&s->stop, true, memory_order_release);
	lws_cancel_service(s->lws);
	pthread_join(s->thread, NULL);
	if (s->waker_running)
		pthread_join(s->waker, NULL);
	lws_context_destroy(s->lws);
	tka_ws_close(&s->ws);
	free(s->mem);
	free(s);
}

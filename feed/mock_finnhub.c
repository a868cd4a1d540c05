/*
 * tickd mock-finnhub: a Finnhub look-alike on libwebsockets, for tests and
 * for demos of the real feed path without a network.
 *
 * It speaks Finnhub's protocol over a real socket: the token in the URL's
 * query (?token=) is checked at the upgrade (HTTP 401 if wrong), the client
 * sends {"type":"subscribe","symbol":S} / unsubscribe, and the server
 * sends trade messages only for the symbols that connection subscribed,
 * {"type":"ping"} every few seconds, and {"type":"error","msg":...} past
 * --max-symbols subscriptions, as Finnhub does past ~50.  Trades come from
 * the synthetic generator (its symbols: AAPL, MSFT, ..., SYM00009, ...) at
 * --rate, or from a recording (--replay FILE), filtered per connection.
 * Faults on demand: drop every connection every N ms, a malformed message
 * every Nth, an error message every N ms, a stall (nothing at all, not
 * even pings) of N ms after M ms, and HTTP 429 for the first N upgrades.
 * GET /api/v1/quote?symbol=S&token=T answers Finnhub's quote schema
 * (c, d, dp, h, l, o, pc, t) from the generator's prices.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libwebsockets.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "common/json.h"
#include "common/msg.h"
#include "common/opts.h"
#include "feed/fh_parse.h"
#include "feed/recording.h"
#include "feed/synth.h"
#include "feed/cmd.h"

#define TK_MOCK_MAX_CONNS 64
#define TK_MOCK_QUEUE 1024      /* messages waiting per connection */
#define TK_MOCK_BATCH 100       /* trades per message at most */
#define TK_MOCK_MSG_MAX 16384
#define TK_MOCK_PROBES 65536    /* probe mode: trades due per connection, not yet sent */

struct tk_mock_cfg {
	int port;
	const char *bind;
	const char *token;
	const char *replay;
	double rate;
	uint32_t nsymbols;
	uint64_t seed;
	int64_t batch_ns;
	int64_t ping_ns;
	uint32_t max_symbols;
	int64_t drop_every_ns;
	uint64_t malformed_every;
	int64_t error_every_ns;
	int64_t stall_after_ns;
	int64_t stall_ns;
	uint32_t reject_429;
	bool probe; /* latency probe: one trade a message, v = send time */
	const char *tls_cert; /* wss:// with this certificate and key */
	const char *tls_key;
};

/* One WebSocket connection (lws per-session data). */
struct tk_mock_conn {
	struct lws *wsi;
	uint8_t *subscribed; /* [nsymbols] for the generator; names for a replay */
	char (*names)[32];   /* replay: subscribed names */
	uint32_t nsub;
	char *queue[TK_MOCK_QUEUE];
	uint32_t qhead, qtail;
	uint64_t dropped;
	uint32_t *probe_sym; /* probe mode: the symbols of the trades due, not yet sent */
	uint32_t probe_head, probe_tail;
	bool closing;
};

struct tk_mock_quote {
	double open, high, low, last, prev_close;
	int64_t t_ns;
};

static struct tk_mock {
	struct tk_mock_cfg cfg;
	struct lws_context *ctx;
	struct tk_synth gen;
	struct tk_synth_trade pending; /* the next trade, not due yet */
	struct tk_mock_quote quote[TK_SYNTH_MAX_SYMBOLS];
	struct tk_mock_conn *conns[TK_MOCK_MAX_CONNS];
	uint32_t nconns;
	struct tk_fh_parser *parser;
	struct tk_rec_reader replay;
	bool replay_open;
	int64_t replay_offset; /* added to recorded receive times to play them now */
	int64_t replay_next;   /* receive time of the message read, INT64_MIN: none */
	const char *replay_msg;
	size_t replay_len;
	int64_t started;
	uint64_t sent;
	lws_sorted_usec_list_t sul_ping, sul_drop, sul_error;
	pthread_t pacer;
	atomic_bool batch_due; /* the pacer's tick, taken by the loop */
} M;

static volatile sig_atomic_t tk__mock_stop;

static void on_signal(int sig)
{
	(void)sig;
	tk__mock_stop = 1;
	if (M.ctx != NULL)
		lws_cancel_service(M.ctx);
}

static bool tk__stalled(void)
{
	int64_t t = tk_mono_ns() - M.started;

	return M.cfg.stall_ns > 0 && t >= M.cfg.stall_after_ns &&
	       t < M.cfg.stall_after_ns + M.cfg.stall_ns;
}

/* Queue a text message for a connection (copied) and ask to write. */
static void tk__send(struct tk_mock_conn *c, const char *text, size_t len)
{
	char *m;

	if (c->qtail - c->qhead == TK_MOCK_QUEUE) {
		c->dropped++; /* a client too slow to read: its messages are dropped */
		return;
	}
	m = malloc(LWS_PRE + len + 1);
	if (m == NULL)
		return;
	memcpy(m + LWS_PRE, text, len);
	m[LWS_PRE + len] = '\0';
	c->queue[c->qtail++ % TK_MOCK_QUEUE] = m;
	lws_callback_on_writable(c->wsi);
}

static void tk__send_all(const char *text)
{
	uint32_t i;

	for (i = 0; i < M.nconns; i++)
		tk__send(M.conns[i], text, strlen(text));
}

/* A trade message for one connection; every malformed_every-th is cut short. */
static void tk__send_trades(struct tk_mock_conn *c, struct tk_buf *b)
{
	tk_buf_puts(b, "],\"type\":\"trade\"}");
	if (M.cfg.malformed_every > 0 && ++M.sent % M.cfg.malformed_every == 0)
		b->len = b->len / 2; /* truncated JSON: the client must count it and go on */
	tk__send(c, b->p, b->len);
}

static void tk__trade_json(struct tk_buf *b, const char *sym, double price, double size,
			   int64_t ts_ns)
{
	tk_buf_puts(b, "{\"c\":[\"1\"],\"p\":");
	tk_json_double(b, price);
	tk_buf_puts(b, ",\"s\":");
	tk_json_str(b, sym, strlen(sym));
	tk_buf_printf(b, ",\"t\":%lld,\"v\":", (long long)(ts_ns / 1000000));
	tk_json_double(b, size);
	tk_buf_puts(b, "}");
}

/* ------------------------------------------------------------ generator */

static void tk__quote_update(uint32_t s, double price, int64_t ts)
{
	struct tk_mock_quote *q = &M.quote[s];

	if (q->t_ns / (86400 * 1000000000LL) != ts / (86400 * 1000000000LL) || q->t_ns == 0) {
		q->prev_close = q->t_ns == 0 ? price : q->last;
		q->open = q->high = q->low = price;
	}
	q->high = price > q->high ? price : q->high;
	q->low = price < q->low ? price : q->low;
	q->last = price;
	q->t_ns = ts;
}

/* The generator's trades due by now, as one batch per connection. */
static void tk__batch_synth(int64_t now)
{
	static char mem[TK_MOCK_MAX_CONNS][TK_MOCK_MSG_MAX];
	struct tk_buf bufs[TK_MOCK_MAX_CONNS];
	uint32_t count[TK_MOCK_MAX_CONNS] = { 0 }, i;

	for (i = 0; i < M.nconns; i++) {
		tk_buf_init(&bufs[i], mem[i], sizeof(mem[i]));
		tk_buf_puts(&bufs[i], "{\"data\":[");
	}
	while (M.pending.ts_ns <= now) {
		struct tk_synth_trade *t = &M.pending;
		double price = round(t->price * 100) / 100;

		tk__quote_update(t->symbol, price, t->ts_ns);
		for (i = 0; i < M.nconns; i++) {
			struct tk_mock_conn *c = M.conns[i];

			if (M.cfg.probe) {
				/* Every generator symbol to every subscribed connection:
				 * a latency probe over --symbols N needs no N subscriptions
				 * (the feed takes at most 4,096). */
				if (c->nsub == 0 || c->probe_tail - c->probe_head == TK_MOCK_PROBES) {
					c->dropped += c->nsub > 0;
					continue;
				}
				c->probe_sym[c->probe_tail++ % TK_MOCK_PROBES] = t->symbol;
				lws_callback_on_writable(c->wsi);
				continue;
			}
			if (c->subscribed == NULL || !c->subscribed[t->symbol])
				continue;
			if (count[i] > 0)
				tk_buf_puts(&bufs[i], ",");
			tk__trade_json(&bufs[i], tk_synth_symbol(&M.gen, t->symbol), price, t->size,
				       t->ts_ns);
			if (++count[i] == TK_MOCK_BATCH) {
				tk__send_trades(c, &bufs[i]);
				tk_buf_init(&bufs[i], mem[i], sizeof(mem[i]));
				tk_buf_puts(&bufs[i], "{\"data\":[");
				count[i] = 0;
			}
		}
		tk_synth_next(&M.gen, &M.pending);
	}
	for (i = 0; i < M.nconns; i++)
		if (count[i] > 0)
			tk__send_trades(M.conns[i], &bufs[i]);
}

/* ------------------------------------------------------------ replay */

struct tk_mock_fan {
	struct tk_buf bufs[TK_MOCK_MAX_CONNS];
	uint32_t count[TK_MOCK_MAX_CONNS];
};

static bool tk__names_has(const struct tk_mock_conn *c, const char *s, size_t n)
{
	uint32_t i;

	for (i = 0; i < c->nsub; i++)
		if (strlen(c->names[i]) == n && memcmp(c->names[i], s, n) == 0)
			return true;
	return false;
}

static void tk__fan_trade(void *ctx, const struct tk_fh_trade *t)
{
	struct tk_mock_fan *f = ctx;
	char sym[32];
	uint32_t i;

	memcpy(sym, t->symbol, t->symbol_len);
	sym[t->symbol_len] = '\0';
	for (i = 0; i < M.nconns; i++) {
		if (!tk__names_has(M.conns[i], t->symbol, t->symbol_len))
			continue;
		if (f->count[i]++ > 0)
			tk_buf_puts(&f->bufs[i], ",");
		tk__trade_json(&f->bufs[i], sym, t->price, t->size, t->ts_ns);
	}
}

/* Recorded messages due by now: trade messages filtered per connection,
 * others (pings, errors) to everyone as they were. */
static void tk__batch_replay(int64_t now)
{
	static char mem[TK_MOCK_MAX_CONNS][TK_MOCK_MSG_MAX];
	struct tk_mock_fan fan;
	struct tk_fh_msg m;
	uint32_t i;
	int rc;

	while (M.replay_open) {
		if (M.replay_next == INT64_MIN) {
			int64_t recv;

			rc = tk_rec_next(&M.replay, &recv, &M.replay_msg, &M.replay_len);
			if (rc == 0) {
				tk_info("replay finished: the connections stay open");
				tk_rec_close(&M.replay);
				M.replay_open = false;
				return;
			}
			if (rc < 0)
				continue;
			if (recv == INT64_MIN)
				recv = M.replay_next != INT64_MIN ? M.replay_next : 0;
			if (M.replay_offset == INT64_MIN)
				M.replay_offset = now - recv;
			M.replay_next = recv + M.replay_offset;
		}
		if (M.replay_next > now)
			return;
		memset(&fan, 0, sizeof(fan));
		for (i = 0; i < M.nconns; i++) {
			tk_buf_init(&fan.bufs[i], mem[i], sizeof(mem[i]));
			tk_buf_puts(&fan.bufs[i], "{\"data\":[");
		}
		if (tk_fh_parse(M.parser, M.replay_msg, M.replay_len, tk__fan_trade, &fan, &m) ==
		    TK_FH_TRADES) {
			for (i = 0; i < M.nconns; i++)
				if (fan.count[i] > 0)
					tk__send_trades(M.conns[i], &fan.bufs[i]);
		} else {
			for (i = 0; i < M.nconns; i++)
				tk__send(M.conns[i], M.replay_msg, M.replay_len);
		}
		M.replay_next = INT64_MIN;
	}
}

/* ------------------------------------------------------------ timers */

static void tk__on_batch(void)
{
	int64_t now = tk_wall_ns();

	if (!tk__stalled()) {
		if (M.cfg.replay != NULL)
			tk__batch_replay(now);
		else
			tk__batch_synth(now);
	}
}

/*
 * The batch clock: a thread asleep until each --batch-ms tick that then
 * interrupts the loop's poll (LWS_CALLBACK_EVENT_WAIT_CANCELLED runs the
 * batch).  Not an lws timer: lws polls with the time to its next timer in
 * whole milliseconds, 0 in the last one, so a 1 ms timer made the loop spin
 * (poll(0)) from every send to the next tick: most of a core at 1,000
 * messages a second, taken from the feed, the engine and the API the mock
 * is there to measure.  Stopped by pthread_cancel in its sleep (a
 * cancellation point; --batch-ms may be 10 s), never inside lws.
 */
static void *tk__pacer(void *arg)
{
	struct timespec at;
	int old;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &at);
	for (;;) {
		int64_t ns = at.tv_nsec + M.cfg.batch_ns;

		at.tv_sec += ns / 1000000000LL;
		at.tv_nsec = ns % 1000000000LL;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
			;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
		atomic_store(&M.batch_due, true);
		lws_cancel_service(M.ctx);
		pthread_setcancelstate(old, NULL);
	}
	return NULL;
}

static void tk__on_ping(lws_sorted_usec_list_t *sul)
{
	if (!tk__stalled())
		tk__send_all("{\"type\":\"ping\"}");
	lws_sul_schedule(M.ctx, 0, sul, tk__on_ping, M.cfg.ping_ns / 1000);
}

static void tk__on_drop(lws_sorted_usec_list_t *sul)
{
	uint32_t i;

	if (M.nconns > 0)
		tk_info("fault: dropping %u connection(s)", M.nconns);
	for (i = 0; i < M.nconns; i++) {
		M.conns[i]->closing = true;
		lws_callback_on_writable(M.conns[i]->wsi);
	}
	lws_sul_schedule(M.ctx, 0, sul, tk__on_drop, M.cfg.drop_every_ns / 1000);
}

static void tk__on_error(lws_sorted_usec_list_t *sul)
{
	if (!tk__stalled())
		tk__send_all("{\"type\":\"error\",\"msg\":\"mock fault: an error message\"}");
	lws_sul_schedule(M.ctx, 0, sul, tk__on_error, M.cfg.error_every_ns / 1000);
}

/* ------------------------------------------------------------ protocol */

static int tk__http_json(struct lws *wsi, unsigned status, const char *body)
{
	uint8_t buf[LWS_PRE + 2048], *start = &buf[LWS_PRE], *p = start, *end = &buf[sizeof(buf) - 1];
	size_t len = strlen(body);

	if (lws_add_http_common_headers(wsi, status, "application/json", len, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	memcpy(start, body, len);
	if (lws_write(wsi, start, len, LWS_WRITE_HTTP_FINAL) != (int)len)
		return 1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int tk__http(struct lws *wsi, const char *path)
{
	char symbuf[64], tokbuf[128], body[512];
	const char *sym, *token;
	uint32_t i;

	if (strcmp(path, "/api/v1/quote") != 0)
		return tk__http_json(wsi, HTTP_STATUS_NOT_FOUND, "{\"error\":\"not found\"}");
	token = lws_get_urlarg_by_name(wsi, "token=", tokbuf, sizeof(tokbuf));
	if (token == NULL || strcmp(token, M.cfg.token) != 0)
		return tk__http_json(wsi, HTTP_STATUS_UNAUTHORIZED,
				     "{\"error\":\"Invalid API key\"}");
	sym = lws_get_urlarg_by_name(wsi, "symbol=", symbuf, sizeof(symbuf));
	if (sym == NULL)
		return tk__http_json(wsi, HTTP_STATUS_BAD_REQUEST, "{\"error\":\"Missing symbol\"}");
	for (i = 0; i < M.cfg.nsymbols; i++)
		if (strcmp(tk_synth_symbol(&M.gen, i), sym) == 0 && M.quote[i].t_ns != 0) {
			const struct tk_mock_quote *q = &M.quote[i];
			struct tk_buf b;

			tk_buf_init(&b, body, sizeof(body));
			tk_buf_puts(&b, "{\"c\":");
			tk_json_double(&b, q->last);
			tk_buf_puts(&b, ",\"d\":");
			tk_json_double(&b, q->last - q->prev_close);
			tk_buf_puts(&b, ",\"dp\":");
			tk_json_double(&b, 100 * (q->last - q->prev_close) / q->prev_close);
			tk_buf_puts(&b, ",\"h\":");
			tk_json_double(&b, q->high);
			tk_buf_puts(&b, ",\"l\":");
			tk_json_double(&b, q->low);
			tk_buf_puts(&b, ",\"o\":");
			tk_json_double(&b, q->open);
			tk_buf_puts(&b, ",\"pc\":");
			tk_json_double(&b, q->prev_close);
			tk_buf_printf(&b, ",\"t\":%lld}", (long long)(q->t_ns / 1000000000LL));
			return tk__http_json(wsi, HTTP_STATUS_OK, body);
		}
	/* Finnhub answers an unknown symbol with zeros. */
	return tk__http_json(wsi, HTTP_STATUS_OK,
			     "{\"c\":0,\"d\":null,\"dp\":null,\"h\":0,\"l\":0,\"o\":0,\"pc\":0,\"t\":0}");
}

/*
 * Refuse an upgrade with an HTTP status.  lws has no way to answer a
 * refused upgrade (lws_return_http_status there is lost when the
 * connection closes), so the response goes straight to the plain-TCP
 * socket: the mock is plain ws.
 */
static int tk__refuse(struct lws *wsi, unsigned status, const char *reason, const char *body)
{
	char resp[512];

	if (M.cfg.tls_cert != NULL) {
		/* Under TLS the raw socket is not ours to write: just close. */
		tk_info("refusing an upgrade (%u %s) by closing the TLS connection", status, reason);
		return -1;
	}
	int n = snprintf(resp, sizeof(resp),
			 "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n%s", status, reason, strlen(body), body);

	if (send(lws_get_socket_fd(wsi), resp, (size_t)n, MSG_NOSIGNAL) != n)
		tk_warn("could not send the %u response", status);
	return -1;
}

static void tk__subscribe(struct tk_mock_conn *c, int kind, const char *sym)
{
	uint32_t i, idx = UINT32_MAX;

	for (i = 0; i < M.cfg.nsymbols; i++)
		if (strcmp(tk_synth_symbol(&M.gen, i), sym) == 0)
			idx = i;
	if (kind == 1) {
		if (tk__names_has(c, sym, strlen(sym)))
			return;
		if (c->nsub == M.cfg.max_symbols) {
			const char *e = "{\"type\":\"error\",\"msg\":\"Subscribing to too many symbols\"}";

			tk__send(c, e, strlen(e));
			return;
		}
		snprintf(c->names[c->nsub++], 32, "%s", sym);
		if (idx != UINT32_MAX)
			c->subscribed[idx] = 1;
		return;
	}
	for (i = 0; i < c->nsub; i++)
		if (strcmp(c->names[i], sym) == 0) {
			memmove(c->names[i], c->names[i + 1], (c->nsub - i - 1) * sizeof(c->names[0]));
			c->nsub--;
			break;
		}
	if (idx != UINT32_MAX)
		c->subscribed[idx] = 0;
}

static int tk__cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		  size_t len)
{
	struct tk_mock_conn *c = user;
	const char *token;
	char tokbuf[128];
	uint32_t i;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (atomic_exchange(&M.batch_due, false))
			tk__on_batch();
		return 0;
	case LWS_CALLBACK_HTTP:
		return tk__http(wsi, (const char *)in);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (M.cfg.reject_429 > 0) {
			M.cfg.reject_429--;
			tk_info("fault: refusing an upgrade with 429");
			return tk__refuse(wsi, 429, "Too Many Requests",
					  "{\"error\":\"API limit reached. Please try again later.\"}");
		}
		token = lws_get_urlarg_by_name(wsi, "token=", tokbuf, sizeof(tokbuf));
		if (token == NULL || strcmp(token, M.cfg.token) != 0)
			return tk__refuse(wsi, 401, "Unauthorized", "{\"error\":\"Invalid API key\"}");
		if (M.nconns == TK_MOCK_MAX_CONNS)
			return 1;
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		memset(c, 0, sizeof(*c));
		c->wsi = wsi;
		c->subscribed = calloc(M.cfg.nsymbols, 1);
		c->names = calloc(M.cfg.max_symbols + 1, sizeof(*c->names));
		if (M.cfg.probe)
			c->probe_sym = calloc(TK_MOCK_PROBES, sizeof(*c->probe_sym));
		if (c->subscribed == NULL || c->names == NULL || (M.cfg.probe && c->probe_sym == NULL))
			return -1;
		M.conns[M.nconns++] = c;
		tk_info("client connected (%u now)", M.nconns);
		return 0;
	case LWS_CALLBACK_RECEIVE: {
		char sym[32], why[128];
		int kind;

		if (!lws_is_first_fragment(wsi) || !lws_is_final_fragment(wsi))
			return 0; /* Finnhub's requests are small: fragments are ignored */
		kind = tk_fh_parse_request(M.parser, in, len, sym, why, sizeof(why));
		if (kind < 0) {
			const char *e = "{\"type\":\"error\",\"msg\":\"Invalid message\"}";

			tk__send(c, e, strlen(e));
			return 0;
		}
		tk__subscribe(c, kind, sym);
		return 0;
	}
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (c->closing) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"fault", 5);
			return -1;
		}
		if (c->probe_tail != c->probe_head && c->qhead == c->qtail) {
			/* Every probe due, back to back (a message a write, no poll
			 * between them, as a plain sender would), until lws holds
			 * back a partial write or 64 are out. */
			for (i = 0; i < 64 && c->probe_tail != c->probe_head && !lws_partial_buffered(wsi); i++) {
				/* The send time, stamped as late as possible: CLOCK_MONOTONIC
				 * ns modulo 1e12 in the size field, which a double holds exactly. */
				char m[LWS_PRE + 256];
				struct tk_buf b;
				const char *sym;
				int64_t now = tk_mono_ns();

				tk_buf_init(&b, m + LWS_PRE, sizeof(m) - LWS_PRE);
				tk_buf_puts(&b, "{\"data\":[");
				sym = tk_synth_symbol(&M.gen, c->probe_sym[c->probe_head++ % TK_MOCK_PROBES]);
				tk__trade_json(&b, sym, 100.25, (double)(now % 1000000000000LL), tk_wall_ns());
				tk_buf_puts(&b, "],\"type\":\"trade\"}");
				if (lws_write(wsi, (unsigned char *)m + LWS_PRE, b.len, LWS_WRITE_TEXT) < (int)b.len)
					return -1;
			}
			if (c->probe_tail != c->probe_head)
				lws_callback_on_writable(wsi);
			return 0;
		}
		if (c->qhead != c->qtail) {
			char *m = c->queue[c->qhead++ % TK_MOCK_QUEUE];
			size_t n = strlen(m + LWS_PRE);
			int w = lws_write(wsi, (unsigned char *)m + LWS_PRE, n, LWS_WRITE_TEXT);

			free(m);
			if (w < (int)n)
				return -1;
			if (c->qhead != c->qtail || c->probe_tail != c->probe_head)
				lws_callback_on_writable(wsi);
		}
		return 0;
	case LWS_CALLBACK_CLOSED:
		for (i = 0; i < M.nconns; i++)
			if (M.conns[i] == c) {
				M.conns[i] = M.conns[--M.nconns];
				break;
			}
		while (c->qhead != c->qtail)
			free(c->queue[c->qhead++ % TK_MOCK_QUEUE]);
		free(c->subscribed);
		free(c->names);
		free(c->probe_sym);
		c->subscribed = NULL;
		c->names = NULL;
		c->probe_sym = NULL;
		tk_info("client disconnected (%u now)", M.nconns);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols tk__protocols[] = {
	{ "finnhub", tk__cb, sizeof(struct tk_mock_conn), 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* ------------------------------------------------------------ command */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd mock-finnhub --port P [options]\n"
		"A Finnhub look-alike WebSocket server (ws://HOST:P/?token=T) for tests and demos.\n\n"
		"  --port P             listen port (0: any free one, printed)\n"
		"  --bind ADDR          listen address (default 127.0.0.1)\n"
		"  --token T            the API key it accepts (default: $FINNHUB_API_TOKEN or \"test\")\n"
		"  --rate R             synthetic trades per second, all symbols (default 200)\n"
		"  --symbols N          synthetic symbols (default 50: AAPL, MSFT, ..., SYM00009, ...)\n"
		"  --seed S             generator seed (default 1)\n"
		"  --replay FILE        send a recording's messages instead, at their pace\n"
		"  --batch-ms MS        how often trades go out (default 20)\n"
		"  --ping-ms MS         ping period (default 10000)\n"
		"  --max-symbols N      subscriptions per connection before the error (default 50)\n"
		"  --tls-cert PEM --tls-key PEM   serve wss:// with this certificate\n"
		"  --probe              latency probes: one trade a message, its size the send time\n"
		"                       (CLOCK_MONOTONIC ns modulo 1e12), for bench/feed and bench/e2e;\n"
		"                       every one of the --symbols goes to every connection that\n"
		"                       subscribed any symbol\n"
		"faults:\n"
		"  --drop-every MS      close every connection every MS\n"
		"  --malformed-every N  cut every Nth trade message in half\n"
		"  --error-every MS     send an error message every MS\n"
		"  --stall-after MS --stall MS   send nothing at all for a while\n"
		"  --reject-429 N       answer the first N upgrades with HTTP 429\n");
}

int tk_cmd_mock_finnhub(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, 0, 'p' },        { "bind", required_argument, 0, 'B' },
		{ "token", required_argument, 0, 'T' },       { "rate", required_argument, 0, 'r' },
		{ "symbols", required_argument, 0, 'n' },     { "seed", required_argument, 0, 's' },
		{ "replay", required_argument, 0, 'R' },      { "batch-ms", required_argument, 0, 'b' },
		{ "ping-ms", required_argument, 0, 'P' },     { "max-symbols", required_argument, 0, 'm' },
		{ "drop-every", required_argument, 0, 'd' },  { "malformed-every", required_argument, 0, 'M' },
		{ "error-every", required_argument, 0, 'e' }, { "stall-after", required_argument, 0, 'a' },
		{ "stall", required_argument, 0, 'S' },       { "reject-429", required_argument, 0, 'j' },
		{ "probe", no_argument, 0, 'X' },           { "tls-cert", required_argument, 0, 'C' },
		{ "tls-key", required_argument, 0, 'K' },
		{ "help", no_argument, 0, 'h' },              { 0, 0, 0, 0 }
	};
	struct tk_mock_cfg *cfg = &M.cfg;
	struct lws_context_creation_info info;
	struct tk_synth_cfg sc;
	struct tk_fh_limits lim;
	int c;

	memset(&M, 0, sizeof(M));
	cfg->port = -1;
	cfg->bind = "127.0.0.1";
	cfg->token = "test"; /* FINNHUB_API_TOKEN (...) or the file arrive as --token */
	cfg->rate = 200;
	cfg->nsymbols = 50;
	cfg->seed = 1;
	cfg->batch_ns = 20 * 1000000LL;
	cfg->ping_ns = 10000 * 1000000LL;
	cfg->max_symbols = 50;
	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': cfg->port = (int)tk_opt_u64("--port", optarg, 0, 65535); break;
		case 'B': cfg->bind = optarg; break;
		case 'T': cfg->token = optarg; break;
		case 'r': cfg->rate = tk_opt_double("--rate", optarg, 1e-3, 1e7); break;
		case 'n': cfg->nsymbols = (uint32_t)tk_opt_u64("--symbols", optarg, 1, TK_SYNTH_MAX_SYMBOLS); break;
		case 's': cfg->seed = tk_opt_u64("--seed", optarg, 0, UINT64_MAX); break;
		case 'R': cfg->replay = optarg; break;
		case 'b': cfg->batch_ns = (int64_t)tk_opt_u64("--batch-ms", optarg, 1, 10000) * 1000000; break;
		case 'P': cfg->ping_ns = (int64_t)tk_opt_u64("--ping-ms", optarg, 10, 3600000) * 1000000; break;
		case 'm': cfg->max_symbols = (uint32_t)tk_opt_u64("--max-symbols", optarg, 1, 100000); break;
		case 'd': cfg->drop_every_ns = (int64_t)tk_opt_u64("--drop-every", optarg, 10, 86400000) * 1000000; break;
		case 'M': cfg->malformed_every = tk_opt_u64("--malformed-every", optarg, 1, UINT64_MAX); break;
		case 'e': cfg->error_every_ns = (int64_t)tk_opt_u64("--error-every", optarg, 10, 86400000) * 1000000; break;
		case 'a': cfg->stall_after_ns = (int64_t)tk_opt_u64("--stall-after", optarg, 0, 86400000) * 1000000; break;
		case 'S': cfg->stall_ns = (int64_t)tk_opt_u64("--stall", optarg, 1, 86400000) * 1000000; break;
		case 'X': cfg->probe = true; break;
		case 'C': cfg->tls_cert = optarg; break;
		case 'K': cfg->tls_key = optarg; break;
		case 'j': cfg->reject_429 = (uint32_t)tk_opt_u64("--reject-429", optarg, 0, 1000000); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (cfg->port < 0)
		tk_opt_fail("--port", "missing (0 picks a free port)");
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
		tk_opt_fail("--tls-cert", "give both --tls-cert and --tls-key");
	tk_msg_set_role("mock");
	tk_synth_cfg_default(&sc);
	sc.seed = cfg->seed;
	sc.nsymbols = cfg->nsymbols;
	sc.rate = cfg->rate;
	sc.start_ns = tk_wall_ns();
	if (tk_synth_init(&M.gen, &sc) < 0)
		tk_opt_fail("mock-finnhub", "%s", tk_err_msg());
	tk_synth_next(&M.gen, &M.pending);
	tk_fh_limits_default(&lim);
	M.parser = tk_fh_parser_new(&lim);
	M.replay_next = INT64_MIN;
	M.replay_offset = INT64_MIN;
	if (cfg->replay != NULL) {
		if (tk_rec_open(&M.replay, cfg->replay) < 0)
			tk_opt_fail("--replay", "%s", tk_err_msg());
		M.replay_open = true;
	}

	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = cfg->port;
	info.iface = cfg->bind;
	info.protocols = tk__protocols;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	if (cfg->tls_cert != NULL) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg->tls_cert;
		info.ssl_private_key_filepath = cfg->tls_key;
	}
	if (cfg->port == 0) {
		/* lws has no "any port": find one, then listen on it. */
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof(a);

		inet_pton(AF_INET, cfg->bind, &a.sin_addr);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
			tk_error("cannot find a free port on %s: %s", cfg->bind, strerror(errno));
			return 1;
		}
		info.port = ntohs(a.sin_port);
		close(fd);
	}
	M.ctx = lws_create_context(&info);
	if (M.ctx == NULL) {
		tk_error("cannot listen on %s:%d (in use?)", cfg->bind, info.port);
		return 1;
	}
	M.started = tk_mono_ns();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("mock-finnhub: listening on %s://%s:%d/?token=%s\n", cfg->tls_cert ? "wss" : "ws",
	       cfg->bind, info.port, "<token>");
	fflush(stdout);
	if (pthread_create(&M.pacer, NULL, tk__pacer, NULL) != 0) {
		tk_error("cannot start the batch clock's thread");
		lws_context_destroy(M.ctx);
		return 1;
	}
	lws_sul_schedule(M.ctx, 0, &M.sul_ping, tk__on_ping, cfg->ping_ns / 1000);
	if (cfg->drop_every_ns > 0)
		lws_sul_schedule(M.ctx, 0, &M.sul_drop, tk__on_drop, cfg->drop_every_ns / 1000);
	if (cfg->error_every_ns > 0)
		lws_sul_schedule(M.ctx, 0, &M.sul_error, tk__on_error, cfg->error_every_ns / 1000);
	while (!tk__mock_stop)
		if (lws_service(M.ctx, 0) < 0)
			break;
	pthread_cancel(M.pacer);
	pthread_join(M.pacer, NULL);
	lws_context_destroy(M.ctx);
	tk_fh_parser_free(M.parser);
	if (M.replay_open)
		tk_rec_close(&M.replay);
	return 0;
}

#include "feed/finnhub.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/json.h"
#include "common/msg.h"
#include "feed/backoff.h"
#include "shm/symbol.h"

#define TK_FH_TOO_MANY "Subscribing to too many symbols"

int tk_url_parse(const char *url, struct tk_url *out)
{
	const char *p = url, *host, *end;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (strncmp(p, "wss://", 6) == 0) {
		out->tls = 1;
		out->port = 443;
		p += 6;
	} else if (strncmp(p, "ws://", 5) == 0) {
		out->port = 80;
		p += 5;
	} else {
		return tk_err_set(EINVAL, "FINNHUB_WS_URL '%s' is not a ws:// or wss:// URL", url);
	}
	host = p;
	end = host + strcspn(host, ":/?");
	n = (size_t)(end - host);
	if (n == 0 || n >= sizeof(out->host))
		return tk_err_set(EINVAL, "FINNHUB_WS_URL '%s' has no host", url);
	memcpy(out->host, host, n);
	p = end;
	if (*p == ':') {
		char *e;
		long port = strtol(p + 1, &e, 10);

		if (e == p + 1 || port <= 0 || port > 65535)
			return tk_err_set(EINVAL, "FINNHUB_WS_URL '%s' has a bad port", url);
		out->port = (int)port;
		p = e;
	}
	if (*p != '\0' && *p != '/' && *p != '?')
		return tk_err_set(EINVAL, "FINNHUB_WS_URL '%s' is malformed after the host", url);
	n = (size_t)snprintf(out->path, sizeof(out->path), "%s%s", *p == '/' ? "" : "/", p);
	if (n >= sizeof(out->path))
		return tk_err_set(EINVAL, "FINNHUB_WS_URL is too long");
	return 0;
}

/* ---------------------------------------------------- the subscription set */

void tk__fh_subs_init(struct tk_fh_subs *s)
{
	s->nsym = 0;
	s->nsent = 0;
}

int tk__fh_subs_find(const struct tk_fh_subs *s, const char *name)
{
	uint32_t i;

	for (i = 0; i < s->nsym; i++)
		if (strcmp(s->sym[i].name, name) == 0)
			return (int)i;
	return -1;
}

int tk__fh_subs_add(struct tk_fh_subs *s, const char *name)
{
	int k = tk__fh_subs_find(s, name);

	if (k >= 0 && s->sym[k].state == TK_FH_SYM_WANTED)
		return 0;
	if (k < 0) {
		if (s->nsym == TK_FH_MAX_SYMBOLS)
			return -ENOSPC;
		k = (int)s->nsym++;
		snprintf(s->sym[k].name, sizeof(s->sym[k].name), "%s", name);
	}
	s->sym[k].state = TK_FH_SYM_WANTED;
	return 1;
}

int tk__fh_subs_remove(struct tk_fh_subs *s, const char *name)
{
	int k = tk__fh_subs_find(s, name);

	if (k < 0)
		return 0;
	/* Swap-remove: nothing holds an index into sym[].  Its entries in sent[]
	 * stay: an error still on its way for one of them is then put on it
	 * (no longer wanted), not on an older subscribe of a wanted symbol. */
	s->sym[k] = s->sym[--s->nsym];
	return 1;
}

void tk__fh_subs_connected(struct tk_fh_subs *s)
{
	s->nsent = 0;
}

void tk__fh_subs_sent(struct tk_fh_subs *s, const char *name)
{
	if (s->nsent == TK_FH_MAX_SYMBOLS) {
		/* Refusals take the newest: the oldest entry matters least. */
		memmove(&s->sent[0], &s->sent[1], (TK_FH_MAX_SYMBOLS - 1) * sizeof(s->sent[0]));
		s->nsent--;
	}
	snprintf(s->sent[s->nsent].name, sizeof(s->sent[0].name), "%s", name);
	s->sent[s->nsent++].refused = 0;
}

const char *tk__fh_subs_refuse(struct tk_fh_subs *s, bool *wanted)
{
	uint32_t i = s->nsent;
	int k;

	*wanted = false;
	while (i > 0 && s->sent[i - 1].refused)
		i--;
	if (i == 0)
		return NULL;
	s->sent[i - 1].refused = 1;
	k = tk__fh_subs_find(s, s->sent[i - 1].name);
	if (k >= 0 && s->sym[k].state == TK_FH_SYM_WANTED) {
		s->sym[k].state = TK_FH_SYM_REFUSED;
		*wanted = true;
	}
	return s->sent[i - 1].name;
}

uint32_t tk__fh_subs_wanted(const struct tk_fh_subs *s)
{
	uint32_t i, n = 0;

	for (i = 0; i < s->nsym; i++)
		n += s->sym[i].state == TK_FH_SYM_WANTED;
	return n;
}

int tk__fh_request(char *out, size_t cap, size_t *len, bool subscribe, const char *name,
		   size_t namelen)
{
	struct tk_buf b;

	tk_buf_init(&b, out, cap);
	tk_buf_puts(&b, subscribe ? "{\"type\":\"subscribe\",\"symbol\":"
				  : "{\"type\":\"unsubscribe\",\"symbol\":");
	tk_json_str(&b, name, namelen);
	tk_buf_puts(&b, "}");
	*len = b.len;
	return b.overflow ? -ENOSPC : 0;
}

enum tk_fh_ctl_action tk__fh_ctl_apply(struct tk_fh_subs *s, const struct tk_ctl_msg *m,
				       char *why, size_t cap)
{
	int rc;

	if (tk_ctl_msg_check(m, why, cap) < 0)
		return TK_FH_CTL_REJECTED;
	/* tk_ctl_msg_check found the NUL inside arg. */
	if (m->type == TK_CTL_SUBSCRIBE) {
		rc = tk__fh_subs_add(s, m->arg);
		return rc < 0 ? TK_FH_CTL_FULL : rc > 0 ? TK_FH_CTL_SUBSCRIBE : TK_FH_CTL_NONE;
	}
	return tk__fh_subs_remove(s, m->arg) > 0 ? TK_FH_CTL_UNSUBSCRIBE : TK_FH_CTL_NONE;
}

/* ------------------------------------------------------------- the client */

struct tk_fh_req {
	uint8_t subscribe; /* 1 subscribe, 0 unsubscribe */
	char name[32];
};

static struct tk_fh_client {
	const struct tk_fh_client_cfg *cfg;
	struct tk_ingest *g;
	struct tk_ctl_region *ctl;
	volatile sig_atomic_t *stop;
	struct lws_context *ctx;
	struct lws *wsi;
	struct tk_url url;
	char path[1400]; /* url.path with the token: never logged */
	struct tk_fh_subs subs;
	/* requests waiting for the socket to be writable */
	struct tk_fh_req req[TK_FH_MAX_SYMBOLS];
	uint32_t nreq, reqhead;
	char *rx;
	size_t rxlen;
	bool rx_too_big;
	bool connected;
	bool ever_connected;
	int64_t down_since; /* wall ns when the connection was lost */
	int64_t up_since;   /* mono ns */
	int64_t last_rx;    /* mono ns of the last message */
	uint32_t attempt;
	uint64_t rng;
	uint64_t errors_logged;
	uint64_t ctl_logged; /* control requests refused and logged */
	lws_sorted_usec_list_t sul_connect, sul_hb, sul_watch, sul_ctl;
} C;

static double tk__uniform(void)
{
	C.rng ^= C.rng << 13;
	C.rng ^= C.rng >> 7;
	C.rng ^= C.rng << 17;
	return (double)(C.rng >> 11) / 9007199254740992.0;
}

/* lws's own log lines, redacted of any token and routed to ours. */
static void tk__lws_log(int level, const char *line)
{
	char buf[512], *t;
	size_t n;

	snprintf(buf, sizeof(buf), "%s", line);
	for (t = strstr(buf, "token="); t != NULL; t = strstr(t, "token=")) {
		t += 6;
		n = strcspn(t, "& \r\n");
		memset(t, '*', n < 3 ? n : 3);
		memmove(t + (n < 3 ? n : 3), t + n, strlen(t + n) + 1);
	}
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (level & LLL_ERR)
		tk_warn("libwebsockets: %s", buf);
	else
		tk_info("libwebsockets: %s", buf);
}

static void tk__queue(bool subscribe, const char *name)
{
	struct tk_fh_req *r;

	if (C.nreq - C.reqhead == TK_FH_MAX_SYMBOLS) {
		tk_warn("too many requests waiting for the socket: %s %s dropped",
			subscribe ? "subscribe" : "unsubscribe", name);
		return;
	}
	r = &C.req[C.nreq++ % TK_FH_MAX_SYMBOLS];
	r->subscribe = subscribe;
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (C.wsi != NULL && C.connected)
		lws_callback_on_writable(C.wsi);
}

static uint32_t tk__subscribed(void)
{
	return tk__fh_subs_wanted(&C.subs);
}

static void tk__connect(lws_sorted_usec_list_t *sul);

static void tk__schedule_connect(void)
{
	int64_t d = tk_backoff_delay(C.attempt++, C.cfg->backoff_base_ns, C.cfg->backoff_cap_ns,
				     tk__uniform());

	tk_info("reconnecting to %s in %.2f s (attempt %u)", C.url.host, (double)d / 1e9, C.attempt);
	lws_sul_schedule(C.ctx, 0, &C.sul_connect, tk__connect, d / 1000);
}

static void tk__lost(const char *why)
{
	if (C.connected) {
		C.down_since = tk_wall_ns();
		tk_warn("connection to %s lost: %s", C.url.host, why);
		/* A connection that had been up a while starts the backoff over. */
		if (tk_mono_ns() - C.up_since > 2 * 1000000000LL)
			C.attempt = 0;
	}
	C.connected = false;
	C.wsi = NULL;
	if (C.g->stats != NULL)
		C.g->stats->connected = 0;
	if (!*C.stop)
		tk__schedule_connect();
}

static void tk__connect(lws_sorted_usec_list_t *sul)
{
	struct lws_client_connect_info i;

	(void)sul;
	memset(&i, 0, sizeof(i));
	i.context = C.ctx;
	i.address = C.url.host;
	i.port = C.url.port;
	i.path = C.path;
	i.host = C.url.host;
	i.origin = C.url.host;
	i.ssl_connection = C.url.tls ? LCCSCF_USE_SSL : 0;
	i.local_protocol_name = "tickd-finnhub";
	i.pwsi = &C.wsi;
	if (lws_client_connect_via_info(&i) == NULL) {
		C.wsi = NULL;
		tk_warn("cannot start a connection to %s:%d", C.url.host, C.url.port);
		tk__schedule_connect();
	}
}

/* "Subscribing to too many symbols": the newest subscription not yet
 * refused is the one refused (Finnhub stops accepting past its limit). */
static void tk__refused(void)
{
	bool wanted;
	const char *name = tk__fh_subs_refuse(&C.subs, &wanted);

	if (name == NULL)
		return;
	if (C.g->stats != NULL) {
		C.g->stats->subscribe_rejected++;
		C.g->stats->subscribed = tk__subscribed();
	}
	if (wanted)
		tk_error("Finnhub refused %s: too many symbols for this API key (about 50 per "
			 "connection); %u stay subscribed", name, tk__subscribed());
	else
		tk_warn("Finnhub refused %s, unsubscribed since: too many symbols for this API key; "
			"%u stay subscribed", name, tk__subscribed());
}

static void tk__message(const char *buf, size_t len)
{
	struct tk_fh_msg m;

	C.last_rx = tk_mono_ns();
	tk_ingest_message(C.g, tk_wall_ns(), buf, len, &m);
	switch (m.kind) {
	case TK_FH_ERROR:
		if (strstr(m.text, TK_FH_TOO_MANY) != NULL) {
			tk__refused();
		} else if (C.errors_logged++ < 20) {
			tk_warn("Finnhub says: %s", m.text);
		}
		break;
	case TK_FH_INVALID:
		if (C.errors_logged++ < 20)
			tk_warn("message rejected (%s): %s", tk_fh_reason_name(m.reason), m.text);
		break;
	case TK_FH_TRADES:
		if (m.rejected > 0 && C.errors_logged++ < 20)
			tk_warn("%u trade(s) rejected: %s", m.rejected, m.text);
		break;
	default:
		break;
	}
}

static int tk__cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		  size_t len)
{
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		unsigned status = wsi != NULL ? lws_http_client_http_response(wsi) : 0;
		const char *what = in != NULL ? (const char *)in : "no reason given";

		if (status == 401 || status == 403)
			tk_error("Finnhub refused the API key (HTTP %u): check FINNHUB_API_TOKEN", status);
		else if (status == 429)
			tk_error("Finnhub answered HTTP 429 (too many requests): one connection per API "
				 "key; is another client using this key?");
		else if (status != 0)
			tk_warn("connection to %s refused: HTTP %u (%s)", C.url.host, status, what);
		else
			tk_warn("cannot connect to %s:%d: %s", C.url.host, C.url.port, what);
		C.wsi = NULL;
		if (C.connected)
			tk__lost(what);
		else if (!*C.stop)
			tk__schedule_connect();
		return 0;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED: {
		uint32_t i;
		int64_t now = tk_wall_ns();

		C.wsi = wsi;
		C.connected = true;
		C.up_since = C.last_rx = tk_mono_ns();
		tk__fh_subs_connected(&C.subs);
		C.nreq = C.reqhead = 0;
		C.rxlen = 0;
		C.rx_too_big = false;
		if (C.g->stats != NULL) {
			C.g->stats->connected = 1;
			C.g->stats->connects++;
		}
		if (C.ever_connected) {
			if (C.g->stats != NULL)
				C.g->stats->reconnects++;
			tk_ingest_gap(C.g, C.down_since, now, tk__subscribed());
			tk_info("reconnected to %s after %.2f s; subscribing to %u symbols again",
				C.url.host, (double)(now - C.down_since) / 1e9, tk__subscribed());
		} else {
			tk_info("connected to %s; subscribing to %u symbols", C.url.host,
				tk__subscribed());
		}
		C.ever_connected = true;
		for (i = 0; i < C.subs.nsym; i++)
			if (C.subs.sym[i].state == TK_FH_SYM_WANTED)
				tk__queue(true, C.subs.sym[i].name);
		lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		size_t max = C.g->cfg.lim.max_bytes;

		C.g->out.defer_wake = 1; /* woken once, after the service call (tk_finnhub_run) */
		if (lws_is_first_fragment(wsi)) {
			C.rxlen = 0;
			C.rx_too_big = false;
		}
		if (!C.rx_too_big && C.rxlen + len <= max) {
			memcpy(C.rx + C.rxlen, in, len);
			C.rxlen += len;
		} else {
			C.rx_too_big = true;
		}
		if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
			return 0;
		if (C.rx_too_big) {
			C.last_rx = tk_mono_ns();
			tk_ingest_too_large(C.g, tk_wall_ns(), max + 1);
			if (C.errors_logged++ < 20)
				tk_warn("a message over %zu bytes was dropped", max);
			return 0;
		}
		tk__message(C.rx, C.rxlen);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		/* 31 bytes escaped at most 6 each, and the rest: 256 is ample. */
		unsigned char buf[LWS_PRE + 256];
		struct tk_fh_req *r;
		size_t n;

		if (C.reqhead == C.nreq)
			return 0;
		r = &C.req[C.reqhead++ % TK_FH_MAX_SYMBOLS];
		if (tk__fh_request((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE, &n, r->subscribe,
				   r->name, strlen(r->name)) < 0) {
			tk_error("the %s request for %s does not fit its buffer: not sent",
				 r->subscribe ? "subscribe" : "unsubscribe", r->name);
		} else {
			if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
				return -1;
			if (r->subscribe)
				tk__fh_subs_sent(&C.subs, r->name);
		}
		if (C.reqhead != C.nreq)
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_CLOSED:
		tk__lost("closed");
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (wsi == C.wsi)
			C.wsi = NULL;
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols tk__protocols[] = {
	{ "tickd-finnhub", tk__cb, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* Every heartbeat period: the feed clock follows wall time. */
static void tk__on_hb(lws_sorted_usec_list_t *sul)
{
	tk_ingest_clock(C.g, tk_wall_ns());
	lws_sul_schedule(C.ctx, 0, sul, tk__on_hb, C.g->cfg.hb_ns / 1000);
}

/* A connection that went silent is dead, even if TCP has not noticed. */
static void tk__on_watch(lws_sorted_usec_list_t *sul)
{
	if (C.connected && C.wsi != NULL && tk_mono_ns() - C.last_rx > C.cfg->silence_ns) {
		tk_warn("no message from %s for %.1f s: reconnecting", C.url.host,
			(double)(tk_mono_ns() - C.last_rx) / 1e9);
		lws_set_timeout(C.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
	lws_sul_schedule(C.ctx, 0, sul, tk__on_watch, 250 * 1000);
}

/* A refused control request, said in one line: the request as JSON (the
 * writer escapes whatever a producer put there) and why. */
static void tk__ctl_refused(const struct tk_ctl_msg *m, const char *why)
{
	char arg[200];
	struct tk_buf b;

	if (C.g->stats != NULL)
		C.g->stats->ctl_rejected++;
	if (C.ctl_logged++ >= 20) /* a flood is counted, not logged */
		return;
	tk_buf_init(&b, arg, sizeof(arg));
	tk_json_str(&b, m->arg, strnlen(m->arg, sizeof(m->arg)));
	tk_warn("control request %u %s from pid %d refused: %s%s", m->type, arg, (int)m->pid, why,
		C.ctl_logged == 20 ? " (further refusals are only counted: ctl_rejected)" : "");
}

/* Subscribe and unsubscribe requests from `tickd subscribe`, the API, ... */
static void tk__on_ctl(lws_sorted_usec_list_t *sul)
{
	struct tk_ctl_msg msg;
	int rc;

	while (C.ctl != NULL && (rc = tk_ctl_recv(C.ctl, &msg, tk_mono_ns())) != 0) {
		char why[160];

		if (rc < 0) {
			/* Dropped and counted by the ring too (rejected). */
			if (C.g->stats != NULL)
				C.g->stats->ctl_rejected++;
			if (C.ctl_logged++ < 20)
				tk_warn("a control request failed its checksum (written after its "
					"producer lost the slot?): dropped");
			continue;
		}
		switch (tk__fh_ctl_apply(&C.subs, &msg, why, sizeof(why))) {
		case TK_FH_CTL_REJECTED:
			tk__ctl_refused(&msg, why);
			continue;
		case TK_FH_CTL_FULL:
			tk_warn("subscribe %s: already %u symbols", msg.arg, C.subs.nsym);
			continue;
		case TK_FH_CTL_SUBSCRIBE:
			tk_info("subscribe %s (requested by pid %d)", msg.arg, (int)msg.pid);
			tk__queue(true, msg.arg);
			break;
		case TK_FH_CTL_UNSUBSCRIBE:
			tk_info("unsubscribe %s (requested by pid %d)", msg.arg, (int)msg.pid);
			tk__queue(false, msg.arg);
			break;
		case TK_FH_CTL_NONE:
			break;
		}
		if (C.g->stats != NULL)
			C.g->stats->subscribed = tk__subscribed();
	}
	lws_sul_schedule(C.ctx, 0, sul, tk__on_ctl, 50 * 1000);
}

int tk_finnhub_run(struct tk_ingest *g, const struct tk_fh_client_cfg *cfg, char (*symbols)[32],
		   uint32_t nsymbols, struct tk_ctl_region *ctl, int64_t resumed_from,
		   volatile sig_atomic_t *stop)
{
	struct lws_context_creation_info info;
	static const char hex[] = "0123456789ABCDEF";
	size_t at;
	uint32_t i;
	const char *t;

	memset(&C, 0, sizeof(C));
	C.cfg = cfg;
	C.g = g;
	C.ctl = ctl;
	C.stop = stop;
	C.rng = (uint64_t)tk_mono_ns() | 1;
	if (resumed_from > 0) {
		/* A restarted process: its first connection is a reconnect, and
		 * the time since the previous process's last message a gap. */
		C.ever_connected = true;
		C.down_since = resumed_from;
	}
	if (tk_url_parse(cfg->url, &C.url) < 0) {
		tk_error("%s", tk_err_msg());
		return 1;
	}
	/* The token, URL-encoded, in the query. */
	at = (size_t)snprintf(C.path, sizeof(C.path), "%s%stoken=", C.url.path,
			      strchr(C.url.path, '?') != NULL ? "&" : "?");
	for (t = cfg->token; *t != '\0' && at + 4 < sizeof(C.path); t++) {
		unsigned char ch = (unsigned char)*t;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			C.path[at++] = (char)ch;
		} else {
			C.path[at++] = '%';
			C.path[at++] = hex[ch >> 4];
			C.path[at++] = hex[ch & 15];
		}
	}
	C.path[at] = '\0';
	tk__fh_subs_init(&C.subs);
	for (i = 0; i < nsymbols; i++) {
		size_t len = strnlen(symbols[i], sizeof(symbols[i]));
		char why[96], shown[200];
		struct tk_buf b;

		if (tk_symbol_check(symbols[i], len, why, sizeof(why)) < 0) {
			tk_buf_init(&b, shown, sizeof(shown));
			tk_json_str(&b, symbols[i], len);
			tk_error("symbol %s is not valid: it %s", shown, why);
			return 1;
		}
		if (tk__fh_subs_add(&C.subs, symbols[i]) < 0)
			break;
	}
	C.rx = malloc(g->cfg.lim.max_bytes + 1);
	if (C.rx == NULL) {
		tk_error("out of memory for the receive buffer");
		return 1;
	}
	if (nsymbols > 50)
		tk_warn("%u symbols: Finnhub accepts about 50 per connection (per API key); the "
			"ones it refuses are reported and counted", nsymbols);

	lws_set_log_level(LLL_ERR | LLL_WARN, tk__lws_log);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = tk__protocols;
	info.fd_limit_per_thread = 8;
	info.client_ssl_ca_filepath = cfg->ca_file; /* NULL: OpenSSL's default paths */
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	C.ctx = lws_create_context(&info);
	if (C.ctx == NULL) {
		tk_error("cannot create the WebSocket context (TLS set-up failed?)");
		free(C.rx);
		return 1;
	}
	if (g->stats != NULL)
		g->stats->subscribed = tk__subscribed();
	tk_info("Finnhub source: %s://%s:%d, %u symbols, reconnect after %.0f s of silence",
		C.url.tls ? "wss" : "ws", C.url.host, C.url.port, C.subs.nsym,
		(double)cfg->silence_ns / 1e9);
	lws_sul_schedule(C.ctx, 0, &C.sul_connect, tk__connect, 1);
	lws_sul_schedule(C.ctx, 0, &C.sul_hb, tk__on_hb, g->cfg.hb_ns / 1000);
	lws_sul_schedule(C.ctx, 0, &C.sul_watch, tk__on_watch, 250 * 1000);
	lws_sul_schedule(C.ctx, 0, &C.sul_ctl, tk__on_ctl, 50 * 1000);
	/* Every frame of one read is parsed and published, then the blocked
	 * readers are woken once: a FUTEX_WAKE per trade put a syscall (and,
	 * in a guest, a wake-up IPI) between the frames, each frame's
	 * receive stamp after the one before's wake (bench/e2e).  Deferred
	 * only from the first frame (LWS_CALLBACK_CLIENT_RECEIVE) to the end
	 * of the service call: lws runs its timers (the heartbeats) before it
	 * polls, and what they write must wake the readers before that sleep. */
	while (!*stop) {
		int rc = lws_service(C.ctx, 0);

		tk_log_wake(&C.g->out);
		C.g->out.defer_wake = 0;
		if (rc < 0)
			break;
	}
	lws_context_destroy(C.ctx);
	free(C.rx);
	return 0;
}

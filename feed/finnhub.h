/*
 * The Finnhub source: a libwebsockets client for wss://ws.finnhub.io.
 *
 * DESIGN.  One connection (Finnhub allows one per API key), one thread, one
 * event loop: the socket, a heartbeat timer, a silence watchdog and the
 * control-ring poll all run on lws's loop, so no state is shared between
 * threads.  Each complete message goes through the shared message path
 * (feed/ingest.h) as soon as it is received.  The connection is kept up:
 * every loss (a close, an error, a silence longer than silence_ns) is
 * followed by a reconnect after an exponential, capped, jittered delay; the
 * symbols are subscribed again, and a gap event (from the loss to the
 * reconnect) goes into the tick log so readers know trades may be missing
 * there.  The token goes into the URL's query and nowhere else: never into
 * a log line (lws's own lines are redacted too).
 */
#ifndef TK_FEED_FINNHUB_H
#define TK_FEED_FINNHUB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feed/ingest.h"
#include "shm/ctlring.h"

#define TK_FH_MAX_SYMBOLS 4096

struct tk_fh_client_cfg {
	const char *url;   /* wss://ws.finnhub.io, or ws://127.0.0.1:PORT for the mock */
	const char *token;
	const char *ca_file; /* NULL: the system's trust store */
	int64_t silence_ns; /* reconnect after this long without a message */
	int64_t backoff_base_ns;
	int64_t backoff_cap_ns;
};

/* A URL split into what lws wants.  0, or -EINVAL with a message. */
struct tk_url {
	int tls;
	char host[256];
	int port;
	char path[1024]; /* path and query, starting with '/' */
};
int tk_url_parse(const char *url, struct tk_url *out);

/*
 * Run the source until *stop: connect, subscribe to symbols[0..n), receive
 * into g, reconnect as needed, apply subscribe/unsubscribe requests from
 * ring ctl (may be NULL).  resumed_from: when this feed's previous process
 * received its last message (wall ns), 0 if none: the first connection
 * then writes the gap since.  Returns 0, or 1 on a setup failure (message
 * logged).
 */
int tk_finnhub_run(struct tk_ingest *g, const struct tk_fh_client_cfg *cfg, char (*symbols)[32],
		   uint32_t nsymbols, struct tk_ctl_region *ctl, int64_t resumed_from,
		   volatile sig_atomic_t *stop);

/* ---- The source's bookkeeping, pure (no socket, no clock, no log), declared
 * for its unit tests (tests/feed/test_fh_subs.c).  Not an interface. */

enum tk_fh_sym_state { TK_FH_SYM_WANTED = 0, TK_FH_SYM_REFUSED = 1 };

struct tk_fh_sym {
	char name[32];
	uint8_t state; /* enum tk_fh_sym_state */
};

struct tk_fh_sent {
	char name[32];
	uint8_t refused; /* an error has been put on this subscribe */
};

/*
 * The subscription set: the symbols wanted, in no order (a removal moves the
 * last entry into the hole), and the subscribes sent on this connection, in
 * order and by name.  By name, not by index into sym[]: an index stored
 * beside sym[] would point at whatever symbol a swap-remove moved there
 * (the bug this replaced: the wrong symbol marked refused after an
 * unsubscribe), and a name also says "no longer wanted" for an error that
 * comes after its symbol was unsubscribed.
 */
struct tk_fh_subs {
	struct tk_fh_sym sym[TK_FH_MAX_SYMBOLS];
	uint32_t nsym;
	struct tk_fh_sent sent[TK_FH_MAX_SYMBOLS];
	uint32_t nsent; /* when full, the oldest entry goes: refusals take the newest */
};

void tk__fh_subs_init(struct tk_fh_subs *s);
/* Index of name in sym[], or -1. */
int tk__fh_subs_find(const struct tk_fh_subs *s, const char *name);
/* Want name (a valid symbol: the caller checked): 1 if a subscribe is to be
 * sent (new, or refused before), 0 if it is wanted already, -ENOSPC. */
int tk__fh_subs_add(struct tk_fh_subs *s, const char *name);
/* Stop wanting name: 1 if an unsubscribe is to be sent, 0 if not in the set. */
int tk__fh_subs_remove(struct tk_fh_subs *s, const char *name);
/* A new connection: nothing sent on it yet. */
void tk__fh_subs_connected(struct tk_fh_subs *s);
/* A subscribe for name went out on the connection. */
void tk__fh_subs_sent(struct tk_fh_subs *s, const char *name);
/*
 * Finnhub said "Subscribing to too many symbols": it stops accepting past
 * its limit, so the error is the newest subscribe no error was put on yet.
 * Returns that name (valid until the next call on s), NULL if every
 * subscribe has had its error; *wanted tells whether the name is still in
 * the set (it is then marked refused) or was unsubscribed meanwhile.
 */
const char *tk__fh_subs_refuse(struct tk_fh_subs *s, bool *wanted);
/* Symbols wanted and not refused. */
uint32_t tk__fh_subs_wanted(const struct tk_fh_subs *s);

/*
 * The request to Finnhub, {"type":"subscribe","symbol":NAME} (or
 * "unsubscribe"), built with the JSON writer: the name escaped, never
 * formatted in.  *len its length; 0, or -ENOSPC if it did not fit in cap
 * (nothing to send then).
 */
int tk__fh_request(char *out, size_t cap, size_t *len, bool subscribe, const char *name,
		   size_t namelen);

enum tk_fh_ctl_action {
	TK_FH_CTL_NONE = 0,    /* nothing to send: already so */
	TK_FH_CTL_SUBSCRIBE,   /* added: send a subscribe */
	TK_FH_CTL_UNSUBSCRIBE, /* removed: send an unsubscribe */
	TK_FH_CTL_FULL,        /* not added: TK_FH_MAX_SYMBOLS already */
	TK_FH_CTL_REJECTED,    /* refused (tk_ctl_msg_check): why says why */
};

/* One request read from the control ring, applied to s: checked first,
 * since any process attached to the segment may have written it. */
enum tk_fh_ctl_action tk__fh_ctl_apply(struct tk_fh_subs *s, const struct tk_ctl_msg *m,
				       char *why, size_t cap);

#endif

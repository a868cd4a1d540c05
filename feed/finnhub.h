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

#endif

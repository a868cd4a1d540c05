/*
 * The stream of tickd api: /ws (tickd's protocol) and /ws/finnhub
 * (Finnhub's), on the HTTP server's libwebsockets loop.
 *
 * DESIGN.  The logs are the queue.  A client holds, per log it may be
 * sent (every ticks.*, bars.* and signals log of the segment), the next
 * sequence it is owed; nothing is copied for it until it can take it.
 * When lws says a client's socket is writable, its logs are read from
 * its positions with tk_log_read_at (the API is an anonymous reader: it
 * never holds the writer back), filtered by its subscriptions, and written as
 * one frame: a JSON array of messages (Finnhub's protocol: one
 * {"type":"trade","data":[...]} of every trade in the frame).  One frame
 * per writable callback, of at most TKA_WS_FRAME bytes, so a client that
 * does not read holds at most one frame in lws and nothing else waits for
 * it.  A thread of the server sleeps on the first tick log's event count
 * (a named, non-gating reader, so the writer wakes it; at most
 * TKA_WS_TICK_NS, for the other logs) and interrupts the loop when a log
 * moved.  The loop then reads the new records once (tka_ws_wake) and asks
 * lws to call only the clients they are for, and those with something
 * else owed; the others' positions move past what they do not want.
 * Every second every client is called (its pings).
 *
 * A client more than --ws-max-lag records behind on a log (or lapped by
 * the ring) is conflated: its position jumps to the newest record, it gets
 * a {"type":"gap","channel","log","from","to"} message with the exact
 * sequences it missed and, for a tick log, the latest quote of each symbol
 * it names.  Conflated in TKA_WS_MAX_LAPS frames within
 * TKA_WS_LAP_WINDOW_NS, it is sent its last gap and closed with 1013 (try
 * again later).
 */
#ifndef TK_API_WS_H
#define TK_API_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "shm/log.h"

#define TKA_WS_LOGS TK_SEG_MAX_LOGS
#define TKA_WS_SLOT_MAX 4096         /* bytes of the largest slot read */
#define TKA_WS_FRAME (64 * 1024)     /* bytes of one outgoing frame at most */
#define TKA_WS_RX_MAX (16 * 1024)    /* bytes of one incoming message at most */
#define TKA_WS_SYMBOLS_MAX 1000      /* symbols one client may name */
#define TKA_WS_SYM_SLOTS 2048        /* a power of two over twice that */
#define TKA_WS_ADDR_SLOTS 4096       /* client addresses tracked for --ws-max-per-address */
/* Messages a client may send: a second's worth, and a burst that lets a
 * Finnhub client subscribe its 1,000 symbols one message each at once. */
#define TKA_WS_MSG_RATE 100.0
#define TKA_WS_MSG_BURST 1000.0
#define TKA_WS_MAX_LAPS 3
#define TKA_WS_LAP_WINDOW_NS (30 * 1000000000LL)
#define TKA_WS_TICK_NS (1000000LL)   /* the waker looks at every log this often at least */
#define TKA_WS_WAKE_MIN_NS (100000LL) /* a look again this soon while news comes (the loop busy, other logs) */
#define TKA_WS_WAKE_IDS 64           /* symbols told apart per log and wake; more: all woken */
#define TKA_WS_WAKE_SCAN 8192        /* records read per log and wake; more: all woken */
#define TKA_WS_PING_NS (15 * 1000000000LL)
#define TKA_WS_STUCK_S 30 /* a client whose socket takes nothing this long is closed */
#define TKA_WS_QUOTE_WAIT_NS (1000000000LL) /* a quote waits for the engine this long at most */

enum tka_ws_kind { TKA_WS_TICKS, TKA_WS_BARS, TKA_WS_SIGNALS };

/* A log the stream serves: an anonymous reader for random access. */
struct tka_ws_log {
	struct tk_log_reader r;
	enum tka_ws_kind kind;
	char channel[TK_NAME_MAX]; /* "trades", "bars.1m", "signals" */
};

/* The stream's state: one per server, used by the loop thread only. */
struct tka_ws {
	struct tka_ctx *c;
	struct tka_ws_log log[TKA_WS_LOGS];
	unsigned nlogs;
	unsigned nticks;             /* of them tick logs */
	uint64_t scanned[TKA_WS_LOGS]; /* records up to here were looked at by tka_ws_wake */
	unsigned clients;
	struct tka_ws_client **list; /* the connected clients, max_clients places */
	unsigned max_clients;
	unsigned max_per_address;    /* 0: no limit; loopback clients never limited */
	struct tka_ws_addr {         /* connections per client address (open addressing) */
		uint8_t key[16];
		uint32_t n;
	} addr[TKA_WS_ADDR_SLOTS];
	uint64_t max_lag;
};

/* What a client asked for. */
struct tka_ws_sub {
	uint64_t channels;         /* bit i: log[i]'s channel; TKA_WS_QUOTES: quotes */
	bool all_symbols;          /* "*" */
	uint32_t nsym;
	char sym[TKA_WS_SYMBOLS_MAX][32]; /* "" : removed, until the message's edits end */
	uint16_t where[TKA_WS_SYM_SLOTS]; /* open addressing over sym: index + 1, 0 empty */
};

/* The channels bit of quotes; bit i < nlogs is log[i]'s channel. */
#define TKA_WS_QUOTES 63

/* Open the stream's readers on seg's logs.  0 or -errno. */
int tka_ws_open(struct tka_ws *w, struct tka_ctx *c, unsigned max_clients, unsigned max_per_address,
		uint64_t max_lag);

/*
 * A client's message, parsed: tickd's {"action":"subscribe"|"unsubscribe",
 * "channels":[...],"symbols":[...]} (finnhub false) or Finnhub's
 * {"type":"subscribe"|"unsubscribe","symbol":"AAPL"} (finnhub true).
 * Applies it to sub and writes the acknowledgement (or the error) as one
 * JSON message into ack.  Returns 0, or -EINVAL when it was refused (ack
 * then holds the error).  Pure but for the channel names of w.
 */
int tka_ws_apply(const struct tka_ws *w, bool finnhub, const char *msg, size_t len,
		 struct tka_ws_sub *sub, struct tk_buf *ack);

/* Free what tka_ws_open allocated (after the clients are closed). */
void tka_ws_close(struct tka_ws *w);

/*
 * The loop thread, when the waker interrupted it: the records written
 * since the last call are read once, and lws is asked to call the clients
 * they are for (all: every client, for its pings and owed quotes).
 */
void tka_ws_wake(struct tka_ws *w, bool all);

struct lws;
/* The lws callback for /ws and /ws/finnhub: server.c hands it the
 * WebSocket reasons and a pointer-sized slot of the connection's user data
 * the stream owns. */
int tka_ws_callback(struct tka_ws *w, struct lws *wsi, int reason, void **slot, void *in,
		    size_t len);


#endif

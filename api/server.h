/*
 * The HTTP server of tickd api: civetweb, one thread per open connection
 * (its model), so `threads` bounds the connections served at once and an
 * idle keep-alive connection holds a thread until keep_alive_ms closes it.
 * Each thread has its own response buffer; a response (headers and body)
 * leaves in one write.
 */
#ifndef TK_API_SERVER_H
#define TK_API_SERVER_H

#include <stdint.h>

#include "api/api.h"

struct tka_server_opts {
	const char *listen;   /* HOST:PORT */
	unsigned threads;
	int64_t keep_alive_ns;
};

struct tka_server;

/* Start serving c.  NULL with a message (tk_err_msg) when the address
 * cannot be bound or civetweb refuses its options. */
struct tka_server *tka_server_start(struct tka_ctx *c, const struct tka_server_opts *o);
void tka_server_stop(struct tka_server *s);

#endif

/*
 * The HTTP server of tickd api: one libwebsockets event loop on one thread.
 * Every connection is a socket in the loop (an idle keep-alive connection
 * costs a file descriptor and a few hundred bytes, no thread); a request is
 * answered on the loop as it completes, headers and body in one write, and
 * what the socket does not take at once is sent as it drains, so a client
 * that does not read never holds anyone else.  With --tls-cert/--tls-key
 * the same loop speaks TLS (OpenSSL, through libwebsockets).
 */
#ifndef TK_API_SERVER_H
#define TK_API_SERVER_H

#include <stdint.h>

#include "api/api.h"

struct tka_server_opts {
	const char *listen;      /* HOST:PORT, HOST an IPv4 or IPv6 address ([::1]:8000) */
	unsigned max_connections;
	int64_t keep_alive_ns;   /* an idle keep-alive connection is closed after this */
	const char *tls_cert;    /* PEM files; both or neither */
	const char *tls_key;
	unsigned ws_max_clients; /* /ws connections at most */
	unsigned ws_max_per_address; /* of them from one address (not loopback); 0: no limit */
	uint64_t ws_max_lag;     /* records a stream client may fall behind before it is conflated */
};

struct tka_server;

/* Load the PEM certificate (a chain) and its key as the server will, and
 * check they are a pair: 0, or -errno with the file and OpenSSL's reason
 * (tk_err_msg).  tickd api checks before it starts, so a bad pair is a
 * clear error at once and not a start retried forever. */
int tka_tls_check(const char *cert, const char *key);

/* Start serving c on a thread of its own.  NULL with a message
 * (tk_err_msg) when the address cannot be bound, the certificate or key
 * cannot be loaded, or libwebsockets refuses the options. */
struct tka_server *tka_server_start(struct tka_ctx *c, const struct tka_server_opts *o);
void tka_server_stop(struct tka_server *s);

#endif

/*
 * The simulated portfolio of the Trading Analysis pipeline: cash, and
 * positions bought and sold at given prices or at the live price.
 *
 * DURABILITY.  Every change is written whole to a new file, fsynced, and
 * renamed over the old one, and the directory is fsynced, before the
 * request is answered: a 2xx means the change is on disk and survives
 * kill -9 of every process (and a power cut); a request that fails to
 * write is answered 503 and changes nothing.  Changes are serialized by a
 * mutex; they are rare next to reads.
 *
 * The file is JSON lines: {"version":1,"initial_balance","balance",
 * "realized_gain","changes"}, then {"symbol","shares","buy_price",
 * "opened"} per position.  A file that does not read back is refused at
 * start (exit 1): money is never silently reset.
 */
#ifndef TK_API_PORTFOLIO_H
#define TK_API_PORTFOLIO_H

#include <pthread.h>
#include <stdint.h>

#include "shm/segment.h"

#define TKA_POSITIONS_MAX 10000

struct tka_position {
	char symbol[TK_NAME_MAX];
	double shares;
	double buy_price; /* average cost per share */
	int64_t opened_ms;
};

struct tka_portfolio {
	pthread_mutex_t mu;
	char path[1024];
	double initial, balance, realized;
	uint64_t changes; /* changes written */
	struct tka_position *pos;
	unsigned n;
	int lock_fd; /* <path>.lock, flock'ed while this process keeps the portfolio */
};

/* Load path (or start it with `cash` when it does not exist), after taking
 * <path>.lock: one process keeps a portfolio at a time, so a second API on
 * the same file cannot answer from a stale copy or write over the first's
 * changes.  0, -EBUSY (another process holds it: retry), or -errno with a
 * message. */
int tka_portfolio_open(struct tka_portfolio *p, const char *path, double cash);
/* Write the state durably (see above).  0 or -errno with a message. */
int tka_portfolio_save(struct tka_portfolio *p);
void tka_portfolio_close(struct tka_portfolio *p);

#endif

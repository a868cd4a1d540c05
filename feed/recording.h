/*
 * Recordings of a feed: what `--record FILE` writes and `--source
 * replay:FILE` reads.
 *
 * One message per line:
 *   {"recv_ts":<epoch ns>,"msg":<the message as received>}
 * The message is written verbatim when it is JSON on one line; one that
 * is not (malformed, not UTF-8, holding a line break) is written as
 *   {"recv_ts":<epoch ns>,"msg_base64":"<its bytes in base64>"}
 * so that a replay gives the parser exactly the bytes the live feed got.
 * A replay also reads a file of raw Finnhub messages, one per line, with
 * no envelope (recv_ts then unknown); the first line decides which.
 */
#ifndef TK_FEED_RECORDING_H
#define TK_FEED_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Append one message; `verbatim` when it may go in as JSON (the caller
 * knows it parsed); a message with CR or LF is encoded regardless.
 * 0, or -errno. */
int tk_rec_write(FILE *f, int64_t recv_ns, const char *msg, size_t len, bool verbatim);

struct tk_rec_reader {
	FILE *f;
	char *line;
	size_t cap;
	uint8_t *bytes; /* a decoded msg_base64 */
	size_t bytes_cap;
	int mode; /* 0 not known yet, 1 envelope, 2 raw */
	uint64_t lineno;
};

/* 0, or -errno with a message. */
int tk_rec_open(struct tk_rec_reader *r, const char *path);
void tk_rec_close(struct tk_rec_reader *r);

/*
 * The next message: 1 with *recv_ns (INT64_MIN in a raw file), *msg and
 * *len (valid until the next call); 0 at the end; -EINVAL for an envelope
 * line that is malformed (message names the line: the caller skips it and
 * counts it).  Empty lines are skipped.
 */
int tk_rec_next(struct tk_rec_reader *r, int64_t *recv_ns, const char **msg, size_t *len);

/* Whether the file is in the envelope format (after the first message). */
static inline bool tk_rec_enveloped(const struct tk_rec_reader *r)
{
	return r->mode == 1;
}

#endif

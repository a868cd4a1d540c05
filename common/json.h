/*
 * A small JSON writer into a caller's buffer: no allocation, so readers can
 * render on their loop.  Numbers round-trip: a double is printed with the
 * fewest digits that read back to the same value.
 */
#ifndef TK_COMMON_JSON_H
#define TK_COMMON_JSON_H

#include <stddef.h>
#include <stdint.h>

struct tk_buf {
	char *p;
	size_t len;
	size_t cap;
	int overflow; /* set when something did not fit; the text is then cut */
};

static inline void tk_buf_init(struct tk_buf *b, char *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = cap;
	b->overflow = 0;
	if (cap > 0)
		mem[0] = '\0';
}

void tk_buf_put(struct tk_buf *b, const char *s, size_t n);
void tk_buf_puts(struct tk_buf *b, const char *s);
void tk_buf_printf(struct tk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decimal integers, as %llu / %lld print them, without printf's machinery
 * (a record's seq, ts and headers: several per message on the hot paths of
 * tickd kafka and tail).  tk_fmt_* write at most 20 bytes and a NUL into
 * out (>= 21 bytes) and return the length. */
int tk_fmt_u64(char *out, uint64_t v);
int tk_fmt_i64(char *out, int64_t v);
void tk_buf_u64(struct tk_buf *b, uint64_t v);
void tk_buf_i64(struct tk_buf *b, int64_t v);

/* A JSON string with quotes; control characters and invalid UTF-8 escaped
 * (\uXXXX, and U+FFFD for bytes that are not UTF-8). */
void tk_json_str(struct tk_buf *b, const char *s, size_t n);

/* Shortest round-trip decimal for a finite double; null otherwise. */
void tk_json_double(struct tk_buf *b, double v);

/* Write `s` as the shortest round-trip decimal into out (>= 32 bytes). */
int tk_fmt_double(char *out, size_t cap, double v);

#endif

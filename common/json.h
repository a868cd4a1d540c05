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

/* A JSON string with quotes; control characters and invalid UTF-8 escaped
 * (\uXXXX, and U+FFFD for bytes that are not UTF-8). */
void tk_json_str(struct tk_buf *b, const char *s, size_t n);

/* Shortest round-trip decimal for a finite double; null otherwise. */
void tk_json_double(struct tk_buf *b, double v);

/* Write `s` as the shortest round-trip decimal into out (>= 32 bytes). */
int tk_fmt_double(char *out, size_t cap, double v);

#endif

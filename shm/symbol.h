/*
 * The symbol rule of the data contract, in one place.  The symbol table's
 * intern and find, both Finnhub parsers' trade rule (tk__fh_check), the
 * feed's start-up list, `tickd subscribe`/`unsubscribe`, the control ring's
 * producer (tk_ctl_send) and the feed's consumer of that ring all decide
 * with these functions, so a name one of them accepts every other accepts.
 *
 * A symbol is 1 to 31 bytes (TK_NAME_MAX with its NUL) of valid UTF-8 with
 * no control character (C0, DEL or C1) and neither '"' nor '\'.
 *
 * Why valid UTF-8: a symbol leaves the process as JSON (`tickd tail`, the
 * Kafka records, the subscribe message to Finnhub), and the JSON writer
 * (common/json.h) prints a byte that is not UTF-8 as U+FFFD: such a name
 * would not survive the trip, and two names could print the same.  Finnhub
 * sends UTF-8 (the parsers check the whole message), so no trade is lost.
 *
 * Why no '"' and no '\': no venue's symbology uses them (Finnhub's names
 * are letters, digits, ':', '.', '-', '_', '/', '^', '=' and spaces, as in
 * "IC MARKETS:1"), and they are the two bytes that end or escape a JSON
 * string.  A name holding one is an injection attempt (`tickd subscribe
 * 'AAPL","type":"unsubscribe'`) or damage, not a symbol; refusing it at the
 * gate keeps every line that carries a symbol unambiguous even where some
 * writer forgets to escape.  Every JSON writer escapes anyway: two
 * defences, neither relied on alone.
 *
 * Header-only and valid C and C++ because both parsers (one of them C++)
 * are also built alone, without libtk_shm, into the fuzz target.  The hot
 * path (a trade's symbol) is tk_symbol_valid: plain ASCII decided inline
 * by the same byte rule tk_symbol_check applies, anything else handed to
 * tk_symbol_check, so there is one rule with a fast path, not two rules.
 */
#ifndef TK_SHM_SYMBOL_H
#define TK_SHM_SYMBOL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TK_SYMBOL_MAX 31 /* bytes, without the NUL */

/* A byte a name may hold as it is: printable ASCII but '"' and '\'.  The
 * one definition both paths below are made of. */
static inline bool tk__symbol_plain_byte(unsigned char c)
{
	return (unsigned char)(c - 0x20) < 0x5f && c != '"' && c != '\\';
}

/* 1..31 bytes, each plain: valid without further checks.  A false answer
 * is not a verdict: tk_symbol_check gives it. */
static inline bool tk_symbol_plain(const char *name, size_t len)
{
	unsigned bad = 0;
	size_t i;

	if (len == 0 || len > TK_SYMBOL_MAX)
		return false;
	for (i = 0; i < len; i++)
		bad |= !tk__symbol_plain_byte((unsigned char)name[i]);
	return bad == 0;
}

static inline int tk__symbol_why(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int tk__symbol_why(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The code point of the UTF-8 sequence at u (lead byte >= 0x80, n bytes
 * left) and its length, or 0: not UTF-8 (overlong, surrogate, > U+10FFFF,
 * cut short). */
static inline size_t tk__symbol_utf8(const unsigned char *u, size_t n, uint32_t *cp)
{
	unsigned char c = u[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, *cp = c & 0x1fu;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, *cp = c & 0x0fu;
		lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, *cp = c & 0x07u;
		lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (n < len || u[1] < lo || u[1] > hi)
		return 0;
	for (i = 1; i < len; i++) {
		if (i > 1 && (u[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (u[i] & 0x3fu);
	}
	return len;
}

/*
 * Is name (len bytes, not necessarily NUL-terminated; it may hold NULs) a
 * valid symbol?  0, or -EINVAL with why (may be NULL) saying what is wrong
 * without quoting the name: "is 40 bytes long (1 to 31)", "holds control
 * character 0x0a at byte 5", ...  Bytes are counted from 1.  Pure: any
 * thread, any process.
 */
static inline int tk_symbol_check(const char *name, size_t len, char *why, size_t cap)
{
	const unsigned char *u = (const unsigned char *)name;
	size_t i = 0;

	if (len == 0 || len > TK_SYMBOL_MAX)
		return tk__symbol_why(why, cap, "is %zu bytes long (1 to %d)", len, TK_SYMBOL_MAX);
	while (i < len) {
		unsigned char c = u[i];
		uint32_t cp;
		size_t n;

		if (tk__symbol_plain_byte(c)) {
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return tk__symbol_why(why, cap, "holds control character 0x%02x at byte %zu", c,
					      i + 1);
		if (c == '"' || c == '\\')
			return tk__symbol_why(why, cap, "holds '%c' at byte %zu (no symbol has quotes or "
					      "backslashes)", (char)c, i + 1);
		n = tk__symbol_utf8(u + i, len - i, &cp);
		if (n == 0)
			return tk__symbol_why(why, cap, "is not valid UTF-8 at byte %zu", i + 1);
		if (cp <= 0x9f) /* C1: U+0080..U+009F */
			return tk__symbol_why(why, cap, "holds control character U+%04X at byte %zu",
					      (unsigned)cp, i + 1);
		i += n;
	}
	return 0;
}

/* tk_symbol_check's verdict, taking the inline path for plain names. */
static inline bool tk_symbol_valid(const char *name, size_t len)
{
	return tk_symbol_plain(name, len) || tk_symbol_check(name, len, NULL, 0) == 0;
}

#endif

/*
 * Request bodies: one JSON object (RFC 8259, strict) whose values are
 * numbers, strings, true/false/null, or arrays of strings, as every body
 * this API takes is.  Anything else (nesting, a duplicated key, a number
 * that is not finite, invalid UTF-8, a lone surrogate, text after the
 * object) is refused with one line saying where and what.  Pure, and
 * fuzzed (tests/fuzz/fuzz_api.c).
 */
#ifndef TK_API_BODY_H
#define TK_API_BODY_H

#include <stdbool.h>
#include <stddef.h>

#define TKA_J_FIELDS 16
#define TKA_J_ITEMS 1024 /* strings in an object's arrays: 1,000 symbols and the channels */

enum tka_jtype { TKA_J_NULL = 1, TKA_J_BOOL, TKA_J_NUM, TKA_J_STR, TKA_J_ARR };

struct tka_jfield {
	const char *name; /* decoded, NUL-terminated (in the object's scratch) */
	enum tka_jtype type;
	bool b;
	double num;
	const char *str;  /* decoded, NUL-terminated; len bytes (may hold no NUL) */
	size_t len;
	unsigned first, nitems; /* TKA_J_ARR: items[first .. first + nitems) of the object */
};

struct tka_jobj {
	struct tka_jfield f[TKA_J_FIELDS];
	unsigned n;
	const char *items[TKA_J_ITEMS];
	size_t item_len[TKA_J_ITEMS];
	unsigned nitems;
	char *scratch; /* >= the body's length + 1, the caller's */
	size_t used, cap;
};

/*
 * Parse body[0..len) into o, decoding strings into scratch (cap bytes, at
 * least len + 1).  0, or -EINVAL with why ("byte 17: expected ':' after
 * the key").  o's strings point into scratch.
 */
int tka_json_object(const char *body, size_t len, struct tka_jobj *o, char *scratch, size_t cap,
		    char *why, size_t why_cap);

/* The field `name`, or NULL. */
const struct tka_jfield *tka_jget(const struct tka_jobj *o, const char *name);

#endif

/*
 * The chosen Finnhub parser: one forward pass over the message that
 * validates it as strict RFC 8259 JSON in valid UTF-8 and takes the trades
 * out as it goes (fh_parse.h has the rules).
 *
 * DESIGN.  A Finnhub message is small (a few hundred bytes) and of one
 * shape, so a parser written for it does the work once: simdjson's DOM
 * validates the message, writes a tape, and then the fields are read off
 * the tape; here each byte is looked at once, a string without escapes is
 * used where it lies, and a price like 189.51 becomes a double with one
 * exact division (Clinger's fast path; anything longer goes to strtod).
 * What the parser accepts is checked against simdjson's DOM by the fuzz
 * target (tests/fuzz), trade for trade; bench/feed measures both.  Finnhub
 * writes "data" before "type", so trades are kept aside and delivered once
 * the whole message has proved valid and of type "trade".
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed/fh_internal.h"

#define TK_SCAN_MAX_DEPTH 1024

struct tk_scan {
	const uint8_t *p;
	const uint8_t *start;
	const uint8_t *end;
	char *str; /* where the next unescaped string goes */
	enum tk_fh_reason err;
	char why[96];
};

/* Record the first error (the one that stopped the parse) and return -1. */
static int tk__err(struct tk_scan *s, enum tk_fh_reason r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int tk__err(struct tk_scan *s, enum tk_fh_reason r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->err != TK_FH_OK)
		return -1;
	s->err = r;
	va_start(ap, fmt);
	n = vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(s->why))
		snprintf(s->why + n, sizeof(s->why) - (size_t)n, " at byte %zu",
			 (size_t)(s->p - s->start));
	return -1;
}

static inline void tk__ws(struct tk_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

static inline int tk__peek(const struct tk_scan *s)
{
	return s->p < s->end ? *s->p : -1;
}

static int tk__unexpected(struct tk_scan *s, const char *expected)
{
	int c = tk__peek(s);

	if (c < 0)
		return tk__err(s, TK_FH_NOT_JSON, "the message ends where %s should be", expected);
	if (c >= 0x20 && c < 0x7f)
		return tk__err(s, TK_FH_NOT_JSON, "'%c' where %s should be", c, expected);
	return tk__err(s, TK_FH_NOT_JSON, "byte 0x%02x where %s should be", c, expected);
}

/* Past an opening bracket: 1 if the matching close follows (empty), else 0. */
static inline int tk__open(struct tk_scan *s, int close)
{
	s->p++;
	tk__ws(s);
	if (tk__peek(s) == close) {
		s->p++;
		return 1;
	}
	return 0;
}

/* After a member or an element: 0 if a ',' (another follows), 1 at the
 * closing bracket, -1 (an error) at anything else. */
static inline int tk__after(struct tk_scan *s, int close)
{
	int c;

	tk__ws(s);
	c = tk__peek(s);
	if (c == close) {
		s->p++;
		return 1;
	}
	if (c != ',')
		return tk__unexpected(s, close == '}' ? "',' or '}'" : "',' or ']'");
	s->p++;
	tk__ws(s);
	return 0;
}

/* ---------------------------------------------------------- 8 bytes at a time */

#define TK_ONES 0x0101010101010101ull

static inline uint64_t tk__load8(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return x;
}

/* The value of 8 ASCII digits (first digit in the low byte), or -1 if one
 * of the bytes is not a digit: each step adds neighbours, 2 then 4 then 8. */
static inline int64_t tk__eight_digits(uint64_t x)
{
	uint64_t d = x - TK_ONES * '0';

	/* every byte a digit: 0..9 after the subtraction, and no borrow */
	if (((x & (TK_ONES * 0xf0)) != TK_ONES * 0x30) || (((d + TK_ONES * 6) & (TK_ONES * 0xf0)) != 0))
		return -1;
	d = (d * 10) + (d >> 8);                            /* pairs: byte 2i = 10a + b */
	d = (((d & 0x000000ff000000ffull) * (100 + (1000000ull << 32))) +
	     (((d >> 16) & 0x000000ff000000ffull) * (1 + (10000ull << 32)))) >> 32;
	return (int64_t)d;
}

/* ---------------------------------------------------------- strings */

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t tk__utf8(const uint8_t *p, const uint8_t *end)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static int tk__hex4(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		uint8_t c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static char *tk__put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/*
 * A string at s->p (on its opening quote).  *out and *len: the string's
 * bytes, in the message itself when it has no escape, else unescaped into
 * the string area (valid until the next message).
 */
static inline __attribute__((always_inline)) int tk__string(struct tk_scan *s, const char **out,
							    size_t *len)
{
	const uint8_t *p = s->p + 1, *end = s->end, *from = p;
	char *o = NULL;

	for (;;) {
		uint8_t c;

		if (p >= end) {
			s->p = p;
			return tk__err(s, TK_FH_NOT_JSON, "a string is not closed");
		}
		c = *p;
		if (c == '"')
			break;
		if (c < 0x20) {
			s->p = p;
			return tk__err(s, TK_FH_NOT_JSON, "control character 0x%02x inside a string", c);
		}
		if (c < 0x80 && c != '\\') {
			if (o != NULL)
				*o++ = (char)c;
			p++;
			continue;
		}
		if (c >= 0x80) {
			size_t n = tk__utf8(p, end);

			if (n == 0) {
				s->p = p;
				return tk__err(s, TK_FH_BAD_UTF8, "invalid UTF-8");
			}
			if (o != NULL)
				memcpy(o, p, n), o += n;
			p += n;
			continue;
		}
		/* An escape: from here on the string is written out unescaped. */
		if (o == NULL) {
			o = s->str;
			memcpy(o, from, (size_t)(p - from));
			o += p - from;
		}
		if (p + 1 >= end) {
			s->p = p;
			return tk__err(s, TK_FH_NOT_JSON, "a string is not closed");
		}
		switch (p[1]) {
		case '"': *o++ = '"'; p += 2; break;
		case '\\': *o++ = '\\'; p += 2; break;
		case '/': *o++ = '/'; p += 2; break;
		case 'b': *o++ = '\b'; p += 2; break;
		case 'f': *o++ = '\f'; p += 2; break;
		case 'n': *o++ = '\n'; p += 2; break;
		case 'r': *o++ = '\r'; p += 2; break;
		case 't': *o++ = '\t'; p += 2; break;
		case 'u': {
			uint32_t cp, lo;

			if (end - p < 6 || tk__hex4(p + 2, &cp) < 0) {
				s->p = p;
				return tk__err(s, TK_FH_NOT_JSON, "a \\u escape without four hex digits");
			}
			p += 6;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				s->p = p;
				return tk__err(s, TK_FH_NOT_JSON, "a lone low surrogate escape");
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || tk__hex4(p + 2, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff) {
					s->p = p;
					return tk__err(s, TK_FH_NOT_JSON, "a high surrogate escape without its "
						       "low surrogate");
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			o = tk__put_utf8(o, cp);
			break;
		}
		default:
			s->p = p;
			return tk__err(s, TK_FH_NOT_JSON, "an invalid escape \\%c",
				       p[1] >= 0x20 && p[1] < 0x7f ? p[1] : '?');
		}
	}
	if (o == NULL) {
		*out = (const char *)from;
		*len = (size_t)(p - from);
	} else {
		*out = s->str;
		*len = (size_t)(o - s->str);
		s->str = o;
	}
	s->p = p + 1;
	return 0;
}

/* A member's key and its ':'. */
static inline int tk__key(struct tk_scan *s, const char **key, size_t *klen)
{
	if (tk__peek(s) != '"')
		return tk__unexpected(s, "a key");
	if (tk__string(s, key, klen) < 0)
		return -1;
	tk__ws(s);
	if (tk__peek(s) != ':')
		return tk__unexpected(s, "':'");
	s->p++;
	tk__ws(s);
	return 0;
}

/* ---------------------------------------------------------- numbers */

struct tk_num {
	double d;       /* the value as a double (always) */
	int64_t i;      /* the value, when it is an integer that fits int64 */
	bool integer;   /* no fraction, no exponent */
	bool fits_i64;
	bool negative;
};

static const double tk__pow10[] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* A number at s->p, by RFC 8259's grammar; one a double cannot hold (or an
 * integer beyond 64 bits) is rejected, as simdjson does. */
static inline __attribute__((always_inline)) int tk__number(struct tk_scan *s, struct tk_num *n)
{
	const uint8_t *p = s->p, *end = s->end, *begin = p;
	uint64_t m = 0;
	int digits = 0, frac_digits = 0, exp = 0, esign = 1;
	bool exact = true;

	n->fits_i64 = false;
	n->integer = true;
	n->i = 0;
	n->negative = p < end && *p == '-';
	if (n->negative)
		p++;
	if (p >= end || *p < '0' || *p > '9') {
		s->p = p;
		return tk__err(s, TK_FH_BAD_NUMBER, "a malformed number");
	}
	if (*p == '0') {
		p++;
		digits = 1;
		if (p < end && *p >= '0' && *p <= '9') {
			s->p = p;
			return tk__err(s, TK_FH_BAD_NUMBER, "a number with a leading zero");
		}
	} else {
		int64_t v8;

		while (digits <= 11 && end - p >= 8 && (v8 = tk__eight_digits(tk__load8(p))) >= 0) {
			m = m * 100000000 + (uint64_t)v8;
			p += 8;
			digits += 8;
		}
		for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits < 19)
				m = m * 10 + (uint64_t)(*p - '0');
			else if (digits == 19 && m <= (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
				m = m * 10 + (uint64_t)(*p - '0');
			else
				exact = false; /* more than 64 bits of integer part */
		}
	}
	n->integer = true;
	if (p < end && *p == '.') {
		n->integer = false;
		p++;
		if (p >= end || *p < '0' || *p > '9') {
			s->p = p;
			return tk__err(s, TK_FH_BAD_NUMBER, "a fraction without digits");
		}
		{
			int64_t v8;

			while (exact && m < 100000000000ull && end - p >= 8 &&
			       (v8 = tk__eight_digits(tk__load8(p))) >= 0) {
				m = m * 100000000 + (uint64_t)v8;
				p += 8;
				frac_digits += 8;
			}
		}
		for (; p < end && *p >= '0' && *p <= '9'; p++, frac_digits++) {
			if (exact && m <= (UINT64_MAX - 9) / 10)
				m = m * 10 + (uint64_t)(*p - '0');
			else
				exact = false;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		n->integer = false;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			esign = *p++ == '-' ? -1 : 1;
		if (p >= end || *p < '0' || *p > '9') {
			s->p = p;
			return tk__err(s, TK_FH_BAD_NUMBER, "an exponent without digits");
		}
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if (exp < 100000)
				exp = exp * 10 + (*p - '0');
	}
	s->p = p;
	if (n->integer) {
		/* simdjson's limits: int64 for negatives, uint64 for the others. */
		if (!exact || (n->negative && m > (uint64_t)INT64_MAX + 1))
			return tk__err(s, TK_FH_BAD_NUMBER, "an integer beyond 64 bits");
		n->fits_i64 = n->negative || m <= (uint64_t)INT64_MAX;
		n->i = n->fits_i64 ? (n->negative ? (int64_t)(0 - m) : (int64_t)m) : 0;
		/* As an integer, -0 is 0. */
		n->d = n->fits_i64 ? (double)n->i : (double)m;
		return 0;
	}
	n->fits_i64 = false;
	exp = esign * exp - frac_digits;
	if (exact && m <= (1ull << 53) && exp >= -22 && exp <= 22) {
		/* Clinger: both exact, one correctly rounded operation. */
		double d = (double)m;

		d = exp < 0 ? d / tk__pow10[-exp] : d * tk__pow10[exp];
		n->d = n->negative ? -d : d;
		return 0;
	}
	{
		char tmp[128], *copy = tmp, *e;
		size_t len = (size_t)(p - begin);

		if (len >= sizeof(tmp))
			copy = s->str; /* the string area has room: unescaping never grows */
		memcpy(copy, begin, len);
		copy[len] = '\0';
		errno = 0;
		n->d = strtod(copy, &e);
		if (isinf(n->d))
			return tk__err(s, TK_FH_BAD_NUMBER, "a number beyond the range of a double");
	}
	return 0;
}

/* ---------------------------------------------------------- any value */

static int tk__value(struct tk_scan *s, int depth);

static int tk__literal(struct tk_scan *s, const char *word, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return tk__unexpected(s, "a value");
	s->p += n;
	return 0;
}

/* Read (so validate) any value. */
static int tk__value(struct tk_scan *s, int depth)
{
	const char *str;
	size_t len;
	struct tk_num num;
	int c = tk__peek(s);

	if (depth > TK_SCAN_MAX_DEPTH)
		return tk__err(s, TK_FH_NOT_JSON, "nested deeper than %d", TK_SCAN_MAX_DEPTH);
	switch (c) {
	case '"':
		return tk__string(s, &str, &len);
	case '{':
		if (tk__open(s, '}'))
			return 0;
		do {
			if (tk__key(s, &str, &len) < 0 || tk__value(s, depth + 1) < 0)
				return -1;
		} while ((c = tk__after(s, '}')) == 0);
		return c < 0 ? -1 : 0;
	case '[':
		if (tk__open(s, ']'))
			return 0;
		do {
			if (tk__value(s, depth + 1) < 0)
				return -1;
		} while ((c = tk__after(s, ']')) == 0);
		return c < 0 ? -1 : 0;
	case 't':
		return tk__literal(s, "true", 4);
	case 'f':
		return tk__literal(s, "false", 5);
	case 'n':
		return tk__literal(s, "null", 4);
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return tk__number(s, &num);
		return tk__unexpected(s, "a value");
	}
}

/* ---------------------------------------------------------- trades */

/* One of "p", "v": 1 and *out (finite), 2 if present but not a finite number. */
static inline __attribute__((always_inline)) int tk__field_number(struct tk_scan *s, int depth,
								  double *out, int *state)
{
	struct tk_num n;
	int c = tk__peek(s);

	if (c == '-' || (c >= '0' && c <= '9')) {
		if (tk__number(s, &n) < 0)
			return -1;
		*out = n.d;
		*state = isfinite(n.d) ? 1 : 2;
		return 0;
	}
	*state = 2;
	return tk__value(s, depth);
}

/* "c": null, or an array of codes (digit strings or non-negative integers). */
static int tk__field_conditions(struct tk_scan *s, int depth, uint32_t *flags, int *state)
{
	int c = tk__peek(s);

	*flags = 0;
	*state = 1;
	if (c == 'n')
		return tk__literal(s, "null", 4);
	if (c != '[') {
		*state = 2;
		return tk__value(s, depth);
	}
	if (tk__open(s, ']'))
		return 0;
	do {
		uint64_t k = 0;
		bool ok = true;

		c = tk__peek(s);
		if (c == '"') {
			const char *str = NULL;
			size_t len = 0, i;

			if (tk__string(s, &str, &len) < 0)
				return -1;
			ok = len > 0 && len <= 9;
			for (i = 0; i < len; i++) {
				if (str[i] < '0' || str[i] > '9')
					ok = false;
				k = k * 10 + (uint64_t)(str[i] - '0');
			}
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			struct tk_num n;

			if (tk__number(s, &n) < 0)
				return -1;
			ok = n.integer && (!n.negative || n.i == 0) && n.fits_i64;
			k = ok ? (uint64_t)n.i : 0;
			if (n.integer && !n.negative && !n.fits_i64) {
				ok = true; /* above INT64_MAX: a (large) code all the same */
				k = UINT64_MAX;
			}
		} else {
			ok = false;
			if (tk__value(s, depth + 1) < 0)
				return -1;
		}
		if (!ok)
			*state = 2;
		else
			*flags |= k < 31 ? 1u << k : TK_COND_OTHER;
	} while ((c = tk__after(s, ']')) == 0);
	if (c < 0)
		return -1;
	if (*state != 1)
		*flags = 0;
	return 0;
}

/* One of a trade's one-letter fields, or any other member, read whole. */
static inline __attribute__((always_inline)) int tk__trade_field(struct tk_scan *s, int depth, char k, struct tk_fh_fields *f)
{
	struct tk_num n;
	int c = tk__peek(s);

	if (k == 's' && f->st_s == 0) {
		if (c != '"') {
			f->st_s = 2;
			return tk__value(s, depth);
		}
		f->st_s = 1;
		return tk__string(s, &f->sym, &f->symlen);
	}
	if (k == 'p' && f->st_p == 0)
		return tk__field_number(s, depth, &f->price, &f->st_p);
	if (k == 'v' && f->st_v == 0)
		return tk__field_number(s, depth, &f->size, &f->st_v);
	if (k == 't' && f->st_t == 0) {
		if (c != '-' && (c < '0' || c > '9')) {
			f->st_t = 2;
			return tk__value(s, depth);
		}
		if (tk__number(s, &n) < 0)
			return -1;
		f->st_t = n.integer && n.fits_i64 ? 1 : 2;
		f->ms = n.i;
		return 0;
	}
	if (k == 'c' && f->st_c == 0)
		return tk__field_conditions(s, depth, &f->conditions, &f->st_c);
	return tk__value(s, depth);
}

/* One element of "data", read whole: *r says whether it is a valid trade
 * (then *t holds it) and why not. */
static int tk__trade(struct tk_scan *s, const struct tk_fh_limits *lim, int depth,
		     struct tk_fh_trade *t, enum tk_fh_reason *r, char *why, size_t cap)
{
	struct tk_fh_fields f;
	int c;

	if (tk__peek(s) != '{') {
		if (tk__value(s, depth) < 0)
			return -1;
		snprintf(why, cap, "is not an object");
		*r = TK_FH_BAD_TRADE;
		return 0;
	}
	if (depth > TK_SCAN_MAX_DEPTH)
		return tk__err(s, TK_FH_NOT_JSON, "nested deeper than %d", TK_SCAN_MAX_DEPTH);
	memset(&f, 0, sizeof(f));
	if (!tk__open(s, '}')) {
		do {
			const char *key = NULL;
			size_t klen = 0;

			/* A trade's keys are one plain letter and a ':': the common
			 * case without the string loop. */
			if (s->end - s->p >= 4 && s->p[0] == '"' && s->p[2] == '"' && s->p[3] == ':' &&
			    s->p[1] >= 'a' && s->p[1] <= 'z') {
				key = (const char *)s->p + 1;
				klen = 1;
				s->p += 4;
				tk__ws(s);
			} else if (tk__key(s, &key, &klen) < 0) {
				return -1;
			}
			if (tk__trade_field(s, depth + 1, klen == 1 ? key[0] : '\0', &f) < 0)
				return -1;
		} while ((c = tk__after(s, '}')) == 0);
		if (c < 0)
			return -1;
	}
	*r = tk__fh_check(lim, &f, t, why, cap);
	return 0;
}

/* ---------------------------------------------------------- the message */

struct tk_top {
	int type_state; /* 0 absent, 1 a string, 2 something else */
	const char *type;
	size_t type_len;
	int data_state; /* 0 absent, 1 an array, 2 something else */
	int msg_state;
	const char *msg;
	size_t msg_len;
	uint32_t ntrades;
	uint32_t rejected;
	uint32_t rejected_by[TK_FH_NREASONS];
	char text[160];
};

static int tk__data(struct tk_scan *s, const struct tk_fh_limits *lim, struct tk_fh_trade *trades,
		    size_t max, struct tk_top *q)
{
	uint32_t i = 0;
	int c;

	if (tk__open(s, ']'))
		return 0;
	do {
		struct tk_fh_trade t;
		enum tk_fh_reason r;
		char why[128];

		if (tk__trade(s, lim, 3, &t, &r, why, sizeof(why)) < 0)
			return -1;
		i++;
		if (r == TK_FH_OK) {
			if (q->ntrades == max)
				return tk__err(s, TK_FH_TOO_LARGE, "more trades than a message can hold");
			trades[q->ntrades++] = t;
		} else {
			if (q->rejected++ == 0)
				snprintf(q->text, sizeof(q->text), "trade %u %s", i, why);
			q->rejected_by[r]++;
		}
	} while ((c = tk__after(s, ']')) == 0);
	return c < 0 ? -1 : 0;
}

/* A top-level string member ("type", "msg"): 1 if a string, else 2 (read whole). */
static int tk__top_string(struct tk_scan *s, const char **str, size_t *len, int *state)
{
	if (tk__peek(s) != '"') {
		*state = 2;
		return tk__value(s, 2);
	}
	*state = 1;
	return tk__string(s, str, len);
}

static int tk__top(struct tk_scan *s, const struct tk_fh_limits *lim, struct tk_fh_trade *trades,
		   size_t max, struct tk_top *q)
{
	int c, rc;

	if (tk__open(s, '}'))
		return 0;
	do {
		const char *key = NULL;
		size_t klen = 0;

		if (tk__key(s, &key, &klen) < 0)
			return -1;
		if (klen == 4 && memcmp(key, "type", 4) == 0 && q->type_state == 0) {
			rc = tk__top_string(s, &q->type, &q->type_len, &q->type_state);
		} else if (klen == 3 && memcmp(key, "msg", 3) == 0 && q->msg_state == 0) {
			rc = tk__top_string(s, &q->msg, &q->msg_len, &q->msg_state);
		} else if (klen == 4 && memcmp(key, "data", 4) == 0 && q->data_state == 0) {
			q->data_state = tk__peek(s) == '[' ? 1 : 2;
			rc = q->data_state == 1 ? tk__data(s, lim, trades, max, q) : tk__value(s, 2);
		} else {
			rc = tk__value(s, 2);
		}
		if (rc < 0)
			return -1;
	} while ((c = tk__after(s, '}')) == 0);
	return c < 0 ? -1 : 0;
}

void tk__fh_msg_reset(struct tk_fh_msg *m)
{
	m->kind = TK_FH_INVALID;
	m->reason = TK_FH_OK;
	m->trades = 0;
	m->rejected = 0;
	memset(m->rejected_by, 0, sizeof(m->rejected_by));
	m->text[0] = '\0';
}

static enum tk_fh_kind tk__invalid(struct tk_fh_msg *m, enum tk_fh_reason r, const char *text)
{
	m->kind = TK_FH_INVALID;
	m->reason = r;
	snprintf(m->text, sizeof(m->text), "%s", text);
	return TK_FH_INVALID;
}

enum tk_fh_kind tk_fh_parse(struct tk_fh_parser *p, const char *buf, size_t len,
			    tk_fh_trade_fn fn, void *ctx, struct tk_fh_msg *m)
{
	const struct tk_fh_limits *lim;
	struct tk_fh_trade *trades;
	struct tk_scan s;
	struct tk_top q;
	size_t max;
	uint32_t i;
	int rc;

	tk__fh_scratch(p, &lim, &trades, &max, &s.str);
	tk__fh_msg_reset(m);
	if (len > lim->max_bytes) {
		snprintf(m->text, sizeof(m->text), "message of %zu bytes (at most %zu)", len,
			 lim->max_bytes);
		m->reason = TK_FH_TOO_LARGE;
		return TK_FH_INVALID;
	}
	s.start = s.p = (const uint8_t *)buf;
	s.end = s.start + len;
	s.err = TK_FH_OK;
	s.why[0] = '\0';
	memset(&q, 0, sizeof(q));
	tk__ws(&s);
	if (tk__peek(&s) == '{') {
		rc = tk__top(&s, lim, trades, max, &q);
	} else if (tk__peek(&s) < 0) {
		rc = tk__err(&s, TK_FH_NOT_JSON, "an empty message");
	} else {
		/* Not an object: still, is it JSON at all? */
		rc = tk__value(&s, 1);
		tk__ws(&s);
		if (rc == 0 && s.p != s.end)
			rc = tk__unexpected(&s, "the end of the message");
		if (rc == 0)
			return tk__invalid(m, TK_FH_NOT_OBJECT, "the message is not a JSON object");
	}
	if (rc == 0) {
		tk__ws(&s);
		if (s.p != s.end)
			rc = tk__unexpected(&s, "the end of the message");
	}
	if (rc < 0)
		return tk__invalid(m, s.err, s.why);
	if (q.type_state != 1)
		return tk__invalid(m, TK_FH_NO_TYPE, "the message has no \"type\" string");
	if (q.type_len == 5 && memcmp(q.type, "trade", 5) == 0) {
		if (q.data_state != 1)
			return tk__invalid(m, TK_FH_BAD_DATA, "a trade message without a \"data\" array");
		m->kind = TK_FH_TRADES;
		for (i = 0; i < q.ntrades; i++)
			fn(ctx, &trades[i]);
		m->trades = q.ntrades;
		m->rejected = q.rejected;
		memcpy(m->rejected_by, q.rejected_by, sizeof(q.rejected_by));
		memcpy(m->text, q.text, sizeof(m->text));
		return TK_FH_TRADES;
	}
	if (q.type_len == 4 && memcmp(q.type, "ping", 4) == 0) {
		m->kind = TK_FH_PING;
		return TK_FH_PING;
	}
	if (q.type_len == 5 && memcmp(q.type, "error", 5) == 0) {
		m->kind = TK_FH_ERROR;
		if (q.msg_state == 1)
			snprintf(m->text, sizeof(m->text), "%.*s", (int)q.msg_len, q.msg);
		else
			snprintf(m->text, sizeof(m->text), "(no msg string)");
		return TK_FH_ERROR;
	}
	m->kind = TK_FH_UNKNOWN;
	snprintf(m->text, sizeof(m->text), "%.*s", (int)q.type_len, q.type);
	return TK_FH_UNKNOWN;
}

/* ---------------------------------------------------------- requests */

/* A client's request (the mock server's side), by the same strict rules as
 * a message: the first "type" and the first "symbol" count, as for the
 * DOM's at_key. */
int tk_fh_parse_request(struct tk_fh_parser *p, const char *buf, size_t len, char sym[32],
			char *why, size_t whycap)
{
	const struct tk_fh_limits *lim;
	struct tk_fh_trade *trades;
	const char *type = NULL, *s = NULL;
	size_t max, type_len = 0, s_len = 0;
	int type_state = 0, s_state = 0, c = 0, rc = 0;
	struct tk_scan sc;

	tk__fh_scratch(p, &lim, &trades, &max, &sc.str);
	if (len > lim->max_bytes) {
		snprintf(why, whycap, "request of %zu bytes", len);
		return -1;
	}
	sc.start = sc.p = (const uint8_t *)buf;
	sc.end = sc.start + len;
	sc.err = TK_FH_OK;
	sc.why[0] = '\0';
	tk__ws(&sc);
	if (tk__peek(&sc) != '{') {
		/* Not an object: JSON (then no request) or not. */
		rc = tk__peek(&sc) < 0 ? tk__err(&sc, TK_FH_NOT_JSON, "an empty message")
				       : tk__value(&sc, 1);
	} else if (!tk__open(&sc, '}')) {
		do {
			const char *key = NULL;
			size_t klen = 0;

			if (tk__key(&sc, &key, &klen) < 0) {
				rc = -1;
				break;
			}
			if (klen == 4 && memcmp(key, "type", 4) == 0 && type_state == 0)
				rc = tk__top_string(&sc, &type, &type_len, &type_state);
			else if (klen == 6 && memcmp(key, "symbol", 6) == 0 && s_state == 0)
				rc = tk__top_string(&sc, &s, &s_len, &s_state);
			else
				rc = tk__value(&sc, 2);
			if (rc < 0)
				break;
		} while ((c = tk__after(&sc, '}')) == 0);
		if (rc == 0 && c < 0)
			rc = -1;
	}
	if (rc == 0) {
		tk__ws(&sc);
		if (sc.p != sc.end)
			rc = tk__unexpected(&sc, "the end of the message");
	}
	if (rc < 0) {
		snprintf(why, whycap, "not JSON: %s", sc.why);
		return -1;
	}
	if (type_state != 1 || !((type_len == 9 && memcmp(type, "subscribe", 9) == 0) ||
				 (type_len == 11 && memcmp(type, "unsubscribe", 11) == 0))) {
		snprintf(why, whycap, "not a subscribe or unsubscribe request");
		return -1;
	}
	if (s_state != 1 || s_len == 0 || s_len > 31) {
		snprintf(why, whycap, "no symbol string of 1 to 31 bytes");
		return -1;
	}
	memcpy(sym, s, s_len);
	sym[s_len] = '\0';
	return type_len == 9 ? 1 : 2;
}

/* ---------------------------------------------------------- data contract */

/* The contract's names of a trade's fields -> the Finnhub letters of
 * tk__trade_field, so that one reader and one rule check both forms. */
static char tk__contract_letter(const char *key, size_t n)
{
	if (n == 6 && memcmp(key, "symbol", 6) == 0)
		return 's';
	if (n == 5 && memcmp(key, "price", 5) == 0)
		return 'p';
	if (n == 4 && memcmp(key, "size", 4) == 0)
		return 'v';
	if (n == 2 && memcmp(key, "ts", 2) == 0)
		return 't';
	if (n == 10 && memcmp(key, "conditions", 10) == 0)
		return 'c';
	return '\0';
}

enum tk_contract_kind tk_fh_parse_contract(struct tk_fh_parser *p, const char *buf, size_t len,
					   struct tk_contract *out)
{
	const struct tk_fh_limits *lim;
	struct tk_fh_trade *trades;
	struct tk_fh_fields f;
	struct tk_scan s;
	const char *type = NULL;
	size_t type_len = 0, max;
	int type_state = 0, end_state = 0, c, rc = 0;

	tk__fh_scratch(p, &lim, &trades, &max, &s.str);
	memset(out, 0, sizeof(*out));
	out->kind = TK_CONTRACT_INVALID;
	if (len > lim->max_bytes) {
		out->reason = TK_FH_TOO_LARGE;
		snprintf(out->text, sizeof(out->text), "message of %zu bytes (at most %zu)", len,
			 lim->max_bytes);
		return TK_CONTRACT_INVALID;
	}
	s.start = s.p = (const uint8_t *)buf;
	s.end = s.start + len;
	s.err = TK_FH_OK;
	s.why[0] = '\0';
	memset(&f, 0, sizeof(f));
	tk__ws(&s);
	if (tk__peek(&s) < 0) {
		rc = tk__err(&s, TK_FH_NOT_JSON, "an empty message");
	} else if (tk__peek(&s) != '{') {
		rc = tk__value(&s, 1);
		tk__ws(&s);
		if (rc == 0 && s.p != s.end)
			rc = tk__unexpected(&s, "the end of the message");
		if (rc == 0) {
			out->reason = TK_FH_NOT_OBJECT;
			snprintf(out->text, sizeof(out->text), "the message is not a JSON object");
			return TK_CONTRACT_INVALID;
		}
	} else if (!tk__open(&s, '}')) {
		do {
			const char *key = NULL;
			size_t klen = 0;

			if (tk__key(&s, &key, &klen) < 0) {
				rc = -1;
				break;
			}
			if (klen == 4 && memcmp(key, "type", 4) == 0 && type_state == 0) {
				rc = tk__top_string(&s, &type, &type_len, &type_state);
			} else if (klen == 3 && memcmp(key, "end", 3) == 0 && end_state == 0) {
				c = tk__peek(&s);
				end_state = c == 't' ? 1 : c == 'f' ? 3 : 2;
				rc = tk__value(&s, 2);
			} else {
				char k = tk__contract_letter(key, klen);

				/* A letter key of the Finnhub form is not a contract field. */
				rc = k != '\0' ? tk__trade_field(&s, 2, k, &f) : tk__value(&s, 2);
			}
			if (rc < 0)
				break;
		} while ((c = tk__after(&s, '}')) == 0);
		if (rc == 0 && c < 0)
			rc = -1;
	}
	if (rc == 0) {
		tk__ws(&s);
		if (s.p != s.end)
			rc = tk__unexpected(&s, "the end of the message");
	}
	if (rc < 0) {
		out->reason = s.err;
		snprintf(out->text, sizeof(out->text), "%s", s.why);
		return TK_CONTRACT_INVALID;
	}
	if (type_state == 2) {
		out->reason = TK_FH_NO_TYPE;
		snprintf(out->text, sizeof(out->text), "\"type\" is not a string");
		return TK_CONTRACT_INVALID;
	}
	if (type_state == 1 && type_len == 9 && memcmp(type, "heartbeat", 9) == 0) {
		if (f.st_t != 1 || f.ms < lim->min_ts_ms || f.ms >= lim->max_ts_ms) {
			out->reason = TK_FH_BAD_TIME;
			snprintf(out->text, sizeof(out->text),
				 "a heartbeat without an integer \"ts\" of epoch ms in [%lld, %lld)",
				 (long long)lim->min_ts_ms, (long long)lim->max_ts_ms);
			return TK_CONTRACT_INVALID;
		}
		if (end_state == 2) {
			out->reason = TK_FH_BAD_DATA;
			snprintf(out->text, sizeof(out->text), "a heartbeat whose \"end\" is not a boolean");
			return TK_CONTRACT_INVALID;
		}
		out->ts_ms = f.ms;
		out->end = end_state == 1;
		out->kind = TK_CONTRACT_HEARTBEAT;
		return TK_CONTRACT_HEARTBEAT;
	}
	if (type_state == 1 && !(type_len == 5 && memcmp(type, "trade", 5) == 0)) {
		out->kind = TK_CONTRACT_OTHER;
		snprintf(out->text, sizeof(out->text), "%.*s", (int)(type_len < 64 ? type_len : 64),
			 type);
		return TK_CONTRACT_OTHER;
	}
	out->reason = tk__fh_check(lim, &f, &out->trade, out->text, sizeof(out->text));
	if (out->reason != TK_FH_OK)
		return TK_CONTRACT_INVALID;
	out->kind = TK_CONTRACT_TRADE;
	return TK_CONTRACT_TRADE;
}

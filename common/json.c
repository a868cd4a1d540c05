#include "common/json.h"

#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tk_buf_put(struct tk_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->overflow = 1;
		n = b->cap > b->len + 1 ? b->cap - b->len - 1 : 0;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	if (b->cap > 0)
		b->p[b->len] = '\0';
}

void tk_buf_puts(struct tk_buf *b, const char *s)
{
	tk_buf_put(b, s, strlen(s));
}

int tk_fmt_u64(char *out, uint64_t v)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
				    "25262728293031323334353637383940414243444546474849"
				    "50515253545556575859606162636465666768697071727374"
				    "75767778798081828384858687888990919293949596979899";
	char tmp[24];
	int i = 22, n;

	tmp[23] = '\0';
	while (v >= 100) {
		unsigned d = (unsigned)(v % 100);

		v /= 100;
		tmp[i--] = pairs[2 * d + 1];
		tmp[i--] = pairs[2 * d];
	}
	if (v >= 10) {
		tmp[i--] = pairs[2 * v + 1];
		tmp[i--] = pairs[2 * v];
	} else {
		tmp[i--] = (char)('0' + v);
	}
	n = 22 - i;
	memcpy(out, tmp + i + 1, (size_t)n + 1);
	return n;
}

int tk_fmt_i64(char *out, int64_t v)
{
	if (v >= 0)
		return tk_fmt_u64(out, (uint64_t)v);
	out[0] = '-';
	/* -(v + 1) + 1: INT64_MIN has no positive int64. */
	return 1 + tk_fmt_u64(out + 1, (uint64_t)(-(v + 1)) + 1);
}

void tk_buf_u64(struct tk_buf *b, uint64_t v)
{
	char d[24];

	tk_buf_put(b, d, (size_t)tk_fmt_u64(d, v));
}

void tk_buf_i64(struct tk_buf *b, int64_t v)
{
	char d[24];

	tk_buf_put(b, d, (size_t)tk_fmt_i64(d, v));
}

void tk_buf_printf(struct tk_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= room) {
		b->overflow = 1;
		b->len = b->cap > 0 ? b->cap - 1 : 0;
	} else {
		b->len += (size_t)n;
	}
}

/* Length of the valid UTF-8 sequence at s (max n bytes), 0 if invalid. */
static size_t tk__utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void tk_json_str(struct tk_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	tk_buf_put(b, "\"", 1);
	while (i < n) {
		unsigned char c = u[i];
		size_t l;

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			tk_buf_put(b, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			tk_buf_printf(b, "\\u%04x", c);
			i++;
		} else if ((l = tk__utf8_len(u + i, n - i)) == 0) {
			tk_buf_puts(b, "\\ufffd");
			i++;
		} else {
			tk_buf_put(b, s + i, l);
			i += l;
		}
	}
	tk_buf_put(b, "\"", 1);
}

/*
 * The common case fast: a price or a size with at most nine decimals and
 * |v| in [1e-6, 1e6).  There the shortest round-trip text below is the
 * plain decimal m / 10^k with the smallest k that reads back to v, and the
 * test is exact arithmetic: m and 10^k are exact doubles, so m / 10^k is
 * the double nearest that decimal, which is what strtod would give; the
 * double spacing there (< 1.2e-10) is finer than 10^-9, so no other decimal
 * of k places reads back to v, and printf would have chosen the same one.
 * tests/common/test_json.c checks it against the slow path.  -1: not such
 * a value.
 */
static int tk__fmt_decimal(char *out, size_t cap, double v)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
	double a = fabs(v);
	int k;

	if (!(a >= 1e-6 && a < 1e6) || cap < 32)
		return -1;
	for (k = 0; k <= 9; k++) {
		/* a * 10^k < 1e15: the cast is exact and rounds half up; the test
		 * below decides, not the rounding. */
		double m = (double)(unsigned long long)(a * p10[k] + 0.5);

		if (m / p10[k] == a) {
			unsigned long long im = (unsigned long long)m;
			unsigned long long ip = im / (unsigned long long)p10[k];
			unsigned long long fp = im % (unsigned long long)p10[k];
			int n = 0, i;

			if (v < 0)
				out[n++] = '-';
			n += tk_fmt_u64(out + n, ip);
			if (k > 0) {
				/* The k digits of fp, leading zeros included. */
				out[n++] = '.';
				for (i = k - 1; i >= 0; i--, fp /= 10)
					out[n + i] = (char)('0' + fp % 10);
				n += k;
				out[n] = '\0';
			}
			return n;
		}
	}
	return -1;
}

/*
 * Any other v with 1e-6 <= |v| < 1e14: at most three conversions, not up to
 * 38.  A double has 15.95 significant digits, so if the 15-digit rounding
 * of v reads back, the shortest text is those digits without their
 * trailing zeros (a shorter one that read back would be those digits, by
 * the 15-digit round trip); else 16, else 17 digits.  In that range the
 * text below is those digits as a plain decimal, which is what %g gives
 * without an exponent and what the %f fallback gives with one (beyond 1e14
 * %f would print the digits of the binary value's exact integer part, which
 * the slow path below keeps).  -1: out of range.
 */
/*
 * The n-significant-digit rounding of |v| (half to even, as printf does
 * it) and whether it reads back as v, exactly, in 128-bit integers:
 * |v| = M * 2^-F, and for 1e-3 <= |v| < 1e14 both M * 10^k (k <= 19) and
 * the digits times 2^(F+2) (F <= 62) stay below 2^121.  The decimal reads
 * back iff it lies strictly between v's neighbours' midpoints, or on one
 * when M is even (strtod rounds a midpoint to the even mantissa).
 * Returns 1 with the digits in *q and the decimal exponent of the first in
 * *e10, 0 when that rounding does not read back, -1 outside the range.
 */
static int tk__round_exact(double v, int n, uint64_t *q, int *e10)
{
	static const uint64_t p10[] = { 1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
					10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
					100000000000ull, 1000000000000ull, 10000000000000ull,
					100000000000000ull, 1000000000000000ull,
					10000000000000000ull, 100000000000000000ull,
					1000000000000000000ull, 10000000000000000000ull };
	double a = fabs(v);
	uint64_t bits, m, d;
	unsigned __int128 p, r, half, lhs, hi, lo;
	int f, e, k, tries;
	bool even;

	if (!(a >= 1e-3 && a < 1e14))
		return -1;
	memcpy(&bits, &a, sizeof(bits));
	m = (bits & ((1ull << 52) - 1)) | (1ull << 52);
	f = 1075 - (int)((bits >> 52) & 0x7ff); /* a = m * 2^-f, 6 <= f <= 62 */
	e = (int)floor(log10(a));
	for (tries = 0; tries < 3; tries++) {
		k = n - 1 - e;
		if (k < 0 || k > 19)
			return -1;
		p = (unsigned __int128)m * p10[k];
		d = (uint64_t)(p >> f);
		if (d < p10[n - 1]) {
			e--; /* log10 said one too many */
			continue;
		}
		if (d >= p10[n]) {
			e++;
			continue;
		}
		break;
	}
	if (tries == 3)
		return -1;
	r = p & (((unsigned __int128)1 << f) - 1);
	half = (unsigned __int128)1 << (f - 1);
	if (r > half || (r == half && (d & 1)))
		d++;
	if (d == p10[n]) { /* 9.99..5 -> 10.0 */
		d = p10[n - 1];
		e++;
		k--;
	}
	even = (m & 1) == 0;
	/* d / 10^k against (2m + 1) / 2^(f + 1) and the lower midpoint. */
	lhs = (unsigned __int128)d << (f + 1);
	hi = (unsigned __int128)(2 * m + 1) * p10[k];
	if (m == (1ull << 52)) {
		lo = (unsigned __int128)(4 * m - 1) * p10[k];
		lhs <<= 1;
		hi <<= 1;
	} else {
		lo = (unsigned __int128)(2 * m - 1) * p10[k];
	}
	*q = d;
	*e10 = e;
	return (lhs < hi || (even && lhs == hi)) && (lhs > lo || (even && lhs == lo));
}

static int tk__fmt_digits(char *out, size_t cap, double v)
{
	char e[40], dig[24];
	const char *p;
	int prec, nd = 0, exp, i, n = 0;

	if (!(fabs(v) >= 1e-6 && fabs(v) < 1e14) || cap < 32) /* at most 26 bytes */
		return -1;
	for (prec = 15; prec <= 17; prec++) {
		uint64_t q;
		int rc = tk__round_exact(v, prec, &q, &exp);

		if (rc < 0)
			break; /* out of the exact range: printf below */
		if (rc == 0)
			continue;
		for (i = prec - 1; i >= 0; i--, q /= 10)
			dig[i] = (char)('0' + q % 10);
		nd = prec;
		goto digits;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	if (prec > 17)
		return -1;
	/* "-d.dddde+XX": the digits, then the exponent of the first. */
	for (p = e + (e[0] == '-'); *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			dig[nd++] = *p;
	exp = atoi(p + 1);
digits:
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (v < 0)
		out[n++] = '-';
	if (exp < 0) {
		out[n++] = '0';
		out[n++] = '.';
		for (i = 0; i < -exp - 1; i++)
			out[n++] = '0';
		for (i = 0; i < nd; i++)
			out[n++] = dig[i];
	} else {
		for (i = 0; i <= exp; i++)
			out[n++] = i < nd ? dig[i] : '0';
		if (nd > exp + 1) {
			out[n++] = '.';
			for (i = exp + 1; i < nd; i++)
				out[n++] = dig[i];
		}
	}
	out[n] = '\0';
	return n;
}

int tk_fmt_double(char *out, size_t cap, double v)
{
	int prec, n = tk__fmt_decimal(out, cap, v);

	if (n < 0)
		n = tk__fmt_digits(out, cap, v);
	if (n >= 0)
		return n;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(out, cap, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	/* Prices and sizes read better as 100 than 1e+02.  Up to 24 places:
	 * 17 digits after 1e-6 need 23 (20 cut 9.78e-06 short: no round trip). */
	if (strchr(out, 'e') != NULL && fabs(v) >= 1e-6 && fabs(v) < 1e21) {
		for (prec = 0; prec <= 24; prec++) {
			snprintf(out, cap, "%.*f", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
	return (int)strlen(out);
}

void tk_json_double(struct tk_buf *b, double v)
{
	char tmp[40];

	if (!isfinite(v)) {
		tk_buf_puts(b, "null");
		return;
	}
	tk_fmt_double(tmp, sizeof(tmp), v);
	tk_buf_puts(b, tmp);
}

#include "common/json.h"

#include <math.h>
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

int tk_fmt_double(char *out, size_t cap, double v)
{
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(out, cap, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	/* Prices and sizes read better as 100 than 1e+02. */
	if (strchr(out, 'e') != NULL && fabs(v) >= 1e-6 && fabs(v) < 1e21) {
		for (prec = 0; prec <= 20; prec++) {
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

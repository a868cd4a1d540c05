/* A strict parser of the API's request bodies (body.h). */
#include "api/body.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shm/symbol.h"

struct tka_jp {
	const unsigned char *s;
	size_t n, i;
	struct tka_jobj *o;
	char *why;
	size_t why_cap;
};

static int tka__jfail(struct tka_jp *p, const char *what)
{
	snprintf(p->why, p->why_cap, "the body is not the JSON object this takes: byte %zu: %s",
		 p->i + 1, what);
	return -EINVAL;
}

static void tka__ws(struct tka_jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
			       p->s[p->i] == '\r'))
		p->i++;
}

static int tka__hex4(const unsigned char *s, uint32_t *v)
{
	int k;

	*v = 0;
	for (k = 0; k < 4; k++) {
		unsigned char c = s[k];
		uint32_t d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

static void tka__put_utf8(char *out, size_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (char)(0xc0 | cp >> 6);
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*o)++] = (char)(0xe0 | cp >> 12);
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | cp >> 18);
		out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* A string at p->i (the opening quote), decoded into the scratch. */
static int tka__jstr(struct tka_jp *p, const char **out, size_t *len)
{
	struct tka_jobj *o = p->o;
	char *d = o->scratch + o->used;
	size_t w = 0;

	p->i++; /* the quote */
	for (;;) {
		unsigned char c;

		if (p->i >= p->n)
			return tka__jfail(p, "a string is not closed");
		c = p->s[p->i];
		if (o->used + w + 5 > o->cap)
			return tka__jfail(p, "too long");
		if (c == '"') {
			p->i++;
			break;
		}
		if (c < 0x20)
			return tka__jfail(p, "a control character in a string (escape it)");
		if (c == '\\') {
			uint32_t cp, lo;

			if (p->i + 1 >= p->n)
				return tka__jfail(p, "a string is not closed");
			c = p->s[p->i + 1];
			p->i += 2;
			switch (c) {
			case '"': d[w++] = '"'; continue;
			case '\\': d[w++] = '\\'; continue;
			case '/': d[w++] = '/'; continue;
			case 'b': d[w++] = '\b'; continue;
			case 'f': d[w++] = '\f'; continue;
			case 'n': d[w++] = '\n'; continue;
			case 'r': d[w++] = '\r'; continue;
			case 't': d[w++] = '\t'; continue;
			case 'u': break;
			default: p->i -= 2; return tka__jfail(p, "an unknown escape in a string");
			}
			if (p->i + 4 > p->n || tka__hex4(p->s + p->i, &cp) < 0)
				return tka__jfail(p, "\\u needs four hex digits");
			p->i += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return tka__jfail(p, "a lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p->i + 6 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
				    tka__hex4(p->s + p->i + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
					return tka__jfail(p, "a high surrogate without its low one");
				p->i += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			tka__put_utf8(d, &w, cp);
			continue;
		}
		if (c < 0x80) {
			d[w++] = (char)c;
			p->i++;
		} else {
			uint32_t cp;
			size_t k = tk__symbol_utf8(p->s + p->i, p->n - p->i, &cp);

			if (k == 0)
				return tka__jfail(p, "invalid UTF-8 in a string");
			memcpy(d + w, p->s + p->i, k);
			w += k;
			p->i += k;
		}
	}
	d[w] = '\0';
	o->used += w + 1;
	*out = d;
	*len = w;
	return 0;
}

/* A number by RFC 8259's grammar, finite. */
static int tka__jnum(struct tka_jp *p, double *v)
{
	size_t start = p->i;
	char buf[64];
	char *end;

	if (p->i < p->n && p->s[p->i] == '-')
		p->i++;
	if (p->i >= p->n || !(p->s[p->i] >= '0' && p->s[p->i] <= '9'))
		return tka__jfail(p, "a number needs a digit");
	if (p->s[p->i] == '0') {
		p->i++;
	} else {
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (p->i >= p->n || !(p->s[p->i] >= '0' && p->s[p->i] <= '9'))
			return tka__jfail(p, "a digit after the decimal point");
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (p->i >= p->n || !(p->s[p->i] >= '0' && p->s[p->i] <= '9'))
			return tka__jfail(p, "a digit in the exponent");
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	if (p->i - start >= sizeof(buf))
		return tka__jfail(p, "a number longer than 63 characters");
	memcpy(buf, p->s + start, p->i - start);
	buf[p->i - start] = '\0';
	*v = strtod(buf, &end);
	if (!isfinite(*v))
		return tka__jfail(p, "a number out of range");
	return 0;
}

static bool tka__word(struct tka_jp *p, const char *w)
{
	size_t k = strlen(w);

	if (p->n - p->i < k || memcmp(p->s + p->i, w, k) != 0)
		return false;
	p->i += k;
	return true;
}

int tka_json_object(const char *body, size_t len, struct tka_jobj *o, char *scratch, size_t cap,
		    char *why, size_t why_cap)
{
	struct tka_jp p = { (const unsigned char *)body, len, 0, o, why, why_cap };
	unsigned k;

	o->n = 0;
	o->nitems = 0;
	o->scratch = scratch;
	o->used = 0;
	o->cap = cap;
	/* A byte-order mark is not JSON's (RFC 8259 8.1: MUST NOT add one). */
	tka__ws(&p);
	if (p.i >= p.n || p.s[p.i] != '{')
		return tka__jfail(&p, "expected '{'");
	p.i++;
	tka__ws(&p);
	if (p.i < p.n && p.s[p.i] == '}') {
		p.i++;
		goto end;
	}
	for (;;) {
		struct tka_jfield *f;
		int rc;

		tka__ws(&p);
		if (p.i >= p.n || p.s[p.i] != '"')
			return tka__jfail(&p, "expected a key in quotes");
		if (o->n == TKA_J_FIELDS)
			return tka__jfail(&p, "more than 16 keys");
		f = &o->f[o->n];
		memset(f, 0, sizeof(*f));
		if ((rc = tka__jstr(&p, &f->name, &f->len)) < 0)
			return rc;
		if (strlen(f->name) != f->len)
			return tka__jfail(&p, "a key holds \\u0000");
		for (k = 0; k < o->n; k++)
			if (strcmp(o->f[k].name, f->name) == 0)
				return tka__jfail(&p, "a key given twice");
		f->len = 0;
		tka__ws(&p);
		if (p.i >= p.n || p.s[p.i] != ':')
			return tka__jfail(&p, "expected ':' after the key");
		p.i++;
		tka__ws(&p);
		if (p.i >= p.n)
			return tka__jfail(&p, "expected a value");
		switch (p.s[p.i]) {
		case '"':
			f->type = TKA_J_STR;
			if ((rc = tka__jstr(&p, &f->str, &f->len)) < 0)
				return rc;
			break;
		case '[':
			f->type = TKA_J_ARR;
			f->first = o->nitems;
			p.i++;
			tka__ws(&p);
			if (p.i < p.n && p.s[p.i] == ']') {
				p.i++;
				break;
			}
			for (;;) {
				tka__ws(&p);
				if (p.i >= p.n || p.s[p.i] != '"')
					return tka__jfail(&p, "an array here holds strings only");
				if (o->nitems == TKA_J_ITEMS)
					return tka__jfail(&p, "more than 1024 strings in arrays");
				if ((rc = tka__jstr(&p, &o->items[o->nitems], &o->item_len[o->nitems])) < 0)
					return rc;
				o->nitems++;
				f->nitems++;
				tka__ws(&p);
				if (p.i < p.n && p.s[p.i] == ',') {
					p.i++;
					continue;
				}
				if (p.i < p.n && p.s[p.i] == ']') {
					p.i++;
					break;
				}
				return tka__jfail(&p, "expected ',' or ']' in an array");
			}
			break;
		case 't':
		case 'f':
			f->type = TKA_J_BOOL;
			f->b = p.s[p.i] == 't';
			if (!tka__word(&p, f->b ? "true" : "false"))
				return tka__jfail(&p, "not a JSON value");
			break;
		case 'n':
			f->type = TKA_J_NULL;
			if (!tka__word(&p, "null"))
				return tka__jfail(&p, "not a JSON value");
			break;
		default:
			if (p.s[p.i] == '{')
				return tka__jfail(&p, "no nested objects here");
			f->type = TKA_J_NUM;
			if ((rc = tka__jnum(&p, &f->num)) < 0)
				return rc;
			break;
		}
		o->n++;
		tka__ws(&p);
		if (p.i < p.n && p.s[p.i] == ',') {
			p.i++;
			continue;
		}
		if (p.i < p.n && p.s[p.i] == '}') {
			p.i++;
			break;
		}
		return tka__jfail(&p, "expected ',' or '}'");
	}
end:
	tka__ws(&p);
	if (p.i != p.n)
		return tka__jfail(&p, "text after the object");
	return 0;
}

const struct tka_jfield *tka_jget(const struct tka_jobj *o, const char *name)
{
	unsigned i;

	for (i = 0; i < o->n; i++)
		if (strcmp(o->f[i].name, name) == 0)
			return &o->f[i];
	return NULL;
}

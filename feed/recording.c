#include "feed/recording.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

static const char tk__b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int tk__b64_value(int c)
{
	const char *p = c != '\0' ? strchr(tk__b64, c) : NULL;

	return p != NULL ? (int)(p - tk__b64) : -1;
}

int tk_rec_write(FILE *f, int64_t recv_ns, const char *msg, size_t len, bool verbatim)
{
	size_t i;

	if (verbatim && memchr(msg, '\n', len) == NULL && memchr(msg, '\r', len) == NULL) {
		fprintf(f, "{\"recv_ts\":%" PRId64 ",\"msg\":", recv_ns);
		fwrite(msg, 1, len, f);
		fputs("}\n", f);
	} else {
		fprintf(f, "{\"recv_ts\":%" PRId64 ",\"msg_base64\":\"", recv_ns);
		for (i = 0; i < len; i += 3) {
			uint32_t v = (uint32_t)(uint8_t)msg[i] << 16;
			size_t n = len - i < 3 ? len - i : 3;

			if (n > 1)
				v |= (uint32_t)(uint8_t)msg[i + 1] << 8;
			if (n > 2)
				v |= (uint8_t)msg[i + 2];
			fputc(tk__b64[(v >> 18) & 63], f);
			fputc(tk__b64[(v >> 12) & 63], f);
			fputc(n > 1 ? tk__b64[(v >> 6) & 63] : '=', f);
			fputc(n > 2 ? tk__b64[v & 63] : '=', f);
		}
		fputs("\"}\n", f);
	}
	return ferror(f) ? -EIO : 0;
}

int tk_rec_open(struct tk_rec_reader *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->f = fopen(path, "r");
	if (r->f == NULL)
		return tk_err_set(errno, "cannot open recording %s: %s", path, strerror(errno));
	return 0;
}

void tk_rec_close(struct tk_rec_reader *r)
{
	if (r->f != NULL)
		fclose(r->f);
	free(r->line);
	free(r->bytes);
	memset(r, 0, sizeof(*r));
}

/* Decode base64 text [s, end) into r->bytes.  Returns the length or -1. */
static ssize_t tk__b64_decode(struct tk_rec_reader *r, const char *s, const char *end)
{
	size_t n = (size_t)(end - s), out = 0, i;

	if (n % 4 != 0)
		return -1;
	if (n / 4 * 3 > r->bytes_cap) {
		uint8_t *b = realloc(r->bytes, n / 4 * 3 + 16);

		if (b == NULL)
			return -1;
		r->bytes = b;
		r->bytes_cap = n / 4 * 3 + 16;
	}
	for (i = 0; i < n; i += 4) {
		int a = tk__b64_value(s[i]), b = tk__b64_value(s[i + 1]);
		int c = s[i + 2] == '=' ? -2 : tk__b64_value(s[i + 2]);
		int d = s[i + 3] == '=' ? -2 : tk__b64_value(s[i + 3]);
		uint32_t v;

		if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2) ||
		    ((c == -2 || d == -2) && i + 4 != n))
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)(c < 0 ? 0 : c) << 6 |
		    (uint32_t)(d < 0 ? 0 : d);
		r->bytes[out++] = (uint8_t)(v >> 16);
		if (c >= 0)
			r->bytes[out++] = (uint8_t)(v >> 8);
		if (d >= 0)
			r->bytes[out++] = (uint8_t)v;
	}
	return (ssize_t)out;
}

static const char tk__env_head[] = "{\"recv_ts\":";

int tk_rec_next(struct tk_rec_reader *r, int64_t *recv_ns, const char **msg, size_t *len)
{
	ssize_t n;
	char *p, *end;

	for (;;) {
		n = getline(&r->line, &r->cap, r->f);
		if (n < 0)
			return 0;
		r->lineno++;
		while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
			r->line[--n] = '\0';
		if (n > 0)
			break;
	}
	if (r->mode == 0)
		r->mode = strncmp(r->line, tk__env_head, sizeof(tk__env_head) - 1) == 0 ? 1 : 2;
	if (r->mode == 2) {
		*recv_ns = INT64_MIN;
		*msg = r->line;
		*len = (size_t)n;
		return 1;
	}
	/* {"recv_ts":<digits>,"msg":<raw>}  or  {"recv_ts":<digits>,"msg_base64":"<b64>"} */
	if (strncmp(r->line, tk__env_head, sizeof(tk__env_head) - 1) != 0)
		goto bad;
	p = r->line + sizeof(tk__env_head) - 1;
	errno = 0;
	*recv_ns = strtoll(p, &end, 10);
	if (end == p || errno != 0)
		goto bad;
	p = end;
	end = r->line + n;
	if (strncmp(p, ",\"msg\":", 7) == 0 && end - p > 8 && end[-1] == '}') {
		*msg = p + 7;
		*len = (size_t)(end - 1 - (p + 7));
		return 1;
	}
	if (strncmp(p, ",\"msg_base64\":\"", 15) == 0 && end - p >= 17 && end[-1] == '}' &&
	    end[-2] == '"') {
		ssize_t got = tk__b64_decode(r, p + 15, end - 2);

		if (got < 0)
			goto bad;
		*msg = (const char *)r->bytes;
		*len = (size_t)got;
		return 1;
	}
bad:
	return tk_err_set(EINVAL, "line %llu is not a recording envelope "
			  "{\"recv_ts\":<ns>,\"msg\":...}", (unsigned long long)r->lineno);
}

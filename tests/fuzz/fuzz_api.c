/*
 * libFuzzer target for the API's request parsing (api/http.c, api/body.c):
 * an input is "METHOD PATH[?QUERY]\nBODY".  The path and query go through
 * tka_req_init, every parameter through every typed getter, every path
 * segment through the symbol check, the body through the JSON object
 * parser.  Invariants: nothing crashes or reads out of bounds (ASan,
 * UBSan); a decoded parameter or segment is valid UTF-8 without control
 * characters and its length is its strlen; names are unique; every
 * problem written is a JSON object the body parser itself accepts, with
 * a 4xx status; a parsed body's strings are valid UTF-8 and its keys
 * unique.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "api/http.h"

static bool utf8_ok(const unsigned char *s, size_t n, bool controls)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], k, need;
		uint32_t cp;

		if (c < 0x80) {
			if (!controls && (c < 0x20 || c == 0x7f))
				return false;
			i++;
			continue;
		}
		need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
		if (c < 0xc2 || c > 0xf4 || i + need >= n)
			return false;
		cp = c & (0x3fu >> need);
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (!controls && cp < 0xa0))
			return false;
		i += need + 1;
	}
	return true;
}

static void check_problem(const struct tka_resp *o)
{
	static struct tka_jobj obj;
	static char scratch[8192];
	char why[256];

	if (o->status < 400 || o->status >= 500)
		abort();
	if (o->body.overflow || tka_json_object(o->body.p, o->body.len, &obj, scratch, sizeof(scratch),
						why, sizeof(why)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tka_req r;
	static char mem[16384], line[8192], scratch[TKA_BODY_MAX + 16];
	static struct tka_jobj obj;
	const char *nl = memchr(data, '\n', size), *sp, *q;
	size_t llen = nl != NULL ? (size_t)(nl - (const char *)data) : size;
	struct tka_resp o;
	char why[256];
	unsigned i, k;

	if (llen >= sizeof(line))
		return 0;
	memcpy(line, data, llen);
	line[llen] = '\0';
	if (strlen(line) != llen)
		return 0; /* the server hands C strings */
	sp = strchr(line, ' ');
	if (sp == NULL)
		return 0;
	line[sp - line] = '\0';
	q = strchr(sp + 1, '?');
	if (q != NULL)
		line[q - line] = '\0';
	tka_resp_init(&o, mem, sizeof(mem));
	if (tka_req_init(&r, line, sp + 1, q != NULL ? q + 1 : NULL, &o) != 0) {
		check_problem(&o);
		return 0;
	}
	for (i = 0; i < r.nseg; i++) {
		const char *s;

		if (strlen(r.seg[i]) != r.seg_len[i] ||
		    !utf8_ok((const unsigned char *)r.seg[i], r.seg_len[i], false))
			abort();
		tka_resp_init(&o, mem, sizeof(mem));
		if (tka_seg_symbol(&r, i, &s, &o) != 0)
			check_problem(&o);
	}
	for (i = 0; i < r.nparams; i++) {
		const struct tka_param *p = &r.params[i];
		uint64_t u;
		int64_t t;
		bool present;
		const char *s;

		if (strlen(p->value) != p->len || !utf8_ok((const unsigned char *)p->value, p->len, false))
			abort();
		for (k = 0; k < i; k++)
			if (strcmp(r.params[k].name, p->name) == 0)
				abort();
		tka_resp_init(&o, mem, sizeof(mem));
		if (tka_param_u64(&r, p->name, 1, 5000, 7, &u, &o) != 0)
			check_problem(&o);
		else if (u < 1 || u > 5000)
			abort();
		tka_resp_init(&o, mem, sizeof(mem));
		if (tka_param_time(&r, p->name, &t, &present, &o) != 0)
			check_problem(&o);
		tka_resp_init(&o, mem, sizeof(mem));
		if (tka_param_symbol(&r, p->name, true, &s, &o) != 0)
			check_problem(&o);
	}
	tka_resp_init(&o, mem, sizeof(mem));
	if (tka_params_allow(&r, "symbol,date,from,to,limit", &o) != 0)
		check_problem(&o);
	/* The body. */
	if (nl != NULL) {
		r.body = nl + 1;
		r.body_len = size - llen - 1;
		r.content_type = "application/json; charset=utf-8";
		tka_resp_init(&o, mem, sizeof(mem));
		if (r.body_len <= TKA_BODY_MAX &&
		    tka_body(&r, true, &obj, scratch, sizeof(scratch), &o) != 0) {
			check_problem(&o);
		} else if (r.body_len <= TKA_BODY_MAX) {
			for (i = 0; i < obj.n; i++) {
				for (k = 0; k < i; k++)
					if (strcmp(obj.f[k].name, obj.f[i].name) == 0)
						abort();
				if (obj.f[i].type == TKA_J_STR &&
				    !utf8_ok((const unsigned char *)obj.f[i].str, obj.f[i].len, true))
					abort();
			}
			for (i = 0; i < obj.nitems; i++)
				if (!utf8_ok((const unsigned char *)obj.items[i], obj.item_len[i], true))
					abort();
		}
		(void)why;
	}
	return 0;
}

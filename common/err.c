#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TK_ERR_MAX 512

static _Thread_local char tk__err_buf[TK_ERR_MAX];

int tk_err_set(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tk__err_buf, sizeof(tk__err_buf), fmt, ap);
	va_end(ap);
	return err > 0 ? -err : err;
}

void tk_err_push(const char *fmt, ...)
{
	char old[TK_ERR_MAX];
	size_t n, m;
	va_list ap;

	memcpy(old, tk__err_buf, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(tk__err_buf, sizeof(tk__err_buf), fmt, ap);
	va_end(ap);
	n = strlen(tk__err_buf);
	m = strnlen(old, sizeof(old) - 1);
	if (n + m >= sizeof(tk__err_buf))
		m = sizeof(tk__err_buf) - 1 - n;
	memcpy(tk__err_buf + n, old, m);
	tk__err_buf[n + m] = '\0';
}

const char *tk_err_msg(void)
{
	return tk__err_buf;
}

void tk_err_clear(void)
{
	tk__err_buf[0] = '\0';
}

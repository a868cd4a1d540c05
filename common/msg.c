#include "common/msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char tk__role[32] = "tickd";
static enum tk_msg_level tk__min_level = TK_MSG_INFO;
static int tk__quiet;

void tk_msg_set_role(const char *role)
{
	snprintf(tk__role, sizeof(tk__role), "%s", role);
}

void tk_msg_set_level(enum tk_msg_level min)
{
	tk__min_level = min;
}

void tk_msg_set_quiet(int quiet)
{
	tk__quiet = quiet != 0;
}

void tk_msg(enum tk_msg_level level, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (tk__quiet || level < tk__min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000, tk__role, (int)getpid(), names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	/* One write so lines from several processes do not interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

#include "common/opts.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *(*tk_opt_origin_hook)(const char *setting);

void tk_opt_fail(const char *setting, const char *fmt, ...)
{
	const char *origin = tk_opt_origin_hook != NULL ? tk_opt_origin_hook(setting) : NULL;
	va_list ap;

	fprintf(stderr, "tickd: %s: ", origin != NULL ? origin : setting);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

int tk_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (text == NULL || *text == '\0' || *text == '-' || *text == '+' || *text == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

uint64_t tk_opt_u64(const char *setting, const char *text, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (tk_parse_u64(text, min, max, &v) != 0)
		tk_opt_fail(setting, "'%s' is not an integer in [%llu, %llu]", text ? text : "",
			    (unsigned long long)min, (unsigned long long)max);
	return v;
}

double tk_opt_double(const char *setting, const char *text, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = text != NULL ? strtod(text, &end) : NAN;
	if (text == NULL || *text == '\0' || errno != 0 || *end != '\0' || !isfinite(v) ||
	    v < min || v > max)
		tk_opt_fail(setting, "'%s' is not a number in [%g, %g]", text ? text : "", min, max);
	return v;
}

int64_t tk_opt_duration(const char *setting, const char *text)
{
	static const struct { const char *suffix; double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	char *end;
	double v;
	size_t i;

	errno = 0;
	v = text != NULL ? strtod(text, &end) : NAN;
	if (text == NULL || end == text || errno != 0 || !isfinite(v) || v < 0)
		tk_opt_fail(setting, "'%s' is not a duration (like 500ms, 5s, 2m)", text ? text : "");
	if (*end == '\0')
		return (int64_t)(v * 1e9);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].suffix) == 0)
			return (int64_t)(v * units[i].ns);
	tk_opt_fail(setting, "'%s' has an unknown unit (use ns, us, ms, s, m or h)", text);
}

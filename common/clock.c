#include "common/clock.h"

#include <errno.h>

double tk_tsc_per_ns(void)
{
	static double cached;
	int64_t t0, t1;
	uint64_t c0, c1;

	if (cached > 0)
		return cached;
	t0 = tk_mono_ns();
	c0 = tk_tsc();
	tk_sleep_ns(50 * 1000 * 1000);
	t1 = tk_mono_ns();
	c1 = tk_tsc();
	cached = (double)(c1 - c0) / (double)(t1 - t0);
	return cached;
}

void tk_sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

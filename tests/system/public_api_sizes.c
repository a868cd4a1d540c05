/*
 * The sizes of tickd.h's structs as a C compiler sees them, built outside
 * the tree like a third-party program; the example test holds the Python
 * binding's ctypes mirrors to them (tickd.STRUCT_SIZES).
 */
#include <stdio.h>
#include <tickd.h>

#define SIZE(s) printf("%s %zu\n", #s, sizeof(struct s))

int main(void)
{
	SIZE(tickd_record);
	SIZE(tickd_follow_opts);
	SIZE(tickd_tick);
	SIZE(tickd_heartbeat);
	SIZE(tickd_feed_gap);
	SIZE(tickd_indicators);
	SIZE(tickd_bar_record);
	SIZE(tickd_signal);
	SIZE(tickd_quote);
	SIZE(tickd_timeframe);
	SIZE(tickd_bar);
	return 0;
}

/* tickd subscribe / unsubscribe: requests to a feed through its control ring. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/json.h"
#include "common/msg.h"
#include "common/config.h"
#include "common/opts.h"
#include "shm/ctlring.h"
#include "shm/feeds.h"
#include "shm/symbol.h"
#include "tools/tools.h"

static void usage(FILE *out, const char *verb)
{
	fprintf(out,
		"usage: tickd %s [--feed N] [--shm-path PATH] SYMBOL...\n"
		"Ask feed N (default 0) to %s the symbols on its live connection; it\n"
		"remembers them for its reconnects.  Returns once the requests are queued.\n"
		"A symbol is 1 to 31 bytes of UTF-8 without control characters, quotes or\n"
		"backslashes; any other argument exits 2 and nothing is sent.\n",
		verb, verb);
}

static int tk__ctl(int argc, char **argv, const char *verb, uint32_t type)
{
	static const struct option longopts[] = {
		{ "feed", required_argument, 0, 'f' }, { "shm-path", required_argument, 0, 'p' },
		{ "help", no_argument, 0, 'h' },       { 0, 0, 0, 0 }
	};
	const char *path = NULL;
	struct tk_segment seg;
	struct tk_ctl_region *ring;
	struct tk_feeds_region *feeds;
	uint32_t feed = 0;
	int c, i, rc = 0;

	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': feed = (uint32_t)tk_opt_u64("--feed", optarg, 0, TK_CTL_RINGS - 1); break;
		case 'p': path = optarg; break;
		case 'h': usage(stdout, verb); return 0;
		default: usage(stderr, verb); return 2;
		}
	}
	if (optind == argc) {
		usage(stderr, verb);
		return 2;
	}
	/* Every argument checked before any is sent: all or nothing.  The
	 * argument is shown as JSON, so whatever it holds stays on one line. */
	for (i = optind; i < argc; i++) {
		char why[96], shown[160];
		struct tk_buf b;

		if (tk_symbol_check(argv[i], strlen(argv[i]), why, sizeof(why)) == 0)
			continue;
		tk_buf_init(&b, shown, sizeof(shown));
		tk_json_str(&b, argv[i], strlen(argv[i]) > 64 ? 64 : strlen(argv[i]));
		tk_opt_fail(verb, "%s%s is not a symbol: it %s", shown,
			    strlen(argv[i]) > 64 ? "..." : "", why);
	}
	if (tk_tool_attach(&seg, path) < 0)
		return 1;
	ring = tk_ctl_ring(&seg, feed);
	feeds = tk_feeds_of(&seg);
	if (feeds != NULL && feeds->slot[feed].pid == 0)
		tk_warn("feed %u has not run on this segment yet: the requests wait for it", feed);
	for (i = optind; ring != NULL && i < argc; i++) {
		int64_t deadline = tk_mono_ns() + 2 * 1000000000LL;
		int r;

		while ((r = tk_ctl_send(ring, type, argv[i], (uint64_t)i)) == -EAGAIN &&
		       tk_mono_ns() < deadline)
			tk_sleep_ns(10 * 1000000);
		if (r < 0) {
			tk_error("%s %s: %s", verb, argv[i],
				 r == -EAGAIN ? "the control ring stays full (is the feed running?)"
				 : r == -EINVAL ? tk_err_msg()
						: strerror(-r));
			rc = 1;
		}
	}
	tk_segment_detach(&seg);
	return rc;
}

int tk_cmd_subscribe(int argc, char **argv)
{
	return tk__ctl(argc, argv, "subscribe", TK_CTL_SUBSCRIBE);
}

int tk_cmd_unsubscribe(int argc, char **argv)
{
	return tk__ctl(argc, argv, "unsubscribe", TK_CTL_UNSUBSCRIBE);
}

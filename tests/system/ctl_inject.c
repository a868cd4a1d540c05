/*
 * A control-ring producer that is not `tickd subscribe`: any program that
 * attaches the segment can write the ring, so the feed must check what it
 * reads.  This one writes requests as they are (tk__ctl_enqueue, none of
 * tk_ctl_send's checks) and reads the feed's count of refused requests.
 *
 * usage: ctl_inject SHM_PATH FEED raw TYPE ARG   enqueue ARG's bytes (at most 32) as they are
 *        ctl_inject SHM_PATH FEED rejected       print the feed's ctl_rejected
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "shm/ctlring.h"
#include "shm/feeds.h"
#include "shm/segment.h"

int main(int argc, char **argv)
{
	struct tk_segment seg;
	struct tk_ctl_region *ring;
	struct tk_feeds_region *feeds;
	unsigned feed;
	int rc = 0;

	if (argc < 4 || (strcmp(argv[3], "raw") == 0 && argc != 6)) {
		fprintf(stderr, "usage: ctl_inject SHM_PATH FEED raw TYPE ARG | rejected\n");
		return 2;
	}
	feed = (unsigned)strtoul(argv[2], NULL, 10);
	if (tk_segment_attach(&seg, argv[1], TK_ATTACH_READER) < 0) {
		fprintf(stderr, "ctl_inject: %s\n", tk_err_msg());
		return 1;
	}
	ring = tk_ctl_ring(&seg, feed);
	feeds = tk_feeds_of(&seg);
	if (ring == NULL || feeds == NULL || feed >= TK_FEEDS_MAX) {
		fprintf(stderr, "ctl_inject: no control ring or feed slot %u\n", feed);
		rc = 1;
	} else if (strcmp(argv[3], "raw") == 0) {
		size_t len = strlen(argv[5]);

		rc = tk__ctl_enqueue(ring, (uint32_t)strtoul(argv[4], NULL, 10), argv[5],
				     len > TK_NAME_MAX ? TK_NAME_MAX : len, 1);
		if (rc < 0)
			fprintf(stderr, "ctl_inject: enqueue: %d\n", rc);
		rc = rc < 0;
	} else {
		/* Relaxed is enough: a counter the feed alone writes. */
		printf("%llu\n", (unsigned long long)__atomic_load_n(&feeds->slot[feed].ctl_rejected,
								     __ATOMIC_RELAXED));
	}
	tk_segment_detach(&seg);
	return rc;
}

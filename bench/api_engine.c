/*
 * bench/api's probe of the engine while the API is under load: the engine
 * worker's apply-latency histogram (feed receive -> applied in shared
 * memory, one trade in 64, in its metrics slot) is snapshotted, SECONDS
 * pass, and the difference is printed: count and p50/p99/p99.9 in µs.
 *
 *   api_engine SEGMENT SECONDS [ROLE]     (ROLE default engine.0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/hist.h"
#include "shm/metrics.h"
#include "shm/segment.h"

int main(int argc, char **argv)
{
	const char *role = argc > 3 ? argv[3] : "engine.0";
	static struct tk_hist a, b;
	struct tk_role_slot *s = NULL;
	struct tk_metrics_region *mr;
	struct tk_segment seg;
	unsigned i;

	if (argc < 3) {
		fprintf(stderr, "usage: api_engine SEGMENT SECONDS [ROLE]\n");
		return 2;
	}
	if (tk_segment_attach(&seg, argv[1], TK_ATTACH_READER) < 0 || (mr = tk_metrics_of(&seg)) == NULL) {
		fprintf(stderr, "api_engine: cannot attach %s\n", argv[1]);
		return 1;
	}
	for (i = 0; i < TK_METRICS_SLOTS; i++)
		if (mr->slot[i].pid != 0 && strcmp(mr->slot[i].role, role) == 0)
			s = &mr->slot[i];
	if (s == NULL) {
		fprintf(stderr, "api_engine: no metrics slot of %s\n", role);
		return 1;
	}
	memcpy(&a, &s->hist[0].h, sizeof(a));
	tk_sleep_ns((int64_t)(atof(argv[2]) * 1e9));
	memcpy(&b, &s->hist[0].h, sizeof(b));
	b.count = 0;
	for (i = 0; i < TK_HIST_BUCKETS; i++) {
		b.buckets[i] -= a.buckets[i];
		b.count += b.buckets[i];
	}
	b.max = UINT64_MAX; /* percentiles from the buckets alone */
	b.min = 0;
	printf("%llu %.1f %.1f %.1f\n", (unsigned long long)b.count,
	       (double)tk_hist_percentile(&b, 50) / 1e3, (double)tk_hist_percentile(&b, 99) / 1e3,
	       (double)tk_hist_percentile(&b, 99.9) / 1e3);
	tk_segment_detach(&seg);
	return 0;
}

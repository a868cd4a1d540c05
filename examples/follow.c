/*
 * follow: the smallest useful tickd reader, built outside the tree:
 *
 *     cc follow.c -o follow $(pkg-config --cflags --libs tickd)
 *     ./follow ticks.0 [count]
 *
 * Attaches read-only to the running tickd segment ($TICKD_SHM_PATH or
 * /dev/shm/tickd), follows a log from its oldest record and prints every
 * trade; reports anything it was too slow to see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <tickd.h>

int main(int argc, char **argv)
{
	const char *log = argc > 1 ? argv[1] : "ticks.0";
	long long want = argc > 2 ? atoll(argv[2]) : -1, seen = 0;
	struct tickd_follow_opts opts = { .from_start = 1 };
	struct tickd_record rec;
	tickd_segment *seg;
	tickd_follower *f;

	if (tickd_attach(NULL, &seg) < 0 || tickd_follow(seg, log, &opts, &f) < 0) {
		fprintf(stderr, "follow: %s\n", tickd_last_error());
		return 1;
	}
	while (want < 0 || seen < want) {
		int rc = tickd_next(f, &rec, 5000);

		if (rc == TICKD_NEXT_NONE) {
			fprintf(stderr, "follow: nothing for 5 s\n");
			break;
		}
		if (rc == TICKD_NEXT_GAP) {
			fprintf(stderr, "follow: missed sequences %llu..%llu\n",
				(unsigned long long)rec.gap_from, (unsigned long long)rec.gap_to - 1);
			continue;
		}
		if (rec.type == TICKD_REC_TICK) {
			const struct tickd_tick *t = rec.data;
			const char *sym = tickd_symbol_name(seg, (int32_t)rec.aux);

			printf("%llu %s %.2f x %g at %lld\n", (unsigned long long)rec.seq,
			       sym ? sym : "?", t->price, t->size, (long long)(t->ts_ns / 1000000));
			seen++;
		}
	}
	tickd_unfollow(f);
	tickd_detach(seg);
	return 0;
}

/*
 * bars: print a bar log (or any log) as the JSON lines `tickd tail` prints,
 * built outside the tree:
 *
 *     cc bars.c -o bars $(pkg-config --cflags --libs tickd)
 *     ./bars bars.1m            what the log holds now, oldest first, then exit
 *     ./bars bars.1m --follow   and then every bar as it closes (Ctrl-C to stop)
 *
 * The same bytes as `tickd tail bars.1m --from-start --no-follow`, because
 * both use the library's one renderer, tickd_record_json().  Reports on
 * stderr what it was too slow to see, as tail does.
 */
#include <stdio.h>
#include <string.h>
#include <tickd.h>

int main(int argc, char **argv)
{
	const char *log = "bars.1m";
	struct tickd_follow_opts opts = { .from_start = 1 };
	struct tickd_record rec;
	tickd_segment *seg;
	tickd_follower *f;
	uint64_t end;
	int follow = 0, i, rc = 0;
	char line[1024];

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0)
			follow = 1;
		else if (argv[i][0] != '-')
			log = argv[i];
		else {
			fprintf(stderr, "usage: bars [LOG] [--follow]\n");
			return 2;
		}
	}
	if (tickd_attach(NULL, &seg) < 0) {
		fprintf(stderr, "bars: %s\n", tickd_last_error());
		return 1;
	}
	if (tickd_follow(seg, log, &opts, &f) < 0) {
		fprintf(stderr, "bars: %s\n", tickd_last_error());
		tickd_detach(seg);
		return 1;
	}
	/* Without --follow: what was written when we started. */
	end = tickd_write_seq(f);
	for (;;) {
		int n = tickd_next(f, &rec, follow ? -1 : 0);

		if (n == TICKD_NEXT_NONE)
			break;
		if (n == TICKD_NEXT_GAP) {
			fprintf(stderr, "bars: lapped: sequences %llu to %llu were overwritten before "
				"they could be read\n", (unsigned long long)rec.gap_from,
				(unsigned long long)rec.gap_to - 1);
			continue;
		}
		if (!follow && rec.seq > end)
			break;
		if (rec.type != TICKD_REC_HEARTBEAT) { /* tail leaves heartbeats out too */
			int len = tickd_record_json(seg, &rec, line, sizeof(line));

			if (len < 0) {
				fprintf(stderr, "bars: %s\n", tickd_last_error());
				rc = 1;
				break;
			}
			line[len] = '\n';
			if (fwrite(line, 1, (size_t)len + 1, stdout) != (size_t)len + 1)
				break;
		}
		if (!follow && rec.seq == end)
			break;
	}
	tickd_unfollow(f);
	tickd_detach(seg);
	return rc;
}

/* tickd stats: counters of every log and reader. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/config.h"
#include "common/opts.h"
#include "tools/tools.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd stats [--json] [--interval MS] [--shm-path PATH]\n"
		"Per log: write sequence, rate, writer waits, releases; per reader: state,\n"
		"cursor, lag, skips and releases.  The rate is measured over --interval\n"
		"(default 250 ms).\n");
}

int tk_cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, 0, 'j' },       { "interval", required_argument, 0, 'i' },
		{ "shm-path", required_argument, 0, 'p' }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	static struct tk_log_stats logs[TK_SEG_MAX_LOGS];
	double rate[TK_SEG_MAX_LOGS];
	const char *path = NULL;
	struct tk_segment seg;
	bool json = false;
	uint64_t interval_ms = 250;
	size_t n, i;
	uint32_t j;
	int c;

	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'i': interval_ms = tk_opt_u64("--interval", optarg, 1, 60000); break;
		case 'p': path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (tk_tool_attach(&seg, path) < 0)
		return 1;
	n = tk_collect_stats(&seg, logs, TK_SEG_MAX_LOGS, rate, (double)interval_ms / 1e3, true);
	if (json) {
		size_t cap = 4096 + n * (512 + TK_STATS_MAX_READERS * 384);
		char *mem = malloc(cap);
		struct tk_buf b;

		tk_buf_init(&b, mem, cap);
		tk_render_stats_json(&b, &seg, logs, rate, n);
		puts(mem);
		free(mem);
	} else {
		for (i = 0; i < n; i++) {
			printf("log %-16s seq %-12llu %10.0f/s  writer pid %d%s  waits %llu (%.1f ms)  "
			       "released %llu dead, %llu stalled\n",
			       logs[i].name, (unsigned long long)logs[i].write_seq, rate[i],
			       (int)logs[i].writer_pid, logs[i].writer_alive ? "" : " (gone)",
			       (unsigned long long)logs[i].writer_waits,
			       (double)logs[i].writer_wait_ns / 1e6,
			       (unsigned long long)logs[i].releases_dead,
			       (unsigned long long)logs[i].releases_stall);
			for (j = 0; j < logs[i].nreaders; j++) {
				const struct tk_reader_stats *r = &logs[i].readers[j];

				printf("  reader %-16s %-8s %-7s pid %-7d%s cursor %-12llu lag %-10llu "
				       "skipped %llu, released %llu\n",
				       r->name, tk_reader_state_name(r->state),
				       !r->gating ? "follow" : r->release_on_stall ? "release" : "hold",
				       (int)r->pid, r->alive ? "" : " (gone)",
				       (unsigned long long)r->cursor, (unsigned long long)r->lag,
				       (unsigned long long)r->skipped, (unsigned long long)r->releases);
			}
		}
		tk_print_feeds(&seg);
	}
	tk_segment_detach(&seg);
	return 0;
}

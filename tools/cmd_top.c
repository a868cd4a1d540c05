/* tickd top: a live terminal view of the logs and readers. */
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/opts.h"
#include "tools/tools.h"

static volatile sig_atomic_t tk__top_stop;

static void on_signal(int sig)
{
	(void)sig;
	tk__top_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd top [--interval MS] [--iterations N] [--shm-path PATH]\n"
		"Live view of every log (rate, sequence, writer waits) and reader (lag, skips,\n"
		"releases), refreshed every --interval (default 1000 ms).  q or Ctrl-C quits.\n");
}

static void draw(const struct tk_segment *seg, const struct tk_log_stats *logs,
		 const double *rate, size_t n)
{
	char when[32];
	time_t now = time(NULL);
	size_t i;
	uint32_t j;

	strftime(when, sizeof(when), "%H:%M:%S", gmtime(&now));
	/* Home the cursor and clear: one write per frame, no flicker. */
	printf("\x1b[H\x1b[2J");
	printf("tickd top  %s  %s UTC  symbols %u\n\n", seg->path, when,
	       tk_symtab_count(tk_symtab_of(seg)));
	printf("%-16s %12s %14s %8s %10s %8s %8s\n", "LOG", "RATE/s", "SEQ", "WRITER", "WAIT ms",
	       "REL.DEAD", "REL.STALL");
	for (i = 0; i < n; i++) {
		printf("%-16s %12.0f %14llu %8d %10.1f %8llu %8llu\n", logs[i].name, rate[i],
		       (unsigned long long)logs[i].write_seq, (int)logs[i].writer_pid,
		       (double)logs[i].writer_wait_ns / 1e6, (unsigned long long)logs[i].releases_dead,
		       (unsigned long long)logs[i].releases_stall);
		for (j = 0; j < logs[i].nreaders; j++) {
			const struct tk_reader_stats *r = &logs[i].readers[j];

			printf("  %-14s %-8s %-7s pid %-7d %-5s lag %-10llu skipped %-10llu rel %llu\n",
			       r->name, tk_reader_state_name(r->state),
			       !r->gating ? "follow" : r->release_on_stall ? "release" : "hold",
			       (int)r->pid, r->alive ? "alive" : "gone", (unsigned long long)r->lag,
			       (unsigned long long)r->skipped, (unsigned long long)r->releases);
		}
	}
	printf("\n");
	tk_print_feeds(seg);
	printf("\nq to quit\n");
	fflush(stdout);
}

int tk_cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, 0, 'i' }, { "iterations", required_argument, 0, 'n' },
		{ "shm-path", required_argument, 0, 'p' }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	static struct tk_log_stats logs[TK_SEG_MAX_LOGS];
	double rate[TK_SEG_MAX_LOGS];
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO);
	const char *path = NULL;
	struct tk_segment seg;
	uint64_t interval_ms = 1000, iterations = 0, done = 0;
	int c;

	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': interval_ms = tk_opt_u64("--interval", optarg, 50, 60000); break;
		case 'n': iterations = tk_opt_u64("--iterations", optarg, 1, UINT64_MAX); break;
		case 'p': path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (tk_tool_attach(&seg, path) < 0)
		return 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	while (!tk__top_stop && (iterations == 0 || done < iterations)) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		size_t n = tk_collect_stats(&seg, logs, TK_SEG_MAX_LOGS, rate,
					    (double)interval_ms / 1e3, true);

		draw(&seg, logs, rate, n);
		done++;
		if (tty && poll(&pfd, 1, 0) > 0) {
			char ch;

			if (read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
				break;
		}
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	tk_segment_detach(&seg);
	return 0;
}

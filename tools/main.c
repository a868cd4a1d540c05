/* tickd: the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "tools/tools.h"

static const struct tk_cmd tk_cmds[] = {
	{ "run", tk_cmd_run, "create the segment, start and supervise the engine and the feed" },
	{ "feed", tk_cmd_feed, "a feed handler: write trades into a tick log (synth, replay, finnhub)" },
	{ "subscribe", tk_cmd_subscribe, "ask a feed to subscribe to symbols on its live connection" },
	{ "unsubscribe", tk_cmd_unsubscribe, "ask a feed to unsubscribe from symbols" },
	{ "mock-finnhub", tk_cmd_mock_finnhub, "a Finnhub look-alike WebSocket server for tests and demos" },
	{ "engine", tk_cmd_engine, "an engine worker: bars, indicators and signals in place" },
	{ "init", tk_cmd_init, "create the shared-memory segment" },
	{ "info", tk_cmd_info, "print the segment's header and regions" },
	{ "clean", tk_cmd_clean, "remove the segment" },
	{ "tail", tk_cmd_tail, "print a log as JSON lines, following it like tail -f" },
	{ "stats", tk_cmd_stats, "counters of every log and reader (--json: one object)" },
	{ "top", tk_cmd_top, "live view of the logs and readers, refreshed every second" },
	{ "persist", tk_cmd_persist, "the journal: write every log to disk with io_uring, durably" },
	{ "export", tk_cmd_export, "records of the journal as JSON lines or CSV, by day, time, symbol" },
	{ "journal", tk_cmd_journal, "verify [--repair]: check every file of the journal" },
	{ "api", tk_cmd_api, "the HTTP API: quotes, bars, indicators, signals and history" },
	{ "kafka", tk_cmd_kafka, "the publisher: every tick, bar and signal to Kafka, exactly once" },
	{ "config", tk_cmd_config, "the effective value of every setting and where it came from" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: tickd <command> [options]   (tickd <command> --help for its options;\n"
		     "       tickd --version: the version and the allocator)\n\n"
		     "commands:\n");
	for (i = 0; i < sizeof(tk_cmds) / sizeof(tk_cmds[0]); i++)
		fprintf(out, "  %-8s %s\n", tk_cmds[i].name, tk_cmds[i].summary);
	fprintf(out, "\nThe segment is /dev/shm/tickd unless --shm-path or TICKD_SHM_PATH names "
		     "another.\nSettings: flag > environment > configuration file (tickd --config FILE "
		     "<command>,\n--config FILE after the command, or TICKD_CONFIG) > default; tickd "
		     "config shows them.\n");
}

/*
 * The allocator of this process, asked at run time: mallctl answers only if
 * jemalloc is loaded, and this thread's allocation counter grows by a
 * malloc only if malloc is jemalloc's (not libc's, as a link order that put
 * libc first would make it).  Every role is this binary, so what `tickd
 * --version` says holds for each of them (tests/system/allocator_test.sh).
 */
static void tk__allocator(char *out, size_t cap)
{
	const char *version = NULL;
	uint64_t before = 0, after = 0;
	size_t len = sizeof(version), n = sizeof(before);
	void *p;

	if (mallctl("version", &version, &len, NULL, 0) != 0 || version == NULL) {
		snprintf(out, cap, "not jemalloc");
		return;
	}
	if (mallctl("thread.allocated", &before, &n, NULL, 0) != 0) {
		snprintf(out, cap, "jemalloc %s (malloc not checked: no stats)", version);
		return;
	}
	p = malloc(1 << 16);
	/* Keep the compiler from eliding the malloc/free pair. */
	__asm__ volatile("" : : "r"(p) : "memory");
	mallctl("thread.allocated", &after, &n, NULL, 0);
	free(p);
	snprintf(out, cap, "jemalloc %s%s", version,
		 p != NULL && after - before >= (1 << 16) ? "" : " (loaded, but malloc is not jemalloc's)");
}

int main(int argc, char **argv)
{
	size_t i;

	/* `tickd --config FILE <command>`: the file of every command (and of the
	 * children of tickd run), as TICKD_CONFIG is. */
	while (argc >= 2 && (strcmp(argv[1], "--config") == 0 || strncmp(argv[1], "--config=", 9) == 0)) {
		const char *file = argv[1][8] == '=' ? argv[1] + 9 : argc >= 3 ? argv[2] : NULL;

		if (file == NULL) {
			fprintf(stderr, "tickd: --config: needs a FILE\n");
			return 2;
		}
		setenv("TICKD_CONFIG", file, 1);
		argc -= argv[1][8] == '=' ? 1 : 2;
		argv += argv[1][8] == '=' ? 1 : 2;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		char alloc[160];

		tk__allocator(alloc, sizeof(alloc));
		printf("tickd %s\nallocator: %s\n", TK_TICKD_VERSION, alloc);
		return 0;
	}
	for (i = 0; i < sizeof(tk_cmds) / sizeof(tk_cmds[0]); i++)
		if (strcmp(argv[1], tk_cmds[i].name) == 0)
			return tk_cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "tickd: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

/* tickd tail: print a log as JSON lines, following it like tail -f. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/config.h"
#include "common/opts.h"
#include "shm/idle.h"
#include "shm/records.h"
#include "shm/render.h"
#include "tools/tools.h"

static volatile sig_atomic_t tk__tail_stop;

static void on_signal(int sig)
{
	(void)sig;
	tk__tail_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd tail [LOG] [options]\n"
		"Print LOG (default ticks.0) as JSON lines, one record a line, following it\n"
		"like tail -f.  Without --from-start it starts at the last --count records\n"
		"(10 if not given).  Lapped (too slow to keep up): the missed sequences are\n"
		"reported on stderr.\n\n"
		"  --no-follow       print what is there and exit\n"
		"  --count N         stop after N records\n"
		"  --from-start      start at the oldest record still in the ring\n"
		"  --symbol S        only this symbol's trades\n"
		"  --heartbeats      also print the feed's heartbeats\n"
		"  --name NAME       register as reader NAME (shown in stats; resumes there)\n"
		"  --gating          with --name: never be overwritten (holds the writer back)\n"
		"  --idle KIND       block (default), backoff or spin\n"
		"  --shm-path PATH   segment file (default $TICKD_SHM_PATH or /dev/shm/tickd)\n");
}

int tk_cmd_tail(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-follow", no_argument, 0, 'N' },  { "count", required_argument, 0, 'c' },
		{ "from-start", no_argument, 0, 'F' }, { "symbol", required_argument, 0, 's' },
		{ "heartbeats", no_argument, 0, 'b' }, { "name", required_argument, 0, 'n' },
		{ "gating", no_argument, 0, 'g' },     { "idle", required_argument, 0, 'i' },
		{ "shm-path", required_argument, 0, 'p' }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	const char *path = NULL, *logname = "ticks.0", *symbol = NULL;
	struct tk_reader_opts ro = { 0 };
	bool follow = true, from_start = false, heartbeats = false;
	enum tk_idle_kind idle_kind = TK_IDLE_BLOCK;
	uint64_t count = 0, printed = 0, end_seq = 0;
	struct tk_symtab_region *symbols;
	struct tk_log_region *log;
	struct tk_log_reader r;
	struct tk_segment seg;
	struct tk_idle idle;
	struct tk_slot *slot;
	char line[1024];
	int c, rc;

	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'N': follow = false; break;
		case 'c': count = tk_opt_u64("--count", optarg, 1, UINT64_MAX); break;
		case 'F': from_start = true; break;
		case 's': symbol = optarg; break;
		case 'b': heartbeats = true; break;
		case 'n': ro.name = optarg; break;
		case 'g': ro.gating = true; break;
		case 'i':
			if (tk_idle_parse(optarg, &idle_kind) < 0)
				tk_opt_fail("--idle", "'%s' is not one of block, backoff, spin", optarg);
			break;
		case 'p': path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		logname = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "tickd tail: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (ro.gating && ro.name == NULL)
		tk_opt_fail("--gating", "needs --name (a gating reader keeps a cursor)");
	if (tk_tool_attach(&seg, path) < 0)
		return 1;
	log = tk_log_find(&seg, logname);
	if (log == NULL) {
		uint32_t i;

		fprintf(stderr, "tickd tail: no log named '%s'; this segment has:", logname);
		for (i = 0; i < seg.hdr->config.nlogs; i++)
			fprintf(stderr, " %s", seg.hdr->config.logs[i].name);
		fprintf(stderr, "\n");
		return 1;
	}
	if (from_start) {
		ro.start = TK_START_OLDEST;
	} else {
		uint64_t w = tk_log_write_seq(log), back = count ? count : 10;

		ro.start = TK_START_SEQ;
		ro.start_seq = w >= back ? w - back + 1 : 1;
		if (ro.start_seq < tk_log_oldest(log))
			ro.start_seq = tk_log_oldest(log);
	}
	if (ro.name != NULL && !from_start)
		ro.start = TK_START_RESUME;
	rc = tk_log_reader_open(&r, &seg, logname, &ro);
	if (rc < 0) {
		fprintf(stderr, "tickd tail: %s\n", tk_err_msg());
		return 1;
	}
	if (!follow)
		end_seq = tk_log_write_seq(log);
	symbols = tk_symtab_of(&seg);
	slot = aligned_alloc(64, r.slot_size);
	tk_idle_init(&idle, idle_kind);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, on_signal);
	while (!tk__tail_stop && (count == 0 || printed < count)) {
		if (!follow && r.next > end_seq)
			break;
		rc = tk_log_read(&r, slot);
		if (rc == TK_LOG_EMPTY) {
			if (!follow)
				break;
			fflush(stdout);
			tk_log_reader_commit(&r);
			tk_log_reader_heartbeat(&r);
			tk_idle_wait(&idle, &r, 200 * 1000 * 1000);
			continue;
		}
		tk_idle_reset(&idle);
		if (rc == TK_LOG_LAPPED) {
			fprintf(stderr, "tickd tail: lapped: sequences %llu to %llu were overwritten "
				"before they could be read (%llu missed so far)\n",
				(unsigned long long)r.gap_from, (unsigned long long)r.gap_to - 1,
				(unsigned long long)r.skipped);
			continue;
		}
		if (slot->type == TK_REC_HEARTBEAT && !heartbeats)
			continue;
		if (symbol != NULL) {
			const char *name;

			if (slot->type != TK_REC_TICK)
				continue;
			name = tk_symtab_name(symbols, (int32_t)slot->aux);
			if (name == NULL || strcmp(name, symbol) != 0)
				continue;
		}
		{
			struct tk_buf b;

			tk_buf_init(&b, line, sizeof(line));
			tk_render_json(&b, slot->seq, slot->type, slot->aux, slot->data,
				       r.slot_size - TK_SLOT_HEADER, symbols);
			tk_buf_put(&b, "\n", 1);
			if (fwrite(line, 1, b.len, stdout) != b.len)
				break;
			printed++;
		}
		if ((printed & 1023) == 0)
			tk_log_reader_commit(&r);
	}
	fflush(stdout);
	tk_log_reader_close(&r);
	free(slot);
	tk_segment_detach(&seg);
	return 0;
}

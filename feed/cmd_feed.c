/* tickd feed: a feed handler process writing ticks and heartbeats into a tick log. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"
#include "common/opts.h"
#include "feed/synth.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/records.h"
#include "shm/symtab.h"
#include "tools/tools.h"

static volatile sig_atomic_t tk__feed_stop;

static void on_signal(int sig)
{
	(void)sig;
	tk__feed_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd feed --source synth [options]\n"
		"Write trades and heartbeats into a tick log of the segment.\n\n"
		"  --source synth      the synthetic market (Finnhub and replay come with the feed issue)\n"
		"  --seed S            generator seed (default 1): same seed, same trades\n"
		"  --symbols N         number of symbols, 1..10000 (default 8)\n"
		"  --rate R            trades per second of the generator's clock (default 1000)\n"
		"  --count N           stop after N trades and write an end-of-stream heartbeat\n"
		"  --speed X|max       X times real time (default 1), or as fast as the log takes them\n"
		"  --start EPOCH|now   the generator clock's origin, epoch seconds (default\n"
		"                      1704205800 = 2024-01-02T14:30:00Z; `now` for live demos)\n"
		"  --log NAME          tick log to write (default ticks.0)\n"
		"  --feed-id N         this feed's number in its records (default 0)\n"
		"  --heartbeat-ms MS   heartbeat period in generator time (default 100)\n"
		"  --shm-path PATH     segment file (default $TICKD_SHM_PATH or /dev/shm/tickd)\n");
}

struct tk_feed_out {
	struct tk_log_writer w;
	struct tk_idle idle;
	uint32_t feed;
};

/* Write one record, waiting (backoff) while gating readers hold the log. */
static void tk__put(struct tk_feed_out *o, uint32_t type, uint32_t aux, const void *data,
		    uint32_t len)
{
	while (tk_log_write(&o->w, type, aux, data, len) == TK_LOG_FULL && !tk__feed_stop)
		tk_idle_wait(&o->idle, NULL, 0);
	tk_idle_reset(&o->idle);
}

static void tk__heartbeat(struct tk_feed_out *o, int64_t clock, uint32_t flags)
{
	struct tk_heartbeat hb = { .clock_ns = clock, .flags = flags, .feed = o->feed };

	tk__put(o, TK_REC_HEARTBEAT, 0, &hb, sizeof(hb));
}

int tk_cmd_feed(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "source", required_argument, 0, 'S' },  { "seed", required_argument, 0, 's' },
		{ "symbols", required_argument, 0, 'n' }, { "rate", required_argument, 0, 'r' },
		{ "count", required_argument, 0, 'c' },   { "speed", required_argument, 0, 'x' },
		{ "start", required_argument, 0, 't' },   { "log", required_argument, 0, 'l' },
		{ "feed-id", required_argument, 0, 'f' }, { "heartbeat-ms", required_argument, 0, 'b' },
		{ "shm-path", required_argument, 0, 'p' }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	static struct tk_synth gen;
	static int32_t ids[TK_SYNTH_MAX_SYMBOLS];
	const char *path = tk_segment_default_path(), *logname = "ticks.0", *source = NULL;
	struct tk_synth_cfg cfg;
	struct tk_feed_out out = { 0 };
	struct tk_segment seg;
	struct tk_log_region *log;
	struct tk_symtab_region *tab;
	uint64_t count = 0, written = 0;
	double speed = 1.0; /* <= 0: as fast as possible */
	int64_t hb_ns = 100 * 1000 * 1000LL, next_hb, wall0, last_ts;
	uint32_t i;
	int c;

	tk_synth_cfg_default(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': source = optarg; break;
		case 's': cfg.seed = tk_opt_u64("--seed", optarg, 0, UINT64_MAX); break;
		case 'n': cfg.nsymbols = (uint32_t)tk_opt_u64("--symbols", optarg, 1, TK_SYNTH_MAX_SYMBOLS); break;
		case 'r': cfg.rate = tk_opt_double("--rate", optarg, 1e-3, 1e9); break;
		case 'c': count = tk_opt_u64("--count", optarg, 1, UINT64_MAX); break;
		case 'x':
			speed = strcmp(optarg, "max") == 0 ? 0 : tk_opt_double("--speed", optarg, 1e-3, 1e6);
			break;
		case 't':
			cfg.start_ns = strcmp(optarg, "now") == 0
					       ? tk_wall_ns() / 1000000000LL * 1000000000LL
					       : (int64_t)tk_opt_u64("--start", optarg, 946684800, 4102444799) *
							 1000000000LL;
			break;
		case 'l': logname = optarg; break;
		case 'f': out.feed = (uint32_t)tk_opt_u64("--feed-id", optarg, 0, 255); break;
		case 'b': hb_ns = (int64_t)tk_opt_u64("--heartbeat-ms", optarg, 1, 60000) * 1000000; break;
		case 'p': path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (source == NULL || strcmp(source, "synth") != 0)
		tk_opt_fail("--source", "'%s' is not a source this build has (synth)",
			    source ? source : "");
	if (tk_synth_init(&gen, &cfg) < 0)
		tk_opt_fail("feed", "%s", tk_err_msg());
	tk_msg_set_role("feed");
	if (tk_segment_attach(&seg, path, TK_ATTACH_WRITER) < 0) {
		tk_error("%s", tk_err_msg());
		return 1;
	}
	log = tk_log_find(&seg, logname);
	if (log == NULL) {
		tk_error("segment %s has no log named '%s'", path, logname);
		return 1;
	}
	if (tk_log_writer_open(&out.w, log) < 0) {
		tk_error("%s", tk_err_msg());
		return 1;
	}
	tab = tk_symtab_of(&seg);
	for (i = 0; i < cfg.nsymbols; i++) {
		const char *name = tk_synth_symbol(&gen, i);

		ids[i] = tk_symtab_intern(tab, name, (uint32_t)strlen(name));
		if (ids[i] < 0) {
			tk_error("cannot add symbol %s: the symbol table is %s", name,
				 ids[i] == -ENOSPC ? "full (raise --symbols at tickd init)" : "refusing it");
			return 1;
		}
	}
	tk_idle_init(&out.idle, TK_IDLE_BACKOFF);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	tk_info("synthetic feed: seed %llu, %u symbols, %.0f trades/s of feed time, speed %s, "
		"into %s",
		(unsigned long long)cfg.seed, cfg.nsymbols, cfg.rate, speed > 0 ? "paced" : "max",
		logname);

	wall0 = tk_mono_ns();
	next_hb = cfg.start_ns + hb_ns;
	last_ts = cfg.start_ns;
	while (!tk__feed_stop && (count == 0 || written < count)) {
		struct tk_synth_trade t;
		struct tk_tick tick;

		tk_synth_next(&gen, &t);
		/* Heartbeats carry the feed's clock at every period it passes. */
		while (next_hb <= t.ts_ns && !tk__feed_stop) {
			if (speed > 0) {
				int64_t due = wall0 + (int64_t)((double)(next_hb - cfg.start_ns) / speed);
				int64_t now = tk_mono_ns();

				if (due > now)
					tk_sleep_ns(due - now);
			}
			tk__heartbeat(&out, next_hb, 0);
			next_hb += hb_ns;
		}
		if (speed > 0) {
			int64_t due = wall0 + (int64_t)((double)(t.ts_ns - cfg.start_ns) / speed);
			int64_t now = tk_mono_ns();

			if (due > now + 20000)
				tk_sleep_ns(due - now);
		}
		memset(&tick, 0, sizeof(tick));
		tick.ts_ns = t.ts_ns;
		tick.price = t.price;
		tick.size = t.size;
		tick.recv_ns = tk_wall_ns();
		tick.feed = out.feed;
		tk__put(&out, TK_REC_TICK, (uint32_t)ids[t.symbol], &tick, sizeof(tick));
		last_ts = t.ts_ns;
		written++;
	}
	if (count != 0 && written == count) {
		/* End of a finite stream: readers close every open bar. */
		tk__heartbeat(&out, last_ts, TK_HEARTBEAT_F_END);
		tk_info("end of stream after %llu trades (feed clock %lld ms)",
			(unsigned long long)written, (long long)(last_ts / 1000000));
	}
	tk_log_writer_close(&out.w);
	tk_segment_detach(&seg);
	return 0;
}

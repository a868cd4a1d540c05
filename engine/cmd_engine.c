/* tickd engine: one pinned worker computing bars, indicators and signals in place. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/err.h"
#include "common/msg.h"
#include "common/opts.h"
#include "engine/worker.h"
#include "engine/cmd.h"

static volatile int tk__engine_stop;

static void on_signal(int sig)
{
	(void)sig;
	tk__engine_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd engine [options]\n"
		"One engine worker: applies the ticks of its shard to bars, indicators and\n"
		"signals in the segment, and writes closed bars to bars.<tf> and signals.\n\n"
		"  --shard I --shards N   this worker's shard (default 0 of 1)\n"
		"  --cpu C                pin to cpu C (bare metal; default: not pinned)\n"
		"  --idle KIND            backoff (default), spin (pinned cores) or block\n"
		"  --timeframes LIST      default 1s,1m,5m,1h (env TIMEFRAMES); as the segment was made\n"
		"  --watermark SECONDS    lateness before a window closes (env WATERMARK_SECONDS, 2);\n"
		"                         each symbol keeps ceil(SECONDS / tf) + 1 older windows of a\n"
		"                         timeframe tf open, 80 bytes each: 60 s with 1s bars is\n"
		"                         4.9 KB a symbol, touched only by symbols that trade\n"
		"  --pct-change X         pct_change signal threshold (env SIGNAL_PCT_CHANGE, 0.01)\n"
		"  --pct-timeframes LIST  where pct_change is evaluated (default 1m)\n"
		"  --exit-at-end          exit once every tick log has ended (a finite source)\n"
		"  --shm-path PATH        segment file (default $TICKD_SHM_PATH or /dev/shm/tickd)\n");
}

int tk_cmd_engine(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "shard", required_argument, 0, 'i' },   { "shards", required_argument, 0, 'n' },
		{ "cpu", required_argument, 0, 'c' },     { "idle", required_argument, 0, 'I' },
		{ "timeframes", required_argument, 0, 't' }, { "watermark", required_argument, 0, 'w' },
		{ "pct-change", required_argument, 0, 'x' }, { "pct-timeframes", required_argument, 0, 'P' },
		{ "exit-at-end", no_argument, 0, 'e' },   { "shm-path", required_argument, 0, 'p' },
		{ "help", no_argument, 0, 'h' },          { 0, 0, 0, 0 }
	};
	const char *path = tk_segment_default_path();
	const char *tfs = NULL, *pct_tfs = "1m";
	struct tk_worker_cfg cfg;
	struct tk_segment seg;
	static struct tk_worker w;
	int64_t ptf[TK_MAX_TF];
	int cpu = -1, c, n, k, rc;
	uint32_t t;

	tk_worker_cfg_default(&cfg);
	/* The file and the environment (TIMEFRAMES, WATERMARK_SECONDS,
	 * SIGNAL_PCT_CHANGE) arrive as options before the real ones. */
	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': cfg.shard = (uint32_t)tk_opt_u64("--shard", optarg, 0, 63); break;
		case 'n': cfg.shards = (uint32_t)tk_opt_u64("--shards", optarg, 1, 64); break;
		case 'c': cpu = (int)tk_opt_u64("--cpu", optarg, 0, 4095); break;
		case 'I':
			if (tk_idle_parse(optarg, &cfg.idle) < 0)
				tk_opt_fail("--idle", "'%s' is not one of backoff, spin, block", optarg);
			break;
		case 't': tfs = optarg; break;
		/* Checked as they come, so a bad value in the file is refused even
		 * where a flag overrides it (and named by its file line). */
		case 'w':
			cfg.lateness_ns = (int64_t)(tk_opt_double("--watermark", optarg, 0, 3600) * 1e9);
			break;
		case 'x': cfg.ind.pct_threshold = tk_opt_double("--pct-change", optarg, 1e-9, 100); break;
		case 'P': pct_tfs = optarg; break;
		case 'e': cfg.exit_at_end = true; break;
		case 'p': path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (cfg.shard >= cfg.shards)
		tk_opt_fail("--shard", "%u is not below --shards %u", cfg.shard, cfg.shards);
	if (tfs != NULL && *tfs != '\0') {
		n = tk_timeframes_parse(tfs, cfg.tf_ns, TK_MAX_TF);
		if (n < 0)
			tk_opt_fail("--timeframes", "%s", tk_err_msg());
		cfg.ntf = (uint32_t)n;
	}
	n = tk_timeframes_parse(pct_tfs, ptf, TK_MAX_TF);
	if (n < 0)
		tk_opt_fail("--pct-timeframes", "%s", tk_err_msg());
	cfg.pct_tf_mask = 0;
	for (k = 0; k < n; k++) {
		for (t = 0; t < cfg.ntf && cfg.tf_ns[t] != ptf[k]; t++)
			;
		if (t == cfg.ntf)
			tk_opt_fail("--pct-timeframes", "a timeframe of it is not among the timeframes");
		cfg.pct_tf_mask |= 1u << t;
	}
	if (tk_ind_cfg_validate(&cfg.ind) < 0)
		tk_opt_fail("indicators", "%s", tk_err_msg());

	{
		char role[32];

		snprintf(role, sizeof(role), "engine.%u", cfg.shard);
		tk_msg_set_role(role);
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			tk_opt_fail("--cpu", "cannot pin to cpu %d", cpu);
	}
	if (tk_segment_attach(&seg, path, TK_ATTACH_WRITER) < 0) {
		tk_error("%s", tk_err_msg());
		return 1;
	}
	rc = tk_worker_open(&w, &seg, &cfg);
	if (rc < 0) {
		tk_error("%s", tk_err_msg());
		/* Settings that do not fit the segment (its timeframes, shards, a
		 * checkpoint made with others) or the memory (the open windows of a
		 * lateness): exit 2, so tickd run stops instead of restarting a
		 * worker that cannot start. */
		return rc == -EINVAL || rc == -ENOENT || rc == -ENOMEM || rc == -EPROTO ? 2 : 1;
	}
	{
		char role[32];

		snprintf(role, sizeof(role), "engine.%u", cfg.shard);
		tk_worker_metrics(&w, role);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	tk_info("shard %u of %u: %u timeframes, lateness %.1f s, %u tick log(s)%s", cfg.shard,
		cfg.shards, cfg.ntf, (double)cfg.lateness_ns / 1e9, w.nin,
		w.restored ? ", restored from its checkpoint" : "");
	tk_worker_run(&w, &tk__engine_stop);
	tk_info("applied %llu ticks (%llu late), %llu bars, %llu signals; after the restart %llu "
		"records already written were recomputed identically, %llu differed",
		(unsigned long long)w.stats.ticks, (unsigned long long)w.stats.late,
		(unsigned long long)w.stats.bars, (unsigned long long)w.stats.signals,
		(unsigned long long)w.replay_verified, (unsigned long long)w.replay_mismatch);
	tk_worker_close(&w);
	tk_segment_detach(&seg);
	return 0;
}

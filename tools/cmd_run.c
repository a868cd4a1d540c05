/*
 * tickd run: the embedded default.  Creates (or reuses) the segment, starts
 * the engine workers and the feed as child processes (each the `tickd`
 * binary running its role), restarts a crashed child with a backoff, and
 * stops them all on SIGINT/SIGTERM.  The segment outlives the run: a new
 * `tickd run` resumes on it (data, live state, cursors, checkpoints);
 * `--fresh` starts a new one.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "common/msg.h"
#include "common/opts.h"
#include "shm/feeds.h"
#include "shm/log.h"
#include "tools/tools.h"

#define TK_RUN_MAX_CHILDREN (64 + TK_FEEDS_MAX + 3) /* workers, feeds, journal, publisher, API */
#define TK_RUN_MAX_ARGS 48
#define TK_RUN_STABLE_NS (10 * 1000000000LL) /* a child up this long is not crash-looping */
#define TK_RUN_MAX_QUICK_FAILURES 5

static volatile sig_atomic_t tk__run_stop;

static void on_signal(int sig)
{
	(void)sig;
	tk__run_stop = 1;
}

struct tk_child {
	char name[32];
	char *argv[TK_RUN_MAX_ARGS];
	int argc;
	pid_t pid;
	bool done;         /* exited 0: a finite role that finished */
	int restarts;
	int quick_failures; /* failures in a row, each soon after its start */
	int64_t started_at; /* monotonic ns of the last start */
	int64_t backoff_ns;
	int64_t restart_at; /* monotonic ns, 0: not waiting */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd run [options]\n"
		"Create the segment (or resume on it), start the engine workers and the feed,\n"
		"and supervise them until Ctrl-C.\n\n"
		"  --fresh              start a new segment (the old data is lost)\n"
		"  --source synth|replay:FILE|finnhub|kafka  the feed's source (default: finnhub when\n"
		"                       a token is set, FINNHUB_API_TOKEN or [feed] token; else synth);\n"
		"                       again for more feeds: feed i writes ticks.i as --feed-id i\n"
		"  --feeds N            N feeds (the last --source repeated; synthetic ones get the\n"
		"                       seeds S, S+1, ...); each worker merges them by their clocks\n"
		"  --seed S --rate R --symbols N --count N --speed X|max --start EPOCH|now\n"
		"  --symbol-list LIST --url URL --record FILE --dedupe-window MS --silence S\n"
		"                       handed to the feed (see tickd feed --help); with --count the\n"
		"                       feed runs at speed max unless --speed says otherwise\n"
		"  --shards N           engine workers (default 1)\n"
		"  --cpus A,B,...       pin engine worker i to cpu i of the list (bare metal)\n"
		"  --idle KIND          the workers' idle strategy: backoff (default), spin, block\n"
		"  --duration S         stop after S seconds\n"
		"  --exit-at-end        exit once a finite feed has ended and every worker drained it\n"
		"  --slots N            tick log slots when creating the segment (default 1048576)\n"
		"  --shm-path PATH      segment file (default $TICKD_SHM_PATH or /dev/shm/tickd)\n"
		"  --data-dir DIR       the journal (tickd persist; env TICKD_DATA_DIR, ./tickd-data)\n"
		"  --no-persist         no journal: do not start tickd persist\n"
		"  --kafka SERVERS      also start tickd kafka, the publisher (env\n"
		"                       KAFKA_BOOTSTRAP_SERVERS, KAFKA_BROKER; [kafka] kafka); with\n"
		"                       --source kafka the feed reads them and no publisher starts\n"
		"  --topic T --group G --partitions all|LIST --follow SRC\n"
		"                       handed to a --source kafka feed (see tickd feed --help)\n"
		"  --listen HOST:PORT   the HTTP API, tickd api (env TICKD_API_LISTEN; default\n"
		"                       127.0.0.1:8000; off: no API)\n"
		"  --config FILE        the configuration file (also $TICKD_CONFIG), read by every\n"
		"                       child too: [engine] watermark reaches the workers\n"
		"Settings of the engine (TIMEFRAMES, WATERMARK_SECONDS, SIGNAL_PCT_CHANGE) come from\n"
		"the environment or the file, as for tickd engine; tickd config --role engine\n"
		"shows them.\n");
}

static void tk__arg(struct tk_child *c, const char *a)
{
	if (c->argc < TK_RUN_MAX_ARGS - 1)
		c->argv[c->argc++] = strdup(a);
	c->argv[c->argc] = NULL;
}

static void tk__free_args(struct tk_child *c)
{
	while (c->argc > 0)
		free(c->argv[--c->argc]);
	c->argv[0] = NULL;
}

static void tk__spawn(struct tk_child *c, const char *self)
{
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		/* A terminal's Ctrl-C reaches the whole group: let the supervisor
		 * decide the order of the stop. */
		setpgid(0, 0);
		execv(self, c->argv);
		fprintf(stderr, "tickd run: cannot start %s: %s\n", c->name, strerror(errno));
		_exit(127);
	}
	c->pid = pid;
	c->restart_at = 0;
	c->started_at = tk_mono_ns();
}

/* Wait until every gating reader among kids[0..n) (the engine workers and
 * the journal; each registers under its child's name) has its cursor on
 * ticks.0, so that the feed's first record is already protected. */
static int tk__wait_registered(const char *path, uint32_t n, const struct tk_child *kids)
{
	int64_t deadline = tk_mono_ns() + 10 * 1000000000LL;
	struct tk_segment seg;

	if (tk_segment_attach(&seg, path, TK_ATTACH_READER) < 0)
		return -1;
	while (tk_mono_ns() < deadline && !tk__run_stop) {
		struct tk_log_region *log = tk_log_find(&seg, "ticks.0");
		uint32_t i, j, found = 0;

		for (i = 0; log != NULL && i < n; i++) {
			for (j = 0; j < log->nreaders; j++) {
				struct tk_reader_slot *rs = &tk_log_readers(log)[j];

				if (strcmp(rs->name, kids[i].name) == 0 && rs->pid == kids[i].pid &&
				    tk_load_acquire_32(&rs->state) == TK_READER_ACTIVE)
					found++;
			}
		}
		if (found == n) {
			tk_segment_detach(&seg);
			return 0;
		}
		tk_sleep_ns(5 * 1000 * 1000);
	}
	tk_segment_detach(&seg);
	return -1;
}

int tk_cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "fresh", no_argument, 0, 'f' },        { "source", required_argument, 0, 'S' },
		{ "seed", required_argument, 0, 's' },   { "rate", required_argument, 0, 'r' },
		{ "symbols", required_argument, 0, 'y' }, { "count", required_argument, 0, 'c' },
		{ "speed", required_argument, 0, 'x' },  { "start", required_argument, 0, 't' },
		{ "shards", required_argument, 0, 'n' }, { "cpus", required_argument, 0, 'C' },
		{ "idle", required_argument, 0, 'I' },   { "duration", required_argument, 0, 'd' },
		{ "exit-at-end", no_argument, 0, 'e' },  { "slots", required_argument, 0, 'L' },
		{ "shm-path", required_argument, 0, 'p' }, { "help", no_argument, 0, 'h' },
		{ "symbol-list", required_argument, 0, 'Y' }, { "url", required_argument, 0, 'U' },
		{ "record", required_argument, 0, 'R' }, { "dedupe-window", required_argument, 0, 'D' },
		{ "silence", required_argument, 0, 'Q' }, { "feeds", required_argument, 0, 'F' },
		{ "data-dir", required_argument, 0, 'J' }, { "no-persist", no_argument, 0, 'N' },
		{ "kafka", required_argument, 0, 'K' },
		{ "topic", required_argument, 0, 'T' },  { "group", required_argument, 0, 'G' },
		{ "partitions", required_argument, 0, 'P' }, { "follow", required_argument, 0, 'W' },
		{ "listen", required_argument, 0, 'A' },
		{ 0, 0, 0, 0 }
	};
	static struct tk_child kids[TK_RUN_MAX_CHILDREN];
	const char *symbol_list = NULL, *url = NULL, *record = NULL, *dedupe = NULL, *silence = NULL;
	const char *path = tk_segment_default_path(), *source = NULL, *seed = NULL, *rate = NULL;
	const char *symbols = NULL, *count = NULL, *speed = NULL, *start = NULL, *cpus = NULL;
	const char *idle = NULL, *slots = NULL, *data_dir = "tickd-data", *kafka = NULL;
	const char *topic = NULL, *group = NULL, *partitions = NULL, *follow = NULL;
	const char *listen = "127.0.0.1:8000";
	bool kafka_source = false;
	bool persist = true;
	const char *sources[TK_FEEDS_MAX];
	uint32_t nsources = 0, nfeeds = 1;
	bool sources_from_flags = false;
	char self[4096], buf[64], start_buf[32], logs[TK_FEEDS_MAX * 12];
	bool fresh = false, exit_at_end = false;
	uint32_t shards = 1, i, nkids, pers, napi;
	struct tk_child *eng;
	int64_t duration_ns = 0, t0;
	struct tk_segment seg;
	int c, rc = 0;
	ssize_t n;

	/* The file's [run] settings and the children's settings tickd run hands
	 * over ([feed] seed, [engine] idle, ...) come first; the children read the
	 * rest of the file themselves (TICKD_CONFIG is exported). */
	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': fresh = true; break;
		case 'S':
			/* Repeatable, so precedence by hand: the command line's
			 * sources replace those of the file or the environment. */
			if (tk_config_origin("--source") == NULL && !sources_from_flags) {
				nsources = 0;
				sources_from_flags = true;
			}
			if (nsources == TK_FEEDS_MAX)
				tk_opt_fail("--source", "at most %d feeds", TK_FEEDS_MAX);
			sources[nsources++] = optarg;
			break;
		case 'F': nfeeds = (uint32_t)tk_opt_u64("--feeds", optarg, 1, TK_FEEDS_MAX); break;
		case 's': seed = optarg; break;
		case 'r': rate = optarg; break;
		case 'y': symbols = optarg; break;
		case 'c': count = optarg; break;
		case 'x': speed = optarg; break;
		case 't': start = optarg; break;
		case 'n': shards = (uint32_t)tk_opt_u64("--shards", optarg, 1, 64); break;
		case 'C': cpus = optarg; break;
		case 'I': idle = optarg; break;
		case 'd': duration_ns = tk_opt_duration("--duration", optarg); break;
		case 'e': exit_at_end = true; break;
		case 'L': slots = optarg; break;
		case 'p': path = optarg; break;
		case 'Y': symbol_list = optarg; break;
		case 'U': url = optarg; break;
		case 'R': record = optarg; break;
		case 'D': dedupe = optarg; break;
		case 'Q': silence = optarg; break;
		case 'J': data_dir = optarg; break;
		case 'N': persist = false; break;
		case 'K': kafka = optarg[0] != '\0' ? optarg : NULL; break;
		case 'T': topic = optarg; break;
		case 'G': group = optarg; break;
		case 'P': partitions = optarg; break;
		case 'W': follow = optarg; break;
		case 'A': listen = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (nsources == 0)
		sources[nsources++] = tk_config_value("feed", "token") != NULL ? "finnhub" : "synth";
	/* One feed per --source; --feeds N repeats the last one up to N feeds
	 * (a synthetic one with the next seeds: different markets). */
	if (nfeeds < nsources)
		nfeeds = nsources;
	if (nfeeds > nsources && strcmp(sources[nsources - 1], "synth") != 0)
		tk_opt_fail("--feeds", "repeats only the synthetic source: %u copies of '%s' would "
			    "bring every trade %u times (give each feed its own --source)", nfeeds,
			    sources[nsources - 1], nfeeds);
	for (i = nsources; i < nfeeds; i++)
		sources[i] = sources[nsources - 1];
	for (i = 0; i < nfeeds; i++) {
		const char *src = sources[i];

		if (strcmp(src, "synth") != 0 && strcmp(src, "finnhub") != 0 &&
		    strcmp(src, "kafka") != 0 && !(strncmp(src, "replay:", 7) == 0 && src[7] != '\0'))
			tk_opt_fail("--source", "'%s' is not a source this build has (synth, "
				    "replay:FILE, finnhub, kafka)", src);
		if (strcmp(src, "kafka") == 0) {
			/* The servers are the feed's: a publisher here would send the
			 * trades back to the topic they came from. */
			if (kafka == NULL)
				tk_opt_fail("--source kafka", "no servers: give --kafka HOST:PORT or "
					    "set KAFKA_BOOTSTRAP_SERVERS");
			kafka_source = true;
		}
		if (exit_at_end && count == NULL && strcmp(src, "synth") == 0)
			tk_opt_fail("--exit-at-end", "needs a finite source: give --count, or a replay");
	}
	source = sources[0];
	/* "now" once, here: a restarted synthetic feed must get the same origin,
	 * or it would be another market and could not resume its log. */
	if (start != NULL && strcmp(start, "now") == 0) {
		snprintf(start_buf, sizeof(start_buf), "%lld", (long long)(tk_wall_ns() / 1000000000LL));
		start = start_buf;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "tickd run: cannot find my own binary: %s\n", strerror(errno));
		return 1;
	}
	self[n] = '\0';
	tk_msg_set_role("run");

	/* The segment: reuse it unless asked for a fresh one. */
	if (fresh || tk_segment_attach(&seg, path, TK_ATTACH_READER) < 0) {
		struct tk_child init = { .name = "init" };
		int status;

		tk__arg(&init, "tickd");
		tk__arg(&init, "init");
		tk__arg(&init, "--shm-path");
		tk__arg(&init, path);
		if (fresh)
			tk__arg(&init, "--fresh");
		if (slots != NULL) {
			tk__arg(&init, "--slots");
			tk__arg(&init, slots);
		}
		/* A synthetic market larger than the default symbol table: a
		 * table that holds it (the feed would stop at symbol 16,385). */
		if (symbols != NULL && strtoul(symbols, NULL, 10) > 16384) {
			tk__arg(&init, "--symbols");
			tk__arg(&init, symbols);
		}
		snprintf(buf, sizeof(buf), "%u", shards);
		tk__arg(&init, "--shards");
		tk__arg(&init, buf);
		logs[0] = '\0';
		for (i = 0; i < nfeeds; i++)
			snprintf(logs + strlen(logs), sizeof(logs) - strlen(logs), "%sticks.%u",
				 i ? "," : "", i);
		tk__arg(&init, "--logs");
		tk__arg(&init, logs);
		tk__spawn(&init, self);
		waitpid(init.pid, &status, 0);
		tk__free_args(&init);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			tk_error("could not create the segment %s", path);
			return WIFEXITED(status) && WEXITSTATUS(status) == 2 ? 2 : 1;
		}
	} else {
		uint32_t nticks = 0;

		for (i = 0; i < seg.hdr->config.nlogs; i++)
			nticks += strncmp(seg.hdr->config.logs[i].name, "ticks.", 6) == 0;
		tk_info("resuming on the existing segment %s (created by pid %d); --fresh starts anew",
			path, (int)seg.hdr->creator_pid);
		tk_segment_detach(&seg);
		/* Each feed writes its own tick log and the workers wait for every
		 * tick log: the segment must have exactly one per feed. */
		if (nticks != nfeeds) {
			tk_error("the segment %s has %u tick log(s), this run has %u feed(s): run with "
				 "--fresh (or --feeds %u)", path, nticks, nfeeds, nticks);
			return 2;
		}
	}

	/* The gating readers (the journal, the publisher) and the engine workers
	 * first, then the feed once they are registered.  kids[] in the order of
	 * the start; a stop goes backwards (the feed, the workers, then the
	 * readers, which drain what they wrote). */
	pers = (persist ? 1 : 0) + (kafka != NULL && !kafka_source ? 1 : 0);
	eng = kids + pers;
	if (persist) {
		struct tk_child *k = &kids[0];

		snprintf(k->name, sizeof(k->name), "persist");
		tk__arg(k, "tickd");
		tk__arg(k, "persist");
		tk__arg(k, "--shm-path");
		tk__arg(k, path);
		tk__arg(k, "--data-dir");
		tk__arg(k, data_dir);
		k->backoff_ns = 100 * 1000 * 1000LL;
	}
	if (kafka != NULL && !kafka_source) {
		struct tk_child *k = &kids[persist ? 1 : 0];

		snprintf(k->name, sizeof(k->name), "kafka");
		tk__arg(k, "tickd");
		tk__arg(k, "kafka");
		tk__arg(k, "--shm-path");
		tk__arg(k, path);
		tk__arg(k, "--kafka");
		tk__arg(k, kafka);
		k->backoff_ns = 100 * 1000 * 1000LL;
	}
	for (i = 0; i < shards; i++) {
		struct tk_child *k = &eng[i];

		snprintf(k->name, sizeof(k->name), "engine.%u", i);
		tk__arg(k, "tickd");
		tk__arg(k, "engine");
		tk__arg(k, "--shm-path");
		tk__arg(k, path);
		snprintf(buf, sizeof(buf), "%u", i);
		tk__arg(k, "--shard");
		tk__arg(k, buf);
		snprintf(buf, sizeof(buf), "%u", shards);
		tk__arg(k, "--shards");
		tk__arg(k, buf);
		if (idle != NULL) {
			tk__arg(k, "--idle");
			tk__arg(k, idle);
		}
		if (cpus != NULL) {
			const char *p = cpus;
			uint32_t j;

			for (j = 0; j < i && p != NULL; j++) {
				p = strchr(p, ',');
				p = p != NULL ? p + 1 : NULL;
			}
			if (p != NULL) {
				snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(p, ","), p);
				tk__arg(k, "--cpu");
				tk__arg(k, buf);
			}
		}
		if (exit_at_end)
			tk__arg(k, "--exit-at-end");
		k->backoff_ns = 100 * 1000 * 1000LL;
	}
	for (i = 0; i < nfeeds; i++) {
		struct tk_child *f = &eng[shards + i];
		const char *pairs[][2] = { { "--rate", rate },
					   { "--symbols", symbols }, { "--count", count },
					   { "--start", start }, { "--symbol-list", symbol_list },
					   { "--url", url }, { "--record", record },
					   { "--dedupe-window", dedupe }, { "--silence", silence } };
		const char *kpairs[][2] = { { "--kafka", kafka }, { "--topic", topic },
					    { "--group", group }, { "--partitions", partitions },
					    { "--follow", follow } };
		unsigned j;

		snprintf(f->name, sizeof(f->name), nfeeds > 1 ? "feed.%u" : "feed", i);
		tk__arg(f, "tickd");
		tk__arg(f, "feed");
		tk__arg(f, "--source");
		tk__arg(f, sources[i]);
		tk__arg(f, "--shm-path");
		tk__arg(f, path);
		snprintf(buf, sizeof(buf), "%u", i);
		tk__arg(f, "--feed-id");
		tk__arg(f, buf);
		snprintf(buf, sizeof(buf), "ticks.%u", i);
		tk__arg(f, "--log");
		tk__arg(f, buf);
		if (seed != NULL || i > 0) {
			/* Each synthetic feed its own market: the next seed. */
			snprintf(buf, sizeof(buf), "%llu",
				 (unsigned long long)(seed != NULL ? strtoull(seed, NULL, 10) : 1) + i);
			tk__arg(f, "--seed");
			tk__arg(f, i == 0 && seed != NULL ? seed : buf);
		}
		for (j = 0; j < sizeof(pairs) / sizeof(pairs[0]); j++)
			if (pairs[j][1] != NULL && strcmp(sources[i], "kafka") != 0) {
				tk__arg(f, pairs[j][0]);
				tk__arg(f, pairs[j][1]);
			}
		if (strcmp(sources[i], "kafka") == 0) {
			for (j = 0; j < sizeof(kpairs) / sizeof(kpairs[0]); j++)
				if (kpairs[j][1] != NULL) {
					tk__arg(f, kpairs[j][0]);
					tk__arg(f, kpairs[j][1]);
				}
			if (exit_at_end)
				tk__arg(f, "--exit-at-end");
		}
		tk__arg(f, "--speed");
		tk__arg(f, speed != NULL ? speed : count != NULL ? "max" : "1");
		f->backoff_ns = 100 * 1000 * 1000LL;
	}
	nkids = pers + shards + nfeeds;
	/* The API last: a follower of what the others write, stopped first. */
	napi = strcmp(listen, "off") != 0 ? 1 : 0;
	if (napi) {
		struct tk_child *k = &kids[nkids++];

		snprintf(k->name, sizeof(k->name), "api");
		tk__arg(k, "tickd");
		tk__arg(k, "api");
		tk__arg(k, "--shm-path");
		tk__arg(k, path);
		tk__arg(k, "--listen");
		tk__arg(k, listen);
		tk__arg(k, "--data-dir");
		tk__arg(k, persist ? data_dir : "");
		k->backoff_ns = 100 * 1000 * 1000LL;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGCHLD, SIG_DFL);
	for (i = 0; i < pers + shards; i++)
		tk__spawn(&kids[i], self);
	if (tk__wait_registered(path, pers + shards, kids) < 0 && !tk__run_stop)
		tk_warn("the engine workers%s did not register within 10 s; starting the feed "
			"anyway", pers > 0 ? " and the readers" : "");
	for (i = pers + shards; i < nkids; i++)
		tk__spawn(&kids[i], self);
	printf("tickd run: segment %s, feed %s%s%s, %u engine worker(s), %s%s%s%s%s.\n"
	       "  look: tickd top | tickd tail bars.1m | tickd tail signals | tickd stats --json\n"
	       "        tickd export bars.1m --date YYYY-MM-DD (the journal)%s%s%s\n",
	       path, source, seed ? " seed " : "", seed ? seed : "", shards,
	       persist ? "journal in " : "no journal", persist ? data_dir : "",
	       kafka != NULL ? kafka_source ? ", reading Kafka at " : ", publishing to Kafka at " : "",
	       kafka != NULL ? kafka : "",
	       exit_at_end ? "; exits when the feed's end is drained" : "; Ctrl-C stops",
	       napi ? "\n        curl http://" : "", napi ? listen : "", napi ? "/quote/AAPL (the API)" : "");
	fflush(stdout);

	t0 = tk_mono_ns();
	while (!tk__run_stop) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		int64_t now = tk_mono_ns();
		uint32_t live = 0, done = 0;

		if (pid > 0) {
			for (i = 0; i < nkids; i++) {
				struct tk_child *k = &kids[i];

				if (k->pid != pid)
					continue;
				k->pid = 0;
				if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
					k->done = true;
					tk_info("%s finished", k->name);
				} else if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
					/* A configuration error: restarting cannot help. */
					tk_error("%s refused its settings (exit 2, its message is above): "
						 "stopping", k->name);
					tk__run_stop = 1;
					rc = 2;
				} else {
					bool killed = WIFSIGNALED(status) && (WTERMSIG(status) == SIGKILL ||
									     WTERMSIG(status) == SIGTERM);

					/* A child that fails by itself soon after it starts is in
					 * a crash loop: a few tries, then stop, loudly.  One
					 * killed from outside (kill -9, the OOM killer) is always
					 * restarted; one that ran a while starts the count anew. */
					if (now - k->started_at >= TK_RUN_STABLE_NS)
						k->quick_failures = 0;
					/* The delay grows while it fails by itself within a second
					 * of its start, or is killed from outside within a quarter
					 * second of it (the OOM killer at start-up); a kill later
					 * is answered after the base delay, however often. */
					if (now - k->started_at >= (killed ? 250000000LL : 1000000000LL))
						k->backoff_ns = 100 * 1000 * 1000LL;
					if (!killed && ++k->quick_failures >= TK_RUN_MAX_QUICK_FAILURES) {
						tk_error("%s failed %d times in a row, each within %.0f s of its "
							 "start (last: %s %d): giving up, stopping",
							 k->name, k->quick_failures,
							 (double)TK_RUN_STABLE_NS / 1e9,
							 WIFSIGNALED(status) ? "signal" : "exit status",
							 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
						tk__run_stop = 1;
						rc = 1;
						continue;
					}
					k->restart_at = now + k->backoff_ns;
					tk_warn("%s (pid %d) %s %d; restarting in %.1f s (restart %d)",
						k->name, (int)pid,
						WIFSIGNALED(status) ? "was killed by signal" : "exited with",
						WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
						(double)k->backoff_ns / 1e9, k->restarts + 1);
					if (k->backoff_ns < 5 * 1000000000LL)
						k->backoff_ns *= 2;
				}
			}
			continue;
		}
		for (i = 0; i < nkids; i++) {
			struct tk_child *k = &kids[i];

			if (k->pid == 0 && !k->done && k->restart_at != 0 && now >= k->restart_at) {
				k->restarts++;
				tk__spawn(k, self);
			}
			live += k->pid != 0;
			done += k->done;
		}
		/* The readers are not finite roles: they are stopped below, after
		 * the others, and drain what they wrote. */
		if (exit_at_end && done == nkids - pers - napi)
			break;
		if (duration_ns > 0 && now - t0 >= duration_ns)
			break;
		(void)live;
		tk_sleep_ns(20 * 1000 * 1000);
	}
	/* Stop: the feed first, then the workers, so they drain what it wrote. */
	for (i = nkids; i-- > 0;) {
		struct tk_child *k = &kids[i];
		/* The readers drain what the others wrote: give them longer (a
		 * kill would lose nothing, only make the next start re-read). */
		int64_t deadline = tk_mono_ns() + (i < pers ? 30 : 5) * 1000000000LL;
		int status;

		if (k->pid == 0)
			continue;
		kill(k->pid, SIGTERM);
		while (waitpid(k->pid, &status, WNOHANG) == 0) {
			if (tk_mono_ns() > deadline) {
				tk_warn("%s did not stop in time: killing it", k->name);
				kill(k->pid, SIGKILL);
				waitpid(k->pid, &status, 0);
				break;
			}
			tk_sleep_ns(10 * 1000 * 1000);
		}
	}
	for (i = 0; i < nkids; i++)
		tk__free_args(&kids[i]);
	tk_info("stopped; the segment %s stays for inspection (tickd clean removes it)", path);
	return rc;
}

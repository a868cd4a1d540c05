/* tickd feed: a feed handler process writing ticks and heartbeats into a tick log. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "common/msg.h"
#include "common/opts.h"
#include "feed/finnhub.h"
#include "feed/ingest.h"
#include "feed/recording.h"
#include "feed/resume.h"
#include "feed/synth.h"
#include "kafka/source.h"
#include "shm/feeds.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/records.h"
#include "shm/symbol.h"
#include "shm/symtab.h"
#include "feed/cmd.h"

static volatile sig_atomic_t tk__feed_stop;

static void on_signal(int sig)
{
	(void)sig;
	tk__feed_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd feed --source synth|replay:FILE|finnhub|kafka [options]\n"
		"Write trades and heartbeats into a tick log of the segment.\n\n"
		"  --source synth      the synthetic market\n"
		"  --source replay:FILE  a recording (--record) or a file of raw Finnhub messages,\n"
		"                      one per line; paced by receive time (by trade time in a raw\n"
		"                      file) times --speed, or --speed max; ends with end of stream\n"
		"  --source finnhub    Finnhub's WebSocket: token from $FINNHUB_API_TOKEN (also\n"
		"                      FINNHUB_API_KEY, FINNHUB_TOKEN), [feed] token in the\n"
		"                      configuration file, or --token-file; URL from\n"
		"                      --url or $FINNHUB_WS_URL (default wss://ws.finnhub.io)\n"
		"  --source kafka      the raw trades topic another tickd publishes (or Finnhub\n"
		"                      messages of another producer); servers from --kafka or\n"
		"                      $KAFKA_BOOTSTRAP_SERVERS (also KAFKA_BROKER)\n"
		"  --topic T           the topic (default market.trades.raw; env KAFKA_TOPIC)\n"
		"  --group G           consumer group (default tickd; env KAFKA_GROUP_ID)\n"
		"  --partitions all|LIST  these partitions (like 0,2,5-7) instead of the group's share\n"
		"  --follow SRC        the tickd source to follow, <source-id>/<log> (default: the\n"
		"                      first one seen)\n"
		"  --property N=V      a librdkafka consumer setting (';' between several)\n"
		"  --exit-at-end       exit after the stream's end-of-stream heartbeat\n"
		"  --symbol-list LIST  symbols to subscribe, like AAPL,MSFT,BINANCE:BTCUSDT (env\n"
		"                      SYMBOLS, also SYMBOL_LIST, PRICE_SYMBOLS)\n"
		"  --ca-file PEM       trust these CAs for wss:// instead of the system's (env\n"
		"                      FINNHUB_CA_FILE; for a test server or a TLS proxy)\n"
		"  --silence S         reconnect after S seconds without a message (default 30;\n"
		"                      env FINNHUB_SILENCE_SECONDS)\n"
		"  --seed S            generator seed (default 1): same seed, same trades\n"
		"  --symbols N         number of symbols, 1..100000 (default 8)\n"
		"  --rate R            trades per second of the generator's clock (default 1000)\n"
		"  --count N           stop after N trades and write an end-of-stream heartbeat\n"
		"  --speed X|max       X times real time (default 1), or as fast as the log takes them\n"
		"  --start EPOCH|now   the generator clock's origin, epoch seconds (default\n"
		"                      1704205800 = 2024-01-02T14:30:00Z; `now` for live demos)\n"
		"  --log NAME          tick log to write (default ticks.0)\n"
		"  --feed-id N         this feed's number in its records (default 0)\n"
		"  --heartbeat-ms MS   heartbeat period of the feed clock (default 100)\n"
		"  --record FILE       append every message received, one JSON line each\n"
		"  --dedupe-window MS  drop a message byte-identical to one received within MS\n"
		"                      (default 0: off, since identical trades can be real)\n"
		"  --shm-path PATH     segment file (default $TICKD_SHM_PATH or /dev/shm/tickd)\n");
}

struct tk_feed_opts {
	const char *path;
	const char *logname;
	const char *source;
	const char *record;
	uint32_t feed;
	uint64_t count;
	double speed; /* <= 0: as fast as possible */
	int64_t hb_ns;
	int64_t dedupe_ns;
	struct tk_synth_cfg synth;
	const char *url;
	const char *token_file;
	const char *token;       /* FINNHUB_API_TOKEN or the file's [feed] token, never a flag */
	const char *symbol_list;
	const char *ca_file;
	int64_t silence_ns;
	struct tkk_source_cfg kafka;
	char *kafka_props;
};

/* ------------------------------------------------------------ synthetic */

struct tk_feed_out {
	struct tk_log_writer w;
	struct tk_idle idle;
	uint32_t feed;
	uint64_t stream; /* the source's identity (feed/resume.h) */
	struct tk_feed_stats *stats;
};

/* Write one record, waiting (backoff) while gating readers hold the log. */
static void tk__put(struct tk_feed_out *o, uint32_t type, uint32_t aux, const void *data,
		    uint32_t len)
{
	while (tk_log_write(&o->w, type, aux, data, len) == TK_LOG_FULL && !tk__feed_stop)
		tk_idle_wait(&o->idle, NULL, 0);
	tk_idle_reset(&o->idle);
}

static void tk__heartbeat(struct tk_feed_out *o, int64_t clock, uint32_t flags, uint64_t src)
{
	struct tk_heartbeat hb = { .clock_ns = clock, .flags = flags, .feed = o->feed,
				   .src = src, .stream = o->stream };

	tk__put(o, TK_REC_HEARTBEAT, 0, &hb, sizeof(hb));
	if (o->stats != NULL)
		o->stats->heartbeats++;
}

static int tk__run_synth(struct tk_segment *seg, const struct tk_feed_opts *o,
			 struct tk_feed_stats *stats)
{
	static struct tk_synth gen;
	static int32_t ids[TK_SYNTH_MAX_SYMBOLS];
	const struct tk_synth_cfg *cfg = &o->synth;
	struct tk_feed_out out = { .feed = o->feed, .stats = stats };
	struct tk_log_region *log = tk_log_find(seg, o->logname);
	struct tk_symtab_region *tab = tk_symtab_of(seg);
	uint64_t written = 0;
	int64_t next_hb, wall0, last_ts;
	struct tk_resume rs;
	bool resuming;
	uint32_t i;

	if (tk_synth_init(&gen, cfg) < 0)
		tk_opt_fail("feed", "%s", tk_err_msg());
	if (log == NULL) {
		tk_error("segment %s has no log named '%s'", o->path, o->logname);
		return 1;
	}
	if (tk_log_writer_open(&out.w, log) < 0) {
		tk_error("%s", tk_err_msg());
		return 1;
	}
	/* Everything that makes the generator's output what it is. */
	out.stream = tk_stream_hash(TK_STREAM_HASH_INIT, "synth", 5);
	out.stream = tk_stream_hash(out.stream, &cfg->seed, sizeof(cfg->seed));
	out.stream = tk_stream_hash(out.stream, &cfg->start_ns, sizeof(cfg->start_ns));
	out.stream = tk_stream_hash(out.stream, &cfg->rate, sizeof(cfg->rate));
	out.stream = tk_stream_hash(out.stream, &cfg->nsymbols, sizeof(cfg->nsymbols));
	out.stream = tk_stream_hash(out.stream, &o->hb_ns, sizeof(o->hb_ns));
	if (tk_resume_scan(&out.w, out.stream, &rs) < 0) {
		/* Not a crash to retry: the log cannot say where to resume. */
		tk_error("%s", tk_err_msg());
		tk_log_writer_close(&out.w);
		return 2;
	}
	if (rs.complete) {
		tk_info("%s already holds this whole stream (seed %llu), its end included: "
			"nothing to write", o->logname, (unsigned long long)cfg->seed);
		tk_log_writer_close(&out.w);
		return 0;
	}
	for (i = 0; i < cfg->nsymbols; i++) {
		const char *name = tk_synth_symbol(&gen, i);

		ids[i] = tk_symtab_intern(tab, name, (uint32_t)strlen(name));
		if (ids[i] < 0) {
			tk_error("cannot add symbol %s: the symbol table is %s", name,
				 ids[i] == -ENOSPC ? "full (raise --symbols at tickd init)" : "refusing it");
			/* A full table is a setting, not a crash: restarting cannot help. */
			return ids[i] == -ENOSPC ? 2 : 1;
		}
	}
	tk_idle_init(&out.idle, TK_IDLE_BACKOFF);
	tk_info("synthetic feed: seed %llu, %u symbols, %.0f trades/s of feed time, speed %s, "
		"into %s",
		(unsigned long long)cfg->seed, cfg->nsymbols, cfg->rate,
		o->speed > 0 ? "paced" : "max", o->logname);
	if (stats != NULL) {
		stats->connected = 1;
		stats->subscribed = cfg->nsymbols;
	}

	resuming = rs.active;
	if (rs.active)
		tk_info("resuming the stream in %s: skipping the trades before #%llu and the "
			"heartbeats up to %lld ms, which it already holds",
			o->logname, (unsigned long long)rs.src_next, (long long)(rs.hb_clock / 1000000));
	else
		tk__heartbeat(&out, cfg->start_ns, TK_HEARTBEAT_F_BEGIN, 0);
	wall0 = tk_mono_ns();
	next_hb = cfg->start_ns + o->hb_ns;
	last_ts = cfg->start_ns;
	while (!tk__feed_stop && (o->count == 0 || written < o->count)) {
		struct tk_synth_trade t;
		struct tk_tick tick;

		tk_synth_next(&gen, &t);
		/* Heartbeats carry the feed's clock at every period it passes. */
		while (next_hb <= t.ts_ns && !tk__feed_stop) {
			if (tk_resume_skip_heartbeat(&rs, next_hb)) {
				next_hb += o->hb_ns;
				continue;
			}
			if (resuming) {
				/* Pace the rest from here, not from the stream's start. */
				resuming = false;
				wall0 = tk_mono_ns() - (int64_t)((double)(next_hb - cfg->start_ns) /
							 (o->speed > 0 ? o->speed : 1));
			}
			if (o->speed > 0) {
				int64_t due = wall0 + (int64_t)((double)(next_hb - cfg->start_ns) / o->speed);
				int64_t now = tk_mono_ns();

				if (due > now)
					tk_sleep_ns(due - now);
			}
			tk__heartbeat(&out, next_hb, 0, written);
			next_hb += o->hb_ns;
		}
		if (tk_resume_skip_tick(&rs, written)) {
			last_ts = t.ts_ns;
			written++;
			continue;
		}
		if (resuming) {
			resuming = false;
			wall0 = tk_mono_ns() - (int64_t)((double)(t.ts_ns - cfg->start_ns) /
						 (o->speed > 0 ? o->speed : 1));
		}
		if (o->speed > 0) {
			int64_t due = wall0 + (int64_t)((double)(t.ts_ns - cfg->start_ns) / o->speed);
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
		tick.src = written;
		tk__put(&out, TK_REC_TICK, (uint32_t)ids[t.symbol], &tick, sizeof(tick));
		last_ts = t.ts_ns;
		written++;
		if (stats != NULL) {
			stats->trades++;
			stats->last_msg_ns = tick.recv_ns; /* the synthetic feed's "message" */
		}
	}
	if (o->count != 0 && written == o->count) {
		/* End of a finite stream: readers close every open bar. */
		tk__heartbeat(&out, last_ts, TK_HEARTBEAT_F_END, written);
		tk_info("end of stream after %llu trades (feed clock %lld ms)",
			(unsigned long long)written, (long long)(last_ts / 1000000));
	}
	tk_log_writer_close(&out.w);
	return 0;
}

/* ------------------------------------------------------------ replay */

/*
 * Wait until the replay clock reaches `target` (paced: wall time maps to the
 * clock through clock0/wall0 and the speed), emitting the heartbeats it
 * passes on the way, as the live feed's timer did.
 */
static void tk__replay_wait(struct tk_ingest *g, const struct tk_feed_opts *o, int64_t clock0,
			    int64_t wall0, int64_t target)
{
	while (!tk__feed_stop) {
		int64_t step = g->next_hb != INT64_MIN && g->next_hb < target ? g->next_hb : target;
		int64_t due = wall0 + (int64_t)((double)(step - clock0) / o->speed);
		int64_t now = tk_mono_ns();

		if (due > now)
			tk_sleep_ns(due - now > 50 * 1000000LL ? 50 * 1000000LL : due - now);
		else if (step == target)
			return;
		else
			tk_ingest_clock(g, step);
	}
}

static int tk__run_replay(struct tk_segment *seg, const struct tk_feed_opts *o,
			  struct tk_feed_stats *stats, const char *file)
{
	struct tk_ingest_cfg icfg = { .feed = o->feed, .hb_ns = o->hb_ns, .dedupe_ns = o->dedupe_ns };
	static struct tk_ingest g;
	struct tk_rec_reader rd;
	struct tk_fh_msg m;
	int64_t clock0 = INT64_MIN, wall0 = 0, recv;
	uint64_t n = 0, bad = 0, invalid = 0;
	const char *msg;
	size_t len;
	int rc;

	tk_fh_limits_default(&icfg.lim);
	if (o->record != NULL && (icfg.record = fopen(o->record, "a")) == NULL) {
		tk_error("cannot open %s to record: %s", o->record, strerror(errno));
		return 1;
	}
	if (icfg.record != NULL)
		setvbuf(icfg.record, NULL, _IOLBF, 0); /* whole lines, even if killed */
	{
		/* A recording is deterministic: the same file gives the same
		 * stream, so a restarted replay resumes it (feed/resume.h). */
		struct stat fst;

		char real[4096];

		if (stat(file, &fst) == 0) {
			/* The file itself, however it is named (relative path, link). */
			if (realpath(file, real) == NULL)
				snprintf(real, sizeof(real), "%s", file);
			icfg.stream = tk_stream_hash(TK_STREAM_HASH_INIT, "replay", 6);
			icfg.stream = tk_stream_hash(icfg.stream, real, strlen(real));
			icfg.stream = tk_stream_hash(icfg.stream, &fst.st_size, sizeof(fst.st_size));
			icfg.stream = tk_stream_hash(icfg.stream, &fst.st_mtim, sizeof(fst.st_mtim));
			icfg.stream = tk_stream_hash(icfg.stream, &o->hb_ns, sizeof(o->hb_ns));
			icfg.stream = tk_stream_hash(icfg.stream, &o->dedupe_ns, sizeof(o->dedupe_ns));
		}
	}
	if (tk_rec_open(&rd, file) < 0) {
		tk_error("%s", tk_err_msg());
		return 1;
	}
	rc = tk_ingest_open(&g, seg, o->logname, &icfg, stats, &tk__feed_stop);
	if (rc < 0) {
		tk_error("%s", tk_err_msg());
		return rc == -EOVERFLOW ? 2 : 1; /* a log that cannot say where to resume */
	}
	if (g.resume.complete) {
		tk_info("%s already holds the whole replay of %s, its end included: nothing to write",
			o->logname, file);
		tk_ingest_close(&g);
		tk_rec_close(&rd);
		return 0;
	}
	if (g.resume.active)
		tk_info("resuming the replay of %s in %s: skipping the trades before message %llu "
			"trade %llu, which it already holds", file, o->logname,
			(unsigned long long)(g.resume.src_next >> TK_SRC_MSG_SHIFT),
			(unsigned long long)(g.resume.src_next & ((1ull << TK_SRC_MSG_SHIFT) - 1)));
	tk_info("replaying %s into %s at %s", file, o->logname, o->speed > 0 ? "paced speed" : "max speed");
	if (stats != NULL)
		stats->connected = 1;
	while (!tk__feed_stop && (rc = tk_rec_next(&rd, &recv, &msg, &len)) != 0) {
		int64_t when;

		if (rc < 0) {
			if (bad++ < 10)
				tk_warn("%s: %s (skipped)", file, tk_err_msg());
			continue;
		}
		/* Paced by receive time, or by trade time in a raw file. */
		when = recv != INT64_MIN ? recv : g.trade_clock;
		/* Not paced while skipping what the log holds: pacing starts again
		 * at the first message written. */
		if (o->speed > 0 && when != INT64_MIN && !g.resume.active) {
			if (clock0 == INT64_MIN) {
				clock0 = when;
				wall0 = tk_mono_ns();
			}
			tk__replay_wait(&g, o, clock0, wall0, when);
		}
		tk_ingest_message(&g, recv, msg, len, &m);
		if (m.kind == TK_FH_INVALID && invalid++ < 10)
			tk_warn("%s line %llu: message rejected (%s): %s", file,
				(unsigned long long)rd.lineno, tk_fh_reason_name(m.reason), m.text);
		n++;
	}
	if (!tk__feed_stop) {
		tk_ingest_end(&g);
		tk_info("end of replay: %llu messages, %llu trades, %llu lines skipped",
			(unsigned long long)n, stats != NULL ? (unsigned long long)stats->trades : 0ull,
			(unsigned long long)bad);
	}
	if (icfg.record != NULL)
		fclose(icfg.record);
	tk_ingest_close(&g);
	tk_rec_close(&rd);
	return 0;
}

/* ------------------------------------------------------------ finnhub */

static int tk__read_token(const char *file, char *out, size_t cap)
{
	FILE *f = fopen(file, "r");
	size_t n;

	if (f == NULL)
		return tk_err_set(errno, "cannot read the token file %s: %s", file, strerror(errno));
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		out[--n] = '\0';
	return n > 0 ? 0 : tk_err_set(EINVAL, "the token file %s is empty", file);
}

static int tk__run_finnhub(struct tk_segment *seg, const struct tk_feed_opts *o,
			   struct tk_feed_stats *stats, int64_t resumed_from)
{
	static char symbols[TK_FH_MAX_SYMBOLS][32];
	struct tk_ingest_cfg icfg = { .feed = o->feed, .hb_ns = o->hb_ns, .dedupe_ns = o->dedupe_ns };
	struct tk_fh_client_cfg fc = { .backoff_base_ns = 250 * 1000000LL,
				       .backoff_cap_ns = 30 * 1000000000LL };
	static struct tk_ingest g;
	char token[512], list[8192], *tok, *save;
	uint32_t n = 0;
	int rc;

	if (o->token_file != NULL) {
		if (tk__read_token(o->token_file, token, sizeof(token)) < 0)
			tk_opt_fail("--token-file", "%s", tk_err_msg());
	} else if (o->token != NULL && *o->token != '\0') {
		snprintf(token, sizeof(token), "%s", o->token);
	} else {
		tk_opt_fail("--source finnhub", "no API token: set FINNHUB_API_TOKEN, [feed] token "
			    "in the configuration file, or --token-file");
	}
	/* The environment names (FINNHUB_*, SYMBOLS, ...) are in common/config.c's
	 * table: their values arrive as the options. */
	fc.token = token;
	fc.ca_file = o->ca_file;
	fc.url = o->url != NULL ? o->url : "wss://ws.finnhub.io";
	fc.silence_ns = o->silence_ns != 0 ? o->silence_ns : 30 * 1000000000LL;
	snprintf(list, sizeof(list), "%s",
		 o->symbol_list != NULL ? o->symbol_list : "AAPL,MSFT,AMZN,BINANCE:BTCUSDT");
	/* Split on commas only: a symbol may hold a space (IC MARKETS:1); the
	 * spaces around a name are not part of it. */
	for (tok = strtok_r(list, ",", &save); tok != NULL && n < TK_FH_MAX_SYMBOLS;
	     tok = strtok_r(NULL, ",", &save)) {
		char why[160];
		size_t len;

		while (*tok == ' ')
			tok++;
		len = strlen(tok);
		while (len > 0 && tok[len - 1] == ' ')
			tok[--len] = '\0';
		if (len == 0)
			continue;
		if (tk_symbol_check(tok, len, why, sizeof(why)) < 0)
			tk_opt_fail("--symbol-list", "'%s' is not a symbol: %s", tok, why);
		snprintf(symbols[n++], sizeof(symbols[0]), "%s", tok);
	}
	if (n == 0)
		tk_opt_fail("--symbol-list", "no symbol given");
	{
		struct tk_url u;

		if (tk_url_parse(fc.url, &u) < 0)
			tk_opt_fail("--url", "%s", tk_err_msg());
	}
	tk_fh_limits_default(&icfg.lim);
	if (o->record != NULL && (icfg.record = fopen(o->record, "a")) == NULL) {
		tk_error("cannot open %s to record: %s", o->record, strerror(errno));
		return 1;
	}
	if (icfg.record != NULL)
		setvbuf(icfg.record, NULL, _IOLBF, 0); /* whole lines, even if killed */
	if (tk_ingest_open(&g, seg, o->logname, &icfg, stats, &tk__feed_stop) < 0) {
		tk_error("%s", tk_err_msg());
		return 1;
	}
	rc = tk_finnhub_run(&g, &fc, symbols, n, tk_ctl_ring(seg, o->feed), resumed_from,
			    &tk__feed_stop);
	if (icfg.record != NULL)
		fclose(icfg.record);
	tk_ingest_close(&g);
	return rc;
}

/* ------------------------------------------------------------ kafka */

static int tk__run_kafka(struct tk_segment *seg, struct tk_feed_opts *o, struct tk_feed_stats *stats)
{
	static const char *props[64];
	char *save = NULL, *tok;

	if (o->kafka.servers == NULL || *o->kafka.servers == '\0')
		tk_opt_fail("--source kafka", "no servers: give --kafka HOST:PORT or set "
			    "KAFKA_BOOTSTRAP_SERVERS");
	if (o->kafka_props != NULL)
		for (tok = strtok_r(o->kafka_props, ";", &save); tok != NULL;
		     tok = strtok_r(NULL, ";", &save)) {
			while (*tok == ' ')
				tok++;
			if (*tok == '\0')
				continue;
			if (strchr(tok, '=') == NULL || tok[0] == '=')
				tk_opt_fail("--property", "'%s' is not NAME=VALUE", tok);
			if (o->kafka.nprops == sizeof(props) / sizeof(props[0]))
				tk_opt_fail("--property", "more than %zu properties",
					    sizeof(props) / sizeof(props[0]));
			props[o->kafka.nprops++] = tok;
		}
	o->kafka.props = props;
	o->kafka.feed = o->feed;
	return tkk_source_run(seg, o->logname, &o->kafka, stats, &tk__feed_stop);
}

/* ------------------------------------------------------------ command */

int tk_cmd_feed(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "source", required_argument, 0, 'S' },  { "seed", required_argument, 0, 's' },
		{ "symbols", required_argument, 0, 'n' }, { "rate", required_argument, 0, 'r' },
		{ "count", required_argument, 0, 'c' },   { "speed", required_argument, 0, 'x' },
		{ "start", required_argument, 0, 't' },   { "log", required_argument, 0, 'l' },
		{ "feed-id", required_argument, 0, 'f' }, { "heartbeat-ms", required_argument, 0, 'b' },
		{ "shm-path", required_argument, 0, 'p' }, { "record", required_argument, 0, 'R' },
		{ "dedupe-window", required_argument, 0, 'D' }, { "url", required_argument, 0, 'U' },
		{ "token-file", required_argument, 0, 'K' }, { "symbol-list", required_argument, 0, 'Y' },
		{ "silence", required_argument, 0, 'Q' }, { "ca-file", required_argument, 0, 'A' },
		{ "token", required_argument, 0, 'T' }, /* only from the file or the environment */
		{ "kafka", required_argument, 0, 'k' }, { "topic", required_argument, 0, 'o' },
		{ "group", required_argument, 0, 'g' }, { "partitions", required_argument, 0, 'P' },
		{ "follow", required_argument, 0, 'F' }, { "property", required_argument, 0, 'X' },
		{ "exit-at-end", no_argument, 0, 'E' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct tk_feed_opts o = { .path = tk_segment_default_path(), .logname = "ticks.0",
				  .speed = 1.0, .hb_ns = 100 * 1000 * 1000LL,
				  .kafka = { .topic = "market.trades.raw", .group = "tickd" } };
	struct tk_feed_stats *stats;
	struct tk_segment seg;
	int64_t resumed_from = 0;
	const char *kind;
	int c, rc;

	tk_synth_cfg_default(&o.synth);
	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': o.source = optarg; break;
		case 's': o.synth.seed = tk_opt_u64("--seed", optarg, 0, UINT64_MAX); break;
		case 'n': o.synth.nsymbols = (uint32_t)tk_opt_u64("--symbols", optarg, 1, TK_SYNTH_MAX_SYMBOLS); break;
		case 'r': o.synth.rate = tk_opt_double("--rate", optarg, 1e-3, 1e9); break;
		case 'c': o.count = tk_opt_u64("--count", optarg, 1, UINT64_MAX); break;
		case 'x':
			o.speed = strcmp(optarg, "max") == 0 ? 0 : tk_opt_double("--speed", optarg, 1e-3, 1e6);
			break;
		case 't':
			o.synth.start_ns = strcmp(optarg, "now") == 0
						   ? tk_wall_ns() / 1000000000LL * 1000000000LL
						   : (int64_t)tk_opt_u64("--start", optarg, 946684800, 4102444799) *
							     1000000000LL;
			break;
		case 'l': o.logname = optarg; break;
		case 'f': o.feed = (uint32_t)tk_opt_u64("--feed-id", optarg, 0, TK_FEEDS_MAX - 1); break;
		case 'b': o.hb_ns = (int64_t)tk_opt_u64("--heartbeat-ms", optarg, 1, 60000) * 1000000; break;
		case 'p': o.path = optarg; break;
		case 'R': o.record = optarg; break;
		case 'D': o.dedupe_ns = (int64_t)tk_opt_u64("--dedupe-window", optarg, 0, 60000) * 1000000; break;
		case 'U': o.url = optarg; break;
		case 'K': o.token_file = optarg; break;
		case 'T': o.token = optarg; break;
		case 'Y': o.symbol_list = optarg; break;
		case 'A': o.ca_file = optarg; break;
		case 'Q': o.silence_ns = (int64_t)(tk_opt_double("--silence", optarg, 0.1, 86400) * 1e9); break;
		case 'k': o.kafka.servers = optarg; break;
		case 'o':
			if (*optarg == '\0')
				tk_opt_fail("--topic", "empty");
			o.kafka.topic = optarg;
			break;
		case 'g':
			if (*optarg == '\0')
				tk_opt_fail("--group", "empty");
			o.kafka.group = optarg;
			break;
		case 'P': o.kafka.partitions = optarg; break;
		case 'F': o.kafka.follow = optarg; break;
		case 'X': {
			/* Repeatable: each adds its settings. */
			size_t n = (o.kafka_props != NULL ? strlen(o.kafka_props) + 1 : 0) + strlen(optarg) + 1;
			char *all = malloc(n);

			if (all == NULL)
				tk_opt_fail("--property", "out of memory");
			snprintf(all, n, "%s%s%s", o.kafka_props != NULL ? o.kafka_props : "",
				 o.kafka_props != NULL ? ";" : "", optarg);
			free(o.kafka_props);
			o.kafka_props = all;
			break;
		}
		case 'E': o.kafka.exit_at_end = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.source == NULL)
		tk_opt_fail("--source", "missing: synth, replay:FILE or finnhub");
	if (strcmp(o.source, "synth") == 0)
		kind = "synth";
	else if (strcmp(o.source, "finnhub") == 0)
		kind = "finnhub";
	else if (strcmp(o.source, "kafka") == 0)
		kind = "kafka";
	else if (strncmp(o.source, "replay:", 7) == 0 && o.source[7] != '\0')
		kind = "replay";
	else
		tk_opt_fail("--source", "'%s' is not a source this build has (synth, replay:FILE, "
			    "finnhub, kafka)", o.source);
	tk_msg_set_role("feed");
	if (tk_segment_attach(&seg, o.path, TK_ATTACH_WRITER) < 0) {
		tk_error("%s", tk_err_msg());
		return 1;
	}
	{
		/* A Finnhub feed that ran before on this segment, under this id and
		 * into this log, left its last message time: the gap starts there. */
		struct tk_feeds_region *fr = tk_feeds_of(&seg);

		if (fr != NULL && fr->slot[o.feed].pid != 0 &&
		    strcmp(fr->slot[o.feed].source, kind) == 0 &&
		    strncmp(fr->slot[o.feed].log, o.logname, sizeof(fr->slot[0].log)) == 0)
			resumed_from = fr->slot[o.feed].last_msg_ns;
		stats = tk_feeds_claim(fr, o.feed, kind, o.logname);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (strcmp(kind, "synth") == 0)
		rc = tk__run_synth(&seg, &o, stats);
	else if (strcmp(kind, "finnhub") == 0)
		rc = tk__run_finnhub(&seg, &o, stats, resumed_from);
	else if (strcmp(kind, "kafka") == 0)
		rc = tk__run_kafka(&seg, &o, stats);
	else
		rc = tk__run_replay(&seg, &o, stats, o.source + 7);
	if (stats != NULL)
		stats->connected = 0;
	tk_segment_detach(&seg);
	return rc;
}

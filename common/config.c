/* Configuration: the settings table, the INI file and the argument vector (see config.h). */
#include "common/config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/opts.h"

#define TK__ALL_SEG (TK_CMD_RUN | TK_CMD_FEED | TK_CMD_SUBSCRIBE | TK_CMD_UNSUBSCRIBE | \
		     TK_CMD_ENGINE | TK_CMD_INIT | TK_CMD_INFO | TK_CMD_CLEAN | TK_CMD_TAIL | \
		     TK_CMD_STATS | TK_CMD_TOP | TK_CMD_PERSIST | TK_CMD_KAFKA | TK_CMD_API)
#define TK__FEED_RUN (TK_CMD_FEED | TK_CMD_RUN)
#define TK__TOKEN_ENV { "FINNHUB_API_TOKEN", "FINNHUB_API_KEY", "FINNHUB_TOKEN", NULL }

static const char *const tk__cmd_names[TK_CMD_COUNT] = {
	"run", "feed", "subscribe", "unsubscribe", "mock-finnhub", "engine",
	"init", "info", "clean", "tail", "stats", "top", "persist", "export", "journal", "kafka",
	"api",
};

const char *const tk_config_sections[] = {
	"global", "run", "feed", "engine", "persist", "export", "journal", "kafka", "api", "init",
	"mock-finnhub",
	"tail", "stats", "top", "subscribe", NULL,
};

/*
 * Every setting of every command.  A setting lives in one section; `tickd
 * run` takes some settings of its children (the feed's, the engine's
 * --idle, init's --slots) and hands them over, so they are listed once, in
 * the child's section, with TK_CMD_RUN among their commands.  Settings that
 * several roles must agree on (the segment, its timeframes and shards) live
 * in [global].  The environment names include the aliases of the pipelines
 * tickd replaces (DESIGN.md, Configuration).
 */
const struct tk_setting tk_settings[] = {
	/* [global] */
	{ "global", "shm-path", { "TICKD_SHM_PATH", NULL }, TK__ALL_SEG, 0, "/dev/shm/tickd",
	  "the segment file" },
	{ "global", "timeframes", { "TIMEFRAMES", NULL }, TK_CMD_INIT | TK_CMD_ENGINE, 0,
	  "1s,1m,5m,1h", "bar timeframes: the bar logs tickd init makes, the windows the engine closes" },
	{ "global", "shards", { NULL }, TK_CMD_RUN | TK_CMD_INIT | TK_CMD_ENGINE, 0, "1",
	  "engine shards: one worker, bars.<tf>.<i> and signals.<i> each" },
	{ "global", "data-dir", { "TICKD_DATA_DIR", NULL },
	  TK_CMD_RUN | TK_CMD_PERSIST | TK_CMD_EXPORT | TK_CMD_JOURNAL | TK_CMD_API, 0, "./tickd-data",
	  "the journal's directory (tickd persist, export, journal; the API's history)" },

	/* [run] */
	{ "run", "fresh", { NULL }, TK_CMD_RUN, TK_SET_BOOL, "false",
	  "start a new segment (the old data is lost)" },
	{ "run", "cpus", { NULL }, TK_CMD_RUN, 0, "(not pinned)",
	  "pin engine worker i to cpu i of this list, like 2,3" },
	{ "run", "duration", { NULL }, TK_CMD_RUN, 0, "(until stopped)",
	  "stop after this long, like 90s or 5m" },
	{ "run", "exit-at-end", { NULL }, TK_CMD_RUN, TK_SET_BOOL, "false",
	  "exit once a finite feed has ended and every worker drained it" },
	{ "run", "feeds", { NULL }, TK_CMD_RUN, 0, "1",
	  "feeds to start, feed i into ticks.i (the last source repeated; seeds S, S+1, ...)" },

	/* [feed] */
	{ "feed", "source", { NULL }, TK__FEED_RUN, 0,
	  "(tickd run: finnhub when a token is set, else synth)", "synth, replay:FILE or finnhub" },
	{ "feed", "token", TK__TOKEN_ENV, TK_CMD_FEED, TK_SET_SECRET | TK_SET_NOFLAG, "(none)",
	  "Finnhub API token (not a flag: ps would show it to every user)" },
	{ "feed", "token-file", { NULL }, TK_CMD_FEED, 0, "(none)",
	  "read the Finnhub token from this file" },
	{ "feed", "url", { "FINNHUB_WS_URL", NULL }, TK__FEED_RUN, 0, "wss://ws.finnhub.io",
	  "Finnhub WebSocket URL" },
	{ "feed", "symbol-list", { "SYMBOLS", "SYMBOL_LIST", "PRICE_SYMBOLS", NULL }, TK__FEED_RUN, 0,
	  "AAPL,MSFT,AMZN,BINANCE:BTCUSDT", "symbols to subscribe on Finnhub" },
	{ "feed", "ca-file", { "FINNHUB_CA_FILE", NULL }, TK_CMD_FEED, 0, "(the system's CAs)",
	  "trust these CAs (PEM) for wss://" },
	{ "feed", "silence", { "FINNHUB_SILENCE_SECONDS", NULL }, TK__FEED_RUN, 0, "30",
	  "reconnect after this many seconds without a message" },
	{ "feed", "seed", { NULL }, TK__FEED_RUN, 0, "1", "synthetic generator seed" },
	{ "feed", "symbols", { NULL }, TK__FEED_RUN, 0, "8", "synthetic symbols, 1..100000 (past 16384: a segment with room, tickd init --symbols)" },
	{ "feed", "rate", { NULL }, TK__FEED_RUN, 0, "1000",
	  "synthetic trades per second of the generator's clock" },
	{ "feed", "count", { NULL }, TK__FEED_RUN, 0, "(endless)",
	  "stop after this many synthetic trades, then an end-of-stream heartbeat" },
	{ "feed", "speed", { NULL }, TK__FEED_RUN, 0, "1 (tickd run with a count: max)",
	  "times real time, or max" },
	{ "feed", "start", { NULL }, TK__FEED_RUN, 0, "1704205800",
	  "the generator clock's origin, epoch seconds, or now" },
	{ "feed", "log", { NULL }, TK_CMD_FEED, 0, "ticks.0", "tick log to write" },
	{ "feed", "feed-id", { NULL }, TK_CMD_FEED, 0, "0", "this feed's number in its records" },
	{ "feed", "heartbeat-ms", { NULL }, TK_CMD_FEED, 0, "100",
	  "heartbeat period of the feed clock, ms" },
	{ "feed", "record", { NULL }, TK__FEED_RUN, 0, "(none)",
	  "append every message received to this file" },
	{ "feed", "dedupe-window", { NULL }, TK__FEED_RUN, 0, "0",
	  "drop a message byte-identical to one received within this many ms" },

	{ "feed", "topic", { "KAFKA_TOPIC", NULL }, TK__FEED_RUN, 0, "market.trades.raw",
	  "--source kafka: the raw trades topic" },
	{ "feed", "group", { "KAFKA_GROUP_ID", NULL }, TK__FEED_RUN, 0, "tickd",
	  "--source kafka: the consumer group" },
	{ "feed", "partitions", { NULL }, TK__FEED_RUN, 0, "(the group's share)",
	  "--source kafka: all, or a list like 0,2,5-7, instead of the group's share" },
	{ "feed", "follow", { NULL }, TK__FEED_RUN, 0, "(the first tickd source seen)",
	  "--source kafka: the tickd source to follow, <source-id>/<log>" },
	{ "feed", "property", { NULL }, TK_CMD_FEED, 0, "(none)",
	  "--source kafka: librdkafka consumer settings NAME=VALUE, ';' between them" },
	{ "feed", "exit-at-end", { NULL }, TK_CMD_FEED, TK_SET_BOOL, "false",
	  "--source kafka: exit once the stream's end-of-stream heartbeat is written" },

	/* [engine] */
	{ "engine", "shard", { NULL }, TK_CMD_ENGINE, 0, "0", "this worker's shard" },
	{ "engine", "cpu", { NULL }, TK_CMD_ENGINE, 0, "(not pinned)", "pin the worker to this cpu" },
	{ "engine", "idle", { NULL }, TK_CMD_ENGINE | TK_CMD_RUN, 0, "backoff",
	  "the workers' idle strategy: backoff, spin or block" },
	{ "engine", "watermark", { "WATERMARK_SECONDS", NULL }, TK_CMD_ENGINE, 0, "2",
	  "lateness in seconds before a window closes" },
	{ "engine", "pct-change", { "SIGNAL_PCT_CHANGE", NULL }, TK_CMD_ENGINE, 0, "0.01",
	  "pct_change signal threshold" },
	{ "engine", "pct-timeframes", { NULL }, TK_CMD_ENGINE, 0, "1m",
	  "timeframes where pct_change is evaluated" },
	{ "engine", "exit-at-end", { NULL }, TK_CMD_ENGINE, TK_SET_BOOL, "false",
	  "exit once every tick log has ended" },

	/* [persist] */
	{ "persist", "policy", { NULL }, TK_CMD_PERSIST, 0, "hold",
	  "hold: a stalled journal holds the feed; release: it is released after release-after" },
	{ "persist", "release-after", { NULL }, TK_CMD_PERSIST, 0, "5",
	  "seconds of stall a release policy tolerates" },
	{ "persist", "commit-ms", { NULL }, TK_CMD_PERSIST, 0, "1",
	  "group commit: at most one fdatasync per file this often" },
	{ "persist", "commit-kb", { NULL }, TK_CMD_PERSIST, 0, "4096",
	  "... or as soon as this much was written" },
	{ "persist", "block-kb", { NULL }, TK_CMD_PERSIST, 0, "512", "the largest block, KiB" },
	{ "persist", "buffers", { NULL }, TK_CMD_PERSIST, 0, "8",
	  "block buffers per stream (the write window)" },
	{ "persist", "file-mb", { NULL }, TK_CMD_PERSIST, 0, "1024",
	  "a day's file is closed and another opened past this size" },
	{ "persist", "prealloc-mb", { NULL }, TK_CMD_PERSIST, 0, "64",
	  "files are preallocated (fallocate) this far ahead" },
	{ "persist", "direct", { NULL }, TK_CMD_PERSIST, 0, "auto",
	  "O_DIRECT writes: auto (where the file system takes them), on, off" },
	{ "persist", "sync", { NULL }, TK_CMD_PERSIST, 0, "fdatasync",
	  "fdatasync per commit, or dsync (RWF_DSYNC writes)" },
	{ "persist", "idle", { NULL }, TK_CMD_PERSIST, 0, "backoff", "backoff, spin or block" },
	{ "persist", "retain", { NULL }, TK_CMD_PERSIST | TK_CMD_JOURNAL, 0,
	  "ticks=30d,bars=90d,signals=90d",
	  "retention per stream (bars: every bars.*), whole days by their last write" },
	{ "run", "no-persist", { NULL }, TK_CMD_RUN, TK_SET_BOOL, "false",
	  "do not start tickd persist (no journal)" },

	/* [kafka]: tickd kafka, the publisher */
	{ "kafka", "kafka", { "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BROKER", NULL },
	  TK_CMD_KAFKA | TK_CMD_RUN | TK_CMD_FEED, 0, "(none: tickd run starts no publisher)",
	  "Kafka bootstrap servers, host:port,...; tickd run starts tickd kafka when set "
	  "(not with --source kafka), tickd feed --source kafka reads them" },
	{ "kafka", "topic-trades", { "KAFKA_TOPIC", NULL }, TK_CMD_KAFKA, 0, "market.trades.raw",
	  "raw trades (and the feeds' heartbeats, on every partition)" },
	{ "kafka", "topic-bars-prefix", { NULL }, TK_CMD_KAFKA, 0, "market.bars.",
	  "bars.<tf> go to this prefix and <tf>" },
	{ "kafka", "topic-signals", { NULL }, TK_CMD_KAFKA, 0, "market.signals", "signals" },
	{ "kafka", "topic-gaps", { NULL }, TK_CMD_KAFKA, 0, "market.gaps", "the feeds' gap events" },
	{ "kafka", "trades-format", { NULL }, TK_CMD_KAFKA, 0, "tickd",
	  "tickd (the data contract's JSON) or finnhub (Finnhub's trade messages)" },
	{ "kafka", "source-id", { NULL }, TK_CMD_KAFKA, 0, "(the host name)",
	  "names this publisher's records: header tickd.src = <id>/<log>" },
	{ "kafka", "compression", { NULL }, TK_CMD_KAFKA, 0, "lz4", "none, gzip, snappy, lz4, zstd" },
	{ "kafka", "linger-ms", { NULL }, TK_CMD_KAFKA, 0, "5", "batching delay, ms" },
	{ "kafka", "window", { NULL }, TK_CMD_KAFKA, 0, "65536", "records in flight per log" },
	{ "kafka", "property", { NULL }, TK_CMD_KAFKA, 0, "(none)",
	  "librdkafka settings NAME=VALUE, ';' between them" },
	{ "kafka", "readback-max", { NULL }, TK_CMD_KAFKA, 0, "1000000",
	  "messages read back per partition at most, at a start" },
	{ "kafka", "policy", { NULL }, TK_CMD_KAFKA, 0, "hold",
	  "hold: a stalled publisher holds the feed; release: released after release-after" },
	{ "kafka", "release-after", { NULL }, TK_CMD_KAFKA, 0, "5",
	  "seconds of stall a release policy tolerates" },
	{ "kafka", "idle", { NULL }, TK_CMD_KAFKA, 0, "backoff", "backoff, spin or block" },

	/* [api]: tickd api, the HTTP API */
	{ "api", "listen", { "TICKD_API_LISTEN", NULL }, TK_CMD_API | TK_CMD_RUN, 0, "127.0.0.1:8000",
	  "HTTP address, HOST:PORT (tickd run: \"off\" starts no API)" },
	{ "api", "max-connections", { NULL }, TK_CMD_API, 0, "4096",
	  "open connections at most; one event loop serves them all" },
	{ "api", "tls-cert", { "TICKD_API_TLS_CERT", NULL }, TK_CMD_API, 0, "(none: http)",
	  "serve https:// with this PEM certificate (and tls-key)" },
	{ "api", "tls-key", { "TICKD_API_TLS_KEY", NULL }, TK_CMD_API, 0, "(none)",
	  "the certificate's PEM private key" },
	{ "api", "ws-max-clients", { NULL }, TK_CMD_API, 0, "2000",
	  "/ws and /ws/finnhub connections at most" },
	{ "api", "ws-max-per-address", { NULL }, TK_CMD_API, 0, "100",
	  "of them from one client address (0: no limit; loopback clients are not limited)" },
	{ "api", "ws-max-lag", { NULL }, TK_CMD_API, 0, "65536",
	  "records a stream client may fall behind on a log before it is conflated and told the gap" },
	{ "api", "keep-alive", { NULL }, TK_CMD_API, 0, "30s",
	  "an idle keep-alive connection is closed after this long (whole seconds)" },
	{ "api", "health-max-age", { NULL }, TK_CMD_API, 0, "10s",
	  "/health is 503 when a feed has sent nothing for this long" },
	{ "api", "health-max-lag", { NULL }, TK_CMD_API, 0, "100000",
	  "/health is 503 when an engine worker is this many records behind" },
	{ "api", "default-limit", { NULL }, TK_CMD_API, 0, "500",
	  "rows an /ohlcv or /indicators answer holds when the request gives no limit" },
	{ "api", "token", { "TICKD_API_TOKEN", NULL }, TK_CMD_API, TK_SET_SECRET | TK_SET_NOFLAG,
	  "(none: writes are open)",
	  "writes (portfolio, subscriptions) need Authorization: Bearer <token>; set it when "
	  "listening beyond loopback" },
	{ "api", "portfolio", { NULL }, TK_CMD_API, 0, "<data-dir>/portfolio.json",
	  "the simulated portfolio's file (every change fsynced before it is answered)" },
	{ "api", "portfolio-cash", { NULL }, TK_CMD_API, 0, "100000",
	  "the cash a new portfolio starts with" },
	{ "api", "rate-limit", { "TICKD_API_RATE_LIMIT", NULL }, TK_CMD_API, 0, "100",
	  "requests a second per client address (token bucket; 0: off); 429 beyond it" },
	{ "api", "rate-burst", { NULL }, TK_CMD_API, 0, "200", "the bucket's size: requests at once" },
	{ "api", "web-dir", { "TICKD_WEB_DIR", NULL }, TK_CMD_API, 0, "(this build's api/web)",
	  "the API's files: openapi.json, the /docs and /redoc pages and their npm packages" },
	{ "api", "nice", { NULL }, TK_CMD_API, 0, "10",
	  "the API threads' niceness: below the engine's, so a busy API takes what it leaves" },
	{ "api", "rate-limit-loopback", { NULL }, TK_CMD_API, TK_SET_BOOL, "false",
	  "limit loopback clients too (they are exempt by default)" },

	/* [export]: tickd export */
	{ "export", "date", { NULL }, TK_CMD_EXPORT, 0, "(all)", "one UTC day, YYYY-MM-DD" },
	{ "export", "from", { NULL }, TK_CMD_EXPORT, 0, "(the start)",
	  "event time from: epoch ms or ISO 8601" },
	{ "export", "to", { NULL }, TK_CMD_EXPORT, 0, "(the end)",
	  "event time to (exclusive): epoch ms or ISO 8601" },
	{ "export", "symbol", { NULL }, TK_CMD_EXPORT, 0, "(every symbol)",
	  "only this symbol's records" },
	{ "export", "limit", { NULL }, TK_CMD_EXPORT, 0, "(no limit)", "at most this many records" },
	{ "export", "format", { NULL }, TK_CMD_EXPORT, 0, "jsonl", "jsonl or csv" },
	{ "export", "heartbeats", { NULL }, TK_CMD_EXPORT, TK_SET_BOOL, "false",
	  "also the feed's heartbeats" },
	/* [journal]: tickd journal verify */
	{ "journal", "repair", { NULL }, TK_CMD_JOURNAL, TK_SET_BOOL, "false",
	  "tickd journal verify: keep torn tails aside, zero them, rebuild indexes" },
	{ "journal", "quiet", { NULL }, TK_CMD_JOURNAL, TK_SET_BOOL, "false",
	  "tickd journal verify: print only problems and the summary" },
	{ "journal", "now", { NULL }, TK_CMD_JOURNAL, 0, "(the wall clock)",
	  "tickd journal retain: as if it were this time" },
	{ "journal", "dry-run", { NULL }, TK_CMD_JOURNAL, TK_SET_BOOL, "false",
	  "tickd journal retain: say what would be deleted" },

	/* [init] */
	{ "init", "fresh", { NULL }, TK_CMD_INIT, TK_SET_BOOL, "false",
	  "replace an existing segment (its data is lost)" },
	{ "init", "logs", { NULL }, TK_CMD_INIT, 0, "ticks.0", "tick logs to create" },
	{ "init", "slots", { NULL }, TK_CMD_INIT | TK_CMD_RUN, 0, "1048576",
	  "slots per tick log, a power of two" },
	{ "init", "readers", { NULL }, TK_CMD_INIT, 0, "16", "reader-cursor slots per log" },
	{ "init", "symbols", { NULL }, TK_CMD_INIT, 0, "16384", "symbol capacity" },
	{ "init", "state-size", { NULL }, TK_CMD_INIT, 0, "(what the engine's live state needs)",
	  "bytes of live state per symbol, a multiple of 64" },
	{ "init", "mode", { NULL }, TK_CMD_INIT, 0, "0600", "file permissions, octal" },
	{ "init", "group", { NULL }, TK_CMD_INIT, 0, "(the creator's)", "group of the file" },
	{ "init", "mlock", { NULL }, TK_CMD_INIT, TK_SET_BOOL, "false", "lock the segment in RAM" },
	{ "init", "hugepages", { NULL }, TK_CMD_INIT, TK_SET_BOOL, "false",
	  "ask for transparent huge pages on tmpfs" },
	{ "init", "bar-slots", { NULL }, TK_CMD_INIT, 0, "65536",
	  "slots per bar log and the signal log" },
	{ "init", "history-symbols", { NULL }, TK_CMD_INIT, 0, "1024",
	  "symbols that keep a ring of their last closed bars" },
	{ "init", "history-depth", { NULL }, TK_CMD_INIT, 0, "1s=3600,1m=1440,5m=288,1h=168",
	  "bars kept per timeframe" },

	/* [mock-finnhub] */
	{ "mock-finnhub", "port", { NULL }, TK_CMD_MOCK, 0, "(required; 0 picks a free one)",
	  "TCP port to listen on" },
	{ "mock-finnhub", "bind", { NULL }, TK_CMD_MOCK, 0, "127.0.0.1", "address to listen on" },
	{ "mock-finnhub", "token", TK__TOKEN_ENV, TK_CMD_MOCK, TK_SET_SECRET, "test",
	  "the token the mock accepts" },
	{ "mock-finnhub", "rate", { NULL }, TK_CMD_MOCK, 0, "200",
	  "synthetic trades per second, all symbols" },
	{ "mock-finnhub", "symbols", { NULL }, TK_CMD_MOCK, 0, "50", "synthetic symbols" },
	{ "mock-finnhub", "seed", { NULL }, TK_CMD_MOCK, 0, "1", "generator seed" },
	{ "mock-finnhub", "replay", { NULL }, TK_CMD_MOCK, 0, "(none)",
	  "send a recording's messages instead, at their pace" },
	{ "mock-finnhub", "batch-ms", { NULL }, TK_CMD_MOCK, 0, "20", "how often trades go out, ms" },
	{ "mock-finnhub", "ping-ms", { NULL }, TK_CMD_MOCK, 0, "10000", "ping period, ms" },
	{ "mock-finnhub", "max-symbols", { NULL }, TK_CMD_MOCK, 0, "50",
	  "subscriptions per connection before the error" },
	{ "mock-finnhub", "drop-every", { NULL }, TK_CMD_MOCK, 0, "(never)",
	  "fault: close every connection every this many ms" },
	{ "mock-finnhub", "malformed-every", { NULL }, TK_CMD_MOCK, 0, "(never)",
	  "fault: cut every Nth trade message in half" },
	{ "mock-finnhub", "error-every", { NULL }, TK_CMD_MOCK, 0, "(never)",
	  "fault: send an error message every this many ms" },
	{ "mock-finnhub", "stall-after", { NULL }, TK_CMD_MOCK, 0, "0",
	  "fault: start a stall after this many ms" },
	{ "mock-finnhub", "stall", { NULL }, TK_CMD_MOCK, 0, "(no stall)",
	  "fault: send nothing at all for this many ms" },
	{ "mock-finnhub", "reject-429", { NULL }, TK_CMD_MOCK, 0, "0",
	  "fault: answer the first N upgrades with HTTP 429" },
	{ "mock-finnhub", "probe", { NULL }, TK_CMD_MOCK, TK_SET_BOOL, "false",
	  "latency probes for bench/feed" },
	{ "mock-finnhub", "tls-cert", { NULL }, TK_CMD_MOCK, 0, "(plain ws://)",
	  "serve wss:// with this certificate (PEM)" },
	{ "mock-finnhub", "tls-key", { NULL }, TK_CMD_MOCK, 0, "(plain ws://)",
	  "the certificate's private key (PEM)" },

	/* [tail] */
	{ "tail", "no-follow", { NULL }, TK_CMD_TAIL, TK_SET_BOOL, "false",
	  "print what is there and exit" },
	{ "tail", "count", { NULL }, TK_CMD_TAIL, 0, "(endless; starts at the last 10)",
	  "stop after this many records" },
	{ "tail", "from-start", { NULL }, TK_CMD_TAIL, TK_SET_BOOL, "false",
	  "start at the oldest record still in the ring" },
	{ "tail", "symbol", { NULL }, TK_CMD_TAIL, 0, "(every symbol)", "only this symbol's trades" },
	{ "tail", "heartbeats", { NULL }, TK_CMD_TAIL, TK_SET_BOOL, "false",
	  "also print the feed's heartbeats" },
	{ "tail", "name", { NULL }, TK_CMD_TAIL, 0, "(anonymous)",
	  "register as this reader (resumes there)" },
	{ "tail", "gating", { NULL }, TK_CMD_TAIL, TK_SET_BOOL, "false",
	  "with a name: never be overwritten" },
	{ "tail", "idle", { NULL }, TK_CMD_TAIL, 0, "block", "block, backoff or spin" },

	/* [stats], [top] */
	{ "stats", "json", { NULL }, TK_CMD_STATS, TK_SET_BOOL, "false", "one JSON object" },
	{ "stats", "interval", { NULL }, TK_CMD_STATS, 0, "250", "rate measured over this many ms" },
	{ "top", "interval", { NULL }, TK_CMD_TOP, 0, "1000", "refresh period, ms" },
	{ "top", "iterations", { NULL }, TK_CMD_TOP, 0, "(until q)", "stop after this many refreshes" },

	/* [subscribe]: tickd subscribe and unsubscribe */
	{ "subscribe", "feed", { NULL }, TK_CMD_SUBSCRIBE | TK_CMD_UNSUBSCRIBE, 0, "0",
	  "the feed whose control ring gets the requests" },
};
const size_t tk_nsettings = sizeof(tk_settings) / sizeof(tk_settings[0]);

unsigned tk_config_cmd_bit(const char *cmd)
{
	unsigned i;

	for (i = 0; cmd != NULL && i < TK_CMD_COUNT; i++)
		if (strcmp(cmd, tk__cmd_names[i]) == 0)
			return 1u << i;
	return 0;
}

const char *tk_config_cmd_name(unsigned i)
{
	return i < TK_CMD_COUNT ? tk__cmd_names[i] : NULL;
}

const struct tk_setting *tk_config_setting(unsigned cmd, const char *name)
{
	size_t i;

	for (i = 0; i < tk_nsettings; i++)
		if ((tk_settings[i].cmds & cmd) != 0 && strcmp(tk_settings[i].name, name) == 0)
			return &tk_settings[i];
	return NULL;
}

static const struct tk_setting *tk__in_section(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < tk_nsettings; i++)
		if (strcmp(tk_settings[i].section, section) == 0 &&
		    strcmp(tk_settings[i].name, name) == 0)
			return &tk_settings[i];
	return NULL;
}

/* ------------------------------------------------------------ the file */

struct tk__fileval {
	const struct tk_setting *set;
	char *value;
	int line;
};

/* A synthetic argument and where it came from. */
struct tk__syn {
	char *arg;                   /* "--name=value" or "--name" */
	const struct tk_setting *set;
	char msg[300];               /* for messages: "tickd.conf:12 watermark", "WATERMARK_SECONDS" */
	char where[300];             /* for tickd config: "tickd.conf:12", "env WATERMARK_SECONDS" */
};

static struct {
	char *file;
	const char *from;
	struct tk__fileval *vals;
	size_t nvals;
	/* the command this process runs */
	unsigned cmd;
	const struct option *longopts;
	int argc;                    /* the real arguments, --config removed */
	char **argv;
	struct tk__syn *syn;
	size_t nsyn;
} tk__cfg;

/* What the reader saw of the line inih is handling (inih 55 gives the
 * handler no line number, nor the section of a section line). */
struct tk__parse {
	FILE *f;
	const char *file;
	int line;
	bool indented;       /* the raw line starts with blanks: inih's continuation */
	const char *section; /* the table's spelling of the current section, or NULL */
	struct tk__fileval *vals;
	size_t nvals;
	int last_line;       /* line of the last value, for continuations */
	int err_line;
	char err[512];
};

static void tk__perr(struct tk__parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tk__perr(struct tk__parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err_line != 0)
		return;
	p->err_line = p->line;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

static const char *tk__known_section(const char *name)
{
	size_t i;

	for (i = 0; tk_config_sections[i] != NULL; i++)
		if (strcmp(tk_config_sections[i], name) == 0)
			return tk_config_sections[i];
	return NULL;
}

static char *tk__reader(char *str, int num, void *stream)
{
	struct tk__parse *p = stream;
	const char *s;
	size_t n;

	if (p->err_line != 0 || fgets(str, num, p->f) == NULL)
		return NULL;
	p->line++;
	n = strlen(str);
	if (n > 0 && str[n - 1] != '\n' && !feof(p->f)) {
		tk__perr(p, "%s:%d: line longer than %d bytes (continue a long value on indented "
			 "lines)", p->file, p->line, num - 1);
		return NULL;
	}
	for (s = str; *s == ' ' || *s == '\t'; s++)
		;
	p->indented = s != str;
	if (p->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
	    (unsigned char)s[2] == 0xBF)
		s += 3;
	if (*s == '[') {
		/* inih calls no handler for a section line: an unknown (or empty)
		 * section would go unnoticed, so check it here. */
		const char *end = strchr(s, ']');
		char name[64];
		size_t len;

		if (end == NULL)
			return str; /* inih reports the syntax error */
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		len = (size_t)(end - s);
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		snprintf(name, sizeof(name), "%.*s", (int)len, s);
		p->section = tk__known_section(name);
		if (p->section == NULL) {
			char known[256];
			size_t k, used = 0;

			/* Named from the list itself, so the message never drifts. */
			known[0] = 0;
			for (k = 0; tk_config_sections[k] != NULL && used < sizeof(known); k++)
				used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
							 k ? ", " : "", tk_config_sections[k]);
			tk__perr(p, "%s:%d: unknown section [%s] (sections: %s)", p->file, p->line, name,
				 known);
			return NULL;
		}
	}
	return str;
}

static const char *tk__bool(const char *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no",
										     "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return "true";
		if (strcasecmp(v, no[i]) == 0)
			return "false";
	}
	return NULL;
}

static int tk__handler(void *user, const char *section, const char *name, const char *value)
{
	struct tk__parse *p = user;
	const struct tk_setting *set;
	size_t i;

	(void)section; /* the reader's copy is checked and spelled as the table spells it */
	if (p->section == NULL) {
		tk__perr(p, "%s:%d: %s is outside a section (put it under [global], [engine], ...)",
			 p->file, p->line, name);
		return 0;
	}
	set = tk__in_section(p->section, name);
	if (p->indented && p->nvals > 0 && p->last_line == p->line - 1 &&
	    p->vals[p->nvals - 1].set == set) {
		/* A continuation: inih hands it over as the same key again. */
		struct tk__fileval *v = &p->vals[p->nvals - 1];
		size_t keylen = strcspn(value, " \t=");
		char key[64];
		size_t len;
		char *joined;

		snprintf(key, sizeof(key), "%.*s", (int)keylen, value);
		if (value[keylen + strspn(value + keylen, " \t")] == '=' &&
		    tk__in_section(p->section, key) != NULL) {
			tk__perr(p, "%s:%d: this indented line would continue the value of %s (line "
				 "%d): do not indent keys", p->file, p->line, name, v->line);
			return 0;
		}
		len = strlen(v->value);
		while (len > 0 && v->value[len - 1] == ',')
			v->value[--len] = '\0';
		joined = malloc(len + strlen(value) + 2);
		if (joined == NULL) {
			tk__perr(p, "%s:%d: out of memory", p->file, p->line);
			return 0;
		}
		sprintf(joined, "%s%s%s", v->value, len > 0 ? "," : "", value);
		free(v->value);
		v->value = joined;
		p->last_line = p->line;
		return 1;
	}
	if (set == NULL) {
		const char *other = NULL;

		for (i = 0; i < tk_nsettings && other == NULL; i++)
			if (strcmp(tk_settings[i].name, name) == 0)
				other = tk_settings[i].section;
		if (other != NULL)
			tk__perr(p, "%s:%d: %s is not a setting of [%s] (it is one of [%s])", p->file,
				 p->line, name, p->section, other);
		else
			tk__perr(p, "%s:%d: unknown key '%s' in [%s]", p->file, p->line, name,
				 p->section);
		return 0;
	}
	for (i = 0; i < p->nvals; i++)
		if (p->vals[i].set == set) {
			tk__perr(p, "%s:%d: %s is set twice in [%s] (also on line %d)", p->file, p->line,
				 name, p->section, p->vals[i].line);
			return 0;
		}
	if ((set->flags & TK_SET_BOOL) != 0 && tk__bool(value) == NULL) {
		tk__perr(p, "%s:%d %s: '%s' is not true or false", p->file, p->line, name, value);
		return 0;
	}
	/* One value per setting at most: the table bounds the array. */
	p->vals[p->nvals].set = set;
	p->vals[p->nvals].line = p->line;
	p->vals[p->nvals].value = strdup((set->flags & TK_SET_BOOL) != 0 ? tk__bool(value) : value);
	if (p->vals[p->nvals].value == NULL) {
		tk__perr(p, "%s:%d: out of memory", p->file, p->line);
		return 0;
	}
	p->nvals++;
	p->last_line = p->line;
	return 1;
}

static void tk__free_vals(struct tk__fileval *vals, size_t n)
{
	while (n > 0)
		free(vals[--n].value);
	free(vals);
}

int tk_config_load(const char *file, const char *from)
{
	struct tk__parse p = { .file = file };
	int rc;

	tk__free_vals(tk__cfg.vals, tk__cfg.nvals);
	free(tk__cfg.file);
	tk__cfg.vals = NULL;
	tk__cfg.nvals = 0;
	tk__cfg.file = NULL;
	tk__cfg.from = NULL;
	if (file == NULL)
		return 0;
	p.f = fopen(file, "r");
	if (p.f == NULL)
		return tk_err_set(errno, "%s: cannot read %s: %s", from, file, strerror(errno));
	p.vals = calloc(tk_nsettings, sizeof(*p.vals));
	if (p.vals == NULL) {
		fclose(p.f);
		return tk_err_set(ENOMEM, "%s: out of memory", file);
	}
	rc = ini_parse_stream(tk__reader, &p, tk__handler, &p);
	if (rc == 0 && p.err_line == 0 && ferror(p.f))
		tk__perr(&p, "%s: read error: %s", file, strerror(errno));
	fclose(p.f);
	/* inih goes on after an error and returns the first line it disliked;
	 * ours stop the reader, so the earlier of the two is the first. */
	if (rc > 0 && (p.err_line == 0 || rc < p.err_line)) {
		p.err_line = rc;
		snprintf(p.err, sizeof(p.err), "%s:%d: not a [section] or a key = value line", file,
			 rc);
	}
	if (p.err_line != 0 || rc != 0) {
		tk__free_vals(p.vals, p.nvals);
		return tk_err_set(EINVAL, "%s", p.err_line != 0 ? p.err : "cannot parse the file");
	}
	tk__cfg.file = strdup(file);
	tk__cfg.from = from;
	tk__cfg.vals = p.vals;
	tk__cfg.nvals = p.nvals;
	return 0;
}

const char *tk_config_file(const char **from)
{
	if (from != NULL)
		*from = tk__cfg.from;
	return tk__cfg.file;
}

static const struct tk__fileval *tk__file_value(const struct tk_setting *s)
{
	size_t i;

	for (i = 0; i < tk__cfg.nvals; i++)
		if (tk__cfg.vals[i].set == s)
			return &tk__cfg.vals[i];
	return NULL;
}

static const char *tk__env_value(const struct tk_setting *s, const char **name)
{
	const char *const *e;

	for (e = s->env; *e != NULL; e++) {
		const char *v = getenv(*e);

		/* An empty variable is unset: `FOO= cmd` is how a shell clears one. */
		if (v != NULL && *v != '\0') {
			*name = *e;
			return v;
		}
	}
	return NULL;
}

const char *tk_config_lookup(const struct tk_setting *s, char *origin, size_t cap)
{
	const struct tk__fileval *fv;
	const char *name, *v = tk__env_value(s, &name);

	if (v != NULL) {
		if (origin != NULL)
			snprintf(origin, cap, "env %s", name);
		return v;
	}
	fv = tk__file_value(s);
	if (fv != NULL) {
		if (origin != NULL)
			snprintf(origin, cap, "%s:%d", tk__cfg.file, fv->line);
		return fv->value;
	}
	return NULL;
}

const char *tk_config_value(const char *section, const char *name)
{
	const struct tk_setting *s = tk__in_section(section, name);

	return s != NULL ? tk_config_lookup(s, NULL, 0) : NULL;
}

/* ------------------------------------------------------------ the argument vector */

/* The long option an argument "--xyz[=v]" names, resolved as getopt_long
 * does (an exact name, or an unambiguous prefix), or NULL. */
static const struct option *tk__resolve(const struct option *longopts, const char *arg)
{
	const struct option *o, *found = NULL;
	size_t len;

	if (longopts == NULL || strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
		return NULL;
	arg += 2;
	len = strcspn(arg, "=");
	for (o = longopts; o->name != NULL; o++) {
		if (strncmp(o->name, arg, len) != 0)
			continue;
		if (o->name[len] == '\0')
			return o;
		if (found != NULL)
			return NULL; /* ambiguous: getopt refuses it */
		found = o;
	}
	return found;
}

static bool tk__has_opt(const struct option *longopts, const char *name)
{
	const struct option *o;

	for (o = longopts; o != NULL && o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return true;
	return false;
}

static int tk__add_syn(const struct tk_setting *s, const char *value, const char *msg,
		       const char *where)
{
	struct tk__syn *y = &tk__cfg.syn[tk__cfg.nsyn];
	size_t len = strlen(s->name) + (value != NULL ? strlen(value) + 1 : 0) + 3;

	y->arg = malloc(len);
	if (y->arg == NULL)
		return tk_err_set(ENOMEM, "out of memory");
	if (value != NULL)
		snprintf(y->arg, len, "--%s=%s", s->name, value);
	else
		snprintf(y->arg, len, "--%s", s->name);
	y->set = s;
	snprintf(y->msg, sizeof(y->msg), "%s", msg);
	snprintf(y->where, sizeof(y->where), "%s", where);
	tk__cfg.nsyn++;
	return 0;
}

const char *tk_config_arg_origin(const char *arg)
{
	size_t i;

	for (i = 0; arg != NULL && i < tk__cfg.nsyn; i++) {
		const char *a = tk__cfg.syn[i].arg;

		if (arg >= a && arg <= a + strlen(a))
			return tk__cfg.syn[i].where;
	}
	return NULL;
}

const char *tk_config_origin(const char *setting)
{
	const struct tk_setting *s;
	const char *last = NULL;
	size_t i;
	int j;

	if (setting == NULL || strncmp(setting, "--", 2) != 0 || strchr(setting, ' ') != NULL)
		return NULL;
	s = tk_config_setting(tk__cfg.cmd, setting + 2);
	if (s == NULL)
		return NULL;
	/* The value being parsed: getopt's optarg points into its argument. */
	for (i = 0; optarg != NULL && i < tk__cfg.nsyn; i++) {
		const char *a = tk__cfg.syn[i].arg;

		if (tk__cfg.syn[i].set == s && optarg >= a && optarg <= a + strlen(a))
			return tk__cfg.syn[i].msg;
	}
	/* Otherwise the winner: a flag beats every synthetic argument. */
	for (j = 1; j < tk__cfg.argc && strcmp(tk__cfg.argv[j], "--") != 0; j++) {
		const struct option *o = tk__resolve(tk__cfg.longopts, tk__cfg.argv[j]);

		if (o != NULL && strcmp(o->name, s->name) == 0)
			return NULL;
		if (o != NULL && o->has_arg == required_argument && strchr(tk__cfg.argv[j], '=') == NULL)
			j++;
	}
	for (i = 0; i < tk__cfg.nsyn; i++)
		if (tk__cfg.syn[i].set == s)
			last = tk__cfg.syn[i].msg;
	return last;
}

int tk_config_check(unsigned cmd, const struct option *longopts, char *out, size_t cap)
{
	const struct option *o;
	size_t i, used = 0;
	int n = 0;

	if (cap > 0)
		out[0] = '\0';
#define TK__SAY(...)                                                                          \
	do {                                                                                  \
		if (used < cap)                                                               \
			used += (size_t)snprintf(out + used, cap - used, __VA_ARGS__);        \
		n++;                                                                          \
	} while (0)
	for (o = longopts; o != NULL && o->name != NULL; o++) {
		const struct tk_setting *s;

		if (strcmp(o->name, "help") == 0)
			continue;
		s = tk_config_setting(cmd, o->name);
		if (s == NULL)
			TK__SAY("--%s is not in the settings table (common/config.c)\n", o->name);
		else if ((o->has_arg == no_argument) != ((s->flags & TK_SET_BOOL) != 0))
			TK__SAY("--%s: the table says %s, the command's getopt says otherwise\n",
				o->name, (s->flags & TK_SET_BOOL) != 0 ? "a flag" : "a value");
	}
	for (i = 0; i < tk_nsettings; i++)
		if ((tk_settings[i].cmds & cmd) != 0 && !tk__has_opt(longopts, tk_settings[i].name))
			TK__SAY("[%s] %s: the table says the command takes --%s, it does not\n",
				tk_settings[i].section, tk_settings[i].name, tk_settings[i].name);
#undef TK__SAY
	return n;
}

/* The newest argument vector tk_config_build made (volatile: never read,
 * but it must stay stored for LeakSanitizer to see it reachable). */
static char **volatile tk__built_argv;

int tk_config_build(const struct option *longopts, int argc, char **argv, int *out_argc,
		    char ***out_argv)
{
	const char *config = NULL, *from = NULL;
	char **real, **nv;
	size_t i;
	int j, nreal = 0, k, rc;

	/* A second command in one process (the tests) starts over. */
	for (i = 0; i < tk__cfg.nsyn; i++)
		free(tk__cfg.syn[i].arg);
	free(tk__cfg.syn);
	free(tk__cfg.argv);
	tk__cfg.syn = NULL;
	tk__cfg.nsyn = 0;
	tk__cfg.argv = NULL;
	tk__cfg.argc = 0;
	tk__cfg.cmd = tk_config_cmd_bit(argc > 0 ? argv[0] : NULL);
	tk__cfg.longopts = longopts;
	tk_opt_origin_hook = tk_config_origin;

	/* The real arguments without --config, which no command parses itself. */
	real = calloc((size_t)argc + 1, sizeof(*real));
	if (real == NULL)
		return tk_err_set(ENOMEM, "out of memory");
	for (j = 0; j < argc; j++) {
		const struct option *o;

		if (j > 0 && strcmp(argv[j], "--") == 0) {
			while (j < argc)
				real[nreal++] = argv[j++];
			break;
		}
		if (j > 0 && strcmp(argv[j], "--config") == 0) {
			if (j + 1 >= argc) {
				free(real);
				return tk_err_set(EINVAL, "--config: needs a FILE");
			}
			config = argv[++j];
			continue;
		}
		if (j > 0 && strncmp(argv[j], "--config=", 9) == 0) {
			config = argv[j] + 9;
			continue;
		}
		real[nreal++] = argv[j];
		o = j > 0 ? tk__resolve(longopts, argv[j]) : NULL;
		if (o != NULL && o->has_arg == required_argument && strchr(argv[j], '=') == NULL &&
		    j + 1 < argc)
			real[nreal++] = argv[++j]; /* a value, even one spelt like --config */
		if (o != NULL) {
			const struct tk_setting *s = tk_config_setting(tk__cfg.cmd, o->name);

			if (s != NULL && (s->flags & TK_SET_NOFLAG) != 0) {
				free(real);
				return tk_err_set(EINVAL, "--%s: not taken on the command line, where ps "
						  "shows it to every user: set %s or [%s] %s in the "
						  "configuration file", s->name, s->env[0] ? s->env[0] :
						  "it", s->section, s->name);
			}
		}
	}
	tk__cfg.argc = nreal;
	tk__cfg.argv = real;

	if (config != NULL) {
		from = "--config";
		/* The children of tickd run read the same file. */
		setenv("TICKD_CONFIG", config, 1);
	} else if ((config = getenv("TICKD_CONFIG")) != NULL && *config != '\0') {
		from = "TICKD_CONFIG";
	} else {
		config = NULL;
	}
	if (config == NULL || tk__cfg.file == NULL || strcmp(config, tk__cfg.file) != 0) {
		rc = tk_config_load(config, from);
		if (rc < 0)
			return rc;
	}

	/* At most one file and one environment value per setting. */
	tk__cfg.syn = calloc(2 * tk_nsettings, sizeof(*tk__cfg.syn));
	if (tk__cfg.syn == NULL)
		return tk_err_set(ENOMEM, "out of memory");
	tk__cfg.nsyn = 0;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < tk_nsettings; i++) {
			const struct tk_setting *s = &tk_settings[i];
			char msg[300], where[300];
			const char *v, *name;

			if ((s->cmds & tk__cfg.cmd) == 0 || !tk__has_opt(longopts, s->name))
				continue;
			if (k == 0) {
				const struct tk__fileval *fv = tk__file_value(s);

				if (fv == NULL)
					continue;
				/* A false flag is the default: there is no --no-NAME to say it. */
				if ((s->flags & TK_SET_BOOL) != 0 && strcmp(fv->value, "true") != 0)
					continue;
				snprintf(msg, sizeof(msg), "%s:%d %s", tk__cfg.file, fv->line, s->name);
				snprintf(where, sizeof(where), "%s:%d", tk__cfg.file, fv->line);
				v = fv->value;
			} else {
				v = tk__env_value(s, &name);
				if (v == NULL || (s->flags & TK_SET_BOOL) != 0)
					continue;
				snprintf(msg, sizeof(msg), "%s", name);
				snprintf(where, sizeof(where), "env %s", name);
			}
			rc = tk__add_syn(s, (s->flags & TK_SET_BOOL) != 0 ? NULL : v, msg, where);
			if (rc < 0)
				return rc;
		}
	}

	nv = calloc((size_t)nreal + tk__cfg.nsyn + 1, sizeof(*nv));
	if (nv == NULL)
		return tk_err_set(ENOMEM, "out of memory");
	k = 0;
	if (nreal > 0)
		nv[k++] = real[0];
	for (i = 0; i < tk__cfg.nsyn; i++)
		nv[k++] = tk__cfg.syn[i].arg;
	for (j = 1; j < nreal; j++)
		nv[k++] = real[j];
	nv[k] = NULL;
	*out_argc = k;
	*out_argv = nv;
	/* Kept for the life of the process (getopt's argv, and its optarg
	 * pointers, stay valid): reachable from here, not a leak. */
	tk__built_argv = nv;
	return 0;
}

void tk_config_args(const struct option *longopts, int *argc, char ***argv)
{
	const char *check = getenv("TICKD_CONFIG_CHECK");

	if (check != NULL && strcmp(check, "1") == 0) {
		unsigned cmd = tk_config_cmd_bit(*argc > 0 ? (*argv)[0] : NULL);
		char out[4096];
		int n = tk_config_check(cmd, longopts, out, sizeof(out));

		fprintf(n == 0 ? stdout : stderr, "%s%s: %s\n", out, *argc > 0 ? (*argv)[0] : "?",
			n == 0 ? "the settings table agrees with the options" : "differs from the table");
		exit(n == 0 ? 0 : 70);
	}
	if (tk_config_build(longopts, *argc, *argv, argc, argv) < 0) {
		fprintf(stderr, "tickd: %s\n", tk_err_msg());
		exit(2);
	}
}

/*
 * bench/feed: what the feed costs, each figure beside its baseline.
 *
 *  (a) parse throughput over one corpus of Finnhub-format messages (trade
 *      messages of 1-20 trades over stocks, crypto and FX, some pings),
 *      messages/s and trades/s: the chosen parser (feed/fh_scan.c: one pass,
 *      full validation, every field checked), the same work on simdjson's
 *      DOM (tk_fh_parse_dom), bare simdjson (validate and build the DOM,
 *      read nothing: the baseline), and jansson doing the same work.
 *  (b) end to end: `tickd mock-finnhub --probe` stamps CLOCK_MONOTONIC into
 *      each trade as it writes it to the socket; `tickd feed --source
 *      finnhub` receives, parses and writes the tick; this process, pinned
 *      blocked on the tick log (futex), takes the clock when the tick is
 *      visible.  Baseline: the same stamped 100-byte messages over a plain
 *      loopback TCP socket between two processes, read by a blocking read.
 *      No process is pinned: three of them share two cores.
 *
 * usage: feed [--quick] [--tickd PATH] [--parse-only]
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/hist.h"
#include "feed/fh_parse.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/records.h"
#include "shm/segment.h"

#ifndef TK_TICKD_BIN
#define TK_TICKD_BIN "tickd"
#endif

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		fprintf(stderr, "feed: cannot pin to cpu %d: %s\n", cpu, strerror(errno));
}

/* ---------------------------------------------------------- corpus */

struct corpus {
	char *buf;
	size_t *off;
	size_t *len;
	size_t n;
	uint64_t trades;
};

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static void make_corpus(struct corpus *c, size_t n)
{
	static const char *stocks[] = { "AAPL", "MSFT", "AMZN", "NVDA", "GOOGL", "META", "TSLA" };
	static const char *crypto[] = { "BINANCE:BTCUSDT", "BINANCE:ETHUSDT", "COINBASE:SOL-USD" };
	static const char *fx[] = { "OANDA:EUR_USD", "OANDA:USD_JPY" };
	size_t cap = n * 1400, at = 0, i;
	int64_t t = 1704205800000LL;

	c->buf = malloc(cap);
	c->off = malloc(n * sizeof(size_t));
	c->len = malloc(n * sizeof(size_t));
	c->n = n;
	c->trades = 0;
	for (i = 0; i < n; i++) {
		int k, ntr = 1 + (int)(-log(1 - uniform()) * 4);

		c->off[i] = at;
		if (uniform() < 0.02) {
			at += (size_t)sprintf(c->buf + at, "{\"type\":\"ping\"}");
		} else {
			ntr = ntr > 20 ? 20 : ntr;
			at += (size_t)sprintf(c->buf + at, "{\"data\":[");
			for (k = 0; k < ntr; k++) {
				double u = uniform();

				t += (int64_t)(uniform() * 40);
				if (u < 0.6)
					at += (size_t)sprintf(c->buf + at,
							      "%s{\"c\":[\"1\",\"12\"],\"p\":%.2f,\"s\":\"%s\",\"t\":%lld,"
							      "\"v\":%d}", k ? "," : "", 100 + uniform() * 300,
							      stocks[(int)(uniform() * 7)], (long long)t,
							      1 + (int)(uniform() * 500));
				else if (u < 0.9)
					at += (size_t)sprintf(c->buf + at,
							      "%s{\"c\":null,\"p\":%.2f,\"s\":\"%s\",\"t\":%lld,"
							      "\"v\":%.6f}", k ? "," : "", 20000 + uniform() * 30000,
							      crypto[(int)(uniform() * 3)], (long long)t,
							      uniform() * 0.5);
				else
					at += (size_t)sprintf(c->buf + at,
							      "%s{\"p\":%.5f,\"s\":\"%s\",\"t\":%lld,\"v\":0}",
							      k ? "," : "", 1 + uniform() * 0.2,
							      fx[(int)(uniform() * 2)], (long long)t);
				c->trades++;
			}
			at += (size_t)sprintf(c->buf + at, "],\"type\":\"trade\"}");
		}
		c->len[i] = at - c->off[i];
	}
}

/* ---------------------------------------------------------- (a) parsers */

static uint64_t delivered;

static void on_trade(void *ctx, const struct tk_fh_trade *t)
{
	(void)ctx;
	delivered += t->symbol_len > 0;
}

/* The chosen parser's work, on jansson: validate, then check every field. */
static int jansson_parse(const char *buf, size_t len)
{
	json_error_t err;
	json_t *doc = json_loadb(buf, len, 0, &err), *type, *data, *tr;
	size_t i;
	int n = 0;

	if (doc == NULL)
		return -1;
	type = json_object_get(doc, "type");
	if (!json_is_string(type)) {
		json_decref(doc);
		return -1;
	}
	if (strcmp(json_string_value(type), "trade") == 0) {
		data = json_object_get(doc, "data");
		json_array_foreach(data, i, tr) {
			json_t *s = json_object_get(tr, "s"), *p = json_object_get(tr, "p");
			json_t *v = json_object_get(tr, "v"), *t = json_object_get(tr, "t");
			json_t *c = json_object_get(tr, "c");
			struct tk_fh_trade x;

			if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > 31 ||
			    !json_is_number(p) || !json_is_number(v) || !json_is_integer(t))
				continue;
			x.symbol = json_string_value(s);
			x.symbol_len = (uint32_t)json_string_length(s);
			x.price = json_number_value(p);
			x.size = json_number_value(v);
			x.ts_ns = json_integer_value(t) * 1000000;
			x.conditions = 0;
			if (!(x.price > 0) || x.price > 1e9 || !(x.size >= 0) || x.size > 1e12)
				continue;
			if (json_is_array(c)) {
				size_t j;
				json_t *code;

				json_array_foreach(c, j, code)
					if (json_is_string(code))
						x.conditions |= 1u << (atoi(json_string_value(code)) & 31);
			}
			on_trade(NULL, &x);
			n++;
		}
	}
	json_decref(doc);
	return n;
}

struct tput {
	double msgs_per_s;
	double trades_per_s;
	double mb_per_s;
};

enum which { CHOSEN, DOM, BARE, JANSSON };

static struct tput parse_rate(struct tk_fh_parser *p, const struct corpus *c, enum which w,
			      int passes)
{
	struct tput r;
	uint64_t bytes = 0;
	int64_t t0, t1;
	size_t i;
	int k;

	delivered = 0;
	t0 = tk_mono_ns();
	for (k = 0; k < passes; k++)
		for (i = 0; i < c->n; i++) {
			const char *m = c->buf + c->off[i];
			struct tk_fh_msg msg;

			if (w == CHOSEN)
				tk_fh_parse(p, m, c->len[i], on_trade, NULL, &msg);
			else if (w == DOM)
				tk_fh_parse_dom(p, m, c->len[i], on_trade, NULL, &msg);
			else if (w == BARE)
				tk_fh_bare_simdjson(p, m, c->len[i]);
			else
				jansson_parse(m, c->len[i]);
			bytes += c->len[i];
		}
	t1 = tk_mono_ns();
	r.msgs_per_s = (double)c->n * passes / ((double)(t1 - t0) / 1e9);
	r.trades_per_s = (double)c->trades * passes / ((double)(t1 - t0) / 1e9);
	r.mb_per_s = (double)bytes / 1e6 / ((double)(t1 - t0) / 1e9);
	if (w != BARE && delivered != c->trades * (uint64_t)passes) {
		fprintf(stderr, "feed: a parser delivered %llu trades of %llu\n",
			(unsigned long long)delivered, (unsigned long long)(c->trades * passes));
		exit(1);
	}
	return r;
}

/* ---------------------------------------------------------- (b) end to end */

static pid_t spawn(char *const argv[], int out_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		cpu_set_t all;
		int c;

		/* Not the parent's pinning: the children go where the scheduler puts them. */
		CPU_ZERO(&all);
		for (c = 0; c < CPU_SETSIZE; c++)
			CPU_SET(c, &all);
		sched_setaffinity(0, sizeof(all), &all);
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 2); /* their log lines would bury the table */
		if (out_fd >= 0)
			dup2(out_fd, 1);
		setenv("FINNHUB_API_TOKEN", "bench", 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

/* The mock, the feed, and this process following the tick log. */
static int ws_to_shm(const char *tickd, double rate, double seconds, struct tk_hist *h)
{
	char path[96], port[16] = "", url[64], line[256];
	struct tk_seg_config cfg;
	struct tk_segment seg;
	struct tk_log_reader r;
	/* Named (a cursor slot, non-gating): an anonymous reader may not set
	 * the event count's sleeper flag, so its BLOCK wait is bounded sleeps
	 * (shm/idle.c) and the feed's publish never wakes it: its time to see
	 * a tick would include up to 1 ms of sleep. */
	struct tk_reader_opts o = { .name = "bench.feed", .start = TK_START_END };
	char rate_s[32];
	int pipefd[2];
	pid_t mock, feed;
	FILE *mo;
	int64_t until, warm;
	struct tk_idle idle;
	uint8_t slot[64];

	snprintf(path, sizeof(path), "/dev/shm/tickd-bench-feed-%d", (int)getpid());
	tk_seg_config_default(&cfg);
	cfg.symbol_capacity = 64;
	tk_seg_config_add_log(&cfg, "ticks.0", 65536, 64, 4);
	if (tk_segment_create(&seg, path, &cfg, true) < 0) {
		fprintf(stderr, "feed: %s\n", tk_err_msg());
		return -1;
	}
	if (pipe(pipefd) != 0)
		return -1;
	snprintf(rate_s, sizeof(rate_s), "%g", rate);
	{
		char *argv[] = { (char *)tickd, "mock-finnhub", "--port", "0", "--probe", "--token",
				 "bench", "--symbols", "1", "--rate", rate_s, "--batch-ms", "1",
				 "--ping-ms", "1000", NULL };

		mock = spawn(argv, pipefd[1]);
	}
	close(pipefd[1]);
	mo = fdopen(pipefd[0], "r");
	while (fgets(line, sizeof(line), mo) != NULL)
		if (sscanf(line, "mock-finnhub: listening on ws://127.0.0.1:%15[0-9]", port) == 1)
			break;
	if (port[0] == '\0') {
		fprintf(stderr, "feed: the mock did not start (%s)\n", tickd);
		stop(mock);
		return -1;
	}
	snprintf(url, sizeof(url), "ws://127.0.0.1:%s", port);
	{
		char *argv[] = { (char *)tickd, "feed", "--source", "finnhub", "--symbol-list", "AAPL",
				 "--url", url, "--shm-path", path, NULL };

		feed = spawn(argv, -1);
	}
	if (tk_log_reader_open(&r, &seg, "ticks.0", &o) < 0) {
		fprintf(stderr, "feed: %s\n", tk_err_msg());
		return -1;
	}
	/* A blocked reader (futex wake-up), not a spinning one: with two cores,
	 * a spinner would take the core the feed or the mock needs. */
	tk_idle_init(&idle, TK_IDLE_BLOCK);
	warm = tk_mono_ns() + 1000 * 1000000LL; /* connection, subscription, first messages */
	until = warm + (int64_t)(seconds * 1e9);
	tk_hist_init(h);
	while (tk_mono_ns() < until) {
		const struct tk_slot *s = (const struct tk_slot *)slot;
		struct tk_tick k;
		int64_t now, sent, lat;

		if (tk_log_read(&r, (struct tk_slot *)slot) != TK_LOG_OK) {
			tk_idle_wait(&idle, &r, 100 * 1000000LL);
			continue;
		}
		tk_idle_reset(&idle);
		now = tk_mono_ns();
		if (s->type != TK_REC_TICK || now < warm)
			continue;
		memcpy(&k, s->data, sizeof(k));
		sent = (int64_t)k.size;
		lat = ((now % 1000000000000LL) - sent + 1000000000000LL) % 1000000000000LL;
		tk_hist_record(h, (uint64_t)lat);
	}
	tk_log_reader_close(&r);
	stop(feed);
	stop(mock);
	fclose(mo);
	tk_segment_detach(&seg);
	unlink(path);
	return 0;
}

/* Baseline: stamped 100-byte messages over loopback TCP to a pinned reader. */
static int tcp_hop(double rate, double seconds, struct tk_hist *h)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1, fd;
	int64_t count = (int64_t)(rate * (seconds + 1)), i;
	pid_t child;
	char msg[100];

	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) != 0)
		return -1;
	child = fork();
	if (child == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		int64_t next = tk_mono_ns() + 200 * 1000000LL;

		if (connect(c, (struct sockaddr *)&a, sizeof(a)) != 0)
			_exit(1);
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		memset(msg, 'x', sizeof(msg));
		for (i = 0; i < count; i++) {
			int64_t now;

			next += (int64_t)(1e9 / rate);
			while ((now = tk_mono_ns()) < next)
				tk_sleep_ns(next - now > 50000 ? next - now - 20000 : 1000);
			now = tk_mono_ns();
			memcpy(msg, &now, sizeof(now));
			if (write(c, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
				_exit(1);
		}
		_exit(0);
	}
	fd = accept(ls, NULL, NULL);
	tk_hist_init(h);
	for (i = 0; i < count; i++) {
		size_t got = 0;
		int64_t sent;

		while (got < sizeof(msg)) {
			ssize_t n = read(fd, msg + got, sizeof(msg) - got);

			if (n <= 0)
				goto out;
			got += (size_t)n;
		}
		memcpy(&sent, msg, sizeof(sent));
		if (i >= (int64_t)rate) /* the first second is warm-up */
			tk_hist_record(h, (uint64_t)(tk_mono_ns() - sent));
	}
out:
	close(fd);
	close(ls);
	waitpid(child, NULL, 0);
	return 0;
}

/* ---------------------------------------------------------- main */

int main(int argc, char **argv)
{
	const char *tickd = TK_TICKD_BIN;
	size_t nmsg = 200000;
	int passes = 2, rounds = 9, i, k;
	double seconds = 5, rate = 1000;
	struct corpus c;
	struct tk_fh_limits lim;
	struct tk_fh_parser *p;
	struct tput chosen, dom, bare, jan;
	double ratio[16], median;
	struct tk_hist e2e, hop;
	bool parse_only = false;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			nmsg = 50000;
			passes = 1;
			rounds = 3;
			seconds = 2;
		} else if (strcmp(argv[i], "--parse-only") == 0) {
			parse_only = true; /* the chosen parser alone, for profiles */
		} else if (strcmp(argv[i], "--tickd") == 0 && i + 1 < argc) {
			tickd = argv[++i];
		} else {
			fprintf(stderr, "usage: feed [--quick] [--tickd PATH] [--parse-only]\n");
			return 2;
		}
	}
	make_corpus(&c, nmsg);
	tk_fh_limits_default(&lim);
	p = tk_fh_parser_new(&lim);
	pin(0);
	if (parse_only) {
		chosen = parse_rate(p, &c, CHOSEN, passes * 4);
		printf("chosen parser: %.0f msgs/s, %.0f trades/s\n", chosen.msgs_per_s,
		       chosen.trades_per_s);
		return 0;
	}
	/* Short rounds, interleaved, the best of each: the host's slow spells
	 * (whole seconds at half speed) hit every candidate alike, and each
	 * gets several chances at a quiet one. */
	memset(&chosen, 0, sizeof(chosen));
	memset(&dom, 0, sizeof(dom));
	memset(&bare, 0, sizeof(bare));
	memset(&jan, 0, sizeof(jan));
	for (i = 0; i < rounds; i++) {
		/* The chosen parser and its baseline back to back: their ratio is
		 * taken in the same moment of the host. */
		struct tput a = parse_rate(p, &c, CHOSEN, passes);
		struct tput b = parse_rate(p, &c, BARE, passes);
		struct tput o = parse_rate(p, &c, DOM, passes);
		struct tput j = parse_rate(p, &c, JANSSON, passes > 1 ? passes / 2 : 1);

		ratio[i] = a.msgs_per_s / b.msgs_per_s;
		chosen = a.msgs_per_s > chosen.msgs_per_s ? a : chosen;
		dom = o.msgs_per_s > dom.msgs_per_s ? o : dom;
		bare = b.msgs_per_s > bare.msgs_per_s ? b : bare;
		jan = j.msgs_per_s > jan.msgs_per_s ? j : jan;
	}
	/* The median of the per-round ratios (insertion sort: a few rounds). */
	for (i = 1; i < rounds; i++)
		for (k = i; k > 0 && ratio[k - 1] > ratio[k]; k--) {
			double t = ratio[k];

			ratio[k] = ratio[k - 1];
			ratio[k - 1] = t;
		}
	median = ratio[rounds / 2];
	{
		cpu_set_t all;

		CPU_ZERO(&all);
		for (i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &all);
		sched_setaffinity(0, sizeof(all), &all); /* end to end: no pinning */
	}
	if (tcp_hop(rate, seconds, &hop) < 0 || ws_to_shm(tickd, rate, seconds, &e2e) < 0) {
		fprintf(stderr, "feed: the end-to-end run failed\n");
		return 1;
	}

	printf("bench/feed: %zu Finnhub-format messages (%llu trades, %.1f MB), best of %d rounds\n\n",
	       c.n, (unsigned long long)c.trades, (double)(c.off[c.n - 1] + c.len[c.n - 1]) / 1e6,
	       rounds);
	printf("(a) parse, best round          msgs/s      trades/s      MB/s   vs bare simdjson\n");
	printf("    chosen (one pass)      %12.0f  %12.0f  %8.1f   %.2fx (median of rounds %.2fx, "
	       "range %.2f-%.2f)\n", chosen.msgs_per_s, chosen.trades_per_s, chosen.mb_per_s,
	       chosen.msgs_per_s / bare.msgs_per_s, median, ratio[0], ratio[rounds - 1]);
	printf("    simdjson DOM + fields  %12.0f  %12.0f  %8.1f   %.2fx\n", dom.msgs_per_s,
	       dom.trades_per_s, dom.mb_per_s, dom.msgs_per_s / bare.msgs_per_s);
	printf("    bare simdjson DOM      %12.0f  %12s  %8.1f   1.00x\n", bare.msgs_per_s, "-",
	       bare.mb_per_s);
	printf("    jansson (same checks)  %12.0f  %12.0f  %8.1f   %.2fx\n", jan.msgs_per_s,
	       jan.trades_per_s, jan.mb_per_s, jan.msgs_per_s / bare.msgs_per_s);
	printf("\n(b) end to end, us, %.0f msgs/s for %.0f s    p50      p99    p99.9      max\n", rate,
	       seconds);
	printf("    loopback TCP hop (baseline)  %8.1f %8.1f %8.1f %8.1f\n",
	       tk_hist_percentile(&hop, 50) / 1e3, tk_hist_percentile(&hop, 99) / 1e3,
	       tk_hist_percentile(&hop, 99.9) / 1e3, (double)hop.max / 1e3);
	printf("    mock send -> tick in shm     %8.1f %8.1f %8.1f %8.1f   (%llu ticks)\n\n",
	       tk_hist_percentile(&e2e, 50) / 1e3, tk_hist_percentile(&e2e, 99) / 1e3,
	       tk_hist_percentile(&e2e, 99.9) / 1e3, (double)e2e.max / 1e3,
	       (unsigned long long)e2e.count);
	printf("{\"parse_msgs_per_s\":%.0f,\"parse_trades_per_s\":%.0f,\"bare_simdjson_msgs_per_s\":%.0f,"
	       "\"dom_fields_msgs_per_s\":%.0f,\"jansson_msgs_per_s\":%.0f,\"parse_vs_bare\":%.3f,\"ws_to_shm_us_p50\":%.1f,"
	       "\"ws_to_shm_us_p99\":%.1f,\"ws_to_shm_us_p999\":%.1f,\"tcp_hop_us_p50\":%.1f,"
	       "\"tcp_hop_us_p99\":%.1f,\"e2e_samples\":%llu}\n",
	       chosen.msgs_per_s, chosen.trades_per_s, bare.msgs_per_s, dom.msgs_per_s, jan.msgs_per_s,
	       median, tk_hist_percentile(&e2e, 50) / 1e3,
	       tk_hist_percentile(&e2e, 99) / 1e3, tk_hist_percentile(&e2e, 99.9) / 1e3,
	       tk_hist_percentile(&hop, 50) / 1e3, tk_hist_percentile(&hop, 99) / 1e3,
	       (unsigned long long)e2e.count);
	tk_fh_parser_free(p);
	return e2e.count == 0 ? 1 : 0;
}

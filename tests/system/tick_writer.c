/*
 * A stand-in writer of trades until the feed exists: interns symbols and
 * writes ticks (random walk prices, deterministic for a seed) and a
 * heartbeat every 100 ms into a tick log.  Used by the tools tests, the
 * example-reader test and `make run`.
 *
 * usage: tick_writer --shm-path P [--log ticks.0] [--symbols A,B,...]
 *                    [--rate N/s (0: as fast as gating allows)] [--count N]
 *                    [--duration S] [--seed S]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/records.h"
#include "shm/symtab.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void put(struct tk_log_writer *w, struct tk_idle *idle, uint32_t type, uint32_t aux,
		const void *data, uint32_t len)
{
	while (!stop && tk_log_write(w, type, aux, data, len) == TK_LOG_FULL)
		tk_idle_wait(idle, NULL, 0);
	tk_idle_reset(idle);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "shm-path", required_argument, 0, 'p' }, { "log", required_argument, 0, 'l' },
		{ "symbols", required_argument, 0, 's' },  { "rate", required_argument, 0, 'r' },
		{ "count", required_argument, 0, 'c' },    { "duration", required_argument, 0, 'd' },
		{ "seed", required_argument, 0, 'S' },     { 0, 0, 0, 0 }
	};
	const char *path = tk_segment_default_path(), *logname = "ticks.0";
	char symlist[1024] = "AAPL,MSFT,AMZN,BINANCE:BTCUSDT,BINANCE:ETHUSDT,OANDA:EUR_USD";
	uint64_t rate = 10000, count = 0, seed = 42, written = 0;
	double duration = 0, prices[256];
	int32_t ids[256];
	int nsym = 0, c;
	struct tk_segment seg;
	struct tk_log_writer w;
	struct tk_idle idle;
	struct tk_symtab_region *tab;
	int64_t t0, next_hb;
	char *tok, *save;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': path = optarg; break;
		case 'l': logname = optarg; break;
		case 's': snprintf(symlist, sizeof(symlist), "%s", optarg); break;
		case 'r': rate = strtoull(optarg, NULL, 10); break;
		case 'c': count = strtoull(optarg, NULL, 10); break;
		case 'd': duration = strtod(optarg, NULL); break;
		case 'S': seed = strtoull(optarg, NULL, 10) | 1; break;
		default: return 2;
		}
	}
	if (tk_segment_attach(&seg, path, TK_ATTACH_WRITER) < 0 ||
	    tk_log_find(&seg, logname) == NULL ||
	    tk_log_writer_open(&w, tk_log_find(&seg, logname)) < 0) {
		fprintf(stderr, "tick_writer: %s\n", tk_err_msg()[0] ? tk_err_msg() : "no such log");
		return 1;
	}
	tab = tk_symtab_of(&seg);
	for (tok = strtok_r(symlist, ",", &save); tok != NULL && nsym < 256;
	     tok = strtok_r(NULL, ",", &save)) {
		ids[nsym] = tk_symtab_intern(tab, tok, (uint32_t)strlen(tok));
		if (ids[nsym] < 0) {
			fprintf(stderr, "tick_writer: cannot add symbol '%s'\n", tok);
			return 1;
		}
		prices[nsym++] = 100.0 + (double)(rng(&seed) % 10000) / 10.0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	tk_idle_init(&idle, TK_IDLE_BACKOFF);
	t0 = tk_mono_ns();
	next_hb = t0;
	while (!stop && (count == 0 || written < count)) {
		int64_t now = tk_mono_ns();
		struct tk_tick t;
		int k;

		if (duration > 0 && now - t0 >= (int64_t)(duration * 1e9))
			break;
		if (now >= next_hb) {
			struct tk_heartbeat hb = { .clock_ns = tk_wall_ns() };

			put(&w, &idle, TK_REC_HEARTBEAT, 0, &hb, sizeof(hb));
			next_hb = now + 100 * 1000 * 1000;
		}
		if (rate > 0 && written >= (uint64_t)((double)(now - t0) * (double)rate / 1e9)) {
			tk_sleep_ns(rate >= 1000 ? 100000 : 1000000);
			continue;
		}
		k = (int)(rng(&seed) % (uint64_t)nsym);
		prices[k] *= 1.0 + ((double)(rng(&seed) % 2001) - 1000.0) / 1e6;
		memset(&t, 0, sizeof(t));
		t.ts_ns = tk_wall_ns();
		t.recv_ns = t.ts_ns;
		t.price = (double)(int64_t)(prices[k] * 100.0 + 0.5) / 100.0;
		t.size = (double)(1 + rng(&seed) % 500);
		put(&w, &idle, TK_REC_TICK, (uint32_t)ids[k], &t, sizeof(t));
		written++;
	}
	tk_log_writer_close(&w);
	tk_segment_detach(&seg);
	return 0;
}

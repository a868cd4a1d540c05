/*
 * bench/ws: the stream's fan-out (issue 12), beside its baseline in the
 * same run.  bench/ws.sh starts tickd (init, engine, api) and runs this.
 *
 * What is measured: the latency from a tick written in the segment to the
 * message received by a WebSocket client of `tickd api`'s /ws, for 1, 100
 * and 1,000 clients; the messages delivered; tickd api's CPU; the same
 * with 10 % of the clients stopped; the engine's apply latency with no
 * client and with 1,000.
 *
 * How.  This process is the feed: a thread writes trades into ticks.0
 * with tk_log_write, as `tickd feed --source synth` does (the trade's time
 * and receive time the wall clock, a heartbeat every 100 ms of it so that
 * the engine closes bars), --rate trades a second over --symbols symbols
 * in turn, sleeping until each is due.  Just before each write it takes
 * CLOCK_MONOTONIC and keeps it by the record's sequence (the writer's
 * next): the first timestamp.  Its main thread is the clients: one
 * libwebsockets loop with N connections to /ws, client i subscribed to
 * the trades of symbol i mod S ({"action":"subscribe","channels":
 * ["trades"],"symbols":["WS007"]}), at the API's niceness (10: on two
 * cores they stand for clients on other hosts and, like the API, yield to
 * the engine).  When a frame is whole in a client's hands it takes
 * CLOCK_MONOTONIC, the second timestamp, and for every trade in it records
 * the difference by the message's "seq".  Each client checks that every
 * trade of its symbol arrives, in order (the writer keeps, by sequence,
 * the next sequence of the same symbol), and that it gets no gap; a
 * window counts the trades written in it, received whenever they arrive.
 *
 * The run, in order (clients added, not reconnected, between windows; a
 * second after the last handshake before each window): no client (the
 * engine's unloaded window), 1, 100, 1,000 clients (the engine's loaded
 * window); then 10 % of them move to a second process of this program
 * (`ws clients`, receive buffers of 8 KiB as in tests/api/ws_slow_test.sh,
 * so that the kernel does not hide a stop for long): the other 90 % are
 * measured with it reading (the control), then with it SIGSTOPped for
 * --stop-seconds; it is continued for 3 s and reports, per connection,
 * its first and last sequence, its count, gaps and close code, which the
 * feed's tables judge.  The engine: its apply-latency histogram (feed
 * receive -> applied in shared memory, one trade in 64) in its metrics
 * slot, differenced over a window.  CPU: utime + stime of a process from
 * /proc over the window, as % of one core; beside it the host's busy time
 * outside this run's processes (/proc/stat, the hypervisor's steal
 * included: on a shared machine, the other load a window ran beside) and
 * the engine's mean wait for a core each time it was woken (schedstat).
 * WS_TRACE=1 prints each window's p50/p99/max by half second.
 *
 * Baseline, same run: `ws forward`, a trivial lws server (one loop, the
 * same niceness) that follows ticks.0 with a futex-woken reader, renders
 * each trade once with the same tk_render_json and writes it to every
 * client of its symbol at once; the same clients, the same subscriptions,
 * 1 and 1,000 of them (the engine measured again under the latter).
 *
 * usage: ws run --shm-path P --port PORT --api-pid PID --engine-pid PID
 *               --forward-port PORT [--rate R] [--symbols S] [--clients N]
 *               [--seconds T] [--one-seconds T] [--engine-seconds T]
 *               [--stop-seconds T] [--server-cpu C] [--client-cpu C] [--feed-cpu C]
 *        ws clients --port PORT --n N --base I --symbols S [--rcvbuf B] [--cpu C]
 *        ws forward --shm-path P --port PORT [--cpu C]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/hist.h"
#include "common/json.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/metrics.h"
#include "shm/records.h"
#include "shm/render.h"
#include "shm/segment.h"
#include "shm/symtab.h"

extern char **environ;

#define MAX_SYM 1000
#define MAX_CONN 2048
#define TABLE_BITS 21 /* records a run may write: 2 M (the run refuses more) */
#define TABLE (1u << TABLE_BITS)
#define HB_NS (100 * 1000000LL)
#define NICE 10 /* tickd api's default --nice */

static volatile sig_atomic_t stop_flag;
static char *prog; /* argv[0]: the children are this program again */

static void on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void sym_name(unsigned i, char *out, size_t cap)
{
	snprintf(out, cap, "WS%03u", i);
}

/* Pin the calling thread to cpu (-1: leave it floating). */
static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		fprintf(stderr, "ws: cannot pin to cpu %d: %s\n", cpu, strerror(errno));
}

/*
 * The calling thread's share of the cpus: nice NICE, or SCHED_IDLE when
 * the environment variable `var` is "idle" (CLIENTS_SCHED for the
 * clients, which stand for clients on other hosts; SERVER_SCHED for the
 * forwarder, as bench/ws.sh starts tickd api under `chrt -i 0` then).
 */
static void lower(const char *var, const char *who)
{
	const char *v = getenv(var);

	if (v != NULL && strcmp(v, "idle") == 0) {
		struct sched_param sp = { .sched_priority = 0 };

		if (sched_setscheduler(0, SCHED_IDLE, &sp) != 0)
			fprintf(stderr, "%s: SCHED_IDLE: %s\n", who, strerror(errno));
		return;
	}
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), NICE) != 0)
		fprintf(stderr, "%s: nice %d: %s\n", who, NICE, strerror(errno));
}

/* ------------------------------------------------------------- feed */

/*
 * By sequence, written by the feed thread before the record is published
 * and read by the clients after a message names it (it has crossed the
 * log's release/acquire pair, the API's socket and ours since): relaxed
 * atomics say the accesses race only in form.
 */
static int64_t stamp[TABLE];     /* CLOCK_MONOTONIC just before the write */
static int16_t sym_of[TABLE];    /* symbol index; -1 a heartbeat */
static uint64_t next_same[TABLE]; /* the next trade of the same symbol */

#define LOAD(a) __atomic_load_n(&(a), __ATOMIC_RELAXED)
#define STORE(a, v) __atomic_store_n(&(a), (v), __ATOMIC_RELAXED)

static struct {
	struct tk_segment seg;
	struct tk_log_writer w;
	int32_t id[MAX_SYM];
	double price[MAX_SYM];
	unsigned nsym;
	double rate;
	int cpu; /* the feed thread's (-1: floating) */
	atomic_bool stop;
	atomic_bool full; /* the table is full: no more writes */
	pthread_t thread;
} F;

/* Write one record; the stamp and the chains go in before it is visible. */
static uint64_t feed_put(struct tk_idle *idle, uint32_t type, uint32_t aux, void *data,
			 uint32_t len, int sym, uint64_t *last_of_sym)
{
	for (;;) {
		uint64_t seq = F.w.next;

		if (seq >= TABLE) {
			atomic_store(&F.full, true);
			return 0;
		}
		STORE(sym_of[seq], (int16_t)sym);
		if (sym >= 0 && last_of_sym[sym] != 0)
			STORE(next_same[last_of_sym[sym]], seq);
		STORE(stamp[seq], tk_mono_ns());
		if (type == TK_REC_TICK)
			((struct tk_tick *)data)->recv_ns = tk_wall_ns();
		if (tk_log_write(&F.w, type, aux, data, len) == TK_LOG_OK) {
			tk_idle_reset(idle);
			if (sym >= 0)
				last_of_sym[sym] = seq;
			return seq;
		}
		/* The engine (the only gating reader) holds the ring: back off. */
		tk_idle_wait(idle, NULL, 0);
	}
}

static void *feed_main(void *arg)
{
	static uint64_t last_of_sym[MAX_SYM];
	uint64_t k = 0, rng = 0x9E3779B97F4A7C15ull;
	int64_t t0 = tk_mono_ns(), next_hb = t0;
	struct tk_idle idle;

	(void)arg;
	pin(F.cpu);
	tk_idle_init(&idle, TK_IDLE_BACKOFF);
	while (!atomic_load(&F.stop) && !atomic_load(&F.full)) {
		int64_t now = tk_mono_ns();
		int64_t due = t0 + (int64_t)((double)k * 1e9 / F.rate);

		if (now >= next_hb) {
			struct tk_heartbeat hb = { .clock_ns = tk_wall_ns(), .src = k };

			feed_put(&idle, TK_REC_HEARTBEAT, 0, &hb, sizeof(hb), -1, last_of_sym);
			next_hb = next_hb + HB_NS > now ? next_hb + HB_NS : now + HB_NS;
			continue;
		}
		if (due > now) {
			/* Paced by sleeping to the next record due (not a spin). */
			int64_t until = due < next_hb ? due : next_hb;

			tk_sleep_ns(until - now);
			continue;
		}
		{
			unsigned s = (unsigned)(k % F.nsym);
			struct tk_tick t;

			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			F.price[s] *= 1.0 + ((double)(rng % 2001) - 1000.0) / 1e6;
			memset(&t, 0, sizeof(t));
			t.ts_ns = tk_wall_ns();
			t.price = (double)(int64_t)(F.price[s] * 100.0 + 0.5) / 100.0;
			t.size = (double)(1 + (rng >> 20) % 500);
			t.src = k;
			feed_put(&idle, TK_REC_TICK, (uint32_t)F.id[s], &t, sizeof(t), (int)s, last_of_sym);
			k++;
		}
	}
	return NULL;
}

static int feed_start(const char *shm, unsigned nsym, double rate, int cpu)
{
	struct tk_log_region *log;
	struct tk_symtab_region *tab;
	unsigned i;

	if (tk_segment_attach(&F.seg, shm, TK_ATTACH_WRITER) < 0 ||
	    (log = tk_log_find(&F.seg, "ticks.0")) == NULL || tk_log_writer_open(&F.w, log) < 0) {
		fprintf(stderr, "ws: cannot write ticks.0 of %s: %s\n", shm, tk_err_msg());
		return -1;
	}
	tab = tk_symtab_of(&F.seg);
	for (i = 0; i < nsym; i++) {
		char name[16];

		sym_name(i, name, sizeof(name));
		F.id[i] = tk_symtab_intern(tab, name, (uint32_t)strlen(name));
		if (F.id[i] < 0) {
			fprintf(stderr, "ws: cannot add symbol %s\n", name);
			return -1;
		}
		F.price[i] = 100.0 + i;
	}
	F.nsym = nsym;
	F.rate = rate;
	F.cpu = cpu;
	if (pthread_create(&F.thread, NULL, feed_main, NULL) != 0) {
		fprintf(stderr, "ws: no feed thread\n");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- clients */

enum { C_IDLE, C_CONNECTING, C_OPEN, C_SUBSCRIBED, C_CLOSED };

struct conn {
	struct lws *wsi;
	unsigned sym;
	int state;
	bool sub_sent, want_close;
	uint64_t first;    /* the first trade's sequence */
	uint64_t last;     /* the last trade's sequence */
	uint64_t trades;   /* trades received in all */
	uint64_t win;      /* trades of the window received */
	uint64_t missed, disorder, gaps, feed_gaps, errors, other;
	int close_code;
	char *rx;
	size_t rxlen, rxcap;
};

static struct {
	struct lws_context *ctx;
	struct conn conn[MAX_CONN];
	unsigned n;           /* connections made so far (indexes < n) */
	unsigned connecting;
	unsigned want;        /* connect up to this index */
	unsigned nsym, base;  /* client i: symbol (base + i) % nsym */
	int port;
	int rcvbuf;           /* > 0: SO_RCVBUF of each connection */
	bool table;           /* this process is the feed: stamps and chains */
	/* The window: trades of sequence in (lo, hi] are measured. */
	uint64_t lo, hi;
	struct tk_hist h;
	uint64_t conn_errors;
	lws_sorted_usec_list_t sul;
	bool trace;                /* WS_TRACE: p99 by half second of each window */
	int64_t t0;
	struct tk_hist slice[64];
} K;

static void on_trade(struct conn *c, uint64_t seq, int64_t now)
{
	c->trades++;
	if (!K.table) {
		/* The stopped group: in order; run_bench counts the rest. */
		if (c->first == 0)
			c->first = seq;
		if (seq <= c->last)
			c->disorder++;
		c->last = seq;
		return;
	}
	if (seq == 0 || seq >= TABLE) {
		c->other++;
		return;
	}
	if (c->last != 0) {
		uint64_t want = LOAD(next_same[c->last]);

		if (seq != want) {
			if (want != 0 && seq > want) {
				/* Count the trades of the symbol that were skipped. */
				for (uint64_t x = want; x != 0 && x < seq; x = LOAD(next_same[x]))
					c->missed++;
			} else {
				c->disorder++;
			}
		}
	}
	c->last = seq;
	if (seq > K.lo && seq <= K.hi) {
		int64_t lat = now - LOAD(stamp[seq]);

		c->win++;
		tk_hist_record(&K.h, lat > 0 ? (uint64_t)lat : 0);
		if (K.trace) {
			int64_t sl = (now - K.t0) / 500000000LL;

			if (sl >= 0 && sl < 64)
				tk_hist_record(&K.slice[sl], lat > 0 ? (uint64_t)lat : 0);
		}
	}
}

static bool starts(const char *m, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && memcmp(m, p, k) == 0;
}

/* One message of a frame: {"channel":"trades","data":{...,"seq":N}}, or a
 * control message. */
static void on_msg(struct conn *c, const char *m, size_t n, int64_t now)
{
	if (starts(m, n, "{\"channel\":\"trades\",\"data\":{\"symbol\":")) {
		const char *q = memmem(m, n, "\"seq\":", 6);

		on_trade(c, q != NULL ? strtoull(q + 6, NULL, 10) : 0, now);
	} else if (starts(m, n, "{\"channel\":\"trades\",\"data\":{\"type\":\"gap\"")) {
		c->feed_gaps++;
	} else if (starts(m, n, "{\"type\":\"gap\"")) {
		c->gaps++;
		c->last = 0; /* the server moved it on: follow from where it resumes */
	} else if (starts(m, n, "{\"type\":\"subscribed\"")) {
		if (c->state == C_OPEN)
			c->state = C_SUBSCRIBED;
	} else if (starts(m, n, "{\"type\":\"ping\"")) {
		/* the server's keep-alive */
	} else if (starts(m, n, "{\"type\":\"error\"")) {
		if (c->errors++ == 0)
			fprintf(stderr, "ws: the server says %.*s\n", (int)(n < 300 ? n : 300), m);
	} else {
		c->other++;
	}
}

/* A frame is a JSON array of objects: hand each top-level object over. */
static void on_frame(struct conn *c, const char *p, size_t n, int64_t now)
{
	bool str = false, esc = false;
	size_t i, start = 0;
	int depth = 0;

	for (i = 0; i < n; i++) {
		char ch = p[i];

		if (str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				str = false;
		} else if (ch == '"') {
			str = true;
		} else if (ch == '{') {
			if (depth++ == 0)
				start = i;
		} else if (ch == '}') {
			if (--depth == 0)
				on_msg(c, p + start, i - start + 1, now);
		}
	}
}

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		     size_t len)
{
	struct conn *c = wsi != NULL ? lws_get_opaque_user_data(wsi) : NULL;

	(void)user;
	if (c == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (K.conn_errors++ < 5)
			fprintf(stderr, "ws: connection %d: %s\n", (int)(c - K.conn),
				in != NULL ? (const char *)in : "error");
		K.connecting -= c->state == C_CONNECTING;
		c->state = C_CLOSED;
		c->wsi = NULL;
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		K.connecting--;
		c->state = C_OPEN;
		if (K.rcvbuf > 0) {
			/* A small window: the stop reaches the server within seconds. */
			int fd = (int)lws_get_socket_fd(wsi);

			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &K.rcvbuf, sizeof(K.rcvbuf));
		}
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		unsigned char buf[LWS_PRE + 128];
		char name[16];
		int n;

		if (c->want_close) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
			return -1;
		}
		if (c->sub_sent)
			return 0;
		sym_name(c->sym, name, sizeof(name));
		n = snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
			     "{\"action\":\"subscribe\",\"channels\":[\"trades\"],\"symbols\":[\"%s\"]}",
			     name);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		c->sub_sent = true;
		return 0;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (lws_is_first_fragment(wsi))
			c->rxlen = 0;
		if (c->rxlen + len > c->rxcap) {
			size_t cap = (c->rxlen + len) * 2;
			char *p = realloc(c->rx, cap);

			if (p == NULL)
				return -1;
			c->rx = p;
			c->rxcap = cap;
		}
		memcpy(c->rx + c->rxlen, in, len);
		c->rxlen += len;
		if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
			on_frame(c, c->rx, c->rxlen, tk_mono_ns());
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2)
			c->close_code = ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		c->state = C_CLOSED;
		c->wsi = NULL;
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols client_protocols[] = {
	{ "bench-ws", client_cb, 0, 16384, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void connect_one(unsigned i)
{
	struct lws_client_connect_info ci;
	struct conn *c = &K.conn[i];

	memset(c, 0, sizeof(*c));
	c->sym = (K.base + i) % K.nsym;
	c->state = C_CONNECTING;
	memset(&ci, 0, sizeof(ci));
	ci.context = K.ctx;
	ci.address = "127.0.0.1";
	ci.port = K.port;
	ci.path = "/ws";
	ci.host = "127.0.0.1";
	ci.origin = "127.0.0.1";
	ci.local_protocol_name = "bench-ws"; /* no subprotocol asked: the server's default */
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	K.connecting++;
	if (lws_client_connect_via_info(&ci) == NULL && c->state == C_CONNECTING) {
		/* (an error reported by the callback already is counted there) */
		K.connecting--;
		c->state = C_CLOSED;
		K.conn_errors++;
	}
}

/* Every 2 ms: a few more connections (a burst of 1,000 SYNs would
 * overflow nothing, but would make the first seconds a handshake storm),
 * and a return from lws_service for the caller's clock. */
static void client_tick(lws_sorted_usec_list_t *sul)
{
	while (K.connecting < 32 && K.n < K.want)
		connect_one(K.n++);
	lws_sul_schedule(K.ctx, 0, sul, client_tick, 2000);
}

static void lws_quiet(int level, const char *line)
{
	static unsigned said;

	if ((level & LLL_ERR) && said++ < 10)
		fprintf(stderr, "ws: libwebsockets: %s", line);
}

static int clients_init(int port, unsigned nsym, unsigned base, int rcvbuf, bool table)
{
	struct lws_context_creation_info info;

	K.port = port;
	K.nsym = nsym;
	K.base = base;
	K.rcvbuf = rcvbuf;
	K.table = table;
	K.hi = UINT64_MAX;
	tk_hist_init(&K.h);
	lws_set_log_level(LLL_ERR, lws_quiet);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = client_protocols;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	K.ctx = lws_create_context(&info);
	if (K.ctx == NULL) {
		fprintf(stderr, "ws: cannot create the client context\n");
		return -1;
	}
	lws_sul_schedule(K.ctx, 0, &K.sul, client_tick, 2000);
	return 0;
}

/* Serve the clients for ns, or until done() says so. */
static bool serve(int64_t ns, bool (*done)(void))
{
	int64_t end = tk_mono_ns() + ns;

	while (tk_mono_ns() < end && !stop_flag) {
		if (done != NULL && done())
			return true;
		lws_service(K.ctx, 0);
	}
	return done != NULL && done();
}

/* Connections [0, want) open, subscribed, each with a trade in hand. */
static bool all_streaming(void)
{
	for (unsigned i = 0; i < K.want; i++)
		if (i >= K.n || K.conn[i].state != C_SUBSCRIBED || K.conn[i].trades == 0)
			return false;
	return true;
}

static bool none_open_above_want(void)
{
	for (unsigned i = K.want; i < K.n; i++)
		if (K.conn[i].state != C_CLOSED)
			return false;
	return true;
}

/* Close connections [from, n). */
static void close_from(unsigned from)
{
	K.want = from;
	for (unsigned i = from; i < K.n; i++)
		if (K.conn[i].wsi != NULL && K.conn[i].state != C_CLOSED) {
			K.conn[i].want_close = true;
			lws_callback_on_writable(K.conn[i].wsi);
		}
	serve(5000000000LL, none_open_above_want);
	for (unsigned i = from; i < K.n; i++)
		free(K.conn[i].rx);
	K.n = from;
}

/* ---------------------------------------------------- the stopped group */

static int run_clients(int argc, char **argv)
{
	static const struct option lo[] = { { "port", 1, 0, 'p' },    { "n", 1, 0, 'n' },
					    { "base", 1, 0, 'b' },    { "symbols", 1, 0, 's' },
					    { "rcvbuf", 1, 0, 'r' },  { "cpu", 1, 0, 'c' },
					    { 0, 0, 0, 0 } };
	int port = 0, rcvbuf = 0, o, cpu = -1;
	unsigned n = 0, base = 0, nsym = 1;
	bool ready = false;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'p': port = atoi(optarg); break;
		case 'n': n = (unsigned)atoi(optarg); break;
		case 'b': base = (unsigned)atoi(optarg); break;
		case 's': nsym = (unsigned)atoi(optarg); break;
		case 'r': rcvbuf = atoi(optarg); break;
		case 'c': cpu = atoi(optarg); break;
		default: return 2;
		}
	}
	pin(cpu);
	if (n == 0 || n > MAX_CONN || nsym == 0 || clients_init(port, nsym, base, rcvbuf, false) < 0)
		return 2;
	signal(SIGTERM, on_term);
	/* Clients, like the run's own: at the API's niceness. */
	lower("CLIENTS_SCHED", "ws clients");
	K.want = n;
	while (!stop_flag) {
		lws_service(K.ctx, 0);
		if (!ready && all_streaming()) {
			ready = true;
			printf("ready\n");
			fflush(stdout);
		}
	}
	/* What each received, for the feed's tables to judge: a line each. */
	for (unsigned i = 0; i < K.n; i++) {
		const struct conn *c = &K.conn[i];

		printf("conn %u %u %llu %llu %llu %llu %llu %llu %d %d\n", i, c->sym,
		       (unsigned long long)c->first, (unsigned long long)c->last,
		       (unsigned long long)c->trades, (unsigned long long)c->disorder,
		       (unsigned long long)c->gaps, (unsigned long long)c->feed_gaps, c->close_code,
		       c->state == C_SUBSCRIBED);
	}
	printf("end\n");
	fflush(stdout);
	lws_context_destroy(K.ctx);
	return 0;
}

/* ------------------------------------------------------ the baseline */

struct fconn {
	struct lws *wsi;
	int32_t id;   /* its symbol's id; -1 none yet */
	char *out;    /* LWS_PRE bytes, then the frame being filled: "[m,m,..." */
	size_t len, cap;
};

static struct {
	struct tk_segment seg;
	struct tk_log_reader r;     /* the loop's */
	struct tk_log_reader wake;  /* the waker's: a named reader, so the writer wakes its futex */
	struct lws_context *ctx;
	struct fconn *c[MAX_CONN];
	unsigned n;
	atomic_bool stop;
} W;

static bool fwd_append(struct fconn *f, const char *m, size_t n)
{
	size_t need = LWS_PRE + f->len + n + 2;

	if (need > f->cap) {
		size_t cap = need * 2 < 4096 ? 4096 : need * 2;
		char *p = realloc(f->out, cap);

		if (p == NULL)
			return false;
		f->out = p;
		f->cap = cap;
	}
	f->out[LWS_PRE + f->len] = f->len == 0 ? '[' : ',';
	f->len++;
	memcpy(f->out + LWS_PRE + f->len, m, n);
	f->len += n;
	return true;
}

/* New records: each trade rendered once, appended to each of its clients. */
static void fwd_drain(void)
{
	static _Alignas(64) uint8_t mem[4096];
	const struct tk_symtab_region *t = tk_symtab_of(&W.seg);
	struct tk_slot *slot = (struct tk_slot *)mem;
	char msg[1024];
	struct tk_buf b;
	int rc;

	while ((rc = tk_log_read(&W.r, slot)) != TK_LOG_EMPTY) {
		if (rc != TK_LOG_OK || slot->type != TK_REC_TICK)
			continue;
		tk_buf_init(&b, msg, sizeof(msg));
		tk_buf_puts(&b, "{\"channel\":\"trades\",\"data\":");
		tk_render_json(&b, slot->seq, slot->type, slot->aux, slot->data,
			       W.r.slot_size - TK_SLOT_HEADER, t);
		tk_buf_puts(&b, "}");
		for (unsigned i = 0; i < W.n; i++)
			if (W.c[i]->id == (int32_t)slot->aux && fwd_append(W.c[i], b.p, b.len))
				lws_callback_on_writable(W.c[i]->wsi);
	}
}

static int fwd_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		  size_t len)
{
	struct fconn *f = user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		if (W.n == MAX_CONN)
			return -1;
		memset(f, 0, sizeof(*f));
		f->wsi = wsi;
		f->id = -1;
		W.c[W.n++] = f;
		return 0;
	case LWS_CALLBACK_RECEIVE: {
		/* {"action":"subscribe",...,"symbols":["NAME"]}: the one symbol */
		const char *s = memmem(in, len, "\"symbols\":[\"", 12);
		const char *e = s != NULL ? memchr(s + 12, '"', len - (size_t)(s + 12 - (const char *)in)) : NULL;
		static const char ack[] = "{\"type\":\"subscribed\"}";

		if (e != NULL)
			f->id = tk_symtab_find(tk_symtab_of(&W.seg), s + 12, (uint32_t)(e - s - 12));
		if (fwd_append(f, ack, sizeof(ack) - 1))
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (f->len == 0)
			return 0;
		f->out[LWS_PRE + f->len++] = ']';
		if (lws_write(wsi, (unsigned char *)f->out + LWS_PRE, f->len, LWS_WRITE_TEXT) < 0)
			return -1;
		f->len = 0;
		return 0;
	case LWS_CALLBACK_CLOSED:
		for (unsigned i = 0; i < W.n; i++)
			if (W.c[i] == f) {
				W.c[i] = W.c[--W.n];
				break;
			}
		free(f->out);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		fwd_drain();
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols fwd_protocols[] = {
	{ "bench-forward", fwd_cb, sizeof(struct fconn), 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* Sleeps on the log's futex; a record published interrupts the loop. */
static void *fwd_waker(void *arg)
{
	static _Alignas(64) uint8_t mem[4096];
	struct tk_idle idle;

	(void)arg;
	tk_idle_init(&idle, TK_IDLE_BLOCK);
	while (!atomic_load(&W.stop)) {
		bool any = false;
		int rc;

		while ((rc = tk_log_read(&W.wake, (struct tk_slot *)mem)) != TK_LOG_EMPTY)
			any = true;
		tk_log_reader_commit(&W.wake);
		if (any) {
			tk_idle_reset(&idle);
			lws_cancel_service(W.ctx);
		} else {
			tk_idle_wait(&idle, &W.wake, 100 * 1000000LL);
		}
	}
	return NULL;
}

static int run_forward(int argc, char **argv)
{
	static const struct option lo[] = { { "shm-path", 1, 0, 'p' }, { "port", 1, 0, 'P' },
					    { "cpu", 1, 0, 'c' },      { 0, 0, 0, 0 } };
	struct tk_reader_opts end = { .start = TK_START_END };
	struct tk_reader_opts named = { .name = "bench-ws-forward", .start = TK_START_END };
	struct lws_context_creation_info info;
	const char *shm = NULL;
	pthread_t th;
	int port = 0, o, cpu = -1;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'p': shm = optarg; break;
		case 'P': port = atoi(optarg); break;
		case 'c': cpu = atoi(optarg); break;
		default: return 2;
		}
	}
	pin(cpu); /* its waker thread inherits it, as tickd api's threads share one cpu */
	if (shm == NULL || tk_segment_attach(&W.seg, shm, TK_ATTACH_READER) < 0 ||
	    tk_log_reader_open(&W.r, &W.seg, "ticks.0", &end) < 0 ||
	    tk_log_reader_open(&W.wake, &W.seg, "ticks.0", &named) < 0) {
		fprintf(stderr, "ws forward: cannot follow ticks.0: %s\n", tk_err_msg());
		return 1;
	}
	lower("SERVER_SCHED", "ws forward");
	lws_set_log_level(LLL_ERR, lws_quiet);
	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = "127.0.0.1";
	info.protocols = fwd_protocols;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	W.ctx = lws_create_context(&info);
	if (W.ctx == NULL) {
		fprintf(stderr, "ws forward: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	signal(SIGTERM, on_term);
	if (pthread_create(&th, NULL, fwd_waker, NULL) != 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (!stop_flag)
		if (lws_service(W.ctx, 0) < 0)
			break;
	atomic_store(&W.stop, true);
	pthread_join(th, NULL);
	lws_context_destroy(W.ctx);
	tk_log_reader_close(&W.wake);
	return 0;
}

/* --------------------------------------------------------- the run */

/* utime + stime of a process, in seconds (0 when it cannot be read). */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
				&st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Time a process's threads waited on a run queue (ns) and the times they
 * were given a core: the schedstat of every task of /proc/PID/task, summed. */
static void sched_wait(pid_t pid, double *wait_ns, double *runs)
{
	char path[64];
	struct dirent *e;
	DIR *d;

	*wait_ns = *runs = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char p2[400];
		unsigned long long run, delay, n;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof(p2), "%s/%s/schedstat", path, e->d_name);
		f = fopen(p2, "r");
		if (f == NULL)
			continue;
		if (fscanf(f, "%llu %llu %llu", &run, &delay, &n) == 3) {
			*wait_ns += (double)delay;
			*runs += (double)n;
		}
		fclose(f);
	}
	closedir(d);
}

/* CPU stolen by the hypervisor, in seconds: /proc/stat's first line. */
static double host_steal(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	double st = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) == 8)
		st = (double)v[7] / (double)sysconf(_SC_CLK_TCK);
	fclose(f);
	return st;
}

/*
 * The other processes of the host: their CPU by pid (a process that
 * starts and ends inside a window is missed; the tests of a neighbour run
 * for seconds).  Not /proc/stat's busy time: that is sampled on the tick
 * and undercounts processes that run in short bursts, as ours do.
 */
#define OTHERS_MAX 8192
struct others {
	unsigned n;
	int pid[OTHERS_MAX];
	double cpu[OTHERS_MAX];
};

static bool ours(int pid);

static void others_scan(struct others *o)
{
	struct dirent *e;
	DIR *d = opendir("/proc");

	o->n = 0;
	while (d != NULL && (e = readdir(d)) != NULL && o->n < OTHERS_MAX) {
		int pid = atoi(e->d_name);

		if (pid <= 0 || ours(pid))
			continue;
		o->pid[o->n] = pid;
		o->cpu[o->n++] = proc_cpu(pid);
	}
	if (d != NULL)
		closedir(d);
}

/* CPU seconds the processes of `before` still alive in `after` used between. */
static double others_delta(const struct others *before, const struct others *after)
{
	double sum = 0;
	unsigned i = 0, j = 0;

	/* Both in readdir order, which is by pid for /proc. */
	while (i < before->n && j < after->n) {
		if (before->pid[i] == after->pid[j]) {
			if (after->cpu[j] > before->cpu[i])
				sum += after->cpu[j] - before->cpu[i];
			i++;
			j++;
		} else if (before->pid[i] < after->pid[j]) {
			i++;
		} else {
			j++;
		}
	}
	return sum;
}

static struct tk_hist *engine_hist(void)
{
	struct tk_metrics_region *mr = tk_metrics_of(&F.seg);

	for (unsigned i = 0; mr != NULL && i < TK_METRICS_SLOTS; i++)
		if (mr->slot[i].pid != 0 && strcmp(mr->slot[i].role, "engine.0") == 0)
			return &mr->slot[i].hist[0].h;
	return NULL;
}

struct result {
	const char *name;
	unsigned clients;
	double secs;
	uint64_t expected, delivered, complete, missed, disorder, gaps, feed_gaps, errors, closed;
	double p50, p99, p999, max; /* us */
	double server_cpu, engine_cpu, self_cpu; /* % of one core */
	double others_cpu, steal_cpu; /* other processes of the host; stolen by the hypervisor */
	double eng_wait_us;           /* the engine's mean run-queue wait each time it was woken */
	double server_wait_pct;       /* the server's threads waiting for a core, % of the window */
	bool engine;
	uint64_t eng_n;
	double eng_p50, eng_p99, eng_p999; /* us */
	struct tk_hist eng;                /* the engine's samples of the window */
};

static pid_t server_pid, engine_pid, group_pid, api_pid;

static bool ours(int pid)
{
	return pid == getpid() || pid == server_pid || pid == engine_pid || pid == group_pid ||
	       pid == api_pid;
}

static void engine_figures(struct result *r, const struct tk_hist *d)
{
	memcpy(&r->eng, d, sizeof(*d));
	r->eng_n = d->count;
	r->eng_p50 = (double)tk_hist_percentile(d, 50) / 1e3;
	r->eng_p99 = (double)tk_hist_percentile(d, 99) / 1e3;
	r->eng_p999 = (double)tk_hist_percentile(d, 99.9) / 1e3;
}

static bool window_received(void)
{
	for (unsigned i = 0; i < K.want; i++) {
		const struct conn *c = &K.conn[i];

		if (c->state == C_SUBSCRIBED && c->last <= K.hi && c->last != 0) {
			/* its symbol has a trade in the window after c->last? */
			uint64_t nx = LOAD(next_same[c->last]);

			if (nx != 0 && nx <= K.hi)
				return false;
		}
	}
	return true;
}

/*
 * One window over connections [0, K.want): secs of trades; then their
 * messages are waited for (5 s at most), so the late ones count.
 */
static void measure(struct result *r, const char *name, double secs, bool engine)
{
	static uint64_t per_sym[MAX_SYM];
	static struct tk_hist e0;
	struct tk_hist *eh = engine ? engine_hist() : NULL;
	static struct others o0, o1;
	double s0, e_0, m0, st0, w0, n0, w1, n1, sw0, sn0, sw1, sn1;
	int64_t t0, t1;
	uint64_t total = 0;

	memset(r, 0, sizeof(*r));
	r->name = name;
	r->clients = K.want;
	for (unsigned i = 0; i < K.want; i++) {
		struct conn *c = &K.conn[i];

		c->win = c->missed = c->disorder = c->gaps = c->feed_gaps = c->errors = 0;
	}
	tk_hist_init(&K.h);
	if (eh != NULL)
		memcpy(&e0, eh, sizeof(e0));
	s0 = proc_cpu(server_pid);
	e_0 = proc_cpu(engine_pid);
	m0 = proc_cpu(getpid());
	others_scan(&o0);
	st0 = host_steal();
	sched_wait(engine_pid, &w0, &n0);
	sched_wait(server_pid, &sw0, &sn0);
	K.hi = UINT64_MAX;
	K.lo = tk_log_write_seq(F.w.log);
	for (unsigned i = 0; i < 64; i++)
		tk_hist_init(&K.slice[i]);
	t0 = K.t0 = tk_mono_ns();
	serve((int64_t)(secs * 1e9), NULL);
	K.hi = tk_log_write_seq(F.w.log);
	t1 = tk_mono_ns();
	r->secs = (double)(t1 - t0) / 1e9;
	r->server_cpu = (proc_cpu(server_pid) - s0) / r->secs * 100;
	r->engine_cpu = (proc_cpu(engine_pid) - e_0) / r->secs * 100;
	r->self_cpu = (proc_cpu(getpid()) - m0) / r->secs * 100;
	others_scan(&o1);
	r->steal_cpu = (host_steal() - st0) / r->secs * 100;
	r->others_cpu = others_delta(&o0, &o1) / r->secs * 100;
	sched_wait(engine_pid, &w1, &n1);
	r->eng_wait_us = n1 > n0 ? (w1 - w0) / (n1 - n0) / 1e3 : 0;
	sched_wait(server_pid, &sw1, &sn1);
	r->server_wait_pct = (sw1 - sw0) / 1e9 / r->secs * 100;
	if (eh != NULL) {
		struct tk_hist d;

		memcpy(&d, eh, sizeof(d));
		d.count = 0;
		for (unsigned i = 0; i < TK_HIST_BUCKETS; i++) {
			d.buckets[i] -= e0.buckets[i];
			d.count += d.buckets[i];
		}
		d.max = UINT64_MAX; /* percentiles from the buckets alone */
		d.min = 0;
		r->engine = true;
		engine_figures(r, &d);
	}
	serve(5000000000LL, window_received);
	memset(per_sym, 0, sizeof(per_sym));
	for (uint64_t s = K.lo + 1; s <= K.hi; s++) {
		int16_t y = LOAD(sym_of[s]);

		if (y >= 0) {
			per_sym[y]++;
			total++;
		}
	}
	(void)total;
	for (unsigned i = 0; i < K.want; i++) {
		const struct conn *c = &K.conn[i];
		uint64_t want = per_sym[c->sym];

		r->expected += want;
		r->delivered += c->win;
		r->missed += c->win < want ? want - c->win : 0;
		r->disorder += c->disorder;
		r->gaps += c->gaps;
		r->feed_gaps += c->feed_gaps;
		r->errors += c->errors;
		r->closed += c->state == C_CLOSED;
		r->complete += c->state == C_SUBSCRIBED && c->win == want && c->missed == 0 &&
			       c->gaps == 0 && c->disorder == 0;
	}
	if (K.trace) {
		fprintf(stderr, "ws: trace, p50/p99/max us by half second:");
		for (unsigned i = 0; i < 64 && K.slice[i].count > 0; i++)
			fprintf(stderr, " %.0f/%.0f/%.0f", (double)tk_hist_percentile(&K.slice[i], 50) / 1e3,
				(double)tk_hist_percentile(&K.slice[i], 99) / 1e3, (double)K.slice[i].max / 1e3);
		fprintf(stderr, "\n");
	}
	r->p50 = (double)tk_hist_percentile(&K.h, 50) / 1e3;
	r->p99 = (double)tk_hist_percentile(&K.h, 99) / 1e3;
	r->p999 = (double)tk_hist_percentile(&K.h, 99.9) / 1e3;
	r->max = (double)K.h.max / 1e3;
	if (K.h.count == 0)
		r->max = 0;
	fprintf(stderr,
		"ws: %-26s %4u clients %5.1f s: %8llu/%-8llu trades received, %4llu/%u complete, "
		"p50/p99/p99.9/max %.0f/%.0f/%.0f/%.0f us; server %.0f %%, engine %.0f %%, "
		"clients+feed %.0f %%, other processes %.0f %%, steal %.0f %% of a core; the server "
		"waited for a core %.0f %% of the time, the engine %.1f us each time it woke\n",
		name, r->clients, r->secs, (unsigned long long)r->delivered,
		(unsigned long long)r->expected, (unsigned long long)r->complete, r->clients, r->p50,
		r->p99, r->p999, r->max, r->server_cpu, r->engine_cpu, r->self_cpu, r->others_cpu,
		r->steal_cpu, r->server_wait_pct, r->eng_wait_us);
}

/* Grow (or shrink) the pool to n connections, all streaming. */
static int clients_to(unsigned n)
{
	if (n < K.n) {
		close_from(n);
		return 0;
	}
	K.want = n;
	if (serve(60000000000LL, all_streaming))
		serve(1000000000LL, NULL); /* a second to settle: the handshakes out of the window */
	if (!all_streaming()) {
		unsigned ok = 0;

		for (unsigned i = 0; i < K.n; i++)
			ok += K.conn[i].state == C_SUBSCRIBED && K.conn[i].trades > 0;
		if (!stop_flag)
			fprintf(stderr, "ws: only %u of %u clients streaming after 60 s (%llu connection "
				"errors)\n", ok, n, (unsigned long long)K.conn_errors);
		return -1;
	}
	return 0;
}

/* Spawn this program again in another mode; its stdout on *out. */
static pid_t spawn_self(char *const argv[], int *out)
{
	posix_spawn_file_actions_t fa;
	int p[2];
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	if (posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	*out = p[0];
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	return pid;
}

/* A child's output up to a line `last` (or "" for any line), serving
 * the clients meanwhile. */
static bool read_until(int fd, char *buf, size_t cap, const char *last, int64_t ns)
{
	size_t at = 0;
	int64_t end = tk_mono_ns() + ns;

	buf[0] = '\0';
	while (tk_mono_ns() < end && !stop_flag && at + 1 < cap) {
		ssize_t n = read(fd, buf + at, cap - 1 - at);

		if (n > 0) {
			at += (size_t)n;
			buf[at] = '\0';
			if (last[0] == '\0' ? memchr(buf, '\n', at) != NULL
					  : at > strlen(last) && strstr(buf, last) != NULL)
				return true;
		} else if (n == 0) {
			return false;
		}
		lws_service(K.ctx, 0);
	}
	return false;
}

struct stopped {
	unsigned n, open, complete, gapped, c1013, disorder;
	uint64_t trades, expected, missed, behind_max;
};

/*
 * The stopped group's report, judged by the feed's tables: a client
 * received every trade of its symbol from its first to its last when
 * it counted as many as were written (in order, so the same ones); and
 * how many it was still owed when told to stop (written up to `upto`).
 */
static void stopped_judge(const char *rep, uint64_t upto, struct stopped *g)
{
	const char *l;

	memset(g, 0, sizeof(*g));
	for (l = strstr(rep, "conn "); l != NULL; l = strstr(l + 1, "\nconn ")) {
		unsigned long long first, last, trades, disorder, gaps, fgaps;
		unsigned i, sym;
		int code, open;
		uint64_t want = 0, behind = 0;

		if (*l == '\n')
			l++;
		if (sscanf(l, "conn %u %u %llu %llu %llu %llu %llu %llu %d %d", &i, &sym, &first, &last,
			   &trades, &disorder, &gaps, &fgaps, &code, &open) != 10 || sym >= MAX_SYM)
			continue;
		g->n++;
		g->open += open != 0;
		g->gapped += gaps > 0;
		g->c1013 += code == 1013;
		g->disorder += disorder > 0;
		g->trades += trades;
		for (uint64_t q = first; first != 0 && q <= last && q < TABLE; q++)
			want += LOAD(sym_of[q]) == (int16_t)sym;
		for (uint64_t q = last + 1; q <= upto && q < TABLE; q++)
			behind += LOAD(sym_of[q]) == (int16_t)sym;
		g->expected += want;
		g->missed += want > trades ? want - trades : 0;
		g->behind_max = behind > g->behind_max ? behind : g->behind_max;
		g->complete += open && want == trades && disorder == 0 && gaps == 0;
	}
}

static void reap(pid_t pid)
{
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGCONT);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

static int run_bench(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "shm-path", 1, 0, 'p' }, { "port", 1, 0, 'P' },    { "api-pid", 1, 0, 'a' },
		{ "engine-pid", 1, 0, 'e' }, { "rate", 1, 0, 'r' },  { "symbols", 1, 0, 's' },
		{ "clients", 1, 0, 'n' },  { "seconds", 1, 0, 'T' }, { "engine-seconds", 1, 0, 'E' },
		{ "stop-seconds", 1, 0, 'S' }, { "forward-port", 1, 0, 'F' }, { "one-seconds", 1, 0, 'O' },
		{ "server-cpu", 1, 0, 'C' }, { "client-cpu", 1, 0, 'c' }, { "feed-cpu", 1, 0, 'f' },
		{ 0, 0, 0, 0 }
	};
	static struct result r0a, r0b, r0, r1, r100, rN, rc, rs, b1, bN;
	const char *shm = NULL;
	unsigned nsym = 100, nmax = 1000, nstop;
	double rate = 1000, secs = 6, esecs = 20, ssecs = 8, osecs = 10;
	int port = 0, fport = 0, o, fd, scpu = -1, ccpu = -1, fcpu = -1;
	char a_scpu[16], a_ccpu[16];
	static char report[256 * MAX_CONN];
	char line[512], a_port[16], a_n[16], a_base[16], a_sym[16];
	struct stopped sg;
	uint64_t upto;
	pid_t child, fwd;
	struct sigaction sa;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'p': shm = optarg; break;
		case 'P': port = atoi(optarg); break;
		case 'a': server_pid = atoi(optarg); break;
		case 'e': engine_pid = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 's': nsym = (unsigned)atoi(optarg); break;
		case 'n': nmax = (unsigned)atoi(optarg); break;
		case 'T': secs = atof(optarg); break;
		case 'E': esecs = atof(optarg); break;
		case 'S': ssecs = atof(optarg); break;
		case 'F': fport = atoi(optarg); break;
		case 'O': osecs = atof(optarg); break;
		case 'C': scpu = atoi(optarg); break;
		case 'c': ccpu = atoi(optarg); break;
		case 'f': fcpu = atoi(optarg); break;
		default: return 2;
		}
	}
	if (shm == NULL || port == 0 || fport == 0 || server_pid <= 0 || engine_pid <= 0 ||
	    nsym == 0 || nsym > MAX_SYM || nmax < 10 || nmax > MAX_CONN || rate <= 0) {
		fprintf(stderr, "usage: ws run --shm-path P --port PORT --forward-port PORT "
			"--api-pid PID --engine-pid PID [--rate R] [--symbols S] [--clients N] "
			"[--seconds T] [--one-seconds T] [--engine-seconds T] [--stop-seconds T] "
			"[--server-cpu C] [--client-cpu C] [--feed-cpu C]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	api_pid = server_pid;
	if (feed_start(shm, nsym, rate, fcpu) < 0)
		return 1;
	/* The feed thread keeps nice 0 (as `tickd feed`); this one, the
	 * clients, takes the API's. */
	lower("CLIENTS_SCHED", "ws");
	pin(ccpu); /* the clients' thread; the feed thread has --feed-cpu */
	snprintf(a_scpu, sizeof(a_scpu), "%d", scpu);
	snprintf(a_ccpu, sizeof(a_ccpu), "%d", ccpu);
	if (clients_init(port, nsym, 0, 0, true) < 0)
		return 1;
	K.trace = getenv("WS_TRACE") != NULL;
	for (int i = 0; i < 100 && engine_hist() == NULL; i++)
		tk_sleep_ns(50000000LL); /* the engine claims its slot as it starts */
	if (engine_hist() == NULL) {
		fprintf(stderr, "ws: no metrics slot of engine.0 (pid %d)\n", (int)engine_pid);
		return 1;
	}
	serve(1000000000LL, NULL); /* the engine and the API see the feed start */

	/* Unloaded: half before the clients, half after them all. */
	measure(&r0a, "tickd, no client", esecs / 2, true);
	if (clients_to(1) < 0)
		goto fail;
	measure(&r1, "tickd", osecs, false);
	if (clients_to(100) < 0)
		goto fail;
	measure(&r100, "tickd", secs, false);
	if (clients_to(nmax) < 0)
		goto fail;
	measure(&rN, "tickd", esecs, true);

	/* 10 % stopped: that many of ours closed, as many in a process of its own. */
	nstop = nmax / 10;
	close_from(nmax - nstop);
	snprintf(a_port, sizeof(a_port), "%d", port);
	snprintf(a_n, sizeof(a_n), "%u", nstop);
	snprintf(a_base, sizeof(a_base), "%u", nmax - nstop);
	snprintf(a_sym, sizeof(a_sym), "%u", nsym);
	{
		char *cargv[] = { prog, "clients", "--port", a_port, "--n", a_n, "--base", a_base,
				  "--symbols", a_sym, "--rcvbuf", "8192", "--cpu", a_ccpu, NULL };

		child = spawn_self(cargv, &fd);
	}
	group_pid = child;
	if (child < 0 || !read_until(fd, line, sizeof(line), "", 60000000000LL)) {
		fprintf(stderr, "ws: the stopped group did not start streaming\n");
		reap(child);
		goto fail;
	}
	/* The same 900 first with the other 100 reading: the control. */
	measure(&rc, "tickd, 10 % elsewhere", ssecs, false);
	kill(child, SIGSTOP);
	measure(&rs, "tickd, 10 % stopped", ssecs, false);
	kill(child, SIGCONT);
	serve(3000000000LL, NULL); /* it catches up, or is told its gap */
	upto = tk_log_write_seq(F.w.log);
	kill(child, SIGTERM);
	if (!read_until(fd, report, sizeof(report), "\nend\n", 10000000000LL))
		fprintf(stderr, "ws: the stopped group's report is cut short\n");
	waitpid(child, NULL, 0);
	group_pid = 0;
	close(fd);
	stopped_judge(report, upto, &sg);
	fprintf(stderr, "ws: the stopped group after SIGCONT and %.0f s: %u/%u open, %u/%u received "
		"every trade of their symbol from their first to their last (%llu of %llu), %u "
		"gapped, %u closed 1013, at most %llu trades behind at the end\n",
		3.0, sg.open, sg.n, sg.complete, sg.n, (unsigned long long)sg.trades,
		(unsigned long long)sg.expected, sg.gapped, sg.c1013,
		(unsigned long long)sg.behind_max);

	/* The baseline: the same clients against a trivial forwarder. */
	close_from(0);
	snprintf(a_port, sizeof(a_port), "%d", fport);
	{
		char *fargv[] = { prog, "forward", "--shm-path", (char *)shm, "--port", a_port,
				  "--cpu", a_scpu, NULL };

		fwd = spawn_self(fargv, &fd);
	}
	if (fwd < 0 || !read_until(fd, line, sizeof(line), "", 10000000000LL)) {
		fprintf(stderr, "ws: the forwarder did not start\n");
		reap(fwd);
		goto fail;
	}
	K.port = fport;
	server_pid = fwd;
	if (clients_to(1) < 0) {
		reap(fwd);
		goto fail;
	}
	measure(&b1, "forwarder (baseline)", osecs, false);
	if (clients_to(nmax) < 0) {
		reap(fwd);
		goto fail;
	}
	measure(&bN, "forwarder (baseline)", secs * 2, true);
	close_from(0);
	reap(fwd);
	close(fd);
	/* The engine's unloaded window again: before and after bracket it. */
	serve(1000000000LL, NULL);
	measure(&r0b, "no client (after)", esecs / 2, true);
	{
		struct tk_hist m;

		memcpy(&m, &r0a.eng, sizeof(m));
		tk_hist_merge(&m, &r0b.eng);
		engine_figures(&r0, &m);
		r0.eng_wait_us = (r0a.eng_wait_us + r0b.eng_wait_us) / 2;
	}

	atomic_store(&F.stop, true);
	pthread_join(F.thread, NULL);
	lws_context_destroy(K.ctx);
	if (atomic_load(&F.full)) {
		fprintf(stderr, "ws: more than %u records: the run is too long for the tables\n", TABLE);
		return 1;
	}

	{
		const struct result *rows[] = { &r1, &r100, &rN, &rc, &rs, &b1, &bN };
		double ratio = r0.eng_p99 > 0 ? rN.eng_p99 / r0.eng_p99 : 0;

		printf("bench/ws: %.0f trades/s over %u symbols, client i subscribed to symbol i mod %u; "
		       "latency from the tick written in ticks.0 to the frame in the client's hands\n",
		       rate, nsym, nsym);
		printf("%-24s %7s %10s %10s %9s %8s %8s %8s %8s %9s %7s %7s\n", "", "clients", "received",
		       "of", "complete", "p50 us", "p99 us", "p99.9 us", "max us", "msgs/s", "cpu %",
		       "other %");
		for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			const struct result *x = rows[i];

			printf("%-24s %7u %10llu %10llu %9llu %8.0f %8.0f %8.0f %8.0f %9.0f %7.1f %7.0f\n",
			       x->name, x->clients, (unsigned long long)x->delivered,
			       (unsigned long long)x->expected, (unsigned long long)x->complete, x->p50,
			       x->p99, x->p999, x->max, (double)x->delivered / x->secs, x->server_cpu,
			       x->others_cpu + x->steal_cpu);
			if (x->missed + x->disorder + x->gaps + x->feed_gaps + x->errors + x->closed > 0)
				printf("%-24s   missed %llu, out of order %llu, gaps %llu, feed gaps %llu, "
				       "errors %llu, closed %llu\n", "",
				       (unsigned long long)x->missed, (unsigned long long)x->disorder,
				       (unsigned long long)x->gaps, (unsigned long long)x->feed_gaps,
				       (unsigned long long)x->errors, (unsigned long long)x->closed);
		}
		printf("cpu %% is the server's (tickd api, or the forwarder) over the window, of one core; "
		       "the clients and feed took %.0f %% (1,000 clients), the engine %.0f %%; other %% is "
		       "the CPU of the host's other processes and the hypervisor's steal: another "
		       "load on the two cores\n", rN.self_cpu, rN.engine_cpu);
		printf("stopped group (%u clients, a process of its own, 8 KiB receive buffers, SIGSTOP "
		       "%.0f s, then 3 s): %u/%u open, %u/%u received every trade of their symbol from "
		       "their first to their last (%llu of %llu), %u gapped, %u closed 1013, at most "
		       "%llu trades behind at the end\n", nstop, ssecs, sg.open, sg.n, sg.complete, sg.n,
		       (unsigned long long)sg.trades, (unsigned long long)sg.expected, sg.gapped,
		       sg.c1013, (unsigned long long)sg.behind_max);
		printf("engine apply latency (feed receive -> applied, one trade in 64), p50/p99/p99.9 "
		       "us: no client, before and after the rest, %.1f/%.1f/%.1f (%llu samples; p99 "
		       "before %.1f, after %.1f); %u clients of tickd api "
		       "%.1f/%.1f/%.1f (%llu), p99 ratio %.2f; %u clients of the forwarder "
		       "%.1f/%.1f/%.1f (%llu), p99 ratio %.2f; its mean wait for a core when woken "
		       "%.1f / %.1f / %.1f us\n",
		       r0.eng_p50, r0.eng_p99, r0.eng_p999, (unsigned long long)r0.eng_n, r0a.eng_p99,
		       r0b.eng_p99, rN.clients,
		       rN.eng_p50, rN.eng_p99, rN.eng_p999, (unsigned long long)rN.eng_n, ratio,
		       bN.clients, bN.eng_p50, bN.eng_p99, bN.eng_p999, (unsigned long long)bN.eng_n,
		       r0.eng_p99 > 0 ? bN.eng_p99 / r0.eng_p99 : 0, r0.eng_wait_us, rN.eng_wait_us,
		       bN.eng_wait_us);
		printf("{\"ws_us_p50_1\":%.1f,\"ws_us_p99_1\":%.1f,\"ws_us_p50_100\":%.1f,"
		       "\"ws_us_p99_100\":%.1f,\"ws_us_p50_1000\":%.1f,\"ws_us_p99_1000\":%.1f,"
		       "\"ws_us_p999_1000\":%.1f,\"ws_us_max_1000\":%.1f,\"ws_msgs_s_1000\":%.0f,"
		       "\"ws_complete_1000\":%llu,\"ws_missed_1000\":%llu,"
		       "\"ws_us_p50_1000_stopped10\":%.1f,\"ws_us_p99_1000_stopped10\":%.1f,"
		       "\"ws_us_p999_1000_stopped10\":%.1f,\"ws_complete_stopped10\":%llu,"
		       "\"ws_us_p50_1000_control10\":%.1f,\"ws_us_p99_1000_control10\":%.1f,"
		       "\"stopped_complete\":%u,\"stopped_gapped\":%u,\"stopped_closed_1013\":%u,"
		       "\"api_cpu_pct_1\":%.1f,\"api_cpu_pct_100\":%.1f,\"api_cpu_pct_1000\":%.1f,"
		       "\"engine_us_p99_0\":%.1f,\"engine_us_p99_0_before\":%.1f,"
		       "\"engine_us_p99_0_after\":%.1f,\"engine_us_p99_1000\":%.1f,"
		       "\"engine_p99_ratio_loaded\":%.3f,\"engine_us_p99_fwd1000\":%.1f,"
		       "\"engine_p99_ratio_fwd1000\":%.3f,\"engine_samples_0\":%llu,"
		       "\"engine_samples_1000\":%llu,\"engine_wait_us_0\":%.1f,"
		       "\"engine_wait_us_1000\":%.1f,\"fwd_us_p50_1\":%.1f,\"fwd_us_p99_1\":%.1f,"
		       "\"fwd_us_p50_1000\":%.1f,\"fwd_us_p99_1000\":%.1f,\"fwd_cpu_pct_1000\":%.1f,"
		       "\"ratio_p50_1_to_fwd\":%.2f,\"ratio_p99_1000_to_fwd\":%.2f,"
		       "\"ratio_cpu_1000_to_fwd\":%.2f,\"rate\":%.0f,\"symbols\":%u}\n",
		       r1.p50, r1.p99, r100.p50, r100.p99, rN.p50, rN.p99, rN.p999, rN.max,
		       (double)rN.delivered / rN.secs, (unsigned long long)rN.complete,
		       (unsigned long long)rN.missed, rs.p50, rs.p99, rs.p999,
		       (unsigned long long)rs.complete, rc.p50, rc.p99, sg.complete, sg.gapped, sg.c1013,
		       r1.server_cpu, r100.server_cpu, rN.server_cpu, r0.eng_p99, r0a.eng_p99,
		       r0b.eng_p99, rN.eng_p99, ratio, bN.eng_p99,
		       r0.eng_p99 > 0 ? bN.eng_p99 / r0.eng_p99 : 0,
		       (unsigned long long)r0.eng_n, (unsigned long long)rN.eng_n, r0.eng_wait_us,
		       rN.eng_wait_us, b1.p50, b1.p99, bN.p50, bN.p99, bN.server_cpu,
		       b1.p50 > 0 ? r1.p50 / b1.p50 : 0, bN.p99 > 0 ? rN.p99 / bN.p99 : 0,
		       bN.server_cpu > 0 ? rN.server_cpu / bN.server_cpu : 0, rate, nsym);
	}
	return 0;
fail:
	atomic_store(&F.stop, true);
	pthread_join(F.thread, NULL);
	return 1;
}

int main(int argc, char **argv)
{
	prog = argv[0];
	if (argc > 1 && strcmp(argv[1], "run") == 0)
		return run_bench(argc - 1, argv + 1);
	/* The run's children die with it, however it ends (stopped ones too). */
	if (argc > 1 && (strcmp(argv[1], "clients") == 0 || strcmp(argv[1], "forward") == 0) &&
	    (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1))
		return 1;
	if (argc > 1 && strcmp(argv[1], "clients") == 0)
		return run_clients(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "forward") == 0)
		return run_forward(argc - 1, argv + 1);
	fprintf(stderr, "usage: ws run|clients|forward ... (see bench/ws.c)\n");
	return 2;
}

/*
 * bench/e2e: the whole path as processes, each hop beside the same hop of a
 * loopback-TCP forwarding chain of the same shape, in the same run (issue 13).
 *
 * tickd's path, started as `tickd run --no-persist --source finnhub --url
 * ws://127.0.0.1:P --listen 127.0.0.1:Q` starts it (the same binaries, the
 * same default options: engine idle backoff, tickd api at nice 10, nothing
 * pinned), with the mock in front:
 *
 *   tickd mock-finnhub --probe   one trade a message, its size the CLOCK_MONOTONIC
 *        | ws (TCP)              send time (ns mod 1e12), --symbols N, --rate R
 *   tickd feed --source finnhub  parses, writes the tick (its receive time in it)
 *        | ticks.0 (shm)
 *        +--> tickd engine       applies it to the symbol's live record (open bars)
 *        +--> tickd api /ws      a {"channels":["trades"],"symbols":["*"]} client
 *        | ws (TCP)
 *   this process                 a thread blocked on the tick log (a named,
 *                                non-gating reader, so the feed's publish wakes
 *                                its futex, as it wakes tickd api's waker), and
 *                                a thread blocked in read() on the WS client
 *
 * Per trade, by the tick's sequence: sent (the mock's stamp), feed receive
 * (the tick's recv_ns, wall clock, moved to CLOCK_MONOTONIC by an offset
 * taken at the start), visible in the log (the blocked reader woke and read
 * it), in the bar (the symbol's live record says last_seq >= the tick's:
 * the open 1s bar has absorbed it; sampled, see below), and received by the
 * WS client (the frame holding it read whole).  Two readings of the first
 * hop: ws_to_shm, mock send -> the tick seen by that blocked reader (a
 * reader's futex wake included, as bench/feed measures it), and ws_to_feed,
 * mock send -> the feed's receive stamp (the tick is in the log about a
 * microsecond later: parse and write), the hop the baseline's first TCP
 * hop is the same shape as (it ends when the forwarder has the data).
 *
 * The bar is watched as a reader would: after reading a tick the log
 * thread polls that symbol's seqlocked live record (tk_state_read) until the
 * engine has applied it, reading the log meanwhile (ticks that arrive then
 * still get their time), yielding the core between looks.  At most one
 * tick every --bar-every ms (default 10) is watched, so that the poll
 * costs a few % of a core.
 *
 * Baseline, same shape, same run: five processes forwarding over loopback
 * TCP (TCP_NODELAY on every socket), nothing else:
 *
 *   src  --112 B-->  fwd-feed  --64 B-->  fwd-api (nice 10)  --152 B-->  this process
 *                        +------64 B-->  sink-engine
 *
 * src stamps CLOCK_MONOTONIC just before each write; fwd-feed stamps the
 * time its read returned (the analog of "visible in the log"); every
 * forwarder reads what the socket has (a blocking read: the analog of the
 * feed's and the API's poll and futex waits) and writes the whole messages
 * on at once.  sink-engine waits as `tickd engine` does by default: a
 * non-blocking read and, when empty, shm/idle's backoff (spin, yield, sleep
 * 50 us doubling to 1 ms).  src paces as the mock does: Poisson arrivals at
 * the rate, every arrival due sent at a 1 ms timer (the mock's --batch-ms 1).
 *
 * Rounds: the tickd path and the baseline alternate (ABBA), each window
 * after a second of warm-up; ratios per round, their median.  The
 * core-to-core latency (a cache line bounced by two pinned processes) is
 * measured at the start, before each configuration and at the end; the
 * host's CPU outside this run's processes (another job, the hypervisor's
 * steal) is printed per round beside it.  100,000 trades/s fill both
 * cores (the mock alone takes half of one): what is reached is printed.
 *
 * --reader-idle: how the log thread waits (default block: the futex the
 * feed's publish wakes, so each tick costs the feed a FUTEX_WAKE when the
 * thread sleeps, and this process a wake-up).  --api-nice: tickd api's
 * --nice and fwd-api's niceness (default 10, tickd api's).  --bar-every:
 * the tick-to-bar sampling period.  --dump: every trade of the tickd
 * windows with its times, as CSV.  --keep-logs: keep /tmp/tickd-e2e-PID/
 * (the children's stderr).
 *
 * Default: 8 and 10,000 symbols (the mock's market: Zipf weights, so a
 * window sees fewer distinct ones, about 7,400 in 60,000 trades), each at
 * 1,000, 10,000 and 100,000 trades/s, 3 rounds of 3 s: under 3 minutes.
 * --quick: 8 symbols at 1,000 and 10,000/s, one round of 1 s: 8 seconds.
 *
 * usage: e2e [--quick] [--pin] [--tickd PATH] [--rates LIST] [--symbols LIST]
 *            [--seconds S] [--rounds N] [--bar-every MS] [--api-nice N]
 *            [--reader-idle block|backoff|spin] [--dump CSV] [--keep-logs]
 *
 * --pin: the bare-metal layout: tickd feed and tickd engine (and their
 * baseline forwarders) on cpu 1, the rest on cpu 0.  Last line: one JSON
 * object.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/stats.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/hist.h"
#include "shm/idle.h"
#include "shm/live.h"
#include "shm/log.h"
#include "shm/records.h"
#include "shm/segment.h"
#include "shm/state.h"

#ifndef TK_TICKD_BIN
#define TK_TICKD_BIN "tickd"
#endif

#define TAB_BITS 20 /* trades a window may hold: 1 M (100 k/s for 10 s) */
#define TAB (1u << TAB_BITS)
#define STAMP_MOD 1000000000000LL /* the mock's stamp: CLOCK_MONOTONIC ns modulo 1e12 */
#define MAX_LIST 8
#define API_NICE 10 /* tickd api's default --nice */

static const char *tickd = TK_TICKD_BIN;
static bool pin_mode;
static int api_nice = API_NICE;
static int64_t warm_ns = 1000000000LL; /* before each window: connections, first frames */
static enum tk_idle_kind reader_idle = TK_IDLE_BLOCK; /* the log thread's wait */
static FILE *dump; /* --dump: every trade of the tickd windows, its times */
static char workdir[64]; /* the children's logs */

/* ------------------------------------------------------------ helpers */

static void set_cpu(int cpu)
{
	cpu_set_t set;
	int c;

	CPU_ZERO(&set);
	if (cpu >= 0)
		CPU_SET(cpu, &set);
	else
		for (c = 0; c < CPU_SETSIZE; c++)
			CPU_SET(c, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0 && cpu >= 0)
		fprintf(stderr, "e2e: cannot pin to cpu %d: %s\n", cpu, strerror(errno));
}

/* The cpu of a role in --pin mode: the hot path (feed, engine) on 1. */
static int cpu_of(bool hot)
{
	return pin_mode ? (hot ? 1 : 0) : -1;
}

static void die(const char *what)
{
	fprintf(stderr, "e2e: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

/* Start `tickd ARGS...` on cpu (-1: anywhere), its stderr (and stdout
 * unless out_fd >= 0) into workdir/<name>.log. */
static pid_t spawn(const char *name, char *const argv[], int cpu, int out_fd)
{
	char logpath[128];
	pid_t pid;

	snprintf(logpath, sizeof(logpath), "%s/%s.log", workdir, name);
	pid = fork();
	if (pid == 0) {
		int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);

		set_cpu(cpu);
		if (log >= 0) {
			dup2(log, 2);
			dup2(out_fd >= 0 ? out_fd : log, 1);
		}
		setenv("FINNHUB_API_TOKEN", "bench", 1);
		unsetenv("TICKD_CONFIG");
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		die("fork");
	return pid;
}

/* SIGTERM, then SIGKILL after 3 s. */
static void stop(pid_t pid)
{
	int64_t deadline = tk_mono_ns() + 3000000000LL;
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (tk_mono_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return;
		}
		tk_sleep_ns(2000000);
	}
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0)
		die("free port");
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int tcp_listen(struct sockaddr_in *a)
{
	socklen_t al = sizeof(*a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	*a = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof(*a)) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)a, &al) != 0)
		die("listen");
	return fd;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int tcp_connect(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof(*a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	nodelay(fd);
	return fd;
}

static int tcp_accept(int ls)
{
	int fd = accept(ls, NULL, NULL);

	if (fd < 0)
		die("accept");
	nodelay(fd);
	return fd;
}

static bool write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

static double us(const struct tk_hist *h, double p)
{
	return p >= 100 ? (double)h->max / 1e3 : (double)tk_hist_percentile(h, p) / 1e3;
}

/* ------------------------------------------------------------ the host */

/* CPU time, ns: the host's busy and steal time (/proc/stat), and this
 * process's with its reaped children's (every process of a window). */
struct cpu {
	double busy, steal, mine;
};

static void cpu_now(struct cpu *c)
{
	unsigned long long v[8] = { 0 };
	double tick = (double)sysconf(_SC_CLK_TCK);
	struct rusage self, kids;
	FILE *f = fopen("/proc/stat", "r");

	if (f == NULL || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
				&v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		memset(v, 0, sizeof(v));
	if (f != NULL)
		fclose(f);
	/* user nice system idle iowait irq softirq steal */
	c->busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tick * 1e9;
	c->steal = (double)v[7] / tick * 1e9;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	c->mine = ((double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
			    kids.ru_stime.tv_sec) * 1e6 +
		   (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
			    kids.ru_stime.tv_usec)) * 1e3;
}

/* ------------------------------------------------------------ core to core */

/* One-way latency: half the round trip of a cache line bounced between two
 * processes pinned to cpus 0 and 1 (p50 of 20,000 trips, ns). */
static double c2c_ns(void)
{
	_Atomic uint64_t *line = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	const uint64_t trips = 20000;
	struct tk_hist *h = malloc(sizeof(*h));
	pid_t child;
	uint64_t i;
	double r;

	if (line == MAP_FAILED || h == NULL)
		die("mmap");
	atomic_store(line, 0);
	child = fork();
	if (child == 0) {
		set_cpu(1);
		for (i = 0; i < trips; i++) {
			while (atomic_load_explicit(line, memory_order_acquire) != 2 * i + 1)
				tk_cpu_relax();
			atomic_store_explicit(line, 2 * i + 2, memory_order_release);
		}
		_exit(0);
	}
	set_cpu(0);
	tk_hist_init(h);
	for (i = 0; i < trips; i++) {
		int64_t t0 = tk_mono_ns();

		atomic_store_explicit(line, 2 * i + 1, memory_order_release);
		while (atomic_load_explicit(line, memory_order_acquire) != 2 * i + 2)
			tk_cpu_relax();
		tk_hist_record(h, (uint64_t)(tk_mono_ns() - t0));
	}
	waitpid(child, NULL, 0);
	set_cpu(-1);
	r = (double)tk_hist_percentile(h, 50) / 2;
	free(h);
	munmap((void *)line, 4096);
	return r;
}

/* ------------------------------------------------------------ the table */

/* One trade's times (CLOCK_MONOTONIC ns; 0: not seen), by its sequence.
 * Shared with the baseline's processes (sink-engine writes bar). */
struct entry {
	uint64_t tag;  /* seq + 1 */
	int64_t sent;  /* the source's stamp */
	int64_t frx;   /* tickd: the feed's receive time */
	int64_t vis;   /* visible in the log / read by fwd-feed */
	int64_t bar;   /* the engine applied it / sink-engine read it */
	int64_t ws;    /* in the client's hands */
};

static struct entry *tab;

static struct entry *entry_of(uint64_t seq)
{
	return &tab[seq & (TAB - 1)];
}

struct window {
	struct tk_hist hop1; /* ws_to_shm: sent -> visible; tcp_hop: sent -> fwd-feed */
	struct tk_hist rx;   /* tickd: sent -> the feed's receive */
	struct tk_hist pub;  /* tickd: the feed's receive -> visible */
	struct tk_hist bar;  /* visible -> bar */
	struct tk_hist ws;   /* visible -> client */
	struct tk_hist e2e;  /* sent -> client */
	uint64_t n, lost;
	double rate; /* trades a second sent in the window */
	double cpu_mine, cpu_others, steal; /* % of one core over the window */
};

static void window_init(struct window *w)
{
	tk_hist_init(&w->hop1);
	tk_hist_init(&w->rx);
	tk_hist_init(&w->pub);
	tk_hist_init(&w->bar);
	tk_hist_init(&w->ws);
	tk_hist_init(&w->e2e);
	w->n = w->lost = 0;
	w->rate = 0;
}

static void window_merge(struct window *into, const struct window *w)
{
	tk_hist_merge(&into->hop1, &w->hop1);
	tk_hist_merge(&into->rx, &w->rx);
	tk_hist_merge(&into->pub, &w->pub);
	tk_hist_merge(&into->bar, &w->bar);
	tk_hist_merge(&into->ws, &w->ws);
	tk_hist_merge(&into->e2e, &w->e2e);
	into->n += w->n;
	into->lost += w->lost;
}

static void rec(struct tk_hist *h, int64_t from, int64_t to)
{
	if (from != 0 && to != 0)
		tk_hist_record(h, (uint64_t)(to > from ? to - from : 0));
}

/* The trades sent in [t0, t1) into the window's histograms. */
static void window_collect(struct window *w, int64_t t0, int64_t t1)
{
	uint32_t i;

	window_init(w);
	for (i = 0; i < TAB; i++) {
		const struct entry *e = &tab[i];

		if (e->tag == 0 || e->sent < t0 || e->sent >= t1)
			continue;
		w->n++;
		rec(&w->hop1, e->sent, e->vis);
		rec(&w->rx, e->sent, e->frx);
		rec(&w->pub, e->frx, e->vis);
		rec(&w->bar, e->vis, e->bar);
		rec(&w->ws, e->vis, e->ws);
		rec(&w->e2e, e->sent, e->ws);
		w->lost += e->ws == 0;
	}
	w->rate = (double)w->n / ((double)(t1 - t0) / 1e9);
}

/* ------------------------------------------------------------ WebSocket client */

/* A minimal blocking RFC 6455 client: the analog of the baseline's
 * blocking read, and no library loop between the socket and the stamp. */
struct wsc {
	int fd;
	char *buf;
	size_t len, cap;
};

static int ws_send_text(int fd, const char *text)
{
	unsigned char f[512];
	size_t n = strlen(text), i, h = 0;
	const unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };

	if (n > sizeof(f) - 8)
		return -1;
	f[h++] = 0x81;
	if (n < 126) {
		f[h++] = (unsigned char)(0x80 | n);
	} else {
		f[h++] = 0x80 | 126;
		f[h++] = (unsigned char)(n >> 8);
		f[h++] = (unsigned char)n;
	}
	memcpy(f + h, mask, 4);
	h += 4;
	for (i = 0; i < n; i++)
		f[h + i] = (unsigned char)text[i] ^ mask[i % 4];
	return write_all(fd, f, h + n) ? 0 : -1;
}

static int ws_open(struct wsc *c, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char req[256];
	int n;

	c->fd = tcp_connect(&a);
	c->cap = 1u << 20;
	c->len = 0;
	c->buf = malloc(c->cap);
	if (c->fd < 0 || c->buf == NULL)
		return -1;
	n = snprintf(req, sizeof(req),
		     "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		     "Sec-WebSocket-Version: 13\r\n\r\n", port);
	if (!write_all(c->fd, req, (size_t)n))
		return -1;
	for (;;) {
		ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		char *end;

		if (r <= 0)
			return -1;
		c->len += (size_t)r;
		c->buf[c->len] = '\0';
		end = strstr(c->buf, "\r\n\r\n");
		if (end == NULL)
			continue;
		if (strncmp(c->buf, "HTTP/1.1 101", 12) != 0)
			return -1;
		end += 4;
		c->len -= (size_t)(end - c->buf);
		memmove(c->buf, end, c->len);
		break;
	}
	return ws_send_text(c->fd, "{\"action\":\"subscribe\",\"channels\":[\"trades\"],"
				   "\"symbols\":[\"*\"]}");
}

/* The next whole frame: its payload in *p (valid until the next call), its
 * opcode returned; -1 at the end of the connection.  *at: when it was whole. */
static int ws_frame(struct wsc *c, char **p, size_t *n, int64_t *at, size_t *consumed)
{
	memmove(c->buf, c->buf + *consumed, c->len - *consumed);
	c->len -= *consumed;
	*consumed = 0;
	for (;;) {
		const unsigned char *b = (const unsigned char *)c->buf;
		size_t h = 2;
		uint64_t len;

		if (c->len >= 2) {
			len = b[1] & 0x7f;
			if (len == 126) {
				h = 4;
				len = c->len >= 4 ? (uint64_t)b[2] << 8 | b[3] : 0;
			} else if (len == 127) {
				h = 10;
				len = 0;
				for (int i = 0; i < 8 && c->len >= 10; i++)
					len = len << 8 | b[2 + i];
			}
			if (c->len >= h && h + len > c->cap)
				return -1; /* larger than a frame of the API (64 KiB) can be */
			if (c->len >= h && c->len >= h + len) {
				*p = c->buf + h;
				*n = (size_t)len;
				*consumed = h + (size_t)len;
				return b[0] & 0x0f;
			}
		}
		ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		*at = tk_mono_ns();
		c->len += (size_t)r;
	}
}

/* Every trade's seq in a frame of /ws: `"channel":"trades","data":{...,"seq":N}`. */
static void ws_trades(const char *p, size_t n, int64_t at)
{
	static const char key[] = "\"channel\":\"trades\",\"data\":{";
	const char *end = p + n, *q = p;

	while ((q = memmem(q, (size_t)(end - q), key, sizeof(key) - 1)) != NULL) {
		const char *s = memmem(q, (size_t)(end - q), "\"seq\":", 6);
		uint64_t seq;
		struct entry *e;

		if (s == NULL)
			return;
		seq = strtoull(s + 6, NULL, 10);
		q = s + 6;
		e = entry_of(seq);
		if (e->tag == seq + 1 || e->tag == 0)
			e->ws = at; /* tag 0: the log thread has not come to it yet */
	}
}

/* ------------------------------------------------------------ tickd's path */

struct tickd_run {
	struct tk_segment seg;
	struct tk_log_reader r;
	int ws_port;
	struct wsc wsc;
	int64_t wall_minus_mono;
	int64_t bar_every_ns;
	atomic_bool stop;
	atomic_bool ws_ready;
	_Atomic int64_t first_tick; /* mono ns of the first tick read */
	uint64_t bar_timeouts, lapped;
};

static void *ws_thread(void *arg)
{
	struct tickd_run *t = arg;
	size_t consumed = 0, n;
	int64_t at = 0;
	char *p;
	int op;

	while ((op = ws_frame(&t->wsc, &p, &n, &at, &consumed)) >= 0) {
		if (op == 8)
			break;
		if (op != 1 && op != 0)
			continue;
		if (!atomic_load_explicit(&t->ws_ready, memory_order_relaxed) &&
		    memmem(p, n, "\"type\":\"subscribed\"", 19) != NULL)
			atomic_store(&t->ws_ready, true);
		ws_trades(p, n, at);
	}
	return NULL;
}

/* Whether the engine has applied `seq` to symbol id's live record. */
static bool applied(const struct tk_state_region *st, uint32_t id, uint64_t seq)
{
	uint64_t last = 0;

	return tk_state_read(st, id, &last, sizeof(last)) == 0 && last >= seq;
}

static void *log_thread(void *arg)
{
	struct tickd_run *t = arg;
	const struct tk_state_region *st = tk_state_of(&t->seg);
	uint64_t slot[8];
	const struct tk_slot *s = (const struct tk_slot *)slot;
	struct tk_idle idle;
	bool watching = false;
	uint64_t wseq = 0;
	uint32_t wid = 0;
	int64_t wstart = 0, last_watch = 0;

	tk_idle_init(&idle, reader_idle);
	while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
		int rc = tk_log_read(&t->r, (struct tk_slot *)slot);
		int64_t now;

		if (watching) {
			now = tk_mono_ns();
			if (applied(st, wid, wseq)) {
				entry_of(wseq)->bar = now;
				watching = false;
			} else if (now - wstart > 50000000LL) {
				t->bar_timeouts++;
				watching = false;
			} else if (rc != TK_LOG_OK) {
				sched_yield();
			}
		}
		if (rc == TK_LOG_LAPPED) {
			t->lapped++;
			continue;
		}
		if (rc != TK_LOG_OK) {
			if (!watching)
				tk_idle_wait(&idle, &t->r, 20000000LL);
			continue;
		}
		tk_idle_reset(&idle);
		now = tk_mono_ns();
		if (s->type == TK_REC_TICK) {
			struct tk_tick k;
			struct entry *e = entry_of(s->seq);
			int64_t v;

			memcpy(&k, s->data, sizeof(k));
			v = (int64_t)k.size;
			e->sent = now - ((now % STAMP_MOD - v + STAMP_MOD) % STAMP_MOD);
			e->frx = k.recv_ns != 0 ? k.recv_ns - t->wall_minus_mono : 0;
			e->vis = now;
			/* The tag last: the WS thread may stamp ws before it (tag 0). */
			atomic_store_explicit((_Atomic uint64_t *)&e->tag, s->seq + 1, memory_order_release);
			if (atomic_load_explicit(&t->first_tick, memory_order_relaxed) == 0)
				atomic_store(&t->first_tick, now);
			if (!watching && now - last_watch >= t->bar_every_ns) {
				watching = true;
				wseq = s->seq;
				wid = s->aux;
				wstart = last_watch = now;
				if (applied(st, wid, wseq)) { /* at once: the engine was first */
					e->bar = now;
					watching = false;
				}
			}
		}
	}
	return NULL;
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC, from the tightest of a few brackets. */
static int64_t wall_minus_mono(void)
{
	int64_t best = INT64_MAX, off = 0;

	for (int i = 0; i < 20; i++) {
		int64_t m0 = tk_mono_ns(), w = tk_wall_ns(), m1 = tk_mono_ns();

		if (m1 - m0 < best) {
			best = m1 - m0;
			off = w - (m0 + m1) / 2;
		}
	}
	return off;
}

/* The segment and the files the engine keeps beside it (PATH.engine.0). */
static void remove_segment(const char *path)
{
	char *argv[] = { (char *)tickd, "clean", "--shm-path", (char *)path, NULL };
	char side[128];
	int status;

	waitpid(spawn("clean", argv, -1, -1), &status, 0);
	unlink(path);
	snprintf(side, sizeof(side), "%s.engine.0", path);
	unlink(side);
}

/* Wait until the log has an active reader of process pid. */
static bool registered(struct tk_segment *seg, pid_t pid, int64_t ns)
{
	int64_t deadline = tk_mono_ns() + ns;

	while (tk_mono_ns() < deadline) {
		struct tk_log_region *log = tk_log_find(seg, "ticks.0");

		for (uint32_t j = 0; log != NULL && j < log->nreaders; j++) {
			struct tk_reader_slot *rs = &tk_log_readers(log)[j];

			if (rs->pid == pid && tk_load_acquire_32(&rs->state) == TK_READER_ACTIVE)
				return true;
		}
		tk_sleep_ns(5000000);
	}
	return false;
}

/* The window's trades as CSV lines: rate, symbols, seq, then sent, feed
 * receive, seen in the log, in the bar, at the client (CLOCK_MONOTONIC ns,
 * 0: not seen), and CLOCK_REALTIME - CLOCK_MONOTONIC. */
static void dump_window(double rate, unsigned nsym, int64_t wall_minus_mono)
{
	for (uint32_t i = 0; i < TAB; i++) {
		const struct entry *e = &tab[i];

		if (e->tag != 0)
			fprintf(dump, "%.0f,%u,%llu,%lld,%lld,%lld,%lld,%lld,%lld\n", rate, nsym,
				(unsigned long long)(e->tag - 1), (long long)e->sent, (long long)e->frx,
				(long long)e->vis, (long long)e->bar, (long long)e->ws,
				(long long)wall_minus_mono);
	}
}

static int tickd_window_run(double rate, unsigned nsym, double seconds, int64_t bar_every_ns,
			struct window *w, uint64_t *bar_timeouts)
{
	static struct tickd_run t;
	char path[96], url[64], rate_s[32], nsym_s[16], listen_s[32], port_s[16] = "", line[256];
	struct tk_reader_opts o = { .name = "bench.e2e", .start = TK_START_END };
	pid_t engine, mock, feed, api;
	pthread_t lt, wt;
	int pipefd[2], status;
	int64_t t0, deadline;
	FILE *mo;

	memset(&t, 0, sizeof(t));
	memset(tab, 0, sizeof(struct entry) * TAB);
	t.bar_every_ns = bar_every_ns;
	snprintf(path, sizeof(path), "/dev/shm/tickd-e2e-%d", (int)getpid());
	{
		char *argv[] = { (char *)tickd, "init", "--shm-path", path, "--fresh", "--shards", "1",
				 "--logs", "ticks.0", NULL };
		pid_t init = spawn("init", argv, -1, -1);

		if (waitpid(init, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "e2e: tickd init failed (see %s/init.log)\n", workdir);
			return -1;
		}
	}
	if (tk_segment_attach(&t.seg, path, TK_ATTACH_READER) < 0) {
		fprintf(stderr, "e2e: %s\n", tk_err_msg());
		return -1;
	}
	{
		char cpu_s[8];
		char *argv[] = { (char *)tickd, "engine", "--shm-path", path, "--shard", "0", "--shards",
				 "1", pin_mode ? "--cpu" : NULL, cpu_s, NULL };

		snprintf(cpu_s, sizeof(cpu_s), "%d", cpu_of(true));
		engine = spawn("engine", argv, -1, -1);
	}
	if (!registered(&t.seg, engine, 10000000000LL)) {
		fprintf(stderr, "e2e: the engine did not register (see %s/engine.log)\n", workdir);
		stop(engine);
		return -1;
	}
	if (tk_log_reader_open(&t.r, &t.seg, "ticks.0", &o) < 0) {
		fprintf(stderr, "e2e: %s\n", tk_err_msg());
		return -1;
	}
	if (pipe(pipefd) != 0)
		die("pipe");
	snprintf(rate_s, sizeof(rate_s), "%g", rate);
	snprintf(nsym_s, sizeof(nsym_s), "%u", nsym);
	{
		char *argv[] = { (char *)tickd, "mock-finnhub", "--port", "0", "--probe", "--token",
				 "bench", "--symbols", nsym_s, "--rate", rate_s, "--batch-ms", "1", NULL };

		mock = spawn("mock", argv, cpu_of(false), pipefd[1]);
	}
	close(pipefd[1]);
	mo = fdopen(pipefd[0], "r");
	while (fgets(line, sizeof(line), mo) != NULL)
		if (sscanf(line, "mock-finnhub: listening on ws://127.0.0.1:%15[0-9]", port_s) == 1)
			break;
	fclose(mo);
	if (port_s[0] == '\0') {
		fprintf(stderr, "e2e: the mock did not start (see %s/mock.log)\n", workdir);
		stop(engine);
		stop(mock);
		return -1;
	}
	t.wall_minus_mono = wall_minus_mono();
	snprintf(url, sizeof(url), "ws://127.0.0.1:%s", port_s);
	{
		/* As tickd run starts its feed: --feed-id, --log, --speed 1. */
		char *argv[] = { (char *)tickd, "feed", "--source", "finnhub", "--shm-path", path,
				 "--feed-id", "0", "--log", "ticks.0", "--symbol-list", "AAPL", "--url",
				 url, "--speed", "1", NULL };

		feed = spawn("feed", argv, cpu_of(true), -1);
	}
	t.ws_port = free_port();
	snprintf(listen_s, sizeof(listen_s), "127.0.0.1:%d", t.ws_port);
	{
		char nice_s[8];
		char *argv[] = { (char *)tickd, "api", "--shm-path", path, "--listen", listen_s,
				 "--data-dir", "", api_nice != API_NICE ? "--nice" : NULL, nice_s, NULL };

		snprintf(nice_s, sizeof(nice_s), "%d", api_nice);

		api = spawn("api", argv, cpu_of(false), -1);
	}
	deadline = tk_mono_ns() + 10000000000LL;
	while (ws_open(&t.wsc, t.ws_port) < 0) {
		if (t.wsc.fd >= 0)
			close(t.wsc.fd);
		free(t.wsc.buf);
		if (tk_mono_ns() > deadline) {
			fprintf(stderr, "e2e: tickd api's /ws did not answer (see %s/api.log)\n", workdir);
			stop(feed);
			stop(mock);
			stop(api);
			stop(engine);
			return -1;
		}
		tk_sleep_ns(20000000);
	}
	pthread_create(&lt, NULL, log_thread, &t);
	pthread_create(&wt, NULL, ws_thread, &t);
	/* The first tick, then a second of warm-up (subscriptions, first frames). */
	deadline = tk_mono_ns() + 10000000000LL;
	while ((atomic_load(&t.first_tick) == 0 || !atomic_load(&t.ws_ready)) && tk_mono_ns() < deadline)
		tk_sleep_ns(10000000);
	t0 = tk_mono_ns() + warm_ns;
	tk_sleep_ns(warm_ns + (int64_t)(seconds * 1e9));
	stop(mock); /* nothing more is sent; what was sent drains */
	tk_sleep_ns(300000000);
	atomic_store(&t.stop, true);
	shutdown(t.wsc.fd, SHUT_RDWR);
	pthread_join(wt, NULL);
	pthread_join(lt, NULL);
	close(t.wsc.fd);
	free(t.wsc.buf);
	stop(feed);
	stop(api);
	stop(engine);
	tk_log_reader_close(&t.r);
	tk_segment_detach(&t.seg);
	remove_segment(path);
	window_collect(w, t0, t0 + (int64_t)(seconds * 1e9));
	if (dump != NULL)
		dump_window(rate, nsym, t.wall_minus_mono);
	*bar_timeouts += t.bar_timeouts;
	if (atomic_load(&t.first_tick) == 0) {
		fprintf(stderr, "e2e: no tick reached the log (see %s/feed.log)\n", workdir);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ the baseline */

/* Every message starts with this; the rest is padding to the hop's size. */
struct bmsg {
	uint64_t seq;
	int64_t sent;
	int64_t vis;
};

#define SZ_SRC 112 /* the mock's probe message, framed */
#define SZ_LOG 64  /* a log slot */
#define SZ_WS 152  /* the API's frame of one trade */

/* src: Poisson arrivals at rate, every one due sent at a 1 ms timer. */
static void b_src(const struct sockaddr_in *to, double rate, int64_t until)
{
	char m[SZ_SRC] = { 0 };
	struct bmsg *h = (struct bmsg *)m;
	uint64_t rng = 0x9E3779B97F4A7C15ull, seq = 0;
	int fd = tcp_connect(to);
	struct timespec tick;
	int64_t due;

	if (fd < 0)
		_exit(1);
	clock_gettime(CLOCK_MONOTONIC, &tick);
	due = tk_mono_ns();
	while (tk_mono_ns() < until) {
		int64_t now;

		tick.tv_nsec += 1000000;
		if (tick.tv_nsec >= 1000000000L) {
			tick.tv_nsec -= 1000000000L;
			tick.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
		while ((now = tk_mono_ns()) >= due) {
			double u;

			h->seq = seq++;
			h->sent = tk_mono_ns();
			if (!write_all(fd, m, sizeof(m)))
				_exit(1);
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			u = (double)(rng >> 11) / 9007199254740992.0;
			due += (int64_t)(-log(1 - u) / rate * 1e9);
		}
	}
	close(fd);
	_exit(0);
}

/* Fixed-size messages from a stream socket: the whole ones a read brought
 * first, a torn rest kept for the next read. */
struct mstream {
	char buf[1 << 16];
	size_t have, size;
};

/* One read: the whole messages now in buf (> 0), 0 when a non-blocking fd
 * has nothing, -1 at the end.  *at: when the read returned. */
static ssize_t ms_read(int fd, struct mstream *m, int64_t *at)
{
	for (;;) {
		ssize_t r = read(fd, m->buf + m->have, sizeof(m->buf) - m->have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0)
			return -1;
		*at = tk_mono_ns();
		m->have += (size_t)r;
		if (m->have >= m->size)
			return (ssize_t)(m->have / m->size);
	}
}

static const struct bmsg *ms_msg(const struct mstream *m, size_t i)
{
	return (const struct bmsg *)(m->buf + i * m->size);
}

/* Drop the first n messages. */
static void ms_drop(struct mstream *m, size_t n)
{
	memmove(m->buf, m->buf + n * m->size, m->have - n * m->size);
	m->have -= n * m->size;
}

/* A forwarder: blocking reads of in_sz messages, each written on as
 * out_sz to every output (the whole messages of one read in one write
 * each); stamp: put the read's time in vis. */
static void b_forward(int in, size_t in_sz, const int *outs, int nout, size_t out_sz, bool stamp)
{
	static struct mstream m;
	static char ob[1 << 17];
	int64_t now;
	ssize_t n;

	m.size = in_sz;
	while ((n = ms_read(in, &m, &now)) >= 0) {
		size_t k, on = 0;

		for (k = 0; k < (size_t)n && on + out_sz <= sizeof(ob); k++) {
			struct bmsg *o = (struct bmsg *)(ob + on);

			memset(ob + on, 'x', out_sz);
			*o = *ms_msg(&m, k);
			if (stamp)
				o->vis = now;
			on += out_sz;
		}
		for (int i = 0; i < nout; i++)
			if (!write_all(outs[i], ob, on))
				_exit(1);
		ms_drop(&m, k);
	}
	for (int i = 0; i < nout; i++)
		close(outs[i]);
	_exit(0);
}

/* sink-engine: a non-blocking read, and tickd engine's default idle
 * (shm/idle's backoff) while there is nothing. */
static void b_engine(int in)
{
	static struct mstream m = { .size = SZ_LOG };
	struct tk_idle idle;
	int64_t now;
	ssize_t n;

	tk_idle_init(&idle, TK_IDLE_BACKOFF);
	fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
	while ((n = ms_read(in, &m, &now)) >= 0) {
		if (n == 0) {
			tk_idle_wait(&idle, NULL, 0);
			continue;
		}
		tk_idle_reset(&idle);
		for (ssize_t k = 0; k < n; k++)
			entry_of(ms_msg(&m, (size_t)k)->seq)->bar = now;
		ms_drop(&m, (size_t)n);
	}
	_exit(0);
}

struct sink {
	int fd;
};

/* The client: blocking reads, each message's times into the table. */
static void *b_sink(void *arg)
{
	struct sink *s = arg;
	static struct mstream m = { .size = SZ_WS };
	int64_t now;
	ssize_t n;

	while ((n = ms_read(s->fd, &m, &now)) >= 0) {
		for (ssize_t k = 0; k < n; k++) {
			const struct bmsg *h = ms_msg(&m, (size_t)k);
			struct entry *e = entry_of(h->seq);

			e->sent = h->sent;
			e->vis = h->vis;
			e->ws = now;
			e->tag = h->seq + 1;
		}
		ms_drop(&m, (size_t)n);
	}
	return NULL;
}

static pid_t b_fork(int cpu, int nice_level)
{
	pid_t pid = fork();

	if (pid == 0) {
		set_cpu(cpu);
		if (nice_level != 0 && setpriority(PRIO_PROCESS, 0, nice_level) != 0)
			fprintf(stderr, "e2e: cannot renice: %s\n", strerror(errno));
	}
	if (pid < 0)
		die("fork");
	return pid;
}

static int baseline_window_run(double rate, double seconds, struct window *w)
{
	struct sockaddr_in a_feed, a_api, a_eng, a_sink;
	int l_feed = tcp_listen(&a_feed), l_api = tcp_listen(&a_api);
	int l_eng = tcp_listen(&a_eng), l_sink = tcp_listen(&a_sink);
	int64_t t0 = tk_mono_ns() + 300000000LL + warm_ns, until = t0 + (int64_t)(seconds * 1e9);
	pid_t src, feed, api, eng;
	struct sink s;
	pthread_t st;

	memset(tab, 0, sizeof(struct entry) * TAB);
	eng = b_fork(cpu_of(true), 0);
	if (eng == 0) {
		close(l_feed);
		close(l_api);
		close(l_sink);
		b_engine(tcp_accept(l_eng));
	}
	api = b_fork(cpu_of(false), api_nice);
	if (api == 0) {
		int out = tcp_connect(&a_sink);

		close(l_feed);
		close(l_eng);
		b_forward(tcp_accept(l_api), SZ_LOG, &out, 1, SZ_WS, false);
	}
	feed = b_fork(cpu_of(true), 0);
	if (feed == 0) {
		int outs[2] = { tcp_connect(&a_api), tcp_connect(&a_eng) };

		close(l_sink);
		b_forward(tcp_accept(l_feed), SZ_SRC, outs, 2, SZ_LOG, true);
	}
	s.fd = tcp_accept(l_sink);
	pthread_create(&st, NULL, b_sink, &s);
	src = b_fork(cpu_of(false), 0);
	if (src == 0)
		b_src(&a_feed, rate, until);
	close(l_feed);
	close(l_api);
	close(l_eng);
	close(l_sink);
	waitpid(src, NULL, 0); /* the chain closes behind it */
	waitpid(feed, NULL, 0);
	waitpid(api, NULL, 0);
	waitpid(eng, NULL, 0);
	pthread_join(st, NULL);
	close(s.fd);
	window_collect(w, t0, until);
	return w->n > 0 ? 0 : -1;
}

/* A window with the host's CPU over it: ours, the others' (another
 * benchmark, the hypervisor's steal) beside it. */
static void window_cpu(struct window *w, const struct cpu *a, int64_t t0)
{
	struct cpu b;
	double ns = (double)(tk_mono_ns() - t0);

	cpu_now(&b);
	w->cpu_mine = 100 * (b.mine - a->mine) / ns;
	w->cpu_others = 100 * ((b.busy - a->busy) - (b.mine - a->mine)) / ns;
	w->steal = 100 * (b.steal - a->steal) / ns;
	if (w->cpu_others < 0)
		w->cpu_others = 0;
}

static int tickd_window(double rate, unsigned nsym, double seconds, int64_t bar_every_ns,
			struct window *w, uint64_t *bar_timeouts)
{
	struct cpu a;
	int64_t t0 = tk_mono_ns();
	int rc;

	cpu_now(&a);
	rc = tickd_window_run(rate, nsym, seconds, bar_every_ns, w, bar_timeouts);
	window_cpu(w, &a, t0);
	return rc;
}

static int baseline_window(double rate, double seconds, struct window *w)
{
	struct cpu a;
	int64_t t0 = tk_mono_ns();
	int rc;

	cpu_now(&a);
	rc = baseline_window_run(rate, seconds, w);
	window_cpu(w, &a, t0);
	return rc;
}

/* ------------------------------------------------------------ report */

struct config {
	double rate;
	unsigned nsym;
	struct window tk, base; /* merged over the rounds */
	double r_e2e_p99[16], r_hop_p50[16], r_hop_p99[16];
	double r_feed_p50[16], r_feed_p99[16]; /* mock send -> the feed's receive / TCP hop */
	double c2c; /* ns, right before the configuration */
	double rate_tk, rate_base; /* lowest of the rounds */
	double others[16]; /* the others' CPU over each round (both windows), % of a core */
	uint64_t bar_timeouts;
	int rounds;
};

static void row(const char *name, const struct tk_hist *h)
{
	if (h->count == 0) {
		printf("    %-42s %9s %9s %9s %9s\n", name, "-", "-", "-", "-");
		return;
	}
	printf("    %-42s %9.1f %9.1f %9.1f %9.1f  (%llu)\n", name, us(h, 50), us(h, 99), us(h, 99.9),
	       us(h, 100), (unsigned long long)h->count);
}

/* One ratio per round, then their median. */
static void ratios(const char *name, const double *v, int n)
{
	printf("      %-26s", name);
	for (int i = 0; i < n; i++)
		printf(" %5.2f", v[i]);
	printf("   median %.2f\n", tk_bench_median(v, n));
}

static void print_config(const struct config *c)
{
	int i;

	printf("\n%u symbols, %.0f trades/s asked: sent %.0f/s (tickd, lowest round), %.0f/s "
	       "(baseline); %llu and %llu trades in %d round(s); c2c %.0f ns before\n", c->nsym,
	       c->rate, c->rate_tk, c->rate_base, (unsigned long long)c->tk.n,
	       (unsigned long long)c->base.n, c->rounds, c->c2c);
	printf("    %-42s %9s %9s %9s %9s\n", "us", "p50", "p99", "p99.9", "max");
	row("tickd: mock send -> tick in log", &c->tk.hop1);
	row("  mock send -> feed receive", &c->tk.rx);
	row("  feed receive -> seen by a blocked reader", &c->tk.pub);
	row("tickd: tick in log -> 1s bar (sampled)", &c->tk.bar);
	row("tickd: tick in log -> WS client", &c->tk.ws);
	row("tickd: end to end (send -> WS client)", &c->tk.e2e);
	row("base: src -> fwd-feed (TCP hop)", &c->base.hop1);
	row("base: fwd-feed -> sink-engine", &c->base.bar);
	row("base: fwd-feed -> fwd-api -> client", &c->base.ws);
	row("base: end to end", &c->base.e2e);
	if (c->tk.lost > 0 || c->base.lost > 0 || c->bar_timeouts > 0)
		printf("    not received by the client: tickd %llu, baseline %llu; bar not seen in 50 ms: %llu\n",
		       (unsigned long long)c->tk.lost, (unsigned long long)c->base.lost,
		       (unsigned long long)c->bar_timeouts);
	printf("    ratios per round, tickd / baseline:\n");
	ratios("e2e p99", c->r_e2e_p99, c->rounds);
	ratios("ws_to_shm / tcp_hop p50", c->r_hop_p50, c->rounds);
	ratios("ws_to_shm / tcp_hop p99", c->r_hop_p99, c->rounds);
	ratios("ws_to_feed / tcp_hop p50", c->r_feed_p50, c->rounds);
	ratios("ws_to_feed / tcp_hop p99", c->r_feed_p99, c->rounds);
	printf("    other load on the host per round, %% of a core:");
	for (i = 0; i < c->rounds; i++)
		printf(" %.0f", c->others[i]);
	printf("\n");
}

static double others_max(const struct config *c)
{
	double m = 0;

	for (int i = 0; i < c->rounds; i++)
		m = fmax(m, c->others[i]);
	return m;
}

static void json_config(const struct config *c, bool top)
{
	const struct window *t = &c->tk, *b = &c->base;

	printf("%s\"rate\":%.0f,\"symbols\":%u,\"rate_reached\":%.0f,\"baseline_rate_reached\":%.0f,"
	       "\"e2e_us_p50\":%.1f,\"e2e_us_p99\":%.1f,\"e2e_us_p999\":%.1f,\"e2e_us_max\":%.1f,"
	       "\"baseline_us_p50\":%.1f,\"baseline_us_p99\":%.1f,\"baseline_us_p999\":%.1f,"
	       "\"baseline_us_max\":%.1f,\"ws_to_shm_us_p50\":%.1f,\"ws_to_shm_us_p99\":%.1f,"
	       "\"ws_to_shm_us_p999\":%.1f,\"ws_to_shm_us_max\":%.1f,\"tcp_hop_us_p50\":%.1f,"
	       "\"tcp_hop_us_p99\":%.1f,\"tcp_hop_us_p999\":%.1f,\"tcp_hop_us_max\":%.1f,"
	       "\"tick_to_bar_us_p50\":%.1f,\"tick_to_bar_us_p99\":%.1f,\"tick_to_bar_us_p999\":%.1f,"
	       "\"tick_to_bar_us_max\":%.1f,\"baseline_engine_hop_us_p50\":%.1f,"
	       "\"baseline_engine_hop_us_p99\":%.1f,\"tick_to_ws_us_p50\":%.1f,\"tick_to_ws_us_p99\":%.1f,"
	       "\"tick_to_ws_us_p999\":%.1f,\"tick_to_ws_us_max\":%.1f,\"baseline_api_hops_us_p50\":%.1f,"
	       "\"baseline_api_hops_us_p99\":%.1f,\"ws_to_feed_us_p50\":%.1f,\"ws_to_feed_us_p99\":%.1f,"
	       "\"ws_to_feed_us_p999\":%.1f,\"ws_to_feed_us_max\":%.1f,"
	       "\"feed_to_reader_us_p50\":%.1f,\"feed_to_reader_us_p99\":%.1f,\"ratio_e2e_p99_median\":%.3f,"
	       "\"ratio_hop_p50_median\":%.3f,\"ratio_hop_p99_median\":%.3f,"
	       "\"ratio_feed_hop_p50_median\":%.3f,\"ratio_feed_hop_p99_median\":%.3f,"
	       "\"c2c_ns\":%.0f,\"rounds\":%d,"
	       "\"trades\":%llu,\"lost\":%llu,\"others_cpu_pct_max\":%.0f%s",
	       top ? "" : "{", c->rate, c->nsym, c->rate_tk, c->rate_base, us(&t->e2e, 50),
	       us(&t->e2e, 99), us(&t->e2e, 99.9), us(&t->e2e, 100), us(&b->e2e, 50), us(&b->e2e, 99),
	       us(&b->e2e, 99.9), us(&b->e2e, 100), us(&t->hop1, 50), us(&t->hop1, 99),
	       us(&t->hop1, 99.9), us(&t->hop1, 100), us(&b->hop1, 50), us(&b->hop1, 99),
	       us(&b->hop1, 99.9), us(&b->hop1, 100), us(&t->bar, 50), us(&t->bar, 99),
	       us(&t->bar, 99.9), us(&t->bar, 100), us(&b->bar, 50), us(&b->bar, 99), us(&t->ws, 50),
	       us(&t->ws, 99), us(&t->ws, 99.9), us(&t->ws, 100), us(&b->ws, 50), us(&b->ws, 99),
	       us(&t->rx, 50), us(&t->rx, 99), us(&t->rx, 99.9), us(&t->rx, 100), us(&t->pub, 50),
	       us(&t->pub, 99), tk_bench_median(c->r_e2e_p99, c->rounds), tk_bench_median(c->r_hop_p50, c->rounds),
	       tk_bench_median(c->r_hop_p99, c->rounds), tk_bench_median(c->r_feed_p50, c->rounds),
	       tk_bench_median(c->r_feed_p99, c->rounds), c->c2c, c->rounds, (unsigned long long)t->n,
	       (unsigned long long)t->lost, others_max(c), top ? "" : "}");
}

static int parse_list(const char *s, double *out)
{
	int n = 0;
	char *end;

	while (*s != '\0' && n < MAX_LIST) {
		out[n++] = strtod(s, &end);
		if (end == s)
			return -1;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: e2e [--quick] [--pin] [--tickd PATH] [--rates LIST] [--symbols LIST]\n"
			"           [--seconds S] [--rounds N] [--bar-every MS] [--api-nice N]\n"
			"           [--reader-idle block|backoff|spin] [--dump CSV] [--keep-logs]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double rates[MAX_LIST] = { 1000, 10000, 100000 }, syms[MAX_LIST] = { 8, 10000 };
	int nrates = 3, nsyms = 2, rounds = 3, i, j, k;
	double seconds = 3, bar_every_ms = 10, c2c0, c2c1;
	bool keep_logs = false, quick = false;
	static struct config cfgs[MAX_LIST * MAX_LIST];
	static struct window wt, wb;
	int ncfg = 0, failed = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = true;
		} else if (strcmp(argv[i], "--pin") == 0) {
			pin_mode = true;
		} else if (strcmp(argv[i], "--keep-logs") == 0) {
			keep_logs = true;
		} else if (i + 1 < argc && strcmp(argv[i], "--tickd") == 0) {
			tickd = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--rates") == 0) {
			if ((nrates = parse_list(argv[++i], rates)) <= 0)
				usage();
		} else if (i + 1 < argc && strcmp(argv[i], "--symbols") == 0) {
			if ((nsyms = parse_list(argv[++i], syms)) <= 0)
				usage();
		} else if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0) {
			seconds = atof(argv[++i]);
		} else if (i + 1 < argc && strcmp(argv[i], "--rounds") == 0) {
			rounds = atoi(argv[++i]);
		} else if (i + 1 < argc && strcmp(argv[i], "--dump") == 0) {
			if ((dump = fopen(argv[++i], "w")) == NULL)
				die(argv[i]);
		} else if (i + 1 < argc && strcmp(argv[i], "--reader-idle") == 0) {
			if (tk_idle_parse(argv[++i], &reader_idle) < 0)
				usage();
		} else if (i + 1 < argc && strcmp(argv[i], "--api-nice") == 0) {
			api_nice = atoi(argv[++i]); /* tickd api's --nice, and fwd-api's */
		} else if (i + 1 < argc && strcmp(argv[i], "--bar-every") == 0) {
			bar_every_ms = atof(argv[++i]);
		} else {
			usage();
		}
	}
	if (quick) {
		/* A few seconds: 8 symbols at 1 k and 10 k/s, one round of 1 s. */
		nrates = 2;
		nsyms = 1;
		rounds = 1;
		seconds = 1;
		warm_ns = 500000000LL;
	}
	if (rounds < 1 || rounds > 16 || seconds <= 0 || seconds > 9)
		usage();
	tab = mmap(NULL, sizeof(struct entry) * TAB, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (tab == MAP_FAILED)
		die("mmap");
	snprintf(workdir, sizeof(workdir), "/tmp/tickd-e2e-%d", (int)getpid());
	if (mkdir(workdir, 0755) != 0)
		die(workdir);
	signal(SIGPIPE, SIG_IGN);

	c2c0 = c2c_ns();
	printf("bench/e2e: core-to-core one-way latency at the start: %.0f ns (cpu 0 <-> 1)\n", c2c0);
	printf("layout: %s; %d round(s) of %.0f s a window after %.1f s of warm-up, tickd and the "
	       "baseline alternating (ABBA)\n", pin_mode ?
	       "--pin: feed and engine (and their forwarders) on cpu 1, the rest on cpu 0" :
	       "nothing pinned (tickd run's default)", rounds, seconds, (double)warm_ns / 1e9);
	fflush(stdout);
	set_cpu(cpu_of(false));
	for (i = 0; i < nsyms; i++)
		for (j = 0; j < nrates; j++) {
			struct config *c = &cfgs[ncfg++];

			c->rate = rates[j];
			c->nsym = (unsigned)syms[i];
			c->rounds = rounds;
			c->rate_tk = c->rate_base = INFINITY;
			c->c2c = c2c_ns();
			set_cpu(cpu_of(false));
			window_init(&c->tk);
			window_init(&c->base);
			for (k = 0; k < rounds; k++) {
				int rt, rb;

				if (k % 2 == 0) {
					rt = tickd_window(c->rate, c->nsym, seconds, (int64_t)(bar_every_ms * 1e6),
							  &wt, &c->bar_timeouts);
					rb = baseline_window(c->rate, seconds, &wb);
				} else {
					rb = baseline_window(c->rate, seconds, &wb);
					rt = tickd_window(c->rate, c->nsym, seconds, (int64_t)(bar_every_ms * 1e6),
							  &wt, &c->bar_timeouts);
				}
				if (rt < 0 || rb < 0 || wt.e2e.count == 0 || wb.e2e.count == 0) {
					failed++;
					k--;
					if (failed > 3) {
						fprintf(stderr, "e2e: too many failed windows (logs in %s)\n", workdir);
						return 1;
					}
					continue;
				}
				window_merge(&c->tk, &wt);
				window_merge(&c->base, &wb);
				c->rate_tk = fmin(c->rate_tk, wt.rate);
				c->rate_base = fmin(c->rate_base, wb.rate);
				c->r_e2e_p99[k] = us(&wt.e2e, 99) / us(&wb.e2e, 99);
				c->r_hop_p50[k] = us(&wt.hop1, 50) / us(&wb.hop1, 50);
				c->r_hop_p99[k] = us(&wt.hop1, 99) / us(&wb.hop1, 99);
				c->r_feed_p50[k] = us(&wt.rx, 50) / us(&wb.hop1, 50);
				c->r_feed_p99[k] = us(&wt.rx, 99) / us(&wb.hop1, 99);
				c->others[k] = (wt.cpu_others + wb.cpu_others) / 2;
				printf("  round %d: tickd e2e p50/p99 %.0f/%.0f us, baseline %.0f/%.0f; "
				       "hop1 p50/p99 %.0f/%.0f vs %.0f/%.0f; cpu %% of a core: tickd's "
				       "processes %.0f, the baseline's %.0f, others %.0f/%.0f (steal %.0f)\n",
				       k, us(&wt.e2e, 50), us(&wt.e2e, 99), us(&wb.e2e, 50), us(&wb.e2e, 99),
				       us(&wt.hop1, 50), us(&wt.hop1, 99), us(&wb.hop1, 50), us(&wb.hop1, 99),
				       wt.cpu_mine, wb.cpu_mine, wt.cpu_others, wb.cpu_others,
				       (wt.steal + wb.steal) / 2);
				fflush(stdout);
			}
			print_config(c);
			fflush(stdout);
		}
	c2c1 = c2c_ns();
	printf("\ncore-to-core one-way latency at the end: %.0f ns\n", c2c1);
	/* The headline: the first configuration (8 symbols, 1,000 trades/s by default). */
	printf("{");
	json_config(&cfgs[0], true);
	printf(",\"c2c_ns_start\":%.0f,\"c2c_ns_end\":%.0f,\"pinned\":%s,\"configs\":[", c2c0, c2c1,
	       pin_mode ? "true" : "false");
	for (i = 0; i < ncfg; i++) {
		printf("%s", i ? "," : "");
		json_config(&cfgs[i], false);
	}
	printf("]}\n");
	if (dump != NULL)
		fclose(dump);
	if (!keep_logs) {
		const char *names[] = { "init", "engine", "mock", "feed", "api", "clean" };
		char p[128];

		for (i = 0; i < 6; i++) {
			snprintf(p, sizeof(p), "%s/%s.log", workdir, names[i]);
			unlink(p);
		}
		rmdir(workdir);
	}
	return 0;
}

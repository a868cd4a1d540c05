/*
 * bench/ring: how fast a 64-byte message crosses from one core to the other,
 * between two processes pinned to different cores, all in one run:
 *
 *   c2c      one cache line bounced between the cores: the physical limit
 *   ck_ring  Concurrency Kit's SPSC ring (ck_ring_enqueue_spsc_size), 64-byte entries
 *   pipe     a pipe, one write(2)/read(2) per 64-byte message: the everyday baseline
 *   log      the tickd log, one slot per write/read
 *   log x64  the tickd log, claimed/published and read in batches of 64
 *
 * Latency is one-way, measured as half a round trip (ping-pong over a pair
 * of channels, timed with the TSC on one core only, so no cross-core clock
 * skew).  Throughput streams N messages one way, the consumer checking each
 * sequence.  The host moves the two vCPUs between near and far placements:
 * the c2c latency is measured right before and after every other figure and
 * printed beside it.  The last line is one JSON object.
 *
 * usage: ring [--quick] [--cpus A,B]
 */
#include <ck_ring.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/hist.h"
#include "shm/log.h"
#include "shm/segment.h"

struct msg64 {
	uint64_t seq;
	uint64_t pad[7];
};
_Static_assert(sizeof(struct msg64) == 64, "64-byte payloads");
CK_RING_PROTOTYPE(msg64, msg64)

#define RING_SLOTS 16384u

/* Everything the two processes share, set up before the fork. */
struct shared {
	/* c2c: the bounced line. */
	uint64_t line __attribute__((aligned(64)));
	uint8_t pad0[56];
	uint64_t go __attribute__((aligned(64)));
	uint64_t start_ns;
	uint64_t done_ns;
	uint64_t errors;
	uint64_t clock_anomalies;
	uint8_t pad1[24];
	uint64_t ack __attribute__((aligned(64)));
	uint8_t pad2[56];
	struct tk_hist hist; /* the receiver's one-way latencies, ns */
	struct ck_ring ring_ab __attribute__((aligned(64)));
	struct msg64 buf_ab[RING_SLOTS] __attribute__((aligned(64)));
};

static struct shared *sh;
static int cpu_a = 0, cpu_b = 1;
static double tsc_per_ns;
static const char *seg_path;
static struct tk_segment seg;
static int pipe_ab[2], pipe_ba[2];

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0) {
		fprintf(stderr, "ring: cannot pin to cpu %d: %s\n", cpu, strerror(errno));
		exit(1);
	}
}

struct pp {
	uint64_t iters;
	uint64_t warmup;
	uint32_t batch;
};

/*
 * Latency: paced one-way hops.  The sender waits for the receiver's
 * acknowledgement, lets it settle back into polling, stamps the TSC into the
 * message and sends; the receiver takes the TSC when the message is in its
 * hands.  Both cores read one invariant TSC (the kernel's clocksource here),
 * and the c2c figure is measured in both directions so any skew shows.
 * The acknowledgement travels on its own line, outside the measured path.
 */
static void wait_ack(uint64_t i)
{
	while (ck_pr_load_64(&sh->ack) != i)
		ck_pr_stall();
	for (int k = 0; k < 64; k++)
		ck_pr_stall();
}

static void got(struct pp *p, uint64_t i, uint64_t stamp)
{
	uint64_t now = tk_tsc();

	/* A stamp from the future: the host moved a vCPU between TSCs that
	 * disagree.  Counted and left out, never folded into a percentile. */
	if (i >= p->warmup && (int64_t)(now - stamp) < 0)
		sh->clock_anomalies++;
	else if (i >= p->warmup)
		tk_hist_record(&sh->hist, (uint64_t)((double)(now - stamp) / tsc_per_ns + 0.5));
	ck_pr_store_64(&sh->ack, i + 1);
}

/* ---------------------------------------------------------------- c2c */

/* One line, written by the sender (stamp | 1), cleared by the receiver. */
static void c2c_send(void *arg)
{
	struct pp *p = arg;
	uint64_t i;

	for (i = 0; i < p->iters + p->warmup; i++) {
		wait_ack(i);
		ck_pr_store_64(&sh->line, (tk_tsc() << 1) | 1);
	}
}

static void c2c_recv(void *arg)
{
	struct pp *p = arg;
	uint64_t i, v;

	for (i = 0; i < p->iters + p->warmup; i++) {
		while (((v = ck_pr_load_64(&sh->line)) & 1) == 0)
			ck_pr_stall();
		ck_pr_store_64(&sh->line, 0);
		got(p, i, v >> 1);
	}
}

/* ---------------------------------------------------------------- ck_ring */

static void ck_send(void *arg)
{
	struct pp *p = arg;
	struct msg64 m = { 0 };
	unsigned int size;
	uint64_t i;

	for (i = 0; i < p->iters + p->warmup; i++) {
		wait_ack(i);
		m.seq = tk_tsc();
		while (!ck_ring_enqueue_spsc_size_msg64(&sh->ring_ab, sh->buf_ab, &m, &size))
			ck_pr_stall();
	}
}

static void ck_recv(void *arg)
{
	struct pp *p = arg;
	struct msg64 m;
	uint64_t i;

	for (i = 0; i < p->iters + p->warmup; i++) {
		while (!ck_ring_dequeue_spsc_msg64(&sh->ring_ab, sh->buf_ab, &m))
			ck_pr_stall();
		got(p, i, m.seq);
	}
}

static void ck_produce(void *arg)
{
	struct pp *p = arg;
	struct msg64 m = { 0 };
	unsigned int size;
	uint64_t i;

	sh->start_ns = (uint64_t)tk_mono_ns();
	for (i = 1; i <= p->iters; i++) {
		m.seq = i;
		while (!ck_ring_enqueue_spsc_size_msg64(&sh->ring_ab, sh->buf_ab, &m, &size))
			ck_pr_stall();
	}
}

static void ck_consume(void *arg)
{
	struct pp *p = arg;
	struct msg64 m;
	uint64_t i;

	for (i = 1; i <= p->iters; i++) {
		while (!ck_ring_dequeue_spsc_msg64(&sh->ring_ab, sh->buf_ab, &m))
			ck_pr_stall();
		sh->errors += m.seq != i;
	}
	sh->done_ns = (uint64_t)tk_mono_ns();
}

/* ---------------------------------------------------------------- pipe */

static void pipe_io(int fd, void *buf, bool out)
{
	size_t done = 0;

	while (done < 64) {
		ssize_t n = out ? write(fd, (char *)buf + done, 64 - done)
				: read(fd, (char *)buf + done, 64 - done);

		if (n <= 0) {
			perror("pipe");
			exit(1);
		}
		done += (size_t)n;
	}
}

static void pipe_send(void *arg)
{
	struct pp *p = arg;
	struct msg64 m = { 0 };
	uint64_t i;

	for (i = 0; i < p->iters + p->warmup; i++) {
		wait_ack(i);
		m.seq = tk_tsc();
		pipe_io(pipe_ab[1], &m, true);
	}
}

static void pipe_recv(void *arg)
{
	struct pp *p = arg;
	struct msg64 m;
	uint64_t i;

	for (i = 0; i < p->iters + p->warmup; i++) {
		pipe_io(pipe_ab[0], &m, false);
		got(p, i, m.seq);
	}
}

static void pipe_produce(void *arg)
{
	struct pp *p = arg;
	struct msg64 m = { 0 };
	uint64_t i;

	sh->start_ns = (uint64_t)tk_mono_ns();
	for (i = 1; i <= p->iters; i++) {
		m.seq = i;
		pipe_io(pipe_ab[1], &m, true);
	}
}

static void pipe_consume(void *arg)
{
	struct pp *p = arg;
	struct msg64 m;
	uint64_t i;

	for (i = 1; i <= p->iters; i++) {
		pipe_io(pipe_ab[0], &m, false);
		sh->errors += m.seq != i;
	}
	sh->done_ns = (uint64_t)tk_mono_ns();
}

/* ---------------------------------------------------------------- tickd log */

static void log_attach(struct tk_segment *s)
{
	if (tk_segment_attach(s, seg_path, TK_ATTACH_READER) < 0) {
		fprintf(stderr, "ring: %s\n", tk_err_msg());
		exit(1);
	}
}

static void log_open_reader(struct tk_log_reader *r, const struct tk_segment *s, const char *log,
			    const char *name)
{
	struct tk_reader_opts o = { .name = name, .gating = true, .start = TK_START_END };

	if (tk_log_reader_open(r, s, log, &o) < 0) {
		fprintf(stderr, "ring: %s\n", tk_err_msg());
		exit(1);
	}
}

static void log_open_writer(struct tk_log_writer *w, const struct tk_segment *s, const char *log)
{
	if (tk_log_writer_open(w, tk_log_find(s, log)) < 0) {
		fprintf(stderr, "ring: %s\n", tk_err_msg());
		exit(1);
	}
}

/* Both sides open their end before either writes: a rendezvous on `go`. */
static void rendezvous(uint64_t me)
{
	ck_pr_faa_64(&sh->go, 1);
	while (ck_pr_load_64(&sh->go) < me)
		ck_pr_stall();
}

static void log_send(void *arg)
{
	struct pp *p = arg;
	struct tk_log_writer w;
	uint64_t i, stamp;

	log_open_writer(&w, &seg, "ab");
	rendezvous(3);
	for (i = 0; i < p->iters + p->warmup; i++) {
		wait_ack(i);
		stamp = tk_tsc();
		while (tk_log_write(&w, 100, 0, &stamp, sizeof(stamp)) != TK_LOG_OK)
			ck_pr_stall();
	}
	tk_log_writer_close(&w);
}

static void log_recv(void *arg)
{
	struct pp *p = arg;
	struct tk_segment s;
	struct tk_log_reader r;
	struct tk_slot in;
	uint64_t i, stamp;

	log_attach(&s);
	log_open_reader(&r, &s, "ab", "bench-b");
	rendezvous(3);
	for (i = 0; i < p->iters + p->warmup; i++) {
		while (tk_log_read(&r, &in) != TK_LOG_OK)
			ck_pr_stall();
		memcpy(&stamp, in.data, sizeof(stamp));
		got(p, i, stamp);
		tk_log_reader_commit(&r);
	}
	tk_log_reader_close(&r);
}

static void log_produce(void *arg)
{
	struct pp *p = arg;
	struct tk_log_writer w;
	uint64_t seq = 1;

	log_open_writer(&w, &seg, "ab");
	rendezvous(3);
	sh->start_ns = (uint64_t)tk_mono_ns();
	if (p->batch <= 1) {
		for (; seq <= p->iters; seq++)
			while (tk_log_write(&w, 100, 0, &seq, sizeof(seq)) != TK_LOG_OK)
				ck_pr_stall();
	} else {
		while (seq <= p->iters) {
			uint64_t left = p->iters - seq + 1;
			uint32_t want = left < p->batch ? (uint32_t)left : p->batch, got_n, i;
			struct tk_slot *s = tk_log_claim(&w, want, &got_n);

			if (s == NULL) {
				ck_pr_stall();
				continue;
			}
			for (i = 0; i < got_n; i++) {
				s[i].type = 100;
				memcpy(s[i].data, &seq, sizeof(seq));
				seq++;
			}
			tk_log_publish(&w, got_n);
		}
	}
	tk_log_writer_close(&w);
}

static void log_consume(void *arg)
{
	struct pp *p = arg;
	struct tk_segment s;
	struct tk_log_reader r;
	static struct tk_slot buf[64];
	uint64_t expect = 1, v;

	log_attach(&s);
	log_open_reader(&r, &s, "ab", "bench-b");
	rendezvous(3);
	while (expect <= p->iters) {
		if (p->batch <= 1) {
			if (tk_log_read(&r, &buf[0]) != TK_LOG_OK) {
				ck_pr_stall();
				continue;
			}
			tk_log_reader_commit(&r);
			memcpy(&v, buf[0].data, sizeof(v));
			sh->errors += v != expect;
			expect++;
		} else {
			int st;
			uint32_t n = tk_log_read_batch(&r, buf, p->batch, &st), i;

			if (n == 0) {
				ck_pr_stall();
				continue;
			}
			tk_log_reader_commit(&r);
			for (i = 0; i < n; i++) {
				memcpy(&v, buf[i].data, sizeof(v));
				sh->errors += v != expect;
				expect++;
			}
		}
	}
	sh->done_ns = (uint64_t)tk_mono_ns();
	tk_log_reader_close(&r);
}

/* ---------------------------------------------------------------- harness */

static uint64_t c2c_p50(uint64_t iters, bool swap, struct tk_hist *out);

static void fresh_state(void)
{
	struct tk_seg_config cfg;

	ck_ring_init(&sh->ring_ab, RING_SLOTS);
	sh->errors = 0;
	sh->ack = 0;
	sh->line = 0;
	tk_hist_init(&sh->hist);
	if (seg.base != NULL)
		tk_segment_detach(&seg);
	tk_seg_config_default(&cfg);
	cfg.symbol_capacity = 16;
	tk_seg_config_add_log(&cfg, "ab", RING_SLOTS, 64, 4);
	if (tk_segment_create(&seg, seg_path, &cfg, true) < 0) {
		fprintf(stderr, "ring: %s\n", tk_err_msg());
		exit(1);
	}
}

struct row {
	const char *name;
	struct tk_hist hist;
	bool has_lat;
	double mps;
	uint64_t c2c_before, c2c_after; /* p50 right before and right after */
	struct tk_hist around;          /* both c2c measurements merged */
	int attempts;
};

/* The host moves the vCPUs between placements within minutes; a figure is
 * kept only if the c2c latency right before and right after it agree
 * within 25 %, else it is measured again (three attempts at most). */
static bool placement_stable(const struct row *r)
{
	uint64_t lo = r->c2c_before < r->c2c_after ? r->c2c_before : r->c2c_after;
	uint64_t hi = r->c2c_before < r->c2c_after ? r->c2c_after : r->c2c_before;

	return (double)hi <= 1.25 * (double)lo;
}

static void around(struct row *row, bool before)
{
	struct tk_hist h;
	uint64_t p50 = c2c_p50(50000, false, &h);

	if (before) {
		row->c2c_before = p50;
		row->around = h;
	} else {
		row->c2c_after = p50;
		tk_hist_merge(&row->around, &h);
	}
}

/* The sender on cpu_a, the receiver in a child on cpu_b (or swapped), meeting on
 * `go` after both opened their ends (3 arrivals: the parent twice, the child once). */
static void run_pair(void (*sender)(void *), void (*receiver)(void *), struct pp *p, bool swap,
		     bool log)
{
	pid_t pid;
	int status;

	ck_pr_store_64(&sh->go, 0);
	pid = fork();
	if (pid == 0) {
		pin(swap ? cpu_a : cpu_b);
		if (!log)
			rendezvous(3);
		receiver(p);
		_exit(0);
	}
	pin(swap ? cpu_b : cpu_a);
	ck_pr_faa_64(&sh->go, 1);
	if (!log)
		rendezvous(3);
	sender(p);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "ring: child failed (status %d)\n", status);
		exit(1);
	}
}

static uint64_t c2c_p50(uint64_t iters, bool swap, struct tk_hist *out)
{
	struct pp p = { .iters = iters, .warmup = iters / 20 };

	sh->ack = 0;
	sh->line = 0;
	tk_hist_init(&sh->hist);
	run_pair(c2c_send, c2c_recv, &p, swap, false);
	if (out != NULL)
		*out = sh->hist;
	return tk_hist_percentile(&sh->hist, 50);
}

static void latency(struct row *row, void (*send)(void *), void (*recv)(void *), uint64_t iters,
		    bool log)
{
	struct pp p = { .iters = iters, .warmup = iters / 20 };

	for (row->attempts = 1; row->attempts <= 3; row->attempts++) {
		fresh_state();
		around(row, true);
		tk_hist_init(&sh->hist);
		sh->ack = 0;
		run_pair(send, recv, &p, false, log);
		row->hist = sh->hist;
		row->has_lat = true;
		around(row, false);
		if (placement_stable(row))
			break;
	}
}

static void throughput(struct row *row, void (*produce)(void *), void (*consume)(void *),
		       uint64_t n, uint32_t batch, bool log)
{
	struct pp p = { .iters = n, .batch = batch };

	for (row->attempts = 1; row->attempts <= 3; row->attempts++) {
		fresh_state();
		around(row, true);
		sh->done_ns = 0;
		run_pair(produce, consume, &p, false, log);
		row->mps = (double)n / ((double)(sh->done_ns - sh->start_ns) / 1e9);
		around(row, false);
		if (placement_stable(row))
			break;
	}
	if (sh->errors != 0) {
		fprintf(stderr, "ring: %s: %llu messages out of order\n", row->name,
			(unsigned long long)sh->errors);
		exit(1);
	}
}

static void print_row(const struct row *r)
{
	const char *mark = placement_stable(r) ? "" : "  (placement moved: unreliable)";

	if (r->has_lat)
		printf("%-22s %8llu %8llu %8llu %10llu %14s   c2c %llu/%llu ns%s\n", r->name,
		       (unsigned long long)tk_hist_percentile(&r->hist, 50),
		       (unsigned long long)tk_hist_percentile(&r->hist, 99),
		       (unsigned long long)tk_hist_percentile(&r->hist, 99.9),
		       (unsigned long long)r->hist.max, "",
		       (unsigned long long)r->c2c_before, (unsigned long long)r->c2c_after, mark);
	else
		printf("%-22s %8s %8s %8s %10s %14.1f   c2c %llu/%llu ns%s\n", r->name, "", "", "", "",
		       r->mps / 1e6, (unsigned long long)r->c2c_before,
		       (unsigned long long)r->c2c_after, mark);
}

int main(int argc, char **argv)
{
	uint64_t lat_iters = 1000000, n_fast = 100000000, n_pipe = 2000000;
	struct row c2c = { "c2c one-way" }, c2c_back = { "c2c one-way, B to A" }, ckl = { "ck_ring SPSC hop" }, pl = { "pipe hop" },
		   ll = { "tickd log hop" }, ckt = { "ck_ring SPSC stream" },
		   pt = { "pipe stream" }, lt = { "tickd log stream" },
		   lbt = { "tickd log x64 stream" };
	char path[64];
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			lat_iters = 100000;
			n_fast = 10000000;
			n_pipe = 200000;
		} else if (strcmp(argv[i], "--cpus") == 0 && i + 1 < argc &&
			   sscanf(argv[i + 1], "%d,%d", &cpu_a, &cpu_b) == 2) {
			i++;
		} else {
			fprintf(stderr, "usage: ring [--quick] [--cpus A,B]\n");
			return 2;
		}
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || pipe(pipe_ab) != 0 || pipe(pipe_ba) != 0) {
		perror("ring");
		return 1;
	}
	snprintf(path, sizeof(path), "/dev/shm/tickd-bench-ring-%d", (int)getpid());
	seg_path = path;
	tsc_per_ns = tk_tsc_per_ns();

	/* c2c is the baseline: both directions, so a TSC skew between the
	 * cores would show as a difference between them. */
	fresh_state();
	for (c2c.attempts = 1; c2c.attempts <= 3; c2c.attempts++) {
		around(&c2c, true);
		c2c_p50(lat_iters, false, &c2c.hist);
		c2c.has_lat = true;
		around(&c2c, false);
		if (placement_stable(&c2c))
			break;
	}
	for (c2c_back.attempts = 1; c2c_back.attempts <= 3; c2c_back.attempts++) {
		around(&c2c_back, true);
		c2c_p50(lat_iters, true, &c2c_back.hist);
		c2c_back.has_lat = true;
		around(&c2c_back, false);
		if (placement_stable(&c2c_back))
			break;
	}
	latency(&ckl, ck_send, ck_recv, lat_iters, false);
	latency(&pl, pipe_send, pipe_recv, lat_iters / 5, false);
	latency(&ll, log_send, log_recv, lat_iters, true);
	throughput(&ckt, ck_produce, ck_consume, n_fast, 1, false);
	throughput(&pt, pipe_produce, pipe_consume, n_pipe, 1, false);
	throughput(&lt, log_produce, log_consume, n_fast, 1, true);
	throughput(&lbt, log_produce, log_consume, n_fast, 64, true);
	tk_segment_detach(&seg);
	unlink(path);

	printf("bench/ring: 64-byte messages between two processes pinned to cpus %d and %d\n"
	       "latency: paced one-way hops, TSC-stamped, ns; c2c = core-to-core p50 right "
	       "before/after\n\n",
	       cpu_a, cpu_b);
	printf("%-22s %8s %8s %8s %10s %14s\n", "", "p50", "p99", "p99.9", "max", "M msgs/s");
	print_row(&c2c);
	print_row(&c2c_back);
	print_row(&ckl);
	print_row(&pl);
	print_row(&ll);
	print_row(&ckt);
	print_row(&pt);
	print_row(&lt);
	print_row(&lbt);
	printf("\nsamples left out for a TSC stamp from the future (vCPU moved): %llu\n",
	       (unsigned long long)sh->clock_anomalies);
	{
		/* Ratios against the c2c measured around the log hop itself: the
		 * same placement as the figure. */
		double c50 = (double)tk_hist_percentile(&ll.around, 50);
		double c99 = (double)tk_hist_percentile(&ll.around, 99);
		double r50 = (double)tk_hist_percentile(&ll.hist, 50) / c50;
		double r99 = (double)tk_hist_percentile(&ll.hist, 99) / c99;

		printf("log hop / c2c around it: p50 %.2f (c2c %.0f ns), p99 %.2f (c2c %.0f ns); "
		       "log stream / ck_ring stream %.2f; x64 stream / ck_ring stream %.2f\n",
		       r50, c50, r99, c99, lt.mps / ckt.mps, lbt.mps / ckt.mps);
		printf("{\"c2c_oneway_ns_p50\":%llu,\"c2c_oneway_ns_p99\":%llu,\"c2c_back_ns_p50\":%llu,"
		       "\"log_hop_ns_p50\":%llu,\"log_hop_ns_p99\":%llu,\"log_hop_ns_p999\":%llu,"
		       "\"log_hop_c2c_around_ns_p50\":%.0f,\"log_hop_c2c_around_ns_p99\":%.0f,"
		       "\"log_hop_over_c2c_p50\":%.2f,\"log_hop_over_c2c_p99\":%.2f,"
		       "\"ckring_hop_ns_p50\":%llu,\"ckring_hop_ns_p99\":%llu,\"pipe_hop_ns_p50\":%llu,"
		       "\"pipe_hop_ns_p99\":%llu,\"log_mps\":%.0f,\"log_batch_mps\":%.0f,"
		       "\"ckring_mps\":%.0f,\"pipe_mps\":%.0f,\"placement_stable\":%s,"
		       "\"clock_anomalies\":%llu}\n",
		       (unsigned long long)tk_hist_percentile(&c2c.hist, 50),
		       (unsigned long long)tk_hist_percentile(&c2c.hist, 99),
		       (unsigned long long)tk_hist_percentile(&c2c_back.hist, 50),
		       (unsigned long long)tk_hist_percentile(&ll.hist, 50),
		       (unsigned long long)tk_hist_percentile(&ll.hist, 99),
		       (unsigned long long)tk_hist_percentile(&ll.hist, 99.9), c50, c99, r50, r99,
		       (unsigned long long)tk_hist_percentile(&ckl.hist, 50),
		       (unsigned long long)tk_hist_percentile(&ckl.hist, 99),
		       (unsigned long long)tk_hist_percentile(&pl.hist, 50),
		       (unsigned long long)tk_hist_percentile(&pl.hist, 99), lt.mps, lbt.mps, ckt.mps,
		       pt.mps,
		       placement_stable(&ll) && placement_stable(&lt) && placement_stable(&lbt) &&
				       placement_stable(&ckt) ? "true" : "false",
		       (unsigned long long)sh->clock_anomalies);
	}
	return 0;
}

/*
 * bench/wake: what this host charges to wake a sleeping process, by the
 * mechanism that wakes it (issue 13: which part of bench/e2e's hops is the
 * host's).  Two unpinned processes; the sender sleeps --gap-us between
 * messages (1000: bench/e2e's 1,000 trades a second, a message a 1 ms timer),
 * stamps CLOCK_MONOTONIC and wakes the receiver, which was blocked:
 *
 *   tcp    write(2) on loopback TCP (TCP_NODELAY), the receiver in read(2):
 *          bench/e2e's baseline hops, the feed's and the API's sockets
 *   pipe   write(2) on a pipe, the receiver in read(2)
 *   futex  a store and FUTEX_WAKE on a shared word, the receiver in
 *          FUTEX_WAIT: a blocked reader of a tick log (tk_log_wait)
 *   futex2 the same with two receivers, both woken by one FUTEX_WAKE; the
 *          sample is the later of the two: a tick log with two blocked
 *          readers (tickd api's waker and bench/e2e's reader), one of which
 *          cannot run where the writer was
 *
 * Per sample also the CPU each side ran on: a socket's and a pipe's wake-up
 * is a "sync" one (the kernel may run the woken task where the waker is
 * about to sleep), a futex's is not (the woken task goes where it ran, or
 * to an idle CPU: on a guest a halted vCPU, woken by an IPI the hypervisor
 * delivers).  Rounds alternate the mechanisms (tcp, pipe, futex, futex,
 * pipe, tcp, ...); the figure is the median of the rounds' percentiles.
 *
 * usage: wake [--gap-us US] [--count N] [--rounds R]
 * Last line: one JSON object.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "stats.h"

enum { TKW_TCP, TKW_PIPE, TKW_FUTEX, TKW_FUTEX2, TKW_N };
static const char *const tkw_name[TKW_N] = { "tcp", "pipe", "futex", "futex2" };

/* Shared by the two processes: the futex word, the stamp, the receiver's
 * acknowledgement (the sender sends the next message only once the last
 * one was taken: each sample is one wake-up, never a queued message), the
 * samples and whether each woke on the sender's CPU. */
struct tkw_shared {
	_Atomic uint32_t word;
	uint32_t pad[15];
	int64_t stamp;
	int32_t sender_cpu;
	_Atomic int32_t acked[2];
	int64_t *lat;  /* [2 * count]: receiver k's at k * count */
	uint8_t *same; /* the same */
};

struct tkw_msg {
	int64_t stamp;
	int32_t cpu;
};

static int tkw_cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void tkw_die(const char *what)
{
	perror(what);
	exit(1);
}

/* Loopback TCP: a connected pair, both ends TCP_NODELAY. */
static void tkw_tcp_pair(int fd[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);

	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) != 0)
		tkw_die("tcp listen");
	fd[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (fd[1] < 0 || connect(fd[1], (struct sockaddr *)&a, sizeof(a)) != 0)
		tkw_die("tcp connect");
	fd[0] = accept(ls, NULL, NULL);
	if (fd[0] < 0)
		tkw_die("tcp accept");
	setsockopt(fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(ls);
}

/* The receiver: count samples, each the stamp's age when it woke. */
static void tkw_receive(int kind, int rfd, struct tkw_shared *sh, int count, int k)
{
	uint32_t seen = 0;

	for (int i = 0; i < count; i++) {
		struct tkw_msg m;
		int64_t lat;

		if (kind == TKW_FUTEX || kind == TKW_FUTEX2) {
			while (atomic_load(&sh->word) == seen)
				syscall(SYS_futex, &sh->word, FUTEX_WAIT, seen, NULL, NULL, 0);
			seen = atomic_load(&sh->word);
			m.stamp = sh->stamp;
			m.cpu = sh->sender_cpu;
		} else {
			size_t got = 0;

			while (got < sizeof(m)) {
				ssize_t n = read(rfd, (char *)&m + got, sizeof(m) - got);

				if (n <= 0)
					_exit(1);
				got += (size_t)n;
			}
		}
		lat = tk_mono_ns() - m.stamp;
		sh->lat[(size_t)k * count + i] = lat;
		sh->same[(size_t)k * count + i] = sched_getcpu() == m.cpu;
		atomic_store(&sh->acked[k], i + 1);
	}
}

struct tkw_round {
	double p50_us, p99_us, p999_us, same_cpu;
};

static struct tkw_round tkw_run(int kind, struct tkw_shared *sh, int count, long gap_us)
{
	int fd[2] = { -1, -1 }, same = 0, nrecv = kind == TKW_FUTEX2 ? 2 : 1;
	struct tkw_round r;
	pid_t pid[2];

	if (kind == TKW_TCP)
		tkw_tcp_pair(fd);
	else if (kind == TKW_PIPE && pipe(fd) != 0)
		tkw_die("pipe");
	atomic_store(&sh->word, 0);
	for (int k = 0; k < nrecv; k++) {
		atomic_store(&sh->acked[k], 0);
		pid[k] = fork();
		if (pid[k] < 0)
			tkw_die("fork");
		if (pid[k] == 0) {
			tkw_receive(kind, fd[0], sh, count, k);
			_exit(0);
		}
	}
	tk_sleep_ns(20 * 1000000LL); /* the receiver blocked */
	for (int i = 0; i < count; i++) {
		struct tkw_msg m;

		tk_sleep_ns((int64_t)gap_us * 1000);
		for (int k = 0; k < nrecv; k++)
			while (atomic_load(&sh->acked[k]) < i) /* the last one not taken yet */
				tk_sleep_ns(50 * 1000LL);
		m.cpu = sched_getcpu();
		m.stamp = tk_mono_ns();
		if (kind == TKW_FUTEX || kind == TKW_FUTEX2) {
			sh->sender_cpu = m.cpu;
			sh->stamp = m.stamp;
			atomic_fetch_add(&sh->word, 1);
			syscall(SYS_futex, &sh->word, FUTEX_WAKE, nrecv, NULL, NULL, 0);
		} else if (write(fd[1], &m, sizeof(m)) != (ssize_t)sizeof(m)) {
			tkw_die("write");
		}
	}
	for (int k = 0; k < nrecv; k++)
		waitpid(pid[k], NULL, 0);
	if (fd[0] >= 0)
		close(fd[0]);
	if (fd[1] >= 0)
		close(fd[1]);
	for (int i = 0; i < count; i++) {
		if (nrecv == 2 && sh->lat[count + i] > sh->lat[i]) { /* the later one */
			sh->lat[i] = sh->lat[count + i];
			sh->same[i] = sh->same[count + i];
		}
		same += sh->same[i];
	}
	qsort(sh->lat, (size_t)count, sizeof(int64_t), tkw_cmp64);
	r.p50_us = (double)sh->lat[count / 2] / 1e3;
	r.p99_us = (double)sh->lat[(size_t)count * 99 / 100] / 1e3;
	r.p999_us = (double)sh->lat[(size_t)count * 999 / 1000] / 1e3;
	r.same_cpu = 100.0 * same / count;
	return r;
}

int main(int argc, char **argv)
{
	long gap_us = 1000;
	int count = 3000, rounds = 4;
	double p50[TKW_N][TK_BENCH_ROUNDS_MAX], p99[TKW_N][TK_BENCH_ROUNDS_MAX];
	double p999[TKW_N][TK_BENCH_ROUNDS_MAX], same[TKW_N][TK_BENCH_ROUNDS_MAX];
	struct tkw_shared *sh;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--gap-us") == 0)
			gap_us = atol(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--count") == 0)
			count = atoi(argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--rounds") == 0)
			rounds = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: wake [--gap-us US] [--count N] [--rounds R]\n");
			return 2;
		}
	}
	if (gap_us < 0 || count < 100 || rounds < 1 || rounds > TK_BENCH_ROUNDS_MAX) {
		fprintf(stderr, "wake: --gap-us >= 0, --count >= 100, --rounds 1..%d\n",
			TK_BENCH_ROUNDS_MAX);
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh) + 2 * (size_t)count * (sizeof(int64_t) + 1), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		tkw_die("mmap");
	sh->lat = (int64_t *)(sh + 1);
	sh->same = (uint8_t *)(sh->lat + 2 * (size_t)count);
	printf("wake-up of a blocked process, a message every %ld us, %d a round, %d rounds "
	       "(each mechanism in turn, the order reversed every other round)\n",
	       gap_us, count, rounds);
	for (int r = 0; r < rounds; r++)
		for (int j = 0; j < TKW_N; j++) {
			int kind = r % 2 ? TKW_N - 1 - j : j;
			struct tkw_round x = tkw_run(kind, sh, count, gap_us);

			p50[kind][r] = x.p50_us;
			p99[kind][r] = x.p99_us;
			p999[kind][r] = x.p999_us;
			same[kind][r] = x.same_cpu;
			printf("  round %d %-5s p50 %7.1f  p99 %8.1f  p99.9 %8.1f us  on the sender's cpu %5.1f %%\n",
			       r + 1, tkw_name[kind], x.p50_us, x.p99_us, x.p999_us, x.same_cpu);
		}
	printf("\n| mechanism | p50 us | p99 us | p99.9 us | woken on the sender's cpu | p50 / tcp | p99 / tcp |\n"
	       "|---|---:|---:|---:|---:|---:|---:|\n");
	for (int k = 0; k < TKW_N; k++)
		printf("| %s | %.1f | %.1f | %.1f | %.0f %% | %.2f | %.2f |\n", tkw_name[k],
		       tk_bench_median(p50[k], rounds), tk_bench_median(p99[k], rounds),
		       tk_bench_median(p999[k], rounds), tk_bench_median(same[k], rounds),
		       tk_bench_median(p50[k], rounds) / tk_bench_median(p50[TKW_TCP], rounds),
		       tk_bench_median(p99[k], rounds) / tk_bench_median(p99[TKW_TCP], rounds));
	printf("{\"gap_us\":%ld,\"count\":%d,\"rounds\":%d", gap_us, count, rounds);
	for (int k = 0; k < TKW_N; k++)
		printf(",\"%s_us_p50\":%.1f,\"%s_us_p99\":%.1f,\"%s_same_cpu_pct\":%.0f", tkw_name[k],
		       tk_bench_median(p50[k], rounds), tkw_name[k], tk_bench_median(p99[k], rounds),
		       tkw_name[k], tk_bench_median(same[k], rounds));
	printf("}\n");
	return 0;
}

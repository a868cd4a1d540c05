/*
 * One writer and three readers in four processes over one log: two gating
 * readers must receive every sequence exactly once and in order; the
 * non-gating one must never see a wrong record and must account for every
 * sequence it skipped.  Default 50 million slots (TICKD_TEST_SCALE=small: 5M).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "tests/helpers.h"
#include "tests/system/logcheck.h"

static pid_t spawn_reader(const char *path, const char *name, bool gating, uint64_t n,
			  volatile struct tk_check_result *res)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct tk_segment seg;

		if (tk_segment_attach(&seg, path, TK_ATTACH_READER) < 0) {
			fprintf(stderr, "%s: %s\n", name, tk_err_msg());
			_exit(3);
		}
		_exit(tk_check_read(&seg, "t", name, gating, TK_CHECK_BACKOFF, n, 64, res) < 0 ? 3 : 0);
	}
	return pid;
}

static uint32_t active_readers(struct tk_log_region *log)
{
	uint32_t i, n = 0;

	for (i = 0; i < log->nreaders; i++)
		n += tk_load_acquire_32(&tk_log_readers(log)[i].state) == TK_READER_ACTIVE;
	return n;
}

int main(int argc, char **argv)
{
	uint64_t n = tk_check_scale(argc > 1 ? strtoull(argv[1], NULL, 10) : 50000000ull);
	volatile struct tk_check_result *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
						    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	const char *names[3] = { "gating-1", "gating-2", "follower" };
	struct tk_segment seg;
	struct tk_log_region *log;
	char path[128];
	pid_t pids[3];
	int64_t t0, t1;
	int i, status, failures = 0;

	if (tk_test_segment(&seg, path, sizeof(path), 65536, 8) < 0) {
		fprintf(stderr, "%s\n", tk_err_msg());
		return 1;
	}
	log = tk_log_find(&seg, "t");
	for (i = 0; i < 3; i++)
		pids[i] = spawn_reader(path, names[i], i < 2, n, &res[i]);
	while (active_readers(log) < 3)
		tk_sleep_ns(1000000);
	t0 = tk_mono_ns();
	tk_check_write(log, n, 64, true);
	for (i = 0; i < 3; i++) {
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "FAIL: reader %s exited with status %d\n", names[i], status);
			failures++;
		}
	}
	t1 = tk_mono_ns();
	for (i = 0; i < 3; i++)
		tk_check_print(names[i], (const struct tk_check_result *)&res[i]);
	for (i = 0; i < 2; i++) {
		if (res[i].received != n || res[i].errors != 0 || res[i].skipped != 0 ||
		    res[i].first_seq != 1 || res[i].last_seq != n) {
			fprintf(stderr, "FAIL: gating reader %s did not get 1..%llu exactly once\n",
				names[i], (unsigned long long)n);
			failures++;
		}
	}
	if (res[2].errors != 0 || res[2].received + res[2].skipped != n) {
		fprintf(stderr, "FAIL: follower: received + skipped != %llu or errors\n",
			(unsigned long long)n);
		failures++;
	}
	if (log->releases_dead + log->releases_stall != 0) {
		fprintf(stderr, "FAIL: a live reader was released\n");
		failures++;
	}
	printf("%llu slots in %.2f s: %.1f M slots/s through 2 gating + 1 follower (2 cores, backoff)\n",
	       (unsigned long long)n, (double)(t1 - t0) / 1e9, (double)n / ((double)(t1 - t0) / 1e3));
	tk_segment_detach(&seg);
	unlink(path);
	printf("%s\n", failures ? "FAILED" : "PASSED");
	return failures ? 1 : 0;
}

/*
 * The multi-process log test's logic with threads in one process, so that
 * ThreadSanitizer can check every handoff: a writer, two gating readers and
 * one follower.  Default 2 million slots (TICKD_TEST_SCALE=small: 200,000).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/err.h"
#include "tests/helpers.h"
#include "tests/system/logcheck.h"

struct job {
	const struct tk_segment *seg;
	const char *name;
	bool gating;
	uint64_t n;
	struct tk_check_result res;
	int rc;
};

static void *reader(void *arg)
{
	struct job *j = arg;

	j->rc = tk_check_read(j->seg, "t", j->name, j->gating, TK_CHECK_BACKOFF, j->n, 64, &j->res);
	return NULL;
}

int main(void)
{
	uint64_t n = tk_check_scale(2000000ull);
	struct tk_segment seg;
	struct tk_log_region *log;
	struct job jobs[3] = {
		{ .name = "gating-1", .gating = true }, { .name = "gating-2", .gating = true },
		{ .name = "follower", .gating = false },
	};
	pthread_t th[3];
	char path[128];
	int i, failures = 0;

	if (tk_test_segment(&seg, path, sizeof(path), 4096, 8) < 0) {
		fprintf(stderr, "%s\n", tk_err_msg());
		return 1;
	}
	log = tk_log_find(&seg, "t");
	for (i = 0; i < 3; i++) {
		jobs[i].seg = &seg;
		jobs[i].n = n;
		pthread_create(&th[i], NULL, reader, &jobs[i]);
	}
	for (;;) {
		uint32_t k, active = 0;

		for (k = 0; k < log->nreaders; k++)
			active += tk_load_acquire_32(&tk_log_readers(log)[k].state) == TK_READER_ACTIVE;
		if (active == 3)
			break;
		usleep(1000);
	}
	tk_check_write(log, n, 32, true);
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		tk_check_print(jobs[i].name, &jobs[i].res);
	}
	for (i = 0; i < 2; i++)
		if (jobs[i].rc != 0 || jobs[i].res.received != n || jobs[i].res.errors != 0 ||
		    jobs[i].res.skipped != 0) {
			fprintf(stderr, "FAIL: %s did not get 1..%llu exactly once\n", jobs[i].name,
				(unsigned long long)n);
			failures++;
		}
	if (jobs[2].rc != 0 || jobs[2].res.errors != 0 ||
	    jobs[2].res.received + jobs[2].res.skipped != n) {
		fprintf(stderr, "FAIL: follower miscounted\n");
		failures++;
	}
	tk_segment_detach(&seg);
	unlink(path);
	printf("%s\n", failures ? "FAILED" : "PASSED");
	return failures ? 1 : 0;
}

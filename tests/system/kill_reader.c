/*
 * kill -9 of a gating reader mid-run, three times, each followed by a
 * restart under the same name, while a second gating reader ("keeper")
 * and the writer go on:
 *
 *   1. killed and restarted before the writer caught up with it: the
 *      restart takes over its cursor slot and loses nothing;
 *   2. killed, released by the writer, restarted soon after: it resumes at
 *      its committed cursor and reports as missed exactly the sequences the
 *      writer overwrote, receiving everything still in the ring;
 *   3. the same, with the writer two and a half rings ahead.
 *
 * The writer is paused (SIGSTOP) around each restart so that "what was
 * still in the ring" is known exactly.  The keeper must receive every
 * sequence exactly once throughout.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "tests/helpers.h"
#include "tests/system/logcheck.h"

#define NSLOTS 65536u

static const char *path_;
static uint64_t n_;
static int failures;


static pid_t spawn_reader(const char *name, volatile struct tk_check_result *res)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct tk_segment seg;

		if (tk_segment_attach(&seg, path_, TK_ATTACH_READER) < 0) {
			fprintf(stderr, "%s: %s\n", name, tk_err_msg());
			_exit(3);
		}
		_exit(tk_check_read(&seg, "t", name, true, TK_CHECK_BACKOFF, n_, 256, res) < 0 ? 3 : 0);
	}
	return pid;
}

static struct tk_reader_slot *slot_named(struct tk_log_region *log, const char *name)
{
	uint32_t i;

	for (i = 0; i < log->nreaders; i++)
		if (strcmp(tk_log_readers(log)[i].name, name) == 0)
			return &tk_log_readers(log)[i];
	return NULL;
}

static void wait_active(struct tk_log_region *log, const char *name, pid_t pid)
{
	struct tk_reader_slot *s;

	for (;;) {
		s = slot_named(log, name);
		if (s != NULL && s->pid == pid && tk_load_acquire_32(&s->state) == TK_READER_ACTIVE)
			return;
		tk_sleep_ns(200000);
	}
}

static void wait_cursor(struct tk_reader_slot *s, uint64_t at_least)
{
	while (tk_load_acquire_64(&s->cursor) < at_least)
		tk_sleep_ns(200000);
}

/* Highest sequence any slot holds or is being written with. */
static uint64_t max_slot_seq(struct tk_log_region *log)
{
	uint64_t m = 0;
	uint32_t i;

	for (i = 0; i < log->nslots; i++) {
		uint64_t v = tk_load_acquire_64(&((struct tk_slot *)tk_log_slots(log))[i].seq) &
			     ~TK_SLOT_WRITING;

		if (v > m)
			m = v;
	}
	return m;
}

static void kill_and_reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

int main(void)
{
	volatile struct tk_check_result *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
						    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct tk_segment seg;
	struct tk_log_region *log;
	struct tk_reader_slot *victim;
	char path[128];
	pid_t keeper, vpid, writer;
	uint64_t c, m, releases;
	int status, round;

	n_ = tk_check_scale(20000000ull);
	if (tk_test_segment(&seg, path, sizeof(path), NSLOTS, 8) < 0) {
		fprintf(stderr, "%s\n", tk_err_msg());
		return 1;
	}
	path_ = path;
	log = tk_log_find(&seg, "t");
	keeper = spawn_reader("keeper", &res[0]);
	wait_active(log, "keeper", keeper);
	vpid = spawn_reader("victim", &res[1]);
	wait_active(log, "victim", vpid);
	victim = slot_named(log, "victim");
	writer = fork();
	if (writer == 0) {
		tk_check_write(log, n_, 16, true);
		_exit(0);
	}

	/* 1: killed and restarted while the writer is paused: no release, no loss. */
	wait_cursor(victim, n_ / 8);
	kill(writer, SIGSTOP);
	kill_and_reap(vpid);
	c = tk_load_acquire_64(&victim->cursor);
	vpid = spawn_reader("victim", &res[2]);
	wait_active(log, "victim", vpid);
	kill(writer, SIGCONT);
	wait_cursor(victim, c + 1);
	CHECK(res[2].resumed && res[2].resumed_at == c, "round 1: resumed at %llu, cursor was %llu",
	      (unsigned long long)res[2].resumed_at, (unsigned long long)c);
	CHECK(log->releases_dead == 0, "round 1: the writer released a reader it never waited for");
	printf("round 1: killed at cursor %llu, restarted before the writer caught up: resumed at "
	       "%llu\n", (unsigned long long)c, (unsigned long long)res[2].resumed_at);

	/* 2 and 3: killed, released by the writer, restarted after a lap. */
	for (round = 2; round <= 3; round++) {
		volatile struct tk_check_result *r = &res[round + 1];
		uint64_t ahead = round == 2 ? 0 : NSLOTS * 5 / 2;

		wait_cursor(victim, n_ * (uint64_t)(2 * round - 1) / 8);
		releases = log->releases_dead;
		kill_and_reap(vpid);
		c = tk_load_acquire_64(&victim->cursor);
		while (log->releases_dead == releases)
			tk_sleep_ns(200000);
		while (tk_log_write_seq(log) < c + NSLOTS + ahead)
			tk_sleep_ns(200000);
		kill(writer, SIGSTOP);
		tk_sleep_ns(20 * 1000 * 1000); /* let a mid-batch stop settle */
		m = max_slot_seq(log);
		vpid = spawn_reader("victim", r);
		while (r->received == 0)
			tk_sleep_ns(200000);
		CHECK(r->resumed && r->resumed_at == c, "round %d: resumed at %llu, cursor was %llu",
		      round, (unsigned long long)r->resumed_at, (unsigned long long)c);
		CHECK(r->first_gap_from == c, "round %d: gap starts at %llu, not at the cursor %llu",
		      round, (unsigned long long)r->first_gap_from, (unsigned long long)c);
		CHECK(r->first_seq == m - NSLOTS + 1,
		      "round %d: first record after the gap is %llu, the oldest in the ring was %llu",
		      round, (unsigned long long)r->first_seq, (unsigned long long)(m - NSLOTS + 1));
		CHECK(r->skipped == r->first_seq - c, "round %d: reported %llu missed, expected %llu",
		      round, (unsigned long long)r->skipped, (unsigned long long)(r->first_seq - c));
		printf("round %d: killed at cursor %llu, released; writer at %llu; restarted: missed "
		       "[%llu, %llu) exactly, resumed with %llu, the oldest still in the ring\n",
		       round, (unsigned long long)c, (unsigned long long)m, (unsigned long long)c,
		       (unsigned long long)r->first_seq, (unsigned long long)r->first_seq);
		kill(writer, SIGCONT);
	}
	CHECK(log->releases_dead == 2, "expected 2 releases of a dead reader, saw %llu",
	      (unsigned long long)log->releases_dead);

	waitpid(writer, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer failed");
	waitpid(keeper, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "keeper failed");
	waitpid(vpid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "last victim failed");

	tk_check_print("keeper", (const struct tk_check_result *)&res[0]);
	tk_check_print("victim (2nd life)", (const struct tk_check_result *)&res[3]);
	tk_check_print("victim (last life)", (const struct tk_check_result *)&res[4]);
	CHECK(res[0].received == n_ && res[0].skipped == 0 && res[0].errors == 0 &&
	      res[0].first_seq == 1 && res[0].last_seq == n_,
	      "keeper did not receive 1..%llu exactly once", (unsigned long long)n_);
	CHECK(res[4].errors == 0 && res[4].last_seq == n_ &&
	      res[4].received == n_ - res[4].first_seq + 1,
	      "the last victim did not receive everything after its one gap");
	tk_segment_detach(&seg);
	unlink(path);
	printf("%s\n", failures ? "FAILED" : "PASSED");
	return failures ? 1 : 0;
}

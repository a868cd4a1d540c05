/*
 * Ownership under contention: many processes open the same reader name,
 * the same writer role, and more names than a log has cursor slots, all at
 * the same instant, round after round.  Each time exactly one owns the
 * name, exactly one the writer role, and the cursor slots go to distinct
 * owners, as many as there are slots.  Half the rounds end by kill -9, so
 * every round but the first also takes over the slots of dead owners.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "shm/log.h"
#include "tests/helpers.h"

#define OPENERS 12
#define SLOTS 4
#define ROUNDS 100

struct result {
	int same_name;  /* 1: opened the shared name */
	int writer;     /* 1: became the writer */
	int own_idx;    /* slot of its own name, -1 if refused */
	int same_errno; /* errno of a refused open */
	int done;
};

static int failures;

static void opener(const char *path, int go_fd, int end_fd, volatile struct result *res, int me)
{
	struct tk_segment seg;
	struct tk_log_reader same, own;
	struct tk_log_writer w;
	struct tk_reader_opts o = { .name = "same", .gating = true, .start = TK_START_RESUME };
	struct tk_reader_opts mine = { .gating = true, .start = TK_START_RESUME };
	char name[16], c;
	int rc;

	if (tk_segment_attach(&seg, path, TK_ATTACH_WRITER) < 0)
		_exit(3);
	snprintf(name, sizeof(name), "own.%d", me);
	mine.name = name;
	if (read(go_fd, &c, 1) < 0) /* returns at EOF: the starting gun */
		_exit(3);
	rc = tk_log_reader_open(&same, &seg, "t", &o);
	res->same_name = rc == 0;
	res->same_errno = rc < 0 ? -rc : 0;
	res->writer = tk_log_writer_open(&w, tk_log_find(&seg, "t")) == 0;
	res->own_idx = tk_log_reader_open(&own, &seg, "u", &mine) == 0 ? own.idx : -1;
	__atomic_store_n(&res->done, 1, __ATOMIC_RELEASE);
	if (read(end_fd, &c, 1) < 0)
		_exit(3);
	_exit(0); /* without closing: the kernel releases what it held */
}

int main(void)
{
	struct tk_seg_config cfg;
	struct tk_segment seg;
	char path[128];
	volatile struct result *res;
	int round, i;

	tk_seg_config_default(&cfg);
	cfg.symbol_capacity = 64;
	tk_seg_config_add_log(&cfg, "t", 64, 64, OPENERS + 1);
	tk_seg_config_add_log(&cfg, "u", 64, 64, SLOTS);
	if (tk_segment_create(&seg, tk_test_path(path, sizeof(path), "owners"), &cfg, true) < 0) {
		fprintf(stderr, "owners: %s\n", tk_err_msg());
		return 1;
	}
	res = mmap(NULL, sizeof(struct result) * OPENERS, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (round = 0; round < ROUNDS; round++) {
		int go[2], end[2], same = 0, writers = 0, slots = 0, busy = 0;
		int seen[SLOTS] = { 0 };
		pid_t kids[OPENERS];

		if (pipe(go) != 0 || pipe(end) != 0)
			return 1;
		memset((void *)res, 0, sizeof(struct result) * OPENERS);
		for (i = 0; i < OPENERS; i++) {
			kids[i] = fork();
			if (kids[i] == 0) {
				close(go[1]);
				close(end[1]);
				opener(path, go[0], end[0], &res[i], i);
			}
		}
		close(go[0]);
		close(end[0]);
		usleep(20000); /* let them attach, then fire */
		close(go[1]);
		for (i = 0; i < OPENERS; i++)
			while (!__atomic_load_n(&res[i].done, __ATOMIC_ACQUIRE) &&
			       waitpid(kids[i], NULL, WNOHANG) == 0)
				usleep(1000);
		for (i = 0; i < OPENERS; i++) {
			same += res[i].same_name;
			busy += !res[i].same_name && res[i].same_errno == EBUSY;
			writers += res[i].writer;
			if (res[i].own_idx >= 0 && res[i].own_idx < SLOTS) {
				slots++;
				seen[res[i].own_idx]++;
			}
		}
		CHECK(same == 1, "round %d: %d owners of one reader name", round, same);
		CHECK(busy == OPENERS - 1, "round %d: %d refused with EBUSY, want %d", round, busy,
		      OPENERS - 1);
		CHECK(writers == 1, "round %d: %d writers of one log", round, writers);
		CHECK(slots == SLOTS, "round %d: %d of %d cursor slots taken", round, slots, SLOTS);
		for (i = 0; i < SLOTS; i++)
			CHECK(seen[i] == 1, "round %d: cursor slot %d has %d owners", round, i, seen[i]);
		if (round % 2 == 1)
			for (i = 0; i < OPENERS; i++)
				kill(kids[i], SIGKILL);
		close(end[1]);
		for (i = 0; i < OPENERS; i++)
			waitpid(kids[i], NULL, 0);
		if (failures > 20)
			break;
	}
	tk_segment_detach(&seg);
	tk_segment_unlink(path);
	printf("owners: %d rounds of %d concurrent openers: %s\n", round, OPENERS,
	       failures == 0 ? "one owner each time" : "FAILED");
	return failures == 0 ? 0 : 1;
}

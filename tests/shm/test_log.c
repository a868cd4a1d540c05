#include <criterion/criterion.h>
#include <errno.h>

#include "common/err.h"
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "tests/helpers.h"

static struct tk_segment seg;
static char path[128];
static struct tk_log_region *log_;

static void setup_n(uint32_t nslots)
{
	cr_assert_eq(tk_test_segment(&seg, path, sizeof(path), nslots, 8), 0);
	log_ = tk_log_find(&seg, "t");
	cr_assert_not_null(log_);
}

static void setup(void)
{
	setup_n(64);
}

static void teardown(void)
{
	tk_segment_detach(&seg);
	tk_segment_unlink(path);
}

static void put(struct tk_log_writer *w, uint64_t v)
{
	cr_assert_eq(tk_log_write(w, 7, (uint32_t)v, &v, sizeof(v)), TK_LOG_OK, "write %llu",
		     (unsigned long long)v);
}

static uint64_t value_of(const struct tk_slot *s)
{
	uint64_t v;

	memcpy(&v, s->data, sizeof(v));
	return v;
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, writes_are_read_in_order_with_their_sequences)
{
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .start = TK_START_OLDEST };
	struct tk_slot s;
	uint64_t i;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_EMPTY);
	for (i = 1; i <= 10; i++)
		put(&w, i * 100);
	for (i = 1; i <= 10; i++) {
		cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
		cr_assert_eq(s.seq, i);
		cr_assert_eq(s.type, 7);
		cr_assert_eq(value_of(&s), i * 100);
	}
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_EMPTY);
	cr_assert_eq(tk_log_write_seq(log_), 10);
}

Test(log, reader_from_end_sees_only_new_records)
{
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .start = TK_START_END };
	struct tk_slot s;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	put(&w, 1);
	put(&w, 2);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_EMPTY);
	put(&w, 3);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	cr_assert_eq(s.seq, 3);
}

Test(log, gating_reader_holds_the_writer_until_it_commits)
{
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .name = "g", .gating = true, .start = TK_START_OLDEST };
	struct tk_slot s;
	uint64_t i;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	for (i = 1; i <= 64; i++)
		put(&w, i);
	cr_assert_eq(tk_log_write(&w, 7, 0, &i, sizeof(i)), TK_LOG_FULL);
	cr_assert_eq(log_->writer_waits, 1);
	/* Reading without committing frees nothing. */
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	cr_assert_eq(tk_log_write(&w, 7, 0, &i, sizeof(i)), TK_LOG_FULL);
	tk_log_reader_commit(&r);
	put(&w, 65);
	cr_assert_eq(tk_log_write(&w, 7, 0, &i, sizeof(i)), TK_LOG_FULL);
	/* The gated reader still has 2..65 intact. */
	for (i = 2; i <= 65; i++) {
		cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
		cr_assert_eq(value_of(&s), i);
	}
	cr_assert_eq(log_->releases_dead + log_->releases_stall, 0);
}

Test(log, non_gating_reader_reports_exactly_what_it_missed)
{
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .start = TK_START_SEQ, .start_seq = 1 };
	struct tk_slot s;
	uint64_t i;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	for (i = 1; i <= 3 * 64; i++)
		put(&w, i);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_LAPPED);
	/* 129 is still in its slot, but the writer has marked that slot for 193
	 * (it prepares the next slot after every publish), so the oldest is
	 * 130; a follower skips a quarter ring more so it is not lapped again
	 * at once. */
	cr_assert_eq(r.gap_from, 1);
	cr_assert_eq(r.gap_to, 2 * 64 + 2 + 16);
	cr_assert_eq(r.skipped, 129 + 16);
	for (i = 2 * 64 + 2 + 16; i <= 3 * 64; i++) {
		cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
		cr_assert_eq(s.seq, i);
		cr_assert_eq(value_of(&s), i);
	}
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_EMPTY);
}

Test(log, batch_claim_stops_at_the_ring_end_and_publishes_in_order)
{
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .start = TK_START_OLDEST };
	struct tk_slot out[64];
	uint32_t got, i, n;
	struct tk_slot *first;
	int st;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	first = tk_log_claim(&w, 40, &got);
	cr_assert_eq(got, 40);
	for (i = 0; i < got; i++)
		first[i].type = 1, first[i].aux = i;
	/* Claimed but not published: invisible. */
	cr_assert_eq(tk_log_read(&r, &out[0]), TK_LOG_EMPTY);
	tk_log_publish(&w, got);
	first = tk_log_claim(&w, 40, &got);
	/* Sequence 41 sits at index 41: 23 slots to the end of the ring. */
	cr_assert_eq(got, 23, "a claim never wraps the ring end");
	for (i = 0; i < got; i++)
		first[i].type = 1, first[i].aux = 40 + i;
	tk_log_publish(&w, got);
	n = tk_log_read_batch(&r, out, 64, &st);
	cr_assert_eq(n, 63);
	cr_assert_eq(st, TK_LOG_EMPTY);
	for (i = 0; i < n; i++) {
		cr_assert_eq(out[i].seq, i + 1);
		cr_assert_eq(out[i].aux, i);
	}
}

Test(log, partial_publish_keeps_the_rest_invisible)
{
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .start = TK_START_OLDEST };
	struct tk_slot s;
	uint32_t got;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	cr_assert_not_null(tk_log_claim(&w, 8, &got));
	tk_log_publish(&w, 3);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_EMPTY);
	put(&w, 4);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	cr_assert_eq(s.seq, 4);
}

Test(log, restarted_writer_continues_after_the_last_complete_slot)
{
	struct tk_log_writer w, w2;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .start = TK_START_OLDEST };
	struct tk_slot s;
	uint32_t got;
	uint64_t i;

	pid_t child = fork();

	if (child == 0) {
		/* The writer that dies, in its own process with its own descriptor. */
		struct tk_segment own;

		if (tk_segment_attach(&own, seg.path, TK_ATTACH_WRITER) < 0 ||
		    tk_log_writer_open(&w, tk_log_find(&own, "t")) < 0)
			_exit(1);
		for (i = 1; i <= 5; i++)
			put(&w, i);
		/* Sequences 6 and 7 complete in their slots but write_seq never
		 * said so (died between the two stores); 8 claimed and
		 * half-written (died mid-write). */
		if (tk_log_claim(&w, 3, &got) == NULL)
			_exit(1);
		tk_log_publish(&w, 2);
		w.log->write_seq = 5;
		if (tk_log_claim(&w, 1, &got) == NULL)
			_exit(1);
		memset(tk__log_slot(w.slots, 8, w.mask, w.shift)->data, 0xab, 48);
		_exit(0); /* no close: as killed */
	}
	{
		int status;

		cr_assert_eq(waitpid(child, &status, 0), child);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	cr_assert_eq(tk_log_writer_open(&w2, log_), 0);
	cr_assert_eq(w2.next, 8);
	cr_assert_eq(log_->recovered_slots, 2);
	cr_assert_eq(log_->writer_restarts, 1);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	for (i = 1; i <= 7; i++) {
		cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
		cr_assert_eq(s.seq, i);
	}
	/* The half-written slot never looks complete. */
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_EMPTY);
	put(&w2, 800);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	cr_assert_eq(s.seq, 8);
	cr_assert_eq(value_of(&s), 800);
}

Test(log, second_live_writer_is_refused)
{
	struct tk_log_writer w, w2;
	pid_t pid;
	int status;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	pid = fork();
	if (pid == 0)
		_exit(tk_log_writer_open(&w2, log_) == -EBUSY ? 0 : 1);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(log, dead_gating_reader_is_released_and_its_cursor_kept)
{
	struct tk_log_writer w;
	struct tk_log_reader r;
	uint64_t i;
	pid_t pid;
	int status;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	pid = fork();
	if (pid == 0) {
		struct tk_reader_opts o = { .name = "dies", .gating = true, .start = TK_START_OLDEST };
		struct tk_log_reader rr;
		struct tk_slot s;

		if (tk_log_reader_open(&rr, &seg, "t", &o) != 0)
			_exit(1);
		while (tk_log_read(&rr, &s) != TK_LOG_OK)
			;
		tk_log_reader_commit(&rr);
		_exit(0); /* dies without closing */
	}
	for (i = 1; i <= 10; i++)
		put(&w, i);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The dead reader's cursor (2) holds the writer at 2 + 64; the writer
	 * finds its pid gone and releases it. */
	for (i = 11; i <= 200; i++)
		put(&w, i);
	cr_assert_eq(log_->releases_dead, 1);
	cr_assert_eq(tk_log_readers(log_)[0].state, TK_READER_RELEASED);
	cr_assert_eq(tk_log_readers(log_)[0].release_reason, TK_RELEASE_DEAD);
	/* A restart under the same name resumes at the committed cursor and is
	 * told exactly what it missed. */
	{
		struct tk_reader_opts o = { .name = "dies", .gating = true };
		struct tk_slot s;

		cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
		cr_assert(r.resumed);
		cr_assert_eq(r.next, 2);
		cr_assert_eq(tk_log_read(&r, &s), TK_LOG_LAPPED);
		/* 200 written and 201's slot taken: 138 is the oldest left. */
		cr_assert_eq(r.gap_from, 2);
		cr_assert_eq(r.gap_to, 201 - 64 + 1);
		cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
		cr_assert_eq(value_of(&s), 138);
	}
}

/* Liveness is the ownership lock, not the pid: a reader whose pid means
 * nothing here (another pid namespace, hidepid, a reused number) is alive
 * while its process lives and released the moment it dies. */
Test(log, reader_liveness_is_its_lock_not_its_pid)
{
	struct tk_log_writer w;
	int ready[2], hold[2];
	uint64_t i;
	pid_t child;
	char c;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(hold), 0);
	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	child = fork();
	if (child == 0) {
		struct tk_segment own;
		struct tk_log_reader r;
		struct tk_reader_opts o = { .name = "contained", .gating = true,
					    .start = TK_START_OLDEST };
		struct tk_reader_slot *rs;

		/* Its own descriptor, as another process has. */
		if (tk_segment_attach(&own, seg.path, TK_ATTACH_READER) < 0 ||
		    tk_log_reader_open(&r, &own, "t", &o) < 0)
			_exit(1);
		rs = r.slot;
		rs->pid_ns = tk_pid_ns() + 1; /* as a reader in a container would register */
		rs->pid = 999999;             /* a pid that does not exist here */
		rs->heartbeat_ns = 0;         /* and no heartbeat at all */
		if (write(ready[1], "r", 1) != 1 || read(hold[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(read(ready[0], &c, 1), 1);
	for (i = 1; i <= 64; i++)
		put(&w, i);
	tk_sleep_ns(20 * 1000 * 1000); /* past the writer's liveness-check interval */
	cr_assert_eq(tk_log_write(&w, 7, 0, &i, sizeof(i)), TK_LOG_FULL,
		     "a live process holds its slot whatever its pid says");
	cr_assert_eq(log_->releases_dead, 0);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	tk_sleep_ns(20 * 1000 * 1000);
	put(&w, 65);
	cr_assert_eq(log_->releases_dead, 1, "its death frees the slot at once");
}

/* A live writer cannot be taken over, whatever its pid field says; a dead
 * one can, and the taker owns it alone. */
Test(log, live_writer_is_never_taken_over)
{
	struct tk_log_writer w;
	int ready[2], hold[2];
	pid_t child;
	char c;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(hold), 0);
	child = fork();
	if (child == 0) {
		struct tk_segment own;
		struct tk_log_writer cw;

		if (tk_segment_attach(&own, seg.path, TK_ATTACH_WRITER) < 0 ||
		    tk_log_writer_open(&cw, tk_log_find(&own, "t")) < 0)
			_exit(1);
		log_->writer_pid = 999999; /* as seen from another pid namespace */
		if (write(ready[1], "w", 1) != 1 || read(hold[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(read(ready[0], &c, 1), 1);
	cr_assert_eq(tk_log_writer_open(&w, log_), -EBUSY);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	cr_assert_eq(tk_log_writer_open(&w, log_), 0, "%s", tk_err_msg());
	cr_assert_eq(log_->writer_pid, getpid());
	cr_assert_eq(tk_log_writer_open(&w, log_), -EBUSY, "not twice in one process either");
}

Test(log, stalled_reader_with_release_policy_is_released_after_its_stall_time)
{
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .name = "slow", .gating = true, .release_on_stall = true,
				    .stall_ns = 50 * 1000 * 1000, .start = TK_START_OLDEST };
	struct tk_slot s;
	int64_t t0, waited;
	uint64_t i;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	for (i = 1; i <= 64; i++)
		put(&w, i);
	t0 = tk_mono_ns();
	while (tk_log_write(&w, 7, 0, &i, sizeof(i)) == TK_LOG_FULL)
		tk_sleep_ns(1000 * 1000);
	waited = tk_mono_ns() - t0;
	cr_assert_geq(waited, 50 * 1000 * 1000);
	cr_assert_eq(log_->releases_stall, 1);
	cr_assert_eq(tk_log_readers(log_)[r.idx].state, TK_READER_RELEASED);
	/* 1 was overwritten by 65 and 2's slot is taken for 66: the reader
	 * learns exactly that, in one gap. */
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_LAPPED);
	cr_assert_eq(r.gap_from, 1);
	cr_assert_eq(r.gap_to, 3);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	cr_assert_eq(s.seq, 3);
	/* Its next commit rejoins the gate. */
	tk_log_reader_commit(&r);
	cr_assert_eq(tk_log_readers(log_)[r.idx].state, TK_READER_ACTIVE);
}

Test(log, stalled_reader_with_hold_policy_holds_the_writer_and_it_is_counted)
{
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .name = "hold", .gating = true, .start = TK_START_OLDEST };
	struct tk_slot s;
	uint64_t i;
	int tries = 0;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	for (i = 1; i <= 64; i++)
		put(&w, i);
	while (tries++ < 30) {
		cr_assert_eq(tk_log_write(&w, 7, 0, &i, sizeof(i)), TK_LOG_FULL);
		tk_sleep_ns(5 * 1000 * 1000);
	}
	cr_assert_eq(log_->releases_stall + log_->releases_dead, 0);
	cr_assert_eq(log_->blocked_by, (uint32_t)r.idx + 1);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	tk_log_reader_commit(&r);
	put(&w, 65);
	cr_assert_eq(log_->blocked_by, 0);
	cr_assert_geq(log_->writer_wait_ns, 100 * 1000 * 1000ull);
}

Test(log, closed_gating_reader_resumes_at_its_cursor)
{
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .name = "again", .gating = true, .start = TK_START_OLDEST };
	struct tk_slot s;
	uint64_t i;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	for (i = 1; i <= 10; i++)
		put(&w, i);
	for (i = 1; i <= 4; i++)
		cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	tk_log_reader_close(&r);
	o.start = TK_START_RESUME;
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	cr_assert(r.resumed);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	cr_assert_eq(s.seq, 5);
}

Test(log, reader_slots_run_out_with_a_clear_error)
{
	struct tk_log_reader r[9];
	char name[16];
	int i;

	for (i = 0; i < 8; i++) {
		struct tk_reader_opts o = { .name = name };

		snprintf(name, sizeof(name), "r%d", i);
		cr_assert_eq(tk_log_reader_open(&r[i], &seg, "t", &o), 0);
	}
	{
		struct tk_reader_opts o = { .name = "one-too-many" };

		cr_assert_eq(tk_log_reader_open(&r[8], &seg, "t", &o), -ENOSPC);
		cr_assert(strstr(tk_err_msg(), "no free reader slot") != NULL);
	}
	tk_log_reader_close(&r[3]);
	{
		struct tk_reader_opts o = { .name = "one-too-many" };

		cr_assert_eq(tk_log_reader_open(&r[8], &seg, "t", &o), 0);
	}
}

Test(log, unknown_log_and_bad_names_are_refused)
{
	struct tk_log_reader r;
	struct tk_reader_opts o = { .name = "a-name-that-is-much-longer-than-31-bytes" };
	struct tk_reader_opts g = { .gating = true };

	cr_assert_eq(tk_log_reader_open(&r, &seg, "nope", &g), -ENOENT);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), -EINVAL);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &g), -EINVAL);
}

struct later {
	struct tk_log_writer *w;
};

static void *write_later(void *arg)
{
	struct later *l = arg;
	uint64_t v = 42;

	tk_sleep_ns(30 * 1000 * 1000);
	tk_log_write(l->w, 7, 0, &v, sizeof(v));
	return NULL;
}

Test(log, blocking_idle_sleeps_until_the_writer_publishes)
{
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .start = TK_START_END };
	struct tk_idle idle;
	struct later l = { &w };
	struct tk_slot s;
	pthread_t th;
	int64_t t0;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	tk_idle_init(&idle, TK_IDLE_BLOCK);
	pthread_create(&th, NULL, write_later, &l);
	t0 = tk_mono_ns();
	while (tk_log_read(&r, &s) != TK_LOG_OK)
		tk_idle_wait(&idle, &r, 5000LL * 1000 * 1000);
	pthread_join(th, NULL);
	cr_assert_eq(value_of(&s), 42);
	/* Woken by the publish, not by the 5 s deadline. */
	cr_assert_lt(tk_mono_ns() - t0, 2000LL * 1000 * 1000);
}

/* An anonymous follower writes nothing into the segment, even while it
 * sleeps (ck_ec's wait would set a flag in the event count): with the
 * reader pages made read-only a wait must not fault, and it must sleep
 * rather than spin until its deadline. */
Test(log, anonymous_follower_sleeps_without_writing_the_segment)
{
	struct tk_segment ro;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .start = TK_START_END };
	struct tk_log_region *rlog;
	struct tk_idle idle;
	int64_t t0;
	uint64_t calls = 0;

	cr_assert_eq(tk_segment_attach(&ro, path, TK_ATTACH_READER), 0);
	cr_assert_eq(tk_log_reader_open(&r, &ro, "t", &o), 0);
	rlog = tk_log_find(&ro, "t");
	/* As for a user without write permission on the file. */
	cr_assert_eq(mprotect((uint8_t *)rlog + TK_LOG_READERS_OFFSET,
			      rlog->slots_offset - TK_LOG_READERS_OFFSET, PROT_READ), 0);
	tk_idle_init(&idle, TK_IDLE_BLOCK);
	idle.iter = 1000; /* past the spinning phase */
	t0 = tk_mono_ns();
	while (tk_mono_ns() - t0 < 50 * 1000 * 1000) {
		tk_idle_wait(&idle, &r, 50 * 1000 * 1000);
		calls++;
	}
	/* Sleeps of 1 ms at most between looks: about 50 calls; a spinning
	 * wait would make millions. */
	cr_assert_lt(calls, 5000, "%llu waits in 50 ms: it spins", (unsigned long long)calls);
	tk_segment_detach(&ro);
}

Test(log, larger_slots_carry_larger_records)
{
	struct tk_seg_config cfg;
	struct tk_segment s2;
	char p2[128];
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .start = TK_START_OLDEST };
	uint8_t big[128 - 16], out[128];

	tk_seg_config_default(&cfg);
	tk_seg_config_add_log(&cfg, "big", 64, 128, 4);
	cr_assert_eq(tk_segment_create(&s2, tk_test_path(p2, sizeof(p2), "big"), &cfg, true), 0);
	memset(big, 0x5a, sizeof(big));
	cr_assert_eq(tk_log_writer_open(&w, tk_log_find(&s2, "big")), 0);
	cr_assert_eq(tk_log_write(&w, 9, 1, big, sizeof(big)), TK_LOG_OK);
	cr_assert_eq(tk_log_reader_open(&r, &s2, "big", &o), 0);
	cr_assert_eq(tk_log_read(&r, (struct tk_slot *)out), TK_LOG_OK);
	cr_assert_eq(memcmp(out + 16, big, sizeof(big)), 0);
	tk_segment_detach(&s2);
	tk_segment_unlink(p2);
}

/* A writer that defers its wake-ups: what it publishes is readable at once,
 * the event count the BLOCK readers sleep on moves only at tk_log_wake
 * (once for the burst, not again without a new publish) or at close. */
Test(log, deferred_wake_ups_are_given_once_a_burst)
{
	const struct ck_ec32 *ec = &tk_log_reader_table(log_)->ec;
	struct tk_log_writer w;
	struct tk_log_reader r;
	struct tk_reader_opts o = { .start = TK_START_OLDEST };
	struct tk_slot s;
	uint32_t v0;

	cr_assert_eq(tk_log_writer_open(&w, log_), 0);
	cr_assert_eq(tk_log_reader_open(&r, &seg, "t", &o), 0);
	v0 = ck_ec32_value(ec);
	put(&w, 1);
	cr_assert_eq(ck_ec32_value(ec), v0 + 1, "without defer_wake: a publish moves it");
	w.defer_wake = 1;
	put(&w, 2);
	put(&w, 3);
	put(&w, 4);
	cr_assert_eq(ck_ec32_value(ec), v0 + 1, "deferred: not yet");
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	cr_assert_eq(tk_log_read(&r, &s), TK_LOG_OK);
	cr_assert_eq(value_of(&s), 2, "but the records are there");
	tk_log_wake(&w);
	cr_assert_eq(ck_ec32_value(ec), v0 + 2, "one wake-up for the burst");
	tk_log_wake(&w);
	cr_assert_eq(ck_ec32_value(ec), v0 + 2, "none without a publish");
	put(&w, 5);
	tk_log_writer_close(&w);
	cr_assert_eq(ck_ec32_value(ec), v0 + 3, "closing gives the one owed");
}

#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "common/err.h"
#include "shm/history.h"
#include "tests/helpers.h"

static struct tk_segment seg;
static char path[128];
static struct tk_history_region *h;

static void setup(void)
{
	struct tk_seg_config c;

	tk_seg_config_default(&c);
	tk_seg_config_add_log(&c, "t", 64, 64, 2);
	c.history.symbols = 4;
	c.history.ntf = 2;
	c.history.tf_ns[0] = 1000000000LL;
	c.history.depth[0] = 8;
	c.history.tf_ns[1] = 60000000000LL;
	c.history.depth[1] = 3;
	cr_assert_eq(tk_segment_create(&seg, tk_test_path(path, sizeof(path), "hist"), &c, true), 0,
		     "%s", tk_err_msg());
	h = tk_history_of(&seg);
	cr_assert_not_null(h);
}

static void teardown(void)
{
	tk_segment_detach(&seg);
	unlink(path);
}

TestSuite(history, .init = setup, .fini = teardown);

static struct tk_hist_bar bar(int64_t w)
{
	return (struct tk_hist_bar){ .window_start = w, .open = (double)w, .close = (double)w + 1 };
}

Test(history, keeps_the_newest_bars_oldest_first)
{
	struct tk_hist_bar out[16], b;
	int64_t w;
	uint32_t n;

	cr_assert_eq(tk_history_tf(h, 60000000000LL), 1);
	cr_assert_eq(tk_history_tf(h, 5), -1);
	cr_assert_eq(tk_history_read(h, 0, 2, out, 16), 0);
	for (w = 1; w <= 20; w++) {
		b = bar(w);
		cr_assert_eq(tk_history_append(h, 0, 2, &b), 1);
	}
	n = tk_history_read(h, 0, 2, out, 16);
	cr_assert_eq(n, 7, "depth 8 keeps 7 readable while the 8th may be written");
	for (w = 0; w < 7; w++)
		cr_assert_eq(out[w].window_start, 14 + w);
	n = tk_history_read(h, 0, 2, out, 3);
	cr_assert_eq(n, 3);
	cr_assert_eq(out[0].window_start, 18);
	cr_assert_eq(out[2].window_start, 20);
	cr_assert_eq(tk_history_read(h, 0, 1, out, 16), 0, "another symbol is empty");
	cr_assert_eq(tk_history_read(h, 0, 9, out, 16), 0, "beyond the history's symbols");
}

Test(history, appends_are_idempotent_for_a_replay)
{
	struct tk_hist_bar out[4], b = bar(100);

	cr_assert_eq(tk_history_append(h, 1, 0, &b), 1);
	cr_assert_eq(tk_history_append(h, 1, 0, &b), 0, "the same window again");
	b = bar(50);
	cr_assert_eq(tk_history_append(h, 1, 0, &b), 0, "an older window");
	b = bar(160);
	cr_assert_eq(tk_history_append(h, 1, 0, &b), 1);
	cr_assert_eq(tk_history_read(h, 1, 0, out, 4), 2);
	cr_assert_eq(out[0].window_start, 100);
	cr_assert_eq(out[1].window_start, 160);
	b = bar(200);
	cr_assert_eq(tk_history_append(h, 1, 9, &b), 0, "no ring for that symbol");
}

/* A worker killed between filling the bar's slot and publishing the count
 * (what the old code guarded with last_window, stored first) leaves a bar
 * nobody can read: its successor appends the same bar, and it must go in. */
Test(history, crash_between_bar_and_count_keeps_the_bar)
{
	struct tk_hist_bar out[4], b = bar(100);
	struct tk_hist_ring *r;

	cr_assert_eq(tk_history_append(h, 1, 1, &b), 1);
	/* The killed writer's state for bar 160: slot filled and its window
	 * noted, count not yet published. */
	r = (struct tk_hist_ring *)((uint8_t *)h + h->tf_offset[1] +
				    (sizeof(*r) + h->depth[1] * sizeof(struct tk_hist_bar)));
	cr_assert_eq(r->count, 1);
	((struct tk_hist_bar *)(r + 1))[1] = bar(160);
	r->last_window = 160;
	b = bar(160);
	cr_assert_eq(tk_history_append(h, 1, 1, &b), 1, "the successor's append goes in");
	cr_assert_eq(tk_history_read(h, 1, 1, out, 4), 2);
	cr_assert_eq(out[1].window_start, 160);
	cr_assert_eq(tk_history_append(h, 1, 1, &b), 0, "and only once");
}

static volatile int stop;
static volatile int appended; /* the writer has appended at least once */

static void *writer(void *arg)
{
	int64_t w = 1;

	(void)arg;
	while (!stop) {
		struct tk_hist_bar b = bar(w++);

		b.high = b.low = b.volume = (double)b.window_start;
		tk_history_append(h, 0, 3, &b);
		appended = 1;
	}
	return NULL;
}

Test(history, readers_never_see_a_torn_or_out_of_order_copy)
{
	struct tk_hist_bar out[7];
	pthread_t th;
	int i, reads = 0;
	uint32_t n, k;

	pthread_create(&th, NULL, writer, NULL);
	/* On a loaded 2-core host the writer may not run for a while. */
	while (!appended)
		sched_yield();
	for (i = 0; i < 200000; i++) {
		n = tk_history_read(h, 0, 3, out, 7);
		for (k = 0; k < n; k++) {
			cr_assert_eq(out[k].high, (double)out[k].window_start, "torn bar");
			if (k > 0)
				cr_assert_eq(out[k].window_start, out[k - 1].window_start + 1);
		}
		reads += n > 0;
	}
	stop = 1;
	pthread_join(th, NULL);
	cr_assert_gt(reads, 0);
}

/*
 * The worker with several inputs, through its real run loop: the order of
 * applying records from two tick logs is a function of their contents, not
 * of what each log held when the worker looked; each input is judged late
 * by its own clock; a silent input stops being waited for; and a lateness
 * of a minute with 1 s bars keeps every window open.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "engine/worker.h"
#include "shm/records.h"
#include "tests/helpers.h"

#define S(x) ((int64_t)((x) * 1e9 + 0.5))
#define T0 S(1704205800)

struct rig {
	struct tk_segment seg;
	char path[128];
	struct tk_log_writer in[2];
	int32_t sym[3];
};

static void rig_open(struct rig *r, uint32_t inputs)
{
	struct tk_seg_config c;
	uint32_t i;

	tk_seg_config_default(&c);
	c.symbol_capacity = 64;
	c.state_record_size = (uint32_t)((sizeof(struct tk_live) + TK_STATE_HEADER + 63) & ~63ul);
	tk_seg_config_add_log(&c, "ticks.0", 4096, 64, 4);
	if (inputs > 1)
		tk_seg_config_add_log(&c, "ticks.1", 4096, 64, 4);
	tk_seg_config_add_log(&c, "bars.1s", 4096, 256, 4);
	tk_seg_config_add_log(&c, "bars.1m", 4096, 256, 4);
	tk_seg_config_add_log(&c, "signals", 4096, 128, 4);
	cr_assert_eq(tk_segment_create(&r->seg, tk_test_path(r->path, sizeof(r->path), "mg"), &c,
				       true), 0, "%s", tk_err_msg());
	for (i = 0; i < inputs; i++) {
		char name[16];

		snprintf(name, sizeof(name), "ticks.%u", i);
		cr_assert_eq(tk_log_writer_open(&r->in[i], tk_log_find(&r->seg, name)), 0);
	}
	r->sym[0] = tk_symtab_intern(tk_symtab_of(&r->seg), "AAPL", 4);
	r->sym[1] = tk_symtab_intern(tk_symtab_of(&r->seg), "MSFT", 4);
	r->sym[2] = tk_symtab_intern(tk_symtab_of(&r->seg), "NVDA", 4);
}

static void rig_close(struct rig *r)
{
	char ck[160];

	snprintf(ck, sizeof(ck), "%s.engine.0", r->path);
	unlink(ck);
	tk_segment_detach(&r->seg);
	unlink(r->path);
}

static void put_tick(struct rig *r, int in, int sym, int64_t ts, double price, double size)
{
	struct tk_tick k = { .ts_ns = ts, .price = price, .size = size, .feed = (uint32_t)in };

	cr_assert_eq(tk_log_write(&r->in[in], TK_REC_TICK, (uint32_t)r->sym[sym], &k, sizeof(k)),
		     TK_LOG_OK);
}

static void put_hb(struct rig *r, int in, int64_t clock, uint32_t flags)
{
	struct tk_heartbeat h = { .clock_ns = clock, .flags = flags, .feed = (uint32_t)in };

	cr_assert_eq(tk_log_write(&r->in[in], TK_REC_HEARTBEAT, 0, &h, sizeof(h)), TK_LOG_OK);
}

struct job {
	struct tk_worker w;
	struct tk_worker_cfg cfg;
	struct tk_segment *seg;
	volatile int stop;
	int rc;
};

static void *run_worker(void *arg)
{
	struct job *j = arg;

	j->rc = tk_worker_open(&j->w, j->seg, &j->cfg);
	if (j->rc == 0)
		tk_worker_run(&j->w, &j->stop);
	return NULL;
}

static void job_cfg(struct job *j, struct tk_segment *seg)
{
	memset(j, 0, sizeof(*j));
	tk_worker_cfg_default(&j->cfg);
	j->cfg.ntf = (uint32_t)tk_timeframes_parse("1s,1m", j->cfg.tf_ns, TK_MAX_TF);
	j->cfg.pct_tf_mask = 2;
	j->cfg.exit_at_end = true;
	j->seg = seg;
}

/* Every record of an output log, payload bytes, from the start. */
static size_t dump(struct tk_segment *seg, const char *log, uint8_t *out, size_t cap)
{
	struct tk_reader_opts o = { .start = TK_START_OLDEST };
	struct tk_log_reader r;
	uint8_t buf[256];
	size_t n = 0;

	cr_assert_eq(tk_log_reader_open(&r, seg, log, &o), 0);
	while (tk_log_read(&r, (struct tk_slot *)buf) == TK_LOG_OK && n + r.slot_size <= cap) {
		memcpy(out + n, buf + 8, r.slot_size - 8); /* type, aux, payload */
		n += r.slot_size - 8;
	}
	return n;
}

/* Input 0 trades 100 s ahead of input 1: with one stream time (the largest
 * clock) every trade of input 1 would be late; each is judged by its own
 * input's clock, and windows close once both clocks passed them. */
Test(merge, an_input_behind_another_is_not_late)
{
	struct rig r;
	struct job j;
	pthread_t th;
	int i;

	rig_open(&r, 2);
	for (i = 0; i < 10; i++) {
		put_tick(&r, 0, 0, T0 + S(100 + i + 0.5), 100 + i, 1);
		put_hb(&r, 0, T0 + S(101 + i), 0);
		put_tick(&r, 1, 1, T0 + S(i + 0.5), 200 + i, 2);
		put_hb(&r, 1, T0 + S(1 + i), 0);
	}
	put_hb(&r, 0, T0 + S(111), TK_HEARTBEAT_F_END);
	put_hb(&r, 1, T0 + S(11), TK_HEARTBEAT_F_END);
	job_cfg(&j, &r.seg);
	cr_assert_eq(pthread_create(&th, NULL, run_worker, &j), 0);
	pthread_join(th, NULL);
	cr_assert_eq(j.rc, 0, "%s", tk_err_msg());
	cr_assert_eq(j.w.stats.late, 0, "%llu late", (unsigned long long)j.w.stats.late);
	cr_assert_eq(j.w.stats.ticks, 20);
	cr_assert_eq(j.w.stats.bars, 20 + 2, "10 + 10 one-second bars and two 1m bars");
	tk_worker_close(&j.w);
	rig_close(&r);
}

/* The same two inputs, written all at once or trickled while the worker
 * runs (so its reads find different amounts in each log), give the same
 * bars and signals, byte for byte. */
static void two_feeds(struct rig *r, bool trickle, uint8_t *out, size_t *n)
{
	struct job j;
	pthread_t th;
	int i;

	rig_open(r, 2);
	job_cfg(&j, &r->seg);
	if (trickle)
		cr_assert_eq(pthread_create(&th, NULL, run_worker, &j), 0);
	for (i = 0; i < 600; i++) {
		/* Equal event times across the inputs, and trades a little late. */
		int64_t t = T0 + S(i * 0.25);

		put_tick(r, 0, i % 3, t, 100 + (i % 17), 1 + i % 5);
		put_tick(r, 1, (i + 1) % 3, t - (i % 4 == 0 ? S(0.7) : 0), 101 + (i % 13), 2);
		if (i % 4 == 3) {
			put_hb(r, 0, t + S(0.1), 0);
			put_hb(r, 1, t + S(0.1), 0);
		}
		if (trickle && i % (7 + i % 5) == 0)
			tk_sleep_ns((i % 3) * 200000);
	}
	put_hb(r, 0, T0 + S(150), TK_HEARTBEAT_F_END);
	put_hb(r, 1, T0 + S(150), TK_HEARTBEAT_F_END);
	if (!trickle)
		cr_assert_eq(pthread_create(&th, NULL, run_worker, &j), 0);
	pthread_join(th, NULL);
	cr_assert_eq(j.rc, 0, "%s", tk_err_msg());
	*n = dump(&r->seg, "bars.1s", out, 1 << 20);
	*n += dump(&r->seg, "bars.1m", out + *n, (1 << 20) - *n);
	*n += dump(&r->seg, "signals", out + *n, (1 << 20) - *n);
	tk_worker_close(&j.w);
	rig_close(r);
}

Test(merge, the_order_of_two_inputs_does_not_depend_on_timing)
{
	static uint8_t a[1 << 20], b[1 << 20];
	struct rig r1, r2;
	size_t na, nb;
	int round;

	two_feeds(&r1, false, a, &na);
	cr_assert_gt(na, 100 * 248, "bars were made");
	for (round = 0; round < 5; round++) {
		two_feeds(&r2, true, b, &nb);
		cr_assert_eq(nb, na, "round %d: %zu bytes of output, want %zu", round, nb, na);
		cr_assert_eq(memcmp(a, b, na), 0, "round %d: the outputs differ", round);
	}
}

/* An input with a log but no feed: waited for input_silence_ns, then not,
 * counted; the other input's bars close. */
Test(merge, a_silent_input_is_no_longer_waited_for)
{
	struct rig r;
	struct job j;
	pthread_t th;
	int i;

	rig_open(&r, 2);
	for (i = 0; i < 10; i++) {
		put_tick(&r, 0, 0, T0 + S(i + 0.5), 100 + i, 1);
		put_hb(&r, 0, T0 + S(i + 1), 0);
	}
	job_cfg(&j, &r.seg);
	j.cfg.exit_at_end = false;
	j.cfg.input_silence_ns = 50 * 1000 * 1000;
	cr_assert_eq(pthread_create(&th, NULL, run_worker, &j), 0);
	for (i = 0; i < 2500 && __atomic_load_n(&j.w.stats.bars, __ATOMIC_RELAXED) < 8; i++)
		tk_sleep_ns(2 * 1000 * 1000);
	j.stop = 1;
	pthread_join(th, NULL);
	cr_assert_eq(j.w.stats.inputs_dropped, 1);
	cr_assert_eq(j.w.stats.bars, 8, "the 1 s bars of seconds 0-7: closed by 10 s, lateness 2 s");
	tk_worker_close(&j.w);
	rig_close(&r);
}

/* SPARK_WATERMARK_SECONDS=60 with 1 s bars: sixty windows stay open, and a
 * trade 59 s late still lands in its own bar. */
Test(merge, a_minute_of_lateness_with_one_second_bars)
{
	struct rig r;
	struct job j;
	pthread_t th;
	int i;

	rig_open(&r, 1);
	for (i = 0; i < 120; i++)
		put_tick(&r, 0, 0, T0 + S(i + 0.5), 100, 1);
	for (i = 0; i < 60; i++)
		put_tick(&r, 0, 0, T0 + S(60 + i + 0.25), 100, 2); /* 59.25 s late at most */
	put_hb(&r, 0, T0 + S(200), TK_HEARTBEAT_F_END);
	job_cfg(&j, &r.seg);
	j.cfg.lateness_ns = S(60);
	cr_assert_eq(pthread_create(&th, NULL, run_worker, &j), 0);
	pthread_join(th, NULL);
	cr_assert_eq(j.rc, 0, "%s", tk_err_msg());
	cr_assert_eq(j.w.stats.late, 0);
	cr_assert_eq(j.w.stats.bars, 120 + 2);
	{
		static uint8_t out[1 << 20];
		size_t n = dump(&r.seg, "bars.1s", out, sizeof(out));
		struct tk_bar_rec b;

		cr_assert_eq(n, 120 * 248);
		memcpy(&b, out + 8 + 90 * 248, sizeof(b)); /* the bar of second 90 */
		cr_assert_eq(b.window_start, T0 + S(90));
		cr_assert_eq(b.volume, 3, "its own trade and the late one");
		cr_assert_eq(b.trade_count, 2);
	}
	tk_worker_close(&j.w);
	rig_close(&r);
}

/* An input whose END was applied is still read: a new stream after it (a
 * feed run again on the same segment) is applied, not left to fill the
 * ring with the worker's cursor parked at the END. */
struct restream {
	uint64_t ticks_first, ticks_after; /* applied after the first stream, and after the second */
	uint64_t bars_first, bars_after;
};

/* Every input one stream then its END, drained; then input 0 a second
 * stream (BEGIN, 5 trades, END), drained by the same worker. */
static struct restream ended_then_new_stream(uint32_t inputs)
{
	struct restream out;
	struct rig r;
	struct job j;
	pthread_t th;
	uint32_t n;
	int i;

	rig_open(&r, inputs);
	for (i = 0; i < 5; i++)
		for (n = 0; n < inputs; n++)
			put_tick(&r, (int)n, (int)n, T0 + S(i + 0.5), 100 + n, 1);
	for (n = 0; n < inputs; n++)
		put_hb(&r, (int)n, T0 + S(6), TK_HEARTBEAT_F_END);
	job_cfg(&j, &r.seg);
	cr_assert_eq(pthread_create(&th, NULL, run_worker, &j), 0);
	pthread_join(th, NULL);
	out.ticks_first = j.w.stats.ticks;
	out.bars_first = j.w.stats.bars;
	put_hb(&r, 0, T0 + S(100), TK_HEARTBEAT_F_BEGIN);
	for (i = 0; i < 5; i++)
		put_tick(&r, 0, 0, T0 + S(100 + i + 0.5), 101, 2);
	put_hb(&r, 0, T0 + S(106), TK_HEARTBEAT_F_END);
	tk_worker_run(&j.w, &j.stop);
	out.ticks_after = j.w.stats.ticks;
	out.bars_after = j.w.stats.bars;
	tk_worker_close(&j.w);
	rig_close(&r);
	return out;
}

Test(merge, an_input_that_ended_is_read_again_when_a_new_stream_follows)
{
	struct restream o = ended_then_new_stream(2);

	cr_assert_eq(o.ticks_first, 10);
	cr_assert_eq(o.ticks_after, 15, "the new stream's ticks are applied");
	cr_assert_eq(o.bars_after, o.bars_first + 5 + 1, "and their bars closed at its end");
}

Test(merge, a_single_input_that_ended_is_read_again_when_a_new_stream_follows)
{
	struct restream o = ended_then_new_stream(1);

	cr_assert_eq(o.ticks_first, 5);
	cr_assert_eq(o.ticks_after, 10, "the new stream's ticks are applied");
	cr_assert_eq(o.bars_after, o.bars_first + 5 + 1, "and their bars closed at its end");
}

/* A tick log no feed writes (a spare one, or one left by a run with more
 * feeds) does not hold the end of stream: once it is no longer waited for,
 * the other input's END closes every bar and --exit-at-end exits. */
struct deadline_job {
	struct job *j;
	volatile int done;
};

static void *run_and_mark(void *arg)
{
	struct deadline_job *d = arg;

	run_worker(d->j);
	d->done = 1;
	return NULL;
}

Test(merge, a_tick_log_no_feed_writes_does_not_hold_the_end_of_stream)
{
	struct rig r;
	struct job j;
	struct deadline_job d = { .j = &j };
	pthread_t th;
	int i;

	rig_open(&r, 2);
	for (i = 0; i < 10; i++)
		put_tick(&r, 0, 0, T0 + S(i + 0.5), 100 + i, 1);
	put_hb(&r, 0, T0 + S(11), TK_HEARTBEAT_F_END);
	job_cfg(&j, &r.seg);
	j.cfg.input_silence_ns = 50 * 1000 * 1000;
	cr_assert_eq(pthread_create(&th, NULL, run_and_mark, &d), 0);
	for (i = 0; i < 2500 && !d.done; i++)
		tk_sleep_ns(2 * 1000 * 1000);
	if (!d.done) {
		j.stop = 1;
		pthread_join(th, NULL);
		cr_assert_fail("the worker did not exit at the end of the only written input "
			       "(%llu bars)", (unsigned long long)j.w.stats.bars);
	}
	pthread_join(th, NULL);
	cr_assert_eq(j.w.stats.ticks, 10);
	cr_assert_eq(j.w.stats.bars, 10 + 1, "every bar closed at the end");
	tk_worker_close(&j.w);
	rig_close(&r);
}

/* Every feed id has its tick log read: a trade in ticks.15 is applied
 * (a worker used to read the first eight tick logs only). */
Test(merge, all_sixteen_feed_ids_are_read)
{
	struct tk_seg_config c;
	struct tk_segment seg;
	struct tk_log_writer wr;
	struct tk_tick k = { .ts_ns = T0 + S(0.5), .price = 10, .size = 1 };
	struct tk_heartbeat end = { .clock_ns = T0 + S(5), .flags = TK_HEARTBEAT_F_END };
	char path[128], name[16];
	struct job j;
	pthread_t th;
	int32_t id;
	int i;

	tk_seg_config_default(&c);
	c.symbol_capacity = 64;
	c.state_record_size = (uint32_t)((sizeof(struct tk_live) + TK_STATE_HEADER + 63) & ~63ul);
	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "ticks.%d", i);
		tk_seg_config_add_log(&c, name, 64, 64, 2);
	}
	tk_seg_config_add_log(&c, "bars.1s", 1024, 256, 2);
	tk_seg_config_add_log(&c, "bars.1m", 1024, 256, 2);
	tk_seg_config_add_log(&c, "signals", 1024, 128, 2);
	cr_assert_eq(tk_segment_create(&seg, tk_test_path(path, sizeof(path), "mg16"), &c, true), 0,
		     "%s", tk_err_msg());
	id = tk_symtab_intern(tk_symtab_of(&seg), "AAPL", 4);
	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "ticks.%d", i);
		cr_assert_eq(tk_log_writer_open(&wr, tk_log_find(&seg, name)), 0);
		if (i == 15)
			tk_log_write(&wr, TK_REC_TICK, (uint32_t)id, &k, sizeof(k));
		tk_log_write(&wr, TK_REC_HEARTBEAT, 0, &end, sizeof(end));
		tk_log_writer_close(&wr);
	}
	job_cfg(&j, &seg);
	cr_assert_eq(pthread_create(&th, NULL, run_worker, &j), 0);
	pthread_join(th, NULL);
	cr_assert_eq(j.rc, 0, "%s", tk_err_msg());
	cr_assert_eq(j.w.nin, 16);
	cr_assert_eq(j.w.stats.ticks, 1, "the trade of feed 15 is applied");
	cr_assert_eq(j.w.stats.bars, 2, "its 1s and 1m bars close at the end");
	tk_worker_close(&j.w);
	{
		char ck[160];

		snprintf(ck, sizeof(ck), "%s.engine.0", path);
		unlink(ck);
	}
	tk_segment_detach(&seg);
	unlink(path);
}

/* A feed down long enough to stop being waited for comes back while the
 * other input has ended: its records are applied at once (its stretch ends
 * when nothing else offers a record), and the run reaches its end. */
Test(merge, a_silent_input_that_comes_back_when_nothing_else_flows_is_applied)
{
	struct rig r;
	struct job j;
	struct deadline_job d = { .j = &j };
	pthread_t th;
	int i;

	rig_open(&r, 2);
	put_tick(&r, 1, 1, T0 + S(0.25), 50, 1); /* it had started: not a spare log */
	for (i = 0; i < 10; i++) {
		put_tick(&r, 0, 0, T0 + S(i + 0.5), 100 + i, 1);
		put_hb(&r, 0, T0 + S(i + 1), 0);
	}
	put_hb(&r, 0, T0 + S(11), TK_HEARTBEAT_F_END);
	job_cfg(&j, &r.seg);
	j.cfg.input_silence_ns = 50 * 1000 * 1000;
	cr_assert_eq(pthread_create(&th, NULL, run_and_mark, &d), 0);
	for (i = 0; i < 2500 && __atomic_load_n(&j.w.stats.ticks, __ATOMIC_RELAXED) < 11; i++)
		tk_sleep_ns(2 * 1000 * 1000);
	cr_assert_eq(j.w.stats.inputs_dropped, 1, "input 1 was given up on");
	for (i = 0; i < 5; i++)
		put_tick(&r, 1, 1, T0 + S(20 + i + 0.5), 60 + i, 1);
	put_hb(&r, 1, T0 + S(30), TK_HEARTBEAT_F_END);
	for (i = 0; i < 2500 && !d.done; i++)
		tk_sleep_ns(2 * 1000 * 1000);
	if (!d.done) {
		j.stop = 1;
		pthread_join(th, NULL);
		cr_assert_fail("the worker never applied the input that came back (%llu ticks)",
			       (unsigned long long)j.w.stats.ticks);
	}
	pthread_join(th, NULL);
	cr_assert_eq(j.w.stats.ticks, 16);
	tk_worker_close(&j.w);
	rig_close(&r);
}

#include <criterion/criterion.h>
#include <errno.h>

#include "common/err.h"
#include <pthread.h>

#include "shm/state.h"
#include "tests/helpers.h"

static struct tk_segment seg;
static char path[128];
static struct tk_state_region *st;

static void setup(void)
{
	struct tk_seg_config cfg;

	tk_seg_config_default(&cfg);
	cfg.symbol_capacity = 16;
	cfg.state_record_size = 512;
	tk_seg_config_add_log(&cfg, "t", 64, 64, 2);
	cr_assert_eq(tk_segment_create(&seg, tk_test_path(path, sizeof(path), "st"), &cfg, true), 0);
	st = tk_state_of(&seg);
}

static void teardown(void)
{
	tk_segment_detach(&seg);
	unlink(path);
}

TestSuite(state, .init = setup, .fini = teardown);

Test(state, write_then_read_gives_the_record)
{
	uint8_t out[448];
	uint8_t *p;

	cr_assert_eq(tk_state_payload_size(st), 448);
	p = tk_state_write_begin(st, 3);
	memset(p, 0x11, 448);
	tk_state_write_end(st, 3);
	cr_assert_eq(tk_state_read(st, 3, out, sizeof(out)), 0);
	cr_assert_eq(out[0], 0x11);
	cr_assert_eq(out[447], 0x11);
	cr_assert_eq(tk_state_record(st, 3)->updates, 1);
	cr_assert_eq(tk_state_read(st, 16, out, 8), -ENOENT);
	cr_assert_eq(tk_state_read(st, 3, out, 449), -EINVAL);
}

Test(state, a_writer_that_died_mid_update_is_detected_and_repaired)
{
	uint8_t out[8];
	uint8_t *p;

	p = tk_state_write_begin(st, 1);
	memset(p, 0x22, 8);
	/* No write_end: the writer "died". */
	cr_assert(tk_state_torn(st, 1));
	cr_assert_eq(tk_state_read(st, 1, out, sizeof(out)), -EAGAIN);
	p = tk_state_write_begin(st, 1);
	memset(p, 0x33, 8);
	tk_state_write_end(st, 1);
	cr_assert(!tk_state_torn(st, 1));
	cr_assert_eq(tk_state_read(st, 1, out, sizeof(out)), 0);
	cr_assert_eq(out[7], 0x33);
}

static volatile int stop;

static void *writer(void *arg)
{
	uint64_t v = 0;

	(void)arg;
	while (!stop) {
		uint64_t *p = tk_state_write_begin(st, 0);
		int i;

		v++;
		for (i = 0; i < 56; i++)
			p[i] = v;
		tk_state_write_end(st, 0);
		/* A real writer has gaps between updates (the next tick). */
		for (i = 0; i < 64; i++)
			ck_pr_stall();
	}
	return NULL;
}

Test(state, concurrent_readers_always_see_one_whole_update)
{
	pthread_t th;
	uint64_t out[56];
	int n, i, changes = 0;
	uint64_t last = 0;

	pthread_create(&th, NULL, writer, NULL);
	for (n = 0; n < 50000; n++) {
		int rc = tk_state_read(st, 0, out, sizeof(out));

		if (rc == -EAGAIN)
			continue;
		cr_assert_eq(rc, 0);
		for (i = 1; i < 56; i++)
			cr_assert_eq(out[i], out[0], "torn read: word %d is %llu, word 0 is %llu", i,
				     (unsigned long long)out[i], (unsigned long long)out[0]);
		cr_assert_geq(out[0], last, "snapshots never go back in time");
		changes += out[0] != last;
		last = out[0];
	}
	stop = 1;
	pthread_join(th, NULL);
	cr_assert_gt(changes, 0);
}

#include <criterion/criterion.h>
#include <errno.h>

#include "common/err.h"
#include <pthread.h>
#include <string.h>

#include "common/clock.h"
#include "shm/atomic.h"
#include "shm/ctlring.h"
#include "tests/helpers.h"

static struct tk_segment seg;
static char path[128];
static struct tk_ctl_region *ctl;

static void setup(void)
{
	struct tk_seg_config cfg;

	tk_seg_config_default(&cfg);
	cfg.control_slots = 8;
	tk_seg_config_add_log(&cfg, "t", 64, 64, 2);
	cr_assert_eq(tk_segment_create(&seg, tk_test_path(path, sizeof(path), "ctl"), &cfg, true), 0);
	ctl = tk_ctl_of(&seg);
}

static void teardown(void)
{
	tk_segment_detach(&seg);
	unlink(path);
}

TestSuite(ctlring, .init = setup, .fini = teardown);

Test(ctlring, requests_arrive_in_order)
{
	struct tk_ctl_msg m;

	cr_assert_eq(tk_ctl_send(ctl, TK_CTL_SUBSCRIBE, "AAPL", 1), 0);
	cr_assert_eq(tk_ctl_send(ctl, TK_CTL_UNSUBSCRIBE, "MSFT", 2), 0);
	cr_assert_eq(tk_ctl_recv(ctl, &m, tk_mono_ns()), 1);
	cr_assert_eq(m.type, TK_CTL_SUBSCRIBE);
	cr_assert_str_eq(m.arg, "AAPL");
	cr_assert_eq(m.id, 1);
	cr_assert_eq(m.pid, getpid());
	cr_assert_eq(tk_ctl_recv(ctl, &m, tk_mono_ns()), 1);
	cr_assert_str_eq(m.arg, "MSFT");
	cr_assert_eq(tk_ctl_recv(ctl, &m, tk_mono_ns()), 0);
}

Test(ctlring, full_ring_refuses_and_long_args_are_invalid)
{
	struct tk_ctl_msg m;
	int i;

	for (i = 0; i < 8; i++)
		cr_assert_eq(tk_ctl_send(ctl, TK_CTL_SUBSCRIBE, "X", (uint64_t)i), 0);
	cr_assert_eq(tk_ctl_send(ctl, TK_CTL_SUBSCRIBE, "X", 9), -EAGAIN);
	cr_assert_eq(tk_ctl_recv(ctl, &m, tk_mono_ns()), 1);
	cr_assert_eq(tk_ctl_send(ctl, TK_CTL_SUBSCRIBE, "X", 9), 0);
	cr_assert_eq(tk_ctl_send(ctl, TK_CTL_SUBSCRIBE, "0123456789012345678901234567890123", 1),
		     -EINVAL);
}

Test(ctlring, a_producer_that_died_after_claiming_does_not_wedge_the_ring)
{
	struct tk_ctl_msg m;
	int64_t now = tk_mono_ns();

	/* A producer claimed position 0 and died before publishing. */
	ctl->enqueue_pos = 1;
	cr_assert_eq(tk_ctl_send(ctl, TK_CTL_SUBSCRIBE, "AFTER", 5), 0);
	cr_assert_eq(tk_ctl_recv(ctl, &m, now), 0);
	cr_assert_eq(tk_ctl_recv(ctl, &m, now + TK_CTL_ABANDON_NS / 2), 0);
	cr_assert_eq(tk_ctl_recv(ctl, &m, now + TK_CTL_ABANDON_NS), 1);
	cr_assert_str_eq(m.arg, "AFTER");
	cr_assert_eq(ctl->abandoned, 1);
}

Test(ctlring, a_scribbled_message_is_rejected_and_counted)
{
	struct tk_ctl_msg m;

	cr_assert_eq(tk_ctl_send(ctl, TK_CTL_SUBSCRIBE, "AAPL", 1), 0);
	((struct tk_ctl_msg *)(ctl + 1))[0].arg[0] = 'Z';
	cr_assert_eq(tk_ctl_recv(ctl, &m, tk_mono_ns()), -EBADMSG);
	cr_assert_eq(ctl->rejected, 1);
	cr_assert_eq(tk_ctl_recv(ctl, &m, tk_mono_ns()), 0);
}

#define PER_PRODUCER 20000

static void *produce(void *arg)
{
	uint64_t t = (uint64_t)(uintptr_t)arg, i;
	char name[16];

	for (i = 0; i < PER_PRODUCER; i++) {
		snprintf(name, sizeof(name), "P%llu", (unsigned long long)t);
		while (tk_ctl_send(ctl, TK_CTL_SUBSCRIBE, name, t * PER_PRODUCER + i) == -EAGAIN)
			tk_cpu_relax();
	}
	return NULL;
}

Test(ctlring, many_producers_one_consumer_exactly_once_in_producer_order)
{
	static uint64_t next[4];
	pthread_t th[4];
	struct tk_ctl_msg m;
	uint64_t got = 0;
	int i;

	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, produce, (void *)(uintptr_t)i);
	while (got < 4 * PER_PRODUCER) {
		int rc = tk_ctl_recv(ctl, &m, tk_mono_ns());

		cr_assert_geq(rc, 0);
		if (rc == 0)
			continue;
		uint64_t t = m.id / PER_PRODUCER;
		cr_assert_lt(t, 4);
		cr_assert_eq(m.id % PER_PRODUCER, next[t], "producer %llu out of order",
			     (unsigned long long)t);
		next[t]++;
		got++;
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(tk_ctl_recv(ctl, &m, tk_mono_ns()), 0);
	cr_assert_eq(ctl->abandoned + ctl->rejected, 0);
}

/* ---- Regression: control-ring symbol validation (issue 8).  tk_ctl_send
 * checked only the length, so `tickd subscribe 'AAPL","type":"unsubscribe'`
 * (or any program attached to the segment) put a JSON injection into the
 * ring, which the feed formatted into its message to Finnhub. */

Test(ctlring, regression_symbol_validation_producer_refuses_what_the_rule_refuses)
{
	static const char *const bad[] = { "AAPL\",\"type\":\"unsubscribe", "A\\B", "A\nB", "",
					   "A\x7f", "\xff", "A\xc2\x85",
					   "0123456789012345678901234567890123" };
	struct tk_ctl_msg m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(tk_ctl_send(ctl, TK_CTL_SUBSCRIBE, bad[i], i), -EINVAL, "bad[%zu]", i);
		cr_assert(strncmp(tk_err_msg(), "symbol ", 7) == 0, "bad[%zu]: '%s'", i, tk_err_msg());
	}
	cr_assert(strstr(tk_err_msg(), "34 bytes long") != NULL, "%s", tk_err_msg());
	cr_assert_eq(tk_ctl_send(ctl, 7, "AAPL", 1), -EINVAL, "an unknown type");
	cr_assert_eq(tk_ctl_recv(ctl, &m, tk_mono_ns()), 0, "nothing bad was queued");
	cr_assert_eq(tk_ctl_send(ctl, TK_CTL_SUBSCRIBE, "IC MARKETS:1", 1), 0);
	cr_assert_eq(tk_ctl_recv(ctl, &m, tk_mono_ns()), 1);
	cr_assert_eq(tk_ctl_msg_check(&m, NULL, 0), 0);
	cr_assert_str_eq(m.arg, "IC MARKETS:1");
}

/* A producer that is not libtickd writes what it likes: the consumer's check
 * refuses it, with a reason, while the ring goes on. */
Test(ctlring, regression_symbol_validation_consumer_check_refuses_a_raw_producer)
{
	static const struct {
		uint32_t type;
		const char *arg;
		size_t len;
		const char *why;
	} raw[] = {
		{ TK_CTL_SUBSCRIBE, "AAPL\",\"type\":\"unsubscribe", 25, "holds '\"' at byte 5" },
		{ TK_CTL_SUBSCRIBE, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 32, "without a NUL" },
		{ TK_CTL_UNSUBSCRIBE, "A\tB", 3, "control character 0x09 at byte 2" },
		{ TK_CTL_SUBSCRIBE, "", 0, "0 bytes long" },
		{ 3, "AAPL", 4, "request type 3" },
	};
	struct tk_ctl_msg m;
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		cr_assert_eq(tk__ctl_enqueue(ctl, raw[i].type, raw[i].arg, raw[i].len, i), 0);
		cr_assert_eq(tk_ctl_recv(ctl, &m, tk_mono_ns()), 1, "raw[%zu]", i);
		why[0] = '\0';
		cr_assert_eq(tk_ctl_msg_check(&m, why, sizeof(why)), -EINVAL, "raw[%zu]", i);
		cr_assert(strstr(why, raw[i].why) != NULL, "raw[%zu]: '%s', want '%s'", i, why,
			  raw[i].why);
	}
	cr_assert_eq(tk_ctl_send(ctl, TK_CTL_UNSUBSCRIBE, "MSFT", 9), 0);
	cr_assert_eq(tk_ctl_recv(ctl, &m, tk_mono_ns()), 1);
	cr_assert_eq(tk_ctl_msg_check(&m, why, sizeof(why)), 0, "%s", why);
}

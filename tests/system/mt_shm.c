/*
 * Threads over the symbol table and the control ring, for ThreadSanitizer
 * (Criterion cannot run under it): concurrent adders must agree on one id
 * per name, and many producers must deliver every request exactly once, in
 * each producer's order, to the single consumer.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <errno.h>

#include "common/clock.h"
#include "common/err.h"
#include "shm/atomic.h"
#include "shm/ctlring.h"
#include "shm/symtab.h"
#include "tests/helpers.h"

#define NAMES 2000
#define PRODUCERS 3
#define PER_PRODUCER 20000

static struct tk_symtab_region *tab;
static struct tk_ctl_region *ctl;
static int32_t ids[2][NAMES];

static void *adder(void *arg)
{
	int t = (int)(intptr_t)arg, i;
	char name[32];

	for (i = 0; i < NAMES; i++) {
		int k = t == 0 ? i : NAMES - 1 - i;

		snprintf(name, sizeof(name), "SYM%d", k);
		ids[t][k] = tk_symtab_intern(tab, name, (uint32_t)strlen(name));
	}
	return NULL;
}

static void *producer(void *arg)
{
	uint64_t t = (uint64_t)(uintptr_t)arg, i;

	for (i = 0; i < PER_PRODUCER; i++)
		while (tk_ctl_send(ctl, TK_CTL_SUBSCRIBE, "X", t * PER_PRODUCER + i) == -EAGAIN)
			tk_cpu_relax();
	return NULL;
}

int main(void)
{
	struct tk_seg_config cfg;
	struct tk_segment seg;
	pthread_t th[PRODUCERS];
	uint64_t next[PRODUCERS] = { 0 }, got = 0;
	struct tk_ctl_msg m;
	char path[128], name[32];
	int i, failures = 0;

	tk_seg_config_default(&cfg);
	cfg.symbol_capacity = 2 * NAMES;
	cfg.control_slots = 64;
	tk_seg_config_add_log(&cfg, "t", 64, 64, 2);
	if (tk_segment_create(&seg, tk_test_path(path, sizeof(path), "mtshm"), &cfg, true) < 0) {
		fprintf(stderr, "%s\n", tk_err_msg());
		return 1;
	}
	tab = tk_symtab_of(&seg);
	ctl = tk_ctl_of(&seg);

	pthread_create(&th[0], NULL, adder, (void *)0);
	pthread_create(&th[1], NULL, adder, (void *)1);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	for (i = 0; i < NAMES; i++) {
		snprintf(name, sizeof(name), "SYM%d", i);
		if (ids[0][i] < 0 || ids[0][i] != ids[1][i] ||
		    tk_symtab_find(tab, name, (uint32_t)strlen(name)) != ids[0][i]) {
			fprintf(stderr, "FAIL: %s has ids %d and %d\n", name, ids[0][i], ids[1][i]);
			failures++;
		}
	}

	for (i = 0; i < PRODUCERS; i++)
		pthread_create(&th[i], NULL, producer, (void *)(uintptr_t)i);
	while (got < (uint64_t)PRODUCERS * PER_PRODUCER) {
		int rc = tk_ctl_recv(ctl, &m, tk_mono_ns());
		uint64_t t;

		if (rc < 0) {
			fprintf(stderr, "FAIL: control message rejected\n");
			failures++;
			continue;
		}
		if (rc == 0)
			continue;
		t = m.id / PER_PRODUCER;
		if (t >= PRODUCERS || m.id % PER_PRODUCER != next[t]) {
			fprintf(stderr, "FAIL: request %llu out of order\n", (unsigned long long)m.id);
			failures++;
			break;
		}
		next[t]++;
		got++;
	}
	for (i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	printf("symbols: %d names added by two threads, one id each; control ring: %llu requests "
	       "from %d producers, each once and in order\n", NAMES, (unsigned long long)got,
	       PRODUCERS);
	tk_segment_detach(&seg);
	unlink(path);
	printf("%s\n", failures ? "FAILED" : "PASSED");
	return failures ? 1 : 0;
}

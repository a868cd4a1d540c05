/*
 * Writer and verifying readers for the multi-process and multi-thread log
 * tests.  Every record carries its sequence and a function of it, so a
 * reader can tell a wrong, torn, duplicated or reordered record apart.
 */
#ifndef TK_TESTS_LOGCHECK_H
#define TK_TESTS_LOGCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/log.h"

struct tk_check_result {
	uint64_t received;  /* records read */
	uint64_t skipped;   /* sequences reported missed */
	uint64_t gaps;
	uint64_t errors;    /* wrong payloads, out-of-order or duplicate sequences */
	uint64_t first_seq; /* first sequence received */
	uint64_t last_seq;
	uint64_t first_gap_from;
	uint64_t first_gap_to;
	bool resumed;
	uint64_t resumed_at;
};

/* Number of slots for the tests: TICKD_TEST_SCALE=small divides by 10. */
uint64_t tk_check_scale(uint64_t n);

/* Write sequences 1..n (continuing from wherever the log is) in batches of
 * up to `batch`, each record checkable.  Returns the last sequence written. */
uint64_t tk_check_write(struct tk_log_region *log, uint64_t n, uint32_t batch, bool verbose);

/* Open a reader (gating if asked) and verify everything up to sequence
 * `until`.  commit_every: commit the cursor every that many records. */
enum tk_check_idle { TK_CHECK_BACKOFF, TK_CHECK_SPIN };

int tk_check_read(const struct tk_segment *seg, const char *log, const char *name, bool gating,
		  enum tk_check_idle idle, uint64_t until, uint32_t commit_every,
		  volatile struct tk_check_result *res);

void tk_check_print(const char *who, const struct tk_check_result *res);

#endif

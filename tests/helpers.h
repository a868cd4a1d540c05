/* Shared by the tests: throw-away segments under /dev/shm. */
#ifndef TK_TESTS_HELPERS_H
#define TK_TESTS_HELPERS_H

#include <stdio.h>
#include <unistd.h>

#include "shm/segment.h"

/* A unique path for this process and call. */
static inline const char *tk_test_path(char *buf, size_t cap, const char *tag)
{
	static int counter;

	snprintf(buf, cap, "/dev/shm/tickd-test-%s-%d-%d", tag, (int)getpid(), counter++);
	return buf;
}

/* A segment with one log "t" of nslots 64-byte slots and nreaders cursor slots. */
static inline int tk_test_segment(struct tk_segment *seg, char *path, size_t cap,
				  uint32_t nslots, uint32_t nreaders)
{
	struct tk_seg_config cfg;

	tk_seg_config_default(&cfg);
	cfg.symbol_capacity = 1024;
	tk_seg_config_add_log(&cfg, "t", nslots, 64, nreaders);
	return tk_segment_create(seg, tk_test_path(path, cap, "seg"), &cfg, true);
}

/* A system test's soft assertion: report and count, go on; the program's
 * exit status says whether any failed (needs an int `failures`). */
#define CHECK(cond, ...)                                       \
	do {                                                   \
		if (!(cond)) {                                 \
			fprintf(stderr, "FAIL: " __VA_ARGS__); \
			fputc('\n', stderr);                  \
			failures++;                            \
		}                                              \
	} while (0)

#endif

/* The `tickd` command: one entry point, a function per subcommand.  The
 * roles' commands are declared by the roles (engine/cmd.h, feed/cmd.h);
 * tools/ includes them, never the reverse. */
#ifndef TK_TOOLS_H
#define TK_TOOLS_H

#include <stdbool.h>
#include <stddef.h>

#include "api/cmd.h"
#include "common/json.h"
#include "engine/cmd.h"
#include "feed/cmd.h"
#include "kafka/cmd.h"
#include "persist/cmd.h"
#include "shm/log.h"
#include "shm/segment.h"
#include "shm/stats.h"
#include "shm/symtab.h"

struct tk_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

int tk_cmd_init(int argc, char **argv);
int tk_cmd_info(int argc, char **argv);
int tk_cmd_clean(int argc, char **argv);
int tk_cmd_tail(int argc, char **argv);
int tk_cmd_stats(int argc, char **argv);
int tk_cmd_top(int argc, char **argv);
int tk_cmd_run(int argc, char **argv);
int tk_cmd_subscribe(int argc, char **argv);
int tk_cmd_unsubscribe(int argc, char **argv);
int tk_cmd_config(int argc, char **argv);

/* Attach for reading (the segment named by --shm-path or the environment);
 * prints the error and returns non-zero on failure. */
int tk_tool_attach(struct tk_segment *seg, const char *path);

/* Render one log record as a JSON line (no newline) per the data contract. */
void tk_render_record(struct tk_buf *b, const struct tk_slot *slot,
		      const struct tk_symtab_region *symbols);

/* Stats of the whole segment as one JSON object.  rate[i] is log i's
 * writes per second (or < 0 if unknown). */
/* One line per feed that has run on the segment (tickd stats, top). */
void tk_print_feeds(const struct tk_segment *seg);
/* The feeds' metrics as JSON objects, comma-separated (no brackets). */
void tk_render_feeds_json(struct tk_buf *b, const struct tk_segment *seg);
void tk_render_stats_json(struct tk_buf *b, const struct tk_segment *seg,
			  const struct tk_log_stats *logs, const double *rate, size_t nlogs);

/* Snapshot every log of seg into out[] (at most max); returns how many. */
size_t tk_collect_stats(const struct tk_segment *seg, struct tk_log_stats *out, size_t max,
			double *rate, double interval_s, bool sample_twice);

#endif

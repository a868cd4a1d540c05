/*
 * Configuration: one table of every setting of every command, and the file.
 *
 * DESIGN (DESIGN.md, Configuration): a setting's value comes from, in
 * precedence order, its command-line flag, its environment variable(s), the
 * configuration file (INI, `--config FILE` or TICKD_CONFIG, a section per
 * role) and its default.  The table below (common/config.c) is the only
 * place that knows a setting's file section, its environment names and
 * which commands take it; commands keep their getopt_long loops unchanged.
 * Before the loop, tk_config_args() rewrites the argument vector to
 *
 *	argv[0]  [file values as --name=value]  [environment values]  argv[1..]
 *
 * so getopt sees every source in precedence order and the last one wins,
 * and every value goes through the command's own checks.  Each synthetic
 * argument remembers where it came from, so tk_opt_fail() (common/opts.c)
 * names a bad value as the user wrote it: `--watermark`,
 * `WATERMARK_SECONDS` or `tickd.conf:12 watermark`.
 *
 * The file is strict: an unknown section, an unknown key, a key in the wrong
 * section, a key set twice or a flag that is not true/false is an error with
 * file:line, exit 2, so a typo is never silently ignored.  A value longer
 * than a line (inih reads at most 199 bytes a line) continues on indented
 * lines, the parts joined by commas.  `--config FILE` is exported as
 * TICKD_CONFIG, so the children of `tickd run` read the same file.
 *
 * One process runs one command: the state is per process, not thread-safe.
 */
#ifndef TK_COMMON_CONFIG_H
#define TK_COMMON_CONFIG_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* The commands that take settings, as bits of tk_setting.cmds. */
enum {
	TK_CMD_RUN = 1u << 0,
	TK_CMD_FEED = 1u << 1,
	TK_CMD_SUBSCRIBE = 1u << 2,
	TK_CMD_UNSUBSCRIBE = 1u << 3,
	TK_CMD_MOCK = 1u << 4,
	TK_CMD_ENGINE = 1u << 5,
	TK_CMD_INIT = 1u << 6,
	TK_CMD_INFO = 1u << 7,
	TK_CMD_CLEAN = 1u << 8,
	TK_CMD_TAIL = 1u << 9,
	TK_CMD_STATS = 1u << 10,
	TK_CMD_TOP = 1u << 11,
	TK_CMD_PERSIST = 1u << 12,
	TK_CMD_EXPORT = 1u << 13,
	TK_CMD_JOURNAL = 1u << 14,
	TK_CMD_KAFKA = 1u << 15,
	TK_CMD_API = 1u << 16,
	TK_CMD_COUNT = 17,
};

enum {
	TK_SET_BOOL = 1u << 0,   /* a flag without a value: true/false in the file */
	TK_SET_SECRET = 1u << 1, /* redacted by tickd config */
	TK_SET_NOFLAG = 1u << 2, /* refused on the command line (ps shows it to everyone) */
};

struct tk_setting {
	const char *section;    /* where it lives in the file: "global", "engine", ... */
	const char *name;       /* the long option and the file key */
	const char *env[4];     /* environment names, NULL-terminated; the first set wins */
	unsigned cmds;          /* TK_CMD_* of the commands that take --name */
	unsigned flags;         /* TK_SET_* */
	const char *def;        /* the default, as text for tickd config */
	const char *help;
};

extern const struct tk_setting tk_settings[];
extern const size_t tk_nsettings;
/* The file's sections, in the order tickd config prints them. */
extern const char *const tk_config_sections[];

/* The command's TK_CMD_* bit (by its name, like "engine"), or 0. */
unsigned tk_config_cmd_bit(const char *cmd);
/* Name of command bit i (0 <= i < TK_CMD_COUNT). */
const char *tk_config_cmd_name(unsigned i);
/* The setting `name` that command `cmd` (a TK_CMD_* bit) takes, or NULL. */
const struct tk_setting *tk_config_setting(unsigned cmd, const char *name);

/*
 * Read the configuration file `file` (strict, see above), replacing what an
 * earlier call read; NULL forgets it.  Returns 0, or a negative errno with
 * tk_err_msg() one line like "tickd.conf:3: unknown key 'watermrk' in
 * [engine]".  On error nothing of the file is kept.
 */
int tk_config_load(const char *file, const char *from);

/* The file read and what named it ("--config" or "TICKD_CONFIG"), or NULL. */
const char *tk_config_file(const char **from);

/*
 * The value of s from the environment or the file (a flag is not seen
 * here), or NULL if neither sets it.  origin (cap bytes) gets "env NAME" or
 * "FILE:LINE".  For a flag setting the value is "true" or "false".  The
 * string stays valid until the next tk_config_load().
 */
const char *tk_config_lookup(const struct tk_setting *s, char *origin, size_t cap);

/* tk_config_lookup of the setting [section] name (any command), or NULL. */
const char *tk_config_value(const char *section, const char *name);

/*
 * Build the argument vector of command argv[0] (see the design above):
 * removes `--config FILE` (exporting it as TICKD_CONFIG), reads the file
 * named by it or by TICKD_CONFIG, and puts the file's and the environment's
 * values of the command's settings before argv[1..].  Only settings that
 * longopts has are added.  Returns 0 and *out_argc and *out_argv (allocated,
 * kept for the life of the process), or a negative errno and a one-line
 * tk_err_msg().  Also makes tk_opt_fail() name origins.
 */
int tk_config_build(const struct option *longopts, int argc, char **argv, int *out_argc,
		    char ***out_argv);

/*
 * tk_config_build for a command's prologue: replaces *argc and *argv, or prints
 * "tickd: <message>" and exits 2.  With TICKD_CONFIG_CHECK=1 in the
 * environment it instead compares longopts with the table, prints each
 * difference and exits (0: they agree, 70: they do not); the tests run every
 * command this way, so a new option cannot miss the table.
 */
void tk_config_args(const struct option *longopts, int *argc, char ***argv);

/* Differences between longopts and the table for command `cmd`, one line
 * each into out (cap bytes); returns how many. */
int tk_config_check(unsigned cmd, const struct option *longopts, char *out, size_t cap);

/*
 * Where a value of `setting` ("--watermark") the command is parsing came
 * from, as the user wrote it: "WATERMARK_SECONDS", "tickd.conf:12
 * watermark", or NULL when it is the flag itself (or not a setting).  The
 * value being parsed is found by getopt's optarg; after the loop it is the
 * winning one.  The string is valid for the life of the process.
 */
const char *tk_config_origin(const char *setting);

/* The origin of the argument getopt just returned (its optarg, or for a
 * flag the element argv[optind - 1]) for tickd config: "env NAME",
 * "FILE:LINE", or NULL for a real command-line argument. */
const char *tk_config_arg_origin(const char *arg);

#endif

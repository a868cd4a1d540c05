/*
 * Checked parsing of settings.  A bad value is one line naming the setting
 * and what was wrong, on stderr, and exit status 2 (DESIGN.md, Configuration).
 */
#ifndef TK_COMMON_OPTS_H
#define TK_COMMON_OPTS_H

#include <stdbool.h>
#include <stdint.h>

/* Parse text as an unsigned integer in [min, max] for `setting`
 * (e.g. "--count"); on error print "tickd: --count: ..." and exit 2. */
uint64_t tk_opt_u64(const char *setting, const char *text, uint64_t min, uint64_t max);

/* The same, returning 0 or -EINVAL instead of exiting (for config files). */
int tk_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* A finite double in [min, max]. */
double tk_opt_double(const char *setting, const char *text, double min, double max);

/* A duration: "250ms", "5s", "2m", "1500us", or plain seconds. Returns ns. */
int64_t tk_opt_duration(const char *setting, const char *text);

/* Print "tickd: <setting>: <message>" and exit 2.  The setting is named
 * as the user wrote it: when tk_opt_origin_hook says the value came from
 * the environment or the configuration file, its variable or file:line key
 * replaces the flag. */
void tk_opt_fail(const char *setting, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Where the value of a setting ("--watermark") came from, if not from that
 * flag: "WATERMARK_SECONDS", "tickd.conf:12 watermark"; NULL otherwise.
 * Set by common/config.c (tk_config_build), so that opts has no link to it. */
extern const char *(*tk_opt_origin_hook)(const char *setting);

/* No environment lookups here: the environment names of every setting are
 * in common/config.c's table, and their values reach a command as options. */

#endif

/* common/config: the INI file, the argument vector in precedence order, and the origins. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/opts.h"

/* Criterion runs each test in its own process: the files are per test. */
static char tk__path[64];

static const char *conf(const char *text)
{
	int fd;

	snprintf(tk__path, sizeof(tk__path), "/tmp/tickd-test-config-%d.conf", (int)getpid());
	fd = open(tk__path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return tk__path;
}

static void clean_env(void)
{
	size_t i;
	int j;

	for (i = 0; i < tk_nsettings; i++)
		for (j = 0; tk_settings[i].env[j] != NULL; j++)
			unsetenv(tk_settings[i].env[j]);
	unsetenv("TICKD_CONFIG");
}

static void fini(void)
{
	if (tk__path[0] != '\0')
		unlink(tk__path);
}

TestSuite(config, .init = clean_env, .fini = fini);

/* The options of a command as its getopt sees them (the table and the
 * commands agree: the config_check system test runs every command). */
static const struct option *opts_of(const char *cmd)
{
	static struct option o[128];
	unsigned bit = tk_config_cmd_bit(cmd);
	size_t i, n = 0;

	cr_assert_neq(bit, 0u);
	for (i = 0; i < tk_nsettings; i++)
		if ((tk_settings[i].cmds & bit) != 0)
			o[n++] = (struct option){ tk_settings[i].name,
						  (tk_settings[i].flags & TK_SET_BOOL) != 0 ? no_argument
											   : required_argument,
						  NULL, 256 + (int)i };
	o[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	o[n] = (struct option){ 0, 0, 0, 0 };
	return o;
}

static const struct tk_setting *setting(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < tk_nsettings; i++)
		if (strcmp(tk_settings[i].section, section) == 0 && strcmp(tk_settings[i].name, name) == 0)
			return &tk_settings[i];
	cr_assert_fail("no setting [%s] %s", section, name);
	return NULL;
}

static void expect_error(const char *text, const char *want_fmt)
{
	const char *f = conf(text);
	char want[512];

	snprintf(want, sizeof(want), want_fmt, f);
	cr_assert_eq(tk_config_load(f, "--config"), -EINVAL, "loaded: %s", text);
	cr_assert_str_eq(tk_err_msg(), want);
	cr_assert_null(tk_config_file(NULL), "nothing of a bad file is kept");
}

Test(config, file_values_with_their_line)
{
	const char *f = conf("# a comment\n[global]\nshm-path = /dev/shm/x\n\n[engine]\n"
			     "watermark = 5 ; seconds\nexit-at-end = yes\n");
	char origin[128], want[128];
	const char *from;

	cr_assert_eq(tk_config_load(f, "--config"), 0, "%s", tk_err_msg());
	cr_assert_str_eq(tk_config_file(&from), f);
	cr_assert_str_eq(from, "--config");
	cr_assert_str_eq(tk_config_lookup(setting("engine", "watermark"), origin, sizeof(origin)), "5");
	snprintf(want, sizeof(want), "%s:6", f);
	cr_assert_str_eq(origin, want);
	cr_assert_str_eq(tk_config_lookup(setting("global", "shm-path"), origin, sizeof(origin)),
			 "/dev/shm/x");
	snprintf(want, sizeof(want), "%s:3", f);
	cr_assert_str_eq(origin, want);
	cr_assert_str_eq(tk_config_value("engine", "exit-at-end"), "true");
	cr_assert_null(tk_config_value("engine", "pct-change"));
}

Test(config, environment_beats_file_and_aliases_count)
{
	char origin[128];

	cr_assert_eq(tk_config_load(conf("[feed]\nsymbol-list = A\n"), "TICKD_CONFIG"), 0);
	setenv("SYMBOLS", "", 1); /* empty is unset, as a shell's FOO= clears it */
	setenv("PRICE_SYMBOLS", "C", 1);
	cr_assert_str_eq(tk_config_lookup(setting("feed", "symbol-list"), origin, sizeof(origin)), "C");
	cr_assert_str_eq(origin, "env PRICE_SYMBOLS");
	setenv("SYMBOL_LIST", "B", 1); /* earlier in the list of names: it wins */
	cr_assert_str_eq(tk_config_lookup(setting("feed", "symbol-list"), origin, sizeof(origin)), "B");
	cr_assert_str_eq(origin, "env SYMBOL_LIST");
}

Test(config, unknown_key_is_an_error_with_file_and_line)
{
	expect_error("[engine]\nwatermark = 5\nwatermrk = 3\n", "%s:3: unknown key 'watermrk' in [engine]");
}

Test(config, unknown_section_is_an_error_even_when_empty)
{
	expect_error("[engine]\nwatermark = 5\n[engnie]\n",
		     "%s:3: unknown section [engnie] (sections: global, run, feed, engine, persist, "
		     "export, journal, kafka, api, init, mock-finnhub, tail, stats, top, subscribe)");
}

Test(config, key_of_another_section_names_its_section)
{
	expect_error("[feed]\nwatermark = 5\n", "%s:2: watermark is not a setting of [feed] (it is "
						"one of [engine])");
	expect_error("[engine]\ntimeframes = 1s\n", "%s:2: timeframes is not a setting of [engine] "
						   "(it is one of [global])");
}

Test(config, key_set_twice_is_an_error)
{
	expect_error("[engine]\nwatermark = 5\nidle = spin\nwatermark = 6\n",
		     "%s:4: watermark is set twice in [engine] (also on line 2)");
}

Test(config, flag_must_be_true_or_false)
{
	expect_error("[run]\nfresh = maybe\n", "%s:2 fresh: 'maybe' is not true or false");
}

Test(config, key_outside_a_section_and_syntax_errors)
{
	expect_error("watermark = 5\n", "%s:1: watermark is outside a section (put it under "
					"[global], [engine], ...)");
	expect_error("[engine]\nwatermark = 5\nidle\n", "%s:3: not a [section] or a key = value line");
}

Test(config, indented_lines_continue_a_value_joined_by_commas)
{
	cr_assert_eq(tk_config_load(conf("[feed]\nsymbol-list = AAPL,MSFT,\n  AMZN\n\tBINANCE:BTCUSDT\n"
					 "seed = 3\n"), "--config"), 0, "%s", tk_err_msg());
	cr_assert_str_eq(tk_config_value("feed", "symbol-list"), "AAPL,MSFT,AMZN,BINANCE:BTCUSDT");
	cr_assert_str_eq(tk_config_value("feed", "seed"), "3");
	/* An indented key would silently become part of the value above it. */
	expect_error("[engine]\n  watermark = 5\n  idle = spin\n",
		     "%s:3: this indented line would continue the value of watermark (line 2): do "
		     "not indent keys");
}

Test(config, a_line_too_long_for_inih_is_an_error)
{
	char text[400];

	snprintf(text, sizeof(text), "[feed]\nsymbol-list = %0300d\n", 0);
	expect_error(text, "%s:2: line longer than 199 bytes (continue a long value on indented lines)");
}

Test(config, missing_file_names_who_named_it)
{
	cr_assert_eq(tk_config_load("/nonexistent/tickd.conf", "TICKD_CONFIG"), -ENOENT);
	cr_assert_str_eq(tk_err_msg(), "TICKD_CONFIG: cannot read /nonexistent/tickd.conf: No such "
				       "file or directory");
}

/* The vector getopt sees: file, environment, then the real arguments. */
Test(config, vector_is_file_then_environment_then_flags)
{
	const char *f = conf("[global]\ntimeframes = 1s,1m\n[engine]\nwatermark = 5\nexit-at-end = true\n"
			     "idle = spin\n");
	char *argv[] = { "engine", "--watermark", "9", "--shard=0", NULL };
	const struct option *lo = opts_of("engine");
	char **out, want[128];
	int outc, c, i;
	const char *expect[] = { "engine", "--timeframes=1s,1m", "--idle=spin", "--watermark=5",
				 "--exit-at-end", "--watermark=7", "--watermark", "9", "--shard=0" };
	const char *last = NULL, *origin_of_last = NULL;

	setenv("TICKD_CONFIG", f, 1);
	setenv("WATERMARK_SECONDS", "7", 1);
	cr_assert_eq(tk_config_build(lo, 4, argv, &outc, &out), 0, "%s", tk_err_msg());
	cr_assert_eq(outc, 9);
	for (i = 0; i < outc; i++)
		cr_assert_str_eq(out[i], expect[i], "argument %d", i);
	cr_assert_null(out[outc]);

	/* getopt takes them in order: the flag is the last word. */
	optind = 1;
	while ((c = getopt_long(outc, out, "", lo, NULL)) != -1)
		if (c >= 256 && strcmp(tk_settings[c - 256].name, "watermark") == 0) {
			last = optarg;
			origin_of_last = tk_config_arg_origin(optarg);
		}
	cr_assert_str_eq(last, "9");
	cr_assert_null(origin_of_last, "a real flag has no synthetic origin");
	snprintf(want, sizeof(want), "%s:4", f);
	cr_assert_str_eq(tk_config_arg_origin(out[3] + 12), want);
	cr_assert_str_eq(tk_config_arg_origin(out[5] + 12), "env WATERMARK_SECONDS");
	snprintf(want, sizeof(want), "%s:5", f);
	cr_assert_str_eq(tk_config_arg_origin(out[4]), want);
}

/* tk_opt_fail names the value being parsed, else the winning one. */
Test(config, origin_names_the_setting_as_the_user_wrote_it)
{
	const char *f = conf("[engine]\n\nwatermark = abc\npct-change = 0.5\n");
	char *argv[] = { "engine", "--pct-ch", "0.2", NULL };
	char **out, want[128];
	int outc;

	setenv("TICKD_CONFIG", f, 1);
	setenv("WATERMARK_SECONDS", "x", 1);
	cr_assert_eq(tk_config_build(opts_of("engine"), 3, argv, &outc, &out), 0, "%s", tk_err_msg());
	cr_assert_eq(tk_opt_origin_hook, tk_config_origin);
	cr_assert_str_eq(out[1], "--watermark=abc");
	cr_assert_str_eq(out[3], "--watermark=x");

	optarg = out[1] + 12; /* parsing the file's value */
	snprintf(want, sizeof(want), "%s:3 watermark", f);
	cr_assert_str_eq(tk_opt_origin_hook("--watermark"), want);
	optarg = out[3] + 12; /* parsing the environment's */
	cr_assert_str_eq(tk_opt_origin_hook("--watermark"), "WATERMARK_SECONDS");
	/* After the loop (optarg elsewhere) the winner: the environment... */
	optarg = NULL;
	cr_assert_str_eq(tk_opt_origin_hook("--watermark"), "WATERMARK_SECONDS");
	/* ...and for pct-change the flag, even abbreviated: named as itself. */
	cr_assert_null(tk_opt_origin_hook("--pct-change"));
	optarg = out[1] + 12;
	cr_assert_null(tk_opt_origin_hook("--pct-change"), "a value of another setting is no witness");
	/* Not a setting of the command, or not a flag at all. */
	cr_assert_null(tk_opt_origin_hook("--token"));
	cr_assert_null(tk_opt_origin_hook("indicators"));
	cr_assert_null(tk_opt_origin_hook("--source finnhub"));
}

Test(config, config_flag_is_removed_and_exported)
{
	const char *f = conf("[feed]\nseed = 7\n");
	char *argv[] = { "feed", "--record", "--config", "--config", (char *)f, "--count=3", NULL };
	char **out;
	int outc;

	cr_assert_eq(tk_config_build(opts_of("feed"), 6, argv, &outc, &out), 0, "%s", tk_err_msg());
	cr_assert_str_eq(getenv("TICKD_CONFIG"), f, "the children of tickd run read it too");
	cr_assert_eq(outc, 5);
	cr_assert_str_eq(out[1], "--seed=7");
	/* --record's value is kept even when it is spelt like --config. */
	cr_assert_str_eq(out[2], "--record");
	cr_assert_str_eq(out[3], "--config");
	cr_assert_str_eq(out[4], "--count=3");
}

Test(config, tickd_run_takes_the_settings_it_hands_over_from_their_sections)
{
	const char *f = conf("[feed]\nseed = 7\ncount = 20000\nlog = ticks.1\n[engine]\nidle = spin\n"
			     "watermark = 5\n[init]\nslots = 4096\n[run]\nexit-at-end = true\nfresh = false\n");
	char *argv[] = { "run", NULL };
	const char *expect[] = { "run", "--exit-at-end", "--seed=7", "--count=20000", "--idle=spin",
				 "--slots=4096" };
	char **out;
	int outc, i;

	setenv("TICKD_CONFIG", f, 1);
	cr_assert_eq(tk_config_build(opts_of("run"), 1, argv, &outc, &out), 0, "%s", tk_err_msg());
	/* log and watermark are the children's own: they read the file themselves;
	 * a false flag adds nothing (there is no --no-fresh). */
	cr_assert_eq(outc, 6);
	for (i = 0; i < outc; i++)
		cr_assert_str_eq(out[i], expect[i], "argument %d", i);
}

Test(config, token_is_never_a_flag_of_the_feed)
{
	char *argv[] = { "feed", "--source", "finnhub", "--token=abc", NULL };
	char *mock[] = { "mock-finnhub", "--token", "abc", NULL };
	char **out;
	int outc;

	cr_assert_eq(tk_config_build(opts_of("feed"), 4, argv, &outc, &out), -EINVAL);
	cr_assert(strncmp(tk_err_msg(), "--token: not taken on the command line", 38) == 0, "%s",
		  tk_err_msg());
	setenv("FINNHUB_TOKEN", "s3cret", 1);
	cr_assert_eq(tk_config_build(opts_of("feed"), 3, argv, &outc, &out), 0, "%s", tk_err_msg());
	cr_assert_str_eq(out[1], "--token=s3cret");
	/* The mock is a test server: its token is a flag. */
	cr_assert_eq(tk_config_build(opts_of("mock-finnhub"), 3, mock, &outc, &out), 0);
	cr_assert_str_eq(out[outc - 1], "abc");
}

Test(config, table_is_consistent)
{
	size_t i, j, s;
	unsigned c;

	for (i = 0; i < tk_nsettings; i++) {
		const struct tk_setting *a = &tk_settings[i];

		for (s = 0; tk_config_sections[s] != NULL && strcmp(tk_config_sections[s], a->section) != 0; s++)
			;
		cr_assert_not_null(tk_config_sections[s], "[%s] %s: unknown section", a->section, a->name);
		cr_assert_neq(a->cmds, 0u, "%s: no command takes it", a->name);
		cr_assert(a->def != NULL && a->help != NULL && a->help[0] != '\0', "%s", a->name);
		cr_assert(strcmp(a->name, "config") != 0 && strcmp(a->name, "help") != 0);
		for (j = i + 1; j < tk_nsettings; j++) {
			const struct tk_setting *b = &tk_settings[j];

			cr_assert(strcmp(a->name, b->name) != 0 || (a->cmds & b->cmds) == 0,
				  "--%s means two settings to one command", a->name);
			cr_assert(strcmp(a->name, b->name) != 0 || strcmp(a->section, b->section) != 0,
				  "[%s] %s twice", a->section, a->name);
		}
	}
	for (c = 0; c < TK_CMD_COUNT; c++)
		cr_assert_eq(tk_config_cmd_bit(tk_config_cmd_name(c)), 1u << c);
	for (s = 0; tk_config_sections[s] != NULL; s++) {
		for (i = 0; i < tk_nsettings && strcmp(tk_settings[i].section, tk_config_sections[s]) != 0; i++)
			;
		cr_assert_lt(i, tk_nsettings, "section [%s] has no setting", tk_config_sections[s]);
	}
}

/* deploy/tickd.conf: it loads as it is, and with every ";key = value"
 * example uncommented it still loads (strictly) and holds every setting. */
Test(config, deploy_example_holds_every_setting)
{
	FILE *in = fopen(TK_SOURCE_DIR "/deploy/tickd.conf", "r");
	char line[512], all[65536];
	size_t used = 0, i, n = 0;

	cr_assert_not_null(in);
	cr_assert_eq(tk_config_load(TK_SOURCE_DIR "/deploy/tickd.conf", "--config"), 0, "%s",
		     tk_err_msg());
	while (fgets(line, sizeof(line), in) != NULL) {
		const char *l = line[0] == ';' ? line + 1 : line;

		n += line[0] == ';';
		cr_assert_lt(used + strlen(l), sizeof(all));
		memcpy(all + used, l, strlen(l));
		used += strlen(l);
	}
	all[used] = '\0';
	fclose(in);
	cr_assert_eq(n, tk_nsettings, "%zu examples for %zu settings", n, tk_nsettings);
	cr_assert_eq(tk_config_load(conf(all), "--config"), 0, "uncommented: %s", tk_err_msg());
	/* The environment is clean (clean_env): every value is the file's. */
	for (i = 0; i < tk_nsettings; i++)
		cr_assert_not_null(tk_config_value(tk_settings[i].section, tk_settings[i].name),
				   "deploy/tickd.conf has no [%s] %s", tk_settings[i].section,
				   tk_settings[i].name);
}

/*
 * tickd config: the effective value of every setting and where it came from.
 * With --role it resolves one command's settings exactly as that command
 * does: the same argument vector (tk_config_build), the same getopt.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/err.h"
#include "common/opts.h"
#include "tools/tools.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd config [--role COMMAND [its options...]] [--config FILE]\n"
		"Print the effective value of every setting of every command and where it came\n"
		"from: flag > environment > configuration file > default.  The file is\n"
		"--config FILE or $TICKD_CONFIG (INI, a section per role; deploy/tickd.conf\n"
		"shows every setting).  Secrets are redacted.\n\n"
		"  --role COMMAND  only the settings COMMAND takes (run, feed, engine, init,\n"
		"                  mock-finnhub, tail, stats, top, subscribe, ...); the options\n"
		"                  that follow are COMMAND's own flags, resolved as it would\n");
}

struct tk__shown {
	const char *value;
	char origin[320];
};

static void tk__print(const struct tk_setting *s, const struct tk__shown *sh)
{
	const char *v = sh->value;

	if (v != NULL && (s->flags & TK_SET_SECRET) != 0)
		v = "<redacted>";
	printf("%-16s = %-32s # %s\n", s->name, v != NULL ? v : s->def,
	       v != NULL ? sh->origin : "default");
}

int tk_cmd_config(int argc, char **argv)
{
	static struct tk__shown shown[256];
	static struct option opts[256];
	const char *role = NULL, *file, *from;
	char **args, **nargv;
	unsigned bit = 0;
	int nargs = 0, nargc, c, j, rc;
	size_t i, n = 0, sec;

	if (tk_nsettings > sizeof(shown) / sizeof(shown[0]) - 2) {
		fprintf(stderr, "tickd config: the settings table outgrew this command\n");
		return 1;
	}
	/* --role first: it decides which options the rest may hold. */
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (args == NULL)
		return 1;
	for (j = 0; j < argc; j++) {
		if (j > 0 && role == NULL && strcmp(argv[j], "--role") == 0 && j + 1 < argc)
			role = argv[++j];
		else if (j > 0 && role == NULL && strncmp(argv[j], "--role=", 7) == 0)
			role = argv[j] + 7;
		else if (j > 0 && (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0)) {
			usage(stdout);
			free(args);
			return 0;
		} else
			args[nargs++] = argv[j];
	}
	if (role != NULL) {
		bit = tk_config_cmd_bit(role);
		if (bit == 0)
			tk_opt_fail("--role", "'%s' is not a command with settings (run, feed, engine, "
				    "init, mock-finnhub, tail, stats, top, ...)", role);
		args[0] = (char *)role; /* the command whose settings tk_config_build adds */
	}
	for (i = 0; i < tk_nsettings; i++)
		if ((tk_settings[i].cmds & bit) != 0)
			opts[n++] = (struct option){ tk_settings[i].name,
						     (tk_settings[i].flags & TK_SET_BOOL) != 0
							     ? no_argument : required_argument,
						     NULL, 256 + (int)i };
	opts[n] = (struct option){ 0, 0, 0, 0 };
	rc = tk_config_build(opts, nargs, args, &nargc, &nargv);
	free(args); /* the new vector holds the strings, not this array */
	if (rc < 0) {
		fprintf(stderr, "tickd: %s\n", tk_err_msg());
		return 2;
	}
	nargv[0] = "tickd config"; /* getopt's messages start with it */
	optind = 1;
	while ((c = getopt_long(nargc, nargv, "", opts, NULL)) != -1) {
		const struct tk_setting *s;
		const char *origin;

		if (c < 256) {
			usage(stderr);
			return 2;
		}
		s = &tk_settings[c - 256];
		/* The last occurrence wins, as in the command's own loop. */
		shown[c - 256].value = optarg != NULL ? optarg : "true";
		origin = tk_config_arg_origin(optarg != NULL ? optarg : nargv[optind - 1]);
		if (origin != NULL)
			snprintf(shown[c - 256].origin, sizeof(shown[0].origin), "%s", origin);
		else
			snprintf(shown[c - 256].origin, sizeof(shown[0].origin), "flag --%s", s->name);
	}
	if (optind < nargc) {
		fprintf(stderr, "tickd config: unexpected argument '%s'%s\n", nargv[optind],
			role == NULL ? " (flags of a command need --role COMMAND)" : "");
		return 2;
	}

	file = tk_config_file(&from);
	printf("# precedence: flag > environment > file > default\n");
	if (file != NULL)
		printf("# configuration file: %s (from %s)\n", file, from);
	else
		printf("# configuration file: none (--config FILE or TICKD_CONFIG)\n");
	if (role != NULL)
		printf("# the settings of tickd %s\n", role);
	for (sec = 0; tk_config_sections[sec] != NULL; sec++) {
		bool header = false;

		for (i = 0; i < tk_nsettings; i++) {
			const struct tk_setting *s = &tk_settings[i];

			if (strcmp(s->section, tk_config_sections[sec]) != 0 ||
			    (role != NULL && (s->cmds & bit) == 0))
				continue;
			/* Not on the vector: a false flag in the file, or nothing. */
			if (shown[i].value == NULL)
				shown[i].value = tk_config_lookup(s, shown[i].origin,
								  sizeof(shown[i].origin));
			if (!header) {
				printf("[%s]\n", s->section);
				header = true;
			}
			tk__print(s, &shown[i]);
		}
	}
	return 0;
}

/* tickd init | info | clean: the segment's life cycle. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/opts.h"
#include "engine/checkpoint.h"
#include "shm/live.h"
#include "engine/worker.h"
#include "shm/ctlring.h"
#include "shm/log.h"
#include "tools/tools.h"

int tk_tool_attach(struct tk_segment *seg, const char *path)
{
	/* NULL, a bare name and the environment: tk_segment_resolve_path. */
	int rc = tk_segment_attach(seg, path, TK_ATTACH_READER);

	if (rc < 0)
		fprintf(stderr, "tickd: %s\n", tk_err_msg());
	return rc;
}

static void init_usage(FILE *out)
{
	fprintf(out,
		"usage: tickd init [options]\n"
		"Create the shared-memory segment (tickd run does this for you).\n\n"
		"  --shm-path PATH   segment file (default $TICKD_SHM_PATH or /dev/shm/tickd; a\n"
		"                    bare NAME is /dev/shm/NAME; a path on a hugetlbfs mount gives\n"
		"                    huge pages).  Its whole size is reserved now (fallocate): it\n"
		"                    counts as used memory, and too small a /dev/shm fails here\n"
		"  --fresh           replace an existing segment (its data is lost)\n"
		"  --logs A,B,...    tick logs to create (default ticks.0)\n"
		"  --slots N         slots per tick log, a power of two (default 1048576)\n"
		"  --timeframes LIST bar logs to create, bars.<tf> (default 1s,1m,5m,1h; env TIMEFRAMES)\n"
		"  --shards N        engine shards: bars.<tf>.<i> and signals.<i> each (default 1)\n"
		"  --bar-slots N     slots per bar log and the signal log (default 65536)\n"
		"  --history-symbols N  symbols (by id) that keep a ring of their last closed bars\n"
		"                    per timeframe (default 1024 or the capacity if smaller; 0: none;\n"
		"                    352 KB a symbol at the default depths)\n"
		"  --history-depth L bars kept per timeframe, like 1s=3600,1m=1440 (defaults: 1s 3600,\n"
		"                    1m 1440, 5m 288, 1h 168, other timeframes 1000)\n"
		"  --readers N       reader-cursor slots per log (default 16)\n"
		"  --symbols N       symbol capacity (default 16384)\n"
		"  --state-size N    bytes of live state per symbol, multiple of 64 (default: what\n"
		"                    the engine's live state needs)\n"
		"  --mode OCTAL      file permissions (default 0600)\n"
		"  --group NAME      group of the file (with --mode 0640 or 0660 to share it)\n"
		"  --mlock           lock the segment in RAM\n"
		"  --hugepages       ask for transparent huge pages on tmpfs\n");
}

static void tk__removed(const char *path)
{
	printf("removed %s\n", path);
}

int tk_cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "shm-path", required_argument, 0, 'p' }, { "fresh", no_argument, 0, 'f' },
		{ "logs", required_argument, 0, 'l' },     { "slots", required_argument, 0, 's' },
		{ "readers", required_argument, 0, 'r' },  { "symbols", required_argument, 0, 'y' },
		{ "state-size", required_argument, 0, 'z' }, { "mode", required_argument, 0, 'm' },
		{ "group", required_argument, 0, 'g' },    { "mlock", no_argument, 0, 'L' },
		{ "hugepages", no_argument, 0, 'H' },      { "help", no_argument, 0, 'h' },
		{ "timeframes", required_argument, 0, 'T' }, { "shards", required_argument, 0, 'S' },
		{ "bar-slots", required_argument, 0, 'B' },
		{ "history-symbols", required_argument, 0, 'Y' },
		{ "history-depth", required_argument, 0, 'D' },
		{ 0, 0, 0, 0 }
	};
	const char *path = tk_segment_default_path(), *logs = "ticks.0";
	struct tk_seg_config cfg;
	struct tk_segment seg;
	uint32_t slots = 1u << 20, readers = 16, shards = 1, bar_slots = 65536, t, s;
	const char *tfs = NULL, *depths = ""; /* TIMEFRAMES arrives as --timeframes */
	uint32_t hist_symbols = UINT32_MAX; /* default: 1024, or the capacity if smaller */
	int64_t tf[TK_MAX_TF];
	int ntf;
	bool fresh = false;
	char *list, *tok, *save;
	int c;

	tk_seg_config_default(&cfg);
	cfg.state_record_size = (uint32_t)((sizeof(struct tk_live) + TK_STATE_HEADER + 63) & ~63ul);
	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': path = optarg; break;
		case 'f': fresh = true; break;
		case 'l': logs = optarg; break;
		case 's': slots = (uint32_t)tk_opt_u64("--slots", optarg, 64, 1u << 30); break;
		case 'r': readers = (uint32_t)tk_opt_u64("--readers", optarg, 1, 256); break;
		case 'y': cfg.symbol_capacity = (uint32_t)tk_opt_u64("--symbols", optarg, 1, 1u << 24); break;
		case 'z': cfg.state_record_size = (uint32_t)tk_opt_u64("--state-size", optarg, 128, 1u << 24); break;
		case 'm': {
			char *end;
			unsigned long m = strtoul(optarg, &end, 8);

			if (*end != '\0' || m > 0777)
				tk_opt_fail("--mode", "'%s' is not an octal permission mask like 0660", optarg);
			cfg.mode = (uint32_t)m;
			break;
		}
		case 'g': {
			struct group *g = getgrnam(optarg);

			if (g == NULL)
				tk_opt_fail("--group", "no group named '%s'", optarg);
			cfg.gid = (int32_t)g->gr_gid;
			break;
		}
		case 'L': cfg.flags |= TK_SEG_F_MLOCK; break;
		case 'H': cfg.flags |= TK_SEG_F_HUGEPAGES; break;
		case 'T': tfs = optarg; break;
		case 'S': shards = (uint32_t)tk_opt_u64("--shards", optarg, 1, 64); break;
		case 'B': bar_slots = (uint32_t)tk_opt_u64("--bar-slots", optarg, 64, 1u << 24); break;
		case 'Y': hist_symbols = (uint32_t)tk_opt_u64("--history-symbols", optarg, 0, 1u << 20); break;
		case 'D': depths = optarg; break;
		case 'h': init_usage(stdout); return 0;
		default: init_usage(stderr); return 2;
		}
	}
	list = strdup(logs);
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		if (tk_seg_config_add_log(&cfg, tok, slots, 64, readers) < 0)
			tk_opt_fail("--logs", "%s", tk_err_msg());
	free(list);
	ntf = tk_timeframes_parse(tfs != NULL && *tfs != '\0' ? tfs : "1s,1m,5m,1h", tf, TK_MAX_TF);
	if (ntf < 0)
		tk_opt_fail("--timeframes", "%s", tk_err_msg());
	/* A symbol's rings cost 352 KB at the default depths, reserved with the
	 * rest of the segment (tk_segment_create): the bulk of its default size. */
	if (hist_symbols == UINT32_MAX)
		hist_symbols = cfg.symbol_capacity < 1024 ? cfg.symbol_capacity : 1024;
	cfg.history.symbols = hist_symbols;
	cfg.history.ntf = hist_symbols > 0 ? (uint32_t)ntf : 0;
	for (t = 0; t < cfg.history.ntf; t++) {
		char name[16], key[24];
		const char *at;

		tk_timeframe_name(tf[t], name, sizeof(name));
		cfg.history.tf_ns[t] = tf[t];
		cfg.history.depth[t] = tf[t] == TK_NS_PER_S ? 3600 : tf[t] == 60 * TK_NS_PER_S ? 1440
				       : tf[t] == 300 * TK_NS_PER_S ? 288
				       : tf[t] == 3600 * TK_NS_PER_S ? 168 : 1000;
		snprintf(key, sizeof(key), "%s=", name);
		for (at = strstr(depths, key); at != NULL; at = strstr(at + 1, key))
			if (at == depths || at[-1] == ',') {
				char one[24];

				snprintf(one, sizeof(one), "%.*s", (int)strcspn(at + strlen(key), ","),
					 at + strlen(key));
				cfg.history.depth[t] = (uint32_t)tk_opt_u64("--history-depth", one, 2,
									    1u << 20);
				break;
			}
	}
	for (s = 0; s < shards; s++) {
		char name[TK_NAME_MAX];

		for (t = 0; t < (uint32_t)ntf; t++) {
			tk_bar_log_name(tf[t], s, shards, name, sizeof(name));
			if (tk_seg_config_add_log(&cfg, name, bar_slots, 256, readers) < 0)
				tk_opt_fail("--timeframes", "%s", tk_err_msg());
		}
		tk_signal_log_name(s, shards, name, sizeof(name));
		if (tk_seg_config_add_log(&cfg, name, bar_slots, 128, readers) < 0)
			tk_opt_fail("--shards", "%s", tk_err_msg());
	}
	if (tk_seg_config_validate(&cfg) < 0)
		tk_opt_fail("segment", "%s", tk_err_msg());
	if (tk_segment_create(&seg, path, &cfg, fresh) < 0) {
		fprintf(stderr, "tickd: %s\n", tk_err_msg());
		return 1;
	}
	printf("created %s: %u log(s), %llu bytes\n", seg.path, cfg.nlogs,
	       (unsigned long long)seg.size);
	/* An earlier segment's engine checkpoints at this path are not the new
	 * one's (one of an older format would stop the engine, which cannot
	 * read its segment's creation time to tell it is not its own). */
	tk_ckpt_remove_all(seg.path, tk__removed);
	tk_segment_detach(&seg);
	return 0;
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case TK_REGION_LOG: return "log";
	case TK_REGION_SYMTAB: return "symbols";
	case TK_REGION_STATE: return "state";
	case TK_REGION_CONTROL: return "control";
	case TK_REGION_HISTORY: return "history";
	case TK_REGION_FEEDS: return "feeds";
	case TK_REGION_METRICS: return "metrics";
	default: return "?";
	}
}

/*
 * Parse the options of a command whose only setting is --shm-path.
 * Returns -1 to go on (path set), else the exit status (help or misuse).
 */
static int path_only_opts(int argc, char **argv, const char *usage, const char **path)
{
	static const struct option longopts[] = {
		{ "shm-path", required_argument, 0, 'p' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
	};
	int c;

	tk_config_args(longopts, &argc, &argv); /* argv[0], info or clean, says whose */
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c != 'p') {
			fputs(usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
		*path = optarg;
	}
	return -1;
}

int tk_cmd_info(int argc, char **argv)
{
	const char *path = NULL;
	struct tk_segment seg;
	const struct tk_seg_header *h;
	char when[64];
	time_t t;
	uint32_t i;
	int rc = path_only_opts(argc, argv,
				"usage: tickd info [--shm-path PATH]\nPrint the segment's header: "
				"version, creator, configuration and regions.\n", &path);

	if (rc >= 0)
		return rc;
	if (tk_tool_attach(&seg, path) < 0)
		return 1;
	h = seg.hdr;
	t = (time_t)(h->created_ns / 1000000000LL);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	printf("segment   %s\nabi       %u\nsize      %llu bytes\ncreated   %s by pid %d\n"
	       "symbols   %u of %u\nstate     %u bytes per symbol\nmode      %04o%s%s\n",
	       seg.path, h->abi_version, (unsigned long long)h->total_size, when,
	       (int)h->creator_pid, tk_symtab_count(tk_symtab_of(&seg)), h->config.symbol_capacity,
	       h->config.state_record_size, h->config.mode,
	       (h->config.flags & TK_SEG_F_MLOCK) ? " mlock" : "",
	       (h->config.flags & TK_SEG_F_HUGEPAGES) ? " hugepages" : "");
	printf("\n%-10s %-16s %14s %14s\n", "kind", "name", "offset", "size");
	for (i = 0; i < h->nregions; i++)
		printf("%-10s %-16.31s %14llu %14llu\n", kind_name(h->regions[i].kind),
		       h->regions[i].name, (unsigned long long)h->regions[i].offset,
		       (unsigned long long)h->regions[i].size);
	tk_segment_detach(&seg);
	return 0;
}

int tk_cmd_clean(int argc, char **argv)
{
	const char *path = NULL;
	char full[sizeof(((struct tk_segment *)0)->path)];
	int rc = path_only_opts(argc, argv,
				"usage: tickd clean [--shm-path PATH]\nRemove the segment (stop "
				"tickd first: running processes keep their mapping).\n", &path);

	if (rc >= 0)
		return rc;
	if (tk_segment_resolve_path(path, full, sizeof(full)) < 0) {
		fprintf(stderr, "tickd: %s\n", tk_err_msg());
		return 1;
	}
	path = full;
	tk_ckpt_remove_all(path, tk__removed);
	if (tk_segment_unlink(path) < 0) {
		if (errno == ENOENT || strstr(tk_err_msg(), "No such file") != NULL) {
			printf("no segment at %s\n", path);
			return 0;
		}
		fprintf(stderr, "tickd: %s\n", tk_err_msg());
		return 1;
	}
	printf("removed %s\n", path);
	return 0;
}

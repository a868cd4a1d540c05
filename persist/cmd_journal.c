/*
 * tickd journal verify [--repair]: check every file of the journal.  Each
 * file's header, every block (length, CRC, block numbers, sequence
 * continuity), its index, and between the files of a log that each starts
 * where the one before ended.  --repair (not while tickd persist runs):
 * torn tails are kept aside and zeroed, indexes rebuilt, files trimmed.
 * tickd journal retain: delete the days past their retention (tickd
 * persist does it hourly).  tickd journal snapshot DIR: a consistent copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/opts.h"
#include "persist/cmd.h"
#include "persist/format.h"
#include "persist/query.h"
#include "persist/recover.h"
#include "persist/retain.h"
#include "common/clock.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd journal verify [--repair] [--quiet]   [--data-dir DIR]\n"
		"       tickd journal retain [--retain RULES] [--now T] [--dry-run]\n"
		"       tickd journal snapshot OUTDIR\n"
		"verify: check every file of the journal: headers, every block's length, CRC and\n"
		"  sequence continuity, the indexes, and that each file of a log starts where the\n"
		"  one before it ended.  With --repair (while no tickd persist runs on DIR): keep\n"
		"  torn tails aside (<file>.torn-<offset>) and zero them, rebuild indexes.\n"
		"  Exit status 0: all good (or repaired); 1: problems (listed); 2: bad options.\n"
		"retain: delete whole days whose last write is older than their stream's\n"
		"  retention (default " TKJ_RETAIN_DEFAULT "; \"bars\" is every bars.*;\n"
		"  AGE like 30d, 12h, forever), never a log's newest day.  --now T: as if it were\n"
		"  T (epoch ms or ISO 8601).  tickd persist does this at start and every hour.\n"
		"snapshot: copy a consistent journal to OUTDIR (new or empty) while it is being\n"
		"  written: finished files hard-linked, each log's newest file up to its last\n"
		"  complete block.\n");
}

/* Is a tickd persist holding the directory's lock? */
static bool tk__journal_busy(const char *dir)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	char path[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/LOCK", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		fl.l_type = F_UNLCK;
	close(fd);
	return fl.l_type != F_UNLCK;
}

static int tk__verify(const char *dir, bool repair, bool quiet)
{
	char list[2048], *save = NULL, *stream;
	bool busy = tk__journal_busy(dir);
	uint64_t files = 0, blocks = 0, records = 0;
	int problems = 0, repaired = 0, rc;

	if (repair && busy) {
		fprintf(stderr, "tickd journal: a tickd persist is writing %s: stop it before "
				"--repair\n",
			dir);
		return 2;
	}
	rc = tkj_query_streams(dir, list, sizeof(list));
	if (rc < 0) {
		fprintf(stderr, "tickd journal: %s\n", tk_err_msg());
		return 1;
	}
	for (stream = strtok_r(list, ",", &save); stream != NULL; stream = strtok_r(NULL, ",", &save)) {
		struct tkj_file_ref *f;
		int n = tkj_list_files(dir, stream, NULL, INT32_MIN, INT32_MAX, &f), i, k;

		if (n < 0) {
			fprintf(stderr, "tickd journal: cannot list %s/%s: %s\n", dir, stream,
				strerror(-n));
			problems++;
			continue;
		}
		for (i = 0; i < n; i++) {
			struct tkj_scan *sc = malloc(sizeof(*sc));
			char torn[1100];
			bool newest = true, prev_found = false;
			uint64_t prev_next = 0;
			int fd;

			if (sc == NULL)
				return 1;
			/* The newest file of its log (by generation and sequence). */
			for (k = 0; k < n; k++)
				if (k != i && strcmp(f[k].log, f[i].log) == 0 &&
				    (f[k].generation > f[i].generation ||
				     (f[k].generation == f[i].generation && f[k].first_seq > f[i].first_seq)))
					newest = false;
			fd = open(f[i].path, (repair ? O_RDWR : O_RDONLY) | O_CLOEXEC);
			if (fd < 0) {
				printf("BAD %s: cannot open: %s\n", f[i].path, strerror(errno));
				problems++;
				free(sc);
				continue;
			}
			files++;
			rc = tkj_scan_file(f[i].path, fd, 0, UINT64_MAX / 2, repair, sc, torn,
					   sizeof(torn));
			if (rc < 0) {
				printf("BAD %s\n", tk_err_msg());
				problems++;
				close(fd);
				free(sc);
				continue;
			}
			blocks += sc->blocks;
			records += sc->records;
			{
				/* Every block, not only those past the index: a flipped
				 * bit in block 2 of 6 is found too. */
				uint64_t wend, wnext;
				enum tkj_check wstop;

				if (tkj_walk_blocks(fd, &sc->hdr, sc->size, &wend, &wnext, &wstop) == 0 &&
				    wend < sc->end) {
					printf("BAD %s: the block at offset %" PRIu64 " does not check out "
					       "(%s), %" PRIu64 " bytes of the data after it are unreadable "
					       "(its index still lists them)\n",
					       f[i].path, wend, tkj_check_name(wstop), sc->end - wend);
					problems++;
				}
			}
			/* The file before it of the same log and segment: this one must
			 * start where it ended. */
			for (k = i - 1; k >= 0; k--)
				if (strcmp(f[k].log, f[i].log) == 0 && f[k].generation == f[i].generation) {
					struct tkj_scan *pc = malloc(sizeof(*pc));
					int pfd = open(f[k].path, O_RDONLY | O_CLOEXEC);

					if (pc != NULL && pfd >= 0 &&
					    tkj_scan_file(f[k].path, pfd, 0, 0, false, pc, NULL, 0) == 0) {
						prev_next = pc->next_seq;
						prev_found = true;
					}
					if (pfd >= 0)
						close(pfd);
					free(pc);
					break;
				}
			if (prev_found && prev_next != sc->hdr.first_seq) {
				printf("BAD %s: starts at sequence %" PRIu64 " but the file before it "
				       "ended before %" PRIu64 "\n",
				       f[i].path, sc->hdr.first_seq, prev_next);
				problems++;
			}
			if (sc->junk > 0) {
				if (repair) {
					printf("REPAIRED %s: torn tail of %" PRIu64 " bytes at %" PRIu64
					       " (%s) kept in %s and zeroed\n",
					       f[i].path, sc->junk_end - sc->end, sc->end,
					       tkj_check_name(sc->stop), torn);
					repaired++;
				} else if (busy && newest) {
					if (!quiet)
						printf("ok  %s: being written (%" PRIu64 " bytes in flight "
						       "past the last complete block)\n",
						       f[i].path, sc->junk_end - sc->end);
				} else {
					printf("BAD %s: %" PRIu64 " bytes past its last valid block at %"
					       PRIu64 " (%s%s%" PRIu64 "-%" PRIu64 "): a torn tail; "
					       "--repair keeps it aside and zeroes it\n",
					       f[i].path, sc->junk_end - sc->end, sc->end,
					       tkj_check_name(sc->stop),
					       sc->torn_first_seq ? ", a block claiming sequences " : "",
					       sc->torn_first_seq, sc->torn_last_seq);
					problems++;
				}
			}
			if (!sc->index_ok && !repair && !(busy && newest)) {
				printf("BAD %s: its index is missing or does not cover its %" PRIu64
				       " blocks (queries read the data instead; --repair rebuilds it)\n",
				       f[i].path, sc->blocks);
				problems++;
			} else if (!sc->index_ok && repair) {
				printf("REPAIRED %s: index rebuilt\n", f[i].path);
				repaired++;
			}
			if (!quiet && sc->junk == 0)
				printf("ok  %s: %" PRIu64 " blocks, sequences %" PRIu64 "-%" PRIu64 "\n",
				       f[i].path, sc->blocks, sc->hdr.first_seq,
				       sc->next_seq > 0 ? sc->next_seq - 1 : 0);
			close(fd);
			free(sc);
		}
		free(f);
	}
	printf("%" PRIu64 " files, %" PRIu64 " blocks, %" PRIu64 " records: %d problem(s)%s\n",
	       files, blocks, records, problems,
	       repaired ? ", repairs listed above" : "");
	return problems ? 1 : 0;
}

static void tk__say(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
}

int tk_cmd_journal(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repair", no_argument, 0, 'r' },      { "data-dir", required_argument, 0, 'd' },
		{ "quiet", no_argument, 0, 'q' },       { "retain", required_argument, 0, 'R' },
		{ "now", required_argument, 0, 'n' },   { "dry-run", no_argument, 0, 'y' },
		{ "help", no_argument, 0, 'h' },        { 0, 0, 0, 0 }
	};
	const char *dir = "tickd-data", *retain = NULL, *what;
	bool repair = false, quiet = false, dry = false;
	int64_t now = tk_wall_ns();
	int c;

	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': repair = true; break;
		case 'd': dir = optarg; break;
		case 'q': quiet = true; break;
		case 'R': retain = optarg; break;
		case 'n':
			if (tkj_parse_time(optarg, &now) < 0)
				tk_opt_fail("--now", "'%s' is not epoch ms or an ISO 8601 time", optarg);
			break;
		case 'y': dry = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	what = argv[optind];
	if (strcmp(what, "verify") == 0 && optind == argc - 1)
		return tk__verify(dir, repair, quiet);
	if (strcmp(what, "retain") == 0 && optind == argc - 1) {
		struct tkj_rule rules[TKJ_MAX_RULES];
		struct tkj_retain_result res;
		int n = tkj_retain_parse(retain, rules, TKJ_MAX_RULES);

		if (n < 0)
			tk_opt_fail("--retain", "%s", tk_err_msg());
		if (tkj_retain_run(dir, rules, n, now, dry, tk__say, NULL, &res) < 0) {
			fprintf(stderr, "tickd journal: %s\n", tk_err_msg());
			return 1;
		}
		printf("%s %u day(s), %u file(s), %" PRIu64 " bytes; kept %u day(s)%s\n",
		       dry ? "would delete" : "deleted", res.days_deleted, res.files_deleted,
		       res.bytes_deleted, res.days_kept, res.errors ? "; some could not be removed (above)" : "");
		return res.errors ? 1 : 0;
	}
	if (strcmp(what, "snapshot") == 0 && optind == argc - 2) {
		struct tkj_snapshot_result res;

		if (tkj_snapshot(dir, argv[optind + 1], &res) < 0) {
			fprintf(stderr, "tickd journal: %s\n", tk_err_msg());
			return 1;
		}
		printf("snapshot of %s in %s: %u file(s) linked, %u copied (%" PRIu64 " bytes)\n",
		       dir, argv[optind + 1], res.files_linked, res.files_copied, res.bytes_copied);
		return 0;
	}
	usage(stderr);
	return 2;
}

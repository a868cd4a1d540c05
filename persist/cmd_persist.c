/*
 * tickd persist: the journal's reader role.  A gating reader of every log
 * of the segment (ticks, bars, signals) that copies records into journal
 * blocks and commits its cursors only over what is durable: its committed
 * cursor is its durability promise (DESIGN.md, Readers).
 *
 *   attach -> recover each stream, open its cursor where the journal ends
 *   loop:  read a batch of each log straight into its block buffer
 *          drive the I/O (seal, write, fdatasync)
 *          commit each cursor up to the stream's durable point
 *   on SIGTERM: read every log to its end, make it durable, commit, exit
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "common/msg.h"
#include "common/opts.h"
#include "persist/cmd.h"
#include "persist/journal.h"
#include "persist/retain.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/metrics.h"
#include "shm/symtab.h"

#define TK_PERSIST_READER "persist"
#define TK_PERSIST_DRAIN_NS (20 * 1000000000LL) /* at most this long to drain at a stop */

static volatile sig_atomic_t tk__persist_stop;

static void on_signal(int sig)
{
	(void)sig;
	tk__persist_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd persist [options]\n"
		"The journal: a gating reader of every log of the segment, writing their records\n"
		"to checksummed blocks in files per stream per UTC day with io_uring, and\n"
		"committing its cursors only over what is durable (fdatasync done).\n\n"
		"  --data-dir DIR        where the journal lives (env TICKD_DATA_DIR; ./tickd-data)\n"
		"  --policy hold|release hold: the feed waits for a stalled journal (lossless,\n"
		"                        default); release: after --release-after seconds the feed\n"
		"                        goes on and the journal records exactly what it missed\n"
		"  --release-after S     the stall a release policy tolerates (default 5)\n"
		"  --commit-ms MS        group commit: at most one fdatasync per file this often\n"
		"                        (default 1; 0: as soon as a write completes)\n"
		"  --commit-kb KB        ... or as soon as this much was written (default 4096)\n"
		"  --block-kb KB         the largest block (default 512, whole 4 KiB)\n"
		"  --buffers N           block buffers per stream, the write window (default 8)\n"
		"  --file-mb MB          a day's file is closed and another opened past this\n"
		"                        (default 1024)\n"
		"  --prealloc-mb MB      fallocate files ahead by this much (default 64)\n"
		"  --direct auto|on|off  O_DIRECT writes (auto: where the file system takes them)\n"
		"  --sync fdatasync|dsync  one fdatasync per commit (default), or RWF_DSYNC writes\n"
		"  --idle KIND           backoff (default), spin or block\n"
		"  --retain RULES        retention, whole days by their last write (default\n"
		"                        " TKJ_RETAIN_DEFAULT "; bars is every bars.*):\n"
		"                        applied at start and every hour\n"
		"  --shm-path PATH       segment file (default $TICKD_SHM_PATH or /dev/shm/tickd)\n");
}

struct tk_persist_in {
	struct tk_log_reader r;
	int sid;
	uint64_t committed;
	bool loss_pending; /* a lap not yet recorded (the stream had no room) */
	int64_t retry_at;  /* after an error (no room for a new file): not before */
	int last_err;
	uint64_t start_seq; /* where it opened: a gap from there was never seen at all */
	uint64_t loss_from, loss_to;
};

static void tk__say_info(void *ctx, const char *line)
{
	(void)ctx;
	tk_info("retention: %s", line);
}

static const char *tk__symbol_name(void *ctx, uint32_t id)
{
	return tk_symtab_name(ctx, (int32_t)id);
}

/* One pass over every input: read what fits, hand it to the journal.
 * Returns the records read. */
static uint64_t tk__persist_read(struct tkj_journal *j, struct tk_persist_in *in, uint32_t nin,
				 int64_t now)
{
	uint64_t total = 0;
	uint32_t i;

	for (i = 0; i < nin; i++) {
		struct tk_persist_in *p = &in[i];
		uint32_t room, n;
		uint64_t first;
		void *dst;
		int status, acc;

		if (p->loss_pending) {
			/* Gone before the journal started (it was down, or new),
			 * or overwritten while it ran (released, lapped). */
			int rc = tkj_append_loss(j, p->sid, p->loss_from, p->loss_to,
						 p->loss_from == p->start_seq ? 2 : 1);

			if (rc == -EAGAIN)
				continue;
			if (rc < 0) {
				tk_error("%s", tk_err_msg());
				continue;
			}
			tk_warn("%s: sequences %" PRIu64 " to %" PRIu64 " were gone before the journal "
				"read them: recorded as a loss",
				p->r.log->name, p->loss_from, p->loss_to - 1);
			p->loss_pending = false;
		}
		if (now < p->retry_at)
			continue;
		dst = tkj_append_room(j, p->sid, &room);
		if (dst == NULL)
			continue;
		first = p->r.next;
		n = tk_log_read_batch(&p->r, dst, room, &status);
		if (n > 0) {
			acc = tkj_append_done(j, p->sid, n, now);
			if (acc < 0) {
				/* No new file (a full disk, permissions): the stream
				 * holds, the log keeps the records; said once, retried
				 * every quarter second. */
				if (acc != p->last_err && acc != -EAGAIN)
					tk_error("%s; %s holds until it can go on (retrying)",
						 tk_err_msg(), p->r.log->name);
				p->last_err = acc;
				p->retry_at = now + 250000000LL;
				acc = 0;
			} else if (p->last_err != 0 && acc > 0) {
				tk_info("%s goes on", p->r.log->name);
				p->last_err = 0;
			}
			if ((uint32_t)acc < n) {
				/* Not taken (a new file could not be made yet): read
				 * again next time; they are still in the ring (ours is a
				 * gating cursor that has not passed them).  From the
				 * batch's start: a lap after the batch moved next. */
				p->r.next = first + (uint32_t)acc;
				p->r.consumed -= n - (uint32_t)acc;
				status = TK_LOG_OK; /* a lap after them is found again */
			}
			total += (uint64_t)acc;
		}
		if (status == TK_LOG_LAPPED) {
			p->loss_pending = true;
			p->loss_from = p->r.gap_from;
			p->loss_to = p->r.gap_to;
		}
	}
	return total;
}

/* The journal's counters in its metrics slot (role "persist"). */
enum {
	TK_PM_RECORDS, TK_PM_BYTES, TK_PM_PAYLOAD, TK_PM_BLOCKS, TK_PM_FSYNCS, TK_PM_FILES,
	TK_PM_WRITE_ERRORS, TK_PM_LOST, TK_PM_TORN, TK_PM_RECOVERED, TK_PM_DIRECT,
};

static struct tk_role_slot *tk__persist_metrics(const struct tk_segment *seg)
{
	struct tk_role_slot *s = tk_metrics_claim(tk_metrics_of(seg), "persist");

	if (s == NULL)
		return NULL;
	tk_metric_define(s, TK_PM_RECORDS, "journal_records_total", TK_METRIC_COUNTER, 0,
			 "records made durable");
	tk_metric_define(s, TK_PM_BYTES, "journal_written_bytes_total", TK_METRIC_COUNTER, 0,
			 "bytes written (whole blocks)");
	tk_metric_define(s, TK_PM_PAYLOAD, "journal_payload_bytes_total", TK_METRIC_COUNTER, 0,
			 "bytes of records written");
	tk_metric_define(s, TK_PM_BLOCKS, "journal_blocks_total", TK_METRIC_COUNTER, 0,
			 "blocks written");
	tk_metric_define(s, TK_PM_FSYNCS, "journal_fsyncs_total", TK_METRIC_COUNTER, 0,
			 "group commits (fdatasync or RWF_DSYNC)");
	tk_metric_define(s, TK_PM_FILES, "journal_files_total", TK_METRIC_COUNTER, 0,
			 "segment files opened");
	tk_metric_define(s, TK_PM_WRITE_ERRORS, "journal_write_errors_total", TK_METRIC_COUNTER, 0,
			 "writes that failed");
	tk_metric_define(s, TK_PM_LOST, "journal_lost_records_total", TK_METRIC_COUNTER, 0,
			 "source records declared lost");
	tk_metric_define(s, TK_PM_TORN, "journal_torn_bytes_total", TK_METRIC_COUNTER, 0,
			 "bytes of torn tails moved aside at recovery");
	tk_metric_define(s, TK_PM_RECOVERED, "journal_recovered_blocks_total", TK_METRIC_COUNTER, 0,
			 "blocks recovery read past the index");
	tk_metric_define(s, TK_PM_DIRECT, "journal_direct_io", TK_METRIC_GAUGE, 0,
			 "1 when the files are written with O_DIRECT");
	tk_metric_hist_define(s, 0, "journal_commit_latency_seconds");
	tk_metric_hist_define(s, 1, "journal_fsync_seconds");
	return s;
}

static void tk__persist_publish(struct tk_role_slot *s, const struct tkj_journal *j)
{
	const struct tkj_counters *k = tkj_counters(j);

	if (s == NULL)
		return;
	tk_metric_set(s, TK_PM_RECORDS, (double)k->records);
	tk_metric_set(s, TK_PM_BYTES, (double)k->bytes);
	tk_metric_set(s, TK_PM_PAYLOAD, (double)k->payload);
	tk_metric_set(s, TK_PM_BLOCKS, (double)k->blocks);
	tk_metric_set(s, TK_PM_FSYNCS, (double)k->fsyncs);
	tk_metric_set(s, TK_PM_FILES, (double)k->files);
	tk_metric_set(s, TK_PM_WRITE_ERRORS, (double)k->write_errors);
	tk_metric_set(s, TK_PM_LOST, (double)k->lost);
	tk_metric_set(s, TK_PM_TORN, (double)k->torn_bytes);
	tk_metric_set(s, TK_PM_RECOVERED, (double)k->recovered_blocks);
	tk_metric_set(s, TK_PM_DIRECT, (double)k->direct);
	/* Ten times a second: a histogram is a few kilobytes of copy. */
	memcpy(&s->hist[0].h, &k->commit_ns, sizeof(k->commit_ns));
	memcpy(&s->hist[1].h, &k->fsync_ns, sizeof(k->fsync_ns));
}

static void tk__persist_commit(struct tkj_journal *j, struct tk_persist_in *in, uint32_t nin)
{
	uint32_t i;

	for (i = 0; i < nin; i++) {
		uint64_t d = tkj_durable_next(j, in[i].sid);

		/* Never backwards: a released reader rejoined the gate at its
		 * gap's end (shm/log.c), ahead of what the journal holds; what
		 * lies between is copied in its buffers, or recorded lost. */
		if (d > in[i].committed &&
		    (in[i].r.slot == NULL || d > tk_load_acquire_64(&in[i].r.slot->cursor))) {
			tk_log_reader_commit_at(&in[i].r, d);
			in[i].committed = d;
		}
	}
}

int tk_cmd_persist(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data-dir", required_argument, 0, 'd' },  { "policy", required_argument, 0, 'P' },
		{ "release-after", required_argument, 0, 'R' }, { "commit-ms", required_argument, 0, 'c' },
		{ "commit-kb", required_argument, 0, 'C' }, { "block-kb", required_argument, 0, 'b' },
		{ "buffers", required_argument, 0, 'B' },   { "file-mb", required_argument, 0, 'f' },
		{ "prealloc-mb", required_argument, 0, 'a' }, { "direct", required_argument, 0, 'D' },
		{ "sync", required_argument, 0, 'S' },      { "idle", required_argument, 0, 'I' },
		{ "shm-path", required_argument, 0, 'p' },  { "help", no_argument, 0, 'h' },
		{ "retain", required_argument, 0, 'T' },    { 0, 0, 0, 0 }
	};
	const char *path = tk_segment_default_path(), *retain = NULL;
	struct tkj_rule rules[TKJ_MAX_RULES];
	int nrules;
	int64_t next_retain = 0;
	struct tkj_opts o;
	struct tk_segment seg;
	struct tk_role_slot *metrics = NULL;
	struct tkj_journal *j = NULL;
	static struct tk_persist_in in[TK_SEG_MAX_LOGS];
	struct tk_symtab_region *symbols;
	struct tk_idle idle;
	enum tk_idle_kind idle_kind = TK_IDLE_BACKOFF;
	bool release = false;
	double release_after = 5;
	uint32_t nin = 0, i;
	int64_t drain_until = 0, last_beat = 0;
	int c, rc, status = 0;

	tkj_opts_default(&o);
	o.dir = "tickd-data";
	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 'P':
			if (strcmp(optarg, "hold") != 0 && strcmp(optarg, "release") != 0)
				tk_opt_fail("--policy", "'%s' is not hold or release", optarg);
			release = strcmp(optarg, "release") == 0;
			break;
		case 'R': release_after = tk_opt_double("--release-after", optarg, 0.01, 86400); break;
		case 'c': o.commit_ns = (int64_t)(tk_opt_double("--commit-ms", optarg, 0, 60000) * 1e6); break;
		case 'C': o.commit_bytes = tk_opt_u64("--commit-kb", optarg, 4, 1u << 20) * 1024; break;
		case 'b': o.block_bytes = (uint32_t)tk_opt_u64("--block-kb", optarg, 8, 65536) * 1024; break;
		case 'B': o.nbufs = (uint32_t)tk_opt_u64("--buffers", optarg, 3, 256); break;
		case 'f': o.file_bytes = tk_opt_u64("--file-mb", optarg, 1, 1u << 20) << 20; break;
		case 'a': o.prealloc_bytes = tk_opt_u64("--prealloc-mb", optarg, 1, 65536) << 20; break;
		case 'D':
			if (strcmp(optarg, "auto") == 0)
				o.direct = -1;
			else if (strcmp(optarg, "on") == 0)
				o.direct = 1;
			else if (strcmp(optarg, "off") == 0)
				o.direct = 0;
			else
				tk_opt_fail("--direct", "'%s' is not auto, on or off", optarg);
			break;
		case 'S':
			if (strcmp(optarg, "fdatasync") != 0 && strcmp(optarg, "dsync") != 0)
				tk_opt_fail("--sync", "'%s' is not fdatasync or dsync", optarg);
			o.dsync = strcmp(optarg, "dsync") == 0;
			break;
		case 'I':
			if (tk_idle_parse(optarg, &idle_kind) < 0)
				tk_opt_fail("--idle", "'%s' is not one of backoff, spin, block", optarg);
			break;
		case 'p': path = optarg; break;
		case 'T': retain = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	nrules = tkj_retain_parse(retain, rules, TKJ_MAX_RULES);
	if (nrules < 0)
		tk_opt_fail("--retain", "%s", tk_err_msg());
	if (o.block_bytes % 4096 != 0)
		tk_opt_fail("--block-kb", "%u is not a whole number of 4 KiB", o.block_bytes / 1024);
	if (o.prealloc_bytes < 2ull * o.block_bytes)
		tk_opt_fail("--prealloc-mb", "must hold two blocks at least");
	tk_msg_set_role("persist");

	rc = tk_segment_attach(&seg, path, TK_ATTACH_READER);
	if (rc < 0) {
		tk_error("%s", tk_err_msg());
		return 1;
	}
	rc = tkj_open(&j, &o);
	if (rc < 0) {
		tk_error("%s", tk_err_msg());
		tk_segment_detach(&seg);
		/* A directory it cannot use, or one another journal holds: no
		 * restart can help, so tickd run stops with this message. */
		return rc == -EINVAL || rc == -EACCES || rc == -EROFS || rc == -ENOTDIR ||
				       rc == -EBUSY || rc == -EPERM
			       ? 2
			       : 1;
	}
	symbols = tk_symtab_of(&seg);
	for (i = 0; i < seg.hdr->config.nlogs; i++) {
		const struct tk_log_spec *spec = &seg.hdr->config.logs[i];
		struct tk_reader_opts ro = { .name = TK_PERSIST_READER, .gating = true };
		struct tk_persist_in *p = &in[nin];
		struct tkj_resume res;
		int sid;

		sid = tkj_stream_add(j, spec->name, spec->slot_size, (uint64_t)seg.hdr->created_ns,
				     tk__symbol_name, symbols, &res);
		if (sid < 0) {
			tk_error("%s", tk_err_msg());
			status = sid == -EPROTO || sid == -EINVAL ? 2 : 1;
			goto out;
		}
		if (res.message[0] != '\0')
			tk_warn("%s", res.message);
		ro.release_on_stall = release;
		ro.stall_ns = (int64_t)(release_after * 1e9);
		/* Where the journal ends, not where the cursor was: a block may be
		 * durable past the last commit (killed between the two). */
		ro.start = TK_START_SEQ;
		ro.start_seq = res.next_seq;
		rc = tk_log_reader_open(&p->r, &seg, spec->name, &ro);
		if (rc < 0) {
			tk_error("%s", tk_err_msg());
			status = 1;
			goto out;
		}
		p->sid = sid;
		p->committed = res.next_seq;
		p->start_seq = res.next_seq;
		tk_log_reader_commit_at(&p->r, res.next_seq);
		if (res.next_seq > tk_log_write_seq(p->r.log) + 1) {
			tk_error("%s: the journal holds up to sequence %" PRIu64 " but the log only to "
				 "%" PRIu64 ": the journal in %s is not of this segment",
				 spec->name, res.next_seq - 1, tk_log_write_seq(p->r.log), o.dir);
			status = 2;
			goto out;
		}
		if (res.found)
			tk_info("%s: journal resumes at sequence %" PRIu64 " (recovery read %" PRIu64
				" blocks past the index in %.1f ms)",
				spec->name, res.next_seq, res.blocks_read, (double)res.recover_ns / 1e6);
		else
			tk_info("%s: journal starts at sequence %" PRIu64 " (no file of this segment "
				"yet)",
				spec->name, res.next_seq);
		nin++;
	}
	{
		const struct tkj_counters *k = tkj_counters(j);

		tk_info("journal in %s: %u streams, %s writes (alignment %u), commit every %.3g ms, "
			"%s",
			o.dir, nin, k->direct ? "O_DIRECT" : "buffered", k->align,
			(double)o.commit_ns / 1e6, o.dsync ? "RWF_DSYNC" : "fdatasync");
	}
	metrics = tk__persist_metrics(&seg);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	tk_idle_init(&idle, idle_kind);
	for (;;) {
		int64_t now = tk_mono_ns();
		uint64_t got;
		bool pending = false;

		if (tk__persist_stop && drain_until == 0) {
			drain_until = now + TK_PERSIST_DRAIN_NS;
			tk_info("stopping: writing what the logs hold, then exiting");
		}
		if (now >= next_retain) {
			struct tkj_retain_result rr;

			/* Whole days, a few unlinks an hour: cheap enough for the loop. */
			if (tkj_retain_run(o.dir, rules, nrules, tk_wall_ns(), false, tk__say_info, NULL,
					   &rr) < 0)
				tk_warn("%s", tk_err_msg());
			next_retain = now + 3600 * 1000000000LL;
		}
		got = tk__persist_read(j, in, nin, now);
		rc = tkj_poll(j, 0);
		if (tkj_failed(j)) {
			status = 1; /* restarted by tickd run: recovery reads the disk */
			break;
		}
		tk__persist_commit(j, in, nin);
		for (i = 0; i < nin; i++)
			pending |= tkj_pending(j, in[i].sid);
		if (now - last_beat > 100000000LL) {
			for (i = 0; i < nin; i++)
				tk_log_reader_heartbeat(&in[i].r);
			tk__persist_publish(metrics, j);
			last_beat = now;
		}
		if (got > 0) {
			tk_idle_reset(&idle);
			continue;
		}
		if (drain_until != 0) {
			bool more = false;

			for (i = 0; i < nin; i++)
				more |= tk_log_readable(&in[i].r);
			if ((!more && !pending) || now > drain_until)
				break;
		}
		if (pending && tkj_inflight(j) > 0) {
			/* I/O in flight: wait on the ring, up to the commit interval. */
			tkj_poll(j, o.commit_ns > 0 ? o.commit_ns : 100000);
			tk__persist_commit(j, in, nin);
			continue;
		}
		if (pending) {
			/* A partial block until its commit is due, or blocks waiting
			 * for room on a full disk: sleep, do not spin. */
			tk_sleep_ns(o.commit_ns > 0 && o.commit_ns < 1000000 ? o.commit_ns : 1000000);
			continue;
		}
		{
			/* A stream held back (no room for its next file) has its log
			 * readable all the while: sleep to its retry, not on the log
			 * (which would not wait), nor spin. */
			int64_t soonest = 0;

			for (i = 0; i < nin; i++)
				if (in[i].retry_at > now && (soonest == 0 || in[i].retry_at < soonest))
					soonest = in[i].retry_at;
			if (soonest != 0) {
				tk_sleep_ns(soonest - now < 10000000 ? soonest - now : 10000000);
				continue;
			}
		}
		tk_idle_wait(&idle, nin > 0 ? &in[0].r : NULL, 10 * 1000 * 1000);
	}
	(void)rc;
out:
	if (j != NULL && tkj_flush(j, 10 * 1000000000LL) < 0) {
		tk_error("%s", tk_err_msg());
		if (status == 0)
			status = 1;
	}
	if (j != NULL)
		tk__persist_commit(j, in, nin);
	/* A reader's close commits what it read: only the durable part. */
	for (i = 0; i < nin; i++)
		in[i].r.next = in[i].committed;
	tkj_close(j, 0);
	for (i = 0; i < nin; i++)
		tk_log_reader_close(&in[i].r);
	tk_segment_detach(&seg);
	return status;
}

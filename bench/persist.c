/*
 * bench/persist: the journal against the disk it writes to, in one run, on
 * one file system (a fresh directory under --dir, default the current one).
 *
 *  (1) raw A: sequential O_DIRECT writes of the journal's block size into a
 *      preallocated (fallocate) file, no sync: pwrite one at a time (QD1),
 *      and io_uring with as many writes in flight as the journal has block
 *      buffers (QDn).
 *  (2) raw B: the same with an fdatasync begun as soon as one commit
 *      interval (1 ms, the journal's promise) has passed since the last
 *      one began: QD1 calls it in line; QDn stops submitting, lets the
 *      writes in flight finish and runs it alone (an fdatasync beside a
 *      stream of io_uring writes to fallocated space is starved on ext4:
 *      shown, not a baseline).  The QDn one again after the journal (the
 *      disk moves).  Baseline B is the best of the three.
 *  (3) fio (if installed), io_uring, O_DIRECT, the same block size and
 *      depth, without sync and with --fdatasync=N (N: the blocks raw A
 *      writes in a commit interval), parsed from its JSON.
 *  (4) the journal through its library (persist/journal.h), its default
 *      settings: 64-byte tick records as fast as it takes them, for
 *      --gib or --seconds, whichever first; blocks MB/s, records/s, commit
 *      latency (record handed in -> durable) and fdatasync from its
 *      counters; then the same with RWF_DSYNC writes (--sync dsync).
 *  (5) `tickd persist` as users run it: a segment whose ticks.0 holds
 *      --role-slots ticks written by this process, then `tickd persist`
 *      started on it; the time until its cursor (the reader "persist" on
 *      ticks.0, which moves only over durable records) reaches the end.
 *
 *  (6) raw B (QDn) and the journal side by side, --pairs N times (6) for
 *      --pair-seconds (2) each, in the order raw-journal, journal-raw, ...:
 *      the disk's speed moves by a third and more within a run, so each
 *      journal phase is compared with the baseline of the same moment; the
 *      median of the pairs' ratios is ratio_journal_to_raw_sync_paired.
 *      (--pairs-only: this alone, for experiments.)
 *
 * Everything it makes (the work directory, the segment) is removed at exit,
 * also on failure or a signal.  No figure fails the run.
 *
 * usage: persist [--dir DIR] [--seconds S] [--gib G] [--tickd PATH]
 *                [--block-kb KB] [--buffers N] [--raw-depth N] [--commit-ms MS]
 *                [--role-slots N] [--pairs N] [--pair-seconds S] [--pairs-only]
 *                [--prealloc-mb MB] [--file-mb MB] [--no-raw] [--no-fio]
 *                [--no-dsync] [--no-role] [--prewrite] [--quick]
 *
 * --prewrite (an experiment, not the baseline): the raw files are written
 * once before they are measured, so the fdatasync has no unwritten extent
 * to convert (what the journal's fallocate costs on ext4).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <liburing.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/hist.h"
#include "common/msg.h"
#include "persist/journal.h"
#include "shm/log.h"
#include "shm/records.h"
#include "shm/segment.h"
#include "shm/symtab.h"

#ifndef TK_TICKD_BIN
#define TK_TICKD_BIN "tickd"
#endif

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

#define MB 1e6 /* MB/s are decimal, as fio's bw_bytes */
#define NSYM 100
#define MAX_PAIRS 16

/* ---------------------------------------------------------- settings */

static struct {
	char base[PATH_MAX];   /* --dir */
	double seconds;        /* per phase */
	uint64_t cap;          /* bytes per phase */
	uint32_t block;        /* bytes */
	uint32_t nbufs;
	uint32_t raw_depth; /* io_uring baselines' writes in flight (default: nbufs) */
	int64_t commit_ns;
	uint32_t role_slots;
	uint32_t pairs;        /* (6) interleaved raw B / journal pairs */
	uint64_t prealloc, file_bytes; /* the journal's (0: its defaults) */
	double pair_seconds;   /* a phase of a pair */
	bool raw, fio, dsync, role, pairs_only;
	bool prewrite; /* raw files written once first: no unwritten extents (experiment) */
	char tickd[PATH_MAX];
} cfg;

/* ---------------------------------------------------------- clean-up */

static char workdir[PATH_MAX];  /* ours, removed whole at exit */
static char segpath[PATH_MAX];  /* ours, removed at exit */
static volatile pid_t child = 0; /* a tickd persist or fio running */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

static void rm_tree(const char *p)
{
	if (p[0] != '\0')
		nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = 0;
	}
	if (segpath[0] != '\0') {
		unlink(segpath);
		segpath[0] = '\0';
	}
	if (workdir[0] != '\0') {
		rm_tree(workdir);
		workdir[0] = '\0';
	}
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die(const char *what)
{
	fprintf(stderr, "persist: %s%s%s\n", what, tk_err_msg()[0] ? ": " : "", tk_err_msg());
	exit(1); /* atexit: cleanup() */
}

/* After removing a phase's files: their discards (ext4 -o discard issues
 * them at the next journal commit) run now, not inside the next phase. */
static void settle(void)
{
	int fd = open(workdir[0] ? workdir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
}

static double since_s(int64_t t0)
{
	return (double)(tk_mono_ns() - t0) / 1e9;
}

/* ---------------------------------------------------------- (1)(2) raw */

struct raw {
	double mb_s;
	uint64_t bytes;
	double secs;
	uint64_t syncs;
	struct tk_hist sync_ns;
	bool ok;
};

static uint8_t *pattern_buffers(uint32_t n, uint32_t bs)
{
	uint8_t *m;
	uint64_t x = 0x9E3779B97F4A7C15ull, i;

	if (posix_memalign((void **)&m, 4096, (size_t)n * bs) != 0)
		die("out of memory");
	for (i = 0; i < (uint64_t)n * bs / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(m + i * 8, &x, 8);
	}
	return m;
}

static int open_prealloc(const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0) {
		fprintf(stderr, "persist: cannot open %s with O_DIRECT: %s\n", path, strerror(errno));
		return -1;
	}
	rc = posix_fallocate(fd, 0, (off_t)size);
	if (rc != 0) {
		fprintf(stderr, "persist: cannot fallocate %" PRIu64 " bytes in %s: %s\n", size, path,
			strerror(rc));
		close(fd);
		return -1;
	}
	if (cfg.prewrite) {
		/* Overwrite what is already written: no extent to convert at the
		 * fdatasync, which is then the device's flush alone. */
		uint8_t *z = pattern_buffers(1, 1u << 20);
		uint64_t off;

		for (off = 0; off < size; off += 1u << 20)
			if (pwrite(fd, z, size - off < (1u << 20) ? size - off : 1u << 20, (off_t)off) < 0)
				break;
		fdatasync(fd);
		free(z);
		settle();
	}
	return fd;
}

/* pwrite one block at a time; fdatasync in line when sync_ns > 0 and that
 * long has passed since the last one. */
static void raw_qd1(const char *path, int64_t sync_ns, struct raw *r)
{
	uint8_t *buf = pattern_buffers(1, cfg.block);
	int64_t t0, last, now, deadline;
	uint64_t off = 0;
	int fd;

	memset(r, 0, sizeof(*r));
	tk_hist_init(&r->sync_ns);
	fd = open_prealloc(path, cfg.cap);
	if (fd < 0) {
		free(buf);
		return;
	}
	t0 = last = tk_mono_ns();
	deadline = t0 + (int64_t)(cfg.seconds * 1e9);
	while (off + cfg.block <= cfg.cap) {
		if (pwrite(fd, buf, cfg.block, (off_t)off) != (ssize_t)cfg.block) {
			fprintf(stderr, "persist: pwrite %s: %s\n", path, strerror(errno));
			break;
		}
		off += cfg.block;
		now = tk_mono_ns();
		if (sync_ns > 0 && now - last >= sync_ns) {
			if (fdatasync(fd) < 0)
				fprintf(stderr, "persist: fdatasync %s: %s\n", path, strerror(errno));
			last = tk_mono_ns();
			tk_hist_record(&r->sync_ns, (uint64_t)(last - now));
			r->syncs++;
			now = last;
		}
		if (now >= deadline)
			break;
	}
	if (sync_ns > 0) {
		now = tk_mono_ns();
		fdatasync(fd);
		tk_hist_record(&r->sync_ns, (uint64_t)(tk_mono_ns() - now));
		r->syncs++;
	}
	r->secs = since_s(t0);
	r->bytes = off;
	r->mb_s = (double)off / MB / r->secs;
	r->ok = off > 0;
	close(fd);
	unlink(path);
	settle();
	free(buf);
}

/*
 * io_uring, `depth` fixed-buffer writes in flight.  With sync_ns > 0 an
 * fdatasync through the ring once that long has passed since the last went
 * in (it covers the writes completed before it):
 *   SYNC_STRICT: no new write from then until it completes (the writes in
 *     flight finish, the fdatasync runs alone, then the window refills);
 *   SYNC_BESIDE: the writes go on beside it.
 */
enum { SYNC_NONE, SYNC_STRICT, SYNC_BESIDE };

static void raw_uring(const char *path, uint32_t depth, int64_t sync_ns, int mode, struct raw *r)
{
	uint8_t *mem = pattern_buffers(depth, cfg.block);
	struct io_uring ring;
	struct iovec *iov = calloc(depth, sizeof(*iov));
	uint32_t *freeq = calloc(depth, sizeof(*freeq)), nfree = depth, k, writes = 0;
	uint64_t off = 0, unsynced = 0; /* writes completed since the last fdatasync went in */
	bool sync_inflight = false, draining = false, fixed, stop = false;
	int64_t t0, last_sync, deadline;
	int fd;

	memset(r, 0, sizeof(*r));
	tk_hist_init(&r->sync_ns);
	if (mode == SYNC_NONE)
		sync_ns = 0;
	fd = open_prealloc(path, cfg.cap);
	if (fd < 0)
		goto out_free;
	if (io_uring_queue_init(2 * depth + 8, &ring, 0) < 0) {
		fprintf(stderr, "persist: io_uring_queue_init failed\n");
		close(fd);
		unlink(path);
		goto out_free;
	}
	for (k = 0; k < depth; k++) {
		iov[k].iov_base = mem + (size_t)k * cfg.block;
		iov[k].iov_len = cfg.block;
		freeq[k] = k;
	}
	fixed = io_uring_register_buffers(&ring, iov, depth) == 0;
	t0 = last_sync = tk_mono_ns();
	deadline = t0 + (int64_t)(cfg.seconds * 1e9);
	for (;;) {
		struct io_uring_cqe *cqe;
		int64_t now = tk_mono_ns();
		bool due = sync_ns > 0 && !sync_inflight && now - last_sync >= sync_ns;

		if (now >= deadline || off + cfg.block > cfg.cap)
			stop = true;
		/* (due with nothing written since the last: the window refills first) */
		if (mode == SYNC_STRICT && due && (unsynced > 0 || writes > 0))
			draining = true;
		while (!stop && nfree > 0 && !(mode == SYNC_STRICT && (draining || sync_inflight))) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			k = freeq[--nfree];
			if (fixed)
				io_uring_prep_write_fixed(sqe, fd, iov[k].iov_base, cfg.block, off, (int)k);
			else
				io_uring_prep_write(sqe, fd, iov[k].iov_base, cfg.block, off);
			io_uring_sqe_set_data64(sqe, k);
			off += cfg.block;
			writes++;
			if (off + cfg.block > cfg.cap)
				break;
		}
		if (sync_ns > 0 && !sync_inflight && unsynced > 0 &&
		    (mode == SYNC_STRICT ? (draining || stop) && writes == 0
					 : due || (stop && writes == 0))) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
			/* the submission time rides in the user data */
			io_uring_sqe_set_data64(sqe, (1ull << 63) | (uint64_t)now);
			sync_inflight = true;
			draining = false;
			last_sync = now;
			unsynced = 0;
		}
		if (draining && writes == 0 && !sync_inflight)
			draining = false; /* nothing to cover */
		if (stop && writes == 0 && !sync_inflight && (sync_ns == 0 || unsynced == 0))
			break;
		if (writes == 0 && !sync_inflight) {
			/* (cannot happen: a write or an fdatasync is always in flight) */
			continue;
		}
		if (sync_ns > 0 && !sync_inflight && !draining) {
			/* wake up for the next fdatasync if no write completes first */
			int64_t w = sync_ns - (now - last_sync);
			struct __kernel_timespec ts;

			w = w > 0 ? w : 0;
			ts.tv_sec = w / 1000000000LL;
			ts.tv_nsec = w % 1000000000LL;
			io_uring_submit(&ring);
			if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts) < 0)
				continue;
		} else if (io_uring_submit_and_wait(&ring, 1) < 0) {
			continue;
		}
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);

			if (ud >> 63) {
				sync_inflight = false;
				if (cqe->res < 0)
					fprintf(stderr, "persist: fdatasync: %s\n", strerror(-cqe->res));
				tk_hist_record(&r->sync_ns,
					       (uint64_t)(tk_mono_ns() - (int64_t)(ud & ~(1ull << 63))));
				r->syncs++;
			} else {
				writes--;
				if (cqe->res != (int)cfg.block)
					fprintf(stderr, "persist: io_uring write: %s\n",
						cqe->res < 0 ? strerror(-cqe->res) : "short");
				else
					r->bytes += cfg.block;
				freeq[nfree++] = (uint32_t)ud;
				unsynced++;
			}
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	r->secs = since_s(t0);
	r->mb_s = (double)r->bytes / MB / r->secs;
	r->ok = r->bytes > 0;
	io_uring_queue_exit(&ring);
	close(fd);
	unlink(path);
	settle();
out_free:
	free(mem);
	free(iov);
	free(freeq);
}

/* ---------------------------------------------------------- (3) fio */

struct fio {
	bool ran;
	double mb_s;
	double sync_p50_us, sync_p99_us;
};

static bool have_fio(void)
{
	return system("fio --version >/dev/null 2>&1") == 0;
}

static void run_fio(uint32_t sync_every, struct fio *f)
{
	char cmd[2 * PATH_MAX + 512], out[PATH_MAX + 32], file[PATH_MAX + 32];
	json_error_t err;
	json_t *doc, *job, *w, *pct;

	memset(f, 0, sizeof(*f));
	snprintf(out, sizeof(out), "%s/fio.json", workdir);
	snprintf(file, sizeof(file), "%s/fio.data", workdir);
	snprintf(cmd, sizeof(cmd),
		 "fio --name=seqwrite --filename=%s --size=%" PRIu64 " --runtime=%.0f "
		 "--ioengine=io_uring --direct=1 --rw=write --bs=%u --iodepth=%u "
		 "--fallocate=native --fdatasync=%u --output-format=json --output=%s "
		 ">/dev/null 2>&1",
		 file, cfg.cap, cfg.seconds < 1 ? 1 : cfg.seconds, cfg.block, cfg.raw_depth, sync_every,
		 out);
	if (system(cmd) != 0) {
		fprintf(stderr, "persist: fio failed: %s\n", cmd);
		unlink(file);
		unlink(out);
		return;
	}
	unlink(file);
	settle();
	doc = json_load_file(out, 0, &err);
	unlink(out);
	if (doc == NULL)
		return;
	job = json_array_get(json_object_get(doc, "jobs"), 0);
	w = json_object_get(job, "write");
	if (json_is_integer(json_object_get(w, "bw_bytes"))) {
		f->ran = true;
		f->mb_s = (double)json_integer_value(json_object_get(w, "bw_bytes")) / MB;
	}
	pct = json_object_get(json_object_get(json_object_get(job, "sync"), "lat_ns"), "percentile");
	if (pct != NULL) {
		f->sync_p50_us = json_number_value(json_object_get(pct, "50.000000")) / 1e3;
		f->sync_p99_us = json_number_value(json_object_get(pct, "99.000000")) / 1e3;
	}
	json_decref(doc);
}

/* ---------------------------------------------------------- (4) the journal */

struct jres {
	bool ok;
	double secs;
	double mb_s;        /* blocks written (with their padding) */
	double payload_mb_s;
	double records_s;
	double wait_s; /* of secs, waiting for a free buffer (the journal's I/O behind) */
	uint64_t records, bytes, blocks, fsyncs, files;
	uint32_t direct;
	struct tk_hist commit_ns, fsync_ns;
};

static char symnames[NSYM][16];

static const char *sym_name(void *ctx, uint32_t id)
{
	(void)ctx;
	return id < NSYM ? symnames[id] : NULL;
}

#define TS0 1704205800000000000LL /* 2024-01-02T14:30:00Z */

/* Ticks as a feed writes them: the same 64-byte slot form.  Prices and sizes
 * come from a table (a generator would cost more than the journal here:
 * the real role copies slots from the ring). */
static struct tk_tick tick_tab[1024];

static void tick_tab_init(void)
{
	uint32_t i;

	for (i = 0; i < 1024; i++) {
		tick_tab[i].price = 100.0 + (double)(i * 7 % 1000) * 0.01;
		tick_tab[i].size = (double)(1 + i * 13 % 500);
	}
}

static inline void fill_tick(void *slot, uint64_t seq)
{
	struct tk_slot *s = slot;
	struct tk_tick *t = (struct tk_tick *)(void *)s->data;
	const struct tk_tick *src = &tick_tab[seq & 1023];

	s->seq = seq;
	s->type = TK_REC_TICK;
	s->aux = (uint32_t)(seq & 63) + (uint32_t)(seq >> 6 & 31); /* ids 0..93 */
	t->ts_ns = TS0 + (int64_t)seq * 1000;
	t->price = src->price;
	t->size = src->size;
	t->recv_ns = t->ts_ns + 50000;
	t->conditions = 0;
	t->feed = 0;
	t->src = seq;
}

/* Feed one stream as fast as the journal takes records, the way tickd
 * persist's loop does (append what fits, poll; when nothing fits, wait on
 * the ring up to the commit interval), then flush. */
static void journal_run(const char *dir, bool dsync, struct jres *r)
{
	struct tkj_opts o;
	struct tkj_journal *j;
	struct tkj_resume res;
	const struct tkj_counters *c;
	uint64_t seq = 1, fed = 0;
	int64_t t0, deadline;
	int sid;

	memset(r, 0, sizeof(*r));
	tkj_opts_default(&o);
	o.dir = dir;
	o.block_bytes = cfg.block;
	o.nbufs = cfg.nbufs;
	o.commit_ns = cfg.commit_ns;
	o.dsync = dsync;
	if (cfg.prealloc)
		o.prealloc_bytes = cfg.prealloc;
	if (cfg.file_bytes)
		o.file_bytes = cfg.file_bytes;
	if (tkj_open(&j, &o) < 0) {
		fprintf(stderr, "persist: %s\n", tk_err_msg());
		return;
	}
	sid = tkj_stream_add(j, "ticks.0", 64, (uint64_t)tk_wall_ns(), sym_name, NULL, &res);
	if (sid < 0) {
		fprintf(stderr, "persist: %s\n", tk_err_msg());
		tkj_close(j, 0);
		return;
	}
	t0 = tk_mono_ns();
	deadline = t0 + (int64_t)(cfg.seconds * 1e9);
	while (fed < cfg.cap) {
		uint32_t room, i;
		uint8_t *dst = tkj_append_room(j, sid, &room);
		int64_t now = tk_mono_ns();
		int acc;

		if (now >= deadline)
			break;
		if (dst == NULL) {
			tkj_poll(j, o.commit_ns > 0 ? o.commit_ns : 100000);
			r->wait_s += since_s(now);
			continue;
		}
		for (i = 0; i < room; i++)
			fill_tick(dst + (size_t)i * 64, seq + i);
		acc = tkj_append_done(j, sid, room, now);
		if (acc < 0) {
			fprintf(stderr, "persist: %s\n", tk_err_msg());
			break;
		}
		seq += (uint64_t)acc;
		fed += (uint64_t)acc * 64;
		tkj_poll(j, 0);
	}
	if (tkj_flush(j, 30 * 1000000000LL) < 0)
		fprintf(stderr, "persist: %s\n", tk_err_msg());
	r->secs = since_s(t0);
	c = tkj_counters(j);
	r->records = c->records;
	r->bytes = c->bytes;
	r->blocks = c->blocks;
	r->fsyncs = c->fsyncs;
	r->files = c->files;
	r->direct = c->direct;
	r->commit_ns = c->commit_ns;
	r->fsync_ns = c->fsync_ns;
	r->mb_s = (double)c->bytes / MB / r->secs;
	r->payload_mb_s = (double)c->payload / MB / r->secs;
	r->records_s = (double)c->records / r->secs;
	r->ok = c->records > 0;
	tkj_close(j, 10 * 1000000000LL);
	rm_tree(dir);
	settle();
}

/* ---------------------------------------------------------- (5) tickd persist */

struct role {
	bool ok;
	uint64_t records;
	double secs;        /* from the start of the process to the cursor at the end */
	double steady_secs; /* from its first commit to the end */
	double records_s, steady_records_s, mb_s;
	char why[256];
};

static int sh(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

static const struct tk_reader_slot *find_reader(struct tk_log_region *log, const char *name)
{
	struct tk_reader_slot *rs = tk_log_readers(log);
	uint32_t i;

	for (i = 0; i < log->nreaders; i++)
		if (__atomic_load_n(&rs[i].state, __ATOMIC_ACQUIRE) == TK_READER_ACTIVE &&
		    strncmp(rs[i].name, name, sizeof(rs[i].name)) == 0)
			return &rs[i];
	return NULL;
}

static void role_run(struct role *r)
{
	char cmd[3 * PATH_MAX], data[PATH_MAX + 16], logf[PATH_MAX + 16], bk[32], nb[32], cm[32];
	struct tk_segment seg;
	struct tk_log_writer w;
	struct tk_log_region *log;
	struct tk_symtab_region *tab;
	const struct tk_reader_slot *rd = NULL;
	uint64_t n = cfg.role_slots, seq = 1, cur;
	int64_t t0, t_first = 0, t_end = 0, deadline;
	int status, k;

	memset(r, 0, sizeof(*r));
	snprintf(segpath, sizeof(segpath), "/dev/shm/tickd-bench-persist-%d", (int)getpid());
	snprintf(data, sizeof(data), "%s/role-data", workdir);
	snprintf(logf, sizeof(logf), "%s/role.log", workdir);
	if (snprintf(cmd, sizeof(cmd),
		     "%s init --fresh --shm-path %s --slots %u --history-symbols 0 --bar-slots 1024 "
		     ">%s 2>&1",
		     cfg.tickd, segpath, cfg.role_slots, logf) >= (int)sizeof(cmd) ||
	    sh(cmd) < 0) {
		snprintf(r->why, sizeof(r->why), "tickd init failed (see its output above)");
		sh((snprintf(cmd, sizeof(cmd), "cat %s >&2", logf), cmd));
		return;
	}
	if (tk_segment_attach(&seg, segpath, TK_ATTACH_WRITER) < 0) {
		snprintf(r->why, sizeof(r->why), "attach: %s", tk_err_msg());
		return;
	}
	tab = tk_symtab_of(&seg);
	for (k = 0; k < NSYM; k++)
		tk_symtab_intern(tab, symnames[k], (uint32_t)strlen(symnames[k]));
	log = tk_log_find(&seg, "ticks.0");
	if (log == NULL || tk_log_writer_open(&w, log) < 0) {
		snprintf(r->why, sizeof(r->why), "ticks.0: %s", tk_err_msg());
		tk_segment_detach(&seg);
		return;
	}
	/* Exactly a ring's worth: the journal reads every one of them. */
	while (seq <= n) {
		uint32_t got, i, want = n - seq + 1 < 4096 ? (uint32_t)(n - seq + 1) : 4096;
		struct tk_slot *s = tk_log_claim(&w, want, &got);

		if (s == NULL)
			break; /* nobody gates: cannot happen */
		for (i = 0; i < got; i++) {
			struct tk_slot *d = (struct tk_slot *)((uint8_t *)s + (size_t)i * 64);
			uint64_t q = seq + i;

			fill_tick(d, q); /* (a tick fills the 48 bytes of payload) */
			d->seq = q | TK_SLOT_WRITING; /* tk_log_publish stores the final word */
		}
		tk_log_publish(&w, got);
		seq += got;
	}
	tk_log_writer_close(&w);
	n = seq - 1;
	r->records = n;

	snprintf(bk, sizeof(bk), "%u", cfg.block / 1024);
	snprintf(nb, sizeof(nb), "%u", cfg.nbufs);
	snprintf(cm, sizeof(cm), "%g", (double)cfg.commit_ns / 1e6);
	fflush(NULL);
	t0 = tk_mono_ns();
	child = fork();
	if (child == 0) {
		int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(cfg.tickd, "tickd", "persist", "--data-dir", data, "--shm-path", segpath,
		      "--block-kb", bk, "--buffers", nb, "--commit-ms", cm, (char *)NULL);
		_exit(127);
	}
	if (child < 0) {
		snprintf(r->why, sizeof(r->why), "fork: %s", strerror(errno));
		child = 0;
		tk_segment_detach(&seg);
		return;
	}
	/* At most 30 s, whatever the disk does (never fail on a timing). */
	deadline = t0 + 30 * 1000000000LL;
	for (;;) {
		int64_t now = tk_mono_ns();

		if (rd == NULL)
			rd = find_reader(log, "persist");
		cur = rd != NULL ? __atomic_load_n(&rd->cursor, __ATOMIC_ACQUIRE) : 0;
		if (t_first == 0 && cur > 1)
			t_first = now;
		if (cur >= n + 1) {
			t_end = now;
			break;
		}
		if (waitpid(child, &status, WNOHANG) == child) {
			child = 0;
			snprintf(r->why, sizeof(r->why), "tickd persist exited (status %d) at cursor %" PRIu64,
				 status, cur);
			break;
		}
		if (now > deadline) {
			snprintf(r->why, sizeof(r->why), "not at the end after 30 s (cursor %" PRIu64 ")",
				 cur);
			t_end = now;
			break;
		}
		tk_sleep_ns(100000);
	}
	if (child > 0) {
		int64_t stop = tk_mono_ns() + 20 * 1000000000LL;

		kill(child, SIGTERM);
		while (waitpid(child, &status, WNOHANG) == 0 && tk_mono_ns() < stop)
			tk_sleep_ns(1000000);
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		child = 0;
	}
	if (t_end != 0) {
		uint64_t got = (cur > n + 1 ? n + 1 : cur) - 1;

		r->ok = got > 0;
		r->records = got;
		r->secs = (double)(t_end - t0) / 1e9;
		r->records_s = (double)got / r->secs;
		r->mb_s = (double)got * 64 / MB / r->secs;
		if (t_first != 0 && t_end > t_first) {
			r->steady_secs = (double)(t_end - t_first) / 1e9;
			r->steady_records_s = (double)got / r->steady_secs;
		}
	}
	if (!r->ok) {
		fprintf(stderr, "persist: tickd persist: %s; its output:\n", r->why);
		snprintf(cmd, sizeof(cmd), "cat %s >&2", logf);
		sh(cmd);
	}
	tk_segment_detach(&seg);
	unlink(segpath);
	segpath[0] = '\0';
	rm_tree(data);
	settle();
}

/* ---------------------------------------------------------- main */

static double us(const struct tk_hist *h, double p)
{
	return (double)tk_hist_percentile(h, p) / 1e3;
}

static void jnum(const char *key, double v, bool ok, const char *fmt, bool *first)
{
	printf("%s\"%s\":", *first ? "" : ",", key);
	if (ok)
		printf(fmt, v);
	else
		printf("null");
	*first = false;
}

static void syncrow(const char *label, double mb_s, const struct tk_hist *h, uint64_t syncs,
		    double secs, double base)
{
	printf("%-54s %7.0f %7.2fx %7.0fus %7.0fus %8.0f\n", label, mb_s, mb_s / base, us(h, 50),
	       us(h, 99), (double)syncs / secs);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: persist [--dir DIR] [--seconds S] [--gib G] [--tickd PATH] [--block-kb KB]\n"
		"               [--buffers N] [--raw-depth N] [--commit-ms MS] [--role-slots N]\n"
		"               [--pairs N] [--pair-seconds S] [--pairs-only] [--prealloc-mb MB]\n"
		"               [--file-mb MB]\n"
		"               [--no-raw] [--no-fio] [--no-dsync] [--no-role] [--prewrite] [--quick]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct raw a1, an, b1, bs, bb, bs2, pr[MAX_PAIRS];
	struct jres pj[MAX_PAIRS];
	double pratio[MAX_PAIRS], psorted[MAX_PAIRS], pmedian = 0;
	uint32_t npairs = 0, p;
	struct fio fa = { 0 }, fb = { 0 };
	struct jres jf, jd;
	struct role ro = { 0 };
	struct statfs sfs;
	char path[PATH_MAX + 64], jdir[PATH_MAX + 64];
	bool fio_ok, first = true;
	double raw_mb, raw_sync_mb, gib = 2;
	uint32_t sync_every;
	int i;

	cfg.seconds = 3;
	cfg.block = 512 * 1024;
	cfg.nbufs = 8;
	cfg.commit_ns = 1000000;
	cfg.role_slots = 1u << 24;
	cfg.pairs = 6;
	cfg.pair_seconds = 2;
	cfg.raw = cfg.fio = cfg.dsync = cfg.role = true;
	snprintf(cfg.base, sizeof(cfg.base), ".");
	snprintf(cfg.tickd, sizeof(cfg.tickd), "%s", TK_TICKD_BIN);
	if (access(cfg.tickd, X_OK) != 0) {
		/* tickd sits beside the bench directory in the build tree. */
		char self[PATH_MAX];
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

		self[len > 0 ? len : 0] = '\0';
		snprintf(cfg.tickd, sizeof(cfg.tickd), "%s/../tickd", dirname(self));
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--dir") == 0 && v) {
			snprintf(cfg.base, sizeof(cfg.base), "%s", v);
			i++;
		} else if (strcmp(a, "--seconds") == 0 && v && atof(v) > 0) {
			cfg.seconds = atof(v);
			i++;
		} else if (strcmp(a, "--gib") == 0 && v && atof(v) > 0) {
			gib = atof(v);
			i++;
		} else if (strcmp(a, "--tickd") == 0 && v) {
			snprintf(cfg.tickd, sizeof(cfg.tickd), "%s", v);
			i++;
		} else if (strcmp(a, "--block-kb") == 0 && v && atoi(v) >= 8 && atoi(v) % 4 == 0) {
			cfg.block = (uint32_t)atoi(v) * 1024;
			i++;
		} else if (strcmp(a, "--buffers") == 0 && v && atoi(v) >= 3 && atoi(v) <= 256) {
			cfg.nbufs = (uint32_t)atoi(v);
			i++;
		} else if (strcmp(a, "--raw-depth") == 0 && v && atoi(v) >= 1 && atoi(v) <= 256) {
			cfg.raw_depth = (uint32_t)atoi(v);
			i++;
		} else if (strcmp(a, "--commit-ms") == 0 && v && atof(v) >= 0) {
			cfg.commit_ns = (int64_t)(atof(v) * 1e6);
			i++;
		} else if (strcmp(a, "--role-slots") == 0 && v && atoi(v) >= 1024 &&
			   (atoi(v) & (atoi(v) - 1)) == 0) {
			cfg.role_slots = (uint32_t)atoi(v);
			i++;
		} else if (strcmp(a, "--pairs") == 0 && v && atoi(v) >= 0 && atoi(v) <= MAX_PAIRS) {
			cfg.pairs = (uint32_t)atoi(v);
			i++;
		} else if (strcmp(a, "--pair-seconds") == 0 && v && atof(v) > 0) {
			cfg.pair_seconds = atof(v);
			i++;
		} else if (strcmp(a, "--prealloc-mb") == 0 && v && atoi(v) >= 1) {
			cfg.prealloc = (uint64_t)atoi(v) << 20;
			i++;
		} else if (strcmp(a, "--file-mb") == 0 && v && atoi(v) >= 1) {
			cfg.file_bytes = (uint64_t)atoi(v) << 20;
			i++;
		} else if (strcmp(a, "--pairs-only") == 0) {
			cfg.pairs_only = true; /* experiments: (6) alone */
		} else if (strcmp(a, "--no-fio") == 0) {
			cfg.fio = false;
		} else if (strcmp(a, "--no-raw") == 0) {
			cfg.raw = false; /* the journal alone, for experiments: no ratios */
		} else if (strcmp(a, "--prewrite") == 0) {
			cfg.prewrite = true;
		} else if (strcmp(a, "--no-dsync") == 0) {
			cfg.dsync = false;
		} else if (strcmp(a, "--no-role") == 0) {
			cfg.role = false;
		} else if (strcmp(a, "--quick") == 0) {
			cfg.seconds = 1;
			gib = 0.5;
			cfg.pairs = 2;
			cfg.pair_seconds = 1;
			cfg.role_slots = 1u << 22;
		} else {
			usage();
		}
	}
	if (cfg.raw_depth == 0)
		cfg.raw_depth = cfg.nbufs;
	cfg.cap = (uint64_t)(gib * (double)(1ull << 30)) / cfg.block * cfg.block;
	if (cfg.cap < 4ull * cfg.block)
		cfg.cap = 4ull * cfg.block;
	tk_msg_set_level(TK_MSG_WARN);
	tick_tab_init();
	for (i = 0; i < NSYM; i++)
		snprintf(symnames[i], sizeof(symnames[i]), "SYM%03d", i);

	if (statfs(cfg.base, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC) {
		fprintf(stderr, "persist: %s is tmpfs: O_DIRECT and fdatasync mean nothing there; "
				"give --dir a directory on the disk to measure\n",
			cfg.base);
		return 2;
	}
	if (snprintf(workdir, sizeof(workdir), "%s/tickd-bench-persist-%d-XXXXXX", cfg.base,
		     (int)getpid()) >= (int)sizeof(workdir) ||
	    mkdtemp(workdir) == NULL) {
		fprintf(stderr, "persist: cannot create a directory in %s: %s\n", cfg.base,
			strerror(errno));
		workdir[0] = '\0';
		return 1;
	}
	atexit(cleanup);
	settle(); /* whatever ran before us: its writeback and discards now */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGABRT, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGBUS, on_signal);
	if (cfg.role && access(cfg.tickd, X_OK) != 0) {
		fprintf(stderr, "persist: no tickd at %s (--tickd PATH): (5) skipped\n", cfg.tickd);
		cfg.role = false;
	}
	fio_ok = cfg.fio && cfg.raw && !cfg.pairs_only && have_fio();

	snprintf(path, sizeof(path), "%s/raw.data", workdir);
	memset(&a1, 0, sizeof(a1));
	an = b1 = bs = bb = bs2 = a1;
	memset(&jf, 0, sizeof(jf));
	if (cfg.pairs_only)
		cfg.fio = cfg.dsync = cfg.role = false;
	if (cfg.raw && !cfg.pairs_only) {
		raw_qd1(path, 0, &a1);
		raw_uring(path, cfg.raw_depth, 0, SYNC_NONE, &an);
		raw_qd1(path, cfg.commit_ns, &b1);
		raw_uring(path, cfg.raw_depth, cfg.commit_ns, SYNC_STRICT, &bs);
		raw_uring(path, cfg.raw_depth, cfg.commit_ns, SYNC_BESIDE, &bb);
	}
	/* fio's --fdatasync=N counts writes: N = the blocks raw A writes in a
	 * commit interval. */
	sync_every = (uint32_t)((an.ok ? an.mb_s : 1000.0) * MB * ((double)cfg.commit_ns / 1e9) / cfg.block + 0.5);
	if (sync_every < 1)
		sync_every = 1;
	if (fio_ok && cfg.raw) {
		run_fio(0, &fa);
		run_fio(sync_every, &fb);
	}
	snprintf(jdir, sizeof(jdir), "%s/journal-fdatasync", workdir);
	if (!cfg.pairs_only)
		journal_run(jdir, false, &jf);
	snprintf(jdir, sizeof(jdir), "%s/journal-dsync", workdir);
	memset(&jd, 0, sizeof(jd));
	if (cfg.dsync)
		journal_run(jdir, true, &jd);
	if (cfg.role)
		role_run(&ro);
	if (cfg.raw && !cfg.pairs_only)
		raw_uring(path, cfg.raw_depth, cfg.commit_ns, SYNC_STRICT, &bs2); /* the bracket after */
	npairs = cfg.raw ? cfg.pairs : 0;
	if (npairs > 0) {
		/* (6) The disk's speed moves by a third within a run: phases side by
		 * side, in the order ABBA (raw first, then journal first), compare
		 * the journal with the baseline of the same moment. */
		double saved = cfg.seconds;

		cfg.seconds = cfg.pair_seconds;
		for (p = 0; p < npairs; p++) {
			snprintf(jdir, sizeof(jdir), "%s/journal-pair-%u", workdir, p);
			if (p % 2 == 0) {
				raw_uring(path, cfg.raw_depth, cfg.commit_ns, SYNC_STRICT, &pr[p]);
				journal_run(jdir, false, &pj[p]);
			} else {
				journal_run(jdir, false, &pj[p]);
				raw_uring(path, cfg.raw_depth, cfg.commit_ns, SYNC_STRICT, &pr[p]);
			}
			pratio[p] = pr[p].ok && pj[p].ok && pr[p].mb_s > 0 ? pj[p].mb_s / pr[p].mb_s : 0;
			psorted[p] = pratio[p];
		}
		cfg.seconds = saved;
		qsort(psorted, npairs, sizeof(psorted[0]), cmp_double);
		pmedian = npairs % 2 ? psorted[npairs / 2]
				     : (psorted[npairs / 2 - 1] + psorted[npairs / 2]) / 2;
	}

	/* The baselines: the better of each kind (the disk at its best). */
	raw_mb = a1.mb_s > an.mb_s ? a1.mb_s : an.mb_s;
	raw_sync_mb = b1.mb_s;
	if (bs.mb_s > raw_sync_mb)
		raw_sync_mb = bs.mb_s;
	if (bs2.mb_s > raw_sync_mb)
		raw_sync_mb = bs2.mb_s;

	printf("bench/persist: the journal against the disk, in %s (%s), blocks of %u KiB, %u "
	       "buffers,\ncommit every %.3g ms; each phase at most %.2f GiB or %.1f s; MB = 10^6 "
	       "bytes\n\n",
	       cfg.base, sfs.f_type == 0xEF53 ? "ext4" : "not ext4", cfg.block / 1024, cfg.nbufs,
	       (double)cfg.commit_ns / 1e6, (double)cfg.cap / (double)(1ull << 30), cfg.seconds);
	printf("%-54s %7s %8s %9s %9s %8s\n", "", "MB/s", "vs raw B", "sync p50", "sync p99",
	       "syncs/s");
	printf("%-54s %7.0f %7.2fx\n", "(1) raw A: pwrite O_DIRECT, QD1, no sync", a1.mb_s,
	       a1.mb_s / raw_sync_mb);
	snprintf(path, sizeof(path), "    raw A: io_uring O_DIRECT, QD%u, no sync", cfg.raw_depth);
	printf("%-54s %7.0f %7.2fx\n", path, an.mb_s,
	       an.mb_s / raw_sync_mb);
	syncrow("(2) raw B: pwrite QD1, fdatasync when 1 interval passed", b1.mb_s, &b1.sync_ns, b1.syncs, b1.secs, raw_sync_mb);
	snprintf(path, sizeof(path), "    raw B: io_uring QD%u, writes pause for it", cfg.raw_depth);
	syncrow(path, bs.mb_s, &bs.sync_ns, bs.syncs, bs.secs, raw_sync_mb);
	syncrow("    raw B: the same, after the journal (bracket)", bs2.mb_s, &bs2.sync_ns, bs2.syncs, bs2.secs, raw_sync_mb);
	syncrow("    (io_uring, fdatasync beside the writes: not B)", bb.mb_s, &bb.sync_ns, bb.syncs, bb.secs, raw_sync_mb);
	if (!fio_ok)
		printf("(3) fio: %s\n", cfg.fio ? "not installed" : "skipped (--no-fio)");
	else {
		snprintf(path, sizeof(path), "(3) fio io_uring, iodepth %u, no sync", cfg.raw_depth);
		printf("%-54s %7.0f %7.2fx\n", path, fa.mb_s,
		       fa.mb_s / raw_sync_mb);
		snprintf(path, sizeof(path), "    fio, the same, --fdatasync=%u", sync_every);
		printf("%-54s %7.0f %7.2fx %7.0fus %7.0fus\n", path, fb.mb_s, fb.mb_s / raw_sync_mb,
		       fb.sync_p50_us, fb.sync_p99_us);
	}
	syncrow(jf.direct ? "(4) journal (library), fdatasync, O_DIRECT"
			  : "(4) journal (library), fdatasync, buffered",
		jf.mb_s, &jf.fsync_ns, jf.fsyncs, jf.secs, raw_sync_mb);
	printf("%-54s %7.0f %7.2fx %9s %9s %8.0f\n", "    journal (library), RWF_DSYNC writes",
	       jd.mb_s, jd.mb_s / raw_sync_mb, "", "", (double)jd.fsyncs / jd.secs);
	if (cfg.role && ro.ok)
		printf("%-54s %7.0f %7.2fx\n", "(5) tickd persist (records' bytes)", ro.mb_s,
		       ro.mb_s / raw_sync_mb);
	else
		printf("(5) tickd persist: %s\n", cfg.role ? ro.why : "skipped");

	printf("\n%-44s %11s %9s %9s %9s %7s %6s\n", "records, commit latency (handed in->durable)",
	       "records/s", "p50 us", "p99 us", "p99.9 us", "blocks", "stall");
	printf("%-44s %11.0f %9.0f %9.0f %9.0f %7" PRIu64 " %5.0f%%\n", "(4) journal, fdatasync",
	       jf.records_s, us(&jf.commit_ns, 50), us(&jf.commit_ns, 99), us(&jf.commit_ns, 99.9),
	       jf.blocks, 100 * jf.wait_s / jf.secs);
	printf("%-44s %11.0f %9.0f %9.0f %9.0f %7" PRIu64 " %5.0f%%\n", "    journal, RWF_DSYNC",
	       jd.records_s, us(&jd.commit_ns, 50), us(&jd.commit_ns, 99), us(&jd.commit_ns, 99.9),
	       jd.blocks, jd.secs > 0 ? 100 * jd.wait_s / jd.secs : 0);
	printf("(stall: of the time, waiting for a free block buffer: the I/O behind)\n");
	if (cfg.role && ro.ok)
		printf("%-44s %11.0f   (%.0f/s from its first commit; %" PRIu64 " records, %.2f s)\n",
		       "(5) tickd persist, start to cursor at end", ro.records_s, ro.steady_records_s,
		       ro.records, ro.secs);
	printf("\njournal / raw B: %.2fx   journal / raw A: %.2fx   journal / fio --fdatasync: %s   "
	       "dsync is %s (%.2fx)\n",
	       jf.mb_s / raw_sync_mb, jf.mb_s / raw_mb,
	       fb.ran ? (snprintf(path, sizeof(path), "%.2fx", jf.mb_s / fb.mb_s), path) : "-",
	       jd.mb_s > jf.mb_s ? "faster" : "slower", jd.mb_s / jf.mb_s);
	if (cfg.role && ro.ok)
		printf("tickd persist / raw B: %.2fx   tickd persist / raw A: %.2fx   tickd persist / "
		       "journal library: %.2fx\n",
		       ro.mb_s / raw_sync_mb, ro.mb_s / raw_mb, ro.records_s / jf.records_s);
	if (npairs > 0) {
		printf("\n(6) interleaved: raw B (io_uring QD%u, writes pause for the fdatasync) and the "
		       "journal side by side,\n    %.1f s each, in the order raw-journal, "
		       "journal-raw, ...\n",
		       cfg.raw_depth, cfg.pair_seconds);
		printf("%-10s %9s %9s %9s %12s %12s\n", "pair", "raw B", "journal", "ratio",
		       "raw syncs/s", "jnl syncs/s");
		for (p = 0; p < npairs; p++)
			printf("%-10u %9.0f %9.0f %8.2fx %12.0f %12.0f\n", p + 1, pr[p].mb_s,
			       pj[p].mb_s, pratio[p], (double)pr[p].syncs / pr[p].secs,
			       (double)pj[p].fsyncs / pj[p].secs);
		printf("median of the pairs' ratios: %.2fx (lowest %.2fx, highest %.2fx)\n", pmedian,
		       psorted[0], psorted[npairs - 1]);
	}
	printf("\n");

	printf("{");
	jnum("journal_mb_s", jf.mb_s, jf.ok, "%.1f", &first);
	jnum("raw_mb_s", raw_mb, a1.ok || an.ok, "%.1f", &first);
	jnum("raw_sync_mb_s", raw_sync_mb, b1.ok || bs.ok || bs2.ok, "%.1f", &first);
	jnum("raw_qd1_mb_s", a1.mb_s, a1.ok, "%.1f", &first);
	jnum("raw_uring_mb_s", an.mb_s, an.ok, "%.1f", &first);
	jnum("raw_sync_qd1_mb_s", b1.mb_s, b1.ok, "%.1f", &first);
	jnum("raw_sync_uring_mb_s", bs.mb_s, bs.ok, "%.1f", &first);
	jnum("raw_sync_uring_after_mb_s", bs2.mb_s, bs2.ok, "%.1f", &first);
	jnum("raw_sync_beside_mb_s", bb.mb_s, bb.ok, "%.1f", &first);
	jnum("raw_sync_beside_syncs_s", (double)bb.syncs / bb.secs, bb.ok, "%.0f", &first);
	jnum("raw_fsync_us_p50", us(&b1.sync_ns, 50), b1.ok, "%.1f", &first);
	jnum("raw_fsync_us_p99", us(&b1.sync_ns, 99), b1.ok, "%.1f", &first);
	jnum("journal_records_s", jf.records_s, jf.ok, "%.0f", &first);
	jnum("commit_us_p50", us(&jf.commit_ns, 50), jf.ok, "%.1f", &first);
	jnum("commit_us_p99", us(&jf.commit_ns, 99), jf.ok, "%.1f", &first);
	jnum("commit_us_p999", us(&jf.commit_ns, 99.9), jf.ok, "%.1f", &first);
	jnum("fsync_us_p50", us(&jf.fsync_ns, 50), jf.ok && jf.fsync_ns.count > 0, "%.1f", &first);
	jnum("fsync_us_p99", us(&jf.fsync_ns, 99), jf.ok && jf.fsync_ns.count > 0, "%.1f", &first);
	jnum("journal_fsyncs_s", (double)jf.fsyncs / jf.secs, jf.ok, "%.0f", &first);
	jnum("journal_direct", jf.direct, jf.ok, "%.0f", &first);
	jnum("journal_dsync_mb_s", jd.mb_s, jd.ok, "%.1f", &first);
	jnum("journal_dsync_records_s", jd.records_s, jd.ok, "%.0f", &first);
	jnum("journal_dsync_commit_us_p99", us(&jd.commit_ns, 99), jd.ok, "%.1f", &first);
	jnum("persist_role_records_s", ro.records_s, ro.ok, "%.0f", &first);
	jnum("persist_role_steady_records_s", ro.steady_records_s, ro.ok && ro.steady_secs > 0,
	     "%.0f", &first);
	jnum("persist_role_mb_s", ro.mb_s, ro.ok, "%.1f", &first);
	jnum("fio_mb_s", fb.mb_s, fb.ran, "%.1f", &first);
	jnum("fio_nosync_mb_s", fa.mb_s, fa.ran, "%.1f", &first);
	jnum("fio_fdatasync_every", sync_every, fb.ran, "%.0f", &first);
	jnum("ratio_journal_to_raw_sync", jf.mb_s / raw_sync_mb, jf.ok && raw_sync_mb > 0, "%.3f",
	     &first);
	jnum("ratio_journal_to_raw", jf.mb_s / raw_mb, jf.ok && raw_mb > 0, "%.3f", &first);
	jnum("ratio_persist_role_to_raw_sync", ro.mb_s / raw_sync_mb, ro.ok && raw_sync_mb > 0,
	     "%.3f", &first);
	jnum("ratio_journal_to_raw_sync_paired", pmedian, npairs > 0, "%.3f", &first);
	jnum("ratio_paired_lowest", psorted[0], npairs > 0, "%.3f", &first);
	jnum("ratio_paired_highest", psorted[npairs > 0 ? npairs - 1 : 0], npairs > 0, "%.3f",
	     &first);
	jnum("pairs", npairs, true, "%.0f", &first);
	jnum("ratio_dsync_to_fdatasync", jd.mb_s / jf.mb_s, jd.ok && jf.ok, "%.3f", &first);
	printf("}\n");
	return 0;
}

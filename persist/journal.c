/* The journal writer: blocks through io_uring, group commit (journal.h). */
#include "persist/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"
#include "persist/files.h"
#include "persist/format.h"
#include "persist/index.h"
#include "persist/recover.h"

enum tkj_buf_state {
	TKJ_BUF_FREE = 0,
	TKJ_BUF_FILLING, /* the stream's current block */
	TKJ_BUF_SEALED,  /* waiting for room in its file (preallocation failed) */
	TKJ_BUF_WRITING,
	TKJ_BUF_RETRY,   /* its write failed: written again at its place, later */
	TKJ_BUF_WRITTEN, /* its write completed: not yet covered by an fdatasync */
	TKJ_BUF_SYNCING, /* covered by the fdatasync in flight */
	TKJ_BUF_DURABLE,
};

enum { TKJ_OP_WRITE = 1, TKJ_OP_FSYNC = 2 };

struct tkj_buf {
	uint8_t *mem;
	uint32_t nrec;  /* records in it, the journal's own included */
	uint32_t cap_end; /* records it takes from the input (FILLING) */
	uint32_t len;   /* sealed length */
	uint64_t off;   /* where it goes in its file */
	uint64_t next_seq; /* the stream's next sequence after its records */
	int64_t ready_ns;  /* when its first record was handed to us */
	uint32_t done;  /* bytes of its write completed (short writes resume) */
	int64_t retry_ns; /* TKJ_BUF_RETRY: not before (monotonic) */
	uint8_t state;
	uint8_t file;   /* file slot of its stream */
	bool keep;      /* holds dictionary records: its memory stays until indexed */
	uint8_t pad;
	int32_t mi;     /* its memory in the stream's pool, -1 none */
	uint64_t block_no;
	struct tkj_block_meta meta; /* of its records so far (FILLING) */
	struct tkj_index_entry entry;
};

struct tkj_file {
	int fd; /* -1: none */
	int idx_fd;
	int32_t day;
	bool full;      /* the next record opens another file */
	bool fsync_inflight;
	bool sync_wanted; /* a commit asked for an fdatasync ... */
	uint64_t sync_goal; /* ... once every block before this number is written */
	uint32_t writes_inflight;
	uint64_t first_seq;
	uint64_t off;   /* the end of the last block handed to the kernel */
	uint64_t alloc; /* bytes preallocated */
	uint64_t block_no;
	uint64_t since_sync; /* bytes written since the last fdatasync was submitted */
	int64_t fsync_start;
	int64_t alloc_retry_ns; /* preallocation failed: do not retry before */
	uint64_t *seen; /* symbol ids with a dictionary record in this file */
	bool idx_broken; /* its index could not be written: rebuilt when the file closes */
	char path[1024];
};

struct tkj_stream {
	char log[TKJ_NAME_MAX];
	char stream[TKJ_NAME_MAX];
	uint32_t record_size;
	uint32_t cap; /* records a block holds */
	uint64_t generation;
	uint64_t next_seq;    /* the next source sequence expected */
	uint64_t durable_next;
	tkj_symbol_name_fn names;
	void *names_ctx;
	struct tkj_buf *buf; /* nslots block slots, a ring */
	uint32_t nslots;
	uint8_t **mems;      /* nbufs block memories: a block has one from its first record
				until its write completes (or it is indexed, if keep) */
	uint32_t *mfree, nmfree;
	uint32_t head; /* oldest buffer not free */
	uint32_t cur;  /* the filling one */
	uint32_t busy; /* buffers not free */
	uint8_t fcur;  /* file slot records go to */
	bool loss_pending; /* a loss before the stream's first file: written into it */
	struct tkj_loss pending;
	struct tkj_file file[2];
};

struct tkj_journal {
	struct tkj_opts o;
	int lock_fd;
	struct io_uring ring;
	bool registered;
	int failed; /* a failed fdatasync: nothing more is committed (-EIO) */
	uint32_t inflight;
	uint32_t nstreams;
	int64_t last_commit;
	bool commit_asked;
	char dir[512];
	struct tkj_counters c;
	struct tkj_stream s[TKJ_MAX_STREAMS];
};

#define TKJ_SEEN_IDS 65536u
/* Block slots per block memory: a block waiting for its fdatasync keeps a
 * slot (what to index and commit), not its block memory: that goes back
 * when its write completes, so the writes keep the disk busy while a
 * commit is in flight (bench/persist: buffers held to the commit stalled
 * the journal 60 % of the time). */
#define TKJ_SLOTS_PER_MEM 4u
#define TKJ_NS_PER_DAY (86400LL * 1000000000LL) /* symbol ids beyond this always get a dictionary record */

void tkj_opts_default(struct tkj_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->dir = "tickd-data";
	o->block_bytes = 512 * 1024;
	o->nbufs = 8;
	o->commit_ns = 1000000;
	o->commit_bytes = 4u << 20;
	o->file_bytes = 1ull << 30;
	o->prealloc_bytes = 64ull << 20;
	o->direct = -1;
	o->dsync = false;
}

static uint64_t tkj__ud(int sid, int op, uint32_t idx)
{
	return ((uint64_t)(uint32_t)sid << 32) | ((uint64_t)op << 24) | idx;
}

/* ----------------------------------------------------------- files */
static void tkj__error(struct tkj_journal *j, int err)
{
	j->c.last_errno = err;
	j->c.last_error_ns = tk_wall_ns();
}

/* A new file starts with room for a few blocks and doubles its room as it
 * fills, up to --prealloc-mb at a time: a quiet stream (bars.1h) does not
 * reserve as much as the ticks. */
static uint64_t tkj__first_alloc(const struct tkj_journal *j)
{
	uint64_t a = TKJ_HEADER_SIZE + 4ull * j->o.block_bytes;

	return a < j->o.prealloc_bytes ? a : j->o.prealloc_bytes;
}

/* Create the stream's next file for records of `day` from first_seq. */
static int tkj__file_open(struct tkj_journal *j, struct tkj_stream *s, struct tkj_file *f,
			  int32_t day, uint64_t first_seq)
{
	char dayname[16], dirpath[560], name[200], tmp[1100], sdir[560];
	struct tkj_file_header *h;
	void *page = NULL;
	int fd, flags = O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, rc;
	const char *what;

	tkj_day_name(day, dayname, sizeof(dayname));
	snprintf(sdir, sizeof(sdir), "%s/%s", j->dir, s->stream);
	snprintf(dirpath, sizeof(dirpath), "%s/%s/%s", j->dir, s->stream, dayname);
	rc = tkj_mkdirs(dirpath);
	if (rc < 0)
		return tk_err_set(rc, "journal: cannot create %s: %s", dirpath, strerror(-rc));
	tkj_file_name(s->log, s->generation, first_seq, name, sizeof(name));
	if (snprintf(f->path, sizeof(f->path), "%s/%s", dirpath, name) >= (int)sizeof(f->path) ||
	    snprintf(tmp, sizeof(tmp), "%s.new", f->path) >= (int)sizeof(tmp))
		return tk_err_set(-ENAMETOOLONG, "journal: path too long in %s", dirpath);
	/* Made whole under a name no reader lists (reserved, header written
	 * and synced), then renamed into place: a kill at any moment leaves
	 * either no file or a good one, never an empty newest file. */
	if (j->c.direct)
		flags |= O_DIRECT;
	fd = open(tmp, flags, 0640);
	if (fd < 0)
		return tk_err_set(-errno, "journal: cannot create %s: %s", tmp, strerror(errno));
	what = "reserve space for";
	rc = -posix_fallocate(fd, 0, (off_t)tkj__first_alloc(j));
	if (rc == 0 && posix_memalign(&page, 4096, TKJ_HEADER_SIZE) != 0)
		rc = -ENOMEM;
	if (rc == 0) {
		memset(page, 0, TKJ_HEADER_SIZE);
		h = page;
		tkj_file_header_make(h, s->stream, s->log, s->record_size, j->c.align, day, first_seq,
				     s->generation, tk_wall_ns(), tkj__first_alloc(j));
		what = "write the header of";
		if (pwrite(fd, page, TKJ_HEADER_SIZE, 0) != (ssize_t)TKJ_HEADER_SIZE || fdatasync(fd) < 0)
			rc = errno ? -errno : -EIO;
	}
	free(page);
	if (rc == 0) {
		what = "rename into place";
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, f->path, RENAME_NOREPLACE) < 0)
			rc = -errno;
	}
	if (rc < 0) {
		close(fd);
		unlink(tmp);
		return tk_err_set(rc, "journal: cannot %s %s: %s", what, f->path, strerror(-rc));
	}
	rc = tkj_fsync_dir(dirpath);
	if (rc == 0)
		rc = tkj_fsync_dir(sdir); /* the day directory's own entry */
	if (rc < 0) {
		close(fd);
		unlink(f->path);
		return tk_err_set(rc, "journal: cannot sync the directory of %s: %s", f->path,
				  strerror(-rc));
	}
	/* The index is a cache: without one (a full disk) queries read the
	 * data, and it is made again when the file closes. */
	f->idx_broken = tkj_index_create(f->path, s->generation, first_seq, &f->idx_fd) < 0;
	if (f->idx_broken)
		f->idx_fd = -1;
	f->fd = fd;
	f->day = day;
	f->full = false;
	f->first_seq = first_seq;
	f->off = TKJ_HEADER_SIZE;
	f->alloc = tkj__first_alloc(j);
	f->block_no = 0;
	f->since_sync = 0;
	f->writes_inflight = 0;
	f->fsync_inflight = false;
	f->sync_wanted = false;
	memset(f->seen, 0, TKJ_SEEN_IDS / 8);
	j->c.files++;
	return 0;
}

/* An index that could not be written (a full disk): made again from its
 * file, which is durable up to f->off. */
static void tkj__index_rebuild(struct tkj_file *f, uint32_t record_size)
{
	struct tkj_scan *sc = malloc(sizeof(*sc));
	int fd = open(f->path, O_RDWR | O_CLOEXEC);

	if (sc != NULL && fd >= 0) {
		char ipath[1100];

		tkj_index_path(f->path, ipath, sizeof(ipath));
		unlink(ipath);
		if (tkj_scan_file(f->path, fd, record_size, 0, true, sc, NULL, 0) == 0)
			f->idx_broken = false;
	}
	if (fd >= 0)
		close(fd);
	free(sc);
}

/* A file none of whose blocks is in flight any more: trim it to its data,
 * make that durable, close it. */
static void tkj__file_close(struct tkj_journal *j, struct tkj_file *f, uint32_t record_size)
{
	if (f->fd < 0)
		return;
	if (f->idx_broken)
		tkj__index_rebuild(f, record_size);
	if (ftruncate(f->fd, (off_t)f->off) < 0 || fsync(f->fd) < 0) {
		tkj__error(j, errno);
		tk_warn("journal: cannot trim %s to its %" PRIu64 " bytes: %s (recovery will)",
			f->path, f->off, strerror(errno));
	}
	close(f->fd);
	if (f->idx_fd >= 0)
		close(f->idx_fd);
	f->fd = -1;
	f->idx_fd = -1;
}

/* ----------------------------------------------------------- open */

static int tkj__probe_direct(struct tkj_journal *j)
{
	char path[1024];
	struct statx sx;
	int fd;

	j->c.direct = 0;
	j->c.align = 64;
	j->c.granule = 64;
	if (j->o.direct == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/.direct-probe", j->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		uint32_t align = 512, granule = 0;

		if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN | STATX_BASIC_STATS, &sx) == 0) {
			if ((sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align != 0)
				align = sx.stx_dio_offset_align > sx.stx_dio_mem_align
						? sx.stx_dio_offset_align
						: sx.stx_dio_mem_align;
			granule = sx.stx_blksize < TKJ_HEADER_SIZE ? sx.stx_blksize : TKJ_HEADER_SIZE;
		}
		close(fd);
		unlink(path);
		if (align <= 4096) {
			j->c.direct = 1;
			j->c.align = align < 64 ? 64 : align;
			j->c.granule = granule > j->c.align ? granule : j->c.align;
			return 0;
		}
	} else {
		unlink(path);
	}
	if (j->o.direct == 1)
		return tk_err_set(-EINVAL, "journal: %s does not take O_DIRECT writes (tmpfs?): "
				       "use --direct auto or off",
			      j->dir);
	return 0;
}

int tkj_open(struct tkj_journal **out, const struct tkj_opts *o)
{
	struct tkj_journal *j;
	char path[1024];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	int rc;

	if (o->block_bytes < 8192 || o->block_bytes % 4096 != 0 || o->block_bytes > (64u << 20) ||
	    o->nbufs < 3 || o->nbufs > 256 || o->commit_ns < 0 || o->file_bytes < (1u << 20) ||
	    o->prealloc_bytes < o->block_bytes * 2ull || o->prealloc_bytes % 4096 != 0)
		return tk_err_set(-EINVAL, "journal: block size %u (8 KiB..64 MiB, whole 4 KiB), %u "
				       "buffers (3..256), preallocation %" PRIu64 " (two blocks at "
				       "least, whole 4 KiB)",
			      o->block_bytes, o->nbufs, o->prealloc_bytes);
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return tk_err_set(-ENOMEM, "journal: out of memory");
	j->o = *o;
	j->lock_fd = -1;
	snprintf(j->dir, sizeof(j->dir), "%s", o->dir);
	rc = tkj_mkdirs(j->dir);
	if (rc < 0) {
		free(j);
		return tk_err_set(rc, "journal: cannot create the data directory %s: %s", o->dir,
			      strerror(-rc));
	}
	snprintf(path, sizeof(path), "%s/LOCK", j->dir);
	j->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (j->lock_fd < 0) {
		rc = -errno;
		free(j);
		return tk_err_set(rc, "journal: cannot open %s: %s", path, strerror(-rc));
	}
	/* An OFD lock: the kernel drops it when we die, after our I/O is done
	 * (io_uring cancels and waits for a dying task's requests before its
	 * files are closed), so a successor never races our last writes. */
	if (fcntl(j->lock_fd, F_OFD_SETLK, &fl) < 0) {
		rc = errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
		close(j->lock_fd);
		free(j);
		return tk_err_set(rc, "journal: %s is in use by another tickd persist", o->dir);
	}
	rc = tkj__probe_direct(j);
	if (rc < 0)
		goto fail;
	rc = io_uring_queue_init(1024, &j->ring, 0);
	if (rc < 0) {
		tk_err_set(rc, "journal: io_uring_queue_init: %s", strerror(-rc));
		goto fail;
	}
	tk_hist_init(&j->c.commit_ns);
	tk_hist_init(&j->c.fsync_ns);
	j->last_commit = tk_mono_ns();
	*out = j;
	return 0;
fail:
	close(j->lock_fd);
	free(j);
	return rc;
}

/* Register every stream's buffers with the ring (fixed-buffer writes skip
 * the per-write page pinning).  Called again as streams are added; when the
 * kernel refuses (RLIMIT_MEMLOCK for an unprivileged user), plain writes. */
static void tkj__register(struct tkj_journal *j)
{
	struct iovec *iov;
	uint32_t n = 0, i, k;

	if (j->registered) {
		io_uring_unregister_buffers(&j->ring);
		j->registered = false;
	}
	iov = calloc((size_t)j->nstreams * j->o.nbufs, sizeof(*iov));
	if (iov == NULL)
		return;
	for (i = 0; i < j->nstreams; i++)
		for (k = 0; k < j->o.nbufs; k++) {
			iov[n].iov_base = j->s[i].mems[k];
			iov[n].iov_len = j->o.block_bytes;
			n++;
		}
	if (io_uring_register_buffers(&j->ring, iov, n) == 0)
		j->registered = true;
	else
		tk_info("journal: buffers not registered with io_uring (memlock limit?): plain "
			"writes");
	free(iov);
}

int tkj_stream_add(struct tkj_journal *j, const char *log, uint32_t record_size,
		   uint64_t generation, tkj_symbol_name_fn names, void *names_ctx,
		   struct tkj_resume *res)
{
	struct tkj_stream *s;
	struct tkj_recovered rec;
	uint32_t k;
	int rc, sid;

	if (j->nstreams >= TKJ_MAX_STREAMS)
		return tk_err_set(-ENOSPC, "journal: more than %d streams", TKJ_MAX_STREAMS);
	if (record_size < 64 || (record_size & (record_size - 1)) != 0 ||
	    record_size > j->o.block_bytes / 8)
		return tk_err_set(-EINVAL, "journal: record size %u of %s", record_size, log);
	sid = (int)j->nstreams;
	s = &j->s[sid];
	memset(s, 0, sizeof(*s));
	snprintf(s->log, sizeof(s->log), "%s", log);
	tkj_stream_of_log(log, s->stream, sizeof(s->stream));
	s->record_size = record_size;
	s->cap = (j->o.block_bytes - TKJ_BLOCK_HEADER) / record_size;
	s->generation = generation;
	s->names = names;
	s->names_ctx = names_ctx;
	s->file[0].fd = s->file[1].fd = -1;
	s->file[0].idx_fd = s->file[1].idx_fd = -1;
	s->file[0].seen = calloc(TKJ_SEEN_IDS / 8, 1);
	s->file[1].seen = calloc(TKJ_SEEN_IDS / 8, 1);
	s->nslots = j->o.nbufs * TKJ_SLOTS_PER_MEM;
	s->buf = calloc(s->nslots, sizeof(*s->buf));
	s->mems = calloc(j->o.nbufs, sizeof(*s->mems));
	s->mfree = calloc(j->o.nbufs, sizeof(*s->mfree));
	if (s->buf == NULL || s->mems == NULL || s->mfree == NULL || s->file[0].seen == NULL ||
	    s->file[1].seen == NULL)
		return tk_err_set(-ENOMEM, "journal: out of memory");
	for (k = 0; k < s->nslots; k++)
		s->buf[k].mi = -1;
	for (k = 0; k < j->o.nbufs; k++) {
		if (posix_memalign((void **)&s->mems[k], 4096, j->o.block_bytes) != 0)
			return tk_err_set(-ENOMEM, "journal: out of memory for block buffers");
		s->mfree[s->nmfree++] = j->o.nbufs - 1 - k;
	}

	memset(res, 0, sizeof(*res));
	res->recover_ns = tk_mono_ns();
	rc = tkj_recover_stream(j->dir, s->stream, log, generation, record_size,
				(uint64_t)s->nslots * j->o.block_bytes + j->o.prealloc_bytes, &rec);
	if (rc < 0)
		return rc;
	res->found = rec.found;
	res->next_seq = rec.found ? rec.next_seq : 1;
	res->torn_bytes = rec.torn_bytes;
	res->scanned_bytes = rec.scanned_bytes;
	res->blocks_read = rec.blocks;
	res->recover_ns = tk_mono_ns() - res->recover_ns;
	memcpy(res->torn_path, rec.torn_path, sizeof(res->torn_path));
	memcpy(res->message, rec.message, sizeof(res->message));
	j->c.torn_bytes += rec.torn_bytes;
	j->c.recovered_blocks += rec.blocks;
	s->next_seq = res->next_seq;
	s->durable_next = res->next_seq;
	if (rec.found && rec.fd >= 0) {
		/* Go on appending to the newest file where its data ends. */
		struct tkj_file *f = &s->file[0];

		if (j->c.direct) {
			int fl = fcntl(rec.fd, F_GETFL);

			if (fl < 0 || fcntl(rec.fd, F_SETFL, fl | O_DIRECT) < 0) {
				close(rec.fd);
				if (rec.idx_fd >= 0)
					close(rec.idx_fd);
				return tk_err_set(-errno, "journal: cannot reopen %s for O_DIRECT",
					      rec.path);
			}
		}
		f->fd = rec.fd;
		f->idx_fd = rec.idx_fd;
		f->day = rec.day;
		f->first_seq = rec.first_seq;
		f->off = rec.end;
		f->alloc = rec.size;
		f->block_no = rec.blocks_in_file;
		f->full = rec.align != j->c.align || rec.end + j->o.block_bytes > j->o.file_bytes;
		snprintf(f->path, sizeof(f->path), "%s", rec.path);
		memcpy(f->seen, rec.seen, TKJ_SEEN_IDS / 8 < sizeof(rec.seen) ? TKJ_SEEN_IDS / 8
									   : sizeof(rec.seen));
	}
	tkj_recovered_free(&rec);
	j->nstreams++;
	tkj__register(j);
	return sid;
}

/* ----------------------------------------------------------- append */

static inline uint8_t *tkj__rec(const struct tkj_stream *s, const struct tkj_buf *b, uint32_t i)
{
	return b->mem + TKJ_BLOCK_HEADER + (size_t)i * s->record_size;
}

static void tkj__mem_take(struct tkj_stream *s, struct tkj_buf *b)
{
	b->mi = (int32_t)s->mfree[--s->nmfree];
	b->mem = s->mems[b->mi];
	b->keep = false;
}

static void tkj__mem_give(struct tkj_stream *s, struct tkj_buf *b)
{
	if (b->mi < 0)
		return;
	s->mfree[s->nmfree++] = (uint32_t)b->mi;
	b->mi = -1;
	b->mem = NULL;
}

/* Where the next block of file slot fs will start. */
static uint64_t tkj__next_off(const struct tkj_stream *s, uint8_t fs)
{
	const struct tkj_file *f = &s->file[fs];
	uint64_t off = f->off;
	uint32_t k;

	if (f->fd < 0 || f->full)
		return TKJ_HEADER_SIZE;
	for (k = s->head; k != s->cur; k = (k + 1) % s->nslots)
		if (s->buf[k].state == TKJ_BUF_SEALED && s->buf[k].file == fs)
			off += s->buf[k].len;
	return off;
}

/* How many records a block starting at `start` takes so that it ends on
 * a file system block (j->c.granule).  A direct write that starts or ends
 * inside one is serialized by ext4 and waited for (it may have to zero
 * the rest of that block), so after one part-filled block every later
 * write went out alone: the disk 78-89 % busy instead of 96-99 %
 * (bench/persist, RESULTS).  Blocks are still padded to the device's
 * alignment only, so a quiet feed's commits stay small; a full block after
 * a part-filled one comes back onto the file system's blocks. */
static uint32_t tkj__cap_from(const struct tkj_journal *j, const struct tkj_stream *s,
			      uint64_t start)
{
	uint32_t g = j->c.granule, a = j->c.align, bb = j->o.block_bytes;
	uint32_t m, end, n;

	if (g <= a)
		return s->cap;
	m = (uint32_t)((g - start % g) % g); /* bytes to the next file system block */
	if (m >= bb)
		return s->cap;
	end = m + (bb - m) / g * g;
	n = (end - TKJ_BLOCK_HEADER) / s->record_size;
	/* (at n the block must be past the seal point of tkj_append_done) */
	if (n > s->cap || n + s->cap / 2 <= s->cap || tkj_block_length(n, s->record_size, a) != end)
		return s->cap;
	return n;
}

/* A block now filling goes to file slot fs: how many records it takes. */
static void tkj__aim(const struct tkj_journal *j, const struct tkj_stream *s, struct tkj_buf *b,
		     uint8_t fs)
{
	b->file = fs;
	b->cap_end = tkj__cap_from(j, s, tkj__next_off(s, fs));
}

void *tkj_append_room(struct tkj_journal *j, int sid, uint32_t *room)
{
	struct tkj_stream *s = &j->s[sid];
	struct tkj_buf *b = &s->buf[s->cur];
	uint32_t r;

	*room = 0;
	if (b->state != TKJ_BUF_FILLING) {
		/* A new current block, keeping one buffer spare for a split. */
		if (b->state != TKJ_BUF_FREE || s->busy + 2 > s->nslots || s->nmfree < 2)
			return NULL;
		tkj__mem_take(s, b);
		b->state = TKJ_BUF_FILLING;
		b->nrec = 0;
		tkj_block_meta_init(&b->meta);
		b->ready_ns = 0;
		tkj__aim(j, s, b, s->fcur);
		s->busy++;
	} else if (s->busy + 1 > s->nslots || s->nmfree < 1) {
		return NULL;
	}
	/* At most half a block at a time: a split (new file, dictionary
	 * records) then always fits the next buffer. */
	r = b->nrec < b->cap_end ? b->cap_end - b->nrec : 0;
	if (r > s->cap / 2)
		r = s->cap / 2;
	*room = r;
	return r == 0 ? NULL : tkj__rec(s, b, b->nrec);
}

static void tkj__seal(struct tkj_journal *j, struct tkj_stream *s);

/* Is the buffer after the current one free for a split? */
static bool tkj__spare(const struct tkj_journal *j, const struct tkj_stream *s)
{
	(void)j;
	return s->buf[(s->cur + 1) % s->nslots].state == TKJ_BUF_FREE && s->nmfree >= 1;
}

/* Move records [i, end) of the current block (i > 0) to the next buffer,
 * which must be free (tkj__spare), and seal what stays. */
static struct tkj_buf *tkj__split(struct tkj_journal *j, struct tkj_stream *s, uint32_t i,
				  uint32_t end)
{
	struct tkj_buf *b = &s->buf[s->cur];
	struct tkj_buf *nb = &s->buf[(s->cur + 1) % s->nslots];

	tkj__mem_take(s, nb);
	nb->state = TKJ_BUF_FILLING;
	nb->nrec = 0;
	tkj_block_meta_init(&nb->meta);
	nb->ready_ns = b->ready_ns;
	nb->file = s->fcur;
	s->busy++;
	memcpy(tkj__rec(s, nb, 0), tkj__rec(s, b, i), (size_t)(end - i) * s->record_size);
	b->nrec = i;
	tkj__seal(j, s); /* moves cur to nb */
	tkj__aim(j, s, nb, nb->file); /* now that b has its place */
	return nb;
}

static bool tkj__seen(const struct tkj_file *f, uint32_t id)
{
	return id < TKJ_SEEN_IDS && (f->seen[id >> 6] >> (id & 63) & 1);
}

/* Types whose aux is a symbol id: tick, bar, signal (shm/records.h). */
static bool tkj__needs_name(uint32_t type)
{
	return type == 1 || type == 4 || type == 5;
}

/* Records from seq on go to a new file of `day`: the current one is full,
 * or they are of a later day, or there is none yet.  The current file is
 * made durable and closed first, so that only a stream's newest file can
 * ever end in a torn tail (recovery looks at no other).  Rolls are a file
 * size or a day apart: the wait (one fdatasync) is rare. */
static int tkj__next_file(struct tkj_journal *j, struct tkj_stream *s, int32_t day, uint64_t seq)
{
	struct tkj_file *f = &s->file[0];
	uint32_t k;
	int rc;

	while (f->fd >= 0) {
		for (k = 0; k < s->nslots; k++)
			if (s->buf[k].state != TKJ_BUF_FREE && s->buf[k].state != TKJ_BUF_FILLING)
				break;
		if (k == s->nslots) {
			tkj__file_close(j, f, s->record_size);
			break;
		}
		/* Nothing in flight: its blocks wait for room (a full disk), and
		 * waiting here would spin and stop every other stream: the
		 * caller comes back. */
		if (j->inflight == 0 && k < s->nslots && s->buf[k].state != TKJ_BUF_WRITTEN &&
		    s->buf[k].state != TKJ_BUF_DURABLE)
			return tk_err_set(-EAGAIN, "journal %s: the file before waits for room", s->log);
		tkj_commit_now(j);
		rc = tkj_poll(j, 1000000);
		if (rc < 0)
			return tk_err_set(-EAGAIN, "journal %s: the file before is not durable yet",
					  s->log);
	}
	return tkj__file_open(j, s, f, day, seq);
}

/* The day for a file a record without a time opens: that of the next
 * record with one in the batch (a replay's first heartbeat comes before
 * its 2024 trades), else today. */
static int32_t tkj__day_ahead(const struct tkj_stream *s, const struct tkj_buf *b, uint32_t i,
			      uint32_t end, int32_t max_day)
{
	for (; i < end; i++) {
		int64_t t = tkj_record_time(tkj__rec(s, b, i));

		if (t > 0 && tkj_day_of(t) <= max_day)
			return tkj_day_of(t);
	}
	return max_day - 1;
}

/* A loss record in slot r of b, the block's next record. */
static void tkj__put_loss(const struct tkj_stream *s, struct tkj_buf *b, uint8_t *r,
			  const struct tkj_loss *l)
{
	uint32_t type = TKJ_REC_LOSS;

	memset(r, 0, s->record_size);
	memcpy(r + 8, &type, 4);
	memcpy(r + 16, l, sizeof(*l));
	tkj_block_meta_add(&b->meta, r, INT64_MIN);
}

/*
 * A record of the journal's own (seq 0: a name, a loss) before record *i
 * of the current block, which holds records up to *end: the records from
 * *i on move one slot up (into the next buffer first when this one is
 * full).  Returns the new slot, its type and aux set, the rest zero, with
 * *i on the record it came before; NULL when no buffer is spare for the
 * move (the caller stops there and is called again).
 */
static uint8_t *tkj__insert(struct tkj_journal *j, struct tkj_stream *s, struct tkj_buf **b,
			    uint32_t *i, uint32_t *end, uint32_t type, uint32_t aux)
{
	uint8_t *r;

	if (*end >= s->cap) {
		if (!tkj__spare(j, s))
			return NULL;
		*b = tkj__split(j, s, *i, *end);
		*end -= *i;
		*i = 0;
	}
	r = tkj__rec(s, *b, *i);
	memmove(r + s->record_size, r, (size_t)(*end - *i) * s->record_size);
	memset(r, 0, s->record_size);
	memcpy(r + 8, &type, 4);
	memcpy(r + 12, &aux, 4);
	(*end)++;
	(*i)++;
	return r;
}

int tkj_append_done(struct tkj_journal *j, int sid, uint32_t n, int64_t ready_ns)
{
	struct tkj_stream *s = &j->s[sid];
	struct tkj_buf *b = &s->buf[s->cur];
	uint32_t i = b->nrec, end = b->nrec + n, accepted = 0;
	int32_t max_day = tkj_day_of(tk_wall_ns()) + 1; /* once a batch: the vDSO clock */
	int64_t max_day_end = ((int64_t)max_day + 1) * TKJ_NS_PER_DAY;
	int rc = 0;

	if (b->nrec == 0 && n > 0)
		b->ready_ns = ready_ns;
	while (i < end) {
		uint8_t *r = tkj__rec(s, b, i);
		struct tkj_file *f = &s->file[s->fcur];
		uint64_t seq;
		uint32_t type, aux;
		int64_t t, rt;

		memcpy(&seq, r, 8);
		memcpy(&type, r + 8, 4);
		memcpy(&aux, r + 12, 4);
		if (seq != s->next_seq) {
			rc = tk_err_set(-EPROTO, "journal %s: record %" PRIu64 " where %" PRIu64
					     " was due",
				    s->log, seq, s->next_seq);
			break;
		}
		rt = tkj_record_time(r);
		t = rt;
		/* The day of a file follows its records' event time, forward only,
		 * and never past tomorrow by the wall clock: one trade stamped
		 * 2099 (valid input) must not file everything after it under
		 * 2099.  A time of 0 (a replay's first heartbeat) names no day. */
		if (t <= 0 || t >= max_day_end)
			t = INT64_MIN;
		if (f->fd < 0 || f->full ||
		    (t != INT64_MIN && t >= ((int64_t)f->day + 1) * TKJ_NS_PER_DAY)) {
			int32_t day = t != INT64_MIN ? tkj_day_of(t)
						     : tkj__day_ahead(s, b, i + 1, end, max_day);

			if (f->fd >= 0 && day < f->day)
				day = f->day; /* a full file rolls to a file of its own day */
			if (i > 0) {
				if (!tkj__spare(j, s))
					break;
				b = tkj__split(j, s, i, end);
				end -= i;
				i = 0;
				r = tkj__rec(s, b, 0);
			}
			rc = tkj__next_file(j, s, day, s->loss_pending ? s->pending.from : seq);
			if (rc < 0)
				break;
			f = &s->file[s->fcur];
			tkj__aim(j, s, b, s->fcur);
			if (s->loss_pending) {
				/* The loss that came before any file, first in it: the
				 * records after it chose its day. */
				uint8_t *l = tkj__insert(j, s, &b, &i, &end, TKJ_REC_LOSS, 0);

				if (l == NULL)
					break;
				tkj__put_loss(s, b, l, &s->pending);
				s->loss_pending = false;
				r = tkj__rec(s, b, i);
			}
		}
		if (tkj__needs_name(type) && !tkj__seen(f, aux)) {
			const char *name = s->names != NULL ? s->names(s->names_ctx, aux) : NULL;

			if (name != NULL) {
				uint8_t *d = tkj__insert(j, s, &b, &i, &end, TKJ_REC_SYMBOL, aux);

				if (d == NULL)
					break;
				snprintf((char *)d + 16, TKJ_NAME_MAX, "%s", name);
				tkj_block_meta_add(&b->meta, d, INT64_MIN);
				b->keep = true; /* its names go to the index */
			}
			if (aux < TKJ_SEEN_IDS)
				f->seen[aux >> 6] |= 1ull << (aux & 63);
		}
		tkj_block_meta_add(&b->meta, tkj__rec(s, b, i), rt);
		s->next_seq++;
		i++;
		accepted++;
	}
	/* Records from i on were not taken (no buffer for a split, no file):
	 * the caller reads them again. */
	b->nrec = i;
	if (b->nrec > 0 && b->nrec + s->cap / 2 > s->cap)
		tkj__seal(j, s);
	return accepted > 0 || rc == 0 ? (int)accepted : rc;
}

int tkj_append_loss(struct tkj_journal *j, int sid, uint64_t from, uint64_t to, uint32_t reason)
{
	struct tkj_stream *s = &j->s[sid];
	struct tkj_loss l = { .from = from, .to = to, .at_ns = tk_wall_ns(), .reason = reason };
	uint32_t room;
	uint8_t *r;

	if (from != s->next_seq || to <= from)
		return tk_err_set(-EPROTO, "journal %s: a loss [%" PRIu64 ", %" PRIu64
				       ") where %" PRIu64 " was due",
			      s->log, from, to, s->next_seq);
	r = tkj_append_room(j, sid, &room);
	if (r == NULL)
		return -EAGAIN;
	if (s->file[s->fcur].fd < 0 && s->buf[s->cur].nrec == 0) {
		/* No file yet: which day it belongs to is for the records after
		 * the loss to say (a journal started late on a replay of 2023
		 * must not file it under today); it waits for them.  Two in a
		 * row are one. */
		if (s->loss_pending)
			s->pending.to = to;
		else
			s->pending = l;
		s->loss_pending = true;
		s->next_seq = to;
		j->c.lost += to - from;
		return 0;
	}
	if (s->file[s->fcur].fd < 0 || s->file[s->fcur].full) {
		int rc;

		if (s->buf[s->cur].nrec > 0)
			return -EAGAIN; /* the caller's next append rolls the file first */
		rc = tkj__next_file(j, s, tkj_day_of(tk_wall_ns()), from);
		if (rc < 0)
			return rc;
		tkj__aim(j, s, &s->buf[s->cur], s->fcur);
	}
	tkj__put_loss(s, &s->buf[s->cur], r, &l);
	s->buf[s->cur].nrec++;
	s->next_seq = to;
	j->c.lost += to - from;
	return 0;
}

/* ----------------------------------------------------------- I/O */

static void tkj__submit_write(struct tkj_journal *j, int sid, uint32_t k)
{
	struct tkj_stream *s = &j->s[sid];
	struct tkj_buf *b = &s->buf[k];
	struct tkj_file *f = &s->file[b->file];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&j->ring);

	if (sqe == NULL) {
		io_uring_submit(&j->ring);
		sqe = io_uring_get_sqe(&j->ring);
	}
	if (j->registered)
		io_uring_prep_write_fixed(sqe, f->fd, b->mem + b->done, b->len - b->done,
					  b->off + b->done, (int)((uint32_t)sid * j->o.nbufs + (uint32_t)b->mi));
	else
		io_uring_prep_write(sqe, f->fd, b->mem + b->done, b->len - b->done,
				    b->off + b->done);
	if (j->o.dsync)
		sqe->rw_flags = RWF_DSYNC;
	io_uring_sqe_set_data64(sqe, tkj__ud(sid, TKJ_OP_WRITE, k));
	b->state = TKJ_BUF_WRITING;
	f->writes_inflight++;
	j->inflight++;
}

/* Place a sealed block in its file and write it, preallocating ahead. */
static void tkj__place(struct tkj_journal *j, int sid, uint32_t k)
{
	struct tkj_stream *s = &j->s[sid];
	struct tkj_buf *b = &s->buf[k];
	struct tkj_file *f = &s->file[b->file];

	if (f->off + b->len > f->alloc) {
		int64_t now = tk_mono_ns();
		uint64_t grow;
		int rc;

		if (now < f->alloc_retry_ns) {
			b->state = TKJ_BUF_SEALED;
			return;
		}
		grow = f->alloc < j->o.prealloc_bytes ? f->alloc : j->o.prealloc_bytes;
		rc = posix_fallocate(f->fd, (off_t)f->alloc, (off_t)grow);
		/* A nearly full disk: take what is left in smaller steps, down to
		 * this block's own room. */
		while ((rc == ENOSPC || rc == EDQUOT) && grow > j->o.block_bytes) {
			grow /= 2;
			if (f->off + b->len > f->alloc + grow)
				grow = (f->off + b->len - f->alloc + 4095) / 4096 * 4096;
			rc = posix_fallocate(f->fd, (off_t)f->alloc, (off_t)grow);
			if (grow <= (f->off + b->len - f->alloc + 4095) / 4096 * 4096)
				break;
		}
		if (rc != 0) {
			if (f->alloc_retry_ns == 0 || j->c.last_errno != rc)
				tk_warn("journal: cannot reserve space in %s: %s; %s holds until "
					"there is room (retrying every 0.25 s)",
					f->path, strerror(rc), s->log);
			tkj__error(j, rc);
			f->alloc_retry_ns = now + 250000000LL;
			b->state = TKJ_BUF_SEALED;
			return;
		}
		if (f->alloc_retry_ns != 0)
			tk_info("journal: room again in %s: %s goes on", f->path, s->log);
		f->alloc_retry_ns = 0;
		f->alloc += grow;
	}
	b->off = f->off;
	b->done = 0;
	f->off += b->len;
	f->since_sync += b->len;
	if (f->off + j->o.block_bytes > j->o.file_bytes)
		f->full = true;
	/* A commit already waiting keeps its goal: moving it on to every
	 * block written since would make its fdatasync wait for a queue that
	 * never drains (bench/persist). */
	if (f->since_sync >= j->o.commit_bytes && !f->sync_wanted) {
		f->sync_wanted = true;
		f->sync_goal = f->block_no;
	}
	tkj__submit_write(j, sid, k);
}

/* A block sealed after a commit's goal waits until that commit's
 * fdatasync is done, as raw B of bench/persist does: the disk serves
 * requests in order (this virtio disk one at a time), so writes queued
 * ahead of the file system's journal blocks and flush only delay them.
 * With up to 7 writes of 512 KiB beside it, the fdatasync took 3.4-4.9 ms
 * at the median instead of 0.15-0.21 ms, and half as many commits went
 * out.  The blocks a commit covers always go. */
static bool tkj__held(const struct tkj_journal *j, const struct tkj_file *f,
		      const struct tkj_buf *b)
{
	return !j->o.dsync && (f->sync_wanted || f->fsync_inflight) && b->block_no >= f->sync_goal;
}

/* Is an older block of s waiting for room in its file? */
static bool tkj__waiting(const struct tkj_journal *j, const struct tkj_stream *s)
{
	(void)j;
	uint32_t k;

	for (k = s->head; k != s->cur; k = (k + 1) % s->nslots)
		if (s->buf[k].state == TKJ_BUF_SEALED)
			return true;
	return false;
}

static void tkj__seal(struct tkj_journal *j, struct tkj_stream *s)
{
	int sid = (int)(s - j->s);
	struct tkj_buf *b = &s->buf[s->cur];
	struct tkj_file *f = &s->file[b->file];

	b->block_no = f->block_no++;
	b->len = tkj_block_seal_meta(b->mem, b->nrec, s->record_size, j->c.align, b->block_no,
				     &b->meta);
	tkj_index_entry_of_meta(&b->entry, &b->meta, b->len, b->nrec, b->block_no, 0);
	b->next_seq = s->next_seq;
	b->state = TKJ_BUF_SEALED;
	/* Blocks go to the file in their order: behind one still waiting for
	 * room, this one waits too (tkj_poll places them). */
	if (!tkj__waiting(j, s) && !tkj__held(j, f, b))
		tkj__place(j, sid, s->cur);
	s->cur = (s->cur + 1) % s->nslots;
}

static void tkj__submit_fsync(struct tkj_journal *j, int sid, int fslot)
{
	struct tkj_stream *s = &j->s[sid];
	struct tkj_file *f = &s->file[fslot];
	struct io_uring_sqe *sqe;
	uint32_t k, covered = 0;

	for (k = 0; k < s->nslots; k++)
		if (s->buf[k].state == TKJ_BUF_WRITTEN && s->buf[k].file == fslot) {
			s->buf[k].state = TKJ_BUF_SYNCING;
			covered++;
		}
	if (covered == 0)
		return;
	sqe = io_uring_get_sqe(&j->ring);
	if (sqe == NULL) {
		io_uring_submit(&j->ring);
		sqe = io_uring_get_sqe(&j->ring);
	}
	io_uring_prep_fsync(sqe, f->fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, tkj__ud(sid, TKJ_OP_FSYNC, (uint32_t)fslot));
	f->fsync_inflight = true;
	f->sync_wanted = false;
	f->since_sync = 0;
	f->fsync_start = tk_mono_ns();
	j->inflight++;
}

/* Buffers at the head that are durable: index them, free them, move the
 * stream's durable point. */
static int tkj__advance(struct tkj_journal *j, struct tkj_stream *s)
{
	int64_t now = 0;
	int n = 0;

	while (!j->failed && s->busy > 0 && s->buf[s->head].state == TKJ_BUF_DURABLE) {
		struct tkj_buf *b = &s->buf[s->head];
		struct tkj_file *f = &s->file[b->file];

		if (now == 0)
			now = tk_mono_ns();
		b->entry.offset = b->off;
		if (f->idx_fd >= 0 &&
		    tkj_index_append(f->idx_fd, &b->entry, b->keep ? b->mem : NULL, s->record_size) < 0) {
			/* A cache: stop writing it (a short write would misalign every
			 * later entry); queries read the data past it, the next
			 * start rebuilds it. */
			tk_warn("journal: cannot write the index of %s (%s): queries read the data "
				"instead until the next start rebuilds it",
				f->path, strerror(errno));
			close(f->idx_fd);
			f->idx_fd = -1;
			f->idx_broken = true;
		}
		s->durable_next = b->next_seq;
		j->c.records += b->entry.first_seq != 0 ? b->entry.last_seq - b->entry.first_seq + 1
							 : 0;
		j->c.blocks++;
		j->c.bytes += b->len;
		j->c.payload += (uint64_t)b->nrec * s->record_size;
		if (b->ready_ns != 0)
			tk_hist_record(&j->c.commit_ns, (uint64_t)(now - b->ready_ns));
		tkj__mem_give(s, b);
		b->state = TKJ_BUF_FREE;
		s->busy--;
		s->head = (s->head + 1) % s->nslots;
		n++;
	}
	return n;
}

static void tkj__complete(struct tkj_journal *j, struct io_uring_cqe *cqe, int *err)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	int sid = (int)(ud >> 32), op = (int)((ud >> 24) & 0xff);
	uint32_t idx = (uint32_t)(ud & 0xffffff);
	struct tkj_stream *s = &j->s[sid];

	j->inflight--;
	if (op == TKJ_OP_WRITE) {
		struct tkj_buf *b = &s->buf[idx];
		struct tkj_file *f = &s->file[b->file];

		f->writes_inflight--;
		if (cqe->res < 0) {
			j->c.write_errors++;
			tkj__error(j, -cqe->res);
			*err = cqe->res;
			tk_warn("journal: write of %u bytes at %" PRIu64 " in %s failed: %s "
				"(retrying)",
				b->len - b->done, b->off + b->done, f->path, strerror(-cqe->res));
			/* Written again at its own offset (blocks after it may be
			 * written already), a quarter second from now. */
			b->state = TKJ_BUF_RETRY;
			b->done = 0;
			b->retry_ns = tk_mono_ns() + 250000000LL;
			return;
		}
		b->done += (uint32_t)cqe->res;
		if (b->done < b->len) {
			/* A short write (rare: a signal, a full disk on a buffered
			 * file): the rest, at its place. */
			tkj__submit_write(j, sid, idx);
			return;
		}
		b->state = j->o.dsync ? TKJ_BUF_DURABLE : TKJ_BUF_WRITTEN;
		if (j->o.dsync)
			j->c.fsyncs++;
		if (!b->keep)
			tkj__mem_give(s, b); /* what is left to do needs its slot only */
	} else {
		struct tkj_file *f = &s->file[idx];
		uint32_t k;

		f->fsync_inflight = false;
		if (cqe->res < 0) {
			/* After a failed fdatasync the kernel may have dropped the
			 * dirty pages, and the next fdatasync would report success
			 * (a writeback error is reported once): nothing written since
			 * the last good one can be trusted.  As PostgreSQL does since
			 * 2018, stop: the journal fails (tkj_poll returns -EIO from
			 * now on), the role exits, and its next start reads what is
			 * really on disk; the records after it were never committed,
			 * so they are still in the log. */
			tkj__error(j, -cqe->res);
			j->failed = -EIO;
			*err = -EIO;
			tk_error("journal: fdatasync of %s failed: %s; nothing after the last good "
				 "one is trusted: stopping (the records stay in the log)",
				 f->path, strerror(-cqe->res));
			(void)k;
			return;
		}
		j->c.fsyncs++;
		tk_hist_record(&j->c.fsync_ns, (uint64_t)(tk_mono_ns() - f->fsync_start));
		for (k = 0; k < s->nslots; k++)
			if (s->buf[k].state == TKJ_BUF_SYNCING && s->buf[k].file == idx)
				s->buf[k].state = TKJ_BUF_DURABLE;
	}
}

/* Sealed blocks go to their files in order, up to the first that still
 * has no room or is held for a commit. */
static void tkj__place_sealed(struct tkj_journal *j, int sid)
{
	struct tkj_stream *s = &j->s[sid];
	uint32_t k;

	for (k = 0; k < s->nslots; k++) {
		uint32_t q = (s->head + k) % s->nslots;

		if (s->buf[q].state != TKJ_BUF_SEALED)
			continue;
		if (tkj__held(j, &s->file[s->buf[q].file], &s->buf[q]))
			break;
		tkj__place(j, sid, q);
		if (s->buf[q].state == TKJ_BUF_SEALED)
			break; /* still no room: keep the order */
	}
}

void tkj_commit_now(struct tkj_journal *j)
{
	j->commit_asked = true;
}

int tkj_poll(struct tkj_journal *j, int64_t wait_ns)
{
	struct io_uring_cqe *cqe;
	int64_t now = tk_mono_ns();
	bool due = j->commit_asked || now - j->last_commit >= j->o.commit_ns;
	int err = 0, durable = 0;
	uint32_t i, k, seen;

	for (i = 0; i < j->nstreams; i++) {
		struct tkj_stream *s = &j->s[i];

		/* Blocks waiting for room (a full disk), in order. */
		for (k = 0; k < s->nslots; k++) {
			uint32_t q = (s->head + k) % s->nslots;

			if (s->buf[q].state == TKJ_BUF_RETRY && now >= s->buf[q].retry_ns)
				tkj__submit_write(j, (int)i, q);
		}
		tkj__place_sealed(j, (int)i);
		if (due && s->buf[s->cur].state == TKJ_BUF_FILLING && s->buf[s->cur].nrec > 0)
			tkj__seal(j, s);
		if (due)
			for (k = 0; k < 2; k++)
				if (s->file[k].fd >= 0 && !s->file[k].sync_wanted) {
					s->file[k].sync_wanted = true;
					s->file[k].sync_goal = s->file[k].block_no;
				}
	}
	if (due) {
		j->last_commit = now;
		j->commit_asked = false;
	}
	for (;;) {
		io_uring_submit(&j->ring);
		seen = 0;
		while (io_uring_peek_cqe(&j->ring, &cqe) == 0) {
			tkj__complete(j, cqe, &err);
			io_uring_cqe_seen(&j->ring, cqe);
			seen++;
		}
		for (i = 0; i < j->nstreams; i++) {
			struct tkj_stream *s = &j->s[i];
			int fs;

			for (fs = 0; fs < 2; fs++) {
				struct tkj_file *f = &s->file[fs];
				bool written = false;

				if (f->fd < 0 || f->fsync_inflight || !f->sync_wanted || j->o.dsync)
					continue;
				/* Wait for the writes sealed before the commit: an
				 * fdatasync covers only completed ones. */
				for (k = 0; k < s->nslots; k++) {
					const struct tkj_buf *b = &s->buf[k];

					if (b->file != fs || b->state == TKJ_BUF_FREE ||
					    b->state == TKJ_BUF_FILLING)
						continue;
					if ((b->state == TKJ_BUF_WRITING || b->state == TKJ_BUF_SEALED ||
					     b->state == TKJ_BUF_RETRY) &&
					    b->block_no < f->sync_goal)
						break;
					if (b->state == TKJ_BUF_WRITTEN)
						written = true;
				}
				if (k == s->nslots && written)
					tkj__submit_fsync(j, (int)i, fs);
				else if (k == s->nslots)
					f->sync_wanted = false;
			}
			if (seen > 0)
				tkj__place_sealed(j, (int)i); /* what a finished commit held */
			durable += tkj__advance(j, s);
		}
		if (seen > 0 || wait_ns <= 0 || j->inflight == 0)
			break;
		{
			struct __kernel_timespec ts = { .tv_sec = wait_ns / 1000000000LL,
							.tv_nsec = wait_ns % 1000000000LL };

			io_uring_submit(&j->ring);
			if (io_uring_wait_cqe_timeout(&j->ring, &cqe, &ts) < 0)
				break;
			wait_ns = 0; /* one wait, then reap what came */
		}
	}
	io_uring_submit(&j->ring);
	if (j->failed)
		return j->failed;
	return err < 0 && durable == 0 ? err : durable;
}

int tkj_failed(const struct tkj_journal *j)
{
	return j->failed;
}

uint32_t tkj_inflight(const struct tkj_journal *j)
{
	return j->inflight;
}

uint64_t tkj_durable_next(const struct tkj_journal *j, int sid)
{
	return j->s[sid].durable_next;
}

/* Buffers holding records not yet durable (the current one if it has any). */
static uint32_t tkj__unsettled(const struct tkj_stream *s)
{
	const struct tkj_buf *b = &s->buf[s->cur];

	return s->busy - (b->state == TKJ_BUF_FILLING && b->nrec == 0 ? 1 : 0);
}

bool tkj_pending(const struct tkj_journal *j, int sid)
{
	return tkj__unsettled(&j->s[sid]) > 0;
}

const struct tkj_counters *tkj_counters(const struct tkj_journal *j)
{
	return &j->c;
}

int tkj_flush(struct tkj_journal *j, int64_t timeout_ns)
{
	int64_t deadline = tk_mono_ns() + timeout_ns;
	uint32_t i;

	for (i = 0; i < j->nstreams; i++) {
		struct tkj_stream *s = &j->s[i];
		uint32_t room;
		uint8_t *r;

		/* A loss no record followed: written into a file of today. */
		if (!s->loss_pending || (r = tkj_append_room(j, (int)i, &room)) == NULL ||
		    tkj__next_file(j, s, tkj_day_of(tk_wall_ns()), s->pending.from) < 0)
			continue;
		tkj__aim(j, s, &s->buf[s->cur], s->fcur);
		tkj__put_loss(s, &s->buf[s->cur], r, &s->pending);
		s->buf[s->cur].nrec++;
		s->loss_pending = false;
	}
	for (;;) {
		bool busy = false;

		tkj_commit_now(j);
		tkj_poll(j, 1000000);
		for (i = 0; i < j->nstreams; i++)
			busy |= tkj__unsettled(&j->s[i]) > 0;
		if (!busy && j->inflight == 0)
			return 0;
		if (j->failed)
			return tk_err_set(j->failed, "journal: an fdatasync failed: what it covered is "
						     "not durable and stays in the log");
		if (tk_mono_ns() > deadline)
			return tk_err_set(-ETIMEDOUT, "journal: records not durable after %.1f s: they "
						      "stay in the log for the next start",
					  (double)timeout_ns / 1e9);
	}
}

int tkj_close(struct tkj_journal *j, int64_t timeout_ns)
{
	uint32_t i, k;
	int rc;

	if (j == NULL)
		return 0;
	rc = timeout_ns > 0 ? tkj_flush(j, timeout_ns) : 0;
	/* Nothing may be in flight when the buffers go. */
	while (j->inflight > 0) {
		struct io_uring_cqe *cqe;
		int err = 0;

		if (io_uring_wait_cqe(&j->ring, &cqe) < 0)
			break;
		tkj__complete(j, cqe, &err);
		io_uring_cqe_seen(&j->ring, cqe);
	}
	for (i = 0; i < j->nstreams; i++) {
		struct tkj_stream *s = &j->s[i];

		/* The current file stays open-ended for the next start (it is
		 * trimmed when a later one follows it). */
		if (s->file[s->fcur].fd >= 0) {
			if (s->file[s->fcur].idx_broken)
				tkj__index_rebuild(&s->file[s->fcur], s->record_size);
			close(s->file[s->fcur].fd);
			if (s->file[s->fcur].idx_fd >= 0)
				close(s->file[s->fcur].idx_fd);
		}
		for (k = 0; k < j->o.nbufs; k++)
			free(s->mems[k]);
		free(s->mems);
		free(s->mfree);
		free(s->buf);
		free(s->file[0].seen);
		free(s->file[1].seen);
	}
	io_uring_queue_exit(&j->ring);
	close(j->lock_fd);
	free(j);
	return rc;
}

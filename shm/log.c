/* Cold paths of the log: set-up, writer recovery, gating, reader registration. */
#include "shm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"

#define TK_LIVENESS_CHECK_NS (10 * 1000 * 1000LL)
#define TK_DEFAULT_STALL_NS (5 * 1000 * 1000 * 1000LL)
#define TK_READER_OPENING 4u /* transient: a process is filling the slot */

/* ---------------------------------------------------------- event count */

static int tk__ec_gettime(const struct ck_ec_ops *ops, struct timespec *out)
{
	(void)ops;
	return clock_gettime(CLOCK_MONOTONIC, out);
}

/* Shared (not FUTEX_PRIVATE) futexes: waiter and waker are different processes. */
static void tk__ec_wait32(const struct ck_ec_wait_state *st, const uint32_t *addr,
			  uint32_t expected, const struct timespec *deadline)
{
	(void)st;
	syscall(SYS_futex, addr, FUTEX_WAIT_BITSET, expected, deadline, NULL,
		FUTEX_BITSET_MATCH_ANY);
}

static void tk__ec_wake32(const struct ck_ec_ops *ops, const uint32_t *addr)
{
	(void)ops;
	syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static const struct ck_ec_ops tk__ec_ops = {
	.gettime = tk__ec_gettime,
	.wait32 = tk__ec_wait32,
	.wake32 = tk__ec_wake32,
};

const struct ck_ec_mode tk_ec_sp = { .ops = &tk__ec_ops, .single_producer = true };

/* ---------------------------------------------------------- processes */

/* Parse /proc/<pid>/stat: state (field 3) and starttime (field 22).
 * Returns false if the process does not exist. */
static bool tk__proc_stat(int32_t pid, char *state, uint64_t *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip to the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] == '\0')
		return false;
	p += 2;
	*state = *p;
	for (field = 3; field < 22 && p != NULL; field++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	*start = p != NULL ? strtoull(p, NULL, 10) : 0;
	return true;
}

uint64_t tk_pid_start(int32_t pid)
{
	char state;
	uint64_t start;

	return tk__proc_stat(pid, &state, &start) ? start : 0;
}

uint64_t tk_pid_ns(void)
{
	static uint64_t cached;
	char link[64];
	ssize_t n;

	if (cached != 0)
		return cached;
	n = readlink("/proc/self/ns/pid", link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	/* "pid:[4026531836]" */
	cached = strchr(link, '[') != NULL ? strtoull(strchr(link, '[') + 1, NULL, 10) : 0;
	return cached;
}

/* ---------------------------------------------------------- ownership */

/*
 * Who owns a log's writer role or a reader slot is an open-file-description
 * lock (F_OFD_SETLK) on one byte of the segment file: the byte at the
 * offset of log->writer_pid, or of the reader slot's state word.  The
 * kernel drops it when the owner's last descriptor closes, i.e. when the
 * process dies, however it dies, and it means the same in every pid
 * namespace and under hidepid / ProtectProc, where /proc cannot be read.
 * OFD locks belong to the descriptor, not the thread, so threads of one
 * process share them: a process-local set of what this process holds
 * answers for its own slots.  A process that forks without exec shares
 * its locks with the child until one of them closes the segment.
 */
#define TK_HELD_MAX 1024
static const void *tk__held[TK_HELD_MAX];
static pthread_mutex_t tk__held_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t tk__claim_lock = PTHREAD_MUTEX_INITIALIZER;

static int tk__held_find(const void *p)
{
	int i;

	for (i = 0; i < TK_HELD_MAX; i++)
		if (tk__held[i] == p)
			return i;
	return -1;
}

static int tk__lock_op(const void *p, int cmd, short type, bool *conflict)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_len = 1 };
	uint64_t off;
	int fd = tk_segment_fd_of(p, &off);

	if (fd < 0)
		return -EBADF;
	fl.l_start = (off_t)off;
	if (fcntl(fd, cmd, &fl) != 0)
		return -errno;
	if (conflict != NULL)
		*conflict = fl.l_type != F_UNLCK;
	return 0;
}

/* Take ownership of the word at p.  0, or -EBUSY if a live process (this
 * one included) holds it, or another negative errno. */
static int tk__own_try(const void *p)
{
	int rc, slot;

	pthread_mutex_lock(&tk__held_lock);
	if (tk__held_find(p) >= 0) {
		pthread_mutex_unlock(&tk__held_lock);
		return -EBUSY;
	}
	slot = tk__held_find(NULL);
	rc = slot < 0 ? -ENOSPC : tk__lock_op(p, F_OFD_SETLK, F_WRLCK, NULL);
	if (rc == -EAGAIN || rc == -EACCES)
		rc = -EBUSY;
	if (rc == 0)
		tk__held[slot] = p;
	pthread_mutex_unlock(&tk__held_lock);
	return rc;
}

static void tk__own_release(const void *p)
{
	int slot;

	pthread_mutex_lock(&tk__held_lock);
	slot = tk__held_find(p);
	if (slot >= 0) {
		tk__held[slot] = NULL;
		tk__lock_op(p, F_OFD_SETLK, F_UNLCK, NULL);
	}
	pthread_mutex_unlock(&tk__held_lock);
}

/* Does a live process own the word at p?  When it cannot be told (p is not
 * in a segment this process attached), the answer is yes: never release
 * what cannot be judged. */
static bool tk__owned(const void *p)
{
	bool held, conflict = true;

	pthread_mutex_lock(&tk__held_lock);
	held = tk__held_find(p) >= 0;
	pthread_mutex_unlock(&tk__held_lock);
	if (held)
		return true;
	if (tk__lock_op(p, F_OFD_GETLK, F_WRLCK, &conflict) < 0)
		return true;
	return conflict;
}

/* Reader registration on one log is serialised, across processes by a lock
 * on the reader table's epoch word (F_OFD_SETLKW: released by the kernel if
 * the claimer dies), across threads of this process by a mutex, so a name
 * is bound to one slot and a slot to one owner. */
static void tk__claim_begin(struct tk_log_region *log)
{
	pthread_mutex_lock(&tk__claim_lock);
	while (tk__lock_op(&tk_log_reader_table(log)->epoch, F_OFD_SETLKW, F_WRLCK, NULL) == -EINTR)
		;
}

static void tk__claim_end(struct tk_log_region *log)
{
	tk__lock_op(&tk_log_reader_table(log)->epoch, F_OFD_SETLK, F_UNLCK, NULL);
	pthread_mutex_unlock(&tk__claim_lock);
}

void tk_log_forget_mapping(const void *base, size_t size)
{
	const uint8_t *b = base;
	int i;

	pthread_mutex_lock(&tk__held_lock);
	for (i = 0; i < TK_HELD_MAX; i++)
		if (tk__held[i] != NULL && (const uint8_t *)tk__held[i] >= b &&
		    (const uint8_t *)tk__held[i] < b + size)
			tk__held[i] = NULL;
	pthread_mutex_unlock(&tk__held_lock);
}

bool tk_reader_alive(const struct tk_reader_slot *rs)
{
	return tk__owned(&rs->state);
}

bool tk_log_writer_alive(const struct tk_log_region *log)
{
	return tk__owned(&log->writer_pid);
}

/* ---------------------------------------------------------- layout */

void tk_log_init(struct tk_log_region *log, const struct tk_log_spec *spec)
{
	uint64_t readers_size = TK_READER_TABLE_HEADER +
				(uint64_t)spec->nreaders * sizeof(struct tk_reader_slot);

	memset(log, 0, sizeof(*log));
	log->magic = TK_LOG_MAGIC;
	log->version = TK_LOG_VERSION;
	log->nslots = spec->nslots;
	log->slot_size = spec->slot_size;
	log->slot_shift = (uint32_t)__builtin_ctz(spec->slot_size);
	log->nreaders = spec->nreaders;
	log->slots_offset = TK_LOG_READERS_OFFSET + ((readers_size + 4095) & ~4095ull);
	snprintf(log->name, sizeof(log->name), "%s", spec->name);
	/* Reader table, event count and slots start zero: a new file is zero-filled. */
}

uint64_t tk_log_region_size(const struct tk_log_spec *spec)
{
	uint64_t readers_size = TK_READER_TABLE_HEADER +
				(uint64_t)spec->nreaders * sizeof(struct tk_reader_slot);

	return TK_LOG_READERS_OFFSET + ((readers_size + 4095) & ~4095ull) +
	       (uint64_t)spec->nslots * spec->slot_size;
}

int tk_log_validate(const struct tk_log_region *log, uint64_t region_size)
{
	struct tk_log_spec spec = { .nslots = log->nslots, .slot_size = log->slot_size,
				    .nreaders = log->nreaders };

	if (log->magic != TK_LOG_MAGIC)
		return tk_err_set(EBADF, "log region has a bad magic (corrupt segment)");
	if (log->version != TK_LOG_VERSION)
		return tk_err_set(EPROTO, "log '%.31s' has layout version %u, this build reads %u",
				  log->name, log->version, TK_LOG_VERSION);
	if (log->nslots == 0 || (log->nslots & (log->nslots - 1)) != 0 || log->slot_size < 64 ||
	    (log->slot_size & (log->slot_size - 1)) != 0 ||
	    (1u << log->slot_shift) != log->slot_size || tk_log_region_size(&spec) > region_size ||
	    log->slots_offset != tk_log_region_size(&spec) - (uint64_t)log->nslots * log->slot_size)
		return tk_err_set(EBADF, "log '%.31s' has an inconsistent geometry (corrupt segment)",
				  log->name);
	return 0;
}

struct tk_log_region *tk_log_find(const struct tk_segment *seg, const char *name)
{
	return tk_segment_region(seg, TK_REGION_LOG, name, NULL);
}

/* ---------------------------------------------------------- writer */

int tk_log_writer_open(struct tk_log_writer *w, struct tk_log_region *log)
{
	int32_t me = (int32_t)getpid();
	int32_t owner;
	uint64_t s, recovered = 0;
	int rc;

	/* The lock is the ownership: exactly one process at a time gets it, and
	 * it is free again the instant its owner dies. */
	rc = tk__own_try(&log->writer_pid);
	if (rc < 0)
		return tk_err_set(-rc, "log '%.31s' already has a live writer (pid %d)%s", log->name,
				  (int)tk_load_acquire_32((uint32_t *)&log->writer_pid),
				  rc == -EBUSY ? "" : ": cannot lock the segment file");
	/* Acquire: pairs with the previous writer's release of its pid. */
	owner = (int32_t)tk_load_acquire_32((uint32_t *)&log->writer_pid);
	/* For display only (stats, messages); ownership is the lock. */
	log->writer_start = tk_pid_start(me);
	tk_store_release_32((uint32_t *)&log->writer_pid, (uint32_t)me);

	memset(w, 0, sizeof(*w));
	w->log = log;
	w->slots = tk_log_slots(log);
	w->nslots = log->nslots;
	w->mask = log->nslots - 1;
	w->shift = log->slot_shift;
	w->blocked_idx = -1;

	/* Continue after the last complete slot.  write_seq may lag the slots
	 * by a batch if the previous writer died between the two stores. */
	/* Acquire on both: pairs with the previous writer's release stores of
	 * write_seq and of each slot's sequence word. */
	s = tk_load_acquire_64(&log->write_seq) + 1;
	while (recovered < log->nslots &&
	       tk_load_acquire_64(&tk__log_slot(w->slots, s, w->mask, w->shift)->seq) == s) {
		s++;
		recovered++;
	}
	w->next = s;
	w->limit = s; /* forces a gate scan at the first claim */
	/* Relaxed: only a value to differ from, so the first claim rescans. */
	w->epoch = tk_load_relaxed_32(&tk_log_reader_table(log)->epoch) - 1;
	if (owner != 0 || s > 1) {
		log->writer_restarts++;
		log->recovered_slots += recovered;
		/* Release: pairs with readers' acquire in tk_log_write_seq. */
		if (s > 1)
			tk_store_release_64(&log->write_seq, s - 1);
		tk_info("log %s: writer resumes at sequence %llu (%llu complete slots past the "
			"last published one)",
			log->name, (unsigned long long)s, (unsigned long long)recovered);
	}
	return 0;
}

void tk_log_writer_close(struct tk_log_writer *w)
{
	if (w->log == NULL)
		return;
	tk_log_wake(w);
	/* Release: our last publish precedes giving the log up. */
	tk_store_release_32((uint32_t *)&w->log->writer_pid, 0);
	tk__own_release(&w->log->writer_pid);
	w->log = NULL;
}

static void tk__log_release(struct tk_log_writer *w, int idx, enum tk_release_reason reason,
			    int64_t now)
{
	struct tk_log_region *log = w->log;
	struct tk_reader_slot *rs = &tk_log_readers(log)[idx];
	/* Acquire: pairs with the reader's release in commit (for the message). */
	uint64_t cursor = tk_load_acquire_64(&rs->cursor);

	/* Full-barrier CAS: the reader may be closing or rejoining at this very
	 * moment; its release_reason and released_at follow the state change. */
	if (!tk_cas_32(&rs->state, TK_READER_ACTIVE, TK_READER_RELEASED))
		return;
	rs->release_reason = reason;
	rs->released_at = w->next;
	tk_faa_64(&rs->releases, 1); /* atomic: a stats reader may be reading it */
	if (reason == TK_RELEASE_DEAD) {
		log->releases_dead++;
		tk_warn("log %s: released gating reader '%.31s' (pid %d): its process is gone; "
			"the writer goes on from %llu, the reader's committed cursor is %llu",
			log->name, rs->name, (int)rs->pid, (unsigned long long)w->next,
			(unsigned long long)cursor);
	} else {
		log->releases_stall++;
		tk_warn("log %s: released gating reader '%.31s' (pid %d): stalled %.1f s at %llu "
			"(its stall limit is %.1f s); it will be told what it misses",
			log->name, rs->name, (int)rs->pid, (double)(now - w->blocked_since) / 1e9,
			(unsigned long long)cursor, (double)rs->stall_ns / 1e9);
	}
}

/* The writer is held by reader idx at cursor c: decide whether to release it. */
static bool tk__log_check_blocker(struct tk_log_writer *w, int idx, uint64_t c, int64_t now)
{
	struct tk_reader_slot *rs = &tk_log_readers(w->log)[idx];

	if (idx != w->blocked_idx || c != w->blocked_cursor) {
		/* Progress (or another reader): the stall clock restarts. */
		w->blocked_idx = idx;
		w->blocked_cursor = c;
		w->blocked_since = now;
		w->last_liveness_check = 0;
		/* Relaxed: for display only (stats, top). */
		tk_store_relaxed_32(&w->log->blocked_by, (uint32_t)idx + 1);
	}
	if (now - w->last_liveness_check >= TK_LIVENESS_CHECK_NS) {
		w->last_liveness_check = now;
		if (!tk_reader_alive(rs)) {
			tk__log_release(w, idx, TK_RELEASE_DEAD, now);
			return true;
		}
	}
	if ((rs->flags & TK_READER_F_RELEASE_ON_STALL) && now - w->blocked_since >= rs->stall_ns) {
		tk__log_release(w, idx, TK_RELEASE_STALL, now);
		return true;
	}
	return false;
}

uint64_t tk__log_refresh_gate(struct tk_log_writer *w)
{
	struct tk_log_region *log = w->log;
	struct tk_reader_slot *readers = tk_log_readers(log);
	uint64_t s = w->next;
	int64_t now;

	for (;;) {
		uint64_t min = UINT64_MAX, limit;
		int min_idx = -1;
		uint32_t i;

		/* Acquire: pairs with the faa a joining reader makes after storing
		 * its cursor and state, so the scan below sees them. */
		w->epoch = tk_load_acquire_32(&tk_log_reader_table(log)->epoch);
		for (i = 0; i < log->nreaders; i++) {
			uint64_t c;

			/* Acquire: pairs with the reader's release store of ACTIVE. */
			/* Relaxed flags: ordered after the acquire of state, which the
			 * reader released after writing them. */
			if (tk_load_acquire_32(&readers[i].state) != TK_READER_ACTIVE ||
			    !(tk_load_relaxed_32(&readers[i].flags) & TK_READER_F_GATING))
				continue;
			/* Acquire: pairs with the release in tk_log_reader_commit; the
			 * reader is done with every slot before c. */
			c = tk_load_acquire_64(&readers[i].cursor);
			if (c < min) {
				min = c;
				min_idx = (int)i;
			}
		}
		limit = min_idx < 0 ? UINT64_MAX : min + log->nslots;
		if (limit > s) {
			if (w->wait_start != 0) {
				now = tk_mono_ns();
				log->writer_wait_ns += (uint64_t)(now - w->wait_start);
				w->wait_start = 0;
				w->blocked_idx = -1;
				tk_store_relaxed_32(&log->blocked_by, 0); /* display only */
			}
			w->limit = limit;
			return limit - s;
		}
		now = tk_mono_ns();
		if (w->wait_start == 0) {
			w->wait_start = now;
			log->writer_waits++;
			w->blocked_idx = -1;
		}
		if (!tk__log_check_blocker(w, min_idx, min, now)) {
			w->limit = s;
			return 0;
		}
	}
}

/* ---------------------------------------------------------- reader */

#ifdef TK_ATOMIC_BUILTINS
void tk__slot_copy_racy(void *out, const void *slot, uint32_t size)
{
	memcpy(out, slot, size);
}
#endif

static uint64_t tk__log_start_seq(struct tk_log_region *log, const struct tk_reader_opts *opts)
{
	switch (opts->start) {
	case TK_START_OLDEST:
	case TK_START_RESUME_OLDEST:
		return tk_log_oldest(log);
	case TK_START_SEQ:
		return opts->start_seq > 0 ? opts->start_seq : 1;
	case TK_START_RESUME:
	case TK_START_END:
	default:
		return tk_log_write_seq(log) + 1;
	}
}

/* Pick the cursor slot for `name` and take its ownership lock: the slot
 * already bearing the name (if its owner is gone), else a never used one,
 * else a closed one or one whose owner is gone.  Called between
 * tk__claim_begin and tk__claim_end.  Returns the index, or a negative errno. */
static int tk__log_claim_slot(struct tk_log_region *log, const char *name, bool *resumed)
{
	struct tk_reader_slot *readers = tk_log_readers(log);
	uint32_t i, st;
	int pass, rc;

	*resumed = false;
	for (i = 0; i < log->nreaders; i++) {
		struct tk_reader_slot *rs = &readers[i];

		/* Acquire: pairs with the release of ACTIVE by the slot's owner;
		 * its name and pid are complete. */
		st = tk_load_acquire_32(&rs->state);
		if (st == TK_READER_FREE || strncmp(rs->name, name, TK_NAME_MAX) != 0)
			continue;
		rc = tk__own_try(&rs->state);
		if (rc == -EBUSY)
			return tk_err_set(EBUSY, "reader name '%s' on log '%.31s' is held by live pid %d",
					  name, log->name, (int)rs->pid);
		if (rc < 0)
			return tk_err_set(-rc, "reader '%s' on log '%.31s': cannot lock the segment "
					  "file: %s", name, log->name, strerror(-rc));
		*resumed = true;
		return (int)i;
	}
	/* Pass 0: never used.  Pass 1: closed, or its owner is gone (the lock
	 * says which: a live owner holds it). */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < log->nreaders; i++) {
			struct tk_reader_slot *rs = &readers[i];

			st = tk_load_acquire_32(&rs->state); /* as above */
			if ((pass == 0) != (st == TK_READER_FREE))
				continue;
			if (tk__own_try(&rs->state) != 0)
				continue;
			/* Release: the writer stops counting this slot (its old owner's
			 * cursor) before its fields change under it. */
			tk_store_release_32(&rs->state, TK_READER_OPENING);
			return (int)i;
		}
	}
	return tk_err_set(ENOSPC, "log '%.31s' has no free reader slot (all %u in use)", log->name,
			  log->nreaders);
}

int tk_log_reader_open(struct tk_log_reader *r, const struct tk_segment *seg,
		       const char *log_name, const struct tk_reader_opts *opts)
{
	struct tk_log_region *log = tk_log_find(seg, log_name);
	struct tk_reader_slot *rs;
	bool resumed;
	int idx;

	if (log == NULL)
		return tk_err_set(ENOENT, "no log named '%s' in segment %s", log_name, seg->path);
	memset(r, 0, sizeof(*r));
	r->log = log;
	r->slots = tk_log_slots(log);
	r->mask = log->nslots - 1;
	r->shift = log->slot_shift;
	r->slot_size = log->slot_size;
	r->idx = -1;
	if (opts->name == NULL) {
		if (opts->gating)
			return tk_err_set(EINVAL, "a gating reader needs a name");
		r->next = tk__log_start_seq(log, opts);
		return 0;
	}
	if (strlen(opts->name) >= TK_NAME_MAX || opts->name[0] == '\0')
		return tk_err_set(EINVAL, "reader name '%s' must be 1 to %d bytes", opts->name,
				  TK_NAME_MAX - 1);
	if (!seg->readers_writable)
		return tk_err_set(EROFS, "segment %s is attached read-only: cannot register reader "
				  "'%s' (follow anonymously, or get write access to the file)",
				  seg->path, opts->name);
	tk__claim_begin(log);
	idx = tk__log_claim_slot(log, opts->name, &resumed);
	if (idx < 0) {
		tk__claim_end(log);
		return idx;
	}
	rs = &tk_log_readers(log)[idx];
	/* A slot taken from another name loses that name first, then gets its
	 * cursor, then the new name: a process killed in between leaves a
	 * nameless slot, never a name with another reader's cursor. */
	if (!resumed) {
		memset(rs->name, 0, sizeof(rs->name));
		tk_fence_store(); /* the name is gone before the cursor changes */
	}
	if (resumed && (opts->start == TK_START_RESUME || opts->start == TK_START_RESUME_OLDEST) &&
	    rs->cursor != 0) {
		r->next = rs->cursor;
		r->resumed = true;
	} else {
		r->next = tk__log_start_seq(log, opts);
		/* Release: ordered before the name below (a kill between them). */
		tk_store_release_64(&rs->cursor, r->next);
		rs->skipped = rs->gaps = rs->consumed = 0;
	}
	if (!resumed) /* the name was cleared above */
		snprintf(rs->name, sizeof(rs->name), "%s", opts->name);
	rs->pid = (int32_t)getpid();
	rs->pid_start = tk_pid_start(rs->pid);
	rs->pid_ns = tk_pid_ns();
	rs->flags = (opts->gating ? TK_READER_F_GATING : 0) |
		    (opts->gating && opts->release_on_stall ? TK_READER_F_RELEASE_ON_STALL : 0);
	rs->stall_ns = opts->stall_ns > 0 ? opts->stall_ns : TK_DEFAULT_STALL_NS;
	rs->heartbeat_ns = tk_mono_coarse_ns();
	r->skipped = rs->skipped;
	r->gaps = rs->gaps;
	r->consumed = rs->consumed;
	r->slot = rs;
	r->idx = idx;
	r->gating = opts->gating;
	tk_store_relaxed_64(&rs->cursor, r->next); /* published by the release below */
	/* Release: name, pid, flags and cursor are visible before the writer
	 * (acquire on state) counts this reader. */
	tk_store_release_32(&rs->state, TK_READER_ACTIVE);
	/* Full barrier (locked add): the writer rescans on its next claim. */
	tk_faa_32(&tk_log_reader_table(log)->epoch, 1);
	tk__claim_end(log);
	return 0;
}

void tk_log_reader_close(struct tk_log_reader *r)
{
	struct tk_reader_slot *rs = r->slot;
	uint32_t st;

	if (rs == NULL)
		return;
	/* Release: pairs with the writer's acquire of the cursor, as in commit. */
	tk_store_release_64(&rs->cursor, r->next);
	st = tk_load_acquire_32(&rs->state); /* pairs with the writer's release CAS */
	/* Gating readers keep their cursor for the next open under this name. */
	if (st == TK_READER_ACTIVE || st == TK_READER_RELEASED)
		tk_cas_32(&rs->state, st, r->gating ? TK_READER_CLOSED : TK_READER_FREE); /* vs release */
	tk__own_release(&rs->state);
	r->slot = NULL;
}

/* The oldest sequence still in the ring past r->next, given that the
 * writer has written (or is writing) `seen`. */
static uint64_t tk__log_oldest_after(struct tk_log_reader *r, uint64_t seen)
{
	struct tk_log_region *log = r->log;
	uint64_t w = tk_log_write_seq(log);
	uint64_t oldest, n;

	/* Every sequence up to seen - nslots is gone; write_seq may tell us
	 * the writer is further. */
	if (w < seen)
		w = seen;
	oldest = w - log->nslots + 1;
	/* A follower resuming at the very oldest slot would be lapped again at
	 * once by a writer that is faster than it: give it a quarter ring of
	 * headroom.  A gating reader takes the exact oldest (it misses nothing
	 * still in the ring) and rejoins the gate there (below). */
	if (!r->gating)
		oldest += log->nslots / 4;
	if (oldest <= r->next)
		oldest = r->next + 1;
	/* The writer may already hold the next slots (marked WRITING ahead of
	 * its payload): step past them to the oldest sequence really there. */
	for (n = 0; n < log->nslots; n++, oldest++) {
		/* Acquire: pairs with the writer's publish; only the word matters. */
		uint64_t v = tk_load_acquire_64(&tk__log_slot(r->slots, oldest, r->mask, r->shift)->seq);

		if ((v & ~TK_SLOT_WRITING) <= oldest)
			break;
	}
	return oldest;
}

int tk__log_lapped(struct tk_log_reader *r, uint64_t seen)
{
	uint64_t from = r->next, oldest = tk__log_oldest_after(r, seen);
	int tries;

	/* A released gating reader rejoins the gate at the record its gap ends
	 * on, before it reads it: waiting for its next commit would leave it at
	 * the ring's tail, unprotected, where a writer faster than it laps it
	 * again and again.  The writer may still take that record between our
	 * look and the rejoin (its claim had not seen us yet): then the gap
	 * ends further on, and we look again. */
	/* Acquire: pairs with the writer's CAS that released us. */
	if (r->gating && r->slot != NULL && tk_load_acquire_32(&r->slot->state) == TK_READER_RELEASED) {
		for (tries = 0; tries < 8; tries++) {
			uint64_t v;

			/* Release: what lies before oldest is gone, so consumed. */
			tk_store_release_64(&r->slot->cursor, oldest);
			r->next = oldest;
			tk__log_reader_rejoin(r); /* a no-op once rejoined */
			/* Acquire: pairs with the writer's publish. */
			v = tk_load_acquire_64(&tk__log_slot(r->slots, oldest, r->mask, r->shift)->seq) &
			    ~TK_SLOT_WRITING;
			if (v <= oldest)
				break;
			oldest = tk__log_oldest_after(r, v);
		}
		r->next = from;
	}
	r->gap_from = from;
	r->gap_to = oldest;
	r->skipped += oldest - r->next;
	r->gaps++;
	r->next = oldest;
	if (r->slot != NULL) {
		/* Relaxed: counters for stats. */
		tk_store_relaxed_64(&r->slot->skipped, r->skipped);
		tk_store_relaxed_64(&r->slot->gaps, r->gaps);
	}
	return TK_LOG_LAPPED;
}

void tk__log_reader_rejoin(struct tk_log_reader *r)
{
	struct tk_reader_slot *rs = r->slot;

	/* Acquire: pairs with the writer's CAS that released us. */
	if (tk_load_acquire_32(&rs->state) != TK_READER_RELEASED || rs->pid != (int32_t)getpid())
		return;
	/* Rejoin only once the reader points at data still in the ring; the
	 * next read reports the gap otherwise, and the commit after it rejoins. */
	if (r->next < tk_log_oldest(r->log))
		return;
	/* Full-barrier CAS after the cursor's release store in commit: the
	 * writer that sees ACTIVE sees that cursor. */
	if (!tk_cas_32(&rs->state, TK_READER_RELEASED, TK_READER_ACTIVE))
		return;
	/* Full barrier (locked add): the writer rescans on its next claim. */
	tk_faa_32(&tk_log_reader_table(r->log)->epoch, 1);
	tk_info("log %s: reader '%.31s' rejoined the gate at %llu", r->log->name, rs->name,
		(unsigned long long)r->next);
}

void tk_log_reader_heartbeat(struct tk_log_reader *r)
{
	/* Relaxed: a timestamp for stats and the operator. */
	if (r->slot != NULL)
		tk_store_relaxed_64((uint64_t *)&r->slot->heartbeat_ns,
				    (uint64_t)tk_mono_coarse_ns());
}

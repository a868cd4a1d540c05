/*
 * The log: a single-writer, multi-reader broadcast ring of fixed-size slots
 * in shared memory.
 *
 * DESIGN.  Sequences start at 1 and grow by one per slot; the slot for
 * sequence s is s & (nslots - 1).  Each slot starts with a 64-bit word that
 * says which sequence it holds: s when complete, s | TK_SLOT_WRITING while
 * the writer fills it, 0 when never written.  A reader that wants s loads
 * that word: s means "here it is", anything smaller "not yet", anything
 * larger "you were lapped".  Because completeness is in the slot itself, a
 * writer killed mid-write leaves a slot marked WRITING (never one that
 * looks complete), and a restarted writer finds where to continue by
 * scanning forward from the last published sequence.
 *
 * Readers that must lose nothing (engine workers, the journal, Kafka)
 * register as *gating*: they publish a cursor (the next sequence they will
 * consume) and the writer never writes sequence s while a live gating
 * reader's cursor is <= s - nslots.  The writer keeps a cached limit and
 * rescans the cursors only when it reaches the limit or a reader joins, so
 * in steady state writing costs no cross-core read at all.  When a gating
 * reader holds the writer back, the writer checks whether its process is
 * gone (its ownership lock is free: see tk_reader_alive) and releases it,
 * counted and logged; an alive but stalled reader is either waited for (policy HOLD,
 * the wait counted) or released after its stall time (policy RELEASE).
 * A released reader is told exactly which sequences it missed: it sees the
 * overwritten slots, jumps to the oldest sequence still in the ring and
 * reports the gap [from, to).
 *
 * Non-gating readers (the API fan-out, tail, third parties) never slow the
 * writer.  They copy a slot and re-check its sequence word afterwards
 * (seqlock style); a slot overwritten during the copy is discarded and
 * reported as a gap.  Gating readers use the same check, which costs one
 * L1 load, so a reader racing with its own release is still never fooled.
 *
 * The writer publishes every slot with a release store of its sequence
 * word, then the last published sequence in the producer line (for stats
 * and restarts), then bumps an event count so that readers sleeping in the
 * BLOCK idle strategy wake up (ck_ec: no syscall unless someone sleeps); a
 * writer with defer_wake bumps it once for a burst of publishes instead
 * (tk_log_wake).
 */
#ifndef TK_SHM_LOG_H
#define TK_SHM_LOG_H

#include <ck_ec.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "shm/atomic.h"
#include "shm/segment.h"

#define TK_LOG_MAGIC 0x474f4c4b54ull /* "TKLOG" */
#define TK_LOG_VERSION 1u
#define TK_SLOT_WRITING (1ull << 63)
#define TK_LOG_READERS_OFFSET 4096u

/* Slot header; the payload follows, slot_size - 16 bytes of it. */
struct tk_slot {
	uint64_t seq;  /* s, s | TK_SLOT_WRITING, or 0 */
	uint32_t type; /* record type, TK_REC_* */
	uint32_t aux;  /* record-specific (symbol id for ticks) */
	uint8_t data[48];
};
_Static_assert(sizeof(struct tk_slot) == 64, "a slot is one cache line");
#define TK_SLOT_HEADER 16u

enum tk_reader_state {
	TK_READER_FREE = 0,
	TK_READER_ACTIVE = 1,
	TK_READER_RELEASED = 2, /* the writer no longer waits for it */
	TK_READER_CLOSED = 3,   /* closed cleanly; keeps its cursor for the next open */
};

#define TK_READER_F_GATING 0x1u
#define TK_READER_F_RELEASE_ON_STALL 0x2u /* else HOLD: the writer waits forever */

enum tk_release_reason {
	TK_RELEASE_NONE = 0,
	TK_RELEASE_DEAD = 1,  /* its process is gone */
	TK_RELEASE_STALL = 2, /* alive but stalled past its stall time */
};

/*
 * One reader's cursor slot: three cache lines so that what the reader writes
 * often, what it writes once, and what the writer writes never share a line.
 */
struct tk_reader_slot {
	/* Line A: the reader's hot fields. */
	uint64_t cursor;      /* next sequence to consume; store-release by the reader */
	int64_t heartbeat_ns; /* CLOCK_MONOTONIC_COARSE at the last commit or idle poll */
	uint64_t skipped;     /* sequences missed in total (lapped, or released) */
	uint64_t gaps;        /* gap events */
	uint64_t consumed;    /* sequences consumed */
	uint8_t pad_a[24];
	/* Line B: registration, written by the reader when it opens. */
	char name[TK_NAME_MAX];
	uint32_t flags;   /* TK_READER_F_* */
	int32_t pid;
	uint64_t pid_start; /* /proc/<pid>/stat starttime: tells a reused pid apart */
	int64_t stall_ns;   /* for TK_READER_F_RELEASE_ON_STALL */
	uint64_t pid_ns;    /* inode of its pid namespace: a pid means nothing across them */
	/* Line C: state; CAS by the reader to claim, store by the writer to release. */
	uint32_t state;          /* enum tk_reader_state */
	uint32_t release_reason; /* enum tk_release_reason of the last release */
	uint64_t releases;       /* times released */
	uint64_t released_at;    /* the writer's next sequence when it released this reader */
	uint8_t pad_c[40];
};
_Static_assert(sizeof(struct tk_reader_slot) == 192, "reader slot is three cache lines");

struct tk_log_region {
	/* Lines 0-1: immutable after creation. */
	uint64_t magic;
	uint32_t version;
	uint32_t nslots;
	uint32_t slot_size;
	uint32_t slot_shift;
	uint32_t nreaders;
	uint32_t reserved0;
	uint64_t slots_offset; /* from the start of this region */
	char name[TK_NAME_MAX];
	uint8_t pad0[128 - 72];
	/* Line 2: the writer's publish word. */
	uint64_t write_seq; /* last published sequence; store-release by the writer */
	uint8_t pad1[56];
	/* Line 3: writer ownership and cold-path counters, written by the writer only. */
	int32_t writer_pid;
	uint32_t blocked_by; /* reader index + 1 currently holding the writer, or 0 */
	uint64_t writer_start;
	uint64_t writer_waits;   /* times the writer found the ring full */
	uint64_t writer_wait_ns; /* total time spent waiting for gating readers */
	uint64_t releases_dead;
	uint64_t releases_stall;
	uint64_t writer_restarts;
	uint64_t recovered_slots; /* complete slots found past write_seq at a restart */
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct tk_log_region) == 256, "log header layout is ABI");

/* Head of the reader table, on the pages readers may write. */
struct tk_reader_table {
	uint32_t epoch; /* bumped by a reader when it joins, so the writer rescans */
	uint8_t pad0[60];
	/* Event count for sleeping readers: the writer bumps it, a reader about
	 * to sleep sets its flag bit, so it lives where readers may write. */
	struct ck_ec32 ec;
	uint8_t pad1[60];
};
#define TK_READER_TABLE_HEADER 128u
_Static_assert(sizeof(struct tk_reader_table) == TK_READER_TABLE_HEADER, "reader table head");
_Static_assert(__builtin_offsetof(struct tk_log_region, write_seq) == 128, "producer line");

static inline struct tk_reader_table *tk_log_reader_table(struct tk_log_region *log)
{
	return (struct tk_reader_table *)((uint8_t *)log + TK_LOG_READERS_OFFSET);
}

static inline struct tk_reader_slot *tk_log_readers(struct tk_log_region *log)
{
	return (struct tk_reader_slot *)((uint8_t *)log + TK_LOG_READERS_OFFSET +
					 TK_READER_TABLE_HEADER);
}

static inline uint8_t *tk_log_slots(struct tk_log_region *log)
{
	return (uint8_t *)log + log->slots_offset;
}

/* Initialise a log region (creator only). */
void tk_log_init(struct tk_log_region *log, const struct tk_log_spec *spec);

/* Check a log region found in a segment. 0 or -EBADF with a message. */
int tk_log_validate(const struct tk_log_region *log, uint64_t region_size);

/* Find a log by name in a segment.  NULL if there is none. */
struct tk_log_region *tk_log_find(const struct tk_segment *seg, const char *name);

extern const struct ck_ec_mode tk_ec_sp; /* single producer event count, futex-backed */

/* ---------------------------------------------------------------- writer */

struct tk_log_writer {
	struct tk_log_region *log;
	uint8_t *slots;
	uint64_t mask;
	uint32_t shift;
	uint32_t nslots;
	uint64_t next;  /* next sequence to write */
	uint64_t limit; /* first sequence that needs a gate recheck */
	uint32_t epoch; /* reader_epoch at the last rescan */
	uint32_t claimed;
	uint64_t premarked; /* sequence whose slot the last publish already marked WRITING */
	/* Stall tracking (cold path). */
	int64_t wait_start;    /* when the writer found the ring full, 0 if it is not */
	int64_t blocked_since; /* when the current blocker last made progress */
	int64_t last_liveness_check;
	int32_t blocked_idx;
	/* Set by a writer that publishes bursts (a feed handling every frame
	 * of one socket read): a publish then only notes that blocked readers
	 * are owed a wake-up, and tk_log_wake gives it, once for the burst. */
	uint8_t defer_wake;
	uint8_t wake_pending;
	uint16_t pad;
	uint64_t blocked_cursor;
};

/*
 * Become the log's single writer.  Fails with -EBUSY if another live
 * process is its writer.  Recovers the sequence after a crash: continues
 * after the last *complete* slot, and counts the restart.
 */
int tk_log_writer_open(struct tk_log_writer *w, struct tk_log_region *log);

/* Give up the writer role (the log keeps its data). */
void tk_log_writer_close(struct tk_log_writer *w);

/* Slow path of tk_log_claim: rescan gating cursors, release the dead.
 * Returns how many sequences may be written from w->next on. */
uint64_t tk__log_refresh_gate(struct tk_log_writer *w);

static inline struct tk_slot *tk__log_slot(uint8_t *slots, uint64_t seq, uint64_t mask,
					   uint32_t shift)
{
	return (struct tk_slot *)(slots + ((seq & mask) << shift));
}

/*
 * Claim up to `want` consecutive slots (fewer at the ring's end or when
 * gating readers hold the writer).  Returns the first slot and sets *got;
 * NULL with *got = 0 when no slot is free (TK_LOG_FULL: the caller idles
 * and retries, see tk_log_claim_wait).  The slots are marked WRITING
 * before the caller touches the payload.  Hot path: no syscall, no
 * allocation; the gating rescan runs only when the cached limit is reached
 * or a reader joined.  Slots are at stride slot_size.
 */
static inline struct tk_slot *tk_log_claim(struct tk_log_writer *w, uint32_t want, uint32_t *got)
{
	uint64_t s = w->next;
	uint64_t room = w->limit - s;
	uint32_t n, i;

	/* Relaxed: the epoch is only a hint to rescan (the rescan acquires it);
	 * read-mostly, so an L1 hit unless a reader just joined. */
	if (__builtin_expect(room < want || tk_load_relaxed_32(&tk_log_reader_table(w->log)->epoch) != w->epoch, 0)) {
		room = tk__log_refresh_gate(w);
		if (room == 0) {
			*got = 0;
			return NULL;
		}
	}
	n = want;
	if (room < n)
		n = (uint32_t)room;
	if (w->nslots - (uint32_t)(s & w->mask) < n)
		n = w->nslots - (uint32_t)(s & w->mask);
	/* The first slot is usually marked already (see tk_log_publish).
	 * Relaxed stores: ordered before the payload by the fence below. */
	for (i = w->premarked == s ? 1 : 0; i < n; i++)
		tk_store_relaxed_64(&tk__log_slot(w->slots, s + i, w->mask, w->shift)->seq,
				    (s + i) | TK_SLOT_WRITING);
	/* The WRITING marks reach memory before any payload store; pairs with
	 * the fence_load a copying reader issues before re-checking the word. */
	tk_fence_store();
	w->claimed = n;
	*got = n;
	return tk__log_slot(w->slots, s, w->mask, w->shift);
}

/*
 * Publish the first n (<= claimed) slots of the last claim.
 */
static inline void tk_log_publish(struct tk_log_writer *w, uint32_t n)
{
	uint64_t s = w->next;
	uint32_t i;

	/* Release: the payload stores before each sequence word; pairs with
	 * the reader's acquire load of the sequence word in tk_log_read. */
	for (i = 0; i < n; i++)
		tk_store_release_64(&tk__log_slot(w->slots, s + i, w->mask, w->shift)->seq, s + i);
	w->next = s + n;
	w->claimed = 0;
	/* Mark the next slot WRITING now, off the critical path, if no gating
	 * reader still needs what it holds.  The next write then touches its
	 * line in one burst (payload, then sequence) after a single ownership
	 * transfer, instead of marking it first and being interrupted by the
	 * polling reader between the mark and the payload: this halves the
	 * cache-line traffic of a hop. */
	if (w->next < w->limit &&
	    tk_load_relaxed_32(&tk_log_reader_table(w->log)->epoch) == w->epoch) {
		/* (No reader joined since the limit was computed: it still holds.)
		 * Relaxed: after the release stores above in program order (TSO);
		 * a reader seeing it only learns "not yet / lapped". */
		tk_store_relaxed_64(&tk__log_slot(w->slots, w->next, w->mask, w->shift)->seq,
				    w->next | TK_SLOT_WRITING);
		w->premarked = w->next;
	}
	/* Release: pairs with tk_log_write_seq's acquire.  For stats, laps and
	 * restarts only; readers find data by the slot words. */
	tk_store_release_64(&w->log->write_seq, s + n - 1);
	/* Wakes BLOCK readers; a plain `inc` unless one of them set the flag. */
	if (w->defer_wake)
		w->wake_pending = 1;
	else
		ck_ec32_inc(&tk_log_reader_table(w->log)->ec, &tk_ec_sp);
}

/*
 * A writer with defer_wake: wake the BLOCK readers for what it published
 * since the last call.  Call it before waiting for anything (input, room
 * in the log): a reader asleep is not woken before.
 */
static inline void tk_log_wake(struct tk_log_writer *w)
{
	if (w->wake_pending) {
		w->wake_pending = 0;
		ck_ec32_inc(&tk_log_reader_table(w->log)->ec, &tk_ec_sp);
	}
}

/* Result codes of the hot path: distinct, FULL is not an error. */
enum tk_log_result {
	TK_LOG_OK = 0,
	TK_LOG_FULL = 1,   /* writer: gating readers hold every slot */
	TK_LOG_EMPTY = 2,  /* reader: nothing new */
	TK_LOG_LAPPED = 3, /* reader: sequences were missed, see gap_from/gap_to */
};

/* Write one record (len <= slot_size - 16).  TK_LOG_OK or TK_LOG_FULL. */
static inline int tk_log_write(struct tk_log_writer *w, uint32_t type, uint32_t aux,
			       const void *data, uint32_t len)
{
	uint32_t got;
	struct tk_slot *slot = tk_log_claim(w, 1, &got);

	if (slot == NULL)
		return TK_LOG_FULL;
	slot->type = type;
	slot->aux = aux;
	memcpy(slot->data, data, len);
	tk_log_publish(w, 1);
	return TK_LOG_OK;
}

/* ---------------------------------------------------------------- reader */

/*
 * A non-gating reader's copy races with the writer by design (seqlock: the
 * re-check discards a torn copy).  Under TSan it is a separate, never
 * inlined function so tests/tsan.supp can name exactly this race and no
 * other; elsewhere it is memcpy.
 */
#ifdef TK_ATOMIC_BUILTINS
__attribute__((noinline)) void tk__slot_copy_racy(void *out, const void *slot, uint32_t size);
#else
#define tk__slot_copy_racy(out, slot, size) memcpy((out), (slot), (size))
#endif

struct tk_reader_opts {
	const char *name; /* registration name; NULL: anonymous (no cursor slot, non-gating) */
	bool gating;
	bool release_on_stall; /* with gating: RELEASE policy instead of HOLD */
	int64_t stall_ns;      /* with release_on_stall; default 5 s */
	enum {
		TK_START_RESUME = 0, /* committed cursor if this name had one, else the end */
		TK_START_END,        /* only what is written from now on */
		TK_START_OLDEST,     /* the oldest sequence still in the ring */
		TK_START_SEQ,        /* start_seq (clamped to what is still there: reported as a gap) */
		TK_START_RESUME_OLDEST, /* committed cursor if any, else the oldest still there */
	} start;
	uint64_t start_seq;
};

struct tk_log_reader {
	struct tk_log_region *log;
	uint8_t *slots;
	uint64_t mask;
	uint32_t shift;
	uint32_t slot_size;
	struct tk_reader_slot *slot; /* NULL when anonymous */
	int32_t idx;
	bool gating;
	bool resumed; /* the open found a committed cursor under this name */
	uint64_t next;       /* next sequence to read */
	uint64_t gap_from;   /* last gap: [gap_from, gap_to) were missed */
	uint64_t gap_to;
	uint64_t skipped;    /* total sequences missed */
	uint64_t gaps;
	uint64_t consumed;
	uint64_t commits;
};

/* Refresh the heartbeat (idle loops and every 256 commits). */
void tk_log_reader_heartbeat(struct tk_log_reader *r);

/*
 * Open a reader on a log.  A named reader takes the cursor slot of that
 * name if its previous owner is gone (resuming at its committed cursor),
 * or a free slot.  Errors: -ENOENT (no such log), -EBUSY (the name is held by a live process),
 * -ENOSPC (no free cursor slot), -EROFS (gating or named on a read-only
 * attach).
 */
int tk_log_reader_open(struct tk_log_reader *r, const struct tk_segment *seg,
		       const char *log_name, const struct tk_reader_opts *opts);

/* Commit the cursor (everything before r->next is consumed) and close the slot. */
void tk_log_reader_close(struct tk_log_reader *r);

/* Slow path of tk_log_read: work out the gap after a lap and move r->next. */
int tk__log_lapped(struct tk_log_reader *r, uint64_t seen);

/*
 * Copy the next record into out (slot_size bytes) if there is one.
 * TK_LOG_OK: out holds sequence out->seq == the old r->next.
 * TK_LOG_EMPTY: nothing yet.  TK_LOG_LAPPED: sequences [gap_from, gap_to)
 * are gone and r->next moved to gap_to; call again.  Hot path.
 */
static inline int tk_log_read(struct tk_log_reader *r, struct tk_slot *out)
{
	uint64_t s = r->next;
	struct tk_slot *slot = tk__log_slot(r->slots, s, r->mask, r->shift);
	/* Acquire: pairs with the fence_store before the writer's sequence store. */
	uint64_t v = tk_load_acquire_64(&slot->seq);

	if (v != s) {
		if ((v & ~TK_SLOT_WRITING) > s)
			return tk__log_lapped(r, v & ~TK_SLOT_WRITING);
		return TK_LOG_EMPTY;
	}
	if (r->gating)
		memcpy(out, slot, r->slot_size);
	else
		tk__slot_copy_racy(out, slot, r->slot_size);
	/* The copy is done before the re-check; pairs with the writer's
	 * fence_store after it marks the slot WRITING. */
	tk_fence_load();
	v = tk_load_relaxed_64(&slot->seq); /* ordered after the copy by the fence */
	if (__builtin_expect(v != s, 0))
		return tk__log_lapped(r, v & ~TK_SLOT_WRITING);
	r->next = s + 1;
	r->consumed++;
	return TK_LOG_OK;
}

/*
 * Copy the record of sequence s into out (slot_size bytes) if the ring
 * still holds it: 1, or 0 (overwritten, or not written yet).  Does not
 * move r->next: random access for readers that keep their own index
 * (the API).  r is only read, so any number of threads may share it.
 */
static inline int tk_log_read_at(const struct tk_log_reader *r, uint64_t s, struct tk_slot *out)
{
	struct tk_slot *slot = tk__log_slot(r->slots, s, r->mask, r->shift);

	/* Acquire, then copy, fence, re-check: as tk_log_read. */
	if (s == 0 || tk_load_acquire_64(&slot->seq) != s)
		return 0;
	tk__slot_copy_racy(out, slot, r->slot_size);
	tk_fence_load();
	return tk_load_relaxed_64(&slot->seq) == s;
}

/* Read up to max records into out[] (contiguous, slot_size stride).
 * Returns how many; stops early at EMPTY or LAPPED (*status says which). */
static inline uint32_t tk_log_read_batch(struct tk_log_reader *r, void *out, uint32_t max,
					 int *status)
{
	uint32_t n = 0;
	int rc = TK_LOG_OK;

	while (n < max) {
		rc = tk_log_read(r, (struct tk_slot *)((uint8_t *)out + ((size_t)n << r->shift)));
		if (rc != TK_LOG_OK)
			break;
		n++;
	}
	*status = rc;
	return n;
}

/* Cold part of commit: a released reader rejoins the gate. */
void tk__log_reader_rejoin(struct tk_log_reader *r);

/*
 * Commit the cursor: everything before `next` (<= r->next: a reader that
 * read ahead commits only what it has used) is consumed and may be
 * overwritten.  A gating reader that the writer released rejoins here.
 * Cheap: a store to the reader's own line and a load of its state line.
 */
static inline void tk_log_reader_commit_at(struct tk_log_reader *r, uint64_t next)
{
	struct tk_reader_slot *slot = r->slot;

	if (slot == NULL)
		return;
	/* Release: the reader's loads of every slot before `next` are done
	 * before the writer, acquiring the cursor, may overwrite them. */
	tk_store_release_64(&slot->cursor, next);
	tk_store_relaxed_64(&slot->consumed, r->consumed); /* stats counter */
	/* A busy reader never idles: refresh its heartbeat every 256 commits
	 * (a vDSO read of the coarse clock, no syscall). */
	if (__builtin_expect((++r->commits & 255) == 0, 0))
		tk_log_reader_heartbeat(r);
	/* Relaxed: a hint; rejoin re-reads it with acquire. */
	if (r->gating && __builtin_expect(tk_load_relaxed_32(&slot->state) != TK_READER_ACTIVE, 0))
		tk__log_reader_rejoin(r);
}

/* Commit everything read so far. */
static inline void tk_log_reader_commit(struct tk_log_reader *r)
{
	tk_log_reader_commit_at(r, r->next);
}


/* Last published sequence of the log (0 if none). */
static inline uint64_t tk_log_write_seq(const struct tk_log_region *log)
{
	/* Acquire: pairs with the writer's release; slots up to it are complete
	 * unless since overwritten. */
	return tk_load_acquire_64(&log->write_seq);
}

/* Oldest sequence that may still be in the ring (1 if nothing has wrapped). */
static inline uint64_t tk_log_oldest(const struct tk_log_region *log)
{
	uint64_t w = tk_log_write_seq(log);

	return w >= log->nslots ? w - log->nslots + 1 : 1;
}

/*
 * Liveness.  Each writer role and each reader slot is owned through an
 * open-file-description lock (fcntl F_OFD_SETLK) on one byte of the
 * segment file (the offset of writer_pid, of the slot's state word).  The
 * kernel drops it when its owner's process dies, however it dies, so a
 * live owner is never judged dead and a dead one never judged alive: not
 * under hidepid=2 or ProtectProc=invisible (no /proc involved), not for
 * another user's process, not across pid namespaces (containers sharing
 * the file).  The pid fields are for display only.  Cold paths: one fcntl.
 */
bool tk_reader_alive(const struct tk_reader_slot *rs);
bool tk_log_writer_alive(const struct tk_log_region *log);

/* A mapping goes away (tk_segment_detach): closing its descriptor drops
 * every lock held through it, so this process holds nothing in it either. */
void tk_log_forget_mapping(const void *base, size_t size);

/* Inode of this process's pid namespace (0 if unknown). */
uint64_t tk_pid_ns(void);

/* /proc/<pid>/stat starttime, 0 if unknown. */
uint64_t tk_pid_start(int32_t pid);

#endif

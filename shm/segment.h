/*
 * The shared-memory segment: one file (POSIX shm under /dev/shm by default,
 * or a file on hugetlbfs) holding every log, the symbol table, the live
 * per-symbol state and the control ring.
 *
 * DESIGN.  The segment starts with a versioned header: magic, ABI version,
 * total size, who made it and when, the configuration it was made with, and
 * a table of regions (kind, name, offset, size).  Each region starts with its
 * own magic and version.  The creator fills everything, then stores
 * `ready` with release; an attacher loads `ready` with acquire before trusting
 * anything else, so it never sees a half-built segment.  The immutable part
 * of the header carries a checksum so a corrupted or foreign file is refused
 * with a clear message instead of being followed into garbage.
 *
 * Regions are page-aligned so that a read-only attacher can map the segment
 * PROT_READ and make writable only the pages it is allowed to write: the
 * reader-cursor tables of the logs and the control ring (DESIGN.md invariant
 * 10).
 */
#ifndef TK_SHM_SEGMENT_H
#define TK_SHM_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TK_SEG_MAGIC "TICKDSEG"
#define TK_SEG_ABI_VERSION 3u
#define TK_SEG_SHM_DIR "/dev/shm" /* where a bare segment name lives, as for shm_open(3) */
#define TK_SEG_DEFAULT_PATH TK_SEG_SHM_DIR "/tickd"
#define TK_SEG_MAX_LOGS 32
#define TK_SEG_MAX_REGIONS 38 /* logs + symbols, state, control, history, feeds, metrics */
#define TK_NAME_MAX 32 /* names of logs, readers and symbols: 31 bytes + NUL */

enum tk_region_kind {
	TK_REGION_LOG = 1,
	TK_REGION_SYMTAB = 2,
	TK_REGION_STATE = 3,
	TK_REGION_CONTROL = 4,
	TK_REGION_HISTORY = 5,
	TK_REGION_FEEDS = 6,
	TK_REGION_METRICS = 7, /* the roles' metrics slots (shm/metrics.h) */
};

struct tk_log_spec {
	char name[TK_NAME_MAX];
	uint32_t nslots;    /* power of two */
	uint32_t slot_size; /* power of two, >= 64 */
	uint32_t nreaders;  /* reader-cursor slots */
	uint32_t reserved;
};

#define TK_SEG_HISTORY_TF 8

/* The bar history: rings of the last depth[i] closed bars of timeframe
 * tf_ns[i] for symbol ids below `symbols` (0: no history region). */
struct tk_seg_history {
	uint32_t symbols;
	uint32_t ntf;
	int64_t tf_ns[TK_SEG_HISTORY_TF];
	uint32_t depth[TK_SEG_HISTORY_TF];
};

/* What a segment is made with; stored verbatim in the header. */
struct tk_seg_config {
	uint32_t nlogs;
	uint32_t symbol_capacity;
	uint32_t state_record_size; /* multiple of 64, includes the seqlock line */
	uint32_t control_slots;     /* power of two */
	uint32_t mode;              /* file permissions, 0600 by default */
	int32_t gid;                /* -1: creator's group */
	uint32_t flags;             /* TK_SEG_F_* */
	uint32_t reserved;
	struct tk_log_spec logs[TK_SEG_MAX_LOGS];
	struct tk_seg_history history;
};

#define TK_SEG_F_MLOCK 0x1u     /* lock the mapping in RAM */
#define TK_SEG_F_HUGEPAGES 0x2u /* madvise(MADV_HUGEPAGE) on tmpfs; implied on hugetlbfs */

struct tk_region {
	char name[TK_NAME_MAX];
	uint32_t kind;
	uint32_t reserved;
	uint64_t offset;
	uint64_t size;
};

struct tk_seg_header {
	char magic[8];
	uint32_t abi_version;
	uint32_t header_size;
	uint64_t total_size;
	int64_t created_ns; /* epoch ns */
	int32_t creator_pid;
	uint32_t nregions;
	uint64_t checksum; /* FNV-1a 64 of everything above `ready` except this field */
	struct tk_seg_config config;
	struct tk_region regions[TK_SEG_MAX_REGIONS];
	/* Mutable below.  `ready` is stored last by the creator (release). */
	uint32_t ready;
	uint32_t reserved;
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct tk_log_spec) == 48, "tk_log_spec layout is ABI");
_Static_assert(sizeof(struct tk_region) == 56, "tk_region layout is ABI");
_Static_assert(sizeof(struct tk_seg_header) <= 4096, "header fits in one page");

struct tk_segment {
	int fd;
	uint8_t *base;
	size_t size;
	bool writable;         /* whole segment mapped read-write (writer roles) */
	bool readers_writable; /* cursor tables and control ring writable */
	struct tk_seg_header *hdr;
	char path[256];
};

/* Defaults for one tick log per feed and a small symbol table. */
void tk_seg_config_default(struct tk_seg_config *cfg);

/* Append a log to cfg.  Returns 0 or -EINVAL / -ENOSPC with a message. */
int tk_seg_config_add_log(struct tk_seg_config *cfg, const char *name, uint32_t nslots,
			  uint32_t slot_size, uint32_t nreaders);

/* Check a configuration: powers of two, bounds, unique names. 0 or -EINVAL. */
int tk_seg_config_validate(const struct tk_seg_config *cfg);

/* The place of timeframe tf_ns among the timeframes of cfg's bar logs
 * (bars.<tf>, or bars.<tf>.<shard> of several shards), in the order cfg
 * lists them, each once: 0, 1, ...; -1 if no bar log has it.  The engine
 * names its live record's open bars by it (struct tk_live's tf_map). */
int tk_seg_tf_index(const struct tk_seg_config *cfg, int64_t tf_ns);

/*
 * Create a segment at path from cfg and map it read-write into seg.  path
 * is resolved by tk_segment_resolve_path (seg->path is the result).
 * Fails with -EEXIST if path exists (unless `replace`, which unlinks it
 * first).  The file is created with cfg->mode and, if cfg->gid >= 0, that
 * group.  Its whole size is reserved (fallocate) so that a full tmpfs fails
 * here, -ENOSPC with the free space and the size needed in the message,
 * instead of killing a writer with SIGBUS later; the memory counts as used
 * from now on.  Warns (once, here) if the file system is not tmpfs,
 * hugetlbfs or ramfs.  On error nothing is left behind and seg is untouched.
 */
int tk_segment_create(struct tk_segment *seg, const char *path, const struct tk_seg_config *cfg,
		      bool replace);

/* Attach modes. */
enum tk_attach_mode {
	TK_ATTACH_WRITER, /* everything read-write: feed, engine, supervisor */
	TK_ATTACH_READER, /* read-only but for cursor tables and the control ring; falls back
			     to fully read-only if the file is not writable by us */
};

/*
 * Attach to an existing segment (path resolved by tk_segment_resolve_path;
 * seg->path is the result) and validate it: magic, ABI version, size
 * against the file, checksum, region bounds and each region's own magic.
 * Errors (with a message in tk_err_msg()): -ENOENT, -EACCES, -EPROTO (not a
 * tickd segment, or wrong version), -EBADF (truncated or corrupt), -EAGAIN
 * (creator has not finished).
 */
int tk_segment_attach(struct tk_segment *seg, const char *path, enum tk_attach_mode mode);

/* Unmap and close.  The file stays. */
void tk_segment_detach(struct tk_segment *seg);

/* Remove the segment file (path resolved as for attach).  0, or -errno. */
int tk_segment_unlink(const char *path);

/* Region lookup: pointer to its start, or NULL. */
void *tk_segment_region(const struct tk_segment *seg, enum tk_region_kind kind, const char *name,
			uint64_t *size_out);

/* Region size needed for a log of this spec, and for the other regions. */
uint64_t tk_log_region_size(const struct tk_log_spec *spec);

/* The descriptor of the attached segment that maps p, and p's offset in
 * the file; -1 if p is in no segment this process attached. */
int tk_segment_fd_of(const void *p, uint64_t *offset);

/* The checksum of a header, as stored in `checksum`. */
uint64_t tk_seg_header_checksum(const struct tk_seg_header *hdr);

/*
 * The one rule for naming a segment, used by every command and by libtickd:
 * path NULL or "" means $TICKD_SHM_PATH, else TK_SEG_DEFAULT_PATH; a name
 * without a '/' (`--shm-path tickd2`) means TK_SEG_SHM_DIR/NAME, as for
 * shm_open(3), not a file in the current directory; anything else is used
 * as it is.  Writes the result to out.  0, or -ENAMETOOLONG.
 */
int tk_segment_resolve_path(const char *path, char *out, size_t cap);

/* tk_segment_resolve_path(NULL): the resolved path the environment names
 * (TICKD_SHM_PATH) or the default.  Valid until the calling thread's next
 * call. */
const char *tk_segment_default_path(void);

#endif

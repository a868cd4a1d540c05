#include "shm/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"
#include "shm/ctlring.h"
#include "shm/feeds.h"
#include "shm/metrics.h"
#include "shm/render.h" /* tk_tf_parse */
#include "shm/history.h"
#include "shm/log.h"
#include "shm/state.h"
#include "shm/symtab.h"

#define TK_PAGE 4096ull
#define TK_ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

/*
 * The mappings of this process, so that shm/ code holding only a pointer
 * into a segment (a log, a reader slot) can find the file descriptor it
 * takes its ownership locks on (shm/log.c).
 */
#define TK_SEG_MAX_MAPPINGS 64
static struct {
	const uint8_t *base;
	size_t size;
	int fd;
} tk__maps[TK_SEG_MAX_MAPPINGS];
static pthread_mutex_t tk__maps_lock = PTHREAD_MUTEX_INITIALIZER;

static void tk__map_register(const struct tk_segment *seg)
{
	int i;

	pthread_mutex_lock(&tk__maps_lock);
	for (i = 0; i < TK_SEG_MAX_MAPPINGS; i++)
		if (tk__maps[i].base == NULL) {
			tk__maps[i].base = seg->base;
			tk__maps[i].size = seg->size;
			tk__maps[i].fd = seg->fd;
			break;
		}
	pthread_mutex_unlock(&tk__maps_lock);
}

static void tk__map_unregister(const struct tk_segment *seg)
{
	int i;

	pthread_mutex_lock(&tk__maps_lock);
	for (i = 0; i < TK_SEG_MAX_MAPPINGS; i++)
		if (tk__maps[i].base == seg->base)
			tk__maps[i].base = NULL;
	pthread_mutex_unlock(&tk__maps_lock);
}

int tk_segment_fd_of(const void *p, uint64_t *offset)
{
	const uint8_t *q = p;
	int i, fd = -1;

	pthread_mutex_lock(&tk__maps_lock);
	for (i = 0; i < TK_SEG_MAX_MAPPINGS; i++)
		if (tk__maps[i].base != NULL && q >= tk__maps[i].base &&
		    q < tk__maps[i].base + tk__maps[i].size) {
			fd = tk__maps[i].fd;
			*offset = (uint64_t)(q - tk__maps[i].base);
			break;
		}
	pthread_mutex_unlock(&tk__maps_lock);
	return fd;
}

static bool tk__pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

void tk_seg_config_default(struct tk_seg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->symbol_capacity = 16384;
	cfg->state_record_size = 256;
	cfg->control_slots = 256;
	cfg->mode = 0600;
	cfg->gid = -1;
}

int tk_seg_config_add_log(struct tk_seg_config *cfg, const char *name, uint32_t nslots,
			  uint32_t slot_size, uint32_t nreaders)
{
	struct tk_log_spec *spec;

	if (cfg->nlogs >= TK_SEG_MAX_LOGS)
		return tk_err_set(ENOSPC, "too many logs (at most %d)", TK_SEG_MAX_LOGS);
	if (strlen(name) == 0 || strlen(name) >= TK_NAME_MAX)
		return tk_err_set(EINVAL, "log name '%s' must be 1 to %d bytes", name,
				  TK_NAME_MAX - 1);
	spec = &cfg->logs[cfg->nlogs++];
	memset(spec, 0, sizeof(*spec));
	snprintf(spec->name, sizeof(spec->name), "%s", name);
	spec->nslots = nslots;
	spec->slot_size = slot_size;
	spec->nreaders = nreaders;
	return 0;
}

int tk_seg_tf_index(const struct tk_seg_config *cfg, int64_t tf_ns)
{
	int64_t seen[TK_SEG_MAX_LOGS];
	int n = 0;

	for (uint32_t i = 0; i < cfg->nlogs; i++) {
		const char *name = cfg->logs[i].name, *end;
		int64_t tf;
		int k;

		if (strncmp(name, "bars.", 5) != 0)
			continue;
		end = strchr(name + 5, '.');
		if (tk_tf_parse(name + 5, end != NULL ? (size_t)(end - name - 5) : strlen(name + 5), &tf) < 0)
			continue;
		for (k = 0; k < n && seen[k] != tf; k++)
			;
		if (k < n)
			continue;
		if (tf == tf_ns)
			return n;
		seen[n++] = tf;
	}
	return -1;
}

int tk_seg_config_validate(const struct tk_seg_config *cfg)
{
	uint32_t i, j;

	if (cfg->nlogs > TK_SEG_MAX_LOGS)
		return tk_err_set(EINVAL, "too many logs: %u (at most %d)", cfg->nlogs,
				  TK_SEG_MAX_LOGS);
	for (i = 0; i < cfg->nlogs; i++) {
		const struct tk_log_spec *l = &cfg->logs[i];

		if (!tk__pow2(l->nslots) || l->nslots < 64 || l->nslots > (1u << 30))
			return tk_err_set(EINVAL, "log '%s': slots must be a power of two in "
					  "[64, 2^30], got %u", l->name, l->nslots);
		if (!tk__pow2(l->slot_size) || l->slot_size < 64 || l->slot_size > 4096)
			return tk_err_set(EINVAL, "log '%s': slot size must be a power of two in "
					  "[64, 4096], got %u", l->name, l->slot_size);
		if (l->nreaders == 0 || l->nreaders > 256)
			return tk_err_set(EINVAL, "log '%s': reader slots must be in [1, 256], got %u",
					  l->name, l->nreaders);
		for (j = 0; j < i; j++)
			if (strcmp(cfg->logs[j].name, l->name) == 0)
				return tk_err_set(EINVAL, "log name '%s' is used twice", l->name);
	}
	if (cfg->symbol_capacity == 0 || cfg->symbol_capacity > (1u << 24))
		return tk_err_set(EINVAL, "symbol capacity must be in [1, 2^24], got %u",
				  cfg->symbol_capacity);
	if (cfg->state_record_size < 128 || cfg->state_record_size % 64 != 0 ||
	    cfg->state_record_size > (1u << 24))
		return tk_err_set(EINVAL, "state record size must be a multiple of 64 in "
				  "[128, 2^24], got %u", cfg->state_record_size);
	if (!tk__pow2(cfg->control_slots) || cfg->control_slots < 2 || cfg->control_slots > 65536)
		return tk_err_set(EINVAL, "control slots must be a power of two in [2, 65536], "
				  "got %u", cfg->control_slots);
	if (cfg->history.ntf > TK_SEG_HISTORY_TF ||
	    (cfg->history.symbols > 0 && cfg->history.ntf == 0) || cfg->history.symbols > (1u << 20))
		return tk_err_set(EINVAL, "history: %u timeframes for %u symbols is not a history",
				  cfg->history.ntf, cfg->history.symbols);
	for (i = 0; i < cfg->history.ntf; i++)
		if (cfg->history.depth[i] < 2 || cfg->history.depth[i] > (1u << 20) ||
		    cfg->history.tf_ns[i] <= 0)
			return tk_err_set(EINVAL, "history depth must be in [2, 2^20] bars, got %u",
					  cfg->history.depth[i]);
	if (cfg->mode & ~0777u)
		return tk_err_set(EINVAL, "segment mode %o is not a permission mask", cfg->mode);
	return 0;
}

uint64_t tk_seg_header_checksum(const struct tk_seg_header *hdr)
{
	const uint8_t *p = (const uint8_t *)hdr;
	size_t end = offsetof(struct tk_seg_header, ready);
	size_t skip_from = offsetof(struct tk_seg_header, checksum);
	size_t skip_to = skip_from + sizeof(hdr->checksum);
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < end; i++) {
		if (i >= skip_from && i < skip_to)
			continue;
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

int tk_segment_resolve_path(const char *path, char *out, size_t cap)
{
	const char *env = getenv("TICKD_SHM_PATH");
	int n;

	if (path == NULL || path[0] == '\0')
		path = env != NULL && env[0] != '\0' ? env : TK_SEG_DEFAULT_PATH;
	/* A bare name is a POSIX shared-memory name, as for shm_open(3): taken
	 * as a relative path it would put a segment of hundreds of MB on
	 * whatever disk the current directory is on. */
	n = strchr(path, '/') != NULL ? snprintf(out, cap, "%s", path)
				      : snprintf(out, cap, "%s/%s", TK_SEG_SHM_DIR, path);
	if (n < 0 || (size_t)n >= cap)
		return tk_err_set(ENAMETOOLONG, "segment path too long: %s", path);
	return 0;
}

const char *tk_segment_default_path(void)
{
	/* Per thread: libtickd's callers may attach from several threads. */
	static _Thread_local char buf[sizeof(((struct tk_segment *)0)->path)];

	if (tk_segment_resolve_path(NULL, buf, sizeof(buf)) < 0)
		return TK_SEG_DEFAULT_PATH;
	return buf;
}

static void tk__add_region(struct tk_seg_header *hdr, uint64_t *off, enum tk_region_kind kind,
			   const char *name, uint64_t size)
{
	struct tk_region *r = &hdr->regions[hdr->nregions++];

	snprintf(r->name, sizeof(r->name), "%s", name);
	r->kind = kind;
	r->offset = *off;
	r->size = TK_ALIGN_UP(size, TK_PAGE);
	*off += r->size;
}

/* Lay the regions out in hdr; returns the total size. */
static uint64_t tk__layout(struct tk_seg_header *hdr, const struct tk_seg_config *cfg)
{
	uint64_t off = TK_PAGE;
	uint32_t i;

	hdr->nregions = 0;
	for (i = 0; i < cfg->nlogs; i++)
		tk__add_region(hdr, &off, TK_REGION_LOG, cfg->logs[i].name,
			       tk_log_region_size(&cfg->logs[i]));
	tk__add_region(hdr, &off, TK_REGION_SYMTAB, "symbols",
		       tk_symtab_region_size(cfg->symbol_capacity));
	tk__add_region(hdr, &off, TK_REGION_STATE, "state",
		       tk_state_region_size(cfg->symbol_capacity, cfg->state_record_size));
	tk__add_region(hdr, &off, TK_REGION_CONTROL, "control",
		       TK_CTL_RINGS * tk_ctl_region_size(cfg->control_slots));
	if (cfg->history.symbols > 0)
		tk__add_region(hdr, &off, TK_REGION_HISTORY, "history",
			       tk_history_region_size(&cfg->history));
	tk__add_region(hdr, &off, TK_REGION_FEEDS, "feeds", tk_feeds_region_size());
	tk__add_region(hdr, &off, TK_REGION_METRICS, "metrics", tk_metrics_region_size());
	return off;
}

static void tk__init_regions(struct tk_segment *seg, const struct tk_seg_config *cfg)
{
	struct tk_seg_header *hdr = seg->hdr;
	uint32_t i, nlog = 0;

	for (i = 0; i < hdr->nregions; i++) {
		struct tk_region *r = &hdr->regions[i];
		void *p = seg->base + r->offset;

		switch (r->kind) {
		case TK_REGION_LOG:
			tk_log_init(p, &cfg->logs[nlog++]);
			break;
		case TK_REGION_SYMTAB:
			tk_symtab_init(p, cfg->symbol_capacity);
			break;
		case TK_REGION_STATE:
			tk_state_init(p, cfg->symbol_capacity, cfg->state_record_size);
			break;
		case TK_REGION_CONTROL:
			tk_ctl_init_all(p, cfg->control_slots);
			break;
		case TK_REGION_HISTORY:
			tk_history_init(p, &cfg->history);
			break;
		case TK_REGION_FEEDS:
			tk_feeds_init(p);
			break;
		case TK_REGION_METRICS:
			tk_metrics_init(p);
			break;
		}
	}
}

/* hugetlbfs needs sizes in whole huge pages; tmpfs can be asked for THP. */
static uint64_t tk__fs_round(int fd, uint64_t size, bool *hugetlb)
{
	struct statfs sfs;

	*hugetlb = false;
	if (fstatfs(fd, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC) {
		*hugetlb = true;
		return TK_ALIGN_UP(size, (uint64_t)sfs.f_bsize);
	}
	return size;
}

/* A file system a segment may live on without the kernel writing it to disk. */
static bool tk__fs_in_memory(long type)
{
	return type == TMPFS_MAGIC || type == HUGETLBFS_MAGIC || type == RAMFS_MAGIC;
}

static const char *tk__fs_name(long type)
{
	switch ((unsigned long)type) {
	case EXT4_SUPER_MAGIC: return "ext2/3/4";
	case XFS_SUPER_MAGIC: return "xfs";
	case BTRFS_SUPER_MAGIC: return "btrfs";
	case OVERLAYFS_SUPER_MAGIC: return "overlay";
	case NFS_SUPER_MAGIC: return "nfs";
	case 0x65735546: return "fuse";
	case 0x2fc12fc1: return "zfs";
	default: return NULL;
	}
}

/*
 * Say so when the segment is on a disk file system: the data still moves
 * through the page cache, but the kernel writes dirty pages back to the
 * disk every few seconds (I/O the hot path waits on when a page is under
 * writeback, and a copy of every tick on disk), and the file survives
 * reboots as garbage.  Warned once, by the creator.
 */
static void tk__warn_fs(int fd, const char *path)
{
	struct statfs sfs;
	const char *name;

	if (fstatfs(fd, &sfs) != 0 || tk__fs_in_memory((long)sfs.f_type))
		return;
	name = tk__fs_name((long)sfs.f_type);
	if (name != NULL)
		tk_warn("segment %s is on %s, not tmpfs or hugetlbfs: the kernel "
			"writes its pages back to the disk (disk I/O, latency spikes when a page "
			"is under writeback); use a path under %s or on a hugetlbfs mount",
			path, name, TK_SEG_SHM_DIR);
	else
		tk_warn("segment %s is on a file system of type 0x%lx, not tmpfs or hugetlbfs: "
			"the kernel writes its pages back to the disk (disk I/O, latency spikes "
			"when a page is under writeback); use a path under %s or on a hugetlbfs "
			"mount", path, (unsigned long)sfs.f_type, TK_SEG_SHM_DIR);
}

#define TK_MIB(x) ((unsigned long long)(((x) + (1u << 20) - 1) >> 20))

/*
 * Give the segment its memory now.  On tmpfs ftruncate makes a sparse file:
 * the pages are taken as they are first touched, and when the mount is full
 * (Docker's 64 MiB /dev/shm) that touch is a SIGBUS in the middle of a run.
 * fallocate(2) takes them all here, so a segment that does not fit fails
 * `tickd init` with a message instead.  Not posix_fallocate(3): where the
 * file system lacks fallocate, glibc's fallback writes a byte into every
 * block, which hugetlbfs refuses (it has no write(2)); we choose the fallback
 * ourselves.  The cost: the whole segment counts as used memory from the
 * start (Shmem in /proc/meminfo, and the container's memory limit).
 */
static int tk__reserve(int fd, const char *path, uint64_t size, bool hugetlb)
{
	struct statvfs vfs;
	uint64_t avail = UINT64_MAX;
	char dir[256];
	const char *slash = strrchr(path, '/');
	int e;

	/* The directory, for the message: the path is resolved, so it has a '/'. */
	snprintf(dir, sizeof(dir), "%.*s", slash == NULL ? 0 : slash == path ? 1
		 : (int)(slash - path), path);
	if (fstatvfs(fd, &vfs) == 0 && vfs.f_blocks != 0)
		avail = (uint64_t)vfs.f_bavail * (vfs.f_frsize != 0 ? vfs.f_frsize : vfs.f_bsize);
	if (fallocate(fd, 0, 0, (off_t)size) == 0)
		return 0;
	e = errno;
	if (e == EOPNOTSUPP || e == ENOSYS) {
		/* hugetlbfs before Linux 4.3: mmap(MAP_SHARED) reserves the huge
		 * pages itself, so a pool too small fails the mmap, not a write. */
		if (hugetlb)
			return 0;
		if (avail < size)
			goto full;
		tk_warn("segment %s: cannot reserve its %llu MiB (fallocate: %s); the file is "
			"sparse, and should %s fill up a process writing to it dies of SIGBUS",
			path, TK_MIB(size), strerror(e), dir);
		return 0;
	}
	if (e != ENOSPC && e != ENOMEM && e != EFBIG && e != EDQUOT)
		return tk_err_set(e, "cannot reserve %llu MiB for segment %s: fallocate: %s",
				  TK_MIB(size), path, strerror(e));
	if (hugetlb)
		return tk_err_set(e, "%s (hugetlbfs) cannot give the segment its %llu MiB of huge "
				  "pages (%s): see HugePages_Free in /proc/meminfo and raise "
				  "vm.nr_hugepages, or use smaller --slots/--symbols/"
				  "--history-symbols", dir, TK_MIB(size), strerror(e));
full:
	if (avail != UINT64_MAX && avail < size)
		return tk_err_set(ENOSPC, "%s has %llu MiB free, the segment needs %llu MiB: use "
				  "smaller --slots/--symbols/--history-symbols, or a bigger %s "
				  "(docker run --shm-size=%llum, or mount -o remount,size=%llum %s)",
				  dir, (unsigned long long)(avail >> 20), TK_MIB(size), dir,
				  (TK_MIB(size) + 63) / 64 * 64, (TK_MIB(size) + 63) / 64 * 64, dir);
	return tk_err_set(e, "cannot reserve %llu MiB for the segment in %s (%s): free memory "
			  "or the memory limit of the container is too small; use smaller "
			  "--slots/--symbols/--history-symbols", TK_MIB(size), dir, strerror(e));
}

/* Is transparent huge page support for shared memory switched off? */
static bool tk__shmem_thp_off(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "r");

	if (f == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "[never]") != NULL || strstr(buf, "[deny]") != NULL;
}

static int tk__map_tuning(struct tk_segment *seg, const struct tk_seg_config *cfg, bool hugetlb)
{
	if ((cfg->flags & TK_SEG_F_HUGEPAGES) && !hugetlb && tk__shmem_thp_off())
		tk_warn("segment %s: huge pages asked for, but the kernel gives shared memory none "
			"(/sys/kernel/mm/transparent_hugepage/shmem_enabled is never or deny): "
			"set it to advise, or put the segment on hugetlbfs with --shm-path",
			seg->path);
	else if ((cfg->flags & TK_SEG_F_HUGEPAGES) && !hugetlb &&
		 madvise(seg->base, seg->size, MADV_HUGEPAGE) != 0)
		tk_warn("segment %s: huge pages asked for but madvise(MADV_HUGEPAGE) failed: %s "
			"(is /sys/kernel/mm/transparent_hugepage/shmem_enabled 'advise'? or use "
			"--shm-path on a hugetlbfs mount)",
			seg->path, strerror(errno));
	if ((cfg->flags & TK_SEG_F_MLOCK) && mlock(seg->base, seg->size) != 0)
		return tk_err_set(errno, "mlock of %zu bytes failed: %s (raise RLIMIT_MEMLOCK, "
				  "ulimit -l, or LimitMEMLOCK= in the unit)",
				  seg->size, strerror(errno));
	return 0;
}

int tk_segment_create(struct tk_segment *seg, const char *path, const struct tk_seg_config *cfg,
		      bool replace)
{
	struct tk_seg_header tmp;
	struct tk_segment s = { .fd = -1 };
	uint64_t size;
	bool hugetlb;
	int rc;

	rc = tk_seg_config_validate(cfg);
	if (rc < 0)
		return rc;
	rc = tk_segment_resolve_path(path, s.path, sizeof(s.path));
	if (rc < 0)
		return rc;
	path = s.path;
	memset(&tmp, 0, sizeof(tmp));
	size = tk__layout(&tmp, cfg);

	if (replace && unlink(path) != 0 && errno != ENOENT)
		return tk_err_set(errno, "cannot remove old segment %s: %s", path, strerror(errno));
	s.fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, cfg->mode);
	if (s.fd < 0)
		return tk_err_set(errno, "cannot create segment %s: %s%s", path, strerror(errno),
				  errno == EEXIST ? " (use --fresh to replace it)" : "");
	/* The umask must not narrow what the operator asked for. */
	if (fchmod(s.fd, cfg->mode) != 0) {
		rc = tk_err_set(errno, "chmod %o %s: %s", cfg->mode, path, strerror(errno));
		goto err;
	}
	if (cfg->gid >= 0 && fchown(s.fd, (uid_t)-1, (gid_t)cfg->gid) != 0) {
		rc = tk_err_set(errno, "chgrp %d %s: %s", (int)cfg->gid, path, strerror(errno));
		goto err;
	}
	tk__warn_fs(s.fd, path);
	size = tk__fs_round(s.fd, size, &hugetlb);
	if (ftruncate(s.fd, (off_t)size) != 0) {
		rc = tk_err_set(errno, "cannot size segment %s to %llu bytes: %s", path,
				(unsigned long long)size, strerror(errno));
		goto err;
	}
	rc = tk__reserve(s.fd, path, size, hugetlb);
	if (rc < 0)
		goto err;
	s.base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s.fd, 0);
	if (s.base == MAP_FAILED) {
		s.base = NULL;
		rc = tk_err_set(errno, "cannot map segment %s (%llu bytes): %s", path,
				(unsigned long long)size, strerror(errno));
		goto err;
	}
	s.size = size;
	s.writable = s.readers_writable = true;
	s.hdr = (struct tk_seg_header *)s.base;
	rc = tk__map_tuning(&s, cfg, hugetlb);
	if (rc < 0)
		goto err;

	memcpy(s.hdr, &tmp, sizeof(tmp));
	memcpy(s.hdr->magic, TK_SEG_MAGIC, 8);
	s.hdr->abi_version = TK_SEG_ABI_VERSION;
	s.hdr->header_size = sizeof(struct tk_seg_header);
	s.hdr->total_size = size;
	s.hdr->created_ns = tk_wall_ns();
	s.hdr->creator_pid = (int32_t)getpid();
	s.hdr->config = *cfg;
	tk__init_regions(&s, cfg);
	s.hdr->checksum = tk_seg_header_checksum(s.hdr);
	/* Release: every region is initialised before an attacher sees ready. */
	tk_store_release_32(&s.hdr->ready, 1);
	*seg = s;
	tk__map_register(seg);
	return 0;
err:
	if (s.base != NULL)
		munmap(s.base, size);
	close(s.fd);
	unlink(path);
	return rc;
}

static int tk__validate(struct tk_segment *seg, uint64_t file_size)
{
	struct tk_seg_header *hdr = seg->hdr;
	uint32_t i;

	if (memcmp(hdr->magic, TK_SEG_MAGIC, 8) != 0)
		return tk_err_set(EPROTO, "not a tickd segment (no TICKDSEG magic at the start)");
	if (hdr->abi_version != TK_SEG_ABI_VERSION)
		return tk_err_set(EPROTO, "segment has ABI version %u, this build reads version %u "
				  "(restart the engine with this build, or use the matching tickd)",
				  hdr->abi_version, TK_SEG_ABI_VERSION);
	if (hdr->header_size != sizeof(struct tk_seg_header))
		return tk_err_set(EPROTO, "segment header is %u bytes, this build expects %zu",
				  hdr->header_size, sizeof(struct tk_seg_header));
	if (tk_load_acquire_32(&hdr->ready) != 1)
		return tk_err_set(EAGAIN, "segment is not ready: its creator (pid %d) has not "
				  "finished initialising it, or died doing so",
				  (int)hdr->creator_pid);
	if (hdr->total_size != file_size)
		return tk_err_set(EBADF, "segment is truncated or damaged: header says %llu bytes, "
				  "file has %llu", (unsigned long long)hdr->total_size,
				  (unsigned long long)file_size);
	if (tk_seg_header_checksum(hdr) != hdr->checksum)
		return tk_err_set(EBADF, "segment header checksum mismatch (corrupt segment)");
	if (hdr->nregions > TK_SEG_MAX_REGIONS)
		return tk_err_set(EBADF, "segment header lists %u regions (corrupt segment)",
				  hdr->nregions);
	for (i = 0; i < hdr->nregions; i++) {
		const struct tk_region *r = &hdr->regions[i];
		const void *p = seg->base + r->offset;
		int rc = 0;

		if (r->offset < TK_PAGE || r->offset % TK_PAGE != 0 || r->size > file_size ||
		    r->offset > file_size - r->size)
			return tk_err_set(EBADF, "region '%.31s' lies outside the segment "
					  "(corrupt segment)", r->name);
		switch (r->kind) {
		case TK_REGION_LOG:
			rc = tk_log_validate(p, r->size);
			break;
		case TK_REGION_SYMTAB:
			rc = tk_symtab_validate(p, r->size);
			break;
		case TK_REGION_STATE:
			rc = tk_state_validate(p, r->size);
			break;
		case TK_REGION_CONTROL:
			rc = tk_ctl_validate_all(p, r->size);
			break;
		case TK_REGION_HISTORY:
			rc = tk_history_validate(p, r->size);
			break;
		case TK_REGION_FEEDS:
			rc = tk_feeds_validate(p, r->size);
			break;
		case TK_REGION_METRICS:
			rc = tk_metrics_validate(p, r->size);
			break;
		default:
			return tk_err_set(EBADF, "region '%.31s' has unknown kind %u", r->name,
					  r->kind);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Reader attach: everything read-only except the pages a reader may write.
 * On hugetlbfs a protection covers whole huge pages (mprotect of part of
 * one fails, EINVAL): the writable ranges are rounded out to them, and in
 * a segment of a few huge pages that is most of it (the header, the state
 * records): there a reader with write access is trusted as a writer is
 * (the README says so). */
static int tk__reader_protect(struct tk_segment *seg)
{
	struct statfs sfs;
	uint64_t page = 0;
	uint32_t i;

	if (fstatfs(seg->fd, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC)
		page = (uint64_t)sfs.f_bsize;

	for (i = 0; i < seg->hdr->nregions; i++) {
		const struct tk_region *r = &seg->hdr->regions[i];
		uint64_t off = r->offset, len = 0;

		if (r->kind == TK_REGION_LOG) {
			const struct tk_log_region *log = (const void *)(seg->base + off);

			off += TK_LOG_READERS_OFFSET;
			len = log->slots_offset - TK_LOG_READERS_OFFSET;
		} else if (r->kind == TK_REGION_CONTROL || r->kind == TK_REGION_METRICS) {
			/* the readers' own metrics slots, like their cursor slots */
			len = r->size;
		}
		if (len != 0 && page != 0) {
			uint64_t end = TK_ALIGN_UP(off + len, page);

			if (end > seg->size) /* hugetlbfs sizes are whole pages: never, but cheap */
				end = seg->size;
			off -= off % page;
			len = end - off;
		}
		if (len != 0 && mprotect(seg->base + off, len, PROT_READ | PROT_WRITE) != 0)
			return tk_err_set(errno, "mprotect: %s", strerror(errno));
	}
	return 0;
}

int tk_segment_attach(struct tk_segment *seg, const char *path, enum tk_attach_mode mode)
{
	struct tk_segment s = { .fd = -1 };
	struct stat st;
	int rc;

	rc = tk_segment_resolve_path(path, s.path, sizeof(s.path));
	if (rc < 0)
		return rc;
	path = s.path;
	s.fd = open(path, O_RDWR | O_CLOEXEC);
	if (s.fd < 0 && (errno == EACCES || errno == EROFS) && mode == TK_ATTACH_READER)
		s.fd = open(path, O_RDONLY | O_CLOEXEC);
	else
		s.readers_writable = true;
	if (s.fd < 0) {
		rc = tk_err_set(errno, "cannot open segment %s: %s%s", path, strerror(errno),
				errno == ENOENT ? " (is tickd running? start it with 'tickd run', "
						  "or name the segment with --shm-path)" : "");
		return rc;
	}
	if (fstat(s.fd, &st) != 0) {
		rc = tk_err_set(errno, "stat %s: %s", path, strerror(errno));
		goto err;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = tk_err_set(EPROTO, "%s is not a regular file, so not a tickd segment", path);
		goto err;
	}
	if ((uint64_t)st.st_size < sizeof(struct tk_seg_header)) {
		rc = tk_err_set(st.st_size == 0 ? EPROTO : EBADF,
				"%s is %lld bytes, smaller than a segment header (%zu): %s", path,
				(long long)st.st_size, sizeof(struct tk_seg_header),
				st.st_size == 0 ? "an empty file, not a tickd segment" : "truncated");
		goto err;
	}
	s.size = (size_t)st.st_size;
	s.writable = mode == TK_ATTACH_WRITER;
	s.base = mmap(NULL, s.size, s.writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
		      s.fd, 0);
	if (s.base == MAP_FAILED) {
		s.base = NULL;
		rc = tk_err_set(errno, "cannot map segment %s: %s", path, strerror(errno));
		goto err;
	}
	s.hdr = (struct tk_seg_header *)s.base;
	rc = tk__validate(&s, (uint64_t)st.st_size);
	if (rc < 0)
		goto err;
	if (!s.writable && s.readers_writable) {
		rc = tk__reader_protect(&s);
		if (rc < 0)
			goto err;
	}
	if (s.writable) {
		bool hugetlb;

		tk__fs_round(s.fd, 0, &hugetlb);
		rc = tk__map_tuning(&s, &s.hdr->config, hugetlb);
		if (rc < 0)
			goto err;
	}
	*seg = s;
	tk__map_register(seg);
	return 0;
err:
	tk_err_push("segment %s: ", path);
	if (s.base != NULL)
		munmap(s.base, s.size);
	close(s.fd);
	return rc;
}

void tk_segment_detach(struct tk_segment *seg)
{
	if (seg->base != NULL) {
		tk__map_unregister(seg);
		tk_log_forget_mapping(seg->base, seg->size);
		munmap(seg->base, seg->size);
	}
	if (seg->fd >= 0)
		close(seg->fd);
	seg->base = NULL;
	seg->hdr = NULL;
	seg->fd = -1;
}

int tk_segment_unlink(const char *path)
{
	char full[sizeof(((struct tk_segment *)0)->path)];
	int rc = tk_segment_resolve_path(path, full, sizeof(full));

	if (rc < 0)
		return rc;
	if (unlink(full) != 0)
		return tk_err_set(errno, "cannot remove segment %s: %s", full, strerror(errno));
	return 0;
}

void *tk_segment_region(const struct tk_segment *seg, enum tk_region_kind kind, const char *name,
			uint64_t *size_out)
{
	uint32_t i;

	for (i = 0; i < seg->hdr->nregions; i++) {
		const struct tk_region *r = &seg->hdr->regions[i];

		if (r->kind == (uint32_t)kind && (name == NULL || strncmp(r->name, name,
									  TK_NAME_MAX) == 0)) {
			if (size_out != NULL)
				*size_out = r->size;
			return seg->base + r->offset;
		}
	}
	return NULL;
}

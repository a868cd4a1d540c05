/*
 * Worker checkpoints: what makes a killed worker's restart produce exactly
 * the bars an uninterrupted run produces (DESIGN.md invariants 5 and 6).
 *
 * DESIGN.  The worker's state is a function of the records it consumed.
 * At most four times a second (a quarter ring of input sooner, and at the
 * end of a stream) it writes it to a file beside the segment
 * (<segment>.engine.<shard>; a segment on hugetlbfs, which has no
 * write(2), keeps it on tmpfs: /dev/shm/<segment's name>-<hash of its
 * path>.engine.<shard>):
 * a full snapshot -- every active symbol's
 * open windows, indicator state and live record, stream time, where it
 * stands in every input and output log -- written to a temporary file and
 * renamed over the old one, so it is whole or absent; then, checkpoint
 * after checkpoint, deltas appended to it holding the same header and only
 * the symbols changed since the previous checkpoint (of those, only the
 * indicator states a bar close changed), each with its length and
 * checksum, until the deltas outgrow the snapshot and a new snapshot
 * replaces them.  Only after the write does it commit its input cursors,
 * so the ticks after the checkpoint stay in the ring; a delta torn by a
 * kill is ignored at load (and trimmed), and the cursors never passed it.
 * A restarted worker loads the snapshot and its deltas and re-reads from
 * there; the bars and signals it then produces again up to what the killed
 * worker had already written are not written twice: they are compared
 * with the records in the log (a mismatch is counted and reported: it
 * would mean the computation is not deterministic) and skipped.
 */
#include "engine/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/err.h"
#include "common/msg.h"

/* TKCKPT06: indicator states as their rings' tails, deltas summed with
 * CRC-32C.  A TKCKPT05 file (whole states, FNV-1a deltas) still loads; a
 * version before this one refuses a TKCKPT06 file with a message instead
 * of reading its deltas as torn and resuming from the snapshot. */
#define TK_CKPT_MAGIC "TKCKPT06"
#define TK_CKPT_MAGIC_05 "TKCKPT05"

struct tk_ckpt_head {
	char magic[8];
	uint32_t shard;
	uint32_t shards;
	uint32_t ntf;
	uint32_t pct_tf_mask;
	int64_t tf_ns[TK_MAX_TF];
	int64_t lateness_ns;
	struct tk_ind_cfg ind;
	int64_t segment_created_ns;
	uint32_t nin;
	uint32_t nactive;
	char in_name[TK_MAX_INPUTS][TK_NAME_MAX];
	uint64_t in_next[TK_MAX_INPUTS];
	uint8_t in_ended[TK_MAX_INPUTS];
	uint8_t in_silent[TK_MAX_INPUTS];
	int64_t in_clock[TK_MAX_INPUTS];
	uint64_t bypass_left;
	uint64_t out_last[TK_OUTPUTS];
	int64_t stream_time;
	int64_t next_close[TK_MAX_TF];
	struct tk_worker_stats stats;
};

/*
 * Per symbol: its id, then per timeframe a word (the number of older open
 * windows, TK_CKPT_HAS_IND if the indicator state follows them), those
 * windows and maybe the indicator state, then the live record's fields and
 * the open and last bars of the configured timeframes.  A snapshot holds
 * every indicator state; a delta only those a bar close changed since the
 * previous checkpoint (at 10,000 symbols the deltas were 8 MB four times a
 * second with all of them).
 *
 * An indicator state is written as its rings' tails (TK_CKPT_IND_TAILS):
 * its count, the values of each ring the next bars can still read
 * (tk_ind_reach_of), oldest first, then its scalars: 776 bytes with the
 * default periods where the whole state is 1,608.  The other ring slots
 * are never read again, so a restart computes the same bars.  A word without TK_CKPT_IND_TAILS (a checkpoint of an
 * earlier version) is followed by the whole state.
 */
#define TK_CKPT_HAS_IND (1ull << 32)
#define TK_CKPT_IND_TAILS (1ull << 33)
_Static_assert(TK_MAX_TF <= 8, "tk_worker.ind_dirty is a byte of timeframes");

#define TK__IND_SCALARS offsetof(struct tk_ind_state, ema_fast)
#define TK__IND_SCALAR_BYTES (sizeof(struct tk_ind_state) - TK__IND_SCALARS)

static uint64_t tk__min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Bytes of a saved state whose count is n. */
static size_t tk__ind_saved_bytes(const struct tk_ind_cfg *c, uint64_t n)
{
	struct tk_ind_reach k = tk_ind_reach_of(c);

	return sizeof(uint64_t) + TK__IND_SCALAR_BYTES +
	       sizeof(double) * (tk__min64(n, k.closes) + tk__min64(n, k.volumes) +
				 tk__min64(n, k.returns));
}

static uint8_t *tk__put_ring(uint8_t *p, const double *ring, uint64_t n, uint64_t keep)
{
	uint64_t i;

	for (i = n - tk__min64(n, keep); i < n; i++, p += sizeof(double))
		memcpy(p, &ring[i % TK_IND_HISTORY], sizeof(double));
	return p;
}

static uint8_t *tk__put_ind(const struct tk_ind_cfg *c, const struct tk_ind_state *s, uint8_t *p)
{
	struct tk_ind_reach k = tk_ind_reach_of(c);

	memcpy(p, &s->nbars, sizeof(uint64_t));
	p += sizeof(uint64_t);
	p = tk__put_ring(p, s->closes, s->nbars, k.closes);
	p = tk__put_ring(p, s->volumes, s->nbars, k.volumes);
	p = tk__put_ring(p, s->returns, s->nbars, k.returns);
	memcpy(p, (const uint8_t *)s + TK__IND_SCALARS, TK__IND_SCALAR_BYTES);
	return p + TK__IND_SCALAR_BYTES;
}

static const uint8_t *tk__get_ring(const uint8_t *p, double *ring, uint64_t n, uint64_t keep)
{
	uint64_t i;

	for (i = n - tk__min64(n, keep); i < n; i++, p += sizeof(double))
		memcpy(&ring[i % TK_IND_HISTORY], p, sizeof(double));
	return p;
}

/* A saved state from [p, end) into *s; the bytes it took, 0 if they do not fit. */
static size_t tk__get_ind(const struct tk_ind_cfg *c, const uint8_t *p, const uint8_t *end,
			  struct tk_ind_state *s)
{
	struct tk_ind_reach k = tk_ind_reach_of(c);
	const uint8_t *at = p;
	uint64_t n;
	size_t need;

	if (end - p < (ptrdiff_t)sizeof(uint64_t))
		return 0;
	memcpy(&n, p, sizeof(n));
	need = tk__ind_saved_bytes(c, n);
	if (end - p < (ptrdiff_t)need)
		return 0;
	memset(s, 0, sizeof(*s));
	s->nbars = n;
	p += sizeof(uint64_t);
	p = tk__get_ring(p, s->closes, n, k.closes);
	p = tk__get_ring(p, s->volumes, n, k.volumes);
	p = tk__get_ring(p, s->returns, n, k.returns);
	memcpy((uint8_t *)s + TK__IND_SCALARS, p, TK__IND_SCALAR_BYTES);
	return (size_t)(p + TK__IND_SCALAR_BYTES - at);
}

static size_t tk__live_bytes(const struct tk_worker *w)
{
	return offsetof(struct tk_live, open_bar) + w->cfg.ntf * sizeof(struct tk_bar) +
	       w->cfg.ntf * sizeof(struct tk_live_ind);
}

static size_t tk__entry_max(const struct tk_worker *w)
{
	size_t n = sizeof(uint64_t) + tk__live_bytes(w);
	uint32_t t;

	for (t = 0; t < w->cfg.ntf; t++)
		n += sizeof(uint64_t) + w->older_cap[t] * sizeof(struct tk_bar) +
		     tk__ind_saved_bytes(&w->cfg.ind, UINT64_MAX);
	return n;
}

/* What tk__put_entry writes for id. */
static size_t tk__entry_size(const struct tk_worker *w, uint32_t id, uint8_t with_ind)
{
	size_t n = sizeof(uint64_t) + tk__live_bytes(w);
	uint32_t t;

	for (t = 0; t < w->cfg.ntf; t++)
		n += sizeof(uint64_t) + w->older[t][id].n * sizeof(struct tk_bar) +
		     ((with_ind >> t) & 1 ? tk__ind_saved_bytes(&w->cfg.ind, w->ind[t][id].nbars)
					  : 0);
	return n;
}

static uint64_t tk__fnv(const uint8_t *p, size_t n);

/* Beside the segment; for one on hugetlbfs, on tmpfs under its name and a
 * hash of its whole path (two segments named tickd, one in /dev/shm and one
 * on a hugetlbfs mount, must not share a checkpoint). */
static void tk__ckpt_name(const char *seg_path, bool hugetlb, const char *shard, char *out,
			  size_t cap)
{
	const char *name = strrchr(seg_path, '/');

	if (hugetlb)
		snprintf(out, cap, "%s/%s-%016llx.engine.%s", TK_SEG_SHM_DIR,
			 name != NULL ? name + 1 : seg_path,
			 (unsigned long long)tk__fnv((const uint8_t *)seg_path, strlen(seg_path)),
			 shard);
	else
		snprintf(out, cap, "%s.engine.%s", seg_path, shard);
}

void tk_ckpt_path_for(const char *seg_path, const char *shard, char *out, size_t cap)
{
	struct statfs sfs;

	tk__ckpt_name(seg_path, statfs(seg_path, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC,
		      shard, out, cap);
}

void tk_ckpt_remove_all(const char *seg_path, void (*removed)(const char *path))
{
	char shard[16], one[512], tmp[520];
	uint32_t i;

	for (i = 0; i < 64; i++) {
		snprintf(shard, sizeof(shard), "%u", i);
		tk_ckpt_path_for(seg_path, shard, one, sizeof(one));
		snprintf(tmp, sizeof(tmp), "%s.tmp", one);
		if (unlink(one) == 0 && removed != NULL)
			removed(one);
		if (unlink(tmp) == 0 && removed != NULL)
			removed(tmp);
	}
}

void tk_ckpt_path_init(struct tk_worker *w)
{
	struct statfs sfs;
	char shard[16];

	/* Decided once, from the mapped file: the path may be replaced later. */
	snprintf(shard, sizeof(shard), "%u", w->cfg.shard);
	tk__ckpt_name(w->seg->path, fstatfs(w->seg->fd, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC,
		      shard, w->ckpt_path, sizeof(w->ckpt_path));
}

void tk_ckpt_path(const struct tk_worker *w, char *out, size_t cap)
{
	snprintf(out, cap, "%s", w->ckpt_path);
}

static void tk__head_config(const struct tk_worker *w, struct tk_ckpt_head *h)
{
	memcpy(h->magic, TK_CKPT_MAGIC, 8);
	h->shard = w->cfg.shard;
	h->shards = w->cfg.shards;
	h->ntf = w->cfg.ntf;
	h->pct_tf_mask = w->cfg.pct_tf_mask;
	memcpy(h->tf_ns, w->cfg.tf_ns, sizeof(h->tf_ns));
	h->lateness_ns = w->cfg.lateness_ns;
	h->ind = w->cfg.ind;
	h->segment_created_ns = w->seg->hdr->created_ns;
}

/* A delta: appended after the snapshot, changed symbols only.  Its sum is
 * the CRC-32C of its bytes (TKDELTA2); deltas of earlier versions
 * (TKDELTA1) carry FNV-1a 64, a byte at a time: at 10,000 symbols a tenth
 * of the engine's CPU went to it (perf, bench/e2e), and they still load. */
#define TK_CKPT_DELTA_MAGIC "TKDELTA2"
#define TK_CKPT_DELTA_MAGIC_FNV "TKDELTA1"
#define TK_CKPT_MAX_DELTAS 256

struct tk_ckpt_delta {
	char magic[8];
	uint64_t size; /* bytes after this struct: a head, then its entries */
	uint64_t sum;  /* of those bytes (above): a torn append is seen */
};

static uint64_t tk__fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	while (n-- > 0)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

static void tk__head_state(const struct tk_worker *w, struct tk_ckpt_head *h, uint32_t n)
{
	uint32_t i;

	memset(h, 0, sizeof(*h));
	tk__head_config(w, h);
	h->nin = w->nin;
	h->nactive = n;
	for (i = 0; i < w->nin; i++) {
		memcpy(h->in_name[i], w->in[i].log->name, TK_NAME_MAX);
		h->in_next[i] = tk_worker_applied_next(w, i);
		h->in_ended[i] = w->in_ended[i];
		h->in_silent[i] = w->in_silent[i];
		h->in_clock[i] = w->in_clock[i];
	}
	h->bypass_left = w->bypass_left;
	for (i = 0; i < TK_OUTPUTS; i++)
		h->out_last[i] = w->out_pos[i];
	h->stream_time = w->stream_time;
	memcpy(h->next_close, w->next_close, sizeof(h->next_close));
	h->stats = w->stats;
}

static uint8_t *tk__put_entry(const struct tk_worker *w, uint32_t id, uint8_t with_ind, uint8_t *p)
{
	const struct tk_live *live = (const struct tk_live *)((uint8_t *)tk_state_record(w->state, id) +
							     TK_STATE_HEADER);
	uint32_t t;
	uint64_t v = id;

	memcpy(p, &v, sizeof(v));
	p += sizeof(uint64_t);
	for (t = 0; t < w->cfg.ntf; t++) {
		const struct tk_agg_older *o = &w->older[t][id];
		bool ind = (with_ind >> t) & 1;

		v = o->n | (ind ? TK_CKPT_HAS_IND | TK_CKPT_IND_TAILS : 0);
		memcpy(p, &v, sizeof(v));
		p += sizeof(uint64_t);
		memcpy(p, o->bar, o->n * sizeof(struct tk_bar));
		p += o->n * sizeof(struct tk_bar);
		if (ind)
			p = tk__put_ind(&w->cfg.ind, &w->ind[t][id], p);
	}
	/* The live record, as the worker last wrote it (we are its only writer). */
	memcpy(p, live, offsetof(struct tk_live, open_bar));
	p += offsetof(struct tk_live, open_bar);
	memcpy(p, live->open_bar, w->cfg.ntf * sizeof(struct tk_bar));
	p += w->cfg.ntf * sizeof(struct tk_bar);
	memcpy(p, live->last, w->cfg.ntf * sizeof(struct tk_live_ind));
	return p + w->cfg.ntf * sizeof(struct tk_live_ind);
}

static int tk__write_all(int fd, const uint8_t *p, size_t n, off_t at)
{
	while (n > 0) {
		ssize_t k = pwrite(fd, p, n, at);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
		at += k;
	}
	return 0;
}

/*
 * Every TK_CKPT_MAX_DELTAS checkpoints, or when the deltas outgrow the
 * snapshot, a full snapshot (temporary file renamed over the old one:
 * whole or absent); in between, a delta of the symbols changed since the
 * last checkpoint, appended with its checksum (a torn one is ignored at
 * load, and the cursors never passed it).
 */
int tk_ckpt_save(struct tk_worker *w)
{
	bool full = w->ckpt_size == 0 || w->ckpt_deltas >= TK_CKPT_MAX_DELTAS ||
		    w->ckpt_size - w->ckpt_base_size > 4 * w->ckpt_base_size;
	uint32_t n = full ? w->nactive : w->nchanged, j;
	size_t need = sizeof(struct tk_ckpt_delta) + sizeof(struct tk_ckpt_head), size;
	char path[512], tmp[520];
	uint8_t *buf, *p, *body;
	int fd, rc;

	/* What is open, not the most that could be: a minute of lateness
	 * with 1 s bars could be 5 KB a symbol, it is 80 bytes a window open. */
	for (j = 0; j < n; j++) {
		uint32_t id = full ? w->active[j] : w->changed[j];

		need += tk__entry_size(w, id, full ? 0xff : w->ind_dirty[id]);
	}
	if (need > w->ckpt_cap) {
		/* Grow with headroom: the steady state allocates nothing. */
		size_t cap = need + need / 2 + 16 * tk__entry_max(w);

		buf = realloc(w->ckpt_buf, cap);
		if (buf == NULL)
			return tk_err_set(ENOMEM, "checkpoint: out of memory for %zu bytes", cap);
		w->ckpt_buf = buf;
		w->ckpt_cap = cap;
	}
	buf = w->ckpt_buf;
	body = full ? buf : buf + sizeof(struct tk_ckpt_delta);
	tk__head_state(w, (struct tk_ckpt_head *)body, n);
	if (!full)
		memcpy(((struct tk_ckpt_head *)body)->magic, TK_CKPT_DELTA_MAGIC, 8);
	p = body + sizeof(struct tk_ckpt_head);
	for (j = 0; j < n; j++) {
		uint32_t id = full ? w->active[j] : w->changed[j];

		p = tk__put_entry(w, id, full ? 0xff : w->ind_dirty[id], p);
	}
	size = (size_t)(p - buf);
	tk_ckpt_path(w, path, sizeof(path));
	if (full) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, w->seg->hdr->config.mode);
		if (fd < 0)
			return tk_err_set(errno, "checkpoint %s: %s", tmp, strerror(errno));
		rc = tk__write_all(fd, buf, size, 0) < 0 ? (errno != 0 ? errno : EIO) : 0;
		close(fd);
		if (rc != 0) {
			unlink(tmp);
			return tk_err_set(EIO, "checkpoint %s: short write (%s)", tmp, strerror(rc));
		}
		/* rename is atomic: the checkpoint is the old one or the new one, whole. */
		if (rename(tmp, path) != 0)
			return tk_err_set(errno, "checkpoint %s: %s", path, strerror(errno));
		w->ckpt_size = w->ckpt_base_size = size;
		w->ckpt_deltas = 0;
	} else {
		struct tk_ckpt_delta *d = (struct tk_ckpt_delta *)buf;

		memcpy(d->magic, TK_CKPT_DELTA_MAGIC, 8);
		d->size = size - sizeof(*d);
		d->sum = tk_crc32c(0, body, d->size);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = errno;
			/* (Removed from outside?) The next checkpoint is a
			 * snapshot, which makes the file anew. */
			w->ckpt_size = 0;
			return tk_err_set(rc, "checkpoint %s: %s (the next one is a whole snapshot)",
					  path, strerror(rc));
		}
		rc = tk__write_all(fd, buf, size, (off_t)w->ckpt_size);
		close(fd);
		if (rc < 0) {
			w->ckpt_size = 0;
			return tk_err_set(EIO, "checkpoint %s: short write of a delta (the next one is "
					  "a whole snapshot)", path);
		}
		w->ckpt_size += size;
		w->ckpt_deltas++;
	}
	for (j = 0; j < w->nchanged; j++) {
		w->is_active[w->changed[j]] = TK_SYM_ACTIVE;
		w->ind_dirty[w->changed[j]] = 0;
	}
	w->nchanged = 0;
	w->checkpoints++;
	return 0;
}

/* Restore n entries from [*pp, end); -1 if they do not fit or make no sense. */
static int tk__load_entries(struct tk_worker *w, uint8_t **pp, const uint8_t *end, uint32_t n)
{
	uint8_t *p = *pp;
	uint32_t i, t;

	for (i = 0; i < n; i++) {
		uint64_t id, nold;
		struct tk_live *live;
		bool was_active;

		if (end - p < (ptrdiff_t)sizeof(uint64_t))
			return -1;
		memcpy(&id, p, sizeof(id));
		p += sizeof(uint64_t);
		if (id >= w->capacity)
			return -1;
		was_active = w->is_active[id] != TK_SYM_IDLE;
		tk_worker_activate(w, (uint32_t)id);
		for (t = 0; t < w->cfg.ntf; t++) {
			struct tk_agg_older *o = &w->older[t][id];
			uint64_t word;
			bool ind, tails;

			if (end - p < (ptrdiff_t)sizeof(uint64_t))
				return -1;
			memcpy(&word, p, sizeof(word));
			p += sizeof(uint64_t);
			nold = word & 0xffffffffu;
			ind = (word & TK_CKPT_HAS_IND) != 0;
			tails = (word & TK_CKPT_IND_TAILS) != 0;
			if ((word & ~(TK_CKPT_HAS_IND | TK_CKPT_IND_TAILS | 0xffffffffull)) != 0 ||
			    (tails && !ind) || nold > o->cap ||
			    end - p < (ptrdiff_t)(nold * sizeof(struct tk_bar)))
				return -1;
			/* A symbol's first entry in the file carries them all. */
			if (!ind && !was_active)
				return -1;
			o->n = (uint32_t)nold;
			memcpy(o->bar, p, nold * sizeof(struct tk_bar));
			p += nold * sizeof(struct tk_bar);
			if (tails) {
				size_t took = tk__get_ind(&w->cfg.ind, p, end, &w->ind[t][id]);

				if (took == 0)
					return -1;
				p += took;
			} else if (ind) {
				/* The whole state, as versions before the tails wrote it. */
				if (end - p < (ptrdiff_t)sizeof(struct tk_ind_state))
					return -1;
				memcpy(&w->ind[t][id], p, sizeof(struct tk_ind_state));
				p += sizeof(struct tk_ind_state);
			}
		}
		if (end - p < (ptrdiff_t)tk__live_bytes(w))
			return -1;
		live = tk_state_write_begin(w->state, (uint32_t)id);
		memcpy(live, p, offsetof(struct tk_live, open_bar));
		p += offsetof(struct tk_live, open_bar);
		memcpy(live->open_bar, p, w->cfg.ntf * sizeof(struct tk_bar));
		p += w->cfg.ntf * sizeof(struct tk_bar);
		memcpy(live->last, p, w->cfg.ntf * sizeof(struct tk_live_ind));
		p += w->cfg.ntf * sizeof(struct tk_live_ind);
		tk_state_write_end(w->state, (uint32_t)id);
	}
	*pp = p;
	return 0;
}

static void tk__load_head(struct tk_worker *w, const struct tk_ckpt_head *h)
{
	uint32_t i;

	for (i = 0; i < w->nin; i++) {
		w->in[i].next = h->in_next[i];
		w->in_ended[i] = h->in_ended[i] != 0;
		w->in_silent[i] = h->in_silent[i] != 0;
		w->in_clock[i] = h->in_clock[i];
	}
	w->bypass_left = h->bypass_left;
	for (i = 0; i < TK_OUTPUTS; i++)
		w->out_pos[i] = h->out_last[i];
	w->stream_time = h->stream_time;
	memcpy(w->next_close, h->next_close, sizeof(w->next_close));
	w->stats = h->stats;
}

int tk_ckpt_load(struct tk_worker *w)
{
	struct tk_ckpt_head want, *h;
	char path[512];
	uint8_t *buf = NULL, *p, *end, *dend;
	off_t fsize;
	uint32_t i;
	int fd, rc = 0;

	tk_ckpt_path(w, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : tk_err_set(errno, "checkpoint %s: %s", path, strerror(errno));
	fsize = lseek(fd, 0, SEEK_END);
	if (fsize < (off_t)sizeof(*h)) {
		close(fd);
		return tk_err_set(EBADF, "checkpoint %s is truncated (%lld bytes): remove it, or "
				  "start afresh with tickd run --fresh", path, (long long)fsize);
	}
	buf = malloc((size_t)fsize);
	if (buf == NULL || pread(fd, buf, (size_t)fsize, 0) != fsize) {
		close(fd);
		free(buf);
		return tk_err_set(EIO, "checkpoint %s: cannot read it", path);
	}
	h = (struct tk_ckpt_head *)buf;
	memset(&want, 0, sizeof(want));
	tk__head_config(w, &want);
	if (memcmp(h->magic, TK_CKPT_MAGIC, 8) != 0 && memcmp(h->magic, TK_CKPT_MAGIC_05, 8) != 0) {
		rc = tk_err_set(EPROTO, "%s is not an engine checkpoint of this version: remove it, "
				"or start afresh with tickd run --fresh", path);
		goto out;
	}
	if (h->segment_created_ns != want.segment_created_ns) {
		/* Left over from an older segment of the same name: not ours. */
		tk_info("ignoring checkpoint %s: it belongs to an earlier segment", path);
		unlink(path);
		goto out;
	}
	if (h->shard != want.shard || h->shards != want.shards || h->ntf != want.ntf ||
	    memcmp(h->tf_ns, want.tf_ns, sizeof(want.tf_ns)) != 0 ||
	    h->lateness_ns != want.lateness_ns || h->pct_tf_mask != want.pct_tf_mask ||
	    memcmp(&h->ind, &want.ind, sizeof(want.ind)) != 0) {
		rc = tk_err_set(EINVAL, "checkpoint %s was made with another configuration (shards, "
				"timeframes, lateness or indicator settings): run with the same "
				"settings, or start afresh (tickd run --fresh)", path);
		goto out;
	}
	if (h->nin != w->nin || h->nactive > w->capacity)
		goto bad;
	for (i = 0; i < w->nin; i++) {
		if (strncmp(h->in_name[i], w->in[i].log->name, TK_NAME_MAX) != 0) {
			rc = tk_err_set(EBADF, "checkpoint %s lists tick log '%.31s' where the segment "
					"has '%.31s'", path, h->in_name[i], w->in[i].log->name);
			goto out;
		}
	}
	p = buf + sizeof(*h);
	end = buf + fsize;
	if (tk__load_entries(w, &p, end, h->nactive) < 0)
		goto bad;
	w->ckpt_base_size = (uint64_t)(p - buf);
	/* The deltas after it, in order, up to the first that is not whole (a
	 * worker killed while appending it: its cursors never passed it). */
	for (;;) {
		struct tk_ckpt_delta d;
		struct tk_ckpt_head *dh;
		bool crc;

		if (end - p < (ptrdiff_t)(sizeof(d) + sizeof(*dh)))
			break;
		memcpy(&d, p, sizeof(d));
		crc = memcmp(d.magic, TK_CKPT_DELTA_MAGIC, 8) == 0;
		if ((!crc && memcmp(d.magic, TK_CKPT_DELTA_MAGIC_FNV, 8) != 0) ||
		    d.size > (uint64_t)(end - p) - sizeof(d) ||
		    (crc ? tk_crc32c(0, p + sizeof(d), d.size) : tk__fnv(p + sizeof(d), d.size)) !=
			    d.sum)
			break;
		dh = (struct tk_ckpt_head *)(p + sizeof(d));
		/* Whole, but another worker's (one of a replaced segment that
		 * still had the path open): not part of this file's history. */
		if (dh->segment_created_ns != want.segment_created_ns || dh->shard != want.shard ||
		    dh->shards != want.shards)
			break;
		dend = p + sizeof(d) + d.size;
		h = dh;
		p += sizeof(d) + sizeof(*dh);
		if (dh->nin != w->nin || tk__load_entries(w, &p, dend, dh->nactive) < 0 || p != dend)
			goto bad;
		w->ckpt_deltas++;
	}
	if (p != end) {
		tk_warn("checkpoint %s: ignoring %lld bytes of a delta that was not written whole",
			path, (long long)(end - p));
		if (ftruncate(fd, (off_t)(p - buf)) != 0)
			tk_warn("checkpoint %s: cannot trim it: %s", path, strerror(errno));
	}
	w->ckpt_size = (uint64_t)(p - buf);
	/* A TKCKPT05 file: the next checkpoint is a whole TKCKPT06 snapshot,
	 * not deltas of the new form under the old name (which a version
	 * before would read as torn, and resume from the snapshot). */
	if (memcmp(buf, TK_CKPT_MAGIC, 8) != 0)
		w->ckpt_size = 0;
	tk__load_head(w, h);
	for (i = 0; i < w->nin; i++)
		tk_log_reader_commit(&w->in[i]);
	rc = 1;
	goto out;
bad:
	rc = tk_err_set(EBADF, "checkpoint %s does not match its own header (or the tick logs "
			"changed): remove it or start afresh", path);
out:
	close(fd);
	free(buf);
	return rc;
}

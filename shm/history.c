#include "shm/history.h"

#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "shm/atomic.h"

static uint64_t tk__ring_size(uint32_t depth)
{
	return sizeof(struct tk_hist_ring) + (uint64_t)depth * sizeof(struct tk_hist_bar);
}

uint64_t tk_history_region_size(const struct tk_seg_history *cfg)
{
	uint64_t size = sizeof(struct tk_history_region);
	uint32_t i;

	for (i = 0; i < cfg->ntf; i++)
		size += (uint64_t)cfg->symbols * tk__ring_size(cfg->depth[i]);
	return size;
}

void tk_history_init(struct tk_history_region *h, const struct tk_seg_history *cfg)
{
	uint64_t off = sizeof(*h);
	uint32_t i;

	h->magic = TK_HISTORY_MAGIC;
	h->version = TK_HISTORY_VERSION;
	h->nsym = cfg->symbols;
	h->ntf = cfg->ntf;
	for (i = 0; i < cfg->ntf; i++) {
		h->tf_ns[i] = cfg->tf_ns[i];
		h->depth[i] = cfg->depth[i];
		h->tf_offset[i] = off;
		off += (uint64_t)cfg->symbols * tk__ring_size(cfg->depth[i]);
	}
}

int tk_history_validate(const struct tk_history_region *h, uint64_t region_size)
{
	struct tk_seg_history cfg = { .symbols = h->nsym, .ntf = h->ntf };
	uint32_t i;

	if (h->magic != TK_HISTORY_MAGIC || h->version != TK_HISTORY_VERSION ||
	    h->ntf > TK_SEG_HISTORY_TF)
		return tk_err_set(EBADF, "history region has a bad magic or version (corrupt segment)");
	for (i = 0; i < h->ntf; i++)
		cfg.depth[i] = h->depth[i];
	if (tk_history_region_size(&cfg) > region_size)
		return tk_err_set(EBADF, "history region geometry is inconsistent (corrupt segment)");
	return 0;
}

struct tk_history_region *tk_history_of(const struct tk_segment *seg)
{
	return tk_segment_region(seg, TK_REGION_HISTORY, NULL, NULL);
}

int tk_history_tf(const struct tk_history_region *h, int64_t tf_ns)
{
	uint32_t i;

	for (i = 0; h != NULL && i < h->ntf; i++)
		if (h->tf_ns[i] == tf_ns)
			return (int)i;
	return -1;
}

static struct tk_hist_ring *tk__ring(const struct tk_history_region *h, int t, uint32_t id)
{
	return (struct tk_hist_ring *)((uint8_t *)h + h->tf_offset[t] +
				       (uint64_t)id * tk__ring_size(h->depth[t]));
}

static struct tk_hist_bar *tk__bars(struct tk_hist_ring *r)
{
	return (struct tk_hist_bar *)(r + 1);
}

int tk_history_append(struct tk_history_region *h, int t, uint32_t id, const struct tk_hist_bar *b)
{
	struct tk_hist_ring *r;
	uint64_t c;

	if (t < 0 || (uint32_t)t >= h->ntf || id >= h->nsym)
		return 0;
	r = tk__ring(h, t, id);
	c = r->count;
	/* Idempotence is judged by the newest *published* bar: a writer killed
	 * after filling the slot but before publishing the count left nothing
	 * that counts, so its successor's append of the same bar goes in. */
	if (c > 0 && b->window_start <= tk__bars(r)[(c - 1) % h->depth[t]].window_start)
		return 0;
	tk__bars(r)[c % h->depth[t]] = *b;
	/* Release: the bar is complete before readers count it; pairs with the
	 * acquire loads of count in tk_history_read. */
	tk_store_release_64(&r->count, c + 1);
	r->last_window = b->window_start; /* for display: after the count, never trusted */
	return 1;
}

uint32_t tk_history_read(const struct tk_history_region *h, int t, uint32_t id,
			 struct tk_hist_bar *out, uint32_t max)
{
	struct tk_hist_ring *r;
	uint32_t depth, n, i;
	int tries;

	if (t < 0 || (uint32_t)t >= h->ntf || id >= h->nsym)
		return 0;
	r = tk__ring(h, t, id);
	depth = h->depth[t];
	for (tries = 0; tries < 1000; tries++) {
		/* Acquire: pairs with the writer's release; the bars below c are whole. */
		uint64_t c1 = tk_load_acquire_64(&r->count), c2;

		n = max;
		if (n > depth - 1)
			n = depth - 1;
		if (n > c1)
			n = (uint32_t)c1;
		for (i = 0; i < n; i++)
			out[i] = tk__bars(r)[(c1 - n + i) % depth];
		/* The copies are done before count is read again. */
		tk_fence_load();
		c2 = tk_load_acquire_64(&r->count);
		/* The writer reaches the oldest copied slot at bar c1 - n + depth. */
		if (c2 < c1 - n + depth)
			return n;
	}
	return 0;
}

/*
 * Worker checkpoints: what makes a killed worker's restart produce exactly
 * the bars an uninterrupted run produces (DESIGN.md invariants 5 and 6).
 *
 * DESIGN.  The worker's state is a function of the records it consumed.
 * Every so often (a quarter ring of input, a second, or the end of a
 * stream) it writes all of it -- every active symbol's open windows,
 * indicator state and live record, stream time, and where it stands in
 * every input and output log -- to a file beside the segment
 * (<segment>.engine.<shard>), by writing a temporary file and renaming it
 * over the old one, so a checkpoint is either whole or absent.  Only then
 * does it commit its input cursors, so the ticks after the checkpoint stay
 * in the ring.  A restarted worker loads the checkpoint and re-reads from
 * there; the bars and signals it then produces again up to what the killed
 * worker had already written are not written twice: they are compared
 * with the records in the log (a mismatch is counted and reported: it
 * would mean the computation is not deterministic) and skipped.
 */
#include "engine/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/msg.h"

#define TK_CKPT_MAGIC "TKCKPT03"

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
	uint64_t out_last[TK_OUTPUTS];
	int64_t stream_time;
	int64_t next_close[TK_MAX_TF];
	struct tk_worker_stats stats;
};

/* Per active symbol: id, then per timeframe the number of older open
 * windows, those windows and the indicator state, then the live record.
 * At most this many bytes. */
static size_t tk__entry_max(const struct tk_worker *w)
{
	size_t n = sizeof(uint64_t) + sizeof(struct tk_live);
	uint32_t t;

	for (t = 0; t < w->cfg.ntf; t++)
		n += sizeof(uint64_t) + w->older_cap[t] * sizeof(struct tk_bar) +
		     sizeof(struct tk_ind_state);
	return n;
}

void tk_ckpt_path(const struct tk_worker *w, char *out, size_t cap)
{
	snprintf(out, cap, "%s.engine.%u", w->seg->path, w->cfg.shard);
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

int tk_ckpt_save(struct tk_worker *w)
{
	size_t esz = tk__entry_max(w), size;
	char path[512], tmp[520];
	struct tk_ckpt_head *h;
	uint8_t *buf, *p;
	uint32_t i, t, nactive = 0;
	ssize_t n;
	int fd;

	nactive = w->nactive;
	size = sizeof(*h) + (size_t)nactive * esz;
	if (size > w->ckpt_cap) {
		/* Grow with headroom: the steady state allocates nothing. */
		size_t cap = size + size / 2 + 16 * esz;

		buf = realloc(w->ckpt_buf, cap);
		if (buf == NULL)
			return tk_err_set(ENOMEM, "checkpoint: out of memory for %zu bytes", cap);
		w->ckpt_buf = buf;
		w->ckpt_cap = cap;
	}
	buf = w->ckpt_buf;
	memset(buf, 0, sizeof(*h));
	h = (struct tk_ckpt_head *)buf;
	tk__head_config(w, h);
	h->nin = w->nin;
	h->nactive = nactive;
	for (i = 0; i < w->nin; i++) {
		memcpy(h->in_name[i], w->in[i].log->name, TK_NAME_MAX);
		h->in_next[i] = tk_worker_applied_next(w, i);
		h->in_ended[i] = w->in_ended[i];
		h->in_silent[i] = w->in_silent[i];
		h->in_clock[i] = w->in_clock[i];
	}
	for (i = 0; i < TK_OUTPUTS; i++)
		h->out_last[i] = w->out_pos[i];
	h->stream_time = w->stream_time;
	memcpy(h->next_close, w->next_close, sizeof(h->next_close));
	h->stats = w->stats;
	p = buf + sizeof(*h);
	for (uint32_t j = 0; j < w->nactive; j++) {
		i = w->active[j];
		*(uint64_t *)p = i;
		p += sizeof(uint64_t);
		for (t = 0; t < w->cfg.ntf; t++) {
			const struct tk_agg_older *o = &w->sym[i].older[t];

			*(uint64_t *)p = o->n;
			p += sizeof(uint64_t);
			memcpy(p, o->bar, o->n * sizeof(struct tk_bar));
			p += o->n * sizeof(struct tk_bar);
			memcpy(p, &w->sym[i].ind[t], sizeof(struct tk_ind_state));
			p += sizeof(struct tk_ind_state);
		}
		/* The live record, as the worker last wrote it (we are its only writer). */
		memcpy(p, (uint8_t *)tk_state_record(w->state, i) + TK_STATE_HEADER,
		       sizeof(struct tk_live));
		p += sizeof(struct tk_live);
	}
	tk_ckpt_path(w, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, w->seg->hdr->config.mode);
	if (fd < 0)
		return tk_err_set(errno, "checkpoint %s: %s", tmp, strerror(errno));
	size = (size_t)(p - buf);
	n = write(fd, buf, size);
	close(fd);
	if (n != (ssize_t)size)
		return tk_err_set(EIO, "checkpoint %s: short write", tmp);
	/* rename is atomic: the checkpoint is the old one or the new one, whole. */
	if (rename(tmp, path) != 0)
		return tk_err_set(errno, "checkpoint %s: %s", path, strerror(errno));
	w->checkpoints++;
	return 0;
}

int tk_ckpt_load(struct tk_worker *w)
{
	struct tk_ckpt_head want, *h;
	char path[512];
	uint8_t *buf = NULL, *p, *end;
	struct stat_like {
		off_t size;
	} st;
	uint32_t i, t;
	int fd, rc = 0;

	tk_ckpt_path(w, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : tk_err_set(errno, "checkpoint %s: %s", path, strerror(errno));
	st.size = lseek(fd, 0, SEEK_END);
	if (st.size < (off_t)sizeof(*h)) {
		close(fd);
		return tk_err_set(EBADF, "checkpoint %s is truncated (%lld bytes): remove it, or "
				  "start afresh with tickd run --fresh", path, (long long)st.size);
	}
	buf = malloc((size_t)st.size);
	if (buf == NULL || pread(fd, buf, (size_t)st.size, 0) != st.size) {
		close(fd);
		free(buf);
		return tk_err_set(EIO, "checkpoint %s: cannot read it", path);
	}
	close(fd);
	h = (struct tk_ckpt_head *)buf;
	memset(&want, 0, sizeof(want));
	tk__head_config(w, &want);
	if (memcmp(h->magic, TK_CKPT_MAGIC, 8) != 0) {
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
	if (h->nin != w->nin || h->nactive > w->capacity) {
		rc = tk_err_set(EBADF, "checkpoint %s does not match its own header (or the tick "
				"logs changed): remove it or start afresh", path);
		goto out;
	}
	for (i = 0; i < w->nin; i++) {
		if (strncmp(h->in_name[i], w->in[i].log->name, TK_NAME_MAX) != 0) {
			rc = tk_err_set(EBADF, "checkpoint %s lists tick log '%.31s' where the segment "
					"has '%.31s'", path, h->in_name[i], w->in[i].log->name);
			goto out;
		}
	}
	p = buf + sizeof(*h);
	end = buf + st.size;
	for (i = 0; i < h->nactive; i++) {
		uint64_t id, nold;
		struct tk_live *live;

		if (end - p < (ptrdiff_t)sizeof(uint64_t))
			goto truncated;
		memcpy(&id, p, sizeof(id));
		p += sizeof(uint64_t);
		if (id >= w->capacity) {
			rc = tk_err_set(EBADF, "checkpoint %s names symbol %llu beyond capacity", path,
					(unsigned long long)id);
			goto out;
		}
		tk_worker_activate(w, (uint32_t)id);
		for (t = 0; t < w->cfg.ntf; t++) {
			struct tk_agg_older *o = &w->sym[id].older[t];

			if (end - p < (ptrdiff_t)sizeof(uint64_t))
				goto truncated;
			memcpy(&nold, p, sizeof(nold));
			p += sizeof(uint64_t);
			if (nold > o->cap ||
			    end - p < (ptrdiff_t)(nold * sizeof(struct tk_bar) + sizeof(struct tk_ind_state)))
				goto truncated;
			o->n = (uint32_t)nold;
			memcpy(o->bar, p, nold * sizeof(struct tk_bar));
			p += nold * sizeof(struct tk_bar);
			memcpy(&w->sym[id].ind[t], p, sizeof(struct tk_ind_state));
			p += sizeof(struct tk_ind_state);
		}
		if (end - p < (ptrdiff_t)sizeof(struct tk_live))
			goto truncated;
		live = tk_state_write_begin(w->state, (uint32_t)id);
		memcpy(live, p, sizeof(*live));
		tk_state_write_end(w->state, (uint32_t)id);
		p += sizeof(struct tk_live);
	}
	if (p != end)
		goto truncated;
	for (i = 0; i < w->nin; i++) {
		w->in[i].next = h->in_next[i];
		w->in_ended[i] = h->in_ended[i] != 0;
		w->in_silent[i] = h->in_silent[i] != 0;
		w->in_clock[i] = h->in_clock[i];
		tk_log_reader_commit(&w->in[i]);
	}
	for (i = 0; i < TK_OUTPUTS; i++)
		w->out_pos[i] = h->out_last[i];
	w->stream_time = h->stream_time;
	memcpy(w->next_close, h->next_close, sizeof(w->next_close));
	w->stats = h->stats;
	rc = 1;
	goto out;
truncated:
	rc = tk_err_set(EBADF, "checkpoint %s does not match its own header (or the tick logs "
			"changed): remove it or start afresh", path);
out:
	free(buf);
	return rc;
}

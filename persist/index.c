/* The index of a journal file (index.h). */
#include "persist/index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/err.h"
#include "persist/format.h"
#include "shm/records.h"

struct tkj_index_header {
	char magic[8];
	uint32_t version;
	uint32_t entry_size;
	uint64_t generation;
	uint64_t first_seq;
	uint8_t pad[28];
	uint32_t crc;
};
_Static_assert(sizeof(struct tkj_index_header) == TKJ_INDEX_HEADER, "index header");

void tkj_index_path(const char *data_path, char *out, size_t cap)
{
	snprintf(out, cap, "%s.idx", data_path);
}

void tkj_index_entry_seal(struct tkj_index_entry *e)
{
	e->crc = tk_crc32c(0, e, offsetof(struct tkj_index_entry, crc));
}

int tkj_index_create(const char *data_path, uint64_t generation, uint64_t first_seq, int *fd)
{
	struct tkj_index_header h;
	char path[640];
	int f;

	tkj_index_path(data_path, path, sizeof(path));
	f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	if (f < 0)
		return tk_err_set(-errno, "journal: cannot create %s: %s", path, strerror(errno));
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, TKJ_INDEX_MAGIC, 8);
	h.version = 1;
	h.entry_size = sizeof(struct tkj_index_entry);
	h.generation = generation;
	h.first_seq = first_seq;
	h.crc = tk_crc32c(0, &h, offsetof(struct tkj_index_header, crc));
	if (write(f, &h, sizeof(h)) != (ssize_t)sizeof(h)) {
		int rc = errno ? -errno : -EIO;

		close(f);
		return tk_err_set(rc, "journal: cannot write %s: %s", path, strerror(-rc));
	}
	*fd = f;
	return 0;
}

void tkj_index_entry_of_meta(struct tkj_index_entry *e, const struct tkj_block_meta *m,
			     uint32_t length, uint32_t nrec, uint64_t block_no, uint64_t offset)
{
	memset(e, 0, sizeof(*e));
	e->kind = TKJ_IDX_BLOCK;
	e->length = length;
	e->offset = offset;
	e->first_seq = m->first_seq;
	e->last_seq = m->last_seq;
	e->next_seq = m->next_seq;
	e->min_ts = m->min_ts;
	e->max_ts = m->max_ts;
	e->block_no = block_no;
	e->nrec = nrec;
	e->flags = m->gap ? TKJ_IDX_F_GAP : 0;
	memcpy(e->u.symbits, m->symbits, sizeof(e->u.symbits));
}

void tkj_index_entry_of_block(struct tkj_index_entry *e, const void *block, uint32_t record_size,
			      uint64_t offset)
{
	const struct tkj_block_header *bh = block;
	const uint8_t *r = (const uint8_t *)block + TKJ_BLOCK_HEADER;
	struct tkj_block_meta m;
	uint32_t i;

	tkj_block_meta_init(&m);
	for (i = 0; i < bh->nrec; i++, r += record_size)
		tkj_block_meta_add(&m, r, tkj_record_time(r));
	tkj_index_entry_of_meta(e, &m, bh->length, bh->nrec, bh->block_no, offset);
}

int tkj_index_append(int fd, const struct tkj_index_entry *e, const void *block,
		     uint32_t record_size)
{
	const struct tkj_block_header *bh = block;
	const uint8_t *r = (const uint8_t *)block + TKJ_BLOCK_HEADER;
	struct tkj_index_entry out[16];
	uint32_t i, n = 0;
	int rc = 0;

	if (fd < 0)
		return 0;
	/* Symbols first: a reader that finds the block entry has its names.
	 * (block NULL: the writer knows it holds none.) */
	for (i = 0; block != NULL && i < bh->nrec; i++, r += record_size) {
		uint64_t seq;
		uint32_t type, aux;

		memcpy(&seq, r, 8);
		memcpy(&type, r + 8, 4);
		if (seq != 0 || type != TKJ_REC_SYMBOL)
			continue;
		memcpy(&aux, r + 12, 4);
		memset(&out[n], 0, sizeof(out[n]));
		out[n].kind = TKJ_IDX_SYMBOL;
		out[n].length = aux;
		memcpy(out[n].u.name, r + 16, 31);
		tkj_index_entry_seal(&out[n]);
		if (++n == 16) {
			if (write(fd, out, sizeof(out)) != (ssize_t)sizeof(out))
				rc = -EIO;
			n = 0;
		}
	}
	out[n] = *e;
	tkj_index_entry_seal(&out[n]);
	n++;
	if (write(fd, out, n * sizeof(out[0])) != (ssize_t)(n * sizeof(out[0])))
		rc = -EIO;
	return rc;
}

int tkj_index_load(const char *data_path, uint64_t generation, uint64_t first_seq,
		   struct tkj_index *idx, uint64_t *valid_bytes)
{
	struct tkj_index_header h;
	struct tkj_index_entry e;
	char path[640];
	uint64_t expect_no = 0;
	FILE *f;

	memset(idx, 0, sizeof(*idx));
	*valid_bytes = 0;
	tkj_index_path(data_path, path, sizeof(path));
	f = fopen(path, "rbe");
	if (f == NULL)
		return -errno;
	if (fread(&h, sizeof(h), 1, f) != 1 || memcmp(h.magic, TKJ_INDEX_MAGIC, 8) != 0 ||
	    h.crc != tk_crc32c(0, &h, offsetof(struct tkj_index_header, crc)) ||
	    h.entry_size != sizeof(e) || h.generation != generation || h.first_seq != first_seq) {
		fclose(f);
		return -EPROTO;
	}
	*valid_bytes = sizeof(h);
	while (fread(&e, sizeof(e), 1, f) == 1) {
		if (e.crc != tk_crc32c(0, &e, offsetof(struct tkj_index_entry, crc)))
			break;
		if (e.kind == TKJ_IDX_BLOCK && e.block_no != expect_no)
			break;
		if (e.kind != TKJ_IDX_BLOCK && e.kind != TKJ_IDX_SYMBOL)
			break;
		if (idx->n == idx->cap) {
			size_t cap = idx->cap ? idx->cap * 2 : 256;
			struct tkj_index_entry *ne = realloc(idx->e, cap * sizeof(*ne));

			if (ne == NULL) {
				fclose(f);
				tkj_index_free(idx);
				return -ENOMEM;
			}
			idx->e = ne;
			idx->cap = cap;
		}
		idx->e[idx->n++] = e;
		if (e.kind == TKJ_IDX_BLOCK) {
			idx->nblocks++;
			expect_no++;
		}
		*valid_bytes += sizeof(e);
	}
	fclose(f);
	return 0;
}

void tkj_index_free(struct tkj_index *idx)
{
	free(idx->e);
	memset(idx, 0, sizeof(*idx));
}

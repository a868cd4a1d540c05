/* Recovery and verification of journal files (recover.h). */
#include "persist/recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/msg.h"
#include "persist/files.h"
#include "persist/index.h"

#define TKJ_MAX_BLOCK (64u << 20)

static void tkj__mark_symbols(struct tkj_scan *sc, const uint8_t *block, uint32_t nrec,
			      uint32_t rs)
{
	const uint8_t *r = block + TKJ_BLOCK_HEADER;
	uint32_t i;

	for (i = 0; i < nrec; i++, r += rs) {
		uint64_t seq;
		uint32_t type, aux;

		memcpy(&seq, r, 8);
		memcpy(&type, r + 8, 4);
		memcpy(&aux, r + 12, 4);
		if (seq == 0 && type == TKJ_REC_SYMBOL && aux < 65536)
			sc->seen[aux >> 6] |= 1ull << (aux & 63);
	}
}

/* Source records (seq != 0) of a block: last - first + 1 counts the
 * sequences a loss record inside the block declares missing as records
 * (tests/persist/test_recover.c records_do_not_count_lost_sequences). */
static uint64_t tkj__source_records(const uint8_t *block, uint32_t nrec, uint32_t rs)
{
	const uint8_t *r = block + TKJ_BLOCK_HEADER;
	uint64_t n = 0, seq;
	uint32_t i;

	for (i = 0; i < nrec; i++, r += rs) {
		memcpy(&seq, r, 8);
		n += seq != 0;
	}
	return n;
}

/* Past the end: how far non-zero bytes reach within the window. */
static int tkj__find_junk(int fd, struct tkj_scan *sc, uint64_t window, uint8_t *buf, size_t cap)
{
	uint64_t off = sc->end, stop = sc->end + window;

	if (stop > sc->size)
		stop = sc->size;
	sc->junk = 0;
	sc->junk_end = sc->end;
	while (off < stop) {
		size_t n = stop - off < cap ? (size_t)(stop - off) : cap, i;
		int rc = tkj_pread_full(fd, buf, n, off);

		if (rc < 0 && rc != -ENODATA)
			return rc;
		for (i = 0; i < n; i++)
			if (buf[i] != 0) {
				sc->junk++;
				sc->junk_end = off + i + 1;
			}
		off += n;
	}
	return 0;
}

/* Copy [end, junk_end) to "<path>.torn-<end>", then zero it in the file. */
static int tkj__move_aside(const char *path, int fd, struct tkj_scan *sc, uint8_t *buf,
			   size_t cap, char *torn_path, size_t torn_cap)
{
	uint64_t off, len = sc->junk_end - sc->end;
	int out, rc = 0;

	/* A new name each time: a second crash at the same offset, or one
	 * during the zeroing, must not overwrite what an earlier one kept. */
	{
		unsigned k;

		out = -1;
		for (k = 0; k < 1000 && out < 0; k++) {
			if (k == 0)
				snprintf(torn_path, torn_cap, "%s.torn-%" PRIu64, path, sc->end);
			else
				snprintf(torn_path, torn_cap, "%s.torn-%" PRIu64 ".%u", path, sc->end, k);
			out = open(torn_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
			if (out < 0 && errno != EEXIST)
				break;
		}
	}
	if (out < 0)
		return tk_err_set(-errno, "journal: cannot create %s to keep a torn tail: %s", torn_path,
			      strerror(errno));
	for (off = sc->end; off < sc->junk_end && rc == 0; off += cap) {
		size_t n = sc->junk_end - off < cap ? (size_t)(sc->junk_end - off) : cap;

		rc = tkj_pread_full(fd, buf, n, off);
		if (rc == 0)
			rc = tkj_pwrite_full(out, buf, n, off - sc->end);
	}
	if (rc == 0 && fsync(out) < 0)
		rc = -errno;
	close(out);
	if (rc < 0)
		return tk_err_set(rc, "journal: cannot keep the torn tail of %s in %s: %s", path,
			      torn_path, strerror(-rc));
	/* Only now that it is kept elsewhere: zero it in place. */
	memset(buf, 0, cap);
	for (off = sc->end; off < sc->junk_end && rc == 0; off += cap) {
		size_t n = sc->junk_end - off < cap ? (size_t)(sc->junk_end - off) : cap;

		rc = tkj_pwrite_full(fd, buf, n, off);
	}
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (rc < 0)
		return tk_err_set(rc, "journal: cannot zero the torn tail of %s: %s", path,
			      strerror(-rc));
	(void)len;
	return 0;
}

int tkj_scan_file(const char *path, int fd, uint32_t record_size, uint64_t window, bool repair,
		  struct tkj_scan *sc, char *torn_path, size_t torn_cap)
{
	struct tkj_index idx;
	uint64_t idx_valid = 0, off, expect_no = 0, expect_seq;
	size_t cap = 1u << 20;
	uint8_t *buf;
	struct stat st;
	char why[160];
	int rc, idx_fd = -1;
	size_t i;
	bool have_idx;

	memset(sc, 0, sizeof(*sc));
	if (torn_path != NULL && torn_cap > 0)
		torn_path[0] = 0;
	if (fstat(fd, &st) < 0)
		return tk_err_set(-errno, "journal: %s: %s", path, strerror(errno));
	sc->size = (uint64_t)st.st_size;
	rc = tkj_pread_full(fd, &sc->hdr, sizeof(sc->hdr), 0);
	if (rc < 0)
		return tk_err_set(rc == -ENODATA ? -EPROTO : rc, "journal: %s: %s", path,
			      rc == -ENODATA ? "shorter than a journal file header" : strerror(-rc));
	rc = tkj_file_header_check(&sc->hdr, why, sizeof(why));
	if (rc < 0)
		return tk_err_set(rc, "journal: %s: %s", path, why);
	if (record_size != 0 && sc->hdr.record_size != record_size)
		return tk_err_set(-EPROTO, "journal: %s holds records of %u bytes, the log's are %u",
			      path, sc->hdr.record_size, record_size);
	buf = malloc(cap > TKJ_MAX_BLOCK ? cap : TKJ_MAX_BLOCK);
	if (buf == NULL)
		return tk_err_set(-ENOMEM, "journal: out of memory");
	cap = TKJ_MAX_BLOCK;

	off = TKJ_HEADER_SIZE;
	expect_seq = sc->hdr.first_seq;
	sc->next_seq = sc->hdr.first_seq;
	have_idx = tkj_index_load(path, sc->hdr.generation, sc->hdr.first_seq, &idx, &idx_valid) == 0;
	if (have_idx) {
		/* Trust the index up to its last block that checks out on disk. */
		size_t last = idx.n;
		uint64_t o = TKJ_HEADER_SIZE, q = sc->hdr.first_seq;

		/* ... within the entries whose blocks tile the file from its header
		 * on, sequences continuing: entries of good CRCs that say otherwise
		 * (not this data's) gave an end after no block and sequences from
		 * nowhere (tests/fuzz/fuzz_journal.c, corpus_journal/file_loss_gap). */
		for (last = 0; last < idx.n; last++) {
			const struct tkj_index_entry *e = &idx.e[last];

			if (e->kind != TKJ_IDX_BLOCK)
				continue;
			if (e->offset != o || e->length < TKJ_BLOCK_HEADER || e->length % sc->hdr.align ||
			    (q != 0 && e->first_seq != 0 && e->first_seq != q &&
			     !((e->flags & TKJ_IDX_F_GAP) && e->first_seq > q)) ||
			    (e->next_seq != 0 && (e->next_seq <= e->last_seq || e->next_seq < q)))
				break;
			o += e->length;
			if (e->first_seq != 0 || e->next_seq != 0)
				q = e->next_seq;
		}
		while (last > 0) {
			const struct tkj_index_entry *e = &idx.e[last - 1];
			struct tkj_block_info bi;

			if (e->kind == TKJ_IDX_BLOCK && e->length <= TKJ_MAX_BLOCK &&
			    tkj_pread_full(fd, buf, e->length, e->offset) == 0 &&
			    tkj_block_check(buf, e->length, sc->hdr.record_size, sc->hdr.align, 0,
					    e->block_no, &bi) == TKJ_OK &&
			    bi.next_seq == e->next_seq && bi.first_seq == e->first_seq)
				break;
			last--;
		}
		for (i = 0; i < last; i++) {
			const struct tkj_index_entry *e = &idx.e[i];

			if (e->kind == TKJ_IDX_SYMBOL) {
				if (e->length < 65536)
					sc->seen[e->length >> 6] |= 1ull << (e->length & 63);
				continue;
			}
			off = e->offset + e->length;
			expect_no = e->block_no + 1;
			if (e->first_seq != 0 && (e->flags & TKJ_IDX_F_GAP) && e->length <= TKJ_MAX_BLOCK &&
			    e->length >= TKJ_BLOCK_HEADER + (uint64_t)e->nrec * sc->hdr.record_size &&
			    tkj_pread_full(fd, buf, e->length, e->offset) == 0)
				/* a loss inside it: count (such blocks are rare) */
				sc->records += tkj__source_records(buf, e->nrec, sc->hdr.record_size);
			else if (e->first_seq != 0)
				sc->records += e->last_seq - e->first_seq + 1;
			if (e->first_seq != 0 || e->next_seq != 0) {
				expect_seq = e->next_seq;
				sc->last_seq = e->last_seq ? e->last_seq : sc->last_seq;
			}
			sc->blocks++;
		}
		if (last < idx.n)
			idx_valid = TKJ_INDEX_HEADER + last * sizeof(struct tkj_index_entry);
		tkj_index_free(&idx);
	}
	/* The index, cut to its good part, to be extended by what we read. */
	{
		char ipath[640];

		tkj_index_path(path, ipath, sizeof(ipath));
		if (!repair) {
			/* Look, touch nothing: blocks past the index are read. */
			if (!have_idx) {
				off = TKJ_HEADER_SIZE;
				expect_no = 0;
				expect_seq = sc->hdr.first_seq;
				sc->blocks = 0;
				sc->last_seq = 0;
				memset(sc->seen, 0, sizeof(sc->seen));
			}
		} else if (have_idx) {
			idx_fd = open(ipath, O_WRONLY | O_APPEND | O_CLOEXEC);
			if (idx_fd >= 0 && ftruncate(idx_fd, (off_t)idx_valid) < 0) {
				close(idx_fd);
				idx_fd = -1;
			}
		}
		if (repair && idx_fd < 0) {
			/* Missing or unusable: rebuilt from the data. */
			off = TKJ_HEADER_SIZE;
			expect_no = 0;
			expect_seq = sc->hdr.first_seq;
			sc->blocks = 0;
			sc->last_seq = 0;
			memset(sc->seen, 0, sizeof(sc->seen));
			rc = tkj_index_create(path, sc->hdr.generation, sc->hdr.first_seq, &idx_fd);
			if (rc < 0)
				idx_fd = -1; /* read-only place: scan on without an index */
		}
	}
	for (;;) {
		struct tkj_block_header bh;
		struct tkj_block_info bi;
		struct tkj_index_entry e;
		enum tkj_check c;

		if (off + TKJ_BLOCK_HEADER > sc->size) {
			sc->stop = TKJ_END;
			break;
		}
		rc = tkj_pread_full(fd, &bh, sizeof(bh), off);
		if (rc < 0) {
			sc->stop = TKJ_END;
			break;
		}
		if (bh.magic == TKJ_BLOCK_MAGIC && bh.length >= TKJ_BLOCK_HEADER &&
		    bh.length <= TKJ_MAX_BLOCK && off + bh.length <= sc->size) {
			rc = tkj_pread_full(fd, buf, bh.length, off);
			c = rc < 0 ? TKJ_BAD_LENGTH
				   : tkj_block_check(buf, bh.length, sc->hdr.record_size,
						     sc->hdr.align, expect_seq, expect_no, &bi);
		} else {
			memcpy(buf, &bh, sizeof(bh));
			c = tkj_block_check(buf, sizeof(bh), sc->hdr.record_size, sc->hdr.align,
					    expect_seq, expect_no, &bi);
			if (c == TKJ_OK)
				c = TKJ_BAD_LENGTH;
		}
		if (c != TKJ_OK) {
			sc->stop = c;
			if (c != TKJ_END && bh.magic == TKJ_BLOCK_MAGIC) {
				sc->torn_first_seq = bh.first_seq;
				sc->torn_last_seq = bh.last_seq;
			}
			break;
		}
		tkj__mark_symbols(sc, buf, bi.nrec, sc->hdr.record_size);
		if (idx_fd >= 0) {
			tkj_index_entry_of_block(&e, buf, sc->hdr.record_size, off);
			tkj_index_append(idx_fd, &e, buf, sc->hdr.record_size);
		}
		if (bi.first_seq != 0)
			sc->last_seq = bi.last_seq;
		sc->records += tkj__source_records(buf, bi.nrec, sc->hdr.record_size);
		expect_seq = bi.next_seq;
		expect_no++;
		sc->blocks++;
		sc->scanned++;
		off += bi.length;
	}
	sc->index_ok = sc->scanned == 0 && have_idx;
	if (idx_fd >= 0)
		close(idx_fd);
	sc->end = off;
	sc->next_seq = expect_seq;
	rc = tkj__find_junk(fd, sc, window, buf, 1u << 20);
	if (rc == 0 && sc->junk > 0 && repair)
		rc = tkj__move_aside(path, fd, sc, buf, 1u << 20, torn_path, torn_cap);
	free(buf);
	return rc < 0 ? tk_err_set(rc, "journal: %s: %s", path, strerror(-rc)) : 0;
}

int tkj_walk_blocks(int fd, const struct tkj_file_header *hdr, uint64_t size, uint64_t *end,
		    uint64_t *next_seq, enum tkj_check *stop)
{
	uint8_t *buf = malloc(TKJ_MAX_BLOCK);
	uint64_t off = TKJ_HEADER_SIZE, want = hdr->first_seq, no = 0;

	if (buf == NULL)
		return -ENOMEM;
	*stop = TKJ_END;
	for (;;) {
		struct tkj_block_header bh;
		struct tkj_block_info bi;

		if (off + TKJ_BLOCK_HEADER > size || tkj_pread_full(fd, &bh, sizeof(bh), off) < 0)
			break;
		if (bh.magic != TKJ_BLOCK_MAGIC || bh.length < TKJ_BLOCK_HEADER ||
		    bh.length > TKJ_MAX_BLOCK || off + bh.length > size) {
			memcpy(buf, &bh, sizeof(bh));
			*stop = tkj_block_check(buf, sizeof(bh), hdr->record_size, hdr->align, want, no,
						NULL);
			if (*stop == TKJ_OK)
				*stop = TKJ_BAD_LENGTH;
			break;
		}
		if (tkj_pread_full(fd, buf, bh.length, off) < 0) {
			*stop = TKJ_BAD_LENGTH;
			break;
		}
		*stop = tkj_block_check(buf, bh.length, hdr->record_size, hdr->align, want, no, &bi);
		if (*stop != TKJ_OK)
			break;
		want = bi.next_seq;
		no++;
		off += bi.length;
		*stop = TKJ_END;
	}
	free(buf);
	*end = off;
	*next_seq = want;
	return 0;
}

/* ----------------------------------------------------------- listing */

static int tkj__ref_cmp(const void *a, const void *b)
{
	const struct tkj_file_ref *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->generation != y->generation)
		return x->generation < y->generation ? -1 : 1;
	if (x->first_seq != y->first_seq)
		return x->first_seq < y->first_seq ? -1 : 1;
	return strcmp(x->log, y->log);
}

int tkj_list_files(const char *dir, const char *stream, const char *log, int32_t from_day,
		   int32_t to_day, struct tkj_file_ref **out)
{
	char sdir[512];
	struct dirent *de;
	struct tkj_file_ref *v = NULL;
	size_t n = 0, cap = 0;
	DIR *d;

	*out = NULL;
	snprintf(sdir, sizeof(sdir), "%s/%s", dir, stream);
	d = opendir(sdir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		char ddir[800];
		struct dirent *fe;
		int32_t day;
		DIR *dd;

		if (tkj_day_parse(de->d_name, &day) < 0 || day < from_day || day > to_day)
			continue;
		if (snprintf(ddir, sizeof(ddir), "%s/%s", sdir, de->d_name) >= (int)sizeof(ddir))
			continue;
		dd = opendir(ddir);
		if (dd == NULL) {
			/* A day that cannot be read is not a day without data. */
			int rc = -errno;

			closedir(d);
			free(v);
			return rc;
		}
		while ((fe = readdir(dd)) != NULL) {
			struct tkj_file_ref r;

			if (tkj_file_name_parse(fe->d_name, r.log, sizeof(r.log), &r.generation,
						&r.first_seq) < 0)
				continue;
			if (log != NULL && strcmp(r.log, log) != 0)
				continue;
			r.day = day;
			if ((size_t)snprintf(r.path, sizeof(r.path), "%s/%s", ddir, fe->d_name) >=
			    sizeof(r.path))
				continue;
			if (n == cap) {
				struct tkj_file_ref *nv;

				cap = cap ? cap * 2 : 64;
				nv = realloc(v, cap * sizeof(*v));
				if (nv == NULL) {
					closedir(dd);
					closedir(d);
					free(v);
					return -ENOMEM;
				}
				v = nv;
			}
			v[n++] = r;
		}
		closedir(dd);
	}
	closedir(d);
	/* No file: v is NULL, and qsort's base must not be (UBSan: nonnull;
	 * tests/persist/test_recover.c, a log without files). */
	if (n > 1)
		qsort(v, n, sizeof(*v), tkj__ref_cmp);
	*out = v;
	return (int)n;
}

/* ----------------------------------------------------------- recovery */

int tkj_recover_stream(const char *dir, const char *stream, const char *log, uint64_t generation,
		       uint32_t record_size, uint64_t window, struct tkj_recovered *out)
{
	struct tkj_file_ref *files, *newest = NULL;
	struct tkj_scan *sc;
	int n, i, fd, rc;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->idx_fd = -1;
	n = tkj_list_files(dir, stream, log, INT32_MIN, INT32_MAX, &files);
	if (n < 0)
		return tk_err_set(n, "journal: cannot list %s/%s: %s", dir, stream, strerror(-n));
	/* The newest file of this log and segment (the highest first sequence,
	 * whatever its day): a segment used again after another goes on with
	 * its own files.  With none of this segment, the newest of any other
	 * is finished off (its tail repaired, trimmed). */
	for (i = 0; i < n; i++)
		if (files[i].generation == generation &&
		    (newest == NULL || files[i].first_seq > newest->first_seq))
			newest = &files[i];
	if (newest == NULL)
		for (i = 0; i < n; i++)
			if (newest == NULL || files[i].generation > newest->generation ||
			    (files[i].generation == newest->generation &&
			     files[i].first_seq > newest->first_seq))
				newest = &files[i];
	if (newest == NULL) {
		free(files);
		return 0;
	}
	fd = open(newest->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		tk_err_set(rc, "journal: cannot open %s: %s", newest->path, strerror(errno));
		free(files);
		return rc;
	}
	/* Read what is on the disk, not pages a failed writeback left in the
	 * cache looking written (the journal stops after a failed fdatasync
	 * and comes back here). */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	sc = malloc(sizeof(*sc));
	if (sc == NULL) {
		close(fd);
		free(files);
		return tk_err_set(-ENOMEM, "journal: out of memory");
	}
	rc = tkj_scan_file(newest->path, fd, record_size, window, true, sc, out->torn_path,
			   sizeof(out->torn_path));
	if (rc < 0) {
		close(fd);
		free(sc);
		free(files);
		return rc;
	}
	snprintf(out->path, sizeof(out->path), "%s", newest->path);
	out->blocks = sc->scanned;
	out->scanned_bytes = sc->scanned ? sc->end : 0;
	if (sc->junk > 0) {
		out->torn_bytes = sc->junk_end - sc->end;
		(void)!snprintf(out->message, sizeof(out->message),
			 "%s: torn tail of %" PRIu64 " bytes at offset %" PRIu64 " (%s%s%" PRIu64
			 "-%" PRIu64 ") kept in %s and zeroed; the stream resumes at sequence %" PRIu64,
			 newest->path, out->torn_bytes, sc->end, tkj_check_name(sc->stop),
			 sc->torn_first_seq ? ", a block claiming sequences " : ", sequences ",
			 sc->torn_first_seq, sc->torn_last_seq, out->torn_path, sc->next_seq);
	}
	if (newest->generation != generation) {
		/* Another segment's: finished, trimmed to its data. */
		if (ftruncate(fd, (off_t)sc->end) < 0 || fsync(fd) < 0)
			tk_warn("journal: cannot trim %s: %s", newest->path, strerror(errno));
		close(fd);
		free(sc);
		free(files);
		return 0;
	}
	out->found = true;
	out->next_seq = sc->next_seq;
	out->fd = fd;
	out->day = sc->hdr.day;
	out->first_seq = sc->hdr.first_seq;
	out->end = sc->end;
	out->size = sc->size;
	out->align = sc->hdr.align;
	out->blocks_in_file = sc->blocks;
	memcpy(out->seen, sc->seen, sizeof(out->seen));
	{
		char ipath[640];

		tkj_index_path(newest->path, ipath, sizeof(ipath));
		out->idx_fd = open(ipath, O_WRONLY | O_APPEND | O_CLOEXEC);
	}
	free(sc);
	free(files);
	return 0;
}

void tkj_recovered_free(struct tkj_recovered *r)
{
	(void)r; /* nothing allocated: the descriptors went to the writer */
}

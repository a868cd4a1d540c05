/* History queries over the journal (query.h). */
#include "persist/query.h"

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
#include "persist/files.h"
#include "persist/format.h"
#include "persist/index.h"
#include "persist/recover.h"
#include "shm/records.h"

#define TKJ_NS_PER_DAY (86400LL * 1000000000LL)
#define TKJ_MAX_BLOCK (64u << 20)

/* A file's dictionary: symbol id -> name, from its index and its blocks. */
struct tkj_dict {
	uint32_t *id;
	char (*name)[TKJ_NAME_MAX];
	size_t n, cap;
};

static void tkj__dict_put(struct tkj_dict *d, uint32_t id, const char *name)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->id[i] == id)
			return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		uint32_t *ni = realloc(d->id, cap * sizeof(*ni));
		char(*nn)[TKJ_NAME_MAX];

		if (ni == NULL)
			return;
		d->id = ni;
		nn = realloc(d->name, cap * sizeof(*nn));
		if (nn == NULL)
			return;
		d->name = nn;
		d->cap = cap;
	}
	d->id[d->n] = id;
	memcpy(d->name[d->n], name, TKJ_NAME_MAX);
	d->name[d->n][TKJ_NAME_MAX - 1] = 0;
	d->n++;
}

static const char *tkj__dict_name(const struct tkj_dict *d, uint32_t id)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->id[i] == id)
			return d->name[i];
	return NULL;
}

static bool tkj__dict_id(const struct tkj_dict *d, const char *name, uint32_t *id)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->name[i], name) == 0) {
			*id = d->id[i];
			return true;
		}
	return false;
}

static bool tkj__has_symbol(uint32_t type)
{
	return type == TK_REC_TICK || type == TK_REC_BAR || type == TK_REC_SIGNAL;
}

struct tkj__qctx {
	const struct tkj_query *q;
	tkj_record_fn fn;
	void *ctx;
	struct tkj_query_stats *st;
	bool gaps;
	int stop;
};

/* Give the records of one checked block.  Returns nonzero to stop. */
static int tkj__emit_block(struct tkj__qctx *c, const uint8_t *block, uint32_t rs,
			   struct tkj_dict *d, const char *log, bool want_id, uint32_t sym_id)
{
	const struct tkj_block_header *bh = (const void *)block;
	const uint8_t *r = block + TKJ_BLOCK_HEADER;
	uint32_t i;

	for (i = 0; i < bh->nrec; i++, r += rs) {
		uint64_t seq;
		uint32_t type, aux;
		int64_t t;
		int rc;

		memcpy(&seq, r, 8);
		memcpy(&type, r + 8, 4);
		memcpy(&aux, r + 12, 4);
		if (seq == 0) {
			if (type == TKJ_REC_SYMBOL)
				tkj__dict_put(d, aux, (const char *)r + 16);
			else if (type == TKJ_REC_LOSS && c->gaps) {
				rc = c->fn(c->ctx, r, rs, NULL, log);
				c->st->records++;
				if (rc != 0)
					return c->stop = rc;
			}
			continue;
		}
		if (c->gaps ? type != TK_REC_GAP
			    : (type == TK_REC_HEARTBEAT && !c->q->heartbeats))
			continue;
		if (want_id && (!tkj__has_symbol(type) || aux != sym_id))
			continue;
		t = tkj_record_time(r);
		if (t != INT64_MIN && (t < c->q->from_ns || t >= c->q->to_ns))
			continue;
		rc = c->fn(c->ctx, r, rs, tkj__has_symbol(type) ? tkj__dict_name(d, aux) : NULL, log);
		c->st->records++;
		if (rc != 0)
			return c->stop = rc;
		if (c->q->limit != 0 && c->st->records >= c->q->limit)
			return c->stop = 1;
	}
	return 0;
}

/* Only the dictionary records of a checked block. */
static void tkj__dict_of_block(struct tkj_dict *d, const uint8_t *block, uint32_t rs)
{
	const struct tkj_block_header *bh = (const void *)block;
	const uint8_t *r = block + TKJ_BLOCK_HEADER;
	uint32_t i;

	for (i = 0; i < bh->nrec; i++, r += rs) {
		uint64_t seq;
		uint32_t type, aux;

		memcpy(&seq, r, 8);
		memcpy(&type, r + 8, 4);
		memcpy(&aux, r + 12, 4);
		if (seq == 0 && type == TKJ_REC_SYMBOL)
			tkj__dict_put(d, aux, (const char *)r + 16);
	}
}

static bool tkj__block_wanted(const struct tkj__qctx *c, const struct tkj_index_entry *e,
			      bool want_id, uint32_t id)
{
	if (c->gaps)
		return (e->flags & TKJ_IDX_F_GAP) != 0;
	if (want_id && !tkj_index_has_symbol(e, id))
		return false;
	/* Blocks holding only records without a time (min > max) are read. */
	if (e->min_ts <= e->max_ts && (e->max_ts < c->q->from_ns || e->min_ts >= c->q->to_ns))
		return false;
	return true;
}

static int tkj__query_file(struct tkj__qctx *c, const struct tkj_file_ref *ref, uint8_t *buf,
			   bool newest)
{
	struct tkj_file_header hdr;
	struct tkj_index idx;
	struct tkj_dict d = { 0 };
	uint64_t valid, off = TKJ_HEADER_SIZE, expect_no = 0;
	uint32_t sym_id = 0;
	uint64_t blocks_before;
	bool want_id = c->q->symbol != NULL && !c->gaps, have_idx;
	char why[160];
	size_t i;
	int fd, rc = 0;

	fd = open(ref->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tk_err_set(-errno, "journal: cannot open %s: %s", ref->path, strerror(errno));
	if (tkj_pread_full(fd, &hdr, sizeof(hdr), 0) < 0 ||
	    tkj_file_header_check(&hdr, why, sizeof(why)) < 0) {
		close(fd);
		return tk_err_set(-EPROTO, "journal: %s: %s", ref->path,
				  memcmp(hdr.magic, TKJ_FILE_MAGIC, 8) == 0 ? why
									 : "not a journal file");
	}
	c->st->files++;
	blocks_before = c->st->blocks;
	have_idx = tkj_index_load(ref->path, hdr.generation, hdr.first_seq, &idx, &valid) == 0;
	if (have_idx) {
		for (i = 0; i < idx.n; i++)
			if (idx.e[i].kind == TKJ_IDX_SYMBOL)
				tkj__dict_put(&d, idx.e[i].length, idx.e[i].u.name);
		if (want_id && !tkj__dict_id(&d, c->q->symbol, &sym_id) &&
		    idx.nblocks > 0) {
			/* Not in the indexed part: only blocks past it may name it. */
			const struct tkj_index_entry *last = NULL;

			for (i = 0; i < idx.n; i++)
				if (idx.e[i].kind == TKJ_IDX_BLOCK)
					last = &idx.e[i];
			off = last->offset + last->length;
			expect_no = last->block_no + 1;
			c->st->blocks_skipped += idx.nblocks;
			goto tail;
		}
		for (i = 0; i < idx.n && c->stop == 0; i++) {
			const struct tkj_index_entry *e = &idx.e[i];
			enum tkj_check ck;

			if (e->kind != TKJ_IDX_BLOCK)
				continue;
			off = e->offset + e->length;
			expect_no = e->block_no + 1;
			if (!tkj__block_wanted(c, e, want_id, sym_id)) {
				c->st->blocks_skipped++;
				continue;
			}
			if (e->length > TKJ_MAX_BLOCK || tkj_pread_full(fd, buf, e->length, e->offset) < 0 ||
			    (ck = tkj_block_check(buf, e->length, hdr.record_size, hdr.align, 0,
						  e->block_no, NULL)) != TKJ_OK) {
				c->st->bad_blocks++;
				rc = tk_err_set(-EBADMSG, "journal: %s: block %" PRIu64 " at offset %" PRIu64
						" does not check out: run tickd journal verify",
						ref->path, e->block_no, e->offset);
				goto done;
			}
			c->st->blocks++;
			tkj__emit_block(c, buf, hdr.record_size, &d, ref->log, want_id, sym_id);
		}
	}
tail:
	/* What the index does not cover (it is written after the data, or
	 * missing): read block by block to the end of the data. */
	while (c->stop == 0) {
		struct tkj_block_header bh;
		struct tkj_block_info bi;
		struct tkj_index_entry e;

		enum tkj_check ck = TKJ_BAD_LENGTH;

		if (tkj_pread_full(fd, &bh, sizeof(bh), off) < 0) {
			ck = TKJ_END; /* the end of the file */
		} else if (bh.magic == TKJ_BLOCK_MAGIC && bh.length <= TKJ_MAX_BLOCK &&
			   bh.length >= TKJ_BLOCK_HEADER && tkj_pread_full(fd, buf, bh.length, off) == 0) {
			ck = tkj_block_check(buf, bh.length, hdr.record_size, hdr.align, 0, expect_no,
					     &bi);
		} else if (bh.magic != TKJ_BLOCK_MAGIC) {
			memcpy(buf, &bh, sizeof(bh));
			ck = tkj_block_check(buf, sizeof(bh), hdr.record_size, hdr.align, 0, expect_no,
					     NULL);
		}
		if (ck != TKJ_OK) {
			/* Zeros end the data.  Anything else ends it too, but in a
			 * log's newest file that may be a block in flight; in a
			 * finished file it is damage, and said. */
			if (ck != TKJ_END && !newest) {
				c->st->bad_blocks++;
				rc = tk_err_set(-EBADMSG, "journal: %s: block %" PRIu64 " at offset %" PRIu64
						" does not check out (%s): run tickd journal verify",
						ref->path, expect_no, off, tkj_check_name(ck));
			}
			break;
		}
		tkj_index_entry_of_block(&e, buf, hdr.record_size, off);
		off += bi.length;
		expect_no++;
		/* The dictionary records of skipped blocks still name symbols:
		 * taken from every block read, not only while the query's own
		 * symbol is unknown (a block skipped for its time named symbols
		 * later records carry: they came out with no name;
		 * tests/persist/test_query.c without_the_indexes). */
		tkj__dict_of_block(&d, buf, hdr.record_size);
		if (want_id && !tkj__dict_id(&d, c->q->symbol, &sym_id)) {
			c->st->blocks_skipped++;
			continue;
		}
		if (!tkj__block_wanted(c, &e, want_id, sym_id)) {
			c->st->blocks_skipped++;
			continue;
		}
		c->st->blocks++;
		tkj__emit_block(c, buf, hdr.record_size, &d, ref->log, want_id, sym_id);
	}
done:
	/* A file none of whose blocks was read (its dictionary lacks the
	 * symbol, or no block meets the time range) is a skipped file: the
	 * count was never kept (tests/persist/test_query.c). */
	if (rc == 0 && c->st->blocks == blocks_before)
		c->st->files_skipped++;
	if (have_idx)
		tkj_index_free(&idx);
	free(d.id);
	free(d.name);
	close(fd);
	return rc;
}

/* The streams a query reads: one, or every one for "gaps". */
static int tkj__query_stream(struct tkj__qctx *c, const char *stream, uint8_t *buf, int *bad)
{
	struct tkj_file_ref *files;
	int32_t from_day, to_day;
	int n, i, rc = 0;

	from_day = c->q->from_ns == INT64_MIN ? INT32_MIN : tkj_day_of(c->q->from_ns);
	to_day = c->q->to_ns == INT64_MAX ? INT32_MAX
					  : tkj_day_of(c->q->to_ns - 1) + c->q->late_days;
	n = tkj_list_files(c->q->dir, stream, NULL, from_day, to_day, &files);
	if (n < 0)
		return tk_err_set(n, "journal: cannot list %s/%s: %s", c->q->dir, stream,
				  strerror(-n));
	/* Log by log (ticks.0 before ticks.1), each in the order written. */
	for (;;) {
		const char *log = NULL;

		for (i = 0; i < n; i++)
			if (files[i].path[0] != 0 && (log == NULL || strcmp(files[i].log, log) < 0))
				log = files[i].log;
		if (log == NULL || c->stop != 0)
			break;
		{
			char cur[TKJ_NAME_MAX];

			snprintf(cur, sizeof(cur), "%s", log);
			for (i = 0; i < n && c->stop == 0; i++) {
				if (files[i].path[0] == 0 || strcmp(files[i].log, cur) != 0)
					continue;
				bool newest = true;
				int k;

				for (k = i + 1; k < n; k++)
					if (strcmp(files[k].log, cur) == 0)
						newest = false;
				rc = tkj__query_file(c, &files[i], buf, newest);
				files[i].path[0] = 0;
				/* A file that cannot be read (damaged, foreign): said, and
				 * the others still given. */
				if (rc < 0 && *bad == 0)
					*bad = rc;
				rc = 0;
			}
			for (i = 0; i < n; i++)
				if (strcmp(files[i].log, cur) == 0)
					files[i].path[0] = 0;
		}
		if (rc < 0)
			break;
	}
	free(files);
	return rc;
}

int tkj_query_run(const struct tkj_query *q, tkj_record_fn fn, void *ctx,
		  struct tkj_query_stats *st)
{
	struct tkj__qctx c = { .q = q, .fn = fn, .ctx = ctx, .st = st };
	struct tkj_query_stats local;
	uint8_t *buf;
	int rc = 0, bad = 0;

	if (st == NULL)
		c.st = &local;
	memset(c.st, 0, sizeof(*c.st));
	c.gaps = strcmp(q->stream, "gaps") == 0;
	buf = malloc(TKJ_MAX_BLOCK);
	if (buf == NULL)
		return tk_err_set(-ENOMEM, "journal: out of memory");
	if (c.gaps) {
		char list[2048], *save = NULL, *s;

		rc = tkj_query_streams(q->dir, list, sizeof(list));
		for (s = rc < 0 ? NULL : strtok_r(list, ",", &save); s != NULL && c.stop == 0;
		     s = strtok_r(NULL, ",", &save)) {
			rc = tkj__query_stream(&c, s, buf, &bad);
			if (rc < 0)
				break;
		}
	} else {
		rc = tkj__query_stream(&c, q->stream, buf, &bad);
	}
	free(buf);
	if (rc < 0)
		return rc;
	if (c.stop != 0 && c.stop != 1)
		return c.stop;
	return bad;
}

int tkj_query_streams(const char *dir, char *out, size_t cap)
{
	struct dirent *de;
	size_t len = 0;
	DIR *d = opendir(dir);

	if (cap > 0)
		out[0] = 0;
	if (d == NULL)
		return tk_err_set(-errno, "journal: cannot open %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char p[1024];
		struct stat st;
		int w;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "LOCK") == 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p) ||
		    stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		w = snprintf(out + len, cap - len, "%s%s", len ? "," : "", de->d_name);
		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
	}
	closedir(d);
	return 0;
}

/* ----------------------------------------------------------- times */

static int tkj__digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int tkj_parse_time(const char *text, int64_t *ns)
{
	const char *p = text;
	char date[11];
	int32_t day;
	int hh = 0, mm = 0, ss = 0, sign, oh, om;
	int64_t frac = 0, scale = 100000000, t;
	size_t i, n = strlen(text);

	if (n == 0)
		return -EINVAL;
	for (i = 0; i < n && text[i] >= '0' && text[i] <= '9'; i++)
		;
	if (i == n) {
		/* epoch milliseconds */
		long long ms;
		char *end;

		if (n > 15)
			return -EINVAL;
		ms = strtoll(text, &end, 10);
		/* Past 9223372036854 ms the ns do not fit an int64: refuse
		 * rather than wrap (signed overflow; tests/persist/test_days.c). */
		if (ms > INT64_MAX / 1000000)
			return -EINVAL;
		*ns = (int64_t)ms * 1000000;
		return 0;
	}
	if (n < 10)
		return -EINVAL;
	memcpy(date, text, 10);
	date[10] = 0;
	if (tkj_day_parse(date, &day) < 0)
		return -EINVAL;
	p = text + 10;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (tkj__digits(&p, 2, &hh) < 0 || *p++ != ':' || tkj__digits(&p, 2, &mm) < 0)
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (tkj__digits(&p, 2, &ss) < 0)
				return -EINVAL;
			if (*p == '.') {
				p++;
				if (*p < '0' || *p > '9')
					return -EINVAL;
				while (*p >= '0' && *p <= '9') {
					frac += (*p - '0') * scale;
					scale /= 10;
					p++;
				}
			}
		}
		if (hh > 23 || mm > 59 || ss > 60)
			return -EINVAL;
	}
	/* tkj_day_parse takes years to 9999, int64 ns end in 2262: checked
	 * arithmetic, so a later time is refused, not wrapped (signed overflow;
	 * tests/persist/test_days.c). */
	if (__builtin_mul_overflow((int64_t)day, TKJ_NS_PER_DAY, &t) ||
	    __builtin_add_overflow(t, ((int64_t)hh * 3600 + mm * 60 + ss) * 1000000000LL + frac, &t))
		return -EINVAL;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (tkj__digits(&p, 2, &oh) < 0)
			return -EINVAL;
		if (*p == ':')
			p++;
		if (tkj__digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -EINVAL;
		if (__builtin_sub_overflow(t, sign * ((int64_t)oh * 3600 + om * 60) * 1000000000LL, &t))
			return -EINVAL;
	}
	if (*p != 0)
		return -EINVAL;
	*ns = t;
	return 0;
}

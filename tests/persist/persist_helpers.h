/* Shared by the journal's unit tests: temporary directories under /tmp,
 * slot-form records, a journal written through the real writer, and an
 * independent walk of a data file's block headers. */
#ifndef TK_TESTS_PERSIST_HELPERS_H
#define TK_TESTS_PERSIST_HELPERS_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "persist/format.h"
#include "persist/index.h"
#include "persist/journal.h"
#include "persist/recover.h"
#include "shm/records.h"

/* 2023-12-01T00:00:00Z in epoch ns (python3: datetime(2023,12,1,tzinfo=utc)). */
#define PT_DAY0_NS 1701388800000000000LL
#define PT_DAY0 19692 /* (date(2023,12,1) - date(1970,1,1)).days */
#define PT_NS_PER_DAY 86400000000000LL
#define PT_GEN 0x1234abcdull

/* The slot header every log record starts with (shm/records.h). */
struct pt_slot {
	uint64_t seq;
	uint32_t type;
	uint32_t aux;
	uint8_t data[];
};

/* A fresh directory /tmp/tkj-<tag>-XXXXXX. */
static inline void pt_tmpdir(char *out, size_t cap, const char *tag)
{
	snprintf(out, cap, "/tmp/tkj-%s-XXXXXX", tag);
	cr_assert_not_null(mkdtemp(out), "mkdtemp %s", out);
}

static inline int pt__rm(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void pt_rmrf(const char *dir)
{
	if (dir[0] != 0)
		nftw(dir, pt__rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A trade in slot form (record_size bytes at slot).  src's top byte is
 * 0xA5 so that a record's last byte is never zero: cutting a record short
 * always changes the block. */
static inline void pt_tick(void *slot, uint32_t record_size, uint64_t seq, uint32_t sym,
			   int64_t ts)
{
	struct pt_slot *s = slot;
	struct tk_tick t = { .ts_ns = ts,
			     .price = 100.0 + (double)seq / 100.0,
			     .size = (double)(1 + seq % 7),
			     .recv_ns = ts + 5,
			     .conditions = 0,
			     .feed = 1,
			     .src = 0xA500000000000000ull | seq };

	memset(slot, 0, record_size);
	s->seq = seq;
	s->type = TK_REC_TICK;
	s->aux = sym;
	memcpy(s->data, &t, sizeof(t));
}

/* An input record: what the test hands the writer. */
struct pt_rec {
	uint64_t seq;
	uint32_t sym;
	int64_t ts;
};

static const char *const pt_symbol_names[] = { "AAPL", "MSFT", "AMZN", "BINANCE:BTCUSDT",
					       "NVDA", "IC MARKETS:1", "TSLA", "GOOG" };
#define PT_NSYMS 8u

static inline const char *pt_names(void *ctx, uint32_t id)
{
	(void)ctx;
	return id < PT_NSYMS ? pt_symbol_names[id] : NULL;
}

/* Whether the last pt_write wrote with O_DIRECT. */
static uint32_t pt_last_direct;

/* Set: blocks are sealed only when full (no commit timer while writing;
 * a commit after every block written instead), so a test knows their
 * sizes.  Otherwise the 1 ms timer seals part-full ones as it goes. */
static bool pt_full_blocks;

static inline void pt_opts(struct tkj_opts *o, const char *dir, int direct)
{
	tkj_opts_default(o);
	o->dir = dir;
	o->block_bytes = 8192;
	o->nbufs = 4;
	o->file_bytes = 1u << 20;
	o->prealloc_bytes = 65536;
	o->direct = direct;
	if (pt_full_blocks) {
		o->commit_ns = 600000000000LL;
		o->commit_bytes = 4096;
	}
}

/* The writer gives no room now and then (every buffer written, waiting for
 * the commit timer): a loop polls on, and gives up after 20 s without
 * progress.  *since: 0 at the start. */
static inline void pt_stall_check(int64_t *since, bool progress, size_t at)
{
	int64_t now = tk_mono_ns();

	if (progress || *since == 0)
		*since = now;
	cr_assert_lt(now - *since, 20000000000LL, "the writer made no progress for 20 s at %zu", at);
}

/*
 * Write recs[0..n) to a journal in dir through the writer (log ticks.0,
 * 64-byte records), at most `chunk` records per append (0: as many as
 * there is room for), then close it.  The first record must be the
 * stream's next sequence.  Returns the journal's alignment.
 */
static inline uint32_t pt_write(const char *dir, int direct, const struct pt_rec *recs, size_t n,
				uint32_t chunk, struct tkj_resume *res_out)
{
	struct tkj_journal *j;
	struct tkj_opts o;
	struct tkj_resume res;
	uint32_t align;
	size_t i = 0;
	int64_t since = 0;
	int sid, rc;

	pt_opts(&o, dir, direct);
	rc = tkj_open(&j, &o);
	cr_assert_eq(rc, 0, "tkj_open: %s", tk_err_msg());
	sid = tkj_stream_add(j, "ticks.0", 64, PT_GEN, pt_names, NULL, &res);
	cr_assert_geq(sid, 0, "tkj_stream_add: %s", tk_err_msg());
	if (n > 0)
		cr_assert_eq(res.next_seq, recs[0].seq, "the journal resumes at %llu, input at %llu",
			     (unsigned long long)res.next_seq, (unsigned long long)recs[0].seq);
	if (res_out != NULL)
		*res_out = res;
	while (i < n) {
		uint32_t room, k, q;
		uint8_t *r = tkj_append_room(j, sid, &room);

		if (r == NULL) {
			cr_assert_geq(tkj_poll(j, 1000000), 0, "tkj_poll: %s", tk_err_msg());
			pt_stall_check(&since, false, i);
			continue;
		}
		k = room;
		if (chunk != 0 && k > chunk)
			k = chunk;
		if (k > n - i)
			k = (uint32_t)(n - i);
		for (q = 0; q < k; q++)
			pt_tick(r + (size_t)q * 64, 64, recs[i + q].seq, recs[i + q].sym,
				recs[i + q].ts);
		rc = tkj_append_done(j, sid, k, tk_mono_ns());
		cr_assert_geq(rc, 0, "tkj_append_done: %s", tk_err_msg());
		i += (size_t)rc;
		pt_stall_check(&since, rc > 0, i);
		cr_assert_geq(tkj_poll(j, rc < (int)k ? 1000000 : 0), 0, "tkj_poll: %s",
			      tk_err_msg());
	}
	align = tkj_counters(j)->align;
	pt_last_direct = tkj_counters(j)->direct;
	rc = tkj_close(j, 10000000000LL);
	cr_assert_eq(rc, 0, "tkj_close: %s", tk_err_msg());
	return align;
}

/* n records from seq `first`, symbols cycling over nsym, ts one ms apart
 * from t0. */
static inline struct pt_rec *pt_recs(uint64_t first, size_t n, uint32_t nsym, int64_t t0)
{
	struct pt_rec *v = calloc(n, sizeof(*v));
	size_t i;

	cr_assert_not_null(v);
	for (i = 0; i < n; i++) {
		v[i].seq = first + i;
		v[i].sym = (uint32_t)(i % nsym);
		v[i].ts = t0 + (int64_t)i * 1000000;
	}
	return v;
}

/* The whole of a file, malloc'd. */
static inline uint8_t *pt_slurp(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open %s", path);
	cr_assert_eq(fstat(fd, &st), 0);
	b = malloc((size_t)st.st_size + 1);
	cr_assert_not_null(b);
	cr_assert_eq(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return b;
}

static inline void pt_spit(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

	cr_assert_geq(fd, 0, "create %s", path);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static inline bool pt_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* A block as its header says, found by walking the headers (not by the
 * code under test). */
struct pt_block {
	uint64_t off;
	uint32_t len, nrec;
	uint64_t first, last, block_no;
};

static inline size_t pt_walk(const uint8_t *file, size_t size, struct pt_block *out, size_t cap)
{
	uint64_t off = TKJ_HEADER_SIZE;
	size_t n = 0;

	while (off + sizeof(struct tkj_block_header) <= size && n < cap) {
		struct tkj_block_header h;

		memcpy(&h, file + off, sizeof(h));
		if (h.magic != TKJ_BLOCK_MAGIC || h.length == 0 || off + h.length > size)
			break;
		out[n].off = off;
		out[n].len = h.length;
		out[n].nrec = h.nrec;
		out[n].first = h.first_seq;
		out[n].last = h.last_seq;
		out[n].block_no = h.block_no;
		n++;
		off += h.length;
	}
	return n;
}

/* The data files of ticks in dir. */
static inline int pt_files(const char *dir, struct tkj_file_ref **out)
{
	int n = tkj_list_files(dir, "ticks", "ticks.0", INT32_MIN, INT32_MAX, out);

	cr_assert_geq(n, 0, "tkj_list_files: %d", n);
	return n;
}

#endif

/*
 * libFuzzer target for the journal's readers of outside input (persist/):
 * data files and their indexes as recovery, `tickd journal verify` and
 * queries read them, block and file header checks, the times and days a
 * user writes, retention rules.  Beyond "no crash, no sanitizer report, no
 * leak" it checks what the readers promise (abort on a violation).
 *
 * The first byte picks the mode (its value % 5):
 *
 *   0  a data file: [0][flags][data file bytes][TKJINDX1...: its index]
 *      The data goes to <tmp>/ticks/<day>/ticks.0.<gen>.<first seq>.tkj,
 *      what starts at the first "TKJINDX1" (the index magic) after the file
 *      header to "<that>.idx" beside it.  Flags: bits 0-1 the scan window
 *      (0, 4 KiB, 64 KiB, UINT64_MAX / 2 as tickd journal verify), bit 2
 *      re-seal the file header's CRC, bit 3 the CRCs of the blocks (walked
 *      by their lengths), bit 4 those of the index header and entries (so
 *      that mutations reach what lies behind the checksums), bit 5 scan
 *      for the record size of a tick log, 64 (else 0: any), bit 6 the day
 *      directory 2024-01-02 whatever the header says, bit 7 queries with
 *      heartbeats.  Then: tkj_scan_file without repair and tkj_walk_blocks
 *      (against a walk of the fuzzer's own); queries (every
 *      record; one symbol in a time range; "gaps"; a limit; a callback
 *      that stops); tkj_scan_file with repair; a scan again; the queries
 *      again; tkj_recover_stream for this segment and for another (which
 *      trims the file).  Checked: the end is 4096 and whole blocks (the
 *      index's part tiles the file, its last block checks out, what
 *      follows is what a reader that trusts nothing finds), end <= size,
 *      next_seq >= the header's first_seq; the repair wrote only the torn
 *      tail's copy beside the file and zeros over it, and a scan after it
 *      finds no junk, the same end and next_seq, the index whole; every
 *      record a query gives is one of a block that passes tkj_block_check,
 *      in the range, of the symbol, of the kinds asked.
 *   1  tkj_block_check on a raw buffer: [1][params][options][block bytes]
 *      (record size 64/128/256 and alignment 64/512/4096 from params;
 *      options: bit 0 expect the first record's sequence, bit 1 the
 *      header's block number, bit 2 re-seal the CRC).
 *   2  tkj_file_header_check on 256 bytes: [2][options][header] (option
 *      bit 0: re-seal the CRC).
 *   3  tkj_parse_time, tkj_day_parse and tkj_file_name_parse on a string:
 *      [3][text]; what they accept is written back and parses the same.
 *   4  tkj_retain_parse: [4][max rules][text].
 *
 *   build-fuzzj/fuzz/fuzz_journal -max_len=65536 -dict=tests/fuzz/journal.dict \
 *       -max_total_time=300 WORK tests/fuzz/corpus_journal
 *
 * Files go to one private directory per process ($TMPDIR or /tmp,
 * "fuzz_journal.<pid>.XXXXXX"), emptied after every input and removed at
 * exit; directories a killed run left behind (their pid gone) are removed
 * at the next start.  fsync and fdatasync are no-ops here: the repair path
 * syncs what it writes, and durability is not what is fuzzed (they cost
 * milliseconds an input on a disk).  The 64 MiB block buffers of scans
 * and queries come from one kept allocation (fuzz_journal_alloc.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "persist/format.h"
#include "persist/index.h"
#include "persist/query.h"
#include "persist/recover.h"
#include "persist/retain.h"
#include "shm/records.h"

#define NS_PER_DAY (86400LL * 1000000000LL)
#define MAX_DAY 2932896 /* 9999-12-31 */

#define CHECK(c)                                                                                 \
	do {                                                                                     \
		if (!(c)) {                                                                      \
			fprintf(stderr, "fuzz_journal: %s:%d: invariant failed: %s\n", __FILE__, \
				__LINE__, #c);                                                   \
			abort();                                                                 \
		}                                                                                \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Durability is not fuzzed: see above. */
int fsync(int fd);
int fdatasync(int fd);
int fsync(int fd)
{
	return fcntl(fd, F_GETFD) < 0 ? -1 : 0;
}
int fdatasync(int fd)
{
	return fcntl(fd, F_GETFD) < 0 ? -1 : 0;
}

/* The block buffers of scans and queries: see fuzz_journal_alloc.h. */
void *tk_fuzz_malloc(size_t n);
void tk_fuzz_free(void *p);

#define BIG_BUF (64u << 20) /* TKJ_MAX_BLOCK of recover.c and query.c */

static void *big;
static bool big_used;

void *tk_fuzz_malloc(size_t n)
{
	if (n != BIG_BUF || big_used)
		return malloc(n);
	if (big == NULL)
		big = malloc(BIG_BUF);
	big_used = big != NULL;
	return big;
}

void tk_fuzz_free(void *p)
{
	if (p != NULL && p == big)
		big_used = false;
	else
		free(p);
}

/* ------------------------------------------------------------ the temp dir */

static char tmpdir[512];
static bool verbose; /* FUZZ_JOURNAL_VERBOSE set: say what the scans and checks found */

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Empty tmpdir, keep it. */
static void wipe(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	char p[1024];

	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
		rm_tree(p);
	}
	closedir(d);
}

static void at_exit(void)
{
	if (tmpdir[0] != 0)
		rm_tree(tmpdir);
}

static const char *tmp_base(void)
{
	const char *t = getenv("TMPDIR");

	return t != NULL && t[0] == '/' ? t : "/tmp";
}

/* Remove the directories of runs whose process is gone. */
static void remove_stale(void)
{
	DIR *d = opendir(tmp_base());
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char p[1024];
		long pid;
		char *end;

		if (strncmp(de->d_name, "fuzz_journal.", 13) != 0)
			continue;
		pid = strtol(de->d_name + 13, &end, 10);
		if (pid <= 0 || *end != '.' || (kill((pid_t)pid, 0) < 0 && errno == ESRCH) == false)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmp_base(), de->d_name);
		rm_tree(p);
	}
	closedir(d);
}

static void make_tmpdir(void)
{
	if (tmpdir[0] != 0)
		return;
	remove_stale();
	snprintf(tmpdir, sizeof(tmpdir), "%s/fuzz_journal.%d.XXXXXX", tmp_base(), (int)getpid());
	CHECK(mkdtemp(tmpdir) != NULL);
	atexit(at_exit);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	make_tmpdir();
	verbose = getenv("FUZZ_JOURNAL_VERBOSE") != NULL;
	return 0;
}

/* ------------------------------------------------------------ helpers */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static bool sane_rs(uint32_t rs)
{
	return rs >= 64 && rs <= 4096 && (rs & (rs - 1)) == 0;
}

/* The block at b (avail bytes), with its CRC made right if its counts fit. */
static bool reseal_block(uint8_t *b, size_t avail, uint32_t rs)
{
	struct tkj_block_header *bh = (void *)b;
	uint64_t used;

	if (avail < TKJ_BLOCK_HEADER || bh->magic != TKJ_BLOCK_MAGIC || !sane_rs(rs))
		return false;
	used = TKJ_BLOCK_HEADER + (uint64_t)bh->nrec * rs;
	if (used > avail)
		return false;
	bh->crc = 0;
	bh->crc = tk_crc32c(0, b, (size_t)used);
	return true;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	size_t done = 0;

	CHECK(fd >= 0);
	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);

		CHECK(w > 0);
		done += (size_t)w;
	}
	close(fd);
	return 0;
}

static uint8_t *read_file(const char *path, size_t *n)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(fstat(fd, &st) == 0);
	*n = (size_t)st.st_size;
	p = malloc(*n + 1);
	CHECK(p != NULL);
	CHECK(pread(fd, p, *n, 0) == (ssize_t)*n);
	close(fd);
	return p;
}

/* ------------------------------------------------------------ mode 0: data file */

/* Blocks checked one after the other from off, as a reader that trusts
 * nothing reads them: each must be the next, its sequences continuing. */
struct walk {
	uint64_t end, next_seq, blocks;
	enum tkj_check stop;
};

static uint64_t walk_scratch[(128u << 10) / 8];

/* The block at f + off, in an aligned buffer as readers have it. */
static const uint8_t *at(const uint8_t *f, size_t n, uint64_t off)
{
	if (((uintptr_t)(f + off) & 7) == 0)
		return f + off;
	memcpy(walk_scratch, f + off, n - off);
	return (const uint8_t *)walk_scratch;
}

static void walk_from(const uint8_t *f, size_t n, const struct tkj_file_header *h, uint64_t off,
		      uint64_t seq, uint64_t no, struct walk *w)
{
	w->blocks = 0;
	for (;;) {
		struct tkj_block_info bi;

		if (off + TKJ_BLOCK_HEADER > n) {
			w->stop = TKJ_END;
			break;
		}
		w->stop = tkj_block_check(at(f, n, off), n - off, h->record_size, h->align, seq, no,
					  &bi);
		if (w->stop != TKJ_OK)
			break;
		CHECK(bi.length >= TKJ_BLOCK_HEADER && bi.length <= n - off);
		off += bi.length;
		seq = bi.next_seq;
		no++;
		w->blocks++;
	}
	w->end = off;
	w->next_seq = seq;
}

/* The block entries of an index's valid prefix (FORMAT.md): header for
 * this file, entries with good CRCs, kinds 1 and 2, block numbers 0, 1, ... */
struct ientries {
	struct tkj_index_entry e[(64u << 10) / 128];
	size_t n;
};

static void index_parse(const uint8_t *ix, size_t xn, const struct tkj_file_header *h,
			struct ientries *out)
{
	uint64_t no = 0;
	size_t i;

	out->n = 0;
	if (ix == NULL || xn < TKJ_INDEX_HEADER || memcmp(ix, TKJ_INDEX_MAGIC, 8) != 0 ||
	    rd32(ix + 12) != 128 || rd64(ix + 16) != h->generation || rd64(ix + 24) != h->first_seq ||
	    rd32(ix + 60) != tk_crc32c(0, ix, 60))
		return;
	for (i = TKJ_INDEX_HEADER; i + 128 <= xn; i += 128) {
		struct tkj_index_entry e;

		memcpy(&e, ix + i, sizeof(e));
		if (e.crc != tk_crc32c(0, &e, offsetof(struct tkj_index_entry, crc)) ||
		    (e.kind != TKJ_IDX_BLOCK && e.kind != TKJ_IDX_SYMBOL))
			break;
		if (e.kind == TKJ_IDX_SYMBOL)
			continue;
		if (e.block_no != no++)
			break;
		out->e[out->n++] = e;
	}
}

/* Every record of every block anywhere in the file that passes its check
 * (any offset: an index may name any): what a query may give. */
struct recset {
	uint32_t *crc;
	size_t n, cap;
	char symbol[TKJ_NAME_MAX]; /* a name some checked block's dictionary gives */
	uint64_t scratch[(128u << 10) / 8];
	int64_t min_ts, max_ts;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void recset_build(struct recset *rs, const uint8_t *f, size_t n,
			 const struct tkj_file_header *h)
{
	size_t off;

	rs->n = 0;
	rs->symbol[0] = 0;
	rs->min_ts = INT64_MAX;
	rs->max_ts = INT64_MIN;
	for (off = 0; off + TKJ_BLOCK_HEADER <= n; off++) {
		struct tkj_block_info bi;
		uint32_t i;

		if (rd32(f + off) != TKJ_BLOCK_MAGIC)
			continue;
		/* Readers check blocks in their (aligned) buffers: so here. */
		memcpy(rs->scratch, f + off, n - off);
		if (tkj_block_check(rs->scratch, n - off, h->record_size, h->align, 0,
				    rd64(f + off + 48), &bi) != TKJ_OK)
			continue;
		for (i = 0; i < bi.nrec; i++) {
			const uint8_t *r = (const uint8_t *)rs->scratch + TKJ_BLOCK_HEADER +
					   (size_t)i * h->record_size;
			int64_t t = tkj_record_time(r);

			if (rs->n == rs->cap) {
				rs->cap = rs->cap ? rs->cap * 2 : 1024;
				rs->crc = realloc(rs->crc, rs->cap * sizeof(*rs->crc));
				CHECK(rs->crc != NULL);
			}
			rs->crc[rs->n++] = tk_crc32c(0, r, h->record_size);
			if (rd64(r) == 0 && rd32(r + 8) == TKJ_REC_SYMBOL && rs->symbol[0] == 0 &&
			    r[16] != 0) {
				memcpy(rs->symbol, r + 16, TKJ_NAME_MAX - 1);
				rs->symbol[TKJ_NAME_MAX - 1] = 0;
			}
			if (t != INT64_MIN) {
				rs->min_ts = t < rs->min_ts ? t : rs->min_ts;
				rs->max_ts = t > rs->max_ts ? t : rs->max_ts;
			}
		}
	}
	if (rs->n > 0)
		qsort(rs->crc, rs->n, sizeof(*rs->crc), cmp_u32);
}

struct qcheck {
	const struct recset *rs;
	const struct tkj_query *q;
	uint32_t record_size;
	uint64_t calls, stop_at; /* return 7 at this call (0: never) */
	bool gaps;
};

static int on_record(void *ctx, const void *slot, uint32_t record_size, const char *symbol,
		     const char *log)
{
	struct qcheck *c = ctx;
	const uint8_t *r = slot;
	uint32_t crc = tk_crc32c(0, slot, record_size), type = rd32(r + 8);
	uint64_t seq = rd64(r);
	int64_t t = tkj_record_time(slot);

	c->calls++;
	if (c->stop_at != 0 && c->calls == c->stop_at)
		return 7;
	CHECK(record_size == c->record_size);
	CHECK(c->rs->n > 0 && bsearch(&crc, c->rs->crc, c->rs->n, sizeof(crc), cmp_u32) != NULL);
	CHECK(log != NULL && strcmp(log, "ticks.0") == 0);
	CHECK(symbol == NULL || strlen(symbol) < TKJ_NAME_MAX);
	if (c->gaps) {
		CHECK((seq == 0 && type == TKJ_REC_LOSS) || (seq != 0 && type == TK_REC_GAP));
		return 0;
	}
	CHECK(seq != 0);
	CHECK(c->q->heartbeats || type != TK_REC_HEARTBEAT);
	CHECK(t == INT64_MIN || (t >= c->q->from_ns && t < c->q->to_ns));
	if (c->q->symbol != NULL) {
		CHECK(type == TK_REC_TICK || type == TK_REC_BAR || type == TK_REC_SIGNAL);
		CHECK(symbol != NULL && strcmp(symbol, c->q->symbol) == 0);
	}
	return 0;
}

static void run_queries(const uint8_t *f, size_t n, const struct tkj_file_header *h, bool hb)
{
	static struct recset rs;
	struct tkj_query q;
	struct tkj_query_stats st;
	struct qcheck c;
	int rc, k;

	bool bad_hdr = n < sizeof(*h) || tkj_file_header_check(h, (char[160]){ 0 }, 160) != 0;

	if (!bad_hdr)
		recset_build(&rs, f, n, h);
	else
		rs.n = 0;
	/* A file whose header fails is refused: once, for that path. */
	for (k = 0; k < (bad_hdr ? 1 : 5); k++) {
		memset(&q, 0, sizeof(q));
		q.dir = tmpdir;
		q.stream = "ticks";
		q.from_ns = INT64_MIN;
		q.to_ns = INT64_MAX;
		q.late_days = 1;
		q.heartbeats = hb;
		if (k == 1) {
			q.symbol = rs.symbol[0] != 0 ? rs.symbol : "AAPL";
			if (rs.min_ts <= rs.max_ts) {
				/* The middle third of the records' times. */
				int64_t span = (int64_t)(((uint64_t)rs.max_ts - (uint64_t)rs.min_ts) / 3);

				q.from_ns = rs.min_ts + span;
				if (__builtin_add_overflow(q.from_ns, span + 1, &q.to_ns))
					q.to_ns = INT64_MAX;
			}
		} else if (k == 2) {
			q.stream = "gaps";
		} else if (k == 3) {
			q.limit = 3;
		}
		memset(&c, 0, sizeof(c));
		c.rs = &rs;
		c.q = &q;
		c.record_size = h->record_size;
		c.gaps = k == 2;
		c.stop_at = k == 4 ? 2 : 0;
		rc = tkj_query_run(&q, on_record, &c, &st);
		if (bad_hdr)
			CHECK(rc == -EPROTO && c.calls == 0);
		CHECK(rc <= 0 || (c.stop_at != 0 && rc == 7));
		CHECK(st.records == c.calls);
		CHECK(q.limit == 0 || c.calls <= q.limit);
		/* A callback's stop ends the query and is what it returns. */
		CHECK(c.stop_at == 0 || (c.calls <= c.stop_at && (c.calls < c.stop_at || rc == 7)));
		CHECK(st.files <= 1);
	}
}

/*
 * What a scan reports, against the file f (n bytes) and its index's block
 * entries ie (NULL: none).  A scan trusts a prefix of the index (blocks -
 * scanned entries) whose last block checks out on disk, then reads blocks
 * from the disk: that prefix must tile the file from 4096 (the end is 4096
 * and whole blocks) with continuing sequences, and what follows it must be
 * exactly what a reader that trusts nothing finds from there.
 */
static void check_scan(const struct tkj_scan *s, const uint8_t *f, size_t n,
		       const struct ientries *ie)
{
	uint64_t off = TKJ_HEADER_SIZE, seq = s->hdr.first_seq, t = s->blocks - s->scanned, i;
	struct walk w;

	CHECK(s->size == n);
	CHECK(s->end >= TKJ_HEADER_SIZE);
	/* A file shorter than its header's room ends at 4096 all the same. */
	CHECK(s->end <= n || (s->end == TKJ_HEADER_SIZE && s->blocks == 0));
	CHECK(s->scanned <= s->blocks);
	CHECK(s->junk_end >= s->end && s->junk_end <= (n > s->end ? n : s->end));
	CHECK(s->junk <= s->junk_end - s->end);
	CHECK(s->stop != TKJ_OK);
	CHECK(t == 0 || (ie != NULL && t <= ie->n));
	if (t > 0) {
		const struct tkj_index_entry *k = &ie->e[t - 1];
		struct tkj_block_info bi;

		for (i = 0; i < t; i++) {
			const struct tkj_index_entry *e = &ie->e[i];

			CHECK(e->offset == off); /* the blocks tile the file */
			CHECK(e->length >= TKJ_BLOCK_HEADER && e->length % s->hdr.align == 0);
			/* sequences continue (a loss or gap in a block may skip some) */
			CHECK(e->first_seq == 0 || seq == 0 || e->first_seq == seq ||
			      ((e->flags & TKJ_IDX_F_GAP) && e->first_seq > seq));
			off += e->length;
			if (e->first_seq != 0 || e->next_seq != 0)
				seq = e->next_seq;
		}
		/* The last one is on disk as the index says. */
		CHECK(k->offset + k->length <= n);
		CHECK(tkj_block_check(at(f, n, k->offset), k->length, s->hdr.record_size,
				      s->hdr.align, 0, k->block_no, &bi) == TKJ_OK);
		CHECK(bi.next_seq == k->next_seq && bi.first_seq == k->first_seq);
	}
	walk_from(f, n, &s->hdr, off, seq, t, &w);
	CHECK(w.end == s->end && w.next_seq == s->next_seq && w.blocks == s->scanned &&
	      w.stop == s->stop);
	CHECK(s->next_seq >= s->hdr.first_seq || s->next_seq == 0);
}

static int scan(const char *path, bool repair, uint32_t rs, uint64_t window, struct tkj_scan *s,
		char *torn, size_t cap)
{
	int fd = open(path, (repair ? O_RDWR : O_RDONLY) | O_CLOEXEC), rc;

	CHECK(fd >= 0);
	rc = tkj_scan_file(path, fd, rs, window, repair, s, torn, cap);
	close(fd);
	return rc;
}

/* Startup (tkj_recover_stream) on the repaired file: of this segment, the
 * file to append to, as the scan found it; of another, trimmed after its
 * last block. */
static void recover(const struct tkj_file_header *h, const struct tkj_scan *s, size_t n,
		    uint32_t rs, uint64_t window, const char *path)
{
	static struct tkj_recovered r;
	static struct tkj_scan again;
	struct stat st;
	int rc;

	rc = tkj_recover_stream(tmpdir, "ticks", "ticks.0", h->generation, rs, window, &r);
	CHECK(rc == 0 && r.found && r.fd >= 0 && r.idx_fd >= 0);
	CHECK(r.next_seq == s->next_seq && r.end == s->end && r.blocks_in_file == s->blocks &&
	      r.blocks == 0 && r.torn_bytes == 0 && r.size == n && r.align == h->align &&
	      r.day == h->day && r.first_seq == h->first_seq && strcmp(r.path, path) == 0);
	close(r.fd);
	close(r.idx_fd);
	tkj_recovered_free(&r);
	rc = tkj_recover_stream(tmpdir, "ticks", "ticks.0", h->generation + 1, rs, window, &r);
	CHECK(rc == 0 && !r.found && r.fd < 0 && r.idx_fd < 0);
	tkj_recovered_free(&r);
	CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == s->end);
	rc = scan(path, false, rs, window, &again, NULL, 0);
	CHECK(rc == 0 && again.end == s->end && again.next_seq == s->next_seq &&
	      again.blocks == s->blocks && again.junk == 0);
}

static void fuzz_file(const uint8_t *p, size_t n)
{
	static const uint64_t windows[4] = { 0, 4096, 65536, UINT64_MAX / 2 };
	static struct tkj_scan s1, s2, s3;
	static struct ientries ie;
	uint8_t flags, *f, *ix = NULL, *disk;
	size_t fn, xn = 0, i, dn;
	struct tkj_file_header h;
	char day[16], ddir[700], path[1024], ipath[1100], torn[1024], name[128];
	uint64_t window;
	uint32_t rs_arg;
	bool hdr_ok;
	int rc1, rc2, rc3;

	if (n < 1)
		return;
	flags = p[0];
	p++;
	n--;
	window = windows[flags & 3];
	/* The index starts at its magic. */
	fn = n;
	for (i = sizeof(h); i + 8 <= n; i++)
		if (memcmp(p + i, TKJ_INDEX_MAGIC, 8) == 0) {
			fn = i;
			break;
		}
	f = malloc(fn + 1);
	CHECK(f != NULL);
	memcpy(f, p, fn);
	if (fn < n) {
		xn = n - fn;
		ix = malloc(xn);
		CHECK(ix != NULL);
		memcpy(ix, p + fn, xn);
	}
	memset(&h, 0, sizeof(h));
	memcpy(&h, f, fn < sizeof(h) ? fn : sizeof(h));
	if ((flags & 4) && fn >= sizeof(h)) {
		h.crc = tk_crc32c(0, &h, offsetof(struct tkj_file_header, crc));
		memcpy(f, &h, sizeof(h));
	}
	if ((flags & 8) && sane_rs(h.record_size)) {
		uint64_t off = TKJ_HEADER_SIZE;

		while (off < fn && reseal_block(f + off, fn - off, h.record_size)) {
			uint32_t len = rd32(f + off + 4);

			if (len < TKJ_BLOCK_HEADER)
				break;
			off += len;
		}
	}
	if ((flags & 16) && ix != NULL) {
		if (xn >= TKJ_INDEX_HEADER) {
			uint32_t c = tk_crc32c(0, ix, TKJ_INDEX_HEADER - 4);

			memcpy(ix + TKJ_INDEX_HEADER - 4, &c, 4);
		}
		for (i = TKJ_INDEX_HEADER; i + sizeof(struct tkj_index_entry) <= xn;
		     i += sizeof(struct tkj_index_entry)) {
			uint32_t c = tk_crc32c(0, ix + i, offsetof(struct tkj_index_entry, crc));

			memcpy(ix + i + offsetof(struct tkj_index_entry, crc), &c, 4);
		}
	}
	hdr_ok = fn >= sizeof(h) && tkj_file_header_check(&h, (char[160]){ 0 }, 160) == 0;

	/* <tmp>/ticks/<day>/ticks.0.<generation>.<first seq>.tkj */
	if (!(flags & 64) && hdr_ok && h.day >= 0 && h.day <= MAX_DAY)
		tkj_day_name(h.day, day, sizeof(day));
	else
		snprintf(day, sizeof(day), "2024-01-02");
	snprintf(ddir, sizeof(ddir), "%s/ticks", tmpdir);
	CHECK(mkdir(ddir, 0750) == 0);
	snprintf(ddir, sizeof(ddir), "%s/ticks/%s", tmpdir, day);
	CHECK(mkdir(ddir, 0750) == 0);
	tkj_file_name("ticks.0", h.generation, h.first_seq, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", ddir, name);
	write_file(path, f, fn);
	tkj_index_path(path, ipath, sizeof(ipath));
	if (ix != NULL)
		write_file(ipath, ix, xn);
	rs_arg = (flags & 32) ? 64 : 0;

	/* Look only. */
	rc1 = scan(path, false, rs_arg, window, &s1, NULL, 0);
	if (verbose)
		fprintf(stderr,
			"scan rc %d: size %" PRIu64 " end %" PRIu64 " blocks %" PRIu64
			" scanned %" PRIu64 " next_seq %" PRIu64 " stop %s junk %" PRIu64
			" index %s (%s)\n",
			rc1, s1.size, s1.end, s1.blocks, s1.scanned, s1.next_seq,
			tkj_check_name(s1.stop), s1.junk, s1.index_ok ? "ok" : "-",
			ix != NULL ? "given" : "none");
	CHECK((rc1 == 0) == (hdr_ok && (rs_arg == 0 || rs_arg == h.record_size)));
	index_parse(ix, xn, &h, &ie);
	if (rc1 == 0) {
		struct walk w;
		uint64_t end, next;
		enum tkj_check stop;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		check_scan(&s1, f, fn, &ie);
		/* What tickd journal verify checks a file against: every block,
		 * no index trusted. */
		CHECK(fd >= 0);
		CHECK(tkj_walk_blocks(fd, &s1.hdr, s1.size, &end, &next, &stop) == 0);
		close(fd);
		walk_from(f, fn, &s1.hdr, TKJ_HEADER_SIZE, s1.hdr.first_seq, 0, &w);
		CHECK(end == w.end && next == w.next_seq && stop == w.stop);
	}
	run_queries(f, fn, &h, flags & 128);

	/* Repair: the index brought up to date, a torn tail moved aside. */
	rc2 = scan(path, true, rs_arg, window, &s2, torn, sizeof(torn));
	CHECK((rc1 == 0) == (rc2 == 0));
	if (rc2 == 0) {
		CHECK(s2.end == s1.end && s2.next_seq == s1.next_seq && s2.junk == s1.junk &&
		      s2.junk_end == s1.junk_end && s2.blocks == s1.blocks && s2.stop == s1.stop);
		if (s2.junk > 0)
			CHECK(strncmp(torn, path, strlen(path)) == 0 &&
			      strncmp(torn + strlen(path), ".torn-", 6) == 0);
		else
			CHECK(torn[0] == 0);
		disk = read_file(path, &dn);
		CHECK(dn == fn);
		check_scan(&s2, f, fn, &ie);
		/* Only the junk changed, to zeros. */
		for (i = 0; i < dn; i++)
			CHECK(disk[i] == f[i] || (i >= s2.end && i < s2.junk_end && disk[i] == 0));

		/* Again: nothing left to repair, the same end, the index whole. */
		rc3 = scan(path, false, rs_arg, window, &s3, NULL, 0);
		CHECK(rc3 == 0);
		CHECK(s3.junk == 0 && s3.end == s2.end && s3.next_seq == s2.next_seq &&
		      s3.blocks == s2.blocks);
		/* It ends where it did, at zeros now if a tail was zeroed there. */
		CHECK(s3.stop == (s2.junk > 0 ? TKJ_END : s2.stop));
		CHECK(s3.scanned == 0 && s3.index_ok);
		{
			size_t in;
			uint8_t *nix = read_file(ipath, &in);

			index_parse(nix, in, &h, &ie);
			free(nix);
		}
		check_scan(&s3, disk, dn, &ie);
		run_queries(disk, dn, &h, flags & 128);
		recover(&h, &s3, dn, rs_arg, window, path);
		free(disk);
	}
	free(f);
	free(ix);
	wipe();
}

/* ------------------------------------------------------------ mode 1: block check */

static void fuzz_block(const uint8_t *p, size_t n)
{
	static const uint32_t sizes[3] = { 64, 128, 256 }, aligns[3] = { 64, 512, 4096 };
	struct tkj_block_info bi;
	uint32_t rs, align;
	uint64_t expect_seq = 0, expect_no = 0;
	uint8_t opt, *b;
	enum tkj_check c;

	if (n < 2)
		return;
	rs = sizes[p[0] % 3];
	align = aligns[(p[0] / 3) % 3];
	opt = p[1];
	p += 2;
	n -= 2;
	b = malloc(n ? n : 1); /* exactly n: reading past it is an ASan report */
	CHECK(b != NULL);
	memcpy(b, p, n);
	if ((opt & 1) && n >= TKJ_BLOCK_HEADER + 8)
		expect_seq = rd64(b + TKJ_BLOCK_HEADER);
	if ((opt & 2) && n >= TKJ_BLOCK_HEADER)
		expect_no = rd64(b + 48);
	if (opt & 4)
		reseal_block(b, n, rs);
	memset(&bi, 0xa5, sizeof(bi));
	c = tkj_block_check(b, n, rs, align, expect_seq, expect_no, &bi);
	if (verbose)
		fprintf(stderr, "block check (record size %u, align %u): %s\n", rs, align,
			tkj_check_name(c));
	CHECK(c >= TKJ_OK && c <= TKJ_BAD_RECORD);
	CHECK(tkj_check_name(c)[0] != '?');
	if (c == TKJ_OK) {
		const struct tkj_block_header *bh = (const void *)b;
		struct tkj_index_entry e;

		CHECK(bi.length <= n);
		CHECK(bi.nrec >= 1 && (uint64_t)TKJ_BLOCK_HEADER + (uint64_t)bi.nrec * rs <= bi.length);
		CHECK(bi.length % align == 0 && bi.length - ((uint64_t)TKJ_BLOCK_HEADER + (uint64_t)bi.nrec * rs) < align);
		CHECK(bi.length == bh->length && bi.nrec == bh->nrec && bi.block_no == expect_no);
		CHECK((bi.first_seq == 0) == (bi.last_seq == 0));
		CHECK(bi.first_seq <= bi.last_seq);
		CHECK(expect_seq == 0 || bi.first_seq == 0 || bi.first_seq >= expect_seq);
		CHECK(expect_seq == 0 || bi.lost != 0 || bi.first_seq == 0 ||
		      bi.first_seq == expect_seq);
		/* (a sequence of 2^64 - 1 has no next: then 0, any) */
		CHECK(bi.last_seq == 0 || bi.next_seq > bi.last_seq || bi.next_seq == 0);
		CHECK(bi.next_seq >= expect_seq);
		CHECK(bi.lost != 0 || bi.first_seq == 0 ||
		      bi.last_seq - bi.first_seq + 1 <= bi.nrec);
		/* The index entry recovery compares with it agrees. */
		tkj_index_entry_of_block(&e, b, rs, 4096);
		CHECK(e.first_seq == bi.first_seq && e.last_seq == bi.last_seq &&
		      e.nrec == bi.nrec && e.length == bi.length);
		CHECK(e.next_seq == 0 || e.next_seq == bi.next_seq);
		CHECK(e.next_seq != 0 || bi.next_seq == expect_seq);
		/* Checked again it is the same, with the sequence it says it starts at. */
		CHECK(tkj_block_check(b, bi.length, rs, align, 0, expect_no, NULL) == TKJ_OK);
	}
	free(b);
}

/* ------------------------------------------------------------ mode 2: file header */

static void fuzz_header(const uint8_t *p, size_t n)
{
	struct tkj_file_header h, m;
	char why[160];
	int rc;

	if (n < 1)
		return;
	memset(&h, 0, sizeof(h));
	memcpy(&h, p + 1, n - 1 < sizeof(h) ? n - 1 : sizeof(h));
	if (p[0] & 1)
		h.crc = tk_crc32c(0, &h, offsetof(struct tkj_file_header, crc));
	memset(why, 'x', sizeof(why));
	rc = tkj_file_header_check(&h, why, sizeof(why));
	CHECK(rc == 0 || rc == -EPROTO);
	if (rc < 0) {
		CHECK(memchr(why, 0, sizeof(why)) != NULL && why[0] != 0);
		return;
	}
	CHECK(memcmp(h.magic, TKJ_FILE_MAGIC, 8) == 0 && h.version == TKJ_FORMAT_VERSION &&
	      h.header_size == TKJ_HEADER_SIZE);
	CHECK(sane_rs(h.record_size) && h.align >= 64 && h.align <= TKJ_HEADER_SIZE &&
	      (h.align & (h.align - 1)) == 0);
	CHECK(strnlen(h.stream, sizeof(h.stream)) < sizeof(h.stream) &&
	      strnlen(h.log, sizeof(h.log)) < sizeof(h.log));
	/* Its day is named (journal.c names a day directory after it when a
	 * full file rolls over), and a day of the calendar named parses back. */
	{
		char name[32];
		int32_t d;

		tkj_day_name(h.day, name, sizeof(name));
		CHECK(h.day < 0 || h.day > MAX_DAY || (tkj_day_parse(name, &d) == 0 && d == h.day));
	}
	/* Made again from its fields, it checks out too. */
	tkj_file_header_make(&m, h.stream, h.log, h.record_size, h.align, h.day, h.first_seq,
			     h.generation, h.created_ns, h.file_size);
	CHECK(tkj_file_header_check(&m, why, sizeof(why)) == 0);
	CHECK(strcmp(m.stream, h.stream) == 0 && strcmp(m.log, h.log) == 0);
}

/* ------------------------------------------------------------ mode 3: times and days */

/* ns as "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (ns >= 0). */
static void iso_of(int64_t ns, char *out, size_t cap)
{
	char day[16];
	int64_t in_day = ns % NS_PER_DAY, s = in_day / 1000000000;

	tkj_day_name(tkj_day_of(ns), day, sizeof(day));
	snprintf(out, cap, "%sT%02d:%02d:%02d.%09dZ", day, (int)(s / 3600), (int)(s / 60 % 60),
		 (int)(s % 60), (int)(in_day % 1000000000));
}

static void fuzz_text(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1), again[64];
	int64_t ns, ns2;
	int32_t day, day2;
	size_t len, i;
	bool digits;

	CHECK(s != NULL);
	memcpy(s, p, n);
	s[n] = 0;
	len = strlen(s);
	for (i = 0, digits = len > 0; i < len; i++)
		digits &= s[i] >= '0' && s[i] <= '9';

	if (tkj_parse_time(s, &ns) == 0) {
		if (digits) {
			CHECK(len <= 15 && ns >= 0 && ns % 1000000 == 0 &&
			      ns / 1000000 == strtoll(s, NULL, 10));
		} else {
			char date[11];

			CHECK(len >= 10);
			memcpy(date, s, 10);
			date[10] = 0;
			CHECK(tkj_day_parse(date, &day) == 0);
			/* A zone moves it at most a day, a leap second by one second. */
			CHECK(tkj_day_of(ns) >= day - 1 && tkj_day_of(ns) <= day + 1);
			if (len == 10)
				CHECK(ns == (int64_t)day * NS_PER_DAY);
		}
		/* Written back as ISO 8601 UTC, it parses to the same time. */
		if (ns >= 0) {
			iso_of(ns, again, sizeof(again));
			CHECK(tkj_parse_time(again, &ns2) == 0 && ns2 == ns);
			tkj_day_name(tkj_day_of(ns), again, sizeof(again));
			CHECK(tkj_day_parse(again, &day2) == 0 && day2 == tkj_day_of(ns));
		}
	}
	/* A data file's name, as listings read them from a directory. */
	{
		char log[TKJ_NAME_MAX], again2[256], stream[TKJ_NAME_MAX];
		uint64_t gen, first;

		if (tkj_file_name_parse(s, log, sizeof(log), &gen, &first) == 0) {
			CHECK(log[0] != 0 && strlen(log) < sizeof(log));
			tkj_stream_of_log(log, stream, sizeof(stream));
			CHECK(strlen(stream) < sizeof(stream));
			/* Written again: the same name (sequences past 2^64 - 1 saturate). */
			tkj_file_name(log, gen, first, again2, sizeof(again2));
			CHECK(first == UINT64_MAX || strcmp(again2, s) == 0);
		}
	}
	if (tkj_day_parse(s, &day) == 0) {
		struct tm tm;
		char name[16];

		CHECK(day >= 0 && day <= MAX_DAY);
		tkj_day_name(day, name, sizeof(name));
		CHECK(strcmp(name, s) == 0);
		CHECK(tkj_day_parse(name, &day2) == 0 && day2 == day);
		/* As a time, if its ns fit an int64 (to 2262), else refused. */
		if (day <= INT64_MAX / NS_PER_DAY)
			CHECK(tkj_parse_time(s, &ns) == 0 && ns == (int64_t)day * NS_PER_DAY);
		else
			CHECK(tkj_parse_time(s, &ns) == -EINVAL);
		/* As the C library counts days. */
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = atoi(s) - 1900;
		tm.tm_mon = atoi(s + 5) - 1;
		tm.tm_mday = atoi(s + 8);
		CHECK(timegm(&tm) / 86400 == day);
	} else if (len == 10 && s[4] == '-' && s[7] == '-' && strspn(s, "0123456789-") == 10 &&
		   strspn(s + 5, "0123456789") == 2 && strspn(s + 8, "0123456789") == 2 &&
		   atoi(s) >= 1970) {
		/* Refused: not a date of the calendar. */
		struct tm tm;

		memset(&tm, 0, sizeof(tm));
		tm.tm_year = atoi(s) - 1900;
		tm.tm_mon = atoi(s + 5) - 1;
		tm.tm_mday = atoi(s + 8);
		if (tm.tm_mon >= 0 && tm.tm_mon < 12 && tm.tm_mday >= 1 && timegm(&tm) != -1)
			CHECK(tm.tm_mon != atoi(s + 5) - 1 || tm.tm_mday != atoi(s + 8));
	}
	free(s);
}

/* ------------------------------------------------------------ mode 4: retention rules */

static void fuzz_retain(const uint8_t *p, size_t n)
{
	struct tkj_rule rules[TKJ_MAX_RULES + 1];
	char *s;
	int max, rc, i, k;

	if (n < 1)
		return;
	max = 1 + p[0] % TKJ_MAX_RULES;
	s = malloc(n);
	CHECK(s != NULL);
	memcpy(s, p + 1, n - 1);
	s[n - 1] = 0;
	memset(rules, 0x5a, sizeof(rules));
	rc = tkj_retain_parse(s, rules, max);
	CHECK(rc == -EINVAL || (rc >= 3 && rc <= max));
	for (i = 0; i < rc; i++) {
		size_t l = strnlen(rules[i].stream, sizeof(rules[i].stream));

		CHECK(l > 0 && l < sizeof(rules[i].stream));
		CHECK(strchr(rules[i].stream, '=') == NULL && strchr(rules[i].stream, ',') == NULL);
		CHECK(rules[i].keep_ns >= 0);
		for (k = 0; k < i; k++)
			CHECK(strcmp(rules[k].stream, rules[i].stream) != 0);
		CHECK(tkj_retain_of(rules, rc, rules[i].stream) == rules[i].keep_ns);
	}
	CHECK(rc < 0 || tkj_retain_of(rules, rc, "bars.1m") >= 0);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	make_tmpdir();
	switch (data[0] % 5) {
	case 0: fuzz_file(data + 1, size - 1); break;
	case 1: fuzz_block(data + 1, size - 1); break;
	case 2: fuzz_header(data + 1, size - 1); break;
	case 3: fuzz_text(data + 1, size - 1); break;
	case 4: fuzz_retain(data + 1, size - 1); break;
	}
	return 0;
}

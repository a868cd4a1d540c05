/*
 * Torn tails and recovery (persist/recover.c), on files the real writer
 * (persist/journal.c) wrote under /tmp.  Every expectation comes from the
 * input (the records handed to the writer) and from an independent walk of
 * the block headers (pt_walk), not from the code under test.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "tests/persist/persist_helpers.h"

#define WINDOW (1u << 20)

static struct {
	char dir[128];
	char path[1024];
	char ipath[1100];
	uint8_t *orig; /* the data file as the writer left it */
	size_t size;
	uint8_t *iorig; /* its index */
	size_t isize;
	struct pt_block b[256];
	size_t nb;
	uint64_t n; /* records written: 1..n */
	uint32_t align;
	uint32_t direct;
} F;

/*
 * fsync and fdatasync as the code under test calls them: passed to the
 * kernel, except while `nosync` is set, when they are only counted.  The
 * every-byte sweep repairs ~8000 torn tails, two syncs each: 0.3 ms apiece
 * on this ext4 is seconds of waiting that test nothing the count does not.
 */
static bool nosync;
static unsigned nfsync, nfdatasync;

int fsync(int fd)
{
	nfsync++;
	return nosync ? 0 : (int)syscall(SYS_fsync, fd);
}

int fdatasync(int fd)
{
	nfdatasync++;
	return nosync ? 0 : (int)syscall(SYS_fdatasync, fd);
}

static struct tkj_scan sc, sc2;

static bool tkj__seen_bit(const uint64_t *seen, uint32_t id)
{
	return (seen[id >> 6] >> (id & 63)) & 1;
}
static char torn[1200];

static void setup(void)
{
	pt_full_blocks = true;
	memset(&F, 0, sizeof(F));
	pt_tmpdir(F.dir, sizeof(F.dir), "recover");
}

static void teardown(void)
{
	free(F.orig);
	free(F.iorig);
	pt_rmrf(F.dir);
}

TestSuite(torn, .init = setup, .fini = teardown);
TestSuite(recover, .init = setup, .fini = teardown);

/* 2023-12-01T10:00Z */
#define T_START (PT_DAY0_NS + 10LL * 3600 * 1000000000LL)

/* Check the file against what was written: blocks 0.. in order, sequences
 * 1..n contiguous, every record the one handed in, zeros after. */
static void check_file_holds(const uint8_t *file, size_t size, struct pt_block *b, size_t *nb,
			     uint64_t n, uint32_t nsym)
{
	uint64_t want = 1, dict = 0;
	size_t i;
	uint32_t r;

	*nb = pt_walk(file, size, b, 256);
	cr_assert_geq(*nb, 1);
	for (i = 0; i < *nb; i++) {
		struct tkj_block_info bi;

		cr_assert_eq(b[i].block_no, i);
		cr_assert_eq(b[i].off % F.align, 0, "block %zu at %" PRIu64, i, b[i].off);
		cr_assert_eq(b[i].len % F.align, 0);
		cr_assert_eq(tkj_block_check(file + b[i].off, b[i].len, 64, F.align, want, i, &bi),
			     TKJ_OK, "block %zu", i);
		for (r = 0; r < b[i].nrec; r++) {
			const uint8_t *s = file + b[i].off + 64 + (size_t)r * 64;
			uint8_t exp[64];
			uint64_t seq;

			memcpy(&seq, s, 8);
			if (seq == 0) {
				cr_assert_eq(((const struct pt_slot *)s)->type, TKJ_REC_SYMBOL);
				dict++;
				continue;
			}
			cr_assert_eq(seq, want, "block %zu record %u: %" PRIu64 " for %" PRIu64, i, r,
				     seq, want);
			pt_tick(exp, 64, seq, (uint32_t)((seq - 1) % nsym),
				T_START + (int64_t)(seq - 1) * 1000000);
			cr_assert_eq(memcmp(s, exp, 64), 0, "record %" PRIu64 " as written", seq);
			want++;
		}
		for (r = 64 + b[i].nrec * 64; r < b[i].len; r++)
			cr_assert_eq(file[b[i].off + r], 0, "padding of block %zu", i);
	}
	cr_assert_eq(want, n + 1, "records 1..%" PRIu64 " (got to %" PRIu64 ")", n, want - 1);
	cr_assert_eq(dict, nsym, "one dictionary record per symbol");
	for (i = b[*nb - 1].off + b[*nb - 1].len; i < size; i++)
		cr_assert_eq(file[i], 0, "byte %zu after the data", i);
}

/* A journal of n records (symbols 0..nsym-1) through the writer. */
static void make_journal(int direct, uint64_t n, uint32_t nsym)
{
	struct pt_rec *recs = pt_recs(1, n, nsym, T_START);
	struct tkj_file_ref *files;
	struct tkj_resume res;
	int nf;

	F.align = pt_write(F.dir, direct, recs, n, 0, &res);
	F.direct = pt_last_direct;
	cr_assert_eq(res.next_seq, 1);
	cr_assert_not(res.found);
	free(recs);
	F.n = n;
	nf = pt_files(F.dir, &files);
	cr_assert_eq(nf, 1);
	cr_assert_eq(files[0].day, PT_DAY0);
	cr_assert_eq(files[0].first_seq, 1);
	cr_assert_eq(files[0].generation, PT_GEN);
	snprintf(F.path, sizeof(F.path), "%s", files[0].path);
	free(files);
	{
		char want[1024];

		snprintf(want, sizeof(want),
			 "%s/ticks/2023-12-01/ticks.0.000000001234abcd.00000000000000000001.tkj", F.dir);
		cr_assert_str_eq(F.path, want);
	}
	tkj_index_path(F.path, F.ipath, sizeof(F.ipath));
	F.orig = pt_slurp(F.path, &F.size);
	F.iorig = pt_slurp(F.ipath, &F.isize);
	check_file_holds(F.orig, F.size, F.b, &F.nb, n, nsym);
	cr_assert_eq(F.isize, 64 + (F.nb + nsym) * 128, "an index entry per block and symbol");
}

/* A commit of 3 records leaves a 512-byte block, off the file system's
 * blocks; a restart goes on after it.  The full blocks after it end on
 * file system blocks again (ext4 serializes direct writes that do not),
 * and the file still holds every record once, in order. */
Test(recover, full_blocks_after_a_part_filled_one_end_on_file_system_blocks)
{
	struct pt_rec *recs = pt_recs(1, 1000, 2, T_START);
	struct tkj_file_ref *files;
	struct tkj_resume res;
	struct statx sx;
	uint32_t fsb;
	size_t i;

	cr_assert_eq(statx(AT_FDCWD, F.dir, 0, STATX_BASIC_STATS, &sx), 0);
	fsb = sx.stx_blksize < 4096 ? sx.stx_blksize : 4096;
	F.align = pt_write(F.dir, -1, recs, 3, 0, &res);
	if (!pt_last_direct || fsb <= F.align)
		cr_skip_test("no O_DIRECT here, or its alignment is the file system's block");
	F.align = pt_write(F.dir, -1, recs + 3, 997, 0, &res);
	cr_assert_eq(res.next_seq, 4);
	free(recs);
	cr_assert_eq(pt_files(F.dir, &files), 1);
	snprintf(F.path, sizeof(F.path), "%s", files[0].path);
	free(files);
	F.orig = pt_slurp(F.path, &F.size);
	check_file_holds(F.orig, F.size, F.b, &F.nb, 1000, 2);
	cr_assert_gt(F.nb, 4);
	cr_assert_eq(F.b[0].len, tkj_block_length(5, 64, F.align), "3 records and 2 names, padded");
	cr_assert_neq((F.b[0].off + F.b[0].len) % fsb, 0);
	for (i = 1; i + 1 < F.nb; i++)
		cr_assert_eq((F.b[i].off + F.b[i].len) % fsb, 0, "block %zu: %" PRIu64 " + %u", i,
			     F.b[i].off, F.b[i].len);
}

static int scan(bool repair, struct tkj_scan *s)
{
	int fd = open(F.path, (repair ? O_RDWR : O_RDONLY) | O_CLOEXEC), rc;

	cr_assert_geq(fd, 0);
	rc = tkj_scan_file(F.path, fd, 64, WINDOW, repair, s, torn, sizeof(torn));
	close(fd);
	cr_assert_eq(rc, 0, "scan: %s", tk_err_msg());
	return rc;
}

static void restore(void)
{
	pt_spit(F.path, F.orig, F.size);
	pt_spit(F.ipath, F.iorig, F.isize);
}

/* The scan of a clean file: every block, a clean end. */
static void expect_clean(const struct tkj_scan *s)
{
	const struct pt_block *last = &F.b[F.nb - 1];

	cr_assert_eq(s->stop, TKJ_END, "%s", tkj_check_name(s->stop));
	cr_assert_eq(s->end, last->off + last->len);
	cr_assert_eq(s->next_seq, F.n + 1);
	cr_assert_eq(s->last_seq, F.n);
	cr_assert_eq(s->blocks, F.nb);
	cr_assert_eq(s->records, F.n);
	cr_assert_eq(s->junk, 0);
	cr_assert_eq(s->size, F.size);
	cr_assert_eq(s->hdr.first_seq, 1);
	cr_assert_eq(s->hdr.day, PT_DAY0);
}

static size_t count_torn_files(void)
{
	char d[1200], cmd[1300];
	FILE *p;
	size_t n = 0;
	int c;

	snprintf(d, sizeof(d), "%s", F.path);
	*strrchr(d, '/') = 0;
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c torn", d);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	if (fscanf(p, "%zu", &n) != 1)
		n = 0;
	while ((c = fgetc(p)) != EOF)
		;
	pclose(p);
	return n;
}

/*
 * The demand.  Cut block `L` (the last) after k bytes, zeros after
 * (what a crash leaves: a prefix of the write reached the disk), for each
 * k in ks: the scan ends at the block before, keeps the junk aside in
 * <file>.torn-<offset> and zeroes it; a second scan finds a clean end.
 * `intact_from`: from this k on the cut leaves the block whole (only
 * padding is cut).
 */
static void sweep_last_block(const uint32_t *ks, size_t nk, uint32_t intact_from)
{
	const struct pt_block *L = &F.b[F.nb - 1];
	char want_torn[1200];
	uint8_t *img = malloc(L->len), *back = malloc(L->len), *zeros = calloc(1, L->len);
	int fd = open(F.path, O_RDWR | O_CLOEXEC), ifd;
	size_t i;

	cr_assert_geq(fd, 0);
	cr_assert(F.nb >= 3, "at least three blocks (%zu)", F.nb);
	/* A scan allocates its 64 MiB block buffer and zeroes a tail through
	 * 1 MiB of it: from the heap, kept mapped, thousands of scans do not
	 * fault in fresh pages each time (4 s of system time otherwise). */
	mallopt(M_MMAP_MAX, 0);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	snprintf(want_torn, sizeof(want_torn), "%s.torn-%" PRIu64, F.path, L->off);
	for (i = 0; i < nk; i++) {
		uint32_t k = ks[i], nz = 0, last_nz = 0, q;
		bool intact = k >= intact_from;

		memcpy(img, F.orig + L->off, k);
		memset(img + k, 0, L->len - k);
		cr_assert_eq(pwrite(fd, img, L->len, (off_t)L->off), (ssize_t)L->len);
		/* the index names the last block again (no O_TRUNC: ext4 flushes a
		 * file truncated to 0 at its close) */
		ifd = open(F.ipath, O_WRONLY | O_CLOEXEC);
		cr_assert_geq(ifd, 0);
		cr_assert_eq(pwrite(ifd, F.iorig, F.isize, 0), (ssize_t)F.isize);
		close(ifd);
		for (q = 0; q < k; q++)
			if (img[q] != 0) {
				nz++;
				last_nz = q + 1;
			}
		nfsync = nfdatasync = 0;
		cr_assert_eq(tkj_scan_file(F.path, fd, 64, WINDOW, true, &sc, torn, sizeof(torn)), 0,
			     "k %u: %s", k, tk_err_msg());
		/* a repair makes the kept copy durable, then the zeroing */
		cr_assert_eq(nfsync, k > 0 && !intact ? 1 : 0, "k %u: %u fsyncs", k, nfsync);
		cr_assert_eq(nfdatasync, k > 0 && !intact ? 1 : 0, "k %u: %u fdatasyncs", k,
			     nfdatasync);
		if (intact) {
			cr_assert_eq(sc.stop, TKJ_END, "k %u: only padding cut", k);
			cr_assert_eq(sc.next_seq, F.n + 1, "k %u", k);
			cr_assert_eq(sc.junk, 0, "k %u", k);
			continue;
		}
		cr_assert_eq(sc.end, L->off, "k %u: end %" PRIu64 ", the last block is at %" PRIu64, k,
			     sc.end, L->off);
		cr_assert_eq(sc.next_seq, L->first, "k %u: next_seq %" PRIu64, k, sc.next_seq);
		cr_assert_eq(sc.last_seq, L->first - 1, "k %u", k);
		cr_assert_eq(sc.blocks, F.nb - 1, "k %u", k);
		cr_assert_eq(sc.records, L->first - 1, "k %u", k);
		if (k == 0) {
			cr_assert_eq(sc.stop, TKJ_END, "k 0: %s", tkj_check_name(sc.stop));
			cr_assert_eq(sc.junk, 0);
			cr_assert_str_eq(torn, "");
			cr_assert_not(pt_exists(want_torn));
		} else {
			/* By hand from the header layout: magic 0..3, length 4..7,
			 * record_size 56..59 (64 = 0x40 in byte 56), crc 60..63. */
			enum tkj_check want = k < 4 ? TKJ_BAD_MAGIC
					      : k < 57 ? TKJ_BAD_LENGTH
						       : TKJ_BAD_CRC;
			uint8_t *t;
			size_t tsize;

			cr_assert_eq(sc.stop, want, "k %u: %s, want %s", k, tkj_check_name(sc.stop),
				     tkj_check_name(want));
			if (k >= 24) {
				cr_assert_eq(sc.torn_first_seq, L->first, "k %u", k);
				if (k >= 32)
					cr_assert_eq(sc.torn_last_seq, L->last, "k %u", k);
			}
			cr_assert_gt(sc.junk, 0, "k %u", k);
			cr_assert_eq(sc.junk, nz, "k %u: junk %" PRIu64 ", nonzero bytes %u", k, sc.junk,
				     nz);
			cr_assert_eq(sc.junk_end, L->off + last_nz, "k %u", k);
			cr_assert_str_eq(torn, want_torn, "k %u", k);
			t = pt_slurp(want_torn, &tsize);
			cr_assert_eq(tsize, last_nz, "k %u: the torn file has %zu bytes", k, tsize);
			cr_assert_eq(memcmp(t, F.orig + L->off, tsize), 0, "k %u: the torn bytes", k);
			free(t);
			cr_assert_eq(unlink(want_torn), 0);
		}
		cr_assert_eq(pread(fd, back, L->len, (off_t)L->off), (ssize_t)L->len);
		cr_assert_eq(memcmp(back, zeros, L->len), 0, "k %u: the tail not zeroed", k);
		/* again: nothing to repair, the index now ends at the block before */
		cr_assert_eq(tkj_scan_file(F.path, fd, 64, WINDOW, true, &sc2, torn, sizeof(torn)), 0);
		cr_assert_eq(sc2.stop, TKJ_END, "k %u, second scan: %s", k, tkj_check_name(sc2.stop));
		cr_assert_eq(sc2.junk, 0, "k %u, second scan", k);
		cr_assert_str_eq(torn, "");
		cr_assert_eq(sc2.end, L->off);
		cr_assert_eq(sc2.next_seq, L->first);
		cr_assert(sc2.index_ok, "k %u: the index was brought up to date", k);
		cr_assert_eq(sc2.scanned, 0);
	}
	close(fd);
	free(img);
	free(back);
	free(zeros);
	cr_assert_eq(count_torn_files(), 0);
}

Test(torn, every_cut_of_the_last_block_ends_at_the_block_before)
{
	const struct pt_block *L;
	uint32_t *ks, k, nk;

	/* 441 records in full blocks (pt_full_blocks): 63 and the two
	 * dictionary records, then 126 a block (sealed when the next half
	 * block would not fit 127): a full 8128-byte block last */
	make_journal(0, 441, 2);
	cr_assert_eq(F.direct, 0);
	cr_assert_eq(F.align, 64);
	L = &F.b[F.nb - 1];
	cr_assert_eq(L->last, 441);
	cr_assert_eq(L->first, 316);
	cr_assert_eq(L->len, 8128);
	ks = malloc(L->len * sizeof(*ks));
	nk = 0;
	for (k = 0; k < L->len; k++)
#if defined(__SANITIZE_ADDRESS__)
		/* Under ASan a scan costs ~10 ms (its 64 MiB buffer poisoned at
		 * each free): every byte of the header and the records' first,
		 * then every 61st, and the last ones. */
		if (k < 192 || k % 61 == 0 || k + 8 >= L->len)
#endif
			ks[nk++] = k;
	nosync = true;
	sweep_last_block(ks, nk, L->len); /* align 64: no padding */
	nosync = false;
	free(ks);
}

Test(torn, a_zero_filled_tail_is_a_clean_end)
{
	make_journal(0, 400, 2);
	cr_assert_gt(F.size, F.b[F.nb - 1].off + F.b[F.nb - 1].len,
		     "the writer preallocated past its data");
	scan(false, &sc);
	expect_clean(&sc);
	cr_assert(sc.index_ok);
	cr_assert_eq(sc.scanned, 0, "from the index: no block read past it");
	scan(true, &sc);
	expect_clean(&sc);
	cr_assert_str_eq(torn, "");
	cr_assert_eq(count_torn_files(), 0);
	{
		size_t s;
		uint8_t *now = pt_slurp(F.path, &s);

		cr_assert_eq(s, F.size);
		cr_assert_eq(memcmp(now, F.orig, s), 0, "a clean file is not written to");
		free(now);
	}
}

Test(torn, junk_past_the_window_is_not_the_tail)
{
	const struct pt_block *L;
	uint8_t one = 0x5a;
	int fd;

	make_journal(0, 400, 2);
	L = &F.b[F.nb - 1];
	fd = open(F.path, O_RDWR);
	/* within the window: junk; past it: not looked at */
	cr_assert_eq(pwrite(fd, &one, 1, (off_t)(L->off + L->len + 100)), 1);
	cr_assert_eq(tkj_scan_file(F.path, fd, 64, 200, false, &sc, NULL, 0), 0);
	cr_assert_eq(sc.junk, 1);
	cr_assert_eq(sc.junk_end, L->off + L->len + 101);
	cr_assert_eq(tkj_scan_file(F.path, fd, 64, 100, false, &sc, NULL, 0), 0);
	cr_assert_eq(sc.junk, 0);
	close(fd);
	cr_assert_eq(count_torn_files(), 0, "without repair nothing is written");
}

/* A flipped bit in a middle block, with no index to vouch for it (a full
 * scan, as after a lost index): the scan ends before it and the rest of
 * the file is the torn tail. */
Test(torn, a_flipped_bit_in_a_middle_block_ends_the_file_there)
{
	const struct pt_block *M, *L;
	char want_torn[1200];
	uint8_t *img, *t, *now;
	size_t i, tsize, nz = 0, s, m;
	struct tkj_index idx;
	uint64_t valid;

	make_journal(0, 600, 3);
	cr_assert_geq(F.nb, 4);
	m = F.nb / 2;
	M = &F.b[m];
	L = &F.b[F.nb - 1];
	img = malloc(F.size);
	memcpy(img, F.orig, F.size);
	img[M->off + M->len / 2] ^= 0x08;
	pt_spit(F.path, img, F.size);
	cr_assert_eq(unlink(F.ipath), 0);
	for (i = M->off; i < F.size; i++)
		nz += img[i] != 0;

	scan(true, &sc);
	cr_assert_eq(sc.stop, TKJ_BAD_CRC, "%s", tkj_check_name(sc.stop));
	cr_assert_eq(sc.end, M->off);
	cr_assert_eq(sc.next_seq, M->first);
	cr_assert_eq(sc.blocks, m);
	cr_assert_eq(sc.scanned, m, "the blocks before it, read and checked");
	cr_assert_eq(sc.torn_first_seq, M->first);
	cr_assert_eq(sc.torn_last_seq, M->last);
	cr_assert_eq(sc.junk, nz);
	cr_assert_eq(sc.junk_end, L->off + L->len, "the last byte of the last block is not zero");
	snprintf(want_torn, sizeof(want_torn), "%s.torn-%" PRIu64, F.path, M->off);
	cr_assert_str_eq(torn, want_torn);
	t = pt_slurp(want_torn, &tsize);
	cr_assert_eq(tsize, L->off + L->len - M->off);
	cr_assert_eq(memcmp(t, img + M->off, tsize), 0, "the tail kept as it was, bit flipped");
	free(t);
	now = pt_slurp(F.path, &s);
	cr_assert_eq(s, F.size);
	cr_assert_eq(memcmp(now, F.orig, M->off), 0, "the good part untouched");
	for (i = M->off; i < s; i++)
		cr_assert_eq(now[i], 0, "byte %zu not zeroed", i);
	free(now);
	/* the index was rebuilt for the blocks before it */
	cr_assert_eq(tkj_index_load(F.path, PT_GEN, 1, &idx, &valid), 0);
	cr_assert_eq(idx.nblocks, m);
	tkj_index_free(&idx);
	scan(true, &sc2);
	cr_assert_eq(sc2.stop, TKJ_END);
	cr_assert_eq(sc2.junk, 0);
	cr_assert_eq(sc2.next_seq, M->first);
	cr_assert(sc2.index_ok);
	free(img);
}

/* The last block damaged in its middle (bit rot, not a cut): the same. */
Test(torn, a_flipped_bit_in_the_last_block_with_the_index)
{
	const struct pt_block *L;
	uint8_t *img;

	make_journal(0, 400, 2);
	L = &F.b[F.nb - 1];
	img = malloc(F.size);
	memcpy(img, F.orig, F.size);
	img[L->off + L->len / 2] ^= 0x80;
	pt_spit(F.path, img, F.size);
	scan(true, &sc);
	cr_assert_eq(sc.stop, TKJ_BAD_CRC);
	cr_assert_eq(sc.end, L->off);
	cr_assert_eq(sc.next_seq, L->first);
	cr_assert_eq(sc.scanned, 0, "the blocks before it are the index's, and it fails");
	cr_assert_gt(sc.junk, 0);
	free(img);
}

Test(torn, a_missing_index_is_rebuilt)
{
	make_journal(0, 500, 3);
	cr_assert_eq(unlink(F.ipath), 0);
	scan(false, &sc);
	expect_clean(&sc);
	cr_assert_not(sc.index_ok);
	cr_assert_eq(sc.scanned, F.nb);
	cr_assert_not(pt_exists(F.ipath), "a scan without repair writes nothing");
	scan(true, &sc);
	expect_clean(&sc);
	cr_assert_not(sc.index_ok);
	cr_assert_eq(sc.scanned, F.nb);
	{
		size_t s;
		uint8_t *idx = pt_slurp(F.ipath, &s);

		cr_assert_eq(s, F.isize);
		cr_assert_eq(memcmp(idx, F.iorig, s), 0, "rebuilt byte for byte as the writer wrote it");
		free(idx);
	}
	scan(true, &sc);
	expect_clean(&sc);
	cr_assert(sc.index_ok);
	cr_assert_eq(sc.scanned, 0);
}

static void expect_index_restored(void)
{
	size_t s;
	uint8_t *idx = pt_slurp(F.ipath, &s);

	cr_assert_eq(s, F.isize, "index of %zu bytes, want %zu", s, F.isize);
	cr_assert_eq(memcmp(idx, F.iorig, s), 0, "the index as the writer wrote it");
	free(idx);
}

Test(torn, a_corrupt_last_index_entry_is_not_trusted)
{
	uint8_t *idx;

	make_journal(0, 500, 3);
	idx = malloc(F.isize);
	memcpy(idx, F.iorig, F.isize);
	idx[F.isize - 128 + 17] ^= 0x01; /* the last entry (the last block's): its first_seq */
	pt_spit(F.ipath, idx, F.isize);
	scan(false, &sc);
	expect_clean(&sc);
	cr_assert_eq(sc.scanned, 1, "the last block read from the data");
	scan(true, &sc);
	expect_clean(&sc);
	cr_assert_eq(sc.scanned, 1);
	expect_index_restored();
	free(idx);
}

static void lie_next_seq(struct tkj_index_entry *e)
{
	e->next_seq += 1;
}

static void lie_offset(struct tkj_index_entry *e)
{
	e->offset += 64;
}

static void lie_first_seq(struct tkj_index_entry *e)
{
	e->first_seq += 1;
}

/* An entry with a good CRC that does not match the data (a stale index,
 * or another file's): not trusted either. */
Test(torn, a_lying_index_entry_is_not_trusted)
{
	void (*lies[])(struct tkj_index_entry *) = { lie_next_seq, lie_offset, lie_first_seq };
	size_t i;

	make_journal(0, 500, 3);
	for (i = 0; i < 3; i++) {
		struct tkj_index_entry e;
		int fd;

		restore();
		fd = open(F.ipath, O_RDWR);
		cr_assert_eq(pread(fd, &e, 128, (off_t)(F.isize - 128)), 128);
		cr_assert_eq(e.kind, TKJ_IDX_BLOCK);
		lies[i](&e);
		tkj_index_entry_seal(&e);
		cr_assert_eq(pwrite(fd, &e, 128, (off_t)(F.isize - 128)), 128);
		close(fd);
		scan(true, &sc);
		expect_clean(&sc);
		cr_assert_eq(sc.scanned, 1, "lie %zu", i);
		expect_index_restored();
	}
}

Test(torn, a_truncated_index)
{
	static const size_t cuts[] = { 50, 128, 128 + 1, 3 * 128 };
	size_t i;

	make_journal(0, 500, 3);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t whole = (cuts[i] + 127) / 128; /* entries lost, whole or in part */

		restore();
		cr_assert_eq(truncate(F.ipath, (off_t)(F.isize - cuts[i])), 0);
		scan(true, &sc);
		expect_clean(&sc);
		cr_assert_geq(sc.scanned, 1, "cut %zu", cuts[i]);
		cr_assert_leq(sc.scanned, whole, "cut %zu: %" PRIu64 " blocks read", cuts[i],
			      sc.scanned);
		expect_index_restored();
	}
	/* to its header, and shorter than a header */
	restore();
	cr_assert_eq(truncate(F.ipath, 64), 0);
	scan(true, &sc);
	expect_clean(&sc);
	cr_assert_eq(sc.scanned, F.nb);
	expect_index_restored();
	restore();
	cr_assert_eq(truncate(F.ipath, 30), 0);
	scan(true, &sc);
	expect_clean(&sc);
	cr_assert_eq(sc.scanned, F.nb);
	expect_index_restored();
}

/* Cut the last block after k bytes. */
static void tear_last(uint32_t k)
{
	const struct pt_block *L = &F.b[F.nb - 1];
	uint8_t *img = malloc(F.size);

	memcpy(img, F.orig, F.size);
	memset(img + L->off + k, 0, L->len - k);
	pt_spit(F.path, img, F.size);
	free(img);
}

Test(recover, recover_stream_resumes_after_the_last_good_record)
{
	const struct pt_block *L;
	struct tkj_recovered r;
	char want_torn[1200];
	uint32_t k, q, last_nz = 0;

	make_journal(0, 400, 2);
	L = &F.b[F.nb - 1];
	k = L->len / 2;
	for (q = 0; q < k; q++)
		if (F.orig[L->off + q] != 0)
			last_nz = q + 1;
	tear_last(k);
	cr_assert_eq(tkj_recover_stream(F.dir, "ticks", "ticks.0", PT_GEN, 64, WINDOW, &r), 0, "%s",
		     tk_err_msg());
	cr_assert(r.found);
	cr_assert_eq(r.next_seq, L->first);
	cr_assert_eq(r.end, L->off);
	cr_assert_eq(r.blocks_in_file, F.nb - 1);
	cr_assert_eq(r.first_seq, 1);
	cr_assert_eq(r.day, PT_DAY0);
	cr_assert_eq(r.align, 64);
	cr_assert_eq(r.size, F.size);
	cr_assert_eq(r.torn_bytes, last_nz);
	snprintf(want_torn, sizeof(want_torn), "%s.torn-%" PRIu64, F.path, L->off);
	cr_assert_str_eq(r.torn_path, want_torn);
	cr_assert(pt_exists(want_torn));
	cr_assert_str_eq(r.path, F.path);
	cr_assert(strstr(r.message, "torn tail") != NULL, "%s", r.message);
	cr_assert_geq(r.fd, 0);
	cr_assert_geq(r.idx_fd, 0);
	cr_assert(tkj__seen_bit(r.seen, 0) && tkj__seen_bit(r.seen, 1), "symbols 0 and 1 named");
	cr_assert_not(tkj__seen_bit(r.seen, 2));
	close(r.fd);
	close(r.idx_fd);
	tkj_recovered_free(&r);

	/* again: nothing more to do */
	cr_assert_eq(tkj_recover_stream(F.dir, "ticks", "ticks.0", PT_GEN, 64, WINDOW, &r), 0);
	cr_assert(r.found);
	cr_assert_eq(r.next_seq, L->first);
	cr_assert_eq(r.torn_bytes, 0);
	cr_assert_str_eq(r.message, "");
	close(r.fd);
	close(r.idx_fd);

	/* nothing of another log or stream */
	cr_assert_eq(tkj_recover_stream(F.dir, "ticks", "ticks.1", PT_GEN, 64, WINDOW, &r), 0);
	cr_assert_not(r.found);
	cr_assert_eq(r.fd, -1);
	cr_assert_eq(tkj_recover_stream(F.dir, "bars.1m", "bars.1m", PT_GEN, 256, WINDOW, &r), 0);
	cr_assert_not(r.found);
}

/* Write recs [from, to) after what is there; then the whole file must be
 * 1..to-1 in order, as handed in. */
static void append_and_check(int direct, uint64_t from, uint64_t to, uint64_t torn_bytes)
{
	struct pt_rec *recs = pt_recs(from, to - from, 1, 0);
	struct tkj_resume res;
	struct tkj_file_ref *files;
	uint64_t i;
	size_t size, nb;
	uint8_t *file;
	struct pt_block *b = malloc(256 * sizeof(*b));

	/* the same symbols and times as make_journal's */
	for (i = 0; i < to - from; i++) {
		recs[i].sym = (uint32_t)((from + i - 1) % 2);
		recs[i].ts = T_START + (int64_t)(from + i - 1) * 1000000;
	}
	pt_write(F.dir, direct, recs, to - from, 0, &res);
	free(recs);
	cr_assert(res.found);
	cr_assert_eq(res.next_seq, from);
	cr_assert_eq(res.torn_bytes, torn_bytes);
	if (torn_bytes > 0)
		cr_assert(pt_exists(res.torn_path), "%s", res.torn_path);
	cr_assert_eq(pt_files(F.dir, &files), 1, "appended to the same file");
	free(files);
	file = pt_slurp(F.path, &size);
	check_file_holds(file, size, b, &nb, to - 1, 2);
	cr_assert_gt(nb, F.nb - 1);
	free(file);
	free(b);
	/* and recovery agrees */
	scan(true, &sc);
	cr_assert_eq(sc.stop, TKJ_END);
	cr_assert_eq(sc.next_seq, to);
	cr_assert_eq(sc.records, to - 1);
	cr_assert_eq(sc.junk, 0);
	cr_assert(sc.index_ok, "the writer extended the index");
	cr_assert_eq(unlink(F.ipath), 0);
	scan(false, &sc);
	cr_assert_eq(sc.stop, TKJ_END, "a full scan: %s", tkj_check_name(sc.stop));
	cr_assert_eq(sc.next_seq, to);
	cr_assert_eq(sc.blocks, nb);
}

Test(recover, a_new_writer_appends_after_a_torn_tail)
{
	const struct pt_block *L;
	uint32_t q, last_nz = 0, k;

	make_journal(0, 400, 2);
	L = &F.b[F.nb - 1];
	k = L->len - 1;
	for (q = 0; q < k; q++)
		if (F.orig[L->off + q] != 0)
			last_nz = q + 1;
	tear_last(k);
	append_and_check(0, L->first, 1000, last_nz);
}

Test(recover, a_new_writer_appends_after_a_clean_close)
{
	make_journal(0, 400, 2);
	append_and_check(0, 401, 900, 0);
}

Test(recover, a_newer_segment_finishes_the_older_file)
{
	struct tkj_recovered r;
	struct stat st;
	const struct pt_block *L;

	make_journal(0, 400, 2);
	L = &F.b[F.nb - 1];
	cr_assert_eq(tkj_recover_stream(F.dir, "ticks", "ticks.0", PT_GEN + 1, 64, WINDOW, &r), 0);
	cr_assert_not(r.found, "the newest file is of another segment");
	cr_assert_eq(r.fd, -1);
	cr_assert_eq(stat(F.path, &st), 0);
	cr_assert_eq((uint64_t)st.st_size, L->off + L->len, "trimmed to its data");
}

/* O_DIRECT where the file system takes it (/tmp is ext4 here): blocks on
 * the device's alignment, zero padding; a cut that leaves only padding
 * short leaves the block whole. */
Test(torn, direct_io_cuts_of_the_last_block)
{
	struct statfs fs;
	const struct pt_block *L;
	uint32_t ks[400], nk = 0, k, used;

	cr_assert_eq(statfs("/tmp", &fs), 0);
	make_journal(-1, 400, 2);
	if (fs.f_type == 0x01021994 /* TMPFS_MAGIC */)
		cr_assert_eq(F.direct, 0, "tmpfs takes no O_DIRECT");
	else
		cr_assert_eq(F.direct, 1, "/tmp (ext4) takes O_DIRECT");
	cr_assert(F.align >= 512 && F.align <= 4096 && (F.align & (F.align - 1)) == 0, "align %u",
		  F.align);
	L = &F.b[F.nb - 1];
	used = 64 + L->nrec * 64;
	cr_assert_eq(L->len, (used + F.align - 1) / F.align * F.align);
	/* every 29th byte (131st under ASan), and the edges of the header and
	 * of the padding */
#if defined(__SANITIZE_ADDRESS__)
	for (k = 0; k < used; k += 131)
#else
	for (k = 0; k < used; k += 29)
#endif
		ks[nk++] = k;
	ks[nk++] = 1;
	ks[nk++] = 3;
	ks[nk++] = 4;
	ks[nk++] = 56;
	ks[nk++] = 57;
	ks[nk++] = 63;
	ks[nk++] = 64;
	ks[nk++] = used - 1;
	if (used < L->len) {
		ks[nk++] = used;
		ks[nk++] = L->len - 1;
	}
	sweep_last_block(ks, nk, used);
}

Test(recover, a_direct_io_writer_appends_after_a_torn_tail)
{
	const struct pt_block *L;
	uint32_t q, last_nz = 0, k;

	make_journal(-1, 400, 2);
	L = &F.b[F.nb - 1];
	k = 100;
	for (q = 0; q < k; q++)
		if (F.orig[L->off + q] != 0)
			last_nz = q + 1;
	tear_last(k);
	append_and_check(-1, L->first, 1000, last_nz);
}

/* ------------------------------------------------- losses through the writer */

struct op {
	bool loss;
	uint64_t from, to; /* records or a loss of [from, to) */
};

static void write_ops(const struct op *ops, size_t nops, uint64_t expect_next)
{
	struct tkj_journal *j;
	struct tkj_opts o;
	struct tkj_resume res;
	size_t i;
	int sid, rc;

	pt_opts(&o, F.dir, 0);
	cr_assert_eq(tkj_open(&j, &o), 0, "%s", tk_err_msg());
	sid = tkj_stream_add(j, "ticks.0", 64, PT_GEN, pt_names, NULL, &res);
	cr_assert_geq(sid, 0, "%s", tk_err_msg());
	cr_assert_eq(res.next_seq, expect_next);
	for (i = 0; i < nops; i++) {
		uint64_t seq = ops[i].from;
		int64_t since = 0;

		while (ops[i].loss) {
			rc = tkj_append_loss(j, sid, ops[i].from, ops[i].to, 1);
			if (rc == 0)
				break;
			cr_assert_eq(rc, -EAGAIN, "tkj_append_loss: %s", tk_err_msg());
			cr_assert_geq(tkj_poll(j, 1000000), 0);
			pt_stall_check(&since, false, i);
		}
		while (!ops[i].loss && seq < ops[i].to) {
			uint32_t room, k, q;
			uint8_t *r = tkj_append_room(j, sid, &room);

			if (r == NULL) {
				cr_assert_geq(tkj_poll(j, 1000000), 0);
				pt_stall_check(&since, false, seq);
				continue;
			}
			k = room < ops[i].to - seq ? room : (uint32_t)(ops[i].to - seq);
			for (q = 0; q < k; q++)
				pt_tick(r + (size_t)q * 64, 64, seq + q, (uint32_t)((seq + q) % 2),
					T_START + (int64_t)(seq + q) * 1000000);
			rc = tkj_append_done(j, sid, k, tk_mono_ns());
			cr_assert_geq(rc, 0, "%s", tk_err_msg());
			seq += (uint64_t)rc;
			pt_stall_check(&since, rc > 0, seq);
			cr_assert_geq(tkj_poll(j, 0), 0);
		}
	}
	cr_assert_eq(tkj_close(j, 10000000000LL), 0, "%s", tk_err_msg());
}

static void find_the_file(void)
{
	struct tkj_file_ref *files;

	cr_assert_eq(pt_files(F.dir, &files), 1);
	snprintf(F.path, sizeof(F.path), "%s", files[0].path);
	tkj_index_path(F.path, F.ipath, sizeof(F.ipath));
	free(files);
}

Test(recover, a_loss_inside_a_block)
{
	static const struct op ops[] = { { false, 1, 201 }, { true, 201, 251 }, { false, 251, 401 } };

	write_ops(ops, 3, 1);
	find_the_file();
	scan(true, &sc);
	cr_assert_eq(sc.stop, TKJ_END);
	cr_assert_eq(sc.next_seq, 401);
	cr_assert_eq(sc.last_seq, 400);
	cr_assert(sc.index_ok);
	cr_assert_eq(unlink(F.ipath), 0);
	scan(true, &sc);
	cr_assert_eq(sc.stop, TKJ_END, "a full scan: %s", tkj_check_name(sc.stop));
	cr_assert_eq(sc.next_seq, 401);
	write_ops(NULL, 0, 401);
}

/* The stream's last word is a loss: it resumes after the loss. */
Test(recover, a_loss_at_the_end_moves_the_resume_point)
{
	static const struct op ops[] = { { false, 1, 101 }, { true, 101, 1000 } };
	static const struct op more[] = { { false, 1000, 1100 } };

	write_ops(ops, 2, 1);
	find_the_file();
	scan(false, &sc);
	cr_assert_eq(sc.next_seq, 1000);
	cr_assert_eq(sc.last_seq, 100);
	write_ops(more, 1, 1000);
	cr_assert_eq(unlink(F.ipath), 0);
	scan(true, &sc);
	cr_assert_eq(sc.stop, TKJ_END, "%s", tkj_check_name(sc.stop));
	cr_assert_eq(sc.next_seq, 1100);
	cr_assert_eq(sc.last_seq, 1099);
}

/* sc.records: "source records in the blocks read", not the sequences a
 * loss inside a block declares missing; from the data or from the index. */
Test(recover, records_do_not_count_lost_sequences)
{
	static const struct op ops[] = { { false, 1, 201 }, { true, 201, 251 }, { false, 251, 401 } };

	write_ops(ops, 3, 1);
	find_the_file();
	cr_assert_eq(unlink(F.ipath), 0);
	scan(false, &sc);
	cr_assert_eq(sc.next_seq, 401);
	cr_assert_eq(sc.records, 350, "%" PRIu64 " records: 1..200 and 251..400 are 350", sc.records);
	scan(true, &sc); /* rebuilds the index */
	cr_assert_eq(sc.records, 350);
	scan(false, &sc);
	cr_assert(sc.index_ok);
	cr_assert_eq(sc.scanned, 0);
	cr_assert_eq(sc.records, 350, "from the index: %" PRIu64, sc.records);
}

/* Writes complete out of order: the last block reached the disk, the one
 * before it did not (zeros), so neither was made durable nor indexed (the
 * writer indexes a durable prefix).  The end is the hole; the block after
 * it, within the window, is the torn tail. */
Test(torn, a_hole_before_the_last_block)
{
	const struct pt_block *H, *L;
	uint8_t *img, *t;
	size_t i, nz = 0, tsize;

	make_journal(0, 600, 2);
	H = &F.b[F.nb - 2];
	L = &F.b[F.nb - 1];
	img = malloc(F.size);
	memcpy(img, F.orig, F.size);
	memset(img + H->off, 0, H->len);
	pt_spit(F.path, img, F.size);
	cr_assert_geq(F.nb, 4, "H and L hold no dictionary record: two index entries");
	cr_assert_eq(truncate(F.ipath, (off_t)(F.isize - 2 * 128)), 0);
	for (i = L->off; i < L->off + L->len; i++)
		nz += img[i] != 0;
	scan(true, &sc);
	cr_assert_eq(sc.stop, TKJ_END, "zeros where the block should be");
	cr_assert_eq(sc.end, H->off);
	cr_assert_eq(sc.next_seq, H->first);
	cr_assert_eq(sc.junk, nz);
	cr_assert_eq(sc.junk_end, L->off + L->len);
	t = pt_slurp(torn, &tsize);
	cr_assert_eq(tsize, L->off + L->len - H->off);
	cr_assert_eq(memcmp(t, img + H->off, tsize), 0);
	free(t);
	scan(true, &sc2);
	cr_assert_eq(sc2.junk, 0);
	cr_assert_eq(sc2.next_seq, H->first);
	free(img);
}

Test(torn, not_a_journal_file)
{
	int fd;
	uint8_t junk[5000];

	make_journal(0, 200, 2);
	fd = open(F.path, O_RDONLY);
	cr_assert_eq(tkj_scan_file(F.path, fd, 128, WINDOW, false, &sc, NULL, 0), -EPROTO,
		     "another record size");
	cr_assert(strstr(tk_err_msg(), "128") != NULL, "%s", tk_err_msg());
	close(fd);
	memset(junk, 'x', sizeof(junk));
	pt_spit(F.path, junk, sizeof(junk));
	fd = open(F.path, O_RDONLY);
	cr_assert_eq(tkj_scan_file(F.path, fd, 64, WINDOW, false, &sc, NULL, 0), -EPROTO);
	cr_assert(strstr(tk_err_msg(), "not a tickd journal") != NULL, "%s", tk_err_msg());
	close(fd);
	pt_spit(F.path, F.orig, 100);
	fd = open(F.path, O_RDONLY);
	cr_assert_eq(tkj_scan_file(F.path, fd, 64, WINDOW, false, &sc, NULL, 0), -EPROTO);
	cr_assert(strstr(tk_err_msg(), "shorter") != NULL, "%s", tk_err_msg());
	close(fd);
}

/* A file with its header only (the writer died before its first block). */
Test(recover, a_file_without_blocks)
{
	struct tkj_recovered r;
	int fd;

	make_journal(0, 200, 2);
	pt_spit(F.path, F.orig, TKJ_HEADER_SIZE);
	cr_assert_eq(unlink(F.ipath), 0);
	fd = open(F.path, O_RDWR);
	cr_assert_eq(tkj_scan_file(F.path, fd, 64, WINDOW, true, &sc, torn, sizeof(torn)), 0);
	close(fd);
	cr_assert_eq(sc.stop, TKJ_END);
	cr_assert_eq(sc.next_seq, 1, "the header's first_seq");
	cr_assert_eq(sc.blocks, 0);
	cr_assert_eq(sc.end, TKJ_HEADER_SIZE);
	cr_assert_eq(tkj_recover_stream(F.dir, "ticks", "ticks.0", PT_GEN, 64, WINDOW, &r), 0);
	cr_assert(r.found);
	cr_assert_eq(r.next_seq, 1);
	close(r.fd);
	close(r.idx_fd);
	{
		uint64_t nb = F.nb;
		F.nb = 1; /* append_and_check wants more blocks than nb - 1 */
		append_and_check(0, 1, 300, 0);
		F.nb = nb;
	}
}

/*
 * Writes the seed corpus of fuzz_journal (tests/fuzz/corpus_journal), see
 * make_corpus_journal.sh: journal files made with the journal's own writer
 * functions (tkj_file_header_make, tkj_block_seal, tkj_index_append) from the
 * records of a real file `tickd run` wrote, cut into small blocks so that
 * several fit the fuzzer's 64 KiB; real files as tickd wrote them (trimmed
 * to their data); blocks and headers alone; times and retention rules.
 *
 *   gen_corpus_journal OUTDIR TICKS.tkj [OTHER.tkj ...]
 *
 * OTHER files are taken whole (cut after their last block, their index
 * beside them) when small enough.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "persist/format.h"
#include "persist/index.h"
#include "shm/records.h"

#define MAXF (64u << 10)

static const char *outdir;

static void die(const char *what)
{
	fprintf(stderr, "gen_corpus_journal: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	p = malloc((size_t)st.st_size + 1);
	if (p == NULL || read(fd, p, (size_t)st.st_size) != st.st_size)
		die(path);
	close(fd);
	*n = (size_t)st.st_size;
	return p;
}

/* One corpus file: the parts concatenated. */
static void emit(const char *name, const void *a, size_t an, const void *b, size_t bn,
		 const void *c, size_t cn)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(a, 1, an, f) != an || (bn && fwrite(b, 1, bn, f) != bn) ||
	    (cn && fwrite(c, 1, cn, f) != cn) || fclose(f) != 0)
		die(path);
}

/* A journal file being made in memory, its index beside it. */
struct jf {
	uint8_t data[MAXF * 2];
	size_t len;
	uint8_t idx[MAXF];
	size_t ilen;
	uint32_t rs, align;
	uint64_t block_no;
	char ipath[256];
	int ifd;
};

static void jf_start(struct jf *j, uint32_t rs, uint32_t align, uint64_t first_seq,
		     uint64_t generation)
{
	struct tkj_file_header h;
	char dpath[256];

	memset(j->data, 0, sizeof(j->data));
	j->rs = rs;
	j->align = align;
	j->block_no = 0;
	tkj_file_header_make(&h, rs == 64 ? "ticks" : rs == 256 ? "bars.1m" : "signals",
			     rs == 64 ? "ticks.0" : rs == 256 ? "bars.1m" : "signals", rs, align,
			     19724 /* 2024-01-02 */, first_seq, generation,
			     1704153600000000000LL, 0);
	memcpy(j->data, &h, sizeof(h));
	j->len = TKJ_HEADER_SIZE;
	snprintf(dpath, sizeof(dpath), "%s/.gen.tkj", outdir);
	if (tkj_index_create(dpath, generation, first_seq, &j->ifd) < 0)
		die("index");
	tkj_index_path(dpath, j->ipath, sizeof(j->ipath));
}

/* Seal nrec records as the next block; its index entry unless skip_idx. */
static uint32_t jf_block(struct jf *j, const uint8_t *recs, uint32_t nrec, int skip_idx)
{
	uint8_t *b = j->data + j->len;
	struct tkj_index_entry e;
	uint32_t len;

	memcpy(b + TKJ_BLOCK_HEADER, recs, (size_t)nrec * j->rs);
	len = tkj_block_seal(b, nrec, j->rs, j->align, j->block_no++);
	if (!skip_idx) {
		tkj_index_entry_of_block(&e, b, j->rs, j->len);
		tkj_index_append(j->ifd, &e, b, j->rs);
	}
	j->len += len;
	return len;
}

static void jf_finish(struct jf *j)
{
	uint8_t *p;
	size_t n;

	close(j->ifd);
	p = slurp(j->ipath, &n);
	if (p == NULL || n > sizeof(j->idx))
		die("index read");
	memcpy(j->idx, p, n);
	j->ilen = n;
	free(p);
	unlink(j->ipath);
}

/* A mode 0 input: [0][flags][file][index]. */
static void emit_file(const char *name, uint8_t flags, const struct jf *j, size_t len,
		      size_t ilen)
{
	uint8_t head[2] = { 0, flags };

	if (2 + len + ilen > MAXF) {
		fprintf(stderr, "gen_corpus_journal: %s too large (%zu)\n", name, 2 + len + ilen);
		exit(1);
	}
	emit(name, head, 2, j->data, len, j->idx, ilen);
}

static void set_tick_time(uint8_t *r, int64_t t)
{
	memcpy(r + 16 + offsetof(struct tk_tick, ts_ns), &t, 8);
}

int main(int argc, char **argv)
{
	static struct jf j;
	uint8_t *src, *recs, rec[64];
	size_t n, nrecs, i;
	struct tkj_block_header bh;
	int a;

	if (argc < 3) {
		fprintf(stderr, "usage: gen_corpus_journal OUTDIR TICKS.tkj [OTHER.tkj ...]\n");
		return 2;
	}
	outdir = argv[1];
	src = slurp(argv[2], &n);
	if (src == NULL || n < TKJ_HEADER_SIZE + TKJ_BLOCK_HEADER)
		die(argv[2]);
	/* The records of the real file's blocks (64-byte ticks, symbols), in order. */
	recs = malloc(n);
	if (recs == NULL)
		die("memory");
	nrecs = 0;
	for (i = TKJ_HEADER_SIZE; i + TKJ_BLOCK_HEADER <= n; i += bh.length) {
		memcpy(&bh, src + i, sizeof(bh));
		if (bh.magic != TKJ_BLOCK_MAGIC || bh.length < TKJ_BLOCK_HEADER)
			break;
		if (bh.record_size != 64)
			die("not a ticks file");
		memcpy(recs + nrecs * 64, src + i + TKJ_BLOCK_HEADER, (size_t)bh.nrec * 64);
		nrecs += bh.nrec;
	}
	if (nrecs < 96)
		die("fewer than 96 records");
	nrecs = 64; /* the first 64 in blocks of 16 (the torn tail below takes 96) */

	/* 1. Blocks of 16 records, alignment 64 and 512, with and without index. */
	for (a = 0; a < 2; a++) {
		uint32_t align = a ? 512 : 64;
		char name[64];

		jf_start(&j, 64, align, 1, 0x18ed1a5268e232d9ull);
		for (i = 0; i < nrecs; i += 16)
			jf_block(&j, recs + i * 64, (uint32_t)(nrecs - i < 16 ? nrecs - i : 16), 0);
		jf_finish(&j);
		snprintf(name, sizeof(name), "file_a%u_idx", align);
		emit_file(name, 3, &j, j.len, j.ilen);
		snprintf(name, sizeof(name), "file_a%u_noidx", align);
		emit_file(name, 1, &j, j.len, 0);
		/* Preallocated zeros after the data. */
		snprintf(name, sizeof(name), "file_a%u_prealloc", align);
		emit_file(name, 2 | 128, &j, j.len + 4096, j.ilen);
		if (a == 0) {
			/* Block 0 lost to zeros under an index that still lists it:
			 * a scan trusts the index, verify (tkj_walk_blocks) does not. */
			static struct jf z;

			z = j;
			memset(z.data + TKJ_HEADER_SIZE, 0, tkj_block_length(16, 64, 64));
			emit_file("file_idx_over_zeroed_block0", 3, &z, z.len, z.ilen);
		}
		if (a == 1) {
			/* The index behind the data: its last two entries lost. */
			emit_file("file_idx_behind", 3, &j, j.len, j.ilen - 3 * 128);
			/* An index torn inside an entry. */
			emit_file("file_idx_torn", 3, &j, j.len, j.ilen - 50);
		}
	}

	/* 2. A torn tail: a block whose write did not complete (CRC), another
	 *    after it that did, then zeros. */
	jf_start(&j, 64, 512, 1, 0x18ed1a5268e232d9ull);
	for (i = 0; i < 64; i += 16)
		jf_block(&j, recs + i * 64, 16, 0);
	{
		size_t torn = j.len;

		jf_block(&j, recs + 64 * 64, 16, 1);
		j.data[torn + TKJ_BLOCK_HEADER + 200] ^= 0x40;
		jf_block(&j, recs + 80 * 64, 16, 1);
		jf_finish(&j);
		emit_file("file_torn_tail", 3, &j, j.len + 1024, j.ilen);
		emit_file("file_torn_tail_noidx", 1, &j, j.len + 1024, 0);
		/* The index claims the torn block too (an index of another file). */
	}

	/* 3. A loss record, a feed gap and heartbeats; block 0 from seq 1. */
	jf_start(&j, 64, 64, 1, 0x18ed1a5268e232d9ull);
	jf_block(&j, recs, 24, 0);
	{
		uint8_t blk[8 * 64];
		uint64_t next = 0, s;
		struct tkj_loss l;
		struct tk_gap g;
		struct tk_heartbeat hb;
		uint32_t k;
		int64_t t = 0;

		uint32_t trade = 0;

		for (k = 0; k < nrecs; k++) {
			uint32_t type;

			memcpy(&type, recs + k * 64 + 8, 4);
			if (type == TK_REC_TICK) {
				trade = k;
				break;
			}
		}
		for (k = 0; k < 24; k++) {
			memcpy(&s, recs + k * 64, 8);
			if (s != 0) {
				next = s + 1;
				memcpy(&t, recs + k * 64 + 16, 8);
			}
		}
		/* loss [next, next + 50), then records from next + 50 */
		memset(blk, 0, sizeof(blk));
		l = (struct tkj_loss){ .from = next, .to = next + 50, .at_ns = t, .reason = 1 };
		memcpy(blk + 8, &(uint32_t){ TKJ_REC_LOSS }, 4);
		memcpy(blk + 16, &l, sizeof(l));
		next += 50;
		for (k = 1; k < 8; k++) {
			memcpy(blk + k * 64, recs + trade * 64, 64); /* a trade of a named symbol */
			memcpy(blk + k * 64, &next, 8);
			set_tick_time(blk + k * 64, t + k * 1000000);
			next++;
		}
		/* a gap, a heartbeat */
		memset(blk + 3 * 64 + 8, 0, 56);
		memcpy(blk + 3 * 64 + 8, &(uint32_t){ TK_REC_GAP }, 4);
		g = (struct tk_gap){ .from_ns = t, .to_ns = t + 5000000, .nsymbols = 8 };
		memcpy(blk + 3 * 64 + 16, &g, sizeof(g));
		memset(blk + 5 * 64 + 8, 0, 56);
		memcpy(blk + 5 * 64 + 8, &(uint32_t){ TK_REC_HEARTBEAT }, 4);
		hb = (struct tk_heartbeat){ .clock_ns = t + 6000000 };
		memcpy(blk + 5 * 64 + 16, &hb, sizeof(hb));
		jf_block(&j, blk, 8, 0);
		jf_block(&j, recs + 24 * 64, 8, 0); /* sequences that do not follow */
		(void)rec;
	}
	jf_finish(&j);
	emit_file("file_loss_gap", 3, &j, j.len, j.ilen);
	emit_file("file_loss_gap_noidx", 2, &j, j.len, 0);

	/* 4. Alignment 4096: two blocks, the header alone, nothing at all. */
	jf_start(&j, 64, 4096, 1, 0x18ed1a5268e232d9ull);
	jf_block(&j, recs, 32, 0);
	jf_block(&j, recs + 32 * 64, 32, 0);
	jf_finish(&j);
	emit_file("file_a4096", 3, &j, j.len, j.ilen);
	emit_file("file_header_only", 0, &j, TKJ_HEADER_SIZE, 0);
	emit_file("file_short", 0, &j, 256, 0);

	/* 5. Blocks alone (mode 1): params rs index + 3 * align index. */
	{
		uint8_t head[3] = { 1, 0, 3 };

		jf_start(&j, 64, 64, 1, 1);
		jf_block(&j, recs, 16, 0);
		jf_finish(&j);
		head[1] = 0; /* rs 64, align 64 */
		emit("block_rs64_a64", head, 3, j.data + TKJ_HEADER_SIZE, j.len - TKJ_HEADER_SIZE,
		     NULL, 0);
		jf_start(&j, 64, 512, 1, 1);
		jf_block(&j, recs + 16 * 64, 7, 0);
		jf_finish(&j);
		head[1] = 3; /* rs 64, align 512 */
		head[2] = 2;
		emit("block_rs64_a512", head, 3, j.data + TKJ_HEADER_SIZE, j.len - TKJ_HEADER_SIZE,
		     NULL, 0);
		/* Sealed, but wrong inside: a journal record of an unknown type, a
		 * loss not from the next sequence, a header's sequences not its
		 * records' (rs 64, align 64; expect the first record's sequence). */
		{
			uint8_t bad[4 * 64];
			struct tkj_loss l = { .from = 7, .to = 9 };
			struct tkj_block_header *h = (void *)j.data;

			jf_start(&j, 64, 64, 1, 1);
			memset(bad, 0, sizeof(bad));
			memcpy(bad, recs, 2 * 64);
			memcpy(bad + 2 * 64 + 8, &(uint32_t){ 77 }, 4);
			memcpy(bad + 3 * 64, recs + 2 * 64, 64);
			tkj_block_seal(j.data, 4, 64, 64, 0);
			memcpy(j.data + TKJ_BLOCK_HEADER, bad, sizeof(bad));
			tkj_block_seal(j.data, 4, 64, 64, 0);
			head[1] = 0;
			head[2] = 0;
			emit("block_unknown_type", head, 3, j.data,
			     tkj_block_length(4, 64, 64), NULL, 0);
			memcpy(bad + 2 * 64 + 8, &(uint32_t){ TKJ_REC_LOSS }, 4);
			memcpy(bad + 2 * 64 + 16, &l, sizeof(l));
			memcpy(j.data + TKJ_BLOCK_HEADER, bad, sizeof(bad));
			tkj_block_seal(j.data, 4, 64, 64, 0);
			head[2] = 1;
			emit("block_bad_loss", head, 3, j.data, tkj_block_length(4, 64, 64), NULL, 0);
			memcpy(j.data + TKJ_BLOCK_HEADER, recs, 4 * 64);
			tkj_block_seal(j.data, 4, 64, 64, 0);
			h->first_seq += 1;
			head[2] = 4; /* re-sealed by the target */
			emit("block_bad_first_seq", head, 3, j.data, tkj_block_length(4, 64, 64), NULL,
			     0);
			close(j.ifd);
			unlink(j.ipath);
		}
		/* A signals block (128-byte records of type 5). */
		{
			uint8_t sig[3 * 128];
			uint32_t k;

			jf_start(&j, 128, 512, 1, 1);
			memset(sig, 0, sizeof(sig));
			for (k = 0; k < 3; k++) {
				uint64_t seq = 1 + k;
				int64_t t = 1704205800000000000LL + k * 1000000000LL;

				memcpy(sig + k * 128, &seq, 8);
				memcpy(sig + k * 128 + 8, &(uint32_t){ TK_REC_SIGNAL }, 4);
				memcpy(sig + k * 128 + 12, &(uint32_t){ 2 }, 4);
				memcpy(sig + k * 128 + 16 + offsetof(struct tk_signal_rec, ts_ns), &t, 8);
			}
			jf_block(&j, sig, 3, 0);
			jf_finish(&j);
			head[1] = 1 + 3; /* rs 128, align 512 */
			head[2] = 3;
			emit("block_signals", head, 3, j.data + TKJ_HEADER_SIZE, j.len - TKJ_HEADER_SIZE,
			     NULL, 0);
		}
		/* 6. The file header alone (mode 2). */
		head[0] = 2;
		head[1] = 0;
		emit("header", head, 2, j.data, sizeof(struct tkj_file_header), NULL, 0);
	}

	/* 7. Real files as tickd wrote them, cut after their data. */
	for (a = 3; a < argc; a++) {
		uint8_t *d = slurp(argv[a], &n), *ix;
		size_t end = TKJ_HEADER_SIZE, in = 0;
		char ipath[1024], name[64];
		const char *base = strrchr(argv[a], '/');
		struct tkj_file_header h;
		uint8_t head[2] = { 0, 3 };

		if (d == NULL || n < TKJ_HEADER_SIZE)
			continue;
		memcpy(&h, d, sizeof(h));
		while (end + TKJ_BLOCK_HEADER <= n) {
			memcpy(&bh, d + end, sizeof(bh));
			if (bh.magic != TKJ_BLOCK_MAGIC || bh.length < TKJ_BLOCK_HEADER)
				break;
			end += bh.length;
		}
		tkj_index_path(argv[a], ipath, sizeof(ipath));
		ix = slurp(ipath, &in);
		if (2 + end + in > MAXF) {
			free(d);
			free(ix);
			continue;
		}
		snprintf(name, sizeof(name), "real_%.*s", (int)strcspn(base + 1, "0123456789"),
			 base + 1);
		for (i = 0; name[i]; i++)
			if (name[i] == '.')
				name[i] = '_';
		snprintf(name + strlen(name), sizeof(name) - strlen(name), "%d", a);
		emit(name, head, 2, d, end, ix, in);
		if (h.record_size != 64) {
			/* one of its blocks alone: rs 128 -> 1, 256 -> 2, align 512 -> 3 */
			uint8_t bhd[3] = { 1, (uint8_t)((h.record_size == 128 ? 1 : 2) + 3), 3 };

			strcat(name, "_block");
			emit(name, bhd, 3, d + TKJ_HEADER_SIZE, end - TKJ_HEADER_SIZE, NULL, 0);
		}
		free(d);
		free(ix);
	}

	/* 8. Times and days (mode 3), retention rules (mode 4). */
	{
		static const char *times[] = {
			"1701388800000", "2023-12-01", "2023-12-01T14:30", "2023-12-01T14:30:05.250Z",
			"2023-12-01T09:30:00-05:00", "2023-12-01 14:30:05.123456789+0530",
			"2024-02-29", "2023-12-31T23:59:60Z", "1970-01-01T00:00+01:00",
			"2262-04-11T23:47:16.854775807Z", "9999-12-31", "9223372036854",
			"2100-02-29", "ticks.0.18ed1a5268e232d9.00000000000000000001.tkj",
			"bars.1m.0000000000000000.99999999999999999999.tkj",
		};
		static const char *rules[] = {
			"ticks=30d,bars=90d,signals=90d", "ticks=12h", "bars.1m=forever,signals=0",
			"ticks=1.5d,bars=2e2h", "", "a=1d,b=2d,c=3d,d=4d,e=5d,f=6d,g=7d,h=8d",
			"ticks=36500d",
		};
		char name[32];
		uint8_t m[2] = { 3, 16 - 1 };

		for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
			snprintf(name, sizeof(name), "time_%02zu", i);
			emit(name, m, 1, times[i], strlen(times[i]), NULL, 0);
		}
		m[0] = 4;
		for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
			snprintf(name, sizeof(name), "retain_%02zu", i);
			emit(name, m, 2, rules[i], strlen(rules[i]), NULL, 0);
		}
	}
	free(recs);
	free(src);
	return 0;
}

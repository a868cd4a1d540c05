/* The per-file index (persist/index.c): entries of blocks, the file of
 * entries and its valid prefix.  Expected bits worked out by hand. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "common/crc32c.h"
#include "persist/index.h"
#include "tests/persist/persist_helpers.h"

static _Alignas(64) uint8_t blk[8192];
static char dir[128];

static void setup(void)
{
	pt_tmpdir(dir, sizeof(dir), "index");
}

static void teardown(void)
{
	pt_rmrf(dir);
}

TestSuite(index, .init = setup, .fini = teardown);

static uint8_t *rec(uint32_t i)
{
	return blk + TKJ_BLOCK_HEADER + (size_t)i * 64;
}

static void put(uint32_t i, uint64_t seq, uint32_t type, uint32_t aux, int64_t ts)
{
	struct pt_slot *s = (void *)rec(i);

	pt_tick(s, 64, seq, aux, ts); /* the time sits where a tick, heartbeat and gap keep it */
	s->type = type;
}

static void put_symbol(uint32_t i, uint32_t id, const char *name)
{
	struct pt_slot *s = (void *)rec(i);

	memset(s, 0, 64);
	s->type = TKJ_REC_SYMBOL;
	s->aux = id;
	snprintf((char *)s->data, TKJ_NAME_MAX, "%s", name);
}

Test(index, entry_of_block_symbits_and_flags)
{
	static const uint32_t ids[] = { 0, 63, 64, 255, 256, 300, 1000 };
	struct tkj_index_entry e;
	int64_t t0 = PT_DAY0_NS;
	uint32_t i, n = 0, len;

	put_symbol(n++, 3, "AAPL"); /* a dictionary record names, it does not hold, id 3 */
	for (i = 0; i < 7; i++, n++)
		put(n, 10 + i, TK_REC_TICK, ids[i], t0 + i);
	put(n++, 17, TK_REC_HEARTBEAT, 999, t0 + 100); /* aux of a heartbeat is no symbol */
	put(n++, 18, TK_REC_BAR, 2, t0 - 100);
	put(n++, 19, TK_REC_SIGNAL, 5, t0 + 50);
	len = tkj_block_seal(blk, n, 64, 64, 6);
	tkj_index_entry_of_block(&e, blk, 64, 123456);
	cr_assert_eq(e.kind, TKJ_IDX_BLOCK);
	cr_assert_eq(e.length, len);
	cr_assert_eq(e.length, 64 + 11 * 64);
	cr_assert_eq(e.offset, 123456);
	cr_assert_eq(e.first_seq, 10);
	cr_assert_eq(e.last_seq, 19);
	cr_assert_eq(e.next_seq, 20);
	cr_assert_eq(e.min_ts, t0 - 100);
	cr_assert_eq(e.max_ts, t0 + 100);
	cr_assert_eq(e.block_no, 6);
	cr_assert_eq(e.nrec, 11);
	cr_assert_eq(e.flags, 0, "no gap, no loss");
	/* bit id & 255: 0 and 256 -> bit 0; 63; 300 -> 44; 64 -> word 1 bit 0; 2 (bar),
	 * 5 (signal) -> bits 2, 5; 255 -> word 3 bit 63; 1000 -> 232 = word 3 bit 40 */
	cr_assert_eq(e.u.symbits[0], 1ull | 1ull << 2 | 1ull << 5 | 1ull << 44 | 1ull << 63,
		     "%#llx", (unsigned long long)e.u.symbits[0]);
	cr_assert_eq(e.u.symbits[1], 1ull);
	cr_assert_eq(e.u.symbits[2], 0);
	cr_assert_eq(e.u.symbits[3], 1ull << 63 | 1ull << 40, "%#llx",
		     (unsigned long long)e.u.symbits[3]);
	cr_assert(tkj_index_has_symbol(&e, 1000));
	cr_assert(tkj_index_has_symbol(&e, 512), "512 & 255 == 0: maybe");
	cr_assert_not(tkj_index_has_symbol(&e, 3), "named by the dictionary only");
	cr_assert_not(tkj_index_has_symbol(&e, 999 & 255), "the heartbeat's aux");
	cr_assert_not(tkj_index_has_symbol(&e, 1));

	/* a feed gap record flags the block */
	n = 0;
	put(n++, 1, TK_REC_TICK, 7, t0);
	put(n++, 2, TK_REC_GAP, 0, t0 + 1);
	tkj_block_seal(blk, n, 64, 64, 0);
	tkj_index_entry_of_block(&e, blk, 64, 4096);
	cr_assert_eq(e.flags, TKJ_IDX_F_GAP);
	cr_assert_eq(e.u.symbits[0], 1ull << 7);
	cr_assert_eq(e.next_seq, 3);

	/* a loss record flags it and moves next_seq to its end */
	n = 0;
	put(n++, 1, TK_REC_TICK, 7, t0);
	{
		struct pt_slot *s = (void *)rec(n++);
		struct tkj_loss l = { .from = 2, .to = 40, .reason = 1 };

		memset(s, 0, 64);
		s->type = TKJ_REC_LOSS;
		memcpy(s->data, &l, sizeof(l));
	}
	tkj_block_seal(blk, n, 64, 64, 0);
	tkj_index_entry_of_block(&e, blk, 64, 4096);
	cr_assert_eq(e.flags, TKJ_IDX_F_GAP);
	cr_assert_eq(e.first_seq, 1);
	cr_assert_eq(e.last_seq, 1);
	cr_assert_eq(e.next_seq, 40);

	/* a block of dictionary records only: no sequence, nothing to name */
	put_symbol(0, 9, "NVDA");
	tkj_block_seal(blk, 1, 64, 64, 0);
	tkj_index_entry_of_block(&e, blk, 64, 4096);
	cr_assert_eq(e.next_seq, 0);
	cr_assert_eq(e.first_seq, 0);
	cr_assert_eq(e.u.symbits[0] | e.u.symbits[1] | e.u.symbits[2] | e.u.symbits[3], 0);
}

/* Writes an index of 5 blocks (the first with 2 dictionary records) for
 * data file `data`: entries sym 3, sym 4, blk 0, blk 1 .. blk 4. */
static void write_index(const char *data, struct tkj_index_entry *want)
{
	uint32_t b, i, n;
	int fd = -1;

	cr_assert_eq(tkj_index_create(data, PT_GEN, 1, &fd), 0, "%s", tk_err_msg());
	n = 0;
	for (b = 0; b < 5; b++) {
		uint32_t k = 0;
		struct tkj_index_entry e;

		if (b == 0) {
			put_symbol(k++, 3, "AAPL");
			put_symbol(k++, 4, "BINANCE:BTCUSDT");
		}
		for (i = 0; i < 10; i++, k++)
			pt_tick(rec(k), 64, 1 + b * 10 + i, 3 + i % 2, PT_DAY0_NS + b * 10 + i);
		tkj_block_seal(blk, k, 64, 64, b);
		tkj_index_entry_of_block(&e, blk, 64, 4096 + b * 1024);
		cr_assert_eq(tkj_index_append(fd, &e, blk, 64), 0);
		if (b == 0) {
			memset(&want[n], 0, sizeof(want[n]));
			want[n].kind = TKJ_IDX_SYMBOL;
			want[n].length = 3;
			strcpy(want[n].u.name, "AAPL");
			tkj_index_entry_seal(&want[n++]);
			memset(&want[n], 0, sizeof(want[n]));
			want[n].kind = TKJ_IDX_SYMBOL;
			want[n].length = 4;
			strcpy(want[n].u.name, "BINANCE:BTCUSDT");
			tkj_index_entry_seal(&want[n++]);
		}
		tkj_index_entry_seal(&e);
		want[n++] = e;
	}
	close(fd);
}

static void reseal_entry_at(const char *ipath, size_t i, void (*edit)(struct tkj_index_entry *))
{
	struct tkj_index_entry e;
	int fd = open(ipath, O_RDWR);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &e, sizeof(e), TKJ_INDEX_HEADER + i * sizeof(e)), sizeof(e));
	edit(&e);
	tkj_index_entry_seal(&e);
	cr_assert_eq(pwrite(fd, &e, sizeof(e), TKJ_INDEX_HEADER + i * sizeof(e)), sizeof(e));
	close(fd);
}

static void bump_block_no(struct tkj_index_entry *e)
{
	e->block_no++;
}

static void bad_kind(struct tkj_index_entry *e)
{
	e->kind = 9;
}

Test(index, load_gives_the_valid_prefix)
{
	struct tkj_index_entry want[7];
	struct tkj_index idx;
	char data[256], ipath[300];
	uint64_t valid;
	uint8_t *file;
	size_t size, i;

	snprintf(data, sizeof(data), "%s/x.tkj", dir);
	tkj_index_path(data, ipath, sizeof(ipath));
	cr_assert_eq(strcmp(ipath + strlen(ipath) - 8, ".tkj.idx"), 0, "%s", ipath);
	cr_assert_eq(tkj_index_load(data, PT_GEN, 1, &idx, &valid), -ENOENT);
	write_index(data, want);
	file = pt_slurp(ipath, &size);
	cr_assert_eq(size, 64 + 7 * 128);
	cr_assert_eq(memcmp(file, "TKJINDX1", 8), 0);

	cr_assert_eq(tkj_index_load(data, PT_GEN, 1, &idx, &valid), 0);
	cr_assert_eq(idx.n, 7);
	cr_assert_eq(idx.nblocks, 5);
	cr_assert_eq(valid, 64 + 7 * 128);
	for (i = 0; i < 7; i++)
		cr_assert_eq(memcmp(&idx.e[i], &want[i], 128), 0, "entry %zu", i);
	cr_assert_eq(idx.e[0].crc, tk_crc32c_sw(0, &want[0], 124));
	cr_assert_str_eq(idx.e[1].u.name, "BINANCE:BTCUSDT");
	cr_assert_eq(idx.e[2].first_seq, 1);
	cr_assert_eq(idx.e[2].nrec, 12);
	cr_assert_eq(idx.e[6].last_seq, 50);
	tkj_index_free(&idx);

	cr_assert_eq(tkj_index_load(data, PT_GEN + 1, 1, &idx, &valid), -EPROTO, "generation");
	cr_assert_eq(tkj_index_load(data, PT_GEN, 2, &idx, &valid), -EPROTO, "first sequence");

	/* a flipped byte in entry 4 (block 2): blocks 0 and 1 stay */
	file[64 + 4 * 128 + 40] ^= 0x10;
	pt_spit(ipath, file, size);
	cr_assert_eq(tkj_index_load(data, PT_GEN, 1, &idx, &valid), 0);
	cr_assert_eq(idx.n, 4);
	cr_assert_eq(idx.nblocks, 2);
	cr_assert_eq(valid, 64 + 4 * 128);
	tkj_index_free(&idx);
	file[64 + 4 * 128 + 40] ^= 0x10;

	/* the CRC field of the first entry */
	file[64 + 127] ^= 1;
	pt_spit(ipath, file, size);
	cr_assert_eq(tkj_index_load(data, PT_GEN, 1, &idx, &valid), 0);
	cr_assert_eq(idx.n, 0);
	cr_assert_eq(valid, 64);
	tkj_index_free(&idx);
	file[64 + 127] ^= 1;

	/* cut in the middle of the last entry */
	pt_spit(ipath, file, size - 50);
	cr_assert_eq(tkj_index_load(data, PT_GEN, 1, &idx, &valid), 0);
	cr_assert_eq(idx.n, 6);
	cr_assert_eq(idx.nblocks, 4);
	cr_assert_eq(valid, 64 + 6 * 128);
	tkj_index_free(&idx);

	/* a good CRC on a block out of order, or an unknown kind: the end */
	pt_spit(ipath, file, size);
	reseal_entry_at(ipath, 5, bump_block_no);
	cr_assert_eq(tkj_index_load(data, PT_GEN, 1, &idx, &valid), 0);
	cr_assert_eq(idx.n, 5);
	cr_assert_eq(idx.nblocks, 3);
	tkj_index_free(&idx);
	pt_spit(ipath, file, size);
	reseal_entry_at(ipath, 3, bad_kind);
	cr_assert_eq(tkj_index_load(data, PT_GEN, 1, &idx, &valid), 0);
	cr_assert_eq(idx.n, 3);
	tkj_index_free(&idx);

	/* the header's checksum */
	file[20] ^= 1;
	pt_spit(ipath, file, size);
	cr_assert_eq(tkj_index_load(data, PT_GEN, 1, &idx, &valid), -EPROTO);
	free(file);
}

/* The writer gathers a block's meta record by record as it appends them
 * (tkj_block_meta_add, then tkj_block_seal_meta and tkj_index_entry_of_meta):
 * the block and its entry must be those that sealing the finished block
 * gives, byte for byte. */
Test(index, meta_gathered_while_appending_equals_sealing_the_block)
{
	static _Alignas(64) uint8_t whole[8192];
	struct tkj_block_meta m;
	struct tkj_index_entry a, b;
	struct tkj_loss l = { .from = 5, .to = 9, .reason = 2 };
	int64_t t0 = PT_DAY0_NS;
	uint32_t n = 0, len_a, len_b;

	memset(blk, 0xee, sizeof(blk)); /* padding must be zeroed either way */
	tkj_block_meta_init(&m);
	put_symbol(n, 300, "MSFT");
	tkj_block_meta_add(&m, rec(n), tkj_record_time(rec(n)));
	n++;
	put(n, 3, TK_REC_TICK, 300, t0 + 7);
	tkj_block_meta_add(&m, rec(n), tkj_record_time(rec(n)));
	n++;
	put(n, 4, TK_REC_GAP, 0, t0 - 3);
	tkj_block_meta_add(&m, rec(n), tkj_record_time(rec(n)));
	n++;
	{
		struct pt_slot *s = (void *)rec(n);

		memset(s, 0, 64);
		s->type = TKJ_REC_LOSS;
		memcpy(s->data, &l, sizeof(l));
		tkj_block_meta_add(&m, rec(n), tkj_record_time(rec(n)));
		n++;
	}
	put(n, 9, TK_REC_SIGNAL, 65, t0 + 2);
	tkj_block_meta_add(&m, rec(n), tkj_record_time(rec(n)));
	n++;
	cr_assert_eq(m.first_seq, 3);
	cr_assert_eq(m.last_seq, 9);
	cr_assert_eq(m.next_seq, 10);
	cr_assert_eq(m.min_ts, t0 - 3);
	cr_assert_eq(m.max_ts, t0 + 7);
	cr_assert(m.gap);
	cr_assert_eq(m.symbits[0], 1ull << 44, "300 & 255 = 44");
	cr_assert_eq(m.symbits[1], 1ull << 1, "65 = word 1, bit 1");

	memcpy(whole, blk, sizeof(whole));
	len_a = tkj_block_seal_meta(blk, n, 64, 4096, 2, &m);
	tkj_index_entry_of_meta(&a, &m, len_a, n, 2, 8192);
	len_b = tkj_block_seal(whole, n, 64, 4096, 2);
	tkj_index_entry_of_block(&b, whole, 64, 8192);
	cr_assert_eq(len_a, 4096);
	cr_assert_eq(len_a, len_b);
	cr_assert_eq(memcmp(blk, whole, len_a), 0, "the same block bytes");
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0, "the same index entry");
	cr_assert_eq(tkj_block_check(blk, len_a, 64, 4096, 3, 2, NULL), TKJ_OK);
}

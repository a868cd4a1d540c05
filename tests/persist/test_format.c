/* The journal's block and file format (persist/format.c): seal, check, the
 * file header, the file names.  Expected values are worked out by hand from
 * format.h's layout; the CRC is recomputed with the test's own bit-wise
 * CRC-32C. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "persist/format.h"
#include "shm/records.h"
#include "tests/persist/persist_helpers.h"

static uint32_t ref_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	size_t i;
	int b;

	crc = ~crc;
	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (b = 0; b < 8; b++)
			crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
	}
	return ~crc;
}

static _Alignas(64) uint8_t buf[16384];

static uint8_t *rec(uint32_t rs, uint32_t i)
{
	return buf + TKJ_BLOCK_HEADER + (size_t)i * rs;
}

static void put_symbol(uint32_t rs, uint32_t i, uint32_t id, const char *name)
{
	struct pt_slot *s = (void *)rec(rs, i);

	memset(s, 0, rs);
	s->seq = 0;
	s->type = TKJ_REC_SYMBOL;
	s->aux = id;
	snprintf((char *)s->data, TKJ_NAME_MAX, "%s", name);
}

static void put_loss(uint32_t rs, uint32_t i, uint64_t from, uint64_t to)
{
	struct pt_slot *s = (void *)rec(rs, i);
	struct tkj_loss l = { .from = from, .to = to, .at_ns = 123, .reason = 1 };

	memset(s, 0, rs);
	s->type = TKJ_REC_LOSS;
	memcpy(s->data, &l, sizeof(l));
}

static struct tkj_block_header hdr(void)
{
	struct tkj_block_header h;

	memcpy(&h, buf, sizeof(h));
	return h;
}

/* Recompute the header's CRC after the test edited it. */
static void reseal_crc(uint32_t rs)
{
	struct tkj_block_header h = hdr();
	uint32_t used = TKJ_BLOCK_HEADER + h.nrec * rs;

	h.crc = 0;
	memcpy(buf, &h, sizeof(h));
	h.crc = ref_crc32c(0, buf, used);
	memcpy(buf, &h, sizeof(h));
}

static const int64_t T0 = PT_DAY0_NS + 14LL * 3600 * 1000000000LL; /* 2023-12-01T14:00Z */

Test(block, seal_fills_the_header_and_check_accepts_it)
{
	/* ts out of order: min is the 4th record's, max the 8th's */
	static const int64_t dt[10] = { 50, 40, 30, -7, 10, 0, 60, 99, 20, 1 };
	struct tkj_block_header h;
	struct tkj_block_info bi;
	uint32_t i, len, crc;

	memset(buf, 0xEE, sizeof(buf));
	for (i = 0; i < 10; i++)
		pt_tick(rec(64, i), 64, 5 + i, i % 3, T0 + dt[i]);
	len = tkj_block_seal(buf, 10, 64, 64, 3);
	cr_assert_eq(len, 64 + 10 * 64, "704 is already a multiple of 64");
	cr_assert_eq(tkj_block_length(10, 64, 64), 704);
	h = hdr();
	cr_assert_eq(h.magic, 0x4b4c424au);
	cr_assert_eq(memcmp(buf, "JBLK", 4), 0, "the magic reads JBLK on disk");
	cr_assert_eq(h.length, 704);
	cr_assert_eq(h.nrec, 10);
	cr_assert_eq(h.flags, 0);
	cr_assert_eq(h.first_seq, 5);
	cr_assert_eq(h.last_seq, 14);
	cr_assert_eq(h.min_ts, T0 - 7);
	cr_assert_eq(h.max_ts, T0 + 99);
	cr_assert_eq(h.block_no, 3);
	cr_assert_eq(h.record_size, 64);
	crc = h.crc;
	h.crc = 0;
	memcpy(buf, &h, sizeof(h));
	cr_assert_eq(crc, ref_crc32c(0, buf, 704), "CRC of the header (crc 0) and the records");
	h.crc = crc;
	memcpy(buf, &h, sizeof(h));

	memset(&bi, 0, sizeof(bi));
	cr_assert_eq(tkj_block_check(buf, 704, 64, 64, 5, 3, &bi), TKJ_OK);
	cr_assert_eq(bi.length, 704);
	cr_assert_eq(bi.nrec, 10);
	cr_assert_eq(bi.first_seq, 5);
	cr_assert_eq(bi.last_seq, 14);
	cr_assert_eq(bi.next_seq, 15);
	cr_assert_eq(bi.min_ts, T0 - 7);
	cr_assert_eq(bi.max_ts, T0 + 99);
	cr_assert_eq(bi.block_no, 3);
	cr_assert_eq(bi.lost, 0);
	cr_assert_eq(tkj_block_check(buf, sizeof(buf), 64, 64, 0, 3, NULL), TKJ_OK,
		     "expect_seq 0: any; more bytes readable than the block is fine");
}

Test(block, length_is_rounded_to_the_alignment_with_zero_padding)
{
	struct tkj_block_info bi;
	uint32_t i, len;

	memset(buf, 0xEE, sizeof(buf));
	for (i = 0; i < 7; i++)
		pt_tick(rec(128, i), 128, 100 + i, 1, T0 + i);
	/* 64 + 7*128 = 960 -> 1024 at 512; -> 4096 at 4096 */
	cr_assert_eq(tkj_block_length(7, 128, 512), 1024);
	cr_assert_eq(tkj_block_length(7, 128, 4096), 4096);
	cr_assert_eq(tkj_block_length(0, 64, 64), 64);
	cr_assert_eq(tkj_block_length(63, 64, 4096), 4096, "64 + 63*64 = 4096 exactly");
	cr_assert_eq(tkj_block_length(64, 64, 4096), 8192);
	len = tkj_block_seal(buf, 7, 128, 4096, 0);
	cr_assert_eq(len, 4096);
	for (i = 960; i < 4096; i++)
		cr_assert_eq(buf[i], 0, "padding byte %u is %#x", i, buf[i]);
	cr_assert_eq(buf[4096], 0xEE, "nothing written past the block");
	cr_assert_eq(tkj_block_check(buf, 4096, 128, 4096, 100, 0, &bi), TKJ_OK);
	cr_assert_eq(bi.next_seq, 107);
	cr_assert_eq(tkj_block_check(buf, 4095, 128, 4096, 100, 0, &bi), TKJ_BAD_LENGTH,
		     "a block longer than what is readable");
	cr_assert_eq(tkj_block_check(buf, 4096, 128, 512, 100, 0, &bi), TKJ_BAD_LENGTH,
		     "a length that is not the one of its alignment");
	cr_assert_eq(tkj_block_check(buf, 4096, 64, 4096, 100, 0, &bi), TKJ_BAD_LENGTH,
		     "another record size");
	cr_assert_eq(tkj_block_check(buf, 63, 128, 4096, 100, 0, &bi), TKJ_BAD_LENGTH);
}

Test(block, sequence_and_block_number_mismatches)
{
	uint32_t i;

	for (i = 0; i < 4; i++)
		pt_tick(rec(64, i), 64, 20 + i, 2, T0 + i);
	tkj_block_seal(buf, 4, 64, 64, 7);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 20, 7, NULL), TKJ_OK);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 21, 7, NULL), TKJ_BAD_SEQ);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 19, 7, NULL), TKJ_BAD_SEQ);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 20, 6, NULL), TKJ_BAD_SEQ);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 20, 8, NULL), TKJ_BAD_SEQ);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 0, 0, NULL), TKJ_BAD_SEQ);

	/* a hole inside the block (22 missing), checksum right */
	pt_tick(rec(64, 2), 64, 23, 2, T0 + 2);
	pt_tick(rec(64, 3), 64, 24, 2, T0 + 3);
	tkj_block_seal(buf, 4, 64, 64, 7);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 20, 7, NULL), TKJ_BAD_SEQ);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 0, 7, NULL), TKJ_BAD_SEQ,
		     "continuity inside the block is checked even with expect_seq 0");
}

Test(block, checksum_and_header_damage)
{
	struct tkj_block_header h;
	uint32_t i, bit;

	for (i = 0; i < 4; i++)
		pt_tick(rec(64, i), 64, 1 + i, 0, T0 + i);
	tkj_block_seal(buf, 4, 64, 64, 0);
	/* every single bit of the header and records: never OK */
	for (bit = 0; bit < 320 * 8; bit++) {
		enum tkj_check c;

		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		c = tkj_block_check(buf, 320, 64, 64, 1, 0, NULL);
		cr_assert_neq(c, TKJ_OK, "bit %u flipped, still OK", bit);
		if (bit >= 64 * 8)
			cr_assert_eq(c, TKJ_BAD_CRC, "bit %u of a record: %s", bit, tkj_check_name(c));
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 1, 0, NULL), TKJ_OK);

	/* a header whose sequences lie, checksum made right */
	h = hdr();
	h.first_seq = 2;
	memcpy(buf, &h, sizeof(h));
	reseal_crc(64);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 0, 0, NULL), TKJ_BAD_RECORD);
	tkj_block_seal(buf, 4, 64, 64, 0);
	h = hdr();
	h.last_seq = 5;
	memcpy(buf, &h, sizeof(h));
	reseal_crc(64);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 0, 0, NULL), TKJ_BAD_RECORD);

	/* nrec 0 is not a block */
	memset(buf, 0, 64);
	tkj_block_seal(buf, 0, 64, 64, 0);
	cr_assert_eq(tkj_block_check(buf, 64, 64, 64, 0, 0, NULL), TKJ_BAD_LENGTH);
}

Test(block, zeros_are_the_end)
{
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(tkj_block_check(buf, 64, 64, 64, 1, 0, NULL), TKJ_END);
	cr_assert_eq(tkj_block_check(buf, sizeof(buf), 64, 4096, 0, 5, NULL), TKJ_END);
	cr_assert_eq(tkj_block_check(buf, 10, 64, 64, 1, 0, NULL), TKJ_BAD_LENGTH,
		     "less than a header readable");
	buf[63] = 1; /* no magic, not zero */
	cr_assert_eq(tkj_block_check(buf, 64, 64, 64, 1, 0, NULL), TKJ_BAD_MAGIC);
	buf[63] = 0;
	buf[64] = 1; /* the header is zero: whatever follows, the end */
	cr_assert_eq(tkj_block_check(buf, 128, 64, 64, 1, 0, NULL), TKJ_END);
	cr_assert_str_eq(tkj_check_name(TKJ_OK), "ok");
	cr_assert_str_eq(tkj_check_name(TKJ_BAD_CRC), "checksum mismatch");
}

Test(block, dictionary_records_carry_no_sequence)
{
	struct tkj_block_info bi;
	struct tkj_block_header h;

	put_symbol(64, 0, 3, "AAPL");
	pt_tick(rec(64, 1), 64, 1, 3, T0 + 10);
	put_symbol(64, 2, 4, "BINANCE:BTCUSDT");
	pt_tick(rec(64, 3), 64, 2, 4, T0 + 5);
	cr_assert_eq(tkj_record_time(rec(64, 0)), INT64_MIN);
	cr_assert_eq(tkj_record_time(rec(64, 1)), T0 + 10);
	cr_assert_eq(tkj_block_seal(buf, 4, 64, 64, 0), 64 + 4 * 64);
	h = hdr();
	cr_assert_eq(h.nrec, 4);
	cr_assert_eq(h.first_seq, 1);
	cr_assert_eq(h.last_seq, 2);
	cr_assert_eq(h.min_ts, T0 + 5);
	cr_assert_eq(h.max_ts, T0 + 10);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 1, 0, &bi), TKJ_OK);
	cr_assert_eq(bi.first_seq, 1);
	cr_assert_eq(bi.last_seq, 2);
	cr_assert_eq(bi.next_seq, 3);
	cr_assert_eq(bi.nrec, 4);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 2, 0, &bi), TKJ_BAD_SEQ);

	/* a block of only a dictionary record: no sequence, no time */
	put_symbol(64, 0, 9, "NVDA");
	tkj_block_seal(buf, 1, 64, 64, 4);
	h = hdr();
	cr_assert_eq(h.first_seq, 0);
	cr_assert_eq(h.last_seq, 0);
	cr_assert_eq(h.min_ts, INT64_MAX);
	cr_assert_eq(h.max_ts, INT64_MIN);
	cr_assert_eq(tkj_block_check(buf, 128, 64, 64, 77, 4, &bi), TKJ_OK);
	cr_assert_eq(bi.first_seq, 0);
	cr_assert_eq(bi.next_seq, 77, "the expectation passes through");

	/* a journal record of a type it does not know */
	put_symbol(64, 0, 9, "NVDA");
	((struct pt_slot *)rec(64, 0))->type = 77;
	tkj_block_seal(buf, 1, 64, 64, 4);
	cr_assert_eq(tkj_block_check(buf, 128, 64, 64, 0, 4, &bi), TKJ_BAD_RECORD);
}

Test(block, a_loss_record_moves_the_expected_sequence)
{
	struct tkj_block_info bi;

	pt_tick(rec(64, 0), 64, 1, 0, T0);
	pt_tick(rec(64, 1), 64, 2, 0, T0 + 1);
	pt_tick(rec(64, 2), 64, 3, 0, T0 + 2);
	put_loss(64, 3, 4, 10);
	pt_tick(rec(64, 4), 64, 10, 0, T0 + 3);
	pt_tick(rec(64, 5), 64, 11, 0, T0 + 4);
	tkj_block_seal(buf, 6, 64, 64, 0);
	cr_assert_eq(tkj_block_check(buf, 448, 64, 64, 1, 0, &bi), TKJ_OK);
	cr_assert_eq(bi.first_seq, 1);
	cr_assert_eq(bi.last_seq, 11);
	cr_assert_eq(bi.next_seq, 12);
	cr_assert_eq(bi.lost, 6, "[4, 10)");

	/* the record after the loss must be its `to` */
	pt_tick(rec(64, 4), 64, 4, 0, T0 + 3);
	pt_tick(rec(64, 5), 64, 5, 0, T0 + 4);
	tkj_block_seal(buf, 6, 64, 64, 0);
	cr_assert_eq(tkj_block_check(buf, 448, 64, 64, 1, 0, &bi), TKJ_BAD_SEQ);

	/* a loss that does not start where the stream is */
	put_loss(64, 3, 5, 10);
	pt_tick(rec(64, 4), 64, 10, 0, T0 + 3);
	pt_tick(rec(64, 5), 64, 11, 0, T0 + 4);
	tkj_block_seal(buf, 6, 64, 64, 0);
	cr_assert_eq(tkj_block_check(buf, 448, 64, 64, 1, 0, &bi), TKJ_BAD_SEQ);

	/* an empty or backward loss */
	put_loss(64, 3, 4, 4);
	tkj_block_seal(buf, 4, 64, 64, 0);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 1, 0, &bi), TKJ_BAD_SEQ);

	/* a block that ends with a loss: the next block starts at its `to` */
	put_loss(64, 3, 4, 50);
	tkj_block_seal(buf, 4, 64, 64, 0);
	cr_assert_eq(tkj_block_check(buf, 320, 64, 64, 1, 0, &bi), TKJ_OK);
	cr_assert_eq(bi.last_seq, 3);
	cr_assert_eq(bi.next_seq, 50);
	cr_assert_eq(bi.lost, 46);

	/* a block that starts with one (the journal started late) */
	put_loss(64, 0, 1, 1000);
	pt_tick(rec(64, 1), 64, 1000, 0, T0);
	tkj_block_seal(buf, 2, 64, 64, 0);
	cr_assert_eq(tkj_block_check(buf, 192, 64, 64, 1, 0, &bi), TKJ_OK);
	cr_assert_eq(bi.first_seq, 1000);
	cr_assert_eq(bi.next_seq, 1001);
	cr_assert_eq(bi.lost, 999);
	cr_assert_eq(tkj_block_check(buf, 192, 64, 64, 0, 0, &bi), TKJ_OK);
	cr_assert_eq(tkj_block_check(buf, 192, 64, 64, 2, 0, &bi), TKJ_BAD_SEQ);
}

Test(block, event_time_of_every_record_type)
{
	static _Alignas(8) uint8_t s[256];
	struct pt_slot *slot = (void *)s;
	struct tk_heartbeat hb = { .clock_ns = 111 };
	struct tk_gap gap = { .from_ns = 222, .to_ns = 999 };
	struct tk_bar_rec bar = { .window_start = 333, .tf_ns = 60 };
	struct tk_signal_rec sig = { .ts_ns = 444, .tf_ns = 60 };

	memset(s, 0, sizeof(s));
	slot->seq = 1;
	slot->type = TK_REC_HEARTBEAT;
	memcpy(slot->data, &hb, sizeof(hb));
	cr_assert_eq(tkj_record_time(s), 111);
	slot->type = TK_REC_GAP;
	memcpy(slot->data, &gap, sizeof(gap));
	cr_assert_eq(tkj_record_time(s), 222);
	slot->type = TK_REC_BAR;
	memcpy(slot->data, &bar, sizeof(bar));
	cr_assert_eq(tkj_record_time(s), 333);
	slot->type = TK_REC_SIGNAL;
	memcpy(slot->data, &sig, sizeof(sig));
	cr_assert_eq(tkj_record_time(s), 444);
	slot->type = TK_REC_TEST;
	cr_assert_eq(tkj_record_time(s), INT64_MIN);
	pt_tick(s, 64, 5, 1, -5);
	cr_assert_eq(tkj_record_time(s), -5);
}

Test(file, header_make_and_check)
{
	struct tkj_file_header h, g;
	char why[160];

	tkj_file_header_make(&h, "ticks", "ticks.0", 64, 512, PT_DAY0, 42, PT_GEN, 7, 36864);
	cr_assert_eq(memcmp(h.magic, "TICKDJNL", 8), 0);
	cr_assert_eq(h.version, 1);
	cr_assert_eq(h.header_size, 4096);
	cr_assert_str_eq(h.stream, "ticks");
	cr_assert_str_eq(h.log, "ticks.0");
	cr_assert_eq(h.record_size, 64);
	cr_assert_eq(h.align, 512);
	cr_assert_eq(h.day, PT_DAY0);
	cr_assert_eq(h.first_seq, 42);
	cr_assert_eq(h.generation, PT_GEN);
	cr_assert_eq(h.created_ns, 7);
	cr_assert_eq(h.file_size, 36864);
	cr_assert_eq(h.crc, ref_crc32c(0, (const uint8_t *)&h, 252));
	cr_assert_eq(tkj_file_header_check(&h, why, sizeof(why)), 0);

	g = h;
	g.first_seq = 43;
	cr_assert_eq(tkj_file_header_check(&g, why, sizeof(why)), -EPROTO);
	cr_assert(strstr(why, "checksum") != NULL, "%s", why);
	g = h;
	g.magic[0] = 'X';
	cr_assert_eq(tkj_file_header_check(&g, why, sizeof(why)), -EPROTO);
	cr_assert(strstr(why, "not a tickd journal") != NULL, "%s", why);
	g = h;
	g.version = 2;
	g.crc = ref_crc32c(0, (const uint8_t *)&g, 252);
	cr_assert_eq(tkj_file_header_check(&g, why, sizeof(why)), -EPROTO);
	cr_assert(strstr(why, "version 2") != NULL, "%s", why);
	tkj_file_header_make(&g, "ticks", "ticks.0", 96, 512, 0, 1, 1, 1, 1);
	cr_assert_eq(tkj_file_header_check(&g, why, sizeof(why)), -EPROTO, "record size not 2^n");
	tkj_file_header_make(&g, "ticks", "ticks.0", 64, 32, 0, 1, 1, 1, 1);
	cr_assert_eq(tkj_file_header_check(&g, why, sizeof(why)), -EPROTO, "alignment below 64");
}

Test(file, names_sort_in_data_order_and_parse_back)
{
	char name[200], log[TKJ_NAME_MAX];
	uint64_t gen, seq;

	tkj_file_name("ticks.0", 0x1234abcdull, 42, name, sizeof(name));
	cr_assert_str_eq(name, "ticks.0.000000001234abcd.00000000000000000042.tkj");
	cr_assert_eq(tkj_file_name_parse(name, log, sizeof(log), &gen, &seq), 0);
	cr_assert_str_eq(log, "ticks.0");
	cr_assert_eq(gen, 0x1234abcdull);
	cr_assert_eq(seq, 42);
	tkj_file_name("bars.1m", UINT64_MAX, UINT64_MAX, name, sizeof(name));
	cr_assert_str_eq(name, "bars.1m.ffffffffffffffff.18446744073709551615.tkj");
	cr_assert_eq(tkj_file_name_parse(name, log, sizeof(log), &gen, &seq), 0);
	cr_assert_str_eq(log, "bars.1m");
	cr_assert_eq(gen, UINT64_MAX);
	cr_assert_eq(seq, UINT64_MAX);
	{
		char a[200], b[200], c[200];

		tkj_file_name("ticks.0", 5, 999, a, sizeof(a));
		tkj_file_name("ticks.0", 5, 1000, b, sizeof(b));
		tkj_file_name("ticks.0", 6, 1, c, sizeof(c));
		cr_assert_lt(strcmp(a, b), 0);
		cr_assert_lt(strcmp(b, c), 0);
	}
	cr_assert_eq(tkj_file_name_parse("ticks.0.000000001234abcd.00000000000000000042.tkj.idx",
					 log, sizeof(log), &gen, &seq),
		     -EINVAL);
	cr_assert_eq(tkj_file_name_parse("ticks.0.000000001234ABCD.00000000000000000042.tkj", log,
					 sizeof(log), &gen, &seq),
		     -EINVAL, "hex digits are lower case");
	cr_assert_eq(tkj_file_name_parse(".000000001234abcd.00000000000000000042.tkj", log,
					 sizeof(log), &gen, &seq),
		     -EINVAL, "no log");
	cr_assert_eq(tkj_file_name_parse("ticks.0.000000001234abcd.0000000000000000004x.tkj", log,
					 sizeof(log), &gen, &seq),
		     -EINVAL);
	cr_assert_eq(tkj_file_name_parse("ticks.0-000000001234abcd.00000000000000000042.tkj", log,
					 sizeof(log), &gen, &seq),
		     -EINVAL);
	cr_assert_eq(tkj_file_name_parse("x.tkj", log, sizeof(log), &gen, &seq), -EINVAL);
	cr_assert_eq(tkj_file_name_parse("ticks.0.000000001234abcd.00000000000000000042.tkj", log,
					 4, &gen, &seq),
		     -EINVAL, "a log longer than the caller's room");
}

Test(file, stream_of_log)
{
	char s[TKJ_NAME_MAX];

	tkj_stream_of_log("ticks.0", s, sizeof(s));
	cr_assert_str_eq(s, "ticks");
	tkj_stream_of_log("ticks.12", s, sizeof(s));
	cr_assert_str_eq(s, "ticks");
	tkj_stream_of_log("bars.1m", s, sizeof(s));
	cr_assert_str_eq(s, "bars.1m");
	tkj_stream_of_log("signals", s, sizeof(s));
	cr_assert_str_eq(s, "signals");
}

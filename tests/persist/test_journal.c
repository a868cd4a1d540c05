/*
 * The writer (persist/journal.c) as its callers see it: what it leaves on
 * disk for many symbols, every batch size, a day roll and a size roll,
 * checked record by record against the input by an independent walk.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>

#include "persist/query.h"
#include "tests/persist/persist_helpers.h"

static char dir[128];

static void setup(void)
{
	pt_tmpdir(dir, sizeof(dir), "journal");
}

static void teardown(void)
{
	pt_rmrf(dir);
}

TestSuite(journal, .init = setup, .fini = teardown);

#define NSYM 200
static char names[NSYM][16];

static const char *many_names(void *ctx, uint32_t id)
{
	(void)ctx;
	if (id >= NSYM)
		return NULL;
	snprintf(names[id], sizeof(names[id]), "S%03u", id);
	return names[id];
}

/* Write recs through the writer, batches of at most `chunk`. */
static void write_recs(const struct pt_rec *recs, size_t n, uint32_t chunk, uint64_t file_bytes,
		       struct tkj_counters *cnt)
{
	struct tkj_journal *j;
	struct tkj_opts o;
	struct tkj_resume res;
	size_t i = 0;
	int64_t since = 0;
	int sid, rc;

	pt_opts(&o, dir, 0);
	o.file_bytes = file_bytes;
	cr_assert_eq(tkj_open(&j, &o), 0, "%s", tk_err_msg());
	sid = tkj_stream_add(j, "ticks.0", 64, PT_GEN, many_names, NULL, &res);
	cr_assert_geq(sid, 0, "%s", tk_err_msg());
	cr_assert_eq(res.next_seq, recs[0].seq);
	while (i < n) {
		uint32_t room, k, q;
		uint8_t *r = tkj_append_room(j, sid, &room);

		if (r == NULL) {
			cr_assert_geq(tkj_poll(j, 1000000), 0, "%s", tk_err_msg());
			pt_stall_check(&since, false, i);
			continue;
		}
		k = chunk == 0 || room < chunk ? room : chunk;
		if (k > n - i)
			k = (uint32_t)(n - i);
		for (q = 0; q < k; q++)
			pt_tick(r + (size_t)q * 64, 64, recs[i + q].seq, recs[i + q].sym,
				recs[i + q].ts);
		rc = tkj_append_done(j, sid, k, tk_mono_ns());
		cr_assert_geq(rc, 0, "%s", tk_err_msg());
		i += (size_t)rc;
		pt_stall_check(&since, rc > 0, i);
		cr_assert_geq(tkj_poll(j, rc < (int)k ? 1000000 : 0), 0);
	}
	cr_assert_eq(tkj_flush(j, 10000000000LL), 0, "%s", tk_err_msg());
	cr_assert_eq(tkj_durable_next(j, sid), recs[n - 1].seq + 1);
	cr_assert_not(tkj_pending(j, sid));
	if (cnt != NULL)
		*cnt = *tkj_counters(j);
	cr_assert_eq(tkj_close(j, 10000000000LL), 0);
}

/*
 * Every file: its blocks in order, its records the input's in order (the
 * first file from seq 1, each next where the one before ended), each
 * symbol named once per file, before its first record, by its name.
 * Returns the blocks seen; *nfiles the files.
 */
static uint64_t check_files(const struct pt_rec *recs, size_t n, int *nfiles, int32_t *days)
{
	struct tkj_file_ref *files;
	struct pt_block *b = malloc(4096 * sizeof(*b));
	uint64_t want = recs[0].seq, blocks = 0;
	int nf = pt_files(dir, &files), f;

	for (f = 0; f < nf; f++) {
		bool named[NSYM] = { false };
		size_t size, nb, i;
		uint8_t *file = pt_slurp(files[f].path, &size);
		uint32_t r;

		cr_assert_eq(files[f].first_seq, want, "file %d starts at %" PRIu64, f,
			     files[f].first_seq);
		days[f] = files[f].day;
		nb = pt_walk(file, size, b, 4096);
		cr_assert_geq(nb, 1);
		for (i = 0; i < nb; i++) {
			uint64_t first = 0;

			cr_assert_eq(b[i].block_no, i);
			cr_assert_eq(tkj_block_check(file + b[i].off, b[i].len, 64, 64, want, i, NULL),
				     TKJ_OK, "file %d block %zu", f, i);
			for (r = 0; r < b[i].nrec; r++) {
				const struct pt_slot *s = (const void *)(file + b[i].off + 64 + r * 64);
				const struct pt_rec *in;
				uint8_t exp[64];

				if (s->seq == 0) {
					cr_assert_eq(s->type, TKJ_REC_SYMBOL);
					cr_assert_lt(s->aux, NSYM);
					cr_assert_not(named[s->aux], "file %d names %u twice", f, s->aux);
					named[s->aux] = true;
					cr_assert_str_eq((const char *)s->data, many_names(NULL, s->aux));
					continue;
				}
				cr_assert_eq(s->seq, want, "file %d block %zu record %u", f, i, r);
				in = &recs[want - recs[0].seq];
				pt_tick(exp, 64, in->seq, in->sym, in->ts);
				cr_assert_eq(memcmp(s, exp, 64), 0, "record %" PRIu64, want);
				cr_assert(named[in->sym], "record %" PRIu64 ": symbol %u not named before",
					  want, in->sym);
				if (first == 0)
					first = want;
				want++;
			}
			cr_assert_eq(b[i].first, first);
		}
		if (f < nf - 1)
			cr_assert_eq(size, b[nb - 1].off + b[nb - 1].len,
				     "file %d, closed for the next, trimmed to its data", f);
		blocks += nb;
		free(file);
	}
	cr_assert_eq(want, recs[n - 1].seq + 1, "records to %" PRIu64, want - 1);
	free(files);
	free(b);
	*nfiles = nf;
	return blocks;
}

Test(journal, every_batch_size_and_many_new_symbols)
{
	static const uint32_t chunks[] = { 1, 2, 7, 31, 63, 64, 1000 };
	struct tkj_counters c;
	size_t k;

	for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		struct pt_rec *recs = pt_recs(1, 1500, NSYM, PT_DAY0_NS + 3600000000000LL);
		int nf;
		int32_t days[8];
		uint64_t blocks;

		pt_rmrf(dir);
		cr_assert_eq(mkdir(dir, 0700), 0);
		write_recs(recs, 1500, chunks[k], 1u << 20, &c);
		blocks = check_files(recs, 1500, &nf, days);
		cr_assert_eq(nf, 1, "chunk %u", chunks[k]);
		cr_assert_eq(c.records, 1500);
		cr_assert_eq(c.blocks, blocks, "chunk %u", chunks[k]);
		cr_assert_eq(c.files, 1);
		cr_assert_eq(c.payload, (1500 + NSYM) * 64ull, "records and their names");
		free(recs);
	}
}

Test(journal, a_new_day_opens_a_new_file)
{
	/* 2023-12-01T23:59:59Z on, 1 ms apart: 1000 records before midnight */
	int64_t t0 = PT_DAY0_NS + PT_NS_PER_DAY - 1000000000LL;
	struct pt_rec *recs = pt_recs(1, 2500, 5, t0);
	int nf;
	int32_t days[8];

	recs[1700].ts = t0; /* late: stays in the later day's file */
	write_recs(recs, 2500, 63, 1u << 20, NULL);
	check_files(recs, 2500, &nf, days);
	cr_assert_eq(nf, 2);
	cr_assert_eq(days[0], PT_DAY0);
	cr_assert_eq(days[1], PT_DAY0 + 1);
	{
		struct tkj_file_ref *files;

		pt_files(dir, &files);
		cr_assert_eq(files[1].first_seq, 1001, "the first record of 2023-12-02");
		free(files);
	}
	free(recs);
}

Test(journal, a_full_file_rolls_to_another_of_the_same_day)
{
	/* file_bytes 1 MiB: ~8000 records of 64 bytes each */
	struct pt_rec *recs = pt_recs(1, 20000, 3, PT_DAY0_NS);
	struct tkj_counters c;
	int nf, f;
	int32_t days[8];

	write_recs(recs, 20000, 0, 1u << 20, &c);
	check_files(recs, 20000, &nf, days);
	cr_assert_geq(nf, 2);
	cr_assert_eq(c.files, (uint64_t)nf);
	for (f = 0; f < nf; f++)
		cr_assert_eq(days[f], PT_DAY0);
	free(recs);
}

Test(journal, one_writer_a_directory)
{
	struct tkj_journal *j, *k;
	struct tkj_opts o;

	pt_opts(&o, dir, 0);
	cr_assert_eq(tkj_open(&j, &o), 0, "%s", tk_err_msg());
	cr_assert_eq(tkj_open(&k, &o), -EBUSY);
	cr_assert(strstr(tk_err_msg(), "in use") != NULL, "%s", tk_err_msg());
	cr_assert_eq(tkj_close(j, 1000000000LL), 0);
	cr_assert_eq(tkj_open(&k, &o), 0, "free again once closed: %s", tk_err_msg());
	cr_assert_eq(tkj_close(k, 1000000000LL), 0);
	o.block_bytes = 4096;
	cr_assert_eq(tkj_open(&k, &o), -EINVAL);
}

Test(journal, a_sequence_out_of_order_is_refused)
{
	struct tkj_journal *j;
	struct tkj_opts o;
	struct tkj_resume res;
	uint32_t room;
	uint8_t *r;
	int sid;

	pt_opts(&o, dir, 0);
	cr_assert_eq(tkj_open(&j, &o), 0);
	sid = tkj_stream_add(j, "ticks.0", 64, PT_GEN, pt_names, NULL, &res);
	cr_assert_geq(sid, 0);
	r = tkj_append_room(j, sid, &room);
	cr_assert_not_null(r);
	pt_tick(r, 64, 1, 0, PT_DAY0_NS);
	pt_tick(r + 64, 64, 3, 0, PT_DAY0_NS);
	cr_assert_eq(tkj_append_done(j, sid, 2, tk_mono_ns()), 1, "the first taken, not the second");
	r = tkj_append_room(j, sid, &room);
	pt_tick(r, 64, 3, 0, PT_DAY0_NS);
	cr_assert_eq(tkj_append_done(j, sid, 1, tk_mono_ns()), -EPROTO);
	cr_assert_eq(tkj_append_loss(j, sid, 3, 5, 1), -EPROTO, "a loss must start at 2");
	cr_assert_eq(tkj_close(j, 1000000000LL), 0);
}

/* Write a loss [from, to) now, retrying while the writer asks. */
static void append_loss(struct tkj_journal *j, int sid, uint64_t from, uint64_t to)
{
	int64_t since = 0;
	int rc;

	while ((rc = tkj_append_loss(j, sid, from, to, 2)) == -EAGAIN) {
		cr_assert_geq(tkj_poll(j, 1000000), 0);
		pt_stall_check(&since, false, 0);
	}
	cr_assert_eq(rc, 0, "tkj_append_loss: %s", tk_err_msg());
}

static void append_recs(struct tkj_journal *j, int sid, const struct pt_rec *recs, size_t n)
{
	size_t i = 0;
	int64_t since = 0;

	while (i < n) {
		uint32_t room, k, q;
		uint8_t *r = tkj_append_room(j, sid, &room);
		int rc;

		if (r == NULL) {
			cr_assert_geq(tkj_poll(j, 1000000), 0);
			pt_stall_check(&since, false, i);
			continue;
		}
		k = room < n - i ? room : (uint32_t)(n - i);
		for (q = 0; q < k; q++)
			pt_tick(r + (size_t)q * 64, 64, recs[i + q].seq, recs[i + q].sym,
				recs[i + q].ts);
		rc = tkj_append_done(j, sid, k, tk_mono_ns());
		cr_assert_geq(rc, 0, "%s", tk_err_msg());
		i += (size_t)rc;
		pt_stall_check(&since, rc > 0, i);
		cr_assert_geq(tkj_poll(j, 0), 0);
	}
}

/*
 * A journal that starts late (its first word a loss: the records before it
 * were gone, reason 2), then records of 2023-12-01 (a replay, or a journal
 * started after a backlog): the records must be filed under their own day,
 * where a query for their time looks (late_days 1).
 *
 * (It failed when tkj_append_loss opened the stream's first file for the
 * wall clock's day: now the loss waits for the records after it.)
 */
static int count_cb(void *ctx, const void *slot, uint32_t rs, const char *symbol, const char *log)
{
	(void)slot;
	(void)rs;
	(void)symbol;
	(void)log;
	(*(uint64_t *)ctx)++;
	return 0;
}

Test(journal, a_first_loss_does_not_file_old_records_under_today)
{
	struct tkj_journal *j;
	struct tkj_opts o;
	struct tkj_resume res;
	struct tkj_file_ref *files;
	struct pt_rec *recs = pt_recs(100, 300, 3, PT_DAY0_NS + 3600000000000LL);
	struct tkj_query q = { .dir = dir, .stream = "ticks", .from_ns = PT_DAY0_NS,
			       .to_ns = PT_DAY0_NS + PT_NS_PER_DAY, .late_days = 1 };
	uint64_t got = 0;
	int sid, nf;

	pt_opts(&o, dir, 0);
	cr_assert_eq(tkj_open(&j, &o), 0);
	sid = tkj_stream_add(j, "ticks.0", 64, PT_GEN, pt_names, NULL, &res);
	cr_assert_geq(sid, 0);
	append_loss(j, sid, 1, 100);
	append_recs(j, sid, recs, 300);
	cr_assert_eq(tkj_close(j, 10000000000LL), 0);
	free(recs);
	nf = pt_files(dir, &files);
	cr_assert_geq(nf, 1);
	cr_assert_eq(files[nf - 1].day, PT_DAY0, "the records of 2023-12-01 are filed under day %d",
		     files[nf - 1].day);
	free(files);
	cr_assert_eq(tkj_query_run(&q, count_cb, &got, NULL), 0);
	cr_assert_eq(got, 300, "%" PRIu64 " of the 300 records found by their time", got);
}

/* A loss in the middle and at a size roll: the files stay contiguous and
 * the loss is what a "gaps" query gives. */
static int loss_cb(void *ctx, const void *slot, uint32_t rs, const char *symbol, const char *log)
{
	const struct pt_slot *s = slot;
	struct tkj_loss *l = ctx;

	(void)rs;
	(void)symbol;
	cr_assert_str_eq(log, "ticks.0");
	cr_assert_eq(s->type, TKJ_REC_LOSS);
	cr_assert_eq(s->seq, 0);
	memcpy(&l[l[0].pad + 1], s->data, sizeof(*l));
	l[0].pad++;
	return 0;
}

Test(journal, losses_keep_the_files_contiguous)
{
	struct tkj_journal *j;
	struct tkj_opts o;
	struct tkj_resume res;
	struct tkj_file_ref *files;
	struct pt_rec *a = pt_recs(1, 17000, 3, PT_DAY0_NS), *b;
	struct tkj_loss got[8];
	struct tkj_query q = { .dir = dir, .stream = "gaps", .from_ns = INT64_MIN,
			       .to_ns = INT64_MAX, .late_days = 1 };
	uint64_t next = 1;
	int sid, nf, i;

	pt_opts(&o, dir, 0);
	cr_assert_eq(tkj_open(&j, &o), 0);
	sid = tkj_stream_add(j, "ticks.0", 64, PT_GEN, pt_names, NULL, &res);
	append_recs(j, sid, a, 17000); /* past 1 MiB: the file is full */
	append_loss(j, sid, 17001, 17500);
	b = pt_recs(17500, 100, 3, PT_DAY0_NS + 18000000000LL);
	append_recs(j, sid, b, 100);
	append_loss(j, sid, 17600, 17700);
	cr_assert_eq(tkj_close(j, 10000000000LL), 0);
	nf = pt_files(dir, &files);
	cr_assert_geq(nf, 2);
	for (i = 0; i < nf; i++) {
		int fd = open(files[i].path, O_RDONLY);
		struct tkj_scan *s = malloc(sizeof(*s));

		cr_assert_eq(files[i].first_seq, next, "file %d starts at %" PRIu64 ", want %" PRIu64,
			     i, files[i].first_seq, next);
		cr_assert_eq(tkj_scan_file(files[i].path, fd, 64, 1u << 20, false, s, NULL, 0), 0);
		cr_assert_eq(s->stop, TKJ_END);
		next = s->next_seq;
		close(fd);
		free(s);
	}
	cr_assert_eq(next, 17700, "the journal resumes after the last loss");
	free(files);
	memset(got, 0, sizeof(got));
	cr_assert_eq(tkj_query_run(&q, loss_cb, got, NULL), 0);
	cr_assert_eq(got[0].pad, 2);
	cr_assert_eq(got[1].from, 17001);
	cr_assert_eq(got[1].to, 17500);
	cr_assert_eq(got[1].reason, 2);
	cr_assert_eq(got[2].from, 17600);
	cr_assert_eq(got[2].to, 17700);
	free(a);
	free(b);
	/* and a new writer resumes there */
	cr_assert_eq(tkj_open(&j, &o), 0);
	sid = tkj_stream_add(j, "ticks.0", 64, PT_GEN, pt_names, NULL, &res);
	cr_assert_eq(res.next_seq, 17700);
	cr_assert_eq(tkj_close(j, 10000000000LL), 0);
}

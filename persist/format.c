/* The journal's on-disk format (format.h, FORMAT.md): seal and check. */
#include "persist/format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "shm/records.h"

#define TKJ_NS_PER_DAY (86400LL * 1000000000LL)

/* The slot layout of every log: { seq, type, aux, data[] }. */
struct tkj_slot {
	uint64_t seq;
	uint32_t type;
	uint32_t aux;
	uint8_t data[];
};

const char *tkj_check_name(enum tkj_check c)
{
	switch (c) {
	case TKJ_OK: return "ok";
	case TKJ_END: return "end (zeros)";
	case TKJ_BAD_MAGIC: return "no block header";
	case TKJ_BAD_LENGTH: return "impossible length";
	case TKJ_BAD_CRC: return "checksum mismatch";
	case TKJ_BAD_SEQ: return "sequence discontinuity";
	case TKJ_BAD_RECORD: return "record inconsistent with its block";
	}
	return "?";
}

int64_t tkj_record_time(const void *slot)
{
	const struct tkj_slot *s = slot;
	int64_t t;

	switch (s->type) {
	case TK_REC_TICK:
		memcpy(&t, s->data + offsetof(struct tk_tick, ts_ns), sizeof(t));
		return t;
	case TK_REC_HEARTBEAT:
		memcpy(&t, s->data + offsetof(struct tk_heartbeat, clock_ns), sizeof(t));
		return t;
	case TK_REC_GAP:
		memcpy(&t, s->data + offsetof(struct tk_gap, from_ns), sizeof(t));
		return t;
	case TK_REC_BAR:
		memcpy(&t, s->data + offsetof(struct tk_bar_rec, window_start), sizeof(t));
		return t;
	case TK_REC_SIGNAL:
		memcpy(&t, s->data + offsetof(struct tk_signal_rec, ts_ns), sizeof(t));
		return t;
	default:
		return INT64_MIN;
	}
}

void tkj_file_header_make(struct tkj_file_header *h, const char *stream, const char *log,
			  uint32_t record_size, uint32_t align, int32_t day, uint64_t first_seq,
			  uint64_t generation, int64_t created_ns, uint64_t file_size)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, TKJ_FILE_MAGIC, 8);
	h->version = TKJ_FORMAT_VERSION;
	h->header_size = TKJ_HEADER_SIZE;
	snprintf(h->stream, sizeof(h->stream), "%s", stream);
	snprintf(h->log, sizeof(h->log), "%s", log);
	h->record_size = record_size;
	h->align = align;
	h->day = day;
	h->first_seq = first_seq;
	h->generation = generation;
	h->created_ns = created_ns;
	h->file_size = file_size;
	h->crc = tk_crc32c(0, h, offsetof(struct tkj_file_header, crc));
}

static bool tkj__pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

int tkj_file_header_check(const struct tkj_file_header *h, char *why, size_t cap)
{
	if (memcmp(h->magic, TKJ_FILE_MAGIC, 8) != 0) {
		snprintf(why, cap, "not a tickd journal file (no %s magic)", TKJ_FILE_MAGIC);
		return -EPROTO;
	}
	if (h->version != TKJ_FORMAT_VERSION) {
		snprintf(why, cap, "journal format version %u, this tickd reads version %u",
			 h->version, TKJ_FORMAT_VERSION);
		return -EPROTO;
	}
	if (h->crc != tk_crc32c(0, h, offsetof(struct tkj_file_header, crc))) {
		snprintf(why, cap, "file header checksum mismatch");
		return -EPROTO;
	}
	if (h->header_size != TKJ_HEADER_SIZE || !tkj__pow2(h->record_size) ||
	    h->record_size < 64 || h->record_size > 4096 || !tkj__pow2(h->align) || h->align < 64 ||
	    h->align > TKJ_HEADER_SIZE || memchr(h->stream, 0, sizeof(h->stream)) == NULL ||
	    memchr(h->log, 0, sizeof(h->log)) == NULL) {
		snprintf(why, cap, "file header fields out of range (record size %u, alignment %u)",
			 h->record_size, h->align);
		return -EPROTO;
	}
	return 0;
}

void tkj_block_meta_init(struct tkj_block_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->min_ts = INT64_MAX;
	m->max_ts = INT64_MIN;
}

void tkj_block_meta_add(struct tkj_block_meta *m, const void *slot, int64_t t)
{
	const struct tkj_slot *s = slot;

	if (s->seq != 0) {
		if (m->first_seq == 0)
			m->first_seq = s->seq;
		m->last_seq = s->seq;
		m->next_seq = s->seq + 1;
	}
	if (t != INT64_MIN) {
		m->min_ts = t < m->min_ts ? t : m->min_ts;
		m->max_ts = t > m->max_ts ? t : m->max_ts;
	}
	switch (s->type) {
	case TK_REC_TICK:
	case TK_REC_BAR:
	case TK_REC_SIGNAL:
		m->symbits[(s->aux & 255) >> 6] |= 1ull << (s->aux & 63);
		break;
	case TK_REC_GAP:
		m->gap = true;
		break;
	case TKJ_REC_LOSS:
		if (s->seq == 0) {
			struct tkj_loss l;

			memcpy(&l, s->data, sizeof(l));
			m->next_seq = l.to;
			m->gap = true;
		}
		break;
	default:
		break;
	}
}

uint32_t tkj_block_seal_meta(void *buf, uint32_t nrec, uint32_t record_size, uint32_t align,
			     uint64_t block_no, const struct tkj_block_meta *m)
{
	struct tkj_block_header *bh = buf;
	uint32_t used = TKJ_BLOCK_HEADER + nrec * record_size;
	uint32_t len = tkj_block_length(nrec, record_size, align);

	bh->magic = TKJ_BLOCK_MAGIC;
	bh->length = len;
	bh->nrec = nrec;
	bh->flags = 0;
	bh->first_seq = m->first_seq;
	bh->last_seq = m->last_seq;
	bh->min_ts = m->min_ts;
	bh->max_ts = m->max_ts;
	bh->block_no = block_no;
	bh->record_size = record_size;
	bh->crc = 0;
	memset((uint8_t *)buf + used, 0, len - used);
	bh->crc = tk_crc32c(0, buf, used);
	return len;
}

uint32_t tkj_block_seal(void *buf, uint32_t nrec, uint32_t record_size, uint32_t align,
			uint64_t block_no)
{
	const uint8_t *rec = (const uint8_t *)buf + TKJ_BLOCK_HEADER;
	struct tkj_block_meta m;
	uint32_t i;

	tkj_block_meta_init(&m);
	for (i = 0; i < nrec; i++, rec += record_size)
		tkj_block_meta_add(&m, rec, tkj_record_time(rec));
	return tkj_block_seal_meta(buf, nrec, record_size, align, block_no, &m);
}

static bool tkj__zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

enum tkj_check tkj_block_check(const void *buf, size_t avail, uint32_t record_size, uint32_t align,
			       uint64_t expect_seq, uint64_t expect_no, struct tkj_block_info *info)
{
	const struct tkj_block_header *bh = buf;
	struct tkj_block_header copy;
	const uint8_t *rec;
	uint64_t first = 0, last = 0, lost = 0, want = expect_seq;
	uint32_t i, used, crc;

	if (avail < TKJ_BLOCK_HEADER)
		return TKJ_BAD_LENGTH;
	if (bh->magic != TKJ_BLOCK_MAGIC)
		return tkj__zero(bh, TKJ_BLOCK_HEADER) ? TKJ_END : TKJ_BAD_MAGIC;
	if (bh->record_size != record_size || bh->nrec == 0 ||
	    bh->nrec > (UINT32_MAX - TKJ_BLOCK_HEADER) / record_size)
		return TKJ_BAD_LENGTH;
	used = TKJ_BLOCK_HEADER + bh->nrec * record_size;
	/* length < used: near 4 GiB the rounding up to align wraps to 0, and a
	 * header of length 0 had its "records" checksummed far past the buffer
	 * (tests/fuzz/fuzz_journal.c, corpus_journal/crash_block_length_wrap). */
	if (bh->length != tkj_block_length(bh->nrec, record_size, align) || bh->length > avail ||
	    bh->length < used)
		return TKJ_BAD_LENGTH;
	memcpy(&copy, bh, sizeof(copy));
	copy.crc = 0;
	crc = tk_crc32c(0, &copy, sizeof(copy));
	crc = tk_crc32c(crc, (const uint8_t *)buf + TKJ_BLOCK_HEADER, used - TKJ_BLOCK_HEADER);
	if (crc != bh->crc)
		return TKJ_BAD_CRC;
	if (bh->block_no != expect_no)
		return TKJ_BAD_SEQ;
	rec = (const uint8_t *)buf + TKJ_BLOCK_HEADER;
	for (i = 0; i < bh->nrec; i++, rec += record_size) {
		const struct tkj_slot *s = (const void *)rec;

		if (s->seq == 0) {
			if (s->type == TKJ_REC_LOSS) {
				struct tkj_loss l;

				memcpy(&l, s->data, sizeof(l));
				if (l.to <= l.from || (want != 0 && l.from != want))
					return TKJ_BAD_SEQ;
				lost += l.to - l.from;
				want = l.to;
			} else if (s->type != TKJ_REC_SYMBOL) {
				return TKJ_BAD_RECORD;
			}
			continue;
		}
		if (want != 0 && s->seq != want)
			return TKJ_BAD_SEQ;
		if (first == 0)
			first = s->seq;
		last = s->seq;
		want = s->seq + 1;
	}
	if (bh->first_seq != first || bh->last_seq != last)
		return TKJ_BAD_RECORD;
	if (info != NULL) {
		info->length = bh->length;
		info->nrec = bh->nrec;
		info->first_seq = first;
		info->last_seq = last;
		info->next_seq = want;
		info->min_ts = bh->min_ts;
		info->max_ts = bh->max_ts;
		info->block_no = bh->block_no;
		info->lost = lost;
	}
	return TKJ_OK;
}

/* Days from the civil date (Howard Hinnant's algorithm), and back. */
static int32_t tkj__days_from_civil(int y, unsigned m, unsigned d)
{
	int era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t)doe - 719468;
}

static void tkj__civil_from_days(int32_t day, int *y, unsigned *m, unsigned *d)
{
	/* 64-bit: a file header's day near INT32_MAX overflowed z + 719468
	 * (undefined behaviour; journal.c names a day after a recovered file's
	 * header; tests/fuzz/fuzz_journal.c, corpus_journal/crash_header_day). */
	int64_t z = (int64_t)day + 719468, era;
	unsigned doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = (int)(yoe + era * 400);
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y += *m <= 2;
}

int32_t tkj_day_of(int64_t ns)
{
	int64_t d = ns / TKJ_NS_PER_DAY;

	if (ns < 0 && d * TKJ_NS_PER_DAY != ns)
		d--;
	return (int32_t)d;
}

void tkj_day_name(int32_t day, char *out, size_t cap)
{
	int y;
	unsigned m, d;

	tkj__civil_from_days(day, &y, &m, &d);
	snprintf(out, cap, "%04d-%02u-%02u", y, m, d);
}

int tkj_day_parse(const char *text, int32_t *day)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, m, d;
	int i;

	if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
		return -EINVAL;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
			return -EINVAL;
	y = (unsigned)atoi(text);
	m = (unsigned)atoi(text + 5);
	d = (unsigned)atoi(text + 8);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -EINVAL;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -EINVAL;
	*day = tkj__days_from_civil((int)y, m, d);
	return 0;
}

void tkj_stream_of_log(const char *log, char *out, size_t cap)
{
	if (strncmp(log, "ticks.", 6) == 0 || strcmp(log, "ticks") == 0)
		snprintf(out, cap, "ticks");
	else
		snprintf(out, cap, "%s", log);
}

void tkj_file_name(const char *log, uint64_t generation, uint64_t first_seq, char *out,
		   size_t cap)
{
	snprintf(out, cap, "%s.%016" PRIx64 ".%020" PRIu64 ".tkj", log, generation, first_seq);
}

int tkj_file_name_parse(const char *name, char *log, size_t cap, uint64_t *generation,
			uint64_t *first_seq)
{
	size_t n = strlen(name), loglen;
	const char *g, *q;
	char *end;

	/* <log>.<16 hex>.<20 digits>.tkj */
	if (n < 1 + 1 + 16 + 1 + 20 + 4 || strcmp(name + n - 4, ".tkj") != 0)
		return -EINVAL;
	q = name + n - 4 - 20;
	g = q - 1 - 16;
	if (q[-1] != '.' || g[-1] != '.')
		return -EINVAL;
	loglen = (size_t)(g - 1 - name);
	if (loglen == 0 || loglen >= cap)
		return -EINVAL;
	for (n = 0; n < 16; n++)
		if (!((g[n] >= '0' && g[n] <= '9') || (g[n] >= 'a' && g[n] <= 'f')))
			return -EINVAL;
	for (n = 0; n < 20; n++)
		if (q[n] < '0' || q[n] > '9')
			return -EINVAL;
	*generation = strtoull(g, &end, 16);
	*first_seq = strtoull(q, &end, 10);
	memcpy(log, name, loglen);
	log[loglen] = 0;
	return 0;
}

/*
 * The journal's on-disk format: what persist/FORMAT.md describes, as C.
 * Pure functions over caller buffers (no I/O): the writer seals blocks with
 * them, recovery, `tickd journal verify` and queries check them.
 *
 * A stream (the records of one log: ticks.0, bars.1m, signals, ...) is kept
 * as files per UTC day, each a 4 KiB header then blocks.  A block is a
 * 64-byte header and whole records (the log's slots, byte for byte, so
 * every record keeps its source sequence), zero-padded to the file's
 * alignment.  Blocks are appended and never rewritten.
 */
#ifndef TK_PERSIST_FORMAT_H
#define TK_PERSIST_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TKJ_FILE_MAGIC "TICKDJNL"
#define TKJ_FORMAT_VERSION 1u
#define TKJ_HEADER_SIZE 4096u /* the file header's room: blocks start here */
#define TKJ_BLOCK_MAGIC 0x4b4c424au /* "JBLK" little-endian */
#define TKJ_BLOCK_HEADER 64u
#define TKJ_NAME_MAX 32

/* Records the journal adds to a stream (slot form, seq 0: not from the log). */
enum {
	TKJ_REC_SYMBOL = 200, /* aux = symbol id, data = its name (NUL-padded, 32 bytes) */
	TKJ_REC_LOSS = 201,   /* data = struct tkj_loss: source sequences the journal never saw */
};

struct tkj_loss {
	uint64_t from; /* [from, to) were overwritten before the journal read them */
	uint64_t to;
	int64_t at_ns; /* wall clock when the journal found out */
	uint32_t reason; /* 1: released for a stall or found lapped, 2: started after they were gone */
	uint32_t pad;
};

struct tkj_file_header {
	char magic[8];        /* TKJ_FILE_MAGIC */
	uint32_t version;     /* TKJ_FORMAT_VERSION */
	uint32_t header_size; /* TKJ_HEADER_SIZE */
	char stream[TKJ_NAME_MAX]; /* "ticks", "bars.1m", "signals" */
	char log[TKJ_NAME_MAX];    /* the source log in the segment: "ticks.0" */
	uint32_t record_size; /* bytes a record: the log's slot size */
	uint32_t align;       /* every block starts and ends on a multiple of this */
	int32_t day;          /* UTC day of the file: days since 1970-01-01 */
	uint32_t flags;
	uint64_t first_seq;   /* the first source sequence the file may hold */
	uint64_t generation;  /* identity of the segment the log is in (its creation time):
				 sequences start again at 1 with another segment */
	int64_t created_ns;   /* wall clock */
	uint64_t file_size;   /* bytes reserved for it (fallocate) */
	uint8_t reserved[124];
	uint32_t crc;         /* CRC-32C of every byte before it */
};
_Static_assert(sizeof(struct tkj_file_header) == 256, "file header layout is the format");

struct tkj_block_header {
	uint32_t magic;    /* TKJ_BLOCK_MAGIC */
	uint32_t length;   /* bytes from this header to the next block: a multiple of align */
	uint32_t nrec;     /* records after the header (the journal's own included) */
	uint32_t flags;
	uint64_t first_seq; /* first and last source sequence in the block */
	uint64_t last_seq;
	int64_t min_ts;    /* earliest and latest event time of its records (ns) */
	int64_t max_ts;
	uint64_t block_no; /* 0, 1, 2 ... in its file */
	uint32_t record_size;
	uint32_t crc;      /* CRC-32C of the header (crc = 0) and its nrec records */
};
_Static_assert(sizeof(struct tkj_block_header) == TKJ_BLOCK_HEADER, "block header is 64 bytes");

/* What a block check found wrong: the first failure ends a stream. */
enum tkj_check {
	TKJ_OK = 0,
	TKJ_END = 1,        /* zeros: nothing was ever written here */
	TKJ_BAD_MAGIC = 2,
	TKJ_BAD_LENGTH = 3, /* length, count or record size impossible, or past the data */
	TKJ_BAD_CRC = 4,
	TKJ_BAD_SEQ = 5,    /* a sequence not the next one, or a block number out of order */
	TKJ_BAD_RECORD = 6, /* a record inconsistent with the header */
};

const char *tkj_check_name(enum tkj_check c);

/* The event time of a record in slot form (seq, type, aux, data); INT64_MIN
 * for the journal's own records and types without one. */
int64_t tkj_record_time(const void *slot);

/* Fill a file header (crc included).  stream, log: at most 31 bytes. */
void tkj_file_header_make(struct tkj_file_header *h, const char *stream, const char *log,
			  uint32_t record_size, uint32_t align, int32_t day, uint64_t first_seq,
			  uint64_t generation, int64_t created_ns, uint64_t file_size);

/* Check a file header read from disk: 0, or -EPROTO with a message naming
 * what is wrong (not a journal file, another version, a bad checksum). */
int tkj_file_header_check(const struct tkj_file_header *h, char *why, size_t cap);

/*
 * Seal the block at buf: nrec records of record_size bytes follow the
 * header; fills the header (sequences and times from the records), zeroes
 * the padding up to `align`, computes the CRC.  Returns the block's length.
 * buf must have room for the padded length.
 */
uint32_t tkj_block_seal(void *buf, uint32_t nrec, uint32_t record_size, uint32_t align,
			uint64_t block_no);

/*
 * What a block's records say about it: its header's sequences and times,
 * its index entry's symbols and gaps.  The writer gathers it record by
 * record as they are appended (one pass over each record, not one for the
 * header and another for the index); tkj_block_seal gathers it from the
 * records.  Either way the same rule: tkj_block_meta_add.
 */
struct tkj_block_meta {
	uint64_t first_seq, last_seq; /* 0: no source record */
	uint64_t next_seq;  /* the source sequence after its records (0: none) */
	int64_t min_ts, max_ts; /* INT64_MAX, INT64_MIN: no event time */
	uint64_t symbits[4]; /* bit (id & 255) of every symbol id of a tick, bar, signal */
	bool gap;           /* it holds a feed gap or a loss record */
};

void tkj_block_meta_init(struct tkj_block_meta *m);

/* Account the record at slot, of event time t (tkj_record_time(slot)). */
void tkj_block_meta_add(struct tkj_block_meta *m, const void *slot, int64_t t);

/* tkj_block_seal with the meta of its nrec records gathered already. */
uint32_t tkj_block_seal_meta(void *buf, uint32_t nrec, uint32_t record_size, uint32_t align,
			     uint64_t block_no, const struct tkj_block_meta *m);

/* Length a block of nrec records takes. */
static inline uint32_t tkj_block_length(uint32_t nrec, uint32_t record_size, uint32_t align)
{
	uint32_t used = TKJ_BLOCK_HEADER + nrec * record_size;

	return (used + align - 1) / align * align;
}

struct tkj_block_info {
	uint32_t length;
	uint32_t nrec;
	uint64_t first_seq; /* 0 when the block holds no source record */
	uint64_t last_seq;
	uint64_t next_seq;  /* the sequence the next block must start at */
	int64_t min_ts, max_ts;
	uint64_t block_no;
	uint64_t lost;      /* sequences a loss record in it declares missing */
};

/*
 * Check the block at buf, with `avail` bytes readable there, against what
 * must come next: source sequence `expect_seq` (0: any) and block number
 * `expect_no`.  Records carry their sequences; each must be the next one
 * (a loss record moves the expectation to its `to`).  Fills *info on OK.
 */
enum tkj_check tkj_block_check(const void *buf, size_t avail, uint32_t record_size, uint32_t align,
			       uint64_t expect_seq, uint64_t expect_no, struct tkj_block_info *info);

/* UTC day (days since the epoch) of an epoch-ns time, and its name
 * "YYYY-MM-DD" (out >= 11 bytes); parse the name back (-EINVAL if not one). */
int32_t tkj_day_of(int64_t ns);
void tkj_day_name(int32_t day, char *out, size_t cap);
int tkj_day_parse(const char *text, int32_t *day);

/* The stream a log's records are kept under: "ticks" for ticks.N, else the
 * log's own name (bars.1m, signals). */
void tkj_stream_of_log(const char *log, char *out, size_t cap);

/* A data file's name: "<log>.<generation, 16 hex digits>.<first seq, 20
 * digits>.tkj", so that names sort in the order of the data (a newer
 * segment after an older one, then by sequence); parse it back (-EINVAL). */
void tkj_file_name(const char *log, uint64_t generation, uint64_t first_seq, char *out,
		   size_t cap);
int tkj_file_name_parse(const char *name, char *log, size_t cap, uint64_t *generation,
			uint64_t *first_seq);

#endif

/*
 * Recovery and verification of journal files.
 *
 * A file is read block by block from its header on (or from the last block
 * its index names, after checking that block): the first block that fails
 * its length, CRC, block number or sequence continuity is the end of the
 * file.  What lies past the end, within the writer's window, is a torn
 * tail: copied aside to "<file>.torn-<offset>", then zeroed, and reported.
 * Only a stream's newest file can have one (the writer makes a file
 * durable before it opens the next), so startup reads one file per stream,
 * from its last indexed block: its time does not grow with the data.
 */
#ifndef TK_PERSIST_RECOVER_H
#define TK_PERSIST_RECOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "persist/format.h"

struct tkj_scan {
	struct tkj_file_header hdr;
	uint64_t end;        /* offset after the last valid block */
	uint64_t size;       /* file size */
	uint64_t blocks;     /* valid blocks in the file */
	uint64_t scanned;    /* blocks read (not known from the index) */
	uint64_t next_seq;   /* the sequence after the last valid block (hdr.first_seq if none) */
	uint64_t last_seq;
	uint64_t records;    /* source records in the blocks read */
	enum tkj_check stop; /* why the scan ended (TKJ_END: clean) */
	uint64_t junk;       /* non-zero bytes found past end, within the window */
	uint64_t junk_end;   /* offset after the last of them */
	uint64_t torn_first_seq, torn_last_seq; /* what the first bad block claimed to hold */
	bool index_ok;       /* the index covered every valid block */
	uint64_t seen[1024]; /* symbol ids below 65536 named in the file */
};

/*
 * Scan data file `path` (open as fd), trusting its index where it checks
 * out.  window: how far past the end junk may lie.  repair (fd read-write):
 * bring the index up to date (rebuilt when missing or wrong), move a torn
 * tail aside and zero it (*torn_path says where); without it nothing is
 * written.  0 or -errno with a
 * message naming the path (-EPROTO: not a journal file, or another format
 * version, or another record size than record_size when it is not 0).
 */
int tkj_scan_file(const char *path, int fd, uint32_t record_size, uint64_t window, bool repair,
		  struct tkj_scan *out, char *torn_path, size_t torn_cap);

/*
 * Read every block of an open data file from its first, trusting no index:
 * where the data ends (*end, the offset after the last good block), why
 * (*stop), and the sequence after it.  What `tickd journal verify` checks
 * a file against (a scan trusts the index up to its last block).  0 or
 * -errno.
 */
int tkj_walk_blocks(int fd, const struct tkj_file_header *hdr, uint64_t size, uint64_t *end,
		    uint64_t *next_seq, enum tkj_check *stop);

struct tkj_recovered {
	bool found;         /* the newest file is of this generation: append to it */
	uint64_t next_seq;
	int fd;             /* the newest file, open read-write (-1 if not found) */
	int idx_fd;         /* its index, open for appending */
	int32_t day;
	uint64_t first_seq;
	uint64_t end;       /* where the next block goes */
	uint64_t size;
	uint32_t align;
	uint64_t blocks_in_file;
	uint64_t blocks;    /* blocks read at recovery */
	uint64_t torn_bytes;
	uint64_t scanned_bytes;
	char path[1024];
	char torn_path[1024];
	char message[3072];
	uint64_t seen[1024];
};

/* Recover the newest file of `log` in dir/stream.  A newest file of another
 * generation (another segment) is repaired and trimmed, and found is false. */
int tkj_recover_stream(const char *dir, const char *stream, const char *log, uint64_t generation,
		       uint32_t record_size, uint64_t window, struct tkj_recovered *out);

void tkj_recovered_free(struct tkj_recovered *r);

/* One data file of a stream, as listed in its day directories. */
struct tkj_file_ref {
	char path[1024];
	char log[TKJ_NAME_MAX];
	int32_t day;
	uint64_t generation;
	uint64_t first_seq;
};

/* Every data file of stream in dir (all logs, or only `log` if not NULL),
 * in the order of their data: day, generation, first sequence.  *out is
 * malloc'd (free it).  Returns the count, or -errno. */
int tkj_list_files(const char *dir, const char *stream, const char *log, int32_t from_day,
		   int32_t to_day, struct tkj_file_ref **out);

#endif

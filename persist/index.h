/*
 * The index of a journal file: "<data file>.idx", one 128-byte entry per
 * durable block (offset, sequences, event-time range, the symbols in it)
 * and one per symbol name the file's dictionary records give.  A cache: it
 * is written after the data is durable, never synced, and rebuilt from the
 * data when it is missing, torn or behind (each entry has its CRC).
 * Queries read it to find the blocks a time range and a symbol touch.
 */
#ifndef TK_PERSIST_INDEX_H
#define TK_PERSIST_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TKJ_INDEX_MAGIC "TKJINDX1"
#define TKJ_INDEX_HEADER 64u

enum { TKJ_IDX_BLOCK = 1, TKJ_IDX_SYMBOL = 2 };
#define TKJ_IDX_F_GAP 0x1u /* the block holds a feed gap or a loss record */

struct tkj_index_entry {
	uint32_t kind;
	uint32_t length; /* block: its length; symbol: its id */
	uint64_t offset; /* block: where it starts in the data file */
	uint64_t first_seq, last_seq, next_seq;
	int64_t min_ts, max_ts;
	uint64_t block_no;
	uint32_t nrec;
	uint32_t flags;
	union {
		uint64_t symbits[4]; /* block: bit (id & 255) for every symbol id in it */
		char name[32];       /* symbol: its name */
	} u;
	uint8_t reserved[20];
	uint32_t crc; /* CRC-32C of the bytes before it */
};
_Static_assert(sizeof(struct tkj_index_entry) == 128, "index entries are 128 bytes");

/* An index in memory: the valid prefix of a file's entries. */
struct tkj_index {
	struct tkj_index_entry *e;
	size_t n, cap;
	size_t nblocks; /* entries of kind block */
};

/* "<data>.idx" */
void tkj_index_path(const char *data_path, char *out, size_t cap);

/* Create (or truncate) the index of data_path, header written; *fd is for
 * tkj_index_append.  0 or -errno with a message. */
int tkj_index_create(const char *data_path, uint64_t generation, uint64_t first_seq, int *fd);

/* The block entry of a sealed block (offset filled by the caller). */
struct tkj_block_meta;
void tkj_index_entry_of_meta(struct tkj_index_entry *e, const struct tkj_block_meta *m,
			     uint32_t length, uint32_t nrec, uint64_t block_no, uint64_t offset);
void tkj_index_entry_of_block(struct tkj_index_entry *e, const void *block, uint32_t record_size,
			      uint64_t offset);

/* Append e and the symbol entries of the block's dictionary records
 * (block NULL: a block without any).
 * Errors are not fatal (the index is rebuilt): returns 0 or -errno. */
int tkj_index_append(int fd, const struct tkj_index_entry *e, const void *block,
		     uint32_t record_size);

/* Load the valid prefix of data_path's index: entries with good CRCs,
 * blocks in order.  -ENOENT if there is none, -EPROTO if its header is not
 * one for (generation, first_seq); *valid_bytes: the length of the prefix. */
int tkj_index_load(const char *data_path, uint64_t generation, uint64_t first_seq,
		   struct tkj_index *idx, uint64_t *valid_bytes);

void tkj_index_free(struct tkj_index *idx);

/* Seal an entry (its CRC). */
void tkj_index_entry_seal(struct tkj_index_entry *e);

/* Does block entry e maybe hold symbol id? */
static inline bool tkj_index_has_symbol(const struct tkj_index_entry *e, uint32_t id)
{
	return (e->u.symbits[(id & 255) >> 6] >> (id & 63)) & 1;
}

#endif

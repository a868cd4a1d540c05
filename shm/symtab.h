/*
 * The symbol table: append-only names ("AAPL", "BINANCE:BTCUSDT") with
 * dense ids, looked up by name or by id from any process.
 *
 * DESIGN.  Symbols are added rarely (at subscription) and looked up often,
 * by several writers (one per feed) and any number of readers, so the
 * table is lock-free and append-only: an adder takes an id with a
 * fetch-and-add, fills the entry, marks it READY with a release store, and
 * only then publishes it in an open-addressing hash index by a CAS on an
 * empty bucket.  A reader that finds the id in a bucket (acquire) sees the
 * full name.  If two processes add the same name at once, the CAS on the
 * bucket makes one the winner; the loser marks its entry as a duplicate of
 * the winner's id and returns that id, so a name has exactly one id.  A
 * process killed mid-add leaves at worst an unpublished entry, never a
 * half-written name in the index.
 *
 * The id claim is bounded: a CAS moves next_id only while it is below the
 * capacity, so a full table stays full at next_id == capacity however many
 * adds it refuses (it counts them in `refused`).  A fetch-and-add per
 * refused add would wrap next_id after 2^32 of them (one per trade of an
 * unknown symbol) and hand out id 0 again, over the first symbol.
 */
#ifndef TK_SHM_SYMTAB_H
#define TK_SHM_SYMTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/segment.h"
#include "shm/symbol.h"

_Static_assert(TK_SYMBOL_MAX == TK_NAME_MAX - 1, "a symbol fills a name field");

#define TK_SYMTAB_MAGIC 0x42415453594d4b54ull /* "TKMYSTAB" */
#define TK_SYMTAB_VERSION 1u

enum tk_symbol_state { TK_SYM_EMPTY = 0, TK_SYM_READY = 1, TK_SYM_DUPLICATE = 2 };

struct tk_symbol {
	char name[TK_NAME_MAX];
	uint32_t state; /* enum tk_symbol_state; store-release READY after name */
	uint32_t hash;
	uint32_t alias; /* for DUPLICATE: the id that won */
	uint8_t pad[20];
};
_Static_assert(sizeof(struct tk_symbol) == 64, "symbol entry is one cache line");

struct tk_symtab_region {
	uint64_t magic;
	uint32_t version;
	uint32_t capacity;
	uint32_t nbuckets;
	uint8_t pad0[44];
	uint32_t next_id; /* ids handed out: never more than capacity */
	uint32_t reserved0;
	uint64_t refused; /* adds refused because the table was full */
	uint8_t pad1[48];
	/* struct tk_symbol entries[capacity]; uint32_t buckets[nbuckets]; */
} __attribute__((aligned(64)));
/* `refused` took zeroed padding: a segment made before it reads 0 there, so
 * the layout and TK_SYMTAB_VERSION are unchanged. */
_Static_assert(offsetof(struct tk_symtab_region, next_id) == 64, "symbol table layout");
_Static_assert(offsetof(struct tk_symtab_region, refused) == 72, "symbol table layout");
_Static_assert(sizeof(struct tk_symtab_region) == 128, "symbol table layout");

uint64_t tk_symtab_region_size(uint32_t capacity);
void tk_symtab_init(struct tk_symtab_region *t, uint32_t capacity);
int tk_symtab_validate(const struct tk_symtab_region *t, uint64_t region_size);

/* The segment's symbol table. */
struct tk_symtab_region *tk_symtab_of(const struct tk_segment *seg);

/* Is this a valid symbol name?  The one rule, shm/symbol.h. */
static inline bool tk_symbol_name_valid(const char *name, uint32_t len)
{
	return tk_symbol_valid(name, len);
}

/*
 * Id of `name` (len bytes, not necessarily NUL-terminated), adding it if
 * new.  Any process with a writable mapping may call it concurrently.
 * Returns the id (>= 0), -EINVAL for a name tk_symbol_check refuses,
 * -ENOSPC when full (counted in `refused`; the table is unchanged).
 */
int32_t tk_symtab_intern(struct tk_symtab_region *t, const char *name, uint32_t len);

/* Id of name, -ENOENT, or -EINVAL (not a valid symbol).  Any process,
 * read-only is enough. */
int32_t tk_symtab_find(const struct tk_symtab_region *t, const char *name, uint32_t len);

/* Name of id (NUL-terminated, in the segment: valid while attached), or NULL. */
const char *tk_symtab_name(const struct tk_symtab_region *t, int32_t id);

/* Number of ids handed out (upper bound of ids to iterate; skip NULL names). */
uint32_t tk_symtab_count(const struct tk_symtab_region *t);

/*
 * Ids below this are settled: each name found by tk_symtab_find (or a
 * duplicate of one).  tk_symtab_count may run ahead of it while an adder
 * is between taking its id and publishing its name; a reader that looks
 * names up to learn their ids records this, not the count, as what it has
 * seen.  Only the newest TK_SYMTAB_IN_FLIGHT ids are looked at (adders at
 * once: one per feed).
 */
#define TK_SYMTAB_IN_FLIGHT 64
uint32_t tk_symtab_settled(const struct tk_symtab_region *t);

/* Adds refused since the segment was made because the table was full. */
uint64_t tk_symtab_refused(const struct tk_symtab_region *t);

#endif

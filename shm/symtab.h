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
 */
#ifndef TK_SHM_SYMTAB_H
#define TK_SHM_SYMTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/segment.h"

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
	uint32_t next_id; /* ids handed out (may exceed capacity when full) */
	uint8_t pad1[60];
	/* struct tk_symbol entries[capacity]; uint32_t buckets[nbuckets]; */
} __attribute__((aligned(64)));

uint64_t tk_symtab_region_size(uint32_t capacity);
void tk_symtab_init(struct tk_symtab_region *t, uint32_t capacity);
int tk_symtab_validate(const struct tk_symtab_region *t, uint64_t region_size);

/* The segment's symbol table. */
struct tk_symtab_region *tk_symtab_of(const struct tk_segment *seg);

/* Is this a valid symbol name: 1..31 bytes, no control characters? */
bool tk_symbol_name_valid(const char *name, uint32_t len);

/*
 * Id of `name` (len bytes, not necessarily NUL-terminated), adding it if
 * new.  Any process with a writable mapping may call it concurrently.
 * Returns the id (>= 0), -EINVAL for an invalid name, -ENOSPC when full.
 */
int32_t tk_symtab_intern(struct tk_symtab_region *t, const char *name, uint32_t len);

/* Id of name, or -ENOENT.  Any process, read-only is enough. */
int32_t tk_symtab_find(const struct tk_symtab_region *t, const char *name, uint32_t len);

/* Name of id (NUL-terminated, in the segment: valid while attached), or NULL. */
const char *tk_symtab_name(const struct tk_symtab_region *t, int32_t id);

/* Number of ids handed out (upper bound of ids to iterate; skip NULL names). */
uint32_t tk_symtab_count(const struct tk_symtab_region *t);

#endif

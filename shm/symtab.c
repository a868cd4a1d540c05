#include "shm/symtab.h"

#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "shm/atomic.h"

static uint32_t tk__nbuckets(uint32_t capacity)
{
	uint32_t n = 16;

	while (n < 2 * capacity)
		n <<= 1;
	return n;
}

static struct tk_symbol *tk__entries(const struct tk_symtab_region *t)
{
	return (struct tk_symbol *)((uint8_t *)t + sizeof(*t));
}

static uint32_t *tk__buckets(const struct tk_symtab_region *t)
{
	return (uint32_t *)((uint8_t *)t + sizeof(*t) + (uint64_t)t->capacity * sizeof(struct tk_symbol));
}

uint64_t tk_symtab_region_size(uint32_t capacity)
{
	return sizeof(struct tk_symtab_region) + (uint64_t)capacity * sizeof(struct tk_symbol) +
	       (uint64_t)tk__nbuckets(capacity) * sizeof(uint32_t);
}

void tk_symtab_init(struct tk_symtab_region *t, uint32_t capacity)
{
	t->magic = TK_SYMTAB_MAGIC;
	t->version = TK_SYMTAB_VERSION;
	t->capacity = capacity;
	t->nbuckets = tk__nbuckets(capacity);
}

int tk_symtab_validate(const struct tk_symtab_region *t, uint64_t region_size)
{
	if (t->magic != TK_SYMTAB_MAGIC || t->version != TK_SYMTAB_VERSION)
		return tk_err_set(EBADF, "symbol table has a bad magic or version (corrupt segment)");
	if (t->nbuckets != tk__nbuckets(t->capacity) ||
	    tk_symtab_region_size(t->capacity) > region_size)
		return tk_err_set(EBADF, "symbol table geometry is inconsistent (corrupt segment)");
	return 0;
}

struct tk_symtab_region *tk_symtab_of(const struct tk_segment *seg)
{
	return tk_segment_region(seg, TK_REGION_SYMTAB, NULL, NULL);
}

static uint32_t tk__hash(const char *name, uint32_t len)
{
	uint32_t h = 2166136261u;
	uint32_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 16777619u;
	}
	return h;
}

static bool tk__same(const struct tk_symbol *e, uint32_t hash, const char *name, uint32_t len)
{
	return e->hash == hash && memcmp(e->name, name, len) == 0 && e->name[len] == '\0';
}

int32_t tk_symtab_find(const struct tk_symtab_region *t, const char *name, uint32_t len)
{
	const struct tk_symbol *entries = tk__entries(t);
	uint32_t *buckets = tk__buckets(t);
	uint32_t mask = t->nbuckets - 1;
	uint32_t hash, i, n;

	if (!tk_symbol_valid(name, len))
		return -EINVAL;
	hash = tk__hash(name, len);
	for (i = hash & mask, n = 0; n < t->nbuckets; i = (i + 1) & mask, n++) {
		/* Acquire: pairs with the CAS that published the bucket after the
		 * entry was filled. */
		uint32_t b = tk_load_acquire_32(&buckets[i]);

		if (b == 0)
			return -ENOENT;
		if (b - 1 < t->capacity && tk__same(&entries[b - 1], hash, name, len))
			return (int32_t)(b - 1);
	}
	return -ENOENT;
}

int32_t tk_symtab_intern(struct tk_symtab_region *t, const char *name, uint32_t len)
{
	struct tk_symbol *entries = tk__entries(t);
	uint32_t *buckets = tk__buckets(t);
	uint32_t mask = t->nbuckets - 1;
	uint32_t hash, id, i, n;
	struct tk_symbol *e;
	int32_t found;

	found = tk_symtab_find(t, name, len);
	if (found != -ENOENT)
		return found;
	hash = tk__hash(name, len);
	/* Relaxed: a first guess; the CAS below decides. */
	id = tk_load_relaxed_32(&t->next_id);
	for (;;) {
		/* A table made by an older build may hold next_id > capacity. */
		if (id >= t->capacity) {
			/* Full barrier (locked add), but only a statistic: orders nothing. */
			tk_faa_64(&t->refused, 1);
			return -ENOSPC;
		}
		/* Full-barrier CAS: each adder gets its own id, and none past the
		 * capacity, so next_id never moves once the table is full. */
		if (tk_cas_32(&t->next_id, id, id + 1))
			break;
		id = tk_load_relaxed_32(&t->next_id); /* another adder won: retry from its id */
	}
	e = &entries[id];
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->hash = hash;
	/* Release: the name is complete before the entry reads as READY. */
	tk_store_release_32(&e->state, TK_SYM_READY);
	for (i = hash & mask, n = 0; n < t->nbuckets; i = (i + 1) & mask, n++) {
		/* Acquire: pairs with the CAS that published the bucket. */
		uint32_t b = tk_load_acquire_32(&buckets[i]);

		if (b == 0) {
			/* Full barrier CAS: the entry's stores precede the bucket. */
			if (tk_cas_32(&buckets[i], 0, id + 1))
				return (int32_t)id;
			b = tk_load_acquire_32(&buckets[i]); /* the winner's, published by its CAS */
		}
		if (b - 1 < t->capacity && tk__same(&entries[b - 1], hash, name, len)) {
			/* Someone added the same name first: theirs is the id. */
			e->alias = b - 1;
			tk_store_release_32(&e->state, TK_SYM_DUPLICATE);
			return (int32_t)(b - 1);
		}
	}
	return -ENOSPC;
}

const char *tk_symtab_name(const struct tk_symtab_region *t, int32_t id)
{
	const struct tk_symbol *e;

	if (id < 0 || (uint32_t)id >= t->capacity)
		return NULL;
	e = &tk__entries(t)[id];
	/* Acquire: pairs with the release of READY; the name is complete. */
	if (tk_load_acquire_32((uint32_t *)&e->state) != TK_SYM_READY)
		return NULL;
	return e->name;
}

uint32_t tk_symtab_settled(const struct tk_symtab_region *t)
{
	const struct tk_symbol *entries = tk__entries(t);
	uint32_t n = tk_symtab_count(t), low = n > TK_SYMTAB_IN_FLIGHT ? n - TK_SYMTAB_IN_FLIGHT : 0;

	/* An adder takes its id before it writes the name and publishes the
	 * bucket: the lowest id among the newest not findable yet bounds what
	 * a lookup may miss. */
	for (uint32_t id = low; id < n; id++) {
		/* Acquire: pairs with the release of the entry's state. */
		uint32_t st = tk_load_acquire_32((uint32_t *)&entries[id].state);

		if (st == TK_SYM_DUPLICATE)
			continue;
		if (st != TK_SYM_READY ||
		    tk_symtab_find(t, entries[id].name, (uint32_t)strlen(entries[id].name)) != (int32_t)id)
			return id;
	}
	return n;
}

uint32_t tk_symtab_count(const struct tk_symtab_region *t)
{
	/* Acquire: pairs with the adders' locked add; entries below may still
	 * be filling, which tk_symtab_name tells by their state. */
	uint32_t n = tk_load_acquire_32((uint32_t *)&t->next_id);

	return n < t->capacity ? n : t->capacity;
}

uint64_t tk_symtab_refused(const struct tk_symtab_region *t)
{
	/* Relaxed: a counter read for display, ordering nothing. */
	return tk_load_relaxed_64((uint64_t *)&t->refused);
}

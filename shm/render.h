/*
 * Records as JSON, per the data contract of DESIGN.md: the one renderer
 * behind `tickd tail`, tickd_record_json() and so the Python binding, so
 * that every reader prints a record the same way, byte for byte.
 *
 * Pure functions over a caller's buffer (common/json.h): no allocation, no
 * clock, no I/O, safe to call from any thread.
 */
#ifndef TK_SHM_RENDER_H
#define TK_SHM_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "common/json.h"
#include "shm/symtab.h"

/*
 * Append record (seq, type, aux, data[len]) as one JSON object, without a
 * newline.  Symbols are named through `symbols` ("#<id>" for an id it does
 * not know, or when symbols is NULL).  A payload shorter than its type's
 * record reads as if zero-filled past len: never beyond data[len].
 * Overflow of b is flagged in b->overflow.
 */
void tk_render_json(struct tk_buf *b, uint64_t seq, uint32_t type, uint32_t aux, const void *data,
		    size_t len, const struct tk_symtab_region *symbols);

/* The same, the symbol named by the caller (NULL: "#<id>"): the journal
 * keeps its own dictionary of names. */
void tk_render_json_named(struct tk_buf *b, uint64_t seq, uint32_t type, uint32_t aux,
			  const void *data, size_t len, const char *symbol);

/* A trade as one element of a Finnhub trade message's "data":
 * {"s","p","t","v","c"}: t in epoch ms, c null or the condition codes as
 * strings (a code of 31 or more, kept only as TK_COND_OTHER, is not
 * repeated).  What /ws/finnhub and the Kafka publisher's finnhub format
 * send, so that a client of Finnhub reads either unchanged. */
struct tk_tick;
void tk_render_finnhub_trade(struct tk_buf *b, const char *symbol, const struct tk_tick *t);

/* "1s", "1m", "5m", "1h", "1d", or "<n>s" for others; out >= 16 bytes.
 * (The same names as the engine's bar logs: bars.<name>.) */
void tk_tf_name(int64_t tf_ns, char *out, size_t cap);

/* "1s", "15s", "1m", "1h", "1d" (a positive integer and one unit) -> ns.
 * Returns 0, or -EINVAL for anything else (also a zero or an overflow). */
int tk_tf_parse(const char *text, size_t len, int64_t *tf_ns);

#endif

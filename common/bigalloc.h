/*
 * Large zeroed arrays that live as long as a process: anonymous mappings,
 * optionally on transparent huge pages.
 *
 * Why: the engine's per-symbol arrays are tens of MB at 10,000 symbols and
 * a tick or a bar close lands on a different 4 KiB page almost every time;
 * on 2 MiB pages the dTLB covers them.  THP is asked for by madvise
 * (MADV_HUGEPAGE), which works when the host's setting is `always` or
 * `madvise`; elsewhere the mapping is ordinary pages, which is correct,
 * only slower.  A fresh mapping is zero: untouched symbols cost no memory.
 */
#ifndef TK_COMMON_BIGALLOC_H
#define TK_COMMON_BIGALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* n zero bytes (rounded up to whole pages), NULL if the map fails; with
 * `huge` and n of 2 MiB or more, aligned to 2 MiB and advised for huge
 * pages.  The first touch of each huge page clears it (and with THP's
 * defrag setting `madvise`, may compact memory first): on the engine's
 * path that happens as symbols first trade, as 4 KiB faults did before. */
void *tk_big_alloc(size_t n, bool huge);
/* Unmap what tk_big_alloc(n, huge) returned (NULL is ignored). */
void tk_big_free(void *p, size_t n, bool huge);

#endif

/*
 * Included first (-include) into persist/recover.c and persist/query.c for
 * fuzz_journal only: their 64 MiB block buffer (TKJ_MAX_BLOCK), allocated
 * by every scan and query, is handed out from one kept allocation.  Under
 * ASan a fresh 64 MiB allocation costs its 8 MiB of shadow memory faulted
 * in and poisoned, ~20 ms: ten of them an input made the target run at 5
 * inputs a second.  The kept buffer is a real allocation of exactly that
 * size, so reading or writing past its end is still reported; only a use
 * after its free is not.  Every other allocation goes to malloc and free.
 */
#ifndef TK_FUZZ_JOURNAL_ALLOC_H
#define TK_FUZZ_JOURNAL_ALLOC_H

#include <stdlib.h>

void *tk_fuzz_malloc(size_t n);
void tk_fuzz_free(void *p);

#define malloc(n) tk_fuzz_malloc(n)
#define free(p) tk_fuzz_free(p)

#endif

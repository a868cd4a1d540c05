#include "common/bigalloc.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define TK__HUGE (2u << 20)

static size_t tk__round(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

void *tk_big_alloc(size_t n, bool huge)
{
	size_t len, slack;
	uint8_t *p, *aligned;

	if (n == 0)
		n = 1;
	/* Less than a huge page: its first touch would still clear 2 MiB. */
	if (!huge || n < TK__HUGE) {
		p = mmap(NULL, tk__round(n, (size_t)sysconf(_SC_PAGESIZE)), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	/* Map 2 MiB more and trim both ends: the kernel backs only whole
	 * aligned 2 MiB ranges with a huge page. */
	len = tk__round(n, TK__HUGE);
	p = mmap(NULL, len + TK__HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	aligned = (uint8_t *)tk__round((uintptr_t)p, TK__HUGE);
	slack = (size_t)(aligned - p);
	if (slack > 0)
		munmap(p, slack);
	munmap(aligned + len, TK__HUGE - slack); /* slack < TK__HUGE: never empty */
	/* Advice, not a requirement: ordinary pages where THP is off. */
	(void)madvise(aligned, len, MADV_HUGEPAGE);
	return aligned;
}

void tk_big_free(void *p, size_t n, bool huge)
{
	if (p == NULL)
		return;
	if (n == 0)
		n = 1;
	munmap(p, huge && n >= TK__HUGE ? tk__round(n, TK__HUGE)
				       : tk__round(n, (size_t)sysconf(_SC_PAGESIZE)));
}

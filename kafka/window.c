/* Records in flight to Kafka (window.h). */
#include "kafka/window.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tkk_window_init(struct tkk_window *w, uint32_t cap, uint64_t start)
{
	uint32_t c = 1;

	while (c < cap && c < (1u << 30))
		c <<= 1;
	memset(w, 0, sizeof(*w));
	w->left = calloc(c, sizeof(*w->left));
	if (w->left == NULL)
		return -ENOMEM;
	w->cap = c;
	w->base = w->next = start;
	return 0;
}

void tkk_window_free(struct tkk_window *w)
{
	free(w->left);
	w->left = NULL;
}

void tkk_window_reset(struct tkk_window *w, uint64_t seq)
{
	memset(w->left, 0, (size_t)w->cap * sizeof(*w->left));
	w->base = w->next = seq;
}

int tkk_window_add(struct tkk_window *w, uint32_t messages)
{
	if (tkk_window_full(w))
		return -ENOSPC;
	w->left[w->next & (w->cap - 1)] = messages;
	w->next++;
	return 0;
}

int tkk_window_ack(struct tkk_window *w, uint64_t seq)
{
	uint32_t *l;

	if (seq < w->base || seq >= w->next)
		return -ERANGE;
	l = &w->left[seq & (w->cap - 1)];
	if (*l == 0)
		return -ERANGE;
	(*l)--;
	return 0;
}

uint64_t tkk_window_advance(struct tkk_window *w)
{
	while (w->base < w->next && w->left[w->base & (w->cap - 1)] == 0)
		w->base++;
	return w->base;
}

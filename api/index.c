/* The API's per-symbol chains through the bar and signal logs (index.h). */
#include "api/index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "shm/atomic.h"
#include "shm/records.h"
#include "shm/render.h"
#include "shm/symtab.h"

int tka_index_find(const struct tka_index *ix, const char *name)
{
	unsigned i;

	for (i = 0; i < ix->n; i++)
		if (strcmp(ix->log[i].name, name) == 0)
			return (int)i;
	return -1;
}

void tka_index_close(struct tka_index *ix)
{
	unsigned i;

	if (ix->running) {
		ix->stop = 1;
		pthread_join(ix->thread, NULL);
		ix->running = false;
	}
	for (i = 0; i < ix->n; i++) {
		tk_log_reader_close(&ix->log[i].r);
		free(ix->log[i].prev);
		free(ix->log[i].newest);
	}
	ix->n = 0;
}

int tka_index_open(struct tka_index *ix, const struct tk_segment *seg)
{
	const struct tk_symtab_region *symtab = tk_symtab_of(seg);
	uint32_t i;

	memset(ix, 0, sizeof(*ix));
	for (i = 0; i < seg->hdr->config.nlogs; i++) {
		const struct tk_log_spec *spec = &seg->hdr->config.logs[i];
		struct tk_reader_opts opts = { .start = TK_START_OLDEST };
		struct tka_logidx *l = &ix->log[ix->n];
		int rc;

		if (strncmp(spec->name, "bars.", 5) == 0) {
			const char *tf = spec->name + 5;

			l->type = TK_REC_BAR;
			if (tk_tf_parse(tf, strcspn(tf, "."), &l->tf_ns) < 0)
				continue; /* not an engine's bar log */
		} else if (strcmp(spec->name, "signals") == 0 || strncmp(spec->name, "signals.", 8) == 0) {
			l->type = TK_REC_SIGNAL;
			l->tf_ns = 0;
		} else {
			continue;
		}
		rc = tk_log_reader_open(&l->r, seg, spec->name, &opts);
		if (rc < 0) {
			tka_index_close(ix);
			return rc;
		}
		snprintf(l->name, sizeof(l->name), "%s", spec->name);
		l->nsymbols = symtab != NULL ? symtab->capacity : 0;
		l->prev = calloc(spec->nslots, sizeof(uint64_t));
		l->newest = calloc(l->nsymbols > 0 ? l->nsymbols : 1, sizeof(uint64_t));
		ix->n++;
		if (l->prev == NULL || l->newest == NULL) {
			tka_index_close(ix);
			return tk_err_set(-ENOMEM, "api: no memory for the index of %s", spec->name);
		}
	}
	return 0;
}

uint64_t tka_index_poll(struct tka_index *ix)
{
	struct tk_slot slot[4]; /* a bar record needs more than one line */
	uint64_t total = 0;
	unsigned i;

	for (i = 0; i < ix->n; i++) {
		struct tka_logidx *l = &ix->log[i];
		uint32_t budget = 4096;

		if (l->r.slot_size > sizeof(slot))
			continue;
		while (budget-- > 0) {
			int rc = tk_log_read(&l->r, slot);
			uint64_t s;

			if (rc == TK_LOG_LAPPED)
				continue; /* the chains through the lost part end there */
			if (rc != TK_LOG_OK)
				break;
			s = slot[0].seq;
			if (slot[0].type == l->type && slot[0].aux < l->nsymbols) {
				/* Release: a walker that loads newest[k] == s (acquire) finds
				 * prev[s] written; one that loads prev[s] and then sees the
				 * slot still at s knows the word is s's (index.h). */
				tk_store_release_64(&l->prev[s & l->r.mask],
						    tk_load_relaxed_64(&l->newest[slot[0].aux]));
				tk_store_release_64(&l->newest[slot[0].aux], s);
			}
			l->indexed++;
			total++;
		}
	}
	return total;
}

static void *tka__index_thread(void *arg)
{
	struct tka_index *ix = arg;
	int64_t idle_ns = 0;

	/* Bars close at most a few times a second per symbol: a backing-off
	 * poll (up to 1 ms asleep) costs nothing and keeps the index that close
	 * behind the engine. */
	while (!ix->stop) {
		if (tka_index_poll(ix) > 0) {
			idle_ns = 0;
			continue;
		}
		idle_ns = idle_ns == 0 ? 20000 : idle_ns * 2;
		if (idle_ns > 1000000)
			idle_ns = 1000000;
		tk_sleep_ns(idle_ns);
	}
	return NULL;
}

int tka_index_start(struct tka_index *ix)
{
	int rc = pthread_create(&ix->thread, NULL, tka__index_thread, ix);

	if (rc != 0)
		return tk_err_set(-rc, "api: cannot start the index thread: %s", strerror(rc));
	ix->running = true;
	return 0;
}

uint64_t tka_index_walk(const struct tka_index *ix, unsigned li, int32_t sym, tka_walk_fn fn,
			void *ctx)
{
	const struct tka_logidx *l = &ix->log[li];
	struct tk_slot slot[4];
	uint64_t s, oldest = 0;

	if (li >= ix->n || l->r.slot_size > sizeof(slot))
		return 0;
	if (sym >= 0) {
		if ((uint32_t)sym >= l->nsymbols)
			return 0;
		s = tk_load_acquire_64(&l->newest[sym]);
	} else {
		s = tk_log_write_seq(l->r.log);
	}
	while (s != 0) {
		uint64_t prev = sym >= 0 ? tk_load_acquire_64(&l->prev[s & l->r.mask]) : s - 1;

		/* The copy checks the slot still holds s after the chain word was
		 * loaded: a lapped slot ends the walk. */
		if (!tk_log_read_at(&l->r, s, slot))
			break;
		if (sym >= 0 && (slot[0].aux != (uint32_t)sym || prev >= s))
			break;
		oldest = s;
		if (slot[0].type == l->type && fn(ctx, slot) != 0)
			break;
		s = prev;
	}
	return oldest;
}

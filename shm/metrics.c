/* Role metrics slots in the segment (metrics.h). */
#include "shm/metrics.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"

uint64_t tk_metrics_region_size(void)
{
	return (sizeof(struct tk_metrics_region) + 4095) & ~4095ull;
}

void tk_metrics_init(struct tk_metrics_region *r)
{
	memset(r, 0, sizeof(*r));
	r->magic = TK_METRICS_MAGIC;
	r->version = TK_METRICS_VERSION;
	r->nslots = TK_METRICS_SLOTS;
}

int tk_metrics_validate(const struct tk_metrics_region *r, uint64_t region_size)
{
	if (region_size < sizeof(*r) || r->magic != TK_METRICS_MAGIC ||
	    r->version != TK_METRICS_VERSION || r->nslots != TK_METRICS_SLOTS)
		return tk_err_set(EBADF, "the metrics region is corrupt or of another version");
	return 0;
}

struct tk_metrics_region *tk_metrics_of(const struct tk_segment *seg)
{
	return tk_segment_region(seg, TK_REGION_METRICS, "metrics", NULL);
}

/* A process that is gone (kill 0: ESRCH).  A slot's pid is display and
 * claim only: a pid reused by an unrelated process keeps the slot until it
 * too is gone, which costs a slot, never a wrong number. */
static int tk__gone(int32_t pid)
{
	return pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH);
}

struct tk_role_slot *tk_metrics_claim(struct tk_metrics_region *r, const char *role)
{
	int32_t me = (int32_t)getpid();
	int pass;
	uint32_t i;

	if (r == NULL)
		return NULL;
	/* Its own name first, then a free slot, then one whose owner is gone. */
	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < TK_METRICS_SLOTS; i++) {
			struct tk_role_slot *s = &r->slot[i];
			int32_t pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
			bool want = pass == 0 ? strncmp(s->role, role, sizeof(s->role)) == 0 && tk__gone(pid)
				  : pass == 1 ? pid == 0 : tk__gone(pid);

			if (!want || pid == me)
				continue;
			/* CAS: two processes claiming at once get different slots. */
			if (!__atomic_compare_exchange_n(&s->pid, &pid, me, false, __ATOMIC_ACQ_REL,
							 __ATOMIC_RELAXED))
				continue;
			s->nmetrics = 0;
			memset(s->labels, 0, sizeof(s->labels));
			memset(s->m, 0, sizeof(s->m));
			for (unsigned k = 0; k < TK_METRICS_HISTS; k++) {
				s->hist[k].used = 0;
				tk_hist_init(&s->hist[k].h);
			}
			snprintf(s->role, sizeof(s->role), "%s", role);
			s->started_ns = tk_wall_ns();
			return s;
		}
	}
	return NULL;
}

void tk_metric_label(struct tk_role_slot *s, uint32_t k, const char *value)
{
	if (k < 8)
		snprintf(s->labels[k], sizeof(s->labels[k]), "%s", value);
}

void tk_metric_define(struct tk_role_slot *s, uint32_t i, const char *name, uint32_t kind,
		      uint32_t label, const char *help)
{
	if (i >= TK_METRICS_PER_SLOT)
		return;
	snprintf(s->m[i].name, sizeof(s->m[i].name), "%s", name);
	snprintf(s->m[i].help, sizeof(s->m[i].help), "%s", help);
	s->m[i].kind = kind;
	s->m[i].label = label;
	s->m[i].value = 0;
	/* Release: a reader that sees the count sees the names. */
	if (i + 1 > s->nmetrics)
		__atomic_store_n(&s->nmetrics, i + 1, __ATOMIC_RELEASE);
}

void tk_metric_hist_define(struct tk_role_slot *s, uint32_t k, const char *name)
{
	if (k >= TK_METRICS_HISTS)
		return;
	snprintf(s->hist[k].name, sizeof(s->hist[k].name), "%s", name);
	__atomic_store_n(&s->hist[k].used, 1, __ATOMIC_RELEASE);
}

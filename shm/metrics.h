/*
 * Role metrics in the segment: one slot per role process (engine.<i>,
 * persist, kafka, api), claimed by name, written by that process alone with
 * plain relaxed stores of counters it owns, read by anyone (`/metrics`,
 * `tickd stats`) without disturbing it, as the feeds' slots are (feeds.h).
 * A slot names its metrics itself, so a reader renders them without
 * knowing the role: name, kind and help are written once at the claim.
 *
 * A restarted role claims its slot again: counters start from zero (as a
 * Prometheus counter may after a restart; `started_ns` says when).
 */
#ifndef TK_SHM_METRICS_H
#define TK_SHM_METRICS_H

#include <stdint.h>

#include "common/hist.h"
#include "shm/segment.h"

#define TK_METRICS_MAGIC 0x5352544d4b54ull /* "TKMTRS" */
#define TK_METRICS_VERSION 1u
#define TK_METRICS_SLOTS 40    /* role processes per segment */
#define TK_METRICS_PER_SLOT 64 /* values a role publishes */
#define TK_METRICS_HISTS 3     /* latency histograms a role publishes */

enum tk_metric_kind { TK_METRIC_COUNTER = 1, TK_METRIC_GAUGE = 2 };

struct tk_metric {
	char name[56];  /* Prometheus metric name, without the tickd_ prefix */
	uint32_t kind;  /* enum tk_metric_kind */
	uint32_t label; /* 0, or the index+1 of the label value (below) for name{log="..."} */
	double value;   /* relaxed 64-bit store by the owner */
	char help[56];
};
_Static_assert(sizeof(struct tk_metric) == 128, "a metric is two lines");

struct tk_metric_hist {
	char name[56]; /* Prometheus histogram name, seconds, without the tickd_ prefix */
	uint32_t used;
	uint32_t reserved;
	struct tk_hist h; /* nanoseconds; counts written by the owner (relaxed) */
};

struct tk_role_slot {
	int32_t pid;       /* 0: free; claimed by CAS */
	uint32_t nmetrics;
	int64_t started_ns; /* wall clock */
	char role[32];      /* "engine.0", "persist", "kafka", "api" */
	char labels[8][32]; /* label values metrics refer to (log names) */
	uint8_t pad[16];
	struct tk_metric m[TK_METRICS_PER_SLOT];
	struct tk_metric_hist hist[TK_METRICS_HISTS];
} __attribute__((aligned(64)));

struct tk_metrics_region {
	uint64_t magic;
	uint32_t version;
	uint32_t nslots;
	uint8_t pad[48];
	struct tk_role_slot slot[TK_METRICS_SLOTS];
};

uint64_t tk_metrics_region_size(void);
void tk_metrics_init(struct tk_metrics_region *r);
int tk_metrics_validate(const struct tk_metrics_region *r, uint64_t region_size);
struct tk_metrics_region *tk_metrics_of(const struct tk_segment *seg);

/*
 * Claim the slot of role for this process: the slot of the same name if
 * its owner is gone, else a free one, else the one of a process that is
 * gone.  Counters are cleared.  NULL when every slot belongs to a live
 * process (or the segment has no metrics region): the role then runs
 * without publishing.
 */
struct tk_role_slot *tk_metrics_claim(struct tk_metrics_region *r, const char *role);

/* Name metric i of s (once, after the claim); label 0 or a label index+1. */
void tk_metric_define(struct tk_role_slot *s, uint32_t i, const char *name, uint32_t kind,
		      uint32_t label, const char *help);
/* Label value k (0..7) of s. */
void tk_metric_label(struct tk_role_slot *s, uint32_t k, const char *value);
/* Name histogram k of s. */
void tk_metric_hist_define(struct tk_role_slot *s, uint32_t k, const char *name);

static inline void tk_metric_set(struct tk_role_slot *s, uint32_t i, double v)
{
	/* Relaxed: a counter a reader may see a moment old, never torn. */
	__atomic_store(&s->m[i].value, &v, __ATOMIC_RELAXED);
}

#endif

#include "shm/feeds.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"

uint64_t tk_feeds_region_size(void)
{
	return sizeof(struct tk_feeds_region);
}

void tk_feeds_init(struct tk_feeds_region *r)
{
	memset(r, 0, sizeof(*r));
	r->magic = TK_FEEDS_MAGIC;
	r->version = TK_FEEDS_VERSION;
	r->nslots = TK_FEEDS_MAX;
}

int tk_feeds_validate(const struct tk_feeds_region *r, uint64_t region_size)
{
	if (region_size < sizeof(*r) || r->magic != TK_FEEDS_MAGIC)
		return tk_err_set(EBADF, "feed metrics region is damaged");
	if (r->version != TK_FEEDS_VERSION || r->nslots != TK_FEEDS_MAX)
		return tk_err_set(EPROTO, "feed metrics region version %u with %u slots (this build: "
				  "%u, %u)", r->version, r->nslots, TK_FEEDS_VERSION, TK_FEEDS_MAX);
	return 0;
}

struct tk_feeds_region *tk_feeds_of(const struct tk_segment *seg)
{
	return tk_segment_region(seg, TK_REGION_FEEDS, "feeds", NULL);
}

struct tk_feed_stats *tk_feeds_claim(struct tk_feeds_region *r, uint32_t feed, const char *source,
				     const char *log)
{
	struct tk_feed_stats *s;

	if (r == NULL || feed >= TK_FEEDS_MAX)
		return NULL;
	s = &r->slot[feed];
	memset(s, 0, sizeof(*s));
	s->feed = feed;
	s->started_ns = tk_wall_ns();
	snprintf(s->source, sizeof(s->source), "%s", source);
	snprintf(s->log, sizeof(s->log), "%s", log);
	tk_hist_init(&s->parse_ns);
	__atomic_store_n(&s->pid, (int32_t)getpid(), __ATOMIC_RELEASE);
	return s;
}

/*
 * Subscriptions: requests to a feed through its control ring in the
 * segment (shm/ctlring.h), as `tickd subscribe` sends them.  The answer is
 * 202: the feed applies them on its live connection when it reads its
 * ring (and keeps them for its reconnects), so what was sent is not yet
 * what is subscribed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/body.h"
#include "common/json.h"
#include "shm/ctlring.h"
#include "shm/feeds.h"
#include "shm/symbol.h"

/* The feed of ?feed=N (default 0), which must be one that has run. */
static struct tk_ctl_region *tka__ring(struct tka_ctx *c, struct tka_req *r, uint64_t *feed,
				       struct tka_resp *o)
{
	const struct tk_feeds_region *fr = tk_feeds_of(&c->seg);
	struct tk_ctl_region *ring;

	if (tka_params_allow(r, "feed", o) < 0 ||
	    tka_param_u64(r, "feed", 0, TK_CTL_RINGS - 1, 0, feed, o) < 0)
		return NULL;
	if (fr == NULL || *feed >= TK_FEEDS_MAX || fr->slot[*feed].pid == 0) {
		tka_problem(o, 404, "feed", "no feed %llu has run on this segment",
			    (unsigned long long)*feed);
		return NULL;
	}
	if (!c->seg.readers_writable) {
		tka_problem(o, 503, NULL, "this API may not write the segment's control ring (its "
			    "file is read-only for this user)");
		return NULL;
	}
	ring = tk_ctl_ring(&c->seg, (uint32_t)*feed);
	if (ring == NULL)
		tka_problem(o, 503, NULL, "the segment has no control ring for feed %llu",
			    (unsigned long long)*feed);
	return ring;
}

static uint64_t tka__request_id(void)
{
	static uint64_t n;

	return ((uint64_t)getpid() << 32) | __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED);
}

/* Send one request; the outcome as a JSON array element. */
/* A refused item takes at most this much of its buffer (a 40-byte name
 * escaped, and the reason). */
#define TKA_REFUSED_ITEM 512

static void tka__send(struct tk_ctl_region *ring, uint32_t type, const char *symbol, size_t len,
		      struct tk_buf *sent, struct tk_buf *refused, unsigned *omitted)
{
	char name[TK_NAME_MAX], why[160];
	bool room = refused->cap - refused->len > TKA_REFUSED_ITEM;
	int rc;

	if (tk_symbol_check(symbol, len, why, sizeof(why)) < 0) {
		if (!room) {
			(*omitted)++; /* counted, not listed: the answer stays whole */
			return;
		}
		tk_buf_puts(refused, refused->len > 1 ? ",{\"symbol\":" : "{\"symbol\":");
		tk_json_str(refused, symbol, len > 40 ? 40 : len);
		tk_buf_puts(refused, ",\"reason\":");
		tk_json_str(refused, why, strlen(why));
		tk_buf_puts(refused, "}");
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)len, symbol);
	rc = tk_ctl_send(ring, type, name, tka__request_id());
	if (rc == 0) {
		tk_buf_puts(sent, sent->len > 1 ? "," : "");
		tk_json_str(sent, name, len);
		return;
	}
	if (!room) {
		(*omitted)++;
		return;
	}
	tk_buf_puts(refused, refused->len > 1 ? ",{\"symbol\":" : "{\"symbol\":");
	tk_json_str(refused, name, len);
	tk_buf_puts(refused, rc == -EAGAIN ? ",\"reason\":\"the feed's control ring is full (the "
				 "feed is not reading it): retry\"}"
			      : ",\"reason\":\"the feed's ring dropped the request: retry\"}");
}

static void tka__answer(struct tka_resp *o, const char *action, uint64_t feed,
			const struct tk_buf *sent, const struct tk_buf *refused, unsigned omitted,
			double interval)
{
	tka_json(o, 202);
	tk_buf_printf(&o->body, "{\"action\":\"%s\",\"feed\":%llu,\"sent\":[", action,
		      (unsigned long long)feed);
	tk_buf_put(&o->body, sent->p + 1, sent->len - 1);
	tk_buf_puts(&o->body, "],\"refused\":[");
	tk_buf_put(&o->body, refused->p + 1, refused->len - 1);
	tk_buf_puts(&o->body, "]");
	if (omitted > 0)
		tk_buf_printf(&o->body, ",\"refused_not_listed\":%u", omitted);
	if (interval > 0) {
		/* The pipeline's poller asked every `interval` s; tickd streams. */
		tk_buf_puts(&o->body, ",\"interval\":");
		tk_json_double(&o->body, interval);
		tk_buf_puts(&o->body, ",\"note\":\"tickd streams every trade: no polling interval "
				      "applies\"");
	}
	tk_buf_puts(&o->body, "}");
}

/* Writes are rare: their buffers come from the heap, not the stack. */
struct tka_sub_mem {
	struct tka_jobj obj;
	char scratch[TKA_BODY_MAX + 16];
	char sbuf[40 * 1024], rbuf[100 * 1024];
};

static void tka__subscribe(struct tka_req *r, struct tka_resp *o, struct tk_ctl_region *ring,
			   uint64_t feed, struct tka_sub_mem *m)
{
	struct tk_buf sent, refused;
	const struct tka_jfield *f, *iv;
	double interval = 0;
	unsigned i, k, omitted = 0;

	if (tka_body(r, true, &m->obj, m->scratch, sizeof(m->scratch), o) < 0)
		return;
	for (k = 0; k < m->obj.n; k++)
		if (strcmp(m->obj.f[k].name, "symbols") != 0 && strcmp(m->obj.f[k].name, "interval") != 0) {
			tka_problem(o, 400, NULL, "unknown key \"%.40s\" in the body (it takes symbols "
				    "and interval)", m->obj.f[k].name);
			return;
		}
	f = tka_jget(&m->obj, "symbols");
	if (f == NULL || f->type != TKA_J_ARR || f->nitems == 0) {
		tka_problem(o, 400, "symbols", "'symbols' must be a non-empty array of symbols");
		return;
	}
	if ((iv = tka_jget(&m->obj, "interval")) != NULL) {
		if (iv->type != TKA_J_NUM || !(iv->num > 0 && iv->num <= 86400)) {
			tka_problem(o, 400, "interval", "'interval' must be seconds above 0, at most 86400");
			return;
		}
		interval = iv->num;
	}
	tk_buf_init(&sent, m->sbuf, sizeof(m->sbuf));
	tk_buf_init(&refused, m->rbuf, sizeof(m->rbuf));
	tk_buf_puts(&sent, "[");
	tk_buf_puts(&refused, "[");
	for (i = 0; i < f->nitems; i++)
		tka__send(ring, TK_CTL_SUBSCRIBE, m->obj.items[f->first + i],
			  m->obj.item_len[f->first + i], &sent, &refused, &omitted);
	tka__answer(o, "subscribe", feed, &sent, &refused, omitted, interval);
}

void tka_post_subscriptions(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	struct tk_ctl_region *ring;
	struct tka_sub_mem *m;
	uint64_t feed;

	if ((ring = tka__ring(c, r, &feed, o)) == NULL)
		return;
	if ((m = malloc(sizeof(*m))) == NULL) {
		tka_problem(o, 503, NULL, "out of memory");
		return;
	}
	tka__subscribe(r, o, ring, feed, m);
	free(m);
}

void tka_delete_subscription(struct tka_ctx *c, struct tka_req *r, struct tka_resp *o)
{
	char sbuf[256], rbuf[TKA_REFUSED_ITEM + 64];
	struct tk_buf sent, refused;
	struct tk_ctl_region *ring;
	const char *symbol;
	uint64_t feed;

	if (tka_seg_symbol(r, 1, &symbol, o) < 0 || (ring = tka__ring(c, r, &feed, o)) == NULL)
		return;
	tk_buf_init(&sent, sbuf, sizeof(sbuf));
	tk_buf_init(&refused, rbuf, sizeof(rbuf));
	tk_buf_puts(&sent, "[");
	tk_buf_puts(&refused, "[");
	unsigned omitted = 0;

	tka__send(ring, TK_CTL_UNSUBSCRIBE, symbol, strlen(symbol), &sent, &refused, &omitted);
	tka__answer(o, "unsubscribe", feed, &sent, &refused, omitted, 0);
}

#include "shm/ctlring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "shm/atomic.h"
#include "shm/symbol.h"

static struct tk_ctl_msg *tk__slots(const struct tk_ctl_region *c)
{
	return (struct tk_ctl_msg *)((uint8_t *)c + sizeof(*c));
}

uint64_t tk_ctl_region_size(uint32_t nslots)
{
	return sizeof(struct tk_ctl_region) + (uint64_t)nslots * sizeof(struct tk_ctl_msg);
}

void tk_ctl_init(struct tk_ctl_region *c, uint32_t nslots)
{
	struct tk_ctl_msg *slots = tk__slots(c);
	uint32_t i;

	c->magic = TK_CTL_MAGIC;
	c->version = TK_CTL_VERSION;
	c->nslots = nslots;
	for (i = 0; i < nslots; i++)
		slots[i].seq = i;
}

int tk_ctl_validate(const struct tk_ctl_region *c, uint64_t region_size)
{
	if (c->magic != TK_CTL_MAGIC || c->version != TK_CTL_VERSION)
		return tk_err_set(EBADF, "control ring has a bad magic or version (corrupt segment)");
	if (c->nslots == 0 || (c->nslots & (c->nslots - 1)) != 0 ||
	    tk_ctl_region_size(c->nslots) > region_size)
		return tk_err_set(EBADF, "control ring geometry is inconsistent (corrupt segment)");
	return 0;
}

void tk_ctl_init_all(void *region, uint32_t nslots)
{
	uint32_t i;

	for (i = 0; i < TK_CTL_RINGS; i++)
		tk_ctl_init((struct tk_ctl_region *)((uint8_t *)region + i * tk_ctl_region_size(nslots)),
			    nslots);
}

int tk_ctl_validate_all(const void *region, uint64_t region_size)
{
	const struct tk_ctl_region *c = region;
	uint64_t ring;
	uint32_t i;
	int rc = tk_ctl_validate(c, region_size);

	if (rc < 0)
		return rc;
	ring = tk_ctl_region_size(c->nslots);
	if (ring * TK_CTL_RINGS > region_size)
		return tk_err_set(EBADF, "control region too small for its rings (corrupt segment)");
	for (i = 1; i < TK_CTL_RINGS; i++) {
		const struct tk_ctl_region *r = (const void *)((const uint8_t *)region + i * ring);

		rc = tk_ctl_validate(r, ring);
		if (rc == 0 && r->nslots != c->nslots)
			rc = tk_err_set(EBADF, "control rings differ in size (corrupt segment)");
		if (rc < 0)
			return rc;
	}
	return 0;
}

struct tk_ctl_region *tk_ctl_ring(const struct tk_segment *seg, uint32_t i)
{
	struct tk_ctl_region *c = tk_segment_region(seg, TK_REGION_CONTROL, NULL, NULL);

	if (c == NULL || i >= TK_CTL_RINGS)
		return NULL;
	return (struct tk_ctl_region *)((uint8_t *)c + i * tk_ctl_region_size(c->nslots));
}

struct tk_ctl_region *tk_ctl_of(const struct tk_segment *seg)
{
	return tk_ctl_ring(seg, 0);
}

static uint32_t tk__check(uint64_t pos, const struct tk_ctl_msg *m)
{
	const uint8_t *p = (const uint8_t *)&m->type;
	size_t n = offsetof(struct tk_ctl_msg, check) - offsetof(struct tk_ctl_msg, type);
	uint32_t h = 2166136261u ^ (uint32_t)pos ^ (uint32_t)(pos >> 32);
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	for (i = 0; i < sizeof(m->arg); i++)
		h = (h ^ (uint8_t)m->arg[i]) * 16777619u;
	return h;
}

static int tk__type_check(uint32_t type, char *why, size_t cap)
{
	if (type == TK_CTL_SUBSCRIBE || type == TK_CTL_UNSUBSCRIBE)
		return 0;
	if (why != NULL && cap > 0)
		snprintf(why, cap, "request type %u is not subscribe (%d) or unsubscribe (%d)", type,
			 TK_CTL_SUBSCRIBE, TK_CTL_UNSUBSCRIBE);
	return -EINVAL;
}

int tk_ctl_msg_check(const struct tk_ctl_msg *m, char *why, size_t cap)
{
	size_t len = strnlen(m->arg, sizeof(m->arg));
	char sw[96];

	if (tk__type_check(m->type, why, cap) < 0)
		return -EINVAL;
	if (len == sizeof(m->arg)) {
		if (why != NULL && cap > 0)
			snprintf(why, cap, "symbol fills its %zu bytes without a NUL", sizeof(m->arg));
		return -EINVAL;
	}
	if (tk_symbol_check(m->arg, len, sw, sizeof(sw)) < 0) {
		if (why != NULL && cap > 0)
			snprintf(why, cap, "symbol %s", sw);
		return -EINVAL;
	}
	return 0;
}

int tk_ctl_send(struct tk_ctl_region *c, uint32_t type, const char *arg, uint64_t id)
{
	size_t len = strlen(arg);
	char why[128];

	if (tk__type_check(type, why, sizeof(why)) < 0)
		return tk_err_set(EINVAL, "%s", why);
	if (tk_symbol_check(arg, len, why, sizeof(why)) < 0)
		return tk_err_set(EINVAL, "symbol %s", why);
	return tk__ctl_enqueue(c, type, arg, len, id);
}

int tk__ctl_enqueue(struct tk_ctl_region *c, uint32_t type, const char *arg, size_t len,
		    uint64_t id)
{
	struct tk_ctl_msg *slots = tk__slots(c);
	uint64_t mask = c->nslots - 1;
	/* Relaxed: a starting guess; the slot word (acquire) and the CAS decide. */
	uint64_t pos = tk_load_relaxed_64(&c->enqueue_pos);
	struct tk_ctl_msg *m;

	if (len > sizeof(m->arg))
		return -EINVAL;
	for (;;) {
		int64_t dif;

		m = &slots[pos & mask];
		/* Acquire: pairs with the consumer's release that freed the slot. */
		dif = (int64_t)(tk_load_acquire_64(&m->seq) - pos);
		if (dif == 0) {
			/* Full-barrier CAS: one producer claims pos. */
			if (tk_cas_64(&c->enqueue_pos, pos, pos + 1))
				break;
			pos = tk_load_relaxed_64(&c->enqueue_pos); /* retry from the new guess */
		} else if (dif < 0) {
			return -EAGAIN;
		} else {
			pos = tk_load_relaxed_64(&c->enqueue_pos); /* as above */
		}
	}
	m->type = type;
	m->pid = (int32_t)getpid();
	m->id = id;
	m->reserved = 0;
	memset(m->arg, 0, sizeof(m->arg));
	memcpy(m->arg, arg, len);
	m->check = tk__check(pos, m);
	/* Full-barrier CAS: the content is visible before the slot reads as
	 * published; fails if the consumer abandoned this slot meanwhile. */
	if (!tk_cas_64(&m->seq, pos, pos + 1))
		return -ETIMEDOUT;
	return 0;
}

int tk_ctl_recv(struct tk_ctl_region *c, struct tk_ctl_msg *out, int64_t now_ns)
{
	static _Thread_local uint64_t stuck_pos = UINT64_MAX;
	static _Thread_local int64_t stuck_since;
	struct tk_ctl_msg *slots = tk__slots(c);
	uint64_t pos = c->dequeue_pos;
	struct tk_ctl_msg *m = &slots[pos & (c->nslots - 1)];
	/* Acquire: pairs with the producer's publishing CAS. */
	uint64_t seq = tk_load_acquire_64(&m->seq);

	if (seq == pos + 1) {
		bool ok;

		memcpy(out, m, sizeof(*out));
		ok = tk__check(pos, out) == out->check;
		/* Release: done reading before the slot is free for pos + nslots. */
		tk_store_release_64(&m->seq, pos + c->nslots);
		c->dequeue_pos = pos + 1;
		if (!ok) {
			c->rejected++;
			return -EBADMSG;
		}
		c->consumed++;
		return 1;
	}
	/* Claimed (enqueue_pos moved past us) but not published. */
	/* Relaxed: only to tell "claimed" from "empty"; the CAS below decides. */
	if (seq == pos && tk_load_relaxed_64(&c->enqueue_pos) > pos) {
		if (stuck_pos != pos) {
			stuck_pos = pos;
			stuck_since = now_ns;
		} else if (now_ns - stuck_since >= TK_CTL_ABANDON_NS && /* full-barrier CAS vs publish */
			   tk_cas_64(&m->seq, pos, pos + c->nslots)) {
			c->dequeue_pos = pos + 1;
			c->abandoned++;
			return tk_ctl_recv(c, out, now_ns);
		}
	}
	return 0;
}

/*
 * The control ring: requests from any process to one consumer (for example
 * "subscribe AAPL" from the API or the command line to the feed).  Many
 * producers, one consumer.
 *
 * DESIGN.  A bounded queue with a sequence word per slot (after Vyukov):
 * a producer claims position p by a CAS on the enqueue counter once it sees
 * the slot free for p, fills the slot, then publishes it with a CAS of the
 * slot word from p to p + 1.  The consumer takes p when the word reads
 * p + 1 and frees the slot for p + nslots.  Unlike ck_ring's MPSC, a
 * producer that dies between claim and publish cannot wedge the ring: the
 * consumer abandons a claimed slot that stays unpublished for a second
 * (CAS p -> p + nslots, counted), and a late producer's publishing CAS then
 * fails, so it learns its request was dropped.  Every message carries a
 * checksum over its position and content, so a message scribbled on by
 * such a late producer is rejected and counted, not acted on.
 *
 * The ring is writable by every process that may attach the segment, so
 * its consumer trusts nothing it reads: tk_ctl_send refuses a request that
 * tk_ctl_msg_check would refuse, and the consumer checks every message it
 * takes with tk_ctl_msg_check (a producer need not be libtickd's).
 */
#ifndef TK_SHM_CTLRING_H
#define TK_SHM_CTLRING_H

#include <stddef.h>
#include <stdint.h>

#include "shm/segment.h"

#define TK_CTL_MAGIC 0x4c5254434b54ull /* "TKCTRL" */
#define TK_CTL_VERSION 1u
#define TK_CTL_ABANDON_NS (1000 * 1000 * 1000LL)
#define TK_CTL_RINGS 16 /* the control region holds one ring per feed id */

enum tk_ctl_type {
	TK_CTL_SUBSCRIBE = 1,
	TK_CTL_UNSUBSCRIBE = 2,
};

struct tk_ctl_msg {
	uint64_t seq; /* slot word: p free for p, p + 1 published for p */
	uint32_t type;
	int32_t pid;        /* requester */
	uint64_t id;        /* requester's own request id */
	uint32_t check;     /* checksum of position and content */
	uint32_t reserved;
	char arg[TK_NAME_MAX];
};
_Static_assert(sizeof(struct tk_ctl_msg) == 64, "control message is one cache line");

struct tk_ctl_region {
	uint64_t magic;
	uint32_t version;
	uint32_t nslots;
	uint8_t pad0[48];
	uint64_t enqueue_pos; /* CAS by producers */
	uint8_t pad1[56];
	uint64_t dequeue_pos; /* the consumer's */
	uint64_t consumed;
	uint64_t abandoned; /* claimed slots a dead or stuck producer never published */
	uint64_t rejected;  /* messages failing their checksum */
	uint8_t pad2[32];
	/* struct tk_ctl_msg slots[nslots]; */
} __attribute__((aligned(64)));

/* One ring; the control region is TK_CTL_RINGS of them back to back. */
uint64_t tk_ctl_region_size(uint32_t nslots);
void tk_ctl_init(struct tk_ctl_region *c, uint32_t nslots);
int tk_ctl_validate(const struct tk_ctl_region *c, uint64_t region_size);
/* The whole region: every ring. */
void tk_ctl_init_all(void *region, uint32_t nslots);
int tk_ctl_validate_all(const void *region, uint64_t region_size);
/* Ring i (the requests for feed i); tk_ctl_of is ring 0. */
struct tk_ctl_region *tk_ctl_ring(const struct tk_segment *seg, uint32_t i);
struct tk_ctl_region *tk_ctl_of(const struct tk_segment *seg);

/*
 * Enqueue a request.  Any process with the control ring mapped writable.
 * Returns 0, -EAGAIN (ring full: the consumer is not draining), -EINVAL (a
 * type that is not enum tk_ctl_type, or an arg that is not a valid symbol,
 * shm/symbol.h; tk_err_msg says why, without quoting arg), or -ETIMEDOUT
 * (this producer was descheduled so long between claim and publish that the
 * consumer abandoned the slot).
 */
int tk_ctl_send(struct tk_ctl_region *c, uint32_t type, const char *arg, uint64_t id);

/*
 * Would a consumer act on this message?  0, or -EINVAL with why (may be
 * NULL): an unknown type, an arg that fills its field without a NUL, or an
 * arg that is not a valid symbol (shm/symbol.h).  Pure.
 */
int tk_ctl_msg_check(const struct tk_ctl_msg *m, char *why, size_t cap);

/* tk_ctl_send without its checks: arg's len bytes (at most TK_NAME_MAX, not
 * NUL-terminated when it is) go into the slot as they are.  For tests that
 * play a producer which is not libtickd; nothing else calls it. */
int tk__ctl_enqueue(struct tk_ctl_region *c, uint32_t type, const char *arg, size_t len,
		    uint64_t id);

/*
 * Dequeue the next request into *out.  The single consumer only.
 * Returns 1 (a message), 0 (none), -EBADMSG (a message failed its checksum;
 * it was dropped and counted: call again).  `now_ns` (monotonic) times the
 * abandonment of claimed-but-unpublished slots.
 */
int tk_ctl_recv(struct tk_ctl_region *c, struct tk_ctl_msg *out, int64_t now_ns);

#endif

/* Token buckets per client address (ratelimit.h). */
#include "api/ratelimit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool tka_bucket_take(struct tka_bucket *b, double rate, double burst, int64_t now_ns,
		     uint64_t *remaining, uint64_t *reset_s, uint64_t *retry_s)
{
	bool ok;

	if (b->last_ns == 0) {
		b->tokens = burst;
	} else if (now_ns > b->last_ns) {
		b->tokens += (double)(now_ns - b->last_ns) * 1e-9 * rate;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last_ns = now_ns > 0 ? now_ns : 1;
	ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	*remaining = (uint64_t)floor(b->tokens);
	*reset_s = (uint64_t)ceil((burst - b->tokens) / rate);
	*retry_s = ok ? 0 : (uint64_t)ceil((1.0 - b->tokens) / rate);
	return ok;
}

int tka_limiter_init(struct tka_limiter *l, double rate, double burst, bool loopback)
{
	unsigned i;

	memset(l, 0, sizeof(*l));
	l->rate = rate;
	l->burst = burst >= 1 ? burst : 1;
	l->loopback = loopback;
	if (rate <= 0)
		return 0;
	l->slot = calloc(TKA_RL_SLOTS, sizeof(*l->slot));
	if (l->slot == NULL)
		return -ENOMEM;
	for (i = 0; i < TKA_RL_LOCKS; i++)
		pthread_mutex_init(&l->lock[i], NULL);
	return 0;
}

void tka_limiter_free(struct tka_limiter *l)
{
	free(l->slot);
	l->slot = NULL;
}

int tka_addr_key(const char *addr, uint8_t key[16], bool *is_loopback)
{
	struct in_addr v4;
	struct in6_addr v6;

	memset(key, 0, 16);
	if (inet_pton(AF_INET, addr, &v4) == 1) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &v4, 4);
		*is_loopback = key[12] == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &v6) == 1) {
		memcpy(key, &v6, 16);
		*is_loopback = IN6_IS_ADDR_LOOPBACK(&v6) ||
			       (IN6_IS_ADDR_V4MAPPED(&v6) && key[12] == 127);
		return 0;
	}
	return -EINVAL;
}

static uint64_t tka__hash(const uint8_t key[16])
{
	uint64_t h = 1469598103934665603ull;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 1099511628211ull;
	return h;
}

int tka_limiter_take(struct tka_limiter *l, const char *addr, int64_t now_ns, uint64_t *remaining,
		     uint64_t *reset_s, uint64_t *retry_s)
{
	uint8_t key[16];
	bool loop;
	uint64_t h;
	unsigned i, lk, pick = 0;
	int64_t oldest = INT64_MAX;
	int rc;

	if (l->rate <= 0)
		return -1;
	if (tka_addr_key(addr, key, &loop) < 0)
		memset(key, 0, sizeof(key)); /* an address we cannot read shares one bucket */
	else if (loop && !l->loopback)
		return -1;
	h = tka__hash(key);
	/* Eight slots per address, all under one lock. */
	lk = (unsigned)(h % TKA_RL_LOCKS);
	h = h / TKA_RL_LOCKS * TKA_RL_LOCKS % TKA_RL_SLOTS; /* slots whose lock is lk */
	pthread_mutex_lock(&l->lock[lk]);
	for (i = 0; i < 8; i++) {
		struct tka_bucket *b = &l->slot[(h + (uint64_t)i * TKA_RL_LOCKS + lk) % TKA_RL_SLOTS];

		if (b->last_ns != 0 && memcmp(b->key, key, 16) == 0) {
			pick = i;
			goto found;
		}
		if (b->last_ns < oldest) {
			oldest = b->last_ns;
			pick = i;
		}
	}
	/* Not there: take the free or longest idle of the eight. */
	{
		struct tka_bucket *b = &l->slot[(h + (uint64_t)pick * TKA_RL_LOCKS + lk) % TKA_RL_SLOTS];

		memset(b, 0, sizeof(*b));
		memcpy(b->key, key, 16);
	}
found:
	rc = tka_bucket_take(&l->slot[(h + (uint64_t)pick * TKA_RL_LOCKS + lk) % TKA_RL_SLOTS], l->rate,
			     l->burst, now_ns, remaining, reset_s, retry_s);
	pthread_mutex_unlock(&l->lock[lk]);
	if (!rc)
		__atomic_add_fetch(&l->limited, 1, __ATOMIC_RELAXED);
	return rc;
}

/*
 * Rate limiting per client address: a token bucket each (rate tokens a
 * second, at most burst), kept in a fixed table.  An address not seen for
 * a while gives its entry up to a new one; a table full of active
 * addresses evicts the longest idle of the few it probes, so a flood of
 * addresses cannot grow memory.  Loopback clients are exempt unless asked
 * (the dashboards and tools on the host itself).
 *
 * Answers follow the IETF draft's header fields: RateLimit-Limit,
 * RateLimit-Remaining, RateLimit-Reset (seconds until the bucket is full
 * again), and on a refusal 429 with Retry-After (seconds until a token).
 */
#ifndef TK_API_RATELIMIT_H
#define TK_API_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct tka_bucket {
	double tokens;
	int64_t last_ns; /* when tokens was computed; 0: free entry */
	uint8_t key[16]; /* the address: IPv4 mapped into IPv6 */
};

/* Take one token from b at now_ns (rate per second, burst at most): true if
 * there was one.  *remaining: whole tokens left; *reset_s: seconds until
 * full; *retry_s: seconds until the next token (when refused).  Pure. */
bool tka_bucket_take(struct tka_bucket *b, double rate, double burst, int64_t now_ns,
		     uint64_t *remaining, uint64_t *reset_s, uint64_t *retry_s);

#define TKA_RL_SLOTS 8192
#define TKA_RL_LOCKS 64

struct tka_limiter {
	double rate, burst; /* rate 0: off */
	bool loopback;      /* limit loopback clients too */
	struct tka_bucket *slot; /* [TKA_RL_SLOTS] */
	pthread_mutex_t lock[TKA_RL_LOCKS];
	uint64_t limited;   /* requests refused (relaxed atomics) */
};

int tka_limiter_init(struct tka_limiter *l, double rate, double burst, bool loopback);
void tka_limiter_free(struct tka_limiter *l);

/* Parse a textual address (as the server reports it) into a 16-byte key;
 * *is_loopback set.  0, or -EINVAL. */
int tka_addr_key(const char *addr, uint8_t key[16], bool *is_loopback);

/* One request from addr: 1 allowed, 0 refused (429), -1 not limited (off,
 * or exempt loopback).  The header values as tka_bucket_take gives them. */
int tka_limiter_take(struct tka_limiter *l, const char *addr, int64_t now_ns, uint64_t *remaining,
		     uint64_t *reset_s, uint64_t *retry_s);

#endif

/*
 * What the broker already holds of ours: before a (re)started publisher
 * sends anything, for every partition of every topic it writes, the largest
 * tickd.seq each of its sources (tickd.src "<source>/<log>") has there.
 * Idempotence does not cover a new producer (a new producer id), so a
 * record past the committed cursor may already be on the broker: it is
 * skipped when its sequence is at most that partition's maximum (within a
 * partition a source's messages are in sequence order: one producer,
 * idempotent, no local timeout).
 *
 * Each partition is read from its end backwards, in chunks that double,
 * until every source that writes the topic has been seen there, or the
 * partition's start, or max_messages (then what lies further back is taken
 * to hold none of ours, and said).
 */
#ifndef TK_KAFKA_READBACK_H
#define TK_KAFKA_READBACK_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

struct tkk_rb_topic {
	const char *name;
	int32_t partitions;
	uint64_t srcmask; /* which of the sources write it (bit i: srcs[i]) */
};

struct tkk_rb_opts {
	const char *const *conf; /* "name=value" pairs for the consumer (bootstrap.servers ...) */
	uint32_t nconf;
	const char *group;       /* its group.id (librdkafka's assign() needs one; nothing is committed) */
	uint32_t chunk;          /* messages read first from each partition's end */
	uint64_t max_messages;   /* at most this far back */
	bool (*give_up)(void);   /* true: stop waiting (returns -EINTR); NULL: never */
};

struct tkk_rb_stats {
	uint64_t messages;  /* read */
	uint64_t ours;      /* of which ours */
	uint32_t rounds;
	uint32_t capped;    /* partitions given up at max_messages */
};

/*
 * Fill maxseq[(t * max_partitions + p) * nsrcs + s] (0: none of source s in
 * partition p of topic t).  Waits for the brokers as long as it takes
 * (logging every few seconds), until give_up() says so.  0, or -errno with a message.
 */
int tkk_readback(const struct tkk_rb_opts *o, const struct tkk_rb_topic *topics, uint32_t ntopics,
		 int32_t max_partitions, const char *const *srcs, uint32_t nsrcs, uint64_t *maxseq,
		 struct tkk_rb_stats *st);

#endif

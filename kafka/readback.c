/* What the broker holds of ours past the cursor (readback.h). */
#include "kafka/readback.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"
#include "kafka/conf.h"
#include "kafka/message.h"

struct tkk__part {
	uint64_t found;  /* sources seen in this partition */
	uint64_t count;  /* messages read this round */
	bool done, eof, in_round;
};

static rd_kafka_t *tkk__consumer(const struct tkk_rb_opts *o)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	rd_kafka_t *rk;

	if (tkk_conf_apply(conf, o->conf, o->nconf) < 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	if (tkk_conf_set(conf, "group.id", o->group) < 0 ||
	    tkk_conf_set(conf, "enable.auto.commit", "false") < 0 ||
	    tkk_conf_set(conf, "enable.auto.offset.store", "false") < 0 ||
	    tkk_conf_set(conf, "enable.partition.eof", "true") < 0 ||
	    tkk_conf_set(conf, "auto.offset.reset", "earliest") < 0 ||
	    /* Every partition must answer its end soon: a fetch may not wait
	     * half a second for data that nobody is writing. */
	    tkk_conf_set(conf, "fetch.wait.max.ms", "10") < 0 ||
	    /* A tail longer than what the partition still holds resets to its
	     * start, with a warning each time: expected here, not logged. */
	    tkk_conf_set(conf, "log_level", "3") < 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (rk == NULL) {
		tk_err_set(-EINVAL, "kafka: cannot make the read-back consumer: %s", err);
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	return rk;
}

static int tkk__src_of(const rd_kafka_message_t *m, const char *const *srcs, uint32_t nsrcs,
		       uint64_t *seq)
{
	rd_kafka_headers_t *h = NULL;
	const void *v;
	size_t n;
	uint32_t s;

	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR || h == NULL)
		return -1;
	if (rd_kafka_header_get_last(h, "tickd.src", &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return -1;
	for (s = 0; s < nsrcs; s++)
		if (strlen(srcs[s]) == n && memcmp(srcs[s], v, n) == 0)
			break;
	if (s == nsrcs)
		return -1;
	if (rd_kafka_header_get_last(h, "tickd.seq", &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    tkk_parse_u64(v, n, seq) < 0)
		return -1;
	return (int)s;
}

int tkk_readback(const struct tkk_rb_opts *o, const struct tkk_rb_topic *topics, uint32_t ntopics,
		 int32_t max_partitions, const char *const *srcs, uint32_t nsrcs, uint64_t *maxseq,
		 struct tkk_rb_stats *st)
{
	size_t nidx = (size_t)ntopics * (size_t)max_partitions;
	struct tkk__part *part = calloc(nidx > 0 ? nidx : 1, sizeof(*part));
	rd_kafka_t *rk = NULL;
	uint32_t round, t;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	memset(maxseq, 0, nidx * nsrcs * sizeof(*maxseq));
	if (part == NULL)
		return tk_err_set(-ENOMEM, "kafka: read-back: out of memory");
	if (nsrcs > 64) {
		free(part);
		return tk_err_set(-EINVAL, "kafka: read-back: more than 64 sources");
	}
	rk = tkk__consumer(o);
	if (rk == NULL) {
		free(part);
		return -EINVAL;
	}
	for (t = 0; t < ntopics; t++) {
		int32_t p;

		for (p = 0; p < max_partitions; p++)
			part[(size_t)t * max_partitions + p].done =
				p >= topics[t].partitions || topics[t].srcmask == 0;
	}
	for (round = 0;; round++) {
		uint64_t want = (uint64_t)o->chunk << (round < 40 ? round : 40);
		rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
		rd_kafka_resp_err_t err;
		int64_t last_say = tk_mono_ns();
		int pending;
		size_t i;

		if (want > o->max_messages)
			want = o->max_messages;
		for (i = 0; i < nidx; i++) {
			struct tkk__part *q = &part[i];

			q->in_round = !q->done;
			q->count = 0;
			q->eof = false;
			if (!q->done)
				rd_kafka_topic_partition_list_add(list, topics[i / max_partitions].name,
								  (int32_t)(i % max_partitions))
					->offset = RD_KAFKA_OFFSET_TAIL((int64_t)want);
		}
		pending = list->cnt;
		if (pending == 0) {
			rd_kafka_topic_partition_list_destroy(list);
			break;
		}
		st->rounds++;
		err = rd_kafka_assign(rk, list);
		rd_kafka_topic_partition_list_destroy(list);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			rc = tk_err_set(-EIO, "kafka: read-back: assign: %s", rd_kafka_err2str(err));
			goto out;
		}
		while (pending > 0) {
			rd_kafka_message_t *m;
			int64_t now;

			if (o->give_up != NULL && o->give_up()) {
				rc = tk_err_set(-EINTR, "kafka: read-back stopped");
				goto out;
			}
			m = rd_kafka_consumer_poll(rk, 200);
			now = tk_mono_ns();
			if (m == NULL) {
				if (now - last_say > 5000000000LL) {
					tk_warn("kafka: reading back what the brokers hold: %d partitions "
						"still to reach their end (brokers down?)",
						pending);
					last_say = now;
				}
				continue;
			}
			for (t = 0; t < ntopics && m->rkt != NULL; t++)
				if (strcmp(rd_kafka_topic_name(m->rkt), topics[t].name) == 0)
					break;
			if (m->rkt == NULL || t == ntopics || m->partition < 0 ||
			    m->partition >= max_partitions) {
				if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && now - last_say > 5000000000LL) {
					tk_warn("kafka: read-back: %s", rd_kafka_message_errstr(m));
					last_say = now;
				}
				rd_kafka_message_destroy(m);
				continue;
			}
			{
				size_t idx = (size_t)t * max_partitions + (size_t)m->partition;
				struct tkk__part *q = &part[idx];

				if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
					if (q->in_round && !q->eof) {
						q->eof = true;
						pending--;
					}
				} else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
					if (now - last_say > 5000000000LL) {
						tk_warn("kafka: read-back of %s [%d]: %s", topics[t].name,
							(int)m->partition, rd_kafka_message_errstr(m));
						last_say = now;
					}
				} else if (q->in_round && !q->eof) {
					uint64_t seq;
					int s = tkk__src_of(m, srcs, nsrcs, &seq);

					q->count++;
					st->messages++;
					if (s >= 0) {
						uint64_t *x = &maxseq[idx * nsrcs + (size_t)s];

						st->ours++;
						q->found |= 1ull << s;
						if (seq > *x)
							*x = seq;
					}
				}
			}
			rd_kafka_message_destroy(m);
		}
		rd_kafka_assign(rk, NULL);
		for (i = 0; i < nidx; i++) {
			struct tkk__part *q = &part[i];
			const struct tkk_rb_topic *tp = &topics[i / max_partitions];

			if (!q->in_round)
				continue;
			if ((q->found & tp->srcmask) == tp->srcmask || q->count < want) {
				q->done = true; /* every source seen, or the whole partition read */
			} else if (want >= o->max_messages) {
				q->done = true;
				st->capped++;
				tk_warn("kafka: read-back of %s [%d] stopped %" PRIu64 " messages from its "
					"end without seeing every source of ours: taken to hold none "
					"further back",
					tp->name, (int)(i % max_partitions), want);
			}
		}
	}
out:
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	free(part);
	return rc;
}

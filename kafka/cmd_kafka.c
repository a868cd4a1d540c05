/*
 * tickd kafka: the publisher.  A gating reader of every tick log, bar log
 * and the signal log whose cursor moves only over records whose every
 * message came back delivered (DESIGN.md, Readers): the shared-memory log
 * is the buffer, nothing times out locally, and a full producer queue stops
 * the reading, never a record.
 *
 *   session: make an idempotent producer, learn the topics' partitions,
 *            read back what the brokers hold of ours past the cursors
 *   loop:    read records, produce their messages (explicit partitions:
 *            Java's murmur2 of the key), poll delivery reports, move each
 *            cursor to its first record not all delivered
 *   a fatal error or a failed delivery ends the session: the producer is
 *   flushed and destroyed, the readers go back to their cursors, and a new
 *   session reads back again, so what got through is not sent twice
 *   on SIGTERM: read the logs to their end, wait for the reports, commit
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "common/json.h"
#include "common/msg.h"
#include "common/opts.h"
#include "kafka/cmd.h"
#include "kafka/conf.h"
#include "kafka/message.h"
#include "kafka/readback.h"
#include "kafka/window.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/metrics.h"
#include "shm/records.h"
#include "shm/symtab.h"

#define TKK_READER "kafka"
#define TKK_MAX_TOPICS (TK_SEG_MAX_LOGS + 3)
#define TKK_MAX_PARTITIONS 4096
#define TKK_MAX_CONF 64
#define TKK_SLOT_MAX 4096
#define TKK_DRAIN_NS (20 * 1000000000LL)
#define TKK_SEQ_BITS 48

static volatile sig_atomic_t tkk__stop, tkk__fatal;
static volatile int64_t tkk__stop_ns;

/* SIGUSR1: a fatal producer error, made by librdkafka itself
 * (rd_kafka_test_fatal_error): how the tests show that one is survived. */
static void on_usr1(int sig)
{
	(void)sig;
	tkk__fatal = 1;
}

static void on_signal(int sig)
{
	(void)sig;
	if (!tkk__stop)
		tkk__stop_ns = tk_mono_ns(); /* clock_gettime: async-signal-safe */
	tkk__stop = 1;
}

/* A stop sends what the logs hold first; past the drain time it gives up
 * (what is not delivered stays in the log for the next start). */
static bool tkk__give_up(void)
{
	return tkk__stop && tk_mono_ns() - tkk__stop_ns > TKK_DRAIN_NS;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd kafka [options]\n"
		"The publisher: a gating reader of every tick log, bar log and signal log that\n"
		"sends each record to Kafka exactly once (idempotent producer, nothing timed out\n"
		"locally, what the brokers hold read back at every start), its cursor moving only\n"
		"over delivered records.\n\n"
		"  --kafka SERVERS        bootstrap servers host:port,... (env\n"
		"                         KAFKA_BOOTSTRAP_SERVERS, KAFKA_BROKER; required)\n"
		"  --topic-trades T       raw trades, heartbeats on every partition (env\n"
		"                         KAFKA_TOPIC; market.trades.raw)\n"
		"  --topic-bars-prefix P  bars.<tf> go to P<tf> (market.bars.)\n"
		"  --topic-signals T      (market.signals)\n"
		"  --topic-gaps T         the feeds' gap events (market.gaps)\n"
		"  --trades-format F      tickd (the data contract's JSON, default) or finnhub\n"
		"                         ({\"data\":[{\"s\",\"p\",\"t\",\"v\",\"c\"}],\"type\":\"trade\"})\n"
		"  --source-id ID         names this publisher's records (tickd.src header\n"
		"                         ID/<log>; default the host name)\n"
		"  --compression C        none, gzip, snappy, lz4 (default) or zstd\n"
		"  --linger-ms MS         batching delay (default 5)\n"
		"  --window N             records in flight per log (default 65536)\n"
		"  --property NAME=VALUE  any librdkafka setting (repeat, or ';' between them)\n"
		"  --readback-max N       messages read back per partition at most (default\n"
		"                         1000000)\n"
		"  --policy hold|release  hold: the feed waits for a stalled publisher (default);\n"
		"                         release: after --release-after seconds it goes on\n"
		"  --release-after S      (default 5)\n"
		"  --idle KIND            backoff (default), spin or block\n"
		"  --shm-path PATH        segment file (default $TICKD_SHM_PATH or /dev/shm/tickd)\n"
		"SIGUSR1 makes librdkafka raise a fatal error (rd_kafka_test_fatal_error): the\n"
		"session restarts and reads back, as after a real one.\n");
}

struct tkk_topic {
	char name[256];
	int32_t partitions;
	rd_kafka_topic_t *rkt;
	uint64_t srcmask;
};

struct tkk_in {
	struct tk_log_reader r;
	int kind;
	uint32_t topic;     /* its main topic */
	uint32_t gaps;      /* a tick log's gap topic */
	uint32_t src;       /* its index among the sources */
	char srcname[160];
	struct tkk_window win;
	uint64_t committed;
	int64_t clock;      /* largest event time before r.next (ns), INT64_MIN none */
	/* A record whose messages did not all go in (a full queue): the rest
	 * goes first next time. */
	bool held;
	uint32_t held_part; /* the next partition of a heartbeat's copies */
	int64_t held_clock;
	uint8_t slot[TKK_SLOT_MAX];
	uint64_t lapped;
	bool maybe_sent; /* something past the cursor may be on the brokers: read back */
};

struct tkk_role {
	const char *bootstrap, *source_id, *compression;
	const char *conf[TKK_MAX_CONF];
	uint32_t nconf;
	int linger_ms;
	uint32_t window;
	uint64_t readback_max;
	enum tkk_format format;
	struct tkk_topic topic[TKK_MAX_TOPICS];
	uint32_t ntopics;
	struct tkk_in in[TK_SEG_MAX_LOGS];
	uint32_t nin;
	const char *srcs[TK_SEG_MAX_LOGS];
	uint64_t *maxseq;
	struct tk_symtab_region *symbols;
	rd_kafka_t *rk;
	uint8_t gen;        /* the session: reports of an older one are ignored */
	bool broken;        /* this session must end (fatal error, failed delivery) */
	char broken_why[640];
	/* counters */
	uint64_t produced, delivered, skipped, queue_full, failed, sessions;
	struct tk_role_slot *metrics; /* role "kafka" in the segment */
};

enum { TKK_M_PRODUCED, TKK_M_DELIVERED, TKK_M_SKIPPED, TKK_M_QUEUE_FULL, TKK_M_FAILED,
       TKK_M_SESSIONS };

static void tkk__metrics(struct tkk_role *k, const struct tk_segment *seg)
{
	struct tk_role_slot *s = tk_metrics_claim(tk_metrics_of(seg), "kafka");

	k->metrics = s;
	if (s == NULL)
		return;
	tk_metric_define(s, TKK_M_PRODUCED, "kafka_produced_total", TK_METRIC_COUNTER, 0,
			 "messages handed to librdkafka");
	tk_metric_define(s, TKK_M_DELIVERED, "kafka_delivered_total", TK_METRIC_COUNTER, 0,
			 "messages the brokers acknowledged");
	tk_metric_define(s, TKK_M_SKIPPED, "kafka_skipped_total", TK_METRIC_COUNTER, 0,
			 "records the brokers already held (read back)");
	tk_metric_define(s, TKK_M_QUEUE_FULL, "kafka_queue_full_total", TK_METRIC_COUNTER, 0,
			 "times librdkafka's queue was full");
	tk_metric_define(s, TKK_M_FAILED, "kafka_failed_total", TK_METRIC_COUNTER, 0,
			 "messages whose delivery failed (sent again)");
	tk_metric_define(s, TKK_M_SESSIONS, "kafka_sessions_total", TK_METRIC_COUNTER, 0,
			 "producer sessions started");
}

static void tkk__publish(const struct tkk_role *k)
{
	struct tk_role_slot *s = k->metrics;

	if (s == NULL)
		return;
	tk_metric_set(s, TKK_M_PRODUCED, (double)k->produced);
	tk_metric_set(s, TKK_M_DELIVERED, (double)k->delivered);
	tk_metric_set(s, TKK_M_SKIPPED, (double)k->skipped);
	tk_metric_set(s, TKK_M_QUEUE_FULL, (double)k->queue_full);
	tk_metric_set(s, TKK_M_FAILED, (double)k->failed);
	tk_metric_set(s, TKK_M_SESSIONS, (double)k->sessions);
}

static uint32_t tkk__topic(struct tkk_role *k, const char *name)
{
	uint32_t t;

	for (t = 0; t < k->ntopics; t++)
		if (strcmp(k->topic[t].name, name) == 0)
			return t;
	if (strlen(name) >= sizeof(k->topic[t].name) || name[0] == '\0')
		tk_opt_fail("--topic-*", "'%s': topic names are 1 to 255 bytes", name);
	memcpy(k->topic[t].name, name, strlen(name) + 1);
	k->ntopics++;
	return t;
}

static void tkk__dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct tkk_role *k = opaque;
	uint64_t op = (uint64_t)(uintptr_t)m->_private;
	uint32_t i = (uint32_t)(op >> 56);
	uint8_t gen = (uint8_t)(op >> TKK_SEQ_BITS);
	uint64_t seq = op & ((1ull << TKK_SEQ_BITS) - 1);

	(void)rk;
	if (gen != k->gen || i >= k->nin)
		return;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
		    m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
			k->failed++;
		if (!k->broken)
			snprintf(k->broken_why, sizeof(k->broken_why),
				 "a delivery to %s [%d] failed: %s", rd_kafka_topic_name(m->rkt),
				 (int)m->partition, rd_kafka_err2str(m->err));
		k->broken = true;
		return;
	}
	k->delivered++;
	tkk_window_ack(&k->in[i].win, seq);
}

static void tkk__error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct tkk_role *k = opaque;
	static int64_t last_say;
	char fatal[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		if (!k->broken)
			snprintf(k->broken_why, sizeof(k->broken_why), "fatal error: %s", fatal);
		k->broken = true;
		return;
	}
	/* Brokers down, a connection refused: librdkafka retries; the log
	 * holds what waits.  Said every few seconds, not per attempt. */
	if (tk_mono_ns() - last_say > 5000000000LL) {
		tk_warn("kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
		last_say = tk_mono_ns();
	}
}

/* The settings both the producer and the read-back consumer take. */
static int tkk__conf_common(const struct tkk_role *k, const char **pairs, uint32_t *n, char *mem,
			    size_t cap)
{
	int len = snprintf(mem, cap, "bootstrap.servers=%s", k->bootstrap);
	uint32_t i;

	if (len < 0 || (size_t)len >= cap)
		return tk_err_set(-EINVAL, "kafka: bootstrap servers too long");
	pairs[0] = mem;
	*n = 1;
	for (i = 0; i < k->nconf && *n < TKK_MAX_CONF; i++)
		pairs[(*n)++] = k->conf[i];
	return 0;
}

static rd_kafka_t *tkk__producer(struct tkk_role *k)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	char err[512], linger[16];
	rd_kafka_t *rk;

	snprintf(linger, sizeof(linger), "%d", k->linger_ms);
	if (tkk_conf_set(c, "bootstrap.servers", k->bootstrap) < 0 ||
	    tkk_conf_set(c, "enable.idempotence", "true") < 0 ||
	    /* The log is the buffer: a message never expires here (0: never). */
	    tkk_conf_set(c, "message.timeout.ms", "0") < 0 ||
	    /* A permanent error to a partition would leave a hole that later
	     * messages to it fill past: fatal instead (a new session reads back;
	     * the skip rule needs each partition without holes). */
	    tkk_conf_set(c, "enable.gapless.guarantee", "true") < 0 ||
	    tkk_conf_set(c, "compression.codec", k->compression) < 0 ||
	    tkk_conf_set(c, "linger.ms", linger) < 0)
		goto bad;
	/* (tkk__add_properties refused the settings exactly once rests on.) */
	if (tkk_conf_apply(c, k->conf, k->nconf) < 0)
		goto bad;
	rd_kafka_conf_set_dr_msg_cb(c, tkk__dr);
	rd_kafka_conf_set_error_cb(c, tkk__error);
	rd_kafka_conf_set_opaque(c, k);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
	if (rk == NULL)
		tk_err_set(-EINVAL, "kafka: cannot make the producer: %s", err);
	return rk;
bad:
	rd_kafka_conf_destroy(c);
	return NULL;
}

/* Every topic's partition count (waiting for the brokers and for topics
 * that do not exist yet). */
static int tkk__partitions(struct tkk_role *k)
{
	int64_t last_say = 0;
	uint32_t t;

	for (t = 0; t < k->ntopics; t++) {
		struct tkk_topic *tp = &k->topic[t];
		int32_t before = tp->partitions;

		if (tp->srcmask == 0)
			continue; /* nobody here writes it: not asked about, not auto-created */
		tp->rkt = rd_kafka_topic_new(k->rk, tp->name, NULL);
		if (tp->rkt == NULL)
			return tk_err_set(-EINVAL, "kafka: topic %s: %s", tp->name,
					  rd_kafka_err2str(rd_kafka_last_error()));
		for (;;) {
			const struct rd_kafka_metadata *md = NULL;
			rd_kafka_resp_err_t err;

			if (tkk__give_up())
				return tk_err_set(-EINTR, "kafka: stopped");
			err = rd_kafka_metadata(k->rk, 0, tp->rkt, &md, 2000);
			if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
			    md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
			    md->topics[0].partition_cnt > 0) {
				tp->partitions = md->topics[0].partition_cnt;
				rd_kafka_metadata_destroy(md);
				break;
			}
			if (tk_mono_ns() - last_say > 5000000000LL) {
				tk_warn("kafka: waiting for topic %s: %s", tp->name,
					err != RD_KAFKA_RESP_ERR_NO_ERROR
						? rd_kafka_err2str(err)
						: md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err)
								     : "no metadata");
				last_say = tk_mono_ns();
			}
			if (md != NULL)
				rd_kafka_metadata_destroy(md);
			tk_sleep_ns(200000000LL);
		}
		if (tp->partitions > TKK_MAX_PARTITIONS)
			return tk_err_set(-EINVAL, "kafka: topic %s has %d partitions, more than %d",
					  tp->name, tp->partitions, TKK_MAX_PARTITIONS);
		/* More partitions would move keys (a symbol's trades split across
		 * two partitions, records skipped or sent twice): not followed. */
		if (before != 0 && tp->partitions != before) {
			int32_t now = tp->partitions;

			tp->partitions = before;
			return tk_err_set(-EINVAL, "kafka: topic %s went from %d to %d partitions: "
					  "restart tickd kafka to follow (keys move)",
					  tp->name, before, now);
		}
	}
	return 0;
}

/* The stream clock before the cursor: the largest event time of what the
 * ring still holds before it (older records are gone; see the README). */
static int64_t tkk__clock_before(struct tkk_in *p, uint64_t seq)
{
	struct tk_log_reader r = p->r;
	uint64_t from = tk_log_oldest(p->r.log);

	/* An anonymous follower's copy: a lap while it reads below the cursor
	 * must not touch the registered slot (its counters, its cursor). */
	r.slot = NULL;
	r.gating = false;
	int64_t clock = INT64_MIN;
	uint8_t slot[TKK_SLOT_MAX];

	r.next = from;
	while (r.next < seq) {
		const struct tk_slot *s = (const void *)slot;
		int st = tk_log_read(&r, (struct tk_slot *)slot);
		int64_t t;

		if (st == TK_LOG_LAPPED)
			continue;
		if (st != TK_LOG_OK)
			break;
		t = tkk_event_ns(s->type, s->data, r.slot_size - 16);
		if (t != INT64_MIN && t > clock)
			clock = t;
	}
	return clock;
}

static int tkk__session_start(struct tkk_role *k)
{
	const char *pairs[TKK_MAX_CONF];
	char mem[1024], group[256];
	struct tkk_rb_opts ro = { 0 };
	struct tkk_rb_topic rbt[TKK_MAX_TOPICS];
	struct tkk_rb_stats st;
	uint32_t t, i;
	uint64_t need = 0;
	int64_t t0 = tk_mono_ns();
	int rc;

	k->gen++;
	k->broken = false;
	k->broken_why[0] = '\0';
	k->sessions++;
	k->rk = tkk__producer(k);
	if (k->rk == NULL)
		return -EINVAL;
	rc = tkk__partitions(k);
	if (rc < 0)
		return rc;
	free(k->maxseq);
	k->maxseq = calloc((size_t)k->ntopics * TKK_MAX_PARTITIONS * k->nin, sizeof(uint64_t));
	if (k->maxseq == NULL)
		return tk_err_set(-ENOMEM, "kafka: out of memory");
	/* Only a log that an earlier process (its cursor existed) or an earlier
	 * session may have sent records of past its cursor: a new segment's logs
	 * hold nothing of theirs on the brokers, and their sources would be
	 * looked for down every partition. */
	for (i = 0; i < k->nin; i++)
		if (k->in[i].maybe_sent)
			need |= 1ull << i;
	for (t = 0; t < k->ntopics; t++) {
		rbt[t].name = k->topic[t].name;
		rbt[t].partitions = k->topic[t].partitions;
		rbt[t].srcmask = k->topic[t].srcmask & need;
	}
	rc = tkk__conf_common(k, pairs, &ro.nconf, mem, sizeof(mem));
	if (rc < 0)
		return rc;
	snprintf(group, sizeof(group), "tickd-readback.%s", k->source_id);
	ro.conf = pairs;
	ro.group = group;
	ro.chunk = 1024;
	ro.max_messages = k->readback_max;
	ro.give_up = tkk__give_up;
	memset(&st, 0, sizeof(st));
	if (need != 0) {
		rc = tkk_readback(&ro, rbt, k->ntopics, TKK_MAX_PARTITIONS, k->srcs, k->nin,
				  k->maxseq, &st);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < k->nin; i++) {
		struct tkk_in *p = &k->in[i];

		p->r.next = p->committed;
		p->held = false;
		tkk_window_reset(&p->win, p->committed);
		p->clock = tkk__clock_before(p, p->committed);
	}
	tk_info("kafka: session %" PRIu64 ": %u topics, read back %" PRIu64 " messages (%" PRIu64
		" ours) in %u rounds, %.1f ms",
		k->sessions, k->ntopics, st.messages, st.ours, st.rounds,
		(double)(tk_mono_ns() - t0) / 1e6);
	return 0;
}

/* Ends the session: what was delivered counts, the rest is read again. */
static void tkk__session_end(struct tkk_role *k, int flush_ms)
{
	uint32_t i, t;

	if (k->rk == NULL)
		return;
	/* What is queued but not sent goes (it is read again); what is in
	 * flight gets its real answer, for up to flush_ms: a request the
	 * brokers are still committing must not land after the next read-back. */
	rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE);
	rd_kafka_flush(k->rk, flush_ms); /* what gets through counts */
	if (rd_kafka_outq_len(k->rk) > 0)
		tk_warn("kafka: %d requests still in flight after %.1f s: given up (a record among "
			"them that the brokers commit later may arrive twice)",
			rd_kafka_outq_len(k->rk), flush_ms / 1e3);
	k->gen++; /* reports after this are of a dead session */
	rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_poll(k->rk, 0);
	for (t = 0; t < k->ntopics; t++)
		if (k->topic[t].rkt != NULL) {
			rd_kafka_topic_destroy(k->topic[t].rkt);
			k->topic[t].rkt = NULL;
		}
	rd_kafka_destroy(k->rk);
	k->rk = NULL;
	for (i = 0; i < k->nin; i++) {
		struct tkk_in *p = &k->in[i];

		p->committed = tkk_window_advance(&p->win) > p->committed ? p->win.base : p->committed;
		tk_log_reader_commit_at(&p->r, p->committed);
	}
}

/* A record's messages: made once, sent once per partition (a heartbeat's
 * copies share everything but the partition). */
struct tkk_msg {
	const char *key, *val;
	size_t klen, vlen;
	int64_t ts_ms;
	uint64_t seq;
	bool clock;            /* the trades topic: tickd.clock and tickd.ts too */
	char seqs[24], clks[24], tss[24];
};

/* Produce one message; false on a full queue (try again later). */
static bool tkk__send(struct tkk_role *k, struct tkk_in *p, uint32_t ti, int32_t part,
		      const struct tkk_msg *m)
{
	struct tkk_topic *tp = &k->topic[ti];
	uint64_t op = (uint64_t)(p - k->in) << 56 | (uint64_t)k->gen << TKK_SEQ_BITS |
		      (m->seq & ((1ull << TKK_SEQ_BITS) - 1));
	rd_kafka_resp_err_t err;

	if (m->clock)
		err = rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(tp->rkt), RD_KAFKA_V_PARTITION(part),
					RD_KAFKA_V_KEY(m->key, m->klen),
					RD_KAFKA_V_VALUE((void *)m->val, m->vlen),
					RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					RD_KAFKA_V_TIMESTAMP(m->ts_ms),
					RD_KAFKA_V_HEADER("tickd.src", p->srcname, -1),
					RD_KAFKA_V_HEADER("tickd.seq", m->seqs, -1),
					RD_KAFKA_V_HEADER("tickd.clock", m->clks, -1),
					RD_KAFKA_V_HEADER("tickd.ts", m->tss, -1),
					RD_KAFKA_V_OPAQUE((void *)(uintptr_t)op), RD_KAFKA_V_END);
	else
		err = rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(tp->rkt), RD_KAFKA_V_PARTITION(part),
					RD_KAFKA_V_KEY(m->key, m->klen),
					RD_KAFKA_V_VALUE((void *)m->val, m->vlen),
					RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					RD_KAFKA_V_TIMESTAMP(m->ts_ms),
					RD_KAFKA_V_HEADER("tickd.src", p->srcname, -1),
					RD_KAFKA_V_HEADER("tickd.seq", m->seqs, -1),
					RD_KAFKA_V_OPAQUE((void *)(uintptr_t)op), RD_KAFKA_V_END);
	if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
		k->queue_full++;
		return false;
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		/* _FATAL, or a setting the broker refuses: the session ends
		 * before anything after this record goes out. */
		if (!k->broken)
			snprintf(k->broken_why, sizeof(k->broken_why), "produce to %s: %s", tp->name,
				 rd_kafka_err2str(err));
		k->broken = true;
		return false;
	}
	k->produced++;
	p->maybe_sent = true;
	return true;
}

static bool tkk__have(const struct tkk_role *k, uint32_t ti, int32_t part, uint32_t src,
		      uint64_t seq)
{
	return k->maxseq[((size_t)ti * TKK_MAX_PARTITIONS + (size_t)part) * k->nin + src] >= seq;
}

/*
 * Send the messages of the record in p->slot, from p->held_part on.  The
 * window counts only the messages produced (those the broker already has
 * are skipped).  Returns false when the queue is full (p->held stays).
 */
static bool tkk__record(struct tkk_role *k, struct tkk_in *p)
{
	const struct tk_slot *s = (const void *)p->slot;
	size_t dlen = p->r.slot_size - 16;
	struct tkk_route rt = tkk_route_of(p->kind, s->type);
	bool symbolic = s->type == TK_REC_TICK || s->type == TK_REC_BAR || s->type == TK_REC_SIGNAL;
	int64_t e = tkk_event_ns(s->type, s->data, dlen);
	char val[4096], keyb[48];
	const char *name;
	struct tkk_msg m;
	struct tk_buf b;
	uint32_t ti;
	int32_t part, nparts;

	if (!p->held) {
		/* One count for the record itself until all its messages are in:
		 * the cursor must not pass a record held by a full queue. */
		if (tkk_window_add(&p->win, 1) < 0)
			return false; /* cannot happen: the caller checked room */
		p->held = true;
		p->held_part = 0;
		p->held_clock = p->clock;
	}
	if (rt.skip)
		goto done;
	ti = rt.topic == TKK_GAPS ? p->gaps : p->topic;
	/* Trades, bars and signals are keyed by their symbol; a heartbeat or a
	 * gap names no symbol: its log's name. */
	name = symbolic ? tk_symtab_name(k->symbols, (int32_t)s->aux) : NULL;
	if (!symbolic) {
		m.key = p->r.log->name;
	} else if (name != NULL) {
		m.key = name;
	} else {
		snprintf(keyb, sizeof(keyb), "#%u", s->aux);
		m.key = keyb;
	}
	tk_buf_init(&b, val, sizeof(val));
	tkk_value(&b, rt.topic == TKK_TRADES ? k->format : TKK_FMT_TICKD, s->seq, s->type, s->aux,
		  s->data, dlen, name);
	if (b.overflow) {
		/* Never published cut: the session ends, the record waits. */
		snprintf(k->broken_why, sizeof(k->broken_why), "%s: record %" PRIu64 " renders "
			 "longer than %zu bytes", p->r.log->name, s->seq, sizeof(val));
		k->broken = true;
		return false;
	}
	m.klen = strlen(m.key);
	m.val = b.p;
	m.vlen = b.len;
	m.ts_ms = tkk_timestamp_ms(e);
	m.seq = s->seq;
	m.clock = p->kind == TKK_TRADES && ti == p->topic;
	tk_fmt_u64(m.seqs, s->seq);
	if (m.clock) {
		tk_fmt_i64(m.clks, p->held_clock == INT64_MIN ? 0 : p->held_clock);
		tk_fmt_i64(m.tss, e == INT64_MIN ? 0 : e);
	}
	nparts = k->topic[ti].partitions;
	for (part = (int32_t)p->held_part; part < nparts; part++) {
		int32_t dest = rt.all_partitions ? part : tkk_partition_of(m.key, m.klen, nparts);

		if (!tkk__have(k, ti, dest, p->src, s->seq)) {
			/* Counted before it is produced: its report may come in the
			 * next poll, never before this returns. */
			p->win.left[s->seq & (p->win.cap - 1)]++;
			if (!tkk__send(k, p, ti, dest, &m)) {
				p->win.left[s->seq & (p->win.cap - 1)]--;
				p->held_part = (uint32_t)part;
				return false;
			}
		} else {
			k->skipped++;
		}
		if (!rt.all_partitions)
			break;
	}
done:
	if (e != INT64_MIN && e > p->clock)
		p->clock = e;
	p->win.left[s->seq & (p->win.cap - 1)]--; /* the record's own count */
	p->held = false;
	return true;
}

/* Read and produce what fits; the records handed over. */
static uint64_t tkk__pump(struct tkk_role *k)
{
	uint64_t total = 0;
	uint32_t i;

	for (i = 0; i < k->nin && !k->broken; i++) {
		struct tkk_in *p = &k->in[i];
		uint32_t n = 0;

		while (n < 4096 && !k->broken) {
			if (!p->held) {
				int st;

				if (tkk_window_full(&p->win))
					break;
				st = tk_log_read(&p->r, (struct tk_slot *)p->slot);
				if (st == TK_LOG_LAPPED) {
					/* Released (policy release) and overwritten: gone before
					 * it could be sent.  The window jumps with the reader. */
					p->lapped += p->r.gap_to - p->r.gap_from;
					tk_warn("kafka: %s: sequences %" PRIu64 " to %" PRIu64
						" were overwritten before they were sent",
						p->r.log->name, p->r.gap_from, p->r.gap_to - 1);
					if (p->win.next == p->win.base)
						tkk_window_reset(&p->win, p->r.next);
					continue;
				}
				if (st != TK_LOG_OK)
					break;
				if (p->win.next != ((const struct tk_slot *)p->slot)->seq) {
					/* A lap while records were in flight: the gap is
					 * counted; the window cannot skip ahead of them, so
					 * wait for them and read on from here later. */
					p->r.next = ((const struct tk_slot *)p->slot)->seq;
					if (p->win.next == p->win.base)
						tkk_window_reset(&p->win, p->r.next);
					break;
				}
			}
			if (!tkk__record(k, p))
				break;
			n++;
		}
		total += n;
	}
	return total;
}

static void tkk__commit(struct tkk_role *k)
{
	uint32_t i;

	for (i = 0; i < k->nin; i++) {
		struct tkk_in *p = &k->in[i];
		uint64_t b = tkk_window_advance(&p->win);

		if (b > p->committed &&
		    (p->r.slot == NULL || b > tk_load_acquire_64(&p->r.slot->cursor))) {
			tk_log_reader_commit_at(&p->r, b);
			p->committed = b;
		}
	}
}

static bool tkk__inflight(const struct tkk_role *k)
{
	uint32_t i;

	for (i = 0; i < k->nin; i++)
		if (k->in[i].win.next != k->in[i].win.base || k->in[i].held)
			return true;
	return false;
}

/* What exactly once rests on: not to be changed by --property. */
static const char *const tkk__fixed[] = {
	"enable.idempotence", "message.timeout.ms", "delivery.timeout.ms", "acks",
	"request.required.acks", "enable.gapless.guarantee", "retries", "message.send.max.retries",
	"queuing.strategy", "max.in.flight", "max.in.flight.requests.per.connection",
	"bootstrap.servers", "metadata.broker.list", "group.id", "enable.auto.commit",
	"enable.partition.eof", "auto.offset.reset", NULL
};

static void tkk__add_properties(struct tkk_role *k, char *list)
{
	char *save = NULL, *tok;
	int i;

	for (tok = strtok_r(list, ";", &save); tok != NULL; tok = strtok_r(NULL, ";", &save)) {
		while (*tok == ' ')
			tok++;
		if (*tok == '\0')
			continue;
		if (k->nconf == TKK_MAX_CONF)
			tk_opt_fail("--property", "more than %d properties", TKK_MAX_CONF);
		if (strchr(tok, '=') == NULL || tok[0] == '=')
			tk_opt_fail("--property", "'%s' is not NAME=VALUE", tok);
		for (i = 0; tkk__fixed[i] != NULL; i++)
			if (strncmp(tok, tkk__fixed[i], strlen(tkk__fixed[i])) == 0 &&
			    tok[strlen(tkk__fixed[i])] == '=')
				tk_opt_fail("--property", "%s is fixed: exactly once rests on it", tkk__fixed[i]);
		k->conf[k->nconf++] = tok;
	}
}

int tk_cmd_kafka(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kafka", required_argument, 0, 'k' },
		{ "topic-trades", required_argument, 0, 'T' },
		{ "topic-bars-prefix", required_argument, 0, 'B' },
		{ "topic-signals", required_argument, 0, 'S' },
		{ "topic-gaps", required_argument, 0, 'G' },
		{ "trades-format", required_argument, 0, 'F' },
		{ "source-id", required_argument, 0, 'i' },
		{ "compression", required_argument, 0, 'z' },
		{ "linger-ms", required_argument, 0, 'l' },
		{ "window", required_argument, 0, 'w' },
		{ "property", required_argument, 0, 'X' },
		{ "readback-max", required_argument, 0, 'M' },
		{ "policy", required_argument, 0, 'P' },
		{ "release-after", required_argument, 0, 'R' },
		{ "idle", required_argument, 0, 'I' },
		{ "shm-path", required_argument, 0, 'p' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	static struct tkk_role k;
	const char *path = tk_segment_default_path();
	const char *t_trades = "market.trades.raw", *t_bars = "market.bars.",
		   *t_signals = "market.signals", *t_gaps = "market.gaps";
	char host[128];
	struct tk_segment seg;
	struct tk_idle idle;
	enum tk_idle_kind idle_kind = TK_IDLE_BACKOFF;
	bool release = false;
	double release_after = 5;
	int64_t drain_until = 0, last_beat = 0, retry_at = 0, backoff_ns = 250000000LL;
	uint32_t i;
	int c, rc, status = 0;

	memset(&k, 0, sizeof(k));
	k.compression = "lz4";
	k.linger_ms = 5;
	k.window = 65536;
	k.readback_max = 1000000;
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "tickd");
	host[sizeof(host) - 1] = '\0';
	k.source_id = host;
	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': k.bootstrap = optarg; break;
		case 'T': t_trades = optarg; break;
		case 'B': t_bars = optarg; break;
		case 'S': t_signals = optarg; break;
		case 'G': t_gaps = optarg; break;
		case 'F':
			if (strcmp(optarg, "tickd") == 0)
				k.format = TKK_FMT_TICKD;
			else if (strcmp(optarg, "finnhub") == 0)
				k.format = TKK_FMT_FINNHUB;
			else
				tk_opt_fail("--trades-format", "'%s' is not tickd or finnhub", optarg);
			break;
		case 'i':
			if (optarg[0] == '\0' || strlen(optarg) > 100 || strchr(optarg, '/') != NULL)
				tk_opt_fail("--source-id", "'%s': 1 to 100 bytes, no '/'", optarg);
			k.source_id = optarg;
			break;
		case 'z': k.compression = optarg; break;
		case 'l': k.linger_ms = (int)tk_opt_u64("--linger-ms", optarg, 0, 900000); break;
		case 'w': k.window = (uint32_t)tk_opt_u64("--window", optarg, 16, 1u << 24); break;
		case 'X': tkk__add_properties(&k, optarg); break;
		case 'M': k.readback_max = tk_opt_u64("--readback-max", optarg, 1024, 1ull << 40); break;
		case 'P':
			if (strcmp(optarg, "hold") != 0 && strcmp(optarg, "release") != 0)
				tk_opt_fail("--policy", "'%s' is not hold or release", optarg);
			release = strcmp(optarg, "release") == 0;
			break;
		case 'R': release_after = tk_opt_double("--release-after", optarg, 0.01, 86400); break;
		case 'I':
			if (tk_idle_parse(optarg, &idle_kind) < 0)
				tk_opt_fail("--idle", "'%s' is not one of backoff, spin, block", optarg);
			break;
		case 'p': path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (k.bootstrap == NULL || k.bootstrap[0] == '\0')
		tk_opt_fail("--kafka", "no bootstrap servers (--kafka or KAFKA_BOOTSTRAP_SERVERS)");
	tk_msg_set_role("kafka");

	rc = tk_segment_attach(&seg, path, TK_ATTACH_READER);
	if (rc < 0) {
		tk_error("%s", tk_err_msg());
		return 1;
	}
	k.symbols = tk_symtab_of(&seg);
	tkk__metrics(&k, &seg);
	{
		uint32_t tt = tkk__topic(&k, t_trades), tg = tkk__topic(&k, t_gaps),
			 ts = tkk__topic(&k, t_signals);

		for (i = 0; i < seg.hdr->config.nlogs; i++) {
			const struct tk_log_spec *spec = &seg.hdr->config.logs[i];
			struct tk_reader_opts ro = { .name = TKK_READER, .gating = true };
			struct tkk_in *p = &k.in[k.nin];
			int kind = tkk_log_kind(spec->name);
			char tf[32], tn[256];

			if (kind < 0 || spec->slot_size > TKK_SLOT_MAX)
				continue;
			p->kind = kind;
			if (kind == TKK_TRADES) {
				p->topic = tt;
				p->gaps = tg;
				k.topic[tg].srcmask |= 1ull << k.nin;
			} else if (kind == TKK_SIGNALS) {
				p->topic = ts;
			} else {
				tkk_bars_tf(spec->name, tf, sizeof(tf));
				if (snprintf(tn, sizeof(tn), "%s%s", t_bars, tf) >= (int)sizeof(tn))
					tk_opt_fail("--topic-bars-prefix", "too long");
				p->topic = tkk__topic(&k, tn);
			}
			k.topic[p->topic].srcmask |= 1ull << k.nin;
			if (tkk_src_name(p->srcname, sizeof(p->srcname), k.source_id, spec->name,
					 (uint64_t)seg.hdr->created_ns) < 0)
				tk_opt_fail("--source-id", "too long");
			k.srcs[k.nin] = p->srcname;
			p->src = k.nin;
			ro.release_on_stall = release;
			ro.stall_ns = (int64_t)(release_after * 1e9);
			ro.start = TK_START_RESUME_OLDEST;
			rc = tk_log_reader_open(&p->r, &seg, spec->name, &ro);
			if (rc < 0) {
				tk_error("%s", tk_err_msg());
				status = 1;
				goto out;
			}
			p->committed = p->r.next;
			p->maybe_sent = p->r.resumed;
			if (tkk_window_init(&p->win, k.window, p->r.next) < 0) {
				tk_error("kafka: out of memory");
				status = 1;
				goto out;
			}
			tk_info("kafka: %s -> %s%s from sequence %" PRIu64 "%s", spec->name,
				k.topic[p->topic].name, kind == TKK_TRADES ? " (gaps too)" : "",
				p->r.next, p->r.resumed ? " (its cursor)" : " (the oldest there)");
			k.nin++;
		}
		(void)ts;
	}
	/* Topics nobody writes here (no signal log) are not asked about. */
	for (i = 0; i < k.ntopics; i++)
		if (k.topic[i].srcmask == 0)
			k.topic[i].partitions = 0;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_usr1);
	tk_idle_init(&idle, idle_kind);
	for (;;) {
		int64_t now = tk_mono_ns();
		uint64_t got;

		if (tkk__stop && drain_until == 0) {
			drain_until = now + TKK_DRAIN_NS;
			tk_info("stopping: sending what the logs hold, then exiting");
		}
		if (k.rk == NULL) {
			if (tkk__give_up())
				break;
			if (now < retry_at) {
				tk_sleep_ns(retry_at - now < 100000000LL ? retry_at - now : 100000000LL);
				continue;
			}
			rc = tkk__session_start(&k);
			if (rc < 0) {
				if (rc == -EINTR)
					break;
				tk_error("%s (trying again in %.1f s)", tk_err_msg(),
					 (double)backoff_ns / 1e9);
				tkk__session_end(&k, 0);
				retry_at = now + backoff_ns;
				backoff_ns = backoff_ns * 2 > 30000000000LL ? 30000000000LL : backoff_ns * 2;
				continue;
			}
		}
		if (tkk__fatal) {
			tkk__fatal = 0;
			tk_warn("kafka: SIGUSR1: a fatal producer error on purpose");
			rd_kafka_test_fatal_error(k.rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
						  "SIGUSR1");
		}
		got = tkk__pump(&k);
		rd_kafka_poll(k.rk, 0);
		tkk__commit(&k);
		if (k.broken) {
			tk_warn("kafka: %s: the producer is made again; the brokers are read back, so "
				"nothing is sent twice",
				k.broken_why);
			tkk__session_end(&k, 10000);
			retry_at = tk_mono_ns() + backoff_ns;
			backoff_ns = backoff_ns * 2 > 30000000000LL ? 30000000000LL : backoff_ns * 2;
			continue;
		}
		if (now - last_beat > 100000000LL) {
			for (i = 0; i < k.nin; i++)
				tk_log_reader_heartbeat(&k.in[i].r);
			tkk__publish(&k);
			last_beat = now;
			if (k.delivered > 0)
				backoff_ns = 250000000LL;
		}
		if (got > 0) {
			tk_idle_reset(&idle);
			continue;
		}
		if (drain_until != 0) {
			bool more = false;

			for (i = 0; i < k.nin; i++)
				more |= tk_log_readable(&k.in[i].r);
			if ((!more && !tkk__inflight(&k)) || now > drain_until)
				break;
		}
		if (tkk__inflight(&k)) {
			/* Reports to come, or a full queue: wait on librdkafka. */
			rd_kafka_poll(k.rk, 1);
			tkk__commit(&k);
			continue;
		}
		tk_idle_wait(&idle, k.nin > 0 ? &k.in[0].r : NULL, 10 * 1000 * 1000);
		rd_kafka_poll(k.rk, 0);
	}
out:
	tkk__session_end(&k, 5000);
	for (i = 0; i < k.nin; i++) {
		tk_log_reader_commit_at(&k.in[i].r, k.in[i].committed);
		k.in[i].r.next = k.in[i].committed; /* the close commits r.next */
		tk_log_reader_close(&k.in[i].r);
		tkk_window_free(&k.in[i].win);
	}
	tk_info("kafka: %" PRIu64 " messages delivered, %" PRIu64 " skipped (already on the "
		"brokers), %" PRIu64 " failed, %" PRIu64 " sessions",
		k.delivered, k.skipped, k.failed, k.sessions);
	free(k.maxseq);
	tk_segment_detach(&seg);
	return status;
}

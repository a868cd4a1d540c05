/*
 * bench/kafka's latency probe: a consumer on the other side of the broker.
 * For every trade message it receives, the time from the tick's arrival in
 * the segment (recv_ns, stamped by the feed as it wrote the tick) to the
 * message in this consumer's hands (the wall clock of the same host).  It
 * follows the tick log itself (a non-gating reader) to learn each seq's
 * recv_ns, so the message's tickd.seq header is all it needs.
 *
 * usage: kafka_e2e SEGMENT SERVERS TOPIC SECONDS
 * prints one JSON line: {"n":N,"p50_us":..,"p99_us":..,"p999_us":..,"max_us":..}
 *
 *        kafka_e2e wait SEGMENT SEQ
 * returns once the reader "kafka" of ticks.0 has a cursor past SEQ (every
 * record up to it delivered), looking every millisecond from one process:
 * the publish rounds' clock, which steals no CPU from the publisher.
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "kafka/message.h"
#include "shm/log.h"
#include "shm/records.h"
#include "shm/segment.h"

#define TABLE (1u << 20)

struct ent {
	uint64_t seq;
	int64_t recv_ns;
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
	char err[256];

	if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "kafka_e2e: %s=%s: %s\n", k, v, err);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	static struct ent table[TABLE];
	static uint8_t slot[4096];
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_partition_list_t *l;
	struct tk_reader_opts ro = { .start = TK_START_END };
	struct tk_log_reader r;
	struct tk_segment seg;
	rd_kafka_conf_t *conf;
	rd_kafka_topic_t *rkt;
	rd_kafka_t *rk;
	int64_t *lat, end;
	size_t n = 0, cap = 1u << 22;
	char err[512];
	int i, parts;

	if (argc == 4 && strcmp(argv[1], "wait") == 0) {
		uint64_t want = strtoull(argv[3], NULL, 10);
		struct tk_log_region *log;

		if (tk_segment_attach(&seg, argv[2], TK_ATTACH_READER) < 0 ||
		    (log = tk_log_find(&seg, "ticks.0")) == NULL)
			return 1;
		for (;;) {
			struct tk_reader_slot *rs = tk_log_readers(log);
			uint32_t j;

			for (j = 0; j < log->nreaders; j++)
				if (strcmp(rs[j].name, "kafka") == 0 &&
				    tk_load_acquire_64(&rs[j].cursor) > want)
					return 0;
			tk_sleep_ns(1000000);
		}
	}
	if (argc != 5) {
		fprintf(stderr, "usage: kafka_e2e SEGMENT SERVERS TOPIC SECONDS\n");
		return 2;
	}
	if (tk_segment_attach(&seg, argv[1], TK_ATTACH_READER) < 0 ||
	    tk_log_reader_open(&r, &seg, "ticks.0", &ro) < 0) {
		fprintf(stderr, "kafka_e2e: cannot follow ticks.0 of %s\n", argv[1]);
		return 1;
	}
	conf = rd_kafka_conf_new();
	set(conf, "bootstrap.servers", argv[2]);
	set(conf, "group.id", "tickd-bench-e2e");
	set(conf, "enable.auto.commit", "false");
	set(conf, "fetch.wait.max.ms", "1");
	set(conf, "fetch.error.backoff.ms", "1");
	if (getenv("E2E_CONSUMER_CONF") != NULL) { /* name=value;... for experiments */
		char buf[1024], *save = NULL, *tok;

		snprintf(buf, sizeof(buf), "%s", getenv("E2E_CONSUMER_CONF"));
		for (tok = strtok_r(buf, ";", &save); tok != NULL; tok = strtok_r(NULL, ";", &save)) {
			char *eq = strchr(tok, '=');

			if (eq != NULL) {
				*eq = '\0';
				set(conf, tok, eq + 1);
			}
		}
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (rk == NULL) {
		fprintf(stderr, "kafka_e2e: %s\n", err);
		return 1;
	}
	rd_kafka_poll_set_consumer(rk);
	rkt = rd_kafka_topic_new(rk, argv[3], NULL);
	if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    md->topic_cnt != 1 || md->topics[0].partition_cnt < 1) {
		fprintf(stderr, "kafka_e2e: no metadata for %s\n", argv[3]);
		return 1;
	}
	parts = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	l = rd_kafka_topic_partition_list_new(parts);
	for (i = 0; i < parts; i++)
		rd_kafka_topic_partition_list_add(l, argv[3], i)->offset = RD_KAFKA_OFFSET_END;
	rd_kafka_assign(rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	lat = malloc(cap * sizeof(*lat));
	end = tk_mono_ns() + (int64_t)(atof(argv[4]) * 1e9);
	/* Ready: the caller starts the feed now. */
	printf("ready\n");
	fflush(stdout);
	while (tk_mono_ns() < end) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1);
		int64_t now = tk_wall_ns();
		rd_kafka_headers_t *h = NULL;
		const void *v;
		size_t vn;
		uint64_t seq;

		/* What the segment holds by now: every message received was
		 * produced from a tick already there. */
		while (tk_log_read(&r, (struct tk_slot *)slot) == TK_LOG_OK) {
			const struct tk_slot *s = (const struct tk_slot *)slot;

			if (s->type == TK_REC_TICK) {
				struct tk_tick t;

				memcpy(&t, s->data, sizeof(t));
				table[s->seq & (TABLE - 1)].seq = s->seq;
				table[s->seq & (TABLE - 1)].recv_ns = t.recv_ns;
			}
		}
		if (m == NULL)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
		    rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
		    rd_kafka_header_get_last(h, "tickd.seq", &v, &vn) == RD_KAFKA_RESP_ERR_NO_ERROR &&
		    tkk_parse_u64(v, vn, &seq) == 0 && table[seq & (TABLE - 1)].seq == seq && n < cap)
			lat[n++] = now - table[seq & (TABLE - 1)].recv_ns;
		rd_kafka_message_destroy(m);
	}
	qsort(lat, n, sizeof(*lat), cmp_i64);
	if (n == 0) {
		printf("{\"n\":0}\n");
		return 1;
	}
	printf("{\"n\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}\n", n,
	       (double)lat[n / 2] / 1e3, (double)lat[(size_t)((double)n * 0.99)] / 1e3,
	       (double)lat[(size_t)((double)n * 0.999)] / 1e3, (double)lat[n - 1] / 1e3);
	rd_kafka_consumer_close(rk);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	tk_log_reader_close(&r);
	return 0;
}

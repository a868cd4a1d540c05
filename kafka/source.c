/* tickd feed --source kafka (source.h has the design). */
#include "kafka/source.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"
#include "feed/fh_parse.h"
#include "feed/resume.h"
#include "kafka/conf.h"
#include "kafka/message.h"
#include "shm/idle.h"
#include "shm/log.h"
#include "shm/records.h"
#include "shm/symtab.h"

#define TKK_RING 16384          /* parsed messages waiting per partition */
#define TKK_RING_PAUSE (TKK_RING - 2048) /* pause fetching a partition here */
#define TKK_COMMIT_NS (1000 * 1000 * 1000LL)

uint64_t tkk_pos(int32_t partition, int64_t offset, uint32_t index)
{
	if (index >= (1u << TKK_POS_INDEX_BITS))
		index = (1u << TKK_POS_INDEX_BITS) - 1;
	return (uint64_t)partition << (TKK_POS_OFFSET_BITS + TKK_POS_INDEX_BITS) |
	       ((uint64_t)offset & ((1ull << TKK_POS_OFFSET_BITS) - 1)) << TKK_POS_INDEX_BITS | index;
}

int32_t tkk_pos_partition(uint64_t pos)
{
	return (int32_t)(pos >> (TKK_POS_OFFSET_BITS + TKK_POS_INDEX_BITS));
}

int64_t tkk_pos_offset(uint64_t pos)
{
	return (int64_t)((pos >> TKK_POS_INDEX_BITS) & ((1ull << TKK_POS_OFFSET_BITS) - 1));
}

uint32_t tkk_pos_index(uint64_t pos)
{
	return (uint32_t)(pos & ((1u << TKK_POS_INDEX_BITS) - 1));
}

int tkk_src_parse(const void *v, size_t n, char *name, size_t cap, uint64_t *gen)
{
	const char *s = v, *at = NULL;
	uint64_t g = 0;
	size_t i;

	for (i = n; i > 0; i--)
		if (s[i - 1] == '@') {
			at = s + i - 1;
			break;
		}
	if (at == NULL || at == s || (size_t)(at - s) >= cap || at + 1 == s + n ||
	    (size_t)(s + n - at - 1) > 16)
		return -EINVAL;
	for (i = 0; i < (size_t)(s + n - at - 1); i++) {
		char c = at[1 + i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			return -EINVAL;
		g = g << 4 | (uint64_t)d;
	}
	for (i = 0; i < (size_t)(at - s); i++)
		if (s[i] <= ' ' || s[i] > '~')
			return -EINVAL; /* printable ASCII: a host name and a log name */
	memcpy(name, s, (size_t)(at - s));
	name[at - s] = '\0';
	*gen = g;
	return 0;
}

int tkk_partitions_parse(const char *list, int32_t nparts, int32_t *want, int32_t cap)
{
	int32_t n = 0, i;
	const char *p = list;

	if (strcmp(list, "all") == 0) {
		if (nparts > cap)
			return tk_err_set(-EINVAL, "--partitions: the topic has %d partitions, at most "
					  "%d can be followed", nparts, cap);
		for (i = 0; i < nparts; i++)
			want[n++] = i;
		return n;
	}
	while (*p != '\0') {
		char *end;
		long a = strtol(p, &end, 10), b;

		if (end == p || a < 0)
			return tk_err_set(-EINVAL, "--partitions: '%s' is not a list like 0,2,5-7", list);
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a)
				return tk_err_set(-EINVAL, "--partitions: bad range in '%s'", list);
		}
		if (b >= nparts)
			return tk_err_set(-EINVAL, "--partitions: the topic has %d partitions (0-%d), "
					  "not %ld", nparts, nparts - 1, b);
		for (; a <= b; a++) {
			for (i = 0; i < n; i++)
				if (want[i] == (int32_t)a)
					return tk_err_set(-EINVAL, "--partitions: %ld twice in '%s'", a,
							  list);
			if (n == cap)
				return tk_err_set(-EINVAL, "--partitions: more than %d", cap);
			want[n++] = (int32_t)a;
		}
		if (*end == ',')
			end++;
		else if (*end != '\0')
			return tk_err_set(-EINVAL, "--partitions: '%s' is not a list like 0,2,5-7", list);
		p = end;
	}
	if (n == 0)
		return tk_err_set(-EINVAL, "--partitions: empty");
	return n;
}

/* ------------------------------------------------------------ state */

/* A message of the followed source, parsed, waiting for the merge. */
struct tkk_rec {
	uint64_t gen, seq;
	int64_t offset;
	int64_t clock;  /* tickd.clock: the producer's stream clock before it */
	int64_t ts_ns;  /* the trade's time, or the heartbeat's clock */
	int64_t recv_ns;
	double price, size;
	uint32_t conditions;
	int32_t sym;    /* -1: a heartbeat */
	uint32_t hb_flags;
};

struct tkk_part {
	bool assigned, paused;
	bool merged;      /* its records up to the merge point are in this log: skip by key */
	bool fresh;       /* no message since it was assigned */
	int64_t handled;  /* highest offset written or dropped; -1 none */
	int64_t expect;   /* next offset expected; -1 unknown */
	int64_t recorded; /* from the scan-back: the last offset the log holds; -1 */
	int64_t resume_offset, resume_index; /* its message and the trade in it (re-read) */
	int64_t foreign_done; /* the last message without tickd headers written whole; -1 */
	struct tkk_rec *ring;
	uint32_t head, n;
};

struct tkk_src {
	const struct tkk_source_cfg *cfg;
	struct tk_feed_stats *stats;
	struct tk_feed_stats dummy;
	const volatile sig_atomic_t *stop;
	rd_kafka_t *rk;
	struct tk_log_writer w;
	struct tk_symtab_region *symtab;
	struct tk_fh_parser *parser;
	struct tk_fh_limits lim;
	struct tk_idle idle;
	uint64_t ident;         /* the stream identity in our heartbeats */
	int32_t nparts;         /* of the topic */
	struct tkk_part part[TKK_POS_MAX_PARTITIONS];
	/* the merge */
	bool ready;             /* the resume point is known */
	bool have_last;         /* last_gen/last_seq: the newest record written */
	uint64_t last_gen, last_seq;
	int32_t klast_part;     /* the partition whose re-read message gives it; -1 */
	int64_t klast_offset;
	int64_t clock;          /* the log's clock: largest event time written */
	bool begun;             /* our BEGIN heartbeat (or an earlier one of ours) is in */
	uint64_t hb_written;    /* heartbeats copied: picks the copy whose place is kept */
	bool follow_set;
	char follow[128];
	bool ended;
	bool ended_in_log;      /* the log's newest record of ours is an END heartbeat */
	enum { TKK_FOLLOW_ANY = 0, TKK_FOLLOW_TICKD, TKK_FOLLOW_FOREIGN } kind;
	int fatal;              /* exit status 2: a setting or a topic this feed cannot take */
	bool warned_other;
	int64_t next_commit;
	uint64_t foreign, other_source, stale;
};

/* ------------------------------------------------------------ writing */

/* One record into the log; false while the gate holds it (retry later). */
static bool tkk__put(struct tkk_src *k, uint32_t type, uint32_t aux, const void *d, uint32_t len)
{
	return tk_log_write(&k->w, type, aux, d, len) != TK_LOG_FULL;
}

static bool tkk__heartbeat(struct tkk_src *k, int64_t clock, uint32_t flags, uint64_t src)
{
	struct tk_heartbeat hb = { .clock_ns = clock, .flags = flags, .feed = k->cfg->feed,
				   .src = src, .stream = k->ident };

	if (!tkk__put(k, TK_REC_HEARTBEAT, 0, &hb, sizeof(hb)))
		return false;
	k->stats->heartbeats++;
	if (clock > k->clock)
		k->clock = clock;
	return true;
}

/* The first record of ours in this log follows our BEGIN heartbeat, so the
 * scan-back of a restart knows where our records start. */
static bool tkk__begin(struct tkk_src *k, int64_t clock)
{
	if (k->begun)
		return true;
	if (!tkk__heartbeat(k, clock, TK_HEARTBEAT_F_BEGIN, TKK_POS_NONE))
		return false;
	k->begun = true;
	return true;
}

static bool tkk__tick(struct tkk_src *k, int32_t sym, int64_t ts, double price, double size,
		      uint32_t cond, int64_t recv, uint64_t pos)
{
	struct tk_tick t;

	memset(&t, 0, sizeof(t));
	t.ts_ns = ts;
	t.price = price;
	t.size = size;
	t.recv_ns = recv;
	t.conditions = cond;
	t.feed = k->cfg->feed;
	t.src = pos;
	if (!tkk__put(k, TK_REC_TICK, (uint32_t)sym, &t, sizeof(t)))
		return false;
	k->stats->trades++;
	if (ts > k->clock)
		k->clock = ts;
	return true;
}

static void tkk__gap(struct tkk_src *k, int32_t p, int64_t from_off, int64_t to_off, int64_t to_ns)
{
	struct tk_gap g = { .from_ns = k->clock == INT64_MIN ? to_ns : k->clock, .to_ns = to_ns,
			    .nsymbols = 0, .feed = k->cfg->feed };

	k->stats->gaps++;
	tk_warn("kafka %s [%d]: offsets %" PRId64 "-%" PRId64 " are gone (retention?): a gap "
		"event marks the trades that may be missing", k->cfg->topic, p, from_off, to_off - 1);
	while (!(tkk__begin(k, g.from_ns) && tkk__put(k, TK_REC_GAP, 0, &g, sizeof(g))) &&
	       !*k->stop)
		tk_idle_wait(&k->idle, NULL, 0);
	tk_idle_reset(&k->idle);
}

/* ------------------------------------------------------------ resume */

/*
 * Scan back our records (those after our last BEGIN heartbeat): each
 * partition's last offset, the newest positioned record, the clock.  Another
 * source's heartbeat before any of ours, or an empty log: a new stream.
 */
static void tkk__scan_back(struct tkk_src *k)
{
	const struct tk_log_writer *w = &k->w;
	uint64_t s = w->next - 1, oldest = tk_log_oldest(w->log);
	int64_t rec_off[TKK_POS_MAX_PARTITIONS], rec_idx[TKK_POS_MAX_PARTITIONS];
	uint64_t newest = TKK_POS_NONE;
	int64_t clock = INT64_MIN;
	bool ours = false, newest_seen = false, copies = false;
	int32_t i;

	for (i = 0; i < TKK_POS_MAX_PARTITIONS; i++)
		rec_off[i] = -1;
	k->klast_part = -1;
	for (; s >= oldest && s >= 1; s--) {
		const struct tk_slot *slot = tk__log_slot(w->slots, s, w->mask, w->shift);
		uint64_t pos = TKK_POS_NONE;
		int64_t t = INT64_MIN;

		/* Acquire: pairs with the dead writer's release of the word. */
		if (tk_load_acquire_64(&slot->seq) != s)
			break;
		if (slot->type == TK_REC_TICK) {
			struct tk_tick tk;

			memcpy(&tk, slot->data, sizeof(tk));
			pos = tk.src;
			t = tk.ts_ns;
		} else if (slot->type == TK_REC_HEARTBEAT) {
			struct tk_heartbeat hb;

			memcpy(&hb, slot->data, sizeof(hb));
			if (hb.stream != k->ident)
				break; /* another source's: ours start after it */
			ours = true;
			pos = hb.src;
			t = hb.clock_ns;
			if (!newest_seen && (hb.flags & TK_HEARTBEAT_F_END))
				k->ended_in_log = true; /* nothing of ours after the end */
			copies |= pos != TKK_POS_NONE;
			if (hb.flags & TK_HEARTBEAT_F_BEGIN) {
				k->begun = true;
				if (t > clock)
					clock = t;
				break;
			}
		} else {
			continue;
		}
		newest_seen = true;
		if (t > clock)
			clock = t;
		if (pos != TKK_POS_NONE) {
			int32_t p = tkk_pos_partition(pos);

			if (newest == TKK_POS_NONE)
				newest = pos;
			if (p < TKK_POS_MAX_PARTITIONS && rec_off[p] < 0) {
				rec_off[p] = tkk_pos_offset(pos);
				rec_idx[p] = tkk_pos_index(pos);
			}
		}
	}
	if (!ours && !k->begun)
		return; /* the ticks after another source's heartbeat are not ours */
	k->begun = true;
	k->clock = clock;
	for (i = 0; i < TKK_POS_MAX_PARTITIONS; i++) {
		k->part[i].recorded = rec_off[i];
		k->part[i].resume_offset = rec_off[i];
		k->part[i].resume_index = rec_off[i] >= 0 ? rec_idx[i] : -1;
		k->part[i].merged = rec_off[i] >= 0;
	}
	/* Copied heartbeats are a tickd source's: the log followed one. */
	if (copies)
		k->kind = TKK_FOLLOW_TICKD;
	if (newest != TKK_POS_NONE) {
		k->klast_part = tkk_pos_partition(newest);
		k->klast_offset = tkk_pos_offset(newest);
	}
}

/* ------------------------------------------------------------ consumer */

/*
 * Where partition p starts: after what this process handled of it (assigned
 * again by a rebalance), else at the last message the log holds of it, read
 * again (it tells the resume point, or which of its trades are in), else
 * where the group's committed offset says (committed: -1 none).  Another
 * member that wrote past that (a committed offset beyond it) wins: its
 * records are in its log, not to be written here.
 */
static int64_t tkk__start_of(struct tkk_src *k, int32_t p, int64_t committed)
{
	struct tkk_part *pp = &k->part[p];
	int64_t start = RD_KAFKA_OFFSET_INVALID;

	if (pp->handled >= 0 && pp->handled >= pp->recorded)
		start = pp->handled + 1;
	else if (pp->recorded >= 0)
		start = pp->recorded;
	if (committed >= 0 && committed > start) {
		if (start >= 0)
			tk_info("kafka %s [%d]: the group's committed offset %" PRId64 " is past this "
				"log's %" PRId64 " (another member's, or skipped messages): starting there",
				k->cfg->topic, p, committed, start);
		/* Its records below our merge point are not in this log. */
		pp->merged = false;
		start = committed;
	}
	if (start < 0)
		pp->merged = false;
	return start;
}

static void tkk__drop_ring(struct tkk_part *pp)
{
	pp->head = 0;
	pp->n = 0;
}

/* Take the partitions of the list (their start offsets set in it). */
static void tkk__take(struct tkk_src *k, rd_kafka_topic_partition_list_t *parts, bool group)
{
	int i;

	if (group && rd_kafka_committed(k->rk, parts, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		tk_warn("kafka %s: the group's committed offsets did not come: starting from "
			"this log's", k->cfg->topic);
	for (i = 0; i < parts->cnt; i++) {
		int32_t p = parts->elems[i].partition;
		int64_t committed = group && parts->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR
					    ? parts->elems[i].offset : -1;
		struct tkk_part *pp;

		if (p < 0 || p >= TKK_POS_MAX_PARTITIONS) {
			tk_error("kafka %s: partition %d: a feed follows partitions 0-%d only",
				 k->cfg->topic, p, TKK_POS_MAX_PARTITIONS - 1);
			k->fatal = 2;
			parts->elems[i].offset = RD_KAFKA_OFFSET_END;
			continue;
		}
		pp = &k->part[p];
		if (pp->ring == NULL && (pp->ring = calloc(TKK_RING, sizeof(struct tkk_rec))) == NULL) {
			tk_error("out of memory for partition %d's merge queue", p);
			k->fatal = 1;
			parts->elems[i].offset = RD_KAFKA_OFFSET_END;
			continue;
		}
		if (p >= k->nparts)
			k->nparts = p + 1; /* the topic grew */
		pp->assigned = true;
		pp->paused = false;
		pp->fresh = true;
		parts->elems[i].offset = tkk__start_of(k, p, committed);
		pp->expect = parts->elems[i].offset >= 0 ? parts->elems[i].offset : -1;
		if (pp->handled < pp->recorded - 1)
			pp->handled = pp->recorded - 1;
		tkk__drop_ring(pp);
	}
}

static void tkk__commit(struct tkk_src *k, bool sync);

/* The group's share of the partitions changed (group mode only). */
static void tkk__rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			   rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct tkk_src *k = opaque;
	int i;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		tkk__take(k, parts, true);
		tk_info("kafka %s: %d partitions assigned by group %s", k->cfg->topic, parts->cnt,
			k->cfg->group);
		if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			tk_error("kafka %s: the group's assignment cannot be taken", k->cfg->topic);
			k->fatal = 1;
		}
		k->stats->subscribed = (uint32_t)parts->cnt;
		k->stats->connected = 1;
	} else {
		/* Before they go: the offsets of what the log holds, so that the
		 * next owner starts right after it; and no pause of ours outlives
		 * the assignment (an unassign clears only librdkafka's own). */
		tkk__commit(k, true);
		rd_kafka_resume_partitions(rk, parts);
		for (i = 0; i < parts->cnt; i++) {
			int32_t p = parts->elems[i].partition;

			if (p >= 0 && p < TKK_POS_MAX_PARTITIONS) {
				k->part[p].assigned = false;
				k->part[p].paused = false;
				tkk__drop_ring(&k->part[p]);
			}
		}
		rd_kafka_assign(rk, NULL);
		k->stats->subscribed = 0;
	}
}

static rd_kafka_t *tkk__consumer(struct tkk_src *k)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const struct tkk_source_cfg *c = k->cfg;
	char err[512];
	rd_kafka_t *rk;

	/* The user's settings first: the ones the promise rests on come after. */
	if (tkk_conf_apply(conf, c->props, c->nprops) < 0)
		goto fail;
	if (tkk_conf_set(conf, "bootstrap.servers", c->servers) < 0 ||
	    tkk_conf_set(conf, "group.id", c->group) < 0 ||
	    /* The offsets live with the ticks; the group's are for a takeover. */
	    tkk_conf_set(conf, "enable.auto.commit", "false") < 0 ||
	    tkk_conf_set(conf, "enable.auto.offset.store", "false") < 0 ||
	    tkk_conf_set(conf, "auto.offset.reset", "earliest") < 0 ||
	    /* A trade waits for the slowest partition of the merge: fetch
	     * sparse partitions often. */
	    tkk_conf_set(conf, "fetch.wait.max.ms", "10") < 0 ||
	    /* Eager: the rebalance callback assigns and revokes whole lists. */
	    tkk_conf_set(conf, "partition.assignment.strategy", "range,roundrobin") < 0 ||
	    tkk_conf_set(conf, "client.id", "tickd-feed") < 0)
		goto fail;
	if (c->partitions == NULL)
		rd_kafka_conf_set_rebalance_cb(conf, tkk__rebalance);
	rd_kafka_conf_set_opaque(conf, k);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (rk == NULL) {
		tk_err_set(-EINVAL, "kafka: cannot make the consumer: %s", err);
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	return rk;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

static int tkk__partition_count(struct tkk_src *k)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(k->rk, k->cfg->topic, NULL);
	rd_kafka_resp_err_t err;
	int n = -1, tries;

	for (tries = 0; tries < 300 && !*k->stop; tries++) {
		err = rd_kafka_metadata(k->rk, 0, rkt, &md, 2000);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
		    md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0) {
			n = md->topics[0].partition_cnt;
			rd_kafka_metadata_destroy(md);
			break;
		}
		if (tries % 15 == 0)
			tk_warn("kafka %s: no metadata yet (%s); retrying", k->cfg->topic,
				err != RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_err2str(err)
				: md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no topic");
		if (md != NULL)
			rd_kafka_metadata_destroy(md);
		md = NULL;
		tk_sleep_ns(1000 * 1000000LL);
	}
	rd_kafka_topic_destroy(rkt);
	return n;
}

static void tkk__pause(struct tkk_src *k, int32_t p, bool pause)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);

	rd_kafka_topic_partition_list_add(l, k->cfg->topic, p);
	if (pause)
		rd_kafka_pause_partitions(k->rk, l);
	else
		rd_kafka_resume_partitions(k->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	k->part[p].paused = pause;
}

/* The offsets of what the log holds (or dropped), for the group. */
static void tkk__commit(struct tkk_src *k, bool sync)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
	int32_t p;

	for (p = 0; p < k->nparts && p < TKK_POS_MAX_PARTITIONS; p++) {
		struct tkk_part *pp = &k->part[p];
		int64_t at = pp->n > 0 ? pp->ring[pp->head].offset : pp->handled + 1;

		if (pp->assigned && pp->handled >= 0)
			rd_kafka_topic_partition_list_add(l, k->cfg->topic, p)->offset = at;
	}
	if (l->cnt > 0)
		rd_kafka_commit(k->rk, l, sync ? 0 : 1);
	rd_kafka_topic_partition_list_destroy(l);
}

/* ------------------------------------------------------------ messages */

static bool tkk__header(rd_kafka_headers_t *h, const char *name, const void **v, size_t *n)
{
	return h != NULL && rd_kafka_header_get_last(h, name, v, n) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

static void tkk__reject(struct tkk_src *k, enum tk_fh_reason r, int32_t p, int64_t off,
			const char *why)
{
	k->stats->invalid++;
	if ((unsigned)r < TK_FEED_REASONS)
		k->stats->rejected_by[r]++;
	if (k->stats->invalid <= 10)
		tk_warn("kafka %s [%d] offset %" PRId64 ": message rejected (%s): %s", k->cfg->topic,
			p, off, tk_fh_reason_name(r), why);
}

struct tkk_foreign {
	struct tkk_src *k;
	int32_t p;
	int64_t off, recv;
	uint32_t index;
	bool blocked; /* stopped while the gate held: the rest waits for the next start */
};

/* A trade of another producer's Finnhub message: written as it comes. */
static void tkk__foreign_trade(void *ctx, const struct tk_fh_trade *t)
{
	struct tkk_foreign *f = ctx;
	struct tkk_src *k = f->k;
	struct tkk_part *pp = &k->part[f->p];
	uint64_t pos = tkk_pos(f->p, f->off, f->index++);
	int32_t id;

	if (f->blocked)
		return;
	if (f->off == pp->resume_offset && (int64_t)(f->index - 1) <= pp->resume_index)
		return; /* the log holds it: the restart re-read its message */
	id = tk_symtab_intern(k->symtab, t->symbol, t->symbol_len);
	if (id < 0) {
		k->stats->trades_rejected++;
		return;
	}
	/* The gate holds the log: wait here (another producer's messages are
	 * not merged: nothing else waits on them).  Stopped meanwhile, none of
	 * the message's later trades goes in either: a restart reads it again. */
	while (!(tkk__begin(k, t->ts_ns) &&
		 tkk__tick(k, id, t->ts_ns, t->price, t->size, t->conditions, f->recv, pos))) {
		if (*k->stop) {
			f->blocked = true;
			break;
		}
		tk_idle_wait(&k->idle, NULL, 0);
	}
	tk_idle_reset(&k->idle);
}

/* The trades of a message the parser refused, by reason. */
static void tkk__foreign_rejects(struct tkk_src *k, const struct tk_fh_msg *fm)
{
	uint32_t r;

	k->stats->trades_rejected += fm->rejected;
	for (r = 0; r < TK_FH_NREASONS && r < TK_FEED_REASONS; r++)
		k->stats->rejected_by[r] += fm->rejected_by[r];
}

static void tkk__count_trade(void *ctx, const struct tk_fh_trade *t)
{
	(void)t;
	++*(uint32_t *)ctx;
}

/* Another producer's message, written whole: false if it was not (stopped). */
static bool tkk__foreign(struct tkk_src *k, const rd_kafka_message_t *m, int64_t recv)
{
	struct tkk_foreign f = { .k = k, .p = m->partition, .off = m->offset, .recv = recv };
	struct tk_fh_msg fm;
	uint32_t n = 0;

	k->foreign++;
	/* A trade's place in its message has 10 bits in the tick's src.  1,024
	 * trades take at least 1,024 x 38 bytes (the shortest valid trade):
	 * only a message that long is counted before it is written. */
	if (m->len >= (size_t)38 << TKK_POS_INDEX_BITS) {
		tk_fh_parse(k->parser, m->payload, m->len, tkk__count_trade, &n, &fm);
		if (fm.kind == TK_FH_TRADES && fm.trades >= (1u << TKK_POS_INDEX_BITS)) {
			tkk__reject(k, TK_FH_TOO_LARGE, m->partition, m->offset,
				    "more than 1023 trades in one message");
			return true;
		}
	}
	tk_fh_parse(k->parser, m->payload, m->len, tkk__foreign_trade, &f, &fm);
	if (fm.kind == TK_FH_INVALID) {
		tkk__reject(k, fm.reason, m->partition, m->offset, fm.text);
	} else if (fm.kind == TK_FH_TRADES) {
		tkk__foreign_rejects(k, &fm);
	} else if (fm.kind == TK_FH_PING) {
		k->stats->pings++;
	} else {
		k->stats->unknown++;
	}
	return !f.blocked;
}

/* The one trade of a tickd message in Finnhub's format. */
struct tkk_one {
	struct tk_fh_trade t;
	char sym[32];
};

static void tkk__one_trade(void *ctx, const struct tk_fh_trade *t)
{
	struct tkk_one *o = ctx;

	o->t = *t;
	memcpy(o->sym, t->symbol, t->symbol_len < 31 ? t->symbol_len : 31);
	o->t.symbol_len = t->symbol_len < 31 ? t->symbol_len : 31;
}

/* Parse a message of a tickd source into *r; false (counted) if it is bad
 * or not the followed source. */
static bool tkk__parse(struct tkk_src *k, const rd_kafka_message_t *m, rd_kafka_headers_t *h,
		       const void *src, size_t src_len, int64_t recv, struct tkk_rec *r)
{
	const void *v;
	size_t n;
	char name[128];
	struct tk_contract c;
	struct tkk_one one = { 0 };
	int64_t ts;

	memset(r, 0, sizeof(*r));
	r->offset = m->offset;
	r->recv_ns = recv;
	if (tkk_src_parse(src, src_len, name, sizeof(name), &r->gen) < 0) {
		tkk__reject(k, TK_FH_BAD_HEADER, m->partition, m->offset,
			    "tickd.src is not <source>/<log>@<generation>");
		return false;
	}
	if (!k->follow_set) {
		snprintf(k->follow, sizeof(k->follow), "%s", name);
		k->follow_set = true;
		tk_info("kafka %s: following source %s", k->cfg->topic, name);
	}
	if (strcmp(name, k->follow) != 0) {
		k->other_source++;
		k->stats->rejected_by[TK_FH_OTHER_SOURCE]++;
		if (!k->warned_other) {
			k->warned_other = true;
			tk_warn("kafka %s: skipping the messages of source %s: this feed follows %s "
				"(--follow chooses)", k->cfg->topic, name, k->follow);
		}
		return false;
	}
	if (!tkk__header(h, "tickd.seq", &v, &n) || tkk_parse_u64(v, n, &r->seq) < 0 ||
	    r->seq == 0 || !tkk__header(h, "tickd.clock", &v, &n) ||
	    tkk_parse_i64(v, n, &r->clock) < 0 || !tkk__header(h, "tickd.ts", &v, &n) ||
	    tkk_parse_i64(v, n, &ts) < 0) {
		tkk__reject(k, TK_FH_BAD_HEADER, m->partition, m->offset,
			    "tickd.seq, tickd.clock or tickd.ts missing or not a number");
		return false;
	}
	/* 0: no clock yet; else an event time of the data contract's range
	 * (one far in the future would close every bar). */
	if (r->clock != 0 && (r->clock < k->lim.min_ts_ms * 1000000 ||
			      r->clock >= k->lim.max_ts_ms * 1000000)) {
		tkk__reject(k, TK_FH_BAD_HEADER, m->partition, m->offset,
			    "tickd.clock is not an event time of 2000-2099");
		return false;
	}
	if (m->len >= 8 && memcmp(m->payload, "{\"data\":", 8) == 0) {
		/* --trades-format finnhub: Finnhub's message, one trade (its symbol
		 * lives in `one`, of the function's scope: c points into it). */
		struct tk_fh_msg fm;

		tk_fh_parse(k->parser, m->payload, m->len, tkk__one_trade, &one, &fm);
		if (fm.kind != TK_FH_TRADES || fm.trades != 1) {
			tkk__reject(k, fm.kind == TK_FH_INVALID ? fm.reason
				    : fm.rejected > 0 ? TK_FH_BAD_TRADE : TK_FH_BAD_DATA,
				    m->partition, m->offset,
				    fm.kind == TK_FH_INVALID || fm.rejected > 0 ? fm.text
				    : "a tickd message in Finnhub's format holds one trade");
			return false;
		}
		c.kind = TK_CONTRACT_TRADE;
		c.trade = one.t;
		c.trade.symbol = one.sym;
	} else {
		tk_fh_parse_contract(k->parser, m->payload, m->len, &c);
	}
	if (c.kind == TK_CONTRACT_INVALID) {
		tkk__reject(k, c.reason, m->partition, m->offset, c.text);
		return false;
	}
	if (c.kind == TK_CONTRACT_OTHER) {
		k->stats->unknown++;
		return false;
	}
	if (c.kind == TK_CONTRACT_HEARTBEAT) {
		if (ts / 1000000 - (ts % 1000000 < 0) != c.ts_ms) {
			tkk__reject(k, TK_FH_BAD_HEADER, m->partition, m->offset,
				    "tickd.ts is not the heartbeat's ts");
			return false;
		}
		r->sym = -1;
		r->ts_ns = ts;
		r->hb_flags = c.end ? TK_HEARTBEAT_F_END : 0;
		return true;
	}
	if (ts / 1000000 - (ts % 1000000 < 0) != c.trade.ts_ns / 1000000) {
		tkk__reject(k, TK_FH_BAD_HEADER, m->partition, m->offset,
			    "tickd.ts is not the trade's ts");
		return false;
	}
	r->sym = tk_symtab_intern(k->symtab, c.trade.symbol, c.trade.symbol_len);
	if (r->sym < 0) {
		k->stats->trades_rejected++;
		tk_warn("kafka %s: cannot add symbol %.*s: the symbol table is full", k->cfg->topic,
			(int)c.trade.symbol_len, c.trade.symbol);
		return false;
	}
	r->ts_ns = ts;
	r->price = c.trade.price;
	r->size = c.trade.size;
	r->conditions = c.trade.conditions;
	return true;
}

/* ------------------------------------------------------------ the merge */

static int tkk__keycmp(const struct tkk_rec *a, const struct tkk_rec *b)
{
	if (a->gen != b->gen)
		return a->gen < b->gen ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static struct tkk_rec *tkk__head(struct tkk_part *pp)
{
	return &pp->ring[pp->head];
}

static void tkk__pop(struct tkk_part *pp)
{
	const struct tkk_rec *r = tkk__head(pp);

	if (r->offset > pp->handled)
		pp->handled = r->offset;
	pp->head = (pp->head + 1) % TKK_RING;
	pp->n--;
}

/* The merge point: the largest (generation, seq) the log holds. */
static void tkk__note_last(struct tkk_src *k, const struct tkk_rec *r)
{
	struct tkk_rec last = { .gen = k->last_gen, .seq = k->last_seq };

	if (!k->have_last || tkk__keycmp(r, &last) > 0) {
		k->have_last = true;
		k->last_gen = r->gen;
		k->last_seq = r->seq;
	}
}

/* The log holds it already: a restart read it again. */
static bool tkk__held(const struct tkk_src *k, const struct tkk_part *pp, const struct tkk_rec *r)
{
	if (r->offset <= pp->resume_offset)
		return true;
	if (pp->merged && k->have_last) {
		struct tkk_rec last = { .gen = k->last_gen, .seq = k->last_seq };

		return tkk__keycmp(r, &last) <= 0;
	}
	return false;
}

/*
 * Write what the merge allows: the smallest (generation, seq) at the heads,
 * once every assigned partition has a head.  Returns false when the gate
 * holds the log (try again later).
 */
static bool tkk__merge(struct tkk_src *k)
{
	if (!k->ready)
		return true;
	while (!*k->stop && !(k->ended && k->cfg->exit_at_end)) {
		int32_t p, best = -1, copies[TKK_POS_MAX_PARTITIONS], ncopies = 0;
		struct tkk_rec *r;

		for (p = 0; p < k->nparts; p++) {
			struct tkk_part *pp = &k->part[p];

			if (!pp->assigned)
				continue;
			if (pp->n == 0)
				return true; /* wait for it: it may hold something earlier */
			if (best < 0 || tkk__keycmp(tkk__head(pp), tkk__head(&k->part[best])) < 0)
				best = p;
		}
		if (best < 0)
			return true;
		r = tkk__head(&k->part[best]);
		if (tkk__held(k, &k->part[best], r)) {
			tkk__pop(&k->part[best]);
			k->stale++;
			continue;
		}
		if (!tkk__begin(k, r->clock != 0 ? r->clock : r->ts_ns))
			return false;
		if (r->sym < 0) {
			struct tkk_rec hb = *r;
			int32_t from;

			/* One heartbeat, however many copies: the place kept is one
			 * partition's in turn, so every partition's appears often. */
			for (p = 0; p < k->nparts; p++)
				if (k->part[p].assigned && tkk__keycmp(tkk__head(&k->part[p]), r) == 0)
					copies[ncopies++] = p;
			if (ncopies == 0) /* cannot be: best's own head is one */
				copies[ncopies++] = best;
			from = copies[k->hb_written % (uint64_t)ncopies];
			if (!tkk__heartbeat(k, hb.ts_ns, hb.hb_flags,
					    tkk_pos(from, tkk__head(&k->part[from])->offset, 0)))
				return false;
			for (p = 0; p < ncopies; p++)
				tkk__pop(&k->part[copies[p]]);
			k->hb_written++;
			if (hb.hb_flags & TK_HEARTBEAT_F_END) {
				k->ended = true;
				tk_info("kafka %s: end of stream (clock %lld ms)", k->cfg->topic,
					(long long)(hb.ts_ns / 1000000));
			}
		} else {
			/* The producer's stream clock before this trade, so that the
			 * engine here judges it as the producer's engine did. */
			if (r->clock > k->clock && !tkk__heartbeat(k, r->clock, 0, TKK_POS_NONE))
				return false;
			if (!tkk__tick(k, r->sym, r->ts_ns, r->price, r->size, r->conditions,
				       r->recv_ns, tkk_pos(best, r->offset, 0)))
				return false;
			tkk__pop(&k->part[best]);
		}
		tkk__note_last(k, r);
	}
	return true;
}

/* ------------------------------------------------------------ input */

static void tkk__message(struct tkk_src *k, const rd_kafka_message_t *m)
{
	int64_t recv = tk_wall_ns();
	rd_kafka_headers_t *h = NULL;
	struct tkk_part *pp;
	struct tkk_rec r;
	const void *src = NULL;
	size_t src_len = 0;
	int64_t ts_ms;
	bool tickd;

	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
			return;
		k->stats->errors++;
		if (k->stats->errors <= 10 || k->stats->errors % 1000 == 0)
			tk_warn("kafka %s: %s", k->cfg->topic, rd_kafka_message_errstr(m));
		return;
	}
	if (m->partition < 0 || m->partition >= TKK_POS_MAX_PARTITIONS ||
	    !k->part[m->partition].assigned)
		return;
	pp = &k->part[m->partition];
	ts_ms = rd_kafka_message_timestamp(m, NULL);
	if (pp->expect >= 0 && m->offset < pp->expect) {
		if (!pp->fresh) {
			k->stats->duplicates++; /* fetched again (librdkafka #4261) */
			return;
		}
		/* The first message after an assignment, below where it was asked
		 * to start: the partition was reset (a topic made again). */
		tk_warn("kafka %s [%d]: offset %" PRId64 " is below the %" PRId64 " this log "
			"resumes at: the partition was reset; going on from it", k->cfg->topic,
			m->partition, m->offset, pp->expect);
		tkk__gap(k, m->partition, m->offset, m->offset, k->clock);
		pp->resume_offset = -1;
		pp->merged = false;
	} else if (pp->expect >= 0 && m->offset > pp->expect) {
		tkk__gap(k, m->partition, pp->expect, m->offset,
			 ts_ms > 0 && ts_ms < 4102444800000LL ? ts_ms * 1000000 : k->clock);
	}
	pp->fresh = false;
	pp->expect = m->offset + 1;
	k->stats->messages++;
	k->stats->bytes += m->len;
	k->stats->last_msg_ns = recv;
	tickd = rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
		tkk__header(h, "tickd.src", &src, &src_len);
	if (!k->ready && m->partition == k->klast_part && !tickd)
		k->ready = true; /* the log's newest message is another producer's */
	/* One kind of source per feed: a log that merges a tickd source by its
	 * sequences cannot take another producer's messages in between (their
	 * places would pass records still waiting in the merge). */
	if (k->kind == TKK_FOLLOW_ANY)
		k->kind = tickd ? TKK_FOLLOW_TICKD : TKK_FOLLOW_FOREIGN;
	if ((k->kind == TKK_FOLLOW_TICKD) != tickd) {
		if (!tickd) {
			/* Bad input is bad input, whoever sent it: by its reason. */
			struct tk_fh_msg fm;
			uint32_t n = 0;

			tk_fh_parse(k->parser, m->payload, m->len, tkk__count_trade, &n, &fm);
			if (fm.kind == TK_FH_INVALID || (fm.kind == TK_FH_TRADES && fm.trades == 0 &&
							 fm.rejected > 0)) {
				if (fm.kind == TK_FH_INVALID)
					tkk__reject(k, fm.reason, m->partition, m->offset, fm.text);
				else
					tkk__foreign_rejects(k, &fm);
				if (pp->n == 0)
					pp->handled = m->offset;
				return;
			}
		}
		k->other_source++;
		k->stats->rejected_by[TK_FH_OTHER_SOURCE]++;
		if (!k->warned_other) {
			k->warned_other = true;
			tk_warn("kafka %s [%d] offset %" PRId64 ": skipping %s: this feed follows %s",
				k->cfg->topic, m->partition, m->offset,
				tickd ? "a tickd source's messages" : "messages without tickd headers",
				tickd ? "another producer's Finnhub messages" : "a tickd source");
		}
		if (pp->n == 0)
			pp->handled = m->offset;
		return;
	}
	if (!tickd) {
		if (m->offset < pp->resume_offset || m->offset <= pp->foreign_done) {
			pp->handled = m->offset;
			return; /* the log holds it: read again after a restart or a rebalance */
		}
		if (tkk__foreign(k, m, recv)) {
			pp->foreign_done = m->offset;
			pp->handled = m->offset;
		}
		return;
	}
	if (!tkk__parse(k, m, h, src, src_len, recv, &r)) {
		if (pp->n == 0)
			pp->handled = m->offset;
		return;
	}
	if (pp->merged && m->offset == pp->resume_offset)
		tkk__note_last(k, &r); /* a message the log holds: the merge is past it */
	if (!k->ready && m->partition == k->klast_part) {
		if (m->offset == k->klast_offset)
			tk_info("kafka %s: resuming after seq %" PRIu64 " of %s (partition %d offset "
				"%" PRId64 ")", k->cfg->topic, k->last_seq, k->follow, m->partition,
				m->offset);
		else
			tk_warn("kafka %s: the newest message this log holds (partition %d offset "
				"%" PRId64 ") is gone from Kafka: resuming after the newest the other "
				"partitions still hold", k->cfg->topic, k->klast_part, k->klast_offset);
		k->ready = true;
	}
	if (pp->n == TKK_RING) {
		/* Cannot happen (the partition is paused well before): loud. */
		tk_error("kafka %s [%d]: the merge queue is full; offset %" PRId64 " dropped",
			 k->cfg->topic, m->partition, m->offset);
		k->stats->gaps++;
		return;
	}
	pp->ring[(pp->head + pp->n) % TKK_RING] = r;
	pp->n++;
	if (pp->n >= TKK_RING_PAUSE && !pp->paused)
		tkk__pause(k, m->partition, true);
}

/* Assign the --partitions list, each where the log says it resumes. */
static int tkk__assign_static(struct tkk_src *k)
{
	int32_t want[TKK_POS_MAX_PARTITIONS];
	rd_kafka_topic_partition_list_t *l;
	int n = tkk_partitions_parse(k->cfg->partitions, k->nparts, want, TKK_POS_MAX_PARTITIONS);
	int i;

	if (n < 0)
		return n;
	l = rd_kafka_topic_partition_list_new(n);
	for (i = 0; i < n; i++)
		rd_kafka_topic_partition_list_add(l, k->cfg->topic, want[i]);
	tkk__take(k, l, false);
	if (rd_kafka_assign(k->rk, l) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		rd_kafka_topic_partition_list_destroy(l);
		return tk_err_set(-EINVAL, "kafka %s: cannot assign the partitions", k->cfg->topic);
	}
	rd_kafka_topic_partition_list_destroy(l);
	k->stats->subscribed = (uint32_t)n;
	k->stats->connected = 1;
	tk_info("kafka %s: following partitions %s of %d", k->cfg->topic, k->cfg->partitions,
		k->nparts);
	return 0;
}

static bool tkk__alloc_rings(struct tkk_src *k)
{
	int32_t p;

	for (p = 0; p < k->nparts; p++)
		if (k->part[p].ring == NULL &&
		    (k->part[p].ring = calloc(TKK_RING, sizeof(struct tkk_rec))) == NULL)
			return false;
	return true;
}

int tkk_source_run(struct tk_segment *seg, const char *logname, const struct tkk_source_cfg *cfg,
		   struct tk_feed_stats *stats, const volatile sig_atomic_t *stop)
{
	static struct tkk_src src;
	struct tkk_src *k = &src;
	struct tk_log_region *log = tk_log_find(seg, logname);
	struct tk_fh_limits lim;
	int32_t p;
	int rc = 1;

	memset(k, 0, sizeof(*k));
	k->cfg = cfg;
	k->stats = stats != NULL ? stats : &k->dummy;
	k->stop = stop;
	k->clock = INT64_MIN;
	k->klast_part = -1;
	for (p = 0; p < TKK_POS_MAX_PARTITIONS; p++) {
		k->part[p].handled = k->part[p].expect = k->part[p].recorded = -1;
		k->part[p].resume_offset = k->part[p].resume_index = -1;
		k->part[p].foreign_done = -1;
	}
	if (cfg->follow != NULL) {
		snprintf(k->follow, sizeof(k->follow), "%s", cfg->follow);
		k->follow_set = true;
	}
	if (log == NULL) {
		tk_error("the segment has no log named '%s'", logname);
		return 1;
	}
	k->symtab = tk_symtab_of(seg);
	tk_fh_limits_default(&lim);
	k->lim = lim;
	k->parser = tk_fh_parser_new(&lim);
	if (k->parser == NULL) {
		tk_error("out of memory");
		return 1;
	}
	if (tk_log_writer_open(&k->w, log) < 0) {
		tk_error("%s", tk_err_msg());
		tk_fh_parser_free(k->parser);
		return 1;
	}
	tk_idle_init(&k->idle, TK_IDLE_BACKOFF);
	k->ident = tk_stream_hash(TK_STREAM_HASH_INIT, "kafka", 5);
	k->ident = tk_stream_hash(k->ident, cfg->topic, strlen(cfg->topic));
	tkk__scan_back(k);
	if (k->klast_part < 0)
		k->ready = true; /* nothing of ours with a place in Kafka yet */
	if (k->ended_in_log && cfg->exit_at_end) {
		tk_info("%s already ends with the stream's end-of-stream heartbeat: nothing to do",
			logname);
		rc = 0;
		goto out;
	}
	k->rk = tkk__consumer(k);
	if (k->rk == NULL) {
		tk_error("%s", tk_err_msg());
		rc = 2; /* a property librdkafka refuses: restarting cannot help */
		goto out;
	}
	k->nparts = tkk__partition_count(k);
	if (k->nparts < 0) {
		if (!*stop)
			tk_error("kafka %s: no such topic, or no broker answers at %s", cfg->topic,
				 cfg->servers);
		rc = *stop ? 0 : 1;
		goto out;
	}
	if (k->nparts > TKK_POS_MAX_PARTITIONS) {
		tk_error("kafka %s: %d partitions; a feed follows at most %d", cfg->topic, k->nparts,
			 TKK_POS_MAX_PARTITIONS);
		rc = 2;
		goto out;
	}
	if (!tkk__alloc_rings(k)) {
		tk_error("out of memory for the merge queues");
		goto out;
	}
	if (cfg->partitions != NULL) {
		if (tkk__assign_static(k) < 0) {
			tk_error("%s", tk_err_msg());
			rc = 2;
			goto out;
		}
	} else {
		rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);

		rd_kafka_topic_partition_list_add(l, cfg->topic, RD_KAFKA_PARTITION_UA);
		if (rd_kafka_subscribe(k->rk, l) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			rd_kafka_topic_partition_list_destroy(l);
			tk_error("kafka %s: cannot subscribe", cfg->topic);
			goto out;
		}
		rd_kafka_topic_partition_list_destroy(l);
		tk_info("kafka %s: joining group %s for a share of its %d partitions", cfg->topic,
			cfg->group, k->nparts);
	}
	tk_info("kafka %s at %s into %s%s", cfg->topic, cfg->servers, logname,
		k->begun ? " (resuming what the log holds)" : "");
	k->next_commit = tk_mono_ns() + TKK_COMMIT_NS;
	while (!*stop && !(k->ended && cfg->exit_at_end) && k->fatal == 0) {
		bool open = tkk__merge(k);
		rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, open ? 100 : 1);
		int n = 0;
		int64_t now;

		while (m != NULL) {
			tkk__message(k, m);
			rd_kafka_message_destroy(m);
			if (++n == 4096)
				break;
			m = rd_kafka_consumer_poll(k->rk, 0);
		}
		/* The last message of p_last may lie beyond what a moved assignment
		 * holds: the resume point then comes from offsets alone. */
		if (!k->ready && (k->klast_part >= k->nparts || !k->part[k->klast_part].assigned) &&
		    k->stats->connected) {
			k->ready = true;
			tk_warn("kafka %s: partition %d, where this log's newest message is, is not "
				"assigned here: resuming by offsets alone", cfg->topic, k->klast_part);
		}
		tkk__merge(k);
		for (p = 0; p < k->nparts; p++)
			if (k->part[p].paused && k->part[p].n < TKK_RING / 4)
				tkk__pause(k, p, false);
		now = tk_mono_ns();
		if (now >= k->next_commit) {
			tkk__commit(k, false);
			k->next_commit = now + TKK_COMMIT_NS;
		}
	}
	tkk__commit(k, true);
	if (k->fatal != 0) {
		rc = k->fatal;
		goto out;
	}
	if (k->stale > 0 || k->other_source > 0 || k->foreign > 0)
		tk_info("kafka %s: %" PRIu64 " messages the log already held, %" PRIu64
			" of other sources skipped, %" PRIu64 " of other producers written",
			cfg->topic, k->stale, k->other_source, k->foreign);
	rc = 0;
out:
	if (k->rk != NULL) {
		rd_kafka_consumer_close(k->rk);
		rd_kafka_destroy(k->rk);
	}
	for (p = 0; p < TKK_POS_MAX_PARTITIONS; p++)
		free(k->part[p].ring);
	k->stats->connected = 0;
	tk_log_writer_close(&k->w);
	tk_fh_parser_free(k->parser);
	return rc;
}

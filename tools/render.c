/* JSON rendering of stats and feeds, and of records through shm/render.c. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "shm/ctlring.h"
#include "shm/records.h"
#include "shm/render.h"
#include "feed/fh_parse.h"
#include "shm/feeds.h"
#include "tools/tools.h"

/* Epoch ns to the contract's integer epoch ms (floor, also before 1970). */
static long long tk__ms(int64_t ns)
{
	return (long long)(ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000));
}

/* The records' JSON is the library layer's (shm/render.c), shared with
 * tickd_record_json() so `tickd tail`, libtickd and the Python binding print
 * the same bytes. */
void tk_render_record(struct tk_buf *b, const struct tk_slot *slot,
		      const struct tk_symtab_region *symbols)
{
	/* A log's slots are sized for its records: the slot holds the whole
	 * record of its type, so read as much as the type needs. */
	tk_render_json(b, slot->seq, slot->type, slot->aux, slot->data, SIZE_MAX, symbols);
}

size_t tk_collect_stats(const struct tk_segment *seg, struct tk_log_stats *out, size_t max,
			double *rate, double interval_s, bool sample_twice)
{
	const struct tk_seg_header *h = seg->hdr;
	uint64_t first[TK_SEG_MAX_LOGS];
	int64_t t0 = tk_mono_ns(), t1;
	size_t n = 0, i;

	for (i = 0; i < h->config.nlogs && i < TK_SEG_MAX_LOGS; i++) {
		struct tk_log_region *log = tk_log_find(seg, h->config.logs[i].name);

		first[i] = log != NULL ? tk_log_write_seq(log) : 0;
	}
	if (sample_twice)
		tk_sleep_ns((int64_t)(interval_s * 1e9));
	t1 = tk_mono_ns();
	for (i = 0; i < h->config.nlogs && n < max; i++) {
		struct tk_log_region *log = tk_log_find(seg, h->config.logs[i].name);

		if (log == NULL)
			continue;
		tk_log_stats_read(log, &out[n]);
		rate[n] = sample_twice ? (double)(out[n].write_seq - first[i]) * 1e9 / (double)(t1 - t0)
				       : -1;
		n++;
	}
	return n;
}

void tk_render_stats_json(struct tk_buf *b, const struct tk_segment *seg,
			  const struct tk_log_stats *logs, const double *rate, size_t nlogs)
{
	const struct tk_ctl_region *ctl = tk_ctl_of(seg);
	size_t i;
	uint32_t j;

	tk_buf_puts(b, "{\"segment\":");
	tk_json_str(b, seg->path, strlen(seg->path));
	tk_buf_printf(b, ",\"abi\":%u,\"created\":%lld,\"creator_pid\":%d,\"size\":%llu",
		      seg->hdr->abi_version, tk__ms(seg->hdr->created_ns), (int)seg->hdr->creator_pid,
		      (unsigned long long)seg->hdr->total_size);
	tk_buf_printf(b, ",\"symbols\":%u,\"symbol_capacity\":%u",
		      tk_symtab_count(tk_symtab_of(seg)), seg->hdr->config.symbol_capacity);
	if (ctl != NULL)
		tk_buf_printf(b, ",\"control\":{\"pending\":%llu,\"consumed\":%llu,\"abandoned\":%llu,"
			      "\"rejected\":%llu}",
			      (unsigned long long)(ctl->enqueue_pos - ctl->dequeue_pos),
			      (unsigned long long)ctl->consumed, (unsigned long long)ctl->abandoned,
			      (unsigned long long)ctl->rejected);
	tk_buf_puts(b, ",\"logs\":[");
	for (i = 0; i < nlogs; i++) {
		const struct tk_log_stats *l = &logs[i];

		tk_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		tk_json_str(b, l->name, strlen(l->name));
		tk_buf_printf(b, ",\"write_seq\":%llu,\"slots\":%u,\"slot_size\":%u",
			      (unsigned long long)l->write_seq, l->nslots, l->slot_size);
		tk_buf_puts(b, ",\"rate_per_s\":");
		if (rate[i] >= 0)
			tk_json_double(b, (double)(int64_t)(rate[i] + 0.5));
		else
			tk_buf_puts(b, "null");
		tk_buf_printf(b, ",\"writer\":{\"pid\":%d,\"alive\":%s,\"waits\":%llu,\"wait_ms\":%.3f,"
			      "\"restarts\":%llu}",
			      (int)l->writer_pid, l->writer_alive ? "true" : "false",
			      (unsigned long long)l->writer_waits, (double)l->writer_wait_ns / 1e6,
			      (unsigned long long)l->writer_restarts);
		tk_buf_printf(b, ",\"releases\":{\"dead\":%llu,\"stall\":%llu}",
			      (unsigned long long)l->releases_dead, (unsigned long long)l->releases_stall);
		tk_buf_puts(b, ",\"blocked_by\":");
		if (l->blocked_by >= 0) {
			const char *bn = tk_log_readers(tk_log_find(seg, l->name))[l->blocked_by].name;

			tk_json_str(b, bn, strnlen(bn, TK_NAME_MAX));
		} else {
			tk_buf_puts(b, "null");
		}
		tk_buf_puts(b, ",\"readers\":[");
		for (j = 0; j < l->nreaders; j++) {
			const struct tk_reader_stats *r = &l->readers[j];

			tk_buf_puts(b, j ? ",{\"name\":" : "{\"name\":");
			tk_json_str(b, r->name, strlen(r->name));
			tk_buf_printf(b, ",\"pid\":%d,\"alive\":%s,\"gating\":%s,\"policy\":\"%s\","
				      "\"state\":\"%s\",\"cursor\":%llu,\"lag\":%llu,\"skipped\":%llu,"
				      "\"gaps\":%llu,\"consumed\":%llu,\"releases\":%llu,"
				      "\"heartbeat_age_ms\":",
				      (int)r->pid, r->alive ? "true" : "false", r->gating ? "true" : "false",
				      !r->gating ? "none" : r->release_on_stall ? "release" : "hold",
				      tk_reader_state_name(r->state), (unsigned long long)r->cursor,
				      (unsigned long long)r->lag, (unsigned long long)r->skipped,
				      (unsigned long long)r->gaps, (unsigned long long)r->consumed,
				      (unsigned long long)r->releases);
			if (r->heartbeat_age_ns >= 0)
				tk_buf_printf(b, "%lld}", (long long)(r->heartbeat_age_ns / 1000000));
			else
				tk_buf_puts(b, "null}");
		}
		tk_buf_puts(b, "]}");
	}
	tk_buf_puts(b, "],\"feeds\":[");
	tk_render_feeds_json(b, seg);
	tk_buf_puts(b, "]}");
}

void tk_render_feeds_json(struct tk_buf *b, const struct tk_segment *seg)
{
	const struct tk_feeds_region *fr = tk_feeds_of(seg);
	uint32_t i, k, n = 0;

	for (i = 0; fr != NULL && i < TK_FEEDS_MAX; i++) {
		const struct tk_feed_stats *f = &fr->slot[i];

		if (f->pid == 0)
			continue;
		tk_buf_printf(b, "%s{\"feed\":%u,\"pid\":%d,\"alive\":%s,\"source\":", n++ ? "," : "",
			      f->feed, (int)f->pid, kill(f->pid, 0) == 0 || errno == EPERM ? "true" : "false");
		tk_json_str(b, f->source, strnlen(f->source, sizeof(f->source)));
		tk_buf_puts(b, ",\"log\":");
		tk_json_str(b, f->log, strnlen(f->log, sizeof(f->log)));
		tk_buf_printf(b, ",\"connected\":%s,\"subscribed\":%u,\"messages\":%llu,\"bytes\":%llu,"
			      "\"trades\":%llu,\"trades_rejected\":%llu,\"invalid\":%llu,\"pings\":%llu,"
			      "\"errors\":%llu,\"unknown\":%llu,\"duplicates\":%llu,\"heartbeats\":%llu,"
			      "\"gaps\":%llu,\"connects\":%llu,\"reconnects\":%llu,"
			      "\"subscribe_rejected\":%llu,\"last_msg\":",
			      f->connected ? "true" : "false", f->subscribed,
			      (unsigned long long)f->messages, (unsigned long long)f->bytes,
			      (unsigned long long)f->trades, (unsigned long long)f->trades_rejected,
			      (unsigned long long)f->invalid, (unsigned long long)f->pings,
			      (unsigned long long)f->errors, (unsigned long long)f->unknown,
			      (unsigned long long)f->duplicates, (unsigned long long)f->heartbeats,
			      (unsigned long long)f->gaps, (unsigned long long)f->connects,
			      (unsigned long long)f->reconnects, (unsigned long long)f->subscribe_rejected);
		if (f->last_msg_ns != 0)
			tk_buf_printf(b, "%lld", tk__ms(f->last_msg_ns));
		else
			tk_buf_puts(b, "null");
		tk_buf_puts(b, ",\"rejected_by\":{");
		for (k = 1; k < TK_FH_NREASONS && k < TK_FEED_REASONS; k++)
			tk_buf_printf(b, "%s\"%s\":%llu", k > 1 ? "," : "",
				      tk_fh_reason_name((enum tk_fh_reason)k),
				      (unsigned long long)f->rejected_by[k]);
		tk_buf_printf(b, "},\"parse_ns\":{\"count\":%llu,\"p50\":%llu,\"p99\":%llu,"
			      "\"max\":%llu}}",
			      (unsigned long long)f->parse_ns.count,
			      (unsigned long long)tk_hist_percentile(&f->parse_ns, 50),
			      (unsigned long long)tk_hist_percentile(&f->parse_ns, 99),
			      (unsigned long long)f->parse_ns.max);
	}
}

void tk_print_feeds(const struct tk_segment *seg)
{
	const struct tk_feeds_region *fr = tk_feeds_of(seg);
	uint32_t i;

	for (i = 0; fr != NULL && i < TK_FEEDS_MAX; i++) {
		const struct tk_feed_stats *f = &fr->slot[i];

		if (f->pid == 0)
			continue;
		printf("feed %u %-8s pid %-7d%s %s  msgs %llu  trades %llu  rejected %llu  invalid %llu  "
		       "reconnects %llu  gaps %llu  subscribed %u%s  parse p99 %llu ns\n",
		       f->feed, f->source, (int)f->pid,
		       kill(f->pid, 0) == 0 || errno == EPERM ? "" : " (gone)",
		       f->connected ? "up" : "down", (unsigned long long)f->messages,
		       (unsigned long long)f->trades, (unsigned long long)f->trades_rejected,
		       (unsigned long long)f->invalid, (unsigned long long)f->reconnects,
		       (unsigned long long)f->gaps, f->subscribed,
		       f->subscribe_rejected ? " (some refused)" : "",
		       (unsigned long long)tk_hist_percentile(&f->parse_ns, 99));
	}
}

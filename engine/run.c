/*
 * The worker's run loop: reads its inputs (one input in batches with the
 * apply's prefetching; several merged in the order of their clocks),
 * applies them (engine/worker.c), checkpoints at a bounded rate and commits
 * the cursors up to what it applied.  The apply is a function of the
 * records; this file decides which record comes next and when the work is
 * safe.
 */
#include <stddef.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/msg.h"
#include "engine/checkpoint.h"
#include "engine/worker.h"
#include "shm/records.h"

/* At most four checkpoints a second: a restart re-reads at most this much
 * input, and the cursors lag the work by as much. */
#define TK_CKPT_INTERVAL_NS (250 * 1000 * 1000LL)

uint64_t tk_worker_applied_next(const struct tk_worker *w, uint32_t i)
{
	if (w->in_buf[i] != NULL && w->in_pos[i] < w->in_n[i])
		return ((const struct tk_slot *)((const uint8_t *)w->in_buf[i] +
						  ((size_t)w->in_pos[i] << w->in[i].shift)))->seq;
	return w->in[i].next;
}

/* Checkpoint, then (only then) commit the input cursors, up to what was
 * applied.  Also keeps the input rate that sizes a bypass stretch. */
enum {
	TK_M_TICKS, TK_M_LATE, TK_M_BARS, TK_M_SIGNALS, TK_M_HEARTBEATS, TK_M_ENDS,
	TK_M_OTHER_SHARD, TK_M_INPUTS_DROPPED, TK_M_INPUT_RATE, TK_M_CHECKPOINTS, TK_M_N
};

void tk_worker_metrics(struct tk_worker *w, const char *role)
{
	struct tk_role_slot *s = tk_metrics_claim(tk_metrics_of(w->seg), role);

	w->metrics = s;
	if (s == NULL)
		return;
	tk_metric_define(s, TK_M_TICKS, "engine_ticks_total", TK_METRIC_COUNTER, 0, "trades applied");
	tk_metric_define(s, TK_M_LATE, "engine_late_total", TK_METRIC_COUNTER, 0,
			 "trades dropped as late (per timeframe)");
	tk_metric_define(s, TK_M_BARS, "engine_bars_total", TK_METRIC_COUNTER, 0, "bars closed");
	tk_metric_define(s, TK_M_SIGNALS, "engine_signals_total", TK_METRIC_COUNTER, 0, "signals raised");
	tk_metric_define(s, TK_M_HEARTBEATS, "engine_heartbeats_total", TK_METRIC_COUNTER, 0,
			 "feed heartbeats applied");
	tk_metric_define(s, TK_M_ENDS, "engine_stream_ends_total", TK_METRIC_COUNTER, 0,
			 "end-of-stream heartbeats applied");
	tk_metric_define(s, TK_M_OTHER_SHARD, "engine_other_shard_total", TK_METRIC_COUNTER, 0,
			 "trades of other shards skipped");
	tk_metric_define(s, TK_M_INPUTS_DROPPED, "engine_inputs_dropped_total", TK_METRIC_COUNTER, 0,
			 "inputs no longer waited for (silent)");
	tk_metric_define(s, TK_M_INPUT_RATE, "engine_input_rate", TK_METRIC_GAUGE, 0,
			 "input records a second (last checkpoint)");
	tk_metric_define(s, TK_M_CHECKPOINTS, "engine_checkpoints_total", TK_METRIC_COUNTER, 0,
			 "checkpoints written");
	tk_metric_hist_define(s, 0, "engine_apply_latency_seconds");
}

static void tk__publish(struct tk_worker *w)
{
	struct tk_role_slot *s = w->metrics;

	if (s == NULL)
		return;
	tk_metric_set(s, TK_M_TICKS, (double)w->stats.ticks);
	tk_metric_set(s, TK_M_LATE, (double)w->stats.late);
	tk_metric_set(s, TK_M_BARS, (double)w->stats.bars);
	tk_metric_set(s, TK_M_SIGNALS, (double)w->stats.signals);
	tk_metric_set(s, TK_M_HEARTBEATS, (double)w->stats.heartbeats);
	tk_metric_set(s, TK_M_ENDS, (double)w->stats.ends);
	tk_metric_set(s, TK_M_OTHER_SHARD, (double)w->stats.other_shard);
	tk_metric_set(s, TK_M_INPUTS_DROPPED, (double)w->stats.inputs_dropped);
	tk_metric_set(s, TK_M_INPUT_RATE, w->input_rate);
	tk_metric_set(s, TK_M_CHECKPOINTS, s->m[TK_M_CHECKPOINTS].value + 1);
}

static bool tk__checkpoint(struct tk_worker *w)
{
	int64_t now = tk_mono_coarse_ns();
	uint32_t i;

	if (w->since_ckpt > 0 && now > w->last_ckpt_ns)
		w->input_rate = (double)w->since_ckpt * 1e9 / (double)(now - w->last_ckpt_ns);
	if (tk_ckpt_save(w) < 0) {
		tk_error("%s (cursors stay where they were; again in %lld ms)", tk_err_msg(),
			 TK_CKPT_INTERVAL_NS / 1000000);
		/* Not again at once (the pending records would ask for it on every
		 * pass, and log it): after an interval. */
		w->ckpt_failed = true;
		w->last_ckpt_ns = now;
		return false;
	}
	w->ckpt_failed = false;
	for (i = 0; i < w->nin; i++) {
		tk_log_reader_commit_at(&w->in[i], tk_worker_applied_next(w, i));
		tk_log_reader_heartbeat(&w->in[i]);
	}
	w->since_ckpt = 0;
	w->last_ckpt_ns = now;
	tk__publish(w);
	return true;
}

static void tk__lapped(struct tk_log_reader *r)
{
	tk_warn("%s: lost sequences %llu to %llu of %s (released while stalled?)", r->slot->name,
		(unsigned long long)r->gap_from, (unsigned long long)r->gap_to - 1, r->log->name);
}

/* One input: batch read, then batch apply with prefetching. */
static uint32_t tk__step_single(struct tk_worker *w)
{
	struct tk_log_reader *r = &w->in[0];
	uint32_t max = TK_WORKER_BUF >> r->shift, n;
	int st;

	n = tk_log_read_batch(r, w->buf, max < TK_READ_BATCH ? max : TK_READ_BATCH, &st);
	if (st == TK_LOG_LAPPED)
		tk__lapped(r);
	/* Records after an END: a new stream (an END among them ends it again). */
	if (n > 0)
		w->in_ended[0] = false;
	w->cur_input = 0;
	tk_worker_apply_batch(w, w->buf, n, r->slot_size);
	return n;
}

static struct tk_slot *tk__head(struct tk_worker *w, uint32_t i)
{
	if (w->in_pos[i] == w->in_n[i]) {
		struct tk_log_reader *r = &w->in[i];
		uint32_t max = TK_WORKER_BUF >> r->shift;
		int st;

		w->in_pos[i] = 0;
		w->in_n[i] = tk_log_read_batch(r, w->in_buf[i], max < TK_READ_BATCH ? max : TK_READ_BATCH,
					       &st);
		if (st == TK_LOG_LAPPED)
			tk__lapped(r);
		if (w->in_n[i] == 0)
			return NULL;
	}
	w->in_wait_since[i] = 0;
	return (struct tk_slot *)((uint8_t *)w->in_buf[i] + ((size_t)w->in_pos[i] << w->in[i].shift));
}

/* The input's clock once rec is applied: its largest event time so far. */
static int64_t tk__key(const struct tk_worker *w, uint32_t i, const struct tk_slot *rec)
{
	int64_t t = INT64_MIN;

	if (rec->type == TK_REC_TICK)
		memcpy(&t, rec->data + offsetof(struct tk_tick, ts_ns), sizeof(t));
	else if (rec->type == TK_REC_HEARTBEAT)
		memcpy(&t, rec->data + offsetof(struct tk_heartbeat, clock_ns), sizeof(t));
	return t > w->in_clock[i] ? t : w->in_clock[i];
}

static bool tk__waited(const struct tk_worker *w, uint32_t i)
{
	return !w->in_ended[i] && !w->in_silent[i];
}

/*
 * Several inputs: a merge in the order of the inputs' clocks, so that the
 * records are applied in the same order whatever was in each log when the
 * worker looked, and a restart applies them in the order its predecessor
 * did.  The next record is the one whose input clock after it (its key) is
 * the smallest, ties going to the lower input; it may be applied once every
 * other waited-for input either offers a record with a larger key or has a
 * clock already past it (its keys never go back).  Stream time is then the
 * largest key applied, so every input's own clock has passed a window's end
 * plus the lateness when it closes, and a trade is late only if its own
 * input's clock says so.
 *
 * One decision depends on timing, and only when a feed is down: an input
 * that offers nothing for input_silence_ns of wall time while another
 * waits is not waited for, nor even looked at, during a stretch of the
 * others' records (a quarter second's worth at the recent input rate, at
 * least TK_BYPASS_MIN); at the end of the stretch (a point fixed by the
 * records applied) it is waited for again if it offers a record, else
 * another stretch begins; and when nothing else offers a record while it
 * does, its stretch ends at once.  An input whose END was applied is
 * treated the same way (a record after its END starts a new stream), so
 * when a new stream is noticed is also fixed by the records applied.  Each
 * decision is made durable before it acts: the state with the decision
 * taken is checkpointed before the next record is applied (and nothing is
 * applied while that checkpoint cannot be written), so a restarted worker
 * never contradicts what its predecessor wrote.  With every feed up no
 * stretch happens, and the order is the same as any other run's.
 */
#define TK_BYPASS_MIN 1024

static uint64_t tk__stretch(const struct tk_worker *w)
{
	uint64_t n = (uint64_t)(w->input_rate / 4);

	return n > TK_BYPASS_MIN ? n : TK_BYPASS_MIN;
}

/* A silent or ended input offers a record: waited for again (a record
 * after an END starts a new stream). */
static void tk__rejoin(struct tk_worker *w, uint32_t i)
{
	w->in_silent[i] = false;
	if (w->in_ended[i]) {
		w->in_ended[i] = false;
		tk_info("%s: a record after its end of stream: a new stream, waited for",
			w->in[i].log->name);
	} else {
		tk_info("%s: offers records again: waited for again", w->in[i].log->name);
	}
}

static uint32_t tk__step_merge(struct tk_worker *w)
{
	uint32_t applied = 0, i;

	while (applied < TK_READ_BATCH) {
		int64_t best_key = INT64_MAX;
		int best = -1;
		bool blocked = false, any_silent = false, ended;

		for (i = 0; i < w->nin; i++)
			any_silent |= w->in_silent[i];
		if (w->bypass_left == 0 && any_silent) {
			/* The end of a stretch (a point fixed by the records applied):
			 * a silent input that offers a record is waited for again; one
			 * still silent starts another stretch. */
			bool still = false;

			for (i = 0; i < w->nin; i++) {
				if (!w->in_silent[i])
					continue;
				if (tk__head(w, i) != NULL) {
					tk__rejoin(w, i);
				} else {
					still = true;
				}
			}
			if (still)
				w->bypass_left = tk__stretch(w);
			w->decision_pending = true;
		}
		for (i = 0; i < w->nin; i++) {
			struct tk_slot *h;
			int64_t k;

			/* A silent input is not even looked at during a stretch: what
			 * it offers meanwhile waits for the stretch's end. */
			if (w->in_silent[i])
				continue;
			h = tk__head(w, i);
			if (h == NULL)
				continue;
			k = tk__key(w, i, h);
			if (k < best_key) {
				best_key = k;
				best = (int)i;
			}
		}
		if (best < 0) {
			/* Nothing else to apply: a silent input that offers a record
			 * ends its stretch now rather than after it. */
			bool back = false;

			for (i = 0; i < w->nin; i++)
				if (w->in_silent[i] && tk__head(w, i) != NULL) {
					tk__rejoin(w, i);
					back = true;
				}
			if (!back)
				break;
			w->bypass_left = 0;
			w->decision_pending = true;
			continue;
		}
		/* An input with nothing to offer may still bring a smaller key. */
		for (i = 0; i < w->nin; i++) {
			if (!tk__waited(w, i) || w->in_pos[i] < w->in_n[i] || (int)i == best)
				continue;
			if (w->in_clock[i] > best_key || (w->in_clock[i] == best_key && (int)i > best))
				continue;
			if (w->in_wait_since[i] == 0)
				w->in_wait_since[i] = tk_mono_coarse_ns();
			else if (tk_mono_coarse_ns() - w->in_wait_since[i] >= w->cfg.input_silence_ns) {
				uint64_t stretch = tk__stretch(w);

				w->in_silent[i] = true;
				w->in_wait_since[i] = 0;
				if (w->bypass_left < stretch)
					w->bypass_left = stretch;
				w->decision_pending = true;
				w->stats.inputs_dropped++;
				tk_warn("%s: nothing for %.1f s while %s waits: not waited for during "
					"the next %llu records (its trades for windows closed meanwhile "
					"count as late)",
					w->in[i].log->name, (double)w->cfg.input_silence_ns / 1e9,
					w->in[best].log->name, (unsigned long long)stretch);
				continue;
			}
			blocked = true;
		}
		/* Durable before anything depends on it (see above). */
		if (w->decision_pending) {
			if (!tk__checkpoint(w))
				break;
			w->decision_pending = false;
		}
		if (blocked)
			break;
		w->cur_input = (uint32_t)best;
		ended = w->in_ended[best];
		tk_worker_apply(w, tk__head(w, (uint32_t)best));
		w->in_clock[best] = best_key;
		w->in_pos[best]++;
		if (!ended && w->in_ended[best]) {
			/* Its END: not looked at again until the end of a stretch, as
			 * a silent input, so when a new stream after it shows is a
			 * point fixed by the records applied. */
			w->in_silent[best] = true;
			if (w->bypass_left == 0)
				w->bypass_left = tk__stretch(w);
			w->decision_pending = true;
		}
		if (w->bypass_left > 0)
			w->bypass_left--;
		applied++;
	}
	return applied;
}

int tk_worker_run(struct tk_worker *w, volatile int *stop)
{
	uint32_t i, ended;

	while (!*stop) {
		uint32_t got = w->nin == 1 ? tk__step_single(w) : tk__step_merge(w);

		for (i = 0, ended = 0; i < w->nin; i++)
			ended += tk_worker_input_done(w, i);
		w->since_ckpt += got;
		/* The cursors may advance only past a checkpoint: one every
		 * TK_CKPT_INTERVAL_NS at most while input flows or after it
		 * stopped (an idle moment is not a reason: at a few thousand
		 * trades a second every poll finds the log empty), sooner only
		 * when a quarter ring is pending (the gate must not fill), and at
		 * the end of a stream.  The clock is the vDSO's coarse one. */
		if (w->since_ckpt > 0 &&
		    ((w->since_ckpt >= w->ckpt_every && !w->ckpt_failed) ||
		     tk_mono_coarse_ns() - w->last_ckpt_ns >= TK_CKPT_INTERVAL_NS ||
		     (w->cfg.exit_at_end && ended == w->nin)))
			tk__checkpoint(w);
		if (w->cfg.exit_at_end && ended == w->nin)
			return 0;
		if (got == 0) {
			for (i = 0; i < w->nin; i++)
				tk_log_reader_heartbeat(&w->in[i]);
			tk_idle_wait(&w->idle, w->nin == 1 ? &w->in[0] : NULL, 100 * 1000 * 1000);
		} else {
			tk_idle_reset(&w->idle);
		}
	}
	if (w->since_ckpt > 0)
		tk__checkpoint(w);
	return 0;
}

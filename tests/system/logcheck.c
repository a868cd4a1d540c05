#include "tests/system/logcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "shm/idle.h"

static uint64_t tk__mix(uint64_t seq)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29);
}

uint64_t tk_check_scale(uint64_t n)
{
	const char *s = getenv("TICKD_TEST_SCALE");

	return s != NULL && strcmp(s, "small") == 0 ? n / 10 : n;
}

uint64_t tk_check_write(struct tk_log_region *log, uint64_t n, uint32_t batch, bool verbose)
{
	struct tk_log_writer w;
	struct tk_idle idle;
	uint64_t written = 0;

	if (tk_log_writer_open(&w, log) < 0) {
		fprintf(stderr, "writer: %s\n", tk_err_msg());
		exit(3);
	}
	tk_idle_init(&idle, TK_IDLE_BACKOFF);
	while (written < n) {
		uint32_t want = n - written < batch ? (uint32_t)(n - written) : batch, got, i;
		struct tk_slot *s = tk_log_claim(&w, want, &got);

		if (s == NULL) {
			tk_idle_wait(&idle, NULL, 0);
			continue;
		}
		tk_idle_reset(&idle);
		for (i = 0; i < got; i++) {
			uint64_t seq = w.next + i, v[2] = { seq, tk__mix(seq) };

			s[i].type = 100;
			s[i].aux = (uint32_t)seq;
			memcpy(s[i].data, v, sizeof(v));
			memset(s[i].data + 16, (int)(seq & 0xff), 32);
		}
		tk_log_publish(&w, got);
		written += got;
	}
	if (verbose)
		printf("writer: wrote %llu, last sequence %llu, waits %llu (%.1f ms), released %llu "
		       "dead, %llu stalled\n",
		       (unsigned long long)written, (unsigned long long)(w.next - 1),
		       (unsigned long long)log->writer_waits, (double)log->writer_wait_ns / 1e6,
		       (unsigned long long)log->releases_dead, (unsigned long long)log->releases_stall);
	tk_log_writer_close(&w);
	return w.next - 1;
}

static bool tk__valid(const struct tk_slot *s)
{
	uint64_t v[2];
	int i;

	memcpy(v, s->data, sizeof(v));
	if (s->type != 100 || v[0] != s->seq || v[1] != tk__mix(s->seq) || s->aux != (uint32_t)s->seq)
		return false;
	for (i = 16; i < 48; i++)
		if (s->data[i] != (uint8_t)(s->seq & 0xff))
			return false;
	return true;
}

int tk_check_read(const struct tk_segment *seg, const char *log, const char *name, bool gating,
		  enum tk_check_idle idle_kind, uint64_t until, uint32_t commit_every,
		  volatile struct tk_check_result *res)
{
	struct tk_reader_opts o = { .name = name, .gating = gating, .start = TK_START_RESUME };
	struct tk_log_reader r;
	struct tk_slot buf[64];
	struct tk_idle idle;
	uint64_t expect, since_commit = 0;

	memset((void *)res, 0, sizeof(*res));
	if (tk_log_reader_open(&r, seg, log, &o) < 0) {
		fprintf(stderr, "reader %s: %s\n", name ? name : "-", tk_err_msg());
		return -1;
	}
	res->resumed = r.resumed;
	res->resumed_at = r.next;
	expect = r.next;
	tk_idle_init(&idle, idle_kind == TK_CHECK_SPIN ? TK_IDLE_SPIN : TK_IDLE_BACKOFF);
	while (expect <= until) {
		int st;
		uint32_t n = tk_log_read_batch(&r, buf, 64, &st), i;

		for (i = 0; i < n; i++) {
			if (buf[i].seq != expect || !tk__valid(&buf[i])) {
				if (res->errors++ < 5)
					fprintf(stderr, "reader %s: expected %llu, got %llu (%s)\n",
						name ? name : "-", (unsigned long long)expect,
						(unsigned long long)buf[i].seq,
						tk__valid(&buf[i]) ? "valid record" : "bad payload");
			}
			if (res->received == 0)
				res->first_seq = buf[i].seq;
			res->last_seq = buf[i].seq;
			res->received++;
			expect = buf[i].seq + 1;
		}
		since_commit += n;
		if (since_commit >= commit_every) {
			tk_log_reader_commit(&r);
			since_commit = 0;
		}
		if (st == TK_LOG_LAPPED) {
			if (res->gaps == 0) {
				res->first_gap_from = r.gap_from;
				res->first_gap_to = r.gap_to;
			}
			res->gaps++;
			res->skipped += r.gap_to - r.gap_from;
			expect = r.gap_to;
			continue;
		}
		if (n == 0) {
			tk_log_reader_commit(&r);
			tk_log_reader_heartbeat(&r);
			tk_idle_wait(&idle, NULL, 0);
		} else {
			tk_idle_reset(&idle);
		}
	}
	tk_log_reader_commit(&r);
	tk_log_reader_close(&r);
	return 0;
}

void tk_check_print(const char *who, const struct tk_check_result *res)
{
	printf("%s: received %llu (%llu..%llu), skipped %llu in %llu gaps, errors %llu%s\n", who,
	       (unsigned long long)res->received, (unsigned long long)res->first_seq,
	       (unsigned long long)res->last_seq, (unsigned long long)res->skipped,
	       (unsigned long long)res->gaps, (unsigned long long)res->errors,
	       res->resumed ? " (resumed)" : "");
}

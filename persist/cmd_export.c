/*
 * tickd export: records of the journal as JSON lines (exactly what tickd
 * tail prints for the same records) or CSV (a header row, then the same
 * values: loads with PostgreSQL's COPY ... CSV HEADER and pandas.read_csv).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "common/json.h"
#include "common/opts.h"
#include "persist/cmd.h"
#include "persist/format.h"
#include "persist/query.h"
#include "shm/records.h"
#include "shm/render.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tickd export STREAM [options]\n"
		"Records of the journal: STREAM is ticks (trades and feed gaps), bars.1s, bars.1m,\n"
		"..., signals, or gaps (the feeds' gaps and what the journal itself missed).\n\n"
		"  --date D         one UTC day, YYYY-MM-DD\n"
		"  --from T --to T  event time from T (inclusive) to T (exclusive): epoch ms or ISO\n"
		"                   8601 (2026-12-01, 2026-12-01T14:30:00Z, ...T09:30-05:00; no zone\n"
		"                   means UTC)\n"
		"  --symbol S       only this symbol's records\n"
		"  --limit N        at most N records\n"
		"  --format F       jsonl (default: the lines tickd tail prints) or csv\n"
		"  --heartbeats     also the feed's heartbeats (jsonl)\n"
		"  --data-dir DIR   the journal (env TICKD_DATA_DIR; ./tickd-data)\n"
		"Exit status 0; 1 if a file could not be read or a block fails its check (the\n"
		"rest is still printed); 2 for a bad option.\n");
}

/* ----------------------------------------------------------- CSV */

/* The columns of a CSV export, fixed per stream so every row has them all. */
struct tk_csv {
	char cols[32][40];
	int ncols;
	bool header_done;
	bool trades; /* the ticks stream: trades only, conditions always a column */
	bool gaps;
};

/* One value of a flat JSON object rendered by shm/render.c: its text and
 * kind.  p points after the key's colon; returns the end. */
static const char *tk__json_value(const char *p, const char **v, size_t *vlen, char *kind)
{
	if (*p == '"') {
		const char *s = ++p;

		while (*p != '"' && *p != 0)
			p += *p == '\\' && p[1] != 0 ? 2 : 1;
		*v = s;
		*vlen = (size_t)(p - s);
		*kind = 's';
		return *p == '"' ? p + 1 : p;
	}
	if (*p == '[') {
		const char *s = ++p;

		while (*p != ']' && *p != 0)
			p++;
		*v = s;
		*vlen = (size_t)(p - s);
		*kind = 'a';
		return *p == ']' ? p + 1 : p;
	}
	*v = p;
	while (*p != ',' && *p != '}' && *p != 0)
		p++;
	*vlen = (size_t)(p - *v);
	*kind = (*vlen == 4 && memcmp(*v, "null", 4) == 0) ? 'n' : 'v';
	return p;
}

/* Names of a rendered object's keys, in order (the header of a stream). */
static void tk__csv_columns(struct tk_csv *csv, const char *json)
{
	const char *p = json + 1;

	csv->ncols = 0;
	while (*p == '"' && csv->ncols < 32) {
		const char *k = ++p, *v;
		size_t vlen;
		char kind;

		while (*p != '"' && *p != 0)
			p++;
		snprintf(csv->cols[csv->ncols++], sizeof(csv->cols[0]), "%.*s", (int)(p - k), k);
		if (*p != '"' || p[1] != ':')
			break;
		p = tk__json_value(p + 2, &v, &vlen, &kind);
		if (*p == ',')
			p++;
	}
}

static void tk__csv_string(struct tk_buf *b, const char *s, size_t n)
{
	bool quote = n == 0 ? false : (s[0] == ' ' || s[n - 1] == ' ');
	size_t i;

	for (i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r' || s[i] == '\\';
	if (!quote) {
		tk_buf_put(b, s, n);
		return;
	}
	tk_buf_put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		char ch = s[i];

		/* JSON escapes back to the character (symbols never hold
		 * control characters: shm/symbol.h). */
		if (ch == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '/'))
			ch = s[++i];
		if (ch == '"')
			tk_buf_put(b, "\"", 1);
		tk_buf_put(b, &ch, 1);
	}
	tk_buf_put(b, "\"", 1);
}

/* One CSV row from a rendered object: its values under the header's columns. */
static void tk__csv_row(struct tk_buf *b, const struct tk_csv *csv, const char *json)
{
	int c;

	for (c = 0; c < csv->ncols; c++) {
		const char *p = json + 1;
		size_t klen = strlen(csv->cols[c]);

		if (c > 0)
			tk_buf_put(b, ",", 1);
		while (*p == '"') {
			const char *k = ++p, *v;
			size_t vlen, kl;
			char kind;

			while (*p != '"' && *p != 0)
				p++;
			kl = (size_t)(p - k);
			if (*p != '"' || p[1] != ':')
				break;
			p = tk__json_value(p + 2, &v, &vlen, &kind);
			if (kl == klen && memcmp(k, csv->cols[c], klen) == 0) {
				if (kind == 's') {
					tk__csv_string(b, v, vlen);
				} else if (kind == 'a') {
					size_t i;

					for (i = 0; i < vlen; i++)
						tk_buf_put(b, v[i] == ',' ? "|" : &v[i], 1);
				} else if (kind == 'v') {
					tk_buf_put(b, v, vlen);
				}
				break;
			}
			if (*p == ',')
				p++;
		}
	}
	tk_buf_put(b, "\n", 1);
}

/* ----------------------------------------------------------- output */

struct tk_export {
	bool csv;
	struct tk_csv c;
	char line[8192];
	char row[8192];
	int failed; /* stdout could not be written */
};

static void tk__render_loss(struct tk_buf *b, const void *slot, const char *log)
{
	struct tkj_loss l;

	memcpy(&l, (const uint8_t *)slot + 16, sizeof(l));
	tk_buf_printf(b, "{\"type\":\"loss\",\"log\":\"%s\",\"from\":%" PRIu64 ",\"to\":%" PRIu64
			 ",\"at\":%lld,\"reason\":\"%s\"}",
		      log, l.from, l.to, (long long)(l.at_ns / 1000000),
		      l.reason == 2 ? "started after they were gone" : "lapped or released");
}

static int tk__export_record(void *ctx, const void *slot, uint32_t rs, const char *symbol,
			     const char *log)
{
	struct tk_export *x = ctx;
	uint64_t seq;
	uint32_t type, aux;
	struct tk_buf b;

	memcpy(&seq, slot, 8);
	memcpy(&type, (const uint8_t *)slot + 8, 4);
	memcpy(&aux, (const uint8_t *)slot + 12, 4);
	if (x->csv && x->c.trades && type != TK_REC_TICK)
		return 0; /* a trades table: gaps are the gaps stream's */
	tk_buf_init(&b, x->line, sizeof(x->line));
	if (seq == 0 && type == TKJ_REC_LOSS)
		tk__render_loss(&b, slot, log);
	else
		tk_render_json_named(&b, seq, type, aux, (const uint8_t *)slot + 16, rs - 16, symbol);
	if (b.overflow)
		return 0;
	if (!x->csv) {
		tk_buf_put(&b, "\n", 1);
		if (fwrite(x->line, 1, b.len, stdout) != b.len)
			return x->failed = 2;
		return 0;
	}
	tk_buf_put(&b, "", 1); /* NUL: the row parser reads a C string */
	if (!x->c.header_done) {
		struct tk_buf h;
		int i;

		if (x->c.trades) {
			static const char *cols[] = { "symbol", "price", "size", "ts", "conditions",
						      "seq" };

			x->c.ncols = 6;
			for (i = 0; i < 6; i++)
				snprintf(x->c.cols[i], sizeof(x->c.cols[i]), "%s", cols[i]);
		} else if (x->c.gaps) {
			static const char *cols[] = { "type", "log", "from", "to", "symbols",
						      "feed", "at", "reason", "seq" };

			x->c.ncols = 9;
			for (i = 0; i < 9; i++)
				snprintf(x->c.cols[i], sizeof(x->c.cols[i]), "%s", cols[i]);
		} else {
			tk__csv_columns(&x->c, x->line);
		}
		tk_buf_init(&h, x->row, sizeof(x->row));
		for (i = 0; i < x->c.ncols; i++)
			tk_buf_printf(&h, "%s%s", i ? "," : "", x->c.cols[i]);
		tk_buf_put(&h, "\n", 1);
		if (fwrite(x->row, 1, h.len, stdout) != h.len)
			return x->failed = 2;
		x->c.header_done = true;
	}
	{
		struct tk_buf r;

		tk_buf_init(&r, x->row, sizeof(x->row));
		tk__csv_row(&r, &x->c, x->line);
		if (fwrite(x->row, 1, r.len, stdout) != r.len)
			return x->failed = 2;
	}
	return 0;
}

int tk_cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "date", required_argument, 0, 'D' },     { "from", required_argument, 0, 'f' },
		{ "to", required_argument, 0, 't' },       { "symbol", required_argument, 0, 's' },
		{ "limit", required_argument, 0, 'l' },    { "format", required_argument, 0, 'F' },
		{ "heartbeats", no_argument, 0, 'b' },     { "data-dir", required_argument, 0, 'd' },
		{ "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 }
	};
	static struct tk_export x;
	static char outbuf[1 << 20];
	struct tkj_query q = { .dir = "tickd-data", .from_ns = INT64_MIN, .to_ns = INT64_MAX,
			       .late_days = 1 };
	struct tkj_query_stats st;
	const char *date = NULL, *from = NULL, *to = NULL;
	int c, rc;

	tk_config_args(longopts, &argc, &argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'D': date = optarg; break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 's': q.symbol = optarg; break;
		case 'l': q.limit = tk_opt_u64("--limit", optarg, 1, UINT64_MAX / 2); break;
		case 'F':
			if (strcmp(optarg, "jsonl") != 0 && strcmp(optarg, "csv") != 0)
				tk_opt_fail("--format", "'%s' is not jsonl or csv", optarg);
			x.csv = strcmp(optarg, "csv") == 0;
			break;
		case 'b': q.heartbeats = true; break;
		case 'd': q.dir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	q.stream = argv[optind];
	if (date != NULL) {
		int32_t day;

		if (from != NULL || to != NULL)
			tk_opt_fail("--date", "is a day: give --date or --from/--to, not both");
		if (tkj_day_parse(date, &day) < 0)
			tk_opt_fail("--date", "'%s' is not a date YYYY-MM-DD", date);
		q.from_ns = (int64_t)day * 86400LL * 1000000000LL;
		q.to_ns = q.from_ns + 86400LL * 1000000000LL;
	}
	if (from != NULL && tkj_parse_time(from, &q.from_ns) < 0)
		tk_opt_fail("--from", "'%s' is not epoch milliseconds or an ISO 8601 time", from);
	if (to != NULL && tkj_parse_time(to, &q.to_ns) < 0)
		tk_opt_fail("--to", "'%s' is not epoch milliseconds or an ISO 8601 time", to);
	if (q.from_ns >= q.to_ns)
		tk_opt_fail("--to", "is not after --from");
	if (strcmp(q.stream, "gaps") != 0) {
		char path[1024], list[2048];

		snprintf(path, sizeof(path), "%s/%s", q.dir, q.stream);
		if (tkj_query_streams(q.dir, list, sizeof(list)) < 0) {
			fprintf(stderr, "tickd export: %s\n", tk_err_msg());
			return 1;
		}
		{
			/* A stream the journal has never seen is a typo more often than not. */
			char *save = NULL, *s;
			bool found = false;

			for (s = strtok_r(list, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save))
				found |= strcmp(s, q.stream) == 0;
			if (!found) {
				char again[2048];

				tkj_query_streams(q.dir, again, sizeof(again));
				fprintf(stderr, "tickd export: no stream '%s' in %s (it has: %s; and gaps)\n",
					q.stream, q.dir, again[0] ? again : "nothing yet");
				return 1;
			}
		}
	}
	x.c.trades = strcmp(q.stream, "ticks") == 0;
	x.c.gaps = strcmp(q.stream, "gaps") == 0;
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	rc = tkj_query_run(&q, tk__export_record, &x, &st);
	if (fflush(stdout) != 0 || x.failed) {
		fprintf(stderr, "tickd export: cannot write the output\n");
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "tickd export: %s\n", tk_err_msg());
		return 1;
	}
	return 0;
}

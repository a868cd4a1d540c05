/* Retention and snapshots of the journal (retain.h). */
#include "persist/retain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "persist/files.h"
#include "persist/format.h"
#include "persist/index.h"
#include "persist/query.h"
#include "persist/recover.h"

#define TKJ_NS_PER_HOUR (3600LL * 1000000000LL)

static int tkj__rule_set(struct tkj_rule *rules, int *n, int max, const char *stream,
			 int64_t keep)
{
	int i;

	for (i = 0; i < *n; i++)
		if (strcmp(rules[i].stream, stream) == 0) {
			rules[i].keep_ns = keep;
			return 0;
		}
	if (*n == max)
		return -ENOSPC;
	snprintf(rules[*n].stream, sizeof(rules[*n].stream), "%s", stream);
	rules[*n].keep_ns = keep;
	(*n)++;
	return 0;
}

static int tkj__parse_into(const char *text, struct tkj_rule *rules, int *n, int max)
{
	char buf[512], *save = NULL, *item;

	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
		return tk_err_set(-EINVAL, "retention: too long");
	for (item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *end;
		int64_t keep;
		double v;

		if (eq == NULL || eq == item || (size_t)(eq - item) >= sizeof(rules[0].stream))
			return tk_err_set(-EINVAL, "retention '%s': not STREAM=AGE (like ticks=30d)",
					  item);
		*eq = 0;
		if (strcmp(eq + 1, "forever") == 0 || strcmp(eq + 1, "0") == 0) {
			keep = 0;
		} else {
			v = strtod(eq + 1, &end);
			/* At most 100 years in either unit: 36500 * 24 days
			 * overflowed the int64 ns (undefined behaviour; tests/fuzz/
			 * fuzz_journal.c, corpus_journal/crash_retain_overflow). */
			if (end == eq + 1 || !(v > 0) || v > (*end == 'd' ? 36500 : 36500 * 24) ||
			    (strcmp(end, "d") != 0 && strcmp(end, "h") != 0))
				return tk_err_set(-EINVAL, "retention of %s: '%s' is not an age like "
							   "30d, 12h or forever",
						  item, eq + 1);
			keep = (int64_t)(v * (double)TKJ_NS_PER_HOUR * (*end == 'd' ? 24 : 1));
		}
		if (tkj__rule_set(rules, n, max, item, keep) < 0)
			return tk_err_set(-EINVAL, "retention: more than %d rules", max);
	}
	return 0;
}

int tkj_retain_parse(const char *text, struct tkj_rule *rules, int max)
{
	int n = 0, rc;

	rc = tkj__parse_into(TKJ_RETAIN_DEFAULT, rules, &n, max);
	if (rc == 0 && text != NULL && *text != 0)
		rc = tkj__parse_into(text, rules, &n, max);
	return rc < 0 ? rc : n;
}

int64_t tkj_retain_of(const struct tkj_rule *rules, int n, const char *stream)
{
	size_t plen = strcspn(stream, ".");
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(rules[i].stream, stream) == 0)
			return rules[i].keep_ns;
	for (i = 0; i < n; i++)
		if (strlen(rules[i].stream) == plen && strncmp(rules[i].stream, stream, plen) == 0)
			return rules[i].keep_ns;
	return 0;
}

static int64_t tkj__mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* A file the journal makes: data, index, a torn tail kept aside, a file
 * being made. */
static bool tkj__journal_file(const char *name)
{
	char log[TKJ_NAME_MAX];
	uint64_t g, q;
	size_t n = strlen(name);

	if (strstr(name, ".tkj.torn-") != NULL)
		return true;
	if (n > 4 && strcmp(name + n - 4, ".idx") == 0) {
		char base[256];

		snprintf(base, sizeof(base), "%.*s", (int)(n - 4), name);
		return tkj_file_name_parse(base, log, sizeof(log), &g, &q) == 0;
	}
	if (n > 4 && strcmp(name + n - 4, ".new") == 0) {
		char base[256];

		snprintf(base, sizeof(base), "%.*s", (int)(n - 4), name);
		return tkj_file_name_parse(base, log, sizeof(log), &g, &q) == 0;
	}
	return tkj_file_name_parse(name, log, sizeof(log), &g, &q) == 0;
}

/* Remove a day directory's journal files, then the directory if that
 * leaves it empty (dry_run: count them only). */
static int tkj__remove_day(const char *path, bool dry_run, struct tkj_retain_result *res)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int rc = 0;

	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		char p[1400];
		struct stat st;

		if (!tkj__journal_file(de->d_name))
			continue; /* not ours (lost+found, a note): left, and the day with it */
		if (snprintf(p, sizeof(p), "%s/%s", path, de->d_name) >= (int)sizeof(p))
			continue;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && (dry_run || unlink(p) == 0)) {
			res->files_deleted++;
			res->bytes_deleted += (uint64_t)st.st_blocks * 512;
		} else if (!dry_run) {
			rc = -errno;
		}
	}
	closedir(d);
	/* ENOTEMPTY: something not ours is left in it; the data is gone. */
	if (!dry_run && rc == 0 && rmdir(path) < 0 && errno != ENOTEMPTY)
		rc = -errno;
	return rc;
}

int tkj_retain_run(const char *dir, const struct tkj_rule *rules, int n, int64_t now_ns,
		   bool dry_run, void (*say)(void *ctx, const char *line), void *ctx,
		   struct tkj_retain_result *res)
{
	char list[2048], *save = NULL, *stream;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = tkj_query_streams(dir, list, sizeof(list));
	if (rc < 0)
		return rc;
	for (stream = strtok_r(list, ",", &save); stream != NULL; stream = strtok_r(NULL, ",", &save)) {
		int64_t keep = tkj_retain_of(rules, n, stream);
		struct tkj_file_ref *f;
		int nf, i, k;
		int32_t *active = NULL;
		int nactive = 0;

		nf = tkj_list_files(dir, stream, NULL, INT32_MIN, INT32_MAX, &f);
		if (nf < 0)
			return tk_err_set(nf, "retention: cannot list %s/%s: %s", dir, stream,
					  strerror(-nf));
		/* The days holding a log's newest file: never deleted. */
		active = calloc((size_t)nf + 1, sizeof(*active));
		for (i = 0; active != NULL && i < nf; i++) {
			bool newest = true;

			for (k = 0; k < nf && newest; k++)
				if (k != i && strcmp(f[k].log, f[i].log) == 0 &&
				    (f[k].generation > f[i].generation ||
				     (f[k].generation == f[i].generation && f[k].first_seq > f[i].first_seq)))
					newest = false;
			if (newest)
				active[nactive++] = f[i].day;
		}
		for (i = 0; i < nf; i++) {
			int32_t day = f[i].day;
			int64_t last = INT64_MIN;
			bool is_active = false;
			char daydir[1100], name[16], line[1400];
			struct tkj_retain_result one = { 0 };

			if (i > 0 && f[i - 1].day == day)
				continue; /* one decision per day */
			for (k = 0; k < nactive; k++)
				is_active |= active[k] == day;
			for (k = i; k < nf && f[k].day == day; k++) {
				struct stat st;

				if (stat(f[k].path, &st) == 0 && tkj__mtime_ns(&st) > last)
					last = tkj__mtime_ns(&st);
			}
			if (keep == 0 || is_active || last == INT64_MIN || now_ns - last <= keep) {
				res->days_kept++;
				continue;
			}
			tkj_day_name(day, name, sizeof(name));
			snprintf(daydir, sizeof(daydir), "%s/%s/%s", dir, stream, name);
			rc = tkj__remove_day(daydir, dry_run, &one);
			if (rc < 0) {
				/* Said, and the rest goes on: one bad day must not keep
				 * every other one (and the disk fills). */
				snprintf(line, sizeof(line), "cannot remove %s: %s", daydir,
					 strerror(-rc));
				if (say != NULL)
					say(ctx, line);
				res->errors++;
				continue;
			}
			res->days_deleted++;
			res->files_deleted += one.files_deleted;
			res->bytes_deleted += one.bytes_deleted;
			snprintf(line, sizeof(line),
				 "%s %s: last written %.1f days ago, past its %.1f days (%u files, %" PRIu64
				 " bytes)",
				 dry_run ? "would delete" : "deleted", daydir,
				 (double)(now_ns - last) / 86400e9, (double)keep / 86400e9, one.files_deleted,
				 one.bytes_deleted);
			if (say != NULL)
				say(ctx, line);
		}
		free(active);
		free(f);
	}
	return 0;
}

/* ----------------------------------------------------------- snapshot */

/* Copy the first len bytes of src to dst (created), synced. */
static int tkj__copy(const char *src, const char *dst, uint64_t len, uint64_t *copied)
{
	static char buf[1 << 20];
	int in = open(src, O_RDONLY | O_CLOEXEC), out, rc = 0;
	uint64_t off = 0;

	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while (off < len) {
		size_t want = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
		ssize_t n = pread(in, buf, want, (off_t)off);

		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		if (write(out, buf, (size_t)n) != n) {
			rc = -EIO;
			break;
		}
		off += (uint64_t)n;
	}
	if (rc == 0 && fsync(out) < 0)
		rc = -errno;
	close(in);
	close(out);
	*copied += off;
	return rc;
}

int tkj_snapshot(const char *dir, const char *out, struct tkj_snapshot_result *res)
{
	char list[2048], *save = NULL, *stream;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = tkj_mkdirs(out);
	if (rc < 0)
		return tk_err_set(rc, "snapshot: cannot create %s: %s", out, strerror(-rc));
	rc = tkj_query_streams(dir, list, sizeof(list));
	if (rc < 0)
		return rc;
	for (stream = strtok_r(list, ",", &save); stream != NULL; stream = strtok_r(NULL, ",", &save)) {
		struct tkj_file_ref *f;
		int nf = tkj_list_files(dir, stream, NULL, INT32_MIN, INT32_MAX, &f), i, k;

		if (nf < 0)
			return tk_err_set(nf, "snapshot: cannot list %s/%s", dir, stream);
		for (i = 0; i < nf; i++) {
			char ddir[1100], dst[1300], name[16], isrc[1400], idst[1400];
			const char *base = strrchr(f[i].path, '/') + 1;
			bool newest = true;

			for (k = 0; k < nf && newest; k++)
				if (k != i && strcmp(f[k].log, f[i].log) == 0 &&
				    (f[k].generation > f[i].generation ||
				     (f[k].generation == f[i].generation && f[k].first_seq > f[i].first_seq)))
					newest = false;
			tkj_day_name(f[i].day, name, sizeof(name));
			if (snprintf(ddir, sizeof(ddir), "%s/%s/%s", out, stream, name) >= (int)sizeof(ddir) ||
			    snprintf(dst, sizeof(dst), "%s/%s", ddir, base) >= (int)sizeof(dst)) {
				free(f);
				return tk_err_set(-ENAMETOOLONG, "snapshot: path too long in %s", out);
			}
			rc = tkj_mkdirs(ddir);
			if (rc < 0) {
				free(f);
				return tk_err_set(rc, "snapshot: cannot create %s: %s", ddir, strerror(-rc));
			}
			tkj_index_path(f[i].path, isrc, sizeof(isrc));
			tkj_index_path(dst, idst, sizeof(idst));
			if (!newest) {
				/* Done: never written again, so a link is a copy. */
				if (link(f[i].path, dst) == 0) {
					res->files_linked++;
					if (link(isrc, idst) < 0)
						unlink(idst);
				} else if (errno == EXDEV) {
					struct stat st;

					rc = stat(f[i].path, &st) < 0 ? -errno
								      : tkj__copy(f[i].path, dst, (uint64_t)st.st_size,
										  &res->bytes_copied);
					if (rc < 0) {
						free(f);
						return tk_err_set(rc, "snapshot: cannot copy %s: %s", f[i].path,
								  strerror(-rc));
					}
					res->files_copied++;
				} else {
					rc = -errno;
					free(f);
					return tk_err_set(rc, "snapshot: cannot link %s to %s: %s",
							  f[i].path, dst, strerror(-rc));
				}
			} else {
				/* Being written: up to its last complete block, as of now. */
				struct tkj_scan *sc = malloc(sizeof(*sc));
				int fd = open(f[i].path, O_RDONLY | O_CLOEXEC), cfd;

				if (sc == NULL || fd < 0 ||
				    tkj_scan_file(f[i].path, fd, 0, 0, false, sc, NULL, 0) < 0) {
					rc = fd < 0 ? -errno : -EIO;
					if (fd >= 0)
						close(fd);
					free(sc);
					free(f);
					return tk_err_set(rc, "snapshot: cannot read %s: %s", f[i].path,
							  tk_err_msg());
				}
				close(fd);
				rc = tkj__copy(f[i].path, dst, sc->end, &res->bytes_copied);
				free(sc);
				if (rc < 0) {
					free(f);
					return tk_err_set(rc, "snapshot: cannot copy %s: %s", f[i].path,
							  strerror(-rc));
				}
				res->files_copied++;
				/* Its index, made for the copy. */
				cfd = open(dst, O_RDWR | O_CLOEXEC);
				sc = malloc(sizeof(*sc));
				if (cfd >= 0 && sc != NULL)
					tkj_scan_file(dst, cfd, 0, 0, true, sc, NULL, 0);
				if (cfd >= 0)
					close(cfd);
				free(sc);
			}
			tkj_fsync_dir(ddir);
		}
		free(f);
	}
	return 0;
}

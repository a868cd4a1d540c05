#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "shm/log.h"
#include "shm/segment.h"
#include "tests/helpers.h"

static char path[128];

/* ASan would turn the SIGSEGV that reader_cannot_write_the_data expects into
 * an abort; let the signal through (other crashes still fail their test). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "handle_segv=0";
}

static void teardown(void)
{
	unlink(path);
}

TestSuite(segment, .fini = teardown);

static void make(struct tk_segment *seg)
{
	cr_assert_eq(tk_test_segment(seg, path, sizeof(path), 1024, 4), 0, "%s", tk_err_msg());
}

static void poke(off_t off, const void *bytes, size_t n)
{
	int fd = open(path, O_RDWR);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

Test(segment, created_header_describes_the_segment)
{
	struct tk_segment seg, att;
	struct stat st;

	make(&seg);
	cr_assert_eq(memcmp(seg.hdr->magic, "TICKDSEG", 8), 0);
	cr_assert_eq(seg.hdr->abi_version, TK_SEG_ABI_VERSION);
	cr_assert_eq(seg.hdr->creator_pid, getpid());
	cr_assert_gt(seg.hdr->created_ns, 1700000000LL * 1000000000LL);
	cr_assert_eq(seg.hdr->config.nlogs, 1);
	cr_assert_eq(seg.hdr->config.logs[0].nslots, 1024);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "default permissions are 0600");
	cr_assert_eq((uint64_t)st.st_size, seg.hdr->total_size);
	cr_assert_eq(tk_segment_attach(&att, path, TK_ATTACH_READER), 0, "%s", tk_err_msg());
	cr_assert_not_null(tk_log_find(&att, "t"));
	cr_assert_null(tk_log_find(&att, "nope"));
	tk_segment_detach(&att);
	tk_segment_detach(&seg);
}

Test(segment, group_and_mode_are_applied)
{
	struct tk_seg_config cfg;
	struct tk_segment seg;
	struct stat st;

	tk_seg_config_default(&cfg);
	tk_seg_config_add_log(&cfg, "t", 64, 64, 2);
	cfg.mode = 0640;
	cfg.gid = (int32_t)getgid();
	cr_assert_eq(tk_segment_create(&seg, tk_test_path(path, sizeof(path), "grp"), &cfg, true), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640);
	cr_assert_eq(st.st_gid, getgid());
	tk_segment_detach(&seg);
}

Test(segment, existing_segment_is_not_replaced_unless_asked)
{
	struct tk_seg_config cfg;
	struct tk_segment seg, again;

	make(&seg);
	tk_seg_config_default(&cfg);
	tk_seg_config_add_log(&cfg, "t", 64, 64, 2);
	cr_assert_eq(tk_segment_create(&again, path, &cfg, false), -EEXIST);
	cr_assert(strstr(tk_err_msg(), "--fresh") != NULL);
	cr_assert_eq(tk_segment_create(&again, path, &cfg, true), 0);
	tk_segment_detach(&again);
	tk_segment_detach(&seg);
}

Test(segment, missing_segment_says_how_to_start_one)
{
	struct tk_segment seg;

	cr_assert_eq(tk_segment_attach(&seg, "/dev/shm/tickd-test-does-not-exist", TK_ATTACH_READER),
		     -ENOENT);
	cr_assert(strstr(tk_err_msg(), "tickd run") != NULL, "%s", tk_err_msg());
}

Test(segment, other_abi_version_is_refused_with_both_versions_named)
{
	struct tk_segment seg, att;
	uint32_t v = TK_SEG_ABI_VERSION + 1;

	make(&seg);
	tk_segment_detach(&seg);
	poke(offsetof(struct tk_seg_header, abi_version), &v, sizeof(v));
	cr_assert_eq(tk_segment_attach(&att, path, TK_ATTACH_READER), -EPROTO);
	char want[64];

	snprintf(want, sizeof(want), "ABI version %u, this build reads version %u", v,
		 TK_SEG_ABI_VERSION);
	cr_assert(strstr(tk_err_msg(), want) != NULL, "%s", tk_err_msg());
}

Test(segment, truncated_segment_is_refused)
{
	struct tk_segment seg, att;

	make(&seg);
	tk_segment_detach(&seg);
	cr_assert_eq(truncate(path, 8192), 0);
	cr_assert_eq(tk_segment_attach(&att, path, TK_ATTACH_READER), -EBADF);
	cr_assert(strstr(tk_err_msg(), "truncated") != NULL, "%s", tk_err_msg());
	cr_assert_eq(truncate(path, 100), 0);
	cr_assert_eq(tk_segment_attach(&att, path, TK_ATTACH_READER), -EBADF);
	cr_assert(strstr(tk_err_msg(), "truncated") != NULL, "%s", tk_err_msg());
}

Test(segment, foreign_files_are_refused)
{
	struct tk_segment att;
	char junk[8192];
	int fd;

	tk_test_path(path, sizeof(path), "foreign");
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	memset(junk, 'x', sizeof(junk));
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	cr_assert_eq(tk_segment_attach(&att, path, TK_ATTACH_READER), -EPROTO);
	cr_assert(strstr(tk_err_msg(), "not a tickd segment") != NULL, "%s", tk_err_msg());
	cr_assert_eq(truncate(path, 0), 0);
	cr_assert_eq(tk_segment_attach(&att, path, TK_ATTACH_READER), -EPROTO);
	cr_assert(strstr(tk_err_msg(), "empty file") != NULL, "%s", tk_err_msg());
	cr_assert_eq(tk_segment_attach(&att, "/dev/shm", TK_ATTACH_READER), -EISDIR);
}

Test(segment, corrupt_header_fails_its_checksum)
{
	struct tk_segment seg, att;
	uint32_t slots = 4096;

	make(&seg);
	tk_segment_detach(&seg);
	poke(offsetof(struct tk_seg_header, config) + offsetof(struct tk_seg_config, logs) +
		     offsetof(struct tk_log_spec, nslots), &slots, sizeof(slots));
	cr_assert_eq(tk_segment_attach(&att, path, TK_ATTACH_READER), -EBADF);
	cr_assert(strstr(tk_err_msg(), "checksum") != NULL, "%s", tk_err_msg());
}

Test(segment, unfinished_segment_is_refused)
{
	struct tk_segment seg, att;
	uint32_t zero = 0;

	make(&seg);
	tk_segment_detach(&seg);
	poke(offsetof(struct tk_seg_header, ready), &zero, sizeof(zero));
	cr_assert_eq(tk_segment_attach(&att, path, TK_ATTACH_READER), -EAGAIN);
	cr_assert(strstr(tk_err_msg(), "not ready") != NULL, "%s", tk_err_msg());
}

Test(segment, bad_configurations_name_the_setting)
{
	struct tk_seg_config cfg;

	tk_seg_config_default(&cfg);
	tk_seg_config_add_log(&cfg, "t", 1000, 64, 2);
	cr_assert_eq(tk_seg_config_validate(&cfg), -EINVAL);
	cr_assert(strstr(tk_err_msg(), "slots must be a power of two") != NULL);
	cfg.logs[0].nslots = 1024;
	cfg.logs[0].slot_size = 48;
	cr_assert_eq(tk_seg_config_validate(&cfg), -EINVAL);
	cfg.logs[0].slot_size = 64;
	tk_seg_config_add_log(&cfg, "t", 64, 64, 2);
	cr_assert_eq(tk_seg_config_validate(&cfg), -EINVAL);
	cr_assert(strstr(tk_err_msg(), "used twice") != NULL);
}

/* A reader's mapping is read-only but for its cursor slots. */
Test(segment, reader_cannot_write_the_data, .signal = SIGSEGV)
{
	struct tk_segment seg, att;
	struct tk_log_region *log;

	make(&seg);
	cr_assert_eq(tk_segment_attach(&att, path, TK_ATTACH_READER), 0);
	log = tk_log_find(&att, "t");
	tk_log_readers(log)[0].heartbeat_ns = 1; /* allowed */
	unlink(path);
	tk_log_slots(log)[0] = 1; /* not allowed: SIGSEGV */
}

/*
 * Regression (issue 8): the segment was a sparse file, so a tmpfs too small
 * for it (Docker's 64 MiB /dev/shm) accepted it and then killed a writer
 * with SIGBUS on the first page past the free space.  Every block is now
 * allocated at create; the system test segment_space_reserved checks the
 * failure on a small tmpfs.
 */
Test(segment, segment_space_reserved_at_create)
{
	struct tk_segment seg;
	struct stat st;

	make(&seg);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_geq((uint64_t)st.st_blocks * 512, (uint64_t)st.st_size,
		      "%llu of %llu bytes allocated: the segment is sparse",
		      (unsigned long long)st.st_blocks * 512, (unsigned long long)st.st_size);
	tk_segment_detach(&seg);
}

/* Regression (issue 8): `--shm-path tickd2` made a 500 MB file in the
 * current directory.  A bare name is a shm_open(3) name, under /dev/shm. */
Test(segment, bare_segment_name_is_under_dev_shm)
{
	char out[256], name[64];
	struct tk_segment seg, att;
	struct tk_seg_config cfg;
	struct stat st;

	cr_assert_eq(tk_segment_resolve_path("tickd2", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/dev/shm/tickd2");
	cr_assert_eq(tk_segment_resolve_path("./tickd2", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "./tickd2", "a path with a slash is used as it is");
	cr_assert_eq(tk_segment_resolve_path("/mnt/huge/t", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/mnt/huge/t");
	setenv("TICKD_SHM_PATH", "tickd-env", 1);
	cr_assert_eq(tk_segment_resolve_path(NULL, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/dev/shm/tickd-env", "the environment's name resolves the same way");
	cr_assert_str_eq(tk_segment_default_path(), "/dev/shm/tickd-env");
	unsetenv("TICKD_SHM_PATH");
	cr_assert_eq(tk_segment_resolve_path("", out, sizeof(out)), 0);
	cr_assert_str_eq(out, TK_SEG_DEFAULT_PATH);
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	{
		char small[32];

		cr_assert_eq(tk_segment_resolve_path(name, small, sizeof(small)), -ENAMETOOLONG);
	}

	/* Create, attach and unlink by the bare name: the file is in /dev/shm,
	 * none in the current directory. */
	snprintf(name, sizeof(name), "tickd-test-bare-%d", (int)getpid());
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	unlink(name);
	tk_seg_config_default(&cfg);
	cfg.symbol_capacity = 64;
	cr_assert_eq(tk_seg_config_add_log(&cfg, "t", 64, 64, 1), 0);
	cr_assert_eq(tk_segment_create(&seg, name, &cfg, true), 0, "%s", tk_err_msg());
	cr_assert_str_eq(seg.path, path, "seg.path is the resolved path");
	cr_assert_eq(stat(path, &st), 0, "no %s", path);
	cr_assert_neq(stat(name, &st), 0, "a segment file %s in the current directory", name);
	cr_assert_eq(tk_segment_attach(&att, name, TK_ATTACH_READER), 0, "%s", tk_err_msg());
	cr_assert_str_eq(att.path, path);
	tk_segment_detach(&att);
	tk_segment_detach(&seg);
	cr_assert_eq(tk_segment_unlink(name), 0, "%s", tk_err_msg());
	cr_assert_neq(stat(path, &st), 0);
}

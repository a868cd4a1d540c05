/* The journal's few file-system helpers, shared by the writer, recovery,
 * queries and snapshots. */
#ifndef TK_PERSIST_FILES_H
#define TK_PERSIST_FILES_H

#include <stddef.h>
#include <stdint.h>

/* mkdir -p with mode 0750.  0 or -errno. */
int tkj_mkdirs(const char *path);

/* fsync a directory, so an entry created in it survives a crash.  0 or -errno. */
int tkj_fsync_dir(const char *path);

/* All of len bytes at off (EINTR retried): 0, -ENODATA if the file ends
 * first, or -errno. */
int tkj_pread_full(int fd, void *buf, size_t len, uint64_t off);

/* All of len bytes at off: 0 or -errno. */
int tkj_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

#endif

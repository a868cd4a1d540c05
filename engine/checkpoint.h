/* Worker checkpoints: the design is at the top of checkpoint.c. */
#ifndef TK_ENGINE_CHECKPOINT_H
#define TK_ENGINE_CHECKPOINT_H

#include <stddef.h>

#include "engine/worker.h"

/* The checkpoint file of this worker: <segment path>.engine.<shard>, or
 * for a segment on hugetlbfs (no write(2) there)
 * /dev/shm/<its name>-<hash of its path>.engine.<shard>; decided at open
 * (tk_ckpt_path_init) from the file the worker mapped. */
void tk_ckpt_path(const struct tk_worker *w, char *out, size_t cap);
void tk_ckpt_path_init(struct tk_worker *w);
/* The same for a segment path and a shard given as text. */
void tk_ckpt_path_for(const char *seg_path, const char *shard, char *out, size_t cap);

/* Remove every checkpoint a segment at seg_path can have (shards 0 to 63,
 * and their temporary files): exact names, so a path with glob characters
 * in it names only its own.  Calls removed() for each file it unlinked. */
void tk_ckpt_remove_all(const char *seg_path, void (*removed)(const char *path));

/* Write a checkpoint of w, whole or not at all.  0 or a negative errno. */
int tk_ckpt_save(struct tk_worker *w);

/*
 * Restore w from its checkpoint, if there is one for this segment:
 * 1 restored, 0 none (or one left over from an earlier segment, removed),
 * negative errno with a message if it is unusable (another configuration).
 */
int tk_ckpt_load(struct tk_worker *w);

#endif

/*
 * fs.h — small file-system helpers for the data directory: creating it,
 * and the lock that keeps one `sesame serve` per directory.
 */
#ifndef SESAME_UTIL_FS_H
#define SESAME_UTIL_FS_H

#include <sys/types.h>

#include "util/err.h"

/* mkdir -p `dir`, `mode` for each component created; an existing
 * component is left as it is. -1 with `e` filled, also when `dir` exists
 * but is not a directory. */
int fs_mkdirs(const char *dir, mode_t mode, struct err *e);

/*
 * Take an exclusive, non-blocking flock on `path` (created 0600 if absent)
 * and write our pid into it. 0: taken, *fd_out holds it — keep it open
 * for as long as the lock must last (the kernel drops it when the process
 * exits, however it exits; the file is never unlinked, which would let two
 * processes lock two different files of one name). -1 with `e` filled;
 * *holder_out is then the pid written by the process that holds the lock
 * (0 if it wrote none yet), or -1 when the failure is not "held".
 */
int fs_lock(const char *path, int *fd_out, long *holder_out, struct err *e);

#endif

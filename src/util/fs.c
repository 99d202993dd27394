/*
 * fs.c — data-directory helpers (fs.h).
 *
 * The lock is flock(2) on an open file, not the existence of a pid file:
 * it cannot go stale (a killed server's lock is gone with its descriptors),
 * and the pid in the file is only for the message naming the holder. The
 * pid is written after the lock is taken, so a reader may find the file
 * empty while its holder starts: it then reports pid 0 ("unknown").
 */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int
fs_mkdirs(const char *dir, mode_t mode, struct err *e)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);
	struct stat st;

	if (n == 0 || n >= sizeof(path))
		return err_set(e, 500, "InternalFailure", "directory path is empty or too long");
	memcpy(path, dir, n + 1);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, mode) != 0 && errno != EEXIST)
			return err_set(e, 500, "InternalFailure", "cannot create directory %s: %s",
			               path, strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return err_set(e, 500, "InternalFailure", "%s is not a directory", path);
	return 0;
}

/* The pid the holder wrote, 0 when none (yet) or unreadable. */
static long
read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') || pid <= 0)
		return 0;
	return pid;
}

int
fs_lock(const char *path, int *fd_out, long *holder_out, struct err *e)
{
	char pid[32];
	int fd, n;

	*fd_out = -1;
	*holder_out = -1;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, 500, "InternalFailure", "cannot open lock file %s: %s", path,
		               strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int errnum = errno;
		if (errnum == EWOULDBLOCK) {
			*holder_out = read_pid(fd);
			err_set(e, 500, "InternalFailure", "%s is locked by pid %ld", path,
			        *holder_out);
		} else {
			err_set(e, 500, "InternalFailure", "cannot lock %s: %s", path,
			        strerror(errnum));
		}
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		err_set(e, 500, "InternalFailure", "cannot write lock file %s: %s", path,
		        strerror(errno));
		close(fd);
		return -1;
	}
	*fd_out = fd;
	return 0;
}

/*
 * net.c — listening sockets (net.h).
 *
 * One address, one socket, bound without SO_REUSEPORT. That is what makes
 * a second `sesame serve` on a taken address fail at start: the kernel
 * answers its bind() (or, when two binds race, its listen()) with
 * EADDRINUSE, whoever holds the address. SO_REUSEPORT would not do: on
 * Linux any socket of the same effective uid that also sets it joins the
 * group, and the kernel then splits connections between the processes
 * (a stray second server silently takes half the traffic). A lock file
 * could prove that no other sesame holds the address, but not that no
 * other program does; an exclusive bind proves both.
 *
 * Several event loops serve one address by accepting on dup()s of the one
 * socket (net_share): the dups are one open file description with one
 * accept queue, so a connection wakes the waiting loops and exactly one
 * accept() takes it; the others get EAGAIN, which libevent's listeners
 * ignore. SO_REUSEADDR stays: on Linux it only lets a restart rebind while
 * the previous run's connections sit in TIME_WAIT, never two listeners on
 * one address.
 *
 * Invariant: every fd returned is non-blocking and close-on-exec.
 */
#include "util/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
listen_failed(const char *addr, int errnum, struct err *e)
{
	if (errnum == EADDRINUSE)
		return err_set(e, 500, "InvalidConfiguration",
		               "%s is already in use (another sesame serve?)", addr);
	return err_set(e, 500, "InvalidConfiguration", "cannot listen on %s: %s", addr,
	               strerror(errnum));
}

int
net_listen(const char *addr, struct err *e)
{
	char host[256], port[16];
	const char *colon = strrchr(addr, ':');
	struct addrinfo hints = {0}, *res = NULL;
	int fd = -1, one = 1, rc;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host) ||
	    strlen(colon + 1) >= sizeof(port))
		return err_set(e, 400, "InvalidConfiguration",
		               "bad listen address '%s' (want HOST:PORT)", addr);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	snprintf(port, sizeof(port), "%s", colon + 1);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0)
		return err_set(e, 400, "InvalidConfiguration", "listen address '%s': %s", addr,
		               gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
		listen_failed(addr, errno, e);
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

int
net_share(int fd, const char *addr, struct err *e)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (nfd < 0)
		return err_set(e, 500, "InvalidConfiguration", "cannot share the socket of %s: %s",
		               addr, strerror(errno));
	return nfd;
}

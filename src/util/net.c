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
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "util/log.h"
#include "util/xalloc.h"

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

/* ---- accept() out of descriptors -------------------------------------------- */

/* libevent hands an error callback the listener's own user data (its
 * owner's), so the guards are found by listener: a few, and only on the
 * failure path. */
#define MAX_GUARDS 64

struct accept_guard {
	struct evconnlistener *l;
	struct event *retry;
	const char *name;
	int pause_ms;
	uint64_t failures;        /* since the last log line */
	time_t logged, last_failure;
};

static pthread_mutex_t guards_lock = PTHREAD_MUTEX_INITIALIZER;
static struct accept_guard *guards[MAX_GUARDS];

static struct accept_guard *
guard_of(struct evconnlistener *l)
{
	struct accept_guard *g = NULL;

	pthread_mutex_lock(&guards_lock);
	for (int i = 0; i < MAX_GUARDS && g == NULL; i++)
		if (guards[i] != NULL && guards[i]->l == l)
			g = guards[i];
	pthread_mutex_unlock(&guards_lock);
	return g;
}

static void
accept_retry(evutil_socket_t fd, short what, void *arg)
{
	struct accept_guard *g = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(g->l);
}

static void
accept_error(struct evconnlistener *l, void *arg)
{
	struct accept_guard *g = guard_of(l);
	int err = EVUTIL_SOCKET_ERROR();
	time_t now = time(NULL);

	(void)arg;
	if (g == NULL)
		return;
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		log_warn("%s: accept: %s", g->name, strerror(err));
		return;
	}
	g->failures++;
	if (now != g->logged) {
		log_warn("%s: out of file descriptors (%s): accepting paused; %llu failed "
			 "accepts since the last report",
			 g->name, strerror(err), (unsigned long long)g->failures);
		g->failures = 0;
		g->logged = now;
	}
	if (now - g->last_failure > 2)
		g->pause_ms = 0; /* a new episode starts short */
	g->last_failure = now;
	g->pause_ms = g->pause_ms == 0 ? 10 : g->pause_ms >= 500 ? 1000 : g->pause_ms * 2;
	struct timeval tv = {g->pause_ms / 1000, (g->pause_ms % 1000) * 1000};
	evconnlistener_disable(l);
	evtimer_add(g->retry, &tv);
}

void
net_listener_guard(struct evconnlistener *l, const char *name)
{
	struct accept_guard *g = xcalloc(1, sizeof(*g));
	bool placed = false;

	g->l = l;
	g->name = name;
	g->retry = evtimer_new(evconnlistener_get_base(l), accept_retry, g);
	if (g->retry == NULL)
		abort(); /* libevent cannot allocate: out of memory */
	pthread_mutex_lock(&guards_lock);
	for (int i = 0; i < MAX_GUARDS && !placed; i++)
		if (guards[i] == NULL)
			guards[i] = g, placed = true;
	pthread_mutex_unlock(&guards_lock);
	if (!placed) {
		event_free(g->retry);
		free(g);
		return; /* libevent's own handling, then */
	}
	evconnlistener_set_error_cb(l, accept_error);
}

void
net_listener_unguard(struct evconnlistener *l)
{
	struct accept_guard *g = NULL;

	pthread_mutex_lock(&guards_lock);
	for (int i = 0; i < MAX_GUARDS && g == NULL; i++)
		if (guards[i] != NULL && guards[i]->l == l) {
			g = guards[i];
			guards[i] = NULL;
		}
	pthread_mutex_unlock(&guards_lock);
	if (g != NULL) {
		event_free(g->retry);
		free(g);
	}
}

/*
 * net.h — listening sockets for every front end (HTTP, SMTP).
 *
 * One listen address is one socket, bound exclusively: a second process
 * (another `sesame serve`, or anything else) cannot bind it while we hold
 * it. Several event loops serving one address each accept on their own
 * net_share() of that socket.
 */
#ifndef SESAME_UTIL_NET_H
#define SESAME_UTIL_NET_H

#include "util/err.h"

/* Bind and listen on "HOST:PORT" ("[v6]:PORT" too), non-blocking,
 * close-on-exec, SO_REUSEADDR (rebinding over TIME_WAIT) but never
 * SO_REUSEPORT. Returns the fd, or -1 with `e` filled; an address held by
 * anyone else is "HOST:PORT is already in use (another sesame serve?)". */
int net_listen(const char *addr, struct err *e);

/* Another descriptor for the listening socket `fd` (from net_listen), for
 * one more loop to accept on: the same socket and accept queue, closed
 * independently, close-on-exec. `addr` only names it in the error.
 * Returns the new fd, or -1 with `e` filled. */
int net_share(int fd, const char *addr, struct err *e);

struct evconnlistener;

/*
 * When accept() fails for want of descriptors (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM), stop accepting on `l` and try again after a pause that doubles
 * from 10 ms to 1 s while the failures go on, and log it at most once a
 * second with a count, instead of libevent's default: a warning per
 * failure, in a tight loop, for as long as the process is out of
 * descriptors (millions of lines). Connections wait in the kernel's
 * backlog meanwhile and are taken as soon as a descriptor frees. `name`
 * (static) names the listener in the log. Call on the listener's loop;
 * net_listener_unguard before freeing the listener.
 */
void net_listener_guard(struct evconnlistener *l, const char *name);
void net_listener_unguard(struct evconnlistener *l);

#endif

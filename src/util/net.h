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

#endif

/*
 * net.h — listening sockets for every front end (HTTP, SMTP).
 */
#ifndef SESAME_UTIL_NET_H
#define SESAME_UTIL_NET_H

#include "util/err.h"

/* Bind and listen on "HOST:PORT" ("[v6]:PORT" too), non-blocking,
 * close-on-exec, SO_REUSEADDR and SO_REUSEPORT (so several loops can each
 * hold a socket on one address). Returns the fd, or -1 with `e` filled. */
int net_listen(const char *addr, struct err *e);

#endif

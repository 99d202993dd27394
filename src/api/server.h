/*
 * server.h — the HTTP listener: `threads` event loops sharing one address
 * through SO_REUSEPORT, each with its own store handle and SigV4 key cache.
 */
#ifndef SESAME_API_SERVER_H
#define SESAME_API_SERVER_H

#include "util/err.h"

struct conf;
struct vault;
struct send_shared;
struct http_server;

/* Bind `c->http` and start the loops; every loop submits accepted mail to
 * `q` (queue.h, started before and freed after the server) and charges
 * sends to `lim` (limits.h, shared with the SMTP server; the caller frees
 * it after stopping both). NULL with `e` filled on failure (address in
 * use, store unavailable). */
struct http_server *http_server_start(const struct conf *c, struct vault *v,
				      const struct send_shared *sh, struct err *e);
/* Before queue_stop at shutdown: every loop answers new requests with 503
 * at once, without the queue, so every answer the queue owes reaches a
 * running loop. Returns once every loop has taken it in. */
void http_server_drain(struct http_server *s);
/* Stop the loops, join the threads and free everything. */
void http_server_stop(struct http_server *s);

#endif

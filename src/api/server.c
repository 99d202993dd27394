/*
 * server.c — HTTP listener threads, a loop group (util/loop.h). Each loop
 * owns one event_base, one HTTP server (util/httpd.h), its own descriptor of the one listening
 * socket (util/net.h: bound once, exclusively, so a second serve on the
 * address fails; every loop accepts from its one queue), one store handle
 * and one SigV4 cache, all made by loop_init on its thread and freed by
 * loop_free there. Nothing here blocks: handlers run on the loop and read
 * the store, which is a local SQLite file (WAL; readers never wait for
 * writers).
 *
 * Invariant: all sockets are bound before http_server_start returns, so an
 * address in use is reported to the operator, not discovered later.
 */
#include "api/server.h"

#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "api/request.h"
#include "api/sigv4.h"
#include "api/xml.h"
#include "conf/conf.h"
#include "send/limits.h"
#include "send/send_lookup.h"
#include "store/store.h"
#include "util/httpd.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/net.h"
#include "util/xalloc.h"

/* Hard transport caps; SES's own limits (10 MB raw message) are enforced
 * by the actions with SES's errors, below these. */
#define HTTP_MAX_HEADERS (64 * 1024)
#define HTTP_MAX_BODY (16 * 1024 * 1024)
#define HTTP_TIMEOUT_SECS 60

struct loop {
	struct event_base *base; /* the group's, not ours to free */
	struct httpd *http;
	int fd;        /* the listening socket's descriptor; the server's to close */
	struct api_thread t;
};

struct http_server {
	int nloops;
	struct loop *loops;
	struct loop_group *group;
	const struct conf *conf;
	struct vault *vault;
	struct send_shared shared; /* serve.c's: queue, limits, signers */
};

/* loop_cleanup_fn: on loop i's thread, after its loop (or a failed init). */
static void
loop_free(void *arg, int i, struct event_base *base)
{
	struct loop *l = &((struct http_server *)arg)->loops[i];

	httpd_free(l->http);
	if (l->t.store != NULL)
		store_close(l->t.store);
	send_lookup_free(l->t.lookup);
	if (l->t.sigv4 != NULL) {
		sigv4_cache_clear(l->t.sigv4);
		free(l->t.sigv4);
	}
}

/* Each loop's share of the descriptors the process may open, less a
 * reserve for the store, SMTP, outbound delivery and the SNS outbox. */
static int
conns_per_loop(const struct conf *c)
{
	struct rlimit rl;
	long n = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = (long)rl.rlim_cur;
	n = n > 512 ? n - 256 : n / 2;
	n /= c->threads > 0 ? c->threads : 1;
	return n > 8 ? (int)n : 8;
}

/* loop_init_fn: loop i's state, on its thread before it serves; loop_free
 * undoes whatever got made. */
static int
loop_init(void *arg, int i, struct event_base *base, struct err *e)
{
	struct http_server *s = arg;
	const struct conf *c = s->conf;
	struct loop *l = &s->loops[i];

	l->t.conf = c;
	l->t.vault = s->vault;
	l->t.shared = s->shared;
	l->t.lookup = send_lookup_new();
	l->t.sigv4 = xmalloc(sizeof(*l->t.sigv4));
	sigv4_cache_init(l->t.sigv4);
	if ((l->t.store = store_open(c->db, c->data, e)) == NULL)
		return -1;
	/* loops init in order: loop 0 binds, the others share its socket */
	int fd = i == 0 ? net_listen(c->http, e) : net_share(s->loops[0].fd, c->http, e);
	if (fd < 0)
		return -1;
	l->fd = fd;
	l->base = base;
	l->t.base = l->base;
	struct httpd_limits lim = {
		.max_header_bytes = HTTP_MAX_HEADERS,
		.max_body_bytes = HTTP_MAX_BODY,
		.idle_secs = HTTP_TIMEOUT_SECS,
		.header_secs = c->header_timeout,
		.max_conns = conns_per_loop(c),
	};
	l->http = httpd_new(l->base, fd, "http", &lim, request_handle, &l->t);
	return 0;
}

struct http_server *
http_server_start(const struct conf *c, struct vault *v, const struct send_shared *sh,
		  struct err *e)
{
	struct http_server *s = xcalloc(1, sizeof(*s));

	s->conf = c;
	s->vault = v;
	s->shared = *sh;
	s->nloops = c->threads;
	s->loops = xcalloc((size_t)(s->nloops > 0 ? s->nloops : 1), sizeof(struct loop));
	if ((s->group = loop_start("http", s->nloops, loop_init, loop_free, s, e)) == NULL) {
		free(s->loops);
		free(s);
		return NULL;
	}
	log_info("http: SES API listening on http://%s (%d loops)", c->http, s->nloops);
	return s;
}

/* Shutting down: answer every new request with 503 at once, without the
 * queue (SES's ServiceUnavailable). Runs on the loop, which owns its server. */
static void
refuse_cb(struct httpd_req *req, void *arg)
{
	struct err e;
	struct buf b;

	(void)arg;
	err_temp(&e, "The service is shutting down; try again.");
	buf_init(&b, 0);
	xml_error_response(&b, XML_SES_NS, &e, "");
	httpd_add_header(req, "Content-Type", "text/xml");
	httpd_add_header(req, "Connection", "close");
	httpd_reply(req, 503, b.data, b.len);
	buf_free(&b);
}

static void
drain_cb(void *arg, int i)
{
	struct http_server *s = arg;

	httpd_set_handler(s->loops[i].http, refuse_cb, NULL);
}

void
http_server_drain(struct http_server *s)
{
	if (s != NULL)
		loop_drain(s->group, drain_cb, s);
}

void
http_server_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	loop_stop(s->group); /* the cleanups (loop_free) run on the loops */
	free(s->loops);
	free(s);
}

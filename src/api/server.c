/*
 * server.c — HTTP listener threads. Each thread owns one event_base, one
 * evhttp, its own descriptor of the one listening socket (util/net.h: bound
 * once, exclusively; every loop accepts from its one queue), one store handle and
 * one SigV4 cache.
 * Nothing here blocks: handlers run on the loop and read the store, which
 * is a local SQLite file (WAL; readers never wait for writers).
 *
 * Invariant: all sockets are bound before http_server_start returns, so an
 * address in use is reported to the operator, not discovered later.
 */
#include "api/server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <event2/buffer.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "api/limits.h"
#include "api/request.h"
#include "api/send_lookup.h"
#include "api/sigv4.h"
#include "api/xml.h"
#include "conf.h"
#include "store/store.h"
#include "util/log.h"
#include "util/net.h"
#include "util/xalloc.h"

/* Hard transport caps; SES's own limits (10 MB raw message) are enforced
 * by the actions with SES's errors, below these. */
#define HTTP_MAX_HEADERS (64 * 1024)
#define HTTP_MAX_BODY (16 * 1024 * 1024)
#define HTTP_TIMEOUT_SECS 60

struct loop {
	pthread_t tid;
	atomic_int drained;     /* set by the loop once it refuses new requests */
	struct event_base *base;
	struct evhttp *http;
	int fd;
	struct api_thread t;
};

struct http_server {
	int nloops;
	struct loop *loops;
	struct limits *limits; /* one set of rate buckets for every loop (serve.c's) */
};

static void *
loop_main(void *arg)
{
	struct loop *l = arg;

	event_base_dispatch(l->base);
	return NULL;
}

static void
loop_free(struct loop *l)
{
	if (l->http != NULL)
		evhttp_free(l->http);
	if (l->base != NULL)
		event_base_free(l->base);
	if (l->t.store != NULL)
		store_close(l->t.store);
	send_lookup_free(l->t.lookup);
	if (l->t.sigv4 != NULL) {
		sigv4_cache_clear(l->t.sigv4);
		free(l->t.sigv4);
	}
}

struct http_server *
http_server_start(const struct conf *c, struct vault *v, struct queue *q, struct limits *lim,
		  struct err *e)
{
	struct http_server *s = xcalloc(1, sizeof(*s));
	int i;

	s->limits = lim;
	evthread_use_pthreads();
	s->nloops = c->threads;
	s->loops = xcalloc((size_t)s->nloops, sizeof(struct loop));
	for (i = 0; i < s->nloops; i++) {
		struct loop *l = &s->loops[i];
		l->t.conf = c;
		l->t.vault = v;
		l->t.queue = q;
		l->t.limits = s->limits;
		l->t.lookup = send_lookup_new();
		l->t.sigv4 = xmalloc(sizeof(*l->t.sigv4));
		sigv4_cache_init(l->t.sigv4);
		if ((l->t.store = store_open(c->db, c->data, e)) == NULL)
			goto fail;
		l->fd = i == 0 ? net_listen(c->http, e) : net_share(s->loops[0].fd, c->http, e);
		if (l->fd < 0)
			goto fail;
		l->base = event_base_new();
		l->t.base = l->base;
		l->http = evhttp_new(l->base);
		evhttp_set_max_headers_size(l->http, HTTP_MAX_HEADERS);
		evhttp_set_max_body_size(l->http, HTTP_MAX_BODY);
		evhttp_set_timeout(l->http, HTTP_TIMEOUT_SECS);
		evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
							    EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
		evhttp_set_gencb(l->http, request_handle, &l->t);
		if (evhttp_accept_socket(l->http, l->fd) != 0) {
			err_set(e, 500, "InvalidConfiguration", "cannot accept on %s", c->http);
			goto fail;
		}
	}
	for (i = 0; i < s->nloops; i++)
		if (pthread_create(&s->loops[i].tid, NULL, loop_main, &s->loops[i]) != 0) {
			log_err("http: cannot start thread %d", i);
			abort();
		}
	log_info("http: SES API listening on http://%s (%d loops)", c->http, s->nloops);
	return s;
fail:
	for (int j = 0; j <= i && j < s->nloops; j++)
		loop_free(&s->loops[j]);
	free(s->loops);
	free(s);
	return NULL;
}

/* Shutting down: answer every new request with 503 at once, without the
 * queue (SES's ServiceUnavailable). Runs on the loop, which owns its evhttp. */
static void
refuse_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evbuffer_new();
	struct err e;
	struct buf b;

	err_temp(&e, "The service is shutting down; try again.");
	buf_init(&b, 0);
	xml_error_response(&b, &e, "");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/xml");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	evbuffer_add(out, b.data, b.len);
	evhttp_send_reply(req, 503, "Service Unavailable", out);
	evbuffer_free(out);
	buf_free(&b);
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	evhttp_set_gencb(l->http, refuse_cb, NULL);
	atomic_store(&l->drained, 1);
}

void
http_server_drain(struct http_server *s)
{
	static const struct timeval now = {0, 0};

	if (s == NULL)
		return;
	for (int i = 0; i < s->nloops; i++)
		event_base_once(s->loops[i].base, -1, EV_TIMEOUT, drain_cb, &s->loops[i], &now);
	for (int i = 0; i < s->nloops; i++)
		for (int ms = 0; ms < 2000 && !atomic_load(&s->loops[i].drained); ms++)
			usleep(1000);
}

void
http_server_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->nloops; i++)
		event_base_loopbreak(s->loops[i].base);
	for (int i = 0; i < s->nloops; i++) {
		pthread_join(s->loops[i].tid, NULL);
		loop_free(&s->loops[i]);
	}
	free(s->loops);
	free(s);
}

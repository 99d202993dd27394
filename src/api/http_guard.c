/*
 * http_guard.c — request framing and the header deadline on one HTTP loop's
 * connections (http_guard.h).
 */
#include "api/http_guard.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/socket.h>

#include "util/httpframe.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xalloc.h"

struct conn {
	struct conn *prev, *next;
	struct http_guard *g;
	struct bufferevent *bev;       /* one reference is ours */
	struct evbuffer_cb_entry *watch, *watch_out;
	struct httpframe frame;
	uint64_t requests;             /* frame.requests when started was set */
	uint64_t started;              /* the sweep tick the current header section began at */
	uint64_t active;               /* the sweep tick of its last byte in or out */
	bool answered;                 /* output drained since the last request began */
	bool refused;                  /* answered 400: every later byte is dropped */
	bool cut;                      /* closed for its deadline or to make room */
	bool doomed;                   /* over the cap: to be closed unserved */
	uint64_t seq;                  /* order of arrival on the loop */
	char addr[48];                 /* the client's address ("" until known) */
};

struct http_guard {
	struct event_base *base;
	struct event *sweep;
	struct conn *conns;
	uint64_t tick;                 /* sweeps so far: seconds, roughly */
	int timeout;
	int nconns, max_conns;
	uint64_t seq;
	uint64_t shed;                 /* connections closed to make room, since the last log */
};

/* One client address may hold at most this share of a loop's connections:
 * the newest beyond it are closed (one address cannot crowd out the rest). */
#define PER_ADDRESS_SHARE 2

/* evhttp has let go of the bufferevent: bufferevent_free clears its
 * callbacks. (evhttp clears only the read callback while it writes an
 * answer; the event callback stays set for as long as it holds the
 * connection.) */
static bool
released(const struct conn *c)
{
	bufferevent_event_cb eventcb = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, &eventcb, NULL);
	return eventcb == NULL || bufferevent_getfd(c->bev) < 0;
}

static void
forget(struct conn *c)
{
	struct http_guard *g = c->g;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	g->nconns--;
	metrics_add(METRIC_CONNECTIONS, -1, "http", NULL, NULL);
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->watch_out);
	bufferevent_decref(c->bev);
	free(c);
}

static void
cut(struct conn *c)
{
	c->cut = true;
	/* evhttp reads the end of the stream and frees the connection */
	shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
}

/* Answer 400 naming the framing fault, stop sending, and drop what the
 * client sends from now on: evhttp parses none of it, and closes when the
 * client does (or at its idle timeout). */
static void
refuse(struct conn *c, struct evbuffer *in)
{
	char body[128], head[256];
	int fd = bufferevent_getfd(c->bev);
	int bn = snprintf(body, sizeof(body), "Bad Request: %s.\n", c->frame.why);
	int hn = snprintf(head, sizeof(head),
			  "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
			  "Content-Length: %d\r\nConnection: close\r\n\r\n",
			  bn);

	c->refused = true;
	log_warn("http: refused a request: %s", c->frame.why);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (fd < 0)
		return;
	/* a short answer into an empty socket buffer: written whole or, on a
	 * hostile client that does not read, not at all — never waited for */
	if (send(fd, head, (size_t)hn, MSG_NOSIGNAL | MSG_DONTWAIT) == hn)
		(void)send(fd, body, (size_t)bn, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fd, SHUT_WR);
}

/* Bytes were added to a connection's input: read the new ones. */
static void
watch_cb(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct evbuffer_iovec v[8];
	struct evbuffer_ptr at;
	size_t len = evbuffer_get_length(in), left = info->n_added;

	if (info->n_added == 0 || c->cut)
		return;
	if (c->doomed) {
		evbuffer_drain(in, len);
		cut(c);
		return;
	}
	c->active = c->g->tick;
	if (c->refused) {
		evbuffer_drain(in, len);
		return;
	}
	if (evbuffer_ptr_set(in, &at, len - left, EVBUFFER_PTR_SET) != 0)
		return;
	while (left > 0) {
		int n = evbuffer_peek(in, (ev_ssize_t)left, &at, v, 8);
		size_t took = 0;
		if (n <= 0)
			break;
		for (int i = 0; i < n && i < 8 && took < left; i++) {
			size_t k = v[i].iov_len < left - took ? v[i].iov_len : left - took;
			if (httpframe_feed(&c->frame, v[i].iov_base, k) != 0) {
				refuse(c, in);
				return;
			}
			took += k;
		}
		left -= took;
		if (left > 0 && evbuffer_ptr_set(in, &at, took, EVBUFFER_PTR_ADD) != 0)
			break;
	}
	if (c->frame.requests != c->requests) {
		c->requests = c->frame.requests;
		c->started = c->g->tick;
		c->answered = false;
	}
}

/* Bytes left a connection's output: an answer went out (once it is empty). */
static void
watch_out_cb(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	if (info->n_deleted == 0)
		return;
	c->active = c->g->tick;
	if (evbuffer_get_length(out) == 0)
		c->answered = true;
}

/* Nothing pending on c either way, and quiet for 2 s: a keep-alive
 * connection waiting for its client's next request. */
static bool
idle(const struct conn *c)
{
	return !released(c) && !c->cut && c->answered && !c->frame.in_headers &&
	       evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
	       evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	       c->g->tick - c->active >= 2;
}

/* The loop is at its cap: close its longest-idle connection (the list is
 * newest first). false when none is idle. */
static bool
shed_one(struct http_guard *g)
{
	struct conn *c = g->conns, *oldest = NULL;

	for (; c != NULL; c = c->next)
		if (idle(c) && (oldest == NULL || c->active <= oldest->active))
			oldest = c;
	if (oldest == NULL)
		return false;
	cut(oldest);
	g->shed++;
	return true;
}

static int
by_address(const void *a, const void *b)
{
	const struct conn *x = *(struct conn *const *)a, *y = *(struct conn *const *)b;
	int d = strcmp(x->addr, y->addr);

	return d != 0 ? d : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Close the newest connections of any address over its share; the number
 * closed. Learns each connection's address on the first sweep it is in. */
static int
cap_addresses(struct http_guard *g)
{
	int cap = g->max_conns / PER_ADDRESS_SHARE, n = 0, closed = 0;
	struct conn **v, *c;

	if (cap < 1 || g->nconns <= cap)
		return 0;
	v = xcalloc((size_t)g->nconns, sizeof(*v));
	for (c = g->conns; c != NULL && n < g->nconns; c = c->next) {
		if (c->cut || released(c))
			continue;
		if (c->addr[0] == '\0') {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			int fd = bufferevent_getfd(c->bev);
			if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0 ||
			    getnameinfo((struct sockaddr *)&ss, sl, c->addr, sizeof(c->addr), NULL, 0,
					NI_NUMERICHOST) != 0)
				continue;
		}
		v[n++] = c;
	}
	qsort(v, (size_t)n, sizeof(*v), by_address);
	for (int i = 0, run = 0; i < n; i++) {
		run = i > 0 && strcmp(v[i]->addr, v[i - 1]->addr) == 0 ? run + 1 : 1;
		if (run > cap) {
			cut(v[i]);
			closed++;
		}
	}
	free(v);
	return closed;
}

/* Once a second: forget the connections evhttp has freed, close the ones
 * whose header section has taken longer than --header-timeout and the
 * newest of an address over its share, and say so in one line each. */
static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_guard *g = arg;
	struct conn *c = g->conns, *next;
	int slow = 0, crowded;

	(void)fd;
	(void)what;
	g->tick++;
	if (g->shed > 0) {
		log_warn("http: at the cap of %d connections per loop: %llu idle ones closed to "
			 "make room",
			 g->max_conns, (unsigned long long)g->shed);
		g->shed = 0;
	}
	for (; c != NULL; c = next) {
		next = c->next;
		if (released(c)) {
			forget(c);
			continue;
		}
		if (c->doomed && !c->cut) {
			cut(c);
			continue;
		}
		if (!c->cut && !c->refused && c->frame.in_headers &&
		    g->tick - c->started > (uint64_t)g->timeout) {
			cut(c);
			slow++;
		}
	}
	if (slow > 0)
		log_warn("http: closed %d connection(s) whose request headers took over %d s", slow,
			 g->timeout);
	if ((crowded = cap_addresses(g)) > 0)
		log_warn("http: closed the %d newest connection(s) of addresses holding over 1/%d "
			 "of the loop's %d",
			 crowded, PER_ADDRESS_SHARE, g->max_conns);
}

/* evhttp's bufferevent for a new connection: a plain socket one, watched. */
static struct bufferevent *
bev_cb(struct event_base *base, void *arg)
{
	struct http_guard *g = arg;
	/* CLOSE_ON_FREE: the descriptor is closed when the last reference goes,
	 * ours at the sweep after evhttp's. Without it evhttp closes it at once
	 * while this bufferevent still names it, and a new connection given the
	 * same number loses its bytes to the old one. */
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	struct conn *c;

	if (bev == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	/* over the cap with nothing idle to give way: this one is not served
	 * (closed as soon as evhttp has given it its descriptor) */
	c->doomed = g->nconns >= g->max_conns && !shed_one(g);
	c->g = g;
	c->bev = bev;
	c->started = c->active = g->tick;
	c->seq = ++g->seq;
	c->answered = true;
	httpframe_init(&c->frame);
	c->watch = evbuffer_add_cb(bufferevent_get_input(bev), watch_cb, c);
	c->watch_out = evbuffer_add_cb(bufferevent_get_output(bev), watch_out_cb, c);
	if (c->watch == NULL || c->watch_out == NULL)
		abort(); /* libevent cannot allocate: out of memory */
	bufferevent_incref(bev);
	g->nconns++;
	metrics_add(METRIC_CONNECTIONS, 1, "http", NULL, NULL);
	c->next = g->conns;
	if (g->conns != NULL)
		g->conns->prev = c;
	g->conns = c;
	return bev;
}

struct http_guard *
http_guard_new(struct event_base *base, struct evhttp *http, int header_timeout_secs,
	       int max_conns)
{
	struct http_guard *g = xcalloc(1, sizeof(*g));
	struct timeval second = {1, 0};

	g->base = base;
	g->timeout = header_timeout_secs;
	g->max_conns = max_conns > 0 ? max_conns : 1;
	g->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, g);
	if (g->sweep == NULL || event_add(g->sweep, &second) != 0)
		abort(); /* libevent cannot allocate: out of memory */
	evhttp_set_bevcb(http, bev_cb, g);
	return g;
}

void
http_guard_free(struct http_guard *g)
{
	if (g == NULL)
		return;
	while (g->conns != NULL)
		forget(g->conns);
	event_free(g->sweep);
	free(g);
}

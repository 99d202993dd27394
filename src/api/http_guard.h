/*
 * http_guard.h — what evhttp does not check on the connections of one HTTP
 * loop: the framing of each request (util/httpframe.h: duplicate
 * Content-Length, Content-Length with Transfer-Encoding, … answered 400
 * and closed before a byte of the body is read) and the whole time a
 * client takes to send a header section (--header-timeout; evhttp's own
 * timeout only bounds the gap between two reads, so a header line every
 * few seconds would hold a connection for ever).
 *
 * It watches the bytes as they arrive (an input-buffer callback on the
 * bufferevent it makes for evhttp) and holds a reference on each
 * bufferevent, so a connection evhttp has freed is seen as such (its
 * callbacks cleared) and forgotten at the next sweep, once a second; the
 * descriptor is evhttp's to close (the bufferevent is made without
 * BEV_OPT_CLOSE_ON_FREE), so it never outlives the connection.
 * It also caps the loop's connections at `max_conns`: a connection beyond
 * the cap takes the place of the loop's longest-idle one (answered, nothing
 * pending either way, quiet for 2 s), or is closed at once when none is
 * idle, so an idle flood cannot use up the process's descriptors.
 * Loop-confined: made, used and freed on its loop's thread.
 */
#ifndef SESAME_API_HTTP_GUARD_H
#define SESAME_API_HTTP_GUARD_H

#include <event2/event.h>
#include <event2/http.h>

struct http_guard;

/* Guard every connection `http` accepts from now on. */
struct http_guard *http_guard_new(struct event_base *base, struct evhttp *http,
				  int header_timeout_secs, int max_conns);

/* After evhttp_free: forget every connection. */
void http_guard_free(struct http_guard *g);

#endif

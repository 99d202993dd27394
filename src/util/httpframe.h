/*
 * httpframe.h — where each HTTP/1.1 request on a connection begins, where
 * its header section ends and where its body ends, read from the bytes
 * alone with no I/O (RFC 9112 §2–7), for the HTTP listener's guard
 * (api/http_guard.c). It reads the stream exactly as libevent's evhttp
 * does — a line ends at LF with or without CR; only POST, PUT and PATCH
 * have a body — and refuses what would let two readers of the stream (a
 * proxy in front, evhttp behind) disagree on where a request ends:
 *   - two Content-Length fields with different values, or one that is not
 *     a plain decimal number;
 *   - Content-Length together with Transfer-Encoding, or a
 *     Transfer-Encoding whose last coding is not chunked;
 *   - a framing field folded onto a second line, or with blanks before
 *     its colon;
 *   - a body (Content-Length above 0, or Transfer-Encoding) on a method
 *     evhttp reads no body for (GET, HEAD, DELETE, …): evhttp would take
 *     the body for the next request.
 * The verdict comes at the end of the header section, before a byte of the
 * body. Any split of the stream into feeds gives the same verdict
 * (tests/unit/test_httpframe.c, tests/fuzz/httpframe_fuzz.c).
 */
#ifndef SESAME_UTIL_HTTPFRAME_H
#define SESAME_UTIL_HTTPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTPFRAME_LINE_KEEP 256 /* bytes kept of each header line */

struct httpframe {
	int state;
	uint64_t requests;   /* requests whose first byte has been read */
	bool in_headers;     /* a request has begun and its header section has not ended */
	const char *why;     /* the refusal, once refused (static text) */
	/* the request being read */
	bool has_body;       /* its method has a body (POST, PUT, PATCH) */
	int ncl;             /* Content-Length fields seen */
	uint64_t cl;
	bool te, te_chunked; /* Transfer-Encoding seen; its last coding is chunked */
	bool last_framing;   /* the last field was Content-Length or Transfer-Encoding */
	uint64_t left;       /* body or chunk bytes still to come */
	size_t len;          /* bytes of the current line read (kept: up to LINE_KEEP) */
	char line[HTTPFRAME_LINE_KEEP];
};

void httpframe_init(struct httpframe *f);

/* Read n more bytes of the stream: 0, or -1 once the stream is refused
 * (f->why says why; every later call is -1 too). */
int httpframe_feed(struct httpframe *f, const uint8_t *p, size_t n);

#endif

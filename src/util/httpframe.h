/*
 * httpframe.h — where each HTTP/1.1 request on a connection begins, where
 * its header section ends and where its body ends, read from the bytes
 * alone with no I/O (RFC 9112 §2–7). The HTTP server (util/httpd.h) reads
 * every request through it, so what it serves is what is checked here. A
 * line ends at LF with or without CR; only POST, PUT and PATCH have a body.
 * It refuses what would let two readers of the stream (a proxy in front,
 * sesame behind) disagree on where a request ends:
 *   - two Content-Length fields with different values, or one that is not
 *     a plain decimal number;
 *   - Content-Length together with Transfer-Encoding, or a
 *     Transfer-Encoding whose last coding is not chunked;
 *   - a framing field folded onto a second line, or with blanks before
 *     its colon;
 *   - a body (Content-Length above 0, or Transfer-Encoding) on a method
 *     read without one (GET, HEAD, DELETE, …): a proxy might send it on
 *     while we would read it as the next request.
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
	uint64_t heads;      /* header sections read to their end */
	uint64_t done;       /* requests read to their end (the body's too) */
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

/* Read the next piece of the stream, at most n bytes: up to and with one
 * line end, or a run of body bytes (for a chunked body, chunk data only:
 * *body is then true). The bytes read, or -1 once refused. A reader that
 * needs to know where things are calls this and watches `heads` and
 * `done` grow: each grows right after the piece that ends a header
 * section or a request. */
long httpframe_next(struct httpframe *f, const uint8_t *p, size_t n, bool *body);

#endif

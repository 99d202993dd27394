/*
 * httpd.h — the HTTP/1.1 server of one event loop: it accepts from a
 * listening socket, reads requests (framed by util/httpframe.h, which
 * refuses what two readers could disagree on), hands each one whole —
 * request line, fields, body — to one handler, and writes the answer.
 *
 * It does what the listener needs and no more, in as few system calls as
 * the bytes allow: a read per arrival and a write per answer, with no
 * event re-armed between requests on a keep-alive connection.
 *   - Requests on a connection are answered in order; the next one is read
 *     only once the one before is answered (pipelined bytes wait in the
 *     connection's buffer).
 *   - A handler may answer later (httpd_reply from a later callback on the
 *     same loop). If the client goes first, the request is detached: the
 *     answer, when it comes, is dropped and the request freed.
 *   - Bodies: Content-Length or chunked, up to the body cap (413 above it,
 *     answered before the body is read); "Expect: 100-continue" is honoured.
 *   - The whole header section must arrive within the header timeout and
 *     be under the header cap (431); a connection with nothing in flight
 *     is closed after the idle timeout; a loop holds at most max_conns
 *     connections (the longest-idle one gives way to a new one, else the
 *     new one is closed), and one client address at most half of them.
 * Loop-confined: made, used and freed on its loop's thread.
 */
#ifndef SESAME_UTIL_HTTPD_H
#define SESAME_UTIL_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct httpd;
struct httpd_conn;
struct httpd_out;

enum httpd_method {
	HTTPD_GET = 1,
	HTTPD_HEAD = 2,
	HTTPD_POST = 4,
	HTTPD_PUT = 8,
	HTTPD_DELETE = 16,
	HTTPD_PATCH = 32,
	HTTPD_OPTIONS = 64,
	HTTPD_OTHER = 128,
};

struct httpd_field {
	const char *name; /* as sent */
	const char *value; /* blanks around it removed */
};

/* One request. Everything it points at lives until the request is answered
 * (httpd_reply or httpd_reply_end), which frees it. */
struct httpd_req {
	enum httpd_method method;
	const char *method_name;          /* "GET", "POST", … as sent */
	const char *path;                 /* the target up to '?' (undecoded); "/" at least */
	const char *query;                /* after '?' (undecoded), NULL when there is none */
	const char *host;                 /* the Host field without its port, NULL when none */
	const struct httpd_field *fields; /* in the order sent */
	size_t nfields;
	const char *body;                 /* NUL-terminated; "" when there is none */
	size_t body_len;
	const char *peer;                 /* the client's numeric address ("" if unknown, never NULL) */
	/* the server's */
	struct httpd_conn *conn;          /* NULL once the client has gone */
	struct httpd_out *out;            /* the answer's fields */
	bool http10;                      /* an HTTP/1.0 request */
	bool keep_alive;                  /* the connection stays open after the answer */
	bool streaming;                   /* httpd_reply_start was called */
	void (*on_close)(void *arg);
	void *on_close_arg;
	bool close_pending;               /* on_close is to run from the loop */
	bool answered;                    /* answered while close_pending: freed then */
};

typedef void (*httpd_handler)(struct httpd_req *r, void *arg);

struct httpd_limits {
	size_t max_header_bytes; /* the request line and fields together */
	size_t max_body_bytes;
	int idle_secs;           /* nothing in flight and no byte in */
	int header_secs;         /* to send one whole header section */
	int max_conns;
};

/* Serve `listen_fd` (a listening socket, closed by httpd_free) on `base`;
 * `name` (static) names the listener in the log and the metrics. */
struct httpd *httpd_new(struct event_base *base, int listen_fd, const char *name,
			const struct httpd_limits *lim, httpd_handler h, void *arg);

/* Hand every request from now on to h. */
void httpd_set_handler(struct httpd *s, httpd_handler h, void *arg);

/* Close every connection: each unanswered request's on_close runs (it must
 * end its reply there); the others are freed. */
void httpd_free(struct httpd *s);

/* The value of the first field named `name` (any case), or NULL. */
const char *httpd_field(const struct httpd_req *r, const char *name);

/* A field of the answer. "Connection: close" closes the connection after
 * it. Content-Length and Date are the server's. */
void httpd_add_header(struct httpd_req *r, const char *name, const char *value);

/* Answer with `status` and the body (NULL when len is 0; the reason phrase
 * is the standard one), and free r. A HEAD request gets the fields only. */
void httpd_reply(struct httpd_req *r, int status, const void *body, size_t len);

/* A streamed answer: the status and fields now, the body in chunks, then
 * the end, which frees r. on_close (httpd_on_close) runs if the client goes
 * first; the stream's owner must still call httpd_reply_end. */
void httpd_reply_start(struct httpd_req *r, int status);
void httpd_reply_chunk(struct httpd_req *r, const void *data, size_t len);
void httpd_reply_end(struct httpd_req *r);

/* Run cb(arg) once if the connection closes before r is answered. It runs
 * from the loop, never from within an httpd_* call the owner made (a
 * failed write inside httpd_reply_chunk schedules it), and not at all if
 * r is answered first. */
void httpd_on_close(struct httpd_req *r, void (*cb)(void *arg), void *arg);

#ifdef SESAME_TESTING
/* The header section p[0..n) (its blank line included) as a request, or
 * NULL with the status to answer (400, 501, 505); tests/fuzz/httpd_fuzz.c. */
struct httpd_req *httpd_parse_head(const char *p, size_t n, const char *peer, int *status);
void httpd_req_free(struct httpd_req *r);
#endif

#endif

/*
 * httpd.c — the HTTP/1.1 server of one event loop (httpd.h).
 *
 * A connection is a descriptor with one persistent read event, one input
 * buffer and one output buffer. Bytes are read as they come and passed
 * through the connection's httpframe, a line or a body run at a time; at
 * the end of a header section the head is parsed into a request, at the
 * end of the request it goes to the handler. The answer is written at
 * once; only what the socket does not take waits for a write event. So a
 * keep-alive request costs one read and one write.
 *
 * A connection is freed only outside its own callbacks' work (`busy`):
 * code that may close it asks conn_close, which marks it dead while busy,
 * and the outermost caller frees it.
 */
#include "util/httpd.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/httpframe.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/net.h"
#include "util/testable.h"
#include "util/xalloc.h"

#define READ_SPARE (16 * 1024) /* room made before each read */
/* One client address may hold at most this share of a loop's connections:
 * the newest beyond it are closed (one address cannot crowd out the rest). */
#define PER_ADDRESS_SHARE 2
#define LINGER_SECS 2 /* after the last answer, waiting for the client to close */

struct httpd_out {
	struct buf fields; /* "Name: value\r\n" … */
	bool close;        /* the handler said Connection: close */
};

struct httpd_conn {
	struct httpd_conn *prev, *next;
	struct httpd *s;
	int fd;
	struct event *rd, *wr;
	bool reading, writing; /* rd, wr added */
	struct httpframe frame;
	char *in;              /* read, not yet consumed */
	size_t len, cap;
	size_t fed;            /* of in, the bytes passed through frame */
	size_t head_start;     /* where the current header section begins */
	uint64_t heads, done;  /* frame.heads and frame.done seen */
	struct httpd_req *next_req; /* its head read, its body coming */
	struct buf body;       /* next_req's body so far */
	struct httpd_req *cur; /* with the handler */
	struct buf out;        /* answer bytes not yet written, from out_off */
	size_t out_off;
	int busy;
	bool dead;             /* closed while busy: freed by the outermost caller */
	bool closing;          /* close once the output is written */
	bool lingering;        /* written and shut for writing: waiting for the client's end */
	bool eof;              /* the client has shut its side */
	uint64_t requests;     /* frame.requests when `started` was set */
	uint64_t started;      /* the sweep tick the current header section began at */
	uint64_t active;       /* the sweep tick of the last byte in or out */
	uint64_t seq;
	char addr[48];
};

struct httpd {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *sweep;
	const char *name;
	struct httpd_limits lim;
	httpd_handler handler;
	void *arg;
	struct httpd_conn *conns; /* newest first */
	int nconns;
	uint64_t tick, seq, shed;
	bool freeing;
	time_t date_at;
	char date[40]; /* "Date: …\r\n" of date_at */
};

static void conn_input(struct httpd_conn *c);
static void conn_flush(struct httpd_conn *c);

/* ---- connections ------------------------------------------------------------ */

TESTABLE void
httpd_req_free(struct httpd_req *r)
{
	buf_free(&r->out->fields);
	if (r->body_len > 0)
		free((char *)r->body);
	free(r);
}

static void
want_read(struct httpd_conn *c, bool on)
{
	if (on == c->reading)
		return;
	c->reading = on;
	if (on)
		event_add(c->rd, NULL);
	else
		event_del(c->rd);
}

static void
conn_free(struct httpd_conn *c)
{
	struct httpd *s = c->s;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->nconns--;
	metrics_add(METRIC_CONNECTIONS, -1, s->name, NULL, NULL);
	event_free(c->rd);
	event_free(c->wr);
	close(c->fd);
	if (c->next_req != NULL)
		httpd_req_free(c->next_req);
	buf_free(&c->body);
	buf_free(&c->out);
	free(c->in);
	free(c);
}

/* The connection under r has closed: its owner hears of it (and ends r),
 * unless it answered r meanwhile. */
static void
closed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_req *r = arg;
	void (*cb)(void *) = r->on_close;

	(void)fd;
	(void)what;
	r->close_pending = false;
	r->on_close = NULL;
	if (r->answered)
		httpd_req_free(r);
	else
		cb(r->on_close_arg);
}

/* Close c now, or once its callbacks are done. The request with the
 * handler is detached: its on_close runs (and ends it), or the handler's
 * answer, when it comes, is dropped. */
static void
conn_close(struct httpd_conn *c)
{
	struct httpd_req *r = c->cur;

	if (c->dead)
		return;
	c->dead = true;
	want_read(c, false);
	if (c->writing)
		event_del(c->wr);
	c->writing = false;
	if (r != NULL) {
		c->cur = NULL;
		r->conn = NULL;
		if (r->on_close != NULL) {
			/* from the loop, never from within the owner's own call */
			struct timeval now = {0, 0};
			r->close_pending = true;
			if (c->s->freeing || event_base_once(c->s->base, -1, EV_TIMEOUT, closed_cb, r,
							     &now) != 0)
				closed_cb(-1, 0, r);
		}
	}
	if (c->busy == 0)
		conn_free(c);
}

static void
enter(struct httpd_conn *c)
{
	c->busy++;
}

/* Leave c's work: false when c is gone. */
static bool
leave(struct httpd_conn *c)
{
	if (--c->busy == 0 && c->dead) {
		conn_free(c);
		return false;
	}
	return !c->dead;
}

/* ---- answers ----------------------------------------------------------------- */

static const char *
reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error"
										: "Server Error";
	}
}

static const char *
date_field(struct httpd *s)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now != s->date_at) {
		s->date_at = now;
		gmtime_r(&now, &tm);
		strftime(s->date, sizeof(s->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
	}
	return s->date;
}

/* The status line and fields of r's answer into c's output; `length` < 0:
 * streamed. */
static void
put_head(struct httpd_conn *c, struct httpd_req *r, int status, long long length)
{
	struct buf *o = &c->out;
	char line[64];
	int n;

	if (r->out->close || c->eof)
		r->keep_alive = false;
	if (length < 0 && r->http10)
		r->keep_alive = false; /* the end of a streamed answer is the close */
	n = snprintf(line, sizeof(line), "HTTP/1.%d %d %s\r\n", r->http10 ? 0 : 1, status,
		     reason(status));
	buf_append(o, line, (size_t)n);
	buf_puts(o, date_field(c->s));
	if (length >= 0) {
		n = snprintf(line, sizeof(line), "Content-Length: %lld\r\n", length);
		buf_append(o, line, (size_t)n);
	} else if (!r->http10) {
		buf_puts(o, "Transfer-Encoding: chunked\r\n");
	}
	buf_append(o, r->out->fields.data, r->out->fields.len);
	if (!r->keep_alive && !r->out->close)
		buf_puts(o, "Connection: close\r\n");
	else if (r->keep_alive && r->http10)
		buf_puts(o, "Connection: keep-alive\r\n");
	buf_puts(o, "\r\n");
	if (!r->keep_alive)
		c->closing = true;
}

/* r is answered: free it; c reads its next request (unless it is closing). */
static void
finish(struct httpd_req *r)
{
	struct httpd_conn *c = r->conn;

	if (r->close_pending) {
		r->answered = true; /* closed_cb frees it */
		return;
	}
	httpd_req_free(r);
	if (c == NULL)
		return;
	c->cur = NULL;
	enter(c);
	conn_flush(c);
	if (c->busy == 1 && !c->dead && !c->closing) /* not from within conn_input */
		conn_input(c);
	leave(c);
}

void
httpd_add_header(struct httpd_req *r, const char *name, const char *value)
{
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return; /* would split the answer */
	if (strcasecmp(name, "Connection") == 0 && strcasecmp(value, "close") == 0)
		r->out->close = true;
	buf_puts(&r->out->fields, name);
	buf_puts(&r->out->fields, ": ");
	buf_puts(&r->out->fields, value);
	buf_puts(&r->out->fields, "\r\n");
}

void
httpd_reply(struct httpd_req *r, int status, const void *body, size_t len)
{
	struct httpd_conn *c = r->conn;

	if (c != NULL) {
		put_head(c, r, status, (long long)len);
		if (r->method != HTTPD_HEAD && len > 0)
			buf_append(&c->out, body, len);
	}
	finish(r);
}

void
httpd_reply_start(struct httpd_req *r, int status)
{
	r->streaming = true;
	if (r->conn == NULL)
		return;
	put_head(r->conn, r, status, -1);
	enter(r->conn);
	conn_flush(r->conn);
	leave(r->conn);
}

void
httpd_reply_chunk(struct httpd_req *r, const void *data, size_t len)
{
	struct httpd_conn *c = r->conn;
	char size[24];
	int n;

	if (c == NULL || len == 0 || r->method == HTTPD_HEAD)
		return;
	if (!r->http10) {
		n = snprintf(size, sizeof(size), "%zx\r\n", len);
		buf_append(&c->out, size, (size_t)n);
	}
	buf_append(&c->out, data, len);
	if (!r->http10)
		buf_puts(&c->out, "\r\n");
	enter(c);
	conn_flush(c);
	leave(c);
}

void
httpd_reply_end(struct httpd_req *r)
{
	if (r->conn != NULL && !r->http10 && r->method != HTTPD_HEAD)
		buf_puts(&r->conn->out, "0\r\n\r\n");
	finish(r);
}

void
httpd_on_close(struct httpd_req *r, void (*cb)(void *arg), void *arg)
{
	r->on_close = cb;
	r->on_close_arg = arg;
}

const char *
httpd_field(const struct httpd_req *r, const char *name)
{
	for (size_t i = 0; i < r->nfields; i++)
		if (strcasecmp(r->fields[i].name, name) == 0)
			return r->fields[i].value;
	return NULL;
}

/* An answer the server gives itself (a refusal): sent, then the connection
 * closes. */
static void
refuse(struct httpd_conn *c, int status, const char *why)
{
	char text[256];
	int n = snprintf(text, sizeof(text),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n%s: %s.\n",
			 status, reason(status), strlen(reason(status)) + strlen(why) + 4,
			 reason(status), why);

	if (c->next_req != NULL) {
		httpd_req_free(c->next_req);
		c->next_req = NULL;
	}
	c->len = c->fed = 0;
	buf_append(&c->out, text, n < (int)sizeof(text) ? (size_t)n : sizeof(text) - 1);
	c->closing = true;
	conn_flush(c);
}

/* ---- writing ----------------------------------------------------------------- */

static void
linger(struct httpd_conn *c)
{
	c->lingering = true;
	shutdown(c->fd, SHUT_WR);
	if (c->eof)
		conn_close(c);
	else
		want_read(c, true);
}

/* Write what is pending. Once all is out, a closing connection lingers;
 * an open one resumes reading if it had paused. */
static void
conn_flush(struct httpd_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!c->writing) {
					c->writing = true;
					event_add(c->wr, NULL);
				}
				return;
			}
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
		c->active = c->s->tick;
	}
	if (c->out.cap > 64 * 1024)
		buf_free(&c->out); /* a large answer's room is not kept */
	buf_reset(&c->out);
	c->out_off = 0;
	if (c->writing) {
		c->writing = false;
		event_del(c->wr);
	}
	if (c->closing && c->cur == NULL) {
		if (!c->lingering)
			linger(c);
	} else if (!c->eof) {
		want_read(c, true);
	}
}

static void
write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn *c = arg;

	(void)fd;
	(void)what;
	enter(c);
	c->writing = false; /* a one-shot event: fired means removed */
	conn_flush(c);
	if (!c->dead && c->cur == NULL && !c->closing && c->out.len == 0)
		conn_input(c);
	leave(c);
}

/* ---- reading ----------------------------------------------------------------- */

static enum httpd_method
method_of(const char *m)
{
	static const struct {
		const char *name;
		enum httpd_method m;
	} t[] = {{"GET", HTTPD_GET},       {"HEAD", HTTPD_HEAD},   {"POST", HTTPD_POST},
		 {"PUT", HTTPD_PUT},       {"DELETE", HTTPD_DELETE}, {"PATCH", HTTPD_PATCH},
		 {"OPTIONS", HTTPD_OPTIONS}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(m, t[i].name) == 0)
			return t[i].m;
	return HTTPD_OTHER;
}

static bool
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* The token `tok` in a comma-separated field value, any case. */
static bool
has_token(const char *v, const char *tok)
{
	size_t k = strlen(tok);

	while (v != NULL && *v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		size_t n = strcspn(v, ",");
		size_t m = n;
		while (m > 0 && is_blank(v[m - 1]))
			m--;
		if (m == k && strncasecmp(v, tok, k) == 0)
			return true;
		v += n;
	}
	return false;
}

/*
 * Parse the header section p[0..n) (request line, fields, blank line) into
 * a request: NULL with the status to answer when it is not one we serve.
 * The request holds its own copy of the text.
 */
TESTABLE struct httpd_req *
httpd_parse_head(const char *p, size_t n, const char *peer, int *status)
{
	size_t lines = 1;
	struct httpd_req *r;
	struct httpd_field *f;
	struct httpd_out *out;
	char *text, *line, *end, *next, *sp, *target;
	const char *host;

	for (size_t i = 0; i < n; i++) {
		lines += p[i] == '\n';
		/* a NUL, or a CR that does not end a line: refused (RFC 9112 §2.2) */
		if (p[i] == '\0' || (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))) {
			*status = 400;
			return NULL;
		}
	}
	/* the text, the peer, and room for the Host field's copy (no longer
	 * than the text) */
	r = xcalloc(1, sizeof(*r) + sizeof(*out) + lines * sizeof(*f) + 2 * (n + 1) +
			       strlen(peer) + 1);
	out = (struct httpd_out *)(r + 1);
	f = (struct httpd_field *)(out + 1);
	text = (char *)(f + lines);
	memcpy(text, p, n);
	text[n] = '\0';
	r->peer = memcpy(text + n + 1, peer, strlen(peer) + 1);
	r->out = out;
	buf_init(&out->fields, 0);
	r->fields = f;
	r->body = "";
	*status = 400;

	/* the request line (blank lines before it were skipped by the frame) */
	line = text;
	while (*line == '\r' || *line == '\n')
		line++;
	end = strchr(line, '\n');
	if (end == NULL)
		goto bad;
	next = end + 1;
	if (end > line && end[-1] == '\r')
		end--;
	*end = '\0';
	if ((sp = strchr(line, ' ')) == NULL)
		goto bad;
	*sp = '\0';
	r->method_name = line;
	r->method = method_of(line);
	target = sp + 1;
	if ((sp = strchr(target, ' ')) == NULL)
		goto bad;
	*sp = '\0';
	if (strcmp(sp + 1, "HTTP/1.1") == 0)
		r->http10 = false;
	else if (strcmp(sp + 1, "HTTP/1.0") == 0)
		r->http10 = true;
	else {
		*status = strncmp(sp + 1, "HTTP/", 5) == 0 ? 505 : 400;
		goto bad;
	}
	for (const char *q = target; *q != '\0'; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			goto bad;
	/* absolute-form: the path after the authority */
	if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
		char *slash = strchr(strstr(target, "://") + 3, '/');
		char *qm = strchr(strstr(target, "://") + 3, '?');
		if (slash == NULL || (qm != NULL && qm < slash)) {
			/* no path: "/" then the query, in the request line's room */
			if (qm == NULL)
				target = (char *)"/";
			else {
				qm[-1] = '/';
				target = qm - 1;
			}
		} else {
			target = slash;
		}
	}
	if (target[0] != '/')
		goto bad;
	if ((sp = strchr(target, '#')) != NULL)
		*sp = '\0'; /* a fragment is the client's own */
	r->path = target;
	if ((sp = strchr(target, '?')) != NULL) {
		*sp = '\0';
		r->query = sp + 1;
	}

	/* fields: name ':' value; a line that begins with a blank continues
	 * the field before it */
	for (line = next; *line != '\0'; line = next) {
		end = strchr(line, '\n');
		if (end == NULL)
			break;
		next = end + 1;
		if (end > line && end[-1] == '\r')
			end--;
		*end = '\0';
		if (line[0] == '\0')
			break; /* the blank line */
		if (is_blank(line[0])) {
			if (r->nfields == 0)
				goto bad;
			/* joined to the value before, one blank between */
			char *v = (char *)f[r->nfields - 1].value;
			size_t had = strlen(v);
			while (is_blank(*line))
				line++;
			if (had > 0)
				v[had++] = ' ';
			memmove(v + had, line, strlen(line) + 1);
			continue;
		}
		char *colon = strchr(line, ':');
		if (colon == NULL || colon == line)
			goto bad;
		char *name_end = colon;
		while (name_end > line && is_blank(name_end[-1]))
			name_end--;
		*name_end = '\0';
		char *v = colon + 1;
		while (is_blank(*v))
			v++;
		char *ve = v + strlen(v);
		while (ve > v && is_blank(ve[-1]))
			ve--;
		*ve = '\0';
		f[r->nfields].name = line;
		f[r->nfields].value = v;
		r->nfields++;
	}
	/* trailing blanks of a value that was continued */
	for (size_t i = 0; i < r->nfields; i++) {
		char *v = (char *)f[i].value, *ve = v + strlen(v);
		while (ve > v && is_blank(ve[-1]))
			*--ve = '\0';
	}

	/* the Host field without its port, as libevent's evhttp gives it */
	if ((host = httpd_field(r, "Host")) != NULL) {
		/* a copy: the field itself is signed as sent */
		char *h = memcpy(text + n + 1 + strlen(peer) + 1, host, strlen(host) + 1);
		char *q = h + strlen(h);
		while (q > h && q[-1] >= '0' && q[-1] <= '9')
			q--;
		if (q > h + 1 && q[-1] == ':')
			q[-1] = '\0';
		r->host = h;
	}
	const char *conn = httpd_field(r, "Connection");
	r->keep_alive = r->http10 ? has_token(conn, "keep-alive") : !has_token(conn, "close");
	if ((r->method & (HTTPD_GET | HTTPD_HEAD | HTTPD_POST | HTTPD_PUT | HTTPD_DELETE)) == 0) {
		*status = 501;
		goto bad;
	}
	return r;
bad:
	buf_free(&out->fields);
	free(r);
	return NULL;
}

/* The header section of the request in c->in[head_start..fed) has ended:
 * make the request, or refuse. */
static void
head_read(struct httpd_conn *c)
{
	struct httpd *s = c->s;
	struct httpd_req *r;
	int status;

	r = httpd_parse_head(c->in + c->head_start, c->fed - c->head_start, c->addr, &status);
	if (r == NULL) {
		refuse(c, status, status == 501 ? "a method this server does not serve"
					       : "a request line or field that cannot be read");
		return;
	}
	c->next_req = r;
	buf_init(&c->body, s->lim.max_body_bytes);
	if (!c->frame.te && c->frame.cl > s->lim.max_body_bytes) {
		refuse(c, 413, "a body larger than this server takes");
		return;
	}
	/* a client waiting for our word before it sends the body */
	const char *expect = httpd_field(r, "Expect");
	if (expect != NULL && !r->http10 && strcasecmp(expect, "100-continue") == 0 &&
	    (c->frame.te || c->frame.cl > 0) && c->len - c->fed < c->frame.cl + (c->frame.te ? 1 : 0)) {
		buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
		conn_flush(c);
	}
}

/* The request c->next_req has been read whole: to the handler. */
static void
request_read(struct httpd_conn *c)
{
	struct httpd_req *r = c->next_req;
	size_t len;

	c->next_req = NULL;
	if (c->body.len > 0) {
		r->body = buf_steal(&c->body, &len);
		r->body_len = len;
	}
	buf_free(&c->body);
	r->conn = c;
	c->cur = r;
	c->s->handler(r, c->s->arg);
}

/* Read the requests in c's input, one at a time: each waits until the one
 * before is answered. */
static void
conn_input(struct httpd_conn *c)
{
	struct httpd *s = c->s;
	bool body;

	while (!c->dead && c->cur == NULL && !c->closing && c->fed < c->len) {
		uint64_t requests = c->frame.requests;
		size_t at = c->fed;
		long k = httpframe_next(&c->frame, (const uint8_t *)c->in + at, c->len - at, &body);
		if (k < 0) {
			log_warn("%s: refused a request: %s", s->name, c->frame.why);
			refuse(c, 400, c->frame.why);
			return;
		}
		c->fed += (size_t)k;
		if (c->frame.requests != requests) {
			while (at < c->len && (c->in[at] == '\r' || c->in[at] == '\n'))
				at++;
			c->head_start = at;
			c->requests = c->frame.requests;
			c->started = s->tick;
		}
		if (body && c->next_req != NULL &&
		    buf_append(&c->body, c->in + at, (size_t)k) != 0) {
			refuse(c, 413, "a body larger than this server takes");
			return;
		}
		if (c->frame.in_headers && c->fed - c->head_start > s->lim.max_header_bytes) {
			refuse(c, 431, "a header section larger than this server takes");
			return;
		}
		if (c->frame.heads != c->heads) {
			c->heads = c->frame.heads;
			head_read(c);
			if (c->dead || c->closing)
				return;
		}
		if (c->frame.done != c->done) {
			c->done = c->frame.done;
			/* the bytes read so far are the request's: drop them */
			memmove(c->in, c->in + c->fed, c->len - c->fed);
			c->len -= c->fed;
			c->fed = 0;
			request_read(c);
		}
	}
	if (c->dead)
		return;
	/* keep the bytes still needed: the header section being read, or
	 * nothing of a body already copied */
	size_t keep = c->frame.in_headers ? c->head_start : c->fed;
	if (keep > 0 && c->cur == NULL) {
		memmove(c->in, c->in + keep, c->len - keep);
		c->len -= keep;
		c->fed -= keep;
		c->head_start = c->frame.in_headers ? 0 : c->head_start;
	}
	if (c->len == 0 && c->cap > 4 * READ_SPARE) {
		free(c->in); /* a large request's room is not kept */
		c->in = NULL;
		c->cap = 0;
	}
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn *c = arg;
	struct httpd *s = c->s;
	ssize_t n;

	(void)what;
	enter(c);
	if (c->cap - c->len < READ_SPARE) {
		c->cap = c->cap == 0 ? 2 * READ_SPARE : c->cap * 2;
		c->in = xrealloc(c->in, c->cap);
	}
	n = recv(fd, c->in + c->len, c->cap - c->len - 1, 0);
	if (n > 0) {
		c->active = s->tick;
		if (c->lingering) {
			c->len = 0; /* after our last answer: dropped */
		} else {
			c->len += (size_t)n;
			conn_input(c);
			/* answering: what comes next waits in the buffer, up to a
			 * header section's worth */
			if (!c->dead && c->cur != NULL && c->len > s->lim.max_header_bytes)
				want_read(c, false);
		}
	} else if (n == 0) {
		c->eof = true;
		want_read(c, false);
		/* an answer still to write goes out before the close */
		if (c->cur == NULL || c->cur->streaming || c->lingering)
			conn_close(c);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		conn_close(c);
	}
	leave(c);
}

/* ---- the loop's connections --------------------------------------------------- */

/* Nothing pending on c either way, and quiet for 2 s: a keep-alive
 * connection waiting for its client's next request. */
static bool
idle(const struct httpd_conn *c)
{
	return !c->dead && c->cur == NULL && c->next_req == NULL && c->len == 0 &&
	       c->out.len == 0 && c->s->tick - c->active >= 2;
}

/* The loop is at its cap: close its longest-idle connection. false when
 * none is idle. */
static bool
shed_one(struct httpd *s)
{
	struct httpd_conn *c, *oldest = NULL;

	for (c = s->conns; c != NULL; c = c->next)
		if (idle(c) && (oldest == NULL || c->active <= oldest->active))
			oldest = c;
	if (oldest == NULL)
		return false;
	conn_close(oldest);
	s->shed++;
	return true;
}

static int
by_address(const void *a, const void *b)
{
	const struct httpd_conn *x = *(struct httpd_conn *const *)a;
	const struct httpd_conn *y = *(struct httpd_conn *const *)b;
	int d = strcmp(x->addr, y->addr);

	return d != 0 ? d : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Close the newest connections of any address over its share; the number
 * closed. */
static int
cap_addresses(struct httpd *s)
{
	int cap = s->lim.max_conns / PER_ADDRESS_SHARE, n = 0, closed = 0;
	struct httpd_conn **v, *c, *prev = NULL;

	if (cap < 1 || s->nconns <= cap)
		return 0;
	v = xcalloc((size_t)s->nconns, sizeof(*v));
	for (c = s->conns; c != NULL && n < s->nconns; c = c->next)
		v[n++] = c;
	qsort(v, (size_t)n, sizeof(*v), by_address);
	/* choose first, close after: a close may free the connection */
	for (int i = 0, run = 0; i < n; i++) {
		run = prev != NULL && strcmp(v[i]->addr, prev->addr) == 0 ? run + 1 : 1;
		prev = v[i];
		if (run <= cap)
			v[i] = NULL;
	}
	for (int i = 0; i < n; i++)
		if (v[i] != NULL) {
			conn_close(v[i]);
			closed++;
		}
	free(v);
	return closed;
}

/* Once a second: close the connections whose header section has taken
 * longer than the header timeout, those idle or stalled past the idle
 * timeout, those done lingering, and the newest of an address over its
 * share; say so in one line each. */
static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *s = arg;
	struct httpd_conn *c, *next;
	int slow = 0, crowded;

	(void)fd;
	(void)what;
	s->tick++;
	if (s->shed > 0) {
		log_warn("%s: at the cap of %d connections per loop: %llu idle ones closed to "
			 "make room",
			 s->name, s->lim.max_conns, (unsigned long long)s->shed);
		s->shed = 0;
	}
	for (c = s->conns; c != NULL; c = next) {
		uint64_t quiet = s->tick - c->active;
		next = c->next;
		if (c->lingering && quiet >= LINGER_SECS) {
			conn_close(c);
		} else if (c->frame.in_headers && c->cur == NULL &&
			   s->tick - c->started > (uint64_t)s->lim.header_secs) {
			conn_close(c);
			slow++;
		} else if (quiet >= (uint64_t)s->lim.idle_secs &&
			   ((c->cur == NULL && !c->frame.in_headers) || c->out.len > 0)) {
			conn_close(c); /* idle, or not reading what we send */
		}
	}
	if (slow > 0)
		log_warn("%s: closed %d connection(s) whose request headers took over %d s", s->name,
			 slow, s->lim.header_secs);
	if ((crowded = cap_addresses(s)) > 0)
		log_warn("%s: closed the %d newest connection(s) of addresses holding over 1/%d "
			 "of the loop's %d",
			 s->name, crowded, PER_ADDRESS_SHARE, s->lim.max_conns);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
	  void *arg)
{
	struct httpd *s = arg;
	struct httpd_conn *c;
	int one = 1;

	(void)l;
	/* over the cap with nothing idle to give way: not served */
	if (s->nconns >= s->lim.max_conns && !shed_one(s)) {
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->s = s;
	c->fd = fd;
	c->seq = ++s->seq;
	c->started = c->active = s->tick;
	httpframe_init(&c->frame);
	buf_init(&c->out, 0);
	buf_init(&c->body, 0);
	if (getnameinfo(sa, (socklen_t)salen, c->addr, sizeof(c->addr), NULL, 0, NI_NUMERICHOST) != 0)
		c->addr[0] = '\0';
	c->rd = event_new(s->base, fd, EV_READ | EV_PERSIST, read_cb, c);
	c->wr = event_new(s->base, fd, EV_WRITE, write_cb, c);
	if (c->rd == NULL || c->wr == NULL)
		abort(); /* libevent cannot allocate: out of memory */
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	metrics_add(METRIC_CONNECTIONS, 1, s->name, NULL, NULL);
	want_read(c, true);
}

struct httpd *
httpd_new(struct event_base *base, int listen_fd, const char *name,
	  const struct httpd_limits *lim, httpd_handler h, void *arg)
{
	struct httpd *s = xcalloc(1, sizeof(*s));
	struct timeval second = {1, 0};

	s->base = base;
	s->name = name;
	s->lim = *lim;
	if (s->lim.max_conns < 1)
		s->lim.max_conns = 1;
	s->handler = h;
	s->arg = arg;
	s->listener = evconnlistener_new(base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				       -1, listen_fd);
	s->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, s);
	if (s->listener == NULL || s->sweep == NULL || event_add(s->sweep, &second) != 0)
		abort(); /* libevent cannot allocate: out of memory */
	net_listener_guard(s->listener, name);
	return s;
}

void
httpd_set_handler(struct httpd *s, httpd_handler h, void *arg)
{
	s->handler = h;
	s->arg = arg;
}

void
httpd_free(struct httpd *s)
{
	if (s == NULL)
		return;
	s->freeing = true;
	net_listener_unguard(s->listener);
	evconnlistener_free(s->listener);
	while (s->conns != NULL) {
		struct httpd_conn *c = s->conns;
		struct httpd_req *r = c->cur;
		/* a request still with its handler at shutdown is freed here,
		 * unless its on_close ends it */
		if (r != NULL && r->on_close == NULL) {
			c->cur = NULL;
			httpd_req_free(r);
		}
		c->busy = 0;
		conn_close(c);
	}
	event_free(s->sweep);
	free(s);
}

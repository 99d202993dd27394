/*
 * httpframe.c — request framing read from the bytes (httpframe.h).
 */
#include "util/httpframe.h"

#include <string.h>
#include <strings.h>

enum {
	S_IDLE,        /* between requests: blank lines are skipped (RFC 9112 §2.2) */
	S_REQUEST,     /* the request line */
	S_FIELD,       /* a header field line, or the blank line that ends them */
	S_BODY,        /* Content-Length bytes */
	S_CHUNK_SIZE,  /* a chunk-size line */
	S_CHUNK_DATA,  /* chunk bytes */
	S_CHUNK_END,   /* the line end after a chunk's bytes */
	S_TRAILER,     /* trailer fields, up to a blank line */
	S_BAD,
};

void
httpframe_init(struct httpframe *f)
{
	memset(f, 0, sizeof(*f));
	f->state = S_IDLE;
}

static int
refuse(struct httpframe *f, const char *why)
{
	f->state = S_BAD;
	f->why = why;
	f->in_headers = false;
	return -1;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The kept part of the current line, without its line end: its length,
 * or -1 when the line was longer than what is kept. */
static long
line_text(const struct httpframe *f)
{
	size_t n = f->len;

	if (n > sizeof(f->line))
		return -1;
	if (n > 0 && f->line[n - 1] == '\r')
		n--;
	return (long)n;
}

/* the methods read with a body (util/httpd.h), as libevent's evhttp does */
static bool
method_has_body(const char *line, size_t n)
{
	static const char *const with[] = {"POST ", "PUT ", "PATCH "};

	for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++) {
		size_t k = strlen(with[i]);
		if (n >= k && memcmp(line, with[i], k) == 0)
			return true;
	}
	return false;
}

static bool
name_is(const char *line, size_t name_len, const char *want)
{
	return name_len == strlen(want) && strncasecmp(line, want, name_len) == 0;
}

/* A decimal number of at most 18 digits (no sign, no blanks, no list). */
static int
parse_decimal(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

static int
field(struct httpframe *f, long n)
{
	const char *l = f->line, *colon, *v, *end;
	size_t name_len;
	bool cl, te;

	if (is_blank(l[0])) { /* obs-fold: continues the previous field */
		if (f->last_framing)
			return refuse(f, "a folded Content-Length or Transfer-Encoding field");
		return 0;
	}
	f->last_framing = false;
	if (n < 0) {
		/* a long field: only its name matters, and a framing field's
		 * value is never that long */
		colon = memchr(l, ':', sizeof(f->line));
		n = (long)sizeof(f->line);
	} else {
		colon = memchr(l, ':', (size_t)n);
	}
	name_len = colon != NULL ? (size_t)(colon - l) : (size_t)n;
	while (name_len > 0 && is_blank(l[name_len - 1]))
		name_len--;
	cl = name_is(l, name_len, "Content-Length");
	te = name_is(l, name_len, "Transfer-Encoding");
	if (!cl && !te)
		return 0;
	f->last_framing = true;
	if (colon == NULL || (size_t)(colon - l) != name_len)
		return refuse(f, "blanks before the colon of a framing field");
	if (f->len > sizeof(f->line))
		return refuse(f, "a framing field too long");
	v = colon + 1;
	end = l + n;
	while (v < end && is_blank(*v))
		v++;
	while (end > v && is_blank(end[-1]))
		end--;
	if (cl) {
		uint64_t x;
		if (parse_decimal(v, (size_t)(end - v), &x) != 0)
			return refuse(f, "an invalid Content-Length");
		if (f->ncl > 0 && x != f->cl)
			return refuse(f, "two different Content-Length values");
		f->ncl++;
		f->cl = x;
		return 0;
	}
	/* the last coding of the last Transfer-Encoding field decides */
	const char *last = end;
	while (last > v && last[-1] != ',')
		last--;
	while (last < end && is_blank(*last))
		last++;
	f->te = true;
	f->te_chunked = (size_t)(end - last) == 7 && strncasecmp(last, "chunked", 7) == 0;
	return 0;
}

/* The blank line after the fields: decide how the body is framed. */
static int
headers_end(struct httpframe *f)
{
	f->in_headers = false;
	f->heads++;
	if (f->te && f->ncl > 0)
		return refuse(f, "Content-Length together with Transfer-Encoding");
	if (!f->has_body) {
		if (f->te || f->cl > 0)
			return refuse(f, "a body on a method that has none");
		f->state = S_IDLE;
		f->done++;
		return 0;
	}
	if (f->te) {
		if (!f->te_chunked)
			return refuse(f, "a Transfer-Encoding that does not end in chunked");
		f->state = S_CHUNK_SIZE;
		return 0;
	}
	f->left = f->cl;
	f->state = f->left > 0 ? S_BODY : S_IDLE;
	if (f->left == 0)
		f->done++;
	return 0;
}

static int
chunk_size(struct httpframe *f, long n)
{
	uint64_t v = 0;
	long i = 0;

	if (n < 0)
		return refuse(f, "a chunk-size line too long");
	for (; i < n && i < 16; i++) {
		char c = f->line[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			break;
		v = v * 16 + (uint64_t)d;
	}
	if (i == 0 || (i < n && f->line[i] != ';' && !is_blank(f->line[i])))
		return refuse(f, "an invalid chunk size");
	if (v == 0) {
		f->state = S_TRAILER;
		return 0;
	}
	f->left = v;
	f->state = S_CHUNK_DATA;
	return 0;
}

/* A whole line has been read (its LF included) in state f->state. */
static int
line_done(struct httpframe *f)
{
	long n = line_text(f);

	switch (f->state) {
	case S_REQUEST:
		f->has_body = method_has_body(f->line, n < 0 ? sizeof(f->line) : (size_t)n);
		f->state = S_FIELD;
		return 0;
	case S_FIELD:
		if (n == 0)
			return headers_end(f);
		return field(f, n);
	case S_CHUNK_SIZE:
		return chunk_size(f, n);
	case S_CHUNK_END:
		if (n != 0)
			return refuse(f, "a chunk not followed by its line end");
		f->state = S_CHUNK_SIZE;
		return 0;
	case S_TRAILER:
		if (n == 0) {
			f->state = S_IDLE;
			f->done++;
		}
		return 0;
	default:
		return 0;
	}
}

long
httpframe_next(struct httpframe *f, const uint8_t *p, size_t n, bool *body)
{
	size_t i = 0;

	*body = false;
	while (i < n) {
		switch (f->state) {
		case S_BAD:
			return -1;
		case S_IDLE:
			if (p[i] == '\r' || p[i] == '\n') {
				i++;
				continue;
			}
			f->requests++;
			f->in_headers = true;
			f->has_body = false;
			f->ncl = 0;
			f->cl = 0;
			f->te = f->te_chunked = f->last_framing = false;
			f->len = 0;
			f->state = S_REQUEST;
			continue;
		case S_BODY:
		case S_CHUNK_DATA: {
			size_t k = n < f->left ? n : (size_t)f->left;
			f->left -= k;
			if (f->left == 0) {
				f->state = f->state == S_BODY ? S_IDLE : S_CHUNK_END;
				if (f->state == S_IDLE)
					f->done++;
			}
			f->len = 0;
			*body = true;
			return (long)k;
		}
		default: {
			/* a line: keep its first bytes, act at its LF */
			const uint8_t *lf = memchr(p + i, '\n', n - i);
			size_t k = lf != NULL ? (size_t)(lf - (p + i)) : n - i;
			if (f->len < sizeof(f->line)) {
				size_t room = sizeof(f->line) - f->len;
				memcpy(f->line + f->len, p + i, k < room ? k : room);
			}
			f->len += k;
			i += k;
			if (lf == NULL)
				return (long)i;
			i++; /* the LF */
			if (line_done(f) != 0)
				return -1;
			f->len = 0;
			return (long)i;
		}
		}
	}
	return (long)i;
}

int
httpframe_feed(struct httpframe *f, const uint8_t *p, size_t n)
{
	bool body;

	while (n > 0) {
		long k = httpframe_next(f, p, n, &body);
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return f->state == S_BAD ? -1 : 0;
}

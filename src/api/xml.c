/*
 * xml.c — the SES response writer (see xml.h).
 *
 * Invariant: whatever bytes reach xml_text, the document written is
 * well-formed XML 1.0 in UTF-8. Text is walked as UTF-8; a byte that does
 * not start a valid, shortest-form sequence of a code point XML allows is
 * replaced by U+FFFD and the walk resumes at the next byte.
 */
#include "api/xml.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "util/utf8.h"

#define REPLACEMENT "\xEF\xBF\xBD"

/* Length of the valid UTF-8 sequence at s (1..4) of a character XML 1.0
 * allows, or 0 if the byte at s must be replaced. ASCII is handled by the
 * caller. */
static size_t
utf8_ok(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len = utf8_decode(s, n, &cp);

	if (len == 0)
		return 0; /* not strict UTF-8 */
	if (cp == 0xFFFE || cp == 0xFFFF)
		return 0; /* not XML Chars */
	if (cp >= 0x80 && cp <= 0x9F)
		return 0; /* C1 controls: legal XML 1.0 but discouraged; never useful */
	return len;
}

int
xml_text(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < n) {
		unsigned char c = p[i];
		const char *rep = NULL;
		size_t adv = 1;

		if (c >= 0x80) {
			size_t l = utf8_ok(p + i, n - i);
			if (l != 0) {
				i += l;
				continue;
			}
			rep = REPLACEMENT;
		} else if (c == '&') {
			rep = "&amp;";
		} else if (c == '<') {
			rep = "&lt;";
		} else if (c == '>') {
			rep = "&gt;";
		} else if (c == '"') {
			rep = "&quot;";
		} else if (c == '\'') {
			rep = "&apos;";
		} else if (c == '\r') {
			rep = "&#13;";
		} else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) {
			rep = REPLACEMENT;
		} else {
			i++;
			continue;
		}
		if (buf_append(b, s + run, i - run) != 0 || buf_puts(b, rep) != 0)
			return -1;
		i += adv;
		run = i;
	}
	return buf_append(b, s + run, i - run);
}

/* pre name post, with no format string to interpret on the hot path. */
static int
tag(struct buf *b, const char *pre, const char *name, const char *post)
{
	if (buf_puts(b, pre) != 0 || buf_puts(b, name) != 0)
		return -1;
	return buf_puts(b, post);
}

int
xml_open(struct buf *b, const char *name)
{
	return tag(b, "<", name, ">");
}

int
xml_close(struct buf *b, const char *name)
{
	return tag(b, "</", name, ">");
}

int
xml_empty(struct buf *b, const char *name)
{
	return tag(b, "<", name, "/>");
}

int
xml_elem_n(struct buf *b, const char *name, const char *text, size_t n)
{
	if (text == NULL)
		return 0;
	if (xml_open(b, name) != 0 || xml_text(b, text, n) != 0)
		return -1;
	return xml_close(b, name);
}

int
xml_elem(struct buf *b, const char *name, const char *text)
{
	if (text == NULL)
		return 0;
	return xml_elem_n(b, name, text, strlen(text));
}

/* v in decimal at the end of out[24]; returns where it starts. */
static char *
decimal(int64_t v, char out[24])
{
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	char *p = out + 23;

	*p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	return p;
}

int
xml_elem_i64(struct buf *b, const char *name, int64_t v)
{
	char d[24], *p = decimal(v, d);

	return xml_elem_n(b, name, p, (size_t)(d + 23 - p));
}

int
xml_elem_f1(struct buf *b, const char *name, double v)
{
	char d[320], *p; /* "%.1f" of DBL_MAX is 311 bytes */
	int n;

	if (v > -1e15 && v < 1e15 && (double)(int64_t)v == v && !(v == 0 && signbit(v))) {
		p = decimal((int64_t)v, d); /* d[23] is its end: room for ".0" after */
		memcpy(d + 23, ".0", 3);
		return xml_elem_n(b, name, p, (size_t)(d + 25 - p));
	}
	n = snprintf(d, sizeof(d), "%.1f", v);
	if (n < 0 || (size_t)n >= sizeof(d))
		return -1;
	return xml_elem_n(b, name, d, (size_t)n);
}

int
xml_response_begin(struct buf *b, const char *ns, const char *action, bool has_result)
{
	if (tag(b, "<", action, "Response xmlns=\"") != 0 || buf_puts(b, ns) != 0 ||
	    buf_puts(b, "\">") != 0)
		return -1;
	if (has_result)
		return tag(b, "<", action, "Result>");
	return 0;
}

/* True if the buffer ends with `<ActionResult>`: nothing was written into
 * the Result. */
static bool
ends_with_open_result(const struct buf *b, const char *action)
{
	size_t alen = strlen(action), tlen = alen + strlen("<Result>");

	if (b->len < tlen)
		return false;
	const char *t = b->data + b->len - tlen;
	return t[0] == '<' && memcmp(t + 1, action, alen) == 0 &&
	       memcmp(t + 1 + alen, "Result>", 7) == 0;
}

int
xml_response_end(struct buf *b, const char *action, bool has_result, const char *request_id)
{
	if (has_result) {
		if (ends_with_open_result(b, action)) {
			b->len -= 1; /* drop '>' */
			b->data[b->len] = '\0';
			if (buf_puts(b, "/>") != 0)
				return -1;
		} else if (tag(b, "</", action, "Result>") != 0) {
			return -1;
		}
	}
	if (buf_puts(b, "<ResponseMetadata>") != 0 ||
	    xml_elem(b, "RequestId", request_id != NULL ? request_id : "") != 0 ||
	    buf_puts(b, "</ResponseMetadata>") != 0)
		return -1;
	return tag(b, "</", action, "Response>");
}

int
xml_error_response(struct buf *b, const char *ns, const struct err *e, const char *request_id)
{
	buf_reset(b);
	if (buf_printf(b, "<ErrorResponse xmlns=\"%s\"><Error>", ns) != 0 ||
	    xml_elem(b, "Type", e->http >= 500 ? "Receiver" : "Sender") != 0 ||
	    xml_elem(b, "Code", e->code) != 0 ||
	    xml_elem(b, "Message", e->message) != 0 ||
	    buf_puts(b, "</Error>") != 0 ||
	    xml_elem(b, "RequestId", request_id != NULL ? request_id : "") != 0)
		return -1;
	return buf_puts(b, "</ErrorResponse>");
}

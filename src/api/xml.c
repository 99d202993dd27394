/*
 * xml.c — the SES response writer (see xml.h).
 *
 * Invariant: whatever bytes reach xml_text, the document written is
 * well-formed XML 1.0 in UTF-8. Text is walked as UTF-8; a byte that does
 * not start a valid, shortest-form sequence of a code point XML allows is
 * replaced by U+FFFD and the walk resumes at the next byte.
 */
#include "api/xml.h"

#include <stdarg.h>
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

int
xml_open(struct buf *b, const char *name)
{
	return buf_printf(b, "<%s>", name);
}

int
xml_close(struct buf *b, const char *name)
{
	return buf_printf(b, "</%s>", name);
}

int
xml_empty(struct buf *b, const char *name)
{
	return buf_printf(b, "<%s/>", name);
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

int
xml_elem_printf(struct buf *b, const char *name, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return xml_elem_n(b, name, small, (size_t)n);

	struct buf tmp;
	int rc;
	buf_init(&tmp, b->max);
	va_start(ap, fmt);
	rc = buf_vprintf(&tmp, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = xml_elem_n(b, name, tmp.data, tmp.len);
	buf_free(&tmp);
	return rc;
}

int
xml_response_begin(struct buf *b, const char *ns, const char *action, bool has_result)
{
	if (buf_printf(b, "<%sResponse xmlns=\"%s\">", action, ns) != 0)
		return -1;
	if (has_result)
		return buf_printf(b, "<%sResult>", action);
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
		} else if (buf_printf(b, "</%sResult>", action) != 0) {
			return -1;
		}
	}
	if (buf_puts(b, "<ResponseMetadata>") != 0 ||
	    xml_elem(b, "RequestId", request_id != NULL ? request_id : "") != 0 ||
	    buf_puts(b, "</ResponseMetadata>") != 0)
		return -1;
	return buf_printf(b, "</%sResponse>", action);
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

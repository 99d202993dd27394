/*
 * raw.c — checks and header work on raw messages; see raw.h for the
 * contract and docs/internals/send.md for the reasons.
 *
 * raw_parse makes one normalised copy of the input (every line end CRLF)
 * and an index of the header fields into it; everything else reads that
 * copy. Invariants after a successful raw_parse:
 *   1. data holds no NUL and no CR that is not followed by LF, and every LF
 *      is preceded by CR;
 *   2. the fields tile data[0 .. header end) exactly, in order; each starts
 *      with a name of bytes 33..126 followed by ':', and each of its later
 *      lines starts with SP or HT and holds something besides whitespace;
 *   3. no header line is longer than RAW_LINE_MAX, and header values hold
 *      no control byte but HT and only UTF-8 in their 8-bit bytes;
 *   4. each of the fields in once[] (From, Sender, Reply-To, To, Cc,
 *      Subject) occurs at most once.
 * So a field's value can never end a header early or start a new one
 * downstream: what we index is what every later reader will see. And by 4,
 * the From that authorization checks is the only From that is delivered
 * (a second one would be what a reader displays: From spoofing).
 */
#include "mail/raw.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/testable.h"
#include "util/utf8.h"
#include "util/xalloc.h"

static int __attribute__((format(printf, 2, 3)))
invalid(struct err *e, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(e, 400, "InvalidParameterValue", "%s", msg);
}

static int
missing_from(struct err *e)
{
	return invalid(e, "Missing required header 'From'.");
}

/*
 * The fields RFC 5322 3.6 allows at most once whose second copy would let
 * two readers of one message disagree on who sent it, to whom, or what it
 * is about (authorization reads the first From, a mail client may show the
 * last). Date and Message-ID are replaced on delivery and Bcc is dropped,
 * so their copies reach nobody; they stay accepted.
 */
static const char *const once[] = {"From", "Sender", "Reply-To", "To", "Cc", "Subject"};
#define N_ONCE (sizeof(once) / sizeof(once[0]))

/* Index in once[] of the name (ASCII case-insensitive), or -1. */
static int
once_index(const char *name, size_t n)
{
	for (size_t k = 0; k < N_ONCE; k++)
		if (strlen(once[k]) == n && strncasecmp(once[k], name, n) == 0)
			return (int)k;
	return -1;
}

/* The start of a header line for an error message. */
static int
bad_line(struct err *e, const char *what, const char *line, size_t n)
{
	return invalid(e, "%s: '%.*s%s'.", what, (int)(n < 40 ? n : 40), line, n > 40 ? "…" : "");
}

/* Check the bytes of one header line's value part. */
static int
check_value(const char *p, size_t n, const char *name, size_t name_len, struct err *e)
{
	char nm[80];

	snprintf(nm, sizeof(nm), "%.*s", (int)(name_len < 64 ? name_len : 64), name);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x80) {
			size_t k = utf8_decode((const unsigned char *)p + i, n - i, NULL);
			if (k == 0)
				return invalid(e, "Header '%s' contains 8-bit data that is not UTF-8.", nm);
			i += k;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return invalid(e, "Header '%s' contains a control character.", nm);
		i++;
	}
	return 0;
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Copy `in` with every line end made CRLF. Refuses NUL and bare CR.
 * Returns the copy (NUL-terminated) and its length, or NULL with e filled.
 */
static char *
normalise(const unsigned char *in, size_t n, size_t *len_out, struct err *e)
{
	const unsigned char *p, *end = in + n;
	size_t extra = 0, j = 0, i = 0;
	char *out;

	if (n > 0 && memchr(in, '\0', n) != NULL) {
		invalid(e, "Illegal content: the message contains a NUL byte.");
		return NULL;
	}
	for (p = in; p < end && (p = memchr(p, '\r', (size_t)(end - p))) != NULL; p++) {
		if (p + 1 == end || p[1] != '\n') {
			invalid(e, "Illegal content: the message contains a CR that does not end "
				   "a line (CRLF).");
			return NULL;
		}
	}
	for (p = in; p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		if (p == in || p[-1] != '\r')
			extra++;
	out = xmalloc(n + extra + 1);
	if (extra == 0 && n > 0) { /* already CRLF throughout: the common case */
		memcpy(out, in, n);
		j = n;
	}
	while (extra != 0 && i < n) { /* copy each line, a CR before a bare LF */
		p = memchr(in + i, '\n', n - i);
		size_t stop = p != NULL ? (size_t)(p - in) : n;
		memcpy(out + j, in + i, stop - i);
		j += stop - i;
		if (p == NULL)
			break;
		if (stop == 0 || in[stop - 1] != '\r')
			out[j++] = '\r';
		out[j++] = '\n';
		i = stop + 1;
	}
	out[j] = '\0';
	*len_out = j;
	return out;
}

int
raw_parse(const void *data, size_t n, struct raw_msg **out, struct err *e)
{
	struct raw_msg *m;
	size_t pos = 0, cap = 0;
	bool seen[N_ONCE] = {false};

	*out = NULL;
	if (n > RAW_MAX_BYTES) {
		return err_set(e, 400, "InvalidParameterValue",
			       "Message length is more than %d bytes long: '%zu'.", RAW_MAX_BYTES, n);
	}
	m = xcalloc(1, sizeof(*m));
	if ((m->data = normalise(data, n, &m->len, e)) == NULL)
		goto fail;
	m->body_off = m->len;
	while (pos < m->len) {
		const char *line = m->data + pos, *colon;
		const char *lf = memchr(line, '\n', m->len - pos);
		size_t end = lf ? (size_t)(lf - m->data) - 1 : m->len; /* the CR, or the end */
		size_t llen = end - pos, next = lf ? end + 2 : m->len;

		if (llen == 0) { /* the empty line: the body follows */
			m->has_body = true;
			m->body_off = next;
			break;
		}
		if (next > RAW_HEADER_MAX) {
			invalid(e, "Header section too long.");
			goto fail;
		}
		if (llen > RAW_LINE_MAX) {
			bad_line(e, "Header line longer than 998 characters", line, llen);
			goto fail;
		}
		if (is_wsp(line[0])) { /* a continuation of the field before */
			struct raw_field *f;
			size_t k = 0;
			if (m->nfields == 0) {
				missing_from(e);
				goto fail;
			}
			while (k < llen && is_wsp(line[k]))
				k++;
			if (k == llen) {
				invalid(e, "Illegal header line: a continuation line holds only "
					   "whitespace.");
				goto fail;
			}
			f = &m->field[m->nfields - 1];
			if (check_value(line, llen, m->data + f->off, f->name_len, e) != 0)
				goto fail;
			f->len = next - f->off;
			f->value_len = end - f->value_off;
			pos = next;
			continue;
		}
		colon = memchr(line, ':', llen);
		if (colon == line) {
			invalid(e, "Empty header names are illegal.");
			goto fail;
		}
		bool name_ok = colon != NULL;
		for (const char *p = line; name_ok && p < colon; p++)
			name_ok = (unsigned char)*p >= 33 && (unsigned char)*p <= 126;
		if (!name_ok) {
			/* Before any field: there is no header section at all. */
			if (m->nfields == 0)
				missing_from(e);
			else
				bad_line(e, "Illegal header line", line, llen);
			goto fail;
		}
		if (m->nfields == RAW_MAX_FIELDS) {
			invalid(e, "Header section too long.");
			goto fail;
		}
		if (m->nfields == cap) {
			cap = cap ? cap * 2 : 32;
			m->field = xrealloc(m->field, cap * sizeof(*m->field));
		}
		struct raw_field *f = &m->field[m->nfields++];
		f->off = pos;
		f->name_len = (size_t)(colon - line);
		f->value_off = pos + f->name_len + 1;
		f->value_len = end - f->value_off;
		f->len = next - pos;
		if (check_value(colon + 1, f->value_len, line, f->name_len, e) != 0)
			goto fail;
		int k = once_index(line, f->name_len);
		if (k >= 0) {
			if (seen[k]) {
				invalid(e, "Duplicate header '%s'.", once[k]); /* SES's words */
				goto fail;
			}
			seen[k] = true;
		}
		pos = next;
	}
	if (m->nfields == 0) {
		missing_from(e);
		goto fail;
	}
	*out = m;
	return 0;
fail:
	raw_free(m);
	return -1;
}

void
raw_free(struct raw_msg *m)
{
	if (m == NULL)
		return;
	free(m->data);
	free(m->field);
	free(m);
}

static bool
name_is(const struct raw_msg *m, size_t i, const char *name, size_t n)
{
	const struct raw_field *f = &m->field[i];

	return f->name_len == n && strncasecmp(m->data + f->off, name, n) == 0;
}

long
raw_find(const struct raw_msg *m, const char *name, size_t from)
{
	size_t n = strlen(name);

	for (size_t i = from; i < m->nfields; i++)
		if (name_is(m, i, name, n))
			return (long)i;
	return -1;
}

int
raw_value(const struct raw_msg *m, size_t i, struct buf *out)
{
	const struct raw_field *f = &m->field[i];
	const char *v = m->data + f->value_off;
	size_t b = 0, en = f->value_len, start = out->len;

	while (b < en && (is_wsp(v[b]) || v[b] == '\r' || v[b] == '\n'))
		b++;
	while (en > b && (is_wsp(v[en - 1]) || v[en - 1] == '\r' || v[en - 1] == '\n'))
		en--;
	for (size_t k = b; k < en;) {
		const char *cr = memchr(v + k, '\r', en - k);
		size_t stop = cr ? (size_t)(cr - v) : en;
		if (buf_append(out, v + k, stop - k) != 0) {
			out->len = start;
			if (out->data != NULL)
				out->data[start] = '\0';
			return -1;
		}
		k = cr ? stop + 2 : en; /* skip the CRLF of a fold, keep the WSP */
	}
	if (out->data == NULL)
		buf_append(out, "", 0);
	return 0;
}

char *
raw_get(const struct raw_msg *m, const char *name)
{
	long i = raw_find(m, name, 0);
	struct buf b;

	if (i < 0)
		return NULL;
	buf_init(&b, 0);
	raw_value(m, (size_t)i, &b);
	if (b.data == NULL)
		return xstrdup("");
	return b.data;
}

/*
 * True when an address-list value uses group syntax (`name: a@x, b@y;`): a
 * ':' outside quoted strings, comments and angle brackets. It only picks the
 * words of raw_from's refusal; the refusal itself is address_parse's.
 */
static bool
has_group(const char *s, size_t n)
{
	bool quoted = false;
	int comment = 0, angle = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if ((quoted || comment > 0) && c == '\\') {
			i++;
			continue;
		}
		if (quoted) {
			quoted = c != '"';
			continue;
		}
		if (comment > 0) {
			comment += c == '(' ? 1 : c == ')' ? -1 : 0;
			continue;
		}
		if (c == '"')
			quoted = true;
		else if (c == '(')
			comment = 1;
		else if (c == '<')
			angle++;
		else if (c == '>' && angle > 0)
			angle--;
		else if (c == ':' && angle == 0)
			return true;
	}
	return false;
}

int
raw_from(const struct raw_msg *m, struct address *out, struct err *e)
{
	long i = raw_find(m, "From", 0);
	struct address *first;
	struct buf b;
	size_t n = 0;
	int rc;

	if (i < 0)
		return missing_from(e);
	/* raw_parse refuses this already (invariant 4); a From that is not the
	 * only one must never be the one authorized */
	if (raw_find(m, "From", (size_t)i + 1) >= 0)
		return invalid(e, "Duplicate header 'From'.");
	buf_init(&b, 0);
	raw_value(m, (size_t)i, &b);
	/* the list parser tells "several" and "none" apart; one slot is
	 * enough: a second mailbox is "Too many addresses" */
	first = xcalloc(1, sizeof(*first));
	rc = address_parse_list(b.data, b.len, first, 1, &n, e);
	if (rc != 0 && strncmp(e->message, "Too many addresses", 18) == 0)
		rc = invalid(e, "Multiple addresses in the From header are not supported.");
	else if (rc == 0 && n == 0)
		rc = invalid(e, "Empty required header 'From'.");
	else if (rc == 0 && address_parse(b.data, b.len, first, e) != 0)
		/* one mailbox in a group, or beside empty list elements: the
		 * field must be exactly one mailbox */
		rc = has_group(b.data, b.len)
			     ? invalid(e, "Group syntax in the From header is not supported.")
			     : -1;
	if (rc == 0)
		*out = *first;
	free(first);
	buf_free(&b);
	return rc;
}

int
raw_recipients(const struct raw_msg *m, struct address **out, size_t *n_out, struct err *e)
{
	static const char *const names[] = {"To", "Cc", "Bcc"};
	struct address *list = NULL;
	size_t count = 0;
	struct buf b;

	*out = NULL;
	*n_out = 0;
	buf_init(&b, 0);
	for (size_t k = 0; k < 3; k++) {
		for (long i = raw_find(m, names[k], 0); i >= 0;
		     i = raw_find(m, names[k], (size_t)i + 1)) {
			size_t got = 0;
			buf_reset(&b);
			raw_value(m, (size_t)i, &b);
			if (b.len == 0) {
				if (k == 0) {
					invalid(e, "Empty required header 'To'.");
					goto fail;
				}
				continue;
			}
			if (list == NULL)
				list = xcalloc(RAW_MAX_RECIPIENTS + 1, sizeof(*list));
			if (address_parse_list(b.data, b.len, list + count,
					       RAW_MAX_RECIPIENTS + 1 - count, &got, e) != 0) {
				if (strncmp(e->message, "Too many addresses", 18) == 0)
					invalid(e, "Recipient count exceeds 50.");
				goto fail;
			}
			count += got;
			if (count > RAW_MAX_RECIPIENTS) {
				invalid(e, "Recipient count exceeds 50.");
				goto fail;
			}
		}
	}
	buf_free(&b);
	if (count == 0) {
		free(list);
		list = NULL;
	}
	*out = list;
	*n_out = count;
	return 0;
fail:
	buf_free(&b);
	free(list);
	return -1;
}

bool
raw_is_ses_header(const char *name, size_t n)
{
	static const char *const ses[] = {
		"X-SES-SOURCE-ARN",        "X-SES-FROM-ARN",     "X-SES-RETURN-PATH-ARN",
		"X-SES-CONFIGURATION-SET", "X-SES-MESSAGE-TAGS",
	};

	for (size_t i = 0; i < sizeof(ses) / sizeof(ses[0]); i++)
		if (strlen(ses[i]) == n && strncasecmp(ses[i], name, n) == 0)
			return true;
	return false;
}

/* Fields SES drops or replaces before delivery. */
static bool
dropped(const struct raw_msg *m, size_t i)
{
	const struct raw_field *f = &m->field[i];

	return name_is(m, i, "Bcc", 3) || name_is(m, i, "Message-ID", 10) ||
	       name_is(m, i, "Date", 4) || raw_is_ses_header(m->data + f->off, f->name_len);
}

int
raw_render(const struct raw_msg *m, const char *date, const char *message_id, struct buf *out)
{
	if (buf_printf(out, "Date: %s\r\nMessage-ID: %s\r\n", date, message_id) != 0)
		return -1;
	for (size_t i = 0; i < m->nfields; i++) {
		const struct raw_field *f = &m->field[i];
		if (dropped(m, i))
			continue;
		if (buf_append(out, m->data + f->off, f->len) != 0)
			return -1;
		/* the last line of a message without a body may lack its CRLF */
		if (f->len < 2 || m->data[f->off + f->len - 1] != '\n')
			if (buf_append(out, "\r\n", 2) != 0)
				return -1;
	}
	if (buf_append(out, "\r\n", 2) != 0)
		return -1;
	if (m->has_body && buf_append(out, m->data + m->body_off, m->len - m->body_off) != 0)
		return -1;
	return 0;
}

void
raw_date(long long t, char out[40])
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
		 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}

/*
 * report.c — inbound DSN and ARF reports; see report.h.
 *
 * Two halves. GMime parses the outer message into a MIME tree, decodes the
 * transfer encoding of the parts we read, and parses the returned original
 * (a message/rfc822 part it already built, or the bytes of a
 * text/rfc822-headers part) for its Message-ID and To. The bodies of the
 * message/delivery-status and message/feedback-report parts are not RFC
 * 5322 messages (a DSN body is several header-like groups separated by
 * blank lines), so they are read by hand by the field scanner below, which
 * works on the decoded bytes in place and copies each value once, bounded,
 * into its fixed-size field of struct report.
 *
 * Invariants: every GMime object made here is unreferenced before
 * report_parse returns; every string written into struct report goes
 * through put_value, so it is NUL-terminated, fits its array, is valid
 * UTF-8 and holds no control characters. The walk visits at most
 * REPORT_MAX_PARTS parts and REPORT_MAX_DEPTH multipart levels and never
 * looks inside a returned original (a bounce of a bounce is still one
 * report).
 */
#include "feedback/report.h"

#include <gmime/gmime.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "mail/build.h"
#include "util/testable.h"
#include "util/utf8.h"

#define VALUE_MAX 1024 /* scratch for one unfolded value before it is cut to its field */

/* ---- values ---------------------------------------------------------- */

static bool
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Copy n bytes of a field value into dst (cap bytes, cap >= 1), unfolded
 * and trimmed: a run of whitespace, line breaks (folds) and other control
 * bytes becomes one space, a byte that is not UTF-8 becomes '?'. Stops, on a character boundary,
 * when dst is full. Returns true when the whole value fit.
 */
static bool
put_value(char *dst, size_t cap, const char *v, size_t n)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t o = 0, i = 0;
	bool fit = true, space = false;

	while (i < n && (is_wsp(s[i]) || s[i] == '\r' || s[i] == '\n'))
		i++;
	while (i < n) {
		unsigned char c = s[i];
		size_t k = 1;
		bool bad = false;

		if (c <= ' ' || c == 0x7f) {
			space = true;
			i++;
			continue;
		}
		if (c >= 0x80 && (k = utf8_decode(s + i, n - i, NULL)) == 0) {
			k = 1;
			bad = true;
		}
		if (o + (space ? 1 : 0) + k >= cap) {
			fit = false;
			break;
		}
		if (space)
			dst[o++] = ' ';
		space = false;
		if (bad) {
			dst[o++] = '?';
		} else {
			memcpy(dst + o, s + i, k);
			o += k;
		}
		i += k;
	}
	dst[o] = '\0';
	return fit;
}

/* The end of the token at the start of s (stops at WSP, '(' or ';'). */
static size_t
token_len(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0' && !is_wsp((unsigned char)s[n]) && s[n] != '(' && s[n] != ';')
		n++;
	return n;
}

/*
 * An address field into dst (cap bytes): with `typed`, a leading
 * address-type ("rfc822;", "utf-8 ;") is dropped; then angle brackets and
 * surrounding space. Left "" when nothing is there or it does not fit (a
 * cut address would be somebody else's).
 */
static void
put_addr(char *dst, size_t cap, const char *v, size_t n, bool typed)
{
	char tmp[VALUE_MAX];
	char *a = tmp, *semi, *gt;
	size_t len;

	dst[0] = '\0';
	if (!put_value(tmp, sizeof(tmp), v, n))
		return;
	if (typed && (semi = strchr(tmp, ';')) != NULL) {
		bool token = semi > tmp;
		for (char *p = tmp; p < semi && token; p++)
			token = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			        (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			        *p == '+' || *p == ' ';
		if (token)
			a = semi + 1;
	}
	while (*a == ' ')
		a++;
	if (*a == '<' && (gt = strchr(a, '>')) != NULL) {
		a++;
		*gt = '\0';
		while (*a == ' ')
			a++;
	}
	len = strlen(a);
	while (len > 0 && a[len - 1] == ' ')
		a[--len] = '\0';
	if (len == 0 || len >= cap)
		return;
	memcpy(dst, a, len + 1);
}

/* "X.Y.Z" (RFC 3463: class 2, 4 or 5, subject and detail 1-3 digits) at
 * the start of the value, copied to dst; else "". */
static void
put_status(char *dst, size_t cap, const char *v, size_t n)
{
	char tmp[64];
	size_t len, i = 2;

	dst[0] = '\0';
	put_value(tmp, sizeof(tmp), v, n);
	len = token_len(tmp);
	if (len < 5 || len >= cap || (tmp[0] != '2' && tmp[0] != '4' && tmp[0] != '5') ||
	    tmp[1] != '.')
		return;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (i < len && tmp[i] >= '0' && tmp[i] <= '9' && d < 4)
			i++, d++;
		if (d < 1 || d > 3)
			return;
		if (part == 0) {
			if (i >= len || tmp[i] != '.')
				return;
			i++;
		}
	}
	if (i != len)
		return;
	memcpy(dst, tmp, len);
	dst[len] = '\0';
}

/* The value's first token lower-cased into dst, "" when it does not fit or
 * holds a byte outside [a-z0-9._-]. */
static void
put_token(char *dst, size_t cap, const char *v, size_t n)
{
	char tmp[64];
	size_t len;

	dst[0] = '\0';
	put_value(tmp, sizeof(tmp), v, n);
	len = token_len(tmp);
	if (len == 0 || len >= cap)
		return;
	for (size_t i = 0; i < len; i++) {
		char c = tmp[i];
		if (c >= 'A' && c <= 'Z')
			tmp[i] = c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == '_'))
			return;
	}
	memcpy(dst, tmp, len);
	dst[len] = '\0';
}

static void
put_action(char *dst, size_t cap, const char *v, size_t n)
{
	static const char *const known[] = {"failed", "delayed", "delivered", "relayed",
	                                    "expanded"};

	put_token(dst, cap, v, n);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(dst, known[i]) == 0)
			return;
	dst[0] = '\0';
}

/* ---- the field scanner ---------------------------------------------- */

enum scan_item { SCAN_END, SCAN_FIELD, SCAN_BREAK };

/* A cursor over a header-like body: fields, and blank lines between
 * groups. Lines end in LF or CRLF; a line that is neither a field nor a
 * continuation is skipped. */
struct scan {
	const char *p, *end;
	size_t nfields;
	/* the current field */
	const char *name, *val;
	size_t name_len, val_len;
};

/* One line from s->p: its bytes without the line end, and where the next
 * line starts. */
static void
scan_line(const char *p, const char *end, size_t *len_out, const char **next_out)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *e = nl != NULL ? nl : end;

	*next_out = nl != NULL ? nl + 1 : end;
	if (e > p && e[-1] == '\r')
		e--;
	*len_out = (size_t)(e - p);
}

static bool
blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_wsp((unsigned char)p[i]) && p[i] != '\r')
			return false;
	return true;
}

static enum scan_item
scan_next(struct scan *s)
{
	while (s->p < s->end) {
		const char *line = s->p, *next, *colon;
		size_t len, nlen;
		bool ok = true;

		scan_line(line, s->end, &len, &next);
		s->p = next;
		if (blank(line, len))
			return SCAN_BREAK;
		if (is_wsp((unsigned char)line[0]))
			continue; /* a continuation of nothing */
		colon = memchr(line, ':', len);
		if (colon == NULL)
			continue;
		nlen = (size_t)(colon - line);
		while (nlen > 0 && is_wsp((unsigned char)line[nlen - 1]))
			nlen--; /* obsolete "Name :" */
		for (size_t i = 0; i < nlen && ok; i++)
			ok = (unsigned char)line[i] > 32 && (unsigned char)line[i] < 127;
		if (nlen == 0 || !ok)
			continue;
		if (s->nfields >= REPORT_MAX_FIELDS) {
			s->p = s->end;
			return SCAN_END;
		}
		s->nfields++;
		s->name = line;
		s->name_len = nlen;
		s->val = colon + 1;
		s->val_len = (size_t)(line + len - s->val);
		/* folded lines: start with WSP and hold something else */
		while (s->p < s->end && is_wsp((unsigned char)*s->p)) {
			size_t clen;
			scan_line(s->p, s->end, &clen, &next);
			if (blank(s->p, clen))
				break;
			s->val_len = (size_t)(s->p + clen - s->val);
			s->p = next;
		}
		return SCAN_FIELD;
	}
	return SCAN_END;
}

static bool
named(const struct scan *s, const char *name)
{
	return strlen(name) == s->name_len && strncasecmp(s->name, name, s->name_len) == 0;
}

/* ---- message/delivery-status ---------------------------------------- */

enum {
	SEEN_FINAL = 1 << 0,
	SEEN_ORIG = 1 << 1,
	SEEN_ACTION = 1 << 2,
	SEEN_STATUS = 1 << 3,
	SEEN_DIAG = 1 << 4,
	SEEN_REMOTE = 1 << 5,
	SEEN_MTA = 1 << 6,
	SEEN_DATE = 1 << 7,
};

/* One group being read: it is per-recipient when it names a recipient,
 * which may be its last field, so it is kept aside until it ends. */
struct group {
	struct report_rcpt r;
	char reporting_mta[300];
	char arrival_date[64];
	unsigned seen;
	bool any;
};

static void
group_field(struct group *g, const struct scan *s)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
	    {"Final-Recipient", SEEN_FINAL}, {"Original-Recipient", SEEN_ORIG},
	    {"Action", SEEN_ACTION},         {"Status", SEEN_STATUS},
	    {"Diagnostic-Code", SEEN_DIAG},  {"Remote-MTA", SEEN_REMOTE},
	    {"Reporting-MTA", SEEN_MTA},     {"Arrival-Date", SEEN_DATE},
	};
	unsigned bit = 0;

	g->any = true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && bit == 0; i++)
		if (named(s, names[i].name))
			bit = names[i].bit;
	if (bit == 0 || (g->seen & bit) != 0)
		return; /* unknown, or not the first: the first one counts */
	g->seen |= bit;
	switch (bit) {
	case SEEN_FINAL:
		put_addr(g->r.final_recipient, sizeof(g->r.final_recipient), s->val, s->val_len,
		         true);
		break;
	case SEEN_ORIG:
		put_addr(g->r.original_recipient, sizeof(g->r.original_recipient), s->val,
		         s->val_len, true);
		break;
	case SEEN_ACTION:
		put_action(g->r.action, sizeof(g->r.action), s->val, s->val_len);
		break;
	case SEEN_STATUS:
		put_status(g->r.status, sizeof(g->r.status), s->val, s->val_len);
		break;
	case SEEN_DIAG:
		put_value(g->r.diagnostic_code, sizeof(g->r.diagnostic_code), s->val, s->val_len);
		break;
	case SEEN_REMOTE:
		put_value(g->r.remote_mta, sizeof(g->r.remote_mta), s->val, s->val_len);
		break;
	case SEEN_MTA:
		put_value(g->reporting_mta, sizeof(g->reporting_mta), s->val, s->val_len);
		break;
	case SEEN_DATE:
		put_value(g->arrival_date, sizeof(g->arrival_date), s->val, s->val_len);
		break;
	}
}

/* The end of a group: keep it as a recipient block, or as the per-message
 * block when it is the first group and names no recipient. */
static void
group_end(struct report *out, struct group *g, bool *first)
{
	if (!g->any)
		return;
	if ((g->seen & (SEEN_FINAL | SEEN_ORIG)) != 0) {
		if (out->nrcpt < REPORT_MAX_RCPTS)
			out->rcpt[out->nrcpt++] = g->r;
	} else if (*first) {
		memcpy(out->reporting_mta, g->reporting_mta, sizeof(out->reporting_mta));
		memcpy(out->arrival_date, g->arrival_date, sizeof(out->arrival_date));
	}
	*first = false;
	memset(g, 0, sizeof(*g));
}

TESTABLE void
report_parse_dsn_body(const char *p, size_t n, struct report *out)
{
	struct scan s = {.p = p, .end = p + n};
	struct group g;
	enum scan_item it;
	bool first = true;

	memset(&g, 0, sizeof(g));
	while ((it = scan_next(&s)) != SCAN_END) {
		if (it == SCAN_BREAK)
			group_end(out, &g, &first);
		else
			group_field(&g, &s);
	}
	group_end(out, &g, &first);
}

/* ---- message/feedback-report ---------------------------------------- */

TESTABLE void
report_parse_arf_body(const char *p, size_t n, struct report *out)
{
	struct scan s = {.p = p, .end = p + n};
	enum scan_item it;
	bool rcpt = false, from = false, type = false, arrival = false, received = false,
	     ua = false, ip = false, mta = false;

	while ((it = scan_next(&s)) != SCAN_END) {
		if (it != SCAN_FIELD)
			continue; /* one group; a stray blank line changes nothing */
		if (!type && named(&s, "Feedback-Type")) {
			type = true;
			put_token(out->feedback_type, sizeof(out->feedback_type), s.val, s.val_len);
		} else if (!ua && named(&s, "User-Agent")) {
			ua = true;
			put_value(out->user_agent, sizeof(out->user_agent), s.val, s.val_len);
		} else if (!rcpt && named(&s, "Original-Rcpt-To")) {
			rcpt = true;
			put_addr(out->original_rcpt_to, sizeof(out->original_rcpt_to), s.val,
			         s.val_len, false);
		} else if (!from && named(&s, "Original-Mail-From")) {
			from = true;
			put_addr(out->original_mail_from, sizeof(out->original_mail_from), s.val,
			         s.val_len, false);
		} else if (!arrival && named(&s, "Arrival-Date")) {
			arrival = true;
			put_value(out->arrival_date, sizeof(out->arrival_date), s.val, s.val_len);
		} else if (!arrival && !received && named(&s, "Received-Date")) {
			received = true;
			put_value(out->arrival_date, sizeof(out->arrival_date), s.val, s.val_len);
		} else if (!ip && named(&s, "Source-IP")) {
			ip = true;
			if (!put_value(out->source_ip, sizeof(out->source_ip), s.val, s.val_len))
				out->source_ip[0] = '\0';
		} else if (!mta && named(&s, "Reporting-MTA")) {
			mta = true;
			put_value(out->reporting_mta, sizeof(out->reporting_mta), s.val, s.val_len);
		}
	}
}

/* ---- the MIME walk --------------------------------------------------- */

struct walk {
	struct report *out;
	enum report_kind kind;
	int parts;
	bool original;
};

/* The decoded content of a leaf part, in a new memory stream (unref it),
 * or NULL when the part has none. */
static GMimeStream *
part_bytes(GMimePart *part, const char **p_out, size_t *n_out)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *ba;

	if (content == NULL)
		return NULL;
	mem = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_write_to_stream(content, mem) < 0) {
		g_object_unref(mem);
		return NULL;
	}
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	*p_out = ba->len > 0 ? (const char *)ba->data : ""; /* data is NULL when empty */
	*n_out = ba->len;
	return mem;
}

static GMimeMessage *
parse_message(const char *p, size_t n)
{
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(p, n);
	GMimeParser *parser = g_mime_parser_new_with_stream(mem);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(mem);
	return msg;
}

/* Message-ID and a lone To of the returned original. */
static void
read_original(GMimeMessage *msg, struct report *out)
{
	const char *id = g_mime_message_get_message_id(msg);
	InternetAddressList *to = g_mime_message_get_to(msg);
	InternetAddressMailbox *one = NULL;
	int count = 0, n;

	if (id != NULL &&
	    !put_value(out->original_message_id, sizeof(out->original_message_id), id, strlen(id)))
		out->original_message_id[0] = '\0';
	n = to != NULL ? internet_address_list_length(to) : 0;
	for (int i = 0; i < n && count < 2; i++) {
		InternetAddress *a = internet_address_list_get_address(to, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			one = INTERNET_ADDRESS_MAILBOX(a);
			count++;
		} else if (INTERNET_ADDRESS_IS_GROUP(a)) {
			InternetAddressList *m =
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a));
			int k = m != NULL ? internet_address_list_length(m) : 0;
			for (int j = 0; j < k && count < 2; j++) {
				InternetAddress *b = internet_address_list_get_address(m, j);
				if (INTERNET_ADDRESS_IS_MAILBOX(b)) {
					one = INTERNET_ADDRESS_MAILBOX(b);
					count++;
				} else {
					count = 2; /* a group in a group: not one address */
				}
			}
		}
	}
	if (count == 1) {
		const char *addr = internet_address_mailbox_get_addr(one);
		if (addr != NULL)
			put_addr(out->original_to, sizeof(out->original_to), addr, strlen(addr),
			         false);
	}
}

static bool
is_type(GMimeContentType *ct, const char *type, const char *subtype)
{
	return ct != NULL && g_mime_content_type_is_type(ct, type, subtype);
}

static void
visit_leaf(GMimeObject *obj, struct walk *w)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	bool dsn = is_type(ct, "message", "delivery-status") ||
	           is_type(ct, "message", "global-delivery-status");
	bool arf = is_type(ct, "message", "feedback-report");
	bool orig = is_type(ct, "message", "rfc822") || is_type(ct, "message", "global") ||
	            is_type(ct, "text", "rfc822-headers") ||
	            is_type(ct, "message", "global-headers");
	GMimeStream *mem;
	const char *p = NULL;
	size_t n = 0;

	if ((dsn || arf) && w->kind == REPORT_OTHER && GMIME_IS_PART(obj)) {
		w->kind = dsn ? REPORT_DSN : REPORT_ARF;
		if ((mem = part_bytes(GMIME_PART(obj), &p, &n)) == NULL)
			return;
		if (dsn)
			report_parse_dsn_body(p, n, w->out);
		else
			report_parse_arf_body(p, n, w->out);
		g_object_unref(mem);
	} else if (orig && !w->original) {
		w->original = true;
		if (GMIME_IS_MESSAGE_PART(obj)) {
			GMimeMessage *msg =
			    g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
			if (msg != NULL)
				read_original(msg, w->out);
		} else if (GMIME_IS_PART(obj) &&
		           (mem = part_bytes(GMIME_PART(obj), &p, &n)) != NULL) {
			GMimeMessage *msg = parse_message(p, n);
			if (msg != NULL) {
				read_original(msg, w->out);
				g_object_unref(msg);
			}
			g_object_unref(mem);
		}
	}
}

static void
visit(GMimeObject *obj, int depth, struct walk *w)
{
	if (obj == NULL || w->parts >= REPORT_MAX_PARTS)
		return;
	w->parts++;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n;

		if (depth >= REPORT_MAX_DEPTH)
			return;
		n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n && w->parts < REPORT_MAX_PARTS; i++)
			visit(g_mime_multipart_get_part(mp, i), depth + 1, w);
		return;
	}
	if (depth > 0) /* a report is a multipart; a lone status part is not one */
		visit_leaf(obj, w);
}

enum report_kind
report_parse(const char *data, size_t len, struct report *out)
{
	struct walk w = {.out = out, .kind = REPORT_OTHER};
	GMimeMessage *msg;

	memset(out, 0, sizeof(*out));
	if (data == NULL || len == 0 || len > REPORT_MAX_BYTES)
		return REPORT_OTHER;
	build_gmime_init();
	msg = parse_message(data, len);
	if (msg == NULL)
		return REPORT_OTHER;
	visit(g_mime_message_get_mime_part(msg), 0, &w);
	g_object_unref(msg);
	if (w.kind == REPORT_OTHER)
		memset(out, 0, sizeof(*out));
	out->kind = w.kind;
	return w.kind;
}

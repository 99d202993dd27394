/*
 * dev_messages.c — the capture inbox (dev_messages.h). Reads go through the
 * loop's own store handle; the inbox is the messages whose transport is
 * "capture" (capture.h), so a queued message is never listed or deleted.
 * Everything the sender controlled (addresses, subject) is escaped: JSON by
 * jansson after invalid UTF-8 is replaced by U+FFFD, HTML by html_put.
 */
#include "api/dev_messages.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/dev.h"
#include "delivery/capture.h"
#include "mail/view.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/hash.h"
#include "util/httpd.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define ID_MAX 79      /* longest MessageId looked up (ours are 60) */
#define SEARCH_MAX 256 /* longest search parameter */
#define DEV_EVENTS_PING 15      /* seconds of quiet before a keep-alive comment */
#define DEV_EVENTS_LIFETIME 600 /* seconds a stream lives; the page then reconnects */

/* ---- helpers ---------------------------------------------------------- */

/* A JSON string for s (null when s is NULL); never fails on bad bytes. */
static json_t *
jstr(const char *s)
{
	json_t *v;
	char *clean;

	if (s == NULL)
		return json_null();
	if ((v = json_string(s)) != NULL)
		return v;
	clean = utf8_clean(s);
	v = json_string(clean);
	free(clean);
	return v != NULL ? v : json_null();
}

static void
reply_json(struct httpd_req *r, int status, json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(1));

	if (text == NULL)
		abort(); /* jansson cannot allocate: out of memory */
	httpd_add_header(r, "Cache-Control", "no-store");
	dev_reply(r, status, "application/json", text, strlen(text));
	free(text);
	json_decref(doc);
}

static void
reply_error(struct httpd_req *r, int status, const char *message)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "error", jstr(message));
	reply_json(r, status, doc);
}

static void
reply_store_error(struct httpd_req *r, const struct err *e)
{
	log_warn("inbox: store: %s", e->message);
	reply_error(r, 503, "the store is unavailable; try again");
}

/* The list's query string: ?limit=N and the search (store_msg_filter). */
struct query {
	int limit;
	char *q, *from, *to, *subject, *account; /* NULL when absent or empty */
};

static void
query_free(struct query *qy)
{
	free(qy->q);
	free(qy->from);
	free(qy->to);
	free(qy->subject);
	free(qy->account);
}

static bool
query_filtered(const struct query *qy)
{
	return qy->q || qy->from || qy->to || qy->subject || qy->account;
}

/* Parameter `name` of a valid query string (NULL when absent or ""); -1
 * when longer than SEARCH_MAX. */
static int
query_take(const char *query, const char *name, char **out)
{
	char *v;

	(void)dev_query_get(query, name, &v); /* valid: parse_query checked */
	*out = NULL;
	if (v == NULL || v[0] == '\0') {
		free(v);
		return 0;
	}
	if (strlen(v) > SEARCH_MAX) {
		free(v);
		return -1;
	}
	*out = v;
	return 0;
}

/* Parse the query string into *qy (query_free it, on failure too): 0, or
 * -1 with a message for the 400 in msg. */
static int
parse_query(struct httpd_req *r, struct query *qy, const char **msg)
{
	const char *query = r->query;
	char *v;
	int rc = 0;

	memset(qy, 0, sizeof(*qy));
	qy->limit = DEV_MESSAGES_DEFAULT;
	*msg = "limit must be a whole number from 1 to 10000";
	if (query == NULL || query[0] == '\0')
		return 0;
	if (dev_query_get(query, "limit", &v) != 0) {
		*msg = "the query string is not valid";
		return -1;
	}
	if (v != NULL) {
		char *end;
		long n = strtol(v, &end, 10);
		if (v[0] == '\0' || *end != '\0' || n < 1 || n > DEV_MESSAGES_MAX)
			rc = -1;
		else
			qy->limit = (int)n;
		free(v);
	}
	if (rc == 0 &&
	    (query_take(query, "q", &qy->q) | query_take(query, "from", &qy->from) |
	     query_take(query, "to", &qy->to) | query_take(query, "subject", &qy->subject) |
	     query_take(query, "account", &qy->account)) != 0) {
		*msg = "a search parameter is longer than 256 bytes";
		rc = -1;
	}
	return rc;
}

/* Collect the list rows (the store's callback). */
struct rows {
	struct store_message *v;
	size_t n, cap;
};

static int
keep_row(void *arg, const struct store_message *m)
{
	struct rows *r = arg;
	struct store_message *c;

	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	/* take a deep copy: the store clears its row after we return */
	c = &r->v[r->n++];
	*c = *m;
	c->source_arn = m->source_arn ? xstrdup(m->source_arn) : NULL;
	c->from_arn = c->return_path_arn = c->principal = NULL;
	c->mail_from = m->mail_from ? xstrdup(m->mail_from) : NULL;
	c->source = m->source ? xstrdup(m->source) : NULL;
	c->from_addr = m->from_addr ? xstrdup(m->from_addr) : NULL;
	c->subject = m->subject ? xstrdup(m->subject) : NULL;
	c->config_set = c->tags = NULL; /* not listed; the store frees its own */
	c->destinations = m->ndestinations ? xcalloc(m->ndestinations, sizeof(char *)) : NULL;
	for (size_t i = 0; i < m->ndestinations; i++)
		c->destinations[i] = xstrdup(m->destinations[i]);
	c->raw = NULL;
	c->raw_len = 0;
	return 0;
}

static void
rows_free(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		store_message_clear(&r->v[i]);
	free(r->v);
}

/* The newest qy->limit captured messages qy's search matches, oldest
 * first; -1 with e on failure. The search runs in the store (bounded by
 * the limit), never over a full load. */
static int
load_inbox(struct api_thread *t, const struct query *qy, struct rows *r, struct err *e)
{
	struct store_msg_filter f = {qy->q, qy->from, qy->to, qy->subject, qy->account};
	int rc;

	memset(r, 0, sizeof(*r));
	if (query_filtered(qy))
		rc = t->store->ops->message_search(t->store, CAPTURE_NAME, &f, qy->limit, keep_row,
						   r, e);
	else
		rc = t->store->ops->message_list(t->store, CAPTURE_NAME, qy->limit, keep_row, r, e);
	if (rc != 0) {
		rows_free(r);
		return -1;
	}
	return 0;
}

/* ---- GET /_sesame/messages --------------------------------------------- */

static json_t *
message_json(const struct store_message *m)
{
	json_t *o = json_object(), *dest = json_array();
	char ts[32];

	for (size_t i = 0; i < m->ndestinations; i++)
		json_array_append_new(dest, jstr(m->destinations[i]));
	timefmt_iso_ms(m->created_ms, ts);
	json_object_set_new(o, "MessageId", jstr(m->id));
	json_object_set_new(o, "Region", jstr(m->region));
	json_object_set_new(o, "Source", jstr(m->source));
	json_object_set_new(o, "From", jstr(m->from_addr));
	json_object_set_new(o, "Destination", dest);
	json_object_set_new(o, "Subject", jstr(m->subject));
	json_object_set_new(o, "Timestamp", jstr(ts));
	json_object_set_new(o, "SendingAccountId", jstr(m->sending_account));
	json_object_set_new(o, "SourceArn", jstr(m->source_arn));
	json_object_set_new(o, "MailFrom", jstr(m->mail_from != NULL ? m->mail_from : m->source));
	return o;
}

void
dev_messages_list(struct httpd_req *r, struct api_thread *t, const char *rest)
{
	struct query qy;
	struct rows rows;
	struct err e;
	json_t *doc, *list;
	const char *msg;

	if (parse_query(r, &qy, &msg) != 0) {
		query_free(&qy);
		reply_error(r, 400, msg);
		return;
	}
	if (load_inbox(t, &qy, &rows, &e) != 0) {
		query_free(&qy);
		reply_store_error(r, &e);
		return;
	}
	query_free(&qy);
	doc = json_object();
	list = json_array();
	for (size_t i = 0; i < rows.n; i++)
		json_array_append_new(list, message_json(&rows.v[i]));
	json_object_set_new(doc, "messages", list);
	rows_free(&rows);
	reply_json(r, 200, doc);
}

/* ---- GET /_sesame/messages/<id>/raw ------------------------------------- */

static bool
id_shape_ok(const char *id, size_t n)
{
	if (n == 0 || n > ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-'))
			return false;
	}
	return true;
}

/* ---- GET /_sesame/messages/<id>/events ---------------------------------- */

static int
keep_event(void *arg, const struct store_event *ev)
{
	json_t *list = arg, *o = json_object(), *detail;
	char ts[TIMEFMT_LEN];

	timefmt_iso_ms(ev->ts_ms, ts);
	detail = ev->detail != NULL ? json_loads(ev->detail, 0, NULL) : NULL;
	json_object_set_new(o, "Type", jstr(ev->type));
	json_object_set_new(o, "Recipient", ev->recipient != NULL ? jstr(ev->recipient)
								  : json_null());
	json_object_set_new(o, "Timestamp", jstr(ts));
	json_object_set_new(o, "Detail", json_is_object(detail) ? detail : json_object());
	if (!json_is_object(detail))
		json_decref(detail);
	json_array_append_new(list, o);
	return 0;
}

/* Every transport's messages, not only captured ones: the events are how a
 * developer follows a message out of the machine. */
static void
message_events(struct httpd_req *r, struct api_thread *t, const char *id)
{
	struct store_message m = {0};
	struct err e;
	json_t *doc, *list;
	char msg[160];
	int rc = t->store->ops->message_get(t->store, id, &m, &e);

	store_message_clear(&m);
	if (rc < 0) {
		reply_store_error(r, &e);
		return;
	}
	if (rc == 0) {
		snprintf(msg, sizeof(msg), "message %s not found", id);
		reply_error(r, 404, msg);
		return;
	}
	list = json_array();
	if (t->store->ops->event_list(t->store, id, keep_event, list, &e) != 0) {
		json_decref(list);
		reply_store_error(r, &e);
		return;
	}
	doc = json_object();
	json_object_set_new(doc, "events", list);
	reply_json(r, 200, doc);
}

/* Load captured message id with raw into *m: true, or false with the 404
 * or 503 answered (m cleared). */
static bool
load_captured(struct httpd_req *r, struct api_thread *t, const char *id,
	      struct store_message *m)
{
	struct err e;
	char msg[160];
	int rc = t->store->ops->message_get(t->store, id, m, &e);

	if (rc < 0) {
		store_message_clear(m);
		reply_store_error(r, &e);
		return false;
	}
	if (rc == 0 || strcmp(m->transport, CAPTURE_NAME) != 0) {
		store_message_clear(m);
		snprintf(msg, sizeof(msg), "message %s not found", id);
		reply_error(r, 404, msg);
		return false;
	}
	return true;
}

static void
message_raw(struct httpd_req *r, struct api_thread *t, const char *id)
{
	struct store_message m = {0};

	if (!load_captured(r, t, id, &m))
		return;
	httpd_add_header(r, "Content-Type", "message/rfc822");
	httpd_add_header(r, "Cache-Control", "no-store");
	/* httpd_reply copies the bytes; ours are freed after it */
	httpd_reply(r, 200, m.raw != NULL ? (const void *)m.raw : "",
		    m.raw != NULL ? m.raw_len : 0);
	store_message_clear(&m);
}

/* ---- GET /_sesame/messages/<id> (parsed), /html, /attachments/<n> -------- */

/* Parse captured message id: the view (view_free it) with *m loaded, or
 * NULL when a 404/503 was answered or, with *perr set, when the bytes are
 * not a message GMime can read. */
static struct view *
load_view(struct httpd_req *r, struct api_thread *t, const char *id,
	  struct store_message *m, struct err *perr, bool *answered)
{
	struct view *v = NULL;

	*answered = false;
	if (!load_captured(r, t, id, m)) {
		*answered = true;
		return NULL;
	}
	if (view_parse(m->raw, m->raw_len, &v, perr) != 0)
		return NULL;
	return v;
}

static void
message_view(struct httpd_req *r, struct api_thread *t, const char *id)
{
	struct store_message m = {0};
	struct err pe = {0};
	bool answered;
	struct view *v = load_view(r, t, id, &m, &pe, &answered);
	json_t *doc, *hdrs, *atts;
	char url[ID_MAX + 64];

	if (answered)
		return;
	doc = message_json(&m);
	json_object_set_new(doc, "Size", json_integer((json_int_t)m.raw_len));
	snprintf(url, sizeof(url), "/_sesame/messages/%s/raw", id);
	json_object_set_new(doc, "RawUrl", jstr(url));
	if (v == NULL) {
		/* still a message the inbox lists: show what the store knows */
		json_object_set_new(doc, "ParseError", jstr(pe.message));
		json_object_set_new(doc, "Headers", json_array());
		json_object_set_new(doc, "Text", json_null());
		json_object_set_new(doc, "Html", json_null());
		json_object_set_new(doc, "HtmlUrl", json_null());
		json_object_set_new(doc, "Attachments", json_array());
		json_object_set_new(doc, "Truncated", json_false());
		store_message_clear(&m);
		reply_json(r, 200, doc);
		return;
	}
	hdrs = json_array();
	for (size_t i = 0; i < v->nheaders; i++) {
		json_t *h = json_object();
		json_object_set_new(h, "Name", jstr(v->headers[i].name));
		json_object_set_new(h, "Value", jstr(v->headers[i].value));
		json_array_append_new(hdrs, h);
	}
	json_object_set_new(doc, "Headers", hdrs);
	json_object_set_new(doc, "Text", jstr(v->text));
	json_object_set_new(doc, "Html", jstr(v->html));
	snprintf(url, sizeof(url), "/_sesame/messages/%s/html", id);
	json_object_set_new(doc, "HtmlUrl", v->html != NULL ? jstr(url) : json_null());
	atts = json_array();
	for (size_t i = 0; i < v->natt; i++) {
		const struct view_attachment *a = &v->att[i];
		json_t *o = json_object();
		snprintf(url, sizeof(url), "/_sesame/messages/%s/attachments/%zu", id, i);
		json_object_set_new(o, "Index", json_integer((json_int_t)i));
		json_object_set_new(o, "Filename", jstr(a->filename));
		json_object_set_new(o, "ContentType", jstr(a->content_type));
		json_object_set_new(o, "ContentId", jstr(a->content_id));
		json_object_set_new(o, "Inline", json_boolean(a->is_inline));
		json_object_set_new(o, "Size", json_integer((json_int_t)a->size));
		json_object_set_new(o, "Url", jstr(url));
		json_array_append_new(atts, o);
	}
	json_object_set_new(doc, "Attachments", atts);
	json_object_set_new(doc, "Truncated", json_boolean(v->truncated));
	view_free(v);
	store_message_clear(&m);
	reply_json(r, 200, doc);
}

/* The mail's HTML goes to an <iframe sandbox> (no allow-scripts, no
 * allow-same-origin) and carries its own policy as well, so opened
 * directly it is just as inert: no script, no plugin, no form, nothing
 * fetched from anywhere (a remote image is a read receipt), and it
 * cannot be framed by another site. */
#define HTML_PART_CSP                                                                        \
	"default-src 'none'; style-src 'unsafe-inline'; img-src data: cid:; "                 \
	"frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"

#define HTML_INLINE_MAX (8u * 1024 * 1024) /* image bytes inlined into one page */

static void
message_html(struct httpd_req *r, struct api_thread *t, const char *id)
{
	struct store_message m = {0};
	struct err pe = {0};
	bool answered;
	struct view *v = load_view(r, t, id, &m, &pe, &answered);
	char msg[160];

	if (answered)
		return;
	if (v == NULL || v->html == NULL) {
		snprintf(msg, sizeof(msg), "message %s has no HTML part", id);
		reply_error(r, 404, msg);
	} else {
		httpd_add_header(r, "Content-Security-Policy", HTML_PART_CSP);
		httpd_add_header(r, "X-Content-Type-Options", "nosniff");
		httpd_add_header(r, "Referrer-Policy", "no-referrer");
		httpd_add_header(r, "Cache-Control", "no-store");
		/* inline images as data: URIs, the one kind of image the
		 * policy lets the frame show */
		char *html = view_html_inline(v, HTML_INLINE_MAX);
		dev_reply(r, 200, "text/html; charset=utf-8", html, strlen(html));
		free(html);
	}
	view_free(v);
	store_message_clear(&m);
}

/* Types a browser shows as themselves without running anything; every
 * other attachment is served as application/octet-stream. */
static bool
inert_type(const char *ct)
{
	static const char *const ok[] = {"text/plain", "image/png", "image/jpeg", "image/gif",
					 "image/webp", "application/pdf"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(ct, ok[i]) == 0)
			return true;
	return false;
}

/* Content-Disposition for a download of `name`: an ASCII fallback with
 * every byte a quoted-string could misread replaced, and the exact UTF-8
 * name in RFC 8187 form. */
static void
disposition(struct buf *b, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";

	if (name[0] == '\0')
		name = "attachment";
	buf_puts(b, "attachment; filename=\"");
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		buf_putc(b, *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' ? (char)*p : '_');
	buf_puts(b, "\"; filename*=UTF-8''");
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    strchr("!#$&+-.^_`|~", *p) != NULL) {
			buf_putc(b, (char)*p);
		} else {
			buf_putc(b, '%');
			buf_putc(b, hex[*p >> 4]);
			buf_putc(b, hex[*p & 15]);
		}
	}
}

static void
message_attachment(struct httpd_req *r, struct api_thread *t, const char *id,
		   const char *index)
{
	struct store_message m = {0};
	struct err pe = {0};
	bool answered;
	struct view *v;
	struct buf cd;
	char *end, msg[160];
	unsigned long n;

	n = strtoul(index, &end, 10);
	if (index[0] < '0' || index[0] > '9' || *end != '\0' || strlen(index) > 4) {
		reply_error(r, 404, "not found");
		return;
	}
	v = load_view(r, t, id, &m, &pe, &answered);
	if (answered)
		return;
	if (v == NULL || n >= v->natt) {
		snprintf(msg, sizeof(msg), "message %s has no attachment %lu", id, n);
		reply_error(r, 404, msg);
		view_free(v);
		store_message_clear(&m);
		return;
	}
	const struct view_attachment *a = &v->att[n];
	buf_init(&cd, 0);
	disposition(&cd, a->filename);
	httpd_add_header(r, "Content-Type",
			 inert_type(a->content_type) ? a->content_type : "application/octet-stream");
	httpd_add_header(r, "Content-Disposition", cd.data);
	httpd_add_header(r, "Content-Security-Policy", "default-src 'none'; sandbox");
	httpd_add_header(r, "X-Content-Type-Options", "nosniff");
	httpd_add_header(r, "Cache-Control", "no-store");
	buf_free(&cd);
	httpd_reply(r, 200, a->data, a->size);
	view_free(v);
	store_message_clear(&m);
}

/* GET /_sesame/messages/<rest>: <id>, <id>/raw, <id>/html, <id>/events,
 * <id>/attachments/<n>; anything else 404. */
void
dev_messages_raw(struct httpd_req *r, struct api_thread *t, const char *rest)
{
	const char *slash = strchr(rest, '/');
	size_t n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	char id[ID_MAX + 1];

	if (!id_shape_ok(rest, n)) {
		reply_error(r, 404, "not found");
		return;
	}
	snprintf(id, sizeof(id), "%.*s", (int)n, rest);
	if (slash == NULL)
		message_view(r, t, id);
	else if (strcmp(slash, "/raw") == 0)
		message_raw(r, t, id);
	else if (strcmp(slash, "/events") == 0)
		message_events(r, t, id);
	else if (strcmp(slash, "/html") == 0)
		message_html(r, t, id);
	else if (strncmp(slash, "/attachments/", 13) == 0)
		message_attachment(r, t, id, slash + 13);
	else
		reply_error(r, 404, "not found");
}

/* DELETE /_sesame/messages/<id>: {"Deleted": 1}, or 404. */
void
dev_messages_delete_one(struct httpd_req *r, struct api_thread *t, const char *rest)
{
	struct err e;
	json_t *doc;
	char msg[160];
	int rc;

	if (!id_shape_ok(rest, strlen(rest))) {
		reply_error(r, 404, "not found");
		return;
	}
	rc = t->store->ops->message_delete_one(t->store, CAPTURE_NAME, rest, &e);
	if (rc < 0) {
		reply_store_error(r, &e);
		return;
	}
	if (rc == 0) {
		snprintf(msg, sizeof(msg), "message %s not found", rest);
		reply_error(r, 404, msg);
		return;
	}
	log_info("inbox: deleted captured message %s", rest);
	doc = json_object();
	json_object_set_new(doc, "Deleted", json_integer(1));
	reply_json(r, 200, doc);
}

/* ---- DELETE /_sesame/messages -------------------------------------------- */

void
dev_messages_delete(struct httpd_req *r, struct api_thread *t, const char *rest)
{
	struct err e;
	int64_t n = 0;
	json_t *doc;

	if (t->store->ops->message_delete(t->store, CAPTURE_NAME, &n, &e) != 0) {
		reply_store_error(r, &e);
		return;
	}
	log_info("inbox: deleted %lld captured messages", (long long)n);
	doc = json_object();
	json_object_set_new(doc, "Deleted", json_integer(n));
	reply_json(r, 200, doc);
}

/* ---- GET /_sesame/events (server-sent events) ---------------------------- */

/*
 * One open stream: a timer on the loop that asks the store for the newest
 * captured MessageId once a second (the capture transport writes from the
 * queue's store thread, so there is nothing on this loop to be told by)
 * and sends an event when it changed. No thread waits: the query is the
 * list's own, LIMIT 1 on an index. The stream ends when the client goes
 * (httpd's on_close, stream_closed, frees it), or by itself after
 * DEV_EVENTS_LIFETIME seconds, counted in ticks (nothing is read from the
 * client, so the server has no timeout that would end it); EventSource
 * then reconnects by itself.
 *
 * open_streams is process-wide on purpose: the cap is on what every loop
 * holds together, like the descriptors they share.
 */
struct stream {
	struct httpd_req *req;
	struct api_thread *t;
	struct event *tick;
	char newest[ID_MAX + 1]; /* "" = the inbox was empty */
	bool known;              /* newest was read at least once */
	int quiet;               /* ticks since the last byte sent */
	int age;                 /* ticks since the stream began */
};

static atomic_int open_streams;

static int
keep_newest(void *arg, const struct store_message *m)
{
	struct stream *st = arg;

	snprintf(st->newest, sizeof(st->newest), "%s", m->id);
	return 0;
}

static void
stream_send(struct stream *st, const char *text)
{
	httpd_reply_chunk(st->req, text, strlen(text));
	st->quiet = 0;
}

/* Read the newest id; send "event: mail" when it changed (and the first
 * time, so a page that reconnects catches up). */
static void
stream_poll(struct stream *st)
{
	char before[ID_MAX + 1], line[ID_MAX + 64];
	struct err e;

	snprintf(before, sizeof(before), "%s", st->newest);
	st->newest[0] = '\0';
	if (st->t->store->ops->message_list(st->t->store, CAPTURE_NAME, 1, keep_newest, st, &e) !=
	    0) {
		/* try again at the next tick; the page keeps what it shows */
		snprintf(st->newest, sizeof(st->newest), "%s", before);
		return;
	}
	if (st->known && strcmp(before, st->newest) == 0)
		return;
	st->known = true;
	/* ids are [0-9A-Za-z-] (id_shape_ok's alphabet): no JSON escaping */
	snprintf(line, sizeof(line), "event: mail\ndata: {\"Newest\": \"%s\"}\n\n", st->newest);
	stream_send(st, line);
}

/* End the reply (which frees the request, detached or not) and free st:
 * when the client went or the stream reached its lifetime. */
static void
stream_end(struct stream *st)
{
	event_free(st->tick);
	httpd_reply_end(st->req);
	free(st);
	atomic_fetch_sub(&open_streams, 1);
}

static void
stream_tick(evutil_socket_t fd, short what, void *arg)
{
	struct stream *st = arg;

	if (++st->age >= DEV_EVENTS_LIFETIME) {
		stream_end(st); /* the page reconnects */
		return;
	}
	stream_poll(st);
	if (++st->quiet >= DEV_EVENTS_PING)
		stream_send(st, ": ping\n\n"); /* a dead peer shows as a failed write */
}

/* The client went (or the server is closing): the request is detached and
 * still ours to end. */
static void
stream_closed(void *arg)
{
	stream_end(arg);
}

void
dev_messages_events(struct httpd_req *r, struct api_thread *t, const char *rest)
{
	struct timeval second = {1, 0};
	struct stream *st;

	if (atomic_fetch_add(&open_streams, 1) >= DEV_EVENTS_MAX) {
		atomic_fetch_sub(&open_streams, 1);
		httpd_add_header(r, "Retry-After", "5");
		reply_error(r, 503, "too many open event streams; try again later");
		return;
	}
	st = xcalloc(1, sizeof(*st));
	st->req = r;
	st->t = t;
	st->tick = event_new(t->base, -1, EV_PERSIST, stream_tick, st);
	if (st->tick == NULL)
		abort(); /* libevent cannot allocate: out of memory */
	httpd_add_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	httpd_add_header(r, "Cache-Control", "no-store");
	httpd_add_header(r, "X-Accel-Buffering", "no");
	httpd_reply_start(r, 200);
	httpd_on_close(r, stream_closed, st);
	/* nothing is read from here on: stream_tick ends the stream after
	 * DEV_EVENTS_LIFETIME seconds, then the page reconnects */
	stream_send(st, "retry: 2000\n\n");
	stream_poll(st);
	evtimer_add(st->tick, &second);
}

/* ---- GET /_sesame/ (HTML) ------------------------------------------------ */

/* Append s HTML-escaped (text and attribute values), invalid UTF-8 replaced. */
static void
html_put(struct buf *b, const char *s)
{
	char *clean;

	if (s == NULL)
		return;
	clean = utf8_clean(s);
	for (const char *p = clean; *p; p++) {
		switch (*p) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&#39;"); break;
		default: buf_putc(b, *p); break;
		}
	}
	free(clean);
}

/*
 * The page is one document: the list rendered here (so it reads without
 * script, and every value the sender chose goes through html_put), then
 * page_script, which takes over — search, the message view, delete, and
 * the list refreshed from /_sesame/events. The script builds the DOM with
 * textContent only, never from markup. Its policy allows exactly this
 * style and this script (by their hashes), fetches to this origin, and
 * frames from this origin; the mail's HTML itself goes into an
 * <iframe sandbox> from /_sesame/messages/<id>/html, which has a policy of
 * its own (HTML_PART_CSP).
 */
static const char page_style[] =
	"body{font-family:system-ui,sans-serif;margin:1em 2em;color:#222}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd;"
	"vertical-align:top}"
	"td.id{font-family:monospace;font-size:.85em}"
	"tr.msg{cursor:pointer}tr.msg:hover{background:#f3f6fa}tr.sel{background:#e4ecf7}"
	"form.search input{margin:0 .4em .4em 0}"
	"#view{border-top:2px solid #888;margin-top:1em;padding-top:.5em}"
	"#view iframe{width:100%;height:32em;border:1px solid #ccc}"
	"#view pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;padding:.6em}"
	"nav.tabs button{margin-right:.3em}nav.tabs button.on{font-weight:bold}"
	".hidden{display:none}.small{font-size:.85em;color:#555}";

static const char page_script[] =
	"'use strict';\n"
	"(function () {\n"
	"const $ = (id) => document.getElementById(id);\n"
	"function el(tag, text, cls) {\n"
	"  const e = document.createElement(tag);\n"
	"  if (text !== undefined && text !== null) e.textContent = String(text);\n"
	"  if (cls) e.className = cls;\n"
	"  return e;\n"
	"}\n"
	"const form = $('search');\n"
	"let current = null;\n"
	"function query() {\n"
	"  const p = new URLSearchParams();\n"
	"  for (const k of ['q', 'from', 'to', 'subject', 'account']) {\n"
	"    const v = form.elements[k].value.trim();\n"
	"    if (v) p.set(k, v);\n"
	"  }\n"
	"  return p;\n"
	"}\n"
	"function row(m) {\n"
	"  const tr = el('tr', null, 'msg');\n"
	"  tr.dataset.id = m.MessageId;\n"
	"  if (m.MessageId === current) tr.classList.add('sel');\n"
	"  tr.appendChild(el('td', m.Timestamp));\n"
	"  const from = el('td', m.From);\n"
	"  if (m.Source && m.Source !== m.From) {\n"
	"    from.appendChild(document.createElement('br'));\n"
	"    from.appendChild(el('small', 'Return-Path: ' + m.Source));\n"
	"  }\n"
	"  tr.appendChild(from);\n"
	"  tr.appendChild(el('td', (m.Destination || []).join(', ')));\n"
	"  tr.appendChild(el('td', m.Subject, 'subject'));\n"
	"  tr.appendChild(el('td', m.SendingAccountId));\n"
	"  tr.appendChild(el('td', m.SourceArn, 'id'));\n"
	"  const id = el('td', null, 'id');\n"
	"  const a = el('a', m.MessageId);\n"
	"  a.href = '/_sesame/messages/' + encodeURIComponent(m.MessageId) + '/raw';\n"
	"  id.appendChild(a);\n"
	"  tr.appendChild(id);\n"
	"  tr.addEventListener('click', (ev) => {\n"
	"    if (ev.target.tagName === 'A') return;\n"
	"    show(m.MessageId);\n"
	"  });\n"
	"  return tr;\n"
	"}\n"
	"async function refresh() {\n"
	"  const p = query();\n"
	"  const r = await fetch('/_sesame/messages?' + p.toString(), {cache: 'no-store'});\n"
	"  if (!r.ok) { $('status').textContent = 'cannot list: HTTP ' + r.status; return; }\n"
	"  const msgs = (await r.json()).messages.reverse();\n"
	"  const body = $('rows');\n"
	"  body.replaceChildren(...msgs.map(row));\n"
	"  $('list').classList.toggle('hidden', msgs.length === 0);\n"
	"  $('count').textContent = msgs.length + ' captured message' +\n"
	"    (msgs.length === 1 ? '' : 's') + (p.toString() ? ' matching' : '') + ', newest first.';\n"
	"  document.body.dataset.count = String(msgs.length);\n"
	"  if (current && !msgs.some((m) => m.MessageId === current)) hide();\n"
	"}\n"
	"function hide() {\n"
	"  current = null;\n"
	"  $('view').classList.add('hidden');\n"
	"  $('frame').removeAttribute('src');\n"
	"  if (location.hash) history.replaceState(null, '', location.pathname + location.search);\n"
	"}\n"
	"function tab(name) {\n"
	"  for (const b of document.querySelectorAll('nav.tabs button'))\n"
	"    b.classList.toggle('on', b.dataset.tab === name);\n"
	"  for (const t of ['html', 'text', 'headers', 'raw'])\n"
	"    $('tab-' + t).classList.toggle('hidden', t !== name);\n"
	"  if (name === 'raw' && current && !$('raw').dataset.loaded) {\n"
	"    const id = current;\n"
	"    fetch('/_sesame/messages/' + encodeURIComponent(id) + '/raw', {cache: 'no-store'})\n"
	"      .then((r) => r.text()).then((t) => {\n"
	"        if (id !== current) return;\n"
	"        $('raw').textContent = t;\n"
	"        $('raw').dataset.loaded = '1';\n"
	"      });\n"
	"  }\n"
	"}\n"
	"async function show(id) {\n"
	"  const r = await fetch('/_sesame/messages/' + encodeURIComponent(id), {cache: 'no-store'});\n"
	"  if (!r.ok) { $('status').textContent = 'message ' + id + ': HTTP ' + r.status; return; }\n"
	"  const m = await r.json();\n"
	"  current = id;\n"
	"  for (const tr of document.querySelectorAll('tr.msg'))\n"
	"    tr.classList.toggle('sel', tr.dataset.id === id);\n"
	"  history.replaceState(null, '', '#' + encodeURIComponent(id));\n"
	"  $('v-subject').textContent = m.Subject || '(no subject)';\n"
	"  $('v-meta').textContent = 'From ' + (m.From || '?') + ' to ' +\n"
	"    (m.Destination || []).join(', ') + ' at ' + m.Timestamp + ', account ' +\n"
	"    m.SendingAccountId + (m.SourceArn ? ', identity ' + m.SourceArn : '') +\n"
	"    ', ' + m.Size + ' bytes' + (m.ParseError ? ' (' + m.ParseError + ')' : '');\n"
	"  if (m.HtmlUrl) $('frame').src = m.HtmlUrl; else $('frame').removeAttribute('src');\n"
	"  $('no-html').classList.toggle('hidden', !!m.HtmlUrl);\n"
	"  $('frame').classList.toggle('hidden', !m.HtmlUrl);\n"
	"  $('text').textContent = m.Text === null ? '(no text part)' : m.Text;\n"
	"  const hb = $('headers');\n"
	"  hb.replaceChildren(...m.Headers.map((h) => {\n"
	"    const tr = el('tr');\n"
	"    tr.appendChild(el('th', h.Name));\n"
	"    tr.appendChild(el('td', h.Value));\n"
	"    return tr;\n"
	"  }));\n"
	"  $('raw').textContent = '';\n"
	"  delete $('raw').dataset.loaded;\n"
	"  $('raw-link').href = m.RawUrl;\n"
	"  const ul = $('attachments');\n"
	"  ul.replaceChildren(...m.Attachments.map((a) => {\n"
	"    const li = el('li', null, 'attachment');\n"
	"    const link = el('a', a.Filename || '(unnamed ' + a.ContentType + ')');\n"
	"    link.href = a.Url;\n"
	"    link.setAttribute('download', a.Filename || 'attachment');\n"
	"    li.appendChild(link);\n"
	"    li.appendChild(el('span', ' ' + a.ContentType + ', ' + a.Size + ' bytes' +\n"
	"      (a.ContentId ? ', cid:' + a.ContentId : ''), 'small'));\n"
	"    return li;\n"
	"  }));\n"
	"  $('att-box').classList.toggle('hidden', m.Attachments.length === 0);\n"
	"  $('view').classList.remove('hidden');\n"
	"  tab(m.HtmlUrl ? 'html' : 'text');\n"
	"}\n"
	"async function del(url) {\n"
	"  const r = await fetch(url, {method: 'DELETE'});\n"
	"  if (!r.ok) $('status').textContent = 'delete: HTTP ' + r.status;\n"
	"  await refresh();\n"
	"}\n"
	"form.addEventListener('submit', (ev) => {\n"
	"  ev.preventDefault();\n"
	"  const p = query().toString();\n"
	"  history.replaceState(null, '', location.pathname + (p ? '?' + p : ''));\n"
	"  refresh();\n"
	"});\n"
	"$('delete').addEventListener('click', () => {\n"
	"  if (current) del('/_sesame/messages/' + encodeURIComponent(current));\n"
	"});\n"
	"$('delete-all').addEventListener('click', () => {\n"
	"  if (confirm('Delete every captured message?')) del('/_sesame/messages');\n"
	"});\n"
	"$('close').addEventListener('click', hide);\n"
	"for (const b of document.querySelectorAll('nav.tabs button'))\n"
	"  b.addEventListener('click', () => tab(b.dataset.tab));\n"
	"for (const tr of document.querySelectorAll('tr.msg'))\n"
	"  tr.addEventListener('click', (ev) => {\n"
	"    if (ev.target.tagName !== 'A') show(tr.dataset.id);\n"
	"  });\n"
	"let newest = null;\n"
	"const es = new EventSource('/_sesame/events');\n"
	"es.addEventListener('mail', (ev) => {\n"
	"  const n = JSON.parse(ev.data).Newest;\n"
	"  if (newest !== null && n !== newest) refresh();\n"
	"  newest = n;\n"
	"  $('live').textContent = 'live';\n"
	"});\n"
	"es.addEventListener('error', () => { $('live').textContent = 'reconnecting'; });\n"
	"if (location.hash.length > 1) show(decodeURIComponent(location.hash.slice(1)));\n"
	"document.body.dataset.ready = '1';\n"
	"})();\n";

/* The page's Content-Security-Policy: the hashes of page_style and
 * page_script, so nothing else (an injected tag included) can run. */
static void
page_csp(struct buf *b)
{
	uint8_t d[32];
	char *h;

	buf_puts(b, "default-src 'none'; style-src '");
	sha256(page_style, sizeof(page_style) - 1, d);
	h = base64_encode(d, sizeof(d));
	buf_printf(b, "sha256-%s'; script-src '", h);
	free(h);
	sha256(page_script, sizeof(page_script) - 1, d);
	h = base64_encode(d, sizeof(d));
	buf_printf(b, "sha256-%s'; connect-src 'self'; frame-src 'self'; img-src 'self'; "
		      "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
		   h);
	free(h);
}

/* A search box holding value v (may be NULL). */
static void
search_input(struct buf *b, const char *name, const char *label, const char *v)
{
	buf_printf(b, "<label>%s <input name=\"%s\" value=\"", label, name);
	html_put(b, v);
	buf_puts(b, "\"></label>");
}

void
dev_messages_inbox(struct httpd_req *r, struct api_thread *t, const char *rest)
{
	struct query qy;
	struct rows rows;
	struct err e;
	struct buf b, csp;
	const char *msg;
	char ts[32];

	if (rest[0] != '\0') {
		reply_error(r, 404, "not found");
		return;
	}
	if (parse_query(r, &qy, &msg) != 0) {
		query_free(&qy);
		reply_error(r, 400, msg);
		return;
	}
	if (load_inbox(t, &qy, &rows, &e) != 0) {
		query_free(&qy);
		reply_store_error(r, &e);
		return;
	}
	buf_init(&b, 0);
	buf_puts(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
		     "<title>sesame inbox</title>\n<style>");
	buf_puts(&b, page_style);
	buf_puts(&b, "</style></head><body>\n<h1>sesame inbox</h1>\n"
		     "<form class=\"search\" id=\"search\" method=\"get\" action=\"/_sesame/\">");
	search_input(&b, "q", "Search", qy.q);
	search_input(&b, "from", "From", qy.from);
	search_input(&b, "to", "To", qy.to);
	search_input(&b, "subject", "Subject", qy.subject);
	search_input(&b, "account", "Account", qy.account);
	buf_puts(&b, "<button type=\"submit\" id=\"go\">Search</button> "
		     "<button type=\"button\" id=\"delete-all\">Delete all</button> "
		     "<span id=\"live\" class=\"small\"></span></form>\n");
	buf_printf(&b,
		   "<p><span id=\"count\">%zu captured message%s%s, newest first.</span> As JSON: "
		   "<a href=\"/_sesame/messages\">/_sesame/messages</a>. Empty it with "
		   "<code>curl -X DELETE …/_sesame/messages</code>. "
		   "<span id=\"status\"></span></p>\n",
		   rows.n, rows.n == 1 ? "" : "s", query_filtered(&qy) ? " matching" : "");
	query_free(&qy);
	buf_printf(&b, "<table id=\"list\"%s>\n<thead><tr><th>Time (UTC)</th><th>From</th>"
		       "<th>To</th><th>Subject</th><th>Account</th><th>Identity</th>"
		       "<th>Message</th></tr></thead>\n<tbody id=\"rows\">\n",
		   rows.n > 0 ? "" : " class=\"hidden\"");
	for (size_t i = rows.n; i-- > 0;) {
		const struct store_message *m = &rows.v[i];
		timefmt_iso_ms(m->created_ms, ts);
		buf_puts(&b, "<tr class=\"msg\" data-id=\"");
		html_put(&b, m->id);
		buf_puts(&b, "\"><td>");
		html_put(&b, ts);
		buf_puts(&b, "</td><td>");
		html_put(&b, m->from_addr);
		if (m->source != NULL && (m->from_addr == NULL || strcmp(m->source, m->from_addr) != 0)) {
			buf_puts(&b, "<br><small>Return-Path: ");
			html_put(&b, m->source);
			buf_puts(&b, "</small>");
		}
		buf_puts(&b, "</td><td>");
		for (size_t k = 0; k < m->ndestinations; k++) {
			if (k > 0)
				buf_puts(&b, ", ");
			html_put(&b, m->destinations[k]);
		}
		buf_puts(&b, "</td><td class=\"subject\">");
		html_put(&b, m->subject);
		buf_puts(&b, "</td><td>");
		html_put(&b, m->sending_account);
		buf_puts(&b, "</td><td class=\"id\">");
		html_put(&b, m->source_arn);
		buf_puts(&b, "</td><td class=\"id\"><a href=\"/_sesame/messages/");
		html_put(&b, m->id);
		buf_puts(&b, "/raw\">");
		html_put(&b, m->id);
		buf_puts(&b, "</a></td></tr>\n");
	}
	buf_puts(&b, "</tbody></table>\n");
	rows_free(&rows);
	buf_puts(&b,
		 "<section id=\"view\" class=\"hidden\"><h2 id=\"v-subject\"></h2>"
		 "<p id=\"v-meta\" class=\"small\"></p>"
		 "<p><button type=\"button\" id=\"delete\">Delete</button> "
		 "<button type=\"button\" id=\"close\">Close</button> "
		 "<a id=\"raw-link\" href=\"#\">raw</a></p>"
		 "<nav class=\"tabs\"><button type=\"button\" data-tab=\"html\">HTML</button>"
		 "<button type=\"button\" data-tab=\"text\">Text</button>"
		 "<button type=\"button\" data-tab=\"headers\">Headers</button>"
		 "<button type=\"button\" data-tab=\"raw\">Raw</button></nav>"
		 "<div id=\"tab-html\"><p id=\"no-html\" class=\"hidden\">(no HTML part)</p>"
		 "<iframe id=\"frame\" sandbox=\"\" referrerpolicy=\"no-referrer\" "
		 "title=\"the message's HTML part\"></iframe></div>"
		 "<div id=\"tab-text\" class=\"hidden\"><pre id=\"text\"></pre></div>"
		 "<div id=\"tab-headers\" class=\"hidden\"><table><tbody id=\"headers\"></tbody>"
		 "</table></div>"
		 "<div id=\"tab-raw\" class=\"hidden\"><pre id=\"raw\"></pre></div>"
		 "<div id=\"att-box\" class=\"hidden\"><h3>Attachments</h3>"
		 "<ul id=\"attachments\"></ul></div></section>\n"
		 "<script id=\"app\">");
	buf_puts(&b, page_script);
	buf_puts(&b, "</script>\n</body></html>\n");
	buf_init(&csp, 0);
	page_csp(&csp);
	httpd_add_header(r, "Content-Security-Policy", csp.data);
	buf_free(&csp);
	httpd_add_header(r, "Cache-Control", "no-store");
	httpd_add_header(r, "X-Content-Type-Options", "nosniff");
	httpd_add_header(r, "Referrer-Policy", "no-referrer");
	dev_reply(r, 200, "text/html; charset=utf-8", b.data, b.len);
	buf_free(&b);
}

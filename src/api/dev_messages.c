/*
 * dev_messages.c — the capture inbox (dev_messages.h). Reads go through the
 * loop's own store handle; the inbox is the messages whose transport is
 * "capture" (capture.h), so a queued message is never listed or deleted.
 * Everything the sender controlled (addresses, subject) is escaped: JSON by
 * jansson after invalid UTF-8 is replaced by U+FFFD, HTML by html_put.
 */
#include "api/dev_messages.h"

#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/dev.h"
#include "delivery/capture.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define ID_MAX 79 /* longest MessageId looked up (ours are 60) */

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
reply_json(struct evhttp_request *req, int status, json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(1));

	if (text == NULL)
		abort(); /* jansson cannot allocate: out of memory */
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	dev_reply(req, status, "application/json", text, strlen(text));
	free(text);
	json_decref(doc);
}

static void
reply_error(struct evhttp_request *req, int status, const char *message)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "error", jstr(message));
	reply_json(req, status, doc);
}

static void
reply_store_error(struct evhttp_request *req, const struct err *e)
{
	log_warn("inbox: store: %s", e->message);
	reply_error(req, 503, "the store is unavailable; try again");
}

/* ?limit=N from the query string: 0 and *limit_out set, or -1 (bad value). */
static int
parse_limit(struct evhttp_request *req, int *limit_out)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	const char *v;
	int rc = 0;

	*limit_out = DEV_MESSAGES_DEFAULT;
	if (query == NULL || query[0] == '\0')
		return 0;
	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(query, &params) != 0)
		return -1;
	if ((v = evhttp_find_header(&params, "limit")) != NULL) {
		char *end;
		long n = strtol(v, &end, 10);
		if (v[0] == '\0' || *end != '\0' || n < 1 || n > DEV_MESSAGES_MAX)
			rc = -1;
		else
			*limit_out = (int)n;
	}
	evhttp_clear_headers(&params);
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

/* The newest `limit` captured messages, oldest first; -1 with e on failure. */
static int
load_inbox(struct api_thread *t, int limit, struct rows *r, struct err *e)
{
	memset(r, 0, sizeof(*r));
	if (t->store->ops->message_list(t->store, CAPTURE_NAME, limit, keep_row, r, e) != 0) {
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
dev_messages_list(struct evhttp_request *req, struct api_thread *t, const char *rest)
{
	struct rows r;
	struct err e;
	json_t *doc, *list;
	int limit;

	if (parse_limit(req, &limit) != 0) {
		reply_error(req, 400, "limit must be a whole number from 1 to 10000");
		return;
	}
	if (load_inbox(t, limit, &r, &e) != 0) {
		reply_store_error(req, &e);
		return;
	}
	doc = json_object();
	list = json_array();
	for (size_t i = 0; i < r.n; i++)
		json_array_append_new(list, message_json(&r.v[i]));
	json_object_set_new(doc, "messages", list);
	rows_free(&r);
	reply_json(req, 200, doc);
}

/* ---- GET /_sesame/messages/<id>/raw ------------------------------------- */

static void
free_raw(const void *data, size_t len, void *arg)
{
	free(arg);
}

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
message_events(struct evhttp_request *req, struct api_thread *t, const char *id)
{
	struct store_message m = {0};
	struct err e;
	json_t *doc, *list;
	char msg[160];
	int rc = t->store->ops->message_get(t->store, id, &m, &e);

	store_message_clear(&m);
	if (rc < 0) {
		reply_store_error(req, &e);
		return;
	}
	if (rc == 0) {
		snprintf(msg, sizeof(msg), "message %s not found", id);
		reply_error(req, 404, msg);
		return;
	}
	list = json_array();
	if (t->store->ops->event_list(t->store, id, keep_event, list, &e) != 0) {
		json_decref(list);
		reply_store_error(req, &e);
		return;
	}
	doc = json_object();
	json_object_set_new(doc, "events", list);
	reply_json(req, 200, doc);
}

void
dev_messages_raw(struct evhttp_request *req, struct api_thread *t, const char *rest)
{
	const char *slash = strchr(rest, '/');
	struct store_message m = {0};
	struct evbuffer *out;
	struct evkeyvalq *h;
	char id[ID_MAX + 1], msg[160];
	struct err e;
	int rc;

	if (slash == NULL || !id_shape_ok(rest, (size_t)(slash - rest)) ||
	    (strcmp(slash, "/raw") != 0 && strcmp(slash, "/events") != 0)) {
		reply_error(req, 404, "not found");
		return;
	}
	snprintf(id, sizeof(id), "%.*s", (int)(slash - rest), rest);
	if (strcmp(slash, "/events") == 0) {
		message_events(req, t, id);
		return;
	}
	rc = t->store->ops->message_get(t->store, id, &m, &e);
	if (rc < 0) {
		reply_store_error(req, &e);
		return;
	}
	if (rc == 0 || strcmp(m.transport, CAPTURE_NAME) != 0) {
		store_message_clear(&m);
		snprintf(msg, sizeof(msg), "message %s not found", id);
		reply_error(req, 404, msg);
		return;
	}
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", "message/rfc822");
	evhttp_add_header(h, "Cache-Control", "no-store");
	out = evbuffer_new();
	if (m.raw != NULL) {
		/* hand the bytes to libevent without a copy; it frees them */
		evbuffer_add_reference(out, m.raw, m.raw_len, free_raw, m.raw);
		m.raw = NULL;
		m.raw_len = 0;
	}
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
	store_message_clear(&m);
}

/* ---- DELETE /_sesame/messages -------------------------------------------- */

void
dev_messages_delete(struct evhttp_request *req, struct api_thread *t, const char *rest)
{
	struct err e;
	int64_t n = 0;
	json_t *doc;

	if (t->store->ops->message_delete(t->store, CAPTURE_NAME, &n, &e) != 0) {
		reply_store_error(req, &e);
		return;
	}
	log_info("inbox: deleted %lld captured messages", (long long)n);
	doc = json_object();
	json_object_set_new(doc, "Deleted", json_integer(n));
	reply_json(req, 200, doc);
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

static const char page_head[] =
	"<!doctype html>\n<html><head><meta charset=\"utf-8\">"
	"<title>sesame inbox</title>\n<style>"
	"body{font-family:system-ui,sans-serif;margin:2em}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd;"
	"vertical-align:top}"
	"td.id{font-family:monospace;font-size:.85em}"
	"</style></head><body>\n<h1>sesame inbox</h1>\n";

void
dev_messages_inbox(struct evhttp_request *req, struct api_thread *t, const char *rest)
{
	struct rows r;
	struct err e;
	struct buf b;
	char ts[32];

	if (rest[0] != '\0') {
		reply_error(req, 404, "not found");
		return;
	}
	if (load_inbox(t, DEV_MESSAGES_DEFAULT, &r, &e) != 0) {
		reply_store_error(req, &e);
		return;
	}
	buf_init(&b, 0);
	buf_puts(&b, page_head);
	buf_printf(&b,
		   "<p>%zu captured message%s, newest first. As JSON: "
		   "<a href=\"/_sesame/messages\">/_sesame/messages</a>. Empty it with "
		   "<code>curl -X DELETE …/_sesame/messages</code>.</p>\n",
		   r.n, r.n == 1 ? "" : "s");
	if (r.n > 0)
		buf_puts(&b, "<table>\n<tr><th>Time (UTC)</th><th>From</th><th>To</th>"
			     "<th>Subject</th><th>Account</th><th>Message</th></tr>\n");
	for (size_t i = r.n; i-- > 0;) {
		const struct store_message *m = &r.v[i];
		timefmt_iso_ms(m->created_ms, ts);
		buf_puts(&b, "<tr><td>");
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
				buf_puts(&b, "<br>");
			html_put(&b, m->destinations[k]);
		}
		buf_puts(&b, "</td><td>");
		html_put(&b, m->subject);
		buf_puts(&b, "</td><td>");
		html_put(&b, m->sending_account);
		buf_puts(&b, "</td><td class=\"id\"><a href=\"/_sesame/messages/");
		html_put(&b, m->id);
		buf_puts(&b, "/raw\">");
		html_put(&b, m->id);
		buf_puts(&b, "</a></td></tr>\n");
	}
	if (r.n > 0)
		buf_puts(&b, "</table>\n");
	buf_puts(&b, "</body></html>\n");
	rows_free(&r);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	dev_reply(req, 200, "text/html; charset=utf-8", b.data, b.len);
	buf_free(&b);
}

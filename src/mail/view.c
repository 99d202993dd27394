/*
 * view.c — the inbox's parsed view of a message (view.h), with GMime 3.
 *
 * One walk, depth first in document order: the first text/plain and the
 * first text/html leaf that is not marked as an attachment become the
 * bodies, every other leaf (and every message/rfc822 part, written out
 * whole) becomes an attachment. The walk stops looking deeper than
 * VIEW_MAX_DEPTH and after VIEW_MAX_PARTS leaves, so a hostile message
 * costs a bounded amount of work and memory beyond GMime's own parse.
 *
 * Invariants: every GMime object made here is unreferenced before
 * view_parse returns; every string in struct view went through clean(),
 * so it is our malloc's, NUL-terminated, strict UTF-8.
 */
#include "mail/view.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "mail/build.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* A malloc'd strict-UTF-8 copy of s ("" for NULL). */
static char *
clean(const char *s)
{
	return utf8_clean(s != NULL ? s : "");
}

/* clean() of a g_malloc'd string, which it frees. */
static char *
clean_g(char *s)
{
	char *c = clean(s);

	g_free(s);
	return c;
}

static void
lower_ascii(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* The content's decoded bytes, or NULL when it has none or cannot be
 * written; writes the length to *n_out. */
static uint8_t *
stream_bytes(GMimeStream *mem, size_t *n_out)
{
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	uint8_t *p = xmalloc(ba->len + 1);

	if (ba->len > 0)
		memcpy(p, ba->data, ba->len);
	*n_out = ba->len;
	return p;
}

static uint8_t *
part_bytes(GMimePart *part, size_t *n_out)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *mem;
	uint8_t *p;

	*n_out = 0;
	mem = g_mime_stream_mem_new();
	if (content != NULL && g_mime_data_wrapper_write_to_stream(content, mem) < 0) {
		g_object_unref(mem);
		return xcalloc(1, 1);
	}
	p = stream_bytes(mem, n_out);
	g_object_unref(mem);
	return p;
}

static uint8_t *
message_bytes(GMimeMessagePart *mp, size_t *n_out)
{
	GMimeMessage *m = g_mime_message_part_get_message(mp);
	GMimeStream *mem = g_mime_stream_mem_new();
	uint8_t *p;

	*n_out = 0;
	if (m != NULL && g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, mem) < 0) {
		g_object_unref(mem);
		return xcalloc(1, 1);
	}
	p = stream_bytes(mem, n_out);
	g_object_unref(mem);
	return p;
}

struct walk {
	struct view *v;
	size_t cap, leaves;
};

static struct view_attachment *
add_attachment(struct walk *w, GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *cid = g_mime_object_get_content_id(obj);
	const char *disp = g_mime_object_get_disposition(obj);
	struct view_attachment *a;

	if (w->v->natt == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 8;
		w->v->att = xrealloc(w->v->att, w->cap * sizeof(*w->v->att));
	}
	a = &w->v->att[w->v->natt++];
	memset(a, 0, sizeof(*a));
	a->content_type = ct != NULL ? clean_g(g_mime_content_type_get_mime_type(ct))
				     : clean("application/octet-stream");
	lower_ascii(a->content_type);
	a->content_id = cid != NULL ? clean(cid) : NULL;
	a->is_inline = disp == NULL || g_ascii_strcasecmp(disp, "inline") == 0;
	a->filename = GMIME_IS_PART(obj) ? clean(g_mime_part_get_filename(GMIME_PART(obj)))
					 : clean("");
	return a;
}

/* The body of a text part in UTF-8 (GMime converts from its charset),
 * with CRLF line ends made LF: the wire form is not what a reader sees. */
static char *
text_of(GMimeObject *obj)
{
	char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
	char *c = t != NULL ? clean_g(t) : clean(""), *w = c;

	for (const char *r = c; *r; r++)
		if (!(r[0] == '\r' && r[1] == '\n'))
			*w++ = *r;
	*w = '\0';
	return c;
}

static void
visit_leaf(struct walk *w, GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	struct view_attachment *a;

	if (GMIME_IS_TEXT_PART(obj) && !g_mime_part_is_attachment(GMIME_PART(obj)) &&
	    ct != NULL) {
		if (w->v->text == NULL && g_mime_content_type_is_type(ct, "text", "plain")) {
			w->v->text = text_of(obj);
			return;
		}
		if (w->v->html == NULL && g_mime_content_type_is_type(ct, "text", "html")) {
			w->v->html = text_of(obj);
			return;
		}
	}
	a = add_attachment(w, obj);
	if (GMIME_IS_PART(obj))
		a->data = part_bytes(GMIME_PART(obj), &a->size);
	else if (GMIME_IS_MESSAGE_PART(obj))
		a->data = message_bytes(GMIME_MESSAGE_PART(obj), &a->size);
	else
		a->data = xcalloc(1, 1);
}

static void
visit(struct walk *w, GMimeObject *obj, int depth)
{
	if (obj == NULL)
		return;
	if (w->leaves >= VIEW_MAX_PARTS) {
		w->v->truncated = true;
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		if (depth >= VIEW_MAX_DEPTH) {
			w->v->truncated = true;
			return;
		}
		for (int i = 0; i < n; i++)
			visit(w, g_mime_multipart_get_part(mp, i), depth + 1);
		return;
	}
	w->leaves++;
	visit_leaf(w, obj);
}

static void
read_headers(struct view *v, GMimeObject *obj)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;

	if (n <= 0)
		return;
	if ((size_t)n > VIEW_MAX_HEADERS) {
		v->truncated = true;
		n = VIEW_MAX_HEADERS;
	}
	v->headers = xcalloc((size_t)n, sizeof(*v->headers));
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		if (h == NULL)
			continue;
		v->headers[v->nheaders].name = clean(g_mime_header_get_name(h));
		v->headers[v->nheaders].value = clean(g_mime_header_get_value(h));
		v->nheaders++;
	}
}

int
view_parse(const uint8_t *data, size_t len, struct view **out, struct err *e)
{
	GMimeStream *mem;
	GMimeParser *parser;
	GMimeMessage *msg;
	struct walk w = {0};

	*out = NULL;
	if (data == NULL || len == 0)
		return err_set(e, 400, "InvalidParameterValue", "the message is empty");
	if (len > VIEW_MAX_BYTES)
		return err_set(e, 400, "InvalidParameterValue",
			       "the message is larger than %u bytes", VIEW_MAX_BYTES);
	build_gmime_init();
	mem = g_mime_stream_mem_new_with_buffer((const char *)data, len);
	parser = g_mime_parser_new_with_stream(mem);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(mem);
	if (msg == NULL)
		return err_set(e, 400, "InvalidParameterValue",
			       "the message cannot be read as MIME (RFC 5322/2045)");
	w.v = xcalloc(1, sizeof(*w.v));
	read_headers(w.v, GMIME_OBJECT(msg));
	visit(&w, g_mime_message_get_mime_part(msg), 0);
	g_object_unref(msg);
	*out = w.v;
	return 0;
}

/* The image attachment whose Content-ID is cid[0..n), or NULL. */
static const struct view_attachment *
cid_image(const struct view *v, const char *cid, size_t n)
{
	static const char *const types[] = {"image/png", "image/jpeg", "image/gif", "image/webp"};

	for (size_t i = 0; i < v->natt; i++) {
		const struct view_attachment *a = &v->att[i];
		if (a->content_id == NULL || strlen(a->content_id) != n ||
		    memcmp(a->content_id, cid, n) != 0)
			continue;
		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
			if (strcmp(a->content_type, types[k]) == 0)
				return a;
	}
	return NULL;
}

/* A reference ends where an attribute value or CSS url() would. */
static bool
cid_end(char c)
{
	return c == '\0' || c == '"' || c == '\'' || c == ')' || c == ' ' || c == '\t' ||
	       c == '\r' || c == '\n' || c == '>';
}

char *
view_html_inline(const struct view *v, size_t max_inline)
{
	struct buf b;
	size_t used = 0;
	const char *p;

	if (v->html == NULL)
		return NULL;
	buf_init(&b, 0);
	for (p = v->html; *p;) {
		const char *id, *end;
		const struct view_attachment *a;
		if (g_ascii_strncasecmp(p, "cid:", 4) != 0) {
			buf_putc(&b, *p++);
			continue;
		}
		id = p + 4;
		for (end = id; !cid_end(*end); end++)
			;
		a = cid_image(v, id, (size_t)(end - id));
		if (a == NULL || used + a->size > max_inline) {
			buf_append(&b, p, (size_t)(end - p));
			p = end;
			continue;
		}
		char *b64 = base64_encode(a->data, a->size);
		buf_printf(&b, "data:%s;base64,%s", a->content_type, b64);
		free(b64);
		used += a->size;
		p = end;
	}
	return buf_steal(&b, NULL);
}

void
view_free(struct view *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nheaders; i++) {
		free(v->headers[i].name);
		free(v->headers[i].value);
	}
	free(v->headers);
	free(v->text);
	free(v->html);
	for (size_t i = 0; i < v->natt; i++) {
		free(v->att[i].filename);
		free(v->att[i].content_type);
		free(v->att[i].content_id);
		free(v->att[i].data);
	}
	free(v->att);
	free(v);
}

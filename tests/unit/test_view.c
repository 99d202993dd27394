/* test_view.c — src/mail/view.c: the inbox's parsed message (headers,
 * bodies in UTF-8, attachments decoded), its caps, and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/view.h"
#include "util/buf.h"
#include "util/utf8.h"

static struct view *
parse(const char *s)
{
	struct view *v = NULL;
	struct err e;

	assert_int_equal(view_parse((const uint8_t *)s, strlen(s), &v, &e), 0);
	assert_non_null(v);
	return v;
}

static const char *
header(const struct view *v, const char *name)
{
	for (size_t i = 0; i < v->nheaders; i++)
		if (strcmp(v->headers[i].name, name) == 0)
			return v->headers[i].value;
	return NULL;
}

static void
test_mixed(void **state)
{
	struct view *v = parse(
	    "From: a@example.com\r\nTo: b@example.com\r\n"
	    "Subject: =?UTF-8?B?aMOp?=\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"X\"\r\n\r\n"
	    "--X\r\nContent-Type: multipart/alternative; boundary=\"Y\"\r\n\r\n"
	    "--Y\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\nworld\r\n"
	    "--Y\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>h=E9llo</p>\r\n--Y--\r\n"
	    "--X\r\nContent-Type: Application/PDF; name=\"a.pdf\"\r\n"
	    "Content-Disposition: attachment; filename=\"a.pdf\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
	    "--X\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
	    "--X\r\nContent-Type: message/rfc822\r\n\r\n"
	    "From: c@example.com\r\nSubject: inner\r\n\r\nbody\r\n--X--\r\n");

	assert_string_equal(header(v, "Subject"), "hé");
	assert_string_equal(header(v, "From"), "a@example.com");
	/* CRLF shown as LF; the CRLF before a boundary is the boundary's */
	assert_string_equal(v->text, "hello\nworld");
	assert_string_equal(v->html, "<p>héllo</p>"); /* from Latin-1 */
	assert_int_equal(v->natt, 3);
	assert_string_equal(v->att[0].filename, "a.pdf");
	assert_string_equal(v->att[0].content_type, "application/pdf"); /* lowercased */
	assert_false(v->att[0].is_inline);
	assert_int_equal(v->att[0].size, 9);
	assert_memory_equal(v->att[0].data, "%PDF-1.4\n", 9);
	assert_string_equal(v->att[1].filename, "");
	assert_string_equal(v->att[1].content_id, "logo@x");
	assert_true(v->att[1].is_inline);
	assert_int_equal(v->att[1].size, 8);
	assert_string_equal(v->att[2].content_type, "message/rfc822");
	assert_non_null(strstr((const char *)v->att[2].data, "Subject: inner"));
	assert_false(v->truncated);
	view_free(v);
}

static void
test_plain_and_attached_text(void **state)
{
	struct view *v = parse("Subject: plain\n\nbody\n");

	assert_string_equal(v->text, "body\n");
	assert_null(v->html);
	assert_int_equal(v->natt, 0);
	view_free(v);
	/* a text part marked as an attachment is listed, not shown */
	v = parse("Content-Type: multipart/mixed; boundary=B\n\n"
		  "--B\nContent-Type: text/html\nContent-Disposition: attachment; filename=x.html\n\n"
		  "<script>x</script>\n--B--\n");
	assert_null(v->html);
	assert_int_equal(v->natt, 1);
	assert_string_equal(v->att[0].filename, "x.html");
	view_free(v);
}

static void
test_bad_input(void **state)
{
	struct view *v = (struct view *)1;
	struct err e;

	assert_int_equal(view_parse(NULL, 0, &v, &e), -1);
	assert_null(v);
	assert_string_equal(e.code, "InvalidParameterValue");
	assert_int_equal(view_parse((const uint8_t *)"", 0, &v, &e), -1);
	/* bytes that are not UTF-8 never make a bad string: GMime reads 8-bit
	 * header bytes as Latin-1, a body's as its charset or U+FFFD */
	v = parse("Subject: \xff\xfe\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xff ok\r\n");
	assert_true(utf8_valid(header(v, "Subject"), strlen(header(v, "Subject"))));
	assert_string_equal(header(v, "Subject"), "\xc3\xbf\xc3\xbe");
	assert_true(utf8_valid(v->text, strlen(v->text)));
	assert_non_null(strstr(v->text, " ok\n"));
	view_free(v);
	v = parse("Subject: x\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\n"
		  "\xe9t\xe9\r\n");
	assert_true(utf8_valid(v->text, strlen(v->text)));
	view_free(v);
	view_free(NULL);
}

/* Nesting and part counts at their caps: limit - 1 and limit are walked,
 * beyond is cut and marked truncated. */
static struct view *
nested(int depth)
{
	struct buf b;
	struct view *v;
	struct err e;

	buf_init(&b, 0);
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=b0\r\n\r\n");
	for (int i = 1; i <= depth; i++)
		buf_printf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i - 1, i);
	buf_printf(&b, "--b%d\r\nContent-Type: application/x-leaf\r\n\r\nleaf\r\n", depth);
	assert_int_equal(view_parse((const uint8_t *)b.data, b.len, &v, &e), 0);
	buf_free(&b);
	return v;
}

static void
test_depth_cap(void **state)
{
	struct view *v;

	/* the top multipart is depth 0: the leaf sits at depth levels + 1 */
	v = nested(VIEW_MAX_DEPTH - 1);
	assert_int_equal(v->natt, 1);
	assert_false(v->truncated);
	view_free(v);
	v = nested(VIEW_MAX_DEPTH);
	assert_int_equal(v->natt, 0);
	assert_true(v->truncated);
	view_free(v);
}

static struct view *
many(int parts)
{
	struct buf b;
	struct view *v;
	struct err e;

	buf_init(&b, 0);
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=B\r\n\r\n");
	for (int i = 0; i < parts; i++)
		buf_puts(&b, "--B\r\nContent-Type: application/x-part\r\n\r\nx\r\n");
	buf_puts(&b, "--B--\r\n");
	assert_int_equal(view_parse((const uint8_t *)b.data, b.len, &v, &e), 0);
	buf_free(&b);
	return v;
}

static void
test_parts_cap(void **state)
{
	struct view *v;

	v = many(VIEW_MAX_PARTS - 1);
	assert_int_equal(v->natt, VIEW_MAX_PARTS - 1);
	assert_false(v->truncated);
	view_free(v);
	v = many(VIEW_MAX_PARTS);
	assert_int_equal(v->natt, VIEW_MAX_PARTS);
	assert_false(v->truncated);
	view_free(v);
	v = many(VIEW_MAX_PARTS + 1);
	assert_int_equal(v->natt, VIEW_MAX_PARTS);
	assert_true(v->truncated);
	view_free(v);
}

static void
test_inline_cid_images(void **state)
{
	struct view *v = parse(
	    "Content-Type: multipart/related; boundary=B\r\n\r\n"
	    "--B\r\nContent-Type: text/html\r\n\r\n"
	    "<img src=\"cid:logo@x\"><img src='CID:logo@x'><img src=\"cid:pdf@x\">"
	    "<img src=\"cid:logo@xy\"><div style=\"background:url(cid:logo@x)\">\r\n"
	    "--B\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
	    "--B\r\nContent-Type: application/pdf\r\nContent-ID: <pdf@x>\r\n\r\n%PDF\r\n"
	    "--B--\r\n");
	char *h = view_html_inline(v, 1024);

	assert_string_equal(h, "<img src=\"data:image/png;base64,iVBORw0KGgo=\">"
			       "<img src='data:image/png;base64,iVBORw0KGgo='>"
			       "<img src=\"cid:pdf@x\"><img src=\"cid:logo@xy\">"
			       "<div style=\"background:url(data:image/png;base64,iVBORw0KGgo=)\">");
	free(h);
	/* past the cap, the rest stay references: 8 bytes fit once, not twice */
	h = view_html_inline(v, 12);
	assert_string_equal(h, "<img src=\"data:image/png;base64,iVBORw0KGgo=\">"
			       "<img src='CID:logo@x'><img src=\"cid:pdf@x\"><img src=\"cid:logo@xy\">"
			       "<div style=\"background:url(cid:logo@x)\">");
	free(h);
	view_free(v);
	v = parse("Subject: no html\r\n\r\ntext\r\n");
	assert_null(view_html_inline(v, 1024));
	view_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_plain_and_attached_text),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_depth_cap),
		cmocka_unit_test(test_parts_cap),
		cmocka_unit_test(test_inline_cid_images),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

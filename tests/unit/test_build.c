/* test_build.c — SendEmail's MIME message (src/mail/build.c), read back with
 * the raw-message parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/build.h"
#include "mail/raw.h"

static struct address
addr(const char *s)
{
	struct address a;
	struct err e;

	if (address_parse(s, strlen(s), &a, &e) != 0)
		fail_msg("address %s: %s", s, e.message);
	return a;
}

static char *
build(struct build_email *b, struct err *e)
{
	struct buf out;

	buf_init(&out, 0);
	if (b->date == NULL)
		b->date = "Tue, 14 Nov 2023 22:13:20 +0000";
	if (b->message_id == NULL)
		b->message_id = "<0100-id@email.amazonses.com>";
	if (build_email(b, &out, e) != 0) {
		buf_free(&out);
		return NULL;
	}
	return out.data;
}

static void
test_plain(void **state)
{
	struct address from = addr("J\xc3\xb6rg <j@example.com>"), to[2], cc = addr("c@z.org"),
		       rt = addr("r@example.com");
	struct build_email b = {.from = &from, .to = to, .nto = 2, .cc = &cc, .ncc = 1,
				.reply_to = &rt, .nreply_to = 1, .subject = "Hi", .text = "one\ntwo"};
	struct raw_msg *m;
	struct address got;
	struct err e;
	char *msg, *v;

	to[0] = addr("a@x.org");
	to[1] = addr("\"B, b\" <b@y.org>");
	msg = build(&b, &e);
	assert_non_null(msg);
	assert_int_equal(raw_parse(msg, strlen(msg), &m, &e), 0);
	/* CRLF only: what we built is what we deliver */
	assert_int_equal(strlen(msg), m->len);
	assert_int_equal(raw_from(m, &got, &e), 0);
	assert_string_equal(got.spec, "j@example.com");
	assert_string_equal(got.name, "J\xc3\xb6rg");
	v = raw_get(m, "To");
	assert_string_equal(v, "a@x.org, \"B, b\" <b@y.org>");
	free(v);
	v = raw_get(m, "Message-ID");
	assert_string_equal(v, "<0100-id@email.amazonses.com>");
	free(v);
	v = raw_get(m, "MIME-Version");
	assert_string_equal(v, "1.0");
	free(v);
	v = raw_get(m, "Content-Type");
	assert_string_equal(v, "text/plain; charset=UTF-8");
	free(v);
	v = raw_get(m, "Date");
	assert_string_equal(v, "Tue, 14 Nov 2023 22:13:20 +0000");
	free(v);
	assert_int_equal(raw_find(m, "Bcc", 0), -1);
	assert_non_null(strstr(msg, "\r\n\r\none\r\ntwo")); /* text line ends made CRLF */
	raw_free(m);
	free(msg);
}

static void
test_alternative_and_charsets(void **state)
{
	struct address from = addr("a@example.com"), to = addr("b@x.org");
	struct build_email b = {.from = &from, .to = &to, .nto = 1,
				.subject = "Gr\xc3\xbc\xc3\x9f" "e", .subject_charset = "ISO-8859-1",
				.text = "gr\xc3\xbc\xc3\x9f" "e", .text_charset = "iso-8859-1",
				.html = "<p>\xe2\x82\xac</p>"};
	struct raw_msg *m;
	struct err e;
	char *msg, *v, *d;

	msg = build(&b, &e);
	assert_non_null(msg);
	assert_int_equal(raw_parse(msg, strlen(msg), &m, &e), 0);
	v = raw_get(m, "Content-Type");
	assert_non_null(strstr(v, "multipart/alternative"));
	free(v);
	/* the subject is encoded in its charset and decodes back */
	v = raw_get(m, "Subject");
	assert_non_null(strstr(v, "=?iso-8859-1?"));
	d = build_decode_header(v);
	assert_string_equal(d, "Gr\xc3\xbc\xc3\x9f" "e");
	free(d);
	free(v);
	/* text first, html second (least preferred first) */
	char *t = strstr(msg, "text/plain; charset=iso-8859-1");
	char *h = strstr(msg, "text/html; charset=UTF-8");
	assert_non_null(t);
	assert_non_null(h);
	assert_true(t < h);
	raw_free(m);
	free(msg);
}

static void
test_errors(void **state)
{
	struct address from = addr("a@example.com"), to = addr("b@x.org");
	struct build_email b = {.from = &from, .to = &to, .nto = 1, .subject = "x", .text = "t"};
	struct err e;

	b.subject = "two\r\nBcc: injected@evil.com";
	assert_null(build(&b, &e));
	assert_string_equal(e.code, "InvalidParameterValue");
	b.subject = "ok";
	b.text_charset = "no-such-charset-x";
	assert_null(build(&b, &e));
	assert_non_null(strstr(e.message, "Unknown charset"));
	b.text_charset = "utf-8\r\nX: y";
	assert_null(build(&b, &e));
	assert_non_null(strstr(e.message, "Invalid charset"));
	b.text_charset = "US-ASCII";
	b.text = "\xe2\x82\xac"; /* the euro sign is not ASCII */
	assert_null(build(&b, &e));
	assert_non_null(strstr(e.message, "cannot be represented"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_alternative_and_charsets),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

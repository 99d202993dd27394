/*
 * test_xml.c — the SES XML writer: exact bytes for escaping, sanitising and
 * both envelopes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/xml.h"
#include "util/buf.h"

#define NS "http://ses.amazonaws.com/doc/2010-12-01/"
#define FFFD "\xEF\xBF\xBD"

static void
test_text(void **state)
{
	static const struct {
		const char *in;
		size_t n; /* 0 = strlen */
		const char *want;
	} cases[] = {
		{"plain text", 0, "plain text"},
		{"a & b < c > d \" e ' f", 0, "a &amp; b &lt; c &gt; d &quot; e &apos; f"},
		{"{\"Version\":\"2012-10-17\"}", 0, "{&quot;Version&quot;:&quot;2012-10-17&quot;}"},
		{"tab\tlf\ncr\r", 0, "tab\tlf\ncr&#13;"},
		{"nul\0x", 5, "nul" FFFD "x"},
		{"bell\x07 esc\x1b del\x7f", 0, "bell" FFFD " esc" FFFD " del" FFFD},
		{"caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80", 0, "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80"},
		{"\xff", 0, FFFD},
		{"a\xc3", 0, "a" FFFD},                /* truncated sequence */
		{"\xc3(", 0, FFFD "("},                /* bad continuation */
		{"\xc0\xaf", 0, FFFD FFFD},            /* overlong '/' */
		{"\xe0\x80\xaf", 0, FFFD FFFD FFFD},   /* overlong 3-byte */
		{"\xed\xa0\x80", 0, FFFD FFFD FFFD},   /* surrogate D800 */
		{"\xef\xbf\xbe\xef\xbf\xbf", 0, FFFD FFFD FFFD FFFD FFFD FFFD}, /* U+FFFE/FFFF */
		{"\xf4\x90\x80\x80", 0, FFFD FFFD FFFD FFFD},                 /* > U+10FFFF */
		{"\xc2\x85", 0, FFFD FFFD},            /* C1 control NEL */
		{"\xc2\xa0", 0, "\xc2\xa0"},           /* NBSP stays */
		{"\xef\xbf\xbd", 0, FFFD},             /* U+FFFD itself stays */
		{"", 0, ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		size_t n = cases[i].n ? cases[i].n : strlen(cases[i].in);

		print_message("  case %zu\n", i);
		buf_init(&b, 0);
		assert_int_equal(xml_text(&b, cases[i].in, n), 0);
		assert_string_equal(b.data ? b.data : "", cases[i].want);
		buf_free(&b);
	}
}

static void
test_elements(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(xml_open(&b, "Identities"), 0);
	assert_int_equal(xml_elem(&b, "member", "a@b.com"), 0);
	assert_int_equal(xml_elem(&b, "member", "x<y>.com"), 0);
	assert_int_equal(xml_elem(&b, "member", NULL), 0); /* absent: nothing */
	assert_int_equal(xml_close(&b, "Identities"), 0);
	assert_int_equal(xml_empty(&b, "Empty"), 0);
	assert_int_equal(xml_elem_f1(&b, "Max24HourSend", 50000.0), 0);
	assert_int_equal(xml_elem_n(&b, "N", "abcdef", 3), 0);
	assert_string_equal(b.data, "<Identities><member>a@b.com</member><member>x&lt;y&gt;.com</member>"
				    "</Identities><Empty/><Max24HourSend>50000.0</Max24HourSend>"
				    "<N>abc</N>");
	buf_free(&b);
}

/* Numbers are written as printf writes them ("%lld", "%.1f"), without it. */
static void
test_numbers(void **state)
{
	static const int64_t ints[] = {0, 1, -1, 9, 10, 200, -200, 1234567890123LL, INT64_MAX,
				       INT64_MIN};
	static const double reals[] = {0,    1,     -1,    200,  50000, 14,   0.5,   -0.5,
				       1.25, 2.75,  1e14,  -1e14, 1e15, 1e20, 1e-3, -0.0,
				       3.14159, 999999999999999.0, 123456.05, 1.7976931348623157e308};
	char want[512];
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		buf_reset(&b);
		assert_int_equal(xml_elem_i64(&b, "N", ints[i]), 0);
		snprintf(want, sizeof(want), "<N>%lld</N>", (long long)ints[i]);
		assert_string_equal(b.data, want);
	}
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		buf_reset(&b);
		assert_int_equal(xml_elem_f1(&b, "F", reals[i]), 0);
		snprintf(want, sizeof(want), "<F>%.1f</F>", reals[i]);
		assert_string_equal(b.data, want);
	}
	buf_free(&b);
}

static void
test_success_envelope(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(xml_response_begin(&b, XML_SES_NS, "SendEmail", true), 0);
	assert_int_equal(xml_elem(&b, "MessageId", "0100-abc"), 0);
	assert_int_equal(xml_response_end(&b, "SendEmail", true, "req-1"), 0);
	assert_string_equal(b.data,
			    "<SendEmailResponse xmlns=\"" NS "\"><SendEmailResult>"
			    "<MessageId>0100-abc</MessageId></SendEmailResult>"
			    "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"
			    "</SendEmailResponse>");

	/* output shape without members: the Result element must still exist */
	buf_reset(&b);
	assert_int_equal(xml_response_begin(&b, XML_SES_NS, "VerifyEmailIdentity", true), 0);
	assert_int_equal(xml_response_end(&b, "VerifyEmailIdentity", true, "req-2"), 0);
	assert_string_equal(b.data,
			    "<VerifyEmailIdentityResponse xmlns=\"" NS "\"><VerifyEmailIdentityResult/>"
			    "<ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata>"
			    "</VerifyEmailIdentityResponse>");

	/* no output shape at all */
	buf_reset(&b);
	assert_int_equal(xml_response_begin(&b, XML_SES_NS, "VerifyEmailAddress", false), 0);
	assert_int_equal(xml_response_end(&b, "VerifyEmailAddress", false, "req-3"), 0);
	assert_string_equal(b.data,
			    "<VerifyEmailAddressResponse xmlns=\"" NS "\">"
			    "<ResponseMetadata><RequestId>req-3</RequestId></ResponseMetadata>"
			    "</VerifyEmailAddressResponse>");
	buf_free(&b);
}

static void
test_error_envelope(void **state)
{
	static const struct {
		int http;
		const char *code;
		const char *message;
		const char *want;
	} cases[] = {
		{400, "MessageRejected",
		 "Email address is not verified. The following identities failed the check in "
		 "region US-EAST-1: a@x.com",
		 "<ErrorResponse xmlns=\"" NS "\"><Error><Type>Sender</Type>"
		 "<Code>MessageRejected</Code><Message>Email address is not verified. The "
		 "following identities failed the check in region US-EAST-1: a@x.com</Message>"
		 "</Error><RequestId>rid</RequestId></ErrorResponse>"},
		{403, "AccessDenied",
		 "User `arn:aws:iam::111122223333:user/x' is not authorized to perform "
		 "`ses:SendRawEmail' on resource `arn:aws:ses:us-east-1:444455556666:identity/"
		 "example.com'",
		 "<ErrorResponse xmlns=\"" NS "\"><Error><Type>Sender</Type>"
		 "<Code>AccessDenied</Code><Message>User `arn:aws:iam::111122223333:user/x&apos; "
		 "is not authorized to perform `ses:SendRawEmail&apos; on resource "
		 "`arn:aws:ses:us-east-1:444455556666:identity/example.com&apos;</Message>"
		 "</Error><RequestId>rid</RequestId></ErrorResponse>"},
		{500, "InternalFailure", "boom <\x01>",
		 "<ErrorResponse xmlns=\"" NS "\"><Error><Type>Receiver</Type>"
		 "<Code>InternalFailure</Code><Message>boom &lt;" FFFD "&gt;</Message>"
		 "</Error><RequestId>rid</RequestId></ErrorResponse>"},
		{503, "ServiceUnavailable", "",
		 "<ErrorResponse xmlns=\"" NS "\"><Error><Type>Receiver</Type>"
		 "<Code>ServiceUnavailable</Code><Message></Message>"
		 "</Error><RequestId>rid</RequestId></ErrorResponse>"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e;
		struct buf b;

		err_set(&e, cases[i].http, cases[i].code, "%s", cases[i].message);
		buf_init(&b, 0);
		buf_puts(&b, "leftover"); /* reset first */
		assert_int_equal(xml_error_response(&b, XML_SES_NS, &e, "rid"), 0);
		assert_string_equal(b.data, cases[i].want);
		buf_free(&b);
	}
}

/* The buffer cap: writes that would pass it fail with -1. */
static void
test_cap(void **state)
{
	struct buf b;

	(void)state;
	/* <a>1234</a> is 11 bytes: fits 11, not 10 */
	buf_init(&b, 11);
	assert_int_equal(xml_elem(&b, "a", "1234"), 0);
	assert_string_equal(b.data, "<a>1234</a>");
	buf_free(&b);
	buf_init(&b, 10);
	assert_int_equal(xml_elem(&b, "a", "1234"), -1);
	buf_free(&b);
	buf_init(&b, 8);
	assert_int_equal(xml_text(&b, "&&", 2), -1); /* 10 bytes */
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_elements),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_success_envelope),
		cmocka_unit_test(test_error_envelope),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_raw.c — raw-message checks and header work (src/mail/raw.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/raw.h"
#include "util/xalloc.h"

#define OK NULL

/* Every case: input, and NULL for success or the exact error message. */
static const struct {
	const char *in;
	const char *err;
} parse_cases[] = {
	{"From: a@x.com\r\nTo: b@y.com\r\nSubject: hi\r\n\r\nbody\r\n", OK},
	{"From: a@x.com\nTo: b@y.com\n\nbody\n", OK},                /* LF only */
	{"From: a@x.com\r\nTo: b@y.com\nSubject: mixed\r\n\nbody", OK}, /* mixed */
	{"From: a@x.com\r\n", OK},                                   /* no body */
	{"From: a@x.com", OK},                                       /* no line end at all */
	{"From: a@x.com\r\nSubject: a\r\n folded\r\n\tagain\r\n\r\n", OK},
	{"From: a@x.com\r\nSubject: h\xc3\xa9llo\r\n\r\n", OK},       /* UTF-8 value */
	{"From: a@x.com\r\nX-Tab:\tvalue\r\n\r\n", OK},
	{"From: a@x.com\r\n\r\nbody with 8-bit \xff\xfe bytes\r\n", OK}, /* body is not checked */
	{"From: a@x.com\r\nX-Empty:\r\n\r\n", OK},
	/* no header section */
	{"", "Missing required header 'From'."},
	{"\r\nbody", "Missing required header 'From'."},
	{"hello world\r\n\r\n", "Missing required header 'From'."},
	{"Hello world: not a header\r\n", "Missing required header 'From'."},
	{" continued\r\nFrom: a@x.com\r\n\r\n", "Missing required header 'From'."},
	/* line ends and bytes */
	{"From: a@x.com\rTo: b@y.com\r\n\r\n",
	 "Illegal content: the message contains a CR that does not end a line (CRLF)."},
	{"From: a@x.com\r\n\r\nbody\r", "Illegal content: the message contains a CR that does not "
					"end a line (CRLF)."},
	{"From: a@x.com\r\n\r\nbo\rdy\r\n", "Illegal content: the message contains a CR that does "
					  "not end a line (CRLF)."},
	/* header injection */
	{"From: a@x.com\r\nBcc victim@z.com\r\n\r\n", "Illegal header line: 'Bcc victim@z.com'."},
	{"From: a@x.com\r\n: nameless\r\n\r\n", "Empty header names are illegal."},
	{"From: a@x.com\r\nSub ject: x\r\n\r\n", "Illegal header line: 'Sub ject: x'."},
	{"From: a@x.com\r\nSubject: x\r\n   \r\nBcc: v@z.com\r\n\r\n",
	 "Illegal header line: a continuation line holds only whitespace."},
	{"From: a@x.com\r\nSubject: x\x01y\r\n\r\n", "Header 'Subject' contains a control character."},
	{"From: a@x.com\r\nSubject: x\x7fy\r\n\r\n", "Header 'Subject' contains a control character."},
	{"From: a@x.com\r\nSubject: \xff\xfe\r\n\r\n",
	 "Header 'Subject' contains 8-bit data that is not UTF-8."},
	{"From: a@x.com\r\nSubject: \xc3\r\n\r\n",
	 "Header 'Subject' contains 8-bit data that is not UTF-8."},
	{"From: a@x.com\r\nSubject: \xed\xa0\x80\r\n\r\n", /* a surrogate */
	 "Header 'Subject' contains 8-bit data that is not UTF-8."},
	{"From: a@x.com\r\nSubj\xc3\xa9" "ct: x\r\n\r\n", "Illegal header line: 'Subj\xc3\xa9" "ct: x'."},
	/* fields allowed once (RFC 5322 3.6): a second one is refused, whatever
	 * its case, position or folding — authorization reads one From, a
	 * reader may show the other */
	{"From: me@attacker.test\r\nTo: b@y.com\r\nFrom: ceo@example.com\r\n\r\nb",
	 "Duplicate header 'From'."},
	{"From: a@x.com\r\nFROM: b@y.com\r\n\r\n", "Duplicate header 'From'."},
	{"from: a@x.com\r\nFrom:\r\n b@y.com\r\n\r\n", "Duplicate header 'From'."},
	{"From: a@x.com\r\nFrom:\r\n\r\n", "Duplicate header 'From'."},
	{"From: a@x.com\r\nSender: a@x.com\r\nsender: b@y.com\r\n\r\n",
	 "Duplicate header 'Sender'."},
	{"From: a@x.com\r\nReply-To: a@x.com\r\nReply-to: b@y.com\r\n\r\n",
	 "Duplicate header 'Reply-To'."},
	{"From: a@x.com\r\nTo: a@y.com\r\nto: b@y.com\r\n\r\n", "Duplicate header 'To'."},
	{"From: a@x.com\r\nCc: a@y.com\r\nCC: b@y.com\r\n\r\n", "Duplicate header 'Cc'."},
	{"From: a@x.com\r\nSubject: one\r\nSubject: two\r\n\r\n", "Duplicate header 'Subject'."},
	/* ... and the others may repeat: Date and Message-ID are replaced, Bcc
	 * dropped; trace and other fields repeat by design */
	{"From: a@x.com\r\nDate: x\r\nDate: y\r\nMessage-ID: <a@x>\r\nMessage-ID: <b@x>\r\n"
	 "Bcc: a@y.com\r\nBcc: b@y.com\r\nReceived: a\r\nReceived: b\r\nX-A: 1\r\nX-A: 2\r\n\r\n",
	 OK},
	{"From: a@x.com\r\nResent-From: b@y.com\r\nX-From: c@z.com\r\nFromage: d\r\n\r\n", OK},
};

static void
test_parse_table(void **state)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		struct raw_msg *m = NULL;
		struct err e = {0};
		int rc = raw_parse(parse_cases[i].in, strlen(parse_cases[i].in), &m, &e);
		if (parse_cases[i].err == NULL) {
			if (rc != 0)
				fail_msg("case %zu: unexpected error %s", i, e.message);
			assert_non_null(m);
			/* invariant 1: CRLF only */
			for (size_t k = 0; k < m->len; k++)
				if (m->data[k] == '\n')
					assert_true(k > 0 && m->data[k - 1] == '\r');
			raw_free(m);
		} else {
			if (rc == 0)
				fail_msg("case %zu: accepted, want '%s'", i, parse_cases[i].err);
			assert_null(m);
			assert_string_equal(e.code, "InvalidParameterValue");
			assert_int_equal(e.http, 400);
			if (strcmp(e.message, parse_cases[i].err) != 0)
				fail_msg("case %zu: got '%s', want '%s'", i, e.message,
					 parse_cases[i].err);
		}
	}
}

static void
test_nul(void **state)
{
	static const char in[] = "From: a@x.com\r\n\r\nbo\0dy";
	struct raw_msg *m;
	struct err e;

	assert_int_equal(raw_parse(in, sizeof(in) - 1, &m, &e), -1);
	assert_string_equal(e.message, "Illegal content: the message contains a NUL byte.");
}

/* A message of exactly `n` bytes: headers, then body lines of x. */
static char *
sized(size_t n)
{
	static const char head[] = "From: a@x.com\r\nTo: b@y.com\r\n\r\n";
	char *p = xmalloc(n);

	memcpy(p, head, sizeof(head) - 1);
	for (size_t i = sizeof(head) - 1; i < n; i++)
		p[i] = (i % 100 == 98) ? '\r' : (i % 100 == 99) ? '\n' : 'x';
	if (n >= 1 && p[n - 1] == '\r')
		p[n - 1] = 'x';
	return p;
}

/* STYLE §10: each cap at limit-1, limit, limit+1. */
static void
test_size_limit(void **state)
{
	size_t sizes[] = {RAW_MAX_BYTES - 1, RAW_MAX_BYTES, RAW_MAX_BYTES + 1};

	for (size_t i = 0; i < 3; i++) {
		char *p = sized(sizes[i]);
		struct raw_msg *m = NULL;
		struct err e = {0};
		int rc = raw_parse(p, sizes[i], &m, &e);
		if (i < 2) {
			assert_int_equal(rc, 0);
			raw_free(m);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.message,
					    "Message length is more than 10485760 bytes long: '10485761'.");
		}
		free(p);
	}
}

static void
test_line_limit(void **state)
{
	for (size_t len = RAW_LINE_MAX - 1; len <= RAW_LINE_MAX + 1; len++) {
		/* "X-Long: vvvv" of exactly len bytes */
		char *p = xmalloc(len + 64);
		int o = snprintf(p, 64, "From: a@x.com\r\nX-Long: ");
		size_t fill = len - 8;
		memset(p + o, 'v', fill);
		memcpy(p + o + fill, "\r\n\r\n", 4);
		struct raw_msg *m = NULL;
		struct err e = {0};
		int rc = raw_parse(p, (size_t)o + fill + 4, &m, &e);
		if (len <= RAW_LINE_MAX) {
			assert_int_equal(rc, 0);
			raw_free(m);
		} else {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(e.message, "Header line longer than 998 characters"));
		}
		free(p);
	}
}

/* Header fields "X-Pad:ppp…" filling exactly r bytes (r >= 8). */
static void
pad_fields(struct buf *b, size_t r)
{
	while (r > 0) {
		size_t l = r <= 1000 ? r : (r - 1000 < 8 ? 500 : 1000);
		buf_puts(b, "X-Pad:");
		for (size_t i = 0; i < l - 8; i++)
			buf_putc(b, 'p');
		buf_puts(b, "\r\n");
		r -= l;
	}
}

static void
test_header_section_limit(void **state)
{
	size_t sizes[] = {RAW_HEADER_MAX - 1, RAW_HEADER_MAX, RAW_HEADER_MAX + 1};

	for (size_t i = 0; i < 3; i++) {
		struct buf b;
		struct raw_msg *m = NULL;
		struct err e = {0};
		buf_init(&b, 0);
		buf_puts(&b, "From: a@x.com\r\n");
		pad_fields(&b, sizes[i] - b.len);
		assert_int_equal(b.len, sizes[i]);
		buf_puts(&b, "\r\nbody");
		int rc = raw_parse(b.data, b.len, &m, &e);
		if (sizes[i] <= RAW_HEADER_MAX) {
			if (rc != 0)
				fail_msg("size %zu: %s", sizes[i], e.message);
			raw_free(m);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.message, "Header section too long.");
		}
		buf_free(&b);
	}
}

static void
test_field_limit(void **state)
{
	for (size_t n = RAW_MAX_FIELDS - 1; n <= RAW_MAX_FIELDS + 1; n++) {
		struct buf b;
		struct raw_msg *m = NULL;
		struct err e = {0};
		buf_init(&b, 0);
		buf_puts(&b, "From: a@x.com\r\n");
		for (size_t i = 1; i < n; i++)
			buf_puts(&b, "X: y\r\n");
		buf_puts(&b, "\r\n");
		int rc = raw_parse(b.data, b.len, &m, &e);
		if (n <= RAW_MAX_FIELDS) {
			assert_int_equal(rc, 0);
			assert_int_equal(m->nfields, n);
			raw_free(m);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.message, "Header section too long.");
		}
		buf_free(&b);
	}
}

static struct raw_msg *
parse_ok(const char *in)
{
	struct raw_msg *m = NULL;
	struct err e = {0};

	if (raw_parse(in, strlen(in), &m, &e) != 0)
		fail_msg("parse: %s", e.message);
	return m;
}

static void
test_values_and_find(void **state)
{
	struct raw_msg *m =
		parse_ok("From: a@x.com\r\nsubject:  a\r\n  folded\r\n\tline  \r\n"
			 "X-SES-SOURCE-ARN: first\r\nx-ses-source-arn: second\r\n\r\nbody");
	struct buf b;
	char *v;

	assert_int_equal(m->nfields, 4);
	assert_int_equal(raw_find(m, "SUBJECT", 0), 1);
	assert_int_equal(raw_find(m, "X-SES-Source-Arn", 0), 2);
	assert_int_equal(raw_find(m, "X-SES-SOURCE-ARN", 3), 3);
	assert_int_equal(raw_find(m, "To", 0), -1);
	buf_init(&b, 0);
	assert_int_equal(raw_value(m, 1, &b), 0);
	assert_string_equal(b.data, "a  folded\tline"); /* unfolded, trimmed */
	buf_free(&b);
	v = raw_get(m, "x-ses-source-arn"); /* the first occurrence counts */
	assert_string_equal(v, "first");
	free(v);
	assert_null(raw_get(m, "Cc"));
	assert_true(m->has_body);
	assert_string_equal(m->data + m->body_off, "body");
	raw_free(m);

	/* a value that is only whitespace gives "" */
	m = parse_ok("From: a@x.com\r\nX-E:   \r\n\r\n");
	v = raw_get(m, "X-E");
	assert_string_equal(v, "");
	free(v);
	raw_free(m);
}

static void
test_from(void **state)
{
	static const struct {
		const char *in, *spec, *name, *err;
	} c[] = {
		{"From: a@x.com\r\n\r\n", "a@x.com", "", NULL},
		{"From: \"Jo Doe\" <jo@Example.COM>\r\n\r\n", "jo@Example.COM", "Jo Doe", NULL},
		{"From: =?UTF-8?B?SsO2?= <j@x.com>\r\n\r\n", "j@x.com", "J\xc3\xb6", NULL},
		/* one mailbox whose name, comment or quoted text holds ',', ':' or ';' */
		{"From: \"Doe, Jo\" <jo@x.com>\r\n\r\n", "jo@x.com", "Doe, Jo", NULL},
		{"From: \"Re: billing; a@b.c\" <jo@x.com>\r\n\r\n", "jo@x.com", "Re: billing; a@b.c",
		 NULL},
		{"From: jo@x.com (Jo: billing, team)\r\n\r\n", "jo@x.com", "", NULL},
		{"From:\r\n  <jo@x.com>\r\n\r\n", "jo@x.com", "", NULL},
		{"To: a@x.com\r\n\r\n", NULL, NULL, "Missing required header 'From'."},
		{"From:\r\n\r\n", NULL, NULL, "Empty required header 'From'."},
		{"From: undisclosed:;\r\n\r\n", NULL, NULL, "Empty required header 'From'."},
		{"From: nobody\r\n\r\n", NULL, NULL, "Missing final '@domain'"},
		/* several mailboxes: only the first would be authorized */
		{"From: me@attacker.test, ceo@example.com\r\n\r\n", NULL, NULL,
		 "Multiple addresses in the From header are not supported."},
		{"From: a@x.com, b@y.com\r\nSender: a@x.com\r\n\r\n", NULL, NULL,
		 "Multiple addresses in the From header are not supported."},
		{"From: \"Me\" <me@attacker.test>,\r\n CEO <ceo@example.com>\r\n\r\n", NULL, NULL,
		 "Multiple addresses in the From header are not supported."},
		{"From: a@x.com, nobody\r\n\r\n", NULL, NULL,
		 "Multiple addresses in the From header are not supported."},
		/* groups (RFC 6854), with one or more members */
		{"From: Team: me@attacker.test;\r\n\r\n", NULL, NULL,
		 "Group syntax in the From header is not supported."},
		{"From: Team: me@attacker.test, ceo@example.com;\r\n\r\n", NULL, NULL,
		 "Multiple addresses in the From header are not supported."},
		{"From: Empty:;, ceo@example.com\r\n\r\n", NULL, NULL,
		 "Group syntax in the From header is not supported."},
		{"From: \"Team\" (c) : <ceo@example.com>;\r\n\r\n", NULL, NULL,
		 "Group syntax in the From header is not supported."},
		/* a stray separator: not exactly one mailbox either */
		{"From: a@x.com,\r\n\r\n", NULL, NULL, "*"},
		{"From: , a@x.com\r\n\r\n", NULL, NULL, "*"},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct raw_msg *m = parse_ok(c[i].in);
		struct address a;
		struct err e = {0};
		int rc = raw_from(m, &a, &e);
		if (c[i].err == NULL) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, e.message);
			assert_string_equal(a.spec, c[i].spec);
			assert_string_equal(a.name, c[i].name);
		} else {
			if (rc != -1)
				fail_msg("case %zu: accepted %s, want '%s'", i, a.spec, c[i].err);
			assert_string_equal(e.code, "InvalidParameterValue");
			if (strcmp(c[i].err, "*") != 0 && strcmp(e.message, c[i].err) != 0)
				fail_msg("case %zu: got '%s' want '%s'", i, e.message, c[i].err);
		}
		raw_free(m);
	}
}

/* raw_from does not trust raw_parse alone: a message index with two From
 * fields (which raw_parse never makes) is refused, not read for the first. */
static void
test_from_two_fields_in_the_index(void **state)
{
	struct raw_msg *m = parse_ok("From: a@x.com\r\nXrom: b@y.com\r\n\r\n");
	struct address a;
	struct err e = {0};

	m->data[m->field[1].off] = 'F';
	assert_int_equal(raw_find(m, "From", 1), 1);
	assert_int_equal(raw_from(m, &a, &e), -1);
	assert_string_equal(e.message, "Duplicate header 'From'.");
	raw_free(m);
}

static char *
with_recipients(size_t nto, size_t ncc, size_t nbcc)
{
	struct buf b;
	size_t k = 0;
	const char *name[3] = {"To", "Cc", "Bcc"};
	size_t count[3] = {nto, ncc, nbcc};

	buf_init(&b, 0);
	buf_puts(&b, "From: a@x.com\r\n");
	for (int h = 0; h < 3; h++) {
		if (count[h] == 0)
			continue;
		buf_printf(&b, "%s: ", name[h]);
		for (size_t i = 0; i < count[h]; i++, k++)
			buf_printf(&b, "%sr%zu@y.com", i ? ",\r\n " : "", k);
		buf_puts(&b, "\r\n");
	}
	buf_puts(&b, "\r\nbody\r\n");
	return b.data;
}

static void
test_recipients(void **state)
{
	static const struct {
		size_t to, cc, bcc;
		int ok;
	} c[] = {
		{1, 0, 0, 1},  {0, 0, 1, 1},  {49, 0, 0, 1}, {50, 0, 0, 1}, {51, 0, 0, 0},
		{20, 20, 10, 1}, {20, 20, 11, 0}, {0, 50, 1, 0}, {0, 0, 0, 1},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *in = with_recipients(c[i].to, c[i].cc, c[i].bcc);
		struct raw_msg *m = parse_ok(in);
		struct address *r = NULL;
		size_t n = 0;
		struct err e = {0};
		int rc = raw_recipients(m, &r, &n, &e);
		if (c[i].ok) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, e.message);
			assert_int_equal(n, c[i].to + c[i].cc + c[i].bcc);
			for (size_t k = 0; k < n; k++) {
				char want[32];
				snprintf(want, sizeof(want), "r%zu@y.com", k);
				assert_string_equal(r[k].spec, want);
			}
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.message, "Recipient count exceeds 50.");
		}
		free(r);
		raw_free(m);
		free(in);
	}
}

static void
test_recipients_special(void **state)
{
	struct raw_msg *m;
	struct address *r;
	size_t n;
	struct err e;

	/* groups flatten; undisclosed-recipients gives none; Cc may be empty */
	m = parse_ok("From: a@x.com\r\nTo: Team: b@y.com, c@y.com;, d@y.com\r\nCc:\r\n"
		     "Bcc: undisclosed-recipients:;\r\n\r\n");
	assert_int_equal(raw_recipients(m, &r, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(r[2].spec, "d@y.com");
	free(r);
	raw_free(m);
	/* an empty To is refused, as SES does */
	m = parse_ok("From: a@x.com\r\nTo:  \r\nBcc: b@y.com\r\n\r\n");
	assert_int_equal(raw_recipients(m, &r, &n, &e), -1);
	assert_string_equal(e.message, "Empty required header 'To'.");
	raw_free(m);
	/* an address with a bad domain */
	m = parse_ok("From: a@x.com\r\nTo: b@\r\n\r\n");
	assert_int_equal(raw_recipients(m, &r, &n, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	raw_free(m);
	/* none at all */
	m = parse_ok("From: a@x.com\r\n\r\n");
	assert_int_equal(raw_recipients(m, &r, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_null(r);
	raw_free(m);
}

static void
test_render(void **state)
{
	struct raw_msg *m = parse_ok("Message-ID: <old@client>\r\n"
				     "From: a@x.com\r\n"
				     "X-SES-SOURCE-ARN: arn:aws:ses:us-east-1:111111111111:identity/x.com\r\n"
				     "To: b@y.com\r\n"
				     "Bcc: hidden@z.com,\r\n other@z.com\r\n"
				     "x-ses-from-arn: arn\r\n"
				     "X-SES-RETURN-PATH-ARN: arn\r\n"
				     "X-SES-CONFIGURATION-SET: cs\r\n"
				     "X-SES-MESSAGE-TAGS: a=b\r\n"
				     "X-SES-SOURCE-ARN: again\r\n"
				     "Date: Mon, 1 Jan 2001 00:00:00 +0000\r\n"
				     "Subject: kept\r\n"
				     "X-SES-Other: kept too\r\n"
				     "\n"
				     "body\n.\nend\n");
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(raw_render(m, "Tue, 14 Nov 2023 22:13:20 +0000", "<id@email.amazonses.com>",
				    &b),
			 0);
	assert_string_equal(b.data, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
				    "Message-ID: <id@email.amazonses.com>\r\n"
				    "From: a@x.com\r\n"
				    "To: b@y.com\r\n"
				    "Subject: kept\r\n"
				    "X-SES-Other: kept too\r\n"
				    "\r\n"
				    "body\r\n.\r\nend\r\n");
	buf_free(&b);
	raw_free(m);

	/* no body and no final line end: the header ends properly */
	m = parse_ok("From: a@x.com\r\nSubject: s");
	buf_init(&b, 0);
	assert_int_equal(raw_render(m, "D", "<M>", &b), 0);
	assert_string_equal(b.data, "Date: D\r\nMessage-ID: <M>\r\nFrom: a@x.com\r\nSubject: s\r\n\r\n");
	buf_free(&b);
	raw_free(m);

	/* a cap that is hit is reported */
	m = parse_ok("From: a@x.com\r\n\r\nbody");
	buf_init(&b, 10);
	assert_int_equal(raw_render(m, "D", "<M>", &b), -1);
	buf_free(&b);
	raw_free(m);
}

static void
test_ses_headers_and_date(void **state)
{
	char d[40];

	assert_true(raw_is_ses_header("X-SES-SOURCE-ARN", 16));
	assert_true(raw_is_ses_header("x-ses-message-tags", 18));
	assert_false(raw_is_ses_header("X-SES-SOURCE-AR", 15));
	assert_false(raw_is_ses_header("X-SES-OTHER", 11));
	raw_date(1700000000, d);
	assert_string_equal(d, "Tue, 14 Nov 2023 22:13:20 +0000");
	raw_date(0, d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	raw_date(951782400, d); /* leap day 2000 */
	assert_string_equal(d, "Tue, 29 Feb 2000 00:00:00 +0000");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_header_section_limit),
		cmocka_unit_test(test_field_limit),
		cmocka_unit_test(test_values_and_find),
		cmocka_unit_test(test_from),
		cmocka_unit_test(test_from_two_fields_in_the_index),
		cmocka_unit_test(test_recipients),
		cmocka_unit_test(test_recipients_special),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_ses_headers_and_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

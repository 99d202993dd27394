/* test_feedback_report.c — inbound DSN and ARF parsing (src/feedback/report.c)
 * over the messages in tests/unit/data/feedback/, plus generated ones for
 * the caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feedback/report.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define DATA "data/feedback/"

/* TESTABLE internals of report.c */
void report_parse_dsn_body(const char *p, size_t n, struct report *out);
void report_parse_arf_body(const char *p, size_t n, struct report *out);

static char *
slurp(const char *name, size_t *len_out)
{
	char path[256];
	FILE *f;
	char *p;
	long n;

	snprintf(path, sizeof(path), DATA "%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	p = xmalloc((size_t)n + 1);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*len_out = (size_t)n;
	return p;
}

/* Every string of r is NUL-terminated in its array, valid UTF-8, and has
 * no control byte: what report.h promises whatever the input. */
static void
check_str(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);

	assert_non_null(nul);
	assert_true(utf8_valid(s, (size_t)(nul - s)));
	for (const char *p = s; p < nul; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
}

#define CHECK(field) check_str((field), sizeof(field))

static void
check_report(const struct report *r)
{
	assert_true(r->nrcpt <= REPORT_MAX_RCPTS);
	CHECK(r->reporting_mta);
	CHECK(r->arrival_date);
	CHECK(r->feedback_type);
	CHECK(r->user_agent);
	CHECK(r->original_rcpt_to);
	CHECK(r->original_mail_from);
	CHECK(r->source_ip);
	CHECK(r->original_message_id);
	CHECK(r->original_to);
	for (size_t i = 0; i < r->nrcpt; i++) {
		CHECK(r->rcpt[i].final_recipient);
		CHECK(r->rcpt[i].original_recipient);
		CHECK(r->rcpt[i].action);
		CHECK(r->rcpt[i].status);
		CHECK(r->rcpt[i].diagnostic_code);
		CHECK(r->rcpt[i].remote_mta);
	}
	if (r->kind == REPORT_OTHER) {
		assert_int_equal(r->nrcpt, 0);
		assert_string_equal(r->reporting_mta, "");
		assert_string_equal(r->original_message_id, "");
	}
}

/* Parse a data file into a new report (free()). */
static struct report *
parse_file(const char *name, enum report_kind want)
{
	struct report *r = xmalloc(sizeof(*r));
	size_t n;
	char *p = slurp(name, &n);

	assert_int_equal(report_parse(p, n, r), want);
	assert_int_equal(r->kind, want);
	check_report(r);
	free(p);
	return r;
}

static void
test_postfix(void **state)
{
	struct report *r = parse_file("postfix_511.eml", REPORT_DSN);

	assert_string_equal(r->reporting_mta, "dns; mail.example.net");
	assert_string_equal(r->arrival_date, "Tue, 14 Nov 2023 22:13:20 +0000 (UTC)");
	assert_int_equal(r->nrcpt, 1);
	assert_string_equal(r->rcpt[0].final_recipient, "nobody@example.org");
	assert_string_equal(r->rcpt[0].original_recipient, "Nobody@Example.org");
	assert_string_equal(r->rcpt[0].action, "failed");
	assert_string_equal(r->rcpt[0].status, "5.1.1");
	assert_string_equal(r->rcpt[0].remote_mta, "dns; mx.example.org");
	assert_string_equal(r->rcpt[0].diagnostic_code,
	                    "smtp; 550 5.1.1 <nobody@example.org>: Recipient address rejected: "
	                    "User unknown in local recipient table");
	assert_string_equal(r->original_message_id,
	                    "0100018c1a2b3c4d-5e6f7a8b-0000@email.amazonses.com");
	assert_string_equal(r->original_to, "nobody@example.org");
	assert_string_equal(r->feedback_type, "");
	free(r);
}

static void
test_exim_two(void **state)
{
	struct report *r = parse_file("exim_two.eml", REPORT_DSN);

	assert_string_equal(r->reporting_mta, "dns; mx1.example.com");
	assert_string_equal(r->arrival_date, "");
	assert_int_equal(r->nrcpt, 2);
	assert_string_equal(r->rcpt[0].final_recipient, "gone@example.com");
	assert_string_equal(r->rcpt[0].original_recipient, "");
	assert_string_equal(r->rcpt[0].action, "failed");
	assert_string_equal(r->rcpt[0].status, "5.0.0");
	assert_string_equal(r->rcpt[0].diagnostic_code,
	                    "smtp; 550 5.1.1 <gone@example.com>: mailbox unavailable");
	/* names in any case, "RFC822;<addr>", a comment after the status */
	assert_string_equal(r->rcpt[1].final_recipient, "full@example.com");
	assert_string_equal(r->rcpt[1].action, "delayed");
	assert_string_equal(r->rcpt[1].status, "4.2.2");
	assert_string_equal(r->rcpt[1].remote_mta, "dns; mail.example.com");
	assert_string_equal(r->rcpt[1].diagnostic_code, "");
	assert_string_equal(r->original_message_id, "0100018c-two@email.amazonses.com");
	assert_string_equal(r->original_to, ""); /* two addresses */
	free(r);
}

static void
test_global(void **state)
{
	struct report *r = parse_file("global_dsn.eml", REPORT_DSN);

	assert_string_equal(r->reporting_mta, "dns; mx.例子.广告");
	assert_string_equal(r->arrival_date, "Tue, 14 Nov 2023 22:30:00 +0000");
	assert_int_equal(r->nrcpt, 1);
	assert_string_equal(r->rcpt[0].final_recipient, "用户@例子.广告");
	assert_string_equal(r->rcpt[0].original_recipient, "用户@例子.广告");
	assert_string_equal(r->rcpt[0].action, "failed");
	assert_string_equal(r->rcpt[0].status, "5.1.1");
	assert_string_equal(r->rcpt[0].diagnostic_code, "smtp; 550 5.1.1 用户 unknown");
	assert_string_equal(r->original_message_id, "0100018c-glob@email.amazonses.com");
	assert_string_equal(r->original_to, "用户@例子.广告");
	free(r);
}

static void
test_rfc822_headers_qp(void **state)
{
	struct report *r = parse_file("headers_dsn.eml", REPORT_DSN);

	assert_string_equal(r->reporting_mta, "dns; relay.example.net");
	assert_int_equal(r->nrcpt, 1);
	assert_string_equal(r->rcpt[0].final_recipient, "someone@example.org");
	assert_string_equal(r->rcpt[0].status, "5.2.2");
	/* the quoted-printable soft break and =3D are decoded */
	assert_string_equal(r->rcpt[0].diagnostic_code,
	                    "smtp; 552 5.2.2 The email account that you tried to reach is over "
	                    "quota = full");
	/* a folded Message-ID in text/rfc822-headers */
	assert_string_equal(r->original_message_id, "0100018c-hdrs@email.amazonses.com");
	assert_string_equal(r->original_to, "");
	free(r);
}

static void
test_lf_only(void **state)
{
	struct report *r = parse_file("lf_dsn.eml", REPORT_DSN);

	assert_string_equal(r->reporting_mta, "dns;lf.example.net");
	assert_string_equal(r->arrival_date, "Wed, 15 Nov 2023 08:00:00 +0000");
	assert_int_equal(r->nrcpt, 1);
	assert_string_equal(r->rcpt[0].final_recipient, "lf@example.org");
	assert_string_equal(r->rcpt[0].status, "5.1.10");
	assert_string_equal(r->rcpt[0].diagnostic_code,
	                    "smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not "
	                    "found by SMTP address lookup");
	assert_string_equal(r->original_message_id, "0100018c-lf@email.amazonses.com");
	assert_string_equal(r->original_to, "lf@example.org");
	free(r);
}

static void
test_arf_abuse(void **state)
{
	struct report *r = parse_file("arf_abuse.eml", REPORT_ARF);

	assert_string_equal(r->feedback_type, "abuse");
	assert_string_equal(r->user_agent, "SomeGenerator/1.0");
	assert_string_equal(r->original_rcpt_to, "user@isp.example"); /* the first */
	assert_string_equal(r->original_mail_from, "0100018c-arf@bounce.example.com");
	assert_string_equal(r->arrival_date, "Tue, 14 Nov 2023 22:40:00 +0000");
	assert_string_equal(r->reporting_mta, "dns; mail.isp.example");
	assert_string_equal(r->source_ip, "192.0.2.1");
	assert_string_equal(r->original_message_id, "0100018c-arf@email.amazonses.com");
	assert_string_equal(r->original_to, "user@isp.example");
	assert_int_equal(r->nrcpt, 0);
	free(r);
}

static void
test_arf_redacted(void **state)
{
	struct report *r = parse_file("arf_redacted.eml", REPORT_ARF);

	assert_string_equal(r->feedback_type, "abuse");
	assert_string_equal(r->user_agent, "Hotmail FBL");
	assert_string_equal(r->original_rcpt_to, "");
	assert_string_equal(r->original_mail_from, "");
	assert_string_equal(r->arrival_date, "Tue, 14 Nov 2023 22:50:00 +0000");
	assert_string_equal(r->source_ip, "2001:db8::9");
	assert_string_equal(r->reporting_mta, "");
	assert_string_equal(r->original_message_id, "0100018c-red@email.amazonses.com");
	assert_string_equal(r->original_to, "xxxxxxxx@example.com");
	free(r);
}

static void
test_garbage_status(void **state)
{
	struct report *r = parse_file("garbage_status.eml", REPORT_DSN);

	assert_int_equal(r->nrcpt, 0);
	assert_string_equal(r->reporting_mta, "");
	assert_string_equal(r->original_message_id, "");
	free(r);
}

static void
test_plain(void **state)
{
	free(parse_file("plain.eml", REPORT_OTHER));
}

static void
test_other_shapes(void **state)
{
	static const char *const cases[] = {
	    "",
	    "\r\n",
	    "not a message at all",
	    "From: a@b\r\n\r\n",
	    /* a lone status part is not a report */
	    "Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@b\r\n",
	    /* a report inside the returned original does not count */
	    "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
	    "Content-Type: message/rfc822\r\n\r\nMessage-ID: <i@d>\r\n"
	    "Content-Type: multipart/report; boundary=y\r\n\r\n--y\r\n"
	    "Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822;a@b\r\n"
	    "--y--\r\n--x--\r\n",
	    /* multipart/report with no status part */
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=z\r\n\r\n"
	    "--z\r\nContent-Type: text/plain\r\n\r\nhi\r\n--z--\r\n",
	};
	struct report *r = xmalloc(sizeof(*r));

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(r, 0xa5, sizeof(*r)); /* zeroed by report_parse */
		assert_int_equal(report_parse(cases[i], strlen(cases[i]), r), REPORT_OTHER);
		check_report(r);
		assert_string_equal(r->original_message_id, "");
	}
	assert_int_equal(report_parse(NULL, 0, r), REPORT_OTHER);
	free(r);
}

/* Every prefix of a DSN parses without harm; cut inside the status part, what
 * came before the cut is there. */
static void
test_truncated(void **state)
{
	struct report *r = xmalloc(sizeof(*r));
	size_t n;
	char *p = slurp("postfix_511.eml", &n);
	const char *cut = strstr(p, "Remote-MTA: dns; mx.example.org");

	assert_non_null(cut);
	for (size_t len = 0; len < n; len += 3) {
		report_parse(p, len, r);
		check_report(r);
	}
	assert_int_equal(report_parse(p, (size_t)(cut - p) + 16, r), REPORT_DSN);
	assert_string_equal(r->reporting_mta, "dns; mail.example.net");
	assert_int_equal(r->nrcpt, 1);
	assert_string_equal(r->rcpt[0].final_recipient, "nobody@example.org");
	assert_string_equal(r->rcpt[0].status, "5.1.1");
	assert_string_equal(r->rcpt[0].remote_mta, "dns;"); /* cut there */
	assert_string_equal(r->rcpt[0].diagnostic_code, "");
	assert_string_equal(r->original_message_id, ""); /* never reached */
	/* cut inside the returned original's header */
	cut = strstr(p, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nFrom: Sender");
	assert_non_null(cut);
	assert_int_equal(report_parse(p, (size_t)(cut - p), r), REPORT_DSN);
	assert_string_equal(r->original_message_id,
	                    "0100018c1a2b3c4d-5e6f7a8b-0000@email.amazonses.com");
	free(p);
	free(r);
}

/* A DSN with `nrcpt` per-recipient blocks, in `out`. */
static void
make_dsn(struct buf *out, size_t nrcpt)
{
	buf_reset(out);
	buf_puts(out, "From: MAILER-DAEMON@many.example\r\n"
	              "Content-Type: multipart/report; report-type=delivery-status; boundary=m\r\n"
	              "\r\n--m\r\nContent-Type: text/plain\r\n\r\nmany\r\n"
	              "--m\r\nContent-Type: message/delivery-status\r\n\r\n"
	              "Reporting-MTA: dns; many.example\r\n");
	for (size_t i = 0; i < nrcpt; i++)
		buf_printf(out,
		           "\r\nFinal-Recipient: rfc822; u%zu@example.org\r\nAction: failed\r\n"
		           "Status: 5.1.1\r\n",
		           i);
	buf_puts(out, "--m--\r\n");
}

static void
test_rcpt_cap(void **state)
{
	static const size_t counts[] = {REPORT_MAX_RCPTS - 1, REPORT_MAX_RCPTS,
	                                REPORT_MAX_RCPTS + 1, 1000};
	struct report *r = xmalloc(sizeof(*r));
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		size_t want = counts[i] < REPORT_MAX_RCPTS ? counts[i] : REPORT_MAX_RCPTS;
		char addr[64];

		make_dsn(&b, counts[i]);
		assert_int_equal(report_parse(b.data, b.len, r), REPORT_DSN);
		check_report(r);
		assert_int_equal(r->nrcpt, want);
		assert_string_equal(r->reporting_mta, "dns; many.example");
		snprintf(addr, sizeof(addr), "u%zu@example.org", want - 1);
		assert_string_equal(r->rcpt[want - 1].final_recipient, addr);
		assert_string_equal(r->rcpt[want - 1].status, "5.1.1");
	}
	buf_free(&b);
	free(r);
}

/* REPORT_MAX_BYTES: at the limit the report is read, one byte over it is not. */
static void
test_size_cap(void **state)
{
	struct report *r = xmalloc(sizeof(*r));
	struct buf b;
	char *big;

	buf_init(&b, 0);
	make_dsn(&b, 1);
	big = xmalloc(REPORT_MAX_BYTES + 1);
	memset(big, 'x', REPORT_MAX_BYTES + 1);
	/* the DSN, then padding in an epilogue up to the size wanted */
	memcpy(big, b.data, b.len);
	big[b.len] = '\r';
	big[b.len + 1] = '\n';
	for (size_t i = b.len + 2; i + 2 <= REPORT_MAX_BYTES + 1; i += 78) {
		big[i] = '\r';
		big[i + 1] = '\n';
	}
	assert_int_equal(report_parse(big, REPORT_MAX_BYTES - 1, r), REPORT_DSN);
	assert_int_equal(report_parse(big, REPORT_MAX_BYTES, r), REPORT_DSN);
	assert_int_equal(r->nrcpt, 1);
	assert_string_equal(r->rcpt[0].final_recipient, "u0@example.org");
	assert_int_equal(report_parse(big, REPORT_MAX_BYTES + 1, r), REPORT_OTHER);
	assert_int_equal(r->nrcpt, 0);
	free(big);
	buf_free(&b);
	free(r);
}

/* The status part nested `levels` multiparts deep (the report is level 1). */
static void
make_nested(struct buf *out, int levels)
{
	buf_reset(out);
	buf_puts(out, "From: d@example\r\n");
	for (int i = 1; i < levels; i++)
		buf_printf(out, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i,
		           i);
	buf_printf(out, "Content-Type: multipart/report; boundary=b%d\r\n\r\n--b%d\r\n", levels,
	           levels);
	buf_puts(out, "Content-Type: message/delivery-status\r\n\r\n"
	              "Reporting-MTA: dns; deep.example\r\n\r\nFinal-Recipient: rfc822; d@x\r\n");
	for (int i = levels; i >= 1; i--)
		buf_printf(out, "--b%d--\r\n", i);
}

static void
test_depth_cap(void **state)
{
	struct report *r = xmalloc(sizeof(*r));
	struct buf b;

	buf_init(&b, 0);
	for (int levels = 1; levels <= REPORT_MAX_DEPTH + 1; levels++) {
		make_nested(&b, levels);
		enum report_kind want = levels <= REPORT_MAX_DEPTH ? REPORT_DSN : REPORT_OTHER;
		assert_int_equal(report_parse(b.data, b.len, r), want);
		if (want == REPORT_DSN) {
			assert_int_equal(r->nrcpt, 1);
			assert_string_equal(r->rcpt[0].final_recipient, "d@x");
		}
	}
	make_nested(&b, 200);
	assert_int_equal(report_parse(b.data, b.len, r), REPORT_OTHER);
	buf_free(&b);
	free(r);
}

/* The status part after `before` other parts: the multipart is part 1. */
static void
test_part_cap(void **state)
{
	static const int before[] = {REPORT_MAX_PARTS - 3, REPORT_MAX_PARTS - 2,
	                             REPORT_MAX_PARTS - 1, 1000};
	struct report *r = xmalloc(sizeof(*r));
	struct buf b;

	buf_init(&b, 0);
	for (size_t k = 0; k < sizeof(before) / sizeof(before[0]); k++) {
		buf_reset(&b);
		buf_puts(&b, "Content-Type: multipart/report; boundary=p\r\n\r\n");
		for (int i = 0; i < before[k]; i++)
			buf_puts(&b, "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n");
		buf_puts(&b, "--p\r\nContent-Type: message/delivery-status\r\n\r\n"
		             "Final-Recipient: rfc822; p@x\r\n--p--\r\n");
		/* parts visited: the multipart, `before` texts, the status part */
		enum report_kind want =
		    before[k] + 2 <= REPORT_MAX_PARTS ? REPORT_DSN : REPORT_OTHER;
		assert_int_equal(report_parse(b.data, b.len, r), want);
	}
	buf_free(&b);
	free(r);
}

static void
test_status_body(void **state)
{
	static const struct {
		const char *in, *status, *action, *final, *diag;
	} cases[] = {
	    {"Final-Recipient: rfc822;a@b\nStatus: 5.1.1\n", "5.1.1", "", "a@b", ""},
	    {"Final-Recipient: rfc822 ; <a@b> \nStatus:5.1.1(bad)\n", "5.1.1", "", "a@b", ""},
	    {"Final-Recipient:a@b\nStatus: 4.4.7\nAction: FAILED\n", "4.4.7", "failed", "a@b", ""},
	    {"Final-Recipient: rfc822; a@b\nStatus: 2.0.0\nAction: delivered\n", "2.0.0",
	     "delivered", "a@b", ""},
	    {"Final-Recipient: rfc822; a@b\nAction: relayed (x)\n", "", "relayed", "a@b", ""},
	    {"Final-Recipient: rfc822; a@b\nAction: expanded\n", "", "expanded", "a@b", ""},
	    {"Final-Recipient: rfc822; a@b\nAction: bounced\n", "", "", "a@b", ""},
	    /* not X.Y.Z with X in 2, 4, 5 and 1-3 digit parts */
	    {"Final-Recipient: x;a@b\nStatus: 3.1.1\n", "", "", "a@b", ""},
	    {"Final-Recipient: x;a@b\nStatus: 5.1\n", "", "", "a@b", ""},
	    {"Final-Recipient: x;a@b\nStatus: 5.1.1.1\n", "", "", "a@b", ""},
	    {"Final-Recipient: x;a@b\nStatus: 5.1234.1\n", "", "", "a@b", ""},
	    {"Final-Recipient: x;a@b\nStatus: 5.123.123\n", "5.123.123", "", "a@b", ""},
	    {"Final-Recipient: x;a@b\nStatus: 5..1\n", "", "", "a@b", ""},
	    {"Final-Recipient: x;a@b\nStatus: 5.1.1x\n", "", "", "a@b", ""},
	    {"Final-Recipient: x;a@b\nStatus: 550 5.1.1\n", "", "", "a@b", ""},
	    /* the first of a repeated field counts */
	    {"Final-Recipient: x;a@b\nStatus: 5.1.1\nStatus: 4.0.0\n", "5.1.1", "", "a@b", ""},
	    /* folding, CRLF and LF, tabs */
	    {"Final-Recipient: x;a@b\r\nDiagnostic-Code: smtp;\r\n 550\r\n\t  no\r\n", "", "",
	     "a@b", "smtp; 550 no"},
	    {"Final-Recipient:\n rfc822;\n a@b\nDiagnostic-Code:\tx\ty  z \n", "", "", "a@b",
	     "x y z"},
	    /* a line that is neither a field nor a fold ends the field */
	    {"Final-Recipient: x;a@b\nDiagnostic-Code: one\ngarbage\n two\n", "", "", "a@b", "one"},
	    /* obsolete "Name :" */
	    {"Final-Recipient : x;a@b\nStatus : 5.1.1\n", "5.1.1", "", "a@b", ""},
	    /* control bytes and bad UTF-8 never reach the caller */
	    {"Final-Recipient: x;a@b\nDiagnostic-Code: a\x01"
	     "b\xff\n",
	     "", "", "a@b", "a b?"},
	    /* an address that is not a type prefix */
	    {"Final-Recipient: <a@b>\n", "", "", "a@b", ""},
	    {"Final-Recipient: rfc822;\n", "", "", "", ""},
	};
	struct report *r = xmalloc(sizeof(*r));

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(r, 0, sizeof(*r));
		r->kind = REPORT_DSN;
		report_parse_dsn_body(cases[i].in, strlen(cases[i].in), r);
		check_report(r);
		assert_int_equal(r->nrcpt, 1);
		assert_string_equal(r->rcpt[0].status, cases[i].status);
		assert_string_equal(r->rcpt[0].action, cases[i].action);
		assert_string_equal(r->rcpt[0].final_recipient, cases[i].final);
		assert_string_equal(r->rcpt[0].diagnostic_code, cases[i].diag);
	}
	free(r);
}

static void
test_groups(void **state)
{
	struct report *r = xmalloc(sizeof(*r));
	const char *s;

	/* no per-message group: the first group names a recipient */
	memset(r, 0, sizeof(*r));
	s = "Final-Recipient: rfc822; a@b\nReporting-MTA: dns; ignored\n\n\n \t \n"
	    "Original-Recipient: rfc822; c@d\n\nReporting-MTA: dns; late\n";
	report_parse_dsn_body(s, strlen(s), r);
	assert_int_equal(r->nrcpt, 2);
	assert_string_equal(r->rcpt[0].final_recipient, "a@b");
	assert_string_equal(r->rcpt[1].final_recipient, "");
	assert_string_equal(r->rcpt[1].original_recipient, "c@d");
	assert_string_equal(r->reporting_mta, ""); /* only the first group is per-message */

	/* leading blank lines, a group with no recipient after the first is ignored */
	memset(r, 0, sizeof(*r));
	s = "\r\n\r\nReporting-MTA: dns; m\r\n\r\nX-Other: 1\r\n\r\nFinal-Recipient: x; e@f";
	report_parse_dsn_body(s, strlen(s), r);
	assert_string_equal(r->reporting_mta, "dns; m");
	assert_int_equal(r->nrcpt, 1);
	assert_string_equal(r->rcpt[0].final_recipient, "e@f");
	free(r);
}

/* Values longer than their field: free text is cut on a UTF-8 boundary,
 * addresses are dropped. */
static void
test_value_caps(void **state)
{
	struct report *r = xmalloc(sizeof(*r));
	struct buf b;
	size_t cap = sizeof(r->rcpt[0].diagnostic_code);

	buf_init(&b, 0);
	for (size_t len = cap - 2; len <= cap; len++) {
		buf_reset(&b);
		buf_puts(&b, "Final-Recipient: rfc822; a@b\nDiagnostic-Code: ");
		for (size_t i = 0; i < len; i++)
			buf_putc(&b, 'd');
		buf_puts(&b, "\n");
		memset(r, 0, sizeof(*r));
		report_parse_dsn_body(b.data, b.len, r);
		assert_int_equal(strlen(r->rcpt[0].diagnostic_code), len < cap ? len : cap - 1);
	}
	/* a 2-byte character across the end is left out whole */
	buf_reset(&b);
	buf_puts(&b, "Final-Recipient: rfc822; a@b\nDiagnostic-Code: ");
	for (size_t i = 0; i < cap - 2; i++)
		buf_putc(&b, 'd');
	buf_puts(&b, "\xc3\xa9\n");
	memset(r, 0, sizeof(*r));
	report_parse_dsn_body(b.data, b.len, r);
	assert_int_equal(strlen(r->rcpt[0].diagnostic_code), cap - 2);
	r->kind = REPORT_DSN;
	check_report(r);

	/* addresses: 320 bytes fit, 321 do not */
	for (size_t len = 319; len <= 321; len++) {
		buf_reset(&b);
		buf_puts(&b, "Final-Recipient: rfc822; ");
		for (size_t i = 0; i < len - 2; i++)
			buf_putc(&b, 'a');
		buf_puts(&b, "@b\n");
		memset(r, 0, sizeof(*r));
		report_parse_dsn_body(b.data, b.len, r);
		assert_int_equal(r->nrcpt, 1);
		assert_int_equal(strlen(r->rcpt[0].final_recipient), len <= 320 ? len : 0);
	}
	buf_free(&b);
	free(r);
}

static void
test_arf_body(void **state)
{
	struct report *r = xmalloc(sizeof(*r));
	const char *s;

	memset(r, 0, sizeof(*r));
	s = "FEEDBACK-TYPE: Not-Spam\nUser-Agent: a\n b\nArrival-Date: d1\nReceived-Date: d2\n"
	    "Source-IP: 192.0.2.1 \n\nOriginal-Rcpt-To: u@x\n";
	report_parse_arf_body(s, strlen(s), r);
	assert_string_equal(r->feedback_type, "not-spam");
	assert_string_equal(r->user_agent, "a b");
	assert_string_equal(r->arrival_date, "d1"); /* Arrival-Date over Received-Date */
	assert_string_equal(r->source_ip, "192.0.2.1");
	assert_string_equal(r->original_rcpt_to, "u@x");

	memset(r, 0, sizeof(*r));
	s = "Feedback-Type: abuse!\nReceived-Date: d2\nSource-IP: "
	    "0123456789012345678901234567890123456789012345678901234567890123456789\n";
	report_parse_arf_body(s, strlen(s), r);
	assert_string_equal(r->feedback_type, ""); /* not a token */
	assert_string_equal(r->arrival_date, "d2");
	assert_string_equal(r->source_ip, ""); /* too long to be an address */
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_postfix),      cmocka_unit_test(test_exim_two),
	    cmocka_unit_test(test_global),       cmocka_unit_test(test_rfc822_headers_qp),
	    cmocka_unit_test(test_lf_only),      cmocka_unit_test(test_arf_abuse),
	    cmocka_unit_test(test_arf_redacted), cmocka_unit_test(test_garbage_status),
	    cmocka_unit_test(test_plain),        cmocka_unit_test(test_other_shapes),
	    cmocka_unit_test(test_truncated),    cmocka_unit_test(test_rcpt_cap),
	    cmocka_unit_test(test_size_cap),     cmocka_unit_test(test_depth_cap),
	    cmocka_unit_test(test_part_cap),     cmocka_unit_test(test_status_body),
	    cmocka_unit_test(test_groups),       cmocka_unit_test(test_value_caps),
	    cmocka_unit_test(test_arf_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

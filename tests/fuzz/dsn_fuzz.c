/*
 * dsn_fuzz.c — libFuzzer target for DSN parsing (src/feedback/report.c):
 * report_parse on the input as a whole message, then with the input as
 * the body of a message/delivery-status part (message/global-delivery-
 * status when the first byte is odd) inside a fixed multipart/report, so
 * that every input reaches the status-field scanner. The wrapped message
 * is always a DSN; every result keeps report_check.h's invariants.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "feedback/report.h"
#include "report_check.h"

static const char prefix_dsn[] =
	"From: MAILER-DAEMON@fuzz.example\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/report; report-type=delivery-status;\r\n"
	"\tboundary=\"=_fuzz_dsn_7f3a9c\"\r\n\r\n"
	"--=_fuzz_dsn_7f3a9c\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
	"--=_fuzz_dsn_7f3a9c\r\nContent-Type: message/delivery-status\r\n\r\n";
static const char prefix_global[] =
	"From: MAILER-DAEMON@fuzz.example\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/report; report-type=global-delivery-status;\r\n"
	"\tboundary=\"=_fuzz_dsn_7f3a9c\"\r\n\r\n"
	"--=_fuzz_dsn_7f3a9c\r\nContent-Type: message/global-delivery-status\r\n\r\n";
static const char suffix[] =
	"\r\n--=_fuzz_dsn_7f3a9c\r\nContent-Type: text/rfc822-headers\r\n\r\n"
	"Message-ID: <fuzz@email.amazonses.com>\r\nTo: a@example.org\r\n"
	"--=_fuzz_dsn_7f3a9c--\r\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report *r = malloc(sizeof(*r));
	enum report_kind k;
	size_t n;
	char *msg;

	check(r != NULL);
	k = report_parse((const char *)data, size, r);
	check_report(r, k);

	msg = wrap(size > 0 && (data[0] & 1) ? prefix_global : prefix_dsn, data, size, suffix, &n);
	check(report_parse(msg, n, r) == REPORT_DSN);
	check_report(r, REPORT_DSN);
	free(msg);
	free(r);
	return 0;
}

/*
 * arf_fuzz.c — libFuzzer target for ARF parsing (src/feedback/report.c):
 * report_parse on the input as a whole message, then with the input as
 * the body of the message/feedback-report part of a fixed
 * multipart/report (always an ARF report), then as the returned original
 * (message/rfc822) after a fixed feedback-report part, which reaches the
 * Message-ID and To reading. Every result keeps report_check.h's
 * invariants.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "feedback/report.h"
#include "report_check.h"

#define B "=_fuzz_arf_41c2e8"

static const char prefix_head[] = "From: abuse@isp.example\r\n"
				  "MIME-Version: 1.0\r\n"
				  "Content-Type: multipart/report; report-type=feedback-report;\r\n"
				  "\tboundary=\"" B "\"\r\n\r\n"
				  "--" B "\r\nContent-Type: text/plain\r\n\r\nabuse report\r\n";
static const char part_fb[] = "--" B "\r\nContent-Type: message/feedback-report\r\n\r\n";
static const char fixed_fb[] = "Feedback-Type: abuse\r\nUser-Agent: fuzz/1\r\nVersion: 1\r\n"
			       "Original-Rcpt-To: <u@isp.example>\r\n";
static const char part_orig[] = "\r\n--" B "\r\nContent-Type: message/rfc822\r\n\r\n";
static const char end[] = "\r\n--" B "--\r\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report *r = malloc(sizeof(*r));
	char prefix[1024], suffix[512];
	enum report_kind k;
	size_t n;
	char *msg;

	check(r != NULL);
	k = report_parse((const char *)data, size, r);
	check_report(r, k);

	/* the input is the feedback-report body */
	snprintf(prefix, sizeof(prefix), "%s%s", prefix_head, part_fb);
	snprintf(suffix, sizeof(suffix), "%sMessage-ID: <o@d>\r\nTo: x@isp.example\r\n%s",
		 part_orig, end);
	msg = wrap(prefix, data, size, suffix, &n);
	check(report_parse(msg, n, r) == REPORT_ARF);
	check_report(r, REPORT_ARF);
	free(msg);

	/* the input is the returned original */
	snprintf(prefix, sizeof(prefix), "%s%s%s%s", prefix_head, part_fb, fixed_fb, part_orig);
	msg = wrap(prefix, data, size, end, &n);
	check(report_parse(msg, n, r) == REPORT_ARF);
	check_report(r, REPORT_ARF);
	check(strcmp(r->feedback_type, "abuse") == 0);
	free(msg);
	free(r);
	return 0;
}

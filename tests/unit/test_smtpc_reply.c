/*
 * test_smtpc_reply.c — the outbound client's pure reply parser
 * (smtpc_reply_parse, smtpc_reply_text, smtpc_ehlo_parse) from tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delivery/smtpc.h"

static const char *
parse_str(enum smtpc_parse p)
{
	return p == SMTPC_PARSE_OK ? "OK" : p == SMTPC_PARSE_MORE ? "MORE" : "ERROR";
}

static void
test_table(void **state)
{
	static const struct {
		const char *in;
		enum smtpc_parse want;
		int code;
		size_t nlines;
		const char *status;
		bool parsed;
		const char *text; /* smtpc_reply_text */
		size_t used;      /* 0 = whole input */
	} cases[] = {
	    {"250 OK\r\n", SMTPC_PARSE_OK, 250, 1, "2.0.0", false, "OK", 0},
	    {"250 OK\n", SMTPC_PARSE_OK, 250, 1, "2.0.0", false, "OK", 0},
	    {"250\r\n", SMTPC_PARSE_OK, 250, 1, "2.0.0", false, "", 0},
	    {"250 \r\n", SMTPC_PARSE_OK, 250, 1, "2.0.0", false, "", 0},
	    {"220 mx.example ESMTP ready\r\n", SMTPC_PARSE_OK, 220, 1, "2.0.0", false,
	     "mx.example ESMTP ready", 0},
	    {"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n", SMTPC_PARSE_OK, 250, 3,
	     "2.0.0", false, "mx.example PIPELINING 8BITMIME", 0},
	    {"550 5.1.1 User unknown\r\n", SMTPC_PARSE_OK, 550, 1, "5.1.1", true,
	     "5.1.1 User unknown", 0},
	    {"451 4.7.1\r\n", SMTPC_PARSE_OK, 451, 1, "4.7.1", true, "4.7.1", 0},
	    {"552 5.3.4 too big\r\n", SMTPC_PARSE_OK, 552, 1, "5.3.4", true, "5.3.4 too big", 0},
	    {"250 2.123.456 ok\r\n", SMTPC_PARSE_OK, 250, 1, "2.123.456", true, "2.123.456 ok", 0},
	    /* the enhanced class must match the code's */
	    {"550 4.1.1 mismatch\r\n", SMTPC_PARSE_OK, 550, 1, "5.0.0", false, "4.1.1 mismatch", 0},
	    {"550 5.1.1234 x\r\n", SMTPC_PARSE_OK, 550, 1, "5.0.0", false, "5.1.1234 x", 0},
	    {"550 5.1.1x\r\n", SMTPC_PARSE_OK, 550, 1, "5.0.0", false, "5.1.1x", 0},
	    {"550 5..1 x\r\n", SMTPC_PARSE_OK, 550, 1, "5.0.0", false, "5..1 x", 0},
	    {"550 3.1.1 x\r\n", SMTPC_PARSE_OK, 550, 1, "5.0.0", false, "3.1.1 x", 0},
	    {"421-4.4.2 one\r\n421 4.4.2 two\r\n", SMTPC_PARSE_OK, 421, 2, "4.4.2", true,
	     "4.4.2 one 4.4.2 two", 0},
	    /* two replies: only the first is taken */
	    {"250 a\r\n354 b\r\n", SMTPC_PARSE_OK, 250, 1, "2.0.0", false, "a", 7},
	    {"250-a\r\n250 b\r\n550 c\r\n", SMTPC_PARSE_OK, 250, 2, "2.0.0", false, "a b", 14},
	    /* control bytes become '?' */
	    {"250 a\tb\x01\xff\r\n", SMTPC_PARSE_OK, 250, 1, "2.0.0", false, "a?b??", 0},
	    /* incomplete */
	    {"", SMTPC_PARSE_MORE, 0, 0, "", false, "", 0},
	    {"2", SMTPC_PARSE_MORE, 0, 0, "", false, "", 0},
	    {"25", SMTPC_PARSE_MORE, 0, 0, "", false, "", 0},
	    {"250", SMTPC_PARSE_MORE, 0, 0, "", false, "", 0},
	    {"250 OK", SMTPC_PARSE_MORE, 0, 0, "", false, "", 0},
	    {"250 OK\r", SMTPC_PARSE_MORE, 0, 0, "", false, "", 0},
	    {"250-a\r\n", SMTPC_PARSE_MORE, 0, 0, "", false, "", 0},
	    {"250-a\r\n250-b\r\n25", SMTPC_PARSE_MORE, 0, 0, "", false, "", 0},
	    /* not SMTP */
	    {"\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"25\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"25O ok\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"x", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"2x", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"250x", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"250ok\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"250_ok\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"199 x\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"650 x\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"260 x\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"HTTP/1.1 400\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    /* mixed codes, also detected before the line ends */
	    {"250-a\r\n251 b\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"250-a\r\n550 b\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"250-a\r\n251", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"250-a\r\n250x", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	    {"250-a\r\n\r\n", SMTPC_PARSE_ERROR, 0, 0, "", false, "", 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtpc_reply r;
		size_t used = 12345, len = strlen(cases[i].in);
		char text[SMTPC_TEXT_MAX];
		enum smtpc_parse p = smtpc_reply_parse(cases[i].in, len, &r, &used);
		if (p != cases[i].want)
			fail_msg("case %zu '%s': %s, want %s", i, cases[i].in, parse_str(p),
			         parse_str(cases[i].want));
		if (p != SMTPC_PARSE_OK) {
			assert_int_equal(used, 12345); /* untouched */
			continue;
		}
		assert_int_equal(r.code, cases[i].code);
		assert_int_equal(r.nlines, cases[i].nlines);
		assert_string_equal(r.status, cases[i].status);
		assert_int_equal(r.status_parsed, cases[i].parsed);
		assert_false(r.overlong);
		assert_int_equal(used, cases[i].used ? cases[i].used : len);
		assert_string_equal(smtpc_reply_text(&r, text, sizeof(text)), cases[i].text);
	}
}

/* A reply of one line with `n` text bytes (plus "250 " and CRLF). */
static char *
line_of(size_t n, const char *code_sep)
{
	char *s = malloc(n + 7);
	memcpy(s, code_sep, 4);
	memset(s + 4, 'a', n);
	memcpy(s + 4 + n, "\r\n", 3);
	return s;
}

static void
test_line_caps(void **state)
{
	struct smtpc_reply r;
	size_t used;
	(void)state;

	/* RFC 5321 limit (1000 with the CRLF): 994 text bytes is a 1000-byte line */
	char *s = line_of(SMTPC_LINE_STRICT - 6, "250 ");
	assert_int_equal(smtpc_reply_parse(s, strlen(s), &r, &used), SMTPC_PARSE_OK);
	assert_false(r.overlong);
	free(s);
	s = line_of(SMTPC_LINE_STRICT - 5, "250 ");
	assert_int_equal(smtpc_reply_parse(s, strlen(s), &r, &used), SMTPC_PARSE_OK);
	assert_true(r.overlong);
	assert_int_equal(r.line[0].n, SMTPC_LINE_STRICT - 5);
	free(s);
	/* tolerated up to SMTPC_LINE_MAX bytes without the CRLF */
	s = line_of(SMTPC_LINE_MAX - 4, "250 ");
	assert_int_equal(smtpc_reply_parse(s, strlen(s), &r, &used), SMTPC_PARSE_OK);
	assert_true(r.overlong);
	assert_int_equal(used, SMTPC_LINE_MAX + 2);
	free(s);
	s = line_of(SMTPC_LINE_MAX - 3, "250 ");
	assert_int_equal(smtpc_reply_parse(s, strlen(s), &r, &used), SMTPC_PARSE_ERROR);
	/* ...and refused before the end arrives, once no CRLF can still fit */
	assert_int_equal(smtpc_reply_parse(s, SMTPC_LINE_MAX + 1, &r, &used), SMTPC_PARSE_MORE);
	assert_int_equal(smtpc_reply_parse(s, SMTPC_LINE_MAX + 2, &r, &used), SMTPC_PARSE_ERROR);
	free(s);
	s = line_of(2 * SMTPC_LINE_MAX, "250 ");
	assert_int_equal(smtpc_reply_parse(s, SMTPC_LINE_MAX + 2, &r, &used), SMTPC_PARSE_ERROR);
	free(s);
}

static void
test_reply_caps(void **state)
{
	struct smtpc_reply r;
	size_t used;
	char *buf = malloc(SMTPC_REPLY_BYTES_MAX * 2);
	size_t n;
	(void)state;

	/* SMTPC_REPLY_LINES_MAX lines: fine; one more: error */
	for (size_t lines = SMTPC_REPLY_LINES_MAX - 1; lines <= SMTPC_REPLY_LINES_MAX + 1;
	     lines++) {
		n = 0;
		for (size_t i = 0; i < lines; i++)
			n += (size_t)snprintf(buf + n, 64, "250%cline %zu\r\n",
			                      i + 1 == lines ? ' ' : '-', i);
		enum smtpc_parse p = smtpc_reply_parse(buf, n, &r, &used);
		if (lines <= SMTPC_REPLY_LINES_MAX) {
			assert_int_equal(p, SMTPC_PARSE_OK);
			assert_int_equal(r.nlines, lines);
			assert_int_equal(used, n);
			assert_int_equal(r.line[lines - 1].n,
			                 strlen("line ") + (lines > 10 ? 2 : 1));
		} else {
			assert_int_equal(p, SMTPC_PARSE_ERROR);
		}
	}
	/* over SMTPC_REPLY_BYTES_MAX in total with lines that are each fine */
	n = 0;
	while (n < SMTPC_REPLY_BYTES_MAX + 4000) {
		memcpy(buf + n, "250-", 4);
		memset(buf + n + 4, 'b', 3000);
		memcpy(buf + n + 3004, "\r\n", 2);
		n += 3006;
	}
	assert_int_equal(smtpc_reply_parse(buf, n, &r, &used), SMTPC_PARSE_ERROR);
	/* the same, still incomplete: refused once past the cap */
	assert_int_equal(smtpc_reply_parse(buf, SMTPC_REPLY_BYTES_MAX - 10, &r, &used),
	                 SMTPC_PARSE_MORE);
	assert_int_equal(smtpc_reply_parse(buf, SMTPC_REPLY_BYTES_MAX + 1, &r, &used),
	                 SMTPC_PARSE_ERROR);
	free(buf);
}

/* Bytes arriving one at a time: MORE until the last, then the same answer. */
static void
test_incremental(void **state)
{
	const char *in = "250-mx.example says hi\r\n250-SIZE 1000\r\n250 PIPELINING\r\n";
	size_t len = strlen(in), used;
	struct smtpc_reply r;
	(void)state;

	for (size_t n = 0; n < len; n++)
		assert_int_equal(smtpc_reply_parse(in, n, &r, &used), SMTPC_PARSE_MORE);
	assert_int_equal(smtpc_reply_parse(in, len, &r, &used), SMTPC_PARSE_OK);
	assert_int_equal(used, len);
	assert_int_equal(r.nlines, 3);
}

static void
test_text_cap(void **state)
{
	struct smtpc_reply r;
	size_t used;
	char small[8];
	(void)state;

	assert_int_equal(smtpc_reply_parse("250-abc\r\n250 defgh\r\n", 20, &r, &used),
	                 SMTPC_PARSE_OK);
	assert_string_equal(smtpc_reply_text(&r, small, sizeof(small)), "abc def");
	assert_string_equal(smtpc_reply_text(&r, small, 1), "");
	char big[SMTPC_TEXT_MAX];
	char *s = line_of(3000, "550 ");
	assert_int_equal(smtpc_reply_parse(s, strlen(s), &r, &used), SMTPC_PARSE_OK);
	assert_int_equal(strlen(smtpc_reply_text(&r, big, sizeof(big))), SMTPC_TEXT_MAX - 1);
	free(s);
}

static void
test_ehlo(void **state)
{
	struct smtpc_reply r;
	struct smtpc_ehlo x;
	size_t used;
	const char *full = "250-mx.example Hello PIPELINING\r\n"
	                   "250-pipelining\r\n"
	                   "250-SIZE 10240000\r\n"
	                   "250-8bitmime\r\n"
	                   "250-STARTTLS\r\n"
	                   "250-ENHANCEDSTATUSCODES\r\n"
	                   "250-CHUNKING\r\n"
	                   "250 SMTPUTF8\r\n";
	(void)state;

	assert_int_equal(smtpc_reply_parse(full, strlen(full), &r, &used), SMTPC_PARSE_OK);
	smtpc_ehlo_parse(&r, &x);
	assert_true(x.pipelining && x.starttls && x.eightbitmime && x.enhancedstatuscodes &&
	            x.smtputf8 && x.chunking && x.size);
	assert_int_equal(x.size_max, 10240000);

	/* keywords must be whole; the greeting line is not a keyword; bare SIZE */
	const char *odd = "250-PIPELINING\r\n250-PIPELININGX\r\n250-XSTARTTLS\r\n250 SIZE\r\n";
	assert_int_equal(smtpc_reply_parse(odd, strlen(odd), &r, &used), SMTPC_PARSE_OK);
	smtpc_ehlo_parse(&r, &x);
	assert_false(x.pipelining);
	assert_false(x.starttls);
	assert_true(x.size);
	assert_int_equal(x.size_max, 0);

	const char *huge = "250-x\r\n250 SIZE 99999999999999999999999999\r\n";
	assert_int_equal(smtpc_reply_parse(huge, strlen(huge), &r, &used), SMTPC_PARSE_OK);
	smtpc_ehlo_parse(&r, &x);
	assert_int_equal(x.size_max, (unsigned long)-1);

	const char *one = "250 mx.example\r\n";
	assert_int_equal(smtpc_reply_parse(one, strlen(one), &r, &used), SMTPC_PARSE_OK);
	smtpc_ehlo_parse(&r, &x);
	assert_false(x.pipelining || x.starttls || x.size || x.eightbitmime);
}

static void
test_target_set(void **state)
{
	struct smtpc_target t;
	(void)state;

	assert_int_equal(smtpc_target_set(&t, "mx", "127.0.0.1", 2525), 0);
	assert_int_equal(t.addr.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&t.addr)->sin_port), 2525);
	assert_int_equal(smtpc_target_set(&t, NULL, "::1", 25), 0);
	assert_int_equal(t.addr.ss_family, AF_INET6);
	assert_int_equal(t.addrlen, sizeof(struct sockaddr_in6));
	assert_int_equal(smtpc_target_set(&t, NULL, "mx.example", 25), -1);
	assert_int_equal(smtpc_target_set(&t, NULL, "127.0.0.1", 0), -1);
	assert_int_equal(smtpc_target_set(&t, NULL, "127.0.0.1", 65536), -1);
	assert_int_equal(smtpc_target_set(&t, NULL, "127.0.0.1", 65535), 0);
	assert_string_equal(smtpc_outcome_str(SMTPC_BOUNCED), "bounced");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),      cmocka_unit_test(test_line_caps),
	    cmocka_unit_test(test_reply_caps), cmocka_unit_test(test_incremental),
	    cmocka_unit_test(test_text_cap),   cmocka_unit_test(test_ehlo),
	    cmocka_unit_test(test_target_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_httpframe.c — HTTP/1.1 request framing read from the bytes
 * (src/util/httpframe.c). Each stream of the table gives a verdict (the
 * refusal's words, or none), the number of requests begun, and whether a
 * header section is still open at its end; the same in one piece, byte by
 * byte, and split in two at every boundary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/httpframe.h"

struct tcase {
	const char *name;
	const char *in;
	const char *why;   /* NULL: accepted */
	uint64_t requests;
	bool in_headers;   /* at the end of the stream */
};

#define POST "POST / HTTP/1.1\r\nHost: h\r\n"

static const struct tcase cases[] = {
    {"one GET", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", NULL, 1, false},
    {"two pipelined GETs with blank lines between",
     "GET / HTTP/1.1\r\n\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n", NULL, 2, false},
    {"bare LF line ends, as evhttp reads them", "GET / HTTP/1.1\nHost: h\n\nGET / HTTP/1.1\n\n",
     NULL, 2, false},
    {"a POST body is not a request", POST "Content-Length: 18\r\n\r\nGET / HTTP/1.1\r\n\r\n", NULL,
     1, false},
    {"then the next request", POST "Content-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n", NULL, 2,
     false},
    {"headers still coming", POST "Content-Length: 3\r\nX-Slow: 1\r\n", NULL, 1, true},
    {"a body still coming is not headers", POST "Content-Length: 30\r\n\r\nabc", NULL, 1,
     false},
    {"the same Content-Length twice", POST "Content-Length: 3\r\ncontent-length:3\r\n\r\nabc",
     NULL, 1, false},
    {"two Content-Length values", POST "Content-Length: 3\r\nContent-Length: 40\r\n\r\nabc",
     "two different Content-Length values", 1, false},
    {"a Content-Length list", POST "Content-Length: 3, 3\r\n\r\nabc",
     "an invalid Content-Length", 1, false},
    {"a signed Content-Length", POST "Content-Length: +3\r\n\r\nabc",
     "an invalid Content-Length", 1, false},
    {"an empty Content-Length", POST "Content-Length:\r\n\r\n", "an invalid Content-Length", 1,
     false},
    {"Content-Length of 19 digits", POST "Content-Length: 1000000000000000000\r\n\r\n",
     "an invalid Content-Length", 1, false},
    {"blanks before the colon", POST "Content-Length : 3\r\n\r\nabc",
     "blanks before the colon of a framing field", 1, false},
    {"a folded Content-Length", POST "Content-Length: 3\r\n 4\r\n\r\nabc",
     "a folded Content-Length or Transfer-Encoding field", 1, false},
    {"a folded other field is fine", POST "X-A: 1\r\n 2\r\nContent-Length: 1\r\n\r\nz", NULL, 1,
     false},
    {"Content-Length with Transfer-Encoding",
     POST "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
     "Content-Length together with Transfer-Encoding", 1, false},
    {"chunked, then the next request",
     POST "Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\n"
          "GET / HTTP/1.1\r\n\r\n",
     NULL, 2, false},
    {"a chunk that is not a request", POST "Transfer-Encoding: chunked\r\n\r\n12\r\n"
                                           "GET / HTTP/1.1\r\n\r\n\r\n0\r\n\r\n",
     NULL, 1, false},
    {"a coding after chunked", POST "Transfer-Encoding: chunked, gzip\r\n\r\n",
     "a Transfer-Encoding that does not end in chunked", 1, false},
    {"gzip, chunked is chunked", POST "Transfer-Encoding: gzip , Chunked\r\n\r\n0\r\n\r\n", NULL,
     1, false},
    {"a bad chunk size", POST "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
     "an invalid chunk size", 1, false},
    {"chunk bytes beyond the size", POST "Transfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
     "a chunk not followed by its line end", 1, false},
    {"a GET with a body", "GET / HTTP/1.1\r\nContent-Length: 18\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
     "a body on a method that has none", 1, false},
    {"a GET with Content-Length 0", "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", NULL, 1,
     false},
    {"a DELETE chunked", "DELETE / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     "a body on a method that has none", 1, false},
    {"PUT and PATCH have bodies",
     "PUT / HTTP/1.1\r\nContent-Length: 1\r\n\r\nxPATCH / HTTP/1.1\r\nContent-Length: 1\r\n\r\ny",
     NULL, 2, false},
    {"a long other field is skipped",
     POST "X-Long: "
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "\r\nContent-Length: 2\r\n\r\nzz",
     NULL, 1, false},
    {"after a refusal nothing more is read",
     "GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\nxGET / HTTP/1.1\r\n\r\n",
     "a body on a method that has none", 1, false},
};

static void
run(const struct tcase *t, const char *mode, const size_t *cuts, size_t ncuts)
{
	struct httpframe f;
	size_t n = strlen(t->in), from = 0;
	int rc = 0;

	httpframe_init(&f);
	for (size_t i = 0; i <= ncuts && rc == 0; i++) {
		size_t to = i < ncuts ? cuts[i] : n;
		rc = httpframe_feed(&f, (const uint8_t *)t->in + from, to - from);
		from = to;
	}
	if (t->why == NULL) {
		if (rc != 0)
			fail_msg("%s (%s): refused: %s", t->name, mode, f.why);
	} else {
		if (rc == 0)
			fail_msg("%s (%s): accepted, wanted '%s'", t->name, mode, t->why);
		assert_string_equal(f.why, t->why);
	}
	if (f.requests != t->requests)
		fail_msg("%s (%s): %llu requests, wanted %llu", t->name, mode,
			 (unsigned long long)f.requests, (unsigned long long)t->requests);
	if (f.in_headers != t->in_headers)
		fail_msg("%s (%s): in_headers %d", t->name, mode, f.in_headers);
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct tcase *t = &cases[c];
		size_t n = strlen(t->in);
		static size_t bytes[4096];

		run(t, "whole", NULL, 0);
		assert_true(n < sizeof(bytes) / sizeof(bytes[0]));
		for (size_t i = 0; i + 1 < n; i++)
			bytes[i] = i + 1;
		run(t, "byte by byte", bytes, n > 0 ? n - 1 : 0);
		for (size_t cut = 1; cut < n; cut++)
			run(t, "in two", &cut, 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

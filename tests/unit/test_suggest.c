/* test_suggest.c — table-driven tests for src/util/suggest.c: the edit
 * distance (swaps count one, the cap) and which name is suggested. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/suggest.h"

static void
test_distance(void **state)
{
	static const struct {
		const char *a, *b;
		int d;
	} rows[] = {
	    {"", "", 0},
	    {"http", "http", 0},
	    {"htp", "http", 1},   /* insertion */
	    {"httpx", "http", 1}, /* deletion */
	    {"hxtp", "http", 1},  /* substitution */
	    {"htpt", "http", 1},  /* swap of neighbours */
	    {"acount", "account", 1},
	    {"acocunt", "account", 1}, /* "oc" for "co" */
	    {"acont", "account", 2},
	    {"tread", "threads", 2},
	    {"nope", "name", 2},
	    {"abcd", "wxyz", 3}, /* capped at SUGGEST_MAX_DISTANCE + 1 */
	    {"a", "abcdefg", 3}, /* lengths alone too far apart */
	    {"", "ab", 2},
	    {"ab", "", 2},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int d = suggest_distance(rows[i].a, strlen(rows[i].a), rows[i].b);
		if (d != rows[i].d)
			fail_msg("distance('%s', '%s') = %d, want %d", rows[i].a, rows[i].b, d,
			         rows[i].d);
	}
	/* only a[0..alen) counts */
	assert_int_equal(suggest_distance("http=x", 4, "http"), 0);
	/* past the length cap: never close */
	char big[80];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(suggest_distance(big, strlen(big), big), SUGGEST_MAX_DISTANCE + 1);
	assert_int_equal(suggest_distance(big, 64, big + 15), 0);
}

static void
test_result(void **state)
{
	static const char *names[] = {"data",     "db",      "config",  "http",
	                              "smtp",     "smtps",   "threads", "transport",
	                              "tls-cert", "tls-key", NULL};
	static const struct {
		const char *word;
		const char *want; /* NULL: no suggestion */
	} rows[] = {
	    {"htp", "http"},
	    {"smtpx", "smtp"},      /* smtp (1) before smtps (1): the first wins */
	    {"tre", NULL},          /* 3 edits from "threads", and begins no name */
	    {"trans", "transport"}, /* the one name it begins */
	    {"tls", NULL},          /* begins two names, and 3 edits from each */
	    {"x", NULL},            /* "db" is 2 edits but the word has 1 byte */
	    {"dat", "data"},
	    {"zzzzzz", NULL},
	    {"", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct suggest s;
		suggest_init(&s, rows[i].word, strlen(rows[i].word));
		for (size_t j = 0; names[j] != NULL; j++)
			suggest_offer(&s, names[j]);
		const char *got = suggest_result(&s);
		if ((got == NULL) != (rows[i].want == NULL) ||
		    (got != NULL && strcmp(got, rows[i].want) != 0))
			fail_msg("suggest('%s') = %s, want %s", rows[i].word, got ? got : "NULL",
			         rows[i].want ? rows[i].want : "NULL");
	}
	/* a name offered again (one noun per verb row) is still the only prefix */
	struct suggest s;
	suggest_init(&s, "acc", 3);
	suggest_offer(&s, "account");
	suggest_offer(&s, "account");
	suggest_offer(&s, "user");
	assert_string_equal(suggest_result(&s), "account");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_distance),
	    cmocka_unit_test(test_result),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

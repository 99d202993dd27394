/* test_msgtags.c — table-driven tests for src/core/msgtags.c: the tag
 * character and length rules, the 50-tag cap (at limit−1, limit, limit+1),
 * and X-SES-MESSAGE-TAGS parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/msgtags.h"

static void
test_check(void **state)
{
	char n256[257], n257[258];
	memset(n256, 'a', 256);
	n256[256] = '\0';
	memset(n257, 'a', 257);
	n257[257] = '\0';
	static const struct {
		const char *name, *value;
		int rc;
	} rows[] = {
	    {"campaign", "spring", 0},
	    {"a-b_C9", "x-Y_0", 0},
	    {"n", "", 0},          /* an empty value is allowed */
	    {"", "v", -1},         /* an empty name is not */
	    {"ses:x", "v", -1},    /* ':' is SES's own */
	    {"a b", "v", -1},
	    {"n", "a b", -1},
	    {"n", "a=b", -1},
	    {"n", "ü", -1},
	};
	struct err e;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = msgtags_check(rows[i].name, strlen(rows[i].name), rows[i].value,
				       strlen(rows[i].value), &e);
		if (rc != rows[i].rc)
			fail_msg("row %zu (%s=%s): %d", i, rows[i].name, rows[i].value, rc);
		if (rc != 0) {
			assert_string_equal(e.code, "InvalidParameterValue");
			assert_int_equal(e.http, 400);
		}
	}
	assert_int_equal(msgtags_check(n256, 256, n256, 256, &e), 0);
	assert_int_equal(msgtags_check(n257, 257, "v", 1, &e), -1);
	assert_int_equal(msgtags_check("n", 1, n257, 257, &e), -1);
	(void)state;
}

static void
test_cap(void **state)
{
	struct msgtags *t = calloc(1, sizeof(*t));
	struct err e;
	char name[16];

	for (int i = 0; i < MSGTAGS_MAX - 1; i++) {
		int n = snprintf(name, sizeof(name), "t%d", i);
		assert_int_equal(msgtags_add(t, name, (size_t)n, "v", 1, &e), 0);
	}
	assert_int_equal(t->n, MSGTAGS_MAX - 1);
	assert_int_equal(msgtags_add(t, "last", 4, "v", 1, &e), 0); /* the 50th */
	assert_int_equal(t->n, MSGTAGS_MAX);
	assert_int_equal(msgtags_add(t, "t3", 2, "new", 3, &e), 0); /* a name again: replaced */
	assert_int_equal(t->n, MSGTAGS_MAX);
	assert_string_equal(t->v[3].value, "new");
	assert_int_equal(msgtags_add(t, "more", 4, "v", 1, &e), -1); /* the 51st */
	assert_string_equal(e.code, "InvalidParameterValue");
	free(t);
	(void)state;
}

static void
test_header(void **state)
{
	static const struct {
		const char *h;
		int rc;
		const char *want; /* name=value;… as parsed */
	} rows[] = {
	    {"a=1", 0, "a=1;"},
	    {"a=1, b=2", 0, "a=1;b=2;"},
	    {" a = 1 ,\tb=2 ", 0, "a=1;b=2;"},
	    {"a=1,,b=", 0, "a=1;b=;"},
	    {"", 0, ""},
	    {" , ", 0, ""},
	    {"a=1, a=2", 0, "a=2;"},
	    {"a", -1, NULL},
	    {"a=1, b", -1, NULL},
	    {"=v", -1, NULL},
	    {"a=b=c", -1, NULL},
	    {"ses:configuration-set=x", -1, NULL},
	    {"a=1;b=2", -1, NULL},
	};
	struct err e;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct msgtags *t = calloc(1, sizeof(*t));
		int rc = msgtags_parse_header(rows[i].h, strlen(rows[i].h), t, &e);
		if (rc != rows[i].rc)
			fail_msg("row %zu <%s>: %d", i, rows[i].h, rc);
		if (rc == 0) {
			char got[256] = "";
			for (size_t k = 0; k < t->n; k++) {
				size_t n = strlen(got);
				snprintf(got + n, sizeof(got) - n, "%s=%s;", t->v[k].name,
					 t->v[k].value);
			}
			assert_string_equal(got, rows[i].want);
		} else {
			assert_string_equal(e.code, "InvalidParameterValue");
		}
		free(t);
	}
	/* a length, not a NUL, ends the header */
	struct msgtags *t = calloc(1, sizeof(*t));
	assert_int_equal(msgtags_parse_header("a=1, b", 3, t, &e), 0);
	assert_int_equal(t->n, 1);
	free(t);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

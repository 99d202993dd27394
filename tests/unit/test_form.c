/*
 * test_form.c — x-www-form-urlencoded decoding and Query list helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/form.h"
#include "util/buf.h"

/* ---- decoding: input → expected pairs (sorted by key) or an error ------- */

static const struct {
	const char *in;
	const char *pairs; /* "k=v|k=v" after decoding, sorted; NULL if error */
	const char *code;  /* error code when pairs == NULL */
	int http;
} decode_cases[] = {
	{"", "", NULL, 0},
	{"&&&", "", NULL, 0},
	{"Action=SendEmail&Version=2010-12-01", "Action=SendEmail|Version=2010-12-01", NULL, 0},
	{"b=2&a=1&", "a=1|b=2", NULL, 0},
	{"a=1&&b=2", "a=1|b=2", NULL, 0},
	{"a", "a=", NULL, 0},
	{"a=", "a=", NULL, 0},
	{"a==", "a==", NULL, 0},
	{"a=b=c", "a=b=c", NULL, 0},
	{"k=hello+world", "k=hello world", NULL, 0},
	{"k=a%2Bb%20c", "k=a+b c", NULL, 0},
	{"k=%e2%80%94%C3%A9", "k=\xe2\x80\x94\xc3\xa9", NULL, 0},
	{"k%2Ex=1", "k.x=1", NULL, 0},
	{"k=caf\xc3\xa9", "k=caf\xc3\xa9", NULL, 0},
	{"k=%26%3D", "k=&=", NULL, 0},
	{"k=%0A", "k=\n", NULL, 0},
	{"k=%", NULL, "MalformedQueryString", 404},
	{"k=%4", NULL, "MalformedQueryString", 404},
	{"k=%G0", NULL, "MalformedQueryString", 404},
	{"k=%0g", NULL, "MalformedQueryString", 404},
	{"%zz=1", NULL, "MalformedQueryString", 404},
	{"=1", NULL, "MalformedQueryString", 404},
	{"%=1", NULL, "MalformedQueryString", 404},
	{"k=%00", NULL, "MalformedQueryString", 404},
	{"k=%C3", NULL, "MalformedQueryString", 404},          /* truncated */
	{"k=%C0%AF", NULL, "MalformedQueryString", 404},       /* overlong */
	{"k=%ED%A0%80", NULL, "MalformedQueryString", 404},    /* surrogate */
	{"k=%F4%90%80%80", NULL, "MalformedQueryString", 404}, /* > U+10FFFF */
	{"k=\xff", NULL, "MalformedQueryString", 404},
	{"%FF=1", NULL, "MalformedQueryString", 404},
	{"a=1&a=1", NULL, "InvalidParameterValue", 400},
	{"Action=X&b=1&Action=Y", NULL, "InvalidParameterValue", 400},
	{"a+b=1&a%20b=2", NULL, "InvalidParameterValue", 400},
};

/* One decode case through form_parse (a body) or form_parse_query. A query
 * string holding a literal '+' is refused whatever else it holds; every
 * other input decodes the same either way. */
static void
decode_one(size_t i, bool query)
{
	const char *in = decode_cases[i].in;
	const char *pairs = decode_cases[i].pairs, *code = decode_cases[i].code;
	int http = decode_cases[i].http;
	struct form f;
	struct err e;
	struct buf got;
	int rc;

	print_message("  %s '%s'\n", query ? "query" : "body ", in);
	if (query && strchr(in, '+') != NULL) {
		pairs = NULL;
		code = "MalformedQueryString";
		http = 404;
	}
	err_clear(&e);
	rc = query ? form_parse_query(&f, in, strlen(in), &e) : form_parse(&f, in, strlen(in), &e);
	if (pairs == NULL) {
		assert_int_equal(rc, -1);
		assert_string_equal(e.code, code);
		assert_int_equal(e.http, http);
		assert_int_equal(f.n, 0);
		form_free(&f);
		return;
	}
	assert_int_equal(rc, 0);
	buf_init(&got, 0);
	buf_puts(&got, "");
	for (size_t k = 0; k < f.n; k++) {
		buf_printf(&got, "%s%s=", k ? "|" : "", f.params[k].key);
		buf_append(&got, f.params[k].value, f.params[k].value_len);
	}
	assert_string_equal(got.data, pairs);
	buf_free(&got);
	form_free(&f);
}

static void
test_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		decode_one(i, false);
		decode_one(i, true);
	}
}

/*
 * A query string is what SigV4 signs after its own decoding, in which '+'
 * is a literal plus (canonical %2B). Were '+' a space here, `k=a+b` and
 * `k=a%2Bb` would carry the same signature and mean "a b" and "a+b": the
 * query refuses a literal '+' instead. A body is signed as raw bytes, so
 * there '+' stays a space (what every form encoder writes).
 */
static void
test_query_plus(void **state)
{
	static const char *const refused[] = {
		"k=a+b", "a+b=1", "+", "k=+", "Action=SendEmail&Source=a+b%40x.com",
		"Action=SendEmail&k=%2B+", "Message.Subject.Data=hello+world&Action=SendEmail",
	};
	struct form f;
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		print_message("  query '%s'\n", refused[i]);
		assert_int_equal(form_parse_query(&f, refused[i], strlen(refused[i]), &e), -1);
		assert_string_equal(e.code, "MalformedQueryString");
		assert_int_equal(e.http, 404);
		assert_string_equal(e.message, "The query string contains a literal '+': encode a "
					       "space as %20 and a plus sign as %2B.");
		assert_int_equal(f.n, 0);
		assert_null(f.params);
		form_free(&f);
	}

	/* what SigV4 clients send: %2B is a plus, %20 a space */
	assert_int_equal(form_parse_query(&f, "k=a%2Bb&s=a%20b", 15, &e), 0);
	assert_string_equal(form_get(&f, "k"), "a+b");
	assert_string_equal(form_get(&f, "s"), "a b");
	form_free(&f);
	/* an empty query string is an empty form */
	assert_int_equal(form_parse_query(&f, "", 0, &e), 0);
	assert_int_equal(f.n, 0);
	form_free(&f);
	/* the '+' test looks at `len` bytes only */
	assert_int_equal(form_parse_query(&f, "k=v+w", 3, &e), 0);
	assert_string_equal(form_get(&f, "k"), "v");
	form_free(&f);

	/* a body: '+' is a space, %2B a plus */
	assert_int_equal(form_parse(&f, "k=a+b&p=a%2Bb", 13, &e), 0);
	assert_string_equal(form_get(&f, "k"), "a b");
	assert_string_equal(form_get(&f, "p"), "a+b");
	form_free(&f);
}

static void
test_messages(void **state)
{
	struct form f;
	struct err e;

	(void)state;
	assert_int_equal(form_parse(&f, "Action=A&Action=B", 17, &e), -1);
	assert_string_equal(e.message, "The parameter Action is specified more than once.");
	assert_int_equal(form_parse(&f, "Source=%zz", 10, &e), -1);
	assert_string_equal(e.message, "The query string contains an invalid percent-encoding in "
				       "the value of Source.");
	/* a value may contain a NUL-free binary-looking length: value_len is exact */
	assert_int_equal(form_parse(&f, "a=x%0Ay", 7, &e), 0);
	assert_int_equal(f.params[0].value_len, 3);
	form_free(&f);
	form_free(NULL);
}

static void
test_get(void **state)
{
	static const char body[] = "Action=SendEmail&Version=2010-12-01&Source=a%40b.com&Empty=";
	struct form f;
	struct err e;

	(void)state;
	assert_int_equal(form_parse(&f, body, strlen(body), &e), 0);
	assert_string_equal(form_get(&f, "Action"), "SendEmail");
	assert_string_equal(form_get(&f, "Source"), "a@b.com");
	assert_string_equal(form_get(&f, "Empty"), "");
	assert_null(form_get(&f, "action")); /* names are case-sensitive */
	assert_null(form_get(&f, "Missing"));
	assert_non_null(form_find(&f, "Version"));
	form_free(&f);

	/* an empty form: every lookup is absent */
	assert_int_equal(form_parse(&f, "", 0, &e), 0);
	assert_null(form_get(&f, "Action"));
	form_free(&f);
}

/* ---- caps ----------------------------------------------------------------- */

static void
test_caps(void **state)
{
	struct buf b;
	struct form f;
	struct err e;

	(void)state;
	/* key of 255, 256, 257 bytes (encoded as %41 triples for 257 too) */
	for (size_t len = FORM_MAX_KEY - 1; len <= FORM_MAX_KEY + 1; len++) {
		buf_init(&b, 0);
		for (size_t i = 0; i < len; i++)
			buf_puts(&b, i % 2 ? "%41" : "K");
		buf_puts(&b, "=v");
		int rc = form_parse(&f, b.data, b.len, &e);
		assert_int_equal(rc, len <= FORM_MAX_KEY ? 0 : -1);
		if (rc != 0)
			assert_string_equal(e.code, "MalformedQueryString");
		else
			assert_int_equal(strlen(f.params[0].key), len);
		form_free(&f);
		buf_free(&b);
	}
	/* 9,999 / 10,000 / 10,001 parameters */
	for (size_t n = FORM_MAX_PARAMS - 1; n <= FORM_MAX_PARAMS + 1; n++) {
		buf_init(&b, 0);
		for (size_t i = 0; i < n; i++)
			buf_printf(&b, "%sp%zu=%zu", i ? "&" : "", i, i);
		int rc = form_parse(&f, b.data, b.len, &e);
		assert_int_equal(rc, n <= FORM_MAX_PARAMS ? 0 : -1);
		if (rc == 0) {
			assert_int_equal(f.n, n);
			assert_string_equal(form_get(&f, "p4242"), "4242");
		} else {
			assert_string_equal(e.code, "MalformedQueryString");
		}
		form_free(&f);
		buf_free(&b);
	}
}

/* ---- lists ---------------------------------------------------------------- */

static void
test_lists(void **state)
{
	static const struct {
		const char *body;
		const char *name;
		size_t max;
		int rc;
		bool present;
		const char *values; /* "|"-joined, sorted by N */
		const char *code;
	} cases[] = {
		{"Destinations.member.2=b&Destinations.member.1=a", "Destinations", 50, 0, true, "a|b",
		 NULL},
		{"D.member.10=j&D.member.2=b&D.member.1=a&D.member.9=i", "D", 50, 0, true, "a|b|i|j",
		 NULL},
		{"D.member.3=c&D.member.7=g", "D", 50, 0, true, "c|g", NULL}, /* gaps are fine */
		{"Destinations=", "Destinations", 50, 0, true, "", NULL},    /* empty list */
		{"Other=1", "Destinations", 50, 0, false, "", NULL},
		{"DestinationsX.member.1=a&Destinations.memberX=1", "Destinations", 50, 0, false, "",
		 NULL},
		{"D.member.1=a&D.member.2=b&D.member.3=c", "D", 3, 0, true, "a|b|c", NULL},
		{"D.member.1=a&D.member.2=b&D.member.3=c&D.member.4=d", "D", 3, -1, true, NULL,
		 "InvalidParameterValue"},
		{"D.member.0=a", "D", 50, -1, true, NULL, "InvalidParameterValue"},
		{"D.member.01=a", "D", 50, -1, true, NULL, "InvalidParameterValue"},
		{"D.member.x=a", "D", 50, -1, true, NULL, "InvalidParameterValue"},
		{"D.member.=a", "D", 50, -1, true, NULL, "InvalidParameterValue"},
		{"D.member.1.=a", "D", 50, -1, true, NULL, "InvalidParameterValue"},
		{"D.member.100001=a", "D", 50, -1, true, NULL, "InvalidParameterValue"},
		{"D.member.100000=a", "D", 50, 0, true, "a", NULL},
		{"D.member.99999999999999999999999=a", "D", 50, -1, true, NULL,
		 "InvalidParameterValue"},
		/* structure members are not scalar values */
		{"D.member.1=a&D.member.2.Name=n", "D", 50, 0, true, "a", NULL},
		{"Destination.ToAddresses.member.1=to%40x.com&Destination.CcAddresses.member.1=cc",
		 "Destination.ToAddresses", 50, 0, true, "to@x.com", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct form f;
		struct form_list l;
		struct err e;
		struct buf got;

		print_message("  '%s'\n", cases[i].body);
		assert_int_equal(form_parse(&f, cases[i].body, strlen(cases[i].body), &e), 0);
		int rc = form_list(&f, cases[i].name, cases[i].max, &l, &e);
		assert_int_equal(rc, cases[i].rc);
		if (rc != 0) {
			assert_string_equal(e.code, cases[i].code);
			assert_int_equal(e.http, 400);
			form_free(&f);
			continue;
		}
		assert_int_equal(l.present, cases[i].present);
		buf_init(&got, 0);
		buf_puts(&got, "");
		for (size_t k = 0; k < l.n; k++)
			buf_printf(&got, "%s%s", k ? "|" : "", l.values[k]);
		assert_string_equal(got.data, cases[i].values);
		for (size_t k = 1; k < l.n; k++)
			assert_true(l.index[k - 1] < l.index[k]);
		buf_free(&got);
		form_list_free(&l);
		form_free(&f);
	}
}

static void
test_members(void **state)
{
	static const char body[] =
		"Tags.member.10.Name=ten&Tags.member.10.Value=10&Tags.member.2.Name=two&"
		"Tags.member.2.Value=2&Tags.member.1.Name=one&Tags.member.3.Value=v3";
	struct form f;
	struct form_list l;
	struct err e;

	(void)state;
	assert_int_equal(form_parse(&f, body, strlen(body), &e), 0);
	assert_int_equal(form_members(&f, "Tags", 50, &l, &e), 0);
	assert_true(l.present);
	assert_int_equal(l.n, 4);
	assert_null(l.values);
	assert_int_equal(l.index[0], 1);
	assert_int_equal(l.index[1], 2);
	assert_int_equal(l.index[2], 3);
	assert_int_equal(l.index[3], 10);
	assert_string_equal(form_member_get(&f, "Tags", 1, "Name"), "one");
	assert_null(form_member_get(&f, "Tags", 1, "Value"));
	assert_string_equal(form_member_get(&f, "Tags", 10, "Value"), "10");
	assert_string_equal(form_member_get(&f, "Tags", 3, "Value"), "v3");
	assert_null(form_member_get(&f, "Tags", 4, "Name"));
	form_list_free(&l);

	/* limit on distinct structures, not on fields */
	assert_int_equal(form_members(&f, "Tags", 4, &l, &e), 0);
	form_list_free(&l);
	assert_int_equal(form_members(&f, "Tags", 3, &l, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	form_list_free(&l);

	/* absent list, and the bare-key empty list */
	assert_int_equal(form_members(&f, "Nope", 50, &l, &e), 0);
	assert_false(l.present);
	assert_int_equal(l.n, 0);
	form_list_free(&l);
	form_free(&f);

	assert_int_equal(form_parse(&f, "Tags=", 5, &e), 0);
	assert_int_equal(form_members(&f, "Tags", 50, &l, &e), 0);
	assert_true(l.present);
	assert_int_equal(l.n, 0);
	form_list_free(&l);
	form_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_query_plus),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_members),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_v2.c — table-driven tests for src/api/v2.c: every operation of the
 * generated route table is reachable by its own method and path, literal
 * segments win, members are decoded into the form, the body reader and
 * v1→v2 error codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/form.h"
#include "api/v2.h"
#include "core/quota.h"

/* The pattern with every {Member} replaced by "x". */
static void
instantiate(const char *pattern, char *out, size_t cap)
{
	size_t n = 0;

	for (const char *p = pattern; *p != '\0' && n + 2 < cap; p++) {
		if (*p == '{') {
			p = strchr(p, '}');
			out[n++] = 'x';
			continue;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
}

static void
test_every_route_matches_itself(void **state)
{
	(void)state;
	assert_int_equal(v2_nroutes, 86);
	for (size_t i = 0; i < v2_nroutes; i++) {
		char path[512];
		struct v2_match m;
		instantiate(v2_routes[i].uri, path, sizeof(path));
		assert_int_equal(v2_route_match(v2_routes[i].method, path, &m), 1);
		/* a literal "x" cannot be confused with a member here: the matched
		 * row has the same method and shape */
		assert_string_equal(m.route->method, v2_routes[i].method);
		if (strcmp(m.route->name, v2_routes[i].name) != 0) {
			char again[512];
			instantiate(m.route->uri, again, sizeof(again));
			assert_string_equal(again, path);
		}
	}
}

static void
test_match(void **state)
{
	static const struct {
		const char *method, *path, *op; /* op NULL: no match */
		size_t nparam;
	} rows[] = {
	    {"POST", "/v2/email/outbound-emails", "SendEmail", 0},
	    {"GET", "/v2/email/outbound-emails", NULL, 0},
	    {"GET", "/v2/email/account", "GetAccount", 0},
	    {"GET", "/v2/email/identities", "ListEmailIdentities", 0},
	    {"GET", "/v2/email/identities/a%40b.test", "GetEmailIdentity", 1},
	    {"DELETE", "/v2/email/identities/ex.com", "DeleteEmailIdentity", 1},
	    {"GET", "/v2/email/identities/ex.com/policies", "GetEmailIdentityPolicies", 1},
	    {"POST", "/v2/email/identities/ex.com/policies/p", "CreateEmailIdentityPolicy", 2},
	    {"PUT", "/v2/email/identities/ex.com/policies/p", "UpdateEmailIdentityPolicy", 2},
	    {"GET", "/v2/email/identities/", NULL, 0},          /* empty member */
	    {"GET", "/v2/email/identities//policies", NULL, 0},
	    {"GET", "/v2/email/", NULL, 0},
	    {"GET", "", NULL, 0},
	    {"GET", "/v2/email/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r", NULL, 0},
	    {"PATCH", "/v2/email/account", NULL, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct v2_match m;
		int r = v2_route_match(rows[i].method, rows[i].path, &m);
		assert_int_equal(r, rows[i].op != NULL);
		if (rows[i].op != NULL) {
			assert_string_equal(m.route->name, rows[i].op);
			assert_int_equal(m.nparam, rows[i].nparam);
		} else {
			assert_null(m.route);
		}
	}
}

static void
test_form(void **state)
{
	struct v2_match m;
	struct form f = {0};
	struct err e = {0};

	(void)state;
	assert_int_equal(v2_route_match("DELETE", "/v2/email/identities/a+b%2Bc%40x.test/policies/p1",
					&m),
			 1);
	assert_int_equal(v2_form(&m, "x=1", NULL, NULL, &f, &e), 0);
	assert_string_equal(form_get(&f, "EmailIdentity"), "a+b+c@x.test");
	assert_string_equal(form_get(&f, "PolicyName"), "p1");
	assert_string_equal(form_get(&f, "x"), "1");
	form_free(&f);
	/* a body member naming the IAM resource, encoded here */
	assert_int_equal(v2_route_match("POST", "/v2/email/identities", &m), 1);
	assert_int_equal(v2_form(&m, NULL, "EmailIdentity", "a+b&c=d@x.test", &f, &e), 0);
	assert_string_equal(form_get(&f, "EmailIdentity"), "a+b&c=d@x.test");
	form_free(&f);
	assert_int_equal(v2_route_match("DELETE", "/v2/email/identities/a+b%2Bc%40x.test/policies/p1",
					&m),
			 1);
	/* a repeated query key is a list */
	assert_int_equal(v2_route_match("GET", "/v2/email/suppression/addresses", &m), 1);
	assert_int_equal(v2_form(&m, "Reason=BOUNCE&PageSize=2&Reason=COMPLAINT", NULL, NULL, &f,
				 &e),
			 0);
	assert_null(form_get(&f, "Reason"));
	assert_string_equal(form_get(&f, "Reason.member.1"), "BOUNCE");
	assert_string_equal(form_get(&f, "Reason.member.2"), "COMPLAINT");
	assert_string_equal(form_get(&f, "PageSize"), "2");
	form_free(&f);
	assert_int_equal(v2_route_match("DELETE", "/v2/email/identities/a+b%2Bc%40x.test/policies/p1",
					&m),
			 1);
	/* a member given in the query too */
	assert_int_equal(v2_form(&m, "PolicyName=p2", NULL, NULL, &f, &e), -1);
	form_free(&f);
	/* a bad escape in the path */
	assert_int_equal(v2_route_match("GET", "/v2/email/identities/%zz", &m), 1);
	assert_int_equal(v2_form(&m, NULL, NULL, NULL, &f, &e), -1);
	form_free(&f);
}

static void
test_json(void **state)
{
	json_t *j;
	struct err e = {0};

	(void)state;
	assert_int_equal(v2_json_read("", 0, &j, &e), 0);
	assert_true(json_is_object(j));
	json_decref(j);
	assert_int_equal(v2_json_read("{\"a\":1}", 7, &j, &e), 0);
	json_decref(j);
	assert_int_equal(v2_json_read("[1]", 3, &j, &e), -1);
	assert_string_equal(e.code, "BadRequestException");
	assert_int_equal(v2_json_read("{\"a\":1,\"a\":2}", 13, &j, &e), -1);
	assert_int_equal(v2_json_read("{", 1, &j, &e), -1);
	assert_string_equal(e.code, "SerializationException");
}

static void
test_errors(void **state)
{
	static const struct {
		const char *v1, *msg, *v2;
		int status;
	} rows[] = {
	    {"InvalidParameterValue", "x", "BadRequestException", 400},
	    {"MissingParameter", "x", "BadRequestException", 400},
	    {"AccessDenied", "x", "AccessDeniedException", 403},
	    {"MessageRejected", "x", "MessageRejected", 400},
	    {"AccountSendingPausedException", "x", "SendingPausedException", 400},
	    {"ConfigurationSetDoesNotExist", "x", "NotFoundException", 404},
	    {"Throttling", QUOTA_RATE_MESSAGE, "TooManyRequestsException", 429},
	    {"Throttling", QUOTA_DAILY_MESSAGE, "LimitExceededException", 400},
	    {"NotFoundException", "x", "NotFoundException", 404},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct err e = {0};
		const char *code;
		int status;
		err_set(&e, rows[i].status == 404 ? 404 : 400, rows[i].v1, "%s", rows[i].msg);
		v2_error_of(&e, &code, &status);
		assert_string_equal(code, rows[i].v2);
		assert_int_equal(status, rows[i].status);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_route_matches_itself),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_form),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

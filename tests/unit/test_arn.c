/* test_arn.c — table-driven tests for src/core/arn.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arn.h"

static void
test_identity_arns(void **state)
{
	static const struct {
		const char *in;
		int ok;
		const char *region, *account, *identity; /* or the error message in region */
		enum identity_type type;
	} cases[] = {
		{"arn:aws:ses:us-east-1:123456789012:identity/example.com", 1, "us-east-1",
		 "123456789012", "example.com", IDENTITY_DOMAIN},
		{"arn:aws:ses:eu-west-1:444455556666:identity/Bob@Example.COM", 1, "eu-west-1",
		 "444455556666", "Bob@example.com", IDENTITY_EMAIL},
		{"arn:aws:ses:us-west-2:000000000000:identity/Example.COM", 1, "us-west-2",
		 "000000000000", "example.com", IDENTITY_DOMAIN},
		{"arn:aws-cn:ses:cn-north-1:123456789012:identity/a.example.cn", 1, "cn-north-1",
		 "123456789012", "a.example.cn", IDENTITY_DOMAIN},
		{"arn:aws-us-gov:ses:us-gov-west-1:123456789012:identity/x@y.gov", 1,
		 "us-gov-west-1", "123456789012", "x@y.gov", IDENTITY_EMAIL},
		{"arn:aws:ses:us-east-1:123456789012:identity/münchen.de", 1, "us-east-1",
		 "123456789012", "xn--mnchen-3ya.de", IDENTITY_DOMAIN},
		{"arn:aws:ses:us-east-1:123456789012:identity/\"a:b\"@x.com", 1, "us-east-1",
		 "123456789012", "\"a:b\"@x.com", IDENTITY_EMAIL},
		/* errors */
		{"", 0, "Invalid ARN <>.", NULL, NULL, 0},
		{"example.com", 0, "Invalid ARN <example.com>.", NULL, NULL, 0},
		{"arn:aws:ses:us-east-1:123456789012", 0,
		 "Invalid ARN <arn:aws:ses:us-east-1:123456789012>.", NULL, NULL, 0},
		{"arn:aws:sns:us-east-1:123456789012:identity/example.com", 0,
		 "Invalid ARN <arn:aws:sns:us-east-1:123456789012:identity/example.com>. Not an SES "
		 "identity ARN.", NULL, NULL, 0},
		{"arn:aws:ses:us-east-1:123456789012:configuration-set/x", 0,
		 "Invalid ARN <arn:aws:ses:us-east-1:123456789012:configuration-set/x>. Not an SES "
		 "identity ARN.", NULL, NULL, 0},
		{"arn:aws:ses:us-east-1:123456789012:identity/", 0,
		 "Invalid ARN <arn:aws:ses:us-east-1:123456789012:identity/>. Not an SES identity "
		 "ARN.", NULL, NULL, 0},
		{"arn:aws:ses:*:123456789012:identity/example.com", 0,
		 "Invalid ARN <arn:aws:ses:*:123456789012:identity/example.com>. Global endpoints "
		 "(region '*') are not supported.", NULL, NULL, 0},
		{"arn:aws:ses::123456789012:identity/example.com", 0,
		 "Invalid ARN <arn:aws:ses::123456789012:identity/example.com>.", NULL, NULL, 0},
		{"arn:aws:ses:US-EAST-1:123456789012:identity/example.com", 0,
		 "Invalid ARN <arn:aws:ses:US-EAST-1:123456789012:identity/example.com>.", NULL, NULL, 0},
		{"arn:aws:ses:us-east-1:12345678901:identity/example.com", 0,
		 "Invalid ARN <arn:aws:ses:us-east-1:12345678901:identity/example.com>.", NULL, NULL, 0},
		{"arn:aws:ses:us-east-1:1234567890123:identity/example.com", 0,
		 "Invalid ARN <arn:aws:ses:us-east-1:1234567890123:identity/example.com>.", NULL, NULL, 0},
		{"arn:aws:ses:us-east-1:12345678901a:identity/example.com", 0,
		 "Invalid ARN <arn:aws:ses:us-east-1:12345678901a:identity/example.com>.", NULL, NULL, 0},
		{"arn:xyz:ses:us-east-1:123456789012:identity/example.com", 0,
		 "Invalid ARN <arn:xyz:ses:us-east-1:123456789012:identity/example.com>.", NULL, NULL, 0},
		{"arn:aws:ses:us-east-1:123456789012:identity/exa_mple.com", 0,
		 "Invalid ARN <arn:aws:ses:us-east-1:123456789012:identity/exa_mple.com>.", NULL, NULL, 0},
		{"arn:aws:ses:us-east-1:123456789012:identity/com", 0,
		 "Invalid ARN <arn:aws:ses:us-east-1:123456789012:identity/com>.", NULL, NULL, 0},
		{"arn:aws:ses:us-east-1:123456789012:identity/a b@x.com", 0,
		 "Invalid ARN <arn:aws:ses:us-east-1:123456789012:identity/a b@x.com>.", NULL, NULL, 0},
		{"arn:aws:ses:us-east-1:123456789012:identity/a@x.com\n", 0,
		 "Invalid ARN <arn:aws:ses:us-east-1:123456789012:identity/a@x.com?>.", NULL, NULL, 0},
		{"ARN:aws:ses:us-east-1:123456789012:identity/example.com", 0,
		 "Invalid ARN <ARN:aws:ses:us-east-1:123456789012:identity/example.com>.", NULL, NULL, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arn_identity a;
		struct err e;
		err_clear(&e);
		int rc = arn_identity_parse(cases[i].in, strlen(cases[i].in), &a, &e);
		if (cases[i].ok) {
			if (rc != 0)
				fail_msg("'%s': %s", cases[i].in, e.message);
			assert_string_equal(a.region, cases[i].region);
			assert_string_equal(a.account, cases[i].account);
			assert_string_equal(a.identity, cases[i].identity);
			assert_int_equal(a.type, cases[i].type);
		} else {
			if (rc != -1)
				fail_msg("'%s' accepted", cases[i].in);
			assert_string_equal(e.code, "InvalidParameterValue");
			assert_int_equal(e.http, 400);
			if (strcmp(e.message, cases[i].region) != 0)
				fail_msg("'%s': '%s', want '%s'", cases[i].in, e.message, cases[i].region);
		}
	}
}

static void
test_identity_arn_limits(void **state)
{
	struct arn_identity a;
	struct err e;
	char *s = malloc(ARN_MAX + 2);
	(void)state;

	/* an over-long ARN is refused early and the message is truncated */
	memset(s, 'x', ARN_MAX + 1);
	memcpy(s, "arn:aws:ses:us-east-1:123456789012:identity/", 44);
	assert_int_equal(arn_identity_parse(s, ARN_MAX + 1, &a, &e), -1);
	assert_non_null(strstr(e.message, "...>. ARN too long."));
	assert_true(strlen(e.message) < 300);
	/* region length 31 ok, 32 refused */
	char buf[200];
	char reg[40];
	memset(reg, 'r', 32);
	reg[31] = '\0';
	snprintf(buf, sizeof(buf), "arn:aws:ses:%s:123456789012:identity/example.com", reg);
	assert_int_equal(arn_identity_parse(buf, strlen(buf), &a, &e), 0);
	reg[31] = 'r';
	reg[32] = '\0';
	snprintf(buf, sizeof(buf), "arn:aws:ses:%s:123456789012:identity/example.com", reg);
	assert_int_equal(arn_identity_parse(buf, strlen(buf), &a, &e), -1);
	/* n is honoured */
	const char *ok = "arn:aws:ses:us-east-1:123456789012:identity/example.comXYZ";
	assert_int_equal(arn_identity_parse(ok, strlen(ok) - 3, &a, &e), 0);
	assert_string_equal(a.identity, "example.com");
	/* embedded NUL */
	assert_int_equal(arn_identity_parse("arn:aws:ses:us-east-1:123456789012:identity/a\0b.com",
					    52, &a, &e),
			 -1);
	free(s);
}

static void
test_identity_format(void **state)
{
	char out[300];
	struct arn_identity a;
	(void)state;

	assert_int_equal(arn_identity_format("us-east-1", "123456789012", "example.com", out,
					     sizeof(out)),
			 0);
	assert_string_equal(out, "arn:aws:ses:us-east-1:123456789012:identity/example.com");
	assert_int_equal(arn_identity_parse(out, strlen(out), &a, NULL), 0);
	assert_string_equal(a.identity, "example.com");
	/* exact fit and one byte short */
	size_t need = strlen(out) + 1;
	assert_int_equal(
		arn_identity_format("us-east-1", "123456789012", "example.com", out, need), 0);
	assert_int_equal(
		arn_identity_format("us-east-1", "123456789012", "example.com", out, need - 1), -1);
	assert_string_equal(out, "");
	assert_int_equal(arn_root_format("111122223333", out, sizeof(out)), 0);
	assert_string_equal(out, "arn:aws:iam::111122223333:root");
	assert_int_equal(arn_user_format("111122223333", NULL, "jane", out, sizeof(out)), 0);
	assert_string_equal(out, "arn:aws:iam::111122223333:user/jane");
	assert_int_equal(arn_user_format("111122223333", "/div/", "jane", out, sizeof(out)), 0);
	assert_string_equal(out, "arn:aws:iam::111122223333:user/div/jane");
	assert_int_equal(arn_user_format("111122223333", "", "jane", out, 10), -1);
}

static void
test_principals(void **state)
{
	static const struct {
		const char *in;
		int ok;
		enum arn_principal_kind kind;
		const char *account, *path, *name;
	} cases[] = {
		{"arn:aws:iam::123456789012:root", 1, ARN_PRINCIPAL_ROOT, "123456789012", "", ""},
		{"arn:aws:iam::123456789012:user/Jane", 1, ARN_PRINCIPAL_USER, "123456789012", "/",
		 "Jane"},
		{"arn:aws:iam::123456789012:user/division/team/Jane", 1, ARN_PRINCIPAL_USER,
		 "123456789012", "/division/team/", "Jane"},
		{"arn:aws:iam::123456789012:user/a+b=c,d.e@f_g-h", 1, ARN_PRINCIPAL_USER,
		 "123456789012", "/", "a+b=c,d.e@f_g-h"},
		{"arn:aws:iam::123456789012:role/Sender", 1, ARN_PRINCIPAL_ROLE, "123456789012", "/",
		 "Sender"},
		{"arn:aws-cn:iam::123456789012:root", 1, ARN_PRINCIPAL_ROOT, "123456789012", "", ""},
		{"arn:aws:iam::123456789012:user/", 0, 0, 0, 0, 0},
		{"arn:aws:iam::123456789012:user/dir/", 0, 0, 0, 0, 0},
		{"arn:aws:iam::123456789012:user/a//b", 0, 0, 0, 0, 0},
		{"arn:aws:iam::123456789012:user/bad name", 0, 0, 0, 0, 0},
		{"arn:aws:iam::123456789012:user/x!y", 0, 0, 0, 0, 0},
		{"arn:aws:iam::123456789012:group/x", 0, 0, 0, 0, 0},
		{"arn:aws:iam::123456789012:Root", 0, 0, 0, 0, 0},
		{"arn:aws:iam:us-east-1:123456789012:root", 0, 0, 0, 0, 0},
		{"arn:aws:sts::123456789012:root", 0, 0, 0, 0, 0},
		{"arn:aws:iam::12345678901:root", 0, 0, 0, 0, 0},
		{"123456789012", 0, 0, 0, 0, 0},
		{"*", 0, 0, 0, 0, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arn_principal p;
		struct err e;
		err_clear(&e);
		int rc = arn_principal_parse(cases[i].in, strlen(cases[i].in), &p, &e);
		if (cases[i].ok) {
			if (rc != 0)
				fail_msg("'%s': %s", cases[i].in, e.message);
			assert_int_equal(p.kind, cases[i].kind);
			assert_string_equal(p.account, cases[i].account);
			assert_string_equal(p.path, cases[i].path);
			assert_string_equal(p.name, cases[i].name);
		} else {
			if (rc != -1)
				fail_msg("'%s' accepted", cases[i].in);
			assert_string_equal(e.code, "InvalidParameterValue");
			assert_true(strncmp(e.message, "Invalid ARN <", 13) == 0);
		}
	}
	/* name length 64 ok, 65 refused */
	char buf[200], nm[70];
	struct arn_principal p;
	memset(nm, 'n', 65);
	nm[64] = '\0';
	snprintf(buf, sizeof(buf), "arn:aws:iam::123456789012:user/%s", nm);
	assert_int_equal(arn_principal_parse(buf, strlen(buf), &p, NULL), 0);
	nm[64] = 'n';
	nm[65] = '\0';
	snprintf(buf, sizeof(buf), "arn:aws:iam::123456789012:user/%s", nm);
	assert_int_equal(arn_principal_parse(buf, strlen(buf), &p, NULL), -1);
}

static void
test_split(void **state)
{
	struct arn_parts p;
	const char *s = "arn:aws:ses:us-east-1:123:identity/a:b";
	(void)state;

	assert_int_equal(arn_split(s, strlen(s), &p), 0);
	const char *want[6] = {"arn", "aws", "ses", "us-east-1", "123", "identity/a:b"};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(p.len[i], strlen(want[i]));
		assert_memory_equal(p.part[i], want[i], p.len[i]);
	}
	assert_int_equal(arn_split("arn:aws:iam::1:", 15, &p), 0);
	assert_int_equal(p.len[5], 0);
	assert_int_equal(arn_split("arn:aws:iam::1", 14, &p), -1);
	assert_int_equal(arn_split("arx:a:b:c:d:e", 13, &p), -1);
	assert_true(arn_is_account_id("123456789012", 12));
	assert_false(arn_is_account_id("12345678901", 11));
	assert_false(arn_is_account_id("12345678901x", 12));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_arns), cmocka_unit_test(test_identity_arn_limits),
		cmocka_unit_test(test_identity_format), cmocka_unit_test(test_principals),
		cmocka_unit_test(test_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

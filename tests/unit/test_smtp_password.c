/*
 * test_smtp_password.c — src/auth/smtp_password.c: SES SMTP password
 * derivation (spec §5.2 vectors) and smtp_password_check, table-driven.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/smtp_password.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static const struct {
	const char *region;
	const char *want;
} v4[] = {
	{"us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"},
	{"us-west-2", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd"},
	{"eu-west-1", "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"},
};

#define V2 "An60U4ZD3sd4fg+FvXUjayOipTt8LO4rUUmhpdX6ctDy"

static void
test_derive(void **state)
{
	char out[SMTP_PASSWORD_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		smtp_password_v4(SECRET, v4[i].region, out);
		assert_string_equal(out, v4[i].want);
		assert_int_equal(strlen(out), 44);
	}
	smtp_password_v2(SECRET, out);
	assert_string_equal(out, V2);
}

static void
test_check(void **state)
{
	static const struct {
		const char *secret;
		const char *region;
		const char *password;
		bool ok;
	} cases[] = {
		{SECRET, "us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9", true},
		{SECRET, "us-west-2", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd", true},
		/* v4 password of another region */
		{SECRET, "us-west-2", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9", false},
		/* v2 works in every region */
		{SECRET, "us-east-1", V2, true},
		{SECRET, "eu-west-1", V2, true},
		/* another secret */
		{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEz", "us-east-1",
		 "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9", false},
		/* one character changed */
		{SECRET, "us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL8", false},
		/* the v4 MAC under version byte 0x02, and under 0x00 */
		{SECRET, "us-east-1", "ArBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9", false},
		{SECRET, "us-east-1", "ALBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9", false},
		/* unknown version 0x03 */
		{SECRET, "us-east-1", "A7BM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9", false},
		/* truncated, extended, not base64, empty, the secret itself */
		{SECRET, "us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL", false},
		{SECRET, "us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9AAAA", false},
		{SECRET, "us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL!", false},
		{SECRET, "us-east-1", "", false},
		{SECRET, "us-east-1", SECRET, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("  case %zu\n", i);
		assert_int_equal(smtp_password_check(cases[i].secret, cases[i].region,
						     cases[i].password),
				 cases[i].ok);
	}
	assert_false(smtp_password_check(SECRET, "us-east-1", NULL));
	assert_false(smtp_password_check(NULL, "us-east-1", V2));
}

/* The input cap: 128 characters is examined, 129 is refused unread. The
 * valid password padded with base64-skipped blanks shows the cap itself
 * decides. */
static void
test_cap(void **state)
{
	char pw[SMTP_PASSWORD_MAX_INPUT + 2];

	(void)state;
	for (size_t len = SMTP_PASSWORD_MAX_INPUT - 1; len <= SMTP_PASSWORD_MAX_INPUT + 1; len++) {
		memset(pw, ' ', len);
		memcpy(pw, V2, 44);
		pw[len] = '\0';
		assert_int_equal(smtp_password_check(SECRET, "us-east-1", pw),
				 len <= SMTP_PASSWORD_MAX_INPUT);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

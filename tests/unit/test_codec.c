/* test_codec.c — base64, hex and constant-time comparison (src/util/codec.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/codec.h"

struct b64_case {
	const char *in;
	const char *out; /* NULL: invalid */
	size_t out_len;
};

static const struct b64_case cases[] = {
	{"", "", 0},
	{"Zg==", "f", 1},
	{"Zm8=", "fo", 2},
	{"Zm9v", "foo", 3},
	{"Zm9vYg==", "foob", 4},
	{"Zm9vYmE=", "fooba", 5},
	{"Zm9vYmFy", "foobar", 6},
	{"Zm9v\r\nYmFy", "foobar", 6},   /* line breaks skipped (MIME style) */
	{" Zm9 vYm Fy ", "foobar", 6},    /* blanks anywhere */
	{"Zm9vYg", "foob", 4},            /* padding optional */
	{"Zm9vYmE", "fooba", 5},
	{"AAEC/w==", "\x00\x01\x02\xff", 4},
	{"+/+/", "\xfb\xff\xbf", 3},
	{"Zm9vY", NULL, 0},               /* a lone sextet is no byte */
	{"Zg=", NULL, 0},                 /* padding must complete the quantum */
	{"Zg===", NULL, 0},
	{"Zm9v=", NULL, 0},
	{"Zg==Zg==", NULL, 0},            /* data after padding */
	{"Zm9v!mFy", NULL, 0},            /* outside the alphabet */
	{"Zm9v-_Fy", NULL, 0},            /* base64url is not base64 */
	{"Zm9v\x80YmFy", NULL, 0},
	{"====", NULL, 0},
};

static void
test_base64_decode_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 99;
		uint8_t *p = base64_decode(cases[i].in, strlen(cases[i].in), &n);
		if (cases[i].out == NULL) {
			if (p != NULL)
				fail_msg("case %zu '%s' should be invalid", i, cases[i].in);
			continue;
		}
		if (p == NULL)
			fail_msg("case %zu '%s' should decode", i, cases[i].in);
		assert_int_equal(n, cases[i].out_len);
		assert_memory_equal(p, cases[i].out, n);
		free(p);
	}
}

static void
test_base64_round_trip(void **state)
{
	uint8_t in[300];
	(void)state;
	for (size_t n = 0; n < sizeof(in); n++) {
		random_bytes(in, n);
		char *enc = base64_encode(in, n);
		assert_int_equal(strlen(enc), 4 * ((n + 2) / 3));
		size_t m = 0;
		uint8_t *dec = base64_decode(enc, strlen(enc), &m);
		assert_non_null(dec);
		assert_int_equal(m, n);
		assert_memory_equal(dec, in, n);
		free(dec);
		free(enc);
	}
}

static void
test_hex_and_ct_equal(void **state)
{
	char out[9];
	(void)state;
	hex_encode((const uint8_t *)"\x00\x9f\xa0\xff", 4, out);
	assert_string_equal(out, "009fa0ff");
	assert_true(ct_equal("abc", 3, "abc", 3));
	assert_false(ct_equal("abc", 3, "abd", 3));
	assert_false(ct_equal("abc", 3, "abcd", 4));
	assert_true(ct_equal("", 0, "", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_decode_table),
		cmocka_unit_test(test_base64_round_trip),
		cmocka_unit_test(test_hex_and_ct_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_utf8.c — the strict UTF-8 decoder shared by every parser (util/utf8.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/utf8.h"

static const struct {
	const char *s;
	size_t len; /* of the first code point; 0 = invalid */
	uint32_t cp;
} rows[] = {
	{"A", 1, 0x41},
	{"\xc2\x80", 2, 0x80},
	{"\xc3\xa9", 2, 0xe9},
	{"\xdf\xbf", 2, 0x7ff},
	{"\xe0\xa0\x80", 3, 0x800},
	{"\xe2\x82\xac", 3, 0x20ac},
	{"\xed\x9f\xbf", 3, 0xd7ff},
	{"\xee\x80\x80", 3, 0xe000},
	{"\xef\xbf\xbf", 3, 0xffff},
	{"\xf0\x90\x80\x80", 4, 0x10000},
	{"\xf4\x8f\xbf\xbf", 4, 0x10ffff},
	{"\xc0\xaf", 0, 0},         /* overlong '/' */
	{"\xc1\xbf", 0, 0},         /* overlong */
	{"\xe0\x80\xaf", 0, 0},     /* overlong */
	{"\xf0\x80\x80\xaf", 0, 0}, /* overlong */
	{"\xed\xa0\x80", 0, 0},     /* surrogate U+D800 */
	{"\xed\xbf\xbf", 0, 0},     /* surrogate U+DFFF */
	{"\xf4\x90\x80\x80", 0, 0}, /* past U+10FFFF */
	{"\xf5\x80\x80\x80", 0, 0},
	{"\xff", 0, 0},
	{"\x80", 0, 0},             /* lone continuation */
	{"\xc3", 0, 0},             /* truncated */
	{"\xe2\x82", 0, 0},         /* truncated */
	{"\xe2\x28\xa1", 0, 0},     /* bad continuation */
};

static void
test_decode_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint32_t cp = 0xdeadbeef;
		size_t n = utf8_decode((const unsigned char *)rows[i].s, strlen(rows[i].s), &cp);
		if (n != rows[i].len)
			fail_msg("row %zu: length %zu, want %zu", i, n, rows[i].len);
		if (n != 0)
			assert_int_equal(cp, rows[i].cp);
		assert_int_equal(utf8_valid(rows[i].s, strlen(rows[i].s)), rows[i].len != 0);
	}
}

static void
test_encode_round_trip(void **state)
{
	(void)state;
	for (uint32_t cp = 0; cp <= 0x10ffff; cp += (cp < 0x1000 ? 1 : 97)) {
		char b[4];
		uint32_t back;
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		size_t n = utf8_encode(cp, b);
		assert_int_equal(utf8_decode((const unsigned char *)b, n, &back), n);
		assert_int_equal(back, cp);
	}
}

static void
test_valid_strings(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	assert_true(utf8_valid("a\0b", 3)); /* NUL is U+0000; callers refuse it themselves */
	assert_false(utf8_valid("ok\xc3", 3));
	assert_false(utf8_valid("\xe2\x82\xac\xe2", 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_encode_round_trip),
		cmocka_unit_test(test_valid_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

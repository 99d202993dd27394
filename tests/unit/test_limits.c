/* test_limits.c — per-account limit state (src/send/limits.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "send/limits.h"

/* limits.c: pending recipients join the window count; a failed send
 * gives its rate tokens back. */
static void
test_limits(void **state)
{
	struct limits *l = limits_new();
	struct err e;

	assert_int_equal(limits_charge(l, "111111111111", 1.0, 3, 0, 0, 2, &e), 0);
	assert_int_equal(limits_pending(l, "111111111111"), 2);
	/* 0 committed + 2 pending + 2 > 3 */
	assert_int_equal(limits_charge(l, "111111111111", 100.0, 3, 0, 0, 2, &e), -1);
	assert_string_equal(e.message, "Daily message quota exceeded.");
	limits_settle(l, "111111111111", 1.0, 2, false);
	assert_int_equal(limits_pending(l, "111111111111"), 0);
	/* refunded: 1 - 2 + 2 = 1 token again */
	assert_int_equal(limits_charge(l, "111111111111", 1.0, 3, 0, 1, 1, &e), 0);
	assert_int_equal(limits_charge(l, "111111111111", 1.0, 3, 0, 2, 1, &e), -1);
	assert_string_equal(e.message, "Maximum sending rate exceeded.");
	/* accounts are independent; many accounts grow the table */
	for (int i = 0; i < 500; i++) {
		char id[13];
		snprintf(id, sizeof(id), "%012d", i);
		assert_int_equal(limits_charge(l, id, 1.0, -1, 0, 0, 1, &e), 0);
	}
	for (int i = 0; i < 500; i++) {
		char id[13];
		snprintf(id, sizeof(id), "%012d", i);
		assert_int_equal(limits_pending(l, id), 1);
	}
	limits_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

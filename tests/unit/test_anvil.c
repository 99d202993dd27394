/*
 * test_anvil.c — bounded leaky buckets (src/util/anvil.c): levels add and
 * drain linearly, reset forgets, long keys are their first 255 bytes, and a
 * full table evicts its lowest level, never a hot key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/anvil.h"

static void
test_add_and_drain(void **state)
{
	struct anvil *a = anvil_new(8, 1000);

	(void)state;
	assert_true(anvil_level(a, "x", 0) == 0);
	assert_true(anvil_add(a, "x", 0, 1) == 1);
	assert_true(anvil_add(a, "x", 0, 2) == 3);
	assert_true(anvil_level(a, "x", 1500) == 1.5);
	assert_true(anvil_level(a, "x", 10000) == 0);
	assert_true(anvil_add(a, "x", 10000, 1) == 1);
	assert_true(anvil_level(a, "y", 10000) == 0);
	anvil_reset(a, "x");
	assert_true(anvil_level(a, "x", 10000) == 0);
	anvil_free(a);
}

static void
test_long_keys(void **state)
{
	struct anvil *a = anvil_new(4, 1000);
	char k1[400], k2[400];

	(void)state;
	memset(k1, 'k', sizeof(k1) - 1);
	k1[sizeof(k1) - 1] = '\0';
	memcpy(k2, k1, sizeof(k1));
	k2[300] = 'Z'; /* differs past 255 bytes: the same key */
	anvil_add(a, k1, 0, 1);
	assert_true(anvil_add(a, k2, 0, 1) == 2);
	anvil_free(a);
}

static void
test_eviction_spares_the_hot(void **state)
{
	struct anvil *a = anvil_new(3, 1000);
	char k[16];

	(void)state;
	anvil_add(a, "hot", 0, 50);
	for (int i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "fresh%d", i);
		anvil_add(a, k, 0, 1);
	}
	assert_true(anvil_level(a, "hot", 0) == 50);
	assert_true(anvil_level(a, "fresh99", 0) == 1);
	anvil_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_and_drain),
	    cmocka_unit_test(test_long_keys),
	    cmocka_unit_test(test_eviction_spares_the_hot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_reputation.c — the pause rule (core/reputation.h) from a table,
 * with its edges: below the minimum volume, at the rate exactly, just under. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/reputation.h"

static void
test_table(void **state)
{
	(void)state;
	static const struct {
		int64_t volume, bounces, complaints;
		int want;
	} rows[] = {
		{0, 0, 0, 0},        /* nothing sent */
		{99, 99, 0, 0},      /* below the minimum volume, whatever the rate */
		{100, 10, 0, 1},     /* 0.10 exactly */
		{100, 9, 0, 0},      /* 0.09 */
		{1000, 99, 0, 0},
		{1000, 100, 0, 1},
		{1000, 0, 5, 1},     /* complaint rate 0.005 exactly */
		{1000, 0, 4, 0},
		{200, 0, 0, 0},
		{100, 100, 100, 1},
	};
	const struct reputation_limits l = {.bounce_rate = 0.10, .complaint_rate = 0.005,
					    .min_volume = 100};
	char why[128];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct reputation r = {.volume = rows[i].volume, .bounces = rows[i].bounces,
				       .complaints = rows[i].complaints};
		why[0] = '\0';
		reputation_rates(&r);
		assert_int_equal(reputation_should_pause(&r, &l, why, sizeof(why)), rows[i].want);
		if (rows[i].want)
			assert_true(why[0] != '\0');
	}
}

static void
test_rates(void **state)
{
	(void)state;
	struct reputation r = {.volume = 8, .bounces = 2, .complaints = 1};

	reputation_rates(&r);
	assert_true(r.bounce_rate == 0.25);
	assert_true(r.complaint_rate == 0.125);
	r = (struct reputation){0};
	reputation_rates(&r);
	assert_true(r.bounce_rate == 0 && r.complaint_rate == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_rates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

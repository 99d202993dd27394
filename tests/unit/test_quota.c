/* test_quota.c — the token bucket and 24-hour window of src/core/quota.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/quota.h"

#define SEC 1000000LL
#define MS 1000LL

/* One step of a scenario: at time t (µs) send to n recipients; expect ok. */
struct step {
	int64_t t;
	size_t n;
	int ok;
};

static void
run_steps(double rate, const struct step *s, size_t count)
{
	struct quota_bucket b = {0};

	for (size_t i = 0; i < count; i++) {
		struct err e = {0};
		int rc = quota_rate_take(&b, rate, s[i].t, s[i].n, &e);
		if ((rc == 0) != s[i].ok)
			fail_msg("rate %.2f step %zu (t=%lld n=%zu): got %s, want %s", rate, i,
				 (long long)s[i].t, s[i].n, rc == 0 ? "accept" : "refuse",
				 s[i].ok ? "accept" : "refuse");
		if (rc != 0) {
			assert_string_equal(e.code, "Throttling");
			assert_string_equal(e.message, "Maximum sending rate exceeded.");
			assert_int_equal(e.http, 400);
			assert_int_equal(e.smtp, 454);
			assert_true(e.temporary);
		}
	}
}

/* DESIGN.md: with a rate of 1, a burst of 5 sends gets 4 refusals. */
static void
test_burst_rate_one(void **state)
{
	static const struct step s[] = {
		{0, 1, 1}, {1 * MS, 1, 0}, {2 * MS, 1, 0}, {3 * MS, 1, 0}, {4 * MS, 1, 0},
	};
	run_steps(1.0, s, sizeof(s) / sizeof(s[0]));
}

static void
test_refill(void **state)
{
	static const struct step s[] = {
		{0, 1, 1},              /* full bucket: 1 token */
		{500 * MS, 1, 0},       /* half refilled */
		{999 * MS, 1, 0},       /* not quite */
		{1000 * MS, 1, 1},      /* exactly one second later: one token */
		{1000 * MS + 1, 1, 0},  /* spent again */
		{10 * SEC, 1, 1},       /* long idle: capped at one second's worth */
		{10 * SEC + 1, 1, 0},
	};
	run_steps(1.0, s, sizeof(s) / sizeof(s[0]));
}

/* A send to many recipients is accepted if any budget remains, then owes. */
static void
test_debt(void **state)
{
	static const struct step s[] = {
		{0, 5, 1},              /* 1 token, takes 5: -4 */
		{1 * SEC, 1, 0},        /* -3 */
		{4 * SEC, 1, 0},        /* 0: still no whole token */
		{5 * SEC, 1, 1},        /* 1: accepted, back to 0 */
		{5 * SEC + 100, 1, 0},
	};
	run_steps(1.0, s, sizeof(s) / sizeof(s[0]));
}

/* Default rate 14: a burst of 14 passes, the 15th is refused. */
static void
test_rate_fourteen(void **state)
{
	struct quota_bucket b = {0};
	struct err e;
	int accepted = 0;

	for (int i = 0; i < 20; i++)
		if (quota_rate_take(&b, 14.0, (int64_t)i, 1, &e) == 0)
			accepted++;
	assert_int_equal(accepted, 14);
	/* 1/14 s later one more token */
	assert_int_equal(quota_rate_take(&b, 14.0, 20 + SEC / 14 + 1, 1, &e), 0);
	assert_int_equal(quota_rate_take(&b, 14.0, 20 + SEC / 14 + 2, 1, &e), -1);
}

/* Limits of the admission rule: 50 recipients at rate 14 with a full bucket. */
static void
test_edges(void **state)
{
	static const struct step half[] = {
		/* rate 0.5: the bucket still holds one token, refills in 2 s */
		{0, 1, 1}, {1 * SEC, 1, 0}, {2 * SEC, 1, 1}, {3 * SEC, 1, 0},
	};
	struct quota_bucket b = {0};
	struct err e;

	run_steps(0.5, half, sizeof(half) / sizeof(half[0]));
	/* 14 - 50 = -36; at 2 s it is -8; at 2 s + 9/14 s it holds 1 again */
	assert_int_equal(quota_rate_take(&b, 14.0, 0, 50, &e), 0);
	assert_int_equal(quota_rate_take(&b, 14.0, 2 * SEC, 1, &e), -1);
	assert_int_equal(quota_rate_take(&b, 14.0, 2 * SEC + 9 * SEC / 14 - 10, 1, &e), -1);
	assert_int_equal(quota_rate_take(&b, 14.0, 2 * SEC + 9 * SEC / 14 + 1, 1, &e), 0);
}

static void
test_zero_negative_and_clock(void **state)
{
	struct quota_bucket b = {0};
	struct err e;

	/* rate 0 refuses everything; a negative rate is unlimited */
	assert_int_equal(quota_rate_take(&b, 0.0, 0, 1, &e), -1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(quota_rate_take(&b, -1.0, 0, 50, &e), 0);
	/* a clock that goes backwards refills nothing */
	memset(&b, 0, sizeof(b));
	assert_int_equal(quota_rate_take(&b, 1.0, 10 * SEC, 1, &e), 0);
	assert_int_equal(quota_rate_take(&b, 1.0, 5 * SEC, 1, &e), -1);
	assert_int_equal(quota_rate_take(&b, 1.0, 10 * SEC + 999 * MS, 1, &e), -1);
	assert_int_equal(quota_rate_take(&b, 1.0, 11 * SEC, 1, &e), 0);
}

static void
test_refund(void **state)
{
	struct quota_bucket b = {0};
	struct err e;

	assert_int_equal(quota_rate_take(&b, 1.0, 0, 1, &e), 0);
	assert_int_equal(quota_rate_take(&b, 1.0, 1, 1, &e), -1);
	quota_rate_refund(&b, 1.0, 1); /* the send failed after it was charged */
	assert_int_equal(quota_rate_take(&b, 1.0, 2, 1, &e), 0);
	/* a refund never overfills */
	quota_rate_refund(&b, 1.0, 100);
	assert_int_equal(quota_rate_take(&b, 1.0, 3, 1, &e), 0);
	assert_int_equal(quota_rate_take(&b, 1.0, 4, 1, &e), -1);
	/* refunding a bucket that never started is a no-op */
	memset(&b, 0, sizeof(b));
	quota_rate_refund(&b, 1.0, 3);
	assert_false(b.started);
}

static void
test_daily(void **state)
{
	static const struct {
		int64_t max, sent;
		size_t n;
		int ok;
	} c[] = {
		{200, 0, 1, 1},
		{200, 199, 1, 1},   /* limit - 1 + 1 = limit */
		{200, 200, 1, 0},   /* limit + 1 */
		{200, 199, 2, 0},   /* sent + n > max refuses even with budget left */
		{200, 150, 50, 1},
		{200, 151, 50, 0},
		{-1, 1000000, 50, 1}, /* unlimited */
		{-5, 0, 1, 1},
		{0, 0, 1, 0},
		{0, 0, 0, 1},
		{50000, 49950, 50, 1},
		{50000, 49951, 50, 0},
		{INT64_MAX, INT64_MAX - 1, 1, 1},
		{200, -3, 1, 1},    /* a negative count is treated as 0 */
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct err e = {0};
		int rc = quota_daily_check(c[i].max, c[i].sent, c[i].n, &e);
		if ((rc == 0) != c[i].ok)
			fail_msg("case %zu: max %lld sent %lld n %zu", i, (long long)c[i].max,
				 (long long)c[i].sent, c[i].n);
		if (rc != 0) {
			assert_string_equal(e.code, "Throttling");
			assert_string_equal(e.message, "Daily message quota exceeded.");
			assert_int_equal(e.http, 400);
		}
	}
	assert_int_equal(quota_daily_check(1, 5, 1, NULL), -1); /* NULL err is fine */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_rate_one),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_debt),
		cmocka_unit_test(test_rate_fourteen),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_zero_negative_and_clock),
		cmocka_unit_test(test_refund),
		cmocka_unit_test(test_daily),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

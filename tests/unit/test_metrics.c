/*
 * test_metrics.c — util/metrics: series made on first use and summed,
 * histogram buckets cumulative with +Inf equal to the count, label values
 * escaped, and the series cap per family.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/metrics.h"

static char *
render(struct buf *b)
{
	buf_reset(b);
	metrics_render(b);
	return b->data;
}

static void
test_counters_and_labels(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	metrics_add(METRIC_API_REQUESTS, 1, "ses", "SendEmail", "200");
	metrics_add(METRIC_API_REQUESTS, 2, "ses", "SendEmail", "200");
	metrics_add(METRIC_API_REQUESTS, 1, "ses", "SendEmail", "Throttling");
	metrics_add(METRIC_CONNECTIONS, 1, "http", NULL, NULL);
	metrics_add(METRIC_CONNECTIONS, -1, "http", NULL, NULL);
	metrics_add(METRIC_SENDS, 1, "api", "refused", "a\"b\\c\nd");
	const char *t = render(&b);
	assert_non_null(strstr(t, "# TYPE sesame_api_requests_total counter\n"));
	assert_non_null(strstr(
		t, "sesame_api_requests_total{service=\"ses\",action=\"SendEmail\",code=\"200\"} 3\n"));
	assert_non_null(strstr(t, "code=\"Throttling\"} 1\n"));
	assert_non_null(strstr(t, "sesame_open_connections{listener=\"http\"} 0\n"));
	assert_non_null(strstr(t, "reason=\"a\\\"b\\\\c\\nd\"} 1\n"));
	buf_free(&b);
}

static void
test_histogram(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	metrics_observe(METRIC_COMMIT_BATCH, 1, NULL);
	metrics_observe(METRIC_COMMIT_BATCH, 3, NULL);
	metrics_observe(METRIC_COMMIT_BATCH, 1000, NULL);
	const char *t = render(&b);
	assert_non_null(strstr(t, "sesame_queue_commit_batch_messages_bucket{le=\"1\"} 1\n"));
	assert_non_null(strstr(t, "sesame_queue_commit_batch_messages_bucket{le=\"2\"} 1\n"));
	assert_non_null(strstr(t, "sesame_queue_commit_batch_messages_bucket{le=\"4\"} 2\n"));
	assert_non_null(strstr(t, "sesame_queue_commit_batch_messages_bucket{le=\"512\"} 2\n"));
	assert_non_null(strstr(t, "sesame_queue_commit_batch_messages_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(t, "sesame_queue_commit_batch_messages_sum 1004\n"));
	assert_non_null(strstr(t, "sesame_queue_commit_batch_messages_count 3\n"));
	metrics_observe(METRIC_API_SECONDS, 0.002, "sns");
	t = render(&b);
	assert_non_null(strstr(
		t, "sesame_api_request_duration_seconds_bucket{service=\"sns\",le=\"0.0025\"} 1\n"));
	assert_non_null(strstr(t, "sesame_api_request_duration_seconds_count{service=\"sns\"} 1\n"));
	buf_free(&b);
}

static void
test_series_cap(void **state)
{
	struct buf b;
	char v[16];

	buf_init(&b, 0);
	for (int i = 0; i < METRICS_MAX_SERIES + 10; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		metrics_add(METRIC_DELIVERIES, 1, "t", v, NULL);
	}
	const char *t = render(&b);
	assert_non_null(strstr(t, "sesame_metrics_dropped_total 10\n"));
	assert_non_null(strstr(t, "outcome=\"v0\"} 1\n"));
	assert_null(strstr(t, "outcome=\"v2050\""));
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_and_labels),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_series_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

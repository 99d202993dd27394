/*
 * metrics.h — the process's counters, gauges and histograms, exposed at
 * GET /metrics in the Prometheus text format (api/ops.c).
 *
 * With struct conf and the logger this is process-wide state, and for the
 * same reason as the logger: every layer reports into it, nothing reads it
 * but the exposition, so no decision can depend on it. Each family is one
 * row of the table in metrics.c (name, type, help, label names, buckets);
 * a series is a family plus up to METRICS_MAX_LABELS label values. Label
 * values must come from our own tables (action names, error codes, fixed
 * words), never from a client's bytes, so the number of series stays
 * bounded; past METRICS_MAX_SERIES per family updates are dropped and
 * counted in sesame_metrics_dropped_total.
 *
 * Thread-safe: each thread updates its own shard under a lock nobody else
 * takes but the exposition, which sums the shards; an update is a hash
 * look-up and an add, and threads never wait on each other for it.
 */
#ifndef SESAME_UTIL_METRICS_H
#define SESAME_UTIL_METRICS_H

#include "util/buf.h"

#define METRICS_MAX_LABELS 3
#define METRICS_MAX_SERIES 2048

enum metric {
	METRIC_API_REQUESTS,      /* counter {service, action, code} */
	METRIC_API_SECONDS,       /* histogram {service} */
	METRIC_SMTP_TRANSACTIONS, /* counter {outcome: accepted|refused|failed, code} */
	METRIC_SENDS,             /* counter {via: api|smtp, outcome, reason} */
	METRIC_DELIVERIES,        /* counter {transport, outcome: delivered|deferred|bounced} */
	METRIC_COMMIT_BATCH,      /* histogram: messages per group commit */
	METRIC_COMMIT_SECONDS,    /* histogram: time of one group commit */
	METRIC_CONNECTIONS,       /* gauge {listener: http|smtp|feedback} */
	METRIC_STAGE_SECONDS,     /* histogram {stage}: where an accepted send's time goes */
	METRIC_COUNT
};

/* Add v to the series of m with the given label values (as many as the
 * family has; NULL or "" reads as ""). Counters take v >= 0, gauges any v. */
void metrics_add(enum metric m, double v, const char *l1, const char *l2, const char *l3);

/* One observation of a histogram family (labels as metrics_add). */
void metrics_observe(enum metric m, double v, const char *l1);

/* Append every family in the text exposition format (version 0.0.4). */
void metrics_render(struct buf *out);

#endif

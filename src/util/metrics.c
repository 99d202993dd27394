/* metrics.c — see metrics.h. */
#include "util/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define NBUCKETS_MAX 16
#define SLOTS 4096 /* open addressing, power of two, > METRICS_MAX_SERIES * 1.5 */

enum type { COUNTER, GAUGE, HISTOGRAM };

static const double seconds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				 0.05,   0.1,   0.25,   0.5,   1,    2.5};
static const double fine[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
			      0.01,   0.025,   0.05,   0.1,   0.25,   1};
static const double batch[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

struct family {
	const char *name, *help;
	enum type type;
	const char *labels[METRICS_MAX_LABELS]; /* label names, NULL-terminated */
	const double *bounds;                   /* histograms: upper bounds, ascending */
	size_t nbounds;
};

#define HIST(b) b, sizeof(b) / sizeof(b[0])

static const struct family families[METRIC_COUNT] = {
	[METRIC_API_REQUESTS] = {"sesame_api_requests_total",
				 "API requests answered, by service, action and SES error code "
				 "(200 for success).",
				 COUNTER, {"service", "action", "code"}, NULL, 0},
	[METRIC_API_SECONDS] = {"sesame_api_request_duration_seconds",
				"Time from a request's arrival to its answer.", HISTOGRAM,
				{"service"}, HIST(seconds)},
	[METRIC_SMTP_TRANSACTIONS] = {"sesame_smtp_transactions_total",
				      "SMTP submission transactions (DATA), by outcome and code.",
				      COUNTER, {"outcome", "code"}, NULL, 0},
	[METRIC_SENDS] = {"sesame_sends_total",
			  "Send decisions: accepted, refused (reason: the SES error code) or "
			  "failed (temporary).",
			  COUNTER, {"via", "outcome", "reason"}, NULL, 0},
	[METRIC_DELIVERIES] = {"sesame_delivery_attempts_total",
			       "Delivery attempts per recipient, by transport and outcome.", COUNTER,
			       {"transport", "outcome"}, NULL, 0},
	[METRIC_COMMIT_BATCH] = {"sesame_queue_commit_batch_messages",
				 "Messages written by one group commit.", HISTOGRAM, {NULL},
				 HIST(batch)},
	[METRIC_COMMIT_SECONDS] = {"sesame_queue_commit_duration_seconds",
				   "Time of one group commit (one transaction, one fsync).",
				   HISTOGRAM, {NULL}, HIST(seconds)},
	[METRIC_CONNECTIONS] = {"sesame_open_connections", "Client connections open now.", GAUGE,
				{"listener"}, NULL, 0},
	[METRIC_STAGE_SECONDS] = {"sesame_send_stage_duration_seconds",
				  "Time of each stage of a send: auth (any API request's arrival "
				  "to its verified signature and parsed form), decision (account, authz, limits), "
				  "sign (DKIM on a worker), queue_wait (submitted to its group "
				  "commit), answer (committed to the answer running on its loop).",
				  HISTOGRAM, {"stage"}, HIST(fine)},
};

struct series {
	char *label[METRICS_MAX_LABELS];
	double value; /* counters, gauges; a histogram's sum */
	uint64_t count;
	uint64_t bucket[NBUCKETS_MAX]; /* per bound, not cumulative */
};

struct table {
	struct series *slot[SLOTS];
	struct series *order[METRICS_MAX_SERIES]; /* in creation order, for rendering */
	size_t n;
};

/*
 * Each thread updates its own shard (its mutex is only ever contended by a
 * render), so the HTTP loops never wait on each other for a counter: one
 * process-wide mutex cost two futex calls per request under load (issue
 * 15). metrics_render sums the shards series by series.
 */
struct shard {
	pthread_mutex_t mu;
	struct table *tables[METRIC_COUNT];
	uint64_t dropped;
	struct shard *next;
};

static pthread_mutex_t shards_mu = PTHREAD_MUTEX_INITIALIZER;
static struct shard *shards;
static __thread struct shard *mine;

static struct shard *
my_shard(void)
{
	if (mine == NULL) {
		mine = xcalloc(1, sizeof(*mine));
		pthread_mutex_init(&mine->mu, NULL);
		pthread_mutex_lock(&shards_mu);
		mine->next = shards;
		shards = mine;
		pthread_mutex_unlock(&shards_mu);
	}
	return mine;
}

static size_t
nlabels(const struct family *f)
{
	size_t n = 0;

	while (n < METRICS_MAX_LABELS && f->labels[n] != NULL)
		n++;
	return n;
}

static uint64_t
hash(const char *const *v, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		for (const char *p = v[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ 0x1f) * 1099511628211ull;
	}
	return h;
}

/* The series of m in `tables` with these values, made on first use; NULL
 * when the family is full. The tables' owner holds their lock. */
static struct series *
find(struct table **tables, enum metric m, const char *l1, const char *l2, const char *l3)
{
	const struct family *f = &families[m];
	const char *v[METRICS_MAX_LABELS] = {l1 ? l1 : "", l2 ? l2 : "", l3 ? l3 : ""};
	size_t n = nlabels(f);
	struct table *t = tables[m];

	if (t == NULL)
		t = tables[m] = xcalloc(1, sizeof(*t));
	for (size_t i = hash(v, n) & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
		struct series *s = t->slot[i];
		if (s == NULL) {
			if (t->n == METRICS_MAX_SERIES)
				return NULL;
			s = t->slot[i] = xcalloc(1, sizeof(*s));
			for (size_t k = 0; k < n; k++)
				s->label[k] = xstrdup(v[k]);
			t->order[t->n++] = s;
			return s;
		}
		size_t k = 0;
		while (k < n && strcmp(s->label[k], v[k]) == 0)
			k++;
		if (k == n)
			return s;
	}
}

static void
tables_free(struct table **tables)
{
	for (int m = 0; m < METRIC_COUNT; m++) {
		struct table *t = tables[m];
		for (size_t i = 0; t != NULL && i < t->n; i++) {
			for (size_t k = 0; k < METRICS_MAX_LABELS; k++)
				free(t->order[i]->label[k]);
			free(t->order[i]);
		}
		free(t);
		tables[m] = NULL;
	}
}

void
metrics_add(enum metric m, double v, const char *l1, const char *l2, const char *l3)
{
	struct shard *sh = my_shard();
	struct series *s;

	pthread_mutex_lock(&sh->mu);
	if ((s = find(sh->tables, m, l1, l2, l3)) != NULL)
		s->value += v;
	else
		sh->dropped++;
	pthread_mutex_unlock(&sh->mu);
}

void
metrics_observe(enum metric m, double v, const char *l1)
{
	const struct family *f = &families[m];
	struct shard *sh = my_shard();
	struct series *s;
	size_t b = 0;

	while (b < f->nbounds && v > f->bounds[b])
		b++;
	pthread_mutex_lock(&sh->mu);
	if ((s = find(sh->tables, m, l1, NULL, NULL)) != NULL) {
		s->value += v;
		s->count++;
		if (b < f->nbounds)
			s->bucket[b]++;
	} else {
		sh->dropped++;
	}
	pthread_mutex_unlock(&sh->mu);
}

/* Every shard summed into `sum` (series in first-seen order); the updates
 * dropped, in the shards and in the sum, returned. */
static uint64_t
gather(struct table **sum)
{
	uint64_t dropped = 0;

	pthread_mutex_lock(&shards_mu);
	for (struct shard *sh = shards; sh != NULL; sh = sh->next) {
		pthread_mutex_lock(&sh->mu);
		dropped += sh->dropped;
		for (int m = 0; m < METRIC_COUNT; m++) {
			const struct table *t = sh->tables[m];
			for (size_t i = 0; t != NULL && i < t->n; i++) {
				const struct series *from = t->order[i];
				struct series *to = find(sum, (enum metric)m, from->label[0],
							 from->label[1], from->label[2]);
				if (to == NULL) {
					dropped++;
					continue;
				}
				to->value += from->value;
				to->count += from->count;
				for (size_t b = 0; b < NBUCKETS_MAX; b++)
					to->bucket[b] += from->bucket[b];
			}
		}
		pthread_mutex_unlock(&sh->mu);
	}
	pthread_mutex_unlock(&shards_mu);
	return dropped;
}

/* A label value in the exposition's quoting: \\, \" and \n escaped. */
static void
put_value(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(out, '\\'), buf_putc(out, *v);
		else if (*v == '\n')
			buf_puts(out, "\\n");
		else
			buf_putc(out, *v);
	}
}

/* `{a="x",b="y"` plus `extra` (already formatted, may be NULL), then `}`;
 * nothing at all when there is neither. */
static void
put_labels(struct buf *out, const struct family *f, const struct series *s, const char *extra)
{
	size_t n = nlabels(f);

	if (n == 0 && extra == NULL)
		return;
	buf_putc(out, '{');
	for (size_t k = 0; k < n; k++) {
		buf_printf(out, "%s%s=\"", k ? "," : "", f->labels[k]);
		put_value(out, s->label[k]);
		buf_putc(out, '"');
	}
	if (extra != NULL)
		buf_printf(out, "%s%s", n ? "," : "", extra);
	buf_putc(out, '}');
}

void
metrics_render(struct buf *out)
{
	static const char *types[] = {"counter", "gauge", "histogram"};

	struct table *tables[METRIC_COUNT] = {0};
	uint64_t dropped = gather(tables);

	for (int m = 0; m < METRIC_COUNT; m++) {
		const struct family *f = &families[m];
		const struct table *t = tables[m];
		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
			   types[f->type]);
		for (size_t i = 0; t != NULL && i < t->n; i++) {
			const struct series *s = t->order[i];
			if (f->type != HISTOGRAM) {
				buf_puts(out, f->name);
				put_labels(out, f, s, NULL);
				buf_printf(out, " %.17g\n", s->value);
				continue;
			}
			uint64_t cum = 0;
			char le[48];
			for (size_t b = 0; b <= f->nbounds; b++) {
				if (b < f->nbounds) {
					cum += s->bucket[b];
					snprintf(le, sizeof(le), "le=\"%g\"", f->bounds[b]);
				} else {
					cum = s->count;
					snprintf(le, sizeof(le), "le=\"+Inf\"");
				}
				buf_printf(out, "%s_bucket", f->name);
				put_labels(out, f, s, le);
				buf_printf(out, " %llu\n", (unsigned long long)cum);
			}
			buf_printf(out, "%s_sum", f->name);
			put_labels(out, f, s, NULL);
			buf_printf(out, " %.17g\n%s_count", s->value, f->name);
			put_labels(out, f, s, NULL);
			buf_printf(out, " %llu\n", (unsigned long long)s->count);
		}
	}
	buf_printf(out,
		   "# HELP sesame_metrics_dropped_total Updates dropped because a family had "
		   "%d series.\n# TYPE sesame_metrics_dropped_total counter\n"
		   "sesame_metrics_dropped_total %llu\n",
		   METRICS_MAX_SERIES, (unsigned long long)dropped);
	tables_free(tables);
}

/*
 * monitor.c — GET /metrics (the Prometheus text format) and GET /healthz,
 * outside SigV4: a scraper or a load balancer's probe has no AWS key.
 *
 * Both answer only clients inside --metrics-allow (default: the
 * --admin-allow list, loopback); others get 403 before anything is read.
 * No Host check, unlike /_sesame/: nothing here is a secret a rebinding
 * page could steal, and scrapers name targets by whatever name they like.
 *
 * /metrics is util/metrics' families, then what is read at scrape time:
 * the queue's depth and the SNS outbox from the store (partial indexes
 * only), the process's RSS and open descriptors from /proc.
 * /healthz is 200 when this loop's store handle reads, the queue's store
 * thread went round its loop within HEALTH_QUEUE_MS and its last store
 * write succeeded; else 503 naming what failed.
 */
#include "api/monitor.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/dev.h"
#include "conf/conf.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/httpd.h"
#include "util/metrics.h"

#define HEALTH_QUEUE_MS 5000 /* the store thread wakes at least once a second */

static long long
rss_bytes(void)
{
	long long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%lld %lld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static long long
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	long long n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static void
gauge(struct buf *b, const char *name, const char *help, const char *series, long long v)
{
	if (v < 0)
		return; /* not known here: absent rather than wrong */
	buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name,
		   series != NULL ? series : name, v);
}

static void
metrics(struct httpd_req *r, struct api_thread *t)
{
	int64_t queued = -1, retrying = -1, sending = -1, outbox = -1;
	struct err e = {0};
	struct buf b;

	buf_init(&b, 0);
	metrics_render(&b);
	if (t->store->ops->rcpt_depth(t->store, &queued, &retrying, &sending, &e) == 0) {
		buf_printf(&b,
			   "# HELP sesame_queue_recipients Recipients waiting for delivery, by "
			   "state.\n# TYPE sesame_queue_recipients gauge\n"
			   "sesame_queue_recipients{state=\"queued\"} %lld\n"
			   "sesame_queue_recipients{state=\"sending\"} %lld\n",
			   (long long)queued, (long long)sending);
		gauge(&b, "sesame_queue_retry_backlog",
		      "Queued recipients already tried at least once (deferred).", NULL,
		      (long long)retrying);
	}
	if (t->store->ops->sns_outbox_count(t->store, NULL, &outbox, &e) == 0)
		gauge(&b, "sesame_sns_outbox_messages",
		      "Notifications waiting in the SNS outbox for delivery.", NULL,
		      (long long)outbox);
	gauge(&b, "process_resident_memory_bytes", "Resident memory size in bytes.", NULL,
	      rss_bytes());
	gauge(&b, "process_open_fds", "Number of open file descriptors.", NULL, open_fds());
	dev_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	buf_free(&b);
}

static void
healthz(struct httpd_req *r, struct api_thread *t)
{
	int64_t generation, idle_ms = 0;
	bool store_ok = false;
	struct err e = {0};
	char body[256];
	bool reads = t->store->ops->generation(t->store, &generation, &e) == 0;

	if (t->shared.queue != NULL)
		queue_health(t->shared.queue, &idle_ms, &store_ok);
	bool alive = t->shared.queue != NULL && idle_ms < HEALTH_QUEUE_MS;
	bool ok = reads && alive && store_ok;
	int n = snprintf(body, sizeof(body),
			 "{\"status\": \"%s\", \"store\": \"%s\", \"queue\": \"%s\"}\n",
			 ok ? "ok" : "unhealthy",
			 !reads ? "unreadable" : store_ok ? "writable" : "write failed",
			 alive ? "alive" : "stalled");
	dev_reply(r, ok ? 200 : 503, "application/json", body, (size_t)n);
}

bool
monitor_handle(struct httpd_req *r, struct api_thread *t, const char *path)
{
	bool is_metrics = strcmp(path, "/metrics") == 0;

	if (!is_metrics && strcmp(path, "/healthz") != 0)
		return false;
	/* "" is a peer whose address is unknown: never allowed */
	if (r->peer == NULL || r->peer[0] == '\0' || !conf_metrics_allows(t->conf, r->peer)) {
		static const char m[] = "{\"error\": \"forbidden: not in --metrics-allow\"}\n";
		dev_reply(r, 403, "application/json", m, sizeof(m) - 1);
		return true;
	}
	if (r->method != HTTPD_GET) {
		static const char m[] = "{\"error\": \"method not allowed\"}\n";
		httpd_add_header(r, "Allow", "GET");
		dev_reply(r, 405, "application/json", m, sizeof(m) - 1);
		return true;
	}
	if (is_metrics)
		metrics(r, t);
	else
		healthz(r, t);
	return true;
}

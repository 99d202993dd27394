/*
 * monitor.h — the operator's probes on --http, outside SigV4: GET /metrics
 * (Prometheus text format) and GET /healthz, for clients inside
 * --metrics-allow. Notes in monitor.c.
 */
#ifndef SESAME_API_MONITOR_H
#define SESAME_API_MONITOR_H

#include <stdbool.h>

struct api_thread;
struct httpd_req;

/* Answer r (which frees it) when `path` is /metrics or /healthz and return
 * true; false (nothing done) for any other path. */
bool monitor_handle(struct httpd_req *r, struct api_thread *t, const char *path);

#endif

/*
 * workers.c — the worker pool (workers.h; notes in docs/internals/loops.md).
 * Owns the worker threads, the FIFO of waiting jobs (at most `cap`) and one
 * heap item per accepted submission, freed after its done returned.
 *
 * An item's life: submitted (queued) → taken by a worker → job ran →
 * done scheduled on its reply_base → done ran → freed; or queued →
 * cancelled by workers_stop → done scheduled → done ran → freed.
 *
 * Invariants:
 *  1. `outstanding` counts accepted items whose done has not returned; it
 *     is decremented once per item, after its done, under the mutex.
 *  2. An item is in the queue, or held by one worker, or in flight to its
 *     done — never two of these; so done runs exactly once.
 *  3. `stopping` is set, and the queue emptied, in one hold of the mutex:
 *     a worker either took an item before (and runs it) or finds none.
 *  4. The pool is freed only when `outstanding` is 0, so no pending done
 *     can touch freed memory.
 */
#include "util/workers.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/log.h"
#include "util/xalloc.h"

struct item {
	struct item *next;
	struct workers *w;
	workers_job_fn job;
	workers_done_fn done;
	void *arg;
	struct event_base *base;
	bool cancelled;
};

struct workers {
	int n;
	pthread_t *tids;
	size_t cap;
	pthread_mutex_t mu;  /* guards everything below */
	pthread_cond_t work; /* a job was queued, or stopping */
	pthread_cond_t idle; /* outstanding reached 0 */
	struct item *head, *tail;
	size_t queued;
	size_t outstanding;
	bool stopping;
};

/* After an item's done returned: count it off (invariant 1) and free it. */
static void
finish(struct item *it)
{
	struct workers *w = it->w;

	free(it);
	pthread_mutex_lock(&w->mu);
	if (--w->outstanding == 0)
		pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->mu); /* from here w may be freed */
}

static void
reply_cb(evutil_socket_t fd, short what, void *arg)
{
	struct item *it = arg;

	it->done(it->arg, it->cancelled);
	finish(it);
}

/* Hand `it` to its done: on its reply base, or here when it has none. */
static void
complete(struct item *it, bool cancelled)
{
	static const struct timeval now = {0, 0};

	it->cancelled = cancelled;
	if (it->base == NULL) {
		reply_cb(-1, 0, it);
		return;
	}
	if (event_base_once(it->base, -1, EV_TIMEOUT, reply_cb, it, &now) != 0) {
		/* only out of memory: the x* rule (STYLE §7) */
		log_err("workers: cannot schedule a completion");
		abort();
	}
}

static void *
worker_main(void *arg)
{
	struct workers *w = arg;

	for (;;) {
		struct item *it;

		pthread_mutex_lock(&w->mu);
		while (!w->stopping && w->head == NULL)
			pthread_cond_wait(&w->work, &w->mu);
		if ((it = w->head) == NULL) { /* stopping, and nothing left (inv. 3) */
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		w->head = it->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->queued--;
		pthread_mutex_unlock(&w->mu);
		it->next = NULL;
		it->job(it->arg);
		complete(it, false);
	}
}

struct workers *
workers_start(int nthreads, size_t cap)
{
	struct workers *w = xcalloc(1, sizeof(*w));
	pthread_condattr_t ca;

	if (nthreads <= 0)
		nthreads = WORKERS_DEFAULT_THREADS;
	if (nthreads > WORKERS_MAX_THREADS)
		nthreads = WORKERS_MAX_THREADS;
	w->n = nthreads;
	w->cap = cap == 0 ? WORKERS_DEFAULT_CAP : cap;
	w->tids = xcalloc((size_t)w->n, sizeof(*w->tids));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->idle, &ca);
	pthread_condattr_destroy(&ca);
	for (int i = 0; i < w->n; i++) {
		char name[32];
		if (pthread_create(&w->tids[i], NULL, worker_main, w) != 0) {
			log_err("workers: cannot start thread %d", i);
			abort();
		}
		snprintf(name, sizeof(name), "worker-%d", i);
		name[15] = '\0'; /* the kernel's limit */
		pthread_setname_np(w->tids[i], name);
	}
	return w;
}

int
workers_submit(struct workers *w, workers_job_fn job, workers_done_fn done, void *arg,
               struct event_base *reply_base)
{
	struct item *it;

	if (w == NULL)
		return -1;
	it = xmalloc(sizeof(*it));
	*it = (struct item){.w = w, .job = job, .done = done, .arg = arg, .base = reply_base};
	pthread_mutex_lock(&w->mu);
	if (w->stopping || w->queued >= w->cap) {
		pthread_mutex_unlock(&w->mu);
		free(it);
		return -1;
	}
	if (w->tail != NULL)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	w->queued++;
	w->outstanding++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void
workers_stop(struct workers *w)
{
	struct item *cancel;
	struct timespec until;
	int rc = 0;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true; /* and the queue emptied, in one hold (inv. 3) */
	cancel = w->head;
	w->head = w->tail = NULL;
	w->queued = 0;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
	while (cancel != NULL) {
		struct item *next = cancel->next;
		cancel->next = NULL;
		complete(cancel, true);
		cancel = next;
	}
	for (int i = 0; i < w->n; i++)
		pthread_join(w->tids[i], NULL); /* running jobs finish first */
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += WORKERS_STOP_WAIT_MS / 1000;
	until.tv_nsec += (long)(WORKERS_STOP_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (w->outstanding > 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w->idle, &w->mu, &until);
	if (w->outstanding > 0) {
		/* invariant 4: a late done would touch w; keep it */
		log_err("workers: %zu completions never ran (a reply loop had stopped)",
		        w->outstanding);
		pthread_mutex_unlock(&w->mu);
		return;
	}
	pthread_mutex_unlock(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->idle);
	pthread_mutex_destroy(&w->mu);
	free(w->tids);
	free(w);
}

/*
 * loop.c — event-loop thread groups (loop.h; notes in
 * docs/internals/loops.md). Owns, per loop: the thread, its event_base, a
 * mutex-guarded list of scheduled functions and one `wake` event that
 * another thread activates (event_active is thread-safe once
 * evthread_use_pthreads ran; an activation made before the loop dispatches
 * is not lost, unlike event_base_loopbreak, which event_base_loop clears
 * when it starts — so stopping goes through `wake` too).
 *
 * A loop's life: STARTING → (init) → READY → dispatch → (stop requested:
 * wake runs what is queued, then loopbreak) → sweep → CLOSED → cleanup.
 *
 * Invariants:
 *  1. A job appended to a loop's list is run exactly once by that loop's
 *     thread: by `wake` while the loop runs, or by the sweep after it ended.
 *     `closed` is set, under the loop's mutex, only by the sweep that found
 *     the list empty; loop_run_on refuses once it is set, so nothing is
 *     appended that no one will run.
 *  2. The base outlives every job and every cleanup: it and `wake` are freed
 *     by loop_stop after the thread is joined.
 *  3. Dispatch does not end because a loop has no events
 *     (EVLOOP_NO_EXIT_ON_EMPTY): only a stop request ends it.
 */
#include "util/loop.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

enum loop_state { STARTING, READY, FAILED };

struct job {
	struct job *next;
	loop_fn fn;
	void *arg;
};

struct loop {
	struct loop_group *g;
	int i;
	pthread_t tid;
	bool started; /* the thread exists (join it) */
	struct event_base *base;
	struct event *wake;
	pthread_mutex_t mu; /* guards the fields below */
	struct job *head, *tail;
	bool stop;             /* loop_stop asked: break after running the list */
	bool closed;           /* the sweep ran: loop_run_on refuses */
	enum loop_state state; /* guarded by g->mu */
	struct err err;        /* init's error (state FAILED) */
};

struct loop_group {
	char name[16];
	int n;
	struct loop *loops;
	loop_init_fn init;
	loop_cleanup_fn cleanup;
	void *arg;
	pthread_mutex_t mu; /* start handshake and drain counts */
	pthread_cond_t cv;
};

static _Thread_local struct loop *current; /* the loop this thread runs */

/* Take the whole list (NULL when empty); with `close_if_empty`, an empty
 * list also closes the loop to new jobs (invariant 1). */
static struct job *
take(struct loop *l, bool close_if_empty, bool *stop_out)
{
	struct job *j;

	pthread_mutex_lock(&l->mu);
	j = l->head;
	l->head = l->tail = NULL;
	if (j == NULL && close_if_empty)
		l->closed = true;
	if (stop_out != NULL)
		*stop_out = l->stop;
	pthread_mutex_unlock(&l->mu);
	return j;
}

static void
run_jobs(struct loop *l, struct job *j)
{
	while (j != NULL) {
		struct job *next = j->next;
		j->fn(j->arg, l->i);
		free(j);
		j = next;
	}
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	bool stop;

	run_jobs(l, take(l, false, &stop));
	if (stop)
		event_base_loopbreak(l->base);
}

static void *
loop_main(void *arg)
{
	struct loop *l = arg;
	struct loop_group *g = l->g;
	char tname[32];
	int rc = 0;

	current = l;
	snprintf(tname, sizeof(tname), "%.10s-%d", g->name, l->i);
	tname[15] = '\0'; /* the kernel's limit */
	pthread_setname_np(pthread_self(), tname);
	if (g->init != NULL)
		rc = g->init(g->arg, l->i, l->base, &l->err);
	pthread_mutex_lock(&g->mu);
	l->state = rc == 0 ? READY : FAILED;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (rc == 0) {
		if (event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
			log_err("%s: loop %d ended with an error", g->name, l->i);
		/* what was scheduled but not yet run, including what those
		 * jobs schedule on this loop, until the list stays empty */
		for (struct job *j; (j = take(l, true, NULL)) != NULL;)
			run_jobs(l, j);
	} else {
		pthread_mutex_lock(&l->mu);
		l->closed = true; /* nothing can be queued yet: loop_start has not returned */
		pthread_mutex_unlock(&l->mu);
	}
	if (g->cleanup != NULL)
		g->cleanup(g->arg, l->i, l->base);
	current = NULL;
	return NULL;
}

/* Ask loop l to end once it has run its list. */
static void
request_stop(struct loop *l)
{
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_mutex_unlock(&l->mu);
	event_active(l->wake, EV_READ, 0);
}

static void
group_free(struct loop_group *g)
{
	for (int i = 0; i < g->n; i++) {
		struct loop *l = &g->loops[i];
		if (l->started)
			pthread_join(l->tid, NULL);
		if (l->wake != NULL)
			event_free(l->wake);
		if (l->base != NULL)
			event_base_free(l->base);
		pthread_mutex_destroy(&l->mu);
	}
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g->loops);
	free(g);
}

static void
not_on_own_loop(const struct loop_group *g, const char *what)
{
	if (loop_current(g) >= 0) {
		log_err("%s: %s called on one of its own loops", g->name, what);
		abort();
	}
}

/* An event base whose epoll changes are batched into the next epoll_wait:
 * evhttp enables and disables a connection's read and write events several
 * times per request, and without the change list each is an epoll_ctl
 * (issue 15: four per GetSendQuota). We never dup() a watched descriptor,
 * the one case libevent warns the change list mishandles. */
static struct event_base *
loop_base_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

struct loop_group *
loop_start(const char *name, int n, loop_init_fn init, loop_cleanup_fn cleanup, void *arg,
           struct err *e)
{
	struct loop_group *g;

	if (n < 1 || n > LOOP_MAX) {
		err_set(e, 500, "InvalidConfiguration", "%s: %d loops (1 to %d)", name, n,
		        LOOP_MAX);
		return NULL;
	}
	/* idempotent; must precede event_base_new for cross-thread calls */
	evthread_use_pthreads();
	g = xcalloc(1, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->n = n;
	g->init = init;
	g->cleanup = cleanup;
	g->arg = arg;
	g->loops = xcalloc((size_t)n, sizeof(*g->loops));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	for (int i = 0; i < n; i++) {
		g->loops[i].g = g;
		g->loops[i].i = i;
		pthread_mutex_init(&g->loops[i].mu, NULL);
	}
	for (int i = 0; i < n; i++) {
		struct loop *l = &g->loops[i];
		if ((l->base = loop_base_new()) == NULL ||
		    (l->wake = event_new(l->base, -1, 0, wake_cb, l)) == NULL) {
			err_set(e, 500, "InternalFailure", "%s: cannot create an event loop", name);
			goto fail;
		}
	}
	for (int i = 0; i < n; i++) {
		struct loop *l = &g->loops[i];
		if (pthread_create(&l->tid, NULL, loop_main, l) != 0) {
			err_set(e, 500, "InternalFailure", "%s: cannot start thread %d", name, i);
			goto fail;
		}
		l->started = true;
		pthread_mutex_lock(&g->mu);
		while (l->state == STARTING)
			pthread_cond_wait(&g->cv, &g->mu);
		pthread_mutex_unlock(&g->mu);
		if (l->state == FAILED) {
			if (e != NULL)
				*e = l->err;
			goto fail;
		}
	}
	return g;
fail:
	/* the loops before the failed one run; that one ended by itself */
	for (int j = 0; j < n; j++)
		if (g->loops[j].started && g->loops[j].state == READY)
			request_stop(&g->loops[j]);
	group_free(g);
	return NULL;
}

int
loop_run_on(struct loop_group *g, int i, loop_fn fn, void *arg)
{
	struct loop *l;
	struct job *j;
	bool first;

	if (g == NULL || i < 0 || i >= g->n)
		return -1;
	l = &g->loops[i];
	j = xmalloc(sizeof(*j));
	*j = (struct job){.fn = fn, .arg = arg};
	pthread_mutex_lock(&l->mu);
	if (l->closed) {
		pthread_mutex_unlock(&l->mu);
		free(j);
		return -1;
	}
	first = l->head == NULL;
	if (first)
		l->head = j;
	else
		l->tail->next = j;
	l->tail = j;
	pthread_mutex_unlock(&l->mu);
	/* a list that was not empty has an activation pending already, or is
	 * being run by wake_cb, which takes what is there when it locks */
	if (first)
		event_active(l->wake, EV_READ, 0);
	return 0;
}

struct drain {
	struct loop_group *g;
	loop_fn fn;
	void *arg;
	int remaining;
};

static void
drain_one(void *arg, int i)
{
	struct drain *d = arg;
	struct loop_group *g = d->g;

	d->fn(d->arg, i);
	pthread_mutex_lock(&g->mu);
	d->remaining--; /* after this, d (loop_drain's) may be gone */
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

int
loop_drain(struct loop_group *g, loop_fn fn, void *arg)
{
	struct drain d = {.g = g, .fn = fn, .arg = arg};
	int missed = 0;

	if (g == NULL)
		return 0;
	not_on_own_loop(g, "loop_drain");
	pthread_mutex_lock(&g->mu);
	d.remaining = g->n;
	pthread_mutex_unlock(&g->mu);
	for (int i = 0; i < g->n; i++)
		if (loop_run_on(g, i, drain_one, &d) != 0) {
			missed++;
			pthread_mutex_lock(&g->mu);
			d.remaining--;
			pthread_mutex_unlock(&g->mu);
		}
	/* unbounded: every accepted job runs (invariant 1), so this ends
	 * unless a loop is stuck — and then loop_stop's join would hang too */
	pthread_mutex_lock(&g->mu);
	while (d.remaining > 0)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return missed == 0 ? 0 : -1;
}

void
loop_stop(struct loop_group *g)
{
	if (g == NULL)
		return;
	not_on_own_loop(g, "loop_stop");
	for (int i = 0; i < g->n; i++)
		request_stop(&g->loops[i]);
	group_free(g); /* joins */
}

struct event_base *
loop_base(const struct loop_group *g, int i)
{
	if (g == NULL || i < 0 || i >= g->n)
		return NULL;
	return g->loops[i].base;
}

int
loop_count(const struct loop_group *g)
{
	return g == NULL ? 0 : g->n;
}

int
loop_current(const struct loop_group *g)
{
	return current != NULL && g != NULL && current->g == g ? current->i : -1;
}

/* test_loop.c — src/util/loop.c: init and cleanup run on each loop's own
 * thread, in order; loop_run_on runs on the named loop, never inline, and
 * exactly once even when queued right before a stop; drain waits for every
 * loop, even a busy one; stop joins; a failed init fails the start with its
 * error and cleans up the loops before it; cross-thread event_base_once onto
 * a loop's base works (pthread locking on). */
#include <event2/event.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/loop.h"

#define N    3
#define JOBS 200

/* What each loop saw; written by the loops, read after a wait. */
struct fx {
	int fail_at; /* init of this loop fails (-1: none) */
	atomic_int inits, cleanups;
	atomic_int init_order[N + 1]; /* which loop's init ran k-th */
	pthread_t init_tid[N + 1], cleanup_tid[N + 1];
	struct event_base *init_base[N + 1];
	atomic_int ran[N][JOBS];
	atomic_int wrong; /* a job or callback on the wrong thread or loop */
	struct loop_group *g;
	int cleanup_sleep_ms;
};

/* Wait until *v >= want, up to 5 s; true if reached. */
static bool
wait_for(atomic_int *v, int want)
{
	for (int ms = 0; ms < 5000; ms++) {
		if (atomic_load(v) >= want)
			return true;
		usleep(1000);
	}
	return atomic_load(v) >= want;
}

static int
init_cb(void *arg, int i, struct event_base *base, struct err *e)
{
	struct fx *f = arg;
	int k = atomic_fetch_add(&f->inits, 1);

	atomic_store(&f->init_order[k], i);
	f->init_tid[i] = pthread_self();
	f->init_base[i] = base;
	if (i == f->fail_at)
		return err_set(e, 500, "InternalFailure", "loop %d cannot init", i);
	return 0;
}

static void
cleanup_cb(void *arg, int i, struct event_base *base)
{
	struct fx *f = arg;

	f->cleanup_tid[i] = pthread_self();
	if (base != f->init_base[i])
		atomic_fetch_add(&f->wrong, 1);
	if (f->cleanup_sleep_ms > 0)
		usleep((useconds_t)f->cleanup_sleep_ms * 1000);
	atomic_fetch_add(&f->cleanups, 1);
}

struct job {
	struct fx *f;
	int loop, n;
	atomic_int *done;
};

static void
job_cb(void *arg, int i)
{
	struct job *j = arg;

	if (i != j->loop || loop_current(j->f->g) != j->loop ||
	    !pthread_equal(pthread_self(), j->f->init_tid[j->loop]))
		atomic_fetch_add(&j->f->wrong, 1);
	atomic_fetch_add(&j->f->ran[j->loop][j->n], 1);
	atomic_fetch_add(j->done, 1);
}

static struct loop_group *
start(struct fx *f, int n)
{
	struct err e = {0};

	f->fail_at = -1;
	f->g = loop_start("test", n, init_cb, cleanup_cb, f, &e);
	assert_non_null(f->g);
	return f->g;
}

static void
test_start_inits_on_each_thread_in_order(void **state)
{
	static struct fx f;
	struct loop_group *g;

	memset(&f, 0, sizeof(f));
	g = start(&f, N);
	assert_int_equal(loop_count(g), N);
	/* loop_start returned: every init has run, one after another in order */
	assert_int_equal(atomic_load(&f.inits), N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(atomic_load(&f.init_order[i]), i);
		assert_ptr_equal(f.init_base[i], loop_base(g, i));
		assert_false(pthread_equal(f.init_tid[i], pthread_self()));
		for (int k = 0; k < i; k++)
			assert_false(pthread_equal(f.init_tid[i], f.init_tid[k]));
	}
	assert_null(loop_base(g, N));
	assert_null(loop_base(g, -1));
	assert_int_equal(loop_current(g), -1); /* the test thread is no loop */
	loop_stop(g);
	assert_int_equal(atomic_load(&f.cleanups), N);
	for (int i = 0; i < N; i++)
		assert_true(pthread_equal(f.cleanup_tid[i], f.init_tid[i]));
	assert_int_equal(atomic_load(&f.wrong), 0);
}

static void
test_run_on_runs_on_that_loop_once(void **state)
{
	static struct fx f;
	static struct job jobs[N][JOBS];
	atomic_int done = 0;
	struct loop_group *g;

	memset(&f, 0, sizeof(f));
	g = start(&f, N);
	usleep(50 * 1000); /* loops with no events of their own keep running */
	for (int n = 0; n < JOBS; n++)
		for (int i = 0; i < N; i++) {
			jobs[i][n] = (struct job){.f = &f, .loop = i, .n = n, .done = &done};
			assert_int_equal(loop_run_on(g, i, job_cb, &jobs[i][n]), 0);
		}
	assert_true(wait_for(&done, N * JOBS));
	for (int i = 0; i < N; i++)
		for (int n = 0; n < JOBS; n++)
			assert_int_equal(atomic_load(&f.ran[i][n]), 1);
	assert_int_equal(atomic_load(&f.wrong), 0);
	assert_int_equal(loop_run_on(g, N, job_cb, &jobs[0][0]), -1);
	assert_int_equal(loop_run_on(g, -1, job_cb, &jobs[0][0]), -1);
	loop_stop(g);
}

/* run_on from a loop onto itself and onto another loop: never inline. */
struct hop {
	struct fx *f;
	struct job inner[2];
	atomic_int done;
	atomic_int inline_run; /* the inner job had run when run_on returned */
};

static void
hop_cb(void *arg, int i)
{
	struct hop *h = arg;

	for (int k = 0; k < 2; k++) {
		h->inner[k] = (struct job){
		    .f = h->f, .loop = k == 0 ? i : (i + 1) % N, .n = k, .done = &h->done};
		if (loop_run_on(h->f->g, h->inner[k].loop, job_cb, &h->inner[k]) != 0)
			atomic_fetch_add(&h->f->wrong, 1);
	}
	if (atomic_load(&h->f->ran[i][0]) != 0)
		atomic_fetch_add(&h->inline_run, 1);
}

static void
test_run_on_from_a_loop_is_never_inline(void **state)
{
	static struct fx f;
	static struct hop h;
	struct loop_group *g;

	memset(&f, 0, sizeof(f));
	memset(&h, 0, sizeof(h));
	g = start(&f, N);
	h.f = &f;
	assert_int_equal(loop_run_on(g, 1, hop_cb, &h), 0);
	assert_true(wait_for(&h.done, 2));
	assert_int_equal(atomic_load(&h.inline_run), 0);
	assert_int_equal(atomic_load(&f.ran[1][0]), 1); /* on loop 1 itself */
	assert_int_equal(atomic_load(&f.ran[2][1]), 1); /* on the next loop */
	assert_int_equal(atomic_load(&f.wrong), 0);
	loop_stop(g);
}

/* Drain: a callback on every loop, each on its own loop; returns only after
 * all ran, even when one loop is busy with a slow job first. */
struct drain_fx {
	struct fx *f;
	atomic_int seen[N];
	atomic_int slow_done;
};

static void
slow_cb(void *arg, int i)
{
	struct drain_fx *d = arg;

	usleep(150 * 1000);
	atomic_store(&d->slow_done, 1);
}

static void
drain_cb(void *arg, int i)
{
	struct drain_fx *d = arg;

	if (loop_current(d->f->g) != i || !pthread_equal(pthread_self(), d->f->init_tid[i]))
		atomic_fetch_add(&d->f->wrong, 1);
	usleep((useconds_t)(i * 20 * 1000));
	atomic_fetch_add(&d->seen[i], 1);
}

static void
test_drain_waits_for_every_loop(void **state)
{
	static struct fx f;
	static struct drain_fx d;
	struct loop_group *g;

	memset(&f, 0, sizeof(f));
	memset(&d, 0, sizeof(d));
	g = start(&f, N);
	d.f = &f;
	assert_int_equal(loop_run_on(g, 2, slow_cb, &d), 0);
	assert_int_equal(loop_drain(g, drain_cb, &d), 0);
	/* no waiting here: drain returned, so everything has happened */
	assert_int_equal(atomic_load(&d.slow_done), 1);
	for (int i = 0; i < N; i++)
		assert_int_equal(atomic_load(&d.seen[i]), 1);
	assert_int_equal(atomic_load(&f.wrong), 0);
	loop_stop(g);
}

static void
test_stop_runs_queued_jobs_and_joins(void **state)
{
	static struct fx f;
	static struct job jobs[N][JOBS];
	atomic_int done = 0;
	struct loop_group *g;

	memset(&f, 0, sizeof(f));
	g = start(&f, N);
	f.cleanup_sleep_ms = 30; /* a join that did not wait would miss these */
	for (int i = 0; i < N; i++)
		for (int n = 0; n < JOBS; n++) {
			jobs[i][n] = (struct job){.f = &f, .loop = i, .n = n, .done = &done};
			assert_int_equal(loop_run_on(g, i, job_cb, &jobs[i][n]), 0);
		}
	loop_stop(g); /* at once: most jobs are still queued */
	assert_int_equal(atomic_load(&done), N * JOBS);
	for (int i = 0; i < N; i++)
		for (int n = 0; n < JOBS; n++)
			assert_int_equal(atomic_load(&f.ran[i][n]), 1);
	assert_int_equal(atomic_load(&f.cleanups), N);
	assert_int_equal(atomic_load(&f.wrong), 0);
	loop_stop(NULL);
}

/* Jobs that schedule more on their own loop while it stops: those run too
 * (after the loop ended, on its thread, before cleanup). */
struct chain {
	struct fx *f;
	atomic_int busy_entered;
	atomic_int step;           /* 1: A ran, 2: B ran, 3: C ran */
	atomic_int before_cleanup; /* cleanups already done when C ran */
};

static void
busy_cb(void *arg, int i)
{
	struct chain *c = arg;

	atomic_store(&c->busy_entered, 1);
	usleep(80 * 1000);
}

static void
chain_cb(void *arg, int i)
{
	struct chain *c = arg;
	int step = atomic_fetch_add(&c->step, 1) + 1;

	if (loop_current(c->f->g) != 0)
		atomic_fetch_add(&c->f->wrong, 1);
	if (step == 3)
		atomic_store(&c->before_cleanup, atomic_load(&c->f->cleanups));
	if (step < 3 && loop_run_on(c->f->g, 0, chain_cb, c) != 0)
		atomic_fetch_add(&c->f->wrong, 1);
}

static void
test_stop_runs_what_jobs_schedule_while_stopping(void **state)
{
	static struct fx f;
	static struct chain c;
	struct loop_group *g;

	memset(&f, 0, sizeof(f));
	memset(&c, 0, sizeof(c));
	g = start(&f, 1);
	c.f = &f;
	assert_int_equal(loop_run_on(g, 0, busy_cb, &c), 0);
	assert_true(wait_for(&c.busy_entered, 1));
	/* A is taken together with the stop request, after the busy job */
	assert_int_equal(loop_run_on(g, 0, chain_cb, &c), 0);
	loop_stop(g);
	assert_int_equal(atomic_load(&c.step), 3);
	assert_int_equal(atomic_load(&c.before_cleanup), 0);
	assert_int_equal(atomic_load(&f.cleanups), 1);
	assert_int_equal(atomic_load(&f.wrong), 0);
}

static void
test_failed_init_fails_start(void **state)
{
	static struct fx f;
	struct err e = {0};

	memset(&f, 0, sizeof(f));
	f.fail_at = 1;
	assert_null(loop_start("test", N, init_cb, cleanup_cb, &f, &e));
	assert_string_equal(e.message, "loop 1 cannot init");
	assert_int_equal(atomic_load(&f.inits), 2);    /* loop 2 never started */
	assert_int_equal(atomic_load(&f.cleanups), 2); /* loop 0 stopped, loop 1 undone */
	err_clear(&e);
	assert_null(loop_start("test", 0, NULL, NULL, NULL, &e));
	assert_null(loop_start("test", LOOP_MAX + 1, NULL, NULL, NULL, &e));
}

/* Other threads may event_base_once onto a loop's base (the queue's answers). */
struct once_fx {
	struct fx *f;
	int loop;
	atomic_int fired;
};

static void
once_cb(evutil_socket_t fd, short what, void *arg)
{
	struct once_fx *o = arg;

	if (loop_current(o->f->g) != o->loop)
		atomic_fetch_add(&o->f->wrong, 1);
	atomic_store(&o->fired, 1);
}

static void
test_event_base_once_from_another_thread(void **state)
{
	static struct fx f;
	static struct once_fx o;
	const struct timeval now = {0, 0};
	struct loop_group *g;

	memset(&f, 0, sizeof(f));
	memset(&o, 0, sizeof(o));
	g = start(&f, 2);
	o.f = &f;
	o.loop = 1;
	usleep(20 * 1000); /* the loop is waiting in its backend */
	assert_int_equal(event_base_once(loop_base(g, 1), -1, EV_TIMEOUT, once_cb, &o, &now), 0);
	assert_true(wait_for(&o.fired, 1));
	assert_int_equal(atomic_load(&f.wrong), 0);
	loop_stop(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_start_inits_on_each_thread_in_order),
	    cmocka_unit_test(test_run_on_runs_on_that_loop_once),
	    cmocka_unit_test(test_run_on_from_a_loop_is_never_inline),
	    cmocka_unit_test(test_drain_waits_for_every_loop),
	    cmocka_unit_test(test_stop_runs_queued_jobs_and_joins),
	    cmocka_unit_test(test_stop_runs_what_jobs_schedule_while_stopping),
	    cmocka_unit_test(test_failed_init_fails_start),
	    cmocka_unit_test(test_event_base_once_from_another_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

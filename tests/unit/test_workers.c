/* test_workers.c — src/util/workers.c: every job of two submitting loops
 * runs exactly once on a worker (never on a loop) and completes exactly once
 * on the loop that submitted it; a full queue refuses and runs nothing of the
 * refused job; a NULL reply base completes on the worker; shutdown with jobs
 * pending lets the running one finish, completes the waiting ones cancelled
 * on their loop, refuses new ones, and frees everything (ASan's leak check). */
#include <event2/event.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/loop.h"
#include "util/workers.h"
#include "util/xalloc.h"

#define LOOPS    2
#define PER_LOOP 500

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

/* ---- every job once, done on the submitting loop ------------------------ */

struct many {
	struct loop_group *g;
	struct workers *w;
	atomic_int job_runs[LOOPS][PER_LOOP];
	atomic_int done_runs[LOOPS][PER_LOOP];
	atomic_int wrong; /* a job on a loop, a done off its loop, a cancel */
	atomic_int refused;
	atomic_int dones;
};

struct mjob {
	struct many *m;
	int loop, n;
};

static void
many_job(void *arg)
{
	struct mjob *j = arg;

	if (loop_current(j->m->g) != -1)
		atomic_fetch_add(&j->m->wrong, 1);
	atomic_fetch_add(&j->m->job_runs[j->loop][j->n], 1);
}

static void
many_done(void *arg, bool cancelled)
{
	struct mjob *j = arg;
	struct many *m = j->m;

	if (cancelled || loop_current(m->g) != j->loop ||
	    atomic_load(&m->job_runs[j->loop][j->n]) != 1)
		atomic_fetch_add(&m->wrong, 1);
	atomic_fetch_add(&m->done_runs[j->loop][j->n], 1);
	free(j);
	atomic_fetch_add(&m->dones, 1);
}

/* On loop i: submit PER_LOOP jobs answering on this loop. */
static void
submit_all(void *arg, int i)
{
	struct many *m = arg;

	for (int n = 0; n < PER_LOOP; n++) {
		struct mjob *j = xmalloc(sizeof(*j));
		*j = (struct mjob){.m = m, .loop = i, .n = n};
		if (workers_submit(m->w, many_job, many_done, j, loop_base(m->g, i)) != 0) {
			free(j);
			atomic_fetch_add(&m->refused, 1);
		}
	}
}

static void
test_every_job_once_done_on_its_loop(void **state)
{
	static struct many m;
	struct err e = {0};

	memset(&m, 0, sizeof(m));
	assert_non_null(m.g = loop_start("wtest", LOOPS, NULL, NULL, NULL, &e));
	m.w = workers_start(0, 0); /* the defaults: 2 threads, 4096 waiting */
	for (int i = 0; i < LOOPS; i++)
		assert_int_equal(loop_run_on(m.g, i, submit_all, &m), 0);
	assert_true(wait_for(&m.dones, LOOPS * PER_LOOP));
	assert_int_equal(atomic_load(&m.refused), 0);
	assert_int_equal(atomic_load(&m.wrong), 0);
	for (int i = 0; i < LOOPS; i++)
		for (int n = 0; n < PER_LOOP; n++) {
			assert_int_equal(atomic_load(&m.job_runs[i][n]), 1);
			assert_int_equal(atomic_load(&m.done_runs[i][n]), 1);
		}
	workers_stop(m.w);
	loop_stop(m.g);
	assert_int_equal(atomic_load(&m.dones), LOOPS * PER_LOOP); /* nothing more */
}

/* ---- a gate to hold the one worker busy --------------------------------- */

struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool open;
	atomic_int entered;
};

static void
gate_wait(struct gate *g)
{
	atomic_fetch_add(&g->entered, 1);
	pthread_mutex_lock(&g->mu);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void
gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

struct gjob {
	struct gate *gate;
	int id;
	bool block;
	struct loop_group *g; /* the reply loop, or NULL */
	atomic_int *job_runs, *done_runs, *cancelled, *wrong;
	pthread_t job_tid;
	bool freed_in_done;
};

static void
gjob_job(void *arg)
{
	struct gjob *j = arg;

	j->job_tid = pthread_self();
	atomic_fetch_add(&j->job_runs[j->id], 1);
	if (j->block)
		gate_wait(j->gate);
}

static void
gjob_done(void *arg, bool cancelled)
{
	struct gjob *j = arg;

	if (j->g != NULL && loop_current(j->g) != 0)
		atomic_fetch_add(j->wrong, 1);
	if (cancelled) {
		atomic_fetch_add(&j->cancelled[j->id], 1);
		if (atomic_load(&j->job_runs[j->id]) != 0)
			atomic_fetch_add(j->wrong, 1); /* cancelled means not run */
	} else if (j->g == NULL && !pthread_equal(pthread_self(), j->job_tid)) {
		atomic_fetch_add(j->wrong, 1); /* no reply base: on the worker */
	}
	atomic_fetch_add(&j->done_runs[j->id], 1);
	if (j->freed_in_done)
		free(j);
}

static void
test_full_queue_refuses(void **state)
{
	static struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0};
	static atomic_int job_runs[5], done_runs[5], cancelled[5], wrong;
	static struct gjob jobs[5];
	atomic_int total;
	struct workers *w = workers_start(1, 2);

	for (int k = 0; k < 5; k++)
		jobs[k] = (struct gjob){.gate = &gate,
		                        .id = k,
		                        .block = k == 0,
		                        .job_runs = job_runs,
		                        .done_runs = done_runs,
		                        .cancelled = cancelled,
		                        .wrong = &wrong};
	assert_int_equal(workers_submit(w, gjob_job, gjob_done, &jobs[0], NULL), 0);
	assert_true(wait_for(&gate.entered, 1)); /* the worker holds job 0 */
	assert_int_equal(workers_submit(w, gjob_job, gjob_done, &jobs[1], NULL), 0);
	assert_int_equal(workers_submit(w, gjob_job, gjob_done, &jobs[2], NULL), 0);
	/* two waiting = the cap: refused, and nothing of it will run */
	assert_int_equal(workers_submit(w, gjob_job, gjob_done, &jobs[3], NULL), -1);
	gate_open(&gate);
	for (int ms = 0; ms < 5000; ms++) {
		total = done_runs[0] + done_runs[1] + done_runs[2];
		if (total == 3)
			break;
		usleep(1000);
	}
	for (int k = 0; k < 3; k++) {
		assert_int_equal(atomic_load(&job_runs[k]), 1);
		assert_int_equal(atomic_load(&done_runs[k]), 1);
		assert_int_equal(atomic_load(&cancelled[k]), 0);
	}
	assert_int_equal(atomic_load(&job_runs[3]), 0);
	assert_int_equal(atomic_load(&done_runs[3]), 0);
	/* room again */
	assert_int_equal(workers_submit(w, gjob_job, gjob_done, &jobs[4], NULL), 0);
	assert_true(wait_for(&done_runs[4], 1));
	assert_int_equal(atomic_load(&wrong), 0);
	workers_stop(w);
	assert_int_equal(workers_submit(NULL, gjob_job, gjob_done, &jobs[3], NULL), -1);
	workers_stop(NULL);
}

/* ---- shutdown with jobs pending ------------------------------------------ */

#define PENDING 6

static void *
stopper(void *arg)
{
	workers_stop(arg);
	return NULL;
}

static void
test_stop_with_jobs_pending(void **state)
{
	static struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0};
	static atomic_int job_runs[PENDING + 1], done_runs[PENDING + 1], cancelled[PENDING + 1],
	    wrong;
	struct err e = {0};
	struct loop_group *g = loop_start("wtest", 1, NULL, NULL, NULL, &e);
	struct workers *w = workers_start(1, 16);
	struct gjob extra = {0};
	pthread_t t;
	int ncancelled = 0;

	assert_non_null(g);
	for (int k = 0; k < PENDING; k++) {
		struct gjob *j = xmalloc(sizeof(*j));
		*j = (struct gjob){.gate = &gate,
		                   .id = k,
		                   .block = k == 0,
		                   .g = g,
		                   .job_runs = job_runs,
		                   .done_runs = done_runs,
		                   .cancelled = cancelled,
		                   .wrong = &wrong,
		                   .freed_in_done = true};
		assert_int_equal(workers_submit(w, gjob_job, gjob_done, j, loop_base(g, 0)), 0);
		if (k == 0)
			assert_true(wait_for(&gate.entered, 1));
	}
	assert_int_equal(pthread_create(&t, NULL, stopper, w), 0);
	/* the waiting five are completed cancelled, on the loop, while job 0
	 * still runs */
	for (int ms = 0; ms < 5000 && ncancelled < PENDING - 1; ms++) {
		ncancelled = 0;
		for (int k = 1; k < PENDING; k++)
			ncancelled += atomic_load(&cancelled[k]);
		usleep(1000);
	}
	assert_int_equal(ncancelled, PENDING - 1);
	assert_int_equal(atomic_load(&done_runs[0]), 0);
	/* stopping: refused (w lives until the stopper's workers_stop returns) */
	extra = (struct gjob){.id = PENDING,
	                      .job_runs = job_runs,
	                      .done_runs = done_runs,
	                      .cancelled = cancelled,
	                      .wrong = &wrong};
	assert_int_equal(workers_submit(w, gjob_job, gjob_done, &extra, NULL), -1);
	gate_open(&gate);
	pthread_join(t, NULL); /* workers_stop waited for job 0's done */
	assert_int_equal(atomic_load(&job_runs[0]), 1);
	assert_int_equal(atomic_load(&done_runs[0]), 1);
	assert_int_equal(atomic_load(&cancelled[0]), 0);
	for (int k = 1; k < PENDING; k++) {
		assert_int_equal(atomic_load(&job_runs[k]), 0);
		assert_int_equal(atomic_load(&done_runs[k]), 1);
		assert_int_equal(atomic_load(&cancelled[k]), 1);
	}
	assert_int_equal(atomic_load(&done_runs[PENDING]), 0);
	assert_int_equal(atomic_load(&wrong), 0);
	loop_stop(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_job_once_done_on_its_loop),
	    cmocka_unit_test(test_full_queue_refuses),
	    cmocka_unit_test(test_stop_with_jobs_pending),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * workers.h — a small fixed pool of threads for CPU-heavy jobs (DKIM
 * signing: RSA-2048 costs 1-2 ms a signature) so they never run on an
 * event loop. A job runs on a worker thread; its completion runs on the
 * event loop that asked (or, for callers without one, on the worker).
 *
 * Contract:
 *   - workers_submit is thread-safe and never blocks on a job. Every
 *     submission that returned 0 gets done(arg, cancelled) exactly once,
 *     never inside workers_submit: after job(arg) ran (cancelled false), or,
 *     when the pool stopped before a worker took it, without job having run
 *     (cancelled true). A refused submission (-1) gets neither; the caller
 *     still owns arg.
 *   - done runs on `reply_base` through event_base_once (libevent's pthread
 *     locking must be on: loop_start / queue_start do it), or on the worker
 *     thread (for a cancelled job: on the thread calling workers_stop) when
 *     reply_base is NULL — then it must be quick and thread-safe.
 *   - The queue is bounded: at most `cap` jobs wait for a worker; past that
 *     submission fails, so the caller can answer a temporary error.
 *   - workers_stop is called while every reply_base's loop still runs (like
 *     queue_stop): it refuses new jobs, cancels the waiting ones, lets the
 *     running ones finish, and waits until every done has run.
 */
#ifndef SESAME_UTIL_WORKERS_H
#define SESAME_UTIL_WORKERS_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct workers;

#define WORKERS_DEFAULT_THREADS 2
#define WORKERS_DEFAULT_CAP     4096 /* jobs waiting for a worker */
#define WORKERS_MAX_THREADS     64
#define WORKERS_STOP_WAIT_MS    5000 /* workers_stop waits this long for dones */

/* Runs on a worker thread; results go into arg. */
typedef void (*workers_job_fn)(void *arg);
/* Runs once per accepted submission on its reply_base (see above); it
 * usually frees arg. */
typedef void (*workers_done_fn)(void *arg, bool cancelled);

/* Start `nthreads` workers (1..WORKERS_MAX_THREADS; 0 means
 * WORKERS_DEFAULT_THREADS) with room for `cap` waiting jobs (0 means
 * WORKERS_DEFAULT_CAP). Never NULL (aborts if no thread can be made). */
struct workers *workers_start(int nthreads, size_t cap);

/* Queue job(arg) for a worker, then done(arg, false) on reply_base. 0, or
 * -1 when the queue is full or the pool is stopping (nothing will run). */
int workers_submit(struct workers *w, workers_job_fn job, workers_done_fn done, void *arg,
                   struct event_base *reply_base);

/* Stop as described above, join the threads and free the pool. Waits up to
 * WORKERS_STOP_WAIT_MS for the dones; past that (a reply loop that no
 * longer runs: the caller broke the order) it logs and leaves the pending
 * completions' memory alive rather than free what a late callback would
 * touch. NULL: no-op. Not from a worker thread. */
void workers_stop(struct workers *w);

#endif

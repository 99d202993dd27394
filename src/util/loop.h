/*
 * loop.h — a group of N event-loop threads, each with its own libevent
 * event_base: the one way sesame starts, talks to, drains and stops its
 * loops (the HTTP API, SMTP submission and the DNS checker use it; notes in
 * docs/internals/loops.md).
 *
 * Threading contract:
 *   - loop_start runs `init` for loop 0 on loop 0's thread, waits for it,
 *     then loop 1, ...: each init runs on its own thread before that loop
 *     dispatches, one after another in loop order (so binding order is
 *     deterministic and an error is reported by loop_start itself). Loops
 *     started earlier are already running while a later one initialises.
 *   - `cleanup` runs on the loop's thread after its loop has ended — also
 *     after a failed init (it must cope with half-made state), never twice.
 *   - Everything the front end keeps per loop (store handle, caches,
 *     listeners) is made by init and freed by cleanup, on that thread, and
 *     touched only by that thread in between.
 *   - loop_run_on, loop_base and loop_count may be called from any thread;
 *     loop_drain and loop_stop from any thread but a loop of the same group
 *     (they wait for the loops; called from one, they abort).
 *   - Every loop_run_on that returned 0 runs its fn exactly once on that
 *     loop's thread, never inside loop_run_on: while the loop runs, or, for
 *     what was still queued when it stopped, on the same thread after the
 *     loop ended and before cleanup.
 *   - libevent's pthread locking is enabled (evthread_use_pthreads) before
 *     any base is made, so other threads may event_base_once / event_active
 *     onto a loop's base (the queue answers that way).
 */
#ifndef SESAME_UTIL_LOOP_H
#define SESAME_UTIL_LOOP_H

#include "util/err.h"

struct event_base;
struct loop_group;

#define LOOP_MAX 256 /* loops in one group */

/* Per-loop setup on loop i's thread, before its loop runs: 0, or -1 with e
 * filled (loop_start then fails with that error). `base` is loop i's. */
typedef int (*loop_init_fn)(void *arg, int i, struct event_base *base, struct err *e);
/* Per-loop teardown on loop i's thread, after its loop ended (or its init
 * failed). The base is freed after it returns. */
typedef void (*loop_cleanup_fn)(void *arg, int i, struct event_base *base);
/* A function run on loop i (its thread) by loop_run_on or loop_drain. */
typedef void (*loop_fn)(void *arg, int i);

/* Start `n` loops (1..LOOP_MAX) named `name` (thread names "<name>-<i>",
 * for ps and gdb). `init` and `cleanup` may be NULL; `arg` is passed to
 * both. Returns once every init has returned 0; on the first failure the
 * loops already running are stopped (their cleanups run), and NULL is
 * returned with e holding that loop's error. */
struct loop_group *loop_start(const char *name, int n, loop_init_fn init, loop_cleanup_fn cleanup,
                              void *arg, struct err *e);

/* Schedule fn(arg, i) on loop i. Thread-safe; never runs fn itself, even
 * when called on loop i. 0, or -1 (fn will not run) when loop i has ended
 * and run what it was owed. */
int loop_run_on(struct loop_group *g, int i, loop_fn fn, void *arg);

/* Run fn(arg, i) on every loop and return once each has run it (the front
 * ends' shutdown drain: stop taking new work). 0, or -1 when some loop had
 * already ended (fn did not run there). */
int loop_drain(struct loop_group *g, loop_fn fn, void *arg);

/* End every loop (what was already scheduled with loop_run_on runs first),
 * run the cleanups, join the threads and free the group. NULL: no-op. */
void loop_stop(struct loop_group *g);

/* Loop i's event_base (valid until loop_stop; use it from loop i's thread
 * except for libevent's thread-safe calls), and the number of loops. */
struct event_base *loop_base(const struct loop_group *g, int i);
int loop_count(const struct loop_group *g);

/* The index of the loop of `g` the caller runs on, or -1 when the caller is
 * not one of g's loop threads. */
int loop_current(const struct loop_group *g);

#endif

/*
 * rejects.h — counting refused sends ('reject' send events, GetSendStatistics
 * Rejects) without a store write on an event loop.
 *
 * A refusal is decided on a loop thread; writing its event there would
 * block the loop on SQLite's write lock, which the queue's store thread
 * holds for its group commits (a throttled client then waits for the very
 * writes that its refusals caused). So refusals are handed to one writer
 * thread with its own store handle, which merges them per (account,
 * second) and writes them a batch at a time. Statistics only: the events
 * are not durable when answered, and a write that fails is logged and
 * dropped (nothing was accepted, nothing is lost but a count).
 */
#ifndef SESAME_API_REJECTS_H
#define SESAME_API_REJECTS_H

#include <stdint.h>

struct conf;

/* Queue one 'reject' event of `n` recipients for `account` at unix time
 * `ts`. Never blocks on I/O. The first call starts the writer thread on
 * the store named by `c` (process-wide: one writer for every loop). */
void rejects_record(const struct conf *c, const char *account, int64_t ts, int64_t n);

/* Wait until everything recorded before the call is written (or dropped).
 * For tests and shutdown; a no-op before the first rejects_record. */
void rejects_flush(void);

#endif

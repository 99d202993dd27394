/*
 * rejects.c — the writer thread for 'reject' send events; see rejects.h.
 *
 * State (process-wide, like limits_shared: one writer serves every loop):
 * a mutex-guarded list of pending (account, second, recipients) records, a
 * sequence number of records taken in and one of records finished, and the
 * thread, started by the first record and never stopped (it sleeps on a
 * condition variable when idle). Invariants: a record is written at most
 * once; `done` only grows and never passes `seq`; the list never holds more
 * than MAX_PENDING records (past that, records are dropped and counted in
 * the log: a flood of refusals must not grow memory without bound).
 */
#include "api/rejects.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MAX_PENDING 65536

struct reject {
	char account[13];
	int64_t ts;
	int64_t n;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;  /* records to write */
static pthread_cond_t wrote = PTHREAD_COND_INITIALIZER; /* `done` moved */
static const struct conf *conf;
static bool started;
static struct reject *pending;
static size_t npending, cap;
static uint64_t seq, done, dropped;

static void
write_batch(struct store *s, const struct reject *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct err e;
		if (s == NULL ||
		    s->ops->event_record(s, r[i].account, r[i].ts, "reject", r[i].n, &e) != 0)
			log_warn("rejects: cannot record %lld rejected recipients of %s: %s",
				 (long long)r[i].n, r[i].account, s ? e.message : "no store");
	}
}

static void *
writer_main(void *arg)
{
	struct store *s = NULL;
	struct err e;

	for (;;) {
		struct reject *batch;
		size_t n;
		uint64_t upto;

		pthread_mutex_lock(&mu);
		while (npending == 0)
			pthread_cond_wait(&wake, &mu);
		batch = pending;
		n = npending;
		upto = seq;
		pending = NULL;
		npending = cap = 0;
		if (dropped > 0) {
			log_warn("rejects: %llu reject events dropped (writer behind)",
				 (unsigned long long)dropped);
			dropped = 0;
		}
		pthread_mutex_unlock(&mu);

		if (s == NULL && (s = store_open(conf->db, conf->data, &e)) == NULL)
			log_warn("rejects: cannot open the store: %s", e.message);
		write_batch(s, batch, n);
		free(batch);

		pthread_mutex_lock(&mu);
		done = upto;
		pthread_cond_broadcast(&wrote);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

void
rejects_record(const struct conf *c, const char *account, int64_t ts, int64_t n)
{
	pthread_mutex_lock(&mu);
	if (!started) {
		pthread_t tid;
		conf = c;
		if (pthread_create(&tid, NULL, writer_main, NULL) != 0) {
			log_err("rejects: cannot start the writer thread");
			abort();
		}
		pthread_detach(tid);
		started = true;
	}
	seq++;
	/* merge with the newest record of the same account and second: a flood
	 * of refusals becomes one row per second */
	for (size_t i = npending; i > 0 && i + 8 > npending; i--) {
		struct reject *r = &pending[i - 1];
		if (r->ts == ts && strcmp(r->account, account) == 0) {
			r->n += n;
			goto out;
		}
	}
	if (npending == MAX_PENDING) {
		dropped++;
		goto out;
	}
	if (npending == cap) {
		cap = cap ? cap * 2 : 16;
		pending = xrealloc(pending, cap * sizeof(*pending));
	}
	snprintf(pending[npending].account, sizeof(pending[0].account), "%s", account);
	pending[npending].ts = ts;
	pending[npending].n = n;
	npending++;
out:
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&mu);
}

void
rejects_flush(void)
{
	pthread_mutex_lock(&mu);
	if (started) {
		uint64_t want = seq;
		while (done < want)
			pthread_cond_wait(&wrote, &mu);
	}
	pthread_mutex_unlock(&mu);
}

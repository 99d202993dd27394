/*
 * queue.c — durable accept with group commit, and delivery (queue.h).
 *
 * One store thread (queue_main) owns a store handle and the transport. Front
 * ends hand it messages through a mutex-protected pending list; it stores
 * whatever has piled up in ONE transaction and answers every submitter on
 * its own event loop. Between batches it delivers queued messages that are
 * due (left by a crash, or waiting for a retry).
 *
 * The message lifecycle (rows of `messages`; RAM before the first commit):
 *
 *                 queue_submit
 *                      |
 *                      v
 *                 [ pending ]  (RAM: the submitter waits, nothing stored)
 *                  |       \
 *      batch_run:  |        \ commit fails / shutdown / cap
 *      COMMIT ok   |         `----> answered with a temporary error, gone
 *                  v
 *             +--> queued  <-------------------------------------------+
 *             |     |                                                  |
 *             |     | deliver_finish (transport says, recorded with    |
 *             |     | message_finish in one transaction per batch)     |
 *             |     +--- delivered ----> [ delivered ]  (capture: the  |
 *             |     |                     inbox keeps it until DELETE) |
 *             |     +--- failed, or retry past 24 h --> [ failed ]     |
 *             |     `--- retry: attempts+1, next_attempt = backoff ----'
 *             |
 *             `--- queue_main at start / every second: message_due
 *                  (crash recovery and retries)
 *
 * Transitions: pending → queued (or, for a synchronous transport, straight
 * to delivered) in batch_run (message_insert); queued →
 * delivered | failed | queued in deliver_finish (message_finish).
 *
 * Invariants:
 *  1. A MessageId reaches its submitter only after the COMMIT that made the
 *     message durable returned (synchronous=FULL: fsync done).
 *  2. One batch is one transaction: every message with its 'accept'
 *     send event, or none of them. A failed batch answers each of its
 *     submitters with a temporary error (a permanent store error is retried
 *     message by message so one bad message cannot sink the others).
 *  3. Every submission is answered exactly once, never inside queue_submit,
 *     on the event_base it named (on this thread when that was NULL).
 *  4. A message leaves `queued` once: message_finish changes only rows that
 *     are still queued, in the transaction that records the outcome. A crash
 *     between the accept COMMIT and that transaction leaves the message
 *     queued, and it is delivered after the next start (recorded once).
 *  5. With a synchronous transport (capture) a batch is delivered before
 *     its COMMIT and stored already delivered (pending → delivered in one
 *     transaction): a MessageId in hand means the message is in the inbox.
 *     What such a transport does not deliver is stored queued.
 *  6. Only this thread inserts or finishes messages; the inbox's DELETE
 *     touches only finished captures.
 *
 * Memory: a submission's members move into an `item` (queue_submit) and
 * stay there until it is answered (complete_cb frees it).
 */
#include "queue/queue.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "delivery/transport.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/testable.h"
#include "util/xalloc.h"

#define SCAN_INTERVAL_MS 1000       /* look for due queued messages this often */
#define DUE_MAX 64                  /* queued messages (raw included) per scan */
#define RETRY_MIN_S 60              /* first retry after a temporary failure */
#define RETRY_MAX_S 3600            /* backoff ceiling */
#define GIVE_UP_MS (24LL * 3600 * 1000) /* a retry past this age fails the message */
#define STOP_WAIT_MS 5000           /* queue_stop waits this long for answers to run */

struct item {
	struct item *next;
	struct queue *q;            /* NULL when answered without a queue */
	struct store_message m;     /* moved in from the queue_msg */
	struct event_base *base;
	queue_done_fn done;
	void *arg;
	bool failed;
	struct err e;
	char id[80];
};

/* A count for the statistics that is not an accept (a refusal, later
 * bounces and complaints), folded per (account, kind, minute) while it
 * waits: a flood of refusals is one row, not one write per refusal. */
struct event_rec {
	struct event_rec *next;
	char account[13];
	char kind[12];
	int64_t minute;
	int64_t n;
};
#define EVENTS_MAX 4096 /* distinct pending records; past that they are dropped */

struct queue {
	pthread_t tid;
	bool running;               /* thread started and not joined */
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* CLOCK_MONOTONIC */
	struct item *head, **tail;  /* pending, oldest first (under mu) */
	size_t npending;            /* under mu */
	struct event_rec *events;   /* under mu: counts waiting to be written */
	size_t nevents;             /* under mu */
	uint64_t events_dropped;    /* under mu */
	bool stopping;              /* under mu: take no more submissions */
	atomic_int inflight;        /* answers scheduled but not yet run */
	/* the store thread's own */
	struct store *store;
	struct transport *transport;
	uint64_t nbatches, nmessages;
};

/* ---- time and ids --------------------------------------------------- */

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The MessageId for a message accepted at unix time `ms` (queue.h). */
TESTABLE void
queue_message_id_at(int64_t ms, char out[80])
{
	uint8_t r[16];
	char hex[33];

	random_bytes(r, sizeof(r));
	r[6] = (r[6] & 0x0f) | 0x40; /* UUID version 4 */
	r[8] = (r[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	hex_encode(r, sizeof(r), hex);
	snprintf(out, 80, "0100%012llx-%.8s-%.4s-%.4s-%.4s-%.12s-000000",
		 (unsigned long long)ms & 0xffffffffffffULL, hex, hex + 8, hex + 12, hex + 16,
		 hex + 20);
}

void
queue_message_id(char out[80])
{
	queue_message_id_at(clock_ms(CLOCK_REALTIME), out);
}

/* ---- messages ------------------------------------------------------- */

void
queue_msg_clear(struct queue_msg *m)
{
	if (m == NULL)
		return;
	free(m->source_arn);
	free(m->from_arn);
	free(m->return_path_arn);
	free(m->principal);
	free(m->source);
	free(m->from_addr);
	free(m->subject);
	for (size_t i = 0; i < m->ndestinations; i++)
		free(m->destinations[i]);
	free(m->destinations);
	free(m->raw);
	memset(m, 0, sizeof(*m));
}

/* Move the members of *m into *dst (a zeroed store_message); zero *m. */
static void
move_msg(struct store_message *dst, struct queue_msg *m, const char *id, int64_t ms)
{
	snprintf(dst->id, sizeof(dst->id), "%s", id);
	snprintf(dst->region, sizeof(dst->region), "%s", m->region);
	snprintf(dst->sending_account, sizeof(dst->sending_account), "%s", m->sending_account);
	snprintf(dst->identity_owner, sizeof(dst->identity_owner), "%s", m->identity_owner);
	snprintf(dst->source_ip, sizeof(dst->source_ip), "%s", m->source_ip);
	dst->source_arn = m->source_arn;
	dst->from_arn = m->from_arn;
	dst->return_path_arn = m->return_path_arn;
	dst->principal = m->principal;
	dst->source = m->source;
	dst->from_addr = m->from_addr;
	dst->subject = m->subject;
	dst->destinations = m->destinations;
	dst->ndestinations = m->ndestinations;
	dst->raw = m->raw;
	dst->raw_len = m->raw_len;
	snprintf(dst->status, sizeof(dst->status), "%s", STORE_MSG_QUEUED);
	dst->created_ms = ms;
	memset(m, 0, sizeof(*m));
}

/* The store keeps recipients as JSON strings, which must be UTF-8. */
static bool
recipients_utf8(const struct store_message *m)
{
	for (size_t i = 0; i < m->ndestinations; i++) {
		json_t *s = m->destinations[i] != NULL ? json_string(m->destinations[i]) : NULL;
		if (s == NULL)
			return false;
		json_decref(s);
	}
	return true;
}

/* ---- answering submitters ------------------------------------------- */

static void
item_free(struct item *it)
{
	store_message_clear(&it->m);
	free(it);
}

/* Runs on the submitter's loop (or this thread): the one answer (inv. 3). */
static void
complete_cb(evutil_socket_t fd, short what, void *arg)
{
	struct item *it = arg;
	struct queue *q = it->q;

	it->done(it->arg, it->failed ? NULL : it->id, it->failed ? &it->e : NULL);
	item_free(it);
	if (q != NULL)
		atomic_fetch_sub(&q->inflight, 1);
}

/* Hand `it` back to its submitter; the message body is no longer needed. */
static void
complete(struct item *it)
{
	static const struct timeval now = {0, 0};

	store_message_clear(&it->m);
	if (it->q != NULL)
		atomic_fetch_add(&it->q->inflight, 1);
	if (it->base == NULL) {
		complete_cb(-1, EV_TIMEOUT, it);
		return;
	}
	/* Fails only when libevent cannot allocate: out of memory (STYLE §7). */
	if (event_base_once(it->base, -1, EV_TIMEOUT, complete_cb, it, &now) != 0) {
		log_err("queue: cannot schedule an answer (out of memory)");
		abort();
	}
}

void
queue_submit(struct queue *q, struct queue_msg *m, struct event_base *reply_base,
	     queue_done_fn done, void *arg)
{
	struct item *it = xcalloc(1, sizeof(*it));
	int64_t ms = clock_ms(CLOCK_REALTIME);

	it->q = q;
	it->base = reply_base;
	it->done = done;
	it->arg = arg;
	if (m->id[0] != '\0')
		snprintf(it->id, sizeof(it->id), "%s", m->id);
	else
		queue_message_id_at(ms, it->id);
	move_msg(&it->m, m, it->id, ms);

	if (!recipients_utf8(&it->m)) {
		it->failed = true;
		err_set(&it->e, 400, "InvalidParameterValue",
			"Recipient addresses must be valid UTF-8.");
		complete(it);
		return;
	}
	if (q == NULL) {
		it->failed = true;
		err_temp(&it->e, "The message could not be queued; try again.");
		complete(it);
		return;
	}
	pthread_mutex_lock(&q->mu);
	if (q->stopping || q->npending >= QUEUE_MAX_PENDING) {
		bool stopping = q->stopping;
		pthread_mutex_unlock(&q->mu);
		it->failed = true;
		err_temp(&it->e, "%s", stopping ? "The service is shutting down; try again."
						: "Too many messages are waiting to be stored; "
						  "try again.");
		complete(it);
		return;
	}
	*q->tail = it;
	q->tail = &it->next;
	q->npending++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* ---- delivery ------------------------------------------------------- */

/* Outcomes gathered for one message_finish transaction. */
struct finish {
	struct queue *q;
	int64_t now_ms;
	size_t n, cap;
	char (*ids)[80];
	char (*status)[16];
	int64_t *next_attempt;
	struct transport_result *r;
};

static int64_t
retry_delay(int attempts)
{
	int64_t d = RETRY_MIN_S;

	for (int i = 0; i < attempts && d < RETRY_MAX_S; i++)
		d *= 2;
	return d < RETRY_MAX_S ? d : RETRY_MAX_S;
}

/* Deliver one message through the transport; remember the outcome. */
static int
deliver_one(void *arg, const struct store_message *m)
{
	struct finish *f = arg;
	const struct transport_ops *ops = f->q->transport->ops;
	struct transport_result *r;
	const char *st = STORE_MSG_DELIVERED;

	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->ids = xrealloc(f->ids, f->cap * sizeof(*f->ids));
		f->status = xrealloc(f->status, f->cap * sizeof(*f->status));
		f->next_attempt = xrealloc(f->next_attempt, f->cap * sizeof(*f->next_attempt));
		f->r = xrealloc(f->r, f->cap * sizeof(*f->r));
	}
	r = &f->r[f->n];
	memset(r, 0, sizeof(*r));
	ops->deliver(f->q->transport, m, r);
	f->next_attempt[f->n] = 0;
	switch (r->outcome) {
	case TRANSPORT_DELIVERED:
		log_debug("queue: %s delivered (%s, %zu recipients)", m->id, ops->name,
			  m->ndestinations);
		break;
	case TRANSPORT_RETRY:
		if (f->now_ms - m->created_ms > GIVE_UP_MS) {
			st = STORE_MSG_FAILED;
			log_warn("queue: %s failed after %d attempts: %s", m->id, m->attempts + 1,
				 r->detail);
		} else {
			st = STORE_MSG_QUEUED;
			f->next_attempt[f->n] = f->now_ms / 1000 + retry_delay(m->attempts);
			log_info("queue: %s deferred (attempt %d): %s", m->id, m->attempts + 1,
				 r->detail);
		}
		break;
	case TRANSPORT_FAILED:
		st = STORE_MSG_FAILED;
		log_warn("queue: %s failed: %s", m->id, r->detail);
		break;
	}
	snprintf(f->ids[f->n], sizeof(f->ids[0]), "%s", m->id);
	snprintf(f->status[f->n], sizeof(f->status[0]), "%s", st);
	f->n++;
	return 0;
}

/* Record every gathered outcome in one transaction (invariant 4). A failure
 * leaves the messages queued: the next scan delivers them again. */
static void
deliver_finish(struct finish *f)
{
	struct store_delivery *d = xcalloc(f->n ? f->n : 1, sizeof(*d));
	struct err e;

	for (size_t i = 0; i < f->n; i++) {
		d[i].id = f->ids[i];
		d[i].status = f->status[i];
		d[i].transport = f->q->transport->ops->name;
		d[i].delivery = f->r[i].delivery;
		d[i].when_ms = f->now_ms;
		d[i].next_attempt = f->next_attempt[i];
	}
	if (f->n > 0 && f->q->store->ops->message_finish(f->q->store, d, f->n, &e) < 0)
		log_warn("queue: cannot record %zu deliveries (they stay queued): %s", f->n,
			 e.message);
	for (size_t i = 0; i < f->n; i++)
		transport_result_clear(&f->r[i]);
	free(d);
	free(f->ids);
	free(f->status);
	free(f->next_attempt);
	free(f->r);
	memset(f, 0, sizeof(*f));
}

/* Deliver up to DUE_MAX queued messages that are due; returns how many were
 * tried (DUE_MAX: there may be more). */
static size_t
deliver_due(struct queue *q)
{
	struct finish f = {.q = q, .now_ms = clock_ms(CLOCK_REALTIME)};
	struct err e;
	size_t n;

	if (q->store->ops->message_due(q->store, f.now_ms / 1000, DUE_MAX, deliver_one, &f,
				       &e) != 0) {
		log_warn("queue: cannot read queued messages: %s", e.message);
		deliver_finish(&f);
		return 0;
	}
	n = f.n;
	deliver_finish(&f);
	return n;
}

/* ---- statistics ----------------------------------------------------- */

void
queue_record(struct queue *q, const char *account, int64_t ts, const char *kind, int64_t n)
{
	struct event_rec *r;
	int64_t minute = ts / 60;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	for (r = q->events; r != NULL; r = r->next)
		if (r->minute == minute && strcmp(r->account, account) == 0 &&
		    strcmp(r->kind, kind) == 0)
			break;
	if (r != NULL) {
		r->n += n;
	} else if (q->nevents < EVENTS_MAX) {
		r = xcalloc(1, sizeof(*r));
		snprintf(r->account, sizeof(r->account), "%s", account);
		snprintf(r->kind, sizeof(r->kind), "%s", kind);
		r->minute = minute;
		r->n = n;
		r->next = q->events;
		q->events = r;
		q->nevents++;
		pthread_cond_signal(&q->cv);
	} else {
		q->events_dropped++;
	}
	pthread_mutex_unlock(&q->mu);
}

/* Write the counts taken from q->events (store thread). */
static void
events_write(struct queue *q, struct event_rec *r)
{
	while (r != NULL) {
		struct event_rec *next = r->next;
		struct err e;
		if (q->store->ops->event_record(q->store, r->account, r->minute * 60, r->kind, r->n,
						&e) != 0)
			log_warn("queue: cannot count %lld %s recipients of %s: %s", (long long)r->n,
				 r->kind, r->account, e.message);
		free(r);
		r = next;
	}
}

/* ---- group commit --------------------------------------------------- */

/* Take up to QUEUE_BATCH_MAX pending items (and QUEUE_BATCH_BYTES of raw
 * message, but at least one). Called with q->mu held. */
static struct item *
take_batch(struct queue *q, size_t *n_out)
{
	struct item *head = q->head, *last = NULL, *it = head;
	size_t n = 0, bytes = 0;

	while (it != NULL && n < QUEUE_BATCH_MAX &&
	       (n == 0 || bytes + it->m.raw_len <= QUEUE_BATCH_BYTES)) {
		bytes += it->m.raw_len;
		n++;
		last = it;
		it = it->next;
	}
	if (last == NULL) {
		*n_out = 0;
		return NULL;
	}
	q->head = it;
	if (it == NULL)
		q->tail = &q->head;
	last->next = NULL;
	q->npending -= n;
	*n_out = n;
	return head;
}

/* Store one batch (pending → queued), deliver it at once when the transport
 * is synchronous, then answer every submitter (invariants 1, 2, 3, 5). */
static void
batch_run(struct queue *q, struct item *batch, size_t n)
{
	struct store_message *v = xcalloc(n, sizeof(*v));
	bool *ok = xcalloc(n, sizeof(*ok));
	struct item *it;
	struct err e;
	size_t i;

	/* The items lend their messages to one contiguous array. */
	for (i = 0, it = batch; it != NULL; it = it->next, i++)
		v[i] = it->m;
	/* A synchronous transport (capture) delivers before the commit, so the
	 * message is stored already delivered: one transaction, one fsync
	 * (invariants 4, 5). What it does not deliver is stored queued and
	 * taken by the next scan. */
	struct transport_result *r = NULL;
	if (q->transport->ops->synchronous) {
		int64_t now_ms = clock_ms(CLOCK_REALTIME);
		r = xcalloc(n, sizeof(*r));
		for (i = 0; i < n; i++) {
			q->transport->ops->deliver(q->transport, &v[i], &r[i]);
			if (r[i].outcome != TRANSPORT_DELIVERED)
				continue;
			snprintf(v[i].status, sizeof(v[i].status), "%s", STORE_MSG_DELIVERED);
			snprintf(v[i].transport, sizeof(v[i].transport), "%s",
				 q->transport->ops->name);
			v[i].delivery = r[i].delivery;
			v[i].delivered_ms = now_ms;
			v[i].attempts = 1;
		}
	}
	if (q->store->ops->message_insert(q->store, v, n, &e) == 0) {
		for (i = 0; i < n; i++)
			ok[i] = true;
	} else if (!e.temporary && n > 1) {
		/* One message the store refuses must not sink its batch. */
		for (i = 0, it = batch; i < n; i++, it = it->next) {
			ok[i] = q->store->ops->message_insert(q->store, &v[i], 1, &it->e) == 0;
			if (!ok[i]) {
				it->failed = true;
				log_warn("queue: message %s could not be stored: %s", it->id,
					 it->e.message);
				if (it->e.temporary)
					err_temp(&it->e, "The message could not be stored; try again.");
			}
		}
	} else {
		log_warn("queue: a batch of %zu messages could not be stored: %s", n, e.message);
		for (it = batch; it != NULL; it = it->next) {
			it->failed = true;
			if (e.temporary)
				err_temp(&it->e, "The message could not be stored; try again.");
			else
				it->e = e;
		}
	}
	q->nbatches++;
	for (i = 0; i < n; i++)
		q->nmessages += ok[i];
	if (r != NULL) {
		for (i = 0; i < n; i++)
			transport_result_clear(&r[i]);
		free(r);
	}
	free(v); /* the members still belong to the items */
	free(ok);
	while (batch != NULL) {
		it = batch;
		batch = batch->next;
		it->next = NULL;
		complete(it);
	}
}

/* Wait on q->cv until the monotonic time `deadline_ms`. mu held. */
static void
wait_until(struct queue *q, int64_t deadline_ms)
{
	struct timespec ts = {.tv_sec = deadline_ms / 1000,
			      .tv_nsec = (long)(deadline_ms % 1000) * 1000000};

	pthread_cond_timedwait(&q->cv, &q->mu, &ts);
}

static void *
queue_main(void *arg)
{
	struct queue *q = arg;
	int64_t next_scan = 0; /* at once: what a previous run left queued */

	for (;;) {
		struct item *batch;
		struct event_rec *events;
		size_t n;
		bool stop;

		pthread_mutex_lock(&q->mu);
		while (q->head == NULL && q->events == NULL && !q->stopping &&
		       clock_ms(CLOCK_MONOTONIC) < next_scan)
			wait_until(q, next_scan);
		batch = take_batch(q, &n);
		events = q->events;
		q->events = NULL;
		q->nevents = 0;
		stop = q->stopping && q->head == NULL;
		pthread_mutex_unlock(&q->mu);

		if (batch != NULL)
			batch_run(q, batch, n);
		events_write(q, events);
		if (stop)
			break; /* everything submitted before queue_stop is answered */
		if (clock_ms(CLOCK_MONOTONIC) >= next_scan) {
			size_t tried = deliver_due(q);
			next_scan = clock_ms(CLOCK_MONOTONIC) + (tried >= DUE_MAX ? 0 : SCAN_INTERVAL_MS);
		}
	}
	return NULL;
}

/* ---- start and stop ------------------------------------------------- */

/* Batches and messages stored so far (read after the thread stopped). */
TESTABLE void
queue_counts(const struct queue *q, uint64_t *batches_out, uint64_t *messages_out)
{
	*batches_out = q->nbatches;
	*messages_out = q->nmessages;
}

struct queue *
queue_start(const struct conf *c, struct err *e)
{
	struct queue *q = xcalloc(1, sizeof(*q));
	pthread_condattr_t ca;

	/* Before any event_base exists: event_base_once from this thread onto
	 * the front ends' loops needs libevent's locks (idempotent). */
	evthread_use_pthreads();
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	q->tail = &q->head;
	atomic_init(&q->inflight, 0);
	if ((q->store = store_open(c->db, c->data, e)) == NULL)
		goto fail;
	if ((q->transport = transport_open(c, e)) == NULL)
		goto fail;
	if (pthread_create(&q->tid, NULL, queue_main, q) != 0) {
		err_temp(e, "queue: cannot start the store thread");
		goto fail;
	}
	q->running = true;
	log_info("queue: started (transport %s, group commit up to %d messages)",
		 q->transport->ops->name, QUEUE_BATCH_MAX);
	return q;
fail:
	queue_free(q);
	return NULL;
}

void
queue_stop(struct queue *q)
{
	uint64_t batches, messages;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	if (!q->running)
		return;
	pthread_join(q->tid, NULL);
	q->running = false;
	/* The loops still run: let them deliver the last answers. */
	for (int waited = 0; atomic_load(&q->inflight) > 0 && waited < STOP_WAIT_MS; waited++)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	queue_counts(q, &batches, &messages);
	log_info("queue: stopped (%llu messages stored in %llu batches)",
		 (unsigned long long)messages, (unsigned long long)batches);
}

void
queue_free(struct queue *q)
{
	if (q == NULL)
		return;
	queue_stop(q);
	/* queue_stop drained the list; nothing can be pending here but counts
	 * recorded after the thread stopped, which are lost with the process. */
	while (q->events != NULL) {
		struct event_rec *r = q->events;
		q->events = r->next;
		free(r);
	}
	store_close(q->store);
	transport_free(q->transport);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

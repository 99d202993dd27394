/*
 * queue.c — durable accept with group commit, and delivery (queue.h).
 *
 * One store thread (queue_main) owns a store handle and the transport. Front
 * ends hand it messages through a mutex-protected pending list; it stores
 * whatever has piled up in ONE transaction and answers every submitter on
 * its own event loop. Between batches it delivers queued messages that are
 * due (left by a crash, or waiting for a retry).
 *
 * The lifecycle. A message (rows of `messages`; RAM before the first
 * commit) and, for a network transport, each of its recipients (rows of
 * `recipients`), every transition writing one `events` row in its own
 * transaction:
 *
 *                 queue_submit
 *                      |
 *                      v
 *                 [ pending ]  (RAM: the submitter waits, nothing stored)
 *                  |       \
 *      batch_run:  |        \ commit fails / shutdown / cap
 *      COMMIT ok   |         `----> answered with a temporary error, gone
 *                  |
 *                  +-- synchronous transport (capture): message delivered,
 *                  |   one Send and one Delivery event per recipient
 *                  v
 *   message queued; per recipient a row `queued` and a Send event
 *                  |
 *   claim_due:     v   (rcpt_claim: lease to this node until now + --lease)
 *   +-------> [ sending ] ---- transport job runs on the delivery loops
 *   |              |
 *   |  results_write (rcpt_finish, one transaction per batch of results;
 *   |              |  outcome_decide says what each reply means)
 *   |              +--- 2xx ---------------------------> [ delivered ] Delivery
 *   |              +--- 5xx, or no route --------------> [ bounced ]   Bounce
 *   |              +--- 4xx/no answer, older than --max-queue-age --> [ bounced ]
 *   |              |                                        Bounce Transient
 *   +--- 4xx/no answer: queued, next_attempt = backoff; DeliveryDelay (first)
 *
 *   A message none of whose recipients is queued or sending is finished
 *   (delivered if any recipient was) in the transaction of its last
 *   recipient.
 *
 * Invariants:
 *  1. A MessageId reaches its submitter only after the COMMIT that made the
 *     message durable returned (synchronous=FULL: fsync done).
 *  2. One batch is one transaction: every message with its 'accept'
 *     count, recipients and Send events, or none of them. A failed batch
 *     answers each of its submitters with a temporary error (a permanent
 *     store error is retried message by message so one bad message cannot
 *     sink the others).
 *  3. Every submission is answered exactly once, never inside queue_submit,
 *     on the event_base it named (on this thread when that was NULL).
 *  4. A recipient is attempted by one holder of its lease at a time, and
 *     its outcome is recorded only by that holder (rcpt_finish checks the
 *     owner), so an outcome is recorded once per attempt; a recipient that
 *     got 2xx is delivered and never claimed again. A job cancelled at
 *     shutdown records nothing: its recipients keep the lease, which this
 *     node gives back at its next start (rcpt_release). While recipients
 *     are in flight the node renews its leases every third of --lease
 *     (rcpt_renew), so a delivery slower than the lease is not attempted
 *     by a second node while this one lives; a dead node's leases end.
 *  5. With a synchronous transport (capture) a batch is delivered before
 *     its COMMIT and stored already delivered (pending → delivered in one
 *     transaction): a MessageId in hand means the message is in the inbox.
 *  6. Only this thread inserts messages and records outcomes; the inbox's
 *     DELETE touches only finished captures.
 *  7. At most QUEUE_INFLIGHT_MAX recipients are claimed and not yet
 *     recorded; a job that outlives its lease is not claimed again by this
 *     node (rcpt_claim never takes the caller's own leases).
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

#include "conf/conf.h"
#include "core/outcome.h"
#include "core/reputation.h"
#include "delivery/transport.h"
#include "mail/build.h"
#include "notify/notify.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/testable.h"
#include "util/xalloc.h"

#define SCAN_INTERVAL_MS 1000       /* look for due recipients this often */
#define QUEUE_INFLIGHT_MAX 2048     /* recipients claimed and not yet recorded */
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
	char *rendering_failure;    /* queue_msg's: stored failed, never delivered */
	int64_t submit_us, answer_us; /* monotonic: the stage histograms */
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

/* A batch of feedback events waiting for the store thread (queue_feedback). */
struct fb_item {
	struct fb_item *next;
	struct queue *q;
	struct store_event *ev;     /* owned copies */
	size_t n;
	char account[13];
	struct event_base *base;
	queue_feedback_fn done;
	void *arg;
	int written;                /* -1: failed, e says why */
	struct err e;
};

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
	atomic_llong beat_ms;       /* monotonic: the thread last went round its loop */
	atomic_bool store_ok;       /* the last claim and the last commit succeeded */
	struct transport_job *results; /* under mu: jobs the transport finished */
	struct fb_item *feedback;   /* under mu: feedback to write, newest first */
	/* the store thread's own */
	struct store *store;
	struct transport *transport;
	const struct conf *conf;
	size_t inflight_rcpts;      /* claimed, not yet recorded (invariant 7) */
	int64_t renew_after_ms;     /* monotonic: no lease renewal before (a failed record) */
	bool claim_now;             /* new recipients were queued: claim before the scan */
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

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The MessageId for a message accepted at unix time `ms` (queue.h). */
TESTABLE void
queue_message_id_at(int64_t ms, char out[80])
{
	char u[37];

	uuid_v4(u);
	snprintf(out, 80, "0100%012llx-%s-000000", (unsigned long long)ms & 0xffffffffffffULL, u);
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
	free(m->mail_from);
	free(m->from_addr);
	free(m->subject);
	for (size_t i = 0; i < m->ndestinations; i++)
		free(m->destinations[i]);
	free(m->destinations);
	free(m->raw);
	free(m->rendering_failure);
	free(m->config_set);
	free(m->tags);
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
	/* a quota of 0 never reaches the queue (send.c refuses first); 0 here
	 * is a caller that does not charge a quota (tests, sesame's own mail) */
	dst->check_quota = m->sending_account[0] != '\0' && m->max_24h != 0;
	dst->max_24h = m->max_24h;
	dst->source_arn = m->source_arn;
	dst->from_arn = m->from_arn;
	dst->return_path_arn = m->return_path_arn;
	dst->principal = m->principal;
	dst->source = m->source;
	dst->mail_from = m->mail_from;
	dst->from_addr = m->from_addr;
	dst->subject = m->subject;
	dst->config_set = m->config_set;
	dst->tags = m->tags;
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
	free(it->rendering_failure);
	free(it);
}

/* Runs on the submitter's loop (or this thread): the one answer (inv. 3). */
static void
complete_cb(evutil_socket_t fd, short what, void *arg)
{
	struct item *it = arg;
	struct queue *q = it->q;

	metrics_observe(METRIC_STAGE_SECONDS, (double)(mono_us() - it->answer_us) / 1e6, "answer");
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
	it->answer_us = mono_us();
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
	it->submit_us = mono_us();
	it->base = reply_base;
	it->done = done;
	it->arg = arg;
	if (m->id[0] != '\0')
		snprintf(it->id, sizeof(it->id), "%s", m->id);
	else
		queue_message_id_at(ms, it->id);
	it->rendering_failure = m->rendering_failure;
	m->rendering_failure = NULL;
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

static double
jitter(void)
{
	uint32_t r;

	random_bytes((uint8_t *)&r, sizeof(r));
	return (double)r / 4294967296.0;
}

/* A job for message m and the recipients claimed for it (store thread).
 * A synchronous transport never reads the bytes (the store keeps them), so
 * the accept path does not copy them: with_raw false. */
static struct transport_job *
job_new(const struct store_message *m, const struct store_rcpt *r, size_t n, bool with_raw)
{
	struct transport_job *j = xcalloc(1, sizeof(*j));

	snprintf(j->message_id, sizeof(j->message_id), "%s", m->id);
	snprintf(j->sending_account, sizeof(j->sending_account), "%s", m->sending_account);
	j->mail_from = xstrdup(m->mail_from != NULL ? m->mail_from
						   : m->source != NULL ? m->source : "");
	if (with_raw) {
		j->raw = xmalloc(m->raw_len ? m->raw_len : 1);
		memcpy(j->raw, m->raw, m->raw_len);
		j->raw_len = m->raw_len;
	}
	j->created_ms = m->created_ms;
	j->rcpt = xcalloc(n, sizeof(*j->rcpt));
	for (size_t i = 0; i < n; i++) {
		j->rcpt[i].idx = r[i].idx;
		j->rcpt[i].address = xstrdup(r[i].address);
		j->rcpt[i].attempts = r[i].attempts;
		j->rcpt[i].delayed = r[i].delayed;
	}
	j->nrcpt = n;
	return j;
}

/* The transport finished a job: hand it to the store thread. Any thread. */
static void
job_done(void *arg, struct transport_job *job)
{
	struct queue *q = arg;

	pthread_mutex_lock(&q->mu);
	job->next = q->results;
	q->results = job;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* What one recipient's result means (core/outcome). */
static void
decide(struct queue *q, const struct transport_job *j, const struct transport_rcpt *r,
       int64_t now_ms, struct outcome *o)
{
	static const enum outcome_kind kinds[] = {
		[TRANSPORT_DELIVERED] = OUTCOME_DELIVERED,
		[TRANSPORT_DEFERRED] = OUTCOME_DEFERRED,
		[TRANSPORT_BOUNCED] = OUTCOME_BOUNCED,
	};
	struct outcome_attempt a = {
		.kind = kinds[r->status],
		.code = r->code,
		.enhanced = r->enhanced,
		.reply = r->reply,
		.remote_ip = r->remote_ip,
		.reporting_mta = q->conf->helo,
		.recipient = r->address,
		.message_id = j->message_id,
		.attempts = r->attempts > 0 ? r->attempts : 1,
		.delayed = r->delayed,
		.created_ms = j->created_ms,
		.now_ms = now_ms,
		.retry_base_s = q->conf->retry_base,
		.max_age_s = q->conf->max_queue_age,
		.jitter = jitter(),
	};

	outcome_decide(&a, o);
}

/* The suppression an event with statistics kind `count` brings: the
 * recipients a Permanent bounce or a complaint counts for go on the sending
 * account's list (DESIGN.md "Semantics we pin"); NULL for the rest. */
static const char *
queue_suppress_reason(const char *count)
{
	if (count == NULL)
		return NULL;
	return strcmp(count, "complaint") == 0 ? STORE_SUPPRESS_COMPLAINT : STORE_SUPPRESS_BOUNCE;
}

static void
own_mail_done(void *arg, const char *message_id, const struct err *e)
{
	if (e != NULL)
		log_warn("queue: %s was not queued: %s", (const char *)arg, e->message);
}

/* Queue sesame's own mail (charged to nobody, null envelope sender: RFC
 * 3834) from `from` to `to`: the simulator's auto-reply, forwarded
 * feedback. Takes `raw` (malloc'd). Store thread; stored with the next
 * batch. */
static void
own_mail(struct queue *q, const char *id, const char *region, const char *from, const char *to,
	 const char *subject, char *raw, const char *what)
{
	struct queue_msg r = {0};

	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.region, sizeof(r.region), "%s", region);
	r.source = xstrdup(from);
	r.mail_from = xstrdup("");
	r.from_addr = xstrdup(from);
	r.subject = xstrdup(subject);
	r.destinations = xcalloc(1, sizeof(*r.destinations));
	r.destinations[0] = xstrdup(to);
	r.ndestinations = 1;
	r.raw = (uint8_t *)raw;
	r.raw_len = strlen(raw);
	queue_submit(q, &r, NULL, own_mail_done, (void *)what);
}

/* The mailbox simulator's out-of-office answer to message m, mailed to its
 * Return-Path (spec/feedback-notify.md §4). */
static void
ooto_reply(struct queue *q, const struct store_message *m, const char *from)
{
	char date[64], id[80], mid[400], orig[200];
	time_t now = time(NULL);
	struct tm tm;

	if (m->source == NULL || m->source[0] == '\0')
		return;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	queue_message_id(id);
	snprintf(mid, sizeof(mid), "<%s@%s>", id, q->conf->helo);
	build_message_id(m->region, m->id, orig, sizeof(orig));
	char *text = xasprintf("From: %s\r\nTo: %s\r\nSubject: Out of the office\r\n"
			       "Date: %s\r\nMessage-ID: %s\r\nIn-Reply-To: %s\r\n"
			       "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
			       "Content-Type: text/plain; charset=UTF-8\r\n\r\n"
			       "I am out of the office and will reply when I return.\r\n"
			       "(An automatic answer of the mailbox simulator to message %s.)\r\n",
			       from, m->source, date, mid, orig, m->id);
	own_mail(q, id, m->region, from, m->source, "Out of the office", text,
		 "the simulator's auto-reply");
}

/* Route event `ev` of message m (notify/): its notices ride on the event,
 * so they are published in the transaction that writes it. */
static void
route(struct queue *q, struct notify_cache *c, const struct store_message *m,
      struct store_event *ev, struct notify_out *out)
{
	struct err e;

	if (notify_route(q->store, c, m, ev->type, ev->recipient, ev->detail, ev->ts_ms, out,
			 &e) != 0) {
		log_warn("queue: %s: notifications not routed: %s", m->id, e.message);
		memset(out, 0, sizeof(*out));
		return;
	}
	ev->notices = out->v;
	ev->nnotices = out->n;
}

/* After the commit that wrote event ev of m: feedback forwarding by email
 * to the Return-Path, when notify_route asked for it. */
static void
forward(struct queue *q, const struct store_message *m, const struct store_event *ev)
{
	char id[80], mid[400], from[300];
	struct buf b;

	if (m->source == NULL || m->source[0] == '\0')
		return;
	queue_message_id(id);
	snprintf(mid, sizeof(mid), "<%s@%s>", id, q->conf->helo);
	snprintf(from, sizeof(from), "MAILER-DAEMON@%s", q->conf->helo);
	buf_init(&b, 0);
	notify_forward_mail(m, ev->type, ev->recipient, ev->detail, q->conf->helo, mid, ev->ts_ms,
			    &b);
	own_mail(q, id, m->region, from, m->source,
		 strcmp(ev->type, "Bounce") == 0 ? "Delivery Status Notification (Failure)"
						 : "Complaint about your message",
		 buf_steal(&b, NULL), "forwarded feedback");
}

/* The events of a recipient whose fate is known at accept — on the sending
 * account's suppression list, or an address of the mailbox simulator —
 * into out[0..1]; *state_out: its terminal state. Returns how many events
 * (0: the transport delivers it). Neither counts for reputation
 * (outcome_stat_kind), nor touches the suppression list. */
static size_t
accept_fate(struct queue *q, const struct store_message *m, const char *addr, int64_t now_ms,
	    struct outcome out[2], const char **state_out, bool *ooto_out)
{
	struct outcome_report rep = {.recipient = addr, .message_id = m->id, .now_ms = now_ms,
				     .our_mta = q->conf->helo};
	struct outcome_attempt ok = {.kind = OUTCOME_DELIVERED, .code = 250, .enhanced = "2.0.0",
				     .reply = "Ok", .remote_ip = "", .reporting_mta = q->conf->helo,
				     .recipient = addr, .message_id = m->id, .attempts = 1,
				     .created_ms = m->created_ms, .now_ms = now_ms};
	enum outcome_sim sim = outcome_simulator(addr);
	struct err e;
	int r;

	*ooto_out = false;
	if (sim == OUTCOME_SIM_NONE) {
		if (m->sending_account[0] == '\0')
			return 0;
		r = q->store->ops->suppression_get(q->store, m->sending_account, addr, NULL, &e);
		if (r < 0)
			log_warn("queue: suppression list of %s not read (%s is sent): %s",
				 m->sending_account, addr, e.message);
		if (r != 1)
			return 0;
		rep.event = "Bounce";
		rep.bounce_type = "Permanent";
		rep.bounce_subtype = "OnAccountSuppressionList";
		rep.status = "5.1.1";
		rep.diagnostic = "Amazon SES did not send the message to this address because it is "
				 "on the suppression list for your account.";
		outcome_report(&rep, &out[0]);
		*state_out = STORE_RCPT_BOUNCED;
		return 1;
	}
	switch (sim) {
	case OUTCOME_SIM_BOUNCE:
	case OUTCOME_SIM_SUPPRESSIONLIST:
		rep.event = "Bounce";
		rep.bounce_type = "Permanent";
		rep.status = "5.1.1";
		if (sim == OUTCOME_SIM_BOUNCE) {
			rep.bounce_subtype = "General";
			rep.diagnostic = "smtp; 550 5.1.1 user unknown";
		} else {
			rep.bounce_subtype = "Suppressed";
			rep.diagnostic = "Amazon SES has suppressed sending to this address because it "
					 "has a recent history of bouncing as an invalid address.";
		}
		outcome_report(&rep, &out[0]);
		*state_out = STORE_RCPT_BOUNCED;
		return 1;
	case OUTCOME_SIM_COMPLAINT:
		outcome_decide(&ok, &out[0]);
		rep.event = "Complaint";
		rep.feedback_type = "abuse";
		rep.user_agent = "Amazon SES Mailbox Simulator";
		outcome_report(&rep, &out[1]);
		*state_out = STORE_RCPT_DELIVERED;
		return 2;
	case OUTCOME_SIM_OOTO:
		*ooto_out = true;
		/* fall through */
	default:
		outcome_decide(&ok, &out[0]);
		*state_out = STORE_RCPT_DELIVERED;
		return 1;
	}
}

/* After a commit that counted a bounce or complaint for `account`: its
 * reputation over the trailing 24 h (from its last resume, if later), and
 * the pause when it crossed a threshold (core/reputation.h). */
static void
reputation_check(struct queue *q, const char *account, int64_t now_s)
{
	struct reputation r = {0};
	struct reputation_limits l = {.bounce_rate = q->conf->pause_bounce_rate,
				      .complaint_rate = q->conf->pause_complaint_rate,
				      .min_volume = q->conf->reputation_min_volume};
	struct account a;
	char why[128];
	struct err e;

	if (account[0] == '\0' || q->store->ops->account_get(q->store, account, &a, &e) != 1 ||
	    a.paused_reason[0] != '\0')
		return;
	if (store_reputation(q->store, &a, now_s, &r, &e) != 0) {
		log_warn("queue: reputation of %s not checked: %s", account, e.message);
		return;
	}
	if (!reputation_should_pause(&r, &l, why, sizeof(why)))
		return;
	if (q->store->ops->account_set_pause(q->store, account, why, now_s, &e) < 0)
		log_warn("queue: cannot pause %s: %s", account, e.message);
	else
		log_warn("queue: account %s paused: %s", account, why);
}

/* Record the outcomes of finished jobs in one transaction (invariant 4),
 * then free the jobs. A failed write leaves the recipients claimed: the
 * lease ends and they are taken again (by another node, or by this one
 * after a restart). */
/* A delivery attempt's one log line and its counter; status is the
 * recipient's state after it (queued: deferred, to be tried again). */
static void
attempt_log(const struct queue *q, const struct transport_job *j, const struct transport_rcpt *r,
	    const char *status)
{
	const char *outcome = strcmp(status, STORE_RCPT_QUEUED) == 0 ? "deferred" : status;
	struct log_field f[] = {
		LOG_S("message_id", j->message_id),
		LOG_S("recipient", r->address),
		LOG_S("transport", q->transport->ops->name),
		LOG_S("outcome", outcome),
		LOG_N("attempt", r->attempts),
		LOG_S("remote_ip", r->remote_ip),
		LOG_N("smtp_code", r->code),
		LOG_S("reply", r->reply),
	};
	log_fields(LOG_INFO, "delivery", f, sizeof(f) / sizeof(f[0]));
	metrics_add(METRIC_DELIVERIES, 1, q->transport->ops->name, outcome, NULL);
}

static void
results_write(struct queue *q, struct transport_job *jobs)
{
	int64_t now_ms = clock_ms(CLOCK_REALTIME);
	size_t n = 0, k = 0, njobs = 0, ji;
	struct store_rcpt_outcome *o;
	struct store_event *ev;
	struct outcome *dec;
	struct notify_out *nout;
	struct store_message *msg; /* per job, read when one of its events notifies */
	size_t *ev_job;
	struct notify_cache *cache = notify_cache_new();
	struct transport_job *j;
	struct err e;

	for (j = jobs; j != NULL; j = j->next, njobs++)
		n += j->nrcpt;
	o = xcalloc(n ? n : 1, sizeof(*o));
	ev = xcalloc(n ? n : 1, sizeof(*ev));
	dec = xcalloc(n ? n : 1, sizeof(*dec));
	nout = xcalloc(n ? n : 1, sizeof(*nout));
	ev_job = xcalloc(n ? n : 1, sizeof(*ev_job));
	msg = xcalloc(njobs ? njobs : 1, sizeof(*msg));
	for (j = jobs, ji = 0; j != NULL; j = j->next, ji++) {
		int loaded = 0;
		q->inflight_rcpts -= j->nrcpt < q->inflight_rcpts ? j->nrcpt : q->inflight_rcpts;
		if (j->cancelled)
			continue; /* invariant 4: the lease is given back at the next start */
		for (size_t i = 0; i < j->nrcpt; i++) {
			const struct transport_rcpt *r = &j->rcpt[i];
			if (r->cancelled)
				continue; /* invariant 4, as for a cancelled job */
			decide(q, j, r, now_ms, &dec[k]);
			o[k].message_id = j->message_id;
			o[k].idx = r->idx;
			o[k].status = dec[k].kind == OUTCOME_DELIVERED	 ? STORE_RCPT_DELIVERED
				      : dec[k].kind == OUTCOME_BOUNCED ? STORE_RCPT_BOUNCED
								       : STORE_RCPT_QUEUED;
			o[k].next_attempt = dec[k].next_attempt_s;
			o[k].delayed = dec[k].delayed;
			if (dec[k].event != NULL) {
				ev[k].message_id = j->message_id;
				ev[k].recipient = r->address;
				ev[k].type = (char *)dec[k].event;
				ev[k].ts_ms = now_ms;
				ev[k].detail = dec[k].detail;
				ev[k].count = outcome_stat_kind(dec[k].event, dec[k].bounce_type,
								dec[k].bounce_subtype, r->address);
				ev[k].suppress = queue_suppress_reason(ev[k].count);
				o[k].event = &ev[k];
				if (j->sending_account[0] != '\0' && loaded == 0)
					loaded = q->store->ops->message_get(q->store, j->message_id,
									    &msg[ji], &e) == 1
							 ? 1
							 : -1;
				if (loaded == 1)
					route(q, cache, &msg[ji], &ev[k], &nout[k]);
			}
			ev_job[k] = ji;
			attempt_log(q, j, r, o[k].status);
			k++;
		}
	}
	if (k > 0 && q->store->ops->rcpt_finish(q->store, q->conf->node_name, q->transport->ops->name,
						o, k, now_ms, &e) < 0) {
		log_warn("queue: cannot record %zu delivery results (the recipients stay claimed "
			 "until their lease ends): %s",
			 k, e.message);
		/* their leases must end, so renew none until they have */
		q->renew_after_ms = clock_ms(CLOCK_MONOTONIC) + (int64_t)q->conf->lease * 1000 + 1000;
	} else {
		for (size_t i = 0; i < k; i++)
			if (nout[i].forward)
				forward(q, &msg[ev_job[i]], &ev[i]);
		for (j = jobs, n = 0; j != NULL; j = j->next) {
			bool counted = false;
			for (size_t i = 0; !j->cancelled && i < j->nrcpt; i++)
				if (!j->rcpt[i].cancelled && ev[n++].count != NULL)
					counted = true;
			if (counted)
				reputation_check(q, j->sending_account, now_ms / 1000);
		}
	}
	for (size_t i = 0; i < k; i++) {
		outcome_clear(&dec[i]);
		notify_out_clear(&nout[i]);
	}
	for (size_t i = 0; i < njobs; i++)
		store_message_clear(&msg[i]);
	notify_cache_free(cache);
	free(msg);
	free(ev_job);
	free(nout);
	free(dec);
	free(ev);
	free(o);
	while (jobs != NULL) {
		j = jobs;
		jobs = jobs->next;
		transport_job_free(j);
	}
}

static int
claim_one(void *arg, const struct store_message *m, const struct store_rcpt *r, size_t n)
{
	struct queue *q = arg;
	struct transport_job *j = job_new(m, r, n, !q->transport->ops->synchronous);
	struct err e;

	q->inflight_rcpts += n;
	if (q->transport->ops->start(q->transport, j, job_done, q, &e) != 0) {
		/* stopping: the claim stays ours and is given back at the next start */
		log_info("queue: %s not started: %s", m->id, e.message);
		q->inflight_rcpts -= n;
		transport_job_free(j);
	}
	return 0;
}

/* Claim what is due, as far as the in-flight cap allows (invariant 7).
 * Returns true when the claim was full (there may be more due now). */
static bool
claim_due(struct queue *q)
{
	int64_t now = clock_ms(CLOCK_REALTIME) / 1000;
	int room = (int)(QUEUE_INFLIGHT_MAX - q->inflight_rcpts);
	struct err e;
	int n;

	if (room <= 0)
		return false;
	n = q->store->ops->rcpt_claim(q->store, q->conf->node_name, now, now + q->conf->lease, room,
				      claim_one, q, &e);
	atomic_store(&q->store_ok, n >= 0);
	if (n < 0) {
		log_warn("queue: cannot claim due recipients: %s", e.message);
		return false;
	}
	return n >= room;
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

/* ---- feedback after delivery ---------------------------------------- */

static void
fb_free(struct fb_item *f)
{
	for (size_t i = 0; i < f->n; i++)
		store_event_clear(&f->ev[i]);
	free(f->ev);
	free(f);
}

static void
fb_complete_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fb_item *f = arg;
	struct queue *q = f->q;

	f->done(f->arg, f->written, f->written < 0 ? &f->e : NULL);
	fb_free(f);
	if (q != NULL)
		atomic_fetch_sub(&q->inflight, 1);
}

static void
fb_complete(struct fb_item *f)
{
	static const struct timeval now = {0, 0};

	if (f->q != NULL)
		atomic_fetch_add(&f->q->inflight, 1);
	if (f->base == NULL) {
		fb_complete_cb(-1, EV_TIMEOUT, f);
		return;
	}
	if (event_base_once(f->base, -1, EV_TIMEOUT, fb_complete_cb, f, &now) != 0) {
		log_err("queue: cannot schedule an answer (out of memory)");
		abort();
	}
}

void
queue_feedback(struct queue *q, const struct store_event *ev, size_t n, const char *account,
	       struct event_base *reply_base, queue_feedback_fn done, void *arg)
{
	struct fb_item *f = xcalloc(1, sizeof(*f));

	f->q = q;
	f->base = reply_base;
	f->done = done;
	f->arg = arg;
	snprintf(f->account, sizeof(f->account), "%s", account != NULL ? account : "");
	f->ev = xcalloc(n ? n : 1, sizeof(*f->ev));
	f->n = n;
	for (size_t i = 0; i < n; i++) {
		f->ev[i].message_id = xstrdup(ev[i].message_id);
		f->ev[i].recipient = ev[i].recipient != NULL ? xstrdup(ev[i].recipient) : NULL;
		f->ev[i].type = xstrdup(ev[i].type);
		f->ev[i].ts_ms = ev[i].ts_ms;
		f->ev[i].detail = ev[i].detail != NULL ? xstrdup(ev[i].detail) : NULL;
		f->ev[i].count = ev[i].count;
		f->ev[i].suppress = ev[i].suppress;
	}
	if (q == NULL) {
		f->written = -1;
		err_temp(&f->e, "The report could not be recorded; try again.");
		fb_complete(f);
		return;
	}
	pthread_mutex_lock(&q->mu);
	if (q->stopping) {
		pthread_mutex_unlock(&q->mu);
		f->written = -1;
		err_temp(&f->e, "The service is shutting down; try again.");
		fb_complete(f);
		return;
	}
	f->next = q->feedback;
	q->feedback = f;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Write each waiting feedback batch in its own transaction (store thread),
 * then answer it. */
static void
feedback_write(struct queue *q, struct fb_item *list)
{
	while (list != NULL) {
		struct fb_item *f = list;
		struct store_message m = {0};
		struct notify_out *nout = xcalloc(f->n ? f->n : 1, sizeof(*nout));
		bool *written = xcalloc(f->n ? f->n : 1, sizeof(*written));
		bool counted = false;
		struct err e;
		list = f->next;
		f->next = NULL;
		/* one report is about one message: its settings route every event */
		if (f->n > 0 && f->account[0] != '\0' &&
		    q->store->ops->message_get(q->store, f->ev[0].message_id, &m, &e) == 1)
			for (size_t i = 0; i < f->n; i++)
				route(q, NULL, &m, &f->ev[i], &nout[i]);
		f->written = q->store->ops->feedback_add(q->store, f->ev, f->n, written, &f->e);
		if (f->written < 0)
			log_warn("queue: cannot record feedback for %s: %s", f->account, f->e.message);
		for (size_t i = 0; f->written > 0 && i < f->n; i++) {
			counted = counted || (written[i] && f->ev[i].count != NULL);
			if (written[i] && nout[i].forward)
				forward(q, &m, &f->ev[i]);
		}
		if (counted)
			reputation_check(q, f->account, clock_ms(CLOCK_REALTIME) / 1000);
		for (size_t i = 0; i < f->n; i++) {
			f->ev[i].notices = NULL;
			f->ev[i].nnotices = 0;
			notify_out_clear(&nout[i]);
		}
		free(nout);
		free(written);
		store_message_clear(&m);
		fb_complete(f);
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

/* A synchronous transport's completion (inside start). */
struct sync_done {
	bool done;
};

static void
sync_done_cb(void *arg, struct transport_job *job)
{
	struct sync_done *sd = arg;

	(void)job;
	sd->done = true;
}

/*
 * The store refused an item's message: a decision of the store (the daily
 * quota, checked there so that it holds across nodes) goes back as is; a
 * storage failure goes back in words that say nothing of the store.
 */
static void
store_refused(struct item *it, const struct err *e)
{
	it->failed = true;
	if (strcmp(e->code, "ServiceUnavailable") == 0) {
		log_warn("queue: message %s could not be stored: %s", it->id, e->message);
		err_temp(&it->e, "The message could not be stored; try again.");
	} else if (&it->e != e) {
		it->e = *e;
	}
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
	const char **failure = xcalloc(n, sizeof(*failure));
	int64_t start_us = mono_us();
	for (i = 0, it = batch; it != NULL; it = it->next, i++) {
		metrics_observe(METRIC_STAGE_SECONDS, (double)(start_us - it->submit_us) / 1e6,
				"queue_wait");
		v[i] = it->m;
		failure[i] = it->rendering_failure;
	}
	/* Every recipient gets its Send event. One whose fate is known at
	 * accept (the suppression list, the mailbox simulator) gets its events
	 * now and starts finished. A synchronous transport (capture) delivers
	 * the rest before the commit, so the message is stored already
	 * delivered with its Delivery events: one transaction, one fsync
	 * (invariants 2, 5). What is left is stored queued and claimed like
	 * any other. */
	size_t nev = 0, k = 0;
	for (i = 0; i < n; i++)
		nev += v[i].ndestinations * 3 + (failure[i] != NULL);
	struct store_event *ev = xcalloc(nev ? nev : 1, sizeof(*ev));
	struct outcome *dec = xcalloc(nev ? nev : 1, sizeof(*dec));
	struct notify_out *nout = xcalloc(nev ? nev : 1, sizeof(*nout));
	size_t *ev_msg = xcalloc(nev ? nev : 1, sizeof(*ev_msg));
	struct notify_cache *cache = notify_cache_new();
	const char ***state = xcalloc(n, sizeof(*state));
	size_t ndec = 0;
	bool queued_any = false;
	int64_t now_ms = clock_ms(CLOCK_REALTIME);
	size_t first = 0; /* the first event of message i */
	for (i = 0; i < n; i++) {
		size_t nd = v[i].ndestinations, nreal = 0, ndelivered = 0;
		if (failure[i] != NULL) {
			/* a template that did not render: accepted, stored failed
			 * with its one RenderingFailure event, never delivered; only
			 * a configuration set publishes it (no identity topic does) */
			ev[k].message_id = v[i].id;
			ev[k].recipient = NULL;
			ev[k].type = STORE_EV_RENDERING_FAILURE;
			ev[k].ts_ms = now_ms;
			ev[k].detail = (char *)failure[i];
			ev_msg[k] = i;
			route(q, cache, &v[i], &ev[k], &nout[k]);
			k++;
			first = k;
			/* no transport ever had it: it is in no inbox */
			snprintf(v[i].status, sizeof(v[i].status), "%s", STORE_MSG_FAILED);
			v[i].delivered_ms = now_ms;
			continue;
		}
		struct store_rcpt *rc = xcalloc(nd ? nd : 1, sizeof(*rc));
		state[i] = xcalloc(nd ? nd : 1, sizeof(**state));
		for (size_t r = 0; r < nd; r++) {
			ev[k].message_id = v[i].id;
			ev[k].recipient = v[i].destinations[r];
			ev[k].type = STORE_EV_SEND;
			ev[k].ts_ms = v[i].created_ms;
			k++;
		}
		for (size_t r = 0; r < nd; r++) {
			bool ooto;
			size_t nf = accept_fate(q, &v[i], v[i].destinations[r], now_ms, &dec[ndec],
						&state[i][r], &ooto);
			for (size_t f = 0; f < nf; f++, ndec++, k++) {
				ev[k].message_id = v[i].id;
				ev[k].recipient = v[i].destinations[r];
				ev[k].type = (char *)dec[ndec].event;
				ev[k].ts_ms = now_ms;
				ev[k].detail = dec[ndec].detail;
			}
			if (ooto)
				ooto_reply(q, &v[i], v[i].destinations[r]);
			if (nf == 0) {
				rc[nreal].idx = (int)r;
				rc[nreal].address = v[i].destinations[r];
				rc[nreal].attempts = 1;
				nreal++;
			} else if (strcmp(state[i][r], STORE_RCPT_DELIVERED) == 0) {
				ndelivered++;
			}
		}
		v[i].rcpt_state = state[i];
		bool all = nreal == 0;
		if (nreal > 0 && q->transport->ops->synchronous) {
			struct transport_job *j = job_new(&v[i], rc, nreal, false);
			struct sync_done sd = {0};
			if (q->transport->ops->start(q->transport, j, sync_done_cb, &sd, &e) == 0 &&
			    sd.done) {
				all = true;
				for (size_t r = 0; r < j->nrcpt; r++)
					all = all && j->rcpt[r].status == TRANSPORT_DELIVERED;
			}
			for (size_t r = 0; all && r < j->nrcpt; r++, k++, ndec++) {
				decide(q, j, &j->rcpt[r], now_ms, &dec[ndec]);
				attempt_log(q, j, &j->rcpt[r], STORE_RCPT_DELIVERED);
				ev[k].message_id = v[i].id;
				ev[k].recipient = j->rcpt[r].address;
				ev[k].type = (char *)dec[ndec].event;
				ev[k].ts_ms = now_ms;
				ev[k].detail = dec[ndec].detail;
				ndelivered++;
			}
			/* the rows' addresses are the message's; the job's are copies */
			for (size_t r = 0; all && r < j->nrcpt; r++)
				ev[k - j->nrcpt + r].recipient = v[i].destinations[rc[r].idx];
			transport_job_free(j);
		}
		free(rc);
		snprintf(v[i].transport, sizeof(v[i].transport), "%s", q->transport->ops->name);
		if (all) {
			snprintf(v[i].status, sizeof(v[i].status), "%s",
				 ndelivered > 0 ? STORE_MSG_DELIVERED : STORE_MSG_FAILED);
			v[i].delivered_ms = now_ms;
		} else {
			queued_any = true;
		}
		/* the events decided now notify now: their notices ride on them */
		while (first < k) {
			ev_msg[first] = i;
			route(q, cache, &v[i], &ev[first], &nout[first]);
			first++;
		}
	}
	int64_t t0_us = mono_us();
	bool stored = q->store->ops->message_insert(q->store, v, n, ev, k, &e) == 0;
	/* a batch refused for its quota still proves the store writable */
	atomic_store(&q->store_ok, stored || !e.temporary);
	if (stored) {
		metrics_observe(METRIC_COMMIT_SECONDS, (double)(mono_us() - t0_us) / 1e6, NULL);
		metrics_observe(METRIC_COMMIT_BATCH, (double)n, NULL);
		for (i = 0; i < n; i++)
			ok[i] = true;
	} else if (n > 1) {
		/* One message the store refuses (its sender over the daily
		 * quota another node just used up) must not sink its batch:
		 * retry each with its own events (laid out message by message). */
		size_t from = 0;
		for (i = 0, it = batch; i < n; i++, it = it->next) {
			size_t to = from;
			while (to < k && strcmp(ev[to].message_id, v[i].id) == 0)
				to++;
			ok[i] = q->store->ops->message_insert(q->store, &v[i], 1, ev + from,
							      to - from, &it->e) == 0;
			from = to;
			if (!ok[i])
				store_refused(it, &it->e);
		}
	} else {
		for (it = batch; it != NULL; it = it->next)
			store_refused(it, &e);
	}
	if (queued_any)
		q->claim_now = true;
	for (size_t x = 0; x < k; x++) {
		if (nout[x].forward && ok[ev_msg[x]])
			forward(q, &v[ev_msg[x]], &ev[x]);
		notify_out_clear(&nout[x]);
	}
	notify_cache_free(cache);
	free(nout);
	free(ev_msg);
	for (i = 0; i < ndec; i++)
		outcome_clear(&dec[i]);
	for (i = 0; i < n; i++) {
		free(state[i]);
		v[i].rcpt_state = NULL;
	}
	free(state);
	free(dec);
	free(ev);
	q->nbatches++;
	for (i = 0; i < n; i++)
		q->nmessages += ok[i];
	free(v); /* the members still belong to the items */
	free(ok);
	free(failure);
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

/* Every third of --lease while recipients are in flight: extend this node's
 * leases, so a delivery slower than the lease (an MX taking minutes over
 * DATA) is never attempted by a second node while this one lives. */
static void
renew_leases(struct queue *q, int64_t *next_ms)
{
	int64_t now_ms = clock_ms(CLOCK_MONOTONIC), period = (int64_t)q->conf->lease * 1000 / 3;
	int64_t now_s = clock_ms(CLOCK_REALTIME) / 1000;
	struct err e;

	if (now_ms < *next_ms)
		return;
	*next_ms = now_ms + (period < 1000 ? 1000 : period);
	if (q->inflight_rcpts == 0 || now_ms < q->renew_after_ms)
		return;
	if (q->store->ops->rcpt_renew(q->store, q->conf->node_name, now_s, now_s + q->conf->lease,
				      &e) < 0)
		log_warn("queue: cannot renew the leases of recipients in flight: %s", e.message);
}

static void *
queue_main(void *arg)
{
	struct queue *q = arg;
	int64_t next_scan = 0; /* at once: what a previous run left queued */
	int64_t next_renew = 0;
	struct transport_job *results;
	struct err e;
	int n;

	/* invariant 4: leases this node held when it died are ours to give back */
	if ((n = q->store->ops->rcpt_release(q->store, q->conf->node_name, &e)) < 0)
		log_warn("queue: cannot release the claims of the last run: %s", e.message);
	else if (n > 0)
		log_info("queue: %d recipients claimed by the last run are due again", n);
	for (;;) {
		struct item *batch;
		struct event_rec *events;
		struct fb_item *feedback;
		size_t nb;
		bool stop;

		pthread_mutex_lock(&q->mu);
		while (q->head == NULL && q->events == NULL && q->results == NULL &&
		       q->feedback == NULL && !q->stopping && !q->claim_now && clock_ms(CLOCK_MONOTONIC) < next_scan)
			wait_until(q, next_scan);
		batch = take_batch(q, &nb);
		events = q->events;
		q->events = NULL;
		q->nevents = 0;
		results = q->results;
		q->results = NULL;
		feedback = q->feedback;
		q->feedback = NULL;
		stop = q->stopping && q->head == NULL;
		pthread_mutex_unlock(&q->mu);

		atomic_store(&q->beat_ms, clock_ms(CLOCK_MONOTONIC));
		if (batch != NULL)
			batch_run(q, batch, nb);
		events_write(q, events);
		if (results != NULL)
			results_write(q, results);
		feedback_write(q, feedback);
		if (stop)
			break; /* everything submitted before queue_stop is answered */
		renew_leases(q, &next_renew);
		if (q->claim_now || clock_ms(CLOCK_MONOTONIC) >= next_scan) {
			bool full;
			q->claim_now = false;
			full = claim_due(q);
			next_scan = clock_ms(CLOCK_MONOTONIC) + (full ? 0 : SCAN_INTERVAL_MS);
		}
	}
	/* Finish or cancel what the transport still holds, and record what
	 * finished (a cancelled job records nothing: invariant 4). */
	if (q->transport->ops->stop != NULL)
		q->transport->ops->stop(q->transport);
	pthread_mutex_lock(&q->mu);
	results = q->results;
	q->results = NULL;
	pthread_mutex_unlock(&q->mu);
	if (results != NULL)
		results_write(q, results);
	return NULL;
}

void
queue_health(struct queue *q, int64_t *idle_ms, bool *store_ok)
{
	*idle_ms = clock_ms(CLOCK_MONOTONIC) - atomic_load(&q->beat_ms);
	*store_ok = atomic_load(&q->store_ok);
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
	q->conf = c;
	atomic_init(&q->inflight, 0);
	atomic_init(&q->beat_ms, clock_ms(CLOCK_MONOTONIC));
	atomic_init(&q->store_ok, true);
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

/*
 * queue.h — durable accept with group commit, and the delivery worker.
 *
 * One store thread owns a store handle for writes. Front ends (API loops,
 * SMTP loops) submit accepted messages; the store thread takes everything
 * submitted so far, writes it in ONE transaction (one fsync), and only then
 * completes each submission — on the submitter's own event loop, through
 * event_base_once — with its MessageId. Invariant: a MessageId is handed out
 * only after its message is durable; a failed commit completes every
 * submission of the batch with a temporary error and nothing is half-stored.
 *
 * The same thread hands queued messages to the transport (--transport;
 * capture first): status queued → delivered | failed, recorded once. With a
 * synchronous transport (capture) a batch is delivered before its
 * submissions complete, so a caller holding a MessageId finds the message
 * in the inbox. Queued messages left by a crash are delivered after the
 * next start. docs/internals/queue.md has the state machine and numbers.
 */
#ifndef SESAME_QUEUE_QUEUE_H
#define SESAME_QUEUE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct conf;
struct event_base;
struct queue;

/* Caps (STYLE §10): submissions waiting for the store thread, and the size
 * of one group commit. A submission past QUEUE_MAX_PENDING is answered at
 * once with a temporary error (ServiceUnavailable, SMTP 451). */
#define QUEUE_MAX_PENDING 65536
#define QUEUE_BATCH_MAX 512
#define QUEUE_BATCH_BYTES (64u * 1024 * 1024)

struct queue_msg {
	char id[80];                /* MessageId (queue_message_id); "" = the queue makes one */
	char region[33];
	char sending_account[13];   /* the caller: charged for quota/stats */
	char identity_owner[13];    /* owner of the From identity ("" = same) */
	char *source_arn, *from_arn, *return_path_arn; /* identity ARNs used, may be NULL */
	char *principal;            /* caller principal ARN or service */
	char source_ip[64];
	char *source;               /* SES Source: the Return-Path addr-spec */
	char *mail_from;            /* envelope MAIL FROM as it leaves (VERP), NULL = source */
	char *from_addr;            /* From header addr-spec */
	char *subject;              /* decoded, may be NULL */
	char **destinations;        /* envelope recipients (UTF-8), each malloc'd */
	size_t ndestinations;
	uint8_t *raw;               /* the message as it will be delivered */
	size_t raw_len;
	int64_t max_24h;            /* the sending account's 24 h quota (-1 unlimited),
				     * checked again when the message is committed */
	char *config_set;           /* the sending account's configuration set, NULL = none */
	char *tags;                 /* mail.tags JSON object text, NULL = {} */
	char *rendering_failure;    /* NULL: deliver. Else the detail JSON of a template
				     * that did not render ({"templateName", "errorMessage"}):
				     * the message is stored failed with this one
				     * RenderingFailure event and never delivered */
};

/* Free every member (not the struct) and zero it. NULL is a no-op. */
void queue_msg_clear(struct queue_msg *m);

/* Completion: message_id is set on success, e on failure (e->temporary for
 * storage trouble and shutdown: answer 503 / SMTP 451). Runs exactly once
 * per submission, never inside queue_submit, on the event_base passed to
 * queue_submit — or, when that was NULL, on the queue's own thread (then it
 * must be quick and thread-safe). */
typedef void (*queue_done_fn)(void *arg, const char *message_id, const struct err *e);

/* Open the queue's own store handle and the transport named by
 * c->transport, run the store thread (which first picks up messages a
 * previous run left queued). Call before any front end starts: it also
 * enables libevent's pthread locking, which event_base_once across threads
 * needs and which must precede event_base_new. NULL with e filled. */
struct queue *queue_start(const struct conf *c, struct err *e);

/* Stop taking work: commit (and answer) everything already submitted, wait
 * until those answers ran on their loops (up to a few seconds), and join the
 * thread. Later submissions are answered with a temporary error. Call while
 * the front ends' loops still run; then stop them; then queue_free. */
void queue_stop(struct queue *q);
/* Free a stopped queue (stops it first if needed). NULL is a no-op. */
void queue_free(struct queue *q);

/* Take ownership of *m (its members are moved; *m is zeroed) and queue it
 * for the next group commit. Thread-safe; never blocks on I/O. q == NULL
 * answers with a temporary error. A recipient that is not valid UTF-8 is
 * answered with InvalidParameterValue without touching the batch. */
void queue_submit(struct queue *q, struct queue_msg *m, struct event_base *reply_base,
		  queue_done_fn done, void *arg);

/* Count `n` recipients of a `kind` event ("reject", later "bounce",
 * "complaint") for `account` at unix time `ts` in the statistics. Written by
 * the store thread soon after, folded per minute; never blocks on the store.
 * (Accepts are counted with their messages, in the same transaction.) */
void queue_record(struct queue *q, const char *account, int64_t ts, const char *kind, int64_t n);

/* Feedback learnt after a message left (feedback/: DSN and ARF reports).
 * The store thread writes the `n` events (copied; `count` and `suppress`
 * must be static strings) with the store's feedback_add — each at most once
 * per message, recipient and type — and then re-checks the reputation of
 * `account`, the sending account of their message, when one counted. done
 * runs as for queue_submit, with how many were written, or -1 and e. */
typedef void (*queue_feedback_fn)(void *arg, int written, const struct err *e);
struct store_event;
void queue_feedback(struct queue *q, const struct store_event *ev, size_t n,
		    const char *account, struct event_base *reply_base, queue_feedback_fn done,
		    void *arg);

/* For /healthz: how long ago (ms) the store thread last went round its
 * loop (it does at least once a second while alive), and whether its last
 * store write (the due claim, a group commit) succeeded. Thread-safe. */
void queue_health(struct queue *q, int64_t *idle_ms, bool *store_ok);

/* A new MessageId in SES's format: "0100" + 12 hex digits of the unix time
 * in ms + "-" + a random UUID v4 + "-000000" (60 characters). */
void queue_message_id(char out[80]);

#endif

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
 * The same thread (or a sibling worker) hands queued messages to the
 * transport (capture first): status queued → delivered | failed.
 */
#ifndef SESAME_QUEUE_QUEUE_H
#define SESAME_QUEUE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct conf;
struct event_base;
struct queue;

struct queue_msg {
	char region[33];
	char sending_account[13];   /* the caller: charged for quota/stats */
	char identity_owner[13];    /* owner of the From identity ("" = same) */
	char *source_arn, *from_arn, *return_path_arn; /* identity ARNs used, may be NULL */
	char *principal;            /* caller principal ARN or service */
	char source_ip[64];
	char *source;               /* envelope sender (Return-Path) addr-spec */
	char *from_addr;            /* From header addr-spec */
	char *subject;              /* decoded, may be NULL */
	char **destinations;        /* envelope recipients */
	size_t ndestinations;
	uint8_t *raw;               /* the message as it will be delivered */
	size_t raw_len;
};

/* Free every member (not the struct). */
void queue_msg_clear(struct queue_msg *m);

/* Completion: message_id is set on success, e on failure. Runs on the
 * event_base passed to queue_submit. */
typedef void (*queue_done_fn)(void *arg, const char *message_id, const struct err *e);

struct queue *queue_start(const struct conf *c, struct err *e);
void queue_stop(struct queue *q);

/* Take ownership of *m (its members are moved; *m is zeroed). */
void queue_submit(struct queue *q, struct queue_msg *m, struct event_base *reply_base,
		  queue_done_fn done, void *arg);

/* A new MessageId in SES's format (e.g. 0100018c…-uuid-000000). */
void queue_message_id(char out[80]);

#endif

/*
 * notify.h — who hears of a message's event, and what they read: SES's
 * notification JSON for the identity topics of the owner and of the
 * delegate (DESIGN.md "Feedback: who gets what"), and whether the bounce
 * or complaint is forwarded by email to the Return-Path.
 *
 * Routing for an event of message m (sent by account S as identity I of
 * owner O; I is the most specific identity of O covering m's From address):
 *   - O's own settings on I: every message from I;
 *   - S's settings on I, S != O (set naming I by ARN): S's messages only;
 *   - one notification per topic, whoever routed there (headers included
 *     when any setting routing there asks for them);
 *   - S's configuration set named by m (S's own, looked up at send): its
 *     enabled SNS destinations matching the event type get SES's event
 *     publishing JSON (Send, Reject, Bounce, Complaint, Delivery,
 *     DeliveryDelay, RenderingFailure), one per topic;
 *   - feedback forwarding (Bounce, Complaint): when O's ForwardingEnabled is
 *     on, or when nothing at all routes the event (ses-api.md §8).
 * The callers (queue/, feedback/) attach the notices to the event they
 * write, so a notification is durable with its event and sent once.
 */
#ifndef SESAME_NOTIFY_NOTIFY_H
#define SESAME_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

struct store;
struct store_message;
struct store_notice;

/* Settings read for one batch of events: identity lookups and
 * notification settings, keyed by (region, owner, address). A cache lives
 * for one batch (the store may change between batches). */
struct notify_cache;
struct notify_cache *notify_cache_new(void);
void notify_cache_free(struct notify_cache *c); /* NULL: no-op */

/* What one event publishes. */
struct notify_out {
	struct store_notice *v;  /* topic ARN + the notification JSON; owned */
	size_t n;
	bool forward;            /* mail the feedback to the Return-Path */
};
void notify_out_clear(struct notify_out *o);

/*
 * The notices event `type` (identity topics: "Bounce", "Complaint",
 * "Delivery"; configuration sets: every STORE_EV_* type) of recipient `recipient` with SES detail object
 * `detail` (JSON text) of message m makes, at `now_ms`. m needs its raw
 * bytes only when a setting asks for headers. 0, or -1 on a store error
 * (e: temporary). `c` may be NULL.
 */
int notify_route(struct store *s, struct notify_cache *c, const struct store_message *m,
		 const char *type, const char *recipient, const char *detail, int64_t now_ms,
		 struct notify_out *out, struct err *e);

/* SES's notification JSON for one event (notificationType, mail, and the
 * bounce/complaint/delivery object); headers from m->raw when asked.
 * malloc'd. */
char *notify_json(const struct store_message *m, const char *identity_arn, const char *type,
		  const char *detail, bool headers);

/* SES's event publishing JSON for one event of a configuration set's
 * destination (eventType, mail with headers and tags, and the type object:
 * send, reject, bounce, complaint, delivery, deliveryDelay, or failure for
 * RenderingFailure). malloc'd. */
char *notify_event_json(const struct store_message *m, const char *identity_arn,
			const char *type, const char *detail);

/* The feedback-forwarding mail for a Bounce or Complaint of `recipient` of
 * m: a multipart/report (DSN for a bounce, ARF for a complaint) from
 * MAILER-DAEMON@`mta` to m's Return-Path, with the original's headers.
 * Appended to out (CRLF). `message_id` is the new mail's Message-ID. */
int notify_forward_mail(const struct store_message *m, const char *type,
			const char *recipient, const char *detail, const char *mta,
			const char *message_id, int64_t now_ms, struct buf *out);

#endif

/*
 * feedback.h — what an inbound report means: the envelope recipients the
 * feedback listener takes, and the events a DSN (RFC 3464) or an ARF
 * report (RFC 5965) makes for the message it is about. The listener itself
 * is the SMTP front end's third listener (smtp/server.c, --feedback): the
 * same connection glue, line reader and session machine as submission, in
 * its inbound mode (no AUTH, MAIL FROM:<>). This file has no I/O but store
 * reads; the events are written by the queue's store thread
 * (queue_feedback), once each.
 *
 * Matching (spec/feedback-notify.md §2-3): the message is the one whose
 * MessageId is the local part of an envelope recipient (VERP,
 * <MessageId>@<bounce domain>), else the one named by the returned
 * original's Message-ID (<MessageId@…amazonses.com>). Its recipients:
 *   - DSN: each per-recipient block's Final-Recipient (else
 *     Original-Recipient) that is one of the message's destinations (a
 *     single-destination message takes a block naming anyone: forwarding
 *     rewrites addresses); Action failed → Bounce typed by its Status
 *     (outcome_bounce_type; no Status: Undetermined), delayed →
 *     DeliveryDelay, others nothing;
 *   - ARF: Original-Rcpt-To, else the original's To, when it is one of the
 *     destinations; else every destination (the ISP redacted it) →
 *     Complaint with the Feedback-Type, User-Agent and Arrival-Date.
 * A Permanent bounce and a complaint count for the message's SENDING
 * account and put the recipient on its suppression list
 * (outcome_stat_kind: never for the simulator).
 */
#ifndef SESAME_FEEDBACK_FEEDBACK_H
#define SESAME_FEEDBACK_FEEDBACK_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct conf;
struct store;
struct store_event;

/* Does the listener take reports for `address`: its domain is
 * --bounce-domain or a verified custom MAIL FROM domain. 1 yes, 0 no, -1
 * on a store error (e: temporary). */
int feedback_rcpt_ok(struct store *s, const struct conf *c, const char *address,
		     struct err *e);

/* The events one report makes. */
struct feedback_match {
	char message_id[80];     /* the message matched; "" = none */
	char account[13];        /* its sending account ("" = sesame's own mail) */
	const char *kind;        /* "DSN", "ARF" or "other" (static) */
	struct store_event *ev;  /* n events, owned (feedback_match_clear) */
	size_t n;
};

/* Parse `data` (the report as received, len <= the listener's cap), match
 * it with the envelope recipients `rcpt`, and fill `out` (zeroed first) at
 * unix time `now_ms`. 0 (out->n may be 0: not a report, unknown message,
 * no known recipient), -1 on a store error (e: temporary). */
int feedback_match(struct store *s, const struct conf *c, const char *const *rcpt,
		   size_t nrcpt, const char *data, size_t len, int64_t now_ms,
		   struct feedback_match *out, struct err *e);
void feedback_match_clear(struct feedback_match *m);

#endif

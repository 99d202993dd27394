/*
 * feedback.c — matching a DSN or an ARF report to the message and
 * recipients it is about, and the events it makes (feedback.h).
 */
#include "feedback/feedback.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "core/outcome.h"
#include "feedback/report.h"
#include "store/store.h"
#include "util/xalloc.h"

/* The domain of an addr-spec, or "" when it has none. */
static const char *
domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL ? at + 1 : "";
}

int
feedback_rcpt_ok(struct store *s, const struct conf *c, const char *address, struct err *e)
{
	const char *d = domain_of(address);

	if (d[0] == '\0')
		return 0;
	if (strcasecmp(d, c->bounce_domain) == 0)
		return 1;
	return s->ops->mail_from_known(s, d, e);
}

/* Look up the message whose MessageId is `id` (NULL/"" = none). 1 found
 * (out filled), 0 not, -1 store error. */
static int
find_message(struct store *s, const char *id, size_t n, struct store_message *out,
	     struct err *e)
{
	char key[80];

	if (id == NULL || n == 0 || n >= sizeof(key))
		return 0;
	memcpy(key, id, n);
	key[n] = '\0';
	return s->ops->message_get(s, key, out, e);
}

/* The message a report is about: the VERP local part of an envelope
 * recipient, else the original's Message-ID local part. */
static int
match_message(struct store *s, const char *const *rcpt, size_t nrcpt, const struct report *r,
	      struct store_message *m, struct err *e)
{
	int k;

	for (size_t i = 0; i < nrcpt; i++) {
		const char *at = strrchr(rcpt[i], '@');
		if (at != NULL && (k = find_message(s, rcpt[i], (size_t)(at - rcpt[i]), m, e)) != 0)
			return k;
	}
	const char *id = r->original_message_id, *at = strrchr(id, '@');
	return find_message(s, id, at != NULL ? (size_t)(at - id) : strlen(id), m, e);
}

/* The destination of m that `address` names (case-insensitive), or NULL. */
static const char *
destination(const struct store_message *m, const char *address)
{
	if (address == NULL || address[0] == '\0')
		return NULL;
	for (size_t i = 0; i < m->ndestinations; i++)
		if (strcasecmp(m->destinations[i], address) == 0)
			return m->destinations[i];
	return NULL;
}

/* Append the event an outcome_report makes for `to` of message m. */
static void
add_event(struct feedback_match *out, const struct store_message *m, const char *to,
	  struct outcome_report *rep)
{
	struct outcome o;
	struct store_event *ev;

	rep->recipient = to;
	rep->message_id = m->id;
	outcome_report(rep, &o);
	out->ev = xrealloc(out->ev, (out->n + 1) * sizeof(*out->ev));
	ev = &out->ev[out->n++];
	memset(ev, 0, sizeof(*ev));
	ev->message_id = xstrdup(m->id);
	ev->recipient = xstrdup(to);
	ev->type = xstrdup(o.event);
	ev->ts_ms = rep->now_ms;
	ev->detail = o.detail; /* moved */
	ev->count = outcome_stat_kind(o.event, o.bounce_type, o.bounce_subtype, to);
	if (ev->count != NULL)
		ev->suppress = strcmp(ev->count, "complaint") == 0 ? STORE_SUPPRESS_COMPLAINT
								 : STORE_SUPPRESS_BOUNCE;
}

static void
dsn_events(const struct report *r, const struct store_message *m, const struct conf *c,
	   int64_t now_ms, struct feedback_match *out)
{
	for (size_t i = 0; i < r->nrcpt; i++) {
		const struct report_rcpt *b = &r->rcpt[i];
		const char *to = destination(m, b->final_recipient);
		struct outcome_report rep = {.now_ms = now_ms,
					     .status = b->status,
					     .diagnostic = b->diagnostic_code,
					     .reporting_mta = r->reporting_mta,
					     .our_mta = c->helo,
					     .remote_mta = b->remote_mta,
					     .expires_ms = m->created_ms +
							   (int64_t)c->max_queue_age * 1000};

		if (to == NULL)
			to = destination(m, b->original_recipient);
		if (to == NULL && m->ndestinations == 1)
			to = m->destinations[0]; /* forwarded: the address was rewritten */
		if (to == NULL)
			continue;
		/* no Action (it is required): the Status class says it */
		const char *action = b->action[0] != '\0' ? b->action
				     : b->status[0] == '5' ? "failed"
				     : b->status[0] == '4' ? "delayed"
							   : "";
		if (strcmp(action, "delayed") == 0) {
			rep.event = "DeliveryDelay";
		} else if (strcmp(action, "failed") == 0) {
			rep.event = "Bounce";
			if (b->status[0] == '\0')
				rep.bounce_type = "Undetermined", rep.bounce_subtype = "Undetermined";
		} else {
			continue; /* delivered, relayed, expanded: nothing to record */
		}
		add_event(out, m, to, &rep);
	}
}

static void
arf_events(const struct report *r, const struct store_message *m, int64_t now_ms,
	   struct feedback_match *out)
{
	struct outcome_report rep = {.event = "Complaint",
				     .now_ms = now_ms,
				     .feedback_type = r->feedback_type,
				     .user_agent = r->user_agent,
				     .arrival_date = r->arrival_date};
	const char *to = destination(m, r->original_rcpt_to);

	if (to == NULL)
		to = destination(m, r->original_to);
	if (to != NULL) {
		add_event(out, m, to, &rep);
		return;
	}
	/* redacted: SES holds every recipient of the message to it */
	for (size_t i = 0; i < m->ndestinations; i++)
		add_event(out, m, m->destinations[i], &rep);
}

int
feedback_match(struct store *s, const struct conf *c, const char *const *rcpt, size_t nrcpt,
	       const char *data, size_t len, int64_t now_ms, struct feedback_match *out,
	       struct err *e)
{
	struct report *r = xcalloc(1, sizeof(*r));
	struct store_message m = {0};
	int k;

	memset(out, 0, sizeof(*out));
	out->kind = "other";
	switch (report_parse(data, len, r)) {
	case REPORT_DSN:
		out->kind = "DSN";
		break;
	case REPORT_ARF:
		out->kind = "ARF";
		break;
	default:
		free(r);
		return 0;
	}
	if ((k = match_message(s, rcpt, nrcpt, r, &m, e)) <= 0) {
		free(r);
		return k;
	}
	snprintf(out->message_id, sizeof(out->message_id), "%s", m.id);
	snprintf(out->account, sizeof(out->account), "%s", m.sending_account);
	if (r->kind == REPORT_DSN)
		dsn_events(r, &m, c, now_ms, out);
	else
		arf_events(r, &m, now_ms, out);
	store_message_clear(&m);
	free(r);
	return 0;
}

void
feedback_match_clear(struct feedback_match *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		store_event_clear(&m->ev[i]);
	free(m->ev);
	memset(m, 0, sizeof(*m));
}

/*
 * act_notify.c — an identity's notification settings (spec §2.4):
 * SetIdentityNotificationTopic, GetIdentityNotificationAttributes,
 * SetIdentityHeadersInNotificationsEnabled, SetIdentityFeedbackForwardingEnabled.
 *
 * Each account has its own settings for an identity (store notify_*): the
 * owner names its identity by name or by ARN, and its topics get all mail
 * from the identity; a delegate names the owner's identity by ARN and, when
 * the owner's policies let it send from that identity, sets topics that get
 * only its own mail (DESIGN.md "Feedback: who gets what"). Nobody sees or
 * changes another account's settings. Feedback forwarding by email is the
 * owner's alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/act.h"
#include "api/form.h"
#include "api/xml.h"
#include "core/arn.h"
#include "core/identity.h"
#include "core/policy.h"
#include "store/store.h"
#include "util/xalloc.h"

#define ATTR_MAX_IDENTITIES 100
#define POLICIES_MAX 20

static const char *const type_names[NOTIFY_NTYPES] = {"Bounce", "Complaint", "Delivery"};
static const char *const topic_members[NOTIFY_NTYPES] = {"BounceTopic", "ComplaintTopic",
							 "DeliveryTopic"};

/* The identity a request names, and whose settings it is about. */
struct target {
	char owner[13];
	char name[IDENTITY_NAME_MAX + 1];
	bool delegate;   /* the caller is not the owner */
	struct identity id;
};

/* Do the owner's policies on `t` allow the caller to send from it (either
 * send action, unconditionally)? 1 yes, 0 no, -1 store error. */
static int
may_send_as(struct api_ctx *ctx, const struct target *t, const char *arn, struct err *e)
{
	struct identity_policy pol[POLICIES_MAX];
	const struct policy *set[POLICIES_MAX];
	int n = ctx->store->ops->policy_list(ctx->store, ctx->region, t->owner, t->name, pol,
					     POLICIES_MAX, e);
	enum policy_decision d[2] = {POLICY_IMPLICIT_DENY, POLICY_IMPLICIT_DENY};
	static const char *const actions[] = {"ses:SendEmail", "ses:SendRawEmail"};

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		struct policy *p = NULL;
		struct err ignored;
		set[i] = policy_compile(pol[i].document, strlen(pol[i].document), POLICY_RESOURCE,
					&p, &ignored) == 0
				 ? p
				 : NULL;
	}
	for (int a = 0; a < 2; a++) {
		struct policy_request req = {.principal = ctx->caller.principal_arn,
					     .action = actions[a],
					     .resource = arn};
		d[a] = policy_evaluate(set, (size_t)n, &req, NULL);
	}
	for (int i = 0; i < n; i++) {
		policy_free((struct policy *)set[i]);
		identity_policy_clear(&pol[i]);
	}
	return d[0] == POLICY_ALLOWED || d[1] == POLICY_ALLOWED;
}

/* Resolve `value` (a name, or an identity ARN) into t. The identity must
 * exist; a delegate's must be verified and the owner's policies must let it
 * send from it (when `authorize`). */
static int
resolve(struct api_ctx *ctx, const char *value, const char *action, bool authorize,
	struct target *t, struct err *e)
{
	char arn[IDENTITY_NAME_MAX + 128];
	enum identity_type type;
	int r;

	memset(t, 0, sizeof(*t));
	snprintf(t->owner, sizeof(t->owner), "%s", ctx->caller.account_id);
	if (strncmp(value, "arn:", 4) == 0) {
		struct arn_identity a;
		if (arn_identity_parse(value, strlen(value), &a, e) != 0)
			return -1;
		if (strcmp(a.region, ctx->region) != 0)
			return err_set(e, 400, "InvalidParameterValue",
				       "Identity ARN %.256s is in region %s, but the request was "
				       "sent to region %s.",
				       value, a.region, ctx->region);
		snprintf(t->owner, sizeof(t->owner), "%s", a.account);
		if (identity_normalise(a.identity, t->name, sizeof(t->name), &type, e) != 0)
			return -1;
		t->delegate = strcmp(a.account, ctx->caller.account_id) != 0;
	} else if (identity_normalise(value, t->name, sizeof(t->name), &type, e) != 0) {
		return -1;
	}
	if ((r = ctx->store->ops->identity_get(ctx->store, ctx->region, t->owner, t->name, &t->id,
					       e)) < 0)
		return -1;
	if (r == 0 && t->delegate)
		return api_access_denied(ctx, action, value, e);
	if (r == 0)
		return err_set(e, 400, "InvalidParameterValue", "Identity <%.256s> does not exist.",
			       t->name);
	if (!t->delegate || !authorize)
		return 0;
	snprintf(arn, sizeof(arn), "arn:aws:ses:%s:%s:identity/%s", ctx->region, t->owner,
		 t->name);
	if (strcmp(t->id.status, STATUS_SUCCESS) != 0 || (r = may_send_as(ctx, t, arn, e)) == 0) {
		identity_clear(&t->id);
		return api_access_denied(ctx, action, value, e);
	}
	if (r < 0)
		identity_clear(&t->id);
	return r < 0 ? -1 : 0;
}

/* The caller's own settings for t (empty when none yet). */
static int
own_settings(struct api_ctx *ctx, const struct target *t, struct notify_setting *n,
	     struct err *e)
{
	int r = ctx->store->ops->notify_get(ctx->store, ctx->region, t->owner, t->name,
					    ctx->caller.account_id, n, e);

	if (r < 0)
		return -1;
	if (r == 0) {
		memset(n, 0, sizeof(*n));
		snprintf(n->region, sizeof(n->region), "%s", ctx->region);
		snprintf(n->owner, sizeof(n->owner), "%s", t->owner);
		n->identity = xstrdup(t->name);
		snprintf(n->account_id, sizeof(n->account_id), "%s", ctx->caller.account_id);
	}
	return 0;
}

static int
type_param(struct api_ctx *ctx, int *out, struct err *e)
{
	const char *v = api_param(ctx, "NotificationType", e);

	if (v == NULL)
		return -1;
	for (int i = 0; i < NOTIFY_NTYPES; i++)
		if (strcmp(v, type_names[i]) == 0) {
			*out = i;
			return 0;
		}
	return err_set(e, 400, "InvalidParameterValue",
		       "Invalid notification type %.32s; expected Bounce, Complaint or Delivery.", v);
}

/* An SNS topic ARN of the caller's own account in the request's region
 * (DESIGN.md "Semantics we pin"). */
static int
topic_ok(struct api_ctx *ctx, const char *arn, struct err *e)
{
	char prefix[96];
	size_t n;

	n = (size_t)snprintf(prefix, sizeof(prefix), "arn:aws:sns:%s:%s:", ctx->region,
			     ctx->caller.account_id);
	if (strncmp(arn, prefix, n) != 0 || arn[n] == '\0' || strlen(arn + n) > 256 ||
	    strspn(arn + n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		    strlen(arn + n))
		return err_set(e, 400, "InvalidParameterValue",
			       "Invalid SNS topic ARN %.300s: it must be a topic of account %s in "
			       "region %s.",
			       arn, ctx->caller.account_id, ctx->region);
	return 0;
}

int
act_set_identity_notification_topic(struct api_ctx *ctx, struct err *e)
{
	const char *v = api_param(ctx, "Identity", e), *topic = api_param_opt(ctx, "SnsTopic");
	struct notify_setting n;
	struct target t;
	int type = 0, r;

	if (v == NULL || type_param(ctx, &type, e) != 0)
		return -1;
	if (topic != NULL && topic[0] == '\0')
		topic = NULL;
	if (topic != NULL && topic_ok(ctx, topic, e) != 0)
		return -1;
	if (resolve(ctx, v, "SetIdentityNotificationTopic", true, &t, e) != 0)
		return -1;
	if (own_settings(ctx, &t, &n, e) != 0) {
		identity_clear(&t.id);
		return -1;
	}
	free(n.topic[type]);
	n.topic[type] = topic != NULL ? xstrdup(topic) : NULL;
	if (topic == NULL)
		n.headers[type] = false;
	r = ctx->store->ops->notify_put(ctx->store, &n, e);
	/* removing a feedback topic while forwarding is off turns it back on:
	 * bounces and complaints must reach the owner somehow */
	if (r == 0 && !t.delegate && topic == NULL && type != NOTIFY_DELIVERY &&
	    !t.id.forwarding_enabled &&
	    ctx->store->ops->identity_set_forwarding(ctx->store, ctx->region, t.owner, t.name, true,
						     e) < 0)
		r = -1;
	notify_setting_clear(&n);
	identity_clear(&t.id);
	return r;
}

int
act_set_identity_headers_in_notifications_enabled(struct api_ctx *ctx, struct err *e)
{
	const char *v = api_param(ctx, "Identity", e);
	struct notify_setting n;
	struct target t;
	bool enabled;
	int type = 0, r = -1;

	if (v == NULL || type_param(ctx, &type, e) != 0 ||
	    api_param_bool(ctx, "Enabled", true, &enabled, e) != 0)
		return -1;
	if (resolve(ctx, v, "SetIdentityHeadersInNotificationsEnabled", true, &t, e) != 0)
		return -1;
	if (own_settings(ctx, &t, &n, e) == 0) {
		if (n.topic[type] == NULL) {
			err_set(e, 400, "InvalidParameterValue",
				"No %s notification topic is set for identity %.256s.",
				type_names[type], t.name);
		} else {
			n.headers[type] = enabled;
			r = ctx->store->ops->notify_put(ctx->store, &n, e);
		}
		notify_setting_clear(&n);
	}
	identity_clear(&t.id);
	return r;
}

int
act_set_identity_feedback_forwarding_enabled(struct api_ctx *ctx, struct err *e)
{
	const char *v = api_param(ctx, "Identity", e);
	bool enabled;

	if (v == NULL || api_param_bool(ctx, "ForwardingEnabled", true, &enabled, e) != 0)
		return -1;
	return act_notify_set_forwarding(ctx, v, "SetIdentityFeedbackForwardingEnabled", enabled, e);
}

int
act_notify_set_forwarding(struct api_ctx *ctx, const char *v, const char *action, bool enabled,
			  struct err *e)
{
	struct notify_setting n;
	struct target t;
	int r = -1;

	if (resolve(ctx, v, action, false, &t, e) != 0)
		return -1;
	if (t.delegate) {
		err_set(e, 400, "InvalidParameterValue",
			"Feedback forwarding for %.256s can only be changed by its owner, account %s.",
			t.name, t.owner);
		identity_clear(&t.id);
		return -1;
	}
	if (own_settings(ctx, &t, &n, e) == 0) {
		if (!enabled && (n.topic[NOTIFY_BOUNCE] == NULL || n.topic[NOTIFY_COMPLAINT] == NULL))
			err_set(e, 400, "InvalidParameterValue",
				"Feedback forwarding cannot be disabled for %.256s until both its "
				"Bounce and Complaint notification topics are set.",
				t.name);
		else
			r = ctx->store->ops->identity_set_forwarding(ctx->store, ctx->region, t.owner,
								     t.name, enabled, e) < 0
				    ? -1
				    : 0;
		notify_setting_clear(&n);
	}
	identity_clear(&t.id);
	return r;
}

int
act_get_identity_notification_attributes(struct api_ctx *ctx, struct err *e)
{
	struct form_list l = {0};
	int rc = -1;

	if (form_list(ctx->form, "Identities", ATTR_MAX_IDENTITIES, &l, e) != 0)
		return -1;
	if (!l.present) {
		form_list_free(&l);
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameter Identities.");
	}
	xml_open(ctx->out, "NotificationAttributes");
	for (size_t i = 0; i < l.n; i++) {
		struct notify_setting n;
		struct target t;
		struct err miss = {0};
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(l.values[j], l.values[i]) == 0;
		/* unknown or unreadable identities are left out, as SES does */
		/* another account's identity shows only to a delegate it lets send */
		if (dup || resolve(ctx, l.values[i], "GetIdentityNotificationAttributes", true, &t,
				   &miss) != 0) {
			if (!dup && miss.temporary) {
				*e = miss;
				goto out;
			}
			continue;
		}
		if (own_settings(ctx, &t, &n, e) != 0) {
			identity_clear(&t.id);
			goto out;
		}
		xml_open(ctx->out, "entry");
		xml_elem(ctx->out, "key", l.values[i]);
		xml_open(ctx->out, "value");
		for (int k = 0; k < NOTIFY_NTYPES; k++)
			if (n.topic[k] != NULL)
				xml_elem(ctx->out, topic_members[k], n.topic[k]);
		/* forwarding is the owner's: a delegate sees SES's default */
		xml_elem(ctx->out, "ForwardingEnabled",
			 t.delegate || t.id.forwarding_enabled ? "true" : "false");
		xml_elem(ctx->out, "HeadersInBounceNotificationsEnabled",
			 n.headers[NOTIFY_BOUNCE] ? "true" : "false");
		xml_elem(ctx->out, "HeadersInComplaintNotificationsEnabled",
			 n.headers[NOTIFY_COMPLAINT] ? "true" : "false");
		xml_elem(ctx->out, "HeadersInDeliveryNotificationsEnabled",
			 n.headers[NOTIFY_DELIVERY] ? "true" : "false");
		xml_close(ctx->out, "value");
		xml_close(ctx->out, "entry");
		notify_setting_clear(&n);
		identity_clear(&t.id);
	}
	xml_close(ctx->out, "NotificationAttributes");
	rc = 0;
out:
	form_list_free(&l);
	return rc;
}

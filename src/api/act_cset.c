/*
 * act_cset.c — configuration sets and their SNS event destinations (SES
 * v1): CreateConfigurationSet, DeleteConfigurationSet,
 * DescribeConfigurationSet, ListConfigurationSets,
 * Create/Update/DeleteConfigurationSetEventDestination,
 * UpdateConfigurationSetSendingEnabled and
 * UpdateConfigurationSetReputationMetricsEnabled.
 *
 * Sets are the caller's own, per region (DESIGN.md "Feedback: who gets
 * what"): every operation reads and writes the calling account's sets in
 * the request's region; a send names one the same way (send/send.c). An
 * SNS destination must be a topic hosted here, of the caller's account and
 * region (else InvalidSNSDestination). Routing of the events:
 * notify/notify.c. Notes: docs/internals/notify.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/act.h"
#include "api/form.h"
#include "api/xml.h"
#include "store/store.h"
#include "util/xalloc.h"

#define NAME_MAX_LEN 64
#define LIST_MAX 1000
#define MAX_TYPES 16

/* v1's MatchingEventTypes names and v2's (NULL: no v1 name). */
static const struct {
	const char *name, *v2;
	unsigned bit;
} event_types[] = {
	{"send", "SEND", CSET_EV_SEND},
	{"reject", "REJECT", CSET_EV_REJECT},
	{"bounce", "BOUNCE", CSET_EV_BOUNCE},
	{"complaint", "COMPLAINT", CSET_EV_COMPLAINT},
	{"delivery", "DELIVERY", CSET_EV_DELIVERY},
	{"open", "OPEN", CSET_EV_OPEN},
	{"click", "CLICK", CSET_EV_CLICK},
	{"renderingFailure", "RENDERING_FAILURE", CSET_EV_RENDERING_FAILURE},
	{"deliveryDelay", "DELIVERY_DELAY", CSET_EV_DELIVERY_DELAY},
	{NULL, "SUBSCRIPTION", CSET_EV_SUBSCRIPTION},
};
#define NTYPES (sizeof(event_types) / sizeof(event_types[0]))

/* SES names: 1..64 of letters, digits, '_' and '-'. */
static bool
name_ok(const char *n)
{
	size_t len = strlen(n);

	return len >= 1 && len <= NAME_MAX_LEN &&
	       strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == len;
}

static int
no_set(const char *name, struct err *e)
{
	return err_set(e, 400, "ConfigurationSetDoesNotExist",
		       "Configuration set <%.128s> does not exist.", name);
}

int
act_cset_load(struct api_ctx *ctx, const char *name, struct config_set *out, struct err *e)
{
	int r;

	if (!name_ok(name))
		return no_set(name, e);
	r = ctx->store->ops->cset_get(ctx->store, ctx->region, ctx->caller.account_id, name, out, e);
	if (r < 0)
		return -1;
	return r == 0 ? no_set(name, e) : 0;
}

/* ConfigurationSetName of an existing set of the caller (into *out). */
static int
load_set(struct api_ctx *ctx, const char *param, struct config_set *out, struct err *e)
{
	const char *name = api_param(ctx, param, e);

	return name == NULL ? -1 : act_cset_load(ctx, name, out, e);
}

int
act_cset_create(struct api_ctx *ctx, const char *name, bool sending, bool reputation,
		struct err *e)
{
	struct config_set c = {.sending_enabled = sending, .reputation_enabled = reputation};

	if (!name_ok(name))
		return err_set(e, 400, "InvalidConfigurationSet",
			       "Configuration set name <%.128s> is invalid: it must contain only "
			       "letters (a-z, A-Z), numbers (0-9), underscores (_) or dashes (-), "
			       "64 characters or fewer.",
			       name);
	snprintf(c.region, sizeof(c.region), "%s", ctx->region);
	snprintf(c.account_id, sizeof(c.account_id), "%s", ctx->caller.account_id);
	snprintf(c.name, sizeof(c.name), "%s", name);
	c.created = (int64_t)ctx->now;
	if (ctx->store->ops->cset_create(ctx->store, &c, e) != 0) {
		if (strcmp(e->code, STORE_ERR_EXISTS) == 0)
			return err_set(e, 400, "ConfigurationSetAlreadyExists",
				       "Configuration set <%s> already exists.", name);
		return -1;
	}
	return 0;
}

int
act_create_configuration_set(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "ConfigurationSet.Name", e);

	return name == NULL ? -1 : act_cset_create(ctx, name, true, false, e);
}

int
act_cset_delete(struct api_ctx *ctx, const char *name, struct err *e)
{
	int r;

	if (!name_ok(name))
		return no_set(name, e);
	r = ctx->store->ops->cset_delete(ctx->store, ctx->region, ctx->caller.account_id, name, e);
	if (r < 0)
		return -1;
	return r == 0 ? no_set(name, e) : 0;
}

int
act_delete_configuration_set(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "ConfigurationSetName", e);

	return name == NULL ? -1 : act_cset_delete(ctx, name, e);
}

bool
act_cset_name_ok(const char *name)
{
	return name_ok(name);
}

/* ---- Describe / List ---------------------------------------------------- */

static int
dest_xml(void *arg, const struct cset_dest *d)
{
	struct buf *o = arg;

	xml_open(o, "member");
	xml_elem(o, "Name", d->name);
	xml_elem(o, "Enabled", d->enabled ? "true" : "false");
	xml_open(o, "MatchingEventTypes");
	for (size_t i = 0; i < NTYPES; i++)
		if ((d->types & event_types[i].bit) && event_types[i].name != NULL)
			xml_elem(o, "member", event_types[i].name);
	xml_close(o, "MatchingEventTypes");
	xml_open(o, "SNSDestination");
	xml_elem(o, "TopicARN", d->topic_arn);
	xml_close(o, "SNSDestination");
	xml_close(o, "member");
	return 0;
}

int
act_describe_configuration_set(struct api_ctx *ctx, struct err *e)
{
	struct config_set c;
	struct form_list l = {0};
	bool dests = false, reputation = false, delivery = false, tracking = false;
	int rc = -1;

	if (load_set(ctx, "ConfigurationSetName", &c, e) != 0)
		return -1;
	if (form_list(ctx->form, "ConfigurationSetAttributeNames", 16, &l, e) != 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		const char *a = l.values[i];
		if (strcmp(a, "eventDestinations") == 0)
			dests = true;
		else if (strcmp(a, "reputationOptions") == 0)
			reputation = true;
		else if (strcmp(a, "deliveryOptions") == 0)
			delivery = true;
		else if (strcmp(a, "trackingOptions") == 0)
			tracking = true;
		else {
			err_set(e, 400, "InvalidParameterValue",
				"Invalid ConfigurationSetAttributeNames value %.64s; expected "
				"eventDestinations, trackingOptions, deliveryOptions or "
				"reputationOptions.",
				a);
			goto done;
		}
	}
	xml_open(ctx->out, "ConfigurationSet");
	xml_elem(ctx->out, "Name", c.name);
	xml_close(ctx->out, "ConfigurationSet");
	if (dests) {
		xml_open(ctx->out, "EventDestinations");
		if (ctx->store->ops->cset_dest_list(ctx->store, ctx->region, ctx->caller.account_id,
						    c.name, dest_xml, ctx->out, e) != 0)
			goto done;
		xml_close(ctx->out, "EventDestinations");
	}
	if (tracking) {
		xml_open(ctx->out, "TrackingOptions");
		xml_close(ctx->out, "TrackingOptions");
	}
	if (delivery) {
		xml_open(ctx->out, "DeliveryOptions");
		xml_elem(ctx->out, "TlsPolicy", "Optional");
		xml_close(ctx->out, "DeliveryOptions");
	}
	if (reputation) {
		xml_open(ctx->out, "ReputationOptions");
		xml_elem(ctx->out, "SendingEnabled", c.sending_enabled ? "true" : "false");
		xml_elem(ctx->out, "ReputationMetricsEnabled",
			 c.reputation_enabled ? "true" : "false");
		xml_close(ctx->out, "ReputationOptions");
	}
	rc = 0;
done:
	form_list_free(&l);
	return rc;
}

struct list_out {
	struct buf *o;
	int limit, n;
	bool more;
	char last[NAME_MAX_LEN + 1];
};

static int
list_cb(void *arg, const struct config_set *c)
{
	struct list_out *l = arg;

	if (l->n == l->limit) {
		l->more = true;
		return 1;
	}
	xml_open(l->o, "member");
	xml_elem(l->o, "Name", c->name);
	xml_close(l->o, "member");
	snprintf(l->last, sizeof(l->last), "%s", c->name);
	l->n++;
	return 0;
}

int
act_list_configuration_sets(struct api_ctx *ctx, struct err *e)
{
	const char *token = api_param_opt(ctx, "NextToken");
	const char *max = api_param_opt(ctx, "MaxItems");
	struct list_out l = {.o = ctx->out, .limit = LIST_MAX};

	if (max != NULL) {
		char *end;
		long v = strtol(max, &end, 10);
		if (*max == '\0' || *end != '\0' || v < 1)
			return err_set(e, 400, "InvalidParameterValue",
				       "MaxItems must be a whole number of at least 1.");
		l.limit = v > LIST_MAX ? LIST_MAX : (int)v;
	}
	if (token != NULL && !name_ok(token))
		return err_set(e, 400, "InvalidParameterValue", "The NextToken is invalid.");
	xml_open(ctx->out, "ConfigurationSets");
	if (ctx->store->ops->cset_list(ctx->store, ctx->region, ctx->caller.account_id, token,
				       l.limit + 1, list_cb, &l, e) != 0)
		return -1;
	xml_close(ctx->out, "ConfigurationSets");
	if (l.more)
		xml_elem(ctx->out, "NextToken", l.last);
	return 0;
}

/* ---- event destinations --------------------------------------------------- */

unsigned
act_cset_event_bit(const char *name, bool v2)
{
	for (size_t i = 0; i < NTYPES; i++) {
		const char *n = v2 ? event_types[i].v2 : event_types[i].name;
		if (n != NULL && strcmp(name, n) == 0)
			return event_types[i].bit;
	}
	return 0;
}

const char *
act_cset_event_name(unsigned bit, bool v2)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (event_types[i].bit == bit)
			return v2 ? event_types[i].v2 : event_types[i].name;
	return NULL;
}

static int
no_dest(const struct config_set *c, const char *name, struct err *e)
{
	return err_set(e, 400, "EventDestinationDoesNotExist",
		       "No event destination %.128s exists in configuration set %s.", name, c->name);
}

int
act_cset_dest_put(struct api_ctx *ctx, const struct config_set *c, const char *name, bool enabled,
		  unsigned types, const char *topic, bool create, struct err *e)
{
	struct sns_topic t = {0};
	struct cset_dest d = {.enabled = enabled, .types = types};
	char prefix[96];
	int r;

	snprintf(d.region, sizeof(d.region), "%s", c->region);
	snprintf(d.account_id, sizeof(d.account_id), "%s", c->account_id);
	snprintf(d.set, sizeof(d.set), "%s", c->name);
	if (!name_ok(name))
		return err_set(e, 400, "InvalidParameterValue",
			       "Event destination name <%.128s> is invalid: it must contain only "
			       "letters (a-z, A-Z), numbers (0-9), underscores (_) or dashes (-), "
			       "64 characters or fewer.",
			       name);
	snprintf(d.name, sizeof(d.name), "%s", name);
	if (d.types == 0)
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameter "
			       "EventDestination.MatchingEventTypes.");
	if (topic == NULL || topic[0] == '\0')
		return err_set(e, 400, "InvalidSNSDestination",
			       "Event destination %s of configuration set %s has no "
			       "SNS destination topic ARN.",
			       d.name, c->name);
	/* a topic hosted here, of the caller's account and region */
	size_t n = (size_t)snprintf(prefix, sizeof(prefix), "arn:aws:sns:%s:%s:", c->region,
				    c->account_id);
	r = strncmp(topic, prefix, n) == 0 && strlen(topic) < sizeof(d.topic_arn)
		    ? ctx->store->ops->sns_topic_get(ctx->store, topic, &t, e)
		    : 0;
	sns_topic_clear(&t);
	if (r < 0)
		return -1;
	if (r == 0)
		return err_set(e, 400, "InvalidSNSDestination",
			       "SNS topic <%.320s> of event destination %s is invalid: it must be "
			       "an existing topic of account %s in region %s.",
			       topic, d.name, c->account_id, c->region);
	snprintf(d.topic_arn, sizeof(d.topic_arn), "%s", topic);
	r = ctx->store->ops->cset_dest_put(ctx->store, &d, create, e);
	if (r < 0) {
		if (strcmp(e->code, STORE_ERR_EXISTS) == 0)
			return err_set(e, 400, "EventDestinationAlreadyExists",
				       "Event destination %s already exists in configuration set %s.",
				       d.name, c->name);
		if (strcmp(e->code, STORE_ERR_NO_PARENT) == 0)
			return no_set(c->name, e); /* deleted meanwhile */
		return -1;
	}
	return r == 0 ? no_dest(c, d.name, e) : 0;
}

int
act_cset_dest_delete(struct api_ctx *ctx, const struct config_set *c, const char *name,
		     struct err *e)
{
	int r = ctx->store->ops->cset_dest_delete(ctx->store, c->region, c->account_id, c->name,
						  name, e);

	if (r < 0)
		return -1;
	return r == 0 ? no_dest(c, name, e) : 0;
}

/* v1: EventDestination.* of the form, then act_cset_dest_put. */
static int
put_dest(struct api_ctx *ctx, bool create, struct err *e)
{
	const char *name;
	struct form_list l = {0};
	struct config_set c;
	unsigned types = 0;
	bool enabled;

	if (load_set(ctx, "ConfigurationSetName", &c, e) != 0 ||
	    (name = api_param(ctx, "EventDestination.Name", e)) == NULL)
		return -1;
	if (api_param_bool(ctx, "EventDestination.Enabled", false, &enabled, e) != 0)
		return -1;
	if (form_list(ctx->form, "EventDestination.MatchingEventTypes", MAX_TYPES, &l, e) != 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		unsigned bit = act_cset_event_bit(l.values[i], false);
		if (bit == 0) {
			err_set(e, 400, "InvalidParameterValue",
				"Invalid event type %.64s; expected send, reject, bounce, complaint, "
				"delivery, open, click, renderingFailure or deliveryDelay.",
				l.values[i]);
			form_list_free(&l);
			return -1;
		}
		types |= bit;
	}
	form_list_free(&l);
	if (api_param_opt(ctx, "EventDestination.KinesisFirehoseDestination.DeliveryStreamARN") !=
		    NULL ||
	    api_param_opt(ctx, "EventDestination.CloudWatchDestination."
			       "DimensionConfigurations.member.1.DimensionName") != NULL)
		return err_set(e, 400, "InvalidParameterValue",
			       "Only SNS event destinations are supported (SNSDestination.TopicARN).");
	return act_cset_dest_put(ctx, &c, name, enabled, types,
				 api_param_opt(ctx, "EventDestination.SNSDestination.TopicARN"),
				 create, e);
}

int
act_create_configuration_set_event_destination(struct api_ctx *ctx, struct err *e)
{
	return put_dest(ctx, true, e);
}

int
act_update_configuration_set_event_destination(struct api_ctx *ctx, struct err *e)
{
	return put_dest(ctx, false, e);
}

int
act_delete_configuration_set_event_destination(struct api_ctx *ctx, struct err *e)
{
	struct config_set c;
	const char *name;

	if (load_set(ctx, "ConfigurationSetName", &c, e) != 0 ||
	    (name = api_param(ctx, "EventDestinationName", e)) == NULL)
		return -1;
	return act_cset_dest_delete(ctx, &c, name, e);
}

/* ---- switches ------------------------------------------------------------------ */

int
act_cset_set_flag(struct api_ctx *ctx, const char *name, int which, bool on, struct err *e)
{
	struct config_set c;
	int r;

	if (act_cset_load(ctx, name, &c, e) != 0)
		return -1;
	r = ctx->store->ops->cset_set_flag(ctx->store, c.region, c.account_id, c.name, which, on, e);
	if (r < 0)
		return -1;
	return r == 0 ? no_set(c.name, e) : 0;
}

static int
set_flag(struct api_ctx *ctx, int which, struct err *e)
{
	const char *name = api_param(ctx, "ConfigurationSetName", e);
	bool on;

	if (name == NULL || api_param_bool(ctx, "Enabled", true, &on, e) != 0)
		return -1;
	return act_cset_set_flag(ctx, name, which, on, e);
}

int
act_update_configuration_set_sending_enabled(struct api_ctx *ctx, struct err *e)
{
	return set_flag(ctx, 0, e);
}

int
act_update_configuration_set_reputation_metrics_enabled(struct api_ctx *ctx, struct err *e)
{
	return set_flag(ctx, 1, e);
}

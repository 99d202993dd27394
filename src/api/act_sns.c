/*
 * act_sns.c — the SNS Query API (DESIGN.md "Interfaces", feedback-notify.md
 * §6): topics, http/https subscriptions with SNS's confirmation handshake,
 * Publish. Requests signed for the service `sns` land here (request.c);
 * SubscribeURL and UnsubscribeURL GETs come without a signature
 * (act_sns_link_find).
 *
 * A topic is its owner's alone: another account's Subscribe, Publish or
 * attribute change is AuthorizationError, as under SNS's default topic
 * policy. Deliveries are rows of the store's outbox, sent by sns/deliver.c.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "api/act.h"
#include "api/form.h"
#include "api/xml.h"
#include "sns/sns.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define SNS_PAGE 100
#define SNS_MAX_MESSAGE (256 * 1024)
#define SNS_MAX_SUBJECT 100
#define SNS_MAX_ENDPOINT 2048
#define SNS_MAX_ENTRIES 10
#define SNS_PENDING "pending confirmation"

static int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int
invalid(struct err *e, const char *what)
{
	return err_set(e, 400, "InvalidParameter", "Invalid parameter: %s", what);
}

static int
not_authorized(struct api_ctx *ctx, const char *resource, struct err *e)
{
	return err_set(e, 403, "AuthorizationError",
		       "User: %s is not authorized to perform: SNS:%s on resource: %s",
		       ctx->caller.principal_arn, ctx->action->name, resource);
}

/* "arn:aws:sns:<region>:<account>:<name>": the region and account into
 * the outputs; 0, or -1 when it is not a topic ARN. */
static int
topic_arn_parse(const char *arn, char region[33], char account[13])
{
	const char *p, *q;

	if (strncmp(arn, "arn:aws:sns:", 12) != 0 || strlen(arn) >= STORE_SNS_ARN_MAX)
		return -1;
	p = arn + 12;
	if ((q = strchr(p, ':')) == NULL || q == p || q - p > 32)
		return -1;
	snprintf(region, 33, "%.*s", (int)(q - p), p);
	p = q + 1;
	if ((q = strchr(p, ':')) == NULL || q - p != 12)
		return -1;
	snprintf(account, 13, "%.*s", (int)(q - p), p);
	return sns_topic_name_ok(q + 1) ? 0 : -1;
}

/*
 * The topic `arn` for this request: NotFound when there is none in the
 * request's region; AuthorizationError when it is another account's and
 * `mine` (the caller must own it). 0 with *t (sns_topic_clear), -1.
 */
static int
topic_load(struct api_ctx *ctx, const char *arn, bool mine, struct sns_topic *t, struct err *e)
{
	char region[33], account[13];
	int rc;

	if (topic_arn_parse(arn, region, account) != 0)
		return invalid(e, "TopicArn");
	if (strcmp(region, ctx->region) != 0)
		return err_set(e, 404, "NotFound", "Topic does not exist");
	if ((rc = ctx->store->ops->sns_topic_get(ctx->store, arn, t, e)) < 0)
		return -1;
	if (rc == 0)
		return err_set(e, 404, "NotFound", "Topic does not exist");
	if (mine && strcmp(t->account_id, ctx->caller.account_id) != 0) {
		sns_topic_clear(t);
		return not_authorized(ctx, arn, e);
	}
	return 0;
}

/* The topic attributes sesame keeps: DisplayName and SignatureVersion.
 * Sets `name` = `value` on the JSON object o, or InvalidParameter. */
static int
topic_attr_set(json_t *o, const char *name, const char *value, struct err *e)
{
	if (strcmp(name, "DisplayName") == 0) {
		if (strlen(value) > 100)
			return invalid(e, "DisplayName");
	} else if (strcmp(name, "SignatureVersion") == 0) {
		if (strcmp(value, "1") != 0 && strcmp(value, "2") != 0)
			return invalid(e, "Attributes Reason: SignatureVersion must be 1 or 2");
	} else if (strcmp(name, "FifoTopic") == 0 || strcmp(name, "ContentBasedDeduplication") == 0) {
		return invalid(e, "Attributes Reason: FIFO topics are not supported by sesame");
	} else {
		return err_set(e, 400, "InvalidParameter",
			       "Invalid parameter: Attributes Reason: %.64s is not an attribute "
			       "sesame supports (DisplayName, SignatureVersion)",
			       name);
	}
	json_object_set_new(o, name, json_string(value));
	return 0;
}

/* Attributes.entry.N.key / .value of the request into o. */
static int
read_entries(struct api_ctx *ctx, int (*set)(json_t *, const char *, const char *, struct err *),
	     json_t *o, struct err *e)
{
	char k[48], v[48];

	for (int i = 1; i <= SNS_MAX_ENTRIES + 1; i++) {
		snprintf(k, sizeof(k), "Attributes.entry.%d.key", i);
		snprintf(v, sizeof(v), "Attributes.entry.%d.value", i);
		const char *key = api_param_opt(ctx, k), *val = api_param_opt(ctx, v);
		if (key == NULL)
			return 0;
		if (i > SNS_MAX_ENTRIES)
			return invalid(e, "Attributes Reason: too many attributes");
		if (set(o, key, val ? val : "", e) != 0)
			return -1;
	}
	return 0;
}

/* ---- topics ----------------------------------------------------------- */

int
act_sns_create_topic(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "Name", e);
	struct sns_topic t = {0}, old = {0};
	json_t *attrs = json_object(), *was;
	bool given;
	int rc = -1;

	if (name == NULL)
		goto out;
	if (!sns_topic_name_ok(name)) {
		invalid(e, "Topic Name");
		goto out;
	}
	if (read_entries(ctx, topic_attr_set, attrs, e) != 0)
		goto out;
	given = json_object_size(attrs) > 0;
	snprintf(t.arn, sizeof(t.arn), "arn:aws:sns:%s:%s:%s", ctx->region, ctx->caller.account_id,
		 name);
	snprintf(t.region, sizeof(t.region), "%s", ctx->region);
	snprintf(t.account_id, sizeof(t.account_id), "%s", ctx->caller.account_id);
	snprintf(t.name, sizeof(t.name), "%s", name);
	t.attributes = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
	t.created = ctx->now;
	if ((rc = ctx->store->ops->sns_topic_put(ctx->store, &t, e)) < 0)
		goto out;
	if (rc == 0 && given) {
		/* idempotent for the same attributes only, as SNS */
		if (ctx->store->ops->sns_topic_get(ctx->store, t.arn, &old, e) < 0) {
			rc = -1;
			goto out;
		}
		was = old.attributes ? json_loads(old.attributes, 0, NULL) : NULL;
		bool same = was != NULL && json_equal(was, attrs);
		json_decref(was);
		if (!same) {
			rc = invalid(e, "Attributes Reason: Topic already exists with different "
					"attributes");
			goto out;
		}
	}
	xml_elem(ctx->out, "TopicArn", t.arn);
	rc = 0;
out:
	json_decref(attrs);
	sns_topic_clear(&t);
	sns_topic_clear(&old);
	return rc;
}

int
act_sns_delete_topic(struct api_ctx *ctx, struct err *e)
{
	const char *arn = api_param(ctx, "TopicArn", e);
	struct sns_topic t = {0};

	if (arn == NULL)
		return -1;
	if (topic_load(ctx, arn, true, &t, e) != 0)
		/* deleting a topic that is not there is not an error (SNS) */
		return strcmp(e->code, "NotFound") == 0 ? (err_clear(e), 0) : -1;
	sns_topic_clear(&t);
	return ctx->store->ops->sns_topic_delete(ctx->store, arn, e) < 0 ? -1 : 0;
}

struct topic_list {
	struct api_ctx *ctx;
	int n;
	char last[STORE_SNS_ARN_MAX];
};

static int
topic_row(void *arg, const struct sns_topic *t)
{
	struct topic_list *l = arg;

	if (++l->n > SNS_PAGE)
		return 1;
	xml_open(l->ctx->out, "member");
	xml_elem(l->ctx->out, "TopicArn", t->arn);
	xml_close(l->ctx->out, "member");
	snprintf(l->last, sizeof(l->last), "%s", t->arn);
	return 0;
}

int
act_sns_list_topics(struct api_ctx *ctx, struct err *e)
{
	const char *token = api_param_opt(ctx, "NextToken");
	struct topic_list l = {.ctx = ctx};

	xml_open(ctx->out, "Topics");
	if (ctx->store->ops->sns_topic_list(ctx->store, ctx->caller.account_id, ctx->region,
					    token && token[0] ? token : NULL, SNS_PAGE + 1,
					    topic_row, &l, e) < 0)
		return -1;
	xml_close(ctx->out, "Topics");
	if (l.n > SNS_PAGE)
		xml_elem(ctx->out, "NextToken", l.last);
	return 0;
}

static void
entry(struct buf *b, const char *k, const char *v)
{
	xml_open(b, "entry");
	xml_elem(b, "key", k);
	xml_elem(b, "value", v);
	xml_close(b, "entry");
}

/* What SNS reports as the delivery policy: sesame's pinned schedule. */
#define DELIVERY_POLICY                                                                       \
	"{\"http\":{\"defaultHealthyRetryPolicy\":{\"minDelayTarget\":1,"                     \
	"\"maxDelayTarget\":60,\"numRetries\":65,\"numMaxDelayRetries\":59,"                  \
	"\"numNoDelayRetries\":0,\"numMinDelayRetries\":0,\"backoffFunction\":\"exponential\"}," \
	"\"disableSubscriptionOverrides\":false}}"

int
act_sns_get_topic_attributes(struct api_ctx *ctx, struct err *e)
{
	const char *arn = api_param(ctx, "TopicArn", e);
	struct sns_topic t = {0};
	json_t *a;
	const char *dn = NULL, *sv = NULL;
	char n[24], *policy;

	if (arn == NULL || topic_load(ctx, arn, true, &t, e) != 0)
		return -1;
	a = t.attributes ? json_loads(t.attributes, 0, NULL) : NULL;
	dn = json_string_value(json_object_get(a, "DisplayName"));
	sv = json_string_value(json_object_get(a, "SignatureVersion"));
	policy = xasprintf("{\"Version\":\"2008-10-17\",\"Id\":\"__default_policy_ID\","
			   "\"Statement\":[{\"Sid\":\"__default_statement_ID\",\"Effect\":"
			   "\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":[\"SNS:Publish\","
			   "\"SNS:Subscribe\",\"SNS:GetTopicAttributes\",\"SNS:SetTopicAttributes\","
			   "\"SNS:DeleteTopic\",\"SNS:ListSubscriptionsByTopic\"],\"Resource\":"
			   "\"%s\",\"Condition\":{\"StringEquals\":{\"AWS:SourceOwner\":\"%s\"}}}]}",
			   t.arn, t.account_id);
	xml_open(ctx->out, "Attributes");
	entry(ctx->out, "TopicArn", t.arn);
	entry(ctx->out, "Owner", t.account_id);
	entry(ctx->out, "DisplayName", dn ? dn : "");
	entry(ctx->out, "Policy", policy);
	entry(ctx->out, "SignatureVersion", sv ? sv : "1");
	snprintf(n, sizeof(n), "%lld", (long long)t.confirmed);
	entry(ctx->out, "SubscriptionsConfirmed", n);
	snprintf(n, sizeof(n), "%lld", (long long)t.pending);
	entry(ctx->out, "SubscriptionsPending", n);
	entry(ctx->out, "SubscriptionsDeleted", "0");
	entry(ctx->out, "EffectiveDeliveryPolicy", DELIVERY_POLICY);
	xml_close(ctx->out, "Attributes");
	free(policy);
	json_decref(a);
	sns_topic_clear(&t);
	return 0;
}

int
act_sns_set_topic_attributes(struct api_ctx *ctx, struct err *e)
{
	const char *arn = api_param(ctx, "TopicArn", e);
	const char *name = arn ? api_param(ctx, "AttributeName", e) : NULL;
	const char *value = api_param_opt(ctx, "AttributeValue");
	struct sns_topic t = {0};
	json_t *a = NULL;
	char *text = NULL;
	int rc = -1;

	if (name == NULL || topic_load(ctx, arn, true, &t, e) != 0)
		return -1;
	a = t.attributes ? json_loads(t.attributes, 0, NULL) : NULL;
	if (a == NULL)
		a = json_object();
	if (value == NULL || value[0] == '\0') {
		if (strcmp(name, "DisplayName") != 0 && strcmp(name, "SignatureVersion") != 0) {
			invalid(e, "AttributeName");
			goto out;
		}
		json_object_del(a, name);
	} else if (topic_attr_set(a, name, value, e) != 0) {
		goto out;
	}
	text = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	rc = ctx->store->ops->sns_topic_set_attributes(ctx->store, arn, text, e) < 0 ? -1 : 0;
out:
	free(text);
	json_decref(a);
	sns_topic_clear(&t);
	return rc;
}

/* ---- subscriptions ------------------------------------------------------ */

static int
sub_attr_set(json_t *o, const char *name, const char *value, struct err *e)
{
	if (strcmp(name, "RawMessageDelivery") != 0)
		return err_set(e, 400, "InvalidParameter",
			       "Invalid parameter: Attributes Reason: %.64s is not an attribute "
			       "sesame supports (RawMessageDelivery)",
			       name);
	if (strcasecmp(value, "true") != 0 && strcasecmp(value, "false") != 0)
		return invalid(e, "Attributes Reason: RawMessageDelivery: Invalid value [must be "
				  "true or false]");
	json_object_set_new(o, name, json_boolean(strcasecmp(value, "true") == 0));
	return 0;
}

/* An endpoint URL of `protocol`: scheme, a host, no spaces. */
static bool
endpoint_ok(const char *protocol, const char *url)
{
	size_t n = strlen(protocol);
	const char *host;

	if (strlen(url) > SNS_MAX_ENDPOINT || strncasecmp(url, protocol, n) != 0 ||
	    strncmp(url + n, "://", 3) != 0)
		return false;
	host = url + n + 3;
	if (*host == '\0' || *host == '/' || *host == ':')
		return false;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

int
act_sns_subscribe(struct api_ctx *ctx, struct err *e)
{
	const char *arn = api_param(ctx, "TopicArn", e);
	const char *protocol = arn ? api_param(ctx, "Protocol", e) : NULL;
	const char *endpoint = api_param_opt(ctx, "Endpoint");
	struct sns_topic t = {0};
	struct sns_subscription sub = {0}, out = {0};
	uint8_t tok[64];
	char uuid[37], *confirm = NULL;
	json_t *attrs = json_object();
	bool want_arn = false;
	int rc = -1;

	if (protocol == NULL)
		goto out;
	if (api_param_bool(ctx, "ReturnSubscriptionArn", false, &want_arn, e) != 0)
		goto out;
	if (strcmp(protocol, "http") != 0 && strcmp(protocol, "https") != 0) {
		err_set(e, 400, "InvalidParameter",
			"Invalid parameter: Amazon SNS does not support this protocol string: "
			"%.32s (sesame delivers to http and https endpoints)",
			protocol);
		goto out;
	}
	if (endpoint == NULL || !endpoint_ok(protocol, endpoint)) {
		invalid(e, "Endpoint must match the specified protocol");
		goto out;
	}
	if (read_entries(ctx, sub_attr_set, attrs, e) != 0 || topic_load(ctx, arn, true, &t, e) != 0)
		goto out;

	uuid_v4(uuid);
	snprintf(sub.arn, sizeof(sub.arn), "%s:%s", t.arn, uuid);
	snprintf(sub.topic_arn, sizeof(sub.topic_arn), "%s", t.arn);
	snprintf(sub.account_id, sizeof(sub.account_id), "%s", ctx->caller.account_id);
	snprintf(sub.protocol, sizeof(sub.protocol), "%s", protocol);
	sub.endpoint = xstrdup(endpoint);
	random_bytes(tok, sizeof(tok));
	hex_encode(tok, sizeof(tok), sub.token);
	sub.raw_message_delivery = json_is_true(json_object_get(attrs, "RawMessageDelivery"));
	sub.created = ctx->now;
	confirm = sns_confirm_message(t.arn);
	if (ctx->store->ops->sns_subscribe(ctx->store, &sub, confirm, now_ms(), &out, e) < 0)
		goto out;
	/* an existing subscription keeps its settings unless they are given */
	if (json_object_get(attrs, "RawMessageDelivery") != NULL &&
	    out.raw_message_delivery != sub.raw_message_delivery &&
	    ctx->store->ops->sns_sub_set_raw(ctx->store, out.arn, sub.raw_message_delivery, e) < 0)
		goto out;
	xml_elem(ctx->out, "SubscriptionArn", out.confirmed || want_arn ? out.arn : SNS_PENDING);
	rc = 0;
out:
	free(confirm);
	json_decref(attrs);
	sns_subscription_clear(&sub);
	sns_subscription_clear(&out);
	sns_topic_clear(&t);
	return rc;
}

/* ConfirmSubscription, signed or as the SubscribeURL's plain GET (then the
 * region is the topic ARN's): the token is the proof, whoever sends it. */
int
act_sns_confirm_subscription(struct api_ctx *ctx, struct err *e)
{
	const char *arn = api_param(ctx, "TopicArn", e);
	const char *token = arn ? api_param(ctx, "Token", e) : NULL;
	char region[33], account[13];
	struct sns_topic t = {0};
	struct sns_subscription out = {0};
	int rc;

	if (token == NULL)
		return -1;
	if (ctx->region[0] == '\0') {
		if (topic_arn_parse(arn, region, account) != 0)
			return invalid(e, "TopicArn");
		snprintf(ctx->region, sizeof(ctx->region), "%s", region);
	}
	if (topic_load(ctx, arn, false, &t, e) != 0)
		return -1;
	sns_topic_clear(&t);
	if (strlen(token) >= sizeof(out.token))
		return invalid(e, "Token");
	if ((rc = ctx->store->ops->sns_sub_confirm(ctx->store, arn, token, &out, e)) < 0)
		return -1;
	if (rc == 0)
		return invalid(e, "Token");
	xml_elem(ctx->out, "SubscriptionArn", out.arn);
	sns_subscription_clear(&out);
	return 0;
}

/* The subscription `arn` names: NotFound, or (signed requests) the
 * subscriber's or the topic owner's only. */
static int
sub_load(struct api_ctx *ctx, const char *arn, struct sns_subscription *s, struct err *e)
{
	char region[33], account[13], topic[STORE_SNS_ARN_MAX];
	const char *colon = strrchr(arn, ':');
	int rc;

	if (strcmp(arn, SNS_PENDING) == 0 || strcmp(arn, "PendingConfirmation") == 0 ||
	    colon == NULL || (size_t)(colon - arn) >= sizeof(topic))
		return invalid(e, "SubscriptionArn");
	snprintf(topic, sizeof(topic), "%.*s", (int)(colon - arn), arn);
	if (topic_arn_parse(topic, region, account) != 0)
		return invalid(e, "SubscriptionArn");
	if (ctx->region[0] == '\0')
		snprintf(ctx->region, sizeof(ctx->region), "%s", region);
	if (strcmp(region, ctx->region) != 0)
		return err_set(e, 404, "NotFound", "Subscription does not exist");
	if ((rc = ctx->store->ops->sns_sub_get(ctx->store, arn, s, e)) < 0)
		return -1;
	if (rc == 0)
		return err_set(e, 404, "NotFound", "Subscription does not exist");
	if (ctx->caller.account_id[0] != '\0' &&
	    strcmp(s->account_id, ctx->caller.account_id) != 0 &&
	    strcmp(account, ctx->caller.account_id) != 0) {
		sns_subscription_clear(s);
		return not_authorized(ctx, arn, e);
	}
	return 0;
}

/* Unsubscribe, signed or as the UnsubscribeURL's plain GET (the ARN with
 * its uuid is the proof, as SNS's). */
int
act_sns_unsubscribe(struct api_ctx *ctx, struct err *e)
{
	const char *arn = api_param(ctx, "SubscriptionArn", e);
	struct sns_subscription s = {0};

	if (arn == NULL || sub_load(ctx, arn, &s, e) != 0)
		return -1;
	sns_subscription_clear(&s);
	return ctx->store->ops->sns_sub_delete(ctx->store, arn, e) < 0 ? -1 : 0;
}

struct sub_list {
	struct api_ctx *ctx;
	int n;
	char last[STORE_SNS_SUB_MAX];
};

static int
sub_row(void *arg, const struct sns_subscription *s)
{
	struct sub_list *l = arg;
	struct buf *b = l->ctx->out;

	if (++l->n > SNS_PAGE)
		return 1;
	xml_open(b, "member");
	xml_elem(b, "SubscriptionArn", s->confirmed ? s->arn : "PendingConfirmation");
	xml_elem(b, "Owner", s->account_id);
	xml_elem(b, "Protocol", s->protocol);
	xml_elem(b, "Endpoint", s->endpoint);
	xml_elem(b, "TopicArn", s->topic_arn);
	xml_close(b, "member");
	snprintf(l->last, sizeof(l->last), "%s", s->arn);
	return 0;
}

static int
list_subs(struct api_ctx *ctx, const char *topic_arn, struct err *e)
{
	const char *token = api_param_opt(ctx, "NextToken");
	struct sub_list l = {.ctx = ctx};

	xml_open(ctx->out, "Subscriptions");
	if (ctx->store->ops->sns_sub_list(ctx->store, ctx->caller.account_id, ctx->region,
					  topic_arn, token && token[0] ? token : NULL, SNS_PAGE + 1,
					  sub_row, &l, e) < 0)
		return -1;
	xml_close(ctx->out, "Subscriptions");
	if (l.n > SNS_PAGE)
		xml_elem(ctx->out, "NextToken", l.last);
	return 0;
}

int
act_sns_list_subscriptions(struct api_ctx *ctx, struct err *e)
{
	return list_subs(ctx, NULL, e);
}

int
act_sns_list_subscriptions_by_topic(struct api_ctx *ctx, struct err *e)
{
	const char *arn = api_param(ctx, "TopicArn", e);
	struct sns_topic t = {0};

	if (arn == NULL || topic_load(ctx, arn, true, &t, e) != 0)
		return -1;
	sns_topic_clear(&t);
	return list_subs(ctx, arn, e);
}

int
act_sns_get_subscription_attributes(struct api_ctx *ctx, struct err *e)
{
	const char *arn = api_param(ctx, "SubscriptionArn", e);
	struct sns_subscription s = {0};
	char region[33], account[13];

	if (arn == NULL || sub_load(ctx, arn, &s, e) != 0)
		return -1;
	topic_arn_parse(s.topic_arn, region, account);
	xml_open(ctx->out, "Attributes");
	entry(ctx->out, "SubscriptionArn", s.arn);
	entry(ctx->out, "TopicArn", s.topic_arn);
	entry(ctx->out, "Owner", s.account_id);
	entry(ctx->out, "Protocol", s.protocol);
	entry(ctx->out, "Endpoint", s.endpoint);
	entry(ctx->out, "PendingConfirmation", s.confirmed ? "false" : "true");
	entry(ctx->out, "ConfirmationWasAuthenticated", "false");
	entry(ctx->out, "RawMessageDelivery", s.raw_message_delivery ? "true" : "false");
	entry(ctx->out, "EffectiveDeliveryPolicy", DELIVERY_POLICY);
	xml_close(ctx->out, "Attributes");
	sns_subscription_clear(&s);
	return 0;
}

int
act_sns_set_subscription_attributes(struct api_ctx *ctx, struct err *e)
{
	const char *arn = api_param(ctx, "SubscriptionArn", e);
	const char *name = arn ? api_param(ctx, "AttributeName", e) : NULL;
	const char *value = api_param_opt(ctx, "AttributeValue");
	struct sns_subscription s = {0};
	json_t *o;
	int rc;

	if (name == NULL || sub_load(ctx, arn, &s, e) != 0)
		return -1;
	sns_subscription_clear(&s);
	o = json_object();
	rc = sub_attr_set(o, name, value ? value : "", e);
	if (rc == 0)
		rc = ctx->store->ops->sns_sub_set_raw(ctx->store, arn,
						      json_is_true(json_object_get(o, name)), e) < 0
			     ? -1
			     : 0;
	json_decref(o);
	return rc;
}

/* ---- Publish ------------------------------------------------------------ */

/* MessageStructure=json: the "http" (else "https", else "default") entry
 * of the object; sesame's subscriptions are all HTTP. */
static int
structured(const char *message, char **out, struct err *e)
{
	json_t *j = json_loads(message, JSON_REJECT_DUPLICATES, NULL);
	const char *v = NULL;
	static const char *const keys[] = {"http", "https", "default"};

	if (!json_is_object(j)) {
		json_decref(j);
		return invalid(e, "Message Structure - JSON message body failed to parse");
	}
	if (json_object_get(j, "default") == NULL) {
		json_decref(j);
		return invalid(e, "Message Structure - No default entry in JSON message body");
	}
	for (size_t i = 0; i < 3 && v == NULL; i++)
		v = json_string_value(json_object_get(j, keys[i]));
	if (v == NULL) {
		json_decref(j);
		return invalid(e, "Message Structure - the entries must be strings");
	}
	*out = xstrdup(v);
	json_decref(j);
	return 0;
}

int
act_sns_publish(struct api_ctx *ctx, struct err *e)
{
	const char *arn = api_param_opt(ctx, "TopicArn");
	const char *message = api_param_opt(ctx, "Message");
	const char *subject = api_param_opt(ctx, "Subject");
	const char *structure = api_param_opt(ctx, "MessageStructure");
	struct sns_topic t = {0};
	char msgid[37], *body = NULL;
	int rc = -1;

	if (arn == NULL)
		arn = api_param_opt(ctx, "TargetArn");
	if (arn == NULL) {
		if (api_param_opt(ctx, "PhoneNumber") != NULL)
			return invalid(e, "PhoneNumber Reason: SMS is not supported by sesame");
		return invalid(e, "TopicArn or TargetArn Reason: no value for required parameter");
	}
	if (message == NULL || message[0] == '\0')
		return invalid(e, "Empty message");
	if (strlen(message) > SNS_MAX_MESSAGE)
		return invalid(e, "Message too long");
	if (!utf8_valid(message, strlen(message)))
		return invalid(e, "Message Reason: not valid UTF-8");
	if (subject != NULL) {
		size_t n = strlen(subject);
		bool ok = n > 0 && n <= SNS_MAX_SUBJECT;
		for (size_t i = 0; ok && i < n; i++)
			ok = subject[i] >= ' ' && subject[i] < 0x7f;
		if (!ok)
			return invalid(e, "Subject");
	}
	if (structure != NULL && strcmp(structure, "json") != 0)
		return invalid(e, "MessageStructure");
	if (structure != NULL && structured(message, &body, e) != 0)
		return -1;
	if (topic_load(ctx, arn, true, &t, e) != 0)
		goto out;
	if (ctx->store->ops->sns_publish(ctx->store, t.arn, subject, body ? body : message,
					 now_ms(), msgid, e) < 0)
		goto out;
	xml_elem(ctx->out, "MessageId", msgid);
	rc = 0;
out:
	free(body);
	sns_topic_clear(&t);
	return rc;
}

/* ---- the tables ------------------------------------------------------- */

static const struct api_action sns_actions[] = {
	{"CreateTopic", act_sns_create_topic, true, API_IAM_ACCOUNT, NULL},
	{"DeleteTopic", act_sns_delete_topic, false, API_IAM_TOPIC, "TopicArn"},
	{"ListTopics", act_sns_list_topics, true, API_IAM_ACCOUNT, NULL},
	{"GetTopicAttributes", act_sns_get_topic_attributes, true, API_IAM_TOPIC, "TopicArn"},
	{"SetTopicAttributes", act_sns_set_topic_attributes, false, API_IAM_TOPIC, "TopicArn"},
	{"Subscribe", act_sns_subscribe, true, API_IAM_TOPIC, "TopicArn"},
	{"ConfirmSubscription", act_sns_confirm_subscription, true, API_IAM_TOPIC, "TopicArn"},
	{"Unsubscribe", act_sns_unsubscribe, false, API_IAM_TOPIC, "SubscriptionArn"},
	{"ListSubscriptions", act_sns_list_subscriptions, true, API_IAM_ACCOUNT, NULL},
	{"ListSubscriptionsByTopic", act_sns_list_subscriptions_by_topic, true, API_IAM_TOPIC,
	 "TopicArn"},
	{"GetSubscriptionAttributes", act_sns_get_subscription_attributes, true, API_IAM_TOPIC,
	 "SubscriptionArn"},
	{"SetSubscriptionAttributes", act_sns_set_subscription_attributes, false, API_IAM_TOPIC,
	 "SubscriptionArn"},
	{"Publish", act_sns_publish, true, API_IAM_TOPIC, "TopicArn"},
};

const struct api_service api_sns = {"sns", "2010-03-31", XML_SNS_NS, sns_actions,
				    sizeof(sns_actions) / sizeof(sns_actions[0])};

const struct api_action *
act_sns_link_find(const char *action)
{
	if (action == NULL)
		return NULL;
	if (strcmp(action, "ConfirmSubscription") == 0 || strcmp(action, "Unsubscribe") == 0)
		return api_action_find(&api_sns, action);
	return NULL;
}

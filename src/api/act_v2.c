/*
 * act_v2.c — the SES v2 operations table and the handlers of the account,
 * identity and policy operations (SendEmail is act_send.c's
 * act_v2_send_email, beside v1's sends).
 *
 * A v2 handler is another wire format over the same store and the same
 * helpers as its v1 twin: it reads path and query members from ctx->form,
 * the body from ctx->json (v2.h), does its work through the functions the
 * v1 handlers use (act.h), and writes one JSON object into ctx->out. v1's
 * error codes become v2's in request.c (v2_error_of); the errors v1 has no
 * word for (NotFoundException, AlreadyExistsException) are raised here.
 * Operations of the model without a row here answer BadRequestException
 * naming the operation (request.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/act.h"
#include "api/api.h"
#include "api/form.h"
#include "auth/dkim_keys.h"
#include "core/address.h"
#include "core/identity.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/xalloc.h"
#include "verify/verify.h"

#define LIST_PAGE_MAX 1000
#define POLICIES_MAX 20

static const struct api_action v2_actions[] = {
	{"SendEmail", act_v2_send_email, true, API_IAM_SEND, NULL},
	{"SendBulkEmail", act_v2_send_bulk_email, true, API_IAM_SEND, NULL},
	{"GetAccount", act_v2_get_account, true, API_IAM_ACCOUNT, NULL},
	{"PutAccountSendingAttributes", act_v2_put_account_sending_attributes, true,
	 API_IAM_ACCOUNT, NULL},
	{"PutAccountSuppressionAttributes", act_v2_put_account_suppression_attributes, true,
	 API_IAM_ACCOUNT, NULL},
	{"PutConfigurationSetSuppressionOptions", act_v2_put_configuration_set_suppression_options,
	 true, API_IAM_ACCOUNT, NULL},
	{"CreateEmailIdentity", act_v2_create_email_identity, true, API_IAM_IDENTITY,
	 "EmailIdentity"},
	{"GetEmailIdentity", act_v2_get_email_identity, true, API_IAM_IDENTITY, "EmailIdentity"},
	{"ListEmailIdentities", act_v2_list_email_identities, true, API_IAM_ACCOUNT, NULL},
	{"DeleteEmailIdentity", act_v2_delete_email_identity, true, API_IAM_IDENTITY,
	 "EmailIdentity"},
	{"PutEmailIdentityDkimAttributes", act_v2_put_email_identity_dkim_attributes, true,
	 API_IAM_IDENTITY, "EmailIdentity"},
	{"PutEmailIdentityDkimSigningAttributes", act_v2_put_email_identity_dkim_signing_attributes,
	 true, API_IAM_IDENTITY, "EmailIdentity"},
	{"PutEmailIdentityFeedbackAttributes", act_v2_put_email_identity_feedback_attributes, true,
	 API_IAM_IDENTITY, "EmailIdentity"},
	{"PutEmailIdentityMailFromAttributes", act_v2_put_email_identity_mail_from_attributes, true,
	 API_IAM_IDENTITY, "EmailIdentity"},
	{"PutEmailIdentityConfigurationSetAttributes",
	 act_v2_put_email_identity_configuration_set_attributes, true, API_IAM_IDENTITY,
	 "EmailIdentity"},
	{"CreateEmailIdentityPolicy", act_v2_create_email_identity_policy, true, API_IAM_IDENTITY,
	 "EmailIdentity"},
	{"UpdateEmailIdentityPolicy", act_v2_update_email_identity_policy, true, API_IAM_IDENTITY,
	 "EmailIdentity"},
	{"GetEmailIdentityPolicies", act_v2_get_email_identity_policies, true, API_IAM_IDENTITY,
	 "EmailIdentity"},
	{"DeleteEmailIdentityPolicy", act_v2_delete_email_identity_policy, true, API_IAM_IDENTITY,
	 "EmailIdentity"},
	{"CreateEmailTemplate", act_v2_create_email_template, true, API_IAM_ACCOUNT, NULL},
	{"GetEmailTemplate", act_v2_get_email_template, true, API_IAM_ACCOUNT, NULL},
	{"UpdateEmailTemplate", act_v2_update_email_template, true, API_IAM_ACCOUNT, NULL},
	{"DeleteEmailTemplate", act_v2_delete_email_template, true, API_IAM_ACCOUNT, NULL},
	{"ListEmailTemplates", act_v2_list_email_templates, true, API_IAM_ACCOUNT, NULL},
	{"TestRenderEmailTemplate", act_v2_test_render_email_template, true, API_IAM_ACCOUNT,
	 NULL},
	{"PutSuppressedDestination", act_v2_put_suppressed_destination, true, API_IAM_ACCOUNT,
	 NULL},
	{"GetSuppressedDestination", act_v2_get_suppressed_destination, true, API_IAM_ACCOUNT,
	 NULL},
	{"DeleteSuppressedDestination", act_v2_delete_suppressed_destination, true,
	 API_IAM_ACCOUNT, NULL},
	{"ListSuppressedDestinations", act_v2_list_suppressed_destinations, true, API_IAM_ACCOUNT,
	 NULL},
	{"CreateConfigurationSet", act_v2_create_configuration_set, true, API_IAM_ACCOUNT, NULL},
	{"GetConfigurationSet", act_v2_get_configuration_set, true, API_IAM_ACCOUNT, NULL},
	{"DeleteConfigurationSet", act_v2_delete_configuration_set, true, API_IAM_ACCOUNT, NULL},
	{"ListConfigurationSets", act_v2_list_configuration_sets, true, API_IAM_ACCOUNT, NULL},
	{"PutConfigurationSetSendingOptions", act_v2_put_configuration_set_sending_options, true,
	 API_IAM_ACCOUNT, NULL},
	{"PutConfigurationSetReputationOptions", act_v2_put_configuration_set_reputation_options,
	 true, API_IAM_ACCOUNT, NULL},
	{"CreateConfigurationSetEventDestination",
	 act_v2_create_configuration_set_event_destination, true, API_IAM_ACCOUNT, NULL},
	{"GetConfigurationSetEventDestinations", act_v2_get_configuration_set_event_destinations,
	 true, API_IAM_ACCOUNT, NULL},
	{"UpdateConfigurationSetEventDestination",
	 act_v2_update_configuration_set_event_destination, true, API_IAM_ACCOUNT, NULL},
	{"DeleteConfigurationSetEventDestination",
	 act_v2_delete_configuration_set_event_destination, true, API_IAM_ACCOUNT, NULL},
};

const struct api_service api_sesv2 = {"ses", "2019-09-27", NULL, v2_actions,
				      sizeof(v2_actions) / sizeof(v2_actions[0])};

/* ---- helpers ---------------------------------------------------------------- */

/* Write j (stolen) as the answer. */
static int
answer(struct api_ctx *ctx, json_t *j, struct err *e)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc = 0;

	json_decref(j);
	if (s == NULL || buf_append(ctx->out, s, strlen(s)) != 0)
		rc = err_set(e, 500, "InternalFailure", "The response could not be written.");
	free(s);
	return rc;
}

/* v1's "Pending" as v2's "PENDING", "NotStarted" as "NOT_STARTED". */
static const char *
v2_status(const char *v1)
{
	static const struct {
		const char *v1, *v2;
	} map[] = {
		{STATUS_PENDING, "PENDING"},
		{STATUS_SUCCESS, "SUCCESS"},
		{STATUS_FAILED, "FAILED"},
		{STATUS_TEMPFAIL, "TEMPORARY_FAILURE"},
		{STATUS_NOT_STARTED, "NOT_STARTED"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(v1, map[i].v1) == 0)
			return map[i].v2;
	return "NOT_STARTED";
}

static const char *
type_name(enum identity_type t)
{
	return t == IDENTITY_DOMAIN ? "DOMAIN" : "EMAIL_ADDRESS";
}

static int
not_found(struct err *e, const char *name)
{
	return err_set(e, 404, "NotFoundException", "Email identity %.256s does not exist.", name);
}

/* The EmailIdentity path member in normal form. */
static int
identity_member(struct api_ctx *ctx, const char *action, char *name, size_t cap, struct err *e)
{
	return api_identity_param(ctx, "EmailIdentity", action, name, cap, e);
}

/* 1 found (*id), 0 absent, -1 error. */
static int
load(struct api_ctx *ctx, const char *name, struct identity *id, struct err *e)
{
	return ctx->store->ops->identity_get(ctx->store, ctx->region, ctx->caller.account_id, name,
					     id, e);
}

/* DkimAttributes of id: an address's DKIM is its domain's (Easy DKIM or
 * BYODKIM). Tokens: Easy DKIM's three selectors, or BYODKIM's one. */
static json_t *
dkim_attributes(struct api_ctx *ctx, const struct identity *id, struct err *e)
{
	struct identity dom = {0};
	const struct identity *src = id;
	json_t *d, *tokens = json_array();

	if (id->type == IDENTITY_EMAIL) {
		const char *at = strrchr(id->name, '@');
		int r = load(ctx, at != NULL ? at + 1 : id->name, &dom, e);
		if (r < 0) {
			json_decref(tokens);
			return NULL;
		}
		src = r == 1 ? &dom : NULL;
	}
	const char *status = STATUS_NOT_STARTED;
	bool external = src != NULL && src->dkim_external;
	if (src != NULL && src->dkim_tokens[0] != NULL) {
		status = verify_status_at(src, src->dkim_status, (int64_t)ctx->now);
		for (int i = 0; i < 3 && src->dkim_tokens[i] != NULL; i++)
			json_array_append_new(tokens, json_string(src->dkim_tokens[i]));
	}
	d = json_pack("{s:b, s:s, s:o, s:s}", "SigningEnabled", id->dkim_enabled, "Status",
		      v2_status(status), "Tokens", tokens, "SigningAttributesOrigin",
		      external ? "EXTERNAL" : "AWS_SES");
	/* [Easy DKIM] the key length, always RSA-2048 (dkim_keys_generate) */
	if (d != NULL && !external && src != NULL && src->dkim_tokens[0] != NULL) {
		json_object_set_new(d, "CurrentSigningKeyLength", json_string("RSA_2048_BIT"));
		json_object_set_new(d, "NextSigningKeyLength", json_string("RSA_2048_BIT"));
	}
	identity_clear(&dom);
	return d;
}

static int set_default_cset(struct api_ctx *ctx, const char *name, const json_t *member,
			    struct err *e);
static int signing_setup(struct api_ctx *ctx, const char *name, bool external,
			 const json_t *sa, struct identity *out, struct err *e);

/* ---- account ------------------------------------------------------------------ */

/* SuppressedReasons (a list of BOUNCE, COMPLAINT; absent: none) as
 * STORE_SUPPRESS_BIT_*. */
static int
reasons_read(const json_t *l, unsigned *out, struct err *e)
{
	const json_t *v;
	size_t i;

	*out = 0;
	if (l == NULL || json_is_null(l))
		return 0;
	if (!json_is_array(l))
		return err_set(e, 400, "BadRequestException", "SuppressedReasons must be a list.");
	json_array_foreach(l, i, v) {
		const char *r = json_string_value(v);
		if (r != NULL && strcmp(r, STORE_SUPPRESS_BOUNCE) == 0)
			*out |= STORE_SUPPRESS_BIT_BOUNCE;
		else if (r != NULL && strcmp(r, STORE_SUPPRESS_COMPLAINT) == 0)
			*out |= STORE_SUPPRESS_BIT_COMPLAINT;
		else
			return err_set(e, 400, "BadRequestException",
				       "Invalid SuppressedReasons value %.64s; expected BOUNCE or "
				       "COMPLAINT.",
				       r != NULL ? r : "(not a string)");
	}
	return 0;
}

static json_t *
reasons_json(unsigned bits)
{
	json_t *l = json_array();

	if (bits & STORE_SUPPRESS_BIT_BOUNCE)
		json_array_append_new(l, json_string(STORE_SUPPRESS_BOUNCE));
	if (bits & STORE_SUPPRESS_BIT_COMPLAINT)
		json_array_append_new(l, json_string(STORE_SUPPRESS_COMPLAINT));
	return l;
}

int
act_v2_put_account_suppression_attributes(struct api_ctx *ctx, struct err *e)
{
	unsigned bits;

	if (reasons_read(json_object_get(ctx->json, "SuppressedReasons"), &bits, e) != 0)
		return -1;
	return ctx->store->ops->account_set_suppression(ctx->store, ctx->caller.account_id, bits,
							e) < 0
		       ? -1
		       : 0;
}

int
act_v2_get_account(struct api_ctx *ctx, struct err *e)
{
	const struct account *a = &ctx->account;
	int64_t sent;

	if (act_account_sent_24h(ctx, &sent, e) != 0)
		return -1;
	return answer(ctx,
		      json_pack("{s:{s:f, s:f, s:f}, s:b, s:s, s:b, s:b, s:{s:o}}", "SendQuota",
				"Max24HourSend", (double)a->max_24h, "MaxSendRate", a->max_rate,
				"SentLast24Hours", (double)sent, "SendingEnabled",
				a->sending_enabled && a->paused_reason[0] == '\0',
				"EnforcementStatus", "HEALTHY", "ProductionAccessEnabled",
				!a->sandbox, "DedicatedIpAutoWarmupEnabled", 0,
				"SuppressionAttributes", "SuppressedReasons",
				reasons_json(a->suppressed_reasons)),
		      e);
}

int
act_v2_put_account_sending_attributes(struct api_ctx *ctx, struct err *e)
{
	const json_t *v = json_object_get(ctx->json, "SendingEnabled");

	if (v != NULL && !json_is_boolean(v))
		return err_set(e, 400, "BadRequestException", "SendingEnabled must be a boolean.");
	/* absent means false, as v1's UpdateAccountSendingEnabled */
	return ctx->store->ops->account_set_sending(ctx->store, ctx->caller.account_id,
						    v != NULL && json_is_true(v), e) < 0
		       ? -1
		       : 0;
}

/* ---- identities ------------------------------------------------------------------ */

int
act_v2_create_email_identity(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	const json_t *ident = json_object_get(ctx->json, "EmailIdentity");
	const json_t *cs = json_object_get(ctx->json, "ConfigurationSetName");
	struct identity id = {0};
	struct config_set c;
	enum identity_type type;
	const json_t *sa = json_object_get(ctx->json, "DkimSigningAttributes");
	json_t *dkim;
	int rc;

	if (json_is_null(sa))
		sa = NULL;
	if (!json_is_string(ident))
		return err_set(e, 400, "BadRequestException", "EmailIdentity is required.");
	if (cs != NULL && !json_is_null(cs) && !json_is_string(cs))
		return err_set(e, 400, "BadRequestException",
			       "ConfigurationSetName must be a string.");
	if (identity_normalise(json_string_value(ident), name, sizeof(name), &type, e) != 0)
		return -1;
	if ((rc = load(ctx, name, &id, e)) < 0)
		return -1;
	identity_clear(&id);
	if (rc == 1)
		return err_set(e, 400, "AlreadyExistsException",
			       "Email identity %.256s already exist.", name);
	if (sa != NULL && type != IDENTITY_DOMAIN)
		return err_set(e, 400, "BadRequestException",
			       "DkimSigningAttributes can only be given for a domain identity; "
			       "%.256s is an email address.",
			       name);
	/* the default set must be one of the caller's (NotFoundException) */
	if (json_is_string(cs) && act_cset_load(ctx, json_string_value(cs), &c, e) != 0)
		return -1;
	if (type == IDENTITY_DOMAIN) {
		/* BYODKIM when the attributes bring a selector or a key (the
		 * request has no SigningAttributesOrigin), else Easy DKIM */
		bool external = sa != NULL &&
				((json_object_get(sa, "DomainSigningSelector") != NULL &&
				  !json_is_null(json_object_get(sa, "DomainSigningSelector"))) ||
				 (json_object_get(sa, "DomainSigningPrivateKey") != NULL &&
				  !json_is_null(json_object_get(sa, "DomainSigningPrivateKey"))));
		if (domain_validate(name, name, sizeof(name), e) != 0 ||
		    signing_setup(ctx, name, external, sa, &id, e) != 0)
			return -1;
		if (json_is_string(cs) && set_default_cset(ctx, name, cs, e) != 0) {
			identity_clear(&id);
			return -1;
		}
		dkim = dkim_attributes(ctx, &id, e);
		rc = dkim == NULL ? -1
				  : answer(ctx,
					   json_pack("{s:s, s:b, s:o}", "IdentityType", "DOMAIN",
						     "VerifiedForSendingStatus", 0, "DkimAttributes",
						     dkim),
					   e);
		identity_clear(&id);
		return rc;
	}
	/* an address: the answer is written first, the request ends when the
	 * verification mail is durable (API_PENDING) */
	json_t *dk = json_pack("{s:b, s:s, s:[], s:s}", "SigningEnabled", 1, "Status",
			       "NOT_STARTED", "Tokens", "SigningAttributesOrigin", "AWS_SES");
	if (answer(ctx,
		   json_pack("{s:s, s:b, s:o}", "IdentityType", "EMAIL_ADDRESS",
			     "VerifiedForSendingStatus", 0, "DkimAttributes", dk),
		   e) != 0)
		return -1;
	rc = act_identity_verify_email(ctx, name, json_is_string(cs) ? c.name : NULL, e);
	if (rc < 0)
		ctx->out->len = 0;
	return rc;
}

int
act_v2_get_email_identity(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	struct identity_policy pol[POLICIES_MAX];
	struct identity id = {0};
	json_t *dkim, *policies, *mf;
	int rc, n;

	if (identity_member(ctx, "GetEmailIdentity", name, sizeof(name), e) != 0)
		return -1;
	if ((rc = load(ctx, name, &id, e)) <= 0)
		return rc == 0 ? not_found(e, name) : -1;
	n = ctx->store->ops->policy_list(ctx->store, ctx->region, ctx->caller.account_id, name, pol,
					 POLICIES_MAX, e);
	if (n < 0 || (dkim = dkim_attributes(ctx, &id, e)) == NULL) {
		for (int i = 0; i < n; i++)
			free(pol[i].document);
		identity_clear(&id);
		return -1;
	}
	policies = json_object();
	for (int i = 0; i < n; i++) {
		json_object_set_new(policies, pol[i].name, json_string(pol[i].document));
		free(pol[i].document);
	}
	const char *status = verify_status_at(&id, id.status, (int64_t)ctx->now);
	mf = json_pack("{s:s, s:s}", "BehaviorOnMxFailure",
		       strcmp(id.mail_from_behavior, "RejectMessage") == 0 ? "REJECT_MESSAGE"
									   : "USE_DEFAULT_VALUE",
		       "MailFromDomainStatus",
		       id.mail_from_domain != NULL ? v2_status(id.mail_from_status) : "PENDING");
	if (id.mail_from_domain != NULL)
		json_object_set_new(mf, "MailFromDomain", json_string(id.mail_from_domain));
	json_t *out = json_pack("{s:s, s:b, s:b, s:s, s:o, s:o, s:o, s:[]}", "IdentityType",
				type_name(id.type), "FeedbackForwardingStatus",
				id.forwarding_enabled, "VerifiedForSendingStatus",
				strcmp(status, STATUS_SUCCESS) == 0, "VerificationStatus",
				v2_status(status), "DkimAttributes", dkim, "MailFromAttributes", mf,
				"Policies", policies, "Tags");
	/* the default set, unless deleted since (then sends get none) */
	if (id.config_set != NULL) {
		int k = ctx->store->ops->cset_get(ctx->store, ctx->region, ctx->caller.account_id,
						  id.config_set, NULL, e);
		if (k < 0) {
			json_decref(out);
			identity_clear(&id);
			return -1;
		}
		if (k == 1)
			json_object_set_new(out, "ConfigurationSetName", json_string(id.config_set));
	}
	rc = answer(ctx, out, e);
	identity_clear(&id);
	return rc;
}

struct list_state {
	struct api_ctx *ctx;
	json_t *items;
	int count, limit;
	char *last;
};

static int
list_one(void *arg, const struct identity *id)
{
	struct list_state *st = arg;
	const char *status;

	if (st->count == st->limit) {
		st->count++; /* one more than a page: there is a next one */
		return 1;
	}
	status = verify_status_at(id, id->status, (int64_t)st->ctx->now);
	json_array_append_new(st->items,
			      json_pack("{s:s, s:s, s:b, s:s}", "IdentityType", type_name(id->type),
					"IdentityName", id->name, "SendingEnabled",
					strcmp(status, STATUS_SUCCESS) == 0, "VerificationStatus",
					v2_status(status)));
	free(st->last);
	st->last = xstrdup(id->name);
	st->count++;
	return 0;
}

int
act_v2_list_email_identities(struct api_ctx *ctx, struct err *e)
{
	const char *size = api_param_opt(ctx, "PageSize");
	const char *token = api_param_opt(ctx, "NextToken");
	struct list_state st = {.ctx = ctx, .limit = LIST_PAGE_MAX};
	char *after = NULL;
	json_t *out;
	int rc;

	if (size != NULL) {
		char *end;
		long n = strtol(size, &end, 10);
		if (end == size || *end != '\0' || n < 1 || n > LIST_PAGE_MAX)
			return err_set(e, 400, "BadRequestException",
				       "PageSize must be an integer between 1 and %d.", LIST_PAGE_MAX);
		st.limit = (int)n;
	}
	if (token != NULL && token[0] != '\0') {
		size_t n;
		uint8_t *raw = base64_decode(token, strlen(token), &n);
		if (raw == NULL || n == 0 || memchr(raw, '\0', n) != NULL) {
			free(raw);
			return err_set(e, 400, "BadRequestException", "Invalid NextToken.");
		}
		after = xstrndup((const char *)raw, n);
		free(raw);
	}
	st.items = json_array();
	rc = ctx->store->ops->identity_list(ctx->store, ctx->region, ctx->caller.account_id, -1,
					    after, st.limit + 1, list_one, &st, e);
	free(after);
	if (rc < 0) {
		json_decref(st.items);
		free(st.last);
		return -1;
	}
	out = json_pack("{s:o}", "EmailIdentities", st.items);
	if (st.count > st.limit && st.last != NULL) {
		char *next = base64_encode(st.last, strlen(st.last));
		json_object_set_new(out, "NextToken", json_string(next));
		free(next);
	}
	free(st.last);
	return answer(ctx, out, e);
}

int
act_v2_delete_email_identity(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	int rc;

	if (identity_member(ctx, "DeleteEmailIdentity", name, sizeof(name), e) != 0)
		return -1;
	/* the store drops its policies too */
	rc = ctx->store->ops->identity_delete(ctx->store, ctx->region, ctx->caller.account_id, name,
					      e);
	if (rc < 0)
		return -1;
	return rc == 0 ? not_found(e, name) : 0;
}

/* ---- policies (act_policy.c's engine and checks) ----------------------------------- */

/* The identity (must exist: NotFoundException) and PolicyName members;
 * *exists: the identity has a policy of that name. */
static int
policy_target(struct api_ctx *ctx, const char *action, char *name, size_t cap,
	      const char **pname, bool *exists, struct err *e)
{
	struct identity_policy pol[POLICIES_MAX];
	int n;

	if (identity_member(ctx, action, name, cap, e) != 0)
		return -1;
	if (act_policy_identity(ctx, "EmailIdentity", action, name, cap, e) != 0)
		return strcmp(e->code, "InvalidParameterValue") == 0 ? not_found(e, name) : -1;
	if ((*pname = api_param(ctx, "PolicyName", e)) == NULL ||
	    act_policy_check_name(*pname, e) != 0)
		return -1;
	n = ctx->store->ops->policy_list(ctx->store, ctx->region, ctx->caller.account_id, name, pol,
					 POLICIES_MAX, e);
	if (n < 0)
		return -1;
	*exists = false;
	for (int i = 0; i < n; i++) {
		*exists = *exists || strcmp(pol[i].name, *pname) == 0;
		free(pol[i].document);
	}
	return 0;
}

static int
policy_write(struct api_ctx *ctx, const char *action, bool create, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	const json_t *doc = json_object_get(ctx->json, "Policy");
	const char *pname;
	bool exists;

	if (policy_target(ctx, action, name, sizeof(name), &pname, &exists, e) != 0)
		return -1;
	if (!json_is_string(doc))
		return err_set(e, 400, "BadRequestException", "Policy is required.");
	if (create && exists)
		return err_set(e, 400, "AlreadyExistsException",
			       "Policy %s already exists for identity %.256s.", pname, name);
	if (!create && !exists)
		return err_set(e, 404, "NotFoundException",
			       "Policy %s does not exist for identity %.256s.", pname, name);
	return act_policy_put(ctx, name, pname, json_string_value(doc), e);
}

int
act_v2_create_email_identity_policy(struct api_ctx *ctx, struct err *e)
{
	return policy_write(ctx, "CreateEmailIdentityPolicy", true, e);
}

int
act_v2_update_email_identity_policy(struct api_ctx *ctx, struct err *e)
{
	return policy_write(ctx, "UpdateEmailIdentityPolicy", false, e);
}

int
act_v2_delete_email_identity_policy(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	const char *pname;
	bool exists;

	if (policy_target(ctx, "DeleteEmailIdentityPolicy", name, sizeof(name), &pname, &exists,
			  e) != 0)
		return -1;
	if (!exists)
		return err_set(e, 404, "NotFoundException",
			       "Policy %s does not exist for identity %.256s.", pname, name);
	return ctx->store->ops->policy_delete(ctx->store, ctx->region, ctx->caller.account_id, name,
					      pname, e) < 0 ? -1 : 0;
}

int
act_v2_get_email_identity_policies(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	struct identity_policy pol[POLICIES_MAX];
	json_t *out;
	int n;

	if (identity_member(ctx, "GetEmailIdentityPolicies", name, sizeof(name), e) != 0)
		return -1;
	if (act_policy_identity(ctx, "EmailIdentity", "GetEmailIdentityPolicies", name,
				sizeof(name), e) != 0)
		return strcmp(e->code, "InvalidParameterValue") == 0 ? not_found(e, name) : -1;
	n = ctx->store->ops->policy_list(ctx->store, ctx->region, ctx->caller.account_id, name, pol,
					 POLICIES_MAX, e);
	if (n < 0)
		return -1;
	out = json_object();
	for (int i = 0; i < n; i++) {
		json_object_set_new(out, pol[i].name, json_string(pol[i].document));
		free(pol[i].document);
	}
	return answer(ctx, json_pack("{s:o}", "Policies", out), e);
}

/* ---- email templates (act_template.c's checks and store) ----------------------------- */

/* TemplateContent's parts (borrowed from ctx->json). */
static int
template_content(struct api_ctx *ctx, const char **subject, const char **text,
		 const char **html, struct err *e)
{
	const json_t *c = json_object_get(ctx->json, "TemplateContent");
	const json_t *v[3];

	if (!json_is_object(c))
		return err_set(e, 400, "BadRequestException", "TemplateContent is required.");
	v[0] = json_object_get(c, "Subject");
	v[1] = json_object_get(c, "Text");
	v[2] = json_object_get(c, "Html");
	for (int i = 0; i < 3; i++)
		if (v[i] != NULL && !json_is_null(v[i]) &&
		    (!json_is_string(v[i]) ||
		     strlen(json_string_value(v[i])) != json_string_length(v[i])))
			return err_set(e, 400, "BadRequestException",
				       "TemplateContent's parts must be strings.");
	*subject = json_string_value(v[0]);
	*text = json_string_value(v[1]);
	*html = json_string_value(v[2]);
	return 0;
}

static int
template_not_found(const char *name, struct err *e)
{
	return err_set(e, 404, "NotFoundException", "Template %.128s does not exist.", name);
}

int
act_v2_create_email_template(struct api_ctx *ctx, struct err *e)
{
	const json_t *name = json_object_get(ctx->json, "TemplateName");
	const char *subject, *text, *html;

	if (!json_is_string(name))
		return err_set(e, 400, "BadRequestException", "TemplateName is required.");
	if (template_content(ctx, &subject, &text, &html, e) != 0)
		return -1;
	return act_template_put(ctx, json_string_value(name), subject, text, html, true, e);
}

int
act_v2_update_email_template(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "TemplateName", e), *subject, *text, *html;

	if (name == NULL || template_content(ctx, &subject, &text, &html, e) != 0)
		return -1;
	return act_template_put(ctx, name, subject, text, html, false, e);
}

int
act_v2_get_email_template(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "TemplateName", e);
	struct email_template t;
	json_t *c;
	int rc;

	if (name == NULL || act_template_load(ctx, name, NULL, &t, e) != 0)
		return -1;
	c = json_object();
	if (t.subject != NULL)
		json_object_set_new(c, "Subject", json_string(t.subject));
	if (t.text != NULL)
		json_object_set_new(c, "Text", json_string(t.text));
	if (t.html != NULL)
		json_object_set_new(c, "Html", json_string(t.html));
	rc = answer(ctx, json_pack("{s:s, s:o}", "TemplateName", t.name, "TemplateContent", c), e);
	email_template_clear(&t);
	return rc;
}

int
act_v2_delete_email_template(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "TemplateName", e);
	int rc;

	if (name == NULL)
		return -1;
	if (!act_template_name_ok(name))
		return template_not_found(name, e);
	rc = ctx->store->ops->template_delete(ctx->store, ctx->region, ctx->caller.account_id, name,
					      e);
	if (rc < 0)
		return -1;
	return rc == 0 ? template_not_found(name, e) : 0;
}

struct template_page {
	json_t *items;
	int n, limit;
	bool more;
	char last[65];
};

static int
template_one(void *arg, const struct email_template *t)
{
	struct template_page *p = arg;

	if (p->n == p->limit) {
		p->more = true;
		return 1;
	}
	json_array_append_new(p->items, json_pack("{s:s, s:I}", "TemplateName", t->name,
						  "CreatedTimestamp", (json_int_t)t->created));
	snprintf(p->last, sizeof(p->last), "%s", t->name);
	p->n++;
	return 0;
}

/* PageSize (1..max, default dflt) from the query. */
static int
page_size(struct api_ctx *ctx, int dflt, int max, int *out, struct err *e)
{
	const char *size = api_param_opt(ctx, "PageSize");
	char *end;
	long n;

	*out = dflt;
	if (size == NULL)
		return 0;
	n = strtol(size, &end, 10);
	if (end == size || *end != '\0' || n < 1 || n > max)
		return err_set(e, 400, "BadRequestException",
			       "PageSize must be an integer between 1 and %d.", max);
	*out = (int)n;
	return 0;
}

int
act_v2_list_email_templates(struct api_ctx *ctx, struct err *e)
{
	const char *token = api_param_opt(ctx, "NextToken");
	struct template_page p = {0};
	json_t *out;

	if (page_size(ctx, 10, 100, &p.limit, e) != 0)
		return -1;
	if (token != NULL && !act_template_name_ok(token))
		return err_set(e, 400, "BadRequestException", "The NextToken is invalid.");
	p.items = json_array();
	if (ctx->store->ops->template_list(ctx->store, ctx->region, ctx->caller.account_id, token,
					   p.limit + 1, template_one, &p, e) != 0) {
		json_decref(p.items);
		return -1;
	}
	out = json_pack("{s:o}", "TemplatesMetadata", p.items);
	if (p.more)
		json_object_set_new(out, "NextToken", json_string(p.last));
	return answer(ctx, out, e);
}

/* ---- the account suppression list ------------------------------------------------ */

/* An addr-spec as SES v2 takes it, in *out's address. */
static int
suppressed_address(const char *v, struct suppressed *out, struct err *e)
{
	struct address a;

	if (v == NULL)
		return err_set(e, 400, "BadRequestException", "EmailAddress is required.");
	if (address_parse_spec(v, strlen(v), &a, e) != 0)
		return err_set(e, 400, "BadRequestException", "Invalid EmailAddress: %.300s", v);
	snprintf(out->address, sizeof(out->address), "%s", a.spec);
	return 0;
}

int
act_v2_put_suppressed_destination(struct api_ctx *ctx, struct err *e)
{
	const json_t *addr = json_object_get(ctx->json, "EmailAddress");
	const json_t *reason = json_object_get(ctx->json, "Reason");
	struct suppressed p = {0};
	const char *r = json_string_value(reason);

	if (suppressed_address(json_string_value(addr), &p, e) != 0)
		return -1;
	if (r == NULL ||
	    (strcmp(r, STORE_SUPPRESS_BOUNCE) != 0 && strcmp(r, STORE_SUPPRESS_COMPLAINT) != 0))
		return err_set(e, 400, "BadRequestException",
			       "Reason must be BOUNCE or COMPLAINT.");
	snprintf(p.account_id, sizeof(p.account_id), "%s", ctx->caller.account_id);
	snprintf(p.reason, sizeof(p.reason), "%s", r);
	p.ts = (int64_t)ctx->now;
	return ctx->store->ops->suppression_put(ctx->store, &p, e) != 0 ? -1 : 0;
}

static json_t *
suppressed_json(const struct suppressed *p, bool attributes)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "EmailAddress", p->address, "Reason", p->reason,
			      "LastUpdateTime", (json_int_t)p->ts);

	if (attributes) {
		json_t *a = json_object();
		if (p->message_id[0] != '\0')
			json_object_set_new(a, "MessageId", json_string(p->message_id));
		if (p->feedback_id[0] != '\0')
			json_object_set_new(a, "FeedbackId", json_string(p->feedback_id));
		json_object_set_new(o, "Attributes", a);
	}
	return o;
}

int
act_v2_get_suppressed_destination(struct api_ctx *ctx, struct err *e)
{
	struct suppressed want = {0}, p;
	int rc;

	if (suppressed_address(api_param_opt(ctx, "EmailAddress"), &want, e) != 0)
		return -1;
	rc = ctx->store->ops->suppression_get(ctx->store, ctx->caller.account_id, want.address, &p,
					      e);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_set(e, 404, "NotFoundException",
			       "Email address %s does not exist on your suppression list.",
			       want.address);
	return answer(ctx, json_pack("{s:o}", "SuppressedDestination", suppressed_json(&p, true)),
		      e);
}

int
act_v2_delete_suppressed_destination(struct api_ctx *ctx, struct err *e)
{
	struct suppressed want = {0};
	int rc;

	if (suppressed_address(api_param_opt(ctx, "EmailAddress"), &want, e) != 0)
		return -1;
	rc = ctx->store->ops->suppression_delete(ctx->store, ctx->caller.account_id, want.address,
						 e);
	if (rc < 0)
		return -1;
	return rc == 0 ? err_set(e, 404, "NotFoundException",
				 "Email address %s does not exist on your suppression list.",
				 want.address)
		       : 0;
}

struct suppressed_page {
	json_t *items;
	bool bounce, complaint; /* the reasons listed */
	int n, limit;
	bool more;
	char last[321];
};

static int
suppressed_one(void *arg, const struct suppressed *p)
{
	struct suppressed_page *pg = arg;

	if (!(strcmp(p->reason, STORE_SUPPRESS_BOUNCE) == 0 ? pg->bounce : pg->complaint)) {
		snprintf(pg->last, sizeof(pg->last), "%s", p->address);
		return 0;
	}
	if (pg->n == pg->limit) {
		pg->more = true;
		return 1;
	}
	json_array_append_new(pg->items, suppressed_json(p, false));
	snprintf(pg->last, sizeof(pg->last), "%s", p->address);
	pg->n++;
	return 0;
}

/*
 * ListSuppressedDestinations, by address. The Reason filter (one or both,
 * the query's Reason or Reason.member.N, v2.h) is applied while
 * walking (the store does not index it), so a page is read to its end; the
 * token is the last address seen. StartDate and EndDate are not applied.
 */
int
act_v2_list_suppressed_destinations(struct api_ctx *ctx, struct err *e)
{
	const char *token = api_param_opt(ctx, "NextToken");
	const char *one = api_param_opt(ctx, "Reason");
	struct suppressed_page pg = {0};
	struct form_list l = {0};
	char *after = NULL;
	json_t *out;
	int rc;

	if (page_size(ctx, 1000, 1000, &pg.limit, e) != 0)
		return -1;
	if (one == NULL && form_list(ctx->form, "Reason", 2, &l, e) != 0)
		return -1;
	for (size_t i = 0; i < (one != NULL ? 1 : l.n); i++) {
		const char *r = one != NULL ? one : l.values[i];
		if (strcmp(r, STORE_SUPPRESS_BOUNCE) == 0) {
			pg.bounce = true;
		} else if (strcmp(r, STORE_SUPPRESS_COMPLAINT) == 0) {
			pg.complaint = true;
		} else {
			form_list_free(&l);
			return err_set(e, 400, "BadRequestException",
				       "Reason must be BOUNCE or COMPLAINT.");
		}
	}
	if (one == NULL && l.n == 0)
		pg.bounce = pg.complaint = true;
	form_list_free(&l);
	if (token != NULL && token[0] != '\0') {
		size_t n;
		uint8_t *raw = base64_decode(token, strlen(token), &n);
		if (raw == NULL || n == 0 || memchr(raw, '\0', n) != NULL) {
			free(raw);
			return err_set(e, 400, "BadRequestException", "Invalid NextToken.");
		}
		after = xstrndup((const char *)raw, n);
		free(raw);
	}
	pg.items = json_array();
	rc = ctx->store->ops->suppression_list(ctx->store, ctx->caller.account_id, after, 0,
					       suppressed_one, &pg, e);
	free(after);
	if (rc != 0) {
		json_decref(pg.items);
		return -1;
	}
	out = json_pack("{s:o}", "SuppressedDestinationSummaries", pg.items);
	if (pg.more) {
		/* the last address on this page */
		const json_t *last = json_array_get(pg.items, json_array_size(pg.items) - 1);
		const char *a = json_string_value(json_object_get(last, "EmailAddress"));
		char *next = base64_encode(a, strlen(a));
		json_object_set_new(out, "NextToken", json_string(next));
		free(next);
	}
	return answer(ctx, out, e);
}

/* ---- configuration sets (act_cset.c's checks and store) --------------------------- */

/* Member `key` of o, a boolean, into *out (left alone when absent). */
static int
json_bool_member(const json_t *o, const char *key, bool *out, struct err *e)
{
	const json_t *v = o != NULL ? json_object_get(o, key) : NULL;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return err_set(e, 400, "BadRequestException", "%s must be a boolean.", key);
	*out = json_is_true(v);
	return 0;
}

int
act_v2_create_configuration_set(struct api_ctx *ctx, struct err *e)
{
	static const char *const unsupported[] = {"TrackingOptions", "DeliveryOptions",
						  "VdmOptions", "ArchivingOptions"};
	const json_t *sup = json_object_get(ctx->json, "SuppressionOptions");
	unsigned bits = 0;
	const json_t *name = json_object_get(ctx->json, "ConfigurationSetName");
	const json_t *tags = json_object_get(ctx->json, "Tags");
	bool sending = true, reputation = false;

	if (!json_is_string(name))
		return err_set(e, 400, "BadRequestException", "ConfigurationSetName is required.");
	/* options sesame does not implement are refused, not silently dropped */
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (json_object_get(ctx->json, unsupported[i]) != NULL)
			return err_set(e, 400, "BadRequestException",
				       "%s is not supported by sesame.", unsupported[i]);
	if (tags != NULL && !(json_is_array(tags) && json_array_size(tags) == 0))
		return err_set(e, 400, "BadRequestException",
			       "Tags are not supported by sesame.");
	if (json_bool_member(json_object_get(ctx->json, "SendingOptions"), "SendingEnabled",
			     &sending, e) != 0 ||
	    json_bool_member(json_object_get(ctx->json, "ReputationOptions"),
			     "ReputationMetricsEnabled", &reputation, e) != 0)
		return -1;
	if (sup != NULL && !json_is_null(sup) &&
	    (!json_is_object(sup) ||
	     reasons_read(json_object_get(sup, "SuppressedReasons"), &bits, e) != 0))
		return json_is_object(sup) ? -1
					   : err_set(e, 400, "BadRequestException",
						     "SuppressionOptions must be an object.");
	if (act_cset_create(ctx, json_string_value(name), sending, reputation, e) != 0)
		return -1;
	if (sup == NULL || json_is_null(sup))
		return 0;
	return ctx->store->ops->cset_set_suppression(ctx->store, ctx->region,
						     ctx->caller.account_id,
						     json_string_value(name), (int)bits, e) < 0
		       ? -1
		       : 0;
}

int
act_v2_get_configuration_set(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "ConfigurationSetName", e);
	struct config_set c;

	json_t *out;

	if (name == NULL || act_cset_load(ctx, name, &c, e) != 0)
		return -1;
	out = json_pack("{s:s, s:{s:b}, s:{s:b}, s:[]}", "ConfigurationSetName", c.name,
			"SendingOptions", "SendingEnabled", c.sending_enabled, "ReputationOptions",
			"ReputationMetricsEnabled", c.reputation_enabled, "Tags");
	if (c.suppressed_reasons >= 0)
		json_object_set_new(out, "SuppressionOptions",
				    json_pack("{s:o}", "SuppressedReasons",
					      reasons_json((unsigned)c.suppressed_reasons)));
	return answer(ctx, out, e);
}

int
act_v2_delete_configuration_set(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "ConfigurationSetName", e);

	return name == NULL ? -1 : act_cset_delete(ctx, name, e);
}

struct cset_page {
	json_t *items;
	int n, limit;
	bool more;
	char last[65];
};

static int
cset_one(void *arg, const struct config_set *c)
{
	struct cset_page *p = arg;

	if (p->n == p->limit) {
		p->more = true;
		return 1;
	}
	json_array_append_new(p->items, json_string(c->name));
	snprintf(p->last, sizeof(p->last), "%s", c->name);
	p->n++;
	return 0;
}

int
act_v2_list_configuration_sets(struct api_ctx *ctx, struct err *e)
{
	const char *token = api_param_opt(ctx, "NextToken");
	struct cset_page p = {0};
	json_t *out;

	if (page_size(ctx, 1000, 1000, &p.limit, e) != 0)
		return -1;
	if (token != NULL && !act_cset_name_ok(token))
		return err_set(e, 400, "BadRequestException", "The NextToken is invalid.");
	p.items = json_array();
	if (ctx->store->ops->cset_list(ctx->store, ctx->region, ctx->caller.account_id, token,
				       p.limit + 1, cset_one, &p, e) != 0) {
		json_decref(p.items);
		return -1;
	}
	out = json_pack("{s:o}", "ConfigurationSets", p.items);
	if (p.more)
		json_object_set_new(out, "NextToken", json_string(p.last));
	return answer(ctx, out, e);
}

static int
cset_flag(struct api_ctx *ctx, const char *member, int which, struct err *e)
{
	const char *name = api_param(ctx, "ConfigurationSetName", e);
	bool on = false; /* absent means false, as the model's default */

	if (name == NULL || json_bool_member(ctx->json, member, &on, e) != 0)
		return -1;
	return act_cset_set_flag(ctx, name, which, on, e);
}

int
act_v2_put_configuration_set_sending_options(struct api_ctx *ctx, struct err *e)
{
	return cset_flag(ctx, "SendingEnabled", 0, e);
}

/* SuppressedReasons given (an empty list too): the set's own; absent: the
 * account's again. */
int
act_v2_put_configuration_set_suppression_options(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "ConfigurationSetName", e);
	const json_t *l = json_object_get(ctx->json, "SuppressedReasons");
	struct config_set c;
	unsigned bits;
	int r;

	if (name == NULL || act_cset_load(ctx, name, &c, e) != 0 || reasons_read(l, &bits, e) != 0)
		return -1;
	r = ctx->store->ops->cset_set_suppression(ctx->store, c.region, c.account_id, c.name,
						  l == NULL || json_is_null(l) ? -1 : (int)bits, e);
	if (r < 0)
		return -1;
	return r == 0 ? err_set(e, 404, "NotFoundException",
				"Configuration set <%s> does not exist.", c.name)
		      : 0;
}

int
act_v2_put_configuration_set_reputation_options(struct api_ctx *ctx, struct err *e)
{
	return cset_flag(ctx, "ReputationMetricsEnabled", 1, e);
}

/* ---- event destinations (act_cset.c's checks and store) -------------------------- */

/* EventDestination (an EventDestinationDefinition) of the body into
 * *enabled, *types, *topic (borrowed from ctx->json). Only SnsDestination
 * is served. */
static int
read_dest_definition(struct api_ctx *ctx, bool *enabled, unsigned *types, const char **topic,
		     struct err *e)
{
	static const char *const other[] = {"CloudWatchDestination", "KinesisFirehoseDestination",
					    "PinpointDestination", "EventBridgeDestination"};
	const json_t *def = json_object_get(ctx->json, "EventDestination");
	const json_t *mt, *sns, *v;
	size_t i;

	*enabled = false;
	*types = 0;
	*topic = NULL;
	if (!json_is_object(def))
		return err_set(e, 400, "BadRequestException", "EventDestination is required.");
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (json_object_get(def, other[i]) != NULL &&
		    !json_is_null(json_object_get(def, other[i])))
			return err_set(e, 400, "BadRequestException",
				       "%s is not supported by sesame: only SnsDestination event "
				       "destinations are.",
				       other[i]);
	if (json_bool_member(def, "Enabled", enabled, e) != 0)
		return -1;
	mt = json_object_get(def, "MatchingEventTypes");
	if (mt != NULL && !json_is_array(mt))
		return err_set(e, 400, "BadRequestException", "MatchingEventTypes must be a list.");
	json_array_foreach(mt, i, v) {
		unsigned bit = json_is_string(v) ? act_cset_event_bit(json_string_value(v), true) : 0;
		if (bit == 0)
			return err_set(e, 400, "BadRequestException",
				       "Invalid event type %.64s; expected SEND, REJECT, BOUNCE, "
				       "COMPLAINT, DELIVERY, OPEN, CLICK, RENDERING_FAILURE, "
				       "DELIVERY_DELAY or SUBSCRIPTION.",
				       json_is_string(v) ? json_string_value(v) : "(not a string)");
		*types |= bit;
	}
	sns = json_object_get(def, "SnsDestination");
	if (sns != NULL && !json_is_null(sns)) {
		if (!json_is_object(sns) || !json_is_string(json_object_get(sns, "TopicArn")))
			return err_set(e, 400, "BadRequestException",
				       "SnsDestination.TopicArn is required.");
		*topic = json_string_value(json_object_get(sns, "TopicArn"));
	}
	return 0;
}

static int
put_event_destination(struct api_ctx *ctx, bool create, struct err *e)
{
	const char *set = api_param(ctx, "ConfigurationSetName", e), *name, *topic;
	struct config_set c;
	unsigned types;
	bool enabled;

	if (set == NULL)
		return -1;
	if (create) {
		const json_t *n = json_object_get(ctx->json, "EventDestinationName");
		if (!json_is_string(n))
			return err_set(e, 400, "BadRequestException",
				       "EventDestinationName is required.");
		name = json_string_value(n);
	} else if ((name = api_param(ctx, "EventDestinationName", e)) == NULL) {
		return -1;
	}
	if (act_cset_load(ctx, set, &c, e) != 0 ||
	    read_dest_definition(ctx, &enabled, &types, &topic, e) != 0)
		return -1;
	return act_cset_dest_put(ctx, &c, name, enabled, types, topic, create, e);
}

int
act_v2_create_configuration_set_event_destination(struct api_ctx *ctx, struct err *e)
{
	return put_event_destination(ctx, true, e);
}

int
act_v2_update_configuration_set_event_destination(struct api_ctx *ctx, struct err *e)
{
	return put_event_destination(ctx, false, e);
}

int
act_v2_delete_configuration_set_event_destination(struct api_ctx *ctx, struct err *e)
{
	const char *set = api_param(ctx, "ConfigurationSetName", e);
	const char *name = set != NULL ? api_param(ctx, "EventDestinationName", e) : NULL;
	struct config_set c;

	if (name == NULL || act_cset_load(ctx, set, &c, e) != 0)
		return -1;
	return act_cset_dest_delete(ctx, &c, name, e);
}

static int
dest_json(void *arg, const struct cset_dest *d)
{
	json_t *types = json_array();

	for (unsigned bit = 1; bit != 0 && bit <= CSET_EV_SUBSCRIPTION; bit <<= 1)
		if ((d->types & bit) && act_cset_event_name(bit, true) != NULL)
			json_array_append_new(types, json_string(act_cset_event_name(bit, true)));
	json_array_append_new(arg, json_pack("{s:s, s:b, s:o, s:{s:s}}", "Name", d->name, "Enabled",
					     d->enabled, "MatchingEventTypes", types,
					     "SnsDestination", "TopicArn", d->topic_arn));
	return 0;
}

int
act_v2_get_configuration_set_event_destinations(struct api_ctx *ctx, struct err *e)
{
	const char *set = api_param(ctx, "ConfigurationSetName", e);
	struct config_set c;
	json_t *items;

	if (set == NULL || act_cset_load(ctx, set, &c, e) != 0)
		return -1;
	items = json_array();
	if (ctx->store->ops->cset_dest_list(ctx->store, c.region, c.account_id, c.name, dest_json,
					    items, e) != 0) {
		json_decref(items);
		return -1;
	}
	return answer(ctx, json_pack("{s:o}", "EventDestinations", items), e);
}

/* ---- identity attributes (act_identity.c's and act_notify.c's work) ------------------ */

/* The EmailIdentity member must name an identity of the caller: v2 says
 * NotFoundException where v1's helpers say InvalidParameterValue. */
static int
must_exist(struct api_ctx *ctx, const char *action, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	struct identity id = {0};
	int rc;

	if (identity_member(ctx, action, name, sizeof(name), e) != 0)
		return -1;
	rc = load(ctx, name, &id, e);
	identity_clear(&id);
	if (rc < 0)
		return -1;
	return rc == 0 ? not_found(e, name) : 0;
}

int
act_v2_put_email_identity_dkim_attributes(struct api_ctx *ctx, struct err *e)
{
	bool on = false; /* absent: false, as v1's required DkimEnabled has no default */

	if (must_exist(ctx, "PutEmailIdentityDkimAttributes", e) != 0 ||
	    json_bool_member(ctx->json, "SigningEnabled", &on, e) != 0)
		return -1;
	return act_identity_set_dkim(ctx, "EmailIdentity", "PutEmailIdentityDkimAttributes", on, e);
}

int
act_v2_put_email_identity_feedback_attributes(struct api_ctx *ctx, struct err *e)
{
	const char *v = api_param(ctx, "EmailIdentity", e);
	bool on = false;

	if (v == NULL || must_exist(ctx, "PutEmailIdentityFeedbackAttributes", e) != 0 ||
	    json_bool_member(ctx->json, "EmailForwardingEnabled", &on, e) != 0)
		return -1;
	return act_notify_set_forwarding(ctx, v, "PutEmailIdentityFeedbackAttributes", on, e);
}

/* ---- DKIM signing attributes: Easy DKIM or BYODKIM ---------------------------------- */

/* SigningAttributesOrigin: AWS_SES — and the AWS_SES_<REGION> values of
 * newer models, which name where Easy DKIM's keys come from: the same here
 * — or EXTERNAL. */
static int
origin_read(const json_t *v, bool *external, struct err *e)
{
	const char *s = json_string_value(v);

	if (s != NULL && strcmp(s, "EXTERNAL") == 0)
		*external = true;
	else if (s != NULL && (strcmp(s, "AWS_SES") == 0 || strncmp(s, "AWS_SES_", 8) == 0))
		*external = false;
	else if (s == NULL)
		return err_set(e, 400, "BadRequestException",
			       "SigningAttributesOrigin is required: AWS_SES or EXTERNAL.");
	else
		return err_set(e, 400, "BadRequestException",
			       "Invalid SigningAttributesOrigin %.64s; expected AWS_SES or EXTERNAL.",
			       s);
	return 0;
}

/* DomainSigningSelector, the model's Selector: 1 to 63 letters, digits and
 * hyphens, a letter or digit at each end (one DNS label). */
static bool
selector_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || strlen(s) != n || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* A member of DkimSigningAttributes, NULL when absent or null. */
static const json_t *
sa_member(const json_t *sa, const char *name)
{
	const json_t *v = sa != NULL ? json_object_get(sa, name) : NULL;

	return json_is_null(v) ? NULL : v;
}

/*
 * Set up DKIM of the caller's domain `name` (created if absent: v2's
 * CreateEmailIdentity) from DkimSigningAttributes `sa` (may be NULL).
 * EXTERNAL: DomainSigningSelector and DomainSigningPrivateKey required; the
 * key is checked and sealed (dkim_keys_import) before anything is stored,
 * so a bad key creates and changes nothing. AWS_SES: Easy DKIM (a BYODKIM
 * domain gets fresh keys and tokens); NextSigningKeyLength may say
 * RSA_2048_BIT, the length sesame generates (BYODKIM ignores it, as SES
 * documents it for Easy DKIM only). 0 with *out (identity_clear), -1.
 */
static int
signing_setup(struct api_ctx *ctx, const char *name, bool external, const json_t *sa,
	      struct identity *out, struct err *e)
{
	const json_t *sel, *key, *len;
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	int bits, rc;

	if (sa != NULL && !json_is_object(sa))
		return err_set(e, 400, "BadRequestException",
			       "The DKIM signing attributes must be an object.");
	sel = sa_member(sa, "DomainSigningSelector");
	key = sa_member(sa, "DomainSigningPrivateKey");
	len = sa_member(sa, "NextSigningKeyLength");
	if (len != NULL && (!json_is_string(len) ||
			    (strcmp(json_string_value(len), "RSA_1024_BIT") != 0 &&
			     strcmp(json_string_value(len), "RSA_2048_BIT") != 0)))
		return err_set(e, 400, "BadRequestException",
			       "NextSigningKeyLength must be RSA_1024_BIT or RSA_2048_BIT.");
	if (!external) {
		if (sel != NULL || key != NULL)
			return err_set(e, 400, "BadRequestException",
				       "DomainSigningSelector and DomainSigningPrivateKey are for "
				       "SigningAttributesOrigin EXTERNAL (BYODKIM).");
		if (len != NULL && strcmp(json_string_value(len), "RSA_2048_BIT") != 0)
			return err_set(e, 400, "BadRequestException",
				       "sesame's Easy DKIM keys are RSA_2048_BIT; NextSigningKeyLength "
				       "%s is not supported.",
				       json_string_value(len));
		return act_identity_domain_dkim(ctx, name, true, out, e);
	}
	if (!json_is_string(sel) || !selector_ok(json_string_value(sel), json_string_length(sel)))
		return err_set(e, 400, "BadRequestException",
			       "DomainSigningSelector is required for BYODKIM: 1 to 63 letters, "
			       "digits and hyphens, not starting or ending with a hyphen.");
	if (!json_is_string(key))
		return err_set(e, 400, "BadRequestException",
			       "DomainSigningPrivateKey is required for BYODKIM: the base64 of a "
			       "1024- to 2048-bit RSA private key.");
	if (dkim_keys_import(ctx->t->vault, json_string_value(key), json_string_length(key),
			     &sealed, &sealed_len, &bits, e) != 0)
		return -1;
	rc = act_identity_domain_byodkim(ctx, name, json_string_value(sel), sealed, sealed_len,
					 out, e);
	free(sealed);
	return rc;
}

int
act_v2_put_email_identity_dkim_signing_attributes(struct api_ctx *ctx, struct err *e)
{
	static const char action[] = "PutEmailIdentityDkimSigningAttributes";
	char name[IDENTITY_NAME_MAX + 1];
	struct identity id = {0};
	json_t *tokens;
	bool external = false;
	int rc;

	/* the owner's own identity (another account's ARN: AccessDenied; a
	 * name of no identity of the caller's: NotFound) */
	if (identity_member(ctx, action, name, sizeof(name), e) != 0)
		return -1;
	if ((rc = load(ctx, name, &id, e)) <= 0)
		return rc == 0 ? not_found(e, name) : -1;
	rc = id.type;
	identity_clear(&id);
	if (rc != IDENTITY_DOMAIN)
		return err_set(e, 400, "BadRequestException",
			       "DKIM signing attributes can only be set for a domain identity; "
			       "%.256s is an email address.",
			       name);
	if (origin_read(json_object_get(ctx->json, "SigningAttributesOrigin"), &external, e) != 0 ||
	    signing_setup(ctx, name, external, sa_member(ctx->json, "SigningAttributes"), &id,
			  e) != 0)
		return -1;
	tokens = json_array();
	for (int i = 0; i < DKIM_KEYS_N && id.dkim_tokens[i] != NULL; i++)
		json_array_append_new(tokens, json_string(id.dkim_tokens[i]));
	rc = answer(ctx,
		    json_pack("{s:s, s:o}", "DkimStatus",
			      v2_status(verify_status_at(&id, id.dkim_status, (int64_t)ctx->now)),
			      "DkimTokens", tokens),
		    e);
	identity_clear(&id);
	return rc;
}

/* The identity's default configuration set: an existing set of the
 * caller's, or none when ConfigurationSetName is absent. */
static int
set_default_cset(struct api_ctx *ctx, const char *name, const json_t *member, struct err *e)
{
	struct identity id = {0};
	struct config_set c;
	int rc;

	if (member != NULL && !json_is_null(member) && !json_is_string(member))
		return err_set(e, 400, "BadRequestException",
			       "ConfigurationSetName must be a string.");
	if (json_is_string(member) && act_cset_load(ctx, json_string_value(member), &c, e) != 0)
		return -1;
	if ((rc = load(ctx, name, &id, e)) <= 0)
		return rc == 0 ? not_found(e, name) : -1;
	free(id.config_set);
	id.config_set = json_is_string(member) ? xstrdup(c.name) : NULL;
	rc = ctx->store->ops->identity_put(ctx->store, &id, e);
	identity_clear(&id);
	return rc;
}

int
act_v2_put_email_identity_configuration_set_attributes(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];

	if (identity_member(ctx, "PutEmailIdentityConfigurationSetAttributes", name, sizeof(name),
			    e) != 0 ||
	    must_exist(ctx, "PutEmailIdentityConfigurationSetAttributes", e) != 0)
		return -1;
	return set_default_cset(ctx, name, json_object_get(ctx->json, "ConfigurationSetName"), e);
}

int
act_v2_put_email_identity_mail_from_attributes(struct api_ctx *ctx, struct err *e)
{
	const json_t *md = json_object_get(ctx->json, "MailFromDomain");
	const json_t *beh = json_object_get(ctx->json, "BehaviorOnMxFailure");
	const char *b = NULL;

	if (must_exist(ctx, "PutEmailIdentityMailFromAttributes", e) != 0)
		return -1;
	if ((md != NULL && !json_is_null(md) && !json_is_string(md)) ||
	    (beh != NULL && !json_is_null(beh) && !json_is_string(beh)))
		return err_set(e, 400, "BadRequestException",
			       "MailFromDomain and BehaviorOnMxFailure must be strings.");
	if (json_is_string(beh)) {
		if (strcmp(json_string_value(beh), "USE_DEFAULT_VALUE") == 0)
			b = "UseDefaultValue";
		else if (strcmp(json_string_value(beh), "REJECT_MESSAGE") == 0)
			b = "RejectMessage";
		else
			return err_set(e, 400, "BadRequestException",
				       "BehaviorOnMxFailure must be USE_DEFAULT_VALUE or "
				       "REJECT_MESSAGE.");
	}
	return act_identity_set_mail_from(ctx, "EmailIdentity", "PutEmailIdentityMailFromAttributes",
					  json_string_value(md), b, e);
}

int
act_v2_test_render_email_template(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "TemplateName", e);
	const json_t *data = json_object_get(ctx->json, "TemplateData");
	char *msg;
	int rc;

	if (name == NULL)
		return -1;
	if (!json_is_string(data))
		return err_set(e, 400, "BadRequestException", "TemplateData is required.");
	if (act_template_test_render(ctx, name, json_string_value(data), &msg, e) != 0)
		return -1;
	rc = answer(ctx, json_pack("{s:s}", "RenderedTemplate", msg), e);
	free(msg);
	return rc;
}

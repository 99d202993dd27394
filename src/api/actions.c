/*
 * actions.c — the Query API dispatch table (STYLE §11) and the small
 * parameter helpers every handler shares. One row per SES action; the
 * handlers live in act_<family>.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/act.h"
#include "api/api.h"
#include "api/form.h"
#include "api/xml.h"
#include "core/arn.h"
#include "core/identity.h"

static const struct api_action actions[] = {
	/* account (act_account.c) */
	{"GetSendQuota", act_get_send_quota, true, API_IAM_ACCOUNT, NULL},
	{"GetSendStatistics", act_get_send_statistics, true, API_IAM_ACCOUNT, NULL},
	{"GetAccountSendingEnabled", act_get_account_sending_enabled, true, API_IAM_ACCOUNT, NULL},
	{"UpdateAccountSendingEnabled", act_update_account_sending_enabled, false, API_IAM_ACCOUNT,
	 NULL},
	/* sending authorization policies (act_policy.c) */
	{"PutIdentityPolicy", act_put_identity_policy, true, API_IAM_IDENTITY, "Identity"},
	{"GetIdentityPolicies", act_get_identity_policies, true, API_IAM_IDENTITY, "Identity"},
	{"ListIdentityPolicies", act_list_identity_policies, true, API_IAM_IDENTITY, "Identity"},
	{"DeleteIdentityPolicy", act_delete_identity_policy, true, API_IAM_IDENTITY, "Identity"},
	/* identities (act_identity.c) */
	{"VerifyEmailIdentity", act_verify_email_identity, true, API_IAM_IDENTITY, "EmailAddress"},
	{"VerifyEmailAddress", act_verify_email_address, false, API_IAM_IDENTITY, "EmailAddress"},
	{"VerifyDomainIdentity", act_verify_domain_identity, true, API_IAM_IDENTITY, "Domain"},
	{"VerifyDomainDkim", act_verify_domain_dkim, true, API_IAM_IDENTITY, "Domain"},
	{"GetIdentityVerificationAttributes", act_get_identity_verification_attributes, true,
	 API_IAM_ACCOUNT, NULL},
	{"GetIdentityDkimAttributes", act_get_identity_dkim_attributes, true, API_IAM_ACCOUNT, NULL},
	{"SetIdentityDkimEnabled", act_set_identity_dkim_enabled, true, API_IAM_IDENTITY,
	 "Identity"},
	{"SetIdentityMailFromDomain", act_set_identity_mail_from_domain, true, API_IAM_IDENTITY,
	 "Identity"},
	{"GetIdentityMailFromDomainAttributes", act_get_identity_mail_from_domain_attributes, true,
	 API_IAM_ACCOUNT, NULL},
	{"ListIdentities", act_list_identities, true, API_IAM_ACCOUNT, NULL},
	{"ListVerifiedEmailAddresses", act_list_verified_email_addresses, true, API_IAM_ACCOUNT,
	 NULL},
	{"DeleteIdentity", act_delete_identity, true, API_IAM_IDENTITY, "Identity"},
	{"DeleteVerifiedEmailAddress", act_delete_verified_email_address, false, API_IAM_IDENTITY,
	 "EmailAddress"},
	/* notifications (act_notify.c): the caller's own settings; a delegate
	 * names the owner's identity by ARN (its IAM check is on that ARN) */
	{"SetIdentityNotificationTopic", act_set_identity_notification_topic, true,
	 API_IAM_IDENTITY, "Identity"},
	{"GetIdentityNotificationAttributes", act_get_identity_notification_attributes, true,
	 API_IAM_ACCOUNT, NULL},
	{"SetIdentityHeadersInNotificationsEnabled",
	 act_set_identity_headers_in_notifications_enabled, true, API_IAM_IDENTITY, "Identity"},
	{"SetIdentityFeedbackForwardingEnabled", act_set_identity_feedback_forwarding_enabled, true,
	 API_IAM_IDENTITY, "Identity"},
	/* sending (act_send.c) */
	{"SendEmail", act_send_email, true, API_IAM_SEND, NULL},
	{"SendRawEmail", act_send_raw_email, true, API_IAM_SEND, NULL},
	{"SendTemplatedEmail", act_send_templated_email, true, API_IAM_SEND, NULL},
	{"SendBulkTemplatedEmail", act_send_bulk_templated_email, true, API_IAM_SEND, NULL},
	/* templates (act_template.c): the caller's own */
	/* configuration sets (act_cset.c) */
	{"CreateConfigurationSet", act_create_configuration_set, true, API_IAM_ACCOUNT, NULL},
	{"DeleteConfigurationSet", act_delete_configuration_set, true, API_IAM_ACCOUNT, NULL},
	{"DescribeConfigurationSet", act_describe_configuration_set, true, API_IAM_ACCOUNT, NULL},
	{"ListConfigurationSets", act_list_configuration_sets, true, API_IAM_ACCOUNT, NULL},
	{"CreateConfigurationSetEventDestination", act_create_configuration_set_event_destination,
	 true, API_IAM_ACCOUNT, NULL},
	{"UpdateConfigurationSetEventDestination", act_update_configuration_set_event_destination,
	 true, API_IAM_ACCOUNT, NULL},
	{"DeleteConfigurationSetEventDestination", act_delete_configuration_set_event_destination,
	 true, API_IAM_ACCOUNT, NULL},
	{"UpdateConfigurationSetSendingEnabled", act_update_configuration_set_sending_enabled, false,
	 API_IAM_ACCOUNT, NULL},
	{"UpdateConfigurationSetReputationMetricsEnabled",
	 act_update_configuration_set_reputation_metrics_enabled, false, API_IAM_ACCOUNT, NULL},
	{"CreateTemplate", act_create_template, true, API_IAM_ACCOUNT, NULL},
	{"GetTemplate", act_get_template, true, API_IAM_ACCOUNT, NULL},
	{"UpdateTemplate", act_update_template, true, API_IAM_ACCOUNT, NULL},
	{"DeleteTemplate", act_delete_template, true, API_IAM_ACCOUNT, NULL},
	{"ListTemplates", act_list_templates, true, API_IAM_ACCOUNT, NULL},
	{"TestRenderTemplate", act_test_render_template, true, API_IAM_ACCOUNT, NULL},
};

const struct api_service api_ses = {"ses", "2010-12-01", XML_SES_NS, actions,
				    sizeof(actions) / sizeof(actions[0])};

const struct api_action *
api_action_find(const struct api_service *svc, const char *name)
{
	for (size_t i = 0; i < svc->nactions; i++)
		if (strcmp(svc->actions[i].name, name) == 0)
			return &svc->actions[i];
	return NULL;
}

const char *
api_param_opt(struct api_ctx *ctx, const char *name)
{
	return form_get(ctx->form, name);
}

const char *
api_param(struct api_ctx *ctx, const char *name, struct err *e)
{
	const char *v = form_get(ctx->form, name);

	if (v == NULL) {
		err_set(e, 400, "MissingParameter",
			"The request must contain the parameter %s.", name);
		return NULL;
	}
	return v;
}

int
api_param_bool(struct api_ctx *ctx, const char *name, bool required, bool *out, struct err *e)
{
	const char *v = form_get(ctx->form, name);

	if (v == NULL) {
		if (required)
			return err_set(e, 400, "MissingParameter",
				       "The request must contain the parameter %s.", name);
		return 0;
	}
	if (strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0)
		*out = false;
	else
		return err_set(e, 400, "InvalidParameterValue",
			       "Value %.32s for parameter %s is invalid. Expected true or false.", v,
			       name);
	return 0;
}

void
api_timestamp(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

int
api_access_denied(struct api_ctx *ctx, const char *action, const char *resource, struct err *e)
{
	return err_set(e, 403, "AccessDenied",
		       "User `%s' is not authorized to perform `ses:%s' on resource `%s'",
		       ctx->caller.principal_arn, action, resource);
}

int
api_identity_param(struct api_ctx *ctx, const char *param, const char *action, char *name_out,
		   size_t cap, struct err *e)
{
	const char *v = api_param(ctx, param, e);
	enum identity_type type;

	if (v == NULL)
		return -1;
	if (strncmp(v, "arn:", 4) == 0) {
		struct arn_identity a;
		if (arn_identity_parse(v, strlen(v), &a, e) != 0)
			return -1;
		if (strcmp(a.account, ctx->caller.account_id) != 0)
			return api_access_denied(ctx, action, v, e);
		if (strcmp(a.region, ctx->region) != 0)
			return err_set(e, 400, "InvalidParameterValue",
				       "Identity ARN %.256s is in region %s, but the request was "
				       "sent to region %s.",
				       v, a.region, ctx->region);
		if (strlen(a.identity) >= cap)
			return err_set(e, 400, "InvalidParameterValue", "Identity is too long.");
		snprintf(name_out, cap, "%s", a.identity);
		return 0;
	}
	return identity_normalise(v, name_out, cap, &type, e);
}

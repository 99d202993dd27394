/*
 * act.h — every action handler, one family per act_<family>.c file. Rows of
 * the dispatch table in actions.c point here.
 */
#ifndef SESAME_API_ACT_H
#define SESAME_API_ACT_H

#include "api/api.h"

/* act_account.c */
int act_get_send_quota(struct api_ctx *ctx, struct err *e);
int act_get_send_statistics(struct api_ctx *ctx, struct err *e);
int act_get_account_sending_enabled(struct api_ctx *ctx, struct err *e);
int act_update_account_sending_enabled(struct api_ctx *ctx, struct err *e);

/* act_account.c: recipients accepted for the caller's account in the
 * last 24 hours (GetSendQuota's SentLast24Hours, GetAccount's). */
int act_account_sent_24h(struct api_ctx *ctx, int64_t *sent_out, struct err *e);

/* act_policy.c */
/* Shared with v2 (act_v2.c): the caller's existing identity named by
 * parameter `param` (a name or own ARN) into name; the v1 errors. */
int act_policy_identity(struct api_ctx *ctx, const char *param, const char *action, char *name,
			size_t cap, struct err *e);
/* PolicyName's syntax (ValidationError / InvalidParameterValue). */
int act_policy_check_name(const char *pname, struct err *e);
/* Validate and compile `doc` as PutIdentityPolicy does, then store it. */
int act_policy_put(struct api_ctx *ctx, const char *name, const char *pname, const char *doc,
		   struct err *e);
int act_put_identity_policy(struct api_ctx *ctx, struct err *e);
int act_get_identity_policies(struct api_ctx *ctx, struct err *e);
int act_list_identity_policies(struct api_ctx *ctx, struct err *e);
int act_delete_identity_policy(struct api_ctx *ctx, struct err *e);

/* act_identity.c */
struct identity;
/* Shared with v2's CreateEmailIdentity: (re)issue the address `name`'s
 * verification (normal form) and queue its mail: API_PENDING (answered
 * when the mail is durable), 0 (already verified: nothing to do), -1.
 * config_set (v2, checked by the caller): the new identity's default
 * configuration set; NULL none. */
int act_identity_verify_email(struct api_ctx *ctx, const char *name, const char *config_set,
			      struct err *e);
/* SetIdentityDkimEnabled's and SetIdentityMailFromDomain's work on the
 * caller's identity named by parameter `param`; shared with v2's
 * PutEmailIdentityDkimAttributes / PutEmailIdentityMailFromAttributes.
 * mail_from NULL or "": custom MAIL FROM off; behavior NULL: the default. */
int act_identity_set_dkim(struct api_ctx *ctx, const char *param, const char *action,
			  bool enabled, struct err *e);
int act_identity_set_mail_from(struct api_ctx *ctx, const char *param, const char *action,
			       const char *mail_from, const char *behavior, struct err *e);
/* The domain identity `name` (created if absent) with its TXT token and
 * Easy DKIM tokens and keys (VerifyDomainDkim's work, stored): 0 with *out
 * (identity_clear), -1. A BYODKIM identity keeps the owner's key and
 * selector, unless `easy` (v2's SigningAttributesOrigin AWS_SES): then it
 * returns to Easy DKIM with fresh tokens and keys. */
int act_identity_domain_dkim(struct api_ctx *ctx, const char *name, bool easy,
			     struct identity *out, struct err *e);
/* BYODKIM (v2's SigningAttributesOrigin EXTERNAL) on the domain identity
 * `name` (created if absent): the owner's `selector` and key (`sealed`, a
 * one-key set of dkim_keys_import, copied) replace its DKIM setup and the
 * DKIM check starts (Pending) — unless it is the same key under the same
 * selector, which changes nothing. 0 with *out (identity_clear), -1. */
int act_identity_domain_byodkim(struct api_ctx *ctx, const char *name, const char *selector,
				const uint8_t *sealed, size_t sealed_len, struct identity *out,
				struct err *e);
int act_verify_email_identity(struct api_ctx *ctx, struct err *e);
int act_verify_email_address(struct api_ctx *ctx, struct err *e);
int act_verify_domain_identity(struct api_ctx *ctx, struct err *e);
int act_verify_domain_dkim(struct api_ctx *ctx, struct err *e);
int act_get_identity_verification_attributes(struct api_ctx *ctx, struct err *e);
int act_get_identity_dkim_attributes(struct api_ctx *ctx, struct err *e);
int act_set_identity_dkim_enabled(struct api_ctx *ctx, struct err *e);
int act_set_identity_mail_from_domain(struct api_ctx *ctx, struct err *e);
int act_get_identity_mail_from_domain_attributes(struct api_ctx *ctx, struct err *e);
int act_list_identities(struct api_ctx *ctx, struct err *e);
int act_list_verified_email_addresses(struct api_ctx *ctx, struct err *e);
int act_delete_identity(struct api_ctx *ctx, struct err *e);
int act_delete_verified_email_address(struct api_ctx *ctx, struct err *e);

/* act_notify.c */
/* SetIdentityFeedbackForwardingEnabled's work for identity `v` (a name or
 * ARN); shared with v2's PutEmailIdentityFeedbackAttributes. */
int act_notify_set_forwarding(struct api_ctx *ctx, const char *v, const char *action,
			      bool enabled, struct err *e);
int act_set_identity_notification_topic(struct api_ctx *ctx, struct err *e);
int act_get_identity_notification_attributes(struct api_ctx *ctx, struct err *e);
int act_set_identity_headers_in_notifications_enabled(struct api_ctx *ctx, struct err *e);
int act_set_identity_feedback_forwarding_enabled(struct api_ctx *ctx, struct err *e);

/* act_send.c */
int act_send_email(struct api_ctx *ctx, struct err *e);
int act_send_raw_email(struct api_ctx *ctx, struct err *e);
int act_send_templated_email(struct api_ctx *ctx, struct err *e);
int act_send_bulk_templated_email(struct api_ctx *ctx, struct err *e);

/* act_cset.c */
int act_create_configuration_set(struct api_ctx *ctx, struct err *e);
int act_delete_configuration_set(struct api_ctx *ctx, struct err *e);
int act_describe_configuration_set(struct api_ctx *ctx, struct err *e);
int act_list_configuration_sets(struct api_ctx *ctx, struct err *e);
int act_create_configuration_set_event_destination(struct api_ctx *ctx, struct err *e);
int act_update_configuration_set_event_destination(struct api_ctx *ctx, struct err *e);
int act_delete_configuration_set_event_destination(struct api_ctx *ctx, struct err *e);
int act_update_configuration_set_sending_enabled(struct api_ctx *ctx, struct err *e);
int act_update_configuration_set_reputation_metrics_enabled(struct api_ctx *ctx, struct err *e);

/* act_cset.c: shared with v2's configuration set operations, v1's errors
 * (InvalidConfigurationSet, ConfigurationSetAlreadyExists,
 * ConfigurationSetDoesNotExist). */
struct config_set;
int act_cset_create(struct api_ctx *ctx, const char *name, bool sending, bool reputation,
		    struct err *e);
/* The caller's set `name` into *out. */
int act_cset_load(struct api_ctx *ctx, const char *name, struct config_set *out, struct err *e);
int act_cset_delete(struct api_ctx *ctx, const char *name, struct err *e);
/* which: 0 sending enabled, 1 reputation metrics enabled. */
int act_cset_set_flag(struct api_ctx *ctx, const char *name, int which, bool on, struct err *e);
bool act_cset_name_ok(const char *name);
/* MatchingEventTypes: the CSET_EV_* bit of v1's name ("renderingFailure")
 * or v2's ("RENDERING_FAILURE"), 0 if none; the name of a bit (NULL: no
 * such name in that version). */
unsigned act_cset_event_bit(const char *name, bool v2);
const char *act_cset_event_name(unsigned bit, bool v2);
/* Event destination `name` of set c (loaded by act_cset_load): checked
 * (name, types != 0, topic an existing SNS topic of the caller's account
 * and region: InvalidSNSDestination) and stored, new (create:
 * EventDestinationAlreadyExists) or replacing one
 * (EventDestinationDoesNotExist). */
int act_cset_dest_put(struct api_ctx *ctx, const struct config_set *c, const char *name,
		      bool enabled, unsigned types, const char *topic, bool create, struct err *e);
int act_cset_dest_delete(struct api_ctx *ctx, const struct config_set *c, const char *name,
			 struct err *e);

/* act_template.c */
int act_create_template(struct api_ctx *ctx, struct err *e);
int act_get_template(struct api_ctx *ctx, struct err *e);
int act_update_template(struct api_ctx *ctx, struct err *e);
int act_delete_template(struct api_ctx *ctx, struct err *e);
int act_list_templates(struct api_ctx *ctx, struct err *e);
int act_test_render_template(struct api_ctx *ctx, struct err *e);
/* Shared with the templated sends (and v2's template actions): the
 * CALLER's own template named `name`, or by `arn` (of the caller's account
 * and region) when name is NULL; TemplateDoesNotExist otherwise. 0 with
 * *out (email_template_clear), -1 with e filled. */
struct email_template;
struct template_rendered;
int act_template_load(struct api_ctx *ctx, const char *name, const char *arn,
		      struct email_template *out, struct err *e);
/* Check, compile and store the caller's template (CreateTemplate when
 * create, else UpdateTemplate; v2's Create/UpdateEmailTemplate too):
 * v1's errors (InvalidParameterValue, InvalidTemplate, AlreadyExists,
 * TemplateDoesNotExist). */
int act_template_put(struct api_ctx *ctx, const char *name, const char *subject, const char *text,
		     const char *html, bool create, struct err *e);
/* TestRenderTemplate's work: the caller's template `name` rendered with
 * `data` as the MIME message a send would build (no addresses), malloc'd
 * into *msg_out; v1's errors. */
int act_template_test_render(struct api_ctx *ctx, const char *name, const char *data,
			     char **msg_out, struct err *e);
/* A template name's syntax: 1..64 of [A-Za-z0-9_-]. */
bool act_template_name_ok(const char *name);
/* Render t against data (over defaults, may be NULL): core/template's
 * errors; an empty subject and text stand in for absent parts. */
int act_template_render(struct api_ctx *ctx, const struct email_template *t,
			const char *defaults, const char *data, struct template_rendered *out,
			struct err *e);

/* SES v2 (v2.h): act_send.c */
int act_v2_send_email(struct api_ctx *ctx, struct err *e);
int act_v2_send_bulk_email(struct api_ctx *ctx, struct err *e);
/* act_v2.c */
int act_v2_get_account(struct api_ctx *ctx, struct err *e);
int act_v2_put_account_sending_attributes(struct api_ctx *ctx, struct err *e);
int act_v2_put_account_suppression_attributes(struct api_ctx *ctx, struct err *e);
int act_v2_put_configuration_set_suppression_options(struct api_ctx *ctx, struct err *e);
int act_v2_create_email_identity(struct api_ctx *ctx, struct err *e);
int act_v2_get_email_identity(struct api_ctx *ctx, struct err *e);
int act_v2_list_email_identities(struct api_ctx *ctx, struct err *e);
int act_v2_delete_email_identity(struct api_ctx *ctx, struct err *e);
int act_v2_put_email_identity_dkim_attributes(struct api_ctx *ctx, struct err *e);
int act_v2_put_email_identity_dkim_signing_attributes(struct api_ctx *ctx, struct err *e);
int act_v2_put_email_identity_feedback_attributes(struct api_ctx *ctx, struct err *e);
int act_v2_put_email_identity_mail_from_attributes(struct api_ctx *ctx, struct err *e);
int act_v2_put_email_identity_configuration_set_attributes(struct api_ctx *ctx, struct err *e);
int act_v2_create_email_identity_policy(struct api_ctx *ctx, struct err *e);
int act_v2_update_email_identity_policy(struct api_ctx *ctx, struct err *e);
int act_v2_get_email_identity_policies(struct api_ctx *ctx, struct err *e);
int act_v2_delete_email_identity_policy(struct api_ctx *ctx, struct err *e);
int act_v2_create_email_template(struct api_ctx *ctx, struct err *e);
int act_v2_get_email_template(struct api_ctx *ctx, struct err *e);
int act_v2_update_email_template(struct api_ctx *ctx, struct err *e);
int act_v2_delete_email_template(struct api_ctx *ctx, struct err *e);
int act_v2_list_email_templates(struct api_ctx *ctx, struct err *e);
int act_v2_test_render_email_template(struct api_ctx *ctx, struct err *e);
int act_v2_put_suppressed_destination(struct api_ctx *ctx, struct err *e);
int act_v2_get_suppressed_destination(struct api_ctx *ctx, struct err *e);
int act_v2_delete_suppressed_destination(struct api_ctx *ctx, struct err *e);
int act_v2_list_suppressed_destinations(struct api_ctx *ctx, struct err *e);
int act_v2_create_configuration_set(struct api_ctx *ctx, struct err *e);
int act_v2_get_configuration_set(struct api_ctx *ctx, struct err *e);
int act_v2_delete_configuration_set(struct api_ctx *ctx, struct err *e);
int act_v2_list_configuration_sets(struct api_ctx *ctx, struct err *e);
int act_v2_put_configuration_set_sending_options(struct api_ctx *ctx, struct err *e);
int act_v2_put_configuration_set_reputation_options(struct api_ctx *ctx, struct err *e);
int act_v2_create_configuration_set_event_destination(struct api_ctx *ctx, struct err *e);
int act_v2_get_configuration_set_event_destinations(struct api_ctx *ctx, struct err *e);
int act_v2_update_configuration_set_event_destination(struct api_ctx *ctx, struct err *e);
int act_v2_delete_configuration_set_event_destination(struct api_ctx *ctx, struct err *e);

/* act_sns.c: the SNS Query API (service "sns") */
int act_sns_create_topic(struct api_ctx *ctx, struct err *e);
int act_sns_delete_topic(struct api_ctx *ctx, struct err *e);
int act_sns_list_topics(struct api_ctx *ctx, struct err *e);
int act_sns_get_topic_attributes(struct api_ctx *ctx, struct err *e);
int act_sns_set_topic_attributes(struct api_ctx *ctx, struct err *e);
int act_sns_subscribe(struct api_ctx *ctx, struct err *e);
int act_sns_confirm_subscription(struct api_ctx *ctx, struct err *e);
int act_sns_unsubscribe(struct api_ctx *ctx, struct err *e);
int act_sns_list_subscriptions(struct api_ctx *ctx, struct err *e);
int act_sns_list_subscriptions_by_topic(struct api_ctx *ctx, struct err *e);
int act_sns_get_subscription_attributes(struct api_ctx *ctx, struct err *e);
int act_sns_set_subscription_attributes(struct api_ctx *ctx, struct err *e);
int act_sns_publish(struct api_ctx *ctx, struct err *e);
/* The actions a SubscribeURL / UnsubscribeURL GET may run without a
 * signature (ConfirmSubscription, Unsubscribe), or NULL. */
const struct api_action *act_sns_link_find(const char *action);

#endif

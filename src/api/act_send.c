/*
 * act_send.c — SendEmail and SendRawEmail: the Query API front end of the
 * send decision (DESIGN.md "The send decision"; notes in
 * docs/internals/send.md).
 *
 * This file only translates: it reads the parameters into a struct
 * send_request (SendRawEmail: the parameters are the envelope and
 * send_request_from_raw in send/ reads the message and its X-SES-*
 * headers), refusing bad input before anything is looked up, charged or
 * counted; then
 * send_submit (send/send.c, shared with the SMTP front end) runs the
 * account checks, authz_decide, the limits and queue_submit, and answers
 * through send_done once the queue has committed the message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/act.h"
#include "conf/conf.h"
#include "api/form.h"
#include "api/xml.h"
#include "core/address.h"
#include "core/arn.h"
#include "core/authz.h"
#include "mail/raw.h"
#include "send/send.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MAX_RECIPIENTS RAW_MAX_RECIPIENTS
#define MAX_LIST 1000      /* members read from one Query list before counting */
#define MAX_REPLY_TO 50
#define MAX_TAGS 50
#define API_VERSION "1"    /* ses:ApiVersion for the v1 Query API */

/* One SendEmail: the request and its parts, and the memory they point
 * into (SendRawEmail: send/send.h's struct send_raw). */
struct send {
	struct send_request req;
	struct send_built built;
	/* owned */
	struct address *rcpt, *to, *cc, *reply_to;
	char *subject;                /* UTF-8 */
};

static void
send_clear(struct send *s)
{
	free(s->rcpt);
	free(s->subject);
	free(s->to);
	free(s->cc);
	free(s->reply_to);
}

/* ---- phase 1: parameters ------------------------------------------------- */

static int
invalid(struct err *e, const char *msg)
{
	return err_set(e, 400, "InvalidParameterValue", "%s", msg);
}

/* Parse `name` as one mailbox. */
static int
parse_address(const char *v, struct address *out, struct err *e)
{
	return address_parse(v, strlen(v), out, e);
}

/*
 * Append the members of list `name` (parsed as mailboxes) to *list. *total
 * counts members across lists; passing `max` is InvalidParameterValue
 * `too_many`, checked before any member is parsed.
 */
static int
parse_list(struct api_ctx *ctx, const char *name, struct address **list, size_t *n,
	   size_t *total, size_t max, const char *too_many, struct err *e)
{
	struct form_list l = {0};
	int rc = 0;

	if (form_list(ctx->form, name, MAX_LIST, &l, e) != 0)
		return -1;
	*total += l.n;
	if (*total > max) {
		form_list_free(&l);
		return invalid(e, too_many);
	}
	if (l.n > 0)
		*list = xrealloc(*list, (*n + l.n) * sizeof(**list));
	for (size_t i = 0; i < l.n && rc == 0; i++)
		if ((rc = parse_address(l.values[i], &(*list)[*n], e)) == 0)
			(*n)++;
	form_list_free(&l);
	return rc;
}

/* An ARN parameter or header: must be an SES identity ARN (authz decides
 * the rest: region, owner, coverage, policies). */
static int
check_arn(const char *v, struct err *e)
{
	struct arn_identity a;

	return v == NULL ? 0 : arn_identity_parse(v, strlen(v), &a, e);
}

/* Tags.member.N.{Name,Value}: checked, then unused (no event publishing yet). */
static int
check_tags_param(struct api_ctx *ctx, bool *present, struct err *e)
{
	struct form_list l = {0};
	int rc = 0;

	if (form_members(ctx->form, "Tags", MAX_TAGS, &l, e) != 0)
		return -1;
	*present = l.present && l.n > 0;
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		const char *n = form_member_get(ctx->form, "Tags", l.index[i], "Name");
		const char *v = form_member_get(ctx->form, "Tags", l.index[i], "Value");
		if (n == NULL || v == NULL)
			rc = err_set(e, 400, "MissingParameter",
				     "The request must contain the parameter Tags.member.%lu.%s.",
				     l.index[i], n == NULL ? "Name" : "Value");
		else
			rc = send_check_tag(n, strlen(n), v, strlen(v), e);
	}
	form_list_free(&l);
	return rc;
}

static int
read_send_email(struct api_ctx *ctx, struct send *s, struct err *e)
{
	const char *source, *rp, *subject;
	bool tags;

	if ((source = api_param(ctx, "Source", e)) == NULL ||
	    parse_address(source, &s->req.source, e) != 0)
		return -1;
	s->req.from = s->req.source;
	if ((rp = api_param_opt(ctx, "ReturnPath")) != NULL) {
		if (parse_address(rp, &s->req.return_path, e) != 0)
			return -1;
		s->req.has_return_path = true;
	}
	static const char too_many[] = "Recipient count exceeds 50.";
	struct address *bcc = NULL;
	size_t nbcc = 0, total = 0, nrt = 0;
	if (parse_list(ctx, "Destination.ToAddresses", &s->to, &s->built.nto, &total,
	               MAX_RECIPIENTS, too_many, e) != 0 ||
	    parse_list(ctx, "Destination.CcAddresses", &s->cc, &s->built.ncc, &total,
	               MAX_RECIPIENTS, too_many, e) != 0 ||
	    parse_list(ctx, "Destination.BccAddresses", &bcc, &nbcc, &total, MAX_RECIPIENTS,
	               too_many, e) != 0) {
		free(bcc);
		return -1;
	}
	s->req.nrcpt = s->built.nto + s->built.ncc + nbcc;
	if (s->req.nrcpt > 0) {
		s->rcpt = xcalloc(s->req.nrcpt, sizeof(*s->rcpt));
		if (s->built.nto > 0)
			memcpy(s->rcpt, s->to, s->built.nto * sizeof(*s->rcpt));
		if (s->built.ncc > 0)
			memcpy(s->rcpt + s->built.nto, s->cc, s->built.ncc * sizeof(*s->rcpt));
		if (nbcc > 0)
			memcpy(s->rcpt + s->built.nto + s->built.ncc, bcc, nbcc * sizeof(*s->rcpt));
	}
	free(bcc);
	if (parse_list(ctx, "ReplyToAddresses", &s->reply_to, &s->built.nreply_to, &nrt,
	               MAX_REPLY_TO, "Reply-to address count exceeds 50.", e) != 0)
		return -1;
	if ((subject = api_param(ctx, "Message.Subject.Data", e)) == NULL)
		return -1;
	s->subject = xstrdup(subject);
	s->built.subject_charset = api_param_opt(ctx, "Message.Subject.Charset");
	s->built.text = api_param_opt(ctx, "Message.Body.Text.Data");
	s->built.text_charset = api_param_opt(ctx, "Message.Body.Text.Charset");
	s->built.html = api_param_opt(ctx, "Message.Body.Html.Data");
	s->built.html_charset = api_param_opt(ctx, "Message.Body.Html.Charset");
	if (s->built.text == NULL && s->built.html == NULL)
		return invalid(e, "The message body must contain Text, Html or both "
				  "(Message.Body.Text.Data, Message.Body.Html.Data).");
	s->req.arn[AUTHZ_SOURCE] = api_param_opt(ctx, "SourceArn");
	s->req.arn[AUTHZ_RETURN_PATH] = api_param_opt(ctx, "ReturnPathArn");
	if (check_arn(s->req.arn[AUTHZ_SOURCE], e) != 0 ||
	    check_arn(s->req.arn[AUTHZ_RETURN_PATH], e) != 0)
		return -1;
	if (check_tags_param(ctx, &tags, e) != 0 ||
	    send_check_configuration_set(api_param_opt(ctx, "ConfigurationSetName"), e) != 0)
		return -1;
	if (s->req.nrcpt == 0)
		return err_set(e, 400, "MessageRejected", "There are no recipients specified.");
	return 0;
}

/* SendRawEmail: the parameters are the envelope; send/ reads the message. */
static int
read_send_raw(struct api_ctx *ctx, struct send_raw *out, struct err *e)
{
	static const char *const arn_params[AUTHZ_NROLES] = {
		[AUTHZ_FROM] = "FromArn",
		[AUTHZ_SOURCE] = "SourceArn",
		[AUTHZ_RETURN_PATH] = "ReturnPathArn",
	};
	struct send_raw_envelope env = {.to_required = true};
	struct form_list dest = {0};
	const char *data;
	uint8_t *bytes;
	size_t len;
	int rc;

	if ((data = api_param(ctx, "RawMessage.Data", e)) == NULL)
		return -1;
	if (check_tags_param(ctx, &env.tags_given, e) != 0 ||
	    form_list(ctx->form, "Destinations", MAX_LIST, &dest, e) != 0)
		return -1;
	if ((bytes = base64_decode(data, strlen(data), &len)) == NULL) {
		form_list_free(&dest);
		return invalid(e, "RawMessage.Data is not valid base64.");
	}
	env.source = api_param_opt(ctx, "Source");
	env.rcpt = dest.values;
	env.nrcpt = dest.n;
	for (int i = 0; i < AUTHZ_NROLES; i++)
		env.arn[i] = api_param_opt(ctx, arn_params[i]);
	env.configuration_set = api_param_opt(ctx, "ConfigurationSetName");
	rc = send_request_from_raw(bytes, len, &env, out, e);
	free(bytes);
	form_list_free(&dest);
	return rc;
}

/* ---- the decision: send/send.c -------------------------------------------- */

static void
send_done(void *arg, const char *message_id, const struct err *e)
{
	struct api_ctx *ctx = arg;
	struct err fail;

	if (e == NULL && xml_elem(ctx->out, "MessageId", message_id) != 0) {
		err_set(&fail, 500, "InternalFailure", "The response could not be written.");
		e = &fail;
	}
	api_complete(ctx, e);
}

/* Fill the caller's half of r (who, where, when) and submit. */
static int
send_run(struct api_ctx *ctx, struct send_request *r, struct err *e)
{
	struct send_env env = {
		.store = ctx->store,
		.lookup = ctx->t->lookup,
		.shared = ctx->t->shared,
		.base = ctx->t->base,
		.bounce_domain = ctx->conf->bounce_domain,
	};

	r->account = &ctx->account;
	r->account_id = ctx->caller.account_id;
	r->principal = ctx->caller.principal_arn;
	r->user = ctx->caller.user;
	r->service = ctx->caller.service;
	r->region = ctx->region;
	r->source_ip = ctx->source_ip;
	r->secure = ctx->secure;
	r->now = ctx->now;
	r->api_version = API_VERSION;
	return send_submit(&env, r, send_done, ctx, e) == 0 ? API_PENDING : -1;
}

int
act_send_email(struct api_ctx *ctx, struct err *e)
{
	struct send s = {.req.action = "SendEmail"};
	int rc = read_send_email(ctx, &s, e);

	if (rc == 0) {
		s.built.to = s.to;
		s.built.cc = s.cc;
		s.built.reply_to = s.reply_to;
		s.req.rcpt = s.rcpt;
		s.req.subject = s.subject;
		s.req.built = &s.built;
		rc = send_run(ctx, &s.req, e);
	}
	send_clear(&s);
	return rc;
}

int
act_send_raw_email(struct api_ctx *ctx, struct err *e)
{
	struct send_raw m = {0};
	int rc = read_send_raw(ctx, &m, e);

	if (rc != 0)
		return -1;
	rc = send_run(ctx, &m.req, e);
	send_raw_clear(&m);
	return rc;
}

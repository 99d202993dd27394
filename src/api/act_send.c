/*
 * act_send.c — SendEmail, SendRawEmail, SendTemplatedEmail and
 * SendBulkTemplatedEmail: the Query API front end of the
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

#include <jansson.h>

#include "api/act.h"
#include "conf/conf.h"
#include "api/form.h"
#include "api/xml.h"
#include "core/address.h"
#include "core/arn.h"
#include "core/authz.h"
#include "core/msgtags.h"
#include "core/template.h"
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
#define API_VERSION_2 "2"  /* and for SES v2 (feedback-notify.md §7) */

/* One SendEmail: the request and its parts, and the memory they point
 * into (SendRawEmail: send/send.h's struct send_raw). */
struct send {
	struct send_request req;
	struct send_built built;
	/* owned */
	struct address *rcpt, *to, *cc, *reply_to;
	char *subject;                /* UTF-8 */
	struct msgtags tags;          /* Tags (and SendBulkTemplatedEmail's) */
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

static int send_submit_version(struct api_ctx *ctx, struct send_request *r,
			       const char *version, send_done_fn done, void *arg, struct err *e);

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

/* The tag list `list` (Tags, DefaultTags, Destinations.member.N.ReplacementTags)
 * .member.N.{Name,Value}: checked and added to *tags (NULL: checked only). */
static int
read_tags(struct api_ctx *ctx, const char *list, struct msgtags *tags, bool *present,
	  struct err *e)
{
	struct form_list l = {0};
	struct msgtags scratch;
	int rc = 0;

	if (form_members(ctx->form, list, MAX_TAGS, &l, e) != 0)
		return -1;
	*present = l.present && l.n > 0;
	if (tags == NULL) {
		scratch.n = 0;
		tags = &scratch;
	}
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		const char *n = form_member_get(ctx->form, list, l.index[i], "Name");
		const char *v = form_member_get(ctx->form, list, l.index[i], "Value");
		if (n == NULL || v == NULL)
			rc = err_set(e, 400, "MissingParameter",
				     "The request must contain the parameter %s.member.%lu.%s.", list,
				     l.index[i], n == NULL ? "Name" : "Value");
		else
			rc = msgtags_add(tags, n, strlen(n), v, strlen(v), e);
	}
	form_list_free(&l);
	return rc;
}

static int
check_tags_param(struct api_ctx *ctx, struct msgtags *tags, bool *present, struct err *e)
{
	return read_tags(ctx, "Tags", tags, present, e);
}

/* Source, ReturnPath, the recipients of destination `dest` ("Destination",
 * or one of SendBulkTemplatedEmail's) and ReplyToAddresses. */
static int
read_addresses(struct api_ctx *ctx, struct send *s, const char *dest, struct err *e)
{
	const char *source, *rp;
	char to[96], cc[96], bcc_name[96];

	if ((source = api_param(ctx, "Source", e)) == NULL ||
	    parse_address(source, &s->req.source, e) != 0)
		return -1;
	s->req.from = s->req.source;
	if ((rp = api_param_opt(ctx, "ReturnPath")) != NULL) {
		if (parse_address(rp, &s->req.return_path, e) != 0)
			return -1;
		s->req.has_return_path = true;
	}
	snprintf(to, sizeof(to), "%s.ToAddresses", dest);
	snprintf(cc, sizeof(cc), "%s.CcAddresses", dest);
	snprintf(bcc_name, sizeof(bcc_name), "%s.BccAddresses", dest);
	static const char too_many[] = "Recipient count exceeds 50.";
	struct address *bcc = NULL;
	size_t nbcc = 0, total = 0, nrt = 0;
	if (parse_list(ctx, to, &s->to, &s->built.nto, &total, MAX_RECIPIENTS, too_many, e) != 0 ||
	    parse_list(ctx, cc, &s->cc, &s->built.ncc, &total, MAX_RECIPIENTS, too_many, e) != 0 ||
	    parse_list(ctx, bcc_name, &bcc, &nbcc, &total, MAX_RECIPIENTS, too_many, e) != 0) {
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
	return parse_list(ctx, "ReplyToAddresses", &s->reply_to, &s->built.nreply_to, &nrt,
			  MAX_REPLY_TO, "Reply-to address count exceeds 50.", e);
}

/* SourceArn, ReturnPathArn, Tags (when `tags`), ConfigurationSetName, and
 * at least one recipient. */
static int
read_controls(struct api_ctx *ctx, struct send *s, bool tags, struct err *e)
{
	bool given;
	const char *cs = api_param_opt(ctx, "ConfigurationSetName");

	s->req.arn[AUTHZ_SOURCE] = api_param_opt(ctx, "SourceArn");
	s->req.arn[AUTHZ_RETURN_PATH] = api_param_opt(ctx, "ReturnPathArn");
	if (check_arn(s->req.arn[AUTHZ_SOURCE], e) != 0 ||
	    check_arn(s->req.arn[AUTHZ_RETURN_PATH], e) != 0)
		return -1;
	if ((tags && check_tags_param(ctx, &s->tags, &given, e) != 0) ||
	    send_check_configuration_set(cs, e) != 0)
		return -1;
	s->req.configuration_set = cs;
	s->req.tags = &s->tags;
	if (s->req.nrcpt == 0)
		return err_set(e, 400, "MessageRejected", "There are no recipients specified.");
	return 0;
}

static int
read_send_email(struct api_ctx *ctx, struct send *s, struct err *e)
{
	const char *subject;

	if (read_addresses(ctx, s, "Destination", e) != 0)
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
	return read_controls(ctx, s, true, e);
}

/* SendRawEmail: the parameters are the envelope; send/ reads the message. */
static int
read_send_raw(struct api_ctx *ctx, struct send_raw *out, struct msgtags *tags, struct err *e)
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
	if (check_tags_param(ctx, tags, &env.tags_given, e) != 0 ||
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
		env.arn[i] = arn_params[i] != NULL ? api_param_opt(ctx, arn_params[i]) : NULL;
	env.configuration_set = api_param_opt(ctx, "ConfigurationSetName");
	rc = send_request_from_raw(bytes, len, &env, out, e);
	if (rc == 0 && env.tags_given)
		out->req.tags = tags;
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

/* Fill the caller's half of r (who, where, when) and submit: send_submit's
 * answer (`done` runs later on this loop when 0). */
static int
send_submit_ctx(struct api_ctx *ctx, struct send_request *r, send_done_fn done, void *arg,
		struct err *e)
{
	return send_submit_version(ctx, r, API_VERSION, done, arg, e);
}

/* send_submit_ctx for ses:ApiVersion `version`. */
static int
send_submit_version(struct api_ctx *ctx, struct send_request *r, const char *version,
		    send_done_fn done, void *arg, struct err *e)
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
	r->api_version = version;
	r->via = "api";
	r->identity_out = ctx->identity_arn;
	r->identity_cap = sizeof(ctx->identity_arn);
	return send_submit(&env, r, done, arg, e);
}

static int
send_run(struct api_ctx *ctx, struct send_request *r, struct err *e)
{
	return send_submit_ctx(ctx, r, send_done, ctx, e) == 0 ? API_PENDING : -1;
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
	struct msgtags *tags = xcalloc(1, sizeof(*tags));
	int rc = read_send_raw(ctx, &m, tags, e);

	if (rc == 0)
		rc = send_run(ctx, &m.req, e);
	send_raw_clear(&m);
	free(tags);
	return rc;
}

/* ---- templated sends ------------------------------------------------------ */

/*
 * Render template t for one send into s: the parts become the message. A
 * template that does not render (a missing attribute, data that is not a
 * JSON object) does not refuse the send: as in SES it is accepted and
 * decided like any other, then stored failed with a RenderingFailure event
 * (*failure_out, malloc'd detail JSON) and never delivered.
 */
static void
render_into(struct api_ctx *ctx, struct send *s, const struct email_template *t,
	    const char *defaults, const char *data, struct template_rendered *r,
	    char **failure_out)
{
	struct err re = {0};

	*failure_out = NULL;
	if (act_template_render(ctx, t, defaults, data, r, &re) != 0) {
		json_t *d = json_pack("{s:s, s:s}", "templateName", t->name, "errorMessage",
				      re.message);
		*failure_out = json_dumps(d, JSON_COMPACT);
		json_decref(d);
		s->subject = xstrdup("");
		s->built.text = "";
		return;
	}
	s->subject = xstrdup(r->subject);
	s->built.text = r->text;
	s->built.html = r->html;
}

static int
check_data(const char *name, const char *v, struct err *e)
{
	if (v != NULL && strlen(v) > TEMPLATE_MAX_DATA)
		return err_set(e, 400, "InvalidParameterValue",
			       "%s is %zu bytes long; the limit is %d bytes.", name, strlen(v),
			       TEMPLATE_MAX_DATA);
	return 0;
}

int
act_send_templated_email(struct api_ctx *ctx, struct err *e)
{
	struct send s = {.req.action = "SendTemplatedEmail"};
	struct email_template t = {0};
	struct template_rendered r = {0};
	const char *data;
	char *failure = NULL;
	int rc = -1;

	if (read_addresses(ctx, &s, "Destination", e) != 0 || read_controls(ctx, &s, true, e) != 0)
		goto done;
	if ((data = api_param(ctx, "TemplateData", e)) == NULL ||
	    check_data("TemplateData", data, e) != 0)
		goto done;
	/* the caller's own template: a delegate's, never the identity owner's */
	if (act_template_load(ctx, api_param_opt(ctx, "Template"), api_param_opt(ctx, "TemplateArn"),
			      &t, e) != 0)
		goto done;
	render_into(ctx, &s, &t, NULL, data, &r, &failure);
	s.built.to = s.to;
	s.built.cc = s.cc;
	s.built.reply_to = s.reply_to;
	s.req.rcpt = s.rcpt;
	s.req.subject = s.subject;
	s.req.built = &s.built;
	s.req.rendering_failure = failure;
	rc = send_run(ctx, &s.req, e);
done:
	free(failure);
	template_rendered_clear(&r);
	email_template_clear(&t);
	send_clear(&s);
	return rc;
}

/*
 * SendBulkTemplatedEmail: one send per destination, each through
 * send_submit with its own MessageId (and its own decision, charge and
 * status). The answer waits for all of them; statuses are in destination
 * order. All completions run on this loop, so the counters need no lock.
 */
#define MAX_BULK 50

struct bulk_status {
	const char *status;   /* BulkEmailStatus */
	char *error;
	char message_id[80];
};

struct bulk {
	struct api_ctx *ctx;
	bool v2;              /* answer as SES v2's SendBulkEmail */
	size_t n, pending;
	struct bulk_status st[MAX_BULK];
};

struct bulk_one {
	struct bulk *b;
	size_t i;
};

static const char *
bulk_status_of(const struct err *e)
{
	static const struct {
		const char *code, *status;
	} map[] = {
		{"MessageRejected", "MessageRejected"},
		{"MailFromDomainNotVerifiedException", "MailFromDomainNotVerified"},
		{"ConfigurationSetDoesNotExist", "ConfigurationSetDoesNotExist"},
		{"TemplateDoesNotExist", "TemplateDoesNotExist"},
		{"AccountSendingPausedException", "AccountSendingPaused"},
		{"InvalidParameterValue", "InvalidParameterValue"},
		{"MissingParameter", "InvalidParameterValue"},
	};

	if (strcmp(e->code, "Throttling") == 0)
		return strstr(e->message, "24") != NULL || strstr(e->message, "quota") != NULL
			       ? "AccountDailyQuotaExceeded"
			       : "AccountThrottled";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(e->code, map[i].code) == 0)
			return map[i].status;
	return e->temporary ? "TransientFailure" : "Failed";
}

static void
bulk_set(struct bulk *b, size_t i, const char *message_id, const struct err *e)
{
	struct bulk_status *st = &b->st[i];

	if (e == NULL) {
		st->status = "Success";
		snprintf(st->message_id, sizeof(st->message_id), "%s", message_id);
	} else {
		st->status = bulk_status_of(e);
		st->error = xstrdup(e->message);
	}
}

/* v1's BulkEmailStatus in v2's spelling (BulkEmailStatus of sesv2). */
static const char *
bulk_status_v2(const char *v1)
{
	static const struct {
		const char *v1, *v2;
	} map[] = {
		{"Success", "SUCCESS"},
		{"MessageRejected", "MESSAGE_REJECTED"},
		{"MailFromDomainNotVerified", "MAIL_FROM_DOMAIN_NOT_VERIFIED"},
		{"ConfigurationSetDoesNotExist", "CONFIGURATION_SET_NOT_FOUND"},
		{"TemplateDoesNotExist", "TEMPLATE_NOT_FOUND"},
		{"AccountSendingPaused", "ACCOUNT_SENDING_PAUSED"},
		{"InvalidParameterValue", "INVALID_PARAMETER"},
		{"AccountDailyQuotaExceeded", "ACCOUNT_DAILY_QUOTA_EXCEEDED"},
		{"AccountThrottled", "ACCOUNT_THROTTLED"},
		{"TransientFailure", "TRANSIENT_FAILURE"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(v1, map[i].v1) == 0)
			return map[i].v2;
	return "FAILED";
}

/* SendBulkEmail's {"BulkEmailEntryResults": […]}; frees b. */
static int
bulk_answer_v2(struct bulk *b, struct err *e)
{
	json_t *list = json_array();
	char *s;
	int rc = 0;

	for (size_t i = 0; i < b->n; i++) {
		json_t *r = json_pack("{s:s}", "Status", bulk_status_v2(b->st[i].status));
		if (b->st[i].error != NULL)
			json_object_set_new(r, "Error", json_string(b->st[i].error));
		if (b->st[i].message_id[0] != '\0')
			json_object_set_new(r, "MessageId", json_string(b->st[i].message_id));
		json_array_append_new(list, r);
		free(b->st[i].error);
	}
	json_t *o = json_pack("{s:o}", "BulkEmailEntryResults", list);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL || buf_append(b->ctx->out, s, strlen(s)) != 0)
		rc = err_set(e, 500, "InternalFailure", "The response could not be written.");
	free(s);
	free(b);
	return rc;
}

/* Write the statuses and free b; 0, or -1 with e. */
static int
bulk_answer(struct bulk *b, struct err *e)
{
	if (b->v2)
		return bulk_answer_v2(b, e);
	struct buf *o = b->ctx->out;
	int rc = xml_open(o, "Status");

	for (size_t i = 0; i < b->n; i++) {
		rc |= xml_open(o, "member");
		rc |= xml_elem(o, "Status", b->st[i].status);
		rc |= xml_elem(o, "Error", b->st[i].error);
		if (b->st[i].message_id[0] != '\0')
			rc |= xml_elem(o, "MessageId", b->st[i].message_id);
		rc |= xml_close(o, "member");
		free(b->st[i].error);
	}
	rc |= xml_close(o, "Status");
	free(b);
	return rc != 0 ? err_set(e, 500, "InternalFailure", "The response could not be written.")
		       : 0;
}

static void
bulk_done(void *arg, const char *message_id, const struct err *e)
{
	struct bulk_one *one = arg;
	struct bulk *b = one->b;
	struct api_ctx *ctx = b->ctx;
	struct err fail;

	bulk_set(b, one->i, message_id, e);
	free(one);
	if (--b->pending > 0)
		return;
	api_complete(ctx, bulk_answer(b, &fail) == 0 ? NULL : &fail);
}

/* The configuration set is the whole request's (the model's
 * ConfigurationSetDoesNotExist of the action), the caller's own; NULL: none. */
static int
bulk_check_cset(struct api_ctx *ctx, const char *name, struct err *e)
{
	struct config_set cs;
	int k;

	if (name == NULL)
		return 0;
	k = ctx->store->ops->cset_get(ctx->store, ctx->region, ctx->caller.account_id, name, &cs,
				      e);
	if (k < 0)
		return -1;
	if (k == 0)
		return err_set(e, 400, "ConfigurationSetDoesNotExist",
			       "Configuration set <%.128s> does not exist.", name);
	if (!cs.sending_enabled)
		return err_set(e, 400, "ConfigurationSetSendingPausedException",
			       "Sending is paused for configuration set <%s>.", cs.name);
	return 0;
}

int
act_send_bulk_templated_email(struct api_ctx *ctx, struct err *e)
{
	struct form_list dests = {0};
	struct email_template t = {0};
	const char *defaults = api_param_opt(ctx, "DefaultTemplateData");
	struct bulk *b = NULL;
	struct send probe = {0};
	int rc = -1;

	/* the request as a whole: Source, the controls, the template */
	if (api_param(ctx, "Source", e) == NULL)
		return -1;
	if (form_members(ctx->form, "Destinations", MAX_LIST, &dests, e) != 0)
		return -1;
	if (dests.n == 0) {
		rc = err_set(e, 400, "MissingParameter",
			     "The request must contain the parameter Destinations.");
		goto done;
	}
	if (dests.n > MAX_BULK) {
		rc = invalid(e, "Too many destinations: at most 50 are allowed.");
		goto done;
	}
	if (check_data("DefaultTemplateData", defaults, e) != 0)
		goto done;
	probe.req.nrcpt = 1; /* recipients are checked per destination */
	bool given;
	if (read_controls(ctx, &probe, false, e) != 0 ||
	    read_tags(ctx, "DefaultTags", &probe.tags, &given, e) != 0)
		goto done;
	if (bulk_check_cset(ctx, probe.req.configuration_set, e) != 0)
		goto done;
	if (act_template_load(ctx, api_param_opt(ctx, "Template"), api_param_opt(ctx, "TemplateArn"),
			      &t, e) != 0)
		goto done;
	if (defaults != NULL) {
		/* bad defaults refuse the whole request (they are everyone's) */
		struct template_rendered r;
		if (act_template_render(ctx, &t, NULL, defaults, &r, e) != 0 &&
		    strcmp(e->code, "InvalidRenderingParameter") == 0)
			goto done;
		template_rendered_clear(&r);
	}

	b = xcalloc(1, sizeof(*b));
	b->ctx = ctx;
	b->n = dests.n;
	for (size_t i = 0; i < dests.n; i++) {
		char dest[96], key[128];
		struct send s = {.req.action = "SendBulkTemplatedEmail"};
		struct template_rendered r = {0};
		struct err de = {0};
		char *failure = NULL;
		const char *data;

		snprintf(dest, sizeof(dest), "Destinations.member.%lu.Destination", dests.index[i]);
		snprintf(key, sizeof(key), "Destinations.member.%lu.ReplacementTemplateData",
			 dests.index[i]);
		data = api_param_opt(ctx, key);
		if (data == NULL)
			data = defaults != NULL ? defaults : "{}";
		char rtags[96];
		bool rgiven;
		snprintf(rtags, sizeof(rtags), "Destinations.member.%lu.ReplacementTags",
			 dests.index[i]);
		s.tags = probe.tags; /* the defaults, a replacement of one name wins */
		if (read_addresses(ctx, &s, dest, &de) != 0 || read_controls(ctx, &s, false, &de) != 0 ||
		    read_tags(ctx, rtags, &s.tags, &rgiven, &de) != 0 ||
		    check_data("ReplacementTemplateData", data, &de) != 0) {
			bulk_set(b, i, NULL, &de);
			send_clear(&s);
			continue;
		}
		render_into(ctx, &s, &t, data == defaults ? NULL : defaults, data, &r, &failure);
		s.built.to = s.to;
		s.built.cc = s.cc;
		s.built.reply_to = s.reply_to;
		s.req.rcpt = s.rcpt;
		s.req.subject = s.subject;
		s.req.built = &s.built;
		s.req.rendering_failure = failure;
		struct bulk_one *one = xcalloc(1, sizeof(*one));
		one->b = b;
		one->i = i;
		if (send_submit_ctx(ctx, &s.req, bulk_done, one, &de) == 0) {
			b->pending++;
		} else {
			bulk_set(b, i, NULL, &de);
			free(one);
		}
		free(failure);
		template_rendered_clear(&r);
		send_clear(&s);
	}
	if (b->pending > 0)
		rc = API_PENDING; /* bulk_done answers when the last one is queued */
	else
		rc = bulk_answer(b, e);
done:
	email_template_clear(&t);
	form_list_free(&dests);
	send_clear(&probe);
	return rc;
}

/* ---- SES v2 SendEmail ------------------------------------------------------ */

/*
 * The v2 wire format of the same send: JSON members instead of Query
 * parameters, read into the same struct send / struct send_raw and
 * decided by the same send_submit. FromEmailAddressIdentityArn plays
 * SourceArn (Simple) or FromArn and SourceArn (Raw),
 * FeedbackForwardingEmailAddressIdentityArn plays ReturnPathArn, and
 * ses:ApiVersion is "2".
 */

static int
bad(struct err *e, const char *member, const char *what)
{
	return err_set(e, 400, "BadRequestException", "%s %s.", member, what);
}

/* Member `key` of o as a string: NULL when absent or null, -1 when of
 * another type. */
static int
json_str(const json_t *o, const char *key, const char **out, struct err *e)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad(e, key, "must be a string");
	*out = json_string_value(v);
	if (strlen(*out) != json_string_length(v))
		return bad(e, key, "must not contain NUL characters");
	return 0;
}

static int
json_obj(const json_t *o, const char *key, const json_t **out, struct err *e)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return bad(e, key, "must be an object");
	*out = v;
	return 0;
}

/* An array of addresses appended to *list (≤ max across lists). */
static int
json_addresses(const json_t *o, const char *key, struct address **list, size_t *n,
	       size_t *total, size_t max, const char *too_many, struct err *e)
{
	const json_t *a = json_object_get(o, key);
	size_t i;
	json_t *v;

	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return bad(e, key, "must be a list of strings");
	*total += json_array_size(a);
	if (*total > max)
		return invalid(e, too_many);
	if (json_array_size(a) > 0)
		*list = xrealloc(*list, (*n + json_array_size(a)) * sizeof(**list));
	json_array_foreach(a, i, v)
	{
		const char *s = json_string_value(v);
		if (s == NULL || strlen(s) != json_string_length(v))
			return bad(e, key, "must be a list of strings");
		if (parse_address(s, &(*list)[*n], e) != 0)
			return -1;
		(*n)++;
	}
	return 0;
}

/* in's Destination (To, Cc, Bcc) into s (to, cc, rcpt). */
static int
v2_read_destination(const json_t *in, struct send *s, struct err *e)
{
	static const char too_many[] = "Recipient count exceeds 50.";
	const json_t *d;
	struct address *bcc = NULL;
	size_t nbcc = 0, total = 0;

	if (json_obj(in, "Destination", &d, e) != 0)
		return -1;
	if (d != NULL &&
	    (json_addresses(d, "ToAddresses", &s->to, &s->built.nto, &total, MAX_RECIPIENTS,
			    too_many, e) != 0 ||
	     json_addresses(d, "CcAddresses", &s->cc, &s->built.ncc, &total, MAX_RECIPIENTS,
			    too_many, e) != 0 ||
	     json_addresses(d, "BccAddresses", &bcc, &nbcc, &total, MAX_RECIPIENTS, too_many,
			    e) != 0)) {
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
	return 0;
}

/* The tag list `key` ([{Name, Value}]: EmailTags, DefaultEmailTags,
 * ReplacementTags) added to *tags (a name given again wins); *given when
 * any. */
static int
v2_read_tags(const json_t *in, const char *key, struct msgtags *tags, bool *given, struct err *e)
{
	const json_t *a = json_object_get(in, key);
	size_t i;
	json_t *t;

	*given = false;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return bad(e, key, "must be a list");
	if (json_array_size(a) > MAX_TAGS)
		return err_set(e, 400, "BadRequestException", "Too many %s: at most 50 are allowed.",
			       key);
	json_array_foreach(a, i, t)
	{
		const char *n, *v;
		if (!json_is_object(t) || json_str(t, "Name", &n, e) != 0 ||
		    json_str(t, "Value", &v, e) != 0)
			return bad(e, key, "must be a list of {Name, Value}");
		if (n == NULL || v == NULL)
			return bad(e, key, "members need a Name and a Value");
		if (msgtags_add(tags, n, strlen(n), v, strlen(v), e) != 0)
			return -1;
	}
	*given = json_array_size(a) > 0;
	return 0;
}

static void
v2_send_done(void *arg, const char *message_id, const struct err *e)
{
	struct api_ctx *ctx = arg;
	struct err fail;

	if (e == NULL) {
		json_t *j = json_pack("{s:s}", "MessageId", message_id);
		char *s = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		if (s == NULL || buf_append(ctx->out, s, strlen(s)) != 0) {
			err_set(&fail, 500, "InternalFailure", "The response could not be written.");
			e = &fail;
		}
		free(s);
	}
	api_complete(ctx, e);
}

/* Content.Simple's Subject and Body into s. */
static int
v2_read_simple(const json_t *simple, struct send *s, struct err *e)
{
	const json_t *subj, *body, *text, *html;
	const char *subject = NULL;

	if (json_obj(simple, "Subject", &subj, e) != 0 || json_obj(simple, "Body", &body, e) != 0)
		return -1;
	if (subj == NULL || json_str(subj, "Data", &subject, e) != 0 || subject == NULL)
		return subj == NULL || subject == NULL ? bad(e, "Content.Simple.Subject.Data",
							     "is required")
						       : -1;
	if (json_str(subj, "Charset", &s->built.subject_charset, e) != 0)
		return -1;
	if (body == NULL)
		return bad(e, "Content.Simple.Body", "is required");
	if (json_obj(body, "Text", &text, e) != 0 || json_obj(body, "Html", &html, e) != 0 ||
	    (text != NULL && (json_str(text, "Data", &s->built.text, e) != 0 ||
			      json_str(text, "Charset", &s->built.text_charset, e) != 0)) ||
	    (html != NULL && (json_str(html, "Data", &s->built.html, e) != 0 ||
			      json_str(html, "Charset", &s->built.html_charset, e) != 0)))
		return -1;
	if (s->built.text == NULL && s->built.html == NULL)
		return bad(e, "Content.Simple.Body", "must contain Text, Html or both");
	s->subject = xstrdup(subject);
	return 0;
}

/*
 * What SendEmail and SendBulkEmail share, into s: FromEmailAddress (and
 * the feedback address), the ARNs, ReplyToAddresses and
 * ConfigurationSetName of the request, the recipients of `dest_in`'s
 * Destination (the request, or one bulk entry), the tag list `tags_key`
 * (NULL: none read here).
 */
static int
v2_read_send(struct api_ctx *ctx, const json_t *dest_in, const char *tags_key, struct send *s,
	     struct err *e)
{
	const char *from, *fb, *arn, *fbarn, *cs;
	size_t nrt = 0;
	bool given;

	if (json_str(ctx->json, "FromEmailAddress", &from, e) != 0 ||
	    json_str(ctx->json, "FromEmailAddressIdentityArn", &arn, e) != 0 ||
	    json_str(ctx->json, "FeedbackForwardingEmailAddress", &fb, e) != 0 ||
	    json_str(ctx->json, "FeedbackForwardingEmailAddressIdentityArn", &fbarn, e) != 0 ||
	    json_str(ctx->json, "ConfigurationSetName", &cs, e) != 0)
		return -1;
	if (from == NULL)
		return bad(e, "FromEmailAddress", "is required unless the content is Raw");
	if (parse_address(from, &s->req.source, e) != 0)
		return -1;
	s->req.from = s->req.source;
	if (fb != NULL) {
		if (parse_address(fb, &s->req.return_path, e) != 0)
			return -1;
		s->req.has_return_path = true;
	}
	if (v2_read_destination(dest_in, s, e) != 0 ||
	    json_addresses(ctx->json, "ReplyToAddresses", &s->reply_to, &s->built.nreply_to, &nrt,
			   MAX_REPLY_TO, "Reply-to address count exceeds 50.", e) != 0)
		return -1;
	s->req.arn[AUTHZ_SOURCE] = arn;
	s->req.arn[AUTHZ_RETURN_PATH] = fbarn;
	if (check_arn(arn, e) != 0 || check_arn(fbarn, e) != 0 ||
	    (tags_key != NULL && v2_read_tags(ctx->json, tags_key, &s->tags, &given, e) != 0) ||
	    send_check_configuration_set(cs, e) != 0)
		return -1;
	s->req.configuration_set = cs;
	s->req.tags = &s->tags;
	if (s->req.nrcpt == 0)
		return err_set(e, 400, "MessageRejected", "There are no recipients specified.");
	return 0;
}

/* A Template member ({TemplateName | TemplateArn, TemplateData}) loaded
 * into *t; *data_out its TemplateData ("{}" when absent). */
static int
v2_read_template(struct api_ctx *ctx, const json_t *tmpl, const char *what,
		 struct email_template *t, const char **data_out, struct err *e)
{
	const char *name, *tarn, *data;

	if (json_str(tmpl, "TemplateName", &name, e) != 0 ||
	    json_str(tmpl, "TemplateArn", &tarn, e) != 0 ||
	    json_str(tmpl, "TemplateData", &data, e) != 0)
		return -1;
	if (name == NULL && tarn == NULL)
		return bad(e, what, "needs a TemplateName or a TemplateArn");
	*data_out = data != NULL ? data : "{}";
	if (check_data("TemplateData", *data_out, e) != 0)
		return -1;
	return act_template_load(ctx, name, name == NULL ? tarn : NULL, t, e);
}

/* s's parts as the message (after v2_read_send and the content). */
static void
v2_built(struct send *s)
{
	s->built.to = s->to;
	s->built.cc = s->cc;
	s->built.reply_to = s->reply_to;
	s->req.rcpt = s->rcpt;
	s->req.subject = s->subject;
	s->req.built = &s->built;
}

/* Content.Simple or Content.Template (then `simple` is NULL): a built
 * message. A template is the caller's own and renders as in v1's
 * SendTemplatedEmail (a rendering failure is accepted, then failed). */
static int
v2_send_built(struct api_ctx *ctx, const json_t *simple, const json_t *tmpl, struct err *e)
{
	struct send s = {.req.action = "SendEmail"};
	struct email_template t = {0};
	struct template_rendered r = {0};
	char *failure = NULL;
	int rc = -1;

	if (v2_read_send(ctx, ctx->json, "EmailTags", &s, e) != 0)
		goto done;
	if (simple != NULL && v2_read_simple(simple, &s, e) != 0)
		goto done;
	if (tmpl != NULL) {
		const char *data = NULL;
		if (v2_read_template(ctx, tmpl, "Content.Template", &t, &data, e) != 0)
			goto done;
		render_into(ctx, &s, &t, NULL, data, &r, &failure);
		s.req.rendering_failure = failure;
	}
	v2_built(&s);
	rc = send_submit_version(ctx, &s.req, API_VERSION_2, v2_send_done, ctx, e) == 0
		     ? API_PENDING
		     : -1;
done:
	free(failure);
	template_rendered_clear(&r);
	email_template_clear(&t);
	send_clear(&s);
	return rc;
}

/* Content.Raw: the envelope from the members, the rest from the bytes. */
static int
v2_send_raw(struct api_ctx *ctx, const json_t *raw, struct err *e)
{
	struct send dest = {0};
	struct send_raw_envelope env = {0};
	struct send_raw m = {0};
	struct msgtags *tags = xcalloc(1, sizeof(*tags));
	const char **rcpt = NULL;
	const char *data, *arn, *fb, *fbarn;
	struct address fbaddr;
	uint8_t *bytes = NULL;
	size_t len;
	int rc = -1;

	if (json_str(raw, "Data", &data, e) != 0)
		goto done;
	if (data == NULL) {
		rc = bad(e, "Content.Raw.Data", "is required");
		goto done;
	}
	if (json_str(ctx->json, "FromEmailAddress", &env.source, e) != 0 ||
	    json_str(ctx->json, "FromEmailAddressIdentityArn", &arn, e) != 0 ||
	    json_str(ctx->json, "FeedbackForwardingEmailAddress", &fb, e) != 0 ||
	    json_str(ctx->json, "FeedbackForwardingEmailAddressIdentityArn", &fbarn, e) != 0 ||
	    json_str(ctx->json, "ConfigurationSetName", &env.configuration_set, e) != 0 ||
	    v2_read_tags(ctx->json, "EmailTags", tags, &env.tags_given, e) != 0 ||
	    v2_read_destination(ctx->json, &dest, e) != 0)
		goto done;
	if (fb != NULL && parse_address(fb, &fbaddr, e) != 0)
		goto done;
	if ((bytes = base64_decode(data, strlen(data), &len)) == NULL) {
		rc = bad(e, "Content.Raw.Data", "is not valid base64");
		goto done;
	}
	if (dest.req.nrcpt > 0) {
		rcpt = xcalloc(dest.req.nrcpt, sizeof(*rcpt));
		for (size_t i = 0; i < dest.req.nrcpt; i++)
			rcpt[i] = dest.rcpt[i].spec;
		env.rcpt = rcpt;
		env.nrcpt = dest.req.nrcpt;
	}
	env.arn[AUTHZ_FROM] = arn;
	env.arn[AUTHZ_SOURCE] = arn;
	env.arn[AUTHZ_RETURN_PATH] = fbarn;
	if (send_request_from_raw(bytes, len, &env, &m, e) != 0)
		goto done;
	m.req.action = "SendEmail"; /* the v2 policy action, Raw too (§7) */
	if (fb != NULL) {
		m.req.return_path = fbaddr;
		m.req.has_return_path = true;
	}
	if (env.tags_given)
		m.req.tags = tags;
	rc = send_submit_version(ctx, &m.req, API_VERSION_2, v2_send_done, ctx, e) == 0
		     ? API_PENDING
		     : -1;
done:
	send_raw_clear(&m);
	send_clear(&dest);
	free(rcpt);
	free(bytes);
	free(tags);
	return rc;
}

int
act_v2_send_email(struct api_ctx *ctx, struct err *e)
{
	const json_t *content, *simple, *raw, *tmpl;

	if (json_obj(ctx->json, "Content", &content, e) != 0)
		return -1;
	if (content == NULL)
		return bad(e, "Content", "is required");
	if (json_obj(content, "Simple", &simple, e) != 0 || json_obj(content, "Raw", &raw, e) != 0 ||
	    json_obj(content, "Template", &tmpl, e) != 0)
		return -1;
	if ((simple != NULL) + (raw != NULL) + (tmpl != NULL) != 1)
		return bad(e, "Content", "must have exactly one of Simple, Raw or Template");
	return raw != NULL ? v2_send_raw(ctx, raw, e) : v2_send_built(ctx, simple, tmpl, e);
}

/*
 * SendBulkEmail: v1's SendBulkTemplatedEmail in v2's format — one send per
 * BulkEmailEntries member through send_submit (its own decision, charge
 * and MessageId), DefaultContent.Template rendered with each entry's
 * ReplacementTemplateData (or the default data), DefaultEmailTags with the
 * entry's ReplacementTags over them. The request as a whole (From, the
 * configuration set, the template) is checked first.
 */
int
act_v2_send_bulk_email(struct api_ctx *ctx, struct err *e)
{
	const json_t *dc, *tmpl, *entries = json_object_get(ctx->json, "BulkEmailEntries");
	struct email_template t = {0};
	struct send probe = {.req.action = "SendEmail"};
	const char *defaults = NULL, *cs;
	struct bulk *b = NULL;
	size_t i;
	json_t *entry;
	int rc = -1;

	if (json_obj(ctx->json, "DefaultContent", &dc, e) != 0)
		return -1;
	if (dc == NULL)
		return bad(e, "DefaultContent.Template", "is required");
	if (json_obj(dc, "Template", &tmpl, e) != 0)
		return -1;
	if (tmpl == NULL)
		return bad(e, "DefaultContent.Template", "is required");
	if (!json_is_array(entries) || json_array_size(entries) == 0)
		return bad(e, "BulkEmailEntries", "must be a non-empty list");
	if (json_array_size(entries) > MAX_BULK)
		return bad(e, "BulkEmailEntries", "has more than 50 entries");
	/* the whole request: From and the controls (one recipient stands in),
	 * the configuration set, the template and its default data */
	json_t *stand_in = json_pack("{s:{s:[s]}}", "Destination", "ToAddresses", "x@example.com");
	rc = v2_read_send(ctx, stand_in, "DefaultEmailTags", &probe, e);
	json_decref(stand_in);
	if (rc != 0)
		goto done;
	rc = -1;
	cs = probe.req.configuration_set;
	if (bulk_check_cset(ctx, cs, e) != 0 ||
	    v2_read_template(ctx, tmpl, "DefaultContent.Template", &t, &defaults, e) != 0)
		goto done;
	{
		struct template_rendered r;
		if (act_template_render(ctx, &t, NULL, defaults, &r, e) != 0 &&
		    strcmp(e->code, "InvalidRenderingParameter") == 0)
			goto done; /* bad defaults refuse the whole request */
		template_rendered_clear(&r);
		err_clear(e);
	}

	b = xcalloc(1, sizeof(*b));
	b->ctx = ctx;
	b->v2 = true;
	b->n = json_array_size(entries);
	json_array_foreach(entries, i, entry)
	{
		struct send s = {.req.action = "SendEmail"};
		struct template_rendered r = {0};
		struct err de = {0};
		const json_t *rc_ = NULL, *rt = NULL;
		const char *data = NULL;
		char *failure = NULL;
		bool given;

		s.tags = probe.tags; /* the defaults; a replacement of one name wins */
		if (!json_is_object(entry)) {
			bad(&de, "BulkEmailEntries", "members must be objects");
			bulk_set(b, i, NULL, &de);
			continue;
		}
		if (json_obj(entry, "ReplacementEmailContent", &rc_, &de) != 0 ||
		    (rc_ != NULL && json_obj(rc_, "ReplacementTemplate", &rt, &de) != 0) ||
		    (rc_ != NULL && rt != NULL &&
		     json_str(rt, "ReplacementTemplateData", &data, &de) != 0) ||
		    v2_read_send(ctx, entry, NULL, &s, &de) != 0 ||
		    v2_read_tags(entry, "ReplacementTags", &s.tags, &given, &de) != 0 ||
		    (data != NULL && check_data("ReplacementTemplateData", data, &de) != 0)) {
			bulk_set(b, i, NULL, &de);
			send_clear(&s);
			continue;
		}
		render_into(ctx, &s, &t, data != NULL ? defaults : NULL,
			    data != NULL ? data : defaults, &r, &failure);
		s.req.rendering_failure = failure;
		v2_built(&s);
		struct bulk_one *one = xcalloc(1, sizeof(*one));
		one->b = b;
		one->i = i;
		if (send_submit_version(ctx, &s.req, API_VERSION_2, bulk_done, one, &de) == 0) {
			b->pending++;
		} else {
			bulk_set(b, i, NULL, &de);
			free(one);
		}
		free(failure);
		template_rendered_clear(&r);
		send_clear(&s);
	}
	if (b->pending > 0)
		rc = API_PENDING; /* bulk_done answers when the last one is queued */
	else
		rc = bulk_answer(b, e);
done:
	email_template_clear(&t);
	send_clear(&probe);
	return rc;
}

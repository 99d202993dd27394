/*
 * act_send.c — SendEmail and SendRawEmail: the Query API front end of the
 * send decision (DESIGN.md "The send decision"; notes in
 * docs/internals/send.md).
 *
 * This file only translates: it reads the parameters (and, for
 * SendRawEmail, the message's headers) into a struct send_request, refusing
 * bad input before anything is looked up, charged or counted; then
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
#include "api/form.h"
#include "api/xml.h"
#include "core/address.h"
#include "core/arn.h"
#include "core/authz.h"
#include "mail/build.h"
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

/* One send as the decision sees it. */
struct send {
	const char *action;
	struct address from;          /* the From header's mailbox */
	struct address source;        /* envelope sender: Source, else From */
	struct address return_path;   /* feedback address, when there is one */
	bool has_return_path;
	const char *arn[AUTHZ_NROLES]; /* as given (parameter, else header) */
	struct address *rcpt;         /* envelope recipients */
	size_t nrcpt;
	char *subject;                /* decoded, UTF-8 */
	struct raw_msg *raw;          /* SendRawEmail: the parsed message */
	char *hdr[3];                 /* SendRawEmail: X-SES-*-ARN header values */
	const char *text, *html;      /* SendEmail bodies */
	const char *text_cs, *html_cs, *subject_cs;
	struct address *to, *cc, *reply_to;
	size_t nto, ncc, nreply_to;
};

static void
send_clear(struct send *s)
{
	free(s->rcpt);
	free(s->subject);
	raw_free(s->raw);
	for (int i = 0; i < 3; i++)
		free(s->hdr[i]);
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
check_recipient_count(size_t n, struct err *e)
{
	if (n > MAX_RECIPIENTS)
		return invalid(e, "Recipient count exceeds 50.");
	return 0;
}

static int
read_send_email(struct api_ctx *ctx, struct send *s, struct err *e)
{
	const char *source, *rp, *subject;
	bool tags;

	if ((source = api_param(ctx, "Source", e)) == NULL ||
	    parse_address(source, &s->source, e) != 0)
		return -1;
	s->from = s->source;
	if ((rp = api_param_opt(ctx, "ReturnPath")) != NULL) {
		if (parse_address(rp, &s->return_path, e) != 0)
			return -1;
		s->has_return_path = true;
	}
	static const char too_many[] = "Recipient count exceeds 50.";
	struct address *bcc = NULL;
	size_t nbcc = 0, total = 0, nrt = 0;
	if (parse_list(ctx, "Destination.ToAddresses", &s->to, &s->nto, &total, MAX_RECIPIENTS,
		       too_many, e) != 0 ||
	    parse_list(ctx, "Destination.CcAddresses", &s->cc, &s->ncc, &total, MAX_RECIPIENTS,
		       too_many, e) != 0 ||
	    parse_list(ctx, "Destination.BccAddresses", &bcc, &nbcc, &total, MAX_RECIPIENTS,
		       too_many, e) != 0) {
		free(bcc);
		return -1;
	}
	s->nrcpt = s->nto + s->ncc + nbcc;
	if (s->nrcpt > 0) {
		s->rcpt = xcalloc(s->nrcpt, sizeof(*s->rcpt));
		if (s->nto > 0)
			memcpy(s->rcpt, s->to, s->nto * sizeof(*s->rcpt));
		if (s->ncc > 0)
			memcpy(s->rcpt + s->nto, s->cc, s->ncc * sizeof(*s->rcpt));
		if (nbcc > 0)
			memcpy(s->rcpt + s->nto + s->ncc, bcc, nbcc * sizeof(*s->rcpt));
	}
	free(bcc);
	if (parse_list(ctx, "ReplyToAddresses", &s->reply_to, &s->nreply_to, &nrt, MAX_REPLY_TO,
		       "Reply-to address count exceeds 50.", e) != 0)
		return -1;
	if ((subject = api_param(ctx, "Message.Subject.Data", e)) == NULL)
		return -1;
	s->subject = xstrdup(subject);
	s->subject_cs = api_param_opt(ctx, "Message.Subject.Charset");
	s->text = api_param_opt(ctx, "Message.Body.Text.Data");
	s->text_cs = api_param_opt(ctx, "Message.Body.Text.Charset");
	s->html = api_param_opt(ctx, "Message.Body.Html.Data");
	s->html_cs = api_param_opt(ctx, "Message.Body.Html.Charset");
	if (s->text == NULL && s->html == NULL)
		return invalid(e, "The message body must contain Text, Html or both "
				  "(Message.Body.Text.Data, Message.Body.Html.Data).");
	s->arn[AUTHZ_SOURCE] = api_param_opt(ctx, "SourceArn");
	s->arn[AUTHZ_RETURN_PATH] = api_param_opt(ctx, "ReturnPathArn");
	if (check_arn(s->arn[AUTHZ_SOURCE], e) != 0 || check_arn(s->arn[AUTHZ_RETURN_PATH], e) != 0)
		return -1;
	if (check_tags_param(ctx, &tags, e) != 0 ||
	    send_check_configuration_set(api_param_opt(ctx, "ConfigurationSetName"), e) != 0)
		return -1;
	if (s->nrcpt == 0)
		return err_set(e, 400, "MessageRejected", "There are no recipients specified.");
	return 0;
}

/* A To field whose value is empty. */
static bool
empty_to(const struct raw_msg *m)
{
	struct buf b;
	bool empty = false;

	buf_init(&b, 0);
	for (long i = raw_find(m, "To", 0); i >= 0 && !empty; i = raw_find(m, "To", (size_t)i + 1)) {
		buf_reset(&b);
		raw_value(m, (size_t)i, &b);
		empty = b.len == 0;
	}
	buf_free(&b);
	return empty;
}

static int
read_send_raw(struct api_ctx *ctx, struct send *s, struct err *e)
{
	static const char *const hdr_names[3] = {"X-SES-FROM-ARN", "X-SES-SOURCE-ARN",
						 "X-SES-RETURN-PATH-ARN"};
	static const char *const arn_params[3] = {"FromArn", "SourceArn", "ReturnPathArn"};
	const char *data, *source, *v;
	struct form_list dest = {0};
	uint8_t *bytes;
	size_t len;
	bool tags;
	int rc;

	if ((data = api_param(ctx, "RawMessage.Data", e)) == NULL)
		return -1;
	if ((bytes = base64_decode(data, strlen(data), &len)) == NULL)
		return invalid(e, "RawMessage.Data is not valid base64.");
	rc = raw_parse(bytes, len, &s->raw, e);
	free(bytes);
	if (rc != 0 || raw_from(s->raw, &s->from, e) != 0)
		return -1;

	/* envelope sender: Source, else the From address */
	if ((source = api_param_opt(ctx, "Source")) != NULL) {
		if (parse_address(source, &s->source, e) != 0)
			return -1;
	} else {
		s->source = s->from;
	}
	/* feedback: Source wins; else a Return-Path header (not the null path) */
	if (source != NULL) {
		s->return_path = s->source;
		s->has_return_path = true;
	} else {
		char *h = raw_get(s->raw, "Return-Path");
		if (h != NULL && strcmp(h, "<>") != 0 && h[0] != '\0') {
			rc = parse_address(h, &s->return_path, e);
			s->has_return_path = rc == 0;
		}
		free(h);
		if (rc != 0)
			return -1;
	}

	/* ARNs: the parameter wins over the header; first occurrence counts */
	for (int i = 0; i < 3; i++) {
		s->hdr[i] = raw_get(s->raw, hdr_names[i]);
		v = api_param_opt(ctx, arn_params[i]);
		s->arn[i] = v != NULL ? v : s->hdr[i];
		if (s->arn[i] != NULL && s->arn[i][0] == '\0' && v == NULL)
			s->arn[i] = NULL; /* an empty header names nothing */
		if (check_arn(s->arn[i], e) != 0)
			return -1;
	}

	/* recipients: Destinations, else To/Cc/Bcc */
	if (form_list(ctx->form, "Destinations", MAX_LIST, &dest, e) != 0)
		return -1;
	if (dest.n > 0) {
		if (check_recipient_count(dest.n, e) != 0) {
			form_list_free(&dest);
			return -1;
		}
		s->rcpt = xcalloc(dest.n, sizeof(*s->rcpt));
		for (size_t i = 0; i < dest.n; i++) {
			if (parse_address(dest.values[i], &s->rcpt[i], e) != 0) {
				form_list_free(&dest);
				return -1;
			}
			s->nrcpt++;
		}
		form_list_free(&dest);
		/* the header recipients are not the envelope's, but SES still
		 * refuses an empty To */
		if (empty_to(s->raw))
			return invalid(e, "Empty required header 'To'.");
	} else {
		form_list_free(&dest);
		if (raw_recipients(s->raw, &s->rcpt, &s->nrcpt, e) != 0)
			return -1;
		if (s->nrcpt == 0)
			return invalid(e, "Missing required header 'To'.");
	}

	/* tags and configuration set: parameters win, headers are not merged */
	if (check_tags_param(ctx, &tags, e) != 0)
		return -1;
	if (!tags) {
		char *h = raw_get(s->raw, "X-SES-MESSAGE-TAGS");
		rc = h != NULL ? send_check_tags_header(h, e) : 0;
		free(h);
		if (rc != 0)
			return -1;
	}
	if ((v = api_param_opt(ctx, "ConfigurationSetName")) != NULL)
		return send_check_configuration_set(v, e);
	{
		char *h = raw_get(s->raw, "X-SES-CONFIGURATION-SET");
		rc = h != NULL && h[0] != '\0' ? send_check_configuration_set(h, e) : 0;
		free(h);
		if (rc != 0)
			return -1;
	}
	{
		char *h = raw_get(s->raw, "Subject");
		if (h != NULL) {
			s->subject = build_decode_header(h);
			free(h);
		}
	}
	return 0;
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

static int
send_run(struct api_ctx *ctx, struct send *s, struct err *e)
{
	struct send_env env = {
		.store = ctx->store,
		.lookup = ctx->t->lookup,
		.limits = ctx->t->limits,
		.queue = ctx->t->queue,
		.base = ctx->t->base,
	};
	struct send_built built = {
		.to = s->to,
		.nto = s->nto,
		.cc = s->cc,
		.ncc = s->ncc,
		.reply_to = s->reply_to,
		.nreply_to = s->nreply_to,
		.subject_charset = s->subject_cs,
		.text = s->text,
		.text_charset = s->text_cs,
		.html = s->html,
		.html_charset = s->html_cs,
	};
	struct send_request r = {
		.account = &ctx->account,
		.account_id = ctx->caller.account_id,
		.principal = ctx->caller.principal_arn,
		.user = ctx->caller.user,
		.service = ctx->caller.service,
		.region = ctx->region,
		.source_ip = ctx->source_ip,
		.secure = ctx->secure,
		.now = ctx->now,
		.action = s->action,
		.api_version = API_VERSION,
		.from = s->from,
		.source = s->source,
		.return_path = s->return_path,
		.has_return_path = s->has_return_path,
		.rcpt = s->rcpt,
		.nrcpt = s->nrcpt,
		.subject = s->subject,
		.raw = s->raw,
		.built = s->raw == NULL ? &built : NULL,
	};

	for (int i = 0; i < AUTHZ_NROLES; i++)
		r.arn[i] = s->arn[i];
	return send_submit(&env, &r, send_done, ctx, e) == 0 ? API_PENDING : -1;
}

int
act_send_email(struct api_ctx *ctx, struct err *e)
{
	struct send s = {.action = "SendEmail"};
	int rc = read_send_email(ctx, &s, e) == 0 ? send_run(ctx, &s, e) : -1;

	send_clear(&s);
	return rc;
}

int
act_send_raw_email(struct api_ctx *ctx, struct err *e)
{
	struct send s = {.action = "SendRawEmail"};
	int rc = read_send_raw(ctx, &s, e) == 0 ? send_run(ctx, &s, e) : -1;

	send_clear(&s);
	return rc;
}

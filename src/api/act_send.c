/*
 * act_send.c — SendEmail and SendRawEmail: the API front end of the send
 * decision (DESIGN.md "The send decision"; notes in docs/internals/send.md).
 *
 * Both actions run the same four phases:
 *   1. read    the parameters (and, for SendRawEmail, the message's
 *              headers) into a struct send. Bad input is refused here,
 *              before anything is looked up, charged or counted.
 *   2. account the caller's account: sending enabled, sandbox recipients.
 *   3. authz   authz_decide over From, Source and Return-Path, with the
 *              store served through the per-thread policy cache
 *              (send_lookup.c); then the owner's sandbox, if delegated.
 *   4. limits  the 24 h quota and the rate, charged to the CALLER's
 *              account (limits.c), then queue_submit and API_PENDING; the
 *              queue answers after the group commit (send_done).
 * Every refusal of phases 2-4 (AccountSendingPaused, MessageRejected,
 * AccessDenied, Throttling) is counted as a 'reject' send event of the
 * caller's account (the queue's store thread writes them); temporary
 * failures are not (nothing was decided).
 *
 * Invariants: nothing is queued unless every phase allowed it; a charge
 * (limits_charge) is always settled exactly once, in send_done, which the
 * queue runs exactly once per submission on this loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/act.h"
#include "api/form.h"
#include "api/limits.h"
#include "api/send_lookup.h"
#include "api/xml.h"
#include "core/address.h"
#include "core/arn.h"
#include "core/authz.h"
#include "core/identity.h"
#include "mail/build.h"
#include "mail/raw.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MAX_RECIPIENTS RAW_MAX_RECIPIENTS
#define MAX_LIST 1000      /* members read from one Query list before counting */
#define MAX_REPLY_TO 50
#define MAX_TAGS 50
#define TAG_MAX 256
#define DAY (24 * 60 * 60)
#define API_VERSION "1"    /* ses:ApiVersion for the v1 Query API */
#define SIMULATOR_DOMAIN "simulator.amazonses.com"

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

static bool
tag_chars_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int
check_tag(const char *name, size_t nn, const char *value, size_t vn, struct err *e)
{
	if (nn == 0 || nn > TAG_MAX || !tag_chars_ok(name, nn))
		return err_set(e, 400, "InvalidParameterValue",
			       "Invalid tag name <%.*s>: only ASCII letters, digits, '_' and '-' "
			       "are allowed, 1 to 256 of them.",
			       (int)(nn < 300 ? nn : 300), name);
	if (vn > TAG_MAX || !tag_chars_ok(value, vn))
		return err_set(e, 400, "InvalidParameterValue",
			       "Invalid tag value <%.*s>: only ASCII letters, digits, '_' and '-' "
			       "are allowed, at most 256 of them.",
			       (int)(vn < 300 ? vn : 300), value);
	return 0;
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
			rc = check_tag(n, strlen(n), v, strlen(v), e);
	}
	form_list_free(&l);
	return rc;
}

/* X-SES-MESSAGE-TAGS: `name1=value1, name2=value2`. */
static int
check_tags_header(const char *h, struct err *e)
{
	size_t count = 0;

	while (*h != '\0') {
		const char *end = strchr(h, ','), *eq;
		size_t n = end ? (size_t)(end - h) : strlen(h), b = 0;
		while (b < n && (h[b] == ' ' || h[b] == '\t'))
			b++;
		while (n > b && (h[n - 1] == ' ' || h[n - 1] == '\t'))
			n--;
		if (n > b) {
			eq = memchr(h + b, '=', n - b);
			if (eq == NULL)
				return invalid(e, "X-SES-MESSAGE-TAGS: each tag must be name=value.");
			if (++count > MAX_TAGS)
				return invalid(e, "X-SES-MESSAGE-TAGS: more than 50 tags.");
			size_t nn = (size_t)(eq - (h + b));
			if (check_tag(h + b, nn, eq + 1, n - b - nn - 1, e) != 0)
				return -1;
		}
		if (end == NULL)
			break;
		h = end + 1;
	}
	return 0;
}

/* sesame has no configuration sets (yet): naming one is SES's error for a
 * set that does not exist. */
static int
check_configuration_set(const char *name, struct err *e)
{
	if (name == NULL)
		return 0;
	return err_set(e, 400, "ConfigurationSetDoesNotExist",
		       "Configuration set <%.128s> does not exist.", name);
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
	    check_configuration_set(api_param_opt(ctx, "ConfigurationSetName"), e) != 0)
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
		rc = h != NULL ? check_tags_header(h, e) : 0;
		free(h);
		if (rc != 0)
			return -1;
	}
	if ((v = api_param_opt(ctx, "ConfigurationSetName")) != NULL)
		return check_configuration_set(v, e);
	{
		char *h = raw_get(s->raw, "X-SES-CONFIGURATION-SET");
		rc = h != NULL && h[0] != '\0' ? check_configuration_set(h, e) : 0;
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

/* ---- phases 2-4: the decision -------------------------------------------- */

static bool
is_refusal(const struct err *e)
{
	/* Throttling is marked temporary (SMTP 454: try later) but is a refusal */
	if (strcmp(e->code, "Throttling") == 0)
		return true;
	return !e->temporary && (strcmp(e->code, "MessageRejected") == 0 ||
				 strcmp(e->code, "AccessDenied") == 0 ||
				 strcmp(e->code, "AccountSendingPausedException") == 0);
}

/* Count a refusal in the caller's statistics (GetSendStatistics Rejects),
 * written off this loop by the queue's store thread. */
static void
record_reject(struct api_ctx *ctx, size_t n)
{
	queue_record(ctx->t->queue, ctx->caller.account_id, (int64_t)ctx->now, "reject",
		     (int64_t)(n ? n : 1));
}

/* SES's refusal for addresses no verified identity covers: MessageRejected
 * naming them (`list`, comma-separated) and the region. */
static int
not_verified(const struct api_ctx *ctx, const char *list, struct err *e)
{
	char region[33];

	snprintf(region, sizeof(region), "%s", ctx->region);
	for (char *p = region; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return err_set(e, 400, "MessageRejected",
		       "Email address is not verified. The following identities failed the check "
		       "in region %s: %s",
		       region, list);
}

/*
 * Sandbox: every recipient must be covered by a verified identity of
 * `account` (or be a mailbox simulator address). MessageRejected listing
 * the ones that are not.
 */
static int
check_sandbox(struct api_ctx *ctx, struct send_lookup *c, const char *account,
	      const struct send *s, struct err *e)
{
	char list[700];
	size_t o = 0;
	bool failed = false;

	list[0] = '\0';
	for (size_t i = 0; i < s->nrcpt; i++) {
		const struct address *a = &s->rcpt[i];
		int r;
		if (strcasecmp(a->domain, SIMULATOR_DOMAIN) == 0)
			continue;
		if ((r = send_lookup_covered(c, ctx->region, account, a->spec, e)) < 0)
			return -1;
		if (r == 1)
			continue;
		failed = true;
		size_t n = strlen(a->spec);
		if (o + n + 8 >= sizeof(list)) { /* SES ends a long list with "..." */
			if (o + 4 < sizeof(list) && strcmp(list + (o >= 3 ? o - 3 : 0), "...") != 0)
				o += (size_t)snprintf(list + o, sizeof(list) - o, "...");
			continue;
		}
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "", a->spec);
	}
	if (!failed)
		return 0;
	return not_verified(ctx, list, e);
}

/* What the queue's answer needs to settle the charge. */
struct send_job {
	struct api_ctx *ctx;
	char account[13];
	double rate;
	size_t n;
};

static void
send_done(void *arg, const char *message_id, const struct err *e)
{
	struct send_job *j = arg;
	struct api_ctx *ctx = j->ctx;
	struct err fail;

	limits_settle(ctx->t->limits, j->account, j->rate, j->n, e == NULL);
	if (e == NULL && xml_elem(ctx->out, "MessageId", message_id) != 0) {
		err_set(&fail, 500, "InternalFailure", "The response could not be written.");
		e = &fail;
	}
	if (e == NULL)
		log_info("send %s %s account=%s recipients=%zu", ctx->action->name, message_id,
			 j->account, j->n);
	free(j);
	api_complete(ctx, e);
}

static int64_t
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


/* The message as it will be delivered, into out; its MessageId (also in
 * the Message-ID header) into id. */
static int
render(struct api_ctx *ctx, const struct send *s, char id[80], struct buf *out, struct err *e)
{
	char date[40], mid[160];

	raw_date((long long)ctx->now, date);
	queue_message_id(id);
	build_message_id(ctx->region, id, mid, sizeof(mid));
	if (s->raw != NULL) {
		if (raw_render(s->raw, date, mid, out) != 0)
			return invalid(e, "The message is too large.");
	} else {
		struct build_email b = {
			.from = &s->from,
			.to = s->to,
			.nto = s->nto,
			.cc = s->cc,
			.ncc = s->ncc,
			.reply_to = s->reply_to,
			.nreply_to = s->nreply_to,
			.subject = s->subject,
			.subject_charset = s->subject_cs,
			.text = s->text,
			.text_charset = s->text_cs,
			.html = s->html,
			.html_charset = s->html_cs,
			.date = date,
			.message_id = mid,
		};
		if (build_email(&b, out, e) != 0)
			return -1;
	}
	/* SES's 10 MB is a limit on what the client sends: for SendRawEmail
	 * raw_parse applied it; a built message is checked here */
	if (s->raw == NULL && out->len > RAW_MAX_BYTES)
		return err_set(e, 400, "InvalidParameterValue",
			       "Message length is more than %d bytes long: '%zu'.", RAW_MAX_BYTES,
			       out->len);
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
}

static int
send_run(struct api_ctx *ctx, struct send *s, struct err *e)
{
	struct send_lookup *c = ctx->t->lookup;
	const char **rcpt = NULL;
	struct authz_caller who = {0};
	struct authz_send what = {0};
	struct authz_lookup lookup;
	struct authz_result res;
	struct account acct;
	struct queue_msg m = {0};
	struct send_job *job;
	struct buf out;
	int64_t sent = 0;
	int rc = -1;

	buf_init(&out, 0);
	/* the message is built before any charge: building can refuse bad
	 * content (a charset that cannot hold the text) */
	if (render(ctx, s, m.id, &out, e) != 0)
		goto done;
	if (send_lookup_sync(c, ctx->store, e) != 0)
		goto done;
	acct = ctx->account;

	/* phase 2: the caller's account */
	if (!acct.sending_enabled) {
		err_set(e, 400, "AccountSendingPausedException", "Sending is paused for this account.");
		goto refused;
	}
	if (acct.sandbox && check_sandbox(ctx, c, acct.id, s, e) != 0)
		goto refused;

	/* phase 3: who may send as these addresses */
	rcpt = xcalloc(s->nrcpt ? s->nrcpt : 1, sizeof(*rcpt));
	for (size_t i = 0; i < s->nrcpt; i++)
		rcpt[i] = s->rcpt[i].spec;
	who.account_id = ctx->caller.account_id;
	who.principal = ctx->caller.principal_arn;
	who.user = ctx->caller.user[0] ? ctx->caller.user : NULL;
	who.service = ctx->caller.service[0] ? ctx->caller.service : NULL;
	who.region = ctx->region;
	who.source_ip = ctx->source_ip[0] ? ctx->source_ip : NULL;
	who.secure = ctx->secure;
	who.now = (int64_t)ctx->now;
	if (who.user != NULL &&
	    send_lookup_user_policy(c, who.account_id, who.user, &who.user_policy, e) != 0)
		goto done;
	what.action = s->action;
	what.api_version = API_VERSION;
	what.from_display_name = s->from.name[0] ? s->from.name : NULL;
	what.recipients = rcpt;
	what.nrecipients = s->nrcpt;
	what.address[AUTHZ_FROM] = s->from.spec;
	what.address[AUTHZ_SOURCE] = s->source.spec;
	what.address[AUTHZ_RETURN_PATH] = s->has_return_path ? s->return_path.spec : NULL;
	for (int i = 0; i < AUTHZ_NROLES; i++)
		what.arn[i] = s->arn[i];
	send_lookup_authz(c, &lookup);
	if (authz_decide(&who, &what, &lookup, &res, e) != 0)
		goto refused;
	log_debug("send: %s %s as %s (%s, statement '%s')", ctx->caller.principal_arn, s->action,
		  res.role[AUTHZ_FROM].identity_arn,
		  res.role[AUTHZ_FROM].delegated ? "delegated" : "own",
		  res.role[AUTHZ_FROM].matched_sid);
	/* both accounts must be out of the sandbox to reach unverified recipients */
	for (int i = 0; i < AUTHZ_NROLES; i++) {
		const struct authz_grant *g = &res.role[i];
		struct account owner = {0};
		bool seen = false;
		int r;
		if (!g->present || !g->delegated)
			continue;
		for (int j = 0; j < i && !seen; j++)
			seen = res.role[j].present && res.role[j].delegated &&
			       strcmp(res.role[j].owner, g->owner) == 0;
		if (seen)
			continue;
		if ((r = ctx->store->ops->account_get(ctx->store, g->owner, &owner, e)) < 0)
			goto done;
		if (r == 0) {
			/* the owner was deleted after authz read its identity (the
			 * deletion takes the identity with it): fail closed, as for
			 * an identity that does not exist */
			not_verified(ctx, what.address[i] != NULL ? what.address[i] : "", e);
			goto refused;
		}
		if (owner.sandbox && check_sandbox(ctx, c, owner.id, s, e) != 0)
			goto refused;
	}

	/* phase 4: the caller's limits */
	if (ctx->store->ops->event_sum(ctx->store, acct.id, "accept", (int64_t)ctx->now - DAY, &sent,
				       e) != 0)
		goto done;
	if (limits_charge(ctx->t->limits, acct.id, acct.max_rate, acct.max_24h, sent,
			  monotonic_us(), s->nrcpt, e) != 0)
		goto refused;

	snprintf(m.region, sizeof(m.region), "%s", ctx->region);
	snprintf(m.sending_account, sizeof(m.sending_account), "%s", acct.id);
	if (res.role[AUTHZ_FROM].delegated)
		snprintf(m.identity_owner, sizeof(m.identity_owner), "%s", res.role[AUTHZ_FROM].owner);
	m.source_arn = dup_or_null(res.role[AUTHZ_SOURCE].identity_arn);
	m.from_arn = dup_or_null(res.role[AUTHZ_FROM].identity_arn);
	m.return_path_arn = res.role[AUTHZ_RETURN_PATH].present
				    ? dup_or_null(res.role[AUTHZ_RETURN_PATH].identity_arn)
				    : NULL;
	m.principal = xstrdup(ctx->caller.principal_arn);
	snprintf(m.source_ip, sizeof(m.source_ip), "%s", ctx->source_ip);
	m.source = xstrdup(s->has_return_path ? s->return_path.spec : s->source.spec);
	m.from_addr = xstrdup(s->from.spec);
	m.subject = s->subject != NULL ? xstrdup(s->subject) : NULL;
	m.ndestinations = s->nrcpt;
	m.destinations = xcalloc(s->nrcpt ? s->nrcpt : 1, sizeof(*m.destinations));
	for (size_t i = 0; i < s->nrcpt; i++)
		m.destinations[i] = xstrdup(s->rcpt[i].spec);
	m.raw = (uint8_t *)buf_steal(&out, &m.raw_len);

	job = xcalloc(1, sizeof(*job));
	job->ctx = ctx;
	snprintf(job->account, sizeof(job->account), "%s", acct.id);
	job->rate = acct.max_rate;
	job->n = s->nrcpt;
	queue_submit(ctx->t->queue, &m, ctx->t->base, send_done, job);
	rc = API_PENDING;
	goto done;

refused:
	if (is_refusal(e))
		record_reject(ctx, s->nrcpt);
done:
	queue_msg_clear(&m);
	free(rcpt);
	buf_free(&out);
	return rc;
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

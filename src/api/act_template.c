/*
 * act_template.c — the email-template API: CreateTemplate, GetTemplate,
 * UpdateTemplate, DeleteTemplate, ListTemplates, TestRenderTemplate, and
 * the lookup SendTemplatedEmail / SendBulkTemplatedEmail share
 * (act_template_load).
 *
 * Templates are the caller's own (DESIGN.md "Feedback: who gets what"):
 * every operation reads and writes the calling account's templates in the
 * request's region, and nothing names another account's (a TemplateArn of
 * another account is TemplateDoesNotExist). A template is compiled by
 * core/template before it is stored, so a stored template always compiles.
 * Notes: docs/internals/template.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/act.h"
#include "api/api.h"
#include "api/xml.h"
#include "core/template.h"
#include "mail/build.h"
#include "queue/queue.h"
#include "mail/raw.h"
#include "store/store.h"
#include "util/xalloc.h"

#define TEMPLATE_NAME_MAX 64
#define LIST_DEFAULT 10
#define LIST_MAX 100

static bool
name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len < 1 || len > TEMPLATE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static int
does_not_exist(const char *name, struct err *e)
{
	return err_set(e, 400, "TemplateDoesNotExist", "Template %.128s does not exist.", name);
}

/* A template's name and parts, checked and compiled, into *t (borrowing
 * the parts). */
static int
fill_template(struct api_ctx *ctx, const char *name, const char *subject, const char *text,
	      const char *html, struct email_template *t, struct err *e)
{
	/* a v2 caller wrote TemplateContent's members (act_v2.c) */
	static const char *const v2_names[3] = {"TemplateContent.Subject", "TemplateContent.Text",
						"TemplateContent.Html"};
	struct template_parts p;

	if (!name_ok(name))
		return err_set(e, 400, "InvalidParameterValue",
			       "Template name '%.80s' is invalid: it must be 1 to 64 ASCII letters, "
			       "digits, underscores or dashes.",
			       name);
	p.subject = subject;
	p.text = text;
	p.html = html;
	if (template_check_parts(&p, ctx->service == &api_sesv2 ? v2_names : NULL, e) != 0)
		return -1;
	memset(t, 0, sizeof(*t));
	snprintf(t->region, sizeof(t->region), "%s", ctx->region);
	snprintf(t->account_id, sizeof(t->account_id), "%s", ctx->caller.account_id);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->subject = (char *)p.subject;
	t->text = (char *)p.text;
	t->html = (char *)p.html;
	t->created = (int64_t)ctx->now;
	return 0;
}

int
act_template_put(struct api_ctx *ctx, const char *name, const char *subject, const char *text,
		 const char *html, bool create, struct err *e)
{
	struct email_template t;
	int rc;

	if (fill_template(ctx, name, subject, text, html, &t, e) != 0)
		return -1;
	if ((rc = ctx->store->ops->template_put(ctx->store, &t, create, e)) < 0) {
		if (create && strcmp(e->code, STORE_ERR_EXISTS) == 0)
			err_set(e, 400, "AlreadyExists", "Template %s already exists.", t.name);
		return -1;
	}
	return rc == 0 && !create ? does_not_exist(t.name, e) : 0;
}

bool
act_template_name_ok(const char *name)
{
	return name_ok(name);
}

/* Template.TemplateName and its parts (CreateTemplate, UpdateTemplate). */
static int
put_param(struct api_ctx *ctx, bool create, struct err *e)
{
	const char *name = api_param(ctx, "Template.TemplateName", e);

	if (name == NULL)
		return -1;
	return act_template_put(ctx, name, api_param_opt(ctx, "Template.SubjectPart"),
				api_param_opt(ctx, "Template.TextPart"),
				api_param_opt(ctx, "Template.HtmlPart"), create, e);
}

int
act_create_template(struct api_ctx *ctx, struct err *e)
{
	return put_param(ctx, true, e);
}

int
act_update_template(struct api_ctx *ctx, struct err *e)
{
	return put_param(ctx, false, e);
}

/* A TemplateArn names a template of the caller's own account in this
 * region: arn:aws:ses:<region>:<account>:template/<name>. */
static int
arn_name(struct api_ctx *ctx, const char *arn, char name[TEMPLATE_NAME_MAX + 1], struct err *e)
{
	char prefix[128];
	size_t pn;

	pn = (size_t)snprintf(prefix, sizeof(prefix), "arn:aws:ses:%s:%s:template/", ctx->region,
			      ctx->caller.account_id);
	if (strncmp(arn, prefix, pn) != 0 || !name_ok(arn + pn))
		return does_not_exist(arn, e);
	snprintf(name, TEMPLATE_NAME_MAX + 1, "%s", arn + pn);
	return 0;
}

int
act_template_load(struct api_ctx *ctx, const char *name, const char *arn,
		  struct email_template *out, struct err *e)
{
	char buf[TEMPLATE_NAME_MAX + 1];
	int rc;

	memset(out, 0, sizeof(*out));
	if (name == NULL && arn == NULL)
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameter Template or TemplateArn.");
	if (name == NULL) {
		if (arn_name(ctx, arn, buf, e) != 0)
			return -1;
		name = buf;
	}
	if (!name_ok(name))
		return does_not_exist(name, e);
	rc = ctx->store->ops->template_get(ctx->store, ctx->region, ctx->caller.account_id, name,
					   out, e);
	if (rc < 0)
		return -1;
	return rc == 0 ? does_not_exist(name, e) : 0;
}

int
act_get_template(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "TemplateName", e);
	struct email_template t;

	if (name == NULL || act_template_load(ctx, name, NULL, &t, e) != 0)
		return -1;
	xml_open(ctx->out, "Template");
	xml_elem(ctx->out, "TemplateName", t.name);
	xml_elem(ctx->out, "SubjectPart", t.subject);
	xml_elem(ctx->out, "TextPart", t.text);
	xml_elem(ctx->out, "HtmlPart", t.html);
	int rc = xml_close(ctx->out, "Template");
	email_template_clear(&t);
	return rc != 0 ? err_set(e, 500, "InternalFailure", "The response could not be written.")
		       : 0;
}

int
act_delete_template(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "TemplateName", e);

	if (name == NULL)
		return -1;
	if (!name_ok(name))
		return 0; /* as for an absent one: SES answers success */
	return ctx->store->ops->template_delete(ctx->store, ctx->region, ctx->caller.account_id,
						name, e) < 0 ? -1 : 0;
}

struct list_out {
	struct api_ctx *ctx;
	int n, limit;
	bool more;
	char last[TEMPLATE_NAME_MAX + 1];
};

static int
list_cb(void *arg, const struct email_template *t)
{
	struct list_out *l = arg;
	char ts[32];

	if (l->n == l->limit) {
		l->more = true; /* the row past the page */
		return 1;
	}
	api_timestamp((time_t)t->created, ts);
	xml_open(l->ctx->out, "member");
	xml_elem(l->ctx->out, "Name", t->name);
	xml_elem(l->ctx->out, "CreatedTimestamp", ts);
	xml_close(l->ctx->out, "member");
	snprintf(l->last, sizeof(l->last), "%s", t->name);
	l->n++;
	return 0;
}

int
act_list_templates(struct api_ctx *ctx, struct err *e)
{
	const char *token = api_param_opt(ctx, "NextToken");
	const char *max = api_param_opt(ctx, "MaxItems");
	struct list_out l = {.ctx = ctx, .limit = LIST_DEFAULT};
	struct store *st = ctx->store;

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
	xml_open(ctx->out, "TemplatesMetadata");
	/* one row more than the page tells whether there is a next one */
	if (st->ops->template_list(st, ctx->region, ctx->caller.account_id, token, l.limit + 1,
				   list_cb, &l, e) != 0)
		return -1;
	xml_close(ctx->out, "TemplatesMetadata");
	if (l.more)
		xml_elem(ctx->out, "NextToken", l.last);
	return 0;
}

int
act_template_render(struct api_ctx *ctx, const struct email_template *t, const char *defaults,
		    const char *data, struct template_rendered *out, struct err *e)
{
	struct template_parts p = {t->subject, t->text, t->html};

	if (template_render_parts(&p, defaults, data, strlen(data), out, e) != 0)
		return -1;
	/* a message needs a body: a template without parts renders an empty text */
	if (out->text == NULL && out->html == NULL)
		out->text = xstrdup("");
	if (out->subject == NULL)
		out->subject = xstrdup("");
	return 0;
}

int
act_test_render_template(struct api_ctx *ctx, struct err *e)
{
	const char *name = api_param(ctx, "TemplateName", e), *data;
	char *msg = NULL;
	int rc;

	if (name == NULL || (data = api_param(ctx, "TemplateData", e)) == NULL)
		return -1;
	if (act_template_test_render(ctx, name, data, &msg, e) != 0)
		return -1;
	rc = xml_elem(ctx->out, "RenderedTemplate", msg) != 0
		     ? err_set(e, 500, "InternalFailure", "The response could not be written.")
		     : 0;
	free(msg);
	return rc;
}

int
act_template_test_render(struct api_ctx *ctx, const char *name, const char *data, char **msg_out,
			 struct err *e)
{
	struct email_template t;
	struct template_rendered r = {0};
	char date[40], id[80], mid[160];
	struct buf out;
	int rc = -1;

	*msg_out = NULL;
	if (strlen(data) > TEMPLATE_MAX_DATA)
		return err_set(e, 400, "InvalidRenderingParameter",
			       "TemplateData is %zu bytes long; the limit is %d bytes.", strlen(data),
			       TEMPLATE_MAX_DATA);
	if (act_template_load(ctx, name, NULL, &t, e) != 0)
		return -1;
	buf_init(&out, RAW_MAX_BYTES);
	if (act_template_render(ctx, &t, NULL, data, &r, e) != 0)
		goto done;
	/* the message as SendTemplatedEmail would build it, without addresses */
	raw_date((long long)ctx->now, date);
	queue_message_id(id);
	build_message_id(ctx->region, id, mid, sizeof(mid));
	struct build_email b = {
		.subject = r.subject,
		.text = r.text,
		.html = r.html,
		.date = date,
		.message_id = mid,
	};
	if (build_email(&b, &out, e) != 0)
		goto done;
	if (buf_putc(&out, '\0') != 0) {
		err_set(e, 500, "InternalFailure", "The response could not be written.");
		goto done;
	}
	*msg_out = xstrdup(out.data);
	rc = 0;
done:
	buf_free(&out);
	template_rendered_clear(&r);
	email_template_clear(&t);
	return rc;
}

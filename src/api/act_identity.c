/*
 * act_identity.c — identity listing. Identities belong to (region, caller's
 * account); another account's identities are never visible here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/act.h"
#include "api/xml.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/xalloc.h"

#define LIST_MAX_ITEMS 1000

struct list_state {
	struct api_ctx *ctx;
	int count;
	int limit;
	char *last;
};

static int
list_one(void *arg, const struct identity *id)
{
	struct list_state *st = arg;

	if (st->count == st->limit) {
		/* one more than a page exists: the page ends at `last` */
		st->count++;
		return 1;
	}
	xml_elem(st->ctx->out, "member", id->name);
	free(st->last);
	st->last = xstrdup(id->name);
	st->count++;
	return 0;
}

int
act_list_identities(struct api_ctx *ctx, struct err *e)
{
	const char *type = api_param_opt(ctx, "IdentityType");
	const char *max = api_param_opt(ctx, "MaxItems");
	const char *token = api_param_opt(ctx, "NextToken");
	struct list_state st = {.ctx = ctx, .limit = LIST_MAX_ITEMS};
	char *after = NULL;
	int kind = -1, rc;

	if (type != NULL && type[0] != '\0') {
		if (strcmp(type, "EmailAddress") == 0)
			kind = IDENTITY_EMAIL;
		else if (strcmp(type, "Domain") == 0)
			kind = IDENTITY_DOMAIN;
		else
			return err_set(e, 400, "ValidationError",
				       "1 validation error detected: Value '%.64s' at 'identityType' "
				       "failed to satisfy constraint: Member must satisfy enum value "
				       "set: [Domain, EmailAddress]",
				       type);
	}
	if (max != NULL) {
		char *end;
		errno = 0;
		long n = strtol(max, &end, 10);
		if (errno || end == max || *end || n < 1 || n > LIST_MAX_ITEMS)
			return err_set(e, 400, "InvalidParameterValue",
				       "MaxItems must be an integer between 1 and %d.", LIST_MAX_ITEMS);
		st.limit = (int)n;
	}
	if (token != NULL && token[0] != '\0') {
		size_t n;
		uint8_t *raw = base64_decode(token, strlen(token), &n);
		if (raw == NULL || n == 0 || memchr(raw, '\0', n) != NULL) {
			free(raw);
			return err_set(e, 400, "InvalidParameterValue", "Invalid NextToken.");
		}
		after = xstrndup((const char *)raw, n);
		free(raw);
	}
	xml_open(ctx->out, "Identities");
	rc = ctx->store->ops->identity_list(ctx->store, ctx->region, ctx->caller.account_id, kind,
					    after, st.limit + 1, list_one, &st, e);
	free(after);
	if (rc < 0) {
		free(st.last);
		return -1;
	}
	xml_close(ctx->out, "Identities");
	if (st.count > st.limit && st.last != NULL) {
		char *next = base64_encode(st.last, strlen(st.last));
		xml_elem(ctx->out, "NextToken", next);
		free(next);
	}
	free(st.last);
	return 0;
}

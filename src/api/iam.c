/*
 * iam.c — see iam.h. The user's policy comes from the loop's send_lookup
 * cache (compiled once, refreshed by the store generation), so a policy
 * change applies to the next request.
 */
#include "api/iam.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "send/send_lookup.h"
#include "core/address.h"
#include "core/arn.h"
#include "core/identity.h"
#include "core/policy.h"
#include "store/store.h"

static int
denied(struct api_ctx *ctx, const char *resource, struct err *e)
{
	/* SNS says AuthorizationError where SES says AccessDenied */
	const char *code = ctx->service == &api_sns ? "AuthorizationError" : "AccessDenied";

	if (strcmp(resource, "*") == 0)
		return err_set(e, 403, code, "User: %s is not authorized to perform: %s:%s",
			       ctx->caller.principal_arn, ctx->service->name, ctx->action->name);
	return err_set(e, 403, code, "User: %s is not authorized to perform: %s:%s on resource: %s",
		       ctx->caller.principal_arn, ctx->service->name, ctx->action->name, resource);
}

/* The identity ARN the action works on, in the caller's account. */
static int
resource_of(struct api_ctx *ctx, char *out, size_t cap, struct err *e)
{
	const struct api_action *a = ctx->action;
	char name[IDENTITY_NAME_MAX + 1];
	enum identity_type type;
	const char *v;

	if (a->iam == API_IAM_TOPIC) {
		/* a subscription ARN is its topic's ARN and ":<uuid>" */
		const char *colon;
		if ((v = api_param(ctx, a->resource_param, e)) == NULL)
			return -1;
		colon = strcmp(a->resource_param, "SubscriptionArn") == 0 ? strrchr(v, ':') : NULL;
		snprintf(out, cap, "%.*s", colon ? (int)(colon - v) : (int)strlen(v), v);
		return 0;
	}
	if (a->iam != API_IAM_IDENTITY) {
		snprintf(out, cap, "*");
		return 0;
	}
	if (strcmp(a->resource_param, "Identity") == 0) {
		if (api_identity_param(ctx, "Identity", a->name, name, sizeof(name), e) != 0)
			return -1;
	} else {
		if ((v = api_param(ctx, a->resource_param, e)) == NULL)
			return -1;
		if (strcmp(a->resource_param, "Domain") == 0) {
			if (domain_validate(v, name, sizeof(name), e) != 0)
				return -1;
		} else if (identity_normalise(v, name, sizeof(name), &type, e) != 0) {
			return -1;
		}
	}
	if (arn_identity_format(ctx->region, ctx->caller.account_id, name, out, cap) != 0)
		return err_set(e, 400, "InvalidParameterValue", "Identity is too long.");
	return 0;
}

int
iam_check(struct api_ctx *ctx, struct err *e)
{
	const struct policy *pol = NULL;
	struct policy_ctx *pc;
	struct policy_request req;
	char resource[ARN_MAX], action[80], when[32], epoch[24];
	struct tm tm;
	enum policy_decision d;

	if (ctx->action->iam == API_IAM_SEND || ctx->caller.user[0] == '\0') {
		if (ctx->caller.service[0] != '\0' && ctx->action->iam != API_IAM_SEND)
			return denied(ctx, "*", e); /* a service's key only sends */
		return 0; /* the account root, or a send (core/authz decides) */
	}
	if (resource_of(ctx, resource, sizeof(resource), e) != 0)
		return -1;
	if (send_lookup_sync(ctx->t->lookup, ctx->store, e) != 0 ||
	    send_lookup_user_policy(ctx->t->lookup, ctx->caller.account_id, ctx->caller.user, &pol,
				    e) != 0)
		return -1;
	if (pol == NULL)
		return denied(ctx, resource, e);

	snprintf(action, sizeof(action), "%s:%s", ctx->service->name, ctx->action->name);
	gmtime_r(&ctx->now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(epoch, sizeof(epoch), "%lld", (long long)ctx->now);
	pc = policy_ctx_new();
	policy_ctx_add(pc, "aws:SourceIp", ctx->source_ip);
	policy_ctx_add(pc, "aws:CurrentTime", when);
	policy_ctx_add(pc, "aws:EpochTime", epoch);
	policy_ctx_add(pc, "aws:SecureTransport", ctx->secure ? "true" : "false");
	policy_ctx_add(pc, "aws:PrincipalAccount", ctx->caller.account_id);
	policy_ctx_add(pc, "aws:PrincipalArn", ctx->caller.principal_arn);
	policy_ctx_add(pc, "aws:username", ctx->caller.user);
	req = (struct policy_request){.principal = ctx->caller.principal_arn,
				      .action = action,
				      .resource = resource,
				      .ctx = pc};
	d = policy_evaluate(&pol, 1, &req, NULL);
	policy_ctx_free(pc);
	return d == POLICY_ALLOWED ? 0 : denied(ctx, resource, e);
}

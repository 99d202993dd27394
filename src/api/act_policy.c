/*
 * act_policy.c — the identity-policy API: PutIdentityPolicy,
 * GetIdentityPolicies, ListIdentityPolicies, DeleteIdentityPolicy.
 *
 * Only the owner manages an identity's policies: the identity is named by
 * name or by an ARN of the caller's own account (api_identity_param refuses
 * anyone else's). A document is validated and compiled by core/policy with
 * SES's rules before anything is stored, so a stored policy always compiles;
 * the store bumps its generation so the next send sees the change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/act.h"
#include "api/form.h"
#include "api/xml.h"
#include "core/arn.h"
#include "core/policy.h"
#include "core/identity.h"
#include "store/store.h"

#define POLICY_NAME_MAX 64
#define POLICY_DOC_MAX 4096
#define POLICIES_PER_IDENTITY 20

static int
check_name(const char *name, struct err *e)
{
	size_t n = strlen(name);

	if (n < 1)
		return err_set(e, 400, "ValidationError",
			       "1 validation error detected: Value '' at 'policyName' failed to "
			       "satisfy constraint: Member must have length greater than or equal to 1");
	if (n > POLICY_NAME_MAX)
		return err_set(e, 400, "ValidationError",
			       "1 validation error detected: Value '%.80s' at 'policyName' failed to "
			       "satisfy constraint: Member must have length less than or equal to 64",
			       name);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return err_set(e, 400, "InvalidParameterValue",
				       "PolicyName is invalid. Policy names must only include "
				       "alpha-numeric characters, dashes, and underscores.");
	}
	return 0;
}

int
act_policy_identity(struct api_ctx *ctx, const char *param, const char *action, char *name,
		    size_t cap, struct err *e)
{
	struct identity id = {0};
	int rc;

	if (api_identity_param(ctx, param, action, name, cap, e) != 0)
		return -1;
	rc = ctx->store->ops->identity_get(ctx->store, ctx->region, ctx->caller.account_id, name,
					   &id, e);
	identity_clear(&id);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Identity %s does not exist in region %s for this account.", name,
			       ctx->region);
	return 0;
}

static int
own_identity(struct api_ctx *ctx, const char *action, char *name, size_t cap, struct err *e)
{
	return act_policy_identity(ctx, "Identity", action, name, cap, e);
}

int
act_policy_check_name(const char *pname, struct err *e)
{
	return check_name(pname, e);
}

int
act_policy_put(struct api_ctx *ctx, const char *name, const char *pname, const char *doc,
	       struct err *e)
{
	char arn[ARN_MAX];
	struct policy *p = NULL;
	size_t n;
	int rc;

	if (check_name(pname, e) != 0)
		return -1;
	n = strlen(doc);
	if (n == 0)
		return err_set(e, 400, "ValidationError",
			       "1 validation error detected: Value '' at 'policy' failed to satisfy "
			       "constraint: Member must have length greater than or equal to 1");
	if (n > POLICY_DOC_MAX)
		return err_set(e, 400, "InvalidPolicy",
			       "Policy exceeds the maximum size of 4 KB (%zu bytes).", n);
	if (policy_compile(doc, n, POLICY_RESOURCE, &p, e) != 0)
		return -1;
	arn_identity_format(ctx->region, ctx->caller.account_id, name, arn, sizeof(arn));
	rc = policy_check_resource(p, arn, e);
	policy_free(p);
	if (rc != 0)
		return -1;
	return ctx->store->ops->policy_put(ctx->store, ctx->region, ctx->caller.account_id, name,
					   pname, doc, POLICIES_PER_IDENTITY, e);
}

int
act_put_identity_policy(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	const char *pname, *doc;

	if (own_identity(ctx, "PutIdentityPolicy", name, sizeof(name), e) != 0)
		return -1;
	if ((pname = api_param(ctx, "PolicyName", e)) == NULL || check_name(pname, e) != 0)
		return -1;
	if ((doc = api_param(ctx, "Policy", e)) == NULL)
		return -1;
	return act_policy_put(ctx, name, pname, doc, e);
}

int
act_get_identity_policies(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	struct identity_policy pol[POLICIES_PER_IDENTITY];
	struct form_list names = {0};
	int n;

	if (own_identity(ctx, "GetIdentityPolicies", name, sizeof(name), e) != 0)
		return -1;
	if (form_list(ctx->form, "PolicyNames", POLICIES_PER_IDENTITY, &names, e) != 0)
		return -1;
	if (!names.present) {
		form_list_free(&names);
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameter PolicyNames.");
	}
	for (size_t i = 0; i < names.n; i++)
		if (check_name(names.values[i], e) != 0) {
			form_list_free(&names);
			return -1;
		}
	n = ctx->store->ops->policy_list(ctx->store, ctx->region, ctx->caller.account_id, name, pol,
					 POLICIES_PER_IDENTITY, e);
	if (n < 0) {
		form_list_free(&names);
		return -1;
	}
	xml_open(ctx->out, "Policies");
	for (int i = 0; i < n; i++) {
		bool wanted = false;
		for (size_t j = 0; j < names.n && !wanted; j++)
			wanted = strcmp(names.values[j], pol[i].name) == 0;
		if (wanted) {
			xml_open(ctx->out, "entry");
			xml_elem(ctx->out, "key", pol[i].name);
			xml_elem(ctx->out, "value", pol[i].document);
			xml_close(ctx->out, "entry");
		}
		free(pol[i].document);
	}
	xml_close(ctx->out, "Policies");
	form_list_free(&names);
	return 0;
}

int
act_list_identity_policies(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	struct identity_policy pol[POLICIES_PER_IDENTITY];
	int n;

	if (own_identity(ctx, "ListIdentityPolicies", name, sizeof(name), e) != 0)
		return -1;
	n = ctx->store->ops->policy_list(ctx->store, ctx->region, ctx->caller.account_id, name, pol,
					 POLICIES_PER_IDENTITY, e);
	if (n < 0)
		return -1;
	xml_open(ctx->out, "PolicyNames");
	for (int i = 0; i < n; i++) {
		xml_elem(ctx->out, "member", pol[i].name);
		free(pol[i].document);
	}
	xml_close(ctx->out, "PolicyNames");
	return 0;
}

int
act_delete_identity_policy(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	const char *pname;

	if (own_identity(ctx, "DeleteIdentityPolicy", name, sizeof(name), e) != 0)
		return -1;
	if ((pname = api_param(ctx, "PolicyName", e)) == NULL || check_name(pname, e) != 0)
		return -1;
	/* Deleting a policy that does not exist succeeds, as in SES. */
	return ctx->store->ops->policy_delete(ctx->store, ctx->region, ctx->caller.account_id, name,
					      pname, e) < 0 ? -1 : 0;
}

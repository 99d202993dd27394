/*
 * authz.c — the send decision (see authz.h for the contract, and
 * docs/internals/authz.md for the reasoning behind each rule).
 *
 * One call decides a whole send in three passes over the roles (From,
 * Source, Return-Path):
 *   0. check: each present role's address and effective ARN are parsed
 *      (InvalidParameterValue answers at once); roles with the same
 *      address and ARN string are tied to the first of them;
 *   1. resolve: through the lookup callbacks, find the identity that
 *      covers each address (the caller's own, or the ARN's), and the
 *      identity whose policies apply to the role (own or delegated); a
 *      lookup error answers at once (temporary, fail closed); unverified
 *      addresses are gathered into one MessageRejected;
 *   2. authorize: evaluate the identity policies (every role: an explicit
 *      Deny refuses anyone, the owner's root included) and the IAM user's
 *      own policy (IAM users) against one request context built on first
 *      need; a delegate needs an identity-policy Allow, an owner's IAM
 *      user an Allow in either (same-account union); the first denied
 *      role answers AccessDenied.
 * Invariants: nothing is written to *out unless the send is allowed; a
 * result of 0 means every present role has a grant; no I/O, no globals;
 * the only allocation is the policy context, freed before returning.
 */
#include "core/authz.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arn.h"
#include "core/identity.h"
#include "core/policy.h"
#include "util/testable.h"
#include "util/xalloc.h"

#define AUTHZ_ACTION_MAX 128

/* What one role needs between the passes. */
struct role_state {
	const char *address; /* as given, NULL when the role is absent */
	const char *arn;     /* effective ARN as given, NULL when none */
	int same_as;         /* index of the role decided for this one, or -1 */
	struct arn_identity parsed;
	struct identity_candidates cand;
	/* pass 1 */
	bool unverified;
	bool foreign; /* ARN of another region/partition: AccessDenied on arn */
	bool delegated;
	char owner[13];
	char identity[IDENTITY_NAME_MAX + 1];
	char identity_arn[512];
	struct authz_identity policies; /* the identity policies evaluated (maybe none) */
	char policy_arn[512];           /* ARN of the identity they belong to */
	/* pass 2 */
	char matched_sid[129];
	bool policy_granted; /* an identity-policy Allow admitted the role */
};

struct decision {
	const struct authz_caller *c;
	const struct authz_send *s;
	const struct authz_lookup *l;
	char action[AUTHZ_ACTION_MAX]; /* "ses:<Action>" */
	/* the request context, built on first need: [0] for every role,
	 * [1] for the Sender role, whose ses:FromAddress is the Sender
	 * address (checked like From: a condition on the From address holds
	 * the Sender field to it too) */
	struct policy_ctx *ctx[2];
	struct role_state role[AUTHZ_NROLES];
};

static void
copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * The principal named in AccessDenied: the caller's principal ARN, or the
 * service name for a service principal.
 */
static const char *
principal_name(const struct authz_caller *c)
{
	if (c->principal != NULL && c->principal[0] != '\0')
		return c->principal;
	return c->service != NULL ? c->service : "";
}

static int
access_denied(const struct decision *d, const char *resource, struct err *e)
{
	return err_set(e, 403, "AccessDenied",
		       "User `%s' is not authorized to perform `%s' on resource `%s'",
		       principal_name(d->c), d->action, resource);
}

/*
 * Ask the store for one identity. Returns 1 / 0 as the callback does; -1
 * with a temporary error in e for anything else (fail closed: a storage
 * error is never taken as "absent").
 */
static int
lookup(const struct decision *d, const char *account, const char *name,
       struct authz_identity *out, struct err *e)
{
	struct err le;
	int rc;

	memset(out, 0, sizeof(*out));
	err_clear(&le);
	rc = d->l->identity(d->l->arg, d->c->region, account, name, out, &le);
	if (rc == 0 || rc == 1)
		return rc;
	if (le.code[0] != '\0' && le.temporary) {
		if (e != NULL)
			*e = le;
		return -1;
	}
	return err_temp(e, "%s", le.message[0] != '\0' ? le.message : "Identity lookup failed.");
}

/*
 * Pass 0 for one role: validate the address (its lookup candidates) and
 * parse the ARN. A foreign ARN (other region or partition) is marked, not
 * refused: that answer (AccessDenied) belongs to pass 2.
 */
static int
check_role(struct decision *d, struct role_state *r, struct err *e)
{
	if (identity_candidates(r->address, &r->cand, e) < 0)
		return -1;
	if (r->arn == NULL)
		return 0;
	if (arn_identity_parse(r->arn, strlen(r->arn), &r->parsed, e) < 0)
		return -1;
	r->foreign = strcmp(r->parsed.partition, "aws") != 0 ||
		     strcasecmp(r->parsed.region, d->c->region) != 0;
	return 0;
}

/*
 * Choose the identity whose policies apply to role r: the first candidate
 * in [lo, hi) (most specific first) that `account` has verified with at
 * least one policy; if none, `self_name` (the identity the role sends as)
 * with its own policies, possibly none. The candidate at index `self` is
 * `self_id`, already looked up; every other one is looked up here.
 */
static int
pick_policies(struct decision *d, struct role_state *r, const char *account, size_t lo,
	      size_t hi, size_t self, const char *self_name, const struct authz_identity *self_id,
	      struct err *e)
{
	const char *name = self_name;

	r->policies = *self_id;
	for (size_t i = lo; i < hi && i < r->cand.n; i++) {
		struct authz_identity id;
		if (i == self) {
			id = *self_id;
		} else {
			int rc = lookup(d, account, r->cand.name[i], &id, e);
			if (rc < 0)
				return -1;
			if (rc == 0)
				continue;
		}
		if (id.verified && id.npolicies > 0) {
			r->policies = id;
			name = r->cand.name[i];
			break;
		}
	}
	if (arn_identity_format(d->c->region, account, name, r->policy_arn,
				sizeof(r->policy_arn)) < 0)
		return err_set(e, 500, "InternalFailure", "Identity ARN too long.");
	return 0;
}

/*
 * No ARN: the caller's own most specific verified identity covering the
 * address. Its policies apply, or — when it has none — those of the next
 * less specific verified identity that has any: as if the caller had named
 * its broadest covering identity in an ARN, so an address identity without
 * policies cannot hide its domain's Deny.
 */
static int
resolve_own(struct decision *d, struct role_state *r, struct err *e)
{
	struct authz_identity id;
	size_t i;

	for (i = 0; i < r->cand.n; i++) {
		int rc = lookup(d, d->c->account_id, r->cand.name[i], &id, e);
		if (rc < 0)
			return -1;
		if (rc == 1 && id.verified)
			break;
	}
	if (i == r->cand.n) {
		r->unverified = true;
		return 0;
	}
	copy_str(r->identity, sizeof(r->identity), r->cand.name[i]);
	copy_str(r->owner, sizeof(r->owner), d->c->account_id);
	return pick_policies(d, r, d->c->account_id, i, r->cand.n, i, r->cand.name[i], &id, e);
}

/*
 * ARN in the request's region: the ARN's identity must cover the address
 * and be verified. The identity whose policies apply — for the owner's own
 * principals and for delegates alike — is the most specific verified
 * identity of the owner from the address up to the ARN's identity that has
 * any policy, else the ARN's identity itself (whose policies may be none).
 */
static int
resolve_arn(struct decision *d, struct role_state *r, struct err *e)
{
	const struct arn_identity *a = &r->parsed;
	struct authz_identity named;
	size_t k;
	int rc;

	if (!identity_covers(a->identity, a->type, r->cand.buf)) {
		r->unverified = true;
		return 0;
	}
	rc = lookup(d, a->account, a->identity, &named, e);
	if (rc < 0)
		return -1;
	if (rc == 0 || !named.verified) {
		r->unverified = true;
		return 0;
	}
	copy_str(r->identity, sizeof(r->identity), a->identity);
	copy_str(r->owner, sizeof(r->owner), a->account);
	r->delegated = strcmp(a->account, d->c->account_id) != 0;
	/* where the ARN's identity sits among the candidates; the ones before
	 * it are the more specific identities that may take precedence */
	for (k = 0; k < r->cand.n; k++)
		if (r->cand.type[k] == a->type && strcmp(r->cand.name[k], a->identity) == 0)
			break;
	return pick_policies(d, r, a->account, 0, k, k, a->identity, &named, e);
}

static int
resolve_role(struct decision *d, struct role_state *r, struct err *e)
{
	int rc;

	if (r->foreign)
		return 0;
	rc = r->arn == NULL ? resolve_own(d, r, e) : resolve_arn(d, r, e);
	if (rc < 0 || r->unverified)
		return rc;
	if (arn_identity_format(d->c->region, r->owner, r->identity, r->identity_arn,
				sizeof(r->identity_arn)) < 0)
		return err_set(e, 500, "InternalFailure", "Identity ARN too long.");
	return 0;
}

/*
 * MessageRejected listing every failing address once, in role order, with
 * the region upper-cased; "..." when the list would not fit the message.
 */
static int
unverified_error(const struct decision *d, struct err *e)
{
	char region[ARN_REGION_MAX + 1], list[sizeof(e->message)];
	size_t o = 0, cap = sizeof(list) - 200; /* room for the sentence */
	bool cut = false;

	copy_str(region, sizeof(region), d->c->region);
	for (char *p = region; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	list[0] = '\0';
	for (int i = 0; i < AUTHZ_NROLES && !cut; i++) {
		const struct role_state *r = &d->role[i];
		bool seen = false;
		if (r->address == NULL || r->same_as >= 0 || !r->unverified)
			continue;
		for (int j = 0; j < i && !seen; j++)
			seen = d->role[j].address != NULL && d->role[j].same_as < 0 &&
			       d->role[j].unverified && strcmp(d->role[j].address, r->address) == 0;
		if (seen)
			continue;
		size_t n = strlen(r->address), sep = o > 0 ? 2 : 0;
		if (o + sep + n + 3 >= cap) {
			memcpy(list + o, "...", 4);
			cut = true;
			break;
		}
		if (sep > 0)
			memcpy(list + o, ", ", 2);
		memcpy(list + o + sep, r->address, n + 1);
		o += sep + n;
	}
	return err_set(e, 400, "MessageRejected",
		       "Email address is not verified. The following identities failed the "
		       "check in region %s: %s",
		       region, list);
}

/*
 * aws:CurrentTime as ISO 8601 UTC (`YYYY-MM-DDTHH:MM:SSZ`) from unix
 * seconds. -1 when the time cannot be represented.
 */
TESTABLE int
authz_format_time(int64_t now, char *out, size_t cap)
{
	struct tm tm;
	time_t t = (time_t)now;

	if ((int64_t)t != now || gmtime_r(&t, &tm) == NULL)
		return -1;
	if (strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return 0;
}

static int
ctx_add(struct policy_ctx *ctx, const char *key, const char *value, int *bad)
{
	if (value != NULL && policy_ctx_add(ctx, key, value) < 0)
		*bad = 1;
	return *bad;
}

/*
 * The request context every policy of this send sees (built once, on the
 * first evaluation). -1 when it cannot be built faithfully: evaluating
 * without a value a condition names could turn a Deny into an allow.
 */
static int
build_ctx(struct decision *d, int which, struct err *e)
{
	const struct authz_caller *c = d->c;
	const struct authz_send *s = d->s;
	const char *from = which == 1                    ? s->address[AUTHZ_SENDER]
			   : s->address[AUTHZ_FROM] != NULL ? s->address[AUTHZ_FROM]
							    : s->address[AUTHZ_SOURCE];
	const char *feedback = s->address[AUTHZ_RETURN_PATH] != NULL ? s->address[AUTHZ_RETURN_PATH]
								      : s->address[AUTHZ_SOURCE];
	char when[64], epoch[32];
	int bad = 0;

	struct policy_ctx *ctx;

	if (d->ctx[which] != NULL)
		return 0;
	if (authz_format_time(c->now, when, sizeof(when)) < 0)
		return err_set(e, 500, "InternalFailure", "Request time out of range.");
	snprintf(epoch, sizeof(epoch), "%" PRId64, c->now);
	d->ctx[which] = ctx = policy_ctx_new();
	ctx_add(ctx, "ses:FromAddress", from, &bad);
	if (s->from_display_name != NULL && s->from_display_name[0] != '\0')
		ctx_add(ctx, "ses:FromDisplayName", s->from_display_name, &bad);
	for (size_t i = 0; i < s->nrecipients; i++)
		ctx_add(ctx, "ses:Recipients", s->recipients[i], &bad);
	ctx_add(ctx, "ses:FeedbackAddress", feedback, &bad);
	ctx_add(ctx, "ses:ApiVersion", s->api_version, &bad);
	ctx_add(ctx, "aws:SourceIp", c->source_ip, &bad);
	ctx_add(ctx, "aws:CurrentTime", when, &bad);
	ctx_add(ctx, "aws:EpochTime", epoch, &bad);
	ctx_add(ctx, "aws:SecureTransport", c->secure ? "true" : "false", &bad);
	ctx_add(ctx, "aws:PrincipalAccount", c->account_id, &bad);
	if (c->service != NULL)
		ctx_add(ctx, "aws:SourceAccount", c->account_id, &bad);
	else
		ctx_add(ctx, "aws:PrincipalArn", c->principal, &bad);
	ctx_add(ctx, "aws:username", c->user, &bad);
	if (bad)
		return err_set(e, 400, "InvalidParameterValue",
			       "The message has too many recipients or too long a header "
			       "value to evaluate sending authorization policies.");
	return 0;
}

/* Which request context role r is evaluated with (decision.ctx). */
static int
ctx_of(const struct decision *d, const struct role_state *r)
{
	return r == &d->role[AUTHZ_SENDER] ? 1 : 0;
}

/*
 * Evaluate the identity policies that apply to r (none: implicit deny,
 * and no context is built) for the caller; res is filled when evaluated.
 */
static int
eval_identity_policies(struct decision *d, struct role_state *r, enum policy_decision *dec,
		       struct policy_result *res, struct err *e)
{
	*dec = POLICY_IMPLICIT_DENY;
	res->nmatched = 0;
	if (r->policies.npolicies == 0)
		return 0;
	if (build_ctx(d, ctx_of(d, r), e) < 0)
		return -1;
	struct policy_request req = {d->c->principal, d->action, r->policy_arn,
				     d->ctx[ctx_of(d, r)]};
	*dec = policy_evaluate(r->policies.policies, r->policies.npolicies, &req, res);
	return 0;
}

/*
 * Evaluate the IAM user's own policy on the identity r sends as (no user policy:
 * implicit deny). Only for IAM-user callers.
 */
static int
eval_user_policy(struct decision *d, const struct role_state *r, enum policy_decision *dec,
		 struct policy_result *res, struct err *e)
{
	*dec = POLICY_IMPLICIT_DENY;
	res->nmatched = 0;
	if (d->c->user_policy == NULL)
		return 0;
	if (build_ctx(d, ctx_of(d, r), e) < 0)
		return -1;
	struct policy_request req = {d->c->principal, d->action, r->identity_arn,
				     d->ctx[ctx_of(d, r)]};
	*dec = policy_evaluate(&d->c->user_policy, 1, &req, res);
	return 0;
}

static void
take_sid(struct role_state *r, const struct policy_result *res)
{
	if (r->matched_sid[0] == '\0' && res->nmatched > 0)
		copy_str(r->matched_sid, sizeof(r->matched_sid), res->matched[0].sid);
}

/*
 * Pass 2 for one role (spec §4.4):
 *   - an explicit Deny in the identity policies refuses every caller, the
 *     owner's root and service principals included (named: policy_arn);
 *   - delegated: an identity-policy Allow is required, and an IAM-user
 *     delegate also needs its user policy to Allow (both sides);
 *   - own: root and service principals are allowed; an IAM user is allowed
 *     by its user policy OR the identity policies (the same-account union),
 *     unless its user policy Denies (named: identity_arn).
 * The user policy is always evaluated on the identity the role sends as
 * (identity_arn), never on the more specific one whose policies applied.
 */
static int
authorize_role(struct decision *d, struct role_state *r, struct err *e)
{
	struct policy_result ires, ures;
	enum policy_decision idec, udec;

	if (r->foreign)
		return access_denied(d, r->arn, e);
	if (eval_identity_policies(d, r, &idec, &ires, e) < 0)
		return -1;
	if (idec == POLICY_EXPLICIT_DENY)
		return access_denied(d, r->policy_arn, e);
	if (r->delegated) {
		if (idec != POLICY_ALLOWED)
			return access_denied(d, r->policy_arn, e);
		take_sid(r, &ires);
		r->policy_granted = true;
		if (d->c->user == NULL)
			return 0; /* a delegate's root or service needs no user policy */
		if (eval_user_policy(d, r, &udec, &ures, e) < 0)
			return -1;
		if (udec != POLICY_ALLOWED)
			return access_denied(d, r->identity_arn, e);
		return 0;
	}
	if (d->c->user == NULL)
		return 0; /* the owner's root and service principals */
	if (eval_user_policy(d, r, &udec, &ures, e) < 0)
		return -1;
	if (udec == POLICY_EXPLICIT_DENY)
		return access_denied(d, r->identity_arn, e);
	if (udec == POLICY_ALLOWED) {
		take_sid(r, &ures);
		return 0;
	}
	if (idec == POLICY_ALLOWED) {
		take_sid(r, &ires);
		r->policy_granted = true;
		return 0;
	}
	return access_denied(d, r->identity_arn, e);
}

static void
fill_grant(const struct role_state *r, struct authz_grant *g)
{
	memset(g, 0, sizeof(*g));
	g->present = true;
	g->delegated = r->delegated;
	copy_str(g->owner, sizeof(g->owner), r->owner);
	copy_str(g->identity, sizeof(g->identity), r->identity);
	copy_str(g->identity_arn, sizeof(g->identity_arn), r->identity_arn);
	copy_str(g->matched_sid, sizeof(g->matched_sid), r->matched_sid);
	if (r->policy_granted)
		copy_str(g->policy_arn, sizeof(g->policy_arn), r->policy_arn);
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
decide(struct decision *d, struct authz_result *out, struct err *e)
{
	const struct authz_send *s = d->s;
	int i, nroles = 0;
	bool unverified = false;

	/* pass 0: parse, tie duplicate roles */
	for (i = 0; i < AUTHZ_NROLES; i++) {
		struct role_state *r = &d->role[i];
		r->same_as = -1;
		r->address = s->address[i];
		if (r->address == NULL)
			continue;
		nroles++;
		r->arn = s->arn[i];
		if (r->arn == NULL && i == AUTHZ_SENDER)
			r->arn = s->arn[AUTHZ_FROM];
		if (r->arn == NULL && i != AUTHZ_SOURCE)
			r->arn = s->arn[AUTHZ_SOURCE];
		for (int j = 0; j < i && r->same_as < 0; j++)
			if (d->role[j].address != NULL && d->role[j].same_as < 0 &&
			    strcmp(d->role[j].address, r->address) == 0 &&
			    same_str(d->role[j].arn, r->arn))
				r->same_as = j;
		if (r->same_as < 0 && check_role(d, r, e) < 0)
			return -1;
	}
	if (nroles == 0)
		return err_set(e, 400, "InvalidParameterValue", "Missing final '@domain'");

	/* pass 1: resolve identities */
	for (i = 0; i < AUTHZ_NROLES; i++) {
		struct role_state *r = &d->role[i];
		if (r->address == NULL || r->same_as >= 0)
			continue;
		if (resolve_role(d, r, e) < 0)
			return -1;
		unverified |= r->unverified;
	}
	if (unverified)
		return unverified_error(d, e);

	/* pass 2: policies */
	for (i = 0; i < AUTHZ_NROLES; i++) {
		struct role_state *r = &d->role[i];
		if (r->address == NULL || r->same_as >= 0)
			continue;
		if (authorize_role(d, r, e) < 0)
			return -1;
	}

	memset(out, 0, sizeof(*out));
	for (i = 0; i < AUTHZ_NROLES; i++) {
		const struct role_state *r = &d->role[i];
		if (r->address != NULL)
			fill_grant(r->same_as >= 0 ? &d->role[r->same_as] : r, &out->role[i]);
	}
	return 0;
}

int
authz_decide(const struct authz_caller *c, const struct authz_send *s,
	     const struct authz_lookup *l, struct authz_result *out, struct err *e)
{
	struct decision *d;
	int rc;

	if (c == NULL || s == NULL || l == NULL || l->identity == NULL || out == NULL ||
	    c->account_id == NULL || c->region == NULL || s->action == NULL ||
	    (s->nrecipients > 0 && s->recipients == NULL))
		return err_set(e, 500, "InternalFailure", "Incomplete authorization request.");
	if (c->principal == NULL && c->service == NULL)
		return err_set(e, 500, "InternalFailure", "Incomplete authorization request.");
	/* the role states hold candidate lists (a few KB each): keep them off
	 * the event loop's stack */
	d = xcalloc(1, sizeof(*d));
	d->c = c;
	d->s = s;
	d->l = l;
	if ((size_t)snprintf(d->action, sizeof(d->action), "ses:%s", s->action) >=
	    sizeof(d->action)) {
		free(d);
		return err_set(e, 500, "InternalFailure", "Action name too long.");
	}
	rc = decide(d, out, e);
	policy_ctx_free(d->ctx[0]);
	policy_ctx_free(d->ctx[1]);
	free(d);
	return rc;
}

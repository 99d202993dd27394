/*
 * authz.h — the send decision (DESIGN.md "The send decision", spec §7),
 * pure: both front ends (API and SMTP) describe a send as a struct
 * authz_send, and authz_decide() says allow or refuse with SES's error.
 *
 * The store is reached only through the `struct authz_lookup` callbacks the
 * caller provides (the caller may serve them from a cache keyed by the store
 * generation), so this module has no I/O and can be unit-tested and fuzzed
 * with in-memory tables.
 *
 * For each role (From header, envelope Source, Return-Path) that has an
 * address:
 *   - no ARN: the caller's own most specific *verified* identity covering
 *     the address (region = request region); none → MessageRejected listing
 *     every failing address.
 *   - ARN: must parse as an SES identity ARN (else InvalidParameterValue),
 *     name the request's region (else AccessDenied on that resource), name a
 *     verified identity of its account that covers the address (else
 *     MessageRejected). Owner == caller → as "no ARN" but with that identity.
 *     Otherwise the role is delegated.
 * Then the identity policies that apply (spec §4.4) — those of the most
 * specific verified identity of the owner, from the address up to the ARN's
 * identity (no ARN: up to the broadest covering identity), that has any
 * policy; an address identity's policies take precedence over its domain's
 * — are evaluated for the caller's principal with the request context, for
 * every role, own or delegated:
 *   - an explicit Deny refuses anyone, the owner's own root, IAM users and
 *     service principals included;
 *   - delegated: an Allow is required, and an IAM-user delegate also needs
 *     an Allow in its own user policy for the action on the ARN;
 *   - own: the account root and service principals need nothing more; an
 *     IAM user needs an Allow in its user policy (on the identity it sends
 *     as) OR in the identity policies (same-account union), and no Deny in
 *     its user policy.
 * A refusal is AccessDenied (403) naming principal, action and resource.
 * Roles with the same address and ARN are decided once.
 *
 * ARN per role: the role's own ARN, else (From and Return-Path only) the
 * Source role's ARN — "SourceArn also covers the From and Return-Path
 * addresses" (DESIGN.md, Semantics we pin). Front ends may pass the
 * fallback already applied or leave it to this module; the result is the
 * same.
 *
 * Order of answers: malformed ARNs or addresses (InvalidParameterValue)
 * first; then every role's identity is resolved (a failed lookup answers
 * at once, temporary) and all unverified addresses give one
 * MessageRejected; only then are policies evaluated, and the first denied
 * role (From, Source, Return-Path order) gives AccessDenied. An ARN whose
 * region is not the request's (or whose partition is not "aws") is an
 * AccessDenied on that ARN as given. Notes: docs/internals/authz.md.
 */
#ifndef SESAME_CORE_AUTHZ_H
#define SESAME_CORE_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct policy;

/* The addresses a send is checked for. AUTHZ_SENDER is a raw message's
 * Sender header, checked as SES checks it, like From; it has no ARN of its
 * own: From's ARN covers it, else Source's. */
enum authz_role { AUTHZ_FROM, AUTHZ_SOURCE, AUTHZ_RETURN_PATH, AUTHZ_SENDER, AUTHZ_NROLES };

struct authz_caller {
	const char *account_id;  /* 12 digits */
	const char *principal;   /* arn:aws:iam::ID:root | …:user/NAME | service name */
	const char *user;        /* IAM user name or NULL */
	const char *service;     /* service principal name or NULL */
	const struct policy *user_policy; /* the IAM user's own policy, NULL if none */
	const char *region;      /* request region */
	const char *source_ip;
	bool secure;             /* TLS */
	int64_t now;             /* unix seconds, for aws:CurrentTime/EpochTime */
};

struct authz_send {
	const char *action;      /* "SendEmail", "SendRawEmail", … (no "ses:") */
	const char *api_version; /* value of ses:ApiVersion, e.g. "1" */
	/* addresses (addr-spec only) and ARNs per role; NULL when absent */
	const char *address[AUTHZ_NROLES];
	const char *arn[AUTHZ_NROLES];
	const char *from_display_name; /* ses:FromDisplayName, NULL if none */
	const char *const *recipients; /* ses:Recipients */
	size_t nrecipients;
};

/* What the store knows, as the decision needs it. */
struct authz_identity {
	bool verified;
	const struct policy *const *policies; /* compiled, owned by the provider */
	size_t npolicies;
};

struct authz_lookup {
	/* 1 found (out filled; pointers valid until the decision returns),
	 * 0 absent, -1 storage error (e filled, temporary). `name` is in
	 * normal form (core/identity). */
	int (*identity)(void *arg, const char *region, const char *account_id, const char *name,
			struct authz_identity *out, struct err *e);
	void *arg;
};

/* What was decided for one role. */
struct authz_grant {
	bool present;
	bool delegated;               /* identity owned by another account */
	char owner[13];               /* identity owner's account */
	char identity[321];           /* the identity that covers the address */
	char identity_arn[512];
	char matched_sid[129];        /* first deciding statement's Sid ("" if none) */
	/* ARN of the identity whose policy's Allow granted the role (the
	 * address identity when its policies took precedence over the
	 * domain's): always for a delegated role; for an own role only when an
	 * identity policy (not the user policy, not root) admitted an IAM
	 * user; else "". */
	char policy_arn[512];
};

struct authz_result {
	struct authz_grant role[AUTHZ_NROLES];
};

/* 0 = allowed (result filled); -1 = refused or failed, `e` says why in SES's
 * words (temporary when a lookup failed: fail closed). */
int authz_decide(const struct authz_caller *c, const struct authz_send *s,
		 const struct authz_lookup *l, struct authz_result *out, struct err *e);

#endif

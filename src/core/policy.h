/*
 * policy.h — SES sending-authorization (IAM-grammar) policies: parse,
 * validate and compile a JSON document once, then evaluate requests against
 * a set of compiled policies without allocating.
 *
 * Pure: no I/O, no clock, no globals. Time reaches a decision only through
 * the context keys aws:CurrentTime / aws:EpochTime. Notes on the compiled
 * form and the IAM rules as implemented: docs/internals/policy.md.
 */
#ifndef SESAME_CORE_POLICY_H
#define SESAME_CORE_POLICY_H

#include <stdbool.h>
#include <stddef.h>

struct err;

/* Hard caps on a document (every one is an InvalidPolicy, never an abort). */
#define POLICY_MAX_BYTES 65536    /* whole document; PutIdentityPolicy's 4 KB is the caller's */
#define POLICY_MAX_DEPTH 8        /* JSON nesting ({ and [) */
#define POLICY_MAX_STATEMENTS 100
#define POLICY_MAX_VALUES 100     /* entries of one Principal/Action/Resource list or condition key */
#define POLICY_MAX_CONDITIONS 64  /* operator x key pairs in one statement */
#define POLICY_MAX_STRING 1024    /* bytes in any one string of the document */

enum policy_mode {
	/* An SES identity policy: Principal or NotPrincipal required, Action
	 * limited to ses:*, Resource an SES identity ARN (or a wildcard
	 * pattern), condition keys checked against the SES list with SES's
	 * case rule. */
	POLICY_RESOURCE,
	/* An IAM user's own policy: Principal forbidden; any service:action
	 * and any prefix:name condition key. */
	POLICY_IDENTITY,
	/* POLICY_RESOURCE if any statement names Principal or NotPrincipal,
	 * else POLICY_IDENTITY (for simulate). */
	POLICY_AUTO,
};

enum policy_decision {
	POLICY_IMPLICIT_DENY = 0,
	POLICY_ALLOWED,
	POLICY_EXPLICIT_DENY,
};

struct policy;

/*
 * Parse, validate and compile `len` bytes of JSON. On success *policy_out
 * owns the compiled policy (free with policy_free) and 0 is returned; on
 * failure -1 with e = {InvalidPolicy, 400, message}. The document need not
 * be NUL-terminated and is not referenced afterwards.
 */
int policy_compile(const char *doc, size_t len, enum policy_mode mode,
    struct policy **policy_out, struct err *e);
void policy_free(struct policy *p);

/* The mode the policy was compiled in (never POLICY_AUTO). */
enum policy_mode policy_mode(const struct policy *p);
size_t policy_statement_count(const struct policy *p);
/* The document's Id, or "" when absent. */
const char *policy_id(const struct policy *p);

/*
 * SES requires every Resource of an identity policy to be that identity's
 * ARN. Returns 0 if every statement names exactly `identity_arn` (and no
 * statement uses NotResource); else -1 with InvalidPolicy.
 */
int policy_check_resource(const struct policy *p, const char *identity_arn, struct err *e);

/*
 * The request context: multi-valued keys, looked up case-insensitively.
 * Values are parsed once on add (number, date, IP, bool) so evaluation does
 * not parse or allocate.
 */
#define POLICY_CTX_MAX_KEYS 32
#define POLICY_CTX_MAX_VALUES 1024 /* all keys together */
#define POLICY_CTX_MAX_KEY 128     /* bytes of a key */
#define POLICY_CTX_MAX_VALUE 2048  /* bytes of a value */

struct policy_ctx;

struct policy_ctx *policy_ctx_new(void);
void policy_ctx_free(struct policy_ctx *ctx);
/* Forget every key and value; the context can be refilled. */
void policy_ctx_reset(struct policy_ctx *ctx);
/* Append one value to `key` (created on first use). -1 if a cap above is
 * passed or the key is empty; the context is then unchanged. */
int policy_ctx_add(struct policy_ctx *ctx, const char *key, const char *value);
/* Number of values held for `key` (case-insensitive). */
size_t policy_ctx_count(const struct policy_ctx *ctx, const char *key);

struct policy_request {
	/* "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:user/Jane",
	 * a 12-digit account id (same as its :root), or a service principal
	 * name such as "notifications.example.internal". */
	const char *principal;
	const char *action;   /* "ses:SendRawEmail"; matched case-insensitively */
	const char *resource; /* the identity ARN */
	const struct policy_ctx *ctx; /* may be NULL: every key absent */
};

#define POLICY_MAX_MATCHES 32

struct policy_match {
	const char *sid;    /* the statement's Sid, "" when it has none */
	unsigned policy;    /* index into the set passed to policy_evaluate */
	unsigned statement; /* 0-based index of the statement in its policy */
};

struct policy_result {
	enum policy_decision decision;
	/* The statements that decided: every matching Deny for
	 * POLICY_EXPLICIT_DENY, every matching Allow for POLICY_ALLOWED,
	 * none for POLICY_IMPLICIT_DENY; in set order, at most
	 * POLICY_MAX_MATCHES kept. Sids point into the policies and live as
	 * long as they do. */
	size_t nmatched;
	size_t total; /* how many matched in all (>= nmatched) */
	struct policy_match matched[POLICY_MAX_MATCHES];
};

/*
 * Evaluate `req` against `n` compiled policies (NULL entries skipped):
 * any matching Deny wins, else any matching Allow allows, else implicit
 * deny. Statements of resource policies must also match the principal;
 * identity-policy statements apply to whoever holds them. Allocation-free;
 * fills *out (may be NULL) and returns the decision.
 */
enum policy_decision policy_evaluate(const struct policy *const *set, size_t n,
    const struct policy_request *req, struct policy_result *out);

/* "allowed", "explicitDeny", "implicitDeny" (IAM's EvalDecision words). */
const char *policy_decision_name(enum policy_decision d);

#endif

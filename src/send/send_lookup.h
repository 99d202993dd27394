/*
 * send_lookup.h — what the send decision (core/authz) asks of the store
 * (src/send/; each front end's loop owns one, send_submit and api/iam.c
 * read through it), served from a cache of compiled policies: "compiled policies cached in
 * memory keyed by identity with a generation number, so an edit takes
 * effect on the next send" (DESIGN.md, Performance design).
 *
 * One cache per event-loop thread (no locks): entries keyed by (region,
 * account, identity) hold whether the identity exists, whether it is
 * verified, and its policies compiled; IAM users' own policies are cached
 * by (account, user). send_lookup_sync() reads the store's generation (one
 * primary-key read) and drops everything when it moved: any identity,
 * policy or user write bumps it, so no send ever sees a stale policy.
 *
 * Lifetime: entries stay put between two syncs, so the pointers a lookup
 * hands to authz_decide stay valid for the whole decision. Sync only
 * between decisions. Fails closed: a storage error is a temporary error,
 * and so is a stored policy that no longer compiles.
 */
#ifndef SESAME_SEND_SEND_LOOKUP_H
#define SESAME_SEND_SEND_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/authz.h"
#include "util/err.h"

struct store;
struct policy;
struct send_lookup;

/* Entries kept before a sync starts over (bounds memory). */
#define SEND_LOOKUP_MAX_ENTRIES 4096

struct send_lookup *send_lookup_new(void);
void send_lookup_free(struct send_lookup *c);


/* Bind the cache to `s` (this thread's store handle) and bring it up to
 * date with the store's generation. -1 with a temporary error. */
int send_lookup_sync(struct send_lookup *c, struct store *s, struct err *e);

/* An authz_lookup whose identity callback reads through the cache. */
void send_lookup_authz(struct send_lookup *c, struct authz_lookup *out);

/* The identity callback on its own (same contract as authz_lookup's):
 * 1 found, 0 absent, -1 temporary error. */
int send_lookup_identity(struct send_lookup *c, const char *region, const char *account,
			 const char *name, struct authz_identity *out, struct err *e);

/* The IAM user's own policy compiled: 0 with *out (NULL when the user has
 * none or does not exist), -1 with a temporary error. */
int send_lookup_user_policy(struct send_lookup *c, const char *account, const char *user,
			    const struct policy **out, struct err *e);

/* How mail sent as an identity leaves: its owner's settings. */
struct send_leaving {
	const char *mail_from_domain; /* custom MAIL FROM domain, NULL when none set */
	bool mail_from_verified;      /* its MX and SPF records were found */
	bool mail_from_reject;        /* BehaviorOnMXFailure = RejectMessage */
	bool dkim;                    /* a domain with Easy DKIM or BYODKIM verified and
				       * enabled */
	bool dkim_external;           /* BYODKIM: one key (index 0), s=dkim_tokens[0], the
				       * owner's selector; [1] and [2] NULL */
	bool dkim_ed25519;            /* and its Ed25519 record served (when dkim): sign
				       * ed25519-sha256 too, s=<dkim_tokens[0]>ed */
	const char *dkim_tokens[3];   /* its selectors (when dkim; one for BYODKIM) */
	const uint8_t *dkim_keys_sealed; /* its sealed keys (auth/dkim_keys) */
	size_t dkim_keys_sealed_len;
	const char *config_set;       /* its default configuration set (SES v2), NULL none */
};

/* The leaving settings of a VERIFIED identity: 1 with *out (valid until
 * the next sync), 0 when absent or not verified, -1 temporary error. */
int send_lookup_leaving(struct send_lookup *c, const char *region, const char *account,
			const char *name, const struct send_leaving **out, struct err *e);

/*
 * Is `address` covered by a verified identity of `account` in `region`
 * (the most specific candidate first, as for sending)? 1 yes, 0 no, -1
 * temporary error. For the sandbox's recipient check.
 */
int send_lookup_covered(struct send_lookup *c, const char *region, const char *account,
			const char *address, struct err *e);

#endif

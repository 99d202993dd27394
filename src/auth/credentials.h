/*
 * credentials.h — who is calling. The one place an access key is found in
 * the store, its secret unsealed, the caller's proof of it checked, and the
 * caller worked out, for every front end: SigV4 on the HTTP API (the proof
 * is the signature), AUTH on SMTP (the proof is the SES SMTP password).
 * DESIGN.md "The send decision", step 1.
 *
 * The secret exists in plaintext only inside credentials_lookup, unsealed
 * only when the proof asks for it (credentials_secret_open), for the length
 * of one call, and wiped before it returns; it is never logged and never
 * copied out.
 */
#ifndef SESAME_AUTH_CREDENTIALS_H
#define SESAME_AUTH_CREDENTIALS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct store;
struct vault;

/* What kind of principal a key belongs to. */
enum credentials_kind {
	CREDENTIALS_ROOT,    /* the account's root: arn:aws:iam::ID:root */
	CREDENTIALS_USER,    /* an IAM user: arn:aws:iam::ID:user/NAME */
	CREDENTIALS_SERVICE, /* a service principal acting for the account */
};

/* The caller, from the key that proved itself. */
struct credentials_caller {
	char key_id[21];
	char account_id[13];
	char user[65];           /* IAM user name, "" otherwise */
	char service[254];       /* service principal, "" otherwise */
	char principal_arn[512]; /* arn:aws:iam::ID:root | …:user/NAME | the service name */
	enum credentials_kind kind;
};

/*
 * A key's secret as the proof sees it: sealed, with the SHA-256 of the
 * sealed bytes as its fingerprint. The vault's seal is authenticated, so
 * equal sealed bytes hold an equal secret, and a new secret is new sealed
 * bytes: a proof that keeps something derived from the secret (SigV4's
 * signing-key cache) keys it by the fingerprint and needs no unsealing
 * when it hits. Valid only during the verify call.
 */
struct credentials_secret {
	const struct vault *vault;
	const uint8_t *sealed;
	size_t sealed_len;
	uint8_t fingerprint[32];
	uint8_t *plain; /* once opened; wiped and freed by credentials_lookup */
	size_t plain_len;
};

/* The plaintext secret, unsealed on the first call; NULL with e filled
 * when the vault cannot open it. Valid only during the verify call. */
const char *credentials_secret_open(struct credentials_secret *s, struct err *e);

/*
 * How the caller proves it holds the key's secret: exactly one of
 *  - smtp_password (+ smtp_region): an SES SMTP password, v4 for that
 *    region or v2, compared in constant time (smtp_password_check);
 *  - verify(verify_arg, secret, e): the front end's own check with the
 *    secret (SigV4: derive the signing key, verify the signature); 0 when it
 *    holds, -1 with e filled (e.g. SignatureDoesNotMatch). The plaintext
 *    (credentials_secret_open) must not be kept.
 */
struct credentials_proof {
	const char *smtp_password;
	const char *smtp_region;
	int (*verify)(void *arg, struct credentials_secret *secret, struct err *e);
	void *verify_arg;
};

/*
 * Look key `key_id` up in `s`, unseal its secret with `v`, check the proof
 * and fill *out. Every call reads the store (a primary-key read), so a
 * deleted key stops working at once.
 *  1  proven: *out is the caller;
 *  0  not proven, e untouched: no such key (out->key_id ""), or a wrong
 *     SMTP password (out->key_id names the key, nothing else is filled);
 * -1  e filled: storage or vault trouble (temporary), or verify's refusal.
 */
int credentials_lookup(struct store *s, const struct vault *v, const char *key_id,
		       const struct credentials_proof *p, struct credentials_caller *out,
		       struct err *e);

/*
 * The principal of a key of `account` held by IAM user `user` or service
 * `service` (either NULL or "" when not): the root ARN, the user ARN or the
 * service name, into out (cap bytes). 0, or -1 when it does not fit (out
 * then holds "").
 */
int credentials_principal(const char *account, const char *user, const char *service, char *out,
			  size_t cap);

#endif

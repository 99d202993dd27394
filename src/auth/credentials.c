/*
 * credentials.c — finding the caller of an access key (credentials.h): the
 * key read from the store, the proof checked against its secret (unsealed
 * through the vault when the proof asks), the principal derived. Both
 * front ends call credentials_lookup; neither calls the vault itself.
 *
 * Invariants: the unsealed secret is wiped (OPENSSL_cleanse) on every path
 * out; a caller is filled only when its proof held; an SMTP password is
 * compared in constant time (smtp_password.c).
 */
#include "auth/credentials.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/smtp_password.h"
#include "auth/vault.h"
#include "core/arn.h"
#include "store/store.h"
#include "util/hash.h"

int
credentials_principal(const char *account, const char *user, const char *service, char *out,
		      size_t cap)
{
	if (user != NULL && user[0] != '\0')
		return arn_user_format(account, "/", user, out, cap);
	if (service != NULL && service[0] != '\0') {
		if (strlen(service) < cap) {
			memcpy(out, service, strlen(service) + 1);
			return 0;
		}
		if (cap > 0)
			out[0] = '\0';
		return -1;
	}
	return arn_root_format(account, out, cap);
}

const char *
credentials_secret_open(struct credentials_secret *s, struct err *e)
{
	if (s->plain == NULL &&
	    vault_unseal(s->vault, s->sealed, s->sealed_len, &s->plain, &s->plain_len, e) != 0)
		return NULL;
	return (const char *)s->plain;
}

/* Does the secret satisfy the proof? 1, 0, or -1 with e. */
static int
proven(const struct credentials_proof *p, struct credentials_secret *s, struct err *e)
{
	const char *plain;

	if (p->verify != NULL)
		return p->verify(p->verify_arg, s, e) == 0 ? 1 : -1;
	if (p->smtp_password != NULL && p->smtp_region != NULL) {
		if ((plain = credentials_secret_open(s, e)) == NULL)
			return -1;
		return smtp_password_check(plain, p->smtp_region, p->smtp_password) ? 1 : 0;
	}
	return 0; /* no proof at all proves nothing */
}

int
credentials_lookup(struct store *s, const struct vault *v, const char *key_id,
		   const struct credentials_proof *p, struct credentials_caller *out,
		   struct err *e)
{
	struct access_key key = {0};
	struct credentials_secret secret = {.vault = v};
	int rc;

	memset(out, 0, sizeof(*out));
	if (strlen(key_id) >= sizeof(key.id) ||
	    (p->smtp_password != NULL && strlen(p->smtp_password) > SMTP_PASSWORD_MAX_INPUT))
		return 0;
	if ((rc = s->ops->key_get(s, key_id, &key, e)) <= 0)
		return rc;
	secret.sealed = key.sealed;
	secret.sealed_len = key.sealed_len;
	sha256(key.sealed, key.sealed_len, secret.fingerprint);
	rc = proven(p, &secret, e);
	if (secret.plain != NULL) {
		OPENSSL_cleanse(secret.plain, secret.plain_len);
		free(secret.plain);
	}
	snprintf(out->key_id, sizeof(out->key_id), "%s", key.id);
	if (rc != 1) {
		access_key_clear(&key);
		return rc;
	}
	snprintf(out->account_id, sizeof(out->account_id), "%s", key.account_id);
	snprintf(out->user, sizeof(out->user), "%s", key.user);
	snprintf(out->service, sizeof(out->service), "%s", key.service);
	out->kind = key.user[0]      ? CREDENTIALS_USER
		    : key.service[0] ? CREDENTIALS_SERVICE
				     : CREDENTIALS_ROOT;
	if (credentials_principal(key.account_id, key.user, key.service, out->principal_arn,
				  sizeof(out->principal_arn)) != 0) {
		access_key_clear(&key);
		memset(out, 0, sizeof(*out));
		return err_temp(e, "The principal of key %s does not fit.", key_id);
	}
	access_key_clear(&key);
	return 1;
}

/* test_credentials.c — src/auth/credentials.c: one lookup for both front
 * ends. A key is found, unsealed and proven (SMTP password v4/v2, or a
 * verify callback standing in for SigV4), and the caller comes back with
 * the right account, principal and kind; unknown keys, wrong and overlong
 * passwords, a refusing verifier and a vault that cannot open the secret
 * each give their answer and no caller. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "auth/credentials.h"
#include "auth/smtp_password.h"
#include "auth/vault.h"
#include "store/store.h"
#include "util/xalloc.h"

#define ACCT "111122223333"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define REGION "us-west-2"

struct fx {
	char dir[64], dir2[64];
	struct store *s;
	struct vault *v, *other;
};

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void
mk_key(struct fx *f, const char *id, const char *user, const char *service)
{
	struct access_key k = {.created = 1};
	struct err e;

	snprintf(k.id, sizeof(k.id), "%s", id);
	snprintf(k.account_id, sizeof(k.account_id), ACCT);
	snprintf(k.user, sizeof(k.user), "%s", user);
	snprintf(k.service, sizeof(k.service), "%s", service);
	assert_int_equal(vault_seal(f->v, SECRET, strlen(SECRET), &k.sealed, &k.sealed_len, &e), 0);
	assert_int_equal(f->s->ops->key_create(f->s, &k, &e), 0);
	free(k.sealed);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct account a = {.id = ACCT, .name = "acct", .max_24h = 1, .max_rate = 1, .created = 1};
	struct iam_user u = {.account_id = ACCT, .name = "mailer", .created = 1};
	struct err e;

	snprintf(f->dir, sizeof(f->dir), "/tmp/sesame-cred-XXXXXX");
	snprintf(f->dir2, sizeof(f->dir2), "/tmp/sesame-cred2-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_non_null(mkdtemp(f->dir2));
	assert_non_null(f->s = store_open(NULL, f->dir, &e));
	assert_non_null(f->v = vault_open(f->dir, NULL, &e));
	assert_non_null(f->other = vault_open(f->dir2, NULL, &e));
	assert_int_equal(f->s->ops->account_create(f->s, &a, &e), 0);
	assert_int_equal(f->s->ops->user_create(f->s, &u, &e), 0);
	mk_key(f, "AKIAROOT000000000001", "", "");
	mk_key(f, "AKIAUSER000000000001", "mailer", "");
	mk_key(f, "AKIASERV000000000001", "", "notify.example.internal");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	vault_free(f->v);
	vault_free(f->other);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	nftw(f->dir2, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int
smtp_lookup(struct fx *f, const struct vault *v, const char *key, const char *password,
	    struct credentials_caller *out, struct err *e)
{
	struct credentials_proof p = {.smtp_password = password, .smtp_region = REGION};

	return credentials_lookup(f->s, v, key, &p, out, e);
}

static void
test_smtp_callers(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *key;
		enum credentials_kind kind;
		const char *principal, *user, *service;
	} cases[] = {
		{"AKIAROOT000000000001", CREDENTIALS_ROOT, "arn:aws:iam::" ACCT ":root", "", ""},
		{"AKIAUSER000000000001", CREDENTIALS_USER, "arn:aws:iam::" ACCT ":user/mailer",
		 "mailer", ""},
		{"AKIASERV000000000001", CREDENTIALS_SERVICE, "notify.example.internal", "",
		 "notify.example.internal"},
	};
	char v4[SMTP_PASSWORD_LEN], v2[SMTP_PASSWORD_LEN];
	struct credentials_caller c;
	struct err e = {0};

	smtp_password_v4(SECRET, REGION, v4);
	smtp_password_v2(SECRET, v2);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int ver = 0; ver < 2; ver++) {
			assert_int_equal(smtp_lookup(f, f->v, cases[i].key, ver ? v2 : v4, &c, &e),
			                 1);
			assert_string_equal(c.key_id, cases[i].key);
			assert_string_equal(c.account_id, ACCT);
			assert_int_equal(c.kind, cases[i].kind);
			assert_string_equal(c.principal_arn, cases[i].principal);
			assert_string_equal(c.user, cases[i].user);
			assert_string_equal(c.service, cases[i].service);
		}
	}
}

static void
test_smtp_refusals(void **state)
{
	struct fx *f = *state;
	char v4[SMTP_PASSWORD_LEN], other[SMTP_PASSWORD_LEN], big[SMTP_PASSWORD_MAX_INPUT + 2];
	struct credentials_caller c;
	struct err e = {0};

	smtp_password_v4(SECRET, REGION, v4);
	smtp_password_v4(SECRET, "eu-west-1", other);
	/* a wrong password names the key and nothing else */
	assert_int_equal(smtp_lookup(f, f->v, "AKIAROOT000000000001", other, &c, &e), 0);
	assert_string_equal(c.key_id, "AKIAROOT000000000001");
	assert_string_equal(c.account_id, "");
	assert_string_equal(c.principal_arn, "");
	assert_int_equal(smtp_lookup(f, f->v, "AKIAROOT000000000001", "", &c, &e), 0);
	/* unknown key, overlong key id, overlong password: no key named */
	assert_int_equal(smtp_lookup(f, f->v, "AKIANOPE000000000001", v4, &c, &e), 0);
	assert_string_equal(c.key_id, "");
	assert_int_equal(smtp_lookup(f, f->v, "AKIAROOT000000000001X", v4, &c, &e), 0);
	memset(big, 'B', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(smtp_lookup(f, f->v, "AKIAROOT000000000001", big, &c, &e), 0);
	assert_string_equal(c.key_id, "");
	/* a secret the vault cannot open is a temporary failure, never a caller */
	memset(&e, 0, sizeof(e));
	assert_int_equal(smtp_lookup(f, f->other, "AKIAROOT000000000001", v4, &c, &e), -1);
	assert_true(e.code[0] != '\0');
	assert_string_equal(c.account_id, "");
	/* no proof proves nothing */
	struct credentials_proof none = {0};
	assert_int_equal(credentials_lookup(f->s, f->v, "AKIAROOT000000000001", &none, &c, &e), 0);
}

struct seen {
	int calls;
	bool ok;
	char secret[64];
	uint8_t fingerprint[32];
};

static int
verify(void *arg, struct credentials_secret *secret, struct err *e)
{
	struct seen *s = arg;
	const char *plain = credentials_secret_open(secret, e);

	s->calls++;
	assert_non_null(plain);
	assert_ptr_equal(credentials_secret_open(secret, e), plain); /* unsealed once */
	snprintf(s->secret, sizeof(s->secret), "%s", plain);
	memcpy(s->fingerprint, secret->fingerprint, 32);
	if (s->ok)
		return 0;
	return err_set(e, 403, "SignatureDoesNotMatch", "no");
}

static void
test_verify_callback(void **state)
{
	struct fx *f = *state;
	struct seen s = {.ok = true};
	struct credentials_proof p = {.verify = verify, .verify_arg = &s};
	struct credentials_caller c;
	struct err e = {0};

	assert_int_equal(credentials_lookup(f->s, f->v, "AKIAUSER000000000001", &p, &c, &e), 1);
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.secret, SECRET); /* the unsealed secret, for the call */
	assert_string_equal(c.principal_arn, "arn:aws:iam::" ACCT ":user/mailer");
	/* the fingerprint is the sealed secret's: the same for the same key,
	 * another for another key with the same secret (sealed afresh) */
	uint8_t fp[32];
	memcpy(fp, s.fingerprint, 32);
	assert_int_equal(credentials_lookup(f->s, f->v, "AKIAUSER000000000001", &p, &c, &e), 1);
	assert_memory_equal(s.fingerprint, fp, 32);
	assert_int_equal(credentials_lookup(f->s, f->v, "AKIAROOT000000000001", &p, &c, &e), 1);
	assert_memory_not_equal(s.fingerprint, fp, 32);

	s = (struct seen){.ok = false};
	assert_int_equal(credentials_lookup(f->s, f->v, "AKIAUSER000000000001", &p, &c, &e), -1);
	assert_string_equal(e.code, "SignatureDoesNotMatch");
	assert_string_equal(c.account_id, "");

	/* an unknown key never reaches the verifier */
	s = (struct seen){.ok = true};
	assert_int_equal(credentials_lookup(f->s, f->v, "AKIANOPE000000000001", &p, &c, &e), 0);
	assert_int_equal(s.calls, 0);
	/* a deleted key stops at once */
	assert_int_equal(f->s->ops->key_delete(f->s, "AKIAUSER000000000001", &e), 1);
	assert_int_equal(credentials_lookup(f->s, f->v, "AKIAUSER000000000001", &p, &c, &e), 0);
	assert_int_equal(s.calls, 0);
}

static void
test_principal(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(credentials_principal(ACCT, NULL, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "arn:aws:iam::" ACCT ":root");
	assert_int_equal(credentials_principal(ACCT, "", "", out, sizeof(out)), 0);
	assert_string_equal(out, "arn:aws:iam::" ACCT ":root");
	assert_int_equal(credentials_principal(ACCT, "bob", NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "arn:aws:iam::" ACCT ":user/bob");
	assert_int_equal(credentials_principal(ACCT, NULL, "a.example", out, sizeof(out)), 0);
	assert_string_equal(out, "a.example");
	assert_int_equal(credentials_principal(ACCT, "bob", NULL, out, 20), -1);
	assert_int_equal(credentials_principal(ACCT, NULL, "a.example", out, 5), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_smtp_callers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smtp_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_callback, setup, teardown),
		cmocka_unit_test(test_principal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

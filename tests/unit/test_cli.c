/* test_cli.c — src/cli/cli.c driven the way main.c drives it: argv through
 * conf_parse_args, then cli_main, with stdout/stderr captured. Checks every
 * command's JSON shape, the exit statuses (1 bad input, 2 usage), that a
 * failure prints one `sesame: ` line and nothing on stdout, and that the
 * store holds what the output claims (sealed secret, normalised identity). */
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/smtp_password.h"
#include "auth/vault.h"
#include "cli/cli.h"
#include "conf/conf.h"
#include "store/store.h"
#include "util/xalloc.h"

/* TESTABLE internals of cli.c */
bool cli_account_name_ok(const char *s);
bool cli_user_name_ok(const char *s);
bool cli_service_name_ok(const char *s);
int cli_parse_max24h(const char *s, int64_t *out);
int cli_parse_rate(const char *s, double *out);
char *cli_identity_normalise(const char *s, enum identity_type *type_out);

#define POLICY_OK                                                                            \
	"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"        \
	"\"ses:SendRawEmail\",\"Resource\":\"*\"}]}"

static char *dir; /* the test's data dir */

struct run {
	int rc;
	char out[16384];
	char err[4096];
	json_t *j; /* parsed stdout, or NULL */
};

static void
slurp(int fd, char *buf, size_t cap)
{
	ssize_t n;
	size_t len = 0;

	lseek(fd, 0, SEEK_SET);
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

/* Run `sesame ARGS… --data DIR` (NULL-terminated list). */
static void
run(struct run *r, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	struct conf c;
	char cerr[256];
	char outp[] = "/tmp/sesame-cli-out-XXXXXX", errp[] = "/tmp/sesame-cli-err-XXXXXX";
	int ofd = mkstemp(outp), efd = mkstemp(errp), so, se, n;

	assert_true(ofd >= 0 && efd >= 0);
	argv[argc++] = "sesame";
	va_start(ap, r);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < 28;)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc++] = "--data";
	argv[argc++] = dir;
	argv[argc] = NULL;
	n = conf_parse_args(&c, argc, argv, cerr, sizeof(cerr));
	assert_true(n >= 2);

	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(ofd, 1);
	dup2(efd, 2);
	r->rc = cli_main(&c, n - 1, argv + 1);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(ofd, r->out, sizeof(r->out));
	slurp(efd, r->err, sizeof(r->err));
	close(ofd);
	close(efd);
	unlink(outp);
	unlink(errp);
	r->j = r->out[0] ? json_loads(r->out, 0, NULL) : NULL;
}

static void
done(struct run *r)
{
	json_decref(r->j);
	r->j = NULL;
}

/* Success: exit 0, one JSON object with a trailing newline, nothing on stderr. */
static void
ok(struct run *r)
{
	if (r->rc != 0)
		fprintf(stderr, "unexpected failure: %s", r->err);
	assert_int_equal(r->rc, 0);
	assert_non_null(r->j);
	assert_true(json_is_object(r->j));
	assert_int_equal(r->out[strlen(r->out) - 1], '\n');
	assert_string_equal(r->err, "");
}

/* Failure: the exit status, one `sesame: ` line containing `msg`, no stdout. */
static void
bad(struct run *r, int rc, const char *msg)
{
	if (r->rc != rc || strstr(r->err, msg) == NULL)
		fprintf(stderr, "rc %d, stderr: %s", r->rc, r->err);
	assert_int_equal(r->rc, rc);
	assert_string_equal(r->out, "");
	assert_int_equal(strncmp(r->err, "sesame: ", 8), 0);
	assert_non_null(strchr(r->err, '\n'));
	assert_int_equal(strchr(r->err, '\n')[1], '\0');
	assert_non_null(strstr(r->err, msg));
}

static const char *
jget(const struct run *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r->j, key));
	assert_non_null(s);
	return s;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int
setup(void **state)
{
	(void)state;
	dir = xstrdup("/tmp/sesame-cli-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	return 0;
}

static char *
write_tmp(const char *name, const char *content, size_t n)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, n, f), n);
	fclose(f);
	return p;
}

static int
count_accounts(void)
{
	struct run r;
	run(&r, "account", "list", NULL);
	ok(&r);
	int n = (int)json_array_size(json_object_get(r.j, "Accounts"));
	done(&r);
	return n;
}

/* Create an account and return its id (static buffer). */
static const char *
new_account(const char *name)
{
	static char id[13];
	struct run r;
	run(&r, "account", "create", "--name", name, NULL);
	ok(&r);
	snprintf(id, sizeof(id), "%s", jget(&r, "AccountId"));
	done(&r);
	return id;
}

/* ---- validators ---------------------------------------------------------- */

static void
test_validators(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool account, user, service;
	} names[] = {
		{"a", true, true, false},
		{"Team.mail_1-x", true, true, false},
		{"a+b=c,d@e", false, true, false},
		{"", false, false, false},
		{"a b", false, false, false},
		{"x/y", false, false, false},
		{"notify.example.internal", true, true, true},
		{"a.b", true, true, true},
		{"nodot", true, true, false},
		{"Upper.case", true, true, false},
		{".lead.dot", true, true, false},
		{"trail.dot.", true, true, false},
		{"a..b", true, true, false},
		{"under_score.x", true, true, false},
		{"1234567890123456789012345678901234567890123456789012345678901234", true, true, false},
		{"12345678901234567890123456789012345678901234567890123456789012345", false, false,
		 false},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(cli_account_name_ok(names[i].s), names[i].account);
		assert_int_equal(cli_user_name_ok(names[i].s), names[i].user);
		assert_int_equal(cli_service_name_ok(names[i].s), names[i].service);
	}

	static const struct {
		const char *s;
		int rc;
		int64_t v;
	} m24[] = {
		{"0", 0, 0}, {"-1", 0, -1}, {"50000", 0, 50000}, {"-2", -1, 0}, {"1.5", -1, 0},
		{"", -1, 0}, {"abc", -1, 0}, {"12abc", -1, 0}, {" 5", -1, 0}, {"+5", -1, 0},
		{"99999999999999999999", -1, 0},
	};
	for (size_t i = 0; i < sizeof(m24) / sizeof(m24[0]); i++) {
		int64_t v = 12345;
		assert_int_equal(cli_parse_max24h(m24[i].s, &v), m24[i].rc);
		if (m24[i].rc == 0)
			assert_int_equal(v, m24[i].v);
	}

	static const struct {
		const char *s;
		int rc;
		double v;
	} rates[] = {
		{"14", 0, 14}, {"0.5", 0, 0.5}, {"1.", 0, 1}, {".25", 0, 0.25}, {"0", -1, 0},
		{"0.0", -1, 0}, {"-1", -1, 0}, {"inf", -1, 0}, {"nan", -1, 0}, {"1e3", -1, 0},
		{"0x10", -1, 0}, {"1.2.3", -1, 0}, {".", -1, 0}, {"", -1, 0}, {"2000000", -1, 0},
	};
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		double v = -5;
		assert_int_equal(cli_parse_rate(rates[i].s, &v), rates[i].rc);
		if (rates[i].rc == 0)
			assert_true(v == rates[i].v);
	}

	static const struct {
		const char *in, *out;
		enum identity_type type;
	} ids[] = {
		{"User@Example.COM", "User@example.com", IDENTITY_EMAIL},
		{"Example.COM", "example.com", IDENTITY_DOMAIN},
		{"a@b@C.org", "a@b@c.org", IDENTITY_EMAIL},
		{"", NULL, 0},
		{"a b.com", NULL, 0},
		{"@x.com", NULL, 0},
		{"x@", NULL, 0},
		{"tab\t.com", NULL, 0},
		{"caf\xc3\xa9.com", NULL, 0},
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		enum identity_type t = 99;
		char *n = cli_identity_normalise(ids[i].in, &t);
		if (ids[i].out == NULL) {
			assert_null(n);
			continue;
		}
		assert_non_null(n);
		assert_string_equal(n, ids[i].out);
		assert_int_equal(t, ids[i].type);
		free(n);
	}
	/* 320 bytes ok, 321 refused */
	char big[330];
	enum identity_type t;
	memset(big, 'a', sizeof(big));
	big[320] = '\0';
	char *n = cli_identity_normalise(big, &t);
	assert_non_null(n);
	free(n);
	big[320] = 'a';
	big[321] = '\0';
	assert_null(cli_identity_normalise(big, &t));
}

/* ---- account ---------------------------------------------------------------- */

static void
test_account_create(void **state)
{
	(void)state;
	struct run r;
	static const struct {
		const char *args[8];
		json_int_t max24;
		double rate;
		bool sandbox;
	} cases[] = {
		{{"--name", "plain"}, 50000, 14, false},
		{{"--name=sbx", "--sandbox"}, 200, 1, true},
		{{"--name", "sbx2", "--sandbox", "--max-rate", "5"}, 200, 5, true},
		{{"--name", "big", "--max-24h=-1", "--max-rate=0.5"}, -1, 0.5, false},
		{{"--max-24h", "1000", "--name", "order"}, 1000, 14, false},
	};
	char seen[8][13];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;
		run(&r, "account", "create", a[0], a[1], a[2], a[3], a[4], a[5], NULL);
		ok(&r);
		const char *id = jget(&r, "AccountId");
		assert_int_equal(strlen(id), 12);
		assert_true(id[0] >= '1' && id[0] <= '9');
		for (int k = 1; k < 12; k++)
			assert_true(id[k] >= '0' && id[k] <= '9');
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(seen[k], id);
		snprintf(seen[i], 13, "%s", id);
		assert_int_equal(json_integer_value(json_object_get(r.j, "Max24HourSend")),
				 cases[i].max24);
		assert_true(json_number_value(json_object_get(r.j, "MaxSendRate")) == cases[i].rate);
		assert_int_equal(json_is_true(json_object_get(r.j, "Sandbox")), cases[i].sandbox);
		assert_int_equal(json_object_size(r.j), 5);
		done(&r);
	}
	/* integral rates print as integers, as in the documented example */
	run(&r, "account", "create", "--name", "int", NULL);
	ok(&r);
	assert_non_null(strstr(r.out, "\"MaxSendRate\": 14,"));
	done(&r);

	run(&r, "account", "list", NULL);
	ok(&r);
	json_t *arr = json_object_get(r.j, "Accounts");
	assert_int_equal(json_array_size(arr), 6);
	/* ordered by creation time, then id: same-second accounts in any order */
	json_t *first = NULL;
	for (size_t i = 0; i < json_array_size(arr); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(arr, i), "Name")),
			   "plain") == 0)
			first = json_array_get(arr, i);
	assert_non_null(first);
	assert_string_equal(json_string_value(json_object_get(first, "AccountId")), seen[0]);
	assert_int_equal(json_integer_value(json_object_get(first, "Max24HourSend")), 50000);
	assert_true(json_is_true(json_object_get(first, "SendingEnabled")));
	assert_int_equal(json_object_size(first), 6);
	done(&r);
}

static void
test_account_bad_input(void **state)
{
	(void)state;
	struct run r;
	static const struct {
		const char *args[6];
		int rc;
		const char *msg;
	} cases[] = {
		{{"account", "create", "--name", "a b"}, 1, "invalid account name"},
		{{"account", "create", "--name", ""}, 1, "invalid account name"},
		{{"account", "create", "--name",
		  "12345678901234567890123456789012345678901234567890123456789012345"},
		 1, "invalid account name"},
		{{"account", "create", "--name", "x", "--max-24h", "-2"}, 1, "--max-24h"},
		{{"account", "create", "--name", "x", "--max-rate", "0"}, 1, "--max-rate"},
		{{"account", "create", "--name", "x", "--max-rate", "nan"}, 1, "--max-rate"},
		{{"account", "create"}, 2, "missing --name"},
		{{"account", "create", "--name"}, 2, "--name needs a value"},
		{{"account", "create", "--name", "x", "--bogus", "1"}, 2, "unknown flag '--bogus'"},
		{{"account", "create", "--name", "x", "--sandbox=yes"}, 2, "takes no value"},
		{{"account", "create", "--name", "x", "--name", "y"}, 2, "given twice"},
		{{"account", "create", "--name", "x", "extra"}, 2, "unexpected argument"},
		{{"account", "frob"}, 2, "unknown verb 'frob'"},
		{{"account"}, 2, "missing verb"},
		{{"frob", "list"}, 2, "unknown command 'frob'"},
		{{"account", "delete", "--account", "123456789012"}, 1, "does not exist"},
		{{"account", "delete", "--account", "12"}, 1, "invalid account id"},
		{{"account", "delete"}, 2, "missing --account"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;
		run(&r, a[0], a[1], a[2], a[3], a[4], a[5], NULL);
		bad(&r, cases[i].rc, cases[i].msg);
		done(&r);
	}
	assert_int_equal(count_accounts(), 0);

	/* duplicate name */
	new_account("dup");
	run(&r, "account", "create", "--name", "dup", NULL);
	bad(&r, 1, "already exists");
	done(&r);
	assert_int_equal(count_accounts(), 1);
}

static void
test_account_delete(void **state)
{
	(void)state;
	struct run r;
	char id[13];

	snprintf(id, sizeof(id), "%s", new_account("gone"));
	new_account("stays");
	run(&r, "account", "delete", "--account", id, NULL);
	ok(&r);
	assert_string_equal(jget(&r, "Deleted"), id);
	done(&r);
	assert_int_equal(count_accounts(), 1);
	run(&r, "account", "delete", "--account", id, NULL);
	bad(&r, 1, "does not exist");
	done(&r);
}

/* ---- user ---------------------------------------------------------------- */

static void
test_users(void **state)
{
	(void)state;
	struct run r;
	char id[13], *arn, *pol, *badpol, *arr;

	snprintf(id, sizeof(id), "%s", new_account("acct"));
	pol = write_tmp("p.json", POLICY_OK, strlen(POLICY_OK));
	badpol = write_tmp("bad.json", "{\"Version\": ", 12);
	arr = write_tmp("arr.json", "[1,2]", 5);

	run(&r, "user", "create", "--account", id, "--name", "alice@example", "--policy", pol,
	    NULL);
	ok(&r);
	arn = xasprintf("arn:aws:iam::%s:user/alice@example", id);
	assert_string_equal(jget(&r, "Arn"), arn);
	assert_string_equal(jget(&r, "AccountId"), id);
	assert_string_equal(jget(&r, "UserName"), "alice@example");
	assert_true(json_is_true(json_object_get(r.j, "HasPolicy")));
	done(&r);
	run(&r, "user", "create", "--account=" , "x", NULL); /* --account= with empty value */
	bad(&r, 2, "unexpected argument");
	done(&r);
	run(&r, "user", "create", "--account", id, "--name", "bob", NULL);
	ok(&r);
	assert_true(json_is_false(json_object_get(r.j, "HasPolicy")));
	done(&r);

	const struct {
		const char *account, *name, *policy;
		int rc;
		const char *msg;
	} cases[] = {
		{id, "bob", NULL, 1, "already exists"},
		{"999999999999", "carol", NULL, 1, "account 999999999999 does not exist"},
		{"abc", "carol", NULL, 1, "invalid account id"},
		{id, "bad name", NULL, 1, "invalid user name"},
		{id, "carol", badpol, 1, "not valid JSON"},
		{id, "carol", arr, 1, "must be a JSON object"},
		{id, "carol", "/nonexistent/p.json", 1, "--policy /nonexistent/p.json"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].policy != NULL)
			run(&r, "user", "create", "--account", cases[i].account, "--name",
			    cases[i].name, "--policy", cases[i].policy, NULL);
		else
			run(&r, "user", "create", "--account", cases[i].account, "--name",
			    cases[i].name, NULL);
		bad(&r, cases[i].rc, cases[i].msg);
		done(&r);
	}
	run(&r, "user", "create", "--name", "x", NULL);
	bad(&r, 2, "missing --account");
	done(&r);

	/* the 6144-byte cap on the policy file: limit-1, limit ok; limit+1 refused */
	for (int size = 6143; size <= 6145; size++) {
		char *doc = xmalloc((size_t)size + 1), name[16];
		size_t n = strlen(POLICY_OK);
		memcpy(doc, POLICY_OK, n);
		memset(doc + n, ' ', (size_t)size - n);
		char *p = write_tmp("size.json", doc, (size_t)size);
		snprintf(name, sizeof(name), "s%d", size);
		run(&r, "user", "create", "--account", id, "--name", name, "--policy", p, NULL);
		if (size <= 6144)
			ok(&r);
		else
			bad(&r, 1, "larger than 6144 bytes");
		done(&r);
		free(p);
		free(doc);
	}

	run(&r, "user", "list", "--account", id, NULL);
	ok(&r);
	json_t *users = json_object_get(r.j, "Users");
	assert_int_equal(json_array_size(users), 4);
	json_t *u0 = json_array_get(users, 0);
	assert_string_equal(json_string_value(json_object_get(u0, "UserName")), "alice@example");
	assert_string_equal(json_string_value(json_object_get(u0, "Arn")), arn);
	assert_true(json_is_true(json_object_get(u0, "HasPolicy")));
	assert_non_null(json_string_value(json_object_get(u0, "Created")));
	done(&r);
	run(&r, "user", "list", "--account", "999999999999", NULL);
	bad(&r, 1, "does not exist");
	done(&r);

	run(&r, "user", "delete", "--account", id, "--name", "alice@example", NULL);
	ok(&r);
	assert_string_equal(jget(&r, "Deleted"), arn);
	done(&r);
	run(&r, "user", "delete", "--account", id, "--name", "alice@example", NULL);
	bad(&r, 1, "does not exist");
	done(&r);
	free(arn);
	free(pol);
	free(badpol);
	free(arr);
}

/* ---- key ------------------------------------------------------------------ */

static bool
all_in(const char *s, const char *set)
{
	return s[strspn(s, set)] == '\0';
}

static void
test_keys(void **state)
{
	(void)state;
	struct run r;
	char id[13], akid[21], secret[41], *root, *userarn;
	struct err e;

	snprintf(id, sizeof(id), "%s", new_account("acct"));
	run(&r, "user", "create", "--account", id, "--name", "sender", NULL);
	ok(&r);
	done(&r);
	root = xasprintf("arn:aws:iam::%s:root", id);
	userarn = xasprintf("arn:aws:iam::%s:user/sender", id);

	/* global option after the command */
	run(&r, "key", "create", "--account", id, "--regions", "us-east-1,eu-west-1", NULL);
	ok(&r);
	snprintf(akid, sizeof(akid), "%s", jget(&r, "AccessKeyId"));
	snprintf(secret, sizeof(secret), "%s", jget(&r, "SecretAccessKey"));
	assert_int_equal(strlen(akid), 20);
	assert_int_equal(strncmp(akid, "AKIA", 4), 0);
	assert_true(all_in(akid + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"));
	assert_int_equal(strlen(secret), 40);
	assert_true(all_in(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"));
	assert_string_equal(jget(&r, "AccountId"), id);
	assert_string_equal(jget(&r, "Principal"), root);
	assert_string_equal(jget(&r, "SmtpUsername"), akid);
	json_t *pw = json_object_get(r.j, "SmtpPasswords");
	assert_int_equal(json_object_size(pw), 2);
	static const char *regions[] = {"us-east-1", "eu-west-1"};
	for (int i = 0; i < 2; i++) {
		char want[SMTP_PASSWORD_LEN];
		smtp_password_v4(secret, regions[i], want);
		assert_string_equal(json_string_value(json_object_get(pw, regions[i])), want);
	}
	done(&r);

	/* stored sealed: the blob is not the secret and unseals to it */
	struct store *s = store_open(NULL, dir, &e);
	struct vault *v = vault_open(dir, NULL, &e);
	struct access_key k = {0};
	uint8_t *plain;
	size_t plen;
	assert_non_null(s);
	assert_non_null(v);
	assert_int_equal(s->ops->key_get(s, akid, &k, &e), 1);
	assert_true(k.sealed_len > 40);
	assert_null(memmem(k.sealed, k.sealed_len, secret, 40));
	assert_int_equal(vault_unseal(v, k.sealed, k.sealed_len, &plain, &plen, &e), 0);
	assert_int_equal(plen, 40);
	assert_memory_equal(plain, secret, 40);
	free(plain);
	access_key_clear(&k);
	vault_free(v);
	store_close(s);

	/* user and service principals; default regions */
	run(&r, "key", "create", "--account", id, "--user", "sender", NULL);
	ok(&r);
	assert_string_equal(jget(&r, "Principal"), userarn);
	assert_int_equal(json_object_size(json_object_get(r.j, "SmtpPasswords")), 3);
	done(&r);
	run(&r, "key", "create", "--account", id, "--service=notify.example.internal", NULL);
	ok(&r);
	assert_string_equal(jget(&r, "Principal"), "notify.example.internal");
	done(&r);

	const struct {
		const char *args[8];
		int rc;
		const char *msg;
	} cases[] = {
		{{"--account", id, "--user", "ghost"}, 1, "user 'ghost' does not exist"},
		{{"--account", id, "--service", "nodot"}, 1, "invalid service name"},
		{{"--account", id, "--service", "UP.example"}, 1, "invalid service name"},
		{{"--account", id, "--user", "sender", "--service", "a.b"}, 2, "exclude each other"},
		{{"--account", "999999999999"}, 1, "does not exist"},
		{{"--user", "sender"}, 2, "missing --account"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;
		run(&r, "key", "create", a[0], a[1], a[2], a[3], a[4], a[5], NULL);
		bad(&r, cases[i].rc, cases[i].msg);
		done(&r);
	}

	run(&r, "key", "list", NULL);
	ok(&r);
	assert_null(strstr(r.out, secret));
	json_t *keys = json_object_get(r.j, "AccessKeys");
	assert_int_equal(json_array_size(keys), 3);
	json_t *k0 = json_array_get(keys, 0);
	assert_int_equal(json_object_size(k0), 4);
	assert_non_null(json_object_get(k0, "Created"));
	assert_non_null(json_object_get(k0, "AccessKeyId"));
	done(&r);
	run(&r, "key", "list", "--account", id, NULL);
	ok(&r);
	assert_int_equal(json_array_size(json_object_get(r.j, "AccessKeys")), 3);
	done(&r);
	run(&r, "key", "list", "--account", "999999999999", NULL);
	bad(&r, 1, "does not exist");
	done(&r);

	run(&r, "key", "delete", "--key", akid, NULL);
	ok(&r);
	assert_string_equal(jget(&r, "Deleted"), akid);
	done(&r);
	run(&r, "key", "delete", "--key", akid, NULL);
	bad(&r, 1, "does not exist");
	done(&r);
	run(&r, "key", "delete", "--key", "nope", NULL);
	bad(&r, 1, "invalid access key id");
	done(&r);

	/* the master key was created private */
	struct stat st;
	char *mk = xasprintf("%s/master.key", dir);
	assert_int_equal(stat(mk, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(mk);
	free(root);
	free(userarn);
}

/* ---- identity -------------------------------------------------------------- */

static void
test_identities(void **state)
{
	(void)state;
	struct run r;
	char id[13];
	struct err e;

	snprintf(id, sizeof(id), "%s", new_account("owner"));
	static const struct {
		const char *in, *out, *type;
	} good[] = {
		{"Jane@Example.COM", "Jane@example.com", "EmailAddress"},
		{"Example.ORG", "example.org", "Domain"},
	};
	for (size_t i = 0; i < 2; i++) {
		run(&r, "identity", "verify", "--account", id, "--region", "us-west-2", good[i].in,
		    NULL);
		ok(&r);
		assert_string_equal(jget(&r, "Identity"), good[i].out);
		assert_string_equal(jget(&r, "Region"), "us-west-2");
		assert_string_equal(jget(&r, "AccountId"), id);
		assert_string_equal(jget(&r, "VerificationStatus"), "Success");
		done(&r);
	}

	/* the stored row has the documented defaults */
	struct store *s = store_open(NULL, dir, &e);
	struct identity got = {0};
	assert_non_null(s);
	assert_int_equal(s->ops->identity_get(s, "us-west-2", id, "example.org", &got, &e), 1);
	assert_int_equal(got.type, IDENTITY_DOMAIN);
	assert_string_equal(got.status, "Success");
	assert_true(got.dkim_enabled);
	assert_string_equal(got.dkim_status, "NotStarted");
	assert_true(got.forwarding_enabled);
	assert_string_equal(got.mail_from_behavior, "UseDefaultValue");
	identity_clear(&got);
	/* re-verifying an existing identity keeps its policies */
	assert_int_equal(s->ops->policy_put(s, "us-west-2", id, "example.org", "p", "{}", 20, &e),
			 0);
	run(&r, "--data", dir, "identity", "verify", "--account", id, "--region", "us-west-2",
	    "example.org", NULL);
	ok(&r);
	done(&r);
	struct identity_policy pol[2];
	assert_int_equal(s->ops->policy_list(s, "us-west-2", id, "example.org", pol, 2, &e), 1);
	identity_policy_clear(&pol[0]);
	store_close(s);

	const struct {
		const char *args[8];
		int rc;
		const char *msg;
	} cases[] = {
		{{"--account", id, "--region", "ap-south-9", "x.com"}, 1, "region 'ap-south-9'"},
		{{"--account", id, "--region", "us-east-1", "a b.com"}, 1, "invalid identity"},
		{{"--account", id, "--region", "us-east-1", "@x.com"}, 1, "invalid identity"},
		{{"--account", id, "--region", "us-east-1", ""}, 1, "invalid identity"},
		{{"--account", "999999999999", "--region", "us-east-1", "x.com"}, 1, "does not exist"},
		{{"--account", id, "--region", "us-east-1"}, 2, "missing argument"},
		{{"--account", id, "--region", "us-east-1", "a.com", "b.com"}, 2, "unexpected argument"},
		{{"--account", id, "x.com"}, 2, "missing --region"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;
		run(&r, "identity", "verify", a[0], a[1], a[2], a[3], a[4], a[5], NULL);
		bad(&r, cases[i].rc, cases[i].msg);
		done(&r);
	}

	run(&r, "identity", "list", "--account", id, "--region", "us-west-2", NULL);
	ok(&r);
	json_t *ids = json_object_get(r.j, "Identities");
	assert_int_equal(json_array_size(ids), 2);
	json_t *i0 = json_array_get(ids, 0), *i1 = json_array_get(ids, 1);
	assert_string_equal(json_string_value(json_object_get(i0, "Identity")), "Jane@example.com");
	assert_string_equal(json_string_value(json_object_get(i0, "Type")), "EmailAddress");
	assert_string_equal(json_string_value(json_object_get(i0, "VerificationStatus")), "Success");
	assert_string_equal(json_string_value(json_object_get(i1, "Type")), "Domain");
	done(&r);
	run(&r, "identity", "list", "--account", id, "--region", "us-east-1", NULL);
	ok(&r);
	assert_int_equal(json_array_size(json_object_get(r.j, "Identities")), 0);
	done(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validators),
		cmocka_unit_test_setup_teardown(test_account_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identities, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

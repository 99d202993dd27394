/* test_store.c — src/store/store.c and its backends: opening by URL,
 * migrations, every op of the vtable, cascades, the policy cap, the
 * generation counter, and visibility across handles. The vtable suite runs
 * once per backend URL (store_urls[], SESAME_TEST_STORE_URLS). */
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "util/xalloc.h"

#define A1 "111122223333"
#define A2 "444455556666"
#define REG "us-east-1"

/*
 * The backend-neutral suite runs once per store URL: the built-in list
 * below, then each URL of SESAME_TEST_STORE_URLS (comma-separated), so a
 * new backend only adds a URL. In a URL, "{dir}" stands for a fresh
 * temporary directory made for each test; a URL without it names a shared
 * store, emptied before each test by deleting every account (which takes
 * its users, keys, identities and policies with it).
 * The SQLite-only tests (URL parsing, pragmas, the schema version) run once.
 */
static const char *const store_urls[] = {
	"sqlite:{dir}/sesame.db",
	NULL,
};

static const char *cur_url; /* the template of the group that runs */

struct fx {
	char *dir;
	char *url; /* cur_url with {dir} expanded */
	struct store *s;
};

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static char *
expand_url(const char *tmpl, const char *dir)
{
	const char *at = strstr(tmpl, "{dir}");

	if (at == NULL)
		return xstrdup(tmpl);
	return xasprintf("%.*s%s%s", (int)(at - tmpl), tmpl, dir, at + 5);
}

static int
collect_account(void *arg, const struct account *a)
{
	char (*ids)[13] = arg;
	for (int i = 0; i < 64; i++)
		if (ids[i][0] == '\0') {
			snprintf(ids[i], 13, "%s", a->id);
			return 0;
		}
	return 1;
}

/* A shared store: start the test from no accounts. */
static void
empty_store(struct store *s)
{
	char ids[64][13];
	struct err e;

	do {
		memset(ids, 0, sizeof(ids));
		assert_int_equal(s->ops->account_list(s, collect_account, ids, &e), 0);
		for (int i = 0; i < 64 && ids[i][0]; i++)
			assert_int_equal(s->ops->account_delete(s, ids[i], &e), 1);
	} while (ids[0][0] != '\0');
}

/* Another handle on the test's store (as another thread or process would). */
static struct store *
reopen(const struct fx *f)
{
	struct err e;
	struct store *s = store_open(f->url, NULL, &e);
	if (s == NULL)
		print_error("store_open(%s): %s\n", f->url, e.message);
	return s;
}

/* A fresh temporary directory and a store opened on `tmpl` ({dir}
 * expanded), or on the directory itself as `serve --data` opens it. */
static struct fx *
fx_new(const char *tmpl)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct err e;

	f->dir = xstrdup("/tmp/sesame-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->url = expand_url(tmpl != NULL ? tmpl : "sqlite:{dir}/sesame.db", f->dir);
	f->s = store_open(tmpl != NULL ? f->url : NULL, f->dir, &e);
	if (f->s == NULL)
		print_error("store_open: %s\n", e.message);
	assert_non_null(f->s);
	return f;
}

static int
setup(void **state)
{
	struct fx *f = fx_new(cur_url);

	if (strstr(cur_url, "{dir}") == NULL)
		empty_store(f->s);
	*state = f;
	return 0;
}

/* For the SQLite-only tests: the data-dir store. */
static int
setup_data_dir(void **state)
{
	*state = fx_new(NULL);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->s);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->dir);
	free(f->url);
	free(f);
	return 0;
}

static int64_t
gen(struct store *s)
{
	int64_t g = -1;
	struct err e;
	assert_int_equal(s->ops->generation(s, &g, &e), 0);
	return g;
}

static void
mk_account(struct store *s, const char *id, const char *name)
{
	struct account a = {
	    .max_24h = 50000, .max_rate = 14, .sending_enabled = true, .created = 100};
	struct err e;
	snprintf(a.id, sizeof(a.id), "%s", id);
	snprintf(a.name, sizeof(a.name), "%s", name);
	assert_int_equal(s->ops->account_create(s, &a, &e), 0);
}

static void
mk_identity(struct store *s, const char *account, const char *name)
{
	struct identity id = {0};
	struct err e;
	snprintf(id.region, sizeof(id.region), REG);
	snprintf(id.account_id, sizeof(id.account_id), "%s", account);
	id.name = (char *)name;
	id.type = strchr(name, '@') ? IDENTITY_EMAIL : IDENTITY_DOMAIN;
	snprintf(id.status, sizeof(id.status), STATUS_SUCCESS);
	snprintf(id.dkim_status, sizeof(id.dkim_status), STATUS_NOT_STARTED);
	snprintf(id.mail_from_behavior, sizeof(id.mail_from_behavior), "UseDefaultValue");
	assert_int_equal(s->ops->identity_put(s, &id, &e), 0);
}

static int
count_cb_acc(void *arg, const struct account *a)
{
	(void)a;
	(*(int *)arg)++;
	return 0;
}

/* ---- opening ------------------------------------------------------------ */

static void
test_open_urls(void **state)
{
	struct fx *f = *state;
	struct err e;
	struct store *s;
	char *p, *url;
	struct stat st;

	/* the data dir store made sesame.db; nested missing dirs are created 0700 */
	p = xasprintf("%s/sesame.db", f->dir);
	assert_int_equal(stat(p, &st), 0);
	free(p);
	p = xasprintf("%s/x/y", f->dir);
	s = store_open("", p, &e);
	assert_non_null(s);
	store_close(s);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(p);

	url = xasprintf("sqlite:%s/other.db", f->dir);
	s = store_open(url, "/nonexistent-unused", &e);
	assert_non_null(s);
	mk_account(s, A1, "via-url");
	store_close(s);
	free(url);
	url = xasprintf("sqlite://%s/other.db", f->dir);
	s = store_open(url, NULL, &e);
	assert_non_null(s);
	struct account a;
	assert_int_equal(s->ops->account_get(s, A1, &a, &e), 1);
	assert_string_equal(a.name, "via-url");
	store_close(s);
	free(url);

	static const struct {
		const char *url;
		const char *msg;
	} bad[] = {
	    {"postgresql://u:hunter2@127.0.0.1:1/sesame", "cannot connect to PostgreSQL"},
	    {"postgres://127.0.0.1:1/sesame?connect_timeout=2", "cannot connect to PostgreSQL"},
	    {"mysql://db", "unsupported store URL scheme 'mysql'"},
	    {"sqlite:", "needs a path"},
	    {"sqlite:/nonexistent-dir/deeper/x.db", "cannot open"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		assert_null(store_open(bad[i].url, f->dir, &e));
		assert_non_null(strstr(e.message, bad[i].msg));
		assert_null(strstr(e.message, "hunter2"));
	}
	assert_null(store_open(NULL, "", &e));
	store_close(NULL);
}

/* Opening an existing store again applies nothing twice and loses nothing. */
static void
test_migrations_idempotent(void **state)
{
	struct fx *f = *state;
	struct err e;
	int n = 0;

	mk_account(f->s, A1, "keep");
	for (int i = 0; i < 3; i++) {
		struct store *s = reopen(f);
		assert_non_null(s);
		n = 0;
		assert_int_equal(s->ops->account_list(s, count_cb_acc, &n, &e), 0);
		assert_int_equal(n, 1);
		store_close(s);
	}
}

/* SQLite: the schema version, WAL, the tables, and a newer schema refused. */
static void
test_sqlite_schema(void **state)
{
	struct fx *f = *state;
	struct err e;
	char *path = xasprintf("%s/sesame.db", f->dir);
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_int(st, 0) >= 1);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	/* the sending tables exist */
	static const char *tables[] = {"messages", "send_counts", "generation",
	                               "identity_policies"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(
		    sqlite3_prepare_v2(db,
		                       "SELECT count(*) FROM sqlite_schema WHERE type = "
		                       "'table' AND name = ?1",
		                       -1, &st, NULL),
		    SQLITE_OK);
		sqlite3_bind_text(st, 1, tables[i], -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 1);
		sqlite3_finalize(st);
	}
	/* a schema from the future is refused, not clobbered */
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_open(NULL, f->dir, &e));
	assert_non_null(strstr(e.message, "newer than this build"));
	free(path);
}

/* SQLite, migration 5: a row written before the Ed25519 column existed reads
 * NotStarted once the store is opened by this build (and, migration 14,
 * its DKIM origin AWS_SES). */
static void
test_sqlite_migration_ed25519(void **state)
{
	struct fx *f = *state;
	struct err e;
	char *path = xasprintf("%s/sesame.db", f->dir);
	struct identity id = {0}, got = {0};
	sqlite3 *db;

	mk_account(f->s, A1, "one");
	snprintf(id.region, sizeof(id.region), REG);
	snprintf(id.account_id, sizeof(id.account_id), A1);
	id.name = "old.example";
	id.type = IDENTITY_DOMAIN;
	snprintf(id.status, sizeof(id.status), STATUS_SUCCESS);
	snprintf(id.dkim_status, sizeof(id.dkim_status), STATUS_SUCCESS);
	snprintf(id.dkim_ed25519_status, sizeof(id.dkim_ed25519_status), STATUS_SUCCESS);
	assert_int_equal(f->s->ops->identity_put(f->s, &id, &e), 0);
	store_close(f->s);
	f->s = NULL;
	/* back to schema 4 (the later migrations undone too) */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP TABLE send_counts_15m;"
				      "DROP TABLE suppressed;"
				      "DROP TABLE notify_settings;"
				      "DROP TABLE templates;"
				      "DROP TABLE sns_keys;"
				      "DROP TABLE sns_outbox;"
				      "DROP TABLE sns_subscriptions;"
				      "DROP TABLE sns_topics;"
				      "DROP TABLE config_set_destinations;"
				      "DROP TABLE config_sets;"
				      "ALTER TABLE messages DROP COLUMN config_set;"
				      "ALTER TABLE messages DROP COLUMN tags;"
				      "ALTER TABLE accounts DROP COLUMN paused_reason;"
				      "ALTER TABLE accounts DROP COLUMN resumed_at;"
				      "ALTER TABLE accounts DROP COLUMN suppressed_reasons;"
				      "ALTER TABLE identities DROP COLUMN config_set;"
				      "ALTER TABLE identities DROP COLUMN dkim_origin;"
				      "ALTER TABLE identities DROP COLUMN dkim_ed25519_status;"
				      "PRAGMA user_version = 4;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	f->s = store_open(NULL, f->dir, &e);
	assert_non_null(f->s);
	assert_int_equal(f->s->ops->identity_get(f->s, REG, A1, "old.example", &got, &e), 1);
	assert_string_equal(got.dkim_ed25519_status, STATUS_NOT_STARTED);
	assert_string_equal(got.dkim_status, STATUS_SUCCESS);
	assert_false(got.dkim_external); /* migration 14: Easy DKIM (AWS_SES) */
	identity_clear(&got);
	free(path);
}

/* ---- accounts ----------------------------------------------------------- */

struct acc_list {
	int n;
	char ids[8][13];
};

static int
acc_cb(void *arg, const struct account *a)
{
	struct acc_list *l = arg;
	if (l->n < 8)
		snprintf(l->ids[l->n], 13, "%s", a->id);
	l->n++;
	return 0;
}

static void
test_accounts(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	struct account a = {.max_24h = -1, .max_rate = 0.5, .sandbox = true, .created = 50};
	struct account got;
	struct acc_list l = {0};

	snprintf(a.id, sizeof(a.id), A2);
	snprintf(a.name, sizeof(a.name), "o'brien\"; DROP TABLE accounts; --");
	assert_int_equal(s->ops->account_create(s, &a, &e), 0);
	mk_account(s, A1, "second");

	assert_int_equal(s->ops->account_get(s, A2, &got, &e), 1);
	assert_string_equal(got.id, A2);
	assert_string_equal(got.name, a.name);
	assert_int_equal(got.max_24h, -1);
	assert_true(got.max_rate == 0.5);
	assert_true(got.sandbox);
	assert_false(got.sending_enabled);
	assert_int_equal(got.created, 50);
	assert_int_equal(s->ops->account_get(s, "999999999999", &got, &e), 0);
	assert_int_equal(s->ops->account_get(s, "' OR 1=1 --", &got, &e), 0);

	/* duplicate id, duplicate name */
	struct account dup = a;
	snprintf(dup.name, sizeof(dup.name), "fresh");
	assert_int_equal(s->ops->account_create(s, &dup, &e), -1);
	assert_string_equal(e.code, STORE_ERR_EXISTS);
	assert_false(e.temporary);
	assert_non_null(strstr(e.message, "account " A2));
	dup = a;
	snprintf(dup.id, sizeof(dup.id), "777777777777");
	assert_int_equal(s->ops->account_create(s, &dup, &e), -1);
	assert_string_equal(e.code, STORE_ERR_EXISTS);
	assert_non_null(strstr(e.message, "account name"));

	/* ordered by created then id: A2 (50) before A1 (100) */
	assert_int_equal(s->ops->account_list(s, acc_cb, &l, &e), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ids[0], A2);
	assert_string_equal(l.ids[1], A1);

	assert_int_equal(s->ops->account_set_sending(s, A2, true, &e), 1);
	assert_int_equal(s->ops->account_get(s, A2, &got, &e), 1);
	assert_true(got.sending_enabled);
	assert_int_equal(s->ops->account_set_sending(s, "000000000000", true, &e), 0);

	assert_int_equal(s->ops->account_delete(s, A2, &e), 1);
	assert_int_equal(s->ops->account_delete(s, A2, &e), 0);
	assert_int_equal(s->ops->account_get(s, A2, &got, &e), 0);
	assert_int_equal(s->ops->account_get(s, A1, &got, &e), 1);
}

/* ---- users and keys ----------------------------------------------------- */

struct name_list {
	int n;
	char names[8][65];
};

static int
user_cb(void *arg, const struct iam_user *u)
{
	struct name_list *l = arg;
	if (l->n < 8)
		snprintf(l->names[l->n], 65, "%s", u->name);
	l->n++;
	return 0;
}

static int
key_cb(void *arg, const struct access_key *k)
{
	struct name_list *l = arg;
	if (l->n < 8)
		snprintf(l->names[l->n], 65, "%s", k->id);
	l->n++;
	return 0;
}

static void
mk_key(struct store *s, const char *id, const char *account, const char *user, const char *svc,
       int64_t created)
{
	struct access_key k = {.created = created};
	struct err e;
	uint8_t sealed[5] = {1, 0, 2, 0, 3};
	snprintf(k.id, sizeof(k.id), "%s", id);
	snprintf(k.account_id, sizeof(k.account_id), "%s", account);
	snprintf(k.user, sizeof(k.user), "%s", user);
	snprintf(k.service, sizeof(k.service), "%s", svc);
	k.sealed = sealed;
	k.sealed_len = sizeof(sealed);
	assert_int_equal(s->ops->key_create(s, &k, &e), 0);
}

static void
test_users_and_keys(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	struct iam_user u = {.created = 7}, got = {0};
	struct access_key k = {0};
	struct name_list l = {0};

	mk_account(s, A1, "one");
	mk_account(s, A2, "two");
	snprintf(u.account_id, sizeof(u.account_id), A1);
	snprintf(u.name, sizeof(u.name), "zed");
	u.policy = "{\"Version\":\"2012-10-17\"}";
	assert_int_equal(s->ops->user_create(s, &u, &e), 0);
	u.policy = NULL;
	snprintf(u.name, sizeof(u.name), "amy");
	assert_int_equal(s->ops->user_create(s, &u, &e), 0);
	assert_int_equal(s->ops->user_create(s, &u, &e), -1);
	assert_string_equal(e.code, STORE_ERR_EXISTS);
	snprintf(u.account_id, sizeof(u.account_id), "999999999999");
	assert_int_equal(s->ops->user_create(s, &u, &e), -1);
	assert_string_equal(e.code, STORE_ERR_NO_PARENT);

	assert_int_equal(s->ops->user_get(s, A1, "zed", &got, &e), 1);
	assert_string_equal(got.policy, "{\"Version\":\"2012-10-17\"}");
	assert_int_equal(got.created, 7);
	iam_user_clear(&got);
	assert_null(got.policy);
	assert_int_equal(s->ops->user_get(s, A1, "amy", &got, &e), 1);
	assert_null(got.policy);
	iam_user_clear(&got);
	assert_int_equal(s->ops->user_get(s, A2, "amy", &got, &e), 0);
	assert_int_equal(s->ops->user_list(s, A1, user_cb, &l, &e), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.names[0], "amy");
	assert_string_equal(l.names[1], "zed");

	mk_key(s, "AKIAROOT000000000001", A1, "", "", 30);
	mk_key(s, "AKIAUSER000000000002", A1, "zed", "", 10);
	mk_key(s, "AKIASERV000000000003", A1, "", "notify.example.internal", 20);
	mk_key(s, "AKIAOTHER00000000004", A2, "", "", 5);

	assert_int_equal(s->ops->key_get(s, "AKIAUSER000000000002", &k, &e), 1);
	assert_string_equal(k.account_id, A1);
	assert_string_equal(k.user, "zed");
	assert_string_equal(k.service, "");
	assert_int_equal(k.sealed_len, 5);
	assert_memory_equal(k.sealed, "\1\0\2\0\3", 5);
	access_key_clear(&k);
	assert_int_equal(s->ops->key_get(s, "AKIASERV000000000003", &k, &e), 1);
	assert_string_equal(k.service, "notify.example.internal");
	assert_string_equal(k.user, "");
	access_key_clear(&k);
	assert_int_equal(s->ops->key_get(s, "AKIANOPE000000000000", &k, &e), 0);

	/* duplicate id; a user that does not exist; no secret */
	struct access_key bad = {0};
	uint8_t one = 1;
	bad.sealed = &one;
	bad.sealed_len = 1;
	snprintf(bad.id, sizeof(bad.id), "AKIAROOT000000000001");
	snprintf(bad.account_id, sizeof(bad.account_id), A1);
	assert_int_equal(s->ops->key_create(s, &bad, &e), -1);
	assert_string_equal(e.code, STORE_ERR_EXISTS);
	snprintf(bad.id, sizeof(bad.id), "AKIANEW0000000000005");
	snprintf(bad.user, sizeof(bad.user), "ghost");
	assert_int_equal(s->ops->key_create(s, &bad, &e), -1);
	assert_string_equal(e.code, STORE_ERR_NO_PARENT);
	bad.user[0] = '\0';
	bad.sealed = NULL;
	assert_int_equal(s->ops->key_create(s, &bad, &e), -1);

	/* by account ordered by created; all */
	memset(&l, 0, sizeof(l));
	assert_int_equal(s->ops->key_list(s, A1, key_cb, &l, &e), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.names[0], "AKIAUSER000000000002");
	assert_string_equal(l.names[1], "AKIASERV000000000003");
	assert_string_equal(l.names[2], "AKIAROOT000000000001");
	memset(&l, 0, sizeof(l));
	assert_int_equal(s->ops->key_list(s, NULL, key_cb, &l, &e), 0);
	assert_int_equal(l.n, 4);

	/* deleting a user deletes its keys */
	assert_int_equal(s->ops->user_delete(s, A1, "zed", &e), 1);
	assert_int_equal(s->ops->user_delete(s, A1, "zed", &e), 0);
	assert_int_equal(s->ops->key_get(s, "AKIAUSER000000000002", &k, &e), 0);
	assert_int_equal(s->ops->key_get(s, "AKIAROOT000000000001", &k, &e), 1);
	access_key_clear(&k);

	assert_int_equal(s->ops->key_delete(s, "AKIAROOT000000000001", &e), 1);
	assert_int_equal(s->ops->key_delete(s, "AKIAROOT000000000001", &e), 0);

	/* deleting an account deletes its users and keys, not others' */
	assert_int_equal(s->ops->account_delete(s, A1, &e), 1);
	assert_int_equal(s->ops->user_get(s, A1, "amy", &got, &e), 0);
	assert_int_equal(s->ops->key_get(s, "AKIASERV000000000003", &k, &e), 0);
	assert_int_equal(s->ops->key_get(s, "AKIAOTHER00000000004", &k, &e), 1);
	access_key_clear(&k);
}

/* ---- identities --------------------------------------------------------- */

static void
test_identity_round_trip(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	uint8_t keys[4] = {9, 8, 0, 7};
	struct identity id = {
		.type = IDENTITY_DOMAIN,
		.token = "tok-123",
		.token_expires = 1700000000,
		.created = 1600000000,
		.dkim_enabled = true,
		.dkim_tokens = {"sel1", "sel2", "sel3"},
		.dkim_keys_sealed = keys,
		.dkim_keys_sealed_len = sizeof(keys),
		.mail_from_domain = "bounce.example.com",
		.bounce_topic = "arn:aws:sns:us-east-1:111122223333:b",
		.complaint_topic = NULL,
		.delivery_topic = "arn:aws:sns:us-east-1:111122223333:d",
		.forwarding_enabled = false,
		.headers_in_bounce = true,
		.headers_in_complaint = false,
		.headers_in_delivery = true,
		.next_check = 1650000000,
		.check_attempts = 4,
	};
	struct identity got = {0};

	mk_account(s, A1, "one");
	snprintf(id.region, sizeof(id.region), REG);
	snprintf(id.account_id, sizeof(id.account_id), A1);
	id.name = "example.com";
	snprintf(id.status, sizeof(id.status), STATUS_PENDING);
	snprintf(id.dkim_status, sizeof(id.dkim_status), STATUS_SUCCESS);
	snprintf(id.dkim_ed25519_status, sizeof(id.dkim_ed25519_status), STATUS_FAILED);
	snprintf(id.mail_from_status, sizeof(id.mail_from_status), STATUS_PENDING);
	snprintf(id.mail_from_behavior, sizeof(id.mail_from_behavior), "RejectMessage");
	assert_int_equal(s->ops->identity_put(s, &id, &e), 0);

	assert_int_equal(s->ops->identity_get(s, REG, A1, "example.com", &got, &e), 1);
	assert_string_equal(got.region, REG);
	assert_string_equal(got.account_id, A1);
	assert_string_equal(got.name, "example.com");
	assert_int_equal(got.type, IDENTITY_DOMAIN);
	assert_string_equal(got.status, STATUS_PENDING);
	assert_string_equal(got.token, "tok-123");
	assert_int_equal(got.token_expires, 1700000000);
	assert_int_equal(got.created, 1600000000);
	assert_true(got.dkim_enabled);
	assert_string_equal(got.dkim_status, STATUS_SUCCESS);
	assert_string_equal(got.dkim_tokens[0], "sel1");
	assert_string_equal(got.dkim_tokens[1], "sel2");
	assert_string_equal(got.dkim_tokens[2], "sel3");
	assert_string_equal(got.dkim_ed25519_status, STATUS_FAILED);
	assert_int_equal(got.dkim_keys_sealed_len, 4);
	assert_memory_equal(got.dkim_keys_sealed, keys, 4);
	assert_string_equal(got.mail_from_domain, "bounce.example.com");
	assert_string_equal(got.mail_from_status, STATUS_PENDING);
	assert_string_equal(got.mail_from_behavior, "RejectMessage");
	assert_string_equal(got.bounce_topic, "arn:aws:sns:us-east-1:111122223333:b");
	assert_null(got.complaint_topic);
	assert_string_equal(got.delivery_topic, "arn:aws:sns:us-east-1:111122223333:d");
	assert_false(got.forwarding_enabled);
	assert_true(got.headers_in_bounce);
	assert_false(got.headers_in_complaint);
	assert_true(got.headers_in_delivery);
	assert_int_equal(got.next_check, 1650000000);
	assert_int_equal(got.check_attempts, 4);
	assert_false(got.dkim_external);
	identity_clear(&got);

	/* by token; absent token; other region/account */
	assert_int_equal(s->ops->identity_get_by_token(s, "tok-123", &got, &e), 1);
	assert_string_equal(got.name, "example.com");
	identity_clear(&got);
	assert_int_equal(s->ops->identity_get_by_token(s, "nope", &got, &e), 0);
	assert_int_equal(s->ops->identity_get_by_token(s, "", &got, &e), 0);
	assert_int_equal(s->ops->identity_get(s, "eu-west-1", A1, "example.com", &got, &e), 0);
	assert_int_equal(s->ops->identity_get(s, REG, A2, "example.com", &got, &e), 0);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "EXAMPLE.COM", &got, &e), 0);

	/* upsert changes fields but keeps `created` */
	id.created = 5;
	snprintf(id.status, sizeof(id.status), STATUS_SUCCESS);
	id.token = NULL;
	id.dkim_tokens[2] = NULL;
	id.dkim_keys_sealed = NULL;
	id.dkim_keys_sealed_len = 0;
	id.dkim_ed25519_status[0] = '\0'; /* never set: stored as NotStarted */
	id.dkim_external = true;
	assert_int_equal(s->ops->identity_put(s, &id, &e), 0);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "example.com", &got, &e), 1);
	assert_string_equal(got.status, STATUS_SUCCESS);
	assert_string_equal(got.dkim_ed25519_status, STATUS_NOT_STARTED);
	assert_null(got.token);
	assert_null(got.dkim_tokens[2]);
	assert_null(got.dkim_keys_sealed);
	assert_true(got.dkim_external);
	assert_int_equal(got.created, 1600000000);
	identity_clear(&got);

	/* an identity needs its account */
	snprintf(id.account_id, sizeof(id.account_id), "999999999999");
	assert_int_equal(s->ops->identity_put(s, &id, &e), -1);
	assert_string_equal(e.code, STORE_ERR_NO_PARENT);
	id.name = "";
	assert_int_equal(s->ops->identity_put(s, &id, &e), -1);
}

struct id_list {
	int n, stop_at;
	char names[16][64];
	struct store *s;
};

static int
id_cb(void *arg, const struct identity *id)
{
	struct id_list *l = arg;
	if (l->n < 16)
		snprintf(l->names[l->n], 64, "%s", id->name);
	l->n++;
	return l->stop_at > 0 && l->n >= l->stop_at;
}

static void
test_identity_list_due_delete(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	struct id_list l = {0};
	static const char *names[] = {"b.example", "a@x.example", "c.example", "z@x.example",
				      "a.example"};

	mk_account(s, A1, "one");
	mk_account(s, A2, "two");
	for (size_t i = 0; i < 5; i++)
		mk_identity(s, A1, names[i]);
	mk_identity(s, A2, "other.example");

	assert_int_equal(s->ops->identity_list(s, REG, A1, -1, NULL, 0, id_cb, &l, &e), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.names[0], "a.example");
	assert_string_equal(l.names[1], "a@x.example");
	assert_string_equal(l.names[4], "z@x.example");

	memset(&l, 0, sizeof(l));
	assert_int_equal(s->ops->identity_list(s, REG, A1, IDENTITY_EMAIL, NULL, 0, id_cb, &l, &e),
			 0);
	assert_int_equal(l.n, 2);
	memset(&l, 0, sizeof(l));
	assert_int_equal(
		s->ops->identity_list(s, REG, A1, IDENTITY_DOMAIN, NULL, 0, id_cb, &l, &e), 0);
	assert_int_equal(l.n, 3);

	/* paging: 2 per page after the last name seen */
	memset(&l, 0, sizeof(l));
	assert_int_equal(s->ops->identity_list(s, REG, A1, -1, NULL, 2, id_cb, &l, &e), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(
		s->ops->identity_list(s, REG, A1, -1, "a@x.example", 2, id_cb, &l, &e), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.names[2], "b.example");
	assert_string_equal(l.names[3], "c.example");

	/* callback stops early */
	memset(&l, 0, sizeof(l));
	l.stop_at = 1;
	assert_int_equal(s->ops->identity_list(s, REG, A1, -1, NULL, 0, id_cb, &l, &e), 0);
	assert_int_equal(l.n, 1);

	/* due */
	struct identity id = {0};
	assert_int_equal(s->ops->identity_get(s, REG, A1, "b.example", &id, &e), 1);
	id.next_check = 1000;
	assert_int_equal(s->ops->identity_put(s, &id, &e), 0);
	identity_clear(&id);
	memset(&l, 0, sizeof(l));
	assert_int_equal(s->ops->identity_due(s, 999, id_cb, &l, &e), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(s->ops->identity_due(s, 1000, id_cb, &l, &e), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.names[0], "b.example");

	/* delete: 1 then 0; others stay */
	assert_int_equal(s->ops->identity_delete(s, REG, A1, "b.example", &e), 1);
	assert_int_equal(s->ops->identity_delete(s, REG, A1, "b.example", &e), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(s->ops->identity_list(s, REG, A1, -1, NULL, 0, id_cb, &l, &e), 0);
	assert_int_equal(l.n, 4);
}

/* A callback may use the same handle (store.h): re-schedule every due one. */
static int
due_reschedule_cb(void *arg, const struct identity *id)
{
	struct id_list *l = arg;
	struct identity copy = *id;
	struct err e;
	copy.next_check = 0;
	copy.check_attempts = id->check_attempts + 1;
	assert_int_equal(l->s->ops->identity_put(l->s, &copy, &e), 0);
	l->n++;
	return 0;
}

static void
test_callback_reenters_handle(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	struct id_list l = {.s = s};
	struct identity id = {0};

	mk_account(s, A1, "one");
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof(name), "d%d.example", i);
		mk_identity(s, A1, name);
		assert_int_equal(s->ops->identity_get(s, REG, A1, name, &id, &e), 1);
		id.next_check = 10 + i;
		assert_int_equal(s->ops->identity_put(s, &id, &e), 0);
		identity_clear(&id);
	}
	assert_int_equal(s->ops->identity_due(s, 100, due_reschedule_cb, &l, &e), 0);
	assert_int_equal(l.n, 3);
	l.n = 0;
	assert_int_equal(s->ops->identity_due(s, 100, due_reschedule_cb, &l, &e), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "d1.example", &id, &e), 1);
	assert_int_equal(id.check_attempts, 1);
	identity_clear(&id);
}

/* ---- targeted identity writes --------------------------------------------- */

/* An address identity with a pending link `token` expiring at `expires`. */
static void
mk_link(struct store *s, const char *name, const char *token, int64_t expires)
{
	struct identity id = {0};
	struct err e;
	snprintf(id.region, sizeof(id.region), REG);
	snprintf(id.account_id, sizeof(id.account_id), A1);
	id.name = (char *)name;
	id.type = strchr(name, '@') ? IDENTITY_EMAIL : IDENTITY_DOMAIN;
	snprintf(id.status, sizeof(id.status), STATUS_PENDING);
	id.token = (char *)token;
	id.token_expires = expires;
	id.next_check = expires;
	id.check_attempts = 3;
	id.dkim_enabled = true;
	snprintf(id.dkim_status, sizeof(id.dkim_status), STATUS_NOT_STARTED);
	snprintf(id.mail_from_behavior, sizeof(id.mail_from_behavior), "UseDefaultValue");
	assert_int_equal(s->ops->identity_put(s, &id, &e), 0);
}

static void
test_identity_verify_token(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	struct identity got = {0};
	struct identity_policy pol[2];
	struct id_list l = {0};
	int64_t g;

	mk_account(s, A1, "one");
	mk_link(s, "a@x.example", "tok-a", 2000);
	assert_int_equal(s->ops->policy_put(s, REG, A1, "a@x.example", "p", "{}", 20, &e), 0);

	/* within its time: Success, nothing pending so no next check; one write */
	g = gen(s);
	assert_int_equal(s->ops->identity_verify_token(s, "tok-a", 1000, 9000, &got, &e),
			 STORE_LINK_VERIFIED);
	assert_string_equal(got.name, "a@x.example");
	assert_string_equal(got.status, STATUS_SUCCESS);
	assert_string_equal(got.token, "tok-a"); /* kept: a second click says "used" */
	assert_int_equal(got.token_expires, 2000);
	assert_int_equal(got.next_check, 0);
	assert_int_equal(got.check_attempts, 3);
	identity_clear(&got);
	assert_true(gen(s) > g);
	/* the second click is "used", writes nothing; the policy is still there */
	g = gen(s);
	assert_int_equal(s->ops->identity_verify_token(s, "tok-a", 1001, 9001, &got, &e),
			 STORE_LINK_USED);
	assert_string_equal(got.status, STATUS_SUCCESS);
	identity_clear(&got);
	assert_int_equal(gen(s), g);
	assert_int_equal(s->ops->policy_list(s, REG, A1, "a@x.example", pol, 2, &e), 1);
	identity_policy_clear(&pol[0]);

	/* unknown and empty tokens: zeroed out, no write */
	assert_int_equal(s->ops->identity_verify_token(s, "nope", 1000, 9000, &got, &e),
			 STORE_LINK_UNKNOWN);
	assert_null(got.name);
	assert_int_equal(s->ops->identity_verify_token(s, "", 1000, 9000, &got, &e),
			 STORE_LINK_UNKNOWN);
	assert_int_equal(gen(s), g);

	/* at its expiry: Failed (written once), then "expired" again */
	mk_link(s, "b@x.example", "tok-b", 1000);
	g = gen(s);
	assert_int_equal(s->ops->identity_verify_token(s, "tok-b", 1000, 9000, &got, &e),
			 STORE_LINK_EXPIRED);
	assert_string_equal(got.status, STATUS_FAILED);
	assert_int_equal(got.next_check, 0);
	identity_clear(&got);
	assert_true(gen(s) > g);
	g = gen(s);
	assert_int_equal(s->ops->identity_verify_token(s, "tok-b", 999, 9000, &got, &e),
			 STORE_LINK_EXPIRED); /* Failed stays Failed, even with an earlier clock */
	identity_clear(&got);
	assert_int_equal(gen(s), g);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "b@x.example", &got, &e), 1);
	assert_string_equal(got.status, STATUS_FAILED);
	identity_clear(&got);

	/* DeleteIdentity, then the link: unknown, and the identity is not re-created */
	mk_link(s, "c@x.example", "tok-c", 2000);
	assert_int_equal(s->ops->identity_delete(s, REG, A1, "c@x.example", &e), 1);
	assert_int_equal(s->ops->identity_verify_token(s, "tok-c", 1000, 9000, &got, &e),
			 STORE_LINK_UNKNOWN);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "c@x.example", &got, &e), 0);
	assert_int_equal(s->ops->identity_list(s, REG, A1, -1, NULL, 0, id_cb, &l, &e), 0);
	assert_int_equal(l.n, 2);

	/* a domain's token is never a link */
	mk_link(s, "x.example", "tok-d", 2000);
	assert_int_equal(s->ops->identity_verify_token(s, "tok-d", 1000, 9000, &got, &e),
			 STORE_LINK_UNKNOWN);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &got, &e), 1);
	assert_string_equal(got.status, STATUS_PENDING);
	identity_clear(&got);

	/* a pending MAIL FROM: its window opens with the address */
	mk_link(s, "m@x.example", "tok-m", 2000);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "m@x.example", &got, &e), 1);
	got.mail_from_domain = xstrdup("bounce.x.example");
	snprintf(got.mail_from_status, sizeof(got.mail_from_status), STATUS_PENDING);
	assert_int_equal(s->ops->identity_put(s, &got, &e), 0);
	identity_clear(&got);
	assert_int_equal(s->ops->identity_verify_token(s, "tok-m", 1500, 9500, &got, &e),
			 STORE_LINK_VERIFIED);
	assert_int_equal(got.token_expires, 9500);
	assert_int_equal(got.next_check, 1500);
	assert_int_equal(got.check_attempts, 0);
	assert_string_equal(got.mail_from_status, STATUS_PENDING);
	identity_clear(&got);
	/* ... and an expired one fails its MAIL FROM with it */
	mk_link(s, "n@x.example", "tok-n", 1000);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "n@x.example", &got, &e), 1);
	got.mail_from_domain = xstrdup("bounce.x.example");
	snprintf(got.mail_from_status, sizeof(got.mail_from_status), STATUS_PENDING);
	assert_int_equal(s->ops->identity_put(s, &got, &e), 0);
	identity_clear(&got);
	assert_int_equal(s->ops->identity_verify_token(s, "tok-n", 1500, 9500, &got, &e),
			 STORE_LINK_EXPIRED);
	assert_string_equal(got.mail_from_status, STATUS_FAILED);
	identity_clear(&got);
}

/* Two handles click the same link at once: exactly one wins. */
struct click {
	const char *url;
	int result;
};

static void *
click_thread(void *arg)
{
	struct click *c = arg;
	struct identity got = {0};
	struct err e;
	struct store *s = store_open(c->url, NULL, &e);

	c->result = s != NULL ? s->ops->identity_verify_token(s, "tok-race", 1000, 9000, &got, &e)
			      : -2;
	identity_clear(&got);
	store_close(s);
	return NULL;
}

static void
test_identity_verify_token_race(void **state)
{
	struct fx *f = *state;
	struct click c[8];
	pthread_t tid[8];
	int ok = 0, used = 0;

	mk_account(f->s, A1, "one");
	mk_link(f->s, "race@x.example", "tok-race", 2000);
	for (int i = 0; i < 8; i++) {
		c[i] = (struct click){.url = f->url};
		assert_int_equal(pthread_create(&tid[i], NULL, click_thread, &c[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		ok += c[i].result == STORE_LINK_VERIFIED;
		used += c[i].result == STORE_LINK_USED;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(used, 7);
}

static void
test_identity_set_next_check(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	struct identity got = {0};
	int64_t g;

	mk_account(s, A1, "one");
	mk_link(s, "x.example", "tok", 5000);
	g = gen(s);
	assert_int_equal(s->ops->identity_set_next_check(s, REG, A1, "x.example", 42, &e), 1);
	assert_true(gen(s) > g);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &got, &e), 1);
	assert_int_equal(got.next_check, 42);
	assert_string_equal(got.status, STATUS_PENDING); /* nothing else moved */
	assert_string_equal(got.token, "tok");
	assert_int_equal(got.token_expires, 5000);
	assert_int_equal(got.check_attempts, 3);
	identity_clear(&got);
	/* the same value again: no change, no generation bump */
	g = gen(s);
	assert_int_equal(s->ops->identity_set_next_check(s, REG, A1, "x.example", 42, &e), 0);
	assert_int_equal(gen(s), g);
	/* absent (e.g. deleted meanwhile): nothing is created */
	assert_int_equal(s->ops->identity_delete(s, REG, A1, "x.example", &e), 1);
	g = gen(s);
	assert_int_equal(s->ops->identity_set_next_check(s, REG, A1, "x.example", 43, &e), 0);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &got, &e), 0);
	assert_int_equal(gen(s), g);
}

static void
test_identity_cas_checks(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	struct identity seen = {0}, next, got = {0}, other = {0};
	int64_t g;

	mk_account(s, A1, "one");
	mk_link(s, "x.example", "tok-1", 5000);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &seen, &e), 1);
	next = seen; /* shares seen's strings; only seen is cleared */
	snprintf(next.status, sizeof(next.status), STATUS_SUCCESS);
	next.next_check = 0;
	next.check_attempts = 4;

	/* a new token meanwhile (VerifyDomainIdentity after a Failed, say):
	 * refused, the new token and everything else stay */
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &other, &e), 1);
	free(other.token);
	other.token = xstrdup("tok-2");
	assert_int_equal(s->ops->identity_put(s, &other, &e), 0);
	g = gen(s);
	assert_int_equal(s->ops->identity_cas_checks(s, &seen, &next, &e), 0);
	assert_int_equal(gen(s), g);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &got, &e), 1);
	assert_string_equal(got.token, "tok-2");
	assert_string_equal(got.status, STATUS_PENDING);
	identity_clear(&got);

	/* a status change meanwhile is refused as well */
	snprintf(other.mail_from_status, sizeof(other.mail_from_status), STATUS_PENDING);
	other.mail_from_domain = xstrdup("mf.x.example");
	assert_int_equal(s->ops->identity_put(s, &other, &e), 0);
	identity_clear(&seen);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &seen, &e), 1);
	snprintf(other.mail_from_status, sizeof(other.mail_from_status), STATUS_FAILED);
	assert_int_equal(s->ops->identity_put(s, &other, &e), 0);
	next = seen;
	snprintf(next.status, sizeof(next.status), STATUS_SUCCESS);
	assert_int_equal(s->ops->identity_cas_checks(s, &seen, &next, &e), 0);

	/* read again: accepted, only the check columns change — a write to
	 * another column in between (SetIdentityDkimEnabled) is kept */
	identity_clear(&seen);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &seen, &e), 1);
	other.dkim_enabled = false;
	other.headers_in_bounce = true;
	assert_int_equal(s->ops->identity_put(s, &other, &e), 0);
	next = seen;
	snprintf(next.status, sizeof(next.status), STATUS_SUCCESS);
	snprintf(next.mail_from_status, sizeof(next.mail_from_status), STATUS_SUCCESS);
	snprintf(next.dkim_ed25519_status, sizeof(next.dkim_ed25519_status), STATUS_FAILED);
	next.token_expires = 7000;
	next.next_check = 0;
	next.check_attempts = 9;
	g = gen(s);
	assert_int_equal(s->ops->identity_cas_checks(s, &seen, &next, &e), 1);
	assert_true(gen(s) > g);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &got, &e), 1);
	assert_string_equal(got.status, STATUS_SUCCESS);
	assert_string_equal(got.mail_from_status, STATUS_SUCCESS);
	assert_string_equal(got.dkim_ed25519_status, STATUS_FAILED);
	assert_int_equal(got.token_expires, 7000);
	assert_int_equal(got.next_check, 0);
	assert_int_equal(got.check_attempts, 9);
	assert_false(got.dkim_enabled);
	assert_true(got.headers_in_bounce);
	identity_clear(&got);
	/* the same CAS again: the row moved on, refused */
	assert_int_equal(s->ops->identity_cas_checks(s, &seen, &next, &e), 0);

	/* BYODKIM: a key replaced under the same selector meanwhile is refused */
	identity_clear(&seen);
	free(other.dkim_tokens[0]);
	other.dkim_tokens[0] = xstrdup("sel");
	other.dkim_external = true;
	other.dkim_keys_sealed = xmalloc(3);
	memcpy(other.dkim_keys_sealed, "old", 3);
	other.dkim_keys_sealed_len = 3;
	assert_int_equal(s->ops->identity_put(s, &other, &e), 0);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &seen, &e), 1);
	assert_true(seen.dkim_external);
	memcpy(other.dkim_keys_sealed, "new", 3);
	assert_int_equal(s->ops->identity_put(s, &other, &e), 0);
	next = seen;
	snprintf(next.dkim_status, sizeof(next.dkim_status), STATUS_SUCCESS);
	assert_int_equal(s->ops->identity_cas_checks(s, &seen, &next, &e), 0);
	identity_clear(&seen);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &seen, &e), 1);
	next = seen;
	snprintf(next.dkim_status, sizeof(next.dkim_status), STATUS_SUCCESS);
	assert_int_equal(s->ops->identity_cas_checks(s, &seen, &next, &e), 1);

	/* deleted meanwhile: refused and not re-created */
	identity_clear(&seen);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &seen, &e), 1);
	assert_int_equal(s->ops->identity_delete(s, REG, A1, "x.example", &e), 1);
	next = seen;
	next.next_check = 1;
	assert_int_equal(s->ops->identity_cas_checks(s, &seen, &next, &e), 0);
	assert_int_equal(s->ops->identity_get(s, REG, A1, "x.example", &got, &e), 0);

	/* seen and next must be the same identity (next.name was seen's) */
	next.name = xstrdup("y.example");
	assert_int_equal(s->ops->identity_cas_checks(s, &seen, &next, &e), -1);
	free(next.name);
	identity_clear(&seen);
	identity_clear(&other);
}

/* ---- policies ----------------------------------------------------------- */

static void
test_policies_cap_and_cascade(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	struct identity_policy out[32];
	char name[16], doc[64];
	int n;

	mk_account(s, A1, "one");
	mk_identity(s, A1, "example.com");

	/* a policy needs its identity */
	assert_int_equal(s->ops->policy_put(s, REG, A1, "absent.com", "p", "{}", 20, &e), -1);
	assert_string_equal(e.code, STORE_ERR_NO_PARENT);

	/* limit-1, limit accepted; limit+1 refused with SES's words */
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "p%02d", i);
		snprintf(doc, sizeof(doc), "{\"n\":%d}", i);
		assert_int_equal(s->ops->policy_put(s, REG, A1, "example.com", name, doc, 20, &e),
		                 0);
	}
	assert_int_equal(s->ops->policy_put(s, REG, A1, "example.com", "p20", "{}", 20, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	assert_int_equal(e.http, 400);
	assert_false(e.temporary);
	assert_string_equal(e.message, "Number of policies for example.com exceeds max allowed "
				       "number of policies per resource");
	/* upserting an existing name at the cap is fine */
	assert_int_equal(
		s->ops->policy_put(s, REG, A1, "example.com", "p05", "{\"new\":1}", 20, &e), 0);
	/* max 0 = no cap */
	assert_int_equal(s->ops->policy_put(s, REG, A1, "example.com", "p20", "{}", 0, &e), 0);

	n = s->ops->policy_list(s, REG, A1, "example.com", out, 32, &e);
	assert_int_equal(n, 21);
	assert_string_equal(out[0].name, "p00");
	assert_string_equal(out[5].name, "p05");
	assert_string_equal(out[5].document, "{\"new\":1}");
	assert_string_equal(out[20].name, "p20");
	for (int i = 0; i < n; i++)
		identity_policy_clear(&out[i]);
	n = s->ops->policy_list(s, REG, A1, "example.com", out, 3, &e);
	assert_int_equal(n, 3);
	assert_string_equal(out[2].name, "p02");
	for (int i = 0; i < n; i++)
		identity_policy_clear(&out[i]);
	assert_int_equal(s->ops->policy_list(s, REG, A1, "other.com", out, 32, &e), 0);
	assert_int_equal(s->ops->policy_list(s, "eu-west-1", A1, "example.com", out, 32, &e), 0);

	assert_int_equal(s->ops->policy_delete(s, REG, A1, "example.com", "p20", &e), 1);
	assert_int_equal(s->ops->policy_delete(s, REG, A1, "example.com", "p20", &e), 0);

	/* re-putting the identity keeps its policies; deleting it drops them */
	mk_identity(s, A1, "example.com");
	assert_int_equal(s->ops->policy_list(s, REG, A1, "example.com", out, 32, &e), 20);
	for (int i = 0; i < 20; i++)
		identity_policy_clear(&out[i]);
	assert_int_equal(s->ops->identity_delete(s, REG, A1, "example.com", &e), 1);
	mk_identity(s, A1, "example.com");
	assert_int_equal(s->ops->policy_list(s, REG, A1, "example.com", out, 32, &e), 0);

	/* deleting the account drops identities and their policies */
	assert_int_equal(s->ops->policy_put(s, REG, A1, "example.com", "p", "{}", 20, &e), 0);
	assert_int_equal(s->ops->account_delete(s, A1, &e), 1);
	struct identity id;
	assert_int_equal(s->ops->identity_get(s, REG, A1, "example.com", &id, &e), 0);
	mk_account(s, A1, "one");
	mk_identity(s, A1, "example.com");
	assert_int_equal(s->ops->policy_list(s, REG, A1, "example.com", out, 32, &e), 0);
}

/* ---- generation ---------------------------------------------------------- */

/* ---- email templates ---------------------------------------------------- */

static int
tpl_names_cb(void *arg, const struct email_template *t)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%s%s", n ? "," : "", t->name);
	return 0;
}

static int
cset_names_cb(void *arg, const struct config_set *c)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%s%s", n ? "," : "", c->name);
	return 0;
}

static int
dest_names_cb(void *arg, const struct cset_dest *d)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%s%s:%u:%d:%s", n ? "," : "", d->name, d->types, d->enabled,
		 d->topic_arn);
	return 0;
}

static void
test_config_sets(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	struct config_set c = {.sending_enabled = true, .created = 1000}, got;
	struct cset_dest d = {.enabled = true, .types = CSET_EV_SEND | CSET_EV_BOUNCE};
	char names[256];

	mk_account(s, A1, "one");
	mk_account(s, A2, "two");
	snprintf(c.region, sizeof(c.region), REG);
	snprintf(c.account_id, sizeof(c.account_id), A1);
	snprintf(c.name, sizeof(c.name), "set-b");
	assert_int_equal(s->ops->cset_create(s, &c, &e), 0);
	assert_int_equal(s->ops->cset_create(s, &c, &e), -1);
	assert_string_equal(e.code, STORE_ERR_EXISTS);
	snprintf(c.name, sizeof(c.name), "set-a");
	assert_int_equal(s->ops->cset_create(s, &c, &e), 0);
	/* the same name elsewhere is another set */
	snprintf(c.account_id, sizeof(c.account_id), A2);
	assert_int_equal(s->ops->cset_create(s, &c, &e), 0);
	snprintf(c.account_id, sizeof(c.account_id), "999999999999");
	assert_int_equal(s->ops->cset_create(s, &c, &e), -1);
	assert_string_equal(e.code, STORE_ERR_NO_PARENT);

	assert_int_equal(s->ops->cset_get(s, REG, A1, "set-b", &got, &e), 1);
	assert_true(got.sending_enabled);
	assert_false(got.reputation_enabled);
	assert_int_equal(got.created, 1000);
	assert_int_equal(s->ops->cset_get(s, "eu-west-1", A1, "set-b", NULL, &e), 0);
	names[0] = '\0';
	assert_int_equal(s->ops->cset_list(s, REG, A1, NULL, 0, cset_names_cb, names, &e), 0);
	assert_string_equal(names, "set-a,set-b");
	names[0] = '\0';
	assert_int_equal(s->ops->cset_list(s, REG, A1, "set-a", 1, cset_names_cb, names, &e), 0);
	assert_string_equal(names, "set-b");

	assert_int_equal(s->ops->cset_set_flag(s, REG, A1, "set-b", 0, false, &e), 1);
	assert_int_equal(s->ops->cset_set_flag(s, REG, A1, "set-b", 1, true, &e), 1);
	assert_int_equal(s->ops->cset_set_flag(s, REG, A1, "absent", 0, true, &e), 0);
	assert_int_equal(s->ops->cset_get(s, REG, A1, "set-b", &got, &e), 1);
	assert_false(got.sending_enabled);
	assert_true(got.reputation_enabled);

	/* destinations */
	snprintf(d.region, sizeof(d.region), REG);
	snprintf(d.account_id, sizeof(d.account_id), A1);
	snprintf(d.set, sizeof(d.set), "set-b");
	snprintf(d.name, sizeof(d.name), "sns");
	snprintf(d.topic_arn, sizeof(d.topic_arn), "arn:aws:sns:us-east-1:%s:t", A1);
	assert_int_equal(s->ops->cset_dest_put(s, &d, true, &e), 1);
	assert_int_equal(s->ops->cset_dest_put(s, &d, true, &e), -1);
	assert_string_equal(e.code, STORE_ERR_EXISTS);
	snprintf(d.set, sizeof(d.set), "absent");
	assert_int_equal(s->ops->cset_dest_put(s, &d, true, &e), -1);
	assert_string_equal(e.code, STORE_ERR_NO_PARENT);
	assert_int_equal(s->ops->cset_dest_put(s, &d, false, &e), 0);
	snprintf(d.set, sizeof(d.set), "set-b");
	d.enabled = false;
	d.types = CSET_EV_DELIVERY;
	assert_int_equal(s->ops->cset_dest_put(s, &d, false, &e), 1);
	snprintf(d.name, sizeof(d.name), "other");
	assert_int_equal(s->ops->cset_dest_put(s, &d, false, &e), 0);
	names[0] = '\0';
	assert_int_equal(s->ops->cset_dest_list(s, REG, A1, "set-b", dest_names_cb, names, &e), 0);
	assert_string_equal(names, "sns:16:0:arn:aws:sns:us-east-1:111122223333:t");
	assert_int_equal(s->ops->cset_dest_delete(s, REG, A1, "set-b", "other", &e), 0);
	/* deleting the set takes its destinations */
	assert_int_equal(s->ops->cset_delete(s, REG, A1, "set-b", &e), 1);
	assert_int_equal(s->ops->cset_delete(s, REG, A1, "set-b", &e), 0);
	assert_int_equal(s->ops->cset_create(s, &(struct config_set){.region = REG,
				.account_id = A1, .name = "set-b"}, &e), 0);
	names[0] = '\0';
	assert_int_equal(s->ops->cset_dest_list(s, REG, A1, "set-b", dest_names_cb, names, &e), 0);
	assert_string_equal(names, "");
	/* deleting the account takes its sets */
	assert_int_equal(s->ops->account_delete(s, A2, &e), 1);
	assert_int_equal(s->ops->cset_get(s, REG, A2, "set-a", NULL, &e), 0);
}

static void
test_templates(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	struct email_template t = {.created = 1000}, got = {0};
	char names[256];

	mk_account(s, A1, "one");
	mk_account(s, A2, "two");
	snprintf(t.region, sizeof(t.region), REG);
	snprintf(t.account_id, sizeof(t.account_id), A1);
	snprintf(t.name, sizeof(t.name), "welcome");
	t.subject = "Hi {{name}}";
	t.html = "<p>{{name}}</p>";
	assert_int_equal(s->ops->template_put(s, &t, true, &e), 1);
	/* create again: taken */
	assert_int_equal(s->ops->template_put(s, &t, true, &e), -1);
	assert_string_equal(e.code, STORE_ERR_EXISTS);
	assert_int_equal(e.http, 400);
	/* the same name in another account and another region is another template */
	snprintf(t.account_id, sizeof(t.account_id), A2);
	assert_int_equal(s->ops->template_put(s, &t, true, &e), 1);
	snprintf(t.region, sizeof(t.region), "eu-west-1");
	assert_int_equal(s->ops->template_put(s, &t, true, &e), 1);
	/* an absent account */
	snprintf(t.account_id, sizeof(t.account_id), "999999999999");
	assert_int_equal(s->ops->template_put(s, &t, true, &e), -1);
	assert_string_equal(e.code, STORE_ERR_NO_PARENT);

	assert_int_equal(s->ops->template_get(s, REG, A1, "welcome", &got, &e), 1);
	assert_string_equal(got.name, "welcome");
	assert_string_equal(got.account_id, A1);
	assert_string_equal(got.subject, "Hi {{name}}");
	assert_null(got.text);
	assert_string_equal(got.html, "<p>{{name}}</p>");
	assert_int_equal(got.created, 1000);
	email_template_clear(&got);
	assert_int_equal(s->ops->template_get(s, REG, A1, "absent", &got, &e), 0);

	/* update: parts replaced, created kept; an absent one is 0 */
	snprintf(t.region, sizeof(t.region), REG);
	snprintf(t.account_id, sizeof(t.account_id), A1);
	t.subject = "New";
	t.text = "text {{x}}";
	t.html = NULL;
	t.created = 5000;
	assert_int_equal(s->ops->template_put(s, &t, false, &e), 1);
	assert_int_equal(s->ops->template_get(s, REG, A1, "welcome", &got, &e), 1);
	assert_string_equal(got.subject, "New");
	assert_string_equal(got.text, "text {{x}}");
	assert_null(got.html);
	assert_int_equal(got.created, 1000);
	email_template_clear(&got);
	email_template_clear(&got); /* a cleared struct is fine */
	snprintf(t.name, sizeof(t.name), "absent");
	assert_int_equal(s->ops->template_put(s, &t, false, &e), 0);

	/* list: by name, paged */
	const char *more[] = {"c", "a", "b"};
	for (int i = 0; i < 3; i++) {
		snprintf(t.name, sizeof(t.name), "%s", more[i]);
		assert_int_equal(s->ops->template_put(s, &t, true, &e), 1);
	}
	names[0] = '\0';
	assert_int_equal(s->ops->template_list(s, REG, A1, NULL, 0, tpl_names_cb, names, &e), 0);
	assert_string_equal(names, "a,b,c,welcome");
	names[0] = '\0';
	assert_int_equal(s->ops->template_list(s, REG, A1, NULL, 2, tpl_names_cb, names, &e), 0);
	assert_string_equal(names, "a,b");
	names[0] = '\0';
	assert_int_equal(s->ops->template_list(s, REG, A1, "b", 2, tpl_names_cb, names, &e), 0);
	assert_string_equal(names, "c,welcome");
	names[0] = '\0';
	assert_int_equal(s->ops->template_list(s, REG, A2, NULL, 0, tpl_names_cb, names, &e), 0);
	assert_string_equal(names, "welcome");

	/* delete: 1 gone, 0 absent */
	assert_int_equal(s->ops->template_delete(s, REG, A1, "a", &e), 1);
	assert_int_equal(s->ops->template_delete(s, REG, A1, "a", &e), 0);
	assert_int_equal(s->ops->template_get(s, REG, A1, "a", &got, &e), 0);

	/* deleting the account deletes its templates, not the other's */
	assert_int_equal(s->ops->account_delete(s, A1, &e), 1);
	names[0] = '\0';
	assert_int_equal(s->ops->template_list(s, REG, A1, NULL, 0, tpl_names_cb, names, &e), 0);
	assert_string_equal(names, "");
	assert_int_equal(s->ops->template_get(s, REG, A2, "welcome", &got, &e), 1);
	email_template_clear(&got);
}

static void
test_generation(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	struct account a;
	int64_t g = gen(s), g2;

	/* each write moves it; reads and failed writes do not */
	mk_account(s, A1, "one");
	g2 = gen(s);
	assert_true(g2 > g);
	g = g2;
	assert_int_equal(s->ops->account_get(s, A1, &a, &e), 1);
	assert_int_equal(gen(s), g);
	mk_identity(s, A1, "example.com");
	assert_true((g2 = gen(s)) > g);
	g = g2;
	assert_int_equal(s->ops->policy_put(s, REG, A1, "example.com", "p", "{}", 1, &e), 0);
	assert_true((g2 = gen(s)) > g);
	g = g2;
	assert_int_equal(s->ops->policy_put(s, REG, A1, "example.com", "q", "{}", 1, &e), -1);
	assert_int_equal(gen(s), g);
	assert_int_equal(s->ops->policy_put(s, REG, A1, "example.com", "p", "{\"a\":1}", 1, &e), 0);
	assert_true((g2 = gen(s)) > g);
	g = g2;
	assert_int_equal(s->ops->policy_delete(s, REG, A1, "example.com", "p", &e), 1);
	assert_true((g2 = gen(s)) > g);
	g = g2;
	struct iam_user u = {.policy = "{}"};
	snprintf(u.account_id, sizeof(u.account_id), A1);
	snprintf(u.name, sizeof(u.name), "u");
	assert_int_equal(s->ops->user_create(s, &u, &e), 0);
	assert_true((g2 = gen(s)) > g);
	g = g2;
	assert_int_equal(s->ops->user_delete(s, A1, "u", &e), 1);
	assert_true((g2 = gen(s)) > g);
	g = g2;
	assert_int_equal(s->ops->identity_delete(s, REG, A1, "example.com", &e), 1);
	assert_true((g2 = gen(s)) > g);
	g = g2;
	assert_int_equal(s->ops->account_create(s, &a, &e), -1); /* duplicate */
	assert_int_equal(gen(s), g);
}

/* ---- sending statistics (event_record, event_sum, event_buckets) ---------- */

struct bucket_list {
	int n;
	struct send_bucket b[8];
};

static int
bucket_cb(void *arg, const struct send_bucket *b)
{
	struct bucket_list *l = arg;

	if (l->n < 8)
		l->b[l->n++] = *b;
	return 0;
}

/* The window starts at its minute, also inside a quarter hour: the sums
 * read whole quarters (send_counts_15m) and the first quarter's minutes
 * from the window's minute on (send_counts), and agree with a per-minute
 * sum on both sides of every boundary. */
static void
test_send_counts_window(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	const char *acct = "555500000015"; /* this test's own: a shared store keeps others' */
	const int64_t t0 = 1800000000 - 1800000000 % 900; /* a quarter's start */
	const struct {
		int64_t ts;
		const char *kind;
		int64_t n;
	} rec[] = {
		{t0 - 60, "accept", 1},  {t0 + 60, "accept", 2},	  {t0 + 300, "accept", 4},
		{t0 + 330, "accept", 64}, {t0 + 930, "accept", 8},	  {t0 + 2700, "accept", 16},
		{t0 + 300, "bounce", 32}, {t0 + 2710, "complaint", 128},
	};
	const struct {
		int64_t since, accept;
	} sums[] = {
		{t0 - 120, 95}, {t0 - 30, 95}, {t0, 94}, {t0 + 59, 94}, {t0 + 60, 94},
		{t0 + 61, 94},	{t0 + 300, 92}, {t0 + 899, 24}, {t0 + 900, 24}, {t0 + 2700, 16},
		{t0 + 2760, 0},
	};
	struct bucket_list l = {0};
	struct err e;
	int64_t got;

	for (size_t i = 0; i < sizeof(rec) / sizeof(rec[0]); i++)
		assert_int_equal(s->ops->event_record(s, acct, rec[i].ts, rec[i].kind, rec[i].n, &e), 0);
	for (size_t i = 0; i < sizeof(sums) / sizeof(sums[0]); i++) {
		assert_int_equal(s->ops->event_sum(s, acct, "accept", sums[i].since, &got, &e), 0);
		assert_int_equal(got, sums[i].accept);
	}
	assert_int_equal(s->ops->event_sum(s, acct, "bounce", t0 + 300, &got, &e), 0);
	assert_int_equal(got, 32);
	assert_int_equal(s->ops->event_sum(s, acct, "bounce", t0 + 360, &got, &e), 0);
	assert_int_equal(got, 0);
	/* from minute 5 of the first quarter: its minute 1 is out */
	assert_int_equal(s->ops->event_buckets(s, acct, t0 + 300, bucket_cb, &l, &e), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.b[0].start, t0);
	assert_int_equal(l.b[0].attempts, 68);
	assert_int_equal(l.b[0].bounces, 32);
	assert_int_equal(l.b[1].start, t0 + 900);
	assert_int_equal(l.b[1].attempts, 8);
	assert_int_equal(l.b[2].start, t0 + 2700);
	assert_int_equal(l.b[2].attempts, 16);
	assert_int_equal(l.b[2].complaints, 128);
	assert_int_equal(l.b[2].rejects, 0);
}

/* ---- the inbox search (message_search, message_delete_one) ---------------- */

#define T_INBOX "t_inbox" /* a transport of this test's own: a shared store keeps others' */

static void
mk_message(struct store *s, const char *id, const char *acct, const char *from,
	   const char *to, const char *subject, int64_t created_ms, const char *transport)
{
	struct store_message m = {0};
	char *dest[1] = {(char *)to};
	struct err e;

	snprintf(m.id, sizeof(m.id), "%s", id);
	snprintf(m.region, sizeof(m.region), REG);
	snprintf(m.sending_account, sizeof(m.sending_account), "%s", acct);
	snprintf(m.status, sizeof(m.status), STORE_MSG_DELIVERED);
	snprintf(m.transport, sizeof(m.transport), "%s", transport);
	m.source = (char *)from;
	m.from_addr = (char *)from;
	m.subject = (char *)subject;
	m.destinations = dest;
	m.ndestinations = 1;
	m.raw = (uint8_t *)"x";
	m.raw_len = 1;
	m.created_ms = created_ms;
	m.delivered_ms = created_ms;
	assert_int_equal(s->ops->message_insert(s, &m, 1, NULL, 0, &e), 0);
}

struct ids {
	char v[8][80];
	int n;
};

static int
keep_id(void *arg, const struct store_message *m)
{
	struct ids *ids = arg;

	assert_true(ids->n < 8);
	assert_null(m->raw);
	snprintf(ids->v[ids->n++], 80, "%s", m->id);
	return 0;
}

/* The ids message_search returns, comma-separated, oldest first. */
static const char *
search(struct store *s, const char *q, const char *from, const char *to, const char *subject,
       const char *account, int limit)
{
	static char out[512];
	struct store_msg_filter f = {q, from, to, subject, account};
	struct ids ids = {0};
	struct err e;
	size_t k = 0;

	assert_int_equal(s->ops->message_search(s, T_INBOX, &f, limit, keep_id, &ids, &e), 0);
	out[0] = '\0';
	for (int i = 0; i < ids.n; i++)
		k += (size_t)snprintf(out + k, sizeof(out) - k, "%s%s", i ? "," : "", ids.v[i]);
	return out;
}

static void
test_message_search(void **state)
{
	struct fx *f = *state;
	struct store *s = f->s;
	struct err e;
	int64_t n;

	mk_account(s, A1, "one");
	mk_account(s, A2, "two");
	assert_int_equal(s->ops->message_delete(s, T_INBOX, &n, &e), 0);
	mk_message(s, "i1", A1, "news@example.com", "ann@dest.test", "Welcome", 1000, T_INBOX);
	mk_message(s, "i2", A1, "SECURITY@example.com", "bob@dest.test", "Reset 100%_x!", 2000,
		   T_INBOX);
	mk_message(s, "i3", A2, "ops@other.test", "Carol@Dest.test", "welcome back", 3000,
		   T_INBOX);
	mk_message(s, "i4", A1, "news@example.com", "ann@dest.test", "Welcome", 4000, "mx");

	assert_string_equal(search(s, NULL, NULL, NULL, NULL, NULL, 10), "i1,i2,i3");
	assert_string_equal(search(s, "", "", "", "", "", 10), "i1,i2,i3"); /* "" = no filter */
	assert_string_equal(search(s, "WELCOME", NULL, NULL, NULL, NULL, 10), "i1,i3");
	assert_string_equal(search(s, "welcome", NULL, NULL, NULL, NULL, 1), "i3"); /* newest */
	assert_string_equal(search(s, "carol@dest", NULL, NULL, NULL, NULL, 10), "i3");
	assert_string_equal(search(s, "security@", NULL, NULL, NULL, NULL, 10), "i2");
	assert_string_equal(search(s, NULL, "security", NULL, NULL, NULL, 10), "i2");
	assert_string_equal(search(s, NULL, "dest.test", NULL, NULL, NULL, 10), "");
	assert_string_equal(search(s, NULL, NULL, "dest.test", NULL, NULL, 10), "i1,i2,i3");
	assert_string_equal(search(s, NULL, NULL, "example.com", NULL, NULL, 10), "");
	assert_string_equal(search(s, NULL, NULL, NULL, "reset", NULL, 10), "i2");
	assert_string_equal(search(s, NULL, NULL, NULL, "ann", NULL, 10), "");
	assert_string_equal(search(s, NULL, NULL, NULL, NULL, A2, 10), "i3");
	assert_string_equal(search(s, NULL, NULL, NULL, NULL, "1111", 10), "");
	assert_string_equal(search(s, "welcome", NULL, NULL, NULL, A1, 10), "i1");
	/* LIKE's wildcards and the escape character match only themselves */
	assert_string_equal(search(s, "100%_x!", NULL, NULL, NULL, NULL, 10), "i2");
	assert_string_equal(search(s, "w%e", NULL, NULL, NULL, NULL, 10), "");
	assert_string_equal(search(s, "w_lcome", NULL, NULL, NULL, NULL, 10), "");
	assert_string_equal(search(s, "!", NULL, NULL, NULL, NULL, 10), "i2");
	assert_string_equal(search(s, "'", NULL, NULL, NULL, NULL, 10), "");

	/* delete one: only a finished message of the transport */
	assert_int_equal(s->ops->message_delete_one(s, T_INBOX, "i4", &e), 0);
	assert_int_equal(s->ops->message_delete_one(s, T_INBOX, "nope", &e), 0);
	assert_int_equal(s->ops->message_delete_one(s, T_INBOX, "i2", &e), 1);
	assert_int_equal(s->ops->message_delete_one(s, T_INBOX, "i2", &e), 0);
	assert_string_equal(search(s, NULL, NULL, NULL, NULL, NULL, 10), "i1,i3");
	assert_int_equal(s->ops->message_delete_one(s, "mx", "i4", &e), 1);
	assert_int_equal(s->ops->message_delete(s, T_INBOX, &n, &e), 0);
	assert_int_equal(n, 2);
}

/* ---- two handles --------------------------------------------------------- */

static void
test_second_handle_sees_writes(void **state)
{
	struct fx *f = *state;
	struct err e;
	struct store *s2 = reopen(f);
	struct account a;
	struct identity_policy out[4];
	int64_t g;

	assert_non_null(s2);
	/* s2 reads first (prepares and runs its statements), then s1 writes */
	assert_int_equal(s2->ops->account_get(s2, A1, &a, &e), 0);
	g = gen(s2);
	mk_account(f->s, A1, "one");
	assert_int_equal(s2->ops->account_get(s2, A1, &a, &e), 1);
	assert_true(gen(s2) > g);
	mk_identity(f->s, A1, "example.com");
	assert_int_equal(f->s->ops->policy_put(f->s, REG, A1, "example.com", "p", "{}", 20, &e), 0);
	assert_int_equal(s2->ops->policy_list(s2, REG, A1, "example.com", out, 4, &e), 1);
	identity_policy_clear(&out[0]);
	/* and the other way round */
	assert_int_equal(s2->ops->policy_delete(s2, REG, A1, "example.com", "p", &e), 1);
	assert_int_equal(f->s->ops->policy_list(f->s, REG, A1, "example.com", out, 4, &e), 0);
	assert_int_equal(gen(f->s), gen(s2));
	store_close(s2);
}

static int
run_suite(const char *tmpl)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrations_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users_and_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_list_due_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_reenters_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_verify_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_verify_token_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_set_next_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_cas_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policies_cap_and_cascade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_templates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_sets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_counts_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_handle_sees_writes, setup, teardown),
	};
	/* the group name says which backend failed; never a password */
	char name[64];
	size_t scheme = strcspn(tmpl, ":");

	snprintf(name, sizeof(name), "store %.*s", (int)(scheme > 32 ? 32 : scheme), tmpl);
	cur_url = tmpl;
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	const struct CMUnitTest sqlite_only[] = {
		cmocka_unit_test_setup_teardown(test_open_urls, setup_data_dir, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_schema, setup_data_dir, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_migration_ed25519, setup_data_dir,
						teardown),
	};
	const char *extra = getenv("SESAME_TEST_STORE_URLS");
	int failed = cmocka_run_group_tests_name("store sqlite-only", sqlite_only, NULL, NULL);

	for (size_t i = 0; store_urls[i] != NULL; i++)
		failed += run_suite(store_urls[i]);
	if (extra != NULL) {
		char *list = xstrdup(extra), *save = NULL;
		for (char *u = strtok_r(list, ",", &save); u != NULL;
		     u = strtok_r(NULL, ",", &save))
			if (u[0] != '\0')
				failed += run_suite(u);
		free(list);
	}
	return failed;
}

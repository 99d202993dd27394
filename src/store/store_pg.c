/*
 * store_pg.c — the PostgreSQL driver of the store (sql.h), selected by a
 * `postgresql://` or `postgres://` store URL (libpq's own URI syntax, so
 * host, port, user, password, dbname and sslmode go where libpq reads
 * them).
 *
 * One connection per store handle, as on SQLite: every thread of a node
 * opens its own handle, so a node's "pool" is its threads' connections.
 * Statements are prepared on first use (named s<id>) with `?N` rewritten
 * to `$N`; parameters travel as text, blobs as binary; results come as
 * text (bytea unescaped on read, booleans 't'/'f' read as 1/0).
 *
 * Writers serialize on the generation row (store_sqlite.c tx_begin takes
 * `SELECT … FOR UPDATE` on it), so every check-then-write of the
 * operations holds across nodes exactly as under SQLite's single writer —
 * the 24 h quota counters, the policy cap, the feedback dedupe. Nothing
 * here uses advisory locks or LISTEN/NOTIFY, so the SQL stays inside what
 * CockroachDB and YugabyteDB accept.
 *
 * The schema is its own ordered list `pg_migrations[]` (the SQLite
 * migrations' final state, then whatever is appended to both), its
 * version in the one-row table `schema_version`.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "store/sql.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define PG_MAX_PARAMS 32

static const char *const pg_migrations[] = {
	/* 1: the schema of SQLite's migrations 1–10 */
	"CREATE TABLE accounts ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  max_24h BIGINT NOT NULL,"
	"  max_rate DOUBLE PRECISION NOT NULL,"
	"  sandbox BIGINT NOT NULL,"
	"  sending_enabled BIGINT NOT NULL,"
	"  created BIGINT NOT NULL,"
	"  paused_reason TEXT NOT NULL DEFAULT '',"
	"  resumed_at BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE users ("
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  policy TEXT,"
	"  created BIGINT NOT NULL,"
	"  PRIMARY KEY (account_id, name));"
	"CREATE TABLE access_keys ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  user_name TEXT,"
	"  service TEXT,"
	"  sealed BYTEA NOT NULL,"
	"  created BIGINT NOT NULL,"
	"  FOREIGN KEY (account_id, user_name) REFERENCES users(account_id, name)"
	"    ON DELETE CASCADE,"
	"  CHECK (user_name IS NULL OR service IS NULL));"
	"CREATE INDEX access_keys_user ON access_keys(account_id, user_name);"
	"CREATE TABLE identities ("
	"  region TEXT NOT NULL,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  type TEXT NOT NULL CHECK (type IN ('EmailAddress', 'Domain')),"
	"  status TEXT NOT NULL,"
	"  token TEXT,"
	"  token_expires BIGINT NOT NULL DEFAULT 0,"
	"  created BIGINT NOT NULL,"
	"  dkim_enabled BIGINT NOT NULL,"
	"  dkim_status TEXT NOT NULL,"
	"  dkim_token1 TEXT, dkim_token2 TEXT, dkim_token3 TEXT,"
	"  dkim_keys BYTEA,"
	"  mail_from_domain TEXT,"
	"  mail_from_status TEXT NOT NULL,"
	"  mail_from_behavior TEXT NOT NULL,"
	"  bounce_topic TEXT, complaint_topic TEXT, delivery_topic TEXT,"
	"  forwarding_enabled BIGINT NOT NULL,"
	"  headers_in_bounce BIGINT NOT NULL,"
	"  headers_in_complaint BIGINT NOT NULL,"
	"  headers_in_delivery BIGINT NOT NULL,"
	"  next_check BIGINT NOT NULL DEFAULT 0,"
	"  check_attempts BIGINT NOT NULL DEFAULT 0,"
	"  dkim_ed25519_status TEXT NOT NULL DEFAULT 'NotStarted',"
	"  PRIMARY KEY (region, account_id, name));"
	"CREATE INDEX identities_account ON identities(account_id);"
	"CREATE INDEX identities_token ON identities(token) WHERE token IS NOT NULL;"
	"CREATE INDEX identities_due ON identities(next_check) WHERE next_check > 0;"
	"CREATE INDEX identities_mail_from ON identities(mail_from_domain)"
	"  WHERE mail_from_domain IS NOT NULL;"
	"CREATE TABLE identity_policies ("
	"  region TEXT NOT NULL,"
	"  account_id TEXT NOT NULL,"
	"  identity TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  document TEXT NOT NULL,"
	"  PRIMARY KEY (region, account_id, identity, name),"
	"  FOREIGN KEY (region, account_id, identity)"
	"    REFERENCES identities(region, account_id, name) ON DELETE CASCADE);"
	"CREATE TABLE generation ("
	"  id BIGINT PRIMARY KEY CHECK (id = 1),"
	"  value BIGINT NOT NULL);"
	"INSERT INTO generation (id, value) VALUES (1, 0);"
	"CREATE TABLE messages ("
	"  id TEXT PRIMARY KEY,"
	"  region TEXT NOT NULL,"
	"  sending_account TEXT NOT NULL,"
	"  identity_owner TEXT,"
	"  source_arn TEXT,"
	"  from_arn TEXT,"
	"  return_path_arn TEXT,"
	"  principal TEXT,"
	"  source_ip TEXT,"
	"  source TEXT,"
	"  from_addr TEXT,"
	"  subject TEXT,"
	"  destinations TEXT,"
	"  raw BYTEA,"
	"  status TEXT NOT NULL,"
	"  created BIGINT NOT NULL,"
	"  delivered BIGINT,"
	"  transport TEXT,"
	"  mail_from TEXT);"
	"CREATE INDEX messages_created ON messages(created);"
	"CREATE INDEX messages_queued ON messages(created) WHERE status = 'queued';"
	"CREATE TABLE send_counts ("
	"  account_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('accept', 'reject', 'bounce', 'complaint')),"
	"  minute BIGINT NOT NULL,"
	"  recipients BIGINT NOT NULL,"
	"  PRIMARY KEY (account_id, kind, minute));"
	"CREATE TABLE recipients ("
	"  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  idx BIGINT NOT NULL,"
	"  address TEXT NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'delivered', 'bounced')),"
	"  attempts BIGINT NOT NULL DEFAULT 0,"
	"  next_attempt BIGINT NOT NULL DEFAULT 0,"
	"  lease_owner TEXT,"
	"  lease_until BIGINT NOT NULL DEFAULT 0,"
	"  delayed BIGINT NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (message_id, idx));"
	"CREATE INDEX recipients_due ON recipients(next_attempt) WHERE status = 'queued';"
	"CREATE INDEX recipients_leased ON recipients(lease_until) WHERE status = 'sending';"
	"CREATE TABLE events ("
	"  seq BIGSERIAL PRIMARY KEY,"
	"  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  recipient TEXT,"
	"  type TEXT NOT NULL,"
	"  ts BIGINT NOT NULL,"
	"  detail TEXT);"
	"CREATE INDEX events_message ON events(message_id, seq);"
	"CREATE TABLE suppressed ("
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  address TEXT NOT NULL,"
	"  reason TEXT NOT NULL CHECK (reason IN ('BOUNCE', 'COMPLAINT')),"
	"  message_id TEXT NOT NULL DEFAULT '',"
	"  feedback_id TEXT NOT NULL DEFAULT '',"
	"  ts BIGINT NOT NULL,"
	"  PRIMARY KEY (account_id, address));"
	"CREATE TABLE notify_settings ("
	"  region TEXT NOT NULL,"
	"  owner TEXT NOT NULL,"
	"  identity TEXT NOT NULL,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  bounce_topic TEXT, complaint_topic TEXT, delivery_topic TEXT,"
	"  headers_bounce BIGINT NOT NULL DEFAULT 0,"
	"  headers_complaint BIGINT NOT NULL DEFAULT 0,"
	"  headers_delivery BIGINT NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (region, owner, identity, account_id),"
	"  FOREIGN KEY (region, owner, identity)"
	"    REFERENCES identities(region, account_id, name) ON DELETE CASCADE);"
	"CREATE TABLE templates ("
	"  region TEXT NOT NULL,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  subject TEXT, text TEXT, html TEXT,"
	"  created BIGINT NOT NULL,"
	"  PRIMARY KEY (region, account_id, name));"
	"CREATE TABLE sns_topics ("
	"  arn TEXT PRIMARY KEY,"
	"  region TEXT NOT NULL,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  attributes TEXT NOT NULL DEFAULT '{}',"
	"  created BIGINT NOT NULL);"
	"CREATE INDEX sns_topics_account ON sns_topics(account_id, region, arn);"
	"CREATE TABLE sns_subscriptions ("
	"  arn TEXT PRIMARY KEY,"
	"  topic_arn TEXT NOT NULL REFERENCES sns_topics(arn) ON DELETE CASCADE,"
	"  account_id TEXT NOT NULL,"
	"  protocol TEXT NOT NULL CHECK (protocol IN ('http', 'https')),"
	"  endpoint TEXT NOT NULL,"
	"  confirmed BIGINT NOT NULL DEFAULT 0,"
	"  token TEXT NOT NULL,"
	"  raw_message_delivery BIGINT NOT NULL DEFAULT 0,"
	"  created BIGINT NOT NULL,"
	"  UNIQUE (topic_arn, protocol, endpoint));"
	"CREATE INDEX sns_subscriptions_account ON sns_subscriptions(account_id, arn);"
	"CREATE TABLE sns_outbox ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  message_id TEXT NOT NULL,"
	"  type TEXT NOT NULL CHECK (type IN ('Notification', 'SubscriptionConfirmation',"
	"    'UnsubscribeConfirmation')),"
	"  topic_arn TEXT NOT NULL,"
	"  subscription_arn TEXT NOT NULL"
	"    REFERENCES sns_subscriptions(arn) ON DELETE CASCADE,"
	"  subject TEXT,"
	"  message TEXT NOT NULL,"
	"  timestamp_ms BIGINT NOT NULL,"
	"  attempts BIGINT NOT NULL DEFAULT 0,"
	"  next_attempt_ms BIGINT NOT NULL,"
	"  lease_owner TEXT,"
	"  lease_until BIGINT NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending')));"
	"CREATE INDEX sns_outbox_due ON sns_outbox(state, next_attempt_ms);"
	"CREATE INDEX sns_outbox_sub ON sns_outbox(subscription_arn);"
	"CREATE TABLE sns_keys ("
	"  id BIGINT PRIMARY KEY CHECK (id = 1),"
	"  sealed BYTEA NOT NULL,"
	"  cert TEXT NOT NULL,"
	"  created BIGINT NOT NULL);",
	/* 2: SQLite's migration 11 — configuration sets, their SNS event
	 * destinations, and the set and mail.tags of each message */
	"CREATE TABLE config_sets ("
	"  region TEXT NOT NULL,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  sending_enabled BIGINT NOT NULL DEFAULT 1,"
	"  reputation_enabled BIGINT NOT NULL DEFAULT 0,"
	"  created BIGINT NOT NULL,"
	"  PRIMARY KEY (region, account_id, name));"
	"CREATE TABLE config_set_destinations ("
	"  region TEXT NOT NULL,"
	"  account_id TEXT NOT NULL,"
	"  set_name TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  enabled BIGINT NOT NULL DEFAULT 0,"
	"  types BIGINT NOT NULL,"
	"  topic_arn TEXT NOT NULL,"
	"  PRIMARY KEY (region, account_id, set_name, name),"
	"  FOREIGN KEY (region, account_id, set_name)"
	"    REFERENCES config_sets(region, account_id, name) ON DELETE CASCADE);"
	"ALTER TABLE messages ADD COLUMN config_set TEXT;"
	"ALTER TABLE messages ADD COLUMN tags TEXT;",
	/* 3: SQLite's migration 12 — an identity's default configuration set */
	"ALTER TABLE identities ADD COLUMN config_set TEXT;",
	/* 4: SQLite's migration 13 — the suppressed reasons of accounts and sets */
	("ALTER TABLE accounts ADD COLUMN suppressed_reasons BIGINT NOT NULL DEFAULT 3;"
	 "ALTER TABLE config_sets ADD COLUMN suppressed_reasons BIGINT;"),
	/* 5: SQLite's migration 14 — an identity's DKIM origin (BYODKIM) */
	("ALTER TABLE identities ADD COLUMN dkim_origin TEXT NOT NULL DEFAULT 'AWS_SES'"
	 " CHECK (dkim_origin IN ('AWS_SES', 'EXTERNAL'));"),
	/* 6: SQLite's migration 15 — the statistics per quarter hour */
	("CREATE TABLE send_counts_15m ("
	 "  account_id TEXT NOT NULL,"
	 "  kind TEXT NOT NULL CHECK (kind IN ('accept', 'reject', 'bounce', 'complaint')),"
	 "  quarter BIGINT NOT NULL,"
	 "  recipients BIGINT NOT NULL,"
	 "  PRIMARY KEY (account_id, kind, quarter));"
	 "INSERT INTO send_counts_15m SELECT account_id, kind, minute / 15, sum(recipients)"
	 "  FROM send_counts GROUP BY account_id, kind, minute / 15;"),
};
#define PG_NMIGRATIONS ((int)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

struct pg_conn {
	struct sql_conn base;
	PGconn *db;
	char err[512];
	char sqlstate[6];
	int64_t changes;
};

struct pg_stmt {
	struct sql_stmt base;
	struct pg_conn *c;
	char name[16];
	int nparams;
	const char *vals[PG_MAX_PARAMS];
	int lens[PG_MAX_PARAMS];
	int fmts[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][32]; /* the text of bound numbers */
	PGresult *res;
	int row, nrows;
	bool ran;
	char *clean[PG_MAX_PARAMS]; /* bound text made valid UTF-8, freed at reset */
	unsigned char **blobs; /* unescaped bytea of this result, freed at reset */
	size_t nblobs;
};

static const struct sql_driver pg_driver;

static struct pg_stmt *
pgs(struct sql_stmt *st)
{
	return (struct pg_stmt *)st;
}

static struct pg_conn *
pgc(struct sql_conn *c)
{
	return (struct pg_conn *)c;
}

/* Keep a failure's message (one line, no trailing newline) and SQLSTATE. */
static void
note_fail(struct pg_conn *c, const PGresult *r)
{
	const char *m = r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c->db);
	const char *code = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	size_t n;

	snprintf(c->err, sizeof(c->err), "%s", m != NULL && m[0] ? m : "connection failed");
	n = strcspn(c->err, "\n");
	c->err[n] = '\0';
	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", code != NULL ? code : "");
}

/* ?N → $N (the highest N is the parameter count), and `LIMIT ?N` →
 * `LIMIT NULLIF($N::bigint, -1)`: the store binds -1 for "no limit", which
 * SQLite takes and PostgreSQL spells NULL. */
static char *
rewrite(const char *text, int *nparams)
{
	static const char lim[] = "LIMIT ?";
	/* "LIMIT ?N" (8+ bytes) grows to at most 4x; ?N → $N keeps its size. */
	size_t cap = 4 * strlen(text) + 64;
	char *out = xmalloc(cap), *o = out;
	bool quoted = false;

	*nparams = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '\'')
			quoted = !quoted;
		if (!quoted && strncmp(p, lim, sizeof(lim) - 1) == 0) {
			char *end;
			long v = strtol(p + sizeof(lim) - 1, &end, 10);
			if (v > *nparams)
				*nparams = (int)v;
			o += snprintf(o, cap - (size_t)(o - out), "LIMIT NULLIF($%ld::bigint, -1)", v);
			p = end - 1;
			continue;
		}
		if (*p == '?' && !quoted && p[1] >= '0' && p[1] <= '9') {
			int v = (int)strtol(p + 1, NULL, 10);
			if (v > *nparams)
				*nparams = v;
			*o++ = '$';
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

static struct sql_stmt *
pg_prepare(struct sql_conn *cc, int id, const char *text, struct err *e)
{
	struct pg_conn *c = pgc(cc);
	struct pg_stmt *s = xcalloc(1, sizeof(*s));
	char *t = rewrite(text, &s->nparams);
	PGresult *r;

	s->base.drv = &pg_driver;
	s->c = c;
	snprintf(s->name, sizeof(s->name), "s%d", id);
	if (s->nparams > PG_MAX_PARAMS) {
		err_temp(e, "store: statement %d has too many parameters", id);
		goto fail;
	}
	r = PQprepare(c->db, s->name, t, s->nparams, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		note_fail(c, r);
		err_temp(e, "store: cannot prepare statement %d: %s", id, c->err);
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	free(t);
	return &s->base;
fail:
	free(t);
	free(s);
	return NULL;
}

static void
pg_reset(struct sql_stmt *st)
{
	struct pg_stmt *s = pgs(st);

	PQclear(s->res);
	s->res = NULL;
	s->ran = false;
	s->row = s->nrows = 0;
	for (size_t i = 0; i < s->nblobs; i++)
		PQfreemem(s->blobs[i]);
	free(s->blobs);
	s->blobs = NULL;
	s->nblobs = 0;
	for (int i = 0; i < PG_MAX_PARAMS; i++) {
		free(s->clean[i]);
		s->clean[i] = NULL;
	}
	memset(s->vals, 0, sizeof(s->vals));
	memset(s->lens, 0, sizeof(s->lens));
	memset(s->fmts, 0, sizeof(s->fmts));
}

static void
pg_finalize(struct sql_stmt *st)
{
	pg_reset(st);
	free(st);
}

static int
pg_bind_text(struct sql_stmt *st, int i, const char *v)
{
	struct pg_stmt *s = pgs(st);

	if (i < 1 || i > s->nparams)
		return -1;
	/* TEXT holds UTF-8 only: a header of stray bytes is kept as SQLite
	 * pages show it, with U+FFFD (the raw message is bytea, untouched) */
	free(s->clean[i - 1]);
	s->clean[i - 1] = NULL;
	if (v != NULL && !utf8_valid(v, strlen(v)))
		v = s->clean[i - 1] = utf8_clean(v);
	s->vals[i - 1] = v;
	s->fmts[i - 1] = 0;
	return 0;
}

static int
pg_bind_int(struct sql_stmt *st, int i, int64_t v)
{
	struct pg_stmt *s = pgs(st);

	if (i < 1 || i > s->nparams)
		return -1;
	snprintf(s->num[i - 1], sizeof(s->num[0]), "%lld", (long long)v);
	return pg_bind_text(st, i, s->num[i - 1]);
}

static int
pg_bind_double(struct sql_stmt *st, int i, double v)
{
	struct pg_stmt *s = pgs(st);

	if (i < 1 || i > s->nparams)
		return -1;
	snprintf(s->num[i - 1], sizeof(s->num[0]), "%.17g", v);
	return pg_bind_text(st, i, s->num[i - 1]);
}

static int
pg_bind_blob(struct sql_stmt *st, int i, const uint8_t *p, size_t n)
{
	struct pg_stmt *s = pgs(st);

	if (i < 1 || i > s->nparams)
		return -1;
	s->vals[i - 1] = (const char *)p;
	s->lens[i - 1] = (int)n;
	s->fmts[i - 1] = p != NULL ? 1 : 0;
	return 0;
}

static int
pg_step(struct sql_stmt *st)
{
	struct pg_stmt *s = pgs(st);
	ExecStatusType x;

	if (!s->ran) {
		s->ran = true;
		s->res = PQexecPrepared(s->c->db, s->name, s->nparams, s->vals, s->lens, s->fmts, 0);
		x = PQresultStatus(s->res);
		if (x != PGRES_TUPLES_OK && x != PGRES_COMMAND_OK) {
			note_fail(s->c, s->res);
			return -1;
		}
		const char *ct = PQcmdTuples(s->res);
		s->c->changes = ct != NULL && ct[0] ? strtoll(ct, NULL, 10) : 0;
		s->nrows = x == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
		s->row = -1;
	}
	if (s->row + 1 >= s->nrows)
		return 0;
	s->row++;
	return 1;
}

static const char *
value(struct pg_stmt *s, int i)
{
	if (s->res == NULL || s->row < 0 || s->row >= s->nrows || i >= PQnfields(s->res) ||
	    PQgetisnull(s->res, s->row, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

static int64_t
pg_col_int(struct sql_stmt *st, int i)
{
	const char *v = value(pgs(st), i);

	if (v == NULL)
		return 0;
	if (v[0] == 't' && v[1] == '\0')
		return 1; /* a boolean expression */
	return strtoll(v, NULL, 10);
}

static double
pg_col_double(struct sql_stmt *st, int i)
{
	const char *v = value(pgs(st), i);
	return v != NULL ? strtod(v, NULL) : 0.0;
}

static const char *
pg_col_text(struct sql_stmt *st, int i)
{
	return value(pgs(st), i);
}

static const uint8_t *
pg_col_blob(struct sql_stmt *st, int i, size_t *n)
{
	struct pg_stmt *s = pgs(st);
	const char *v = value(s, i);
	unsigned char *b;

	*n = 0;
	if (v == NULL || (b = PQunescapeBytea((const unsigned char *)v, n)) == NULL)
		return NULL;
	s->blobs = xrealloc(s->blobs, (s->nblobs + 1) * sizeof(*s->blobs));
	s->blobs[s->nblobs++] = b;
	return b;
}

static int64_t
pg_changes(struct sql_conn *c)
{
	return pgc(c)->changes;
}

static const char *
pg_errmsg(struct sql_conn *c)
{
	return pgc(c)->err;
}

static enum sql_fail
pg_failure(struct sql_conn *c)
{
	const char *x = pgc(c)->sqlstate;

	if (strcmp(x, "23505") == 0)
		return SQL_FAIL_UNIQUE;
	if (strcmp(x, "23503") == 0)
		return SQL_FAIL_FOREIGN;
	if (strncmp(x, "23", 2) == 0)
		return SQL_FAIL_CHECK;
	return SQL_FAIL_OTHER;
}

static bool
pg_in_tx(struct sql_conn *c)
{
	return PQtransactionStatus(pgc(c)->db) != PQTRANS_IDLE;
}

static void
pg_close(struct sql_conn *c)
{
	PQfinish(pgc(c)->db);
	free(c);
}

static const struct sql_driver pg_driver = {
	.name = "postgresql",
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.bind_text = pg_bind_text,
	.bind_int = pg_bind_int,
	.bind_double = pg_bind_double,
	.bind_blob = pg_bind_blob,
	.step = pg_step,
	.reset = pg_reset,
	.col_int = pg_col_int,
	.col_double = pg_col_double,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.changes = pg_changes,
	.errmsg = pg_errmsg,
	.failure = pg_failure,
	.in_tx = pg_in_tx,
	.close = pg_close,
};

/* ---- open and migrate ------------------------------------------------- */

/* Run `q`; 0, or -1 with the failure noted. */
static int
exec(struct pg_conn *c, const char *q)
{
	PGresult *r = PQexec(c->db, q);
	ExecStatusType x = PQresultStatus(r);
	int rc = x == PGRES_COMMAND_OK || x == PGRES_TUPLES_OK ? 0 : -1;

	if (rc != 0)
		note_fail(c, r);
	PQclear(r);
	return rc;
}

/*
 * The migrations past schema_version, in one transaction that holds the
 * version row's lock: two nodes starting on a fresh database run them once
 * (the loser of the race to create the table retries and finds them done).
 */
static int
migrate(struct pg_conn *c, struct err *e)
{
	char set[80];
	PGresult *r;
	long version;

	for (int attempt = 0;; attempt++) {
		if (exec(c, "CREATE TABLE IF NOT EXISTS schema_version (id BIGINT PRIMARY KEY"
			    " CHECK (id = 1), version BIGINT NOT NULL);"
			    "INSERT INTO schema_version (id, version) VALUES (1, 0)"
			    " ON CONFLICT (id) DO NOTHING") == 0)
			break;
		if (attempt == 3)
			return err_temp(e, "store: cannot create schema_version: %s", c->err);
	}
	if (exec(c, "BEGIN") != 0)
		return err_temp(e, "store: %s", c->err);
	r = PQexec(c->db, "SELECT version FROM schema_version WHERE id = 1 FOR UPDATE");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		note_fail(c, r);
		PQclear(r);
		err_temp(e, "store: cannot read the schema version: %s", c->err);
		goto fail;
	}
	version = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (version > PG_NMIGRATIONS) {
		err_temp(e, "store: database schema version %ld is newer than this build (%d)",
			 version, PG_NMIGRATIONS);
		goto fail;
	}
	for (long i = version; i < PG_NMIGRATIONS; i++) {
		if (exec(c, pg_migrations[i]) != 0) {
			err_temp(e, "store: migration %ld failed: %s", i + 1, c->err);
			goto fail;
		}
	}
	snprintf(set, sizeof(set), "UPDATE schema_version SET version = %d WHERE id = 1",
		 PG_NMIGRATIONS);
	if (exec(c, set) != 0 || exec(c, "COMMIT") != 0) {
		err_temp(e, "store: cannot commit the migrations: %s", c->err);
		goto fail;
	}
	return 0;
fail:
	exec(c, "ROLLBACK");
	return -1;
}

struct store *
store_pg_open(const char *url, struct err *e)
{
	struct pg_conn *c = xcalloc(1, sizeof(*c));

	c->base.drv = &pg_driver;
	/* never the URL in a message: it may hold a password (backend.h) */
	c->db = PQconnectdb(url);
	if (c->db == NULL || PQstatus(c->db) != CONNECTION_OK) {
		note_fail(c, NULL);
		err_temp(e, "store: cannot connect to PostgreSQL: %s", c->err);
		goto fail;
	}
	if (exec(c, "SET client_min_messages = warning") != 0 || migrate(c, e) != 0) {
		if (e->code[0] == '\0')
			err_temp(e, "store: %s", c->err);
		goto fail;
	}
	return sql_store_new(&pg_driver, &c->base, true);
fail:
	pg_close(&c->base);
	return NULL;
}

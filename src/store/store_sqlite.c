/*
 * store_sqlite.c — the SQLite backend of store.h, the default store.
 *
 * One `struct sq` per handle and per thread (opened NOMUTEX: a handle is
 * never shared). The connection runs in WAL mode with synchronous=FULL (a
 * committed write survives power loss), foreign_keys=ON (deletes cascade from
 * accounts to users, keys, identities and policies; from identities to their
 * policies; from users to their keys) and a 5 s busy timeout, so the CLI, the
 * store thread and the event loops can all hold handles on one file.
 *
 * Invariants:
 *  1. Every statement is prepared once per handle (st[] cache, SQL text in
 *     sql[]) and always reset before the op returns, so no handle keeps a read
 *     snapshot open between calls (readers see others' commits at once).
 *  2. Every write runs inside BEGIN IMMEDIATE … COMMIT and bumps the
 *     generation row in that same transaction (message and send-count
 *     writes excepted: tx_end_data; the conditional identity writes bump
 *     only when they changed a row: tx_end_if); a failed write rolls back.
 *  3. Only bound parameters carry caller data; no SQL text is built at run
 *     time except `PRAGMA user_version = <int>` in the migrator.
 *  4. List callbacks run after the rows are copied out and the statement is
 *     reset, so a callback may use the handle again.
 *
 * The database file and its -wal and -shm companions are mode 0600, like the
 * master key (they hold every account and every sealed secret): the main
 * file is made (or narrowed) to 0600 before SQLite opens it, and SQLite
 * creates its companions with the main file's mode (private_files).
 *
 * The schema is the ordered list `migrations[]`; PRAGMA user_version counts
 * the ones applied. Add a migration by appending a string — never edit one
 * that has shipped. See docs/internals/store.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/quota.h"
#include "store/backend.h"
#include "store/sql.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/xalloc.h"

#define BUSY_TIMEOUT_MS 5000

/* ---- schema ------------------------------------------------------------ */

static const char *const migrations[] = {
	/* 1: the initial schema */
	"CREATE TABLE accounts ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  max_24h INTEGER NOT NULL,"
	"  max_rate REAL NOT NULL,"
	"  sandbox INTEGER NOT NULL,"
	"  sending_enabled INTEGER NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE users ("
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  policy TEXT,"
	"  created INTEGER NOT NULL,"
	"  PRIMARY KEY (account_id, name));"
	"CREATE TABLE access_keys ("
	"  id TEXT PRIMARY KEY,"
	"  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  user_name TEXT,"
	"  service TEXT,"
	"  sealed BLOB NOT NULL,"
	"  created INTEGER NOT NULL,"
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
	"  token_expires INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  dkim_enabled INTEGER NOT NULL,"
	"  dkim_status TEXT NOT NULL,"
	"  dkim_token1 TEXT, dkim_token2 TEXT, dkim_token3 TEXT,"
	"  dkim_keys BLOB,"
	"  mail_from_domain TEXT,"
	"  mail_from_status TEXT NOT NULL,"
	"  mail_from_behavior TEXT NOT NULL,"
	"  bounce_topic TEXT, complaint_topic TEXT, delivery_topic TEXT,"
	"  forwarding_enabled INTEGER NOT NULL,"
	"  headers_in_bounce INTEGER NOT NULL,"
	"  headers_in_complaint INTEGER NOT NULL,"
	"  headers_in_delivery INTEGER NOT NULL,"
	"  next_check INTEGER NOT NULL DEFAULT 0,"
	"  check_attempts INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (region, account_id, name));"
	"CREATE INDEX identities_account ON identities(account_id);"
	"CREATE INDEX identities_token ON identities(token) WHERE token IS NOT NULL;"
	"CREATE INDEX identities_due ON identities(next_check) WHERE next_check > 0;"
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
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  value INTEGER NOT NULL);"
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
	"  raw BLOB,"
	"  status TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  delivered INTEGER);"
	"CREATE INDEX messages_created ON messages(created);"
	"CREATE TABLE send_events ("
	"  account_id TEXT NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  recipients INTEGER NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('accept', 'reject', 'bounce', 'complaint')));"
	"CREATE INDEX send_events_account_ts ON send_events(account_id, ts);",
	/* 2: the queue's delivery bookkeeping (src/queue/queue.c) */
	"ALTER TABLE messages ADD COLUMN transport TEXT;"
	"ALTER TABLE messages ADD COLUMN delivery TEXT;"
	"ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE messages ADD COLUMN next_attempt INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX messages_queued ON messages(next_attempt) WHERE status = 'queued';",
	/* 3: sending statistics aggregated per (account, kind, minute), so the
	 * 24 h quota check reads at most 1,440 rows however much is sent,
	 * instead of one row per message */
	"CREATE TABLE send_counts ("
	"  account_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('accept', 'reject', 'bounce', 'complaint')),"
	"  minute INTEGER NOT NULL,"
	"  recipients INTEGER NOT NULL,"
	"  PRIMARY KEY (account_id, kind, minute)) WITHOUT ROWID;"
	"INSERT INTO send_counts SELECT account_id, kind, ts / 60, sum(recipients)"
	"  FROM send_events GROUP BY account_id, kind, ts / 60;"
	"DROP TABLE send_events;",
	/* 4: per-recipient delivery state and the events table (DESIGN.md "A
	 * message's life"); the message-level retry columns go, recipients of
	 * messages still queued get their rows, and the envelope as it leaves */
	"CREATE TABLE recipients ("
	"  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  address TEXT NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'delivered', 'bounced')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER NOT NULL DEFAULT 0,"
	"  lease_owner TEXT,"
	"  lease_until INTEGER NOT NULL DEFAULT 0,"
	"  delayed INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (message_id, idx)) WITHOUT ROWID;"
	"CREATE INDEX recipients_due ON recipients(next_attempt) WHERE status = 'queued';"
	"CREATE INDEX recipients_leased ON recipients(lease_until) WHERE status = 'sending';"
	"INSERT INTO recipients (message_id, idx, address, status, attempts, next_attempt)"
	"  SELECT m.id, j.key, j.value, 'queued', m.attempts, m.next_attempt"
	"  FROM messages m, json_each(m.destinations) j WHERE m.status = 'queued';"
	"CREATE TABLE events ("
	"  seq INTEGER PRIMARY KEY,"
	"  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  recipient TEXT,"
	"  type TEXT NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  detail TEXT);"
	"CREATE INDEX events_message ON events(message_id, seq);"
	"DROP INDEX messages_queued;"
	"ALTER TABLE messages DROP COLUMN delivery;"
	"ALTER TABLE messages DROP COLUMN attempts;"
	"ALTER TABLE messages DROP COLUMN next_attempt;"
	"ALTER TABLE messages ADD COLUMN mail_from TEXT;"
	"CREATE INDEX messages_queued ON messages(created) WHERE status = 'queued';",
	/* 5: the Ed25519 DKIM record (RFC 8463) beside the three RSA ones: its
	 * check's status; rows from before have no Ed25519 key (NotStarted) */
	("ALTER TABLE identities ADD COLUMN dkim_ed25519_status TEXT NOT NULL"
	 "  DEFAULT 'NotStarted';"),
	/* 6: the reputation pause (core/reputation.h), apart from the account's
	 * own sending switch: why it is paused ('' = not), and when the operator
	 * last lifted it (the reputation window starts there) */
	("ALTER TABLE accounts ADD COLUMN paused_reason TEXT NOT NULL DEFAULT '';"
	 "ALTER TABLE accounts ADD COLUMN resumed_at INTEGER NOT NULL DEFAULT 0;"),
	/* 7: the account-level suppression list (DESIGN.md "Semantics we pin") */
	("CREATE TABLE suppressed ("
	 "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	 "  address TEXT NOT NULL,"
	 "  reason TEXT NOT NULL CHECK (reason IN ('BOUNCE', 'COMPLAINT')),"
	 "  message_id TEXT NOT NULL DEFAULT '',"
	 "  feedback_id TEXT NOT NULL DEFAULT '',"
	 "  ts INTEGER NOT NULL,"
	 "  PRIMARY KEY (account_id, address)) WITHOUT ROWID;"),
	/* 8: notification settings, one row per identity and setter (the owner
	 * or a delegate naming the identity by ARN); the identities' own topic
	 * columns of migration 1 were never written and stay unused */
	("CREATE TABLE notify_settings ("
	 "  region TEXT NOT NULL,"
	 "  owner TEXT NOT NULL,"
	 "  identity TEXT NOT NULL,"
	 "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	 "  bounce_topic TEXT, complaint_topic TEXT, delivery_topic TEXT,"
	 "  headers_bounce INTEGER NOT NULL DEFAULT 0,"
	 "  headers_complaint INTEGER NOT NULL DEFAULT 0,"
	 "  headers_delivery INTEGER NOT NULL DEFAULT 0,"
	 "  PRIMARY KEY (region, owner, identity, account_id),"
	 "  FOREIGN KEY (region, owner, identity)"
	 "    REFERENCES identities(region, account_id, name) ON DELETE CASCADE) WITHOUT ROWID;"),
	/* 9: email templates, the sending account's own (CreateTemplate …) */
	("CREATE TABLE templates ("
	 "  region TEXT NOT NULL,"
	 "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	 "  name TEXT NOT NULL,"
	 "  subject TEXT, text TEXT, html TEXT,"
	 "  created INTEGER NOT NULL,"
	 "  PRIMARY KEY (region, account_id, name)) WITHOUT ROWID;"),
	/* 10: SNS (src/sns/): topics, their subscriptions, the durable outbox
	 * (one row per delivery to one subscription; deleting a topic deletes
	 * its subscriptions, deleting a subscription its pending deliveries)
	 * and the one signing key, sealed, with its certificate */
	("CREATE TABLE sns_topics ("
	 "  arn TEXT PRIMARY KEY,"
	 "  region TEXT NOT NULL,"
	 "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	 "  name TEXT NOT NULL,"
	 "  attributes TEXT NOT NULL DEFAULT '{}',"
	 "  created INTEGER NOT NULL);"
	 "CREATE INDEX sns_topics_account ON sns_topics(account_id, region, arn);"
	 "CREATE TABLE sns_subscriptions ("
	 "  arn TEXT PRIMARY KEY,"
	 "  topic_arn TEXT NOT NULL REFERENCES sns_topics(arn) ON DELETE CASCADE,"
	 "  account_id TEXT NOT NULL,"
	 "  protocol TEXT NOT NULL CHECK (protocol IN ('http', 'https')),"
	 "  endpoint TEXT NOT NULL,"
	 "  confirmed INTEGER NOT NULL DEFAULT 0,"
	 "  token TEXT NOT NULL,"
	 "  raw_message_delivery INTEGER NOT NULL DEFAULT 0,"
	 "  created INTEGER NOT NULL,"
	 "  UNIQUE (topic_arn, protocol, endpoint));"
	 "CREATE INDEX sns_subscriptions_account ON sns_subscriptions(account_id, arn);"
	 "CREATE TABLE sns_outbox ("
	 "  id INTEGER PRIMARY KEY,"
	 "  message_id TEXT NOT NULL,"
	 "  type TEXT NOT NULL CHECK (type IN ('Notification', 'SubscriptionConfirmation',"
	 "    'UnsubscribeConfirmation')),"
	 "  topic_arn TEXT NOT NULL,"
	 "  subscription_arn TEXT NOT NULL"
	 "    REFERENCES sns_subscriptions(arn) ON DELETE CASCADE,"
	 "  subject TEXT,"
	 "  message TEXT NOT NULL,"
	 "  timestamp_ms INTEGER NOT NULL,"
	 "  attempts INTEGER NOT NULL DEFAULT 0,"
	 "  next_attempt_ms INTEGER NOT NULL,"
	 "  lease_owner TEXT,"
	 "  lease_until INTEGER NOT NULL DEFAULT 0,"
	 "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending')));"
	 "CREATE INDEX sns_outbox_due ON sns_outbox(state, next_attempt_ms);"
	 "CREATE INDEX sns_outbox_sub ON sns_outbox(subscription_arn);"
	 "CREATE TABLE sns_keys ("
	 "  id INTEGER PRIMARY KEY CHECK (id = 1),"
	 "  sealed BLOB NOT NULL,"
	 "  cert TEXT NOT NULL,"
	 "  created INTEGER NOT NULL);"),
	/* 11: configuration sets and their SNS event destinations (event
	 * publishing); a message keeps the set it named and its mail.tags */
	("CREATE TABLE config_sets ("
	 "  region TEXT NOT NULL,"
	 "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	 "  name TEXT NOT NULL,"
	 "  sending_enabled INTEGER NOT NULL DEFAULT 1,"
	 "  reputation_enabled INTEGER NOT NULL DEFAULT 0,"
	 "  created INTEGER NOT NULL,"
	 "  PRIMARY KEY (region, account_id, name)) WITHOUT ROWID;"
	 "CREATE TABLE config_set_destinations ("
	 "  region TEXT NOT NULL,"
	 "  account_id TEXT NOT NULL,"
	 "  set_name TEXT NOT NULL,"
	 "  name TEXT NOT NULL,"
	 "  enabled INTEGER NOT NULL DEFAULT 0,"
	 "  types INTEGER NOT NULL,"
	 "  topic_arn TEXT NOT NULL,"
	 "  PRIMARY KEY (region, account_id, set_name, name),"
	 "  FOREIGN KEY (region, account_id, set_name)"
	 "    REFERENCES config_sets(region, account_id, name) ON DELETE CASCADE) WITHOUT ROWID;"
	 "ALTER TABLE messages ADD COLUMN config_set TEXT;"
	 "ALTER TABLE messages ADD COLUMN tags TEXT;"),
	/* 12: an identity's default configuration set (SES v2
	 * PutEmailIdentityConfigurationSetAttributes) */
	("ALTER TABLE identities ADD COLUMN config_set TEXT;"),
	/* 13: which feedback adds to the suppression list (SES v2
	 * SuppressedReasons): the account's (bits: 1 BOUNCE, 2 COMPLAINT), and a
	 * configuration set's own (NULL: the account's) */
	("ALTER TABLE accounts ADD COLUMN suppressed_reasons INTEGER NOT NULL DEFAULT 3;"
	 "ALTER TABLE config_sets ADD COLUMN suppressed_reasons INTEGER;"),
	/* 14: how an identity's DKIM is set up (SES v2 SigningAttributesOrigin):
	 * AWS_SES (Easy DKIM, sesame's keys) or EXTERNAL (BYODKIM: the owner's
	 * one sealed key in dkim_keys, the owner's selector in dkim_token1) */
	("ALTER TABLE identities ADD COLUMN dkim_origin TEXT NOT NULL DEFAULT 'AWS_SES'"
	 " CHECK (dkim_origin IN ('AWS_SES', 'EXTERNAL'));"),
	/* 15: the statistics also per quarter hour (send_counts_15m, written
	 * beside send_counts in the same transaction), so the 24 h quota reads
	 * at most 96 quarters and 15 minutes instead of 1,440 minutes, and
	 * GetSendStatistics 14 days of quarters instead of 20,160 minutes
	 * (bench/store_size.sh) */
	("CREATE TABLE send_counts_15m ("
	 "  account_id TEXT NOT NULL,"
	 "  kind TEXT NOT NULL CHECK (kind IN ('accept', 'reject', 'bounce', 'complaint')),"
	 "  quarter INTEGER NOT NULL,"
	 "  recipients INTEGER NOT NULL,"
	 "  PRIMARY KEY (account_id, kind, quarter)) WITHOUT ROWID;"
	 "INSERT INTO send_counts_15m SELECT account_id, kind, minute / 15, sum(recipients)"
	 "  FROM send_counts GROUP BY account_id, kind, minute / 15;"),
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- statements -------------------------------------------------------- */

enum sid {
	S_BEGIN,
	S_SNAPSHOT,
	S_COMMIT,
	S_ROLLBACK,
	S_BUMP,
	S_TX_LOCK,
	S_GEN,
	S_ACC_INS,
	S_ACC_GET,
	S_ACC_LIST,
	S_ACC_DEL,
	S_ACC_SENDING,
	S_ACC_SUPPRESSION,
	S_ACC_PAUSE,
	S_ACC_RESUME,
	S_USER_INS,
	S_USER_GET,
	S_USER_LIST,
	S_USER_DEL,
	S_KEY_INS,
	S_KEY_GET,
	S_KEY_LIST,
	S_KEY_LIST_ACC,
	S_KEY_DEL,
	S_ID_PUT,
	S_ID_GET,
	S_ID_TOKEN,
	S_ID_LIST,
	S_ID_DUE,
	S_ID_DEL,
	S_POL_EXISTS,
	S_POL_COUNT,
	S_POL_PUT,
	S_POL_LIST,
	S_POL_DEL,
	S_EV_INS,
	S_EV_INS_Q,
	S_EV_SUM,
	S_EV_BUCKETS,
	S_MSG_INS,
	S_MSG_LIST,
	S_MSG_GET,
	S_MSG_DEL,
	S_MSG_SEARCH,
	S_MSG_DEL_ONE,
	S_ID_LINK_OK,
	S_ID_LINK_FAIL,
	S_ID_NEXT,
	S_ID_CAS,
	S_RCPT_INS,
	S_RCPT_CLAIM,
	S_RCPT_FINISH,
	S_RCPT_RELEASE,
	S_RCPT_RENEW,
	S_RCPT_DEPTH,
	S_MSG_DONE,
	S_EVT_INS,
	S_EVT_COUNT,
	S_EVT_COUNT_Q,
	S_EVT_LIST,
	S_EVT_SUPPRESS,
	S_EVT_SEEN,
	S_RCPT_INS_AS,
	S_SUP_PUT,
	S_SUP_GET,
	S_SUP_LIST,
	S_SUP_DEL,
	S_MF_KNOWN,
	S_NOTIFY_PUT,
	S_NOTIFY_DEL,
	S_NOTIFY_GET,
	S_NOTIFY_LIST,
	S_ID_FORWARD,
	S_TPL_INS,
	S_TPL_UPD,
	S_TPL_GET,
	S_TPL_LIST,
	S_TPL_DEL,
	S_SNS_TOPIC_INS,
	S_SNS_TOPIC_GET,
	S_SNS_TOPIC_LIST,
	S_SNS_TOPIC_ATTRS,
	S_SNS_TOPIC_DEL,
	S_SNS_SUB_INS,
	S_SNS_SUB_FIND,
	S_SNS_SUB_GET,
	S_SNS_SUB_CONFIRM,
	S_SNS_SUB_BY_TOKEN,
	S_SNS_SUB_RAW,
	S_SNS_SUB_DEL,
	S_SNS_SUB_LIST_TOPIC,
	S_SNS_SUB_LIST_ACC,
	S_SNS_OUT_PUBLISH,
	S_SNS_OUT_CONFIRM,
	S_SNS_OUT_DUE,
	S_SNS_OUT_LEASE,
	S_SNS_OUT_DONE,
	S_SNS_OUT_RETRY,
	S_SNS_OUT_RELEASE,
	S_SNS_OUT_COUNT,
	S_SNS_KEY_GET,
	S_SNS_KEY_PUT,
	S_CS_INS,
	S_CS_GET,
	S_CS_LIST,
	S_CS_DEL,
	S_CS_SENDING,
	S_CS_REPUTATION,
	S_CS_SUPPRESSION,
	S_CSD_INS,
	S_CSD_UPD,
	S_CSD_DEL,
	S_CSD_LIST,
	S_COUNT
};

#define ACC_COLS                                                                             \
	"id, name, max_24h, max_rate, sandbox, sending_enabled, created, paused_reason, resumed_at," \
	" suppressed_reasons"
#define USER_COLS "account_id, name, policy, created"
#define KEY_COLS "id, account_id, user_name, service, sealed, created"
#define ID_COLS                                                                              \
	"region, account_id, name, type, status, token, token_expires, created, dkim_enabled,"   \
	" dkim_status, dkim_token1, dkim_token2, dkim_token3, dkim_keys, mail_from_domain,"      \
	" mail_from_status, mail_from_behavior, bounce_topic, complaint_topic, delivery_topic,"  \
	" forwarding_enabled, headers_in_bounce, headers_in_complaint, headers_in_delivery,"     \
	" next_check, check_attempts, dkim_ed25519_status, config_set, dkim_origin"
#define ID_NCOLS 29
/* A DKIM or MAIL FROM check of the row is pending (verify_dns_pending for an
 * address, which has no domain TXT check of its own). */
#define ID_DNS_PENDING                                                                       \
	"((dkim_status = 'Pending' AND dkim_token1 IS NOT NULL)"                              \
	" OR (dkim_ed25519_status = 'Pending' AND dkim_token1 IS NOT NULL)"                   \
	" OR (mail_from_domain IS NOT NULL AND mail_from_status = 'Pending'))"
/* messages: raw sits between the two halves so lists can select NULL there */
#define MSG_COLS_A                                                                           \
	"id, region, sending_account, identity_owner, source_arn, from_arn, return_path_arn,"   \
	" principal, source_ip, source, from_addr, subject, destinations, "
#define MSG_COLS_B ", status, created, delivered, transport, mail_from, config_set, tags"
#define MSG_COLS MSG_COLS_A "raw" MSG_COLS_B
/* the inbox search (message_search): NULL parameters match everything;
 * the patterns arrive lowercased with LIKE's wildcards escaped by '!' */
#define MSG_FILTER                                                                           \
	" AND (CAST(?2 AS TEXT) IS NULL OR lower(coalesce(subject, '')) LIKE ?2 ESCAPE '!'"    \
	" OR lower(coalesce(from_addr, '')) LIKE ?2 ESCAPE '!'"                               \
	" OR lower(coalesce(source, '')) LIKE ?2 ESCAPE '!'"                                  \
	" OR lower(coalesce(destinations, '')) LIKE ?2 ESCAPE '!')"                           \
	" AND (CAST(?3 AS TEXT) IS NULL OR lower(coalesce(from_addr, '')) LIKE ?3 ESCAPE '!'"  \
	" OR lower(coalesce(source, '')) LIKE ?3 ESCAPE '!')"                                 \
	" AND (CAST(?4 AS TEXT) IS NULL OR lower(coalesce(destinations, '')) LIKE ?4 ESCAPE '!')" \
	" AND (CAST(?5 AS TEXT) IS NULL OR lower(coalesce(subject, '')) LIKE ?5 ESCAPE '!')"   \
	" AND (CAST(?6 AS TEXT) IS NULL OR sending_account = ?6)"
#define NOTIFY_COLS                                                                          \
	"region, owner, identity, account_id, bounce_topic, complaint_topic, delivery_topic,"    \
	" headers_bounce, headers_complaint, headers_delivery"

#define SNS_TOPIC_COLS                                                                       \
	"arn, region, account_id, name, attributes, created,"                                  \
	" (SELECT count(*) FROM sns_subscriptions s WHERE s.topic_arn = t.arn AND confirmed = 1),"  \
	" (SELECT count(*) FROM sns_subscriptions s WHERE s.topic_arn = t.arn AND confirmed = 0)"
#define CS_COLS                                                                              \
	"region, account_id, name, sending_enabled, reputation_enabled, created,"            \
	" coalesce(suppressed_reasons, -1)"
#define CSD_COLS "region, account_id, set_name, name, enabled, types, topic_arn"
#define SNS_SUB_COLS                                                                         \
	"arn, topic_arn, account_id, protocol, endpoint, confirmed, token,"                    \
	" raw_message_delivery, created"

static const char *const sql[S_COUNT] = {
	[S_TPL_INS] = "INSERT INTO templates (region, account_id, name, subject, text, html, created)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_TPL_UPD] = "UPDATE templates SET subject = ?4, text = ?5, html = ?6"
		      " WHERE region = ?1 AND account_id = ?2 AND name = ?3",
	[S_TPL_GET] = "SELECT region, account_id, name, subject, text, html, created FROM templates"
		      " WHERE region = ?1 AND account_id = ?2 AND name = ?3",
	[S_TPL_LIST] = "SELECT region, account_id, name, subject, text, html, created FROM templates"
		       " WHERE region = ?1 AND account_id = ?2 AND (CAST(?3 AS TEXT) IS NULL OR name > ?3)"
		       " ORDER BY name LIMIT ?4",
	[S_TPL_DEL] = "DELETE FROM templates WHERE region = ?1 AND account_id = ?2 AND name = ?3",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_SNAPSHOT] = "BEGIN DEFERRED", /* a read snapshot: SQLite's only (sq_snapshot_begin) */
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_BUMP] = "UPDATE generation SET value = value + 1 WHERE id = 1",
	[S_TX_LOCK] = "SELECT value FROM generation WHERE id = 1 FOR UPDATE", /* PostgreSQL's */
	[S_GEN] = "SELECT value FROM generation WHERE id = 1",
	[S_ACC_INS] = "INSERT INTO accounts (" ACC_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '', 0, 3)",
	[S_ACC_GET] = "SELECT " ACC_COLS " FROM accounts WHERE id = ?1",
	[S_ACC_LIST] = "SELECT " ACC_COLS " FROM accounts ORDER BY created, id",
	[S_ACC_DEL] = "DELETE FROM accounts WHERE id = ?1",
	[S_ACC_SENDING] = "UPDATE accounts SET sending_enabled = ?2 WHERE id = ?1",
	[S_ACC_SUPPRESSION] = "UPDATE accounts SET suppressed_reasons = ?2 WHERE id = ?1",
	[S_ACC_PAUSE] = "UPDATE accounts SET paused_reason = ?2 WHERE id = ?1 AND paused_reason = ''",
	[S_ACC_RESUME] = "UPDATE accounts SET paused_reason = '', resumed_at = ?2 WHERE id = ?1",
	[S_USER_INS] = "INSERT INTO users (" USER_COLS ") VALUES (?1, ?2, ?3, ?4)",
	[S_USER_GET] = "SELECT " USER_COLS " FROM users WHERE account_id = ?1 AND name = ?2",
	[S_USER_LIST] = "SELECT " USER_COLS " FROM users WHERE account_id = ?1 ORDER BY name",
	[S_USER_DEL] = "DELETE FROM users WHERE account_id = ?1 AND name = ?2",
	[S_KEY_INS] = "INSERT INTO access_keys (" KEY_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_KEY_GET] = "SELECT " KEY_COLS " FROM access_keys WHERE id = ?1",
	[S_KEY_LIST] = "SELECT " KEY_COLS " FROM access_keys ORDER BY created, id",
	[S_KEY_LIST_ACC] = "SELECT " KEY_COLS " FROM access_keys WHERE account_id = ?1"
			   " ORDER BY created, id",
	[S_KEY_DEL] = "DELETE FROM access_keys WHERE id = ?1",
	[S_ID_PUT] = "INSERT INTO identities (" ID_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
		     " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,"
		     " ?23, ?24, ?25, ?26, ?27, ?28, ?29)"
		     " ON CONFLICT (region, account_id, name) DO UPDATE SET"
		     " type = excluded.type, status = excluded.status, token = excluded.token,"
		     " token_expires = excluded.token_expires,"
		     " dkim_enabled = excluded.dkim_enabled, dkim_status = excluded.dkim_status,"
		     " dkim_token1 = excluded.dkim_token1, dkim_token2 = excluded.dkim_token2,"
		     " dkim_token3 = excluded.dkim_token3, dkim_keys = excluded.dkim_keys,"
		     " mail_from_domain = excluded.mail_from_domain,"
		     " mail_from_status = excluded.mail_from_status,"
		     " mail_from_behavior = excluded.mail_from_behavior,"
		     " bounce_topic = excluded.bounce_topic,"
		     " complaint_topic = excluded.complaint_topic,"
		     " delivery_topic = excluded.delivery_topic,"
		     " forwarding_enabled = excluded.forwarding_enabled,"
		     " headers_in_bounce = excluded.headers_in_bounce,"
		     " headers_in_complaint = excluded.headers_in_complaint,"
		     " headers_in_delivery = excluded.headers_in_delivery,"
		     " next_check = excluded.next_check, check_attempts = excluded.check_attempts,"
		     " dkim_ed25519_status = excluded.dkim_ed25519_status,"
		     " config_set = excluded.config_set, dkim_origin = excluded.dkim_origin",
	[S_ID_GET] = "SELECT " ID_COLS " FROM identities"
		     " WHERE region = ?1 AND account_id = ?2 AND name = ?3",
	[S_ID_TOKEN] = "SELECT " ID_COLS " FROM identities WHERE token = ?1"
		       " ORDER BY created LIMIT 1",
	[S_ID_LIST] = "SELECT " ID_COLS " FROM identities"
		      " WHERE region = ?1 AND account_id = ?2 AND (CAST(?3 AS TEXT) IS NULL OR type = ?3)"
		      " AND (CAST(?4 AS TEXT) IS NULL OR name > ?4) ORDER BY name LIMIT ?5",
	[S_ID_DUE] = "SELECT " ID_COLS " FROM identities"
		     " WHERE next_check > 0 AND next_check <= ?1 ORDER BY next_check",
	[S_ID_DEL] = "DELETE FROM identities WHERE region = ?1 AND account_id = ?2 AND name = ?3",
	[S_POL_EXISTS] = "SELECT 1 FROM identity_policies WHERE region = ?1 AND account_id = ?2"
			 " AND identity = ?3 AND name = ?4",
	[S_POL_COUNT] = "SELECT count(*) FROM identity_policies WHERE region = ?1"
			" AND account_id = ?2 AND identity = ?3",
	[S_POL_PUT] = "INSERT INTO identity_policies (region, account_id, identity, name, document)"
		      " VALUES (?1, ?2, ?3, ?4, ?5)"
		      " ON CONFLICT (region, account_id, identity, name)"
		      " DO UPDATE SET document = excluded.document",
	[S_POL_LIST] = "SELECT name, document FROM identity_policies WHERE region = ?1"
		       " AND account_id = ?2 AND identity = ?3 ORDER BY name LIMIT ?4",
	[S_POL_DEL] = "DELETE FROM identity_policies WHERE region = ?1 AND account_id = ?2"
		      " AND identity = ?3 AND name = ?4",
	[S_EV_INS] = "INSERT INTO send_counts (account_id, kind, minute, recipients)"
		     " VALUES (?1, ?4, CAST(?2 AS BIGINT) / 60, ?3) ON CONFLICT (account_id, kind, minute)"
		     " DO UPDATE SET recipients = send_counts.recipients + excluded.recipients",
	/* every count goes to its minute and to its quarter hour (migration 15) */
	[S_EV_INS_Q] = "INSERT INTO send_counts_15m (account_id, kind, quarter, recipients)"
		       " VALUES (?1, ?4, CAST(?2 AS BIGINT) / 900, ?3)"
		       " ON CONFLICT (account_id, kind, quarter)"
		       " DO UPDATE SET recipients = send_counts_15m.recipients + excluded.recipients",
	/* minute granularity: the window may include up to 59 s more, never
	 * less. The quarters wholly inside it, then the minutes of the first
	 * one from its minute on: at most 96 + 15 rows whatever the history */
	[S_EV_SUM] = "SELECT coalesce((SELECT sum(recipients) FROM send_counts_15m"
		     "  WHERE account_id = ?1 AND kind = ?2 AND quarter > CAST(?3 AS BIGINT) / 900), 0)"
		     " + coalesce((SELECT sum(recipients) FROM send_counts"
		     "  WHERE account_id = ?1 AND kind = ?2 AND minute >= CAST(?3 AS BIGINT) / 60"
		     "  AND minute < (CAST(?3 AS BIGINT) / 900 + 1) * 15), 0)",
	/* the 15-minute buckets from the window's minute on, as S_EV_SUM reads
	 * them; kind is named so the search is bounded by time in the key */
	[S_EV_BUCKETS] = "SELECT b,"
			 " sum(CASE kind WHEN 'accept' THEN n ELSE 0 END),"
			 " sum(CASE kind WHEN 'bounce' THEN n ELSE 0 END),"
			 " sum(CASE kind WHEN 'complaint' THEN n ELSE 0 END),"
			 " sum(CASE kind WHEN 'reject' THEN n ELSE 0 END)"
			 " FROM (SELECT quarter * 900 AS b, kind, recipients AS n FROM send_counts_15m"
			 "  WHERE account_id = ?1 AND kind IN ('accept', 'bounce', 'complaint', 'reject')"
			 "  AND quarter > CAST(?2 AS BIGINT) / 900"
			 "  UNION ALL SELECT (minute / 15) * 900, kind, recipients FROM send_counts"
			 "  WHERE account_id = ?1 AND kind IN ('accept', 'bounce', 'complaint', 'reject')"
			 "  AND minute >= CAST(?2 AS BIGINT) / 60"
			 "  AND minute < (CAST(?2 AS BIGINT) / 900 + 1) * 15) AS u"
			 " GROUP BY b ORDER BY b",
	[S_MSG_INS] = "INSERT INTO messages (" MSG_COLS_A "raw, status, created, delivered,"
		      " transport, mail_from, config_set, tags)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
		      " ?16, ?17, ?18, ?19, ?20, ?21)",
	[S_MSG_LIST] = "SELECT * FROM (SELECT " MSG_COLS_A "NULL" MSG_COLS_B ", rowid AS r"
		       " FROM messages WHERE transport = ?1 AND status <> 'queued'"
		       " ORDER BY created DESC, rowid DESC LIMIT ?2) ORDER BY created, r",
	[S_MSG_GET] = "SELECT " MSG_COLS " FROM messages WHERE id = ?1",
	[S_MSG_DEL] = "DELETE FROM messages WHERE transport = ?1 AND status <> 'queued'",
	[S_MSG_SEARCH] = "SELECT * FROM (SELECT " MSG_COLS_A "NULL" MSG_COLS_B ", rowid AS r"
			 " FROM messages WHERE transport = ?1 AND status <> 'queued'" MSG_FILTER
			 " ORDER BY created DESC, rowid DESC LIMIT ?7) ORDER BY created, r",
	[S_MSG_DEL_ONE] = "DELETE FROM messages WHERE id = ?1 AND transport = ?2"
			  " AND status <> 'queued'",
	/* the link within its time; SET expressions all read the old row */
	[S_ID_LINK_OK] = "UPDATE identities SET status = 'Success',"
			 " token_expires = CASE WHEN " ID_DNS_PENDING " THEN ?3"
			 " ELSE token_expires END,"
			 " check_attempts = CASE WHEN " ID_DNS_PENDING " THEN 0"
			 " ELSE check_attempts END,"
			 " next_check = CASE WHEN " ID_DNS_PENDING " THEN ?2 ELSE 0 END"
			 " WHERE token = ?1 AND type = 'EmailAddress' AND status = 'Pending'"
			 " AND token_expires > ?2 RETURNING " ID_COLS,
	/* the link after its time */
	[S_ID_LINK_FAIL] = "UPDATE identities SET status = 'Failed',"
			   " mail_from_status = CASE WHEN mail_from_domain IS NOT NULL"
			   " AND mail_from_status = 'Pending' THEN 'Failed'"
			   " ELSE mail_from_status END, next_check = 0"
			   " WHERE token = ?1 AND type = 'EmailAddress' AND status = 'Pending'"
			   " AND token_expires <= ?2 RETURNING " ID_COLS,
	[S_ID_NEXT] = "UPDATE identities SET next_check = ?4"
		      " WHERE region = ?1 AND account_id = ?2 AND name = ?3 AND next_check <> ?4",
	[S_ID_CAS] = "UPDATE identities SET status = ?5, dkim_status = ?6, mail_from_status = ?7,"
		     " token_expires = ?8, next_check = ?9, check_attempts = ?10,"
		     " dkim_ed25519_status = ?22"
		     " WHERE region = ?1 AND account_id = ?2 AND name = ?3 AND type = ?4"
		     " AND token IS NOT DISTINCT FROM ?11 AND dkim_token1 IS NOT DISTINCT FROM ?12"
		     " AND dkim_token2 IS NOT DISTINCT FROM ?13 AND dkim_token3 IS NOT DISTINCT FROM ?14"
		     " AND mail_from_domain IS NOT DISTINCT FROM ?15 AND status = ?16"
		     " AND dkim_status = ?17 AND mail_from_status = ?18 AND token_expires = ?19"
		     " AND next_check = ?20 AND check_attempts = ?21 AND dkim_ed25519_status = ?23"
		     " AND dkim_keys IS NOT DISTINCT FROM ?24",
	[S_RCPT_INS] = "INSERT INTO recipients (message_id, idx, address, status)"
		       " VALUES (?1, ?2, ?3, 'queued')",
	/* due first; a dead owner's lease counts as due once it ended */
	[S_RCPT_CLAIM] = "UPDATE recipients SET status = 'sending', lease_owner = ?1,"
			 " lease_until = ?3, attempts = attempts + 1"
			 " WHERE (message_id, idx) IN (SELECT message_id, idx FROM ("
			 "  SELECT message_id, idx, next_attempt AS t FROM recipients"
			 "   WHERE status = 'queued' AND next_attempt <= ?2"
			 "  UNION ALL SELECT message_id, idx, lease_until AS t FROM recipients"
			 "   WHERE status = 'sending' AND lease_until <= ?2"
			 "   AND lease_owner IS DISTINCT FROM ?1) due"
			 "  ORDER BY t LIMIT ?4)"
			 " RETURNING message_id, idx, address, attempts, delayed",
	[S_RCPT_FINISH] = "UPDATE recipients SET status = ?4, next_attempt = ?5,"
			  " delayed = CASE WHEN CAST(?6 AS BIGINT) <> 0 THEN 1 ELSE delayed END,"
			  " lease_owner = NULL, lease_until = 0"
			  " WHERE message_id = ?1 AND idx = ?2 AND status = 'sending'"
			  " AND lease_owner = ?3",
	[S_RCPT_DEPTH] = "SELECT (SELECT count(*) FROM recipients WHERE status = 'queued'),"
			 " (SELECT count(*) FROM recipients WHERE status = 'queued' AND attempts > 0),"
			 " (SELECT count(*) FROM recipients WHERE status = 'sending')",
	[S_RCPT_RENEW] = "UPDATE recipients SET lease_until = ?3"
			 " WHERE status = 'sending' AND lease_owner = ?1 AND lease_until > ?2",
	[S_RCPT_RELEASE] = "UPDATE recipients SET status = 'queued', next_attempt = 0,"
			   " lease_owner = NULL, lease_until = 0"
			   " WHERE status = 'sending' AND lease_owner = ?1",
	/* finish a message none of whose recipients is still to do */
	[S_MSG_DONE] = "UPDATE messages SET status = CASE WHEN EXISTS (SELECT 1 FROM recipients"
		       "  WHERE message_id = ?1 AND status = 'delivered') THEN 'delivered'"
		       "  ELSE 'failed' END, transport = ?2, delivered = ?3"
		       " WHERE id = ?1 AND status = 'queued' AND NOT EXISTS (SELECT 1 FROM"
		       "  recipients WHERE message_id = ?1 AND status IN ('queued', 'sending'))",
	/* an event's statistics count, charged to its message's sending account */
	[S_EVT_COUNT] = "INSERT INTO send_counts (account_id, kind, minute, recipients)"
			" SELECT sending_account, CAST(?2 AS TEXT), CAST(?3 AS BIGINT) / 60000, 1"
			" FROM messages WHERE id = ?1 AND sending_account <> ''"
			" ON CONFLICT (account_id, kind, minute)"
			" DO UPDATE SET recipients = send_counts.recipients + 1",
	[S_EVT_COUNT_Q] = "INSERT INTO send_counts_15m (account_id, kind, quarter, recipients)"
			  " SELECT sending_account, CAST(?2 AS TEXT), CAST(?3 AS BIGINT) / 900000, 1"
			  " FROM messages WHERE id = ?1 AND sending_account <> ''"
			  " ON CONFLICT (account_id, kind, quarter)"
			  " DO UPDATE SET recipients = send_counts_15m.recipients + 1",
	[S_EVT_INS] = "INSERT INTO events (message_id, recipient, type, ts, detail)"
		      " VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_EVT_LIST] = "SELECT seq, message_id, recipient, type, ts, detail FROM events"
		       " WHERE message_id = ?1 ORDER BY seq",
	/* an event's suppression, on its message's sending account's list */
	[S_EVT_SUPPRESS] = "INSERT INTO suppressed (account_id, address, reason, message_id,"
			   " feedback_id, ts)"
			   " SELECT m.sending_account, lower(?2), CAST(?3 AS TEXT), m.id,"
			   " coalesce(json_extract(?5, '$.feedbackId'), ''), CAST(?4 AS BIGINT) / 1000"
			   " FROM messages m JOIN accounts a ON a.id = m.sending_account"
			   " LEFT JOIN config_sets c ON c.region = m.region"
			   " AND c.account_id = m.sending_account AND c.name = m.config_set"
			   " WHERE m.id = ?1 AND (coalesce(c.suppressed_reasons, a.suppressed_reasons)"
			   " & CASE CAST(?3 AS TEXT) WHEN 'BOUNCE' THEN 1 ELSE 2 END) <> 0"
			   " ON CONFLICT (account_id, address) DO UPDATE SET reason = excluded.reason,"
			   " message_id = excluded.message_id, feedback_id = excluded.feedback_id,"
			   " ts = excluded.ts",
	/* feedback_add: the message exists and has no such event for the recipient */
	[S_EVT_SEEN] = "SELECT NOT EXISTS (SELECT 1 FROM messages WHERE id = ?1)"
		       " OR EXISTS (SELECT 1 FROM events WHERE message_id = ?1"
		       " AND recipient IS NOT DISTINCT FROM ?2 AND type = ?3"
		       " AND json_extract(detail, '$.bounceType') IS json_extract(?4, '$.bounceType')"
		       " AND json_extract(detail, '$.complaintFeedbackType')"
		       " IS json_extract(?4, '$.complaintFeedbackType'))",
	[S_RCPT_INS_AS] = "INSERT INTO recipients (message_id, idx, address, status)"
			  " VALUES (?1, ?2, ?3, ?4)",
	[S_SUP_PUT] = "INSERT INTO suppressed (account_id, address, reason, message_id,"
		      " feedback_id, ts) VALUES (?1, lower(?2), ?3, ?4, ?5, ?6)"
		      " ON CONFLICT (account_id, address) DO UPDATE SET reason = excluded.reason,"
		      " message_id = excluded.message_id, feedback_id = excluded.feedback_id,"
		      " ts = excluded.ts",
	[S_SUP_GET] = "SELECT account_id, address, reason, message_id, feedback_id, ts"
		      " FROM suppressed WHERE account_id = ?1 AND address = lower(?2)",
	[S_SUP_LIST] = "SELECT account_id, address, reason, message_id, feedback_id, ts"
		       " FROM suppressed WHERE account_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR address > ?2)"
		       " ORDER BY address LIMIT ?3",
	[S_SUP_DEL] = "DELETE FROM suppressed WHERE account_id = ?1 AND address = lower(?2)",
	[S_NOTIFY_PUT] = "INSERT INTO notify_settings (region, owner, identity, account_id,"
			 " bounce_topic, complaint_topic, delivery_topic, headers_bounce,"
			 " headers_complaint, headers_delivery)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
			 " ON CONFLICT (region, owner, identity, account_id) DO UPDATE SET"
			 " bounce_topic = excluded.bounce_topic,"
			 " complaint_topic = excluded.complaint_topic,"
			 " delivery_topic = excluded.delivery_topic,"
			 " headers_bounce = excluded.headers_bounce,"
			 " headers_complaint = excluded.headers_complaint,"
			 " headers_delivery = excluded.headers_delivery",
	[S_NOTIFY_DEL] = "DELETE FROM notify_settings WHERE region = ?1 AND owner = ?2"
			 " AND identity = ?3 AND account_id = ?4",
	[S_NOTIFY_GET] = "SELECT " NOTIFY_COLS " FROM notify_settings WHERE region = ?1"
			 " AND owner = ?2 AND identity = ?3 AND account_id = ?4",
	[S_NOTIFY_LIST] = "SELECT " NOTIFY_COLS " FROM notify_settings WHERE region = ?1"
			  " AND owner = ?2 AND identity = ?3 ORDER BY account_id",
	[S_ID_FORWARD] = "UPDATE identities SET forwarding_enabled = ?4"
			 " WHERE region = ?1 AND account_id = ?2 AND name = ?3",
	[S_SNS_TOPIC_INS] = "INSERT INTO sns_topics (arn, region, account_id, name, attributes, created)"
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (arn) DO NOTHING",
	[S_SNS_TOPIC_GET] = "SELECT " SNS_TOPIC_COLS " FROM sns_topics t WHERE arn = ?1",
	[S_SNS_TOPIC_LIST] = "SELECT " SNS_TOPIC_COLS " FROM sns_topics t WHERE account_id = ?1"
			     " AND region = ?2 AND (CAST(?3 AS TEXT) IS NULL OR arn > ?3) ORDER BY arn LIMIT ?4",
	[S_SNS_TOPIC_ATTRS] = "UPDATE sns_topics SET attributes = ?2 WHERE arn = ?1",
	[S_SNS_TOPIC_DEL] = "DELETE FROM sns_topics WHERE arn = ?1",
	[S_SNS_SUB_INS] = "INSERT INTO sns_subscriptions (" SNS_SUB_COLS ")"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[S_SNS_SUB_FIND] = "SELECT " SNS_SUB_COLS " FROM sns_subscriptions WHERE topic_arn = ?1"
			   " AND protocol = ?2 AND endpoint = ?3",
	[S_SNS_SUB_GET] = "SELECT " SNS_SUB_COLS " FROM sns_subscriptions WHERE arn = ?1",
	[S_SNS_SUB_CONFIRM] = "UPDATE sns_subscriptions SET confirmed = 1 WHERE topic_arn = ?1"
			      " AND token = ?2",
	[S_SNS_SUB_BY_TOKEN] = "SELECT " SNS_SUB_COLS " FROM sns_subscriptions WHERE topic_arn = ?1"
			       " AND token = ?2",
	[S_SNS_SUB_RAW] = "UPDATE sns_subscriptions SET raw_message_delivery = ?2 WHERE arn = ?1",
	[S_SNS_SUB_DEL] = "DELETE FROM sns_subscriptions WHERE arn = ?1",
	[S_SNS_SUB_LIST_TOPIC] = "SELECT " SNS_SUB_COLS " FROM sns_subscriptions WHERE topic_arn = ?1"
				 " AND (CAST(?2 AS TEXT) IS NULL OR arn > ?2) ORDER BY arn LIMIT ?3",
	[S_SNS_SUB_LIST_ACC] = "SELECT " SNS_SUB_COLS " FROM sns_subscriptions WHERE account_id = ?1"
			       " AND topic_arn LIKE ('arn:aws:sns:' || ?4 || ':%')"
			       " AND (CAST(?2 AS TEXT) IS NULL OR arn > ?2) ORDER BY arn LIMIT ?3",
	[S_SNS_OUT_PUBLISH] = "INSERT INTO sns_outbox (message_id, type, topic_arn, subscription_arn,"
			      " subject, message, timestamp_ms, next_attempt_ms)"
			      " SELECT CAST(?1 AS TEXT), 'Notification', topic_arn, arn, CAST(?3 AS TEXT),"
			      " CAST(?4 AS TEXT), CAST(?5 AS BIGINT), CAST(?5 AS BIGINT)"
			      " FROM sns_subscriptions WHERE topic_arn = ?2 AND confirmed = 1"
			      " ORDER BY arn",
	[S_SNS_OUT_CONFIRM] = "INSERT INTO sns_outbox (message_id, type, topic_arn, subscription_arn,"
			      " subject, message, timestamp_ms, next_attempt_ms)"
			      " VALUES (?1, 'SubscriptionConfirmation', ?2, ?3, NULL, ?4, ?5, ?5)",
	[S_SNS_OUT_DUE] = "SELECT o.id, o.message_id, o.type, o.topic_arn, o.subscription_arn,"
			  " o.subject, o.message, o.timestamp_ms, o.attempts + 1, s.protocol,"
			  " s.endpoint, s.token, s.raw_message_delivery,"
			  " coalesce(json_extract(t.attributes, '$.SignatureVersion'), '1')"
			  " FROM sns_outbox o JOIN sns_subscriptions s ON s.arn = o.subscription_arn"
			  " JOIN sns_topics t ON t.arn = s.topic_arn"
			  " WHERE (o.state = 'queued' AND o.next_attempt_ms <= ?2)"
			  " OR (o.state = 'sending' AND o.lease_until <= ?2"
			  " AND o.lease_owner IS DISTINCT FROM ?1)"
			  " ORDER BY o.next_attempt_ms, o.id LIMIT ?3",
	[S_SNS_OUT_LEASE] = "UPDATE sns_outbox SET state = 'sending', lease_owner = ?2,"
			    " lease_until = ?3, attempts = attempts + 1 WHERE id = ?1",
	[S_SNS_OUT_DONE] = "DELETE FROM sns_outbox WHERE id = ?1 AND state = 'sending'"
			   " AND lease_owner = ?2",
	[S_SNS_OUT_RETRY] = "UPDATE sns_outbox SET state = 'queued', lease_owner = NULL,"
			    " lease_until = 0, next_attempt_ms = ?3"
			    " WHERE id = ?1 AND state = 'sending' AND lease_owner = ?2",
	[S_SNS_OUT_RELEASE] = "UPDATE sns_outbox SET state = 'queued', lease_owner = NULL,"
			      " lease_until = 0, next_attempt_ms = 0"
			      " WHERE state = 'sending' AND lease_owner = ?1",
	[S_SNS_OUT_COUNT] = "SELECT count(*) FROM sns_outbox WHERE CAST(?1 AS TEXT) IS NULL OR type = ?1",
	[S_SNS_KEY_GET] = "SELECT sealed, cert FROM sns_keys WHERE id = 1",
	[S_SNS_KEY_PUT] = "INSERT INTO sns_keys (id, sealed, cert, created) VALUES (1, ?1, ?2, ?3)"
			  " ON CONFLICT (id) DO NOTHING",
	[S_CS_INS] = "INSERT INTO config_sets (region, account_id, name, sending_enabled,"
		     " reputation_enabled, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_CS_GET] = "SELECT " CS_COLS " FROM config_sets"
		     " WHERE region = ?1 AND account_id = ?2 AND name = ?3",
	[S_CS_LIST] = "SELECT " CS_COLS " FROM config_sets WHERE region = ?1 AND account_id = ?2"
		      " AND (CAST(?3 AS TEXT) IS NULL OR name > ?3) ORDER BY name LIMIT ?4",
	[S_CS_DEL] = "DELETE FROM config_sets WHERE region = ?1 AND account_id = ?2 AND name = ?3",
	[S_CS_SENDING] = "UPDATE config_sets SET sending_enabled = ?4"
			 " WHERE region = ?1 AND account_id = ?2 AND name = ?3",
	[S_CS_REPUTATION] = "UPDATE config_sets SET reputation_enabled = ?4"
			    " WHERE region = ?1 AND account_id = ?2 AND name = ?3",
	[S_CS_SUPPRESSION] = "UPDATE config_sets SET suppressed_reasons = NULLIF(CAST(?4 AS BIGINT), -1)"
			     " WHERE region = ?1 AND account_id = ?2 AND name = ?3",
	[S_CSD_INS] = "INSERT INTO config_set_destinations (" CSD_COLS ")"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_CSD_UPD] = "UPDATE config_set_destinations SET enabled = ?5, types = ?6, topic_arn = ?7"
		      " WHERE region = ?1 AND account_id = ?2 AND set_name = ?3 AND name = ?4",
	[S_CSD_DEL] = "DELETE FROM config_set_destinations WHERE region = ?1 AND account_id = ?2"
		      " AND set_name = ?3 AND name = ?4",
	[S_CSD_LIST] = "SELECT " CSD_COLS " FROM config_set_destinations WHERE region = ?1"
		       " AND account_id = ?2 AND set_name = ?3 ORDER BY name",
	[S_MF_KNOWN] = "SELECT EXISTS (SELECT 1 FROM identities WHERE mail_from_domain = lower(?1)"
		       " AND mail_from_status = 'Success')",
};

/* The PostgreSQL text of the statements whose SQLite text it does not
 * accept (store_pg.c rewrites ?N to $N in both). */
static const char *const sql_pg[S_COUNT] = {
	[S_BEGIN] = "BEGIN",
	[S_MSG_LIST] = "SELECT * FROM (SELECT " MSG_COLS_A "NULL" MSG_COLS_B
		       " FROM messages WHERE transport = ?1 AND status <> 'queued'"
		       " ORDER BY created DESC, id DESC LIMIT ?2) m ORDER BY created, id",
	[S_MSG_SEARCH] = "SELECT * FROM (SELECT " MSG_COLS_A "NULL" MSG_COLS_B
			 " FROM messages WHERE transport = ?1 AND status <> 'queued'" MSG_FILTER
			 " ORDER BY created DESC, id DESC LIMIT ?7) m ORDER BY created, id",
	[S_EVT_SUPPRESS] = "INSERT INTO suppressed (account_id, address, reason, message_id,"
			   " feedback_id, ts)"
			   " SELECT m.sending_account, lower(?2), CAST(?3 AS TEXT), m.id,"
			   " coalesce(CAST(?5 AS TEXT)::jsonb->>'feedbackId', ''),"
			   " CAST(?4 AS BIGINT) / 1000"
			   " FROM messages m JOIN accounts a ON a.id = m.sending_account"
			   " LEFT JOIN config_sets c ON c.region = m.region"
			   " AND c.account_id = m.sending_account AND c.name = m.config_set"
			   " WHERE m.id = ?1 AND (coalesce(c.suppressed_reasons, a.suppressed_reasons)"
			   " & CASE CAST(?3 AS TEXT) WHEN 'BOUNCE' THEN 1 ELSE 2 END) <> 0"
			   " ON CONFLICT (account_id, address) DO UPDATE SET reason = excluded.reason,"
			   " message_id = excluded.message_id, feedback_id = excluded.feedback_id,"
			   " ts = excluded.ts",
	[S_EVT_SEEN] = "SELECT NOT EXISTS (SELECT 1 FROM messages WHERE id = ?1)"
		       " OR EXISTS (SELECT 1 FROM events WHERE message_id = ?1"
		       " AND recipient IS NOT DISTINCT FROM ?2 AND type = ?3"
		       " AND (detail::jsonb->>'bounceType') IS NOT DISTINCT FROM"
		       " (CAST(?4 AS TEXT)::jsonb->>'bounceType')"
		       " AND (detail::jsonb->>'complaintFeedbackType') IS NOT DISTINCT FROM"
		       " (CAST(?4 AS TEXT)::jsonb->>'complaintFeedbackType'))",
	[S_SNS_OUT_DUE] = "SELECT o.id, o.message_id, o.type, o.topic_arn, o.subscription_arn,"
			  " o.subject, o.message, o.timestamp_ms, o.attempts + 1, s.protocol,"
			  " s.endpoint, s.token, s.raw_message_delivery,"
			  " coalesce(t.attributes::jsonb->>'SignatureVersion', '1')"
			  " FROM sns_outbox o JOIN sns_subscriptions s ON s.arn = o.subscription_arn"
			  " JOIN sns_topics t ON t.arn = s.topic_arn"
			  " WHERE (o.state = 'queued' AND o.next_attempt_ms <= ?2)"
			  " OR (o.state = 'sending' AND o.lease_until <= ?2"
			  " AND o.lease_owner IS DISTINCT FROM ?1)"
			  " ORDER BY o.next_attempt_ms, o.id LIMIT ?3 FOR UPDATE OF o SKIP LOCKED",
};

struct sq {
	struct store base; /* first: a struct store * is a struct sq * */
	const struct sql_driver *drv;
	struct sql_conn *c;
	bool pg;           /* PostgreSQL: sql_pg[] texts where they differ */
	bool snapshot;     /* a read snapshot is open (sq_snapshot_begin) */
	struct sql_stmt *st[S_COUNT];
};

static struct sq *
sq_of(struct store *s)
{
	return (struct sq *)s;
}

/* Map a failed step to struct err. Constraint failures are permanent and
 * typed (store.h); everything else is a temporary storage failure. */
static int
db_fail(struct sq *q, struct err *e)
{
	switch (q->drv->failure(q->c)) {
	case SQL_FAIL_UNIQUE:
		return err_set(e, 400, STORE_ERR_EXISTS, "already exists");
	case SQL_FAIL_FOREIGN:
		return err_set(e, 404, STORE_ERR_NO_PARENT, "refers to a row that does not exist");
	case SQL_FAIL_CHECK:
		return err_set(e, 400, "InvalidParameterValue", "store: %s", q->drv->errmsg(q->c));
	default:
		return err_temp(e, "store: %s", q->drv->errmsg(q->c));
	}
}

static void snapshot_end(struct sq *q);

/* The cached statement `id`, prepared on first use; NULL with e filled.
 * Anything but a SELECT ends an open read snapshot first: a write (or
 * BEGIN IMMEDIATE) never runs inside it, and what follows reads afresh. */
static struct sql_stmt *
stmt(struct sq *q, enum sid id, struct err *e)
{
	if (q->snapshot && strncmp(sql[id], "SELECT", 6) != 0)
		snapshot_end(q);
	if (q->st[id] == NULL)
		q->st[id] = q->drv->prepare(q->c, id, q->pg && sql_pg[id] ? sql_pg[id] : sql[id], e);
	return q->st[id];
}

static void
release(struct sql_stmt *st)
{
	st->drv->reset(st);
}

/* One step: 1 row, 0 done, -1 error (e filled). The caller releases. */
static int
step(struct sq *q, struct sql_stmt *st, struct err *e)
{
	int rc = st->drv->step(st);

	return rc >= 0 ? rc : db_fail(q, e);
}

/* Run a parameterless statement to completion. */
static int
run(struct sq *q, enum sid id, struct err *e)
{
	struct sql_stmt *st = stmt(q, id, e);
	int rc;

	if (st == NULL)
		return -1;
	rc = step(q, st, e);
	release(st);
	return rc < 0 ? -1 : 0;
}

static int
bind_fail(struct sq *q, struct sql_stmt *st, struct err *e)
{
	err_temp(e, "store: cannot bind parameter: %s", q->drv->errmsg(q->c));
	release(st);
	return -1;
}

/* Bind helpers: NULL strings bind SQL NULL. The values are borrowed until
 * the statement is reset, which every op does before it returns
 * (invariant 1). */
static int
bt(struct sql_stmt *st, int i, const char *s)
{
	return st->drv->bind_text(st, i, s);
}

/* "" binds NULL (optional names stored as NULL so composite FKs skip them). */
static int
bt_opt(struct sql_stmt *st, int i, const char *s)
{
	return bt(st, i, s != NULL && s[0] != '\0' ? s : NULL);
}

static int
bi(struct sql_stmt *st, int i, int64_t v)
{
	return st->drv->bind_int(st, i, v);
}

static int
bd(struct sql_stmt *st, int i, double v)
{
	return st->drv->bind_double(st, i, v);
}

static int
bnull(struct sql_stmt *st, int i)
{
	return st->drv->bind_text(st, i, NULL);
}

static int
bb(struct sql_stmt *st, int i, const uint8_t *p, size_t n)
{
	return st->drv->bind_blob(st, i, p, n);
}

static int64_t
col_i64(struct sql_stmt *st, int i)
{
	return st->drv->col_int(st, i);
}

static double
col_f64(struct sql_stmt *st, int i)
{
	return st->drv->col_double(st, i);
}

static const char *
col_text(struct sql_stmt *st, int i)
{
	return st->drv->col_text(st, i);
}

static void
col_copy(struct sql_stmt *st, int i, char *dst, size_t cap)
{
	const char *t = col_text(st, i);
	size_t n = t != NULL ? strnlen(t, cap - 1) : 0;

	memcpy(dst, t != NULL ? t : "", n);
	dst[n] = '\0';
}

static char *
col_dup(struct sql_stmt *st, int i)
{
	const char *t = col_text(st, i);
	return t != NULL ? xstrdup(t) : NULL;
}

static uint8_t *
col_blob(struct sql_stmt *st, int i, size_t *len_out)
{
	size_t n = 0;
	const uint8_t *p = st->drv->col_blob(st, i, &n);
	uint8_t *out;

	*len_out = 0;
	if (p == NULL || n == 0)
		return NULL;
	out = xmalloc(n);
	memcpy(out, p, n);
	*len_out = n;
	return out;
}

/* rows changed by the last write statement */
static int64_t
changes(struct sq *q)
{
	return q->drv->changes(q->c);
}

/* ---- transactions ------------------------------------------------------ */

/* Every write: on SQLite BEGIN IMMEDIATE takes the write lock; on
 * PostgreSQL the generation row's lock serializes writers the same way
 * (every write bumps or may bump it anyway), across nodes too. */
static int
tx_begin(struct sq *q, struct err *e)
{
	if (run(q, S_BEGIN, e) != 0)
		return -1;
	if (q->pg && run(q, S_TX_LOCK, e) != 0) {
		struct err ignored;
		run(q, S_ROLLBACK, &ignored);
		return -1;
	}
	return 0;
}

/*
 * Finish a write begun with tx_begin: on r >= 0 bump the generation and
 * commit, returning r; on r < 0 (e already filled) roll back and return -1.
 */
static int
tx_end(struct sq *q, int r, struct err *e)
{
	if (r >= 0 && run(q, S_BUMP, e) == 0 && run(q, S_COMMIT, e) == 0)
		return r;
	if (q->drv->in_tx(q->c)) {
		struct err ignored;
		run(q, S_ROLLBACK, &ignored);
	}
	return -1;
}

/*
 * Finish a write that touches only `messages` and `send_events`: commit on
 * r >= 0 (returning r), roll back on r < 0. Unlike tx_end it does not bump
 * the generation: nothing cached depends on these rows, and they are
 * written on every send — bumping would make every policy cache rebuild per
 * message (see store.h).
 */
static int
tx_end_data(struct sq *q, int r, struct err *e)
{
	if (r >= 0 && run(q, S_COMMIT, e) == 0)
		return r;
	if (q->drv->in_tx(q->c)) {
		struct err ignored;
		run(q, S_ROLLBACK, &ignored);
	}
	return -1;
}

/*
 * A read snapshot: the reads of one request share one read transaction
 * (SQLite WAL: one read lock taken and released, not one per statement —
 * each costs fcntl calls and the shared-memory mutex the API threads
 * contend on). Only on SQLite: PostgreSQL would pay two round trips for it.
 * Ended by sq_snapshot_end, or by the first statement that is not a SELECT.
 */
static void
sq_snapshot_begin(struct store *s)
{
	struct sq *q = sq_of(s);
	struct err ignored = {0};

	if (q->pg || q->snapshot || q->drv->in_tx(q->c))
		return;
	q->snapshot = run(q, S_SNAPSHOT, &ignored) == 0;
}

static void
snapshot_end(struct sq *q)
{
	struct err ignored = {0};

	q->snapshot = false; /* first: COMMIT goes through stmt() too */
	if (q->drv->in_tx(q->c) && run(q, S_COMMIT, &ignored) != 0 && q->drv->in_tx(q->c))
		run(q, S_ROLLBACK, &ignored);
}

static void
sq_snapshot_end(struct store *s)
{
	struct sq *q = sq_of(s);

	if (q->snapshot)
		snapshot_end(q);
}

static void
sq_close(struct store *s)
{
	struct sq *q = sq_of(s);

	for (int i = 0; i < S_COUNT; i++)
		if (q->st[i] != NULL)
			q->st[i]->drv->finalize(q->st[i]);
	if (q->c != NULL)
		q->drv->close(q->c);
	free(q);
}

/* ---- accounts ---------------------------------------------------------- */

static void
read_account(struct sql_stmt *st, struct account *a)
{
	memset(a, 0, sizeof(*a));
	col_copy(st, 0, a->id, sizeof(a->id));
	col_copy(st, 1, a->name, sizeof(a->name));
	a->max_24h = col_i64(st, 2);
	a->max_rate = col_f64(st, 3);
	a->sandbox = (int)col_i64(st, 4) != 0;
	a->sending_enabled = (int)col_i64(st, 5) != 0;
	a->created = col_i64(st, 6);
	col_copy(st, 7, a->paused_reason, sizeof(a->paused_reason));
	a->resumed_at = col_i64(st, 8);
	a->suppressed_reasons = (unsigned)col_i64(st, 9);
}

static int
sq_account_create(struct store *s, const struct account *a, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_ACC_INS, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, a->id) | bt(st, 2, a->name) | bi(st, 3, a->max_24h) |
	    bd(st, 4, a->max_rate) | bi(st, 5, a->sandbox) |
	    bi(st, 6, a->sending_enabled) | bi(st, 7, a->created))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	if (r < 0 && strcmp(e->code, STORE_ERR_EXISTS) == 0) {
		const char *why = q->drv->errmsg(q->c);
		if (strstr(why, "accounts.name") != NULL || strstr(why, "accounts_name") != NULL)
			err_set(e, 400, STORE_ERR_EXISTS, "account name '%s' already exists", a->name);
		else
			err_set(e, 400, STORE_ERR_EXISTS, "account %s already exists", a->id);
	}
	release(st);
	return tx_end(q, r, e);
}

static int
sq_account_get(struct store *s, const char *id, struct account *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_ACC_GET, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, id))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	if (r == 1)
		read_account(st, out);
	release(st);
	return r;
}

static int
sq_account_list(struct store *s, int (*cb)(void *, const struct account *), void *arg,
		struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_ACC_LIST, e);
	struct account *v = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (st == NULL)
		return -1;
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_account(st, &v[n++]);
	}
	release(st);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	free(v);
	return r < 0 ? -1 : 0;
}

/* A one-statement write keyed by text parameters ?1…?nkeys, then (when
 * num is not NULL) the integer *num as ?nkeys+1: returns rows changed.
 * write_keyed: the text parameters alone. */
static int
write_keyed_num(struct sq *q, enum sid id, const char *const *keys, int nkeys,
		const int64_t *num, struct err *e)
{
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, id, e)) == NULL)
		return tx_end(q, -1, e);
	for (int i = 0; i < nkeys; i++)
		if (bt(st, i + 1, keys[i]))
			return tx_end(q, bind_fail(q, st, e), e);
	if (num != NULL && bi(st, nkeys + 1, *num))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r >= 0)
		r = changes(q) > 0;
	return tx_end(q, r, e);
}

static int
write_keyed(struct sq *q, enum sid id, const char *const *keys, int nkeys, struct err *e)
{
	return write_keyed_num(q, id, keys, nkeys, NULL, e);
}

static int
sq_account_set_pause(struct store *s, const char *id, const char *reason, int64_t now,
		     struct err *e)
{
	const char *keys[] = {id, reason};

	if (reason == NULL)
		return write_keyed_num(sq_of(s), S_ACC_RESUME, keys, 1, &now, e);
	return write_keyed(sq_of(s), S_ACC_PAUSE, keys, 2, e);
}

static int
sq_account_delete(struct store *s, const char *id, struct err *e)
{
	const char *keys[] = {id};
	return write_keyed(sq_of(s), S_ACC_DEL, keys, 1, e);
}

static int
sq_account_set_sending(struct store *s, const char *id, bool enabled, struct err *e)
{
	const char *keys[] = {id};
	int64_t v = enabled;

	return write_keyed_num(sq_of(s), S_ACC_SENDING, keys, 1, &v, e);
}

static int
sq_account_set_suppression(struct store *s, const char *id, unsigned reasons, struct err *e)
{
	const char *keys[] = {id};
	int64_t v = reasons;

	return write_keyed_num(sq_of(s), S_ACC_SUPPRESSION, keys, 1, &v, e);
}

/* ---- IAM users --------------------------------------------------------- */

static void
read_user(struct sql_stmt *st, struct iam_user *u)
{
	memset(u, 0, sizeof(*u));
	col_copy(st, 0, u->account_id, sizeof(u->account_id));
	col_copy(st, 1, u->name, sizeof(u->name));
	u->policy = col_dup(st, 2);
	u->created = col_i64(st, 3);
}

static int
sq_user_create(struct store *s, const struct iam_user *u, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_USER_INS, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, u->account_id) | bt(st, 2, u->name) | bt(st, 3, u->policy) |
	    bi(st, 4, u->created))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	if (r < 0 && strcmp(e->code, STORE_ERR_EXISTS) == 0)
		err_set(e, 400, STORE_ERR_EXISTS, "user '%s' already exists in account %s", u->name,
			u->account_id);
	else if (r < 0 && strcmp(e->code, STORE_ERR_NO_PARENT) == 0)
		err_set(e, 404, STORE_ERR_NO_PARENT, "account %s does not exist", u->account_id);
	release(st);
	return tx_end(q, r, e);
}

static int
sq_user_get(struct store *s, const char *account_id, const char *name, struct iam_user *out,
	    struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_USER_GET, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, account_id) | bt(st, 2, name))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	if (r == 1)
		read_user(st, out);
	release(st);
	return r;
}

static int
sq_user_list(struct store *s, const char *account_id, int (*cb)(void *, const struct iam_user *),
	     void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_USER_LIST, e);
	struct iam_user *v = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, account_id))
		return bind_fail(q, st, e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_user(st, &v[n++]);
	}
	release(st);
	size_t i = 0;
	for (; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	for (i = 0; i < n; i++)
		iam_user_clear(&v[i]);
	free(v);
	return r < 0 ? -1 : 0;
}

static int
sq_user_delete(struct store *s, const char *account_id, const char *name, struct err *e)
{
	const char *keys[] = {account_id, name};
	return write_keyed(sq_of(s), S_USER_DEL, keys, 2, e);
}

/* ---- access keys ------------------------------------------------------- */

static void
read_key(struct sql_stmt *st, struct access_key *k)
{
	memset(k, 0, sizeof(*k));
	col_copy(st, 0, k->id, sizeof(k->id));
	col_copy(st, 1, k->account_id, sizeof(k->account_id));
	col_copy(st, 2, k->user, sizeof(k->user));
	col_copy(st, 3, k->service, sizeof(k->service));
	k->sealed = col_blob(st, 4, &k->sealed_len);
	k->created = col_i64(st, 5);
}

static int
sq_key_create(struct store *s, const struct access_key *k, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (k->sealed == NULL || k->sealed_len == 0)
		return err_set(e, 400, "InvalidParameterValue", "access key has no sealed secret");
	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_KEY_INS, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, k->id) | bt(st, 2, k->account_id) | bt_opt(st, 3, k->user) |
	    bt_opt(st, 4, k->service) | bb(st, 5, k->sealed, k->sealed_len) |
	    bi(st, 6, k->created))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	if (r < 0 && strcmp(e->code, STORE_ERR_EXISTS) == 0)
		err_set(e, 400, STORE_ERR_EXISTS, "access key %s already exists", k->id);
	else if (r < 0 && strcmp(e->code, STORE_ERR_NO_PARENT) == 0)
		err_set(e, 404, STORE_ERR_NO_PARENT, "account %s or its user '%s' does not exist",
			k->account_id, k->user);
	release(st);
	return tx_end(q, r, e);
}

static int
sq_key_get(struct store *s, const char *key_id, struct access_key *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_KEY_GET, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, key_id))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	if (r == 1)
		read_key(st, out);
	release(st);
	return r;
}

static int
sq_key_list(struct store *s, const char *account_id, int (*cb)(void *, const struct access_key *),
	    void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, account_id != NULL ? S_KEY_LIST_ACC : S_KEY_LIST, e);
	struct access_key *v = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (st == NULL)
		return -1;
	if (account_id != NULL && bt(st, 1, account_id))
		return bind_fail(q, st, e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_key(st, &v[n++]);
	}
	release(st);
	size_t i = 0;
	for (; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	for (i = 0; i < n; i++)
		access_key_clear(&v[i]);
	free(v);
	return r < 0 ? -1 : 0;
}

static int
sq_key_delete(struct store *s, const char *key_id, struct err *e)
{
	const char *keys[] = {key_id};
	return write_keyed(sq_of(s), S_KEY_DEL, keys, 1, e);
}

/* ---- identities -------------------------------------------------------- */

static const char *
type_name(enum identity_type t)
{
	return t == IDENTITY_EMAIL ? "EmailAddress" : "Domain";
}

static void
read_identity(struct sql_stmt *st, struct identity *id)
{
	const char *t;

	memset(id, 0, sizeof(*id));
	col_copy(st, 0, id->region, sizeof(id->region));
	col_copy(st, 1, id->account_id, sizeof(id->account_id));
	id->name = col_dup(st, 2);
	if (id->name == NULL)
		id->name = xstrdup("");
	t = col_text(st, 3);
	id->type = t != NULL && strcmp(t, "EmailAddress") == 0 ? IDENTITY_EMAIL
									       : IDENTITY_DOMAIN;
	col_copy(st, 4, id->status, sizeof(id->status));
	id->token = col_dup(st, 5);
	id->token_expires = col_i64(st, 6);
	id->created = col_i64(st, 7);
	id->dkim_enabled = (int)col_i64(st, 8) != 0;
	col_copy(st, 9, id->dkim_status, sizeof(id->dkim_status));
	for (int i = 0; i < 3; i++)
		id->dkim_tokens[i] = col_dup(st, 10 + i);
	id->dkim_keys_sealed = col_blob(st, 13, &id->dkim_keys_sealed_len);
	id->mail_from_domain = col_dup(st, 14);
	col_copy(st, 15, id->mail_from_status, sizeof(id->mail_from_status));
	col_copy(st, 16, id->mail_from_behavior, sizeof(id->mail_from_behavior));
	id->bounce_topic = col_dup(st, 17);
	id->complaint_topic = col_dup(st, 18);
	id->delivery_topic = col_dup(st, 19);
	id->forwarding_enabled = (int)col_i64(st, 20) != 0;
	id->headers_in_bounce = (int)col_i64(st, 21) != 0;
	id->headers_in_complaint = (int)col_i64(st, 22) != 0;
	id->headers_in_delivery = (int)col_i64(st, 23) != 0;
	id->next_check = col_i64(st, 24);
	id->check_attempts = (int)col_i64(st, 25);
	col_copy(st, 26, id->dkim_ed25519_status, sizeof(id->dkim_ed25519_status));
	id->config_set = col_dup(st, 27);
	t = col_text(st, 28);
	id->dkim_external = t != NULL && strcmp(t, "EXTERNAL") == 0;
}

static int
sq_identity_put(struct store *s, const struct identity *id, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (id->name == NULL || id->name[0] == '\0')
		return err_set(e, 400, "InvalidParameterValue", "identity has no name");
	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_ID_PUT, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, id->region) | bt(st, 2, id->account_id) | bt(st, 3, id->name) |
	    bt(st, 4, type_name(id->type)) | bt(st, 5, id->status) | bt(st, 6, id->token) |
	    bi(st, 7, id->token_expires) | bi(st, 8, id->created) | bi(st, 9, id->dkim_enabled) |
	    bt(st, 10, id->dkim_status) | bt(st, 11, id->dkim_tokens[0]) |
	    bt(st, 12, id->dkim_tokens[1]) | bt(st, 13, id->dkim_tokens[2]) |
	    bb(st, 14, id->dkim_keys_sealed, id->dkim_keys_sealed_len) |
	    bt(st, 15, id->mail_from_domain) | bt(st, 16, id->mail_from_status) |
	    bt(st, 17, id->mail_from_behavior) | bt(st, 18, id->bounce_topic) |
	    bt(st, 19, id->complaint_topic) | bt(st, 20, id->delivery_topic) |
	    bi(st, 21, id->forwarding_enabled) | bi(st, 22, id->headers_in_bounce) |
	    bi(st, 23, id->headers_in_complaint) | bi(st, 24, id->headers_in_delivery) |
	    bi(st, 25, id->next_check) | bi(st, 26, id->check_attempts) |
	    bt(st, 27, id->dkim_ed25519_status[0] ? id->dkim_ed25519_status : STATUS_NOT_STARTED) |
	    bt(st, 28, id->config_set) | bt(st, 29, id->dkim_external ? "EXTERNAL" : "AWS_SES"))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	if (r < 0 && strcmp(e->code, STORE_ERR_NO_PARENT) == 0)
		err_set(e, 404, STORE_ERR_NO_PARENT, "account %s does not exist", id->account_id);
	release(st);
	return tx_end(q, r, e);
}

static int
get_one_identity(struct sq *q, struct sql_stmt *st, struct identity *out, struct err *e)
{
	int r = step(q, st, e);
	if (r == 1)
		read_identity(st, out);
	release(st);
	return r;
}

static int
sq_identity_get(struct store *s, const char *region, const char *account_id, const char *name,
		struct identity *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_ID_GET, e);

	if (st == NULL)
		return -1;
	if (bt(st, 1, region) | bt(st, 2, account_id) | bt(st, 3, name))
		return bind_fail(q, st, e);
	return get_one_identity(q, st, out, e);
}

static int
sq_identity_get_by_token(struct store *s, const char *token, struct identity *out,
			 struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;

	if (token == NULL || token[0] == '\0')
		return 0;
	if ((st = stmt(q, S_ID_TOKEN, e)) == NULL)
		return -1;
	if (bt(st, 1, token))
		return bind_fail(q, st, e);
	return get_one_identity(q, st, out, e);
}

/* Copy every row out, release the statement, then call back (invariant 4). */
static int
identity_rows(struct sq *q, struct sql_stmt *st, store_identity_cb cb, void *arg, struct err *e)
{
	struct identity *v = NULL;
	size_t n = 0, cap = 0, i;
	int r;

	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_identity(st, &v[n++]);
	}
	release(st);
	for (i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	for (i = 0; i < n; i++)
		identity_clear(&v[i]);
	free(v);
	return r < 0 ? -1 : 0;
}

static int
sq_identity_list(struct store *s, const char *region, const char *account_id, int type,
		 const char *after, int limit, store_identity_cb cb, void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_ID_LIST, e);

	if (st == NULL)
		return -1;
	if (bt(st, 1, region) | bt(st, 2, account_id) |
	    bt(st, 3, type < 0 ? NULL : type_name((enum identity_type)type)) | bt(st, 4, after) |
	    bi(st, 5, limit > 0 ? limit : -1))
		return bind_fail(q, st, e);
	return identity_rows(q, st, cb, arg, e);
}

static int
sq_identity_due(struct store *s, int64_t now, store_identity_cb cb, void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_ID_DUE, e);

	if (st == NULL)
		return -1;
	if (bi(st, 1, now))
		return bind_fail(q, st, e);
	return identity_rows(q, st, cb, arg, e);
}

static int
sq_identity_delete(struct store *s, const char *region, const char *account_id,
		   const char *name, struct err *e)
{
	const char *keys[] = {region, account_id, name};
	return write_keyed(sq_of(s), S_ID_DEL, keys, 3, e);
}

/* ---- targeted identity writes (store.h) ---------------------------------- */

/*
 * Finish a conditional write begun with tx_begin: like tx_end when it
 * changed a row, like tx_end_data (no generation bump) when it did not, so
 * a no-op does not make every cache rebuild.
 */
static int
tx_end_if(struct sq *q, int r, bool changed, struct err *e)
{
	return changed ? tx_end(q, r, e) : tx_end_data(q, r, e);
}

/* Inside the caller's transaction: run the link UPDATE `id` (…RETURNING the
 * row); 1 and `out` filled when it changed the row, 0 when not. */
static int
link_update(struct sq *q, enum sid id, const char *token, int64_t now, int64_t dns_deadline,
	    struct identity *out, struct err *e)
{
	struct sql_stmt *st = stmt(q, id, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, token) | bi(st, 2, now) |
	    (id == S_ID_LINK_OK ? bi(st, 3, dns_deadline) : SQLITE_OK))
		return bind_fail(q, st, e);
	/* the whole UPDATE happens in the first step; reset ends it */
	r = step(q, st, e);
	if (r == 1)
		read_identity(st, out);
	release(st);
	return r;
}

static int
sq_identity_verify_token(struct store *s, const char *token, int64_t now, int64_t dns_deadline,
			 struct identity *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r, link;

	memset(out, 0, sizeof(*out));
	if (token == NULL || token[0] == '\0')
		return STORE_LINK_UNKNOWN;
	if (tx_begin(q, e) != 0)
		return -1;
	r = link_update(q, S_ID_LINK_OK, token, now, dns_deadline, out, e);
	if (r != 0) {
		r = tx_end_if(q, r < 0 ? -1 : STORE_LINK_VERIFIED, r == 1, e);
		goto done;
	}
	r = link_update(q, S_ID_LINK_FAIL, token, now, dns_deadline, out, e);
	if (r != 0) {
		r = tx_end_if(q, r < 0 ? -1 : STORE_LINK_EXPIRED, r == 1, e);
		goto done;
	}
	/* nothing was Pending: tell a used link from a dead one, in the same
	 * transaction, so the answer is about the row the UPDATEs saw */
	if ((st = stmt(q, S_ID_TOKEN, e)) == NULL) {
		r = tx_end_data(q, -1, e);
		goto done;
	}
	if (bt(st, 1, token)) {
		r = tx_end_data(q, bind_fail(q, st, e), e);
		goto done;
	}
	r = get_one_identity(q, st, out, e);
	link = STORE_LINK_UNKNOWN;
	if (r == 1 && out->type == IDENTITY_EMAIL && strcmp(out->status, STATUS_SUCCESS) == 0)
		link = STORE_LINK_USED;
	else if (r == 1 && out->type == IDENTITY_EMAIL && strcmp(out->status, STATUS_FAILED) == 0)
		link = STORE_LINK_EXPIRED;
	if (link == STORE_LINK_UNKNOWN)
		identity_clear(out);
	r = tx_end_data(q, r < 0 ? -1 : link, e);
done:
	if (r < 0)
		identity_clear(out);
	return r;
}

static int
sq_identity_set_next_check(struct store *s, const char *region, const char *account_id,
			   const char *name, int64_t next_check, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_ID_NEXT, e)) == NULL)
		return tx_end_data(q, -1, e);
	if (bt(st, 1, region) | bt(st, 2, account_id) | bt(st, 3, name) | bi(st, 4, next_check))
		return tx_end_data(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r >= 0)
		r = changes(q) > 0;
	return tx_end_if(q, r, r == 1, e);
}

static int
sq_identity_cas_checks(struct store *s, const struct identity *seen, const struct identity *next,
		       struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (strcmp(seen->region, next->region) != 0 ||
	    strcmp(seen->account_id, next->account_id) != 0 || seen->name == NULL ||
	    next->name == NULL || strcmp(seen->name, next->name) != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "identity_cas_checks: seen and next are different identities");
	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_ID_CAS, e)) == NULL)
		return tx_end_data(q, -1, e);
	if (bt(st, 1, seen->region) | bt(st, 2, seen->account_id) | bt(st, 3, seen->name) |
	    bt(st, 4, type_name(seen->type)) | bt(st, 5, next->status) |
	    bt(st, 6, next->dkim_status) | bt(st, 7, next->mail_from_status) |
	    bi(st, 8, next->token_expires) | bi(st, 9, next->next_check) |
	    bi(st, 10, next->check_attempts) | bt(st, 11, seen->token) |
	    bt(st, 12, seen->dkim_tokens[0]) | bt(st, 13, seen->dkim_tokens[1]) |
	    bt(st, 14, seen->dkim_tokens[2]) | bt(st, 15, seen->mail_from_domain) |
	    bt(st, 16, seen->status) | bt(st, 17, seen->dkim_status) |
	    bt(st, 18, seen->mail_from_status) | bi(st, 19, seen->token_expires) |
	    bi(st, 20, seen->next_check) | bi(st, 21, seen->check_attempts) |
	    bt(st, 22, next->dkim_ed25519_status) | bt(st, 23, seen->dkim_ed25519_status) |
	    bb(st, 24, seen->dkim_keys_sealed, seen->dkim_keys_sealed_len))
		return tx_end_data(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r >= 0)
		r = changes(q) > 0;
	return tx_end_if(q, r, r == 1, e);
}

/* ---- policies ---------------------------------------------------------- */

/* Inside the caller's transaction: 1 if the policy `k` exists, 0 if not. */
static int
policy_exists(struct sq *q, const char *const *k, struct err *e)
{
	struct sql_stmt *st = stmt(q, S_POL_EXISTS, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, k[0]) | bt(st, 2, k[1]) | bt(st, 3, k[2]) | bt(st, 4, k[3]))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	release(st);
	return r;
}

static int64_t
policy_count(struct sq *q, const char *const *k, struct err *e)
{
	struct sql_stmt *st = stmt(q, S_POL_COUNT, e);
	int64_t n = -1;
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, k[0]) | bt(st, 2, k[1]) | bt(st, 3, k[2]))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	if (r == 1)
		n = col_i64(st, 0);
	else if (r == 0)
		err_temp(e, "store: count returned no row");
	release(st);
	return n;
}

static int
sq_policy_put(struct store *s, const char *region, const char *account_id,
	      const char *identity, const char *name, const char *document, int max_policies,
	      struct err *e)
{
	struct sq *q = sq_of(s);
	const char *k[] = {region, account_id, identity, name};
	struct sql_stmt *st;
	int r;

	if (document == NULL)
		return err_set(e, 400, "InvalidParameterValue", "policy document is missing");
	if (tx_begin(q, e) != 0)
		return -1;
	if ((r = policy_exists(q, k, e)) < 0)
		return tx_end(q, -1, e);
	if (r == 0 && max_policies > 0) {
		int64_t n = policy_count(q, k, e);
		if (n < 0)
			return tx_end(q, -1, e);
		if (n >= max_policies) {
			err_set(e, 400, "InvalidParameterValue",
				"Number of policies for %s exceeds max allowed number of policies "
				"per resource",
				identity);
			return tx_end(q, -1, e);
		}
	}
	if ((st = stmt(q, S_POL_PUT, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, region) | bt(st, 2, account_id) | bt(st, 3, identity) | bt(st, 4, name) |
	    bt(st, 5, document))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	if (r < 0 && strcmp(e->code, STORE_ERR_NO_PARENT) == 0)
		err_set(e, 404, STORE_ERR_NO_PARENT, "identity %s does not exist", identity);
	release(st);
	return tx_end(q, r < 0 ? -1 : 0, e);
}

static int
sq_policy_list(struct store *s, const char *region, const char *account_id,
	       const char *identity, struct identity_policy *out, int cap, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int n = 0, r = 0;

	if (cap <= 0)
		return 0;
	if ((st = stmt(q, S_POL_LIST, e)) == NULL)
		return -1;
	if (bt(st, 1, region) | bt(st, 2, account_id) | bt(st, 3, identity) | bi(st, 4, cap))
		return bind_fail(q, st, e);
	while (n < cap && (r = step(q, st, e)) == 1) {
		memset(&out[n], 0, sizeof(out[n]));
		col_copy(st, 0, out[n].name, sizeof(out[n].name));
		out[n].document = col_dup(st, 1);
		if (out[n].document == NULL)
			out[n].document = xstrdup("");
		n++;
	}
	release(st);
	if (r < 0) {
		for (int i = 0; i < n; i++)
			identity_policy_clear(&out[i]);
		return -1;
	}
	return n;
}

static int
sq_policy_delete(struct store *s, const char *region, const char *account_id,
		 const char *identity, const char *name, struct err *e)
{
	const char *keys[] = {region, account_id, identity, name};
	return write_keyed(sq_of(s), S_POL_DEL, keys, 4, e);
}

static int
sq_generation(struct store *s, int64_t *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_GEN, e);
	int r;

	if (st == NULL)
		return -1;
	r = step(q, st, e);
	if (r == 1)
		*out = col_i64(st, 0);
	else if (r == 0)
		err_temp(e, "store: generation row is missing");
	release(st);
	return r == 1 ? 0 : -1;
}

/* ---- sending statistics and messages ----------------------------------- */

/* Inside the caller's transaction: count one event in send_counts and in
 * send_counts_15m. */
static int
event_insert(struct sq *q, const char *account_id, int64_t ts, const char *kind,
	     int64_t recipients, struct err *e)
{
	static const enum sid ids[] = {S_EV_INS, S_EV_INS_Q};
	int r = 0;

	for (size_t i = 0; r >= 0 && i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct sql_stmt *st = stmt(q, ids[i], e);
		if (st == NULL)
			return -1;
		if (bt(st, 1, account_id) | bi(st, 2, ts) | bi(st, 3, recipients) |
		    bt(st, 4, kind))
			return bind_fail(q, st, e);
		r = step(q, st, e);
		release(st);
	}
	return r < 0 ? -1 : 0;
}

static int
sq_event_record(struct store *s, const char *account_id, int64_t ts, const char *kind,
		int64_t recipients, struct err *e)
{
	struct sq *q = sq_of(s);

	if (tx_begin(q, e) != 0)
		return -1;
	return tx_end_data(q, event_insert(q, account_id, ts, kind, recipients, e), e);
}

static int
event_sum(struct sq *q, const char *account_id, const char *kind, int64_t since, int64_t *out,
	  struct err *e)
{
	struct sql_stmt *st = stmt(q, S_EV_SUM, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, account_id) | bt(st, 2, kind) | bi(st, 3, since))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	*out = r == 1 ? col_i64(st, 0) : 0;
	release(st);
	return r < 0 ? -1 : 0;
}

static int
sq_event_sum(struct store *s, const char *account_id, const char *kind, int64_t since,
	     int64_t *out, struct err *e)
{
	return event_sum(sq_of(s), account_id, kind, since, out, e);
}

static int
sq_event_buckets(struct store *s, const char *account_id, int64_t since,
		 int (*cb)(void *arg, const struct send_bucket *b), void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_EV_BUCKETS, e);
	struct send_bucket *v = NULL;
	size_t n = 0, cap = 0, i;
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, account_id) | bi(st, 2, since))
		return bind_fail(q, st, e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n].start = col_i64(st, 0);
		v[n].attempts = col_i64(st, 1);
		v[n].bounces = col_i64(st, 2);
		v[n].complaints = col_i64(st, 3);
		v[n].rejects = col_i64(st, 4);
		n++;
	}
	release(st);
	for (i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	free(v);
	return r < 0 ? -1 : 0;
}

/* The recipients as a JSON array of strings; NULL when one is not UTF-8. */
static char *
dests_json(const struct store_message *m)
{
	json_t *a = json_array();
	char *out = NULL;

	for (size_t i = 0; i < m->ndestinations; i++)
		if (json_array_append_new(a, json_string(m->destinations[i])) != 0)
			goto done;
	out = json_dumps(a, JSON_COMPACT);
done:
	json_decref(a);
	return out;
}

static void
dests_parse(const char *text, struct store_message *m)
{
	json_t *a = text != NULL ? json_loads(text, 0, NULL) : NULL;
	size_t i, n = json_is_array(a) ? json_array_size(a) : 0;

	m->destinations = n ? xcalloc(n, sizeof(char *)) : NULL;
	for (i = 0; i < n; i++) {
		const char *v = json_string_value(json_array_get(a, i));
		if (v != NULL)
			m->destinations[m->ndestinations++] = xstrdup(v);
	}
	json_decref(a);
}

static void
read_message(struct sql_stmt *st, struct store_message *m)
{
	memset(m, 0, sizeof(*m));
	col_copy(st, 0, m->id, sizeof(m->id));
	col_copy(st, 1, m->region, sizeof(m->region));
	col_copy(st, 2, m->sending_account, sizeof(m->sending_account));
	col_copy(st, 3, m->identity_owner, sizeof(m->identity_owner));
	m->source_arn = col_dup(st, 4);
	m->from_arn = col_dup(st, 5);
	m->return_path_arn = col_dup(st, 6);
	m->principal = col_dup(st, 7);
	col_copy(st, 8, m->source_ip, sizeof(m->source_ip));
	m->source = col_dup(st, 9);
	m->from_addr = col_dup(st, 10);
	m->subject = col_dup(st, 11);
	dests_parse(col_text(st, 12), m);
	m->raw = col_blob(st, 13, &m->raw_len);
	col_copy(st, 14, m->status, sizeof(m->status));
	m->created_ms = col_i64(st, 15);
	m->delivered_ms = col_i64(st, 16);
	col_copy(st, 17, m->transport, sizeof(m->transport));
	m->mail_from = col_dup(st, 18);
	m->config_set = col_dup(st, 19);
	m->tags = col_dup(st, 20);
}

/* Copy every row out, release the statement, then call back (invariant 4). */
static int
message_rows(struct sq *q, struct sql_stmt *st, store_message_cb cb, void *arg, struct err *e)
{
	struct store_message *v = NULL;
	size_t n = 0, cap = 0, i;
	int r;

	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_message(st, &v[n++]);
	}
	release(st);
	for (i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	for (i = 0; i < n; i++)
		store_message_clear(&v[i]);
	free(v);
	return r < 0 ? -1 : 0;
}

/* Inside the caller's transaction: one `recipients` row per destination
 * of a queued message, queued and due at once unless m->rcpt_state says it
 * was finished at accept; a message left with nothing to do is finished. */
static int
rcpts_insert(struct sq *q, const struct store_message *m, struct err *e)
{
	bool todo = false;
	int r = 0;

	for (size_t i = 0; r == 0 && i < m->ndestinations; i++) {
		const char *state = m->rcpt_state != NULL ? m->rcpt_state[i] : NULL;
		bool queued = state == NULL || strcmp(state, STORE_RCPT_QUEUED) == 0;
		struct sql_stmt *st = stmt(q, queued ? S_RCPT_INS : S_RCPT_INS_AS, e);
		if (st == NULL)
			return -1;
		todo = todo || queued;
		if (bt(st, 1, m->id) | bi(st, 2, (int64_t)i) | bt(st, 3, m->destinations[i]) |
		    (queued ? 0 : bt(st, 4, state)))
			return bind_fail(q, st, e);
		r = step(q, st, e) < 0 ? -1 : 0;
		release(st);
	}
	if (r != 0 || todo)
		return r;
	struct sql_stmt *done = stmt(q, S_MSG_DONE, e);
	if (done == NULL)
		return -1;
	if (bt(done, 1, m->id) | bt_opt(done, 2, m->transport) | bi(done, 3, m->created_ms))
		return bind_fail(q, done, e);
	r = step(q, done, e) < 0 ? -1 : 0;
	release(done);
	return r;
}

static int outbox_publish(struct sq *q, const char *topic_arn, const char *subject,
			  const char *message, int64_t now_ms, char msgid_out[37], struct err *e);

/* Inside the caller's transaction: one events row, its count, its
 * suppression and its notices (outbox_publish). */
static int
event_write(struct sq *q, const struct store_event *ev, struct err *e)
{
	struct sql_stmt *st = stmt(q, S_EVT_INS, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, ev->message_id) | bt(st, 2, ev->recipient) | bt(st, 3, ev->type) |
	    bi(st, 4, ev->ts_ms) | bt(st, 5, ev->detail != NULL ? ev->detail : "{}"))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	release(st);
	for (int k = 0; r >= 0 && ev->count != NULL && k < 2; k++) {
		if ((st = stmt(q, k == 0 ? S_EVT_COUNT : S_EVT_COUNT_Q, e)) == NULL)
			return -1;
		if (bt(st, 1, ev->message_id) | bt(st, 2, ev->count) | bi(st, 3, ev->ts_ms))
			return bind_fail(q, st, e);
		r = step(q, st, e);
		release(st);
	}
	if (r >= 0 && ev->suppress != NULL && ev->recipient != NULL) {
		if ((st = stmt(q, S_EVT_SUPPRESS, e)) == NULL)
			return -1;
		if (bt(st, 1, ev->message_id) | bt(st, 2, ev->recipient) | bt(st, 3, ev->suppress) |
		    bi(st, 4, ev->ts_ms) | bt(st, 5, ev->detail != NULL ? ev->detail : "{}"))
			return bind_fail(q, st, e);
		r = step(q, st, e);
		release(st);
	}
	/* the notices ride on the event: published in its transaction */
	for (size_t i = 0; r >= 0 && i < ev->nnotices; i++)
		r = outbox_publish(q, ev->notices[i].topic_arn, ev->notices[i].subject,
				   ev->notices[i].message, ev->ts_ms, NULL, e);
	return r < 0 ? -1 : 0;
}

static int
sq_feedback_add(struct store *s, const struct store_event *ev, size_t n, bool *written_out,
		struct err *e)
{
	struct sq *q = sq_of(s);
	int written = 0, r = 0;

	if (n == 0)
		return 0;
	if (tx_begin(q, e) != 0)
		return -1;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct sql_stmt *st = stmt(q, S_EVT_SEEN, e);
		if (st == NULL) {
			r = -1;
			break;
		}
		if (bt(st, 1, ev[i].message_id) | bt(st, 2, ev[i].recipient) | bt(st, 3, ev[i].type) |
		    bt(st, 4, ev[i].detail != NULL ? ev[i].detail : "{}")) {
			r = bind_fail(q, st, e);
			break;
		}
		int seen = step(q, st, e);
		seen = seen == 1 ? (int)col_i64(st, 0) : seen < 0 ? -1 : 1;
		release(st);
		if (seen < 0)
			r = -1;
		else if (seen == 0 && (r = event_write(q, &ev[i], e)) == 0)
			written++;
		if (written_out != NULL)
			written_out[i] = r == 0 && seen == 0;
	}
	return tx_end_data(q, r < 0 ? -1 : written, e);
}

/* ---- the suppression list ------------------------------------------------ */

static void
read_suppressed(struct sql_stmt *st, struct suppressed *p)
{
	memset(p, 0, sizeof(*p));
	col_copy(st, 0, p->account_id, sizeof(p->account_id));
	col_copy(st, 1, p->address, sizeof(p->address));
	col_copy(st, 2, p->reason, sizeof(p->reason));
	col_copy(st, 3, p->message_id, sizeof(p->message_id));
	col_copy(st, 4, p->feedback_id, sizeof(p->feedback_id));
	p->ts = col_i64(st, 5);
}

static int
sq_suppression_put(struct store *s, const struct suppressed *p, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_SUP_PUT, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, p->account_id) | bt(st, 2, p->address) | bt(st, 3, p->reason) |
	    bt(st, 4, p->message_id) | bt(st, 5, p->feedback_id) | bi(st, 6, p->ts))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r < 0 && strcmp(e->code, STORE_ERR_NO_PARENT) == 0)
		err_set(e, 404, STORE_ERR_NO_PARENT, "account %s does not exist", p->account_id);
	return tx_end(q, r < 0 ? -1 : 0, e);
}

static int
sq_suppression_get(struct store *s, const char *account_id, const char *address,
		   struct suppressed *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_SUP_GET, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, account_id) | bt(st, 2, address))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	if (r == 1 && out != NULL)
		read_suppressed(st, out);
	release(st);
	return r;
}

static int
sq_suppression_list(struct store *s, const char *account_id, const char *after, int limit,
		    store_suppressed_cb cb, void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_SUP_LIST, e);
	struct suppressed *v = NULL;
	size_t n = 0, cap = 0, i;
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, account_id) | bt(st, 2, after) | bi(st, 3, limit > 0 ? limit : -1))
		return bind_fail(q, st, e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_suppressed(st, &v[n++]);
	}
	release(st);
	for (i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	free(v);
	return r < 0 ? -1 : 0;
}

static int
sq_suppression_delete(struct store *s, const char *account_id, const char *address,
		      struct err *e)
{
	const char *const k[] = {account_id, address};

	return write_keyed(sq_of(s), S_SUP_DEL, k, 2, e);
}

/* ---- email templates ----------------------------------------------------- */

static void
read_template(struct sql_stmt *st, struct email_template *t)
{
	memset(t, 0, sizeof(*t));
	col_copy(st, 0, t->region, sizeof(t->region));
	col_copy(st, 1, t->account_id, sizeof(t->account_id));
	col_copy(st, 2, t->name, sizeof(t->name));
	t->subject = col_dup(st, 3);
	t->text = col_dup(st, 4);
	t->html = col_dup(st, 5);
	t->created = col_i64(st, 6);
}

static int
sq_template_put(struct store *s, const struct email_template *t, bool create, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, create ? S_TPL_INS : S_TPL_UPD, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, t->region) | bt(st, 2, t->account_id) | bt(st, 3, t->name) |
	    bt(st, 4, t->subject) | bt(st, 5, t->text) | bt(st, 6, t->html) |
	    (create ? bi(st, 7, t->created) : 0))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r >= 0)
		r = changes(q) > 0;
	else if (strcmp(e->code, STORE_ERR_EXISTS) == 0)
		err_set(e, 400, STORE_ERR_EXISTS, "Template %s already exists.", t->name);
	else if (strcmp(e->code, STORE_ERR_NO_PARENT) == 0)
		err_set(e, 404, STORE_ERR_NO_PARENT, "account %s does not exist", t->account_id);
	return tx_end(q, r, e);
}

static int
sq_template_get(struct store *s, const char *region, const char *account_id, const char *name,
		struct email_template *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_TPL_GET, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, region) | bt(st, 2, account_id) | bt(st, 3, name))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	if (r == 1 && out != NULL)
		read_template(st, out);
	release(st);
	return r;
}

static int
sq_template_list(struct store *s, const char *region, const char *account_id, const char *after,
		 int limit, store_template_cb cb, void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_TPL_LIST, e);
	struct email_template *v = NULL;
	size_t n = 0, cap = 0, i;
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, region) | bt(st, 2, account_id) | bt(st, 3, after) |
	    bi(st, 4, limit > 0 ? limit : -1))
		return bind_fail(q, st, e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_template(st, &v[n++]);
	}
	release(st);
	for (i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	for (i = 0; i < n; i++)
		email_template_clear(&v[i]);
	free(v);
	return r < 0 ? -1 : 0;
}

static int
sq_template_delete(struct store *s, const char *region, const char *account_id,
		   const char *name, struct err *e)
{
	const char *const k[] = {region, account_id, name};

	return write_keyed(sq_of(s), S_TPL_DEL, k, 3, e);
}

/* ---- configuration sets --------------------------------------------------- */

static void
read_cset(struct sql_stmt *st, struct config_set *c)
{
	memset(c, 0, sizeof(*c));
	col_copy(st, 0, c->region, sizeof(c->region));
	col_copy(st, 1, c->account_id, sizeof(c->account_id));
	col_copy(st, 2, c->name, sizeof(c->name));
	c->sending_enabled = col_i64(st, 3) != 0;
	c->reputation_enabled = col_i64(st, 4) != 0;
	c->created = col_i64(st, 5);
	c->suppressed_reasons = (int)col_i64(st, 6);
}

static int
sq_cset_create(struct store *s, const struct config_set *c, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_CS_INS, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, c->region) | bt(st, 2, c->account_id) | bt(st, 3, c->name) |
	    bi(st, 4, c->sending_enabled) | bi(st, 5, c->reputation_enabled) |
	    bi(st, 6, c->created))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r < 0 && strcmp(e->code, STORE_ERR_EXISTS) == 0)
		err_set(e, 400, STORE_ERR_EXISTS, "Configuration set <%s> already exists.", c->name);
	else if (r < 0 && strcmp(e->code, STORE_ERR_NO_PARENT) == 0)
		err_set(e, 404, STORE_ERR_NO_PARENT, "account %s does not exist", c->account_id);
	return tx_end(q, r < 0 ? -1 : 0, e);
}

static int
sq_cset_get(struct store *s, const char *region, const char *account_id, const char *name,
	    struct config_set *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_CS_GET, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, region) | bt(st, 2, account_id) | bt(st, 3, name))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	if (r == 1 && out != NULL)
		read_cset(st, out);
	release(st);
	return r;
}

static int
sq_cset_list(struct store *s, const char *region, const char *account_id, const char *after,
	     int limit, store_cset_cb cb, void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_CS_LIST, e);
	struct config_set *v = NULL;
	size_t n = 0, cap = 0, i;
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, region) | bt(st, 2, account_id) | bt(st, 3, after) |
	    bi(st, 4, limit > 0 ? limit : -1))
		return bind_fail(q, st, e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_cset(st, &v[n++]);
	}
	release(st);
	for (i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	free(v);
	return r < 0 ? -1 : 0;
}

static int
sq_cset_delete(struct store *s, const char *region, const char *account_id, const char *name,
	       struct err *e)
{
	const char *const k[] = {region, account_id, name};

	return write_keyed(sq_of(s), S_CS_DEL, k, 3, e);
}

/* One column of one set: 1 updated, 0 no such set. */
static int
cset_update(struct store *s, enum sid id, const char *region, const char *account_id,
	    const char *name, int64_t value, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, id, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, region) | bt(st, 2, account_id) | bt(st, 3, name) | bi(st, 4, value))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r >= 0)
		r = changes(q) > 0;
	return tx_end(q, r, e);
}

static int
sq_cset_set_flag(struct store *s, const char *region, const char *account_id, const char *name,
		 int which, bool value, struct err *e)
{
	return cset_update(s, which == 0 ? S_CS_SENDING : S_CS_REPUTATION, region, account_id, name,
			   value, e);
}

static int
sq_cset_set_suppression(struct store *s, const char *region, const char *account_id,
			const char *name, int reasons, struct err *e)
{
	return cset_update(s, S_CS_SUPPRESSION, region, account_id, name, reasons, e);
}

static void
read_cset_dest(struct sql_stmt *st, struct cset_dest *d)
{
	memset(d, 0, sizeof(*d));
	col_copy(st, 0, d->region, sizeof(d->region));
	col_copy(st, 1, d->account_id, sizeof(d->account_id));
	col_copy(st, 2, d->set, sizeof(d->set));
	col_copy(st, 3, d->name, sizeof(d->name));
	d->enabled = col_i64(st, 4) != 0;
	d->types = (unsigned)col_i64(st, 5);
	col_copy(st, 6, d->topic_arn, sizeof(d->topic_arn));
}

static int
sq_cset_dest_put(struct store *s, const struct cset_dest *d, bool create, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, create ? S_CSD_INS : S_CSD_UPD, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, d->region) | bt(st, 2, d->account_id) | bt(st, 3, d->set) |
	    bt(st, 4, d->name) | bi(st, 5, d->enabled) | bi(st, 6, (int64_t)d->types) |
	    bt(st, 7, d->topic_arn))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r >= 0)
		r = changes(q) > 0;
	else if (strcmp(e->code, STORE_ERR_EXISTS) == 0)
		err_set(e, 400, STORE_ERR_EXISTS, "Event destination %s already exists.", d->name);
	else if (strcmp(e->code, STORE_ERR_NO_PARENT) == 0)
		err_set(e, 404, STORE_ERR_NO_PARENT, "Configuration set <%s> does not exist.",
			d->set);
	return tx_end(q, r, e);
}

static int
sq_cset_dest_delete(struct store *s, const char *region, const char *account_id,
		    const char *set, const char *name, struct err *e)
{
	const char *const k[] = {region, account_id, set, name};

	return write_keyed(sq_of(s), S_CSD_DEL, k, 4, e);
}

static int
sq_cset_dest_list(struct store *s, const char *region, const char *account_id, const char *set,
		  store_cset_dest_cb cb, void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_CSD_LIST, e);
	struct cset_dest *v = NULL;
	size_t n = 0, cap = 0, i;
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, region) | bt(st, 2, account_id) | bt(st, 3, set))
		return bind_fail(q, st, e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_cset_dest(st, &v[n++]);
	}
	release(st);
	for (i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	free(v);
	return r < 0 ? -1 : 0;
}

/* ---- notification settings ---------------------------------------------- */

static void
read_notify(struct sql_stmt *st, struct notify_setting *n)
{
	memset(n, 0, sizeof(*n));
	col_copy(st, 0, n->region, sizeof(n->region));
	col_copy(st, 1, n->owner, sizeof(n->owner));
	n->identity = col_dup(st, 2);
	col_copy(st, 3, n->account_id, sizeof(n->account_id));
	for (int i = 0; i < NOTIFY_NTYPES; i++) {
		n->topic[i] = col_dup(st, 4 + i);
		n->headers[i] = (int)col_i64(st, 7 + i) != 0;
	}
}

static int
sq_notify_put(struct store *s, const struct notify_setting *n, struct err *e)
{
	struct sq *q = sq_of(s);
	bool empty = true;
	struct sql_stmt *st;
	int r;

	for (int i = 0; i < NOTIFY_NTYPES; i++)
		empty = empty && n->topic[i] == NULL && !n->headers[i];
	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, empty ? S_NOTIFY_DEL : S_NOTIFY_PUT, e)) == NULL)
		return tx_end(q, -1, e);
	r = bt(st, 1, n->region) | bt(st, 2, n->owner) | bt(st, 3, n->identity) |
	    bt(st, 4, n->account_id);
	for (int i = 0; !empty && i < NOTIFY_NTYPES; i++)
		r |= bt(st, 5 + i, n->topic[i]) | bi(st, 8 + i, n->headers[i]);
	if (r)
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r < 0 && strcmp(e->code, STORE_ERR_NO_PARENT) == 0)
		err_set(e, 404, STORE_ERR_NO_PARENT, "identity %s does not exist", n->identity);
	return tx_end(q, r < 0 ? -1 : 0, e);
}

static int
sq_notify_get(struct store *s, const char *region, const char *owner, const char *identity,
	      const char *account_id, struct notify_setting *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_NOTIFY_GET, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, region) | bt(st, 2, owner) | bt(st, 3, identity) | bt(st, 4, account_id))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	if (r == 1)
		read_notify(st, out);
	release(st);
	return r;
}

static int
sq_notify_list(struct store *s, const char *region, const char *owner, const char *identity,
	       store_notify_cb cb, void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_NOTIFY_LIST, e);
	struct notify_setting *v = NULL;
	size_t n = 0, cap = 0, i;
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, region) | bt(st, 2, owner) | bt(st, 3, identity))
		return bind_fail(q, st, e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_notify(st, &v[n++]);
	}
	release(st);
	for (i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	for (i = 0; i < n; i++)
		notify_setting_clear(&v[i]);
	free(v);
	return r < 0 ? -1 : 0;
}

static int
sq_identity_set_forwarding(struct store *s, const char *region, const char *account_id,
			   const char *name, bool enabled, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_ID_FORWARD, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, region) | bt(st, 2, account_id) | bt(st, 3, name) | bi(st, 4, enabled))
		return tx_end(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r >= 0)
		r = changes(q) > 0;
	return tx_end(q, r, e);
}

static int
sq_mail_from_known(struct store *s, const char *domain, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_MF_KNOWN, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, domain))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	r = r == 1 ? (int)col_i64(st, 0) != 0 : r < 0 ? -1 : 0;
	release(st);
	return r;
}

/* Inside the caller's transaction: the message row and its 'accept' event. */
static int
message_insert_one(struct sq *q, const struct store_message *m, struct err *e)
{
	char *dests = dests_json(m);
	bool queued = m->status[0] == '\0' || strcmp(m->status, STORE_MSG_QUEUED) == 0;
	struct sql_stmt *st;
	int r;

	if (dests == NULL)
		return err_set(e, 400, "InvalidParameterValue",
			       "message %s: a recipient address is not valid UTF-8", m->id);
	if ((st = stmt(q, S_MSG_INS, e)) == NULL) {
		free(dests);
		return -1;
	}
	if (bt(st, 1, m->id) | bt(st, 2, m->region) | bt(st, 3, m->sending_account) |
	    bt_opt(st, 4, m->identity_owner) | bt(st, 5, m->source_arn) | bt(st, 6, m->from_arn) |
	    bt(st, 7, m->return_path_arn) | bt(st, 8, m->principal) | bt(st, 9, m->source_ip) |
	    bt(st, 10, m->source) | bt(st, 11, m->from_addr) | bt(st, 12, m->subject) |
	    bt(st, 13, dests) | bb(st, 14, m->raw, m->raw_len) |
	    bt(st, 15, queued ? STORE_MSG_QUEUED : m->status) | bi(st, 16, m->created_ms) |
	    (m->delivered_ms ? bi(st, 17, m->delivered_ms) : bnull(st, 17)) |
	    bt_opt(st, 18, m->transport) | bt(st, 19, m->mail_from) | bt(st, 20, m->config_set) |
	    bt(st, 21, m->tags)) {
		r = bind_fail(q, st, e);
		free(dests);
		return r;
	}
	r = step(q, st, e);
	if (r < 0 && strcmp(e->code, STORE_ERR_EXISTS) == 0)
		err_set(e, 400, STORE_ERR_EXISTS, "message %s already exists", m->id);
	release(st);
	free(dests);
	if (r < 0)
		return -1;
	if (queued && rcpts_insert(q, m, e) != 0)
		return -1;
	if (m->sending_account[0] == '\0')
		return 0; /* sesame's own mail (verification): nobody is charged */
	if (m->check_quota) {
		/* writers are serialized, so this sum is every node's, this
		 * batch's earlier messages included */
		int64_t sent = 0;
		if (event_sum(q, m->sending_account, "accept", m->created_ms / 1000 - 86400, &sent,
			      e) != 0 ||
		    quota_daily_check(m->max_24h, sent, m->ndestinations, e) != 0)
			return -1;
	}
	return event_insert(q, m->sending_account, m->created_ms / 1000, "accept",
			    (int64_t)m->ndestinations, e);
}

static int
sq_message_insert(struct store *s, const struct store_message *m, size_t n,
		  const struct store_event *ev, size_t nev, struct err *e)
{
	struct sq *q = sq_of(s);
	int r = 0;

	if (n == 0 && nev == 0)
		return 0;
	if (tx_begin(q, e) != 0)
		return -1;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = message_insert_one(q, &m[i], e);
	for (size_t i = 0; r == 0 && i < nev; i++)
		r = event_write(q, &ev[i], e);
	return tx_end_data(q, r, e);
}

static int
sq_message_list(struct store *s, const char *transport, int limit, store_message_cb cb,
		void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_MSG_LIST, e);

	if (st == NULL)
		return -1;
	if (bt(st, 1, transport) | bi(st, 2, limit > 0 ? limit : -1))
		return bind_fail(q, st, e);
	return message_rows(q, st, cb, arg, e);
}

static int
sq_message_get(struct store *s, const char *id, struct store_message *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_MSG_GET, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, id))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	if (r == 1)
		read_message(st, out);
	release(st);
	return r;
}

static int
sq_message_delete(struct store *s, const char *transport, int64_t *n_out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	*n_out = 0;
	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_MSG_DEL, e)) == NULL)
		return tx_end_data(q, -1, e);
	if (bt(st, 1, transport))
		return tx_end_data(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r >= 0) {
		*n_out = changes(q);
		r = 0;
	}
	return tx_end_data(q, r, e);
}

/* A LIKE pattern matching s anywhere, ASCII-lowercased like lower() on
 * both backends, with '%', '_' and the escape '!' taken literally; NULL
 * for NULL or "" (no filter). The caller frees. */
static char *
like_pattern(const char *s)
{
	size_t n, k = 0;
	char *p;

	if (s == NULL || s[0] == '\0')
		return NULL;
	n = strlen(s);
	p = xmalloc(2 * n + 3);
	p[k++] = '%';
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%' || c == '_' || c == '!')
			p[k++] = '!';
		p[k++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	p[k++] = '%';
	p[k] = '\0';
	return p;
}

static int
sq_message_search(struct store *s, const char *transport, const struct store_msg_filter *f,
		  int limit, store_message_cb cb, void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_MSG_SEARCH, e);
	char *pq, *pfrom, *pto, *psubj;
	const char *acct;
	int r;

	if (st == NULL)
		return -1;
	pq = like_pattern(f->q);
	pfrom = like_pattern(f->from);
	pto = like_pattern(f->to);
	psubj = like_pattern(f->subject);
	acct = f->account != NULL && f->account[0] != '\0' ? f->account : NULL;
	if (bt(st, 1, transport) | bt(st, 2, pq) | bt(st, 3, pfrom) | bt(st, 4, pto) |
	    bt(st, 5, psubj) | bt(st, 6, acct) | bi(st, 7, limit > 0 ? limit : 1))
		r = bind_fail(q, st, e);
	else
		r = message_rows(q, st, cb, arg, e);
	free(pq);
	free(pfrom);
	free(pto);
	free(psubj);
	return r;
}

static int
sq_message_delete_one(struct store *s, const char *transport, const char *id, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_MSG_DEL_ONE, e)) == NULL)
		return tx_end_data(q, -1, e);
	if (bt(st, 1, id) | bt(st, 2, transport))
		return tx_end_data(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r >= 0)
		r = changes(q) > 0;
	return tx_end_data(q, r, e);
}

/* ---- recipients and events ------------------------------------------- */

/* One claimed row, copied out of the RETURNING statement. */
struct claimed {
	char message_id[80];
	int idx, attempts;
	bool delayed;
};

static int
claimed_cmp(const void *a, const void *b)
{
	const struct claimed *x = a, *y = b;
	int c = strcmp(x->message_id, y->message_id);

	return c != 0 ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int
sq_rcpt_claim(struct store *s, const char *owner, int64_t now, int64_t lease_until, int limit,
	      store_claim_cb cb, void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct claimed *v = NULL;
	size_t n = 0, cap = 0, i, j;
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_RCPT_CLAIM, e)) == NULL)
		return tx_end_data(q, -1, e);
	if (bt(st, 1, owner) | bi(st, 2, now) | bi(st, 3, lease_until) |
	    bi(st, 4, limit > 0 ? limit : -1))
		return tx_end_data(q, bind_fail(q, st, e), e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		col_copy(st, 0, v[n].message_id, sizeof(v[n].message_id));
		v[n].idx = (int)col_i64(st, 1);
		v[n].attempts = (int)col_i64(st, 3);
		v[n].delayed = (int)col_i64(st, 4) != 0;
		n++;
	}
	release(st);
	if (tx_end_data(q, r, e) < 0) {
		free(v);
		return -1;
	}
	/* The claim is committed: hand each message out with its recipients.
	 * A message that cannot be read now keeps its claim, which ends with
	 * the lease and is taken again then. */
	if (n > 1)
		qsort(v, n, sizeof(*v), claimed_cmp);
	for (i = 0; i < n; i = j) {
		struct store_message m = {0};
		struct store_rcpt rc[64];
		size_t k = 0;
		int got;

		for (j = i; j < n && strcmp(v[j].message_id, v[i].message_id) == 0; j++)
			;
		if ((got = sq_message_get(s, v[i].message_id, &m, e)) != 1) {
			if (got < 0)
				log_warn("store: claimed message %s unreadable: %s", v[i].message_id,
					 e->message);
			continue;
		}
		for (size_t x = i; x < j; x++) {
			if (v[x].idx < 0 || (size_t)v[x].idx >= m.ndestinations || k == 64)
				continue; /* cannot happen: rows are written from destinations */
			rc[k].idx = v[x].idx;
			rc[k].address = m.destinations[v[x].idx];
			rc[k].attempts = v[x].attempts;
			rc[k].delayed = v[x].delayed;
			k++;
		}
		r = k > 0 ? cb(arg, &m, rc, k) : 0;
		store_message_clear(&m);
		if (r != 0)
			break;
	}
	free(v);
	return (int)n;
}

static int
sq_rcpt_finish(struct store *s, const char *owner, const char *transport,
	       const struct store_rcpt_outcome *o, size_t n, int64_t now_ms, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st, *done;
	int changed = 0, r = 0;

	if (n == 0)
		return 0;
	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_RCPT_FINISH, e)) == NULL || (done = stmt(q, S_MSG_DONE, e)) == NULL)
		return tx_end_data(q, -1, e);
	for (size_t i = 0; r == 0 && i < n; i++) {
		int c;
		if (bt(st, 1, o[i].message_id) | bi(st, 2, o[i].idx) | bt(st, 3, owner) |
		    bt(st, 4, o[i].status) | bi(st, 5, o[i].next_attempt) | bi(st, 6, o[i].delayed)) {
			r = bind_fail(q, st, e);
			break;
		}
		r = step(q, st, e) < 0 ? -1 : 0;
		release(st);
		c = r == 0 ? changes(q) : 0;
		if (c == 0)
			continue;
		changed += c;
		if (o[i].event != NULL && (r = event_write(q, o[i].event, e)) != 0)
			break;
		if (strcmp(o[i].status, STORE_RCPT_QUEUED) == 0)
			continue;
		if (bt(done, 1, o[i].message_id) | bt(done, 2, transport) | bi(done, 3, now_ms)) {
			r = bind_fail(q, done, e);
			break;
		}
		r = step(q, done, e) < 0 ? -1 : 0;
		release(done);
	}
	return tx_end_data(q, r < 0 ? -1 : changed, e);
}

static int
sq_rcpt_release(struct store *s, const char *owner, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_RCPT_RELEASE, e)) == NULL)
		return tx_end_data(q, -1, e);
	if (bt(st, 1, owner))
		return tx_end_data(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r >= 0)
		r = changes(q);
	return tx_end_data(q, r, e);
}

static int
sq_rcpt_renew(struct store *s, const char *owner, int64_t now, int64_t lease_until,
	      struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_RCPT_RENEW, e)) == NULL)
		return tx_end_data(q, -1, e);
	if (bt(st, 1, owner) | bi(st, 2, now) | bi(st, 3, lease_until))
		return tx_end_data(q, bind_fail(q, st, e), e);
	r = step(q, st, e);
	release(st);
	if (r >= 0)
		r = changes(q);
	return tx_end_data(q, r, e);
}

static int
sq_rcpt_depth(struct store *s, int64_t *queued, int64_t *retrying, int64_t *sending,
	      struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_RCPT_DEPTH, e);
	int r;

	*queued = *retrying = *sending = 0;
	if (st == NULL)
		return -1;
	r = step(q, st, e);
	if (r == 1) {
		*queued = col_i64(st, 0);
		*retrying = col_i64(st, 1);
		*sending = col_i64(st, 2);
	}
	release(st);
	return r < 0 ? -1 : 0;
}

static int
sq_event_list(struct store *s, const char *message_id, store_event_cb cb, void *arg,
	      struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_EVT_LIST, e);
	struct store_event *v = NULL;
	size_t n = 0, cap = 0, i;
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, message_id))
		return bind_fail(q, st, e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n].seq = col_i64(st, 0);
		v[n].message_id = col_dup(st, 1);
		v[n].recipient = col_dup(st, 2);
		v[n].type = col_dup(st, 3);
		v[n].ts_ms = col_i64(st, 4);
		v[n].detail = col_dup(st, 5);
		n++;
	}
	release(st);
	for (i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	for (i = 0; i < n; i++)
		store_event_clear(&v[i]);
	free(v);
	return r < 0 ? -1 : 0;
}

/* ---- SNS: topics, subscriptions, the outbox, the signing key ------------ */

/*
 * Inside the caller's transaction: one Notification row per confirmed
 * subscription of `topic_arn` (none when the topic is gone: its
 * subscriptions went with it), one MessageId for all. Returns the number of
 * rows written, or -1.
 */
static int
outbox_publish(struct sq *q, const char *topic_arn, const char *subject, const char *message,
	       int64_t now_ms, char msgid_out[37], struct err *e)
{
	struct sql_stmt *st = stmt(q, S_SNS_OUT_PUBLISH, e);
	char id[37];
	int r;

	if (st == NULL)
		return -1;
	uuid_v4(id);
	if (msgid_out != NULL)
		memcpy(msgid_out, id, sizeof(id));
	if (bt(st, 1, id) | bt(st, 2, topic_arn) | bt(st, 3, subject) | bt(st, 4, message) |
	    bi(st, 5, now_ms))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	release(st);
	return r < 0 ? -1 : changes(q);
}

static int
sq_sns_publish(struct store *s, const char *topic_arn, const char *subject, const char *message,
	       int64_t now_ms, char msgid_out[37], struct err *e)
{
	struct sq *q = sq_of(s);

	if (tx_begin(q, e) != 0)
		return -1;
	return tx_end_data(q, outbox_publish(q, topic_arn, subject, message, now_ms, msgid_out, e),
			   e);
}

static void
read_sns_topic(struct sql_stmt *st, struct sns_topic *t)
{
	memset(t, 0, sizeof(*t));
	col_copy(st, 0, t->arn, sizeof(t->arn));
	col_copy(st, 1, t->region, sizeof(t->region));
	col_copy(st, 2, t->account_id, sizeof(t->account_id));
	col_copy(st, 3, t->name, sizeof(t->name));
	t->attributes = col_dup(st, 4);
	t->created = col_i64(st, 5);
	t->confirmed = col_i64(st, 6);
	t->pending = col_i64(st, 7);
}

static void
read_sns_sub(struct sql_stmt *st, struct sns_subscription *u)
{
	memset(u, 0, sizeof(*u));
	col_copy(st, 0, u->arn, sizeof(u->arn));
	col_copy(st, 1, u->topic_arn, sizeof(u->topic_arn));
	col_copy(st, 2, u->account_id, sizeof(u->account_id));
	col_copy(st, 3, u->protocol, sizeof(u->protocol));
	u->endpoint = col_dup(st, 4);
	u->confirmed = (int)col_i64(st, 5) != 0;
	col_copy(st, 6, u->token, sizeof(u->token));
	u->raw_message_delivery = (int)col_i64(st, 7) != 0;
	u->created = col_i64(st, 8);
}

static int
sq_sns_topic_put(struct store *s, const struct sns_topic *t, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_SNS_TOPIC_INS, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, t->arn) | bt(st, 2, t->region) | bt(st, 3, t->account_id) |
	    bt(st, 4, t->name) | bt(st, 5, t->attributes != NULL ? t->attributes : "{}") |
	    bi(st, 6, t->created)) {
		bind_fail(q, st, e);
		return tx_end(q, -1, e);
	}
	r = step(q, st, e);
	release(st);
	return tx_end(q, r < 0 ? -1 : changes(q) > 0, e);
}

/* One row by a single text key into a struct: 1, 0, -1. */
static int
get_one(struct sq *q, enum sid id, const char *k1, const char *k2,
	void (*read)(struct sql_stmt *, void *), void *out, struct err *e)
{
	struct sql_stmt *st = stmt(q, id, e);
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, k1) | (k2 != NULL ? bt(st, 2, k2) : 0))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	if (r == 1)
		read(st, out);
	release(st);
	return r;
}

static void
read_topic_v(struct sql_stmt *st, void *out)
{
	read_sns_topic(st, out);
}

static void
read_sub_v(struct sql_stmt *st, void *out)
{
	read_sns_sub(st, out);
}

static int
sq_sns_topic_get(struct store *s, const char *arn, struct sns_topic *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return get_one(sq_of(s), S_SNS_TOPIC_GET, arn, NULL, read_topic_v, out, e);
}

static int
sq_sns_topic_list(struct store *s, const char *account_id, const char *region, const char *after,
		  int limit, store_sns_topic_cb cb, void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_SNS_TOPIC_LIST, e);
	struct sns_topic *v = NULL;
	size_t n = 0, cap = 0, i;
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, account_id) | bt(st, 2, region) | bt(st, 3, after) |
	    bi(st, 4, limit > 0 ? limit : -1))
		return bind_fail(q, st, e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_sns_topic(st, &v[n++]);
	}
	release(st);
	for (i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	for (i = 0; i < n; i++)
		sns_topic_clear(&v[i]);
	free(v);
	return r < 0 ? -1 : 0;
}

/* A one-statement write keyed by text (plus an optional text or int), in
 * its own transaction: 1 changed a row, 0 none. */
static int
write_one(struct sq *q, enum sid id, const char *k1, const char *t2, int64_t i2, bool use_int,
	  struct err *e)
{
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, id, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, k1) | (use_int ? bi(st, 2, i2) : t2 != NULL ? bt(st, 2, t2) : 0)) {
		bind_fail(q, st, e);
		return tx_end(q, -1, e);
	}
	r = step(q, st, e);
	release(st);
	return tx_end(q, r < 0 ? -1 : changes(q) > 0, e);
}

static int
sq_sns_topic_set_attributes(struct store *s, const char *arn, const char *attributes,
			    struct err *e)
{
	return write_one(sq_of(s), S_SNS_TOPIC_ATTRS, arn, attributes, 0, false, e);
}

static int
sq_sns_topic_delete(struct store *s, const char *arn, struct err *e)
{
	return write_one(sq_of(s), S_SNS_TOPIC_DEL, arn, NULL, 0, false, e);
}

static int
sq_sns_sub_set_raw(struct store *s, const char *arn, bool raw, struct err *e)
{
	return write_one(sq_of(s), S_SNS_SUB_RAW, arn, NULL, raw ? 1 : 0, true, e);
}

static int
sq_sns_sub_delete(struct store *s, const char *arn, struct err *e)
{
	return write_one(sq_of(s), S_SNS_SUB_DEL, arn, NULL, 0, false, e);
}

static int
sq_sns_sub_get(struct store *s, const char *arn, struct sns_subscription *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return get_one(sq_of(s), S_SNS_SUB_GET, arn, NULL, read_sub_v, out, e);
}

static int
sq_sns_subscribe(struct store *s, const struct sns_subscription *sub, const char *confirm_message,
		 int64_t now_ms, struct sns_subscription *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	char id[37];
	int r, created = 0;

	memset(out, 0, sizeof(*out));
	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_SNS_SUB_FIND, e)) == NULL)
		goto fail;
	if (bt(st, 1, sub->topic_arn) | bt(st, 2, sub->protocol) | bt(st, 3, sub->endpoint)) {
		bind_fail(q, st, e);
		goto fail;
	}
	r = step(q, st, e);
	if (r == 1)
		read_sns_sub(st, out);
	release(st);
	if (r < 0)
		goto fail;
	if (r == 0) {
		if ((st = stmt(q, S_SNS_SUB_INS, e)) == NULL)
			goto fail;
		if (bt(st, 1, sub->arn) | bt(st, 2, sub->topic_arn) | bt(st, 3, sub->account_id) |
		    bt(st, 4, sub->protocol) | bt(st, 5, sub->endpoint) |
		    bi(st, 6, sub->confirmed) | bt(st, 7, sub->token) |
		    bi(st, 8, sub->raw_message_delivery) | bi(st, 9, sub->created)) {
			bind_fail(q, st, e);
			goto fail;
		}
		r = step(q, st, e);
		release(st);
		if (r < 0)
			goto fail;
		*out = *sub;
		out->endpoint = xstrdup(sub->endpoint);
		created = 1;
	}
	if (!out->confirmed) {
		if ((st = stmt(q, S_SNS_OUT_CONFIRM, e)) == NULL)
			goto fail;
		uuid_v4(id);
		if (bt(st, 1, id) | bt(st, 2, out->topic_arn) | bt(st, 3, out->arn) |
		    bt(st, 4, confirm_message) | bi(st, 5, now_ms)) {
			bind_fail(q, st, e);
			goto fail;
		}
		r = step(q, st, e);
		release(st);
		if (r < 0)
			goto fail;
	}
	if (tx_end(q, created, e) < 0) {
		sns_subscription_clear(out);
		return -1;
	}
	return created;
fail:
	sns_subscription_clear(out);
	return tx_end(q, -1, e);
}

static int
sq_sns_sub_confirm(struct store *s, const char *topic_arn, const char *token,
		   struct sns_subscription *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	memset(out, 0, sizeof(*out));
	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_SNS_SUB_CONFIRM, e)) == NULL)
		return tx_end(q, -1, e);
	if (bt(st, 1, topic_arn) | bt(st, 2, token)) {
		bind_fail(q, st, e);
		return tx_end(q, -1, e);
	}
	r = step(q, st, e);
	release(st);
	if (r >= 0)
		r = get_one(q, S_SNS_SUB_BY_TOKEN, topic_arn, token, read_sub_v, out, e);
	if ((r = tx_end(q, r, e)) <= 0)
		sns_subscription_clear(out);
	return r;
}

static int
sq_sns_sub_list(struct store *s, const char *account_id, const char *region,
		const char *topic_arn, const char *after, int limit, store_sns_sub_cb cb, void *arg,
		struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, topic_arn != NULL ? S_SNS_SUB_LIST_TOPIC : S_SNS_SUB_LIST_ACC, e);
	struct sns_subscription *v = NULL;
	size_t n = 0, cap = 0, i;
	int r;

	if (st == NULL)
		return -1;
	if (bt(st, 1, topic_arn != NULL ? topic_arn : account_id) | bt(st, 2, after) |
	    bi(st, 3, limit > 0 ? limit : -1) | (topic_arn == NULL ? bt(st, 4, region) : 0))
		return bind_fail(q, st, e);
	while ((r = step(q, st, e)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_sns_sub(st, &v[n++]);
	}
	release(st);
	for (i = 0; r == 0 && i < n; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	for (i = 0; i < n; i++)
		sns_subscription_clear(&v[i]);
	free(v);
	return r < 0 ? -1 : 0;
}

/* A claimed row copied out of its statement (the strings are owned). */
struct sns_row {
	struct sns_delivery d;
	char *s[11];
};

static int
sq_sns_outbox_claim(struct store *s, const char *owner, int64_t now_ms, int64_t lease_until_ms,
		    int limit, store_sns_claim_cb cb, void *arg, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	struct sns_row *v = NULL;
	size_t n = 0, i;
	int r;

	if (limit <= 0)
		return 0;
	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_SNS_OUT_DUE, e)) == NULL)
		return tx_end_data(q, -1, e);
	if (bt(st, 1, owner) | bi(st, 2, now_ms) | bi(st, 3, limit)) {
		bind_fail(q, st, e);
		return tx_end_data(q, -1, e);
	}
	v = xcalloc((size_t)limit, sizeof(*v));
	while ((r = step(q, st, e)) == 1 && n < (size_t)limit) {
		struct sns_row *w = &v[n++];
		static const int text_cols[] = {1, 2, 3, 4, 5, 6, 9, 10, 11, 13};
		for (size_t k = 0; k < sizeof(text_cols) / sizeof(text_cols[0]); k++)
			w->s[k] = col_dup(st, text_cols[k]);
		w->d.id = col_i64(st, 0);
		w->d.message_id = w->s[0];
		w->d.type = w->s[1];
		w->d.topic_arn = w->s[2];
		w->d.subscription_arn = w->s[3];
		w->d.subject = w->s[4];
		w->d.message = w->s[5] != NULL ? w->s[5] : "";
		w->d.timestamp_ms = col_i64(st, 7);
		w->d.attempts = (int)col_i64(st, 8);
		w->d.protocol = w->s[6];
		w->d.endpoint = w->s[7];
		w->d.token = w->s[8];
		w->d.raw_message_delivery = (int)col_i64(st, 12) != 0;
		w->d.signature_version = w->s[9] != NULL ? w->s[9] : "1";
	}
	release(st);
	for (i = 0; r >= 0 && i < n; i++) {
		if ((st = stmt(q, S_SNS_OUT_LEASE, e)) == NULL) {
			r = -1;
			break;
		}
		if (bi(st, 1, v[i].d.id) | bt(st, 2, owner) | bi(st, 3, lease_until_ms)) {
			r = bind_fail(q, st, e);
			break;
		}
		r = step(q, st, e);
		release(st);
	}
	r = tx_end_data(q, r < 0 ? -1 : (int)n, e);
	for (i = 0; r > 0 && i < n; i++)
		if (cb(arg, &v[i].d) != 0)
			break;
	for (i = 0; i < n; i++)
		for (size_t k = 0; k < sizeof(v[i].s) / sizeof(v[i].s[0]); k++)
			free(v[i].s[k]);
	free(v);
	return r;
}

static int
sq_sns_outbox_finish(struct store *s, const char *owner, int64_t id, int64_t next_attempt_ms,
		     struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, next_attempt_ms == 0 ? S_SNS_OUT_DONE : S_SNS_OUT_RETRY, e)) == NULL)
		return tx_end_data(q, -1, e);
	if (bi(st, 1, id) | bt(st, 2, owner) | (next_attempt_ms != 0 ? bi(st, 3, next_attempt_ms) : 0)) {
		bind_fail(q, st, e);
		return tx_end_data(q, -1, e);
	}
	r = step(q, st, e);
	release(st);
	return tx_end_data(q, r < 0 ? -1 : changes(q) > 0, e);
}

static int
sq_sns_outbox_release(struct store *s, const char *owner, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_SNS_OUT_RELEASE, e)) == NULL)
		return tx_end_data(q, -1, e);
	if (bt(st, 1, owner)) {
		bind_fail(q, st, e);
		return tx_end_data(q, -1, e);
	}
	r = step(q, st, e);
	release(st);
	return tx_end_data(q, r < 0 ? -1 : changes(q), e);
}

static int
sq_sns_outbox_count(struct store *s, const char *type, int64_t *out, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_SNS_OUT_COUNT, e);
	int r;

	*out = 0;
	if (st == NULL)
		return -1;
	if (bt(st, 1, type))
		return bind_fail(q, st, e);
	r = step(q, st, e);
	if (r == 1)
		*out = col_i64(st, 0);
	release(st);
	return r < 0 ? -1 : 0;
}

static int
sq_sns_key_get(struct store *s, uint8_t **sealed_out, size_t *sealed_len_out, char **cert_out,
	       struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st = stmt(q, S_SNS_KEY_GET, e);
	int r;

	if (sealed_out != NULL)
		*sealed_out = NULL;
	if (sealed_len_out != NULL)
		*sealed_len_out = 0;
	*cert_out = NULL;
	if (st == NULL)
		return -1;
	r = step(q, st, e);
	if (r == 1) {
		size_t len;
		if (sealed_out != NULL) {
			*sealed_out = col_blob(st, 0, &len);
			if (sealed_len_out != NULL)
				*sealed_len_out = len;
		}
		*cert_out = col_dup(st, 1);
	}
	release(st);
	return r;
}

static int
sq_sns_key_put(struct store *s, const uint8_t *sealed, size_t sealed_len, const char *cert_pem,
	       int64_t now, struct err *e)
{
	struct sq *q = sq_of(s);
	struct sql_stmt *st;
	int r;

	if (tx_begin(q, e) != 0)
		return -1;
	if ((st = stmt(q, S_SNS_KEY_PUT, e)) == NULL)
		return tx_end_data(q, -1, e);
	if (bb(st, 1, sealed, sealed_len) | bt(st, 2, cert_pem) | bi(st, 3, now)) {
		bind_fail(q, st, e);
		return tx_end_data(q, -1, e);
	}
	r = step(q, st, e);
	release(st);
	return tx_end_data(q, r < 0 ? -1 : changes(q) > 0, e);
}

static const struct store_ops sqlite_ops = {
	.close = sq_close,
	.snapshot_begin = sq_snapshot_begin,
	.snapshot_end = sq_snapshot_end,
	.account_create = sq_account_create,
	.account_get = sq_account_get,
	.account_list = sq_account_list,
	.account_delete = sq_account_delete,
	.account_set_sending = sq_account_set_sending,
	.account_set_suppression = sq_account_set_suppression,
	.account_set_pause = sq_account_set_pause,
	.user_create = sq_user_create,
	.user_get = sq_user_get,
	.user_list = sq_user_list,
	.user_delete = sq_user_delete,
	.key_create = sq_key_create,
	.key_get = sq_key_get,
	.key_list = sq_key_list,
	.key_delete = sq_key_delete,
	.identity_put = sq_identity_put,
	.identity_get = sq_identity_get,
	.identity_get_by_token = sq_identity_get_by_token,
	.identity_list = sq_identity_list,
	.identity_due = sq_identity_due,
	.identity_delete = sq_identity_delete,
	.policy_put = sq_policy_put,
	.policy_list = sq_policy_list,
	.policy_delete = sq_policy_delete,
	.generation = sq_generation,
	.event_record = sq_event_record,
	.event_sum = sq_event_sum,
	.event_buckets = sq_event_buckets,
	.message_insert = sq_message_insert,
	.rcpt_claim = sq_rcpt_claim,
	.rcpt_finish = sq_rcpt_finish,
	.rcpt_release = sq_rcpt_release,
	.feedback_add = sq_feedback_add,
	.event_list = sq_event_list,
	.suppression_put = sq_suppression_put,
	.suppression_get = sq_suppression_get,
	.suppression_list = sq_suppression_list,
	.suppression_delete = sq_suppression_delete,
	.template_put = sq_template_put,
	.template_get = sq_template_get,
	.template_list = sq_template_list,
	.template_delete = sq_template_delete,
	.cset_create = sq_cset_create,
	.cset_get = sq_cset_get,
	.cset_list = sq_cset_list,
	.cset_delete = sq_cset_delete,
	.cset_set_flag = sq_cset_set_flag,
	.cset_set_suppression = sq_cset_set_suppression,
	.cset_dest_put = sq_cset_dest_put,
	.cset_dest_delete = sq_cset_dest_delete,
	.cset_dest_list = sq_cset_dest_list,
	.mail_from_known = sq_mail_from_known,
	.notify_put = sq_notify_put,
	.notify_get = sq_notify_get,
	.notify_list = sq_notify_list,
	.identity_set_forwarding = sq_identity_set_forwarding,
	.sns_topic_put = sq_sns_topic_put,
	.sns_topic_get = sq_sns_topic_get,
	.sns_topic_list = sq_sns_topic_list,
	.sns_topic_set_attributes = sq_sns_topic_set_attributes,
	.sns_topic_delete = sq_sns_topic_delete,
	.sns_subscribe = sq_sns_subscribe,
	.sns_sub_get = sq_sns_sub_get,
	.sns_sub_confirm = sq_sns_sub_confirm,
	.sns_sub_set_raw = sq_sns_sub_set_raw,
	.sns_sub_delete = sq_sns_sub_delete,
	.sns_sub_list = sq_sns_sub_list,
	.sns_publish = sq_sns_publish,
	.sns_outbox_claim = sq_sns_outbox_claim,
	.sns_outbox_finish = sq_sns_outbox_finish,
	.sns_outbox_release = sq_sns_outbox_release,
	.sns_outbox_count = sq_sns_outbox_count,
	.rcpt_depth = sq_rcpt_depth,
	.rcpt_renew = sq_rcpt_renew,
	.sns_key_get = sq_sns_key_get,
	.sns_key_put = sq_sns_key_put,
	.message_list = sq_message_list,
	.message_get = sq_message_get,
	.message_delete = sq_message_delete,
	.message_search = sq_message_search,
	.message_delete_one = sq_message_delete_one,
	.identity_verify_token = sq_identity_verify_token,
	.identity_set_next_check = sq_identity_set_next_check,
	.identity_cas_checks = sq_identity_cas_checks,
};

/* Process-wide SQLite settings, before the library's first use: every
 * handle belongs to one thread (SQLITE_OPEN_NOMUTEX), and the allocation
 * statistics SQLite keeps by default sit behind one global mutex that every
 * thread's every statement would take. */
static void
sqlite_init_once(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Create `path` 0600 if absent, else narrow it to 0600, and narrow any
 * -wal, -shm or -journal file an earlier version left with a wider mode.
 * Runs before sqlite3_open_v2 so nothing is ever created readable by
 * others, whatever the umask.
 *
 * An existing file is changed by path, never opened: closing any
 * descriptor of a file drops every POSIX lock this process holds on it,
 * including the locks of SQLite connections other threads have open —
 * the next connection to close would then think it was the last one and
 * delete the WAL under them. A file created here (O_EXCL) had no
 * connection yet, so closing that descriptor drops nothing. */
static int
private_files(const char *path, struct err *e)
{
	static const char *const companion[] = {"-wal", "-shm", "-journal"};
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0) {
		int rc = fchmod(fd, 0600), errnum = errno;
		close(fd);
		if (rc != 0)
			return err_temp(e, "store: cannot make %s private: %s", path,
					strerror(errnum));
	} else if (errno != EEXIST) {
		return err_temp(e, "store: cannot open %s: %s", path, strerror(errno));
	}
	for (size_t i = 0; i <= sizeof(companion) / sizeof(companion[0]); i++) {
		char *p = i == 0 ? xstrdup(path) : xasprintf("%s%s", path, companion[i - 1]);
		int rc = chmod(p, 0600);
		int errnum = errno;
		if (rc != 0 && !(i > 0 && errnum == ENOENT)) {
			err_temp(e, "store: cannot make %s private: %s", p, strerror(errnum));
			free(p);
			return -1;
		}
		free(p);
	}
	return 0;
}

struct store *
sql_store_new(const struct sql_driver *drv, struct sql_conn *c, bool pg)
{
	struct sq *q = xcalloc(1, sizeof(*q));

	q->base.ops = &sqlite_ops;
	q->drv = drv;
	q->c = c;
	q->pg = pg;
	return &q->base;
}

/* ---- the SQLite driver ------------------------------------------------- */

struct sqlite_conn {
	struct sql_conn base;
	sqlite3 *db;
	int ckpt_tried; /* wal_hook's: the WAL's frames at this connection's last checkpoint */
};

struct sqlite_stmt {
	struct sql_stmt base;
	sqlite3_stmt *st;
	struct sqlite_conn *c;
};

static struct sqlite_stmt *
lite(struct sql_stmt *st)
{
	return (struct sqlite_stmt *)st;
}

static sqlite3 *
lite_db(struct sql_conn *c)
{
	return ((struct sqlite_conn *)c)->db;
}

static const struct sql_driver sqlite_driver;

static struct sql_stmt *
lite_prepare(struct sql_conn *c, int id, const char *text, struct err *e)
{
	struct sqlite_stmt *s = xcalloc(1, sizeof(*s));

	(void)id;
	s->base.drv = &sqlite_driver;
	s->c = (struct sqlite_conn *)c;
	if (sqlite3_prepare_v3(s->c->db, text, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL) !=
	    SQLITE_OK) {
		err_temp(e, "store: cannot prepare statement: %s", sqlite3_errmsg(s->c->db));
		sqlite3_finalize(s->st);
		free(s);
		return NULL;
	}
	return &s->base;
}

static void
lite_finalize(struct sql_stmt *st)
{
	sqlite3_finalize(lite(st)->st);
	free(st);
}

/* SQLITE_STATIC: the values are borrowed until the reset (sql.h) */
static int
lite_bind_text(struct sql_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(lite(st)->st, i, s, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

static int
lite_bind_int(struct sql_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(lite(st)->st, i, v) == SQLITE_OK ? 0 : -1;
}

static int
lite_bind_double(struct sql_stmt *st, int i, double v)
{
	return sqlite3_bind_double(lite(st)->st, i, v) == SQLITE_OK ? 0 : -1;
}

static int
lite_bind_blob(struct sql_stmt *st, int i, const uint8_t *p, size_t n)
{
	int rc = p == NULL ? sqlite3_bind_null(lite(st)->st, i)
			   : sqlite3_bind_blob64(lite(st)->st, i, p, n, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
lite_step(struct sql_stmt *st)
{
	int rc = sqlite3_step(lite(st)->st);

	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static void
lite_reset(struct sql_stmt *st)
{
	sqlite3_reset(lite(st)->st);
	sqlite3_clear_bindings(lite(st)->st);
}

static int64_t
lite_col_int(struct sql_stmt *st, int i)
{
	return sqlite3_column_int64(lite(st)->st, i);
}

static double
lite_col_double(struct sql_stmt *st, int i)
{
	return sqlite3_column_double(lite(st)->st, i);
}

static const char *
lite_col_text(struct sql_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(lite(st)->st, i);
}

static const uint8_t *
lite_col_blob(struct sql_stmt *st, int i, size_t *n)
{
	const void *p = sqlite3_column_blob(lite(st)->st, i);
	int len = sqlite3_column_bytes(lite(st)->st, i);

	*n = len > 0 ? (size_t)len : 0;
	return p;
}

static int64_t
lite_changes(struct sql_conn *c)
{
	return sqlite3_changes64(lite_db(c));
}

static const char *
lite_errmsg(struct sql_conn *c)
{
	return sqlite3_errmsg(lite_db(c));
}

static enum sql_fail
lite_failure(struct sql_conn *c)
{
	int x = sqlite3_extended_errcode(lite_db(c));

	switch (x) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return SQL_FAIL_UNIQUE;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return SQL_FAIL_FOREIGN;
	default:
		return (x & 0xff) == SQLITE_CONSTRAINT ? SQL_FAIL_CHECK : SQL_FAIL_OTHER;
	}
}

static bool
lite_in_tx(struct sql_conn *c)
{
	return !sqlite3_get_autocommit(lite_db(c));
}

static void
lite_close(struct sql_conn *c)
{
	sqlite3_close_v2(lite_db(c));
	free(c);
}

static const struct sql_driver sqlite_driver = {
	.name = "sqlite",
	.prepare = lite_prepare,
	.finalize = lite_finalize,
	.bind_text = lite_bind_text,
	.bind_int = lite_bind_int,
	.bind_double = lite_bind_double,
	.bind_blob = lite_bind_blob,
	.step = lite_step,
	.reset = lite_reset,
	.col_int = lite_col_int,
	.col_double = lite_col_double,
	.col_text = lite_col_text,
	.col_blob = lite_col_blob,
	.changes = lite_changes,
	.errmsg = lite_errmsg,
	.failure = lite_failure,
	.in_tx = lite_in_tx,
	.close = lite_close,
};

/* ---- open and migrate (SQLite) ------------------------------------------ */

static int
pragma_text(sqlite3 *db, const char *pragma, char *out, size_t cap, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, pragma, -1, &st, NULL) != SQLITE_OK)
		return err_temp(e, "store: %s: %s", pragma, sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	else if (rc == SQLITE_DONE)
		out[0] = '\0';
	else
		err_temp(e, "store: %s: %s", pragma, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Apply the migrations past PRAGMA user_version, all in one transaction, so
 * two processes opening a fresh file at once cannot both migrate. */
static int
store_sqlite_migrate(sqlite3 *db, struct err *e)
{
	char v[32], set[64];
	char *msg = NULL;
	long version;

	/* a current schema needs no write lock: a handle opened while another
	 * process holds a long write (or the store thread a big batch) must
	 * not wait for it, let alone fail when its busy timeout runs out */
	if (pragma_text(db, "PRAGMA user_version", v, sizeof(v), e) != 0)
		return -1;
	if (strtol(v, NULL, 10) == NMIGRATIONS)
		return 0;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return err_temp(e, "store: cannot begin the migration: %s", sqlite3_errmsg(db));
	if (pragma_text(db, "PRAGMA user_version", v, sizeof(v), e) != 0)
		goto fail;
	version = strtol(v, NULL, 10);
	if (version > NMIGRATIONS) {
		err_temp(e, "store: database schema version %ld is newer than this build (%d)",
			 version, NMIGRATIONS);
		goto fail;
	}
	for (long i = version; i < NMIGRATIONS; i++) {
		if (sqlite3_exec(db, migrations[i], NULL, NULL, &msg) != SQLITE_OK) {
			err_temp(e, "store: migration %ld failed: %s", i + 1,
				 msg != NULL ? msg : "unknown error");
			sqlite3_free(msg);
			goto fail;
		}
	}
	if (version < NMIGRATIONS) {
		snprintf(set, sizeof(set), "PRAGMA user_version = %d", NMIGRATIONS);
		if (sqlite3_exec(db, set, NULL, NULL, NULL) != SQLITE_OK) {
			err_temp(e, "store: cannot set schema version: %s", sqlite3_errmsg(db));
			goto fail;
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		err_temp(e, "store: cannot commit the migration: %s", sqlite3_errmsg(db));
		goto fail;
	}
	return 0;
fail:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * The checkpointer (store_checkpoint_thread): in sesame serve, WAL
 * checkpoints run on a thread with a connection of its own instead of
 * inside the commit that crossed SQLite's threshold — that commit, and
 * every send waiting on the group commit behind it, would otherwise wait
 * for the copy into the database file and its fsync. Every handle opened
 * while it runs on the same path gets wal_hook in place of SQLite's
 * auto-checkpoint (sqlite3_wal_hook replaces it). The checkpoints are
 * PASSIVE: they never block a reader or a writer.
 *
 * The thread's work is due when CHECKPOINT_FRAMES frames have been written
 * since what its last checkpoint copied, not whenever the WAL holds that
 * many: a WAL that has not restarted stays over the threshold, and every
 * commit would then start another checkpoint of a few frames, each with an
 * fsync of the WAL (and of the database) beside the commit's own. Measured
 * under bench/send_api at 4 connections: more fsyncs from the checkpointer
 * than from the commits before; now about a tenth as many, and SendRawEmail
 * at 16 connections went from 1763 to 3167 a second (docs/internals/store.md).
 * In the last CHECKPOINT_FRAMES before a restart the thread runs every
 * tenth of that, so little is left for the committing connection below.
 *
 * Only a writer restarts the WAL, at the start of a write when the WAL is
 * wholly copied; under a steady load the writer is always a commit ahead
 * of the thread, so that never happens by itself. So when a commit leaves
 * CHECKPOINT_RESTART_FRAMES frames or more, the committing connection
 * copies the few frames the thread has not (wal_hook, once per
 * CHECKPOINT_FRAMES of growth), and its next write restarts the WAL: the
 * WAL stays near that size (tests/integration/test_store_wal.py).
 */
#define CHECKPOINT_FRAMES 1000          /* SQLite's own auto-checkpoint threshold */
#define CHECKPOINT_RESTART_FRAMES 3000  /* ~12 MB of 4 KB pages */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool on;       /* store_checkpoint_thread(true) was called */
	bool running;  /* the thread runs, on `path` */
	bool due, stop;
	int seen;      /* the WAL's frames at the last commit hooked */
	int copied;    /* of those, copied by the last checkpoint (0 after a restart) */
	unsigned restarts; /* restarts the hook has seen */
	char *path;
	sqlite3 *db;
	pthread_t thread;
} ckpt = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	int *tried = arg; /* the connection's WAL size at its last own checkpoint */

	if (frames < *tried)
		*tried = 0;
	if (frames >= CHECKPOINT_RESTART_FRAMES && frames - *tried >= CHECKPOINT_FRAMES) {
		*tried = frames;
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	}
	pthread_mutex_lock(&ckpt.mu);
	if (frames < ckpt.seen) { /* the WAL was restarted: nothing of it copied */
		ckpt.copied = 0;
		ckpt.restarts++;
	}
	ckpt.seen = frames;
	/* near the restart, in smaller steps: what is left for the committing
	 * connection to copy is what waits in a send's path */
	int step = frames >= CHECKPOINT_RESTART_FRAMES - CHECKPOINT_FRAMES ? CHECKPOINT_FRAMES / 10
									    : CHECKPOINT_FRAMES;
	if (frames - ckpt.copied >= step && !ckpt.due) {
		ckpt.due = true;
		pthread_cond_signal(&ckpt.cv);
	}
	pthread_mutex_unlock(&ckpt.mu);
	return SQLITE_OK;
}

/* fsync the database file through SQLite's own file handle after a
 * checkpoint copied pages into it. SQLite syncs it only when the copy
 * reached the WAL's end as it is now, which under load it never does (the
 * writer is a commit ahead): the pages would wait for the fsync of the
 * commit that finishes the WAL (wal_hook), there in the path of a send. */
static void
sync_database(void)
{
	sqlite3_file *f = NULL;

	if (sqlite3_file_control(ckpt.db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK &&
	    f != NULL && f->pMethods != NULL)
		f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

static void *
checkpoint_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ckpt.mu);
	for (;;) {
		while (!ckpt.due && !ckpt.stop)
			pthread_cond_wait(&ckpt.cv, &ckpt.mu);
		if (ckpt.stop)
			break;
		ckpt.due = false;
		unsigned restarts = ckpt.restarts;
		int before = ckpt.copied;
		pthread_mutex_unlock(&ckpt.mu);
		int log = 0, done = 0;
		int rc = sqlite3_wal_checkpoint_v2(ckpt.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
						   &done);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store: checkpoint failed: %s", sqlite3_errmsg(ckpt.db));
		/* nothing newly copied (the readers held the rest): nothing to
		 * sync. After a restart the copy is of a new WAL, which SQLite
		 * began only once the old one was copied and synced. */
		if (rc == SQLITE_OK && done > before)
			sync_database();
		pthread_mutex_lock(&ckpt.mu);
		if (rc == SQLITE_OK && done >= 0 && restarts == ckpt.restarts)
			ckpt.copied = done; /* of the WAL the hook last saw */
	}
	pthread_mutex_unlock(&ckpt.mu);
	return NULL;
}

/* Called by sq_open with a freshly opened connection on `path`: start the
 * thread on the first path seen, and hook the connection when it is on
 * that path (other paths keep SQLite's auto-checkpoint). */
static void
checkpoint_attach(const char *path, sqlite3 *db, int *tried)
{
	pthread_mutex_lock(&ckpt.mu);
	if (ckpt.on && !ckpt.running) {
		sqlite3 *own = NULL;
		/* the journal mode is learnt on a connection's first read: until
		 * then a checkpoint on it is a no-op (log and done -1) */
		if (sqlite3_open_v2(path, &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
				    NULL) == SQLITE_OK &&
		    sqlite3_exec(own, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) == SQLITE_OK) {
			ckpt.db = own;
			ckpt.path = xstrdup(path);
			ckpt.due = ckpt.stop = false;
			ckpt.seen = ckpt.copied = 0;
			ckpt.running = pthread_create(&ckpt.thread, NULL, checkpoint_main, NULL) == 0;
		}
		if (!ckpt.running) {
			sqlite3_close(own);
			free(ckpt.path);
			ckpt.path = NULL;
			ckpt.db = NULL;
		}
	}
	if (ckpt.running && strcmp(path, ckpt.path) == 0)
		sqlite3_wal_hook(db, wal_hook, tried);
	pthread_mutex_unlock(&ckpt.mu);
}

void
store_sqlite_checkpoint_thread(bool on)
{
	pthread_mutex_lock(&ckpt.mu);
	ckpt.on = on;
	if (on || !ckpt.running) {
		pthread_mutex_unlock(&ckpt.mu);
		return;
	}
	ckpt.stop = true;
	pthread_cond_signal(&ckpt.cv);
	pthread_mutex_unlock(&ckpt.mu);
	pthread_join(ckpt.thread, NULL);
	pthread_mutex_lock(&ckpt.mu);
	sqlite3_close(ckpt.db);
	free(ckpt.path);
	ckpt.db = NULL;
	ckpt.path = NULL;
	ckpt.running = false;
	pthread_mutex_unlock(&ckpt.mu);
}

static struct store *
sq_open(const char *path, struct err *e)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct sqlite_conn *c = xcalloc(1, sizeof(*c));
	char mode[32];

	pthread_once(&once, sqlite_init_once);
	c->base.drv = &sqlite_driver;
	if (private_files(path, e) != 0)
		goto fail;
	if (sqlite3_open_v2(path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		err_temp(e, "store: cannot open %s: %s", path,
			 c->db != NULL ? sqlite3_errmsg(c->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	if (pragma_text(c->db, "PRAGMA journal_mode = WAL", mode, sizeof(mode), e) != 0)
		goto fail;
	if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
		err_temp(e, "store: %s: cannot switch to WAL mode (got '%s')", path, mode);
		goto fail;
	}
	if (sqlite3_exec(c->db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", NULL,
			 NULL, NULL) != SQLITE_OK) {
		err_temp(e, "store: %s: %s", path, sqlite3_errmsg(c->db));
		goto fail;
	}
	if (pragma_text(c->db, "PRAGMA foreign_keys", mode, sizeof(mode), e) != 0)
		goto fail;
	if (strcmp(mode, "1") != 0) {
		err_temp(e, "store: this SQLite has no foreign key support");
		goto fail;
	}
	if (store_sqlite_migrate(c->db, e) != 0)
		goto fail;
	checkpoint_attach(path, c->db, &c->ckpt_tried);
	return sql_store_new(&sqlite_driver, &c->base, false);
fail:
	lite_close(&c->base);
	return NULL;
}

struct store *
store_sqlite_open(const char *url, struct err *e)
{
	const char *path = url + strlen("sqlite:");

	if (strncmp(path, "//", 2) == 0)
		path += 2; /* sqlite:///abs/path */
	if (path[0] == '\0') {
		err_set(e, 500, "InternalFailure", "store URL 'sqlite:' needs a path");
		return NULL;
	}
	return sq_open(path, e);
}

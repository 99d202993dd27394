/*
 * store.h — the storage contract. Every durable fact of sesame lives behind
 * this vtable: accounts, IAM users, access keys, identities, sending
 * authorization policies, messages. Backends: SQLite (store_sqlite.c, the
 * default, `sqlite:PATH` or a data dir) and later PostgreSQL; store.c's
 * backend table picks one by URL scheme, and their constructors are
 * private to src/store/ (backend.h).
 *
 * Threading: a struct store is used by one thread at a time. Each thread
 * (event loop, store thread, CLI) opens its own handle on the same URL.
 * Reads see what other handles and processes committed (no caches here), so a
 * running server sees admin-command changes at once.
 *
 * Conventions: functions return 0 on success, -1 on failure with `e` (never
 * NULL) filled (storage errors are temporary: err_temp). Lookups return 1 when found, 0
 * when not found, -1 on error; deletes return 1 when a row went, 0 when there
 * was none. Strings inside returned structs are owned by the struct and
 * released by the matching *_clear function (which also accepts a zeroed
 * struct, and leaves it zeroed).
 *
 * Permanent failures a caller can act on carry these codes in e->code:
 *   STORE_ERR_EXISTS (HTTP 400) — the key (id, name) is already taken;
 *     e->message names which ("account name 'x' already exists");
 *   STORE_ERR_NO_PARENT (HTTP 404) — a row refers to an account, user or
 *     identity that does not exist.
 * Every write bumps the generation counter in the same transaction — except
 * writes of messages and send events (message_*, event_record), which happen
 * on every send and which no cache depends on. The conditional identity
 * writes (identity_verify_token, identity_set_next_check, identity_cas_checks)
 * bump it only when they changed a row.
 *
 * List callbacks run after the rows were read and the statement released, so
 * a callback may call back into the same handle (e.g. identity_put from an
 * identity_due callback).
 *
 * Secrets: access-key secrets and DKIM private keys are stored sealed
 * (AES-256-GCM, see vault.h); the store never sees plaintext.
 */
#ifndef SESAME_STORE_STORE_H
#define SESAME_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/identity.h"
#include "util/err.h"

#define STORE_ERR_EXISTS "AlreadyExists"
#define STORE_ERR_NO_PARENT "NotFound"

struct store;

/* ---- accounts ---------------------------------------------------------- */

struct account {
	char id[13];          /* 12 digits */
	char name[65];
	int64_t max_24h;      /* recipients per rolling 24 h; -1 = unlimited */
	double max_rate;      /* recipients per second */
	bool sandbox;
	bool sending_enabled; /* the account's own switch (UpdateAccountSendingEnabled) */
	char paused_reason[128]; /* a reputation pause: why; "" = not paused. Only the
				  * operator lifts it (account_set_pause) */
	int64_t resumed_at;   /* unix seconds of the last lift; reputation counts from then */
	int64_t created;      /* unix seconds */
	unsigned suppressed_reasons; /* STORE_SUPPRESS_BIT_*: the feedback that adds to the
				      * account's suppression list (SES v2
				      * PutAccountSuppressionAttributes); new accounts both */
};

/* ---- IAM users --------------------------------------------------------- */

struct iam_user {
	char account_id[13];
	char name[65];
	char *policy;         /* the user's own IAM policy JSON, or NULL */
	int64_t created;
};
void iam_user_clear(struct iam_user *u);

/* ---- access keys ------------------------------------------------------- */

struct access_key {
	char id[21];          /* "AKIA" + 16 */
	char account_id[13];
	char user[65];        /* IAM user name, "" for root or service */
	char service[254];    /* service principal name, "" otherwise */
	uint8_t *sealed;      /* sealed secret (vault_seal output) */
	size_t sealed_len;
	int64_t created;
};
void access_key_clear(struct access_key *k);

/* ---- identities -------------------------------------------------------- */

/* enum identity_type (IDENTITY_EMAIL, IDENTITY_DOMAIN): core/identity.h */

/* Verification statuses exactly as SES spells them. */
#define STATUS_PENDING "Pending"
#define STATUS_SUCCESS "Success"
#define STATUS_FAILED "Failed"
#define STATUS_TEMPFAIL "TemporaryFailure"
#define STATUS_NOT_STARTED "NotStarted"

struct identity {
	char region[32];
	char account_id[13];
	char *name;                  /* address as given; domain lower-cased */
	enum identity_type type;
	char status[20];             /* STATUS_* */
	char *token;                 /* email: link token; domain: TXT token */
	int64_t token_expires;       /* email link expiry / domain give-up time */
	int64_t created;
	/* Easy DKIM, or BYODKIM (SES v2 SigningAttributesOrigin EXTERNAL) */
	bool dkim_enabled;
	bool dkim_external;          /* BYODKIM: dkim_tokens[0] is the owner's selector,
				      * [1] and [2] NULL, dkim_keys_sealed a set of the
				      * owner's one key (auth/dkim_keys.h); column
				      * dkim_origin 'EXTERNAL' (else 'AWS_SES') */
	char dkim_status[20];        /* STATUS_*; NotStarted when never asked */
	char *dkim_tokens[3];        /* selectors, NULL when none */
	uint8_t *dkim_keys_sealed;   /* sealed PEM private keys, '\n\n'-joined */
	size_t dkim_keys_sealed_len;
	/* the Ed25519 record <token1>ed (RFC 8463), checked beside the RSA ones:
	 * STATUS_*; NotStarted when the set has no Ed25519 key or it was never
	 * asked for ("" is stored as NotStarted) */
	char dkim_ed25519_status[20];
	/* custom MAIL FROM */
	char *mail_from_domain;      /* NULL when unset */
	char mail_from_status[20];
	char mail_from_behavior[20]; /* UseDefaultValue | RejectMessage */
	/* notifications */
	char *bounce_topic, *complaint_topic, *delivery_topic; /* NULL = unset */
	bool forwarding_enabled;
	bool headers_in_bounce, headers_in_complaint, headers_in_delivery;
	/* DNS re-check schedule (domain / DKIM / MAIL FROM pending) */
	int64_t next_check;          /* unix seconds; 0 = none */
	int check_attempts;
	/* SES v2: the configuration set of the owner's sends from this identity
	 * that name none (PutEmailIdentityConfigurationSetAttributes); NULL none */
	char *config_set;
};
void identity_clear(struct identity *id);

/* A callback for list functions; return non-zero to stop early. */
typedef int (*store_identity_cb)(void *arg, const struct identity *id);

/* What identity_verify_token found for a link token. */
enum store_link {
	STORE_LINK_UNKNOWN,  /* no address identity holds it (never issued, replaced by a
			      * newer link, deleted, or a domain's token) */
	STORE_LINK_VERIFIED, /* this call turned the address Pending -> Success */
	STORE_LINK_USED,     /* the address was Success already */
	STORE_LINK_EXPIRED,  /* past its expiry: the address is Failed (this call may have
			      * written that) */
};

/* ---- policies ---------------------------------------------------------- */

struct identity_policy {
	char name[65];
	char *document;   /* JSON text, as stored */
};
void identity_policy_clear(struct identity_policy *p);

/* ---- sending statistics ---------------------------------------------- */

struct send_bucket {
	int64_t start; /* unix seconds, multiple of 900 */
	int64_t attempts, bounces, complaints, rejects;
};

/* ---- messages (the queue, delivery, the capture inbox) ---------------- */

/* Message lifecycle states (src/queue/queue.c draws the machine). A
 * message is queued while any of its recipients is queued or sending, then
 * delivered (at least one recipient delivered) or failed (all bounced). */
#define STORE_MSG_QUEUED "queued"
#define STORE_MSG_DELIVERED "delivered"
#define STORE_MSG_FAILED "failed"

struct store_message {
	char id[80];                 /* SES MessageId */
	char region[33];
	char sending_account[13];    /* the caller, charged for quota and statistics;
				      * "" for sesame's own mail (verification), charged to nobody */
	char identity_owner[13];     /* owner of the From identity; "" = the sender */
	char *source_arn, *from_arn, *return_path_arn; /* NULL when not used */
	char *principal;             /* caller principal ARN or service name */
	char source_ip[64];
	char *source;                /* SES Source: the Return-Path addr-spec */
	char *mail_from;             /* the envelope MAIL FROM as it leaves (VERP:
				      * <MessageId>@<bounce domain>); NULL = source */
	char *from_addr;             /* From header addr-spec */
	char *subject;               /* may be NULL */
	char *config_set;            /* the sending account's configuration set; NULL = none */
	char *tags;                  /* mail.tags of event publishing: a JSON object of
				      * name -> [value] (message tags and auto-tags); NULL = {} */
	char **destinations;         /* envelope recipients (UTF-8) */
	size_t ndestinations;
	uint8_t *raw;                /* the bytes delivered; NULL in message_list rows */
	size_t raw_len;
	/* write only (message_insert of a queued message): per destination the
	 * state it starts in — STORE_RCPT_DELIVERED or _BOUNCED when its fate
	 * was known at accept (the mailbox simulator, the suppression list),
	 * NULL or STORE_RCPT_QUEUED for the transport. NULL: all queued. */
	const char *const *rcpt_state;
	/* write only: check the sending account's 24 h quota (max_24h; -1
	 * unlimited) again inside message_insert's transaction, against the
	 * accepts every node has committed — Throttling "Daily message quota
	 * exceeded." (permanent) when this message would cross it */
	bool check_quota;
	int64_t max_24h;
	char status[16];             /* STORE_MSG_*; "" on insert means queued */
	char transport[16];          /* transport that finished it; "" if none yet */
	int64_t created_ms;          /* accept time, unix milliseconds */
	int64_t delivered_ms;        /* when finished (delivered/failed), 0 until then */
};
void store_message_clear(struct store_message *m);
typedef int (*store_message_cb)(void *arg, const struct store_message *m);

/* The inbox search (message_search): each member NULL or "" matches
 * everything; q, from, to and subject match a case-insensitive (ASCII)
 * substring — q of the subject, From, Return-Path or a recipient, from of
 * From or Return-Path, to of a recipient — and account the sending
 * account exactly. */
struct store_msg_filter {
	const char *q, *from, *to, *subject, *account;
};

/* ---- events (DESIGN.md "A message's life") ---------------------------- */

/* Event types, spelt as SES spells them in notifications. */
#define STORE_EV_SEND "Send"
#define STORE_EV_DELIVERY "Delivery"
#define STORE_EV_BOUNCE "Bounce"
#define STORE_EV_DELAY "DeliveryDelay"
#define STORE_EV_COMPLAINT "Complaint"
#define STORE_EV_REJECT "Reject"
#define STORE_EV_RENDERING_FAILURE "RenderingFailure" /* recipient NULL; detail
							 * {"templateName", "errorMessage"} */

/* A notification published with an event: SNS's Subject (NULL = none) and
 * Message for one topic. */
struct store_notice {
	const char *topic_arn;
	const char *subject;
	const char *message;
};

/* One row of `events`: every per-recipient transition writes one, in the
 * transaction of the transition. Borrowed strings when written; owned (and
 * released by store_event_clear) when read. */
struct store_event {
	int64_t seq;                 /* read: the row's order (ascending); ignored on write */
	char *message_id;
	char *recipient;             /* NULL: the whole message */
	char *type;                  /* STORE_EV_* */
	int64_t ts_ms;
	char *detail;                /* JSON object text; NULL = {} */
	/* write only: the statistics kind ("bounce", "complaint") this event
	 * adds one recipient to, for the SENDING account of its message, in the
	 * same transaction (none for sesame's own mail); NULL = counts nothing.
	 * core/outcome.h outcome_stat_kind decides it. */
	const char *count;
	/* write only: STORE_SUPPRESS_* puts `recipient` on the SENDING
	 * account's suppression list (reason, this message, the detail's
	 * feedbackId, now) in the same transaction; NULL = not */
	const char *suppress;
	/* write only: published to those topics in the same transaction as the
	 * event (the durable outbox): one outbox row per CONFIRMED subscription
	 * of each topic at that moment; a topic that no longer exists publishes
	 * nothing */
	const struct store_notice *notices;
	size_t nnotices;
};
void store_event_clear(struct store_event *ev);
typedef int (*store_event_cb)(void *arg, const struct store_event *ev);

/* ---- notification settings (SetIdentityNotificationTopic …) ------------ */

enum notify_type { NOTIFY_BOUNCE, NOTIFY_COMPLAINT, NOTIFY_DELIVERY, NOTIFY_NTYPES };

/* One account's notification settings for one identity: the owner's own
 * (account_id == owner) route all mail from the identity, a delegate's
 * (set naming the identity by ARN) only that delegate's mail (DESIGN.md
 * "Feedback: who gets what"). Each setter sees and changes only its own
 * row. Strings owned; notify_setting_clear. */
struct notify_setting {
	char region[33];
	char owner[13];              /* the identity's owner */
	char *identity;              /* its name, as stored */
	char account_id[13];         /* who set these */
	char *topic[NOTIFY_NTYPES];  /* SNS topic ARNs, NULL = none */
	bool headers[NOTIFY_NTYPES]; /* include the original headers */
};
void notify_setting_clear(struct notify_setting *n);
typedef int (*store_notify_cb)(void *arg, const struct notify_setting *n);

/* ---- SNS: topics, subscriptions, the outbox, the signing key --------- */

/* Deliveries (rows of sns_outbox) by type, spelt as SNS spells them. */
#define STORE_SNS_NOTIFICATION "Notification"
#define STORE_SNS_CONFIRMATION "SubscriptionConfirmation"
#define STORE_SNS_UNSUBSCRIBE "UnsubscribeConfirmation"

#define STORE_SNS_ARN_MAX 320  /* arn:aws:sns:<region>:<account>:<name 256> */
#define STORE_SNS_SUB_MAX 360  /* a topic ARN, ':' and a uuid */

/* One topic. `attributes` is a JSON object of the settable attributes
 * (DisplayName, SignatureVersion "1"|"2"); owned, sns_topic_clear. The
 * counts are read only (sns_topic_get, sns_topic_list). */
struct sns_topic {
	char arn[STORE_SNS_ARN_MAX];
	char region[33];
	char account_id[13];
	char name[257];
	char *attributes;            /* JSON object text; NULL on write = {} */
	int64_t created;             /* unix seconds */
	int64_t confirmed, pending;  /* read: its subscriptions by state */
};
void sns_topic_clear(struct sns_topic *t);
typedef int (*store_sns_topic_cb)(void *arg, const struct sns_topic *t);

/* One subscription of a topic (http or https). */
struct sns_subscription {
	char arn[STORE_SNS_SUB_MAX];
	char topic_arn[STORE_SNS_ARN_MAX];
	char account_id[13];         /* the subscriber's account (the caller) */
	char protocol[8];            /* "http" | "https" */
	char *endpoint;              /* the URL; owned */
	bool confirmed;
	char token[129];             /* the confirmation token (hex) */
	bool raw_message_delivery;
	int64_t created;             /* unix seconds */
};
void sns_subscription_clear(struct sns_subscription *s);
typedef int (*store_sns_sub_cb)(void *arg, const struct sns_subscription *s);

/* One claimed delivery (sns_outbox_claim): the outbox row joined with its
 * subscription as it is now. Valid only during the callback. */
struct sns_delivery {
	int64_t id;                  /* the outbox row */
	const char *message_id;      /* SNS MessageId (a uuid) */
	const char *type;            /* STORE_SNS_* */
	const char *topic_arn;
	const char *subscription_arn;
	const char *subject;         /* NULL = none */
	const char *message;
	int64_t timestamp_ms;        /* SNS's Timestamp: when it was published */
	int attempts;                /* INCLUDING the one just claimed */
	const char *protocol, *endpoint, *token;
	bool raw_message_delivery;
	const char *signature_version; /* the topic's: "1" or "2" */
};
typedef int (*store_sns_claim_cb)(void *arg, const struct sns_delivery *d);

/* ---- the account-level suppression list ------------------------------ */

/* Reasons, as SES v2 spells them. */
#define STORE_SUPPRESS_BOUNCE "BOUNCE"
#define STORE_SUPPRESS_COMPLAINT "COMPLAINT"
#define STORE_SUPPRESS_BIT_BOUNCE 1u
#define STORE_SUPPRESS_BIT_COMPLAINT 2u

/* One suppressed destination of an account. Addresses are compared and
 * stored lower-cased (ASCII). */
struct suppressed {
	char account_id[13];
	char address[321];
	char reason[12];             /* STORE_SUPPRESS_* */
	char message_id[80];         /* the message whose feedback put it there; "" by hand */
	char feedback_id[128];       /* that feedback's feedbackId; "" by hand */
	int64_t ts;                  /* unix seconds of the last update */
};
typedef int (*store_suppressed_cb)(void *arg, const struct suppressed *p);

/* ---- email templates (CreateTemplate …; SES v2's EmailTemplate too) ---- */

/* One account's template. Parts are NULL when absent; subject and parts
 * are stored as given (core/template compiles them before they are put).
 * Strings owned; email_template_clear. */
struct email_template {
	char region[33];
	char account_id[13];
	char name[65];
	char *subject, *text, *html;
	int64_t created;             /* unix seconds; kept by an update */
};
void email_template_clear(struct email_template *t);
typedef int (*store_template_cb)(void *arg, const struct email_template *t);

/* ---- configuration sets (event publishing, SES v1) -------------------- */

/* Event types a destination matches (MatchingEventTypes), as bits. */
#define CSET_EV_SEND (1u << 0)
#define CSET_EV_REJECT (1u << 1)
#define CSET_EV_BOUNCE (1u << 2)
#define CSET_EV_COMPLAINT (1u << 3)
#define CSET_EV_DELIVERY (1u << 4)
#define CSET_EV_OPEN (1u << 5)
#define CSET_EV_CLICK (1u << 6)
#define CSET_EV_RENDERING_FAILURE (1u << 7)
#define CSET_EV_DELIVERY_DELAY (1u << 8)
#define CSET_EV_SUBSCRIPTION (1u << 9) /* v2 only; sesame has no contact lists: never raised */

/* One account's configuration set in one region. */
struct config_set {
	char region[33];
	char account_id[13];
	char name[65];
	bool sending_enabled;        /* false: sends naming it are refused */
	bool reputation_enabled;     /* ReputationMetricsEnabled (recorded only) */
	int64_t created;             /* unix seconds */
	int suppressed_reasons;      /* STORE_SUPPRESS_BIT_* of sends naming the set (SES v2
				      * SuppressionOptions); -1 = the account's */
};
typedef int (*store_cset_cb)(void *arg, const struct config_set *c);

/* One SNS event destination of a set. */
struct cset_dest {
	char region[33];
	char account_id[13];
	char set[65];
	char name[65];
	bool enabled;
	unsigned types;              /* CSET_EV_* bits */
	char topic_arn[STORE_SNS_ARN_MAX];
};
typedef int (*store_cset_dest_cb)(void *arg, const struct cset_dest *d);

/* ---- recipients: per-recipient delivery state ------------------------- */

/* Recipient states (rows of `recipients`; queue.c draws the machine). */
#define STORE_RCPT_QUEUED "queued"       /* due at next_attempt */
#define STORE_RCPT_SENDING "sending"     /* claimed: leased to lease_owner */
#define STORE_RCPT_DELIVERED "delivered" /* terminal: the remote said 250 */
#define STORE_RCPT_BOUNCED "bounced"     /* terminal: 5xx, too old, or no route */

/* A claimed recipient (rcpt_claim). */
struct store_rcpt {
	int idx;                     /* position in the message's destinations */
	const char *address;         /* borrowed from the message's destinations */
	int attempts;                /* attempts INCLUDING the one just claimed */
	bool delayed;                /* a DeliveryDelay event was written already */
};
/* Called once per message that has claimed recipients: the message (raw
 * included) and those recipients; both valid only during the call. */
typedef int (*store_claim_cb)(void *arg, const struct store_message *m,
			      const struct store_rcpt *r, size_t n);

/* One recipient's outcome for rcpt_finish. */
struct store_rcpt_outcome {
	const char *message_id;
	int idx;
	const char *status;          /* STORE_RCPT_DELIVERED, _BOUNCED, or _QUEUED (retry) */
	int64_t next_attempt;        /* _QUEUED: unix seconds of the next try */
	bool delayed;                /* set the recipient's "DeliveryDelay written" flag */
	const struct store_event *event; /* written iff the row changed; may be NULL */
};

/* ---- the vtable -------------------------------------------------------- */

struct store_ops {
	void (*close)(struct store *s);

	/* One request's reads as one consistent read: between snapshot_begin
	 * and snapshot_end every read sees the same committed state, and the
	 * engine takes its read lock once (a cost saving on SQLite; nothing on
	 * PostgreSQL). A write, through any op, ends the snapshot first, and the
	 * reads after it see the write. Never keep one open across an event-loop
	 * turn: it would hold an old state. Best effort: when it cannot begin,
	 * every read is simply its own. */
	void (*snapshot_begin)(struct store *s);
	void (*snapshot_end)(struct store *s);

	/* accounts */
	int (*account_create)(struct store *s, const struct account *a, struct err *e);
	int (*account_get)(struct store *s, const char *id, struct account *out, struct err *e);
	/* cb over all accounts, ordered by created then id */
	int (*account_list)(struct store *s, int (*cb)(void *, const struct account *), void *arg,
			    struct err *e);
	/* deletes its users, keys, identities and policies too; 1 deleted, 0 absent */
	int (*account_delete)(struct store *s, const char *id, struct err *e);
	/* 1 updated, 0 absent */
	int (*account_set_sending)(struct store *s, const char *id, bool enabled, struct err *e);
	/* suppressed_reasons (STORE_SUPPRESS_BIT_*): which feedback an event's
	 * suppression (store_event.suppress) puts on the list — unless the
	 * message's configuration set has reasons of its own; 1 updated, 0 absent */
	int (*account_set_suppression)(struct store *s, const char *id, unsigned reasons,
				       struct err *e);
	/* reason != NULL: pause the account for its reputation (a paused one
	 * keeps its first reason); NULL: lift the pause and set resumed_at =
	 * now. 1 updated, 0 absent or unchanged */
	int (*account_set_pause)(struct store *s, const char *id, const char *reason, int64_t now,
				 struct err *e);

	/* IAM users */
	int (*user_create)(struct store *s, const struct iam_user *u, struct err *e);
	int (*user_get)(struct store *s, const char *account_id, const char *name,
			struct iam_user *out, struct err *e);
	/* ordered by name */
	int (*user_list)(struct store *s, const char *account_id,
			 int (*cb)(void *, const struct iam_user *), void *arg, struct err *e);
	/* deletes the user's access keys too; 1 deleted, 0 absent */
	int (*user_delete)(struct store *s, const char *account_id, const char *name,
			   struct err *e);

	/* access keys */
	int (*key_create)(struct store *s, const struct access_key *k, struct err *e);
	int (*key_get)(struct store *s, const char *key_id, struct access_key *out, struct err *e);
	/* ordered by created then id */
	int (*key_list)(struct store *s, const char *account_id, /* NULL = all */
			int (*cb)(void *, const struct access_key *), void *arg, struct err *e);
	/* 1 deleted, 0 absent */
	int (*key_delete)(struct store *s, const char *key_id, struct err *e);

	/* identities; `name` is compared as stored (callers normalise).
	 * identity_put upserts every field but `created`; an existing identity
	 * keeps its policies. An absent account fails with STORE_ERR_NO_PARENT. */
	int (*identity_put)(struct store *s, const struct identity *id, struct err *e);
	int (*identity_get)(struct store *s, const char *region, const char *account_id,
			    const char *name, struct identity *out, struct err *e);
	int (*identity_get_by_token)(struct store *s, const char *token, struct identity *out,
				     struct err *e);
	/* type < 0: all types; ordered by name; after: names > after (paging), NULL = start */
	int (*identity_list)(struct store *s, const char *region, const char *account_id, int type,
			     const char *after, int limit, store_identity_cb cb, void *arg,
			     struct err *e);
	/* all identities with 0 < next_check <= now, any region/account */
	int (*identity_due)(struct store *s, int64_t now, store_identity_cb cb, void *arg,
			    struct err *e);
	/* deletes the identity and its policies; 1 deleted, 0 absent */
	int (*identity_delete)(struct store *s, const char *region, const char *account_id,
			       const char *name, struct err *e);

	/* sending authorization policies of one identity. policy_put upserts by
	 * name; a new name beyond `max_policies` (> 0; 0 = no cap) fails with
	 * InvalidParameterValue (400); an absent identity with STORE_ERR_NO_PARENT. */
	int (*policy_put)(struct store *s, const char *region, const char *account_id,
			  const char *identity, const char *name, const char *document,
			  int max_policies, struct err *e);
	/* fills up to `cap` entries ordered by name (documents malloc'd, release
	 * each with identity_policy_clear); returns the count filled or -1 */
	int (*policy_list)(struct store *s, const char *region, const char *account_id,
			   const char *identity, struct identity_policy *out, int cap,
			   struct err *e);
	/* 1 deleted, 0 absent */
	int (*policy_delete)(struct store *s, const char *region, const char *account_id,
			     const char *identity, const char *name, struct err *e);
	/* a number that changes whenever any policy, identity or user policy
	 * changes (in fact on every write); cheap enough to read per request */
	int (*generation)(struct store *s, int64_t *out, struct err *e);

	/* sending statistics: one row per accept/reject/bounce/complaint */
	int (*event_record)(struct store *s, const char *account_id, int64_t ts, const char *kind,
			    int64_t recipients, struct err *e);
	/* sum of recipients of `kind` events with ts >= since */
	int (*event_sum)(struct store *s, const char *account_id, const char *kind, int64_t since,
			 int64_t *out, struct err *e);
	/* 15-minute buckets with ts >= since, oldest first */
	int (*event_buckets)(struct store *s, const char *account_id, int64_t since,
			     int (*cb)(void *arg, const struct send_bucket *b), void *arg,
			     struct err *e);

	/* messages. message_insert writes n messages (status queued unless set)
	 * and, for each, one 'accept' send count (ts = created_ms / 1000,
	 * recipients = ndestinations); for each QUEUED message also one
	 * `recipients` row per destination (queued, due at once); and the `nev`
	 * events `ev` — all in ONE transaction: all or nothing. A recipient that
	 * is not valid UTF-8 fails it with InvalidParameterValue. */
	int (*message_insert)(struct store *s, const struct store_message *m, size_t n,
			      const struct store_event *ev, size_t nev, struct err *e);
	/*
	 * Claim up to `limit` due recipients for `owner` in one transaction:
	 * queued ones with next_attempt <= now, and sending ones whose lease
	 * ended (lease_until <= now: their owner died) and that another owner
	 * holds — never the caller's own, which may still be in flight (a node
	 * gives back its own stale leases with rcpt_release at start). Each becomes sending,
	 * leased to `owner` until `lease_until`, attempts + 1. Then cb runs per
	 * message (oldest due first). Returns the number claimed, or -1.
	 */
	int (*rcpt_claim)(struct store *s, const char *owner, int64_t now, int64_t lease_until,
			  int limit, store_claim_cb cb, void *arg, struct err *e);
	/*
	 * Record n outcomes in ONE transaction. A row changes only if it is
	 * still sending and leased to `owner` (so a recipient is finished at
	 * most once per claim, and never after another owner took it over);
	 * its event is written only then. A message none of whose recipients
	 * is queued or sending any more is finished in the same transaction
	 * (status delivered if one was delivered, else failed; transport set).
	 * Returns how many rows changed, or -1.
	 */
	int (*rcpt_finish)(struct store *s, const char *owner, const char *transport,
			   const struct store_rcpt_outcome *o, size_t n, int64_t now_ms,
			   struct err *e);
	/* Give back every lease `owner` holds (a restarted node's own claims
	 * from before a crash): sending → queued, due at once. Returns the count
	 * released, or -1. */
	int (*rcpt_release)(struct store *s, const char *owner, struct err *e);
	/* A live node's heartbeat on its claims: every recipient `owner` is
	 * sending whose lease has not ended by `now` gets `lease_until`, so a
	 * delivery slower than --lease is not taken by another node while its
	 * node lives (a dead node stops renewing; its leases end). Returns the
	 * count renewed, or -1. */
	int (*rcpt_renew)(struct store *s, const char *owner, int64_t now, int64_t lease_until,
			  struct err *e);
	/* The delivery queue's depth (metrics): recipients queued (of which
	 * `retrying` were tried at least once) and being sent now. Reads the
	 * partial indexes of those states only, never the delivered history. */
	int (*rcpt_depth)(struct store *s, int64_t *queued, int64_t *retrying, int64_t *sending,
			  struct err *e);
	/* Feedback learnt after a message left (a DSN, an ARF report, the
	 * simulator's complaint): each event is written, with its count and
	 * suppression, only if its message exists and it has no event of the
	 * same type for the same recipient yet — of the same bounceType for a
	 * Bounce, the same complaintFeedbackType for a Complaint (so a report
	 * mailed twice is recorded once, and a Permanent bounce after a
	 * Transient one still counts). One transaction. Returns how many were written;
	 * written[i] (when written != NULL) says whether ev[i] was. */
	int (*feedback_add)(struct store *s, const struct store_event *ev, size_t n, bool *written,
			    struct err *e);
	/* The events of one message, oldest first. */
	int (*event_list)(struct store *s, const char *message_id, store_event_cb cb, void *arg,
			  struct err *e);
	/* the newest `limit` (<= 0: all) messages `transport` finished, oldest
	 * first (created, then insertion order), without raw */
	int (*message_list)(struct store *s, const char *transport, int limit,
			    store_message_cb cb, void *arg, struct err *e);
	/* one message with raw: 1 found, 0 absent */
	int (*message_get)(struct store *s, const char *id, struct store_message *out,
			   struct err *e);
	/* delete every message `transport` finished (never a queued one); the
	 * count goes to *n_out */
	int (*message_delete)(struct store *s, const char *transport, int64_t *n_out,
			      struct err *e);
	/* message_list narrowed by f: the newest `limit` (>= 1) matches,
	 * oldest first, without raw */
	int (*message_search)(struct store *s, const char *transport,
			      const struct store_msg_filter *f, int limit, store_message_cb cb,
			      void *arg, struct err *e);
	/* delete message id if `transport` finished it: 1 deleted, 0 absent
	 * (or queued, or another transport's) */
	int (*message_delete_one)(struct store *s, const char *transport, const char *id,
				  struct err *e);

	/* the account suppression list: put upserts (the reason, message and
	 * time are replaced); an absent account fails with STORE_ERR_NO_PARENT;
	 * get: 1 found, 0 not; list: ordered by address, after `after` (paging,
	 * NULL = start), at most `limit` (<= 0: all); delete: 1 gone, 0 absent */
	int (*suppression_put)(struct store *s, const struct suppressed *p, struct err *e);
	int (*suppression_get)(struct store *s, const char *account_id, const char *address,
			       struct suppressed *out, struct err *e);
	int (*suppression_list)(struct store *s, const char *account_id, const char *after,
				int limit, store_suppressed_cb cb, void *arg, struct err *e);
	int (*suppression_delete)(struct store *s, const char *account_id, const char *address,
				  struct err *e);
	/* notification settings. notify_put upserts one setter's row (all
	 * topics and flags; a row with nothing set is deleted); an absent
	 * identity fails with STORE_ERR_NO_PARENT. notify_get: 1 found (out
	 * filled), 0 none. notify_list: every setter's row of one identity. */
	int (*notify_put)(struct store *s, const struct notify_setting *n, struct err *e);
	int (*notify_get)(struct store *s, const char *region, const char *owner,
			  const char *identity, const char *account_id, struct notify_setting *out,
			  struct err *e);
	int (*notify_list)(struct store *s, const char *region, const char *owner,
			   const char *identity, store_notify_cb cb, void *arg, struct err *e);
	/* email templates of one account, keyed (region, account_id, name).
	 * template_put with create: a new row (created = t->created), a taken
	 * name fails with STORE_ERR_EXISTS, an absent account with
	 * STORE_ERR_NO_PARENT; without create: replaces subject and parts of an
	 * existing row (created kept). Returns 1 written, 0 (update) no such
	 * template. template_get: 1 found, 0 not. template_list: ordered by
	 * name, names > after (paging; NULL = start), at most limit (<= 0: all).
	 * template_delete: 1 gone, 0 absent. Deleting the account deletes them. */
	int (*template_put)(struct store *s, const struct email_template *t, bool create,
			    struct err *e);
	int (*template_get)(struct store *s, const char *region, const char *account_id,
			    const char *name, struct email_template *out, struct err *e);
	int (*template_list)(struct store *s, const char *region, const char *account_id,
			     const char *after, int limit, store_template_cb cb, void *arg,
			     struct err *e);
	int (*template_delete)(struct store *s, const char *region, const char *account_id,
			       const char *name, struct err *e);

	/*
	 * Configuration sets, keyed (region, account_id, name); deleting the
	 * account deletes them, deleting a set its destinations.
	 * cset_create: a taken name fails with STORE_ERR_EXISTS, an absent
	 * account with STORE_ERR_NO_PARENT. cset_get: 1 found (out may be
	 * NULL), 0 not. cset_list: ordered by name, names > after (NULL =
	 * start), at most limit (<= 0: all). cset_delete: 1 gone, 0 absent.
	 * cset_set_flag: which 0 = sending_enabled, 1 = reputation_enabled; 1
	 * set, 0 no such set.
	 * cset_dest_put with create: a new destination (STORE_ERR_EXISTS when
	 * the set has one of that name, STORE_ERR_NO_PARENT without the set),
	 * 1; without: replaces enabled, types and topic of an existing one, 1,
	 * or 0 when there is none. cset_dest_delete: 1 gone, 0 absent.
	 * cset_dest_list: the set's destinations ordered by name.
	 */
	int (*cset_create)(struct store *s, const struct config_set *c, struct err *e);
	int (*cset_get)(struct store *s, const char *region, const char *account_id,
			const char *name, struct config_set *out, struct err *e);
	int (*cset_list)(struct store *s, const char *region, const char *account_id,
			 const char *after, int limit, store_cset_cb cb, void *arg, struct err *e);
	int (*cset_delete)(struct store *s, const char *region, const char *account_id,
			   const char *name, struct err *e);
	int (*cset_set_flag)(struct store *s, const char *region, const char *account_id,
			     const char *name, int which, bool value, struct err *e);
	/* the set's SuppressionOptions: STORE_SUPPRESS_BIT_*, -1 = the
	 * account's; 1 updated, 0 no such set */
	int (*cset_set_suppression)(struct store *s, const char *region, const char *account_id,
				    const char *name, int reasons, struct err *e);
	int (*cset_dest_put)(struct store *s, const struct cset_dest *d, bool create,
			     struct err *e);
	int (*cset_dest_delete)(struct store *s, const char *region, const char *account_id,
				const char *set, const char *name, struct err *e);
	int (*cset_dest_list)(struct store *s, const char *region, const char *account_id,
			      const char *set, store_cset_dest_cb cb, void *arg, struct err *e);

	/* the owner's feedback forwarding switch of an identity (a targeted
	 * write): 1 changed or already so, 0 no such identity */
	int (*identity_set_forwarding)(struct store *s, const char *region, const char *account_id,
				       const char *name, bool enabled, struct err *e);

	/*
	 * SNS (src/sns/, src/api/act_sns.c). Topic ARNs are unique across
	 * accounts and regions; the caller checks ownership.
	 *
	 * sns_topic_put: insert `t` unless a topic of that ARN exists; 1
	 * created, 0 existed (left as it was: CreateTopic is idempotent). An
	 * absent account fails with STORE_ERR_NO_PARENT.
	 * sns_topic_get: 1 found (out filled, counts too), 0 absent.
	 * sns_topic_list: the account's topics in `region` ordered by ARN,
	 * ARNs > after (NULL = start), at most `limit` (<= 0: all).
	 * sns_topic_set_attributes: replace the attributes JSON; 1 / 0 absent.
	 * sns_topic_delete: the topic, its subscriptions and their pending
	 * deliveries; 1 deleted, 0 absent.
	 */
	int (*sns_topic_put)(struct store *s, const struct sns_topic *t, struct err *e);
	int (*sns_topic_get)(struct store *s, const char *arn, struct sns_topic *out,
			     struct err *e);
	int (*sns_topic_list)(struct store *s, const char *account_id, const char *region,
			      const char *after, int limit, store_sns_topic_cb cb, void *arg,
			      struct err *e);
	int (*sns_topic_set_attributes)(struct store *s, const char *arn, const char *attributes,
					struct err *e);
	int (*sns_topic_delete)(struct store *s, const char *arn, struct err *e);
	/*
	 * Subscribe in ONE transaction: when the topic has a subscription with
	 * sub's protocol and endpoint, *out is that one (nothing new is made),
	 * else `sub` is inserted and *out is a copy of it; either way, when *out
	 * is unconfirmed one SubscriptionConfirmation (Message
	 * `confirm_message`, Timestamp now_ms) is queued in the outbox for it.
	 * Returns 1 created, 0 existing, -1 (an absent topic:
	 * STORE_ERR_NO_PARENT). out: sns_subscription_clear.
	 */
	int (*sns_subscribe)(struct store *s, const struct sns_subscription *sub,
			     const char *confirm_message, int64_t now_ms,
			     struct sns_subscription *out, struct err *e);
	/* 1 found, 0 absent */
	int (*sns_sub_get)(struct store *s, const char *arn, struct sns_subscription *out,
			   struct err *e);
	/* Confirm the subscription of `topic_arn` holding `token`: 1 confirmed
	 * now or already (out filled), 0 no such token on that topic. */
	int (*sns_sub_confirm)(struct store *s, const char *topic_arn, const char *token,
			       struct sns_subscription *out, struct err *e);
	/* 1 updated, 0 absent */
	int (*sns_sub_set_raw)(struct store *s, const char *arn, bool raw, struct err *e);
	/* the subscription and its pending deliveries; 1 deleted, 0 absent */
	int (*sns_sub_delete)(struct store *s, const char *arn, struct err *e);
	/* subscriptions ordered by ARN, ARNs > after (NULL = start), at most
	 * `limit` (<= 0: all): of topic `topic_arn` when it is not NULL, else
	 * those whose subscriber is `account_id` in `region` */
	int (*sns_sub_list)(struct store *s, const char *account_id, const char *region,
			    const char *topic_arn, const char *after, int limit,
			    store_sns_sub_cb cb, void *arg, struct err *e);
	/*
	 * Publish `message` (and `subject`, NULL = none) to `topic_arn` in its
	 * own transaction: one Notification outbox row per CONFIRMED
	 * subscription of the topic at this moment, all with one fresh
	 * MessageId (a uuid, into msgid_out when it is not NULL, even when the
	 * topic has no subscription) and Timestamp now_ms, due at once. The
	 * same as an event's notices (store_event.notices). Returns the number
	 * of rows written (0 when the topic is gone or has no confirmed
	 * subscription), or -1.
	 */
	int (*sns_publish)(struct store *s, const char *topic_arn, const char *subject,
			   const char *message, int64_t now_ms, char msgid_out[37], struct err *e);
	/*
	 * The deliverer's lease-based claim (as rcpt_claim): up to `limit`
	 * outbox rows that are queued and due (next_attempt_ms <= now_ms), or
	 * sending under another owner's ended lease (never the caller's own)
	 * become sending, leased to `owner` until lease_until_ms, attempts + 1,
	 * in one transaction; then cb runs per row, oldest due first. Returns
	 * the number claimed, or -1.
	 */
	int (*sns_outbox_claim)(struct store *s, const char *owner, int64_t now_ms,
				int64_t lease_until_ms, int limit, store_sns_claim_cb cb,
				void *arg, struct err *e);
	/* The outcome of a claimed row, only if it is still leased to `owner`:
	 * next_attempt_ms == 0 deletes it (delivered, or dropped), else it is
	 * queued again, due then. 1 changed, 0 not ours (any more). */
	int (*sns_outbox_finish)(struct store *s, const char *owner, int64_t id,
				 int64_t next_attempt_ms, struct err *e);
	/* Give back every lease `owner` holds (a restarted server's): sending →
	 * queued, due at once. Returns the count, or -1. */
	int (*sns_outbox_release)(struct store *s, const char *owner, struct err *e);
	/* Rows in the outbox (tests and metrics): all, or of one type when
	 * `type` is not NULL. */
	int (*sns_outbox_count)(struct store *s, const char *type, int64_t *out, struct err *e);
	/* The SNS signing key (one per store): its sealed PKCS#8 PEM (vault.h)
	 * and its certificate PEM. get: 1 found (sealed_out may be NULL when
	 * only the certificate is wanted; both malloc'd, caller frees), 0 none.
	 * put: 1 stored, 0 a key existed already (read it: another process
	 * won the race). */
	int (*sns_key_get)(struct store *s, uint8_t **sealed_out, size_t *sealed_len_out,
			   char **cert_out, struct err *e);
	int (*sns_key_put)(struct store *s, const uint8_t *sealed, size_t sealed_len,
			   const char *cert_pem, int64_t now, struct err *e);

	/* 1 when some identity (any region, account) has `domain` as its
	 * custom MAIL FROM domain and that domain is verified (Success), else 0:
	 * the feedback listener takes reports for it */
	int (*mail_from_known)(struct store *s, const char *domain, struct err *e);

	/*
	 * Targeted identity writes. Unlike identity_put, none of them can create
	 * a row or write a column it is not about, so they cannot resurrect an
	 * identity deleted meanwhile nor undo another request's change. Each is
	 * one transaction and bumps the generation only if it changed a row.
	 */

	/*
	 * Use an address's verification link `token` at `now`, atomically:
	 * an EmailAddress identity holding `token` that is Pending becomes
	 *   - Success if now < token_expires; if it then has a DKIM or MAIL FROM
	 *     check pending, that check's window opens (token_expires =
	 *     dns_deadline, next_check = now, check_attempts = 0), else
	 *     next_check = 0 (the rule of verify_arm, verify.h);
	 *   - Failed otherwise, with a pending MAIL FROM, and next_check = 0.
	 * Only one caller can win the Pending -> Success transition. Returns a
	 * STORE_LINK_* (>= 0) or -1. For VERIFIED, USED and EXPIRED `out` holds
	 * the row as it now is (release with identity_clear); for UNKNOWN it is
	 * left zeroed.
	 */
	int (*identity_verify_token)(struct store *s, const char *token, int64_t now,
				     int64_t dns_deadline, struct identity *out, struct err *e);
	/* Set only next_check of an existing identity: 1 changed, 0 absent or
	 * already `next_check`. */
	int (*identity_set_next_check)(struct store *s, const char *region,
				       const char *account_id, const char *name,
				       int64_t next_check, struct err *e);
	/*
	 * The DNS checker's compare-and-set. `seen` is the identity as read
	 * before applying a round of results, `next` the result (same key).
	 * Writes only next's status, dkim_status, dkim_ed25519_status,
	 * mail_from_status, token_expires, next_check and check_attempts, and
	 * only if the row still exists with every one of those columns and its
	 * type, token, dkim_tokens, DKIM keys and mail_from_domain as in `seen`
	 * (the keys: a BYODKIM key replaced under the same selector). 1 written, 0 refused
	 * (deleted or changed since read: read again and retry).
	 */
	int (*identity_cas_checks)(struct store *s, const struct identity *seen,
				   const struct identity *next, struct err *e);
};

struct store {
	const struct store_ops *ops;
};

/*
 * Open the store named by `url`: NULL or "" → sqlite at DATA_DIR/sesame.db
 * (DATA_DIR is created, mode 0700, if absent); "sqlite:PATH" → that file
 * ("sqlite:///abs" is accepted too); "postgresql://…" → not available in this
 * build (error). Applies pending schema migrations. Returns NULL with `e`
 * filled on failure. store_close(NULL) is a no-op.
 */
struct store *store_open(const char *url, const char *data_dir, struct err *e);
void store_close(struct store *s);

/*
 * For a long-running process (sesame serve), called before it opens its
 * handles and again with false before it exits (after closing them):
 * SQLite's WAL checkpoints then run PASSIVE on a thread and connection of
 * their own, flagged by the commits that cross SQLite's threshold, instead
 * of inside those commits (docs/internals/store.md). Only handles on the
 * first database path opened after the call are hooked; PostgreSQL has
 * nothing to do. A short-lived process (the CLI) keeps SQLite's default.
 */
void store_checkpoint_thread(bool on);

/* The reputation of account `a` at `now` (unix seconds): its recipients,
 * Permanent bounces and complaints of the trailing 24 h, counted from its
 * last resume when that is later (DESIGN.md "Semantics we pin"; from the
 * whole minute after the resume, counts being kept per minute), and their
 * rates. One definition for the store thread's pause check and `sesame
 * account show`. */
struct reputation;
int store_reputation(struct store *s, const struct account *a, int64_t now,
		     struct reputation *out, struct err *e);

#endif

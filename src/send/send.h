/*
 * send.h — the protocol-neutral half of a send (DESIGN.md "The send
 * decision"): from "the message is known" to queue_submit. Both front ends
 * (api/act_send.c for SendEmail/SendRawEmail, smtp/server.c for SMTP DATA)
 * translate their wire format into one struct send_request and call
 * send_submit(), so the account checks, authz_decide(), the limits and the
 * refusal accounting are the same code for both. Notes:
 * docs/internals/send.md.
 *
 * send_submit runs, in order:
 *   render  the message as delivered (raw: X-SES-* and Bcc stripped,
 *           Date/Message-ID replaced; built: MIME from the parts);
 *   account the caller's account: sending enabled, sandbox recipients; the
 *           configuration set named, among the caller's own (exists, not
 *           paused), whose name and mail.tags the message keeps;
 *   authz   authz_decide over From, Source and Return-Path, through the
 *           loop's send_lookup cache; the owner's sandbox when delegated;
 *   limits  the 24 h quota and the rate, charged to the CALLER's account;
 *   queue   queue_submit; `done` runs after the group commit.
 * A refusal (AccountSendingPaused, MessageRejected, AccessDenied,
 * Throttling) is counted as a 'reject' event of the caller's account;
 * temporary failures are not.
 *
 * Invariants: nothing is queued unless every phase allowed it; a charge is
 * settled exactly once, when the queue answers, before `done` runs.
 */
#ifndef SESAME_SEND_SEND_H
#define SESAME_SEND_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/address.h"
#include "core/authz.h"
#include "core/msgtags.h"
#include "util/err.h"

struct account;
struct event_base;
struct limits;
struct queue;
struct raw_msg;
struct send_lookup;
struct store;
struct dkim_keys_cache;
struct workers;

/* What every loop of every front end shares for sending: serve.c makes
 * them once, the front ends borrow them. */
struct send_shared {
	struct queue *queue;            /* group commit and delivery */
	struct limits *limits;          /* rate buckets and pending recipients */
	struct workers *workers;        /* DKIM signing runs there */
	struct dkim_keys_cache *dkim_keys; /* decoded DKIM keys for the signers */
};

/* What one event loop lends to its sends. All borrowed; the loop owns them. */
struct send_env {
	struct store *store;        /* this loop's store handle */
	struct send_lookup *lookup; /* this loop's identity/policy cache */
	struct send_shared shared;  /* serve.c's, for every loop */
	struct event_base *base;    /* where `done` runs */
	const char *bounce_domain;  /* --bounce-domain: envelope domain by default */
};

/* The SendEmail parts (send_submit adds Date and Message-ID). */
struct send_built {
	const struct address *to, *cc, *reply_to;
	size_t nto, ncc, nreply_to;
	const char *subject_charset;
	const char *text, *text_charset;
	const char *html, *html_charset;
};

/* One send, as the front end understood it. Everything is borrowed for the
 * duration of send_submit only. */
struct send_request {
	/* the caller (from SigV4 or SMTP AUTH) */
	const struct account *account; /* the caller's account, as read now */
	const char *account_id;
	const char *principal;         /* arn:aws:iam::ID:root | …:user/N | service */
	const char *user;              /* IAM user name or NULL */
	const char *service;           /* service principal or NULL */
	const char *region;
	const char *source_ip;         /* "" or NULL when unknown */
	bool secure;                   /* arrived over TLS */
	time_t now;
	/* what */
	const char *action;            /* "SendEmail" | "SendRawEmail" (no "ses:") */
	const char *api_version;       /* ses:ApiVersion: "1" Query API, "2" SMTP and SES v2 */
	const char *via;               /* the metrics label ("api", "smtp"); NULL: from
					* api_version */
	struct address from;           /* the From header's mailbox */
	struct address source;         /* envelope sender */
	struct address return_path;    /* feedback address, when has_return_path */
	bool has_return_path;
	struct address sender;         /* a raw message's Sender field, when has_sender */
	bool has_sender;
	const char *arn[AUTHZ_NROLES]; /* From, Source, Return-Path ARNs or NULL */
	const struct address *rcpt;    /* envelope recipients */
	size_t nrcpt;
	const char *subject;           /* decoded UTF-8, NULL if none */
	/* the message: exactly one of these */
	const struct raw_msg *raw;
	const struct send_built *built;
	/* a templated send whose template did not render: the detail JSON of its
	 * RenderingFailure event. Decided like any send (account, authz, limits);
	 * once allowed it is stored failed with that event, never delivered.
	 * NULL: deliver. */
	const char *rendering_failure;
	/* event publishing: the configuration set named (ConfigurationSetName,
	 * X-SES-CONFIGURATION-SET; looked up among the CALLER's own sets in the
	 * region) and the message tags; NULL = none */
	const char *configuration_set;
	const struct msgtags *tags;
	/* out, optional: the ARN of the identity that allowed the From
	 * address, written once authz allowed the send (the front end logs it) */
	char *identity_out;
	size_t identity_cap;
};

/* Completion: exactly once per accepted submission, on env->base, after
 * the charge is settled; message_id on success, e otherwise (temporary:
 * storage trouble or shutdown). */
typedef void (*send_done_fn)(void *arg, const char *message_id, const struct err *e);

/*
 * Decide and, if allowed, queue. 0: queued, `done(arg, …)` will run later
 * (never inside this call). -1: refused or failed now, e filled, `done` is
 * not called. r and everything it points to may be freed on return.
 */
int send_submit(const struct send_env *env, const struct send_request *r, send_done_fn done,
		void *arg, struct err *e);

/* Checks of SES control values shared by the front ends (InvalidParameterValue
 * / ConfigurationSetDoesNotExist, SES's words). */
/* One message tag: name 1..256 and value 0..256 of [A-Za-z0-9_-]. */
int send_check_tag(const char *name, size_t nn, const char *value, size_t vn, struct err *e);
/* An X-SES-MESSAGE-TAGS value: `name1=value1, name2=value2`, at most 50. */
int send_check_tags_header(const char *h, struct err *e);
/* A configuration set name as given (non-empty, at most 64 characters, else
 * ConfigurationSetDoesNotExist: no set can have it). NULL is fine; whether
 * the set exists is send_submit's look-up. */
int send_check_configuration_set(const char *name, struct err *e);

/*
 * Reading a raw message (SendRawEmail's RawMessage, SMTP's DATA) into a
 * send_request: the From mailbox, the envelope sender and feedback address,
 * the X-SES-{FROM,SOURCE,RETURN-PATH}-ARN, X-SES-MESSAGE-TAGS and
 * X-SES-CONFIGURATION-SET headers, the recipients and the subject. What a
 * front end's envelope gives (API parameters, MAIL FROM / RCPT TO) wins over
 * the message's headers; headers are never merged with it. All borrowed.
 */
struct send_raw_envelope {
	const char *source;             /* envelope sender (NULL: the From address); also the
					 * feedback address (NULL: a Return-Path header) */
	const char *const *rcpt;        /* envelope recipients; NULL or none: To, Cc, Bcc */
	size_t nrcpt;
	bool addr_spec;                 /* source and rcpt are bare addr-specs (SMTP), not
					 * mailboxes (the Query API) */
	bool to_required;               /* refuse an empty To even when rcpt are given (the
					 * Query API, as SES) */
	const char *arn[AUTHZ_NROLES];  /* FromArn, SourceArn, ReturnPathArn; NULL: the header */
	bool tags_given;                /* tags came with the envelope: the header is ignored */
	const char *configuration_set;  /* NULL: X-SES-CONFIGURATION-SET */
};

/* A raw message as a send_request, and the memory the request points into. */
struct send_raw {
	struct send_request req; /* the message half filled (action "SendRawEmail", from,
				  * source, return_path, arn, rcpt, subject, raw); the front
				  * end fills the caller half and api_version */
	/* owned, released by send_raw_clear */
	struct raw_msg *msg;
	struct address *rcpt;
	char *hdr[AUTHZ_NROLES];
	char *subject;
	char *configuration_set;  /* the X-SES-CONFIGURATION-SET header's */
	struct msgtags *tags;     /* the X-SES-MESSAGE-TAGS header's */
};

/*
 * Parse `len` bytes of `data` (raw_parse's caps) and fill *out. 0 on
 * success (release with send_raw_clear); -1 with e filled in SES's words
 * (InvalidParameterValue, MessageRejected, ConfigurationSetDoesNotExist…),
 * *out then cleared. Nothing is looked up: every check here is on the bytes.
 */
int send_request_from_raw(const void *data, size_t len, const struct send_raw_envelope *env,
			  struct send_raw *out, struct err *e);
/* NULL and a cleared struct are fine. */
void send_raw_clear(struct send_raw *r);

#endif

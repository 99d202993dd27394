/*
 * outcome.h — what a delivery attempt means for one recipient (pure; no
 * I/O, no clock, no randomness of its own): delivered, deferred until when,
 * or bounced with which SES bounce type — and the SES JSON object that
 * describes it, which becomes the `Detail` of the recipient's event and,
 * later, the `delivery` / `bounce` / `deliveryDelay` object of a
 * notification. DESIGN.md "A message's life"; wire facts in
 * spec/feedback-notify.md §1-2 and ses-api.md §8.
 *
 * The rules:
 *   - 2xx: Delivery.
 *   - 5xx (or a local permanent failure: no such domain, null MX): Bounce at
 *     once, typed by the enhanced status code (outcome_bounce_type).
 *   - 4xx, no answer at all (connection refused, timeout, TLS required but
 *     not offered): deferred with exponential backoff — base * 2^(attempts-1),
 *     capped at OUTCOME_RETRY_CAP_S, ±20 % jitter — unless the message is
 *     older than the maximum queue age, then a Bounce Transient/General.
 *     The first deferral of a recipient writes a DeliveryDelay event.
 */
#ifndef SESAME_CORE_OUTCOME_H
#define SESAME_CORE_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTCOME_RETRY_CAP_S 3600

enum outcome_kind {
	OUTCOME_DELIVERED,
	OUTCOME_DEFERRED,
	OUTCOME_BOUNCED,
};

/* What the transport saw for one recipient. */
struct outcome_attempt {
	enum outcome_kind kind;  /* as the transport classified the reply */
	int code;                /* SMTP reply code, 0 for a local result (no reply) */
	const char *enhanced;    /* "5.1.1" or NULL/"" when the reply had none */
	const char *reply;       /* the reply text (one line) or the local reason */
	const char *remote_ip;   /* "" when no server answered */
	const char *reporting_mta; /* our HELO name: SES's reportingMTA */
	const char *recipient;
	const char *message_id;
	int attempts;            /* including this one (>= 1) */
	bool delayed;            /* a DeliveryDelay was written for this recipient already */
	int64_t created_ms;      /* accept time of the message */
	int64_t now_ms;
	int64_t retry_base_s;    /* --retry-base */
	int64_t max_age_s;       /* --max-queue-age */
	double jitter;           /* uniform in [0, 1): the caller's randomness */
};

/* The decision for that recipient. */
struct outcome {
	enum outcome_kind kind;  /* DEFERRED only when the recipient is retried */
	int64_t next_attempt_s;  /* DEFERRED: unix seconds of the next try */
	const char *event;       /* "Delivery" | "Bounce" | "DeliveryDelay" | NULL (no event) */
	char *detail;            /* the event's SES JSON object (malloc'd), NULL iff event NULL */
	bool delayed;            /* the recipient's delayed flag after this attempt */
	const char *bounce_type; /* event "Bounce": its bounceType (static); else NULL */
	const char *bounce_subtype; /* event "Bounce": its bounceSubType (static); else NULL */
};

/* Decide (see the rules above). o->detail is malloc'd: outcome_clear. */
void outcome_decide(const struct outcome_attempt *a, struct outcome *o);
void outcome_clear(struct outcome *o);

/* The sending account's statistics kind an event adds one recipient to
 * (DESIGN.md "Feedback: who gets what"): "bounce" for a Permanent bounce,
 * "complaint" for a complaint — never for a recipient of the mailbox
 * simulator (spec/feedback-notify.md §4), nor for a bounce whose subtype is
 * OnAccountSuppressionList; NULL for everything else. Static strings. */
const char *outcome_stat_kind(const char *event, const char *bounce_type,
			      const char *bounce_subtype, const char *recipient);

/* A recipient's fate learnt without an attempt of ours: a DSN or an ARF
 * report from a remote MTA (feedback/), the mailbox simulator, the
 * suppression list. Strings are borrowed; NULL or "" = absent. */
struct outcome_report {
	const char *event;          /* "Bounce" | "DeliveryDelay" | "Complaint" */
	const char *recipient;
	const char *message_id;
	int64_t now_ms;
	/* Bounce, DeliveryDelay */
	const char *status;         /* "5.1.1"; absent: 5.0.0 (Bounce), 4.0.0 (delay) */
	const char *diagnostic;     /* "smtp; 550 5.1.1 …" as the report gave it */
	const char *bounce_type, *bounce_subtype; /* static; NULL: from status and diagnostic */
	const char *reporting_mta;  /* "dns; mx.example"; absent: ours */
	const char *our_mta;        /* our HELO name */
	const char *remote_mta;     /* the DSN's Remote-MTA */
	int64_t expires_ms;         /* DeliveryDelay: when the message gives up */
	/* Complaint */
	const char *feedback_type;  /* "abuse", …; absent: SES's null */
	const char *user_agent, *arrival_date;
};
/* The event, its SES JSON detail and bounce type for r (outcome_clear). A
 * bounce whose type the status cannot tell (Undetermined) stays so: the
 * remote said nothing we can classify. */
void outcome_report(const struct outcome_report *r, struct outcome *o);

/* The mailbox simulator's addresses (spec/feedback-notify.md §4), local
 * parts with an optional "+label". Any other address at the simulator's
 * domain is an unknown user there: a Permanent bounce too. */
enum outcome_sim {
	OUTCOME_SIM_NONE,          /* not a simulator address */
	OUTCOME_SIM_SUCCESS,       /* Delivery */
	OUTCOME_SIM_BOUNCE,        /* Bounce Permanent/General, 550 5.1.1 */
	OUTCOME_SIM_OOTO,          /* Delivery, and an auto-reply to the Return-Path */
	OUTCOME_SIM_COMPLAINT,     /* Delivery, then a Complaint (abuse) */
	OUTCOME_SIM_SUPPRESSIONLIST, /* Bounce Permanent/Suppressed, nothing attempted */
};
enum outcome_sim outcome_simulator(const char *recipient);

/* Backoff before attempt `attempts`+1 after `attempts` (>= 1) failures. */
int64_t outcome_backoff_s(int64_t base_s, int attempts, double jitter);

/* SES's bounce type and subtype for a failure with enhanced status
 * `status` and reply text `text` (spec/feedback-notify.md §2, pinned
 * mapping); NULL or unparseable status → "Undetermined"/"Undetermined".
 * Static strings. Shared with the DSN parser. */
void outcome_bounce_type(const char *status, const char *text, const char **type_out,
			 const char **subtype_out);

/* SES's DeliveryDelay delayType for a deferral (static string). */
const char *outcome_delay_type(int code, const char *status);

/* Build SES's "smtp; 550 5.1.1 user unknown"-style diagnosticCode into out. */
void outcome_diagnostic(int code, const char *status, const char *reply, char *out,
			size_t cap);

#endif

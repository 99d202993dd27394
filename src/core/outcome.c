/*
 * outcome.c — the per-recipient meaning of a delivery attempt (outcome.h):
 * the decision, the backoff, SES's bounce and delay types, and the SES JSON
 * detail of the event. Pure: the caller passes the time and the jitter.
 */
#include "core/outcome.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/timefmt.h"

int64_t
outcome_backoff_s(int64_t base_s, int attempts, double jitter)
{
	int64_t d = base_s > 0 ? base_s : 1;

	for (int i = 1; i < attempts && d < OUTCOME_RETRY_CAP_S; i++)
		d *= 2;
	if (d > OUTCOME_RETRY_CAP_S)
		d = OUTCOME_RETRY_CAP_S;
	if (jitter < 0 || jitter >= 1)
		jitter = 0.5;
	/* ±20 %: d * [0.8, 1.2) */
	d = (int64_t)((double)d * (0.8 + 0.4 * jitter));
	return d > 0 ? d : 1;
}

/* "X.Y.Z" with X in 2/4/5 and Y, Z numbers of 1-3 digits: the class and
 * the subject/detail, or -1. */
static int
parse_status(const char *s, int *subject, int *detail)
{
	int cls, n = 0;

	if (s == NULL || sscanf(s, "%1d.%3d.%3d%n", &cls, subject, detail, &n) != 3 || n == 0 ||
	    s[n] != '\0' || (cls != 2 && cls != 4 && cls != 5))
		return -1;
	return cls;
}

static bool
mentions(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; p != NULL && *p != '\0'; p++)
		if (strncasecmp(p, word, n) == 0)
			return true;
	return false;
}

void
outcome_bounce_type(const char *status, const char *text, const char **type_out,
		    const char **subtype_out)
{
	int subject, detail, cls = parse_status(status, &subject, &detail);

	*type_out = "Undetermined";
	*subtype_out = "Undetermined";
	if (cls < 0 || cls == 2)
		return;
	if ((subject == 2 && detail == 2)) {
		*type_out = "Transient", *subtype_out = "MailboxFull";
	} else if (cls == 4) {
		*type_out = "Transient", *subtype_out = "General";
	} else if (subject == 1 && (detail == 1 || detail == 10 || detail == 6)) {
		*type_out = "Permanent", *subtype_out = "NoEmail";
	} else if ((subject == 3 && detail == 4) || (subject == 2 && detail == 3)) {
		*type_out = "Transient", *subtype_out = "MessageTooLarge";
	} else if (subject == 6 ||
		   (subject == 7 && (mentions(text, "content") || mentions(text, "spam")))) {
		*type_out = "Transient", *subtype_out = "ContentRejected";
	} else {
		*type_out = "Permanent", *subtype_out = "General";
	}
}

const char *
outcome_delay_type(int code, const char *status)
{
	int subject, detail, cls = parse_status(status, &subject, &detail);

	if (code == 0)
		return "TransientCommunicationFailure"; /* nobody answered, or TLS missing */
	if (cls == 4 && subject == 2 && detail == 2)
		return "MailboxFull";
	if (cls == 4 && subject == 7)
		return "SpamDetected";
	return "TransientCommunicationFailure";
}

void
outcome_diagnostic(int code, const char *status, const char *reply, char *out, size_t cap)
{
	const char *r = reply != NULL ? reply : "";

	if (code <= 0)
		snprintf(out, cap, "smtp; %s", r);
	else if (status != NULL && status[0] != '\0' && strncmp(r, status, strlen(status)) != 0)
		snprintf(out, cap, "smtp; %d %s %s", code, status, r);
	else
		snprintf(out, cap, "smtp; %d %s", code, r);
}

/* The status to report: the reply's enhanced code, else one derived from
 * the reply code's class (2.0.0 / 4.0.0 / 5.0.0). */
static void
status_of(const struct outcome_attempt *a, char out[16])
{
	int s, d;

	if (a->enhanced != NULL && parse_status(a->enhanced, &s, &d) > 0)
		snprintf(out, 16, "%s", a->enhanced);
	else if (a->kind == OUTCOME_DELIVERED)
		snprintf(out, 16, "2.0.0");
	else if (a->kind == OUTCOME_BOUNCED)
		snprintf(out, 16, "5.0.0");
	else
		snprintf(out, 16, "4.0.0");
}

static char *
dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (s == NULL)
		abort(); /* jansson cannot allocate: out of memory */
	return s;
}

static const char *
str_or(const char *s, const char *dflt)
{
	return s != NULL && s[0] != '\0' ? s : dflt;
}

static char *
delivery_detail(const struct outcome_attempt *a, const char *status)
{
	json_t *o = json_object();
	char ts[TIMEFMT_LEN], resp[1100];

	timefmt_iso_ms(a->now_ms, ts);
	if (a->code > 0 && strncmp(str_or(a->reply, ""), status, strlen(status)) != 0)
		snprintf(resp, sizeof(resp), "%d %s %s", a->code, status, str_or(a->reply, ""));
	else
		snprintf(resp, sizeof(resp), "%d %s", a->code > 0 ? a->code : 250,
			 str_or(a->reply, "Ok"));
	json_object_set_new(o, "timestamp", json_string(ts));
	json_object_set_new(o, "processingTimeMillis",
			    json_integer(a->now_ms > a->created_ms ? a->now_ms - a->created_ms : 0));
	json_object_set_new(o, "recipients", json_pack("[s?]", a->recipient));
	json_object_set_new(o, "smtpResponse", json_string(resp));
	json_object_set_new(o, "reportingMTA", json_string(str_or(a->reporting_mta, "localhost")));
	json_object_set_new(o, "remoteMtaIp", json_string(str_or(a->remote_ip, "")));
	return dump(o);
}

/* The feedbackId of one event: unique per message, recipient and time. */
static void
feedback_id(const char *message_id, const char *recipient, int64_t now_ms, char out[128])
{
	uint32_t h = 2166136261u; /* FNV-1a of the recipient */

	for (const char *p = str_or(recipient, ""); *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(out, 128, "%.60s-%08x-%llx", str_or(message_id, "0"), h,
		 (unsigned long long)now_ms);
}

/* SES's bounce object (notification "bounce"). `mta` is the reportingMTA
 * value ("dns; host"), `remote` the remote MTA's address or NULL. */
static char *
bounce_json(const char *recipient, const char *message_id, int64_t now_ms, const char *status,
	    const char *diag, const char *type, const char *subtype, const char *mta,
	    const char *remote)
{
	json_t *o = json_object(), *r = json_object();
	char ts[TIMEFMT_LEN], fid[128];

	timefmt_iso_ms(now_ms, ts);
	feedback_id(message_id, recipient, now_ms, fid);
	json_object_set_new(r, "emailAddress", json_string(str_or(recipient, "")));
	json_object_set_new(r, "action", json_string("failed"));
	json_object_set_new(r, "status", json_string(status));
	json_object_set_new(r, "diagnosticCode", json_string(diag));
	json_object_set_new(o, "bounceType", json_string(type));
	json_object_set_new(o, "bounceSubType", json_string(subtype));
	json_object_set_new(o, "bouncedRecipients", json_pack("[o]", r));
	json_object_set_new(o, "timestamp", json_string(ts));
	json_object_set_new(o, "feedbackId", json_string(fid));
	json_object_set_new(o, "reportingMTA", json_string(mta));
	if (remote != NULL && remote[0] != '\0')
		json_object_set_new(o, "remoteMtaIp", json_string(remote));
	return dump(o);
}

static char *
bounce_detail(const struct outcome_attempt *a, const char *status, const char *type,
	      const char *subtype)
{
	char diag[1200], mta[300];

	outcome_diagnostic(a->code, status, a->reply, diag, sizeof(diag));
	snprintf(mta, sizeof(mta), "dns; %s", str_or(a->reporting_mta, "localhost"));
	return bounce_json(a->recipient, a->message_id, a->now_ms, status, diag, type, subtype,
			   mta, a->remote_ip);
}

/* SES's deliveryDelay object. */
static char *
delay_json(const char *recipient, int64_t now_ms, int64_t expires_ms, const char *status,
	   const char *diag, const char *delay_type, const char *remote)
{
	json_t *o = json_object(), *r = json_object();
	char ts[TIMEFMT_LEN], exp[TIMEFMT_LEN];

	timefmt_iso_ms(now_ms, ts);
	timefmt_iso_ms(expires_ms, exp);
	json_object_set_new(r, "emailAddress", json_string(str_or(recipient, "")));
	json_object_set_new(r, "status", json_string(status));
	json_object_set_new(r, "diagnosticCode", json_string(diag));
	json_object_set_new(o, "timestamp", json_string(ts));
	json_object_set_new(o, "delayType", json_string(delay_type));
	json_object_set_new(o, "expirationTime", json_string(exp));
	json_object_set_new(o, "delayedRecipients", json_pack("[o]", r));
	if (remote != NULL && remote[0] != '\0')
		json_object_set_new(o, "remoteMtaIp", json_string(remote));
	return dump(o);
}

static char *
delay_detail(const struct outcome_attempt *a, const char *status)
{
	char diag[1200];

	outcome_diagnostic(a->code, status, a->reply, diag, sizeof(diag));
	return delay_json(a->recipient, a->now_ms, a->created_ms + a->max_age_s * 1000, status,
			  diag, outcome_delay_type(a->code, status), a->remote_ip);
}

/* SES's complaint object. */
static char *
complaint_json(const struct outcome_report *r)
{
	json_t *o = json_object(), *c = json_object();
	char ts[TIMEFMT_LEN], fid[128];

	timefmt_iso_ms(r->now_ms, ts);
	feedback_id(r->message_id, r->recipient, r->now_ms, fid);
	json_object_set_new(c, "emailAddress", json_string(str_or(r->recipient, "")));
	json_object_set_new(o, "complainedRecipients", json_pack("[o]", c));
	json_object_set_new(o, "timestamp", json_string(ts));
	json_object_set_new(o, "feedbackId", json_string(fid));
	json_object_set_new(o, "complaintSubType", json_null());
	if (r->user_agent != NULL && r->user_agent[0] != '\0')
		json_object_set_new(o, "userAgent", json_string(r->user_agent));
	json_object_set_new(o, "complaintFeedbackType",
			    r->feedback_type != NULL && r->feedback_type[0] != '\0'
				    ? json_string(r->feedback_type)
				    : json_null());
	if (r->arrival_date != NULL && r->arrival_date[0] != '\0')
		json_object_set_new(o, "arrivalDate", json_string(r->arrival_date));
	return dump(o);
}

void
outcome_report(const struct outcome_report *r, struct outcome *o)
{
	bool bounce = strcmp(r->event, "Bounce") == 0;
	const char *status = str_or(r->status, bounce ? "5.0.0" : "4.0.0");
	char diag[1200], mta[300];

	memset(o, 0, sizeof(*o));
	if (strcmp(r->event, "Complaint") == 0) {
		o->kind = OUTCOME_DELIVERED;
		o->event = "Complaint";
		o->detail = complaint_json(r);
		return;
	}
	if (r->diagnostic != NULL && r->diagnostic[0] != '\0')
		snprintf(diag, sizeof(diag), "%s", r->diagnostic);
	else
		snprintf(diag, sizeof(diag), "smtp; %s", status);
	if (!bounce) {
		o->kind = OUTCOME_DEFERRED;
		o->event = "DeliveryDelay";
		o->delayed = true;
		o->detail = delay_json(r->recipient, r->now_ms, r->expires_ms, status, diag,
				       outcome_delay_type(450, status), NULL);
		return;
	}
	o->kind = OUTCOME_BOUNCED;
	o->event = "Bounce";
	if (r->bounce_type != NULL) {
		o->bounce_type = r->bounce_type;
		o->bounce_subtype = r->bounce_subtype != NULL ? r->bounce_subtype : "General";
	} else {
		outcome_bounce_type(status, diag, &o->bounce_type, &o->bounce_subtype);
	}
	if (r->reporting_mta != NULL && r->reporting_mta[0] != '\0')
		snprintf(mta, sizeof(mta), "%s", r->reporting_mta);
	else
		snprintf(mta, sizeof(mta), "dns; %s", str_or(r->our_mta, "localhost"));
	o->detail = bounce_json(r->recipient, r->message_id, r->now_ms, status, diag,
				o->bounce_type, o->bounce_subtype, mta, NULL);
}

void
outcome_decide(const struct outcome_attempt *a, struct outcome *o)
{
	char status[16];
	const char *type, *subtype;

	memset(o, 0, sizeof(*o));
	o->delayed = a->delayed;
	status_of(a, status);
	switch (a->kind) {
	case OUTCOME_DELIVERED:
		o->kind = OUTCOME_DELIVERED;
		o->event = "Delivery";
		o->detail = delivery_detail(a, status);
		return;
	case OUTCOME_BOUNCED:
		outcome_bounce_type(status, a->reply, &type, &subtype);
		if (strcmp(type, "Undetermined") == 0)
			type = "Permanent", subtype = "General"; /* a 5xx reply: permanent */
		o->kind = OUTCOME_BOUNCED;
		o->event = "Bounce";
		o->bounce_type = type;
		o->bounce_subtype = subtype;
		o->detail = bounce_detail(a, status, type, subtype);
		return;
	case OUTCOME_DEFERRED:
		break;
	}
	if (a->now_ms - a->created_ms >= a->max_age_s * 1000) {
		/* too old to try again: SES's Transient/General bounce */
		o->kind = OUTCOME_BOUNCED;
		o->event = "Bounce";
		o->bounce_type = "Transient";
		o->bounce_subtype = "General";
		o->detail = bounce_detail(a, status, "Transient", "General");
		return;
	}
	o->kind = OUTCOME_DEFERRED;
	o->next_attempt_s = a->now_ms / 1000 + outcome_backoff_s(a->retry_base_s, a->attempts,
								 a->jitter);
	/* never past the end of the queue age by more than the backoff: the
	 * last try happens at the deadline, and its failure bounces */
	if (o->next_attempt_s * 1000 > a->created_ms + a->max_age_s * 1000)
		o->next_attempt_s = (a->created_ms + a->max_age_s * 1000 + 999) / 1000;
	if (!a->delayed) {
		o->event = "DeliveryDelay";
		o->detail = delay_detail(a, status);
		o->delayed = true;
	}
}

#define SIMULATOR_DOMAIN "simulator.amazonses.com"

enum outcome_sim
outcome_simulator(const char *recipient)
{
	static const struct {
		const char *local;
		enum outcome_sim sim;
	} names[] = {
		{"success", OUTCOME_SIM_SUCCESS},
		{"bounce", OUTCOME_SIM_BOUNCE},
		{"ooto", OUTCOME_SIM_OOTO},
		{"complaint", OUTCOME_SIM_COMPLAINT},
		{"suppressionlist", OUTCOME_SIM_SUPPRESSIONLIST},
	};
	const char *at = recipient != NULL ? strrchr(recipient, '@') : NULL;
	size_t n;

	if (at == NULL || strcasecmp(at + 1, SIMULATOR_DOMAIN) != 0)
		return OUTCOME_SIM_NONE;
	n = strcspn(recipient, "+@");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (n == strlen(names[i].local) && strncasecmp(recipient, names[i].local, n) == 0)
			return names[i].sim;
	return OUTCOME_SIM_BOUNCE; /* an unknown user of the simulator's domain */
}

const char *
outcome_stat_kind(const char *event, const char *bounce_type, const char *bounce_subtype,
		  const char *recipient)
{
	const char *at = recipient != NULL ? strrchr(recipient, '@') : NULL;

	if (event == NULL || (at != NULL && strcasecmp(at + 1, SIMULATOR_DOMAIN) == 0))
		return NULL;
	if (strcmp(event, "Complaint") == 0)
		return "complaint";
	if (strcmp(event, "Bounce") == 0 && bounce_type != NULL &&
	    strcmp(bounce_type, "Permanent") == 0 &&
	    (bounce_subtype == NULL || strcmp(bounce_subtype, "OnAccountSuppressionList") != 0))
		return "bounce";
	return NULL;
}

void
outcome_clear(struct outcome *o)
{
	if (o == NULL)
		return;
	free(o->detail);
	memset(o, 0, sizeof(*o));
}

/* test_outcome.c — src/core/outcome.c: backoff bounds, SES bounce and delay
 * types from enhanced status codes (the pinned mapping), and the decision
 * with its event JSON for delivered, bounced, deferred and too-old
 * recipients. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/outcome.h"

static void
test_backoff(void **state)
{
	(void)state;
	/* base 60: 60, 120, 240 … with ±20 % jitter, capped at 3600 (+20 %) */
	assert_int_equal(outcome_backoff_s(60, 1, 0.5), 60);
	assert_int_equal(outcome_backoff_s(60, 1, 0.0), 48);
	assert_true(outcome_backoff_s(60, 1, 0.999) < 72);
	assert_int_equal(outcome_backoff_s(60, 2, 0.5), 120);
	assert_int_equal(outcome_backoff_s(60, 3, 0.5), 240);
	assert_int_equal(outcome_backoff_s(60, 7, 0.5), 3600);
	assert_int_equal(outcome_backoff_s(60, 40, 0.5), 3600);
	assert_int_equal(outcome_backoff_s(1, 1, 0.0), 1); /* never 0 */
	assert_int_equal(outcome_backoff_s(60, 1, 7.0), 60); /* bad jitter: the middle */
}

static void
test_bounce_types(void **state)
{
	static const struct {
		const char *status, *text, *type, *sub;
	} rows[] = {
		{"5.1.1", "user unknown", "Permanent", "NoEmail"},
		{"5.1.10", "null MX", "Permanent", "NoEmail"},
		{"5.1.6", "moved", "Permanent", "NoEmail"},
		{"5.1.2", "host not found", "Permanent", "General"},
		{"5.0.0", "", "Permanent", "General"},
		{"5.7.1", "relaying denied", "Permanent", "General"},
		{"5.7.1", "message content rejected", "Transient", "ContentRejected"},
		{"5.7.1", "looks like SPAM", "Transient", "ContentRejected"},
		{"5.6.0", "bad MIME", "Transient", "ContentRejected"},
		{"4.2.2", "mailbox full", "Transient", "MailboxFull"},
		{"5.2.2", "mailbox full", "Transient", "MailboxFull"},
		{"5.3.4", "too big", "Transient", "MessageTooLarge"},
		{"5.2.3", "too big", "Transient", "MessageTooLarge"},
		{"4.4.1", "timeout", "Transient", "General"},
		{NULL, "", "Undetermined", "Undetermined"},
		{"", "", "Undetermined", "Undetermined"},
		{"x.1.1", "", "Undetermined", "Undetermined"},
		{"5.1", "", "Undetermined", "Undetermined"},
		{"5.1.1 ", "", "Undetermined", "Undetermined"},
		{"3.1.1", "", "Undetermined", "Undetermined"},
		{"2.0.0", "", "Undetermined", "Undetermined"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *t, *s;
		outcome_bounce_type(rows[i].status, rows[i].text, &t, &s);
		if (strcmp(t, rows[i].type) != 0 || strcmp(s, rows[i].sub) != 0)
			fail_msg("row %zu (%s): got %s/%s", i, rows[i].status ? rows[i].status : "NULL",
				 t, s);
	}
	assert_string_equal(outcome_delay_type(0, "4.4.1"), "TransientCommunicationFailure");
	assert_string_equal(outcome_delay_type(452, "4.2.2"), "MailboxFull");
	assert_string_equal(outcome_delay_type(451, "4.7.1"), "SpamDetected");
	assert_string_equal(outcome_delay_type(451, "4.3.0"), "TransientCommunicationFailure");
	assert_string_equal(outcome_delay_type(421, NULL), "TransientCommunicationFailure");
}

static struct outcome_attempt
attempt(enum outcome_kind k, int code, const char *enh, const char *reply)
{
	return (struct outcome_attempt){
		.kind = k, .code = code, .enhanced = enh, .reply = reply,
		.remote_ip = "127.0.0.1", .reporting_mta = "mta.test", .recipient = "r@x.test",
		.message_id = "0100abc-000000", .attempts = 1, .created_ms = 1000000,
		.now_ms = 1005000, .retry_base_s = 60, .max_age_s = 3600, .jitter = 0.5,
	};
}

static json_t *
parse(const struct outcome *o)
{
	json_t *j = json_loads(o->detail, 0, NULL);
	assert_non_null(j);
	return j;
}

static void
test_delivered(void **state)
{
	struct outcome_attempt a = attempt(OUTCOME_DELIVERED, 250, "2.0.0", "Ok queued as X");
	struct outcome o;
	json_t *j;

	(void)state;
	outcome_decide(&a, &o);
	assert_int_equal(o.kind, OUTCOME_DELIVERED);
	assert_string_equal(o.event, "Delivery");
	j = parse(&o);
	assert_string_equal(json_string_value(json_object_get(j, "smtpResponse")),
			    "250 2.0.0 Ok queued as X");
	assert_int_equal(json_integer_value(json_object_get(j, "processingTimeMillis")), 5000);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "recipients"), 0)),
			    "r@x.test");
	assert_string_equal(json_string_value(json_object_get(j, "remoteMtaIp")), "127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(j, "reportingMTA")), "mta.test");
	assert_string_equal(json_string_value(json_object_get(j, "timestamp")),
			    "1970-01-01T00:16:45.000Z");
	json_decref(j);
	outcome_clear(&o);
}

static void
test_bounced(void **state)
{
	struct outcome_attempt a = attempt(OUTCOME_BOUNCED, 550, "5.1.1", "5.1.1 user unknown");
	struct outcome o;
	json_t *j, *r;

	(void)state;
	outcome_decide(&a, &o);
	assert_int_equal(o.kind, OUTCOME_BOUNCED);
	assert_string_equal(o.event, "Bounce");
	j = parse(&o);
	assert_string_equal(json_string_value(json_object_get(j, "bounceType")), "Permanent");
	assert_string_equal(json_string_value(json_object_get(j, "bounceSubType")), "NoEmail");
	r = json_array_get(json_object_get(j, "bouncedRecipients"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "emailAddress")), "r@x.test");
	assert_string_equal(json_string_value(json_object_get(r, "status")), "5.1.1");
	assert_string_equal(json_string_value(json_object_get(r, "action")), "failed");
	/* the status is not repeated when the reply starts with it */
	assert_string_equal(json_string_value(json_object_get(r, "diagnosticCode")),
			    "smtp; 550 5.1.1 user unknown");
	assert_string_equal(json_string_value(json_object_get(j, "reportingMTA")), "dns; mta.test");
	json_decref(j);
	outcome_clear(&o);

	/* a 5xx without an enhanced code is still a permanent bounce */
	a = attempt(OUTCOME_BOUNCED, 554, "", "no thanks");
	outcome_decide(&a, &o);
	j = parse(&o);
	assert_string_equal(json_string_value(json_object_get(j, "bounceType")), "Permanent");
	assert_string_equal(json_string_value(json_object_get(j, "bounceSubType")), "General");
	r = json_array_get(json_object_get(j, "bouncedRecipients"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "diagnosticCode")),
			    "smtp; 554 5.0.0 no thanks");
	json_decref(j);
	outcome_clear(&o);
}

static void
test_deferred(void **state)
{
	struct outcome_attempt a = attempt(OUTCOME_DEFERRED, 451, "4.3.0", "try later");
	struct outcome o;
	json_t *j;

	(void)state;
	outcome_decide(&a, &o);
	assert_int_equal(o.kind, OUTCOME_DEFERRED);
	assert_int_equal(o.next_attempt_s, 1005 + 60);
	assert_string_equal(o.event, "DeliveryDelay");
	assert_true(o.delayed);
	j = parse(&o);
	assert_string_equal(json_string_value(json_object_get(j, "delayType")),
			    "TransientCommunicationFailure");
	assert_string_equal(json_string_value(json_object_get(j, "expirationTime")),
			    "1970-01-01T01:16:40.000Z"); /* created + 3600 s */
	json_decref(j);
	outcome_clear(&o);

	/* the second deferral: no new event */
	a.delayed = true;
	a.attempts = 2;
	outcome_decide(&a, &o);
	assert_int_equal(o.kind, OUTCOME_DEFERRED);
	assert_null(o.event);
	assert_null(o.detail);
	assert_int_equal(o.next_attempt_s, 1005 + 120);
	outcome_clear(&o);

	/* never scheduled past the queue age: the last try is at the deadline */
	a.attempts = 20;
	outcome_decide(&a, &o);
	assert_int_equal(o.next_attempt_s, 1000 + 3600);
	outcome_clear(&o);

	/* too old: a Transient/General bounce */
	a.now_ms = a.created_ms + 3600 * 1000;
	a.code = 0;
	a.enhanced = "4.4.1";
	a.reply = "connection refused by 127.0.0.1:25";
	outcome_decide(&a, &o);
	assert_int_equal(o.kind, OUTCOME_BOUNCED);
	j = parse(&o);
	assert_string_equal(json_string_value(json_object_get(j, "bounceType")), "Transient");
	assert_string_equal(json_string_value(json_object_get(j, "bounceSubType")), "General");
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(j, "bouncedRecipients"), 0), "diagnosticCode")),
		"smtp; connection refused by 127.0.0.1:25");
	json_decref(j);
	outcome_clear(&o);
}

static void
test_stat_kind(void **state)
{
	(void)state;
	static const struct {
		const char *event, *type, *subtype, *rcpt, *want;
	} rows[] = {
		{"Bounce", "Permanent", "General", "a@x.test", "bounce"},
		{"Bounce", "Permanent", NULL, "a@x.test", "bounce"},
		{"Bounce", "Transient", "MailboxFull", "a@x.test", NULL},
		{"Bounce", "Undetermined", "Undetermined", "a@x.test", NULL},
		{"Bounce", "Permanent", "OnAccountSuppressionList", "a@x.test", NULL},
		{"Bounce", "Permanent", "General", "bounce@simulator.amazonses.com", NULL},
		{"Bounce", "Permanent", "General", "b@SIMULATOR.amazonses.com", NULL},
		{"Bounce", "Permanent", "General", "b@not-simulator.amazonses.com", "bounce"},
		{"Complaint", NULL, NULL, "a@x.test", "complaint"},
		{"Complaint", NULL, NULL, "complaint@simulator.amazonses.com", NULL},
		{"Delivery", NULL, NULL, "a@x.test", NULL},
		{"DeliveryDelay", NULL, NULL, "a@x.test", NULL},
		{NULL, NULL, NULL, "a@x.test", NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *got =
			outcome_stat_kind(rows[i].event, rows[i].type, rows[i].subtype, rows[i].rcpt);
		if (rows[i].want == NULL)
			assert_null(got);
		else
			assert_string_equal(got, rows[i].want);
	}
}

/* outcome_decide names the bounce type it wrote, for the statistics */
static void
test_bounce_type_reported(void **state)
{
	(void)state;
	struct outcome_attempt a = {.kind = OUTCOME_BOUNCED, .code = 550, .enhanced = "5.1.1",
				    .reply = "no such user", .recipient = "a@x.test",
				    .message_id = "m", .attempts = 1, .now_ms = 1000,
				    .created_ms = 0, .retry_base_s = 60, .max_age_s = 3600};
	struct outcome o;

	outcome_decide(&a, &o);
	assert_string_equal(o.bounce_type, "Permanent");
	outcome_clear(&o);
	a.enhanced = "5.2.2";
	outcome_decide(&a, &o);
	assert_string_equal(o.bounce_type, "Transient");
	outcome_clear(&o);
	a.kind = OUTCOME_DELIVERED, a.code = 250, a.enhanced = "2.0.0";
	outcome_decide(&a, &o);
	assert_null(o.bounce_type);
	outcome_clear(&o);
}

/* the simulator's addresses, labels and case; anything else there bounces */
static void
test_simulator(void **state)
{
	(void)state;
	static const struct {
		const char *addr;
		enum outcome_sim want;
	} t[] = {
		{"success@simulator.amazonses.com", OUTCOME_SIM_SUCCESS},
		{"Success+label@Simulator.AmazonSES.com", OUTCOME_SIM_SUCCESS},
		{"bounce@simulator.amazonses.com", OUTCOME_SIM_BOUNCE},
		{"ooto@simulator.amazonses.com", OUTCOME_SIM_OOTO},
		{"complaint+x@simulator.amazonses.com", OUTCOME_SIM_COMPLAINT},
		{"suppressionlist@simulator.amazonses.com", OUTCOME_SIM_SUPPRESSIONLIST},
		{"nobody@simulator.amazonses.com", OUTCOME_SIM_BOUNCE},
		{"successful@simulator.amazonses.com", OUTCOME_SIM_BOUNCE},
		{"success@simulator.amazonses.com.evil.test", OUTCOME_SIM_NONE},
		{"success@example.com", OUTCOME_SIM_NONE},
		{"success", OUTCOME_SIM_NONE},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(outcome_simulator(t[i].addr), t[i].want);
}

/* a reported bounce keeps the report's diagnostic and reporting MTA and is
 * typed by its status; a complaint carries the ARF fields */
static void
test_report(void **state)
{
	(void)state;
	struct outcome_report r = {.event = "Bounce", .recipient = "a@x.test", .message_id = "m1",
				   .now_ms = 1700000000000, .status = "5.1.1",
				   .diagnostic = "smtp; 550 5.1.1 <a@x.test>: no such user",
				   .reporting_mta = "dns; mx.x.test", .our_mta = "out.test"};
	struct outcome o;
	json_t *j, *b;

	outcome_report(&r, &o);
	assert_string_equal(o.event, "Bounce");
	assert_string_equal(o.bounce_type, "Permanent");
	assert_string_equal(o.bounce_subtype, "NoEmail");
	j = json_loads(o.detail, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "reportingMTA")), "dns; mx.x.test");
	b = json_array_get(json_object_get(j, "bouncedRecipients"), 0);
	assert_string_equal(json_string_value(json_object_get(b, "diagnosticCode")),
			    "smtp; 550 5.1.1 <a@x.test>: no such user");
	assert_string_equal(json_string_value(json_object_get(b, "status")), "5.1.1");
	json_decref(j);
	outcome_clear(&o);

	/* no status: SES's Undetermined, as the caller says; our MTA reports */
	r.status = NULL, r.bounce_type = "Undetermined", r.bounce_subtype = "Undetermined";
	r.reporting_mta = NULL, r.diagnostic = NULL;
	outcome_report(&r, &o);
	assert_string_equal(o.bounce_type, "Undetermined");
	j = json_loads(o.detail, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "reportingMTA")), "dns; out.test");
	assert_null(outcome_stat_kind(o.event, o.bounce_type, o.bounce_subtype, "a@x.test"));
	json_decref(j);
	outcome_clear(&o);

	struct outcome_report c = {.event = "Complaint", .recipient = "a@x.test",
				   .message_id = "m1", .now_ms = 1700000000000,
				   .feedback_type = "abuse", .user_agent = "ISP/1.0",
				   .arrival_date = "Thu, 8 Mar 2024 14:00:00 -0000"};
	outcome_report(&c, &o);
	assert_string_equal(o.event, "Complaint");
	j = json_loads(o.detail, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "complaintFeedbackType")), "abuse");
	assert_string_equal(json_string_value(json_object_get(j, "userAgent")), "ISP/1.0");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "complainedRecipients"), 0),
				    "emailAddress")),
			    "a@x.test");
	assert_string_equal(outcome_stat_kind(o.event, NULL, NULL, "a@x.test"), "complaint");
	json_decref(j);
	outcome_clear(&o);

	struct outcome_report d = {.event = "DeliveryDelay", .recipient = "a@x.test",
				   .message_id = "m1", .now_ms = 1700000000000, .status = "4.2.2",
				   .expires_ms = 1700000600000};
	outcome_report(&d, &o);
	assert_string_equal(o.event, "DeliveryDelay");
	j = json_loads(o.detail, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "delayType")), "MailboxFull");
	json_decref(j);
	outcome_clear(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_bounce_types),
		cmocka_unit_test(test_delivered),
		cmocka_unit_test(test_bounced),
		cmocka_unit_test(test_deferred),
		cmocka_unit_test(test_stat_kind),
		cmocka_unit_test(test_bounce_type_reported),
		cmocka_unit_test(test_simulator),
		cmocka_unit_test(test_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

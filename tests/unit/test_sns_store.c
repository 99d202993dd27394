/* test_sns_store.c — the store's SNS side (store.h sns_*) on a real SQLite
 * store: the seam the notifications ride on (an event's notices publish one
 * outbox row per CONFIRMED subscription, in the event's transaction: a
 * failed write publishes nothing), Publish, the lease-based outbox claim
 * (own leases never re-taken, given back at restart), and the cascades
 * (topic → subscriptions → deliveries). */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "util/xalloc.h"

#define ACCT "111122223333"
#define TOPIC "arn:aws:sns:us-east-1:111122223333:bounces"
#define T0 1700000000

struct fx {
	char *dir;
	struct store *s;
};

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

/* Subscribe http://h/<n> to TOPIC; confirm it when asked. */
static void
subscribe(struct fx *f, int n, bool confirm)
{
	struct sns_subscription sub = {0}, out;
	char ep[64];
	struct err e;

	snprintf(ep, sizeof(ep), "http://127.0.0.1:9/%d", n);
	snprintf(sub.arn, sizeof(sub.arn), "%s:0000000%d-0000-4000-8000-000000000000", TOPIC, n);
	snprintf(sub.topic_arn, sizeof(sub.topic_arn), TOPIC);
	snprintf(sub.account_id, sizeof(sub.account_id), ACCT);
	snprintf(sub.protocol, sizeof(sub.protocol), "http");
	snprintf(sub.token, sizeof(sub.token), "tok%d", n);
	sub.endpoint = ep;
	sub.created = T0;
	assert_int_equal(f->s->ops->sns_subscribe(f->s, &sub, "confirm me", (int64_t)T0 * 1000, &out,
						  &e),
			 1);
	assert_false(out.confirmed);
	sns_subscription_clear(&out);
	if (confirm) {
		assert_int_equal(f->s->ops->sns_sub_confirm(f->s, TOPIC, sub.token, &out, &e), 1);
		assert_true(out.confirmed);
		assert_string_equal(out.arn, sub.arn);
		sns_subscription_clear(&out);
	}
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct err e;
	struct account a = {.id = ACCT, .name = "acct", .max_24h = 100, .max_rate = 1,
			    .sending_enabled = true};
	struct sns_topic t = {.arn = TOPIC, .region = "us-east-1", .account_id = ACCT,
			      .name = "bounces", .created = T0};

	f->dir = xstrdup("/tmp/sesame-sns-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->s = store_open(NULL, f->dir, &e);
	assert_non_null(f->s);
	assert_int_equal(f->s->ops->account_create(f->s, &a, &e), 0);
	assert_int_equal(f->s->ops->sns_topic_put(f->s, &t, &e), 1);
	assert_int_equal(f->s->ops->sns_topic_put(f->s, &t, &e), 0); /* idempotent */
	subscribe(f, 1, true);
	subscribe(f, 2, true);
	subscribe(f, 3, false);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->dir);
	free(f);
	return 0;
}

static int64_t
count(struct fx *f, const char *type)
{
	int64_t n = -1;
	struct err e;

	assert_int_equal(f->s->ops->sns_outbox_count(f->s, type, &n, &e), 0);
	return n;
}

/* Insert message `id` to `rcpt` with one Send event carrying `notices`;
 * returns message_insert's result. */
static int
insert(struct fx *f, const char *id, const char *rcpt, const struct store_notice *nv, size_t n)
{
	struct store_message m = {0};
	struct store_event ev;
	char *dest[1] = {(char *)rcpt};
	struct err e;

	snprintf(m.id, sizeof(m.id), "%s", id);
	snprintf(m.region, sizeof(m.region), "us-east-1");
	snprintf(m.sending_account, sizeof(m.sending_account), ACCT);
	m.source = "bounce@example.com";
	m.from_addr = "from@example.com";
	m.raw = (uint8_t *)"Subject: x\r\n\r\nbody\r\n";
	m.raw_len = strlen((char *)m.raw);
	m.created_ms = (int64_t)T0 * 1000;
	m.destinations = dest;
	m.ndestinations = 1;
	ev = (struct store_event){.message_id = m.id, .recipient = dest[0], .type = STORE_EV_SEND,
				  .ts_ms = m.created_ms, .notices = nv, .nnotices = n};
	return f->s->ops->message_insert(f->s, &m, 1, &ev, 1, &e);
}

struct seen {
	int n;
	char type[8][32], sub[8][STORE_SNS_SUB_MAX], msgid[8][37], subject[8][32];
	int64_t id[8];
	int attempts[8];
};

static int
on_claim(void *arg, const struct sns_delivery *d)
{
	struct seen *s = arg;

	if (s->n == 8)
		return 0;
	snprintf(s->type[s->n], sizeof(s->type[0]), "%s", d->type);
	snprintf(s->sub[s->n], sizeof(s->sub[0]), "%s", d->subscription_arn);
	snprintf(s->msgid[s->n], sizeof(s->msgid[0]), "%s", d->message_id);
	snprintf(s->subject[s->n], sizeof(s->subject[0]), "%s", d->subject ? d->subject : "-");
	s->id[s->n] = d->id;
	s->attempts[s->n] = d->attempts;
	assert_string_equal(d->signature_version, "1");
	assert_string_equal(d->protocol, "http");
	s->n++;
	return 0;
}

static int
claim(struct fx *f, const char *owner, int64_t now_ms, struct seen *s)
{
	struct err e;

	memset(s, 0, sizeof(*s));
	return f->s->ops->sns_outbox_claim(f->s, owner, now_ms, now_ms + 60000, 8, on_claim, s, &e);
}

static void
test_event_notices_publish_to_confirmed(void **state)
{
	struct fx *f = *state;
	struct store_notice nv[2] = {
		{.topic_arn = TOPIC, .subject = NULL, .message = "{\"notificationType\":\"Bounce\"}"},
		{.topic_arn = "arn:aws:sns:us-east-1:111122223333:gone", .message = "x"},
	};

	/* the three confirmations Subscribe queued */
	assert_int_equal(count(f, STORE_SNS_CONFIRMATION), 3);
	assert_int_equal(count(f, STORE_SNS_NOTIFICATION), 0);
	assert_int_equal(insert(f, "m1", "a@x.test", nv, 2), 0);
	/* two confirmed subscriptions: two rows; the unconfirmed and the
	 * absent topic none */
	assert_int_equal(count(f, STORE_SNS_NOTIFICATION), 2);

	/* the same transaction: a message_insert that fails (a recipient that
	 * is not UTF-8) publishes nothing */
	assert_int_equal(insert(f, "m2", "b\xff@x.test", nv, 1), -1);
	assert_int_equal(count(f, STORE_SNS_NOTIFICATION), 2);
}

static void
test_feedback_notices(void **state)
{
	struct fx *f = *state;
	struct store_notice nv = {.topic_arn = TOPIC, .subject = "s", .message = "m"};
	struct store_event ev;
	struct err e;

	assert_int_equal(insert(f, "m1", "a@x.test", NULL, 0), 0);
	ev = (struct store_event){.message_id = "m1", .recipient = "a@x.test",
				  .type = STORE_EV_BOUNCE, .ts_ms = (int64_t)T0 * 1000,
				  .detail = "{\"bounceType\":\"Permanent\"}", .notices = &nv,
				  .nnotices = 1};
	assert_int_equal(f->s->ops->feedback_add(f->s, &ev, 1, NULL, &e), 1);
	assert_int_equal(count(f, STORE_SNS_NOTIFICATION), 2);
	/* the same report again is not recorded, and publishes nothing */
	assert_int_equal(f->s->ops->feedback_add(f->s, &ev, 1, NULL, &e), 0);
	assert_int_equal(count(f, STORE_SNS_NOTIFICATION), 2);
}

static void
test_publish_claim_finish_release(void **state)
{
	struct fx *f = *state;
	int64_t now = (int64_t)T0 * 1000;
	char msgid[37] = "";
	struct seen s;
	struct err e;

	assert_int_equal(f->s->ops->sns_publish(f->s, TOPIC, "Hi", "hello", now, msgid, &e), 2);
	assert_int_equal(strlen(msgid), 36);
	/* 3 confirmations + 2 notifications, all due */
	assert_int_equal(claim(f, "a", now, &s), 5);
	int notes = 0;
	for (int i = 0; i < s.n; i++) {
		assert_int_equal(s.attempts[i], 1);
		if (strcmp(s.type[i], STORE_SNS_NOTIFICATION) == 0) {
			notes++;
			assert_string_equal(s.msgid[i], msgid); /* one MessageId per publish */
			assert_string_equal(s.subject[i], "Hi");
		}
	}
	assert_int_equal(notes, 2);
	/* leased: nobody gets them while the lease runs, the owner never */
	assert_int_equal(claim(f, "b", now + 1000, &s), 0);
	assert_int_equal(claim(f, "a", now + 120000, &s), 0);
	/* another owner takes over an ended lease */
	assert_int_equal(claim(f, "b", now + 120000, &s), 5);
	assert_int_equal(s.attempts[0], 2);
	/* a's outcome no longer counts */
	assert_int_equal(f->s->ops->sns_outbox_finish(f->s, "a", s.id[0], 0, &e), 0);
	/* b's does: one done, one retried later */
	assert_int_equal(f->s->ops->sns_outbox_finish(f->s, "b", s.id[0], 0, &e), 1);
	assert_int_equal(f->s->ops->sns_outbox_finish(f->s, "b", s.id[1], now + 500000, &e), 1);
	assert_int_equal(count(f, NULL), 4);
	/* b restarts: its leases come back at once, the retry keeps its time */
	assert_int_equal(f->s->ops->sns_outbox_release(f->s, "b", &e), 3);
	assert_int_equal(claim(f, "b", now + 120001, &s), 3);
	assert_int_equal(claim(f, "b", now + 500000, &s), 1);
}

static void
test_cascades(void **state)
{
	struct fx *f = *state;
	struct sns_topic t;
	struct sns_subscription sub = {0}, out;
	struct err e;
	char ep[] = "http://127.0.0.1:9/1";

	assert_int_equal(f->s->ops->sns_topic_get(f->s, TOPIC, &t, &e), 1);
	assert_int_equal(t.confirmed, 2);
	assert_int_equal(t.pending, 1);
	sns_topic_clear(&t);
	/* subscribing the same endpoint again gives the existing one */
	snprintf(sub.arn, sizeof(sub.arn), "%s:new", TOPIC);
	snprintf(sub.topic_arn, sizeof(sub.topic_arn), TOPIC);
	snprintf(sub.account_id, sizeof(sub.account_id), ACCT);
	snprintf(sub.protocol, sizeof(sub.protocol), "http");
	snprintf(sub.token, sizeof(sub.token), "other");
	sub.endpoint = ep;
	assert_int_equal(f->s->ops->sns_subscribe(f->s, &sub, "c", 1, &out, &e), 0);
	assert_true(out.confirmed);
	assert_string_equal(out.token, "tok1");
	/* unsubscribing drops its pending deliveries */
	assert_int_equal(f->s->ops->sns_sub_delete(f->s, out.arn, &e), 1);
	sns_subscription_clear(&out);
	assert_int_equal(count(f, NULL), 2);
	assert_int_equal(f->s->ops->sns_publish(f->s, TOPIC, NULL, "m", 1, NULL, &e), 1);
	/* a topic takes its subscriptions and their deliveries along */
	assert_int_equal(f->s->ops->sns_topic_delete(f->s, TOPIC, &e), 1);
	assert_int_equal(count(f, NULL), 0);
	assert_int_equal(f->s->ops->sns_sub_get(f->s, out.arn, &out, &e), 0);
	assert_int_equal(f->s->ops->sns_publish(f->s, TOPIC, NULL, "m", 1, NULL, &e), 0);
	assert_int_equal(f->s->ops->sns_topic_delete(f->s, TOPIC, &e), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_notices_publish_to_confirmed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_feedback_notices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_claim_finish_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascades, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

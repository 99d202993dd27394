/* test_rcpt.c — the store's per-recipient delivery state (store.h
 * rcpt_claim, rcpt_finish, rcpt_release, event_list) on a real SQLite store:
 * a queued message gets one row per recipient; a claim leases due rows to
 * one owner; only that owner records outcomes, each once, with its event;
 * a dead owner's lease is taken over when it ends, never the caller's own;
 * a restarted owner gives its leases back; a message is finished with its
 * last recipient. */
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

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct err e;
	struct account a = {.id = ACCT, .name = "acct", .max_24h = 100, .max_rate = 1,
			    .sending_enabled = true};

	f->dir = xstrdup("/tmp/sesame-rcpt-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->s = store_open(NULL, f->dir, &e);
	assert_non_null(f->s);
	assert_int_equal(f->s->ops->account_create(f->s, &a, &e), 0);
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

/* Insert message `id` with `n` recipients a0@x.test…, queued, plus one Send
 * event per recipient. */
static void
insert(struct fx *f, const char *id, int n)
{
	struct store_message m = {0};
	struct store_event ev[8];
	char *dest[8];
	struct err e;

	snprintf(m.id, sizeof(m.id), "%s", id);
	snprintf(m.region, sizeof(m.region), "us-east-1");
	snprintf(m.sending_account, sizeof(m.sending_account), ACCT);
	m.source = "bounce@example.com";
	m.mail_from = "verp@bounces.test";
	m.from_addr = "from@example.com";
	m.raw = (uint8_t *)"Subject: x\r\n\r\nbody\r\n";
	m.raw_len = strlen((char *)m.raw);
	m.created_ms = (int64_t)T0 * 1000;
	for (int i = 0; i < n; i++) {
		dest[i] = xasprintf("a%d@x.test", i);
		ev[i] = (struct store_event){.message_id = m.id, .recipient = dest[i],
					     .type = STORE_EV_SEND, .ts_ms = m.created_ms};
	}
	m.destinations = dest;
	m.ndestinations = (size_t)n;
	assert_int_equal(f->s->ops->message_insert(f->s, &m, 1, ev, (size_t)n, &e), 0);
	for (int i = 0; i < n; i++)
		free(dest[i]);
}

struct claims {
	int n;
	char id[8][80];
	int idx[8], attempts[8];
	bool delayed[8];
	char addr[8][32];
	char mail_from[8][64];
};

static int
on_claim(void *arg, const struct store_message *m, const struct store_rcpt *r, size_t n)
{
	struct claims *c = arg;

	assert_non_null(m->raw);
	for (size_t i = 0; i < n && c->n < 8; i++, c->n++) {
		snprintf(c->id[c->n], sizeof(c->id[0]), "%s", m->id);
		c->idx[c->n] = r[i].idx;
		c->attempts[c->n] = r[i].attempts;
		c->delayed[c->n] = r[i].delayed;
		snprintf(c->addr[c->n], sizeof(c->addr[0]), "%s", r[i].address);
		snprintf(c->mail_from[c->n], sizeof(c->mail_from[0]), "%s", m->mail_from);
	}
	return 0;
}

static int
claim(struct fx *f, const char *owner, int64_t now, int64_t until, int limit, struct claims *c)
{
	struct err e;

	memset(c, 0, sizeof(*c));
	return f->s->ops->rcpt_claim(f->s, owner, now, until, limit, on_claim, c, &e);
}

static int
count_ev(void *arg, const struct store_event *ev)
{
	int *n = arg;
	(void)ev;
	(*n)++;
	return 0;
}

/* The queue's depth as /metrics reads it. */
static void
expect_depth(struct fx *f, int64_t queued, int64_t retrying, int64_t sending)
{
	int64_t q, r, s;
	struct err e;

	assert_int_equal(f->s->ops->rcpt_depth(f->s, &q, &r, &s, &e), 0);
	assert_int_equal(q, queued);
	assert_int_equal(r, retrying);
	assert_int_equal(s, sending);
}

static void
test_claim_and_finish(void **state)
{
	struct fx *f = *state;
	struct claims c;
	struct err e;
	struct store_message m = {0};
	int nev = 0;

	insert(f, "m1", 2);
	expect_depth(f, 2, 0, 0);
	assert_int_equal(claim(f, "A", T0, T0 + 300, 10, &c), 2);
	expect_depth(f, 0, 0, 2);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.id[0], "m1");
	assert_int_equal(c.idx[0], 0);
	assert_int_equal(c.idx[1], 1);
	assert_string_equal(c.addr[1], "a1@x.test");
	assert_int_equal(c.attempts[0], 1);
	assert_false(c.delayed[0]);
	assert_string_equal(c.mail_from[0], "verp@bounces.test");
	/* leased: nobody claims them while the lease runs */
	assert_int_equal(claim(f, "B", T0 + 299, T0 + 600, 10, &c), 0);

	/* a0 delivered, a1 deferred with its first DeliveryDelay */
	struct store_event d = {.message_id = "m1", .recipient = "a0@x.test",
				.type = STORE_EV_DELIVERY, .ts_ms = 1, .detail = "{\"smtpResponse\":\"250 ok\"}"};
	struct store_event dd = {.message_id = "m1", .recipient = "a1@x.test",
				 .type = STORE_EV_DELAY, .ts_ms = 2};
	struct store_rcpt_outcome o[2] = {
		{.message_id = "m1", .idx = 0, .status = STORE_RCPT_DELIVERED, .event = &d},
		{.message_id = "m1", .idx = 1, .status = STORE_RCPT_QUEUED, .next_attempt = T0 + 60,
		 .delayed = true, .event = &dd},
	};
	/* another owner cannot record them */
	assert_int_equal(f->s->ops->rcpt_finish(f->s, "B", "mx", o, 2, 5, &e), 0);
	assert_int_equal(f->s->ops->rcpt_finish(f->s, "A", "mx", o, 2, 5, &e), 2);
	expect_depth(f, 1, 1, 0); /* a1 waits for its retry; a0 is history */
	/* recorded once: the same outcomes again change nothing */
	assert_int_equal(f->s->ops->rcpt_finish(f->s, "A", "mx", o, 2, 5, &e), 0);
	assert_int_equal(f->s->ops->event_list(f->s, "m1", count_ev, &nev, &e), 0);
	assert_int_equal(nev, 4); /* 2 Send, 1 Delivery, 1 DeliveryDelay */
	assert_int_equal(f->s->ops->message_get(f->s, "m1", &m, &e), 1);
	assert_string_equal(m.status, STORE_MSG_QUEUED);
	store_message_clear(&m);

	/* a1 is due at T0 + 60, not before; a0 never again */
	assert_int_equal(claim(f, "A", T0 + 59, T0 + 400, 10, &c), 0);
	assert_int_equal(claim(f, "A", T0 + 60, T0 + 400, 10, &c), 1);
	assert_int_equal(c.idx[0], 1);
	assert_int_equal(c.attempts[0], 2);
	assert_true(c.delayed[0]);

	/* the last recipient bounces: the message is finished, delivered (a0 was) */
	struct store_rcpt_outcome b = {.message_id = "m1", .idx = 1, .status = STORE_RCPT_BOUNCED};
	assert_int_equal(f->s->ops->rcpt_finish(f->s, "A", "mx", &b, 1, 77, &e), 1);
	assert_int_equal(f->s->ops->message_get(f->s, "m1", &m, &e), 1);
	assert_string_equal(m.status, STORE_MSG_DELIVERED);
	assert_string_equal(m.transport, "mx");
	assert_int_equal(m.delivered_ms, 77);
	store_message_clear(&m);
	assert_int_equal(claim(f, "A", T0 + 10000, T0 + 20000, 10, &c), 0);
}

static void
test_all_bounced_is_failed(void **state)
{
	struct fx *f = *state;
	struct claims c;
	struct err e;
	struct store_message m = {0};

	insert(f, "m2", 1);
	assert_int_equal(claim(f, "A", T0, T0 + 300, 10, &c), 1);
	struct store_rcpt_outcome b = {.message_id = "m2", .idx = 0, .status = STORE_RCPT_BOUNCED};
	assert_int_equal(f->s->ops->rcpt_finish(f->s, "A", "mx", &b, 1, 9, &e), 1);
	assert_int_equal(f->s->ops->message_get(f->s, "m2", &m, &e), 1);
	assert_string_equal(m.status, STORE_MSG_FAILED);
	store_message_clear(&m);
}

static int
sum_bucket(void *arg, const struct send_bucket *b)
{
	int64_t *v = arg;

	v[0] += b->attempts, v[1] += b->bounces, v[2] += b->complaints;
	return 0;
}

/* An event's `count` charges its message's sending account, once, in the
 * transaction that wrote it (a repeated outcome writes and counts nothing). */
static void
test_bounce_counts_for_the_sending_account(void **state)
{
	struct fx *f = *state;
	struct claims c;
	struct err e;
	int64_t v[3] = {0};

	insert(f, "m4", 1);
	assert_int_equal(claim(f, "A", T0, T0 + 300, 10, &c), 1);
	struct store_event b = {.message_id = "m4", .recipient = "a0@x.test",
				.type = STORE_EV_BOUNCE, .ts_ms = (int64_t)T0 * 1000,
				.count = "bounce"};
	struct store_rcpt_outcome o = {.message_id = "m4", .idx = 0,
				       .status = STORE_RCPT_BOUNCED, .event = &b};
	assert_int_equal(f->s->ops->rcpt_finish(f->s, "A", "mx", &o, 1, 9, &e), 1);
	assert_int_equal(f->s->ops->rcpt_finish(f->s, "A", "mx", &o, 1, 9, &e), 0);
	assert_int_equal(f->s->ops->event_buckets(f->s, ACCT, T0 - 900, sum_bucket, v, &e), 0);
	assert_int_equal(v[0], 1); /* the accept */
	assert_int_equal(v[1], 1); /* one bounce, not two */
	assert_int_equal(v[2], 0);
	memset(v, 0, sizeof(v));
	assert_int_equal(f->s->ops->event_buckets(f->s, "999988887777", T0 - 900, sum_bucket, v,
						  &e), 0);
	assert_int_equal(v[1], 0);
}

/* The reputation pause is apart from the account's own switch; the first
 * reason stays; only a resume lifts it and restarts the window. */
static void
test_account_pause(void **state)
{
	struct fx *f = *state;
	struct account a;
	struct err e;

	assert_int_equal(f->s->ops->account_set_pause(f->s, ACCT, "bounce rate", T0, &e), 1);
	assert_int_equal(f->s->ops->account_set_pause(f->s, ACCT, "later", T0, &e), 0);
	assert_int_equal(f->s->ops->account_set_sending(f->s, ACCT, true, &e), 1);
	assert_int_equal(f->s->ops->account_get(f->s, ACCT, &a, &e), 1);
	assert_string_equal(a.paused_reason, "bounce rate");
	assert_true(a.sending_enabled);
	assert_int_equal(f->s->ops->account_set_pause(f->s, ACCT, NULL, T0 + 5, &e), 1);
	assert_int_equal(f->s->ops->account_get(f->s, ACCT, &a, &e), 1);
	assert_string_equal(a.paused_reason, "");
	assert_int_equal(a.resumed_at, T0 + 5);
	assert_int_equal(f->s->ops->account_set_pause(f->s, "000000000000", NULL, T0, &e), 0);
}

static void
test_leases(void **state)
{
	struct fx *f = *state;
	struct claims c;
	struct err e;

	insert(f, "m3", 3);
	assert_int_equal(claim(f, "A", T0, T0 + 300, 2, &c), 2); /* the limit holds */
	assert_int_equal(claim(f, "A", T0, T0 + 300, 2, &c), 1);
	/* A's lease ended: A itself never takes its own (they may be in flight) */
	assert_int_equal(claim(f, "A", T0 + 300, T0 + 600, 10, &c), 0);
	/* B takes them over once the lease ended, not before */
	assert_int_equal(claim(f, "B", T0 + 299, T0 + 600, 10, &c), 0);
	assert_int_equal(claim(f, "B", T0 + 300, T0 + 600, 10, &c), 3);
	assert_int_equal(c.attempts[0], 2);
	/* A's late result no longer counts */
	struct store_rcpt_outcome o = {.message_id = "m3", .idx = 0,
				       .status = STORE_RCPT_DELIVERED};
	assert_int_equal(f->s->ops->rcpt_finish(f->s, "A", "mx", &o, 1, 1, &e), 0);
	/* B restarts: its leases are given back and due at once */
	assert_int_equal(f->s->ops->rcpt_release(f->s, "B", &e), 3);
	assert_int_equal(f->s->ops->rcpt_release(f->s, "B", &e), 0);
	assert_int_equal(claim(f, "B", T0 + 301, T0 + 900, 10, &c), 3);
}

/* A live node renews its leases; a lease that ended is not renewed. */
static void
test_lease_renewal(void **state)
{
	struct fx *f = *state;
	struct claims c;
	struct err e;

	insert(f, "m4", 2);
	assert_int_equal(claim(f, "A", T0, T0 + 300, 1, &c), 1);
	/* renewed at T0+200 to T0+500: B cannot take it at T0+300 */
	assert_int_equal(f->s->ops->rcpt_renew(f->s, "A", T0 + 200, T0 + 500, &e), 1);
	assert_int_equal(f->s->ops->rcpt_renew(f->s, "B", T0 + 200, T0 + 500, &e), 0);
	assert_int_equal(claim(f, "B", T0 + 300, T0 + 600, 10, &c), 1); /* the other one */
	assert_int_equal(claim(f, "B", T0 + 499, T0 + 900, 10, &c), 0);
	/* A stopped renewing (died): its lease ends at T0+500 and is not renewed after */
	assert_int_equal(f->s->ops->rcpt_renew(f->s, "A", T0 + 500, T0 + 800, &e), 0);
	assert_int_equal(claim(f, "B", T0 + 500, T0 + 900, 10, &c), 1);
	assert_string_equal(c.id[0], "m4");
}

static void
test_delivered_message_has_no_rows(void **state)
{
	struct fx *f = *state;
	struct store_message m = {0};
	struct claims c;
	struct err e;
	char *dest[1] = {"x@y.test"};

	/* a message stored delivered (capture) is never claimed */
	snprintf(m.id, sizeof(m.id), "m4");
	snprintf(m.region, sizeof(m.region), "us-east-1");
	snprintf(m.sending_account, sizeof(m.sending_account), ACCT);
	snprintf(m.status, sizeof(m.status), STORE_MSG_DELIVERED);
	snprintf(m.transport, sizeof(m.transport), "capture");
	m.source = "s@example.com";
	m.destinations = dest;
	m.ndestinations = 1;
	m.raw = (uint8_t *)"x";
	m.raw_len = 1;
	m.created_ms = (int64_t)T0 * 1000;
	assert_int_equal(f->s->ops->message_insert(f->s, &m, 1, NULL, 0, &e), 0);
	assert_int_equal(claim(f, "A", T0 + 1, T0 + 300, 10, &c), 0);
}

/* Feedback after delivery (feedback_add): written once per message, recipient
 * and type, never for an unknown message; its count and suppression go to
 * the sending account in the same transaction. */
static void
test_feedback_once(void **state)
{
	struct fx *f = *state;
	struct store_event b = {.message_id = "m5", .recipient = "a0@x.test",
				.type = STORE_EV_BOUNCE, .ts_ms = (int64_t)T0 * 1000,
				.detail = "{\"feedbackId\": \"fb-1\"}", .count = "bounce",
				.suppress = STORE_SUPPRESS_BOUNCE};
	struct store_event unknown = b;
	struct suppressed p;
	struct err e;
	int64_t n;
	int nev = 0;

	insert(f, "m5", 2);
	assert_int_equal(f->s->ops->feedback_add(f->s, &b, 1, NULL, &e), 1);
	assert_int_equal(f->s->ops->feedback_add(f->s, &b, 1, NULL, &e), 0); /* mailed twice */
	unknown.message_id = "no-such-message";
	assert_int_equal(f->s->ops->feedback_add(f->s, &unknown, 1, NULL, &e), 0);
	assert_int_equal(f->s->ops->event_sum(f->s, ACCT, "bounce", 0, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(f->s->ops->event_list(f->s, "m5", count_ev, &nev, &e), 0);
	assert_int_equal(nev, 3); /* two Send, one Bounce */
	nev = 0;
	assert_int_equal(f->s->ops->suppression_get(f->s, ACCT, "A0@X.test", &p, &e), 1);
	assert_string_equal(p.reason, STORE_SUPPRESS_BOUNCE);
	assert_string_equal(p.message_id, "m5");
	assert_string_equal(p.feedback_id, "fb-1");
	assert_int_equal(p.ts, T0);
	assert_int_equal(f->s->ops->suppression_get(f->s, ACCT, "a1@x.test", &p, &e), 0);
	/* a Permanent bounce after a Transient one is news; a repeat is not */
	struct store_event t = {.message_id = "m5", .recipient = "a1@x.test",
				.type = STORE_EV_BOUNCE, .ts_ms = (int64_t)T0 * 1000,
				.detail = "{\"bounceType\": \"Transient\"}"};
	assert_int_equal(f->s->ops->feedback_add(f->s, &t, 1, NULL, &e), 1);
	t.detail = "{\"bounceType\": \"Permanent\"}";
	assert_int_equal(f->s->ops->feedback_add(f->s, &t, 1, NULL, &e), 1);
	assert_int_equal(f->s->ops->feedback_add(f->s, &t, 1, NULL, &e), 0);
	/* a complaint on the same recipient is another type: written, and the reason moves */
	b.type = STORE_EV_COMPLAINT, b.count = "complaint", b.suppress = STORE_SUPPRESS_COMPLAINT;
	assert_int_equal(f->s->ops->feedback_add(f->s, &b, 1, NULL, &e), 1);
	assert_int_equal(f->s->ops->suppression_get(f->s, ACCT, "a0@x.test", &p, &e), 1);
	assert_string_equal(p.reason, STORE_SUPPRESS_COMPLAINT);
}

static int
list_suppressed(void *arg, const struct suppressed *p)
{
	snprintf((char *)arg + strlen(arg), 200 - strlen(arg), "%s,", p->address);
	return 0;
}

static void
test_suppression_ops(void **state)
{
	struct fx *f = *state;
	struct suppressed p = {.account_id = ACCT, .reason = STORE_SUPPRESS_BOUNCE, .ts = T0};
	char seen[200] = "";
	struct err e;

	snprintf(p.address, sizeof(p.address), "B@x.test");
	assert_int_equal(f->s->ops->suppression_put(f->s, &p, &e), 0);
	snprintf(p.address, sizeof(p.address), "a@x.test");
	assert_int_equal(f->s->ops->suppression_put(f->s, &p, &e), 0);
	assert_int_equal(f->s->ops->suppression_put(f->s, &p, &e), 0); /* upsert */
	assert_int_equal(f->s->ops->suppression_list(f->s, ACCT, NULL, 0, list_suppressed, seen, &e),
			 0);
	assert_string_equal(seen, "a@x.test,b@x.test,");
	seen[0] = '\0';
	assert_int_equal(
		f->s->ops->suppression_list(f->s, ACCT, "a@x.test", 1, list_suppressed, seen, &e), 0);
	assert_string_equal(seen, "b@x.test,");
	assert_int_equal(f->s->ops->suppression_delete(f->s, ACCT, "b@X.TEST", &e), 1);
	assert_int_equal(f->s->ops->suppression_delete(f->s, ACCT, "b@x.test", &e), 0);
	snprintf(p.account_id, sizeof(p.account_id), "999999999999");
	assert_int_equal(f->s->ops->suppression_put(f->s, &p, &e), -1);
	assert_string_equal(e.code, STORE_ERR_NO_PARENT);
}

/* recipients finished at accept (simulator, suppression list) are never
 * claimed; a message with none left to do is finished at once */
static void
test_finished_at_accept(void **state)
{
	struct fx *f = *state;
	struct store_message m = {0};
	struct store_message got = {0};
	struct claims c;
	struct err e;
	char *dest[2] = {"bounce@simulator.amazonses.com", "real@x.test"};
	const char *mixed[2] = {STORE_RCPT_BOUNCED, NULL};
	const char *none[2] = {STORE_RCPT_BOUNCED, STORE_RCPT_DELIVERED};

	snprintf(m.region, sizeof(m.region), "us-east-1");
	snprintf(m.sending_account, sizeof(m.sending_account), ACCT);
	snprintf(m.transport, sizeof(m.transport), "mx");
	m.source = "s@example.com";
	m.mail_from = "m6@bounce.test";
	m.destinations = dest;
	m.ndestinations = 2;
	m.raw = (uint8_t *)"x";
	m.raw_len = 1;
	m.created_ms = (int64_t)T0 * 1000;
	snprintf(m.id, sizeof(m.id), "m6");
	m.rcpt_state = mixed;
	assert_int_equal(f->s->ops->message_insert(f->s, &m, 1, NULL, 0, &e), 0);
	assert_int_equal(claim(f, "A", T0 + 1, T0 + 300, 10, &c), 1);
	assert_int_equal(c.idx[0], 1);
	snprintf(m.id, sizeof(m.id), "m7");
	m.rcpt_state = none;
	assert_int_equal(f->s->ops->message_insert(f->s, &m, 1, NULL, 0, &e), 0);
	assert_int_equal(claim(f, "A", T0 + 1, T0 + 300, 10, &c), 0);
	assert_int_equal(f->s->ops->message_get(f->s, "m7", &got, &e), 1);
	assert_string_equal(got.status, STORE_MSG_DELIVERED);
	store_message_clear(&got);
}

/* the feedback listener takes reports for verified MAIL FROM domains only */
static void
test_mail_from_known(void **state)
{
	struct fx *f = *state;
	struct identity id = {0};
	struct err e;

	snprintf(id.region, sizeof(id.region), "us-east-1");
	snprintf(id.account_id, sizeof(id.account_id), ACCT);
	id.name = "example.com";
	id.type = IDENTITY_DOMAIN;
	snprintf(id.status, sizeof(id.status), STATUS_SUCCESS);
	snprintf(id.dkim_status, sizeof(id.dkim_status), STATUS_NOT_STARTED);
	snprintf(id.mail_from_behavior, sizeof(id.mail_from_behavior), "UseDefaultValue");
	id.mail_from_domain = "bounce.example.com";
	snprintf(id.mail_from_status, sizeof(id.mail_from_status), STATUS_PENDING);
	assert_int_equal(f->s->ops->identity_put(f->s, &id, &e), 0);
	assert_int_equal(f->s->ops->mail_from_known(f->s, "bounce.example.com", &e), 0);
	snprintf(id.mail_from_status, sizeof(id.mail_from_status), STATUS_SUCCESS);
	assert_int_equal(f->s->ops->identity_put(f->s, &id, &e), 0);
	assert_int_equal(f->s->ops->mail_from_known(f->s, "Bounce.Example.com", &e), 1);
	assert_int_equal(f->s->ops->mail_from_known(f->s, "example.com", &e), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_claim_and_finish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_bounced_is_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_renewal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounce_counts_for_the_sending_account, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_account_pause, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivered_message_has_no_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feedback_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suppression_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finished_at_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mail_from_known, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_notify.c — routing (notify_route) on a real SQLite store: the
 * owner's topics get all mail from the identity, a delegate's only its own,
 * one notice per topic; the address identity before its domain; the
 * notification JSON (SES's mail object, headers when asked); forwarding
 * when the owner's switch is on or nothing routes. */
#include <ftw.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "notify/notify.h"
#include "store/store.h"
#include "util/xalloc.h"

#define OWNER "111111111111"
#define DELEG "222222222222"
#define OTHER "333333333333"
#define REG "us-east-1"
#define T_OWNER "arn:aws:sns:us-east-1:111111111111:owner-bounces"
#define T_DELEG "arn:aws:sns:us-east-1:222222222222:delegate-bounces"

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

static void
mk_account(struct store *s, const char *id)
{
	struct account a = {.max_24h = 100, .max_rate = 1, .sending_enabled = true};
	struct err e;

	snprintf(a.id, sizeof(a.id), "%s", id);
	snprintf(a.name, sizeof(a.name), "a%s", id);
	assert_int_equal(s->ops->account_create(s, &a, &e), 0);
}

static void
mk_identity(struct store *s, const char *name, enum identity_type type, bool forwarding)
{
	struct identity id = {0};
	struct err e;

	snprintf(id.region, sizeof(id.region), REG);
	snprintf(id.account_id, sizeof(id.account_id), OWNER);
	id.name = (char *)name;
	id.type = type;
	snprintf(id.status, sizeof(id.status), STATUS_SUCCESS);
	snprintf(id.dkim_status, sizeof(id.dkim_status), STATUS_NOT_STARTED);
	snprintf(id.mail_from_status, sizeof(id.mail_from_status), STATUS_NOT_STARTED);
	snprintf(id.mail_from_behavior, sizeof(id.mail_from_behavior), "UseDefaultValue");
	id.forwarding_enabled = forwarding;
	assert_int_equal(s->ops->identity_put(s, &id, &e), 0);
}

static void
set_topic(struct store *s, const char *identity, const char *setter, int type, const char *topic,
	  bool headers)
{
	struct notify_setting n = {0};
	struct err e;

	snprintf(n.region, sizeof(n.region), REG);
	snprintf(n.owner, sizeof(n.owner), OWNER);
	n.identity = (char *)identity;
	snprintf(n.account_id, sizeof(n.account_id), "%s", setter);
	n.topic[type] = (char *)topic;
	n.headers[type] = headers;
	assert_int_equal(s->ops->notify_put(s, &n, &e), 0);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct err e;

	f->dir = xstrdup("/tmp/sesame-notify-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->s = store_open(NULL, f->dir, &e);
	assert_non_null(f->s);
	mk_account(f->s, OWNER);
	mk_account(f->s, DELEG);
	mk_account(f->s, OTHER);
	mk_identity(f->s, "example.test", IDENTITY_DOMAIN, true);
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

/* A message sent by `sender` as billing@example.test. */
static void
message(struct store_message *m, const char *sender, char **dest)
{
	static char raw[] = "From: Billing <billing@example.test>\r\nTo: a@dest.test\r\n"
			    "Subject: Your invoice\r\nMessage-ID: <m1@email.amazonses.com>\r\n\r\nbody\r\n";

	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "m1");
	snprintf(m->region, sizeof(m->region), REG);
	snprintf(m->sending_account, sizeof(m->sending_account), "%s", sender);
	snprintf(m->identity_owner, sizeof(m->identity_owner), OWNER);
	snprintf(m->source_ip, sizeof(m->source_ip), "127.0.0.9");
	m->source = "billing@example.test";
	m->from_addr = "billing@example.test";
	m->principal = strcmp(sender, DELEG) == 0 ? "arn:aws:iam::222222222222:user/svc"
						   : "arn:aws:iam::111111111111:root";
	m->destinations = dest;
	m->ndestinations = 1;
	m->raw = (uint8_t *)raw;
	m->raw_len = sizeof(raw) - 1;
	m->created_ms = 1700000000123;
}

static const char *
topic_of(const struct notify_out *o, size_t i)
{
	return i < o->n ? o->v[i].topic_arn : "";
}

static void
test_owner_all_delegate_own(void **state)
{
	struct fx *f = *state;
	char *dest[] = {"a@dest.test"};
	struct store_message m;
	struct notify_out o;
	struct err e;

	set_topic(f->s, "example.test", OWNER, NOTIFY_BOUNCE, T_OWNER, false);
	set_topic(f->s, "example.test", DELEG, NOTIFY_BOUNCE, T_DELEG, false);
	/* a third account's settings never route someone else's mail */
	set_topic(f->s, "example.test", OTHER, NOTIFY_BOUNCE,
		  "arn:aws:sns:us-east-1:333333333333:x", false);

	message(&m, DELEG, dest);
	assert_int_equal(notify_route(f->s, NULL, &m, "Bounce", dest[0], "{}", 0, &o, &e), 0);
	assert_int_equal(o.n, 2);
	assert_string_equal(topic_of(&o, 0), T_OWNER);
	assert_string_equal(topic_of(&o, 1), T_DELEG);
	assert_true(o.forward); /* the owner's ForwardingEnabled is on (the default) */
	notify_out_clear(&o);

	message(&m, OWNER, dest);
	assert_int_equal(notify_route(f->s, NULL, &m, "Bounce", dest[0], "{}", 0, &o, &e), 0);
	assert_int_equal(o.n, 1);
	assert_string_equal(topic_of(&o, 0), T_OWNER);
	notify_out_clear(&o);

	/* no delivery topic: nothing, and deliveries are never forwarded */
	assert_int_equal(notify_route(f->s, NULL, &m, "Delivery", dest[0], "{}", 0, &o, &e), 0);
	assert_int_equal(o.n, 0);
	assert_false(o.forward);
	notify_out_clear(&o);
}

static void
test_forwarding(void **state)
{
	struct fx *f = *state;
	char *dest[] = {"a@dest.test"};
	struct store_message m;
	struct notify_out o;
	struct err e;

	message(&m, DELEG, dest);
	/* nothing routes: forwarded */
	assert_int_equal(notify_route(f->s, NULL, &m, "Complaint", dest[0], "{}", 0, &o, &e), 0);
	assert_int_equal(o.n, 0);
	assert_true(o.forward);
	notify_out_clear(&o);
	/* the owner's topic routes it and the owner turned forwarding off */
	set_topic(f->s, "example.test", OWNER, NOTIFY_COMPLAINT, T_OWNER, false);
	assert_int_equal(f->s->ops->identity_set_forwarding(f->s, REG, OWNER, "example.test", false,
							    &e),
			 1);
	assert_int_equal(notify_route(f->s, NULL, &m, "Complaint", dest[0], "{}", 0, &o, &e), 0);
	assert_int_equal(o.n, 1);
	assert_false(o.forward);
	notify_out_clear(&o);
	/* sesame's own mail notifies nobody */
	m.sending_account[0] = '\0';
	assert_int_equal(notify_route(f->s, NULL, &m, "Complaint", dest[0], "{}", 0, &o, &e), 0);
	assert_int_equal(o.n, 0);
	assert_false(o.forward);
}

/* the address identity's settings come before its domain's */
static void
test_address_before_domain(void **state)
{
	struct fx *f = *state;
	char *dest[] = {"a@dest.test"};
	struct store_message m;
	struct notify_out o;
	struct notify_cache *c = notify_cache_new();
	struct err e;

	mk_identity(f->s, "billing@example.test", IDENTITY_EMAIL, true);
	set_topic(f->s, "example.test", OWNER, NOTIFY_DELIVERY, T_OWNER, false);
	set_topic(f->s, "billing@example.test", OWNER, NOTIFY_DELIVERY,
		  "arn:aws:sns:us-east-1:111111111111:address", false);
	message(&m, OWNER, dest);
	for (int round = 0; round < 2; round++) { /* the second from the cache */
		assert_int_equal(notify_route(f->s, c, &m, "Delivery", dest[0], "{}", 0, &o, &e), 0);
		assert_int_equal(o.n, 1);
		assert_string_equal(topic_of(&o, 0), "arn:aws:sns:us-east-1:111111111111:address");
		notify_out_clear(&o);
	}
	notify_cache_free(c);
}

static void
test_json(void **state)
{
	struct fx *f = *state;
	char *dest[] = {"a@dest.test"};
	struct store_message m;
	struct notify_out o;
	struct err e;
	json_t *j, *mail;

	set_topic(f->s, "example.test", DELEG, NOTIFY_BOUNCE, T_DELEG, true);
	message(&m, DELEG, dest);
	m.from_arn = "arn:aws:ses:us-east-1:111111111111:identity/example.test";
	assert_int_equal(notify_route(f->s, NULL, &m, "Bounce", dest[0],
				      "{\"bounceType\": \"Permanent\"}", 0, &o, &e),
			 0);
	assert_int_equal(o.n, 1);
	j = json_loads(o.v[0].message, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "notificationType")), "Bounce");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "bounce"), "bounceType")),
		"Permanent");
	mail = json_object_get(j, "mail");
	assert_string_equal(json_string_value(json_object_get(mail, "sendingAccountId")), DELEG);
	assert_string_equal(json_string_value(json_object_get(mail, "sourceArn")),
			    "arn:aws:ses:us-east-1:111111111111:identity/example.test");
	assert_string_equal(json_string_value(json_object_get(mail, "callerIdentity")), "svc");
	assert_string_equal(json_string_value(json_object_get(mail, "sourceIp")), "127.0.0.9");
	assert_string_equal(json_string_value(json_object_get(mail, "timestamp")),
			    "2023-11-14T22:13:20.123Z");
	assert_false(json_is_true(json_object_get(mail, "headersTruncated")));
	assert_int_equal(json_array_size(json_object_get(mail, "headers")), 4);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(mail, "commonHeaders"), "subject")),
			    "Your invoice");
	json_decref(j);
	notify_out_clear(&o);
}

/* A configuration set of `account` with one SNS destination. */
static void
mk_set(struct store *s, const char *account, const char *name, const char *topic,
       unsigned types, bool enabled)
{
	struct config_set c = {.sending_enabled = true};
	struct cset_dest d = {.enabled = enabled, .types = types};
	struct err e;

	snprintf(c.region, sizeof(c.region), REG);
	snprintf(c.account_id, sizeof(c.account_id), "%s", account);
	snprintf(c.name, sizeof(c.name), "%s", name);
	assert_int_equal(s->ops->cset_create(s, &c, &e), 0);
	d.region[0] = '\0';
	snprintf(d.region, sizeof(d.region), REG);
	snprintf(d.account_id, sizeof(d.account_id), "%s", account);
	snprintf(d.set, sizeof(d.set), "%s", name);
	snprintf(d.name, sizeof(d.name), "%s-dest", name);
	snprintf(d.topic_arn, sizeof(d.topic_arn), "%s", topic);
	assert_int_equal(s->ops->cset_dest_put(s, &d, true, &e), 1);
}

static void
test_configuration_set(void **state)
{
	struct fx *f = *state;
	char *dest[] = {"a@dest.test", "b@dest.test"};
	struct store_message m;
	struct notify_out o;
	struct err e;
	json_t *j;

	mk_set(f->s, DELEG, "d-set", T_DELEG,
	       CSET_EV_SEND | CSET_EV_DELIVERY | CSET_EV_RENDERING_FAILURE, true);
	mk_set(f->s, DELEG, "off", T_DELEG, CSET_EV_SEND, false);
	set_topic(f->s, "example.test", OWNER, NOTIFY_DELIVERY, T_OWNER, false);
	message(&m, DELEG, dest);
	m.ndestinations = 2;
	m.config_set = "d-set";
	m.tags = "{\"campaign\":[\"x\"],\"ses:configuration-set\":[\"d-set\"]}";

	/* Send: once per message (the first recipient's), event JSON */
	assert_int_equal(notify_route(f->s, NULL, &m, "Send", dest[0], NULL, 0, &o, &e), 0);
	assert_int_equal(o.n, 1);
	assert_string_equal(topic_of(&o, 0), T_DELEG);
	j = json_loads(o.v[0].message, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "eventType")), "Send");
	assert_null(json_object_get(j, "notificationType"));
	assert_true(json_is_object(json_object_get(j, "send")));
	json_t *mail = json_object_get(j, "mail");
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_object_get(mail, "tags"), "campaign"), 0)),
			    "x");
	assert_string_equal(json_string_value(json_object_get(mail, "sendingAccountId")), DELEG);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(mail, "commonHeaders"), "subject")),
			    "Your invoice");
	json_decref(j);
	assert_false(o.forward);
	notify_out_clear(&o);
	assert_int_equal(notify_route(f->s, NULL, &m, "Send", dest[1], NULL, 0, &o, &e), 0);
	assert_int_equal(o.n, 0);
	notify_out_clear(&o);

	/* Delivery: the owner's identity topic (notification JSON) and the set */
	assert_int_equal(notify_route(f->s, NULL, &m, "Delivery", dest[1], "{\"recipients\":[]}", 0,
				      &o, &e), 0);
	assert_int_equal(o.n, 2);
	assert_string_equal(topic_of(&o, 0), T_OWNER);
	assert_non_null(strstr(o.v[0].message, "\"notificationType\":\"Delivery\""));
	assert_string_equal(topic_of(&o, 1), T_DELEG);
	assert_non_null(strstr(o.v[1].message, "\"eventType\":\"Delivery\""));
	notify_out_clear(&o);

	/* a type the destination does not match: nothing from the set; a
	 * bounce routed nowhere is forwarded */
	assert_int_equal(notify_route(f->s, NULL, &m, "Bounce", dest[0], "{}", 0, &o, &e), 0);
	assert_int_equal(o.n, 0);
	assert_true(o.forward);
	notify_out_clear(&o);

	/* RenderingFailure: the "failure" object */
	assert_int_equal(notify_route(f->s, NULL, &m, "RenderingFailure", NULL,
				      "{\"templateName\":\"t\",\"errorMessage\":\"bad\"}", 0, &o, &e),
			 0);
	assert_int_equal(o.n, 1);
	assert_non_null(strstr(o.v[0].message, "\"failure\":{\"templateName\":\"t\""));
	notify_out_clear(&o);

	/* a disabled destination publishes nothing */
	m.config_set = "off";
	assert_int_equal(notify_route(f->s, NULL, &m, "Send", dest[0], NULL, 0, &o, &e), 0);
	assert_int_equal(o.n, 0);
	notify_out_clear(&o);
	/* the set is looked up among the SENDING account's: the owner's own
	 * mail naming the delegate's set name finds none */
	message(&m, OWNER, dest);
	m.config_set = "d-set";
	assert_int_equal(notify_route(f->s, NULL, &m, "Send", dest[0], NULL, 0, &o, &e), 0);
	assert_int_equal(o.n, 0);
	notify_out_clear(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_configuration_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_all_delegate_own, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forwarding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_before_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

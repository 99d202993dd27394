/* test_verify.c — src/verify/verify.c: the DNS re-check schedule (pure
 * arithmetic), applying a round of DNS results, the address link's life,
 * windows and expiry as readers see them, SPF matching, and link building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "store/store.h"
#include "util/xalloc.h"
#include "verify/verify.h"

/* TESTABLE internals of verify.c */
int64_t verify_next_check(int64_t deadline, int64_t window, int64_t now);
bool verify_spf_matches(const char *s, size_t n);

#define T0 1700000000LL
#define W VERIFY_DNS_WINDOW

static void
test_schedule_table(void **state)
{
	(void)state;
	/* window opened at T0, closes at T0 + 72 h */
	const int64_t dl = T0 + W;
	struct {
		int64_t elapsed, step;
	} cases[] = {
		{0, 10},          {1, 10},           {300, 10},         {599, 10},
		{600, 20},        {1199, 20},        {1200, 40},        {2399, 40},
		{2400, 80},       {4800, 160},       {9600, 320},       {19200, 640},
		{38400, 1280},    {76800, 2560},     {153599, 2560},    {153600, 3600},
		{200000, 3600},   {W - 7200, 3600},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t now = T0 + cases[i].elapsed;
		int64_t next = verify_next_check(dl, W, now);
		if (next - now != cases[i].step)
			fail_msg("elapsed %lld: step %lld, expected %lld",
				 (long long)cases[i].elapsed, (long long)(next - now),
				 (long long)cases[i].step);
	}
}

static void
test_schedule_edges(void **state)
{
	(void)state;
	const int64_t dl = T0 + W;

	/* never past the deadline; give up at and after it */
	assert_int_equal(verify_next_check(dl, W, dl - 5), dl);
	assert_int_equal(verify_next_check(dl, W, dl - 1), dl);
	assert_int_equal(verify_next_check(dl, W, dl), 0);
	assert_int_equal(verify_next_check(dl, W, dl + 100), 0);
	/* a clock before the window start still checks fast */
	assert_int_equal(verify_next_check(dl, W, T0 - 50), T0 - 40);
	/* the short window of an address link (24 h) */
	assert_int_equal(verify_next_check(T0 + VERIFY_EMAIL_TTL, VERIFY_EMAIL_TTL, T0 + 5), T0 + 15);
	assert_int_equal(verify_next_check(T0 + VERIFY_EMAIL_TTL, VERIFY_EMAIL_TTL,
					   T0 + VERIFY_EMAIL_TTL),
			 0);
}

static void
test_schedule_whole_window(void **state)
{
	(void)state;
	/* follow the schedule from the start: monotonic, 60 checks in the first
	 * 10 minutes, a few hundred in all, ending exactly at the deadline */
	const int64_t dl = T0 + W;
	int64_t now = T0, prev_step = 0;
	int checks = 0, fast = 0;

	for (;;) {
		int64_t next = verify_next_check(dl, W, now);
		if (next == 0)
			break;
		assert_true(next > now);
		if (next != dl)
			assert_true(next - now >= prev_step);
		prev_step = next - now;
		if (now < T0 + VERIFY_FAST_PERIOD)
			fast++;
		now = next;
		checks++;
		assert_true(checks < 1000);
	}
	assert_int_equal(now, dl);
	assert_int_equal(fast, VERIFY_FAST_PERIOD / VERIFY_FAST_STEP);
	assert_true(checks > 200 && checks < 400);
}

/* ---- identities ------------------------------------------------------------ */

static void
mk(struct identity *id, enum identity_type type, const char *name)
{
	memset(id, 0, sizeof(*id));
	snprintf(id->region, sizeof(id->region), "us-east-1");
	snprintf(id->account_id, sizeof(id->account_id), "111122223333");
	id->name = xstrdup(name);
	id->type = type;
	snprintf(id->status, sizeof(id->status), STATUS_PENDING);
	snprintf(id->dkim_status, sizeof(id->dkim_status), STATUS_NOT_STARTED);
	snprintf(id->mail_from_behavior, sizeof(id->mail_from_behavior), "UseDefaultValue");
}

static void
mk_domain(struct identity *id, int64_t now)
{
	mk(id, IDENTITY_DOMAIN, "example.com");
	id->token = verify_new_domain_token();
	verify_arm(id, now);
}

static void
set_dkim(struct identity *id, const char *status)
{
	static const char *tok[3] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
				     "cccccccccccccccccccccccccccccccc"};
	for (int i = 0; i < 3; i++)
		id->dkim_tokens[i] = xstrdup(tok[i]);
	snprintf(id->dkim_status, sizeof(id->dkim_status), "%s", status);
}

static void
result_for(struct verify_result *r, const struct identity *id)
{
	memset(r, 0, sizeof(*r));
	r->domain_token = id->token;
	for (int i = 0; i < 3; i++)
		r->dkim_tokens[i] = id->dkim_tokens[i];
	r->mail_from = id->mail_from_domain;
}

static void
test_tokens(void **state)
{
	(void)state;
	char *a = verify_new_link_token(), *b = verify_new_link_token();
	char *d = verify_new_domain_token();

	assert_int_equal(strlen(a), 43); /* 256 bits, base64url unpadded */
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
			 43);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(d), 44);
	assert_int_equal(d[43], '=');
	free(a);
	free(b);
	free(d);
}

static void
test_domain_found(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;
	int64_t now = T0;

	mk_domain(&id, now);
	assert_true(verify_dns_pending(&id));
	assert_int_equal(id.next_check, now);
	assert_int_equal(id.token_expires, now + W);

	/* not found yet: checked again in 10 s */
	result_for(&r, &id);
	assert_true(verify_apply(&id, &r, now + 1));
	assert_string_equal(id.status, STATUS_PENDING);
	assert_int_equal(id.next_check, now + 11);
	assert_int_equal(id.check_attempts, 1);

	/* found: Success, nothing more to check */
	r.domain_found = true;
	assert_true(verify_apply(&id, &r, now + 12));
	assert_string_equal(id.status, STATUS_SUCCESS);
	assert_int_equal(id.next_check, 0);
	assert_false(verify_dns_pending(&id));
	identity_clear(&id);
}

static void
test_stale_result_ignored(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;

	mk_domain(&id, T0);
	result_for(&r, &id);
	r.domain_token = "some-older-token";
	r.domain_found = true;
	verify_apply(&id, &r, T0 + 1);
	assert_string_equal(id.status, STATUS_PENDING);

	/* DKIM found for other selectors than the identity holds now */
	set_dkim(&id, STATUS_PENDING);
	result_for(&r, &id);
	r.dkim_tokens[1] = "dddddddddddddddddddddddddddddddd";
	r.dkim_found[0] = r.dkim_found[1] = r.dkim_found[2] = true;
	verify_apply(&id, &r, T0 + 2);
	assert_string_equal(id.dkim_status, STATUS_PENDING);
	identity_clear(&id);
}

static void
test_dkim_all_three(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;

	mk_domain(&id, T0);
	set_dkim(&id, STATUS_PENDING);
	result_for(&r, &id);
	r.dkim_found[0] = r.dkim_found[2] = true; /* two of three */
	verify_apply(&id, &r, T0 + 1);
	assert_string_equal(id.dkim_status, STATUS_PENDING);
	assert_string_equal(id.status, STATUS_PENDING);

	r.dkim_found[1] = true;
	verify_apply(&id, &r, T0 + 2);
	assert_string_equal(id.dkim_status, STATUS_SUCCESS);
	/* DKIM verified verifies the domain too (SES) */
	assert_string_equal(id.status, STATUS_SUCCESS);
	assert_int_equal(id.next_check, 0);
	identity_clear(&id);
}

static void
test_window_ends_failed(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;

	mk_domain(&id, T0);
	set_dkim(&id, STATUS_PENDING);
	id.mail_from_domain = xstrdup("mail.example.com");
	snprintf(id.mail_from_status, sizeof(id.mail_from_status), STATUS_PENDING);
	result_for(&r, &id);

	/* readers see Failed as soon as the window is over */
	assert_string_equal(verify_status_at(&id, id.status, T0 + W - 1), STATUS_PENDING);
	assert_string_equal(verify_status_at(&id, id.status, T0 + W), STATUS_FAILED);

	verify_apply(&id, &r, T0 + W);
	assert_string_equal(id.status, STATUS_FAILED);
	assert_string_equal(id.dkim_status, STATUS_FAILED);
	assert_string_equal(id.mail_from_status, STATUS_FAILED);
	assert_int_equal(id.next_check, 0);
	identity_clear(&id);
}

static void
test_verified_domain_dkim_window(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;

	/* a verified domain starting DKIM later: only DKIM can fail */
	mk(&id, IDENTITY_DOMAIN, "example.com");
	id.token = verify_new_domain_token();
	snprintf(id.status, sizeof(id.status), STATUS_SUCCESS);
	set_dkim(&id, STATUS_PENDING);
	verify_arm(&id, T0 + 1000);
	assert_int_equal(id.token_expires, T0 + 1000 + W);
	result_for(&r, &id);
	verify_apply(&id, &r, T0 + 1000 + W);
	assert_string_equal(id.status, STATUS_SUCCESS);
	assert_string_equal(id.dkim_status, STATUS_FAILED);
	identity_clear(&id);
}

static void
test_mail_from(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;

	mk(&id, IDENTITY_DOMAIN, "example.com");
	snprintf(id.status, sizeof(id.status), STATUS_SUCCESS);
	id.mail_from_domain = xstrdup("bounce.example.com");
	snprintf(id.mail_from_status, sizeof(id.mail_from_status), STATUS_PENDING);
	verify_arm(&id, T0);
	result_for(&r, &id);
	r.mx_found = true; /* MX alone is not enough: SPF too */
	verify_apply(&id, &r, T0 + 1);
	assert_string_equal(id.mail_from_status, STATUS_PENDING);
	r.spf_found = true;
	verify_apply(&id, &r, T0 + 2);
	assert_string_equal(id.mail_from_status, STATUS_SUCCESS);
	assert_int_equal(id.next_check, 0);

	/* the MAIL FROM domain changed while we looked: not applied */
	snprintf(id.mail_from_status, sizeof(id.mail_from_status), STATUS_PENDING);
	r.mail_from = "old.example.com";
	verify_apply(&id, &r, T0 + 3);
	assert_string_equal(id.mail_from_status, STATUS_PENDING);
	identity_clear(&id);
}

static void
test_email_link(void **state)
{
	(void)state;
	struct identity id;
	bool changed;
	char *tok;

	mk(&id, IDENTITY_EMAIL, "a@example.com");
	verify_email_issue(&id, T0);
	assert_string_equal(id.status, STATUS_PENDING);
	assert_int_equal(id.token_expires, T0 + VERIFY_EMAIL_TTL);
	assert_int_equal(id.next_check, T0 + VERIFY_EMAIL_TTL); /* the checker fails it then */
	assert_false(verify_dns_pending(&id));
	/* a Get call does not schedule DNS work for an address */
	assert_false(verify_request_check(&id, T0 + 5));

	/* re-issuing while Pending gives a fresh token */
	tok = xstrdup(id.token);
	verify_email_issue(&id, T0 + 100);
	assert_string_not_equal(tok, id.token);
	assert_int_equal(id.token_expires, T0 + 100 + VERIFY_EMAIL_TTL);
	free(tok);

	assert_int_equal(verify_email_use(&id, T0 + 200, &changed), VERIFY_LINK_OK);
	assert_true(changed);
	assert_string_equal(id.status, STATUS_SUCCESS);
	assert_int_equal(id.next_check, 0);
	/* exactly once */
	assert_int_equal(verify_email_use(&id, T0 + 201, &changed), VERIFY_LINK_USED);
	assert_false(changed);
	assert_string_equal(id.status, STATUS_SUCCESS);
	identity_clear(&id);
}

static void
test_email_link_expired(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;
	bool changed;

	mk(&id, IDENTITY_EMAIL, "a@example.com");
	verify_email_issue(&id, T0);
	assert_string_equal(verify_status_at(&id, id.status, T0 + VERIFY_EMAIL_TTL - 1),
			    STATUS_PENDING);
	assert_string_equal(verify_status_at(&id, id.status, T0 + VERIFY_EMAIL_TTL), STATUS_FAILED);
	assert_int_equal(verify_email_use(&id, T0 + VERIFY_EMAIL_TTL, &changed),
			 VERIFY_LINK_EXPIRED);
	assert_true(changed);
	assert_string_equal(id.status, STATUS_FAILED);
	assert_int_equal(verify_email_use(&id, T0 + VERIFY_EMAIL_TTL + 1, &changed),
			 VERIFY_LINK_EXPIRED);
	assert_false(changed);

	/* the checker at the expiry does the same without a click */
	verify_email_issue(&id, T0);
	memset(&r, 0, sizeof(r));
	assert_true(verify_apply(&id, &r, T0 + VERIFY_EMAIL_TTL));
	assert_string_equal(id.status, STATUS_FAILED);
	assert_int_equal(id.next_check, 0);
	identity_clear(&id);
}

static void
test_email_with_mail_from(void **state)
{
	(void)state;
	struct identity id;
	bool changed;

	mk(&id, IDENTITY_EMAIL, "a@example.com");
	verify_email_issue(&id, T0);
	id.mail_from_domain = xstrdup("bounce.example.com");
	snprintf(id.mail_from_status, sizeof(id.mail_from_status), STATUS_PENDING);
	verify_arm(&id, T0 + 10);
	/* the link keeps its 24 h even though a DNS check started */
	assert_int_equal(id.token_expires, T0 + VERIFY_EMAIL_TTL);
	assert_int_equal(id.next_check, T0 + 10);
	/* using the link opens the 72 h MAIL FROM window */
	assert_int_equal(verify_email_use(&id, T0 + 50, &changed), VERIFY_LINK_OK);
	assert_int_equal(id.token_expires, T0 + 50 + W);
	assert_int_equal(id.next_check, T0 + 50);
	identity_clear(&id);
}

static void
test_link_rejects_domains(void **state)
{
	(void)state;
	struct identity id;
	bool changed;

	mk_domain(&id, T0); /* domain tokens are published in DNS: never a link */
	assert_int_equal(verify_email_use(&id, T0 + 1, &changed), VERIFY_LINK_INVALID);
	assert_false(changed);
	assert_string_equal(id.status, STATUS_PENDING);
	identity_clear(&id);
}

static void
test_request_check(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;

	mk_domain(&id, T0);
	/* already due: nothing to change */
	assert_false(verify_request_check(&id, T0));
	result_for(&r, &id);
	verify_apply(&id, &r, T0 + 1);
	assert_int_equal(id.next_check, T0 + 11);
	/* a Get call brings the next check forward */
	assert_true(verify_request_check(&id, T0 + 3));
	assert_int_equal(id.next_check, T0 + 3);
	/* not for a verified identity, nor after the window */
	snprintf(id.status, sizeof(id.status), STATUS_SUCCESS);
	id.next_check = 0;
	assert_false(verify_request_check(&id, T0 + 4));
	snprintf(id.status, sizeof(id.status), STATUS_PENDING);
	id.next_check = T0 + W - 1;
	assert_false(verify_request_check(&id, T0 + W));
	identity_clear(&id);
}

static void
test_spf(void **state)
{
	(void)state;
	struct {
		const char *s;
		bool ok;
	} cases[] = {
		{"v=spf1 include:amazonses.com ~all", true},
		{"v=spf1 a mx include:amazonses.com -all", true},
		{"V=SPF1 +include:AmazonSES.com ~all", true},
		{"v=spf1  include:amazonses.com", true},
		{"v=spf1 include:amazonses.com.evil ~all", false},
		{"v=spf1 include:notamazonses.com ~all", false},
		{"include:amazonses.com v=spf1", false},
		{"v=spf10 include:amazonses.com", false},
		{"v=spf1 ~all", false},
		{"", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (verify_spf_matches(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
			fail_msg("case '%s'", cases[i].s);
}

static void
test_mail_link(void **state)
{
	(void)state;
	struct conf c;
	char out[256], small[20];

	memset(&c, 0, sizeof(c));
	snprintf(c.http, sizeof(c.http), "127.0.0.1:8787");
	assert_int_equal(verify_mail_link(&c, "TOK", out, sizeof(out)), 0);
	assert_string_equal(out, "http://127.0.0.1:8787/_sesame/verify?token=TOK");
	snprintf(c.public_url, sizeof(c.public_url), "https://mail.example.com/");
	assert_int_equal(verify_mail_link(&c, "TOK", out, sizeof(out)), 0);
	assert_string_equal(out, "https://mail.example.com/_sesame/verify?token=TOK");
	snprintf(c.public_url, sizeof(c.public_url), "https://mail.example.com/ses");
	assert_int_equal(verify_mail_link(&c, "TOK", out, sizeof(out)), 0);
	assert_string_equal(out, "https://mail.example.com/ses/_sesame/verify?token=TOK");
	assert_int_equal(verify_mail_link(&c, "TOK", small, sizeof(small)), -1);
	assert_string_equal(small, "");
}

static void
test_mail_from_mx(void **state)
{
	(void)state;
	char out[128];

	verify_mail_from_mx("eu-west-1", out, sizeof(out));
	assert_string_equal(out, "feedback-smtp.eu-west-1.amazonses.com");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule_table),
		cmocka_unit_test(test_schedule_edges),
		cmocka_unit_test(test_schedule_whole_window),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_domain_found),
		cmocka_unit_test(test_stale_result_ignored),
		cmocka_unit_test(test_dkim_all_three),
		cmocka_unit_test(test_window_ends_failed),
		cmocka_unit_test(test_verified_domain_dkim_window),
		cmocka_unit_test(test_mail_from),
		cmocka_unit_test(test_email_link),
		cmocka_unit_test(test_email_link_expired),
		cmocka_unit_test(test_email_with_mail_from),
		cmocka_unit_test(test_link_rejects_domains),
		cmocka_unit_test(test_request_check),
		cmocka_unit_test(test_spf),
		cmocka_unit_test(test_mail_link),
		cmocka_unit_test(test_mail_from_mx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

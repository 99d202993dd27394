/* test_verify.c — src/verify/verify.c: the DNS re-check schedule (pure
 * arithmetic), applying a round of DNS results, the address link's life and
 * the checker's saves (against a real SQLite store in a temporary dir),
 * windows and expiry as readers see them, SPF matching, and link building. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "store/store.h"
#include "util/hash.h"
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

/* ---- the Ed25519 record (RFC 8463) beside the three RSA ones ------------------ */

static void
set_ed(struct identity *id, const char *status)
{
	snprintf(id->dkim_ed25519_status, sizeof(id->dkim_ed25519_status), "%s", status);
}

/* BYODKIM: one selector, the owner's; its record found verifies DKIM and
 * the domain. A result for other keys than the identity's (a key replaced
 * under the same selector) does not count. */
static void
test_byodkim_one_selector_pinned_to_its_keys(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;
	static const uint8_t keys[] = "sealed one-key set", other[] = "another key set";

	mk_domain(&id, T0);
	id.dkim_external = true;
	id.dkim_tokens[0] = xstrdup("sel2024");
	id.dkim_keys_sealed = xmalloc(sizeof(keys));
	memcpy(id.dkim_keys_sealed, keys, sizeof(keys));
	id.dkim_keys_sealed_len = sizeof(keys);
	snprintf(id.dkim_status, sizeof(id.dkim_status), STATUS_PENDING);
	set_ed(&id, STATUS_NOT_STARTED);
	result_for(&r, &id);
	r.dkim_found[0] = true;
	/* asked for other keys: not verified */
	r.dkim_keys_pinned = true;
	sha256(other, sizeof(other), r.dkim_keys_sha256);
	assert_true(verify_apply(&id, &r, T0 + 1));
	assert_string_equal(id.dkim_status, STATUS_PENDING);
	/* for these keys: Success, the domain too; Ed25519 never started */
	sha256(keys, sizeof(keys), r.dkim_keys_sha256);
	assert_true(verify_apply(&id, &r, T0 + 12));
	assert_string_equal(id.dkim_status, STATUS_SUCCESS);
	assert_string_equal(id.status, STATUS_SUCCESS);
	assert_string_equal(id.dkim_ed25519_status, STATUS_NOT_STARTED);
	assert_int_equal(id.next_check, 0);
	identity_clear(&id);

	/* an Easy DKIM identity needs all three: one found is not enough */
	mk_domain(&id, T0);
	set_dkim(&id, STATUS_PENDING);
	result_for(&r, &id);
	r.dkim_found[0] = true;
	verify_apply(&id, &r, T0 + 1);
	assert_string_equal(id.dkim_status, STATUS_PENDING);
	/* and a BYODKIM row with a second selector is not what was asked */
	id.dkim_external = true;
	r.dkim_tokens[1] = r.dkim_tokens[2] = NULL;
	verify_apply(&id, &r, T0 + 12);
	assert_string_equal(id.dkim_status, STATUS_PENDING);
	identity_clear(&id);
}

static void
test_ed25519_found_with_dkim(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;

	mk_domain(&id, T0);
	set_dkim(&id, STATUS_PENDING);
	set_ed(&id, STATUS_PENDING);
	assert_true(verify_dns_pending(&id));
	result_for(&r, &id);
	r.dkim_ed_token = id.dkim_tokens[0];

	/* the ed record alone: found, but DKIM still depends on the RSA records */
	r.dkim_ed_found = true;
	assert_true(verify_apply(&id, &r, T0 + 1));
	assert_string_equal(id.dkim_ed25519_status, STATUS_SUCCESS);
	assert_string_equal(id.dkim_status, STATUS_PENDING);
	assert_string_equal(id.status, STATUS_PENDING);
	assert_true(id.next_check > 0);

	/* then the three RSA records: DKIM Success, the ed record stays found */
	r.dkim_ed_found = false;
	r.dkim_found[0] = r.dkim_found[1] = r.dkim_found[2] = true;
	assert_true(verify_apply(&id, &r, T0 + 12));
	assert_string_equal(id.dkim_status, STATUS_SUCCESS);
	assert_string_equal(id.dkim_ed25519_status, STATUS_SUCCESS);
	assert_int_equal(id.next_check, 0);
	identity_clear(&id);
}

static void
test_ed25519_settles_with_dkim(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;

	/* all four in one round */
	mk_domain(&id, T0);
	set_dkim(&id, STATUS_PENDING);
	set_ed(&id, STATUS_PENDING);
	result_for(&r, &id);
	r.dkim_ed_token = id.dkim_tokens[0];
	r.dkim_found[0] = r.dkim_found[1] = r.dkim_found[2] = r.dkim_ed_found = true;
	verify_apply(&id, &r, T0 + 1);
	assert_string_equal(id.dkim_status, STATUS_SUCCESS);
	assert_string_equal(id.dkim_ed25519_status, STATUS_SUCCESS);
	identity_clear(&id);

	/* DKIM verified without the ed record: its check is over (Failed) and
	 * nothing more is scheduled for it */
	mk_domain(&id, T0);
	set_dkim(&id, STATUS_PENDING);
	set_ed(&id, STATUS_PENDING);
	result_for(&r, &id);
	r.dkim_ed_token = id.dkim_tokens[0];
	r.dkim_found[0] = r.dkim_found[1] = r.dkim_found[2] = true;
	verify_apply(&id, &r, T0 + 1);
	assert_string_equal(id.dkim_status, STATUS_SUCCESS);
	assert_string_equal(id.dkim_ed25519_status, STATUS_FAILED);
	assert_int_equal(id.next_check, 0);
	assert_false(verify_dns_pending(&id));
	identity_clear(&id);

	/* the window closes on both */
	mk_domain(&id, T0);
	set_dkim(&id, STATUS_PENDING);
	set_ed(&id, STATUS_PENDING);
	result_for(&r, &id);
	r.dkim_ed_token = id.dkim_tokens[0];
	verify_apply(&id, &r, T0 + W);
	assert_string_equal(id.dkim_status, STATUS_FAILED);
	assert_string_equal(id.dkim_ed25519_status, STATUS_FAILED);
	identity_clear(&id);
}

static void
test_ed25519_rearmed_on_verified_dkim(void **state)
{
	(void)state;
	struct identity id;
	struct verify_result r;

	/* VerifyDomainDkim on a verified DKIM re-arms the ed check alone */
	mk(&id, IDENTITY_DOMAIN, "example.com");
	id.token = verify_new_domain_token();
	snprintf(id.status, sizeof(id.status), STATUS_SUCCESS);
	set_dkim(&id, STATUS_SUCCESS);
	set_ed(&id, STATUS_FAILED);
	assert_false(verify_dns_pending(&id));
	set_ed(&id, STATUS_PENDING);
	verify_arm(&id, T0);
	assert_true(verify_dns_pending(&id));

	/* not there yet: DKIM untouched, checked again on the schedule */
	memset(&r, 0, sizeof(r));
	r.dkim_ed_token = id.dkim_tokens[0];
	assert_true(verify_apply(&id, &r, T0 + 1));
	assert_string_equal(id.dkim_status, STATUS_SUCCESS);
	assert_string_equal(id.dkim_ed25519_status, STATUS_PENDING);
	assert_int_equal(id.next_check, T0 + 11);

	/* a stale answer (other selectors) does not count */
	r.dkim_ed_token = "dddddddddddddddddddddddddddddddd";
	r.dkim_ed_found = true;
	verify_apply(&id, &r, T0 + 11);
	assert_string_equal(id.dkim_ed25519_status, STATUS_PENDING);

	/* found */
	r.dkim_ed_token = id.dkim_tokens[0];
	assert_true(verify_apply(&id, &r, T0 + 21));
	assert_string_equal(id.dkim_ed25519_status, STATUS_SUCCESS);
	assert_string_equal(id.dkim_status, STATUS_SUCCESS);
	assert_string_equal(id.status, STATUS_SUCCESS);
	assert_int_equal(id.next_check, 0);
	identity_clear(&id);

	/* never found: Failed at the end of its window, DKIM still Success */
	mk(&id, IDENTITY_DOMAIN, "example.com");
	snprintf(id.status, sizeof(id.status), STATUS_SUCCESS);
	set_dkim(&id, STATUS_SUCCESS);
	set_ed(&id, STATUS_PENDING);
	verify_arm(&id, T0);
	memset(&r, 0, sizeof(r));
	r.dkim_ed_token = id.dkim_tokens[0];
	assert_string_equal(verify_status_at(&id, id.dkim_ed25519_status, T0 + W), STATUS_FAILED);
	verify_apply(&id, &r, T0 + W);
	assert_string_equal(id.dkim_ed25519_status, STATUS_FAILED);
	assert_string_equal(id.dkim_status, STATUS_SUCCESS);
	assert_string_equal(id.status, STATUS_SUCCESS);
	assert_int_equal(id.next_check, 0);
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

/* ---- the link and the checker's writes, against a real store ------------- */

#define ACCT "111122223333"
#define REG "us-east-1"

int verify_save(struct store *s, const char *region, const char *account_id, const char *name,
		const struct verify_result *r, int64_t now, struct err *e);

struct sfx {
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
store_setup(void **state)
{
	struct sfx *f = xcalloc(1, sizeof(*f));
	struct account a = {.id = ACCT, .name = "one", .max_24h = -1, .max_rate = 1,
			    .sending_enabled = true};
	struct err e;

	f->dir = xstrdup("/tmp/sesame-verify-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->s = store_open(NULL, f->dir, &e);
	assert_non_null(f->s);
	assert_int_equal(f->s->ops->account_create(f->s, &a, &e), 0);
	*state = f;
	return 0;
}

static int
store_teardown(void **state)
{
	struct sfx *f = *state;
	store_close(f->s);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->dir);
	free(f);
	return 0;
}

static void
put(struct store *s, const struct identity *id)
{
	struct err e;
	assert_int_equal(s->ops->identity_put(s, id, &e), 0);
}

/* The stored row of `name` (must exist). */
static void
get(struct store *s, const char *name, struct identity *out)
{
	struct err e;
	assert_int_equal(s->ops->identity_get(s, REG, ACCT, name, out, &e), 1);
}

static void
test_email_link(void **state)
{
	struct sfx *f = *state;
	struct identity id, got = {0};
	struct err e;
	char *tok, *tok2;

	mk(&id, IDENTITY_EMAIL, "a@example.com");
	tok = verify_email_issue(&id, T0);
	/* the identity keeps the link's digest, never the link */
	char digest[65];
	verify_link_digest(tok, digest);
	assert_string_equal(id.token, digest);
	assert_string_not_equal(id.token, tok);
	free(tok);
	assert_string_equal(id.status, STATUS_PENDING);
	assert_int_equal(id.token_expires, T0 + VERIFY_EMAIL_TTL);
	assert_int_equal(id.next_check, T0 + VERIFY_EMAIL_TTL); /* the checker fails it then */
	assert_false(verify_dns_pending(&id));
	/* a Get call does not schedule DNS work for an address */
	assert_false(verify_request_check(&id, T0 + 5));

	/* re-issuing while Pending gives a fresh token; the old one is dead */
	tok = verify_email_issue(&id, T0 + 50);
	tok2 = verify_email_issue(&id, T0 + 100);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(id.token_expires, T0 + 100 + VERIFY_EMAIL_TTL);
	put(f->s, &id);
	assert_int_equal(verify_email_confirm(f->s, tok, T0 + 150, &got, &e), VERIFY_LINK_INVALID);
	assert_null(got.name);

	/* what the store holds does not open the link */
	assert_int_equal(verify_email_confirm(f->s, id.token, T0 + 160, &got, &e),
			 VERIFY_LINK_INVALID);
	assert_null(got.name);
	assert_int_equal(verify_email_confirm(f->s, tok2, T0 + 200, &got, &e), VERIFY_LINK_OK);
	assert_string_equal(got.name, "a@example.com");
	assert_string_equal(got.status, STATUS_SUCCESS);
	assert_int_equal(got.next_check, 0);
	identity_clear(&got);
	/* exactly once: a second click is "used", and changes nothing */
	assert_int_equal(verify_email_confirm(f->s, tok2, T0 + 201, &got, &e), VERIFY_LINK_USED);
	assert_string_equal(got.status, STATUS_SUCCESS);
	identity_clear(&got);
	free(tok);
	free(tok2);
	identity_clear(&id);
}

static void
test_email_link_expired(void **state)
{
	struct sfx *f = *state;
	struct identity id, got = {0};
	struct verify_result r;
	struct err e;

	mk(&id, IDENTITY_EMAIL, "a@example.com");
	char *link = verify_email_issue(&id, T0);
	id.mail_from_domain = xstrdup("bounce.example.com");
	snprintf(id.mail_from_status, sizeof(id.mail_from_status), STATUS_PENDING);
	put(f->s, &id);
	assert_string_equal(verify_status_at(&id, id.status, T0 + VERIFY_EMAIL_TTL - 1),
			    STATUS_PENDING);
	assert_string_equal(verify_status_at(&id, id.status, T0 + VERIFY_EMAIL_TTL), STATUS_FAILED);
	/* a click at the expiry writes Failed (and fails the MAIL FROM it carried) */
	assert_int_equal(verify_email_confirm(f->s, link, T0 + VERIFY_EMAIL_TTL, &got, &e),
			 VERIFY_LINK_EXPIRED);
	assert_string_equal(got.status, STATUS_FAILED);
	identity_clear(&got);
	get(f->s, "a@example.com", &got);
	assert_string_equal(got.status, STATUS_FAILED);
	assert_string_equal(got.mail_from_status, STATUS_FAILED);
	assert_int_equal(got.next_check, 0);
	identity_clear(&got);
	assert_int_equal(verify_email_confirm(f->s, link, T0 + VERIFY_EMAIL_TTL + 1, &got, &e),
			 VERIFY_LINK_EXPIRED);
	identity_clear(&got);

	/* the checker at the expiry does the same without a click */
	free(id.mail_from_domain);
	id.mail_from_domain = NULL;
	id.mail_from_status[0] = '\0';
	free(link);
	link = verify_email_issue(&id, T0);
	memset(&r, 0, sizeof(r));
	assert_true(verify_apply(&id, &r, T0 + VERIFY_EMAIL_TTL));
	assert_string_equal(id.status, STATUS_FAILED);
	assert_int_equal(id.next_check, 0);
	identity_clear(&id);
	free(link);
}

static void
test_email_with_mail_from(void **state)
{
	struct sfx *f = *state;
	struct identity id, got = {0};
	struct err e;

	mk(&id, IDENTITY_EMAIL, "a@example.com");
	char *link = verify_email_issue(&id, T0);
	id.mail_from_domain = xstrdup("bounce.example.com");
	snprintf(id.mail_from_status, sizeof(id.mail_from_status), STATUS_PENDING);
	verify_arm(&id, T0 + 10);
	/* the link keeps its 24 h even though a DNS check started */
	assert_int_equal(id.token_expires, T0 + VERIFY_EMAIL_TTL);
	assert_int_equal(id.next_check, T0 + 10);
	id.check_attempts = 7;
	put(f->s, &id);
	/* using the link opens the 72 h MAIL FROM window */
	assert_int_equal(verify_email_confirm(f->s, link, T0 + 50, &got, &e), VERIFY_LINK_OK);
	assert_int_equal(got.token_expires, T0 + 50 + W);
	assert_int_equal(got.next_check, T0 + 50);
	assert_int_equal(got.check_attempts, 0);
	assert_string_equal(got.mail_from_status, STATUS_PENDING);
	identity_clear(&got);
	identity_clear(&id);
	free(link);
}

static void
test_link_rejects_domains(void **state)
{
	struct sfx *f = *state;
	struct identity id, got = {0};
	struct err e;

	mk_domain(&id, T0); /* domain tokens are published in DNS: never a link */
	put(f->s, &id);
	assert_int_equal(verify_email_confirm(f->s, id.token, T0 + 1, &got, &e),
			 VERIFY_LINK_INVALID);
	assert_null(got.name);
	get(f->s, "example.com", &got);
	assert_string_equal(got.status, STATUS_PENDING);
	identity_clear(&got);
	identity_clear(&id);
}

static void
test_link_after_delete(void **state)
{
	struct sfx *f = *state;
	struct identity id, got = {0};
	struct err e;

	/* DeleteIdentity, then the old link: unknown, and nothing comes back */
	mk(&id, IDENTITY_EMAIL, "gone@example.com");
	char *link = verify_email_issue(&id, T0);
	put(f->s, &id);
	assert_int_equal(f->s->ops->identity_delete(f->s, REG, ACCT, id.name, &e), 1);
	assert_int_equal(verify_email_confirm(f->s, link, T0 + 1, &got, &e),
			 VERIFY_LINK_INVALID);
	assert_int_equal(f->s->ops->identity_get(f->s, REG, ACCT, id.name, &got, &e), 0);
	identity_clear(&id);
	free(link);
}

static void
test_save_applies_and_respects_others(void **state)
{
	struct sfx *f = *state;
	struct identity id, got = {0};
	struct verify_result r;
	struct err e;
	char *old;

	mk_domain(&id, T0);
	put(f->s, &id);
	result_for(&r, &id);
	r.domain_token = old = xstrdup(id.token); /* outlives id's token */
	r.domain_found = true;
	assert_int_equal(verify_save(f->s, REG, ACCT, "example.com", &r, T0 + 1, &e), 1);
	get(f->s, "example.com", &got);
	assert_string_equal(got.status, STATUS_SUCCESS);
	assert_int_equal(got.next_check, 0);
	identity_clear(&got);
	/* nothing left to change: nothing stored */
	assert_int_equal(verify_save(f->s, REG, ACCT, "example.com", &r, T0 + 2, &e), 0);

	/* deleted during the lookups: the result does not re-create it */
	assert_int_equal(f->s->ops->identity_delete(f->s, REG, ACCT, "example.com", &e), 1);
	assert_int_equal(verify_save(f->s, REG, ACCT, "example.com", &r, T0 + 3, &e), 0);
	assert_int_equal(f->s->ops->identity_get(f->s, REG, ACCT, "example.com", &got, &e), 0);

	/* a new token meanwhile (the domain re-created): the old token's TXT does
	 * not verify it, and the new row's other fields stay as they are */
	free(id.token);
	id.token = verify_new_domain_token();
	id.dkim_enabled = false;
	put(f->s, &id);
	assert_int_equal(verify_save(f->s, REG, ACCT, "example.com", &r, T0 + 4, &e), 1);
	get(f->s, "example.com", &got);
	assert_string_equal(got.status, STATUS_PENDING); /* rescheduled, not verified */
	assert_int_equal(got.next_check, T0 + 14);
	assert_false(got.dkim_enabled);
	identity_clear(&got);
	identity_clear(&id);
	free(old);
}

/* The CAS stores the Ed25519 status, and refuses a row whose Ed25519 status
 * moved since it was read. */
static void
test_save_ed25519_status(void **state)
{
	struct sfx *f = *state;
	struct identity id, got = {0};
	struct verify_result r;
	struct err e;

	mk_domain(&id, T0);
	set_dkim(&id, STATUS_PENDING);
	set_ed(&id, STATUS_PENDING);
	put(f->s, &id);
	result_for(&r, &id);
	r.dkim_ed_token = id.dkim_tokens[0];
	r.dkim_ed_found = true;
	assert_int_equal(verify_save(f->s, REG, ACCT, "example.com", &r, T0 + 1, &e), 1);
	get(f->s, "example.com", &got);
	assert_string_equal(got.dkim_ed25519_status, STATUS_SUCCESS);
	assert_string_equal(got.dkim_status, STATUS_PENDING);

	/* seen with another Ed25519 status than stored: refused */
	struct identity seen = got, next = got;
	snprintf(seen.dkim_ed25519_status, sizeof(seen.dkim_ed25519_status), STATUS_PENDING);
	snprintf(next.dkim_ed25519_status, sizeof(next.dkim_ed25519_status), STATUS_FAILED);
	assert_int_equal(f->s->ops->identity_cas_checks(f->s, &seen, &next, &e), 0);
	identity_clear(&got);
	get(f->s, "example.com", &got);
	assert_string_equal(got.dkim_ed25519_status, STATUS_SUCCESS);
	identity_clear(&got);
	identity_clear(&id);
}

/* A store that lets another request write between the checker's read and
 * its compare-and-set (the race the CAS closes): forwards the two ops
 * verify_save uses, and before the first CAS runs `interfere`. */
struct racy {
	struct store base;
	struct store *real;
	struct store_ops ops;
	int cas_calls;
};

static int
racy_get(struct store *s, const char *region, const char *account_id, const char *name,
	 struct identity *out, struct err *e)
{
	struct racy *r = (struct racy *)s;
	return r->real->ops->identity_get(r->real, region, account_id, name, out, e);
}

static int
racy_cas(struct store *s, const struct identity *seen, const struct identity *next,
	 struct err *e)
{
	struct racy *r = (struct racy *)s;

	if (r->cas_calls++ == 0) {
		/* SetIdentityMailFromDomain lands in between */
		struct identity other = {0};
		get(r->real, seen->name, &other);
		other.mail_from_domain = xstrdup("mf.example.com");
		snprintf(other.mail_from_status, sizeof(other.mail_from_status), STATUS_PENDING);
		put(r->real, &other);
		identity_clear(&other);
	}
	return r->real->ops->identity_cas_checks(r->real, seen, next, e);
}

static void
test_save_retries_after_a_concurrent_write(void **state)
{
	struct sfx *f = *state;
	struct racy rs = {.real = f->s};
	struct identity id, got = {0};
	struct verify_result r;
	struct err e;

	rs.ops.identity_get = racy_get;
	rs.ops.identity_cas_checks = racy_cas;
	rs.base.ops = &rs.ops;
	mk_domain(&id, T0);
	put(f->s, &id);
	result_for(&r, &id);
	r.domain_found = true;
	assert_int_equal(verify_save(&rs.base, REG, ACCT, "example.com", &r, T0 + 1, &e), 1);
	assert_int_equal(rs.cas_calls, 2); /* refused once, then applied to the new row */
	get(f->s, "example.com", &got);
	assert_string_equal(got.status, STATUS_SUCCESS);
	assert_string_equal(got.mail_from_domain, "mf.example.com"); /* not overwritten */
	assert_string_equal(got.mail_from_status, STATUS_PENDING);
	assert_true(got.next_check > 0); /* the MAIL FROM check goes on */
	identity_clear(&got);
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
		cmocka_unit_test(test_byodkim_one_selector_pinned_to_its_keys),
		cmocka_unit_test(test_window_ends_failed),
		cmocka_unit_test(test_verified_domain_dkim_window),
		cmocka_unit_test(test_ed25519_found_with_dkim),
		cmocka_unit_test(test_ed25519_settles_with_dkim),
		cmocka_unit_test(test_ed25519_rearmed_on_verified_dkim),
		cmocka_unit_test(test_mail_from),
		cmocka_unit_test_setup_teardown(test_email_link, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_email_link_expired, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(test_email_with_mail_from, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(test_link_rejects_domains, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(test_link_after_delete, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(test_save_applies_and_respects_others, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(test_save_ed25519_status, store_setup,
						store_teardown),
		cmocka_unit_test_setup_teardown(test_save_retries_after_a_concurrent_write,
						store_setup, store_teardown),
		cmocka_unit_test(test_request_check),
		cmocka_unit_test(test_spf),
		cmocka_unit_test(test_mail_link),
		cmocka_unit_test(test_mail_from_mx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

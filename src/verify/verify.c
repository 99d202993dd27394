/*
 * verify.c — identity verification state rules and the background DNS
 * checker (verify.h; the state machine is drawn in docs/internals/verify.md).
 *
 * Owns: the meaning of the store's verification fields. For every identity
 *   status / token / token_expires     address link or domain TXT token, and
 *                                      the end of the current check window;
 *   dkim_status, mail_from_status      the two other DNS checks;
 *   next_check, check_attempts         when the checker looks next (0 = never).
 *
 * Invariants:
 *  1. next_check > 0 iff something can still change by itself: a DNS check
 *     is Pending, or an address link is pending (the checker fails it at
 *     its expiry).
 *  2. Pending never outlives token_expires: the checker writes Failed at the
 *     end of the window, and readers already see Failed (verify_status_at).
 *  3. A check result is applied only if what was asked is still what the
 *     identity holds (same token, selectors, MAIL FROM domain) — the row is
 *     read again after the lookups, so a re-verify or delete in between wins.
 *
 * The checker is one thread with its own event_base, store handle and DNS
 * resolver; a one-second timer takes due identities (at most CHECK_BATCH per
 * tick, none already in flight) and starts their lookups; the last answer
 * of an identity applies its results and reschedules it. Nothing blocks
 * but the store calls, which are short local transactions.
 */
#include "verify/verify.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf.h"
#include "dns/dns.h"
#include "mail/dkim_keys.h"
#include "store/store.h"
#include "store/vault.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/testable.h"
#include "util/xalloc.h"

#define CHECK_BATCH 256 /* identities started per tick */

/* ---- state rules ---------------------------------------------------------- */

char *
verify_new_link_token(void)
{
	uint8_t r[VERIFY_LINK_TOKEN_BYTES];
	char *t;

	random_bytes(r, sizeof(r));
	t = base64_encode(r, sizeof(r));
	/* base64url, no padding: safe in a query string without escaping */
	for (char *p = t; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=') {
			*p = '\0';
			break;
		}
	}
	return t;
}

char *
verify_new_domain_token(void)
{
	uint8_t r[32];

	random_bytes(r, sizeof(r));
	return base64_encode(r, sizeof(r));
}

static bool
is_pending(const char *status)
{
	return strcmp(status, STATUS_PENDING) == 0;
}

static bool
link_pending(const struct identity *id)
{
	return id->type == IDENTITY_EMAIL && is_pending(id->status);
}

bool
verify_dns_pending(const struct identity *id)
{
	if (id->type == IDENTITY_DOMAIN && is_pending(id->status) && id->token != NULL)
		return true;
	if (is_pending(id->dkim_status) && id->dkim_tokens[0] != NULL)
		return true;
	return id->mail_from_domain != NULL && is_pending(id->mail_from_status);
}

/* Length of the window that ends at token_expires. */
static int64_t
window_of(const struct identity *id)
{
	return link_pending(id) ? VERIFY_EMAIL_TTL : VERIFY_DNS_WINDOW;
}

void
verify_arm(struct identity *id, int64_t now)
{
	if (!link_pending(id))
		id->token_expires = now + VERIFY_DNS_WINDOW;
	id->check_attempts = 0;
	id->next_check = now;
}

void
verify_email_issue(struct identity *id, int64_t now)
{
	free(id->token);
	id->token = verify_new_link_token();
	snprintf(id->status, sizeof(id->status), "%s", STATUS_PENDING);
	id->token_expires = now + VERIFY_EMAIL_TTL;
	id->check_attempts = 0;
	id->next_check = verify_dns_pending(id) ? now : id->token_expires;
}

const char *
verify_status_at(const struct identity *id, const char *status, int64_t now)
{
	if (is_pending(status) && id->token_expires > 0 && now >= id->token_expires)
		return STATUS_FAILED;
	return status;
}

bool
verify_request_check(struct identity *id, int64_t now)
{
	if (!verify_dns_pending(id) || (id->next_check > 0 && id->next_check <= now))
		return false;
	if (id->token_expires > 0 && now >= id->token_expires)
		return false; /* the window is over; the checker fails it */
	id->next_check = now;
	return true;
}

void
verify_mail_from_mx(const char *region, char *out, size_t cap)
{
	snprintf(out, cap, VERIFY_MAIL_FROM_MX_FMT, region);
}

int
verify_mail_link(const struct conf *c, const char *token, char *out, size_t cap)
{
	const char *base = c->public_url;
	size_t n;
	int w;

	if (base[0] != '\0') {
		n = strlen(base);
		while (n > 0 && base[n - 1] == '/')
			n--;
		w = snprintf(out, cap, "%.*s/_sesame/verify?token=%s", (int)n, base, token);
	} else {
		w = snprintf(out, cap, "http://%s/_sesame/verify?token=%s", c->http, token);
	}
	if (w < 0 || (size_t)w >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * The schedule. After a check at `now` left something Pending in the window
 * [deadline - window, deadline): when to look again. Every VERIFY_FAST_STEP
 * seconds during the first VERIFY_FAST_PERIOD, then the step doubles each
 * time the elapsed time doubles (20 s from 10 min, 40 s from 20 min, …)
 * up to VERIFY_MAX_STEP, never past the deadline. Returns 0 when the window
 * is over (give up: Failed). The schedule depends on time only, not on how
 * many checks ran, so extra checks asked for by Get…Attributes calls do not
 * shorten the window.
 */
TESTABLE int64_t
verify_next_check(int64_t deadline, int64_t window, int64_t now)
{
	int64_t elapsed = now - (deadline - window), step = VERIFY_FAST_STEP;

	if (now >= deadline)
		return 0;
	if (elapsed >= VERIFY_FAST_PERIOD) {
		for (int64_t t = VERIFY_FAST_PERIOD; t <= elapsed && step < VERIFY_MAX_STEP; t *= 2)
			step *= 2;
		if (step > VERIFY_MAX_STEP)
			step = VERIFY_MAX_STEP;
	}
	return now + step < deadline ? now + step : deadline;
}

/* ---- applying results ---------------------------------------------------- */

/* What one round of lookups asked and found. */
struct check_result {
	char *domain_token;              /* asked TXT _amazonses (NULL: not asked) */
	bool domain_found;
	char *dkim_tokens[DKIM_KEYS_N];  /* asked DKIM selectors (NULL: not asked) */
	bool dkim_found[DKIM_KEYS_N];
	char *mail_from;                 /* asked MAIL FROM domain (NULL: not asked) */
	bool mx_found, spf_found;
};

static bool
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void
set_status(char *field, size_t cap, const char *s)
{
	snprintf(field, cap, "%s", s);
}

/*
 * Apply one round's results to the identity as it is in the store now and
 * reschedule it (invariants 1–3). Pure: returns true when `id` changed.
 */
TESTABLE bool
verify_apply(struct identity *id, const struct check_result *r, int64_t now)
{
	bool dkim_all = r->dkim_tokens[0] != NULL;
	struct identity before = *id;

	if (r->domain_token != NULL && r->domain_found && id->type == IDENTITY_DOMAIN &&
	    is_pending(id->status) && same(id->token, r->domain_token))
		set_status(id->status, sizeof(id->status), STATUS_SUCCESS);
	for (int i = 0; i < DKIM_KEYS_N; i++)
		if (r->dkim_tokens[i] == NULL || !r->dkim_found[i] ||
		    !same(id->dkim_tokens[i], r->dkim_tokens[i]))
			dkim_all = false;
	if (dkim_all && is_pending(id->dkim_status)) {
		set_status(id->dkim_status, sizeof(id->dkim_status), STATUS_SUCCESS);
		/* a domain whose DKIM records are there is verified too (SES) */
		if (id->type == IDENTITY_DOMAIN && is_pending(id->status))
			set_status(id->status, sizeof(id->status), STATUS_SUCCESS);
	}
	if (r->mail_from != NULL && r->mx_found && r->spf_found &&
	    same(id->mail_from_domain, r->mail_from) && is_pending(id->mail_from_status))
		set_status(id->mail_from_status, sizeof(id->mail_from_status), STATUS_SUCCESS);

	if (id->token_expires == 0 && (verify_dns_pending(id) || link_pending(id)))
		verify_arm(id, now); /* a row from before windows existed: open one */
	if (verify_dns_pending(id)) {
		int64_t next = verify_next_check(id->token_expires, window_of(id), now);
		id->check_attempts++;
		id->next_check = next;
	} else if (link_pending(id) && now < id->token_expires) {
		id->next_check = id->token_expires;
	} else {
		id->next_check = 0;
	}
	if (id->next_check == 0) {
		/* the window is over: whatever is still Pending failed */
		if (is_pending(id->status) && (id->type == IDENTITY_DOMAIN || now >= id->token_expires))
			set_status(id->status, sizeof(id->status), STATUS_FAILED);
		if (is_pending(id->dkim_status))
			set_status(id->dkim_status, sizeof(id->dkim_status), STATUS_FAILED);
		if (id->mail_from_domain != NULL && is_pending(id->mail_from_status))
			set_status(id->mail_from_status, sizeof(id->mail_from_status),
				   STATUS_FAILED);
	}
	return strcmp(before.status, id->status) != 0 ||
	       strcmp(before.dkim_status, id->dkim_status) != 0 ||
	       strcmp(before.mail_from_status, id->mail_from_status) != 0 ||
	       before.next_check != id->next_check || before.check_attempts != id->check_attempts ||
	       before.token_expires != id->token_expires;
}

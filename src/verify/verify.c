/*
 * verify.c — identity verification state rules and the background DNS
 * checker (verify.h; the state machine is drawn in docs/internals/verify.md).
 *
 * Owns: the meaning of the store's verification fields. For every identity
 *   status / token / token_expires     address link or domain TXT token, and
 *                                      the end of the current check window;
 *   dkim_status, mail_from_status      the two other DNS checks;
 *   dkim_ed25519_status                the Ed25519 record, checked in the
 *                                      DKIM check's rounds (or alone after
 *                                      a re-arm on a verified DKIM);
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
 *  4. Nothing here writes a whole identity row: the link is one conditional
 *     UPDATE (identity_verify_token), a result is saved by compare-and-set
 *     of the verification columns over the row as read (identity_cas_checks,
 *     verify_save), so no verification step re-creates a deleted identity or
 *     undoes another request's write.
 *
 * The checker is one thread (a loop group of one, util/loop.h) with its own
 * event_base, store handle and DNS resolver, made by checker_init on that
 * thread and freed by checker_free there; a one-second timer takes due identities (at most CHECK_BATCH per
 * tick, none already in flight) and starts their lookups; the last answer
 * of an identity applies its results and reschedules it. Nothing blocks
 * but the store calls, which are short local transactions.
 */
#include "verify/verify.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/vault.h"
#include "conf/conf.h"
#include "dns/dns.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/loop.h"
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
	if (is_pending(id->dkim_ed25519_status) && id->dkim_tokens[0] != NULL)
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
verify_link_digest(const char *token, char out[65])
{
	sha256_hex(token, strlen(token), out);
}

char *
verify_email_issue(struct identity *id, int64_t now)
{
	char *token = verify_new_link_token();
	char digest[65];

	verify_link_digest(token, digest);
	free(id->token);
	id->token = xstrdup(digest);
	snprintf(id->status, sizeof(id->status), "%s", STATUS_PENDING);
	id->token_expires = now + VERIFY_EMAIL_TTL;
	id->check_attempts = 0;
	id->next_check = verify_dns_pending(id) ? now : id->token_expires;
	return token;
}

enum verify_link
verify_email_confirm(struct store *s, const char *token, int64_t now, struct identity *out,
		     struct err *e)
{
	/* the transition is one conditional UPDATE in the store, so a delete
	 * or a second click in between cannot be overwritten or win twice */
	char digest[65];
	int r;

	verify_link_digest(token, digest);
	r = s->ops->identity_verify_token(s, digest, now, now + VERIFY_DNS_WINDOW, out, e);
	/* a link issued before tokens were kept as digests (they live 24 h):
	 * only a token of a link's own shape, which no digest has */
	if (r == STORE_LINK_UNKNOWN && strlen(token) != sizeof(digest) - 1)
		r = s->ops->identity_verify_token(s, token, now, now + VERIFY_DNS_WINDOW, out, e);

	switch (r) {
	case STORE_LINK_VERIFIED: return VERIFY_LINK_OK;
	case STORE_LINK_USED: return VERIFY_LINK_USED;
	case STORE_LINK_EXPIRED: return VERIFY_LINK_EXPIRED;
	case STORE_LINK_UNKNOWN: return VERIFY_LINK_INVALID;
	default: return VERIFY_LINK_ERROR;
	}
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
	char base[300];
	int w;

	conf_public_base(c, base, sizeof(base));
	w = snprintf(out, cap, "%s/_sesame/verify?token=%s", base, token);
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

bool
verify_apply(struct identity *id, const struct verify_result *r, int64_t now)
{
	/* Easy DKIM has DKIM_KEYS_N selectors, BYODKIM the owner's one; the
	 * keys asked must still be the identity's (a BYODKIM key can be
	 * replaced under the same selector) */
	int nsel = id->dkim_external ? 1 : DKIM_KEYS_N;
	bool dkim_all = r->dkim_tokens[0] != NULL;
	struct identity before = *id;

	if (r->dkim_keys_pinned) {
		uint8_t now_id[32];
		if (id->dkim_keys_sealed == NULL)
			dkim_all = false;
		else {
			sha256(id->dkim_keys_sealed, id->dkim_keys_sealed_len, now_id);
			if (memcmp(now_id, r->dkim_keys_sha256, sizeof(now_id)) != 0)
				dkim_all = false;
		}
	}

	if (r->dkim_ed_token != NULL && r->dkim_ed_found && is_pending(id->dkim_ed25519_status) &&
	    same(id->dkim_tokens[0], r->dkim_ed_token))
		set_status(id->dkim_ed25519_status, sizeof(id->dkim_ed25519_status), STATUS_SUCCESS);

	if (r->domain_token != NULL && r->domain_found && id->type == IDENTITY_DOMAIN &&
	    is_pending(id->status) && same(id->token, r->domain_token))
		set_status(id->status, sizeof(id->status), STATUS_SUCCESS);
	for (int i = 0; i < DKIM_KEYS_N; i++)
		if (i < nsel ? r->dkim_tokens[i] == NULL || !r->dkim_found[i] ||
				       !same(id->dkim_tokens[i], r->dkim_tokens[i])
			     : r->dkim_tokens[i] != NULL || id->dkim_tokens[i] != NULL)
			dkim_all = false;
	if (dkim_all && is_pending(id->dkim_status)) {
		set_status(id->dkim_status, sizeof(id->dkim_status), STATUS_SUCCESS);
		/* a domain whose DKIM records are there is verified too (SES) */
		if (id->type == IDENTITY_DOMAIN && is_pending(id->status))
			set_status(id->status, sizeof(id->status), STATUS_SUCCESS);
	}
	/* the Ed25519 record rides on the DKIM check: it had to be there by the
	 * round that settled DKIM (a later one needs VerifyDomainDkim again) */
	if (is_pending(before.dkim_status) && !is_pending(id->dkim_status) &&
	    is_pending(id->dkim_ed25519_status))
		set_status(id->dkim_ed25519_status, sizeof(id->dkim_ed25519_status), STATUS_FAILED);
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
		if (is_pending(id->dkim_ed25519_status))
			set_status(id->dkim_ed25519_status, sizeof(id->dkim_ed25519_status),
				   STATUS_FAILED);
		if (id->mail_from_domain != NULL && is_pending(id->mail_from_status))
			set_status(id->mail_from_status, sizeof(id->mail_from_status),
				   STATUS_FAILED);
	}
	return strcmp(before.status, id->status) != 0 ||
	       strcmp(before.dkim_status, id->dkim_status) != 0 ||
	       strcmp(before.dkim_ed25519_status, id->dkim_ed25519_status) != 0 ||
	       strcmp(before.mail_from_status, id->mail_from_status) != 0 ||
	       before.next_check != id->next_check || before.check_attempts != id->check_attempts ||
	       before.token_expires != id->token_expires;
}

/* ---- the checker ------------------------------------------------------------ */

struct verify {
	const struct conf *conf;
	const struct vault *vault;
	struct loop_group *group;
	struct event_base *base; /* the group's */
	struct event *tick;
	struct dns *dns;
	struct store *store;
	bool stopping;
	struct check *inflight; /* identities with lookups outstanding */
};

/* One identity's round of lookups. */
struct check {
	struct verify *v;
	struct check *next;
	char region[32];
	char account_id[13];
	char *name;
	int outstanding;
	bool tempfail;                /* some answer was a timeout or SERVFAIL */
	char *dkim_pub[DKIM_KEYS_N];  /* the public keys the records must carry */
	char *dkim_ed_pub;            /* and the Ed25519 one (NULL: not asked) */
	char mx[DNS_NAME_MAX + 1];    /* the MX host MAIL FROM must point at */
	struct verify_result r;
};

enum lookup_kind { L_DOMAIN, L_DKIM, L_DKIM_ED, L_SPF };

struct lookup {
	struct check *c;
	enum lookup_kind kind;
	int index; /* DKIM selector */
};

static void
check_free(struct check *c)
{
	free(c->name);
	free(c->r.domain_token);
	free(c->r.mail_from);
	free(c->r.dkim_ed_token);
	free(c->dkim_ed_pub);
	for (int i = 0; i < DKIM_KEYS_N; i++) {
		free(c->r.dkim_tokens[i]);
		free(c->dkim_pub[i]);
	}
	free(c);
}

static void
unlink_check(struct verify *v, struct check *c)
{
	for (struct check **p = &v->inflight; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			return;
		}
}

static bool
in_flight(struct verify *v, const struct identity *id)
{
	for (struct check *c = v->inflight; c != NULL; c = c->next)
		if (strcmp(c->name, id->name) == 0 && strcmp(c->region, id->region) == 0 &&
		    strcmp(c->account_id, id->account_id) == 0)
			return true;
	return false;
}

static void
log_change(const char *what, const char *name, const char *before, const char *after)
{
	if (strcmp(before, after) != 0)
		log_info("verify: %s %s %s -> %s", what, name, before, after);
}

#define SAVE_TRIES 3 /* compare-and-set attempts before leaving it to the next tick */

/*
 * Apply a round's results `r` to identity (region, account_id, name) as
 * stored now and save the outcome with the store's compare-and-set, so only
 * the verification columns and the schedule are written, and only over the
 * very row that was read: a delete, a new token or any other request's
 * write in between wins, and the row is read again and the results
 * re-applied (verify_apply ignores those that no longer match). Returns 1
 * when a change was stored, 0 when there was none to store (or the identity
 * is gone, or kept changing), -1 on a store error (e filled).
 */
TESTABLE int
verify_save(struct store *s, const char *region, const char *account_id, const char *name,
	    const struct verify_result *r, int64_t now, struct err *e)
{
	for (int i = 0; i < SAVE_TRIES; i++) {
		struct identity seen = {0}, next;
		int rc = s->ops->identity_get(s, region, account_id, name, &seen, e);

		if (rc <= 0)
			return rc; /* deleted meanwhile: nothing to do */
		/* verify_apply writes only the status arrays and the schedule
		 * integers, so `next` may share seen's strings; only seen is cleared */
		next = seen;
		if (!verify_apply(&next, r, now)) {
			identity_clear(&seen);
			return 0;
		}
		rc = s->ops->identity_cas_checks(s, &seen, &next, e);
		if (rc == 1) {
			log_change("identity", name, seen.status, next.status);
			log_change("DKIM of", name, seen.dkim_status, next.dkim_status);
			log_change("Ed25519 DKIM record of", name, seen.dkim_ed25519_status,
				   next.dkim_ed25519_status);
			log_change("MAIL FROM of", name, seen.mail_from_status,
				   next.mail_from_status);
		}
		identity_clear(&seen);
		if (rc != 0)
			return rc;
	}
	log_debug("verify: %s kept changing during its check; the next round decides", name);
	return 0;
}

/* All answers are in: apply them to the identity as stored now. */
static void
finish(struct check *c)
{
	struct verify *v = c->v;
	struct err e = {0};

	unlink_check(v, c);
	if (!v->stopping &&
	    verify_save(v->store, c->region, c->account_id, c->name, &c->r, (int64_t)time(NULL),
			&e) < 0)
		log_warn("verify: storing %s: %s", c->name, e.message);
	if (c->tempfail)
		log_debug("verify: %s: some lookups failed temporarily; will retry", c->name);
	check_free(c);
}

static void
answered(struct check *c, enum dns_status st)
{
	if (dns_status_temporary(st) && st != DNS_CANCELLED)
		c->tempfail = true;
	if (--c->outstanding == 0)
		finish(c);
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* `v=spf1 … include:amazonses.com …` (the term may carry a '+' qualifier). */
TESTABLE bool
verify_spf_matches(const char *s, size_t n)
{
	size_t i = 0;
	bool first = true, found = false;

	while (i < n) {
		while (i < n && s[i] == ' ')
			i++;
		size_t st = i;
		while (i < n && s[i] != ' ')
			i++;
		size_t len = i - st;
		if (len == 0)
			break;
		const char *t = s + st;
		if (first) {
			if (len != 6 || strncasecmp(t, "v=spf1", 6) != 0)
				return false;
			first = false;
			continue;
		}
		if (len > 0 && t[0] == '+')
			t++, len--;
		if (len == 21 && strncasecmp(t, "include:amazonses.com", 21) == 0)
			found = true;
	}
	return found;
}

static void
on_txt(void *arg, enum dns_status st, const struct dns_txt *txt, size_t n)
{
	struct lookup *l = arg;
	struct check *c = l->c;

	for (size_t i = 0; st == DNS_OK && i < n; i++) {
		const char *s = txt[i].data;
		size_t len = txt[i].len;
		trim(&s, &len);
		switch (l->kind) {
		case L_DOMAIN:
			if (len == strlen(c->r.domain_token) &&
			    memcmp(s, c->r.domain_token, len) == 0)
				c->r.domain_found = true;
			break;
		case L_DKIM:
			if (dkim_keys_record_matches(s, len, c->dkim_pub[l->index]))
				c->r.dkim_found[l->index] = true;
			break;
		case L_DKIM_ED:
			if (dkim_keys_record_matches_ed25519(s, len, c->dkim_ed_pub))
				c->r.dkim_ed_found = true;
			break;
		case L_SPF:
			if (verify_spf_matches(s, len))
				c->r.spf_found = true;
			break;
		}
	}
	free(l);
	answered(c, st);
}

static void
on_mx(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n)
{
	struct check *c = arg;

	for (size_t i = 0; st == DNS_OK && i < n; i++) {
		size_t hl = strlen(mx[i].host);
		if (hl > 0 && mx[i].host[hl - 1] == '.')
			hl--;
		if (hl == strlen(c->mx) && strncasecmp(mx[i].host, c->mx, hl) == 0)
			c->r.mx_found = true;
	}
	answered(c, st);
}

static void
ask_txt(struct check *c, const char *name, enum lookup_kind kind, int index)
{
	struct lookup *l = xcalloc(1, sizeof(*l));

	l->c = c;
	l->kind = kind;
	l->index = index;
	c->outstanding++;
	if (dns_txt(c->v->dns, name, on_txt, l) == NULL) {
		c->outstanding--;
		free(l);
	}
}

/* Start the lookups `id` needs; an identity with none (an address link at
 * its expiry) is settled at once. */
static void
start_check(struct verify *v, const struct identity *id)
{
	struct check *c = xcalloc(1, sizeof(*c));
	char name[DNS_NAME_MAX + 64];
	struct err e = {0};

	c->v = v;
	snprintf(c->region, sizeof(c->region), "%s", id->region);
	snprintf(c->account_id, sizeof(c->account_id), "%s", id->account_id);
	c->name = xstrdup(id->name);
	c->next = v->inflight;
	v->inflight = c;
	c->outstanding = 1; /* held until every lookup is started */
	if (v->dns == NULL) {
		c->tempfail = true;
		answered(c, DNS_OK);
		return;
	}

	if (id->type == IDENTITY_DOMAIN && is_pending(id->status) && id->token != NULL) {
		c->r.domain_token = xstrdup(id->token);
		snprintf(name, sizeof(name), "_amazonses.%s", id->name);
		ask_txt(c, name, L_DOMAIN, 0);
	}
	bool dkim = is_pending(id->dkim_status) && id->dkim_tokens[0] != NULL;
	bool ed = is_pending(id->dkim_ed25519_status) && id->dkim_tokens[0] != NULL;
	if (dkim || ed) {
		if (dkim_keys_public(v->vault, id->dkim_keys_sealed, id->dkim_keys_sealed_len,
				     c->dkim_pub, ed ? &c->dkim_ed_pub : NULL, &e) != 0) {
			log_warn("verify: DKIM keys of %s: %s", id->name, e.message);
		} else {
			/* pinned: a result counts only for these keys (verify_apply) */
			c->r.dkim_keys_pinned = true;
			sha256(id->dkim_keys_sealed, id->dkim_keys_sealed_len, c->r.dkim_keys_sha256);
			for (int i = 0; dkim && i < DKIM_KEYS_N; i++) {
				if (id->dkim_tokens[i] == NULL || c->dkim_pub[i] == NULL)
					continue;
				c->r.dkim_tokens[i] = xstrdup(id->dkim_tokens[i]);
				snprintf(name, sizeof(name), "%s._domainkey.%s", id->dkim_tokens[i],
					 id->name);
				ask_txt(c, name, L_DKIM, i);
			}
			/* a set without an Ed25519 key (older than it) has nothing to ask:
			 * the check stays pending until the window closes */
			if (ed && c->dkim_ed_pub != NULL) {
				char sel[DKIM_ED25519_SELECTOR_LEN + 1];
				c->r.dkim_ed_token = xstrdup(id->dkim_tokens[0]);
				dkim_keys_ed25519_selector(id->dkim_tokens[0], sel, sizeof(sel));
				snprintf(name, sizeof(name), "%s._domainkey.%s", sel, id->name);
				ask_txt(c, name, L_DKIM_ED, 0);
			}
		}
	}
	if (id->mail_from_domain != NULL && is_pending(id->mail_from_status)) {
		c->r.mail_from = xstrdup(id->mail_from_domain);
		verify_mail_from_mx(id->region, c->mx, sizeof(c->mx));
		c->outstanding++;
		if (dns_mx(v->dns, id->mail_from_domain, on_mx, c) == NULL)
			c->outstanding--;
		ask_txt(c, id->mail_from_domain, L_SPF, 0);
	}
	answered(c, DNS_OK); /* drop the hold */
}

struct due_state {
	struct verify *v;
	int started;
};

static int
due_one(void *arg, const struct identity *id)
{
	struct due_state *st = arg;

	if (st->started == CHECK_BATCH)
		return 1;
	if (in_flight(st->v, id))
		return 0;
	st->started++;
	start_check(st->v, id);
	return 0;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct verify *v = arg;
	struct due_state st = {.v = v};
	struct err e = {0};

	if (v->store->ops->identity_due(v->store, (int64_t)time(NULL), due_one, &st, &e) != 0)
		log_warn("verify: listing due identities: %s", e.message);
}

/* loop_cleanup_fn: on the checker's thread, after its loop ended. */
static void
checker_free(void *arg, int i, struct event_base *base)
{
	struct verify *v = arg;

	v->stopping = true;
	dns_free(v->dns); /* cancelled lookups finish (and free) their checks */
	if (v->tick != NULL)
		event_free(v->tick);
	store_close(v->store);
}

/* loop_init_fn: the checker's state, on its thread before its loop runs. */
static int
checker_init(void *arg, int i, struct event_base *base, struct err *e)
{
	struct verify *v = arg;
	const struct conf *c = v->conf;
	struct timeval one = {1, 0};

	v->base = base;
	if ((v->store = store_open(c->db, c->data, e)) == NULL)
		return -1;
	if ((v->dns = dns_new(v->base, c->dns[0] ? c->dns : NULL, e)) == NULL) {
		if (c->dns[0])
			return -1; /* a bad --dns is the operator's to fix */
		/* no usable system resolver: links still expire; DNS checks wait */
		log_err("verify: no DNS resolver (%s); domain, DKIM and MAIL FROM checks are "
			"off until restarted with --dns HOST:PORT",
			e->message);
		err_clear(e);
	}
	v->tick = event_new(v->base, -1, EV_PERSIST, on_tick, v);
	if (v->tick == NULL || event_add(v->tick, &one) != 0)
		return err_set(e, 500, "InternalFailure", "verify: cannot start the timer");
	return 0;
}

struct verify *
verify_start(const struct conf *c, const struct vault *vault, struct err *e)
{
	struct verify *v = xcalloc(1, sizeof(*v));

	v->conf = c;
	v->vault = vault;
	if ((v->group = loop_start("verify", 1, checker_init, checker_free, v, e)) == NULL) {
		free(v);
		return NULL;
	}
	log_info("verify: DNS checker running (resolver %s)", c->dns[0] ? c->dns : "from /etc/resolv.conf");
	return v;
}

void
verify_stop(struct verify *v)
{
	if (v == NULL)
		return;
	loop_stop(v->group); /* in-flight lookups are cancelled by checker_free */
	free(v);
}

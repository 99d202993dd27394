/*
 * verify.h — identity verification: the state rules shared by the API, the
 * /_sesame/verify link handler and the background DNS checker, and the
 * checker itself.
 *
 * What is verified, and how (docs/internals/verify.md has the diagram):
 *   - an address: a Pending identity holds a random link token valid
 *     VERIFY_EMAIL_TTL seconds; GET /_sesame/verify?token=… turns it Success
 *     once; past the expiry it is Failed;
 *   - a domain: TXT `_amazonses.<domain>` must hold its VerificationToken;
 *   - Easy DKIM: TXT `<token>._domainkey.<domain>` = `v=DKIM1; k=rsa; p=…` for
 *     each of the three selectors (all three found → Success);
 *   - beside it (RFC 8463, beyond SES): TXT `<token1>ed._domainkey.<domain>`
 *     = `v=DKIM1; k=ed25519; p=…`, looked up in the DKIM check's rounds; it
 *     never decides the DKIM status, only whether mail also carries an
 *     ed25519-sha256 signature (dkim_ed25519_status). When DKIM settles,
 *     an Ed25519 check still pending settles with it (Failed); publishing
 *     later needs VerifyDomainDkim again, which re-arms that check alone;
 *   - a custom MAIL FROM domain: MX → VERIFY_MAIL_FROM_MX_FMT (region) and
 *     TXT `v=spf1 include:amazonses.com ~all` on the MAIL FROM domain.
 * DNS checks share one schedule per identity (store fields next_check,
 * check_attempts, and token_expires as the end of the window): every
 * VERIFY_FAST_STEP seconds for VERIFY_FAST_PERIOD, then backing off, and
 * whatever is still Pending when the window closes becomes Failed.
 */
#ifndef SESAME_VERIFY_VERIFY_H
#define SESAME_VERIFY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/dkim_keys.h"
#include "store/store.h"
#include "util/err.h"

struct conf;
struct vault;
struct verify;

#define VERIFY_EMAIL_TTL (24 * 3600)   /* a verification link is valid 24 h */
#define VERIFY_DNS_WINDOW (72 * 3600)  /* DNS checks give up after 72 h */
#define VERIFY_FAST_PERIOD 600         /* the first 10 minutes ... */
#define VERIFY_FAST_STEP 10            /* ... are checked every 10 s */
#define VERIFY_MAX_STEP 3600           /* backoff never waits longer than 1 h */
/* The MX host a MAIL FROM domain must point at (priority 10), by region. */
#define VERIFY_MAIL_FROM_MX_FMT "feedback-smtp.%s.amazonses.com"
#define VERIFY_MAIL_FROM_SPF "v=spf1 include:amazonses.com ~all"
#define VERIFY_LINK_TOKEN_BYTES 32     /* 256 bits, base64url without padding */

/* ---- state rules (pure, but for the link's store transition) -------------- */

/* Fresh random tokens: a link token (base64url, 43 chars) and a domain
 * VerificationToken (base64 of 32 bytes, 44 chars). malloc'd. */
char *verify_new_link_token(void);
char *verify_new_domain_token(void);

/* True if any DNS check of `id` is Pending: the domain TXT (domain identities),
 * Easy DKIM, its Ed25519 record, or the MAIL FROM domain. */
bool verify_dns_pending(const struct identity *id);

/*
 * (Re)start the DNS window of `id` after a check became Pending: check at
 * once, and give up VERIFY_DNS_WINDOW from now. An address whose link is
 * still pending keeps its link expiry as the end of the window (the link
 * must not outlive 24 h); its window opens when the link is used.
 */
void verify_arm(struct identity *id, int64_t now);

/* Issue a fresh link for an address identity: Pending, expiry now +
 * VERIFY_EMAIL_TTL, next_check set so the checker fails it on time. The
 * link's token is returned (malloc'd, for the mail) and only its digest
 * (verify_link_digest) is kept in id->token: the store never holds a
 * usable link. */
char *verify_email_issue(struct identity *id, int64_t now);

/* What the store keeps of a link token: its SHA-256, hex. */
void verify_link_digest(const char *token, char out[65]);

/* What using an address's verification link did (verify_email_confirm). */
enum verify_link {
	VERIFY_LINK_ERROR = -1, /* the store failed (e filled): a temporary failure */
	VERIFY_LINK_OK,         /* Pending → Success now, by this call */
	VERIFY_LINK_USED,       /* already Success: the link worked before */
	VERIFY_LINK_EXPIRED,    /* past its 24 h: the identity is (now) Failed */
	VERIFY_LINK_INVALID,    /* no address link: unknown, replaced, deleted, or a
				 * domain's token */
};

/*
 * Use the link `token` at `now`: one atomic store operation
 * (identity_verify_token) turns a Pending address Success — opening the
 * window of a DKIM or MAIL FROM check pending on it (verify_arm's rule) —
 * or, past its expiry, Failed. Of two simultaneous clicks only one gets
 * VERIFY_LINK_OK; a deleted identity stays deleted (INVALID). A used link
 * keeps its token, so using it again answers VERIFY_LINK_USED rather than
 * "unknown". `out` holds the identity for OK, USED and EXPIRED and is
 * zeroed otherwise; release it with identity_clear in every case.
 */
enum verify_link verify_email_confirm(struct store *s, const char *token, int64_t now,
				      struct identity *out, struct err *e);

/*
 * The status to show for `status` of `id` at `now`: Pending past the end of
 * its window reads Failed even before the checker has written it down.
 */
const char *verify_status_at(const struct identity *id, const char *status, int64_t now);

/*
 * Ask the checker to look at `id` as soon as possible (a Get…Attributes call
 * on a pending identity): sets next_check = now. Returns true when `id`
 * changed; the caller then stores next_check alone
 * (identity_set_next_check), never the whole row.
 */
bool verify_request_check(struct identity *id, int64_t now);

/* What one round of DNS lookups for an identity asked and found. */
struct verify_result {
	char *domain_token;              /* TXT _amazonses asked for it (NULL: not asked) */
	bool domain_found;
	char *dkim_tokens[DKIM_KEYS_N];  /* selectors asked (NULL: not asked) */
	bool dkim_found[DKIM_KEYS_N];
	bool dkim_keys_pinned;           /* the public keys asked were those of the
					  * sealed set whose SHA-256 is below */
	uint8_t dkim_keys_sha256[32];
	char *dkim_ed_token;             /* the first selector whose Ed25519 record
					  * <token>ed was asked (NULL: not asked) */
	bool dkim_ed_found;
	char *mail_from;                 /* MAIL FROM domain asked (NULL: not asked) */
	bool mx_found, spf_found;        /* its MX and SPF records */
};

/*
 * Apply a round's results to `id` as it is in the store *now* (read again
 * after the lookups) and reschedule it: a result counts only if what was
 * asked is still what `id` holds (selectors: three for Easy DKIM, the
 * owner's one for BYODKIM; and, when pinned, the sealed keys); DKIM
 * verified also verifies a pending domain (SES); the Ed25519 record found turns dkim_ed25519_status
 * Success, and an Ed25519 check still Pending when DKIM leaves Pending in
 * this round turns Failed; at the end of the window whatever is still
 * Pending becomes Failed. Pure; changes only the four status fields,
 * token_expires, next_check and check_attempts (never a string). Returns true when `id`
 * changed and must be stored — by identity_cas_checks over the row as read.
 */
bool verify_apply(struct identity *id, const struct verify_result *r, int64_t now);

/* The MX exchange a MAIL FROM domain of `region` must publish (into out). */
void verify_mail_from_mx(const char *region, char *out, size_t cap);

/*
 * The link a verification mail carries for `token`:
 * `<--public-url>/_sesame/verify?token=<token>` (public-url defaults to
 * `http://<--http>`; a trailing '/' is not doubled). Returns 0, or -1 when
 * it does not fit in cap bytes. For the sending code that mails the link.
 */
int verify_mail_link(const struct conf *c, const char *token, char *out, size_t cap);

/* ---- the background checker -------------------------------------------- */

/*
 * Start the checker thread: its own event_base, store handle and DNS
 * resolver (`c->dns` HOST:PORT overrides /etc/resolv.conf). Once a second
 * it takes the identities whose next_check is due and runs their checks.
 * NULL with `e` filled on failure. `v` must outlive the checker (DKIM public
 * keys are derived from the sealed keys).
 */
struct verify *verify_start(const struct conf *c, const struct vault *v, struct err *e);
/* Stop the thread (in-flight lookups are cancelled) and free it; NULL is a no-op. */
void verify_stop(struct verify *v);

#endif

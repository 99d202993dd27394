/*
 * act_identity.c — the identity actions: verifying addresses (link) and
 * domains (DNS TXT), Easy DKIM, custom MAIL FROM domains, listing and
 * deleting. Identities belong to (request region, caller's account); another
 * account's identities are never visible or changeable here, and an
 * identity ARN of another account is AccessDenied (api_identity_param).
 *
 * The verification state rules (tokens, windows, the checker's schedule)
 * are verify.h's; this file only turns requests into those transitions and
 * stores the result. Unknown identities are left out of attribute maps, as
 * SES does; a Get…Attributes call on an identity with a pending DNS check
 * asks the checker to look again at once.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/act.h"
#include "api/form.h"
#include "api/xml.h"
#include "auth/dkim_keys.h"
#include "core/address.h"
#include "core/identity.h"
#include "mail/build.h"
#include "mail/raw.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "verify/verify.h"

#define LIST_MAX_ITEMS 1000
#define ATTR_MAX_IDENTITIES 100 /* Get…Attributes: at most 100 identities */
#define BEHAVIOR_DEFAULT "UseDefaultValue"
#define BEHAVIOR_REJECT "RejectMessage"

/* ---- helpers --------------------------------------------------------------- */

/* A new identity of the caller with SES's defaults (not stored yet). */
static void
identity_init(struct api_ctx *ctx, struct identity *id, const char *name, enum identity_type type)
{
	memset(id, 0, sizeof(*id));
	snprintf(id->region, sizeof(id->region), "%.31s", ctx->region);
	snprintf(id->account_id, sizeof(id->account_id), "%s", ctx->caller.account_id);
	id->name = xstrdup(name);
	id->type = type;
	snprintf(id->status, sizeof(id->status), "%s", STATUS_PENDING);
	id->created = (int64_t)ctx->now;
	id->dkim_enabled = true;
	snprintf(id->dkim_status, sizeof(id->dkim_status), "%s", STATUS_NOT_STARTED);
	snprintf(id->mail_from_behavior, sizeof(id->mail_from_behavior), "%s", BEHAVIOR_DEFAULT);
	id->forwarding_enabled = true;
}

/* 1 found, 0 absent, -1 error. */
static int
load(struct api_ctx *ctx, const char *name, struct identity *id, struct err *e)
{
	return ctx->store->ops->identity_get(ctx->store, ctx->region, ctx->caller.account_id, name,
					     id, e);
}

static int
put(struct api_ctx *ctx, const struct identity *id, struct err *e)
{
	return ctx->store->ops->identity_put(ctx->store, id, e);
}

static int
no_such_identity(struct api_ctx *ctx, const char *name, struct err *e)
{
	return err_set(e, 400, "InvalidParameterValue",
		       "Identity %s does not exist in region %s for this account.", name,
		       ctx->region);
}

/* The identity parameter `param` (name or own ARN) of an identity that
 * must exist. */
static int
own_identity_param(struct api_ctx *ctx, const char *param, const char *action,
		   struct identity *id, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];
	int rc;

	if (api_identity_param(ctx, param, action, name, sizeof(name), e) != 0)
		return -1;
	if ((rc = load(ctx, name, id, e)) < 0)
		return -1;
	if (rc == 0)
		return no_such_identity(ctx, name, e);
	return 0;
}

/* An address parameter in its normal form; SES's wording for bad ones. */
static int
email_param(struct api_ctx *ctx, const char *param, char *out, size_t cap, struct err *e)
{
	const char *v = api_param(ctx, param, e);
	enum identity_type type;

	if (v == NULL)
		return -1;
	if (identity_kind(v) != IDENTITY_EMAIL)
		return err_set(e, 400, "InvalidParameterValue",
			       "Invalid email address <%.256s>: Missing final '@domain'.", v);
	if (identity_normalise(v, out, cap, &type, e) != 0)
		return -1;
	return 0;
}

static int
domain_param(struct api_ctx *ctx, char *out, size_t cap, struct err *e)
{
	const char *v = api_param(ctx, "Domain", e);

	if (v == NULL)
		return -1;
	return domain_validate(v, out, cap, e);
}

/* The domain part of an identity name (the identity itself for a domain). */
static const char *
domain_of(const struct identity *id)
{
	const char *at = strrchr(id->name, '@');

	return at != NULL ? at + 1 : id->name;
}

static int
enum_error(struct err *e, const char *value, const char *member, const char *set)
{
	return err_set(e, 400, "ValidationError",
		       "1 validation error detected: Value '%.64s' at '%s' failed to satisfy "
		       "constraint: Member must satisfy enum value set: [%s]",
		       value, member, set);
}

/* ---- verifying addresses ---------------------------------------------------- */

/* Where verification mail comes from: a no-reply address at the host of
 * --public-url (SES uses no-reply-aws@amazon.com, which a self-hosted
 * server must not forge). */
static void
verify_sender(const struct conf *c, char *out, size_t cap)
{
	char link[1024];
	const char *host = "localhost", *p, *end;
	size_t n = strlen(host);

	if (verify_mail_link(c, "x", link, sizeof(link)) == 0 && (p = strstr(link, "://")) != NULL) {
		p += 3;
		end = p + strcspn(p, ":/[]");
		if (end > p && strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") >= (size_t)(end - p)) {
			host = p;
			n = (size_t)(end - p);
		}
	}
	/* an IP literal or bare name is no mail domain */
	if (memchr(host, '.', n) == NULL || strspn(host, "0123456789.") == n) {
		host = "localhost";
		n = strlen(host);
	}
	snprintf(out, cap, "no-reply-sesame@%.*s", (int)n, host);
}

static void
verify_mail_done(void *arg, const char *message_id, const struct err *e)
{
	struct api_ctx *ctx = arg;

	if (e != NULL)
		log_warn("verify: mail not queued: %s", e->message);
	api_complete(ctx, e);
}

/*
 * Queue the verification mail for the address identity `id`, charged to
 * nobody. Returns API_PENDING (the request is answered once the mail is
 * durable), or -1.
 */
static int
send_verification_mail(struct api_ctx *ctx, const struct identity *id, const char *token,
		       struct err *e)
{
	char link[1024], sender[300], date[40], mid[200], *text = NULL;
	struct address from, to;
	struct queue_msg m = {0};
	struct buf out;
	int rc = -1;

	if (verify_mail_link(ctx->conf, token, link, sizeof(link)) != 0)
		return err_set(e, 500, "InternalFailure", "The verification link is too long.");
	verify_sender(ctx->conf, sender, sizeof(sender));
	if (address_parse(sender, strlen(sender), &from, e) != 0 ||
	    address_parse(id->name, strlen(id->name), &to, e) != 0)
		return -1;
	text = xasprintf("Dear sesame customer,\r\n\r\n"
			 "We have received a request to authorize this email address for use "
			 "with sesame (Amazon SES API) in region %s. If you requested this "
			 "verification, please go to the following URL to confirm that you are "
			 "authorized to use this email address:\r\n\r\n%s\r\n\r\n"
			 "Your request will not be processed unless you confirm the address "
			 "using this URL. This link expires 24 hours after your original "
			 "verification request.\r\n\r\n"
			 "If you did NOT request to verify this email address, do not click on "
			 "the link.\r\n",
			 ctx->region, link);
	queue_message_id(m.id);
	raw_date((long long)ctx->now, date);
	build_message_id(ctx->region, m.id, mid, sizeof(mid));
	struct build_email b = {
		.from = &from,
		.to = &to,
		.nto = 1,
		.subject = "sesame Email Address Verification Request",
		.text = text,
		.date = date,
		.message_id = mid,
	};
	buf_init(&out, 0);
	if (build_email(&b, &out, e) != 0)
		goto done;
	snprintf(m.region, sizeof(m.region), "%s", ctx->region);
	/* m.sending_account stays "": sesame's own mail counts for nobody */
	m.principal = xstrdup("sesame");
	snprintf(m.source_ip, sizeof(m.source_ip), "%s", ctx->source_ip);
	m.source = xstrdup(from.spec);
	m.from_addr = xstrdup(from.spec);
	m.subject = xstrdup(b.subject);
	m.ndestinations = 1;
	m.destinations = xcalloc(1, sizeof(*m.destinations));
	m.destinations[0] = xstrdup(to.spec);
	m.raw = (uint8_t *)buf_steal(&out, &m.raw_len);
	queue_submit(ctx->t->shared.queue, &m, ctx->t->base, verify_mail_done, ctx);
	rc = API_PENDING;
done:
	buf_free(&out);
	free(text);
	return rc;
}

int
act_identity_verify_email(struct api_ctx *ctx, const char *name, const char *config_set,
			  struct err *e)
{
	struct identity id = {0};
	int rc;

	if ((rc = load(ctx, name, &id, e)) < 0)
		return -1;
	if (rc == 1 && strcmp(id.status, STATUS_SUCCESS) == 0) {
		identity_clear(&id); /* already verified: nothing changes (SES) */
		return 0;
	}
	if (rc == 0)
		identity_init(ctx, &id, name, IDENTITY_EMAIL);
	if (config_set != NULL) {
		free(id.config_set);
		id.config_set = xstrdup(config_set);
	}
	char *token = verify_email_issue(&id, (int64_t)ctx->now);
	rc = put(ctx, &id, e);
	if (rc == 0)
		rc = send_verification_mail(ctx, &id, token, e);
	OPENSSL_cleanse(token, strlen(token));
	free(token);
	identity_clear(&id);
	return rc;
}

static int
verify_email(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];

	if (email_param(ctx, "EmailAddress", name, sizeof(name), e) != 0)
		return -1;
	return act_identity_verify_email(ctx, name, NULL, e);
}

int
act_verify_email_identity(struct api_ctx *ctx, struct err *e)
{
	return verify_email(ctx, e);
}

int
act_verify_email_address(struct api_ctx *ctx, struct err *e)
{
	return verify_email(ctx, e);
}

/* ---- verifying domains ------------------------------------------------------- */

/*
 * Load or create the domain identity `name` and make sure it has a TXT
 * token and, unless verified, a running check. *changed tells whether it
 * must be stored.
 */
static int
domain_identity(struct api_ctx *ctx, const char *name, struct identity *id, bool *changed,
		struct err *e)
{
	int rc = load(ctx, name, id, e);

	if (rc < 0)
		return -1;
	*changed = false;
	if (rc == 0) {
		identity_init(ctx, id, name, IDENTITY_DOMAIN);
		*changed = true;
	}
	if (id->token == NULL) {
		id->token = verify_new_domain_token();
		*changed = true;
	}
	if (strcmp(id->status, STATUS_SUCCESS) != 0 &&
	    (rc == 0 || strcmp(id->status, STATUS_PENDING) != 0 ||
	     verify_status_at(id, id->status, (int64_t)ctx->now) != id->status)) {
		/* new, Failed, or a Pending whose window ran out: start over */
		snprintf(id->status, sizeof(id->status), "%s", STATUS_PENDING);
		verify_arm(id, (int64_t)ctx->now);
		*changed = true;
	}
	return 0;
}

int
act_verify_domain_identity(struct api_ctx *ctx, struct err *e)
{
	char name[ADDRESS_DOMAIN_MAX + 1];
	struct identity id = {0};
	bool changed;
	int rc;

	if (domain_param(ctx, name, sizeof(name), e) != 0)
		return -1;
	if (domain_identity(ctx, name, &id, &changed, e) != 0)
		return -1;
	rc = changed ? put(ctx, &id, e) : 0;
	if (rc == 0)
		rc = xml_elem(ctx->out, "VerificationToken", id.token);
	identity_clear(&id);
	return rc;
}

/* A DKIM check in `status` starts (again) on VerifyDomainDkim: it is not
 * Success, and not a Pending whose window is still open. */
static bool
dkim_restart(const struct identity *id, const char *status, int64_t now)
{
	return strcmp(status, STATUS_SUCCESS) != 0 &&
	       (strcmp(status, STATUS_PENDING) != 0 || verify_status_at(id, status, now) != status);
}

/* Forget the DKIM setup of `id` (selectors, keys, statuses, origin). */
static void
dkim_forget(struct identity *id)
{
	for (int i = 0; i < DKIM_KEYS_N; i++) {
		free(id->dkim_tokens[i]);
		id->dkim_tokens[i] = NULL;
	}
	free(id->dkim_keys_sealed);
	id->dkim_keys_sealed = NULL;
	id->dkim_keys_sealed_len = 0;
	id->dkim_external = false;
	snprintf(id->dkim_status, sizeof(id->dkim_status), "%s", STATUS_NOT_STARTED);
	snprintf(id->dkim_ed25519_status, sizeof(id->dkim_ed25519_status), "%s",
		 STATUS_NOT_STARTED);
}

int
act_identity_domain_dkim(struct api_ctx *ctx, const char *name, bool easy, struct identity *out,
			 struct err *e)
{
	char tokens[DKIM_KEYS_N][DKIM_TOKEN_LEN + 1];
	struct identity id = {0};
	bool changed, arm = false;
	int rc = -1;

	if (domain_identity(ctx, name, &id, &changed, e) != 0)
		return -1;
	if (id.dkim_external && easy) {
		/* back from BYODKIM to Easy DKIM: sesame's keys, made afresh below */
		dkim_forget(&id);
		changed = true;
	}
	if (id.dkim_external) {
		/* BYODKIM (VerifyDomainDkim on it): the owner's key and selector stay;
		 * only a failed check starts over, below */
	} else if (id.dkim_tokens[0] == NULL || id.dkim_keys_sealed == NULL) {
		/* first call: three selectors, a key each, and the Ed25519 key
		 * (same tokens and keys on later calls) */
		dkim_keys_tokens(tokens);
		free(id.dkim_keys_sealed);
		id.dkim_keys_sealed = NULL;
		if (dkim_keys_generate(ctx->t->vault, &id.dkim_keys_sealed,
				       &id.dkim_keys_sealed_len, e) != 0)
			goto out;
		for (int i = 0; i < DKIM_KEYS_N; i++) {
			free(id.dkim_tokens[i]);
			id.dkim_tokens[i] = xstrdup(tokens[i]);
		}
		snprintf(id.dkim_status, sizeof(id.dkim_status), "%s", STATUS_NOT_STARTED);
		snprintf(id.dkim_ed25519_status, sizeof(id.dkim_ed25519_status), "%s",
			 STATUS_NOT_STARTED);
		id.dkim_enabled = true;
		changed = true;
	} else {
		/* a set sealed before Ed25519 support gets its key now */
		uint8_t *sealed;
		size_t sealed_len;
		int r = dkim_keys_add_ed25519(ctx->t->vault, id.dkim_keys_sealed,
					      id.dkim_keys_sealed_len, &sealed, &sealed_len, e);
		if (r < 0)
			goto out;
		if (r == 1) {
			free(id.dkim_keys_sealed);
			id.dkim_keys_sealed = sealed;
			id.dkim_keys_sealed_len = sealed_len;
			snprintf(id.dkim_ed25519_status, sizeof(id.dkim_ed25519_status), "%s",
				 STATUS_NOT_STARTED);
			changed = true;
		}
	}
	if (dkim_restart(&id, id.dkim_status, (int64_t)ctx->now)) {
		snprintf(id.dkim_status, sizeof(id.dkim_status), "%s", STATUS_PENDING);
		arm = true;
	}
	/* The Ed25519 record is looked for in the DKIM check's rounds; on a
	 * verified DKIM it gets a window of its own, the RSA status untouched
	 * (docs/internals/verify.md "The Ed25519 record"). A BYODKIM key has
	 * no Ed25519 companion. */
	if (!id.dkim_external && dkim_restart(&id, id.dkim_ed25519_status, (int64_t)ctx->now)) {
		snprintf(id.dkim_ed25519_status, sizeof(id.dkim_ed25519_status), "%s",
			 STATUS_PENDING);
		if (strcmp(id.dkim_status, STATUS_SUCCESS) == 0)
			arm = true;
		changed = true;
	}
	if (arm) {
		verify_arm(&id, (int64_t)ctx->now);
		changed = true;
	}
	if (changed && put(ctx, &id, e) != 0)
		goto out;
	*out = id;
	return 0;
out:
	identity_clear(&id);
	return rc;
}

/* Does the set `a` hold the same public key 0 as the set `b`? false on
 * any failure (then the caller treats the key as new). */
static bool
same_key(struct api_ctx *ctx, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	char *pa[DKIM_KEYS_N], *pb[DKIM_KEYS_N];
	struct err ignored = {0};
	bool same = false;

	if (a == NULL || b == NULL ||
	    dkim_keys_public(ctx->t->vault, a, an, pa, NULL, &ignored) != 0)
		return false;
	if (dkim_keys_public(ctx->t->vault, b, bn, pb, NULL, &ignored) == 0) {
		same = pa[0] != NULL && pb[0] != NULL && strcmp(pa[0], pb[0]) == 0;
		for (int i = 0; i < DKIM_KEYS_N; i++)
			free(pb[i]);
	}
	for (int i = 0; i < DKIM_KEYS_N; i++)
		free(pa[i]);
	return same;
}

int
act_identity_domain_byodkim(struct api_ctx *ctx, const char *name, const char *selector,
			    const uint8_t *sealed, size_t sealed_len, struct identity *out,
			    struct err *e)
{
	struct identity id = {0};
	bool changed;

	if (domain_identity(ctx, name, &id, &changed, e) != 0)
		return -1;
	/* the same key under the same selector again (a re-applied
	 * configuration): nothing changes, a verified record stays verified */
	if (id.dkim_external && id.dkim_tokens[0] != NULL &&
	    strcmp(id.dkim_tokens[0], selector) == 0 &&
	    same_key(ctx, id.dkim_keys_sealed, id.dkim_keys_sealed_len, sealed, sealed_len)) {
		if (dkim_restart(&id, id.dkim_status, (int64_t)ctx->now)) {
			snprintf(id.dkim_status, sizeof(id.dkim_status), "%s", STATUS_PENDING);
			verify_arm(&id, (int64_t)ctx->now);
			changed = true;
		}
	} else {
		/* the first DKIM setup of the domain signs from the start (as
		 * VerifyDomainDkim's); a change keeps the owner's SigningEnabled */
		if (id.dkim_tokens[0] == NULL)
			id.dkim_enabled = true;
		dkim_forget(&id);
		id.dkim_external = true;
		id.dkim_tokens[0] = xstrdup(selector);
		id.dkim_keys_sealed = xmalloc(sealed_len);
		memcpy(id.dkim_keys_sealed, sealed, sealed_len);
		id.dkim_keys_sealed_len = sealed_len;
		snprintf(id.dkim_status, sizeof(id.dkim_status), "%s", STATUS_PENDING);
		verify_arm(&id, (int64_t)ctx->now);
		changed = true;
	}
	if (changed && put(ctx, &id, e) != 0) {
		identity_clear(&id);
		return -1;
	}
	*out = id;
	return 0;
}

int
act_verify_domain_dkim(struct api_ctx *ctx, struct err *e)
{
	char name[ADDRESS_DOMAIN_MAX + 1];
	struct identity id = {0};
	int rc;

	if (domain_param(ctx, name, sizeof(name), e) != 0)
		return -1;
	/* a BYODKIM domain keeps the owner's key: its one token is the selector */
	if (act_identity_domain_dkim(ctx, name, false, &id, e) != 0)
		return -1;
	xml_open(ctx->out, "DkimTokens");
	for (int i = 0; i < DKIM_KEYS_N && id.dkim_tokens[i] != NULL; i++)
		xml_elem(ctx->out, "member", id.dkim_tokens[i]);
	rc = xml_close(ctx->out, "DkimTokens");
	identity_clear(&id);
	return rc;
}

/* ---- attribute maps ---------------------------------------------------------- */

/*
 * Walk `Identities.member.N` (required, ≤ 100): each value is a name or an
 * ARN of the caller's own account (another account's ARN fails the whole
 * call, as SES's authorization would); names that are malformed, unknown or
 * repeated are skipped. `emit` writes one map entry, keyed by the value as
 * the caller sent it, and may bring the identity's next check forward
 * (returning 1 to store next_check).
 */
typedef int (*attr_emit)(struct api_ctx *ctx, const char *key, struct identity *id,
			 struct err *e);

static int
attribute_map(struct api_ctx *ctx, const char *action, const char *map, attr_emit emit,
	      struct err *e)
{
	struct form_list l = {0};
	int rc = -1;

	if (form_list(ctx->form, "Identities", ATTR_MAX_IDENTITIES, &l, e) != 0)
		return -1;
	if (!l.present) {
		form_list_free(&l);
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameter Identities.");
	}
	xml_open(ctx->out, map);
	for (size_t i = 0; i < l.n; i++) {
		char name[IDENTITY_NAME_MAX + 1], param[64];
		struct identity id = {0};
		enum identity_type type;
		bool dup = false;
		int r;

		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(l.values[j], l.values[i]) == 0;
		if (dup)
			continue;
		if (strncmp(l.values[i], "arn:", 4) == 0) {
			snprintf(param, sizeof(param), "Identities.member.%lu", l.index[i]);
			if (api_identity_param(ctx, param, action, name, sizeof(name), e) != 0)
				goto out;
		} else {
			struct err ignored = {0};
			if (identity_normalise(l.values[i], name, sizeof(name), &type, &ignored) != 0)
				continue;
		}
		if ((r = load(ctx, name, &id, e)) < 0)
			goto out;
		if (r == 0)
			continue;
		xml_open(ctx->out, "entry");
		xml_elem(ctx->out, "key", l.values[i]);
		xml_open(ctx->out, "value");
		r = emit(ctx, l.values[i], &id, e);
		xml_close(ctx->out, "value");
		xml_close(ctx->out, "entry");
		/* "check now": that column alone, never the whole row */
		if (r == 1 && ctx->store->ops->identity_set_next_check(ctx->store, id.region,
								       id.account_id, id.name,
								       id.next_check, e) < 0)
			r = -1;
		identity_clear(&id);
		if (r < 0)
			goto out;
	}
	rc = xml_close(ctx->out, map);
out:
	form_list_free(&l);
	return rc;
}

static int
emit_verification(struct api_ctx *ctx, const char *key, struct identity *id, struct err *e)
{
	xml_elem(ctx->out, "VerificationStatus", verify_status_at(id, id->status, (int64_t)ctx->now));
	if (id->type == IDENTITY_DOMAIN)
		xml_elem(ctx->out, "VerificationToken", id->token);
	return verify_request_check(id, (int64_t)ctx->now) ? 1 : 0;
}

int
act_get_identity_verification_attributes(struct api_ctx *ctx, struct err *e)
{
	return attribute_map(ctx, "GetIdentityVerificationAttributes", "VerificationAttributes",
			     emit_verification, e);
}

static int
emit_dkim(struct api_ctx *ctx, const char *key, struct identity *id, struct err *e)
{
	struct identity dom = {0};
	const struct identity *src = id;
	int r;

	if (id->type == IDENTITY_EMAIL) {
		/* an address's DKIM is its domain's Easy DKIM setup */
		if ((r = load(ctx, domain_of(id), &dom, e)) < 0)
			return -1;
		src = r == 1 ? &dom : NULL;
	}
	xml_elem(ctx->out, "DkimEnabled", id->dkim_enabled ? "true" : "false");
	if (src == NULL || src->dkim_tokens[0] == NULL) {
		xml_elem(ctx->out, "DkimVerificationStatus", STATUS_NOT_STARTED);
	} else {
		xml_elem(ctx->out, "DkimVerificationStatus",
			 verify_status_at(src, src->dkim_status, (int64_t)ctx->now));
		xml_open(ctx->out, "DkimTokens");
		for (int i = 0; i < DKIM_KEYS_N && src->dkim_tokens[i] != NULL; i++)
			xml_elem(ctx->out, "member", src->dkim_tokens[i]);
		xml_close(ctx->out, "DkimTokens");
	}
	identity_clear(&dom);
	return verify_request_check(id, (int64_t)ctx->now) ? 1 : 0;
}

int
act_get_identity_dkim_attributes(struct api_ctx *ctx, struct err *e)
{
	return attribute_map(ctx, "GetIdentityDkimAttributes", "DkimAttributes", emit_dkim, e);
}

static int
emit_mail_from(struct api_ctx *ctx, const char *key, struct identity *id, struct err *e)
{
	if (id->mail_from_domain != NULL) {
		xml_elem(ctx->out, "MailFromDomain", id->mail_from_domain);
		xml_elem(ctx->out, "MailFromDomainStatus",
			 verify_status_at(id, id->mail_from_status, (int64_t)ctx->now));
	}
	xml_elem(ctx->out, "BehaviorOnMXFailure",
		 id->mail_from_behavior[0] ? id->mail_from_behavior : BEHAVIOR_DEFAULT);
	return verify_request_check(id, (int64_t)ctx->now) ? 1 : 0;
}

int
act_get_identity_mail_from_domain_attributes(struct api_ctx *ctx, struct err *e)
{
	return attribute_map(ctx, "GetIdentityMailFromDomainAttributes",
			     "MailFromDomainAttributes", emit_mail_from, e);
}

/* ---- settings ----------------------------------------------------------------- */

int
act_set_identity_dkim_enabled(struct api_ctx *ctx, struct err *e)
{
	bool enabled = false;

	if (api_param_bool(ctx, "DkimEnabled", true, &enabled, e) != 0)
		return -1;
	return act_identity_set_dkim(ctx, "Identity", "SetIdentityDkimEnabled", enabled, e);
}

int
act_identity_set_dkim(struct api_ctx *ctx, const char *param, const char *action, bool enabled,
		      struct err *e)
{
	struct identity id = {0}, dom = {0};
	int rc = -1, r;

	if (own_identity_param(ctx, param, action, &id, e) != 0)
		return -1;
	if (enabled) {
		/* signing needs keys: the domain's Easy DKIM setup (SES's rule) */
		const struct identity *src = &id;
		if (id.type == IDENTITY_EMAIL) {
			if ((r = load(ctx, domain_of(&id), &dom, e)) < 0)
				goto out;
			src = r == 1 ? &dom : NULL;
		}
		if (src == NULL || src->dkim_tokens[0] == NULL) {
			err_set(e, 400, "InvalidParameterValue",
				"Easy DKIM is not set up for domain %s; call VerifyDomainDkim for it "
				"first.",
				domain_of(&id));
			goto out;
		}
	}
	if (id.dkim_enabled == enabled) {
		rc = 0;
		goto out;
	}
	id.dkim_enabled = enabled;
	rc = put(ctx, &id, e);
out:
	identity_clear(&id);
	identity_clear(&dom);
	return rc;
}

/* Is `sub` a proper subdomain of `parent`, label-aligned? */
static bool
is_subdomain(const char *sub, const char *parent)
{
	size_t s = strlen(sub), p = strlen(parent);

	return s > p + 1 && sub[s - p - 1] == '.' && strcasecmp(sub + s - p, parent) == 0;
}

int
act_set_identity_mail_from_domain(struct api_ctx *ctx, struct err *e)
{
	const char *beh = api_param_opt(ctx, "BehaviorOnMXFailure");

	if (beh != NULL && strcmp(beh, BEHAVIOR_DEFAULT) != 0 && strcmp(beh, BEHAVIOR_REJECT) != 0)
		return enum_error(e, beh, "behaviorOnMXFailure", "UseDefaultValue, RejectMessage");
	return act_identity_set_mail_from(ctx, "Identity", "SetIdentityMailFromDomain",
					  api_param_opt(ctx, "MailFromDomain"), beh, e);
}

int
act_identity_set_mail_from(struct api_ctx *ctx, const char *param, const char *action,
			   const char *md, const char *beh, struct err *e)
{
	char domain[ADDRESS_DOMAIN_MAX + 1];
	struct identity id = {0};
	int rc = -1;

	if (own_identity_param(ctx, param, action, &id, e) != 0)
		return -1;
	snprintf(id.mail_from_behavior, sizeof(id.mail_from_behavior), "%s",
		 beh != NULL ? beh : BEHAVIOR_DEFAULT);
	if (md == NULL || md[0] == '\0') {
		/* no MailFromDomain: custom MAIL FROM off */
		free(id.mail_from_domain);
		id.mail_from_domain = NULL;
		id.mail_from_status[0] = '\0';
		if (!verify_dns_pending(&id) && !(id.type == IDENTITY_EMAIL &&
						  strcmp(id.status, STATUS_PENDING) == 0))
			id.next_check = 0;
		rc = put(ctx, &id, e);
		goto out;
	}
	if (domain_validate(md, domain, sizeof(domain), e) != 0)
		goto out;
	if (!is_subdomain(domain, domain_of(&id))) {
		err_set(e, 400, "InvalidParameterValue",
			"Provided MAIL-FROM domain '%s' is not subdomain of the domain of the "
			"identity '%s'.",
			domain, domain_of(&id));
		goto out;
	}
	if (id.mail_from_domain == NULL || strcmp(id.mail_from_domain, domain) != 0 ||
	    strcmp(id.mail_from_status, STATUS_SUCCESS) != 0) {
		free(id.mail_from_domain);
		id.mail_from_domain = xstrdup(domain);
		snprintf(id.mail_from_status, sizeof(id.mail_from_status), "%s", STATUS_PENDING);
		verify_arm(&id, (int64_t)ctx->now);
	}
	rc = put(ctx, &id, e);
out:
	identity_clear(&id);
	return rc;
}

/* ---- listing ----------------------------------------------------------------- */

struct list_state {
	struct api_ctx *ctx;
	int count;
	int limit;
	char *last;
};

static int
list_one(void *arg, const struct identity *id)
{
	struct list_state *st = arg;

	if (st->count == st->limit) {
		/* one more than a page exists: the page ends at `last` */
		st->count++;
		return 1;
	}
	xml_elem(st->ctx->out, "member", id->name);
	free(st->last);
	st->last = xstrdup(id->name);
	st->count++;
	return 0;
}

int
act_list_identities(struct api_ctx *ctx, struct err *e)
{
	const char *type = api_param_opt(ctx, "IdentityType");
	const char *max = api_param_opt(ctx, "MaxItems");
	const char *token = api_param_opt(ctx, "NextToken");
	struct list_state st = {.ctx = ctx, .limit = LIST_MAX_ITEMS};
	char *after = NULL;
	int kind = -1, rc;

	if (type != NULL && type[0] != '\0') {
		if (strcmp(type, "EmailAddress") == 0)
			kind = IDENTITY_EMAIL;
		else if (strcmp(type, "Domain") == 0)
			kind = IDENTITY_DOMAIN;
		else
			return enum_error(e, type, "identityType", "Domain, EmailAddress");
	}
	if (max != NULL) {
		char *end;
		errno = 0;
		long n = strtol(max, &end, 10);
		if (errno || end == max || *end || n < 1 || n > LIST_MAX_ITEMS)
			return err_set(e, 400, "InvalidParameterValue",
				       "MaxItems must be an integer between 1 and %d.", LIST_MAX_ITEMS);
		st.limit = (int)n;
	}
	if (token != NULL && token[0] != '\0') {
		size_t n;
		uint8_t *raw = base64_decode(token, strlen(token), &n);
		if (raw == NULL || n == 0 || memchr(raw, '\0', n) != NULL) {
			free(raw);
			return err_set(e, 400, "InvalidParameterValue", "Invalid NextToken.");
		}
		after = xstrndup((const char *)raw, n);
		free(raw);
	}
	xml_open(ctx->out, "Identities");
	rc = ctx->store->ops->identity_list(ctx->store, ctx->region, ctx->caller.account_id, kind,
					    after, st.limit + 1, list_one, &st, e);
	free(after);
	if (rc < 0) {
		free(st.last);
		return -1;
	}
	xml_close(ctx->out, "Identities");
	if (st.count > st.limit && st.last != NULL) {
		char *next = base64_encode(st.last, strlen(st.last));
		xml_elem(ctx->out, "NextToken", next);
		free(next);
	}
	free(st.last);
	return 0;
}

struct verified_state {
	struct api_ctx *ctx;
	char *last;
	int n;
};

static int
verified_one(void *arg, const struct identity *id)
{
	struct verified_state *st = arg;

	if (strcmp(id->status, STATUS_SUCCESS) == 0)
		xml_elem(st->ctx->out, "member", id->name);
	free(st->last);
	st->last = xstrdup(id->name);
	st->n++;
	return 0;
}

int
act_list_verified_email_addresses(struct api_ctx *ctx, struct err *e)
{
	struct verified_state st = {.ctx = ctx};
	int rc = 0;

	xml_open(ctx->out, "VerifiedEmailAddresses");
	do {
		st.n = 0;
		rc = ctx->store->ops->identity_list(ctx->store, ctx->region, ctx->caller.account_id,
						    IDENTITY_EMAIL, st.last, LIST_MAX_ITEMS,
						    verified_one, &st, e);
	} while (rc == 0 && st.n == LIST_MAX_ITEMS);
	free(st.last);
	if (rc != 0)
		return -1;
	return xml_close(ctx->out, "VerifiedEmailAddresses");
}

/* ---- deleting ------------------------------------------------------------------ */

int
act_delete_identity(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];

	if (api_identity_param(ctx, "Identity", "DeleteIdentity", name, sizeof(name), e) != 0)
		return -1;
	/* the store drops its policies too; deleting what is not there succeeds (SES) */
	return ctx->store->ops->identity_delete(ctx->store, ctx->region, ctx->caller.account_id,
						name, e) < 0 ? -1 : 0;
}

int
act_delete_verified_email_address(struct api_ctx *ctx, struct err *e)
{
	char name[IDENTITY_NAME_MAX + 1];

	if (email_param(ctx, "EmailAddress", name, sizeof(name), e) != 0)
		return -1;
	return ctx->store->ops->identity_delete(ctx->store, ctx->region, ctx->caller.account_id,
						name, e) < 0 ? -1 : 0;
}

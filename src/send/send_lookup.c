/*
 * send_lookup.c — the store, as authz_decide sees it, behind a per-thread
 * cache of compiled policies; see send_lookup.h.
 *
 * The cache is a chained hash table of identities and a list of IAM users.
 * Both are emptied whole when the store's generation moves (any identity,
 * policy or user write) or when they grow past SEND_LOOKUP_MAX_ENTRIES;
 * nothing is evicted between two syncs, which is what keeps the pointers
 * handed to one decision valid. Negative answers (absent identity, user
 * without policy) are cached too: a send to an unverified address costs
 * one probe, not a store read per candidate.
 */
#include "send/send_lookup.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/identity.h"
#include "core/policy.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xalloc.h"

#define NBUCKETS 1024 /* power of two */
#define MAX_POLICIES 20 /* per identity (PutIdentityPolicy's cap) */

struct entry {
	struct entry *next;
	char *key;                  /* "region\naccount\nname" */
	int found;                  /* 1 exists, 0 absent */
	bool verified;
	struct policy **pol;
	size_t npol;
	struct send_leaving leaving; /* owned strings and key blob */
};

static void
leaving_free(struct send_leaving *l)
{
	free((char *)l->mail_from_domain);
	for (int i = 0; i < 3; i++)
		free((char *)l->dkim_tokens[i]);
	free((uint8_t *)l->dkim_keys_sealed);
	free((char *)l->config_set);
	memset(l, 0, sizeof(*l));
}

/* What of the identity row decides how mail leaves (send_lookup.h). */
static void
leaving_load(struct send_leaving *l, const struct identity *id)
{
	memset(l, 0, sizeof(*l));
	if (id->config_set != NULL)
		l->config_set = xstrdup(id->config_set);
	if (id->mail_from_domain != NULL) {
		l->mail_from_domain = xstrdup(id->mail_from_domain);
		l->mail_from_verified = strcmp(id->mail_from_status, STATUS_SUCCESS) == 0;
		l->mail_from_reject = strcmp(id->mail_from_behavior, "RejectMessage") == 0;
	}
	/* Easy DKIM has three selectors, BYODKIM the owner's one */
	l->dkim = id->type == IDENTITY_DOMAIN && id->dkim_enabled &&
		  strcmp(id->dkim_status, STATUS_SUCCESS) == 0 && id->dkim_keys_sealed != NULL &&
		  id->dkim_tokens[0] != NULL &&
		  (id->dkim_external || (id->dkim_tokens[1] != NULL && id->dkim_tokens[2] != NULL));
	if (!l->dkim)
		return;
	l->dkim_external = id->dkim_external;
	l->dkim_ed25519 = !id->dkim_external && strcmp(id->dkim_ed25519_status, STATUS_SUCCESS) == 0;
	for (int i = 0; i < (id->dkim_external ? 1 : 3); i++)
		l->dkim_tokens[i] = xstrdup(id->dkim_tokens[i]);
	l->dkim_keys_sealed = xmalloc(id->dkim_keys_sealed_len);
	memcpy((uint8_t *)l->dkim_keys_sealed, id->dkim_keys_sealed, id->dkim_keys_sealed_len);
	l->dkim_keys_sealed_len = id->dkim_keys_sealed_len;
}

struct user_entry {
	struct user_entry *next;
	char account[13];
	char name[65];
	struct policy *pol;         /* NULL: no policy (or no user) */
};

struct send_lookup {
	struct store *store;        /* bound by send_lookup_sync */
	bool synced;
	int64_t generation;
	struct entry *bucket[NBUCKETS];
	size_t n;
	struct user_entry *users;
	size_t nusers;
};

struct send_lookup *
send_lookup_new(void)
{
	return xcalloc(1, sizeof(struct send_lookup));
}

static void
flush(struct send_lookup *c)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct entry *en = c->bucket[b], *next;
		for (; en != NULL; en = next) {
			next = en->next;
			for (size_t i = 0; i < en->npol; i++)
				policy_free(en->pol[i]);
			free(en->pol);
			leaving_free(&en->leaving);
			free(en->key);
			free(en);
		}
		c->bucket[b] = NULL;
	}
	c->n = 0;
	for (struct user_entry *u = c->users, *next; u != NULL; u = next) {
		next = u->next;
		policy_free(u->pol);
		free(u);
	}
	c->users = NULL;
	c->nusers = 0;
}

void
send_lookup_free(struct send_lookup *c)
{
	if (c == NULL)
		return;
	flush(c);
	free(c);
}

int
send_lookup_sync(struct send_lookup *c, struct store *s, struct err *e)
{
	int64_t gen;

	if (s->ops->generation(s, &gen, e) != 0)
		return -1;
	if (c->store != s || !c->synced || gen != c->generation ||
	    c->n + c->nusers > SEND_LOOKUP_MAX_ENTRIES)
		flush(c);
	c->store = s;
	c->generation = gen;
	c->synced = true;
	return 0;
}

static size_t
hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)(h & (NBUCKETS - 1));
}

/* Read one identity and its compiled policies from the store. */
static int
load(struct send_lookup *c, const char *region, const char *account, const char *name,
     struct entry *en, struct err *e)
{
	struct identity id = {0};
	struct identity_policy pol[MAX_POLICIES];
	int rc, n;

	rc = c->store->ops->identity_get(c->store, region, account, name, &id, e);
	if (rc < 0)
		return -1;
	en->found = rc;
	en->verified = rc == 1 && strcmp(id.status, STATUS_SUCCESS) == 0;
	if (rc == 1)
		leaving_load(&en->leaving, &id);
	identity_clear(&id);
	if (rc == 0)
		return 0;
	n = c->store->ops->policy_list(c->store, region, account, name, pol, MAX_POLICIES, e);
	if (n < 0)
		return -1;
	en->pol = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*en->pol));
	for (int i = 0; i < n; i++) {
		struct err pe;
		if (policy_compile(pol[i].document, strlen(pol[i].document), POLICY_RESOURCE,
				   &en->pol[en->npol], &pe) != 0) {
			/* a stored policy always compiled when it was put: fail closed */
			log_err("send_lookup: policy %s of %s/%s/%s no longer compiles: %s",
				pol[i].name, region, account, name, pe.message);
			err_temp(e, "A sending authorization policy could not be read.");
			rc = -1;
		} else {
			en->npol++;
		}
	}
	for (int i = 0; i < n; i++)
		identity_policy_clear(&pol[i]);
	return rc < 0 ? -1 : 0;
}

/* The cache entry of (region, account, name), read from the store on a
 * miss: 0 with *out, -1 with a temporary error. */
static int
entry_get(struct send_lookup *c, const char *region, const char *account, const char *name,
	  struct entry **out, struct err *e)
{
	char *k = xasprintf("%s\n%s\n%s", region, account, name);
	size_t b = hash_key(k);
	struct entry *en;

	for (en = c->bucket[b]; en != NULL; en = en->next)
		if (strcmp(en->key, k) == 0)
			break;
	if (en == NULL) {
		en = xcalloc(1, sizeof(*en));
		en->key = k;
		k = NULL;
		if (load(c, region, account, name, en, e) != 0) {
			for (size_t i = 0; i < en->npol; i++)
				policy_free(en->pol[i]);
			free(en->pol);
			leaving_free(&en->leaving);
			free(en->key);
			free(en);
			return -1;
		}
		en->next = c->bucket[b];
		c->bucket[b] = en;
		c->n++;
	}
	free(k);
	*out = en;
	return 0;
}

int
send_lookup_identity(struct send_lookup *c, const char *region, const char *account,
		     const char *name, struct authz_identity *out, struct err *e)
{
	struct entry *en;

	memset(out, 0, sizeof(*out));
	if (entry_get(c, region, account, name, &en, e) != 0)
		return -1;
	if (en->found == 0)
		return 0;
	out->verified = en->verified;
	out->policies = (const struct policy *const *)en->pol;
	out->npolicies = en->npol;
	return 1;
}

int
send_lookup_leaving(struct send_lookup *c, const char *region, const char *account,
		    const char *name, const struct send_leaving **out, struct err *e)
{
	struct entry *en;

	*out = NULL;
	if (entry_get(c, region, account, name, &en, e) != 0)
		return -1;
	if (en->found == 0 || !en->verified)
		return 0;
	*out = &en->leaving;
	return 1;
}

static int
authz_cb(void *arg, const char *region, const char *account_id, const char *name,
	 struct authz_identity *out, struct err *e)
{
	return send_lookup_identity(arg, region, account_id, name, out, e);
}

void
send_lookup_authz(struct send_lookup *c, struct authz_lookup *out)
{
	out->identity = authz_cb;
	out->arg = c;
}

int
send_lookup_user_policy(struct send_lookup *c, const char *account, const char *user,
			const struct policy **out, struct err *e)
{
	struct user_entry *u;
	struct iam_user row = {0};
	int rc;

	*out = NULL;
	for (u = c->users; u != NULL; u = u->next)
		if (strcmp(u->account, account) == 0 && strcmp(u->name, user) == 0) {
			*out = u->pol;
			return 0;
		}
	rc = c->store->ops->user_get(c->store, account, user, &row, e);
	if (rc < 0)
		return -1;
	u = xcalloc(1, sizeof(*u));
	snprintf(u->account, sizeof(u->account), "%s", account);
	snprintf(u->name, sizeof(u->name), "%s", user);
	if (rc == 1 && row.policy != NULL && row.policy[0] != '\0') {
		struct err pe;
		if (policy_compile(row.policy, strlen(row.policy), POLICY_IDENTITY, &u->pol, &pe) !=
		    0) {
			log_err("send_lookup: the policy of user %s/%s no longer compiles: %s",
				account, user, pe.message);
			iam_user_clear(&row);
			free(u);
			return err_temp(e, "The IAM user's policy could not be read.");
		}
	}
	iam_user_clear(&row);
	u->next = c->users;
	c->users = u;
	c->nusers++;
	*out = u->pol;
	return 0;
}

int
send_lookup_covered(struct send_lookup *c, const char *region, const char *account,
		    const char *address, struct err *e)
{
	struct identity_candidates *cand = xmalloc(sizeof(*cand));
	struct err ignored;
	int rc = 0;

	/* an address no identity could cover (bad syntax) is simply not covered */
	if (identity_candidates(address, cand, &ignored) != 0) {
		free(cand);
		return 0;
	}
	for (size_t i = 0; i < cand->n && rc == 0; i++) {
		struct authz_identity id;
		int r = send_lookup_identity(c, region, account, cand->name[i], &id, e);
		if (r < 0)
			rc = -1;
		else if (r == 1 && id.verified)
			rc = 1;
	}
	free(cand);
	return rc;
}

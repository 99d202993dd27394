/*
 * store.c — the backend-neutral part of the store: the backend table
 * (URL scheme → constructor, store_open), closing, and releasing the heap
 * parts of the row structs. The backends live in store_<name>.c and are
 * reached only through the table; their constructors are declared in the
 * private backend.h. A new backend is one row here and one file. See
 * store.h for the contract and docs/internals/store.md for the schema.
 */
#include "store/store.h"
#include "util/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/reputation.h"
#include "store/backend.h"
#include "util/xalloc.h"

void
iam_user_clear(struct iam_user *u)
{
	if (u == NULL)
		return;
	free(u->policy);
	memset(u, 0, sizeof(*u));
}

void
access_key_clear(struct access_key *k)
{
	if (k == NULL)
		return;
	free(k->sealed);
	memset(k, 0, sizeof(*k));
}

void
identity_clear(struct identity *id)
{
	if (id == NULL)
		return;
	free(id->name);
	free(id->token);
	for (int i = 0; i < 3; i++)
		free(id->dkim_tokens[i]);
	free(id->dkim_keys_sealed);
	free(id->mail_from_domain);
	free(id->bounce_topic);
	free(id->complaint_topic);
	free(id->delivery_topic);
	free(id->config_set);
	memset(id, 0, sizeof(*id));
}

void
identity_policy_clear(struct identity_policy *p)
{
	if (p == NULL)
		return;
	free(p->document);
	memset(p, 0, sizeof(*p));
}

void
email_template_clear(struct email_template *t)
{
	if (t == NULL)
		return;
	free(t->subject);
	free(t->text);
	free(t->html);
	memset(t, 0, sizeof(*t));
}

void
notify_setting_clear(struct notify_setting *n)
{
	if (n == NULL)
		return;
	free(n->identity);
	for (int i = 0; i < NOTIFY_NTYPES; i++)
		free(n->topic[i]);
	memset(n, 0, sizeof(*n));
}

void
sns_topic_clear(struct sns_topic *t)
{
	if (t == NULL)
		return;
	free(t->attributes);
	memset(t, 0, sizeof(*t));
}

void
sns_subscription_clear(struct sns_subscription *s)
{
	if (s == NULL)
		return;
	free(s->endpoint);
	memset(s, 0, sizeof(*s));
}

void
store_message_clear(struct store_message *m)
{
	if (m == NULL)
		return;
	free(m->source_arn);
	free(m->from_arn);
	free(m->return_path_arn);
	free(m->principal);
	free(m->source);
	free(m->from_addr);
	free(m->subject);
	free(m->config_set);
	free(m->tags);
	for (size_t i = 0; i < m->ndestinations; i++)
		free(m->destinations[i]);
	free(m->destinations);
	free(m->raw);
	free(m->mail_from);
	memset(m, 0, sizeof(*m));
}

void
store_event_clear(struct store_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->message_id);
	free(ev->recipient);
	free(ev->type);
	free(ev->detail);
	memset(ev, 0, sizeof(*ev));
}

/*
 * The backends, by URL scheme. A NULL constructor is a scheme sesame knows
 * but this build does not carry (its slot waits for the backend). The
 * first row is the default, used for a data directory.
 */
static const struct {
	const char *scheme; /* matched as a prefix of the URL */
	store_backend_open_fn open;
	const char *name;   /* for "not available" */
} backends[] = {
	{"sqlite:", store_sqlite_open, "SQLite"},
	{"postgresql://", store_pg_open, "PostgreSQL"},
	{"postgres://", store_pg_open, "PostgreSQL"},
};

static struct store *
open_url(const char *url, struct err *e)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strncmp(url, backends[i].scheme, strlen(backends[i].scheme)) != 0)
			continue;
		if (backends[i].open == NULL) {
			/* never echo the URL: it may carry a password */
			err_set(e, 500, "InternalFailure",
			        "%s store is not available in this build", backends[i].name);
			return NULL;
		}
		return backends[i].open(url, e);
	}
	size_t scheme = strcspn(url, ":");
	err_set(e, 500, "InternalFailure",
		"unsupported store URL scheme '%.*s' (expected sqlite:PATH or postgresql://...)",
		(int)(scheme > 32 ? 32 : scheme), url);
	return NULL;
}

struct store *
store_open(const char *url, const char *data_dir, struct err *e)
{
	if (url != NULL && url[0] != '\0')
		return open_url(url, e);
	if (data_dir == NULL || data_dir[0] == '\0') {
		err_set(e, 500, "InternalFailure", "no data directory and no store URL");
		return NULL;
	}
	if (fs_mkdirs(data_dir, 0700, e) != 0)
		return NULL;
	/* the default backend's file in the data dir; "sqlite://" keeps an
	 * absolute path that starts with "//" intact */
	char *dflt = xasprintf("%s%s%s/sesame.db", backends[0].scheme,
			       data_dir[0] == '/' ? "//" : "", data_dir);
	struct store *s = backends[0].open(dflt, e);
	free(dflt);
	return s;
}

void
store_checkpoint_thread(bool on)
{
	store_sqlite_checkpoint_thread(on);
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

int
store_reputation(struct store *s, const struct account *a, int64_t now, struct reputation *out,
		 struct err *e)
{
	/* counts are kept per minute: after a resume, from the next whole
	 * minute, so nothing from before the resume is counted again */
	int64_t from_resume = a->resumed_at > 0 ? (a->resumed_at / 60 + 1) * 60 : 0;
	int64_t since = now - 86400 > from_resume ? now - 86400 : from_resume;

	memset(out, 0, sizeof(*out));
	if (s->ops->event_sum(s, a->id, "accept", since, &out->volume, e) != 0 ||
	    s->ops->event_sum(s, a->id, "bounce", since, &out->bounces, e) != 0 ||
	    s->ops->event_sum(s, a->id, "complaint", since, &out->complaints, e) != 0)
		return -1;
	reputation_rates(out);
	return 0;
}

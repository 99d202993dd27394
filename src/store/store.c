/*
 * store.c — the backend-neutral part of the store: choosing a backend from
 * the store URL (store_open), closing, and releasing the heap parts of the
 * row structs. The backends live in store_<name>.c; see store.h for the
 * contract and docs/internals/store.md for the schema.
 */
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* mkdir -p with `mode` for every created component. */
static int
mkdirs(const char *dir, mode_t mode, struct err *e)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return err_set(e, 500, "InternalFailure", "data directory path is empty or too long");
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, mode) != 0 && errno != EEXIST)
			return err_set(e, 500, "InternalFailure", "cannot create directory %s: %s",
				       path, strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return err_set(e, 500, "InternalFailure", "%s is not a directory", path);
	return 0;
}

struct store *
store_open(const char *url, const char *data_dir, struct err *e)
{
	if (url == NULL || url[0] == '\0') {
		if (data_dir == NULL || data_dir[0] == '\0') {
			err_set(e, 500, "InternalFailure", "no data directory and no store URL");
			return NULL;
		}
		if (mkdirs(data_dir, 0700, e) != 0)
			return NULL;
		char *path = xasprintf("%s/sesame.db", data_dir);
		struct store *s = store_sqlite_open(path, e);
		free(path);
		return s;
	}
	if (strncmp(url, "sqlite:", 7) == 0) {
		const char *path = url + 7;
		if (strncmp(path, "//", 2) == 0)
			path += 2; /* sqlite:///abs/path */
		if (path[0] == '\0') {
			err_set(e, 500, "InternalFailure", "store URL 'sqlite:' needs a path");
			return NULL;
		}
		return store_sqlite_open(path, e);
	}
	if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
		/* never echo the URL: it may carry a password */
		err_set(e, 500, "InternalFailure", "PostgreSQL store is not available in this build");
		return NULL;
	}
	size_t scheme = strcspn(url, ":");
	err_set(e, 500, "InternalFailure",
		"unsupported store URL scheme '%.*s' (expected sqlite:PATH or postgresql://...)",
		(int)(scheme > 32 ? 32 : scheme), url);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

/*
 * dev.h — the developer endpoints under /_sesame/ on the API listener:
 * health, the capture inbox, verification links. They carry no SigV4;
 * instead only clients inside --admin-allow get an answer (the
 * verification link excepted: its token is the credential; dev.c).
 */
#ifndef SESAME_API_DEV_H
#define SESAME_API_DEV_H

#include <stddef.h>

#include <stdbool.h>

struct httpd_req;
struct api_thread;
struct conf;

/* The operator endpoints' access rule, for /_sesame/ and (later) /metrics:
 * true when the peer of `r` is inside --admin-allow; otherwise answers
 * 403 with a one-line JSON reason and returns false (the caller must not
 * answer again: r is freed). Runs on the request's loop. */
bool dev_admin_gate(struct httpd_req *r, const struct conf *c);

/* Answer r, whose path is /_sesame or under /_sesame/ (r->path). */
void dev_handle(struct httpd_req *r, struct api_thread *t);

/* Send `body` with a status and content type (shared by dev routes);
 * frees r. */
void dev_reply(struct httpd_req *r, int status, const char *ctype, const char *body,
	       size_t len);

/* Parameter `name` of a query string (r->query; NULL is an empty one), as
 * these routes have always read it: pairs split at '&', each with an '='
 * and a non-empty key, or the whole string is invalid; the key matched as
 * sent (not decoded), ignoring ASCII case, the first pair of that name
 * winning; the value percent-decoded with '+' as a space (a '%' not before
 * two hex digits stays as it is; a decoded NUL ends it). Returns 0 with
 * *value_out the value (free it) or NULL when absent, or -1 with NULL when
 * the string is invalid. */
int dev_query_get(const char *query, const char *name, char **value_out);

#endif

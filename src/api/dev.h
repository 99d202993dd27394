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

struct evhttp_request;
struct evhttp_uri;
struct api_thread;
struct conf;

/* The operator endpoints' access rule, for /_sesame/ and (later) /metrics:
 * true when the peer of `req` is inside --admin-allow; otherwise answers
 * 403 with a one-line JSON reason and returns false (the caller must not
 * answer again). Runs on the request's loop. */
bool dev_admin_gate(struct evhttp_request *req, const struct conf *c);

void dev_handle(struct evhttp_request *req, struct api_thread *t, const struct evhttp_uri *uri);

/* Send `body` with a status and content type (shared by dev routes). */
void dev_reply(struct evhttp_request *req, int status, const char *ctype, const char *body,
	       size_t len);

#endif

/*
 * dev.h — the developer endpoints under /_sesame/ on the API listener:
 * health, the capture inbox, verification links. They carry no SigV4: the
 * listener binds loopback by default and the inbox is a developer tool.
 */
#ifndef SESAME_API_DEV_H
#define SESAME_API_DEV_H

#include <stddef.h>

struct evhttp_request;
struct evhttp_uri;
struct api_thread;

void dev_handle(struct evhttp_request *req, struct api_thread *t, const struct evhttp_uri *uri);

/* Send `body` with a status and content type (shared by dev routes). */
void dev_reply(struct evhttp_request *req, int status, const char *ctype, const char *body,
	       size_t len);

#endif

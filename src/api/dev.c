/*
 * dev.c — routes under /_sesame/, one row each in `routes`. Each handler
 * gets the request, the thread state and the path after the prefix.
 *
 * Who may call them: the inbox holds every account's mail (verification
 * links for other people's addresses included) and can be emptied, so
 * every route answers only clients inside --admin-allow (dev_admin_gate;
 * default loopback only), whatever address --http binds, and only for a
 * Host header that names an IP address, localhost, or the host of --http or
 * --public-url (conf_admin_host_allows): a page an operator's browser
 * opens cannot rebind its own name to 127.0.0.1 and read the inbox. The
 * one exception
 * is the verification link, marked `anyone`: it is mailed to the address
 * owner, who clicks it from wherever their mail client runs (--public-url
 * may point anywhere), and it is a capability URL — the 256-bit token is
 * the whole credential and confirms one address only. The SNS signing
 * certificate is public too: every subscriber fetches it from
 * SigningCertURL to check signatures. Unknown paths and
 * methods are answered (404, 405) only to allowed clients as well.
 */
#include "api/dev.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "conf/conf.h"
#include "api/dev_messages.h"
#include "api/dev_verify.h"
#include "store/store.h"

struct dev_route {
	enum evhttp_cmd_type method;
	const char *path; /* exact path, or a prefix when it ends with '/' */
	void (*run)(struct evhttp_request *req, struct api_thread *t, const char *rest);
	bool anyone;      /* exempt from --admin-allow (see above) */
};

static void
health(struct evhttp_request *req, struct api_thread *t, const char *rest)
{
	static const char ok[] = "{\"status\": \"ok\"}\n";
	dev_reply(req, 200, "application/json", ok, sizeof(ok) - 1);
}

/* The certificate of the SNS signing key (sns/sns.h), PEM. */
static void
sns_cert(struct evhttp_request *req, struct api_thread *t, const char *rest)
{
	struct err e = {0};
	char *cert = NULL;
	int rc = t->store->ops->sns_key_get(t->store, NULL, NULL, &cert, &e);

	if (rc == 1)
		dev_reply(req, 200, "application/x-pem-file", cert, strlen(cert));
	else
		dev_reply(req, rc == 0 ? 404 : 503, "text/plain", "no certificate\n", 15);
	free(cert);
}

static const struct dev_route routes[] = {
	{EVHTTP_REQ_GET, "/_sesame/health", health, false},
	/* the capture inbox (dev_messages.c) */
	{EVHTTP_REQ_GET, "/_sesame/messages", dev_messages_list, false},
	{EVHTTP_REQ_DELETE, "/_sesame/messages", dev_messages_delete, false},
	{EVHTTP_REQ_GET, "/_sesame/messages/", dev_messages_raw, false},
	{EVHTTP_REQ_DELETE, "/_sesame/messages/", dev_messages_delete_one, false},
	{EVHTTP_REQ_GET, "/_sesame/events", dev_messages_events, false},
	/* for anyone: the link's token is the credential; the certificate is public */
	{EVHTTP_REQ_GET, "/_sesame/verify", dev_verify, true},
	{EVHTTP_REQ_GET, "/_sesame/sns/cert.pem", sns_cert, true},
	/* last: a prefix that matches every path; the HTML inbox answers only
	 * "/_sesame/" itself and 404 for the rest */
	{EVHTTP_REQ_GET, "/_sesame/", dev_messages_inbox, false},
};

void
dev_reply(struct evhttp_request *req, int status, const char *ctype, const char *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evbuffer_add(out, body, len);
	evhttp_send_reply(req, status, NULL, out);
	evbuffer_free(out);
}

bool
dev_admin_gate(struct evhttp_request *req, const struct conf *c)
{
	char *peer = NULL;
	ev_uint16_t port = 0;
	char body[160];

	evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
	if (!conf_admin_host_allows(c, evhttp_request_get_host(req))) {
		static const char m[] = "{\"error\": \"forbidden: the Host header names neither "
					"this server's address, --public-url's host nor localhost\"}\n";
		dev_reply(req, 403, "application/json", m, sizeof(m) - 1);
		return false;
	}
	if (peer != NULL && conf_admin_allows(c, peer))
		return true;
	/* the peer is an address libevent printed: no quote or backslash */
	int n = snprintf(body, sizeof(body),
			 "{\"error\": \"forbidden: %.64s is not in --admin-allow\"}\n",
			 peer != NULL ? peer : "?");
	dev_reply(req, 403, "application/json", body, (size_t)n);
	return false;
}

void
dev_handle(struct evhttp_request *req, struct api_thread *t, const struct evhttp_uri *uri)
{
	const char *path = evhttp_uri_get_path(uri);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	bool path_known = false;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct dev_route *r = &routes[i];
		size_t n = strlen(r->path);
		bool prefix = r->path[n - 1] == '/';
		if (prefix ? strncmp(path, r->path, n) != 0 : strcmp(path, r->path) != 0)
			continue;
		path_known = true;
		if (r->method == cmd) {
			if (r->anyone || dev_admin_gate(req, t->conf))
				r->run(req, t, path + n);
			return;
		}
	}
	if (!dev_admin_gate(req, t->conf))
		return;
	if (path_known) {
		static const char m[] = "{\"error\": \"method not allowed\"}\n";
		dev_reply(req, 405, "application/json", m, sizeof(m) - 1);
		return;
	}
	static const char nf[] = "{\"error\": \"not found\"}\n";
	dev_reply(req, 404, "application/json", nf, sizeof(nf) - 1);
}

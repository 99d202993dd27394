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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "conf/conf.h"
#include "api/dev_messages.h"
#include "api/dev_verify.h"
#include "store/store.h"
#include "util/httpd.h"
#include "util/xalloc.h"

struct dev_route {
	enum httpd_method method;
	const char *path; /* exact path, or a prefix when it ends with '/' */
	void (*run)(struct httpd_req *r, struct api_thread *t, const char *rest);
	bool anyone;      /* exempt from --admin-allow (see above) */
};

static void
health(struct httpd_req *r, struct api_thread *t, const char *rest)
{
	static const char ok[] = "{\"status\": \"ok\"}\n";
	dev_reply(r, 200, "application/json", ok, sizeof(ok) - 1);
}

/* The certificate of the SNS signing key (sns/sns.h), PEM. */
static void
sns_cert(struct httpd_req *r, struct api_thread *t, const char *rest)
{
	struct err e = {0};
	char *cert = NULL;
	int rc = t->store->ops->sns_key_get(t->store, NULL, NULL, &cert, &e);

	if (rc == 1)
		dev_reply(r, 200, "application/x-pem-file", cert, strlen(cert));
	else
		dev_reply(r, rc == 0 ? 404 : 503, "text/plain", "no certificate\n", 15);
	free(cert);
}

static const struct dev_route routes[] = {
	{HTTPD_GET, "/_sesame/health", health, false},
	/* the capture inbox (dev_messages.c) */
	{HTTPD_GET, "/_sesame/messages", dev_messages_list, false},
	{HTTPD_DELETE, "/_sesame/messages", dev_messages_delete, false},
	{HTTPD_GET, "/_sesame/messages/", dev_messages_raw, false},
	{HTTPD_DELETE, "/_sesame/messages/", dev_messages_delete_one, false},
	{HTTPD_GET, "/_sesame/events", dev_messages_events, false},
	/* for anyone: the link's token is the credential; the certificate is public */
	{HTTPD_GET, "/_sesame/verify", dev_verify, true},
	{HTTPD_GET, "/_sesame/sns/cert.pem", sns_cert, true},
	/* last: a prefix that matches every path; the HTML inbox answers only
	 * "/_sesame/" itself and 404 for the rest */
	{HTTPD_GET, "/_sesame/", dev_messages_inbox, false},
};

void
dev_reply(struct httpd_req *r, int status, const char *ctype, const char *body, size_t len)
{
	httpd_add_header(r, "Content-Type", ctype);
	httpd_reply(r, status, body, len);
}

bool
dev_admin_gate(struct httpd_req *r, const struct conf *c)
{
	const char *peer = r->peer != NULL && r->peer[0] != '\0' ? r->peer : NULL;
	char body[160];

	if (!conf_admin_host_allows(c, r->host)) {
		static const char m[] = "{\"error\": \"forbidden: the Host header names neither "
					"this server's address, --public-url's host nor localhost\"}\n";
		dev_reply(r, 403, "application/json", m, sizeof(m) - 1);
		return false;
	}
	if (peer != NULL && conf_admin_allows(c, peer))
		return true;
	/* the peer is a numeric address (httpd.h): no quote or backslash */
	int n = snprintf(body, sizeof(body),
			 "{\"error\": \"forbidden: %.64s is not in --admin-allow\"}\n",
			 peer != NULL ? peer : "?");
	dev_reply(r, 403, "application/json", body, (size_t)n);
	return false;
}

void
dev_handle(struct httpd_req *r, struct api_thread *t)
{
	const char *path = r->path;
	bool path_known = false;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct dev_route *rt = &routes[i];
		size_t n = strlen(rt->path);
		bool prefix = rt->path[n - 1] == '/';
		if (prefix ? strncmp(path, rt->path, n) != 0 : strcmp(path, rt->path) != 0)
			continue;
		path_known = true;
		if (rt->method == r->method) {
			if (rt->anyone || dev_admin_gate(r, t->conf))
				rt->run(r, t, path + n);
			return;
		}
	}
	if (!dev_admin_gate(r, t->conf))
		return;
	if (path_known) {
		static const char m[] = "{\"error\": \"method not allowed\"}\n";
		dev_reply(r, 405, "application/json", m, sizeof(m) - 1);
		return;
	}
	static const char nf[] = "{\"error\": \"not found\"}\n";
	dev_reply(r, 404, "application/json", nf, sizeof(nf) - 1);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..n) percent-decoded, '+' as a space (dev_query_get's rules). */
static char *
query_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 &&
			   hex_value(s[i + 2]) >= 0) {
			c = (char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]));
			i += 2;
		}
		*o++ = c;
	}
	*o = '\0';
	return out;
}

int
dev_query_get(const char *query, const char *name, char **value_out)
{
	size_t name_len = strlen(name);
	const char *p = query;
	char *found = NULL;

	*value_out = NULL;
	if (query == NULL)
		return 0;
	/* every pair is checked, not only those before the one wanted: a
	 * string is valid or not whatever is asked of it */
	while (*p != '\0') {
		const char *end = strchrnul(p, '&');
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL || eq == p) {
			free(found);
			return -1;
		}
		if (found == NULL && (size_t)(eq - p) == name_len &&
		    strncasecmp(p, name, name_len) == 0)
			found = query_decode(eq + 1, (size_t)(end - eq - 1));
		p = *end == '&' ? end + 1 : end;
	}
	*value_out = found;
	return 0;
}

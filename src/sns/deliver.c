/*
 * deliver.c — the SNS deliverer's loop (deliver.h).
 */
#include "sns/deliver.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "conf/conf.h"
#include "sns/sns.h"
#include "store/store.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xalloc.h"

/* this node's lease name (one serve per store, as the queue's) */
#define SNS_MAX_RESPONSE (1024 * 1024)

struct post;

struct sns_deliverer {
	const struct conf *conf;
	const struct vault *vault;
	struct loop_group *group;
	struct event_base *base;
	struct evdns_base *dns;
	struct store *store;
	struct sns_signer *signer;
	SSL_CTX *tls;
	struct event *tick;
	struct post *inflight; /* a doubly linked list */
	int ninflight;
	bool stopping;
};

/* One POST in flight. */
struct post {
	struct sns_deliverer *d;
	struct post *prev, *next;
	struct evhttp_connection *conn;
	int64_t id, published_ms;
	int attempts;
	char what[STORE_SNS_SUB_MAX + 40]; /* for the log: type and subscription */
};

static int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
post_unlink(struct post *p)
{
	struct sns_deliverer *d = p->d;

	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		d->inflight = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	d->ninflight--;
}

/* The outcome of one attempt: the row deleted, or queued for later. */
static void
finish(struct post *p, bool ok, const char *why)
{
	struct sns_deliverer *d = p->d;
	struct err e = {0};
	int64_t t = now_ms(), next = 0;

	if (!ok) {
		next = sns_retry_at(p->attempts, p->published_ms, t);
		if (next == 0)
			log_warn("sns: %s: %s; dropped after %d attempts over an hour", p->what, why,
				 p->attempts);
		else
			log_info("sns: %s: %s; attempt %d, again in %lld ms", p->what, why,
				 p->attempts, (long long)(next - t));
	} else {
		log_debug("sns: %s delivered", p->what);
	}
	if (d->store->ops->sns_outbox_finish(d->store, d->conf->node_name, p->id, next, &e) < 0)
		log_warn("sns: recording %s: %s", p->what, e.message);
}

static void
on_response(struct evhttp_request *req, void *arg)
{
	struct post *p = arg;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	char why[48];

	if (p->d->stopping)
		return; /* the cleanup frees it */
	post_unlink(p);
	if (code == 0)
		snprintf(why, sizeof(why), "no answer");
	else
		snprintf(why, sizeof(why), "HTTP %d", code);
	finish(p, code >= 200 && code < 300, why);
	free(p); /* the connection frees itself (free_on_completion) */
}

/* A connection to `uri`'s host: plain, or TLS checked against its name. */
static struct evhttp_connection *
connect_to(struct sns_deliverer *d, const struct evhttp_uri *uri, bool https, struct err *e)
{
	const char *host = evhttp_uri_get_host(uri);
	int port = evhttp_uri_get_port(uri);
	struct bufferevent *bev = NULL;
	SSL *ssl;

	if (port < 0)
		port = https ? 443 : 80;
	if (!https)
		return evhttp_connection_base_new(d->base, d->dns, host, (unsigned short)port);
	if ((ssl = SSL_new(d->tls)) == NULL) {
		err_set(e, 500, "InternalFailure", "TLS setup failed");
		return NULL;
	}
	SSL_set_tlsext_host_name(ssl, host);
	X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), host, 0);
	bev = bufferevent_openssl_socket_new(d->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		err_set(e, 500, "InternalFailure", "TLS setup failed");
		return NULL;
	}
	return evhttp_connection_base_bufferevent_new(d->base, d->dns, bev, host,
						      (unsigned short)port);
}

/* Start the POST of one claimed row. On a failure here the row is
 * finished as a failed attempt at once. */
static int
start_post(void *arg, const struct sns_delivery *dl)
{
	struct sns_deliverer *d = arg;
	struct post *p = xcalloc(1, sizeof(*p));
	struct evhttp_uri *uri = NULL;
	struct evhttp_request *req = NULL;
	struct evkeyvalq *h;
	struct err e = {0};
	char *body = NULL, hostport[300], target[4096];
	const char *path, *query, *scheme;
	bool https;
	int port;

	p->d = d;
	p->id = dl->id;
	p->attempts = dl->attempts;
	p->published_ms = dl->timestamp_ms;
	snprintf(p->what, sizeof(p->what), "%s to %s", dl->type, dl->subscription_arn);

	if ((uri = evhttp_uri_parse(dl->endpoint)) == NULL || evhttp_uri_get_host(uri) == NULL ||
	    (scheme = evhttp_uri_get_scheme(uri)) == NULL) {
		finish(p, false, "the endpoint is not a URL");
		goto fail;
	}
	https = strcasecmp(scheme, "https") == 0;
	if ((body = sns_envelope(d->conf, d->signer, dl)) == NULL) {
		finish(p, false, "the message could not be signed");
		goto fail;
	}
	if ((p->conn = connect_to(d, uri, https, &e)) == NULL) {
		finish(p, false, e.message[0] ? e.message : "cannot connect");
		goto fail;
	}
	evhttp_connection_set_timeout(p->conn, SNS_POST_TIMEOUT_S);
	evhttp_connection_set_max_body_size(p->conn, SNS_MAX_RESPONSE);
	evhttp_connection_set_max_headers_size(p->conn, 64 * 1024);
	req = evhttp_request_new(on_response, p);
	h = evhttp_request_get_output_headers(req);
	port = evhttp_uri_get_port(uri);
	if (port >= 0)
		snprintf(hostport, sizeof(hostport), "%s:%d", evhttp_uri_get_host(uri), port);
	else
		snprintf(hostport, sizeof(hostport), "%s", evhttp_uri_get_host(uri));
	evhttp_add_header(h, "Host", hostport);
	evhttp_add_header(h, "Content-Type", "text/plain; charset=UTF-8");
	evhttp_add_header(h, "User-Agent", "Amazon Simple Notification Service Agent");
	evhttp_add_header(h, "x-amz-sns-message-type", dl->type);
	evhttp_add_header(h, "x-amz-sns-message-id", dl->message_id);
	evhttp_add_header(h, "x-amz-sns-topic-arn", dl->topic_arn);
	if (strcmp(dl->type, STORE_SNS_NOTIFICATION) == 0) {
		evhttp_add_header(h, "x-amz-sns-subscription-arn", dl->subscription_arn);
		if (dl->raw_message_delivery)
			evhttp_add_header(h, "x-amz-sns-rawdelivery", "true");
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	snprintf(target, sizeof(target), "%s%s%s", path && path[0] ? path : "/", query ? "?" : "",
		 query ? query : "");
	/* in the list before the request starts: its answer unlinks it */
	p->next = d->inflight;
	if (d->inflight != NULL)
		d->inflight->prev = p;
	d->inflight = p;
	d->ninflight++;
	if (evhttp_make_request(p->conn, req, EVHTTP_REQ_POST, target) != 0) {
		/* libevent freed req without calling on_response */
		post_unlink(p);
		evhttp_connection_free(p->conn);
		finish(p, false, "cannot send the request");
		goto fail;
	}
	evhttp_connection_free_on_completion(p->conn);
	free(body);
	evhttp_uri_free(uri);
	return 0;
fail:
	free(body);
	if (uri != NULL)
		evhttp_uri_free(uri);
	free(p);
	return 0;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sns_deliverer *d = arg;
	struct err e = {0};
	int64_t t = now_ms();
	int room = SNS_MAX_INFLIGHT - d->ninflight;

	(void)fd;
	(void)what;
	if (room <= 0 || d->signer == NULL)
		return;
	if (d->store->ops->sns_outbox_claim(d->store, d->conf->node_name, t, t + SNS_LEASE_MS, room,
					    start_post, d, &e) < 0)
		log_warn("sns: claiming deliveries: %s", e.message);
}

static void
deliverer_cleanup(void *arg, int i, struct event_base *base)
{
	struct sns_deliverer *d = arg;
	struct err e = {0};
	struct post *p, *next;

	(void)i;
	(void)base;
	d->stopping = true;
	for (p = d->inflight; p != NULL; p = next) {
		next = p->next;
		evhttp_connection_free(p->conn);
		free(p);
	}
	d->inflight = NULL;
	if (d->store != NULL &&
	    d->store->ops->sns_outbox_release(d->store, d->conf->node_name, &e) < 0)
		log_warn("sns: giving back the deliveries in flight: %s", e.message);
	if (d->tick != NULL)
		event_free(d->tick);
	if (d->dns != NULL)
		evdns_base_free(d->dns, 1);
	store_close(d->store);
	d->store = NULL;
}

static int
deliverer_init(void *arg, int i, struct event_base *base, struct err *e)
{
	struct sns_deliverer *d = arg;
	struct timeval quarter = {0, 250 * 1000};
	int n;

	(void)i;
	d->base = base;
	if ((d->store = store_open(d->conf->db, d->conf->data, e)) == NULL)
		return -1;
	/* the last run's leases are ours to give back (one serve per store) */
	if ((n = d->store->ops->sns_outbox_release(d->store, d->conf->node_name, e)) < 0)
		return -1;
	if (n > 0)
		log_info("sns: %d deliveries in flight at the last stop are queued again", n);
	d->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
					      EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (d->dns == NULL) /* no resolv.conf: numeric and /etc/hosts names still work */
		d->dns = evdns_base_new(base, 0);
	if (d->dns != NULL)
		evdns_base_load_hosts(d->dns, NULL);
	d->tick = event_new(base, -1, EV_PERSIST, on_tick, d);
	if (d->tick == NULL || event_add(d->tick, &quarter) != 0)
		return err_set(e, 500, "InternalFailure", "sns: cannot start the timer");
	return 0;
}

struct sns_deliverer *
sns_deliver_start(const struct conf *c, const struct vault *v, struct err *e)
{
	struct sns_deliverer *d = xcalloc(1, sizeof(*d));
	struct store *s;

	d->conf = c;
	d->vault = v;
	if ((s = store_open(c->db, c->data, e)) == NULL)
		goto fail;
	d->signer = sns_signer_load(s, v, e);
	store_close(s);
	if (d->signer == NULL) {
		/* as with every sealed secret: a clear error, the rest serves */
		log_err("sns: %s; SNS deliveries wait in the outbox until sesame runs with the "
			"right master key",
			e->message);
		err_clear(e);
	}
	if ((d->tls = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(d->tls, TLS1_2_VERSION) != 1) {
		err_set(e, 500, "InternalFailure", "sns: TLS client setup failed");
		goto fail;
	}
	SSL_CTX_set_verify(d->tls, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_default_verify_paths(d->tls);
	if ((d->group = loop_start("sns", 1, deliverer_init, deliverer_cleanup, d, e)) == NULL)
		goto fail;
	return d;
fail:
	SSL_CTX_free(d->tls);
	sns_signer_free(d->signer);
	free(d);
	return NULL;
}

void
sns_deliver_stop(struct sns_deliverer *d)
{
	if (d == NULL)
		return;
	loop_stop(d->group);
	SSL_CTX_free(d->tls);
	sns_signer_free(d->signer);
	free(d);
}

/*
 * request.c — the life of one API request.
 *
 *   route      /_sesame/…  → dev.c (capture inbox, verification links)
 *              /           → the Query API below
 *   decode     form body (POST, x-www-form-urlencoded) or query string (GET)
 *   auth       SigV4 from the Authorization header: key → caller through
 *              credentials_lookup (auth/), the signature as its proof;
 *              region must be served; every refusal is SES's error, 4xx
 *   dispatch   Action → actions.c table → handler writes Result members
 *   answer     XML envelope with a fresh RequestId, x-amzn-RequestId header
 *
 * SES v2 (/v2/…, v2.h) takes the same steps: SigV4 first, then the route
 * from the model's table (method + requestUri), path and query members
 * into ctx->form, the JSON body into ctx->json, the same IAM check and
 * dispatch, and the answer as JSON with v2's error shapes; the same log
 * line and metrics with service "sesv2".
 *
 * Order matters and matches AWS: authentication happens before the action
 * is looked at, so an unauthenticated caller learns nothing about actions.
 */
#include "api/request.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/act.h"
#include "api/api.h"
#include "api/dev.h"
#include "api/form.h"
#include "api/monitor.h"
#include "api/iam.h"
#include "api/sigv4.h"
#include "api/v2.h"
#include "api/xml.h"
#include "auth/credentials.h"
#include "conf/conf.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/httpd.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xalloc.h"

#define MAX_SIGNED_HEADERS 64
/* Largest Query request we parse (a 10 MB raw message, base64 + fields). */
#define API_MAX_FORM (15 * 1024 * 1024)

static void
reply(struct httpd_req *req, int status, const char *ctype, const char *request_id,
      const char *body, size_t len)
{
	httpd_add_header(req, "Content-Type", ctype);
	if (request_id != NULL)
		httpd_add_header(req, "x-amzn-RequestId", request_id);
	httpd_reply(req, status, body, len);
}

/* The SigV4 proof for credentials_lookup: the signature verifies under a
 * signing key cached for the sealed secret's fingerprint, or derived from
 * the unsealed secret and cached. */
struct sigv4_proof {
	struct sigv4_cache *cache;
	const struct sigv4_request *r;
	const struct sigv4_auth *a;
};

static const char *
open_secret(void *arg, struct err *e)
{
	return credentials_secret_open(arg, e);
}

static int
sigv4_proof(void *arg, struct credentials_secret *secret, struct err *e)
{
	const struct sigv4_proof *p = arg;
	uint8_t signing_key[32];
	int rc;

	if (sigv4_cache_key(p->cache, p->a, secret->fingerprint, open_secret, secret, signing_key,
			    e) != 0)
		return -1;
	rc = sigv4_verify(p->r, p->a, signing_key, e);
	OPENSSL_cleanse(signing_key, sizeof(signing_key));
	return rc;
}

/* Resolve the caller from the signature: the key must exist, its account
 * must exist, and the signature must verify under its secret. */
static int
authenticate(struct api_ctx *ctx, struct httpd_req *req, const char *path,
	     const char *query, const void *body, size_t body_len, struct err *e)
{
	struct sigv4_header hdrs[MAX_SIGNED_HEADERS * 2];
	struct sigv4_request r = {0};
	struct sigv4_auth a;
	struct sigv4_proof sp = {.cache = ctx->t->sigv4, .r = &r, .a = &a};
	struct credentials_proof proof = {.verify = sigv4_proof, .verify_arg = &sp};
	size_t n = 0;
	int rc;

	for (; n < req->nfields; n++) {
		if (n == sizeof(hdrs) / sizeof(hdrs[0]))
			return err_set(e, 400, "IncompleteSignature", "Too many request headers.");
		hdrs[n].name = req->fields[n].name;
		hdrs[n].value = req->fields[n].value;
	}
	r.method = req->method_name;
	r.path = path;
	r.query = query ? query : "";
	r.headers = hdrs;
	r.nheaders = n;
	r.body = body;
	r.body_len = body_len;
	if (sigv4_parse(&r, ctx->now, &a, e) != 0)
		return -1;
	if (!conf_serves_region(ctx->conf, a.region))
		return sigv4_fail_region(e);
	if (ctx->service != &api_sesv2)
		ctx->service = strcmp(a.service, "sns") == 0 ? &api_sns : &api_ses;
	else if (strcmp(a.service, "sns") == 0)
		return err_set(e, 403, "SignatureDoesNotMatch",
			       "Credential should be scoped to correct service: 'ses'.");
	snprintf(ctx->region, sizeof(ctx->region), "%s", a.region);

	/* credentials_lookup reads the key on every request (a primary-key
	 * read) so a deleted key stops working at once; the sigv4 cache spares
	 * the unsealing and the HMAC chain. */
	rc = credentials_lookup(ctx->store, ctx->t->vault, a.key_id, &proof, &ctx->caller, e);
	if (rc <= 0)
		return rc == 0 ? sigv4_fail_unknown_key(e) : -1;

	rc = ctx->store->ops->account_get(ctx->store, ctx->caller.account_id, &ctx->account, e);
	if (rc <= 0)
		return rc == 0 ? sigv4_fail_unknown_key(e) : -1;
	return 0;
}

static int
dispatch(struct api_ctx *ctx, struct err *e)
{
	const char *action = form_get(ctx->form, "Action");
	const char *version = form_get(ctx->form, "Version");
	const struct api_action *act;

	if (action == NULL || action[0] == '\0')
		return err_set(e, 400, "MissingAction", "Could not find operation in the request.");
	act = api_action_find(ctx->service, action);
	if (act == NULL)
		return err_set(e, 400, "InvalidAction",
			       "The action %.128s is not valid for this web service.", action);
	if (version != NULL && strcmp(version, ctx->service->version) != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Unsupported API version %.32s; this service speaks %s.", version,
			       ctx->service->version);
	ctx->action = act;
	if (iam_check(ctx, e) != 0)
		return -1;
	return act->run(ctx, e);
}

static int64_t
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The request's one log line (RequestId, action, caller, identity,
 * outcome, body bytes in and out, latency) and its counters. */
static void
log_request(const struct api_ctx *ctx, const struct err *e, size_t bytes_out)
{
	const char *service = ctx->service == &api_sns     ? "sns"
			      : ctx->service == &api_sesv2 ? "sesv2"
							   : "ses";
	const char *action = ctx->action != NULL ? ctx->action->name : ctx->op;
	char status[8];
	double secs = (double)(monotonic_us() - ctx->start_us) / 1e6;
	int http = e == NULL ? 200 : e->http ? e->http : 400;

	snprintf(status, sizeof(status), "%d", http);
	struct log_field f[] = {
		LOG_S("request_id", ctx->request_id),
		LOG_S("ip", ctx->source_ip),
		LOG_S("service", service),
		LOG_S("action", action),
		LOG_S("account", ctx->caller.account_id),
		LOG_S("principal", ctx->caller.principal_arn),
		LOG_S("identity", ctx->identity_arn),
		LOG_N("status", http),
		LOG_S("code", e != NULL ? e->code : NULL),
		LOG_N("bytes_in", ctx->bytes_in),
		LOG_N("bytes_out", bytes_out),
		LOG_N("ms", secs * 1000),
		/* a server-side failure says why (our own words, e.g. a wrong
		 * master key); a client error's message may quote its input */
		LOG_S("message", http >= 500 ? e->message : NULL), /* last: see below */
	};
	size_t n = sizeof(f) / sizeof(f[0]) - (http < 500);
	log_fields(http >= 500 ? LOG_WARN : LOG_INFO, "api", f, n);
	/* label values from our own tables only: an unknown action is "-" */
	metrics_add(METRIC_API_REQUESTS, 1, service, action != NULL ? action : "-",
		    e != NULL ? e->code : "200");
	metrics_observe(METRIC_API_SECONDS, secs, service);
}

/* SES v2's error: x-amzn-ErrorType and {"message"} in doc, with the
 * model's status and code in *v2e (what is logged). */
static void
v2_error_doc(struct api_ctx *ctx, const struct err *e, struct buf *doc, struct err *v2e)
{
	const char *code;
	int status;

	v2_error_of(e, &code, &status);
	*v2e = *e;
	snprintf(v2e->code, sizeof(v2e->code), "%s", code);
	v2e->http = status;
	json_t *j = json_pack("{s:s}", "message", e->message);
	char *body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	(void)buf_append(doc, body, strlen(body));
	free(body);
	httpd_add_header(ctx->req, "x-amzn-ErrorType", code);
}

/* The successful answer's document: v2's JSON (or {}), or v1's Response
 * around the Result members in ctx->out. */
static int
result_doc(const struct api_ctx *ctx, bool v2, struct buf *doc)
{
	if (v2)
		return buf_append(doc, ctx->out->len > 0 ? ctx->out->data : "{}",
				  ctx->out->len > 0 ? ctx->out->len : 2);
	if (xml_response_begin(doc, ctx->service->xmlns, ctx->action->name,
			       ctx->action->has_result) != 0 ||
	    buf_append(doc, ctx->out->data ? ctx->out->data : "", ctx->out->len) != 0 ||
	    xml_response_end(doc, ctx->action->name, ctx->action->has_result, ctx->request_id) != 0)
		return -1;
	return 0;
}

/* Answer a finished request and free its context: the Result members in
 * ctx->out when e is NULL (v2: the handler's JSON, or {}), SES's error
 * otherwise. The log line and counters come first, so a client holding
 * its answer finds them. */
void
api_complete(struct api_ctx *ctx, const struct err *e)
{
	bool v2 = ctx->service == &api_sesv2;
	const char *ctype = v2 ? "application/json" : "text/xml";
	struct buf doc;
	struct err fail, v2e;
	int status = 200;

	buf_init(&doc, 0);
	if (v2 && e == NULL)
		status = ctx->op_status ? ctx->op_status : 200;
	if (e == NULL && result_doc(ctx, v2, &doc) != 0) {
		err_set(&fail, 500, "InternalFailure", "The response could not be written.");
		e = &fail;
	}
	if (e != NULL) {
		buf_reset(&doc);
		if (v2) {
			v2_error_doc(ctx, e, &doc, &v2e);
			e = &v2e;
		} else {
			xml_error_response(&doc, ctx->service->xmlns, e, ctx->request_id);
		}
		status = e->http ? e->http : 400;
	}
	log_request(ctx, e, doc.len);
	reply(ctx->req, status, ctype, ctx->request_id, doc.data, doc.len);
	buf_free(&doc);
	json_decref(ctx->json);
	form_free(ctx->form);
	free(ctx->form);
	buf_free(ctx->out);
	free(ctx->out);
	free(ctx);
}

/* A SES v2 request (ctx->service already api_sesv2): authenticate, route,
 * read, dispatch; always ends in api_complete (now or from the handler). */
static void
handle_v2(struct api_ctx *ctx, struct httpd_req *req, const char *path, const char *query,
	  const char *body, size_t body_len)
{
	struct v2_match m;
	struct err e = {0};
	int rc;

	if (httpd_field(req, "Authorization") == NULL) {
		err_set(&e, 403, "MissingAuthenticationTokenException",
			"Request is missing Authentication Token");
		goto fail;
	}
	if (body_len > V2_MAX_BODY) {
		err_set(&e, 413, "RequestEntityTooLarge",
			"Request size %zu exceeds the maximum of %d bytes.", body_len, V2_MAX_BODY);
		goto fail;
	}
	if (authenticate(ctx, req, path, query, body, body_len, &e) != 0)
		goto fail;
	if (!v2_route_match(req->method_name, path, &m)) {
		err_set(&e, 400, "BadRequestException",
			"No SES v2 operation is %s %.256s.", req->method_name, path);
		goto fail;
	}
	ctx->op = m.route->name;
	ctx->op_status = m.route->status;
	if ((ctx->action = api_action_find(ctx->service, m.route->name)) == NULL) {
		err_set(&e, 400, "BadRequestException",
			"The SES v2 operation %s is not supported by sesame.", m.route->name);
		goto fail;
	}
	if (v2_json_read(body, body_len, &ctx->json, &e) != 0)
		goto fail;
	/* the IAM resource named in the body, not the path (CreateEmailIdentity) */
	const char *extra = ctx->action->resource_param, *extra_value = NULL;
	for (size_t i = 0; extra != NULL && i < m.nparam; i++)
		if (strlen(extra) == m.param[i].name_len &&
		    memcmp(extra, m.param[i].name, m.param[i].name_len) == 0)
			extra = NULL;
	if (extra != NULL)
		extra_value = json_string_value(json_object_get(ctx->json, extra));
	if (v2_form(&m, query, extra, extra_value, ctx->form, &e) != 0 || iam_check(ctx, &e) != 0)
		goto fail;
	rc = ctx->action->run(ctx, &e);
	if (rc == API_PENDING)
		return;
	api_complete(ctx, rc == 0 ? NULL : &e);
	return;
fail:
	api_complete(ctx, &e);
}

static void
handle_api(struct httpd_req *req, struct api_thread *t)
{
	struct api_ctx *ctx = xcalloc(1, sizeof(*ctx));
	struct err e = {0};
	enum httpd_method cmd = req->method;
	const char *query = req->query;
	const char *path = req->path;
	size_t body_len = req->body_len;
	const char *body = req->body;
	const char *peer = req->peer;
	int rc;

	ctx->t = t;
	ctx->service = &api_ses;
	ctx->req = req;
	ctx->conf = t->conf;
	ctx->store = t->store;
	ctx->form = xcalloc(1, sizeof(*ctx->form));
	ctx->out = xmalloc(sizeof(*ctx->out));
	buf_init(ctx->out, 0);
	ctx->now = time(NULL);
	ctx->start_us = monotonic_us();
	ctx->bytes_in = body_len;
	ctx->secure = false;
	uuid_v4(ctx->request_id);
	/* An IPv4 client of a dual-stack listener arrives as ::ffff:a.b.c.d;
	 * policies name it as IPv4 (aws:SourceIp conditions are per family). */
	if (strncasecmp(peer, "::ffff:", 7) == 0 && strchr(peer + 7, '.') != NULL)
		peer += 7;
	snprintf(ctx->source_ip, sizeof(ctx->source_ip), "%s", peer);
	/* SES v2's rest-json routes; one of its operations
	 * (PutEmailIdentityDkimSigningAttributes) lives under /v1/email/ */
	if (strncmp(path, "/v2/", 4) == 0 || strncmp(path, "/v1/email/", 10) == 0) {
		ctx->service = &api_sesv2;
		handle_v2(ctx, req, path, query, body, body_len);
		return;
	}
	if (cmd != HTTPD_GET && cmd != HTTPD_POST) {
		err_set(&e, 405, "InvalidAction", "Only GET and POST are supported here.");
		goto fail;
	}
	if (httpd_field(req, "Authorization") == NULL) {
		/* SNS's SubscribeURL and UnsubscribeURL are plain GETs: the token
		 * or the subscription ARN is the proof */
		if (cmd == HTTPD_GET && query != NULL &&
		    form_parse_query(ctx->form, query, strlen(query), &e) == 0 &&
		    (ctx->action = act_sns_link_find(form_get(ctx->form, "Action"))) != NULL) {
			ctx->service = &api_sns;
			rc = ctx->action->run(ctx, &e);
			api_complete(ctx, rc == 0 ? NULL : &e);
			return;
		}
		err_clear(&e);
		err_set(&e, 403, "MissingAuthenticationToken", "Request is missing Authentication Token");
		goto fail;
	}
	if (cmd == HTTPD_POST) {
		const char *ct = httpd_field(req, "Content-Type");
		if (ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
			err_set(&e, 400, "InvalidParameterValue",
				"Content-Type must be application/x-www-form-urlencoded.");
			goto fail;
		}
		if (body_len > API_MAX_FORM) {
			err_set(&e, 413, "RequestEntityTooLarge",
				"Request size %zu exceeds the maximum of %d bytes.", body_len, API_MAX_FORM);
			goto fail;
		}
	}
	if (authenticate(ctx, req, path, query, body, body_len, &e) != 0)
		goto fail;
	if (cmd == HTTPD_POST && query != NULL && query[0] != '\0' && body_len > 0) {
		err_set(&e, 400, "InvalidParameterValue",
			"Send parameters in the body or the query string, not both.");
		goto fail;
	}
	if (cmd == HTTPD_POST && body_len > 0) {
		if (form_parse(ctx->form, body, body_len, &e) != 0)
			goto fail;
	} else if (query != NULL) {
		if (form_parse_query(ctx->form, query, strlen(query), &e) != 0)
			goto fail;
	}
	metrics_observe(METRIC_STAGE_SECONDS, (double)(monotonic_us() - ctx->start_us) / 1e6, "auth");
	rc = dispatch(ctx, &e);
	if (rc == API_PENDING)
		return; /* the handler calls api_complete later */
	api_complete(ctx, rc == 0 ? NULL : &e);
	return;
fail:
	api_complete(ctx, &e);
}

void
request_handle(struct httpd_req *req, void *arg)
{
	struct api_thread *t = arg;
	const char *path = req->path;

	if (strncmp(path, "/_sesame", 8) == 0 && (path[8] == '/' || path[8] == '\0')) {
		dev_handle(req, t);
		return;
	}
	if (monitor_handle(req, t, path))
		return;
	/* the request's reads (key, account, identity, quota) as one read;
	 * ended before this turn of the loop does anything else */
	t->store->ops->snapshot_begin(t->store);
	handle_api(req, t);
	t->store->ops->snapshot_end(t->store);
}

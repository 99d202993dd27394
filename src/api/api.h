/*
 * api.h — the SES Query API front end: what an action handler sees.
 *
 * server.c owns the sockets and threads; request.c turns one HTTP request
 * into a `struct api_ctx` (decoded form, authenticated caller, region) and
 * dispatches it through the table in actions.c to a handler in one of the
 * act_*.c files. A handler reads ctx->form, writes its Result members into
 * ctx->out with the xml.h helpers, and returns 0, or -1 with `e` filled in
 * SES's words. It never touches HTTP.
 */
#ifndef SESAME_API_API_H
#define SESAME_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth/credentials.h"
#include "send/send.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

struct conf;
struct store;
struct vault;
struct form;
struct limits;
struct send_lookup;
struct event_base;
struct queue;

/* Per-thread state shared by every request on one event loop. */
struct api_thread {
	const struct conf *conf;
	struct store *store;
	struct vault *vault;
	struct sigv4_cache *sigv4;
	struct event_base *base;  /* this thread's loop */
	struct send_lookup *lookup; /* this loop's identity/policy cache */
	struct send_shared shared; /* queue, limits, signers: serve.c's, every loop's */
};

struct api_action;
struct api_service;
struct httpd_req;

struct api_ctx {
	struct api_thread *t;
	struct account account; /* the caller's account, read when authenticating */
	struct httpd_req *req;
	const struct api_service *service; /* SES or SNS: the credential scope's */
	const struct api_action *action;
	const struct conf *conf;
	struct store *store;
	struct form *form;
	struct credentials_caller caller; /* who signed (auth/credentials.h) */
	char region[33];
	char request_id[37];
	char source_ip[64];
	bool secure;   /* request arrived over TLS */
	time_t now;
	int64_t start_us;   /* monotonic, at arrival: the logged latency */
	size_t bytes_in;    /* the request body */
	char identity_arn[512]; /* a send's From identity, once authz allowed it (logged) */
	struct buf *out; /* Result members go here (v2: the JSON answer) */
	/* SES v2 (v2.h): the body and the operation the route named (logged,
	 * also when sesame does not implement it) */
	struct json_t *json;
	const char *op;
	int op_status;
};

/* A handler returns 0 (done: ctx->out holds the Result members), -1 (e
 * filled), or API_PENDING: it has handed ctx to asynchronous work (e.g. the
 * queue's group commit) which calls api_complete() later on this thread. */
#define API_PENDING 1
typedef int (*api_handler)(struct api_ctx *ctx, struct err *e);

/* Answer a request and free ctx. e == NULL: success. Must run on the
 * thread that owns ctx->t (the event loop that received the request). */
void api_complete(struct api_ctx *ctx, const struct err *e);

/* What an IAM user's own policy is checked against before the handler
 * runs (sends are decided by core/authz instead, which checks it too). */
enum api_iam {
	API_IAM_ACCOUNT,  /* resource "*": account-level actions */
	API_IAM_IDENTITY, /* resource: the identity ARN named by `resource_param` */
	API_IAM_SEND,     /* decided by core/authz with the message */
	API_IAM_TOPIC,    /* resource: the SNS topic ARN `resource_param` names
			     (a subscription ARN names its topic's) */
};

struct api_action {
	const char *name;
	api_handler run;
	bool has_result;            /* the model declares an output shape */
	enum api_iam iam;
	const char *resource_param; /* API_IAM_IDENTITY: "Identity", "EmailAddress", "Domain" */
};

/* An API on the listener (SES v2's actions are its operations; name and
 * version are then "ses" and the model's apiVersion, xmlns NULL), picked by the SigV4 credential scope's
 * service: SES ("ses", also "email") or SNS ("sns"). */
struct api_service {
	const char *name;     /* the IAM action prefix: "ses", "sns" */
	const char *version;  /* the one Version accepted */
	const char *xmlns;    /* of every response and error */
	const struct api_action *actions;
	size_t nactions;
};
extern const struct api_service api_ses; /* actions.c */
extern const struct api_service api_sns; /* act_sns.c */
extern const struct api_service api_sesv2; /* act_v2.c: SES v2, rest-json under /v2/ */

/* The row of `name` in the service's table, or NULL. */
const struct api_action *api_action_find(const struct api_service *svc, const char *name);

/* Helpers shared by handlers. */
/* Required string parameter: NULL with MissingParameter filled when absent. */
const char *api_param(struct api_ctx *ctx, const char *name, struct err *e);
/* Optional string parameter (NULL when absent). */
const char *api_param_opt(struct api_ctx *ctx, const char *name);
/* Parse a boolean parameter "true"/"false"; -1 with InvalidParameterValue. */
int api_param_bool(struct api_ctx *ctx, const char *name, bool required, bool *out,
		   struct err *e);

/* AccessDenied (403) in SES's words for `ses:<action>` on `resource`. */
int api_access_denied(struct api_ctx *ctx, const char *action, const char *resource,
		      struct err *e);

/* Read identity parameter `param` (a name or an SES identity ARN) into its
 * normal form. An ARN must name the caller's own account (else AccessDenied
 * for `ses:<action>`) in the request's region. */
int api_identity_param(struct api_ctx *ctx, const char *param, const char *action,
		       char *name_out, size_t cap, struct err *e);

/* ISO-8601 UTC timestamp with milliseconds, as SES writes them. */
void api_timestamp(time_t t, char out[32]);

#endif

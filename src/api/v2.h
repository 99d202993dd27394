/*
 * v2.h — the SES v2 (rest-json) front end under /v2/email/ on the API
 * listener: the route table generated from botocore's model
 * (v2_routes.c, scripts/v2_routes.py), the route matcher, the reading of
 * a request's path, query and JSON body, and SES v2's error shapes.
 *
 * request.c drives a v2 request like a v1 one (SigV4 first, then the
 * route); the handlers (act_v2.c, act_send.c's act_v2_send_email) read
 * path and query members from ctx->form under their model member names
 * (so api_param and iam_check work unchanged), the body from ctx->json,
 * and write their JSON answer into ctx->out. Notes: docs/internals/v2.md.
 */
#ifndef SESAME_API_V2_H
#define SESAME_API_V2_H

#include <stddef.h>

#include "util/err.h"

struct form;
struct json_t;

struct v2_route {
	const char *name;   /* the model's operation name */
	const char *method; /* "GET" | "POST" | "PUT" | "DELETE" */
	const char *uri;    /* requestUri: literal segments and {Member} */
	int status;         /* success status */
};
extern const struct v2_route v2_routes[];
extern const size_t v2_nroutes;

#define V2_MAX_PARAMS 4   /* {Member}s in one requestUri (the model has ≤ 2) */
#define V2_MAX_SEGMENTS 16
#define V2_MAX_QUERY_PAIRS 64 /* the model's widest query has 8 members */
#define V2_MAX_BODY (15 * 1024 * 1024) /* a 10 MB raw message in base64, and JSON */

/* One {Member} of a matched path: slices into the pattern and the path
 * (still percent-encoded). */
struct v2_param {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

struct v2_match {
	const struct v2_route *route;
	struct v2_param param[V2_MAX_PARAMS];
	size_t nparam;
};

/*
 * Match `method` and `path` (as on the wire, without the query) against
 * the table. A literal segment beats a {Member} where both fit. 1: *out
 * filled; 0: no operation has that method and path (*out->route NULL).
 * An empty {Member} segment never matches. Pure: no allocation.
 */
int v2_route_match(const char *method, const char *path, struct v2_match *out);

/*
 * Decode the query string (NULL or raw, without '?') and the path members
 * of m into f (form.h's syntax and errors; a member given both ways is
 * InvalidParameterValue). A literal '+' in a path is a plus sign. A query
 * key given N > 1 times (a list member) becomes Key.member.1..N, read
 * with form_list. `extra`
 * (NULL: none) is one more member, `extra_value` as is (not encoded): the
 * body's member that names an operation's IAM resource when the path does
 * not (CreateEmailIdentity's EmailIdentity).
 */
int v2_form(const struct v2_match *m, const char *query, const char *extra,
	    const char *extra_value, struct form *f, struct err *e);

/*
 * The JSON body: an object (an empty body is {}). 0 with *out (caller
 * json_decref's), -1 with BadRequestException / SerializationException
 * filled.
 */
int v2_json_read(const char *body, size_t len, struct json_t **out, struct err *e);

/* SES v2's code and status for an error raised in v1's words by the
 * shared lower layers (InvalidParameterValue → BadRequestException, …). */
void v2_error_of(const struct err *e, const char **code_out, int *status_out);

#endif

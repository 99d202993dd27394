/*
 * v2.c — see v2.h. Everything here reads client input before (the route)
 * or right after (path members, the body) authentication, so every loop is
 * bounded by a cap and nothing trusts a length from the peer.
 */
#include "api/v2.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/form.h"
#include "core/quota.h"
#include "util/buf.h"

/* Split a '/'-separated path into at most V2_MAX_SEGMENTS segments
 * (slices). -1: too many. A leading '/' is skipped. */
static int
split(const char *p, const char *seg[], size_t len[], size_t *n)
{
	*n = 0;
	if (*p == '/')
		p++;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t l = end != NULL ? (size_t)(end - p) : strlen(p);
		if (*n == V2_MAX_SEGMENTS)
			return -1;
		seg[*n] = p;
		len[*n] = l;
		(*n)++;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

/* Does path (split) fit pattern? Fills the members; *literals counts the
 * literal segments that matched (the tie-break). */
static bool
fits(const char *pattern, const char *const seg[], const size_t len[], size_t n,
     struct v2_match *m, size_t *literals)
{
	const char *pseg[V2_MAX_SEGMENTS];
	size_t plen[V2_MAX_SEGMENTS], pn;

	if (split(pattern, pseg, plen, &pn) != 0 || pn != n)
		return false;
	m->nparam = 0;
	*literals = 0;
	for (size_t i = 0; i < n; i++) {
		if (plen[i] >= 2 && pseg[i][0] == '{' && pseg[i][plen[i] - 1] == '}') {
			if (len[i] == 0 || m->nparam == V2_MAX_PARAMS)
				return false;
			m->param[m->nparam++] = (struct v2_param){pseg[i] + 1, plen[i] - 2, seg[i],
								   len[i]};
		} else if (plen[i] == len[i] && memcmp(pseg[i], seg[i], len[i]) == 0) {
			(*literals)++;
		} else {
			return false;
		}
	}
	return true;
}

int
v2_route_match(const char *method, const char *path, struct v2_match *out)
{
	const char *seg[V2_MAX_SEGMENTS];
	size_t len[V2_MAX_SEGMENTS], n, best = 0;
	struct v2_match m;

	memset(out, 0, sizeof(*out));
	if (path == NULL || split(path, seg, len, &n) != 0)
		return 0;
	for (size_t i = 0; i < v2_nroutes; i++) {
		size_t lit;
		if (strcmp(v2_routes[i].method, method) != 0 ||
		    !fits(v2_routes[i].uri, seg, len, n, &m, &lit))
			continue;
		if (out->route == NULL || lit > best) {
			*out = m;
			out->route = &v2_routes[i];
			best = lit;
		}
	}
	return out->route != NULL;
}

/* The key of query pair p (up to '=' or the pair's end at '&'). */
static size_t
key_len(const char *p)
{
	return strcspn(p, "=&");
}

/* How often the key of the pair at p occurs in q (pairs at or after q). */
static size_t
key_count(const char *q, const char *key, size_t kn)
{
	size_t n = 0;

	for (const char *p = q; p != NULL && *p != '\0'; p = strchr(p, '&'), p = p ? p + 1 : p)
		if (key_len(p) == kn && memcmp(p, key, kn) == 0)
			n++;
	return n;
}

/*
 * Append query q to b. A list member in a rest-json query repeats its key
 * (Reason=BOUNCE&Reason=COMPLAINT); form.h refuses a repeated key, so a
 * key that occurs more than once is written as Key.member.N, the Query
 * encoding of a list, which form_list reads. Bounded: at most
 * V2_MAX_QUERY_PAIRS pairs.
 */
static int
append_query(struct buf *b, const char *q, struct err *e)
{
	size_t pairs = 0;
	int rc = 0;

	for (const char *p = q; *p != '\0';) {
		const char *end = strchr(p, '&');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p), kn = key_len(p);
		if (++pairs > V2_MAX_QUERY_PAIRS)
			return err_set(e, 400, "BadRequestException",
				       "The query string has more than %d parameters.",
				       V2_MAX_QUERY_PAIRS);
		if (len > 0) {
			if (b->len > 0)
				rc |= buf_putc(b, '&');
			if (kn > 0 && key_count(q, p, kn) > 1) {
				/* the N-th occurrence so far */
				size_t nth = key_count(q, p, kn) - key_count(p, p, kn) + 1;
				rc |= buf_append(b, p, kn);
				rc |= buf_printf(b, ".member.%zu", nth);
				rc |= buf_append(b, p + kn, len - kn);
			} else {
				rc |= buf_append(b, p, len);
			}
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return rc != 0 ? err_set(e, 500, "InternalFailure", "The request could not be read.") : 0;
}

int
v2_form(const struct v2_match *m, const char *query, const char *extra, const char *extra_value,
	struct form *f, struct err *e)
{
	struct buf b;
	int rc = 0;

	buf_init(&b, 0);
	if (query != NULL && append_query(&b, query, e) != 0) {
		buf_free(&b);
		return -1;
	}
	for (size_t i = 0; i < m->nparam; i++) {
		const struct v2_param *p = &m->param[i];
		if (b.len > 0)
			rc |= buf_putc(&b, '&');
		rc |= buf_append(&b, p->name, p->name_len);
		rc |= buf_putc(&b, '=');
		/* in a path '+' is itself; form_parse_query would refuse it */
		for (size_t j = 0; j < p->value_len; j++)
			rc |= p->value[j] == '+' ? buf_append(&b, "%2B", 3)
						 : buf_putc(&b, p->value[j]);
	}
	if (extra != NULL && extra_value != NULL) {
		static const char hex[] = "0123456789ABCDEF";
		if (b.len > 0)
			rc |= buf_putc(&b, '&');
		rc |= buf_append(&b, extra, strlen(extra));
		rc |= buf_putc(&b, '=');
		for (const unsigned char *p = (const unsigned char *)extra_value; *p != '\0'; p++) {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			rc |= buf_append(&b, esc, 3);
		}
	}
	if (rc != 0) {
		buf_free(&b);
		return err_set(e, 500, "InternalFailure", "The request could not be read.");
	}
	rc = form_parse_query(f, b.data != NULL ? b.data : "", b.len, e);
	buf_free(&b);
	return rc;
}

int
v2_json_read(const char *body, size_t len, json_t **out, struct err *e)
{
	json_error_t je;
	json_t *j;

	*out = NULL;
	if (len > V2_MAX_BODY)
		return err_set(e, 413, "RequestEntityTooLarge",
			       "Request size %zu exceeds the maximum of %d bytes.", len, V2_MAX_BODY);
	if (len == 0) {
		*out = json_object();
		return 0;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return err_set(e, 400, "SerializationException",
			       "The request body is not valid JSON: %.200s", je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(e, 400, "BadRequestException",
			       "The request body must be a JSON object.");
	}
	*out = j;
	return 0;
}

void
v2_error_of(const struct err *e, const char **code_out, int *status_out)
{
	static const struct {
		const char *v1, *v2;
		int status;
	} map[] = {
		{"InvalidParameterValue", "BadRequestException", 400},
		{"MissingParameter", "BadRequestException", 400},
		{"ValidationError", "BadRequestException", 400},
		{"InvalidPolicy", "BadRequestException", 400},
		{"InvalidAction", "BadRequestException", 400},
		{"MalformedQueryString", "BadRequestException", 400},
		{"InvalidTemplate", "BadRequestException", 400},
		{"InvalidRenderingParameter", "BadRequestException", 400},
		{"MissingRenderingAttribute", "BadRequestException", 400},
		{"AccessDenied", "AccessDeniedException", 403},
		{"AccountSendingPausedException", "SendingPausedException", 400},
		{"ConfigurationSetSendingPausedException", "SendingPausedException", 400},
		{"ConfigurationSetDoesNotExist", "NotFoundException", 404},
		{"TemplateDoesNotExist", "NotFoundException", 404},
		{"AlreadyExists", "AlreadyExistsException", 400},
		{"ConfigurationSetAlreadyExists", "AlreadyExistsException", 400},
		{"InvalidConfigurationSet", "BadRequestException", 400},
		{"InvalidSNSDestination", "BadRequestException", 400},
		{"EventDestinationAlreadyExists", "AlreadyExistsException", 400},
		{"EventDestinationDoesNotExist", "NotFoundException", 404},
		{"LimitExceeded", "LimitExceededException", 400},
		{"InternalFailure", "InternalServiceErrorException", 500},
	};
	const char *code = e->code[0] != '\0' ? e->code : "BadRequestException";
	int status = e->http ? e->http : 400;

	if (strcmp(code, "Throttling") == 0) {
		/* the daily quota is a limit; the rate is too many requests */
		bool daily = strcmp(e->message, QUOTA_DAILY_MESSAGE) == 0;
		*code_out = daily ? "LimitExceededException" : "TooManyRequestsException";
		*status_out = daily ? 400 : 429;
		return;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(code, map[i].v1) == 0) {
			code = map[i].v2;
			status = map[i].status;
			break;
		}
	*code_out = code;
	*status_out = status;
}

/*
 * form.h — application/x-www-form-urlencoded decoding for the SES Query
 * protocol (spec §1.1): request bodies and query strings.
 *
 * A parsed form owns one allocation holding every decoded key and value
 * (NUL-terminated, valid UTF-8, no NUL bytes inside). Keys are unique.
 *
 * Errors (decided here, documented in docs/internals/sigv4.md):
 *   - syntax — bad %XY escape, empty key, key over FORM_MAX_KEY bytes,
 *     more than FORM_MAX_PARAMS pairs, non-UTF-8 or NUL in a key or value,
 *     a literal '+' in a query string (form_parse_query):
 *     MalformedQueryString, HTTP 404 (AWS's documented status for it);
 *   - a key given twice: InvalidParameterValue, 400
 *     ("The parameter X is specified more than once.");
 *   - a malformed list index (`X.member.0`, `X.member.01`, `X.member.a`):
 *     InvalidParameterValue, 400.
 * The caller caps the body size before calling.
 */
#ifndef SESAME_API_FORM_H
#define SESAME_API_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define FORM_MAX_PARAMS 10000
#define FORM_MAX_KEY 256
/* Largest list index accepted in `Name.member.N`. */
#define FORM_MAX_INDEX 100000

struct form_param {
	const char *key;
	const char *value;
	size_t value_len;
};

struct form {
	struct form_param *params; /* sorted by key (strcmp) */
	size_t n;
	char *arena; /* owns every key and value */
};

/* Decode a request body of `len` bytes. `+` is a space, `%XY` a byte, a
 * pair without '=' has an empty value, empty pairs (`a=1&&b=2`, a trailing
 * `&`) are skipped. On failure `f` is left empty (form_free is still safe). */
int form_parse(struct form *f, const char *data, size_t len, struct err *e);

/* The same for a query string (no leading '?'), except that a literal `+`
 * anywhere is refused (MalformedQueryString): SigV4 canonicalises a query's
 * `+` as a plus sign (%2B) and form decoding would read a space, so `a+b`
 * and `a%2Bb` would carry one signature and two meanings. SigV4 clients
 * send %20 and %2B. A body has no such gap (its signature is over the raw
 * bytes), so form_parse keeps `+` as a space there. */
int form_parse_query(struct form *f, const char *data, size_t len, struct err *e);
void form_free(struct form *f);

/* The value of `key`, or NULL if absent. Valid until form_free. */
const char *form_get(const struct form *f, const char *key);
const struct form_param *form_find(const struct form *f, const char *key);

/* A list `Name.member.N` (N ≥ 1, no leading zeros, any order, gaps allowed),
 * values sorted numerically by N. `present` is true if any member exists or
 * the bare key `Name` was sent (the Query encoding of an empty list). */
struct form_list {
	bool present;
	size_t n;
	const char **values;   /* n entries, owned by the form_list */
	unsigned long *index;  /* the N of each entry */
};

/* Fills `out`; more than `max` members is InvalidParameterValue. Free with
 * form_list_free. Keys `Name.member.N.Field` (structure members) are not
 * values of this list and are ignored here. */
int form_list(const struct form *f, const char *name, size_t max, struct form_list *out,
	      struct err *e);

/* The distinct N of a list of structures `Name.member.N.Field`, sorted;
 * `values` is left NULL. Read fields with form_member_get. */
int form_members(const struct form *f, const char *name, size_t max, struct form_list *out,
		 struct err *e);
/* The value of `Name.member.N.Field`, or NULL. */
const char *form_member_get(const struct form *f, const char *name, unsigned long n,
			    const char *field);

void form_list_free(struct form_list *l);

#endif

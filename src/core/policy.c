/*
 * policy.c — compile SES/IAM policy JSON into a compact form and evaluate
 * requests against sets of compiled policies.
 *
 * A compiled policy lives in one arena it owns (freed in one call): an array
 * of statements, each with its principal, action and resource pattern lists
 * and its conditions, whose values are parsed once (numbers, dates to epoch
 * milliseconds, CIDRs to bytes + prefix, lower-cased copies for IgnoreCase,
 * condition keys resolved to an index into the known-key table). Evaluation
 * reads only that form and the context's pre-parsed values: it never parses
 * a document or allocates.
 *
 * Invariants: a compiled policy is immutable; every string in it is
 * NUL-terminated and at most POLICY_MAX_STRING bytes; a condition's value
 * list is never empty; in resource mode every statement has a principal
 * list; in identity mode none has.
 */
#include "core/policy.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cidr.h"
#include "util/codec.h"
#include "util/err.h"
#include "util/testable.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/* ------------------------------------------------------------------ */
/* Known condition keys                                                */

struct known_key {
	const char *prefix; /* "ses:" or "aws:" */
	const char *name;
	bool multi;
};

static const struct known_key known_keys[] = {
	{"ses:", "FromAddress", false},
	{"ses:", "FromDisplayName", false},
	{"ses:", "Recipients", true},
	{"ses:", "FeedbackAddress", false},
	{"ses:", "ApiVersion", false},
	{"aws:", "SourceIp", false},
	{"aws:", "CurrentTime", false},
	{"aws:", "EpochTime", false},
	{"aws:", "SecureTransport", false},
	{"aws:", "SourceAccount", false},
	{"aws:", "SourceArn", false},
	{"aws:", "PrincipalAccount", false},
	{"aws:", "PrincipalArn", false},
	{"aws:", "PrincipalOrgID", false},
	{"aws:", "UserAgent", false},
	{"aws:", "username", false},
	{"aws:", "userid", false},
	{"aws:", "PrincipalType", false},
};
#define NKNOWN (sizeof(known_keys) / sizeof(known_keys[0]))

/*
 * Index of `key` in known_keys, or -1. With strict_prefix the prefix must
 * be lower-case exactly (SES rejects "AWS:SourceAccount"); the name is
 * always compared case-insensitively.
 */
static int
known_key_id(const char *key, bool strict_prefix)
{
	for (size_t i = 0; i < NKNOWN; i++) {
		const struct known_key *k = &known_keys[i];
		if (strict_prefix ? strncmp(key, k->prefix, 4) != 0
				  : strncasecmp(key, k->prefix, 4) != 0)
			continue;
		if (strcasecmp(key + 4, k->name) == 0)
			return (int)i;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Compiled form                                                       */

enum pr_kind { PR_ANY, PR_ACCOUNT, PR_ARN, PR_SERVICE };

struct pprincipal {
	enum pr_kind kind;
	const char *s;    /* account id (12 digits), ARN or service name */
	const char *acct; /* PR_ACCOUNT, PR_ARN: the 12 account digits */
};

struct ppattern {
	const char *s;  /* lower-cased for actions */
	size_t len;
	uint64_t hash;  /* hash64(s) when !wild: most mismatches cost one compare */
	bool wild;      /* contains * or ? */
};

enum cfam { F_STRING, F_NUMERIC, F_DATE, F_BOOL, F_BINARY, F_IP, F_ARN, F_NULL };
enum cop { OP_EQ, OP_EQ_IC, OP_LIKE, OP_LT, OP_LE, OP_GT, OP_GE };
enum cset { SET_NONE, SET_ALL, SET_ANY };

struct pvalue {
	const char *s; /* as written (lower-cased for IgnoreCase) */
	size_t len;
	double num;
	long long ms; /* dates: epoch milliseconds */
	struct cidr net; /* IpAddress, NotIpAddress */
	bool b;
};

struct pcond {
	unsigned char fam;   /* enum cfam */
	unsigned char op;    /* enum cop */
	unsigned char set;   /* enum cset */
	bool negate;
	bool if_exists;
	int key_id;          /* index into known_keys, or -1 */
	const char *key;     /* as written */
	size_t nvals;
	struct pvalue *vals;
};

struct pstmt {
	const char *sid;
	bool deny;
	bool not_principal, not_action, not_resource;
	size_t nprin, nact, nres, ncond;
	struct pprincipal *prin;
	struct ppattern *act;
	struct ppattern *res;
	struct pcond *cond;
};

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char data[];
};

struct policy {
	enum policy_mode mode;
	const char *id;
	size_t nstmt;
	struct pstmt *stmt;
	struct arena_block *arena;
};

static void *
arena_alloc(struct policy *p, size_t n)
{
	const size_t align = alignof(max_align_t);
	struct arena_block *b = p->arena;

	n = (n + align - 1) & ~(align - 1);
	if (n == 0)
		n = align;
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > 4096 ? n : 4096;
		b = xmalloc(sizeof(*b) + cap);
		b->next = p->arena;
		b->used = 0;
		b->cap = cap;
		p->arena = b;
	}
	void *r = b->data + b->used;
	b->used += n;
	memset(r, 0, n);
	return r;
}

static char *
arena_strndup(struct policy *p, const char *s, size_t n)
{
	char *r = arena_alloc(p, n + 1);
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	struct arena_block *b = p->arena;
	while (b != NULL) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	free(p);
}

enum policy_mode
policy_mode(const struct policy *p)
{
	return p->mode;
}

size_t
policy_statement_count(const struct policy *p)
{
	return p->nstmt;
}

const char *
policy_id(const struct policy *p)
{
	return p->id != NULL ? p->id : "";
}

/* ------------------------------------------------------------------ */
/* Value parsers shared by compile and the context                     */

/* Decimal number: -?digits(.digits)?(e[+-]?digits)?; no hex, inf or nan. */
TESTABLE bool
policy_parse_number(const char *s, double *out)
{
	const char *p = s;
	char *end;

	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p != '\0' || p - s > 64)
		return false;
	errno = 0;
	double d = strtod(s, &end);
	if (end != p || !isfinite(d))
		return false;
	*out = d;
	return true;
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * A date as IAM takes it: epoch seconds (digits, optional '-'), or ISO 8601
 * extended format YYYY-MM-DD[Thh:mm[:ss[.fff]]][Z|±hh[:mm]] (no zone = UTC).
 * Writes epoch milliseconds.
 */
TESTABLE bool
policy_parse_date(const char *s, long long *ms_out)
{
	size_t n = strlen(s);
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, se = 0;
	long long frac_ms = 0;

	if (n == 0 || n > 64)
		return false;
	/* epoch seconds */
	{
		const char *q = s;
		if (*q == '-')
			q++;
		if (*q != '\0' && strspn(q, "0123456789") == strlen(q)) {
			if (strlen(q) > 12)
				return false;
			long long v = strtoll(s, NULL, 10);
			*ms_out = v * 1000;
			return true;
		}
	}
	if (n < 10 || !digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) ||
	    p[7] != '-' || !digits(p + 8, 2, &d))
		return false;
	p += 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &mi))
			return false;
		p += 5;
		if (*p == ':') {
			if (!digits(p + 1, 2, &se))
				return false;
			p += 3;
			if (*p == '.' || *p == ',') {
				int nd = 0;
				p++;
				while (isdigit((unsigned char)*p)) {
					if (nd < 3)
						frac_ms = frac_ms * 10 + (*p - '0');
					nd++;
					p++;
				}
				if (nd == 0 || nd > 9)
					return false;
				for (; nd < 3; nd++)
					frac_ms *= 10;
			}
		}
	}
	long long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om = 0;
		p++;
		if (!digits(p, 2, &oh))
			return false;
		p += 2;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)*p)) {
			if (!digits(p, 2, &om))
				return false;
			p += 2;
		}
		if (oh > 23 || om > 59)
			return false;
		off = sign * (oh * 3600LL + om * 60LL);
	}
	if (*p != '\0')
		return false;
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (mo < 1 || mo > 12 || d < 1)
		return false;
	int dim = mdays[mo - 1];
	if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		dim = 29;
	if (d > dim || h > 23 || mi > 59 || se > 60)
		return false;
	long long secs = days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + se - off;
	*ms_out = secs * 1000 + frac_ms;
	return true;
}

/* ------------------------------------------------------------------ */
/* Wildcards                                                           */

static inline unsigned char
lc(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/*
 * IAM wildcard match: '*' any run (also empty), '?' exactly one character
 * (one UTF-8 sequence). With icase the pattern is already lower-case and
 * the subject is folded (ASCII) as it is read. Greedy with one backtrack
 * point: O(len(p) * len(s)) worst case, linear in practice.
 */
TESTABLE bool
policy_glob(const char *p, size_t pl, const char *s, size_t sl, bool icase)
{
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;

	while (si < sl) {
		if (pi < pl && p[pi] == '*') {
			star_p = pi++;
			star_s = si;
			continue;
		}
		if (pi < pl && p[pi] == '?') {
			pi++;
			si++;
			while (si < sl && ((unsigned char)s[si] & 0xc0) == 0x80)
				si++;
			continue;
		}
		if (pi < pl) {
			unsigned char a = (unsigned char)p[pi], b = (unsigned char)s[si];
			if (a == (icase ? lc(b) : b)) {
				pi++;
				si++;
				continue;
			}
		}
		if (star_p == SIZE_MAX)
			return false;
		pi = star_p + 1;
		si = ++star_s;
	}
	while (pi < pl && p[pi] == '*')
		pi++;
	return pi == pl;
}

/* FNV-1a, 64 bits. */
static uint64_t
hash64(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* A subject as the matcher sees it: bytes (already lower-cased for
 * actions) with their length and hash. */
struct subject {
	const char *s;
	size_t len;
	uint64_t hash;
};

static inline bool
pattern_match(const struct ppattern *pt, const struct subject *sub)
{
	if (!pt->wild)
		return pt->hash == sub->hash && pt->len == sub->len && memcmp(pt->s, sub->s, sub->len) == 0;
	return policy_glob(pt->s, pt->len, sub->s, sub->len, false);
}

/*
 * IAM Arn operators: the six colon-separated parts are matched one by one
 * (wildcards never cross a colon; the resource part takes the rest). A
 * pattern without any colon (such as "*") is matched against the whole
 * value; one with 1-4 colons matches nothing.
 */
TESTABLE bool
policy_arn_match(const char *p, size_t pl, const char *s, size_t sl)
{
	size_t pc = 0, sc = 0;
	for (size_t i = 0; i < pl; i++)
		pc += p[i] == ':';
	if (pc == 0)
		return policy_glob(p, pl, s, sl, false);
	if (pc < 5)
		return false;
	for (size_t i = 0; i < sl; i++)
		sc += s[i] == ':';
	if (sc < 5)
		return false;
	size_t pi = 0, si = 0;
	for (int part = 0; part < 6; part++) {
		size_t pe = pi, se = si;
		if (part < 5) {
			while (p[pe] != ':')
				pe++;
			while (s[se] != ':')
				se++;
		} else {
			pe = pl;
			se = sl;
		}
		if (!policy_glob(p + pi, pe - pi, s + si, se - si, false))
			return false;
		pi = pe + 1;
		si = se + 1;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Compilation                                                         */

static int invalid(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fill e with InvalidPolicy / 400 and return -1. */
static int
invalid(struct err *e, const char *fmt, ...)
{
	char msg[sizeof(e->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(e, 400, "InvalidPolicy", "%s", msg);
}

/* Max {/[ nesting of the raw text, strings skipped. */
static size_t
json_depth(const char *s, size_t n)
{
	size_t depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return max;
}

/* A JSON scalar as the text IAM compares: strings as is, numbers as
 * written by jansson, booleans as true/false. NULL for other types. */
static const char *
scalar_text(json_t *v, char *tmp, size_t tmplen)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	if (json_is_integer(v)) {
		snprintf(tmp, tmplen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return tmp;
	}
	if (json_is_real(v)) {
		snprintf(tmp, tmplen, "%.17g", json_real_value(v));
		return tmp;
	}
	return NULL;
}

/*
 * The entries of a "string or list of strings" element into items[] (at
 * most POLICY_MAX_VALUES). allow_scalars admits numbers and booleans
 * (condition values). Returns the count or -1.
 */
static int
str_list(json_t *v, const char *what, bool allow_scalars, json_t **items, struct err *e)
{
	size_t n;

	if (json_is_array(v)) {
		n = json_array_size(v);
		if (n == 0)
			return invalid(e, "%s must not be an empty list.", what);
		if (n > POLICY_MAX_VALUES)
			return invalid(e, "%s has more than %d values.", what,
			    POLICY_MAX_VALUES);
		for (size_t i = 0; i < n; i++)
			items[i] = json_array_get(v, i);
	} else {
		n = 1;
		items[0] = v;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *it = items[i];
		bool ok = json_is_string(it) ||
		    (allow_scalars && (json_is_number(it) || json_is_boolean(it)));
		if (!ok)
			return allow_scalars
			    ? invalid(e, "%s must be a string, number, boolean or a list of them.", what)
			    : invalid(e, "%s must be a string or a list of strings.", what);
		if (json_is_string(it) && json_string_length(it) > POLICY_MAX_STRING)
			return invalid(e, "%s has a value longer than %d characters.",
			    what, POLICY_MAX_STRING);
	}
	return (int)n;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* IAM user/role names and paths: [A-Za-z0-9+=,.@_-] and '/'. */
static bool
iam_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("+=,.@_-/", *s) == NULL)
			return false;
	return true;
}

static bool
service_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || strchr(s, '.') == NULL || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-')
			return false;
	return true;
}

static int
compile_aws_principal(struct policy *p, const char *s, struct pprincipal *out, struct err *e)
{
	size_t n = strlen(s);

	if (strcmp(s, "*") == 0) {
		out->kind = PR_ANY;
		return 0;
	}
	if (n == 12 && all_digits(s, 12)) {
		out->kind = PR_ACCOUNT;
		out->s = out->acct = arena_strndup(p, s, 12);
		return 0;
	}
	static const char pre[] = "arn:aws:iam::";
	if (strncmp(s, pre, sizeof(pre) - 1) == 0 && n >= sizeof(pre) - 1 + 13 &&
	    all_digits(s + sizeof(pre) - 1, 12) && s[sizeof(pre) - 1 + 12] == ':') {
		const char *acct = s + sizeof(pre) - 1;
		const char *rest = acct + 13;
		if (strcmp(rest, "root") == 0) {
			out->kind = PR_ACCOUNT;
			out->s = out->acct = arena_strndup(p, acct, 12);
			return 0;
		}
		const char *name = NULL;
		if (strncmp(rest, "user/", 5) == 0)
			name = rest + 5;
		else if (strncmp(rest, "role/", 5) == 0)
			name = rest + 5;
		if (name != NULL && iam_name_ok(name) && name[strlen(name) - 1] != '/' &&
		    strstr(name, "//") == NULL && name[0] != '/') {
			out->kind = PR_ARN;
			out->s = arena_strndup(p, s, n);
			out->acct = out->s + (acct - s);
			return 0;
		}
	}
	return invalid(e, "Invalid principal in policy: \"AWS\":\"%s\".", s);
}

static int
compile_principal(struct policy *p, json_t *v, const char *field, struct pstmt *st, struct err *e)
{
	json_t *items[POLICY_MAX_VALUES];

	if (json_is_string(v)) {
		if (strcmp(json_string_value(v), "*") != 0)
			return invalid(e, "Invalid principal in policy: %s must be \"*\" or an object.",
			    field);
		st->prin = arena_alloc(p, sizeof(*st->prin));
		st->prin[0].kind = PR_ANY;
		st->nprin = 1;
		return 0;
	}
	if (!json_is_object(v) || json_object_size(v) == 0)
		return invalid(e, "Invalid principal in policy: %s must be \"*\" or an object.", field);

	size_t total = 0;
	const char *k;
	json_t *val;
	json_object_foreach(v, k, val) {
		if (strcmp(k, "AWS") != 0 && strcmp(k, "Service") != 0)
			return invalid(e, "Invalid principal in policy: unsupported principal type '%s'.", k);
		int c = str_list(val, strcmp(k, "AWS") == 0 ? "Principal AWS" : "Principal Service",
		    false, items, e);
		if (c < 0)
			return -1;
		total += (size_t)c;
	}
	st->prin = arena_alloc(p, total * sizeof(*st->prin));
	json_object_foreach(v, k, val) {
		int c = str_list(val, k, false, items, e);
		for (int i = 0; i < c; i++) {
			const char *s = json_string_value(items[i]);
			struct pprincipal *pr = &st->prin[st->nprin];
			if (strcmp(k, "AWS") == 0) {
				if (compile_aws_principal(p, s, pr, e) != 0)
					return -1;
			} else {
				if (!service_name_ok(s))
					return invalid(e, "Invalid principal in policy: \"Service\":\"%s\".", s);
				pr->kind = PR_SERVICE;
				pr->s = arena_strndup(p, s, strlen(s));
			}
			st->nprin++;
		}
	}
	return 0;
}

/* service:action with * and ? wildcards, or "*". */
static bool
action_ok(const char *s, bool ses_only)
{
	if (strcmp(s, "*") == 0)
		return true;
	const char *colon = strchr(s, ':');
	if (colon == NULL || colon == s || colon[1] == '\0')
		return false;
	for (const char *q = s; q < colon; q++)
		if (!isalnum((unsigned char)*q) && *q != '-')
			return false;
	if (ses_only && !(colon - s == 3 && strncasecmp(s, "ses", 3) == 0))
		return false;
	for (const char *q = colon + 1; *q; q++)
		if (!isalnum((unsigned char)*q) && *q != '*' && *q != '?')
			return false;
	return true;
}

/* Resource mode: "*" or arn:<p>:ses:<region>:<account>:identity/<id>,
 * where any part may be a wildcard pattern. */
static bool
ses_resource_ok(const char *s)
{
	if (strcmp(s, "*") == 0)
		return true;
	const char *part[6];
	size_t plen[6];
	const char *q = s;
	for (int i = 0; i < 6; i++) {
		part[i] = q;
		const char *c = i < 5 ? strchr(q, ':') : q + strlen(q);
		if (c == NULL)
			return false;
		plen[i] = (size_t)(c - q);
		q = c + 1;
	}
	if (plen[0] != 3 || strncmp(part[0], "arn", 3) != 0)
		return false;
	if (!policy_glob(part[2], plen[2], "ses", 3, false))
		return false;
	if (plen[5] == 0)
		return false;
	/* the literal head of the resource part must agree with "identity/" */
	static const char id[] = "identity/";
	for (size_t i = 0; i < plen[5]; i++) {
		char c = part[5][i];
		if (c == '*' || c == '?')
			return true;
		if (i >= sizeof(id) - 1)
			return true;
		if (c != id[i])
			return false;
	}
	return plen[5] > sizeof(id) - 1;
}

static int
compile_patterns(struct policy *p, json_t *v, const char *field, bool lower,
    int (*check)(const char *, void *), void *arg, struct ppattern **out, size_t *n_out,
    struct err *e)
{
	json_t *items[POLICY_MAX_VALUES];
	int c = str_list(v, field, false, items, e);

	if (c < 0)
		return -1;
	*out = arena_alloc(p, (size_t)c * sizeof(**out));
	for (int i = 0; i < c; i++) {
		const char *s = json_string_value(items[i]);
		size_t n = json_string_length(items[i]);
		if (check(s, arg) != 0)
			return -1;
		char *cp = arena_strndup(p, s, n);
		if (lower)
			for (size_t k = 0; k < n; k++)
				cp[k] = (char)lc((unsigned char)cp[k]);
		(*out)[i].s = cp;
		(*out)[i].len = n;
		(*out)[i].wild = strpbrk(cp, "*?") != NULL;
		(*out)[i].hash = hash64(cp, n);
	}
	*n_out = (size_t)c;
	return 0;
}

struct check_arg {
	enum policy_mode mode;
	const char *field;
	struct err *e;
};

static int
check_action(const char *s, void *a)
{
	struct check_arg *ca = a;
	if (!action_ok(s, ca->mode == POLICY_RESOURCE))
		return invalid(ca->e, "Invalid action '%s': actions must be %s:<Action> "
				      "(wildcards allowed) or *.",
		    s, ca->mode == POLICY_RESOURCE ? "ses" : "<service>");
	return 0;
}

static int
check_resource(const char *s, void *a)
{
	struct check_arg *ca = a;
	if (*s == '\0')
		return invalid(ca->e, "Invalid resource '%s': resources must not be empty.", s);
	if (ca->mode == POLICY_RESOURCE && !ses_resource_ok(s))
		return invalid(ca->e,
		    "Invalid resource '%s': the resource must be an SES identity ARN "
		    "(arn:aws:ses:<region>:<account>:identity/<identity>).", s);
	return 0;
}

struct op_def {
	const char *name;
	enum cfam fam;
	enum cop op;
	bool negate;
};

static const struct op_def op_defs[] = {
	{"StringEquals", F_STRING, OP_EQ, false},
	{"StringNotEquals", F_STRING, OP_EQ, true},
	{"StringEqualsIgnoreCase", F_STRING, OP_EQ_IC, false},
	{"StringNotEqualsIgnoreCase", F_STRING, OP_EQ_IC, true},
	{"StringLike", F_STRING, OP_LIKE, false},
	{"StringNotLike", F_STRING, OP_LIKE, true},
	{"NumericEquals", F_NUMERIC, OP_EQ, false},
	{"NumericNotEquals", F_NUMERIC, OP_EQ, true},
	{"NumericLessThan", F_NUMERIC, OP_LT, false},
	{"NumericLessThanEquals", F_NUMERIC, OP_LE, false},
	{"NumericGreaterThan", F_NUMERIC, OP_GT, false},
	{"NumericGreaterThanEquals", F_NUMERIC, OP_GE, false},
	{"DateEquals", F_DATE, OP_EQ, false},
	{"DateNotEquals", F_DATE, OP_EQ, true},
	{"DateLessThan", F_DATE, OP_LT, false},
	{"DateLessThanEquals", F_DATE, OP_LE, false},
	{"DateGreaterThan", F_DATE, OP_GT, false},
	{"DateGreaterThanEquals", F_DATE, OP_GE, false},
	{"Bool", F_BOOL, OP_EQ, false},
	{"BinaryEquals", F_BINARY, OP_EQ, false},
	{"IpAddress", F_IP, OP_EQ, false},
	{"NotIpAddress", F_IP, OP_EQ, true},
	{"ArnEquals", F_ARN, OP_LIKE, false},
	{"ArnLike", F_ARN, OP_LIKE, false},
	{"ArnNotEquals", F_ARN, OP_LIKE, true},
	{"ArnNotLike", F_ARN, OP_LIKE, true},
	{"Null", F_NULL, OP_EQ, false},
};

/* Split "ForAllValues:StringLikeIfExists" into its parts. */
static int
parse_operator(const char *name, struct pcond *c, struct err *e)
{
	const char *base = name;
	char buf[64];

	c->set = SET_NONE;
	if (strncmp(base, "ForAllValues:", 13) == 0) {
		c->set = SET_ALL;
		base += 13;
	} else if (strncmp(base, "ForAnyValue:", 12) == 0) {
		c->set = SET_ANY;
		base += 12;
	}
	size_t n = strlen(base);
	if (n >= sizeof(buf))
		return invalid(e, "Invalid condition operator '%s'.", name);
	memcpy(buf, base, n + 1);
	c->if_exists = false;
	if (n > 8 && strcmp(buf + n - 8, "IfExists") == 0) {
		c->if_exists = true;
		buf[n - 8] = '\0';
	}
	for (size_t i = 0; i < sizeof(op_defs) / sizeof(op_defs[0]); i++) {
		if (strcmp(buf, op_defs[i].name) != 0)
			continue;
		if (op_defs[i].fam == F_NULL && (c->if_exists || c->set != SET_NONE))
			return invalid(e, "Invalid condition operator '%s': Null takes neither IfExists "
					  "nor ForAllValues/ForAnyValue.", name);
		c->fam = (unsigned char)op_defs[i].fam;
		c->op = (unsigned char)op_defs[i].op;
		c->negate = op_defs[i].negate;
		return 0;
	}
	return invalid(e, "Invalid condition operator '%s'.", name);
}

static int
check_key(const char *key, enum policy_mode mode, int *id_out, struct err *e)
{
	size_t n = strlen(key);

	if (mode == POLICY_RESOURCE) {
		int id = known_key_id(key, true);
		if (id < 0)
			return invalid(e, "Unknown or unapplicable condition field '%s'.", key);
		*id_out = id;
		return 0;
	}
	const char *colon = strchr(key, ':');
	bool ok = colon != NULL && colon != key && colon[1] != '\0' && n <= POLICY_CTX_MAX_KEY;
	for (const char *q = key; ok && q < colon; q++)
		ok = isalnum((unsigned char)*q) || *q == '-';
	for (const char *q = colon ? colon + 1 : key; ok && *q; q++)
		ok = isgraph((unsigned char)*q);
	if (!ok)
		return invalid(e, "Unknown or unapplicable condition field '%s'.", key);
	*id_out = known_key_id(key, false);
	return 0;
}

static int
compile_value(struct policy *p, struct pcond *c, const char *s, struct pvalue *v, struct err *e)
{
	size_t n = strlen(s);

	v->len = n;
	switch ((enum cfam)c->fam) {
	case F_STRING:
	case F_ARN: {
		char *cp = arena_strndup(p, s, n);
		if (c->op == OP_EQ_IC)
			for (size_t i = 0; i < n; i++)
				cp[i] = (char)lc((unsigned char)cp[i]);
		v->s = cp;
		return 0;
	}
	case F_NUMERIC:
		if (!policy_parse_number(s, &v->num))
			return err_set(e, 400, "InvalidPolicy",
			    "Invalid numeric value '%s' for condition key '%s'.", s, c->key);
		break;
	case F_DATE:
		if (!policy_parse_date(s, &v->ms))
			return err_set(e, 400, "InvalidPolicy",
			    "Invalid date value '%s' for condition key '%s': use ISO 8601 "
			    "(2018-08-31T12:00:00Z) or epoch seconds.", s, c->key);
		break;
	case F_BOOL:
	case F_NULL:
		if (strcasecmp(s, "true") == 0)
			v->b = true;
		else if (strcasecmp(s, "false") == 0)
			v->b = false;
		else
			return err_set(e, 400, "InvalidPolicy",
			    "Invalid %s value '%s' for condition key '%s': use true or false.",
			    c->fam == F_NULL ? "Null" : "Bool", s, c->key);
		break;
	case F_BINARY: {
		size_t dl;
		uint8_t *d = base64_decode(s, n, &dl);
		if (d == NULL || n == 0) {
			free(d);
			return err_set(e, 400, "InvalidPolicy",
			    "Invalid base64 value '%s' for condition key '%s'.", s, c->key);
		}
		free(d);
		break;
	}
	case F_IP:
		if (!cidr_parse(s, &v->net))
			return err_set(e, 400, "InvalidPolicy",
			    "Invalid IP address or CIDR '%s' for condition key '%s'.", s, c->key);
		break;
	}
	v->s = arena_strndup(p, s, n);
	return 0;
}

static int
compile_conditions(struct policy *p, json_t *cond, struct pstmt *st, struct err *e)
{
	json_t *items[POLICY_MAX_VALUES];
	const char *opname, *key;
	json_t *block, *val;
	size_t total = 0;

	if (!json_is_object(cond))
		return invalid(e, "Condition must be an object.");
	json_object_foreach(cond, opname, block) {
		if (!json_is_object(block) || json_object_size(block) == 0)
			return invalid(e, "Condition operator '%s' must map condition keys to values.",
			    opname);
		total += json_object_size(block);
		if (total > POLICY_MAX_CONDITIONS)
			return err_set(e, 400, "InvalidPolicy",
			    "Statement has more than %d conditions.", POLICY_MAX_CONDITIONS);
	}
	st->cond = arena_alloc(p, total * sizeof(*st->cond));
	json_object_foreach(cond, opname, block) {
		struct pcond proto;
		memset(&proto, 0, sizeof(proto));
		if (parse_operator(opname, &proto, e) != 0)
			return -1;
		json_object_foreach(block, key, val) {
			struct pcond *c = &st->cond[st->ncond];
			*c = proto;
			if (check_key(key, p->mode, &c->key_id, e) != 0)
				return -1;
			c->key = arena_strndup(p, key, strlen(key));
			char what[POLICY_CTX_MAX_KEY + 64];
			snprintf(what, sizeof(what), "Condition key '%s'", key);
			int nv = str_list(val, what, true, items, e);
			if (nv < 0)
				return -1;
			c->vals = arena_alloc(p, (size_t)nv * sizeof(*c->vals));
			for (int i = 0; i < nv; i++) {
				char tmp[64];
				const char *s = scalar_text(items[i], tmp, sizeof(tmp));
				if (compile_value(p, c, s, &c->vals[i], e) != 0)
					return -1;
			}
			c->nvals = (size_t)nv;
			st->ncond++;
		}
	}
	return 0;
}

static int
compile_statement(struct policy *p, json_t *js, struct pstmt *st, struct err *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(js))
		return invalid(e, "Each statement must be a JSON object.");
	json_object_foreach(js, k, v) {
		static const char *const fields[] = {"Sid", "Effect", "Principal", "NotPrincipal",
		    "Action", "NotAction", "Resource", "NotResource", "Condition"};
		bool known = false;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			known = known || strcmp(k, fields[i]) == 0;
		if (!known)
			return invalid(e, "Unknown field '%s' in statement.", k);
	}

	json_t *sid = json_object_get(js, "Sid");
	if (sid != NULL) {
		if (!json_is_string(sid))
			return invalid(e, "Sid must be a string.");
		if (json_string_length(sid) > POLICY_MAX_STRING)
			return invalid(e, "Sid is longer than %d characters.",
			    POLICY_MAX_STRING);
		st->sid = arena_strndup(p, json_string_value(sid), json_string_length(sid));
	} else {
		st->sid = "";
	}

	json_t *eff = json_object_get(js, "Effect");
	if (eff == NULL)
		return invalid(e, "Missing required field Effect.");
	if (!json_is_string(eff) ||
	    (strcmp(json_string_value(eff), "Allow") != 0 && strcmp(json_string_value(eff), "Deny") != 0))
		return invalid(e, "Invalid effect '%s': Effect must be Allow or Deny.",
		    json_is_string(eff) ? json_string_value(eff) : "(not a string)");
	st->deny = strcmp(json_string_value(eff), "Deny") == 0;

	json_t *pr = json_object_get(js, "Principal"), *npr = json_object_get(js, "NotPrincipal");
	if (p->mode == POLICY_IDENTITY) {
		if (pr != NULL || npr != NULL)
			return invalid(e, "Policy document should not specify a principal.");
	} else {
		if (pr != NULL && npr != NULL)
			return invalid(e, "Statement cannot contain both Principal and NotPrincipal.");
		if (pr == NULL && npr == NULL)
			return invalid(e, "Missing required field Principal.");
		st->not_principal = npr != NULL;
		if (compile_principal(p, pr ? pr : npr, pr ? "Principal" : "NotPrincipal", st, e) != 0)
			return -1;
	}

	struct check_arg ca = {p->mode, NULL, e};
	json_t *ac = json_object_get(js, "Action"), *nac = json_object_get(js, "NotAction");
	if (ac != NULL && nac != NULL)
		return invalid(e, "Statement cannot contain both Action and NotAction.");
	if (ac == NULL && nac == NULL)
		return invalid(e, "Missing required field Action.");
	st->not_action = nac != NULL;
	if (compile_patterns(p, ac ? ac : nac, ac ? "Action" : "NotAction", true, check_action, &ca,
		&st->act, &st->nact, e) != 0)
		return -1;

	json_t *rs = json_object_get(js, "Resource"), *nrs = json_object_get(js, "NotResource");
	if (rs != NULL && nrs != NULL)
		return invalid(e, "Statement cannot contain both Resource and NotResource.");
	if (rs == NULL && nrs == NULL)
		return invalid(e, "Missing required field Resource.");
	st->not_resource = nrs != NULL;
	if (compile_patterns(p, rs ? rs : nrs, rs ? "Resource" : "NotResource", false, check_resource,
		&ca, &st->res, &st->nres, e) != 0)
		return -1;

	json_t *cond = json_object_get(js, "Condition");
	if (cond != NULL && compile_conditions(p, cond, st, e) != 0)
		return -1;
	return 0;
}

int
policy_compile(const char *doc, size_t len, enum policy_mode mode, struct policy **policy_out,
    struct err *e)
{
	json_error_t jerr;
	json_t *root = NULL;
	struct policy *p = NULL;

	*policy_out = NULL;
	if (len == 0)
		return invalid(e, "Policy document is empty.");
	if (len > POLICY_MAX_BYTES)
		return err_set(e, 400, "InvalidPolicy",
		    "Policy document is larger than the maximum of %d bytes.", POLICY_MAX_BYTES);
	if (!utf8_valid(doc, len))
		return invalid(e, "Policy document is not valid UTF-8.");
	if (json_depth(doc, len) > POLICY_MAX_DEPTH)
		return err_set(e, 400, "InvalidPolicy",
		    "Policy document is nested deeper than %d levels.", POLICY_MAX_DEPTH);
	root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return invalid(e, "Policy has invalid JSON: %s (line %d, column %d).",
		    jerr.text, jerr.line, jerr.column);
	if (!json_is_object(root)) {
		invalid(e, "Policy document must be a JSON object.");
		goto fail;
	}

	const char *k;
	json_t *v;
	json_object_foreach(root, k, v) {
		if (strcmp(k, "Version") != 0 && strcmp(k, "Id") != 0 && strcmp(k, "Statement") != 0) {
			invalid(e, "Unknown field '%s' in policy.", k);
			goto fail;
		}
	}
	json_t *ver = json_object_get(root, "Version");
	if (ver != NULL && (!json_is_string(ver) || (strcmp(json_string_value(ver), "2012-10-17") != 0 &&
							   strcmp(json_string_value(ver), "2008-10-17") != 0))) {
		invalid(e, "Invalid policy version '%s': use 2012-10-17 or 2008-10-17.",
		    json_is_string(ver) ? json_string_value(ver) : "(not a string)");
		goto fail;
	}
	json_t *id = json_object_get(root, "Id");
	if (id != NULL && (!json_is_string(id) || json_string_length(id) > POLICY_MAX_STRING)) {
		invalid(e, "Id must be a string of at most 1024 characters.");
		goto fail;
	}
	json_t *stmts = json_object_get(root, "Statement");
	if (stmts == NULL) {
		invalid(e, "Missing required field Statement.");
		goto fail;
	}
	size_t nst = json_is_array(stmts) ? json_array_size(stmts) : 1;
	if (!json_is_array(stmts) && !json_is_object(stmts)) {
		invalid(e, "Statement must be an object or a list of objects.");
		goto fail;
	}
	if (nst == 0) {
		invalid(e, "Policy must contain at least one statement.");
		goto fail;
	}
	if (nst > POLICY_MAX_STATEMENTS) {
		invalid(e, "Policy has more than %d statements.",
		    POLICY_MAX_STATEMENTS);
		goto fail;
	}

	if (mode == POLICY_AUTO) {
		mode = POLICY_IDENTITY;
		for (size_t i = 0; i < nst; i++) {
			json_t *s = json_is_array(stmts) ? json_array_get(stmts, i) : stmts;
			if (json_is_object(s) && (json_object_get(s, "Principal") != NULL ||
						     json_object_get(s, "NotPrincipal") != NULL))
				mode = POLICY_RESOURCE;
		}
	}

	p = xcalloc(1, sizeof(*p));
	p->mode = mode;
	if (id != NULL)
		p->id = arena_strndup(p, json_string_value(id), json_string_length(id));
	p->stmt = arena_alloc(p, nst * sizeof(*p->stmt));
	for (size_t i = 0; i < nst; i++) {
		json_t *s = json_is_array(stmts) ? json_array_get(stmts, i) : stmts;
		if (compile_statement(p, s, &p->stmt[i], e) != 0)
			goto fail;
		p->nstmt++;
	}
	json_decref(root);
	*policy_out = p;
	return 0;
fail:
	json_decref(root);
	policy_free(p);
	return -1;
}

int
policy_check_resource(const struct policy *p, const char *identity_arn, struct err *e)
{
	for (size_t i = 0; i < p->nstmt; i++) {
		const struct pstmt *st = &p->stmt[i];
		bool ok = !st->not_resource;
		for (size_t j = 0; ok && j < st->nres; j++)
			ok = strcmp(st->res[j].s, identity_arn) == 0;
		if (!ok)
			return invalid(e, "Policy resource must be the identity's ARN: %s.", identity_arn);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Context                                                             */

enum { CV_NUM = 1, CV_DATE = 2, CV_IP = 4, CV_TRUE = 8, CV_FALSE = 16 };

struct ctx_val {
	char *s;
	size_t len;
	unsigned flags;
	struct cidr ip; /* CV_IP: one host */
	double num;
	long long ms;
};

struct ctx_key {
	char name[POLICY_CTX_MAX_KEY + 1];
	size_t n, cap;
	struct ctx_val *vals;
};

struct policy_ctx {
	size_t nkeys, nvalues;
	int known[NKNOWN]; /* index into keys[], -1 when absent */
	struct ctx_key keys[POLICY_CTX_MAX_KEYS];
};

struct policy_ctx *
policy_ctx_new(void)
{
	struct policy_ctx *c = xcalloc(1, sizeof(*c));
	for (size_t i = 0; i < NKNOWN; i++)
		c->known[i] = -1;
	return c;
}

void
policy_ctx_reset(struct policy_ctx *c)
{
	for (size_t i = 0; i < c->nkeys; i++) {
		for (size_t j = 0; j < c->keys[i].n; j++)
			free(c->keys[i].vals[j].s);
		free(c->keys[i].vals);
		memset(&c->keys[i], 0, sizeof(c->keys[i]));
	}
	c->nkeys = c->nvalues = 0;
	for (size_t i = 0; i < NKNOWN; i++)
		c->known[i] = -1;
}

void
policy_ctx_free(struct policy_ctx *c)
{
	if (c == NULL)
		return;
	policy_ctx_reset(c);
	free(c);
}

static const struct ctx_key *
ctx_find(const struct policy_ctx *c, const char *key, int id)
{
	if (c == NULL)
		return NULL;
	if (id >= 0)
		return c->known[id] >= 0 ? &c->keys[c->known[id]] : NULL;
	for (size_t i = 0; i < c->nkeys; i++)
		if (strcasecmp(c->keys[i].name, key) == 0)
			return &c->keys[i];
	return NULL;
}

int
policy_ctx_add(struct policy_ctx *c, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);

	if (kl == 0 || kl > POLICY_CTX_MAX_KEY || vl > POLICY_CTX_MAX_VALUE ||
	    c->nvalues >= POLICY_CTX_MAX_VALUES)
		return -1;
	int id = known_key_id(key, false);
	struct ctx_key *k = (struct ctx_key *)ctx_find(c, key, id);
	if (k == NULL) {
		if (c->nkeys >= POLICY_CTX_MAX_KEYS)
			return -1;
		k = &c->keys[c->nkeys];
		memcpy(k->name, key, kl + 1);
		if (id >= 0)
			c->known[id] = (int)c->nkeys;
		c->nkeys++;
	}
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 4;
		k->vals = xrealloc(k->vals, k->cap * sizeof(*k->vals));
	}
	struct ctx_val *v = &k->vals[k->n++];
	memset(v, 0, sizeof(*v));
	v->s = xstrndup(value, vl);
	v->len = vl;
	if (policy_parse_number(value, &v->num))
		v->flags |= CV_NUM;
	if (policy_parse_date(value, &v->ms))
		v->flags |= CV_DATE;
	if (strchr(value, '/') == NULL && cidr_parse(value, &v->ip))
		v->flags |= CV_IP;
	if (strcasecmp(value, "true") == 0)
		v->flags |= CV_TRUE;
	else if (strcasecmp(value, "false") == 0)
		v->flags |= CV_FALSE;
	c->nvalues++;
	return 0;
}

size_t
policy_ctx_count(const struct policy_ctx *c, const char *key)
{
	const struct ctx_key *k = ctx_find(c, key, known_key_id(key, false));
	return k != NULL ? k->n : 0;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */

/* Request value <op> policy value, given their three-way comparison. */
static inline bool
cmp_ok(unsigned op, int cmp)
{
	switch ((enum cop)op) {
	case OP_EQ: return cmp == 0;
	case OP_LT: return cmp < 0;
	case OP_LE: return cmp <= 0;
	case OP_GT: return cmp > 0;
	case OP_GE: return cmp >= 0;
	default: return false;
	}
}

/* One policy value against one request value, positive sense. */
static bool
value_match(const struct pcond *c, const struct pvalue *pv, const struct ctx_val *rv)
{
	switch ((enum cfam)c->fam) {
	case F_STRING:
		if (c->op == OP_LIKE)
			return policy_glob(pv->s, pv->len, rv->s, rv->len, false);
		if (pv->len != rv->len)
			return false;
		if (c->op == OP_EQ)
			return memcmp(pv->s, rv->s, rv->len) == 0;
		for (size_t i = 0; i < rv->len; i++)
			if ((unsigned char)pv->s[i] != lc((unsigned char)rv->s[i]))
				return false;
		return true;
	case F_NUMERIC: {
		if (!(rv->flags & CV_NUM))
			return false;
		int cmp = (rv->num > pv->num) - (rv->num < pv->num);
		return cmp_ok(c->op, cmp);
	}
	case F_DATE: {
		if (!(rv->flags & CV_DATE))
			return false;
		int cmp = (rv->ms > pv->ms) - (rv->ms < pv->ms);
		return cmp_ok(c->op, cmp);
	}
	case F_BOOL:
		return pv->b ? (rv->flags & CV_TRUE) != 0 : (rv->flags & CV_FALSE) != 0;
	case F_BINARY:
		return pv->len == rv->len && memcmp(pv->s, rv->s, rv->len) == 0;
	case F_IP:
		return (rv->flags & CV_IP) && cidr_contains(&pv->net, &rv->ip);
	case F_ARN:
		return policy_arn_match(pv->s, pv->len, rv->s, rv->len);
	case F_NULL:
		return false;
	}
	return false;
}

/* Does request value rv match any of the condition's values? */
static bool
any_value(const struct pcond *c, const struct ctx_val *rv)
{
	for (size_t i = 0; i < c->nvals; i++)
		if (value_match(c, &c->vals[i], rv))
			return true;
	return false;
}

/*
 * One operator x key condition, with IAM's rules for absent keys
 * (absent = no values): Null tests absence; IfExists makes absence true;
 * ForAllValues is true and ForAnyValue false on an empty set; otherwise a
 * negated operator is true and a positive one false.
 */
static bool
cond_holds(const struct pcond *c, const struct policy_ctx *ctx)
{
	const struct ctx_key *k = ctx_find(ctx, c->key, c->key_id);
	size_t n = k != NULL ? k->n : 0;

	if (c->fam == F_NULL) {
		for (size_t i = 0; i < c->nvals; i++)
			if (c->vals[i].b == (n == 0))
				return true;
		return false;
	}
	if (n == 0) {
		if (c->if_exists)
			return true;
		if (c->set == SET_ALL)
			return true;
		if (c->set == SET_ANY)
			return false;
		return c->negate;
	}
	switch ((enum cset)c->set) {
	case SET_ALL:
		for (size_t i = 0; i < n; i++)
			if (any_value(c, &k->vals[i]) == c->negate)
				return false;
		return true;
	case SET_ANY:
		for (size_t i = 0; i < n; i++)
			if (any_value(c, &k->vals[i]) != c->negate)
				return true;
		return false;
	case SET_NONE:
	default:
		for (size_t i = 0; i < n; i++)
			if (any_value(c, &k->vals[i]))
				return !c->negate;
		return c->negate;
	}
}

enum rp_kind { RP_OTHER, RP_ARN, RP_ACCOUNT, RP_SERVICE };

struct req_principal {
	enum rp_kind kind;
	const char *s;
	const char *account; /* 12 digits inside s, or NULL */
};

static void
parse_req_principal(const char *s, struct req_principal *rp)
{
	rp->s = s != NULL ? s : "";
	rp->kind = RP_OTHER;
	rp->account = NULL;
	s = rp->s;
	size_t n = strlen(s);
	if (n == 12 && all_digits(s, 12)) {
		rp->kind = RP_ACCOUNT;
		rp->account = s;
		return;
	}
	if (strncmp(s, "arn:", 4) == 0) {
		rp->kind = RP_ARN;
		const char *q = s;
		for (int i = 0; i < 4 && q != NULL; i++) {
			q = strchr(q, ':');
			if (q != NULL)
				q++;
		}
		if (q != NULL && all_digits(q, 12) && q[12] == ':') {
			rp->account = q;
			if (strcmp(q + 13, "root") == 0)
				rp->kind = RP_ACCOUNT;
		}
		return;
	}
	if (strchr(s, '.') != NULL)
		rp->kind = RP_SERVICE;
}

static bool
principal_entry_match(const struct pprincipal *pe, const struct req_principal *rp)
{
	switch (pe->kind) {
	case PR_ANY:
		return true;
	case PR_ACCOUNT:
		return rp->account != NULL && memcmp(rp->account, pe->acct, 12) == 0;
	case PR_ARN:
		return rp->kind == RP_ARN && rp->account != NULL &&
		    memcmp(rp->account, pe->acct, 12) == 0 && strcmp(rp->s, pe->s) == 0;
	case PR_SERVICE:
		return rp->kind == RP_SERVICE && strcasecmp(rp->s, pe->s) == 0;
	}
	return false;
}

/* Principal first: in an identity shared by many delegates it is the test
 * that fails most often, and the cheapest. */
static bool
statement_applies(const struct policy *p, const struct pstmt *st, const struct req_principal *rp,
    const struct subject *action, const struct subject *resource, const struct policy_ctx *ctx)
{
	bool hit;

	if (p->mode == POLICY_RESOURCE) {
		hit = false;
		for (size_t i = 0; !hit && i < st->nprin; i++)
			hit = principal_entry_match(&st->prin[i], rp);
		if (hit == st->not_principal)
			return false;
	}

	hit = false;
	for (size_t i = 0; !hit && action->s != NULL && i < st->nact; i++)
		hit = pattern_match(&st->act[i], action);
	if (hit == st->not_action)
		return false;

	hit = false;
	for (size_t i = 0; !hit && i < st->nres; i++)
		hit = pattern_match(&st->res[i], resource);
	if (hit == st->not_resource)
		return false;

	for (size_t i = 0; i < st->ncond; i++)
		if (!cond_holds(&st->cond[i], ctx))
			return false;
	return true;
}

/* Action patterns are at most POLICY_MAX_STRING bytes; a longer request
 * action is matched by no Action pattern (so NotAction statements apply). */
#define ACTION_MAX POLICY_MAX_STRING

enum policy_decision
policy_evaluate(const struct policy *const *set, size_t n, const struct policy_request *req,
    struct policy_result *out)
{
	struct policy_match allow[POLICY_MAX_MATCHES];
	size_t nallow = 0, ndeny = 0, ndeny_kept = 0;
	struct req_principal rp;
	char lower[ACTION_MAX];
	struct subject action, resource;
	const char *a = req->action != NULL ? req->action : "";

	/* actions compare case-insensitively: fold the request's once */
	action.len = strnlen(a, ACTION_MAX + 1);
	if (action.len > ACTION_MAX) {
		action.s = NULL;
		action.hash = 0;
	} else {
		for (size_t i = 0; i < action.len; i++)
			lower[i] = (char)lc((unsigned char)a[i]);
		action.s = lower;
		action.hash = hash64(lower, action.len);
	}
	resource.s = req->resource != NULL ? req->resource : "";
	resource.len = strlen(resource.s);
	resource.hash = hash64(resource.s, resource.len);

	parse_req_principal(req->principal, &rp);
	for (size_t i = 0; i < n; i++) {
		const struct policy *p = set[i];
		if (p == NULL)
			continue;
		for (size_t j = 0; j < p->nstmt; j++) {
			const struct pstmt *st = &p->stmt[j];
			/* once denied, only further Denies matter */
			if (ndeny > 0 && !st->deny)
				continue;
			if (!statement_applies(p, st, &rp, &action, &resource, req->ctx))
				continue;
			struct policy_match m = {st->sid, (unsigned)i, (unsigned)j};
			if (st->deny) {
				if (out != NULL && ndeny_kept < POLICY_MAX_MATCHES)
					out->matched[ndeny_kept++] = m;
				ndeny++;
			} else {
				if (nallow < POLICY_MAX_MATCHES)
					allow[nallow] = m;
				nallow++;
			}
		}
	}
	enum policy_decision d = ndeny > 0 ? POLICY_EXPLICIT_DENY
	    : nallow > 0 ? POLICY_ALLOWED : POLICY_IMPLICIT_DENY;
	if (out != NULL) {
		out->decision = d;
		if (d == POLICY_EXPLICIT_DENY) {
			out->nmatched = ndeny_kept;
			out->total = ndeny;
		} else if (d == POLICY_ALLOWED) {
			out->nmatched = nallow < POLICY_MAX_MATCHES ? nallow : POLICY_MAX_MATCHES;
			memcpy(out->matched, allow, out->nmatched * sizeof(allow[0]));
			out->total = nallow;
		} else {
			out->nmatched = out->total = 0;
		}
	}
	return d;
}

const char *
policy_decision_name(enum policy_decision d)
{
	switch (d) {
	case POLICY_ALLOWED:
		return "allowed";
	case POLICY_EXPLICIT_DENY:
		return "explicitDeny";
	case POLICY_IMPLICIT_DENY:
	default:
		return "implicitDeny";
	}
}

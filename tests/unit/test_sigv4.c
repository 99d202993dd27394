/*
 * test_sigv4.c — SigV4 verification and util/hash.
 *
 * 1. AWS's published SigV4 test suite (data/sigv4/suite, service "service",
 *    region us-east-1, 20150830T123600Z): canonical request, string to sign
 *    and signature must match the .creq/.sts/.authz files byte for byte, and
 *    sigv4_verify must accept the request.
 * 2. Requests signed by botocore's SigV4Auth for service ses/email
 *    (data/sigv4/golden, regenerate with gen_golden.py) through the full
 *    sigv4_parse + sigv4_verify with an injected clock, then a table of
 *    mutations each with the exact SES error it must produce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/sigv4.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/codec.h"
#include "util/hash.h"
#include "util/xalloc.h"

/* TESTABLE internals of sigv4.c */
int sigv4_parse_authorization(const char *value, bool has_date, struct sigv4_auth *out,
			      struct err *e);
int sigv4_canonical_request(const struct sigv4_request *r, const struct sigv4_auth *a,
			    struct buf *creq, struct err *e);
void sigv4_string_to_sign(const struct sigv4_auth *a, const char *creq, size_t creq_len,
			  char *sts_out, size_t cap);
void sigv4_signature(const uint8_t key[32], const char *sts, char hex_out[65]);
int sigv4_parse_iso_basic(const char *s, time_t *out);
int sigv4_parse_http_date(const char *s, time_t *out);

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define MAXH 160

static char *
slurp(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[4096];
	size_t n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	buf_init(&b, 0);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		assert_int_equal(buf_append(&b, tmp, n), 0);
	fclose(f);
	return buf_steal(&b, len_out);
}

/* A request read from a test-suite .req file. */
struct req {
	char *text; /* owns every string below */
	char *method, *path, *query;
	struct sigv4_header h[MAXH];
	size_t nh;
	char *body;
	size_t body_len;
	char *extra[MAXH]; /* strings added by tests, freed with the request */
	size_t nextra;
	struct sigv4_request r;
};

static void
req_sync(struct req *q)
{
	q->r.method = q->method;
	q->r.path = q->path;
	q->r.query = q->query;
	q->r.headers = q->h;
	q->r.nheaders = q->nh;
	q->r.body = q->body;
	q->r.body_len = q->body_len;
}

/*
 * Parse the suite format: "METHOD target HTTP/1.1", "Name:value" lines (a
 * line starting with blanks continues the previous header and, as the
 * suite's get-header-value-multiline expects, counts as another value of
 * it), a blank line, the body.
 */
static void
req_load(struct req *q, const char *path)
{
	size_t len;
	char *p, *nl, *sp, *http;

	memset(q, 0, sizeof(*q));
	q->text = slurp(path, &len);
	p = q->text;
	nl = strchr(p, '\n');
	if (nl)
		*nl = '\0';
	sp = strchr(p, ' ');
	http = strstr(p, " HTTP/1.1");
	assert_non_null(sp);
	assert_non_null(http);
	*sp = '\0';
	*http = '\0';
	q->method = p;
	q->path = sp + 1;
	q->query = "";
	char *qm = strchr(q->path, '?');
	if (qm) {
		*qm = '\0';
		q->query = qm + 1;
	}
	q->body = "";
	while (nl != NULL) {
		p = nl + 1;
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (*p == '\0') { /* blank line: body follows */
			if (nl) {
				q->body = nl + 1;
				q->body_len = len - (size_t)(q->body - q->text);
			}
			break;
		}
		if (*p == ' ' || *p == '\t') {
			assert_true(q->nh > 0);
			q->h[q->nh].name = q->h[q->nh - 1].name;
			q->h[q->nh].value = p;
			q->nh++;
			continue;
		}
		char *colon = strchr(p, ':');
		assert_non_null(colon);
		*colon = '\0';
		assert_true(q->nh < MAXH);
		q->h[q->nh].name = p;
		q->h[q->nh].value = colon + 1;
		q->nh++;
	}
	req_sync(q);
}

static void
req_free(struct req *q)
{
	free(q->text);
	for (size_t i = 0; i < q->nextra; i++)
		free(q->extra[i]);
}

static char *
req_keep(struct req *q, char *s)
{
	assert_true(q->nextra < MAXH);
	q->extra[q->nextra++] = s;
	return s;
}

static const char *
req_header(struct req *q, const char *name)
{
	for (size_t i = 0; i < q->nh; i++)
		if (strcasecmp(q->h[i].name, name) == 0)
			return q->h[i].value;
	return NULL;
}

/* Replace (or add, or with value NULL remove) every header `name`. */
static void
req_set_header(struct req *q, const char *name, const char *value)
{
	size_t o = 0;

	for (size_t i = 0; i < q->nh; i++)
		if (strcasecmp(q->h[i].name, name) != 0)
			q->h[o++] = q->h[i];
	q->nh = o;
	if (value != NULL) {
		q->h[q->nh].name = req_keep(q, xstrdup(name));
		q->h[q->nh].value = req_keep(q, xstrdup(value));
		q->nh++;
	}
	req_sync(q);
}

static char *
trim_dup(const char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	return xstrndup(s, n);
}

/* ---- 1. AWS test suite ---------------------------------------------------- */

static const char *const suite[] = {
	"get-header-key-duplicate", "get-header-value-multiline",
	"get-header-value-order", "get-header-value-trim",
	"get-relative-relative", "get-relative",
	"get-slash-dot-slash", "get-slash-pointless-dot",
	"get-slash", "get-slashes",
	"get-space", "get-unreserved",
	"get-utf8", "get-vanilla-empty-query-key",
	"get-vanilla-query-order-key-case", "get-vanilla-query-order-key",
	"get-vanilla-query-order-value", "get-vanilla-query-unreserved",
	"get-vanilla-query", "get-vanilla-utf8-query",
	"get-vanilla", "post-header-key-case",
	"post-header-key-sort", "post-header-value-case",
	"post-sts-header-after", "post-sts-header-before",
	"post-vanilla-empty-query-value", "post-vanilla-query",
	"post-vanilla", "post-x-www-form-urlencoded-parameters",
	"post-x-www-form-urlencoded",
};

static const char *
the_secret(void *arg, struct err *e)
{
	(void)e;
	return arg;
}

static const char *
no_secret(void *arg, struct err *e)
{
	(void)arg;
	err_set(e, 500, "InternalFailure", "the key cannot be opened");
	return NULL;
}

/* The signing key for a's scope and secret through the cache, as
 * request.c does it (there the fingerprint is the sealed secret's). */
static void
cached_key(struct sigv4_cache *c, const struct sigv4_auth *a, const char *secret,
	   uint8_t out[32])
{
	uint8_t fp[32];

	sha256(secret, strlen(secret), fp);
	assert_int_equal(sigv4_cache_key(c, a, fp, the_secret, (void *)secret, out, NULL), 0);
}

static void
test_suite_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		char path[256];
		struct req q;
		struct sigv4_auth a;
		struct err e;
		struct buf creq;
		char *want_creq, *want_sts, *authz, sts[256], sig[65];
		uint8_t key[32];

		print_message("  vector %s\n", suite[i]);
		snprintf(path, sizeof(path), "data/sigv4/suite/%s.req", suite[i]);
		req_load(&q, path);
		snprintf(path, sizeof(path), "data/sigv4/suite/%s.creq", suite[i]);
		want_creq = slurp(path, NULL);
		snprintf(path, sizeof(path), "data/sigv4/suite/%s.sts", suite[i]);
		want_sts = slurp(path, NULL);
		snprintf(path, sizeof(path), "data/sigv4/suite/%s.authz", suite[i]);
		char *raw = slurp(path, NULL);
		authz = trim_dup(raw);
		free(raw);

		assert_int_equal(sigv4_parse_authorization(authz, true, &a, &e), 0);
		assert_string_equal(a.key_id, "AKIDEXAMPLE");
		assert_string_equal(a.date, "20150830");
		assert_string_equal(a.region, "us-east-1");
		assert_string_equal(a.service, "service");
		const char *xd = req_header(&q, "x-amz-date");
		assert_non_null(xd);
		assert_int_equal(sigv4_parse_iso_basic(xd, &a.when), 0);
		snprintf(a.amz_date, sizeof(a.amz_date), "%s", xd);

		buf_init(&creq, SIGV4_MAX_CANONICAL);
		assert_int_equal(sigv4_canonical_request(&q.r, &a, &creq, &e), 0);
		assert_string_equal(creq.data, want_creq);
		sigv4_string_to_sign(&a, creq.data, creq.len, sts, sizeof(sts));
		assert_string_equal(sts, want_sts);

		sigv4_signing_key(SECRET, a.date, a.region, a.service, key);
		sigv4_signature(key, sts, sig);
		assert_string_equal(sig, a.signature);
		assert_int_equal(sigv4_verify(&q.r, &a, key, &e), 0);

		/* one flipped hex digit must fail */
		a.signature[63] = a.signature[63] == '0' ? '1' : '0';
		assert_int_equal(sigv4_verify(&q.r, &a, key, &e), -1);
		assert_string_equal(e.code, "SignatureDoesNotMatch");
		assert_int_equal(e.http, 403);

		/* the full parse refuses the suite's service name */
		req_set_header(&q, "Authorization", authz);
		assert_int_equal(sigv4_parse(&q.r, a.when, &a, &e), -1);
		assert_string_equal(e.code, "SignatureDoesNotMatch");
		assert_string_equal(e.message,
				    "Credential should be scoped to correct service: 'ses'. ");

		buf_free(&creq);
		free(want_creq);
		free(want_sts);
		free(authz);
		req_free(&q);
	}
}

/* ---- 2. botocore-signed requests ---------------------------------------- */

struct golden {
	const char *file;
	const char *region;
	const char *service;
};

static const struct golden goldens[] = {
	{"ses-sendemail", "us-west-2", "ses"},
	{"email-port-sha256", "us-east-1", "email"},
	{"ses-get-query", "eu-west-1", "ses"},
};

#define T0 1795860900 /* 20261128T101500Z */

static void
test_golden_accepts(void **state)
{
	static const long offsets[] = {0, 1, -1, 899, -899, 900, -900};
	struct sigv4_cache *cache = xcalloc(1, sizeof(*cache));

	(void)state;
	sigv4_cache_init(cache);
	for (size_t g = 0; g < sizeof(goldens) / sizeof(goldens[0]); g++) {
		char path[256];
		struct req q;

		snprintf(path, sizeof(path), "data/sigv4/golden/%s.req", goldens[g].file);
		req_load(&q, path);
		for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++) {
			struct sigv4_auth a;
			struct err e;
			uint8_t key[32], direct[32];

			print_message("  %s at %+ld s\n", goldens[g].file, offsets[k]);
			err_clear(&e);
			/* now = request time - offset: both directions of skew */
			assert_int_equal(sigv4_parse(&q.r, T0 + offsets[k], &a, &e), 0);
			assert_string_equal(a.key_id, "AKIDEXAMPLE");
			assert_string_equal(a.date, "20261128");
			assert_string_equal(a.amz_date, "20261128T101500Z");
			assert_int_equal((long)a.when, (long)T0);
			assert_string_equal(a.region, goldens[g].region);
			assert_string_equal(a.service, goldens[g].service);
			cached_key(cache, &a, SECRET, key);
			sigv4_signing_key(SECRET, a.date, a.region, a.service, direct);
			assert_memory_equal(key, direct, 32);
			assert_int_equal(sigv4_verify(&q.r, &a, key, &e), 0);
		}
		req_free(&q);
	}
	/* one derivation per golden scope, every other lookup a hit */
	assert_int_equal(cache->misses, 3);
	assert_int_equal(cache->hits, 3 * 7 - 3);
	sigv4_cache_clear(cache);
	free(cache);
}

/* How a mutation changes the ses-sendemail golden request. */
enum mut {
	M_NONE,
	M_HEADER,   /* set header `name` to `value` (NULL: remove) */
	M_AUTHZ_SUB, /* replace `name` by `value` inside Authorization */
	M_BODY,     /* replace the body by `value` */
	M_SECRET,   /* verify with another secret */
	M_PATH,     /* set path to `value` */
};

struct neg {
	const char *label;
	const char *file;
	enum mut mut;
	const char *name;
	const char *value;
	long now_offset; /* now = T0 + now_offset */
	int fails_in;    /* 1 = sigv4_parse, 2 = sigv4_verify, 0 = accepted */
	const char *code;
	int http;
	const char *message; /* exact, or NULL; prefix if it ends with '*' */
};

#define MISMATCH_MSG                                                                       \
	"The request signature we calculated does not match the signature you provided. " \
	"Check your AWS Secret Access Key and signing method. Consult the service "        \
	"documentation for details."

static const struct neg negs[] = {
	{"untouched", "ses-sendemail", M_NONE, NULL, NULL, 0, 0, NULL, 0, NULL},
	{"tampered body", "ses-sendemail", M_BODY, NULL,
	 "Action=SendEmail&Version=2010-12-01&Source=evil%40example.com", 0, 2,
	 "SignatureDoesNotMatch", 403, MISMATCH_MSG},
	{"wrong secret", "ses-sendemail", M_SECRET, NULL, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEz", 0,
	 2, "SignatureDoesNotMatch", 403, MISMATCH_MSG},
	{"signed header changed", "ses-sendemail", M_HEADER, "Content-Type", "text/plain", 0, 2,
	 "SignatureDoesNotMatch", 403, MISMATCH_MSG},
	{"host changed", "ses-sendemail", M_HEADER, "Host", "evil.example.com", 0, 2,
	 "SignatureDoesNotMatch", 403, MISMATCH_MSG},
	{"unsigned header added", "ses-sendemail", M_HEADER, "User-Agent", "x", 0, 0, NULL, 0, NULL},
	{"path changed", "ses-sendemail", M_PATH, NULL, "/other", 0, 2, "SignatureDoesNotMatch", 403,
	 MISMATCH_MSG},
	{"expired", "ses-sendemail", M_NONE, NULL, NULL, 15 * 60 + 1, 1, "SignatureDoesNotMatch", 403,
	 "Signature expired: 20261128T101500Z is now earlier than 20261128T101501Z "
	 "(20261128T103001Z - 15 min.)"},
	{"expired long ago", "ses-sendemail", M_NONE, NULL, NULL, 30 * 60, 1,
	 "SignatureDoesNotMatch", 403,
	 "Signature expired: 20261128T101500Z is now earlier than 20261128T103000Z "
	 "(20261128T104500Z - 15 min.)"},
	{"from the future", "ses-sendemail", M_NONE, NULL, NULL, -(15 * 60 + 1), 1,
	 "SignatureDoesNotMatch", 403,
	 "Signature not yet current: 20261128T101500Z is still later than 20261128T101459Z "
	 "(20261128T095959Z + 15 min.)"},
	{"no authorization", "ses-sendemail", M_HEADER, "Authorization", NULL, 0, 1,
	 "MissingAuthenticationToken", 403, "Request is missing Authentication Token"},
	{"blank authorization", "ses-sendemail", M_HEADER, "Authorization", "   ", 0, 1,
	 "MissingAuthenticationToken", 403, "Request is missing Authentication Token"},
	{"basic auth", "ses-sendemail", M_HEADER, "Authorization", "Basic dXNlcjpwdw==", 0, 1,
	 "IncompleteSignature", 400,
	 "Authorization header requires 'Credential' parameter. Authorization header requires "
	 "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
	 "Authorization=Basic dXNlcjpwdw=="},
	{"sigv2", "ses-sendemail", M_HEADER, "Authorization", "AWS AKIDEXAMPLE:qaNdqGsI6bq4Hi+9Gzo=",
	 0, 1, "IncompleteSignature", 400, "Authorization header requires 'Credential' parameter.*"},
	{"algorithm only", "ses-sendemail", M_HEADER, "Authorization", "AWS4-HMAC-SHA256", 0, 1,
	 "IncompleteSignature", 400, "Authorization header requires 'Credential' parameter.*"},
	{"credential only", "ses-sendemail", M_HEADER, "Authorization",
	 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-west-2/ses/aws4_request", 0, 1,
	 "IncompleteSignature", 400,
	 "Authorization header requires 'Signature' parameter. Authorization header requires "
	 "'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 "
	 "Credential=AKIDEXAMPLE/20261128/us-west-2/ses/aws4_request"},
	{"other algorithm", "ses-sendemail", M_AUTHZ_SUB, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 0,
	 1, "IncompleteSignature", 400, "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'"},
	{"no equals", "ses-sendemail", M_HEADER, "Authorization",
	 "AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=00", 0, 1,
	 "IncompleteSignature", 400,
	 "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: *"},
	{"duplicate signature", "ses-sendemail", M_AUTHZ_SUB, "Signature=", "Signature=00, Signature=",
	 0, 1, "IncompleteSignature", 400,
	 "Authorization header has a duplicate 'Signature' parameter."},
	{"credential 4 parts", "ses-sendemail", M_AUTHZ_SUB, "/ses/aws4_request", "/ses", 0, 1,
	 "IncompleteSignature", 400,
	 "Credential must have exactly 5 slash-delimited elements, e.g. "
	 "keyid/date/region/service/term, got 'AKIDEXAMPLE/20261128/us-west-2/ses'"},
	{"credential 6 parts", "ses-sendemail", M_AUTHZ_SUB, "aws4_request", "aws4_request/x", 0, 1,
	 "IncompleteSignature", 400, "Credential must have exactly 5 slash-delimited elements*"},
	{"bad terminator", "ses-sendemail", M_AUTHZ_SUB, "aws4_request", "aws5_request", 0, 1,
	 "SignatureDoesNotMatch", 403,
	 "Credential should be scoped with a valid terminator: 'aws4_request', not "
	 "'aws5_request'. "},
	{"wrong service", "ses-sendemail", M_AUTHZ_SUB, "/ses/", "/s3/", 0, 1,
	 "SignatureDoesNotMatch", 403, "Credential should be scoped to correct service: 'ses'. "},
	{"bad region", "ses-sendemail", M_AUTHZ_SUB, "us-west-2", "US_WEST", 0, 1,
	 "SignatureDoesNotMatch", 403, "Credential should be scoped to a valid region. "},
	{"scope date mismatch", "ses-sendemail", M_AUTHZ_SUB, "/20261128/", "/20261127/", 0, 1,
	 "SignatureDoesNotMatch", 403,
	 "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
	 "HTTP: '20261127' != '20261128', from '20261128T101500Z'."},
	{"scope date not digits", "ses-sendemail", M_AUTHZ_SUB, "/20261128/", "/2026112x/", 0, 1,
	 "IncompleteSignature", 400, "Credential scope date must be YYYYMMDD, got '2026112x'."},
	{"bad key id", "ses-sendemail", M_AUTHZ_SUB, "AKIDEXAMPLE", "AKID EXAMPLE", 0, 1,
	 "InvalidClientTokenId", 403, "The security token included in the request is invalid."},
	{"host not signed", "ses-sendemail", M_AUTHZ_SUB, "content-type;host;x-amz-date",
	 "content-type;x-amz-date", 0, 1, "IncompleteSignature", 400,
	 "'Host' must be a 'SignedHeader' in the AWS Authorization."},
	{"empty signed header name", "ses-sendemail", M_AUTHZ_SUB, "content-type;host",
	 "content-type;;host", 0, 1, "IncompleteSignature", 400,
	 "Authorization header has an empty header name in 'SignedHeaders'."},
	{"signature too long", "ses-sendemail", M_AUTHZ_SUB, "Signature=", "Signature=ff", 0, 1,
	 "SignatureDoesNotMatch", 403, MISMATCH_MSG},
	{"signature short", "ses-sendemail", M_AUTHZ_SUB, "Signature=b9", "Signature=", 0, 2,
	 "SignatureDoesNotMatch", 403, MISMATCH_MSG},
	{"no date", "ses-sendemail", M_HEADER, "X-Amz-Date", NULL, 0, 1, "IncompleteSignature", 400,
	 "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
	 "Authorization=AWS4-HMAC-SHA256 *"},
	{"bad amz date", "ses-sendemail", M_HEADER, "X-Amz-Date", "2026-11-28T10:15:00Z", 0, 1,
	 "IncompleteSignature", 400,
	 "Date must be in ISO-8601 'basic format'. Got '2026-11-28T10:15:00Z'. See "
	 "http://en.wikipedia.org/wiki/ISO_8601"},
	{"impossible amz date", "ses-sendemail", M_HEADER, "X-Amz-Date", "20261131T101500Z", 0, 1,
	 "IncompleteSignature", 400, "Date must be in ISO-8601 'basic format'.*"},
	{"amz date moved", "ses-sendemail", M_HEADER, "X-Amz-Date", "20261128T101501Z", 0, 2,
	 "SignatureDoesNotMatch", 403, MISMATCH_MSG},
	{"content sha256 wrong", "email-port-sha256", M_BODY, NULL,
	 "Action=GetSendQuota&Version=2010-12-02", 0, 2, "SignatureDoesNotMatch", 403,
	 "The provided 'x-amz-content-sha256' header does not match what was computed."},
	{"content sha256 swapped", "email-port-sha256", M_HEADER, "X-Amz-Content-Sha256",
	 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0, 2,
	 "SignatureDoesNotMatch", 403,
	 "The provided 'x-amz-content-sha256' header does not match what was computed."},
	{"custom header whitespace differs", "email-port-sha256", M_HEADER, "X-Custom", "a b c", 0,
	 0, NULL, 0, NULL},
	{"custom header changed", "email-port-sha256", M_HEADER, "X-Custom", "a b d", 0, 2,
	 "SignatureDoesNotMatch", 403, MISMATCH_MSG},
	{"query reordered still fine", "ses-get-query", M_PATH, NULL, NULL, 0, 0, NULL, 0, NULL},
};

static char *
replace_once(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	struct buf b;

	assert_non_null(at);
	buf_init(&b, 0);
	buf_append(&b, s, (size_t)(at - s));
	buf_puts(&b, to);
	buf_puts(&b, at + strlen(from));
	return buf_steal(&b, NULL);
}

static void
check_err(const struct neg *n, const struct err *e)
{
	assert_string_equal(e->code, n->code);
	assert_int_equal(e->http, n->http);
	if (n->message == NULL)
		return;
	size_t ml = strlen(n->message);
	if (ml > 0 && n->message[ml - 1] == '*') {
		if (strncmp(e->message, n->message, ml - 1) != 0)
			fail_msg("message '%s' does not start with '%.*s'", e->message, (int)ml - 1,
				 n->message);
	} else {
		assert_string_equal(e->message, n->message);
	}
}

static void
test_golden_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(negs) / sizeof(negs[0]); i++) {
		const struct neg *n = &negs[i];
		char path[256];
		const char *secret = SECRET;
		struct req q;
		struct sigv4_auth a;
		struct err e;
		uint8_t key[32];
		int rc;

		print_message("  %s\n", n->label);
		snprintf(path, sizeof(path), "data/sigv4/golden/%s.req", n->file);
		req_load(&q, path);
		switch (n->mut) {
		case M_NONE:
			break;
		case M_HEADER:
			req_set_header(&q, n->name, n->value);
			break;
		case M_AUTHZ_SUB: {
			char *v = req_keep(&q, replace_once(req_header(&q, "Authorization"), n->name,
							    n->value));
			req_set_header(&q, "Authorization", v);
			break;
		}
		case M_BODY:
			q.body = req_keep(&q, xstrdup(n->value));
			q.body_len = strlen(n->value);
			req_sync(&q);
			break;
		case M_SECRET:
			secret = n->value;
			break;
		case M_PATH:
			if (n->value != NULL) {
				q.path = req_keep(&q, xstrdup(n->value));
			} else {
				/* Same parameters, different order and escapes */
				q.query = "A=1&Weird=%e1%88%b4%20x&A=2&Version=2010-12-01"
					  "&IdentityType=Domain&Action=ListIdentities";
			}
			req_sync(&q);
			break;
		}
		err_clear(&e);
		rc = sigv4_parse(&q.r, T0 + n->now_offset, &a, &e);
		if (n->fails_in == 1) {
			assert_int_equal(rc, -1);
			check_err(n, &e);
			req_free(&q);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: parse failed: %s %s", n->label, e.code, e.message);
		sigv4_signing_key(secret, a.date, a.region, a.service, key);
		rc = sigv4_verify(&q.r, &a, key, &e);
		if (n->fails_in == 2) {
			assert_int_equal(rc, -1);
			check_err(n, &e);
		} else if (rc != 0) {
			fail_msg("%s: verify failed: %s %s", n->label, e.code, e.message);
		}
		req_free(&q);
	}
}

/* A request dated by an RFC 1123 Date header (no X-Amz-Date), signed here
 * with the TESTABLE pieces that the suite vectors pin down. */
static void
test_date_header(void **state)
{
	struct sigv4_header h[3] = {
		{"Host", "127.0.0.1:8787"},
		{"Date", "Sat, 28 Nov 2026 10:15:00 GMT"},
		{"Authorization", NULL},
	};
	struct sigv4_request r = {"POST", "/", "", h, 3, "Action=GetSendQuota", 19};
	struct sigv4_auth a;
	struct err e;
	struct buf creq;
	char sts[256], sig[65], authz[512];
	uint8_t key[32];

	(void)state;
	memset(&a, 0, sizeof(a));
	snprintf(a.amz_date, sizeof(a.amz_date), "20261128T101500Z");
	snprintf(a.date, sizeof(a.date), "20261128");
	snprintf(a.region, sizeof(a.region), "us-east-1");
	snprintf(a.service, sizeof(a.service), "ses");
	snprintf(a.signed_headers, sizeof(a.signed_headers), "date;host");
	buf_init(&creq, 0);
	assert_int_equal(sigv4_canonical_request(&r, &a, &creq, &e), 0);
	sigv4_string_to_sign(&a, creq.data, creq.len, sts, sizeof(sts));
	buf_free(&creq);
	sigv4_signing_key(SECRET, a.date, a.region, a.service, key);
	sigv4_signature(key, sts, sig);
	snprintf(authz, sizeof(authz),
		 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ses/aws4_request,"
		 "SignedHeaders=date;host,Signature=%s",
		 sig);
	h[2].value = authz;

	assert_int_equal(sigv4_parse(&r, T0 + 60, &a, &e), 0);
	assert_string_equal(a.amz_date, "20261128T101500Z");
	assert_int_equal(sigv4_verify(&r, &a, key, &e), 0);

	/* a Date header in the wrong format */
	h[1].value = "Saturday, 28-Nov-26 10:15:00 GMT";
	assert_int_equal(sigv4_parse(&r, T0, &a, &e), -1);
	assert_string_equal(e.code, "IncompleteSignature");
}

/* ---- caps: limit-1, limit, limit+1 --------------------------------------- */

static void
test_caps(void **state)
{
	struct req q;
	struct sigv4_auth a;
	struct err e;
	struct buf sh;

	(void)state;
	/* SignedHeaders with 63, 64, 65 names */
	for (int count = SIGV4_MAX_SIGNED - 1; count <= SIGV4_MAX_SIGNED + 1; count++) {
		char authz[2048];
		buf_init(&sh, 0);
		buf_puts(&sh, "host");
		for (int i = 1; i < count; i++)
			buf_printf(&sh, ";x-h%d", i);
		snprintf(authz, sizeof(authz),
			 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-west-2/ses/"
			 "aws4_request, SignedHeaders=%s, Signature=00",
			 sh.data);
		int rc = sigv4_parse_authorization(authz, true, &a, &e);
		if (count <= SIGV4_MAX_SIGNED) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.message, "Authorization header signs more than 64 headers.");
		}
		buf_free(&sh);
	}

	/* Authorization value length 4095, 4096, 4097 (padded with blanks) */
	for (size_t len = SIGV4_MAX_AUTHZ - 1; len <= SIGV4_MAX_AUTHZ + 1; len++) {
		const char *base = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-west-2/ses/"
				   "aws4_request, SignedHeaders=host, Signature=00";
		char *v = xmalloc(len + 1);
		memset(v, ' ', len);
		memcpy(v, base, strlen(base));
		v[len] = '\0';
		int rc = sigv4_parse_authorization(v, true, &a, &e);
		if (len <= SIGV4_MAX_AUTHZ) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(e.message, "Authorization header is too long.");
		}
		free(v);
	}

	/* header value 8192 ok, 8193 refused; path 4096 ok, 4097 refused */
	req_load(&q, "data/sigv4/golden/ses-sendemail.req");
	assert_int_equal(sigv4_parse(&q.r, T0, &a, &e), 0);
	for (size_t len = SIGV4_MAX_HEADER_VALUE; len <= SIGV4_MAX_HEADER_VALUE + 1; len++) {
		char *v = xmalloc(len + 1);
		memset(v, 'a', len);
		v[len] = '\0';
		req_set_header(&q, "Content-Type", v);
		free(v);
		struct buf creq;
		buf_init(&creq, SIGV4_MAX_CANONICAL);
		int rc = sigv4_canonical_request(&q.r, &a, &creq, &e);
		buf_free(&creq);
		assert_int_equal(rc, len <= SIGV4_MAX_HEADER_VALUE ? 0 : -1);
	}
	req_set_header(&q, "Content-Type", "text/plain");
	for (size_t len = SIGV4_MAX_PATH; len <= SIGV4_MAX_PATH + 1; len++) {
		char *v = xmalloc(len + 1);
		memset(v, '/', len);
		v[len] = '\0';
		q.path = v;
		req_sync(&q);
		struct buf creq;
		buf_init(&creq, SIGV4_MAX_CANONICAL);
		int rc = sigv4_canonical_request(&q.r, &a, &creq, &e);
		if (rc == 0)
			assert_memory_equal(creq.data, "POST\n/\n\n", 8);
		buf_free(&creq);
		free(v);
		assert_int_equal(rc, len <= SIGV4_MAX_PATH ? 0 : -1);
	}
	q.path = "/";
	for (size_t len = SIGV4_MAX_QUERY - 1; len <= SIGV4_MAX_QUERY + 1; len++) {
		char *v = xmalloc(len + 1);
		memset(v, 'q', len);
		v[0] = 'k';
		v[1] = '=';
		v[len] = '\0';
		q.query = v;
		req_sync(&q);
		struct buf creq;
		buf_init(&creq, SIGV4_MAX_CANONICAL);
		int rc = sigv4_canonical_request(&q.r, &a, &creq, &e);
		buf_free(&creq);
		free(v);
		assert_int_equal(rc, len <= SIGV4_MAX_QUERY ? 0 : -1);
	}
	q.query = "";
	req_sync(&q);
	req_free(&q);

	/* 127, 128, 129 headers: the count is refused before anything else */
	req_load(&q, "data/sigv4/golden/ses-sendemail.req");
	while (q.nh < SIGV4_MAX_HEADERS - 1) {
		q.h[q.nh].name = "X-Filler";
		q.h[q.nh].value = "1";
		q.nh++;
	}
	struct sigv4_header *many = xcalloc(SIGV4_MAX_HEADERS + 1, sizeof(*many));
	memcpy(many, q.h, q.nh * sizeof(*many));
	for (size_t nh = SIGV4_MAX_HEADERS - 1; nh <= SIGV4_MAX_HEADERS + 1; nh++) {
		many[nh - 1].name = "X-Filler";
		many[nh - 1].value = "1";
		q.r.headers = many;
		q.r.nheaders = nh;
		int rc = sigv4_parse(&q.r, T0, &a, &e);
		assert_int_equal(rc, nh <= SIGV4_MAX_HEADERS ? 0 : -1);
		if (rc == 0)
			assert_int_equal(sigv4_verify(&q.r, &a, (const uint8_t *)"0123456789abcdef0123456789abcdef", &e), -1);
		else
			assert_string_equal(e.message, "Request has more than 128 headers.");
	}
	free(many);
	req_free(&q);
}

/* ---- dates, signing key, hash --------------------------------------------- */

static void
test_dates(void **state)
{
	static const struct {
		const char *s;
		int http; /* 0 = ISO basic parser, 1 = RFC 1123 parser */
		long want; /* -1 = rejected */
	} cases[] = {
		{"20150830T123600Z", 0, 1440938160},
		{"20261128T101500Z", 0, T0},
		{"20240229T000000Z", 0, 1709164800},
		{"20230229T000000Z", 0, -1},
		{"20150830T123600", 0, -1},
		{"20150830T123600Z ", 0, -1},
		{"20150830t123600Z", 0, -1},
		{"2015083aT123600Z", 0, -1},
		{"20150830T246000Z", 0, -1},
		{"", 0, -1},
		{"Sun, 30 Aug 2015 12:36:00 GMT", 1, 1440938160},
		{"Sat, 28 Nov 2026 10:15:00 GMT", 1, T0},
		{"Sat, 28 Nov 2026 10:15:00 UTC", 1, -1},
		{"Sat, 31 Nov 2026 10:15:00 GMT", 1, -1},
		{"Sat, 28 Foo 2026 10:15:00 GMT", 1, -1},
		{"Sat, 28 Nov 2026 10:15:00 GMTx", 1, -1},
		{"28 Nov 2026 10:15:00 GMT", 1, -1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = 0;
		int rc = cases[i].http ? sigv4_parse_http_date(cases[i].s, &t)
				       : sigv4_parse_iso_basic(cases[i].s, &t);
		print_message("  '%s'\n", cases[i].s);
		if (cases[i].want < 0) {
			assert_int_equal(rc, -1);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal((long)t, cases[i].want);
		}
	}
}

static void
test_signing_key(void **state)
{
	uint8_t k[32];
	char hex[65];

	(void)state;
	/* AWS General Reference, "Examples of how to derive a signing key" */
	sigv4_signing_key(SECRET, "20120215", "us-east-1", "iam", k);
	hex_encode(k, 32, hex);
	assert_string_equal(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");

	/* a secret longer than the stack buffer */
	char big[300];
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	uint8_t k2[32];
	sigv4_signing_key(big, "20120215", "us-east-1", "iam", k2);
	assert_memory_not_equal(k, k2, 32);
}

static void
test_cache(void **state)
{
	struct sigv4_cache *c = xcalloc(1, sizeof(*c));
	struct sigv4_auth a;
	uint8_t k1[32], k2[32], want[32];

	(void)state;
	memset(&a, 0, sizeof(a));
	snprintf(a.key_id, sizeof(a.key_id), "AKIDEXAMPLE");
	snprintf(a.date, sizeof(a.date), "20261128");
	snprintf(a.region, sizeof(a.region), "us-east-1");
	snprintf(a.service, sizeof(a.service), "ses");
	sigv4_cache_init(c);
	cached_key(c, &a, SECRET, k1);
	cached_key(c, &a, SECRET, k2);
	assert_int_equal(c->misses, 1);
	assert_int_equal(c->hits, 1);
	assert_memory_equal(k1, k2, 32);
	/* rotated secret: a miss and a different key, never the stale one */
	cached_key(c, &a, "another-secret", k2);
	assert_int_equal(c->misses, 2);
	sigv4_signing_key("another-secret", a.date, a.region, a.service, want);
	assert_memory_equal(k2, want, 32);
	/* another day is another key */
	snprintf(a.date, sizeof(a.date), "20261129");
	cached_key(c, &a, SECRET, k2);
	assert_int_equal(c->misses, 3);
	assert_memory_not_equal(k1, k2, 32);
	/* many scopes: every result still equals a fresh derivation */
	for (int i = 0; i < 600; i++) {
		snprintf(a.key_id, sizeof(a.key_id), "AKID%d", i % 300);
		cached_key(c, &a, SECRET, k1);
		sigv4_signing_key(SECRET, a.date, a.region, a.service, want);
		assert_memory_equal(k1, want, 32);
	}
	/* a secret that cannot be opened: its error, and nothing kept */
	{
		uint8_t fp[32] = {7};
		struct err e;
		snprintf(a.key_id, sizeof(a.key_id), "AKIDSEALED");
		assert_int_equal(sigv4_cache_key(c, &a, fp, no_secret, NULL, k1, &e), -1);
		assert_string_equal(e.code, "InternalFailure");
		assert_int_equal(sigv4_cache_key(c, &a, fp, no_secret, NULL, k1, &e), -1);
	}
	sigv4_cache_clear(c);
	for (size_t i = 0; i < SIGV4_CACHE_SLOTS; i++)
		assert_false(c->slot[i].used);
	free(c);
}

static void
test_hash(void **state)
{
	static const struct {
		const char *key; /* NULL: 131 x 0xaa */
		size_t klen;
		const char *msg;
		const char *want;
	} hm[] = {
		/* RFC 4231 test cases 2, 6 and 7 */
		{"Jefe", 4, "what do ya want for nothing?",
		 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{NULL, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
		 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{"", 0, "", "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
	};
	uint8_t out[32], big[131];
	char hex[65];

	(void)state;
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	memset(big, 0xaa, sizeof(big));
	for (size_t i = 0; i < sizeof(hm) / sizeof(hm[0]); i++) {
		hmac_sha256(hm[i].key ? (const void *)hm[i].key : big, hm[i].klen, hm[i].msg,
			    strlen(hm[i].msg), out);
		hex_encode(out, 32, hex);
		assert_string_equal(hex, hm[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_signing_key),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_suite_vectors),
		cmocka_unit_test(test_golden_accepts),
		cmocka_unit_test(test_golden_rejects),
		cmocka_unit_test(test_date_header),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * sigv4.c — AWS Signature Version 4 verification (see sigv4.h, spec §6 and
 * docs/internals/sigv4.md).
 *
 * What it owns: nothing global. Parsing fills a caller-owned struct
 * sigv4_auth; verification builds the canonical request in a capped buffer
 * it frees before returning; the cache is caller-owned (one per thread).
 *
 * Invariants:
 *   - nothing here trusts a length from the peer: every header, the path, the
 *     query and the canonical request have a cap (sigv4.h), checked before
 *     any work proportional to them;
 *   - the signature is compared with ct_equal over the full 64 characters;
 *   - canonicalisation follows AWS's published test suite (tests/unit/data/
 *     sigv4/suite): the path is normalised and URI-encoded once more (the
 *     wire form is already encoded once: AWS's "encode twice" rule for every
 *     service but S3); the query is percent-decoded and re-encoded strictly.
 */
#include "api/sigv4.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/codec.h"
#include "util/hash.h"
#include "util/testable.h"
#include "util/xalloc.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"

#define E_MISSING "MissingAuthenticationToken"
#define E_INCOMPLETE "IncompleteSignature"
#define E_MISMATCH "SignatureDoesNotMatch"
#define E_TOKEN "InvalidClientTokenId"

#define MSG_MISMATCH                                                                       \
	"The request signature we calculated does not match the signature you provided. " \
	"Check your AWS Secret Access Key and signing method. Consult the service "        \
	"documentation for details."

/* ---- small helpers ------------------------------------------------------ */

/* The only value of header `name` (case-insensitive). Returns the number of
 * occurrences; *value_out is the first one (NULL if none). */
static size_t
header_get(const struct sigv4_request *r, const char *name, const char **value_out)
{
	size_t count = 0;

	*value_out = NULL;
	for (size_t i = 0; i < r->nheaders; i++) {
		if (r->headers[i].name != NULL && strcasecmp(r->headers[i].name, name) == 0) {
			if (count++ == 0)
				*value_out = r->headers[i].value;
		}
	}
	return count;
}

static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 3986 encoding as SigV4 wants it: unreserved bytes pass, everything
 * else (including '/', '%' and '+') becomes %XX upper-case. */
static int
uri_encode(struct buf *b, const char *s, size_t n)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c))
			continue;
		char esc[3] = {'%', hx[c >> 4], hx[c & 15]};
		if (buf_append(b, s + run, i - run) != 0 || buf_append(b, esc, 3) != 0)
			return -1;
		run = i + 1;
	}
	return buf_append(b, s + run, n - run);
}

/* Percent-decode valid %XY escapes of s into dst (which has room for n
 * bytes); an invalid escape stays a literal '%'. '+' is left
 * alone: SigV4 clients encode a space as %20. Returns the decoded length. */
static size_t
query_decode(const char *s, size_t n, char *dst)
{
	size_t o = 0;
	int hi, lo;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && n - i >= 3 && (hi = hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hex_value((unsigned char)s[i + 2])) >= 0) {
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			dst[o++] = s[i];
		}
	}
	return o;
}

static void
fmt_iso_basic(time_t t, char out[17])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		snprintf(out, 17, "00000000T000000Z");
}

/* Both fields from a broken-down UTC time; rejects impossible dates by
 * round-tripping through timegm. */
static int
tm_to_time(struct tm *tm, time_t *out)
{
	struct tm check;
	time_t t;

	tm->tm_isdst = 0;
	check = *tm;
	t = timegm(&check);
	if (t == (time_t)-1 || check.tm_year != tm->tm_year || check.tm_mon != tm->tm_mon ||
	    check.tm_mday != tm->tm_mday || check.tm_hour != tm->tm_hour ||
	    check.tm_min != tm->tm_min || check.tm_sec != tm->tm_sec)
		return -1;
	*out = t;
	return 0;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int
num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* YYYYMMDDTHHMMSSZ, exactly. */
TESTABLE int
sigv4_parse_iso_basic(const char *s, time_t *out)
{
	struct tm tm;

	if (s == NULL || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z' || !all_digits(s, 8) ||
	    !all_digits(s + 9, 6))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = num(s, 4) - 1900;
	tm.tm_mon = num(s + 4, 2) - 1;
	tm.tm_mday = num(s + 6, 2);
	tm.tm_hour = num(s + 9, 2);
	tm.tm_min = num(s + 11, 2);
	tm.tm_sec = num(s + 13, 2);
	return tm_to_time(&tm, out);
}

/* RFC 1123: "Sun, 06 Nov 1994 08:49:37 GMT". */
TESTABLE int
sigv4_parse_http_date(const char *s, time_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char wday[4], mon[4];
	int d, y, h, mi, se, used = -1;
	struct tm tm;
	const char *m;

	if (s == NULL || strlen(s) > 64)
		return -1;
	if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wday, &d, mon, &y, &h,
		   &mi, &se, &used) != 7 ||
	    used < 0 || s[used] != '\0' || strlen(mon) != 3)
		return -1;
	m = strstr(months, mon);
	if (m == NULL || (m - months) % 3 != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	return tm_to_time(&tm, out);
}

/* ---- Authorization header ----------------------------------------------- */

static bool
is_tchar(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Copy [s, s+n) into dst[cap] if it fits (n < cap). */
static bool
copy_field(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

static int
parse_credential(const char *v, size_t n, struct sigv4_auth *out, struct err *e)
{
	const char *part[5];
	size_t plen[5], k = 0;
	const char *p = v, *end = v + n;

	while (k < 5) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		part[k] = p;
		plen[k] = slash ? (size_t)(slash - p) : (size_t)(end - p);
		k++;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	if (k != 5 || part[4] + plen[4] != end)
		return err_set(e, 400, E_INCOMPLETE,
			       "Credential must have exactly 5 slash-delimited elements, e.g. "
			       "keyid/date/region/service/term, got '%.*s'",
			       (int)(n > 256 ? 256 : n), v);

	/* Key id: our ids and AWS's are [A-Za-z0-9]; anything else is unknown. */
	if (plen[0] == 0 || !copy_field(out->key_id, sizeof(out->key_id), part[0], plen[0]))
		return sigv4_fail_unknown_key(e);
	for (size_t i = 0; i < plen[0]; i++)
		if (!isalnum((unsigned char)part[0][i]) && part[0][i] != '_' && part[0][i] != '-')
			return sigv4_fail_unknown_key(e);

	if (plen[1] != 8 || !all_digits(part[1], 8))
		return err_set(e, 400, E_INCOMPLETE,
			       "Credential scope date must be YYYYMMDD, got '%.*s'.",
			       (int)(plen[1] > 32 ? 32 : plen[1]), part[1]);
	copy_field(out->date, sizeof(out->date), part[1], 8);

	if (plen[2] == 0 || !copy_field(out->region, sizeof(out->region), part[2], plen[2]))
		return sigv4_fail_region(e);
	for (size_t i = 0; i < plen[2]; i++) {
		unsigned char c = (unsigned char)part[2][i];
		if (!(islower(c) || isdigit(c) || c == '-'))
			return sigv4_fail_region(e);
	}

	if (plen[3] == 0 || !copy_field(out->service, sizeof(out->service), part[3], plen[3]))
		return err_set(e, 403, E_MISMATCH,
			       "Credential should be scoped to correct service: 'ses'. ");
	for (size_t i = 0; i < plen[3]; i++)
		if (!is_tchar((unsigned char)part[3][i]))
			return err_set(e, 403, E_MISMATCH,
				       "Credential should be scoped to correct service: 'ses'. ");

	if (plen[4] != strlen(TERMINATOR) || memcmp(part[4], TERMINATOR, plen[4]) != 0)
		return err_set(e, 403, E_MISMATCH,
			       "Credential should be scoped with a valid terminator: '" TERMINATOR
			       "', not '%.*s'. ",
			       (int)(plen[4] > 64 ? 64 : plen[4]), part[4]);
	return 0;
}

static int
parse_signed_headers(const char *v, size_t n, struct sigv4_auth *out, struct err *e)
{
	size_t count = 0, start = 0;
	bool host = false;

	if (n == 0 || !copy_field(out->signed_headers, sizeof(out->signed_headers), v, n))
		return err_set(e, 400, E_INCOMPLETE,
			       "Authorization header has an empty or overlong 'SignedHeaders' "
			       "parameter.");
	for (size_t i = 0; i <= n; i++) {
		if (i < n && v[i] != ';') {
			if (!is_tchar((unsigned char)v[i]))
				return err_set(e, 400, E_INCOMPLETE,
					       "Authorization header has an invalid header name "
					       "in 'SignedHeaders'.");
			continue;
		}
		if (i == start)
			return err_set(e, 400, E_INCOMPLETE,
				       "Authorization header has an empty header name in "
				       "'SignedHeaders'.");
		if (++count > SIGV4_MAX_SIGNED)
			return err_set(e, 400, E_INCOMPLETE,
				       "Authorization header signs more than %d headers.",
				       SIGV4_MAX_SIGNED);
		if (i - start == 4 && memcmp(v + start, "host", 4) == 0)
			host = true;
		start = i + 1;
	}
	if (!host)
		return err_set(e, 400, E_INCOMPLETE,
			       "'Host' must be a 'SignedHeader' in the AWS Authorization.");
	return 0;
}

/*
 * Parse `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
 * has_date says whether the request carries X-Amz-Date or Date, so the
 * "requires" message lists every missing piece at once as AWS does. Checks
 * syntax only: not the service, the dates or the clock.
 */
TESTABLE int
sigv4_parse_authorization(const char *value, bool has_date, struct sigv4_auth *out, struct err *e)
{
	const char *cred = NULL, *sh = NULL, *sig = NULL;
	size_t cred_n = 0, sh_n = 0, sig_n = 0, n, i;
	const char *p;

	memset(out, 0, sizeof(*out));
	n = strnlen(value, SIGV4_MAX_AUTHZ + 1);
	if (n > SIGV4_MAX_AUTHZ)
		return err_set(e, 400, E_INCOMPLETE, "Authorization header is too long.");
	while (*value == ' ' || *value == '\t') {
		value++;
		n--;
	}

	p = value;
	size_t alen = strcspn(p, " \t");
	bool is_v4 = alen == strlen(ALGORITHM) && memcmp(p, ALGORITHM, alen) == 0;
	if (!is_v4 && alen > 5 && memcmp(p, "AWS4-", 5) == 0)
		return err_set(e, 400, E_INCOMPLETE, "Unsupported AWS 'algorithm': '%.*s'",
			       (int)(alen > 64 ? 64 : alen), p);

	if (is_v4) {
		p += alen;
		/* comma-separated key=value components, optional blanks around */
		while (*p != '\0') {
			while (*p == ' ' || *p == '\t' || *p == ',')
				p++;
			if (*p == '\0')
				break;
			size_t clen = strcspn(p, ",");
			size_t tlen = clen;
			while (tlen > 0 && (p[tlen - 1] == ' ' || p[tlen - 1] == '\t'))
				tlen--;
			const char *eq = memchr(p, '=', tlen);
			if (eq == NULL)
				return err_set(e, 400, E_INCOMPLETE,
					       "'%.*s' not a valid key=value pair (missing "
					       "equal-sign) in Authorization header: '%.*s'.",
					       (int)(tlen > 128 ? 128 : tlen), p,
					       (int)(n > 512 ? 512 : n), value);
			size_t klen = (size_t)(eq - p);
			const char **slot = NULL;
			size_t *slen = NULL;
			if (klen == 10 && memcmp(p, "Credential", 10) == 0) {
				slot = &cred;
				slen = &cred_n;
			} else if (klen == 13 && memcmp(p, "SignedHeaders", 13) == 0) {
				slot = &sh;
				slen = &sh_n;
			} else if (klen == 9 && memcmp(p, "Signature", 9) == 0) {
				slot = &sig;
				slen = &sig_n;
			}
			if (slot != NULL) {
				if (*slot != NULL)
					return err_set(e, 400, E_INCOMPLETE,
						       "Authorization header has a duplicate "
						       "'%.*s' parameter.",
						       (int)klen, p);
				*slot = eq + 1;
				*slen = tlen - klen - 1;
			}
			p += clen;
		}
	}

	if (cred == NULL || sh == NULL || sig == NULL || !has_date) {
		char msg[sizeof(e->message)];
		size_t off = 0;
		static const char *const names[] = {"Credential", "Signature", "SignedHeaders"};
		const char *got[] = {cred, sig, sh};

		msg[0] = '\0';
		for (i = 0; i < 3; i++) {
			if (got[i] == NULL && off < sizeof(msg))
				off += (size_t)snprintf(msg + off, sizeof(msg) - off,
							"Authorization header requires '%s' "
							"parameter. ",
							names[i]);
		}
		if (!has_date && off < sizeof(msg))
			off += (size_t)snprintf(msg + off, sizeof(msg) - off,
						"Authorization header requires existence of "
						"either a 'X-Amz-Date' or a 'Date' header. ");
		if (off < sizeof(msg))
			snprintf(msg + off, sizeof(msg) - off, "Authorization=%.*s",
				 (int)(n > 512 ? 512 : n), value);
		return err_set(e, 400, E_INCOMPLETE, "%s", msg);
	}

	if (parse_credential(cred, cred_n, out, e) != 0 ||
	    parse_signed_headers(sh, sh_n, out, e) != 0)
		return -1;
	/* A signature of the wrong shape simply will not match: keep what fits. */
	if (sig_n >= sizeof(out->signature))
		return err_set(e, 403, E_MISMATCH, MSG_MISMATCH);
	copy_field(out->signature, sizeof(out->signature), sig, sig_n);
	return 0;
}

/* `v` without leading and trailing blanks, copied into dst (cut at cap-1:
 * an overlong date is invalid anyway). */
static const char *
trim_copy(const char *v, char *dst, size_t cap)
{
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strnlen(v, cap - 1);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return dst;
}

/* ---- sigv4_parse --------------------------------------------------------- */

int
sigv4_parse(const struct sigv4_request *r, time_t now, struct sigv4_auth *out, struct err *e)
{
	const char *authz, *xdate, *date;
	size_t na, nx, nd;
	char t_req[17], t_lim[17], t_now[17], dbuf[80];

	memset(out, 0, sizeof(*out));
	if (r->nheaders > SIGV4_MAX_HEADERS)
		return err_set(e, 400, E_INCOMPLETE, "Request has more than %d headers.",
			       SIGV4_MAX_HEADERS);
	na = header_get(r, "authorization", &authz);
	if (na == 0 || authz == NULL || authz[strspn(authz, " \t")] == '\0')
		return err_set(e, 403, E_MISSING, "Request is missing Authentication Token");
	if (na > 1)
		return err_set(e, 400, E_INCOMPLETE,
			       "Request has more than one Authorization header.");
	nx = header_get(r, "x-amz-date", &xdate);
	nd = header_get(r, "date", &date);
	if (nx > 1 || (nx == 0 && nd > 1))
		return err_set(e, 400, E_INCOMPLETE, "Request has more than one date header.");

	if (sigv4_parse_authorization(authz, xdate != NULL || date != NULL, out, e) != 0)
		return -1;

	/* HTTP allows blanks around a value; the dates are compared trimmed. */
	if (xdate != NULL) {
		xdate = trim_copy(xdate, dbuf, sizeof(dbuf));
		if (sigv4_parse_iso_basic(xdate, &out->when) != 0)
			return err_set(e, 400, E_INCOMPLETE,
				       "Date must be in ISO-8601 'basic format'. Got '%.64s'. See "
				       "http://en.wikipedia.org/wiki/ISO_8601",
				       xdate);
		copy_field(out->amz_date, sizeof(out->amz_date), xdate, 16);
	} else {
		date = trim_copy(date, dbuf, sizeof(dbuf));
		if (sigv4_parse_http_date(date, &out->when) != 0 &&
		    sigv4_parse_iso_basic(date, &out->when) != 0)
			return err_set(e, 400, E_INCOMPLETE,
				       "Date must be in RFC 1123 or ISO-8601 'basic format'. Got "
				       "'%.64s'.",
				       date);
		fmt_iso_basic(out->when, out->amz_date);
	}

	if (strcmp(out->service, "ses") != 0 && strcmp(out->service, "email") != 0 &&
	    strcmp(out->service, "sns") != 0)
		return err_set(e, 403, E_MISMATCH,
			       "Credential should be scoped to correct service: 'ses'. ");

	if (memcmp(out->date, out->amz_date, 8) != 0)
		return err_set(e, 403, E_MISMATCH,
			       "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
			       "version of date from HTTP: '%s' != '%.8s', from '%s'.",
			       out->date, out->amz_date, out->amz_date);

	if (out->when >= now - SIGV4_SKEW_SECONDS && out->when <= now + SIGV4_SKEW_SECONDS)
		return 0;
	fmt_iso_basic(out->when, t_req);
	fmt_iso_basic(now, t_now);
	if (out->when < now - SIGV4_SKEW_SECONDS) {
		fmt_iso_basic(now - SIGV4_SKEW_SECONDS, t_lim);
		return err_set(e, 403, E_MISMATCH,
			       "Signature expired: %s is now earlier than %s (%s - 15 min.)", t_req,
			       t_lim, t_now);
	}
	if (out->when > now + SIGV4_SKEW_SECONDS) {
		fmt_iso_basic(now + SIGV4_SKEW_SECONDS, t_lim);
		return err_set(e, 403, E_MISMATCH,
			       "Signature not yet current: %s is still later than %s (%s + 15 min.)",
			       t_req, t_lim, t_now);
	}
	return 0;
}

/* ---- canonical request --------------------------------------------------- */

/* Normalise the path as AWS does for non-S3 services: empty and "."
 * segments dropped, ".." pops, leading '/' always, trailing '/' kept when
 * the input had one and something remains; then encode it once more. */
static int
canonical_uri(struct buf *b, const char *path)
{
	size_t n = path ? strlen(path) : 0;
	size_t *seg_start, *seg_len;
	size_t nseg = 0, i, start = 0;
	int rc = -1;

	if (n == 0)
		return buf_putc(b, '/');
	/* at most one non-empty segment per two bytes, plus one */
	seg_start = xmalloc((n / 2 + 2) * sizeof(*seg_start));
	seg_len = xmalloc((n / 2 + 2) * sizeof(*seg_len));
	for (i = 0; i <= n; i++) {
		if (i < n && path[i] != '/')
			continue;
		size_t l = i - start;
		if (l == 0 || (l == 1 && path[start] == '.')) {
			/* empty or "." segment: dropped */
		} else if (l == 2 && path[start] == '.' && path[start + 1] == '.') {
			if (nseg > 0)
				nseg--;
		} else {
			seg_start[nseg] = start;
			seg_len[nseg] = l;
			nseg++;
		}
		start = i + 1;
	}
	if (buf_putc(b, '/') != 0)
		goto out;
	for (i = 0; i < nseg; i++) {
		if (i > 0 && buf_putc(b, '/') != 0)
			goto out;
		if (uri_encode(b, path + seg_start[i], seg_len[i]) != 0)
			goto out;
	}
	if (nseg > 0 && path[n - 1] == '/' && buf_putc(b, '/') != 0)
		goto out;
	rc = 0;
out:
	free(seg_start);
	free(seg_len);
	return rc;
}

struct qpair {
	char *key; /* encoded, NUL-terminated */
	char *value;
};

static int
cmp_qpair(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : strcmp(x->value, y->value);
}

static char *
encode_component(const char *s, size_t n, char *tmp)
{
	struct buf b;
	size_t dn = query_decode(s, n, tmp);

	buf_init(&b, 0);
	uri_encode(&b, tmp, dn);
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b, NULL);
}

static int
canonical_query(struct buf *b, const char *q)
{
	size_t n = q ? strlen(q) : 0, np = 0, i, start;
	struct qpair *pairs;
	char *tmp;
	int rc = 0;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (q[i] == '&')
			np++;
	np++;
	pairs = xcalloc(np, sizeof(*pairs));
	tmp = xmalloc(n + 1);
	np = 0;
	for (i = 0, start = 0; i <= n; i++) {
		if (i < n && q[i] != '&')
			continue;
		if (i > start) {
			const char *seg = q + start;
			size_t sl = i - start;
			const char *eq = memchr(seg, '=', sl);
			size_t kl = eq ? (size_t)(eq - seg) : sl;
			pairs[np].key = encode_component(seg, kl, tmp);
			pairs[np].value = eq ? encode_component(eq + 1, sl - kl - 1, tmp)
					     : xstrdup("");
			np++;
		}
		start = i + 1;
	}
	qsort(pairs, np, sizeof(*pairs), cmp_qpair);
	for (i = 0; i < np && rc == 0; i++) {
		if ((i > 0 && buf_putc(b, '&') != 0) || buf_puts(b, pairs[i].key) != 0 ||
		    buf_putc(b, '=') != 0 || buf_puts(b, pairs[i].value) != 0)
			rc = -1;
	}
	for (i = 0; i < np; i++) {
		free(pairs[i].key);
		free(pairs[i].value);
	}
	free(pairs);
	free(tmp);
	return rc;
}

/* Append one header value trimmed, with whitespace runs collapsed. */
static int
append_trimmed(struct buf *b, const char *v)
{
	bool pending_space = false, any = false;

	for (const char *p = v; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			pending_space = any;
			continue;
		}
		const char *s = p;
		while (p[1] != '\0' && p[1] != ' ' && p[1] != '\t' && p[1] != '\r' && p[1] != '\n')
			p++;
		if ((pending_space && buf_putc(b, ' ') != 0) ||
		    buf_append(b, s, (size_t)(p - s + 1)) != 0)
			return -1;
		pending_space = false;
		any = true;
	}
	return 0;
}

static int
canonical_headers(struct buf *b, const struct sigv4_request *r, const char *signed_headers,
		  struct err *e)
{
	const char *p = signed_headers;

	while (*p != '\0') {
		size_t l = strcspn(p, ";");
		char name[256];
		bool first = true;

		if (l >= sizeof(name))
			return err_set(e, 400, E_INCOMPLETE, "Signed header name is too long.");
		memcpy(name, p, l);
		name[l] = '\0';
		for (size_t i = 0; i < l; i++)
			name[i] = (char)tolower((unsigned char)name[i]);
		if (buf_append(b, name, l) != 0 || buf_putc(b, ':') != 0)
			goto toolong;
		for (size_t i = 0; i < r->nheaders; i++) {
			const struct sigv4_header *h = &r->headers[i];
			if (h->name == NULL || h->value == NULL || strcasecmp(h->name, name) != 0)
				continue;
			if (strnlen(h->value, SIGV4_MAX_HEADER_VALUE + 1) > SIGV4_MAX_HEADER_VALUE)
				return err_set(e, 400, E_INCOMPLETE,
					       "Header %s is longer than %d bytes.", name,
					       SIGV4_MAX_HEADER_VALUE);
			if ((!first && buf_putc(b, ',') != 0) || append_trimmed(b, h->value) != 0)
				goto toolong;
			first = false;
		}
		if (buf_putc(b, '\n') != 0)
			goto toolong;
		p += l;
		if (*p == ';')
			p++;
	}
	return 0;
toolong:
	return err_set(e, 400, E_INCOMPLETE, "The canonical request is longer than %d bytes.",
		       SIGV4_MAX_CANONICAL);
}

/*
 * Build the canonical request of `r` as signed under `a` (any service) into
 * `creq` (which the caller initialised). Also checks X-Amz-Content-Sha256
 * against the body. 0 or -1 with `e`.
 */
TESTABLE int
sigv4_canonical_request(const struct sigv4_request *r, const struct sigv4_auth *a,
			struct buf *creq, struct err *e)
{
	char body_hash[65], dbuf[80];
	const char *declared;
	size_t nd;

	if (r->path != NULL && strnlen(r->path, SIGV4_MAX_PATH + 1) > SIGV4_MAX_PATH)
		return err_set(e, 400, E_INCOMPLETE, "The request path is longer than %d bytes.",
			       SIGV4_MAX_PATH);
	if (r->query != NULL && strnlen(r->query, SIGV4_MAX_QUERY + 1) > SIGV4_MAX_QUERY)
		return err_set(e, 400, E_INCOMPLETE, "The query string is longer than %d bytes.",
			       SIGV4_MAX_QUERY);
	if (r->nheaders > SIGV4_MAX_HEADERS)
		return err_set(e, 400, E_INCOMPLETE, "Request has more than %d headers.",
			       SIGV4_MAX_HEADERS);

	sha256_hex(r->body != NULL ? r->body : "", r->body_len, body_hash);
	nd = header_get(r, "x-amz-content-sha256", &declared);
	if (nd == 1 && declared != NULL)
		declared = trim_copy(declared, dbuf, sizeof(dbuf));
	if (nd > 1 || (nd == 1 && (declared == NULL || strcasecmp(declared, body_hash) != 0)))
		return err_set(e, 403, E_MISMATCH,
			       "The provided 'x-amz-content-sha256' header does not match what "
			       "was computed.");

	if (buf_puts(creq, r->method ? r->method : "") != 0 || buf_putc(creq, '\n') != 0 ||
	    canonical_uri(creq, r->path) != 0 || buf_putc(creq, '\n') != 0 ||
	    canonical_query(creq, r->query) != 0 || buf_putc(creq, '\n') != 0)
		goto toolong;
	if (canonical_headers(creq, r, a->signed_headers, e) != 0)
		return -1;
	if (buf_putc(creq, '\n') != 0 || buf_puts(creq, a->signed_headers) != 0 ||
	    buf_putc(creq, '\n') != 0 || buf_puts(creq, nd == 1 ? declared : body_hash) != 0)
		goto toolong;
	return 0;
toolong:
	return err_set(e, 400, E_INCOMPLETE, "The canonical request is longer than %d bytes.",
		       SIGV4_MAX_CANONICAL);
}

/* StringToSign for a canonical request; sts_out must hold 200 bytes. */
TESTABLE void
sigv4_string_to_sign(const struct sigv4_auth *a, const char *creq, size_t creq_len,
		     char *sts_out, size_t cap)
{
	char h[65];

	sha256_hex(creq, creq_len, h);
	snprintf(sts_out, cap, ALGORITHM "\n%s\n%s/%s/%s/" TERMINATOR "\n%s", a->amz_date,
		 a->date, a->region, a->service, h);
}

/* hex(HMAC(key, sts)). */
TESTABLE void
sigv4_signature(const uint8_t key[32], const char *sts, char hex_out[65])
{
	uint8_t mac[32];

	hmac_sha256(key, 32, sts, strlen(sts), mac);
	hex_encode(mac, 32, hex_out);
}

void
sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
		  uint8_t out[32])
{
	size_t slen = strlen(secret);
	uint8_t stack[4 + 128];
	uint8_t *k0 = slen <= 128 ? stack : xmalloc(slen + 4);

	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, secret, slen);
	hmac_sha256(k0, slen + 4, date, strlen(date), out);
	OPENSSL_cleanse(k0, slen + 4);
	if (k0 != stack)
		free(k0);
	hmac_sha256(out, 32, region, strlen(region), out);
	hmac_sha256(out, 32, service, strlen(service), out);
	hmac_sha256(out, 32, TERMINATOR, strlen(TERMINATOR), out);
}

int
sigv4_verify(const struct sigv4_request *r, const struct sigv4_auth *a, const uint8_t key[32],
	     struct err *e)
{
	struct buf creq;
	char sts[256], sig[65];
	bool ok;

	buf_init(&creq, SIGV4_MAX_CANONICAL);
	if (sigv4_canonical_request(r, a, &creq, e) != 0) {
		buf_free(&creq);
		return -1;
	}
	sigv4_string_to_sign(a, creq.data, creq.len, sts, sizeof(sts));
	buf_free(&creq);
	sigv4_signature(key, sts, sig);
	ok = ct_equal(sig, 64, a->signature, strnlen(a->signature, sizeof(a->signature)));
	OPENSSL_cleanse(sig, sizeof(sig));
	if (!ok)
		return err_set(e, 403, E_MISMATCH, MSG_MISMATCH);
	return 0;
}

int
sigv4_fail_unknown_key(struct err *e)
{
	return err_set(e, 403, E_TOKEN, "The security token included in the request is invalid.");
}

int
sigv4_fail_region(struct err *e)
{
	return err_set(e, 403, E_MISMATCH, "Credential should be scoped to a valid region. ");
}

/* ---- signing-key cache --------------------------------------------------- */

void
sigv4_cache_init(struct sigv4_cache *c)
{
	memset(c, 0, sizeof(*c));
}

void
sigv4_cache_clear(struct sigv4_cache *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
	memset(c, 0, sizeof(*c));
}

static uint32_t
fnv1a(uint32_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	h ^= 0xff; /* field separator */
	h *= 16777619u;
	return h;
}

static struct sigv4_cache_slot *
cache_slot(struct sigv4_cache *c, const struct sigv4_auth *a)
{
	uint32_t h = 2166136261u;

	h = fnv1a(h, a->key_id);
	h = fnv1a(h, a->date);
	h = fnv1a(h, a->region);
	h = fnv1a(h, a->service);
	return &c->slot[h % SIGV4_CACHE_SLOTS];
}

static bool
cache_get(struct sigv4_cache *c, const struct sigv4_auth *a, const uint8_t fp[32],
	  uint8_t out[32])
{
	const struct sigv4_cache_slot *s = cache_slot(c, a);

	if (s->used && strcmp(s->key_id, a->key_id) == 0 && strcmp(s->date, a->date) == 0 &&
	    strcmp(s->region, a->region) == 0 && strcmp(s->service, a->service) == 0 &&
	    ct_equal(s->fingerprint, 32, fp, 32)) {
		memcpy(out, s->key, 32);
		c->hits++;
		return true;
	}
	c->misses++;
	return false;
}

static void
cache_put(struct sigv4_cache *c, const struct sigv4_auth *a, const uint8_t fp[32],
	  const uint8_t key[32])
{
	struct sigv4_cache_slot *s = cache_slot(c, a);

	s->used = true;
	snprintf(s->key_id, sizeof(s->key_id), "%s", a->key_id);
	snprintf(s->date, sizeof(s->date), "%s", a->date);
	snprintf(s->region, sizeof(s->region), "%s", a->region);
	snprintf(s->service, sizeof(s->service), "%s", a->service);
	memcpy(s->fingerprint, fp, 32);
	memcpy(s->key, key, 32);
}

int
sigv4_cache_key(struct sigv4_cache *c, const struct sigv4_auth *a, const uint8_t fp[32],
		sigv4_secret_fn secret, void *arg, uint8_t out[32], struct err *e)
{
	const char *plain;

	if (cache_get(c, a, fp, out))
		return 0;
	if ((plain = secret(arg, e)) == NULL)
		return -1;
	sigv4_signing_key(plain, a->date, a->region, a->service, out);
	cache_put(c, a, fp, out);
	return 0;
}

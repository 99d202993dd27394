/*
 * dkim.c — DKIM signing, relaxed/relaxed (dkim.h; docs/internals/dkim.md).
 *
 * Owns nothing between calls: dkim_sign reads the message in place, builds
 * the canonical signed-header data and the DKIM-Signature text in two
 * bounded buffers, streams the relaxed body into SHA-256 without copying
 * it, and hands the data to the caller's signer, which alone holds a key.
 *
 * Invariants:
 *   1. the header index (struct hdrs) tiles the header section exactly: each
 *      field runs from its name to the end of its last continuation line,
 *      CRLF included (the last line of a message may lack it);
 *   2. what is signed is what is output: the DKIM-Signature text given to
 *      the signer is canonicalized by the same dkim_canon_header_relaxed a
 *      verifier applies to it, from the very bytes that are returned, cut
 *      just after "b=" (a verifier deletes the b= value and its FWS);
 *   3. every line of the returned field is at most DKIM_FOLD columns, except
 *      a line that holds only one d= or s= token longer than that.
 */
#include "mail/dkim.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/codec.h"
#include "util/hash.h"
#include "util/xalloc.h"

const char *const dkim_default_headers[] = {
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Reply-To",
    "In-Reply-To",
    "References",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Feedback-ID",
    NULL,
};

#define SIGN_LIST_MAX 64 /* names in a caller's list */
#define HNAME_MAX     64 /* bytes of one name in that list */
/* The signature field itself: h= names at most DKIM_MAX_FIELDS + 1 fields
 * of at most HNAME_MAX bytes, plus the fixed tags and a folded b=. */
#define SIGFIELD_MAX ((DKIM_MAX_FIELDS + 1) * (HNAME_MAX + 4) + 8192)

static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

static int __attribute__((format(printf, 2, 3))) invalid(struct err *e, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(e, 400, "InvalidParameterValue", "%s", msg);
}

/* ---- canonicalization ---------------------------------------------------- */

int
dkim_canon_header_relaxed(const uint8_t *f, size_t len, struct buf *out)
{
	const uint8_t *colon = len > 0 ? memchr(f, ':', len) : NULL;
	size_t name_len, vlen, start, i;
	const uint8_t *v;

	if (colon == NULL)
		return -1;
	name_len = (size_t)(colon - f);
	v = colon + 1;
	vlen = len - name_len - 1;
	while (name_len > 0 && is_wsp(f[name_len - 1]))
		name_len--;
	for (i = 0; i < name_len; i++)
		if (buf_putc(out, (char)lower(f[i])) != 0)
			return -1;
	if (buf_putc(out, ':') != 0)
		return -1;
	if (vlen >= 2 && v[vlen - 2] == '\r' && v[vlen - 1] == '\n')
		vlen -= 2; /* the field's own terminator */

	/*
	 * Unfold, squeeze and trim in one pass over an output that may shrink:
	 * a WSP byte first removes every CRLF just written before it (the fold
	 * it continues), then becomes one SP unless the value is still empty
	 * or already ends in SP. Working on the output rather than the input
	 * is what makes the function idempotent on arbitrary bytes, where a
	 * removed fold can bring another CRLF next to a WSP.
	 */
	start = out->len;
	i = 0;
	while (i < vlen) {
		if (is_wsp(v[i])) {
			while (out->len - start >= 2 && out->data[out->len - 2] == '\r' &&
			       out->data[out->len - 1] == '\n')
				out->len -= 2;
			out->data[out->len] = '\0';
			if (out->len > start && out->data[out->len - 1] != ' ' &&
			    buf_putc(out, ' ') != 0)
				return -1;
			i++;
			continue;
		}
		size_t run = i;
		while (run < vlen && !is_wsp(v[run]))
			run++;
		if (buf_append(out, v + i, run - i) != 0)
			return -1;
		i = run;
	}
	while (out->len > start && out->data[out->len - 1] == ' ')
		out->len--;
	out->data[out->len] = '\0';
	return buf_append(out, "\r\n", 2);
}

/* Where canonical body bytes go: a SHA-256 context or a buffer, through a
 * small staging area so the digest sees large updates. */
struct sink {
	EVP_MD_CTX *md;  /* either this ... */
	struct buf *out; /* ... or this */
	bool failed;
	size_t n;
	uint8_t tmp[8192];
};

static void
sink_flush(struct sink *s)
{
	if (s->n == 0 || s->failed)
		return;
	if (s->md != NULL)
		s->failed = EVP_DigestUpdate(s->md, s->tmp, s->n) != 1;
	else
		s->failed = buf_append(s->out, s->tmp, s->n) != 0;
	s->n = 0;
}

static void
sink_put(struct sink *s, const uint8_t *p, size_t n)
{
	while (n > 0 && !s->failed) {
		size_t room = sizeof(s->tmp) - s->n;
		size_t k = n < room ? n : room;

		memcpy(s->tmp + s->n, p, k);
		s->n += k;
		p += k;
		n -= k;
		if (s->n == sizeof(s->tmp))
			sink_flush(s);
	}
}

/* The end of the line starting at pos (the index of its CRLF, or len) and
 * the start of the next line. Only CRLF ends a body line: a bare CR or LF
 * is an ordinary byte, as for every verifier that reads CRLF mail. */
static size_t
line_end(const uint8_t *b, size_t len, size_t pos, size_t *next)
{
	size_t q = pos;

	while (q < len) {
		const uint8_t *lf = memchr(b + q, '\n', len - q);
		if (lf == NULL)
			break;
		size_t at = (size_t)(lf - b);
		if (at > pos && b[at - 1] == '\r') {
			*next = at + 1;
			return at - 1;
		}
		q = at + 1;
	}
	*next = len;
	return len;
}

/*
 * Relaxed body, streamed: empty lines are only counted, and written out
 * when a non-empty line follows, so those at the end never are. A line is
 * empty once its WSP is gone (RFC 6376 §3.4.4 a. before b.).
 */
static void
body_relaxed(const uint8_t *b, size_t len, struct sink *s)
{
	static const uint8_t crlf[2] = {'\r', '\n'}, sp = ' ';
	size_t empties = 0, pos = 0;

	while (pos < len) {
		size_t next, eol = line_end(b, len, pos, &next);
		bool any = false, ws = false;
		size_t i = pos;

		while (i < eol) {
			if (is_wsp(b[i])) {
				ws = true;
				i++;
				continue;
			}
			if (!any) {
				for (; empties > 0; empties--)
					sink_put(s, crlf, 2);
				any = true;
			}
			if (ws)
				sink_put(s, &sp, 1);
			ws = false;
			size_t run = i;
			while (run < eol && !is_wsp(b[run]))
				run++;
			sink_put(s, b + i, run - i);
			i = run;
		}
		if (any)
			sink_put(s, crlf, 2);
		else
			empties++;
		pos = next;
	}
	sink_flush(s);
}

int
dkim_canon_body_relaxed(const uint8_t *body, size_t len, struct buf *out)
{
	struct sink *s = xcalloc(1, sizeof(*s));
	int rc;

	s->out = out;
	body_relaxed(body, len, s);
	rc = s->failed ? -1 : 0;
	free(s);
	return rc;
}

/* ---- the header section -------------------------------------------------- */

struct field {
	size_t off, len; /* name through the last line's CRLF */
	size_t name_len; /* without any WSP before the colon */
};

struct hdrs {
	struct field *f;
	size_t n, cap;
	size_t body_off; /* first body byte, or the message length */
};

/* Index the header section (invariant 1); see dkim.h for what is refused. */
static int
parse_header(const uint8_t *m, size_t len, struct hdrs *h, struct err *e)
{
	size_t pos = 0;

	h->body_off = len;
	while (pos < len) {
		size_t eol = pos, next, i;

		while (eol < len && m[eol] != '\r' && m[eol] != '\n')
			eol++;
		if (eol == len)
			next = len;
		else if (m[eol] == '\r' && eol + 1 < len && m[eol + 1] == '\n')
			next = eol + 2;
		else
			return invalid(e, "DKIM: a bare CR or LF in the header section.");
		if (eol == pos) {
			h->body_off = next; /* the empty line */
			return 0;
		}
		if (next > DKIM_HEADER_MAX)
			return invalid(e, "DKIM: header section over %d bytes.", DKIM_HEADER_MAX);
		if (is_wsp(m[pos])) {
			if (h->n == 0)
				return invalid(e, "DKIM: the header section starts with a "
				                  "continuation line.");
			h->f[h->n - 1].len = next - h->f[h->n - 1].off;
			pos = next;
			continue;
		}
		for (i = pos; i < eol && m[i] > 32 && m[i] < 127 && m[i] != ':'; i++)
			;
		size_t name_len = i - pos;
		while (i < eol && is_wsp(m[i]))
			i++;
		if (name_len == 0 || i == eol || m[i] != ':')
			return invalid(e, "DKIM: a header line that is not a field: '%.*s'.",
			               (int)(eol - pos < 40 ? eol - pos : 40),
			               (const char *)m + pos);
		if (h->n == DKIM_MAX_FIELDS)
			return invalid(e, "DKIM: more than %d header fields.", DKIM_MAX_FIELDS);
		if (h->n == h->cap) {
			h->cap = h->cap ? h->cap * 2 : 32;
			h->f = xrealloc(h->f, h->cap * sizeof(*h->f));
		}
		h->f[h->n++] = (struct field){.off = pos, .len = next - pos, .name_len = name_len};
		pos = next;
	}
	return 0;
}

static bool
field_is(const uint8_t *m, const struct field *f, const char *name)
{
	size_t n = strlen(name);
	return f->name_len == n && strncasecmp((const char *)m + f->off, name, n) == 0;
}

/* ---- parameters ---------------------------------------------------------- */

/* d= and s=: dot-separated non-empty labels of [A-Za-z0-9_-]. */
static bool
name_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0, label = 0;

	if (n == 0 || n > DKIM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c == '-' || c == '_') {
			label++;
		} else {
			return false;
		}
	}
	return label > 0;
}

static bool
hname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* The names to sign, From first unless listed, duplicates dropped; fills
 * names[] (pointers into the caller's strings) and returns how many, or -1. */
static int
sign_list(const char *const *list, const char *names[SIGN_LIST_MAX + 1], struct err *e)
{
	int n = 0;
	bool from = false;

	if (list == NULL)
		list = dkim_default_headers;
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcasecmp(list[i], "From") == 0)
			from = true;
	if (!from)
		names[n++] = "From";
	for (size_t i = 0; list[i] != NULL; i++) {
		bool dup = false;

		if (!hname_ok(list[i]))
			return err_set(e, 500, "InternalFailure", "DKIM: bad header name to sign.");
		for (int k = 0; k < n && !dup; k++)
			dup = strcasecmp(names[k], list[i]) == 0;
		if (dup)
			continue;
		if (n == SIGN_LIST_MAX + 1)
			return err_set(e, 500, "InternalFailure", "DKIM: too many header names.");
		names[n++] = list[i];
	}
	return n;
}

/* ---- the DKIM-Signature field -------------------------------------------- */

/* A field being written with its column tracked (invariant 3). */
struct fold {
	struct buf *b;
	size_t col;
	bool failed;
};

static void
fold_raw(struct fold *f, const char *s, size_t n)
{
	if (buf_append(f->b, s, n) != 0)
		f->failed = true;
	f->col += n;
}

static void
fold_break(struct fold *f)
{
	fold_raw(f, "\r\n ", 3);
	f->col = 1;
}

/* A tag, after a space or a fold. */
static void
fold_tag(struct fold *f, const char *s, size_t n)
{
	if (f->col + 1 + n > DKIM_FOLD)
		fold_break(f);
	else
		fold_raw(f, " ", 1);
	fold_raw(f, s, n);
}

/* A piece glued to what precedes it where FWS is allowed (after a ':' of
 * h=): folds only when it would not fit. */
static void
fold_glue(struct fold *f, const char *s, size_t n)
{
	if (f->col + n > DKIM_FOLD)
		fold_break(f);
	fold_raw(f, s, n);
}

static void fold_tagf(struct fold *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fold_tagf(struct fold *f, const char *fmt, ...)
{
	char tmp[DKIM_NAME_MAX + 32];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		f->failed = true;
		return;
	}
	fold_tag(f, tmp, (size_t)n);
}

/* SHA-256 of the relaxed body, base64 (malloc'd), or NULL on a digest
 * failure. */
static char *
body_hash(const uint8_t *b, size_t len)
{
	struct sink *s = xcalloc(1, sizeof(*s));
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char *out = NULL;

	s->md = EVP_MD_CTX_new();
	if (s->md == NULL || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
		goto done;
	body_relaxed(b, len, s);
	if (!s->failed && EVP_DigestFinal_ex(s->md, md, &mdlen) == 1 && mdlen == 32)
		out = base64_encode(md, mdlen);
done:
	EVP_MD_CTX_free(s->md);
	free(s);
	return out;
}

int
dkim_sign(const uint8_t *msg, size_t len, const struct dkim_params *p, dkim_sign_fn sign, void *arg,
          char **header_out, struct err *e)
{
	const char *names[SIGN_LIST_MAX + 1];
	struct hdrs h = {0};
	struct buf data, text, hlist;
	struct fold fo;
	uint8_t *sig = NULL, digest[HASH_SHA256_LEN];
	size_t sig_len = 0;
	char *bh = NULL, *b64 = NULL;
	int nnames, rc = -1;

	*header_out = NULL;
	buf_init(&data, DKIM_HEADER_MAX + SIGFIELD_MAX);
	buf_init(&text, SIGFIELD_MAX);
	buf_init(&hlist, SIGFIELD_MAX);
	if (p == NULL || sign == NULL ||
	    (p->alg != DKIM_RSA_SHA256 && p->alg != DKIM_ED25519_SHA256)) {
		err_set(e, 500, "InternalFailure", "DKIM: bad signing parameters.");
		goto fail;
	}
	if (!name_ok(p->domain) || !name_ok(p->selector)) {
		err_set(e, 500, "InternalFailure", "DKIM: bad d= or s= name.");
		goto fail;
	}
	if ((nnames = sign_list(p->headers, names, e)) < 0)
		goto fail;
	if (parse_header(msg, len, &h, e) != 0)
		goto fail;

	/* the signed fields, bottom-up per name (RFC 6376 §5.4.2), and h= */
	for (int k = 0; k < nnames; k++) {
		bool is_from = strcasecmp(names[k], "From") == 0;
		size_t count = 0;
		char lname[HNAME_MAX + 1];
		size_t ln = strlen(names[k]);

		for (size_t j = 0; j < ln; j++)
			lname[j] = (char)lower((uint8_t)names[k][j]);
		lname[ln] = '\0';
		for (size_t i = h.n; i-- > 0;) {
			const struct field *f = &h.f[i];
			if (!field_is(msg, f, names[k]))
				continue;
			if (dkim_canon_header_relaxed(msg + f->off, f->len, &data) != 0 ||
			    buf_printf(&hlist, "%s%s", hlist.len ? ":" : "", lname) != 0)
				goto too_long;
			count++;
		}
		if (is_from) {
			if (count == 0) {
				invalid(e, "Missing required header 'From'.");
				goto fail;
			}
			/* over-sign: one more From than there is */
			if (buf_printf(&hlist, ":%s", lname) != 0)
				goto too_long;
		}
	}

	if ((bh = body_hash(msg + h.body_off, len - h.body_off)) == NULL) {
		err_set(e, 500, "InternalFailure", "DKIM: SHA-256 failed.");
		goto fail;
	}

	/* the field up to "b=" */
	fo = (struct fold){.b = &text};
	fold_raw(&fo, "DKIM-Signature:", 15);
	fold_tag(&fo, "v=1;", 4);
	if (p->alg == DKIM_RSA_SHA256)
		fold_tag(&fo, "a=rsa-sha256;", 13);
	else
		fold_tag(&fo, "a=ed25519-sha256;", 17);
	fold_tag(&fo, "c=relaxed/relaxed;", 18);
	fold_tagf(&fo, "d=%s;", p->domain);
	fold_tagf(&fo, "s=%s;", p->selector);
	fold_tagf(&fo, "t=%" PRIu64 ";", p->timestamp);
	{
		/* h=, folded after any ':' */
		const char *s = hlist.data, *end = hlist.data + hlist.len;
		bool first = true;

		while (s < end) {
			const char *c = memchr(s, ':', (size_t)(end - s));
			size_t n = c != NULL ? (size_t)(c - s) : (size_t)(end - s);
			char piece[HNAME_MAX + 4];
			int pn = snprintf(piece, sizeof(piece), "%s%.*s%c", first ? "h=" : "",
			                  (int)n, s, c != NULL ? ':' : ';');

			if (first)
				fold_tag(&fo, piece, (size_t)pn);
			else
				fold_glue(&fo, piece, (size_t)pn);
			first = false;
			s += n + (c != NULL);
		}
	}
	fold_tagf(&fo, "bh=%s;", bh);
	fold_tag(&fo, "b=", 2);
	if (fo.failed)
		goto too_long;

	/* invariant 2: sign the canonical form of exactly these bytes */
	if (dkim_canon_header_relaxed((const uint8_t *)text.data, text.len, &data) != 0)
		goto too_long;
	data.len -= 2; /* hashed without its CRLF (RFC 6376 §3.7) */
	data.data[data.len] = '\0';

	if (p->alg == DKIM_RSA_SHA256) {
		rc = sign(arg, (const uint8_t *)data.data, data.len, &sig, &sig_len, e);
	} else {
		sha256(data.data, data.len, digest);
		rc = sign(arg, digest, sizeof(digest), &sig, &sig_len, e);
	}
	if (rc != 0) {
		if (e != NULL && e->code[0] == '\0')
			err_set(e, 500, "InternalFailure", "DKIM: the signer failed.");
		rc = -1;
		goto fail;
	}
	rc = -1;
	if (sig == NULL || sig_len == 0 || sig_len > DKIM_SIG_MAX ||
	    (p->alg == DKIM_ED25519_SHA256 && sig_len != 64)) {
		err_set(e, 500, "InternalFailure", "DKIM: the signer returned a bad signature.");
		goto fail;
	}

	/* b=, filling each line */
	b64 = base64_encode(sig, sig_len);
	for (size_t off = 0, n = strlen(b64); off < n;) {
		if (fo.col >= DKIM_FOLD)
			fold_break(&fo);
		size_t k = DKIM_FOLD - fo.col;
		if (k > n - off)
			k = n - off;
		fold_raw(&fo, b64 + off, k);
		off += k;
	}
	fold_raw(&fo, "\r\n", 2);
	if (fo.failed)
		goto too_long;
	*header_out = buf_steal(&text, NULL);
	rc = 0;
	goto done;

too_long:
	err_set(e, 500, "InternalFailure", "DKIM: signature data over its cap.");
fail:
done:
	free(sig);
	free(bh);
	free(b64);
	free(h.f);
	buf_free(&data);
	buf_free(&text);
	buf_free(&hlist);
	return rc;
}

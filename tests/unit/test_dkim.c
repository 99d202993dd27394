/* test_dkim.c — src/mail/dkim.c: relaxed header and body canonicalization
 * tables (RFC 6376 §3.4.5 and the corners around it), the exact data handed
 * to the signer, bottom-up and over-signed h=, folding, the caps at limit−1,
 * limit and limit+1, refusals, byte-exact golden signatures with fixed keys
 * and time (tests/unit/data/dkim/golden/; DKIM_WRITE_GOLDEN=1 rewrites
 * them), and independent verification of every golden message with dkimpy
 * (tests/unit/dkim_verify.py), altered copies included, which must fail. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mail/dkim.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/hash.h"
#include "util/xalloc.h"

#define T0   1700000000u /* Tue, 14 Nov 2023 22:13:20 +0000: in the past, as dkimpy wants */
#define DATA "data/dkim/"

/* ---- helpers ------------------------------------------------------------- */

static char *
canon_h(const char *in, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	if (dkim_canon_header_relaxed((const uint8_t *)in, n, &b) != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

static char *
canon_b(const char *in, size_t n, size_t *len_out)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(dkim_canon_body_relaxed((const uint8_t *)in, n, &b), 0);
	return buf_steal(&b, len_out);
}

static char *
read_all(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		assert_int_equal(buf_append(&b, tmp, n), 0);
	fclose(f);
	return buf_steal(&b, len_out);
}

static void
write_all(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* The message files are kept with LF line ends; the queue stores CRLF. */
static char *
load_msg(const char *name, size_t *len_out)
{
	char path[256];
	size_t n;
	struct buf b;

	snprintf(path, sizeof(path), DATA "msg/%s.eml", name);
	char *raw = read_all(path, &n);
	assert_non_null(raw);
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		if (raw[i] == '\n')
			assert_int_equal(buf_putc(&b, '\r'), 0);
		assert_int_equal(buf_putc(&b, raw[i]), 0);
	}
	free(raw);
	return buf_steal(&b, len_out);
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

/* The tests' door to a key: what dkim_keys_sign does for RSA, and
 * PureEd25519 over the 32 bytes given for Ed25519. */
static int
key_sign(void *arg, const uint8_t *data, size_t len, uint8_t **sig_out, size_t *sig_len,
         struct err *e)
{
	EVP_PKEY *k = arg;
	bool ed = EVP_PKEY_is_a(k, "ED25519");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = 0;

	if (ed && len != 32)
		goto fail;
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, ed ? NULL : EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, data, len) != 1)
		goto fail;
	*sig_out = xmalloc(n);
	if (EVP_DigestSign(ctx, *sig_out, &n, data, len) != 1) {
		free(*sig_out);
		goto fail;
	}
	*sig_len = n;
	EVP_MD_CTX_free(ctx);
	return 0;
fail:
	EVP_MD_CTX_free(ctx);
	return err_set(e, 500, "InternalFailure", "test signer failed");
}

/* A signer that keeps what it was given and returns `siglen` fixed bytes. */
struct capture {
	struct buf data;
	size_t siglen;
	int calls;
};

static int
capture_sign(void *arg, const uint8_t *data, size_t len, uint8_t **sig_out, size_t *sig_len,
             struct err *e)
{
	struct capture *c = arg;

	c->calls++;
	buf_reset(&c->data);
	assert_int_equal(buf_append(&c->data, data, len), 0);
	*sig_out = xmalloc(c->siglen ? c->siglen : 1);
	for (size_t i = 0; i < c->siglen; i++)
		(*sig_out)[i] = (uint8_t)i;
	*sig_len = c->siglen;
	return 0;
}

static int
failing_sign(void *arg, const uint8_t *data, size_t len, uint8_t **sig_out, size_t *sig_len,
             struct err *e)
{
	return err_temp(e, "vault is sealed");
}

static struct dkim_params
params(enum dkim_alg alg, const char *selector)
{
	return (struct dkim_params){
	    .alg = alg, .domain = "example.com", .selector = selector, .timestamp = T0};
}

/* Every line at most DKIM_FOLD columns, continuation lines start with SP,
 * CRLF only at line ends, the whole a field ending in CRLF. */
static void
check_folding(const char *h)
{
	size_t n = strlen(h), col = 0;

	assert_true(strncmp(h, "DKIM-Signature: ", 16) == 0);
	assert_true(n >= 2 && h[n - 2] == '\r' && h[n - 1] == '\n');
	for (size_t i = 0; i < n; i++) {
		if (h[i] == '\r') {
			assert_true(h[i + 1] == '\n');
			assert_true(col <= DKIM_FOLD);
			assert_true(i + 2 == n || h[i + 2] == ' ');
			assert_true(i == 0 || h[i - 1] != ' '); /* no trailing WSP */
			col = 0;
			i++;
			continue;
		}
		assert_true(h[i] != '\n' && h[i] != '\t');
		col++;
	}
}

/* Invariant 2 of dkim.c: the data signed ends with the canonical form of
 * the returned field cut after its "b=", without the CRLF. */
static void
check_signed_is_output(const struct buf *data, const char *h)
{
	const char *b = strstr(h, " b=");
	struct buf c;

	assert_non_null(b);
	buf_init(&c, 0);
	assert_int_equal(dkim_canon_header_relaxed((const uint8_t *)h, (size_t)(b + 3 - h), &c), 0);
	c.len -= 2;
	assert_true(data->len >= c.len);
	assert_memory_equal(data->data + data->len - c.len, c.data, c.len);
	buf_free(&c);
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The field with folds removed, and the b= value without its FWS. */
static char *
unfold(const char *h)
{
	struct buf b;
	const char *bt = strstr(h, " b=");

	assert_non_null(bt);
	buf_init(&b, 0);
	for (const char *p = h; *p; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (p > bt + 2 && *p == ' ')
			continue;
		buf_putc(&b, *p);
	}
	return buf_steal(&b, NULL);
}

static char *
bh_of(const char *canon, size_t n)
{
	uint8_t md[32];

	sha256(canon, n, md);
	return base64_encode(md, sizeof(md));
}

/* ---- canonicalization ---------------------------------------------------- */

static void
test_canon_header_table(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    /* RFC 6376 §3.4.5 */
	    {"A: X\r\n", "a:X\r\n"},
	    {"B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n"},
	    /* names: lower-cased, WSP before the colon removed */
	    {"SUBJECT: Hi", "subject:Hi\r\n"},
	    {"Message-ID: <A@B>\r\n", "message-id:<A@B>\r\n"},
	    {"X-Tab\t:v\r\n", "x-tab:v\r\n"},
	    /* values: runs squeezed, ends trimmed, folds unfolded */
	    {"Subject:   lots    of\tspace   \r\n", "subject:lots of space\r\n"},
	    {"Subject:\r\n folded\r\n\tagain\r\n", "subject:folded again\r\n"},
	    {"To: a@x,\r\n   b@y,\r\n\t\tc@z\r\n", "to:a@x, b@y, c@z\r\n"},
	    {"Subject: ends in a fold \r\n \r\n", "subject:ends in a fold\r\n"},
	    {"X-Empty:\r\n", "x-empty:\r\n"},
	    {"X-Empty:   \t\r\n", "x-empty:\r\n"},
	    {"X:a\tb", "x:a b\r\n"},
	    {"X: keep:colons: and;semis\r\n", "x:keep:colons: and;semis\r\n"},
	    /* 8-bit bytes and case inside values are untouched */
	    {"Subject: Caf\xc3\xa9  AU\r\n", "subject:Caf\xc3\xa9 AU\r\n"},
	    /* no final CRLF: one is added */
	    {"From: a@b", "from:a@b\r\n"},
	    /* a CRLF not followed by WSP is not a fold (not from a parsed
	     * message, but the function is total) */
	    {"X: a\r\nb", "x:a\r\nb\r\n"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = canon_h(cases[i].in, strlen(cases[i].in));
		if (got == NULL || strcmp(got, cases[i].out) != 0)
			fail_msg("case %zu: %s: got '%s' want '%s'", i, cases[i].in,
			         got ? got : "(error)", cases[i].out);
		/* idempotent */
		char *again = canon_h(got, strlen(got));
		assert_string_equal(again, got);
		free(again);
		free(got);
	}
	assert_null(canon_h("no colon here\r\n", 15));
	assert_null(canon_h("", 0));

	/* appends, and fails at out's cap */
	struct buf b;
	buf_init(&b, 8);
	assert_int_equal(dkim_canon_header_relaxed((const uint8_t *)"A: 1234", 7, &b), 0);
	assert_string_equal(b.data, "a:1234\r\n");
	assert_int_equal(dkim_canon_header_relaxed((const uint8_t *)"B: 1", 4, &b), -1);
	buf_free(&b);
}

static void
test_canon_body_table(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    /* RFC 6376 §3.4.5 */
	    {" C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n"},
	    /* the empty body, and bodies of empty lines, are nothing
	     * (§3.4.4; dkimpy's correct_empty_body) */
	    {"", ""},
	    {"\r\n", ""},
	    {"\r\n\r\n\r\n", ""},
	    {"  \r\n\t\r\n \t ", ""},
	    /* no final CRLF: added, and its trailing WSP goes as on any line */
	    {"abc", "abc\r\n"},
	    {"abc  \t", "abc\r\n"},
	    {"a\r\nlast line   ", "a\r\nlast line\r\n"},
	    /* runs and line ends */
	    {"a  \t b\t\r\n", "a b\r\n"},
	    {"\t lead\r\n", " lead\r\n"},
	    /* empty lines inside stay, trailing ones go */
	    {"a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n"},
	    {"\r\n\r\na", "\r\n\r\na\r\n"},
	    {" \r\n x", "\r\n x\r\n"}, /* a WSP-only line is an empty line */
	    {"a\r\n \r\n\t\r\nb\r\n  \r\n", "a\r\n\r\n\r\nb\r\n"},
	    /* 8-bit bytes untouched */
	    {"caf\xc3\xa9  \r\n\xff\xfe\r\n", "caf\xc3\xa9\r\n\xff\xfe\r\n"},
	    /* only CRLF ends a line: a bare LF or CR is an ordinary byte */
	    {"a\nb \n", "a\nb \n\r\n"},
	    {"a \r \r\n", "a \r\r\n"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;
		char *got = canon_b(cases[i].in, strlen(cases[i].in), &n);
		if (n != strlen(cases[i].out) || memcmp(got, cases[i].out, n) != 0)
			fail_msg("case %zu: got '%.*s' want '%s'", i, (int)n, got, cases[i].out);
		size_t n2;
		char *again = canon_b(got, n, &n2);
		assert_int_equal(n2, n);
		assert_memory_equal(again, got, n);
		free(again);
		free(got);
	}

	/* a long run of empty lines before text (streamed in pieces) */
	struct buf in;
	buf_init(&in, 0);
	for (int i = 0; i < 5000; i++)
		buf_puts(&in, "   \r\n");
	buf_puts(&in, "x");
	size_t n;
	char *got = canon_b(in.data, in.len, &n);
	assert_int_equal(n, 5000 * 2 + 3);
	assert_memory_equal(got + n - 3, "x\r\n", 3);
	free(got);
	buf_free(&in);

	struct buf b;
	buf_init(&b, 4);
	assert_int_equal(dkim_canon_body_relaxed((const uint8_t *)"abcdef\r\n", 8, &b), -1);
	buf_free(&b);
}

/* ---- what is signed ------------------------------------------------------ */

/* The RFC 6376 §3.4.5 example with a From: the exact data the RSA signer
 * gets, the 32-byte hash of the same data the Ed25519 signer gets, and the
 * field around them. */
static void
test_signed_data_exact(void **state)
{
	static const char msg[] = "From: x@example.com\r\n"
	                          "A: X\r\n"
	                          "B : Y\t\r\n"
	                          "\tZ  \r\n"
	                          "\r\n"
	                          " C \r\n"
	                          "D \t E\r\n"
	                          "\r\n"
	                          "\r\n";
	static const char *const hdrs[] = {"A", "B", NULL};
	struct dkim_params p = params(DKIM_RSA_SHA256, "sel");
	struct capture c = {.siglen = 256};
	struct err e = {0};
	char *h = NULL, *bh = bh_of(" C\r\nD E\r\n", 9);
	char *want =
	    xasprintf("from:x@example.com\r\n"
	              "a:X\r\n"
	              "b:Y Z\r\n"
	              "dkim-signature:v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; "
	              "s=sel; t=1700000000; h=from:from:a:b; bh=%s; b=",
	              bh);

	p.headers = hdrs;
	buf_init(&c.data, 0);
	assert_int_equal(dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e),
	                 0);
	assert_int_equal(c.calls, 1);
	assert_string_equal(c.data.data, want);
	check_folding(h);
	check_signed_is_output(&c.data, h);

	/* the field says what was signed, and b= carries the signature */
	uint8_t fake[256];
	for (int i = 0; i < 256; i++)
		fake[i] = (uint8_t)i;
	char *b64 = base64_encode(fake, sizeof(fake));
	char *flat = unfold(h);
	char *wantf = xasprintf("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
	                        "d=example.com; s=sel; t=1700000000; h=from:from:a:b; bh=%s; b=%s",
	                        bh, b64);
	assert_string_equal(flat, wantf);
	free(flat);
	free(wantf);
	free(b64);
	free(h);

	/* Ed25519: the signer gets SHA-256 of the same data (a= differs) */
	char *ed_data = xasprintf("from:x@example.com\r\n"
	                          "a:X\r\n"
	                          "b:Y Z\r\n"
	                          "dkim-signature:v=1; a=ed25519-sha256; c=relaxed/relaxed; "
	                          "d=example.com; s=sel; t=1700000000; h=from:from:a:b; bh=%s; b=",
	                          bh);
	uint8_t md[32];
	sha256(ed_data, strlen(ed_data), md);
	p.alg = DKIM_ED25519_SHA256;
	c.siglen = 64;
	assert_int_equal(dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e),
	                 0);
	assert_int_equal(c.data.len, 32);
	assert_memory_equal(c.data.data, md, 32);
	assert_non_null(strstr(h, "a=ed25519-sha256;"));
	check_folding(h);
	free(h);
	free(ed_data);
	free(want);
	free(bh);
	buf_free(&c.data);
}

/* Several instances: h= names each, and the data holds them bottom-up;
 * From is over-signed; fields not in the list and absent ones are not. */
static void
test_bottom_up_and_oversign(void **state)
{
	static const char msg[] = "Received: from a by b\r\n"
	                          "To: first@x\r\n"
	                          "From: a@x\r\n"
	                          "Subject: s\r\n"
	                          "to: second@x\r\n"
	                          "X-Other: not signed\r\n"
	                          "TO:  third@x \r\n"
	                          "\r\n"
	                          "body\r\n";
	struct dkim_params p = params(DKIM_RSA_SHA256, "sel");
	struct capture c = {.siglen = 256};
	struct err e = {0};
	char *h = NULL;

	buf_init(&c.data, 0);
	assert_int_equal(dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e),
	                 0);
	assert_true(starts_with(c.data.data, "from:a@x\r\nto:third@x\r\nto:second@x\r\n"
	                                     "to:first@x\r\nsubject:s\r\ndkim-signature:"));
	assert_non_null(strstr(c.data.data, " h=from:from:to:to:to:subject; bh="));
	assert_null(strstr(c.data.data, "received"));
	assert_null(strstr(c.data.data, "x-other"));
	assert_null(strstr(c.data.data, "date"));
	free(h);

	/* a caller's list: duplicates dropped, From added and over-signed */
	static const char *const mine[] = {"Subject", "X-Other", "subject", NULL};
	p.headers = mine;
	assert_int_equal(dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e),
	                 0);
	assert_true(starts_with(c.data.data, "from:a@x\r\nsubject:s\r\nx-other:not signed\r\n"
	                                     "dkim-signature:"));
	assert_non_null(strstr(c.data.data, " h=from:from:subject:x-other; bh="));
	free(h);
	buf_free(&c.data);
}

/* The body hash: empty body, no body at all, no final CRLF. */
static void
test_body_hash_cases(void **state)
{
	static const struct {
		const char *msg, *canon_body;
	} cases[] = {
	    {"From: a@x\r\n\r\n", ""},
	    {"From: a@x\r\n", ""},
	    {"From: a@x", ""},
	    {"From: a@x\r\n\r\n\r\n\r\n", ""},
	    {"From: a@x\r\n\r\nabc", "abc\r\n"},
	    {"From: a@x\r\n\r\nabc   ", "abc\r\n"},
	    {"From: a@x\r\n\r\nabc\r\n", "abc\r\n"},
	    {"From: a@x\r\n\r\n\r\nabc\r\n\r\n", "\r\nabc\r\n"},
	};
	struct dkim_params p = params(DKIM_RSA_SHA256, "sel");
	struct capture c = {.siglen = 256};
	struct err e = {0};

	buf_init(&c.data, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *h = NULL, *bh = bh_of(cases[i].canon_body, strlen(cases[i].canon_body));
		char *tag = xasprintf(" bh=%s;", bh);

		assert_int_equal(dkim_sign((const uint8_t *)cases[i].msg, strlen(cases[i].msg), &p,
		                           capture_sign, &c, &h, &e),
		                 0);
		if (strstr(c.data.data, tag) == NULL)
			fail_msg("case %zu: want %s in %s", i, tag, c.data.data);
		free(tag);
		free(bh);
		free(h);
	}
	/* the well-known hash of the empty body */
	char *bh = bh_of("", 0);
	assert_string_equal(bh, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	free(bh);
	buf_free(&c.data);
}

/* Many fields to list and a long selector: still folded within 78. */
static void
test_folding_long(void **state)
{
	struct buf m;
	struct dkim_params p =
	    params(DKIM_RSA_SHA256, "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwxyz");
	struct capture c = {.siglen = 512};
	struct err e = {0};
	char *h = NULL;

	buf_init(&m, 0);
	buf_puts(&m, "From: a@x\r\n");
	for (int i = 0; i < 300; i++)
		buf_printf(&m, "To: r%d@x\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
		           i);
	buf_puts(&m, "\r\nbody\r\n");
	buf_init(&c.data, 0);
	p.domain = "a-rather-long-subdomain-name.of.an.example.domain.example.com";
	assert_int_equal(dkim_sign((const uint8_t *)m.data, m.len, &p, capture_sign, &c, &h, &e),
	                 0);
	check_folding(h);
	/* the signed field is the output, canonicalized: folds in h= become
	 * "to: to" there, as for a verifier */
	check_signed_is_output(&c.data, h);
	assert_non_null(strstr(c.data.data, "to: to:"));
	free(h);

	/* ... and a d= longer than a line stands alone on its line */
	char longd[DKIM_NAME_MAX + 1];
	for (int i = 0; i < DKIM_NAME_MAX; i++)
		longd[i] = (i % 50 == 49) ? '.' : 'd';
	longd[DKIM_NAME_MAX] = '\0';
	p.domain = longd;
	assert_int_equal(dkim_sign((const uint8_t *)m.data, m.len, &p, capture_sign, &c, &h, &e),
	                 0);
	char *line = xasprintf("\r\n d=%s;\r\n", longd);
	assert_non_null(strstr(h, line));
	free(line);
	free(h);
	buf_free(&m);
	buf_free(&c.data);
}

/* ---- refusals and caps --------------------------------------------------- */

static int
sign_str(const char *msg, size_t n, struct err *e)
{
	struct dkim_params p = params(DKIM_ED25519_SHA256, "sel");
	struct capture c = {.siglen = 64};
	char *h = (char *)1;
	int rc;

	buf_init(&c.data, 0);
	rc = dkim_sign((const uint8_t *)msg, n, &p, capture_sign, &c, &h, e);
	if (rc != 0)
		assert_null(h);
	else
		check_folding(h);
	free(h);
	buf_free(&c.data);
	return rc;
}

static void
test_refusals(void **state)
{
	static const struct {
		const char *msg, *err;
	} cases[] = {
	    {"", "Missing required header 'From'."},
	    {"To: a@x\r\n\r\nbody\r\n", "Missing required header 'From'."},
	    {"\r\nFrom: a@x\r\n", "Missing required header 'From'."}, /* From is body */
	    {"X-From: a@x\r\nFrom-X: b\r\n\r\n", "Missing required header 'From'."},
	    {" From: a@x\r\n\r\n", "DKIM: the header section starts with a continuation line."},
	    {"From: a@x\nTo: b@x\r\n\r\n", "DKIM: a bare CR or LF in the header section."},
	    {"From: a@x\r\nTo: b\rc\r\n\r\n", "DKIM: a bare CR or LF in the header section."},
	    {"From: a@x\r\nnot a field\r\n\r\n",
	     "DKIM: a header line that is not a field: 'not a field'."},
	    {"From: a@x\r\n: empty name\r\n\r\n",
	     "DKIM: a header line that is not a field: ': empty name'."},
	    {"From: a@x\r\nX Y: v\r\n\r\n", "DKIM: a header line that is not a field: 'X Y: v'."},
	};
	struct err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (sign_str(cases[i].msg, strlen(cases[i].msg), &e) != -1)
			fail_msg("case %zu signed", i);
		assert_string_equal(e.message, cases[i].err);
		assert_string_equal(e.code, "InvalidParameterValue");
		assert_int_equal(e.http, 400);
		assert_false(e.temporary);
	}
	/* the body is not parsed: bare LF, NUL and anything else are bytes */
	assert_int_equal(sign_str("From: a@x\r\n\r\na\nb\rc\0d \r\n", 23, &e), 0);
	/* WSP before a colon is a field (RFC 5322 obs-optional) */
	assert_int_equal(sign_str("From : a@x\r\n\r\n", 14, &e), 0);
}

static void
test_bad_params_and_signer(void **state)
{
	static const char msg[] = "From: a@x\r\n\r\nhi\r\n";
	static const char *const bad_names[] = {"",     ".example.com",  "example.com.",
	                                        "a..b", "exa mple.com",  "a;b",
	                                        "a=b",  "caf\xc3\xa9.fr"};
	struct dkim_params p = params(DKIM_RSA_SHA256, "sel");
	struct capture c = {.siglen = 256};
	struct err e = {0};
	char *h = NULL;

	buf_init(&c.data, 0);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		p.domain = bad_names[i];
		assert_int_equal(
		    dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e), -1);
		assert_string_equal(e.code, "InternalFailure");
		p.domain = "example.com";
		p.selector = bad_names[i];
		assert_int_equal(
		    dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e), -1);
		p.selector = "sel";
	}
	p.domain = NULL;
	assert_int_equal(dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e),
	                 -1);
	p.domain = "example.com";
	static const char *const bad_list[] = {"Subject", "X:Y", NULL};
	p.headers = bad_list;
	assert_int_equal(dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e),
	                 -1);
	p.headers = NULL;
	p.alg = (enum dkim_alg)7;
	assert_int_equal(dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e),
	                 -1);
	p.alg = DKIM_RSA_SHA256;
	assert_int_equal(c.calls, 0); /* nothing reached the signer */

	/* the signer's error is the caller's, temporary stays temporary */
	assert_int_equal(
	    dkim_sign((const uint8_t *)msg, strlen(msg), &p, failing_sign, NULL, &h, &e), -1);
	assert_null(h);
	assert_string_equal(e.message, "vault is sealed");
	assert_true(e.temporary);

	/* a signer returning nothing, too much, or a wrong Ed25519 length */
	c.siglen = 0;
	assert_int_equal(dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e),
	                 -1);
	c.siglen = DKIM_SIG_MAX + 1;
	assert_int_equal(dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e),
	                 -1);
	c.siglen = DKIM_SIG_MAX;
	assert_int_equal(dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e),
	                 0);
	free(h);
	p.alg = DKIM_ED25519_SHA256;
	c.siglen = 63;
	assert_int_equal(dkim_sign((const uint8_t *)msg, strlen(msg), &p, capture_sign, &c, &h, &e),
	                 -1);
	assert_string_equal(e.message, "DKIM: the signer returned a bad signature.");
	assert_null(h);
	buf_free(&c.data);
}

/* n fields: a From and n-1 short ones. */
static char *
msg_with_fields(size_t n, size_t *len_out)
{
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, "From: a@x\r\n");
	for (size_t i = 1; i < n; i++)
		buf_puts(&b, "To: b@y\r\n");
	buf_puts(&b, "\r\nbody\r\n");
	return buf_steal(&b, len_out);
}

/* A header section of exactly n bytes (its fields, CRLFs included). */
static char *
msg_with_header_bytes(size_t n, size_t *len_out)
{
	struct buf b;
	static const char from[] = "From: a@x\r\n", pre[] = "X-Big: ";

	buf_init(&b, 0);
	buf_puts(&b, from);
	buf_puts(&b, pre);
	while (b.len < n - 2)
		buf_putc(&b, 'a');
	buf_puts(&b, "\r\n");
	assert_int_equal(b.len, n);
	buf_puts(&b, "\r\nbody\r\n");
	return buf_steal(&b, len_out);
}

static void
test_caps(void **state)
{
	struct err e;
	size_t n;
	char *m;

	m = msg_with_fields(DKIM_MAX_FIELDS - 1, &n);
	assert_int_equal(sign_str(m, n, &e), 0);
	free(m);
	m = msg_with_fields(DKIM_MAX_FIELDS, &n);
	assert_int_equal(sign_str(m, n, &e), 0);
	free(m);
	m = msg_with_fields(DKIM_MAX_FIELDS + 1, &n);
	assert_int_equal(sign_str(m, n, &e), -1);
	assert_string_equal(e.message, "DKIM: more than 1000 header fields.");
	free(m);

	m = msg_with_header_bytes(DKIM_HEADER_MAX - 1, &n);
	assert_int_equal(sign_str(m, n, &e), 0);
	free(m);
	m = msg_with_header_bytes(DKIM_HEADER_MAX, &n);
	assert_int_equal(sign_str(m, n, &e), 0);
	free(m);
	m = msg_with_header_bytes(DKIM_HEADER_MAX + 1, &n);
	assert_int_equal(sign_str(m, n, &e), -1);
	assert_string_equal(e.message, "DKIM: header section over 1048576 bytes.");
	assert_string_equal(e.code, "InvalidParameterValue");
	free(m);
	/* a last field without CRLF (no body) counts the same */
	m = msg_with_header_bytes(DKIM_HEADER_MAX + 3, &n);
	assert_int_equal(sign_str(m, DKIM_HEADER_MAX + 1, &e), -1);
	assert_string_equal(e.message, "DKIM: header section over 1048576 bytes.");
	assert_int_equal(sign_str(m, DKIM_HEADER_MAX, &e), 0);
	free(m);
}

/* ---- real keys: golden files and dkimpy ---------------------------------- */

static const char *const golden_msgs[] = {
    "simple",   "multipart",  "long_headers", "repeated_to",   "empty_body",
    "eightbit", "whitespace", "headers_only", "no_final_crlf",
};
#define N_GOLDEN (sizeof(golden_msgs) / sizeof(golden_msgs[0]))

struct keys {
	EVP_PKEY *rsa, *ed;
};

static int
keys_setup(void **state)
{
	struct keys *k = xcalloc(1, sizeof(*k));

	k->rsa = load_key(DATA "rsa2048.pem");
	k->ed = load_key(DATA "ed25519.pem");
	*state = k;
	return 0;
}

static int
keys_teardown(void **state)
{
	struct keys *k = *state;

	EVP_PKEY_free(k->rsa);
	EVP_PKEY_free(k->ed);
	free(k);
	return 0;
}

static char *
sign_with(const char *msg, size_t n, const struct keys *k, enum dkim_alg alg)
{
	struct dkim_params p = params(alg, alg == DKIM_RSA_SHA256 ? "sel1" : "sel1ed");
	struct err e = {0};
	char *h = NULL;

	if (dkim_sign((const uint8_t *)msg, n, &p, key_sign,
	              alg == DKIM_RSA_SHA256 ? k->rsa : k->ed, &h, &e) != 0)
		fail_msg("dkim_sign: %s", e.message);
	check_folding(h);
	return h;
}

static void
test_golden(void **state)
{
	const struct keys *k = *state;
	bool write = getenv("DKIM_WRITE_GOLDEN") != NULL;

	for (size_t i = 0; i < N_GOLDEN; i++) {
		size_t n;
		char *msg = load_msg(golden_msgs[i], &n);

		for (int a = 0; a < 2; a++) {
			enum dkim_alg alg = a ? DKIM_ED25519_SHA256 : DKIM_RSA_SHA256;
			char path[256];
			char *h = sign_with(msg, n, k, alg);
			char *again = sign_with(msg, n, k, alg);

			assert_string_equal(h, again); /* deterministic */
			snprintf(path, sizeof(path), DATA "golden/%s.%s", golden_msgs[i],
			         a ? "ed25519" : "rsa");
			if (write) {
				write_all(path, h, strlen(h));
			} else {
				char *want = read_all(path, NULL);
				if (want == NULL)
					fail_msg("missing %s (DKIM_WRITE_GOLDEN=1 makes it)", path);
				if (strcmp(h, want) != 0)
					fail_msg("%s differs:\n%s\nwant\n%s", path, h, want);
				free(want);
			}
			free(again);
			free(h);
		}
		free(msg);
	}
}

/* A message without a final CRLF is signed as the one with it, which is
 * what SMTP delivers. */
static void
test_no_final_crlf_same(void **state)
{
	const struct keys *k = *state;
	size_t n;
	char *msg = load_msg("no_final_crlf", &n);
	char *with = xmalloc(n + 2);

	assert_true(n > 0 && msg[n - 1] != '\n');
	memcpy(with, msg, n);
	memcpy(with + n, "\r\n", 2);
	for (int a = 0; a < 2; a++) {
		enum dkim_alg alg = a ? DKIM_ED25519_SHA256 : DKIM_RSA_SHA256;
		char *h1 = sign_with(msg, n, k, alg), *h2 = sign_with(with, n + 2, k, alg);
		assert_string_equal(h1, h2);
		free(h1);
		free(h2);
	}
	free(with);
	free(msg);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static char *
pub_record(EVP_PKEY *k)
{
	char *p64, *rec;

	if (EVP_PKEY_is_a(k, "ED25519")) {
		uint8_t raw[32];
		size_t n = sizeof(raw);
		assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &n), 1);
		p64 = base64_encode(raw, n);
		rec = xasprintf("v=DKIM1; k=ed25519; p=%s", p64);
	} else {
		unsigned char *der = NULL;
		int n = i2d_PUBKEY(k, &der);
		assert_true(n > 0);
		p64 = base64_encode(der, (size_t)n);
		OPENSSL_free(der);
		rec = xasprintf("v=DKIM1; k=rsa; p=%s", p64);
	}
	free(p64);
	return rec;
}

static void
put_msg(const char *dir, const char *name, const char *a, const char *b, const char *msg, size_t n,
        const char *tail)
{
	char *path = xasprintf("%s/%s.eml", dir, name);
	struct buf m;

	buf_init(&m, 0);
	buf_puts(&m, a);
	buf_puts(&m, b);
	buf_append(&m, msg, n);
	buf_puts(&m, tail);
	write_all(path, m.data, m.len);
	buf_free(&m);
	free(path);
}

/* Every golden message, signed with each algorithm and with both, must
 * verify under dkimpy; altering a signed header, the body, or adding a
 * From must make it fail. */
static void
test_dkimpy_verifies(void **state)
{
	const struct keys *k = *state;
	char dir[] = "/tmp/sesame-dkim-XXXXXX";
	int good = 0, bad = 0;

	assert_non_null(mkdtemp(dir));
	char *rr = pub_record(k->rsa), *re = pub_record(k->ed);
	char *dns = xasprintf("sel1._domainkey.example.com. %s\n"
	                      "sel1ed._domainkey.example.com. %s\n",
	                      rr, re);
	char *dnspath = xasprintf("%s/dns.txt", dir);
	write_all(dnspath, dns, strlen(dns));
	free(dnspath);
	free(dns);
	free(rr);
	free(re);

	for (size_t i = 0; i < N_GOLDEN; i++) {
		const char *nm = golden_msgs[i];
		size_t n;
		char *msg = load_msg(nm, &n);
		/* what the transport sends always ends in CRLF */
		const char *end = n >= 2 && memcmp(msg + n - 2, "\r\n", 2) == 0 ? "" : "\r\n";
		char *hs[2], name[128];

		hs[0] = sign_with(msg, n, k, DKIM_RSA_SHA256);
		hs[1] = sign_with(msg, n, k, DKIM_ED25519_SHA256);
		for (int a = 0; a < 2; a++) {
			const char *an = a ? "ed25519" : "rsa";

			snprintf(name, sizeof(name), "good-%s-%s", nm, an);
			put_msg(dir, name, hs[a], "", msg, n, end);
			good++;

			/* a signed header altered */
			char *sub = strstr(msg, "\r\nSubject:");
			assert_non_null(sub);
			size_t at = (size_t)(sub - msg) + 10;
			char *alt = xmalloc(n + 1);
			memcpy(alt, msg, at);
			alt[at] = 'X';
			memcpy(alt + at + 1, msg + at, n - at);
			snprintf(name, sizeof(name), "bad-%s-%s-subject", nm, an);
			put_msg(dir, name, hs[a], "", alt, n + 1, end);
			free(alt);
			bad++;

			/* the body altered (headers_only gets a body) */
			snprintf(name, sizeof(name), "bad-%s-%s-body", nm, an);
			bool has_body = strstr(msg, "\r\n\r\n") != NULL;
			char *tail = xasprintf("%s%stampered\r\n", end, has_body ? "" : "\r\n");
			put_msg(dir, name, hs[a], "", msg, n, tail);
			free(tail);
			bad++;

			/* a second From added above: over-signing catches it
			 * (dkimpy would anyway: it adds a "from" of its own when
			 * verifying, so the script checks h= for over-signing) */
			snprintf(name, sizeof(name), "bad-%s-%s-from", nm, an);
			put_msg(dir, name, hs[a], "From: mallory@example.org\r\n", msg, n, end);
			bad++;
		}
		snprintf(name, sizeof(name), "good-%s-both", nm);
		put_msg(dir, name, hs[1], hs[0], msg, n, end);
		good++;
		free(hs[0]);
		free(hs[1]);
		free(msg);
	}

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char g[16], b[16];
		snprintf(g, sizeof(g), "%d", good);
		snprintf(b, sizeof(b), "%d", bad);
		execl("/usr/bin/python3", "python3", "dkim_verify.py", dir, g, b, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_canon_header_table),
	    cmocka_unit_test(test_canon_body_table),
	    cmocka_unit_test(test_signed_data_exact),
	    cmocka_unit_test(test_bottom_up_and_oversign),
	    cmocka_unit_test(test_body_hash_cases),
	    cmocka_unit_test(test_folding_long),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_bad_params_and_signer),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_golden),
	    cmocka_unit_test(test_no_final_crlf_same),
	    cmocka_unit_test(test_dkimpy_verifies),
	};
	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}

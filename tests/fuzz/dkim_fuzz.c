/*
 * dkim_fuzz.c — libFuzzer target for the DKIM signer (src/mail/dkim.c).
 *
 * The first byte picks the algorithm and the list of fields to sign; the
 * rest is the message, signed with a dummy signer (no key: the signer only
 * checks what it is handed). Checks what dkim.h promises:
 *   - dkim_sign either fails with an error code and no field, or returns a
 *     field that starts "DKIM-Signature: ", ends in CRLF, has CRLF only as
 *     line ends, continuation lines starting with SP and no line over
 *     DKIM_FOLD columns; the Ed25519 signer gets exactly 32 bytes;
 *   - a message without a final CRLF signs exactly as with one added;
 *   - both canonicalizers are idempotent: canon(canon(x)) == canon(x).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/dkim.h"
#include "util/buf.h"
#include "util/xalloc.h"

static void
check(int cond)
{
	if (!cond)
		abort();
}

static int
dummy_sign(void *arg, const uint8_t *data, size_t len, uint8_t **sig_out, size_t *sig_len,
           struct err *e)
{
	const struct dkim_params *p = arg;
	size_t n = p->alg == DKIM_ED25519_SHA256 ? 64 : 256;

	if (p->alg == DKIM_ED25519_SHA256)
		check(len == 32);
	else
		check(len > 0 && memmem(data, len, "dkim-signature:v=1; ", 20) != NULL);
	*sig_out = xmalloc(n);
	memset(*sig_out, len & 0xff, n);
	*sig_len = n;
	return 0;
}

static void
check_field(const char *h)
{
	size_t n = strlen(h), col = 0;

	check(strncmp(h, "DKIM-Signature: v=1; ", 21) == 0);
	check(n >= 2 && h[n - 2] == '\r' && h[n - 1] == '\n');
	for (size_t i = 0; i < n; i++) {
		if (h[i] == '\r') {
			check(h[i + 1] == '\n');
			check(col <= DKIM_FOLD);
			check(i + 2 == n || h[i + 2] == ' ');
			col = 0;
			i++;
			continue;
		}
		check(h[i] != '\n');
		col++;
	}
}

static int
sign(const uint8_t *m, size_t n, struct dkim_params *p, char **h)
{
	struct err e = {0};
	int rc = dkim_sign(m, n, p, dummy_sign, p, h, &e);

	if (rc != 0)
		check(*h == NULL && e.code[0] != '\0');
	else
		check_field(*h);
	return rc;
}

static void
check_idempotent(const uint8_t *d, size_t n, bool header)
{
	struct buf a, b;
	int ra, rb;

	buf_init(&a, 0);
	buf_init(&b, 0);
	ra = header ? dkim_canon_header_relaxed(d, n, &a) : dkim_canon_body_relaxed(d, n, &a);
	if (ra == 0) {
		rb = header ? dkim_canon_header_relaxed((const uint8_t *)a.data, a.len, &b)
		            : dkim_canon_body_relaxed((const uint8_t *)a.data, a.len, &b);
		check(rb == 0 && a.len == b.len &&
		      (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	} else {
		check(header && memchr(d, ':', n) == NULL);
	}
	buf_free(&a);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const mine[] = {"Subject", "X-Custom", "received", "subject", NULL};
	struct dkim_params p = {
	    .domain = "example.com", .selector = "sel", .timestamp = 1700000000};
	char *h1 = NULL, *h2 = NULL;
	uint8_t *with;

	if (size == 0)
		return 0;
	p.alg = (data[0] & 1) ? DKIM_ED25519_SHA256 : DKIM_RSA_SHA256;
	p.headers = (data[0] & 2) ? mine : NULL;
	data++, size--;

	int r1 = sign(data, size, &p, &h1);
	if (size < 2 || memcmp(data + size - 2, "\r\n", 2) != 0) {
		with = xmalloc(size + 2);
		if (size > 0)
			memcpy(with, data, size);
		memcpy(with + size, "\r\n", 2);
		int r2 = sign(with, size + 2, &p, &h2);
		check(r1 == r2 && (r1 != 0 || strcmp(h1, h2) == 0));
		free(with);
	}
	free(h1);
	free(h2);

	check_idempotent(data, size, true);
	check_idempotent(data, size, false);
	return 0;
}

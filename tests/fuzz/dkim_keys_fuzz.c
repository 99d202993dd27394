/*
 * dkim_keys_fuzz.c — libFuzzer target for BYODKIM's key parser
 * (dkim_keys_parse in src/auth/dkim_keys.c, TESTABLE), what
 * DomainSigningPrivateKey reaches before anything is sealed or stored.
 *
 * The input is the member's text. Checks what dkim_keys.h promises: the
 * parser either refuses with BadRequestException (400) naming the member,
 * or returns an RSA key of
 * DKIM_IMPORT_MIN_BITS..DKIM_IMPORT_MAX_BITS bits that signs.
 */
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim_keys.h"
#include "util/err.h"

EVP_PKEY *dkim_keys_parse(const char *text, size_t n, struct err *e); /* TESTABLE */

static void
check(int cond)
{
	if (!cond)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = {0};
	EVP_PKEY *k = dkim_keys_parse((const char *)data, size, &e);

	if (k == NULL) {
		check(strcmp(e.code, "BadRequestException") == 0 && e.http == 400);
		check(strstr(e.message, "DomainSigningPrivateKey") != NULL);
		return 0;
	}
	check(size <= DKIM_IMPORT_MAX);
	check(EVP_PKEY_is_a(k, "RSA") == 1);
	int bits = EVP_PKEY_get_bits(k);
	check(bits >= DKIM_IMPORT_MIN_BITS && bits <= DKIM_IMPORT_MAX_BITS);
	/* what the signer will do with it */
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t slen = 0;
	check(md != NULL && EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, k, NULL) == 1 &&
	      EVP_DigestSign(md, NULL, &slen, (const uint8_t *)"x", 1) == 1 && slen > 0);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return 0;
}

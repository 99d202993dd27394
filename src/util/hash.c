/*
 * hash.c — SHA-256 and HMAC-SHA256 on a pre-fetched EVP_MD (see hash.h).
 *
 * Owns: the process-wide fetched EVP_MD for SHA-256 (created once, never
 * freed: it lives as long as the process) and one EVP_MD_CTX per thread
 * (freed by a pthread key destructor when the thread exits).
 *
 * HMAC is built here from the digest (RFC 2104: H(K^opad || H(K^ipad || m)))
 * instead of EVP_MAC, because re-keying an EVP_MAC_CTX goes through the
 * provider's parameter machinery while a digest reset is a few stores.
 * Aborts only if OpenSSL cannot provide SHA-256 at all (a broken install is
 * our invariant, not input).
 */
#include "util/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"

#define BLOCK 64

static pthread_once_t once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256;
static pthread_key_t ctx_key;
static __thread EVP_MD_CTX *tls_ctx;

static void
die(const char *what)
{
	fprintf(stderr, "sesame: hash: %s failed\n", what);
	abort();
}

static void
ctx_destroy(void *p)
{
	EVP_MD_CTX_free(p);
}

static void
init_once(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (md_sha256 == NULL)
		die("EVP_MD_fetch(SHA256)");
	if (pthread_key_create(&ctx_key, ctx_destroy) != 0)
		die("pthread_key_create");
}

static EVP_MD_CTX *
thread_ctx(void)
{
	if (tls_ctx != NULL)
		return tls_ctx;
	pthread_once(&once, init_once);
	tls_ctx = EVP_MD_CTX_new();
	if (tls_ctx == NULL)
		die("EVP_MD_CTX_new");
	/* Registered so the context is freed when this thread exits. */
	pthread_setspecific(ctx_key, tls_ctx);
	return tls_ctx;
}

static void
digest2(EVP_MD_CTX *c, const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	unsigned int olen = 0;

	if (EVP_DigestInit_ex2(c, md_sha256, NULL) != 1 ||
	    EVP_DigestUpdate(c, a, alen) != 1 ||
	    (blen != 0 && EVP_DigestUpdate(c, b, blen) != 1) ||
	    EVP_DigestFinal_ex(c, out, &olen) != 1 || olen != 32)
		die("SHA-256 digest");
}

void
sha256(const void *p, size_t n, uint8_t out[32])
{
	digest2(thread_ctx(), p, n, NULL, 0, out);
}

void
sha256_hex(const void *p, size_t n, char hex_out[65])
{
	uint8_t d[32];

	sha256(p, n, d);
	hex_encode(d, sizeof(d), hex_out);
}

void
hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32])
{
	EVP_MD_CTX *c = thread_ctx();
	uint8_t k[BLOCK], pad[BLOCK], inner[32];

	memset(k, 0, sizeof(k));
	if (klen > BLOCK)
		digest2(c, key, klen, NULL, 0, k);
	else if (klen != 0)
		memcpy(k, key, klen);

	for (size_t i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	digest2(c, pad, BLOCK, msg, mlen, inner);
	for (size_t i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	digest2(c, pad, BLOCK, inner, sizeof(inner), out);

	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
}

/*
 * dkim_keys.c — Easy-DKIM selectors and RSA keys (dkim_keys.h), kept in
 * src/auth/ with the other secrets' code.
 *
 * Owns every use of a DKIM private key: generation (EVP_PKEY_Q_keygen),
 * PEM export, sealing through the vault, and the only unsealing, which
 * happens for the short time needed to derive public keys or sign. Plaintext
 * PEM is wiped (OPENSSL_cleanse) before it is freed; nothing here logs key
 * material.
 *
 * Sealed layout: the DKIM_KEYS_N PKCS#8 PEM blocks in selector order,
 * separated by an empty line, sealed as one vault blob. Reading walks the
 * blocks with PEM_read_bio_PrivateKey, so the separator is cosmetic.
 */
#include "auth/dkim_keys.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "auth/vault.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/xalloc.h"

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

void
dkim_keys_tokens(char out[DKIM_KEYS_N][DKIM_TOKEN_LEN + 1])
{
	for (int i = 0; i < DKIM_KEYS_N; i++) {
		uint8_t r[DKIM_TOKEN_LEN * 5 / 8];
		int bit = 0;

		random_bytes(r, sizeof(r));
		for (int c = 0; c < DKIM_TOKEN_LEN; c++, bit += 5) {
			/* 5 bits starting at `bit`, big-endian across bytes */
			unsigned v = (unsigned)r[bit / 8] << 8;
			if (bit / 8 + 1 < (int)sizeof(r))
				v |= r[bit / 8 + 1];
			out[i][c] = b32[(v >> (11 - bit % 8)) & 31];
		}
		out[i][DKIM_TOKEN_LEN] = '\0';
	}
}

bool
dkim_keys_token_ok(const char *s)
{
	if (s == NULL || strlen(s) != DKIM_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < DKIM_TOKEN_LEN; i++)
		if (strchr(b32, s[i]) == NULL || s[i] == '\0')
			return false;
	return true;
}

static int
crypto_fail(struct err *e, const char *what)
{
	return err_set(e, 500, "InternalFailure", "DKIM key %s failed.", what);
}

int
dkim_keys_generate(const struct vault *v, uint8_t **sealed_out, size_t *len_out, struct err *e)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	EVP_PKEY *k = NULL;
	char *pem = NULL;
	long pem_len;
	int rc = -1;

	*sealed_out = NULL;
	*len_out = 0;
	if (bio == NULL)
		return crypto_fail(e, "generation");
	for (int i = 0; i < DKIM_KEYS_N; i++) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)DKIM_KEYS_BITS);
		if (k == NULL || (i > 0 && BIO_write(bio, "\n", 1) != 1) ||
		    PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1) {
			crypto_fail(e, "generation");
			goto out;
		}
		EVP_PKEY_free(k);
		k = NULL;
	}
	pem_len = BIO_get_mem_data(bio, &pem);
	if (pem_len <= 0) {
		crypto_fail(e, "export");
		goto out;
	}
	rc = vault_seal(v, pem, (size_t)pem_len, sealed_out, len_out, e);
out:
	EVP_PKEY_free(k);
	BIO_free(bio); /* secure memory BIO: cleansed on free */
	return rc;
}

/* Unseal and parse every key; keys[i] owned by the caller (EVP_PKEY_free). */
static int
load(const struct vault *v, const uint8_t *sealed, size_t n, EVP_PKEY *keys[DKIM_KEYS_N],
     struct err *e)
{
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	BIO *bio;
	int i, rc = -1;

	for (i = 0; i < DKIM_KEYS_N; i++)
		keys[i] = NULL;
	if (sealed == NULL || n == 0)
		return err_set(e, 500, "InternalFailure", "The identity has no DKIM keys.");
	if (vault_unseal(v, sealed, n, &plain, &plain_len, e) != 0)
		return -1;
	if (plain_len > INT32_MAX || (bio = BIO_new_mem_buf(plain, (int)plain_len)) == NULL) {
		crypto_fail(e, "loading");
		goto out;
	}
	for (i = 0; i < DKIM_KEYS_N; i++) {
		keys[i] = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		if (keys[i] == NULL || EVP_PKEY_is_a(keys[i], "RSA") != 1)
			break;
	}
	BIO_free(bio);
	if (i < DKIM_KEYS_N) {
		for (i = 0; i < DKIM_KEYS_N; i++) {
			EVP_PKEY_free(keys[i]);
			keys[i] = NULL;
		}
		crypto_fail(e, "loading");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	return rc;
}

static char *
public_b64(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(k, &der);
	char *out;

	if (len <= 0)
		return NULL;
	out = base64_encode(der, (size_t)len);
	OPENSSL_free(der);
	return out;
}

int
dkim_keys_public(const struct vault *v, const uint8_t *sealed, size_t n,
		 char *out[DKIM_KEYS_N], struct err *e)
{
	EVP_PKEY *keys[DKIM_KEYS_N];
	int i, rc = 0;

	for (i = 0; i < DKIM_KEYS_N; i++)
		out[i] = NULL;
	if (load(v, sealed, n, keys, e) != 0)
		return -1;
	for (i = 0; i < DKIM_KEYS_N; i++)
		if ((out[i] = public_b64(keys[i])) == NULL)
			rc = -1;
	for (i = 0; i < DKIM_KEYS_N; i++) {
		EVP_PKEY_free(keys[i]);
		if (rc != 0) {
			free(out[i]);
			out[i] = NULL;
		}
	}
	return rc == 0 ? 0 : crypto_fail(e, "export");
}

char *
dkim_keys_record(const char *pub)
{
	return xasprintf("v=DKIM1; k=rsa; p=%s", pub);
}

static bool
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Compare a tag value with `want`, ignoring folding whitespace in the value. */
static bool
value_equals(const char *p, size_t n, const char *want)
{
	size_t w = 0, wn = strlen(want);

	for (size_t i = 0; i < n; i++) {
		if (is_fws(p[i]))
			continue;
		if (w == wn || p[i] != want[w])
			return false;
		w++;
	}
	return w == wn;
}

bool
dkim_keys_record_matches(const char *txt, size_t n, const char *pub)
{
	size_t i = 0;
	int tag_no = 0;
	bool p_ok = false;

	if (txt == NULL || pub == NULL || pub[0] == '\0')
		return false;
	while (i < n) {
		size_t ts, te, vs, ve;

		while (i < n && is_fws(txt[i]))
			i++;
		if (i == n)
			break;
		ts = i;
		while (i < n && txt[i] != '=' && txt[i] != ';' && !is_fws(txt[i]))
			i++;
		te = i;
		while (i < n && is_fws(txt[i]))
			i++;
		if (i == n || txt[i] != '=' || te == ts)
			return false;
		i++;
		while (i < n && is_fws(txt[i]))
			i++;
		vs = i;
		while (i < n && txt[i] != ';')
			i++;
		ve = i;
		while (ve > vs && is_fws(txt[ve - 1]))
			ve--;
		if (i < n)
			i++; /* the ';' */
		size_t tl = te - ts, vl = ve - vs;
		const char *t = txt + ts, *val = txt + vs;
		if (tl == 1 && t[0] == 'v') {
			if (tag_no != 0 || vl != 5 || memcmp(val, "DKIM1", 5) != 0)
				return false;
		} else if (tl == 1 && t[0] == 'k') {
			if (vl != 3 || memcmp(val, "rsa", 3) != 0)
				return false;
		} else if (tl == 1 && t[0] == 'p') {
			if (p_ok || !value_equals(val, vl, pub))
				return false;
			p_ok = true;
		}
		tag_no++;
	}
	return p_ok;
}

int
dkim_keys_sign(const struct vault *v, const uint8_t *sealed, size_t n, int index,
	       const void *data, size_t len, uint8_t **sig_out, size_t *sig_len, struct err *e)
{
	EVP_PKEY *keys[DKIM_KEYS_N];
	EVP_MD_CTX *md = NULL;
	uint8_t *sig = NULL;
	size_t slen = 0;
	int rc = -1;

	*sig_out = NULL;
	*sig_len = 0;
	if (index < 0 || index >= DKIM_KEYS_N)
		return err_set(e, 500, "InternalFailure", "DKIM selector index %d out of range.",
			       index);
	if (load(v, sealed, n, keys, e) != 0)
		return -1;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, keys[index], NULL) != 1 ||
	    EVP_DigestSign(md, NULL, &slen, data, len) != 1) {
		crypto_fail(e, "signing");
		goto out;
	}
	sig = xmalloc(slen);
	if (EVP_DigestSign(md, sig, &slen, data, len) != 1) {
		free(sig);
		crypto_fail(e, "signing");
		goto out;
	}
	*sig_out = sig;
	*sig_len = slen;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	for (int i = 0; i < DKIM_KEYS_N; i++)
		EVP_PKEY_free(keys[i]);
	return rc;
}

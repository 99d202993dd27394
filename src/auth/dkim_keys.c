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
 * Sealed layout: the DKIM_KEYS_N RSA PKCS#8 PEM blocks in selector order,
 * then (sets made since RFC 8463 support) one Ed25519 PKCS#8 block,
 * separated by an empty line, sealed as one vault blob. The number of
 * blocks (3 or 4) tells whether there is an Ed25519 key; reading walks the
 * blocks with the PEM reader, so the separator is cosmetic. A signature
 * decodes only the key it uses; the other blocks are skipped undecoded.
 * A BYODKIM set (dkim_keys_import) is one RSA block: the owner's own key,
 * parsed and checked here, then sealed like a generated one.
 */
#include "auth/dkim_keys.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/vault.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/hash.h"
#include "util/testable.h"
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

void
dkim_keys_ed25519_selector(const char *token1, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s", token1, DKIM_ED25519_SUFFIX);
}

/* A parsed set: the RSA keys by selector and the Ed25519 key. */
struct keyset {
	EVP_PKEY *rsa[DKIM_KEYS_N];
	EVP_PKEY *ed;
	int nrsa;    /* RSA blocks: DKIM_KEYS_N, or 1 for a BYODKIM set */
	bool has_ed; /* the blob holds an Ed25519 block (decoded or not) */
};

#define WANT_RSA(i) (1u << (i))
#define WANT_ED (1u << DKIM_KEYS_N)
#define WANT_ALL (WANT_ED | (WANT_ED - 1))

static void
keyset_free(struct keyset *ks)
{
	for (int i = 0; i < DKIM_KEYS_N; i++)
		EVP_PKEY_free(ks->rsa[i]);
	EVP_PKEY_free(ks->ed);
	memset(ks, 0, sizeof(*ks));
}

/* Export a complete set (RSA keys, then the Ed25519 key; or the one
 * BYODKIM key, nrsa 1) and seal it. */
static int
seal_set(const struct vault *v, const struct keyset *ks, uint8_t **sealed_out, size_t *len_out,
	 struct err *e)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	int blocks = ks->nrsa == 1 ? 1 : DKIM_KEYS_N + 1;
	char *pem = NULL;
	long pem_len;
	int rc = -1;

	*sealed_out = NULL;
	*len_out = 0;
	if (bio == NULL)
		return crypto_fail(e, "export");
	for (int i = 0; i < blocks; i++) {
		EVP_PKEY *k = i < DKIM_KEYS_N ? ks->rsa[i] : ks->ed;
		if (k == NULL || (i > 0 && BIO_write(bio, "\n", 1) != 1) ||
		    PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1) {
			crypto_fail(e, "export");
			goto out;
		}
	}
	pem_len = BIO_get_mem_data(bio, &pem);
	if (pem_len <= 0) {
		crypto_fail(e, "export");
		goto out;
	}
	rc = vault_seal(v, pem, (size_t)pem_len, sealed_out, len_out, e);
out:
	BIO_free(bio); /* secure memory BIO: cleansed on free */
	return rc;
}

int
dkim_keys_generate(const struct vault *v, uint8_t **sealed_out, size_t *len_out, struct err *e)
{
	struct keyset ks = {.nrsa = DKIM_KEYS_N};
	int rc;

	*sealed_out = NULL;
	*len_out = 0;
	for (int i = 0; i < DKIM_KEYS_N; i++)
		if ((ks.rsa[i] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)DKIM_KEYS_BITS)) ==
		    NULL) {
			keyset_free(&ks);
			return crypto_fail(e, "generation");
		}
	if ((ks.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL) {
		keyset_free(&ks);
		return crypto_fail(e, "generation");
	}
	rc = seal_set(v, &ks, sealed_out, len_out, e);
	keyset_free(&ks);
	return rc;
}

/* Skip one PEM block without decoding the key in it (the DER is wiped). */
static bool
skip_block(BIO *bio)
{
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long len = 0;
	bool ok = PEM_read_bio(bio, &name, &header, &der, &len) == 1 &&
		  strcmp(name, "PRIVATE KEY") == 0;

	OPENSSL_free(name);
	OPENSSL_free(header);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)len);
	return ok;
}

/* How many PEM blocks the plaintext holds (each opens with "-----BEGIN "). */
static int
count_blocks(const uint8_t *p, size_t n)
{
	static const char begin[] = "-----BEGIN ";
	const uint8_t *end = p + n;
	int count = 0;

	while (p < end) {
		const uint8_t *hit = memmem(p, (size_t)(end - p), begin, sizeof(begin) - 1);
		if (hit == NULL)
			break;
		count++;
		p = hit + sizeof(begin) - 1;
	}
	return count;
}

/*
 * Unseal the set and decode the keys named in `want` (WANT_RSA(i), WANT_ED);
 * the others are only checked to be PEM private-key blocks, which spares a
 * signature the cost of decoding the keys it does not use. The blob must be
 * one RSA block (BYODKIM) or DKIM_KEYS_N RSA blocks and at most one Ed25519
 * block; asking for a key the set does not have is not an error (its slot
 * stays NULL).
 * On success the caller owns ks (keyset_free).
 */
static int
load(const struct vault *v, const uint8_t *sealed, size_t n, unsigned want, struct keyset *ks,
     struct err *e)
{
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	BIO *bio = NULL;
	int blocks, i, rc = -1;

	memset(ks, 0, sizeof(*ks));
	if (sealed == NULL || n == 0)
		return err_set(e, 500, "InternalFailure", "The identity has no DKIM keys.");
	if (vault_unseal(v, sealed, n, &plain, &plain_len, e) != 0)
		return -1;
	blocks = count_blocks(plain, plain_len);
	if ((blocks != 1 && blocks != DKIM_KEYS_N && blocks != DKIM_KEYS_N + 1) ||
	    plain_len > INT32_MAX || (bio = BIO_new_mem_buf(plain, (int)plain_len)) == NULL)
		goto fail;
	ks->has_ed = blocks == DKIM_KEYS_N + 1;
	ks->nrsa = blocks == 1 ? 1 : DKIM_KEYS_N;
	for (i = 0; i < blocks; i++) {
		bool ed = i == DKIM_KEYS_N;
		unsigned bit = ed ? WANT_ED : WANT_RSA(i);
		EVP_PKEY *k;

		if (!(want & bit)) {
			if (!skip_block(bio))
				goto fail;
			continue;
		}
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		if (ed)
			ks->ed = k;
		else
			ks->rsa[i] = k;
		if (k == NULL || EVP_PKEY_is_a(k, ed ? "ED25519" : "RSA") != 1)
			goto fail;
	}
	rc = 0;
	goto out;
fail:
	keyset_free(ks);
	crypto_fail(e, "loading");
out:
	BIO_free(bio);
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	return rc;
}

int
dkim_keys_add_ed25519(const struct vault *v, const uint8_t *sealed, size_t n,
		      uint8_t **sealed_out, size_t *len_out, struct err *e)
{
	struct keyset ks;
	int rc;

	*sealed_out = NULL;
	*len_out = 0;
	if (load(v, sealed, n, WANT_ALL, &ks, e) != 0)
		return -1;
	if (ks.has_ed || ks.nrsa == 1) { /* a BYODKIM key stands alone */
		keyset_free(&ks);
		return 0;
	}
	if ((ks.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		rc = crypto_fail(e, "generation");
	else
		rc = seal_set(v, &ks, sealed_out, len_out, e) == 0 ? 1 : -1;
	keyset_free(&ks);
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

/* RFC 8463 §4.2: the p= of an Ed25519 record is the raw public key. */
static char *
public_raw_b64(EVP_PKEY *k)
{
	uint8_t raw[32];
	size_t len = sizeof(raw);

	if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1 || len != sizeof(raw))
		return NULL;
	return base64_encode(raw, len);
}

int
dkim_keys_public(const struct vault *v, const uint8_t *sealed, size_t n,
		 char *out[DKIM_KEYS_N], char **ed_out, struct err *e)
{
	struct keyset ks;
	bool ok = true;
	int i;

	for (i = 0; i < DKIM_KEYS_N; i++)
		out[i] = NULL;
	if (ed_out != NULL)
		*ed_out = NULL;
	if (load(v, sealed, n, ed_out != NULL ? WANT_ALL : WANT_ALL & ~WANT_ED, &ks, e) != 0)
		return -1;
	for (i = 0; i < ks.nrsa; i++)
		if ((out[i] = public_b64(ks.rsa[i])) == NULL)
			ok = false;
	if (ed_out != NULL && ks.ed != NULL && (*ed_out = public_raw_b64(ks.ed)) == NULL)
		ok = false;
	keyset_free(&ks);
	if (ok)
		return 0;
	for (i = 0; i < DKIM_KEYS_N; i++) {
		free(out[i]);
		out[i] = NULL;
	}
	if (ed_out != NULL) {
		free(*ed_out);
		*ed_out = NULL;
	}
	return crypto_fail(e, "export");
}

char *
dkim_keys_record(const char *pub)
{
	return xasprintf("v=DKIM1; k=rsa; p=%s", pub);
}

char *
dkim_keys_record_ed25519(const char *pub)
{
	return xasprintf("v=DKIM1; k=ed25519; p=%s", pub);
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

/* The tag-list walk behind both matchers: key type `k` (the default, rsa,
 * when k= is absent and `k_required` is false). */
static bool
record_matches(const char *txt, size_t n, const char *pub, const char *k, bool k_required)
{
	size_t i = 0, kn = strlen(k);
	int tag_no = 0;
	bool p_ok = false, k_seen = false;

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
			if (k_seen || vl != kn || memcmp(val, k, kn) != 0)
				return false;
			k_seen = true;
		} else if (tl == 1 && t[0] == 'p') {
			if (p_ok || !value_equals(val, vl, pub))
				return false;
			p_ok = true;
		}
		tag_no++;
	}
	return p_ok && (k_seen || !k_required);
}

bool
dkim_keys_record_matches(const char *txt, size_t n, const char *pub)
{
	return record_matches(txt, n, pub, "rsa", false);
}

bool
dkim_keys_record_matches_ed25519(const char *txt, size_t n, const char *pub)
{
	return record_matches(txt, n, pub, "ed25519", true);
}

/* One-shot EVP_DigestSign with `k` (md NULL for PureEd25519). */
static int
sign_with(EVP_PKEY *k, const char *md_name, const void *data, size_t len, uint8_t **sig_out,
	  size_t *sig_len, struct err *e)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *sig = NULL;
	size_t slen = 0;
	int rc = -1;

	if (md == NULL || EVP_DigestSignInit_ex(md, NULL, md_name, NULL, NULL, k, NULL) != 1 ||
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
	return rc;
}

int
dkim_keys_sign(const struct vault *v, const uint8_t *sealed, size_t n, int index,
	       const void *data, size_t len, uint8_t **sig_out, size_t *sig_len, struct err *e)
{
	struct keyset ks;
	int rc;

	*sig_out = NULL;
	*sig_len = 0;
	if (index < 0 || index >= DKIM_KEYS_N)
		return err_set(e, 500, "InternalFailure", "DKIM selector index %d out of range.",
			       index);
	if (load(v, sealed, n, WANT_RSA(index), &ks, e) != 0)
		return -1;
	if (ks.rsa[index] == NULL)
		rc = err_set(e, 500, "InternalFailure", "The DKIM key set has no key %d.", index);
	else
		rc = sign_with(ks.rsa[index], "SHA256", data, len, sig_out, sig_len, e);
	keyset_free(&ks);
	return rc;
}

int
dkim_keys_sign_ed25519(const struct vault *v, const uint8_t *sealed, size_t n,
		       const void *data, size_t len, uint8_t **sig_out, size_t *sig_len,
		       struct err *e)
{
	struct keyset ks;
	int rc;

	*sig_out = NULL;
	*sig_len = 0;
	if (load(v, sealed, n, WANT_ED, &ks, e) != 0)
		return -1;
	if (ks.ed == NULL)
		rc = err_set(e, 500, "InternalFailure", "The DKIM key set has no Ed25519 key.");
	else
		rc = sign_with(ks.ed, NULL, data, len, sig_out, sig_len, e);
	keyset_free(&ks);
	return rc;
}

/* ---- BYODKIM: the owner's own key ------------------------------------ */

static int
import_bad(struct err *e, const char *why)
{
	return err_set(e, 400, "BadRequestException", "Invalid DomainSigningPrivateKey: %s.", why);
}

static void
wipe_free(uint8_t *p, size_t n)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, n);
		free(p);
	}
}

static bool
starts_with(const uint8_t *p, size_t n, const char *s)
{
	size_t sn = strlen(s);
	return n >= sn && memcmp(p, s, sn) == 0;
}

/*
 * The DER inside PEM text p[0..n): one block, "RSA PRIVATE KEY" (PKCS#1)
 * or "PRIVATE KEY" (PKCS#8), without headers (Proc-Type: an encrypted
 * key), leading and trailing whitespace allowed. NULL with e filled; else
 * malloc'd (wipe_free) with *len_out.
 */
static uint8_t *
pem_der(const uint8_t *p, size_t n, size_t *len_out, struct err *e)
{
	static const char *const labels[] = {"RSA PRIVATE KEY", "PRIVATE KEY"};
	const uint8_t *end = p + n, *body, *tail;
	char begin[64], fin[64];
	size_t i;
	uint8_t *der;

	while (p < end && strchr(" \t\r\n", *p) != NULL && *p != '\0')
		p++;
	while (end > p && strchr(" \t\r\n", end[-1]) != NULL && end[-1] != '\0')
		end--;
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		snprintf(begin, sizeof(begin), "-----BEGIN %s-----", labels[i]);
		if (starts_with(p, (size_t)(end - p), begin))
			break;
	}
	if (i == sizeof(labels) / sizeof(labels[0])) {
		import_bad(e, "a PEM key must be an unencrypted \"RSA PRIVATE KEY\" or "
			      "\"PRIVATE KEY\"");
		return NULL;
	}
	snprintf(fin, sizeof(fin), "-----END %s-----", labels[i]);
	body = p + strlen(begin);
	tail = end - strlen(fin);
	if (tail < body || memcmp(tail, fin, strlen(fin)) != 0) {
		import_bad(e, "the PEM text has no matching END line");
		return NULL;
	}
	if (memchr(body, ':', (size_t)(tail - body)) != NULL) {
		import_bad(e, "an encrypted PEM key cannot be used");
		return NULL;
	}
	if ((der = base64_decode((const char *)body, (size_t)(tail - body), len_out)) == NULL)
		import_bad(e, "the PEM body is not base64");
	return der;
}

/* One whole DER private key in `structure` ("PrivateKeyInfo": PKCS#8;
 * "type-specific": PKCS#1 for RSA), any key type; NULL if it is not. */
static EVP_PKEY *
decode_der(const uint8_t *der, size_t n, const char *structure)
{
	EVP_PKEY *k = NULL;
	OSSL_DECODER_CTX *dc = OSSL_DECODER_CTX_new_for_pkey(&k, "DER", structure, NULL,
							     EVP_PKEY_KEYPAIR, NULL, NULL);
	const unsigned char *p = der;
	size_t left = n;

	if (dc == NULL)
		return NULL;
	if (OSSL_DECODER_CTX_get_num_decoders(dc) == 0 ||
	    OSSL_DECODER_from_data(dc, &p, &left) != 1 || left != 0) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	OSSL_DECODER_CTX_free(dc);
	return k;
}

/*
 * The caller's key as dkim_keys_import reads it (dkim_keys.h lists the
 * forms and refusals): a checked RSA key of 1024..2048 bits, or NULL with a
 * BadRequestException in e. TESTABLE for the unit test and the fuzzer.
 */
TESTABLE EVP_PKEY *
dkim_keys_parse(const char *text, size_t n, struct err *e)
{
	const uint8_t *t = (const uint8_t *)text;
	uint8_t *der = NULL, *inner;
	size_t der_len = 0, inner_len;
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *pc = NULL;
	int bits;

	if (text == NULL || n == 0 || n > DKIM_IMPORT_MAX) {
		err_set(e, 400, "BadRequestException",
			"Invalid DomainSigningPrivateKey: it must be 1 to %d characters.",
			DKIM_IMPORT_MAX);
		return NULL;
	}
	if (memmem(t, n, "-----BEGIN ", 11) != NULL) {
		der = pem_der(t, n, &der_len, e); /* PEM text */
	} else if ((der = base64_decode(text, n, &der_len)) == NULL) {
		import_bad(e, "it is not base64");
	} else if (starts_with(der, der_len, "-----BEGIN ")) {
		/* base64 of the PEM text */
		inner = pem_der(der, der_len, &inner_len, e);
		wipe_free(der, der_len);
		der = inner;
		der_len = inner ? inner_len : 0;
	}
	if (der == NULL)
		return NULL;
	if ((k = decode_der(der, der_len, "PrivateKeyInfo")) == NULL &&
	    (k = decode_der(der, der_len, "type-specific")) == NULL) {
		import_bad(e, "it is not a PKCS#1 or PKCS#8 RSA private key");
		goto fail;
	}
	if (EVP_PKEY_is_a(k, "RSA") != 1) {
		import_bad(e, "the key is not an RSA key");
		goto fail;
	}
	bits = EVP_PKEY_get_bits(k);
	if (bits < DKIM_IMPORT_MIN_BITS || bits > DKIM_IMPORT_MAX_BITS) {
		err_set(e, 400, "BadRequestException",
			"Invalid DomainSigningPrivateKey: the RSA key has %d bits; %d to %d bits "
			"are accepted.",
			bits, DKIM_IMPORT_MIN_BITS, DKIM_IMPORT_MAX_BITS);
		goto fail;
	}
	/* n = pq, d and the CRT values agree: a key that signs what verifies */
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) == NULL ||
	    EVP_PKEY_pairwise_check(pc) != 1) {
		import_bad(e, "the RSA key's parts do not agree");
		goto fail;
	}
	EVP_PKEY_CTX_free(pc);
	wipe_free(der, der_len);
	return k;
fail:
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(k);
	wipe_free(der, der_len);
	return NULL;
}

int
dkim_keys_import(const struct vault *v, const char *text, size_t n, uint8_t **sealed_out,
		 size_t *len_out, int *bits_out, struct err *e)
{
	struct keyset ks = {.nrsa = 1};
	int rc;

	*sealed_out = NULL;
	*len_out = 0;
	*bits_out = 0;
	if ((ks.rsa[0] = dkim_keys_parse(text, n, e)) == NULL)
		return -1;
	*bits_out = EVP_PKEY_get_bits(ks.rsa[0]);
	rc = seal_set(v, &ks, sealed_out, len_out, e);
	keyset_free(&ks);
	return rc;
}

/* ---- the decoded-key cache ------------------------------------------- */

/*
 * Decoding a PEM key is far dearer than signing with it (OpenSSL 3's
 * decoders), so signers keep decoded keys: one entry per sealed set, named
 * by the SHA-256 of the sealed bytes (a changed set is a new entry; keys
 * never leave this module). Slots are reused round-robin. The mutex guards
 * the table only: signing happens outside it on a reference of the key.
 */
#define CACHE_SLOTS 64

struct cache_slot {
	uint8_t id[32];
	bool used;
	EVP_PKEY *key[DKIM_KEYS_N + 1]; /* RSA 0..2, Ed25519 at DKIM_KEYS_N; NULL = not decoded */
};

struct dkim_keys_cache {
	const struct vault *v;
	pthread_mutex_t mu;
	struct cache_slot slot[CACHE_SLOTS];
	unsigned next;
};

struct dkim_keys_cache *
dkim_keys_cache_new(const struct vault *v)
{
	struct dkim_keys_cache *c = xcalloc(1, sizeof(*c));

	c->v = v;
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

void
dkim_keys_cache_free(struct dkim_keys_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < CACHE_SLOTS; i++)
		for (int k = 0; k <= DKIM_KEYS_N; k++)
			EVP_PKEY_free(c->slot[i].key[k]);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* A referenced key `index` of the set `id`, or NULL. mu held. */
static EVP_PKEY *
cache_find(struct dkim_keys_cache *c, const uint8_t id[32], int index)
{
	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct cache_slot *sl = &c->slot[i];
		if (sl->used && memcmp(sl->id, id, 32) == 0 && sl->key[index] != NULL) {
			EVP_PKEY_up_ref(sl->key[index]);
			return sl->key[index];
		}
	}
	return NULL;
}

/* Keep a reference of k as key `index` of set `id`. mu held. */
static void
cache_put(struct dkim_keys_cache *c, const uint8_t id[32], int index, EVP_PKEY *k)
{
	struct cache_slot *sl = NULL;

	for (int i = 0; i < CACHE_SLOTS && sl == NULL; i++)
		if (c->slot[i].used && memcmp(c->slot[i].id, id, 32) == 0)
			sl = &c->slot[i];
	if (sl == NULL) {
		sl = &c->slot[c->next++ % CACHE_SLOTS];
		for (int i = 0; i <= DKIM_KEYS_N; i++)
			EVP_PKEY_free(sl->key[i]);
		memset(sl, 0, sizeof(*sl));
		memcpy(sl->id, id, 32);
		sl->used = true;
	}
	if (sl->key[index] != NULL)
		return; /* another thread was first */
	EVP_PKEY_up_ref(k);
	sl->key[index] = k;
}

int
dkim_keys_cache_sign(struct dkim_keys_cache *c, const uint8_t *sealed, size_t n, int index,
		     const void *data, size_t len, uint8_t **sig_out, size_t *sig_len,
		     struct err *e)
{
	uint8_t id[32];
	EVP_PKEY *k;
	int rc;

	*sig_out = NULL;
	*sig_len = 0;
	if (index < 0 || index > DKIM_KEYS_N)
		return err_set(e, 500, "InternalFailure", "DKIM key index %d out of range.", index);
	if (sealed == NULL || n == 0)
		return err_set(e, 500, "InternalFailure", "The identity has no DKIM keys.");
	sha256(sealed, n, id);
	pthread_mutex_lock(&c->mu);
	k = cache_find(c, id, index);
	pthread_mutex_unlock(&c->mu);
	if (k == NULL) {
		struct keyset ks;
		unsigned want = index == DKIM_KEYS_N ? WANT_ED : WANT_RSA(index);
		if (load(c->v, sealed, n, want, &ks, e) != 0)
			return -1;
		k = index == DKIM_KEYS_N ? ks.ed : ks.rsa[index];
		if (k == NULL) {
			keyset_free(&ks);
			return err_set(e, 500, "InternalFailure", "The DKIM key set has no key %d.",
				       index);
		}
		EVP_PKEY_up_ref(k);
		keyset_free(&ks);
		pthread_mutex_lock(&c->mu);
		cache_put(c, id, index, k);
		pthread_mutex_unlock(&c->mu);
	}
	rc = sign_with(k, index == DKIM_KEYS_N ? NULL : "SHA256", data, len, sig_out, sig_len, e);
	EVP_PKEY_free(k);
	return rc;
}

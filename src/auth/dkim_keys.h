/*
 * dkim_keys.h — Easy-DKIM key material: the one door to DKIM private keys
 * (STYLE §14), in src/auth/ beside the vault and the credentials lookup.
 *
 * A domain identity that called VerifyDomainDkim owns DKIM_KEYS_N selectors
 * (its DkimTokens) and one RSA-2048 key per selector. The private keys never
 * leave this module in the clear: they are generated here, exported as PEM,
 * sealed with the vault (store.h `dkim_keys_sealed`: the DKIM_KEYS_N PEM
 * blocks joined by a blank line, sealed as one blob), and only unsealed here
 * to derive public keys or to sign.
 *
 * The record a user publishes for selector i is
 *   TXT  <token_i>._domainkey.<domain>  "v=DKIM1; k=rsa; p=<public key i>"
 * where the public key is the base64 of the DER SubjectPublicKeyInfo (what
 * `openssl rsa -pubout` prints between the PEM armour lines).
 */
#ifndef SESAME_AUTH_DKIM_KEYS_H
#define SESAME_AUTH_DKIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct vault;

#define DKIM_KEYS_N 3         /* selectors per domain, as SES */
#define DKIM_KEYS_BITS 2048
#define DKIM_TOKEN_LEN 32     /* characters of [a-z2-7] (160 random bits) */

/* Fill out with DKIM_KEYS_N fresh, distinct selectors, NUL-terminated. */
void dkim_keys_tokens(char out[DKIM_KEYS_N][DKIM_TOKEN_LEN + 1]);

/* True if s is a well-formed selector (DKIM_TOKEN_LEN chars of [a-z2-7]). */
bool dkim_keys_token_ok(const char *s);

/*
 * Generate DKIM_KEYS_N RSA-2048 keys and seal them. *sealed_out is malloc'd
 * (caller frees). CPU-heavy (tens to hundreds of milliseconds). -1 with an
 * InternalFailure (500) in e on a crypto or vault failure.
 */
int dkim_keys_generate(const struct vault *v, uint8_t **sealed_out, size_t *len_out,
		       struct err *e);

/*
 * The public keys of a sealed set, as base64 DER SubjectPublicKeyInfo: out[i]
 * malloc'd for i < DKIM_KEYS_N (on failure all are NULL). -1 with
 * InternalFailure when the blob does not unseal or hold DKIM_KEYS_N keys.
 */
int dkim_keys_public(const struct vault *v, const uint8_t *sealed, size_t n,
		     char *out[DKIM_KEYS_N], struct err *e);

/* "v=DKIM1; k=rsa; p=<pub>", malloc'd. */
char *dkim_keys_record(const char *pub);

/*
 * Does the TXT text `txt` (the record's strings concatenated) publish `pub`?
 * Parsed as an RFC 6376 tag list: p= must equal pub once folding whitespace
 * is removed; v=, when present, must be DKIM1 and come first; k=, when
 * present, must be rsa. Any malformed text is simply "no".
 */
bool dkim_keys_record_matches(const char *txt, size_t n, const char *pub);

/*
 * RSA-SHA256 (PKCS#1 v1.5) signature of `len` bytes with key `index` of a
 * sealed set — what a DKIM signer needs for `b=`. *sig_out malloc'd.
 */
int dkim_keys_sign(const struct vault *v, const uint8_t *sealed, size_t n, int index,
		   const void *data, size_t len, uint8_t **sig_out, size_t *sig_len,
		   struct err *e);

#endif

/*
 * dkim_keys.h — Easy-DKIM key material: the one door to DKIM private keys
 * (STYLE §14), in src/auth/ beside the vault and the credentials lookup.
 *
 * A domain identity that called VerifyDomainDkim owns DKIM_KEYS_N selectors
 * (its DkimTokens) and one RSA-2048 key per selector, and — beyond SES — one
 * Ed25519 key (RFC 8463) under the selector `<token_1>ed`. The private keys
 * never leave this module in the clear: they are generated here, exported
 * as PKCS#8 PEM, sealed with the vault (store.h `dkim_keys_sealed`: the
 * DKIM_KEYS_N RSA PEM blocks in selector order, then the Ed25519 block,
 * joined by a blank line, sealed as one blob), and only unsealed here to
 * derive public keys or to sign. A set sealed before Ed25519 existed holds
 * the RSA blocks alone: it keeps working and simply has no Ed25519 key
 * (dkim_keys_add_ed25519 gives it one).
 *
 * The records a user publishes:
 *   TXT  <token_i>._domainkey.<domain>    "v=DKIM1; k=rsa; p=<public key i>"
 *   TXT  <token_1>ed._domainkey.<domain>  "v=DKIM1; k=ed25519; p=<ed key>"
 * where an RSA public key is the base64 of the DER SubjectPublicKeyInfo
 * (what `openssl rsa -pubout` prints between the PEM armour lines) and the
 * Ed25519 one the base64 of the raw 32-byte public key (RFC 8463 §4.2).
 *
 * BYODKIM (SES v2, SigningAttributesOrigin EXTERNAL): the owner brings one
 * RSA key of 1024 to 2048 bits and a selector of their own choosing
 * (dkim_keys_import). It is sealed the same way, as a set of ONE PKCS#8 PEM
 * block — key 0, no Ed25519 key — and published as
 *   TXT  <selector>._domainkey.<domain>   "v=DKIM1; k=rsa; p=<public key 0>"
 * The functions below take either kind of set; asking for a key the set
 * does not hold is an InternalFailure, never a crash.
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
#define DKIM_ED25519_SUFFIX "ed" /* the Ed25519 selector: <token_1> DKIM_ED25519_SUFFIX */
#define DKIM_ED25519_SELECTOR_LEN (DKIM_TOKEN_LEN + 2)
#define DKIM_ED25519_PUB_B64_LEN 44 /* base64 of 32 bytes */
#define DKIM_IMPORT_MAX 20480   /* characters of DomainSigningPrivateKey (the SES model's max) */
#define DKIM_IMPORT_MIN_BITS 1024
#define DKIM_IMPORT_MAX_BITS 2048

/* Fill out with DKIM_KEYS_N fresh, distinct selectors, NUL-terminated. */
void dkim_keys_tokens(char out[DKIM_KEYS_N][DKIM_TOKEN_LEN + 1]);

/* True if s is a well-formed selector (DKIM_TOKEN_LEN chars of [a-z2-7]). */
bool dkim_keys_token_ok(const char *s);

/* The Ed25519 selector of a set whose first selector is `token1`:
 * "<token1>ed" into out (truncated to cap, always NUL-terminated). */
void dkim_keys_ed25519_selector(const char *token1, char *out, size_t cap);

/*
 * Generate DKIM_KEYS_N RSA-2048 keys and one Ed25519 key and seal them.
 * *sealed_out is malloc'd (caller frees). CPU-heavy (tens to hundreds of
 * milliseconds). -1 with an InternalFailure (500) in e on a crypto or vault
 * failure.
 */
int dkim_keys_generate(const struct vault *v, uint8_t **sealed_out, size_t *len_out,
		       struct err *e);

/*
 * Give a set sealed without an Ed25519 key one: 1 with the new set in
 * *sealed_out (malloc'd; the same RSA keys, a fresh Ed25519 key), 0 when the
 * set already has one or is a BYODKIM set of one key, which never gets one
 * (*sealed_out NULL), -1 with InternalFailure when the
 * blob does not unseal or is not a key set.
 */
int dkim_keys_add_ed25519(const struct vault *v, const uint8_t *sealed, size_t n,
			  uint8_t **sealed_out, size_t *len_out, struct err *e);

/*
 * BYODKIM: the caller's RSA private key `text` (n bytes, the
 * DomainSigningPrivateKey member) sealed as a set of one key, *sealed_out
 * malloc'd (caller frees), *bits_out its size. Accepted forms: base64 of
 * the DER of a PKCS#1 RSAPrivateKey or a PKCS#8 PrivateKeyInfo (what SES
 * documents), the same key as PEM text ("RSA PRIVATE KEY" or "PRIVATE
 * KEY"), or base64 of that PEM text; whitespace in base64 is skipped.
 * Refused with BadRequestException (400) naming DomainSigningPrivateKey:
 * empty or over DKIM_IMPORT_MAX bytes, bad base64, an encrypted or other
 * PEM, DER that is not one whole private key, a key that is not RSA
 * (RSA-PSS included), outside DKIM_IMPORT_MIN_BITS..DKIM_IMPORT_MAX_BITS,
 * or one whose parts do not agree. -1 with InternalFailure on a crypto or
 * vault failure. Every plaintext copy is wiped before it is freed; no
 * message quotes the input.
 */
int dkim_keys_import(const struct vault *v, const char *text, size_t n, uint8_t **sealed_out,
		     size_t *len_out, int *bits_out, struct err *e);

/*
 * The public keys of a sealed set: out[i] (i < DKIM_KEYS_N) the base64 DER
 * SubjectPublicKeyInfo of RSA key i (NULL for i > 0 in a BYODKIM set of
 * one key), and, when ed_out is not NULL, *ed_out the base64 of the raw
 * Ed25519 public key, or NULL when the set has none. All malloc'd; on
 * failure all are NULL. -1 with InternalFailure when the blob does not
 * unseal or is neither one RSA key nor DKIM_KEYS_N RSA keys and at most
 * one Ed25519 key.
 */
int dkim_keys_public(const struct vault *v, const uint8_t *sealed, size_t n,
		     char *out[DKIM_KEYS_N], char **ed_out, struct err *e);

/* "v=DKIM1; k=rsa; p=<pub>", malloc'd. */
char *dkim_keys_record(const char *pub);

/* "v=DKIM1; k=ed25519; p=<pub>", malloc'd. */
char *dkim_keys_record_ed25519(const char *pub);

/*
 * Does the TXT text `txt` (the record's strings concatenated) publish `pub`?
 * Parsed as an RFC 6376 tag list: p= must equal pub once folding whitespace
 * is removed; v=, when present, must be DKIM1 and come first; k=, when
 * present, must be rsa. Any malformed text is simply "no".
 */
bool dkim_keys_record_matches(const char *txt, size_t n, const char *pub);

/*
 * The same for an Ed25519 record: p= must equal pub (whitespace ignored),
 * v=, when present, DKIM1 and first, and k= must be present and ed25519
 * (an absent k= means rsa).
 */
bool dkim_keys_record_matches_ed25519(const char *txt, size_t n, const char *pub);

/*
 * RSA-SHA256 (PKCS#1 v1.5) signature of `len` bytes with key `index` of a
 * sealed set — what a DKIM signer needs for `b=`. *sig_out malloc'd.
 */
int dkim_keys_sign(const struct vault *v, const uint8_t *sealed, size_t n, int index,
		   const void *data, size_t len, uint8_t **sig_out, size_t *sig_len,
		   struct err *e);

/*
 * PureEd25519 signature (64 bytes, RFC 8032) of `len` bytes with the set's
 * Ed25519 key — for ed25519-sha256 `data` is the 32-byte SHA-256 that
 * dkim_sign hands its signer (RFC 8463 §3). *sig_out malloc'd. -1 with
 * InternalFailure when the set has no Ed25519 key or signing fails.
 */
int dkim_keys_sign_ed25519(const struct vault *v, const uint8_t *sealed, size_t n,
			   const void *data, size_t len, uint8_t **sig_out, size_t *sig_len,
			   struct err *e);

/*
 * A signer's cache of decoded keys (decoding costs far more than signing):
 * thread-safe, shared by the worker threads. dkim_keys_cache_sign signs as
 * dkim_keys_sign (index 0..DKIM_KEYS_N-1, RSA-SHA256) or
 * dkim_keys_sign_ed25519 (index DKIM_KEYS_N) would. `v` is borrowed and
 * must outlive the cache. Free after the last signer ended; NULL no-op.
 */
struct dkim_keys_cache;
struct dkim_keys_cache *dkim_keys_cache_new(const struct vault *v);
void dkim_keys_cache_free(struct dkim_keys_cache *c);
int dkim_keys_cache_sign(struct dkim_keys_cache *c, const uint8_t *sealed, size_t n, int index,
			 const void *data, size_t len, uint8_t **sig_out, size_t *sig_len,
			 struct err *e);

#endif

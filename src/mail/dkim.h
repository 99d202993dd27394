/*
 * dkim.h — DKIM signatures (RFC 6376) with relaxed/relaxed canonicalization,
 * rsa-sha256 and ed25519-sha256 (RFC 8463).
 *
 * Pure computation: no I/O, no clock, no globals, no store, and no key.
 * dkim_sign may run on any thread (the delivery worker pool) and is fuzzed
 * (tests/fuzz/dkim_fuzz.c). Private keys stay behind their one door (STYLE
 * §14, mail/dkim_keys.h): the caller passes a dkim_sign_fn that holds the
 * key and returns signature bytes; this module only decides *what* is
 * signed.
 *
 * What is signed (docs/internals/dkim.md has the reasons):
 *   - the fields present among dkim_default_headers (or the caller's list),
 *     each instance of a field once, bottom-up (RFC 6376 §5.4.2), so h=
 *     names a field as many times as it occurs;
 *   - From is always signed and over-signed: h= lists it once more than it
 *     occurs, so a From added later in transit breaks the signature instead
 *     of becoming the one a reader sees. A message without From is refused;
 *   - the whole body (no l=), relaxed, hashed into bh=.
 * The field is "DKIM-Signature: v=1; a=…; c=relaxed/relaxed; d=; s=; t=;
 * h=; bh=; b=" (no x=, no l=), folded with CRLF SP so no line passes
 * DKIM_FOLD columns (a d= or s= token longer than a line stands alone on
 * its line: a domain cannot be split).
 *
 * Input: the message as the queue stores it, CRLF line ends. The header
 * section ends at the first empty line, or at the end of the message (then
 * the body is empty). A last line without CRLF is taken as if it had one —
 * what SMTP transport does to it, and so what a verifier sees. Refused
 * (InvalidParameterValue, HTTP 400, permanent): a CR or LF that is not part
 * of a CRLF in the header section, a header line that is neither a field
 * (`name:`, optional WSP before the colon) nor a continuation of one, more
 * than DKIM_MAX_FIELDS fields, a header section (the fields, without the
 * empty line) over DKIM_HEADER_MAX bytes, no From.
 */
#ifndef SESAME_MAIL_DKIM_H
#define SESAME_MAIL_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define DKIM_MAX_FIELDS 1000
#define DKIM_HEADER_MAX (1024 * 1024)
#define DKIM_FOLD       78   /* columns per line of the field, CRLF excluded */
#define DKIM_SIG_MAX    1024 /* signature bytes a signer may return (RSA-8192) */
#define DKIM_NAME_MAX   253  /* d= and s= */

enum dkim_alg {
	DKIM_RSA_SHA256,     /* a=rsa-sha256 */
	DKIM_ED25519_SHA256, /* a=ed25519-sha256 (RFC 8463) */
};

/*
 * The signer: sign `len` bytes of `data` with the caller's key, returning
 * *sig_out (malloc'd by the signer, freed by dkim_sign) and its length;
 * 0, or -1 with e filled (passed on to dkim_sign's caller unchanged). What `data` is depends on the
 * algorithm:
 *   DKIM_RSA_SHA256     the canonical signed header data itself (the signed
 *                       fields, then the DKIM-Signature field with an empty
 *                       b= and no final CRLF); the signer hashes it with
 *                       SHA-256 and signs PKCS#1 v1.5 — dkim_keys_sign;
 *   DKIM_ED25519_SHA256 the 32-byte SHA-256 of that same data; the signer
 *                       signs those 32 bytes with PureEd25519 (RFC 8463 §3).
 * `arg` is passed through untouched.
 */
typedef int (*dkim_sign_fn)(void *arg, const uint8_t *data, size_t len, uint8_t **sig_out,
                            size_t *sig_len, struct err *e);

struct dkim_params {
	enum dkim_alg alg;
	const char *domain;   /* d=: ASCII (A-label) domain, LDH labels */
	const char *selector; /* s=: same syntax (underscore allowed) */
	uint64_t timestamp;   /* t=, seconds since the epoch (the caller's clock) */
	/* names of the fields to sign when present, NULL-terminated; NULL means
	 * dkim_default_headers. Duplicates are ignored; From is signed (and
	 * over-signed) whether listed or not. Names: 1..64 of [A-Za-z0-9_-]. */
	const char *const *headers;
};

/* From, To, Cc, Subject, Date, Message-ID, MIME-Version, Content-Type,
 * Content-Transfer-Encoding, Reply-To, In-Reply-To, References,
 * List-Unsubscribe, List-Unsubscribe-Post, Feedback-ID; NULL-terminated. */
extern const char *const dkim_default_headers[];

/*
 * Sign `len` bytes of `msg`. On success *header_out is the complete field,
 * "DKIM-Signature: …\r\n", NUL-terminated, malloc'd (caller frees), to be
 * prepended to the message unchanged. On failure -1, e filled,
 * *header_out NULL: InvalidParameterValue (400) for a message that cannot
 * be signed (see above), InternalFailure (500) for bad params or a signer
 * that returns no or an oversized signature, and whatever the signer put
 * in e when it fails.
 */
int dkim_sign(const uint8_t *msg, size_t len, const struct dkim_params *p, dkim_sign_fn sign,
              void *arg, char **header_out, struct err *e);

/*
 * Relaxed header canonicalization (RFC 6376 §3.4.2) of one field: `field`
 * is "name:value", the value folded or not, with or without its final
 * CRLF. Appends "name:value\r\n" to out with the name lower-cased and the
 * WSP before the colon removed, the value unfolded (a CRLF before WSP
 * removed), each WSP run made one SP, and WSP at the value's start and end
 * removed. Idempotent. -1 when there is no colon or out's cap is reached
 * (out may then hold part of the field).
 */
int dkim_canon_header_relaxed(const uint8_t *field, size_t len, struct buf *out);

/*
 * Relaxed body canonicalization (RFC 6376 §3.4.4): WSP runs become one SP,
 * WSP at line ends and empty lines at the end are removed, and a non-empty
 * body ends with CRLF (a last line without one gets it). The empty body
 * and a body of empty lines canonicalize to nothing. Appends to out; -1
 * only when out's cap is reached. Idempotent.
 */
int dkim_canon_body_relaxed(const uint8_t *body, size_t len, struct buf *out);

#endif

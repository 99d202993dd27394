/*
 * sigv4.h — server-side AWS Signature Version 4 verification (spec §6),
 * header-based only (no presigned URLs), plus a per-thread signing-key cache.
 *
 * Flow for one request:
 *   sigv4_parse()       Authorization + X-Amz-Date/Date, scope syntax,
 *                       service ses/email, scope date, 15-minute skew;
 *   caller              looks the key id up (unknown: sigv4_fail_unknown_key)
 *                       and checks a.region is served (else
 *                       sigv4_fail_region);
 *   sigv4_cache_key()   the signing key, derived from the secret only on
 *                       a miss;
 *   sigv4_verify()      rebuilds the canonical request and compares the
 *                       signature in constant time.
 * Every failure fills struct err with SES's code, HTTP status and wording.
 */
#ifndef SESAME_API_SIGV4_H
#define SESAME_API_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/err.h"

/* Caps (STYLE.md §10): these are checked before any authentication. */
#define SIGV4_MAX_AUTHZ 4096        /* Authorization header value */
#define SIGV4_MAX_HEADERS 128       /* headers in the request */
#define SIGV4_MAX_SIGNED 64         /* names in SignedHeaders */
#define SIGV4_MAX_HEADER_VALUE 8192 /* one header value */
#define SIGV4_MAX_PATH 4096
#define SIGV4_MAX_QUERY 16384
#define SIGV4_MAX_CANONICAL 65536   /* the canonical request */
#define SIGV4_SKEW_SECONDS (15 * 60)

struct sigv4_header {
	const char *name;  /* as received, any case */
	const char *value; /* as received */
};

struct sigv4_request {
	const char *method;                 /* "POST" */
	const char *path;                   /* as on the wire (not percent-decoded), "/" */
	const char *query;                  /* raw, without '?', may be "" or NULL */
	const struct sigv4_header *headers; /* every header received, in order */
	size_t nheaders;
	const void *body;
	size_t body_len;
};

struct sigv4_auth {
	char key_id[129];
	char date[9];     /* scope date YYYYMMDD */
	char region[33];
	char service[33];
	char amz_date[17]; /* YYYYMMDDTHHMMSSZ (from X-Amz-Date, or Date reformatted) */
	time_t when;       /* amz_date as a time */
	char signed_headers[1024];
	char signature[65];
};

/* Parse and check everything that needs no secret. `now` is injected (the
 * caller's clock). Errors: MissingAuthenticationToken 403 (no Authorization
 * header), IncompleteSignature 400 (malformed header, missing date, host not
 * signed), SignatureDoesNotMatch 403 (wrong service, bad region syntax, scope
 * date ≠ request date, expired or not yet current). */
int sigv4_parse(const struct sigv4_request *r, time_t now, struct sigv4_auth *out,
		struct err *e);

/* kSigning = HMAC chain of "AWS4"+secret over date, region, service,
 * "aws4_request". */
void sigv4_signing_key(const char *secret, const char *date, const char *region,
		       const char *service, uint8_t out[32]);

/* Recompute the signature of `r` under `key` and compare it with
 * a->signature in constant time. Also checks X-Amz-Content-Sha256 (if sent)
 * against the body. Errors: SignatureDoesNotMatch 403, IncompleteSignature
 * 400 (a cap exceeded). */
int sigv4_verify(const struct sigv4_request *r, const struct sigv4_auth *a, const uint8_t key[32],
		 struct err *e);

/* Errors the caller raises, worded here so every front end says the same. */
int sigv4_fail_unknown_key(struct err *e); /* InvalidClientTokenId 403 */
int sigv4_fail_region(struct err *e);      /* SignatureDoesNotMatch 403 */

/*
 * Signing-key cache: direct-mapped, SIGV4_CACHE_SLOTS entries, keyed by key
 * id + scope date + region + service and a 32-byte fingerprint of the
 * secret that changes whenever the secret does (request.c gives the SHA-256
 * of the sealed secret, credentials.h, so a hit needs no unsealing and a
 * rotated secret is a miss, never a stale key). Not locked: each event-loop
 * thread owns one. No secret is stored.
 */
#define SIGV4_CACHE_SLOTS 256

struct sigv4_cache_slot {
	bool used;
	char key_id[129];
	char date[9];
	char region[33];
	char service[33];
	uint8_t fingerprint[32];
	uint8_t key[32];
};

struct sigv4_cache {
	struct sigv4_cache_slot slot[SIGV4_CACHE_SLOTS];
	unsigned long hits, misses;
};

void sigv4_cache_init(struct sigv4_cache *c);
/* Wipe every cached key (e.g. before freeing the cache). */
void sigv4_cache_clear(struct sigv4_cache *c);
/* The secret behind a signing key, asked for only on a cache miss: NULL
 * with e filled when it cannot be had. */
typedef const char *(*sigv4_secret_fn)(void *arg, struct err *e);
/* out = the signing key for a's scope and the secret whose fingerprint is
 * fp: the cached one, or one derived from secret(arg) and kept (a miss,
 * counted). 0, or -1 with e filled by secret. */
int sigv4_cache_key(struct sigv4_cache *c, const struct sigv4_auth *a, const uint8_t fp[32],
		    sigv4_secret_fn secret, void *arg, uint8_t out[32], struct err *e);

#endif

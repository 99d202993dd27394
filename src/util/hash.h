/*
 * hash.h — SHA-256 and HMAC-SHA256 for hot paths (SigV4, SMTP passwords).
 *
 * OpenSSL 3's one-shot helpers (SHA256(), HMAC(), EVP_Q_mac) fetch the
 * algorithm from the provider on every call, which dominates the cost of a
 * SigV4 check. These functions fetch SHA-256 once per process (pthread_once)
 * and reuse one EVP_MD_CTX per thread, so they are safe to call from any
 * thread and cost only the digest work itself.
 */
#ifndef SESAME_UTIL_HASH_H
#define SESAME_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SHA256_LEN 32
#define HASH_SHA256_HEX_LEN 64

/* out = SHA-256(p[0..n)). */
void sha256(const void *p, size_t n, uint8_t out[32]);

/* out = HMAC-SHA256(key, msg). Keys longer than 64 bytes are hashed first
 * (RFC 2104). */
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32]);

/* hex_out = lower-case hex of SHA-256(p[0..n)), NUL-terminated (65 bytes). */
void sha256_hex(const void *p, size_t n, char hex_out[65]);

#endif

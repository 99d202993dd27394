/*
 * codec.h — byte encodings used across layers: base64 (standard alphabet,
 * padded), lower-case hex, and a constant-time comparison for secrets.
 */
#ifndef SESAME_UTIL_CODEC_H
#define SESAME_UTIL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Encode n bytes; returns a NUL-terminated string the caller frees. */
char *base64_encode(const void *p, size_t n);
/* Decode strict standard base64 (whitespace skipped). Returns a buffer the
 * caller frees and its length in *len_out, or NULL on invalid input. */
uint8_t *base64_decode(const char *s, size_t n, size_t *len_out);
/* Write 2n lower-case hex digits plus NUL into out (size >= 2n+1). */
void hex_encode(const uint8_t *p, size_t n, char *out);
/* The value of hex digit c (either case), or -1. */
int hex_value(unsigned char c);
/* Constant-time equality of two byte strings (length leaks, contents don't). */
bool ct_equal(const void *a, size_t alen, const void *b, size_t blen);
/* Fill p with n cryptographically random bytes; aborts if the RNG fails. */
void random_bytes(void *p, size_t n);
/* A fresh random (version 4) uuid, lower-case: request ids, SNS MessageIds
 * and subscription ARNs. */
void uuid_v4(char out[37]);

#endif

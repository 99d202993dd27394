/*
 * utf8.h — strict UTF-8, one decoder for the whole tree: no overlong forms,
 * no surrogates, nothing past U+10FFFF, no truncated sequences.
 */
#ifndef SESAME_UTIL_UTF8_H
#define SESAME_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the code point starting at s (n >= 1 bytes left), with
 * its value in *cp_out (may be NULL); 0 when the bytes there are not
 * strict UTF-8. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp_out);

/* Every byte of s[0..n) is strict UTF-8 (NUL counts as valid U+0000). */
bool utf8_valid(const void *s, size_t n);

/* Write cp (<= U+10FFFF, no surrogate) as UTF-8 into out; its length. */
size_t utf8_encode(uint32_t cp, char out[4]);

/* A malloc'd copy of the string s with every byte that is not strict UTF-8
 * replaced by U+FFFD (what a page, a JSON text or a PostgreSQL TEXT column
 * can hold). */
char *utf8_clean(const char *s);

#endif

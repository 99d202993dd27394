/*
 * suggest.h — "did you mean …?" for a mistyped flag or command: the one
 * edit distance of the tree and an accumulator a caller feeds the names of
 * its own table, so each table stays where it is parsed.
 */
#ifndef SESAME_UTIL_SUGGEST_H
#define SESAME_UTIL_SUGGEST_H

#include <stddef.h>

/* The largest edit distance still worth a suggestion. */
#define SUGGEST_MAX_DISTANCE 2

/*
 * Optimal-string-alignment distance between a[0..alen) and the string b:
 * insertions, deletions, substitutions and swaps of two neighbours count
 * one each (a swap is the commonest typo). Anything above
 * SUGGEST_MAX_DISTANCE, or an input longer than 64 bytes, is reported as
 * SUGGEST_MAX_DISTANCE + 1: the caller only asks "close or not".
 */
int suggest_distance(const char *a, size_t alen, const char *b);

struct suggest {
	const char *word; /* what was typed (not NUL-terminated) */
	size_t len;
	const char *best; /* the closest name so far (first on a tie) */
	int best_d;
	const char *prefixed; /* the one name `word` is a prefix of */
	int nprefixed;
};

/* Start a search for the names nearest word[0..len). */
void suggest_init(struct suggest *s, const char *word, size_t len);

/* Consider `name` (the caller's table, in its order). */
void suggest_offer(struct suggest *s, const char *name);

/*
 * The suggestion, or NULL: the only name the word is a prefix of, else the
 * closest name within SUGGEST_MAX_DISTANCE that needs fewer edits than
 * the word has bytes (so "x" does not suggest "db"). The string is the
 * offered one; it lives as long as the caller's table.
 */
const char *suggest_result(const struct suggest *s);

/* " (did you mean <prefix><suggestion>?)" into out, or "" when nothing is
 * close enough; the tail of every such error message. */
void suggest_hint(const struct suggest *s, const char *prefix, char *out, size_t cap);

#endif

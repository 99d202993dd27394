/*
 * suggest.c — the edit distance behind "did you mean …?" (see suggest.h).
 * Names are short (flags, commands), so the classic dynamic programme on
 * three rows is plenty; the cap keeps it on the stack.
 */
#include "util/suggest.h"

#include <stdio.h>
#include <string.h>

#define SUGGEST_MAX_LEN 64

static int
min3(int a, int b, int c)
{
	int m = a < b ? a : b;
	return m < c ? m : c;
}

int
suggest_distance(const char *a, size_t alen, const char *b)
{
	int rows[3][SUGGEST_MAX_LEN + 1];
	size_t blen = strlen(b);
	int *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

	if (alen > SUGGEST_MAX_LEN || blen > SUGGEST_MAX_LEN)
		return SUGGEST_MAX_DISTANCE + 1;
	if ((alen > blen ? alen - blen : blen - alen) > SUGGEST_MAX_DISTANCE)
		return SUGGEST_MAX_DISTANCE + 1;
	for (size_t j = 0; j <= blen; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= alen; i++) {
		cur[0] = (int)i;
		for (size_t j = 1; j <= blen; j++) {
			int cost = a[i - 1] != b[j - 1];
			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < cur[j])
				cur[j] = prev2[j - 2] + 1;
		}
		int *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[blen] > SUGGEST_MAX_DISTANCE ? SUGGEST_MAX_DISTANCE + 1 : prev[blen];
}

void
suggest_init(struct suggest *s, const char *word, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->word = word;
	s->len = len;
	s->best_d = SUGGEST_MAX_DISTANCE + 1;
}

void
suggest_offer(struct suggest *s, const char *name)
{
	size_t n = strlen(name);

	if (s->len > 0 && s->len < n && strncmp(s->word, name, s->len) == 0) {
		if (s->nprefixed == 0 || strcmp(s->prefixed, name) != 0)
			s->nprefixed++;
		s->prefixed = name;
	}
	int d = suggest_distance(s->word, s->len, name);
	if (d < s->best_d && (size_t)d < s->len) {
		s->best = name;
		s->best_d = d;
	}
}

const char *
suggest_result(const struct suggest *s)
{
	if (s->nprefixed == 1)
		return s->prefixed;
	return s->best;
}

void
suggest_hint(const struct suggest *s, const char *prefix, char *out, size_t cap)
{
	const char *r = suggest_result(s);

	if (cap == 0)
		return;
	out[0] = '\0';
	if (r != NULL)
		snprintf(out, cap, " (did you mean %s%s?)", prefix, r);
}

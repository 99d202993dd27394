/*
 * anvil.c — bounded leaky buckets keyed by string (anvil.h). A linear
 * table: it is consulted once per AUTH failure and per AUTH, never on the
 * path of an accepted message, and cap is small.
 */
#include "util/anvil.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct slot {
	char key[256];
	double level;   /* at `at` */
	int64_t at;
};

struct anvil {
	struct slot *slot;
	size_t n, cap;
	int64_t drain_ms;
};

struct anvil *
anvil_new(size_t cap, int64_t drain_ms)
{
	struct anvil *a = xcalloc(1, sizeof(*a));

	a->cap = cap > 0 ? cap : 1;
	a->slot = xcalloc(a->cap, sizeof(*a->slot));
	a->drain_ms = drain_ms > 0 ? drain_ms : 1;
	return a;
}

void
anvil_free(struct anvil *a)
{
	if (a == NULL)
		return;
	free(a->slot);
	free(a);
}

static double
drained(const struct anvil *a, const struct slot *s, int64_t now)
{
	double v = s->level;

	if (now > s->at)
		v -= (double)(now - s->at) / (double)a->drain_ms;
	return v > 0 ? v : 0;
}

/* Keys are kept to 255 bytes: a longer one is its first 255. */
static struct slot *
find(struct anvil *a, const char *key)
{
	size_t k = strnlen(key, sizeof(a->slot[0].key) - 1);

	for (size_t i = 0; i < a->n; i++)
		if (strlen(a->slot[i].key) == k && memcmp(a->slot[i].key, key, k) == 0)
			return &a->slot[i];
	return NULL;
}

double
anvil_level(struct anvil *a, const char *key, int64_t now_ms)
{
	struct slot *s = find(a, key);

	return s != NULL ? drained(a, s, now_ms) : 0;
}

double
anvil_add(struct anvil *a, const char *key, int64_t now_ms, double amount)
{
	struct slot *s = find(a, key);

	if (s == NULL) {
		if (a->n < a->cap) {
			s = &a->slot[a->n++];
		} else {
			s = &a->slot[0];
			for (size_t i = 1; i < a->n; i++)
				if (drained(a, &a->slot[i], now_ms) < drained(a, s, now_ms))
					s = &a->slot[i];
		}
		memset(s, 0, sizeof(*s));
		memcpy(s->key, key, strnlen(key, sizeof(s->key) - 1));
		s->at = now_ms;
	}
	s->level = drained(a, s, now_ms) + amount;
	s->at = now_ms;
	return s->level;
}

void
anvil_reset(struct anvil *a, const char *key)
{
	struct slot *s = find(a, key);

	if (s != NULL)
		*s = a->slot[--a->n];
}

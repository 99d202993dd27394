/*
 * limits.c — per-account sending-limit state for the whole process; see
 * limits.h. An open-addressing table keyed by account id (12 digits), grown
 * at half load, entries never removed (an account that sent once costs ~64
 * bytes until restart). One mutex guards the table and every entry.
 */
#include "send/limits.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/quota.h"
#include "util/xalloc.h"

struct account_limit {
	char id[13]; /* "" = empty slot */
	struct quota_bucket bucket;
	int64_t pending;
};

struct limits {
	pthread_mutex_t mu;
	struct account_limit *slot;
	size_t cap; /* power of two */
	size_t used;
};

struct limits *
limits_new(void)
{
	struct limits *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->mu, NULL);
	l->cap = 64;
	l->slot = xcalloc(l->cap, sizeof(*l->slot));
	return l;
}

void
limits_free(struct limits *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l->slot);
	free(l);
}


static size_t
hash_id(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static struct account_limit *
probe(struct account_limit *slot, size_t cap, const char *id)
{
	size_t i = hash_id(id) & (cap - 1);

	while (slot[i].id[0] != '\0' && strcmp(slot[i].id, id) != 0)
		i = (i + 1) & (cap - 1);
	return &slot[i];
}

/* The entry for `id`, created empty when absent. Called with mu held. */
static struct account_limit *
entry(struct limits *l, const char *id)
{
	struct account_limit *a = probe(l->slot, l->cap, id);

	if (a->id[0] != '\0')
		return a;
	if ((l->used + 1) * 2 > l->cap) {
		size_t ncap = l->cap * 2;
		struct account_limit *ns = xcalloc(ncap, sizeof(*ns));
		for (size_t i = 0; i < l->cap; i++)
			if (l->slot[i].id[0] != '\0')
				*probe(ns, ncap, l->slot[i].id) = l->slot[i];
		free(l->slot);
		l->slot = ns;
		l->cap = ncap;
		a = probe(l->slot, l->cap, id);
	}
	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "%.12s", id);
	l->used++;
	return a;
}

int
limits_charge(struct limits *l, const char *account, double rate, int64_t max_24h, int64_t sent,
	      int64_t now_us, size_t n, struct err *e)
{
	struct account_limit *a;
	int rc;

	pthread_mutex_lock(&l->mu);
	a = entry(l, account);
	rc = quota_daily_check(max_24h, sent + a->pending, n, e);
	if (rc == 0)
		rc = quota_rate_take(&a->bucket, rate, now_us, n, e);
	if (rc == 0)
		a->pending += (int64_t)n;
	pthread_mutex_unlock(&l->mu);
	return rc;
}

void
limits_settle(struct limits *l, const char *account, double rate, size_t n, bool committed)
{
	struct account_limit *a;

	pthread_mutex_lock(&l->mu);
	a = entry(l, account);
	a->pending -= (int64_t)n;
	if (a->pending < 0)
		a->pending = 0;
	if (!committed)
		quota_rate_refund(&a->bucket, rate, n);
	pthread_mutex_unlock(&l->mu);
}

int64_t
limits_pending(struct limits *l, const char *account)
{
	int64_t p;

	pthread_mutex_lock(&l->mu);
	p = entry(l, account)->pending;
	pthread_mutex_unlock(&l->mu);
	return p;
}

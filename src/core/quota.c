/*
 * quota.c — token bucket and 24-hour window arithmetic; see quota.h.
 * Pure: the state lives in the caller's struct quota_bucket, time comes in
 * as an argument. Doubles are fine here: rates are small, and a token
 * bucket only needs to be right to a fraction of a recipient.
 */
#include "core/quota.h"

/* The bucket's size: one second of sending, but never less than one whole
 * token, or a rate below 1 could never send at all. */
static double
capacity(double rate)
{
	return rate < 1.0 ? 1.0 : rate;
}

static int
throttled(struct err *e, const char *msg)
{
	err_set(e, 400, "Throttling", "%s", msg);
	if (e != NULL) {
		e->smtp = 454;
		e->temporary = true;
	}
	return -1;
}

static void
refill(struct quota_bucket *b, double rate, int64_t now_us)
{
	double cap = capacity(rate);

	if (!b->started) {
		b->tokens = cap;
		b->last_us = now_us;
		b->started = true;
		return;
	}
	if (now_us > b->last_us) {
		b->tokens += (double)(now_us - b->last_us) * rate / 1e6;
		if (b->tokens > cap)
			b->tokens = cap;
		b->last_us = now_us;
	}
}

int
quota_rate_take(struct quota_bucket *b, double rate, int64_t now_us, size_t n, struct err *e)
{
	if (rate < 0)
		return 0; /* unlimited */
	if (rate == 0)
		return throttled(e, QUOTA_RATE_MESSAGE);
	refill(b, rate, now_us);
	/* one whole token admits the send; the rest of its recipients may be
	 * owed (the bucket goes negative). The epsilon forgives the rounding of
	 * a refill that should have landed exactly on 1. */
	if (b->tokens < 1.0 - 1e-9)
		return throttled(e, QUOTA_RATE_MESSAGE);
	b->tokens -= (double)n;
	return 0;
}

void
quota_rate_refund(struct quota_bucket *b, double rate, size_t n)
{
	double cap = capacity(rate);

	if (rate <= 0 || !b->started)
		return;
	b->tokens += (double)n;
	if (b->tokens > cap)
		b->tokens = cap;
}

int
quota_daily_check(int64_t max, int64_t sent, size_t n, struct err *e)
{
	if (max < 0)
		return 0;
	if (sent < 0)
		sent = 0;
	if ((uint64_t)sent + (uint64_t)n > (uint64_t)max)
		return throttled(e, QUOTA_DAILY_MESSAGE);
	return 0;
}

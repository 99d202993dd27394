/*
 * quota.h — the arithmetic of an account's sending limits (spec §9,
 * DESIGN.md "Semantics we pin"), pure: no clock, no store, no locks. The
 * caller passes the time and the counts; src/send/limits.c keeps the state
 * per account and charges it to the *caller's* account, never the identity
 * owner's.
 *
 * Rate (MaxSendRate, recipients per second): a token bucket that holds one
 * second of sending — `rate` tokens, refilled continuously at `rate` per
 * second, full at first use. A send is accepted when at least one whole
 * token is there; it then takes one token per recipient and may leave the
 * bucket negative (a debt that blocks later sends until refilled). So with
 * a rate of 1 a burst of 5 single-recipient sends gets 4 refusals, and one
 * send to 5 recipients is accepted and blocks the next ~5 seconds, as SES
 * does. A rate below 1 still holds one token (else it could never send);
 * a rate of 0 refuses everything; a negative rate means unlimited.
 *
 * Daily (Max24HourSend, recipients per rolling 24 h): `sent` recipients in
 * the window plus the `n` of this send must not pass `max`; -1 = unlimited.
 *
 * Refusals are SES's `Throttling` (HTTP 400, SMTP 454), marked temporary.
 */
#ifndef SESAME_CORE_QUOTA_H
#define SESAME_CORE_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define QUOTA_RATE_MESSAGE "Maximum sending rate exceeded."
#define QUOTA_DAILY_MESSAGE "Daily message quota exceeded."

struct quota_bucket {
	double tokens;   /* may be negative: recipients owed */
	int64_t last_us; /* time of the last refill, microseconds */
	bool started;    /* false: full at the next take */
};

/*
 * Refill `b` up to `now_us` and take `n` recipients at `rate` per second.
 * 0 = accepted (tokens taken); -1 = refused with Throttling "Maximum sending
 * rate exceeded." in e (nothing taken). A clock that goes backwards refills
 * nothing. n == 0 takes nothing and is accepted when a send would be.
 */
int quota_rate_take(struct quota_bucket *b, double rate, int64_t now_us, size_t n, struct err *e);

/* Give back `n` recipients taken by quota_rate_take (a send that failed
 * after it was charged). Never fills the bucket past its size. */
void quota_rate_refund(struct quota_bucket *b, double rate, size_t n);

/*
 * The 24-hour window: 0 when `sent + n <= max` or max == -1 (any negative
 * max is unlimited), else -1 with Throttling "Daily message quota exceeded.".
 */
int quota_daily_check(int64_t max, int64_t sent, size_t n, struct err *e);

#endif

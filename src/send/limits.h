/*
 * limits.h — the sending limits of each account as this process enforces
 * them (a stage of the send pipeline, src/send/, run by send_submit): one
 * MaxSendRate token bucket per account (core/quota) and the
 * recipients charged to the 24-hour window but not yet committed by the
 * queue. Shared by every event-loop thread (HTTP and SMTP front ends), so
 * one mutex guards it; the critical section is a table probe and a few
 * additions.
 *
 * The charge always goes to the *caller's* (the delegate's) account.
 *
 * Pending recipients close the race between two sends read against the
 * same committed count: `sent` (from the store) + pending + n is what the
 * window check sees. A send's recipients stay pending from limits_charge
 * until limits_settle. The store counts them from the commit on, so for
 * the instant between commit and settle they are counted twice — a refusal
 * can come a hair early, never late.
 *
 * Across nodes the bucket is per process (each node allows MaxSendRate);
 * the 24-hour window is the store's and so is shared.
 */
#ifndef SESAME_SEND_LIMITS_H
#define SESAME_SEND_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct limits;

struct limits *limits_new(void);
void limits_free(struct limits *l);


/*
 * Charge a send of `n` recipients to `account`: first the 24-hour window
 * (`sent` = recipients the store counts in the window; max_24h -1 =
 * unlimited), then the token bucket at `rate` per second at time now_us.
 * 0 = charged (n recipients pending until limits_settle); -1 = Throttling
 * in e and nothing charged.
 */
int limits_charge(struct limits *l, const char *account, double rate, int64_t max_24h,
		  int64_t sent, int64_t now_us, size_t n, struct err *e);

/*
 * End a charge: the n recipients are no longer pending. committed = the
 * store now counts them; !committed = the send failed after the charge,
 * so the rate tokens are given back too.
 */
void limits_settle(struct limits *l, const char *account, double rate, size_t n, bool committed);

/* Recipients charged to `account` and not yet settled (for tests). */
int64_t limits_pending(struct limits *l, const char *account);

#endif

/*
 * reputation.h — when an account's own bounces and complaints pause it
 * (pure: counts in, a decision out). DESIGN.md "Semantics we pin": rates are
 * over the sending account's recipients of the trailing 24 h (since its last
 * `sesame account resume`, when that is later); once at least `min_volume`
 * recipients were sent, a bounce rate (Permanent bounces / recipients) >=
 * `bounce_rate` or a complaint rate >= `complaint_rate` pauses the account.
 */
#ifndef SESAME_CORE_REPUTATION_H
#define SESAME_CORE_REPUTATION_H

#include <stddef.h>
#include <stdint.h>

struct reputation_limits {
	double bounce_rate;      /* --pause-bounce-rate */
	double complaint_rate;   /* --pause-complaint-rate */
	int64_t min_volume;      /* --reputation-min-volume */
};

struct reputation {
	int64_t volume, bounces, complaints;
	double bounce_rate, complaint_rate; /* 0 when volume is 0 */
};

/* Fill the rates of r from its counts. */
void reputation_rates(struct reputation *r);

/* The reason to pause (written into `out`, e.g. "bounce rate 0.1200 >= 0.1000
 * over 25 recipients") and 1, or 0 when the account keeps sending. */
int reputation_should_pause(const struct reputation *r, const struct reputation_limits *l,
			    char *out, size_t cap);

#endif

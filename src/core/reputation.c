/* reputation.c — the pause rule (reputation.h). */
#include "core/reputation.h"

#include <stdio.h>

void
reputation_rates(struct reputation *r)
{
	r->bounce_rate = r->volume > 0 ? (double)r->bounces / (double)r->volume : 0;
	r->complaint_rate = r->volume > 0 ? (double)r->complaints / (double)r->volume : 0;
}

int
reputation_should_pause(const struct reputation *r, const struct reputation_limits *l,
			char *out, size_t cap)
{
	if (r->volume <= 0 || r->volume < l->min_volume)
		return 0;
	if (r->bounces > 0 && r->bounce_rate >= l->bounce_rate) {
		snprintf(out, cap, "bounce rate %.4f >= %.4f over %lld recipients", r->bounce_rate,
			 l->bounce_rate, (long long)r->volume);
		return 1;
	}
	if (r->complaints > 0 && r->complaint_rate >= l->complaint_rate) {
		snprintf(out, cap, "complaint rate %.4f >= %.4f over %lld recipients",
			 r->complaint_rate, l->complaint_rate, (long long)r->volume);
		return 1;
	}
	return 0;
}

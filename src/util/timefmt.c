/*
 * timefmt.c — ISO-8601 timestamps (timefmt.h). gmtime_r only: the check
 * script bans gmtime and localtime (not thread-safe).
 */
#include "util/timefmt.h"

#include <stdio.h>
#include <time.h>

void
timefmt_iso_ms(int64_t ms, char out[TIMEFMT_LEN])
{
	time_t t;
	struct tm tm;

	if (ms < 0)
		ms = 0;
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, TIMEFMT_LEN, "1970-01-01T00:00:00.000Z");
		return;
	}
	/* the year fits 4 digits for any time sesame sees; strftime bounds it */
	char base[24];
	if (strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		base[0] = '\0';
	snprintf(out, TIMEFMT_LEN, "%.23s.%03dZ", base, (int)(ms % 1000));
}

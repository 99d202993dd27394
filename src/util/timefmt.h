/*
 * timefmt.h — the one ISO-8601 formatter: UTC with milliseconds and a Z,
 * as SES writes every timestamp ("2024-05-01T12:00:00.123Z").
 */
#ifndef SESAME_UTIL_TIMEFMT_H
#define SESAME_UTIL_TIMEFMT_H

#include <stdint.h>

#define TIMEFMT_LEN 32

/* `ms` unix milliseconds (>= 0) into out (always NUL-terminated). */
void timefmt_iso_ms(int64_t ms, char out[TIMEFMT_LEN]);

#endif

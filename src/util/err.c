/* err.c — filling struct err; see err.h. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
err_set(struct err *e, int http, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	memset(e, 0, sizeof(*e));
	snprintf(e->code, sizeof(e->code), "%s", code);
	e->http = http;
	e->temporary = http >= 500;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

int
err_temp(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	memset(e, 0, sizeof(*e));
	snprintf(e->code, sizeof(e->code), "%s", "ServiceUnavailable");
	e->http = 503;
	e->smtp = 451;
	e->temporary = true;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

void
err_clear(struct err *e)
{
	if (e != NULL)
		memset(e, 0, sizeof(*e));
}

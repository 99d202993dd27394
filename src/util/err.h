/*
 * err.h — the one error record every fallible function fills.
 *
 * Functions return 0 on success and -1 on failure, filling a caller-owned
 * struct err with the SES error code (the literal <Code> of the Query API),
 * the HTTP status, the SMTP reply code and a message in SES's own words.
 * Temporary failures (storage, DNS) keep `temporary` set so front ends answer
 * 4xx/5xx "try again" instead of a permanent refusal.
 */
#ifndef SESAME_UTIL_ERR_H
#define SESAME_UTIL_ERR_H

#include <stdbool.h>

struct err {
	char code[64];      /* SES error code, e.g. "MessageRejected" */
	int http;           /* HTTP status, e.g. 400 */
	int smtp;           /* SMTP reply code, e.g. 554; 0 = derive from http */
	bool temporary;     /* retry may succeed (Receiver fault / 4xx SMTP) */
	char message[1024]; /* human text, SES wording */
};

/* Fill `e` (may be NULL) and return -1, so `return err_set(...)` reads well. */
int err_set(struct err *e, int http, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Same as err_set but marks the failure temporary (HTTP 500/503, SMTP 451). */
int err_temp(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void err_clear(struct err *e);

#endif

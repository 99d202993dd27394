/*
 * report_check.h — the invariants of struct report (src/feedback/report.h)
 * that dsn_fuzz and arf_fuzz check after every report_parse: the count is
 * capped, every string is NUL-terminated inside its array, valid UTF-8 and
 * free of control bytes, Status and Action hold only what report.h allows,
 * and a report of kind REPORT_OTHER is empty.
 */
#ifndef SESAME_FUZZ_REPORT_CHECK_H
#define SESAME_FUZZ_REPORT_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/report.h"
#include "util/utf8.h"

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_str(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);

	check(nul != NULL);
	check(utf8_valid(s, (size_t)(nul - s)));
	for (const char *p = s; p < nul; p++)
		check((unsigned char)*p >= 0x20 && *p != 0x7f);
}

#define CHECK_STR(f) check_str((f), sizeof(f))

static void
check_status(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return;
	check(n >= 5 && (s[0] == '2' || s[0] == '4' || s[0] == '5') && s[1] == '.');
	for (size_t i = 2; i < n; i++)
		check((s[i] >= '0' && s[i] <= '9') || s[i] == '.');
}

static void
check_action(const char *s)
{
	check(s[0] == '\0' || strcmp(s, "failed") == 0 || strcmp(s, "delayed") == 0 ||
	      strcmp(s, "delivered") == 0 || strcmp(s, "relayed") == 0 ||
	      strcmp(s, "expanded") == 0);
}

static void
check_report(const struct report *r, enum report_kind kind)
{
	check(r->kind == kind);
	check(r->nrcpt <= REPORT_MAX_RCPTS);
	CHECK_STR(r->reporting_mta);
	CHECK_STR(r->arrival_date);
	CHECK_STR(r->feedback_type);
	CHECK_STR(r->user_agent);
	CHECK_STR(r->original_rcpt_to);
	CHECK_STR(r->original_mail_from);
	CHECK_STR(r->source_ip);
	CHECK_STR(r->original_message_id);
	CHECK_STR(r->original_to);
	for (size_t i = 0; i < r->nrcpt; i++) {
		const struct report_rcpt *c = &r->rcpt[i];
		CHECK_STR(c->final_recipient);
		CHECK_STR(c->original_recipient);
		CHECK_STR(c->action);
		CHECK_STR(c->status);
		CHECK_STR(c->diagnostic_code);
		CHECK_STR(c->remote_mta);
		check_status(c->status);
		check_action(c->action);
	}
	if (kind != REPORT_DSN)
		check(r->nrcpt == 0);
	if (kind == REPORT_OTHER)
		check(r->reporting_mta[0] == '\0' && r->original_message_id[0] == '\0' &&
		      r->original_to[0] == '\0' && r->feedback_type[0] == '\0');
}

/* prefix + data + suffix in a new buffer (free()). */
static char *
wrap(const char *prefix, const uint8_t *data, size_t size, const char *suffix, size_t *len_out)
{
	size_t a = strlen(prefix), c = strlen(suffix);
	char *p = malloc(a + size + c);

	check(p != NULL);
	memcpy(p, prefix, a);
	if (size > 0)
		memcpy(p + a, data, size);
	memcpy(p + a + size, suffix, c);
	*len_out = a + size + c;
	return p;
}

#endif

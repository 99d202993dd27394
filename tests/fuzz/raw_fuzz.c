/*
 * raw_fuzz.c — libFuzzer target for the raw-message header work
 * (src/mail/raw.c): raw_parse on any bytes, then everything SendRawEmail
 * does with a message that parsed — From, recipients, the SES control
 * headers, Subject decoding — and raw_render. Checks the invariants raw.c
 * promises: the copy holds CRLF line ends only, the fields tile the header
 * section, and the rendered message parses again with no SES control
 * header, no Bcc and exactly one Message-ID and Date.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/build.h"
#include "mail/raw.h"
#include "util/buf.h"

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_invariants(const struct raw_msg *m)
{
	size_t pos = 0;

	for (size_t i = 0; i < m->len; i++) {
		check(m->data[i] != '\0');
		if (m->data[i] == '\n')
			check(i > 0 && m->data[i - 1] == '\r');
		if (m->data[i] == '\r')
			check(i + 1 < m->len && m->data[i + 1] == '\n');
	}
	for (size_t i = 0; i < m->nfields; i++) {
		const struct raw_field *f = &m->field[i];
		check(f->off == pos);
		check(f->name_len > 0 && m->data[f->off + f->name_len] == ':');
		check(f->value_off == f->off + f->name_len + 1);
		pos = f->off + f->len;
	}
	check(pos <= m->body_off && m->body_off <= m->len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct raw_msg *m = NULL, *again = NULL;
	struct address from, *rcpt = NULL;
	struct err e;
	struct buf out;
	size_t n = 0;
	char *v;

	if (raw_parse(data, size, &m, &e) != 0) {
		check(m == NULL && e.code[0] != '\0');
		return 0;
	}
	check_invariants(m);
	raw_from(m, &from, &e);
	if (raw_recipients(m, &rcpt, &n, &e) == 0)
		check(n <= RAW_MAX_RECIPIENTS && (n == 0) == (rcpt == NULL));
	free(rcpt);
	free(raw_get(m, "X-SES-SOURCE-ARN"));
	free(raw_get(m, "X-SES-MESSAGE-TAGS"));
	if ((v = raw_get(m, "Subject")) != NULL) {
		free(build_decode_header(v));
		free(v);
	}

	buf_init(&out, 0);
	check(raw_render(m, "Tue, 14 Nov 2023 22:13:20 +0000", "<id@email.amazonses.com>", &out) == 0);
	/* what we deliver parses again, and SES's rules hold on it */
	if (raw_parse(out.data, out.len, &again, &e) == 0) {
		check(again->len == out.len); /* already CRLF */
		check(raw_find(again, "Bcc", 0) < 0);
		check(raw_find(again, "X-SES-SOURCE-ARN", 0) < 0);
		check(raw_find(again, "X-SES-FROM-ARN", 0) < 0);
		check(raw_find(again, "X-SES-RETURN-PATH-ARN", 0) < 0);
		check(raw_find(again, "X-SES-CONFIGURATION-SET", 0) < 0);
		check(raw_find(again, "X-SES-MESSAGE-TAGS", 0) < 0);
		long id = raw_find(again, "Message-ID", 0);
		check(id >= 0 && raw_find(again, "Message-ID", (size_t)id + 1) < 0);
		long d = raw_find(again, "Date", 0);
		check(d >= 0 && raw_find(again, "Date", (size_t)d + 1) < 0);
		raw_free(again);
	} else {
		/* only the caps can refuse a message that parsed before:
		 * rendering adds two header lines */
		size_t hdr = m->has_body ? m->body_off : m->len;
		check(out.len > RAW_MAX_BYTES || hdr + 200 > RAW_HEADER_MAX ||
		      m->nfields + 2 > RAW_MAX_FIELDS);
	}
	buf_free(&out);
	raw_free(m);
	return 0;
}

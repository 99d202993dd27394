/*
 * smtpc_reply_fuzz.c — libFuzzer target for the outbound client's reply
 * parser (src/delivery/smtpc.c: smtpc_reply_parse, smtpc_reply_text,
 * smtpc_ehlo_parse). Besides "no crash, no leak, no UB, no read past the
 * input" (the input is copied to a buffer of exactly its size) it checks:
 *  - OK: 0 < used <= len, the code is 2..5/0..5/0..9, 1..LINES_MAX lines,
 *    every slice lies inside the consumed bytes, the status is "c.s.d"
 *    with the code's class; parsing exactly the consumed bytes gives the
 *    same reply, and one byte less is MORE (a reply ends at its last LF);
 *    the text is printable ASCII and within the cap;
 *  - MORE: every shorter prefix is MORE too (errors are never undone);
 *  - parsing replies back to back never loops.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/smtpc.h"

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static void
check_status(const struct smtpc_reply *r)
{
	const char *s = r->status;
	size_t n = strlen(s), dots = 0;

	CHECK(n >= 5 && n <= 9);
	CHECK(s[0] == '0' + r->code / 100 && s[1] == '.');
	for (size_t i = 2; i < n; i++) {
		if (s[i] == '.')
			dots++;
		else
			CHECK(s[i] >= '0' && s[i] <= '9');
	}
	CHECK(dots == 1);
	if (!r->status_parsed)
		CHECK(strcmp(s + 1, ".0.0") == 0);
}

static void
check_ok(const char *buf, size_t len, const struct smtpc_reply *r, size_t used)
{
	struct smtpc_reply again;
	size_t used2;
	char text[SMTPC_TEXT_MAX];
	struct smtpc_ehlo x;

	CHECK(used > 0 && used <= len);
	CHECK(r->code >= 200 && r->code <= 559 && r->code % 100 <= 59);
	CHECK(r->nlines >= 1 && r->nlines <= SMTPC_REPLY_LINES_MAX);
	for (size_t i = 0; i < r->nlines; i++) {
		CHECK(r->line[i].p >= buf && r->line[i].p + r->line[i].n <= buf + used);
		CHECK(r->line[i].n <= SMTPC_LINE_MAX);
		CHECK(memchr(r->line[i].p, '\n', r->line[i].n) == NULL);
	}
	check_status(r);
	CHECK(smtpc_reply_parse(buf, used, &again, &used2) == SMTPC_PARSE_OK);
	CHECK(used2 == used && again.code == r->code && again.nlines == r->nlines);
	CHECK(strcmp(again.status, r->status) == 0);
	CHECK(smtpc_reply_parse(buf, used - 1, &again, &used2) == SMTPC_PARSE_MORE);
	smtpc_reply_text(r, text, sizeof(text));
	CHECK(strlen(text) < sizeof(text));
	for (size_t i = 0; text[i] != '\0'; i++)
		CHECK(text[i] >= 0x20 && text[i] < 0x7f);
	smtpc_ehlo_parse(r, &x);
	if (!x.size)
		CHECK(x.size_max == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	size_t off = 0;

	memcpy(buf, data, size);
	for (int replies = 0; replies < 1000; replies++) {
		struct smtpc_reply r;
		size_t used = 0;
		enum smtpc_parse p = smtpc_reply_parse(buf + off, size - off, &r, &used);
		if (p == SMTPC_PARSE_OK) {
			check_ok(buf + off, size - off, &r, used);
			off += used;
			continue;
		}
		if (p == SMTPC_PARSE_MORE) {
			size_t half = (size - off) / 2;
			CHECK(smtpc_reply_parse(buf + off, half, &r, &used) == SMTPC_PARSE_MORE);
		}
		break;
	}
	free(buf);
	return 0;
}

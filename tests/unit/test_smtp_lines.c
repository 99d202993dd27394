/*
 * test_smtp_lines.c — SMTP command lines and DATA framing (src/util/smtp_lines.c)
 * on their own. Each input of a table is run through a driver that plays
 * the caller (a buffer that keeps what was not consumed) and writes down a
 * trace of what it was told; the trace must be the expected one whether
 * the input comes in one piece, byte by byte, or split in two or three at
 * every possible boundary. Every smuggling ending (\n.\n, \n.\r\n,
 * \r\n.\n, \r.\r, bare CR), dot-stuffing, and the caps at limit-1, limit
 * and limit+1 are in the tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/smtp_lines.h"
#include "util/buf.h"

#define S(lit) lit, sizeof(lit) - 1

/* Append `p` to the trace with CR, LF and NUL visible. */
static void
trace_bytes(struct buf *t, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r')
			buf_puts(t, "\\r");
		else if (p[i] == '\n')
			buf_puts(t, "\\n");
		else if (p[i] == '\0')
			buf_puts(t, "\\0");
		else
			buf_putc(t, p[i]);
	}
}

/* `p` made printable for a failure message (static: one at a time). */
static const char *
shown(const char *p, size_t n)
{
	static char out[256];
	struct buf t;

	buf_init(&t, 0);
	trace_bytes(&t, p, n);
	snprintf(out, sizeof(out), "%s", t.data ? t.data : "");
	buf_free(&t);
	return out;
}

/* ---- DATA ------------------------------------------------------------------- */

/*
 * Feed in[0..n) cut at cuts[0..ncuts) (increasing) to a framer with cap
 * `max`, restarting it after each END, into `t`: "M(<message>)" per END,
 * "BIG" for an END past the cap, "LF@k" / "CR@k" for a bare LF / CR after
 * k consumed bytes (and nothing after), "..." if the input ends inside a
 * message.
 */
static void
frame(const char *in, size_t n, const size_t *cuts, size_t ncuts, size_t max, struct buf *t)
{
	struct smtp_lines_data d;
	struct buf pend, msg;
	size_t from = 0, consumed = 0;
	bool stopped = false;

	buf_init(&pend, 0);
	buf_init(&msg, 0);
	buf_reset(t);
	smtp_lines_data_start(&d, max);
	for (size_t c = 0; c <= ncuts && !stopped; c++) {
		size_t to = c < ncuts ? cuts[c] : n;
		buf_append(&pend, in + from, to - from);
		from = to;
		size_t off = 0;
		while (!stopped) {
			const char *chunk;
			size_t len, used;
			enum smtp_lines_data_ev ev = smtp_lines_data_next(
			    &d, pend.data + off, pend.len - off, &chunk, &len, &used);
			assert_true(used <= pend.len - off);
			off += used;
			consumed += used;
			if (ev == SMTP_LINES_DATA_MORE) {
				assert_int_equal(off, pend.len); /* MORE takes it all */
				break;
			}
			if (ev == SMTP_LINES_DATA_CHUNK) {
				assert_true(len > 0);
				assert_true(chunk >= pend.data && chunk + len <= pend.data + off);
				buf_append(&msg, chunk, len);
				assert_true(msg.len <= max);
				continue;
			}
			if (ev == SMTP_LINES_DATA_END) {
				if (smtp_lines_data_big(&d)) {
					buf_puts(t, "BIG");
				} else {
					buf_puts(t, "M(");
					trace_bytes(t, msg.data ? msg.data : "", msg.len);
					buf_puts(t, ")");
				}
				/* sticky until started again */
				assert_int_equal(
				    smtp_lines_data_next(&d, "x", 1, &chunk, &len, &used),
				    SMTP_LINES_DATA_END);
				assert_int_equal(used, 0);
				buf_reset(&msg);
				smtp_lines_data_start(&d, max);
				continue;
			}
			buf_printf(t, "%s@%zu", ev == SMTP_LINES_DATA_BARE_LF ? "LF" : "CR",
				   consumed);
			assert_int_equal(smtp_lines_data_next(&d, ".\r\n", 3, &chunk, &len, &used),
					 ev);
			assert_int_equal(used, 0);
			stopped = true;
		}
		memmove(pend.data, pend.data + off, pend.len - off);
		pend.len -= off;
	}
	if (!stopped && (d.st != 0 || pend.len > 0 || msg.len > 0 || d.size > 0))
		buf_puts(t, "...");
	buf_free(&pend);
	buf_free(&msg);
}

/* Every chunking of `in` gives `want`. */
static void
frame_all(const char *in, size_t n, size_t max, const char *want)
{
	struct buf t;
	size_t cuts[4096];

	buf_init(&t, 0);
	frame(in, n, NULL, 0, max, &t);
	if (strcmp(t.data ? t.data : "", want) != 0)
		fail_msg("one piece of \"%s\": got %s, want %s", shown(in, n), t.data ? t.data : "",
			 want);
	assert_true(n <= sizeof(cuts) / sizeof(cuts[0]));
	for (size_t i = 1; i < n; i++)
		cuts[i - 1] = i;
	frame(in, n, cuts, n > 0 ? n - 1 : 0, max, &t);
	if (strcmp(t.data ? t.data : "", want) != 0)
		fail_msg("byte by byte of \"%s\": got %s, want %s", shown(in, n),
			 t.data ? t.data : "", want);
	for (size_t i = 1; i < n; i++) {
		cuts[0] = i;
		frame(in, n, cuts, 1, max, &t);
		if (strcmp(t.data ? t.data : "", want) != 0)
			fail_msg("\"%s\" cut at %zu: got %s, want %s", shown(in, n), i,
				 t.data ? t.data : "", want);
		for (size_t j = i + 1; j < n && n <= 64; j++) {
			cuts[1] = j;
			frame(in, n, cuts, 2, max, &t);
			if (strcmp(t.data ? t.data : "", want) != 0)
				fail_msg("\"%s\" cut at %zu, %zu: got %s, want %s", shown(in, n), i,
					 j, t.data ? t.data : "", want);
		}
	}
	buf_free(&t);
}

static void
test_data_framing(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
	    /* the end, and only the end */
	    {S(".\r\n"), "M()"},
	    {S("a\r\n.\r\n"), "M(a\\r\\n)"},
	    {S("\r\n.\r\n"), "M(\\r\\n)"},
	    {S("\r\n\r\n.\r\n"), "M(\\r\\n\\r\\n)"},
	    {S("a.\r\n.\r\n"), "M(a.\\r\\n)"},
	    {S("a\r\n. \r\n.\r\n"), "M(a\\r\\n \\r\\n)"},
	    {S("a\r\n.\r\nrest"), "M(a\\r\\n)..."},
	    {S("a\r\n.\r\n.\r\n"), "M(a\\r\\n)M()"},
	    {S("a\r\n.\r\nb\r\n.\r\n"), "M(a\\r\\n)M(b\\r\\n)"},
	    {S("Subject: x\r\n\r\nbody\r\nmore\r\n.\r\n"),
	     "M(Subject: x\\r\\n\\r\\nbody\\r\\nmore\\r\\n)"},
	    {S("a\0b\r\n.\r\n"), "M(a\\0b\\r\\n)"},
	    /* dot-stuffing */
	    {S("..\r\n.\r\n"), "M(.\\r\\n)"},
	    {S("...\r\n.\r\n"), "M(..\\r\\n)"},
	    {S(".x\r\n.\r\n"), "M(x\\r\\n)"},
	    {S("a\r\n..\r\n.\r\n"), "M(a\\r\\n.\\r\\n)"},
	    {S("a\r\n..\r\n..\r\n.\r\n"), "M(a\\r\\n.\\r\\n.\\r\\n)"},
	    {S("a\r\n.. x\r\n.\r\n"), "M(a\\r\\n. x\\r\\n)"},
	    /* smuggling endings: terminal at the first bare byte */
	    {S("a\n.\n"), "LF@2"},
	    {S("a\n.\r\n"), "LF@2"},
	    {S("a\r\n.\n"), "LF@5"},
	    {S("a\r.\r"), "CR@3"},
	    {S("a\r.\r\n"), "CR@3"},
	    {S("a\r\n.\rMAIL FROM:<x@y>\r\n"), "CR@6"},
	    {S("a\rb\r\n.\r\n"), "CR@3"},
	    {S("a\r\r\n.\r\n"), "CR@3"},
	    {S("\n.\r\n"), "LF@1"},
	    {S(".\n"), "LF@2"},
	    {S("..\n"), "LF@3"},
	    {S("\r.\r\n"), "CR@2"},
	    {S("a\r\n.\r\nb\n.\r\n"), "M(a\\r\\n)LF@8"},
	    {S("a\r\n\n.\r\n"), "LF@4"},
	    /* unfinished */
	    {S(""), ""},
	    {S("a"), "..."},
	    {S("a\r"), "..."},
	    {S("a\r\n"), "..."},
	    {S("a\r\n."), "..."},
	    {S("a\r\n.\r"), "..."},
	    {S("."), "..."},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		frame_all(cases[i].in, cases[i].len, 1000, cases[i].want);
}

static void
test_data_cap(void **state)
{
	char in[64], want[128];
	struct buf t;

	/* messages of limit-1, limit, limit+1 bytes under a cap of 10 */
	for (size_t k = 9; k <= 11; k++) {
		memset(in, 'x', k - 2);
		memcpy(in + k - 2, "\r\n.\r\n", 5);
		if (k <= 10) {
			buf_init(&t, 0);
			buf_puts(&t, "M(");
			trace_bytes(&t, in, k);
			buf_puts(&t, ")");
			snprintf(want, sizeof(want), "%s", t.data);
			buf_free(&t);
		} else {
			snprintf(want, sizeof(want), "BIG");
		}
		frame_all(in, k + 3, 10, want);
	}
	/* the cap counts the unstuffed message: "..\r\n" is 3 bytes */
	frame_all(S("..\r\n.\r\n"), 3, "M(.\\r\\n)");
	frame_all(S("..\r\n.\r\n"), 2, "BIG");
	/* an empty message under a cap of 0; past the cap a bare LF still ends it all */
	frame_all(S(".\r\n"), 0, "M()");
	frame_all(S("abc\r\nd\ne\r\n.\r\n"), 2, "LF@7");
	/* the framer restarts with its cap: a big one, then a small one */
	frame_all(S("0123456789ab\r\n.\r\nok\r\n.\r\n"), 10, "BIGM(ok\\r\\n)");
}

/* ---- command lines ---------------------------------------------------------- */

/* Feed in[0..n) cut at cuts into a line reader: "L(<line>)" per line,
 * "B(<line>)" for a bare-LF line, "N" marks one with a NUL, "LONG" per
 * long line. */
static void
read_lines(const char *in, size_t n, const size_t *cuts, size_t ncuts, struct buf *t)
{
	struct smtp_lines r;
	struct buf pend;
	size_t from = 0;

	smtp_lines_init(&r);
	buf_init(&pend, 0);
	buf_reset(t);
	for (size_t c = 0; c <= ncuts; c++) {
		size_t to = c < ncuts ? cuts[c] : n;
		buf_append(&pend, in + from, to - from);
		from = to;
		size_t off = 0;
		for (;;) {
			struct smtp_lines_line l;
			size_t used;
			enum smtp_lines_ev ev =
			    smtp_lines_next(&r, pend.data + off, pend.len - off, &l, &used);
			assert_true(used <= pend.len - off);
			if (ev == SMTP_LINES_LINE) {
				assert_true(l.p >= pend.data + off &&
					    l.p + l.len < pend.data + off + used);
				buf_puts(t, l.bare_lf ? "B(" : "L(");
				trace_bytes(t, l.p, l.len);
				buf_puts(t, l.nul ? ")N" : ")");
			} else if (ev == SMTP_LINES_LONG) {
				buf_puts(t, "LONG");
			}
			off += used;
			if (ev == SMTP_LINES_MORE)
				break;
			assert_true(used > 0);
		}
		/* the caller keeps what is left, and it is less than a line */
		assert_true(pend.len - off < SMTP_LINE_MAX);
		memmove(pend.data, pend.data + off, pend.len - off);
		pend.len -= off;
	}
	buf_free(&pend);
}

static void
lines_all(const char *in, size_t n, const char *want)
{
	struct buf t;
	size_t *cuts = calloc(n + 1, sizeof(*cuts));

	buf_init(&t, 0);
	read_lines(in, n, NULL, 0, &t);
	if (strcmp(t.data ? t.data : "", want) != 0)
		fail_msg("one piece: got %.200s, want %.200s", t.data ? t.data : "", want);
	for (size_t i = 1; i < n; i++)
		cuts[i - 1] = i;
	read_lines(in, n, cuts, n > 0 ? n - 1 : 0, &t);
	if (strcmp(t.data ? t.data : "", want) != 0)
		fail_msg("byte by byte: got %.200s, want %.200s", t.data ? t.data : "", want);
	for (size_t i = 1; i<n; i += n> 64 ? 7 : 1) {
		cuts[0] = i;
		read_lines(in, n, cuts, 1, &t);
		if (strcmp(t.data ? t.data : "", want) != 0)
			fail_msg("cut at %zu: got %.200s, want %.200s", i, t.data ? t.data : "",
				 want);
	}
	buf_free(&t);
	free(cuts);
}

static void
test_command_lines(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
	    {S("NOOP\r\n"), "L(NOOP)"},
	    {S("NOOP\r\nQUIT\r\n"), "L(NOOP)L(QUIT)"},
	    {S("NOOP\n"), "B(NOOP)"},
	    {S("\r\n"), "L()"},
	    {S("\n"), "B()"},
	    {S("NO\rOP\r\n"), "L(NO\\rOP)"},
	    {S("NOOP\r\r\n"), "L(NOOP\\r)"},
	    {S("NO\0OP\r\n"), "L(NO\\0OP)N"},
	    {S("NOOP"), ""},
	    {S("NOOP\r"), ""},
	    {S("A\r\nB\nC"), "L(A)B(B)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		lines_all(cases[i].in, cases[i].len, cases[i].want);
}

static void
test_command_line_cap(void **state)
{
	char in[3 * SMTP_LINE_MAX];
	char want[2 * SMTP_LINE_MAX];

	/* limit-1, limit, limit+1 bytes, CRLF included; then a short line */
	for (size_t k = SMTP_LINE_MAX - 1; k <= SMTP_LINE_MAX + 1; k++) {
		memset(in, 'a', k - 2);
		memcpy(in + k - 2, "\r\nNOOP\r\n", 8);
		if (k <= SMTP_LINE_MAX)
			snprintf(want, sizeof(want), "L(%.*s)L(NOOP)", (int)(k - 2), in);
		else
			snprintf(want, sizeof(want), "LONGL(NOOP)");
		lines_all(in, k + 6, want);
		/* the same with a bare LF: limit-1, limit, limit+1 bytes, LF included */
		memset(in, 'a', k - 1);
		memcpy(in + k - 1, "\nNOOP\r\n", 7);
		if (k <= SMTP_LINE_MAX)
			snprintf(want, sizeof(want), "B(%.*s)L(NOOP)", (int)(k - 1), in);
		else
			snprintf(want, sizeof(want), "LONGL(NOOP)");
		lines_all(in, k + 6, want);
	}
	/* a line of three times the cap is one LONG, however it arrives */
	memset(in, 'x', sizeof(in));
	memcpy(in + sizeof(in) - 8, "\r\nQUIT\r\n", 8);
	lines_all(in, sizeof(in), "LONGL(QUIT)");
	/* two long lines back to back */
	memset(in, 'y', sizeof(in));
	in[SMTP_LINE_MAX + 10] = '\n';
	in[sizeof(in) - 1] = '\n';
	lines_all(in, sizeof(in), "LONGLONG");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_data_framing),
	    cmocka_unit_test(test_data_cap),
	    cmocka_unit_test(test_command_lines),
	    cmocka_unit_test(test_command_line_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

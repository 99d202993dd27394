/*
 * smtp_lines.h — SMTP input framing with no I/O: the command-line reader and the
 * DATA framer, shared by the submission session (smtp/session.c) and, later,
 * the inbound feedback listener (feedback/). Both work on slices of the caller's input
 * buffer and keep only a few bytes of state between calls, so any split of
 * the input into reads gives the same lines, the same message bytes and the
 * same events (tests/unit/test_smtp_lines.c, tests/fuzz/smtp_lines_fuzz.c).
 *
 * The DATA rule (the SMTP smuggling defence, docs/internals/smtp.md): the
 * end of data is only "." CR LF at the start of a line, a line start being
 * the start of DATA or the byte after a CR LF. A bare LF (an LF without a CR
 * before it) or a bare CR (a CR without an LF after it) anywhere in DATA is
 * terminal: the framer reports it and takes nothing more, and the caller
 * answers once and hangs up, so no reading of "\n.\r\n", "\r\n.\n",
 * "\r.\r"… as an end can let the bytes behind it through as commands.
 */
#ifndef SESAME_UTIL_SMTP_LINES_H
#define SESAME_UTIL_SMTP_LINES_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_LINE_MAX 1000 /* a command line, CRLF included (RFC 5321 4.5.3.1.6) */

/* ---- command lines ---------------------------------------------------------- */

/* The reader's state between calls; zero it (or smtp_lines_init) to start. */
struct smtp_lines {
	bool skipping; /* inside a line over SMTP_LINE_MAX whose end has not come */
};

/* One command line: p[0..len) is the line without its line end, pointing
 * into the input given to smtp_lines_next. */
struct smtp_lines_line {
	const char *p;
	size_t len;
	bool bare_lf; /* it ended in LF without CR (p excludes just the LF) */
	bool nul;     /* it contains a NUL byte */
};

enum smtp_lines_ev {
	SMTP_LINES_MORE, /* no complete line: keep in[*used_out..n), add input, call again */
	SMTP_LINES_LINE, /* *line_out is the next line; in[0..*used_out) is consumed */
	SMTP_LINES_LONG, /* a line over SMTP_LINE_MAX (answer it once); skipped, or being skipped */
};

void smtp_lines_init(struct smtp_lines *r);

/*
 * The next command line in in[0..n). A line is the bytes up to and including
 * an LF; one of more than SMTP_LINE_MAX bytes (line end included) is LONG,
 * reported as soon as SMTP_LINE_MAX bytes without an LF are seen, and its
 * bytes are dropped up to its LF, wherever that arrives. *used_out is the
 * count of leading bytes of `in` the caller drops before the next call.
 */
enum smtp_lines_ev smtp_lines_next(struct smtp_lines *r, const char *in, size_t n,
				   struct smtp_lines_line *line_out, size_t *used_out);

/* ---- DATA ------------------------------------------------------------------- */

/* The framer's state for one DATA section. */
struct smtp_lines_data {
	size_t max;  /* cap on the message (dot-unstuffed, line ends included) */
	size_t size; /* message bytes seen so far (saturates past max) */
	int st;      /* position in the line (lines.c) */
	bool big;    /* size passed max: no more chunks are reported */
};

enum smtp_lines_data_ev {
	SMTP_LINES_DATA_MORE,    /* all of the input is consumed; give more */
	SMTP_LINES_DATA_CHUNK,   /* *chunk_out is the next piece of the message */
	SMTP_LINES_DATA_END,     /* "." CR LF at a line start: the message is complete */
	SMTP_LINES_DATA_BARE_LF, /* terminal: a bare LF; the message is void */
	SMTP_LINES_DATA_BARE_CR, /* terminal: a bare CR; the message is void */
};

/* Start a DATA section whose message may have at most `max` bytes. */
void smtp_lines_data_start(struct smtp_lines_data *d, size_t max);

/*
 * Frame in[0..n): returns one event and sets *used_out to the count of
 * leading bytes consumed (the caller drops them before the next call).
 * CHUNK sets *chunk_out and *chunk_len_out to message bytes inside in[0..used)
 * (dot-unstuffed: a line's leading "." is dropped); the concatenation of
 * the chunks up to END is the message, and never more than max bytes: past
 * max nothing more is reported and smtp_lines_data_big() turns true (the
 * caller reads on to END and refuses). END consumes through the LF of the
 * final ".\r\n"; the bytes after it are the caller's again. BARE_LF/BARE_CR
 * consume through the byte that proved it; every later call returns the same
 * event with nothing consumed, as does a call after END (start again first).
 */
enum smtp_lines_data_ev smtp_lines_data_next(struct smtp_lines_data *d, const char *in, size_t n,
					     const char **chunk_out, size_t *chunk_len_out,
					     size_t *used_out);

/* True once the message passed its cap. */
bool smtp_lines_data_big(const struct smtp_lines_data *d);

#endif

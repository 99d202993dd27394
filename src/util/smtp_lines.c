/*
 * smtp_lines.c — SMTP command lines and DATA framing (smtp_lines.h; the rule and its
 * reasons in docs/internals/smtp.md). Owns no memory: both readers return
 * slices of the caller's input and keep a flag or a small state between
 * calls, so the caller may feed any split of the stream.
 *
 * The DATA framer is a byte automaton over the position in the line:
 *
 *   START ─"."─► DOT ─CR─► DOT_CR ─LF─► END
 *     │           │           └─other─► BARE_CR
 *     │           └─other─► MID            (LF in START, DOT, MID: BARE_LF)
 *     └─CR─► CR ─LF─► START
 *     └─other─► MID ─CR─► CR ─other─► BARE_CR
 *
 * Invariants: END is reported only for "." CR LF right after a CR LF or at
 * the start of DATA; a bare LF or CR is terminal (END and BARE_* are sticky
 * until smtp_lines_data_start); the chunks reported add up to at most `max`
 * bytes; the event sequence, the consumed counts summed, and the message up
 * to END do not depend on how the input was split (a CR at the end of an
 * input is reported with its line at once, before its LF is seen: if the LF
 * never comes the message is void anyway).
 */
#include "util/smtp_lines.h"

#include <string.h>

/* ---- command lines ---------------------------------------------------------- */

void
smtp_lines_init(struct smtp_lines *r)
{
	r->skipping = false;
}

enum smtp_lines_ev
smtp_lines_next(struct smtp_lines *r, const char *in, size_t n, struct smtp_lines_line *line_out,
		size_t *used_out)
{
	size_t off = 0;
	const char *lf;

	*used_out = 0;
	if (r->skipping) {
		lf = memchr(in, '\n', n);
		if (lf == NULL) {
			*used_out = n; /* still inside the long line */
			return SMTP_LINES_MORE;
		}
		r->skipping = false;
		off = (size_t)(lf - in) + 1;
	}
	lf = memchr(in + off, '\n', n - off);
	if (lf == NULL) {
		if (n - off >= SMTP_LINE_MAX) {
			/* SMTP_LINE_MAX bytes and no LF: the line cannot fit */
			r->skipping = true;
			*used_out = n;
			return SMTP_LINES_LONG;
		}
		*used_out = off;
		return SMTP_LINES_MORE;
	}
	size_t len = (size_t)(lf - (in + off)) + 1;
	*used_out = off + len;
	if (len > SMTP_LINE_MAX)
		return SMTP_LINES_LONG;
	line_out->p = in + off;
	line_out->bare_lf = len < 2 || in[off + len - 2] != '\r';
	line_out->len = len - (line_out->bare_lf ? 1 : 2);
	line_out->nul = memchr(line_out->p, '\0', line_out->len) != NULL;
	return SMTP_LINES_LINE;
}

/* ---- DATA ------------------------------------------------------------------- */

enum {
	D_START,   /* at a line start */
	D_DOT,     /* after a "." at a line start (dropped: unstuffing) */
	D_DOT_CR,  /* after "." CR at a line start (held: END or BARE_CR) */
	D_MID,     /* inside a line */
	D_CR,      /* after a CR inside a line (already reported) */
	D_END,     /* the end was seen */
	D_BARE_LF, /* a bare LF was seen */
	D_BARE_CR, /* a bare CR was seen */
};

void
smtp_lines_data_start(struct smtp_lines_data *d, size_t max)
{
	d->max = max;
	d->size = 0;
	d->st = D_START;
	d->big = false;
}

bool
smtp_lines_data_big(const struct smtp_lines_data *d)
{
	return d->big;
}

/* Count `len` more message bytes: true when they are to be reported (not
 * empty, and the message is still within its cap). */
static bool
take(struct smtp_lines_data *d, size_t len)
{
	if (len == 0 || d->big)
		return false;
	if (len > d->max - d->size) {
		d->big = true; /* read on to the end, report nothing more */
		d->size = d->max;
		return false;
	}
	d->size += len;
	return true;
}

enum smtp_lines_data_ev
smtp_lines_data_next(struct smtp_lines_data *d, const char *in, size_t n, const char **chunk_out,
		     size_t *chunk_len_out, size_t *used_out)
{
	size_t i = 0, start = 0; /* the pending chunk is in[start..i) */
	enum smtp_lines_data_ev bare;

	*chunk_out = NULL;
	*chunk_len_out = 0;
	*used_out = 0;
	switch (d->st) {
	case D_END:
		return SMTP_LINES_DATA_END;
	case D_BARE_LF:
		return SMTP_LINES_DATA_BARE_LF;
	case D_BARE_CR:
		return SMTP_LINES_DATA_BARE_CR;
	default:
		break;
	}
	while (i < n) {
		char c = in[i];

		switch (d->st) {
		case D_START:
			if (c == '.') {
				if (i > start && take(d, i - start))
					goto chunk; /* the line before; the dot next call */
				d->st = D_DOT;
				start = ++i; /* the dot is not message */
				continue;
			}
			if (c == '\n')
				goto bare_lf;
			d->st = c == '\r' ? D_CR : D_MID;
			i++;
			continue;
		case D_DOT:
			if (c == '\r') {
				d->st = D_DOT_CR;
				start = ++i; /* held: it is the end's or a bare one */
				continue;
			}
			if (c == '\n')
				goto bare_lf;
			d->st = D_MID;
			i++;
			continue;
		case D_DOT_CR:
			if (c != '\n')
				goto bare_cr;
			d->st = D_END;
			*used_out = i + 1;
			return SMTP_LINES_DATA_END;
		case D_MID:
			/* the common case: run to the next CR or LF */
			while (i < n && in[i] != '\r' && in[i] != '\n')
				i++;
			if (i == n)
				continue;
			if (in[i] == '\n')
				goto bare_lf;
			d->st = D_CR;
			i++;
			continue;
		case D_CR:
			if (c != '\n')
				goto bare_cr;
			d->st = D_START;
			i++;
			continue;
		default:
			break;
		}
	}
	*used_out = n;
	if (take(d, i - start))
		goto chunk_all;
	return SMTP_LINES_DATA_MORE;

chunk:
	*used_out = i;
chunk_all:
	*chunk_out = in + start;
	*chunk_len_out = i - start;
	return SMTP_LINES_DATA_CHUNK;

bare_lf:
	d->st = D_BARE_LF;
	bare = SMTP_LINES_DATA_BARE_LF;
	goto bare;
bare_cr:
	d->st = D_BARE_CR;
	bare = SMTP_LINES_DATA_BARE_CR;
bare:
	*used_out = i + 1;
	return bare;
}

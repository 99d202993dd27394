/*
 * smtp_lines_fuzz.c — libFuzzer target for SMTP command lines and DATA
 * framing (src/util/smtp_lines.c). The first 4 bytes seed the chunking and the
 * DATA cap; the rest is one client stream. The stream goes through the DATA
 * framer (restarted after every END, a simple model of back-to-back DATA
 * sections) in one piece, byte by byte and in random chunks, and through
 * the command-line reader in one piece and in random chunks. Checks:
 *   - the number of ENDs equals the number of "\r\n.\r\n" in "\r\n" + the
 *     stream up to the first bare LF or CR (overlapping: a section may be
 *     empty), and a bare LF/CR is reported after exactly the bytes that
 *     prove it, and nothing after it;
 *   - each message's length is its section's minus one byte per line that
 *     starts with a dot (unstuffing), BIG exactly when that is over the cap;
 *   - the chunks stay inside the input and never add up past the cap;
 *   - chunking changes nothing: the same events, messages and consumed
 *     counts; the same command lines and LONGs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/smtp_lines.h"

static void
check(int cond)
{
	if (!cond)
		abort();
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

static uint64_t
mix_bytes(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = mix(h, (unsigned char)p[i]);
	return h;
}

/* A chunking: cut sizes from a seed (xorshift), small and large mixed;
 * seed 0 means one piece, seed 1 byte by byte. */
struct cutter {
	uint32_t x;
	int mode;
};

static size_t
next_cut(struct cutter *c, size_t left)
{
	size_t k;

	if (c->mode == 0)
		return left;
	if (c->mode == 1)
		return 1;
	c->x ^= c->x << 13;
	c->x ^= c->x >> 17;
	c->x ^= c->x << 5;
	k = 1 + (c->x >> 8) % ((size_t)1 << ((c->x & 0xff) % 11));
	return k < left ? k : left;
}

struct result {
	size_t ends;
	uint64_t full;  /* events, message bytes, consumed counts */
	uint64_t shape; /* per END: message length (or BIG) */
	int bare;       /* 0, 'L' or 'C' */
	size_t bare_at; /* bytes consumed when it was reported */
};

static void
frame(const char *s, size_t n, size_t max, struct cutter cut, struct result *r)
{
	struct smtp_lines_data d;
	char *pend = malloc(n + 1);
	size_t plen = 0, from = 0, consumed = 0, msglen = 0;
	uint64_t msgh = 14695981039346656037ULL;

	memset(r, 0, sizeof(*r));
	r->full = r->shape = 14695981039346656037ULL;
	smtp_lines_data_start(&d, max);
	while (from < n && !r->bare) {
		size_t k = next_cut(&cut, n - from), off = 0;
		memcpy(pend + plen, s + from, k);
		plen += k;
		from += k;
		for (;;) {
			const char *chunk;
			size_t len, used;
			enum smtp_lines_data_ev ev =
				smtp_lines_data_next(&d, pend + off, plen - off, &chunk, &len, &used);
			check(used <= plen - off);
			off += used;
			consumed += used;
			if (ev == SMTP_LINES_DATA_MORE) {
				check(off == plen);
				break;
			}
			if (ev == SMTP_LINES_DATA_CHUNK) {
				check(len > 0 && chunk >= pend && chunk + len <= pend + off);
				msglen += len;
				check(msglen <= max);
				msgh = mix_bytes(msgh, chunk, len);
				continue;
			}
			if (ev == SMTP_LINES_DATA_END) {
				bool big = smtp_lines_data_big(&d);
				r->ends++;
				r->full = mix(mix(mix(r->full, 'E'), consumed), big ? ~0ULL : msgh);
				r->shape = mix(r->shape, big ? ~(uint64_t)0 : msglen);
				msglen = 0;
				msgh = 14695981039346656037ULL;
				smtp_lines_data_start(&d, max);
				continue;
			}
			r->bare = ev == SMTP_LINES_DATA_BARE_LF ? 'L' : 'C';
			r->bare_at = consumed;
			/* terminal: nothing more is taken */
			check(smtp_lines_data_next(&d, "\r\n.\r\n", 5, &chunk, &len, &used) == ev &&
			      used == 0);
			break;
		}
		memmove(pend, pend + off, plen - off);
		plen -= off;
	}
	r->full = mix(mix(r->full, (uint64_t)r->bare), r->bare_at);
	free(pend);
}

/* The model: what framing must give, computed without the framer. */
static void
model(const char *s, size_t n, size_t max, struct result *r)
{
	size_t stop = n, sec = 0, dots = 0;
	bool line_start = true;

	memset(r, 0, sizeof(*r));
	r->shape = 14695981039346656037ULL;
	/* the first bare byte, and where it is proved */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) {
			r->bare = 'L';
			r->bare_at = i + 1;
			stop = i;
			break;
		}
		if (s[i] == '\r' && i + 1 < n && s[i + 1] != '\n') {
			r->bare = 'C';
			r->bare_at = i + 2;
			stop = i;
			break;
		}
	}
	/* "\r\n.\r\n" in P = "\r\n" + s[0..stop), overlapping */
	for (size_t j = 0; j + 5 <= stop + 2; j++) {
		static const char end[] = "\r\n.\r\n";
		size_t m = 0;
		while (m < 5 && (j + m < 2 ? "\r\n"[j + m] : s[j + m - 2]) == end[m])
			m++;
		if (m == 5)
			r->ends++;
	}
	/* the messages: sections between ends; a line's leading dot is not
	 * message. Walk again, as lines. */
	for (size_t k = 0; k < stop;) {
		if (line_start && k + 3 <= stop && memcmp(s + k, ".\r\n", 3) == 0) {
			size_t len = sec - dots;
			r->shape = mix(r->shape, len > max ? ~(uint64_t)0 : len);
			sec = dots = 0;
			k += 3;
			line_start = true;
			continue;
		}
		if (line_start && s[k] == '.')
			dots++;
		line_start = k >= 1 && s[k - 1] == '\r' && s[k] == '\n';
		sec++;
		k++;
	}
}

/* Command lines: a hash of the lines and LONGs seen. */
static uint64_t
read_lines(const char *s, size_t n, struct cutter cut, size_t *nlines)
{
	struct smtp_lines r;
	char *pend = malloc(n + 1);
	size_t plen = 0, from = 0;
	uint64_t h = 14695981039346656037ULL;

	smtp_lines_init(&r);
	*nlines = 0;
	while (from < n) {
		size_t k = next_cut(&cut, n - from), off = 0;
		memcpy(pend + plen, s + from, k);
		plen += k;
		from += k;
		for (;;) {
			struct smtp_lines_line l;
			size_t used;
			enum smtp_lines_ev ev = smtp_lines_next(&r, pend + off, plen - off, &l, &used);
			check(used <= plen - off);
			if (ev == SMTP_LINES_LINE) {
				check(l.p >= pend + off && l.p + l.len < pend + off + used);
				check(l.len + (l.bare_lf ? 1 : 2) <= SMTP_LINE_MAX);
				check(memchr(l.p, '\n', l.len) == NULL);
				check(l.nul == (memchr(l.p, '\0', l.len) != NULL));
				h = mix(mix_bytes(mix(h, 'L'), l.p, l.len), l.bare_lf);
				++*nlines;
			} else if (ev == SMTP_LINES_LONG) {
				h = mix(h, 'X');
			}
			off += used;
			if (ev == SMTP_LINES_MORE)
				break;
			check(used > 0);
		}
		check(plen - off < SMTP_LINE_MAX);
		memmove(pend, pend + off, plen - off);
		plen -= off;
	}
	free(pend);
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed = 0;
	const char *s;
	size_t n, max;
	struct result one, bytes, rnd, tiny, want;
	struct cutter c0 = {0, 0}, c1 = {0, 1}, cr;

	if (size >= 4)
		memcpy(&seed, data, 4);
	s = (const char *)data + (size >= 4 ? 4 : size);
	n = size >= 4 ? size - 4 : 0;
	cr.x = seed | 1;
	cr.mode = 2;
	max = (seed >> 24) % 64; /* a small cap, so BIG happens */

	frame(s, n, SIZE_MAX, c0, &one);
	frame(s, n, SIZE_MAX, c1, &bytes);
	frame(s, n, SIZE_MAX, cr, &rnd);
	check(one.ends == bytes.ends && one.full == bytes.full && one.shape == bytes.shape);
	check(one.ends == rnd.ends && one.full == rnd.full && one.shape == rnd.shape);

	model(s, n, SIZE_MAX, &want);
	check(one.ends == want.ends);
	check(one.bare == want.bare && one.bare_at == want.bare_at);
	check(one.shape == want.shape);

	/* a cap changes what is kept, never where DATA ends */
	frame(s, n, max, cr, &tiny);
	model(s, n, max, &want);
	check(tiny.ends == one.ends && tiny.bare == one.bare && tiny.bare_at == one.bare_at);
	check(tiny.shape == want.shape);

	size_t l0, l1;
	check(read_lines(s, n, c0, &l0) == read_lines(s, n, cr, &l1) && l0 == l1);
	return 0;
}

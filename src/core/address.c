/*
 * address.c — RFC 5322 mailbox and address-list parsing, RFC 2047
 * display-name decoding, RFC 5321 addr-spec validation, IDN to A-label
 * conversion (RFC 3492 punycode, implemented here) and domain validation.
 *
 * Pipeline for a mailbox: refuse control bytes; replace comments by a space
 * (quoted strings kept verbatim); split "display-name <addr-spec>"; decode
 * the display name (quoted-pairs, RFC 2047 words, charset to UTF-8); check
 * the addr-spec strictly (local part canonicalised, domain converted).
 *
 * Invariants: every output string fits its fixed buffer in struct address,
 * is NUL-terminated and free of control bytes; `spec` is 7-bit ASCII. No
 * input can make this file abort: each input has a cap, each loop advances.
 * Pure: no globals; iconv is only opened for uncommon charsets.
 */
#include "core/address.h"

#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/codec.h"
#include "util/testable.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define COMMENT_DEPTH_MAX 16
#define CHARSET_MAX 40

static int
invalid(struct err *e, const char *msg)
{
	return err_set(e, 400, "InvalidParameterValue", "%s", msg);
}

/* ---- character classes (ASCII only, locale-free) -------------------------- */

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* RFC 5322 atext */
static bool
is_atext(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static char
to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}


/* One strict UTF-8 code point at s[*i] (i < n) into *cp, advancing *i.
 * Returns 0, or -1 on invalid bytes (util/utf8). */
static int
utf8_next(const unsigned char *s, size_t n, size_t *i, uint32_t *cp)
{
	size_t k = utf8_decode(s + *i, n - *i, cp);

	if (k == 0)
		return -1;
	*i += k;
	return 0;
}

static int
utf8_put(struct buf *b, uint32_t cp)
{
	char t[4];

	return buf_append(b, t, utf8_encode(cp, t));
}

/* ---- RFC 3492 punycode ----------------------------------------------------- */

enum {
	PC_BASE = 36,
	PC_TMIN = 1,
	PC_TMAX = 26,
	PC_SKEW = 38,
	PC_DAMP = 700,
	PC_INITIAL_BIAS = 72,
	PC_INITIAL_N = 128,
};

static uint32_t
pc_adapt(uint32_t delta, uint32_t numpoints, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / PC_DAMP : delta / 2;
	delta += delta / numpoints;
	while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
		delta /= PC_BASE - PC_TMIN;
		k += PC_BASE;
	}
	return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static char
pc_digit(uint32_t d)
{
	return d < 26 ? (char)('a' + d) : (char)('0' + d - 26);
}

/*
 * Encode n code points as punycode (no "xn--" prefix) into out (cap bytes,
 * NUL-terminated); *len_out gets the length. Basic code points are copied
 * as given. Returns 0, or -1 on overflow or when out is too small.
 */
TESTABLE int
punycode_encode(const uint32_t *in, size_t n, char *out, size_t cap, size_t *len_out)
{
	uint32_t cur = PC_INITIAL_N, delta = 0, bias = PC_INITIAL_BIAS, h, b;
	size_t o = 0;

#define PC_PUT(ch)                                                                                 \
	do {                                                                                       \
		if (o + 1 >= cap)                                                                  \
			return -1;                                                                 \
		out[o++] = (ch);                                                                   \
	} while (0)

	if (cap == 0 || n > UINT32_MAX / 2)
		return -1;
	for (size_t j = 0; j < n; j++)
		if (in[j] < 0x80)
			PC_PUT((char)in[j]);
	h = b = (uint32_t)o;
	if (b > 0)
		PC_PUT('-');
	while (h < n) {
		uint32_t m = UINT32_MAX;
		for (size_t j = 0; j < n; j++)
			if (in[j] >= cur && in[j] < m)
				m = in[j];
		if ((m - cur) > (UINT32_MAX - delta) / (h + 1))
			return -1;
		delta += (m - cur) * (h + 1);
		cur = m;
		for (size_t j = 0; j < n; j++) {
			if (in[j] < cur) {
				if (++delta == 0)
					return -1;
			}
			if (in[j] == cur) {
				uint32_t q = delta;
				for (uint32_t k = PC_BASE;; k += PC_BASE) {
					uint32_t t = k <= bias ? PC_TMIN
						   : k >= bias + PC_TMAX ? PC_TMAX
									 : k - bias;
					if (q < t)
						break;
					PC_PUT(pc_digit(t + (q - t) % (PC_BASE - t)));
					q = (q - t) / (PC_BASE - t);
				}
				PC_PUT(pc_digit(q));
				bias = pc_adapt(delta, h + 1, h == b);
				delta = 0;
				h++;
			}
		}
		delta++;
		cur++;
	}
#undef PC_PUT
	out[o] = '\0';
	*len_out = o;
	return 0;
}

/* ---- domains ---------------------------------------------------------------- */

enum {
	DOM_LOWER = 1,       /* lower-case ASCII labels too */
	DOM_TRAILING_OK = 2, /* drop one trailing dot instead of refusing it */
	DOM_TWO_LABELS = 4,  /* at least two labels */
};

/* Code points never allowed in a U-label: spacing, invisible, dots, private use. */
static bool
cp_is_space(uint32_t cp)
{
	return cp < 0xa1 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 ||
	       cp == 0xfeff;
}

static bool
cp_is_forbidden(uint32_t cp)
{
	return cp == 0x3002 || cp == 0xff0e || cp == 0xff61 || (cp >= 0xe000 && cp <= 0xf8ff) ||
	       (cp >= 0xfff0 && cp <= 0xffff) || cp >= 0xf0000 || (cp >= 0xfdd0 && cp <= 0xfdef) ||
	       (cp & 0xfffe) == 0xfffe;
}

/*
 * Check one label s[0..n) (no dots) and append its ASCII form to out.
 * Sets *idn when a U-label was converted.
 */
static int
label_check(const char *s, size_t n, int flags, struct buf *out, bool *idn, struct err *e)
{
	bool ascii = true;
	size_t start = out->len;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = false;
	if (ascii) {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (is_ctl(c) || c == ' ')
				return invalid(e, "Domain contains control or whitespace");
			if (!is_alpha(c) && !is_digit(c) && c != '-')
				return invalid(e, "Domain contains illegal character");
		}
		if (n > ADDRESS_LABEL_MAX)
			return invalid(e, "Domain label too long");
		for (size_t i = 0; i < n; i++)
			if (buf_putc(out, (flags & DOM_LOWER) ? to_lower(s[i]) : s[i]) < 0)
				return invalid(e, "Domain too long");
	} else {
		uint32_t cps[ADDRESS_DOMAIN_MAX];
		size_t ncp = 0, i = 0, plen;
		char pc[ADDRESS_LABEL_MAX + 1];

		while (i < n) {
			uint32_t cp;
			if (utf8_next((const unsigned char *)s, n, &i, &cp) < 0)
				return invalid(e, "Domain contains illegal character");
			if (cp < 0x80) {
				if (is_ctl((unsigned char)cp) || cp == ' ')
					return invalid(e, "Domain contains control or whitespace");
				if (!is_alpha((unsigned char)cp) && !is_digit((unsigned char)cp) &&
				    cp != '-')
					return invalid(e, "Domain contains illegal character");
				cp = (uint32_t)to_lower((char)cp);
			} else if (cp_is_space(cp)) {
				return invalid(e, "Domain contains control or whitespace");
			} else if (cp_is_forbidden(cp)) {
				return invalid(e, "Domain contains illegal character");
			}
			if (ncp == sizeof(cps) / sizeof(cps[0]))
				return invalid(e, "Domain label too long");
			cps[ncp++] = cp;
		}
		if (punycode_encode(cps, ncp, pc, sizeof(pc), &plen) < 0 ||
		    plen + 4 > ADDRESS_LABEL_MAX)
			return invalid(e, "Domain label too long");
		if (buf_puts(out, "xn--") < 0 || buf_append(out, pc, plen) < 0)
			return invalid(e, "Domain too long");
		*idn = true;
	}
	if (out->data[start] == '-' || out->data[out->len - 1] == '-')
		return invalid(e, "Domain label starts or ends with hyphen");
	return 0;
}

/*
 * Validate domain s[0..n) and write its ASCII form into out (cap bytes).
 * Returns 0 or -1 with e filled.
 */
static int
domain_check(const char *s, size_t n, int flags, char *out, size_t cap, bool *idn_out,
	     struct err *e)
{
	struct buf b;
	size_t i = 0, labels = 0, last_label = 0;
	bool idn = false;
	int rc = -1;

	if (n == 0)
		return invalid(e, "Missing domain");
	if (s[0] == '[')
		return invalid(e, "Domain contains illegal character");
	if (s[0] == '.')
		return invalid(e, "Domain starts with dot");
	if (s[n - 1] == '.') {
		if (!(flags & DOM_TRAILING_OK) || n == 1)
			return invalid(e, "Domain ends with dot");
		n--;
		if (n > 0 && s[n - 1] == '.')
			return invalid(e, "Domain contains dot-dot");
	}
	/* 4 bytes of UTF-8 per code point, plus "xn--" growth: a generous scratch cap */
	buf_init(&b, ADDRESS_DOMAIN_MAX + 1);
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != '.')
			j++;
		if (j == i) {
			invalid(e, "Domain contains dot-dot");
			goto done;
		}
		if (labels > 0 && buf_putc(&b, '.') < 0) {
			invalid(e, "Domain too long");
			goto done;
		}
		last_label = b.len;
		if (label_check(s + i, j - i, flags, &b, &idn, e) < 0)
			goto done;
		labels++;
		i = j + 1;
	}
	if (b.len > ADDRESS_DOMAIN_MAX) {
		invalid(e, "Domain too long");
		goto done;
	}
	if ((flags & DOM_TWO_LABELS) && labels < 2) {
		invalid(e, "Domain must have at least two labels");
		goto done;
	}
	{
		/* an all-numeric top label means an IP address, never a mail domain */
		bool numeric = true;
		for (size_t k = last_label; k < b.len; k++)
			if (!is_digit((unsigned char)b.data[k]))
				numeric = false;
		if (numeric) {
			invalid(e, "Domain must not be an IP address");
			goto done;
		}
	}
	if (b.len + 1 > cap) {
		invalid(e, "Domain too long");
		goto done;
	}
	memcpy(out, b.data, b.len + 1);
	if (idn_out != NULL)
		*idn_out = idn;
	rc = 0;
done:
	buf_free(&b);
	return rc;
}

int
domain_validate(const char *d, char *out, size_t cap, struct err *e)
{
	size_t n = strnlen(d, ADDRESS_INPUT_MAX + 1);

	if (n > ADDRESS_INPUT_MAX)
		return invalid(e, "Domain too long");
	return domain_check(d, n, DOM_LOWER | DOM_TRAILING_OK | DOM_TWO_LABELS, out, cap, NULL, e);
}

/* ---- addr-spec ------------------------------------------------------------ */

static bool
dot_atom_ok(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/*
 * Parse an addr-spec s[0..n) with no surrounding whitespace into out's
 * local/domain/spec.
 */
static int
spec_parse(const char *s, size_t n, struct address *out, struct err *e)
{
	char local[ADDRESS_LOCAL_MAX + 1];
	size_t ln = 0, i, at;

	if (n == 0)
		return invalid(e, "Empty address");
	if (s[0] == '"') {
		/* quoted local part: unescape, then re-quote only if needed */
		char raw[ADDRESS_INPUT_MAX];
		size_t rn = 0;
		for (i = 1;; i++) {
			if (i >= n)
				return invalid(e, "Missing '\"'");
			unsigned char c = (unsigned char)s[i];
			if (c == '"')
				break;
			if (c == '\\') {
				if (++i >= n)
					return invalid(e, "Missing '\"'");
				c = (unsigned char)s[i];
			}
			if (c >= 0x80 || is_ctl(c))
				return invalid(e, "Local address contains control or whitespace");
			if (rn == sizeof(raw))
				return invalid(e, "Local address too long");
			raw[rn++] = (char)c;
		}
		at = i + 1;
		if (at >= n || s[at] != '@')
			return invalid(e, at >= n ? "Missing final '@domain'"
						  : "Local address contains illegal character");
		if (rn == 0)
			return invalid(e, "Missing local name");
		if (dot_atom_ok(raw, rn)) {
			if (rn > ADDRESS_LOCAL_MAX)
				return invalid(e, "Local address too long");
			memcpy(local, raw, rn);
			ln = rn;
		} else {
			local[ln++] = '"';
			for (size_t k = 0; k < rn; k++) {
				if (ln + 3 > sizeof(local))
					return invalid(e, "Local address too long");
				if (raw[k] == '"' || raw[k] == '\\')
					local[ln++] = '\\';
				local[ln++] = raw[k];
			}
			if (ln + 1 > ADDRESS_LOCAL_MAX)
				return invalid(e, "Local address too long");
			local[ln++] = '"';
		}
	} else {
		const char *p = memchr(s, '@', n);
		if (p == NULL)
			return invalid(e, "Missing final '@domain'");
		at = (size_t)(p - s);
		if (at == 0)
			return invalid(e, "Missing local name");
		for (i = 0; i < at; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c >= 0x80 || is_ctl(c) || c == ' ')
				return invalid(e, "Local address contains control or whitespace");
			if (c != '.' && !is_atext(c))
				return invalid(e, "Local address contains illegal character");
		}
		if (s[0] == '.')
			return invalid(e, "Local address starts with dot");
		if (s[at - 1] == '.')
			return invalid(e, "Local address ends with dot");
		for (i = 0; i + 1 < at; i++)
			if (s[i] == '.' && s[i + 1] == '.')
				return invalid(e, "Local address contains dot-dot");
		if (at > ADDRESS_LOCAL_MAX)
			return invalid(e, "Local address too long");
		memcpy(local, s, at);
		ln = at;
	}
	local[ln] = '\0';
	if (at + 1 >= n)
		return invalid(e, "Missing domain");
	if (memchr(s + at + 1, '@', n - at - 1) != NULL)
		return invalid(e, "Domain contains illegal character");
	if (domain_check(s + at + 1, n - at - 1, 0, out->domain, sizeof(out->domain), &out->idn,
			 e) < 0)
		return -1;
	if (ln + 1 + strlen(out->domain) > ADDRESS_SPEC_MAX)
		return invalid(e, "Address too long");
	size_t dn = strlen(out->domain);
	memcpy(out->local, local, ln + 1);
	memcpy(out->spec, local, ln);
	out->spec[ln] = '@';
	memcpy(out->spec + ln + 1, out->domain, dn + 1);
	return 0;
}

/* ---- RFC 2047 --------------------------------------------------------------- */

/* windows-1252 0x80..0x9f; 0 = undefined */
static const uint16_t cp1252_hi[32] = {
	0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
	0x2039, 0x0152, 0,      0x017d, 0,      0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
	0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178,
};

static bool
charset_is(const char *cs, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strcasecmp(cs, *names) == 0)
			return true;
	return false;
}

/* Convert n bytes in charset cs to UTF-8 appended to out. Returns 0 or -1. */
static int
charset_to_utf8(const char *cs, const uint8_t *p, size_t n, struct buf *out)
{
	static const char *const utf8[] = {"utf-8", "utf8", NULL};
	static const char *const ascii[] = {"us-ascii", "ascii", "ansi_x3.4-1968", NULL};
	static const char *const latin1[] = {"iso-8859-1", "iso8859-1", "latin1", "l1", NULL};
	static const char *const cp1252[] = {"windows-1252", "cp1252", NULL};

	if (charset_is(cs, utf8)) {
		if (!utf8_valid((const char *)p, n))
			return -1;
		return buf_append(out, p, n);
	}
	if (charset_is(cs, ascii)) {
		for (size_t i = 0; i < n; i++)
			if (p[i] >= 0x80)
				return -1;
		return buf_append(out, p, n);
	}
	if (charset_is(cs, latin1) || charset_is(cs, cp1252)) {
		bool win = charset_is(cs, cp1252);
		for (size_t i = 0; i < n; i++) {
			uint32_t cp = p[i];
			if (win && cp >= 0x80 && cp < 0xa0) {
				cp = cp1252_hi[cp - 0x80];
				if (cp == 0)
					return -1;
			}
			if (utf8_put(out, cp) < 0)
				return -1;
		}
		return 0;
	}
	/* anything else through iconv, bounded by out's cap */
	iconv_t cd = iconv_open("UTF-8", cs);
	if (cd == (iconv_t)-1)
		return -1;
	char tmp[256];
	char *in = (char *)p;
	size_t inleft = n;
	int rc = 0;
	while (inleft > 0) {
		char *o = tmp;
		size_t oleft = sizeof(tmp);
		size_t r = iconv(cd, &in, &inleft, &o, &oleft);
		if (o > tmp && buf_append(out, tmp, (size_t)(o - tmp)) < 0) {
			rc = -1;
			break;
		}
		if (r == (size_t)-1 && o == tmp) {
			rc = -1; /* invalid or incomplete input, no progress */
			break;
		}
	}
	if (rc == 0) {
		char *o = tmp;
		size_t oleft = sizeof(tmp);
		if (iconv(cd, NULL, NULL, &o, &oleft) == (size_t)-1 ||
		    (o > tmp && buf_append(out, tmp, (size_t)(o - tmp)) < 0))
			rc = -1;
	}
	iconv_close(cd);
	return rc;
}

struct eword {
	char charset[CHARSET_MAX + 1];
	char enc;          /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t end;        /* offset just past "?=" */
};

/* Recognise an encoded-word starting at s[i] ("=?"). */
static bool
eword_scan(const char *s, size_t n, size_t i, struct eword *w)
{
	size_t j = i + 2, k = 0;

	if (i + 1 >= n || s[i] != '=' || s[i + 1] != '?')
		return false;
	while (j < n && s[j] != '?') {
		unsigned char c = (unsigned char)s[j];
		if (!is_alpha(c) && !is_digit(c) && !strchr("-_.:+*", c))
			return false;
		if (k == CHARSET_MAX)
			return false;
		w->charset[k++] = (char)c;
		j++;
	}
	if (k == 0 || j + 3 >= n)
		return false;
	w->charset[k] = '\0';
	char *star = strchr(w->charset, '*'); /* RFC 2231 language suffix */
	if (star != NULL)
		*star = '\0';
	if (w->charset[0] == '\0')
		return false;
	w->enc = (char)(s[j + 1] & ~0x20);
	if ((w->enc != 'B' && w->enc != 'Q') || s[j + 2] != '?')
		return false;
	j += 3;
	w->text = s + j;
	while (j < n && s[j] != '?') {
		unsigned char c = (unsigned char)s[j];
		if (c <= ' ' || c >= 0x7f)
			return false;
		j++;
	}
	if (j + 1 >= n || s[j + 1] != '=')
		return false;
	w->text_len = (size_t)(s + j - w->text);
	w->end = j + 2;
	return true;
}

/* Decode an encoded word's text into raw bytes appended to out. */
static int
eword_bytes(const struct eword *w, struct buf *out)
{
	if (w->enc == 'B') {
		size_t len;
		uint8_t *p = base64_decode(w->text, w->text_len, &len);
		if (p == NULL)
			return -1;
		int rc = buf_append(out, p, len);
		free(p);
		return rc;
	}
	for (size_t i = 0; i < w->text_len; i++) {
		char c = w->text[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=') {
			int hi, lo;
			if (i + 2 >= w->text_len ||
			    (hi = hex_value((unsigned char)w->text[i + 1])) < 0 ||
			    (lo = hex_value((unsigned char)w->text[i + 2])) < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (buf_putc(out, c) < 0)
			return -1;
	}
	return 0;
}

/*
 * Decode RFC 2047 words found anywhere in text s[0..n) into UTF-8 appended
 * to out. Whitespace between two adjacent encoded words is dropped; runs of
 * words in one charset are converted together (so a character split across
 * words survives). A word or run that does not decode is kept literally.
 */
struct ew_run {
	struct buf bytes;                 /* raw bytes of the run */
	char charset[CHARSET_MAX + 1];
	size_t start, end;                /* span of the run in the source */
	bool active;
};

static int
run_flush(struct ew_run *r, const char *s, struct buf *out)
{
	if (!r->active)
		return 0;
	size_t mark = out->len;
	if (charset_to_utf8(r->charset, (const uint8_t *)r->bytes.data, r->bytes.len, out) < 0) {
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
		if (buf_append(out, s + r->start, r->end - r->start) < 0)
			return -1;
	}
	buf_reset(&r->bytes);
	r->active = false;
	return 0;
}

static int
decode_words(const char *s, size_t n, struct buf *out)
{
	struct ew_run run = {.active = false};
	struct buf word;
	size_t lit = 0; /* start of pending literal text */
	size_t i = 0;
	int rc = -1;

	buf_init(&run.bytes, ADDRESS_INPUT_MAX);
	buf_init(&word, ADDRESS_INPUT_MAX);
	while (i < n) {
		struct eword w;
		const char *q = memchr(s + i, '=', n - i);
		if (q == NULL)
			break;
		i = (size_t)(q - s);
		buf_reset(&word);
		if (!eword_scan(s, n, i, &w) || eword_bytes(&w, &word) < 0) {
			i++;
			continue;
		}
		/* whitespace-only gap after a word: dropped (RFC 2047 6.2) */
		bool gap_ws = run.active;
		for (size_t k = lit; k < i && gap_ws; k++)
			if (!is_wsp((unsigned char)s[k]))
				gap_ws = false;
		if (!(gap_ws && strcasecmp(run.charset, w.charset) == 0)) {
			if (run_flush(&run, s, out) < 0)
				goto done;
			if (!gap_ws && buf_append(out, s + lit, i - lit) < 0)
				goto done;
			snprintf(run.charset, sizeof(run.charset), "%s", w.charset);
			run.start = i;
			run.active = true;
		}
		if (buf_append(&run.bytes, word.data, word.len) < 0)
			goto done;
		run.end = w.end;
		i = lit = w.end;
	}
	if (run_flush(&run, s, out) < 0 || buf_append(out, s + lit, n - lit) < 0)
		goto done;
	rc = 0;
done:
	buf_free(&run.bytes);
	buf_free(&word);
	return rc;
}

/* ---- comments, display names, mailboxes ---------------------------------- */

/*
 * Copy s[0..n) to out (size >= n + 1) with each top-level comment replaced
 * by one space; quoted strings are kept verbatim. Checks quote and
 * parenthesis balance.
 */
static int
strip_comments(const char *s, size_t n, char *out, size_t *out_n, struct err *e)
{
	size_t o = 0;
	bool quoted = false;
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (depth > 0) {
			if (c == '\\') {
				i++;
			} else if (c == '(') {
				if (++depth > COMMENT_DEPTH_MAX)
					return invalid(e, "Comments nested too deeply");
			} else if (c == ')') {
				if (--depth == 0)
					out[o++] = ' ';
			}
			continue;
		}
		if (quoted) {
			out[o++] = c;
			if (c == '\\') {
				if (i + 1 >= n)
					return invalid(e, "Missing '\"'");
				out[o++] = s[++i];
			} else if (c == '"') {
				quoted = false;
			}
			continue;
		}
		if (c == '"') {
			quoted = true;
		} else if (c == '(') {
			depth = 1;
			continue;
		} else if (c == ')') {
			return invalid(e, "Missing '('");
		}
		out[o++] = c;
	}
	if (quoted)
		return invalid(e, "Missing '\"'");
	if (depth > 0)
		return invalid(e, "Missing ')'");
	out[o] = '\0';
	*out_n = o;
	return 0;
}

/* Trim WSP at both ends of s[*b..*e). */
static void
trim(const char *s, size_t *b, size_t *e)
{
	while (*b < *e && is_wsp((unsigned char)s[*b]))
		(*b)++;
	while (*e > *b && is_wsp((unsigned char)s[*e - 1]))
		(*e)--;
}

/*
 * Build the display name from phrase s[0..n) (comments already gone):
 * quoted strings unescaped, words joined by one space where the source had
 * whitespace, RFC 2047 words decoded, result trimmed, UTF-8 checked.
 */
static int
name_parse(const char *s, size_t n, char *out, size_t cap, struct err *e)
{
	struct buf raw, dec;
	size_t i = 0;
	bool space = false;
	int rc = -1;

	buf_init(&raw, ADDRESS_INPUT_MAX);
	buf_init(&dec, 4 * ADDRESS_INPUT_MAX);
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (is_wsp(c)) {
			space = raw.len > 0;
			i++;
			continue;
		}
		if (space && buf_putc(&raw, ' ') < 0)
			goto toolong;
		space = false;
		if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				if (buf_putc(&raw, s[i]) < 0)
					goto toolong;
			}
			i++; /* closing quote (balance checked by strip_comments) */
		} else {
			if (buf_putc(&raw, (char)c) < 0)
				goto toolong;
			i++;
		}
	}
	if (raw.len == 0) {
		out[0] = '\0';
		rc = 0;
		goto done;
	}
	if (decode_words(raw.data, raw.len, &dec) < 0)
		goto toolong;
	if (!utf8_valid(dec.data, dec.len)) {
		invalid(e, "Display name contains invalid UTF-8");
		goto done;
	}
	for (size_t k = 0; k < dec.len; k++) {
		unsigned char c = (unsigned char)dec.data[k];
		if (c == '\t')
			dec.data[k] = ' ';
		else if (is_ctl(c)) {
			invalid(e, "Display name contains control character");
			goto done;
		}
	}
	size_t b = 0, en = dec.len;
	trim(dec.data, &b, &en);
	if (en - b + 1 > cap)
		goto toolong;
	memcpy(out, dec.data + b, en - b);
	out[en - b] = '\0';
	rc = 0;
	goto done;
toolong:
	invalid(e, "Display name too long");
done:
	buf_free(&raw);
	buf_free(&dec);
	return rc;
}

/* Index of the first c in s[b..en) outside quoted strings, or en. */
static size_t
find_unquoted(const char *s, size_t b, size_t en, char c)
{
	bool quoted = false;

	for (size_t i = b; i < en; i++) {
		if (quoted) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				quoted = false;
		} else if (s[i] == '"') {
			quoted = true;
		} else if (s[i] == c) {
			return i;
		}
	}
	return en;
}

/* Parse one mailbox from cleaned text s[b..en) (comments gone). */
static int
mailbox_parse(const char *s, size_t b, size_t en, struct address *out, struct err *e)
{
	size_t lt, gt;

	memset(out, 0, sizeof(*out));
	trim(s, &b, &en);
	if (b == en)
		return invalid(e, "Empty address");
	lt = find_unquoted(s, b, en, '<');
	if (lt == en) {
		if (find_unquoted(s, b, en, '>') != en)
			return invalid(e, "Missing '<'");
		return spec_parse(s + b, en - b, out, e);
	}
	gt = find_unquoted(s, lt + 1, en, '>');
	if (gt == en)
		return invalid(e, "Missing '>'");
	for (size_t i = gt + 1; i < en; i++)
		if (!is_wsp((unsigned char)s[i]))
			return invalid(e, "Unexpected text after '>'");
	size_t ib = lt + 1, ie = gt;
	trim(s, &ib, &ie);
	if (ib < ie && s[ib] == '@')
		return invalid(e, "Illegal route-addr");
	if (find_unquoted(s, ib, ie, '<') != ie)
		return invalid(e, "Extra route-addr");
	if (ib == ie)
		return invalid(e, "Empty address");
	if (spec_parse(s + ib, ie - ib, out, e) < 0)
		return -1;
	return name_parse(s + b, lt - b, out->name, sizeof(out->name), e);
}

/* Refuse control bytes (HTAB aside) with SES's wording for where they sit. */
static int
check_controls(const char *s, size_t n, struct err *e)
{
	const char *at = NULL;

	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == '@') {
			at = s + i - 1;
			break;
		}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_ctl(c) && c != '\t')
			return invalid(e, (at == NULL || s + i < at)
						  ? "Local address contains control or whitespace"
						  : "Domain contains control or whitespace");
	}
	return 0;
}

int
address_parse(const char *s, size_t n, struct address *out, struct err *e)
{
	char *clean;
	size_t cn;
	int rc;

	if (n > ADDRESS_INPUT_MAX)
		return invalid(e, "Address too long");
	if (check_controls(s, n, e) < 0)
		return -1;
	clean = xmalloc(n + 1);
	rc = strip_comments(s, n, clean, &cn, e);
	if (rc == 0)
		rc = mailbox_parse(clean, 0, cn, out, e);
	free(clean);
	return rc;
}

int
address_parse_spec(const char *s, size_t n, struct address *out, struct err *e)
{
	if (n > ADDRESS_INPUT_MAX)
		return invalid(e, "Address too long");
	if (check_controls(s, n, e) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return invalid(e, "Empty address");
	return spec_parse(s, n, out, e);
}

int
address_parse_list(const char *s, size_t n, struct address *out, size_t cap, size_t *n_out,
		   struct err *e)
{
	char *unf = NULL, *clean = NULL;
	size_t un = 0, cn, count = 0, start = 0;
	bool in_group = false, quoted = false;
	int angle = 0, rc = -1;

	*n_out = 0;
	if (n > ADDRESS_LIST_INPUT_MAX)
		return invalid(e, "Address list too long");
	/* unfold: CRLF (or LF) followed by WSP is whitespace; anything else is refused */
	unf = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 2 < n && s[i + 1] == '\n' && is_wsp((unsigned char)s[i + 2])) {
			i++;
			continue;
		}
		if (s[i] == '\n' && i + 1 < n && is_wsp((unsigned char)s[i + 1]))
			continue;
		unf[un++] = s[i];
	}
	if (check_controls(unf, un, e) < 0)
		goto done;
	clean = xmalloc(un + 1);
	if (strip_comments(unf, un, clean, &cn, e) < 0)
		goto done;
	for (size_t i = 0; i <= cn; i++) {
		char c = i < cn ? clean[i] : ',';
		if (quoted) {
			if (c == '\\')
				i++;
			else if (c == '"')
				quoted = false;
			continue;
		}
		if (c == '"') {
			quoted = true;
			continue;
		}
		if (c == '<') {
			angle++;
			continue;
		}
		if (c == '>') {
			if (angle > 0)
				angle--;
			continue;
		}
		if (angle > 0 && i < cn)
			continue;
		if (c == ':') {
			if (in_group) {
				invalid(e, "Nested group");
				goto done;
			}
			/* the text since the last separator is the group's name: a phrase */
			if (find_unquoted(clean, start, i, '@') < i ||
			    find_unquoted(clean, start, i, '<') < i ||
			    find_unquoted(clean, start, i, '>') < i) {
				invalid(e, "Illegal group name");
				goto done;
			}
			in_group = true;
			start = i + 1;
			continue;
		}
		if (c != ',' && c != ';')
			continue;
		if (c == ';') {
			if (!in_group) {
				invalid(e, "Illegal semicolon, not in group");
				goto done;
			}
		} else if (i == cn && in_group) {
			invalid(e, "Missing ';' at end of group");
			goto done;
		}
		angle = 0;
		size_t b = start, en = i;
		trim(clean, &b, &en);
		if (b < en) {
			if (count == cap) {
				err_set(e, 400, "InvalidParameterValue",
					"Too many addresses (limit %zu)", cap);
				goto done;
			}
			if (mailbox_parse(clean, b, en, &out[count], e) < 0)
				goto done;
			count++;
		}
		if (c == ';')
			in_group = false;
		start = i + 1;
	}
	*n_out = count;
	rc = 0;
done:
	free(unf);
	free(clean);
	return rc;
}

/* ---- formatting ------------------------------------------------------------ */

static int
name_encode(const char *name, size_t n, struct buf *out)
{
	/* B-encode in chunks of whole UTF-8 characters, each word <= 75 chars */
	const size_t max_raw = 45; /* 45 bytes -> 60 base64 chars + 12 overhead */
	size_t i = 0;
	bool first = true;

	while (i < n) {
		size_t j = i, k;
		uint32_t cp;
		while (j < n) {
			k = j;
			if (utf8_next((const unsigned char *)name, n, &k, &cp) < 0)
				return -1;
			if (k - i > max_raw)
				break;
			j = k;
		}
		char *b64 = base64_encode(name + i, j - i);
		int rc = buf_printf(out, "%s=?UTF-8?B?%s?=", first ? "" : " ", b64);
		free(b64);
		if (rc < 0)
			return -1;
		first = false;
		i = j;
	}
	return 0;
}

int
address_format(const struct address *a, struct buf *out)
{
	const char *name = a->name;
	size_t n = strlen(name);
	bool encode = strstr(name, "=?") != NULL, plain = strstr(name, "  ") == NULL;

	if (n == 0)
		return buf_puts(out, a->spec);
	if (name[0] == ' ' || name[n - 1] == ' ')
		plain = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x80)
			encode = true;
		else if (!is_atext(c) && c != ' ')
			plain = false;
	}
	if (encode) {
		if (name_encode(name, n, out) < 0)
			return -1;
	} else if (plain) {
		if (buf_append(out, name, n) < 0)
			return -1;
	} else {
		if (buf_putc(out, '"') < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if ((name[i] == '"' || name[i] == '\\') && buf_putc(out, '\\') < 0)
				return -1;
			if (buf_putc(out, name[i]) < 0)
				return -1;
		}
		if (buf_putc(out, '"') < 0)
			return -1;
	}
	return buf_printf(out, " <%s>", a->spec);
}

/*
 * form.c — x-www-form-urlencoded decoding and Query list helpers (see
 * form.h).
 *
 * Owns: struct form's arena and parameter array. One pass counts pairs (to
 * size the arena: decoding never grows a key or value, so the input length
 * plus one NUL per key and per value is enough), one pass decodes, then the
 * parameters are sorted by key so lookups are binary searches, duplicates
 * are adjacent, and every `Name.member.*` key of one list is one contiguous
 * range.
 */
#include "api/form.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define MALFORMED "MalformedQueryString"
#define INVALID "InvalidParameterValue"


/* Strict UTF-8 (util/utf8) and no NUL byte. */
static bool
text_valid(const unsigned char *s, size_t n)
{
	return memchr(s, '\0', n) == NULL && utf8_valid(s, n);
}

/* Decode src[0..n) into dst (NUL-terminated); returns the decoded length or
 * -1 on a bad escape. */
static long
decode(const char *src, size_t n, char *dst)
{
	size_t o = 0, i = 0;

	while (i < n) {
		size_t run = i;
		while (run < n && src[run] != '%' && src[run] != '+')
			run++;
		memcpy(dst + o, src + i, run - i); /* the plain run, at once */
		o += run - i;
		if ((i = run) == n)
			break;
		if (src[i] == '+') {
			dst[o++] = ' ';
			i++;
			continue;
		}
		int hi, lo;
		if (n - i < 3 || (hi = hex_value((unsigned char)src[i + 1])) < 0 ||
		    (lo = hex_value((unsigned char)src[i + 2])) < 0)
			return -1;
		dst[o++] = (char)(hi << 4 | lo);
		i += 3;
	}
	dst[o] = '\0';
	return (long)o;
}

/* The end of the pair starting at data[i]: the next '&', or len. */
static size_t
pair_end(const char *data, size_t len, size_t i)
{
	const char *amp = i < len ? memchr(data + i, '&', len - i) : NULL;

	return amp != NULL ? (size_t)(amp - data) : len;
}

static int
cmp_param(const void *a, const void *b)
{
	return strcmp(((const struct form_param *)a)->key, ((const struct form_param *)b)->key);
}

/*
 * Both entry points. `query`: the bytes are a request's query string, where
 * a literal '+' is refused (see form_parse_query); a body keeps '+' as a
 * space.
 */
static int
parse(struct form *f, const char *data, size_t len, bool query, struct err *e)
{
	size_t npairs = 0, i, start;
	char *out;

	memset(f, 0, sizeof(*f));
	if (query && len > 0 && memchr(data, '+', len) != NULL)
		return err_set(e, 404, MALFORMED,
			       "The query string contains a literal '+': encode a space as %%20 "
			       "and a plus sign as %%2B.");
	for (start = 0; start <= len; start = i + 1) {
		i = pair_end(data, len, start);
		if (i > start && ++npairs > FORM_MAX_PARAMS)
			return err_set(e, 404, MALFORMED,
				       "The query string contains more than %d parameters.",
				       FORM_MAX_PARAMS);
	}
	if (npairs == 0)
		return 0;

	f->params = xcalloc(npairs, sizeof(*f->params));
	f->arena = xmalloc(len + 2 * npairs + 1);
	out = f->arena;
	for (start = 0; start <= len; start = i + 1) {
		i = pair_end(data, len, start);
		const char *seg = data + start;
		size_t slen = i - start;
		if (slen == 0)
			continue;

		const char *eq = memchr(seg, '=', slen);
		size_t klen = eq ? (size_t)(eq - seg) : slen;
		const char *vsrc = eq ? eq + 1 : seg + slen;
		size_t vlen = eq ? slen - klen - 1 : 0;
		struct form_param *p = &f->params[f->n];
		long dk, dv;

		if (klen == 0) {
			err_set(e, 404, MALFORMED,
				"The query string contains a parameter without a name.");
			goto fail;
		}
		if (klen > 3 * FORM_MAX_KEY) /* cannot decode to <= FORM_MAX_KEY */
			goto toolong;
		dk = decode(seg, klen, out);
		if (dk < 0) {
			err_set(e, 404, MALFORMED,
				"The query string contains an invalid percent-encoding in a parameter name.");
			goto fail;
		}
		if (dk == 0) {
			err_set(e, 404, MALFORMED,
				"The query string contains a parameter without a name.");
			goto fail;
		}
		if ((size_t)dk > FORM_MAX_KEY)
			goto toolong;
		if (!text_valid((unsigned char *)out, (size_t)dk)) {
			err_set(e, 404, MALFORMED,
				"The query string contains a parameter name that is not valid UTF-8.");
			goto fail;
		}
		p->key = out;
		out += dk + 1;
		dv = decode(vsrc, vlen, out);
		if (dv < 0) {
			err_set(e, 404, MALFORMED,
				"The query string contains an invalid percent-encoding in the value of %s.",
				p->key);
			goto fail;
		}
		if (!text_valid((unsigned char *)out, (size_t)dv)) {
			err_set(e, 404, MALFORMED,
				"The value of %s is not valid UTF-8 or contains a NUL character.",
				p->key);
			goto fail;
		}
		p->value = out;
		p->value_len = (size_t)dv;
		out += dv + 1;
		f->n++;
	}

	qsort(f->params, f->n, sizeof(*f->params), cmp_param);
	for (i = 1; i < f->n; i++) {
		if (strcmp(f->params[i - 1].key, f->params[i].key) == 0) {
			err_set(e, 400, INVALID, "The parameter %s is specified more than once.",
				f->params[i].key);
			goto fail;
		}
	}
	return 0;

toolong:
	err_set(e, 404, MALFORMED, "The query string contains a parameter name longer than %d bytes.",
		FORM_MAX_KEY);
fail:
	form_free(f);
	return -1;
}

int
form_parse(struct form *f, const char *data, size_t len, struct err *e)
{
	return parse(f, data, len, false, e);
}

int
form_parse_query(struct form *f, const char *data, size_t len, struct err *e)
{
	return parse(f, data, len, true, e);
}

void
form_free(struct form *f)
{
	if (f == NULL)
		return;
	free(f->params);
	free(f->arena);
	memset(f, 0, sizeof(*f));
}

const struct form_param *
form_find(const struct form *f, const char *key)
{
	struct form_param k = {.key = key};

	if (f->n == 0)
		return NULL;
	return bsearch(&k, f->params, f->n, sizeof(*f->params), cmp_param);
}

const char *
form_get(const struct form *f, const char *key)
{
	const struct form_param *p = form_find(f, key);

	return p ? p->value : NULL;
}

/* Index of the first key >= s. */
static size_t
lower_bound(const struct form *f, const char *s)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(f->params[mid].key, s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Parse the decimal index at *s up to '.' or NUL; advances *s. */
static int
parse_index(const char **s, unsigned long *out)
{
	const char *p = *s;
	unsigned long v = 0;

	if (*p < '1' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > FORM_MAX_INDEX)
			return -1;
		p++;
	}
	if (*p != '\0' && *p != '.')
		return -1;
	*s = p;
	*out = v;
	return 0;
}

struct member {
	unsigned long n;
	const char *value;
};

static int
cmp_member(const void *a, const void *b)
{
	unsigned long x = ((const struct member *)a)->n, y = ((const struct member *)b)->n;

	return x < y ? -1 : x > y;
}

/* Shared by form_list (structs = false: `Name.member.N`) and form_members
 * (structs = true: `Name.member.N.Field`). */
static int
collect(const struct form *f, const char *name, size_t max, bool structs, struct form_list *out,
	struct err *e)
{
	char prefix[FORM_MAX_KEY + 16];
	size_t plen, i, cnt = 0, cap = 0;
	struct member *m = NULL;

	memset(out, 0, sizeof(*out));
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s.member.", name);
	if (plen >= sizeof(prefix))
		return 0; /* no key can be this long: the list is absent */
	out->present = form_find(f, name) != NULL;

	for (i = lower_bound(f, prefix); i < f->n; i++) {
		const char *k = f->params[i].key;
		unsigned long idx;

		if (strncmp(k, prefix, plen) != 0)
			break;
		out->present = true;
		const char *rest = k + plen;
		if (parse_index(&rest, &idx) != 0 || (*rest == '.' && rest[1] == '\0')) {
			free(m);
			return err_set(e, 400, INVALID, "Invalid list index in parameter %s.", k);
		}
		if (structs != (*rest == '.'))
			continue;
		if (structs && cnt > 0 && m[cnt - 1].n == idx)
			continue; /* same structure, next field (keys are grouped) */
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			m = xrealloc(m, cap * sizeof(*m));
		}
		m[cnt].n = idx;
		m[cnt].value = f->params[i].value;
		cnt++;
	}
	if (cnt > 1)
		qsort(m, cnt, sizeof(*m), cmp_member);
	if (cnt > max) {
		free(m);
		return err_set(e, 400, INVALID, "The list %s has more than %zu members.", name, max);
	}
	if (cnt > 0) {
		out->index = xcalloc(cnt, sizeof(*out->index));
		if (!structs)
			out->values = xcalloc(cnt, sizeof(*out->values));
		for (i = 0; i < cnt; i++) {
			out->index[i] = m[i].n;
			if (!structs)
				out->values[i] = m[i].value;
		}
	}
	out->n = cnt;
	free(m);
	return 0;
}

int
form_list(const struct form *f, const char *name, size_t max, struct form_list *out, struct err *e)
{
	return collect(f, name, max, false, out, e);
}

int
form_members(const struct form *f, const char *name, size_t max, struct form_list *out,
	     struct err *e)
{
	return collect(f, name, max, true, out, e);
}

const char *
form_member_get(const struct form *f, const char *name, unsigned long n, const char *field)
{
	char key[FORM_MAX_KEY + 1];
	int k = snprintf(key, sizeof(key), "%s.member.%lu.%s", name, n, field);

	if (k < 0 || (size_t)k >= sizeof(key))
		return NULL;
	return form_get(f, key);
}

void
form_list_free(struct form_list *l)
{
	if (l == NULL)
		return;
	free(l->values);
	free(l->index);
	memset(l, 0, sizeof(*l));
}

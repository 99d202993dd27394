/*
 * template.c — the Handlebars subset of SES templates (template.h; notes in
 * docs/internals/template.md).
 *
 * A template compiles to a flat array of nodes in document order. A block
 * node (#if, #unless, #each) is followed by its body, then its else part;
 * it records where the else part begins (body_end) and where its whole
 * subtree ends (next), so rendering is a walk over index ranges with no
 * pointers and no recursion deeper than the block nesting (capped at
 * TEMPLATE_MAX_DEPTH). Text and paths are slices of the template's own copy
 * of the source.
 *
 * Rendering keeps a stack of scopes: the data, then one per enclosing
 * #each iteration. A name is looked up in the innermost scope first, then
 * outwards; `this` and `this.x` mean the innermost scope only; `../` starts
 * one scope further out. Work is capped (TEMPLATE_MAX_OUTPUT bytes and
 * MAX_STEPS nodes visited) so nested #each over long lists cannot run away.
 *
 * Invariants: a compiled template is immutable and may be rendered by any
 * number of threads at once; every node's ranges lie inside the array.
 */
#include "core/template.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define MAX_STEPS 4000000 /* nodes visited by one rendering */

enum kind { N_TEXT, N_VAR, N_RAW, N_IF, N_UNLESS, N_EACH };

struct node {
	enum kind kind;
	unsigned line;
	size_t off, len;  /* N_TEXT: the text; otherwise the path */
	size_t body_end;  /* blocks: first node of the else part (== next when none) */
	size_t next;      /* the node after this one's subtree */
	bool has_else;
};

struct template {
	char *src;
	size_t len;
	struct node *n;
	size_t nn, cap;
};

/* ---- compiling ------------------------------------------------------------ */

static int
syntax(struct err *e, unsigned line, const char *fmt, const char *a, size_t an)
{
	char what[600];

	snprintf(what, sizeof(what), fmt, (int)(an > 200 ? 200 : an), a);
	return err_set(e, 400, "InvalidTemplate", "Template syntax error on line %u: %s", line,
		       what);
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Handlebars identifiers: anything but whitespace and its punctuation. */
static bool
is_ident(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if (c <= ' ' || c == 0x7f)
		return false;
	return strchr("!\"#%&'()*+,./;<=>@[\\]^`{|}~", c) == NULL;
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_space((*s)[*n - 1]))
		(*n)--;
}

/* A path: [../]* then this[.seg]* | @index|@first|@last|@key | seg(.seg)*. */
static int
check_path(const char *p, size_t n, unsigned line, struct err *e)
{
	size_t i = 0;

	if (n == 0)
		return syntax(e, line, "an empty expression '{{}}'.%.*s", "", 0);
	if (n > TEMPLATE_MAX_PATH)
		return syntax(e, line, "the expression '%.*s…' is longer than 256 bytes.", p, n);
	for (size_t k = 0; k < n; k++)
		if (is_space(p[k]))
			return syntax(e, line,
				      "'{{%.*s}}': helpers and arguments are not supported, only "
				      "names.",
				      p, n);
	while (n - i >= 3 && memcmp(p + i, "../", 3) == 0)
		i += 3;
	if (p[i] == '@') {
		static const char *const vars[] = {"index", "first", "last", "key"};
		for (size_t k = 0; k < 4; k++)
			if (n - i - 1 == strlen(vars[k]) && memcmp(p + i + 1, vars[k], n - i - 1) == 0)
				return 0;
		return syntax(e, line, "unknown data variable '%.*s'.", p + i, n - i);
	}
	if (i == n)
		return syntax(e, line, "'%.*s' names no attribute.", p, n);
	for (size_t start = i; i <= n; i++) {
		if (i == n || p[i] == '.') {
			if (i == start)
				return syntax(e, line, "'%.*s' has an empty name between dots.", p, n);
			start = i + 1;
			continue;
		}
		if (!is_ident((unsigned char)p[i]))
			return syntax(e, line, "'%.*s' is not a valid attribute name.", p, n);
	}
	return 0;
}

static size_t
add(struct template *t, enum kind k, unsigned line, size_t off, size_t len)
{
	if (t->nn == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 32;
		t->n = xrealloc(t->n, t->cap * sizeof(*t->n));
	}
	struct node *x = &t->n[t->nn];
	memset(x, 0, sizeof(*x));
	x->kind = k;
	x->line = line;
	x->off = off;
	x->len = len;
	x->next = t->nn + 1;
	return t->nn++;
}

static const char *
block_name(enum kind k)
{
	return k == N_IF ? "if" : k == N_UNLESS ? "unless" : "each";
}

static unsigned
count_lines(const char *s, size_t n)
{
	unsigned c = 0;

	for (size_t i = 0; i < n; i++)
		c += s[i] == '\n';
	return c;
}

/* One tag's content (trimmed), at `off` in the source. */
static int
tag(struct template *t, const char *c, size_t n, bool triple, unsigned line, size_t *stack,
    int *depth, struct err *e)
{
	const char *s = t->src;

	if (triple) {
		if (check_path(c, n, line, e) != 0)
			return -1;
		add(t, N_RAW, line, (size_t)(c - s), n);
		return 0;
	}
	if (n > 0 && c[0] == '#') {
		const char *h = c + 1, *arg, *end = c + n;
		size_t hn = 0, an;
		enum kind k;
		while (h < end && is_space(*h))
			h++;
		while (h + hn < end && !is_space(h[hn]))
			hn++;
		if (hn == 2 && memcmp(h, "if", 2) == 0)
			k = N_IF;
		else if (hn == 6 && memcmp(h, "unless", 6) == 0)
			k = N_UNLESS;
		else if (hn == 4 && memcmp(h, "each", 4) == 0)
			k = N_EACH;
		else
			return syntax(e, line, "unsupported block helper '#%.*s' (only #if, #unless "
					       "and #each).",
				      h, hn);
		arg = h + hn;
		an = (size_t)(end - arg);
		trim(&arg, &an);
		if (an == 0)
			return syntax(e, line, "'{{#%.*s}}' needs an argument.", h, hn);
		if (check_path(arg, an, line, e) != 0)
			return -1;
		if (*depth >= TEMPLATE_MAX_DEPTH)
			return syntax(e, line, "blocks are nested deeper than 32 levels.%.*s", "", 0);
		stack[(*depth)++] = add(t, k, line, (size_t)(arg - s), an);
		return 0;
	}
	if (n > 0 && c[0] == '/') {
		const char *h = c + 1;
		size_t hn = n - 1;
		trim(&h, &hn);
		if (*depth == 0)
			return syntax(e, line, "'{{/%.*s}}' closes no open block.", h, hn);
		struct node *b = &t->n[stack[*depth - 1]];
		const char *want = block_name(b->kind);
		if (hn != strlen(want) || memcmp(h, want, hn) != 0) {
			char msg[300];
			snprintf(msg, sizeof(msg), "'{{/%%.*s}}' does not close '{{#%s}}' of line %u.",
				 want, b->line);
			return syntax(e, line, msg, h, hn);
		}
		(*depth)--;
		b->next = t->nn;
		if (!b->has_else)
			b->body_end = t->nn;
		return 0;
	}
	if (n == 4 && memcmp(c, "else", 4) == 0) {
		if (*depth == 0)
			return syntax(e, line, "'{{else}}' outside a block.%.*s", "", 0);
		struct node *b = &t->n[stack[*depth - 1]];
		if (b->has_else)
			return syntax(e, line, "a second '{{else}}' in one '{{#%.*s}}'.",
				      block_name(b->kind), strlen(block_name(b->kind)));
		b->has_else = true;
		b->body_end = t->nn;
		return 0;
	}
	if (n > 0 && (c[0] == '>' || c[0] == '^' || c[0] == '&' || c[0] == '~' ||
		      c[n - 1] == '~' || c[0] == '*'))
		return syntax(e, line, "'{{%.*s}}' is not supported (partials, inverse sections, "
				       "whitespace control and decorators are not).",
			      c, n);
	if (check_path(c, n, line, e) != 0)
		return -1;
	add(t, N_VAR, line, (size_t)(c - s), n);
	return 0;
}

int
template_compile(const char *src, size_t len, struct template **out, struct err *e)
{
	struct template *t;
	size_t stack[TEMPLATE_MAX_DEPTH];
	int depth = 0;
	unsigned line = 1;
	size_t i = 0;

	*out = NULL;
	if (len > TEMPLATE_MAX_BYTES)
		return err_set(e, 400, "InvalidTemplate",
			       "The template is %zu bytes long; the limit is %d bytes.", len,
			       TEMPLATE_MAX_BYTES);
	t = xcalloc(1, sizeof(*t));
	t->src = xmalloc(len + 1);
	if (len > 0)
		memcpy(t->src, src, len);
	t->src[len] = '\0';
	t->len = len;
	const char *s = t->src;
	while (i < len) {
		const char *o = memmem(s + i, len - i, "{{", 2);
		size_t at = o != NULL ? (size_t)(o - s) : len;
		if (at > i)
			add(t, N_TEXT, line, i, at - i);
		line += count_lines(s + i, at - i);
		if (o == NULL)
			break;
		size_t p = at + 2, cs, cn, end;
		bool triple = false;
		const char *close = "}}";
		if (p < len && s[p] == '{') {
			triple = true;
			close = "}}}";
			p++;
		} else if (len - p >= 3 && memcmp(s + p, "!--", 3) == 0) {
			close = "--}}";
		} else if (p < len && s[p] == '!') {
			close = "}}";
		}
		const char *c = memmem(s + p, len - p, close, strlen(close));
		if (c == NULL) {
			syntax(e, line, "'{{' is never closed with '%.*s'.", close, strlen(close));
			goto fail;
		}
		cs = p;
		cn = (size_t)(c - s) - p;
		end = (size_t)(c - s) + strlen(close);
		if (s[p] != '!') {
			const char *cc = s + cs;
			trim(&cc, &cn);
			/* a stray '{' or '}' inside means the braces do not pair up */
			if (memchr(cc, '{', cn) != NULL || memchr(cc, '}', cn) != NULL) {
				syntax(e, line, "unbalanced braces in '{{%.*s'.", cc, cn);
				goto fail;
			}
			if (tag(t, cc, cn, triple, line, stack, &depth, e) != 0)
				goto fail;
		}
		line += count_lines(s + at, end - at);
		i = end;
	}
	if (depth > 0) {
		struct node *b = &t->n[stack[depth - 1]];
		syntax(e, b->line, "'{{#%.*s}}' is never closed.", block_name(b->kind),
		       strlen(block_name(b->kind)));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	template_free(t);
	return -1;
}

void
template_free(struct template *t)
{
	if (t == NULL)
		return;
	free(t->src);
	free(t->n);
	free(t);
}

/* ---- rendering ------------------------------------------------------------ */

struct frame {
	const json_t *v;
	bool loop;          /* an #each iteration */
	size_t index, count;
	const char *key;    /* iterating an object: the member's name */
};

struct rctx {
	const struct template *t;
	enum template_mode mode;
	struct buf *out;
	size_t start;       /* out->len when rendering began */
	long steps;
	struct err *e;
	struct frame f[TEMPLATE_MAX_DEPTH + 1];
	int depth;          /* frames in use */
};

/* A resolved value: JSON, or one of the data variables. */
enum vkind { V_JSON, V_INT, V_BOOL, V_STR };
struct val {
	enum vkind kind;
	const json_t *j;
	long long i;
	const char *s;
};

static int
missing(struct rctx *r, const char *p, size_t n)
{
	return err_set(r->e, 400, TEMPLATE_ERR_MISSING,
		       "Attribute '%.*s' is not present in the rendering data.", (int)n, p);
}

/* Descend the dotted segments p[0..n) from v. */
static const json_t *
descend(const json_t *v, const char *p, size_t n)
{
	size_t i = 0;

	while (v != NULL && i < n) {
		const char *d = memchr(p + i, '.', n - i);
		size_t sn = d != NULL ? (size_t)(d - (p + i)) : n - i;
		char key[TEMPLATE_MAX_PATH + 1];
		if (!json_is_object(v))
			return NULL;
		memcpy(key, p + i, sn);
		key[sn] = '\0';
		v = json_object_get(v, key);
		i += sn + 1;
	}
	return v;
}

/* 1 found (*out), 0 missing. */
static int
resolve(struct rctx *r, const char *p, size_t n, struct val *out)
{
	int top = r->depth - 1;

	memset(out, 0, sizeof(*out));
	while (n >= 3 && memcmp(p, "../", 3) == 0) {
		p += 3;
		n -= 3;
		top--;
	}
	if (top < 0)
		return 0;
	if (p[0] == '@') {
		int k = top;
		while (k >= 0 && !r->f[k].loop)
			k--;
		if (k < 0)
			return 0;
		const struct frame *f = &r->f[k];
		if (n == 6 && memcmp(p, "@index", 6) == 0) {
			out->kind = V_INT;
			out->i = (long long)f->index;
		} else if (n == 6 && memcmp(p, "@first", 6) == 0) {
			out->kind = V_BOOL;
			out->i = f->index == 0;
		} else if (n == 5 && memcmp(p, "@last", 5) == 0) {
			out->kind = V_BOOL;
			out->i = f->index + 1 == f->count;
		} else {
			if (f->key == NULL)
				return 0;
			out->kind = V_STR;
			out->s = f->key;
		}
		return 1;
	}
	if (n >= 4 && memcmp(p, "this", 4) == 0 && (n == 4 || p[4] == '.')) {
		out->j = n == 4 ? r->f[top].v : descend(r->f[top].v, p + 5, n - 5);
		return out->j != NULL;
	}
	/* the first segment picks the scope, innermost first */
	const char *d = memchr(p, '.', n);
	size_t fn = d != NULL ? (size_t)(d - p) : n;
	char key[TEMPLATE_MAX_PATH + 1];
	memcpy(key, p, fn);
	key[fn] = '\0';
	for (int k = top; k >= 0; k--) {
		const json_t *v = r->f[k].v;
		if (!json_is_object(v) || (v = json_object_get(v, key)) == NULL)
			continue;
		out->j = d != NULL ? descend(v, p + fn + 1, n - fn - 1) : v;
		return out->j != NULL;
	}
	return 0;
}

static bool
truthy(const struct val *v)
{
	const json_t *j = v->j;

	switch (v->kind) {
	case V_INT:
	case V_BOOL:
		return v->i != 0;
	case V_STR:
		return v->s[0] != '\0';
	case V_JSON:
		break;
	}
	if (j == NULL || json_is_null(j) || json_is_false(j))
		return false;
	if (json_is_string(j))
		return json_string_length(j) > 0;
	if (json_is_integer(j))
		return json_integer_value(j) != 0;
	if (json_is_real(j))
		return json_real_value(j) != 0.0 && !isnan(json_real_value(j));
	if (json_is_array(j))
		return json_array_size(j) > 0;
	return true;
}

static int
emit(struct rctx *r, const char *s, size_t n, bool escape)
{
	int rc = escape ? template_escape_html(r->out, s, n) : buf_append(r->out, s, n);

	if (rc != 0 || r->out->len - r->start > TEMPLATE_MAX_OUTPUT)
		return err_set(r->e, 400, "InvalidRenderingParameter",
			       "The rendered template is longer than %d bytes.", TEMPLATE_MAX_OUTPUT);
	return 0;
}

/* JavaScript's Number → String, near enough: integral values without a
 * fraction, others in the shortest form that reads back the same. */
static void
format_real(double d, char out[40])
{
	if (isnan(d)) {
		snprintf(out, 40, "NaN");
		return;
	}
	if (isinf(d)) {
		snprintf(out, 40, d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	if (d == floor(d) && fabs(d) < 1e21) {
		snprintf(out, 40, "%.0f", d);
		if (strcmp(out, "-0") == 0)
			snprintf(out, 40, "0");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, 40, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

static int
emit_json(struct rctx *r, const json_t *j, bool escape, int depth)
{
	char num[40];

	switch (json_typeof(j)) {
	case JSON_STRING:
		return emit(r, json_string_value(j), json_string_length(j), escape);
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return emit(r, num, strlen(num), false);
	case JSON_REAL:
		format_real(json_real_value(j), num);
		return emit(r, num, strlen(num), false);
	case JSON_TRUE:
		return emit(r, "true", 4, false);
	case JSON_FALSE:
		return emit(r, "false", 5, false);
	case JSON_NULL:
		return 0;
	case JSON_OBJECT:
		return emit(r, "[object Object]", 15, false);
	case JSON_ARRAY:
		/* Array.prototype.toString: the elements joined by commas */
		if (depth > 64)
			return 0;
		for (size_t i = 0; i < json_array_size(j); i++) {
			if (i > 0 && emit(r, ",", 1, escape) != 0)
				return -1;
			if (emit_json(r, json_array_get(j, i), escape, depth + 1) != 0)
				return -1;
		}
		return 0;
	}
	return 0;
}

static int
emit_val(struct rctx *r, const struct val *v, bool escape)
{
	char num[32];

	switch (v->kind) {
	case V_INT:
		snprintf(num, sizeof(num), "%lld", v->i);
		return emit(r, num, strlen(num), false);
	case V_BOOL:
		return v->i ? emit(r, "true", 4, false) : emit(r, "false", 5, false);
	case V_STR:
		return emit(r, v->s, strlen(v->s), escape);
	case V_JSON:
		break;
	}
	return emit_json(r, v->j, escape, 0);
}

static int walk(struct rctx *r, size_t from, size_t to);

static int
step(struct rctx *r)
{
	if (++r->steps > MAX_STEPS)
		return err_set(r->e, 400, "InvalidRenderingParameter",
			       "The template takes too long to render (more than %d steps).",
			       MAX_STEPS);
	return 0;
}

static int
iterate(struct rctx *r, const struct node *x, const struct val *list, size_t self)
{
	const json_t *j = list->kind == V_JSON ? list->j : NULL;
	size_t n = 0;
	struct frame *f;

	if (json_is_array(j))
		n = json_array_size(j);
	else if (json_is_object(j))
		n = json_object_size(j);
	if (n == 0)
		return walk(r, x->body_end, x->next);
	if (r->depth > TEMPLATE_MAX_DEPTH) /* cannot happen: one frame per nested #each */
		return err_set(r->e, 400, "InvalidTemplate", "Blocks are nested too deeply.");
	f = &r->f[r->depth++];
	memset(f, 0, sizeof(*f));
	f->loop = true;
	f->count = n;
	int rc = 0;
	if (json_is_array(j)) {
		for (size_t i = 0; i < n && rc == 0; i++) {
			f->v = json_array_get(j, i);
			f->index = i;
			if ((rc = step(r)) == 0)
				rc = walk(r, self + 1, x->body_end);
		}
	} else {
		const char *key;
		json_t *v;
		size_t i = 0;
		json_object_foreach((json_t *)j, key, v) {
			f->v = v;
			f->key = key;
			f->index = i++;
			if ((rc = step(r)) != 0 || (rc = walk(r, self + 1, x->body_end)) != 0)
				break;
		}
	}
	r->depth--;
	return rc;
}

/* Render nodes [from, to) of one level. */
static int
walk(struct rctx *r, size_t from, size_t to)
{
	const struct template *t = r->t;

	for (size_t i = from; i < to; i = t->n[i].next) {
		const struct node *x = &t->n[i];
		const char *p = t->src + x->off;
		struct val v;
		if (step(r) != 0)
			return -1;
		switch (x->kind) {
		case N_TEXT:
			if (emit(r, p, x->len, false) != 0)
				return -1;
			break;
		case N_VAR:
		case N_RAW:
			if (!resolve(r, p, x->len, &v))
				return missing(r, p, x->len);
			if (emit_val(r, &v, x->kind == N_VAR && r->mode == TEMPLATE_HTML) != 0)
				return -1;
			break;
		case N_IF:
		case N_UNLESS: {
			bool yes = resolve(r, p, x->len, &v) && truthy(&v);
			if (x->kind == N_UNLESS)
				yes = !yes;
			if (yes ? walk(r, i + 1, x->body_end) : walk(r, x->body_end, x->next))
				return -1;
			break;
		}
		case N_EACH:
			if (!resolve(r, p, x->len, &v))
				return missing(r, p, x->len);
			if (iterate(r, x, &v, i) != 0)
				return -1;
			break;
		}
	}
	return 0;
}

int
template_render(const struct template *t, const json_t *data, enum template_mode mode,
		struct buf *out, struct err *e)
{
	struct rctx *r = xcalloc(1, sizeof(*r));
	int rc;

	r->t = t;
	r->mode = mode;
	r->out = out;
	r->start = out->len;
	r->e = e;
	r->f[0].v = data;
	r->depth = 1;
	rc = walk(r, 0, t->nn);
	free(r);
	return rc;
}

int
template_escape_html(struct buf *out, const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		const char *ent = NULL;
		switch (s[i]) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#x27;"; break;
		case '`': ent = "&#x60;"; break;
		case '=': ent = "&#x3D;"; break;
		default: break;
		}
		if (ent == NULL)
			continue;
		if (buf_append(out, s + run, i - run) != 0 || buf_puts(out, ent) != 0)
			return -1;
		run = i + 1;
	}
	return buf_append(out, s + run, n - run);
}

/* ---- a template's parts ----------------------------------------------------- */

static const char *const part_names[3] = {"SubjectPart", "TextPart", "HtmlPart"};

void
template_rendered_clear(struct template_rendered *r)
{
	if (r == NULL)
		return;
	free(r->subject);
	free(r->text);
	free(r->html);
	memset(r, 0, sizeof(*r));
}

int
template_check_parts(const struct template_parts *p, const char *const names[3], struct err *e)
{
	const char *v[3] = {p->subject, p->text, p->html};
	size_t total = 0;

	for (int i = 0; i < 3; i++) {
		struct template *t;
		if (v[i] == NULL)
			continue;
		total += strlen(v[i]);
		if (template_compile(v[i], strlen(v[i]), &t, e) != 0) {
			char msg[sizeof(e->message)];
			snprintf(msg, sizeof(msg), "%s", e->message);
			return err_set(e, 400, "InvalidTemplate", "%s: %.900s",
				       (names != NULL ? names : part_names)[i], msg);
		}
		template_free(t);
	}
	if (total > TEMPLATE_MAX_BYTES)
		return err_set(e, 400, "InvalidTemplate",
			       "The template is %zu bytes long; the limit is %d bytes.", total,
			       TEMPLATE_MAX_BYTES);
	return 0;
}

static json_t *
load_object(const char *s, size_t n, const char *what, struct err *e)
{
	json_error_t je;
	json_t *j;

	if (n > TEMPLATE_MAX_DATA) {
		err_set(e, 400, "InvalidRenderingParameter",
			"%s is %zu bytes long; the limit is %d bytes.", what, n, TEMPLATE_MAX_DATA);
		return NULL;
	}
	if ((j = json_loadb(s, n, 0, &je)) == NULL) {
		err_set(e, 400, "InvalidRenderingParameter", "%s is not valid JSON: %s (position %d).",
			what, je.text, je.position);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		err_set(e, 400, "InvalidRenderingParameter", "%s must be a JSON object.", what);
		return NULL;
	}
	return j;
}

int
template_render_parts(const struct template_parts *p, const char *defaults, const char *data,
		      size_t len, struct template_rendered *out, struct err *e)
{
	const char *v[3] = {p->subject, p->text, p->html};
	char **o[3] = {&out->subject, &out->text, &out->html};
	json_t *d, *def = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if ((d = load_object(data, len, "Template data", e)) == NULL)
		return -1;
	if (defaults != NULL) {
		if ((def = load_object(defaults, strlen(defaults), "Default template data", e)) ==
		    NULL) {
			json_decref(d);
			return -1;
		}
		json_object_update_missing(d, def);
		json_decref(def);
	}
	for (int i = 0; i < 3 && rc == 0; i++) {
		struct template *t;
		struct buf b;
		if (v[i] == NULL)
			continue;
		if ((rc = template_compile(v[i], strlen(v[i]), &t, e)) != 0)
			break;
		buf_init(&b, 0);
		rc = template_render(t, d, i == 2 ? TEMPLATE_HTML : TEMPLATE_PLAIN, &b, e);
		template_free(t);
		if (rc == 0 && memchr(b.data != NULL ? b.data : "", '\0', b.len) != NULL)
			rc = err_set(e, 400, "InvalidRenderingParameter",
				     "The rendered %s holds a NUL character.", part_names[i]);
		if (rc == 0) {
			buf_putc(&b, '\0');
			*o[i] = buf_steal(&b, NULL);
		}
		buf_free(&b);
	}
	json_decref(d);
	if (rc != 0)
		template_rendered_clear(out);
	return rc;
}

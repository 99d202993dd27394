/*
 * template.h — SES email templates: a Handlebars subset, compiled once and
 * rendered against a JSON object (spec feedback-notify.md §8; notes in
 * docs/internals/template.md). Pure: no I/O, no globals.
 *
 * Syntax:
 *   {{name}}            the value, HTML-escaped when rendering the HTML part
 *   {{{name}}}          the value, never escaped
 *   {{a.b.c}}           a dotted path; {{this}}, {{this.x}}, {{../x}} (outer scope),
 *                       {{@index}} {{@first}} {{@last}} {{@key}} inside #each
 *   {{#if x}}…{{else}}…{{/if}}, {{#unless x}}…{{else}}…{{/unless}}
 *                       falsy as in Handlebars: false, null, "", 0, []
 *                       (and a missing attribute: no error in a condition)
 *   {{#each list}}…{{else}}…{{/each}}  arrays (and objects: @key); inside, a
 *                       name resolves against the item first, then the outer
 *                       scopes
 *   {{! comment }} {{!-- comment --}}
 * Whitespace inside the braces is tolerated. Anything else is a syntax
 * error (InvalidTemplate, HTTP 400) whose message names the problem and
 * its line.
 *
 * Render errors: a referenced attribute absent from the data (outside an
 * #if/#unless condition) fails with code TEMPLATE_ERR_MISSING and SES's
 * words "Attribute 'x' is not present in the rendering data."; output past
 * TEMPLATE_MAX_OUTPUT fails with InvalidRenderingParameter.
 */
#ifndef SESAME_CORE_TEMPLATE_H
#define SESAME_CORE_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

#define TEMPLATE_MAX_BYTES (500 * 1024)         /* SES: 500 KB per template */
#define TEMPLATE_MAX_DEPTH 32                   /* nested blocks */
#define TEMPLATE_MAX_PATH 256                   /* bytes of one {{path}} */
#define TEMPLATE_MAX_OUTPUT (10 * 1024 * 1024)  /* bytes one rendering may produce */
#define TEMPLATE_ERR_MISSING "MissingRenderingAttribute"

struct template;

enum template_mode {
	TEMPLATE_PLAIN, /* subject and text part: {{x}} is not escaped */
	TEMPLATE_HTML,  /* HTML part: {{x}} is HTML-escaped */
};

/* Compile `len` bytes of `src` (need not be NUL-terminated; a NUL byte is
 * text). 0 with *out (free with template_free), or -1 with e filled
 * (InvalidTemplate). More than TEMPLATE_MAX_BYTES is InvalidTemplate too. */
int template_compile(const char *src, size_t len, struct template **out, struct err *e);
/* NULL is a no-op. */
void template_free(struct template *t);

/* Append the rendering of t against `data` (any JSON value; names are
 * looked up in objects) to out. 0, or -1 with e filled; out may then hold
 * part of the rendering. */
int template_render(const struct template *t, const json_t *data, enum template_mode mode,
		    struct buf *out, struct err *e);

/*
 * A stored template's parts, as SES's Template shape has them (NULL: the
 * part is absent), and the same parts rendered (malloc'd; NULL where the
 * template has no such part). What CreateTemplate/UpdateTemplate,
 * TestRenderTemplate, SendTemplatedEmail and SendBulkTemplatedEmail (and
 * v2's EmailTemplate actions) share.
 */
#define TEMPLATE_MAX_DATA 262144 /* bytes of TemplateData (botocore's max) */

struct template_parts {
	const char *subject, *text, *html;
};
struct template_rendered {
	char *subject, *text, *html;
};
/* NULL and a cleared struct are fine. */
void template_rendered_clear(struct template_rendered *r);

/* Every part compiles and together they are at most TEMPLATE_MAX_BYTES:
 * 0, or -1 with InvalidTemplate naming the part by names[0..2] (the
 * caller's member names; NULL: v1's "SubjectPart: …", TextPart, HtmlPart). */
int template_check_parts(const struct template_parts *p, const char *const names[3], struct err *e);

/*
 * Render the parts (subject and text plain, html HTML-escaped) against the
 * JSON object `data` (len bytes), with the members of the JSON object
 * `defaults` (NULL: none) for names `data` lacks — SendBulkTemplatedEmail's
 * DefaultTemplateData under a destination's ReplacementTemplateData. 0 with
 * *out filled, or -1 with e filled and *out cleared: InvalidRenderingParameter
 * (not a JSON object, longer than TEMPLATE_MAX_DATA), TEMPLATE_ERR_MISSING,
 * InvalidTemplate (a part that does not compile).
 */
int template_render_parts(const struct template_parts *p, const char *defaults,
			  const char *data, size_t len, struct template_rendered *out,
			  struct err *e);

/* Append s[0..n) HTML-escaped as Handlebars escapes it: & < > " ' ` =. */
int template_escape_html(struct buf *out, const char *s, size_t n);

#endif

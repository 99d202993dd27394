/*
 * template_fuzz.c — libFuzzer target for core/template.
 *
 * The input is a template and rendering data split at the first NUL byte
 * (no NUL: the whole input is the template and the data is `{}`). The
 * template is compiled; whatever compiles is rendered against the data (any
 * JSON value) in both modes. Checked: no crash, leak or runaway; an error
 * always carries a code and HTTP 400; a rendering that succeeds in HTML mode
 * succeeds in plain mode too (escaping never changes what is looked up),
 * and the plain rendering holds no entity the HTML one would not.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/template.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nul = memchr(s, '\0', size);
	size_t tn = nul != NULL ? (size_t)(nul - s) : size;
	struct template *t = NULL;
	struct err e = {0};
	json_t *d;

	if (template_compile(s, tn, &t, &e) != 0) {
		if (e.code[0] == '\0' || e.http != 400)
			abort();
		return 0;
	}
	if (nul != NULL)
		d = json_loadb(nul + 1, size - tn - 1, JSON_DECODE_ANY, NULL);
	else
		d = json_object();
	if (d == NULL)
		d = json_object();
	struct buf html, plain;
	buf_init(&html, 0);
	buf_init(&plain, 0);
	int rh = template_render(t, d, TEMPLATE_HTML, &html, &e);
	if (rh != 0 && (e.code[0] == '\0' || e.http != 400))
		abort();
	struct err e2 = {0};
	int rp = template_render(t, d, TEMPLATE_PLAIN, &plain, &e2);
	if (rh == 0 && rp != 0)
		abort();
	if (rh == 0 && plain.len > html.len)
		abort(); /* escaping only ever lengthens */
	buf_free(&html);
	buf_free(&plain);
	json_decref(d);
	template_free(t);

	/* the same through the parts API, with the data as text (JSON parsing,
	 * the defaults merge): the template is every part, and the defaults */
	if (nul != NULL) {
		char *tpl = strndup(s, tn);
		char *txt = strndup(nul + 1, size - tn - 1);
		struct template_parts p = {tpl, tpl, tpl};
		struct template_rendered r = {0};
		struct err e3 = {0};
		if (template_check_parts(&p, NULL, &e3) == 0 &&
		    template_render_parts(&p, "{\"d\": [1, {\"x\": \"<\"}]}", txt, strlen(txt), &r,
					  &e3) == 0 &&
		    (r.subject == NULL || r.text == NULL || r.html == NULL ||
		     strcmp(r.subject, r.text) != 0))
			abort(); /* every part rendered, subject and text alike */
		template_rendered_clear(&r);
		free(tpl);
		free(txt);
	}
	return 0;
}

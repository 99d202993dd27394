/*
 * view_fuzz.c — libFuzzer target for the inbox's message view
 * (src/mail/view.c): view_parse on any bytes. Checks what view.h
 * promises: it fails only with an error code, and on success every
 * string is strict UTF-8, the caps hold and attachment bytes are there.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/view.h"
#include "util/utf8.h"

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_str(const char *s)
{
	check(s != NULL && utf8_valid(s, strlen(s)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct view *v = NULL;
	struct err e;

	if (view_parse(data, size, &v, &e) != 0) {
		check(v == NULL && e.code[0] != '\0');
		return 0;
	}
	check(v != NULL && v->nheaders <= VIEW_MAX_HEADERS && v->natt <= VIEW_MAX_PARTS);
	for (size_t i = 0; i < v->nheaders; i++) {
		check_str(v->headers[i].name);
		check_str(v->headers[i].value);
	}
	if (v->text != NULL)
		check_str(v->text);
	if (v->html != NULL)
		check_str(v->html);
	if (v->html != NULL) {
		char *inl = view_html_inline(v, 1024);
		check_str(inl);
		free(inl);
	} else {
		check(view_html_inline(v, 1024) == NULL);
	}
	for (size_t i = 0; i < v->natt; i++) {
		const struct view_attachment *a = &v->att[i];
		check_str(a->filename);
		check_str(a->content_type);
		if (a->content_id != NULL)
			check_str(a->content_id);
		check(a->data != NULL);
		/* ASan checks the whole range of a memcpy: every byte is ours */
		uint8_t *copy = malloc(a->size + 1);
		check(copy != NULL);
		memcpy(copy, a->data, a->size);
		check(memcmp(copy, a->data, a->size) == 0);
		free(copy);
	}
	view_free(v);
	return 0;
}

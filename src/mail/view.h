/*
 * view.h — a stored message taken apart for the capture inbox
 * (api/dev_messages.c): its header fields decoded, the first text/plain
 * and the first text/html body converted to UTF-8, and every other leaf
 * part listed as an attachment with its decoded bytes. Pure: bytes in,
 * struct out; no I/O.
 *
 * Caps: VIEW_MAX_BYTES of input, VIEW_MAX_DEPTH multipart levels looked
 * into, VIEW_MAX_PARTS leaf parts, VIEW_MAX_HEADERS top-level fields kept
 * (more are dropped and `truncated` is set). Every string in the result
 * is valid UTF-8 (bad bytes became U+FFFD) and NUL-terminated; attachment
 * bytes are binary with their length. Nothing here aborts on input.
 */
#ifndef SESAME_MAIL_VIEW_H
#define SESAME_MAIL_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define VIEW_MAX_BYTES (16u * 1024 * 1024)
#define VIEW_MAX_DEPTH 16
#define VIEW_MAX_PARTS 256
#define VIEW_MAX_HEADERS 2000

struct view_header {
	char *name, *value;      /* value unfolded, RFC 2047 words decoded */
};

struct view_attachment {
	char *filename;          /* "" when the part names none */
	char *content_type;      /* "type/subtype", lowercase */
	char *content_id;        /* without <>; NULL when none */
	bool is_inline;          /* Content-Disposition: inline (or none) */
	uint8_t *data;           /* decoded (base64/QP undone); never NULL */
	size_t size;
};

struct view {
	struct view_header *headers;
	size_t nheaders;
	char *text;              /* the first text/plain body; NULL when none */
	char *html;              /* the first text/html body; NULL when none */
	struct view_attachment *att;
	size_t natt;
	bool truncated;          /* a cap dropped fields or parts */
};

/*
 * Parse data[0..len). 0 and *out set (free with view_free), or -1 with e
 * filled (400 InvalidParameterValue: empty, too large, or not a message
 * GMime can read). Any thread: GMime is initialised through
 * build_gmime_init.
 */
int view_parse(const uint8_t *data, size_t len, struct view **out, struct err *e);

/*
 * v->html with every "cid:<Content-ID>" reference to an image attachment
 * of v (PNG, JPEG, GIF, WebP) replaced by a data: URI of its bytes, so a
 * page that allows only data: images shows the mail's inline pictures.
 * References to other parts stay as they are; once the inlined bytes
 * would pass max_inline, the rest stay too. A malloc'd string (free()),
 * or NULL when v has no html.
 */
char *view_html_inline(const struct view *v, size_t max_inline);

/* Free v and everything in it; view_free(NULL) is a no-op. */
void view_free(struct view *v);

#endif

/*
 * dev_verify.c — the verification link: GET /_sesame/verify?token=….
 *
 * The token is the whole credential (256 random bits, see verify.h), so the
 * route needs no signature. The transition itself is verify_email_confirm's:
 * one conditional store write, so a DeleteIdentity in between is never
 * undone and of two simultaneous clicks only one answers 200. This file
 * answers a small HTML page a person clicking the link can read. A token
 * reaches the store only when it has the shape we issue, so odd input never
 * does.
 */
#include "api/dev_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/dev.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/httpd.h"
#include "util/log.h"
#include "verify/verify.h"

#define TOKEN_MAX 128

static bool
token_shape_ok(const char *t)
{
	size_t n = strlen(t);

	if (n < 16 || n > TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static void
html_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&#39;"); break;
		default: buf_putc(b, *s);
		}
	}
}

static void
page(struct httpd_req *r, int status, const char *title, const char *text,
     const char *address)
{
	struct buf b;

	buf_init(&b, 64 * 1024);
	buf_puts(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
	html_escape(&b, title);
	buf_puts(&b, "</title></head>\n<body><h1>");
	html_escape(&b, title);
	buf_puts(&b, "</h1>\n<p>");
	html_escape(&b, text);
	if (address != NULL) {
		buf_puts(&b, " <code>");
		html_escape(&b, address);
		buf_puts(&b, "</code>");
	}
	buf_puts(&b, "</p></body></html>\n");
	dev_reply(r, status, "text/html; charset=utf-8", b.data, b.len);
	buf_free(&b);
}

void
dev_verify(struct httpd_req *r, struct api_thread *t, const char *rest)
{
	struct identity id = {0};
	struct err e = {0};
	char *token = NULL;

	if (dev_query_get(r->query, "token", &token) != 0 || token == NULL ||
	    !token_shape_ok(token)) {
		page(r, 404, "Invalid verification link",
		     "This verification link is invalid. Check that you copied the whole link.",
		     NULL);
		goto out;
	}
	switch (verify_email_confirm(t->store, token, (int64_t)time(NULL), &id, &e)) {
	case VERIFY_LINK_OK:
		break;
	case VERIFY_LINK_ERROR:
		log_warn("verify: using a link failed: %s", e.message);
		page(r, 503, "Try again later", "The verification could not be completed.", NULL);
		goto out;
	case VERIFY_LINK_USED:
		page(r, 409, "Link already used",
		     "This verification link has already been used. The address is verified:",
		     id.name);
		goto out;
	case VERIFY_LINK_EXPIRED:
		page(r, 410, "Link expired",
		     "This verification link has expired (links are valid for 24 hours). Verify "
		     "the address again to get a new link:",
		     id.name);
		goto out;
	case VERIFY_LINK_INVALID:
		page(r, 404, "Invalid verification link",
		     "This verification link is invalid or has been replaced by a newer one.", NULL);
		goto out;
	}
	log_info("verify: %s verified (%s, account %s)", id.name, id.region, id.account_id);
	page(r, 200, "Email address verified",
	     "Congratulations! You have successfully verified the address", id.name);
out:
	identity_clear(&id);
	free(token);
}

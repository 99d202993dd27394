/*
 * build.h — the MIME message SendEmail sends, built with GMime 3 from the
 * request's parts: From, To, Cc, Reply-To (display names RFC 2047-encoded
 * when they are not ASCII), Subject (encoded in its charset when not
 * ASCII), Date, Message-ID, MIME-Version, and a text/plain and/or text/html
 * body in its charset (multipart/alternative when both), each part in
 * 7bit, quoted-printable or base64, whichever suits its bytes. Bcc never
 * appears in the message. Line ends are CRLF.
 *
 * Inputs are UTF-8 (the Query form is); a part whose Charset is not UTF-8
 * is converted to that charset. Errors are InvalidParameterValue:
 * an unknown charset, text the charset cannot represent, a control
 * character (CR and LF included) in the subject.
 */
#ifndef SESAME_MAIL_BUILD_H
#define SESAME_MAIL_BUILD_H

#include <stddef.h>

#include "core/address.h"
#include "util/buf.h"
#include "util/err.h"

struct build_email {
	const struct address *from;              /* NULL: no From (TestRenderTemplate) */
	const struct address *to, *cc, *reply_to;
	size_t nto, ncc, nreply_to;
	const char *subject, *subject_charset;   /* charset NULL = UTF-8 */
	const char *text, *text_charset;         /* text NULL = no text part */
	const char *html, *html_charset;         /* html NULL = no html part */
	const char *date;                        /* RFC 5322 date (raw_date) */
	const char *message_id;                  /* "<id@host>" */
};

/* Initialise GMime once per process (pthread_once; any thread, any number
 * of times). Every module that uses GMime calls this first instead of
 * g_mime_init, so the library is set up exactly once. */
void build_gmime_init(void);

/* The Message-ID header value for MessageId `id` sent in `region`, as SES
 * writes it: `<id@email.amazonses.com>` in us-east-1, else
 * `<id@<region>.amazonses.com>`. */
void build_message_id(const char *region, const char *id, char *out, size_t cap);

/* Append the whole message to out. 0, or -1 with e filled. At least one
 * of text and html must be given (the caller checks, with SES's error). */
int build_email(const struct build_email *b, struct buf *out, struct err *e);

/*
 * Decode RFC 2047 encoded words in a header value (a raw message's
 * Subject) into UTF-8. Returns a malloc'd string (free()); never NULL.
 */
char *build_decode_header(const char *value);

#endif

/*
 * raw.h — the header work on a raw message (SendRawEmail's RawMessage.Data,
 * later SMTP DATA): split header and body, check the header section, read
 * From, To/Cc/Bcc, Subject and the SES control headers, and write the copy
 * that is delivered.
 *
 * Parsing is by hand over the bytes, with no GMime object built from
 * untrusted input, so it is cheap to fuzz (tests/fuzz/raw_fuzz.c). What is
 * refused, and why, is in docs/internals/send.md; every refusal is
 * InvalidParameterValue (HTTP 400):
 *   - more than RAW_MAX_BYTES: "Message length is more than 10485760 bytes
 *     long: '<n>'." (SES's own words for the v1 limit);
 *   - a NUL byte, or a CR not followed by LF, anywhere (SMTP cannot carry
 *     them safely: bare CR is how SMTP smuggling starts). A bare LF is taken
 *     as a line end and written back as CRLF;
 *   - no header section (the first line is not a header field), or no From:
 *     "Missing required header 'From'." (SES's words);
 *   - a header line that is neither a field (`name:`) nor a continuation
 *     (leading SP/HT) — this is what a header injection looks like;
 *     a field with an empty name: "Empty header names are illegal." (SES);
 *     a name with bytes outside 33..126; a line over 998 bytes; a control
 *     byte in a value; 8-bit bytes in a value that are not UTF-8;
 *   - a header section over RAW_HEADER_MAX bytes or RAW_MAX_FIELDS fields:
 *     "Header section too long." (SES's words);
 *   - a second From, Sender, Reply-To, To, Cc or Subject field (RFC 5322
 *     3.6 allows each once; names compared ASCII case-insensitively):
 *     "Duplicate header 'From'." (SES's words). A parsed message holds at
 *     most one of each.
 */
#ifndef SESAME_MAIL_RAW_H
#define SESAME_MAIL_RAW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/address.h"
#include "util/buf.h"
#include "util/err.h"

#define RAW_MAX_BYTES 10485760        /* SES v1 API: 10 MB */
#define RAW_HEADER_MAX (256 * 1024)   /* the header section, CRLF line ends */
#define RAW_MAX_FIELDS 2000
#define RAW_LINE_MAX 998              /* RFC 5322 2.1.1, without the CRLF */
#define RAW_MAX_RECIPIENTS 50         /* SES: To + Cc + Bcc */

/* One header field; offsets into raw_msg.data. */
struct raw_field {
	size_t off, len;      /* the whole field, name through its final CRLF */
	size_t name_len;      /* the name starts at off */
	size_t value_off;     /* just after the ':' */
	size_t value_len;     /* up to the final CRLF (folds included) */
};

struct raw_msg {
	char *data;           /* the message with CRLF line ends, NUL-terminated */
	size_t len;
	size_t body_off;      /* first body byte (after the empty line), or len */
	bool has_body;        /* an empty line ended the header section */
	struct raw_field *field;
	size_t nfields;
};

/*
 * Check `n` bytes and index the header section. On success *out owns a
 * normalised copy (free with raw_free); on failure -1, e filled, *out NULL.
 */
int raw_parse(const void *data, size_t n, struct raw_msg **out, struct err *e);
void raw_free(struct raw_msg *m);

/* Index of the first field named `name` (ASCII case-insensitive) at or
 * after field `from`, or -1. */
long raw_find(const struct raw_msg *m, const char *name, size_t from);

/* The value of field i unfolded (CRLF before WSP removed) and trimmed of
 * leading and trailing WSP, appended to out. -1 only if out's cap is hit. */
int raw_value(const struct raw_msg *m, size_t i, struct buf *out);

/* The first field named `name`, as raw_value, into a new string (free()),
 * or NULL when absent. */
char *raw_get(const struct raw_msg *m, const char *name);

/*
 * The From address: the From field must hold exactly one mailbox, since
 * that one address is what authorization and the ses:FromAddress condition
 * check. -1 with InvalidParameterValue otherwise:
 *   - no From field: "Missing required header 'From'.";
 *   - no mailbox in it (`From:`, `From: undisclosed:;`): "Empty required
 *     header 'From'.";
 *   - more than one (`From: a@x, b@y`): "Multiple addresses in the From
 *     header are not supported.";
 *   - one mailbox inside a group (`From: Team: a@x;`): "Group syntax in
 *     the From header is not supported.";
 *   - anything else that is not one mailbox (a bad address, empty list
 *     elements as in `From: a@x,`): the address parser's message.
 * *out is written only on success.
 */
int raw_from(const struct raw_msg *m, struct address *out, struct err *e);

/*
 * The recipients named in every To, Cc and Bcc field, in that order, at
 * most RAW_MAX_RECIPIENTS ("Recipient count exceeds 50."). *out is
 * malloc'd (free()), NULL when *n_out is 0. A To field with an empty value
 * is refused with "Empty required header 'To'." as SES does.
 */
int raw_recipients(const struct raw_msg *m, struct address **out, size_t *n_out, struct err *e);

/*
 * Append the message as it will be delivered to out: every field except
 * Bcc, Message-ID, Date and the SES control headers (X-SES-SOURCE-ARN,
 * X-SES-FROM-ARN, X-SES-RETURN-PATH-ARN, X-SES-CONFIGURATION-SET,
 * X-SES-MESSAGE-TAGS — every occurrence), preceded by `Date: <date>` and
 * `Message-ID: <message_id>` (values as given), then the empty line and the
 * body. -1 only if out's cap is hit.
 */
int raw_render(const struct raw_msg *m, const char *date, const char *message_id,
	       struct buf *out);

/* True for the header names raw_render drops as SES control headers. */
bool raw_is_ses_header(const char *name, size_t n);

/* `Tue, 28 Nov 2023 15:42:01 +0000` for unix time t (RFC 5322 3.3, UTC),
 * independent of the locale. */
void raw_date(long long t, char out[40]);

#endif

/*
 * xml.h — a tiny XML writer for SES Query responses (spec §1.2, §1.3).
 *
 * Writes into a caller-owned struct buf; every function returns 0, or -1
 * when the buffer's cap would be passed (the buffer then holds a truncated
 * document and the caller answers InternalFailure). Element names are
 * trusted literals from our code; text is anything: it is escaped, and
 * bytes or characters XML 1.0 cannot carry (C0 controls but tab and LF,
 * DEL, invalid or overlong UTF-8, surrogates, U+FFFE/U+FFFF) become U+FFFD,
 * one per offending byte, so the output is always well-formed. C1 controls
 * (U+0080..U+009F, legal but "discouraged" in XML 1.0) are replaced too.
 */
#ifndef SESAME_API_XML_H
#define SESAME_API_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define XML_SES_NS "http://ses.amazonaws.com/doc/2010-12-01/"
#define XML_SNS_NS "http://sns.amazonaws.com/doc/2010-03-31/"

/* Escaped text: & < > " ' become entities, CR becomes &#13; (so it survives
 * parsing), tab and LF pass, everything invalid becomes U+FFFD. */
int xml_text(struct buf *b, const char *s, size_t n);

int xml_open(struct buf *b, const char *name);  /* <name> */
int xml_close(struct buf *b, const char *name); /* </name> */
int xml_empty(struct buf *b, const char *name); /* <name/> */
/* <name>escaped text</name>; a NULL text writes nothing at all (an absent
 * optional member). */
int xml_elem(struct buf *b, const char *name, const char *text);
int xml_elem_n(struct buf *b, const char *name, const char *text, size_t n);
/* `<name>v</name>` with v in decimal. */
int xml_elem_i64(struct buf *b, const char *name, int64_t v);
/* `<name>v</name>` with v to one decimal, as printf's "%.1f" writes it (SES's
 * quota doubles: "200.0"). */
int xml_elem_f1(struct buf *b, const char *name, double v);

/* `<ActionResponse xmlns="…">` and, when has_result, `<ActionResult>`. */
int xml_response_begin(struct buf *b, const char *ns, const char *action, bool has_result);
/* Closes what xml_response_begin opened and adds ResponseMetadata. A
 * Result with nothing written into it is closed as `<ActionResult/>`. */
int xml_response_end(struct buf *b, const char *action, bool has_result, const char *request_id);

/* The whole ErrorResponse document for `e` (Type Sender below HTTP 500,
 * Receiver from 500 on). The buffer is reset first. */
int xml_error_response(struct buf *b, const char *ns, const struct err *e,
		       const char *request_id);

#endif

/*
 * report.h — the parser for inbound feedback reports: delivery status
 * notifications (RFC 3464, and RFC 6533's message/global-delivery-status)
 * and ARF complaint reports (RFC 5965), as they arrive at the feedback
 * listener over SMTP.
 *
 * The MIME structure of the outer message and of the returned original is
 * read with GMime; the bodies of the message/delivery-status and
 * message/feedback-report parts (header-like field groups) are parsed here
 * by hand. The kind is decided by the parts' content types, never by the
 * advisory report-type parameter: the first message/delivery-status or
 * message/global-delivery-status part found (depth first, nested multiparts
 * included) makes a DSN, the first message/feedback-report part an ARF
 * report, whichever comes first.
 *
 * Caps: REPORT_MAX_BYTES of input, REPORT_MAX_DEPTH levels of multipart
 * nesting, REPORT_MAX_PARTS MIME parts visited, REPORT_MAX_RCPTS
 * per-recipient blocks, REPORT_MAX_FIELDS fields per report body; every
 * string field is bounded by its array (addresses that do not fit are
 * dropped, "" — a cut address would name somebody else; free text is
 * truncated on a UTF-8 boundary). Nothing here fails on input: whatever
 * cannot be read is left empty.
 */
#ifndef SESAME_FEEDBACK_REPORT_H
#define SESAME_FEEDBACK_REPORT_H

#include <stddef.h>

#define REPORT_MAX_RCPTS  100                 /* per-recipient blocks kept; more are ignored */
#define REPORT_MAX_BYTES  (10u * 1024 * 1024) /* larger input: REPORT_OTHER at once */
#define REPORT_MAX_DEPTH  8                   /* multipart levels looked into */
#define REPORT_MAX_PARTS  64                  /* MIME parts visited */
#define REPORT_MAX_FIELDS 4096                /* fields read from one status/feedback body */

enum report_kind { REPORT_OTHER, REPORT_DSN, REPORT_ARF };

/* One per-recipient block of a DSN. */
struct report_rcpt {
	char final_recipient[321];    /* addr-spec only: "rfc822;" type and <> stripped, trimmed;
	                                 "" if none or too long */
	char original_recipient[321]; /* same treatment */
	char action[16];              /* lower-cased failed|delayed|delivered|relayed|expanded,
	                                 "" if absent or anything else */
	char status[16];              /* "5.1.1" when the value starts with a valid X.Y.Z
	                                 (X in 2,4,5; Y, Z 1-3 digits), else "" */
	char diagnostic_code[1000];   /* unfolded (a fold becomes one space), trimmed,
	                                 truncated to fit */
	char remote_mta[300];         /* as given, unfolded, trimmed */
};

/*
 * A parsed report. It is large (about 200 KB): allocate it on the heap.
 * Every string is NUL-terminated and holds no control characters (they
 * become spaces).
 */
struct report {
	enum report_kind kind;
	char reporting_mta[300]; /* DSN per-message Reporting-MTA ("dns; mx.example");
	                            ARF: Reporting-MTA if present */
	char arrival_date[64];   /* DSN Arrival-Date; ARF Arrival-Date, else Received-Date */
	/* ARF (message/feedback-report) */
	char feedback_type[32]; /* lower-cased Feedback-Type token (abuse, auth-failure,
	                           fraud, not-spam, other, virus, or an extension) */
	char user_agent[256];
	char original_rcpt_to[321];   /* the first Original-Rcpt-To, addr-spec only */
	char original_mail_from[321]; /* Original-Mail-From, addr-spec only */
	char source_ip[64];
	/* the returned original: the first message/rfc822, message/global,
	 * text/rfc822-headers or message/global-headers part */
	char original_message_id[256]; /* its Message-ID without the angle brackets, "" if none */
	char original_to[321];         /* its To's addr-spec when To names exactly one address
	                                  (a redacted one too), else "" */
	struct report_rcpt rcpt[REPORT_MAX_RCPTS]; /* DSN per-recipient blocks, in order */
	size_t nrcpt;
};

/*
 * Parse one message (RFC 5322 bytes as received over SMTP, CRLF or LF line
 * ends). Returns the kind, also stored in out->kind: REPORT_DSN for a
 * report with a message/delivery-status or message/global-delivery-status
 * part, REPORT_ARF for one with a message/feedback-report part,
 * REPORT_OTHER for anything else (then every other field of *out is
 * empty). Never fails on input; *out is always zeroed first and filled as
 * far as the input allows. No allocation survives the call; safe from any
 * thread (GMime is initialised once through build_gmime_init).
 */
enum report_kind report_parse(const char *data, size_t len, struct report *out);

#endif

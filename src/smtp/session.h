/*
 * session.h — one SMTP submission session as a state machine over bytes,
 * with no sockets: the transport (smtp/server.c, or a test's fake) feeds
 * what the client sent with smtp_session_input() and receives replies,
 * TLS upgrades, authentication checks, submissions and the close through
 * a table of callbacks. That is what makes it unit-testable and fuzzable
 * (tests/unit/test_smtp_session.c, tests/fuzz/smtp_fuzz.c).
 *
 * Command lines and DATA are framed by util/smtp_lines.c (no I/O either).
 * Verbs are rows of a dispatch table {name, check, run}: EHLO/HELO,
 * STARTTLS, AUTH (PLAIN, LOGIN; only over TLS), MAIL FROM (SIZE=),
 * RCPT TO (at most SMTP_MAX_RCPT), DATA, RSET, NOOP, QUIT, VRFY (252).
 * Hostile input and its answers (docs/internals/smtp.md):
 *   - input before the greeting: 554 and close (pre-greet talkers);
 *   - a command line over SMTP_LINE_MAX bytes (CRLF included): 500, the
 *     rest of it skipped; the SMTP_MAX_LONG_LINES-th closes with 421;
 *   - a command line ending in a bare LF: 500;
 *   - a bare LF or a bare CR anywhere in DATA: one 554 at once and the
 *     close; the message is dropped and nothing after it is read (only
 *     CRLF "." CRLF ends DATA, util/smtp_lines.h: no SMTP smuggling);
 *   - DATA over SMTP_MAX_DATA bytes (SIZE= above it at MAIL): 552;
 *   - commands pipelined without an EHLO that advertised PIPELINING, and
 *     plaintext pipelined after STARTTLS: 554 / discarded;
 *   - more than SMTP_MAX_ERRORS errors, SMTP_MAX_UNAUTH_CMDS commands
 *     before AUTH, or SMTP_MAX_AUTH_FAILURES failed AUTHs: 421 and close.
 */
#ifndef SESAME_SMTP_SESSION_H
#define SESAME_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "util/smtp_lines.h" /* SMTP_LINE_MAX */
#include "util/err.h"

#define SMTP_MAX_RCPT 50             /* SES: recipients per message */
#define SMTP_MAX_DATA 10485760       /* SES: 10 MB message */
#define SMTP_MAX_LONG_LINES 3
#define SMTP_MAX_ERRORS 10
#define SMTP_MAX_UNAUTH_CMDS 20
#define SMTP_MAX_AUTH_FAILURES 3
#define SMTP_MAX_PENDING_INPUT (64 * 1024) /* unprocessed input while a reply is awaited */

struct smtp_session;

/* The envelope and content of one finished DATA. */
struct smtp_txn {
	const char *mail_from;       /* addr-spec from MAIL FROM:<…> */
	const char *const *rcpt;     /* addr-specs from RCPT TO:<…> */
	size_t nrcpt;
	const char *data;            /* the message, dot-unstuffed, CRLF line ends */
	size_t len;
};

struct smtp_session_ops {
	/* Write reply bytes to the client. */
	void (*write)(void *arg, const char *data, size_t n);
	/* Upgrade the transport to TLS after the bytes written so far are
	 * sent. Bytes the client pipelined after STARTTLS are discarded (by
	 * the session, and the transport drops what it has not fed yet); the
	 * session starts over as a TLS session (RFC 3207: EHLO again). A
	 * failed handshake is the transport's to close. */
	void (*starttls)(void *arg);
	/* Close after the bytes written so far are sent. No other callback
	 * runs after this one. */
	void (*close)(void *arg);
	/* Check credentials: 1 good, 0 bad, -1 temporary failure (e filled).
	 * NULL makes an inbound session (the feedback listener): no AUTH
	 * offered or needed, MAIL FROM:<> (the null sender of a bounce) taken,
	 * and every recipient decided by `rcpt`. */
	int (*auth)(void *arg, const char *user, const char *password, struct err *e);
	/* Decide and queue one message: 0 = pending, and the transport calls
	 * smtp_session_submitted() later (never inside this call); -1 = refused
	 * now with e filled. */
	int (*submit)(void *arg, const struct smtp_txn *t, struct err *e);
	/* An inbound session's RCPT TO: 0 taken, -1 refused with e (its
	 * message is the reply text after the code: 550 for a permanent
	 * refusal, 451 for a temporary one). Only called when auth is NULL. */
	int (*rcpt)(void *arg, const char *address, struct err *e);
};

/* A session for a client; `tls`: the transport is TLS already (implicit
 * TLS); `can_starttls`: STARTTLS is offered when not. Nothing is written
 * until smtp_session_greet(). */
struct smtp_session *smtp_session_new(const struct smtp_session_ops *ops, void *arg, bool tls,
				      bool can_starttls, const char *hostname);
/* NULL is a no-op. Wipes credentials it saw. */
void smtp_session_free(struct smtp_session *s);

/* Send the 220 greeting; input before it is a protocol violation. */
void smtp_session_greet(struct smtp_session *s);

/* Feed bytes from the client; processes every complete line it can. */
void smtp_session_input(struct smtp_session *s, const void *data, size_t n);

/* The answer to a submission that ops->submit left pending: message_id on
 * success (250 Ok <id>), e otherwise. Resumes processing buffered input. */
void smtp_session_submitted(struct smtp_session *s, const char *message_id, const struct err *e);

/* The transport timed out: 421 and close. */
void smtp_session_timeout(struct smtp_session *s);

/* True while a submission is pending or the session is closed (the
 * transport may stop reading). */
/* A command line has begun and not ended (the caller bounds how long one
 * may take: --header-timeout). */
bool smtp_session_partial_line(const struct smtp_session *s);

bool smtp_session_busy(const struct smtp_session *s);

/* The SMTP reply line(s) for a refusal `e` in SES's words (spec §5.3),
 * without CRLF, into out. */
void smtp_session_reply_for(const struct err *e, char *out, size_t cap);

#endif

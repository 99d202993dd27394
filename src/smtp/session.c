/*
 * session.c — the SMTP submission state machine (session.h; notes in
 * docs/internals/smtp.md). Owns the session's unprocessed input, the
 * current transaction (envelope and DATA bytes) and nothing else: replies
 * go out through ops->write, credentials are checked by ops->auth and
 * messages decided by ops->submit, so this file has no I/O.
 *
 * States: PREGREET → CMD ⇄ {AUTH_PLAIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASS,
 * DATA → SUBMITTING} → CLOSED. Input is cut into command lines in CMD and
 * the AUTH states by smtp_lines_next, and framed in DATA by
 * smtp_lines_data_next (util/smtp_lines.c); in SUBMITTING it is only buffered
 * (at most SMTP_MAX_PENDING_INPUT) until smtp_session_submitted.
 *
 * Invariants: nothing is written before smtp_session_greet; after
 * ops->close no callback runs and the buffered input is gone; a
 * transaction is reset after every end of DATA, whatever the answer; a
 * bare LF or CR in DATA gets exactly one reply and the close, so no byte
 * after it is ever read as a command (SMTP smuggling); AUTH is refused
 * unless the transport is TLS.
 */
#include "smtp/session.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/address.h"
#include "util/smtp_lines.h"
#include "util/codec.h"
#include "util/testable.h"
#include "util/xalloc.h"

#define AUTH_FIELD_MAX 256

enum state {
	ST_PREGREET,
	ST_CMD,
	ST_AUTH_PLAIN,
	ST_AUTH_LOGIN_USER,
	ST_AUTH_LOGIN_PASS,
	ST_DATA,
	ST_SUBMITTING,
	ST_CLOSED,
};

struct smtp_session {
	const struct smtp_session_ops *ops;
	void *arg;
	enum state st;
	char hostname[128];
	bool tls, can_starttls;
	bool greeted;      /* HELO or EHLO seen (since the last STARTTLS) */
	bool pipelining;   /* EHLO answered: PIPELINING was advertised */
	bool authed;
	int nerrors, nlong, nunauth, nauthfail;
	struct smtp_lines lines; /* the command-line reader */

	char *in;          /* input; in[inoff..inlen) is not processed yet */
	size_t inoff, inlen, incap;

	char login_user[AUTH_FIELD_MAX + 1]; /* AUTH LOGIN: the user between steps */

	/* the transaction */
	bool has_mail;
	char *mail_from;
	char **rcpt;
	size_t nrcpt;
	struct smtp_lines_data framer; /* DATA: where in the message we are */
	char *data;        /* the message so far (at most SMTP_MAX_DATA bytes) */
	size_t datalen, datacap;
};

/* ---- output ---------------------------------------------------------------- */

static void
say(struct smtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct smtp_session *s, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	int n;

	if (s->st == ST_CLOSED)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	/* a reply never carries a line end from its arguments */
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	line[n++] = '\r';
	line[n++] = '\n';
	s->ops->write(s->arg, line, (size_t)n);
}

static void
close_session(struct smtp_session *s)
{
	if (s->st == ST_CLOSED)
		return;
	s->st = ST_CLOSED;
	s->inlen = s->inoff = 0;
	s->ops->close(s->arg);
}

/* A 421 and the end of the session. */
static void
drop(struct smtp_session *s, const char *why)
{
	say(s, "421 %s, closing connection", why);
	close_session(s);
}

/* A protocol error reply; too many of them end the session. */
static void
proto_err(struct smtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
proto_err(struct smtp_session *s, const char *fmt, ...)
{
	char line[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	say(s, "%s", line);
	if (++s->nerrors >= SMTP_MAX_ERRORS)
		drop(s, "Too many errors");
}

void
smtp_session_reply_for(const struct err *e, char *out, size_t cap)
{
	const char *m = e->message;

	if (strcmp(e->code, "Throttling") == 0)
		snprintf(out, cap, "454 Throttling failure: %s", m);
	else if (strcmp(e->code, "AccessDenied") == 0)
		snprintf(out, cap, "554 Access denied: %s", m);
	else if (strcmp(e->code, "MessageRejected") == 0)
		snprintf(out, cap, "554 Message rejected: %s", m);
	else if (strcmp(e->code, "AccountSendingPausedException") == 0)
		snprintf(out, cap, "554 Account sending paused");
	else if (e->temporary)
		snprintf(out, cap, "%d Temporary service failure: %s",
			 e->smtp >= 400 && e->smtp < 500 ? e->smtp : 451, m);
	else if (strncmp(m, "Message length is more than", 27) == 0)
		snprintf(out, cap, "552 Message is too long.");
	else
		snprintf(out, cap, "554 Transaction failed: %s", m);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* ---- the transaction ------------------------------------------------------- */

static void
txn_reset(struct smtp_session *s)
{
	free(s->mail_from);
	s->mail_from = NULL;
	for (size_t i = 0; i < s->nrcpt; i++)
		free(s->rcpt[i]);
	free(s->rcpt);
	s->rcpt = NULL;
	s->nrcpt = 0;
	free(s->data);
	s->data = NULL;
	s->datalen = s->datacap = 0;
	s->has_mail = false;
}

/* A chunk from the framer; they add up to at most SMTP_MAX_DATA bytes. */
static void
data_add(struct smtp_session *s, const char *p, size_t n)
{
	if (s->datalen + n + 1 > s->datacap) {
		size_t cap = s->datacap ? s->datacap : 4096;
		while (cap < s->datalen + n + 1)
			cap *= 2;
		s->data = xrealloc(s->data, cap);
		s->datacap = cap;
	}
	memcpy(s->data + s->datalen, p, n);
	s->datalen += n;
	s->data[s->datalen] = '\0';
}

static void
data_end(struct smtp_session *s)
{
	struct smtp_txn t;
	struct err e = {0};
	char reply[1200];

	s->st = ST_CMD;
	if (smtp_lines_data_big(&s->framer)) {
		say(s, "552 Message is too long.");
		txn_reset(s);
		return;
	}
	t.mail_from = s->mail_from;
	t.rcpt = (const char *const *)s->rcpt;
	t.nrcpt = s->nrcpt;
	t.data = s->data != NULL ? s->data : "";
	t.len = s->datalen;
	s->st = ST_SUBMITTING;
	if (s->ops->submit(s->arg, &t, &e) == 0)
		return; /* smtp_session_submitted answers */
	s->st = ST_CMD;
	smtp_session_reply_for(&e, reply, sizeof(reply));
	say(s, "%s", reply);
	txn_reset(s);
}

/* ---- verbs ----------------------------------------------------------------- */

/* Verbs that need a completed HELO/EHLO, authentication, a MAIL, a RCPT. */
#define NEED_HELO 1
#define NEED_AUTH 2
#define NEED_MAIL 4
#define NEED_RCPT 8

struct verb {
	const char *name;
	int needs;
	void (*run)(struct smtp_session *s, char *args);
	bool sync;  /* a synchronisation point: nothing may be pipelined after it */
};

/* The reply that refuses `v` now, or NULL. No side effects. */
TESTABLE const char *
smtp_verb_check(const struct smtp_session *s, int needs)
{
	if ((needs & NEED_HELO) && !s->greeted)
		return "503 Send hello first";
	if ((needs & NEED_AUTH) && !s->authed)
		return "530 Authentication required";
	if ((needs & NEED_MAIL) && !s->has_mail)
		return "503 Need MAIL command";
	if ((needs & NEED_RCPT) && s->nrcpt == 0)
		return "503 Need RCPT (recipient)";
	return NULL;
}

static void
v_ehlo(struct smtp_session *s, char *args)
{
	if (args[0] == '\0') {
		proto_err(s, "501 Syntax: EHLO hostname");
		return;
	}
	txn_reset(s);
	s->greeted = true;
	s->pipelining = true;
	say(s, "250-%s", s->hostname);
	say(s, "250-8BITMIME");
	say(s, "250-SIZE %d", SMTP_MAX_DATA);
	say(s, "250-PIPELINING");
	if (!s->tls && s->can_starttls)
		say(s, "250-STARTTLS");
	if (s->tls && s->ops->auth != NULL)
		say(s, "250-AUTH PLAIN LOGIN");
	say(s, "250 Ok");
}

static void
v_helo(struct smtp_session *s, char *args)
{
	if (args[0] == '\0') {
		proto_err(s, "501 Syntax: HELO hostname");
		return;
	}
	txn_reset(s);
	s->greeted = true;
	s->pipelining = false;
	say(s, "250 %s", s->hostname);
}

static void
v_starttls(struct smtp_session *s, char *args)
{
	if (s->tls || !s->can_starttls) {
		proto_err(s, "503 TLS already active");
		return;
	}
	if (args[0] != '\0') {
		proto_err(s, "501 Syntax: STARTTLS");
		return;
	}
	say(s, "220 Ready to start TLS");
	/* plaintext the client pipelined after STARTTLS must never be read as
	 * if it came over TLS (CVE-2011-0411 class) */
	s->inlen = s->inoff = 0;
	txn_reset(s);
	s->tls = true;
	s->greeted = s->pipelining = false;
	s->ops->starttls(s->arg);
}

static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

/* Decode one base64 SASL response into out (NUL-terminated, at most cap-1
 * bytes, no NUL inside unless `allow_nul`). Length, or -1. */
static long
sasl_decode(const char *b64, char *out, size_t cap, bool allow_nul)
{
	size_t n;
	uint8_t *d;

	if (strcmp(b64, "=") == 0) {
		out[0] = '\0';
		return 0;
	}
	if ((d = base64_decode(b64, strlen(b64), &n)) == NULL)
		return -1;
	if (n >= cap || (!allow_nul && memchr(d, '\0', n) != NULL)) {
		wipe(d, n);
		free(d);
		return -1;
	}
	memcpy(out, d, n);
	out[n] = '\0';
	wipe(d, n);
	free(d);
	return (long)n;
}

static void
auth_finish(struct smtp_session *s, const char *user, const char *pass)
{
	struct err e = {0};
	int rc;

	s->st = ST_CMD;
	rc = s->ops->auth(s->arg, user, pass, &e);
	if (rc == 1) {
		s->authed = true;
		say(s, "235 Authentication successful");
		return;
	}
	if (rc < 0) {
		say(s, "454 Temporary authentication failure");
		return;
	}
	say(s, "535 Authentication Credentials Invalid");
	if (++s->nauthfail >= SMTP_MAX_AUTH_FAILURES)
		drop(s, "Too many authentication failures");
}

/* AUTH PLAIN's response: authzid NUL authcid NUL password. */
static void
auth_plain(struct smtp_session *s, const char *b64)
{
	char buf[3 * AUTH_FIELD_MAX + 3];
	long n = sasl_decode(b64, buf, sizeof(buf), true);
	const char *authz, *user, *pass;
	size_t zl, ul;

	s->st = ST_CMD;
	if (n < 0) {
		proto_err(s, "501 Cannot decode response");
		return;
	}
	authz = buf;
	zl = strnlen(authz, (size_t)n);
	if (zl + 1 >= (size_t)n) {
		wipe(buf, sizeof(buf));
		proto_err(s, "501 Cannot decode response");
		return;
	}
	user = buf + zl + 1;
	ul = strnlen(user, (size_t)n - zl - 1);
	if (zl + 1 + ul + 1 > (size_t)n || (zl > 0 && strcmp(authz, user) != 0)) {
		wipe(buf, sizeof(buf));
		if (zl + 1 + ul + 1 > (size_t)n)
			proto_err(s, "501 Cannot decode response");
		else
			auth_finish(s, "", ""); /* acting for someone else: not supported */
		return;
	}
	pass = user + ul + 1;
	if (memchr(pass, '\0', (size_t)n - zl - ul - 2) != NULL) {
		wipe(buf, sizeof(buf));
		proto_err(s, "501 Cannot decode response");
		return;
	}
	auth_finish(s, user, pass);
	wipe(buf, sizeof(buf));
}

static void
v_auth(struct smtp_session *s, char *args)
{
	char *mech = args, *init;

	if (s->ops->auth == NULL) {
		proto_err(s, "502 Command not implemented");
		return;
	}
	if (s->authed) {
		proto_err(s, "503 Already authenticated");
		return;
	}
	if (s->has_mail) {
		proto_err(s, "503 AUTH not allowed during a mail transaction");
		return;
	}
	if (!s->tls) {
		proto_err(s, "530 Must issue a STARTTLS command first");
		return;
	}
	init = strchr(args, ' ');
	if (init != NULL) {
		*init++ = '\0';
		while (*init == ' ')
			init++;
	}
	if (strcasecmp(mech, "PLAIN") == 0) {
		if (init != NULL && *init != '\0') {
			auth_plain(s, init);
		} else {
			s->st = ST_AUTH_PLAIN;
			say(s, "334 ");
		}
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		if (init != NULL && *init != '\0') {
			if (sasl_decode(init, s->login_user, sizeof(s->login_user), false) < 0) {
				proto_err(s, "501 Cannot decode response");
				return;
			}
			s->st = ST_AUTH_LOGIN_PASS;
			say(s, "334 UGFzc3dvcmQ6");
		} else {
			s->st = ST_AUTH_LOGIN_USER;
			say(s, "334 VXNlcm5hbWU6");
		}
	} else {
		proto_err(s, "504 Unrecognized authentication type");
	}
}

/* A continuation line of AUTH. */
static void
auth_step(struct smtp_session *s, char *line)
{
	char pass[AUTH_FIELD_MAX + 1];

	if (strcmp(line, "*") == 0) {
		s->st = ST_CMD;
		wipe(s->login_user, sizeof(s->login_user));
		proto_err(s, "501 Authentication cancelled");
		return;
	}
	switch (s->st) {
	case ST_AUTH_PLAIN:
		auth_plain(s, line);
		break;
	case ST_AUTH_LOGIN_USER:
		if (sasl_decode(line, s->login_user, sizeof(s->login_user), false) < 0) {
			s->st = ST_CMD;
			proto_err(s, "501 Cannot decode response");
			return;
		}
		s->st = ST_AUTH_LOGIN_PASS;
		say(s, "334 UGFzc3dvcmQ6");
		break;
	case ST_AUTH_LOGIN_PASS:
		if (sasl_decode(line, pass, sizeof(pass), false) < 0) {
			s->st = ST_CMD;
			wipe(s->login_user, sizeof(s->login_user));
			proto_err(s, "501 Cannot decode response");
			return;
		}
		auth_finish(s, s->login_user, pass);
		wipe(pass, sizeof(pass));
		wipe(s->login_user, sizeof(s->login_user));
		break;
	default:
		break;
	}
}

/*
 * Parse `FROM:<path> params` / `TO:<path> params` (keyword `kw`). On
 * success *path points at the addr-spec (NUL-terminated in place) and
 * *params at the rest. -1 on syntax errors.
 */
TESTABLE int
smtp_parse_path(char *args, const char *kw, char **path, char **params)
{
	size_t kl = strlen(kw);
	char *p, *end;

	if (strncasecmp(args, kw, kl) != 0)
		return -1;
	p = args + kl;
	while (*p == ' ')
		p++;
	if (*p != '<')
		return -1;
	end = strchr(p, '>');
	if (end == NULL)
		return -1;
	*end = '\0';
	*path = p + 1;
	p = end + 1;
	if (*p != '\0' && *p != ' ')
		return -1;
	while (*p == ' ')
		p++;
	*params = p;
	return 0;
}

static bool
valid_spec(const char *a)
{
	struct address ad;
	struct err e;

	return a[0] != '\0' && address_parse_spec(a, strlen(a), &ad, &e) == 0;
}

static void
v_mail(struct smtp_session *s, char *args)
{
	char *path, *params, *tok, *save = NULL;

	if (s->has_mail) {
		proto_err(s, "503 Sender already specified");
		return;
	}
	if (smtp_parse_path(args, "FROM:", &path, &params) != 0) {
		proto_err(s, "501 Syntax: MAIL FROM:<address>");
		return;
	}
	for (tok = strtok_r(params, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		if (strncasecmp(tok, "SIZE=", 5) == 0) {
			char *endp;
			unsigned long long v;
			if (tok[5] < '0' || tok[5] > '9') {
				proto_err(s, "501 Bad SIZE parameter");
				return;
			}
			v = strtoull(tok + 5, &endp, 10);
			if (*endp != '\0') {
				proto_err(s, "501 Bad SIZE parameter");
				return;
			}
			if (v > SMTP_MAX_DATA) {
				say(s, "552 Message is too long.");
				return;
			}
		} else if (strcasecmp(tok, "BODY=7BIT") != 0 && strcasecmp(tok, "BODY=8BITMIME") != 0 &&
			   strncasecmp(tok, "AUTH=", 5) != 0) {
			proto_err(s, "555 Unsupported parameter %.64s", tok);
			return;
		}
	}
	if (!valid_spec(path) && !(s->ops->auth == NULL && path[0] == '\0')) {
		proto_err(s, "553 <%.320s> Invalid email address", path);
		return;
	}
	txn_reset(s);
	s->has_mail = true;
	s->mail_from = xstrdup(path);
	say(s, "250 Ok");
}

static void
v_rcpt(struct smtp_session *s, char *args)
{
	char *path, *params;

	if (smtp_parse_path(args, "TO:", &path, &params) != 0) {
		proto_err(s, "501 Syntax: RCPT TO:<address>");
		return;
	}
	if (params[0] != '\0') {
		proto_err(s, "555 Unsupported parameter %.64s", params);
		return;
	}
	if (!valid_spec(path)) {
		proto_err(s, "553 <%.320s> address unknown", path);
		return;
	}
	if (s->nrcpt >= SMTP_MAX_RCPT) {
		say(s, "452 Recipient count exceeds %d.", SMTP_MAX_RCPT);
		return;
	}
	if (s->ops->auth == NULL) {
		struct err e = {0};
		if (s->ops->rcpt == NULL || s->ops->rcpt(s->arg, path, &e) != 0) {
			if (s->ops->rcpt == NULL)
				err_set(&e, 400, "MessageRejected", "5.1.1 <%.320s> not accepted here",
					path);
			proto_err(s, "%d %s", e.temporary ? 451 : 550, e.message);
			return;
		}
	}
	s->rcpt = xrealloc(s->rcpt, (s->nrcpt + 1) * sizeof(*s->rcpt));
	s->rcpt[s->nrcpt++] = xstrdup(path);
	say(s, "250 Ok");
}

static void
v_data(struct smtp_session *s, char *args)
{
	if (args[0] != '\0') {
		proto_err(s, "501 Syntax: DATA");
		return;
	}
	s->st = ST_DATA;
	s->datalen = 0;
	smtp_lines_data_start(&s->framer, SMTP_MAX_DATA);
	say(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
v_rset(struct smtp_session *s, char *args)
{
	txn_reset(s);
	say(s, "250 Ok");
}

static void
v_noop(struct smtp_session *s, char *args)
{
	say(s, "250 Ok");
}

static void
v_quit(struct smtp_session *s, char *args)
{
	say(s, "221 Bye");
	close_session(s);
}

static void
v_vrfy(struct smtp_session *s, char *args)
{
	say(s, "252 Cannot VRFY user, but will accept message and attempt delivery");
}

static const struct verb verbs[] = {
	{"EHLO", 0, v_ehlo, false},
	{"HELO", 0, v_helo, false},
	{"STARTTLS", 0, v_starttls, true},
	{"AUTH", NEED_HELO, v_auth, true},
	{"MAIL", NEED_HELO | NEED_AUTH, v_mail, false},
	{"RCPT", NEED_HELO | NEED_AUTH | NEED_MAIL, v_rcpt, false},
	{"DATA", NEED_HELO | NEED_AUTH | NEED_MAIL | NEED_RCPT, v_data, true},
	{"RSET", 0, v_rset, false},
	{"NOOP", 0, v_noop, false},
	{"QUIT", 0, v_quit, false},
	{"VRFY", 0, v_vrfy, false},
};

/* One command line, CRLF removed. `more`: input follows it already. */
static void
command(struct smtp_session *s, char *line, bool bare_lf, bool more)
{
	const struct verb *v = NULL;
	const char *refusal;
	char *args;
	size_t wl;

	if (!s->authed && ++s->nunauth > SMTP_MAX_UNAUTH_CMDS) {
		drop(s, "Too many commands before authentication");
		return;
	}
	if (bare_lf) {
		proto_err(s, "500 Syntax error: command line ends with a bare LF (use CRLF)");
		return;
	}
	wl = strcspn(line, " ");
	args = line + wl;
	while (*args == ' ')
		args++;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == wl && strncasecmp(line, verbs[i].name, wl) == 0)
			v = &verbs[i];
	if (v == NULL) {
		proto_err(s, "500 Unrecognized command");
		return;
	}
	/* pipelining only as advertised: after EHLO, and never past a
	 * synchronisation point (RFC 2920 3.1); STARTTLS discards instead */
	if (more && v->run != v_starttls && (!s->pipelining || v->sync)) {
		say(s, "554 SMTP synchronization error");
		close_session(s);
		return;
	}
	if ((refusal = smtp_verb_check(s, v->needs)) != NULL) {
		proto_err(s, "%s", refusal);
		return;
	}
	v->run(s, args);
}

/* ---- input ------------------------------------------------------------------ */

static void
consume(struct smtp_session *s, size_t n)
{
	s->inoff += n; /* compacted once per input call, not per line */
}

static void
long_line(struct smtp_session *s)
{
	s->nerrors++;
	say(s, "500 Line too long.");
	if (++s->nlong >= SMTP_MAX_LONG_LINES)
		drop(s, "Too many long lines");
	else if (s->nerrors >= SMTP_MAX_ERRORS)
		drop(s, "Too many errors");
}

/*
 * A bare LF or CR in DATA: one answer, then the end of the session. The
 * message is void and what the client sent after it is discarded unread:
 * the client and we disagree on where lines end, so nothing it sent after
 * the disagreement may be taken for a command (SMTP smuggling; Postfix's
 * smtpd_forbid_bare_newline).
 */
static void
data_bare(struct smtp_session *s, bool lf)
{
	if (lf)
		say(s, "554 Transaction failed: Message contains a bare LF; lines must end with CRLF.");
	else
		say(s, "554 Transaction failed: Message contains a bare CR; lines must end with CRLF.");
	txn_reset(s);
	close_session(s);
}

/* One step of DATA; false when more input is needed. */
static bool
data_step(struct smtp_session *s)
{
	const char *chunk;
	size_t len, used;
	enum smtp_lines_data_ev ev;

	ev = smtp_lines_data_next(&s->framer, s->in + s->inoff, s->inlen - s->inoff, &chunk, &len,
				  &used);
	consume(s, used);
	if (smtp_lines_data_big(&s->framer) && s->data != NULL) {
		/* over the cap: read on to the end keeping nothing */
		free(s->data);
		s->data = NULL;
		s->datalen = s->datacap = 0;
	}
	switch (ev) {
	case SMTP_LINES_DATA_MORE:
		return false;
	case SMTP_LINES_DATA_CHUNK:
		data_add(s, chunk, len);
		return true;
	case SMTP_LINES_DATA_END:
		data_end(s);
		return true;
	case SMTP_LINES_DATA_BARE_LF:
	case SMTP_LINES_DATA_BARE_CR:
		data_bare(s, ev == SMTP_LINES_DATA_BARE_LF);
		return false;
	}
	return false;
}

static void
process(struct smtp_session *s)
{
	char line[SMTP_LINE_MAX + 1];
	struct smtp_lines_line l;
	size_t used;

	while (s->st != ST_CLOSED && s->st != ST_SUBMITTING && s->inlen > s->inoff) {
		if (s->st == ST_DATA) {
			if (!data_step(s))
				return;
			continue;
		}
		switch (smtp_lines_next(&s->lines, s->in + s->inoff, s->inlen - s->inoff, &l, &used)) {
		case SMTP_LINES_MORE:
			consume(s, used);
			return;
		case SMTP_LINES_LONG:
			consume(s, used);
			long_line(s);
			continue;
		case SMTP_LINES_LINE:
			break;
		}
		memcpy(line, l.p, l.len);
		line[l.len] = '\0';
		consume(s, used);
		if (l.nul) {
			proto_err(s, "500 Syntax error: NUL in command");
		} else if (s->st == ST_CMD) {
			command(s, line, l.bare_lf, s->inlen > s->inoff);
		} else {
			auth_step(s, line);
		}
		wipe(line, l.len);
	}
}

void
smtp_session_input(struct smtp_session *s, const void *data, size_t n)
{
	if (s->st == ST_CLOSED || n == 0)
		return;
	if (s->st == ST_PREGREET) {
		/* a client that talks before the greeting is not waiting for
		 * replies: a spam engine or a confused peer */
		s->st = ST_CMD;
		say(s, "554 SMTP synchronization error");
		close_session(s);
		return;
	}
	if (s->inoff > 0) {
		memmove(s->in, s->in + s->inoff, s->inlen - s->inoff);
		s->inlen -= s->inoff;
		s->inoff = 0;
	}
	if (s->st == ST_SUBMITTING && s->inlen + n > SMTP_MAX_PENDING_INPUT) {
		drop(s, "Too much pipelined input");
		return;
	}
	if (s->inlen + n > s->incap) {
		size_t cap = s->incap ? s->incap : 4096;
		while (cap < s->inlen + n)
			cap *= 2;
		s->in = xrealloc(s->in, cap);
		s->incap = cap;
	}
	memcpy(s->in + s->inlen, data, n);
	s->inlen += n;
	process(s);
	/* keep the buffer small between bursts */
	if (s->inlen == s->inoff && s->incap > 65536) {
		s->inlen = s->inoff = 0;
		free(s->in);
		s->in = NULL;
		s->incap = 0;
	}
}

/* ---- lifecycle -------------------------------------------------------------- */

struct smtp_session *
smtp_session_new(const struct smtp_session_ops *ops, void *arg, bool tls, bool can_starttls,
		 const char *hostname)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	s->ops = ops;
	s->arg = arg;
	s->authed = ops->auth == NULL; /* inbound: nobody authenticates */
	s->tls = tls;
	s->can_starttls = can_starttls;
	s->st = ST_PREGREET;
	snprintf(s->hostname, sizeof(s->hostname), "%s", hostname ? hostname : "localhost");
	return s;
}

void
smtp_session_free(struct smtp_session *s)
{
	if (s == NULL)
		return;
	txn_reset(s);
	if (s->in != NULL) {
		wipe(s->in, s->incap);
		free(s->in);
	}
	wipe(s->login_user, sizeof(s->login_user));
	free(s);
}

void
smtp_session_greet(struct smtp_session *s)
{
	if (s->st != ST_PREGREET)
		return;
	s->st = ST_CMD;
	say(s, "220 %s ESMTP sesame", s->hostname);
}

void
smtp_session_submitted(struct smtp_session *s, const char *message_id, const struct err *e)
{
	char reply[1200];

	if (s->st != ST_SUBMITTING)
		return;
	s->st = ST_CMD;
	if (e == NULL) {
		say(s, "250 Ok %s", message_id);
	} else {
		smtp_session_reply_for(e, reply, sizeof(reply));
		say(s, "%s", reply);
	}
	txn_reset(s);
	process(s);
}

void
smtp_session_timeout(struct smtp_session *s)
{
	drop(s, "Timeout");
}

bool
smtp_session_partial_line(const struct smtp_session *s)
{
	return (s->st == ST_CMD || s->st == ST_AUTH_PLAIN || s->st == ST_AUTH_LOGIN_USER ||
		s->st == ST_AUTH_LOGIN_PASS) &&
	       s->inoff < s->inlen;
}

bool
smtp_session_busy(const struct smtp_session *s)
{
	return s->st == ST_SUBMITTING || s->st == ST_CLOSED;
}

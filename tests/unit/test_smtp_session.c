/*
 * test_smtp_session.c — the SMTP session state machine (src/smtp/session.c)
 * driven through a fake transport: replies collected in a buffer, AUTH
 * accepting one user/password, submissions answered at once or left
 * pending. Caps are tested at limit-1, limit, limit+1 (STYLE §10); every
 * SMTP smuggling ending is fed in one piece and byte by byte. The framing
 * itself is tested alone in test_smtp_lines.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/session.h"
#include "util/buf.h"

/* base64("\0user\0pass"), base64("user"), base64("pass") */
#define PLAIN_OK "AHVzZXIAcGFzcw=="
#define PLAIN_BAD "AHVzZXIAbm9wZQ=="
#define LOGIN_USER "dXNlcg=="
#define LOGIN_PASS "cGFzcw=="

struct fake {
	struct buf out;
	int starttls, closed, submits;
	bool pending;              /* leave submissions pending */
	const char *refuse_code;   /* refuse submissions with this code */
	char last_from[256];
	size_t last_nrcpt;
	char *last_data;
	size_t last_len;
};

static void
f_write(void *arg, const char *d, size_t n)
{
	struct fake *f = arg;
	assert_int_equal(f->closed, 0); /* nothing after close */
	buf_append(&f->out, d, n);
}

static void
f_starttls(void *arg)
{
	((struct fake *)arg)->starttls++;
}

static void
f_close(void *arg)
{
	((struct fake *)arg)->closed++;
}

static int
f_auth(void *arg, const char *user, const char *pass, struct err *e)
{
	return strcmp(user, "user") == 0 && strcmp(pass, "pass") == 0;
}

static int
f_submit(void *arg, const struct smtp_txn *t, struct err *e)
{
	struct fake *f = arg;

	f->submits++;
	snprintf(f->last_from, sizeof(f->last_from), "%s", t->mail_from);
	f->last_nrcpt = t->nrcpt;
	free(f->last_data);
	f->last_data = malloc(t->len + 1);
	memcpy(f->last_data, t->data, t->len);
	f->last_data[t->len] = '\0';
	f->last_len = t->len;
	if (f->refuse_code != NULL) {
		err_set(e, 400, f->refuse_code, "Email address is not verified.");
		if (strcmp(f->refuse_code, "Throttling") == 0) {
			snprintf(e->message, sizeof(e->message), "Maximum sending rate exceeded.");
			e->temporary = true;
		}
		return -1;
	}
	return f->pending ? 0 : (f->pending = true, 0);
}

static const struct smtp_session_ops ops = {
	.write = f_write, .starttls = f_starttls, .close = f_close, .auth = f_auth, .submit = f_submit};

/* The feedback listener's mode: no AUTH; RCPT decided by the callback
 * (takes @bounce.test only). */
static int
f_rcpt(void *arg, const char *address, struct err *e)
{
	const char *at = strrchr(address, '@');
	if (at != NULL && strcmp(at, "@bounce.test") == 0)
		return 0;
	return err_set(e, 400, "MessageRejected", "5.7.1 <%s>: not a feedback address", address);
}

static const struct smtp_session_ops inbound_ops = {
	.write = f_write, .starttls = f_starttls, .close = f_close, .rcpt = f_rcpt, .submit = f_submit};

struct t {
	struct fake f;
	struct smtp_session *s;
};

static struct t *
start(bool tls)
{
	struct t *t = calloc(1, sizeof(*t));
	buf_init(&t->f.out, 0);
	t->s = smtp_session_new(&ops, &t->f, tls, !tls, "localhost");
	smtp_session_greet(t->s);
	return t;
}

static void
stop(struct t *t)
{
	smtp_session_free(t->s);
	buf_free(&t->f.out);
	free(t->f.last_data);
	free(t);
}

/* Feed `in`, return everything written since the last call (static). */
static const char *
io(struct t *t, const char *in)
{
	static char got[8192];
	buf_reset(&t->f.out);
	smtp_session_input(t->s, in, strlen(in));
	snprintf(got, sizeof(got), "%.*s", (int)t->f.out.len, t->f.out.data ? t->f.out.data : "");
	return got;
}

static struct t *
authed(void)
{
	struct t *t = start(true);
	assert_non_null(strstr(io(t, "EHLO c\r\n"), "250-AUTH PLAIN LOGIN\r\n"));
	assert_string_equal(io(t, "AUTH PLAIN " PLAIN_OK "\r\n"), "235 Authentication successful\r\n");
	return t;
}

static void
test_greeting_and_pregreet(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	buf_init(&t->f.out, 0);
	t->s = smtp_session_new(&ops, &t->f, false, true, "localhost");
	assert_int_equal(t->f.out.len, 0);
	assert_string_equal(io(t, "EHLO early\r\n"), "554 SMTP synchronization error\r\n");
	assert_int_equal(t->f.closed, 1);
	assert_string_equal(io(t, "NOOP\r\n"), "");
	stop(t);

	t = start(false);
	assert_string_equal(t->f.out.data, "220 localhost ESMTP sesame\r\n");
	stop(t);
}

static void
test_ehlo_and_starttls(void **state)
{
	struct t *t = start(false);
	const char *r = io(t, "EHLO c\r\n");
	assert_non_null(strstr(r, "250-STARTTLS\r\n"));
	assert_null(strstr(r, "AUTH"));
	assert_string_equal(io(t, "AUTH PLAIN " PLAIN_OK "\r\n"),
			    "530 Must issue a STARTTLS command first\r\n");
	assert_string_equal(io(t, "MAIL FROM:<a@b.test>\r\n"), "530 Authentication required\r\n");
	/* plaintext pipelined after STARTTLS is dropped */
	assert_string_equal(io(t, "STARTTLS\r\nAUTH PLAIN " PLAIN_OK "\r\n"),
			    "220 Ready to start TLS\r\n");
	assert_int_equal(t->f.starttls, 1);
	assert_string_equal(io(t, "MAIL FROM:<a@b.test>\r\n"), "503 Send hello first\r\n");
	r = io(t, "EHLO c\r\n");
	assert_null(strstr(r, "STARTTLS"));
	assert_non_null(strstr(r, "250-AUTH PLAIN LOGIN\r\n"));
	assert_string_equal(io(t, "STARTTLS\r\n"), "503 TLS already active\r\n");
	stop(t);
}

static struct t *start(bool tls);
static const char *io(struct t *t, const char *in);
static void stop(struct t *t);

static void
test_inbound_mode(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	buf_init(&t->f.out, 0);
	t->s = smtp_session_new(&inbound_ops, &t->f, true, false, "mx.test");
	smtp_session_greet(t->s);
	const char *r = io(t, "EHLO remote.example\r\n");
	assert_null(strstr(r, "AUTH"));
	assert_non_null(strstr(r, "250-PIPELINING\r\n"));
	assert_string_equal(io(t, "AUTH PLAIN " PLAIN_OK "\r\n"), "502 Command not implemented\r\n");
	/* the null reverse-path of a bounce, without AUTH */
	assert_string_equal(io(t, "MAIL FROM:<>\r\n"), "250 Ok\r\n");
	assert_string_equal(io(t, "RCPT TO:<x@elsewhere.test>\r\n"),
			    "550 5.7.1 <x@elsewhere.test>: not a feedback address\r\n");
	assert_string_equal(io(t, "DATA\r\n"), "503 Need RCPT (recipient)\r\n");
	assert_string_equal(io(t, "RCPT TO:<0100abc@bounce.test>\r\n"), "250 Ok\r\n");
	r = io(t, "DATA\r\n");
	assert_string_equal(r, "354 End data with <CR><LF>.<CR><LF>\r\n");
	io(t, "Subject: report\r\n\r\nbody\r\n.\r\n");
	assert_int_equal(t->f.submits, 1);
	assert_string_equal(t->f.last_from, "");
	assert_int_equal(t->f.last_nrcpt, 1);
	stop(t);

	/* the submission server still refuses the null sender */
	t = authed();
	assert_string_equal(io(t, "MAIL FROM:<>\r\n"), "553 <> Invalid email address\r\n");
	stop(t);
}

static void
test_auth(void **state)
{
	struct t *t = start(true);
	io(t, "EHLO c\r\n");
	assert_string_equal(io(t, "AUTH PLAIN " PLAIN_BAD "\r\n"),
			    "535 Authentication Credentials Invalid\r\n");
	assert_string_equal(io(t, "AUTH PLAIN\r\n"), "334 \r\n");
	assert_string_equal(io(t, PLAIN_OK "\r\n"), "235 Authentication successful\r\n");
	assert_string_equal(io(t, "AUTH PLAIN " PLAIN_OK "\r\n"), "503 Already authenticated\r\n");
	stop(t);

	t = start(true);
	io(t, "EHLO c\r\n");
	assert_string_equal(io(t, "AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
	assert_string_equal(io(t, LOGIN_USER "\r\n"), "334 UGFzc3dvcmQ6\r\n");
	assert_string_equal(io(t, LOGIN_PASS "\r\n"), "235 Authentication successful\r\n");
	stop(t);

	t = start(true);
	io(t, "EHLO c\r\n");
	assert_string_equal(io(t, "AUTH LOGIN " LOGIN_USER "\r\n"), "334 UGFzc3dvcmQ6\r\n");
	assert_string_equal(io(t, "*\r\n"), "501 Authentication cancelled\r\n");
	assert_string_equal(io(t, "AUTH CRAM-MD5\r\n"), "504 Unrecognized authentication type\r\n");
	assert_string_equal(io(t, "AUTH PLAIN !!!\r\n"), "501 Cannot decode response\r\n");
	/* three failures end the session */
	for (int i = 0; i < SMTP_MAX_AUTH_FAILURES - 1; i++)
		assert_string_equal(io(t, "AUTH PLAIN " PLAIN_BAD "\r\n"),
				    "535 Authentication Credentials Invalid\r\n");
	assert_int_equal(t->f.closed, 0);
	assert_non_null(strstr(io(t, "AUTH PLAIN " PLAIN_BAD "\r\n"), "421 "));
	assert_int_equal(t->f.closed, 1);
	stop(t);
}

static void
test_transaction(void **state)
{
	struct t *t = authed();
	assert_string_equal(io(t, "RCPT TO:<x@y.test>\r\n"), "503 Need MAIL command\r\n");
	assert_string_equal(io(t, "MAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME\r\n"), "250 Ok\r\n");
	assert_string_equal(io(t, "MAIL FROM:<a@b.test>\r\n"), "503 Sender already specified\r\n");
	assert_string_equal(io(t, "DATA\r\n"), "503 Need RCPT (recipient)\r\n");
	assert_string_equal(io(t, "RCPT TO:<not an address>\r\n"),
			    "553 <not an address> address unknown\r\n");
	assert_string_equal(io(t, "RCPT TO:<x@y.test>\r\n"), "250 Ok\r\n");
	assert_string_equal(io(t, "DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
	assert_string_equal(io(t, "Subject: s\r\n\r\n..dot\r\nbody\r\n"), "");
	assert_string_equal(io(t, ".\r\n"), "");
	assert_int_equal(t->f.submits, 1);
	assert_string_equal(t->f.last_from, "a@b.test");
	assert_string_equal(t->f.last_data, "Subject: s\r\n\r\n.dot\r\nbody\r\n");
	/* pending: input waits */
	assert_true(smtp_session_busy(t->s));
	assert_string_equal(io(t, "NOOP\r\n"), "");
	buf_reset(&t->f.out);
	smtp_session_submitted(t->s, "0100abc", NULL);
	assert_string_equal(t->f.out.data, "250 Ok 0100abc\r\n250 Ok\r\n");
	assert_false(smtp_session_busy(t->s));
	/* the transaction was reset */
	assert_string_equal(io(t, "RCPT TO:<x@y.test>\r\n"), "503 Need MAIL command\r\n");
	assert_string_equal(io(t, "VRFY x\r\n"),
			    "252 Cannot VRFY user, but will accept message and attempt delivery\r\n");
	assert_string_equal(io(t, "BOGUS\r\n"), "500 Unrecognized command\r\n");
	assert_string_equal(io(t, "QUIT\r\n"), "221 Bye\r\n");
	assert_int_equal(t->f.closed, 1);
	stop(t);
}

static void
test_refusal_replies(void **state)
{
	static const struct {
		const char *code, *want;
	} cases[] = {
		{"MessageRejected", "554 Message rejected: Email address is not verified.\r\n"},
		{"AccessDenied", "554 Access denied: Email address is not verified.\r\n"},
		{"Throttling", "454 Throttling failure: Maximum sending rate exceeded.\r\n"},
		{"InvalidParameterValue", "554 Transaction failed: Email address is not verified.\r\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct t *t = authed();
		t->f.refuse_code = cases[i].code;
		io(t, "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\n");
		assert_string_equal(io(t, "S: x\r\n\r\nb\r\n.\r\n"), cases[i].want);
		stop(t);
	}
	struct err e;
	char out[200];
	err_set(&e, 400, "InvalidParameterValue", "Message length is more than 10485760 bytes long: '1'.");
	smtp_session_reply_for(&e, out, sizeof(out));
	assert_string_equal(out, "552 Message is too long.");
	err_temp(&e, "store\r\nbusy");
	smtp_session_reply_for(&e, out, sizeof(out));
	assert_string_equal(out, "451 Temporary service failure: store  busy");
}

static void
test_line_caps(void **state)
{
	char line[SMTP_LINE_MAX + 8];
	/* limit-1, limit: served; limit+1: 500 */
	for (int len = SMTP_LINE_MAX - 1; len <= SMTP_LINE_MAX + 1; len++) {
		struct t *t = start(false);
		memset(line, 'a', sizeof(line));
		memcpy(line, "NOOP ", 5);
		line[len - 2] = '\r';
		line[len - 1] = '\n';
		line[len] = '\0';
		assert_string_equal(io(t, line), len <= SMTP_LINE_MAX ? "250 Ok\r\n" : "500 Line too long.\r\n");
		assert_string_equal(io(t, "NOOP\r\n"), "250 Ok\r\n");
		stop(t);
	}
	/* a long line in pieces, then the cap on long lines */
	struct t *t = start(false);
	memset(line, 'x', SMTP_LINE_MAX);
	line[SMTP_LINE_MAX] = '\0';
	assert_string_equal(io(t, line), "500 Line too long.\r\n");
	assert_string_equal(io(t, line), "");
	assert_string_equal(io(t, "tail\r\nNOOP\r\n"), "250 Ok\r\n");
	for (int i = 1; i < SMTP_MAX_LONG_LINES - 1; i++) {
		assert_string_equal(io(t, line), "500 Line too long.\r\n");
		assert_string_equal(io(t, "\r\n"), ""); /* the end of the skipped line */
	}
	assert_int_equal(t->f.closed, 0);
	assert_string_equal(io(t, line),
			    "500 Line too long.\r\n421 Too many long lines, closing connection\r\n");
	assert_int_equal(t->f.closed, 1);
	stop(t);

	t = start(false);
	assert_string_equal(io(t, "NOOP\n"),
			    "500 Syntax error: command line ends with a bare LF (use CRLF)\r\n");
	assert_string_equal(io(t, "NOOP\r\n"), "250 Ok\r\n");
	stop(t);
}

static void
test_pipelining(void **state)
{
	struct t *t = start(false);
	/* without EHLO nothing may be pipelined */
	assert_string_equal(io(t, "HELO c\r\n"), "250 localhost\r\n");
	assert_string_equal(io(t, "NOOP\r\nNOOP\r\n"), "554 SMTP synchronization error\r\n");
	assert_int_equal(t->f.closed, 1);
	stop(t);

	t = authed();
	assert_string_equal(io(t, "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nRCPT TO:<z@y.test>\r\nDATA\r\n"),
			    "250 Ok\r\n250 Ok\r\n250 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
	stop(t);

	t = authed();
	/* DATA is a synchronisation point */
	assert_non_null(strstr(io(t, "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\nSubject: x\r\n"),
			       "554 SMTP synchronization error\r\n"));
	stop(t);
}

static void
test_data_caps(void **state)
{
	struct t *t = authed();
	assert_string_equal(io(t, "MAIL FROM:<a@b.test> SIZE=10485761\r\n"), "552 Message is too long.\r\n");
	assert_string_equal(io(t, "MAIL FROM:<a@b.test> SIZE=10485760\r\n"), "250 Ok\r\n");
	io(t, "RCPT TO:<x@y.test>\r\n");
	assert_string_equal(io(t, "DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
	/* a message of one long line and no end: nothing is answered yet */
	assert_string_equal(io(t, "S: x\r\n\r\n"), "");
	for (int i = 0; i < 100; i++)
		assert_string_equal(io(t, "0123456789abcdef0123456789abcdef0123456789abcdef"), "");
	assert_string_equal(io(t, "\r\n.\r\n"), "");
	assert_int_equal(t->f.submits, 1);
	assert_int_equal(t->f.last_len, 8 + 100 * 48 + 2);
	stop(t);

	/* DATA at limit-1, limit, limit+1 bytes */
	for (size_t n = SMTP_MAX_DATA - 1; n <= SMTP_MAX_DATA + 1; n++) {
		t = authed();
		io(t, "MAIL FROM:<a@b.test>\r\n");
		io(t, "RCPT TO:<x@y.test>\r\n");
		io(t, "DATA\r\n");
		char *big = malloc(n + 1);
		size_t pos = 0;
		while (pos < n) {
			size_t k = n - pos >= 100 ? 100 : n - pos;
			memset(big + pos, 'a', k);
			if (k >= 2) {
				big[pos + k - 2] = '\r';
				big[pos + k - 1] = '\n';
			} else {
				big[pos] = 'b'; /* pad: keep the total at n */
			}
			pos += k;
		}
		/* end on a line boundary */
		big[n - 2] = '\r';
		big[n - 1] = '\n';
		big[n] = '\0';
		buf_reset(&t->f.out);
		smtp_session_input(t->s, big, n);
		free(big);
		const char *r = io(t, ".\r\n");
		if (n <= SMTP_MAX_DATA) {
			assert_int_equal(t->f.submits, 1);
			assert_int_equal(t->f.last_len, n);
		} else {
			assert_string_equal(r, "552 Message is too long.\r\n");
			assert_int_equal(t->f.submits, 0);
		}
		stop(t);
	}
}

#define BARE_LF_REPLY "554 Transaction failed: Message contains a bare LF; lines must end with CRLF.\r\n"
#define BARE_CR_REPLY "554 Transaction failed: Message contains a bare CR; lines must end with CRLF.\r\n"
/* a complete second transaction, as a smuggler appends it */
#define SMUGGLED                                                                                   \
	"MAIL FROM:<evil@b.test>\r\nRCPT TO:<victim@y.test>\r\nDATA\r\nFrom: evil@b.test\r\n\r\n"  \
	"smuggled\r\n.\r\nQUIT\r\n"

static const struct {
	const char *ending; /* what follows "body" in the message */
	const char *want;
} smuggle[] = {
	{"\n.\n", BARE_LF_REPLY},
	{"\n.\r\n", BARE_LF_REPLY},
	{"\r\n.\n", BARE_LF_REPLY},
	{"\r.\r", BARE_CR_REPLY},
	{"\r.\r\n", BARE_CR_REPLY},
	{"\r\n.\r", BARE_CR_REPLY}, /* ".\r" then "MAIL…": the CR is bare */
	{"\rx\r\n.\r\n", BARE_CR_REPLY},
	{"\n", BARE_LF_REPLY},
};

/* One session per variant: DATA, then the whole payload in one input
 * (`bytewise`: one byte per input). Exactly one reply, the close, nothing
 * submitted, nothing read after. */
static void
smuggle_one(size_t i, bool bytewise)
{
	char in[512];
	struct t *t = authed();
	int n;

	assert_string_equal(io(t, "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\n"),
			    "250 Ok\r\n250 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
	n = snprintf(in, sizeof(in), "From: a@b.test\r\n\r\nbody%s" SMUGGLED, smuggle[i].ending);
	buf_reset(&t->f.out);
	if (bytewise)
		for (int k = 0; k < n; k++)
			smtp_session_input(t->s, in + k, 1);
	else
		smtp_session_input(t->s, in, (size_t)n);
	assert_int_equal(t->f.out.len, strlen(smuggle[i].want));
	assert_memory_equal(t->f.out.data, smuggle[i].want, t->f.out.len);
	assert_int_equal(t->f.closed, 1);
	assert_int_equal(t->f.submits, 0);
	assert_true(smtp_session_busy(t->s));
	assert_string_equal(io(t, "NOOP\r\n"), "");
	stop(t);
}

static void
test_data_smuggling(void **state)
{
	for (size_t i = 0; i < sizeof(smuggle) / sizeof(smuggle[0]); i++) {
		smuggle_one(i, false);
		smuggle_one(i, true);
	}

	/* a real end: the message, then the next transaction pipelined
	 * behind it up to its DATA (a synchronisation point, so the last) */
	struct t *t = authed();
	io(t, "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\n");
	assert_string_equal(io(t, "From: a@b.test\r\n\r\nbody\r\n.\r\n"
				  "MAIL FROM:<next@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\n"),
			    "");
	assert_int_equal(t->f.submits, 1);
	assert_string_equal(t->f.last_data, "From: a@b.test\r\n\r\nbody\r\n");
	buf_reset(&t->f.out);
	smtp_session_submitted(t->s, "id-1", NULL);
	assert_string_equal(t->f.out.data,
			    "250 Ok id-1\r\n250 Ok\r\n250 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
	assert_string_equal(io(t, "From: next@b.test\r\n\r\n..two\r\n.\r\nQUIT\r\n"), "");
	assert_int_equal(t->f.submits, 2);
	assert_string_equal(t->f.last_from, "next@b.test");
	assert_string_equal(t->f.last_data, "From: next@b.test\r\n\r\n.two\r\n");
	buf_reset(&t->f.out);
	smtp_session_submitted(t->s, "id-2", NULL);
	assert_string_equal(t->f.out.data, "250 Ok id-2\r\n221 Bye\r\n");
	assert_int_equal(t->f.closed, 1);
	stop(t);

	/* an empty message */
	t = authed();
	io(t, "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\n");
	io(t, ".\r\n");
	assert_int_equal(t->f.submits, 1);
	assert_int_equal(t->f.last_len, 0);
	stop(t);
}

static void
test_recipient_cap(void **state)
{
	struct t *t = authed();
	char cmd[64];
	io(t, "MAIL FROM:<a@b.test>\r\n");
	for (int i = 0; i < SMTP_MAX_RCPT; i++) {
		snprintf(cmd, sizeof(cmd), "RCPT TO:<r%d@y.test>\r\n", i);
		assert_string_equal(io(t, cmd), "250 Ok\r\n");
	}
	assert_string_equal(io(t, "RCPT TO:<over@y.test>\r\n"), "452 Recipient count exceeds 50.\r\n");
	io(t, "DATA\r\n");
	io(t, "S: x\r\n\r\n.\r\n");
	assert_int_equal(t->f.last_nrcpt, SMTP_MAX_RCPT);
	stop(t);
}

static void
test_unauth_cap(void **state)
{
	struct t *t = start(false);
	for (int i = 0; i < SMTP_MAX_UNAUTH_CMDS; i++)
		assert_string_equal(io(t, "NOOP\r\n"), "250 Ok\r\n");
	assert_string_equal(io(t, "NOOP\r\n"),
			    "421 Too many commands before authentication, closing connection\r\n");
	assert_int_equal(t->f.closed, 1);
	stop(t);

	t = start(false);
	for (int i = 0; i < SMTP_MAX_ERRORS - 1; i++)
		assert_string_equal(io(t, "X\r\n"), "500 Unrecognized command\r\n");
	assert_string_equal(io(t, "X\r\n"),
			    "500 Unrecognized command\r\n421 Too many errors, closing connection\r\n");
	stop(t);

	t = start(false);
	smtp_session_timeout(t->s);
	assert_int_equal(t->f.closed, 1);
	stop(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_and_pregreet),
		cmocka_unit_test(test_ehlo_and_starttls),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_transaction),
		cmocka_unit_test(test_refusal_replies),
		cmocka_unit_test(test_line_caps),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_data_caps),
		cmocka_unit_test(test_data_smuggling),
		cmocka_unit_test(test_recipient_cap),
		cmocka_unit_test(test_inbound_mode),
		cmocka_unit_test(test_unauth_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * smtp_fuzz.c — libFuzzer target for the SMTP session state machine
 * (src/smtp/session.c) behind a fake transport: no sockets, no TLS. The
 * input is split at 0xff bytes into chunks fed one by one (so the parser
 * sees arbitrary read boundaries); the fake accepts AUTH for user "user"
 * with password "pass", answers every other submission at once (success,
 * refusal or pending-then-answered), and STARTTLS "succeeds". Checks: no
 * crash or leak, nothing is written after close, every reply line ends in
 * CRLF with a 3-digit code, and no submitted message exceeds the DATA cap
 * or lacks a sender or recipient.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/session.h"

struct fake {
	int closed;
	int submits;
	int pending;
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
f_write(void *arg, const char *d, size_t n)
{
	struct fake *f = arg;

	check(!f->closed);
	check(n >= 5 && d[n - 2] == '\r' && d[n - 1] == '\n');
	check(d[0] >= '2' && d[0] <= '5' && d[1] >= '0' && d[1] <= '9' && d[2] >= '0' && d[2] <= '9');
	check(d[3] == ' ' || d[3] == '-');
	for (size_t i = 0; i + 2 < n; i++)
		check(d[i] != '\r' && d[i] != '\n');
}

static void
f_starttls(void *arg)
{
	check(!((struct fake *)arg)->closed);
}

static void
f_close(void *arg)
{
	struct fake *f = arg;

	check(!f->closed);
	f->closed = 1;
}

static int
f_auth(void *arg, const char *user, const char *pass, struct err *e)
{
	if (strcmp(user, "temp") == 0)
		return err_temp(e, "store busy");
	return strcmp(user, "user") == 0 && strcmp(pass, "pass") == 0;
}

static int
f_submit(void *arg, const struct smtp_txn *t, struct err *e)
{
	struct fake *f = arg;

	check(t->mail_from != NULL && t->mail_from[0] != '\0');
	check(t->nrcpt >= 1 && t->nrcpt <= SMTP_MAX_RCPT);
	check(t->len <= SMTP_MAX_DATA);
	switch (f->submits++ % 3) {
	case 0:
		f->pending = 1;
		return 0;
	case 1:
		return err_set(e, 403, "AccessDenied", "User `x' is not authorized");
	default:
		err_set(e, 400, "Throttling", "Maximum sending rate exceeded.");
		e->temporary = true;
		return -1;
	}
}

static const struct smtp_session_ops ops = {
	.write = f_write, .starttls = f_starttls, .close = f_close, .auth = f_auth, .submit = f_submit};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake f = {0};
	bool tls = size > 0 && (data[0] & 1);
	struct smtp_session *s = smtp_session_new(&ops, &f, tls, !tls, "localhost");
	size_t start = size > 0 ? 1 : 0;

	smtp_session_greet(s);
	for (size_t i = start; i <= size; i++) {
		if (i == size || data[i] == 0xff) {
			smtp_session_input(s, data + start, i - start);
			if (f.pending) {
				f.pending = 0;
				smtp_session_submitted(s, "0100-id", NULL);
			}
			start = i + 1;
		}
	}
	if (!f.closed)
		smtp_session_timeout(s);
	check(f.closed);
	smtp_session_free(s);
	return 0;
}

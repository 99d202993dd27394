/*
 * test_smtpc.c — the outbound SMTP client (src/delivery/smtpc.c) against a
 * scripted SMTP server written here: a listening socket on 127.0.0.1:0,
 * one blocking thread per connection (STARTTLS with a throwaway
 * self-signed certificate), behaviour chosen per test and per recipient
 * (local part "bounce…" → 550, "defer…" → 451, "close…" → 421 and close),
 * and everything it saw recorded: each read() as a chunk (so pipelining
 * is visible as MAIL+RCPT+DATA in one read), commands, message bodies,
 * connection counts (concurrent and total).
 *
 * The client runs on an event_base in the test's thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <cmocka.h>

#include "delivery/smtpc.h"
#include "smtp/tls.h"

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the scripted server ------------------------------------------------------- */

struct srvconf {
	const char *greeting; /* NULL = "220 mx.test ESMTP\r\n" */
	bool stall_greeting;  /* accept, never greet */
	bool pipelining, starttls, eightbitmime, size;
	bool break_tls;         /* 220 to STARTTLS, then plaintext garbage and close */
	const char *starttls_reply; /* instead of 220 (a refusal) */
	const char *ehlo_reply; /* instead of the 250 capability list */
	const char *mail_reply; /* NULL = 250 */
	const char *dot_reply;  /* NULL = "250 2.0.0 Ok: queued as X\r\n" */
	bool stall_dot;         /* never answer the final dot */
	unsigned dot_delay_ms;
	bool rset_close; /* close on RSET without answering */
};

#define MAX_CONN_THREADS 64
#define CHUNKS_MAX       512

struct srv {
	struct srvconf conf;
	int fd, port;
	pthread_t acceptor;
	atomic_bool stop;
	pthread_mutex_t mu;
	pthread_t threads[MAX_CONN_THREADS];
	int nthreads;
	/* observations, under mu */
	int conns_total, conns_now, conns_max;
	int rsets, quits, messages, tls_sessions;
	int chunk_all_in_one;    /* reads holding MAIL FROM, every RCPT TO and DATA */
	int chunk_mail_and_rcpt; /* reads holding MAIL FROM and a RCPT TO */
	char mail_line[2048];    /* the last MAIL FROM line */
	char *body;              /* the last message as received (stuffed), without ".\r\n" */
	size_t body_len;
	char transcript[16384]; /* commands, one per line */
};

struct sconn {
	struct srv *s;
	int fd;
	SSL *ssl;
	SSL_CTX *ctx;
	char buf[65536];
	size_t len;
};

static SSL_CTX *server_ctx;
static char tmpdir[64];

static void
srv_note(struct srv *s, const char *line)
{
	pthread_mutex_lock(&s->mu);
	size_t n = strlen(s->transcript);
	snprintf(s->transcript + n, sizeof(s->transcript) - n, "%s", line);
	pthread_mutex_unlock(&s->mu);
}

static int
sc_write(struct sconn *k, const char *p)
{
	size_t n = strlen(p);
	if (k->ssl != NULL)
		return SSL_write(k->ssl, p, (int)n) == (int)n ? 0 : -1;
	return send(k->fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static ssize_t
sc_recv(struct sconn *k, char *p, size_t n)
{
	for (;;) {
		ssize_t r;
		if (atomic_load(&k->s->stop))
			return -1;
		if (k->ssl != NULL) {
			r = SSL_read(k->ssl, p, (int)n);
			if (r > 0)
				return r;
			int e = SSL_get_error(k->ssl, (int)r);
			if (e == SSL_ERROR_WANT_READ || (e == SSL_ERROR_SYSCALL && errno == EAGAIN))
				continue;
			return -1;
		}
		r = recv(k->fd, p, n, 0);
		if (r > 0)
			return r;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			continue;
		return -1;
	}
}

static void
chunk_seen(struct sconn *k, const char *p, size_t n)
{
	char *c = strndup(p, n);
	bool mail = strstr(c, "MAIL FROM:") != NULL, rcpt = strstr(c, "RCPT TO:") != NULL;
	pthread_mutex_lock(&k->s->mu);
	if (mail && rcpt)
		k->s->chunk_mail_and_rcpt++;
	if (mail && rcpt && strstr(c, "\r\nDATA\r\n") != NULL)
		k->s->chunk_all_in_one++;
	pthread_mutex_unlock(&k->s->mu);
	free(c);
}

/* One line with its CRLF into out (NUL-terminated). -1 on close or stop. */
static int
sc_line(struct sconn *k, char *out, size_t cap)
{
	for (;;) {
		char *nl = memchr(k->buf, '\n', k->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - k->buf) + 1;
			size_t c = n < cap - 1 ? n : cap - 1;
			memcpy(out, k->buf, c);
			out[c] = '\0';
			memmove(k->buf, k->buf + n, k->len - n);
			k->len -= n;
			return 0;
		}
		if (k->len == sizeof(k->buf))
			return -1;
		ssize_t r = sc_recv(k, k->buf + k->len, sizeof(k->buf) - k->len);
		if (r <= 0)
			return -1;
		chunk_seen(k, k->buf + k->len, (size_t)r);
		k->len += (size_t)r;
	}
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Stay connected, say nothing, until the client leaves or the test ends. */
static void
stall(struct sconn *k)
{
	char b[4096];
	while (sc_recv(k, b, sizeof(b)) > 0)
		;
}

static const char *
rcpt_reply(const char *line)
{
	const char *a = strchr(line, '<');
	if (a == NULL)
		return "501 5.5.4 syntax\r\n";
	a++;
	if (strncmp(a, "bounce", 6) == 0)
		return "550 5.1.1 user unknown\r\n";
	if (strncmp(a, "defer", 5) == 0)
		return "451 4.2.0 try again later\r\n";
	if (strncmp(a, "close", 5) == 0)
		return "421 4.3.0 closing now\r\n";
	return "250 2.1.5 Ok\r\n";
}

static void
session(struct sconn *k)
{
	struct srv *s = k->s;
	const struct srvconf *cf = &s->conf;
	char line[2048];
	int accepted = 0;

	if (cf->stall_greeting) {
		stall(k);
		return;
	}
	if (sc_write(k, cf->greeting ? cf->greeting : "220 mx.test ESMTP\r\n") != 0)
		return;
	if (cf->greeting != NULL && cf->greeting[0] != '2') {
		stall(k); /* the client should leave */
		return;
	}
	while (sc_line(k, line, sizeof(line)) == 0) {
		srv_note(s, line);
		if (strncasecmp(line, "EHLO", 4) == 0) {
			char caps[512];
			if (cf->ehlo_reply != NULL) {
				sc_write(k, cf->ehlo_reply);
				continue;
			}
			snprintf(caps, sizeof(caps),
			         "250-mx.test hello\r\n%s%s%s%s250 ENHANCEDSTATUSCODES\r\n",
			         cf->pipelining ? "250-PIPELINING\r\n" : "",
			         cf->starttls && k->ssl == NULL ? "250-STARTTLS\r\n" : "",
			         cf->eightbitmime ? "250-8BITMIME\r\n" : "",
			         cf->size ? "250-SIZE 10485760\r\n" : "");
			sc_write(k, caps);
		} else if (strncasecmp(line, "HELO", 4) == 0) {
			sc_write(k, "250 mx.test\r\n");
		} else if (strncasecmp(line, "STARTTLS", 8) == 0) {
			if (cf->starttls_reply != NULL) {
				sc_write(k, cf->starttls_reply);
				continue;
			}
			sc_write(k, "220 2.0.0 go ahead\r\n");
			if (cf->break_tls) {
				sc_write(k, "this is not TLS at all\r\n");
				return;
			}
			k->ssl = SSL_new(server_ctx);
			SSL_set_fd(k->ssl, k->fd);
			for (;;) {
				int r = SSL_accept(k->ssl);
				if (r == 1)
					break;
				int e = SSL_get_error(k->ssl, r);
				if (atomic_load(&s->stop) ||
				    (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE &&
				     !(e == SSL_ERROR_SYSCALL && errno == EAGAIN)))
					return;
			}
			k->len = 0;
			pthread_mutex_lock(&s->mu);
			s->tls_sessions++;
			pthread_mutex_unlock(&s->mu);
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
			pthread_mutex_lock(&s->mu);
			snprintf(s->mail_line, sizeof(s->mail_line), "%s", line);
			pthread_mutex_unlock(&s->mu);
			accepted = 0;
			sc_write(k, cf->mail_reply ? cf->mail_reply : "250 2.1.0 Ok\r\n");
		} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
			const char *r = rcpt_reply(line);
			if (cf->mail_reply != NULL && cf->mail_reply[0] != '2')
				r = "503 5.5.1 need MAIL\r\n";
			sc_write(k, r);
			if (r[0] == '2')
				accepted++;
			if (strncmp(r, "421", 3) == 0)
				return;
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			if (accepted == 0) {
				sc_write(k, "554 5.5.1 no valid recipients\r\n");
				continue;
			}
			sc_write(k, "354 End data with <CR><LF>.<CR><LF>\r\n");
			char *body = NULL;
			size_t blen = 0, bcap = 0;
			for (;;) {
				if (sc_line(k, line, sizeof(line)) != 0) {
					free(body);
					return;
				}
				if (strcmp(line, ".\r\n") == 0)
					break;
				size_t n = strlen(line);
				if (blen + n + 1 > bcap) {
					bcap = (blen + n + 1) * 2;
					body = realloc(body, bcap);
				}
				memcpy(body + blen, line, n + 1);
				blen += n;
			}
			pthread_mutex_lock(&s->mu);
			free(s->body);
			s->body = body;
			s->body_len = blen;
			s->messages++;
			pthread_mutex_unlock(&s->mu);
			srv_note(s, ".\r\n");
			if (cf->stall_dot) {
				stall(k);
				return;
			}
			if (cf->dot_delay_ms)
				sleep_ms(cf->dot_delay_ms);
			sc_write(k,
			         cf->dot_reply ? cf->dot_reply : "250 2.0.0 Ok: queued as X\r\n");
		} else if (strncasecmp(line, "RSET", 4) == 0) {
			pthread_mutex_lock(&s->mu);
			s->rsets++;
			pthread_mutex_unlock(&s->mu);
			if (cf->rset_close)
				return;
			accepted = 0;
			sc_write(k, "250 2.0.0 Ok\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			pthread_mutex_lock(&s->mu);
			s->quits++;
			pthread_mutex_unlock(&s->mu);
			sc_write(k, "221 2.0.0 Bye\r\n");
			return;
		} else {
			sc_write(k, "502 5.5.2 what?\r\n");
		}
	}
}

static void *
conn_main(void *arg)
{
	struct sconn *k = arg;
	struct srv *s = k->s;

	session(k);
	if (k->ssl != NULL) {
		SSL_shutdown(k->ssl);
		SSL_free(k->ssl);
	}
	close(k->fd);
	pthread_mutex_lock(&s->mu);
	s->conns_now--;
	pthread_mutex_unlock(&s->mu);
	free(k);
	return NULL;
}

static void *
acceptor_main(void *arg)
{
	struct srv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		if (poll(&p, 1, 20) <= 0)
			continue;
		int fd = accept(s->fd, NULL, NULL);
		if (fd < 0)
			continue;
		struct timeval tv = {0, 20000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		struct sconn *k = calloc(1, sizeof(*k));
		k->s = s;
		k->fd = fd;
		pthread_mutex_lock(&s->mu);
		s->conns_total++;
		s->conns_now++;
		if (s->conns_now > s->conns_max)
			s->conns_max = s->conns_now;
		bool room = s->nthreads < MAX_CONN_THREADS;
		pthread_mutex_unlock(&s->mu);
		if (!room) {
			close(fd);
			free(k);
			continue;
		}
		pthread_create(&s->threads[s->nthreads++], NULL, conn_main, k);
	}
	return NULL;
}

static struct srv *
srv_start(const struct srvconf *conf)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);

	if (conf != NULL)
		s->conf = *conf;
	pthread_mutex_init(&s->mu, NULL);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->fd, 64), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	pthread_create(&s->acceptor, NULL, acceptor_main, s);
	return s;
}

static void
srv_stop(struct srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->acceptor, NULL);
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	close(s->fd);
	free(s->body);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* A port nobody listens on (right now). */
static int
closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---- the client side ------------------------------------------------------------ */

struct got {
	int calls;
	size_t n;
	struct smtpc_rcpt_result res[SMTPC_RCPT_MAX];
	char rcpt[SMTPC_RCPT_MAX][64];
	bool tls;
	unsigned attempts;
	long at_ms;
};

static bool in_send;

static void
on_done(void *arg, const struct smtpc_result *r)
{
	struct got *g = arg;
	assert_false(in_send); /* never from inside smtpc_send */
	g->calls++;
	g->n = r->nrcpt;
	for (size_t i = 0; i < r->nrcpt; i++) {
		g->res[i] = r->res[i];
		snprintf(g->rcpt[i], sizeof(g->rcpt[i]), "%s", r->rcpt[i]);
	}
	g->tls = r->tls;
	g->attempts = r->attempts;
	g->at_ms = now_ms();
}

static const char *MSG = "From: a@sender.test\r\nTo: b@rcpt.test\r\nSubject: hi\r\n\r\nhello\r\n";

static void
target(struct smtpc_target *t, const char *host, int port)
{
	assert_int_equal(smtpc_target_set(t, host, "127.0.0.1", (unsigned)port), 0);
}

static void
send_msg(struct smtpc *c, const struct smtpc_target *t, size_t nt, const char *const *rcpt,
         size_t nr, const char *data, struct got *g)
{
	struct smtpc_job job = {
	    .targets = t,
	    .ntargets = nt,
	    .mail_from = "bounce-id@bounces.test",
	    .rcpt = rcpt,
	    .nrcpt = nr,
	    .data = data,
	    .len = strlen(data),
	};
	struct err e;
	in_send = true;
	int rc = smtpc_send(c, &job, on_done, g, &e);
	in_send = false;
	if (rc != 0)
		fail_msg("smtpc_send: %s", e.message);
}

/* Run the loop until every g has its answer or ms pass. */
static void
run(struct event_base *base, struct got **g, size_t n, long ms)
{
	long deadline = now_ms() + ms;
	for (;;) {
		bool all = true;
		for (size_t i = 0; i < n; i++)
			all = all && g[i]->calls > 0;
		if (all || now_ms() > deadline)
			return;
		struct timeval tv = {0, 10000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static void
run1(struct event_base *base, struct got *g, long ms)
{
	run(base, &g, 1, ms);
	if (g->calls != 1)
		fail_msg("no answer in %ld ms (calls %d)", ms, g->calls);
}

/* Let the loop run for ms regardless. */
static void
spin(struct event_base *base, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static struct smtpc *
client(struct event_base *base, enum smtpc_tls tls, double scale, unsigned per_host)
{
	struct smtpc_conf cf = {
	    .helo = "client.test",
	    .tls = tls,
	    .timeout_scale = scale,
	    .max_per_host = per_host,
	    .idle_ms = 2000,
	};
	struct err e;
	struct smtpc *c = smtpc_new(base, &cf, &e);
	if (c == NULL)
		fail_msg("smtpc_new: %s", e.message);
	return c;
}

static void
expect(const struct got *g, size_t i, enum smtpc_outcome o, int code, const char *status)
{
	const struct smtpc_rcpt_result *r = &g->res[i];
	if (r->outcome != o || r->code != code || strcmp(r->status, status) != 0)
		fail_msg("rcpt %zu (%s): %s %d %s '%s', want %s %d %s", i, g->rcpt[i],
		         smtpc_outcome_str(r->outcome), r->code, r->status, r->text,
		         smtpc_outcome_str(o), code, status);
}

/* ---- tests ------------------------------------------------------------------------ */

static void
test_lockstep(void **state)
{
	(void)state;
	struct srv *s = srv_start(NULL);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct smtpc_target t;
	struct got g = {0};
	const char *rcpt[] = {"one@rcpt.test", "two@rcpt.test"};
	char want_remote[64];

	target(&t, "mx1.rcpt.test", s->port);
	send_msg(c, &t, 1, rcpt, 2, MSG, &g);
	assert_int_equal(g.calls, 0);
	run1(base, &g, 5000);
	assert_int_equal(g.n, 2);
	snprintf(want_remote, sizeof(want_remote), "127.0.0.1:%d", s->port);
	for (size_t i = 0; i < 2; i++) {
		expect(&g, i, SMTPC_DELIVERED, 250, "2.0.0");
		assert_string_equal(g.res[i].text, "2.0.0 Ok: queued as X");
		assert_string_equal(g.res[i].remote, want_remote);
		assert_string_equal(g.res[i].host, "mx1.rcpt.test");
		assert_false(g.res[i].local);
	}
	assert_string_equal(g.rcpt[1], "two@rcpt.test");
	assert_false(g.tls);
	assert_int_equal(g.attempts, 1);
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->messages, 1);
	assert_int_equal(s->chunk_mail_and_rcpt, 0); /* no PIPELINING: one command per read */
	assert_string_equal(s->mail_line, "MAIL FROM:<bounce-id@bounces.test>\r\n");
	assert_non_null(strstr(s->transcript, "EHLO client.test\r\n"));
	assert_non_null(strstr(s->transcript,
	                       "RCPT TO:<one@rcpt.test>\r\nRCPT TO:<two@rcpt.test>\r\nDATA\r\n"));
	assert_int_equal(s->body_len, strlen(MSG));
	assert_memory_equal(s->body, MSG, strlen(MSG));
	pthread_mutex_unlock(&s->mu);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s);
}

static void
test_pipelining(void **state)
{
	(void)state;
	struct srvconf cf = {.pipelining = true, .size = true, .eightbitmime = true};
	struct srv *s = srv_start(&cf);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct smtpc_target t;
	struct got g = {0}, g8 = {0};
	const char *rcpt[] = {"one@rcpt.test", "two@rcpt.test", "three@rcpt.test"};

	target(&t, "mx1.rcpt.test", s->port);
	send_msg(c, &t, 1, rcpt, 3, MSG, &g);
	run1(base, &g, 5000);
	for (size_t i = 0; i < 3; i++)
		expect(&g, i, SMTPC_DELIVERED, 250, "2.0.0");
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->chunk_all_in_one, 1);
	char want[128];
	snprintf(want, sizeof(want), "MAIL FROM:<bounce-id@bounces.test> SIZE=%zu\r\n",
	         strlen(MSG));
	assert_string_equal(s->mail_line, want);
	pthread_mutex_unlock(&s->mu);

	/* an 8-bit body: BODY=8BITMIME, since the server offers it (reusing the connection) */
	send_msg(c, &t, 1, rcpt, 1, "Subject: caf\xc3\xa9\r\n\r\nbody\r\n", &g8);
	run1(base, &g8, 5000);
	expect(&g8, 0, SMTPC_DELIVERED, 250, "2.0.0");
	pthread_mutex_lock(&s->mu);
	assert_non_null(strstr(s->mail_line, " BODY=8BITMIME\r\n"));
	assert_int_equal(s->chunk_all_in_one, 2); /* RSET+MAIL+RCPT+DATA, one read */
	assert_int_equal(s->rsets, 1);
	pthread_mutex_unlock(&s->mu);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s);
}

/* Without 8BITMIME offered, no BODY= and no SIZE= without SIZE. */
static void
test_no_extensions(void **state)
{
	(void)state;
	struct srvconf cf = {.ehlo_reply = "250 mx.test\r\n"};
	struct srv *s = srv_start(&cf);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_OPPORTUNISTIC, 0.01, 2);
	struct smtpc_target t;
	struct got g = {0};
	const char *rcpt[] = {"one@rcpt.test"};

	target(&t, "mx1.rcpt.test", s->port);
	send_msg(c, &t, 1, rcpt, 1, "Subject: caf\xc3\xa9\r\n\r\nbody\r\n", &g);
	run1(base, &g, 5000);
	expect(&g, 0, SMTPC_DELIVERED, 250, "2.0.0");
	assert_false(g.tls); /* opportunistic, nothing offered: in the clear */
	pthread_mutex_lock(&s->mu);
	assert_string_equal(s->mail_line, "MAIL FROM:<bounce-id@bounces.test>\r\n");
	pthread_mutex_unlock(&s->mu);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s);
}

/* EHLO refused: HELO, and on without extensions. */
static void
test_helo_fallback(void **state)
{
	(void)state;
	struct srvconf cf = {.ehlo_reply = "502 5.5.2 EHLO? never heard of it\r\n"};
	struct srv *s = srv_start(&cf);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct smtpc_target t;
	struct got g = {0};
	const char *rcpt[] = {"one@rcpt.test"};

	target(&t, "mx1.rcpt.test", s->port);
	send_msg(c, &t, 1, rcpt, 1, MSG, &g);
	run1(base, &g, 5000);
	expect(&g, 0, SMTPC_DELIVERED, 250, "2.0.0");
	pthread_mutex_lock(&s->mu);
	assert_non_null(strstr(s->transcript, "EHLO client.test\r\nHELO client.test\r\nMAIL"));
	pthread_mutex_unlock(&s->mu);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s);
}

static void
test_starttls_opportunistic(void **state)
{
	(void)state;
	struct srvconf cf = {.starttls = true, .pipelining = true};
	struct srv *s = srv_start(&cf);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_OPPORTUNISTIC, 0.01, 2);
	struct smtpc_target t;
	struct got g = {0};
	const char *rcpt[] = {"one@rcpt.test", "bounce@rcpt.test"};

	target(&t, "localhost", s->port);
	send_msg(c, &t, 1, rcpt, 2, MSG, &g);
	run1(base, &g, 5000);
	expect(&g, 0, SMTPC_DELIVERED, 250, "2.0.0");
	expect(&g, 1, SMTPC_BOUNCED, 550, "5.1.1");
	assert_true(g.tls);
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->tls_sessions, 1);
	/* EHLO again after the handshake, and the transaction inside TLS */
	assert_non_null(
	    strstr(s->transcript, "EHLO client.test\r\nSTARTTLS\r\nEHLO client.test\r\nMAIL"));
	assert_int_equal(s->chunk_all_in_one, 1);
	assert_memory_equal(s->body, MSG, strlen(MSG));
	pthread_mutex_unlock(&s->mu);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s);
}

static void
test_starttls_required(void **state)
{
	(void)state;
	struct srvconf plain = {0}, tls = {.starttls = true};
	struct srv *s1 = srv_start(&plain), *s2 = srv_start(&tls);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_REQUIRED, 0.01, 2);
	struct smtpc_target t[2];
	struct got g1 = {0}, g2 = {0};
	const char *rcpt[] = {"one@rcpt.test"};

	/* only the plaintext server: deferred, nothing sent */
	target(&t[0], "plain.rcpt.test", s1->port);
	send_msg(c, t, 1, rcpt, 1, MSG, &g1);
	run1(base, &g1, 5000);
	expect(&g1, 0, SMTPC_DEFERRED, 451, "4.7.4");
	assert_true(g1.res[0].local);
	assert_non_null(
	    strstr(g1.res[0].text, "TLS is required, but was not offered by 127.0.0.1:"));
	assert_string_equal(g1.res[0].host, "plain.rcpt.test");
	pthread_mutex_lock(&s1->mu);
	assert_null(strstr(s1->transcript, "MAIL"));
	pthread_mutex_unlock(&s1->mu);

	/* the plaintext one first, then a TLS one: delivered over TLS by the second */
	target(&t[1], "tls.rcpt.test", s2->port);
	send_msg(c, t, 2, rcpt, 1, MSG, &g2);
	run1(base, &g2, 5000);
	expect(&g2, 0, SMTPC_DELIVERED, 250, "2.0.0");
	assert_true(g2.tls);
	assert_int_equal(g2.attempts, 2);
	assert_string_equal(g2.res[0].host, "tls.rcpt.test");
	pthread_mutex_lock(&s2->mu);
	assert_int_equal(s2->tls_sessions, 1);
	assert_int_equal(s2->messages, 1);
	pthread_mutex_unlock(&s2->mu);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s1);
	srv_stop(s2);
}

/* A broken handshake is a temporary failure of that host: the next one is tried. */
static void
test_tls_handshake_failure(void **state)
{
	(void)state;
	struct srvconf broken = {.starttls = true, .break_tls = true}, good = {.starttls = true};
	struct srv *s1 = srv_start(&broken), *s2 = srv_start(&good);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_OPPORTUNISTIC, 0.01, 2);
	struct smtpc_target t[2];
	struct got g1 = {0}, g2 = {0};
	const char *rcpt[] = {"one@rcpt.test"};

	target(&t[0], "broken.rcpt.test", s1->port);
	send_msg(c, t, 1, rcpt, 1, MSG, &g1);
	run1(base, &g1, 5000);
	expect(&g1, 0, SMTPC_DEFERRED, 451, "4.7.5");
	assert_non_null(strstr(g1.res[0].text, "TLS handshake with 127.0.0.1:"));

	target(&t[1], "good.rcpt.test", s2->port);
	send_msg(c, t, 2, rcpt, 1, MSG, &g2);
	run1(base, &g2, 5000);
	expect(&g2, 0, SMTPC_DELIVERED, 250, "2.0.0");
	assert_true(g2.tls);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s1);
	srv_stop(s2);
}

/* STARTTLS refused: opportunistic carries on in the clear, required moves on. */
static void
test_starttls_refused(void **state)
{
	(void)state;
	struct srvconf cf = {.starttls = true, .starttls_reply = "454 4.7.0 TLS not available\r\n"};
	struct srv *s = srv_start(&cf);
	struct event_base *base = event_base_new();
	struct smtpc *opp = client(base, SMTPC_TLS_OPPORTUNISTIC, 0.01, 2);
	struct smtpc *req = client(base, SMTPC_TLS_REQUIRED, 0.01, 2);
	struct smtpc_target t;
	struct got g1 = {0}, g2 = {0};
	const char *rcpt[] = {"one@rcpt.test"};

	target(&t, "mx.rcpt.test", s->port);
	send_msg(opp, &t, 1, rcpt, 1, MSG, &g1);
	run1(base, &g1, 5000);
	expect(&g1, 0, SMTPC_DELIVERED, 250, "2.0.0");
	assert_false(g1.tls);
	send_msg(req, &t, 1, rcpt, 1, MSG, &g2);
	run1(base, &g2, 5000);
	expect(&g2, 0, SMTPC_DEFERRED, 451, "4.7.4");
	assert_non_null(strstr(g2.res[0].text, "STARTTLS refused by 127.0.0.1:"));
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->messages, 1);
	pthread_mutex_unlock(&s->mu);
	smtpc_free(opp);
	smtpc_free(req);
	event_base_free(base);
	srv_stop(s);
}

static void
test_rcpt_answers(void **state)
{
	(void)state;
	for (int pipe = 0; pipe < 2; pipe++) {
		struct srvconf cf = {.pipelining = pipe};
		struct srv *s = srv_start(&cf);
		struct event_base *base = event_base_new();
		struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
		struct smtpc_target t;
		struct got g = {0}, gd = {0}, gall = {0};
		const char *two[] = {"ok@rcpt.test", "bounce@rcpt.test"};
		const char *defer[] = {"defer@rcpt.test"};
		const char *none[] = {"bounce1@rcpt.test", "defer2@rcpt.test"};

		target(&t, "mx.rcpt.test", s->port);
		/* 550 for one of two: one delivered, one bounced */
		send_msg(c, &t, 1, two, 2, MSG, &g);
		run1(base, &g, 5000);
		expect(&g, 0, SMTPC_DELIVERED, 250, "2.0.0");
		expect(&g, 1, SMTPC_BOUNCED, 550, "5.1.1");
		assert_string_equal(g.res[1].text, "5.1.1 user unknown");
		/* 451: deferred, with the server's words */
		send_msg(c, &t, 1, defer, 1, MSG, &gd);
		run1(base, &gd, 5000);
		expect(&gd, 0, SMTPC_DEFERRED, 451, "4.2.0");
		assert_string_equal(gd.res[0].text, "4.2.0 try again later");
		assert_false(gd.res[0].local);
		/* nobody accepted: each keeps its own answer, no message sent */
		send_msg(c, &t, 1, none, 2, MSG, &gall);
		run1(base, &gall, 5000);
		expect(&gall, 0, SMTPC_BOUNCED, 550, "5.1.1");
		expect(&gall, 1, SMTPC_DEFERRED, 451, "4.2.0");
		pthread_mutex_lock(&s->mu);
		assert_int_equal(s->messages, 1);
		assert_int_equal(s->conns_total, 1); /* all three on one connection */
		assert_int_equal(s->rsets, 2);
		if (pipe)
			assert_int_equal(s->chunk_all_in_one, 3);
		else
			assert_int_equal(s->chunk_mail_and_rcpt, 0);
		pthread_mutex_unlock(&s->mu);
		smtpc_free(c);
		event_base_free(base);
		srv_stop(s);
	}
}

static void
test_dot_rejected(void **state)
{
	(void)state;
	struct srvconf cf = {.pipelining = true,
	                     .dot_reply = "554 5.7.1 message refused: spam\r\n"};
	struct srv *s = srv_start(&cf);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct smtpc_target t;
	struct got g = {0};
	const char *rcpt[] = {"one@rcpt.test", "two@rcpt.test", "bounce@rcpt.test",
	                      "defer@rcpt.test"};

	target(&t, "mx.rcpt.test", s->port);
	send_msg(c, &t, 1, rcpt, 4, MSG, &g);
	run1(base, &g, 5000);
	expect(&g, 0, SMTPC_BOUNCED, 554, "5.7.1");
	expect(&g, 1, SMTPC_BOUNCED, 554, "5.7.1");
	assert_string_equal(g.res[1].text, "5.7.1 message refused: spam");
	expect(&g, 2, SMTPC_BOUNCED, 550, "5.1.1"); /* its RCPT answer stands */
	expect(&g, 3, SMTPC_DEFERRED, 451, "4.2.0");
	smtpc_free(c);
	event_base_free(base);

	/* a 452 to the dot: every accepted recipient deferred */
	srv_stop(s);
	struct srvconf cf2 = {.dot_reply = "452 4.3.1 insufficient storage\r\n"};
	s = srv_start(&cf2);
	base = event_base_new();
	c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct got g2 = {0};
	target(&t, "mx.rcpt.test", s->port);
	send_msg(c, &t, 1, rcpt, 2, MSG, &g2);
	run1(base, &g2, 5000);
	expect(&g2, 0, SMTPC_DEFERRED, 452, "4.3.1");
	expect(&g2, 1, SMTPC_DEFERRED, 452, "4.3.1");
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s);
}

static void
test_mail_rejected(void **state)
{
	(void)state;
	for (int pipe = 0; pipe < 2; pipe++) {
		struct srvconf cf = {.pipelining = pipe,
		                     .mail_reply = "553 5.1.8 bad sender domain\r\n"};
		struct srv *s = srv_start(&cf);
		struct event_base *base = event_base_new();
		struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
		struct smtpc_target t[2];
		struct got g = {0};
		const char *rcpt[] = {"one@rcpt.test", "two@rcpt.test"};

		target(&t[0], "mx.rcpt.test", s->port);
		target(&t[1], "mx2.rcpt.test", closed_port());
		send_msg(c, t, 2, rcpt, 2, MSG, &g);
		run1(base, &g, 5000);
		/* the sender's refusal is final for the job: no other target */
		expect(&g, 0, SMTPC_BOUNCED, 553, "5.1.8");
		expect(&g, 1, SMTPC_BOUNCED, 553, "5.1.8");
		assert_int_equal(g.attempts, 1);
		pthread_mutex_lock(&s->mu);
		assert_int_equal(s->messages, 0);
		if (!pipe)
			assert_null(strstr(s->transcript, "RCPT"));
		pthread_mutex_unlock(&s->mu);
		smtpc_free(c);
		event_base_free(base);
		srv_stop(s);
	}
}

static void
test_refused_then_next(void **state)
{
	(void)state;
	struct srv *s = srv_start(NULL);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct smtpc_target t[2];
	struct got g = {0}, gall = {0};
	const char *rcpt[] = {"one@rcpt.test"};
	int dead = closed_port();
	char want[128];

	target(&t[0], "dead.rcpt.test", dead);
	target(&t[1], "live.rcpt.test", s->port);
	send_msg(c, t, 2, rcpt, 1, MSG, &g);
	run1(base, &g, 5000);
	expect(&g, 0, SMTPC_DELIVERED, 250, "2.0.0");
	assert_string_equal(g.res[0].host, "live.rcpt.test");
	assert_int_equal(g.attempts, 2);

	/* every target refuses: deferred with the local reason */
	t[1] = t[0];
	send_msg(c, t, 2, rcpt, 1, MSG, &gall);
	run1(base, &gall, 5000);
	expect(&gall, 0, SMTPC_DEFERRED, 451, "4.4.1");
	snprintf(want, sizeof(want), "4.4.1 connection refused by 127.0.0.1:%d", dead);
	assert_string_equal(gall.res[0].text, want);
	assert_true(gall.res[0].local);
	assert_int_equal(gall.attempts, 2);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s);
}

static void
test_greeting_refusals(void **state)
{
	(void)state;
	struct srvconf c554 = {.greeting = "554 5.3.2 no service here\r\n"};
	struct srvconf c421 = {.greeting = "421 4.3.2 busy\r\n"};
	struct srv *s554 = srv_start(&c554), *s421 = srv_start(&c421), *ok = srv_start(NULL);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct smtpc_target t[3];
	struct got g1 = {0}, g2 = {0}, g3 = {0};
	const char *rcpt[] = {"one@rcpt.test", "two@rcpt.test"};

	/* 554 greeting, then a good one: delivered by the second */
	target(&t[0], "no.rcpt.test", s554->port);
	target(&t[1], "ok.rcpt.test", ok->port);
	send_msg(c, t, 2, rcpt, 2, MSG, &g1);
	run1(base, &g1, 5000);
	expect(&g1, 0, SMTPC_DELIVERED, 250, "2.0.0");
	/* only permanent answers: bounced with the last one */
	t[1] = t[0];
	send_msg(c, t, 2, rcpt, 2, MSG, &g2);
	run1(base, &g2, 5000);
	expect(&g2, 0, SMTPC_BOUNCED, 554, "5.3.2");
	expect(&g2, 1, SMTPC_BOUNCED, 554, "5.3.2");
	assert_string_equal(g2.res[0].text, "5.3.2 no service here");
	/* permanent and temporary: deferred with the temporary reason */
	target(&t[1], "busy.rcpt.test", s421->port);
	send_msg(c, t, 2, rcpt, 2, MSG, &g3);
	run1(base, &g3, 5000);
	expect(&g3, 0, SMTPC_DEFERRED, 421, "4.3.2");
	assert_string_equal(g3.res[0].host, "busy.rcpt.test");
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s554);
	srv_stop(s421);
	srv_stop(ok);
}

/* 421 to the first RCPT: the server is closing before anyone was answered: next target. */
static void
test_421_rcpt(void **state)
{
	(void)state;
	struct srv *s1 = srv_start(NULL), *s2 = srv_start(NULL);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct smtpc_target t[2];
	struct got g = {0}, g2 = {0};
	const char *first[] = {"close@rcpt.test"};
	const char *later[] = {"ok@rcpt.test", "close@rcpt.test"};

	target(&t[0], "a.rcpt.test", s1->port);
	target(&t[1], "b.rcpt.test", s2->port);
	send_msg(c, t, 2, first, 1, MSG, &g);
	run1(base, &g, 5000);
	/* the second server closes too: deferred with its 421 */
	expect(&g, 0, SMTPC_DEFERRED, 421, "4.3.0");
	assert_int_equal(g.attempts, 2);
	assert_string_equal(g.res[0].host, "b.rcpt.test");
	/* after an accepted recipient: no other target; the rest deferred */
	send_msg(c, t, 2, later, 2, MSG, &g2);
	run1(base, &g2, 5000);
	expect(&g2, 0, SMTPC_DEFERRED, 421, "4.3.0");
	expect(&g2, 1, SMTPC_DEFERRED, 421, "4.3.0");
	assert_int_equal(g2.attempts, 1);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s1);
	srv_stop(s2);
}

static void
test_timeouts(void **state)
{
	(void)state;
	struct srvconf silent = {.stall_greeting = true}, nodot = {.stall_dot = true};
	struct srv *s1 = srv_start(&silent), *s2 = srv_start(&nodot);
	struct event_base *base = event_base_new();
	/* scale 0.001: greeting 300 ms, final dot 600 ms */
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.001, 2);
	struct smtpc_target t;
	struct got g1 = {0}, g2 = {0};
	const char *rcpt[] = {"one@rcpt.test"};

	target(&t, "silent.rcpt.test", s1->port);
	long start = now_ms();
	send_msg(c, &t, 1, rcpt, 1, MSG, &g1);
	run1(base, &g1, 5000);
	long took = g1.at_ms - start;
	print_message("greeting timeout after %ld ms\n", took);
	expect(&g1, 0, SMTPC_DEFERRED, 451, "4.4.1");
	assert_non_null(strstr(g1.res[0].text, "timeout waiting for the greeting from 127.0.0.1:"));
	assert_true(took >= 290 && took < 2000);

	target(&t, "nodot.rcpt.test", s2->port);
	start = now_ms();
	send_msg(c, &t, 1, rcpt, 1, MSG, &g2);
	run1(base, &g2, 5000);
	took = g2.at_ms - start;
	print_message("final-dot timeout after %ld ms\n", took);
	expect(&g2, 0, SMTPC_DEFERRED, 451, "4.4.2");
	assert_non_null(strstr(g2.res[0].text, "timeout after sending the message to"));
	assert_true(took >= 590 && took < 3000);
	pthread_mutex_lock(&s2->mu);
	assert_int_equal(s2->messages, 1); /* it got the message; we could not know */
	pthread_mutex_unlock(&s2->mu);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s1);
	srv_stop(s2);
}

static void
test_dot_stuffing(void **state)
{
	(void)state;
	struct srv *s = srv_start(NULL);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct smtpc_target t;
	struct got g = {0}, g2 = {0};
	const char *rcpt[] = {"one@rcpt.test"};
	/* a leading dot, a lone dot line, two dots, a bare LF, no final newline */
	const char *in = ".first\r\nSubject: x\r\n\r\n.\r\n..two\r\nbare\nlf\r\n. end";
	const char *want = "..first\r\nSubject: x\r\n\r\n..\r\n...two\r\nbare\r\nlf\r\n.. end\r\n";

	target(&t, "mx.rcpt.test", s->port);
	send_msg(c, &t, 1, rcpt, 1, in, &g);
	run1(base, &g, 5000);
	expect(&g, 0, SMTPC_DELIVERED, 250, "2.0.0");
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->body_len, strlen(want));
	assert_memory_equal(s->body, want, strlen(want));
	pthread_mutex_unlock(&s->mu);

	/* a big message (2 MB, many blocks) arrives whole */
	size_t big = 80 * 26215; /* 2 MB of 80-byte lines */
	char *m = malloc(big + 1);
	for (size_t i = 0; i < big; i++)
		m[i] = (i % 80 == 78) ? '\r' : (i % 80 == 79) ? '\n' : (char)('a' + i % 26);
	m[0] = '.';
	m[big] = '\0';
	send_msg(c, &t, 1, rcpt, 1, m, &g2);
	run1(base, &g2, 10000);
	expect(&g2, 0, SMTPC_DELIVERED, 250, "2.0.0");
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->body_len, big + 1);
	assert_int_equal(s->body[0], '.');
	assert_memory_equal(s->body + 1, m, big);
	pthread_mutex_unlock(&s->mu);
	free(m);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s);
}

/* Two jobs to the same target: one connection, RSET between, QUIT when idle. */
static void
test_reuse(void **state)
{
	(void)state;
	struct srv *s = srv_start(NULL);
	struct event_base *base = event_base_new();
	struct smtpc_conf cf = {.helo = "client.test", .timeout_scale = 0.01, .idle_ms = 300};
	struct smtpc *c = smtpc_new(base, &cf, NULL);
	struct smtpc_target t;
	struct got g1 = {0}, g2 = {0}, g3 = {0};
	const char *rcpt[] = {"one@rcpt.test"};
	struct smtpc_stats st;

	target(&t, "mx.rcpt.test", s->port);
	send_msg(c, &t, 1, rcpt, 1, MSG, &g1);
	run1(base, &g1, 5000);
	smtpc_get_stats(c, &st);
	assert_int_equal(st.conns, 1);
	assert_int_equal(st.idle, 1);
	send_msg(c, &t, 1, rcpt, 1, MSG, &g2);
	run1(base, &g2, 5000);
	expect(&g2, 0, SMTPC_DELIVERED, 250, "2.0.0");
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->conns_total, 1);
	assert_int_equal(s->rsets, 1);
	assert_int_equal(s->messages, 2);
	assert_non_null(strstr(s->transcript, ".\r\nRSET\r\nMAIL FROM:"));
	pthread_mutex_unlock(&s->mu);
	smtpc_get_stats(c, &st);
	assert_int_equal(st.opened, 1);
	assert_int_equal(st.reused, 1);

	/* idle past idle_ms: QUIT, closed */
	spin(base, 1000);
	smtpc_get_stats(c, &st);
	assert_int_equal(st.conns, 0);
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->quits, 1);
	pthread_mutex_unlock(&s->mu);

	/* a later job opens a fresh connection, no RSET */
	send_msg(c, &t, 1, rcpt, 1, MSG, &g3);
	run1(base, &g3, 5000);
	expect(&g3, 0, SMTPC_DELIVERED, 250, "2.0.0");
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->conns_total, 2);
	assert_int_equal(s->rsets, 1);
	pthread_mutex_unlock(&s->mu);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s);
}

/* A kept connection that dies at RSET: the job is retried on a fresh one. */
static void
test_reuse_dead(void **state)
{
	(void)state;
	struct srvconf cf = {.rset_close = true};
	struct srv *s = srv_start(&cf);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct smtpc_target t;
	struct got g1 = {0}, g2 = {0};
	const char *rcpt[] = {"one@rcpt.test"};

	target(&t, "mx.rcpt.test", s->port);
	send_msg(c, &t, 1, rcpt, 1, MSG, &g1);
	run1(base, &g1, 5000);
	send_msg(c, &t, 1, rcpt, 1, MSG, &g2);
	run1(base, &g2, 5000);
	expect(&g2, 0, SMTPC_DELIVERED, 250, "2.0.0");
	assert_int_equal(g2.attempts, 2);
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->conns_total, 2);
	assert_int_equal(s->messages, 2);
	pthread_mutex_unlock(&s->mu);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s);
}

/* N jobs, cap 2 per host: never more than 2 connections at the server. */
static void
test_host_cap(void **state)
{
	(void)state;
	struct srvconf cf = {.pipelining = true, .dot_delay_ms = 50};
	struct srv *s = srv_start(&cf);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct smtpc_target t;
	enum { N = 12 };
	struct got g[N];
	struct got *gp[N];
	const char *rcpt[] = {"one@rcpt.test"};
	struct smtpc_stats st;

	memset(g, 0, sizeof(g));
	target(&t, "mx.rcpt.test", s->port);
	for (int i = 0; i < N; i++) {
		gp[i] = &g[i];
		send_msg(c, &t, 1, rcpt, 1, MSG, &g[i]);
	}
	smtpc_get_stats(c, &st);
	assert_int_equal(st.waiting, N);
	assert_int_equal(st.conns, 0); /* nothing happens inside smtpc_send */
	spin(base, 20);
	smtpc_get_stats(c, &st);
	assert_int_equal(st.conns, 2);
	assert_int_equal(st.waiting, N - 2);
	run(base, gp, N, 10000);
	for (int i = 0; i < N; i++) {
		assert_int_equal(g[i].calls, 1);
		expect(&g[i], 0, SMTPC_DELIVERED, 250, "2.0.0");
	}
	pthread_mutex_lock(&s->mu);
	print_message("%d connections, at most %d at once, %d messages\n", s->conns_total,
	              s->conns_max, s->messages);
	assert_int_equal(s->conns_max, 2);
	assert_int_equal(s->conns_total, 2);
	assert_int_equal(s->messages, N);
	assert_int_equal(s->rsets, N - 2);
	pthread_mutex_unlock(&s->mu);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(s);
}

/* The total cap: an idle connection to another host is closed to make room. */
static void
test_total_cap(void **state)
{
	(void)state;
	struct srv *a = srv_start(NULL), *b = srv_start(NULL);
	struct event_base *base = event_base_new();
	struct smtpc_conf cf = {.timeout_scale = 0.01, .max_total = 1, .idle_ms = 5000};
	struct smtpc *c = smtpc_new(base, &cf, NULL);
	struct smtpc_target ta, tb;
	struct got g1 = {0}, g2 = {0}, g3 = {0};
	struct got *both[] = {&g2, &g3};
	const char *rcpt[] = {"one@rcpt.test"};

	target(&ta, "a.rcpt.test", a->port);
	target(&tb, "b.rcpt.test", b->port);
	send_msg(c, &ta, 1, rcpt, 1, MSG, &g1);
	run1(base, &g1, 5000);
	long start = now_ms();
	send_msg(c, &tb, 1, rcpt, 1, MSG, &g2);
	send_msg(c, &ta, 1, rcpt, 1, MSG, &g3);
	run(base, both, 2, 5000);
	expect(&g2, 0, SMTPC_DELIVERED, 250, "2.0.0");
	expect(&g3, 0, SMTPC_DELIVERED, 250, "2.0.0");
	assert_true(now_ms() - start < 2000); /* not held until the 5 s idle timeout */
	pthread_mutex_lock(&a->mu);
	assert_true(a->quits >= 1);
	assert_int_equal(a->messages, 2);
	pthread_mutex_unlock(&a->mu);
	pthread_mutex_lock(&b->mu);
	assert_int_equal(b->messages, 1);
	pthread_mutex_unlock(&b->mu);
	smtpc_free(c);
	event_base_free(base);
	srv_stop(a);
	srv_stop(b);
}

/* smtpc_free answers everything outstanding, once, DEFERRED "shutting down". */
static void
test_free_outstanding(void **state)
{
	(void)state;
	struct srvconf cf = {.stall_dot = true};
	struct srv *s = srv_start(&cf);
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 1.0, 1);
	struct smtpc_target t;
	struct got running = {0}, waiting = {0};
	const char *rcpt[] = {"one@rcpt.test", "bounce@rcpt.test"};

	target(&t, "mx.rcpt.test", s->port);
	send_msg(c, &t, 1, rcpt, 2, MSG, &running);
	send_msg(c, &t, 1, rcpt, 1, MSG, &waiting);
	/* until the server holds the message (it never answers the dot) */
	for (int i = 0; i < 200; i++) {
		spin(base, 10);
		pthread_mutex_lock(&s->mu);
		int m = s->messages;
		pthread_mutex_unlock(&s->mu);
		if (m == 1)
			break;
	}
	assert_int_equal(running.calls + waiting.calls, 0);
	smtpc_free(c);
	assert_int_equal(running.calls, 1);
	assert_int_equal(waiting.calls, 1);
	expect(&running, 0, SMTPC_DEFERRED, 451, "4.3.2");
	assert_string_equal(running.res[0].text, "4.3.2 shutting down");
	expect(&running, 1, SMTPC_BOUNCED, 550, "5.1.1"); /* a final answer stays */
	expect(&waiting, 0, SMTPC_DEFERRED, 451, "4.3.2");
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(running.calls + waiting.calls, 2);
	smtpc_free(NULL);
	event_base_free(base);
	srv_stop(s);
}

/* A callback may free the client; the other outstanding job is still answered once. */
static struct smtpc *freeing;
static struct got free_first, free_second;
static void
on_done_free(void *arg, const struct smtpc_result *r)
{
	on_done(arg, r);
	smtpc_free(freeing);
	freeing = NULL;
}

static void
test_free_from_callback(void **state)
{
	(void)state;
	struct srv *s = srv_start(NULL);
	struct event_base *base = event_base_new();
	struct smtpc_target t, dead;
	const char *rcpt[] = {"one@rcpt.test"};
	struct smtpc_job job = {.ntargets = 1,
	                        .mail_from = "",
	                        .rcpt = rcpt,
	                        .nrcpt = 1,
	                        .data = MSG,
	                        .len = strlen(MSG)};

	freeing = client(base, SMTPC_TLS_NONE, 1.0, 2);
	target(&dead, "dead.rcpt.test", closed_port());
	target(&t, "mx.rcpt.test", s->port);
	job.targets = &dead;
	assert_int_equal(smtpc_send(freeing, &job, on_done_free, &free_first, NULL), 0);
	job.targets = &t;
	assert_int_equal(smtpc_send(freeing, &job, on_done, &free_second, NULL), 0);
	struct got *gp = &free_first;
	run(base, &gp, 1, 5000);
	assert_null(freeing);
	assert_int_equal(free_first.calls, 1);
	expect(&free_first, 0, SMTPC_DEFERRED, 451, "4.4.1");
	assert_int_equal(free_second.calls, 1);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(free_second.calls, 1);
	event_base_free(base);
	srv_stop(s);
}

static void
test_invalid_jobs(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct smtpc *c = client(base, SMTPC_TLS_NONE, 0.01, 2);
	struct smtpc_target t;
	struct got g = {0};
	const char *rcpt[SMTPC_RCPT_MAX + 1];
	const char *bad[] = {"a\r\nb@x", "<a@x>", "a b@x", "", "a\x7f@x"};
	struct err e;

	for (int i = 0; i <= SMTPC_RCPT_MAX; i++)
		rcpt[i] = "ok@rcpt.test";
	target(&t, "mx", 25);
	struct smtpc_job job = {.targets = &t,
	                        .ntargets = 1,
	                        .mail_from = "",
	                        .rcpt = rcpt,
	                        .nrcpt = SMTPC_RCPT_MAX + 1,
	                        .data = MSG,
	                        .len = strlen(MSG)};
	assert_int_equal(smtpc_send(c, &job, on_done, &g, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	job.nrcpt = 0;
	assert_int_equal(smtpc_send(c, &job, on_done, &g, &e), -1);
	job.nrcpt = 1;
	job.ntargets = 0;
	assert_int_equal(smtpc_send(c, &job, on_done, &g, &e), -1);
	job.ntargets = SMTPC_TARGETS_MAX + 1;
	assert_int_equal(smtpc_send(c, &job, on_done, &g, &e), -1);
	job.ntargets = 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		job.rcpt = &bad[i];
		assert_int_equal(smtpc_send(c, &job, on_done, &g, &e), -1);
		job.rcpt = rcpt;
		job.mail_from = bad[i];
		if (bad[i][0] != '\0') /* the null sender is fine */
			assert_int_equal(smtpc_send(c, &job, on_done, &g, &e), -1);
		job.mail_from = "";
	}
	char longaddr[SMTPC_ADDR_MAX + 2];
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	const char *lp = longaddr;
	job.rcpt = &lp;
	assert_int_equal(smtpc_send(c, &job, on_done, &g, &e), -1);
	longaddr[SMTPC_ADDR_MAX] = '\0'; /* exactly the cap: accepted */
	assert_int_equal(smtpc_send(c, &job, on_done, &g, &e), 0);
	/* SMTPC_RCPT_MAX itself is accepted */
	job.rcpt = rcpt;
	job.nrcpt = SMTPC_RCPT_MAX;
	struct got g50 = {0};
	assert_int_equal(smtpc_send(c, &job, on_done, &g50, &e), 0);
	smtpc_free(c);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g50.calls, 1);
	assert_int_equal(g50.n, SMTPC_RCPT_MAX);
	event_base_free(base);
}

/* ---- setup --------------------------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	char cert[128], key[128];
	struct err e;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_smtpc.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	if (smtp_tls_make_self_signed(cert, key, &e) != 0) {
		fprintf(stderr, "cert: %s\n", e.message);
		return -1;
	}
	server_ctx = SSL_CTX_new(TLS_server_method());
	if (server_ctx == NULL || SSL_CTX_use_certificate_chain_file(server_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(server_ctx, key, SSL_FILETYPE_PEM) != 1)
		return -1;
	unlink(cert);
	unlink(key);
	rmdir(tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	SSL_CTX_free(server_ctx);
	return 0;
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lockstep),
	    cmocka_unit_test(test_pipelining),
	    cmocka_unit_test(test_no_extensions),
	    cmocka_unit_test(test_helo_fallback),
	    cmocka_unit_test(test_starttls_opportunistic),
	    cmocka_unit_test(test_starttls_required),
	    cmocka_unit_test(test_tls_handshake_failure),
	    cmocka_unit_test(test_starttls_refused),
	    cmocka_unit_test(test_rcpt_answers),
	    cmocka_unit_test(test_dot_rejected),
	    cmocka_unit_test(test_mail_rejected),
	    cmocka_unit_test(test_refused_then_next),
	    cmocka_unit_test(test_greeting_refusals),
	    cmocka_unit_test(test_421_rcpt),
	    cmocka_unit_test(test_timeouts),
	    cmocka_unit_test(test_dot_stuffing),
	    cmocka_unit_test(test_reuse),
	    cmocka_unit_test(test_reuse_dead),
	    cmocka_unit_test(test_host_cap),
	    cmocka_unit_test(test_total_cap),
	    cmocka_unit_test(test_free_outstanding),
	    cmocka_unit_test(test_free_from_callback),
	    cmocka_unit_test(test_invalid_jobs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

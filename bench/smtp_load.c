/*
 * smtp_load.c — an SMTP submission load generator for bench/send_smtp.sh
 * (built as build/smtp_load, not as a build/bench_* binary: it needs a
 * server to talk to, so bench/run.sh must not run it alone).
 *
 * N connections (default 10) on one libevent loop, each: connect, greeting,
 * EHLO, optionally STARTTLS (an OpenSSL filter bufferevent stacked on the
 * socket one) and EHLO again, optionally AUTH PLAIN or LOGIN, then
 * transactions back to back on the same connection: MAIL FROM, RCPT TO and
 * DATA (in one write when the server offers PIPELINING, as RFC 2920 allows:
 * DATA last in the group), the message, ".", and the reply. A transaction is
 * accepted when that last reply is 2xx; anything else (a refusal at any
 * step, a closed connection, a timeout) counts as refused, and the
 * connection goes on (RSET after a refused step) or is made again after
 * 100 ms.
 *
 * Bounded: the run stops after --count transactions have ended or after
 * --seconds, whichever comes first; every wait for a reply has a read
 * timeout (--timeout). The latency of a transaction is from its MAIL FROM
 * being written to its final reply. Prints one line of figures:
 *   accepted N refused N errors N reconnects N seconds S rate R p50_ms X p99_ms Y
 * and the first few refusals on stderr; --latencies FILE appends each
 * accepted transaction's latency in microseconds to FILE, one a line (so
 * several runs can be merged). Loopback use only: the certificate
 * is not verified (the servers benchmarked use a throwaway self-signed one).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#define MAX_CONNS 1000
#define MAX_COUNT 10000000L
#define MAX_SHOWN 5 /* refusals printed on stderr */

enum step {
	S_GREET,      /* 220 */
	S_EHLO,       /* 250, multi-line */
	S_STARTTLS,   /* 220 */
	S_AUTH,       /* 235 (PLAIN with initial response) */
	S_AUTH_LOGIN, /* 334 to AUTH LOGIN: the user name next */
	S_AUTH_USER,  /* 334 to the user name: the password next */
	S_AUTH_PASS,  /* 235 */
	S_MAIL,       /* the three of a transaction, possibly pipelined */
	S_RCPT,
	S_DATA,
	S_BODY, /* final reply after "." */
	S_RSET,
	S_DEAD,
};

struct opts {
	const char *host;
	int port;
	int conns;
	long count;
	double seconds;
	double timeout;
	bool starttls;
	const char *auth; /* NULL, "plain" or "login" */
	const char *user;
	const char *pass;
	const char *from;
	const char *to;
	long size;
	const char *latencies; /* append each accepted latency (us), one a line */
};

struct conn {
	struct run *run;
	int id;
	struct bufferevent *bev;
	struct event *retry;
	enum step step;
	bool tls_done;
	bool pipelining;
	bool failed; /* a step of the current transaction was refused */
	bool in_tx;
	double tx_start;
};

struct run {
	struct opts o;
	struct event_base *base;
	SSL_CTX *ssl_ctx;
	struct conn *conns;
	struct event *deadline;
	char *message; /* headers + body + ".\r\n", dot-stuffed */
	size_t message_len;
	double t0, t_end;
	long started, accepted, refused, errors, reconnects;
	double *lat;
	long nlat;
	int shown;
	bool stopping;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void conn_start(struct conn *c);
static void conn_drop(struct conn *c, const char *why);
static void tx_begin(struct conn *c);

/* The run ends: no transaction is started any more, the loop exits. */
static void
run_stop(struct run *r)
{
	if (r->stopping)
		return;
	r->stopping = true;
	r->t_end = now();
	event_base_loopbreak(r->base);
}

static void
show(struct run *r, int id, const char *what, const char *line)
{
	if (r->shown >= MAX_SHOWN)
		return;
	r->shown++;
	fprintf(stderr, "smtp_load: conn %d: %s: %s\n", id, what, line);
}

/* A transaction ended, accepted or not; the run may be over. */
static void
tx_end(struct conn *c, bool ok)
{
	struct run *r = c->run;

	if (!c->in_tx)
		return;
	c->in_tx = false;
	if (ok) {
		r->accepted++;
		if (r->nlat < r->o.count)
			r->lat[r->nlat++] = now() - c->tx_start;
	} else {
		r->refused++;
	}
	if (r->accepted + r->refused >= r->o.count)
		run_stop(r);
}

static void
sendf(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
	va_end(ap);
}

static void
b64(const char *in, size_t n, char *out, size_t cap)
{
	if (4 * ((n + 2) / 3) + 1 > cap) {
		out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
}

static void
send_ehlo(struct conn *c)
{
	c->step = S_EHLO;
	sendf(c, "EHLO smtp-load.localhost\r\n");
}

static void
send_auth(struct conn *c)
{
	const struct opts *o = &c->run->o;
	char plain[1024], enc[1400];

	if (strcasecmp(o->auth, "login") == 0) {
		c->step = S_AUTH_LOGIN;
		sendf(c, "AUTH LOGIN\r\n");
		return;
	}
	int n = snprintf(plain, sizeof(plain), "%c%s%c%s", 0, o->user, 0, o->pass);
	if (n < 0 || (size_t)n >= sizeof(plain)) {
		conn_drop(c, "credentials too long");
		return;
	}
	b64(plain, (size_t)n, enc, sizeof(enc));
	OPENSSL_cleanse(plain, sizeof(plain));
	c->step = S_AUTH;
	sendf(c, "AUTH PLAIN %s\r\n", enc);
}

/* After EHLO: STARTTLS if wanted and not done, AUTH if wanted, else mail. */
static void
after_ehlo(struct conn *c)
{
	const struct opts *o = &c->run->o;

	if (o->starttls && !c->tls_done) {
		c->step = S_STARTTLS;
		sendf(c, "STARTTLS\r\n");
	} else if (o->auth != NULL) {
		send_auth(c);
	} else {
		tx_begin(c);
	}
}

static void readcb(struct bufferevent *bev, void *arg);
static void eventcb(struct bufferevent *bev, short what, void *arg);

static void
set_timeouts(struct conn *c)
{
	double t = c->run->o.timeout;
	struct timeval tv = {(time_t)t, (suseconds_t)((t - (double)(time_t)t) * 1e6)};

	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

/* 220 to STARTTLS: stack a TLS client filter on the socket bufferevent. */
static int
start_tls(struct conn *c)
{
	SSL *ssl = SSL_new(c->run->ssl_ctx);
	struct bufferevent *tls;

	if (ssl == NULL)
		return -1;
	SSL_set_tlsext_host_name(ssl, "localhost");
	tls = bufferevent_openssl_filter_new(c->run->base, c->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	c->bev = tls;
	c->tls_done = true;
	bufferevent_setcb(tls, readcb, NULL, eventcb, c);
	set_timeouts(c);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	send_ehlo(c);
	return 0;
}

/* MAIL, RCPT, DATA: all three at once when the server pipelines. */
static void
tx_begin(struct conn *c)
{
	struct run *r = c->run;
	const struct opts *o = &r->o;

	if (r->stopping)
		return;
	if (r->started >= o->count) {
		c->step = S_DEAD; /* idle until the others finish */
		return;
	}
	r->started++;
	c->in_tx = true;
	c->failed = false;
	c->tx_start = now();
	c->step = S_MAIL;
	if (c->pipelining)
		sendf(c, "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n", o->from, o->to);
	else
		sendf(c, "MAIL FROM:<%s>\r\n", o->from);
}

/* A transaction step refused: RSET (after all its pipelined replies). */
static void
tx_refused(struct conn *c, const char *line)
{
	show(c->run, c->id, "refused", line);
	tx_end(c, false);
	c->step = S_RSET;
	sendf(c, "RSET\r\n");
}

static int
code_of(const char *line)
{
	if (strlen(line) < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9')
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* One complete reply (its last line, and the code) in the current step. */
static void
on_reply(struct conn *c, int code, const char *line)
{
	struct run *r = c->run;
	const struct opts *o = &r->o;
	char enc[1400];

	switch (c->step) {
	case S_GREET:
		if (code != 220)
			return conn_drop(c, line);
		return send_ehlo(c);
	case S_EHLO:
		if (code != 250)
			return conn_drop(c, line);
		return after_ehlo(c);
	case S_STARTTLS:
		if (code != 220 || start_tls(c) < 0)
			return conn_drop(c, line);
		return;
	case S_AUTH:
	case S_AUTH_PASS:
		if (code != 235)
			return conn_drop(c, line);
		return tx_begin(c);
	case S_AUTH_LOGIN:
		if (code != 334)
			return conn_drop(c, line);
		b64(o->user, strlen(o->user), enc, sizeof(enc));
		c->step = S_AUTH_USER;
		sendf(c, "%s\r\n", enc);
		return;
	case S_AUTH_USER:
		if (code != 334)
			return conn_drop(c, line);
		b64(o->pass, strlen(o->pass), enc, sizeof(enc));
		c->step = S_AUTH_PASS;
		sendf(c, "%s\r\n", enc);
		OPENSSL_cleanse(enc, sizeof(enc));
		return;
	case S_MAIL:
	case S_RCPT:
		if (code / 100 != 2)
			c->failed = true;
		if (!c->pipelining && c->failed)
			return tx_refused(c, line);
		if (c->step == S_MAIL) {
			c->step = S_RCPT;
			if (!c->pipelining)
				sendf(c, "RCPT TO:<%s>\r\n", o->to);
		} else {
			c->step = S_DATA;
			if (!c->pipelining)
				sendf(c, "DATA\r\n");
		}
		if (c->failed)
			show(r, c->id, "refused", line);
		return;
	case S_DATA:
		if (code != 354) {
			if (c->failed) { /* already shown; only RSET */
				tx_end(c, false);
				c->step = S_RSET;
				sendf(c, "RSET\r\n");
				return;
			}
			return tx_refused(c, line);
		}
		/* 354 even though a step failed: send the message, the reply decides */
		c->step = S_BODY;
		evbuffer_add(bufferevent_get_output(c->bev), r->message, r->message_len);
		return;
	case S_BODY:
		if (code / 100 != 2) {
			show(r, c->id, "refused", line);
			tx_end(c, false);
		} else {
			tx_end(c, true);
		}
		return tx_begin(c);
	case S_RSET:
		if (code != 250)
			return conn_drop(c, line);
		return tx_begin(c);
	case S_DEAD:
		return;
	}
}

static void
readcb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	while (!c->run->stopping && c->bev == bev &&
	       (line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		int code = code_of(line);

		if (code < 0) {
			free(line);
			conn_drop(c, "malformed reply");
			return;
		}
		if (c->step == S_EHLO && line[3] == '-' &&
		    strncasecmp(line + 4, "PIPELINING", 10) == 0)
			c->pipelining = true;
		if (line[3] != '-')
			on_reply(c, code, line);
		free(line);
		/* STARTTLS swapped c->bev: the rest comes through the filter */
	}
}

static void
eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		conn_drop(c, "timeout");
	else if (what & BEV_EVENT_EOF)
		conn_drop(c, "connection closed");
	else if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char buf[256];

		if (e != 0) {
			ERR_error_string_n(e, buf, sizeof(buf));
			conn_drop(c, buf);
		} else {
			conn_drop(c, strerror(EVUTIL_SOCKET_ERROR()));
		}
	}
}

static void
retrycb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	c->run->reconnects++;
	conn_start(c);
}

/* The connection failed: its transaction is refused; again in 100 ms. */
static void
conn_drop(struct conn *c, const char *why)
{
	struct run *r = c->run;
	struct timeval tv = {0, 100000};

	r->errors++;
	show(r, c->id, "connection error", why);
	tx_end(c, false);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	c->step = S_DEAD;
	if (!r->stopping)
		evtimer_add(c->retry, &tv);
}

static void
conn_start(struct conn *c)
{
	struct run *r = c->run;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->o.port)};

	if (r->stopping)
		return;
	if (inet_pton(AF_INET, r->o.host, &sin.sin_addr) != 1) {
		fprintf(stderr, "smtp_load: --host must be an IPv4 address\n");
		exit(2);
	}
	c->tls_done = false;
	c->pipelining = false;
	c->in_tx = false;
	c->step = S_GREET;
	c->bev = bufferevent_socket_new(r->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, readcb, NULL, eventcb, c);
	set_timeouts(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		conn_drop(c, "connect failed");
}

static void
deadlinecb(evutil_socket_t fd, short what, void *arg)
{
	run_stop(arg);
}

static void
make_message(struct run *r)
{
	const char *filler = "The quick brown fox jumps over the lazy dog, again and again.";
	struct evbuffer *b = evbuffer_new();

	evbuffer_add_printf(b,
	                    "From: Bench <%s>\r\nTo: <%s>\r\nSubject: smtp_load\r\n"
	                    "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n",
	                    r->o.from, r->o.to);
	while ((long)evbuffer_get_length(b) < r->o.size)
		evbuffer_add_printf(b, "%s\r\n", filler);
	evbuffer_add_printf(b, ".\r\n");
	r->message_len = evbuffer_get_length(b);
	r->message = malloc(r->message_len);
	if (r->message == NULL) {
		fprintf(stderr, "smtp_load: out of memory\n");
		exit(2);
	}
	evbuffer_remove(b, r->message, r->message_len);
	evbuffer_free(b);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, long n, double p)
{
	if (n == 0)
		return 0;
	long i = (long)(p * (double)n);
	if (i >= n)
		i = n - 1;
	return v[i];
}

static long
num(const char *s, const char *flag, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "smtp_load: %s wants a number in [%ld, %ld]\n", flag, min, max);
		exit(2);
	}
	return v;
}

static double
fnum(const char *s, const char *flag)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 3600) {
		fprintf(stderr, "smtp_load: %s wants seconds in (0, 3600]\n", flag);
		exit(2);
	}
	return v;
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: smtp_load --port N [--host 127.0.0.1] [--conns 10] [--count 100000]\n"
	        "       [--seconds 10] [--timeout 10] [--starttls] [--auth plain|login\n"
	        "       --user U --pass P] [--from A] [--to A] [--size BYTES]\n"
	        "       [--latencies FILE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"host", required_argument, NULL, 'h'},
	    {"port", required_argument, NULL, 'p'},
	    {"conns", required_argument, NULL, 'c'},
	    {"count", required_argument, NULL, 'n'},
	    {"seconds", required_argument, NULL, 's'},
	    {"timeout", required_argument, NULL, 't'},
	    {"starttls", no_argument, NULL, 'S'},
	    {"auth", required_argument, NULL, 'a'},
	    {"user", required_argument, NULL, 'u'},
	    {"pass", required_argument, NULL, 'P'},
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 'r'},
	    {"size", required_argument, NULL, 'z'},
	    {"latencies", required_argument, NULL, 'L'},
	    {NULL, 0, NULL, 0},
	};
	struct run r = {.o = {.host = "127.0.0.1",
	                      .conns = 10,
	                      .count = 100000,
	                      .seconds = 10,
	                      .timeout = 10,
	                      .from = "bench@example.com",
	                      .to = "rcpt@example.net",
	                      .size = 500}};
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			r.o.host = optarg;
			break;
		case 'p':
			r.o.port = (int)num(optarg, "--port", 1, 65535);
			break;
		case 'c':
			r.o.conns = (int)num(optarg, "--conns", 1, MAX_CONNS);
			break;
		case 'n':
			r.o.count = num(optarg, "--count", 1, MAX_COUNT);
			break;
		case 's':
			r.o.seconds = fnum(optarg, "--seconds");
			break;
		case 't':
			r.o.timeout = fnum(optarg, "--timeout");
			break;
		case 'S':
			r.o.starttls = true;
			break;
		case 'a':
			r.o.auth = optarg;
			break;
		case 'u':
			r.o.user = optarg;
			break;
		case 'P':
			r.o.pass = optarg;
			break;
		case 'f':
			r.o.from = optarg;
			break;
		case 'r':
			r.o.to = optarg;
			break;
		case 'L':
			r.o.latencies = optarg;
			break;
		case 'z':
			r.o.size = num(optarg, "--size", 0, 1000000);
			break;
		default:
			usage();
		}
	}
	if (r.o.port == 0 || optind != argc)
		usage();
	if (r.o.auth != NULL &&
	    ((strcasecmp(r.o.auth, "plain") != 0 && strcasecmp(r.o.auth, "login") != 0) ||
	     r.o.user == NULL || r.o.pass == NULL))
		usage();

	r.base = event_base_new();
	r.ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (r.base == NULL || r.ssl_ctx == NULL) {
		fprintf(stderr, "smtp_load: cannot set up libevent or OpenSSL\n");
		return 2;
	}
	SSL_CTX_set_verify(r.ssl_ctx, SSL_VERIFY_NONE, NULL); /* loopback, throwaway cert */
	r.lat = calloc((size_t)r.o.count, sizeof(*r.lat));
	r.conns = calloc((size_t)r.o.conns, sizeof(*r.conns));
	if (r.lat == NULL || r.conns == NULL) {
		fprintf(stderr, "smtp_load: out of memory\n");
		return 2;
	}
	make_message(&r);

	struct timeval limit = {(time_t)r.o.seconds,
	                        (suseconds_t)((r.o.seconds - (double)(time_t)r.o.seconds) * 1e6)};
	r.deadline = evtimer_new(r.base, deadlinecb, &r);
	evtimer_add(r.deadline, &limit);
	r.t0 = now();
	for (int i = 0; i < r.o.conns; i++) {
		struct conn *c = &r.conns[i];

		c->run = &r;
		c->id = i;
		c->retry = evtimer_new(r.base, retrycb, c);
		conn_start(c);
	}
	event_base_dispatch(r.base);
	if (!r.stopping)
		r.t_end = now();

	double secs = r.t_end - r.t0;
	qsort(r.lat, (size_t)r.nlat, sizeof(*r.lat), cmp_double);
	printf(
	    "accepted %ld refused %ld errors %ld reconnects %ld seconds %.3f rate %.1f p50_ms %.3f "
	    "p99_ms %.3f\n",
	    r.accepted, r.refused, r.errors, r.reconnects, secs,
	    secs > 0 ? (double)r.accepted / secs : 0.0, pct(r.lat, r.nlat, 0.50) * 1e3,
	    pct(r.lat, r.nlat, 0.99) * 1e3);
	if (r.o.latencies != NULL) {
		FILE *f = fopen(r.o.latencies, "a");

		if (f == NULL) {
			fprintf(stderr, "smtp_load: %s: %s\n", r.o.latencies, strerror(errno));
			return 2;
		}
		for (long i = 0; i < r.nlat; i++)
			fprintf(f, "%.0f\n", r.lat[i] * 1e6);
		fclose(f);
	}

	for (int i = 0; i < r.o.conns; i++) {
		if (r.conns[i].bev != NULL)
			bufferevent_free(r.conns[i].bev);
		event_free(r.conns[i].retry);
	}
	event_free(r.deadline);
	free(r.message);
	free(r.lat);
	free(r.conns);
	SSL_CTX_free(r.ssl_ctx);
	event_base_free(r.base);
	return 0;
}

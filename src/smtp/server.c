/*
 * server.c — the SMTP submission front end (server.h; notes in
 * docs/internals/smtp.md). One event-loop thread (a loop group of one,
 * util/loop.h) owns both listeners
 * (--smtp: STARTTLS, --smtps: implicit TLS), every connection, a store
 * handle and a send_lookup cache; the queue and the limits are shared with
 * the HTTP front end. Each connection is a libevent bufferevent (an
 * OpenSSL one for implicit TLS, a filter stacked on the socket one after
 * STARTTLS) feeding a session state machine (session.c) that knows no
 * sockets. This file is the glue: bytes in and out, the TLS upgrade,
 * AUTH through credentials_lookup (auth/, shared with SigV4), and a
 * finished DATA handed to send_request_from_raw (send/, shared with
 * SendRawEmail) and then send_submit — the same pipeline as the API.
 *
 * Region: SMTP credentials are region-specific and a listener serves one
 * region: the first of --regions (conf->region[0]).
 *
 * Invariants: the listeners, store handle and send_lookup are made by
 * loop_init on the loop's thread and freed by loop_free there; a
 * connection is freed only on this thread, never while its
 * submission is pending (it is marked dead instead and freed by the
 * completion); replies written before a close are flushed first (bounded
 * by CLOSE_POLLS).
 */
#include "smtp/server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "auth/credentials.h"
#include "conf/conf.h"
#include "feedback/feedback.h"
#include "queue/queue.h"
#include "send/limits.h"
#include "send/send.h"
#include "send/send_lookup.h"
#include "smtp/session.h"
#include "smtp/tls.h"
#include "store/store.h"
#include "util/anvil.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/loop.h"
#include "util/net.h"
#include "util/xalloc.h"

#define SMTP_HOSTNAME "localhost"
#define GREET_DELAY_MS 100   /* input before the greeting: a pre-greet talker */
#define IDLE_SECS 300        /* RFC 5321 4.5.3.2.7: at least 5 minutes */
#define WRITE_SECS 60
#define CLOSE_POLL_MS 20
#define CLOSE_POLLS 100
#define FEEDBACK_MAX_CONNS 64 /* remote MTAs reporting at once */
#define API_VERSION "2"      /* ses:ApiVersion: SMTP is documented as v2 SendRawEmail */
/* Password guessing (docs/internals/smtp.md "AUTH guessing"): a failed AUTH
 * from an address is answered after a delay that doubles with the address's
 * recent failures; a user name failed more than its budget is no longer
 * checked for addresses that have failed lately, until the budget drains. */
#define ANVIL_SLOTS 1024
#define ADDR_DRAIN_MS 10000   /* an address's failure count drains 1 per 10 s */
#define USER_DRAIN_MS 30000   /* a user name's, 1 per 30 s */
#define USER_BUDGET 10        /* failures a user name takes before it is guarded */
#define TARPIT_FIRST_MS 250
#define TARPIT_MAX_MS 8000

struct conn;

struct smtp_server {
	const struct conf *conf;
	struct vault *vault;
	SSL_CTX *ssl;
	struct event_base *base; /* the loop group's */
	struct evconnlistener *lst[3]; /* --smtp, --smtps, --feedback */
	struct send_env env;
	struct store *store;
	struct send_lookup *lookup;
	struct send_shared shared; /* serve.c's: queue, limits, signers */
	struct loop_group *group;
	bool draining;       /* loop thread only: shutting down, submit nothing */
	struct conn *conns;  /* every live connection */
	int nfeedback;       /* live connections of the feedback listener */
	uint64_t reports, reports_dropped; /* feedback reports taken; unmatched ones */
	struct anvil *auth_addr, *auth_user; /* failed AUTHs by client address, by user */
	struct event *sweep;  /* once a second: command lines past --header-timeout */
};

struct conn {
	struct smtp_server *srv;
	struct conn *prev, *next;
	struct bufferevent *bev;
	struct smtp_session *sess;
	struct event *timer;       /* the greeting delay, then close polling */
	struct event *tarpit;      /* holds the reply to a failed AUTH */
	int tarpit_ms;             /* set by a failed AUTH: hold for this long */
	bool held;                 /* reading and writing stopped by the tarpit */
	int64_t line_since;        /* when the command line being read began (0: none) */
	char ip[64];
	bool want_tls, closing, pending, dead, greeted;
	bool feedback;             /* a connection of the feedback listener */
	int polls;
	struct credentials_caller caller; /* after AUTH */
	/* the transaction being submitted, for its log line */
	int64_t txn_start_ms;
	size_t txn_bytes, txn_rcpts;
	char txn_identity[512];
	char report_of[80];        /* feedback: the MessageId the report matched */
};

static void conn_pump(struct conn *c);
static void conn_after(struct conn *c);

static int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connection lifetime ---------------------------------------------------- */

static void
conn_release(struct conn *c)
{
	if (c->feedback && c->sess != NULL)
		c->srv->nfeedback--;
	if (c->sess != NULL)
		metrics_add(METRIC_CONNECTIONS, -1, c->feedback ? "feedback" : "smtp", NULL, NULL);
	if (c->timer != NULL)
		event_free(c->timer);
	c->timer = NULL;
	if (c->tarpit != NULL)
		event_free(c->tarpit);
	c->tarpit = NULL;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	smtp_session_free(c->sess);
	c->sess = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (c->srv->conns == c)
		c->srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* Free now, or, with a submission pending, when it completes. */
static void
conn_free(struct conn *c)
{
	conn_release(c);
	if (c->pending)
		c->dead = true;
	else
		free(c);
}

static bool
flushed(struct conn *c)
{
	struct bufferevent *u = bufferevent_get_underlying(c->bev);

	return evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	       (u == NULL || evbuffer_get_length(bufferevent_get_output(u)) == 0);
}

static void
close_poll(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct timeval tv = {0, CLOSE_POLL_MS * 1000};

	if (flushed(c) || ++c->polls >= CLOSE_POLLS) {
		conn_free(c);
		return;
	}
	evtimer_add(c->timer, &tv);
}

/* The session ended: stop reading, free once the replies are out. */
static void
conn_closing(struct conn *c)
{
	struct timeval tv = {0, 0};

	bufferevent_disable(c->bev, EV_READ);
	if (c->timer != NULL)
		event_free(c->timer);
	c->timer = evtimer_new(c->srv->base, close_poll, c);
	evtimer_add(c->timer, &tv);
}

/* ---- session callbacks ---------------------------------------------------------- */

static void
ops_write(void *arg, const char *data, size_t n)
{
	struct conn *c = arg;

	bufferevent_write(c->bev, data, n);
}

static void
ops_starttls(void *arg)
{
	((struct conn *)arg)->want_tls = true;
}

static void
ops_close(void *arg)
{
	((struct conn *)arg)->closing = true;
}

/* The caller of key `user` if `password` is its SMTP password for the
 * listener's region: 1, 0 (unknown key or wrong password), -1 (temporary). */
static int
ops_auth(void *arg, const char *user, const char *password, struct err *e)
{
	struct conn *c = arg;
	struct smtp_server *srv = c->srv;
	struct credentials_proof proof = {.smtp_password = password,
					  .smtp_region = srv->conf->region[0]};
	int64_t now = monotonic_ms();
	double fails = anvil_level(srv->auth_addr, c->ip, now);
	int rc;

	if (fails >= 1 && anvil_level(srv->auth_user, user, now) >= USER_BUDGET) {
		/* not even checked: a guess here says nothing */
		anvil_add(srv->auth_addr, c->ip, now, 1);
		log_warn("smtp %s: AUTH for a user name past its failure budget", c->ip);
		return err_temp(e, "Too many failed authentications; try again later.");
	}
	rc = credentials_lookup(srv->store, srv->vault, user, &proof, &c->caller, e);
	if (rc == 0) {
		anvil_add(srv->auth_addr, c->ip, now, 1);
		anvil_add(srv->auth_user, user, now, 1);
		c->tarpit_ms = TARPIT_FIRST_MS << (fails < 5 ? (int)fails : 5);
		if (c->tarpit_ms > TARPIT_MAX_MS)
			c->tarpit_ms = TARPIT_MAX_MS;
		if (c->caller.key_id[0])
			log_info("smtp %s: AUTH failed for %s", c->ip, c->caller.key_id);
	} else if (rc == 1) {
		anvil_reset(srv->auth_addr, c->ip);
		log_info("smtp %s: AUTH as %s", c->ip, c->caller.principal_arn);
	}
	return rc;
}

/* A submission transaction's one log line (as the API's: caller, identity,
 * outcome, bytes, latency) and its counter; message_id NULL when refused
 * or failed (e). */
static void
log_txn(const struct conn *c, const char *message_id, const struct err *e)
{
	char reply[512], code[4] = "250";
	const char *outcome = "accepted";

	if (e != NULL) {
		smtp_session_reply_for(e, reply, sizeof(reply));
		snprintf(code, sizeof(code), "%.3s", reply);
		outcome = e->temporary && strcmp(e->code, "Throttling") != 0 ? "failed" : "refused";
	}
	struct log_field f[] = {
		LOG_S("ip", c->ip),
		LOG_S("message_id", message_id),
		LOG_S("account", c->caller.account_id),
		LOG_S("principal", c->caller.principal_arn),
		LOG_S("identity", c->txn_identity),
		LOG_S("status", code),
		LOG_S("code", e != NULL ? e->code : NULL),
		LOG_N("recipients", c->txn_rcpts),
		LOG_N("bytes", c->txn_bytes),
		LOG_N("ms", monotonic_ms() - c->txn_start_ms),
	};
	log_fields(LOG_INFO, "smtp", f, sizeof(f) / sizeof(f[0]));
	metrics_add(METRIC_SMTP_TRANSACTIONS, 1, outcome, code, NULL);
}

static void
conn_sent(void *arg, const char *message_id, const struct err *e)
{
	struct conn *c = arg;

	log_txn(c, message_id, e);
	c->pending = false;
	if (c->dead) {
		free(c);
		return;
	}
	smtp_session_submitted(c->sess, message_id, e);
	conn_after(c);
	if (c->bev != NULL && !c->closing)
		conn_pump(c);
}

/* A finished DATA as SendRawEmail: MAIL FROM is the Source (and the
 * feedback address), RCPT TO the Destinations, X-SES-* headers the ARNs;
 * send_request_from_raw (send/) reads the message. */
static int
ops_submit(void *arg, const struct smtp_txn *t, struct err *e)
{
	struct conn *c = arg;
	struct smtp_server *srv = c->srv;
	struct store *st = srv->store;
	struct send_raw_envelope env = {
		.source = t->mail_from, .rcpt = t->rcpt, .nrcpt = t->nrcpt, .addr_spec = true};
	struct send_raw m = {0};
	struct send_request *r = &m.req;
	struct account acct;
	int rc = -1, k;

	c->txn_start_ms = monotonic_ms();
	c->txn_bytes = t->len;
	c->txn_rcpts = t->nrcpt;
	c->txn_identity[0] = '\0';
	if (send_request_from_raw(t->data, t->len, &env, &m, e) != 0)
		goto done;
	st->ops->snapshot_begin(st); /* the decision's reads as one (store.h) */
	/* the account as it is now: a pause or a quota change applies at once */
	if ((k = st->ops->account_get(st, c->caller.account_id, &acct, e)) <= 0) {
		if (k == 0)
			err_set(e, 403, "AccessDenied", "The account of SMTP user %s no longer exists.",
				c->caller.key_id);
		goto done;
	}
	r->account = &acct;
	r->account_id = c->caller.account_id;
	r->principal = c->caller.principal_arn;
	r->user = c->caller.user;
	r->service = c->caller.service;
	r->region = srv->conf->region[0];
	r->source_ip = c->ip;
	r->secure = true; /* AUTH, hence any send, needs TLS */
	r->now = time(NULL);
	r->api_version = API_VERSION;
	r->identity_out = c->txn_identity;
	r->identity_cap = sizeof(c->txn_identity);
	if (srv->draining) {
		rc = err_temp(e, "The service is shutting down; try again.");
		goto done;
	}
	if ((rc = send_submit(&srv->env, r, conn_sent, c, e)) == 0)
		c->pending = true;
done:
	st->ops->snapshot_end(st);
	if (rc != 0)
		log_txn(c, NULL, e);
	send_raw_clear(&m);
	return rc;
}

static const struct smtp_session_ops session_ops = {
	.write = ops_write,
	.starttls = ops_starttls,
	.close = ops_close,
	.auth = ops_auth,
	.submit = ops_submit,
};

/* ---- the feedback listener ---------------------------------------------------- */

/* RCPT TO: the bounce domain and verified custom MAIL FROM domains only. */
static int
fb_rcpt(void *arg, const char *address, struct err *e)
{
	struct conn *c = arg;
	int k = feedback_rcpt_ok(c->srv->store, c->srv->conf, address, e);

	if (k < 0)
		return err_temp(e, "4.3.0 <%.320s>: try again later", address);
	if (k == 0) {
		log_info("feedback %s: refused RCPT %s", c->ip, address);
		return err_set(e, 400, "MessageRejected",
			       "5.7.1 <%.320s>: not a feedback address of this server", address);
	}
	return 0;
}

static void
fb_recorded(void *arg, int written, const struct err *e)
{
	struct conn *c = arg;

	if (e == NULL)
		log_info("feedback %s: report on %s: %d new event(s)", c->ip, c->report_of,
			 written);
	conn_sent(c, c->report_of, e);
}

static void
fb_answer(evutil_socket_t fd, short what, void *arg)
{
	fb_recorded(arg, 0, NULL);
}

/* A report: matched and handed to the queue, or dropped — answered 250
 * either way (never an error loop back to a remote MTA), but only after
 * what it says is durable. */
static int
fb_submit(void *arg, const struct smtp_txn *t, struct err *e)
{
	static const struct timeval now = {0, 0};
	struct conn *c = arg;
	struct smtp_server *srv = c->srv;
	struct feedback_match fm;
	struct timespec ts;

	if (srv->draining)
		return err_temp(e, "The service is shutting down; try again.");
	clock_gettime(CLOCK_REALTIME, &ts);
	if (feedback_match(srv->store, srv->conf, t->rcpt, t->nrcpt, t->data, t->len,
			   (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &fm, e) != 0) {
		log_warn("feedback %s: report not matched now: %s", c->ip, e->message);
		return -1;
	}
	srv->reports++;
	c->pending = true;
	if (fm.n == 0) {
		srv->reports_dropped++;
		log_info("feedback %s: %s report matches no message of ours: dropped", c->ip,
			 fm.kind);
		snprintf(c->report_of, sizeof(c->report_of), "(no message of ours: dropped)");
		feedback_match_clear(&fm);
		/* never inside submit (session.h): the answer comes from the loop */
		if (event_base_once(srv->base, -1, EV_TIMEOUT, fb_answer, c, &now) != 0)
			abort(); /* libevent cannot allocate: out of memory */
		return 0;
	}
	snprintf(c->report_of, sizeof(c->report_of), "%s", fm.message_id);
	queue_feedback(srv->shared.queue, fm.ev, fm.n, fm.account, srv->base, fb_recorded, c);
	feedback_match_clear(&fm);
	return 0;
}

static const struct smtp_session_ops feedback_ops = {
	.write = ops_write,
	.starttls = ops_starttls,
	.close = ops_close,
	.rcpt = fb_rcpt,
	.submit = fb_submit,
};

/* ---- bufferevent callbacks ---------------------------------------------------- */

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void
set_callbacks(struct conn *c)
{
	struct timeval rd = {IDLE_SECS, 0}, wr = {WRITE_SECS, 0};

	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_set_timeouts(c->bev, &rd, &wr);
}

/* STARTTLS: stack an OpenSSL filter on the plaintext bufferevent. */
static void
upgrade(struct conn *c)
{
	struct bufferevent *tls;
	SSL *ssl;

	c->want_tls = false;
	/* plaintext pipelined after STARTTLS is discarded, never read as TLS */
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	if ((ssl = SSL_new(c->srv->ssl)) == NULL ||
	    (tls = bufferevent_openssl_filter_new(c->srv->base, c->bev, ssl,
						  BUFFEREVENT_SSL_ACCEPTING,
						  BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warn("smtp %s: cannot start TLS", c->ip);
		conn_free(c);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	c->bev = tls;
	set_callbacks(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
tarpit_done(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	c->held = false;
	bufferevent_enable(c->bev, EV_WRITE);
	conn_pump(c);
}

/* After a failed AUTH: neither read the next command nor send the reply
 * for c->tarpit_ms, then go on (a close the session asked for included). */
static void
hold(struct conn *c)
{
	struct timeval tv = {c->tarpit_ms / 1000, (c->tarpit_ms % 1000) * 1000};

	c->tarpit_ms = 0;
	if (c->tarpit == NULL)
		c->tarpit = evtimer_new(c->srv->base, tarpit_done, c);
	c->held = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	evtimer_add(c->tarpit, &tv);
}

/* After the session ran: act on what it asked for. */
static void
conn_after(struct conn *c)
{
	if (c->bev == NULL || c->held)
		return;
	if (c->tarpit_ms > 0) {
		hold(c);
		return;
	}
	if (c->closing) {
		conn_closing(c);
		return;
	}
	if (c->want_tls) {
		upgrade(c);
		return;
	}
	if (smtp_session_busy(c->sess))
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

/* Feed what the bufferevent holds to the session while it takes input. */
static void
conn_pump(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char chunk[16384];
	int n;

	if (c->held)
		return;
	while (!c->closing && !c->want_tls && !smtp_session_busy(c->sess) &&
	       (n = evbuffer_remove(in, chunk, sizeof(chunk))) > 0)
		smtp_session_input(c->sess, chunk, (size_t)n);
	if (!smtp_session_partial_line(c->sess))
		c->line_since = 0;
	else if (c->line_since == 0)
		c->line_since = monotonic_ms();
	conn_after(c);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	conn_pump(arg);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_TIMEOUT) && !c->closing) {
		bufferevent_enable(c->bev, EV_WRITE);
		smtp_session_timeout(c->sess);
		conn_after(c);
		return;
	}
	conn_free(c); /* EOF or error: nothing more can be said */
}

static void
greet(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	smtp_session_greet(c->sess);
	conn_after(c);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
	  void *arg)
{
	struct smtp_server *srv = arg;
	bool tls = l == srv->lst[1], feedback = l == srv->lst[2];
	struct timeval tv = {0, GREET_DELAY_MS * 1000};
	struct conn *c = xcalloc(1, sizeof(*c));

	if (feedback && srv->nfeedback >= FEEDBACK_MAX_CONNS) {
		log_warn("feedback: %d connections open already: one refused", srv->nfeedback);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->srv = srv;
	c->feedback = feedback;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->ip, sizeof(c->ip));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->ip, sizeof(c->ip));
	if (tls) {
		SSL *ssl = SSL_new(srv->ssl);
		c->bev = ssl == NULL ? NULL
				     : bufferevent_openssl_socket_new(srv->base, fd, ssl,
								      BUFFEREVENT_SSL_ACCEPTING,
								      BEV_OPT_CLOSE_ON_FREE);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->sess = smtp_session_new(feedback ? &feedback_ops : &session_ops, c, tls, !tls,
				   feedback ? srv->conf->helo : SMTP_HOSTNAME);
	srv->nfeedback += feedback;
	metrics_add(METRIC_CONNECTIONS, 1, feedback ? "feedback" : "smtp", NULL, NULL);
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	set_callbacks(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->timer = evtimer_new(srv->base, greet, c);
	evtimer_add(c->timer, &tv);
}

/* ---- the server ----------------------------------------------------------------- */

/* Once a second: a client that has taken longer than --header-timeout over
 * one command line (a byte every few seconds never trips the idle timeout)
 * is told so and let go, as at the idle timeout. */
static void
sweep(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_server *s = arg;
	int64_t now = monotonic_ms(), limit = (int64_t)s->conf->header_timeout * 1000;
	struct conn *c = s->conns, *next;

	for (; c != NULL; c = next) {
		next = c->next; /* conn_after may free c */
		if (c->line_since == 0 || now - c->line_since <= limit || c->closing || c->held)
			continue;
		c->line_since = 0;
		log_info("smtp %s: a command line took over %d s", c->ip, s->conf->header_timeout);
		bufferevent_enable(c->bev, EV_WRITE);
		smtp_session_timeout(c->sess);
		conn_after(c);
	}
}

/* loop_cleanup_fn: on the loop's thread, after it ended (or a failed init). */
static void
loop_free(void *arg, int i, struct event_base *base)
{
	struct smtp_server *s = arg;

	while (s->conns != NULL) {
		struct conn *c = s->conns;
		conn_release(c);
		free(c); /* the queue has answered (queue_stop), or never will */
	}
	for (int k = 0; k < 3; k++)
		if (s->lst[k] != NULL) {
			net_listener_unguard(s->lst[k]);
			evconnlistener_free(s->lst[k]);
		}
	anvil_free(s->auth_addr);
	anvil_free(s->auth_user);
	if (s->sweep != NULL)
		event_free(s->sweep);
	if (s->store != NULL)
		store_close(s->store);
	send_lookup_free(s->lookup);
}

/* loop_init_fn: the loop's state, on its thread before it serves. */
static int
loop_init(void *arg, int i, struct event_base *base, struct err *e)
{
	struct smtp_server *s = arg;
	const struct conf *c = s->conf;
	const char *addr[3] = {c->smtp, c->smtps, c->feedback};

	if ((s->store = store_open(c->db, c->data, e)) == NULL)
		return -1;
	s->lookup = send_lookup_new();
	s->auth_addr = anvil_new(ANVIL_SLOTS, ADDR_DRAIN_MS);
	s->auth_user = anvil_new(ANVIL_SLOTS, USER_DRAIN_MS);
	s->base = base;
	struct timeval second = {1, 0};
	if ((s->sweep = event_new(base, -1, EV_PERSIST, sweep, s)) == NULL ||
	    event_add(s->sweep, &second) != 0)
		return err_set(e, 500, "InternalFailure", "smtp: cannot arm the line timer");
	s->env = (struct send_env){.store = s->store,
				   .lookup = s->lookup,
				   .shared = s->shared,
				   .base = s->base,
				   .bounce_domain = c->bounce_domain};
	for (int k = 0; k < 3; k++) {
		int fd;
		if (addr[k][0] == '\0')
			continue;
		if ((fd = net_listen(addr[k], e)) < 0)
			return -1;
		s->lst[k] = evconnlistener_new(s->base, on_accept, s, LEV_OPT_CLOSE_ON_FREE, -1, fd);
		if (s->lst[k] == NULL) {
			close(fd);
			return err_set(e, 500, "InvalidConfiguration", "cannot accept on %s",
				       addr[k]);
		}
		net_listener_guard(s->lst[k], k == 2 ? "feedback" : "smtp");
	}
	return 0;
}

struct smtp_server *
smtp_server_start(const struct conf *c, struct vault *v, const struct send_shared *sh,
		  struct err *e)
{
	struct smtp_server *s = xcalloc(1, sizeof(*s));

	s->conf = c;
	s->vault = v;
	s->shared = *sh;
	if ((s->ssl = smtp_tls_ctx(c, e)) == NULL ||
	    (s->group = loop_start("smtp", 1, loop_init, loop_free, s, e)) == NULL) {
		SSL_CTX_free(s->ssl);
		free(s);
		return NULL;
	}
	if (c->smtp[0])
		log_info("smtp: submission (STARTTLS) on %s, region %s", c->smtp, c->region[0]);
	if (c->smtps[0])
		log_info("smtp: submission (implicit TLS) on %s, region %s", c->smtps, c->region[0]);
	if (c->feedback[0])
		log_info("smtp: feedback reports (DSN, ARF) on %s for %s and verified MAIL FROM "
			 "domains",
			 c->feedback, c->bounce_domain);
	return s;
}

static void
drain_cb(void *arg, int i)
{
	struct smtp_server *s = arg;

	s->draining = true;
}

void
smtp_server_drain(struct smtp_server *s)
{
	if (s != NULL)
		loop_drain(s->group, drain_cb, s);
}

void
smtp_server_stop(struct smtp_server *s)
{
	if (s == NULL)
		return;
	loop_stop(s->group); /* loop_free runs on the loop */
	SSL_CTX_free(s->ssl);
	free(s);
}

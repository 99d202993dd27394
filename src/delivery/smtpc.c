/*
 * smtpc.c — the outbound SMTP client (smtpc.h; the state machine, the
 * timeouts and the outcome rules are drawn in docs/internals/delivery.md).
 *
 * What it owns: every job accepted by smtpc_send until its callback has
 * run, every connection (struct conn: a bufferevent, an OpenSSL filter
 * stacked on it after STARTTLS, one timer), one struct host per
 * destination address:port with a connection or a waiting job, and the
 * client SSL_CTX reference.
 *
 * Where a job is: waiting on its current target's host queue (job->host),
 * bound to a connection (job->conn), or finished on c->done until the
 * done event runs its callback. Exactly one of the three at any time.
 *
 * Invariants:
 *  1. Callbacks run only from on_done (or inside smtpc_free), never from a
 *     connection handler and never from smtpc_send; so a callback may call
 *     smtpc_send or smtpc_free freely.
 *  2. Bufferevents use deferred callbacks (BEV_OPT_DEFER_CALLBACKS): no
 *     handler runs inside bufferevent_write, so writing never re-enters.
 *  3. A handler that may free its connection returns -1 when it did; the
 *     caller then touches nothing of it.
 *  4. host->nconns counts every connection to that host in any state (also
 *     connecting and quitting): the caps are on sockets, not on work.
 *  5. Once a recipient has a final answer (RCPT 4xx/5xx, or the reply to
 *     the dot) it is never changed; a job moves to another target only
 *     while no recipient has been answered.
 */
#include "delivery/smtpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define BODY_CHUNK   (64u << 10) /* bytes handed to the bufferevent at a time */
#define BODY_LOW     (32u << 10) /* refill the output below this */
#define DEF_PER_HOST 5
#define DEF_TOTAL    100
#define DEF_IDLE_MS  3000
#define DEF_MSGS     100

/* ---- the reply parser ------------------------------------------------------- */

static bool
code_digit_ok(size_t i, char ch)
{
	switch (i) {
	case 0:
		return ch >= '2' && ch <= '5';
	case 1:
		return ch >= '0' && ch <= '5';
	default:
		return ch >= '0' && ch <= '9';
	}
}

/* A partial line (no LF yet): can it still become a valid reply line? */
static bool
prefix_ok(const char *p, size_t n, int code)
{
	for (size_t i = 0; i < n && i < 3; i++)
		if (!code_digit_ok(i, p[i]))
			return false;
	if (code != 0 && n >= 3 && (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0') != code)
		return false;
	if (n >= 4 && p[3] != ' ' && p[3] != '-' && p[3] != '\r')
		return false;
	return true;
}

/* RFC 3463 "class.subject.detail" at the start of s, class matching the
 * reply's first digit, followed by a space or the end. */
static bool
parse_status(const char *s, size_t n, int code, char *out, size_t cap)
{
	size_t i = 0, sub, det, sub_at, det_at;

	if (n < 5 || s[0] != '0' + code / 100 || s[1] != '.')
		return false;
	i = 2;
	for (sub_at = i; i < n && i - sub_at < 4 && s[i] >= '0' && s[i] <= '9'; i++)
		;
	sub = i - sub_at;
	if (sub < 1 || sub > 3 || i >= n || s[i] != '.')
		return false;
	i++;
	for (det_at = i; i < n && i - det_at < 4 && s[i] >= '0' && s[i] <= '9'; i++)
		;
	det = i - det_at;
	if (det < 1 || det > 3 || (i < n && s[i] != ' '))
		return false;
	snprintf(out, cap, "%c.%.*s.%.*s", s[0], (int)sub, s + sub_at, (int)det, s + det_at);
	return true;
}

enum smtpc_parse
smtpc_reply_parse(const char *buf, size_t len, struct smtpc_reply *r, size_t *used_out)
{
	struct smtpc_reply t;
	size_t off = 0;

	memset(&t, 0, sizeof(t));
	for (;;) {
		const char *p = buf + off, *nl;
		size_t avail = len - off, window = SMTPC_LINE_MAX + 2, ll, tl;
		bool last;

		if (avail == 0)
			return SMTPC_PARSE_MORE;
		nl = memchr(p, '\n', avail < window ? avail : window);
		if (nl == NULL) {
			if (avail >= window || off + avail > SMTPC_REPLY_BYTES_MAX ||
			    !prefix_ok(p, avail, t.code))
				return SMTPC_PARSE_ERROR;
			return SMTPC_PARSE_MORE;
		}
		ll = (size_t)(nl - p);
		tl = (ll > 0 && p[ll - 1] == '\r') ? ll - 1 : ll;
		if (tl > SMTPC_LINE_MAX || off + ll + 1 > SMTPC_REPLY_BYTES_MAX || tl < 3 ||
		    t.nlines == SMTPC_REPLY_LINES_MAX)
			return SMTPC_PARSE_ERROR;
		for (size_t i = 0; i < 3; i++)
			if (!code_digit_ok(i, p[i]))
				return SMTPC_PARSE_ERROR;
		int code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		if (t.nlines > 0 && code != t.code)
			return SMTPC_PARSE_ERROR;
		t.code = code;
		if (tl == 3 || p[3] == ' ')
			last = true;
		else if (p[3] == '-')
			last = false;
		else
			return SMTPC_PARSE_ERROR;
		if (tl + 2 > SMTPC_LINE_STRICT)
			t.overlong = true;
		t.line[t.nlines].p = p + (tl > 3 ? 4 : 3);
		t.line[t.nlines].n = tl > 3 ? tl - 4 : 0;
		t.nlines++;
		off += ll + 1;
		if (last)
			break;
	}
	t.status_parsed =
	    parse_status(t.line[0].p, t.line[0].n, t.code, t.status, sizeof(t.status));
	if (!t.status_parsed)
		snprintf(t.status, sizeof(t.status), "%d.0.0", t.code / 100);
	*r = t;
	*used_out = off;
	return SMTPC_PARSE_OK;
}

char *
smtpc_reply_text(const struct smtpc_reply *r, char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return out;
	for (size_t i = 0; i < r->nlines && o + 1 < cap; i++) {
		if (i > 0)
			out[o++] = ' ';
		for (size_t k = 0; k < r->line[i].n && o + 1 < cap; k++) {
			unsigned char ch = (unsigned char)r->line[i].p[k];
			out[o++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
		}
	}
	out[o] = '\0';
	return out;
}

static bool
keyword_is(const struct smtpc_slice *s, const char *kw, size_t *klen_out)
{
	size_t k = strlen(kw);

	if (s->n < k || strncasecmp(s->p, kw, k) != 0 || (s->n > k && s->p[k] != ' '))
		return false;
	*klen_out = k;
	return true;
}

void
smtpc_ehlo_parse(const struct smtpc_reply *r, struct smtpc_ehlo *x)
{
	size_t k;

	memset(x, 0, sizeof(*x));
	for (size_t i = 1; i < r->nlines; i++) {
		const struct smtpc_slice *s = &r->line[i];
		if (keyword_is(s, "PIPELINING", &k))
			x->pipelining = true;
		else if (keyword_is(s, "STARTTLS", &k))
			x->starttls = true;
		else if (keyword_is(s, "8BITMIME", &k))
			x->eightbitmime = true;
		else if (keyword_is(s, "ENHANCEDSTATUSCODES", &k))
			x->enhancedstatuscodes = true;
		else if (keyword_is(s, "SMTPUTF8", &k))
			x->smtputf8 = true;
		else if (keyword_is(s, "CHUNKING", &k))
			x->chunking = true;
		else if (keyword_is(s, "SIZE", &k)) {
			unsigned long v = 0;
			x->size = true;
			for (k++; k < s->n && s->p[k] >= '0' && s->p[k] <= '9'; k++) {
				unsigned d = (unsigned)(s->p[k] - '0');
				v = v > (ULONG_MAX - d) / 10 ? ULONG_MAX : v * 10 + d;
			}
			x->size_max = v;
		}
	}
}

/* ---- targets and outcomes --------------------------------------------------- */

int
smtpc_target_set(struct smtpc_target *t, const char *host, const char *ip, unsigned port)
{
	memset(t, 0, sizeof(*t));
	t->host = host;
	if (port < 1 || port > 65535 || ip == NULL)
		return -1;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&t->addr;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->addr;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		t->addrlen = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		t->addrlen = sizeof(*s6);
		return 0;
	}
	return -1;
}

const char *
smtpc_outcome_str(enum smtpc_outcome o)
{
	switch (o) {
	case SMTPC_DELIVERED:
		return "delivered";
	case SMTPC_DEFERRED:
		return "deferred";
	case SMTPC_BOUNCED:
		return "bounced";
	}
	return "unknown";
}

/* "127.0.0.1:25" / "[::1]:25"; "" for a family we do not dial. */
static void
addr_text(const struct sockaddr_storage *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	out[0] = '\0';
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(s->sin_port));
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(s->sin6_port));
	}
}

/* A reply that is not what the command wanted: 5xx bounces, anything else
 * (4xx, or a 2xx/3xx where it makes no sense) is tried again later. */
static enum smtpc_outcome
refusal(const struct smtpc_reply *r)
{
	return r->code / 100 == 5 ? SMTPC_BOUNCED : SMTPC_DEFERRED;
}

static const char *
refusal_status(const struct smtpc_reply *r)
{
	int cls = r->code / 100;
	return cls == 4 || cls == 5 ? r->status : "4.5.0";
}

static enum smtpc_outcome
outcome_of(int code)
{
	if (code >= 200 && code < 300)
		return SMTPC_DELIVERED;
	if (code >= 500 && code < 600)
		return SMTPC_BOUNCED;
	return SMTPC_DEFERRED;
}

/* ---- the message on the wire -------------------------------------------------- */

/*
 * Dot-stuff `in` (RFC 5321 §4.5.2), turn bare LF into CRLF, end the last
 * line and append ".\r\n". With out == NULL only count. Returns the length.
 */
static size_t
stuff(const char *in, size_t len, char *out, bool *eightbit)
{
	size_t o = 0;
	bool bol = true;

#define PUT(ch)                                                                                    \
	do {                                                                                       \
		if (out != NULL)                                                                   \
			out[o] = (ch);                                                             \
		o++;                                                                               \
	} while (0)
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (bol && ch == '.')
			PUT('.');
		bol = false;
		if (ch == '\n') {
			if (i == 0 || in[i - 1] != '\r')
				PUT('\r');
			PUT('\n');
			bol = true;
			continue;
		}
		if (ch & 0x80)
			*eightbit = true;
		PUT((char)ch);
	}
	if (!bol) {
		PUT('\r');
		PUT('\n');
	}
	PUT('.');
	PUT('\r');
	PUT('\n');
#undef PUT
	return o;
}

/* ---- the client's objects -------------------------------------------------- */

enum cstate {
	C_CONNECTING, /* TCP connect in progress */
	C_GREETING,   /* connected, waiting for 220 */
	C_EHLO,       /* EHLO sent */
	C_HELO,       /* EHLO refused, HELO sent */
	C_STARTTLS,   /* STARTTLS sent */
	C_HANDSHAKE,  /* TLS handshake running */
	C_EHLO_TLS,   /* EHLO sent again over TLS */
	C_TX,         /* RSET / MAIL / RCPT... / DATA sent, replies expected */
	C_BODY,       /* the message is being written; then the reply to the dot */
	C_IDLE,       /* between messages, kept for reuse */
	C_QUIT,       /* QUIT sent, waiting for 221 or the close */
};

static const char *const state_what[] = {
    [C_CONNECTING] = "connecting to",
    [C_GREETING] = "waiting for the greeting from",
    [C_EHLO] = "after EHLO to",
    [C_HELO] = "after HELO to",
    [C_STARTTLS] = "after STARTTLS to",
    [C_HANDSHAKE] = "during the TLS handshake with",
    [C_EHLO_TLS] = "after EHLO to",
    [C_TX] = "during the transaction with",
    [C_BODY] = "after sending the message to",
    [C_IDLE] = "idle with",
    [C_QUIT] = "after QUIT to",
};

enum rstate { R_NONE, R_ACCEPTED, R_FINAL };

/* A target failure kept for the job's final result. */
struct failure {
	bool set;
	int code;
	char status[16];
	bool local;
	char text[SMTPC_TEXT_MAX];
	char remote[SMTPC_REMOTE_MAX];
	char host[SMTPC_HOST_MAX + 1];
};

struct host;
struct conn;

struct job {
	struct smtpc *c;
	struct job *prev, *next; /* on host->wait or c->done */
	struct host *host;       /* waiting there */
	struct conn *conn;       /* bound there */
	bool done;               /* on c->done */
	struct smtpc_target *targets;
	char **target_host; /* owned copies of targets[i].host */
	size_t ntargets, cur;
	char *mail_from;
	char **rcpt;
	size_t nrcpt;
	char *wire; /* dot-stuffed message with ".\r\n" */
	size_t wire_len, size;
	bool eightbit;
	smtpc_done_fn cb;
	void *arg;
	struct smtpc_rcpt_result *res;
	enum rstate *rst;
	bool tls;
	bool fresh_retry; /* already retried once after a dead reused connection */
	unsigned attempts;
	struct failure temp, perm; /* last temporary and permanent target failure */
};

struct host {
	struct host *next;
	char key[SMTPC_REMOTE_MAX]; /* address:port */
	unsigned nconns;
	struct conn *conns; /* via conn->hnext */
	struct job *wait_head, *wait_tail;
};

struct conn {
	struct smtpc *c;
	struct conn *prev, *next;   /* c->conns */
	struct conn *hprev, *hnext; /* host->conns */
	struct host *host;
	struct bufferevent *bev;
	struct event *timer;
	enum cstate st;
	char remote[SMTPC_REMOTE_MAX];
	char hostname[SMTPC_HOST_MAX + 1];
	struct smtpc_ehlo caps;
	bool tls;
	unsigned msgs;
	struct job *job;
	/* the transaction */
	bool rset; /* begins with RSET (a reused connection) */
	bool pipelined;
	size_t ncmds, sent, got;
	int mail_ok; /* -1 unknown, 0 refused, 1 accepted */
	int mail_code;
	bool mail_bounce;
	char mail_status[16];
	char mail_text[SMTPC_TEXT_MAX];
	size_t naccepted, nanswered;
	bool dummy_dot; /* DATA got 354 with nobody accepted: "." alone */
	size_t body_off;
	bool dot_timer;
};

struct smtpc {
	struct event_base *base;
	char helo[SMTPC_HOST_MAX + 1];
	enum smtpc_tls tls;
	SSL_CTX *ssl;
	double scale;
	unsigned max_per_host, max_total, idle_ms, max_msgs;
	struct host *hosts;
	struct conn *conns;
	unsigned nconns, nquitting, nrunning, nwaiting;
	struct job *done_head, *done_tail;
	struct event *kick, *done_ev;
	bool freeing;
	bool *gone; /* set while on_done runs: smtpc_free tells it the client is gone */
	unsigned long opened, reused;
};

/* ---- small helpers --------------------------------------------------------- */

static void
arm_ms(struct conn *k, double ms)
{
	struct timeval tv;

	if (ms < 1)
		ms = 1;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms - (double)tv.tv_sec * 1000) * 1000);
	evtimer_add(k->timer, &tv);
}

static void
arm(struct conn *k, unsigned secs)
{
	arm_ms(k, secs * 1000.0 * k->c->scale);
}

static void
kick(struct smtpc *c)
{
	if (!c->freeing)
		event_active(c->kick, EV_TIMEOUT, 1);
}

static void
conn_write(struct conn *k, const char *s, size_t n)
{
	bufferevent_write(k->bev, s, n);
}

static void
conn_puts(struct conn *k, const char *s)
{
	conn_write(k, s, strlen(s));
}

static void
fill_res(struct smtpc_rcpt_result *res, enum smtpc_outcome o, int code, const char *status,
         bool local, const char *text, const char *remote, const char *host)
{
	res->outcome = o;
	res->code = code;
	snprintf(res->status, sizeof(res->status), "%s", status);
	res->local = local;
	snprintf(res->text, sizeof(res->text), "%s", text);
	snprintf(res->remote, sizeof(res->remote), "%s", remote);
	snprintf(res->host, sizeof(res->host), "%s", host);
}

/* Give recipient i of k's job its final answer (invariant 5: only once). */
static void
rcpt_final(struct conn *k, size_t i, enum smtpc_outcome o, int code, const char *status, bool local,
           const char *text)
{
	struct job *j = k->job;

	if (j->rst[i] == R_FINAL)
		return;
	j->rst[i] = R_FINAL;
	fill_res(&j->res[i], o, code, status, local, text, k->remote, k->hostname);
}

/* ---- hosts ------------------------------------------------------------------- */

static struct host *
host_get(struct smtpc *c, const struct smtpc_target *t)
{
	char key[SMTPC_REMOTE_MAX];
	struct host *h, **pp;

	addr_text(&t->addr, key, sizeof(key));
	for (pp = &c->hosts; (h = *pp) != NULL; pp = &h->next)
		if (strcmp(h->key, key) == 0)
			return h;
	h = xcalloc(1, sizeof(*h));
	snprintf(h->key, sizeof(h->key), "%s", key);
	*pp = h; /* appended: a dispatch pass running now reaches it too */
	return h;
}

static void
host_gc(struct smtpc *c)
{
	struct host **pp = &c->hosts, *h;

	while ((h = *pp) != NULL) {
		if (h->nconns == 0 && h->wait_head == NULL) {
			*pp = h->next;
			free(h);
		} else {
			pp = &h->next;
		}
	}
}

static void
wait_push(struct host *h, struct job *j, bool front)
{
	j->host = h;
	j->prev = j->next = NULL;
	if (front) {
		j->next = h->wait_head;
		if (h->wait_head != NULL)
			h->wait_head->prev = j;
		else
			h->wait_tail = j;
		h->wait_head = j;
	} else {
		j->prev = h->wait_tail;
		if (h->wait_tail != NULL)
			h->wait_tail->next = j;
		else
			h->wait_head = j;
		h->wait_tail = j;
	}
	j->c->nwaiting++;
}

static struct job *
wait_pop(struct host *h)
{
	struct job *j = h->wait_head;

	if (j == NULL)
		return NULL;
	h->wait_head = j->next;
	if (h->wait_head != NULL)
		h->wait_head->prev = NULL;
	else
		h->wait_tail = NULL;
	j->next = j->prev = NULL;
	j->host = NULL;
	j->c->nwaiting--;
	return j;
}

/* Queue j for its current target (front: it has waited already). */
static void
job_enqueue(struct job *j, bool front)
{
	wait_push(host_get(j->c, &j->targets[j->cur]), j, front);
	kick(j->c);
}

/* ---- finishing jobs ------------------------------------------------------------ */

static void
job_free(struct job *j)
{
	for (size_t i = 0; i < j->ntargets; i++)
		free(j->target_host[i]);
	free(j->target_host);
	free(j->targets);
	free(j->mail_from);
	for (size_t i = 0; i < j->nrcpt; i++)
		free(j->rcpt[i]);
	free(j->rcpt);
	free(j->wire);
	free(j->res);
	free(j->rst);
	free(j);
}

/* j is on no list and bound to nothing: hand it to the done event. */
static void
job_finish(struct job *j)
{
	struct smtpc *c = j->c;

	j->done = true;
	j->prev = c->done_tail;
	j->next = NULL;
	if (c->done_tail != NULL)
		c->done_tail->next = j;
	else
		c->done_head = j;
	c->done_tail = j;
	if (!c->freeing)
		event_active(c->done_ev, EV_TIMEOUT, 1);
}

static void
run_callback(struct job *j)
{
	struct smtpc_result r = {
	    .nrcpt = j->nrcpt,
	    .rcpt = (const char *const *)j->rcpt,
	    .res = j->res,
	    .tls = j->tls,
	    .attempts = j->attempts,
	};
	j->cb(j->arg, &r);
}

static struct job *
done_pop(struct smtpc *c)
{
	struct job *j = c->done_head;

	if (j != NULL) {
		c->done_head = j->next;
		if (c->done_head == NULL)
			c->done_tail = NULL;
		j->next = NULL;
	}
	return j;
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;
	struct job *j;
	bool gone = false;

	c->gone = &gone;
	while ((j = done_pop(c)) != NULL) {
		run_callback(j);
		job_free(j);
		if (gone)
			return; /* smtpc_free ran inside the callback and did the rest */
	}
	c->gone = NULL;
}

/* Every recipient without a final answer gets `f`. */
static void
job_fill_rest(struct job *j, enum smtpc_outcome o, const struct failure *f)
{
	for (size_t i = 0; i < j->nrcpt; i++) {
		if (j->rst[i] == R_FINAL)
			continue;
		j->rst[i] = R_FINAL;
		fill_res(&j->res[i], o, f->code, f->status, f->local, f->text, f->remote, f->host);
	}
}

/*
 * The job's current target failed before any recipient was answered:
 * remember why, then the next target, or the end: DEFERRED with the last
 * temporary reason if any target failed temporarily, else BOUNCED with the
 * last permanent answer.
 */
static void
job_target_failed(struct job *j, const struct failure *f, bool permanent)
{
	if (permanent)
		j->perm = *f;
	else
		j->temp = *f;
	if (++j->cur < j->ntargets) {
		j->fresh_retry = false;
		job_enqueue(j, true);
		return;
	}
	if (j->temp.set)
		job_fill_rest(j, SMTPC_DEFERRED, &j->temp);
	else
		job_fill_rest(j, SMTPC_BOUNCED, &j->perm);
	job_finish(j);
}

static void failure_local(struct failure *f, const struct conn *k, int code, const char *status,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
failure_local(struct failure *f, const struct conn *k, int code, const char *status,
              const char *fmt, ...)
{
	va_list ap;
	size_t n;

	memset(f, 0, sizeof(*f));
	f->set = true;
	f->code = code;
	f->local = true;
	snprintf(f->status, sizeof(f->status), "%s", status);
	n = (size_t)snprintf(f->text, sizeof(f->text), "%s ", status);
	va_start(ap, fmt);
	if (n < sizeof(f->text))
		vsnprintf(f->text + n, sizeof(f->text) - n, fmt, ap);
	va_end(ap);
	snprintf(f->remote, sizeof(f->remote), "%s", k->remote);
	snprintf(f->host, sizeof(f->host), "%s", k->hostname);
}

static void
failure_reply(struct failure *f, const struct conn *k, const struct smtpc_reply *r)
{
	memset(f, 0, sizeof(*f));
	f->set = true;
	f->code = r->code;
	snprintf(f->status, sizeof(f->status), "%s", r->status);
	smtpc_reply_text(r, f->text, sizeof(f->text));
	snprintf(f->remote, sizeof(f->remote), "%s", k->remote);
	snprintf(f->host, sizeof(f->host), "%s", k->hostname);
}

/* ---- connections ------------------------------------------------------------ */

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);

/* Close and free k; its job must have been detached. */
static void
conn_free(struct conn *k)
{
	struct smtpc *c = k->c;
	struct host *h = k->host;

	if (k->job != NULL)
		abort(); /* our invariant: a job is never dropped with its connection */
	if (k->bev != NULL)
		bufferevent_free(k->bev);
	event_free(k->timer);
	if (k->st == C_QUIT)
		c->nquitting--;
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		c->conns = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	if (k->hprev != NULL)
		k->hprev->hnext = k->hnext;
	else
		h->conns = k->hnext;
	if (k->hnext != NULL)
		k->hnext->hprev = k->hprev;
	h->nconns--;
	c->nconns--;
	free(k);
	kick(c);
}

static struct job *
conn_detach(struct conn *k)
{
	struct job *j = k->job;

	if (j != NULL) {
		k->job = NULL;
		j->conn = NULL;
		k->c->nrunning--;
	}
	return j;
}

/* k failed before its job's recipients were answered: the job moves on. */
static void
conn_target_failed(struct conn *k, const struct failure *f, bool permanent)
{
	struct job *j = conn_detach(k);

	if (k->st >= C_GREETING)
		log_debug("smtpc %s (%s): %s", k->remote, k->hostname, f->text);
	conn_free(k);
	if (j != NULL)
		job_target_failed(j, f, permanent);
}

static void
set_state(struct conn *k, enum cstate st)
{
	if (k->st == C_QUIT)
		k->c->nquitting--;
	if (st == C_QUIT)
		k->c->nquitting++;
	k->st = st;
}

static void
conn_quit(struct conn *k)
{
	set_state(k, C_QUIT);
	conn_puts(k, "QUIT\r\n");
	arm(k, SMTPC_T_QUIT);
}

/* MAIL FROM was refused: that answer is every recipient's. */
static void
mail_refused_fill(struct conn *k)
{
	for (size_t i = 0; i < k->job->nrcpt; i++)
		rcpt_final(k, i, k->mail_bounce ? SMTPC_BOUNCED : SMTPC_DEFERRED, k->mail_code,
		           k->mail_status, false, k->mail_text);
}

/*
 * The connection broke (lost, timed out, 421, unreadable reply) while it
 * held a transaction or was setting up for one. Before any recipient was
 * answered this is a target failure (or, on a reused connection that never
 * answered, one retry on a fresh connection to the same target); after,
 * every recipient without a final answer is DEFERRED with `f`.
 */
static void
conn_broken(struct conn *k, const struct failure *f)
{
	struct job *j;

	if (k->job == NULL || k->st == C_IDLE || k->st == C_QUIT) {
		conn_detach(k);
		conn_free(k);
		return;
	}
	if (k->st < C_TX || k->nanswered == 0) {
		j = k->job;
		if (k->rset && k->got == 0 && !j->fresh_retry) {
			/* a kept connection died under us: not the target's fault */
			conn_detach(k);
			conn_free(k);
			j->fresh_retry = true;
			job_enqueue(j, true);
			return;
		}
		conn_target_failed(k, f, false);
		return;
	}
	if (k->mail_ok == 0)
		mail_refused_fill(k);
	j = conn_detach(k);
	job_fill_rest(j, SMTPC_DEFERRED, f);
	conn_free(k);
	job_finish(j);
}

/* "<what> <stage> <remote>[: <detail>]", e.g. "timeout after EHLO to 127.0.0.1:25". */
static void
conn_broken_local(struct conn *k, const char *status, const char *what, const char *detail)
{
	struct failure f;

	failure_local(&f, k, 451, status, "%s %s %s%s%s", what, state_what[k->st], k->remote,
	              detail != NULL ? ": " : "", detail != NULL ? detail : "");
	conn_broken(k, &f);
}

static struct conn *
conn_new(struct smtpc *c, struct host *h, struct job *j)
{
	struct conn *k = xcalloc(1, sizeof(*k));
	const struct smtpc_target *t = &j->targets[j->cur];

	k->c = c;
	k->host = h;
	k->st = C_CONNECTING;
	snprintf(k->remote, sizeof(k->remote), "%s", h->key);
	snprintf(k->hostname, sizeof(k->hostname), "%s", t->host != NULL ? t->host : "");
	k->next = c->conns;
	if (c->conns != NULL)
		c->conns->prev = k;
	c->conns = k;
	k->hnext = h->conns;
	if (h->conns != NULL)
		h->conns->hprev = k;
	h->conns = k;
	h->nconns++;
	c->nconns++;
	c->opened++;
	k->timer = evtimer_new(c->base, on_timer, k);
	if (k->timer == NULL)
		abort(); /* out of memory */
	k->job = j;
	j->conn = k;
	j->attempts++;
	c->nrunning++;
	return k;
}

static void
conn_open(struct smtpc *c, struct host *h, struct job *j)
{
	const struct smtpc_target *t = &j->targets[j->cur];
	struct conn *k = conn_new(c, h, j);
	struct failure f;

	k->bev =
	    bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (k->bev == NULL)
		abort(); /* out of memory */
	bufferevent_setcb(k->bev, on_read, on_write, on_event, k);
	arm(k, SMTPC_T_GREETING);
	if (bufferevent_socket_connect(k->bev, (const struct sockaddr *)&t->addr,
	                               (int)t->addrlen) != 0) {
		int en = errno;
		failure_local(&f, k, 451, "4.4.1", "cannot connect to %s: %s", k->remote,
		              strerror(en));
		conn_target_failed(k, &f, false);
		return;
	}
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
}

/* ---- the transaction ---------------------------------------------------------- */

enum cmd { CMD_RSET, CMD_MAIL, CMD_RCPT, CMD_DATA };

static enum cmd
cmd_at(const struct conn *k, size_t idx, size_t *rcpt_out)
{
	size_t r = k->rset ? 1 : 0;

	if (k->rset && idx == 0)
		return CMD_RSET;
	if (idx == r)
		return CMD_MAIL;
	if (idx == k->ncmds - 1)
		return CMD_DATA;
	*rcpt_out = idx - r - 1;
	return CMD_RCPT;
}

static void
cmd_format(const struct conn *k, size_t idx, struct buf *b)
{
	const struct job *j = k->job;
	size_t ri = 0;

	switch (cmd_at(k, idx, &ri)) {
	case CMD_RSET:
		buf_puts(b, "RSET\r\n");
		break;
	case CMD_MAIL:
		buf_printf(b, "MAIL FROM:<%s>", j->mail_from);
		if (k->caps.size)
			buf_printf(b, " SIZE=%zu", j->size);
		if (k->caps.eightbitmime && j->eightbit)
			buf_puts(b, " BODY=8BITMIME");
		buf_puts(b, "\r\n");
		break;
	case CMD_RCPT:
		buf_printf(b, "RCPT TO:<%s>\r\n", j->rcpt[ri]);
		break;
	case CMD_DATA:
		buf_puts(b, "DATA\r\n");
		break;
	}
}

/* Send commands [k->sent, upto) in one write. */
static void
tx_send(struct conn *k, size_t upto)
{
	struct buf b;

	buf_init(&b, 0);
	for (; k->sent < upto; k->sent++)
		cmd_format(k, k->sent, &b);
	conn_write(k, b.data, b.len);
	buf_free(&b);
}

static void
tx_arm(struct conn *k)
{
	size_t ri;

	arm(k, cmd_at(k, k->got, &ri) == CMD_DATA ? SMTPC_T_DATA : SMTPC_T_COMMAND);
}

static void
tx_start(struct conn *k, bool rset)
{
	k->rset = rset;
	k->pipelined = k->caps.pipelining;
	k->ncmds = (rset ? 1 : 0) + 1 + k->job->nrcpt + 1;
	k->sent = k->got = 0;
	k->mail_ok = -1;
	k->naccepted = k->nanswered = 0;
	k->dummy_dot = false;
	k->body_off = 0;
	k->dot_timer = false;
	set_state(k, C_TX);
	tx_send(k, k->pipelined ? k->ncmds : 1);
	tx_arm(k);
}

/* The transaction is over: every recipient answered; the connection stays. */
static void
tx_end(struct conn *k)
{
	struct smtpc *c = k->c;
	struct failure f;
	struct job *j;

	if (k->mail_ok == 0)
		mail_refused_fill(k);
	j = conn_detach(k);
	failure_local(&f, k, 451, "4.5.0", "no reply for this recipient from %s", k->remote);
	job_fill_rest(j, SMTPC_DEFERRED, &f); /* defensive: all are final by now */
	j->tls = k->tls;
	job_finish(j);
	k->msgs++;
	if (k->msgs >= c->max_msgs) {
		conn_quit(k);
		return;
	}
	set_state(k, C_IDLE);
	arm_ms(k, c->idle_ms);
	kick(c);
}

static void
body_pump(struct conn *k)
{
	struct job *j = k->job;
	struct evbuffer *out = bufferevent_get_output(k->bev);

	while (k->body_off < j->wire_len && evbuffer_get_length(out) < BODY_LOW + BODY_CHUNK) {
		size_t n = j->wire_len - k->body_off;
		if (n > BODY_CHUNK)
			n = BODY_CHUNK;
		conn_write(k, j->wire + k->body_off, n);
		k->body_off += n;
	}
	if (k->body_off < j->wire_len) {
		arm(k, SMTPC_T_BLOCK);
		return;
	}
	if (evbuffer_get_length(out) == 0) {
		if (!k->dot_timer) {
			k->dot_timer = true;
			arm(k, SMTPC_T_DOT);
		}
		return;
	}
	bufferevent_setwatermark(k->bev, EV_WRITE, 0, 0); /* a callback once all is out */
	arm(k, SMTPC_T_BLOCK);
}

static void
body_start(struct conn *k)
{
	set_state(k, C_BODY);
	if (k->dummy_dot) {
		conn_puts(k, ".\r\n");
		arm(k, SMTPC_T_DOT);
		return;
	}
	bufferevent_setwatermark(k->bev, EV_WRITE, BODY_LOW, 0);
	body_pump(k);
}

/* The reply to the final dot (or an early one while writing). */
static int
body_reply(struct conn *k, const struct smtpc_reply *r)
{
	struct job *j = k->job;
	char text[SMTPC_TEXT_MAX];
	bool early =
	    k->body_off < j->wire_len || evbuffer_get_length(bufferevent_get_output(k->bev)) > 0;

	smtpc_reply_text(r, text, sizeof(text));
	if (!k->dummy_dot) {
		enum smtpc_outcome o = outcome_of(r->code);
		const char *status = r->status;
		if (r->code < 200 || (r->code >= 300 && r->code < 400))
			status = "4.5.0"; /* a 3xx to the dot: nonsense, try again later */
		for (size_t i = 0; i < j->nrcpt; i++)
			if (j->rst[i] == R_ACCEPTED)
				rcpt_final(k, i, o, r->code, status, false, text);
	}
	if (early || r->code == 421) {
		struct job *jj = conn_detach(k);
		struct failure f;
		failure_reply(&f, k, r);
		job_fill_rest(jj, SMTPC_DEFERRED, &f);
		jj->tls = k->tls;
		conn_free(k);
		job_finish(jj);
		return -1;
	}
	bufferevent_setwatermark(k->bev, EV_WRITE, 0, 0);
	tx_end(k);
	return 0;
}

/* The reply to command k->got of the transaction. Returns -1 if k is gone. */
static int
tx_reply(struct conn *k, const struct smtpc_reply *r)
{
	struct job *j = k->job;
	size_t ri = 0;
	enum cmd cmd;
	char text[SMTPC_TEXT_MAX];
	struct failure f;

	if (k->got >= k->sent) {
		failure_reply(&f, k, r);
		conn_broken(k, &f); /* a reply nobody asked for */
		return -1;
	}
	cmd = cmd_at(k, k->got, &ri);
	k->got++;
	if (r->code == 421) {
		/* the server is closing: whatever is unanswered gets this */
		failure_reply(&f, k, r);
		conn_broken(k, &f);
		return -1;
	}
	smtpc_reply_text(r, text, sizeof(text));
	switch (cmd) {
	case CMD_RSET:
		if (r->code / 100 != 2) {
			failure_reply(&f, k, r);
			conn_broken(k, &f);
			return -1;
		}
		break;
	case CMD_MAIL:
		k->mail_ok = r->code / 100 == 2;
		if (!k->mail_ok) {
			k->mail_code = r->code;
			snprintf(k->mail_status, sizeof(k->mail_status), "%s", refusal_status(r));
			snprintf(k->mail_text, sizeof(k->mail_text), "%s", text);
			k->mail_bounce = refusal(r) == SMTPC_BOUNCED;
			/* the sender's answer is every recipient's answer */
			k->nanswered = j->nrcpt;
		}
		break;
	case CMD_RCPT:
		if (k->mail_ok != 1)
			break; /* pipelined after a refused MAIL: 503s, ignored */
		k->nanswered++;
		if (r->code / 100 == 2) {
			j->rst[ri] = R_ACCEPTED;
			k->naccepted++;
		} else {
			rcpt_final(k, ri, refusal(r), r->code, refusal_status(r), false, text);
		}
		break;
	case CMD_DATA:
		if (r->code / 100 == 3) {
			k->dummy_dot = k->mail_ok != 1 || k->naccepted == 0;
			body_start(k);
			return 0;
		}
		if (k->mail_ok == 1)
			for (size_t i = 0; i < j->nrcpt; i++)
				if (j->rst[i] == R_ACCEPTED)
					rcpt_final(k, i, refusal(r), r->code, refusal_status(r),
					           false, text);
		tx_end(k);
		return 0;
	}
	if (k->got < k->sent) {
		tx_arm(k);
		return 0; /* pipelined: more replies to come */
	}
	/* lock-step: the next command, or the end */
	if (k->mail_ok == 0) {
		tx_end(k);
		return 0;
	}
	if (cmd_at(k, k->sent, &ri) == CMD_DATA && k->naccepted == 0) {
		tx_end(k);
		return 0;
	}
	tx_send(k, k->sent + 1);
	tx_arm(k);
	return 0;
}

/* ---- session setup ---------------------------------------------------------------- */

static void
send_ehlo(struct conn *k, enum cstate st)
{
	char line[SMTPC_HOST_MAX + 16];

	set_state(k, st);
	snprintf(line, sizeof(line), "%s %s\r\n", st == C_HELO ? "HELO" : "EHLO", k->c->helo);
	conn_puts(k, line);
	arm(k, SMTPC_T_COMMAND);
}

/* Setup is done: the bound job's transaction starts. -1 if k is gone. */
static int
conn_ready(struct conn *k)
{
	if (k->c->tls == SMTPC_TLS_REQUIRED && !k->tls) {
		struct failure f;
		failure_local(&f, k, 451, "4.7.4", "TLS is required, but was not offered by %s",
		              k->remote);
		conn_target_failed(k, &f, false);
		return -1;
	}
	tx_start(k, false);
	return 0;
}

static bool
is_ip_literal(const char *s)
{
	unsigned char tmp[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

static void
conn_upgrade(struct conn *k)
{
	struct evbuffer *in = bufferevent_get_input(k->bev);
	struct bufferevent *tls;
	SSL *ssl;

	/* bytes after the 220 were sent in the clear: never read them as TLS data */
	evbuffer_drain(in, evbuffer_get_length(in));
	if ((ssl = SSL_new(k->c->ssl)) == NULL)
		abort(); /* out of memory */
	if (k->hostname[0] != '\0' && !is_ip_literal(k->hostname))
		SSL_set_tlsext_host_name(ssl, k->hostname);
	tls = bufferevent_openssl_filter_new(k->c->base, k->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (tls == NULL)
		abort(); /* out of memory (the filter frees ssl on failure) */
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	k->bev = tls;
	bufferevent_setcb(tls, on_read, on_write, on_event, k);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	set_state(k, C_HANDSHAKE);
	arm(k, SMTPC_T_COMMAND);
}

/* A reply during setup. Returns -1 if k is gone. */
static int
setup_reply(struct conn *k, const struct smtpc_reply *r)
{
	struct failure f;
	int cls = r->code / 100;

	switch (k->st) {
	case C_GREETING:
		if (cls == 2) {
			send_ehlo(k, C_EHLO);
			return 0;
		}
		failure_reply(&f, k, r);
		conn_target_failed(k, &f, cls == 5);
		return -1;
	case C_EHLO:
	case C_EHLO_TLS:
		if (cls == 2) {
			smtpc_ehlo_parse(r, &k->caps);
			if (k->st == C_EHLO && k->c->tls != SMTPC_TLS_NONE && k->caps.starttls) {
				set_state(k, C_STARTTLS);
				conn_puts(k, "STARTTLS\r\n");
				arm(k, SMTPC_T_COMMAND);
				return 0;
			}
			return conn_ready(k);
		}
		if (r->code != 421 && k->st == C_EHLO) {
			send_ehlo(k, C_HELO); /* an old server: RFC 5321 §3.2 */
			return 0;
		}
		failure_reply(&f, k, r);
		conn_target_failed(k, &f, cls == 5 && r->code != 421);
		return -1;
	case C_HELO:
		if (cls == 2) {
			memset(&k->caps, 0, sizeof(k->caps));
			return conn_ready(k);
		}
		failure_reply(&f, k, r);
		conn_target_failed(k, &f, cls == 5);
		return -1;
	case C_STARTTLS:
		if (r->code == 220) {
			conn_upgrade(k);
			return 0;
		}
		if (k->c->tls == SMTPC_TLS_REQUIRED || r->code == 421) {
			char text[SMTPC_TEXT_MAX];
			smtpc_reply_text(r, text, sizeof(text));
			failure_local(&f, k, 451, "4.7.4", "STARTTLS refused by %s: %d %s",
			              k->remote, r->code, text);
			conn_target_failed(k, &f, false);
			return -1;
		}
		/* opportunistic: carry on in the clear, as Postfix "may" does */
		k->caps.starttls = false;
		return conn_ready(k);
	default:
		abort(); /* our invariant: only setup states come here */
	}
}

/* ---- event handlers ------------------------------------------------------------ */

/* One reply for k. Returns -1 if k is gone. */
static int
conn_reply(struct conn *k, const struct smtpc_reply *r)
{
	switch (k->st) {
	case C_GREETING:
	case C_EHLO:
	case C_HELO:
	case C_STARTTLS:
	case C_EHLO_TLS:
		return setup_reply(k, r);
	case C_TX:
		return tx_reply(k, r);
	case C_BODY:
		return body_reply(k, r);
	case C_QUIT:
	case C_IDLE: /* e.g. a 421 while kept: the server is done with us */
	case C_CONNECTING:
	case C_HANDSHAKE:
		conn_detach(k);
		conn_free(k);
		return -1;
	}
	return 0;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t len = evbuffer_get_length(in), used = 0;
		struct smtpc_reply r;
		enum smtpc_parse p;
		const char *data;

		if (len == 0)
			return;
		if (len > SMTPC_REPLY_BYTES_MAX + 1)
			len = SMTPC_REPLY_BYTES_MAX + 1;
		data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
		p = smtpc_reply_parse(data, len, &r, &used);
		if (p == SMTPC_PARSE_MORE)
			return;
		if (p == SMTPC_PARSE_ERROR) {
			conn_broken_local(k, "4.5.0", "unreadable reply", NULL);
			return;
		}
		/* copy out of the buffer before draining: r's slices point into it */
		char text_copy[SMTPC_REPLY_BYTES_MAX + 1];
		memcpy(text_copy, data, used);
		for (size_t i = 0; i < r.nlines; i++)
			r.line[i].p = text_copy + (r.line[i].p - data);
		evbuffer_drain(in, used);
		if (conn_reply(k, &r) != 0)
			return;
		if (k->st == C_HANDSHAKE)
			return; /* input now belongs to the TLS filter */
	}
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct conn *k = arg;

	if (k->st == C_BODY && !k->dummy_dot)
		body_pump(k);
}

static void
tls_error_text(struct bufferevent *bev, char *out, size_t cap)
{
	unsigned long e = bufferevent_get_openssl_error(bev);

	if (e != 0)
		ERR_error_string_n(e, out, cap);
	else
		snprintf(out, cap, "%s", "connection closed");
	while (bufferevent_get_openssl_error(bev) != 0)
		;
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *k = arg;
	struct failure f;
	int en = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		if (k->st == C_CONNECTING) {
			set_state(k, C_GREETING);
			arm(k, SMTPC_T_GREETING);
		} else if (k->st == C_HANDSHAKE) {
			k->tls = true;
			send_ehlo(k, C_EHLO_TLS);
		}
		return;
	}
	if (!(what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)))
		return;
	if (k->st == C_CONNECTING) {
		if (en == ECONNREFUSED)
			failure_local(&f, k, 451, "4.4.1", "connection refused by %s", k->remote);
		else
			failure_local(&f, k, 451, "4.4.1", "cannot connect to %s: %s", k->remote,
			              en != 0 ? strerror(en) : "connection failed");
		conn_target_failed(k, &f, false);
		return;
	}
	if (k->st == C_HANDSHAKE) {
		char why[256];
		tls_error_text(bev, why, sizeof(why));
		failure_local(&f, k, 451, "4.7.5", "TLS handshake with %s failed: %s", k->remote,
		              why);
		conn_target_failed(k, &f, false);
		return;
	}
	if (k->st == C_IDLE || k->st == C_QUIT) {
		conn_detach(k);
		conn_free(k);
		return;
	}
	if (what & BEV_EVENT_EOF)
		conn_broken_local(k, "4.4.2", "connection closed", NULL);
	else
		conn_broken_local(k, "4.4.2", "connection lost",
		                  en == ECONNRESET ? "connection reset by peer"
		                  : en != 0        ? strerror(en)
		                                   : "error");
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;
	struct failure f;

	switch (k->st) {
	case C_IDLE:
		conn_quit(k);
		return;
	case C_QUIT:
		conn_free(k);
		return;
	case C_CONNECTING:
		failure_local(&f, k, 451, "4.4.1", "connection to %s timed out", k->remote);
		conn_target_failed(k, &f, false);
		return;
	default:
		conn_broken_local(k, k->st == C_GREETING ? "4.4.1" : "4.4.2", "timeout", NULL);
	}
}

/* ---- dispatch --------------------------------------------------------------------- */

static struct conn *
host_idle(struct host *h)
{
	for (struct conn *k = h->conns; k != NULL; k = k->hnext)
		if (k->st == C_IDLE && k->job == NULL)
			return k;
	return NULL;
}

static struct conn *
any_idle(struct smtpc *c)
{
	for (struct conn *k = c->conns; k != NULL; k = k->next)
		if (k->st == C_IDLE && k->job == NULL)
			return k;
	return NULL;
}

/*
 * Give waiting jobs connections: an idle one to the same address:port
 * first (RSET, then the transaction), else a new one within the caps.
 * When only the total cap stands in the way, an idle connection to
 * another host is QUIT to make room (once per waiting host while
 * connections are already quitting).
 */
static void
dispatch(struct smtpc *c)
{
	unsigned freeing = c->nquitting;

	/* fairness across hosts: start one host later each time */
	if (c->hosts != NULL && c->hosts->next != NULL) {
		struct host *first = c->hosts, *last = c->hosts;
		while (last->next != NULL)
			last = last->next;
		c->hosts = first->next;
		first->next = NULL;
		last->next = first;
	}
	for (struct host *h = c->hosts; h != NULL; h = h->next) {
		while (h->wait_head != NULL) {
			struct conn *idle = host_idle(h);
			struct job *j;
			if (idle != NULL) {
				j = wait_pop(h);
				evtimer_del(idle->timer);
				/* same address:port, maybe another name for it */
				snprintf(idle->hostname, sizeof(idle->hostname), "%s",
				         j->targets[j->cur].host);
				idle->job = j;
				j->conn = idle;
				j->attempts++;
				c->nrunning++;
				c->reused++;
				tx_start(idle, true);
				continue;
			}
			if (h->nconns >= c->max_per_host)
				break;
			if (c->nconns >= c->max_total) {
				if (freeing > 0) {
					freeing--;
					break;
				}
				struct conn *victim = any_idle(c);
				if (victim != NULL)
					conn_quit(victim);
				break;
			}
			j = wait_pop(h);
			conn_open(c, h, j);
		}
	}
	host_gc(c);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	dispatch(arg);
}

/* ---- public ------------------------------------------------------------------------ */

static SSL_CTX *
client_ctx(struct err *e)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		char buf[256];
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		err_set(e, 500, "InvalidConfiguration", "outbound TLS context: %s", buf);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

struct smtpc *
smtpc_new(struct event_base *base, const struct smtpc_conf *conf, struct err *e)
{
	struct smtpc *c;
	const char *helo = conf->helo != NULL && conf->helo[0] != '\0' ? conf->helo : "localhost";

	for (const char *p = helo; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			err_set(e, 400, "InvalidConfiguration", "bad HELO name");
			return NULL;
		}
	if (strlen(helo) > SMTPC_HOST_MAX) {
		err_set(e, 400, "InvalidConfiguration", "HELO name too long");
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	snprintf(c->helo, sizeof(c->helo), "%s", helo);
	c->tls = conf->tls;
	if (conf->ssl != NULL) {
		SSL_CTX_up_ref(conf->ssl);
		c->ssl = conf->ssl;
	} else if (conf->tls != SMTPC_TLS_NONE && (c->ssl = client_ctx(e)) == NULL) {
		free(c);
		return NULL;
	}
	c->scale = conf->timeout_scale > 0 ? conf->timeout_scale : 1.0;
	c->max_per_host = conf->max_per_host ? conf->max_per_host : DEF_PER_HOST;
	c->max_total = conf->max_total ? conf->max_total : DEF_TOTAL;
	c->idle_ms = conf->idle_ms ? conf->idle_ms : DEF_IDLE_MS;
	c->max_msgs = conf->max_msgs_per_conn ? conf->max_msgs_per_conn : DEF_MSGS;
	c->kick = event_new(base, -1, 0, on_kick, c);
	c->done_ev = event_new(base, -1, 0, on_done, c);
	if (c->kick == NULL || c->done_ev == NULL)
		abort(); /* out of memory */
	return c;
}

/* An envelope address we can put between < and >. */
static bool
address_ok(const char *a, bool empty_ok)
{
	size_t n = strlen(a);

	if (n > SMTPC_ADDR_MAX || (n == 0 && !empty_ok))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)a[i];
		if (ch <= 0x20 || ch == 0x7f || ch == '<' || ch == '>')
			return false;
	}
	return true;
}

int
smtpc_send(struct smtpc *c, const struct smtpc_job *job, smtpc_done_fn done, void *arg,
           struct err *e)
{
	struct job *j;

	if (c->freeing)
		return err_temp(e, "outbound SMTP client shutting down");
	if (job->ntargets < 1 || job->ntargets > SMTPC_TARGETS_MAX)
		return err_set(e, 400, "InvalidParameterValue", "a job needs 1..%d targets",
		               SMTPC_TARGETS_MAX);
	if (job->nrcpt < 1 || job->nrcpt > SMTPC_RCPT_MAX)
		return err_set(e, 400, "InvalidParameterValue", "a job needs 1..%d recipients",
		               SMTPC_RCPT_MAX);
	if (job->mail_from == NULL || !address_ok(job->mail_from, true))
		return err_set(e, 400, "InvalidParameterValue", "bad envelope sender");
	for (size_t i = 0; i < job->nrcpt; i++)
		if (job->rcpt[i] == NULL || !address_ok(job->rcpt[i], false))
			return err_set(e, 400, "InvalidParameterValue", "bad recipient %zu", i);
	for (size_t i = 0; i < job->ntargets; i++) {
		const struct smtpc_target *t = &job->targets[i];
		if ((t->addr.ss_family != AF_INET && t->addr.ss_family != AF_INET6) ||
		    t->addrlen > sizeof(t->addr) ||
		    (t->host != NULL && strlen(t->host) > SMTPC_HOST_MAX))
			return err_set(e, 400, "InvalidParameterValue", "bad target %zu", i);
	}
	if (job->len > SMTPC_MESSAGE_MAX || (job->data == NULL && job->len > 0))
		return err_set(e, 400, "InvalidParameterValue", "message too large");
	if (done == NULL)
		return err_set(e, 400, "InvalidParameterValue", "no callback");

	j = xcalloc(1, sizeof(*j));
	j->c = c;
	j->ntargets = job->ntargets;
	j->targets = xcalloc(j->ntargets, sizeof(*j->targets));
	j->target_host = xcalloc(j->ntargets, sizeof(*j->target_host));
	for (size_t i = 0; i < j->ntargets; i++) {
		j->targets[i] = job->targets[i];
		j->target_host[i] =
		    xstrdup(job->targets[i].host != NULL ? job->targets[i].host : "");
		j->targets[i].host = j->target_host[i];
	}
	j->mail_from = xstrdup(job->mail_from);
	j->nrcpt = job->nrcpt;
	j->rcpt = xcalloc(j->nrcpt, sizeof(*j->rcpt));
	for (size_t i = 0; i < j->nrcpt; i++)
		j->rcpt[i] = xstrdup(job->rcpt[i]);
	j->wire_len = stuff(job->data, job->len, NULL, &j->eightbit);
	j->wire = xmalloc(j->wire_len);
	j->eightbit = false;
	stuff(job->data, job->len, j->wire, &j->eightbit);
	j->size = j->wire_len - 3;
	j->res = xcalloc(j->nrcpt, sizeof(*j->res));
	j->rst = xcalloc(j->nrcpt, sizeof(*j->rst));
	j->cb = done;
	j->arg = arg;
	job_enqueue(j, false);
	return 0;
}

void
smtpc_free(struct smtpc *c)
{
	struct failure f;
	struct job *j;

	if (c == NULL || c->freeing)
		return;
	c->freeing = true;
	if (c->gone != NULL)
		*c->gone = true;
	memset(&f, 0, sizeof(f));
	f.code = 451;
	f.local = true;
	snprintf(f.status, sizeof(f.status), "4.3.2");
	snprintf(f.text, sizeof(f.text), "4.3.2 shutting down");
	while (c->conns != NULL) {
		struct conn *k = c->conns;
		if ((j = conn_detach(k)) != NULL) {
			snprintf(f.remote, sizeof(f.remote), "%s", k->remote);
			snprintf(f.host, sizeof(f.host), "%s", k->hostname);
			job_fill_rest(j, SMTPC_DEFERRED, &f);
			j->tls = k->tls;
			job_finish(j);
		}
		conn_free(k);
	}
	f.remote[0] = f.host[0] = '\0';
	for (struct host *h = c->hosts; h != NULL; h = h->next)
		while ((j = wait_pop(h)) != NULL) {
			job_fill_rest(j, SMTPC_DEFERRED, &f);
			job_finish(j);
		}
	while ((j = done_pop(c)) != NULL) {
		run_callback(j);
		job_free(j);
	}
	host_gc(c);
	event_free(c->kick);
	event_free(c->done_ev);
	SSL_CTX_free(c->ssl);
	free(c);
}

void
smtpc_get_stats(const struct smtpc *c, struct smtpc_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->conns = c->nconns;
	for (const struct conn *k = c->conns; k != NULL; k = k->next)
		if (k->st == C_IDLE && k->job == NULL)
			out->idle++;
	out->waiting = c->nwaiting;
	out->running = c->nrunning;
	out->opened = c->opened;
	out->reused = c->reused;
}

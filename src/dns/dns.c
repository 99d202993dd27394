/*
 * dns.c — c-ares on a libevent loop; see dns.h.
 *
 * Ownership and life of a query (struct dns_query):
 *   submitted -> c-ares callback(s) fill the result -> `deliver` event made
 *   active -> on_deliver runs the user callback -> freed.
 * A query sits on d->queries from submission until it is delivered or
 * freed, so dns_free can find every query still owed a callback.
 *
 * Invariants:
 *  1. User callbacks never run inside c-ares (ares_query, ares_process_fd,
 *     ares_destroy) except for DNS_CANCELLED from dns_free; they always run
 *     from the query's own `deliver` event. So a callback may start new
 *     queries, cancel others or free the resolver.
 *  2. A cancelled query with c-ares work outstanding (pending > 0) stays
 *     allocated, silent, until c-ares calls back; then it is freed.
 *  3. The c-ares timer is re-armed after every call into c-ares.
 */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <ares.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

#ifndef T_TXT
#define T_A 1
#define T_CNAME 5
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28
#endif
#define C_IN_CLASS 1

enum qkind { Q_TXT, Q_MX, Q_A, Q_CNAME };

struct dns_sock {
	ares_socket_t fd;
	struct event *ev;
	struct dns_sock *next;
};

struct dns_query {
	struct dns *d;
	struct dns_query *prev, *next;
	enum qkind kind;
	union {
		dns_txt_cb txt;
		dns_mx_cb mx;
		dns_addr_cb addr;
		dns_cname_cb cname;
	} cb;
	void *arg;
	struct event *deliver;
	int pending;      /* c-ares queries outstanding */
	bool cancelled;
	bool submitting;  /* inside ares_query: do not activate `deliver` yet */
	enum dns_status st, st2; /* st2: AAAA half of Q_A */
	/* results */
	struct dns_txt *txt;
	struct dns_mx *mx;
	struct dns_addr *addr;
	size_t n;
	char *cname;
};

struct dns {
	struct event_base *base;
	ares_channel ch;
	struct event *timer;
	struct dns_sock *socks;
	struct dns_query *queries;
	bool dying;
};

/* ---- status --------------------------------------------------------------- */

const char *
dns_status_str(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "NXDOMAIN";
	case DNS_NODATA:
		return "no data";
	case DNS_BADNAME:
		return "bad name";
	case DNS_TEMPFAIL:
		return "temporary failure";
	case DNS_TIMEOUT:
		return "timeout";
	case DNS_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

bool
dns_status_temporary(enum dns_status st)
{
	return st == DNS_TEMPFAIL || st == DNS_TIMEOUT || st == DNS_CANCELLED;
}

static enum dns_status
from_ares(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENODATA:
		return DNS_NODATA;
	case ARES_ENOTFOUND:
		return DNS_NXDOMAIN;
	case ARES_ETIMEOUT:
		return DNS_TIMEOUT;
	case ARES_EBADNAME:
		return DNS_BADNAME;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:
		return DNS_CANCELLED;
	default:
		return DNS_TEMPFAIL;
	}
}

/* ---- loop integration ------------------------------------------------------ */

static void
rearm(struct dns *d)
{
	struct timeval tv, *t;

	if (d->dying)
		return;
	t = ares_timeout(d->ch, NULL, &tv);
	if (t != NULL)
		evtimer_add(d->timer, t);
	else
		evtimer_del(d->timer);
}

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	ares_process_fd(d->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	rearm(d);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(d);
}

/* c-ares tells us which sockets to watch */
static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	struct dns_sock **pp, *s;

	for (pp = &d->socks; *pp != NULL && (*pp)->fd != fd; pp = &(*pp)->next)
		;
	s = *pp;
	if (s != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (!readable && !writable) {
		if (s != NULL) {
			*pp = s->next;
			free(s);
		}
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->next = d->socks;
		d->socks = s;
	}
	s->ev = event_new(d->base, fd,
			  (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0) | EV_PERSIST),
			  on_sock, d);
	if (s->ev == NULL)
		abort(); /* out of memory */
	event_add(s->ev, NULL);
}

/* ---- queries --------------------------------------------------------------- */

static void
query_unlink(struct dns_query *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else if (q->d->queries == q)
		q->d->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

static void
query_free(struct dns_query *q)
{
	if (q->deliver != NULL)
		event_free(q->deliver);
	if (q->txt != NULL)
		for (size_t i = 0; i < q->n; i++)
			free((char *)q->txt[i].data);
	if (q->mx != NULL)
		for (size_t i = 0; i < q->n; i++)
			free((char *)q->mx[i].host);
	free(q->txt);
	free(q->mx);
	free(q->addr);
	free(q->cname);
	free(q);
}

static enum dns_status
final_status(const struct dns_query *q)
{
	if (q->kind != Q_A)
		return q->st;
	if (q->n > 0)
		return DNS_OK;
	static const enum dns_status order[] = {DNS_CANCELLED, DNS_TIMEOUT, DNS_TEMPFAIL,
						DNS_BADNAME, DNS_NXDOMAIN};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (q->st == order[i] || q->st2 == order[i])
			return order[i];
	return DNS_NODATA;
}

/* Run the user callback (status forced to `force` unless DNS_OK) and free q. */
static void
run_callback(struct dns_query *q, bool cancelled)
{
	enum dns_status st = cancelled ? DNS_CANCELLED : final_status(q);
	size_t n = st == DNS_OK ? q->n : 0;

	switch (q->kind) {
	case Q_TXT:
		q->cb.txt(q->arg, st, n ? q->txt : NULL, n);
		break;
	case Q_MX:
		q->cb.mx(q->arg, st, n ? q->mx : NULL, n);
		break;
	case Q_A:
		q->cb.addr(q->arg, st, n ? q->addr : NULL, n);
		break;
	case Q_CNAME:
		q->cb.cname(q->arg, st, st == DNS_OK ? q->cname : NULL);
		break;
	}
	query_free(q);
}

static void
on_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	query_unlink(q);
	run_callback(q, false);
}

/* One c-ares query of q finished (result already stored). */
static void
query_step(struct dns_query *q)
{
	if (--q->pending > 0)
		return;
	if (q->cancelled) {
		query_unlink(q);
		query_free(q);
		return;
	}
	if (!q->submitting && !q->d->dying)
		event_active(q->deliver, EV_TIMEOUT, 1);
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcasecmp(x->host, y->host);
}

static enum dns_status
parse_txt(struct dns_query *q, const unsigned char *abuf, int alen)
{
	struct ares_txt_ext *list = NULL;
	int r = ares_parse_txt_reply_ext(abuf, alen, &list);
	size_t cur_len = 0;
	char *cur = NULL;
	bool over = false;

	if (r != ARES_SUCCESS)
		return from_ares(r);
	q->txt = xcalloc(DNS_TXT_RECORDS_MAX, sizeof(*q->txt));
	for (struct ares_txt_ext *t = list;; t = t->next) {
		if (t == NULL || t->record_start) {
			/* close the record being built */
			if (cur != NULL && !over && q->n < DNS_TXT_RECORDS_MAX) {
				q->txt[q->n].data = cur;
				q->txt[q->n].len = cur_len;
				q->n++;
			} else {
				free(cur);
			}
			cur = NULL;
			cur_len = 0;
			over = false;
			if (t == NULL)
				break;
			cur = xcalloc(1, 1);
		}
		if (cur == NULL)
			cur = xcalloc(1, 1); /* defensive: first chunk not marked as a start */
		if (over || cur_len + t->length > DNS_TXT_LEN_MAX) {
			over = true;
			continue;
		}
		cur = xrealloc(cur, cur_len + t->length + 1);
		memcpy(cur + cur_len, t->txt, t->length);
		cur_len += t->length;
		cur[cur_len] = '\0';
	}
	ares_free_data(list);
	return q->n > 0 ? DNS_OK : DNS_NODATA;
}

static enum dns_status
parse_mx(struct dns_query *q, const unsigned char *abuf, int alen)
{
	struct ares_mx_reply *list = NULL;
	int r = ares_parse_mx_reply(abuf, alen, &list);

	if (r != ARES_SUCCESS)
		return from_ares(r);
	q->mx = xcalloc(DNS_MX_MAX, sizeof(*q->mx));
	for (struct ares_mx_reply *m = list; m != NULL && q->n < DNS_MX_MAX; m = m->next) {
		q->mx[q->n].pref = m->priority;
		q->mx[q->n].host = xstrdup(m->host != NULL ? m->host : "");
		q->n++;
	}
	ares_free_data(list);
	qsort(q->mx, q->n, sizeof(*q->mx), mx_cmp);
	return q->n > 0 ? DNS_OK : DNS_NODATA;
}

static enum dns_status
parse_addr(struct dns_query *q, int type, const unsigned char *abuf, int alen)
{
	int n = DNS_ADDR_MAX, r;

	if (q->addr == NULL)
		q->addr = xcalloc(2 * DNS_ADDR_MAX, sizeof(*q->addr));
	if (type == T_A) {
		struct ares_addrttl t[DNS_ADDR_MAX];
		r = ares_parse_a_reply(abuf, alen, NULL, t, &n);
		if (r != ARES_SUCCESS)
			return from_ares(r);
		/* A answers go before AAAA ones: shift any AAAA already there */
		memmove(q->addr + n, q->addr, q->n * sizeof(*q->addr));
		for (int i = 0; i < n; i++) {
			struct dns_addr *a = &q->addr[i];
			memset(a, 0, sizeof(*a));
			a->family = AF_INET;
			memcpy(&a->u.v4, &t[i].ipaddr, sizeof(a->u.v4));
			inet_ntop(AF_INET, &a->u.v4, a->text, sizeof(a->text));
		}
	} else {
		struct ares_addr6ttl t[DNS_ADDR_MAX];
		r = ares_parse_aaaa_reply(abuf, alen, NULL, t, &n);
		if (r != ARES_SUCCESS)
			return from_ares(r);
		for (int i = 0; i < n; i++) {
			struct dns_addr *a = &q->addr[q->n + (size_t)i];
			memset(a, 0, sizeof(*a));
			a->family = AF_INET6;
			memcpy(&a->u.v6, &t[i].ip6addr, sizeof(a->u.v6));
			inet_ntop(AF_INET6, &a->u.v6, a->text, sizeof(a->text));
		}
	}
	q->n += (size_t)n;
	return n > 0 ? DNS_OK : DNS_NODATA;
}

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Walk the answer section for the first CNAME record. */
static enum dns_status
parse_cname(struct dns_query *q, const unsigned char *abuf, int alen)
{
	const unsigned char *p = abuf + 12, *end = abuf + alen;
	unsigned qd, an;

	if (alen < 12)
		return DNS_TEMPFAIL;
	qd = get16(abuf + 4);
	an = get16(abuf + 6);
	for (unsigned i = 0; i < qd + an; i++) {
		char *name = NULL;
		long len;
		if (p >= end || ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS)
			return DNS_TEMPFAIL;
		ares_free_string(name);
		p += len;
		if (i < qd) {
			if (end - p < 4)
				return DNS_TEMPFAIL;
			p += 4;
			continue;
		}
		if (end - p < 10)
			return DNS_TEMPFAIL;
		uint16_t type = get16(p), rdlen = get16(p + 8);
		p += 10;
		if (end - p < rdlen)
			return DNS_TEMPFAIL;
		if (type == T_CNAME) {
			if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS)
				return DNS_TEMPFAIL;
			q->cname = xstrdup(name);
			ares_free_string(name);
			return DNS_OK;
		}
		p += rdlen;
	}
	return DNS_NODATA;
}

/* One c-ares answer for q: parse it (unless cancelled) and step q. */
static void
on_answer(struct dns_query *q, int type, int status, unsigned char *abuf, int alen)
{
	enum dns_status st = from_ares(status);

	if (st == DNS_OK && !q->cancelled) {
		switch (q->kind) {
		case Q_TXT:
			st = parse_txt(q, abuf, alen);
			break;
		case Q_MX:
			st = parse_mx(q, abuf, alen);
			break;
		case Q_A:
			st = parse_addr(q, type, abuf, alen);
			break;
		case Q_CNAME:
			st = parse_cname(q, abuf, alen);
			break;
		}
	}
	if (type == T_AAAA)
		q->st2 = st;
	else
		q->st = st;
	query_step(q);
}

static void
on_answer_main(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	int type = q->kind == Q_TXT ? T_TXT : q->kind == Q_MX ? T_MX : q->kind == Q_A ? T_A
											: T_CNAME;
	on_answer(q, type, status, abuf, alen);
}

static void
on_answer_aaaa(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	on_answer(arg, T_AAAA, status, abuf, alen);
}

/* A name c-ares can ask for: printable ASCII, labels 1..63, <= 253 bytes. */
static bool
name_ok(const char *name)
{
	size_t n = strnlen(name, DNS_NAME_MAX + 2), label = 0;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '\\' || ++label > 63)
			return false;
	}
	return label > 0;
}

static struct dns_query *
submit(struct dns *d, enum qkind kind, const char *name, void *arg)
{
	struct dns_query *q;

	if (d->dying)
		return NULL;
	q = xcalloc(1, sizeof(*q));
	q->d = d;
	q->kind = kind;
	q->arg = arg;
	q->deliver = event_new(d->base, -1, 0, on_deliver, q);
	if (q->deliver == NULL)
		abort(); /* out of memory */
	q->next = d->queries;
	if (d->queries != NULL)
		d->queries->prev = q;
	d->queries = q;
	if (!name_ok(name)) {
		q->st = q->st2 = DNS_BADNAME;
		event_active(q->deliver, EV_TIMEOUT, 1);
		return q;
	}
	q->submitting = true;
	q->pending = kind == Q_A ? 2 : 1;
	switch (kind) {
	case Q_TXT:
		ares_query(d->ch, name, C_IN_CLASS, T_TXT, on_answer_main, q);
		break;
	case Q_MX:
		ares_query(d->ch, name, C_IN_CLASS, T_MX, on_answer_main, q);
		break;
	case Q_CNAME:
		ares_query(d->ch, name, C_IN_CLASS, T_CNAME, on_answer_main, q);
		break;
	case Q_A:
		ares_query(d->ch, name, C_IN_CLASS, T_A, on_answer_main, q);
		ares_query(d->ch, name, C_IN_CLASS, T_AAAA, on_answer_aaaa, q);
		break;
	}
	q->submitting = false;
	if (q->pending == 0)
		event_active(q->deliver, EV_TIMEOUT, 1); /* answered synchronously */
	rearm(d);
	return q;
}

struct dns_query *
dns_txt(struct dns *d, const char *name, dns_txt_cb cb, void *arg)
{
	struct dns_query *q = submit(d, Q_TXT, name, arg);
	if (q != NULL)
		q->cb.txt = cb;
	return q;
}

struct dns_query *
dns_mx(struct dns *d, const char *name, dns_mx_cb cb, void *arg)
{
	struct dns_query *q = submit(d, Q_MX, name, arg);
	if (q != NULL)
		q->cb.mx = cb;
	return q;
}

struct dns_query *
dns_a(struct dns *d, const char *name, dns_addr_cb cb, void *arg)
{
	struct dns_query *q = submit(d, Q_A, name, arg);
	if (q != NULL)
		q->cb.addr = cb;
	return q;
}

struct dns_query *
dns_cname(struct dns *d, const char *name, dns_cname_cb cb, void *arg)
{
	struct dns_query *q = submit(d, Q_CNAME, name, arg);
	if (q != NULL)
		q->cb.cname = cb;
	return q;
}

void
dns_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	if (q->pending > 0) {
		q->cancelled = true; /* freed when c-ares is done with it (invariant 2) */
		return;
	}
	query_unlink(q);
	query_free(q);
}

/* ---- setup ----------------------------------------------------------------- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status;

static void
lib_init(void)
{
	lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

/* "HOST[:PORT]" -> c-ares CSV form; -1 when not an IP literal with a sane port. */
static int
server_csv(const char *s, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL;
	unsigned char tmp[sizeof(struct in6_addr)];
	size_t hl;
	bool v6;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL)
			return -1;
		hl = (size_t)(rb - s - 1);
		if (hl == 0 || hl >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1] != '\0')
			return -1;
		v6 = true;
	} else {
		const char *colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/* bare IPv6 literal, no port */
			hl = strlen(s);
		} else {
			hl = colon != NULL ? (size_t)(colon - s) : strlen(s);
			if (colon != NULL)
				port = colon + 1;
		}
		if (hl == 0 || hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		host[hl] = '\0';
		v6 = strchr(host, ':') != NULL;
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, tmp) != 1)
		return -1;
	long p = 53;
	if (port != NULL) {
		char *end;
		if (*port < '0' || *port > '9')
			return -1;
		p = strtol(port, &end, 10);
		if (*end != '\0' || p < 1 || p > 65535)
			return -1;
	}
	int r = v6 ? snprintf(out, cap, "[%s]:%ld", host, p) : snprintf(out, cap, "%s:%ld", host, p);
	return (r < 0 || (size_t)r >= cap) ? -1 : 0;
}

struct dns *
dns_new_opts(struct event_base *base, const char *server, int timeout_ms, int tries,
	     struct err *e)
{
	struct ares_options opts;
	struct dns *d;
	char csv[INET6_ADDRSTRLEN + 16];
	int r;

	if (server != NULL && server_csv(server, csv, sizeof(csv)) < 0) {
		err_set(e, 400, "InvalidParameterValue",
			"DNS server must be HOST[:PORT] with HOST an IP address: %.100s", server);
		return NULL;
	}
	if (timeout_ms < 1 || timeout_ms > 60000 || tries < 1 || tries > 10) {
		err_set(e, 400, "InvalidParameterValue", "DNS timeout or tries out of range");
		return NULL;
	}
	pthread_once(&lib_once, lib_init);
	if (lib_status != ARES_SUCCESS) {
		err_temp(e, "c-ares initialisation failed: %s", ares_strerror(lib_status));
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->base = base;
	memset(&opts, 0, sizeof(opts));
	opts.timeout = timeout_ms;
	opts.tries = tries;
	opts.sock_state_cb = sock_state;
	opts.sock_state_cb_data = d;
	r = ares_init_options(&d->ch, &opts,
			      ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB);
	if (r != ARES_SUCCESS) {
		free(d);
		err_temp(e, "c-ares channel: %s", ares_strerror(r));
		return NULL;
	}
	if (server != NULL && (r = ares_set_servers_ports_csv(d->ch, csv)) != ARES_SUCCESS) {
		ares_destroy(d->ch);
		free(d);
		err_set(e, 400, "InvalidParameterValue", "DNS server %s: %s", csv,
			ares_strerror(r));
		return NULL;
	}
	d->timer = evtimer_new(base, on_timer, d);
	if (d->timer == NULL)
		abort(); /* out of memory */
	return d;
}

struct dns *
dns_new(struct event_base *base, const char *server, struct err *e)
{
	return dns_new_opts(base, server, DNS_TIMEOUT_MS, DNS_TRIES, e);
}

void
dns_free(struct dns *d)
{
	struct dns_query *q;

	if (d == NULL)
		return;
	d->dying = true;
	/* c-ares calls back every outstanding query with ARES_EDESTRUCTION */
	ares_destroy(d->ch);
	/* everything left is owed a callback */
	while ((q = d->queries) != NULL) {
		query_unlink(q);
		if (q->cancelled)
			query_free(q);
		else
			run_callback(q, true);
	}
	while (d->socks != NULL) {
		struct dns_sock *s = d->socks;
		d->socks = s->next;
		if (s->ev != NULL)
			event_free(s->ev);
		free(s);
	}
	event_free(d->timer);
	free(d);
}

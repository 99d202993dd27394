/*
 * mx.c — target lists from DNS for the SMTP client (mx.h).
 *
 * A lookup (struct mx_lookup) lives from mx_resolve/mx_relay until its
 * callback returned or it was cancelled. Its life:
 *   MX query -> (NODATA: one A/AAAA query for the domain | OK: one A/AAAA
 *   query per MX host, in parallel) -> all answered -> assemble the
 *   targets in preference order -> `ev` made active -> callback -> freed.
 * Answers that need no DNS (IP literals, bad names) go straight to `ev`.
 *
 * Invariants:
 *  1. User callbacks run only from the lookup's own event (or inside
 *     mx_free), never inside a dns callback or mx_resolve; so a callback
 *     may start lookups, cancel others or free the mx.
 *  2. A dns_query handle is kept only while its callback is owed; it is
 *     set to NULL when the callback runs, so cancel never touches a dead one.
 *  3. A lookup is on m->lookups from start until its callback starts.
 */
#include "delivery/mx.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "dns/dns.h"
#include "util/xalloc.h"

struct mx {
	struct event_base *base;
	struct dns *dns;
	struct mx_conf conf;
	struct mx_lookup *lookups;
	bool freeing;
};

struct mxhost {
	struct mx_lookup *l;
	char *name;
	unsigned pref;
	struct dns_query *q;
	enum dns_status st;
	struct dns_addr *addr;
	size_t naddr;
};

struct mx_lookup {
	struct mx *m;
	struct mx_lookup *prev, *next;
	char name[DNS_NAME_MAX + 1];
	unsigned port;
	bool relay;
	mx_done_fn cb;
	void *arg;
	struct event *ev;
	struct dns_query *mxq;
	struct mxhost *hosts;
	size_t nhosts, pending;
	bool ready; /* res is final, ev active */
	struct mx_result res;
	struct smtpc_target *targets;
};

const char *
mx_status_str(enum mx_status st)
{
	switch (st) {
	case MX_OK:
		return "ok";
	case MX_TEMPFAIL:
		return "temporary failure";
	case MX_PERMFAIL:
		return "permanent failure";
	}
	return "unknown";
}

/* ---- results ------------------------------------------------------------------ */

static void
lookup_unlink(struct mx_lookup *l)
{
	struct mx *m = l->m;

	if (l->prev != NULL)
		l->prev->next = l->next;
	else if (m->lookups == l)
		m->lookups = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

static void
lookup_free(struct mx_lookup *l)
{
	if (l->ev != NULL)
		event_free(l->ev);
	for (size_t i = 0; i < l->nhosts; i++) {
		free(l->hosts[i].name);
		free(l->hosts[i].addr);
	}
	free(l->hosts);
	free(l->targets);
	free(l);
}

/* Stop every DNS query still owed to l (their callbacks will not run). */
static void
lookup_stop_dns(struct mx_lookup *l)
{
	if (l->mxq != NULL) {
		dns_cancel(l->mxq);
		l->mxq = NULL;
	}
	for (size_t i = 0; i < l->nhosts; i++)
		if (l->hosts[i].q != NULL) {
			dns_cancel(l->hosts[i].q);
			l->hosts[i].q = NULL;
		}
}

static void
finish(struct mx_lookup *l)
{
	l->ready = true;
	if (!l->m->freeing)
		event_active(l->ev, EV_TIMEOUT, 1);
}

static void
fail(struct mx_lookup *l, enum mx_status st, int code, const char *enhanced, const char *text,
     const char *detail)
{
	l->res.status = st;
	l->res.code = code;
	snprintf(l->res.enhanced, sizeof(l->res.enhanced), "%s", enhanced);
	snprintf(l->res.text, sizeof(l->res.text), "%s %s", enhanced, text);
	snprintf(l->res.detail, sizeof(l->res.detail), "%s", detail);
	l->res.n = 0;
	l->res.targets = NULL;
	finish(l);
}

static void
host_not_found(struct mx_lookup *l, const char *detail)
{
	fail(l, MX_PERMFAIL, 550, "5.1.2", "host not found", detail);
}

static void
on_ev(evutil_socket_t fd, short what, void *arg)
{
	struct mx_lookup *l = arg;

	lookup_unlink(l);
	l->cb(l->arg, &l->res);
	lookup_free(l);
}

static void
add_target(struct mx_lookup *l, const char *host, const struct dns_addr *a)
{
	struct smtpc_target *t;

	if (l->res.n >= SMTPC_TARGETS_MAX)
		return;
	t = &l->targets[l->res.n];
	if (smtpc_target_set(t, host, a->text, l->port) == 0)
		l->res.n++;
}

/* Every host lookup answered: the targets in order, or why there are none. */
static void
assemble(struct mx_lookup *l)
{
	bool temp = false;
	enum dns_status st = DNS_NXDOMAIN;
	char detail[320];

	l->targets = xcalloc(SMTPC_TARGETS_MAX, sizeof(*l->targets));
	for (size_t i = 0; i < l->nhosts; i++) {
		struct mxhost *h = &l->hosts[i];
		for (size_t k = 0; k < h->naddr; k++)
			add_target(l, h->name, &h->addr[k]);
		if (h->naddr == 0 && dns_status_temporary(h->st)) {
			temp = true;
			st = h->st;
		}
	}
	if (l->res.n > 0) {
		l->res.status = MX_OK;
		l->res.targets = l->targets;
		finish(l);
		return;
	}
	snprintf(detail, sizeof(detail), "%s %s: no address%s%s",
	         l->res.implicit ? "host" : "MX hosts of", l->name, temp ? ": " : "",
	         temp ? dns_status_str(st) : "");
	if (temp)
		fail(l, MX_TEMPFAIL, 451, "4.4.3", "DNS lookup failed, will retry", detail);
	else if (l->relay)
		fail(l, MX_TEMPFAIL, 451, "4.4.4", "relay host not found", detail);
	else
		host_not_found(l, detail);
}

static void
on_addr(void *arg, enum dns_status st, const struct dns_addr *a, size_t n)
{
	struct mxhost *h = arg;
	struct mx_lookup *l = h->l;

	h->q = NULL;
	h->st = st;
	if (st == DNS_OK && n > 0) {
		h->addr = xcalloc(n, sizeof(*a));
		memcpy(h->addr, a, n * sizeof(*a));
		h->naddr = n;
	}
	if (--l->pending == 0)
		assemble(l);
}

static void
add_host(struct mx_lookup *l, const char *name, unsigned pref)
{
	struct mxhost *h = &l->hosts[l->nhosts++];

	h->l = l;
	h->name = xstrdup(name);
	h->pref = pref;
	h->st = DNS_TIMEOUT;
}

/* Start the address lookups of every host in l->hosts. */
static void
resolve_hosts(struct mx_lookup *l)
{
	l->pending = l->nhosts;
	for (size_t i = 0; i < l->nhosts; i++) {
		struct mxhost *h = &l->hosts[i];
		h->q = dns_a(l->m->dns, h->name, on_addr, h);
		if (h->q == NULL) {
			/* the resolver is being freed: this one will not answer */
			h->st = DNS_CANCELLED;
			if (--l->pending == 0)
				assemble(l);
		}
	}
}

static uint32_t
uniform(struct mx *m, uint32_t upper)
{
	if (m->conf.rand_uniform != NULL)
		return m->conf.rand_uniform(m->conf.rand_arg, upper) % upper;
	return arc4random_uniform(upper);
}

static void
on_mx(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n)
{
	struct mx_lookup *l = arg;
	char detail[320];
	size_t real = 0;

	l->mxq = NULL;
	snprintf(detail, sizeof(detail), "MX lookup for %s: %s", l->name, dns_status_str(st));
	switch (st) {
	case DNS_OK:
		break;
	case DNS_NODATA:
		/* RFC 5321 §5.1: no MX, the domain itself is the implicit MX */
		l->res.implicit = true;
		l->hosts = xcalloc(1, sizeof(*l->hosts));
		add_host(l, l->name, 0);
		resolve_hosts(l);
		return;
	case DNS_NXDOMAIN:
	case DNS_BADNAME:
		host_not_found(l, detail);
		return;
	default:
		fail(l, MX_TEMPFAIL, 451, "4.4.3", "DNS lookup failed, will retry", detail);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (mx[i].host[0] != '\0')
			real++;
	if (real == 0) {
		fail(l, MX_PERMFAIL, 556, "5.1.10", "recipient domain has a null MX (RFC 7505)",
		     detail);
		return;
	}
	if (real > MX_HOSTS_MAX)
		real = MX_HOSTS_MAX;
	l->hosts = xcalloc(real, sizeof(*l->hosts));
	/* mx[] is sorted by preference (then name): shuffle each run of equals */
	for (size_t i = 0; i < n && l->nhosts < real; i++)
		if (mx[i].host[0] != '\0')
			add_host(l, mx[i].host, mx[i].pref);
	for (size_t a = 0; a < l->nhosts;) {
		size_t b = a + 1;
		while (b < l->nhosts && l->hosts[b].pref == l->hosts[a].pref)
			b++;
		for (size_t i = b - 1; i > a; i--) {
			size_t k = a + uniform(l->m, (uint32_t)(i - a + 1));
			struct mxhost tmp = l->hosts[i];
			l->hosts[i] = l->hosts[k];
			l->hosts[k] = tmp;
		}
		a = b;
	}
	resolve_hosts(l);
}

/* ---- starting lookups ---------------------------------------------------------- */

static struct mx_lookup *
lookup_new(struct mx *m, const char *name, unsigned port, mx_done_fn cb, void *arg)
{
	struct mx_lookup *l = xcalloc(1, sizeof(*l));

	l->m = m;
	l->cb = cb;
	l->arg = arg;
	l->port = port;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->ev = event_new(m->base, -1, 0, on_ev, l);
	if (l->ev == NULL)
		abort(); /* out of memory */
	l->next = m->lookups;
	if (m->lookups != NULL)
		m->lookups->prev = l;
	m->lookups = l;
	return l;
}

/* One target from an IP literal, answered at once. */
static void
literal(struct mx_lookup *l, const char *ip)
{
	l->targets = xcalloc(1, sizeof(*l->targets));
	if (smtpc_target_set(&l->targets[0], l->name, ip, l->port) != 0) {
		if (l->relay)
			fail(l, MX_TEMPFAIL, 451, "4.4.4", "bad relay host", l->name);
		else
			host_not_found(l, "bad address literal");
		return;
	}
	l->res.status = MX_OK;
	l->res.targets = l->targets;
	l->res.n = 1;
	finish(l);
}

static bool
is_ip(const char *s)
{
	unsigned char tmp[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

struct mx_lookup *
mx_resolve(struct mx *m, const char *domain, mx_done_fn cb, void *arg)
{
	struct mx_lookup *l;
	size_t n = strlen(domain);

	if (m->freeing)
		return NULL;
	if (n > 0 && domain[n - 1] == '.' && domain[0] != '[')
		n--;
	l = lookup_new(m, "", m->conf.port, cb, arg);
	if (n == 0 || n > DNS_NAME_MAX) {
		host_not_found(l, "empty or overlong domain");
		return l;
	}
	snprintf(l->name, sizeof(l->name), "%.*s", (int)n, domain);
	if (l->name[0] == '[') {
		/* RFC 5321 §4.1.3 address literal */
		char ip[DNS_NAME_MAX + 1];
		const char *in = l->name + 1;
		size_t k = n - 1;
		if (n < 3 || l->name[n - 1] != ']') {
			host_not_found(l, "bad address literal");
			return l;
		}
		k--; /* the ']' */
		if (k > 5 && strncasecmp(in, "IPv6:", 5) == 0) {
			in += 5;
			k -= 5;
			snprintf(ip, sizeof(ip), "%.*s", (int)k, in);
			if (strchr(ip, ':') == NULL) {
				host_not_found(l, "bad address literal");
				return l;
			}
		} else {
			snprintf(ip, sizeof(ip), "%.*s", (int)k, in);
			if (strchr(ip, ':') != NULL) {
				host_not_found(l, "bad address literal");
				return l;
			}
		}
		literal(l, ip);
		return l;
	}
	l->mxq = dns_mx(m->dns, l->name, on_mx, l);
	if (l->mxq == NULL)
		fail(l, MX_TEMPFAIL, 451, "4.4.3", "DNS lookup failed, will retry",
		     "resolver shutting down");
	return l;
}

struct mx_lookup *
mx_relay(struct mx *m, const char *host, unsigned port, mx_done_fn cb, void *arg)
{
	struct mx_lookup *l;

	if (m->freeing)
		return NULL;
	l = lookup_new(m, host, port, cb, arg);
	l->relay = true;
	if (port < 1 || port > 65535 || host[0] == '\0' || strlen(host) > DNS_NAME_MAX) {
		fail(l, MX_TEMPFAIL, 451, "4.4.4", "bad relay host", host);
		return l;
	}
	if (is_ip(host)) {
		literal(l, host);
		return l;
	}
	l->res.implicit = true;
	l->hosts = xcalloc(1, sizeof(*l->hosts));
	add_host(l, l->name, 0);
	resolve_hosts(l);
	return l;
}

void
mx_cancel(struct mx_lookup *l)
{
	if (l == NULL)
		return;
	lookup_stop_dns(l);
	lookup_unlink(l);
	lookup_free(l);
}

struct mx *
mx_new(struct event_base *base, struct dns *dns, const struct mx_conf *conf)
{
	struct mx *m = xcalloc(1, sizeof(*m));

	m->base = base;
	m->dns = dns;
	if (conf != NULL)
		m->conf = *conf;
	if (m->conf.port == 0)
		m->conf.port = 25;
	return m;
}

void
mx_free(struct mx *m)
{
	struct mx_lookup *l;

	if (m == NULL)
		return;
	m->freeing = true;
	while ((l = m->lookups) != NULL) {
		lookup_stop_dns(l);
		lookup_unlink(l);
		if (!l->ready) {
			l->res.status = MX_TEMPFAIL;
			l->res.code = 451;
			l->res.n = 0;
			l->res.targets = NULL;
			snprintf(l->res.enhanced, sizeof(l->res.enhanced), "4.3.2");
			snprintf(l->res.text, sizeof(l->res.text), "4.3.2 shutting down");
			snprintf(l->res.detail, sizeof(l->res.detail), "lookup for %s cancelled",
			         l->name);
		}
		l->cb(l->arg, &l->res);
		lookup_free(l);
	}
	free(m);
}

int
mx_parse_hostport(const char *s, char *host, size_t cap, unsigned *port, struct err *e)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			goto bad;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
		if (hl == 0 || hl >= cap)
			goto bad;
		memcpy(host, h, hl);
		host[hl] = '\0';
		unsigned char tmp[sizeof(struct in6_addr)];
		if (inet_pton(AF_INET6, host, tmp) != 1)
			goto bad;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			goto bad;
		hl = (size_t)(colon - s);
		if (hl == 0 || hl >= cap || hl > DNS_NAME_MAX)
			goto bad;
		memcpy(host, s, hl);
		host[hl] = '\0';
		for (size_t i = 0; i < hl; i++)
			if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '.' &&
			    host[i] != '_')
				goto bad;
	}
	if (colon[1] < '0' || colon[1] > '9')
		goto bad;
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535)
		goto bad;
	*port = (unsigned)p;
	return 0;
bad:
	return err_set(e, 400, "InvalidConfiguration", "expected HOST:PORT, got %.200s", s);
}

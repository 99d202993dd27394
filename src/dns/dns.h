/*
 * dns.h — asynchronous DNS lookups (TXT, MX, A/AAAA, CNAME) over c-ares,
 * driven by a libevent event_base. Never blocks the loop: c-ares sockets
 * are watched with events, its timeouts with one timer.
 *
 * One struct dns per event-loop thread; not thread-safe. Every query ends
 * in exactly one callback, always run from the event loop (never from
 * inside the dns_* call that started it), unless it was dns_cancel()ed.
 * Result arrays and strings passed to a callback belong to the query and
 * are valid only during the callback: copy what you keep.
 *
 * Timeouts: each try waits `timeout_ms` (c-ares doubles it on later tries
 * per server); with the defaults (2 s, 2 tries, one server) a query gives
 * up after at most 6 s with DNS_TIMEOUT.
 */
#ifndef SESAME_DNS_DNS_H
#define SESAME_DNS_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

struct event_base;
struct dns;
struct dns_query;

#define DNS_TIMEOUT_MS 2000
#define DNS_TRIES 2
#define DNS_NAME_MAX 253          /* a query name, without the trailing dot */
#define DNS_TXT_RECORDS_MAX 64    /* more TXT records are ignored */
#define DNS_TXT_LEN_MAX 4096      /* a longer TXT record (strings joined) is ignored */
#define DNS_MX_MAX 64
#define DNS_ADDR_MAX 32           /* per family */

enum dns_status {
	DNS_OK = 0,
	DNS_NXDOMAIN,  /* permanent: the name does not exist */
	DNS_NODATA,    /* permanent: the name exists, no records of this type */
	DNS_BADNAME,   /* permanent: the name cannot be queried */
	DNS_TEMPFAIL,  /* SERVFAIL, REFUSED, connection refused, bad reply */
	DNS_TIMEOUT,   /* no answer in time */
	DNS_CANCELLED, /* dns_free() ran before the answer came */
};

const char *dns_status_str(enum dns_status st);
/* TEMPFAIL, TIMEOUT and CANCELLED: a retry may give another answer. */
bool dns_status_temporary(enum dns_status st);

struct dns_txt {
	const char *data; /* the record's character-strings concatenated, NUL-terminated */
	size_t len;       /* may be less than strlen would say if the data holds NUL */
};
struct dns_mx {
	unsigned pref;
	const char *host; /* "" for a null MX (RFC 7505 "0 .") */
};
struct dns_addr {
	int family;       /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
	char text[INET6_ADDRSTRLEN];
};

/* n is 0 unless st is DNS_OK (then n >= 1). */
typedef void (*dns_txt_cb)(void *arg, enum dns_status st, const struct dns_txt *txt, size_t n);
/* sorted by preference, then host name */
typedef void (*dns_mx_cb)(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n);
/* A records first, then AAAA, each in answer order */
typedef void (*dns_addr_cb)(void *arg, enum dns_status st, const struct dns_addr *a, size_t n);
/* target is NULL unless st is DNS_OK */
typedef void (*dns_cname_cb)(void *arg, enum dns_status st, const char *target);

/*
 * A resolver on `base`. `server` is NULL (use /etc/resolv.conf) or an
 * override "HOST[:PORT]" with HOST an IPv4 literal or a bracketed IPv6
 * literal ("127.0.0.1:5353", "[::1]:53"); anything else is
 * InvalidParameterValue. Returns NULL with e filled on failure.
 */
struct dns *dns_new(struct event_base *base, const char *server, struct err *e);
/* Same, with the per-try timeout and the number of tries given. */
struct dns *dns_new_opts(struct event_base *base, const char *server, int timeout_ms, int tries,
			 struct err *e);
/*
 * Stop everything: every query not yet answered gets its callback with
 * DNS_CANCELLED (inside dns_free). Safe with NULL, and from inside a dns
 * callback (callbacks run from their own event, outside c-ares). During
 * dns_free new queries are refused (NULL).
 */
void dns_free(struct dns *d);

/*
 * Start a lookup. Returns a handle valid until the callback starts or
 * dns_cancel() is called; NULL only while dns_free() is running.
 * `name` is copied.
 */
struct dns_query *dns_txt(struct dns *d, const char *name, dns_txt_cb cb, void *arg);
struct dns_query *dns_mx(struct dns *d, const char *name, dns_mx_cb cb, void *arg);
/* A and AAAA together; DNS_OK when either gave an address. */
struct dns_query *dns_a(struct dns *d, const char *name, dns_addr_cb cb, void *arg);
struct dns_query *dns_cname(struct dns *d, const char *name, dns_cname_cb cb, void *arg);

/* Forget a query: its callback will not run. The handle is invalid afterwards. */
void dns_cancel(struct dns_query *q);

#endif

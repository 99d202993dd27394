/*
 * mx.h — where mail for a domain goes: the ordered target list the SMTP
 * client (smtpc.h) tries, from DNS (dns.h, c-ares on the same loop).
 *
 * mx_resolve (RFC 5321 §5.1, RFC 7505):
 *   MX records by preference, lowest first, in random order among equal
 *   preferences; each MX host's addresses (A then AAAA, answer order) in
 *   turn; at most SMTPC_TARGETS_MAX targets, MX_HOSTS_MAX hosts.
 *   No MX record (NODATA): the domain's own A/AAAA, as an implicit MX.
 *   A domain literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"): that address.
 *   Permanent failures (the mail bounces):
 *     NXDOMAIN, a bad name, or no address at all -> 550 5.1.2 host not found
 *     a null MX ("0 ." as the only MX)         -> 556 5.1.10 ... null MX
 *   Temporary failures (the mail waits): a DNS timeout, SERVFAIL, REFUSED,
 *   and MX hosts whose address lookups all failed with at least one of
 *   them temporary -> 451 4.4.3 ...
 *   A null MX beside real ones is ignored (RFC 7505 §3 forbids the mix;
 *   the real ones are used).
 *
 * mx_relay: one fixed HOST:PORT (the --transport relay://HOST:PORT
 *   smarthost); HOST an IP literal (answered at once) or a name resolved
 *   with dns_a (every address, in order). Every failure to resolve a relay
 *   host is temporary: a misconfigured smarthost must not bounce mail.
 *
 * One struct mx per loop, used from that loop only. Every lookup ends in
 * exactly one callback, always from the loop (never inside mx_resolve /
 * mx_relay), unless mx_cancel()ed; mx_free answers what is outstanding
 * (inside mx_free). Free the mx before its dns.
 */
#ifndef SESAME_DELIVERY_MX_H
#define SESAME_DELIVERY_MX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delivery/smtpc.h"
#include "util/err.h"

struct event_base;
struct dns;
struct mx;
struct mx_lookup;

#define MX_HOSTS_MAX 16 /* MX hosts considered per domain, in preference order */

struct mx_conf {
	unsigned port; /* dialled on every target (--mx-port); 0 = 25 */
	/* randomness for ordering equal preferences: a uniform value in
	 * [0, upper); NULL = arc4random_uniform */
	uint32_t (*rand_uniform)(void *arg, uint32_t upper);
	void *rand_arg;
};

enum mx_status {
	MX_OK,       /* n >= 1 targets */
	MX_TEMPFAIL, /* try again later */
	MX_PERMFAIL, /* bounce */
};

struct mx_result {
	enum mx_status status;
	/* on failure, as an SMTP reply would put it: 550 / "5.1.2" /
	 * "5.1.2 host not found" (the diagnostic is "smtp; <code> <text>") */
	int code;
	char enhanced[16];
	char text[SMTPC_TEXT_MAX];
	char detail[384];                   /* for logs: which lookup failed and how */
	bool implicit;                      /* targets are the domain's own addresses (no MX) */
	const struct smtpc_target *targets; /* valid during the callback only */
	size_t n;
};

typedef void (*mx_done_fn)(void *arg, const struct mx_result *r);

/* A resolver of targets on `base` using `dns` (both borrowed; conf copied). */
struct mx *mx_new(struct event_base *base, struct dns *dns, const struct mx_conf *conf);
/* Answer every outstanding lookup MX_TEMPFAIL ("4.3.2 shutting down") and
 * free. NULL is a no-op. */
void mx_free(struct mx *m);

/* Start a lookup for the domain of a recipient (copied). Returns a handle
 * valid until the callback starts or mx_cancel; NULL only while mx_free runs. */
struct mx_lookup *mx_resolve(struct mx *m, const char *domain, mx_done_fn cb, void *arg);
/* The fixed target HOST:PORT (host copied; port 1..65535). */
struct mx_lookup *mx_relay(struct mx *m, const char *host, unsigned port, mx_done_fn cb, void *arg);
/* Forget a lookup: its callback will not run. NULL is a no-op. */
void mx_cancel(struct mx_lookup *l);

/* "HOST:PORT" or "[IPv6]:PORT" -> host (brackets removed) and port. -1 with
 * e filled (InvalidConfiguration) when malformed. */
int mx_parse_hostport(const char *s, char *host, size_t cap, unsigned *port, struct err *e);

const char *mx_status_str(enum mx_status st);

#endif

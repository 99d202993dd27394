/*
 * outbound.c — the network transports `mx` and `relay://HOST:PORT`
 * (transport.h): a job (one message, the recipients claimed for it) is
 * posted to one of the transport's own event loops ("deliver-N", util/loop),
 * split there into one SMTP transaction per recipient domain (mx) or one
 * for all (relay), each routed (delivery/mx: MX lookup through c-ares, or
 * the relay host) and handed to that loop's SMTP client (delivery/smtpc).
 * When every part has answered, the job's recipients carry their results
 * and the queue's `done` runs — on the delivery loop.
 *
 * Owns: the delivery loops, one struct dns and one struct smtpc per loop
 * (made and freed on the loop's thread), and the jobs in flight.
 *
 * Invariants:
 *  1. Every started job completes exactly once (transport.h): each part
 *     finishes once (smtpc and dns guarantee one callback each; a part that
 *     never got that far is finished by the loop's cleanup or by the
 *     stopping check), and the job completes when its last part does.
 *  2. Nothing blocks a loop: DNS is c-ares on the loop, SMTP is smtpc on the
 *     loop, and the job's bytes are already in memory.
 *  3. After stop begins, results that carry no remote answer (the shutdown's
 *     own "4.3.2 shutting down", cancelled DNS) are marked cancelled, so the
 *     queue records nothing for them and the next start sends them again;
 *     a real answer received before the stop is kept and recorded.
 */
#include "delivery/outbound.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "delivery/mx.h"
#include "delivery/smtpc.h"
#include "delivery/transport.h"
#include "dns/dns.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xalloc.h"

#define OUTBOUND_LOOPS 1 /* one loop drives thousands of connections */

struct per_loop {
	struct dns *dns;
	struct mx *mx;
	struct smtpc *smtpc;
};

struct outbound {
	struct transport base; /* first */
	const struct conf *conf;
	bool relay;
	char relay_host[256];
	unsigned relay_port;
	enum smtpc_tls tls;
	struct loop_group *loops;
	struct per_loop pl[OUTBOUND_LOOPS];
	atomic_uint next;      /* round-robin over the loops */
	atomic_bool stopping;
};

/* A job in flight: its parts (one per domain) and the queue's callback. */
struct run {
	struct outbound *o;
	struct transport_job *job;
	transport_done_fn done;
	void *arg;
	int loop;
	size_t nparts, left;
	struct part *parts;
};

/* One SMTP transaction: the job's recipients of one domain. */
struct part {
	struct run *run;
	char domain[256];
	size_t *idx;  /* indexes into run->job->rcpt */
	size_t n;
};

/* ---- completing ------------------------------------------------------- */

static void
run_finish(struct run *r)
{
	struct transport_job *j = r->job;
	bool all = j->nrcpt > 0;

	for (size_t i = 0; i < j->nrcpt; i++)
		all = all && j->rcpt[i].cancelled;
	j->cancelled = all;
	for (size_t i = 0; i < r->nparts; i++)
		free(r->parts[i].idx);
	free(r->parts);
	r->done(r->arg, j);
	free(r);
}

static void
part_done(struct part *p)
{
	struct run *r = p->run;

	if (--r->left == 0)
		run_finish(r);
}

/* Every recipient of p: the same local result (no server answered). */
static void
part_fail(struct part *p, enum transport_status st, int code, const char *status,
	  const char *reason)
{
	struct outbound *o = p->run->o;

	for (size_t i = 0; i < p->n; i++) {
		struct transport_rcpt *rc = &p->run->job->rcpt[p->idx[i]];
		transport_rcpt_set(rc, st, code, status, reason, "");
		rc->cancelled = st == TRANSPORT_DEFERRED && atomic_load(&o->stopping);
	}
	part_done(p);
}

/* ---- SMTP ------------------------------------------------------------- */

static void
on_smtp(void *arg, const struct smtpc_result *res)
{
	struct part *p = arg;
	struct outbound *o = p->run->o;

	for (size_t i = 0; i < p->n && i < res->nrcpt; i++) {
		struct transport_rcpt *rc = &p->run->job->rcpt[p->idx[i]];
		const struct smtpc_rcpt_result *x = &res->res[i];
		static const enum transport_status st[] = {
			[SMTPC_DELIVERED] = TRANSPORT_DELIVERED,
			[SMTPC_DEFERRED] = TRANSPORT_DEFERRED,
			[SMTPC_BOUNCED] = TRANSPORT_BOUNCED,
		};
		char ip[SMTPC_REMOTE_MAX];
		/* remoteMtaIp is the address without the port */
		snprintf(ip, sizeof(ip), "%s", x->remote);
		char *colon = strrchr(ip, ':');
		if (colon != NULL)
			*colon = '\0';
		if (ip[0] == '[') {
			memmove(ip, ip + 1, strlen(ip));
			ip[strcspn(ip, "]")] = '\0';
		}
		transport_rcpt_set(rc, st[x->outcome],
				   x->local && x->outcome != SMTPC_BOUNCED ? 0 : x->code, x->status,
				   x->text, ip);
		rc->cancelled = x->local && x->outcome == SMTPC_DEFERRED &&
				atomic_load(&o->stopping);
	}
	part_done(p);
}

static void
send_part(struct part *p, const struct smtpc_target *t, size_t nt)
{
	struct run *r = p->run;
	struct per_loop *pl = &r->o->pl[r->loop];
	const char *rcpt[SMTPC_RCPT_MAX];
	struct smtpc_job sj = {
		.targets = t,
		.ntargets = nt,
		.mail_from = r->job->mail_from,
		.rcpt = rcpt,
		.nrcpt = p->n,
		.data = (const char *)r->job->raw,
		.len = r->job->raw_len,
	};
	struct err e;

	for (size_t i = 0; i < p->n && i < SMTPC_RCPT_MAX; i++)
		rcpt[i] = r->job->rcpt[p->idx[i]].address;
	if (smtpc_send(pl->smtpc, &sj, on_smtp, p, &e) != 0) {
		/* refused before any attempt: a bad address (permanent) or the
		 * client shutting down (temporary) */
		bool stop = atomic_load(&r->o->stopping);
		part_fail(p, stop ? TRANSPORT_DEFERRED : TRANSPORT_BOUNCED, stop ? 0 : 550,
			  stop ? "4.3.2" : "5.1.3", e.message);
	}
}

/* ---- routing ---------------------------------------------------------- */

static void
on_route(void *arg, const struct mx_result *m)
{
	struct part *p = arg;

	switch (m->status) {
	case MX_OK:
		send_part(p, m->targets, m->n);
		return;
	case MX_PERMFAIL:
		log_info("outbound: %s: %s", p->domain, m->detail);
		part_fail(p, TRANSPORT_BOUNCED, m->code, m->enhanced, m->text);
		return;
	case MX_TEMPFAIL:
		log_info("outbound: %s: %s", p->domain, m->detail);
		part_fail(p, TRANSPORT_DEFERRED, 0, m->enhanced, m->text);
		return;
	}
}

static void
route_part(struct part *p)
{
	struct run *r = p->run;
	struct outbound *o = r->o;
	struct per_loop *pl = &o->pl[r->loop];

	struct mx_lookup *q = o->relay ? mx_relay(pl->mx, o->relay_host, o->relay_port, on_route, p)
				       : mx_resolve(pl->mx, p->domain, on_route, p);

	if (q == NULL)
		part_fail(p, TRANSPORT_DEFERRED, 0, "4.3.2", "4.3.2 shutting down");
}

/* ---- jobs ------------------------------------------------------------- */

/* The domain of an envelope address, lower-cased ("" if none). */
static void
domain_of(const char *addr, char out[256])
{
	const char *at = strrchr(addr, '@');
	size_t i = 0;

	if (at != NULL)
		for (at++; *at != '\0' && i < 255; at++)
			out[i++] = (char)tolower((unsigned char)*at);
	out[i] = '\0';
}

/* Split the job into parts: one per domain (mx) or one (relay). */
static void
plan(struct run *r)
{
	struct transport_job *j = r->job;

	r->parts = xcalloc(j->nrcpt ? j->nrcpt : 1, sizeof(*r->parts));
	for (size_t i = 0; i < j->nrcpt; i++) {
		char d[256];
		struct part *p = NULL;
		domain_of(j->rcpt[i].address, d);
		for (size_t k = 0; k < r->nparts && p == NULL; k++)
			if (r->o->relay || strcmp(r->parts[k].domain, d) == 0)
				p = &r->parts[k];
		if (p == NULL) {
			p = &r->parts[r->nparts++];
			p->run = r;
			snprintf(p->domain, sizeof(p->domain), "%s", d);
			p->idx = xcalloc(j->nrcpt, sizeof(*p->idx));
		}
		p->idx[p->n++] = i;
	}
	r->left = r->nparts;
}

/* On the delivery loop. Parts never finish inside route_part (dns, mx and
 * smtpc answer from the loop, later), only in part_fail, so r outlives the
 * loop below until its last part is handed out. */
static void
run_start(void *arg, int loop)
{
	struct run *r = arg;
	struct outbound *o = r->o;
	size_t n;

	(void)loop;
	plan(r);
	if ((n = r->nparts) == 0) {
		run_finish(r);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct part *p = &r->parts[i];
		if (atomic_load(&o->stopping))
			part_fail(p, TRANSPORT_DEFERRED, 0, "4.3.2", "4.3.2 shutting down");
		else if (p->domain[0] == '\0')
			part_fail(p, TRANSPORT_BOUNCED, 553, "5.1.3", "5.1.3 recipient has no domain");
		else
			route_part(p);
	}
}

/* ---- the transport ---------------------------------------------------- */

static int
outbound_start(struct transport *t, struct transport_job *job, transport_done_fn done,
	       void *arg, struct err *e)
{
	struct outbound *o = (struct outbound *)t;
	struct run *r;
	int i;

	if (atomic_load(&o->stopping))
		return err_temp(e, "delivery is stopping");
	r = xcalloc(1, sizeof(*r));
	r->o = o;
	r->job = job;
	r->done = done;
	r->arg = arg;
	i = (int)(atomic_fetch_add(&o->next, 1) % (unsigned)OUTBOUND_LOOPS);
	r->loop = i;
	if (loop_run_on(o->loops, i, run_start, r) != 0) {
		free(r);
		return err_temp(e, "delivery is stopping");
	}
	return 0;
}

/* Per-loop state, on the loop's thread. */
static int
loop_init(void *arg, int i, struct event_base *base, struct err *e)
{
	struct outbound *o = arg;
	struct per_loop *pl = &o->pl[i];
	const struct conf *c = o->conf;
	struct mx_conf mc = {.port = (unsigned)c->mx_port};
	struct smtpc_conf sc = {
		.helo = c->helo,
		.tls = o->tls,
		.timeout_scale = c->outbound_timeout_scale,
	};

	if ((pl->dns = dns_new(base, c->dns[0] ? c->dns : NULL, e)) == NULL)
		return -1;
	pl->mx = mx_new(base, pl->dns, &mc);
	if ((pl->smtpc = smtpc_new(base, &sc, e)) == NULL)
		return -1;
	return 0;
}

/* After the loop ended: everything outstanding is answered here (marked
 * cancelled: invariant 3), then freed. */
static void
loop_cleanup(void *arg, int i, struct event_base *base)
{
	struct outbound *o = arg;
	struct per_loop *pl = &o->pl[i];

	(void)base;
	mx_free(pl->mx);       /* lookups answer TEMPFAIL: nothing reaches smtpc */
	smtpc_free(pl->smtpc); /* transactions answer "shutting down" or their reply */
	dns_free(pl->dns);
	memset(pl, 0, sizeof(*pl));
}

static void
outbound_stop(struct transport *t)
{
	struct outbound *o = (struct outbound *)t;

	atomic_store(&o->stopping, true);
	loop_stop(o->loops); /* queued jobs run (and fail fast), cleanups answer the rest */
	o->loops = NULL;
}

static void
outbound_free(struct transport *t)
{
	free(t);
}

static const struct transport_ops mx_ops = {
	.name = "mx",
	.start = outbound_start,
	.stop = outbound_stop,
	.free = outbound_free,
};

static const struct transport_ops relay_ops = {
	.name = "relay",
	.start = outbound_start,
	.stop = outbound_stop,
	.free = outbound_free,
};

struct transport *
outbound_open(const struct conf *c, struct err *e)
{
	struct outbound *o = xcalloc(1, sizeof(*o));

	o->conf = c;
	o->tls = strcmp(c->outbound_tls, "none") == 0	  ? SMTPC_TLS_NONE
		 : strcmp(c->outbound_tls, "required") == 0 ? SMTPC_TLS_REQUIRED
							      : SMTPC_TLS_OPPORTUNISTIC;
	if (strncmp(c->transport, "relay", 5) == 0) {
		const char *spec = c->transport + 5;
		if (strncmp(spec, "://", 3) != 0 ||
		    mx_parse_hostport(spec + 3, o->relay_host, sizeof(o->relay_host),
				      &o->relay_port, e) != 0) {
			err_set(e, 400, "InvalidConfiguration",
				"--transport %.200s: expected relay://HOST:PORT", c->transport);
			free(o);
			return NULL;
		}
		o->relay = true;
		o->base.ops = &relay_ops;
	} else if (strcmp(c->transport, "mx") == 0) {
		o->base.ops = &mx_ops;
	} else {
		err_set(e, 400, "InvalidConfiguration",
			"--transport %.200s is unknown (expected capture, mx or relay://HOST:PORT)",
			c->transport);
		free(o);
		return NULL;
	}
	atomic_init(&o->next, 0);
	atomic_init(&o->stopping, false);
	if ((o->loops = loop_start("deliver", OUTBOUND_LOOPS, loop_init, loop_cleanup, o, e)) ==
	    NULL) {
		free(o);
		return NULL;
	}
	log_info("outbound: %s transport, TLS %s, HELO %s", o->base.ops->name, c->outbound_tls,
		 c->helo);
	return &o->base;
}

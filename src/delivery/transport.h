/*
 * transport.h — how a queued message leaves sesame: an ops table chosen
 * once at start from --transport (STYLE §3). `capture` keeps the message in
 * the store for the developer inbox; `mx` and `relay://HOST:PORT` (SMTP
 * out) plug in here as further rows of transport.c.
 *
 * The queue's store thread calls deliver() for each message that is due and
 * records the outcome with store->message_finish in one transaction per
 * batch, so a message is finished once whatever deliver() did.
 */
#ifndef SESAME_DELIVERY_TRANSPORT_H
#define SESAME_DELIVERY_TRANSPORT_H

#include <stdbool.h>

#include "util/err.h"

struct conf;
struct store_message;
struct transport;

enum transport_outcome {
	TRANSPORT_DELIVERED, /* every recipient accepted (or captured) */
	TRANSPORT_RETRY,     /* temporary failure: the queue tries again later */
	TRANSPORT_FAILED,    /* permanent failure: no more attempts */
};

struct transport_result {
	enum transport_outcome outcome;
	char *delivery;      /* per-recipient outcome as JSON (malloc'd), or NULL */
	char detail[256];    /* one line for the log on RETRY / FAILED */
};

struct transport_ops {
	const char *name;    /* "capture", "mx", "relay": stored in messages.transport */
	/* deliver() never blocks (no network): the queue delivers a fresh batch
	 * before answering its submitters. False for network transports. */
	bool synchronous;
	/* Deliver `m` (raw included) to its destinations; fill *r (zeroed by
	 * the caller). Runs on the queue's store thread. */
	void (*deliver)(struct transport *t, const struct store_message *m,
			struct transport_result *r);
	void (*free)(struct transport *t);
};

/* Backends embed this first. */
struct transport {
	const struct transport_ops *ops;
};

/* The transport named by c->transport ("" = capture). Unknown or not built
 * in this version: NULL with e filled (InvalidConfiguration). */
struct transport *transport_open(const struct conf *c, struct err *e);
/* NULL is a no-op. */
void transport_free(struct transport *t);
/* Release r->delivery and zero *r. */
void transport_result_clear(struct transport_result *r);

#endif

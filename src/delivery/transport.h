/*
 * transport.h — how a queued message leaves sesame: an ops table chosen
 * once at start from --transport (STYLE §3). `capture` keeps the message in
 * the store for the developer inbox; `mx` looks up each recipient domain's
 * MX and speaks SMTP to it; `relay://HOST:PORT` hands everything to one
 * smarthost (delivery/outbound.c for both).
 *
 * The queue's store thread claims due recipients (store rcpt_claim) and
 * starts one job per message with the recipients claimed; the transport
 * fills in every recipient's result and calls `done` exactly once. The
 * store thread turns the results into per-recipient outcomes and events
 * (core/outcome) and records them in one transaction per batch. A
 * transport never touches the store.
 *
 * Threads: start() is called on the store thread and never blocks: a
 * synchronous transport (capture) completes the job inside start(); a
 * network transport hands it to its own event loops and calls `done` from
 * one of them later. stop() completes every job still running (marking it
 * `cancelled`) and returns once no `done` can run any more.
 */
#ifndef SESAME_DELIVERY_TRANSPORT_H
#define SESAME_DELIVERY_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct conf;
struct transport;

enum transport_status {
	TRANSPORT_DELIVERED, /* the remote answered 2xx (or the message was captured) */
	TRANSPORT_DEFERRED,  /* 4xx, no answer, TLS required but absent: try later */
	TRANSPORT_BOUNCED,   /* 5xx, or no route to the domain at all: never again */
};

/* One recipient of a job. `address`, `idx`, `attempts` and `delayed` are
 * the queue's; the rest is filled by the transport. */
struct transport_rcpt {
	int idx;                  /* position in the message's destinations */
	char *address;
	int attempts;             /* including this one */
	bool delayed;             /* a DeliveryDelay event exists already */
	enum transport_status status;
	int code;                 /* SMTP reply code; 0 for a local result */
	char enhanced[16];        /* "5.1.1"; "" when the reply had none */
	char reply[512];          /* reply text (one line) or the local reason */
	char remote_ip[64];       /* the server that answered; "" when none */
	bool cancelled;           /* stopped before an answer: record nothing */
};

/* One message and the recipients claimed for it. Owned by the queue; the
 * transport may read everything and write the rcpt results until it calls
 * done. */
struct transport_job {
	char message_id[80];
	char sending_account[13]; /* charged for its bounces ("" = sesame's own mail) */
	char *mail_from;          /* envelope sender as it leaves */
	uint8_t *raw;             /* the message as it leaves (CRLF); NULL for a
				   * synchronous transport, which keeps the stored bytes */
	size_t raw_len;
	int64_t created_ms;
	struct transport_rcpt *rcpt;
	size_t nrcpt;
	bool cancelled;           /* every recipient cancelled (stop()) */
	struct transport_job *next; /* the queue's list link */
};

/* Exactly once per started job, from the store thread (synchronous
 * transports, inside start) or a transport thread. */
typedef void (*transport_done_fn)(void *arg, struct transport_job *job);

struct transport_ops {
	const char *name;    /* "capture", "mx", "relay": stored in messages.transport */
	/* start() completes the job before it returns (no network): the queue
	 * delivers a fresh batch before answering its submitters. */
	bool synchronous;
	/* Start delivering `job`. 0: done(arg, job) will run once; -1 with e
	 * (the transport is stopping): done will not run. */
	int (*start)(struct transport *t, struct transport_job *job, transport_done_fn done,
		     void *arg, struct err *e);
	/* Finish or cancel every started job (its done runs, cancelled set),
	 * refuse new ones. May be NULL (nothing ever outlives start). */
	void (*stop)(struct transport *t);
	void (*free)(struct transport *t);
};

/* Backends embed this first. */
struct transport {
	const struct transport_ops *ops;
};

/* The transport named by c->transport ("" = capture). Unknown: NULL with
 * e filled (InvalidConfiguration). */
struct transport *transport_open(const struct conf *c, struct err *e);
/* Stops it first. NULL is a no-op. */
void transport_free(struct transport *t);

/* Free a job and everything it owns. NULL is a no-op. */
void transport_job_free(struct transport_job *j);

/* Fill r's result fields (reply text truncated to one line). */
void transport_rcpt_set(struct transport_rcpt *r, enum transport_status st, int code,
			const char *enhanced, const char *reply, const char *remote_ip);

#endif

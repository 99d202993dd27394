/*
 * server.h — the SMTP submission listeners: --smtp (STARTTLS) and --smtps
 * (implicit TLS) on one event-loop thread of their own, with their own
 * store handle and send_lookup cache, submitting through send/send.h to
 * the shared queue and charging the shared limits — the same pipeline as
 * the Query API. Credentials are SES SMTP passwords, checked by
 * credentials_lookup (auth/credentials.h) for the listener's region, which
 * is the first served region (--regions).
 */
#ifndef SESAME_SMTP_SERVER_H
#define SESAME_SMTP_SERVER_H

#include "util/err.h"

struct conf;
struct vault;
struct send_shared;
struct smtp_server;

/* Bind c->smtp and c->smtps (either may be "" for none), load or make the
 * TLS pair, and start the loop. `q` and `lim` outlive the server. NULL
 * with e filled (address in use, bad certificate, store unavailable). */
struct smtp_server *smtp_server_start(const struct conf *c, struct vault *v,
				      const struct send_shared *sh, struct err *e);
/* Before queue_stop at shutdown: from now on the server submits nothing
 * (a message gets a temporary failure), so every answer the queue owes
 * reaches a running loop. Returns once the loop has taken it in. */
void smtp_server_drain(struct smtp_server *s);
/* Stop the loop, close every connection, free everything. NULL: no-op. */
void smtp_server_stop(struct smtp_server *s);

#endif

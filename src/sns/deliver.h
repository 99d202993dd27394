/*
 * deliver.h — the SNS deliverer: one loop thread ("sns-0") that drains the
 * durable outbox (store.h sns_outbox_*) with asynchronous HTTP(S) POSTs.
 *
 * Every 250 ms it claims the due rows (a lease of SNS_LEASE_MS; at most
 * SNS_MAX_INFLIGHT POSTs at a time), signs each (sns.h) and POSTs it with
 * a 15 s timeout. A 2xx deletes the row; anything else is retried on the
 * pinned schedule (sns_retry_at) until the message is an hour old, then
 * dropped with a warning. An https endpoint's certificate is verified
 * against the system's CAs (SSL_CERT_FILE / SSL_CERT_DIR apply) and its
 * host name. Restart-safe: the leases of the last run are given back at
 * start, so what was in flight when it stopped is sent again (at least
 * once, as SNS).
 */
#ifndef SESAME_SNS_DELIVER_H
#define SESAME_SNS_DELIVER_H

#include "util/err.h"

struct conf;
struct vault;

#define SNS_MAX_INFLIGHT 64
#define SNS_LEASE_MS (60 * 1000)
#define SNS_POST_TIMEOUT_S 15

struct sns_deliverer;
/* Load (or make) the signing key and start the thread. NULL with e. A
 * key that cannot be unsealed (a wrong master key) is logged and the
 * thread delivers nothing until a restart. */
struct sns_deliverer *sns_deliver_start(const struct conf *c, const struct vault *v,
					struct err *e);
/* Stop: POSTs in flight are abandoned (their rows go back to the queue),
 * the thread joined. NULL: no-op. */
void sns_deliver_stop(struct sns_deliverer *d);

#endif

/*
 * outbound.h — the network transports of transport.h: `mx` (each
 * recipient domain's MX hosts, --mx-port) and `relay://HOST:PORT` (one
 * smarthost), over the asynchronous SMTP client on the transport's own
 * delivery loops. Notes: docs/internals/delivery.md.
 */
#ifndef SESAME_DELIVERY_OUTBOUND_H
#define SESAME_DELIVERY_OUTBOUND_H

#include "delivery/transport.h"

/* c->transport is "mx" or "relay://HOST:PORT". NULL with e filled for a
 * malformed relay address or when the loops cannot start. */
struct transport *outbound_open(const struct conf *c, struct err *e);

#endif

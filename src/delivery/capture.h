/*
 * capture.h — the capture transport: delivery is keeping the message.
 *
 * The queue stores the message (raw bytes exactly as they would leave,
 * envelope in messages.mail_from) already delivered, with a Delivery event
 * per recipient, in the accept transaction: start() reports every
 * recipient delivered at once. Nothing leaves
 * the machine. The inbox (GET /_sesame/messages, src/api/dev_messages.c)
 * lists the messages whose transport is "capture"; they survive restarts.
 */
#ifndef SESAME_DELIVERY_CAPTURE_H
#define SESAME_DELIVERY_CAPTURE_H

#include "delivery/transport.h"

/* The name the inbox filters on (messages.transport). */
#define CAPTURE_NAME "capture"

struct transport *capture_open(const struct conf *c, struct err *e);

#endif

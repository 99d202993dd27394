/*
 * capture.h — the capture transport: delivery is keeping the message.
 *
 * The message row the queue already stored (raw bytes exactly as they
 * would be delivered) becomes the inbox entry: deliver() only reports
 * "delivered" for every recipient, and the queue records that with
 * message_finish (transport "capture") in one transaction. Nothing leaves
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

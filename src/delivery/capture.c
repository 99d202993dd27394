/*
 * capture.c — the capture transport (see capture.h). Stateless: every
 * recipient of every message is "delivered" into the store. The
 * per-recipient record is JSON so the outbound SMTP transports can record
 * their replies in the same column:
 *   [{"Recipient": "a@example.com", "Status": "delivered"}, …]
 */
#include "delivery/capture.h"

#include <jansson.h>
#include <stdlib.h>

#include "store/store.h"
#include "util/xalloc.h"

static void
capture_deliver(struct transport *t, const struct store_message *m, struct transport_result *r)
{
	json_t *a = json_array();

	for (size_t i = 0; i < m->ndestinations; i++) {
		json_t *o = json_object();
		json_t *addr = json_string(m->destinations[i]);
		/* the store only keeps UTF-8 recipients; be safe anyway */
		json_object_set_new(o, "Recipient", addr != NULL ? addr : json_string("?"));
		json_object_set_new(o, "Status", json_string("delivered"));
		json_array_append_new(a, o);
	}
	r->outcome = TRANSPORT_DELIVERED;
	r->delivery = json_dumps(a, JSON_COMPACT);
	if (r->delivery == NULL)
		abort(); /* jansson allocation failure: out of memory */
	json_decref(a);
}

static void
capture_free(struct transport *t)
{
	free(t);
}

static const struct transport_ops capture_ops = {
	.name = CAPTURE_NAME,
	.synchronous = true,
	.deliver = capture_deliver,
	.free = capture_free,
};

struct transport *
capture_open(const struct conf *c, struct err *e)
{
	struct transport *t = xcalloc(1, sizeof(*t));

	t->ops = &capture_ops;
	return t;
}

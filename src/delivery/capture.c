/*
 * capture.c — the capture transport (see capture.h). Stateless: every
 * recipient of every message is "delivered" into the store — the message
 * row the queue keeps is the inbox entry — and the job completes inside
 * start().
 */
#include "delivery/capture.h"

#include <stdlib.h>

#include "delivery/transport.h"
#include "util/xalloc.h"

static int
capture_start(struct transport *t, struct transport_job *job, transport_done_fn done, void *arg,
	      struct err *e)
{
	(void)t;
	(void)e;
	for (size_t i = 0; i < job->nrcpt; i++)
		transport_rcpt_set(&job->rcpt[i], TRANSPORT_DELIVERED, 250, "2.0.0",
				   "Ok: kept in the capture inbox", "");
	done(arg, job);
	return 0;
}

static void
capture_free(struct transport *t)
{
	free(t);
}

static const struct transport_ops capture_ops = {
	.name = CAPTURE_NAME,
	.synchronous = true,
	.start = capture_start,
	.free = capture_free,
};

struct transport *
capture_open(const struct conf *c, struct err *e)
{
	struct transport *t = xcalloc(1, sizeof(*t));

	(void)c;
	(void)e;
	t->ops = &capture_ops;
	return t;
}

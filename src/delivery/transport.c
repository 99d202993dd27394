/*
 * transport.c — picks the transport named by --transport from the table
 * below, and the job helpers every transport shares. Adding one is a row
 * and a <name>.c.
 */
#include "delivery/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "delivery/capture.h"
#include "delivery/outbound.h"
#include "util/xalloc.h"

struct transport_row {
	const char *prefix; /* matched against the start of --transport */
	struct transport *(*open)(const struct conf *c, struct err *e);
};

static const struct transport_row rows[] = {
	{"capture", capture_open},
	{"mx", outbound_open},
	{"relay", outbound_open},
};

struct transport *
transport_open(const struct conf *c, struct err *e)
{
	const char *spec = c->transport[0] ? c->transport : "capture";

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n = strlen(rows[i].prefix);
		if (strncmp(spec, rows[i].prefix, n) == 0 && (spec[n] == '\0' || spec[n] == ':'))
			return rows[i].open(c, e);
	}
	err_set(e, 400, "InvalidConfiguration",
		"--transport %.200s is unknown (expected capture, mx or relay://HOST:PORT)", spec);
	return NULL;
}

void
transport_free(struct transport *t)
{
	if (t == NULL)
		return;
	if (t->ops->stop != NULL)
		t->ops->stop(t);
	t->ops->free(t);
}

void
transport_job_free(struct transport_job *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->nrcpt; i++)
		free(j->rcpt[i].address);
	free(j->rcpt);
	free(j->mail_from);
	free(j->raw);
	free(j);
}

void
transport_rcpt_set(struct transport_rcpt *r, enum transport_status st, int code,
		   const char *enhanced, const char *reply, const char *remote_ip)
{
	r->status = st;
	r->code = code;
	snprintf(r->enhanced, sizeof(r->enhanced), "%s", enhanced != NULL ? enhanced : "");
	snprintf(r->reply, sizeof(r->reply), "%.*s", (int)strcspn(reply != NULL ? reply : "", "\r\n"),
		 reply != NULL ? reply : "");
	snprintf(r->remote_ip, sizeof(r->remote_ip), "%s", remote_ip != NULL ? remote_ip : "");
}

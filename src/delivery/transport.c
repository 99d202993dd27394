/*
 * transport.c — picks the transport named by --transport from the table
 * below. Adding one (mx, relay://) is one row and one <name>.c.
 */
#include "delivery/transport.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "delivery/capture.h"

struct transport_row {
	const char *prefix; /* matched against the start of --transport */
	struct transport *(*open)(const struct conf *c, struct err *e);
};

static const struct transport_row rows[] = {
	{"capture", capture_open},
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
		"--transport %.200s is not available in this build (known: capture)", spec);
	return NULL;
}

void
transport_free(struct transport *t)
{
	if (t != NULL)
		t->ops->free(t);
}

void
transport_result_clear(struct transport_result *r)
{
	if (r == NULL)
		return;
	free(r->delivery);
	memset(r, 0, sizeof(*r));
}

/*
 * httpd_fuzz.c — libFuzzer target for the HTTP server's reading of a
 * request (src/util/httpd.c): the stream goes through the framing
 * (util/httpframe.h) a piece at a time, as the server reads it, and every
 * header section it ends is parsed into a request. Checks: a parsed
 * request has a path that begins with "/", names without ':' or line
 * ends, values without line ends or outer blanks, a Host that is the
 * Host field less at most one ":port";
 * a refusal is one of the statuses the server answers.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/httpd.h"
#include "util/httpframe.h"

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_req(const struct httpd_req *r)
{
	check(r->path != NULL && r->path[0] == '/');
	check(strchr(r->path, '?') == NULL);
	check(r->method_name != NULL && r->method_name[0] != '\0');
	for (size_t i = 0; i < r->nfields; i++) {
		const char *n = r->fields[i].name, *v = r->fields[i].value;
		size_t vl = strlen(v);
		check(n[0] != '\0' && strpbrk(n, ":\r\n") == NULL);
		check(strpbrk(v, "\r\n") == NULL);
		check(vl == 0 || (v[0] != ' ' && v[0] != '\t' && v[vl - 1] != ' ' && v[vl - 1] != '\t'));
	}
	if (r->host != NULL) {
		/* the Host field less at most one ":port" (its digits may be none) */
		const char *field = httpd_field(r, "Host");
		size_t hl = strlen(r->host);
		check(field != NULL && strncmp(field, r->host, hl) == 0);
		if (field[hl] != '\0') {
			check(field[hl] == ':');
			check(strspn(field + hl + 1, "0123456789") == strlen(field + hl + 1));
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpframe f;
	size_t at = 0, start = 0;
	uint64_t heads = 0, requests = 0;
	bool body;

	httpframe_init(&f);
	while (at < size) {
		uint64_t before = f.requests;
		long k = httpframe_next(&f, data + at, size - at, &body);
		if (k < 0)
			return 0;
		check(k > 0 && (size_t)k <= size - at);
		if (f.requests != before) {
			start = at;
			while (start < size && (data[start] == '\r' || data[start] == '\n'))
				start++;
			requests = f.requests;
		}
		at += (size_t)k;
		if (f.heads != heads) {
			int status = 0;
			heads = f.heads;
			check(requests == heads);
			struct httpd_req *r =
				httpd_parse_head((const char *)data + start, at - start, "::1", &status);
			if (r == NULL) {
				check(status == 400 || status == 501 || status == 505);
			} else {
				check_req(r);
				httpd_req_free(r);
			}
		}
	}
	return 0;
}

/*
 * v2_fuzz.c — libFuzzer target for api/v2.c, the SES v2 request readers:
 * the route matcher, the path/query form and the JSON body reader.
 *
 * Input: the first byte picks the method, then "path\nquery\nbody". The
 * path is matched against the model's table; a match has its members and
 * the query decoded into a form; the body is read as JSON. Every matched
 * member must be a slice of the path. Anything but a clean return is a
 * bug: inputs never abort.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/form.h"
#include "api/v2.h"
#include "util/err.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
	struct v2_match m;
	struct form f = {0};
	struct err e = {0};
	json_t *j = NULL;
	char *copy, *path, *query = NULL, *body = NULL, *nl;
	size_t body_len = 0;

	if (size == 0)
		return 0;
	const char *method = methods[data[0] % 5];
	copy = malloc(size);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	path = copy;
	if ((nl = strchr(path, '\n')) != NULL) {
		*nl = '\0';
		query = nl + 1;
		if ((nl = strchr(query, '\n')) != NULL) {
			*nl = '\0';
			body = nl + 1;
			/* the body keeps its own length: NULs inside are the reader's problem */
			body_len = (size - 1) - (size_t)(body - copy);
		}
	}
	if (v2_route_match(method, path, &m)) {
		if (m.route == NULL || m.nparam > V2_MAX_PARAMS)
			abort();
		for (size_t i = 0; i < m.nparam; i++)
			if (m.param[i].value < path ||
			    m.param[i].value + m.param[i].value_len > path + strlen(path) ||
			    m.param[i].value_len == 0)
				abort();
		if (v2_form(&m, query, "EmailIdentity", body, &f, &e) == 0)
			for (size_t i = 0; i < m.nparam; i++)
				(void)form_get(&f, "EmailIdentity");
		form_free(&f);
	} else if (m.route != NULL) {
		abort();
	}
	if (body != NULL && v2_json_read(body, body_len, &j, &e) == 0) {
		if (!json_is_object(j))
			abort();
		json_decref(j);
	}
	const char *code;
	int status;
	v2_error_of(&e, &code, &status);
	free(copy);
	return 0;
}

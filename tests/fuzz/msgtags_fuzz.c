/*
 * msgtags_fuzz.c — libFuzzer target for core/msgtags: the input is an
 * X-SES-MESSAGE-TAGS value. Checked: no crash or overread (the input is not
 * NUL-terminated); an error always carries InvalidParameterValue and HTTP
 * 400; on success every tag obeys the rules again (msgtags_check), there
 * are at most 50, and no name appears twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/msgtags.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msgtags *t = calloc(1, sizeof(*t));
	char *copy = malloc(size ? size : 1);
	struct err e = {0};

	if (t == NULL || copy == NULL)
		abort();
	memcpy(copy, data, size); /* exactly size bytes: ASan sees an overread */
	if (msgtags_parse_header(copy, size, t, &e) != 0) {
		if (strcmp(e.code, "InvalidParameterValue") != 0 || e.http != 400)
			abort();
	} else {
		if (t->n > MSGTAGS_MAX)
			abort();
		for (size_t i = 0; i < t->n; i++) {
			if (msgtags_check(t->v[i].name, strlen(t->v[i].name), t->v[i].value,
					  strlen(t->v[i].value), &e) != 0)
				abort();
			for (size_t k = 0; k < i; k++)
				if (strcmp(t->v[i].name, t->v[k].name) == 0)
					abort();
		}
	}
	free(copy);
	free(t);
	return 0;
}

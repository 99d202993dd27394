/*
 * msgtags.c — checking and parsing SES message tags (msgtags.h). Owns
 * nothing; every tag is copied into the caller's struct msgtags.
 */
#include "core/msgtags.h"

#include <stdbool.h>
#include <string.h>

static bool
chars_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int
msgtags_check(const char *name, size_t nn, const char *value, size_t vn, struct err *e)
{
	if (nn == 0 || nn > MSGTAG_LEN_MAX || !chars_ok(name, nn))
		return err_set(e, 400, "InvalidParameterValue",
			       "Invalid tag name <%.*s>: only ASCII letters, digits, '_' and '-' "
			       "are allowed, 1 to 256 of them.",
			       (int)(nn < 300 ? nn : 300), name);
	if (vn > MSGTAG_LEN_MAX || !chars_ok(value, vn))
		return err_set(e, 400, "InvalidParameterValue",
			       "Invalid tag value <%.*s>: only ASCII letters, digits, '_' and '-' "
			       "are allowed, at most 256 of them.",
			       (int)(vn < 300 ? vn : 300), value);
	return 0;
}

int
msgtags_add(struct msgtags *t, const char *name, size_t nn, const char *value, size_t vn,
	    struct err *e)
{
	struct msgtag *g = NULL;

	if (msgtags_check(name, nn, value, vn, e) != 0)
		return -1;
	for (size_t i = 0; i < t->n && g == NULL; i++)
		if (strlen(t->v[i].name) == nn && memcmp(t->v[i].name, name, nn) == 0)
			g = &t->v[i];
	if (g == NULL) {
		if (t->n == MSGTAGS_MAX)
			return err_set(e, 400, "InvalidParameterValue",
				       "Too many message tags: at most %d are allowed.", MSGTAGS_MAX);
		g = &t->v[t->n++];
		memcpy(g->name, name, nn);
		g->name[nn] = '\0';
	}
	memcpy(g->value, value, vn);
	g->value[vn] = '\0';
	return 0;
}

int
msgtags_parse_header(const char *h, size_t len, struct msgtags *t, struct err *e)
{
	size_t i = 0;

	while (i <= len) {
		const char *item = h + i, *end = memchr(item, ',', len - i), *eq;
		size_t n = end != NULL ? (size_t)(end - item) : len - i, b = 0;
		while (b < n && (item[b] == ' ' || item[b] == '\t'))
			b++;
		while (n > b && (item[n - 1] == ' ' || item[n - 1] == '\t'))
			n--;
		if (n > b) {
			if ((eq = memchr(item + b, '=', n - b)) == NULL)
				return err_set(e, 400, "InvalidParameterValue",
					       "X-SES-MESSAGE-TAGS: each tag must be name=value.");
			size_t nn = (size_t)(eq - (item + b)), vb = nn + 1;
			/* blanks around '=' are not part of name or value */
			while (nn > 0 && (item[b + nn - 1] == ' ' || item[b + nn - 1] == '\t'))
				nn--;
			while (b + vb < n && (item[b + vb] == ' ' || item[b + vb] == '\t'))
				vb++;
			if (msgtags_add(t, item + b, nn, item + b + vb, n - b - vb, e) != 0)
				return -1;
		}
		if (end == NULL)
			break;
		i = (size_t)(end - h) + 1;
	}
	return 0;
}

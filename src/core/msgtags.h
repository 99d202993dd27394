/*
 * msgtags.h — SES message tags (event publishing's mail.tags): the
 * Tags.member.N.{Name,Value} of the send actions and the
 * X-SES-MESSAGE-TAGS header (`name1=value1, name2=value2`). Pure: data in,
 * decision out.
 *
 * Rules (SES): a name is 1..256 and a value 0..256 of ASCII letters,
 * digits, '_' and '-'; at most 50 tags on one message; a name given twice
 * keeps the last value. SES's own auto-tags ("ses:…") are added by the
 * caller and cannot be spelt by users (':' is not allowed).
 */
#ifndef SESAME_CORE_MSGTAGS_H
#define SESAME_CORE_MSGTAGS_H

#include <stddef.h>

#include "util/err.h"

#define MSGTAGS_MAX 50
#define MSGTAG_LEN_MAX 256

struct msgtag {
	char name[MSGTAG_LEN_MAX + 1];
	char value[MSGTAG_LEN_MAX + 1];
};

struct msgtags {
	size_t n;
	struct msgtag v[MSGTAGS_MAX];
};

/* Check one tag. 0, or -1 with InvalidParameterValue (400) in e. */
int msgtags_check(const char *name, size_t nn, const char *value, size_t vn, struct err *e);

/* Check and add one tag to t (a name already there gets the new value);
 * the 51st distinct name fails with InvalidParameterValue. */
int msgtags_add(struct msgtags *t, const char *name, size_t nn, const char *value, size_t vn,
		struct err *e);

/* Parse an X-SES-MESSAGE-TAGS value of `len` bytes into t (appended):
 * comma-separated name=value, blanks around each ignored, empty items
 * skipped. 0, or -1 with InvalidParameterValue in e (t then holds what was
 * added before the bad item). */
int msgtags_parse_header(const char *h, size_t len, struct msgtags *t, struct err *e);

#endif

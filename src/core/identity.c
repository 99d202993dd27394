/*
 * identity.c — identity kinds, normal forms, coverage and lookup order; see
 * identity.h. Pure: strings in, answers out. Validation itself is
 * address.c's (address_parse_spec, domain_validate); this file only decides
 * what those answers mean for identities.
 */
#include "core/identity.h"

#include <string.h>
#include <strings.h>

static int
invalid(struct err *e, const char *msg)
{
	return err_set(e, 400, "InvalidParameterValue", "%s", msg);
}

static void
lower_ascii(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

enum identity_type
identity_kind(const char *name)
{
	return strchr(name, '@') != NULL ? IDENTITY_EMAIL : IDENTITY_DOMAIN;
}

int
identity_normalise(const char *name, char *out, size_t cap, enum identity_type *type_out,
		   struct err *e)
{
	size_t n = strnlen(name, ADDRESS_INPUT_MAX + 1);

	if (n == 0)
		return invalid(e, "Identity must not be empty");
	if (n > ADDRESS_INPUT_MAX)
		return invalid(e, "Identity too long");
	if (identity_kind(name) == IDENTITY_EMAIL) {
		struct address a;
		if (address_parse_spec(name, n, &a, e) < 0)
			return -1;
		lower_ascii(a.domain);
		size_t ln = strlen(a.local), dn = strlen(a.domain);
		if (ln + 1 + dn + 1 > cap)
			return invalid(e, "Identity too long");
		memcpy(out, a.local, ln);
		out[ln] = '@';
		memcpy(out + ln + 1, a.domain, dn + 1);
		if (type_out != NULL)
			*type_out = IDENTITY_EMAIL;
		return 0;
	}
	if (domain_validate(name, out, cap, e) < 0)
		return -1;
	if (type_out != NULL)
		*type_out = IDENTITY_DOMAIN;
	return 0;
}

/* The domain part of an addr-spec: after the last '@' (a quoted local part may hold '@'). */
static const char *
domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL ? at + 1 : NULL;
}

bool
identity_covers(const char *identity, enum identity_type type, const char *address)
{
	const char *ad = domain_of(address);

	if (ad == NULL || *ad == '\0' || *identity == '\0')
		return false;
	if (type == IDENTITY_EMAIL) {
		const char *id = domain_of(identity);
		if (id == NULL)
			return false;
		size_t il = (size_t)(id - identity), al = (size_t)(ad - address);
		return il == al && memcmp(identity, address, il) == 0 && strcasecmp(id, ad) == 0;
	}
	size_t dl = strlen(ad), il = strlen(identity);
	if (dl == il)
		return strcasecmp(ad, identity) == 0;
	return dl > il + 1 && ad[dl - il - 1] == '.' && strcasecmp(ad + dl - il, identity) == 0;
}

int
identity_candidates(const char *address, struct identity_candidates *out, struct err *e)
{
	enum identity_type t;
	const char *d;

	out->n = 0;
	if (identity_kind(address) != IDENTITY_EMAIL)
		return invalid(e, "Missing final '@domain'");
	if (identity_normalise(address, out->buf, sizeof(out->buf), &t, e) < 0)
		return -1;
	out->name[out->n] = out->buf;
	out->type[out->n++] = IDENTITY_EMAIL;
	d = domain_of(out->buf);
	out->name[out->n] = d;
	out->type[out->n++] = IDENTITY_DOMAIN;
	/* parents while they keep at least two labels */
	for (const char *p = strchr(d, '.'); p != NULL; p = strchr(p + 1, '.')) {
		const char *parent = p + 1;
		if (strchr(parent, '.') == NULL)
			break;
		if (out->n == IDENTITY_CANDIDATES_MAX)
			break; /* cannot happen: a 253-byte domain has at most 127 labels */
		out->name[out->n] = parent;
		out->type[out->n++] = IDENTITY_DOMAIN;
	}
	return 0;
}

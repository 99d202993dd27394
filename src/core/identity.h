/*
 * identity.h — the pure rules about SES identities (an address or a domain):
 * what kind a name is, its normal form, whether an identity "covers" an
 * address, and which identity names to look up for an address, most
 * specific first. No store access: callers look the candidates up.
 *
 * Normal form (what the store should hold and what callers compare):
 *  - address identity: local part exactly as given (case-sensitive; quoted
 *    only when it must be), domain lower-cased, IDN as A-labels;
 *  - domain identity: lower-cased, A-labels, no trailing dot.
 * See docs/internals/address.md.
 */
#ifndef SESAME_CORE_IDENTITY_H
#define SESAME_CORE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/address.h"
#include "util/err.h"

/* The two kinds of SES identity. Defined here (core/ is the bottom layer);
 * store.h includes this header for the column that holds it. */
enum identity_type { IDENTITY_EMAIL, IDENTITY_DOMAIN };

#define IDENTITY_NAME_MAX ADDRESS_SPEC_MAX
/* An address, its domain and every parent with two or more labels. */
#define IDENTITY_CANDIDATES_MAX (ADDRESS_DOMAIN_MAX / 2 + 2)

/* IDENTITY_EMAIL when name holds an '@', else IDENTITY_DOMAIN. No validation. */
enum identity_type identity_kind(const char *name);

/*
 * Validate `name` (an addr-spec or a domain, as given to VerifyEmailIdentity,
 * VerifyDomainIdentity or inside an identity ARN) and write its normal form
 * into out (cap bytes; IDENTITY_NAME_MAX + 1 always suffices). *type_out
 * (may be NULL) gets the kind. -1 with InvalidParameterValue on bad input.
 */
int identity_normalise(const char *name, char *out, size_t cap, enum identity_type *type_out,
		       struct err *e);

/*
 * Does identity `identity` (normal form) of kind `type` cover `address`
 * (an addr-spec as address_parse gives it)?
 *  - address identity: same local part (case-sensitive) and same domain
 *    (case-insensitive);
 *  - domain identity: the address's domain equals it or is a subdomain of it,
 *    label-aligned (example.com covers a@mail.example.com, not
 *    a@notexample.com). Case-insensitive.
 */
bool identity_covers(const char *identity, enum identity_type type, const char *address);

/*
 * Identity names that could cover an address, most specific first: the
 * address itself (normal form), its domain, then each parent domain down to
 * two labels (a.b.example.com -> b.example.com -> example.com; never a bare
 * TLD, which VerifyDomainIdentity refuses). The caller looks each up in
 * order and takes the first verified one: an address identity thereby takes
 * precedence over its domain, a subdomain over its parent.
 * name[i] point into buf; valid as long as *out is.
 */
struct identity_candidates {
	char buf[IDENTITY_NAME_MAX + 1];
	const char *name[IDENTITY_CANDIDATES_MAX];
	enum identity_type type[IDENTITY_CANDIDATES_MAX];
	size_t n;
};

int identity_candidates(const char *address, struct identity_candidates *out, struct err *e);

#endif
